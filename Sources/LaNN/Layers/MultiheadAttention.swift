import LaTensor

/// Multi-head self-attention with a fused input projection, as `torch.nn.MultiheadAttention` stores it
/// (`in_proj_weight` [3D, D], `in_proj_bias` [3D], `out_proj`), batch first. Optionally normalises q and k
/// per head with LayerNorms `q_norm` and `k_norm` (qk-norm, as LaCLIP's ViT-B/16 uses).
public final class MultiheadAttention<Scalar: TensorFloatingPoint>: Module {
    /// [3D, D]: the query, key and value projections stacked.
    public let inProjWeight: Variable<Scalar>
    /// [3D].
    public let inProjBias: Variable<Scalar>
    /// The output projection D -> D.
    public let outProj: Linear<Scalar>
    /// Per-head LayerNorm of the queries (qk-norm), or nil.
    public let queryNorm: LayerNorm<Scalar>?
    /// Per-head LayerNorm of the keys (qk-norm), or nil.
    public let keyNorm: LayerNorm<Scalar>?
    /// The model width D.
    public let width: Int
    /// The number of heads.
    public let heads: Int
    /// Training mode.
    public var isTraining = true

    /// Creates the layer with PyTorch's initialisation (Xavier-uniform `in_proj_weight`, zero biases).
    /// - Parameters:
    ///   - width: The model width D (divisible by `heads`).
    ///   - heads: The number of heads.
    ///   - qkNorm: Add per-head LayerNorms on queries and keys.
    ///   - qkNormEpsilon: Their epsilon.
    ///   - generator: The random generator.
    public init(width: Int, heads: Int, qkNorm: Bool = false, qkNormEpsilon: Scalar = 1e-5, generator: inout RandomGenerator) {
        checkPrecondition(heads > 0 && width % heads == 0, "MultiheadAttention: width \(width) is not divisible by \(heads) heads")
        self.width = width
        self.heads = heads
        let bound = (6 / Scalar(width + 3 * width)).squareRoot()
        inProjWeight = Variable(Initializer.uniform([3 * width, width], bound: bound, generator: &generator), requiresGrad: true)
        inProjBias = Variable(Tensor<Scalar>.zeros([3 * width]), requiresGrad: true)
        outProj = Linear(width, width, generator: &generator)
        outProj.bias?.value.fill(0)
        queryNorm = qkNorm ? LayerNorm(width / heads, epsilon: qkNormEpsilon) : nil
        keyNorm = qkNorm ? LayerNorm(width / heads, epsilon: qkNormEpsilon) : nil
    }

    /// The parameters `in_proj_weight` and `in_proj_bias`.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] {
        [("in_proj_weight", inProjWeight), ("in_proj_bias", inProjBias)]
    }

    /// The children `out_proj`, and `q_norm`, `k_norm` with qk-norm.
    public var children: [(name: String, module: any Module<Scalar>)] {
        var result: [(name: String, module: any Module<Scalar>)] = [("out_proj", outProj)]
        if let queryNorm, let keyNorm {
            result.append(("q_norm", queryNorm))
            result.append(("k_norm", keyNorm))
        }
        return result
    }

    /// Self-attention over a batch of sequences.
    /// - Parameters:
    ///   - input: [B, L, D].
    ///   - mask: Additive attention mask broadcastable to [B, heads, L, L], or nil.
    ///   - causal: Forbid attending to later positions (the text tower's mask).
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>, mask: Tensor<Scalar>? = nil, causal: Bool = false) -> Variable<Scalar> {
        checkPrecondition(input.rank == 3 && input.shape[2] == width, "MultiheadAttention: input shape \(input.shape) is not [B, L, \(width)]")
        let (b, l) = (input.shape[0], input.shape[1])
        let packed = input.linear(weight: inProjWeight, bias: inProjBias)
        let attended: Variable<Scalar>
        if let queryNorm, let keyNorm {
            let heads = packed.reshaped([b, l, 3, self.heads, width / self.heads]).permuted([2, 0, 3, 1, 4])
            let q = queryNorm(heads.select(axis: 0, index: 0))
            let k = keyNorm(heads.select(axis: 0, index: 1))
            let v = heads.select(axis: 0, index: 2)
            attended = scaledDotProductAttention(query: q, key: k, value: v, mask: mask, causal: causal)
                .permuted([0, 2, 1, 3]).reshaped([b, l, width])
        } else {
            attended = packed.packedSelfAttention(heads: heads, mask: mask, causal: causal)
        }
        return outProj(attended)
    }
}
