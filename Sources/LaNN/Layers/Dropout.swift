import LaTensor

extension Variable {
    /// Inverted dropout: zeroes each element with probability `probability` and scales the rest by
    /// 1 / (1 - probability). The mask is drawn from `generator`.
    /// - Parameters:
    ///   - probability: The drop probability in [0, 1).
    ///   - generator: The random generator (advanced).
    @inlinable
    public func dropout(probability: Scalar, generator: inout RandomGenerator) -> Variable {
        checkPrecondition(probability >= 0 && probability < 1, "dropout: probability \(probability) is not in [0, 1)")
        if probability == 0 { return self }
        let keep = 1 - probability
        let scale = 1 / keep
        let mask = Tensor<Scalar>.rand(shape, generator: &generator).map { $0 < keep ? scale : 0 }
        return Variable.record(value * mask, name: "dropout", inputs: [self]) { g in [g * mask] }
    }
}

/// Dropout (`torch.nn.Dropout`): active in training mode only. Holds its own seeded generator, whose state
/// is part of a saved training state.
public final class Dropout<Scalar: TensorFloatingPoint>: Module {
    /// The drop probability.
    public let probability: Scalar
    /// The generator for the masks.
    public var generator: RandomGenerator
    /// Training mode.
    public var isTraining = true

    /// Creates a dropout layer.
    /// - Parameters:
    ///   - probability: The drop probability in [0, 1).
    ///   - seed: Seed of the mask generator.
    public init(probability: Scalar, seed: UInt64 = 0) {
        checkPrecondition(probability >= 0 && probability < 1, "Dropout: probability \(probability) is not in [0, 1)")
        self.probability = probability
        self.generator = RandomGenerator(seed: seed)
    }

    /// No parameters.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] { [] }

    /// The mask generator, under the name `generator`.
    public var localGenerators: [String: RandomGenerator] {
        get { ["generator": generator] }
        set { if let saved = newValue["generator"] { generator = saved } }
    }

    /// Applies dropout in training mode; the identity in evaluation mode.
    /// - Parameter input: Any shape.
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        guard isTraining && probability > 0 else { return input }
        return input.dropout(probability: probability, generator: &generator)
    }
}
