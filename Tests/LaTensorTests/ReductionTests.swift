import Foundation
import Testing

@testable import LaTensor

/// sum / mean / max / min / argmax / argmin / variance / norm / logSumExp over axis sets, with keepDims.
@Suite struct ReductionTests {
    static let m = Tensor<Double>(rows: [[1, 2, 3], [4, 5, 6]])

    // MARK: Hand-computed values

    @Test func sumOverAxes() {
        let m = Self.m
        expectEqual(m.sum(), shape: [], [21])
        expectEqual(m.sum(keepDims: true), shape: [1, 1], [21])
        expectEqual(m.sum(axis: 0), shape: [3], [5, 7, 9])
        expectEqual(m.sum(axis: 1), shape: [2], [6, 15])
        expectEqual(m.sum(axis: -1, keepDims: true), shape: [2, 1], [6, 15])
        expectEqual(m.sum(axes: [0], keepDims: true), shape: [1, 3], [5, 7, 9])
        expectEqual(m.sum(axes: [1, 0]), shape: [], [21])
        expectEqual(m.sum(axes: [-2, -1], keepDims: true), shape: [1, 1], [21])
        expectEqual(m.sum(axes: []), shape: [2, 3], [1, 2, 3, 4, 5, 6])
        expectEqual(m.transposed().sum(axis: 1), shape: [3], [5, 7, 9])
        expectEqual(Tensor<Int>([1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 2, 2]).sum(axes: [0, 2]), shape: [2], [14, 22])
        expectEqual(Tensor<Float>(scalar: 3).sum(), shape: [], [3])
        expectEqual(Tensor<Float>(scalar: 3).sum(keepDims: true), shape: [], [3])
    }

    @Test func sumOfEmptyAxesIsZeroAndMeanIsNaN() {
        let e = Tensor<Double>.zeros([2, 0, 3])
        expectEqual(e.sum(axis: 1), shape: [2, 3], [0, 0, 0, 0, 0, 0])
        expectEqual(e.sum(), shape: [], [0])
        #expect(e.sum(axis: 0).shape == [0, 3])
        #expect(e.mean(axis: 1).scalars.allSatisfy { $0.isNaN })
    }

    @Test func meanOverAxes() {
        let m = Self.m
        expectEqual(m.mean(), shape: [], [3.5])
        expectEqual(m.mean(axis: 0), shape: [3], [2.5, 3.5, 4.5])
        expectEqual(m.mean(axis: 1, keepDims: true), shape: [2, 1], [2, 5])
        expectEqual(m.slice(axis: 1, 0..<3, step: 2).mean(axis: 1), shape: [2], [2, 5])
        let f = Tensor<Float>([1, 2, 3, 4], shape: [2, 2]).mean(axes: [0, 1])
        #expect(f.item == 2.5)
    }

    @Test func maxAndMinDoNotDependOnTheFirstElement() {
        // The first element is larger (smaller) than every element of other groups.
        let x = Tensor<Double>(rows: [[9, 1, 2], [3, 4, 5]])
        expectEqual(x.max(axis: 1), shape: [2], [9, 5])
        expectEqual(x.max(axis: 0), shape: [3], [9, 4, 5])
        expectEqual(x.min(axis: 1), shape: [2], [1, 3])
        expectEqual(x.min(axis: 0), shape: [3], [3, 1, 2])
        let y = Tensor<Double>(rows: [[0, 5], [6, 7]])
        expectEqual(y.min(axis: 1), shape: [2], [0, 6])
        expectEqual(y.max(axis: 1, keepDims: true), shape: [2, 1], [5, 7])
        expectEqual(x.max(), shape: [], [9])
        expectEqual(x.min(keepDims: true), shape: [1, 1], [1])
        let ints = Tensor<Int>([100, -3, 7, 8, 9, 10], shape: [3, 2])
        expectEqual(ints.max(axis: 1), shape: [3], [100, 8, 10])
        expectEqual(ints.min(axis: 0), shape: [2], [7, -3])
        let negatives = Tensor<Float>([-1, -5, -7, -2], shape: [2, 2])
        expectEqual(negatives.max(axis: 1), shape: [2], [-1, -2])
        expectEqual(negatives.min(axis: 1), shape: [2], [-5, -7])
    }

    @Test func maxMinOnColumnLayout() {
        // [3, 20] reduced over axis 0: the last kept axis is dense and long, the column-reduction path.
        let values = (0..<60).map { Double(($0 * 37) % 61) - 30 }
        let x = Tensor<Double>(values, shape: [3, 20])
        let expectedMax = (0..<20).map { j in (0..<3).map { values[$0 * 20 + j] }.max()! }
        let expectedMin = (0..<20).map { j in (0..<3).map { values[$0 * 20 + j] }.min()! }
        expectEqual(x.max(axis: 0), shape: [20], expectedMax)
        expectEqual(x.min(axis: 0), shape: [20], expectedMin)
        expectEqual(x.sum(axis: 0), shape: [20], (0..<20).map { j in (0..<3).map { values[$0 * 20 + j] }.reduce(0, +) })
    }

    @Test func maxMinPropagateNaN() {
        let x = Tensor<Double>(rows: [[1, .nan, 3], [4, 5, 6]])
        let hi = x.max(axis: 1).scalars
        #expect(hi[0].isNaN && hi[1] == 6)
        let lo = x.min(axis: 0).scalars
        #expect(lo[0] == 1 && lo[1].isNaN && lo[2] == 3)
        #expect(x.max().item.isNaN)
        #expect(x.sum(axis: 1).scalars[0].isNaN)
    }

    @Test func maxOfEmptyReductionStops() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor<Float>.zeros([2, 0]).max(axis: 1)
        }
    }

    @Test func argmaxArgmin() {
        let x = Tensor<Double>(rows: [[3, 7, 7, 1], [9, 2, 9, 0], [1, 1, 1, 1]])
        expectEqual(x.argmax(axis: 1), shape: [3], [1, 0, 0])  // first of ties
        expectEqual(x.argmin(axis: 1), shape: [3], [3, 3, 0])
        expectEqual(x.argmax(axis: 0), shape: [4], [1, 0, 1, 0])
        expectEqual(x.argmin(axis: 0, keepDims: true), shape: [1, 4], [2, 2, 2, 1])
        expectEqual(x.argmax(), shape: [], [4])
        expectEqual(x.argmin(), shape: [], [7])
        expectEqual(x.argmax(keepDims: true), shape: [1, 1], [4])
        expectEqual(x.argmax(axis: -1, keepDims: true), shape: [3, 1], [1, 0, 0])
        // On a transposed view, the flattened index is in the view's row-major order.
        expectEqual(x.transposed().argmax(), shape: [], [1])
        expectEqual(x.transposed().argmax(axis: 1), shape: [4], [1, 0, 1, 0])
        let n = Tensor<Double>([1, .nan, 5, .nan])
        expectEqual(n.argmax(), shape: [], [1])
        expectEqual(n.argmin(), shape: [], [1])
        expectEqual(Tensor<Int>([4, -2, 8]).argmin(), shape: [], [1])
        expectEqual(Tensor<Float>(scalar: 2).argmax(), shape: [], [0])
    }

    @Test func varianceWithCorrection() {
        let x = Tensor<Double>(rows: [[1, 2, 3, 4], [2, 4, 6, 8]])
        expectClose(x.variance(axes: [1], correction: 0), shape: [2], [1.25, 5], rtol: 1e-15)
        expectClose(x.variance(axes: [1], correction: 1), shape: [2], [5.0 / 3, 20.0 / 3], rtol: 1e-15)
        expectClose(x.variance(axes: [1]), shape: [2], [5.0 / 3, 20.0 / 3], rtol: 1e-15)
        expectClose(x.variance(axes: [0], correction: 0, keepDims: true), shape: [1, 4], [0.25, 1, 2.25, 4], rtol: 1e-15)
        expectClose(x.variance(correction: 0), shape: [], [4.6875], rtol: 1e-15)
        expectClose(x.variance(), shape: [], [37.5 / 7], rtol: 1e-15)
        expectClose(x.transposed().variance(axes: [0], correction: 0), shape: [2], [1.25, 5], rtol: 1e-15)
        let f = Tensor<Float>([2, 4, 4, 4, 5, 5, 7, 9]).variance(correction: 0)
        #expect(f.item == 4)
    }

    @Test func norms() {
        let x = Tensor<Double>(rows: [[3, -4, 0], [-1, 2, -2]])
        expectClose(x.norm(), shape: [], [Foundation.sqrt(34.0)], rtol: 1e-15)
        expectClose(x.norm(axes: [1]), shape: [2], [5, 3], rtol: 1e-15)
        expectClose(x.norm(p: 1, axes: [1]), shape: [2], [7, 5], rtol: 1e-15)
        expectClose(x.norm(p: .infinity, axes: [1]), shape: [2], [4, 2], rtol: 0)
        expectClose(x.norm(p: .infinity, axes: [0], keepDims: true), shape: [1, 3], [3, 4, 2], rtol: 0)
        expectClose(x.norm(p: .infinity), shape: [], [4], rtol: 0)
        expectClose(x.norm(p: 3, axes: [1]), shape: [2], [Foundation.pow(91.0, 1.0 / 3), Foundation.pow(17.0, 1.0 / 3)], rtol: 1e-14)
        expectClose(x.transposed().norm(p: 1, axes: [0]), shape: [2], [7, 5], rtol: 1e-15)
        // The inf-norm of a row whose first element is the largest of all.
        let y = Tensor<Float>(rows: [[-10, 1], [2, -3]])
        expectClose(y.norm(p: .infinity, axes: [1]), shape: [2], [10, 3], rtol: 0)
    }

    @Test func logSumExpIsStable() {
        let big = Tensor<Double>([1000, 1000])
        expectClose(big.logSumExp(), shape: [], [1000 + log(2.0)], rtol: 1e-15)
        let mixed = Tensor<Double>([-Double.infinity, 0])
        expectClose(mixed.logSumExp(), shape: [], [0], rtol: 0, atol: 0)
        let allNegInf = Tensor<Double>([-Double.infinity, -Double.infinity])
        #expect(allNegInf.logSumExp().item == -.infinity)
        let withInf = Tensor<Double>([Double.infinity, 1])
        #expect(withInf.logSumExp().item == .infinity)
        let rows = Tensor<Double>(rows: [[1000, 0], [1, 2], [-1000, -1000]])
        expectClose(
            rows.logSumExp(axis: 1), shape: [3],
            [1000, 2 + log1p(exp(-1.0)), -1000 + log(2.0)], rtol: 1e-15)
        expectClose(rows.logSumExp(axis: 1, keepDims: true), shape: [3, 1], [1000, 2 + log1p(exp(-1.0)), -1000 + log(2.0)], rtol: 1e-15)
        expectClose(
            rows.logSumExp(axes: [0]), shape: [2], [1000, 2 + log1p(exp(-2.0) + exp(-1002.0))], rtol: 1e-15)
        let f = Tensor<Float>([1000, 999, -Float.infinity]).logSumExp()
        expectClose([f.item], [1000 + Float(log1p(exp(-1.0)))], rtol: 1e-6)
        #expect(Tensor<Float>([-Float.infinity]).logSumExp().item == -.infinity)
    }

    // MARK: Against naive references, strided layouts, all axis sets

    /// Every subset of the axes of a rank-`rank` tensor, plus nil (all axes).
    static func axisSets(rank: Int) -> [[Int]?] {
        var sets: [[Int]?] = [nil]
        for mask in 0..<(1 << rank) { sets.append((0..<rank).filter { mask & (1 << $0) != 0 }) }
        return sets
    }

    static let reductionOps = ["sum", "mean", "max", "min", "var0", "var1", "norm1", "norm2", "normInf", "norm3", "logSumExp"]

    static func apply(_ op: String, _ x: Tensor<Double>, axes: [Int]?, keepDims: Bool) -> Tensor<Double> {
        switch op {
        case "sum": return x.sum(axes: axes, keepDims: keepDims)
        case "mean": return x.mean(axes: axes, keepDims: keepDims)
        case "max": return x.max(axes: axes, keepDims: keepDims)
        case "min": return x.min(axes: axes, keepDims: keepDims)
        case "var0": return x.variance(axes: axes, correction: 0, keepDims: keepDims)
        case "var1": return x.variance(axes: axes, correction: 1, keepDims: keepDims)
        case "norm1": return x.norm(p: 1, axes: axes, keepDims: keepDims)
        case "norm2": return x.norm(p: 2, axes: axes, keepDims: keepDims)
        case "normInf": return x.norm(p: .infinity, axes: axes, keepDims: keepDims)
        case "norm3": return x.norm(p: 3, axes: axes, keepDims: keepDims)
        default: return x.logSumExp(axes: axes, keepDims: keepDims)
        }
    }

    static func reference(_ op: String, _ values: [Double]) -> Double {
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let squares = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
        switch op {
        case "sum": return values.reduce(0, +)
        case "mean": return mean
        case "max": return referenceMax(values)
        case "min": return referenceMin(values)
        case "var0": return squares / n
        case "var1": return squares / (n - 1)
        case "norm1": return values.map(Swift.abs).reduce(0, +)
        case "norm2": return values.map { $0 * $0 }.reduce(0, +).squareRoot()
        case "normInf": return referenceMax(values.map(Swift.abs))
        case "norm3": return Foundation.pow(values.map { Swift.abs($0 * $0 * $0) }.reduce(0, +), 1.0 / 3)
        default: return referenceLogSumExp(values)
        }
    }

    /// Checks `op` on `x` over every axis set, both keepDims, against the naive reference.
    static func checkAllAxisSets(_ op: String, _ x: Tensor<Double>, context: String) {
        for axes in axisSets(rank: x.rank) {
            for keepDims in [false, true] {
                let expected = referenceReduce(x, axes: axes, keepDims: keepDims) { reference(op, $0) }
                let actual = apply(op, x, axes: axes, keepDims: keepDims)
                let label = "\(context) \(op) axes \(axes.map { "\($0)" } ?? "nil") keepDims \(keepDims)"
                #expect(actual.shape == expected.shape, "\(label): shape")
                expectClose(actual.referenceScalars, expected.values, rtol: 1e-12, atol: 1e-12, label)
            }
        }
    }

    @Test(arguments: reductionOps)
    func reductionsMatchReferenceOnStridedLayouts(op: String) {
        var generator = RandomGenerator(seed: 21)
        let base = Tensor<Double>.uniform([4, 6, 5], low: -3, high: 3, generator: &generator)
        let layouts: [(String, Tensor<Double>)] = [
            ("contiguous", base),
            ("permuted", base.permuted([2, 0, 1])),
            ("stepped+offset", base.slice(axis: 1, 1..<6, step: 2).slice(axis: 0, 1..<4)),
            ("transposed", base.transposed(0, 2).slice(axis: 2, 2..<4)),
            ("broadcast", base[1].slice(axis: 0, 0..<6, step: 3).unsqueezed(axis: 0).expanded(to: [3, 2, 5])),
            ("column", Tensor<Double>.uniform([3, 2, 40], low: -1, high: 1, generator: &generator)),
            ("strided column", Tensor<Double>.uniform([4, 3, 20], low: -1, high: 1, generator: &generator)
                .permuted([1, 0, 2]).slice(axis: 1, 0..<4, step: 2).slice(axis: 2, 1..<20)),
            ("scalar", Tensor<Double>(scalar: -1.5)),
            ("vector", base.select(axis: 2, index: 3).select(axis: 1, index: 4)),
        ]
        for (name, x) in layouts { Self.checkAllAxisSets(op, x, context: name) }
    }

    @Test func integerReductions() {
        let x = Tensor<Int>([5, -2, 7, 1, 0, 3], shape: [2, 3]).transposed()  // [[5, 1], [-2, 0], [7, 3]]
        expectEqual(x.sum(axis: 0), shape: [2], [10, 4])
        expectEqual(x.sum(axis: 1), shape: [3], [6, -2, 10])
        expectEqual(x.max(axis: 1), shape: [3], [5, 0, 7])
        expectEqual(x.min(axis: 0), shape: [2], [-2, 0])
        expectEqual(x.argmax(axis: 0), shape: [2], [2, 2])
        expectEqual(x.argmin(axis: 1), shape: [3], [1, 0, 1])
        let bytes = Tensor<UInt8>([3, 200, 17, 4], shape: [2, 2])
        expectEqual(bytes.max(axis: 1), shape: [2], [200, 17])
        expectEqual(bytes.min(axis: 0), shape: [2], [3, 4])
    }

    @Test func argExtremesMatchReferenceOnStridedLayouts() {
        var generator = RandomGenerator(seed: 5)
        let base = Tensor<Double>.uniform([5, 4, 6], low: -1, high: 1, generator: &generator)
        let views = [base, base.permuted([1, 2, 0]), base.slice(axis: 2, 1..<6, step: 2).slice(axis: 0, 2..<5)]
        for x in views {
            for axis in 0..<3 {
                for keepDims in [false, true] {
                    let maxRef = referenceReduce(x, axes: [axis], keepDims: keepDims) { $0.firstIndex(of: $0.max()!)! }
                    let minRef = referenceReduce(x, axes: [axis], keepDims: keepDims) { $0.firstIndex(of: $0.min()!)! }
                    expectEqual(x.argmax(axis: axis, keepDims: keepDims), shape: maxRef.shape, maxRef.values)
                    expectEqual(x.argmin(axis: axis, keepDims: keepDims), shape: minRef.shape, minRef.values)
                }
            }
            let flat = x.referenceScalars
            #expect(x.argmax().item == flat.firstIndex(of: flat.max()!)!)
            #expect(x.argmin().item == flat.firstIndex(of: flat.min()!)!)
        }
    }

    // MARK: Parallel reductions

    @Test func largeReductionsAgreeAcrossThreadCounts() {
        var generator = RandomGenerator(seed: 8)
        // 400 x 130 = 52000 elements: the column path splits columns into chunks with 2 threads.
        let x = Tensor<Double>.uniform([400, 130], low: -1, high: 1, generator: &generator)
        let strided = x.transposed()  // rows of the transpose are strided lanes
        let (one, two) = withOneAndTwoThreads { () -> [[Double]] in
            [
                x.sum(axis: 0).scalars, x.max(axis: 0).scalars, x.min(axis: 0).scalars, x.sum(axis: 1).scalars,
                strided.sum(axis: 1).scalars, strided.max(axis: 0).scalars, x.mean().scalars,
                x.argmax(axis: 0).scalars.map(Double.init), x.softmax(axis: 0).scalars,
                x.logSumExp(axis: 1).scalars,
            ]
        }
        #expect(one == two)
        let columns = (0..<130).map { j in (0..<400).map { x.at([$0, j]) } }
        let rows = (0..<400).map { i in (0..<130).map { x.at([i, $0]) } }
        expectClose(two[0], columns.map { $0.reduce(0, +) }, rtol: 1e-12, atol: 1e-12, "sum axis 0")
        #expect(two[1] == columns.map { $0.max()! })
        #expect(two[2] == columns.map { $0.min()! })
        expectClose(two[3], rows.map { $0.reduce(0, +) }, rtol: 1e-12, atol: 1e-12, "sum axis 1")
        expectClose(two[4], columns.map { $0.reduce(0, +) }, rtol: 1e-12, atol: 1e-12, "strided sum")
        #expect(two[5] == rows.map { $0.max()! })
        #expect(two[7] == columns.map { Double($0.firstIndex(of: $0.max()!)!) })
        expectClose(two[9], rows.map(referenceLogSumExp), rtol: 1e-13, atol: 1e-13, "logSumExp")
    }

    @Test func repeatedAxisStops() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor<Float>.zeros([2, 3]).sum(axes: [1, -1])
        }
    }
}
