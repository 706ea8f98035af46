import Foundation
import LaData
import LaNN
import LaTensor

/// Owns one training step of a CLIP model: the learning rate from the schedule, `logit_scale.exp()`, the
/// contrastive objective, backward (with open_clip-style gradient accumulation), optional gradient clipping,
/// the AdamW update and the logit-scale clamp.
///
/// The objective follows from the batch: one text per image gives CLIP's loss (or SigLIP's), whatever text
/// the loader chose (original, LaCLIP rewrite draw, EDA, token masking); `V > 1` text versions per image
/// (`TextSelection.multiText`) give LaCLIP-MT's mean over versions.
///
/// **Data parallel.** With a `distributed` context of several ranks (`MPIContext` from `LaMPI`), each rank
/// trains on its shard of every global batch (`LoaderShard`): the parameters are broadcast from rank 0 when
/// the trainer is created, every loss is open_clip's local-loss form over features all-gathered with gradient
/// (`Variable.allGathered(over:)`: this rank's images against the texts of all ranks and the reverse, labels
/// offset by rank × local batch; per version for LaCLIP-MT; SigLIP against all texts), and the gradients are
/// averaged by a bucketed `GradientReducer` that starts communicating during the backward pass. So one step
/// on W ranks with batch B equals one step of one process with batch W·B. Gradient accumulation works across
/// ranks: every micro-batch pass gathers the cached features of all ranks.
///
/// ```swift
/// let trainer = try CLIPTrainer(model: CLIP(configuration: .tiny), configuration: .init(totalSteps: 1000))
/// let batches = try loader.makeIterator(epoch: 0)
/// while let batch = try batches.next() {
///     let metrics = try trainer.step(batch)
///     print(metrics.loss)
/// }
/// ```
public final class CLIPTrainer {
    /// The model being trained.
    public let model: CLIP<Float>
    /// AdamW over open_clip's two parameter groups.
    public let optimizer: Adam<Float>
    /// The settings.
    public let configuration: TrainerConfiguration
    /// The learning-rate schedule (from `configuration`).
    public let schedule: LearningRateSchedule
    /// The number of optimizer steps completed (skipped steps included).
    public var completedSteps: Int {
        get { optimizer.stepCount + skippedSteps }
    }
    /// Steps skipped for a non-finite loss.
    public private(set) var skippedSteps = 0
    /// The processes of a data-parallel run (`SingleProcessContext` by default).
    public let distributed: any DistributedContext

    private let trainable: [Variable<Float>]
    private let reducer: GradientReducer?

    /// Creates a trainer.
    /// - Parameters:
    ///   - model: The model (trained in place; with several ranks, rank 0's parameters are copied to all).
    ///   - configuration: The optimisation settings.
    ///   - distributed: The processes of a data-parallel run (default: this process alone).
    /// - Throws: `TrainingError.invalidConfiguration` for out-of-range settings or a SigLIP loss on a model
    ///   without a logit bias, `.distributed` when the parameters cannot be broadcast.
    public init(model: CLIP<Float>, configuration: TrainerConfiguration, distributed: any DistributedContext = SingleProcessContext()) throws(TrainingError) {
        try configuration.validate()
        if configuration.loss == .siglip && model.logitBias == nil {
            throw .invalidConfiguration(field: "loss", message: "the SigLIP loss needs a model configured with sigmoidLoss (a logit bias)")
        }
        self.model = model
        self.configuration = configuration
        self.schedule = configuration.learningRateSchedule
        optimizer = Adam.adamW(
            groups: ParameterGroup.clipStyle(model.namedParameters(), weightDecay: Float(configuration.weightDecay)),
            learningRate: Float(configuration.learningRate), beta1: Float(configuration.beta1), beta2: Float(configuration.beta2),
            epsilon: Float(configuration.epsilon))
        trainable = model.parameters().filter(\.requiresGrad)
        self.distributed = distributed
        if distributed.worldSize > 1 {
            do throws(DistributedError) { try distributed.broadcastParameters(model.parameters()) } catch { throw .distributed(error) }
            reducer = GradientReducer(parameters: trainable, context: distributed)
        } else {
            reducer = nil
        }
    }

    /// Restores the count of skipped steps (from a checkpoint).
    /// - Parameter count: Steps skipped before the checkpoint.
    public func restoreSkippedSteps(_ count: Int) { skippedSteps = Swift.max(0, count) }

    /// Runs one optimizer step on `batch` (cut into `configuration.accumulationSteps` micro-batches).
    /// - Parameter batch: Images `[B, 3, H, W]` and tokens `[V·B, L]` from an `ImageTextLoader`.
    /// - Returns: The step's loss, accuracies, learning rate, scale, gradient norm and speed.
    /// - Throws: `TrainingError.invalidBatch` for a batch that does not fit the model or has fewer images than
    ///   micro-batches (2 per micro-batch at least), `.nonFiniteLoss` under `NonFiniteLossPolicy.stop`.
    @discardableResult
    public func step(_ batch: ImageTextBatch) throws(TrainingError) -> StepMetrics {
        let parts = configuration.accumulationSteps
        guard batch.count >= 2 * parts else {
            throw .invalidBatch("a batch of \(batch.count) images cannot be cut into \(parts) micro-batches of at least 2")
        }
        return try step(microBatches: batch.split(into: parts))
    }

    /// Runs one optimizer step over several micro-batches that together form the batch: the loss is that of
    /// the concatenated batch (all images against all texts), its gradient is accumulated micro-batch by
    /// micro-batch.
    /// - Parameter microBatches: The parts, with the same text-version count.
    /// - Returns: The step's metrics.
    /// - Throws: `TrainingError.invalidBatch`, `.nonFiniteLoss` (policy `.stop`).
    @discardableResult
    public func step(microBatches: [ImageTextBatch]) throws(TrainingError) -> StepMetrics {
        let start = Date()
        let stepIndex = completedSteps
        let learningRate = schedule.learningRate(at: stepIndex)
        optimizer.learningRate = Float(learningRate)
        optimizer.zeroGrad()
        let scale = Foundation.exp(Double(model.logitScale.value.item))
        let output = try accumulateGradients(microBatches: microBatches)
        var norm = gradientNorm()
        let loss = Double(output.loss)
        let imageCount = microBatches.reduce(0) { $0 + $1.count }
        if !loss.isFinite || !norm.isFinite {
            optimizer.zeroGrad()
            if configuration.nonFiniteLoss == .stop { throw .nonFiniteLoss(step: stepIndex + 1, loss: loss, gradientNorm: norm) }
            skippedSteps += 1
            let seconds = Date().timeIntervalSince(start)
            return StepMetrics(
                step: completedSteps, epoch: microBatches[0].epoch, loss: loss, imageToTextAccuracy: output.imageToText,
                textToImageAccuracy: output.textToImage, learningRate: learningRate, logitScale: scale, gradientNorm: norm,
                imagesPerSecond: Double(imageCount) / Swift.max(seconds, 1e-9), seconds: seconds, skipped: true)
        }
        if let maxNorm = configuration.gradientClipNorm {
            norm = Double(clipGradientNorm(trainable, maxNorm: Float(maxNorm)))
        }
        optimizer.step()
        model.clampLogitScale()
        optimizer.zeroGrad()
        let seconds = Date().timeIntervalSince(start)
        return StepMetrics(
            step: completedSteps, epoch: microBatches[0].epoch, loss: loss, imageToTextAccuracy: output.imageToText,
            textToImageAccuracy: output.textToImage, learningRate: learningRate, logitScale: scale, gradientNorm: norm,
            imagesPerSecond: Double(imageCount) / Swift.max(seconds, 1e-9), seconds: seconds)
    }

    /// The loss, accuracies and gradients of a batch (cut into micro-batches) without an optimizer step: the
    /// gradients are left in the parameters' `grad`. `step(microBatches:)` is this, then clipping and AdamW.
    /// - Parameter microBatches: The parts of the batch.
    /// - Returns: The loss and in-batch accuracies of the whole batch.
    /// - Throws: `TrainingError.invalidBatch` when the parts do not fit the model or each other.
    public func accumulateGradients(microBatches: [ImageTextBatch]) throws(TrainingError) -> (loss: Float, imageToText: Double, textToImage: Double) {
        try check(microBatches)
        let versions = microBatches[0].textVersions
        var result: (loss: Float, imageToText: Double, textToImage: Double) = (0, 0, 0)
        reducer?.beginBackward()
        if microBatches.count == 1 {
            let (images, texts) = features(microBatches[0])
            let output = try objective(images: images, texts: texts, versions: versions, liveScale: true)
            output.loss.backward(onLeafGradient: reducer?.gradientReady)
            result = (output.loss.value.item, output.imageToTextAccuracy, output.textToImageAccuracy)
        } else {
            // 1. Every micro-batch's features without gradients (the negatives of the whole batch).
            let cached: [(images: Tensor<Float>, texts: Tensor<Float>)] = withNoGrad {
                microBatches.map { part in
                    let (images, texts) = features(part)
                    return (images.value, texts.value)
                }
            }
            // 2. Each micro-batch again with gradients, against the cached features of the others. The scale (and
            //    SigLIP's bias) is live in the first pass only, so its gradient is counted once.
            for (j, part) in microBatches.enumerated() {
                let (liveImages, liveTexts) = features(part)
                let images = Variable.concatenate(cached.indices.map { $0 == j ? liveImages : Variable(cached[$0].images) }, axis: 0)
                var textParts: [Variable<Float>] = []
                for version in 0..<versions {
                    for (i, piece) in cached.enumerated() {
                        let rows = microBatches[i].count
                        let texts = i == j ? liveTexts : Variable(piece.texts)
                        textParts.append(texts.slice(axis: 0, (version * rows)..<((version + 1) * rows)))
                    }
                }
                let texts = Variable.concatenate(textParts, axis: 0)
                let output = try objective(images: images, texts: texts, versions: versions, liveScale: j == 0)
                output.loss.backward(onLeafGradient: j == microBatches.count - 1 ? reducer?.gradientReady : nil)
                if j == 0 { result = (output.loss.value.item, output.imageToTextAccuracy, output.textToImageAccuracy) }
            }
        }
        guard let reducer else { return result }
        // Data parallel: the mean gradient over ranks, and the mean of the ranks' local losses (the global loss).
        do throws(DistributedError) {
            if let failure = distributed.deferredFailure {
                distributed.deferredFailure = nil
                throw failure
            }
            try reducer.finish()
            let means = try distributed.mean([Double(result.loss), result.imageToText, result.textToImage])
            return (Float(means[0]), means[1], means[2])
        } catch {
            throw .distributed(error)
        }
    }

    /// The global 2-norm of the current gradients (accumulated in Float64).
    public func gradientNorm() -> Double {
        var total = 0.0
        for parameter in trainable {
            guard let grad = parameter.grad else { continue }
            grad.withContiguousBuffer { values in
                var sum = 0.0
                for v in values { sum += Double(v) * Double(v) }
                total += sum
            }
        }
        return total.squareRoot()
    }

    // MARK: Pieces

    /// Normalised image features `[B, E]` and text features `[V·B, E]` (version-major).
    func features(_ batch: ImageTextBatch) -> (Variable<Float>, Variable<Float>) {
        let images = model.encodeImage(batch.images, normalize: true)
        let texts = model.encodeText(batch.tokens, normalize: true)
        return (images, texts)
    }

    /// The batch's loss: CLIP or SigLIP, averaged over the text versions when there are several. With several
    /// ranks, the local-loss form against the features gathered from every rank.
    func objective(images: Variable<Float>, texts: Variable<Float>, versions: Int, liveScale: Bool) throws(TrainingError) -> ContrastiveLossOutput<Float> {
        let scale = liveScale ? model.logitScale.exp() : Variable(model.logitScale.value.exp())
        let batch = images.shape[0]
        let distributed = self.distributed.worldSize > 1
        func gathered(_ features: Variable<Float>) throws(TrainingError) -> Variable<Float> {
            do throws(DistributedError) { return try features.allGathered(over: self.distributed) } catch { throw .distributed(error) }
        }
        func version(_ v: Int) -> Variable<Float> {
            versions == 1 ? texts : texts.slice(axis: 0, (v * batch)..<((v + 1) * batch))
        }
        let offset = self.distributed.rank * batch
        if configuration.loss == .clip && !distributed {
            if versions == 1 { return clipLoss(imageFeatures: images, textFeatures: texts, logitScale: scale) }
            return multiTextCLIPLoss(imageFeatures: images, textFeatures: texts, versions: versions, logitScale: scale)
        }
        let allImages = configuration.loss == .clip ? try gathered(images) : nil
        let bias = configuration.loss == .siglip ? (liveScale ? model.logitBias! : Variable(model.logitBias!.value)) : nil
        var total: Variable<Float>? = nil
        var imageAccuracy = 0.0, textAccuracy = 0.0
        for v in 0..<versions {
            let part = version(v)
            let allTexts = distributed ? try gathered(part) : nil
            let output: ContrastiveLossOutput<Float>
            if let bias {
                output = sigLIPLoss(imageFeatures: images, textFeatures: part, logitScale: scale, logitBias: bias, allTextFeatures: allTexts, labelOffset: offset)
            } else {
                output = clipLoss(imageFeatures: images, textFeatures: part, logitScale: scale, allImageFeatures: allImages,
                                  allTextFeatures: allTexts, labelOffset: offset)
            }
            total = total.map { $0 + output.loss } ?? output.loss
            imageAccuracy += output.imageToTextAccuracy
            textAccuracy += output.textToImageAccuracy
        }
        let count = Double(versions)
        return ContrastiveLossOutput(loss: versions == 1 ? total! : total! / Float(versions),
                                     imageToTextAccuracy: imageAccuracy / count, textToImageAccuracy: textAccuracy / count)
    }

    private func check(_ parts: [ImageTextBatch]) throws(TrainingError) {
        guard let first = parts.first else { throw .invalidBatch("no micro-batches") }
        let vision = model.configuration.vision
        let expected = [3, vision.imageSize, vision.imageSize]
        for part in parts {
            guard part.count >= 1, part.images.rank == 4, Array(part.images.shape.dropFirst()) == expected,
                part.images.shape[0] == part.count
            else {
                throw .invalidBatch("images of shape \(part.images.shape) for a model of input \(expected)")
            }
            guard part.textVersions == first.textVersions, part.textVersions >= 1,
                part.tokens.rank == 2, part.tokens.shape[0] == part.textVersions * part.count,
                part.tokens.shape[1] >= 1, part.tokens.shape[1] <= model.configuration.text.contextLength
            else {
                throw .invalidBatch(
                    "tokens of shape \(part.tokens.shape) for \(part.count) images with \(part.textVersions) versions "
                        + "(context length at most \(model.configuration.text.contextLength))")
            }
        }
        let total = parts.reduce(0) { $0 + $1.count }
        guard total >= 2 || distributed.worldSize > 1 else { throw .invalidBatch("a contrastive batch needs at least 2 images, got \(total)") }
        if distributed.worldSize > 1 {
            // Every rank must bring the same number of images (the label offsets assume it): the mean of the
            // counts squared equals the squared mean only when they are all equal.
            let counts: [Double]
            do throws(DistributedError) { counts = try distributed.mean([Double(total), Double(total * total)]) } catch { throw .distributed(error) }
            guard counts[1] == counts[0] * counts[0] else {
                throw .invalidBatch("the ranks' batches differ in size (this rank has \(total) images, the mean is \(counts[0]))")
            }
        }
    }
}
