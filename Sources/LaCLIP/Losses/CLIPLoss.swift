import LaTensor
import LaNN

/// A contrastive loss value with the retrieval accuracies of its batch, for logging.
public struct ContrastiveLossOutput<Scalar: TensorFloatingPoint> {
    /// The scalar loss (differentiable).
    public let loss: Variable<Scalar>
    /// Fraction of images whose most similar text is their own caption.
    public let imageToTextAccuracy: Double
    /// Fraction of texts whose most similar image is their own.
    public let textToImageAccuracy: Double

    /// Creates an output.
    /// - Parameters:
    ///   - loss: The scalar loss.
    ///   - imageToTextAccuracy: Image-to-text top-1 accuracy.
    ///   - textToImageAccuracy: Text-to-image top-1 accuracy.
    @inlinable
    public init(loss: Variable<Scalar>, imageToTextAccuracy: Double, textToImageAccuracy: Double) {
        self.loss = loss
        self.imageToTextAccuracy = imageToTextAccuracy
        self.textToImageAccuracy = textToImageAccuracy
    }
}

/// The fraction of rows of `logits` whose argmax equals `offset + row`.
@inlinable
func diagonalAccuracy<T: TensorFloatingPoint>(_ logits: Tensor<T>, offset: Int = 0) -> Double {
    let rows = logits.shape[0]
    guard rows > 0 else { return 0 }
    let best = logits.argmax(axis: 1).scalars
    return Double(best.enumerated().filter { $0.element == $0.offset + offset }.count) / Double(rows)
}

/// CLIP's symmetric InfoNCE loss (open_clip's `ClipLoss`): logits = scale · I Tᵀ, cross-entropy from
/// images to texts and from texts to images against the diagonal, averaged.
///
/// Pass L2-normalised features and the *exponentiated* scale (`model.logitScale.exp()`), as open_clip's
/// `ClipLoss(image_features, text_features, logit_scale)` expects. On one process this is one fused op:
/// the B×B logits are computed once, both softmaxes come from them, and the pullback is analytic:
/// dLogits = (softmax_rows - I)/2B + (softmax_cols - I)/2B, dI = s·dLogits·T, dT = s·dLogitsᵀ·I,
/// ds = Σ dLogits ⊙ (I Tᵀ).
///
/// For the local-loss form of distributed training, pass the features gathered from all ranks as
/// `allImageFeatures`/`allTextFeatures` and this rank's `labelOffset` (rank × local batch): then
/// logits_per_image = s · I_local T_allᵀ, logits_per_text = s · T_local I_allᵀ, labels = arange(B) + offset.
/// - Parameters:
///   - imageFeatures: [B, E], normalised.
///   - textFeatures: [B, E], normalised.
///   - logitScale: The scale s (0-D or 1-element), already exponentiated.
///   - allImageFeatures: Images of every rank [N, E], or nil on one process.
///   - allTextFeatures: Texts of every rank [N, E], or nil on one process.
///   - labelOffset: This rank's first label.
@inlinable
public func clipLoss<T: TensorFloatingPoint>(
    imageFeatures: Variable<T>, textFeatures: Variable<T>, logitScale: Variable<T>,
    allImageFeatures: Variable<T>? = nil, allTextFeatures: Variable<T>? = nil, labelOffset: Int = 0
) -> ContrastiveLossOutput<T> {
    checkPrecondition(
        imageFeatures.rank == 2 && imageFeatures.shape == textFeatures.shape,
        "clipLoss: image features \(imageFeatures.shape) and text features \(textFeatures.shape) must both be [B, E]")
    checkPrecondition(logitScale.value.count == 1, "clipLoss: logit scale must have one element, got shape \(logitScale.shape)")
    let batch = imageFeatures.shape[0]
    if allImageFeatures != nil || allTextFeatures != nil || labelOffset != 0 {
        let texts = allTextFeatures ?? textFeatures, images = allImageFeatures ?? imageFeatures
        let labels = Tensor<Int>(Array(labelOffset..<(labelOffset + batch)))
        let scale = logitScale.reshaped([])
        let perImage = imageFeatures.matmul(texts.transposed()) * scale
        let perText = textFeatures.matmul(images.transposed()) * scale
        let loss = (perImage.crossEntropy(targets: labels) + perText.crossEntropy(targets: labels)) * T(0.5)
        return ContrastiveLossOutput(
            loss: loss, imageToTextAccuracy: diagonalAccuracy(perImage.value, offset: labelOffset),
            textToImageAccuracy: diagonalAccuracy(perText.value, offset: labelOffset))
    }

    let images = imageFeatures.value, texts = textFeatures.value
    let scaleShape = logitScale.shape
    let s = logitScale.value.item
    let similarity = images.matmul(texts.transposed())  // [B, B]
    let logits = similarity * s
    let rowLogProbabilities = logits.logSoftmax(axis: 1)
    let columnLogProbabilities = logits.logSoftmax(axis: 0)
    var total: T = 0
    for i in 0..<batch {
        total -= rowLogProbabilities[element: i, i] + columnLogProbabilities[element: i, i]
    }
    let lossValue = Tensor<T>(scalar: batch == 0 ? 0 : total / T(2 * batch))
    let loss = Variable.record(lossValue, name: "clipLoss", inputs: [imageFeatures, textFeatures, logitScale]) { g in
        let weight = g.item / T(2 * Swift.max(batch, 1))
        let dLogits = (rowLogProbabilities.exp() + columnLogProbabilities.exp())
        let p = dLogits.storage.pointer
        for i in 0..<batch { p[i * batch + i] -= 2 }
        dLogits.multiplyInPlace(weight)
        let dImages = dLogits.matmul(texts) * s
        let dTexts = dLogits.transposed().matmul(images) * s
        let dScale = (dLogits * similarity).sum().reshaped(scaleShape)
        return [dImages, dTexts, dScale]
    }
    return ContrastiveLossOutput(
        loss: loss, imageToTextAccuracy: diagonalAccuracy(logits), textToImageAccuracy: diagonalAccuracy(logits.transposed()))
}

/// LaCLIP-MT's multi-text loss: for each text version j (the original caption and its M rewrites), the
/// CLIP loss between the images and version j of every caption, so the negatives of an image are the
/// version-j texts of the other images; the result is the **mean over the M + 1 versions**. (The paper
/// writes the normalisation as 1/M in front of a sum of M + 1 terms; this implements the mean, which
/// only rescales the loss by M/(M+1).)
///
/// The text tower should encode all (M+1)·B texts in one batch; pass its output as `textFeatures`
/// [(M+1)·B, E] in version-major order (all originals, then all first rewrites, ...).
/// - Parameters:
///   - imageFeatures: [B, E], normalised.
///   - textFeatures: [(M+1)·B, E], normalised, version-major.
///   - versions: M + 1.
///   - logitScale: The exponentiated scale.
@inlinable
public func multiTextCLIPLoss<T: TensorFloatingPoint>(
    imageFeatures: Variable<T>, textFeatures: Variable<T>, versions: Int, logitScale: Variable<T>
) -> ContrastiveLossOutput<T> {
    let batch = imageFeatures.shape[0]
    checkPrecondition(
        versions > 0 && textFeatures.rank == 2 && textFeatures.shape[0] == versions * batch,
        "multiTextCLIPLoss: text features \(textFeatures.shape) are not [\(versions) x \(batch), E]")
    var total: Variable<T>? = nil
    var imageAccuracy = 0.0, textAccuracy = 0.0
    for version in 0..<versions {
        let texts = textFeatures.slice(axis: 0, (version * batch)..<((version + 1) * batch))
        let output = clipLoss(imageFeatures: imageFeatures, textFeatures: texts, logitScale: logitScale)
        total = total.map { $0 + output.loss } ?? output.loss
        imageAccuracy += output.imageToTextAccuracy
        textAccuracy += output.textToImageAccuracy
    }
    return ContrastiveLossOutput(
        loss: total! / T(versions), imageToTextAccuracy: imageAccuracy / Double(versions),
        textToImageAccuracy: textAccuracy / Double(versions))
}

/// The sigmoid loss of SigLIP (open_clip's `SigLipLoss`): logits = s · I Tᵀ + b, targets +1 on the diagonal
/// and -1 elsewhere, loss = -Σ log σ(target · logit) / B. Use with a model configured with `sigmoidLoss: true`
/// (logit scale initialised to ln 10, bias to -10).
///
/// For distributed training, pass the texts of every rank as `allTextFeatures` and this rank's `labelOffset`:
/// this rank's B images against all N texts, the positives at (i, offset + i), divided by the local B — the
/// sum over ranks of open_clip's per-rank losses with its neighbour exchange.
/// - Parameters:
///   - imageFeatures: [B, E], normalised.
///   - textFeatures: [B, E], normalised.
///   - logitScale: The exponentiated scale s.
///   - logitBias: The bias b.
///   - allTextFeatures: Texts of every rank [N, E], or nil on one process.
///   - labelOffset: This rank's first label.
@inlinable
public func sigLIPLoss<T: TensorFloatingPoint>(
    imageFeatures: Variable<T>, textFeatures: Variable<T>, logitScale: Variable<T>, logitBias: Variable<T>,
    allTextFeatures: Variable<T>? = nil, labelOffset: Int = 0
) -> ContrastiveLossOutput<T> {
    checkPrecondition(
        imageFeatures.rank == 2 && imageFeatures.shape == textFeatures.shape,
        "sigLIPLoss: image features \(imageFeatures.shape) and text features \(textFeatures.shape) must both be [B, E]")
    let batch = imageFeatures.shape[0]
    let texts = allTextFeatures ?? textFeatures
    let columns = texts.shape[0]
    checkPrecondition(
        texts.rank == 2 && texts.shape[1] == imageFeatures.shape[1] && labelOffset >= 0 && labelOffset + batch <= columns,
        "sigLIPLoss: all text features \(texts.shape) with label offset \(labelOffset) do not hold the \(batch) local texts")
    let logits = imageFeatures.matmul(texts.transposed()) * logitScale.reshaped([]) + logitBias.reshaped([])
    let signs = Tensor<T>.full([batch, columns], value: -1)
    for i in 0..<batch { signs[element: i, labelOffset + i] = 1 }
    let loss = -(logits * Variable(signs)).logSigmoid().sum() / T(Swift.max(batch, 1))
    let local = logits.value.slice(axis: 1, labelOffset..<(labelOffset + batch))
    return ContrastiveLossOutput(
        loss: loss, imageToTextAccuracy: diagonalAccuracy(logits.value, offset: labelOffset),
        textToImageAccuracy: diagonalAccuracy(local.transposed()))
}
