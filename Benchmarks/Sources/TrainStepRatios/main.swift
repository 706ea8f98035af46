// TrainStepRatios: one training step (zero grads, forward, backward, AdamW, logit-scale clamp) of the `tiny` CLIP
// preset, self-timed in one process, at batch 64 and 128, for
//   - CLIP: random images [B, 3, 32, 32], random token ids [B, 32] (start token, random ids, an end-of-text token
//     49407 at a random position, zeros after it), `clipLoss`;
//   - LaCLIP: the same, but the texts are drawn per sample by `LaCLIPTextSampler.sample` from 1 original + 3
//     rewrites (COCO val2017 captions, grouped by image) and tokenized in the step by LaData's `BPETokenizer`
//     (pre-tokenized random rows when the vocabulary is missing); the CLIP and LaCLIP steps alternate on one model
//     so that a change in machine load hits both, and LaCLIP / CLIP must stay within noise of 1;
//   - LaCLIP-MT: all 4 versions of every caption through the text tower in one [4B, 32] batch,
//     `multiTextCLIPLoss`;
// with, in one table (plain or --markdown), per step and batch:
//   - median ms/step after warm-up and images/s;
//   - the step's FLOP rate: the useful FLOPs of one step, counted from the model's configuration
//     (`CLIPConfiguration.tiny` through BenchmarkSupport's `CLIPStepGEMMs`: every forward GEMM at 2·M·N·K — patch
//     embedding, QKV and output projections, per-head Q·Kᵀ and P·V, MLP, final projections, B×B logits — and
//     backward = 2× forward; see GEMMAccounting.swift), over the median step time, in GFLOP/s; beside it the rate
//     of raw `Float.gemm` (LaTensor's GEMM or cblas_sgemm, see GEMM.description) on the same list of GEMMs (forward and both backward products of each, the
//     per-head attention GEMMs as many small calls, each shape as often as the step runs it), timed in the same run
//     right after the configuration's steps, and the step's rate as a percentage of it;
//   - memory: the RSS right after the model and its trainer are built (the baseline; LaTensor's storage cache and
//     glibc's free arena pages are handed back first), the peak RSS (VmHWM of /proc/self/status, reset through
//     /proc/self/clear_refs right after the baseline) and peak minus baseline;
//   - minor page faults per timed step (getrusage ru_minflt over the timed part of each step) and the RSS growth
//     from the first to the last timed step;
//   - inference (per batch, on the CLIP row): `encodeImage` on B images and `encodeText` on B token rows under
//     `withNoGrad` (no tape, as LaCLIP's evaluation runs them), one warm-up call each, then the median of
//     --inference-reps calls: images/s and texts/s.
// PyTorch's figures for the same step (open_clip `CLIP`, `ClipLoss`, AdamW, fp32, 2 threads: ms/step, baseline and
// peak RSS measured the same way, and encode_image / encode_text under torch.no_grad() in eval mode) come from
// Scripts/torch_train_step.py, run as a subprocess with the Python of LACLIP_REFERENCE_PYTHON or --python, right
// after the Swift steps of each batch; the table prints Swift / PyTorch step time and Swift / PyTorch inference
// throughput.
//
//   TrainStepRatios [--warmup N] [--steps N] [--steps-128 N] [--batches 64,128] [--torch-warmup N]
//                   [--inference-reps N] [--sgemm-reps N] [--sgemm-detail] [--python PATH] [--torch-script PATH]
//                   [--no-torch] [--captions PATH] [--vocab PATH] [--markdown]
// (--sgemm-detail adds a table of the sgemm reference per GEMM shape: calls, ms per step, GFLOP/s.)
import BenchmarkSupport
import Foundation
import LaCLIP
import LaData
import LaNN
import LaTensor

struct Options {
    var warmup = 3
    var steps = 7  // timed steps at batch <= 64
    var largeSteps = 5  // timed steps at larger batches
    var batches = [64, 128]
    var torchWarmup: Int?
    var inferenceReps = 5  // timed encodeImage / encodeText calls per batch (0: no inference)
    var sgemmReps = 3  // timed passes over the step's GEMM list per batch and text count
    var sgemmDetail = false  // print the sgemm reference per GEMM shape
    var python = ProcessInfo.processInfo.environment["LACLIP_REFERENCE_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    var torchScript: String?
    var torch = true
    var captions: String?
    var vocab: String?
    var markdown = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        func number(_ flag: String, minimum: Int = 1) -> Int {
            guard let text = iterator.next(), let value = Int(text), value >= minimum else {
                fatalError("TrainStepRatios: \(flag) needs an integer >= \(minimum)")
            }
            return value
        }
        func text(_ flag: String) -> String {
            guard let value = iterator.next() else { fatalError("TrainStepRatios: \(flag) needs a value") }
            return value
        }
        while let argument = iterator.next() {
            switch argument {
            case "--warmup": warmup = number(argument, minimum: 0)
            case "--steps": steps = number(argument)
            case "--steps-128": largeSteps = number(argument)
            case "--batches":
                batches = text(argument).split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
                if batches.isEmpty { fatalError("TrainStepRatios: --batches needs positive integers, e.g. 64,128") }
            case "--torch-warmup": torchWarmup = number(argument, minimum: 0)
            case "--inference-reps": inferenceReps = number(argument, minimum: 0)
            case "--sgemm-reps": sgemmReps = number(argument)
            case "--sgemm-detail": sgemmDetail = true
            case "--python": python = text(argument)
            case "--torch-script": torchScript = text(argument)
            case "--no-torch": torch = false
            case "--captions": captions = text(argument)
            case "--vocab": vocab = text(argument)
            case "--markdown": markdown = true
            case "-h", "--help":
                print("""
                    usage: TrainStepRatios [--warmup N] [--steps N] [--steps-128 N] [--batches 64,128] [--torch-warmup N]
                                           [--inference-reps N] [--sgemm-reps N] [--sgemm-detail] [--python PATH]
                                           [--torch-script PATH] [--no-torch] [--captions PATH] [--vocab PATH] [--markdown]
                    --steps: timed steps at batch <= 64 (7); --steps-128: at larger batches (5); --warmup: untimed
                    steps before them (3). --inference-reps: timed encodeImage / encodeText calls per batch (5; 0
                    skips inference); --sgemm-reps: timed passes over the step's GEMMs in raw sgemm (3);
                    --sgemm-detail: also print that reference per GEMM shape. The PyTorch reference runs with --python
                    or LACLIP_REFERENCE_PYTHON.
                    """)
                exit(0)
            // ratios.sh passes its options to every executable; ignore the other executables' ones.
            case "--matmul-reps", "--bandwidth-reps", "--reps": _ = iterator.next()
            default: fatalError("TrainStepRatios: unknown argument \(argument)")
            }
        }
    }

    func timedSteps(batch: Int) -> Int { batch <= 64 ? steps : largeSteps }
}

// MARK: - Helpers

let benchmarksFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let sharedData = benchmarksFolder.deletingLastPathComponent().appendingPathComponent("../shared/data").standardizedFileURL

func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

// MARK: - Model and its GEMMs

/// The model every step trains (LaCLIP's `tiny` preset); the FLOP accounting reads its shape from here.
let configuration = CLIPConfiguration.tiny

/// The GEMMs of one training step of `configuration` at `batch` images with `textVersions` texts each:
/// LaCLIP's configuration mapped onto BenchmarkSupport's accounting (the towers' token counts, widths, layers, heads,
/// MLP widths and projections as `CLIP<Float>(configuration:)` builds them).
func stepGEMMs(batch: Int, textVersions: Int) -> CLIPStepGEMMs {
    let vision = configuration.vision, text = configuration.text
    let patches = vision.gridSize * vision.gridSize
    return CLIPStepGEMMs(
        vision: TowerShape(
            name: "vision", sequences: batch, tokens: patches + 1, width: vision.width, layers: vision.layers,
            heads: vision.heads, mlpWidth: Int(Double(vision.width) * vision.mlpRatio),
            projection: configuration.embedDimension, patches: patches,
            patchFeatures: 3 * vision.patchSize * vision.patchSize),
        text: TowerShape(
            name: "text", sequences: batch * textVersions, tokens: text.contextLength, width: text.width,
            layers: text.layers, heads: text.heads, mlpWidth: Int(Double(text.width) * text.mlpRatio),
            projection: configuration.embedDimension),
        embedDimension: configuration.embedDimension)
}

// MARK: - Captions: 1 original + 3 rewrites per sample

let versions = 4  // the original and M = 3 rewrites
let contextLength = configuration.text.contextLength
let endOfText = 49407, startOfText = 49406

/// COCO val2017 captions grouped by image: the first caption is the "original", the next three the "rewrites"
/// (real caption lengths and words, so the sampler and the tokenizer do real work).
func loadCaptionGroups(path: String) -> [[String]]? {
    guard let bytes = try? Gzip.readAll(path: path) else { return nil }
    var groups: [String: [String]] = [:]
    var order: [String] = []
    for line in bytes.split(separator: 0x0A) {
        let fields = line.split(separator: 0x09, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3 else { continue }
        let image = String(decoding: fields[0], as: UTF8.self)
        if groups[image] == nil { order.append(image) }
        groups[image, default: []].append(String(decoding: fields[2], as: UTF8.self))
    }
    let result = order.compactMap { groups[$0] }.filter { $0.count >= versions }.map { Array($0.prefix(versions)) }
    return result.isEmpty ? nil : result
}

/// Random token rows of the step's context length (BenchmarkSupport's `randomTokenRows`).
func randomTokens(rows: Int, generator: inout RandomGenerator) -> Tensor<Int> {
    randomTokenRows(rows: rows, context: contextLength, generator: &generator)
}

/// Where the texts of the LaCLIP and LaCLIP-MT steps come from.
final class TextSource {
    let groups: [[String]]
    let tokenizer: BPETokenizer?
    /// Without a tokenizer: one random token row per (group, version), looked up instead of tokenizing.
    let pretokenized: [[Int]]
    let description: String

    init(options: Options) {
        let captionPath = options.captions ?? sharedData.appendingPathComponent("coco/coco_val2017_captions.tsv.gz").path
        var notes: [String] = []
        if let loaded = loadCaptionGroups(path: captionPath) {
            groups = loaded
            notes.append("\(loaded.count) COCO val2017 images × 4 captions (1 original + 3 rewrites)")
        } else {
            // Synthetic captions of typical length when the COCO file is missing.
            groups = (0..<1024).map { i in
                (0..<versions).map { v in "a photo number \(i) of a small dog playing with a red ball, version \(v)" }
            }
            notes.append("synthetic captions (\(captionPath) not readable)")
        }
        var tokenizer: BPETokenizer?
        do {
            if let path = options.vocab {
                tokenizer = try BPETokenizer(vocabularyURL: URL(fileURLWithPath: path))
            } else {
                let packaged = sharedData.appendingPathComponent("clip/\(BPETokenizer.vocabularyFileName)")
                tokenizer = FileManager.default.fileExists(atPath: packaged.path)
                    ? try BPETokenizer(vocabularyURL: packaged) : try BPETokenizer.loadDefault()
            }
        } catch {
            notes.append("no BPE vocabulary (\(error)): pre-tokenized random rows instead")
        }
        self.tokenizer = tokenizer
        if tokenizer == nil {
            var generator = RandomGenerator(seed: 99)
            let rows = randomTokens(rows: groups.count * versions, generator: &generator).scalars
            pretokenized = (0..<(groups.count * versions)).map { Array(rows[($0 * contextLength)..<(($0 + 1) * contextLength)]) }
        } else {
            pretokenized = []
            notes.append("tokenized in the step by LaData's BPETokenizer (context \(contextLength))")
        }
        description = notes.joined(separator: "; ")
    }

    /// Token rows of `texts`; `keys` are (group, version) for the pre-tokenized fallback.
    func tokens(_ texts: [String], keys: [(group: Int, version: Int)]) -> Tensor<Int> {
        if let tokenizer { return tokenizer.tokenize(texts, contextLength: contextLength) }
        return Tensor<Int>(keys.flatMap { pretokenized[$0.group * versions + $0.version] }, shape: [keys.count, contextLength])
    }
}

// MARK: - Workloads

enum StepKind: String, CaseIterable {
    case clip = "CLIP"
    case laclip = "LaCLIP"
    case multiText = "LaCLIP-MT (4 texts)"

    /// Texts per image through the text tower.
    var textVersions: Int { self == .multiText ? versions : 1 }
}

/// What one step reports: its wall time, its loss and the minor page faults of its timed part.
struct StepOutcome {
    var seconds: Double
    var loss: Float
    var faults: Int
}

/// One model with its `CLIPTrainer` (AdamW, lr 5e-4, wd 0.1, constant schedule) and the step of each kind: the
/// texts are drawn and tokenized as a loader would, then `CLIPTrainer.step` runs the step the library ships.
final class TrainStep {
    let batch: Int
    let model: CLIP<Float>
    let trainer: CLIPTrainer
    let sampler: LaCLIPTextSampler
    let multiText: MultiTextSampler
    let texts: TextSource
    var generator: RandomGenerator
    var stepIndex = 0
    /// Time spent drawing and tokenizing texts in the last LaCLIP or LaCLIP-MT step (seconds).
    var lastTextSeconds = 0.0

    init(batch: Int, texts: TextSource, seed: UInt64) {
        self.batch = batch
        self.texts = texts
        model = CLIP<Float>(configuration: configuration, seed: seed)
        trainer = try! CLIPTrainer(
            model: model, configuration: TrainerConfiguration(learningRate: 5e-4, weightDecay: 0.1, totalSteps: 1 << 30, schedule: .constant))
        sampler = try! LaCLIPTextSampler(rewriteCount: versions - 1, seed: seed)
        multiText = try! MultiTextSampler(rewriteCount: versions - 1)
        generator = RandomGenerator(seed: seed &+ 17)
    }

    /// One step; returns its wall time in seconds, the loss and the minor page faults between the same two clock reads.
    func run(_ kind: StepKind) -> StepOutcome {
        // Inputs that a data loader would hand over: random pixels, and for CLIP random token ids.
        let images = Tensor<Float>.randn([batch, 3, 32, 32], generator: &generator)
        let randomIDs = kind == .clip ? randomTokens(rows: batch, generator: &generator) : nil
        let first = (stepIndex * batch) % texts.groups.count
        let indices = (0..<batch).map { (first + $0) % texts.groups.count }
        let epoch = stepIndex
        stepIndex += 1

        let startFaults = minorFaults()
        let start = monotonicNanoseconds()
        let tokens: Tensor<Int>
        var textVersions = 1
        switch kind {
        case .clip:
            tokens = randomIDs!
        case .laclip:
            let textStart = monotonicNanoseconds()
            var keys: [(group: Int, version: Int)] = []
            keys.reserveCapacity(batch)
            let chosen = indices.map { group -> String in
                let captions = texts.groups[group]
                let draw = try! sampler.draw(original: captions[0], rewrites: Array(captions[1...]), index: group, epoch: epoch)
                keys.append((group, draw.fellBack ? 0 : draw.version))
                return draw.text
            }
            tokens = texts.tokens(chosen, keys: keys)
            lastTextSeconds = Double(monotonicNanoseconds() - textStart) / 1e9
        case .multiText:
            let textStart = monotonicNanoseconds()
            let byVersion = try! multiText.batch(
                originals: indices.map { texts.groups[$0][0] }, rewrites: indices.map { Array(texts.groups[$0][1...]) },
                firstIndex: first)
            let keys = (0..<versions).flatMap { v in indices.map { (group: $0, version: v) } }
            tokens = texts.tokens(byVersion.flatMap { $0 }, keys: keys)  // [4B, 32], version-major
            lastTextSeconds = Double(monotonicNanoseconds() - textStart) / 1e9
            textVersions = versions
        }
        let step = ImageTextBatch(images: images, tokens: tokens, textVersions: textVersions, sampleIndices: indices, epoch: epoch, index: 0)
        let metrics = try! trainer.step(step)
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        return StepOutcome(seconds: seconds, loss: Float(metrics.loss), faults: minorFaults() - startFaults)
    }
}

/// The timed steps of one step kind in one configuration.
struct Measurement {
    var times: [Double] = []
    var textTimes: [Double] = []
    var losses: [Float] = []
    /// Minor page faults of each timed step.
    var faults: [Int] = []
    /// RSS right after each timed step.
    var residentAfterStep: [Int] = []
    /// RSS right after the model and its trainer were built.
    var baselineRSS = 0
    var peakRSS = 0

    /// Mean minor page faults per timed step.
    var faultsPerStep: Double { faults.isEmpty ? 0 : Double(faults.reduce(0, +)) / Double(faults.count) }
    /// RSS after the last timed step minus RSS after the first.
    var residentGrowth: Int { (residentAfterStep.last ?? 0) - (residentAfterStep.first ?? 0) }
}

/// Builds one configuration's model and trainer after handing freed memory back to the system (LaTensor's storage
/// cache, glibc's free arena pages), so the RSS read right after is this model's baseline, not the last one's leftovers.
func buildWorkload(batch: Int, texts: TextSource) -> (workload: TrainStep, baselineRSS: Int) {
    releaseFreedMemory()
    let workload = TrainStep(batch: batch, texts: texts, seed: 7)
    return (workload, residentBytes())
}

/// Runs the warm-up and timed steps of one configuration; CLIP and LaCLIP alternate on one model (which goes
/// first alternates too), so step i of CLIP and step i of LaCLIP are neighbours in time. The peak RSS is reset
/// first, so it covers this configuration's steps only.
func runConfiguration(
    _ workload: TrainStep, baselineRSS: Int, kinds: [StepKind], warmup: Int, steps: Int,
    into results: inout [StepKind: Measurement]
) {
    resetPeakResidentBytes()
    for _ in 0..<warmup { for kind in kinds { _ = workload.run(kind) } }
    for step in 0..<steps {
        for kind in step % 2 == 0 ? kinds : kinds.reversed() {
            let outcome = workload.run(kind)
            var m = results[kind, default: Measurement()]
            m.times.append(outcome.seconds)
            m.losses.append(outcome.loss)
            m.faults.append(outcome.faults)
            m.residentAfterStep.append(residentBytes())
            if kind != .clip { m.textTimes.append(workload.lastTextSeconds) }
            results[kind] = m
        }
    }
    let peak = statusBytes("VmHWM") ?? 0
    for kind in kinds {
        results[kind]!.peakRSS = max(results[kind]!.peakRSS, peak)
        results[kind]!.baselineRSS = baselineRSS
    }
}

// MARK: - Inference and the sgemm reference

/// Median seconds per call of the two encoders.
struct InferenceTimes {
    var imageSeconds: Double
    var textSeconds: Double
}

/// `encodeImage` on `batch` random images and `encodeText` on `batch` random token rows, both normalised, without the
/// tape (`withNoGrad`, as LaCLIP's evaluation encodes): one warm-up call each, then `repetitions` calls of each,
/// alternating; the medians.
func measureInference(_ model: CLIP<Float>, batch: Int, repetitions: Int) -> InferenceTimes {
    var generator = RandomGenerator(seed: 23)
    let size = configuration.vision.imageSize
    let images = Tensor<Float>.randn([batch, 3, size, size], generator: &generator)
    let tokens = randomTokens(rows: batch, generator: &generator)
    func seconds(_ encode: () -> Tensor<Float>) -> Double {
        let start = monotonicNanoseconds()
        let features = encode()
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        Sink.shared.consume(firstElement(features))
        return elapsed
    }
    let image = { withNoGrad { model.encodeImage(images, normalize: true).value } }
    let text = { withNoGrad { model.encodeText(tokens, normalize: true).value } }
    _ = seconds(image)
    _ = seconds(text)
    var imageTimes: [Double] = [], textTimes: [Double] = []
    for _ in 0..<repetitions {
        imageTimes.append(seconds(image))
        textTimes.append(seconds(text))
    }
    return InferenceTimes(imageSeconds: median(imageTimes), textSeconds: median(textTimes))
}

/// The raw-sgemm rate on the GEMMs of one step with `textVersions` texts per image (BenchmarkSupport's
/// `GEMMReference`: one untimed pass, then the median of `repetitions` passes per shape).
func measureSgemm(batch: Int, textVersions: Int, repetitions: Int) -> GEMMRate {
    let reference = GEMMReference(shapes: stepGEMMs(batch: batch, textVersions: textVersions).step)
    return reference.measure(warmup: 1, repetitions: repetitions)
}

// MARK: - PyTorch reference

struct TorchRow {
    var medianMS: Double
    var peakRSS: Int?
    /// RSS right after the model and the optimizer were built (nil from an older script).
    var baselineRSS: Int?
}

/// encode_image / encode_text under torch.no_grad() at the step's batch.
struct TorchInference {
    var imagesPerSecond: Double
    var textsPerSecond: Double
}

struct TorchResult {
    var rows: [String: TorchRow] = [:]  // "clip-64", "multitext-128"
    var inference: [Int: TorchInference] = [:]  // by batch
    var note: String
}

func defaultTorchScript() -> String {
    let packaged = benchmarksFolder.appendingPathComponent("Scripts/torch_train_step.py").path
    return FileManager.default.fileExists(atPath: packaged) ? packaged : "Scripts/torch_train_step.py"
}

func runTorch(_ options: Options, batch: Int, threads: Int) -> TorchResult {
    guard options.torch else { return TorchResult(note: "skipped (--no-torch)") }
    guard let python = options.python else {
        return TorchResult(note: "torch not available (set LACLIP_REFERENCE_PYTHON or --python to a Python with torch + open_clip)")
    }
    let script = options.torchScript ?? defaultTorchScript()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [
        script, "--batches", "\(batch)", "--threads", "\(threads)",
        "--warmup", "\(options.torchWarmup ?? options.warmup)", "--steps", "\(options.steps)",
        "--steps-128", "\(options.largeSteps)", "--inference-reps", "\(options.inferenceReps)",
    ]
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    do { try process.run() } catch {
        return TorchResult(note: "torch not available (cannot run \(python): \(error))")
    }
    // Read stderr on another thread so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var errorData = Data()
    let reader = Thread { errorData = errors.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while reader.isExecuting { usleep(1000) }
    let errorText = String(decoding: errorData, as: UTF8.self)
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    guard let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
        let tail = errorText.split(separator: "\n").suffix(2).joined(separator: " / ")
        return TorchResult(note: "torch not available (\(python) exited \(process.terminationStatus): \(tail))")
    }
    if let error = json["error"] as? String { return TorchResult(note: error) }
    var result = TorchResult(note: "")
    for entry in json["results"] as? [[String: Any]] ?? [] {
        guard let kind = entry["kind"] as? String, let batch = (entry["batch"] as? NSNumber)?.intValue,
            let median = (entry["median_ms"] as? NSNumber)?.doubleValue
        else { continue }
        result.rows["\(kind)-\(batch)"] = TorchRow(
            medianMS: median, peakRSS: (entry["peak_rss_bytes"] as? NSNumber)?.intValue,
            baselineRSS: (entry["baseline_rss_bytes"] as? NSNumber)?.intValue)
        if let inference = entry["inference"] as? [String: Any],
            let images = (inference["images_per_s"] as? NSNumber)?.doubleValue,
            let texts = (inference["texts_per_s"] as? NSNumber)?.doubleValue
        {
            result.inference[batch] = TorchInference(imagesPerSecond: images, textsPerSecond: texts)
        }
    }
    let version = json["torch"] as? String ?? "?", openCLIP = json["open_clip"] as? String ?? "?"
    let torchThreads = (json["threads"] as? NSNumber)?.intValue ?? threads
    result.note = "PyTorch \(version), open_clip \(openCLIP) CLIP + ClipLoss, AdamW, fp32, \(torchThreads) threads, "
        + "median of \(options.steps) (batch <= 64) / \(options.largeSteps) steps after \(options.torchWarmup ?? options.warmup) "
        + "warm-up, random token ids; RSS baseline after model + AdamW construction, peak VmHWM of the steps; inference: "
        + "encode_image / encode_text in eval mode under torch.no_grad() (\((script as NSString).lastPathComponent))"
    return result
}

// MARK: - Main

let options = Options(CommandLine.arguments)
let threads = BenchmarkSettings.configureThreads()
let loads = [loadAverage()]
var loadLog = loads
let texts = TextSource(options: options)
let peakResettable = resetPeakResidentBytes()

var results: [Int: [StepKind: Measurement]] = [:]
var inference: [Int: InferenceTimes] = [:]
var sgemmRates: [Int: [Int: GEMMRate]] = [:]  // batch -> text versions -> rate
var torchResults = TorchResult(note: "")
let totalStart = monotonicNanoseconds()

// Batch by batch: the Swift steps (CLIP and LaCLIP alternating on one model, then inference on that model, then the
// raw-sgemm passes over that step's GEMM list; then LaCLIP-MT on a fresh model and the sgemm passes over its list),
// then PyTorch's run for the same batch right after, so that both sides of a ratio see about the same machine load.
// Each model lives only while its configuration runs and is built on a clean slate (the sgemm buffers are gone by
// then too), so the baseline and peak RSS of a configuration are its own.
for batch in options.batches {
    let steps = options.timedSteps(batch: batch)
    var batchResults: [StepKind: Measurement] = [:]
    do {
        let (pair, baseline) = buildWorkload(batch: batch, texts: texts)
        runConfiguration(pair, baselineRSS: baseline, kinds: [.clip, .laclip], warmup: options.warmup, steps: steps, into: &batchResults)
        if options.inferenceReps > 0 {
            inference[batch] = measureInference(pair.model, batch: batch, repetitions: options.inferenceReps)
        }
    }
    sgemmRates[batch, default: [:]][1] = measureSgemm(batch: batch, textVersions: 1, repetitions: options.sgemmReps)
    do {
        let (multi, baseline) = buildWorkload(batch: batch, texts: texts)
        runConfiguration(multi, baselineRSS: baseline, kinds: [.multiText], warmup: options.warmup, steps: steps, into: &batchResults)
    }
    sgemmRates[batch]![versions] = measureSgemm(batch: batch, textVersions: versions, repetitions: options.sgemmReps)
    results[batch] = batchResults
    loadLog.append(loadAverage())
    FileHandle.standardError.write(Data("TrainStepRatios: batch \(batch), Swift done (load \(loadAverage()))\n".utf8))
    let torch = runTorch(options, batch: batch, threads: threads)
    torchResults.rows.merge(torch.rows) { $1 }
    torchResults.inference.merge(torch.inference) { $1 }
    torchResults.note = torch.note
    loadLog.append(loadAverage())
    FileHandle.standardError.write(Data("TrainStepRatios: batch \(batch), PyTorch done (load \(loadAverage()))\n".utf8))
}
let totalSeconds = Double(monotonicNanoseconds() - totalStart) / 1e9
let torch = torchResults

// MARK: - Tables

/// One table line: Markdown cells, or plain cells padded to `widths`.
func row(_ cells: [String], widths: [Int]) -> String {
    if options.markdown { return "| " + cells.joined(separator: " | ") + " |" }
    return zip(cells, widths).map { cell, width in
        cell.count >= width ? cell : cell + String(repeating: " ", count: width - cell.count)
    }.joined(separator: "  ")
}
func rule(_ widths: [Int]) -> String {
    options.markdown ? "| " + widths.map { _ in "---" }.joined(separator: " | ") + " |"
        : widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
}
/// Prints a header, a rule and the rows, each column as wide as its widest cell.
func printTable(header: [String], rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    print(row(header, widths: widths))
    print(rule(widths))
    for cells in rows { print(row(cells, widths: widths)) }
}
func mib(_ bytes: Int?) -> String { bytes.map { format(Double($0) / 1_048_576, 0) } ?? "-" }
/// A signed MiB figure with one decimal ("+0.4", "-1.2").
func signedMiB(_ bytes: Int) -> String { (bytes >= 0 ? "+" : "") + format(Double(bytes) / 1_048_576, 1) }
/// "peak − baseline" in MiB, or "-" when either is missing.
func overBaseline(peak: Int?, baseline: Int?) -> String {
    guard let peak, let baseline else { return "-" }
    return mib(peak - baseline)
}
func ratio(_ numerator: Double?, _ denominator: Double?, _ digits: Int = 2) -> String {
    guard let numerator, let denominator, denominator > 0 else { return "-" }
    return format(numerator / denominator, digits)
}

let vision = configuration.vision, text = configuration.text
print("CLIP training step, `tiny` preset (ViT \(vision.imageSize)px/\(vision.patchSize), width \(vision.width), "
    + "\(vision.layers)+\(text.layers) layers, \(vision.heads) heads, embed \(configuration.embedDimension), "
    + "vocab \(text.vocabularySize), context \(contextLength)): zero grads, forward, backward, AdamW (lr 5e-4, wd 0.1 on "
    + "matrices, betas 0.9/0.98, eps 1e-6), logit-scale clamp")
print("\(threads) threads (LaTensor and OpenBLAS), \(ProcessInfo.processInfo.activeProcessorCount) cores; Float GEMM: "
    + GEMM.description + "; OpenBLAS: " + BenchmarkSettings.openBLASConfig + ", core \(BLAS.coreName)"
    + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""))
print("self-timed: \(options.warmup) warm-up steps, then median of \(options.steps) (batch <= 64) / \(options.largeSteps) "
    + "(larger batches) steps, CLOCK_MONOTONIC; CLIP and LaCLIP steps alternate on one model; PyTorch runs right after "
    + "the Swift steps of each batch")
print("texts: \(texts.description)")
print("RSS: baseline = VmRSS right after building the model and its trainer (LaTensor's storage cache emptied and "
    + "malloc_trim(0) first); peak = VmHWM, "
    + (peakResettable ? "reset right after the baseline (/proc/self/clear_refs)" : "NOT resettable here (process-wide peak)")
    + "; CLIP and LaCLIP share one model, so one figure")
print("load average (1/5/15 min) at the start, then after each batch's Swift steps and after its PyTorch run: "
    + loadLog.joined(separator: " / "))
print("wall time of the whole run: \(format(totalSeconds, 0)) s")
print("")

let header = [
    "step", "batch", "median ms", "images/s", "text ms*", "GFLOP/step", "GFLOP/s", "sgemm GFLOP/s", "% of sgemm",
    "base MiB", "peak MiB", "peak-base", "faults/step", "RSS growth", "PyTorch ms", "/ PyTorch", "Torch base",
    "Torch peak", "Torch peak-base", "infer img/s", "Torch img/s", "img/s ratio", "infer txt/s", "Torch txt/s",
    "txt/s ratio", "LaCLIP/CLIP",
]
var tableRows: [[String]] = []
var samplerNotes: [String] = []
for batch in options.batches {
    guard let batchResults = results[batch] else { continue }
    let clipMedian = batchResults[.clip].map { median($0.times) }
    for kind in StepKind.allCases {
        guard let m = batchResults[kind], !m.times.isEmpty else { continue }
        let t = median(m.times)
        let torchKey = kind == .multiText ? "multitext-\(batch)" : "clip-\(batch)"
        let reference = torch.rows[torchKey]
        let versusCLIP: String
        switch kind {
        case .laclip: versusCLIP = clipMedian.map { format(t / $0, 3) } ?? "-"
        case .clip: versusCLIP = "1"
        case .multiText: versusCLIP = clipMedian.map { format(t / $0, 2) + " (MT/CLIP)" } ?? "-"
        }
        let flops = stepGEMMs(batch: batch, textVersions: kind.textVersions).stepFLOPs
        let stepRate = flops / t / 1e9
        let sgemm = sgemmRates[batch]?[kind.textVersions]
        // Inference is per batch: shown on the CLIP row (LaCLIP runs the same model, LaCLIP-MT the same towers).
        let encoders = kind == .clip ? inference[batch] : nil
        let torchEncoders = kind == .clip ? torch.inference[batch] : nil
        let imagesPerSecond = encoders.map { Double(batch) / $0.imageSeconds }
        let textsPerSecond = encoders.map { Double(batch) / $0.textSeconds }
        tableRows.append([
            kind.rawValue, "\(batch)", format(t * 1e3, 1), format(Double(batch) / t, 1),
            m.textTimes.isEmpty ? "-" : format(median(m.textTimes) * 1e3, 2),
            format(flops / 1e9, 1), format(stepRate, 1), sgemm.map { format($0.gflops, 1) } ?? "-",
            sgemm.map { format(100 * stepRate / $0.gflops, 0) + " %" } ?? "-",
            mib(m.baselineRSS), mib(m.peakRSS), overBaseline(peak: m.peakRSS, baseline: m.baselineRSS),
            format(m.faultsPerStep, 0), signedMiB(m.residentGrowth),
            reference.map { format($0.medianMS, 1) } ?? "-", ratio(t * 1e3, reference?.medianMS),
            mib(reference?.baselineRSS), mib(reference?.peakRSS),
            overBaseline(peak: reference?.peakRSS, baseline: reference?.baselineRSS),
            imagesPerSecond.map { format($0, 0) } ?? "-", torchEncoders.map { format($0.imagesPerSecond, 0) } ?? "-",
            ratio(imagesPerSecond, torchEncoders?.imagesPerSecond),
            textsPerSecond.map { format($0, 0) } ?? "-", torchEncoders.map { format($0.textsPerSecond, 0) } ?? "-",
            ratio(textsPerSecond, torchEncoders?.textsPerSecond),
            versusCLIP,
        ])
        if kind == .laclip, let clip = batchResults[.clip] {
            // Noise: LaCLIP / CLIP for each pair of neighbouring steps; the sampler adds no measurable cost when
            // 1 lies within the range of these paired ratios.
            let paired = zip(m.times, clip.times).map { $0 / $1 }
            let low = paired.min()!, high = paired.max()!
            let within = low <= 1 && 1 <= high
            let textShare = median(m.textTimes) / t
            samplerNotes.append("batch \(batch): LaCLIP / CLIP \(format(t / median(clip.times), 3)) (paired steps: median "
                + "\(format(median(paired), 3)), range \(format(low, 3))..\(format(high, 3)): \(within ? "1 within the range, no measurable cost" : "1 OUTSIDE the range")); "
                + "drawing + tokenizing the texts \(format(median(m.textTimes) * 1e3, 2)) ms = \(format(100 * textShare, 3)) % of the step")
        }
    }
}
printTable(header: header, rows: tableRows)

let example = stepGEMMs(batch: options.batches[0], textVersions: 1)
let sgemmExample = sgemmRates[options.batches[0]]?[1]
print("* text ms: median time drawing (LaCLIPTextSampler / MultiTextSampler) and tokenizing the step's texts, inside the step")
print("GFLOP/step: the GEMMs of one step counted from CLIPConfiguration.tiny at 2·M·N·K (forward: patch embedding, "
    + "QKV and output projections, per-head Q·Kᵀ and P·V over the full L×L, MLP, final projections, B×B logits per "
    + "text version; backward = 2× forward); at batch \(options.batches[0]) the forward is "
    + "\(format(example.vision.forwardFLOPs / 1e9, 2)) (image tower) + \(format(example.text.forwardFLOPs / 1e9, 2)) "
    + "(text tower) + \(format(2 * Double(options.batches[0] * options.batches[0] * configuration.embedDimension) / 1e6, 1)) M "
    + "(logits) GFLOP. GFLOP/s = GFLOP/step over the median step time (everything in the step counts as time).")
print("sgemm GFLOP/s: raw Float.gemm (\(GEMM.description), one call at a time) on the step's GEMM list (\(example.step.count) shapes, "
    + "\(example.stepCalls) calls per step at batch \(options.batches[0]) with 1 text; the per-head ones as one call per "
    + "sequence and head), each shape as often as the step runs it, contiguous operands; the median of "
    + "\(options.sgemmReps) passes per shape after 1, summed"
    + (sgemmExample.map { " (\(format($0.seconds * 1e3, 0)) ms per pass at batch \(options.batches[0]))" } ?? "")
    + "; % of sgemm = step GFLOP/s over it")
print("memory (MiB): base = RSS after building the model + trainer, peak = VmHWM of the configuration's steps, "
    + "peak-base = what the steps add; faults/step = minor page faults (getrusage ru_minflt) per timed step; RSS growth = "
    + "RSS after the last timed step minus after the first. Torch base / peak: the same, measured in the Python process.")
print("inference: per batch, on the CLIP row: encodeImage on B images and encodeText on B token rows under withNoGrad "
    + "(normalised), the median of \(options.inferenceReps) calls after 1; PyTorch: encode_image / encode_text in eval "
    + "mode under torch.no_grad(); img/s ratio and txt/s ratio = Swift / PyTorch throughput (> 1: Swift faster), while "
    + "/ PyTorch is Swift / PyTorch step time (< 1: Swift faster)")
print("PyTorch: \(torch.note)")
print("")
print("LaCLIP sampler cost:")
for note in samplerNotes { print("  " + note) }

if options.sgemmDetail {
    for batch in options.batches {
        for (textVersions, rate) in (sgemmRates[batch] ?? [:]).sorted(by: { $0.key < $1.key }) {
            let shapes = stepGEMMs(batch: batch, textVersions: textVersions).step
            print("")
            print("sgemm reference per GEMM shape, batch \(batch), \(textVersions) text\(textVersions == 1 ? "" : "s") per image "
                + "(C[M,N] = op(A)[M,K]·op(B)[K,N]; ms for all calls of one step):")
            printTable(
                header: ["GEMM", "M", "N", "K", "op", "calls", "GFLOP", "ms", "GFLOP/s"],
                rows: zip(shapes, rate.shapeSeconds).map { shape, seconds in
                    [
                        shape.label, "\(shape.m)", "\(shape.n)", "\(shape.k)",
                        (shape.transposeA ? "T" : "N") + (shape.transposeB ? "T" : "N"), "\(shape.calls)",
                        format(shape.flops / 1e9, 3), format(seconds * 1e3, 1), format(shape.flops / seconds / 1e9, 1),
                    ]
                })
        }
    }
}
