import CLaBLAS

/// A failure of a LAPACK routine on the given data (not a programming error).
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
    /// The matrix is exactly singular: U(index, index) is zero in its LU factorisation.
    case singular(operation: String, index: Int)
    /// The matrix is not positive definite: the leading minor of this order is not positive.
    case notPositiveDefinite(operation: String, order: Int)
    /// The eigenvalue algorithm failed to converge.
    case noConvergence(operation: String, info: Int)
    /// The least-squares matrix does not have full rank.
    case rankDeficient(operation: String, index: Int)

    /// A readable message.
    public var description: String {
        switch self {
        case .singular(let op, let i): return "\(op): matrix is singular (U[\(i),\(i)] = 0)"
        case .notPositiveDefinite(let op, let order):
            return "\(op): matrix is not positive definite (leading minor of order \(order))"
        case .noConvergence(let op, let info): return "\(op): algorithm did not converge (info \(info))"
        case .rankDeficient(let op, let i): return "\(op): matrix does not have full rank (diagonal \(i) of R is 0)"
        }
    }
}

/// The LAPACKE routines the package uses, per element type (row-major layout).
public protocol LAPACKScalar: TensorFloatingPoint {
    /// Solves A X = B by LU (`?gesv`).
    static func gesv(n: Int, nrhs: Int, a: UnsafeMutablePointer<Self>, lda: Int, ipiv: UnsafeMutablePointer<Int32>, b: UnsafeMutablePointer<Self>, ldb: Int) -> Int
    /// LU factorisation (`?getrf`).
    static func getrf(m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int, ipiv: UnsafeMutablePointer<Int32>) -> Int
    /// Inverse from an LU factorisation (`?getri`).
    static func getri(n: Int, a: UnsafeMutablePointer<Self>, lda: Int, ipiv: UnsafePointer<Int32>) -> Int
    /// Cholesky factorisation (`?potrf`), lower triangle.
    static func potrf(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) -> Int
    /// QR factorisation (`?geqrf`).
    static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafeMutablePointer<Self>) -> Int
    /// Forms Q from `geqrf` output (`?orgqr`).
    static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafePointer<Self>) -> Int
    /// Symmetric eigendecomposition, divide and conquer (`?syevd`), lower triangle.
    static func syevd(n: Int, a: UnsafeMutablePointer<Self>, lda: Int, w: UnsafeMutablePointer<Self>) -> Int
    /// Least squares by QR (`?gels`).
    static func gels(m: Int, n: Int, nrhs: Int, a: UnsafeMutablePointer<Self>, lda: Int, b: UnsafeMutablePointer<Self>, ldb: Int) -> Int
}

private let rowMajor = Int32(LAPACK_ROW_MAJOR)
private func i32(_ x: Int) -> Int32 { Int32(x) }

extension Float: LAPACKScalar {
    public static func gesv(n: Int, nrhs: Int, a: UnsafeMutablePointer<Float>, lda: Int, ipiv: UnsafeMutablePointer<Int32>, b: UnsafeMutablePointer<Float>, ldb: Int) -> Int {
        Int(LAPACKE_sgesv(rowMajor, i32(n), i32(nrhs), a, i32(lda), ipiv, b, i32(ldb)))
    }
    public static func getrf(m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int, ipiv: UnsafeMutablePointer<Int32>) -> Int {
        Int(LAPACKE_sgetrf(rowMajor, i32(m), i32(n), a, i32(lda), ipiv))
    }
    public static func getri(n: Int, a: UnsafeMutablePointer<Float>, lda: Int, ipiv: UnsafePointer<Int32>) -> Int {
        Int(LAPACKE_sgetri(rowMajor, i32(n), a, i32(lda), ipiv))
    }
    public static func potrf(n: Int, a: UnsafeMutablePointer<Float>, lda: Int) -> Int {
        Int(LAPACKE_spotrf(rowMajor, Int8(UInt8(ascii: "L")), i32(n), a, i32(lda)))
    }
    public static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafeMutablePointer<Float>) -> Int {
        Int(LAPACKE_sgeqrf(rowMajor, i32(m), i32(n), a, i32(lda), tau))
    }
    public static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafePointer<Float>) -> Int {
        Int(LAPACKE_sorgqr(rowMajor, i32(m), i32(n), i32(k), a, i32(lda), tau))
    }
    public static func syevd(n: Int, a: UnsafeMutablePointer<Float>, lda: Int, w: UnsafeMutablePointer<Float>) -> Int {
        Int(LAPACKE_ssyevd(rowMajor, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")), i32(n), a, i32(lda), w))
    }
    public static func gels(m: Int, n: Int, nrhs: Int, a: UnsafeMutablePointer<Float>, lda: Int, b: UnsafeMutablePointer<Float>, ldb: Int) -> Int {
        Int(LAPACKE_sgels(rowMajor, Int8(UInt8(ascii: "N")), i32(m), i32(n), i32(nrhs), a, i32(lda), b, i32(ldb)))
    }
}

extension Double: LAPACKScalar {
    public static func gesv(n: Int, nrhs: Int, a: UnsafeMutablePointer<Double>, lda: Int, ipiv: UnsafeMutablePointer<Int32>, b: UnsafeMutablePointer<Double>, ldb: Int) -> Int {
        Int(LAPACKE_dgesv(rowMajor, i32(n), i32(nrhs), a, i32(lda), ipiv, b, i32(ldb)))
    }
    public static func getrf(m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int, ipiv: UnsafeMutablePointer<Int32>) -> Int {
        Int(LAPACKE_dgetrf(rowMajor, i32(m), i32(n), a, i32(lda), ipiv))
    }
    public static func getri(n: Int, a: UnsafeMutablePointer<Double>, lda: Int, ipiv: UnsafePointer<Int32>) -> Int {
        Int(LAPACKE_dgetri(rowMajor, i32(n), a, i32(lda), ipiv))
    }
    public static func potrf(n: Int, a: UnsafeMutablePointer<Double>, lda: Int) -> Int {
        Int(LAPACKE_dpotrf(rowMajor, Int8(UInt8(ascii: "L")), i32(n), a, i32(lda)))
    }
    public static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafeMutablePointer<Double>) -> Int {
        Int(LAPACKE_dgeqrf(rowMajor, i32(m), i32(n), a, i32(lda), tau))
    }
    public static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafePointer<Double>) -> Int {
        Int(LAPACKE_dorgqr(rowMajor, i32(m), i32(n), i32(k), a, i32(lda), tau))
    }
    public static func syevd(n: Int, a: UnsafeMutablePointer<Double>, lda: Int, w: UnsafeMutablePointer<Double>) -> Int {
        Int(LAPACKE_dsyevd(rowMajor, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")), i32(n), a, i32(lda), w))
    }
    public static func gels(m: Int, n: Int, nrhs: Int, a: UnsafeMutablePointer<Double>, lda: Int, b: UnsafeMutablePointer<Double>, ldb: Int) -> Int {
        Int(LAPACKE_dgels(rowMajor, Int8(UInt8(ascii: "N")), i32(m), i32(n), i32(nrhs), a, i32(lda), b, i32(ldb)))
    }
}

/// Dense linear algebra on 2-D tensors through LAPACKE. Inputs may be any layout (they are copied into
/// LAPACK's workspace); results are new contiguous tensors.
public enum LinearAlgebra {
    static func checkSquare<T>(_ a: Tensor<T>, _ operation: String) {
        checkPrecondition(a.rank == 2 && a.shape[0] == a.shape[1], "\(operation): expected a square matrix, got shape \(a.shape)")
    }

    /// Solves `A X = B` for square `A` (B may be a vector or a matrix), like `torch.linalg.solve`.
    /// - Parameters:
    ///   - a: The [n, n] coefficient matrix.
    ///   - b: The right-hand side, [n] or [n, k].
    /// - Throws: `LinearAlgebraError.singular` when A is singular.
    public static func solve<T: LAPACKScalar>(_ a: Tensor<T>, _ b: Tensor<T>) throws -> Tensor<T> {
        checkSquare(a, "solve")
        let n = a.shape[0]
        checkPrecondition(
            (b.rank == 1 || b.rank == 2) && b.shape[0] == n,
            "solve: right-hand side shape \(b.shape) does not match matrix shape \(a.shape)")
        let work = a.copy()
        let rhs = (b.rank == 1 ? b.unsqueezed(axis: 1) : b).copy()
        let nrhs = rhs.shape[1]
        var pivots = [Int32](repeating: 0, count: Swift.max(n, 1))
        let info = pivots.withUnsafeMutableBufferPointer {
            T.gesv(n: n, nrhs: nrhs, a: work.storage.pointer, lda: Swift.max(n, 1), ipiv: $0.baseAddress!, b: rhs.storage.pointer, ldb: Swift.max(nrhs, 1))
        }
        if info > 0 { throw LinearAlgebraError.singular(operation: "solve", index: info - 1) }
        checkPrecondition(info == 0, "solve: LAPACK argument error \(info)")
        return b.rank == 1 ? rhs.squeezed(axis: 1) : rhs
    }

    /// The inverse of a square matrix, like `torch.linalg.inv`.
    /// - Parameter a: The [n, n] matrix.
    /// - Throws: `LinearAlgebraError.singular` when A is singular.
    public static func inverse<T: LAPACKScalar>(_ a: Tensor<T>) throws -> Tensor<T> {
        checkSquare(a, "inverse")
        let n = a.shape[0]
        let work = a.copy()
        if n == 0 { return work }
        var pivots = [Int32](repeating: 0, count: n)
        var info = pivots.withUnsafeMutableBufferPointer {
            T.getrf(m: n, n: n, a: work.storage.pointer, lda: n, ipiv: $0.baseAddress!)
        }
        if info > 0 { throw LinearAlgebraError.singular(operation: "inverse", index: info - 1) }
        checkPrecondition(info == 0, "inverse: LAPACK argument error \(info)")
        info = pivots.withUnsafeBufferPointer { T.getri(n: n, a: work.storage.pointer, lda: n, ipiv: $0.baseAddress!) }
        if info > 0 { throw LinearAlgebraError.singular(operation: "inverse", index: info - 1) }
        return work
    }

    /// The lower-triangular Cholesky factor L with `A = L Lᵀ`, like `torch.linalg.cholesky`.
    /// Only the lower triangle of `a` is read.
    /// - Parameter a: A symmetric positive-definite [n, n] matrix.
    /// - Throws: `LinearAlgebraError.notPositiveDefinite`.
    public static func cholesky<T: LAPACKScalar>(_ a: Tensor<T>) throws -> Tensor<T> {
        checkSquare(a, "cholesky")
        let n = a.shape[0]
        let work = a.copy()
        if n == 0 { return work }
        let info = T.potrf(n: n, a: work.storage.pointer, lda: n)
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(operation: "cholesky", order: info) }
        checkPrecondition(info == 0, "cholesky: LAPACK argument error \(info)")
        let p = work.storage.pointer
        for i in 0..<n { for j in (i + 1)..<Swift.max(n, i + 1) { p[i * n + j] = 0 } }
        return work
    }

    /// The reduced QR decomposition `A = Q R` (Q: [m, k], R: [k, n], k = min(m, n)), like
    /// `torch.linalg.qr(mode="reduced")`.
    /// - Parameter a: The [m, n] matrix.
    public static func qr<T: LAPACKScalar>(_ a: Tensor<T>) -> (q: Tensor<T>, r: Tensor<T>) {
        checkPrecondition(a.rank == 2, "qr: expected a matrix, got shape \(a.shape)")
        let m = a.shape[0], n = a.shape[1], k = Swift.min(m, n)
        let work = a.copy()
        if k == 0 { return (Tensor<T>.zeros([m, k]), Tensor<T>.zeros([k, n])) }
        var tau = [T](repeating: 0, count: k)
        var info = tau.withUnsafeMutableBufferPointer { T.geqrf(m: m, n: n, a: work.storage.pointer, lda: n, tau: $0.baseAddress!) }
        checkPrecondition(info == 0, "qr: LAPACK geqrf error \(info)")
        let r = Tensor<T>.zeros([k, n])
        for i in 0..<k { for j in i..<n { r.storage.pointer[i * n + j] = work.storage.pointer[i * n + j] } }
        let q = work.slice(axis: 1, 0..<k).copy()
        info = tau.withUnsafeBufferPointer { T.orgqr(m: m, n: k, k: k, a: q.storage.pointer, lda: k, tau: $0.baseAddress!) }
        checkPrecondition(info == 0, "qr: LAPACK orgqr error \(info)")
        return (q, r)
    }

    /// Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix, like
    /// `torch.linalg.eigh`. Only the lower triangle is read.
    /// - Parameter a: A symmetric [n, n] matrix.
    /// - Throws: `LinearAlgebraError.noConvergence`.
    public static func symmetricEigen<T: LAPACKScalar>(_ a: Tensor<T>) throws -> (values: Tensor<T>, vectors: Tensor<T>) {
        checkSquare(a, "symmetricEigen")
        let n = a.shape[0]
        let work = a.copy()
        let values = Tensor<T>.zeros([n])
        if n == 0 { return (values, work) }
        let info = T.syevd(n: n, a: work.storage.pointer, lda: n, w: values.storage.pointer)
        if info > 0 { throw LinearAlgebraError.noConvergence(operation: "symmetricEigen", info: info) }
        checkPrecondition(info == 0, "symmetricEigen: LAPACK argument error \(info)")
        return (values, work)
    }

    /// The least-squares solution of `A X ≈ B` for a full-rank [m, n] matrix (m >= n: minimal residual;
    /// m < n: minimum-norm solution), like `torch.linalg.lstsq(...).solution`.
    /// - Parameters:
    ///   - a: The [m, n] matrix.
    ///   - b: [m] or [m, k].
    /// - Throws: `LinearAlgebraError.rankDeficient`.
    public static func leastSquares<T: LAPACKScalar>(_ a: Tensor<T>, _ b: Tensor<T>) throws -> Tensor<T> {
        checkPrecondition(a.rank == 2, "leastSquares: expected a matrix, got shape \(a.shape)")
        let m = a.shape[0], n = a.shape[1]
        checkPrecondition(
            (b.rank == 1 || b.rank == 2) && b.shape[0] == m,
            "leastSquares: right-hand side shape \(b.shape) does not match matrix shape \(a.shape)")
        let rhsIn = b.rank == 1 ? b.unsqueezed(axis: 1) : b
        let nrhs = rhsIn.shape[1]
        let rows = Swift.max(m, n)
        let work = a.copy()
        let rhs = Tensor<T>.zeros([rows, nrhs])
        rhs.slice(axis: 0, 0..<m).assign(rhsIn)
        if m > 0 && n > 0 && nrhs > 0 {
            let info = T.gels(m: m, n: n, nrhs: nrhs, a: work.storage.pointer, lda: n, b: rhs.storage.pointer, ldb: nrhs)
            if info > 0 { throw LinearAlgebraError.rankDeficient(operation: "leastSquares", index: info - 1) }
            checkPrecondition(info == 0, "leastSquares: LAPACK argument error \(info)")
        }
        let solution = rhs.slice(axis: 0, 0..<n).copy()
        return b.rank == 1 ? solution.squeezed(axis: 1) : solution
    }
}
