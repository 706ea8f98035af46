import Testing
@testable import LaTensor

@Suite struct SmokeTests {
    @Test func matmulOfSmallMatrices() {
        let a = Tensor<Float>(rows: [[1, 2], [3, 4]])
        let b = Tensor<Float>(rows: [[5, 6], [7, 8]])
        #expect(a.matmul(b).scalars == [19, 22, 43, 50])
        #expect(a.transposed().matmul(b).scalars == [26, 30, 38, 44])
    }
}
