import Foundation
import Testing

@testable import LaTensor

/// Arithmetic, comparisons, selection, math functions and in-place ops, on contiguous and strided operands.
@Suite struct ElementwiseTests {
    /// A [3, 4] matrix 0 ... 11 and some non-contiguous views of it.
    static let base = Tensor<Double>((0..<12).map(Double.init), shape: [3, 4])

    // MARK: Arithmetic

    @Test func tensorTensorArithmetic() {
        let a = Tensor<Double>(rows: [[1, 2, 3], [4, 5, 6]])
        let b = Tensor<Double>(rows: [[6, 5, 4], [3, 2, 1]])
        expectEqual(a + b, shape: [2, 3], [7, 7, 7, 7, 7, 7])
        expectEqual(a - b, shape: [2, 3], [-5, -3, -1, 1, 3, 5])
        expectEqual(a * b, shape: [2, 3], [6, 10, 12, 12, 10, 6])
        expectClose(a / b, shape: [2, 3], [1.0 / 6, 0.4, 0.75, 4.0 / 3, 2.5, 6], rtol: 1e-15)
    }

    @Test func broadcastingArithmetic() {
        let column = Tensor<Float>([1, 2], shape: [2, 1])
        let row = Tensor<Float>([10, 20, 30])
        expectEqual(column + row, shape: [2, 3], [11, 21, 31, 12, 22, 32])
        expectEqual(row - column, shape: [2, 3], [9, 19, 29, 8, 18, 28])
        expectEqual(column * row, shape: [2, 3], [10, 20, 30, 20, 40, 60])
        expectEqual(row / column, shape: [2, 3], [10, 20, 30, 5, 10, 15])
        // 0-D operands broadcast against anything.
        let s = Tensor<Float>(scalar: 2)
        expectEqual(s * row, shape: [3], [20, 40, 60])
        expectEqual(row + s, shape: [3], [12, 22, 32])
        // Rank-3 with broadcast in the middle: [2, 1, 2] + [3, 1]
        let c = Tensor<Int>([1, 2, 3, 4], shape: [2, 1, 2])
        let d = Tensor<Int>([100, 200, 300], shape: [3, 1])
        expectEqual(c + d, shape: [2, 3, 2], [101, 102, 201, 202, 301, 302, 103, 104, 203, 204, 303, 304])
    }

    @Test func scalarArithmetic() {
        let a = Tensor<Double>([1, -2, 4])
        expectEqual(a + 1, shape: [3], [2, -1, 5])
        expectEqual(1 + a, shape: [3], [2, -1, 5])
        expectEqual(a - 1, shape: [3], [0, -3, 3])
        expectEqual(1 - a, shape: [3], [0, 3, -3])
        expectEqual(a * 3, shape: [3], [3, -6, 12])
        expectEqual(3 * a, shape: [3], [3, -6, 12])
        expectEqual(a / 4, shape: [3], [0.25, -0.5, 1])
        expectEqual(4 / a, shape: [3], [4, -2, 1])
        expectEqual(-a, shape: [3], [-1, 2, -4])
        expectEqual(a.abs(), shape: [3], [1, 2, 4])
        expectEqual(a.square(), shape: [3], [1, 4, 16])
    }

    @Test func integerArithmetic() {
        let a = Tensor<Int>([7, -7, 9, 0])
        let b = Tensor<Int>([2, 2, -4, 5])
        expectEqual(a / b, shape: [4], [3, -3, -2, 0])  // truncating, like Swift
        expectEqual(a * b, shape: [4], [14, -14, -36, 0])
        expectEqual(-a, shape: [4], [-7, 7, -9, 0])
        expectEqual(a.abs(), shape: [4], [7, 7, 9, 0])
        let bytes = Tensor<UInt8>([1, 2, 250])
        expectEqual(bytes + Tensor<UInt8>([4, 5, 5]), shape: [3], [5, 7, 255])
        let small = Tensor<Int32>([3, -4]) * 2
        expectEqual(small, shape: [2], [6, -8])
    }

    @Test func arithmeticOnNonContiguousOperands() {
        let a = Self.base
        // Transposed + sliced-with-step: [4, 3] + [4, 3]
        let t = a.transposed()
        let stepped = Tensor<Double>((0..<24).map(Double.init), shape: [4, 6]).slice(axis: 1, 1..<6, step: 2)
        #expect(stepped.shape == [4, 3])
        let sum = t + stepped
        var expected: [Double] = []
        for i in 0..<4 { for j in 0..<3 { expected.append(Double(j * 4 + i) + Double(i * 6 + 1 + 2 * j)) } }
        expectEqual(sum, shape: [4, 3], expected)
        #expect(sum.isContiguous)
        // Offset view (rows 1..<3) times a broadcast (stride-0) row.
        let rows = a.slice(axis: 0, 1..<3)
        let scale = Tensor<Double>([1, 0, -1, 2]).expanded(to: [2, 4])
        expectEqual(rows * scale, shape: [2, 4], [4, 0, -6, 14, 8, 0, -10, 22])
        // Broadcast column (stride 0 along columns) minus a transposed view.
        let column = Tensor<Double>([100, 200, 300, 400], shape: [4, 1]).expanded(to: [4, 3])
        expectEqual(column - t, shape: [4, 3], [100, 96, 92, 199, 195, 191, 298, 294, 290, 397, 393, 389])
        // Both operands broadcast along different axes.
        let r = Tensor<Double>([1, 2, 3]).expanded(to: [2, 3])
        let c = Tensor<Double>([10, 20], shape: [2, 1]).expanded(to: [2, 3])
        expectEqual(r * c, shape: [2, 3], [10, 20, 30, 20, 40, 60])
        // Unary op on a stepped, offset, transposed view.
        let odd = a.slice(axis: 1, 1..<4, step: 2).transposed()
        expectEqual(-odd, shape: [2, 3], [-1, -5, -9, -3, -7, -11])
    }

    @Test func emptyTensors() {
        let e = Tensor<Float>.zeros([0, 3])
        #expect((e + Tensor<Float>([1, 2, 3])).shape == [0, 3])
        #expect(e.exp().shape == [0, 3])
        #expect((e * 2).count == 0)
        let f = Tensor<Float>.zeros([2, 0]).transposed()
        #expect((f + f).shape == [0, 2])
    }

    @Test func incompatibleShapesStop() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor<Float>.zeros([2, 3]) + Tensor<Float>.zeros([2])
        }
    }

    // MARK: In-place

    @Test func inPlaceOpsWriteThroughViews() {
        let a = Self.base.copy()
        // Add into a transposed view: element (i, j) of the view is a[j, i].
        let t = a.transposed()
        t.addInPlace(Tensor<Double>([1000, 2000, 3000, 4000], shape: [4, 1]))
        #expect(a.scalars == [1000, 2001, 3002, 4003, 1004, 2005, 3006, 4007, 1008, 2009, 3010, 4011])

        let b = Self.base.copy()
        let column = b.slice(axis: 1, 1..<4, step: 2)  // columns 1 and 3
        column.subtractInPlace(Tensor<Double>([1, 1]))
        column.multiplyInPlace(Tensor<Double>([[2], [3], [4]].flatMap { $0 }, shape: [3, 1]))
        #expect(b.scalars == [0, 0, 2, 4, 4, 12, 6, 18, 8, 32, 10, 40])
        column.multiplyInPlace(0.5)
        #expect(b.scalars == [0, 0, 2, 2, 4, 6, 6, 9, 8, 16, 10, 20])

        let c = Tensor<Double>([1, 2, 3, 4])
        c.addInPlace(Tensor<Double>([10, 20, 30, 40]), alpha: -0.5)
        #expect(c.scalars == [-4, -8, -12, -16])
        c.divideInPlace(Tensor<Double>(scalar: -4))
        #expect(c.scalars == [1, 2, 3, 4])
    }

    @Test func assignAndFillOnViews() {
        let a = Tensor<Int>.zeros([3, 4])
        a.slice(axis: 1, 0..<4, step: 3).assign(Tensor<Int>([7, 8]))
        #expect(a.scalars == [7, 0, 0, 8, 7, 0, 0, 8, 7, 0, 0, 8])
        a.select(axis: 0, index: 1).fill(5)
        #expect(a.scalars == [7, 0, 0, 8, 5, 5, 5, 5, 7, 0, 0, 8])
        a.transposed()[2].fill(-1)  // column 2
        #expect(a.scalars == [7, 0, -1, 8, 5, 5, -1, 5, 7, 0, -1, 8])
        let b = Tensor<Int>.zeros([2, 3])
        b.assign(Tensor<Int>([1, 2, 3, 4, 5, 6], shape: [3, 2]).transposed())
        #expect(b.scalars == [1, 3, 5, 2, 4, 6])
    }

    @Test func mapInPlaceAndClampInPlace() {
        let a = Tensor<Float>([-3, -1, 0, 2, 5])
        a.clampInPlace(min: -1, max: 2)
        #expect(a.scalars == [-1, -1, 0, 2, 2])
        a.clampInPlace(min: 0)
        #expect(a.scalars == [0, 0, 0, 2, 2])
        let b = Tensor<Double>([0, 1, 2, 3], shape: [2, 2])
        b.transposed().expInPlace()
        expectClose(b.scalars, [1, M_E, exp(2), exp(3)], rtol: 1e-14)
    }

    // MARK: Comparisons and selection

    @Test func comparisonsWithBroadcasting() {
        let a = Tensor<Float>([1, 2, 3, 4], shape: [2, 2])
        let b = Tensor<Float>([2, 2])
        expectEqual(a.equal(b), shape: [2, 2], [false, true, false, false])
        expectEqual(a.notEqual(b), shape: [2, 2], [true, false, true, true])
        expectEqual(a.less(b), shape: [2, 2], [true, false, false, false])
        expectEqual(a.lessEqual(b), shape: [2, 2], [true, true, false, false])
        expectEqual(a.greater(b), shape: [2, 2], [false, false, true, true])
        expectEqual(a.greaterEqual(b), shape: [2, 2], [false, true, true, true])
        expectEqual(a.equal(3), shape: [2, 2], [false, false, true, false])
        expectEqual(a.less(3), shape: [2, 2], [true, true, false, false])
        expectEqual(a.greater(3), shape: [2, 2], [false, false, false, true])
        expectEqual(a.transposed().greater(b), shape: [2, 2], [false, true, false, true])
        let n = Tensor<Float>([.nan, 1])
        expectEqual(n.equal(n), shape: [2], [false, true])
        expectEqual(n.notEqual(n), shape: [2], [true, false])
    }

    @Test func logicalOpsAndWhere() {
        let p = Tensor<Bool>([true, true, false, false])
        let q = Tensor<Bool>([true, false, true, false])
        expectEqual(p.and(q), shape: [4], [true, false, false, false])
        expectEqual(p.or(q), shape: [4], [true, true, true, false])
        expectEqual(p.not(), shape: [4], [false, false, true, true])
        expectEqual(p.cast(to: Int.self), shape: [4], [1, 1, 0, 0])
        // where(condition [2, 1], a [3], b 0-D) broadcasts all three to [2, 3].
        let condition = Tensor<Bool>([true, false], shape: [2, 1])
        let chosen = `where`(condition, Tensor<Int>([1, 2, 3]), Tensor<Int>(scalar: -1))
        expectEqual(chosen, shape: [2, 3], [1, 2, 3, -1, -1, -1])
        let x = Tensor<Double>([-2, 3, -4, 5], shape: [2, 2])
        let relu = x.greater(0).select(x, Tensor<Double>.zeros([2, 2]))
        expectEqual(relu, shape: [2, 2], [0, 3, 0, 5])
        // Strided condition and operands.
        let m = Tensor<Bool>([true, false, false, true], shape: [2, 2]).transposed()
        expectEqual(m.select(x, x.transposed()), shape: [2, 2], [-2, -4, 3, 5])
    }

    @Test func maximumMinimumPropagateNaN() {
        let a = Tensor<Double>([1, 5, .nan, 2])
        let b = Tensor<Double>([3, 4, 0, .nan])
        let hi = a.maximum(b).scalars
        let lo = a.minimum(b).scalars
        #expect(hi[0] == 3 && hi[1] == 5 && hi[2].isNaN && hi[3].isNaN)
        #expect(lo[0] == 1 && lo[1] == 4 && lo[2].isNaN && lo[3].isNaN)
        expectEqual(Tensor<Int>([1, 9]).maximum(Tensor<Int>([[5], [10]].flatMap { $0 }, shape: [2, 1])), shape: [2, 2], [5, 9, 10, 10])
    }

    @Test func clamp() {
        let a = Tensor<Int>([-5, 0, 3, 9])
        expectEqual(a.clamp(min: -1, max: 4), shape: [4], [-1, 0, 3, 4])
        expectEqual(a.clamp(min: 1), shape: [4], [1, 1, 3, 9])
        expectEqual(a.clamp(max: 0), shape: [4], [-5, 0, 0, 0])
        expectEqual(a.clamp(), shape: [4], [-5, 0, 3, 9])
        let f = Tensor<Float>([-2, 0.5, 2]).expanded(to: [2, 3]).clamp(min: 0, max: 1)
        expectEqual(f, shape: [2, 3], [0, 0.5, 1, 0, 0.5, 1])
    }

    @Test func casts() {
        expectEqual(Tensor<Float>([1.5, -2.25]).cast(to: Double.self), shape: [2], [1.5, -2.25])
        expectEqual(Tensor<Double>([1.5, -2.25]).cast(to: Float.self), shape: [2], [1.5, -2.25])
        expectEqual(Tensor<Int>([3, -4], shape: [2, 1]).cast(to: Float.self), shape: [2, 1], [3, -4])
        expectEqual(Tensor<UInt8>([0, 255]).cast(to: Double.self), shape: [2], [0, 255])
        expectEqual(Tensor<Bool>([true, false]).cast(to: Float.self), shape: [2], [1, 0])
        expectEqual(Tensor<Int>([1, 2, 3, 4], shape: [2, 2]).transposed().cast(to: Double.self), shape: [2, 2], [1, 3, 2, 4])
    }

    @Test func mapAndZipAcrossTypes() {
        let a = Tensor<Int>([1, 2, 3])
        let strings = a.map { Double($0) * 0.5 }
        expectEqual(strings, shape: [3], [0.5, 1, 1.5])
        let mixed = Tensor<Double>([1, 2, 3], shape: [3, 1]).zip(Tensor<Int>([10, 20])) { $0 * Double($1) }
        expectEqual(mixed, shape: [3, 2], [10, 20, 20, 40, 30, 60])
    }

    // MARK: Math functions

    static let mathInputs: [Double] = [-2, -1, 0, 0.5, 1, 3]

    @Test func mathFunctionsMatchReferences() {
        let x = Tensor<Double>(Self.mathInputs)
        let positive = Tensor<Double>([0.25, 1, 2, 9])
        expectClose(x.exp().scalars, Self.mathInputs.map { Foundation.exp($0) }, rtol: 1e-14)
        expectClose(positive.log().scalars, [log(0.25), 0, log(2.0), log(9.0)], rtol: 1e-14, atol: 1e-15)
        expectClose(Tensor<Double>([1e-10, 0.5]).log1p().scalars, [1e-10 - 5e-21, log1p(0.5)], rtol: 1e-14)
        expectClose(positive.sqrt().scalars, [0.5, 1, 2.0.squareRoot(), 3], rtol: 1e-15)
        expectClose(positive.rsqrt().scalars, [2, 1, 1 / 2.0.squareRoot(), 1.0 / 3], rtol: 1e-15)
        expectClose(x.tanh().scalars, Self.mathInputs.map { Foundation.tanh($0) }, rtol: 1e-14, atol: 1e-16)
        expectEqual(x.relu(), shape: [6], [0, 0, 0, 0.5, 1, 3])
        expectClose(
            x.sigmoid().scalars,
            [0.11920292202211755, 0.2689414213699951, 0.5, 0.6224593312018546, 0.7310585786300049, 0.9525741268224334],
            rtol: 1e-14)
        expectClose(
            x.gelu().scalars,
            [-0.04550026389635842, -0.15865525393145707, 0, 0.34573123063700656, 0.8413447460685429, 2.99595030590511],
            rtol: 1e-13, atol: 1e-16)
        expectClose(
            x.gelu(approximate: true).scalars,
            [-0.04540230591222494, -0.15880800939172324, 0, 0.34571400982514394, 0.8411919906082768, 2.996362607918227],
            rtol: 1e-13, atol: 1e-16)
        expectClose(
            x.quickGELU().scalars,
            [-0.06434137685579186, -0.1542042340671787, 0, 0.35038843660638014, 0.8457957659328212, 2.981928690292214],
            rtol: 1e-13, atol: 1e-16)
    }

    @Test func mathFunctionsInFloat() {
        let x = Tensor<Float>([-2, -1, 0, 0.5, 1, 3])
        expectClose(x.exp().scalars, [-2, -1, 0, 0.5, 1, 3].map { Float(Foundation.exp(Double($0))) }, rtol: 1e-6)
        expectClose(x.tanh().scalars, [-2, -1, 0, 0.5, 1, 3].map { Float(Foundation.tanh(Double($0))) }, rtol: 1e-6, atol: 1e-7)
        expectClose(x.gelu().scalars, [-0.04550026, -0.15865525, 0, 0.34573123, 0.84134475, 2.9959503], rtol: 1e-6, atol: 1e-7)
        expectClose(x.sigmoid().scalars, [0.11920292, 0.26894143, 0.5, 0.62245935, 0.7310586, 0.95257413], rtol: 1e-6)
        expectClose(Tensor<Float>([4, 0.25]).log().scalars, [Float(log(4.0)), Float(log(0.25))], rtol: 1e-6)
    }

    @Test func sigmoidIsStableForLargeInputs() {
        for values in [Tensor<Double>([-1000, -50, 50, 1000]).sigmoid().scalars.map(Float.init),
                       Tensor<Float>([-1000, -50, 50, 1000]).sigmoid().scalars] {
            #expect(values.allSatisfy { $0.isFinite })
            #expect(values[0] >= 0 && values[0] < 1e-30 && values[3] == 1)
            #expect(values[1] > 0 && values[1] < 1e-20 && values[2] == 1)
        }
        let d = Tensor<Double>([-1000, 1000]).sigmoid().scalars
        #expect(d[0] >= 0 && d[0] < 1e-300 && d[1] == 1)
        #expect(Tensor<Double>([-40]).sigmoid().item > 0)
    }

    @Test func powers() {
        let x = Tensor<Double>([0.25, 1, 4])
        expectEqual(x.pow(2), shape: [3], [0.0625, 1, 16])
        expectEqual(x.pow(1), shape: [3], [0.25, 1, 4])
        expectEqual(x.pow(0.5), shape: [3], [0.5, 1, 2])
        expectClose(x.pow(3).scalars, [0.015625, 1, 64], rtol: 1e-15)
        expectClose(x.pow(-1).scalars, [4, 1, 0.25], rtol: 1e-15)
        expectClose(x.pow(0).scalars, [1, 1, 1], rtol: 0)
        let bases = Tensor<Double>([2, 3], shape: [2, 1])
        let exponents = Tensor<Double>([0, 1, 2])
        expectClose(bases.pow(exponents), shape: [2, 3], [1, 2, 4, 1, 3, 9], rtol: 1e-15)
        // On a transposed view.
        expectClose(Tensor<Double>([1, 2, 3, 4], shape: [2, 2]).transposed().pow(3).scalars, [1, 27, 8, 64], rtol: 1e-15)
    }

    @Test(arguments: ["exp", "log", "sqrt", "tanh", "sigmoid", "gelu", "geluTanh", "quickGELU", "relu", "pow3", "abs", "neg"])
    func unaryOpsOnStridedViewsMatchReference(op: String) {
        var generator = RandomGenerator(seed: 11)
        let source = Tensor<Double>.uniform([5, 7], low: 0.1, high: 3, generator: &generator)
        // transposed, stepped and offset (rows 1, 3 of the transpose, columns from 1)
        let view = source.transposed().slice(axis: 0, 1..<7, step: 2).slice(axis: 1, 1..<5)
        let f: (Double) -> Double
        let result: Tensor<Double>
        switch op {
        case "exp": (f, result) = ({ Foundation.exp($0) }, view.exp())
        case "log": (f, result) = ({ Foundation.log($0) }, view.log())
        case "sqrt": (f, result) = ({ $0.squareRoot() }, view.sqrt())
        case "tanh": (f, result) = ({ Foundation.tanh($0) }, view.tanh())
        case "sigmoid": (f, result) = ({ 1 / (1 + Foundation.exp(-$0)) }, view.sigmoid())
        case "gelu": (f, result) = ({ 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }, view.gelu())
        case "geluTanh":
            (f, result) = (
                { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) },
                view.gelu(approximate: true)
            )
        case "quickGELU": (f, result) = ({ $0 / (1 + Foundation.exp(-1.702 * $0)) }, view.quickGELU())
        case "relu": (f, result) = ({ Swift.max($0 - 1, 0) }, (view - 1).relu())
        case "pow3": (f, result) = ({ $0 * $0 * $0 }, view.pow(3))
        case "abs": (f, result) = ({ Swift.abs($0 - 1.5) }, (view - 1.5).abs())
        default: (f, result) = ({ -$0 }, -view)
        }
        #expect(result.shape == [3, 4] && result.isContiguous)
        expectClose(result.scalars, view.referenceScalars.map(f), rtol: 1e-13, atol: 1e-15, op)
    }

    // MARK: Parallel kernels

    @Test func largeStridedKernelsAgreeAcrossThreadCounts() {
        var generator = RandomGenerator(seed: 3)
        // 48 x 900 = 43200 elements: above the 32768-element parallel threshold.
        let source = Tensor<Double>.uniform([900, 50], low: -1, high: 1, generator: &generator)
        let view = source.slice(axis: 1, 1..<49).transposed()  // [48, 900], strided
        let bias = Tensor<Double>.uniform([48, 1], generator: &generator)
        let (one, two) = withOneAndTwoThreads { () -> [[Double]] in
            [(view + bias).scalars, view.tanh().scalars, view.maximum(bias).scalars]
        }
        #expect(one == two)
        let reference = view.referenceScalars
        let biasValues = bias.referenceScalars
        let expectedSum = reference.indices.map { reference[$0] + biasValues[$0 / 900] }
        #expect(two[0] == expectedSum)
        expectClose(two[1], reference.map { Foundation.tanh($0) }, rtol: 1e-14, atol: 1e-16)
        #expect(two[2] == reference.indices.map { Swift.max(reference[$0], biasValues[$0 / 900]) })

        // An in-place update through a transposed view, in parallel.
        let target = Tensor<Double>.zeros([900, 48])
        withThreadCount(2) { target.transposed().addInPlace(view) }
        #expect(target.transposed().referenceScalars == reference)
    }
}
