import CLaBLAS
import CLaKernels
import Dispatch
import Foundation
import Synchronization

/// The implementation that runs single-precision matrix products.
public enum GEMMEngine: String, Sendable, CaseIterable {
    /// LaTensor's own packed AVX-512 kernels (`cla_sgemm`, x86-64 CPUs with AVX-512F), split over
    /// `Threading.threadCount` threads by rows or columns of the result and over the products of a batch.
    case package
    /// OpenBLAS's `cblas_sgemm`, with the kernels OpenBLAS runs on this CPU (see `BLAS.coreName`).
    case openBLAS = "openblas"
}

/// The choice of the single-precision GEMM and the products that run on LaTensor's own kernels.
///
/// On CPUs with AVX-512F, `Float` products run on LaTensor's packed micro-kernels, whatever kernels OpenBLAS picked
/// for the CPU (Debian 12's OpenBLAS 0.3.21 runs SSE3 kernels on newer Intel CPUs) and whatever `OPENBLAS_CORETYPE`
/// chooses for OpenBLAS; the results do not depend on the thread count. Elsewhere, and for `Double`, matrix-vector
/// products and LAPACK, OpenBLAS runs. `LACLIP_GEMM=openblas` in the environment (or `GEMM.engine = .openBLAS`)
/// sends every product to OpenBLAS.
public enum GEMM {
    /// Whether this CPU can run LaTensor's own kernels.
    public static let packageKernelsAvailable: Bool = cla_sgemm_available() != 0

    private static let selected = Mutex<GEMMEngine?>(nil)

    /// The engine for `Float` products: `.package` when the CPU supports it, unless `LACLIP_GEMM=openblas`.
    /// Setting `.package` on a CPU without AVX-512F keeps `.openBLAS`.
    public static var engine: GEMMEngine {
        get {
            if let value = selected.withLock({ $0 }) { return value }
            let requested = ProcessInfo.processInfo.environment["LACLIP_GEMM"].flatMap { GEMMEngine(rawValue: $0.lowercased()) }
            let value: GEMMEngine = requested == .openBLAS || !packageKernelsAvailable ? .openBLAS : .package
            selected.withLock { $0 = value }
            return value
        }
        set {
            let value: GEMMEngine = newValue == .package && packageKernelsAvailable ? .package : .openBLAS
            selected.withLock { $0 = value }
        }
    }

    /// A one-line description of what runs `Float` products, for logs next to timings (e.g.
    /// `LaTensor AVX-512 12x32` or `OpenBLAS Haswell`).
    public static var description: String {
        engine == .package
            ? "LaTensor AVX-512 \(cla_sgemm_tile_rows())x\(cla_sgemm_tile_columns()) (OpenBLAS core \(BLAS.coreName) for the rest)"
            : "OpenBLAS \(BLAS.coreName)"
    }

    /// Products with fewer multiply-adds than this run on the calling thread.
    @usableFromInline static let minimumParallelMultiplyAdds = 1 << 20

    /// Whether a product of this shape runs on LaTensor's kernels (very flat left operands go to OpenBLAS).
    @usableFromInline
    static func usesPackageKernels(m: Int) -> Bool { m >= 4 && engine == .package }

    /// `C = alpha * op(A) * op(B) + beta * C` on LaTensor's kernels, split over the threads by blocks of rows (or of
    /// columns when the result has too few rows) rounded to the micro-kernel's tile.
    static func packageProduct(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
    ) {
        let tileRows = Int(cla_sgemm_tile_rows()), tileColumns = Int(cla_sgemm_tile_columns())
        func run(rows: Range<Int>, columns: Range<Int>) {
            let pa = transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda
            let pb = transposeB ? b + columns.lowerBound * ldb : b + columns.lowerBound
            let done = cla_sgemm(
                transposeA ? 1 : 0, transposeB ? 1 : 0, rows.count, columns.count, k, alpha, pa, lda, pb, ldb, beta,
                c + rows.lowerBound * ldc + columns.lowerBound, ldc)
            checkPrecondition(done != 0, "GEMM: LaTensor's kernels could not allocate their packing buffers")
        }
        let rowTiles = (m + tileRows - 1) / tileRows, columnTiles = (n + tileColumns - 1) / tileColumns
        let wanted = m * n * k < minimumParallelMultiplyAdds ? 1 : threads
        let splitRows = rowTiles >= 2 * wanted || rowTiles >= columnTiles
        let chunks = Swift.min(wanted, splitRows ? rowTiles : columnTiles)
        if chunks <= 1 {
            run(rows: 0..<m, columns: 0..<n)
            return
        }
        let tiles = splitRows ? rowTiles : columnTiles, tile = splitRows ? tileRows : tileColumns
        let extent = splitRows ? m : n
        let work = UncheckedSendable(run)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = Swift.min(tiles * chunk / chunks * tile, extent)
            let end = Swift.min(tiles * (chunk + 1) / chunks * tile, extent)
            if start < end {
                if splitRows { work.value(start..<end, 0..<n) } else { work.value(0..<m, start..<end) }
            }
        }
    }

    /// `count` products of one shape on LaTensor's kernels, `C_i = op(A_i) * op(B_i)`, the products spread over the
    /// threads (each on one thread) when there are at least as many as threads, else each split as above.
    static func packageBatch(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, aOffsets: [Int], lda: Int, b: UnsafePointer<Float>, bOffsets: [Int], ldb: Int,
        c: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let count = aOffsets.count
        let chunks = Swift.min(count * m * n * k < minimumParallelMultiplyAdds ? 1 : threads, count)
        if chunks <= 1 {
            for i in 0..<count {
                packageProduct(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                    a: a + aOffsets[i], lda: lda, b: b + bOffsets[i], ldb: ldb, beta: 0, c: c + i * m * n, ldc: n,
                    threads: threads)
            }
            return
        }
        let operands = UncheckedSendable((a, b, c))
        aOffsets.withUnsafeBufferPointer { aOffsets in
            bOffsets.withUnsafeBufferPointer { bOffsets in
                let offsets = UncheckedSendable((aOffsets, bOffsets))
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    let (a, b, c) = operands.value
                    let (aOffsets, bOffsets) = offsets.value
                    for i in (count * chunk / chunks)..<(count * (chunk + 1) / chunks) {
                        let done = cla_sgemm(
                            transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, 1, a + aOffsets[i], lda, b + bOffsets[i],
                            ldb, 0, c + i * m * n, n)
                        checkPrecondition(done != 0, "GEMM: LaTensor's kernels could not allocate their packing buffers")
                    }
                }
            }
        }
    }
}
