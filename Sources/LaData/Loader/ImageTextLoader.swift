import Foundation
import LaTensor
import Synchronization

/// Batches of images and tokens for CLIP, LaCLIP and LaCLIP-MT training, decoded and augmented on background
/// worker threads.
///
/// ```swift
/// let dataset = try LaCLIPCSVDataset(csvPath: "train.csv", imageRoot: "images", rewritePaths: rewrites)
/// let loader = try ImageTextLoader(
///     dataset: dataset, pipeline: .train(size: 224), imageSize: 224, tokenizer: try .loadDefault(),
///     text: .laclip(try LaCLIPTextSampler(rewriteCount: rewrites.count, seed: 7)),
///     configuration: LoaderConfiguration(batchSize: 128, seed: 7, workers: 2))
/// for epoch in 0..<epochs {
///     let batches = try loader.makeIterator(epoch: epoch)
///     while let batch = try batches.next() {
///         train(batch.images, batch.tokens)          // [128, 3, 224, 224], [128, 77]
///         checkpoint.loaderPosition = batches.position  // Codable: resume with makeIterator(from:)
///     }
/// }
/// ```
///
/// **Order.** Epoch `e` visits the samples in `EpochOrder.permutation(count:seed:epoch:shuffle:)`. Batch `k`
/// holds positions `k·B ..< (k+1)·B` of that order; with `dropLast` an incomplete last batch is dropped.
///
/// **Determinism.** Every random choice for a sample — the image augmentation
/// (`RandomGenerator.SampleStream.imageAugmentation`), the LaCLIP caption draw, a text augmentation — comes
/// from a generator keyed by `(seed, epoch, dataset index)`, never by thread or timing, and batches are
/// delivered in order. So the batches are identical for every worker count and every run.
///
/// **Workers.** `workers` threads each decode whole chunks of `B` positions (images written straight into the
/// batch tensor, captions tokenized with a tokenizer of their own), claimed by chunk number; results go through
/// a `PrefetchPipeline` bounded by `prefetch` chunks, so decoding stays at most that far ahead.
///
/// **Corrupt samples.** With `CorruptSamplePolicy.fail` (default) `next()` throws a `LoaderSampleError` naming
/// the sample index, position and file. With `.skip` the sample is counted, reported on standard error (if
/// `warnsOnSkip`), and the batch is completed with the readable samples that follow in the epoch's order —
/// the batches are then the readable samples, in order, cut into groups of `B`.
///
/// **Shards.** In data-parallel training each process passes its `LoaderShard`: global batch `k` holds
/// positions `k·B·S ..< (k+1)·B·S` of the epoch's order (S shards, incomplete global batches dropped), and shard
/// `s` reads the `s`-th block of `B` of it. So the S processes together see exactly the batches of one process
/// with batch `B·S`, and every per-sample random choice is the same as there.
///
/// **Resume.** `LoaderEpochIterator.position` (Codable) after any batch, given to `makeIterator(from:)`, gives
/// exactly the remaining batches of an uninterrupted run.
public final class ImageTextLoader: Sendable {
    /// The samples.
    public let source: any LoaderSampleSource
    /// The tokenizer (each worker uses its own copy sharing the vocabulary).
    public let tokenizer: BPETokenizer
    /// Which text(s) of each sample are tokenized.
    public let text: TextSelection
    /// The settings.
    public let configuration: LoaderConfiguration
    /// This process's part of every global batch (`.whole` outside data-parallel training).
    public let shard: LoaderShard
    private let tokenizers: Mutex<[BPETokenizer]>
    private let skipped = Mutex(0)

    /// Creates a loader over any sample source.
    /// - Parameters:
    ///   - source: The samples (e.g. `DatasetSampleSource` or `FashionMNISTSampleSource`).
    ///   - tokenizer: The CLIP tokenizer.
    ///   - text: Which text(s) of each sample to tokenize (the original caption by default).
    ///   - configuration: Batch size (per shard), seed, workers, ...
    ///   - shard: This process's part of every global batch (default: all of it).
    /// - Throws: `DataError(.unsupported)` for invalid settings or an image shape other than `[3, H, W]`.
    public init(source: any LoaderSampleSource, tokenizer: BPETokenizer, text: TextSelection = .original,
                configuration: LoaderConfiguration, shard: LoaderShard = .whole) throws {
        try configuration.validate()
        guard shard.count >= 1, (0..<shard.count).contains(shard.index) else {
            throw DataError(.unsupported, file: "loader", field: "shard", "shard \(shard.index) of \(shard.count) does not exist")
        }
        self.shard = shard
        guard source.imageShape.count == 3, source.imageShape.allSatisfy({ $0 >= 1 }) else {
            throw DataError(.unsupported, file: "loader source", field: "imageShape",
                            "expected [channels, height, width], got \(source.imageShape)")
        }
        self.source = source
        self.tokenizer = tokenizer
        self.text = text
        self.configuration = configuration
        self.tokenizers = Mutex([])
    }

    /// Creates a loader that decodes the images of a random-access dataset and runs them through `pipeline`.
    /// - Parameters:
    ///   - dataset: The dataset (LaCLIP CSV, open_clip CSV, COCO folder, ...).
    ///   - pipeline: The image transforms, producing `imageSize` × `imageSize` (e.g. `.train(size: 224)`).
    ///   - imageSize: The output side length.
    ///   - tokenizer: The CLIP tokenizer.
    ///   - text: Which text(s) of each sample to tokenize.
    ///   - configuration: Batch size (per shard), seed, workers, ...
    ///   - shard: This process's part of every global batch (default: all of it).
    /// - Throws: `DataError(.unsupported)` for invalid settings.
    public convenience init<Dataset: ImageTextDataset>(
        dataset: Dataset, pipeline: ImagePipeline, imageSize: Int, tokenizer: BPETokenizer,
        text: TextSelection = .original, configuration: LoaderConfiguration, shard: LoaderShard = .whole
    ) throws {
        try self.init(source: DatasetSampleSource(dataset: dataset, pipeline: pipeline, size: imageSize),
                      tokenizer: tokenizer, text: text, configuration: configuration, shard: shard)
    }

    /// The number of samples.
    public var count: Int { source.count }

    /// The number of positions this loader visits per epoch: every sample, or with several shards this shard's
    /// block of every complete global batch.
    public var samplesPerEpoch: Int {
        guard shard.count > 1 else { return count }
        return count / (configuration.batchSize * shard.count) * configuration.batchSize
    }

    /// The number of batches in an epoch when no sample is skipped.
    public var batchesPerEpoch: Int {
        let b = configuration.batchSize, n = samplesPerEpoch
        return configuration.dropLast ? n / b : (n + b - 1) / b
    }

    /// The number of samples skipped (under `.skip`) by all iterators of this loader so far.
    public var skippedSampleCount: Int { skipped.withLock { $0 } }

    /// The visiting order of `epoch` (dataset indices): with several shards, this shard's block of `B` of every
    /// global batch of the whole order.
    /// - Parameter epoch: The epoch.
    public func order(epoch: Int) -> [Int] {
        let whole = EpochOrder.permutation(count: count, seed: configuration.seed, epoch: epoch, shuffle: configuration.shuffle)
        guard shard.count > 1 else { return whole }
        let b = configuration.batchSize, global = b * shard.count
        var order: [Int] = []
        order.reserveCapacity(samplesPerEpoch)
        for k in 0..<(count / global) {
            let start = k * global + shard.index * b
            order.append(contentsOf: whole[start..<(start + b)])
        }
        return order
    }

    /// The position at the start of `epoch`.
    /// - Parameter epoch: The epoch.
    public func startPosition(epoch: Int) -> LoaderPosition {
        LoaderPosition(epoch: epoch, sampleCount: count, batchSize: configuration.batchSize, seed: configuration.seed)
    }

    /// Starts reading `epoch` from its beginning; the workers begin decoding at once.
    /// - Parameter epoch: The epoch (≥ 0).
    /// - Throws: `DataError(.unsupported)` for a negative epoch.
    public func makeIterator(epoch: Int) throws -> LoaderEpochIterator {
        try makeIterator(from: startPosition(epoch: epoch))
    }

    /// Resumes reading at a saved position: the batches that follow are exactly those an uninterrupted run
    /// produces after that position.
    /// - Parameter position: A position from `LoaderEpochIterator.position` (possibly decoded from JSON).
    /// - Throws: `DataError(.mismatch)` when the position was saved with another dataset size, batch size or
    ///   seed, `.unsupported` when it is out of range.
    public func makeIterator(from position: LoaderPosition) throws -> LoaderEpochIterator {
        func mismatch(_ field: String, _ saved: String, _ now: String) -> DataError {
            DataError(.mismatch, file: "loader position", field: field, "the position was saved with \(field) \(saved), the loader has \(now)")
        }
        guard position.sampleCount == count else { throw mismatch("sampleCount", "\(position.sampleCount)", "\(count)") }
        guard position.batchSize == configuration.batchSize else {
            throw mismatch("batchSize", "\(position.batchSize)", "\(configuration.batchSize)")
        }
        guard position.seed == configuration.seed else { throw mismatch("seed", "\(position.seed)", "\(configuration.seed)") }
        guard position.epoch >= 0, position.batchIndex >= 0, position.nextChunk >= 0,
            position.carriedPositions.allSatisfy({ $0 >= 0 && $0 < samplesPerEpoch })
        else {
            throw DataError(.unsupported, file: "loader position", "position \(position) is out of range")
        }
        return LoaderEpochIterator(loader: self, position: position)
    }

    // MARK: Internals used by the iterator

    /// The number of chunks of `B` positions read in an epoch.
    var chunkCount: Int {
        let b = configuration.batchSize, n = samplesPerEpoch
        if configuration.dropLast && configuration.corruptSamples == .fail { return n / b }
        return (n + b - 1) / b
    }

    /// Borrows a tokenizer of this loader's own (sharing the vocabulary), so workers never share a word cache.
    func withTokenizer<R>(_ body: (BPETokenizer) -> R) -> R {
        let borrowed = tokenizers.withLock { $0.popLast() } ?? BPETokenizer(vocabulary: tokenizer.vocabulary)
        defer { tokenizers.withLock { $0.append(borrowed) } }
        return body(borrowed)
    }

    func countSkipped(_ n: Int) { skipped.withLock { $0 += n } }

    /// Reads the samples at `positions` of `order` into one chunk: images, tokens, and the samples that failed.
    func decode(positions: [Int], order: [Int], epoch: Int) -> DecodedChunk {
        let shape = source.imageShape
        let imageSize = shape.reduce(1, *)
        let capacity = positions.count
        let versions = text.versionCount
        let length = configuration.contextLength
        let seed = configuration.seed
        let images = Tensor<Float>(uninitializedShape: [capacity] + shape)
        let tokens = Tensor<Int>(uninitializedShape: [versions * capacity, length])
        var good: [Int] = []
        good.reserveCapacity(capacity)
        var texts = Array(repeating: [String](), count: versions)
        var skipped: [LoaderSampleError] = []
        var failure: LoaderSampleError?
        for position in positions {
            let index = order[position]
            do {
                var generator = RandomGenerator.perSample(
                    seed: seed, epoch: epoch, index: index, stream: RandomGenerator.SampleStream.imageAugmentation)
                try source.writeImage(at: index, generator: &generator, into: images.storage.pointer + good.count * imageSize)
                let sampleTexts = try text.texts(captions: source.captions(at: index), index: index, epoch: epoch, seed: seed)
                guard sampleTexts.count == versions else {
                    throw DataError(.mismatch, file: source.sampleName(at: index), field: "texts",
                                    "\(sampleTexts.count) texts, expected \(versions)")
                }
                for v in 0..<versions { texts[v].append(sampleTexts[v]) }
                good.append(position)
            } catch {
                let sampleError = LoaderSampleError(sampleIndex: index, epoch: epoch, position: position,
                                                    file: source.sampleName(at: index), underlying: error)
                if configuration.corruptSamples == .fail {
                    failure = sampleError
                    break
                }
                skipped.append(sampleError)
            }
        }
        if failure == nil && !good.isEmpty {
            withTokenizer { tokenizer in
                let slice = 192  // below BPETokenizer's threshold for splitting over threads: workers stay single-threaded
                for v in 0..<versions {
                    var start = 0
                    while start < good.count {
                        let end = min(start + slice, good.count)
                        let part = tokenizer.tokenize(Array(texts[v][start..<end]), contextLength: length)
                        let target = tokens.storage.pointer + (v * capacity + start) * length
                        part.withContiguousBuffer { target.update(from: $0.baseAddress!, count: $0.count) }
                        start = end
                    }
                }
            }
        }
        return DecodedChunk(positions: good, sampleIndices: good.map { order[$0] }, images: images, tokens: tokens,
                            capacity: capacity, skipped: skipped, failure: failure)
    }
}

/// One chunk decoded by a worker: the readable samples packed at the front of `images` (`[capacity, C, H, W]`)
/// and `tokens` (`[V·capacity, L]`, row `v·capacity + i`).
struct DecodedChunk: Sendable {
    let positions: [Int]
    let sampleIndices: [Int]
    let images: Tensor<Float>
    let tokens: Tensor<Int>
    let capacity: Int
    let skipped: [LoaderSampleError]
    let failure: LoaderSampleError?
    var count: Int { positions.count }
}

/// One pass over an epoch of an `ImageTextLoader` (or its remainder, when resumed). Workers start decoding
/// when the iterator is created; `cancel()` (or releasing the iterator) stops them.
///
/// Use it from one thread.
public final class LoaderEpochIterator {
    /// The loader.
    public let loader: ImageTextLoader
    /// The epoch being read.
    public let epoch: Int
    /// The position after the last batch returned (at the end: the start of the next epoch). Save it to resume.
    public private(set) var position: LoaderPosition
    /// The samples skipped by this iterator (under `.skip`), in epoch order.
    public private(set) var skippedSamples: [LoaderSampleError] = []

    private let order: [Int]
    private let units: [[Int]]
    private let hasPrefix: Bool
    private let startChunk: Int
    private let pipeline: PrefetchPipeline<DecodedChunk>
    private var pieces: [(chunk: DecodedChunk, offset: Int)] = []
    private var pending = 0
    private var unitsTaken = 0
    private var skippedInEpoch: Int
    private var finished = false
    private var failure: LoaderSampleError?

    init(loader: ImageTextLoader, position: LoaderPosition) {
        self.loader = loader
        self.epoch = position.epoch
        self.position = position
        self.skippedInEpoch = position.skippedInEpoch
        let configuration = loader.configuration
        let order = loader.order(epoch: position.epoch)
        self.order = order
        let b = configuration.batchSize
        let n = loader.samplesPerEpoch
        var units: [[Int]] = []
        hasPrefix = !position.carriedPositions.isEmpty
        if hasPrefix { units.append(position.carriedPositions) }
        startChunk = position.nextChunk
        if startChunk < loader.chunkCount {
            for chunk in startChunk..<loader.chunkCount { units.append(Array((chunk * b)..<min((chunk + 1) * b, n))) }
        }
        self.units = units
        let epoch = position.epoch
        let unitList = units
        pipeline = PrefetchPipeline(unitCount: units.count, workers: configuration.workers,
                                    capacity: configuration.prefetchCapacity) { [loader] unit in
            loader.decode(positions: unitList[unit], order: order, epoch: epoch)
        }
    }

    deinit { pipeline.cancel() }

    /// The next batch in order, or `nil` at the end of the epoch.
    /// - Throws: `LoaderSampleError` for an unreadable sample under `CorruptSamplePolicy.fail` (again on every
    ///   later call; `position` stays at the last batch returned).
    public func next() throws -> ImageTextBatch? {
        if let failure { throw failure }
        if finished { return nil }
        let b = loader.configuration.batchSize
        while pending < b, let chunk = pipeline.next() {
            unitsTaken += 1
            if let error = chunk.failure {
                failure = error
                pipeline.cancel()
                throw error
            }
            for skip in chunk.skipped {
                skippedSamples.append(skip)
                if loader.configuration.warnsOnSkip {
                    FileHandle.standardError.write(Data("LaData loader: skipping \(skip)\n".utf8))
                }
            }
            skippedInEpoch += chunk.skipped.count
            loader.countSkipped(chunk.skipped.count)
            if chunk.count > 0 {
                pieces.append((chunk, 0))
                pending += chunk.count
            }
        }
        let n = min(b, pending)
        if n == 0 || (n < b && loader.configuration.dropLast) {
            finish()
            return nil
        }
        let batch = assemble(n)
        let chunksTaken = unitsTaken - (hasPrefix ? 1 : 0)
        position = LoaderPosition(
            epoch: epoch, batchIndex: position.batchIndex + 1, nextChunk: startChunk + chunksTaken,
            carriedPositions: pieces.flatMap { Array($0.chunk.positions[$0.offset...]) },
            skippedInEpoch: skippedInEpoch, sampleCount: loader.count, batchSize: b, seed: loader.configuration.seed)
        return batch
    }

    /// Stops the workers; later `next()` calls return `nil`.
    public func cancel() {
        pipeline.cancel()
        finished = true
    }

    /// The bound on chunks decoded ahead.
    public var prefetchCapacity: Int { pipeline.capacity }
    /// The most decoded chunks that ever waited in the prefetch buffer (≤ `prefetchCapacity`).
    public var peakBufferedChunks: Int { pipeline.peakBufferedCount }
    /// The most chunks ever being decoded or waiting at once (≤ `prefetchCapacity`).
    public var peakOutstandingChunks: Int { pipeline.peakOutstandingCount }

    private func finish() {
        finished = true
        pieces.removeAll()
        pending = 0
        position = loader.startPosition(epoch: epoch + 1)
    }

    /// Takes `n` samples from the front of `pieces` into one batch (no copy when one whole chunk is the batch).
    private func assemble(_ n: Int) -> ImageTextBatch {
        let versions = loader.text.versionCount
        let length = loader.configuration.contextLength
        let shape = loader.source.imageShape
        let imageSize = shape.reduce(1, *)
        let batchIndex = position.batchIndex
        if let first = pieces.first, first.offset == 0, first.chunk.count == n, first.chunk.capacity == n {
            pieces.removeFirst()
            pending -= n
            return ImageTextBatch(images: first.chunk.images, tokens: first.chunk.tokens, textVersions: versions,
                                  sampleIndices: first.chunk.sampleIndices, epoch: epoch, index: batchIndex)
        }
        let images = Tensor<Float>(uninitializedShape: [n] + shape)
        let tokens = Tensor<Int>(uninitializedShape: [versions * n, length])
        var indices: [Int] = []
        indices.reserveCapacity(n)
        var filled = 0
        while filled < n {
            let (chunk, offset) = pieces[0]
            let k = min(n - filled, chunk.count - offset)
            (images.storage.pointer + filled * imageSize)
                .update(from: chunk.images.storage.pointer + offset * imageSize, count: k * imageSize)
            for v in 0..<versions {
                (tokens.storage.pointer + (v * n + filled) * length)
                    .update(from: chunk.tokens.storage.pointer + (v * chunk.capacity + offset) * length, count: k * length)
            }
            indices += chunk.sampleIndices[offset..<(offset + k)]
            filled += k
            if offset + k == chunk.count { pieces.removeFirst() } else { pieces[0].offset = offset + k }
        }
        pending -= n
        return ImageTextBatch(images: images, tokens: tokens, textVersions: versions, sampleIndices: indices,
                              epoch: epoch, index: batchIndex)
    }
}
