import Foundation
import LaTensor
import LaNN

/// The CLIP model (open_clip's `CLIP`): a ViT image tower (`visual`) and a causal text transformer
/// (`token_embedding`, `positional_embedding`, `transformer`, `ln_final`, `text_projection`), with a
/// learnable temperature `logit_scale` (and, for the SigLIP loss, `logit_bias`).
///
/// Parameter paths are exactly open_clip's state-dict keys (`visual.conv1.weight`,
/// `visual.transformer.resblocks.0.attn.in_proj_weight`, `token_embedding.weight`, `text_projection`,
/// `logit_scale`, ...), so a safetensors file written from an open_clip `state_dict()` loads with
/// `loadStateDict` directly.
public final class CLIP<Scalar: TensorFloatingPoint>: Module {
    /// The shape of the model.
    public let configuration: CLIPConfiguration
    /// The image tower.
    public let visual: VisionTransformer<Scalar>
    /// Token embeddings [vocab, width].
    public let tokenEmbedding: Embedding<Scalar>
    /// [context, width].
    public let positionalEmbedding: Variable<Scalar>
    /// The causal text transformer.
    public let transformer: Transformer<Scalar>
    /// LayerNorm of the text features.
    public let lnFinal: LayerNorm<Scalar>
    /// [width, embed].
    public let textProjection: Variable<Scalar>
    /// log of the inverse temperature, a 0-D tensor (ln(1/0.07) for CLIP, ln 10 for SigLIP).
    public let logitScale: Variable<Scalar>
    /// A 0-D logit bias (SigLIP only, initialised to -10).
    public let logitBias: Variable<Scalar>?
    /// Training mode.
    public var isTraining = true

    /// The largest value of `logit_scale` (ln 100), as CLIP clamps it after every optimizer step.
    public static var maximumLogitScale: Scalar { Scalar(Foundation.log(100.0)) }

    /// Creates a model with open_clip's initialisation.
    /// - Parameters:
    ///   - configuration: The shape.
    ///   - seed: Seed of the initial parameters.
    public init(configuration: CLIPConfiguration, seed: UInt64 = 0) {
        self.configuration = configuration
        var generator = RandomGenerator(seed: seed)
        visual = VisionTransformer(configuration: configuration.vision, embedDimension: configuration.embedDimension, generator: &generator)
        let text = configuration.text
        tokenEmbedding = Embedding(count: text.vocabularySize, dimension: text.width, standardDeviation: 0.02, generator: &generator)
        positionalEmbedding = Variable(Initializer.normal([text.contextLength, text.width], standardDeviation: Scalar(0.01), generator: &generator), requiresGrad: true)
        transformer = Transformer(
            width: text.width, layers: text.layers, heads: text.heads, mlpRatio: text.mlpRatio, activation: text.activation, generator: &generator)
        lnFinal = LayerNorm(text.width)
        textProjection = Variable(
            Initializer.normal([text.width, configuration.embedDimension], standardDeviation: 1 / Scalar(text.width).squareRoot(), generator: &generator),
            requiresGrad: true)
        let initialScale = configuration.sigmoidLoss ? Foundation.log(10.0) : Foundation.log(1 / 0.07)
        logitScale = Variable(Tensor(scalar: Scalar(initialScale)), requiresGrad: true)
        logitBias = configuration.sigmoidLoss ? Variable(Tensor(scalar: Scalar(-10)), requiresGrad: true) : nil
    }

    /// `positional_embedding`, `text_projection`, `logit_scale` (and `logit_bias`).
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] {
        var result: [(name: String, parameter: Variable<Scalar>)] = [
            ("positional_embedding", positionalEmbedding), ("text_projection", textProjection), ("logit_scale", logitScale),
        ]
        if let logitBias { result.append(("logit_bias", logitBias)) }
        return result
    }
    /// `visual`, `transformer`, `token_embedding`, `ln_final`.
    public var children: [(name: String, module: any Module<Scalar>)] {
        [("visual", visual), ("transformer", transformer), ("token_embedding", tokenEmbedding), ("ln_final", lnFinal)]
    }

    /// Image embeddings.
    /// - Parameters:
    ///   - images: [B, 3, H, W] normalised pixels.
    ///   - normalize: L2-normalise the result.
    @inlinable
    public func encodeImage(_ images: Tensor<Scalar>, normalize: Bool = false) -> Variable<Scalar> {
        let features = visual(Variable(images))
        return normalize ? features.l2Normalized(axis: -1) : features
    }

    /// Text embeddings, pooled at the end-of-text token (the position of the largest token id, as open_clip
    /// does).
    /// - Parameters:
    ///   - tokens: [B, L] token ids with L <= contextLength.
    ///   - normalize: L2-normalise the result.
    @inlinable
    public func encodeText(_ tokens: Tensor<Int>, normalize: Bool = false) -> Variable<Scalar> {
        checkPrecondition(
            tokens.rank == 2 && tokens.shape[1] <= configuration.text.contextLength,
            "encodeText: tokens of shape \(tokens.shape) are not [B, L] with L <= \(configuration.text.contextLength)")
        let (batch, length) = (tokens.shape[0], tokens.shape[1])
        let width = configuration.text.width
        let positions = length == configuration.text.contextLength ? positionalEmbedding : positionalEmbedding.slice(axis: 0, 0..<length)
        var x = tokenEmbedding(tokens) + positions
        x = transformer(x, causal: true)
        // Pool first, then normalise: LayerNorm acts per token, so this equals ln_final on every token.
        let ends = tokens.argmax(axis: 1).scalars
        let rows = Tensor<Int>(ends.enumerated().map { $0.offset * length + $0.element })
        let pooled = lnFinal(x.reshaped([batch * length, width]).indexSelect(rows, axis: 0))
        let features = pooled.matmul(textProjection)
        return normalize ? features.l2Normalized(axis: -1) : features
    }

    /// Clamps `logit_scale` to [0, ln 100] in place; call after every optimizer step.
    @inlinable
    public func clampLogitScale() {
        logitScale.value.clampInPlace(min: 0, max: CLIP.maximumLogitScale)
    }
}
