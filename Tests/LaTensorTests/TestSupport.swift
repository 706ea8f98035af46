import Foundation
import Synchronization
import Testing

@testable import LaTensor

// Shared helpers for the LaTensor tests: reference implementations that read elements one at a time
// through `storageIndex` (so they do not depend on the kernels under test), tolerant comparisons,
// and random non-contiguous layouts built from a seeded `RandomGenerator`.

// MARK: - Index enumeration

/// Every index tuple of `shape` in row-major order (one empty tuple for a 0-D shape).
func allIndices(_ shape: [Int]) -> [[Int]] {
    let count = shape.reduce(1, *)
    if count == 0 { return [] }
    var result: [[Int]] = []
    result.reserveCapacity(count)
    var index = [Int](repeating: 0, count: shape.count)
    for _ in 0..<count {
        result.append(index)
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < shape[axis] { break }
            index[axis] = 0
            axis -= 1
        }
    }
    return result
}

/// The row-major linear position of `index` in `shape`.
func linearIndex(_ index: [Int], in shape: [Int]) -> Int {
    var position = 0
    for axis in 0..<shape.count { position = position * shape[axis] + index[axis] }
    return position
}

/// The lanes of `shape` along `axis`: each lane is the list of index tuples that differ only in `axis`.
func lanes(of shape: [Int], axis: Int) -> [[[Int]]] {
    var outer = shape
    outer[axis] = 1
    return allIndices(outer).map { start in
        (0..<shape[axis]).map { i in
            var index = start
            index[axis] = i
            return index
        }
    }
}

/// NumPy broadcasting of two shapes (an independent re-implementation for the references).
func referenceBroadcast(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = max(a.count, b.count)
    return (0..<rank).map { i in
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        precondition(x == y || x == 1 || y == 1, "test helper: shapes \(a) and \(b) do not broadcast")
        return x == 1 ? y : x
    }
}

/// Maps an index of the broadcast result shape to an index of an operand of shape `shape`.
func broadcastSourceIndex(_ index: [Int], to shape: [Int]) -> [Int] {
    let lead = index.count - shape.count
    return (0..<shape.count).map { axis in shape[axis] == 1 ? 0 : index[lead + axis] }
}

extension Tensor {
    /// The element at `index`, read straight from storage.
    func at(_ index: [Int]) -> Scalar { storage.pointer[storageIndex(index)] }

    /// Writes the element at `index` straight into storage.
    func put(_ index: [Int], _ value: Scalar) { storage.pointer[storageIndex(index)] = value }

    /// The elements in row-major order, read one by one through `storageIndex`.
    var referenceScalars: [Scalar] { allIndices(shape).map { at($0) } }

    /// A new contiguous tensor holding `referenceScalars`.
    var referenceCopy: Tensor { Tensor(referenceScalars, shape: shape) }
}

// MARK: - Comparisons

/// Whether `a` and `b` agree within `atol + rtol * |b|` (NaN matches NaN, infinities must be equal).
func isClose<T: BinaryFloatingPoint>(_ a: T, _ b: T, rtol: Double, atol: Double) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a == b { return true }
    if a.isInfinite || b.isInfinite { return false }
    return Swift.abs(Double(a) - Double(b)) <= atol + rtol * Swift.abs(Double(b))
}

/// Expects equal counts and elementwise closeness, reporting the first few mismatches.
func expectClose<T: BinaryFloatingPoint>(
    _ actual: [T], _ expected: [T], rtol: Double = 1e-6, atol: Double = 1e-9, _ context: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record(
            "\(context): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    let bad = actual.indices.filter { !isClose(actual[$0], expected[$0], rtol: rtol, atol: atol) }
    if !bad.isEmpty {
        let shown = bad.prefix(5).map { "[\($0)] \(actual[$0]) vs \(expected[$0])" }.joined(separator: ", ")
        Issue.record(
            "\(context): \(bad.count) of \(actual.count) values differ: \(shown)", sourceLocation: sourceLocation)
    }
}

/// Expects `actual` to have `shape` and values close to `expected` (row-major).
func expectClose<T: TensorFloatingPoint>(
    _ actual: Tensor<T>, shape: [Int], _ expected: [T], rtol: Double = 1e-6, atol: Double = 1e-9,
    _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == shape, "\(context): shape", sourceLocation: sourceLocation)
    expectClose(actual.referenceScalars, expected, rtol: rtol, atol: atol, context, sourceLocation: sourceLocation)
}

/// Expects two tensors to have equal shapes and close values.
func expectClose<T: TensorFloatingPoint>(
    _ actual: Tensor<T>, _ expected: Tensor<T>, rtol: Double = 1e-6, atol: Double = 1e-9, _ context: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == expected.shape, "\(context): shape", sourceLocation: sourceLocation)
    expectClose(
        actual.referenceScalars, expected.referenceScalars, rtol: rtol, atol: atol, context,
        sourceLocation: sourceLocation)
}

/// Expects `actual` to have exactly `shape` and `values`.
func expectEqual<T: TensorElement>(
    _ actual: Tensor<T>, shape: [Int], _ values: [T], _ context: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == shape, "\(context): shape", sourceLocation: sourceLocation)
    #expect(actual.referenceScalars == values, "\(context): values", sourceLocation: sourceLocation)
}

// MARK: - Random layouts

extension RandomGenerator {
    /// A uniform integer in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}

/// A random shape of the given rank with dimensions in `sizes`.
func randomShape(rank: Int, sizes: ClosedRange<Int> = 1...4, using generator: inout RandomGenerator) -> [Int] {
    (0..<rank).map { _ in generator.int(sizes) }
}

/// A view with the same logical elements as `values` but a scrambled layout: its axes permuted in storage,
/// stepped (stride > 1 along some axes), starting at a non-zero offset, surrounded by `filler`.
/// Elements are written one at a time through `storageIndex`, not with the kernels under test.
func scatteredView<T: TensorElement>(
    of values: Tensor<T>, filler: T, using generator: inout RandomGenerator
) -> Tensor<T> {
    let shape = values.shape
    let rank = shape.count
    if rank == 0 {
        let base = Tensor<T>.full([3], value: filler)
        let view = base.select(axis: 0, index: generator.int(0...2))
        view.put([], values.at([]))
        return view
    }
    var starts: [Int] = [], steps: [Int] = [], spans: [Int] = [], alloc: [Int] = []
    for axis in 0..<rank {
        let start = generator.int(0...2)
        let step = generator.int(1...3)
        let span = shape[axis] == 0 ? 0 : (shape[axis] - 1) * step + 1
        starts.append(start)
        steps.append(step)
        spans.append(span)
        alloc.append(start + span + generator.int(0...1))
    }
    // Storage axis i holds logical axis order[i].
    let order = Array(0..<rank).shuffled(using: &generator)
    var inverse = [Int](repeating: 0, count: rank)
    for (i, axis) in order.enumerated() { inverse[axis] = i }
    let base = Tensor<T>.full(order.map { alloc[$0] }, value: filler)
    var view = base.permuted(inverse)
    for axis in 0..<rank {
        view = view.slice(axis: axis, starts[axis]..<(starts[axis] + spans[axis]), step: steps[axis])
    }
    precondition(view.shape == shape, "scatteredView: built \(view.shape), wanted \(shape)")
    for index in allIndices(shape) { view.put(index, values.at(index)) }
    return view
}

/// A random Double tensor of logical shape `shape` in a random layout. With `broadcast`, some axes of
/// size > 1 are stride-0 expansions of a size-1 axis (via `expanded(to:)`). Storage outside the view
/// holds NaN, so reading a wrong element shows up in every result.
func randomLayoutTensor(
    _ shape: [Int], broadcast: Bool = true, low: Double = -2, high: Double = 2,
    using generator: inout RandomGenerator
) -> Tensor<Double> {
    var sourceShape = shape
    if broadcast {
        for axis in shape.indices where shape[axis] > 1 && generator.chance(0.25) { sourceShape[axis] = 1 }
    }
    let values = Tensor<Double>.uniform(sourceShape, low: low, high: high, generator: &generator)
    var view = generator.chance(0.2) ? values : scatteredView(of: values, filler: .nan, using: &generator)
    if sourceShape != shape { view = view.expanded(to: shape) }
    return view
}

// MARK: - Naive references

/// A reference reduction: groups the elements of `tensor` by their index outside `axes` (nil = all) and
/// applies `fold` to each group's elements in row-major order.
func referenceReduce<T: TensorElement, R>(
    _ tensor: Tensor<T>, axes: [Int]?, keepDims: Bool, _ fold: ([T]) -> R
) -> (shape: [Int], values: [R]) {
    let rank = tensor.rank
    let reduced = Set((axes ?? Array(0..<rank)).map { $0 < 0 ? $0 + rank : $0 })
    let keptShape = (0..<rank).filter { !reduced.contains($0) }.map { tensor.shape[$0] }
    let keepShape = (0..<rank).map { reduced.contains($0) ? 1 : tensor.shape[$0] }
    var groups = [[T]](repeating: [], count: keptShape.reduce(1, *))
    for index in allIndices(tensor.shape) {
        let kept = (0..<rank).filter { !reduced.contains($0) }.map { index[$0] }
        groups[linearIndex(kept, in: keptShape)].append(tensor.at(index))
    }
    return (keepDims ? keepShape : keptShape, groups.map(fold))
}

/// NaN-propagating maximum of a non-empty list.
func referenceMax<T: BinaryFloatingPoint>(_ values: [T]) -> T {
    if values.contains(where: { $0.isNaN }) { return .nan }
    return values.max()!
}

/// NaN-propagating minimum of a non-empty list.
func referenceMin<T: BinaryFloatingPoint>(_ values: [T]) -> T {
    if values.contains(where: { $0.isNaN }) { return .nan }
    return values.min()!
}

/// Stable log-sum-exp of a list.
func referenceLogSumExp(_ values: [Double]) -> Double {
    let peak = referenceMax(values)
    if peak.isNaN { return .nan }
    if peak.isInfinite { return peak }
    return peak + Foundation.log(values.map { Foundation.exp($0 - peak) }.reduce(0, +))
}

/// Applies `transform` to every lane of `tensor` along `axis`, writing a new tensor of the same shape.
func referenceLaneMap(
    _ tensor: Tensor<Double>, axis: Int, _ transform: ([Double]) -> [Double]
) -> Tensor<Double> {
    let a = axis < 0 ? axis + tensor.rank : axis
    let result = Tensor<Double>.zeros(tensor.shape)
    for lane in lanes(of: tensor.shape, axis: a) {
        let output = transform(lane.map { tensor.at($0) })
        for (index, value) in zip(lane, output) { result.put(index, value) }
    }
    return result
}

/// `torch.matmul` by triple loops over elements read through `storageIndex`, accumulated in Double.
func naiveMatmul<T: TensorFloatingPoint>(_ a: Tensor<T>, _ b: Tensor<T>) -> (shape: [Int], values: [Double]) {
    let aShape = a.rank == 1 ? [1, a.shape[0]] : a.shape
    let bShape = b.rank == 1 ? [b.shape[0], 1] : b.shape
    let read = { (t: Tensor<T>, index: [Int], vectorAxis: Int?) -> Double in
        // For promoted vectors drop the inserted axis again.
        if let vectorAxis { return Double(t.at([index[vectorAxis]])) }
        return Double(t.at(index))
    }
    let m = aShape[aShape.count - 2], k = aShape[aShape.count - 1], n = bShape[bShape.count - 1]
    precondition(k == bShape[bShape.count - 2], "naiveMatmul: inner dimensions differ")
    let aBatch = Array(aShape.dropLast(2)), bBatch = Array(bShape.dropLast(2))
    let batch = referenceBroadcast(aBatch, bBatch)
    var values: [Double] = []
    for batchIndex in allIndices(batch) {
        let ai = broadcastSourceIndex(batchIndex, to: aBatch)
        let bi = broadcastSourceIndex(batchIndex, to: bBatch)
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k {
                    let x = read(a, ai + [i, p], a.rank == 1 ? 1 : nil)
                    let y = read(b, bi + [p, j], b.rank == 1 ? 0 : nil)
                    total += x * y
                }
                values.append(total)
            }
        }
    }
    var shape = batch + [m, n]
    if b.rank == 1 { shape.removeLast() }
    if a.rank == 1 { shape.remove(at: shape.count - (b.rank == 1 ? 1 : 2)) }
    return (shape, values)
}

// MARK: - Thread count

/// Runs `body` with `Threading.threadCount == count` for this task only (other tests keep theirs).
func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
    try Threading.withThreadCount(count, body)
}

/// Runs `body` once with one thread and once with two (for this task only), returning both results.
func withOneAndTwoThreads<R>(_ body: () -> R) -> (one: R, two: R) {
    (Threading.withThreadCount(1, body), Threading.withThreadCount(2, body))
}
