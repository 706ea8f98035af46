import LaTensor
import LaNN

/// CLIP's image tower (open_clip's `VisionTransformer`): non-overlapping patches (`conv1`, no bias), a
/// learned class token (`class_embedding`), learned positions (`positional_embedding`), `ln_pre`, the
/// transformer, `ln_post` on the class token, and the projection `proj` [width, embed].
public final class VisionTransformer<Scalar: TensorFloatingPoint>: Module {
    /// The patch embedding.
    public let conv1: Conv2d<Scalar>
    /// [width].
    public let classEmbedding: Variable<Scalar>
    /// [grid² + 1, width].
    public let positionalEmbedding: Variable<Scalar>
    /// LayerNorm before the transformer.
    public let lnPre: LayerNorm<Scalar>
    /// The blocks.
    public let transformer: Transformer<Scalar>
    /// LayerNorm of the pooled class token.
    public let lnPost: LayerNorm<Scalar>
    /// [width, embed].
    public let proj: Variable<Scalar>
    /// The configuration.
    public let configuration: CLIPConfiguration.Vision
    /// Training mode.
    public var isTraining = true

    /// Creates the tower with open_clip's initialisation (class and positional embeddings and `proj`
    /// ~ N(0, width^-1/2)).
    /// - Parameters:
    ///   - configuration: The tower's shape.
    ///   - embedDimension: The output dimension.
    ///   - generator: The random generator.
    public init(configuration: CLIPConfiguration.Vision, embedDimension: Int, generator: inout RandomGenerator) {
        checkPrecondition(
            configuration.imageSize % configuration.patchSize == 0,
            "VisionTransformer: image size \(configuration.imageSize) is not a multiple of patch size \(configuration.patchSize)")
        self.configuration = configuration
        let width = configuration.width
        let scale = 1 / Scalar(width).squareRoot()
        let epsilon = Scalar(configuration.layerNormEpsilon)
        conv1 = Conv2d(inChannels: 3, outChannels: width, kernelSize: configuration.patchSize, bias: false, generator: &generator)
        classEmbedding = Variable(Initializer.normal([width], standardDeviation: scale, generator: &generator), requiresGrad: true)
        let tokens = configuration.gridSize * configuration.gridSize + 1
        positionalEmbedding = Variable(Initializer.normal([tokens, width], standardDeviation: scale, generator: &generator), requiresGrad: true)
        lnPre = LayerNorm(width, epsilon: epsilon)
        transformer = Transformer(
            width: width, layers: configuration.layers, heads: configuration.heads, mlpRatio: configuration.mlpRatio,
            activation: configuration.activation, qkNorm: configuration.qkNorm, layerNormEpsilon: epsilon, generator: &generator)
        lnPost = LayerNorm(width, epsilon: epsilon)
        proj = Variable(Initializer.normal([width, embedDimension], standardDeviation: scale, generator: &generator), requiresGrad: true)
    }

    /// `class_embedding`, `positional_embedding`, `proj`.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] {
        [("class_embedding", classEmbedding), ("positional_embedding", positionalEmbedding), ("proj", proj)]
    }
    /// `conv1`, `ln_pre`, `transformer`, `ln_post`.
    public var children: [(name: String, module: any Module<Scalar>)] {
        [("conv1", conv1), ("ln_pre", lnPre), ("transformer", transformer), ("ln_post", lnPost)]
    }

    /// Image embeddings (not normalised).
    /// - Parameter images: [B, 3, imageSize, imageSize].
    /// - Returns: [B, embed].
    @inlinable
    public func callAsFunction(_ images: Variable<Scalar>) -> Variable<Scalar> {
        let size = configuration.imageSize
        checkPrecondition(
            images.rank == 4 && images.shape[1] == 3 && images.shape[2] == size && images.shape[3] == size,
            "VisionTransformer: images of shape \(images.shape) are not [B, 3, \(size), \(size)]")
        let batch = images.shape[0], width = configuration.width
        let patches = conv1.patches(images)  // [B, grid², width]
        let classToken = classEmbedding.reshaped([1, 1, width]).expanded(to: [batch, 1, width])
        var x = Variable.concatenate([classToken, patches], axis: 1) + positionalEmbedding
        x = transformer(lnPre(x))
        let pooled = lnPost(x.select(axis: 1, index: 0))
        return pooled.matmul(proj)
    }
}
