// DistributedRatios: data-parallel training over Open MPI on this machine. One training step of the `tiny` CLIP
// preset (CLIP and LaCLIP-MT with 4 texts) at a per-process batch B, with 1 and 2 processes (`mpirun
// --oversubscribe -np N`, the ranks splitting the cores), self-timed: median ms/step, global images/s, the share of
// the step spent waiting in collectives, and the bytes each rank handed to MPI per step against the analytic figure:
//   features: all-gather of the image and text features, V+1 tensors of B·E floats (own part) forward, and their
//             reduce-scatter backward, (V+1) tensors of W·B·E floats;
//   gradients: one all-reduce of all P parameters (+ one presence flag per parameter);
//   metrics:   a few doubles (batch-size check, loss and accuracies, the stop/epoch flags are the session's).
//
//   DistributedRatios [--batch N] [--steps N] [--warmup N] [--processes 1,2]      # spawns mpirun itself
import BenchmarkSupport
import Foundation
import LaCLIP
import LaMPI
import LaNN
import LaTensor

struct Options {
    var batch = 64
    var steps = 8
    var warmup = 3
    var processes = [1, 2]
    var worker = false
    var versions = 1

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        func number(_ flag: String) -> Int {
            guard let text = iterator.next(), let value = Int(text), value >= 0 else { fatalError("DistributedRatios: \(flag) needs an integer >= 0") }
            return value
        }
        while let argument = iterator.next() {
            switch argument {
            case "--batch": batch = Swift.max(2, number(argument))
            case "--steps": steps = Swift.max(1, number(argument))
            case "--warmup": warmup = number(argument)
            case "--versions": versions = Swift.max(1, number(argument))
            case "--processes": processes = (iterator.next() ?? "").split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
            case "--worker": worker = true
            default: fatalError("DistributedRatios: unknown argument \(argument)")
            }
        }
    }
}

func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }


/// One worker process (a rank under mpirun): prints one JSON line on rank 0.
func work(_ options: Options) throws {
    let context = try MPIContext()
    Threading.setThreadCount(MPIContext.recommendedThreadCount)
    let configuration = CLIPConfiguration.tiny
    let model = CLIP<Float>(configuration: configuration, seed: 0)
    let trainer = try CLIPTrainer(
        model: model, configuration: TrainerConfiguration(learningRate: 5e-4, weightDecay: 0.1, totalSteps: 1 << 30, schedule: .constant),
        distributed: context)
    var generator = RandomGenerator(seed: 1 + UInt64(context.rank))
    let b = options.batch, v = options.versions, size = configuration.vision.imageSize
    var times: [Double] = [], waits: [Double] = [], bytes: [Int] = []
    for step in 0..<(options.warmup + options.steps) {
        let images = Tensor<Float>.randn([b, 3, size, size], generator: &generator)
        let tokens = randomTokenRows(rows: v * b, context: configuration.text.contextLength, generator: &generator)
        let batch = ImageTextBatch(images: images, tokens: tokens, textVersions: v, sampleIndices: Array(0..<b), epoch: 0, index: step)
        try context.barrier()
        let before = context.statistics
        let start = monotonicSeconds()
        try trainer.step(batch)
        let seconds = monotonicSeconds() - start
        if step >= options.warmup {
            times.append(seconds)
            waits.append(context.statistics.seconds - before.seconds)
            bytes.append(context.statistics.bytes - before.bytes)
        }
    }
    let parameters = model.parameters().filter(\.requiresGrad)
    let parameterCount = parameters.reduce(0) { $0 + $1.value.count }
    let w = context.worldSize, e = configuration.embedDimension
    let features = w > 1 ? 4 * ((v + 1) * b * e + (v + 1) * w * b * e) : 0
    let gradients = w > 1 ? 4 * (parameterCount + parameters.count) : 0
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    if context.rank == 0 {
        let record: [String: Any] = [
            "world": w, "threads": Threading.threadCount, "batch": b, "versions": v, "ms": 1000 * median(times),
            "wait_share": median(zip(waits, times).map { $0 / $1 }), "bytes": median(bytes.map(Double.init)),
            "analytic_features": features, "analytic_gradients": gradients, "parameters": parameterCount, "library": context.libraryVersion,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
    }
    try context.finalize()
}

func cpuName() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    return info.split(separator: "\n").first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
}

let options = Options(CommandLine.arguments)
if options.worker {
    do { try work(options) } catch {
        FileHandle.standardError.write(Data("DistributedRatios worker: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
print("DistributedRatios: tiny CLIP, per-process batch \(options.batch), \(options.steps) timed steps after \(options.warmup); "
    + "\(cpuName()), \(ProcessInfo.processInfo.activeProcessorCount) cores, Float GEMM: \(GEMM.description)")
var environment = ProcessInfo.processInfo.environment
environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
print("| objective | processes | threads each | global batch | ms/step | global images/s | speed-up | waiting in collectives | MiB sent per rank and step | analytic (features + gradients) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for versions in [1, 4] {
    var single: Double?
    for processes in options.processes {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", "\(processes)", CommandLine.arguments[0], "--worker", "--batch", "\(options.batch)",
                             "--steps", "\(options.steps)", "--warmup", "\(options.warmup)", "--versions", "\(versions)"]
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let ms = record["ms"] as? Double, let share = record["wait_share"] as? Double, let bytes = record["bytes"] as? Double,
            let features = record["analytic_features"] as? Int, let gradients = record["analytic_gradients"] as? Int, let threads = record["threads"] as? Int
        else {
            print("mpirun -np \(processes) failed (exit \(process.terminationStatus)):\n\(output)")
            continue
        }
        let imagesPerSecond = Double(processes * options.batch) / (ms / 1000)
        if processes == 1 { single = imagesPerSecond }
        let mib = 1024.0 * 1024.0
        print(String(format: "| %@ | %d | %d | %d | %.1f | %.0f | %@ | %.1f%% | %.2f | %.2f (%.2f + %.2f) |",
                     versions == 1 ? "CLIP" : "LaCLIP-MT (4 texts)", processes, threads, processes * options.batch, ms, imagesPerSecond,
                     single.map { String(format: "%.2f×", imagesPerSecond / $0) } ?? "-", 100 * share, bytes / mib,
                     Double(features + gradients) / mib, Double(features) / mib, Double(gradients) / mib))
    }
}
