import Foundation
import Testing

@testable import LaTensor

/// solve / inverse / cholesky / qr / symmetricEigen / leastSquares: factors reconstruct A, residuals are
/// small, and singular or indefinite inputs throw, in Float and Double.
@Suite struct LAPACKTests {
    /// Tolerance for reconstructions, by precision.
    static func tolerance<T: LAPACKScalar>(_: T.Type) -> Double { T.self == Float.self ? 2e-4 : 1e-11 }

    static func identity<T: LAPACKScalar>(_ n: Int) -> Tensor<T> { Tensor<T>.eye(n) }

    /// A random well-conditioned [n, n] matrix (diagonally dominated).
    static func wellConditioned<T: LAPACKScalar>(_ n: Int, _ g: inout RandomGenerator) -> Tensor<T> {
        Tensor<T>.randn([n, n], generator: &g) + Tensor<T>.eye(n) * T(n)
    }

    /// A random symmetric positive-definite [n, n] matrix.
    static func positiveDefinite<T: LAPACKScalar>(_ n: Int, _ g: inout RandomGenerator) -> Tensor<T> {
        let m = Tensor<T>.randn([n, n], generator: &g)
        return m.matmul(m.transposed()) + Tensor<T>.eye(n)
    }

    static func expectMatrixClose<T: LAPACKScalar>(
        _ actual: Tensor<T>, _ expected: Tensor<T>, _ context: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let tol = tolerance(T.self)
        expectClose(actual, expected, rtol: tol, atol: tol, context, sourceLocation: sourceLocation)
    }

    // MARK: solve

    static func checkSolve<T: LAPACKScalar>(_: T.Type) throws {
        // By hand: [[2, 1], [1, 3]] x = [3, 5] gives x = [0.8, 1.4].
        let a = Tensor<T>(rows: [[2, 1], [1, 3]])
        expectMatrixClose(try LinearAlgebra.solve(a, Tensor<T>([3, 5])), Tensor<T>([0.8, 1.4]), "hand solve")

        var g = RandomGenerator(seed: 41)
        let n = 6
        let matrix: Tensor<T> = wellConditioned(n, &g)
        let truth = Tensor<T>.randn([n, 3], generator: &g)
        let rhs = matrix.matmul(truth)
        let x = try LinearAlgebra.solve(matrix, rhs)
        #expect(x.shape == [n, 3])
        expectMatrixClose(x, truth, "solve matrix rhs")
        expectMatrixClose(matrix.matmul(x), rhs, "solve residual")
        // Vector right-hand side.
        let v = try LinearAlgebra.solve(matrix, rhs.select(axis: 1, index: 1))
        #expect(v.shape == [n])
        expectMatrixClose(v, truth.select(axis: 1, index: 1), "solve vector rhs")
        // Strided inputs: Aᵀ x = b with a transposed view and a stepped right-hand side.
        let stepped = Tensor<T>.randn([n, 6], generator: &g).slice(axis: 1, 0..<6, step: 3)  // [n, 2]
        let xt = try LinearAlgebra.solve(matrix.transposed(), stepped)
        expectMatrixClose(matrix.transposed().matmul(xt), stepped.contiguous(), "solve transposed")
        // Inputs are not modified.
        #expect(a.scalars == [2, 1, 1, 3])
    }

    static func checkSingular<T: LAPACKScalar>(_: T.Type) {
        let singular = Tensor<T>(rows: [[1, 2], [2, 4]])
        #expect(throws: LinearAlgebraError.singular(operation: "solve", index: 1)) {
            try LinearAlgebra.solve(singular, Tensor<T>([1, 1]))
        }
        #expect(throws: LinearAlgebraError.singular(operation: "inverse", index: 1)) {
            try LinearAlgebra.inverse(singular)
        }
        let zeroRow = Tensor<T>(rows: [[1, 2, 3], [0, 0, 0], [4, 5, 6]])
        #expect(throws: LinearAlgebraError.singular(operation: "inverse", index: 2)) {
            try LinearAlgebra.inverse(zeroRow)
        }
        #expect(throws: LinearAlgebraError.self) { try LinearAlgebra.solve(zeroRow.transposed(), Tensor<T>.ones([3, 2])) }
    }

    // MARK: inverse

    static func checkInverse<T: LAPACKScalar>(_: T.Type) throws {
        let a = Tensor<T>(rows: [[4, 7], [2, 6]])
        expectMatrixClose(try LinearAlgebra.inverse(a), Tensor<T>(rows: [[0.6, -0.7], [-0.2, 0.4]]), "hand inverse")
        var g = RandomGenerator(seed: 43)
        let m: Tensor<T> = wellConditioned(5, &g)
        let inv = try LinearAlgebra.inverse(m)
        expectMatrixClose(m.matmul(inv), identity(5), "A A⁻¹")
        expectMatrixClose(inv.matmul(m), identity(5), "A⁻¹ A")
        // Inverse of a transposed view is the transpose of the inverse.
        expectMatrixClose(try LinearAlgebra.inverse(m.transposed()), inv.transposed(), "inverse of transpose")
        #expect(try LinearAlgebra.inverse(Tensor<T>.zeros([0, 0])).shape == [0, 0])
    }

    // MARK: cholesky

    static func checkCholesky<T: LAPACKScalar>(_: T.Type) throws {
        let a = Tensor<T>(rows: [[4, 2], [2, 3]])
        expectMatrixClose(try LinearAlgebra.cholesky(a), Tensor<T>(rows: [[2, 0], [1, T(2).squareRoot()]]), "hand cholesky")
        var g = RandomGenerator(seed: 47)
        let spd: Tensor<T> = positiveDefinite(6, &g)
        let l = try LinearAlgebra.cholesky(spd)
        for i in 0..<6 {
            for j in 0..<6 where j > i { #expect(l.at([i, j]) == 0, "upper triangle of L") }
            #expect(l.at([i, i]) > 0)
        }
        expectMatrixClose(l.matmul(l.transposed()), spd, "L Lᵀ")
        // Only the lower triangle is read: garbage above the diagonal changes nothing.
        let garbled = spd.copy()
        for i in 0..<6 { for j in (i + 1)..<6 { garbled.put([i, j], 1000) } }
        expectMatrixClose(try LinearAlgebra.cholesky(garbled), l, "lower triangle only")
        // A strided (transposed) input of a symmetric matrix gives the same factor.
        expectMatrixClose(try LinearAlgebra.cholesky(spd.transposed()), l, "transposed input")
    }

    static func checkNotPositiveDefinite<T: LAPACKScalar>(_: T.Type) {
        #expect(throws: LinearAlgebraError.notPositiveDefinite(operation: "cholesky", order: 2)) {
            try LinearAlgebra.cholesky(Tensor<T>(rows: [[1, 2], [2, 1]]))
        }
        #expect(throws: LinearAlgebraError.notPositiveDefinite(operation: "cholesky", order: 1)) {
            try LinearAlgebra.cholesky(Tensor<T>(rows: [[-1, 0], [0, 1]]))
        }
        #expect(throws: LinearAlgebraError.notPositiveDefinite(operation: "cholesky", order: 3)) {
            try LinearAlgebra.cholesky(Tensor<T>(rows: [[1, 0, 0], [0, 1, 0], [0, 0, 0]]))
        }
    }

    // MARK: qr

    static func checkQR<T: LAPACKScalar>(_: T.Type) {
        var g = RandomGenerator(seed: 53)
        let inputs: [(String, Tensor<T>)] = [
            ("tall", Tensor<T>.randn([6, 4], generator: &g)),
            ("wide", Tensor<T>.randn([3, 5], generator: &g)),
            ("square transposed", Tensor<T>.randn([4, 4], generator: &g).transposed()),
            ("stepped", Tensor<T>.randn([5, 8], generator: &g).slice(axis: 1, 0..<8, step: 2)),
        ]
        for (name, a) in inputs {
            let m = a.shape[0], n = a.shape[1], k = Swift.min(m, n)
            let (q, r) = LinearAlgebra.qr(a)
            #expect(q.shape == [m, k] && r.shape == [k, n], "\(name) shapes")
            expectMatrixClose(q.transposed().matmul(q), identity(k), "\(name) QᵀQ")
            for i in 0..<k { for j in 0..<Swift.min(i, n) { #expect(r.at([i, j]) == 0, "\(name) R upper") } }
            expectMatrixClose(q.matmul(r), a.contiguous(), "\(name) QR = A")
        }
        let empty = LinearAlgebra.qr(Tensor<T>.zeros([3, 0]))
        #expect(empty.q.shape == [3, 0] && empty.r.shape == [0, 0])
    }

    // MARK: symmetricEigen

    static func checkEigen<T: LAPACKScalar>(_: T.Type) throws {
        let (w2, v2) = try LinearAlgebra.symmetricEigen(Tensor<T>(rows: [[2, 1], [1, 2]]))
        expectMatrixClose(w2, Tensor<T>([1, 3]), "hand eigenvalues")
        let s = T(0.5).squareRoot()
        expectMatrixClose(v2.abs(), Tensor<T>(rows: [[s, s], [s, s]]), "hand eigenvectors")

        var g = RandomGenerator(seed: 59)
        let m = Tensor<T>.randn([5, 5], generator: &g)
        let a = m + m.transposed()
        let (w, v) = try LinearAlgebra.symmetricEigen(a)
        #expect(w.shape == [5] && v.shape == [5, 5])
        let values = w.scalars
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "ascending")
        expectMatrixClose(v.transposed().matmul(v), identity(5), "VᵀV")
        expectMatrixClose(a.matmul(v), v * w, "A V = V diag(w)")
        expectMatrixClose((v * w).matmul(v.transposed()), a, "V diag(w) Vᵀ = A")
        // Only the lower triangle is read.
        let lower = a.copy()
        for i in 0..<5 { for j in (i + 1)..<5 { lower.put([i, j], -77) } }
        expectMatrixClose(try LinearAlgebra.symmetricEigen(lower).values, w, "lower triangle only")
        // Known spectrum: diag(3, -1, 2) has eigenvalues -1, 2, 3.
        let d = Tensor<T>(rows: [[3, 0, 0], [0, -1, 0], [0, 0, 2]])
        expectMatrixClose(try LinearAlgebra.symmetricEigen(d).values, Tensor<T>([-1, 2, 3]), "diagonal")
    }

    // MARK: leastSquares

    static func checkLeastSquares<T: LAPACKScalar>(_: T.Type) throws {
        var g = RandomGenerator(seed: 61)
        // Overdetermined, consistent: recovers the exact solution.
        let a = Tensor<T>.randn([8, 3], generator: &g)
        let truth = Tensor<T>.randn([3, 2], generator: &g)
        expectMatrixClose(try LinearAlgebra.leastSquares(a, a.matmul(truth)), truth, "consistent")
        // Overdetermined, inconsistent: the residual is orthogonal to the columns of A.
        let b = Tensor<T>.randn([8], generator: &g)
        let x = try LinearAlgebra.leastSquares(a, b)
        #expect(x.shape == [3])
        let normal = a.transposed().matmul(a.matmul(x) - b)
        expectMatrixClose(normal, Tensor<T>.zeros([3]), "normal equations")
        // Hand example: fit y = c0 + c1 t through (0, 1), (1, 2), (2, 2) gives c = (7/6, 1/2).
        let design = Tensor<T>(rows: [[1, 0], [1, 1], [1, 2]])
        expectMatrixClose(try LinearAlgebra.leastSquares(design, Tensor<T>([1, 2, 2])), Tensor<T>([T(7) / 6, 0.5]), "hand fit")
        // Underdetermined: the minimum-norm solution Aᵀ (A Aᵀ)⁻¹ b.
        let wide = Tensor<T>.randn([2, 5], generator: &g)
        let rhs = Tensor<T>.randn([2, 3], generator: &g)
        let minimum = try LinearAlgebra.leastSquares(wide, rhs)
        #expect(minimum.shape == [5, 3])
        expectMatrixClose(wide.matmul(minimum), rhs, "underdetermined residual")
        let gram = try LinearAlgebra.inverse(wide.matmul(wide.transposed()))
        expectMatrixClose(minimum, wide.transposed().matmul(gram.matmul(rhs)), "minimum norm")
        // Strided inputs.
        let columnMajor = Tensor<T>.randn([3, 8], generator: &g).transposed()  // [8, 3]
        let wideRHS = Tensor<T>.zeros([8, 4])
        let steppedRHS = wideRHS.slice(axis: 1, 0..<4, step: 2)  // [8, 2], stride 2
        steppedRHS.assign(columnMajor.matmul(truth))
        expectMatrixClose(try LinearAlgebra.leastSquares(columnMajor, steppedRHS), truth, "strided")
        // Rank deficient: a zero column.
        let deficient = Tensor<T>(rows: [[1, 0], [2, 0], [3, 0]])
        #expect(throws: LinearAlgebraError.rankDeficient(operation: "leastSquares", index: 1)) {
            try LinearAlgebra.leastSquares(deficient, Tensor<T>([1, 2, 3]))
        }
    }

    // MARK: Tests

    @Test(arguments: Precision.allCases) func solve(precision: Precision) throws {
        switch precision {
        case .float32: try Self.checkSolve(Float.self)
        case .float64: try Self.checkSolve(Double.self)
        }
    }

    @Test(arguments: Precision.allCases) func singularMatricesThrow(precision: Precision) {
        switch precision {
        case .float32: Self.checkSingular(Float.self)
        case .float64: Self.checkSingular(Double.self)
        }
    }

    @Test(arguments: Precision.allCases) func inverse(precision: Precision) throws {
        switch precision {
        case .float32: try Self.checkInverse(Float.self)
        case .float64: try Self.checkInverse(Double.self)
        }
    }

    @Test(arguments: Precision.allCases) func cholesky(precision: Precision) throws {
        switch precision {
        case .float32: try Self.checkCholesky(Float.self)
        case .float64: try Self.checkCholesky(Double.self)
        }
    }

    @Test(arguments: Precision.allCases) func notPositiveDefiniteThrows(precision: Precision) {
        switch precision {
        case .float32: Self.checkNotPositiveDefinite(Float.self)
        case .float64: Self.checkNotPositiveDefinite(Double.self)
        }
    }

    @Test(arguments: Precision.allCases) func qr(precision: Precision) {
        switch precision {
        case .float32: Self.checkQR(Float.self)
        case .float64: Self.checkQR(Double.self)
        }
    }

    @Test(arguments: Precision.allCases) func symmetricEigen(precision: Precision) throws {
        switch precision {
        case .float32: try Self.checkEigen(Float.self)
        case .float64: try Self.checkEigen(Double.self)
        }
    }

    @Test(arguments: Precision.allCases) func leastSquares(precision: Precision) throws {
        switch precision {
        case .float32: try Self.checkLeastSquares(Float.self)
        case .float64: try Self.checkLeastSquares(Double.self)
        }
    }

    @Test func errorDescriptions() {
        #expect(LinearAlgebraError.singular(operation: "solve", index: 1).description == "solve: matrix is singular (U[1,1] = 0)")
        #expect(
            LinearAlgebraError.notPositiveDefinite(operation: "cholesky", order: 2).description
                == "cholesky: matrix is not positive definite (leading minor of order 2)")
    }
}
