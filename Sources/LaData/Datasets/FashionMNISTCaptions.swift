import Foundation

/// Captions for Fashion-MNIST images in LaCLIP's layout (the package's built-in training data, bundled as a
/// resource: `FashionMNISTCaptions.builtIn()`): `captions.txt` with the same number of captions for each of the 10 classes (class
/// `c` owns lines `c·K ..< (c+1)·K`), and optionally `rewrite_1.txt … rewrite_M.txt`, line `k` rewriting caption `k`.
/// Image `i` of class `c` gets caption `c·K + (i mod K)` and that caption's rewrites.
public struct FashionMNISTCaptions: Sendable {
    /// The captions, grouped by class.
    public let captions: [String]
    /// The rewrites of every caption (M each, possibly 0).
    public let rewrites: [[String]]
    /// Captions per class (K).
    public let captionsPerClass: Int
    /// The class names as the captions spell them, for zero-shot prompts.
    public static let promptClassNames = [
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
    ]

    /// The caption sets bundled with the package.
    public enum BuiltInSet: String, CaseIterable, Sendable {
        /// 8 alt-text-style captions per class, 4 LLM rewrites each (`fashion-mnist`).
        case eightPerClass = "eight-per-class"
        /// One caption per class with its 4 rewrites, the one whose rewrites name the class most often
        /// (`fashion-mnist-one-per-class`, made by `scripts/make-one-caption-per-class.py`): the text tower sees 10
        /// originals and overfits them, the regime LaCLIP repairs.
        case onePerClass = "one-per-class"

        var folder: String { self == .eightPerClass ? "fashion-mnist" : "fashion-mnist-one-per-class" }
    }

    /// The folder of a built-in caption set bundled with the package (`captions.txt`, `rewrite_1.txt` …, their
    /// provenance in `README.md`), or nil when the resource bundle is missing.
    /// - Parameter set: The caption set.
    public static func builtInDirectory(_ set: BuiltInSet = .eightPerClass) -> URL? {
        Bundle.module.url(forResource: set.folder, withExtension: nil)
    }

    /// A built-in caption set bundled with the package.
    /// - Parameters:
    ///   - set: The caption set (8 captions per class by default).
    ///   - maximumRewrites: Use at most this many rewrite files.
    /// - Throws: `DataError` when the resource is missing or malformed.
    public static func builtIn(_ set: BuiltInSet = .eightPerClass, maximumRewrites: Int = .max) throws -> FashionMNISTCaptions {
        guard let directory = builtInDirectory(set) else {
            throw DataError(.unreadable, file: "fashion-mnist", "the built-in captions bundled with LaData are missing (a broken installation)")
        }
        return try FashionMNISTCaptions(directory: directory.path, maximumRewrites: maximumRewrites)
    }

    /// Reads `captions.txt` and up to `maximumRewrites` rewrite files from `directory`.
    /// - Parameters:
    ///   - directory: The folder.
    ///   - maximumRewrites: Use at most this many rewrite files (`rewrite_1.txt` first).
    /// - Throws: `DataError` naming the file: unreadable, not a multiple of 10 captions, or a rewrite file whose
    ///   line count differs from `captions.txt`'s.
    public init(directory: String, maximumRewrites: Int = .max) throws {
        let folder = URL(fileURLWithPath: directory)
        let captionFile = folder.appendingPathComponent("captions.txt").path
        captions = try Self.lines(captionFile)
        guard !captions.isEmpty, captions.count % 10 == 0 else {
            throw DataError(.malformed, file: captionFile, "expected the same number of captions for each of the 10 classes, found \(captions.count)")
        }
        captionsPerClass = captions.count / 10
        var files: [[String]] = []
        var m = 1
        while m <= maximumRewrites {
            let path = folder.appendingPathComponent("rewrite_\(m).txt").path
            guard FileManager.default.fileExists(atPath: path) else { break }
            let lines = try Self.lines(path)
            guard lines.count == captions.count else {
                throw DataError(.mismatch, file: path, "\(lines.count) rewrites for \(captions.count) captions in \(captionFile)")
            }
            files.append(lines)
            m += 1
        }
        let captionCount = captions.count
        rewrites = (0..<captionCount).map { i in files.map { $0[i] } }
    }

    /// The number of rewrites per caption (M).
    public var rewriteCount: Int { rewrites.first?.count ?? 0 }

    /// The caption index of image `index` with class `label`.
    /// - Parameters:
    ///   - index: The image's index in its split.
    ///   - label: Its class.
    public func captionIndex(image index: Int, label: Int) -> Int { label * captionsPerClass + index % captionsPerClass }

    /// The caption lists (original first, then its rewrites) of every image of `dataset`, for
    /// `FashionMNISTSampleSource`.
    /// - Parameter dataset: A Fashion-MNIST split.
    public func captionLists(for dataset: FashionMNIST) -> [[String]] {
        (0..<dataset.count).map { i in
            let k = captionIndex(image: i, label: dataset.label(at: i))
            return [captions[k]] + rewrites[k]
        }
    }

    static func lines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(.unreadable, file: path, "cannot read file") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
            .reversed().drop(while: \.isEmpty).reversed()
    }
}
