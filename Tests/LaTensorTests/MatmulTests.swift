import Foundation
import Testing

@testable import LaTensor

/// The element types matmul and LAPACK are tested in.
enum Precision: String, CaseIterable, CustomTestStringConvertible {
    case float32, float64
    var testDescription: String { rawValue }
}

/// `matmul` against a naive triple loop for every operand layout and rank combination.
@Suite struct MatmulTests {
    @Test func smallMatricesByHand() {
        let a = Tensor<Float>(rows: [[1, 2], [3, 4]])
        let b = Tensor<Float>(rows: [[5, 6], [7, 8]])
        #expect(a.matmul(b).scalars == [19, 22, 43, 50])
        #expect(a.transposed().matmul(b).scalars == [26, 30, 38, 44])
        #expect(a.matmul(b.transposed()).scalars == [17, 23, 39, 53])
        #expect(a.transposed().matmul(b.transposed()).scalars == [23, 31, 34, 46])
        #expect(matmul(a, b).scalars == [19, 22, 43, 50])
        let v = Tensor<Double>([1, 2, 3])
        expectEqual(v.matmul(v), shape: [], [14])
        expectEqual(Tensor<Double>(rows: [[1, 0, 2], [0, 1, 0]]).matmul(v), shape: [2], [7, 2])
        expectEqual(v.matmul(Tensor<Double>(rows: [[1, 0], [0, 1], [1, 1]])), shape: [2], [4, 5])
    }

    /// The operand layouts under test; each builds `(lhs, rhs)` from random data of the requested type.
    enum Case: String, CaseIterable, CustomTestStringConvertible {
        case vectorVector, vectorMatrix, matrixVector, matrixMatrix
        case transposedLeft, transposedRight, transposedBoth
        case rowSlicedLeft, rowSlicedRight, rowSteppedLeft, columnSlicedLeft, singleColumnRight, singleRowTransposedLeft
        case steppedColumnsLeft, steppedColumnsRight, broadcastRowsLeft
        case steppedVectorLeft, steppedVectorRight, broadcastVectorRight, transposedMatrixVector
        case batched3D, batched4DBroadcast, batchedTimesMatrixFolded, batchedSingleRowFolded
        case batchedTransposedTimesMatrix, batchedTimesTransposedMatrix, batchedSteppedBatchTimesMatrix
        case batchedPermutedBatch, batchedExpandedBatch, batchedExpandedSingleRowFolded
        case batchedUnitBatchAxisFolded, batchedSingleRowUnitAxisFolded, batchedPermutedBatchTimesMatrix
        case batchedSingleRowPermutedTimesMatrix
        case matrixTimesBatched, vectorTimesBatched, batchedTimesVector, batchedTransposedBoth
        case largerMatrices
        case zeroInner, zeroInnerBatched, zeroRows, zeroColumns, zeroBatch

        var testDescription: String { rawValue }

        func operands<T: TensorFloatingPoint>(_ type: T.Type, _ g: inout RandomGenerator) -> (Tensor<T>, Tensor<T>) {
            func r(_ shape: [Int]) -> Tensor<T> { Tensor<T>.uniform(shape, low: -1, high: 1, generator: &g) }
            switch self {
            case .vectorVector: return (r([5]), r([5]))
            case .vectorMatrix: return (r([4]), r([4, 3]))
            case .matrixVector: return (r([3, 4]), r([4]))
            case .matrixMatrix: return (r([3, 4]), r([4, 5]))
            case .transposedLeft: return (r([4, 3]).transposed(), r([4, 5]))
            case .transposedRight: return (r([3, 4]), r([5, 4]).transposed())
            case .transposedBoth: return (r([4, 3]).transposed(), r([5, 4]).transposed())
            case .rowSlicedLeft: return (r([6, 4]).slice(axis: 0, 1..<4), r([4, 5]))
            case .rowSlicedRight: return (r([3, 4]), r([7, 5]).slice(axis: 0, 2..<6))
            case .rowSteppedLeft: return (r([8, 4]).slice(axis: 0, 1..<8, step: 2), r([4, 5]))
            case .columnSlicedLeft: return (r([3, 6]).slice(axis: 1, 1..<5), r([4, 5]))
            case .singleColumnRight: return (r([3, 4]), r([4, 6]).slice(axis: 1, 2..<3))
            case .singleRowTransposedLeft: return (r([4, 3]).transposed().slice(axis: 0, 1..<2), r([4, 5]))
            case .steppedColumnsLeft: return (r([3, 8]).slice(axis: 1, 0..<8, step: 2), r([4, 5]))
            case .steppedColumnsRight: return (r([3, 4]), r([4, 10]).slice(axis: 1, 1..<10, step: 2))
            case .broadcastRowsLeft: return (r([1, 4]).expanded(to: [3, 4]), r([4, 5]))
            case .steppedVectorLeft: return (r([8]).slice(axis: 0, 0..<8, step: 2), r([4, 3]))
            case .steppedVectorRight: return (r([3, 4]), r([9]).slice(axis: 0, 1..<9, step: 2))
            case .broadcastVectorRight: return (r([3, 4]), r([1]).expanded(to: [4]))
            case .transposedMatrixVector: return (r([4, 3]).transposed(), r([4]))
            case .batched3D: return (r([2, 3, 4]), r([2, 4, 5]))
            case .batched4DBroadcast: return (r([2, 1, 3, 4]), r([5, 4, 6]))
            case .batchedTimesMatrixFolded: return (r([2, 3, 3, 4]), r([4, 5]))
            case .batchedSingleRowFolded: return (r([3, 1, 4]), r([4, 5]))
            case .batchedTransposedTimesMatrix: return (r([2, 4, 3]).transposed(), r([4, 5]))
            case .batchedTimesTransposedMatrix: return (r([2, 3, 4]), r([5, 4]).transposed())
            case .batchedSteppedBatchTimesMatrix: return (r([4, 3, 4]).slice(axis: 0, 0..<4, step: 2), r([4, 5]))
            case .batchedPermutedBatch: return (r([3, 2, 4]).permuted([1, 0, 2]), r([2, 4, 5]))
            case .batchedExpandedBatch: return (r([1, 3, 4]).expanded(to: [3, 3, 4]), r([3, 4, 2]))
            case .batchedExpandedSingleRowFolded: return (r([1, 1, 4]).expanded(to: [5, 1, 4]), r([4, 3]))
            case .batchedUnitBatchAxisFolded: return (r([2, 1, 3, 4]), r([4, 5]))
            case .batchedSingleRowUnitAxisFolded: return (r([3, 1, 1, 4]), r([4, 5]))
            case .batchedPermutedBatchTimesMatrix: return (r([3, 2, 2, 4]).permuted([1, 0, 2, 3]), r([4, 5]))
            case .batchedSingleRowPermutedTimesMatrix: return (r([3, 2, 1, 4]).permuted([1, 0, 2, 3]), r([1, 4, 5]))
            case .matrixTimesBatched: return (r([3, 4]), r([2, 4, 5]))
            case .vectorTimesBatched: return (r([4]), r([2, 4, 5]))
            case .batchedTimesVector: return (r([2, 3, 4]), r([4]))
            case .batchedTransposedBoth: return (r([2, 1, 4, 3]).transposed(), r([3, 5, 4]).transposed())
            case .largerMatrices: return (r([33, 70]).transposed(), r([33, 41]).slice(axis: 1, 1..<41, step: 1))
            case .zeroInner: return (r([3, 0]), r([0, 4]))
            case .zeroInnerBatched: return (r([2, 3, 6]).slice(axis: 2, 2..<2), r([0, 4]))
            case .zeroRows: return (r([0, 4]), r([4, 3]))
            case .zeroColumns: return (r([3, 4]), r([4, 0]))
            case .zeroBatch: return (r([0, 3, 4]), r([4, 2]))
            }
        }
    }

    static func check<T: TensorFloatingPoint>(_ type: T.Type, _ testCase: Case, rtol: Double, atol: Double) {
        var generator = RandomGenerator(seed: UInt64(Case.allCases.firstIndex(of: testCase)!) + 100)
        let (a, b) = testCase.operands(T.self, &generator)
        let before = (a.referenceScalars, b.referenceScalars)
        let expected = naiveMatmul(a, b)
        let result = a.matmul(b)
        #expect(result.shape == expected.shape, "\(testCase.rawValue): shape \(result.shape) vs \(expected.shape)")
        #expect(result.isContiguous)
        expectClose(result.referenceScalars.map(Double.init), expected.values, rtol: rtol, atol: atol, testCase.rawValue)
        #expect(a.referenceScalars == before.0 && b.referenceScalars == before.1, "operands unchanged")
    }

    @Test(arguments: Case.allCases, Precision.allCases)
    func matchesNaiveTripleLoop(testCase: Case, precision: Precision) {
        switch precision {
        case .float32: Self.check(Float.self, testCase, rtol: 1e-5, atol: 1e-5)
        case .float64: Self.check(Double.self, testCase, rtol: 1e-13, atol: 1e-13)
        }
    }

    @Test func zeroInnerDimensionGivesZeros() {
        let z = Tensor<Float>.ones([3, 0]).matmul(Tensor<Float>.ones([0, 4]))
        expectEqual(z, shape: [3, 4], [Float](repeating: 0, count: 12))
        let zb = Tensor<Double>.ones([2, 1, 1, 0]).matmul(Tensor<Double>.ones([3, 0, 2]))
        expectEqual(zb, shape: [2, 3, 1, 2], [Double](repeating: 0, count: 12))
        let dot = Tensor<Double>([]).matmul(Tensor<Double>([]))
        expectEqual(dot, shape: [], [0])
    }

    @Test func mismatchedInnerDimensionsStop() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor<Float>.zeros([2, 3]).matmul(Tensor<Float>.zeros([2, 3]))
        }
    }

    // MARK: BLAS layouts

    @Test func blasLayoutClassifiesViews() {
        func layout(_ t: Tensor<Float>) -> (transposed: Bool, ld: Int)? {
            Tensor<Float>.blasLayout(rows: t.shape[0], columns: t.shape[1], rowStride: t.strides[0], columnStride: t.strides[1])
        }
        let contiguous = Tensor<Float>.zeros([3, 4])
        #expect(layout(contiguous).map { $0.transposed == false && $0.ld == 4 } == true)

        // A transposed view is read as a column-major matrix: transposed, leading dimension = original row length.
        let original = Tensor<Float>.zeros([4, 3])
        let transposed = original.transposed()
        #expect(transposed.storage === original.storage)
        #expect(layout(transposed).map { $0.transposed == true && $0.ld == 3 } == true)

        // Row-stepped and column-sliced views keep a larger leading dimension.
        #expect(layout(Tensor<Float>.zeros([8, 4]).slice(axis: 0, 0..<8, step: 2)).map { !$0.transposed && $0.ld == 8 } == true)
        #expect(layout(Tensor<Float>.zeros([3, 6]).slice(axis: 1, 1..<5)).map { !$0.transposed && $0.ld == 6 } == true)
        // Transpose of a column-sliced matrix: transposed with the parent's row length.
        let wide = Tensor<Float>.zeros([5, 6]).slice(axis: 1, 0..<4).transposed()
        #expect(layout(wide).map { $0.transposed && $0.ld == 6 } == true)
        // A single row or column accepts any stride on its size-1 axis.
        #expect(layout(Tensor<Float>.zeros([4, 3]).transposed().slice(axis: 0, 1..<2)) != nil)
        #expect(layout(Tensor<Float>.zeros([4, 6]).slice(axis: 1, 2..<3)).map { !$0.transposed && $0.ld == 6 } == true)

        // Layouts BLAS cannot read: stepped columns, broadcast rows, both strides non-unit.
        #expect(layout(Tensor<Float>.zeros([3, 8]).slice(axis: 1, 0..<8, step: 2)) == nil)
        #expect(layout(Tensor<Float>.zeros([1, 4]).expanded(to: [3, 4])) == nil)
        #expect(layout(Tensor<Float>.zeros([8, 8]).slice(axis: 0, 0..<8, step: 2).slice(axis: 1, 0..<8, step: 2)) == nil)
        #expect(Tensor<Double>.blasLayout(rows: 3, columns: 4, rowStride: 4, columnStride: 1).map { $0.ld } == 4)
    }

    @Test func gemm2DAccumulatesIntoStridedOutput() {
        // output = 2 * (a @ b) + 1 * output into a [2, 3] block with leading dimension 5.
        let a = Tensor<Double>(rows: [[1, 2], [3, 4]])
        let b = Tensor<Double>(rows: [[1, 0, 2], [0, 1, 3]])
        let out = Tensor<Double>.ones([2, 5])
        Tensor<Double>.gemm2D(a, b, output: out.storage.pointer + 1, ldc: 5, alpha: 2, beta: 1)
        #expect(out.scalars == [1, 3, 5, 17, 1, 1, 7, 9, 37, 1])
        // The matrix-vector path writes a column with stride ldc.
        let column = Tensor<Double>.zeros([2, 3])
        Tensor<Double>.gemm2D(a.transposed().transposed(), Tensor<Double>([5, 6], shape: [2, 1]), output: column.storage.pointer + 2, ldc: 3)
        #expect(column.scalars == [0, 0, 17, 0, 0, 39])
    }

    @Test func largeMatmulAgreesAcrossThreadCounts() {
        var generator = RandomGenerator(seed: 31)
        let a = Tensor<Double>.randn([4, 40, 50], generator: &generator)
        let b = Tensor<Double>.randn([60, 50], generator: &generator).transposed()
        let (one, two) = withOneAndTwoThreads { a.matmul(b).scalars }
        expectClose(one, two, rtol: 1e-13, atol: 1e-13)
        let expected = naiveMatmul(a, b)
        expectClose(two, expected.values, rtol: 1e-12, atol: 1e-12)
    }
}
