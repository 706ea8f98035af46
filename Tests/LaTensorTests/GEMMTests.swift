import Foundation
import Testing

@testable import LaTensor

/// LaTensor's own single-precision GEMM (`cla_sgemm`, AVX-512 and AVX2 kernels) against OpenBLAS's `dgemm` on the
/// same inputs in Float64: every transpose combination, edges of the 12 x 32 and 6 x 16 tiles and of the cache blocks
/// (k past 256, n past 2048), padded leading dimensions, alpha and beta, and results identical for every thread count
/// and every kernel set the CPU runs.
@Suite struct GEMMTests {
    struct Problem: CustomStringConvertible {
        var transposeA: Bool, transposeB: Bool
        var m: Int, n: Int, k: Int
        var alpha: Float, beta: Float
        var padding: Int  // extra elements at the end of every row of A, B and C
        var description: String {
            "m \(m) n \(n) k \(k) transA \(transposeA) transB \(transposeB) alpha \(alpha) beta \(beta) pad \(padding)"
        }
        var lda: Int { (transposeA ? m : k) + padding }
        var ldb: Int { (transposeB ? k : n) + padding }
        var ldc: Int { n + padding }
        var aCount: Int { (transposeA ? k : m) * lda }
        var bCount: Int { (transposeB ? n : k) * ldb }
    }

    static func values(_ count: Int, _ generator: inout RandomGenerator) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
    }

    /// `C = alpha op(A) op(B) + beta C` in Float64 through OpenBLAS's dgemm.
    static func reference(_ p: Problem, _ a: [Float], _ b: [Float], _ c: [Float]) -> [Double] {
        let a64 = a.map(Double.init), b64 = b.map(Double.init)
        var c64 = c.map(Double.init)
        a64.withUnsafeBufferPointer { a in
            b64.withUnsafeBufferPointer { b in
                c64.withUnsafeMutableBufferPointer { c in
                    Double.gemm(
                        transposeA: p.transposeA, transposeB: p.transposeB, m: p.m, n: p.n, k: p.k,
                        alpha: Double(p.alpha), a: a.baseAddress!, lda: p.lda, b: b.baseAddress!, ldb: p.ldb,
                        beta: Double(p.beta), c: c.baseAddress!, ldc: p.ldc)
                }
            }
        }
        return c64
    }

    /// The product on LaTensor's kernels; `kernels` selects a set for this call (the selection is process-wide, but
    /// every set gives the same bits, so tests running beside this one are not disturbed).
    static func package(
        _ p: Problem, _ a: [Float], _ b: [Float], _ c: [Float], threads: Int, kernels: GEMMKernels? = nil
    ) -> [Float] {
        if let kernels { GEMM.kernels = kernels }
        defer { if kernels != nil { GEMM.kernels = nil } }
        var out = c
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    GEMM.packageProduct(
                        transposeA: p.transposeA, transposeB: p.transposeB, m: p.m, n: p.n, k: p.k, alpha: p.alpha,
                        a: a.baseAddress!, lda: p.lda, b: b.baseAddress!, ldb: p.ldb, beta: p.beta,
                        c: c.baseAddress!, ldc: p.ldc, threads: threads)
                }
            }
        }
        return out
    }

    static func check(_ p: Problem, seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        let a = values(p.aCount, &generator), b = values(p.bCount, &generator)
        // NaN in C where beta is 0 must not propagate (BLAS overwrites C); padding must stay untouched.
        var c = values(p.m * p.ldc, &generator)
        if p.beta == 0 { c = c.map { _ in .nan } }
        let expected = reference(p, a, b, p.beta == 0 ? c.map { _ in 0 } : c)
        let one = package(p, a, b, c, threads: 1)
        var worst = 0.0
        for i in 0..<p.m {
            for j in 0..<p.ldc {
                let index = i * p.ldc + j
                if j >= p.n {
                    #expect(one[index].bitPattern == c[index].bitPattern, "\(p): padding at [\(i), \(j)] written")
                    continue
                }
                let scale = Double(abs(p.alpha)) * Double(p.k).squareRoot() + Double(abs(p.beta)) + 1
                worst = max(worst, abs(Double(one[index]) - expected[index]) / scale)
            }
        }
        #expect(worst < 2e-6, "\(p): largest scaled error \(worst)")
        for threads in [2, 3] {
            let other = package(p, a, b, c, threads: threads)
            #expect(other.map(\.bitPattern) == one.map(\.bitPattern), "\(p): \(threads) threads differ from 1")
        }
        for kernels in GEMM.availableKernels {
            let other = package(p, a, b, c, threads: 2, kernels: kernels)
            #expect(other.map(\.bitPattern) == one.map(\.bitPattern), "\(p): kernels \(kernels) differ from the default")
        }
    }

    @Test func everyLayoutAndEdgeMatchesDoubleReference() {
        if !GEMM.packageKernelsAvailable { return }  // no AVX2+FMA here: Float products run on OpenBLAS
        var generator = RandomGenerator(seed: 7)
        let sizes = [1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 24, 31, 32, 33, 47, 65]
        var seed: UInt64 = 1
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for _ in 0..<14 {
                    let p = Problem(
                        transposeA: transposeA, transposeB: transposeB,
                        m: sizes.randomElement(using: &generator)!, n: sizes.randomElement(using: &generator)!,
                        k: sizes.randomElement(using: &generator)!,
                        alpha: [1, -0.5, 2].randomElement(using: &generator)!,
                        beta: [0, 1, 0.25].randomElement(using: &generator)!,
                        padding: [0, 3].randomElement(using: &generator)!)
                    Self.check(p, seed: seed)
                    seed += 1
                }
            }
        }
    }

    @Test func cacheBlockBoundaries() {
        if !GEMM.packageKernelsAvailable { return }
        // k past the 256-deep panels (beta applies once), m past the 144-row blocks, n past the 2048-wide panels.
        let problems = [
            Problem(transposeA: false, transposeB: true, m: 150, n: 70, k: 530, alpha: 1, beta: 0.5, padding: 1),
            Problem(transposeA: true, transposeB: false, m: 289, n: 97, k: 257, alpha: -1, beta: 0, padding: 0),
            Problem(transposeA: false, transposeB: false, m: 13, n: 2100, k: 40, alpha: 1, beta: 1, padding: 2),
            Problem(transposeA: true, transposeB: true, m: 40, n: 2081, k: 300, alpha: 0.5, beta: 0, padding: 0),
        ]
        for (index, p) in problems.enumerated() { Self.check(p, seed: 100 + UInt64(index)) }
    }

    @Test func zeroDepthAndZeroAlphaScaleC() {
        if !GEMM.packageKernelsAvailable { return }
        for (alpha, k) in [(Float(0), 5), (Float(1), 0)] {
            let p = Problem(transposeA: false, transposeB: false, m: 5, n: 6, k: k, alpha: alpha, beta: 0.5, padding: 0)
            var generator = RandomGenerator(seed: 3)
            let a = Self.values(max(p.aCount, 1), &generator), b = Self.values(max(p.bCount, 1), &generator)
            let c = Self.values(30, &generator)
            #expect(Self.package(p, a, b, c, threads: 2) == c.map { 0.5 * $0 })
        }
    }

    @Test func batchSpreadOverThreadsEqualsOneProductAtATime() {
        if !GEMM.packageKernelsAvailable { return }
        var generator = RandomGenerator(seed: 11)
        let (m, n, k, count) = (65, 65, 64, 12)
        let a = Self.values(count * m * k, &generator), b = Self.values(count * k * n, &generator)
        let aOffsets = (0..<count).map { $0 * m * k }, bOffsets = (0..<count).map { $0 * k * n }
        var batched = [Float](repeating: 0, count: count * m * n)
        var single = batched
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                batched.withUnsafeMutableBufferPointer { c in
                    GEMM.packageBatch(
                        transposeA: false, transposeB: true, m: m, n: n, k: k, a: a.baseAddress!, aOffsets: aOffsets,
                        lda: k, b: b.baseAddress!, bOffsets: bOffsets, ldb: k, c: c.baseAddress!, threads: 2)
                }
                single.withUnsafeMutableBufferPointer { c in
                    for i in 0..<count {
                        GEMM.packageProduct(
                            transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a.baseAddress! + aOffsets[i],
                            lda: k, b: b.baseAddress! + bOffsets[i], ldb: k, beta: 0, c: c.baseAddress! + i * m * n,
                            ldc: n, threads: 1)
                    }
                }
            }
        }
        #expect(batched == single)
        // and the batch equals the Float64 reference
        let p = Problem(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, beta: 0, padding: 0)
        for i in [0, count - 1] {
            let expected = Self.reference(
                p, Array(a[aOffsets[i]..<aOffsets[i] + m * k]), Array(b[bOffsets[i]..<bOffsets[i] + k * n]),
                [Float](repeating: 0, count: m * n))
            let worst = zip(batched[(i * m * n)..<((i + 1) * m * n)], expected).map { abs(Double($0) - $1) }.max()!
            #expect(worst < 1e-5)
        }
    }

    @Test func engineDescriptionNamesWhatRuns() {
        let text = GEMM.description
        if GEMM.engine == .package {
            #expect(text.hasPrefix("LaTensor \(GEMM.kernels!)"), "\(text)")
        } else {
            #expect(text.hasPrefix("OpenBLAS"))
        }
        #expect(GEMM.engine == (GEMM.packageKernelsAvailable && ProcessInfo.processInfo.environment["LACLIP_GEMM"] != "openblas" ? .package : .openBLAS))
    }

    /// The fused bias (added to every row) and row sums of op(A) against the Float64 reference: edges of both
    /// tiles, several k blocks, row and column splits over threads, every kernel set (bit-identical).
    @Test func fusedBiasAndRowSumsMatchDoubleReference() {
        if !GEMM.packageKernelsAvailable { return }
        let problems = [
            Problem(transposeA: true, transposeB: false, m: 77, n: 45, k: 530, alpha: 1, beta: 0, padding: 2),
            Problem(transposeA: false, transposeB: true, m: 150, n: 33, k: 70, alpha: 1, beta: 0, padding: 0),
            Problem(transposeA: false, transposeB: false, m: 13, n: 2100, k: 40, alpha: 1, beta: 0, padding: 1),
            Problem(transposeA: true, transposeB: true, m: 5, n: 7, k: 300, alpha: 1, beta: 0, padding: 3),
        ]
        for (index, p) in problems.enumerated() {
            var generator = RandomGenerator(seed: 200 + UInt64(index))
            let a = Self.values(p.aCount, &generator), b = Self.values(p.bCount, &generator)
            let bias = Self.values(p.n, &generator)
            let zero = [Float](repeating: 0, count: p.m * p.ldc)
            let product = Self.reference(p, a, b, zero)
            func opA(_ i: Int, _ q: Int) -> Double { Double(p.transposeA ? a[q * p.lda + i] : a[i * p.lda + q]) }
            var first: ([Float], [Float])? = nil
            for kernels in GEMM.availableKernels {
                for threads in [1, 2] {
                    GEMM.kernels = kernels
                    defer { GEMM.kernels = nil }
                    var c = [Float](repeating: .nan, count: p.m * p.ldc)
                    var sums = [Float](repeating: .nan, count: p.m)
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            bias.withUnsafeBufferPointer { bias in
                                c.withUnsafeMutableBufferPointer { c in
                                    sums.withUnsafeMutableBufferPointer { sums in
                                        GEMM.packageProduct(
                                            transposeA: p.transposeA, transposeB: p.transposeB, m: p.m, n: p.n, k: p.k,
                                            alpha: 1, a: a.baseAddress!, lda: p.lda, b: b.baseAddress!, ldb: p.ldb,
                                            beta: 0, c: c.baseAddress!, ldc: p.ldc, threads: threads,
                                            columnBias: bias.baseAddress!, rowSums: sums.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                    var worst = 0.0, worstSum = 0.0
                    for i in 0..<p.m {
                        for j in 0..<p.n {
                            let expected = product[i * p.ldc + j] + Double(bias[j])
                            worst = max(worst, abs(Double(c[i * p.ldc + j]) - expected) / (Double(p.k).squareRoot() + 1))
                        }
                        let paddingKept = c[(i * p.ldc + p.n)..<((i + 1) * p.ldc)].allSatisfy { $0.isNaN }
                        #expect(paddingKept, "\(p): padding written")
                        let expected = (0..<p.k).reduce(0.0) { $0 + opA(i, $1) }
                        worstSum = max(worstSum, abs(Double(sums[i]) - expected) / (Double(p.k).squareRoot() + 1))
                    }
                    #expect(worst < 2e-6, "\(p) \(kernels) \(threads) threads: product + bias error \(worst)")
                    #expect(worstSum < 1e-6, "\(p) \(kernels) \(threads) threads: row sum error \(worstSum)")
                    if let first {
                        #expect(first.0.map(\.bitPattern) == c.map(\.bitPattern), "\(p) \(kernels) \(threads): bits differ")
                        #expect(first.1.map(\.bitPattern) == sums.map(\.bitPattern), "\(p) \(kernels) \(threads): sums differ")
                    } else {
                        first = (c, sums)
                    }
                }
            }
        }
    }

    @Test func kernelSelectionIsClampedToTheCPU() {
        #expect(GEMM.availableKernels.last == GEMM.bestAvailableKernels)
        #expect(GEMM.availableKernels.isEmpty == !GEMM.packageKernelsAvailable)
        if GEMM.availableKernels.contains(.avx2) {
            #expect(GEMM.availableKernels.first == .avx2)
        }
        GEMM.kernels = .avx512  // clamped to what the CPU runs
        #expect(GEMM.kernels == GEMM.bestAvailableKernels)
        GEMM.kernels = nil
    }
}
