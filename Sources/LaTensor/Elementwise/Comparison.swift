/// Comparisons, selection (`where`), clamping and elementwise maximum/minimum.
extension Tensor where Scalar: TensorNumeric {
    /// Elementwise `self == other` with broadcasting.
    /// - Parameter other: The other operand.
    @inlinable public func equal(_ other: Tensor) -> Tensor<Bool> { zip(other, operation: "equal") { $0 == $1 } }
    /// Elementwise `self != other` with broadcasting.
    /// - Parameter other: The other operand.
    @inlinable public func notEqual(_ other: Tensor) -> Tensor<Bool> { zip(other, operation: "notEqual") { $0 != $1 } }
    /// Elementwise `self < other` with broadcasting.
    /// - Parameter other: The other operand.
    @inlinable public func less(_ other: Tensor) -> Tensor<Bool> { zip(other, operation: "less") { $0 < $1 } }
    /// Elementwise `self <= other` with broadcasting.
    /// - Parameter other: The other operand.
    @inlinable public func lessEqual(_ other: Tensor) -> Tensor<Bool> { zip(other, operation: "lessEqual") { $0 <= $1 } }
    /// Elementwise `self > other` with broadcasting.
    /// - Parameter other: The other operand.
    @inlinable public func greater(_ other: Tensor) -> Tensor<Bool> { zip(other, operation: "greater") { $0 > $1 } }
    /// Elementwise `self >= other` with broadcasting.
    /// - Parameter other: The other operand.
    @inlinable public func greaterEqual(_ other: Tensor) -> Tensor<Bool> { zip(other, operation: "greaterEqual") { $0 >= $1 } }
    /// Elementwise `self == value`.
    /// - Parameter value: The scalar to compare with.
    @inlinable public func equal(_ value: Scalar) -> Tensor<Bool> { map { $0 == value } }
    /// Elementwise `self < value`.
    /// - Parameter value: The scalar to compare with.
    @inlinable public func less(_ value: Scalar) -> Tensor<Bool> { map { $0 < value } }
    /// Elementwise `self > value`.
    /// - Parameter value: The scalar to compare with.
    @inlinable public func greater(_ value: Scalar) -> Tensor<Bool> { map { $0 > value } }

    /// Elementwise maximum with broadcasting (NaN-propagating for floating point, like `torch.maximum`).
    /// - Parameter other: The other operand.
    @inlinable public func maximum(_ other: Tensor) -> Tensor {
        zip(other, operation: "maximum") { a, b in (a != a || a > b) ? a : b }
    }
    /// Elementwise minimum with broadcasting (NaN-propagating for floating point, like `torch.minimum`).
    /// - Parameter other: The other operand.
    @inlinable public func minimum(_ other: Tensor) -> Tensor {
        zip(other, operation: "minimum") { a, b in (a != a || a < b) ? a : b }
    }
    /// Clamps every element to `[minimum, maximum]` (either bound may be omitted).
    /// - Parameters:
    ///   - minimum: The lower bound.
    ///   - maximum: The upper bound.
    @inlinable public func clamp(min minimum: Scalar? = nil, max maximum: Scalar? = nil) -> Tensor {
        if let lo = minimum, let hi = maximum {
            checkPrecondition(!(hi < lo), "clamp: min \(lo) is greater than max \(hi)")
            return map { $0 < lo ? lo : ($0 > hi ? hi : $0) }
        }
        if let lo = minimum { return map { $0 < lo ? lo : $0 } }
        if let hi = maximum { return map { $0 > hi ? hi : $0 } }
        return self
    }
}

extension Tensor where Scalar == Bool {
    /// Picks `ifTrue` where the mask is true and `ifFalse` elsewhere, with broadcasting of all three.
    /// - Parameters:
    ///   - ifTrue: Values where the condition holds.
    ///   - ifFalse: Values where it does not.
    @inlinable
    public func select<T: TensorElement>(_ ifTrue: Tensor<T>, _ ifFalse: Tensor<T>) -> Tensor<T> {
        zip(ifTrue, ifFalse, operation: "where") { $0 ? $1 : $2 }
    }
    /// Elementwise logical and.
    /// - Parameter other: The other mask.
    @inlinable public func and(_ other: Tensor<Bool>) -> Tensor<Bool> { zip(other, operation: "and") { $0 && $1 } }
    /// Elementwise logical or.
    /// - Parameter other: The other mask.
    @inlinable public func or(_ other: Tensor<Bool>) -> Tensor<Bool> { zip(other, operation: "or") { $0 || $1 } }
    /// Elementwise logical not.
    @inlinable public func not() -> Tensor<Bool> { map { !$0 } }
}

/// Selects elementwise between two tensors, like `torch.where(condition, a, b)`.
/// - Parameters:
///   - condition: The mask.
///   - ifTrue: Values where `condition` is true.
///   - ifFalse: Values where it is false.
@inlinable
public func `where`<T: TensorElement>(_ condition: Tensor<Bool>, _ ifTrue: Tensor<T>, _ ifFalse: Tensor<T>) -> Tensor<T> {
    condition.select(ifTrue, ifFalse)
}
