// TensorRatios: times LaTensor's kernels against their references in one process and prints the ratios.
//
//   TensorRatios [--warmup N] [--matmul-reps N] [--bandwidth-reps N] [--markdown]
//       Self-timed: warm-up, then N interleaved repetitions per kernel on the monotonic clock; medians.
//   TensorRatios --from-jmh FILE [--markdown]
//       The same table from an ordo-one export (`swift package benchmark --format jmh`), using the p50
//       wall-clock time of each benchmark of that run.
//
// Targets: LaTensor matmul / raw sgemm throughput >= 0.95 per shape; GELU, softmax and sum bandwidth over
// Tensor.copy() bandwidth >= 0.5 (also checked against a one-thread memcpy, the plain copy kernel).
import BenchmarkSupport
import Foundation
import LaTensor

let matmulTarget = 0.95
let bandwidthTarget = 0.5

struct Options {
    var warmup = 3
    var matmulReps = 15
    var bandwidthReps = 11
    var markdown = false
    var jmhPath: String?

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        func number(_ flag: String) -> Int {
            guard let text = iterator.next(), let value = Int(text), value > 0 else {
                fatalError("TensorRatios: \(flag) needs a positive integer")
            }
            return value
        }
        while let argument = iterator.next() {
            switch argument {
            case "--warmup": warmup = number(argument)
            case "--matmul-reps": matmulReps = number(argument)
            case "--bandwidth-reps": bandwidthReps = number(argument)
            case "--markdown": markdown = true
            case "--from-jmh":
                guard let path = iterator.next() else { fatalError("TensorRatios: --from-jmh needs a file") }
                jmhPath = path
            case "-h", "--help":
                print("usage: TensorRatios [--warmup N] [--matmul-reps N] [--bandwidth-reps N] [--markdown] [--from-jmh FILE]")
                exit(0)
            default: fatalError("TensorRatios: unknown argument \(argument)")
            }
        }
    }
}

/// Median seconds per kernel, however they were measured.
struct Medians {
    var matmul: [MatmulCase: (laTensor: Double, sgemm: Double)] = [:]
    var bandwidth: [BandwidthKernel: Double] = [:]
    var samples = ""
    var loadBefore: String?
}

/// The 1, 5 and 15 minute load averages (other work on the machine skews every figure).
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

// MARK: - Self-timed measurement

/// Times one call; also records its minor page faults under `key`.
func seconds(_ key: String, _ body: () -> Float) -> Double {
    let faults = minorFaults()
    let start = monotonicNanoseconds()
    let value = body()
    let end = monotonicNanoseconds()
    faultLog[key, default: []].append(minorFaults() - faults)
    Sink.shared.consume(value)
    return Double(end - start) / 1e9
}

nonisolated(unsafe) var faultLog: [String: [Int]] = [:]

/// The median page faults per call recorded under `key`, as text.
func faultsPerCall(_ key: String) -> String {
    guard let list = faultLog[key], !list.isEmpty else { return "-" }
    return String(list.sorted()[list.count / 2])
}

func measureSelf(_ options: Options) -> Medians {
    var medians = Medians()
    medians.loadBefore = loadAverage()
    let matmul = MatmulInputs()
    for shape in MatmulCase.allCases {
        let difference = matmul.maxDifference(shape)
        precondition(difference < 1e-2, "LaTensor and sgemm disagree on \(shape): max |diff| = \(difference)")
        for _ in 0..<options.warmup {
            Sink.shared.consume(firstElement(matmul.laTensor(shape)))
            Sink.shared.consume(matmul.rawSgemm(shape))
        }
        var la: [Double] = [], raw: [Double] = []
        for round in 0..<options.matmulReps {
            // Alternate which form goes first so neither always follows the other.
            if round % 2 == 0 {
                la.append(seconds(shape.benchmarkName(raw: false)) { firstElement(matmul.laTensor(shape)) })
                raw.append(seconds(shape.benchmarkName(raw: true)) { matmul.rawSgemm(shape) })
            } else {
                raw.append(seconds(shape.benchmarkName(raw: true)) { matmul.rawSgemm(shape) })
                la.append(seconds(shape.benchmarkName(raw: false)) { firstElement(matmul.laTensor(shape)) })
            }
        }
        medians.matmul[shape] = (median(la), median(raw))
    }

    let inputs = BandwidthInputs()
    let kernels = BandwidthKernel.allCases
    for _ in 0..<options.warmup { for kernel in kernels { Sink.shared.consume(inputs.run(kernel)) } }
    var times = [BandwidthKernel: [Double]]()
    for round in 0..<options.bandwidthReps {
        // Rotate the order each round so that no kernel always runs right after the same one.
        for index in 0..<kernels.count {
            let kernel = kernels[(index + round) % kernels.count]
            times[kernel, default: []].append(seconds(kernel.benchmarkName) { inputs.run(kernel) })
        }
    }
    for (kernel, list) in times { medians.bandwidth[kernel] = median(list) }
    medians.samples =
        "self-timed: \(options.warmup) warm-up runs, then median of \(options.matmulReps) (matmul) / "
        + "\(options.bandwidthReps) (bandwidth) interleaved runs, CLOCK_MONOTONIC"
    return medians
}

// MARK: - ordo-one export

func readJMH(_ path: String) -> Medians {
    guard let data = FileManager.default.contents(atPath: path),
        let elements = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]]
    else { fatalError("TensorRatios: cannot read a JMH JSON array from \(path)") }
    var p50 = [String: Double]()  // benchmark name -> seconds
    var counts = [Int]()
    for element in elements {
        guard let name = element["benchmark"] as? String,
            let secondary = element["secondaryMetrics"] as? [String: Any]
        else { continue }
        // The wall-clock metric's description ("Time (wall clock)"), values in microseconds.
        guard let wall = secondary.first(where: { $0.key.lowercased().contains("wall") })?.value as? [String: Any],
            let percentiles = wall["scorePercentiles"] as? [String: Any],
            let median = (percentiles["50.0"] as? NSNumber)?.doubleValue
        else { continue }
        let unit = (wall["scoreUnit"] as? String) ?? "μs"
        let scale = unit == "ns" ? 1e-9 : unit == "ms" ? 1e-3 : unit == "s" ? 1 : 1e-6
        p50[name] = median * scale
        if let count = element["measurementIterations"] as? Int { counts.append(count) }
    }
    func lookup(_ benchmark: String) -> Double? {
        p50.first(where: { $0.key.hasSuffix("." + benchmark) || $0.key.contains("." + benchmark + "_(") })?.value
    }
    var medians = Medians()
    for shape in MatmulCase.allCases {
        if let la = lookup(shape.benchmarkName(raw: false)), let raw = lookup(shape.benchmarkName(raw: true)) {
            medians.matmul[shape] = (la, raw)
        }
    }
    for kernel in BandwidthKernel.allCases {
        if let time = lookup(kernel.benchmarkName) { medians.bandwidth[kernel] = time }
    }
    let range = counts.isEmpty ? "?" : "\(counts.min()!)–\(counts.max()!)"
    medians.samples = "ordo-one benchmark 1.38.1 run (\(path)): p50 wall clock over \(range) samples per benchmark"
    return medians
}

// MARK: - Table

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

func printTable(_ medians: Medians, markdown: Bool, threads: Int, elements: Int) {
    var misses: [String] = []
    func row(_ cells: [String], widths: [Int]) -> String {
        if markdown { return "| " + cells.joined(separator: " | ") + " |" }
        return zip(cells, widths).map { cell, width in
            cell.count >= width ? cell : cell + String(repeating: " ", count: width - cell.count)
        }.joined(separator: "  ")
    }
    func rule(_ widths: [Int]) -> String {
        markdown ? "| " + widths.map { _ in "---" }.joined(separator: " | ") + " |"
            : widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    }

    print("LaTensor benchmarks: \(threads) threads (LaTensor and OpenBLAS), \(ProcessInfo.processInfo.activeProcessorCount) cores")
    print("OpenBLAS: \(BenchmarkSettings.openBLASConfig)")
    print(medians.samples)
    if let before = medians.loadBefore {
        print("load average (1/5/15 min) before / after: \(before) / \(loadAverage())")
    } else {
        print("load average (1/5/15 min) now: \(loadAverage())")
    }
    print("")

    let mw = [40, 12, 9, 9, 9, 7, 11, 9]
    print(row(["matmul (M×K @ K×N)", "LaTensor ms", "GFLOP/s", "sgemm ms", "GFLOP/s", "ratio", "target", "faults*"], widths: mw))
    print(rule(mw))
    for shape in MatmulCase.allCases {
        guard let (la, raw) = medians.matmul[shape] else { continue }
        let ratio = raw / la
        let ok = ratio >= matmulTarget
        if !ok { misses.append("\(shape.benchmarkName(raw: false)): \(format(ratio, 3)) < \(matmulTarget)") }
        print(row([
            shape.label, format(la * 1e3, 2), format(shape.flops / la / 1e9, 1),
            format(raw * 1e3, 2), format(shape.flops / raw / 1e9, 1), format(ratio, 3),
            ok ? ">=0.95 ok" : ">=0.95 MISS", faultsPerCall(shape.benchmarkName(raw: false)),
        ], widths: mw))
    }
    print("")

    let mib = Double(elements) * 4 / 1_048_576
    print("bandwidth over \(elements) floats (\(format(mib, 0)) MiB in; GB/s = (bytes read + written) / median time)")
    let bw = [32, 10, 8, 9, 9, 22, 8]
    print(row(["kernel", "median ms", "GB/s", "/ copy()", "/ memcpy", "target >= 0.5", "faults*"], widths: bw))
    print(rule(bw))
    let copyRate = medians.bandwidth[.copy].map { BandwidthKernel.copy.bytes(elements: elements) / $0 }
    let memcpyRate = medians.bandwidth[.memcpy].map { BandwidthKernel.memcpy.bytes(elements: elements) / $0 }
    for kernel in BandwidthKernel.allCases {
        guard let time = medians.bandwidth[kernel] else { continue }
        let rate = kernel.bytes(elements: elements) / time
        let overCopy = copyRate.map { rate / $0 }, overMemcpy = memcpyRate.map { rate / $0 }
        var target = "info"
        switch kernel {
        case .copy: target = "reference"
        case .memcpy, .assign: target = "info"
        case .gelu, .softmax, .sum:
            // The target is stated against Tensor.copy(); it is also checked against memcpy, because a slow
            // copy() makes the first ratio easy to meet.
            let okCopy = overCopy.map { $0 >= bandwidthTarget }, okMemcpy = overMemcpy.map { $0 >= bandwidthTarget }
            target = "copy \(okCopy.map { $0 ? "ok" : "MISS" } ?? "-"), memcpy \(okMemcpy.map { $0 ? "ok" : "MISS" } ?? "-")"
            if okCopy == false { misses.append("\(kernel.benchmarkName) / copy(): \(format(overCopy!, 3)) < \(bandwidthTarget)") }
            if okMemcpy == false {
                misses.append("\(kernel.benchmarkName) / memcpy: \(format(overMemcpy!, 3)) < \(bandwidthTarget)")
            }
        }
        print(row([
            kernel.label, format(time * 1e3, 2), format(rate / 1e9, 2),
            overCopy.map { format($0, 3) } ?? "-", overMemcpy.map { format($0, 3) } ?? "-", target,
            faultsPerCall(kernel.benchmarkName),
        ], widths: bw))
    }
    if !faultLog.isEmpty {
        print("* faults: median minor page faults per call (of the LaTensor form for matmul); 4 KiB pages, so a")
        print("  fresh 256 MiB output costs 65536 when each page is touched once")
    }
    print("")
    print(misses.isEmpty ? "All targets met." : "Missed targets:\n  " + misses.joined(separator: "\n  "))
}

let options = Options(CommandLine.arguments)
let threads = BenchmarkSettings.configureThreads()
let medians = options.jmhPath.map(readJMH) ?? measureSelf(options)
printTable(medians, markdown: options.markdown, threads: threads, elements: BenchmarkSettings.bandwidthElements)
