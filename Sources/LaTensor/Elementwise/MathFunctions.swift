import CLaKernels

/// Elementwise math functions and activations for `Float` and `Double` tensors.
///
/// Contiguous `Float` tensors go through the vectorised CLaKernels (AVX2+FMA when available), split over the
/// worker threads; `Double` and strided `Float` operands take the Swift path, a loop specialised per kernel
/// type that calls libm.
extension Tensor where Scalar: TensorFloatingPoint {
    /// e^x elementwise.
    @inlinable public func exp() -> Tensor {
        floatVectorMap(cost: 4, { cla_exp_f32($0, $1, $2) }) ?? map(cost: 8, kernel: ExpKernel<Scalar>())
    }
    /// Natural logarithm elementwise.
    @inlinable public func log() -> Tensor { map(cost: 8, kernel: LogKernel<Scalar>()) }
    /// log(1 + x) elementwise.
    @inlinable public func log1p() -> Tensor { map(cost: 8, kernel: Log1pKernel<Scalar>()) }
    /// Square root elementwise.
    @inlinable public func sqrt() -> Tensor { map(cost: 2, kernel: SqrtKernel<Scalar>()) }
    /// 1 / sqrt(x) elementwise.
    @inlinable public func rsqrt() -> Tensor { map(cost: 2, kernel: RsqrtKernel<Scalar>()) }
    /// Hyperbolic tangent elementwise.
    @inlinable public func tanh() -> Tensor {
        floatVectorMap(cost: 4, { cla_tanh_f32($0, $1, $2) }) ?? map(cost: 8, kernel: TanhKernel<Scalar>())
    }
    /// x^exponent elementwise.
    /// - Parameter exponent: The scalar exponent.
    @inlinable public func pow(_ exponent: Scalar) -> Tensor {
        if exponent == 2 { return map(kernel: SquareKernel<Scalar>()) }
        if exponent == 1 { return map(kernel: IdentityKernel<Scalar>()) }
        if exponent == 0.5 { return map(cost: 2, kernel: SqrtKernel<Scalar>()) }
        return map(cost: 8, kernel: PowScalarKernel(exponent))
    }
    /// x^y elementwise with broadcasting.
    /// - Parameter exponent: The exponents.
    @inlinable public func pow(_ exponent: Tensor) -> Tensor {
        zip(exponent, operation: "pow", cost: 8, kernel: PowKernel<Scalar>())
    }
    /// The logistic sigmoid 1 / (1 + e^-x), computed without overflow.
    @inlinable public func sigmoid() -> Tensor {
        floatVectorMap(cost: 4, { cla_sigmoid_f32($0, $1, $2) }) ?? map(cost: 8, kernel: SigmoidKernel<Scalar>())
    }
    /// max(x, 0) elementwise (NaN stays NaN, as in PyTorch).
    @inlinable public func relu() -> Tensor { map(kernel: ReluKernel<Scalar>()) }
    /// GELU, x * Φ(x): the exact erf form (`approximate: false`, PyTorch's default) or the tanh form.
    /// - Parameter approximate: Use the tanh approximation.
    @inlinable public func gelu(approximate: Bool = false) -> Tensor {
        if approximate {
            return floatVectorMap(cost: 4, { cla_gelu_tanh_f32($0, $1, $2) })
                ?? map(cost: 10, kernel: GeluTanhKernel<Scalar>())
        }
        return floatVectorMap(cost: 4, { cla_gelu_erf_f32($0, $1, $2) }) ?? map(cost: 10, kernel: GeluErfKernel<Scalar>())
    }
    /// QuickGELU, x * sigmoid(1.702 x), as OpenAI CLIP uses.
    @inlinable public func quickGELU() -> Tensor {
        floatVectorMap(cost: 4, { cla_quick_gelu_f32($0, $1, $2) }) ?? map(cost: 8, kernel: QuickGeluKernel<Scalar>())
    }

    /// GELU's backward: `outputGradient * GELU'(self)`, where `self` is GELU's input.
    /// - Parameters:
    ///   - outputGradient: The gradient of the loss with respect to GELU's output (same shape as `self`).
    ///   - approximate: The tanh form's derivative instead of the exact (erf) form's.
    @inlinable public func geluBackward(outputGradient: Tensor, approximate: Bool = false) -> Tensor {
        checkPrecondition(
            shape == outputGradient.shape,
            "geluBackward: input shape \(shape) and output gradient shape \(outputGradient.shape) differ")
        if !approximate, let fast = floatVectorZip(outputGradient, cost: 5, { cla_gelu_erf_backward_f32($0, $1, $2, $3) }) {
            return fast
        }
        return zip(outputGradient, operation: "geluBackward", cost: 12, kernel: GeluBackwardKernel<Scalar>(approximate: approximate))
    }
    /// QuickGELU's backward: `outputGradient * QuickGELU'(self)`, where `self` is QuickGELU's input.
    /// - Parameter outputGradient: The gradient with respect to QuickGELU's output (same shape as `self`).
    @inlinable public func quickGELUBackward(outputGradient: Tensor) -> Tensor {
        checkPrecondition(
            shape == outputGradient.shape,
            "quickGELUBackward: input shape \(shape) and output gradient shape \(outputGradient.shape) differ")
        if let fast = floatVectorZip(outputGradient, cost: 5, { cla_quick_gelu_backward_f32($0, $1, $2, $3) }) {
            return fast
        }
        return zip(outputGradient, operation: "quickGELUBackward", cost: 10, kernel: QuickGeluBackwardKernel<Scalar>())
    }

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
    @inlinable public func expInPlace() {
        checkWritable(operation: "expInPlace")
        if floatVectorMapInPlace(cost: 4, { cla_exp_f32($0, $1, $2) }) { return }
        mapInPlace(cost: 8, kernel: ExpKernel<Scalar>())
    }
    /// Clamps every element to `[minimum, maximum]` in place.
    /// - Parameters:
    ///   - minimum: The lower bound (or nil).
    ///   - maximum: The upper bound (or nil).
    @inlinable public func clampInPlace(min minimum: Scalar? = nil, max maximum: Scalar? = nil) {
        let lo = minimum ?? -Scalar.infinity, hi = maximum ?? Scalar.infinity
        mapInPlace(kernel: ClampKernel(lo, hi))
    }
}
