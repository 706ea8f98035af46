import Foundation
import LaData
import LaNN

/// The checkpoints of a run in one folder: `checkpoint-00000100.safetensors` (the step count, zero-padded),
/// each a complete `TrainingState` written atomically, the last `keepLast` kept.
///
/// Leftover temporary files of saves that were killed (`.checkpoint-….tmp-PID-…`, of processes that no longer run) are
/// removed at the next save.
public struct CheckpointStore: Sendable {
    /// The folder.
    public let directory: URL
    /// How many checkpoints to keep (the newest).
    public let keepLast: Int

    /// Opens (and creates) the folder.
    /// - Parameters:
    ///   - directory: The folder.
    ///   - keepLast: Checkpoints kept (≥ 1).
    /// - Throws: `TrainingError.invalidConfiguration` for `keepLast < 1`; file errors when the folder cannot be created.
    public init(directory: URL, keepLast: Int = 3) throws {
        guard keepLast >= 1 else { throw TrainingError.invalidConfiguration(field: "keepLast", message: "must be ≥ 1, got \(keepLast)") }
        self.directory = directory
        self.keepLast = keepLast
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// The file of the checkpoint after `step` steps.
    /// - Parameter step: Completed steps.
    public func url(step: Int) -> URL {
        directory.appendingPathComponent("checkpoint-" + String(format: "%08d", step) + ".safetensors")
    }

    /// The checkpoints present, oldest first.
    public func checkpoints() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".safetensors") else { return nil }
            let digits = name.dropFirst("checkpoint-".count).dropLast(".safetensors".count)
            guard let step = Int(digits) else { return nil }
            return (step, directory.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }.map { (step: $0.0, url: $0.1) }
    }

    /// The newest checkpoint, if any.
    public func latest() -> URL? { checkpoints().last?.url }

    /// Removes temporary files that killed saves left behind (`.checkpoint-….tmp-PID-…` of processes that no
    /// longer run).
    /// - Returns: The number of files removed.
    @discardableResult
    public func removeLeftovers() -> Int { removeStaleTemporaryFiles(in: directory, namePrefix: "checkpoint-") }

    /// Removes all but the newest `keepLast` checkpoints.
    public func prune() {
        let all = checkpoints()
        guard all.count > keepLast else { return }
        for old in all.dropLast(keepLast) { try? FileManager.default.removeItem(at: old.url) }
    }
}

/// Everything `TrainingCheckpoint.load` gives back besides the restored model and optimizer.
public struct RestoredTraining: Sendable {
    /// Completed optimizer steps.
    public var step: Int
    /// Steps skipped for a non-finite loss.
    public var skippedSteps: Int
    /// Where the loader stood after the last step.
    public var loaderPosition: LoaderPosition
    /// The metrics so far.
    public var history: TrainingHistory
    /// The caller's description of the run (`TrainingCheckpoint.save(runDescription:)`).
    public var runDescription: String?
}

/// A complete, resumable training checkpoint: a `TrainingState` (parameters, AdamW moments and step counts,
/// the schedule, the modules' generators) plus, in its metadata, the model, trainer and loader configurations,
/// the loader position, the metrics so far and the caller's run description.
///
/// Resuming reproduces an uninterrupted run bit for bit when both run with the same number of threads;
/// at another thread count the reductions split differently and the last bits may differ.
public enum TrainingCheckpoint {
    /// Writes a checkpoint atomically (temporary file, fsync, rename).
    /// - Parameters:
    ///   - trainer: The trainer (model, optimizer, configuration, step).
    ///   - loader: The loader (its configuration is recorded).
    ///   - position: The loader position after the last step.
    ///   - history: The metrics so far.
    ///   - runDescription: Free text (e.g. the command's JSON settings) stored with the checkpoint.
    ///   - url: The file.
    /// - Throws: File errors.
    public static func save(
        trainer: CLIPTrainer, loader: ImageTextLoader, position: LoaderPosition, history: TrainingHistory,
        runDescription: String? = nil, to url: URL
    ) throws {
        var extra: [String: String] = [
            "model": try json(trainer.model.configuration), "trainer": try json(trainer.configuration),
            "loader": try json(loader.configuration), "loader_position": try json(position), "history": try json(history),
            "skipped_steps": String(trainer.skippedSteps), "text_versions": String(loader.text.versionCount),
            "world_size": String(trainer.distributed.worldSize),
        ]
        if let runDescription { extra["run"] = runDescription }
        try TrainingState.save(
            model: trainer.model, optimizer: trainer.optimizer, step: trainer.completedSteps, schedule: trainer.schedule,
            extra: extra, to: url)
    }

    /// The model configuration saved in a checkpoint (to build the model before `load`).
    /// - Parameter url: The checkpoint.
    /// - Throws: `TrainingError.badCheckpoint` when the file is not a readable checkpoint.
    public static func modelConfiguration(at url: URL) throws -> CLIPConfiguration {
        try decode(CLIPConfiguration.self, key: "model", extra: try extra(at: url), file: url.path)
    }

    /// The trainer configuration saved in a checkpoint.
    /// - Parameter url: The checkpoint.
    /// - Throws: `TrainingError.badCheckpoint`.
    public static func trainerConfiguration(at url: URL) throws -> TrainerConfiguration {
        try decode(TrainerConfiguration.self, key: "trainer", extra: try extra(at: url), file: url.path)
    }

    /// The caller's run description saved in a checkpoint, if any.
    /// - Parameter url: The checkpoint.
    /// - Throws: `TrainingError.badCheckpoint`.
    public static func runDescription(at url: URL) throws -> String? { try extra(at: url)["run"] }

    /// Restores a checkpoint into a trainer built with the same model configuration.
    /// - Parameters:
    ///   - trainer: The trainer to restore (model and optimizer in place).
    ///   - loader: The loader the run continues with; its configuration must match the saved one in every
    ///     setting that decides the batches.
    ///   - url: The checkpoint.
    /// - Returns: The step, loader position, history and run description.
    /// - Throws: `TrainingError.checkpointMismatch` naming the field that differs, `.badCheckpoint` for an
    ///   unreadable file, and the state loader's errors for a parameter tree that does not fit.
    public static func load(into trainer: CLIPTrainer, loader: ImageTextLoader, from url: URL) throws -> RestoredTraining {
        let file = url.path
        let extra = try extra(at: url)
        let model = try decode(CLIPConfiguration.self, key: "model", extra: extra, file: file)
        guard model == trainer.model.configuration else {
            throw TrainingError.checkpointMismatch(file: file, field: "model", message: "the checkpoint was saved with another model configuration")
        }
        let trainerConfiguration = try decode(TrainerConfiguration.self, key: "trainer", extra: extra, file: file)
        guard trainerConfiguration == trainer.configuration else {
            throw TrainingError.checkpointMismatch(
                file: file, field: "trainer", message: "the checkpoint was saved with other optimisation settings (\(try json(trainerConfiguration)))")
        }
        let saved = try decode(LoaderConfiguration.self, key: "loader", extra: extra, file: file)
        let now = loader.configuration
        for (field, same) in [
            ("batchSize", saved.batchSize == now.batchSize), ("seed", saved.seed == now.seed), ("shuffle", saved.shuffle == now.shuffle),
            ("dropLast", saved.dropLast == now.dropLast), ("contextLength", saved.contextLength == now.contextLength),
            ("corruptSamples", saved.corruptSamples == now.corruptSamples),
        ] where !same {
            throw TrainingError.checkpointMismatch(file: file, field: "loader.\(field)", message: "differs from the saved run's")
        }
        if let versions = extra["text_versions"], Int(versions) != loader.text.versionCount {
            throw TrainingError.checkpointMismatch(
                file: file, field: "text_versions", message: "the run used \(versions) texts per image, the loader gives \(loader.text.versionCount)")
        }
        let savedWorld = extra["world_size"].map { Int($0) } ?? 1
        guard let savedWorld, savedWorld >= 1 else {
            throw TrainingError.badCheckpoint(file: file, message: "metadata field 'world_size' is malformed: \(extra["world_size"] ?? "")")
        }
        guard savedWorld == trainer.distributed.worldSize else {
            throw TrainingError.checkpointMismatch(
                file: file, field: "world_size",
                message: "the run was trained by \(savedWorld) process\(savedWorld == 1 ? "" : "es") and resumes with \(trainer.distributed.worldSize); "
                    + "the global batch and every rank's shard depend on it: resume with the same count (mpirun -np \(savedWorld) ...)")
        }
        let position = try decode(LoaderPosition.self, key: "loader_position", extra: extra, file: file)
        let history = try decode(TrainingHistory.self, key: "history", extra: extra, file: file)
        guard let skipped = extra["skipped_steps"].flatMap({ Int($0) }), skipped >= 0 else {
            throw TrainingError.badCheckpoint(file: file, message: "metadata field 'skipped_steps' is missing or malformed")
        }
        let progress = try TrainingState.load(into: trainer.model, optimizer: trainer.optimizer, from: url)
        guard progress.step == trainer.optimizer.stepCount + skipped else {
            throw TrainingError.badCheckpoint(
                file: file, message: "step \(progress.step) does not equal the optimizer's \(trainer.optimizer.stepCount) steps + \(skipped) skipped")
        }
        trainer.restoreSkippedSteps(skipped)
        return RestoredTraining(step: progress.step, skippedSteps: skipped, loaderPosition: position, history: history,
                                runDescription: extra["run"])
    }

    // MARK: Helpers

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func extra(at url: URL) throws -> [String: String] {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(contentsOf: url) } catch {
            throw TrainingError.badCheckpoint(file: url.path, message: "cannot read checkpoint: \(error)")
        }
        guard file.metadata["laclip.format"] != nil, let text = file.metadata["extra"],
            let extra = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        else {
            throw TrainingError.badCheckpoint(file: url.path, message: "not a LaCLIP training checkpoint (no training metadata)")
        }
        return extra
    }

    static func decode<T: Decodable>(_ type: T.Type, key: String, extra: [String: String], file: String) throws -> T {
        guard let text = extra[key] else { throw TrainingError.badCheckpoint(file: file, message: "metadata field '\(key)' is missing") }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch {
            throw TrainingError.badCheckpoint(file: file, message: "metadata field '\(key)' is malformed")
        }
    }
}

extension TrainingCheckpoint {
    /// Loads only the model's parameters from a checkpoint (for evaluation and export).
    /// - Parameters:
    ///   - model: A model built with `modelConfiguration(at:)`.
    ///   - url: The checkpoint.
    /// - Throws: `TrainingError.badCheckpoint` for an unreadable file, `StateDictError` for a tree that does not fit.
    public static func loadModel(into model: CLIP<Float>, from url: URL) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(contentsOf: url) } catch {
            throw TrainingError.badCheckpoint(file: url.path, message: "cannot read checkpoint: \(error)")
        }
        var state: [String: Tensor<Float>] = [:]
        for (key, value) in try file.tensors(as: Float.self) where key.hasPrefix("model.") { state[String(key.dropFirst(6))] = value }
        guard !state.isEmpty else { throw TrainingError.badCheckpoint(file: url.path, message: "no model.* tensors") }
        try model.loadStateDict(state, strict: true)
    }
}
