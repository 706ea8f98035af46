import LaTensor

/// One batch from an `ImageTextLoader`.
///
/// `images` is `[B, 3, H, W]` Float32. `tokens` is `[V·B, L]` Int: with one text per image (`V = 1`, CLIP,
/// LaCLIP, text augmenters) row `i` belongs to image `i`; with LaCLIP-MT's multi-text selection (`V = M + 1`)
/// the rows are version-major — all originals, then all first rewrites, … — so row `v·B + i` is version `v` of
/// image `i`.
public struct ImageTextBatch: Sendable {
    /// The images, `[B, 3, H, W]`.
    public let images: Tensor<Float>
    /// The token ids, `[V·B, L]`, version-major.
    public let tokens: Tensor<Int>
    /// The number of text versions per image (V).
    public let textVersions: Int
    /// The dataset index of each image, in batch order.
    public let sampleIndices: [Int]
    /// The epoch the batch belongs to.
    public let epoch: Int
    /// The batch's index within its epoch.
    public let index: Int

    /// Creates a batch.
    /// - Parameters:
    ///   - images: `[B, 3, H, W]` images.
    ///   - tokens: `[V·B, L]` tokens, version-major.
    ///   - textVersions: V.
    ///   - sampleIndices: The dataset index of each image.
    ///   - epoch: The epoch.
    ///   - index: The batch index within the epoch.
    public init(images: Tensor<Float>, tokens: Tensor<Int>, textVersions: Int, sampleIndices: [Int], epoch: Int, index: Int) {
        self.images = images
        self.tokens = tokens
        self.textVersions = textVersions
        self.sampleIndices = sampleIndices
        self.epoch = epoch
        self.index = index
    }

    /// The number of images (B).
    public var count: Int { sampleIndices.count }

    /// The `[B, L]` rows of one text version (a view of `tokens`, no copy).
    /// - Parameter version: 0 for the originals (or the only text), `r` for rewrite `r`.
    public func tokens(version: Int) -> Tensor<Int> {
        checkPrecondition(version >= 0 && version < textVersions, "version \(version) is outside 0..<\(textVersions)")
        let length = tokens.shape[1]
        return Tensor(storage: tokens.storage, shape: [count, length], strides: [length, 1],
                      offset: tokens.offset + version * count * length)
    }
}

extension ImageTextBatch {
    /// Cuts the batch into `parts` consecutive micro-batches of (nearly) equal size, keeping the version-major
    /// token layout inside each part: part `j` holds images `j·b ..< (j+1)·b` and, for every version, the same
    /// rows of that version. Used for gradient accumulation.
    /// - Parameter parts: The number of micro-batches (1 ... `count`).
    public func split(into parts: Int) -> [ImageTextBatch] {
        checkPrecondition(parts >= 1 && parts <= Swift.max(count, 1), "ImageTextBatch.split: \(parts) parts of a batch of \(count)")
        if parts == 1 { return [self] }
        var result: [ImageTextBatch] = []
        var start = 0
        for part in 0..<parts {
            let size = count / parts + (part < count % parts ? 1 : 0)
            let range = start..<(start + size)
            let partTokens = Tensor<Int>.concatenate((0..<textVersions).map { tokens(version: $0).slice(axis: 0, range) }, axis: 0)
            result.append(ImageTextBatch(images: images.slice(axis: 0, range).contiguous(), tokens: partTokens,
                                         textVersions: textVersions, sampleIndices: Array(sampleIndices[range]),
                                         epoch: epoch, index: index))
            start += size
        }
        return result
    }
}
