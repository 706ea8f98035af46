/// Index-based copying ops: index-select, gather, scatter-add, one-hot, top-k and cumulative sums.
extension Tensor {
    /// Picks entries `indices` along `axis`, like `torch.index_select` (and embedding lookup along axis 0).
    /// - Parameters:
    ///   - indices: Any-shaped tensor of positions along `axis` (negative counts from the end).
    ///   - axis: The axis to index.
    /// - Returns: Shape `shape[..<axis] + indices.shape + shape[(axis+1)...]`.
    @inlinable
    public func indexSelect(_ indices: Tensor<Int>, axis: Int = 0) -> Tensor {
        let a = normalizedAxis(axis, operation: "indexSelect")
        let positions = indices.scalars
        let size = shape[a]
        let outShape = Array(shape[..<a]) + indices.shape + Array(shape[(a + 1)...])
        let result = Tensor(uninitializedShape: outShape)
        let flat = result.reshaped(Array(shape[..<a]) + [positions.count] + Array(shape[(a + 1)...]))
        for (j, raw) in positions.enumerated() {
            let i = raw < 0 ? raw + size : raw
            checkPrecondition(
                i >= 0 && i < size, "indexSelect: index \(raw) out of range for axis \(axis) of shape \(shape)")
            flat.select(axis: a, index: j).assign(select(axis: a, index: i))
        }
        return result
    }

    /// `out[..., i, ...] = self[..., index[..., i, ...], ...]` along `axis`, like `torch.gather`.
    /// - Parameters:
    ///   - axis: The axis that `indices` index into.
    ///   - indices: Same rank as `self`; its size along other axes must not exceed `self`'s.
    @inlinable
    public func gather(axis: Int, indices: Tensor<Int>) -> Tensor {
        let a = normalizedAxis(axis, operation: "gather")
        checkPrecondition(
            indices.rank == rank
                && (0..<rank).allSatisfy { $0 == a || indices.shape[$0] <= shape[$0] },
            "gather: index shape \(indices.shape) does not fit input shape \(shape) along axis \(axis)")
        let result = Tensor(uninitializedShape: indices.shape)
        let size = shape[a], step = strides[a]
        let loop = StridedLoop(
            shape: indices.shape,
            strides: [result.strides, indices.strides, (0..<rank).map { $0 == a ? 0 : strides[$0] }],
            offsets: [0, indices.offset, offset])
        let output = result.storage.pointer, source = UnsafePointer(storage.pointer)
        let index = UnsafePointer(indices.storage.pointer)
        withExtendedLifetime((storage, indices.storage)) {
            loop.forEachRun(in: 0..<loop.count) { position, n, s in
                for j in 0..<n {
                    var i = index[position[1] + j * s[1]]
                    if i < 0 { i += size }
                    checkPrecondition(i >= 0 && i < size, "gather: index \(i) out of range for axis \(axis) of shape \(shape)")
                    output[position[0] + j * s[0]] = source[position[2] + j * s[2] + i * step]
                }
            }
        }
        return result
    }
}

extension Tensor where Scalar: TensorNumeric {
    /// Adds `source` into this view at `indices` along `axis` (`self[..., index[i], ...] += source[..., i, ...]`),
    /// like `torch.Tensor.scatter_add_`, in the shared storage. Repeated indices accumulate.
    /// - Parameters:
    ///   - axis: The axis that `indices` index into.
    ///   - indices: Same shape as `source`.
    ///   - source: The values to add.
    @inlinable
    public func scatterAddInPlace(axis: Int, indices: Tensor<Int>, source: Tensor) {
        let a = normalizedAxis(axis, operation: "scatterAdd")
        checkPrecondition(
            indices.shape == source.shape && indices.rank == rank
                && (0..<rank).allSatisfy { $0 == a || indices.shape[$0] <= shape[$0] },
            "scatterAdd: index shape \(indices.shape), source shape \(source.shape) do not fit shape \(shape)")
        checkWritable(operation: "scatterAdd")
        let size = shape[a], step = strides[a]
        let loop = StridedLoop(
            shape: indices.shape,
            strides: [(0..<rank).map { $0 == a ? 0 : strides[$0] }, indices.strides, source.strides],
            offsets: [offset, indices.offset, source.offset])
        let output = storage.pointer, values = UnsafePointer(source.storage.pointer)
        let index = UnsafePointer(indices.storage.pointer)
        withExtendedLifetime((source.storage, indices.storage)) {
            loop.forEachRun(in: 0..<loop.count) { position, n, s in
                for j in 0..<n {
                    var i = index[position[1] + j * s[1]]
                    if i < 0 { i += size }
                    checkPrecondition(i >= 0 && i < size, "scatterAdd: index \(i) out of range for axis \(axis) of shape \(shape)")
                    output[position[0] + j * s[0] + i * step] += values[position[2] + j * s[2]]
                }
            }
        }
    }

    /// A copy of `self` with `source` scatter-added along `axis` (see `scatterAddInPlace`).
    /// - Parameters:
    ///   - axis: The axis that `indices` index into.
    ///   - indices: Same shape as `source`.
    ///   - source: The values to add.
    @inlinable
    public func scatterAdd(axis: Int, indices: Tensor<Int>, source: Tensor) -> Tensor {
        let result = copy()
        result.scatterAddInPlace(axis: axis, indices: indices, source: source)
        return result
    }

    /// Adds rows of `source` into rows `indices` along `axis` (the backward of `indexSelect`), in place.
    /// - Parameters:
    ///   - indices: Positions along `axis`; repeated positions accumulate.
    ///   - source: Shape `shape[..<axis] + indices.shape + shape[(axis+1)...]`.
    ///   - axis: The axis.
    @inlinable
    public func indexAddInPlace(_ indices: Tensor<Int>, source: Tensor, axis: Int = 0) {
        let a = normalizedAxis(axis, operation: "indexAdd")
        let positions = indices.scalars
        let flat = source.reshaped(Array(shape[..<a]) + [positions.count] + Array(shape[(a + 1)...]))
        let size = shape[a]
        for (j, raw) in positions.enumerated() {
            let i = raw < 0 ? raw + size : raw
            checkPrecondition(i >= 0 && i < size, "indexAdd: index \(raw) out of range for axis \(axis) of shape \(shape)")
            select(axis: a, index: i).addInPlace(flat.select(axis: a, index: j))
        }
    }

    /// Running sums along `axis`, like `torch.cumsum`.
    /// - Parameter axis: The axis to accumulate along.
    @inlinable
    public func cumulativeSum(axis: Int) -> Tensor {
        let a = normalizedAxis(axis, operation: "cumulativeSum")
        let result = Tensor(uninitializedShape: shape)
        let n = shape[a], si = strides[a], so = result.strides[a]
        let input = UnsafePointer(storage.pointer), output = result.storage.pointer
        withExtendedLifetime(storage) {
            forEachLane(axis: a, outputStrides: result.strides) { ip, op in
                var total: Scalar = 0
                for i in 0..<n {
                    total += input[ip + i * si]
                    output[op + i * so] = total
                }
            }
        }
        return result
    }

    /// The `k` largest (or smallest) entries along `axis` and their indices, sorted, like `torch.topk`.
    /// Ties keep the lower index first; NaN counts as larger than every number.
    /// - Parameters:
    ///   - k: How many entries (at most `shape[axis]`).
    ///   - axis: The axis.
    ///   - largest: Largest first (true) or smallest first (false).
    @inlinable
    public func topK(_ k: Int, axis: Int = -1, largest: Bool = true) -> (values: Tensor, indices: Tensor<Int>) {
        let a = normalizedAxis(axis, operation: "topK")
        let n = shape[a]
        checkPrecondition(k >= 0 && k <= n, "topK: k = \(k) out of range for axis \(axis) of shape \(shape)")
        var outShape = shape
        outShape[a] = k
        let values = Tensor(uninitializedShape: outShape)
        let indices = Tensor<Int>(uninitializedShape: outShape)
        let si = strides[a], so = values.strides[a]
        let input = UnsafePointer(storage.pointer)
        let pv = values.storage.pointer, pi = indices.storage.pointer
        withExtendedLifetime(storage) {
            forEachLane(axis: a, outputStrides: values.strides, cost: 8) { ip, op in
                var order = Array(0..<n)
                order.sort { lhs, rhs in
                    let x = input[ip + lhs * si], y = input[ip + rhs * si]
                    // NaN ranks above every number, as in torch.topk (and keeps the order a strict weak order).
                    let xNaN = x != x, yNaN = y != y
                    if xNaN || yNaN { return xNaN && yNaN ? lhs < rhs : (largest ? xNaN : yNaN) }
                    if x == y { return lhs < rhs }
                    return largest ? x > y : x < y
                }
                for j in 0..<k {
                    pv[op + j * so] = input[ip + order[j] * si]
                    pi[op + j * so] = order[j]
                }
            }
        }
        return (values, indices)
    }
}

extension Tensor where Scalar == Int {
    /// One-hot encoding: a new last axis of size `classCount` with 1 at each label.
    /// - Parameters:
    ///   - classCount: The number of classes.
    ///   - type: The element type of the result.
    @inlinable
    public func oneHot<T: TensorNumeric>(classCount: Int, as type: T.Type = Float.self) -> Tensor<T> {
        let labels = scalars
        let result = Tensor<T>.zeros(shape + [classCount])
        for (i, label) in labels.enumerated() {
            checkPrecondition(
                label >= 0 && label < classCount, "oneHot: label \(label) out of range for \(classCount) classes")
            result.storage.pointer[i * classCount + label] = 1
        }
        return result
    }
}
