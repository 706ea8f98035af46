import Foundation
import LaNN

/// The contrastive objective a `CLIPTrainer` optimises.
public enum ContrastiveLossKind: String, Codable, Sendable, CaseIterable {
    /// CLIP's symmetric InfoNCE loss (`clipLoss`); with several text versions per image, LaCLIP-MT's mean over
    /// versions (`multiTextCLIPLoss`).
    case clip
    /// SigLIP's pairwise sigmoid loss (`sigLIPLoss`); with several text versions, the mean over versions. The
    /// model needs `CLIPConfiguration.sigmoidLoss`.
    case siglip
}

/// The shape of the learning-rate curve (open_clip's `--lr-scheduler`).
public enum ScheduleKind: String, Codable, Sendable, CaseIterable {
    /// Linear warmup, then cosine decay to 0 at the last step (open_clip's `cosine`).
    case cosine
    /// Linear warmup, then constant (open_clip's `const`).
    case constant
    /// Linear warmup, constant, then a linear cooldown to 0 over the last `cooldownSteps` (open_clip's
    /// `const-cooldown`).
    case constantCooldown = "const-cooldown"
}

/// What a `CLIPTrainer` does when a step's loss or gradient norm is NaN or infinite.
public enum NonFiniteLossPolicy: String, Codable, Sendable, CaseIterable {
    /// Throw `TrainingError.nonFiniteLoss` without touching the parameters (the default).
    case stop
    /// Drop the step's gradients, leave the parameters and optimizer moments as they were, count the step as
    /// skipped and go on.
    case skip
}

/// The optimisation settings of a `CLIPTrainer`: AdamW with open_clip's parameter groups, a schedule, gradient
/// clipping and gradient accumulation. `Codable`, so that a checkpoint carries it.
public struct TrainerConfiguration: Codable, Sendable, Equatable {
    /// The contrastive loss.
    public var loss: ContrastiveLossKind
    /// The peak learning rate.
    public var learningRate: Double
    /// AdamW's decoupled weight decay on matrices (gains, biases, norms, embeddings' 1-D parameters and
    /// `logit_scale` are exempt, as in open_clip).
    public var weightDecay: Double
    /// AdamW's first-moment decay.
    public var beta1: Double
    /// AdamW's second-moment decay.
    public var beta2: Double
    /// AdamW's denominator term.
    public var epsilon: Double
    /// Linear warmup steps.
    public var warmupSteps: Int
    /// The total number of optimizer steps of the run (the schedule's length).
    public var totalSteps: Int
    /// The schedule's shape.
    public var schedule: ScheduleKind
    /// The cooldown length for `.constantCooldown`.
    public var cooldownSteps: Int
    /// The largest global gradient 2-norm (`clip_grad_norm_`), or nil for no clipping.
    public var gradientClipNorm: Double?
    /// Micro-batches per optimizer step (open_clip's `--accum-freq`): each step's batch is cut into this many
    /// parts whose features are computed first without gradients, then each part again with gradients against
    /// the cached others, so the negatives are the whole batch's while only one part's activations are alive.
    public var accumulationSteps: Int
    /// What to do with a non-finite loss.
    public var nonFiniteLoss: NonFiniteLossPolicy

    /// Creates a configuration; the defaults are open_clip's for CLIP (AdamW β = (0.9, 0.98), ε = 1e-6,
    /// weight decay 0.2, cosine schedule).
    /// - Parameters:
    ///   - loss: The contrastive loss.
    ///   - learningRate: The peak learning rate.
    ///   - weightDecay: Weight decay on matrices.
    ///   - beta1: First-moment decay.
    ///   - beta2: Second-moment decay.
    ///   - epsilon: Denominator term.
    ///   - warmupSteps: Warmup steps.
    ///   - totalSteps: Optimizer steps of the run.
    ///   - schedule: The schedule's shape.
    ///   - cooldownSteps: Cooldown steps for `.constantCooldown`.
    ///   - gradientClipNorm: The gradient-norm bound, or nil.
    ///   - accumulationSteps: Micro-batches per step.
    ///   - nonFiniteLoss: What to do with a non-finite loss.
    public init(
        loss: ContrastiveLossKind = .clip, learningRate: Double = 5e-4, weightDecay: Double = 0.2, beta1: Double = 0.9,
        beta2: Double = 0.98, epsilon: Double = 1e-6, warmupSteps: Int = 0, totalSteps: Int, schedule: ScheduleKind = .cosine,
        cooldownSteps: Int = 0, gradientClipNorm: Double? = nil, accumulationSteps: Int = 1,
        nonFiniteLoss: NonFiniteLossPolicy = .stop
    ) {
        self.loss = loss
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.schedule = schedule
        self.cooldownSteps = cooldownSteps
        self.gradientClipNorm = gradientClipNorm
        self.accumulationSteps = accumulationSteps
        self.nonFiniteLoss = nonFiniteLoss
    }

    /// Checks every value; called by `CLIPTrainer.init`.
    /// - Throws: `TrainingError.invalidConfiguration` naming the field, for NaN, infinite, negative or
    ///   out-of-range values.
    public func validate() throws(TrainingError) {
        func bad(_ field: String, _ message: String) -> TrainingError { .invalidConfiguration(field: field, message: message) }
        guard learningRate.isFinite, learningRate >= 0 else { throw bad("learningRate", "must be finite and ≥ 0, got \(learningRate)") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw bad("weightDecay", "must be finite and ≥ 0, got \(weightDecay)") }
        guard beta1.isFinite, beta1 >= 0, beta1 < 1 else { throw bad("beta1", "must be in [0, 1), got \(beta1)") }
        guard beta2.isFinite, beta2 >= 0, beta2 < 1 else { throw bad("beta2", "must be in [0, 1), got \(beta2)") }
        guard epsilon.isFinite, epsilon > 0 else { throw bad("epsilon", "must be finite and > 0, got \(epsilon)") }
        guard totalSteps >= 1 else { throw bad("totalSteps", "must be ≥ 1, got \(totalSteps)") }
        guard warmupSteps >= 0 else { throw bad("warmupSteps", "must be ≥ 0, got \(warmupSteps)") }
        guard cooldownSteps >= 0, cooldownSteps <= totalSteps else {
            throw bad("cooldownSteps", "must be in 0...\(totalSteps), got \(cooldownSteps)")
        }
        if let gradientClipNorm {
            guard gradientClipNorm.isFinite, gradientClipNorm > 0 else {
                throw bad("gradientClipNorm", "must be finite and > 0, got \(gradientClipNorm)")
            }
        }
        guard accumulationSteps >= 1, accumulationSteps <= 4096 else {
            throw bad("accumulationSteps", "must be in 1...4096, got \(accumulationSteps)")
        }
    }

    /// The learning-rate schedule these settings describe.
    public var learningRateSchedule: LearningRateSchedule {
        switch schedule {
        case .cosine: return .warmupCosine(base: learningRate, warmup: warmupSteps, total: totalSteps)
        case .constant: return .constantWithCooldown(base: learningRate, warmup: warmupSteps, total: totalSteps, cooldown: 0)
        case .constantCooldown:
            return .constantWithCooldown(base: learningRate, warmup: warmupSteps, total: totalSteps, cooldown: cooldownSteps)
        }
    }
}
