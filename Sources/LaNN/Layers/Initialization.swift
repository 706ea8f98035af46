import LaTensor

/// Parameter initialisers, all drawing from an explicit seeded generator.
public enum Initializer {
    /// Uniform in `[-bound, bound]` (PyTorch's default `Linear` init uses bound = 1/sqrt(fan_in)).
    /// - Parameters:
    ///   - shape: The parameter shape.
    ///   - bound: The half-width.
    ///   - generator: The random generator.
    public static func uniform<T: TensorFloatingPoint>(_ shape: [Int], bound: T, generator: inout RandomGenerator) -> Tensor<T> {
        Tensor<T>.uniform(shape, low: -bound, high: bound, generator: &generator)
    }

    /// Normal with mean 0 and the given standard deviation (CLIP's `nn.init.normal_`).
    /// - Parameters:
    ///   - shape: The parameter shape.
    ///   - standardDeviation: The standard deviation.
    ///   - generator: The random generator.
    public static func normal<T: TensorFloatingPoint>(_ shape: [Int], standardDeviation: T, generator: inout RandomGenerator) -> Tensor<T> {
        Tensor<T>.randn(shape, standardDeviation: standardDeviation, generator: &generator)
    }
}
