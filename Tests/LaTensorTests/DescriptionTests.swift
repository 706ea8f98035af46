import Foundation
import Testing

@testable import LaTensor

/// `description` formatting and `allClose`.
@Suite struct DescriptionTests {
    @Test func vectorsAndScalars() {
        #expect(Tensor<Float>([1, 2.5, -3]).description == "Tensor(shape: [3], dtype: float32,\n[1.0000, 2.5000, -3.0000])")
        #expect(Tensor<Double>(scalar: 3.14159).description == "Tensor(shape: [], dtype: float64,\n3.1416)")
        #expect(Tensor<Int>([1, -2, 30]).description == "Tensor(shape: [3], dtype: int64,\n[1, -2, 30])")
        #expect(Tensor<Bool>([true, false]).description == "Tensor(shape: [2], dtype: bool,\n[true, false])")
        #expect(Tensor<UInt8>([255]).description == "Tensor(shape: [1], dtype: uint8,\n[255])")
        #expect(Tensor<Int32>([], shape: [0]).description == "Tensor(shape: [0], dtype: int32,\n[])")
    }

    @Test func specialFloatingValues() {
        let t = Tensor<Double>([.nan, .infinity, -.infinity, 0, 1e-5, 2.5e7, -1e-4])
        #expect(
            t.description
                == "Tensor(shape: [7], dtype: float64,\n[nan, inf, -inf, 0.0000, 1.0000e-05, 2.5000e+07, -0.0001])")
    }

    @Test func matricesAndHigherRanks() {
        let m = Tensor<Float>(rows: [[1, 2], [3, 4]])
        #expect(m.description == "Tensor(shape: [2, 2], dtype: float32,\n[[1.0000, 2.0000],\n [3.0000, 4.0000]])")
        // A transposed view prints its own logical order.
        #expect(m.transposed().description == "Tensor(shape: [2, 2], dtype: float32,\n[[1.0000, 3.0000],\n [2.0000, 4.0000]])")
        let cube = Tensor<Int>((0..<8).map { $0 }, shape: [2, 2, 2])
        #expect(cube.description == "Tensor(shape: [2, 2, 2], dtype: int64,\n[[[0, 1],\n  [2, 3]],\n [[4, 5],\n  [6, 7]]])")
        #expect(Tensor<Int>.zeros([2, 0]).description == "Tensor(shape: [2, 0], dtype: int64,\n[[],\n []])")
        // A broadcast, offset view.
        let row = Tensor<Int>([1, 2, 3, 4])[1..<3].expanded(to: [2, 2])
        #expect(row.description == "Tensor(shape: [2, 2], dtype: int64,\n[[2, 3],\n [2, 3]])")
    }

    @Test func largeTensorsAreSummarised() {
        let small = Tensor<Int>.arange(0, 1000)
        #expect(small.description.contains("997, 998, 999]"))
        #expect(!small.description.contains("..."))
        let large = Tensor<Int>.arange(0, 1001)
        #expect(large.description == "Tensor(shape: [1001], dtype: int64,\n[0, 1, 2, ..., 998, 999, 1000])")
        let wide = Tensor<Int>.arange(0, 1200).reshaped([2, 600])
        #expect(wide.description == "Tensor(shape: [2, 600], dtype: int64,\n[[0, 1, 2, ..., 597, 598, 599],\n [600, 601, 602, ..., 1197, 1198, 1199]])")
        let tall = Tensor<Int>.arange(0, 2000).reshaped([1000, 2])
        #expect(tall.description == "Tensor(shape: [1000, 2], dtype: int64,\n[[0, 1],\n [2, 3],\n [4, 5],\n ...,\n [1994, 1995],\n [1996, 1997],\n [1998, 1999]])")
    }

    @Test func allClose() {
        let a = Tensor<Double>([1, 2, 3])
        #expect(a.allClose(Tensor<Double>([1, 2, 3 + 1e-9])))
        #expect(!a.allClose(Tensor<Double>([1, 2, 3.001])))
        #expect(a.allClose(Tensor<Double>([1, 2, 3.001]), rtol: 1e-3))
        #expect(a.allClose(Tensor<Double>([1.05, 2, 3]), rtol: 0, atol: 0.1))
        #expect(!a.allClose(Tensor<Double>([1.2, 2, 3]), rtol: 0, atol: 0.1))
        // Broadcasting, NaN and infinities.
        #expect(Tensor<Double>([2, 2, 2]).allClose(Tensor<Double>(scalar: 2)))
        let n = Tensor<Float>([.nan, 1])
        #expect(!n.allClose(n))
        #expect(n.allClose(n, equalNaN: true))
        #expect(Tensor<Float>([.infinity]).allClose(Tensor<Float>([.infinity])))
        #expect(!Tensor<Float>([.infinity]).allClose(Tensor<Float>([-.infinity])))
        #expect(!Tensor<Float>([1]).allClose(Tensor<Float>([.infinity])))
        #expect(!Tensor<Double>([.infinity]).allClose(Tensor<Double>([1e300])))
        #expect(a.transposed().allClose(a))
    }
}
