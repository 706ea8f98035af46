import LaNN

/// The shape of a CLIP model: a ViT image tower, a causal text transformer, and a shared embedding.
///
/// The presets mirror open_clip's model configs (`ViT-B-32`, `ViT-B-16`), LaCLIP's ViT-B/16 (qk-norm in
/// the vision tower, LayerNorm epsilon 1e-6 there, QuickGELU in the text tower, as the LaCLIP repository's
/// `CLIP_VITB16` builds it), and `tiny`, the CPU workload this package trains and benchmarks.
public struct CLIPConfiguration: Codable, Sendable, Equatable {
    /// The image tower.
    public struct Vision: Codable, Sendable, Equatable {
        /// Input image side in pixels (square).
        public var imageSize: Int
        /// Patch side in pixels (divides `imageSize`).
        public var patchSize: Int
        /// Transformer width.
        public var width: Int
        /// Number of transformer blocks.
        public var layers: Int
        /// Attention heads.
        public var heads: Int
        /// MLP hidden width over `width`.
        public var mlpRatio: Double
        /// Per-head LayerNorm on queries and keys.
        public var qkNorm: Bool
        /// LayerNorm epsilon in this tower.
        public var layerNormEpsilon: Double
        /// The MLP activation.
        public var activation: Activation

        /// Creates a vision configuration.
        /// - Parameters:
        ///   - imageSize: Input side.
        ///   - patchSize: Patch side.
        ///   - width: Transformer width.
        ///   - layers: Blocks.
        ///   - heads: Attention heads.
        ///   - mlpRatio: MLP ratio.
        ///   - qkNorm: qk-norm.
        ///   - layerNormEpsilon: LayerNorm epsilon.
        ///   - activation: MLP activation.
        public init(imageSize: Int, patchSize: Int, width: Int, layers: Int, heads: Int, mlpRatio: Double = 4,
                    qkNorm: Bool = false, layerNormEpsilon: Double = 1e-5, activation: Activation = .gelu) {
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.width = width
            self.layers = layers
            self.heads = heads
            self.mlpRatio = mlpRatio
            self.qkNorm = qkNorm
            self.layerNormEpsilon = layerNormEpsilon
            self.activation = activation
        }

        /// Patches per side.
        public var gridSize: Int { imageSize / patchSize }
    }

    /// The text tower.
    public struct Text: Codable, Sendable, Equatable {
        /// Tokens per caption (positional embeddings).
        public var contextLength: Int
        /// Vocabulary size.
        public var vocabularySize: Int
        /// Transformer width.
        public var width: Int
        /// Attention heads.
        public var heads: Int
        /// Number of transformer blocks.
        public var layers: Int
        /// MLP hidden width over `width`.
        public var mlpRatio: Double
        /// The MLP activation.
        public var activation: Activation

        /// Creates a text configuration.
        /// - Parameters:
        ///   - contextLength: Tokens per caption.
        ///   - vocabularySize: Vocabulary size.
        ///   - width: Transformer width.
        ///   - heads: Attention heads.
        ///   - layers: Blocks.
        ///   - mlpRatio: MLP ratio.
        ///   - activation: MLP activation.
        public init(contextLength: Int = 77, vocabularySize: Int = 49408, width: Int, heads: Int, layers: Int,
                    mlpRatio: Double = 4, activation: Activation = .gelu) {
            self.contextLength = contextLength
            self.vocabularySize = vocabularySize
            self.width = width
            self.heads = heads
            self.layers = layers
            self.mlpRatio = mlpRatio
            self.activation = activation
        }
    }

    /// The image tower.
    public var vision: Vision
    /// The text tower.
    public var text: Text
    /// The shared embedding dimension.
    public var embedDimension: Int
    /// Add a learnable logit bias (for the SigLIP loss), initialised to -10, with logit scale ln 10.
    public var sigmoidLoss: Bool

    /// Creates a configuration.
    /// - Parameters:
    ///   - vision: The image tower.
    ///   - text: The text tower.
    ///   - embedDimension: Shared embedding size.
    ///   - sigmoidLoss: Use SigLIP's logit bias and initial scale.
    public init(vision: Vision, text: Text, embedDimension: Int, sigmoidLoss: Bool = false) {
        self.vision = vision
        self.text = text
        self.embedDimension = embedDimension
        self.sigmoidLoss = sigmoidLoss
    }

    /// open_clip's `ViT-B-32`.
    public static let vitB32 = CLIPConfiguration(
        vision: Vision(imageSize: 224, patchSize: 32, width: 768, layers: 12, heads: 12),
        text: Text(width: 512, heads: 8, layers: 12), embedDimension: 512)
    /// open_clip's `ViT-B-16`.
    public static let vitB16 = CLIPConfiguration(
        vision: Vision(imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12),
        text: Text(width: 512, heads: 8, layers: 12), embedDimension: 512)
    /// LaCLIP's ViT-B/16: qk-norm and LayerNorm epsilon 1e-6 in the vision tower, QuickGELU text tower.
    public static let laclipViTB16 = CLIPConfiguration(
        vision: Vision(imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12, qkNorm: true, layerNormEpsilon: 1e-6),
        text: Text(width: 512, heads: 8, layers: 12, activation: .quickGELU), embedDimension: 512)
    /// The CPU workload: 32 px images in 4 px patches, width 192, 6 layers, 3 heads in both towers,
    /// 32-token captions, 128-dimensional embeddings.
    public static let tiny = CLIPConfiguration(
        vision: Vision(imageSize: 32, patchSize: 4, width: 192, layers: 6, heads: 3),
        text: Text(contextLength: 32, width: 192, heads: 3, layers: 6), embedDimension: 128)

    /// A preset by name (`ViT-B-32`, `ViT-B-16`, `LaCLIP-ViT-B-16`, `tiny`, `mini-28`), or nil.
    /// - Parameter name: The preset name.
    public static func preset(named name: String) -> CLIPConfiguration? {
        switch name {
        case "ViT-B-32": return vitB32
        case "ViT-B-16": return vitB16
        case "LaCLIP-ViT-B-16": return laclipViTB16
        case "tiny": return tiny
        case "mini-28": return mini28
        default: return nil
        }
    }
}

extension CLIPConfiguration {
    /// The built-in data's model: 28 px images (Fashion-MNIST at its own size) in 7 px patches and a
    /// 24-token text tower, both 128 wide with 3 layers and 4 heads, 64-dimensional embeddings.
    public static let mini28 = CLIPConfiguration(
        vision: Vision(imageSize: 28, patchSize: 7, width: 128, layers: 3, heads: 4),
        text: Text(contextLength: 24, width: 128, heads: 4, layers: 3), embedDimension: 64)

    /// The preset names `preset(named:)` knows.
    public static let presetNames = ["ViT-B-32", "ViT-B-16", "LaCLIP-ViT-B-16", "tiny", "mini-28"]
}
