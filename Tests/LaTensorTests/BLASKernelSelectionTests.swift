import Foundation
import Testing

@testable import LaTensor

/// The choice of OpenBLAS's kernels: LaTensor switches a DYNAMIC_ARCH OpenBLAS to the kernels the CPU supports when
/// OpenBLAS picked weaker ones (Debian 12's 0.3.21 runs `Prescott` on newer Intel CPUs), never against an explicit
/// OPENBLAS_CORETYPE (tests never set it).
@Suite struct BLASKernelSelectionTests {
    @Test func theBetterCoreDependsOnTheCPUAndTheCurrentChoice() {
        #expect(BLAS.betterCore(than: "Prescott", hasAVX512: true, hasAVX2FMA: true) == "SkylakeX")
        #expect(BLAS.betterCore(than: "Prescott", hasAVX512: false, hasAVX2FMA: true) == "Haswell")
        #expect(BLAS.betterCore(than: "Sandybridge", hasAVX512: false, hasAVX2FMA: true) == "Haswell")
        #expect(BLAS.betterCore(than: "Haswell", hasAVX512: true, hasAVX2FMA: true) == "SkylakeX")
        #expect(BLAS.betterCore(than: "Haswell", hasAVX512: false, hasAVX2FMA: true) == nil)
        #expect(BLAS.betterCore(than: "Cooperlake", hasAVX512: true, hasAVX2FMA: true) == nil)
        #expect(BLAS.betterCore(than: "SkylakeX", hasAVX512: true, hasAVX2FMA: true) == nil)
        #expect(BLAS.betterCore(than: "Zen", hasAVX512: false, hasAVX2FMA: true) == nil)
        #expect(BLAS.betterCore(than: "Prescott", hasAVX512: false, hasAVX2FMA: false) == nil)
    }

    @Test func theSelectionIsReportedAndGEMMsStillAgree() throws {
        let selection = BLAS.kernelSelection
        #expect(!selection.detected.isEmpty && selection.inUse == BLAS.coreName)
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil { #expect(!selection.switched) }
        // Whatever kernels run, a GEMM equals the naive product.
        var generator = RandomGenerator(seed: 3)
        let a = Tensor<Double>.randn([37, 29], generator: &generator), b = Tensor<Double>.randn([29, 41], generator: &generator)
        let product = a.matmul(b)
        for (i, j) in [(0, 0), (36, 40), (17, 5)] {
            var sum = 0.0
            for k in 0..<29 { sum += a[element: i, k] * b[element: k, j] }
            #expect(abs(product[element: i, j] - sum) < 1e-12)
        }
    }
}
