import CLaBLAS
import CLaKernels
import Dispatch
import Foundation
import Synchronization

/// The implementation that runs single-precision matrix products.
public enum GEMMEngine: String, Sendable, CaseIterable {
    /// LaTensor's own packed kernels (`cla_sgemm`: AVX-512 on CPUs with AVX-512F, AVX2 + FMA on CPUs with those; see
    /// `GEMMKernels`), split over `Threading.threadCount` threads by rows or columns of the result and over the
    /// products of a batch.
    case package
    /// OpenBLAS's `cblas_sgemm`, with the kernels OpenBLAS runs on this CPU (see `BLAS.coreName`).
    case openBLAS = "openblas"
}

/// LaTensor's own single-precision kernel sets. Both compute every element of the result as the same chain of
/// fused multiply-adds over k, so they give bit-identical results.
public enum GEMMKernels: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// AVX2 + FMA, 6 x 16 tiles of the result in registers.
    case avx2 = 1
    /// AVX-512F, 12 x 32 tiles.
    case avx512 = 2

    /// The name and tile, e.g. `AVX-512 12x32`.
    public var description: String {
        switch self {
        case .avx2: return "AVX2 6x16"
        case .avx512: return "AVX-512 12x32"
        }
    }
}

/// The choice of the single-precision GEMM and the products that run on LaTensor's own kernels.
///
/// On x86-64 CPUs with AVX-512F or with AVX2 and FMA, `Float` products run on LaTensor's packed micro-kernels,
/// whatever kernels OpenBLAS picked for the CPU (Debian 12's OpenBLAS 0.3.21 runs SSE3 kernels on newer Intel CPUs)
/// and whatever `OPENBLAS_CORETYPE` chooses for OpenBLAS; the results do not depend on the thread count nor on the
/// kernel set. Elsewhere, and for `Double`, matrix-vector products and LAPACK, OpenBLAS runs. `LACLIP_GEMM=openblas`
/// in the environment (or `GEMM.engine = .openBLAS`) sends every product to OpenBLAS; `LACLIP_GEMM=avx2` keeps
/// LaTensor's kernels but uses the AVX2 set on an AVX-512 CPU.
public enum GEMM {
    /// The best kernel set this CPU runs, or nil (not x86-64, or no AVX2 and FMA).
    public static let bestAvailableKernels: GEMMKernels? = GEMMKernels(rawValue: Int(cla_sgemm_available()))

    /// Whether this CPU can run LaTensor's own kernels.
    public static let packageKernelsAvailable: Bool = bestAvailableKernels != nil

    /// Every kernel set this CPU runs, weakest first.
    public static let availableKernels: [GEMMKernels] = GEMMKernels.allCases.filter {
        $0.rawValue <= (bestAvailableKernels?.rawValue ?? 0)
    }

    private static let selected = Mutex<GEMMEngine?>(nil)

    /// The engine for `Float` products: `.package` when the CPU supports it, unless `LACLIP_GEMM=openblas`.
    /// Setting `.package` on a CPU without AVX2 and FMA keeps `.openBLAS`.
    public static var engine: GEMMEngine {
        get {
            if let value = selected.withLock({ $0 }) { return value }
            let requested = ProcessInfo.processInfo.environment["LACLIP_GEMM"]?.lowercased()
            if requested == "avx2", availableKernels.contains(.avx2) { kernels = .avx2 }
            let value: GEMMEngine = requested == "openblas" || !packageKernelsAvailable ? .openBLAS : .package
            selected.withLock { $0 = value }
            return value
        }
        set {
            let value: GEMMEngine = newValue == .package && packageKernelsAvailable ? .package : .openBLAS
            selected.withLock { $0 = value }
        }
    }

    /// The kernel set LaTensor's products use when `engine` is `.package` (the best the CPU runs unless lowered);
    /// setting a set the CPU does not run selects the best it does. Nil when the CPU runs none.
    public static var kernels: GEMMKernels? {
        get { GEMMKernels(rawValue: Int(cla_sgemm_kernels())) }
        set {
            let chosen = newValue.flatMap { availableKernels.contains($0) ? $0 : nil } ?? bestAvailableKernels
            _ = cla_sgemm_select_kernels(Int32(chosen?.rawValue ?? 0))
        }
    }

    /// A one-line description of what runs `Float` products, for logs next to timings (e.g.
    /// `LaTensor AVX-512 12x32 (OpenBLAS core Haswell for the rest)` or `OpenBLAS Haswell`).
    public static var description: String {
        if engine == .package, let kernels {
            return "LaTensor \(kernels) (OpenBLAS core \(BLAS.coreName) for the rest)"
        }
        return "OpenBLAS \(BLAS.coreName)"
    }

    /// Products with fewer multiply-adds than this run on the calling thread.
    @usableFromInline static let minimumParallelMultiplyAdds = 1 << 20

    /// Whether a product of this shape runs on LaTensor's kernels (very flat left operands go to OpenBLAS).
    @usableFromInline
    static func usesPackageKernels(m: Int) -> Bool { m >= 4 && engine == .package }

    /// `C = alpha * op(A) * op(B) + beta * C (+ columnBias on every row)` on LaTensor's kernels, split over the
    /// threads by blocks of rows (or of columns when the result has too few rows) rounded to the micro-kernel's tile;
    /// `rowSums` ([m]), when given, receives the sums of op(A)'s rows, computed while A is packed.
    static func packageProduct(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int,
        columnBias: UnsafePointer<Float>? = nil, rowSums: UnsafeMutablePointer<Float>? = nil
    ) {
        let tileRows = Int(cla_sgemm_tile_rows()), tileColumns = Int(cla_sgemm_tile_columns())
        func run(rows: Range<Int>, columns: Range<Int>) {
            let pa = transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda
            let pb = transposeB ? b + columns.lowerBound * ldb : b + columns.lowerBound
            // Row sums do not depend on the columns: the chunk holding column 0 computes them.
            let sums = columns.lowerBound == 0 ? rowSums.map { $0 + rows.lowerBound } : nil
            let done = cla_sgemm_fused(
                transposeA ? 1 : 0, transposeB ? 1 : 0, rows.count, columns.count, k, alpha, pa, lda, pb, ldb, beta,
                c + rows.lowerBound * ldc + columns.lowerBound, ldc, columnBias.map { $0 + columns.lowerBound }, sums)
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
