/// What one training step measured; one record of `metrics.jsonl`.
public struct StepMetrics: Codable, Sendable, Equatable {
    /// The number of optimizer steps completed, this one included (1 for the first step).
    public var step: Int
    /// The epoch the step's batch came from.
    public var epoch: Int
    /// The contrastive loss of the (whole, accumulated) batch.
    public var loss: Double
    /// The fraction of images whose most similar text in the batch is their own.
    public var imageToTextAccuracy: Double
    /// The fraction of texts whose most similar image in the batch is their own.
    public var textToImageAccuracy: Double
    /// The learning rate used.
    public var learningRate: Double
    /// The temperature used, `logit_scale.exp()` (before the step's update).
    public var logitScale: Double
    /// The global gradient 2-norm before clipping.
    public var gradientNorm: Double
    /// Images per second of this step (forward, backward and update).
    public var imagesPerSecond: Double
    /// The step's wall-clock time in seconds.
    public var seconds: Double
    /// Whether the step was skipped for a non-finite loss (`NonFiniteLossPolicy.skip`).
    public var skipped: Bool

    /// Creates a record.
    /// - Parameters:
    ///   - step: Completed steps.
    ///   - epoch: The batch's epoch.
    ///   - loss: The loss.
    ///   - imageToTextAccuracy: Image-to-text in-batch accuracy.
    ///   - textToImageAccuracy: Text-to-image in-batch accuracy.
    ///   - learningRate: The learning rate.
    ///   - logitScale: The exponentiated logit scale.
    ///   - gradientNorm: The gradient norm before clipping.
    ///   - imagesPerSecond: Throughput.
    ///   - seconds: Step time.
    ///   - skipped: Whether the step was skipped.
    public init(step: Int, epoch: Int, loss: Double, imageToTextAccuracy: Double, textToImageAccuracy: Double,
                learningRate: Double, logitScale: Double, gradientNorm: Double, imagesPerSecond: Double, seconds: Double,
                skipped: Bool = false) {
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.imageToTextAccuracy = imageToTextAccuracy
        self.textToImageAccuracy = textToImageAccuracy
        self.learningRate = learningRate
        self.logitScale = logitScale
        self.gradientNorm = gradientNorm
        self.imagesPerSecond = imagesPerSecond
        self.seconds = seconds
        self.skipped = skipped
    }
}
