import Foundation

extension Tensor where Scalar: TensorFloatingPoint {
    /// Fills `count` elements, element `i` from `values(blockBits, lane)` of block `i / perBlock`.
    @inlinable
    static func fillFromBlocks(
        shape: [Int], perBlock: Int, generator: inout RandomGenerator,
        _ values: (SIMD4<UInt32>, inout [Scalar]) -> Void
    ) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        let n = result.count
        let blocks = (n + perBlock - 1) / perBlock
        let start = generator.reserve(blocks: blocks)
        let key = generator.seed
        let output = result.storage.pointer
        Threading.parallelFor(total: blocks, cost: 16 * perBlock) { range in
            var lane = [Scalar](repeating: 0, count: perBlock)
            for block in range {
                values(RandomGenerator.philox(counter: start &+ UInt64(block), key: key), &lane)
                let base = block * perBlock
                for j in 0..<Swift.min(perBlock, n - base) { output[base + j] = lane[j] }
            }
        }
        return result
    }

    /// Uniform random values in `[low, high)`.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - low: The lower bound.
    ///   - high: The upper bound.
    ///   - generator: The random generator (advanced).
    @inlinable
    public static func uniform(_ shape: [Int], low: Scalar = 0, high: Scalar = 1, generator: inout RandomGenerator) -> Tensor {
        let width = high - low
        if Scalar.self == Float.self {
            return fillFromBlocks(shape: shape, perBlock: 4, generator: &generator) { bits, out in
                for j in 0..<4 { out[j] = low + width * Scalar(RandomGenerator.unitFloat(bits[j])) }
            }
        }
        return fillFromBlocks(shape: shape, perBlock: 2, generator: &generator) { bits, out in
            out[0] = low + width * Scalar(RandomGenerator.unitDouble(bits[0], bits[1]))
            out[1] = low + width * Scalar(RandomGenerator.unitDouble(bits[2], bits[3]))
        }
    }

    /// Uniform random values in `[0, 1)`, like `torch.rand`.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - generator: The random generator (advanced).
    @inlinable
    public static func rand(_ shape: [Int], generator: inout RandomGenerator) -> Tensor {
        uniform(shape, generator: &generator)
    }

    /// Normally distributed values (Box-Muller), like `torch.randn` scaled and shifted.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - mean: The mean.
    ///   - standardDeviation: The standard deviation.
    ///   - generator: The random generator (advanced).
    @inlinable
    public static func randn(
        _ shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1, generator: inout RandomGenerator
    ) -> Tensor {
        if Scalar.self == Float.self {
            return fillFromBlocks(shape: shape, perBlock: 4, generator: &generator) { bits, out in
                for pair in 0..<2 {
                    let u1 = 1 - Double(RandomGenerator.unitFloat(bits[2 * pair]))
                    let u2 = Double(RandomGenerator.unitFloat(bits[2 * pair + 1]))
                    let radius = Foundation.sqrt(-2 * Foundation.log(u1))
                    let angle = 2 * Double.pi * u2
                    out[2 * pair] = mean + standardDeviation * Scalar(radius * Foundation.cos(angle))
                    out[2 * pair + 1] = mean + standardDeviation * Scalar(radius * Foundation.sin(angle))
                }
            }
        }
        return fillFromBlocks(shape: shape, perBlock: 2, generator: &generator) { bits, out in
            let u1 = 1 - RandomGenerator.unitDouble(bits[0], bits[1])
            let u2 = RandomGenerator.unitDouble(bits[2], bits[3])
            let radius = Foundation.sqrt(-2 * Foundation.log(u1))
            let angle = 2 * Double.pi * u2
            out[0] = mean + standardDeviation * Scalar(radius * Foundation.cos(angle))
            out[1] = mean + standardDeviation * Scalar(radius * Foundation.sin(angle))
        }
    }

    /// Normal values truncated to `[low, high]` (absolute bounds, as `torch.nn.init.trunc_normal_`),
    /// drawn by inverting the normal CDF so each element uses a fixed amount of randomness.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - mean: The mean of the underlying normal.
    ///   - standardDeviation: Its standard deviation (positive).
    ///   - low: The lower bound.
    ///   - high: The upper bound (greater than `low`).
    ///   - generator: The random generator (advanced).
    @inlinable
    public static func truncatedNormal(
        _ shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1, low: Scalar = -2, high: Scalar = 2,
        generator: inout RandomGenerator
    ) -> Tensor {
        checkPrecondition(
            standardDeviation > 0 && low < high,
            "truncatedNormal: need standardDeviation > 0 and low < high, got \(standardDeviation), [\(low), \(high)]")
        let m = Double(mean), s = Double(standardDeviation)
        let cdfLow = 0.5 * (1 + Foundation.erf((Double(low) - m) / s / 2.0.squareRoot()))
        let cdfHigh = 0.5 * (1 + Foundation.erf((Double(high) - m) / s / 2.0.squareRoot()))
        let u = uniform(shape, low: Scalar(2 * cdfLow - 1), high: Scalar(2 * cdfHigh - 1), generator: &generator)
        return u.map(cost: 20) { value in
            let x = m + s * 2.0.squareRoot() * inverseErf(Double(value))
            return Scalar(Swift.min(Swift.max(x, Double(low)), Double(high)))
        }
    }

    /// Like `uniform`, using the default generator.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - low: The lower bound.
    ///   - high: The upper bound.
    public static func uniform(_ shape: [Int], low: Scalar = 0, high: Scalar = 1) -> Tensor {
        RandomGenerator.withDefault { uniform(shape, low: low, high: high, generator: &$0) }
    }
    /// Like `randn`, using the default generator.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - mean: The mean.
    ///   - standardDeviation: The standard deviation.
    public static func randn(_ shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1) -> Tensor {
        RandomGenerator.withDefault { randn(shape, mean: mean, standardDeviation: standardDeviation, generator: &$0) }
    }
}

/// The inverse error function on (-1, 1): Giles' approximation refined by two Newton steps.
/// - Parameter y: A value in [-1, 1].
@inlinable
public func inverseErf(_ y: Double) -> Double {
    if y <= -1 { return -.infinity }
    if y >= 1 { return .infinity }
    var w = -Foundation.log((1 - y) * (1 + y))
    var x: Double
    if w < 5 {
        w -= 2.5
        var p = 2.81022636e-08
        p = 3.43273939e-07 + p * w; p = -3.5233877e-06 + p * w; p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w
        p = 0.246640727 + p * w; p = 1.50140941 + p * w
        x = p * y
    } else {
        w = w.squareRoot() - 3
        var p = -0.000200214257
        p = 0.000100950558 + p * w; p = 0.00134934322 + p * w; p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w; p = -0.0076224613 + p * w; p = 0.00943887047 + p * w
        p = 1.00167406 + p * w; p = 2.83297682 + p * w
        x = p * y
    }
    for _ in 0..<2 {
        let error = Foundation.erf(x) - y
        x -= error / (2 / Double.pi.squareRoot() * Foundation.exp(-x * x))
    }
    return x
}

extension Tensor where Scalar == Int {
    /// Uniform random integers in `low ..< high`.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - low: The smallest value.
    ///   - high: One past the largest value.
    ///   - generator: The random generator (advanced).
    @inlinable
    public static func randint(_ shape: [Int], low: Int, high: Int, generator: inout RandomGenerator) -> Tensor {
        checkPrecondition(low < high, "randint: empty range \(low)..<\(high)")
        let u = Tensor<Double>.uniform(shape, generator: &generator)
        let width = Double(high - low)
        return u.map { Swift.min(low + Int($0 * width), high - 1) }
    }

    /// A random permutation of `0 ..< n` (Fisher-Yates), like `torch.randperm`.
    /// - Parameters:
    ///   - n: The number of elements.
    ///   - generator: The random generator (advanced).
    @inlinable
    public static func randomPermutation(_ n: Int, generator: inout RandomGenerator) -> Tensor {
        var values = Array(0..<n)
        values.shuffle(using: &generator)
        return Tensor(values)
    }
}
