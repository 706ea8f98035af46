// BlockRatios: forward+backward of one LaNN ResidualAttentionBlock<Float>(width: 192, heads: 3) on x [64, 65, 192],
// self-timed in one process, with
//   - the share of that time spent inside BLAS GEMM/GEMV calls (LaTensor's BLASProfiler) and the rest
//     (autodiff bookkeeping, elementwise kernels, softmax, LayerNorm, copies): target non-matmul / matmul <= 1;
//   - PyTorch's median for the same block, measured by Scripts/torch_block.py run as a subprocess with the
//     Python of LACLIP_REFERENCE_PYTHON or --python (prints "torch not available" without one), and the
//     ratio LaNN / PyTorch;
//   - an RSS check: 50 training steps (zero grads, forward, backward, AdamW) with RSS (/proc/self/statm) and
//     TensorMemory.liveBytes after step 5 and after step 50, which must not grow.
//
//   BlockRatios [--warmup N] [--reps N] [--torch-warmup N] [--torch-reps N] [--steps N] [--python PATH]
//               [--torch-script PATH] [--no-torch] [--markdown] [--memory-trace] [--memory-only]
import BenchmarkSupport
import Foundation
import LaNN
import LaTensor

let nonMatmulTarget = 1.0

struct Options {
    var warmup = 3
    var reps = 15
    var torchWarmup = 5
    var torchReps = 15
    var steps = 50
    var python = ProcessInfo.processInfo.environment["LACLIP_REFERENCE_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    var torchScript: String?
    var torch = true
    var markdown = false
    var memoryTrace = false
    var memoryOnly = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        func number(_ flag: String) -> Int {
            guard let text = iterator.next(), let value = Int(text), value > 0 else {
                fatalError("BlockRatios: \(flag) needs a positive integer")
            }
            return value
        }
        func text(_ flag: String) -> String {
            guard let value = iterator.next() else { fatalError("BlockRatios: \(flag) needs a value") }
            return value
        }
        while let argument = iterator.next() {
            switch argument {
            case "--warmup": warmup = number(argument)
            case "--reps": reps = number(argument)
            case "--torch-warmup": torchWarmup = number(argument)
            case "--torch-reps": torchReps = number(argument)
            case "--steps": steps = Swift.max(number(argument), 6)
            case "--python": python = text(argument)
            case "--torch-script": torchScript = text(argument)
            case "--no-torch": torch = false
            case "--markdown": markdown = true
            case "--memory-trace": memoryTrace = true
            case "--memory-only": memoryOnly = true
            case "-h", "--help":
                print("""
                    usage: BlockRatios [--warmup N] [--reps N] [--torch-warmup N] [--torch-reps N] [--steps N]
                                       [--python PATH] [--torch-script PATH] [--no-torch] [--markdown]
                                       [--memory-trace] [--memory-only]
                    --memory-trace prints memory after every training step; --memory-only skips the timing.
                    The PyTorch reference runs with --python or LACLIP_REFERENCE_PYTHON (e.g. /path/to/venv/bin/python).
                    """)
                exit(0)
            // ratios.sh passes its own options to both executables; ignore TensorRatios' ones.
            case "--matmul-reps", "--bandwidth-reps": _ = iterator.next()
            default: fatalError("BlockRatios: unknown argument \(argument)")
            }
        }
    }
}

func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
func mib(_ bytes: Int) -> String { format(Double(bytes) / 1_048_576, 1) }

// MARK: - LaNN timing

/// One pass split into forward and backward, each with its BLAS time.
struct Pass {
    var forward = 0.0, backward = 0.0, forwardBLAS = 0.0, backwardBLAS = 0.0  // seconds
    var calls = 0
    var total: Double { forward + backward }
    var blas: Double { forwardBLAS + backwardBLAS }
}

/// Times one forward and one backward pass with the BLAS profiler on; gradients are cleared beforehand,
/// outside the timed region (as the PyTorch script does).
func timedPass(_ workload: BlockWorkload) -> Pass {
    workload.zeroGrad()
    BLASProfiler.reset()
    BLASProfiler.isEnabled = true
    let t0 = monotonicNanoseconds()
    let y = workload.block(workload.input)
    let t1 = monotonicNanoseconds()
    let blasForward = BLASProfiler.nanoseconds
    y.backward(seed: workload.seed)
    let t2 = monotonicNanoseconds()
    BLASProfiler.isEnabled = false
    let blasTotal = BLASProfiler.nanoseconds
    Sink.shared.consume(workload.input.grad.map(firstElement) ?? 0)
    return Pass(
        forward: Double(t1 - t0) / 1e9, backward: Double(t2 - t1) / 1e9,
        forwardBLAS: Double(blasForward) / 1e9, backwardBLAS: Double(blasTotal - blasForward) / 1e9,
        calls: BLASProfiler.calls)
}

// MARK: - PyTorch reference

struct TorchResult {
    var medianSeconds: Double?
    var note: String
}

func defaultTorchScript() -> String {
    // Sources/BlockRatios/main.swift -> Scripts/torch_block.py of this package; else relative to the working folder.
    let source = URL(fileURLWithPath: #filePath)
    let packaged = source.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/torch_block.py").path
    return FileManager.default.fileExists(atPath: packaged) ? packaged : "Scripts/torch_block.py"
}

func runTorch(_ options: Options, threads: Int) -> TorchResult {
    guard options.torch else { return TorchResult(note: "skipped (--no-torch)") }
    guard let python = options.python else {
        return TorchResult(note: "torch not available (set LACLIP_REFERENCE_PYTHON or --python to a Python with torch)")
    }
    let script = options.torchScript ?? defaultTorchScript()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [
        script, "--batch", "\(BlockWorkload.batch)", "--tokens", "\(BlockWorkload.tokens)",
        "--width", "\(BlockWorkload.width)", "--heads", "\(BlockWorkload.heads)", "--threads", "\(threads)",
        "--warmup", "\(options.torchWarmup)", "--reps", "\(options.torchReps)",
    ]
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    do { try process.run() } catch {
        return TorchResult(note: "torch not available (cannot run \(python): \(error))")
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    guard let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
        let tail = errorText.split(separator: "\n").suffix(2).joined(separator: " / ")
        return TorchResult(note: "torch not available (\(python) exited \(process.terminationStatus): \(tail))")
    }
    if let error = json["error"] as? String { return TorchResult(note: error) }
    guard let median = (json["median_ms"] as? NSNumber)?.doubleValue else {
        return TorchResult(note: "torch not available (no median_ms in the script's output)")
    }
    let version = json["torch"] as? String ?? "?", module = json["module"] as? String ?? "?"
    let torchThreads = (json["threads"] as? NSNumber)?.intValue ?? threads
    return TorchResult(
        medianSeconds: median / 1e3,
        note: "PyTorch \(version), \(module), fp32, \(torchThreads) threads, median of \(options.torchReps) after "
            + "\(options.torchWarmup) warm-up (\((script as NSString).lastPathComponent))")
}

// MARK: - Memory over training steps

struct MemoryRow {
    var step: Int
    var rss: Int
    var live: Int
    var heap: Int?
}

/// Runs `steps` training steps on a fresh workload; records RSS and live tensor bytes after steps 1, 5 and the last.
func memoryCheck(steps: Int, everyStep: Bool) -> [MemoryRow] {
    let workload = BlockWorkload(seed: 11)
    var rows: [MemoryRow] = []
    for step in 1...steps {
        Sink.shared.consume(workload.trainStep())
        if everyStep || step == 1 || step == 5 || step == steps {
            rows.append(MemoryRow(step: step, rss: residentBytes(), live: TensorMemory.liveBytes, heap: mallocInUseBytes()))
        }
    }
    return rows
}

// MARK: - Main

let options = Options(CommandLine.arguments)
let threads = BenchmarkSettings.configureThreads()
let loadBefore = loadAverage()

// 1. Memory: a fresh process state, before anything else has allocated.
let memoryRows = memoryCheck(steps: options.steps, everyStep: options.memoryTrace)

// 2. LaNN timing, split in two halves around the PyTorch run so that a change in machine load hits both.
var passes: [Pass] = []
var torch = TorchResult(note: "skipped (--memory-only)")
if !options.memoryOnly {
    let workload = BlockWorkload()
    for _ in 0..<options.warmup { _ = timedPass(workload) }
    for _ in 0..<(options.reps + 1) / 2 { passes.append(timedPass(workload)) }
    torch = runTorch(options, threads: threads)
    for _ in 0..<options.reps / 2 { passes.append(timedPass(workload)) }
}
let loadAfter = loadAverage()

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

print("LaNN transformer block: ResidualAttentionBlock<Float>(width: \(BlockWorkload.width), heads: \(BlockWorkload.heads)), "
    + "\(BlockWorkload.shapeLabel), fwd+bwd (backward seeded with w: d sum(y*w))")
print("\(threads) threads (LaTensor and OpenBLAS), \(ProcessInfo.processInfo.activeProcessorCount) cores; "
    + "OpenBLAS: \(BenchmarkSettings.openBLASConfig)"
    + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""))
print("self-timed: \(options.warmup) warm-up passes, then median of \(passes.count) passes (halves before and after "
    + "the PyTorch run), CLOCK_MONOTONIC; BLAS time from LaTensor's BLASProfiler")
print("load average (1/5/15 min) before / after: \(loadBefore) / \(loadAfter)")
print("")

var misses: [String] = []
if !passes.isEmpty {
    let widths = [18, 10, 9, 7, 15, 17]
    print(row(["LaNN pass", "median ms", "BLAS ms", "BLAS %", "non-matmul ms", "non-matmul/BLAS"], widths: widths))
    print(rule(widths))
    func phaseRow(_ label: String, _ passes: [Pass], total: (Pass) -> Double, blas: (Pass) -> Double) -> (Double, Double, Double) {
        let t = median(passes.map(total)), b = median(passes.map(blas)), rest = median(passes.map { total($0) - blas($0) })
        print(row([label, format(t * 1e3, 1), format(b * 1e3, 1), format(100 * b / t, 0), format(rest * 1e3, 1),
            format(rest / b, 2)], widths: widths))
        return (t, b, rest)
    }
    _ = phaseRow("forward", passes, total: \.forward, blas: \.forwardBLAS)
    _ = phaseRow("backward", passes, total: \.backward, blas: \.backwardBLAS)
    let (total, blas, rest) = phaseRow("forward+backward", passes, total: \.total, blas: \.blas)
    let ratio = rest / blas
    let calls = passes.map(\.calls).max() ?? 0
    print("BLAS calls per pass: \(calls) (GEMM/GEMV through Tensor.gemm2D)")
    print("")

    let w2 = [44, 12]
    print(row(["summary", "value"], widths: w2))
    print(row(["LaNN fwd+bwd median ms", format(total * 1e3, 1)], widths: w2))
    print(row(["GEMM (BLAS) ms / share", "\(format(blas * 1e3, 1)) / \(format(100 * blas / total, 0)) %"], widths: w2))
    print(row(["non-matmul ms", format(rest * 1e3, 1)], widths: w2))
    let ratioOK = ratio <= nonMatmulTarget
    if !ratioOK { misses.append("non-matmul / matmul: \(format(ratio, 2)) > \(format(nonMatmulTarget, 0))") }
    print(row(["non-matmul / matmul (target <= 1)", "\(format(ratio, 2)) \(ratioOK ? "ok" : "MISS")"], widths: w2))
    if let torchSeconds = torch.medianSeconds {
        print(row(["PyTorch fwd+bwd median ms", format(torchSeconds * 1e3, 1)], widths: w2))
        print(row(["LaNN / PyTorch (time)", format(total / torchSeconds, 2)], widths: w2))
    } else {
        print(row(["PyTorch fwd+bwd median ms", "-"], widths: w2))
        print(row(["LaNN / PyTorch (time)", "-"], widths: w2))
    }
    print("PyTorch: \(torch.note)")
    print("")
}

let w3 = [26, 9, 32, 14]
print("memory over \(options.steps) training steps (zero grads, fwd, bwd, AdamW) on a fresh block")
print(row(["after step", "RSS MiB", "TensorMemory.liveBytes", "malloc MiB*"], widths: w3))
print(rule(w3))
for memory in memoryRows {
    print(row(["\(memory.step)", mib(memory.rss), "\(memory.live) (\(mib(memory.live)) MiB)", memory.heap.map(mib) ?? "-"],
        widths: w3))
}
if let five = memoryRows.first(where: { $0.step == 5 }), let last = memoryRows.last, last.step > 5 {
    let rssGrowth = last.rss - five.rss, liveGrowth = last.live - five.live
    // liveBytes counts tensor storages exactly: any growth is a leak. RSS also moves with malloc's arenas, so
    // allow 1 MiB of slack.
    let ok = liveGrowth <= 0 && rssGrowth <= 1 << 20
    print(row(["growth step 5 -> \(last.step)", "\(rssGrowth >= 0 ? "+" : "")\(mib(rssGrowth))",
        "\(liveGrowth >= 0 ? "+" : "")\(liveGrowth) \(ok ? "ok" : "GROWS")",
        (last.heap.flatMap { l in five.heap.map { l - $0 } }).map { ($0 >= 0 ? "+" : "") + mib($0) } ?? "-"], widths: w3))
    print("* malloc: bytes in use by the C allocator (glibc mallinfo2 uordblks + hblkhd), all threads' arenas")
    let heapGrowth = last.heap.flatMap { l in five.heap.map { l - $0 } }
    let leaks = liveGrowth > 0 || (heapGrowth ?? 0) > 1 << 20
    print("leak (live tensors or malloc in use grow): \(leaks ? "YES" : "none"); "
        + "RSS: \(rssGrowth <= 1 << 20 ? "flat" : "grows\(leaks ? "" : " (freed memory glibc keeps in its arenas; flat with GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072)")")")
    if !ok { misses.append("memory grows from step 5 to \(last.step): RSS \(mib(rssGrowth)) MiB, live \(liveGrowth) bytes") }
}
print("")
print(misses.isEmpty ? "All targets met." : "Missed targets:\n  " + misses.joined(separator: "\n  "))
