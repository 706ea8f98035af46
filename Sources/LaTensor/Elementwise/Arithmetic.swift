/// Broadcasting arithmetic: `+ - * /` between tensors and with scalars, negation, and in-place forms.
extension Tensor where Scalar: TensorNumeric {
    /// Elementwise sum with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "add", kernel: AddKernel()) }
    /// Elementwise difference with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "sub", kernel: SubtractKernel()) }
    /// Elementwise product with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "mul", kernel: MultiplyKernel()) }

    /// Adds a scalar to every element.
    /// - Parameters:
    ///   - lhs: The tensor.
    ///   - rhs: The scalar.
    @inlinable public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map(kernel: AddScalarKernel(rhs)) }
    /// Adds a scalar to every element.
    /// - Parameters:
    ///   - lhs: The scalar.
    ///   - rhs: The tensor.
    @inlinable public static func + (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map(kernel: AddScalarKernel(lhs)) }
    /// Subtracts a scalar from every element.
    /// - Parameters:
    ///   - lhs: The tensor.
    ///   - rhs: The scalar.
    @inlinable public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map(kernel: SubtractScalarKernel(rhs)) }
    /// Subtracts every element from a scalar.
    /// - Parameters:
    ///   - lhs: The scalar.
    ///   - rhs: The tensor.
    @inlinable public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map(kernel: ScalarSubtractKernel(lhs)) }
    /// Multiplies every element by a scalar.
    /// - Parameters:
    ///   - lhs: The tensor.
    ///   - rhs: The scalar.
    @inlinable public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map(kernel: MultiplyScalarKernel(rhs)) }
    /// Multiplies every element by a scalar.
    /// - Parameters:
    ///   - lhs: The scalar.
    ///   - rhs: The tensor.
    @inlinable public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map(kernel: MultiplyScalarKernel(lhs)) }

    /// Adds `other` (broadcast to `shape`) into this view's storage, like PyTorch's `add_`.
    /// - Parameter other: The addend.
    @inlinable public func addInPlace(_ other: Tensor) { zipInPlace(other, operation: "addInPlace", kernel: AddKernel()) }
    /// Subtracts `other` (broadcast to `shape`) in place.
    /// - Parameter other: The subtrahend.
    @inlinable public func subtractInPlace(_ other: Tensor) { zipInPlace(other, operation: "subtractInPlace", kernel: SubtractKernel()) }
    /// Multiplies by `other` (broadcast to `shape`) in place.
    /// - Parameter other: The factor.
    @inlinable public func multiplyInPlace(_ other: Tensor) { zipInPlace(other, operation: "multiplyInPlace", kernel: MultiplyKernel()) }
    /// Multiplies every element by a scalar in place.
    /// - Parameter factor: The factor.
    @inlinable public func multiplyInPlace(_ factor: Scalar) { mapInPlace(kernel: MultiplyScalarKernel(factor)) }
    /// Adds `alpha * other` in place (an axpy), like PyTorch's `add_(other, alpha=)`.
    /// - Parameters:
    ///   - other: The tensor to add, broadcast to `shape`.
    ///   - alpha: Its scale.
    @inlinable public func addInPlace(_ other: Tensor, alpha: Scalar) {
        zipInPlace(other, operation: "addInPlace", kernel: AxpyKernel(alpha))
    }

    /// Elementwise absolute value.
    @inlinable public func abs() -> Tensor { map(kernel: AbsKernel()) }
    /// Elementwise square.
    @inlinable public func square() -> Tensor { map(kernel: SquareKernel()) }
}

extension Tensor where Scalar: TensorNumeric & SignedNumeric {
    /// Elementwise negation.
    /// - Parameter operand: The tensor.
    @inlinable public static prefix func - (operand: Tensor) -> Tensor { operand.map(kernel: NegateKernel()) }
}

extension Tensor where Scalar: TensorFloatingPoint {
    /// Elementwise quotient with broadcasting.
    /// - Parameters:
    ///   - lhs: The dividend.
    ///   - rhs: The divisor.
    @inlinable public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "div", kernel: DivideKernel()) }
    /// Divides every element by a scalar.
    /// - Parameters:
    ///   - lhs: The tensor.
    ///   - rhs: The scalar divisor.
    @inlinable public static func / (lhs: Tensor, rhs: Scalar) -> Tensor {
        let inverse = 1 / rhs
        return lhs.map(kernel: MultiplyScalarKernel(inverse))
    }
    /// Divides a scalar by every element.
    /// - Parameters:
    ///   - lhs: The scalar dividend.
    ///   - rhs: The tensor.
    @inlinable public static func / (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map(kernel: ScalarDivideKernel(lhs)) }
    /// Divides by `other` (broadcast to `shape`) in place.
    /// - Parameter other: The divisor.
    @inlinable public func divideInPlace(_ other: Tensor) { zipInPlace(other, operation: "divideInPlace", kernel: DivideKernel()) }
}

extension Tensor where Scalar: BinaryInteger & TensorNumeric {
    /// Elementwise integer division (truncating) with broadcasting.
    /// - Parameters:
    ///   - lhs: The dividend.
    ///   - rhs: The divisor.
    @inlinable public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "div", kernel: IntegerDivideKernel()) }
}
