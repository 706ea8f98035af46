import CLaKernels
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
        if mask == nil, value.isContiguous {
            // One fused kernel over all heads (no BLAS call per head), forward and backward.
            let input = value.contiguous(), scale = 1 / Scalar(hd).squareRoot()
            let (output, probabilities) = AttentionKernels.packedForward(packed: input, heads: heads, causal: causal, scale: scale)
            return Variable.record(output, name: "packedSelfAttention", inputs: [self]) { g in
                [AttentionKernels.packedBackward(gradient: g, packed: input, probabilities: probabilities, heads: heads, scale: scale)]
            }
        }
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

// MARK: Fused multi-head self-attention on packed projections

/// y[0..<n] += a · x[0..<n]: eight lanes at a time for Float (the attention kernels' inner loops), scalar otherwise.
@inlinable @inline(__always)
func attentionAXPY<T: TensorFloatingPoint>(_ n: Int, _ a: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>) {
    var i = 0
    if T.self == Float.self {
        let xs = UnsafeRawPointer(x), ys = UnsafeMutableRawPointer(y)
        let av = SIMD8<Float>(repeating: unsafeBitCast(a, to: Float.self))
        while i + 8 <= n {
            let xv = xs.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let yv = ys.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            ys.storeBytes(of: yv + av * xv, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
    }
    while i < n {
        y[i] += a * x[i]
        i += 1
    }
}

/// Σ x[i] · y[i] over n values: eight partial sums for Float, scalar otherwise.
@inlinable @inline(__always)
func attentionDot<T: TensorFloatingPoint>(_ n: Int, _ x: UnsafePointer<T>, _ y: UnsafePointer<T>) -> T {
    var i = 0
    var total: T = 0
    if T.self == Float.self {
        let xs = UnsafeRawPointer(x), ys = UnsafeRawPointer(y)
        var sum = SIMD8<Float>()
        while i + 8 <= n {
            sum += xs.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * ys.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        total = unsafeBitCast(sum.sum(), to: T.self)
    }
    while i < n {
        total += x[i] * y[i]
        i += 1
    }
    return total
}

extension AttentionKernels {
    /// Fused forward of multi-head self-attention over all heads at once, without a BLAS call per head: for every
    /// (batch, head) pair — in parallel — the scores, the scale, the causal mask, the softmax and the weighted sum
    /// stay in a few cache lines (the key and value rows of one head are transposed into a small scratch buffer so
    /// that every inner loop is a contiguous multiply-add).
    /// - Parameters:
    ///   - packed: Contiguous [B, L, 3D]: q, k, v side by side, each split into `heads` heads of D/heads.
    ///   - heads: The number of heads.
    ///   - causal: Forbid attending to later positions.
    ///   - scale: The score scale.
    /// - Returns: The output with heads merged [B, L, D] and the probabilities [B, heads, L, L].
    @inlinable
    public static func packedForward<T: TensorFloatingPoint>(packed: Tensor<T>, heads: Int, causal: Bool, scale: T)
        -> (output: Tensor<T>, probabilities: Tensor<T>)
    {
        checkPrecondition(packed.isContiguous && packed.rank == 3 && packed.shape[2] % (3 * heads) == 0,
                          "packedForward: packed must be contiguous [B, L, 3D] with \(heads) heads, got \(packed.shape)")
        let (b, l, d3) = (packed.shape[0], packed.shape[1], packed.shape[2])
        let d = d3 / 3, hd = d / heads
        let output = Tensor<T>(uninitializedShape: [b, l, d])
        let probabilities = Tensor<T>(uninitializedShape: [b, heads, l, l])
        let input = UnsafePointer(packed.storage.pointer + packed.offset)
        let out = output.storage.pointer, probs = probabilities.storage.pointer
        withExtendedLifetime(packed) {
            Threading.parallelFor(total: b * heads, cost: 4 * l * l * hd) { range in
                let keysT = UnsafeMutablePointer<T>.allocate(capacity: hd * l)
                defer { keysT.deallocate() }
                for pair in range {
                    let batch = pair / heads, head = pair % heads
                    let base = input + batch * l * d3 + head * hd
                    let p = probs + pair * l * l
                    if T.self == Float.self {  // the C kernel (AVX2+FMA where the CPU has it)
                        let f = UnsafeRawPointer(base).assumingMemoryBound(to: Float.self)
                        cla_attention_forward_f32(
                            f, f + d, f + 2 * d, d3, UnsafeMutableRawPointer(out + batch * l * d + head * hd).assumingMemoryBound(to: Float.self), d,
                            UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self), l, hd, unsafeBitCast(scale, to: Float.self), causal ? 1 : 0,
                            UnsafeMutableRawPointer(keysT).assumingMemoryBound(to: Float.self))
                        continue
                    }
                    // kᵀ of this head: keysT[e * l + j] = k[j, e].
                    for j in 0..<l {
                        let k = base + j * d3 + d
                        for e in 0..<hd { keysT[e * l + j] = k[e] }
                    }
                    for i in 0..<l {
                        let row = p + i * l
                        let valid = causal ? i + 1 : l
                        for j in 0..<l { row[j] = 0 }
                        let q = base + i * d3
                        for e in 0..<hd { attentionAXPY(valid, q[e] * scale, keysT + e * l, row) }
                        var peak = -T.infinity
                        for j in 0..<valid where row[j] > peak { peak = row[j] }
                        var total: T = 0
                        for j in 0..<valid {
                            let e = T.exp(row[j] - peak)
                            row[j] = e
                            total += e
                        }
                        let inverse = 1 / total
                        for j in 0..<valid { row[j] *= inverse }
                        // out_i = Σ_j p_ij v_j, written into the merged [B, L, D] layout.
                        let o = out + (batch * l + i) * d + head * hd
                        for e in 0..<hd { o[e] = 0 }
                        for j in 0..<valid { attentionAXPY(hd, row[j], base + j * d3 + 2 * d, o) }
                    }
                }
            }
        }
        return (output, probabilities)
    }

    /// Fused backward of `packedForward`: dV = Pᵀ G, dP = G Vᵀ, dS = P ⊙ (dP - rowsum(dP ⊙ P)) · scale, dQ = dS K,
    /// dK = dSᵀ Q, per (batch, head) in parallel, written straight into one packed gradient [B, L, 3D].
    /// - Parameters:
    ///   - gradient: dL/d(output) [B, L, D].
    ///   - packed: The forward input [B, L, 3D] (contiguous).
    ///   - probabilities: The forward probabilities [B, heads, L, L].
    ///   - heads: The number of heads.
    ///   - scale: The forward score scale.
    /// - Returns: dL/d(packed) [B, L, 3D].
    @inlinable
    public static func packedBackward<T: TensorFloatingPoint>(
        gradient: Tensor<T>, packed: Tensor<T>, probabilities: Tensor<T>, heads: Int, scale: T
    ) -> Tensor<T> {
        let (b, l, d3) = (packed.shape[0], packed.shape[1], packed.shape[2])
        let d = d3 / 3, hd = d / heads
        checkPrecondition(gradient.shape == [b, l, d], "packedBackward: gradient \(gradient.shape) for packed input \(packed.shape)")
        let g = gradient.contiguous()
        let result = Tensor<T>(uninitializedShape: [b, l, d3])
        let input = UnsafePointer(packed.storage.pointer + packed.offset), grads = UnsafePointer(g.storage.pointer + g.offset)
        let probs = UnsafePointer(probabilities.storage.pointer + probabilities.offset)
        let dPacked = result.storage.pointer
        withExtendedLifetime((packed, g, probabilities)) {
            Threading.parallelFor(total: b * heads, cost: 8 * l * l * hd) { range in
                let valuesT = UnsafeMutablePointer<T>.allocate(capacity: hd * l + l)
                let dScores = UnsafeMutablePointer<T>.allocate(capacity: l)
                defer {
                    valuesT.deallocate()
                    dScores.deallocate()
                }
                for pair in range {
                    let batch = pair / heads, head = pair % heads
                    let base = input + batch * l * d3 + head * hd
                    let dBase = dPacked + batch * l * d3 + head * hd
                    let gBase = grads + batch * l * d + head * hd
                    let p = probs + pair * l * l
                    if T.self == Float.self {  // the C kernel (AVX2+FMA where the CPU has it)
                        func f(_ pointer: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self) }
                        func m(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
                            UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: Float.self)
                        }
                        cla_attention_backward_f32(
                            f(base), f(base + d), f(base + 2 * d), d3, f(gBase), d, f(p), m(dBase), m(dBase + d), m(dBase + 2 * d), l, hd,
                            unsafeBitCast(scale, to: Float.self), m(valuesT))
                        continue
                    }
                    for j in 0..<l {
                        let v = base + j * d3 + 2 * d
                        for e in 0..<hd { valuesT[e * l + j] = v[e] }
                        let dq = dBase + j * d3
                        for e in 0..<hd {
                            dq[e] = 0  // dQ row
                            dq[d + e] = 0  // dK row
                            dq[2 * d + e] = 0  // dV row
                        }
                    }
                    for i in 0..<l {
                        let row = p + i * l, gi = gBase + i * d
                        // dV_j += p_ij g_i
                        for j in 0..<l where row[j] != 0 { attentionAXPY(hd, row[j], gi, dBase + j * d3 + 2 * d) }
                        // dP_ij = g_i · v_j (through vᵀ), then dS_ij = p_ij (dP_ij - Σ_j dP_ij p_ij) · scale.
                        for j in 0..<l { dScores[j] = 0 }
                        for e in 0..<hd { attentionAXPY(l, gi[e], valuesT + e * l, dScores) }
                        let dot = attentionDot(l, dScores, row)
                        for j in 0..<l { dScores[j] = row[j] * (dScores[j] - dot) * scale }
                        // dQ_i += Σ_j dS_ij k_j;  dK_j += dS_ij q_i.
                        let dq = dBase + i * d3, q = base + i * d3
                        for j in 0..<l where dScores[j] != 0 {
                            attentionAXPY(hd, dScores[j], base + j * d3 + d, dq)
                            attentionAXPY(hd, dScores[j], q, dBase + j * d3 + d)
                        }
                    }
                }
            }
        }
        return result
    }
}
