import LaTensor

/// A lookup table of `count` vectors of size `dimension` (`torch.nn.Embedding`). Parameter: `weight`.
public final class Embedding<Scalar: TensorFloatingPoint>: Module {
    /// [count, dimension].
    public let weight: Variable<Scalar>
    /// Training mode.
    public var isTraining = true

    /// Creates a table initialised from N(0, standardDeviation²) (PyTorch's default is 1; CLIP uses 0.02).
    /// - Parameters:
    ///   - count: The number of entries (vocabulary size).
    ///   - dimension: The vector size.
    ///   - standardDeviation: Standard deviation of the initial values.
    ///   - generator: The random generator.
    public init(count: Int, dimension: Int, standardDeviation: Scalar = 1, generator: inout RandomGenerator) {
        weight = Variable(Initializer.normal([count, dimension], standardDeviation: standardDeviation, generator: &generator), requiresGrad: true)
    }

    /// The parameter `weight`.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] { [("weight", weight)] }

    /// Looks up `indices` (any shape) and returns `indices.shape + [dimension]`.
    /// - Parameter indices: Entry numbers in `0 ..< count`.
    @inlinable
    public func callAsFunction(_ indices: Tensor<Int>) -> Variable<Scalar> {
        weight.indexSelect(indices, axis: 0)
    }
}
