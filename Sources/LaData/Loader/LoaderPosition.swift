/// Where a loader is within its epochs: enough to resume so that the remaining batches are exactly those an
/// uninterrupted run would produce. `Codable`, to be saved with a training checkpoint.
///
/// Batches are cut from the epoch's order in chunks of `batchSize` positions. When no sample is skipped,
/// chunk `k` is batch `k` and `carriedPositions` is empty. With `CorruptSamplePolicy.skip`, a batch can take
/// samples from the following chunk; the readable samples already taken from a chunk but not yet delivered are
/// listed in `carriedPositions` (positions in the epoch's order) and are read again on resume.
public struct LoaderPosition: Sendable, Codable, Hashable {
    /// The epoch (0-based).
    public var epoch: Int
    /// The index of the next batch within the epoch.
    public var batchIndex: Int
    /// The next chunk of `batchSize` positions of the epoch's order still to be read.
    public var nextChunk: Int
    /// Positions (in the epoch's order) read but not yet delivered, delivered first on resume.
    public var carriedPositions: [Int]
    /// Samples skipped so far in this epoch.
    public var skippedInEpoch: Int
    /// The dataset size the position refers to (checked on resume).
    public var sampleCount: Int
    /// The batch size the position refers to (checked on resume).
    public var batchSize: Int
    /// The seed the position refers to (checked on resume).
    public var seed: UInt64

    /// Creates a position.
    /// - Parameters:
    ///   - epoch: The epoch.
    ///   - batchIndex: The next batch within the epoch.
    ///   - nextChunk: The next chunk of positions to read.
    ///   - carriedPositions: Positions read but not delivered.
    ///   - skippedInEpoch: Samples skipped so far in the epoch.
    ///   - sampleCount: The dataset size.
    ///   - batchSize: The batch size.
    ///   - seed: The loader's seed.
    public init(
        epoch: Int, batchIndex: Int = 0, nextChunk: Int = 0, carriedPositions: [Int] = [], skippedInEpoch: Int = 0,
        sampleCount: Int, batchSize: Int, seed: UInt64
    ) {
        self.epoch = epoch
        self.batchIndex = batchIndex
        self.nextChunk = nextChunk
        self.carriedPositions = carriedPositions
        self.skippedInEpoch = skippedInEpoch
        self.sampleCount = sampleCount
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Whether this is the start of its epoch (nothing read yet).
    public var isEpochStart: Bool { batchIndex == 0 && nextChunk == 0 && carriedPositions.isEmpty }
}
