/// Broadcasting arithmetic: `+ - * /` between tensors and with scalars, negation, and in-place forms.
extension Tensor where Scalar: TensorNumeric {
    /// Elementwise sum with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "add") { $0 + $1 } }
    /// Elementwise difference with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "sub") { $0 - $1 } }
    /// Elementwise product with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "mul") { $0 * $1 } }

    /// Adds a scalar to every element.
    /// - Parameters:
    ///   - lhs: The tensor.
    ///   - rhs: The scalar.
    @inlinable public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 + rhs } }
    /// Adds a scalar to every element.
    /// - Parameters:
    ///   - lhs: The scalar.
    ///   - rhs: The tensor.
    @inlinable public static func + (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs + $0 } }
    /// Subtracts a scalar from every element.
    /// - Parameters:
    ///   - lhs: The tensor.
    ///   - rhs: The scalar.
    @inlinable public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 - rhs } }
    /// Subtracts every element from a scalar.
    /// - Parameters:
    ///   - lhs: The scalar.
    ///   - rhs: The tensor.
    @inlinable public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs - $0 } }
    /// Multiplies every element by a scalar.
    /// - Parameters:
    ///   - lhs: The tensor.
    ///   - rhs: The scalar.
    @inlinable public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 * rhs } }
    /// Multiplies every element by a scalar.
    /// - Parameters:
    ///   - lhs: The scalar.
    ///   - rhs: The tensor.
    @inlinable public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }

    /// Adds `other` (broadcast to `shape`) into this view's storage, like PyTorch's `add_`.
    /// - Parameter other: The addend.
    @inlinable public func addInPlace(_ other: Tensor) { zipInPlace(other, operation: "addInPlace") { $0 + $1 } }
    /// Subtracts `other` (broadcast to `shape`) in place.
    /// - Parameter other: The subtrahend.
    @inlinable public func subtractInPlace(_ other: Tensor) { zipInPlace(other, operation: "subtractInPlace") { $0 - $1 } }
    /// Multiplies by `other` (broadcast to `shape`) in place.
    /// - Parameter other: The factor.
    @inlinable public func multiplyInPlace(_ other: Tensor) { zipInPlace(other, operation: "multiplyInPlace") { $0 * $1 } }
    /// Multiplies every element by a scalar in place.
    /// - Parameter factor: The factor.
    @inlinable public func multiplyInPlace(_ factor: Scalar) { mapInPlace { $0 * factor } }
    /// Adds `alpha * other` in place (an axpy), like PyTorch's `add_(other, alpha=)`.
    /// - Parameters:
    ///   - other: The tensor to add, broadcast to `shape`.
    ///   - alpha: Its scale.
    @inlinable public func addInPlace(_ other: Tensor, alpha: Scalar) {
        zipInPlace(other, operation: "addInPlace") { $0 + alpha * $1 }
    }

    /// Elementwise absolute value.
    @inlinable public func abs() -> Tensor { map { $0 < 0 ? 0 - $0 : $0 } }
    /// Elementwise square.
    @inlinable public func square() -> Tensor { map { $0 * $0 } }
}

extension Tensor where Scalar: TensorNumeric & SignedNumeric {
    /// Elementwise negation.
    /// - Parameter operand: The tensor.
    @inlinable public static prefix func - (operand: Tensor) -> Tensor { operand.map { -$0 } }
}

extension Tensor where Scalar: TensorFloatingPoint {
    /// Elementwise quotient with broadcasting.
    /// - Parameters:
    ///   - lhs: The dividend.
    ///   - rhs: The divisor.
    @inlinable public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "div") { $0 / $1 } }
    /// Divides every element by a scalar.
    /// - Parameters:
    ///   - lhs: The tensor.
    ///   - rhs: The scalar divisor.
    @inlinable public static func / (lhs: Tensor, rhs: Scalar) -> Tensor {
        let inverse = 1 / rhs
        return lhs.map { $0 * inverse }
    }
    /// Divides a scalar by every element.
    /// - Parameters:
    ///   - lhs: The scalar dividend.
    ///   - rhs: The tensor.
    @inlinable public static func / (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.map { lhs / $0 } }
    /// Divides by `other` (broadcast to `shape`) in place.
    /// - Parameter other: The divisor.
    @inlinable public func divideInPlace(_ other: Tensor) { zipInPlace(other, operation: "divideInPlace") { $0 / $1 } }
}

extension Tensor where Scalar: BinaryInteger & TensorNumeric {
    /// Elementwise integer division (truncating) with broadcasting.
    /// - Parameters:
    ///   - lhs: The dividend.
    ///   - rhs: The divisor.
    @inlinable public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, operation: "div") { $0 / $1 } }
}
