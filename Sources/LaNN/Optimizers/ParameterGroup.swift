import LaTensor

/// A set of parameters that share optimizer settings (PyTorch's `param_groups`).
public struct ParameterGroup<Scalar: TensorFloatingPoint> {
    /// The parameters with their dotted paths (the keys of the optimizer state).
    public var parameters: [(name: String, parameter: Variable<Scalar>)]
    /// The group's learning rate; nil uses the optimizer's.
    public var learningRate: Scalar?
    /// The group's weight decay.
    public var weightDecay: Scalar

    /// Creates a group.
    /// - Parameters:
    ///   - parameters: Named parameters.
    ///   - learningRate: A group learning rate, or nil for the optimizer's.
    ///   - weightDecay: The group's weight decay.
    public init(parameters: [(name: String, parameter: Variable<Scalar>)], learningRate: Scalar? = nil, weightDecay: Scalar = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// Whether the open_clip / LaCLIP training scripts exempt a parameter from weight decay: gains and
    /// biases, LayerNorm and BatchNorm parameters, anything with fewer than 2 dimensions (1-D embeddings
    /// such as `class_embedding`), and `logit_scale`.
    /// - Parameters:
    ///   - name: The dotted path.
    ///   - rank: The parameter's number of dimensions.
    public static func isExemptFromWeightDecay(name: String, rank: Int) -> Bool {
        rank < 2 || name.contains("bn") || name.contains("ln") || name.contains("bias") || name.contains("logit_scale")
    }

    /// Splits parameters into the two groups open_clip and LaCLIP use: weight decay `weightDecay` on
    /// matrices, none on gains, biases, norms, 1-D embeddings and `logit_scale`.
    /// - Parameters:
    ///   - parameters: Named parameters (frozen ones are left out).
    ///   - weightDecay: The decay of the decayed group.
    public static func clipStyle(_ parameters: [(name: String, parameter: Variable<Scalar>)], weightDecay: Scalar) -> [ParameterGroup] {
        let trainable = parameters.filter { $0.parameter.requiresGrad }
        let exempt = trainable.filter { isExemptFromWeightDecay(name: $0.name, rank: $0.parameter.rank) }
        let decayed = trainable.filter { !isExemptFromWeightDecay(name: $0.name, rank: $0.parameter.rank) }
        return [ParameterGroup(parameters: exempt, weightDecay: 0), ParameterGroup(parameters: decayed, weightDecay: weightDecay)]
    }
}

/// What every optimizer offers: a step over its parameter groups, a settable base learning rate, and
/// per-parameter state (moments) keyed by parameter path, for checkpoints.
public protocol Optimizer<Scalar>: AnyObject {
    /// The parameter element type.
    associatedtype Scalar: TensorFloatingPoint
    /// The parameter groups.
    var groups: [ParameterGroup<Scalar>] { get }
    /// The base learning rate (a schedule sets it before each step).
    var learningRate: Scalar { get set }
    /// The number of steps taken.
    var stepCount: Int { get set }
    /// Updates every parameter that has a gradient.
    func step()
    /// Per-parameter state tensors by "<parameter path>.<state name>" (e.g. `visual.proj.exp_avg`).
    func stateTensors() -> [String: Tensor<Scalar>]
    /// Restores state saved by `stateTensors()`.
    /// - Parameter state: The saved tensors.
    func loadStateTensors(_ state: [String: Tensor<Scalar>]) throws
}

extension Optimizer {
    /// Clears the gradients of every parameter.
    public func zeroGrad() {
        for group in groups { for (_, parameter) in group.parameters { parameter.zeroGrad() } }
    }
}

/// A saved optimizer state that does not fit the optimizer.
public struct OptimizerStateError: Error, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// The message.
    public var description: String { "optimizer state: " + message }
}

/// Scales all gradients so that their global 2-norm is at most `maxNorm`, like
/// `torch.nn.utils.clip_grad_norm_`, and returns the norm before clipping.
/// - Parameters:
///   - parameters: The parameters whose gradients are clipped together.
///   - maxNorm: The largest allowed global norm.
@discardableResult
public func clipGradientNorm<T: TensorFloatingPoint>(_ parameters: [Variable<T>], maxNorm: T) -> T {
    let grads = parameters.compactMap(\.grad)
    var total: T = 0
    for g in grads { total += g.square().sum().item }
    let norm = total.squareRoot()
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for g in grads { g.multiplyInPlace(coefficient) }
    }
    return norm
}
