import Foundation
import Testing

@testable import LaTensor

/// softmax, logSoftmax and l2Normalized along any axis, on strided inputs, with extreme values.
@Suite struct SoftmaxTests {
    static let softmax123: [Double] = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219]
    static let logSoftmax123: [Double] = [-2.40760596444438, -1.4076059644443801, -0.40760596444438013]

    static func referenceSoftmax(_ lane: [Double]) -> [Double] {
        let peak = lane.max()!
        let e = lane.map { Foundation.exp($0 - peak) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    static func referenceLogSoftmax(_ lane: [Double]) -> [Double] {
        let shift = referenceLogSumExp(lane)
        return lane.map { $0 - shift }
    }

    static func referenceL2(_ lane: [Double], epsilon: Double = 1e-12) -> [Double] {
        let norm = Swift.max(lane.map { $0 * $0 }.reduce(0, +).squareRoot(), epsilon)
        return lane.map { $0 / norm }
    }

    @Test func softmaxHandValues() {
        expectClose(Tensor<Double>([1, 2, 3]).softmax(), shape: [3], Self.softmax123, rtol: 1e-15)
        let m = Tensor<Double>(rows: [[1, 2, 3], [3, 2, 1]])
        expectClose(m.softmax(axis: 1), shape: [2, 3], Self.softmax123 + Self.softmax123.reversed(), rtol: 1e-15)
        let columns = Tensor<Double>(rows: [[1, 3], [2, 2], [3, 1]])
        expectClose(
            columns.softmax(axis: 0), shape: [3, 2],
            [Self.softmax123[0], Self.softmax123[2], Self.softmax123[1], Self.softmax123[1], Self.softmax123[2], Self.softmax123[0]],
            rtol: 1e-15)
        // The transposed view along axis -1 equals the matrix along axis 0.
        expectClose(columns.transposed().softmax(axis: -1), shape: [2, 3], Self.softmax123 + Self.softmax123.reversed(), rtol: 1e-15)
        let f = Tensor<Float>([1, 2, 3]).softmax()
        expectClose(f.scalars, Self.softmax123.map(Float.init), rtol: 2e-6)
    }

    @Test func softmaxIsStableForLargeAndInfiniteInputs() {
        expectClose(Tensor<Double>([1000, 1001, 1002]).softmax(), shape: [3], Self.softmax123, rtol: 1e-14)
        expectClose(Tensor<Double>([-1000, -999, -998]).softmax(), shape: [3], Self.softmax123, rtol: 1e-14)
        expectClose(Tensor<Float>([1000, 1001, 1002]).softmax().scalars, Self.softmax123.map(Float.init), rtol: 1e-5)
        expectEqual(Tensor<Double>([-.infinity, 0, 0]).softmax(), shape: [3], [0, 0.5, 0.5])
        expectEqual(Tensor<Double>([-.infinity, 5]).softmax(), shape: [2], [0, 1])
        let big = Tensor<Float>([88, 89, 90, -1e30]).softmax().scalars
        #expect(big.allSatisfy { $0.isFinite })
        expectClose(Array(big.prefix(3)), Self.softmax123.map(Float.init), rtol: 1e-5)
        #expect(big[3] >= 0 && big[3] < 1e-30)
        // NaN in a lane makes that lane NaN but leaves other lanes alone.
        let n = Tensor<Double>(rows: [[1, .nan], [1, 1]]).softmax(axis: 1).scalars
        #expect(n[0].isNaN && n[1].isNaN && n[2] == 0.5 && n[3] == 0.5)
    }

    @Test func logSoftmaxHandValuesAndStability() {
        expectClose(Tensor<Double>([1, 2, 3]).logSoftmax(), shape: [3], Self.logSoftmax123, rtol: 1e-15)
        expectClose(Tensor<Double>([1001, 1002, 1003]).logSoftmax(), shape: [3], Self.logSoftmax123, rtol: 1e-12)
        expectClose(Tensor<Double>([1000, 1000]).logSoftmax(), shape: [2], [-log(2.0), -log(2.0)], rtol: 1e-15)
        let withInf = Tensor<Double>([-.infinity, 0, 0]).logSoftmax().scalars
        #expect(withInf[0] == -.infinity)
        expectClose(Array(withInf.dropFirst()), [-log(2.0), -log(2.0)], rtol: 1e-15)
        // No underflow to -inf for very negative but finite logits.
        let far = Tensor<Float>([0, -200]).logSoftmax().scalars
        #expect(far[1].isFinite)
        expectClose(far, [0, -200], rtol: 1e-6, atol: 1e-6)
        let m = Tensor<Double>(rows: [[1, 3], [2, 2], [3, 1]])
        expectClose(
            m.logSoftmax(axis: 0), shape: [3, 2],
            [Self.logSoftmax123[0], Self.logSoftmax123[2], Self.logSoftmax123[1], Self.logSoftmax123[1], Self.logSoftmax123[2], Self.logSoftmax123[0]],
            rtol: 1e-14)
    }

    @Test func l2NormalizedHandValues() {
        expectClose(Tensor<Double>([3, 4]).l2Normalized(), shape: [2], [0.6, 0.8], rtol: 1e-15)
        let m = Tensor<Double>(rows: [[3, 0], [4, 5]])
        expectClose(m.l2Normalized(axis: 0), shape: [2, 2], [0.6, 0, 0.8, 1], rtol: 1e-15)
        expectClose(m.l2Normalized(axis: 1), shape: [2, 2], [1, 0, 4 / Foundation.sqrt(41.0), 5 / Foundation.sqrt(41.0)], rtol: 1e-15)
        // A zero vector stays zero (divided by epsilon, not by 0).
        expectEqual(Tensor<Double>([0, 0, 0]).l2Normalized(), shape: [3], [0, 0, 0])
        // A large epsilon caps the divisor from below.
        expectClose(Tensor<Double>([3, 4]).l2Normalized(epsilon: 10), shape: [2], [0.3, 0.4], rtol: 1e-15)
        let f = Tensor<Float>([1, 1, 1, 1]).l2Normalized()
        expectClose(f.scalars, [0.5, 0.5, 0.5, 0.5], rtol: 1e-6)
    }

    /// Inputs in several layouts, including broadcast (stride 0 along the normalised axis).
    static func layouts() -> [(String, Tensor<Double>)] {
        var generator = RandomGenerator(seed: 77)
        let base = Tensor<Double>.uniform([4, 5, 6], low: -4, high: 4, generator: &generator)
        return [
            ("contiguous", base),
            ("permuted", base.permuted([1, 2, 0])),
            ("stepped+offset", base.slice(axis: 2, 1..<6, step: 2).slice(axis: 0, 1..<4)),
            ("broadcast", base[2].slice(axis: 1, 0..<1).expanded(to: [3, 5, 4])),
            ("row broadcast", base[0][1].expanded(to: [2, 6])),
        ]
    }

    @Test(arguments: ["softmax", "logSoftmax", "l2Normalized"])
    func matchesReferenceAlongEveryAxisOnStridedLayouts(op: String) {
        for (name, x) in Self.layouts() {
            for axis in -x.rank..<x.rank {
                let result: Tensor<Double>
                let reference: Tensor<Double>
                switch op {
                case "softmax":
                    result = x.softmax(axis: axis)
                    reference = referenceLaneMap(x, axis: axis, Self.referenceSoftmax)
                case "logSoftmax":
                    result = x.logSoftmax(axis: axis)
                    reference = referenceLaneMap(x, axis: axis, Self.referenceLogSoftmax)
                default:
                    result = x.l2Normalized(axis: axis)
                    reference = referenceLaneMap(x, axis: axis) { Self.referenceL2($0) }
                }
                #expect(result.isContiguous)
                expectClose(result, reference, rtol: 1e-13, atol: 1e-15, "\(op) \(name) axis \(axis)")
            }
        }
    }

    @Test func identitiesOnRandomInputs() {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor<Double>.randn([3, 7, 5], standardDeviation: 3, generator: &generator).transposed(0, 2)
        for axis in 0..<3 {
            let p = x.softmax(axis: axis)
            expectClose(p.sum(axis: axis).scalars, [Double](repeating: 1, count: p.count / p.shape[axis]), rtol: 1e-14)
            #expect(p.scalars.allSatisfy { $0 > 0 && $0 <= 1 })
            expectClose(x.logSoftmax(axis: axis), p.log(), rtol: 1e-12, atol: 1e-14, "logSoftmax = log softmax")
            let u = x.l2Normalized(axis: axis)
            expectClose(u.norm(axes: [axis]).scalars, [Double](repeating: 1, count: u.count / u.shape[axis]), rtol: 1e-14)
        }
    }

    @Test func largeInputsAgreeAcrossThreadCounts() {
        var generator = RandomGenerator(seed: 9)
        let x = Tensor<Float>.randn([300, 130], generator: &generator)
        let (one, two) = withOneAndTwoThreads { () -> [[Float]] in
            [x.softmax(axis: 0).scalars, x.logSoftmax(axis: 1).scalars, x.transposed().l2Normalized(axis: 1).scalars]
        }
        #expect(one == two)
        let column = (0..<300).map { Double(x.at([$0, 7])) }
        let expected = Self.referenceSoftmax(column).map(Float.init)
        expectClose((0..<300).map { two[0][$0 * 130 + 7] }, expected, rtol: 1e-5, atol: 1e-9)
    }
}
