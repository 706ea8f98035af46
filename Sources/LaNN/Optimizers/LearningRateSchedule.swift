import Foundation

/// A learning rate as a function of the step, set on the optimizer before every step.
public enum LearningRateSchedule: Sendable, Codable, Equatable {
    /// The same rate at every step.
    case constant(base: Double)
    /// Linear warmup from `base / warmup` to `base` over `warmup` steps, then cosine decay to `floor` at
    /// `total` steps (open_clip's `cosine_lr` when floor = 0).
    case warmupCosine(base: Double, warmup: Int, total: Int, floor: Double = 0)
    /// Linear warmup, constant, then a cooldown over the last `cooldown` steps to `end` with the given
    /// power (1 = linear), like open_clip's `const_lr_cooldown`.
    case constantWithCooldown(base: Double, warmup: Int, total: Int, cooldown: Int, end: Double = 0, power: Double = 1)

    /// The learning rate at a 0-based step.
    /// - Parameter step: The optimizer step about to be taken (0 for the first).
    public func learningRate(at step: Int) -> Double {
        switch self {
        case .constant(let base):
            return base
        case .warmupCosine(let base, let warmup, let total, let floor):
            if step < warmup { return base * Double(step + 1) / Double(warmup) }
            let elapsed = Double(step - warmup), span = Double(Swift.max(total - warmup, 1))
            let progress = Swift.min(elapsed / span, 1)
            return floor + (base - floor) * 0.5 * (1 + cos(Double.pi * progress))
        case .constantWithCooldown(let base, let warmup, let total, let cooldown, let end, let power):
            if step < warmup { return base * Double(step + 1) / Double(warmup) }
            let start = total - cooldown
            if step < start { return base }
            let progress = Swift.min(Double(step - start) / Double(Swift.max(cooldown, 1)), 1)
            let decay = Foundation.pow(1 - progress, power)
            return end + (base - end) * decay
        }
    }
}
