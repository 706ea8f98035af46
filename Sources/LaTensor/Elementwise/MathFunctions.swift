/// Elementwise math functions and activations for `Float` and `Double` tensors.
extension Tensor where Scalar: TensorFloatingPoint {
    /// e^x elementwise.
    @inlinable public func exp() -> Tensor { map(cost: 8) { Scalar.exp($0) } }
    /// Natural logarithm elementwise.
    @inlinable public func log() -> Tensor { map(cost: 8) { Scalar.log($0) } }
    /// log(1 + x) elementwise.
    @inlinable public func log1p() -> Tensor { map(cost: 8) { Scalar.log1p($0) } }
    /// Square root elementwise.
    @inlinable public func sqrt() -> Tensor { map(cost: 2) { $0.squareRoot() } }
    /// 1 / sqrt(x) elementwise.
    @inlinable public func rsqrt() -> Tensor { map(cost: 2) { 1 / $0.squareRoot() } }
    /// Hyperbolic tangent elementwise.
    @inlinable public func tanh() -> Tensor { map(cost: 8) { Scalar.tanh($0) } }
    /// x^exponent elementwise.
    /// - Parameter exponent: The scalar exponent.
    @inlinable public func pow(_ exponent: Scalar) -> Tensor {
        if exponent == 2 { return map { $0 * $0 } }
        if exponent == 1 { return map { $0 } }
        if exponent == 0.5 { return map(cost: 2) { $0.squareRoot() } }
        return map(cost: 8) { Scalar.pow($0, exponent) }
    }
    /// x^y elementwise with broadcasting.
    /// - Parameter exponent: The exponents.
    @inlinable public func pow(_ exponent: Tensor) -> Tensor {
        zip(exponent, operation: "pow", cost: 8) { Scalar.pow($0, $1) }
    }
    /// The logistic sigmoid 1 / (1 + e^-x), computed without overflow.
    @inlinable public func sigmoid() -> Tensor { map(cost: 8) { Tensor.sigmoid($0) } }
    /// max(x, 0) elementwise (NaN stays NaN, as in PyTorch).
    @inlinable public func relu() -> Tensor { map { $0 > 0 || $0 != $0 ? $0 : 0 } }
    /// GELU, x * Φ(x): the exact erf form (`approximate: false`, PyTorch's default) or the tanh form.
    /// - Parameter approximate: Use the tanh approximation.
    @inlinable public func gelu(approximate: Bool = false) -> Tensor {
        approximate ? map(cost: 10) { Tensor.geluTanh($0) } : map(cost: 10) { Tensor.geluErf($0) }
    }
    /// QuickGELU, x * sigmoid(1.702 x), as OpenAI CLIP uses.
    @inlinable public func quickGELU() -> Tensor { map(cost: 8) { $0 * Tensor.sigmoid(1.702 * $0) } }

    /// The logistic function of one scalar, stable for large |x|.
    /// - Parameter x: The input.
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Scalar) -> Scalar {
        if x >= 0 { return 1 / (1 + Scalar.exp(-x)) }
        let e = Scalar.exp(x)
        return e / (1 + e)
    }
    /// GELU (erf form) of one scalar.
    /// - Parameter x: The input.
    @inlinable @inline(__always)
    public static func geluErf(_ x: Scalar) -> Scalar {
        0.5 * x * (1 + Scalar.erf(x * 0.70710678118654752440))
    }
    /// GELU (tanh form) of one scalar.
    /// - Parameter x: The input.
    @inlinable @inline(__always)
    public static func geluTanh(_ x: Scalar) -> Scalar {
        0.5 * x * (1 + Scalar.tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)))
    }

    /// Applies e^x in place.
    @inlinable public func expInPlace() { mapInPlace(cost: 8) { Scalar.exp($0) } }
    /// Clamps every element to `[minimum, maximum]` in place.
    /// - Parameters:
    ///   - minimum: The lower bound (or nil).
    ///   - maximum: The upper bound (or nil).
    @inlinable public func clampInPlace(min minimum: Scalar? = nil, max maximum: Scalar? = nil) {
        let lo = minimum ?? -Scalar.infinity, hi = maximum ?? Scalar.infinity
        mapInPlace { Swift.min(Swift.max($0, lo), hi) }
    }
}
