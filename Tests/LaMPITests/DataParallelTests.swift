import Foundation
import LaMPI
import Testing
@testable import LaCLIP

#if canImport(Glibc)
    import Glibc
#endif

/// Data-parallel training over Open MPI, as a user runs it: `mpirun --oversubscribe -np 2 laclip train` on
/// loopback against one `laclip train` process on the whole batch, and a rank killed in the middle of a run.
/// Needs Open MPI (`libopenmpi-dev`, `openmpi-bin`; `.ci/run` installs it and sets `LACLIP_REQUIRE_MPI=1`, which
/// turns a missing `mpirun` into a failure instead of a skip), the built `laclip` and Debian's
/// `dataset-fashion-mnist`.
@Suite(.serialized) struct DataParallelTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var laclip: URL? {
        [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("laclip"),
         repository.appendingPathComponent(".build/debug/laclip")].first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static var mpirun: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") })
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Whether the MPI tests can run; records a failure when CI requires them and they cannot.
    static func available() -> Bool {
        guard laclip != nil else {
            Issue.record("laclip is not built next to the test bundle (run swift build)")
            return false
        }
        if mpirun == nil {
            if ProcessInfo.processInfo.environment["LACLIP_REQUIRE_MPI"] == "1" {
                Issue.record("LACLIP_REQUIRE_MPI=1 but mpirun is not on PATH (apt-get install libopenmpi-dev openmpi-bin)")
            }
            return false
        }
        return true
    }

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A small open_clip model config (16 px images, one block per tower).
    static func writeModelConfig(in folder: URL) throws -> String {
        let url = folder.appendingPathComponent("small.json")
        try Data("""
            {"embed_dim": 16, "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 32, "layers": 1, "head_width": 16},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
            """.utf8).write(to: url)
        return url.path
    }

    /// `mpirun` as root on loopback (CI runs as root; the variables are harmless otherwise).
    static func mpiEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMPI_MCA_btl"] = "self,tcp"           // loopback TCP: no shared-memory segment size limits in containers
        environment["OMPI_MCA_btl_tcp_if_include"] = "lo"
        environment["OMPI_MCA_oob_tcp_if_include"] = "lo"
        environment["LACLIP_MPI_TIMEOUT"] = "60"
        return environment
    }

    /// Starts a program with its output in `log`. (The tests wait for it with `exited`, never by blocking a thread:
    /// Swift Testing runs suites concurrently on a pool of one thread per core, which a blocked thread starves.)
    static func start(_ executable: URL, _ arguments: [String], log: URL, environment: [String: String]) throws -> Process {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Waits (suspending, not blocking) until `process` has exited or `seconds` have passed; returns whether it exited.
    static func exited(_ process: Process, within seconds: Double) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return !process.isRunning
    }

    /// Runs a program to its end (at most 10 minutes); returns its exit status and everything it printed.
    static func run(_ executable: URL, _ arguments: [String], in folder: URL, name: String) async throws -> (status: Int32, output: String) {
        let log = folder.appendingPathComponent("\(name).log")
        let process = try start(executable, arguments, log: log, environment: mpiEnvironment())
        guard try await exited(process, within: 600) else {
            process.terminate()
            return (-1, "still running after 600 s: " + ((try? String(contentsOf: log, encoding: .utf8)) ?? ""))
        }
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    static func stepLosses(_ output: URL) throws -> [Int: Double] {
        let text = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        var losses: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["type"] as? String == "step",
                let step = object["step"] as? Int, let loss = object["loss"] as? Double
            else { continue }
            losses[step] = loss
        }
        return losses
    }

    /// The largest difference between the parameters and optimizer moments of two checkpoints, relative to
    /// max(1, |value|) (Adam's second moments reach tens, where Float32 keeps about 1e-6 relative).
    static func largestDifference(_ a: URL, _ b: URL) throws -> (difference: Float, tensors: Int) {
        let first = try SafeTensorsFile.read(contentsOf: a), second = try SafeTensorsFile.read(contentsOf: b)
        #expect(first.names == second.names)
        var worst: Float = 0, count = 0
        for name in first.names where name.hasPrefix("model.") || name.hasPrefix("optimizer.") {
            guard let x = try? first.tensor(named: name, as: Float.self), let y = try? second.tensor(named: name, as: Float.self) else { continue }
            #expect(x.shape == y.shape, "\(name)")
            for (u, v) in zip(x.scalars, y.scalars) { worst = Swift.max(worst, abs(u - v) / Swift.max(1, abs(u))) }
            count += 1
        }
        return (worst, count)
    }

    @Test(arguments: [
        ["--text-augmentation", "none"], ["--text-augmentation", "laclip-mt"], ["--loss", "siglip"],
        ["--text-augmentation", "laclip", "--accumulate", "2"],
    ])
    func twoProcessesTakeTheStepOfOneProcessOnTheWholeBatch(_ objective: [String]) async throws {
        guard Self.available(), let laclip = Self.laclip, let mpirun = Self.mpirun else { return }
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try Self.writeModelConfig(in: folder)
        // Adam's eps at 1e-3: the key part of the attention in-projection bias has an exactly zero gradient (softmax
        // ignores it), and Adam with eps 1e-6 turns the rounding noise there (~1e-8, different in any other
        // summation order) into updates of ±lr. With eps 1e-3 the update of such noise is linear and tiny, while
        // every real gradient still moves its parameter.
        func common(learningRate: String = "1e-3") -> [String] {
            [
                "train", "--model-config", config, "--steps", "1", "--warmup", "0", "--learning-rate", learningRate, "--eps", "1e-3",
                "--max-samples", "400", "--zero-shot", "none", "--threads", "1", "--workers", "1", "--log-every", "1",
            ] + objective
        }
        let accumulate = objective.contains("--accumulate") ? 2 : 1
        let perRank = 8
        let two = folder.appendingPathComponent("two"), one = folder.appendingPathComponent("one")
        let distributed = try await Self.run(
            mpirun, ["--oversubscribe", "-np", "2", laclip.path] + common() + ["--batch-size", "\(perRank)", "--output", two.path], in: folder, name: "two")
        #expect(distributed.status == 0, "mpirun -np 2 laclip train \(objective):\n\(distributed.output)")
        #expect(distributed.output.contains("2 processes"), "\(distributed.output)")
        let single = try await Self.run(laclip, common() + ["--batch-size", "\(2 * perRank)", "--output", one.path], in: folder, name: "one")
        #expect(single.status == 0, "laclip train \(objective):\n\(single.output)")
        guard distributed.status == 0, single.status == 0 else { return }
        let (lossTwo, lossOne) = (try Self.stepLosses(two)[1], try Self.stepLosses(one)[1])
        #expect(lossTwo != nil && lossOne != nil)
        if let lossTwo, let lossOne { #expect(abs(lossTwo - lossOne) <= 1e-5, "\(objective): loss \(lossTwo) on 2 ranks vs \(lossOne) on 1") }
        let checkpoint = "checkpoints/checkpoint-00000001.safetensors"
        let (difference, tensors) = try Self.largestDifference(two.appendingPathComponent(checkpoint), one.appendingPathComponent(checkpoint))
        #expect(tensors > 20)
        #expect(difference <= 1e-5, "\(objective) (accumulate \(accumulate)): parameters differ by \(difference) after one step")
        // The step moved the parameters (so equal parameters are not just the shared initialisation).
        let initial = folder.appendingPathComponent("initial")
        _ = try await Self.run(laclip, common(learningRate: "0") + ["--batch-size", "\(2 * perRank)", "--output", initial.path],
                         in: folder, name: "initial")
        let (moved, _) = try Self.largestDifference(initial.appendingPathComponent(checkpoint), one.appendingPathComponent(checkpoint))
        #expect(moved > 1e-4, "one step at lr 1e-3 changed the parameters by only \(moved)")
    }

    /// The process id of the `laclip` rank `rank` whose command line mentions `marker`.
    static func rankProcess(_ rank: Int, marker: String) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry),
                let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { continue }
            let commandLine = String(decoding: command, as: UTF8.self), variables = String(decoding: environment, as: UTF8.self)
            if commandLine.contains(marker), commandLine.contains("laclip"), !commandLine.hasPrefix("mpirun"),
                variables.split(separator: "\0").contains("OMPI_COMM_WORLD_RANK=\(rank)")
            {
                return pid
            }
        }
        return nil
    }

    @Test func aRankThatDiesStopsTheOthersAndLeavesTheCheckpointIntact() async throws {
        guard Self.available(), let laclip = Self.laclip, let mpirun = Self.mpirun else { return }
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try Self.writeModelConfig(in: folder)
        let output = folder.appendingPathComponent("run")
        let arguments = [
            "train", "--model-config", config, "--steps", "5000", "--max-samples", "400", "--batch-size", "8", "--zero-shot", "none",
            "--threads", "1", "--workers", "1", "--checkpoint-every", "2", "--output", output.path,
        ]
        let log = folder.appendingPathComponent("mpirun.log")
        let job = try Self.start(mpirun, ["--oversubscribe", "-np", "2", laclip.path] + arguments, log: log, environment: Self.mpiEnvironment())
        defer { if job.isRunning { job.terminate() } }
        let store = try CheckpointStore(directory: output.appendingPathComponent("checkpoints"), keepLast: 3)
        let deadline = Date().addingTimeInterval(180)
        while job.isRunning, (store.latest().flatMap { Int($0.deletingPathExtension().lastPathComponent.split(separator: "-").last ?? "") } ?? 0) < 4,
            Date() < deadline
        {
            try await Task.sleep(for: .milliseconds(100))
        }
        guard job.isRunning, let victim = Self.rankProcess(1, marker: output.path) else {
            Issue.record("the 2-process run did not reach step 4 with rank 1 alive:\n\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            return
        }
        kill(victim, SIGKILL)
        let killed = Date()
        _ = try await Self.exited(job, within: 90)
        let seconds = Date().timeIntervalSince(killed)
        let printed = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(!job.isRunning, "rank 0 still runs \(Int(seconds)) s after rank 1 was killed:\n\(printed)")
        guard !job.isRunning else { return }
        #expect(job.terminationStatus != 0, "mpirun exited 0 after a rank was killed:\n\(printed)")
        #expect(printed.contains("signal 9") || printed.contains("Killed") || printed.contains("rank 1"), "no clear message:\n\(printed)")
        // The last checkpoint is complete and readable, and resuming it with another world size is refused clearly.
        guard let last = store.latest() else {
            Issue.record("no checkpoint survived")
            return
        }
        _ = try SafeTensorsFile.read(contentsOf: last)
        #expect(try TrainingCheckpoint.modelConfiguration(at: last).vision.imageSize == 16)
        let resumed = try await Self.run(laclip, arguments + ["--resume", last.path], in: folder, name: "resume")
        #expect(resumed.status != 0 && resumed.output.contains("world_size") && resumed.output.contains("mpirun -np 2"), "\(resumed.output)")
        // With the same world size it resumes: two more steps, then a stop that both ranks agree on (status 3).
        let step = Int(last.deletingPathExtension().lastPathComponent.split(separator: "-").last ?? "") ?? 0
        let again = try await Self.run(
            mpirun, ["--oversubscribe", "-np", "2", laclip.path] + arguments + ["--resume", "latest", "--stop-at-step", "\(step + 2)"],
            in: folder, name: "resume-2")
        #expect(again.output.contains("resumed from \(last.path) at step \(step)"), "\(again.output)")
        #expect(again.output.contains("stopped after step \(step + 2)"), "\(again.output)")
        #expect(store.latest()?.lastPathComponent == String(format: "checkpoint-%08d.safetensors", step + 2), "\(again.output)")
    }
}
