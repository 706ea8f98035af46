import LaTensor

/// Stochastic gradient descent with optional momentum (heavy-ball or Nesterov), dampening and L2 weight
/// decay, exactly as `torch.optim.SGD` updates.
public final class SGD<Scalar: TensorFloatingPoint>: Optimizer {
    /// The parameter groups.
    public let groups: [ParameterGroup<Scalar>]
    /// The base learning rate.
    public var learningRate: Scalar
    /// The momentum factor (0 = none).
    public let momentum: Scalar
    /// Dampening of the momentum.
    public let dampening: Scalar
    /// Use Nesterov momentum.
    public let nesterov: Bool
    /// Steps taken.
    public var stepCount = 0
    var buffers: [String: Tensor<Scalar>] = [:]

    /// Creates the optimizer.
    /// - Parameters:
    ///   - groups: Parameter groups (each with its weight decay).
    ///   - learningRate: The base learning rate.
    ///   - momentum: Momentum factor.
    ///   - dampening: Dampening for momentum.
    ///   - nesterov: Use Nesterov momentum (needs momentum > 0 and no dampening).
    public init(groups: [ParameterGroup<Scalar>], learningRate: Scalar, momentum: Scalar = 0, dampening: Scalar = 0, nesterov: Bool = false) {
        checkPrecondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum needs momentum > 0 and zero dampening")
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
    }

    /// Updates every parameter that has a gradient.
    public func step() {
        stepCount += 1
        for group in groups {
            let lr = group.learningRate ?? learningRate
            let decay = group.weightDecay
            for (name, parameter) in group.parameters {
                guard let grad = parameter.grad else { continue }
                var d = decay != 0 ? grad + parameter.value * decay : grad
                if momentum != 0 {
                    if let buffer = buffers[name] {
                        buffer.zipInPlace(d) { b, g in self.momentum * b + (1 - self.dampening) * g }
                    } else {
                        buffers[name] = d.copy()
                    }
                    let buffer = buffers[name]!
                    d = nesterov ? d + buffer * momentum : buffer
                }
                parameter.value.subtractInPlace(d * lr)
            }
        }
    }

    /// Momentum buffers as `<path>.momentum_buffer`.
    public func stateTensors() -> [String: Tensor<Scalar>] {
        Dictionary(uniqueKeysWithValues: buffers.map { ($0.key + ".momentum_buffer", $0.value) })
    }

    /// Restores momentum buffers.
    /// - Parameter state: Tensors saved by `stateTensors()`.
    public func loadStateTensors(_ state: [String: Tensor<Scalar>]) throws {
        var restored: [String: Tensor<Scalar>] = [:]
        let shapes = Dictionary(groups.flatMap { $0.parameters.map { ($0.name, $0.parameter.shape) } }, uniquingKeysWith: { a, _ in a })
        for (key, value) in state {
            guard key.hasSuffix(".momentum_buffer") else { throw OptimizerStateError(message: "unexpected key \(key)") }
            let name = String(key.dropLast(".momentum_buffer".count))
            guard let shape = shapes[name] else { throw OptimizerStateError(message: "no parameter named \(name)") }
            guard shape == value.shape else { throw OptimizerStateError(message: "\(key) has shape \(value.shape), parameter has \(shape)") }
            restored[name] = value.copy()
        }
        buffers = restored
    }
}
