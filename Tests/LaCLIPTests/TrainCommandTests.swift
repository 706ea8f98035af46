import Foundation
import Testing
@testable import LaCLIP

#if canImport(Glibc)
    import Glibc
#endif

/// `laclip train` as a user runs it, in child processes: resume across processes is bit-exact, and SIGINT saves a
/// checkpoint that the next run resumes from. Needs the built `laclip` (SwiftPM builds it with the tests), the
/// built-in data and Debian's `dataset-fashion-mnist`.
@Suite(.serialized) struct TrainCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var laclip: URL? { executable("laclip") }

    /// A product built next to the test bundle (SwiftPM builds every executable with the tests).
    static func executable(_ name: String) -> URL? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name),
            repository.appendingPathComponent(".build/debug/" + name),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
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

    static func arguments(output: URL, config: String, steps: Int) -> [String] {
        [
            "train", "--output", output.path, "--model-config", config, "--steps", "\(steps)", "--batch-size", "16",
            "--max-samples", "400", "--text-augmentation", "laclip", "--eval-images", "50",
            "--threads", "2", "--workers", "1", "--warmup", "2", "--log-every", "1",
        ]
    }

    /// Runs `laclip` to the end and returns its exit status and output.
    @discardableResult
    static func run(_ arguments: [String], expect status: Int32?, program: String = "laclip") async throws -> String {
        let (process, output) = try await runProgram(executable(program)!, arguments)
        if let status {
            #expect(process.terminationStatus == status, "\(program) \(arguments.joined(separator: " ")) exited \(process.terminationStatus):\n\(output)")
        } else {
            #expect(process.terminationReason == .exit && process.terminationStatus != 0,
                    "\(program) \(arguments.joined(separator: " ")) should fail with an error line:\n\(output)")
        }
        return output
    }

    static func modelTensors(_ url: URL) throws -> [String: [UInt32]] {
        let file = try SafeTensorsFile.read(contentsOf: url)
        var result: [String: [UInt32]] = [:]
        for name in file.names where name.hasPrefix("model.") || name.hasPrefix("optimizer.") {
            result[name] = try file.tensor(named: name, as: Float.self).scalars.map(\.bitPattern)
        }
        return result
    }

    @Test func resumeInAFreshProcessIsBitExact() async throws {
        guard let _ = Self.laclip else {
            Issue.record("laclip is not built next to the test bundle (run swift build)")
            return
        }
        let folder = try temporaryFolder("cli-resume")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try Self.writeModelConfig(in: folder)
        let straight = folder.appendingPathComponent("straight"), split = folder.appendingPathComponent("split")
        try await Self.run(Self.arguments(output: straight, config: config, steps: 6), expect: 0)
        let stopped = try await Self.run(Self.arguments(output: split, config: config, steps: 6) + ["--stop-at-step", "3"], expect: 3)
        #expect(stopped.contains("continue with --resume latest"))
        try await Self.run(Self.arguments(output: split, config: config, steps: 6) + ["--resume", "latest"], expect: 0)
        let a = try Self.modelTensors(straight.appendingPathComponent("checkpoints/checkpoint-00000006.safetensors"))
        let b = try Self.modelTensors(split.appendingPathComponent("checkpoints/checkpoint-00000006.safetensors"))
        #expect(a.count > 10 && a.keys.sorted() == b.keys.sorted())
        for (name, bits) in a { #expect(bits == b[name], "\(name) differs between the straight and the resumed run") }
        #expect(FileManager.default.fileExists(atPath: split.appendingPathComponent("curves.svg").path))
        let metrics = try String(contentsOf: split.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(metrics.split(separator: "\n").filter { $0.hasPrefix("{\"type\":\"step\"") }.count == 6)
        // Export the finished run for open_clip, and evaluate it.
        let exported = folder.appendingPathComponent("export")
        try await Self.run(["export", "--checkpoint", split.appendingPathComponent("checkpoints/checkpoint-00000006.safetensors").path,
                      "--name", "small", "--output", exported.path], expect: 0)
        let evaluation = try await Self.run(
            ["eval", "--open-clip-weights", exported.appendingPathComponent("small.safetensors").path, "--model-config",
             exported.appendingPathComponent("small.json").path, "--zero-shot", "fashion-mnist", "--eval-images", "40"], expect: 0)
        #expect(evaluation.contains("zero-shot (fashion-mnist, 40 images): top-1"))
        // Fine-tuning starts from the exported open_clip state dict.
        let tuned = folder.appendingPathComponent("tuned")
        try await Self.run(Self.arguments(output: tuned, config: exported.appendingPathComponent("small.json").path, steps: 1)
                     + ["--initialize", exported.appendingPathComponent("small.safetensors").path], expect: 0)
        let start = try Self.modelTensors(split.appendingPathComponent("checkpoints/checkpoint-00000006.safetensors"))
        let after = try Self.modelTensors(tuned.appendingPathComponent("checkpoints/checkpoint-00000001.safetensors"))
        #expect(after["model.positional_embedding"] != nil && after["model.positional_embedding"] != start["model.positional_embedding"])
        // One AdamW step from the exported weights moves each value by at most about the learning rate.
        let moved = zip(after["model.text_projection"]!, start["model.text_projection"]!).map { abs(Float(bitPattern: $0) - Float(bitPattern: $1)) }
        #expect(moved.max()! < 2e-3, "the run did not start from the exported weights")
    }

    @Test func sigintSavesACheckpointToResumeFrom() async throws {
        guard let laclip = Self.laclip else {
            Issue.record("laclip is not built next to the test bundle (run swift build)")
            return
        }
        let folder = try temporaryFolder("cli-signal")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try Self.writeModelConfig(in: folder)
        let output = folder.appendingPathComponent("run")
        let process = Process()
        process.executableURL = laclip
        process.arguments = Self.arguments(output: output, config: config, steps: 100_000)
        let log = folder.appendingPathComponent("log.txt")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Wait for the first steps in metrics.jsonl, then press Ctrl-C.
        let metrics = output.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            if let text = try? String(contentsOf: metrics, encoding: .utf8), text.split(separator: "\n").count >= 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGINT)
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        process.waitUntilExit()
        try handle.close()
        let printed = try String(contentsOf: log, encoding: .utf8)
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGINT, "\(printed)")
        let store = try CheckpointStore(directory: output.appendingPathComponent("checkpoints"))
        guard let saved = store.checkpoints().last else {
            Issue.record("no checkpoint after SIGINT:\n\(printed)")
            return
        }
        #expect(saved.step >= 2 && saved.step < 100_000)
        #expect(printed.contains("stopped after step \(saved.step)"))
        // Resume from what the signal saved and train two more steps.
        let resumed = try await Self.run(Self.arguments(output: output, config: config, steps: 100_000) + ["--resume", "latest", "--stop-at-step", "\(saved.step + 2)"], expect: 3)
        #expect(resumed.contains("resumed from") && resumed.contains("stopped after step \(saved.step + 2)"))
        #expect(store.latest()?.lastPathComponent == String(format: "checkpoint-%08d.safetensors", saved.step + 2))
    }

    @Test func badArgumentsGiveOneLineErrors() async throws {
        guard Self.laclip != nil, Self.executable("TrainCLIP") != nil else {
            Issue.record("laclip / TrainCLIP are not built next to the test bundle (run swift build)")
            return
        }
        let folder = try temporaryFolder("cli-errors")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("run").path
        let empty = folder.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let rewrite = ["rewrite", "--captions", empty.path, "--output", output, "--server", "http://127.0.0.1:9"]
        for (program, arguments, message) in [
            ("laclip", ["train", "--output", output, "--learning-rate", "nan"], "--learning-rate"),
            ("laclip", ["train", "--output", output, "--learning-rate", "inf"], "--learning-rate"),
            ("laclip", ["train", "--output", output, "--batch-size", "70000"], "--batch-size"),
            ("laclip", ["train", "--output", output, "--steps", "-1"], "--steps"),
            ("laclip", ["train", "--output", output, "--grad-clip", "nan"], "--grad-clip"),
            ("laclip", ["train", "--output", output, "--data", folder.appendingPathComponent("missing.csv").path], "missing.csv"),
            ("laclip", ["train", "--output", output, "--preset", "huge"], "unknown preset"),
            ("laclip", ["eval", "--checkpoint", folder.appendingPathComponent("none.safetensors").path], "none.safetensors"),
            ("laclip", ["tokenize", "--context-length", "0"], "--context-length"),
            ("laclip", rewrite + ["--banks", ","], "unknown bank"),
            ("laclip", rewrite + ["--banks", ""], "unknown bank"),
            ("laclip", rewrite + ["--timeout", "nan"], "--timeout"),
            ("laclip", rewrite + ["--timeout", "1e30"], "--timeout"),
            ("laclip", rewrite + ["--timeout", "-1"], "--timeout"),
            ("laclip", rewrite + ["--timeout", "0"], "--timeout"),
            ("laclip", rewrite, "empty"),
            ("TrainCLIP", ["--batch-size", "70000"], "--batch-size"),
            ("TrainCLIP", ["--test-images", "0"], "--test-images"),
            ("TrainCLIP", ["--test-images", "-5"], "--test-images"),
            ("TrainCLIP", ["--modes", ","], "unknown mode"),
            ("TrainCLIP", ["--learning-rate", "nan"], "--learning-rate"),
        ] {
            let printed = try await Self.run(arguments, expect: nil, program: program)
            #expect(printed.contains(message), "\(program) \(arguments.joined(separator: " ")):\n\(printed)")
            #expect(!printed.contains("Fatal error") && !printed.contains("Stack dump") && !printed.contains("Illegal instruction"), "\(printed)")
        }
    }

    @Test func tokenizeMatchesTheLibrary() async throws {
        guard let laclip = Self.laclip else {
            Issue.record("laclip is not built next to the test bundle (run swift build)")
            return
        }
        let folder = try temporaryFolder("cli-tokenize")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("texts.txt")
        let texts = ["a photo of a cat", "Hello, World! ünïcode 😀"]
        try Data(texts.joined(separator: "\n").utf8).write(to: input)
        let (_, output) = try await runProgram(laclip, ["tokenize", "--input", input.path, "--context-length", "12"])
        let rows = output.split(separator: "\n").map { try! JSONDecoder().decode([Int].self, from: Data($0.utf8)) }
        let expected = try BPETokenizer.loadDefault().tokenize(texts, contextLength: 12)
        #expect(rows.flatMap { $0 } == expected.scalars)
    }
}
