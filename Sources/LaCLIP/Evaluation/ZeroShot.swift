import Foundation
import LaTensor

/// A zero-shot classifier: one unit-length text embedding per class, the renormalised mean of the
/// normalised embeddings of that class's prompts (OpenAI's prompt ensembling).
///
/// Build it from class names and templates with any text encoder, then score image features from any
/// image encoder with `logits(imageFeatures:)`.
public struct ZeroShotClassifier: Sendable {
    /// The class names, in label order.
    public let classNames: [String]
    /// The prompt templates, each with a `{}` placeholder.
    public let templates: [String]
    /// The class embeddings, [classes, width]; each row has unit L2 norm.
    public let classEmbeddings: Tensor<Float>

    /// Creates a classifier from precomputed class embeddings.
    /// - Parameters:
    ///   - classNames: The class names, one per row of `classEmbeddings`.
    ///   - templates: The templates the embeddings were built from (kept for reference).
    ///   - classEmbeddings: [classes, width] embeddings; they are L2-normalised here.
    public init(classNames: [String], templates: [String], classEmbeddings: Tensor<Float>) throws(EvaluationError) {
        guard !classNames.isEmpty else { throw .emptyClassList }
        guard classEmbeddings.rank == 2, classEmbeddings.shape[0] == classNames.count else {
            throw .shapeMismatch(
                "class embeddings of shape \(classEmbeddings.shape) for \(classNames.count) class names")
        }
        self.classNames = classNames
        self.templates = templates
        self.classEmbeddings = classEmbeddings.l2Normalized(axis: -1)
    }

    /// The prompt for one class and template: every `{}` in `template` replaced by `className`.
    /// - Parameters:
    ///   - template: A template with at least one `{}`.
    ///   - className: The class name.
    public static func prompt(template: String, className: String) -> String {
        template.replacingOccurrences(of: "{}", with: className)
    }

    /// Checks that there is at least one class and one template and that every template has a `{}`.
    /// - Parameters:
    ///   - classNames: The class names.
    ///   - templates: The templates.
    public static func validate(classNames: [String], templates: [String]) throws(EvaluationError) {
        guard !classNames.isEmpty else { throw .emptyClassList }
        guard !templates.isEmpty else { throw .emptyTemplateList }
        for (index, template) in templates.enumerated() where !template.contains("{}") {
            throw .templateWithoutPlaceholder(index: index, template: template)
        }
    }

    /// Builds the classifier by encoding every class × template prompt.
    ///
    /// Prompts are ordered class-major (all templates of class 0, then class 1, ...) and handed to
    /// `encodeTexts` in batches of at most `batchSize`. Each prompt embedding is L2-normalised, the
    /// embeddings of one class are averaged over its templates, and the mean is L2-normalised again.
    /// - Parameters:
    ///   - classNames: The class names, in label order (at least one).
    ///   - templates: The templates, each containing `{}` (at least one).
    ///   - batchSize: The most prompts per `encodeTexts` call.
    ///   - encodeTexts: Tokenizes and encodes a batch of strings into a [batch, width] tensor.
    /// - Throws: `EvaluationError` for bad classes, templates or encoder output shapes, or whatever
    ///   `encodeTexts` throws.
    public static func build(
        classNames: [String], templates: [String], batchSize: Int = 256,
        encodeTexts: ([String]) throws -> Tensor<Float>
    ) throws -> ZeroShotClassifier {
        try validate(classNames: classNames, templates: templates)
        guard batchSize >= 1 else { throw EvaluationError.invalidArgument("batchSize must be >= 1, got \(batchSize)") }
        let prompts = classNames.flatMap { name in templates.map { prompt(template: $0, className: name) } }
        let templateCount = templates.count
        var sums: [Double] = []
        var width = -1
        var start = 0
        while start < prompts.count {
            let end = Swift.min(start + batchSize, prompts.count)
            let embedded = try encodeTexts(Array(prompts[start..<end]))
            guard embedded.rank == 2, embedded.shape[0] == end - start, embedded.shape[1] > 0,
                width < 0 || embedded.shape[1] == width
            else { throw EvaluationError.encoderOutputShape(expectedRows: end - start, shape: embedded.shape) }
            if width < 0 {
                width = embedded.shape[1]
                sums = [Double](repeating: 0, count: classNames.count * width)
            }
            let normalized = embedded.l2Normalized(axis: -1)
            normalized.withContiguousBuffer { rows in
                sums.withUnsafeMutableBufferPointer { total in
                    for row in 0..<(end - start) {
                        let target = ((start + row) / templateCount) * width
                        for j in 0..<width { total[target + j] += Double(rows[row * width + j]) }
                    }
                }
            }
            start = end
        }
        // Mean over templates, then renormalise (the mean's scale does not matter after normalising).
        let mean = Tensor<Double>(sums, shape: [classNames.count, width]) * (1 / Double(templateCount))
        let embeddings = mean.l2Normalized(axis: -1).map { Float($0) }
        return try ZeroShotClassifier(classNames: classNames, templates: templates, classEmbeddings: embeddings)
    }

    /// Class scores for a batch of images: `scale` × the cosine similarity between each L2-normalised image
    /// feature and each class embedding.
    /// - Parameters:
    ///   - imageFeatures: [images, width] image embeddings (any norm).
    ///   - scale: The factor applied to the cosine similarities (CLIP uses 100; it does not change rankings).
    /// - Returns: [images, classes] logits.
    public func logits(imageFeatures: Tensor<Float>, scale: Float = 100) throws(EvaluationError) -> Tensor<Float> {
        guard imageFeatures.rank == 2, imageFeatures.shape[1] == classEmbeddings.shape[1] else {
            throw .shapeMismatch(
                "image features of shape \(imageFeatures.shape) for class embeddings of width \(classEmbeddings.shape[1])")
        }
        let similarities = imageFeatures.l2Normalized(axis: -1).matmul(classEmbeddings.transposed())
        return scale == 1 ? similarities : similarities * scale
    }
}

/// Zero-shot accuracy and template loading.
public enum ZeroShot {
    /// OpenAI CLIP's 80 ImageNet prompt templates, bundled with the package (a resource of LaCLIP, MIT licence in
    /// `LICENSE-CLIP-templates.txt` beside it).
    /// - Throws: `EvaluationError` when the resource is missing (a broken installation) or unreadable.
    public static func imageNetTemplates() throws(EvaluationError) -> [String] {
        guard let url = Bundle.module.url(forResource: "imagenet_templates", withExtension: "json") else {
            throw .unreadableTemplateFile(path: "imagenet_templates.json", reason: "the templates bundled with LaCLIP are missing")
        }
        return try loadTemplates(path: url.path)
    }

    /// Top-1 and top-5 accuracy of a zero-shot classifier on image features.
    ///
    /// Images are scored in chunks of `chunkSize` so the logit matrix stays small. The top-5 cut-off is
    /// clamped to the number of classes (with 3 classes, top-5 accuracy is 1).
    /// - Parameters:
    ///   - imageFeatures: [images, width] image embeddings (normalised here).
    ///   - labels: The true class of each image.
    ///   - classifier: The zero-shot classifier.
    ///   - chunkSize: Images scored per matrix product.
    /// - Returns: Fractions in [0, 1].
    public static func evaluate(
        imageFeatures: Tensor<Float>, labels: [Int], classifier: ZeroShotClassifier, chunkSize: Int = 4096
    ) throws(EvaluationError) -> (top1: Double, top5: Double) {
        guard imageFeatures.rank == 2, imageFeatures.shape[0] == labels.count else {
            throw .shapeMismatch("image features of shape \(imageFeatures.shape) for \(labels.count) labels")
        }
        guard !labels.isEmpty else { throw .invalidArgument("zero-shot evaluation of an empty image set") }
        guard chunkSize >= 1 else { throw .invalidArgument("chunkSize must be >= 1, got \(chunkSize)") }
        var correct = [0, 0]
        var start = 0
        while start < labels.count {
            let end = Swift.min(start + chunkSize, labels.count)
            let scores = try classifier.logits(imageFeatures: imageFeatures.slice(axis: 0, start..<end), scale: 1)
            let counts = try Accuracy.topKCorrectCounts(scores: scores, labels: labels[start..<end], ks: [1, 5])
            correct[0] += counts[0]
            correct[1] += counts[1]
            start = end
        }
        return (Double(correct[0]) / Double(labels.count), Double(correct[1]) / Double(labels.count))
    }

    /// Reads zero-shot templates from a JSON file holding a list of strings, each with a `{}` placeholder
    /// (such as the 80 OpenAI ImageNet templates).
    /// - Parameter path: The JSON file (a list of strings with `{}`, as `imageNetTemplates()` reads).
    /// - Throws: `EvaluationError.unreadableTemplateFile` when the file cannot be read,
    ///   `.malformedTemplateFile` when it is not a non-empty JSON list of strings, and
    ///   `.templateWithoutPlaceholder` when a template has no `{}`.
    public static func loadTemplates(path: String) throws(EvaluationError) -> [String] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableTemplateFile(path: path, reason: "\(error.localizedDescription)")
        }
        let templates: [String]
        do {
            templates = try JSONDecoder().decode([String].self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw .malformedTemplateFile(path: path, reason: context.debugDescription)
        } catch let DecodingError.typeMismatch(_, context) {
            throw .malformedTemplateFile(path: path, reason: context.debugDescription)
        } catch {
            throw .malformedTemplateFile(path: path, reason: "\(error)")
        }
        guard !templates.isEmpty else { throw .malformedTemplateFile(path: path, reason: "the list is empty") }
        for (index, template) in templates.enumerated() where !template.contains("{}") {
            throw .templateWithoutPlaceholder(index: index, template: template)
        }
        return templates
    }
}
