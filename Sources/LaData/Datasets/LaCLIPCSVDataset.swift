/// LaCLIP's training format: a header-less CSV of `(image path, caption)` rows plus M rewrite files.
///
/// - The CSV has exactly two fields per record, the image path (relative to `imageRoot`, or absolute) and
///   the original caption, with RFC 4180 quoting (captions may contain commas, quotes and newlines when
///   quoted). Empty lines are skipped; the remaining records are the "kept rows".
/// - Each rewrite file has one caption per line (LF or CRLF; a final newline is optional), and line `k`
///   is the rewrite of kept row `k`. Every rewrite file must have exactly as many lines as there are
///   kept rows, otherwise opening fails with `DataError(.mismatch)` naming both files and both counts.
/// - A sample's `captions` are `[original, rewrite₁, …, rewrite_M]`, rewrites in the order the files
///   were given. `key` is the image path as written in the CSV.
public struct LaCLIPCSVDataset: ImageTextDataset {
    /// The CSV file.
    public let csvPath: String
    /// The rewrite files, in caption order.
    public let rewritePaths: [String]
    /// The directory relative image paths are resolved against (`nil`: used as written).
    public let imageRoot: String?
    private let imagePaths: [String]
    private let captions: [[String]]

    /// Opens a LaCLIP CSV and its rewrite files, reading and validating them completely.
    /// - Parameters:
    ///   - csvPath: The header-less `path,caption` CSV (gzip or plain).
    ///   - imageRoot: The directory relative image paths are resolved against; `nil` leaves them as written.
    ///   - rewritePaths: The M rewrite files (one caption per line, aligned to the CSV rows), in order.
    ///   - separator: The CSV separator (`,` by default).
    /// - Throws: `DataError` naming the file and line for unreadable files, malformed quoting, rows without
    ///   exactly two fields or with an empty path, and `.mismatch` naming both files and counts when a
    ///   rewrite file's line count differs from the number of CSV rows.
    public init(csvPath: String, imageRoot: String? = nil, rewritePaths: [String] = [], separator: Unicode.Scalar = ",") throws {
        self.csvPath = csvPath
        self.rewritePaths = rewritePaths
        self.imageRoot = imageRoot
        let records = try CSVParser(separator: separator, quoting: true).parse(path: csvPath)
        var paths: [String] = []
        var originals: [String] = []
        paths.reserveCapacity(records.count)
        originals.reserveCapacity(records.count)
        for record in records {
            guard record.fields.count == 2 else {
                throw DataError(.malformed, file: csvPath, line: record.line, field: "row",
                                "expected 2 fields (image path, caption), found \(record.fields.count)")
            }
            guard !record.fields[0].isEmpty else {
                throw DataError(.malformed, file: csvPath, line: record.line, field: "image path", "empty image path")
            }
            paths.append(record.fields[0])
            originals.append(record.fields[1])
        }
        var all = originals.map { [$0] }
        for rewritePath in rewritePaths {
            let lines = try TextLines.read(path: rewritePath)
            guard lines.count == records.count else {
                throw DataError(.mismatch, file: rewritePath, field: "line count",
                                "rewrite file \(rewritePath) has \(lines.count) lines but \(csvPath) has \(records.count) rows")
            }
            for (row, line) in lines.enumerated() { all[row].append(line) }
        }
        self.imagePaths = paths
        self.captions = all
    }

    /// The number of rows.
    public var count: Int { imagePaths.count }

    /// The number of rewrites per sample (M).
    public var rewriteCount: Int { rewritePaths.count }

    /// The sample for row `index`: the image file and `[original, rewrites…]`.
    /// - Parameter index: A row in `0..<count`.
    /// - Throws: `DataError(.unsupported)` when `index` is out of range.
    public func sample(at index: Int) throws -> ImageTextSample {
        try checkDatasetIndex(index, count: count, file: csvPath)
        return ImageTextSample(
            image: ImageReference(path: resolveDatasetPath(imagePaths[index], root: imageRoot)),
            captions: captions[index], key: imagePaths[index])
    }
}
