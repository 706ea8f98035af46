import Foundation

// Design of the dataset layer
// ---------------------------
// Readers in LaData do not decode images: image decoding lives in LaData/Images and is applied by the
// loader. A reader yields `ImageTextSample`s, each holding an `ImageReference` (a file path or in-memory
// bytes, plus a format hint) and one or more captions. Two protocols cover the two kinds of sources:
//
// * `ImageTextDataset` — random access (`count`, `sample(at:)`): CSV/TSV files, JSON-lines manifests,
//   COCO folders. The loader shuffles indices itself.
// * `StreamingImageTextDataset` — sequential (`makeIterator(epoch:)`): WebDataset tar shards, which are
//   read front to back with bounded memory. Per-epoch shuffling happens at the shard level inside the
//   source, from its seed and the epoch number.
//
// Every random-access dataset is also a streaming one (in index order), so a loader can consume either
// through `StreamingImageTextDataset`.

/// The encoding of an image, as guessed from a file extension or member suffix. It is only a hint for
/// the decoder, which should still check the bytes' signature.
public enum ImageFormat: String, Sendable, Hashable, CaseIterable {
    /// JPEG (`.jpg`, `.jpeg`).
    case jpeg
    /// PNG (`.png`).
    case png
    /// WebP (`.webp`).
    case webp
    /// Anything else; the decoder must sniff the bytes.
    case unknown

    /// The format for a file extension or WebDataset suffix (case-insensitive, with or without a
    /// leading dot); `.unknown` when it is not a known image extension.
    /// - Parameter fileExtension: An extension such as `"jpg"`, `".PNG"` or `"webp"`.
    public init(fileExtension: String) {
        var ext = fileExtension.lowercased()
        if ext.hasPrefix(".") { ext.removeFirst() }
        switch ext {
        case "jpg", "jpeg": self = .jpeg
        case "png": self = .png
        case "webp": self = .webp
        default: self = .unknown
        }
    }

    /// The format suggested by the extension of a path's last component.
    /// - Parameter path: A file path or tar member name.
    public init(path: String) {
        let base = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        if let dot = base.lastIndex(of: ".") {
            self.init(fileExtension: String(base[base.index(after: dot)...]))
        } else {
            self = .unknown
        }
    }
}

/// Where the encoded bytes of an image are: a file on disk or bytes already in memory (e.g. a tar
/// member), with a format hint. The reference is cheap to copy; nothing is decoded.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// The location of the encoded image.
    public enum Source: Sendable, Hashable {
        /// A file path (absolute, or relative to the working directory).
        case file(String)
        /// The encoded bytes themselves.
        case bytes([UInt8])
    }

    /// The location of the encoded image.
    public var source: Source
    /// The encoding suggested by the file extension or member suffix.
    public var format: ImageFormat
    /// A human-readable name for error messages: the file path, or `shard.tar:member` for tar members.
    public var name: String

    /// Creates a reference to an image file; the format is guessed from the extension.
    /// - Parameters:
    ///   - path: The file path.
    ///   - format: The format hint; `nil` guesses it from the extension.
    public init(path: String, format: ImageFormat? = nil) {
        self.source = .file(path)
        self.format = format ?? ImageFormat(path: path)
        self.name = path
    }

    /// Creates a reference to encoded bytes in memory.
    /// - Parameters:
    ///   - bytes: The encoded image.
    ///   - format: The format hint.
    ///   - name: Where the bytes came from, for error messages (e.g. `shard-000.tar:0001.jpg`).
    public init(bytes: [UInt8], format: ImageFormat, name: String) {
        self.source = .bytes(bytes)
        self.format = format
        self.name = name
    }

    /// The file path, when the image is a file.
    public var path: String? {
        if case .file(let path) = source { return path }
        return nil
    }

    /// The encoded bytes: read from the file, or returned as they are.
    /// - Throws: `DataError(.unreadable)` naming the file when it cannot be read.
    public func loadBytes() throws -> [UInt8] {
        switch source {
        case .bytes(let bytes):
            return bytes
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError(.unreadable, file: path, field: "image", "cannot read image file")
            }
            return [UInt8](data)
        }
    }

    /// `name (format)`.
    public var description: String { "\(name) (\(format.rawValue))" }
}

/// One image-text pair (or image with several texts) from a dataset, before decoding.
///
/// `captions[0]` is always the original caption. Further entries are alternatives: for LaCLIP's CSV with
/// rewrite files, `captions[1...M]` are the M rewrites in the order the rewrite files were given; for
/// COCO and JSON-lines manifests they are the other human captions, in file order. `captions` is never
/// empty.
public struct ImageTextSample: Sendable, Hashable {
    /// The encoded image (not decoded).
    public var image: ImageReference
    /// The captions; index 0 is the original, never empty.
    public var captions: [String]
    /// An identifier of the sample in its source: the image path, the WebDataset key, or the COCO image id.
    public var key: String

    /// Creates a sample.
    /// - Parameters:
    ///   - image: The encoded image.
    ///   - captions: The captions, original first; must not be empty.
    ///   - key: The sample's identifier in its source.
    public init(image: ImageReference, captions: [String], key: String) {
        self.image = image
        self.captions = captions
        self.key = key
    }

    /// The original caption (`captions[0]`).
    public var caption: String { captions.first ?? "" }
}

/// A source of samples read one after another, such as WebDataset shards.
///
/// The loader calls `makeIterator(epoch:)` once per epoch; the source decides the order for that epoch
/// from its own seed and the epoch number (so runs are reproducible and resumable per epoch).
public protocol StreamingImageTextDataset: Sendable {
    /// The iterator type for one pass.
    associatedtype Iterator: ImageTextSampleIterator

    /// Starts one pass over the data.
    /// - Parameter epoch: The epoch number (0-based); it selects the shuffled order, if any.
    func makeIterator(epoch: Int) -> Iterator
}

/// One pass over a streaming source. `next()` returns `nil` at the end and throws `DataError` when the
/// underlying data is malformed (naming the file, record and field).
public protocol ImageTextSampleIterator {
    /// The next sample, or `nil` when the pass is over.
    /// - Throws: `DataError` on malformed or unreadable data.
    mutating func next() throws -> ImageTextSample?
}

/// A source with random access to its samples: CSV/TSV files, JSON-lines manifests, COCO folders.
///
/// Samples are parsed when the dataset is opened, so `sample(at:)` is cheap and only fails for an index
/// out of range (images are not read until decoded). Random-access datasets are also streaming datasets
/// that visit indices in order; shuffling indices is the loader's job.
public protocol ImageTextDataset: StreamingImageTextDataset {
    /// The number of samples.
    var count: Int { get }

    /// The sample at `index`.
    /// - Parameter index: A position in `0..<count`.
    /// - Throws: `DataError(.unsupported)` when `index` is out of range.
    func sample(at index: Int) throws -> ImageTextSample
}

/// Iterates a random-access dataset in index order.
public struct IndexedSampleIterator<Dataset: ImageTextDataset>: ImageTextSampleIterator {
    /// The dataset being iterated.
    public let dataset: Dataset
    /// The next index to return.
    public private(set) var position: Int = 0

    /// Creates an iterator at index 0.
    /// - Parameter dataset: The dataset to iterate.
    public init(dataset: Dataset) { self.dataset = dataset }

    /// The next sample in index order, or `nil` after the last.
    public mutating func next() throws -> ImageTextSample? {
        guard position < dataset.count else { return nil }
        defer { position += 1 }
        return try dataset.sample(at: position)
    }
}

extension ImageTextDataset {
    /// A pass over the samples in index order (the same for every epoch).
    /// - Parameter epoch: Ignored; random-access datasets are shuffled by the loader.
    public func makeIterator(epoch: Int) -> IndexedSampleIterator<Self> {
        IndexedSampleIterator(dataset: self)
    }

    /// Every sample, in index order.
    /// - Throws: `DataError` from `sample(at:)`.
    public func allSamples() throws -> [ImageTextSample] {
        try (0..<count).map { try sample(at: $0) }
    }
}

/// Throws the standard out-of-range error for random-access datasets.
/// - Parameters:
///   - index: The requested index.
///   - count: The dataset size.
///   - file: The dataset's file, for the message.
func checkDatasetIndex(_ index: Int, count: Int, file: String) throws {
    guard index >= 0 && index < count else {
        throw DataError(.unsupported, file: file, field: "index", "index \(index) is out of range 0..<\(count)")
    }
}

/// Joins a relative path onto a root directory; absolute paths and a `nil` root leave the path as it is.
/// - Parameters:
///   - path: A path from a dataset file.
///   - root: The directory relative paths are resolved against, if any.
func resolveDatasetPath(_ path: String, root: String?) -> String {
    guard let root, !root.isEmpty, !path.hasPrefix("/") else { return path }
    return root.hasSuffix("/") ? root + path : root + "/" + path
}
