import Foundation

/// A JSON-lines manifest with several captions per image.
///
/// Schema: one JSON object per line (UTF-8; empty lines are skipped):
///
///     {"image": "images/0001.jpg", "captions": ["a dog on grass", "a puppy playing outside"]}
///
/// - `image` (key configurable): a non-empty string, the image path, relative to `imageRoot` or absolute.
/// - `captions` (key configurable): a non-empty array of strings, the original caption first; a single
///   string is also accepted as a one-caption list.
/// - Other keys are ignored.
///
/// Any violation is a `DataError(.malformed)` naming the file, the line and the key.
public struct JSONLinesDataset: ImageTextDataset {
    /// The manifest file.
    public let path: String
    /// The directory relative image paths are resolved against (`nil`: used as written).
    public let imageRoot: String?
    private let imagePaths: [String]
    private let captions: [[String]]

    /// Opens and reads a JSON-lines manifest.
    /// - Parameters:
    ///   - path: The manifest (gzip or plain).
    ///   - imageKey: The key holding the image path (default `image`).
    ///   - captionsKey: The key holding the caption list (default `captions`).
    ///   - imageRoot: The directory relative image paths are resolved against; `nil` leaves them as written.
    /// - Throws: `DataError` naming the file, line and key for invalid JSON, a missing or mistyped key, or
    ///   an empty caption list.
    public init(path: String, imageKey: String = "image", captionsKey: String = "captions", imageRoot: String? = nil) throws {
        self.path = path
        self.imageRoot = imageRoot
        var paths: [String] = []
        var captions: [[String]] = []
        for (offset, line) in try TextLines.read(path: path).enumerated() {
            let lineNumber = offset + 1
            if line.allSatisfy({ $0.isWhitespace }) { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            } catch {
                throw DataError(.malformed, file: path, line: lineNumber, "invalid JSON")
            }
            guard let record = object as? [String: Any] else {
                throw DataError(.malformed, file: path, line: lineNumber, "expected a JSON object")
            }
            guard let image = record[imageKey] as? String, !image.isEmpty else {
                throw DataError(.malformed, file: path, line: lineNumber, field: imageKey,
                                record[imageKey] == nil ? "missing key" : "expected a non-empty string")
            }
            let list: [String]
            switch record[captionsKey] {
            case let single as String:
                list = [single]
            case let array as [Any]:
                var strings: [String] = []
                for (i, item) in array.enumerated() {
                    guard let text = item as? String else {
                        throw DataError(.malformed, file: path, line: lineNumber, field: "\(captionsKey)[\(i)]", "expected a string")
                    }
                    strings.append(text)
                }
                list = strings
            case nil:
                throw DataError(.malformed, file: path, line: lineNumber, field: captionsKey, "missing key")
            default:
                throw DataError(.malformed, file: path, line: lineNumber, field: captionsKey, "expected a list of strings")
            }
            guard !list.isEmpty else {
                throw DataError(.malformed, file: path, line: lineNumber, field: captionsKey, "empty caption list")
            }
            paths.append(image)
            captions.append(list)
        }
        self.imagePaths = paths
        self.captions = captions
    }

    /// The number of images.
    public var count: Int { imagePaths.count }

    /// The sample at `index`: the image file and all its captions.
    /// - Parameter index: A position in `0..<count`.
    /// - Throws: `DataError(.unsupported)` when `index` is out of range.
    public func sample(at index: Int) throws -> ImageTextSample {
        try checkDatasetIndex(index, count: count, file: path)
        return ImageTextSample(
            image: ImageReference(path: resolveDatasetPath(imagePaths[index], root: imageRoot)),
            captions: captions[index], key: imagePaths[index])
    }
}
