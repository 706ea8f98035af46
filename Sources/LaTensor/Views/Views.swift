/// Views: tensors that share `storage` with `self` and never copy (reshape copies only when no view exists).
extension Tensor {
    /// The strides that let `newShape` view this layout without copying, or nil if no view exists
    /// (the rule PyTorch's `view` uses).
    @inlinable
    func viewStrides(for newShape: [Int]) -> [Int]? {
        let numel = count
        if numel == 0 || rank == 0 { return Tensor.contiguousStrides(for: newShape) }
        var newStrides = [Int](repeating: 0, count: newShape.count)
        var viewAxis = newShape.count - 1
        var chunkBaseStride = strides[rank - 1]
        var tensorNumel = 1
        var viewNumel = 1
        for tensorAxis in stride(from: rank - 1, through: 0, by: -1) {
            tensorNumel *= shape[tensorAxis]
            if tensorAxis == 0
                || (shape[tensorAxis - 1] != 1 && strides[tensorAxis - 1] != tensorNumel * chunkBaseStride)
            {
                while viewAxis >= 0 && (viewNumel < tensorNumel || newShape[viewAxis] == 1) {
                    newStrides[viewAxis] = viewNumel * chunkBaseStride
                    viewNumel *= newShape[viewAxis]
                    viewAxis -= 1
                }
                if viewNumel != tensorNumel { return nil }
                if tensorAxis > 0 {
                    chunkBaseStride = strides[tensorAxis - 1]
                    tensorNumel = 1
                    viewNumel = 1
                }
            }
        }
        if viewAxis != -1 { return nil }
        return newStrides
    }

    @inlinable
    func resolvedShape(_ newShape: [Int], operation: String) -> [Int] {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        checkPrecondition(inferred.count <= 1, "\(operation): more than one -1 in shape \(newShape)")
        checkPrecondition(
            newShape.allSatisfy { $0 >= -1 }, "\(operation): invalid dimension in shape \(newShape)")
        if let axis = inferred.first {
            let known = newShape.enumerated().filter { $0.offset != axis }.map(\.element).reduce(1, *)
            checkPrecondition(
                known != 0 && count % known == 0,
                "\(operation): cannot reshape tensor of shape \(shape) to \(newShape)")
            resolved[axis] = count / known
        }
        checkPrecondition(
            resolved.reduce(1, *) == count,
            "\(operation): cannot reshape tensor of shape \(shape) (\(count) elements) to \(newShape)")
        return resolved
    }

    /// The same elements with a new shape: a view when the layout allows (like `torch.reshape`), else a copy.
    /// - Parameter newShape: The new shape; one dimension may be -1 to be inferred.
    @inlinable
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let target = resolvedShape(newShape, operation: "reshape")
        if let newStrides = viewStrides(for: target) {
            return Tensor(storage: storage, shape: target, strides: newStrides, offset: offset)
        }
        let dense = copy()
        return Tensor(storage: dense.storage, shape: target, strides: Tensor.contiguousStrides(for: target), offset: 0)
    }

    /// The same elements with a new shape, always a view (like `torch.view`); stops if no view exists.
    /// - Parameter newShape: The new shape; one dimension may be -1.
    @inlinable
    public func view(_ newShape: [Int]) -> Tensor {
        let target = resolvedShape(newShape, operation: "view")
        guard let newStrides = viewStrides(for: target) else {
            misuseDetected(
                "view: shape \(shape) with strides \(strides) cannot be viewed as \(target); use reshaped(_:)")
        }
        return Tensor(storage: storage, shape: target, strides: newStrides, offset: offset)
    }

    /// Flattens dimensions `startAxis ... endAxis` into one.
    /// - Parameters:
    ///   - startAxis: The first axis to merge.
    ///   - endAxis: The last axis to merge (inclusive).
    @inlinable
    public func flattened(startAxis: Int = 0, endAxis: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let start = normalizedAxis(startAxis, operation: "flatten")
        let end = normalizedAxis(endAxis, operation: "flatten")
        checkPrecondition(start <= end, "flatten: start axis \(startAxis) is after end axis \(endAxis) for shape \(shape)")
        let merged = shape[start...end].reduce(1, *)
        return reshaped(Array(shape[..<start]) + [merged] + Array(shape[(end + 1)...]))
    }

    /// Reorders the dimensions: result axis `i` is axis `axes[i]` of `self`.
    /// - Parameter axes: A permutation of `0 ..< rank` (negative axes allowed).
    @inlinable
    public func permuted(_ axes: [Int]) -> Tensor {
        checkPrecondition(axes.count == rank, "permute: \(axes.count) axes given for shape \(shape)")
        let resolved = axes.map { normalizedAxis($0, operation: "permute") }
        checkPrecondition(Set(resolved).count == rank, "permute: axes \(axes) are not a permutation for shape \(shape)")
        return Tensor(
            storage: storage, shape: resolved.map { shape[$0] }, strides: resolved.map { strides[$0] },
            offset: offset)
    }

    /// Swaps two dimensions.
    /// - Parameters:
    ///   - axis0: The first axis.
    ///   - axis1: The second axis.
    @inlinable
    public func transposed(_ axis0: Int, _ axis1: Int) -> Tensor {
        let a = normalizedAxis(axis0, operation: "transpose")
        let b = normalizedAxis(axis1, operation: "transpose")
        var newShape = shape, newStrides = strides
        newShape.swapAt(a, b)
        newStrides.swapAt(a, b)
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
    }

    /// Swaps the last two dimensions (the matrix transpose, `.mT`); a 1-D tensor is returned unchanged.
    @inlinable
    public func transposed() -> Tensor {
        rank < 2 ? self : transposed(-2, -1)
    }

    /// A view of elements `range` (stepping by `step`) along `axis`, like `x[..., start:end:step]`.
    /// - Parameters:
    ///   - axis: The axis to slice.
    ///   - range: The index range, within `0 ... shape[axis]`.
    ///   - step: A positive step.
    @inlinable
    public func slice(axis: Int, _ range: Range<Int>, step: Int = 1) -> Tensor {
        let a = normalizedAxis(axis, operation: "slice")
        checkPrecondition(step > 0, "slice: step must be positive, got \(step)")
        checkPrecondition(
            range.lowerBound >= 0 && range.upperBound <= shape[a],
            "slice: range \(range) is out of bounds for axis \(axis) of shape \(shape)")
        var newShape = shape, newStrides = strides
        newShape[a] = (range.count + step - 1) / step
        newStrides[a] = strides[a] * step
        return Tensor(
            storage: storage, shape: newShape, strides: newStrides,
            offset: offset + (newShape[a] > 0 ? range.lowerBound * strides[a] : 0))
    }

    /// The sub-tensor at `index` along `axis`, with that axis removed (like `x.select(axis, index)`).
    /// - Parameters:
    ///   - axis: The axis.
    ///   - index: The position along it (negative counts from the end).
    @inlinable
    public func select(axis: Int, index: Int) -> Tensor {
        let a = normalizedAxis(axis, operation: "select")
        let i = index < 0 ? index + shape[a] : index
        checkPrecondition(i >= 0 && i < shape[a], "select: index \(index) out of range for axis \(axis) of shape \(shape)")
        var newShape = shape, newStrides = strides
        newShape.remove(at: a)
        newStrides.remove(at: a)
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset + i * strides[a])
    }

    /// The sub-tensor at `index` along the first axis.
    /// - Parameter index: The position (negative counts from the end).
    @inlinable
    public subscript(index: Int) -> Tensor { select(axis: 0, index: index) }

    /// The elements `range` along the first axis.
    /// - Parameter range: The index range.
    @inlinable
    public subscript(range: Range<Int>) -> Tensor { slice(axis: 0, range) }

    /// Inserts a dimension of size 1 at `axis` (in `-rank-1 ... rank`).
    /// - Parameter axis: Where the new axis goes.
    @inlinable
    public func unsqueezed(axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        checkPrecondition(a >= 0 && a <= rank, "unsqueeze: axis \(axis) out of range for shape \(shape)")
        var newShape = shape, newStrides = strides
        let stride = a < rank ? strides[a] * shape[a] : 1
        newShape.insert(1, at: a)
        newStrides.insert(stride, at: a)
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
    }

    /// Removes dimension `axis`, which must have size 1; with no axis, removes every size-1 dimension.
    /// - Parameter axis: The axis to remove, or nil for all size-1 axes.
    @inlinable
    public func squeezed(axis: Int? = nil) -> Tensor {
        if let axis {
            let a = normalizedAxis(axis, operation: "squeeze")
            if shape[a] != 1 { return self }
            var newShape = shape, newStrides = strides
            newShape.remove(at: a)
            newStrides.remove(at: a)
            return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
        }
        let keep = shape.indices.filter { shape[$0] != 1 }
        return Tensor(storage: storage, shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] }, offset: offset)
    }

    /// Broadcasts to `newShape` without copying (stride 0 on repeated dimensions), like `torch.expand`.
    /// - Parameter newShape: The target shape; -1 keeps a dimension's size.
    @inlinable
    public func expanded(to newShape: [Int]) -> Tensor {
        checkPrecondition(newShape.count >= rank, "expand: cannot expand shape \(shape) to \(newShape)")
        let lead = newShape.count - rank
        var target = newShape
        for axis in 0..<rank where newShape[lead + axis] == -1 { target[lead + axis] = shape[axis] }
        return Tensor(
            storage: storage, shape: target, strides: broadcastStrides(to: target, operation: "expand"),
            offset: offset)
    }

    /// Splits `axis` into pieces of the given sizes (views).
    /// - Parameters:
    ///   - sizes: The piece sizes; they must add up to `shape[axis]`.
    ///   - axis: The axis to split.
    @inlinable
    public func split(sizes: [Int], axis: Int = 0) -> [Tensor] {
        let a = normalizedAxis(axis, operation: "split")
        checkPrecondition(
            sizes.reduce(0, +) == shape[a] && sizes.allSatisfy { $0 >= 0 },
            "split: sizes \(sizes) do not add up to \(shape[a]) along axis \(axis) of shape \(shape)")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return slice(axis: a, start..<(start + size))
        }
    }

    /// Splits `axis` into pieces of `size` elements (the last may be smaller), like `torch.split(x, size)`.
    /// - Parameters:
    ///   - size: The piece size (positive).
    ///   - axis: The axis to split.
    @inlinable
    public func split(size: Int, axis: Int = 0) -> [Tensor] {
        let a = normalizedAxis(axis, operation: "split")
        checkPrecondition(size > 0, "split: piece size must be positive, got \(size)")
        let n = shape[a]
        return stride(from: 0, to: n, by: size).map { slice(axis: a, $0..<Swift.min($0 + size, n)) }
    }

    /// Splits `axis` into `count` pieces as equal as possible, like `torch.chunk`.
    /// - Parameters:
    ///   - count: The number of chunks wanted (positive).
    ///   - axis: The axis to split.
    @inlinable
    public func chunked(_ count: Int, axis: Int = 0) -> [Tensor] {
        checkPrecondition(count > 0, "chunk: chunk count must be positive, got \(count)")
        let a = normalizedAxis(axis, operation: "chunk")
        let size = Swift.max((shape[a] + count - 1) / count, 1)
        return split(size: size, axis: a)
    }
}
