/// Tensors filled with constants and ranges.
extension Tensor {
    /// A contiguous tensor with every element equal to `value`.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - value: The fill value.
    @inlinable
    public static func full(_ shape: [Int], value: Scalar) -> Tensor {
        checkPrecondition(shape.allSatisfy { $0 >= 0 }, "full: negative dimension in shape \(shape)")
        let storage = TensorStorage(count: shape.reduce(1, *), repeating: value)
        return Tensor(storage: storage, shape: shape, strides: contiguousStrides(for: shape))
    }

    /// A tensor of zeros (`false` for `Bool`).
    /// - Parameter shape: The shape.
    @inlinable
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, value: Scalar.zeroValue) }

    /// A tensor of zeros with the shape of `other`.
    /// - Parameter other: The tensor whose shape to use.
    @inlinable
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape) }
}

extension Tensor where Scalar: TensorNumeric {
    /// A tensor of ones.
    /// - Parameter shape: The shape.
    @inlinable
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, value: 1) }

    /// The identity matrix (ones on the diagonal), optionally rectangular.
    /// - Parameters:
    ///   - rows: The number of rows.
    ///   - columns: The number of columns (defaults to `rows`).
    @inlinable
    public static func eye(_ rows: Int, columns: Int? = nil) -> Tensor {
        let cols = columns ?? rows
        let result = zeros([rows, cols])
        for i in 0..<Swift.min(rows, cols) { result.storage.pointer[i * cols + i] = 1 }
        return result
    }
}

extension Tensor where Scalar: TensorFloatingPoint {
    /// Values from `start` up to (not including) `end` by `step`, like `torch.arange`.
    /// - Parameters:
    ///   - start: The first value.
    ///   - end: The bound (exclusive).
    ///   - step: The increment (non-zero).
    @inlinable
    public static func arange(_ start: Scalar, _ end: Scalar, step: Scalar = 1) -> Tensor {
        checkPrecondition(step != 0, "arange: step must be non-zero")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let result = Tensor(uninitializedShape: [n])
        for i in 0..<n { result.storage.pointer[i] = start + Scalar(i) * step }
        return result
    }

    /// `count` evenly spaced values from `start` to `end` inclusive, like `torch.linspace`.
    /// - Parameters:
    ///   - start: The first value.
    ///   - end: The last value.
    ///   - count: The number of values (>= 0).
    @inlinable
    public static func linspace(_ start: Scalar, _ end: Scalar, count: Int) -> Tensor {
        checkPrecondition(count >= 0, "linspace: negative count \(count)")
        let result = Tensor(uninitializedShape: [count])
        if count == 1 { result.storage.pointer[0] = start }
        if count > 1 {
            let step = (end - start) / Scalar(count - 1)
            let half = count / 2
            for i in 0..<count {
                // Symmetric evaluation as PyTorch does: from the start for the first half, from the end after.
                result.storage.pointer[i] = i < half ? start + step * Scalar(i) : end - step * Scalar(count - 1 - i)
            }
        }
        return result
    }
}

extension Tensor where Scalar: BinaryInteger & TensorNumeric {
    /// Integers from `start` up to (not including) `end` by `step`.
    /// - Parameters:
    ///   - start: The first value.
    ///   - end: The bound (exclusive).
    ///   - step: The increment (non-zero).
    @inlinable
    public static func arange(_ start: Scalar, _ end: Scalar, step: Scalar = 1) -> Tensor {
        checkPrecondition(step != 0, "arange: step must be non-zero")
        var values: [Scalar] = []
        var value = start
        while step > 0 ? value < end : value > end {
            values.append(value)
            value += step
        }
        return Tensor(values)
    }
}
