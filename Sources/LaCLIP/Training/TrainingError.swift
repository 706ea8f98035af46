import Foundation
import LaNN

/// A training run that cannot go on: a bad setting, a diverged loss, a checkpoint that does not fit.
public enum TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A configuration value is out of range.
    case invalidConfiguration(field: String, message: String)
    /// The loss (or the gradient norm) of a step is NaN or infinite.
    case nonFiniteLoss(step: Int, loss: Double, gradientNorm: Double)
    /// A batch does not fit the trainer (size, image shape, text versions).
    case invalidBatch(String)
    /// A checkpoint cannot be used to resume this run.
    case checkpointMismatch(file: String, field: String, message: String)
    /// A checkpoint file is missing, unreadable or malformed.
    case badCheckpoint(file: String, message: String)
    /// The processes of a data-parallel run could not communicate (a rank died, a collective timed out).
    case distributed(DistributedError)

    /// A one-line message.
    public var description: String {
        switch self {
        case .invalidConfiguration(let field, let message): return "training configuration: \(field): \(message)"
        case .nonFiniteLoss(let step, let loss, let norm):
            return "training diverged at step \(step): loss \(loss), gradient norm \(norm) (lower the learning rate, "
                + "clip gradients, or skip such steps: laclip train --non-finite skip, NonFiniteLossPolicy.skip)"
        case .invalidBatch(let message): return "training batch: \(message)"
        case .checkpointMismatch(let file, let field, let message): return "\(file): \(field): \(message)"
        case .badCheckpoint(let file, let message): return "\(file): \(message)"
        case .distributed(let error): return error.description
        }
    }
}
