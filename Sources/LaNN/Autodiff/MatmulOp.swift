import LaTensor

extension Variable {
    /// Matrix product with `torch.matmul` semantics (1-D, 2-D, batched with broadcast batch axes).
    ///
    /// Pullback: dA = G Bᵀ and dB = Aᵀ G, summed over broadcast batch axes. The transposes are views that
    /// reach BLAS as flags; when B is a shared 2-D matrix (a linear layer), dB is one GEMM over the folded
    /// batch rather than a batch of GEMMs and a sum.
    /// - Parameter other: The right operand.
    @inlinable
    public func matmul(_ other: Variable) -> Variable {
        if rank == 1 || other.rank == 1 {
            let lhs = rank == 1 ? unsqueezed(axis: 0) : self
            let rhs = other.rank == 1 ? other.unsqueezed(axis: 1) : other
            var result = lhs.matmul(rhs)
            if other.rank == 1 { result = result.squeezed(axis: -1) }
            if rank == 1 { result = result.squeezed(axis: -1) }
            return result
        }
        let a = value, b = other.value
        let needA = requiresGrad, needB = other.requiresGrad
        return Variable.record(a.matmul(b), name: "matmul", inputs: [self, other]) { g in
            var ga: Tensor<Scalar>? = nil
            var gb: Tensor<Scalar>? = nil
            if needA { ga = g.matmul(b.transposed()).unbroadcast(to: a.shape) }
            if needB {
                if b.rank == 2 && a.rank > 2 {
                    let k = a.shape[a.rank - 1], n = g.shape[g.rank - 1]
                    gb = a.reshaped([-1, k]).transposed().matmul(g.reshaped([-1, n]))
                } else {
                    gb = a.transposed().matmul(g).unbroadcast(to: b.shape)
                }
            }
            return [ga, gb]
        }
    }
}

/// The matrix product of two variables with `torch.matmul` semantics.
/// - Parameters:
///   - lhs: The left operand.
///   - rhs: The right operand.
@inlinable
public func matmul<T: TensorFloatingPoint>(_ lhs: Variable<T>, _ rhs: Variable<T>) -> Variable<T> { lhs.matmul(rhs) }
