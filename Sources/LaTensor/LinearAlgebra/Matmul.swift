/// Matrix products through BLAS (`cblas_sgemm` / `cblas_dgemm`) with `torch.matmul` semantics.
extension Tensor where Scalar: TensorFloatingPoint {
    /// How a 2-D strided matrix reaches BLAS without a copy: as is (row-major, leading dimension `ld`) or
    /// transposed (a column-major view). Nil when the layout needs a copy.
    @inlinable
    static func blasLayout(rows: Int, columns: Int, rowStride: Int, columnStride: Int) -> (transposed: Bool, ld: Int)? {
        if columnStride == 1 || columns == 1 {
            let ld = rows <= 1 ? Swift.max(columns, 1) : rowStride
            if ld >= Swift.max(columns, 1) { return (false, ld) }
        }
        if rowStride == 1 || rows == 1 {
            let ld = columns <= 1 ? Swift.max(rows, 1) : columnStride
            if ld >= Swift.max(rows, 1) { return (true, ld) }
        }
        return nil
    }

    /// The matrix product with `torch.matmul` semantics: 1-D·1-D is a dot product, a 1-D operand is
    /// treated as a row (left) or column (right) vector and that axis is removed from the result, and
    /// N-D operands are stacks of matrices whose batch dimensions broadcast.
    ///
    /// Transposed and row-sliced views go to BLAS as transpose flags and leading dimensions, without
    /// copies; contiguous batched operands are not copied either. When the right operand has no batch
    /// dimensions (a `Linear` layer), the left operand's batch is folded into one large GEMM.
    /// - Parameter other: The right operand.
    @inlinable
    public func matmul(_ other: Tensor) -> Tensor {
        checkPrecondition(
            rank >= 1 && other.rank >= 1,
            "matmul: both operands need at least 1 dimension, got shapes \(shape) and \(other.shape)")
        let lhs = rank == 1 ? unsqueezed(axis: 0) : self
        let rhs = other.rank == 1 ? other.unsqueezed(axis: 1) : other
        let m = lhs.shape[lhs.rank - 2], k = lhs.shape[lhs.rank - 1]
        let k2 = rhs.shape[rhs.rank - 2], n = rhs.shape[rhs.rank - 1]
        checkPrecondition(
            k == k2,
            "matmul: inner dimensions differ: shapes \(shape) and \(other.shape) (\(k) vs \(k2))")
        let lhsBatch = Array(lhs.shape.dropLast(2)), rhsBatch = Array(rhs.shape.dropLast(2))
        checkPrecondition(
            Swift.zip(lhsBatch.reversed(), rhsBatch.reversed()).allSatisfy { $0 == $1 || $0 == 1 || $1 == 1 },
            "matmul: batch dimensions \(lhsBatch) and \(rhsBatch) do not broadcast: shapes \(shape) and \(other.shape)")
        let batchShape = broadcastShapes(lhsBatch, rhsBatch, operation: "matmul")
        var result = Tensor(uninitializedShape: batchShape + [m, n])
        Tensor.batchedGEMM(lhs, rhs, into: result, batchShape: batchShape, m: m, n: n, k: k)
        if rank == 1 { result = result.squeezed(axis: -2) }
        if other.rank == 1 { result = result.squeezed(axis: -1) }
        return result
    }

    /// Writes `lhs @ rhs` into the contiguous `result` ([batch..., m, n]).
    @inlinable
    static func batchedGEMM(_ lhs: Tensor, _ rhs: Tensor, into result: Tensor, batchShape: [Int], m: Int, n: Int, k: Int) {
        let output = result.storage.pointer
        if m == 0 || n == 0 { return }
        if k == 0 {
            output.update(repeating: 0, count: result.count)
            return
        }
        let batchCount = batchShape.reduce(1, *)
        let lhsBatchStrides = Array(
            lhs.broadcastStrides(to: batchShape + [m, k], operation: "matmul").dropLast(2))
        let rhsBatchStrides = Array(
            rhs.broadcastStrides(to: batchShape + [k, n], operation: "matmul").dropLast(2))

        // Fold the left batch into the rows of one GEMM when the right operand is shared by every batch and
        // the left rows are evenly spaced across batches.
        if batchCount > 1, rhsBatchStrides.allSatisfy({ $0 == 0 }) {
            var foldable = true
            var rowStride = lhs.strides[lhs.rank - 2]
            if m == 1, let axis = batchShape.lastIndex(where: { $0 != 1 }) { rowStride = lhsBatchStrides[axis] }
            var expected = rowStride * m
            for axis in stride(from: batchShape.count - 1, through: 0, by: -1) where batchShape[axis] != 1 {
                if lhsBatchStrides[axis] != expected { foldable = false; break }
                expected *= batchShape[axis]
            }
            if foldable {
                let folded = Tensor(
                    storage: lhs.storage, shape: [batchCount * m, k], strides: [rowStride, lhs.strides[lhs.rank - 1]],
                    offset: lhs.offset)
                let rhsMatrix = Tensor(
                    storage: rhs.storage, shape: [k, n], strides: Array(rhs.strides.suffix(2)), offset: rhs.offset)
                gemm2D(folded, rhsMatrix, output: output, ldc: n)
                return
            }
        }

        // One GEMM per batch element; operands that BLAS cannot read directly are made contiguous once.
        var left = lhs, right = rhs
        var leftBatch = lhsBatchStrides, rightBatch = rhsBatchStrides
        if blasLayout(rows: m, columns: k, rowStride: lhs.strides[lhs.rank - 2], columnStride: lhs.strides[lhs.rank - 1]) == nil {
            left = lhs.contiguous()
            leftBatch = Array(left.broadcastStrides(to: batchShape + [m, k], operation: "matmul").dropLast(2))
        }
        if blasLayout(rows: k, columns: n, rowStride: rhs.strides[rhs.rank - 2], columnStride: rhs.strides[rhs.rank - 1]) == nil {
            right = rhs.contiguous()
            rightBatch = Array(right.broadcastStrides(to: batchShape + [k, n], operation: "matmul").dropLast(2))
        }
        let loop = StridedLoop(shape: batchShape, strides: [leftBatch, rightBatch], offsets: [left.offset, right.offset])
        let leftStrides = Array(left.strides.suffix(2)), rightStrides = Array(right.strides.suffix(2))
        let layoutA = blasLayout(rows: m, columns: k, rowStride: leftStrides[0], columnStride: leftStrides[1])!
        let layoutB = blasLayout(rows: k, columns: n, rowStride: rightStrides[0], columnStride: rightStrides[1])!
        var aOffsets: [Int] = [], bOffsets: [Int] = []
        aOffsets.reserveCapacity(batchCount)
        bOffsets.reserveCapacity(batchCount)
        loop.forEachRun(in: 0..<batchCount) { position, count, step in
            for i in 0..<count {
                aOffsets.append(position[0] + i * step[0])
                bOffsets.append(position[1] + i * step[1])
            }
        }
        if n == 1 && !layoutA.transposed {
            // Matrix-vector products: gemm2D sends each to GEMV, which reads the vector with its stride.
            for batch in 0..<batchCount {
                let a = Tensor(storage: left.storage, shape: [m, k], strides: leftStrides, offset: aOffsets[batch])
                let b = Tensor(storage: right.storage, shape: [k, n], strides: rightStrides, offset: bOffsets[batch])
                gemm2D(a, b, output: output + batch * m * n, ldc: n)
            }
            return
        }
        // All products of the batch in one call (LaTensor's kernels spread them over the threads).
        withExtendedLifetime((left.storage, right.storage)) {
            BLASProfiler.timed {
                Scalar.gemmBatch(
                    transposeA: layoutA.transposed, transposeB: layoutB.transposed, m: m, n: n, k: k,
                    a: UnsafePointer(left.storage.pointer), aOffsets: aOffsets, lda: layoutA.ld,
                    b: UnsafePointer(right.storage.pointer), bOffsets: bOffsets, ldb: layoutB.ld, c: output)
            }
        }
    }

    /// One BLAS call computing `output = alpha * (a @ b) + beta * output` for 2-D `a` and `b` (any
    /// strides; layouts BLAS cannot read are copied first) into row-major memory with leading dimension `ldc`.
    /// - Parameters:
    ///   - a: The [m, k] left operand.
    ///   - b: The [k, n] right operand.
    ///   - output: The first element of the [m, n] result; it must stay valid for the call.
    ///   - ldc: The distance between rows of the result.
    ///   - alpha: Scale of the product.
    ///   - beta: Scale of the existing output (0 overwrites it).
    @inlinable
    public static func gemm2D(_ a: Tensor, _ b: Tensor, output: UnsafeMutablePointer<Scalar>, ldc: Int, alpha: Scalar = 1, beta: Scalar = 0) {
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        var left = a, right = b
        var layoutA = blasLayout(rows: m, columns: k, rowStride: a.strides[0], columnStride: a.strides[1])
        if layoutA == nil {
            left = a.copy()
            layoutA = (false, Swift.max(k, 1))
        }
        var layoutB = blasLayout(rows: k, columns: n, rowStride: b.strides[0], columnStride: b.strides[1])
        if layoutB == nil {
            right = b.copy()
            layoutB = (false, Swift.max(n, 1))
        }
        withExtendedLifetime((left.storage, right.storage)) {
            let pa = UnsafePointer(left.storage.pointer + left.offset)
            let pb = UnsafePointer(right.storage.pointer + right.offset)
            if n == 1 && !layoutA!.transposed {
                // Matrix-vector: GEMV reads the vector with its stride.
                let lda = layoutA!.ld
                let incx = Swift.max(right.strides[0], 1) == right.strides[0] ? right.strides[0] : 1
                BLASProfiler.timed {
                    Scalar.gemv(
                        transpose: false, m: m, n: k, alpha: alpha, a: pa, lda: lda, x: pb, incx: incx,
                        beta: beta, y: output, incy: ldc)
                }
                return
            }
            let (transposeA, lda) = layoutA!, (transposeB, ldb) = layoutB!
            BLASProfiler.timed {
                Scalar.gemm(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: pa, lda: lda, b: pb, ldb: ldb, beta: beta, c: output, ldc: ldc)
            }
        }
    }
}

extension Tensor where Scalar: TensorFloatingPoint {
    /// Tries `output = a @ b + columnBias` (the [n] bias on every row) and, when `rowSums` is given,
    /// `rowSums[i] = Σ_p a[i, p]`, in one pass of LaTensor's kernels (the row sums are taken while `a` is packed).
    /// Returns false, having written nothing, where those kernels do not run this product (`Double`, OpenBLAS as the
    /// engine, very flat products, layouts that need a copy, empty shapes); the caller then does the work apart.
    /// - Parameters:
    ///   - a: The [m, k] left operand.
    ///   - b: The [k, n] right operand.
    ///   - output: The first element of the [m, n] result (row-major, leading dimension `ldc`); not read.
    ///   - ldc: The distance between rows of the result.
    ///   - columnBias: [n], or nil.
    ///   - rowSums: Space for m values, or nil.
    @inlinable
    public static func fusedGEMM2D(
        _ a: Tensor, _ b: Tensor, output: UnsafeMutablePointer<Scalar>, ldc: Int, columnBias: Tensor?,
        rowSums: UnsafeMutablePointer<Scalar>?
    ) -> Bool {
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        guard m > 0, n > 0, k > 0,
            let layoutA = blasLayout(rows: m, columns: k, rowStride: a.strides[0], columnStride: a.strides[1]),
            let layoutB = blasLayout(rows: k, columns: n, rowStride: b.strides[0], columnStride: b.strides[1])
        else { return false }
        let bias = columnBias?.contiguous()
        if let bias { checkPrecondition(bias.count == n, "fusedGEMM2D: bias shape \(bias.shape) does not match \(n) columns") }
        return withExtendedLifetime((a.storage, b.storage, bias?.storage)) {
            BLASProfiler.timed {
                Scalar.fusedGEMM(
                    transposeA: layoutA.transposed, transposeB: layoutB.transposed, m: m, n: n, k: k,
                    a: UnsafePointer(a.storage.pointer + a.offset), lda: layoutA.ld,
                    b: UnsafePointer(b.storage.pointer + b.offset), ldb: layoutB.ld, c: output, ldc: ldc,
                    columnBias: bias.map { UnsafePointer($0.storage.pointer + $0.offset) }, rowSums: rowSums)
            }
        }
    }
}

/// The matrix product of two tensors with `torch.matmul` semantics.
/// - Parameters:
///   - lhs: The left operand.
///   - rhs: The right operand.
@inlinable
public func matmul<T: TensorFloatingPoint>(_ lhs: Tensor<T>, _ rhs: Tensor<T>) -> Tensor<T> { lhs.matmul(rhs) }
