/// What the loader does when a sample cannot be read (a corrupt or truncated image, a missing file, a caption
/// row without its rewrites).
public enum CorruptSamplePolicy: String, Sendable, Codable, Hashable {
    /// Stop: `next()` throws a `LoaderSampleError` naming the sample index and the file (the default).
    case fail
    /// Skip the sample and count it (open_clip's warn-and-continue); the batch is filled with the samples that
    /// follow in the epoch's order, so the batches stay deterministic.
    case skip
}

/// The settings of an `ImageTextLoader` that decide which batches it produces and how fast.
///
/// Only `batchSize`, `shuffle`, `seed`, `dropLast`, `contextLength` and `corruptSamples` affect the content of
/// the batches; `workers` and `prefetch` only affect speed and memory (batches are identical for every worker
/// count).
public struct LoaderConfiguration: Sendable, Codable, Hashable {
    /// The number of samples per batch.
    public var batchSize: Int
    /// Whether each epoch visits the samples in its own random order (otherwise in index order).
    public var shuffle: Bool
    /// The seed of the epoch orders and of every per-sample random choice (augmentation, text choice).
    public var seed: UInt64
    /// Whether a last batch smaller than `batchSize` is dropped.
    public var dropLast: Bool
    /// Background worker threads decoding batches; 0 decodes on the calling thread when `next()` is called.
    public var workers: Int
    /// The most batches decoded ahead of the consumer (ready or being decoded); `nil` means `2 × max(workers, 1)`.
    public var prefetch: Int?
    /// The token row length (77 for CLIP models).
    public var contextLength: Int
    /// What to do with a sample that cannot be read.
    public var corruptSamples: CorruptSamplePolicy
    /// Whether a skipped sample is reported on standard error (as open_clip's warning), with `.skip`.
    public var warnsOnSkip: Bool

    /// Creates a configuration.
    /// - Parameters:
    ///   - batchSize: The number of samples per batch (≥ 1).
    ///   - shuffle: Whether each epoch has its own random order.
    ///   - seed: The seed of the orders and of every per-sample random choice.
    ///   - dropLast: Whether an incomplete last batch is dropped.
    ///   - workers: Background worker threads (0: decode on the calling thread).
    ///   - prefetch: The bound on batches decoded ahead; `nil` for `2 × max(workers, 1)`.
    ///   - contextLength: The token row length.
    ///   - corruptSamples: What to do with unreadable samples (`.fail` by default).
    ///   - warnsOnSkip: Whether skipped samples are reported on standard error.
    public init(
        batchSize: Int, shuffle: Bool = true, seed: UInt64 = 0, dropLast: Bool = true, workers: Int = 2,
        prefetch: Int? = nil, contextLength: Int = BPETokenizer.defaultContextLength,
        corruptSamples: CorruptSamplePolicy = .fail, warnsOnSkip: Bool = true
    ) {
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.workers = workers
        self.prefetch = prefetch
        self.contextLength = contextLength
        self.corruptSamples = corruptSamples
        self.warnsOnSkip = warnsOnSkip
    }

    /// The prefetch bound actually used: `prefetch`, or `2 × max(workers, 1)`, at least 1.
    public var prefetchCapacity: Int { max(1, prefetch ?? 2 * max(workers, 1)) }

    /// Checks the values.
    /// - Throws: `DataError(.unsupported)` for a batch size, worker count, prefetch bound or context length out
    ///   of range.
    func validate() throws {
        func bad(_ field: String, _ message: String) -> DataError {
            DataError(.unsupported, file: "loader configuration", field: field, message)
        }
        guard batchSize >= 1 else { throw bad("batchSize", "must be ≥ 1, got \(batchSize)") }
        guard workers >= 0 else { throw bad("workers", "must be ≥ 0, got \(workers)") }
        if let prefetch, prefetch < 1 { throw bad("prefetch", "must be ≥ 1, got \(prefetch)") }
        guard contextLength >= 1 else { throw bad("contextLength", "must be ≥ 1, got \(contextLength)") }
    }
}

/// One process's part of the data in data-parallel training: shard `index` of `count` reads the `index`-th
/// block of `B` samples of every global batch of `B × count` (see `ImageTextLoader`).
public struct LoaderShard: Sendable, Codable, Hashable {
    /// This shard, `0..<count` (the process's rank).
    public var index: Int
    /// The number of shards (the world size).
    public var count: Int

    /// All of the data: shard 0 of 1.
    public static let whole = LoaderShard(index: 0, count: 1)

    /// Creates a shard.
    /// - Parameters:
    ///   - index: This shard, `0..<count`.
    ///   - count: The number of shards.
    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }
}
