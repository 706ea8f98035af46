// LoaderRatios: images/s of LaData's ImageTextLoader with 1 and 2 worker threads, on
//   1. the Fashion-MNIST in-memory pipeline (batch 128, 28x28 -> 32x32 bilinear, 3 channels, CLIP normalisation,
//      LaCLIP caption sampling over class-name captions and 3 rewrites, tokenization to [128, 77]);
//   2. the JPEG pipeline on ../shared/data/coco/mini (51 COCO images, listed repeatedly; decode with libjpeg-turbo,
//      RandomResizedCrop(scale 0.5...1, bicubic) to 32 or 224, horizontal flip, CLIP normalisation, LaCLIP sampling
//      over the 5 captions, tokenization), with a full decode (the default, torchvision's decode + resize) and with
//      draft decoding (`ImagePipeline.train(..., draftDecoding: true)`: libjpeg-turbo's DCT-domain downscaling by the
//      smallest N/8 that keeps the drawn crop >= the output size, like PIL's `Image.draft`),
// and the ratio to what one `tiny` CLIP training step consumes: batch 128 per step. The step time is measured here
// (median of --train-steps steps after --train-warmup: `CLIP<Float>(configuration: .tiny)`, random [128, 3, 32, 32]
// images and [128, 32] token ids, zero grads, encodeImage/encodeText, clipLoss, backward, AdamW, logit-scale clamp,
// as in TrainStepRatios' CLIP step) unless --step-seconds S gives it. Target: >= 10x.
//
//   LoaderRatios [--batches N] [--jpeg-batches N] [--warmup N] [--step-seconds S] [--train-steps N]
//                [--train-warmup N] [--data PATH] [--vocab PATH] [--markdown]
import BenchmarkSupport
import Foundation
import LaCLIP
import LaData
import LaNN
import LaTensor

let benchmarksFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let shared = benchmarksFolder.deletingLastPathComponent().appendingPathComponent("../shared/data").standardizedFileURL

var batches = 40
var jpegBatches = 6
var warmup = 2
var givenStepSeconds: Double?
var trainSteps = 3
var trainWarmup = 1
var dataPath = shared.path
var vocabPath = ProcessInfo.processInfo.environment["LACLIP_BPE_VOCAB"]
    ?? shared.appendingPathComponent("clip/bpe_simple_vocab_16e6.txt.gz").path
var markdown = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--batches": batches = max(1, Int(arguments.next() ?? "") ?? batches)
    case "--jpeg-batches": jpegBatches = max(1, Int(arguments.next() ?? "") ?? jpegBatches)
    case "--warmup": warmup = max(0, Int(arguments.next() ?? "") ?? warmup)
    case "--step-seconds": givenStepSeconds = Double(arguments.next() ?? "").flatMap { $0 > 0 ? $0 : nil }
    case "--train-steps": trainSteps = max(1, Int(arguments.next() ?? "") ?? trainSteps)
    case "--train-warmup": trainWarmup = max(0, Int(arguments.next() ?? "") ?? trainWarmup)
    case "--data": dataPath = arguments.next() ?? dataPath
    case "--vocab": vocabPath = arguments.next() ?? vocabPath
    case "--markdown": markdown = true
    default:
        print("usage: LoaderRatios [--batches N] [--jpeg-batches N] [--warmup N] [--step-seconds S] [--train-steps N] "
            + "[--train-warmup N] [--data PATH] [--vocab PATH] [--markdown]")
        exit(argument == "-h" || argument == "--help" ? 0 : 2)
    }
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func fail(_ error: any Error) -> Never {
    print("LoaderRatios: \(error)")
    exit(1)
}

let batchSize = 128
let tokenizer: BPETokenizer
do { tokenizer = try BPETokenizer(vocabularyURL: URL(fileURLWithPath: vocabPath)) } catch { fail(error) }

/// Images/s over `count` batches after `warmup` batches (the first batches also wait for the workers to start).
func measure(_ loader: ImageTextLoader, count: Int, warmup: Int) throws -> Double {
    let iterator = try loader.makeIterator(epoch: 0)
    for _ in 0..<warmup { _ = try iterator.next() }
    let start = now()
    var images = 0
    for _ in 0..<count {
        guard let batch = try iterator.next() else { break }
        images += batch.count
    }
    let seconds = now() - start
    iterator.cancel()
    return Double(images) / seconds
}

struct Row {
    var name: String
    var workers: Int
    var rate: Double
}
var rows: [Row] = []

// 1. Fashion-MNIST, in memory.
do {
    let start = now()
    let fashion = try FashionMNIST(split: .train)
    let templates = ["a photo of a {}.", "a black and white photo of a {}.", "a small grayscale picture of a {}, a piece of clothing.",
                     "a low resolution image showing a {}."]
    let captions = FashionMNISTSampleSource.classCaptions(fashion, templates: templates)
    let source = try FashionMNISTSampleSource(dataset: fashion, captions: captions, size: 32)
    print("Fashion-MNIST train: \(fashion.count) images loaded in \(String(format: "%.2f", now() - start)) s")
    for workers in [1, 2] {
        let loader = try ImageTextLoader(
            source: source, tokenizer: tokenizer, text: .laclip(LaCLIPTextSampler(rewriteCount: templates.count - 1, seed: 1)),
            configuration: LoaderConfiguration(batchSize: batchSize, seed: 1, workers: workers))
        rows.append(Row(name: "Fashion-MNIST in memory, 32x32, LaCLIP text sampling + tokenize", workers: workers,
                        rate: try measure(loader, count: batches, warmup: warmup)))
    }
} catch { fail(error) }

// 2. JPEG pipeline on coco/mini, full and draft decoding.
do {
    let mini = try COCOMiniDataset(directory: dataPath + "/coco/mini")
    let base = try mini.allSamples()
    let repeats = ((warmup + jpegBatches) * batchSize + base.count - 1) / base.count
    let samples = (0..<repeats).flatMap { _ in base }
    let dataset = SampleArrayDataset(samples: samples, name: "coco/mini x\(repeats)")
    let rewrites = base.map { $0.captions.count }.min()! - 1
    // Where the time goes: decoding alone, then decoding + the image pipeline, one thread, no loader.
    let files = try base.map { sample -> [UInt8] in
        guard let path = sample.image.path else { throw DataError(.unsupported, file: sample.image.name, "not a file") }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
    var generator = RandomGenerator(seed: 0)
    let pipeline32 = ImagePipeline.train(size: 32, horizontalFlip: true)
    let pipeline224 = ImagePipeline.train(size: 224, horizontalFlip: true)
    var decoded: [RGBImage] = []
    var start = now()
    for (sample, bytes) in zip(base, files) { decoded.append(try ImageDecoder.decode(bytes: bytes, name: sample.image.name)) }
    let decodeRate = Double(base.count) / (now() - start)
    start = now()
    for (sample, bytes) in zip(base, files) {
        _ = try ImageDecoder.decode(bytes: bytes, name: sample.image.name, minimumWidth: 1, minimumHeight: 1)
    }
    let eighthRate = Double(base.count) / (now() - start)
    start = now()
    for image in decoded { _ = pipeline32.apply(.rgb8(image), generator: &generator) }
    let crop32Rate = Double(base.count) / (now() - start)
    start = now()
    for image in decoded { _ = pipeline224.apply(.rgb8(image), generator: &generator) }
    let crop224Rate = Double(base.count) / (now() - start)
    let pixels = decoded.map { Double($0.width * $0.height) }.reduce(0, +) / Double(decoded.count)
    print("coco/mini, one thread, no loader: JPEG decode alone \(String(format: "%.0f", decodeRate)) images/s "
        + "(mean \(String(format: "%.0f", pixels / 1000)) kpixels), at 1/8 (DCT scaling) \(String(format: "%.0f", eighthRate)) images/s; "
        + "RandomResizedCrop+flip+normalise alone: "
        + "\(String(format: "%.0f", crop32Rate)) images/s at 32, \(String(format: "%.0f", crop224Rate)) images/s at 224")
    // Decode + pipeline from the in-memory bytes, full against draft (two passes over the 51 images each).
    var endToEnd: [String] = []
    for size in [32, 224] {
        for draft in [false, true] {
            let pipeline = ImagePipeline.train(size: size, horizontalFlip: true, draftDecoding: draft)
            start = now()
            for _ in 0..<2 {
                for (sample, bytes) in zip(base, files) {
                    _ = try pipeline.apply(bytes: bytes, name: sample.image.name, generator: &generator)
                }
            }
            endToEnd.append("\(size) \(draft ? "draft" : "full") \(String(format: "%.0f", Double(2 * base.count) / (now() - start)))")
        }
    }
    print("coco/mini, one thread, no loader: decode + RandomResizedCrop+flip+normalise, images/s: " + endToEnd.joined(separator: ", "))
    for size in [32, 224] {
        for draft in [false, true] {
            for workers in [1, 2] {
                let loader = try ImageTextLoader(
                    dataset: dataset, pipeline: .train(size: size, horizontalFlip: true, draftDecoding: draft), imageSize: size,
                    tokenizer: tokenizer, text: .laclip(LaCLIPTextSampler(rewriteCount: rewrites, seed: 1)),
                    configuration: LoaderConfiguration(batchSize: batchSize, seed: 1, workers: workers))
                let decoding = draft ? "draft decode (DCT N/8)" : "full decode"
                rows.append(Row(name: "COCO mini JPEG \(decoding) + RandomResizedCrop \(size) + flip + normalise + tokenize",
                                workers: workers, rate: try measure(loader, count: jpegBatches, warmup: warmup)))
            }
        }
    }
} catch { fail(error) }

// 3. One `tiny` CLIP training step at batch 128 (the CLIP step of TrainStepRatios), unless --step-seconds is given.


/// Wall times (seconds) of `steps` `CLIPTrainer` steps after `warmup` untimed ones.
func tinyStepTimes(warmup: Int, steps: Int) -> [Double] {
    let configuration = CLIPConfiguration.tiny
    let trainer = try! CLIPTrainer(
        model: CLIP<Float>(configuration: configuration, seed: 7),
        configuration: TrainerConfiguration(learningRate: 5e-4, weightDecay: 0.1, totalSteps: 1 << 30, schedule: .constant))
    var generator = RandomGenerator(seed: 24)
    let side = configuration.vision.imageSize, context = configuration.text.contextLength
    var times: [Double] = []
    for step in 0..<(warmup + steps) {
        let images = Tensor<Float>.randn([batchSize, 3, side, side], generator: &generator)
        let tokens = randomTokenRows(rows: batchSize, context: context, generator: &generator)
        let batch = ImageTextBatch(images: images, tokens: tokens, textVersions: 1, sampleIndices: Array(0..<batchSize), epoch: 0, index: step)
        let start = now()
        let metrics: StepMetrics
        do { metrics = try trainer.step(batch) } catch { fail(error) }
        let seconds = now() - start
        if step >= warmup { times.append(seconds) }
        FileHandle.standardError.write(Data("LoaderRatios: tiny step \(step + 1)/\(warmup + steps): \(String(format: "%.2f", seconds)) s, loss \(metrics.loss)\n".utf8))
    }
    return times
}

let stepSeconds: Double
let stepSource: String
if let givenStepSeconds {
    stepSeconds = givenStepSeconds
    stepSource = "given by --step-seconds"
} else {
    let times = tinyStepTimes(warmup: trainWarmup, steps: trainSteps).sorted()
    stepSeconds = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    stepSource = "measured: median of \(trainSteps) after \(trainWarmup) warm-up, CLIPTrainer.step on CLIP<Float>(.tiny): clipLoss, backward, AdamW; steps "
        + times.map { String(format: "%.2f", $0) }.joined(separator: " / ") + " s"
}

let consumed = Double(batchSize) / stepSeconds
var load = [Double](repeating: 0, count: 3)
getloadavg(&load, 3)
print("LoaderRatios: batch \(batchSize), \(batches) Fashion-MNIST / \(jpegBatches) JPEG batches timed after \(warmup) warm-up batches; "
    + "\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(String(format: "%.2f", load[0]))")
print("tiny training step: \(String(format: "%.2f", stepSeconds)) s per batch of \(batchSize) (\(stepSource)) = "
    + "\(String(format: "%.1f", consumed)) images/s consumed; target: loader >= 10x = \(String(format: "%.0f", 10 * consumed)) images/s")
if markdown {
    print("| pipeline | workers | images/s | / tiny step | ≥ 10× |")
    print("| --- | --- | --- | --- | --- |")
} else {
    print("pipeline".padding(toLength: 96, withPad: " ", startingAt: 0) + " workers   images/s  / tiny step")
}
for row in rows {
    let ratio = row.rate / consumed
    if markdown {
        print("| \(row.name) | \(row.workers) | \(String(format: "%.0f", row.rate)) | \(String(format: "%.1f", ratio)) | \(ratio >= 10 ? "yes" : "**no**") |")
    } else {
        print(row.name.padding(toLength: 96, withPad: " ", startingAt: 0)
            + String(format: " %7d %10.0f %11.1f", row.workers, row.rate, ratio) + (ratio >= 10 ? "" : "  (below 10x)"))
    }
}
