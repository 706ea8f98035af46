import Foundation
import Testing

@testable import LaTensor

/// Property tests: for random shapes (rank 0-4) and random layouts (permuted storage, stepped slices,
/// offsets, stride-0 expansions), `op(view)` equals `op(view.contiguous())` and a naive reference that
/// reads elements one at a time. Storage outside each view holds NaN, so an op that reads the wrong
/// element produces NaN where the reference does not.
@Suite struct LayoutPropertyTests {
    static let seeds: [UInt64] = Array(0..<12)
    static let casesPerSeed = 6

    /// A random rank in 0...4 and shape; dimensions may be 0 when `allowEmpty`.
    /// With `allowLong`, the last dimension is sometimes 16-20 (the column path of the reductions).
    static func randomShape(_ g: inout RandomGenerator, allowEmpty: Bool = false, allowLong: Bool = false) -> [Int] {
        let rank = g.int(0...4)
        var shape = (0..<rank).map { _ in allowEmpty && g.chance(0.08) ? 0 : g.int(1...4) }
        if allowLong, rank >= 2, g.chance(0.3) { shape[rank - 1] = g.int(16...20) }
        return shape
    }

    /// Two shapes that broadcast to `shape`: each a suffix of it with some dimensions set to 1.
    static func broadcastOperandShape(_ shape: [Int], _ g: inout RandomGenerator) -> [Int] {
        let rank = g.int(0...shape.count)
        return shape.suffix(rank).map { g.chance(0.3) ? 1 : $0 }
    }

    static func expectSameResults(
        _ strided: Tensor<Double>, _ dense: Tensor<Double>, _ reference: [Double], shape: [Int], _ label: String,
        rtol: Double = 1e-12, atol: Double = 1e-12, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(strided.shape == shape, "\(label): shape \(strided.shape) vs \(shape)", sourceLocation: sourceLocation)
        #expect(dense.shape == shape, "\(label): contiguous shape", sourceLocation: sourceLocation)
        expectClose(strided.referenceScalars, dense.referenceScalars, rtol: rtol, atol: atol, "\(label) view vs contiguous", sourceLocation: sourceLocation)
        expectClose(strided.referenceScalars, reference, rtol: rtol, atol: atol, "\(label) view vs reference", sourceLocation: sourceLocation)
    }

    // MARK: Layout itself

    @Test(arguments: seeds)
    func contiguousAndReshapeOfRandomViews(seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        for _ in 0..<Self.casesPerSeed {
            let shape = Self.randomShape(&g, allowEmpty: true)
            let view = randomLayoutTensor(shape, using: &g)
            let reference = view.referenceScalars
            let dense = view.contiguous()
            #expect(dense.isContiguous && dense.shape == shape)
            #expect(dense.scalars.elementsEqual(reference) { $0 == $1 || ($0.isNaN && $1.isNaN) })
            #expect(!reference.contains { $0.isNaN }, "the view reads only written elements")
            let flat = view.reshaped([view.count])
            #expect(flat.shape == [view.count] && flat.scalars == dense.scalars)
            if view.isContiguous { #expect(dense.storage === view.storage && dense.offset == view.offset) }
            // Reshaping to the same shape or adding a unit axis never copies.
            #expect(view.reshaped(shape).storage === view.storage)
            #expect(view.unsqueezed(axis: 0).storage === view.storage)
        }
    }

    /// A shape with the same element count: dimensions of 4 may split into 2 x 2, unit axes are sprinkled
    /// in, and (unless `splitOnly`) adjacent dimensions may merge.
    static func randomReshape(_ shape: [Int], splitOnly: Bool, _ g: inout RandomGenerator) -> [Int] {
        var factors: [Int] = []
        for d in shape where d != 1 || g.chance(0.5) {
            if d == 4 && g.chance(0.5) { factors += [2, 2] } else { factors.append(d) }
        }
        var result: [Int] = g.chance(0.2) ? [1] : []
        for f in factors {
            if !splitOnly, let last = result.last, g.chance(0.4) { result[result.count - 1] = last * f } else { result.append(f) }
            if g.chance(0.15) { result.append(1) }
        }
        return result
    }

    @Test(arguments: seeds)
    func reshapeOfRandomViews(seed: UInt64) {
        var g = RandomGenerator(seed: seed &+ 500)
        for _ in 0..<(2 * Self.casesPerSeed) {
            let shape = Self.randomShape(&g)
            let view = randomLayoutTensor(shape, using: &g)
            let values = view.referenceScalars
            // Splitting axes and adding or removing unit axes never needs a copy.
            let split = Self.randomReshape(shape, splitOnly: true, &g)
            let splitView = view.view(split)
            #expect(splitView.shape == split && splitView.storage === view.storage, "\(shape) -> \(split)")
            #expect(splitView.referenceScalars == values, "view \(shape) strides \(view.strides) -> \(split)")
            // Any regrouping gives the same row-major elements, as a view or as a copy.
            let merged = Self.randomReshape(shape, splitOnly: false, &g)
            let reshaped = view.reshaped(merged)
            #expect(reshaped.shape == merged)
            #expect(reshaped.referenceScalars == values, "reshape \(shape) strides \(view.strides) -> \(merged)")
            if reshaped.storage === view.storage {
                // A view must alias the same elements: a write shows up in the original.
                if let first = allIndices(merged).first {
                    reshaped.put(first, 12345)
                    #expect(view.referenceScalars.first == 12345)
                }
            }
        }
    }

    // MARK: Elementwise

    static let unaryOps: [(String, @Sendable (Tensor<Double>) -> Tensor<Double>, @Sendable (Double) -> Double)] = [
        ("neg", { -$0 }, { -$0 }),
        ("abs", { $0.abs() }, { Swift.abs($0) }),
        ("square", { $0.square() }, { $0 * $0 }),
        ("exp", { $0.exp() }, { Foundation.exp($0) }),
        ("log", { ($0.abs() + 0.5).log() }, { Foundation.log(Swift.abs($0) + 0.5) }),
        ("sqrt", { $0.abs().sqrt() }, { Swift.abs($0).squareRoot() }),
        ("tanh", { $0.tanh() }, { Foundation.tanh($0) }),
        ("sigmoid", { $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) }),
        ("relu", { $0.relu() }, { Swift.max($0, 0) }),
        ("gelu", { $0.gelu() }, { 0.5 * $0 * (1 + Foundation.erf($0 / Foundation.sqrt(2.0))) }),
        ("pow3", { $0.pow(3) }, { $0 * $0 * $0 }),
        ("clamp", { $0.clamp(min: -0.5, max: 1) }, { Swift.min(Swift.max($0, -0.5), 1) }),
        ("affine", { 2 * $0 - 1 }, { 2 * $0 - 1 }),
        ("reciprocal", { 1 / ($0.abs() + 1) }, { 1 / (Swift.abs($0) + 1) }),
    ]

    @Test(arguments: seeds)
    func unaryOps(seed: UInt64) {
        var g = RandomGenerator(seed: seed &+ 1000)
        for _ in 0..<Self.casesPerSeed {
            let shape = Self.randomShape(&g, allowEmpty: true, allowLong: true)
            let view = randomLayoutTensor(shape, using: &g)
            let dense = view.contiguous()
            let values = view.referenceScalars
            for (name, op, f) in Self.unaryOps {
                Self.expectSameResults(op(view), op(dense), values.map(f), shape: shape, "\(name) \(shape) strides \(view.strides)")
            }
            // Bool-valued and type-changing maps.
            #expect(view.greater(0.25).referenceScalars == values.map { $0 > 0.25 })
            #expect(view.cast(to: Float.self).referenceScalars == values.map(Float.init))
        }
    }

    static let binaryOps: [(String, @Sendable (Tensor<Double>, Tensor<Double>) -> Tensor<Double>, @Sendable (Double, Double) -> Double)] = [
        ("add", { $0 + $1 }, { $0 + $1 }),
        ("sub", { $0 - $1 }, { $0 - $1 }),
        ("mul", { $0 * $1 }, { $0 * $1 }),
        ("div", { $0 / ($1.abs() + 0.5) }, { $0 / (Swift.abs($1) + 0.5) }),
        ("maximum", { $0.maximum($1) }, { Swift.max($0, $1) }),
        ("minimum", { $0.minimum($1) }, { Swift.min($0, $1) }),
        ("pow", { ($0.abs() + 0.5).pow($1) }, { Foundation.pow(Swift.abs($0) + 0.5, $1) }),
        ("where", { `where`($0.less($1), $0, $1 * 10) }, { $0 < $1 ? $0 : $1 * 10 }),
    ]

    @Test(arguments: seeds)
    func binaryOpsWithBroadcasting(seed: UInt64) {
        var g = RandomGenerator(seed: seed &+ 2000)
        for _ in 0..<Self.casesPerSeed {
            let outShape = Self.randomShape(&g, allowEmpty: true)
            let lhsShape = Self.broadcastOperandShape(outShape, &g)
            let rhsShape = Self.broadcastOperandShape(outShape, &g)
            let shape = referenceBroadcast(lhsShape, rhsShape)
            let a = randomLayoutTensor(lhsShape, using: &g)
            let b = randomLayoutTensor(rhsShape, using: &g)
            let (ad, bd) = (a.contiguous(), b.contiguous())
            for (name, op, f) in Self.binaryOps {
                let reference = allIndices(shape).map { index in
                    f(a.at(broadcastSourceIndex(index, to: lhsShape)), b.at(broadcastSourceIndex(index, to: rhsShape)))
                }
                Self.expectSameResults(op(a, b), op(ad, bd), reference, shape: shape, "\(name) \(lhsShape) \(rhsShape)")
            }
            // In place: write a + b into a fresh strided view of the output shape.
            let target = scatteredView(of: Tensor<Double>.zeros(shape), filler: .nan, using: &g)
            target.assign(a.expanded(to: shape))
            target.addInPlace(b)
            let expected = allIndices(shape).map {
                a.at(broadcastSourceIndex($0, to: lhsShape)) + b.at(broadcastSourceIndex($0, to: rhsShape))
            }
            expectClose(target.referenceScalars, expected, rtol: 1e-15, atol: 0, "in place \(lhsShape) \(rhsShape)")
        }
    }

    // MARK: Reductions

    static func randomAxes(rank: Int, _ g: inout RandomGenerator) -> [Int]? {
        if g.chance(0.15) { return nil }
        // A random subset, in random order, each axis randomly written as negative.
        return (0..<rank).filter { _ in g.chance(0.5) }.shuffled(using: &g).map { g.chance(0.5) ? $0 - rank : $0 }
    }

    @Test(arguments: seeds)
    func reductionsOverRandomAxisSets(seed: UInt64) {
        var g = RandomGenerator(seed: seed &+ 3000)
        for _ in 0..<Self.casesPerSeed {
            let shape = Self.randomShape(&g, allowLong: true)
            let view = randomLayoutTensor(shape, using: &g)
            let dense = view.contiguous()
            for _ in 0..<3 {
                let axes = Self.randomAxes(rank: shape.count, &g)
                for keepDims in [false, true] {
                    for op in ReductionTests.reductionOps {
                        let expected = referenceReduce(view, axes: axes, keepDims: keepDims) { ReductionTests.reference(op, $0) }
                        Self.expectSameResults(
                            ReductionTests.apply(op, view, axes: axes, keepDims: keepDims),
                            ReductionTests.apply(op, dense, axes: axes, keepDims: keepDims),
                            expected.values, shape: expected.shape,
                            "\(op) \(shape) strides \(view.strides) axes \(axes.map { "\($0)" } ?? "nil") keepDims \(keepDims)")
                    }
                }
            }
        }
    }

    @Test(arguments: seeds)
    func argmaxArgminAlongEachAxis(seed: UInt64) {
        var g = RandomGenerator(seed: seed &+ 4000)
        for _ in 0..<Self.casesPerSeed {
            let shape = Self.randomShape(&g)
            let view = randomLayoutTensor(shape, using: &g)
            let dense = view.contiguous()
            for keepDims in [false, true] {
                let axes: [Int?] = [nil] + Array(0..<shape.count)
                for axis in axes {
                    let reduceAxes = axis.map { [$0] }
                    let maxRef = referenceReduce(view, axes: reduceAxes, keepDims: keepDims) { $0.firstIndex(of: $0.max()!)! }
                    let minRef = referenceReduce(view, axes: reduceAxes, keepDims: keepDims) { $0.firstIndex(of: $0.min()!)! }
                    let label = "\(shape) strides \(view.strides) axis \(axis.map { "\($0)" } ?? "nil") keepDims \(keepDims)"
                    let strided = view.argmax(axis: axis, keepDims: keepDims)
                    #expect(strided.shape == maxRef.shape, "argmax shape \(label)")
                    #expect(strided.referenceScalars == maxRef.values, "argmax \(label)")
                    #expect(strided.referenceScalars == dense.argmax(axis: axis, keepDims: keepDims).referenceScalars)
                    let smallest = view.argmin(axis: axis, keepDims: keepDims)
                    #expect(smallest.shape == minRef.shape && smallest.referenceScalars == minRef.values, "argmin \(label)")
                }
            }
        }
    }

    // MARK: Lane ops

    @Test(arguments: seeds)
    func laneOpsAlongEachAxis(seed: UInt64) {
        var g = RandomGenerator(seed: seed &+ 5000)
        for _ in 0..<Self.casesPerSeed {
            var shape = Self.randomShape(&g)
            if shape.isEmpty { shape = [g.int(1...4)] }
            let view = randomLayoutTensor(shape, using: &g)
            let dense = view.contiguous()
            for axis in 0..<shape.count {
                let negative = axis - shape.count
                let label = "\(shape) strides \(view.strides) axis \(axis)"
                Self.expectSameResults(
                    view.softmax(axis: axis), dense.softmax(axis: negative),
                    referenceLaneMap(view, axis: axis, SoftmaxTests.referenceSoftmax).referenceScalars, shape: shape,
                    "softmax \(label)")
                Self.expectSameResults(
                    view.logSoftmax(axis: negative), dense.logSoftmax(axis: axis),
                    referenceLaneMap(view, axis: axis, SoftmaxTests.referenceLogSoftmax).referenceScalars, shape: shape,
                    "logSoftmax \(label)")
                Self.expectSameResults(
                    view.l2Normalized(axis: axis), dense.l2Normalized(axis: axis),
                    referenceLaneMap(view, axis: axis) { SoftmaxTests.referenceL2($0) }.referenceScalars, shape: shape,
                    "l2Normalized \(label)")
                let running = referenceLaneMap(view, axis: axis) { lane in
                    var total = 0.0
                    return lane.map { total += $0; return total }
                }
                Self.expectSameResults(
                    view.cumulativeSum(axis: axis), dense.cumulativeSum(axis: axis), running.referenceScalars, shape: shape,
                    "cumulativeSum \(label)")
            }
        }
    }
}
