import Foundation

/// A folder of real COCO images with their captions: `captions.tsv` (header `filepath`, `caption_index`,
/// `caption`; paths relative to the folder) and the image files (`coco/mini/` holds 51 JPEGs with 5
/// captions each).
///
/// Rows naming the same image are grouped into one sample, captions sorted by `caption_index`; samples
/// are ordered by each image's first row. The TSV is not quoted. COCO captions occasionally contain a
/// raw newline, which the file keeps as is, so a line without any tab continues the caption of the
/// previous row (joined with `"\n"`). Every image file must exist.
public struct COCOMiniDataset: ImageTextDataset {
    /// The folder.
    public let directory: String
    /// The captions file (`directory/captions.tsv`).
    public let captionsPath: String
    private let imagePaths: [String]
    private let captions: [[String]]

    /// Reads `captions.tsv` in `directory` and checks that every image exists.
    /// - Parameters:
    ///   - directory: The folder holding `captions.tsv` and the images.
    ///   - captionsFile: The captions file name inside the folder.
    /// - Throws: `DataError` naming the file, line and field for a missing file or column, a bad row, a
    ///   non-integer or repeated caption index, or a missing image.
    public init(directory: String, captionsFile: String = "captions.tsv") throws {
        self.directory = directory
        let captionsPath = resolveDatasetPath(captionsFile, root: directory)
        self.captionsPath = captionsPath
        let lines = try TextLines.read(path: captionsPath)
        guard let headerLine = lines.first else {
            throw DataError(.malformed, file: captionsPath, line: 1, field: "header", "the file is empty")
        }
        let header = headerLine.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        func column(_ name: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else {
                throw DataError(.malformed, file: captionsPath, line: 1, field: name, "column \"\(name)\" not in header")
            }
            return index
        }
        let pathColumn = try column("filepath")
        let indexColumn = try column("caption_index")
        let captionColumn = try column("caption")

        struct Row { var image: String; var index: Int; var caption: String; var line: Int }
        var rows: [Row] = []
        for (offset, line) in lines.enumerated().dropFirst() {
            let lineNumber = offset + 1
            if line.isEmpty { continue }
            guard line.contains("\t") else {
                guard !rows.isEmpty else {
                    throw DataError(.malformed, file: captionsPath, line: lineNumber, field: "row", "a line without tabs before any row")
                }
                rows[rows.count - 1].caption += "\n" + line
                continue
            }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == header.count else {
                throw DataError(.malformed, file: captionsPath, line: lineNumber, field: "row",
                                "expected \(header.count) fields, found \(fields.count)")
            }
            guard !fields[pathColumn].isEmpty else {
                throw DataError(.malformed, file: captionsPath, line: lineNumber, field: "filepath", "empty image path")
            }
            guard let index = Int(fields[indexColumn]) else {
                throw DataError(.malformed, file: captionsPath, line: lineNumber, field: "caption_index",
                                "\"\(fields[indexColumn])\" is not an integer")
            }
            rows.append(Row(image: fields[pathColumn], index: index, caption: fields[captionColumn], line: lineNumber))
        }

        var order: [String] = []
        var grouped: [String: [Row]] = [:]
        for row in rows {
            if grouped[row.image] == nil { order.append(row.image) }
            if let clash = grouped[row.image]?.first(where: { $0.index == row.index }) {
                throw DataError(.malformed, file: captionsPath, line: row.line, field: "caption_index",
                                "caption index \(row.index) of \(row.image) already given on line \(clash.line)")
            }
            grouped[row.image, default: []].append(row)
        }
        for image in order {
            let path = resolveDatasetPath(image, root: directory)
            guard FileManager.default.fileExists(atPath: path) else {
                let line = grouped[image]?.first?.line
                throw DataError(.unreadable, file: captionsPath, line: line, field: "filepath", "image file \(path) does not exist")
            }
        }
        self.imagePaths = order
        self.captions = order.map { image in
            (grouped[image] ?? []).sorted { $0.index < $1.index }.map(\.caption)
        }
    }

    /// The number of images.
    public var count: Int { imagePaths.count }

    /// The sample for image `index`: the JPEG file and its captions in caption-index order.
    /// - Parameter index: A position in `0..<count`.
    /// - Throws: `DataError(.unsupported)` when `index` is out of range.
    public func sample(at index: Int) throws -> ImageTextSample {
        try checkDatasetIndex(index, count: count, file: captionsPath)
        return ImageTextSample(image: ImageReference(path: resolveDatasetPath(imagePaths[index], root: directory)),
                               captions: captions[index], key: imagePaths[index])
    }
}
