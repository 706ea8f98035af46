import LaTensor

extension RandomGenerator.SampleStream {
    /// Image augmentation of a sample in `ImageTextLoader` (crop, flip, ...).
    public static let imageAugmentation: UInt64 = 2
}

/// Which text(s) of a sample an `ImageTextLoader` tokenizes. Every choice depends only on the loader's seed,
/// the epoch and the sample's dataset index, never on the worker that reads it.
public enum TextSelection: Sendable {
    /// The original caption only (CLIP).
    case original
    /// LaCLIP: one caption per read, drawn by the sampler from the original and the M rewrites
    /// (`captions[1...M]`); too-short rewrites fall back to the original and are counted by the sampler.
    case laclip(LaCLIPTextSampler)
    /// LaCLIP-MT: all M + 1 versions of every sample; the batch's tokens are `[(M+1)·B, L]`, version-major.
    case multiText(MultiTextSampler)
    /// A text augmentation (EDA, token masking, ...) of the original caption, with the sample's generator on
    /// `RandomGenerator.SampleStream.textAugmentation` from the loader's seed.
    case augmented(any TextAugmenter)

    /// The number of texts per sample: M + 1 for `.multiText`, otherwise 1.
    public var versionCount: Int {
        if case .multiText(let sampler) = self { return sampler.rewriteCount + 1 }
        return 1
    }

    /// The texts of one sample, in version order.
    /// - Parameters:
    ///   - captions: The sample's captions, original first.
    ///   - index: The sample's dataset index.
    ///   - epoch: The epoch.
    ///   - seed: The loader's seed (used by `.augmented`).
    /// - Throws: `DataError(.mismatch)` when the sample has not the M rewrites a sampler expects, or
    ///   `DataError(.malformed)` when it has no caption.
    public func texts(captions: [String], index: Int, epoch: Int, seed: UInt64) throws -> [String] {
        guard let original = captions.first else {
            throw DataError(.malformed, file: "sample \(index)", field: "captions", "the sample has no caption")
        }
        switch self {
        case .original:
            return [original]
        case .laclip(let sampler):
            return [try sampler.sample(original: original, rewrites: Array(captions.dropFirst()), index: index, epoch: epoch)]
        case .multiText(let sampler):
            return try sampler.texts(original: original, rewrites: Array(captions.dropFirst()), index: index)
        case .augmented(let augmenter):
            return [augmenter.augment(original, seed: seed, epoch: epoch, index: index)]
        }
    }
}
