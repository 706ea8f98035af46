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
// with median ms/step after warm-up, images/s and peak RSS (VmHWM of /proc/self/status, reset through
// /proc/self/clear_refs before each configuration). PyTorch's time for the same step (open_clip `CLIP`, `ClipLoss`,
// AdamW, fp32, 2 threads) comes from Scripts/torch_train_step.py, run as a subprocess with the Python of
// LACLIP_REFERENCE_PYTHON or --python, right after the Swift steps of each batch; the table prints
// Swift / PyTorch for each step.
//
//   TrainStepRatios [--warmup N] [--steps N] [--steps-128 N] [--batches 64,128] [--torch-warmup N]
//                   [--python PATH] [--torch-script PATH] [--no-torch] [--captions PATH] [--vocab PATH] [--markdown]
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
            case "--python": python = text(argument)
            case "--torch-script": torchScript = text(argument)
            case "--no-torch": torch = false
            case "--captions": captions = text(argument)
            case "--vocab": vocab = text(argument)
            case "--markdown": markdown = true
            case "-h", "--help":
                print("""
                    usage: TrainStepRatios [--warmup N] [--steps N] [--steps-128 N] [--batches 64,128] [--torch-warmup N]
                                           [--python PATH] [--torch-script PATH] [--no-torch] [--captions PATH]
                                           [--vocab PATH] [--markdown]
                    --steps: timed steps at batch <= 64 (7); --steps-128: at larger batches (5); --warmup: untimed
                    steps before them (3). The PyTorch reference runs with --python or LACLIP_REFERENCE_PYTHON.
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

/// A `Vm...:` field of /proc/self/status in bytes.
func statusBytes(_ field: String) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
    }
    return nil
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux: "5" to /proc/self/clear_refs). Returns whether it worked.
@discardableResult
func resetPeakRSS() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
    return true
}

// MARK: - Captions: 1 original + 3 rewrites per sample

let versions = 4  // the original and M = 3 rewrites
let contextLength = CLIPConfiguration.tiny.text.contextLength
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
        model = CLIP<Float>(configuration: .tiny, seed: seed)
        trainer = try! CLIPTrainer(
            model: model, configuration: TrainerConfiguration(learningRate: 5e-4, weightDecay: 0.1, totalSteps: 1 << 30, schedule: .constant))
        sampler = try! LaCLIPTextSampler(rewriteCount: versions - 1, seed: seed)
        multiText = try! MultiTextSampler(rewriteCount: versions - 1)
        generator = RandomGenerator(seed: seed &+ 17)
    }

    /// One step; returns its wall time in seconds and the loss.
    func run(_ kind: StepKind) -> (seconds: Double, loss: Float) {
        // Inputs that a data loader would hand over: random pixels, and for CLIP random token ids.
        let images = Tensor<Float>.randn([batch, 3, 32, 32], generator: &generator)
        let randomIDs = kind == .clip ? randomTokens(rows: batch, generator: &generator) : nil
        let first = (stepIndex * batch) % texts.groups.count
        let indices = (0..<batch).map { (first + $0) % texts.groups.count }
        let epoch = stepIndex
        stepIndex += 1

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
        return (seconds, Float(metrics.loss))
    }
}

struct Measurement {
    var times: [Double] = []
    var textTimes: [Double] = []
    var peakRSS = 0
    var losses: [Float] = []
}

/// Runs the warm-up and timed steps of one configuration; CLIP and LaCLIP alternate on one model (which goes
/// first alternates too), so step i of CLIP and step i of LaCLIP are neighbours in time.
func runConfiguration(
    _ workload: TrainStep, kinds: [StepKind], warmup: Int, steps: Int, into results: inout [StepKind: Measurement]
) {
    resetPeakRSS()
    for _ in 0..<warmup { for kind in kinds { _ = workload.run(kind) } }
    for step in 0..<steps {
        for kind in step % 2 == 0 ? kinds : kinds.reversed() {
            let (seconds, loss) = workload.run(kind)
            results[kind, default: Measurement()].times.append(seconds)
            results[kind]!.losses.append(loss)
            if kind != .clip { results[kind]!.textTimes.append(workload.lastTextSeconds) }
        }
    }
    let peak = statusBytes("VmHWM") ?? 0
    for kind in kinds { results[kind]!.peakRSS = max(results[kind]!.peakRSS, peak) }
}

// MARK: - PyTorch reference

struct TorchRow {
    var medianMS: Double
    var peakRSS: Int?
}

struct TorchResult {
    var rows: [String: TorchRow] = [:]  // "clip-64", "multitext-128"
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
        "--steps-128", "\(options.largeSteps)",
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
        result.rows["\(kind)-\(batch)"] = TorchRow(medianMS: median, peakRSS: (entry["peak_rss_bytes"] as? NSNumber)?.intValue)
    }
    let version = json["torch"] as? String ?? "?", openCLIP = json["open_clip"] as? String ?? "?"
    let torchThreads = (json["threads"] as? NSNumber)?.intValue ?? threads
    result.note = "PyTorch \(version), open_clip \(openCLIP) CLIP + ClipLoss, AdamW, fp32, \(torchThreads) threads, "
        + "median of \(options.steps) (batch <= 64) / \(options.largeSteps) steps after \(options.torchWarmup ?? options.warmup) "
        + "warm-up, random token ids (\((script as NSString).lastPathComponent))"
    return result
}

// MARK: - Main

let options = Options(CommandLine.arguments)
let threads = BenchmarkSettings.configureThreads()
let loads = [loadAverage()]
var loadLog = loads
let texts = TextSource(options: options)
let peakResettable = resetPeakRSS()

var results: [Int: [StepKind: Measurement]] = [:]
var torchResults = TorchResult(note: "")
let totalStart = monotonicNanoseconds()

// Batch by batch: the Swift steps (CLIP and LaCLIP alternating on one model, then LaCLIP-MT on a fresh one), then
// PyTorch's run for the same batch right after, so that both sides of a ratio see about the same machine load.
// Each model lives only while its configuration runs, so the peak RSS of a configuration is its own.
for batch in options.batches {
    let steps = options.timedSteps(batch: batch)
    var batchResults: [StepKind: Measurement] = [:]
    do {
        let pair = TrainStep(batch: batch, texts: texts, seed: 7)
        runConfiguration(pair, kinds: [.clip, .laclip], warmup: options.warmup, steps: steps, into: &batchResults)
    }
    do {
        let multi = TrainStep(batch: batch, texts: texts, seed: 7)
        runConfiguration(multi, kinds: [.multiText], warmup: options.warmup, steps: steps, into: &batchResults)
    }
    results[batch] = batchResults
    loadLog.append(loadAverage())
    FileHandle.standardError.write(Data("TrainStepRatios: batch \(batch), Swift done (load \(loadAverage()))\n".utf8))
    let torch = runTorch(options, batch: batch, threads: threads)
    torchResults.rows.merge(torch.rows) { $1 }
    torchResults.note = torch.note
    loadLog.append(loadAverage())
    FileHandle.standardError.write(Data("TrainStepRatios: batch \(batch), PyTorch done (load \(loadAverage()))\n".utf8))
}
let totalSeconds = Double(monotonicNanoseconds() - totalStart) / 1e9
let torch = torchResults

// MARK: - Tables

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
func mib(_ bytes: Int?) -> String { bytes.map { format(Double($0) / 1_048_576, 0) } ?? "-" }

print("CLIP training step, `tiny` preset (ViT 32px/4, width 192, 6+6 layers, 3 heads, embed 128, vocab 49408, "
    + "context \(contextLength)): zero grads, forward, backward, AdamW (lr 5e-4, wd 0.1 on matrices, betas 0.9/0.98, "
    + "eps 1e-6), logit-scale clamp")
print("\(threads) threads (LaTensor and OpenBLAS), \(ProcessInfo.processInfo.activeProcessorCount) cores; OpenBLAS: "
    + BenchmarkSettings.openBLASConfig
    + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""))
print("self-timed: \(options.warmup) warm-up steps, then median of \(options.steps) (batch <= 64) / \(options.largeSteps) "
    + "(larger batches) steps, CLOCK_MONOTONIC; CLIP and LaCLIP steps alternate on one model; PyTorch runs right after "
    + "the Swift steps of each batch")
print("texts: \(texts.description)")
print("peak RSS: VmHWM, \(peakResettable ? "reset before each configuration (/proc/self/clear_refs)" : "NOT resettable here (process-wide peak)"); "
    + "CLIP and LaCLIP share one model, so one figure")
print("load average (1/5/15 min) at the start, then after each batch's Swift steps and after its PyTorch run: "
    + loadLog.joined(separator: " / "))
print("wall time of the whole run: \(format(totalSeconds, 0)) s")
print("")

let widths = [20, 6, 10, 9, 9, 10, 11, 10, 9, 12]
print(row(["step", "batch", "median ms", "images/s", "text ms*", "peak RSS", "PyTorch ms", "Torch RSS", "/ PyTorch",
    "LaCLIP/CLIP"], widths: widths))
print(rule(widths))
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
        print(row([
            kind.rawValue, "\(batch)", format(t * 1e3, 1), format(Double(batch) / t, 1),
            m.textTimes.isEmpty ? "-" : format(median(m.textTimes) * 1e3, 2), mib(m.peakRSS) + " MiB",
            reference.map { format($0.medianMS, 1) } ?? "-", reference.map { mib($0.peakRSS) + " MiB" } ?? "-",
            reference.map { format(t * 1e3 / $0.medianMS, 2) } ?? "-", versusCLIP,
        ], widths: widths))
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
print("* text ms: median time drawing (LaCLIPTextSampler / MultiTextSampler) and tokenizing the step's texts, inside the step")
print("PyTorch: \(torch.note)")
print("")
print("LaCLIP sampler cost:")
for note in samplerNotes { print("  " + note) }
