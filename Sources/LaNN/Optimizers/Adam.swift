import LaTensor

/// Adam and AdamW, updating exactly as `torch.optim.Adam` / `torch.optim.AdamW` (non-amsgrad, single
/// tensor path): moments `exp_avg` and `exp_avg_sq` per parameter, bias correction, and either L2 weight
/// decay folded into the gradient (Adam) or decoupled decay `p -= lr * wd * p` (AdamW).
public final class Adam<Scalar: TensorFloatingPoint>: Optimizer {
    /// The parameter groups.
    public let groups: [ParameterGroup<Scalar>]
    /// The base learning rate.
    public var learningRate: Scalar
    /// Decay rate of the first moment.
    public let beta1: Scalar
    /// Decay rate of the second moment.
    public let beta2: Scalar
    /// Added to the denominator.
    public let epsilon: Scalar
    /// Decoupled weight decay (AdamW) instead of L2 (Adam).
    public let decoupledWeightDecay: Bool
    /// Steps taken.
    public var stepCount = 0
    @usableFromInline var firstMoments: [String: Tensor<Scalar>] = [:]
    @usableFromInline var secondMoments: [String: Tensor<Scalar>] = [:]
    @usableFromInline var steps: [String: Int] = [:]

    /// Creates the optimizer.
    /// - Parameters:
    ///   - groups: Parameter groups (each with its weight decay).
    ///   - learningRate: The base learning rate.
    ///   - beta1: First-moment decay (0.9).
    ///   - beta2: Second-moment decay (0.999; CLIP uses 0.98).
    ///   - epsilon: Denominator term (1e-8; CLIP uses 1e-6).
    ///   - decoupledWeightDecay: True for AdamW.
    public init(groups: [ParameterGroup<Scalar>], learningRate: Scalar, beta1: Scalar = 0.9, beta2: Scalar = 0.999, epsilon: Scalar = 1e-8, decoupledWeightDecay: Bool = false) {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW (decoupled weight decay), as `torch.optim.AdamW`.
    /// - Parameters:
    ///   - groups: Parameter groups (each with its weight decay).
    ///   - learningRate: The base learning rate.
    ///   - beta1: First-moment decay.
    ///   - beta2: Second-moment decay.
    ///   - epsilon: Denominator term.
    public static func adamW(groups: [ParameterGroup<Scalar>], learningRate: Scalar, beta1: Scalar = 0.9, beta2: Scalar = 0.999, epsilon: Scalar = 1e-8) -> Adam {
        Adam(groups: groups, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupledWeightDecay: true)
    }

    /// Updates every parameter that has a gradient.
    @inlinable
    public func step() {
        stepCount += 1
        for group in groups {
            let lr = group.learningRate ?? learningRate
            let decay = group.weightDecay
            for (name, parameter) in group.parameters {
                guard let grad = parameter.grad else { continue }
                let value = parameter.value
                checkPrecondition(value.isContiguous && grad.shape == value.shape, "Adam: parameter \(name) must be contiguous with a matching gradient")
                let m = firstMoments[name] ?? Tensor<Scalar>.zeros(value.shape)
                let v = secondMoments[name] ?? Tensor<Scalar>.zeros(value.shape)
                firstMoments[name] = m
                secondMoments[name] = v
                let t = (steps[name] ?? 0) + 1
                steps[name] = t
                let correction1 = 1 - Scalar.pow(beta1, Scalar(t))
                let correction2Sqrt = (1 - Scalar.pow(beta2, Scalar(t))).squareRoot()
                let stepSize = lr / correction1
                let g = grad.contiguous()
                let pp = value.storage.pointer + value.offset, pg = UnsafePointer(g.storage.pointer + g.offset)
                let pm = m.storage.pointer, pv = v.storage.pointer
                let (b1, b2, eps, decoupled) = (beta1, beta2, epsilon, decoupledWeightDecay)
                withExtendedLifetime((g, m, v, value)) {
                    Threading.parallelFor(total: value.count, cost: 12) { range in
                        for i in range {
                            var gi = pg[i]
                            if decay != 0 {
                                if decoupled { pp[i] *= 1 - lr * decay } else { gi += decay * pp[i] }
                            }
                            pm[i] += (gi - pm[i]) * (1 - b1)
                            pv[i] = pv[i] * b2 + (1 - b2) * gi * gi
                            let denominator = pv[i].squareRoot() / correction2Sqrt + eps
                            pp[i] -= stepSize * pm[i] / denominator
                        }
                    }
                }
            }
        }
    }

    /// Moments as `<path>.exp_avg`, `<path>.exp_avg_sq`, and the per-parameter step as `<path>.step`.
    public func stateTensors() -> [String: Tensor<Scalar>] {
        var result: [String: Tensor<Scalar>] = [:]
        for (name, m) in firstMoments { result[name + ".exp_avg"] = m }
        for (name, v) in secondMoments { result[name + ".exp_avg_sq"] = v }
        for (name, t) in steps { result[name + ".step"] = Tensor(scalar: Scalar(t)) }
        return result
    }

    /// Restores state saved by `stateTensors()`.
    /// - Parameter state: The saved tensors.
    public func loadStateTensors(_ state: [String: Tensor<Scalar>]) throws {
        let shapes = Dictionary(groups.flatMap { $0.parameters.map { ($0.name, $0.parameter.shape) } }, uniquingKeysWith: { a, _ in a })
        var m: [String: Tensor<Scalar>] = [:], v: [String: Tensor<Scalar>] = [:], t: [String: Int] = [:]
        for (key, value) in state {
            let suffix = [".exp_avg_sq", ".exp_avg", ".step"].first { key.hasSuffix($0) }
            guard let suffix else { throw OptimizerStateError(message: "unexpected key \(key)") }
            let name = String(key.dropLast(suffix.count))
            guard let shape = shapes[name] else { throw OptimizerStateError(message: "no parameter named \(name) (key \(key))") }
            switch suffix {
            case ".step":
                guard value.count == 1 else { throw OptimizerStateError(message: "\(key) is not a scalar") }
                let count = Double(value.item)
                // A value read from a file: NaN, infinite, negative, fractional or huge counts are rejected, never trapped on.
                guard count.isFinite, count >= 0, count <= 9_007_199_254_740_992, count.rounded() == count else {
                    throw OptimizerStateError(message: "\(key) = \(count) is not a step count (a non-negative integer)")
                }
                t[name] = Int(count)
            default:
                guard value.shape == shape else { throw OptimizerStateError(message: "\(key) has shape \(value.shape), parameter has \(shape)") }
                if suffix == ".exp_avg" { m[name] = value.copy() } else { v[name] = value.copy() }
            }
        }
        firstMoments = m
        secondMoments = v
        steps = t
    }
}
