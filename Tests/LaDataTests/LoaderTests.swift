import Foundation
import Synchronization
import Testing

@testable import LaData

// Tests of the data loader: determinism across worker counts and runs, per-epoch shuffling, drop-last, resume,
// the multi-text layout, corrupt samples (fail vs skip-and-count), the bounded prefetch queue, and the
// Fashion-MNIST fast path. Most tests use a synthetic in-memory source (fast); the corrupt-image tests decode
// real JPEGs from ../shared/data/coco/mini.

// MARK: - Fixtures

private let loaderRepositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func loaderSharedData(_ relative: String) -> String? {
    let base = ProcessInfo.processInfo.environment["LACLIP_SHARED_DATA"].flatMap { $0.isEmpty ? nil : $0 }
        ?? loaderRepositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data").standardizedFileURL.path
    let path = base + "/" + relative
    guard FileManager.default.fileExists(atPath: path) else {
        Issue.record("shared data \(path) is missing (set LACLIP_SHARED_DATA)")
        return nil
    }
    return path
}

private enum LoaderFixture {
    static let tokenizer: Result<BPETokenizer, any Error> = Result {
        let candidates = [BPETokenizer.bundledVocabularyURL].compactMap { $0 }
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw DataError(.unreadable, file: BPETokenizer.vocabularyFileName, "CLIP vocabulary not found")
        }
        return try BPETokenizer(vocabularyURL: url)
    }
}

private func tokenizer() throws -> BPETokenizer { try LoaderFixture.tokenizer.get() }

/// A synthetic source: image `i` is noise from the sample's generator plus `i`, captions are
/// `["photo number i", "rewrite one of i", "rewrite two of i"]` (rewrite 2 is one word for every 5th sample),
/// and the samples in `bad` throw a `DataError` naming `synthetic/i.jpg`.
private struct SyntheticSource: LoaderSampleSource {
    let count: Int
    var bad: Set<Int> = []
    var imageShape: [Int] { [3, 4, 4] }

    func captions(at index: Int) throws -> [String] {
        ["photo number \(index)", "rewrite one of \(index)", index % 5 == 0 ? "short" : "rewrite two of \(index)"]
    }

    func writeImage(at index: Int, generator: inout RandomGenerator, into destination: UnsafeMutablePointer<Float>) throws {
        if bad.contains(index) {
            throw DataError(.truncated, file: sampleName(at: index), "image data ends early")
        }
        for k in 0..<48 { destination[k] = Float(index) + Float.random(in: 0..<1, using: &generator) }
    }

    func sampleName(at index: Int) -> String { "synthetic/\(index).jpg" }
}

private struct BatchRecord: Equatable {
    let indices: [Int]
    let images: [Float]
    let imageShape: [Int]
    let tokens: [Int]
    let tokenShape: [Int]

    init(_ batch: ImageTextBatch) {
        indices = batch.sampleIndices
        images = batch.images.scalars
        imageShape = batch.images.shape
        tokens = batch.tokens.scalars
        tokenShape = batch.tokens.shape
    }
}

private func readAll(_ iterator: LoaderEpochIterator) throws -> [BatchRecord] {
    var records: [BatchRecord] = []
    while let batch = try iterator.next() { records.append(BatchRecord(batch)) }
    return records
}

private func makeLoader(
    _ source: any LoaderSampleSource, workers: Int, batchSize: Int = 8, dropLast: Bool = true, seed: UInt64 = 11,
    text: TextSelection? = nil, policy: CorruptSamplePolicy = .fail, prefetch: Int? = nil, contextLength: Int = 16
) throws -> ImageTextLoader {
    let selection = try text ?? .laclip(LaCLIPTextSampler(rewriteCount: 2, seed: 5))
    return try ImageTextLoader(
        source: source, tokenizer: tokenizer(), text: selection,
        configuration: LoaderConfiguration(
            batchSize: batchSize, seed: seed, dropLast: dropLast, workers: workers, prefetch: prefetch,
            contextLength: contextLength, corruptSamples: policy, warnsOnSkip: false))
}

/// Counts the units being computed at once.
private final class ActiveCounter: Sendable {
    let state = Mutex((now: 0, peak: 0))
}

// MARK: - Tests

@Suite("ImageTextLoader")
struct LoaderTests {
    @Test func identicalBatchesForEveryWorkerCountAndRun() throws {
        let source = SyntheticSource(count: 50)
        var reference: [[BatchRecord]]?
        for workers in [1, 2, 4, 0, 2] {
            let loader = try makeLoader(source, workers: workers)
            let epochs = try (0..<2).map { try readAll(loader.makeIterator(epoch: $0)) }
            #expect(epochs[0].count == 6)
            if let reference {
                #expect(epochs == reference, "workers \(workers)")
            } else {
                reference = epochs
            }
        }
        // A different seed gives different batches.
        let other = try readAll(makeLoader(source, workers: 2, seed: 12).makeIterator(epoch: 0))
        #expect(other != reference?[0])
    }

    @Test func eachEpochIsItsOwnPermutation() throws {
        let loader = try makeLoader(SyntheticSource(count: 50), workers: 2, dropLast: false)
        let order0 = loader.order(epoch: 0), order1 = loader.order(epoch: 1)
        #expect(order0.sorted() == Array(0..<50))
        #expect(order1.sorted() == Array(0..<50))
        #expect(order0 != order1)
        #expect(order0 != Array(0..<50))
        #expect(loader.order(epoch: 0) == order0)
        for epoch in 0..<2 {
            let batches = try readAll(loader.makeIterator(epoch: epoch))
            #expect(batches.flatMap(\.indices) == loader.order(epoch: epoch))
        }
        let unshuffled = try ImageTextLoader(
            source: SyntheticSource(count: 10), tokenizer: tokenizer(),
            configuration: LoaderConfiguration(batchSize: 4, shuffle: false, dropLast: false, workers: 1))
        #expect(try readAll(unshuffled.makeIterator(epoch: 3)).flatMap(\.indices) == Array(0..<10))
    }

    @Test func dropLast() throws {
        let source = SyntheticSource(count: 50)
        let dropping = try makeLoader(source, workers: 2, dropLast: true)
        let keeping = try makeLoader(source, workers: 2, dropLast: false)
        let dropped = try readAll(dropping.makeIterator(epoch: 0))
        let kept = try readAll(keeping.makeIterator(epoch: 0))
        #expect(dropping.batchesPerEpoch == 6 && dropped.count == 6)
        #expect(keeping.batchesPerEpoch == 7 && kept.count == 7)
        #expect(dropped.allSatisfy { $0.imageShape == [8, 3, 4, 4] && $0.tokenShape == [8, 16] })
        #expect(kept.last?.imageShape == [2, 3, 4, 4])
        #expect(kept.last?.tokenShape == [2, 16])
        #expect(Array(kept.prefix(6)) == dropped)
    }

    @Test func resumeInTheMiddleOfAnEpoch() throws {
        let source = SyntheticSource(count: 50)
        let full = try readAll(makeLoader(source, workers: 2).makeIterator(epoch: 1))
        let first = try makeLoader(source, workers: 2)
        let iterator = try first.makeIterator(epoch: 1)
        var head: [BatchRecord] = []
        for _ in 0..<2 { head.append(BatchRecord(try #require(try iterator.next()))) }
        let saved = try JSONEncoder().encode(iterator.position)
        iterator.cancel()
        let position = try JSONDecoder().decode(LoaderPosition.self, from: saved)
        #expect(position.epoch == 1 && position.batchIndex == 2)
        let resumed = try makeLoader(source, workers: 4).makeIterator(from: position)
        let tail = try readAll(resumed)
        #expect(head + tail == full)
        // At the end the position is the start of the next epoch.
        #expect(resumed.position == first.startPosition(epoch: 2))
        // A position from another configuration is refused.
        #expect(throws: DataError.self) { try makeLoader(source, workers: 1, batchSize: 5).makeIterator(from: position) }
    }

    @Test func multiTextLayoutIsVersionMajor() throws {
        let source = SyntheticSource(count: 20)
        let sampler = try MultiTextSampler(rewriteCount: 2)
        let loader = try makeLoader(source, workers: 2, batchSize: 4, text: .multiText(sampler))
        let batch = try #require(try loader.makeIterator(epoch: 0).next())
        #expect(batch.textVersions == 3)
        #expect(batch.images.shape == [4, 3, 4, 4])
        #expect(batch.tokens.shape == [12, 16])
        let tok = try tokenizer()
        for (i, index) in batch.sampleIndices.enumerated() {
            let captions = try source.captions(at: index)
            for v in 0..<3 {
                let expected = v == 2 && index % 5 == 0 ? captions[0] : captions[v]  // one-word rewrite falls back
                let row = Array(batch.tokens.scalars[((v * 4 + i) * 16)..<((v * 4 + i + 1) * 16)])
                #expect(row == tok.tokenize([expected], contextLength: 16).scalars, "version \(v) of sample \(index)")
                #expect(Array(batch.tokens(version: v).scalars[(i * 16)..<((i + 1) * 16)]) == row)
            }
        }
    }

    @Test func textSelections() throws {
        let source = SyntheticSource(count: 16)
        let original = try readAll(makeLoader(source, workers: 1, text: .original).makeIterator(epoch: 0))
        let identity = try readAll(makeLoader(source, workers: 2, text: .augmented(IdentityTextAugmenter())).makeIterator(epoch: 0))
        #expect(original == identity)
        // LaCLIP sampling: the chosen text is the sampler's draw; fallbacks are counted.
        let sampler = try LaCLIPTextSampler(rewriteCount: 2, seed: 3)
        let loader = try makeLoader(SyntheticSource(count: 40), workers: 2, batchSize: 40, text: .laclip(sampler))
        let batch = try #require(try loader.makeIterator(epoch: 0).next())
        let tok = try tokenizer()
        let check = try LaCLIPTextSampler(rewriteCount: 2, seed: 3)
        let expected = try batch.sampleIndices.map { index in
            let captions = try SyntheticSource(count: 40).captions(at: index)
            return try check.sample(original: captions[0], rewrites: Array(captions.dropFirst()), index: index, epoch: 0)
        }
        #expect(batch.tokens.scalars == tok.tokenize(expected, contextLength: 16).scalars)
        #expect(sampler.statistics.totalDraws == 40)
        #expect(sampler.fallbackCount == check.fallbackCount)
    }

    @Test func corruptSampleFailsOrIsSkippedDeterministically() throws {
        let order = try makeLoader(SyntheticSource(count: 30), workers: 1).order(epoch: 0)
        let badSet: Set<Int> = [order[5], order[13]]
        let source = SyntheticSource(count: 30, bad: badSet)
        // Fail (default): the error names the first bad sample in epoch order and its file.
        let failing = try makeLoader(source, workers: 2).makeIterator(epoch: 0)
        var delivered = 0
        do {
            while try failing.next() != nil { delivered += 1 }
            Issue.record("expected a LoaderSampleError")
        } catch let error as LoaderSampleError {
            let firstBad = order[5]
            #expect(error.sampleIndex == firstBad)
            #expect(error.file == "synthetic/\(firstBad).jpg")
            #expect(error.description.contains("sample \(firstBad)"))
            #expect(delivered == order.firstIndex(of: firstBad)! / 8)
        }
        // Skip: the batches are the readable samples in order; identical for every worker count.
        var reference: [BatchRecord]?
        for workers in [1, 2, 4] {
            let loader = try makeLoader(source, workers: workers, policy: .skip)
            let iterator = try loader.makeIterator(epoch: 0)
            let batches = try readAll(iterator)
            #expect(iterator.skippedSamples.map(\.sampleIndex) == [order[5], order[13]])
            #expect(loader.skippedSampleCount == 2)
            #expect(batches.count == 3)
            #expect(batches.flatMap(\.indices) == Array(order.filter { !badSet.contains($0) }.prefix(24)))
            if let reference { #expect(batches == reference) } else { reference = batches }
        }
        // Resume in skip mode, after a batch that borrowed samples from the next chunk.
        let full = try #require(reference)
        let iterator = try makeLoader(source, workers: 2, policy: .skip).makeIterator(epoch: 0)
        var head: [BatchRecord] = []
        var position = iterator.position
        while head.count < 3, let batch = try iterator.next() {
            head.append(BatchRecord(batch))
            position = iterator.position
            if !position.carriedPositions.isEmpty { break }
        }
        #expect(!position.carriedPositions.isEmpty, "a batch should have borrowed from the next chunk")
        iterator.cancel()
        let decoded = try JSONDecoder().decode(LoaderPosition.self, from: JSONEncoder().encode(position))
        let tail = try readAll(makeLoader(source, workers: 1, policy: .skip).makeIterator(from: decoded))
        #expect(head + tail == full)
    }

    @Test func truncatedJPEGFailsWithItsIndexAndFileOrIsSkipped() throws {
        guard let mini = loaderSharedData("coco/mini") else { return }
        let coco = try COCOMiniDataset(directory: mini)
        var samples = try (0..<6).map { try coco.sample(at: $0) }
        let good = try samples[3].image.loadBytes()
        samples[3].image = ImageReference(bytes: Array(good.prefix(good.count / 3)), format: .jpeg, name: "truncated-sample.jpg")
        let dataset = SampleArrayDataset(samples: samples, name: "coco mini with a truncated JPEG")
        func loader(_ policy: CorruptSamplePolicy, workers: Int) throws -> ImageTextLoader {
            try ImageTextLoader(
                dataset: dataset, pipeline: .train(size: 32, horizontalFlip: true), imageSize: 32, tokenizer: tokenizer(),
                configuration: LoaderConfiguration(batchSize: 2, shuffle: false, seed: 1, workers: workers,
                                                   corruptSamples: policy, warnsOnSkip: false))
        }
        let failing = try loader(.fail, workers: 2).makeIterator(epoch: 0)
        #expect(try failing.next()?.sampleIndices == [0, 1])
        do {
            _ = try failing.next()
            Issue.record("expected a LoaderSampleError")
        } catch let error as LoaderSampleError {
            #expect(error.sampleIndex == 3)
            #expect(error.file == "truncated-sample.jpg")
            #expect("\(error)".contains("truncated-sample.jpg"))
            #expect((error.underlying as? DataError)?.file == "truncated-sample.jpg")
        }
        var reference: [BatchRecord]?
        for workers in [1, 2] {
            let iterator = try loader(.skip, workers: workers).makeIterator(epoch: 0)
            let batches = try readAll(iterator)
            #expect(batches.map(\.indices) == [[0, 1], [2, 4]])  // 5 readable samples, drop-last
            #expect(batches.allSatisfy { $0.imageShape == [2, 3, 32, 32] && $0.tokenShape == [2, 77] })
            #expect(iterator.skippedSamples.map(\.sampleIndex) == [3])
            if let reference { #expect(batches == reference) } else { reference = batches }
        }
    }

    @Test func prefetchQueueNeverExceedsItsCapacity() throws {
        let active = ActiveCounter()
        let pipeline = PrefetchPipeline<Int>(unitCount: 60, workers: 4, capacity: 3) { unit in
            active.state.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
            usleep(200)
            active.state.withLock { $0.now -= 1 }
            return unit * unit
        }
        var outputs: [Int] = []
        while let value = pipeline.next() {
            #expect(pipeline.bufferedCount <= 3)
            outputs.append(value)
            usleep(500)  // a slow consumer: the workers must wait
        }
        #expect(outputs == (0..<60).map { $0 * $0 })
        #expect(pipeline.peakBufferedCount <= 3)
        #expect(pipeline.peakOutstandingCount <= 3)
        #expect(pipeline.peakBufferedCount >= 1)
        #expect(active.state.withLock { $0.peak } <= 3)

        // Through the loader: a prefetch bound of 2 with 4 workers.
        let iterator = try makeLoader(SyntheticSource(count: 80), workers: 4, batchSize: 4, prefetch: 2).makeIterator(epoch: 0)
        var count = 0
        while try iterator.next() != nil {
            count += 1
            usleep(300)
        }
        #expect(count == 20)
        #expect(iterator.prefetchCapacity == 2)
        #expect(iterator.peakBufferedChunks <= 2)
        #expect(iterator.peakOutstandingChunks <= 2)

        // Cancelling stops the workers early.
        let stopped = try makeLoader(SyntheticSource(count: 800), workers: 2, batchSize: 4).makeIterator(epoch: 0)
        _ = try stopped.next()
        stopped.cancel()
        #expect(try stopped.next() == nil)
    }

    @Test func fashionMNISTFastPathMatchesTheGenericPipeline() throws {
        let dataset = try FashionMNIST(split: .test)
        let captions = FashionMNISTSampleSource.classCaptions(dataset, templates: ["a photo of a {}.", "a picture of a {}, a kind of clothing."])
        #expect(captions[0] == ["a photo of a \(dataset.className(at: 0).lowercased()).", "a picture of a \(dataset.className(at: 0).lowercased()), a kind of clothing."])
        let source = try FashionMNISTSampleSource(dataset: dataset, captions: captions, size: 32)
        let generic = ImagePipeline([Resize(width: 32, height: 32, filter: .bilinear), Normalize.openAI])
        var out = [Float](repeating: 0, count: 3 * 32 * 32)
        for index in [0, 1, 777] {
            var generator = RandomGenerator(seed: 0)
            try out.withUnsafeMutableBufferPointer { try source.writeImage(at: index, generator: &generator, into: $0.baseAddress!) }
            let gray = Array(dataset.image(at: index))
            let rgb = RGBImage(width: 28, height: 28, pixels: gray.flatMap { [$0, $0, $0] })
            let expected = generic.apply(.rgb8(rgb), generator: &generator).pixels
            let worst = zip(out, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "image \(index): max difference \(worst)")
        }
        #expect(throws: DataError.self) { try FashionMNISTSampleSource(dataset: dataset, captions: [], size: 32) }

        let loader = try ImageTextLoader(
            source: source, tokenizer: tokenizer(), text: .laclip(LaCLIPTextSampler(rewriteCount: 1, seed: 2)),
            configuration: LoaderConfiguration(batchSize: 128, seed: 3, workers: 2))
        let iterator = try loader.makeIterator(epoch: 0)
        let batch = try #require(try iterator.next())
        #expect(batch.images.shape == [128, 3, 32, 32])
        #expect(batch.tokens.shape == [128, 77])
        #expect(loader.batchesPerEpoch == 10_000 / 128)
        iterator.cancel()
    }
}

/// Data-parallel shards: S loaders with batch B together read exactly the batches of one loader with batch B·S
/// (same samples, images and LaCLIP caption draws), each shard its own block of every global batch.
@Suite struct LoaderShardTests {
    @Test func shardsTogetherReadTheGlobalBatches() throws {
        let source = SyntheticSource(count: 103)
        let whole = try makeLoader(source, workers: 1, batchSize: 12)
        for epoch in 0..<2 {
            let global = try readAll(whole.makeIterator(epoch: epoch))
            let shards = try (0..<3).map { index in
                let loader = try ImageTextLoader(
                    source: source, tokenizer: tokenizer(), text: .laclip(LaCLIPTextSampler(rewriteCount: 2, seed: 5)),
                    configuration: LoaderConfiguration(batchSize: 4, seed: 11, workers: 1, contextLength: 16, warnsOnSkip: false),
                    shard: LoaderShard(index: index, count: 3))
                #expect(loader.samplesPerEpoch == 8 * 4)
                #expect(loader.batchesPerEpoch == 8)
                return try readAll(loader.makeIterator(epoch: epoch))
            }
            #expect(global.count == 8)
            for (k, batch) in global.enumerated() {
                let parts = shards.map { $0[k] }
                #expect(parts.flatMap(\.indices) == batch.indices)
                #expect(parts.flatMap(\.images) == batch.images)
                // Tokens are [V·B, L] per batch; with one version the rows concatenate in shard order.
                #expect(parts.flatMap(\.tokens) == batch.tokens)
            }
        }
    }

    @Test func aShardThatDoesNotExistIsAnError() throws {
        #expect(throws: DataError.self) {
            try ImageTextLoader(
                source: SyntheticSource(count: 10), tokenizer: tokenizer(),
                configuration: LoaderConfiguration(batchSize: 2), shard: LoaderShard(index: 2, count: 2))
        }
    }
}
