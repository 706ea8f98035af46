import LaTensor

/// GELU as a module (`torch.nn.GELU`), exact erf form or tanh approximation.
public final class GELU<Scalar: TensorFloatingPoint>: Module {
    /// Use the tanh approximation.
    public let approximate: Bool
    /// Training mode.
    public var isTraining = true
    /// Creates the activation.
    /// - Parameter approximate: Use the tanh approximation.
    public init(approximate: Bool = false) { self.approximate = approximate }
    /// No parameters.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] { [] }
    /// Applies GELU elementwise.
    /// - Parameter input: Any shape.
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.gelu(approximate: approximate) }
}

/// QuickGELU, x * sigmoid(1.702 x), the activation of OpenAI's CLIP models.
public final class QuickGELU<Scalar: TensorFloatingPoint>: Module {
    /// Training mode.
    public var isTraining = true
    /// Creates the activation.
    public init() {}
    /// No parameters.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] { [] }
    /// Applies QuickGELU elementwise.
    /// - Parameter input: Any shape.
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.quickGELU() }
}

/// The activation used inside a transformer MLP.
public enum Activation: String, Sendable, Codable {
    /// Exact GELU (open_clip's default).
    case gelu
    /// x * sigmoid(1.702 x) (OpenAI CLIP).
    case quickGELU
}

extension Variable {
    /// Applies the given activation.
    /// - Parameter activation: Which function.
    @inlinable
    public func activated(_ activation: Activation) -> Variable {
        switch activation {
        case .gelu: return gelu()
        case .quickGELU: return quickGELU()
        }
    }
}
