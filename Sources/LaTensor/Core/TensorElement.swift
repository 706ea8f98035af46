import CLaBLAS
import Foundation

/// The runtime name of a tensor's element type, as printed by `description` and written to checkpoints.
public enum DType: String, Sendable, CaseIterable {
    case float32, float64, int32, int64, uint8, bool
}

/// A type that can live in a tensor's storage: a plain value with no references.
///
/// `Float` and `Double` are the differentiable element types. `Int` (64-bit) is the index type used for
/// labels, token ids, `argmax` results and `gather` indices; `Int32`, `UInt8` and `Bool` are there for
/// compact data (token ids, raw pixels, masks).
public protocol TensorElement: BitwiseCopyable, Sendable, Equatable {
    /// The element type's runtime tag.
    static var dtype: DType { get }
    /// The additive identity (`0`, `0.0` or `false`).
    static var zeroValue: Self { get }
}

extension Float: TensorElement {
    public static var dtype: DType { .float32 }
    public static var zeroValue: Float { 0 }
}
extension Double: TensorElement {
    public static var dtype: DType { .float64 }
    public static var zeroValue: Double { 0 }
}
extension Int32: TensorElement {
    public static var dtype: DType { .int32 }
    public static var zeroValue: Int32 { 0 }
}
extension Int: TensorElement {
    public static var dtype: DType { .int64 }
    public static var zeroValue: Int { 0 }
}
extension UInt8: TensorElement {
    public static var dtype: DType { .uint8 }
    public static var zeroValue: UInt8 { 0 }
}
extension Bool: TensorElement {
    public static var dtype: DType { .bool }
    public static var zeroValue: Bool { false }
}

/// A numeric tensor element: the integer and floating-point types (not `Bool`).
public protocol TensorNumeric: TensorElement, Numeric, Comparable {}
extension Float: TensorNumeric {}
extension Double: TensorNumeric {}
extension Int32: TensorNumeric {}
extension Int: TensorNumeric {}
extension UInt8: TensorNumeric {}

/// A floating-point tensor element (`Float` or `Double`): the types that support math functions,
/// BLAS and LAPACK.
public protocol TensorFloatingPoint: TensorNumeric, BinaryFloatingPoint {
    /// e^x.
    static func exp(_ x: Self) -> Self
    /// Natural logarithm.
    static func log(_ x: Self) -> Self
    /// log(1 + x), accurate for small x.
    static func log1p(_ x: Self) -> Self
    /// e^x - 1, accurate for small x.
    static func expm1(_ x: Self) -> Self
    /// Hyperbolic tangent.
    static func tanh(_ x: Self) -> Self
    /// The error function.
    static func erf(_ x: Self) -> Self
    /// x raised to the power y.
    static func pow(_ x: Self, _ y: Self) -> Self
    /// `C = alpha * op(A) * op(B) + beta * C` in row-major order through CBLAS.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `count` products of one shape, `C_i = op(A_i) * op(B_i)`: A_i at `a + aOffsets[i]`, B_i at `b + bOffsets[i]`,
    /// C_i the i-th contiguous [m, n] matrix at `c`. The default runs `gemm` once per product; `Float` spreads the
    /// products over the threads on LaTensor's kernels (see `GEMM`).
    static func gemmBatch(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Self>, aOffsets: [Int], lda: Int, b: UnsafePointer<Self>, bOffsets: [Int], ldb: Int,
        c: UnsafeMutablePointer<Self>)
    /// `C = op(A) * op(B) + columnBias` (the [n] bias added to every row; C is not read) and, when `rowSums` is
    /// given, the sums of op(A)'s rows written to it ([m]), in one pass where LaTensor's kernels run the product.
    /// Returns false, having written nothing, where they do not (the default; callers then do the work apart).
    static func fusedGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int, c: UnsafeMutablePointer<Self>, ldc: Int,
        columnBias: UnsafePointer<Self>?, rowSums: UnsafeMutablePointer<Self>?) -> Bool
    /// `y = alpha * op(A) * x + beta * y` in row-major order through CBLAS.
    static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        x: UnsafePointer<Self>, incx: Int, beta: Self, y: UnsafeMutablePointer<Self>, incy: Int)
}

extension TensorFloatingPoint {
    /// Runs `gemm` once per product of the batch (the default `gemmBatch`).
    public static func gemmBatch(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Self>, aOffsets: [Int], lda: Int, b: UnsafePointer<Self>, bOffsets: [Int], ldb: Int,
        c: UnsafeMutablePointer<Self>
    ) {
        gemmOneAtATime(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, aOffsets: aOffsets, lda: lda,
            b: b, bOffsets: bOffsets, ldb: ldb, c: c)
    }

    /// Not fused (the default `fusedGEMM`): returns false.
    public static func fusedGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int, c: UnsafeMutablePointer<Self>, ldc: Int,
        columnBias: UnsafePointer<Self>?, rowSums: UnsafeMutablePointer<Self>?
    ) -> Bool { false }

    /// `C_i = op(A_i) * op(B_i)` through one `gemm` call per product.
    static func gemmOneAtATime(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Self>, aOffsets: [Int], lda: Int, b: UnsafePointer<Self>, bOffsets: [Int], ldb: Int,
        c: UnsafeMutablePointer<Self>
    ) {
        for i in aOffsets.indices {
            gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a + aOffsets[i],
                lda: lda, b: b + bOffsets[i], ldb: ldb, beta: 0, c: c + i * m * n, ldc: n)
        }
    }
}

extension Float: TensorFloatingPoint {
    @inlinable @inline(__always) public static func exp(_ x: Float) -> Float { Foundation.expf(x) }
    @inlinable @inline(__always) public static func log(_ x: Float) -> Float { Foundation.logf(x) }
    @inlinable @inline(__always) public static func log1p(_ x: Float) -> Float { Foundation.log1pf(x) }
    @inlinable @inline(__always) public static func expm1(_ x: Float) -> Float { Foundation.expm1f(x) }
    @inlinable @inline(__always) public static func tanh(_ x: Float) -> Float { Foundation.tanhf(x) }
    @inlinable @inline(__always) public static func erf(_ x: Float) -> Float { Foundation.erff(x) }
    @inlinable @inline(__always) public static func pow(_ x: Float, _ y: Float) -> Float { Foundation.powf(x, y) }
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if GEMM.usesPackageKernels(m: m) {
            GEMM.packageProduct(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                ldb: ldb, beta: beta, c: c, ldc: ldc, threads: Threading.threadCount)
            return
        }
        _ = BLAS.kernelSelection
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
    public static func fusedGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        columnBias: UnsafePointer<Float>?, rowSums: UnsafeMutablePointer<Float>?
    ) -> Bool {
        guard GEMM.usesPackageKernels(m: m) else { return false }
        GEMM.packageProduct(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b,
            ldb: ldb, beta: 0, c: c, ldc: ldc, threads: Threading.threadCount, columnBias: columnBias,
            rowSums: rowSums)
        return true
    }
    public static func gemmBatch(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, aOffsets: [Int], lda: Int, b: UnsafePointer<Float>, bOffsets: [Int], ldb: Int,
        c: UnsafeMutablePointer<Float>
    ) {
        if GEMM.usesPackageKernels(m: m) {
            GEMM.packageBatch(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, aOffsets: aOffsets, lda: lda,
                b: b, bOffsets: bOffsets, ldb: ldb, c: c, threads: Threading.threadCount)
            return
        }
        gemmOneAtATime(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, aOffsets: aOffsets, lda: lda,
            b: b, bOffsets: bOffsets, ldb: ldb, c: c)
    }
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, incx: Int, beta: Float, y: UnsafeMutablePointer<Float>, incy: Int
    ) {
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha, a, blasint(lda),
            x, blasint(incx), beta, y, blasint(incy))
    }
}

extension Double: TensorFloatingPoint {
    @inlinable @inline(__always) public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable @inline(__always) public static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable @inline(__always) public static func log1p(_ x: Double) -> Double { Foundation.log1p(x) }
    @inlinable @inline(__always) public static func expm1(_ x: Double) -> Double { Foundation.expm1(x) }
    @inlinable @inline(__always) public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inlinable @inline(__always) public static func erf(_ x: Double) -> Double { Foundation.erf(x) }
    @inlinable @inline(__always) public static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        _ = BLAS.kernelSelection
        cblas_dgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        x: UnsafePointer<Double>, incx: Int, beta: Double, y: UnsafeMutablePointer<Double>, incy: Int
    ) {
        cblas_dgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha, a, blasint(lda),
            x, blasint(incx), beta, y, blasint(incy))
    }
}
