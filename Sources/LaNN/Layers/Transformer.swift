import LaTensor

/// The transformer MLP: `c_fc` (D -> hidden), activation, `c_proj` (hidden -> D).
public final class MLP<Scalar: TensorFloatingPoint>: Module {
    /// The expansion layer.
    public let fc: Linear<Scalar>
    /// The projection back to the model width.
    public let proj: Linear<Scalar>
    /// The activation between them.
    public let activation: Activation
    /// Training mode.
    public var isTraining = true

    /// Creates the MLP.
    /// - Parameters:
    ///   - width: The model width.
    ///   - hidden: The hidden width.
    ///   - activation: GELU or QuickGELU.
    ///   - generator: The random generator.
    public init(width: Int, hidden: Int, activation: Activation, generator: inout RandomGenerator) {
        fc = Linear(width, hidden, generator: &generator)
        proj = Linear(hidden, width, generator: &generator)
        self.activation = activation
    }

    /// No own parameters.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] { [] }
    /// The children `c_fc` and `c_proj`.
    public var children: [(name: String, module: any Module<Scalar>)] { [("c_fc", fc), ("c_proj", proj)] }

    /// Applies the MLP to the last axis.
    /// - Parameter input: [..., D].
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        proj(fc(input).activated(activation))
    }
}

/// A pre-LayerNorm transformer block as in CLIP: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
/// Children: `ln_1`, `attn`, `ln_2`, `mlp`.
public final class ResidualAttentionBlock<Scalar: TensorFloatingPoint>: Module {
    /// The LayerNorm before attention.
    public let ln1: LayerNorm<Scalar>
    /// The self-attention.
    public let attention: MultiheadAttention<Scalar>
    /// The LayerNorm before the MLP.
    public let ln2: LayerNorm<Scalar>
    /// The MLP.
    public let mlp: MLP<Scalar>
    /// Training mode.
    public var isTraining = true

    /// Creates a block.
    /// - Parameters:
    ///   - width: The model width.
    ///   - heads: The number of attention heads.
    ///   - mlpRatio: Hidden width of the MLP over the model width.
    ///   - activation: The MLP activation.
    ///   - qkNorm: Per-head LayerNorm on queries and keys.
    ///   - layerNormEpsilon: Epsilon of every LayerNorm in the block.
    ///   - generator: The random generator.
    public init(width: Int, heads: Int, mlpRatio: Double = 4, activation: Activation = .gelu, qkNorm: Bool = false,
                layerNormEpsilon: Scalar = 1e-5, generator: inout RandomGenerator) {
        ln1 = LayerNorm(width, epsilon: layerNormEpsilon)
        attention = MultiheadAttention(width: width, heads: heads, qkNorm: qkNorm, qkNormEpsilon: layerNormEpsilon, generator: &generator)
        ln2 = LayerNorm(width, epsilon: layerNormEpsilon)
        mlp = MLP(width: width, hidden: Int(Double(width) * mlpRatio), activation: activation, generator: &generator)
    }

    /// No own parameters.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] { [] }
    /// The children `ln_1`, `attn`, `ln_2`, `mlp`.
    public var children: [(name: String, module: any Module<Scalar>)] {
        [("ln_1", ln1), ("attn", attention), ("ln_2", ln2), ("mlp", mlp)]
    }

    /// Applies the block.
    /// - Parameters:
    ///   - input: [B, L, D].
    ///   - mask: Additive attention mask, or nil.
    ///   - causal: Causal self-attention.
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>, mask: Tensor<Scalar>? = nil, causal: Bool = false) -> Variable<Scalar> {
        let x = input + attention(ln1(input), mask: mask, causal: causal)
        return x + mlp(ln2(x))
    }
}

/// A stack of residual attention blocks (`resblocks.0`, `resblocks.1`, ...), like open_clip's `Transformer`.
public final class Transformer<Scalar: TensorFloatingPoint>: Module {
    /// The blocks, in order.
    public let blocks: [ResidualAttentionBlock<Scalar>]
    /// The model width.
    public let width: Int
    /// Training mode.
    public var isTraining = true

    /// Creates the stack and initialises it as OpenAI CLIP / open_clip do: `in_proj_weight` ~ N(0, D^-1/2),
    /// `out_proj.weight` and `c_proj.weight` ~ N(0, D^-1/2 (2L)^-1/2), `c_fc.weight` ~ N(0, (2D)^-1/2).
    /// - Parameters:
    ///   - width: The model width D.
    ///   - layers: The number of blocks L.
    ///   - heads: Attention heads per block.
    ///   - mlpRatio: MLP hidden width over D.
    ///   - activation: The MLP activation.
    ///   - qkNorm: Per-head LayerNorm on queries and keys.
    ///   - layerNormEpsilon: Epsilon of every LayerNorm.
    ///   - generator: The random generator.
    public init(width: Int, layers: Int, heads: Int, mlpRatio: Double = 4, activation: Activation = .gelu, qkNorm: Bool = false,
                layerNormEpsilon: Scalar = 1e-5, generator: inout RandomGenerator) {
        self.width = width
        var blocks: [ResidualAttentionBlock<Scalar>] = []
        for _ in 0..<layers {
            blocks.append(ResidualAttentionBlock(
                width: width, heads: heads, mlpRatio: mlpRatio, activation: activation, qkNorm: qkNorm,
                layerNormEpsilon: layerNormEpsilon, generator: &generator))
        }
        self.blocks = blocks
        let attentionStd = 1 / Scalar(width).squareRoot()
        let projectionStd = attentionStd / Scalar(2 * Swift.max(layers, 1)).squareRoot()
        let fcStd = 1 / Scalar(2 * width).squareRoot()
        for block in blocks {
            block.attention.inProjWeight.value = Initializer.normal(block.attention.inProjWeight.shape, standardDeviation: attentionStd, generator: &generator)
            block.attention.outProj.weight.value = Initializer.normal(block.attention.outProj.weight.shape, standardDeviation: projectionStd, generator: &generator)
            block.mlp.fc.weight.value = Initializer.normal(block.mlp.fc.weight.shape, standardDeviation: fcStd, generator: &generator)
            block.mlp.proj.weight.value = Initializer.normal(block.mlp.proj.weight.shape, standardDeviation: projectionStd, generator: &generator)
        }
    }

    /// No own parameters.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] { [] }
    /// The children `resblocks.0` ... `resblocks.{L-1}`.
    public var children: [(name: String, module: any Module<Scalar>)] {
        blocks.enumerated().map { ("resblocks.\($0.offset)", $0.element) }
    }

    /// Applies every block in order.
    /// - Parameters:
    ///   - input: [B, L, D].
    ///   - mask: Additive attention mask, or nil.
    ///   - causal: Causal self-attention (text tower).
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>, mask: Tensor<Scalar>? = nil, causal: Bool = false) -> Variable<Scalar> {
        blocks.reduce(input) { x, block in block(x, mask: mask, causal: causal) }
    }
}
