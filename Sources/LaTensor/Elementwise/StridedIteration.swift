/// The iteration engine behind every elementwise kernel.
///
/// Up to four operands (an output and up to three inputs) share one iteration shape; each has its own
/// strides (0 along broadcast dimensions) and base offset, packed in `SIMD4<Int>` lanes. Dimensions are
/// first coalesced (merged wherever every operand is dense across them, size-1 dimensions dropped), then
/// the shape is walked as a sequence of 1-D *runs* along the innermost dimension. A kernel receives
/// `(offsets, count, strides)` for each run and loops over raw pointers it took once, outside the loop.
@usableFromInline
struct StridedLoop {
    @usableFromInline var shape: [Int]
    @usableFromInline var strides: [SIMD4<Int>]
    @usableFromInline var base: SIMD4<Int>

    /// - Parameters:
    ///   - shape: The iteration shape.
    ///   - strides: Per operand, one stride per dimension of `shape` (operands beyond the array use 0).
    ///   - offsets: Per operand base offset.
    @inlinable
    init(shape: [Int], strides operandStrides: [[Int]], offsets: [Int]) {
        var base = SIMD4<Int>(repeating: 0)
        for (index, value) in offsets.enumerated() { base[index] = value }
        var merged: [Int] = []
        var mergedStrides: [SIMD4<Int>] = []
        merged.reserveCapacity(shape.count)
        for axis in 0..<shape.count where shape[axis] != 1 {
            var s = SIMD4<Int>(repeating: 0)
            for operand in 0..<operandStrides.count { s[operand] = operandStrides[operand][axis] }
            if let last = merged.last, last != 0, shape[axis] != 0, mergedStrides[mergedStrides.count - 1] == s &* shape[axis] {
                merged[merged.count - 1] = last * shape[axis]
                mergedStrides[mergedStrides.count - 1] = s
            } else {
                merged.append(shape[axis])
                mergedStrides.append(s)
            }
        }
        self.shape = merged
        self.strides = mergedStrides
        self.base = base
    }

    /// The total number of elements.
    @inlinable var count: Int { shape.reduce(1, *) }

    /// Walks the elements with linear (row-major) index in `range`, calling `body` once per run.
    @inlinable
    func forEachRun(in range: Range<Int>, _ body: (SIMD4<Int>, Int, SIMD4<Int>) -> Void) {
        let rank = shape.count
        if range.isEmpty { return }
        if rank == 0 {
            body(base, 1, SIMD4<Int>(repeating: 0))
            return
        }
        let inner = shape[rank - 1]
        let innerStride = strides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var remainder = range.lowerBound
        var position = base
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            index[axis] = remainder % shape[axis]
            remainder /= shape[axis]
            position &+= strides[axis] &* index[axis]
        }
        var linear = range.lowerBound
        let end = range.upperBound
        while linear < end {
            let n = Swift.min(inner - index[rank - 1], end - linear)
            body(position, n, innerStride)
            linear += n
            if linear >= end { break }
            index[rank - 1] += n
            position &+= innerStride &* n
            if index[rank - 1] == inner {
                position &-= innerStride &* inner
                index[rank - 1] = 0
                var axis = rank - 2
                while axis >= 0 {
                    index[axis] += 1
                    position &+= strides[axis]
                    if index[axis] < shape[axis] { break }
                    position &-= strides[axis] &* shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }

    /// Walks all elements, splitting the work over threads when it is large.
    /// - Parameters:
    ///   - cost: Relative cost per element (1 for an add, more for transcendental functions).
    ///   - body: The run kernel; it must be safe to call concurrently on disjoint runs.
    @inlinable
    func run(cost: Int = 1, _ body: (SIMD4<Int>, Int, SIMD4<Int>) -> Void) {
        let total = count
        Threading.parallelFor(total: total, cost: cost) { range in
            forEachRun(in: range, body)
        }
    }
}

/// NumPy broadcasting of two shapes.
/// - Parameters:
///   - lhs: The first shape.
///   - rhs: The second shape.
///   - operation: The op name for the error message.
@inlinable
public func broadcastShapes(_ lhs: [Int], _ rhs: [Int], operation: String) -> [Int] {
    let rank = Swift.max(lhs.count, rhs.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let a = i < rank - lhs.count ? 1 : lhs[i - (rank - lhs.count)]
        let b = i < rank - rhs.count ? 1 : rhs[i - (rank - rhs.count)]
        checkPrecondition(
            a == b || a == 1 || b == 1,
            "\(operation): shapes \(lhs) and \(rhs) cannot be broadcast together")
        result[i] = a == 1 ? b : a
    }
    return result
}

extension Tensor {
    /// The strides that view `self` as `shape` under broadcasting (0 on broadcast dimensions).
    @inlinable
    func broadcastStrides(to target: [Int], operation: String) -> [Int] {
        checkPrecondition(
            target.count >= rank, "\(operation): cannot broadcast shape \(shape) to \(target)")
        var result = [Int](repeating: 0, count: target.count)
        let lead = target.count - rank
        for axis in 0..<rank {
            if shape[axis] == target[lead + axis] {
                result[lead + axis] = shape[axis] == 1 ? 0 : strides[axis]
            } else {
                checkPrecondition(
                    shape[axis] == 1, "\(operation): cannot broadcast shape \(shape) to \(target)")
                result[lead + axis] = 0
            }
        }
        return result
    }
}
