import LaTensor

/// The samples an `ImageTextLoader` reads: random access to each sample's captions and to its image, decoded
/// and augmented straight into a slot of the batch tensor.
///
/// Implementations must be safe to call from several worker threads at once and must draw all randomness from
/// the generator passed in, so that a sample's image depends only on `(seed, epoch, index)`.
/// `DatasetSampleSource` decodes files of any `ImageTextDataset`; `FashionMNISTSampleSource` is the in-memory
/// fast path.
public protocol LoaderSampleSource: Sendable {
    /// The number of samples.
    var count: Int { get }
    /// The image size every sample is written at: `[channels, height, width]`.
    var imageShape: [Int] { get }

    /// The captions of sample `index`, original first (never empty).
    /// - Parameter index: A sample in `0 ..< count`.
    /// - Throws: `DataError` when the captions cannot be read.
    func captions(at index: Int) throws -> [String]

    /// Decodes and augments the image of sample `index` into `destination` (`imageShape` floats, CHW).
    /// - Parameters:
    ///   - index: A sample in `0 ..< count`.
    ///   - generator: The sample's own generator for augmentation.
    ///   - destination: Room for `imageShape.reduce(1, *)` floats.
    /// - Throws: `DataError` (naming the file) when the image cannot be read or decoded.
    func writeImage(at index: Int, generator: inout RandomGenerator, into destination: UnsafeMutablePointer<Float>) throws

    /// A name for sample `index` in error messages: its image file or member.
    /// - Parameter index: A sample in `0 ..< count`.
    func sampleName(at index: Int) -> String
}

/// A sample that could not be read: its dataset index, its position in the epoch's order, its file and the
/// underlying error. Thrown by `ImageTextLoader` under `CorruptSamplePolicy.fail`, and recorded for every
/// skipped sample under `.skip`.
public struct LoaderSampleError: Error, Sendable, CustomStringConvertible {
    /// The sample's index in the dataset.
    public let sampleIndex: Int
    /// The epoch.
    public let epoch: Int
    /// The sample's position in the epoch's order.
    public let position: Int
    /// The sample's image file (or tar member, or in-memory name).
    public let file: String
    /// What went wrong (usually a `DataError` from the decoder or the caption sampler).
    public let underlying: any Error

    /// Creates the error.
    /// - Parameters:
    ///   - sampleIndex: The dataset index.
    ///   - epoch: The epoch.
    ///   - position: The position in the epoch's order.
    ///   - file: The sample's image file.
    ///   - underlying: The cause.
    public init(sampleIndex: Int, epoch: Int, position: Int, file: String, underlying: any Error) {
        self.sampleIndex = sampleIndex
        self.epoch = epoch
        self.position = position
        self.file = file
        self.underlying = underlying
    }

    /// `sample 17 (file) in epoch 0: <cause>`.
    public var description: String {
        "sample \(sampleIndex) (\(file)) in epoch \(epoch), position \(position): \(underlying)"
    }
}

/// Chosen samples of another source, in the given order (e.g. a fixed, balanced subset of a data set).
public struct SubsetSampleSource: LoaderSampleSource {
    /// The full source.
    public let base: any LoaderSampleSource
    /// The base's index of each sample of the subset.
    public let indices: [Int]

    /// Keeps the samples `indices` of `base`.
    /// - Parameters:
    ///   - base: The full source.
    ///   - indices: Indices into `base` (each in `0 ..< base.count`).
    /// - Throws: `DataError(.unsupported)` for an index out of range.
    public init(base: any LoaderSampleSource, indices: [Int]) throws {
        if let bad = indices.first(where: { $0 < 0 || $0 >= base.count }) {
            throw DataError(.unsupported, file: "subset", field: "indices", "index \(bad) is outside 0 ..< \(base.count)")
        }
        self.base = base
        self.indices = indices
    }

    /// The first `count` samples of `base` (all of them when `count` is larger, at least 1), e.g. a quick run on part
    /// of a data set.
    /// - Parameters:
    ///   - base: The full source.
    ///   - count: The number of samples to keep.
    public static func prefix(of base: any LoaderSampleSource, count: Int) -> SubsetSampleSource {
        let kept = Swift.max(Swift.min(count, base.count), Swift.min(1, base.count))
        return SubsetSampleSource(base: base, checkedIndices: Array(0..<kept))
    }

    private init(base: any LoaderSampleSource, checkedIndices: [Int]) {
        self.base = base
        self.indices = checkedIndices
    }

    /// The number of chosen samples.
    public var count: Int { indices.count }
    /// The base's image shape.
    public var imageShape: [Int] { base.imageShape }

    /// The captions of subset sample `index`.
    /// - Parameter index: A sample in `0 ..< count`.
    public func captions(at index: Int) throws -> [String] {
        try checkDatasetIndex(index, count: count, file: "subset of \(count) samples")
        return try base.captions(at: indices[index])
    }

    /// Writes the image of subset sample `index`.
    /// - Parameters:
    ///   - index: A sample in `0 ..< count`.
    ///   - generator: The sample's generator.
    ///   - destination: Room for the image.
    public func writeImage(at index: Int, generator: inout RandomGenerator, into destination: UnsafeMutablePointer<Float>) throws {
        try checkDatasetIndex(index, count: count, file: "subset of \(count) samples")
        try base.writeImage(at: indices[index], generator: &generator, into: destination)
    }

    /// The base's name for subset sample `index`.
    /// - Parameter index: A sample.
    public func sampleName(at index: Int) -> String { index >= 0 && index < count ? base.sampleName(at: indices[index]) : "sample \(index)" }
}

extension FashionMNIST {
    /// The first `perClass` images of every class, in data-set order (a fixed, balanced subset).
    /// - Parameter perClass: Images per class.
    public func balancedSubset(perClass: Int) -> [Int] {
        var taken = [Int](repeating: 0, count: FashionMNIST.classNames.count)
        var result: [Int] = []
        for i in 0..<count {
            let label = self.label(at: i)
            if taken[label] < perClass {
                taken[label] += 1
                result.append(i)
            }
        }
        return result
    }
}
