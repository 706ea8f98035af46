/// open_clip's CSV/TSV format: a header row, then one image-caption pair per row.
///
/// As in open_clip (`--csv-separator`, `--csv-img-key`, `--csv-caption-key`), the defaults are a tab
/// separator, image column `filepath` and caption column `title`; other columns are ignored. Quoting
/// follows RFC 4180 (see `CSVParser`) unless turned off. Every row must have as many fields as the header.
///
/// With `groupsByImage`, rows naming the same image are merged into one sample whose captions are in
/// row order (useful for COCO-style files with several captions per image); samples are then ordered by
/// each image's first row. Otherwise each row is one sample with a single caption.
public struct OpenCLIPCSVDataset: ImageTextDataset {
    /// The CSV/TSV file.
    public let path: String
    /// The directory relative image paths are resolved against (`nil`: used as written, as open_clip does).
    public let imageRoot: String?
    private let imagePaths: [String]
    private let captions: [[String]]

    /// Opens and reads a CSV/TSV file with a header.
    /// - Parameters:
    ///   - path: The file (gzip or plain).
    ///   - imageKey: The header name of the image-path column (open_clip's default `filepath`).
    ///   - captionKey: The header name of the caption column (open_clip's default `title`).
    ///   - separator: The field separator (open_clip's default: tab).
    ///   - quoting: Whether RFC 4180 `"` quoting is recognised.
    ///   - imageRoot: The directory relative image paths are resolved against; `nil` leaves them as written.
    ///   - groupsByImage: Whether rows with the same image path become one sample with several captions.
    /// - Throws: `DataError` naming the file, line and column for a missing header or column, a row with
    ///   the wrong number of fields, an empty image path, or malformed quoting.
    public init(
        path: String, imageKey: String = "filepath", captionKey: String = "title",
        separator: Unicode.Scalar = "\t", quoting: Bool = true, imageRoot: String? = nil,
        groupsByImage: Bool = false
    ) throws {
        self.path = path
        self.imageRoot = imageRoot
        let records = try CSVParser(separator: separator, quoting: quoting).parse(path: path)
        guard let header = records.first else {
            throw DataError(.malformed, file: path, line: 1, field: "header", "the file is empty (a header row is required)")
        }
        func column(_ name: String) throws -> Int {
            guard let index = header.fields.firstIndex(of: name) else {
                throw DataError(.malformed, file: path, line: header.line, field: name,
                                "column \"\(name)\" not in header (columns: \(header.fields.joined(separator: ", ")))")
            }
            return index
        }
        let imageColumn = try column(imageKey)
        let captionColumn = try column(captionKey)
        var paths: [String] = []
        var captions: [[String]] = []
        var position: [String: Int] = [:]
        for record in records.dropFirst() {
            guard record.fields.count == header.fields.count else {
                throw DataError(.malformed, file: path, line: record.line, field: "row",
                                "expected \(header.fields.count) fields as in the header, found \(record.fields.count)")
            }
            let image = record.fields[imageColumn]
            guard !image.isEmpty else {
                throw DataError(.malformed, file: path, line: record.line, field: imageKey, "empty image path")
            }
            let caption = record.fields[captionColumn]
            if groupsByImage, let existing = position[image] {
                captions[existing].append(caption)
            } else {
                if groupsByImage { position[image] = paths.count }
                paths.append(image)
                captions.append([caption])
            }
        }
        self.imagePaths = paths
        self.captions = captions
    }

    /// The number of samples (rows, or distinct images when grouping).
    public var count: Int { imagePaths.count }

    /// The sample at `index`: the image file and its caption(s).
    /// - Parameter index: A position in `0..<count`.
    /// - Throws: `DataError(.unsupported)` when `index` is out of range.
    public func sample(at index: Int) throws -> ImageTextSample {
        try checkDatasetIndex(index, count: count, file: path)
        return ImageTextSample(
            image: ImageReference(path: resolveDatasetPath(imagePaths[index], root: imageRoot)),
            captions: captions[index], key: imagePaths[index])
    }
}
