import Foundation

/// COCO captions from a tab-separated file of `image_id, caption_id, caption` rows (such as
/// `coco_val2017_captions.tsv.gz`, 25,014 captions of the 5,000 val2017 images), grouped by image.
///
/// Format: UTF-8, gzip or plain, no quoting (captions may contain `"`); the caption is everything after
/// the second tab. A first line whose first field is `image_id` is taken as a header and skipped. Empty
/// lines are skipped. Images are ordered by first appearance and their captions keep file order (most
/// images have 5, a few 6 or 7).
///
/// As an `ImageTextDataset` the image of a sample is `imageDirectory/<12-digit id>.jpg` (COCO's file
/// naming); without an image directory, `sample(at:)` throws, but captions are still available through
/// `images`.
public struct COCOCaptions: ImageTextDataset {
    /// One image and its captions.
    public struct Image: Sendable, Hashable {
        /// The COCO image id.
        public var id: Int
        /// The caption ids, aligned with `captions`.
        public var captionIDs: [Int]
        /// The captions, in file order.
        public var captions: [String]

        /// COCO's file name for the image (`000000000139.jpg`).
        public var fileName: String {
            let digits = String(id)
            return String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".jpg"
        }
    }

    /// The captions file.
    public let path: String
    /// The directory holding the images, if any.
    public let imageDirectory: String?
    /// The images in order of first appearance.
    public let images: [Image]
    /// The total number of captions.
    public let captionCount: Int
    private let positionByID: [Int: Int]

    /// Reads a COCO captions TSV.
    /// - Parameters:
    ///   - path: The file (gzip or plain).
    ///   - imageDirectory: Where `<12-digit id>.jpg` files are, for `sample(at:)`; `nil` if not available.
    /// - Throws: `DataError` naming the file, line and field for a row without three fields or with a
    ///   non-integer id.
    public init(path: String, imageDirectory: String? = nil) throws {
        self.path = path
        self.imageDirectory = imageDirectory
        var images: [Image] = []
        var position: [Int: Int] = [:]
        var total = 0
        for (offset, line) in try TextLines.read(path: path).enumerated() {
            let lineNumber = offset + 1
            if line.isEmpty { continue }
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            if lineNumber == 1 && fields.first == "image_id" { continue }
            guard fields.count == 3 else {
                throw DataError(.malformed, file: path, line: lineNumber, field: "row",
                                "expected 3 tab-separated fields (image_id, caption_id, caption), found \(fields.count)")
            }
            guard let imageID = Int(fields[0]) else {
                throw DataError(.malformed, file: path, line: lineNumber, field: "image_id", "\"\(fields[0])\" is not an integer")
            }
            guard let captionID = Int(fields[1]) else {
                throw DataError(.malformed, file: path, line: lineNumber, field: "caption_id", "\"\(fields[1])\" is not an integer")
            }
            let caption = String(fields[2])
            if let existing = position[imageID] {
                images[existing].captionIDs.append(captionID)
                images[existing].captions.append(caption)
            } else {
                position[imageID] = images.count
                images.append(Image(id: imageID, captionIDs: [captionID], captions: [caption]))
            }
            total += 1
        }
        self.images = images
        self.captionCount = total
        self.positionByID = position
    }

    /// The captions of an image id, or `nil` when the id is not in the file.
    /// - Parameter imageID: A COCO image id.
    public func captions(forImageID imageID: Int) -> [String]? {
        positionByID[imageID].map { images[$0].captions }
    }

    /// The number of images.
    public var count: Int { images.count }

    /// The sample for image `index`: `imageDirectory/<id>.jpg` and its captions; the key is the image id.
    /// - Parameter index: A position in `0..<count`.
    /// - Throws: `DataError(.unsupported)` when `index` is out of range or there is no image directory.
    public func sample(at index: Int) throws -> ImageTextSample {
        try checkDatasetIndex(index, count: count, file: path)
        guard let imageDirectory else {
            throw DataError(.unsupported, file: path, field: "imageDirectory", "no image directory was given, so samples have no images")
        }
        let image = images[index]
        return ImageTextSample(image: ImageReference(path: resolveDatasetPath(image.fileName, root: imageDirectory)),
                               captions: image.captions, key: String(image.id))
    }
}
