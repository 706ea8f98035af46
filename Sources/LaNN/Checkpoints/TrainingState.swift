import Foundation
import LaTensor

/// A training state that cannot be restored.
public enum TrainingStateError: Error, CustomStringConvertible, Equatable {
    /// The file is not a training state written by this package.
    case notATrainingState(file: String)
    /// A metadata field is missing or malformed.
    case badMetadata(file: String, field: String)
    /// The optimizer tensors do not fit the optimizer (unknown key, wrong shape, a step count that is not a count).
    case badOptimizerState(file: String, message: String)

    /// A readable message.
    public var description: String {
        switch self {
        case .notATrainingState(let file): return "\(file): not a LaCLIP training state (missing format marker)"
        case .badMetadata(let file, let field): return "\(file): training-state metadata field '\(field)' is missing or malformed"
        case .badOptimizerState(let file, let message): return "\(file): \(message)"
        }
    }
}

/// Saves and restores everything a run needs to continue exactly where it stopped: the model's parameters,
/// the optimizer's per-parameter state and step count, the global step, the learning-rate schedule, the
/// modules' own generators (dropout) and any extra generators the caller owns (data order, augmentation).
///
/// One safetensors file holds it all: tensors under `model.<path>` and `optimizer.<path>.<state>`, scalars
/// and generators as JSON in the metadata. The write is atomic (temp file, fsync, rename), so a run
/// interrupted while saving keeps the previous checkpoint. Resuming from a saved state reproduces
/// uninterrupted training bit for bit.
public enum TrainingState {
    /// What `load` restores besides the model and optimizer.
    public struct Progress: Equatable, Sendable {
        /// The number of completed training steps.
        public var step: Int
        /// The schedule, if one was saved.
        public var schedule: LearningRateSchedule?
        /// The caller's generators by name.
        public var generators: [String: RandomGenerator]
        /// Free-form strings the caller saved.
        public var extra: [String: String]
    }

    static let formatKey = "laclip.format"
    static let formatValue = "training-state-v1"

    /// Writes a training state atomically.
    /// - Parameters:
    ///   - model: The model (parameters and module generators are saved).
    ///   - optimizer: The optimizer (moments and step count are saved).
    ///   - step: Completed training steps.
    ///   - schedule: The learning-rate schedule, if any.
    ///   - generators: The caller's generators (e.g. data shuffling), by name.
    ///   - extra: Free-form strings to keep with the state.
    ///   - url: The destination file.
    public static func save<M: Module, O: Optimizer>(
        model: M, optimizer: O, step: Int, schedule: LearningRateSchedule? = nil,
        generators: [String: RandomGenerator] = [:], extra: [String: String] = [:], to url: URL
    ) throws where M.Scalar == O.Scalar {
        var tensors: [String: Tensor<M.Scalar>] = [:]
        for (name, value) in model.stateDict() { tensors["model." + name] = value }
        for (name, value) in optimizer.stateTensors() { tensors["optimizer." + name] = value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var metadata: [String: String] = [formatKey: formatValue]
        metadata["step"] = String(step)
        metadata["optimizer.step_count"] = String(optimizer.stepCount)
        metadata["optimizer.learning_rate"] = String(Double(optimizer.learningRate))
        metadata["generators.model"] = String(decoding: try encoder.encode(model.namedGenerators()), as: UTF8.self)
        metadata["generators.user"] = String(decoding: try encoder.encode(generators), as: UTF8.self)
        metadata["extra"] = String(decoding: try encoder.encode(extra), as: UTF8.self)
        if let schedule { metadata["schedule"] = String(decoding: try encoder.encode(schedule), as: UTF8.self) }
        try SafeTensorsFile.write(tensors, metadata: metadata, to: url)
    }

    /// Restores a training state into `model` and `optimizer` (in place) and returns the rest.
    /// - Parameters:
    ///   - model: The model to restore; its parameter tree must match the saved one exactly.
    ///   - optimizer: The optimizer to restore; it must hold the same parameter paths.
    ///   - url: The file written by `save`.
    public static func load<M: Module, O: Optimizer>(into model: M, optimizer: O, from url: URL) throws -> Progress
    where M.Scalar == O.Scalar {
        let file = try SafeTensorsFile.read(contentsOf: url)
        let name = url.path
        guard file.metadata[formatKey] == formatValue else { throw TrainingStateError.notATrainingState(file: name) }
        func field(_ key: String) throws -> String {
            guard let value = file.metadata[key] else { throw TrainingStateError.badMetadata(file: name, field: key) }
            return value
        }
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            do { return try JSONDecoder().decode(T.self, from: Data(try field(key).utf8)) } catch let error as TrainingStateError {
                throw error
            } catch { throw TrainingStateError.badMetadata(file: name, field: key) }
        }
        guard let step = Int(try field("step")), step >= 0 else { throw TrainingStateError.badMetadata(file: name, field: "step") }
        guard let stepCount = Int(try field("optimizer.step_count")), stepCount >= 0 else {
            throw TrainingStateError.badMetadata(file: name, field: "optimizer.step_count")
        }
        guard let learningRate = Double(try field("optimizer.learning_rate")), learningRate.isFinite else {
            throw TrainingStateError.badMetadata(file: name, field: "optimizer.learning_rate")
        }
        let modelGenerators = try decode([String: RandomGenerator].self, "generators.model")
        let userGenerators = try decode([String: RandomGenerator].self, "generators.user")
        let extra = try decode([String: String].self, "extra")
        let schedule = file.metadata["schedule"] == nil ? nil : try decode(LearningRateSchedule.self, "schedule")

        let tensors = try file.tensors(as: M.Scalar.self)
        var modelState: [String: Tensor<M.Scalar>] = [:], optimizerState: [String: Tensor<M.Scalar>] = [:]
        for (key, value) in tensors {
            if key.hasPrefix("model.") { modelState[String(key.dropFirst(6))] = value }
            if key.hasPrefix("optimizer.") { optimizerState[String(key.dropFirst(10))] = value }
        }
        try model.loadStateDict(modelState, strict: true)
        do { try optimizer.loadStateTensors(optimizerState) } catch let error as OptimizerStateError {
            throw TrainingStateError.badOptimizerState(file: name, message: error.description)
        }
        optimizer.stepCount = stepCount
        optimizer.learningRate = M.Scalar(learningRate)
        model.loadGenerators(modelGenerators)
        return Progress(step: step, schedule: schedule, generators: userGenerators, extra: extra)
    }
}
