import LaTensor

/// Scaled dot-product attention on plain tensors, shared by the differentiable wrappers below.
public enum AttentionKernels {
    /// In place over the rows of a contiguous [..., Lq, Lk] score tensor: multiply by `scale`, mask the
    /// future when `causal` (column j > row i gets probability 0), and apply a stable softmax.
    /// - Parameters:
    ///   - scores: Contiguous scores, overwritten by probabilities.
    ///   - scale: Multiplies the scores first.
    ///   - causal: Apply the causal mask.
    @inlinable
    public static func scaledMaskedSoftmaxInPlace<T: TensorFloatingPoint>(_ scores: Tensor<T>, scale: T, causal: Bool) {
        checkPrecondition(scores.isContiguous && scores.rank >= 2, "attention softmax: scores must be contiguous [..., Lq, Lk], got \(scores.shape)")
        let lq = scores.shape[scores.rank - 2], lk = scores.shape[scores.rank - 1]
        let rows = scores.count / Swift.max(lk, 1)
        let p = scores.storage.pointer + scores.offset
        Threading.parallelFor(total: rows, cost: 10 * lk) { range in
            for r in range {
                let row = p + r * lk
                let valid = causal ? Swift.min(r % Swift.max(lq, 1) + 1 + Swift.max(lk - lq, 0), lk) : lk
                var peak = -T.infinity
                for j in 0..<valid {
                    row[j] *= scale
                    if row[j] > peak { peak = row[j] }
                }
                if !peak.isFinite { peak = 0 }
                var total: T = 0
                for j in 0..<valid {
                    let e = T.exp(row[j] - peak)
                    row[j] = e
                    total += e
                }
                let inverse = total > 0 ? 1 / total : 0
                for j in 0..<valid { row[j] *= inverse }
                for j in valid..<lk { row[j] = 0 }
            }
        }
    }

    /// Forward attention: returns the output `P V` and the probabilities `P`.
    /// - Parameters:
    ///   - query: [..., Lq, E].
    ///   - key: [..., Lk, E].
    ///   - value: [..., Lk, Ev].
    ///   - mask: An additive mask broadcastable to [..., Lq, Lk] (e.g. -inf where attention is forbidden).
    ///   - causal: Forbid attending to later positions.
    ///   - scale: The score scale (1/sqrt(E) when nil).
    @inlinable
    public static func forward<T: TensorFloatingPoint>(
        query: Tensor<T>, key: Tensor<T>, value: Tensor<T>, mask: Tensor<T>?, causal: Bool, scale: T?
    ) -> (output: Tensor<T>, probabilities: Tensor<T>) {
        let e = query.shape[query.rank - 1]
        let s = scale ?? 1 / T(e).squareRoot()
        var scores = query.matmul(key.transposed())
        if let mask {
            scores.multiplyInPlace(s)
            scores = scores + mask
            scaledMaskedSoftmaxInPlace(scores, scale: 1, causal: causal)
        } else {
            scaledMaskedSoftmaxInPlace(scores, scale: s, causal: causal)
        }
        return (scores.matmul(value), scores)
    }

    /// Backward attention: gradients of query, key and value from the output gradient.
    /// dV = Pᵀ G, dP = G Vᵀ, dS = P ⊙ (dP - rowsum(dP ⊙ P)) · scale, dQ = dS K, dK = dSᵀ Q.
    /// - Parameters:
    ///   - gradient: dL/d(output), [..., Lq, Ev].
    ///   - query: The forward query.
    ///   - key: The forward key.
    ///   - value: The forward value.
    ///   - probabilities: The forward probabilities.
    ///   - scale: The forward score scale.
    @inlinable
    public static func backward<T: TensorFloatingPoint>(
        gradient: Tensor<T>, query: Tensor<T>, key: Tensor<T>, value: Tensor<T>, probabilities: Tensor<T>, scale: T
    ) -> (query: Tensor<T>, key: Tensor<T>, value: Tensor<T>) {
        let dValue = probabilities.transposed().matmul(gradient)
        let dScores = gradient.matmul(value.transposed())
        let lk = dScores.shape[dScores.rank - 1]
        let rows = dScores.count / Swift.max(lk, 1)
        let pd = dScores.storage.pointer, pp = UnsafePointer(probabilities.storage.pointer + probabilities.offset)
        withExtendedLifetime(probabilities) {
            Threading.parallelFor(total: rows, cost: 4 * lk) { range in
                for r in range {
                    let d = pd + r * lk, p = pp + r * lk
                    var dot: T = 0
                    for j in 0..<lk { dot += d[j] * p[j] }
                    for j in 0..<lk { d[j] = p[j] * (d[j] - dot) * scale }
                }
            }
        }
        return (dScores.matmul(key), dScores.transposed().matmul(query), dValue)
    }
}

/// Scaled dot-product attention as one differentiable op, like
/// `torch.nn.functional.scaled_dot_product_attention`: softmax(Q Kᵀ · scale + mask) V.
/// - Parameters:
///   - query: [..., Lq, E].
///   - key: [..., Lk, E].
///   - value: [..., Lk, Ev].
///   - mask: Additive mask broadcastable to [..., Lq, Lk], or nil.
///   - causal: Forbid attending to later positions.
///   - scale: Score scale (default 1/sqrt(E)).
@inlinable
public func scaledDotProductAttention<T: TensorFloatingPoint>(
    query: Variable<T>, key: Variable<T>, value: Variable<T>, mask: Tensor<T>? = nil, causal: Bool = false, scale: T? = nil
) -> Variable<T> {
    checkPrecondition(
        query.rank >= 2 && query.shape.dropLast(2) == key.shape.dropLast(2) && key.shape.dropLast() == value.shape.dropLast()
            && query.shape.last == key.shape.last,
        "scaledDotProductAttention: shapes query \(query.shape), key \(key.shape), value \(value.shape) do not fit")
    let s = scale ?? 1 / T(query.shape[query.rank - 1]).squareRoot()
    let q = query.value, k = key.value, v = value.value
    let (output, probabilities) = AttentionKernels.forward(query: q, key: k, value: v, mask: mask, causal: causal, scale: s)
    return Variable.record(output, name: "scaledDotProductAttention", inputs: [query, key, value]) { g in
        let grads = AttentionKernels.backward(gradient: g, query: q, key: k, value: v, probabilities: probabilities, scale: s)
        return [grads.query, grads.key, grads.value]
    }
}

extension Variable {
    /// Multi-head self-attention on packed projections, as one op: `self` is [B, L, 3D] (the output of the
    /// fused input projection: q, k, v side by side, each split into `heads` heads); the result is the
    /// attention output with heads merged, [B, L, D]. Heads are strided views of the packed tensor (no
    /// copies on the way in), and the pullback writes dQ, dK, dV straight into one packed gradient.
    /// - Parameters:
    ///   - heads: The number of heads (divides D).
    ///   - mask: Additive mask broadcastable to [B, heads, L, L], or nil.
    ///   - causal: Forbid attending to later positions.
    @inlinable
    public func packedSelfAttention(heads: Int, mask: Tensor<Scalar>? = nil, causal: Bool = false) -> Variable {
        checkPrecondition(rank == 3 && shape[2] % (3 * heads) == 0, "packedSelfAttention: shape \(shape) is not [B, L, 3D] with \(heads) heads")
        let (b, l, d) = (shape[0], shape[1], shape[2] / 3)
        let hd = d / heads
        let packed = value.view([b, l, 3, heads, hd]).permuted([2, 0, 3, 1, 4])
        let q = packed.select(axis: 0, index: 0), k = packed.select(axis: 0, index: 1), v = packed.select(axis: 0, index: 2)
        let s = 1 / Scalar(hd).squareRoot()
        let (output, probabilities) = AttentionKernels.forward(query: q, key: k, value: v, mask: mask, causal: causal, scale: s)
        let merged = output.permuted([0, 2, 1, 3]).reshaped([b, l, d])
        let packedShape = shape
        return Variable.record(merged, name: "packedSelfAttention", inputs: [self]) { g in
            let gHeads = g.view([b, l, heads, hd]).permuted([0, 2, 1, 3])
            let grads = AttentionKernels.backward(gradient: gHeads, query: q, key: k, value: v, probabilities: probabilities, scale: s)
            let dPacked = Tensor<Scalar>(uninitializedShape: packedShape)
            let views = dPacked.view([b, l, 3, heads, hd]).permuted([2, 0, 3, 1, 4])
            views.select(axis: 0, index: 0).assign(grads.query)
            views.select(axis: 0, index: 1).assign(grads.key)
            views.select(axis: 0, index: 2).assign(grads.value)
            return [dPacked]
        }
    }
}
