import Foundation
import LaData
import LaNN
import LaTensor

/// Images with class labels for evaluation (zero-shot, linear probe, few-shot), read from any
/// `LoaderSampleSource` without augmentation randomness (every image is written with the same fixed
/// generator, so an evaluation source should be deterministic: e.g. `ImagePipeline.eval(size:)`).
public struct LabeledImageSet: Sendable {
    /// The images.
    public let source: any LoaderSampleSource
    /// The class of every image.
    public let labels: [Int]

    /// Creates the set.
    /// - Parameters:
    ///   - source: The images.
    ///   - labels: One class index (≥ 0) per image.
    /// - Throws: `DataError(.mismatch)` when the counts differ, `.unsupported` for a negative label or an empty set.
    public init(source: any LoaderSampleSource, labels: [Int]) throws {
        guard labels.count == source.count else {
            throw DataError(.mismatch, file: "labelled images", field: "labels", "\(labels.count) labels for \(source.count) images")
        }
        guard !labels.isEmpty else { throw DataError(.unsupported, file: "labelled images", "the evaluation set is empty") }
        if let bad = labels.firstIndex(where: { $0 < 0 }) {
            throw DataError(.unsupported, file: "labelled images", line: bad + 1, field: "label", "negative label \(labels[bad])")
        }
        self.source = source
        self.labels = labels
    }

    /// The first `count` images (all when `count` is larger).
    /// - Parameter count: The number of images to keep (≥ 1).
    public func prefix(_ count: Int) throws -> LabeledImageSet {
        try LabeledImageSet(source: SubsetSampleSource.prefix(of: source, count: count),
                            labels: Array(labels.prefix(Swift.max(1, count))))
    }

    /// The L2-normalised image embeddings `[N, E]` of every image, in evaluation mode without gradients.
    /// - Parameters:
    ///   - model: The model.
    ///   - batchSize: Images per forward pass.
    /// - Throws: The source's errors for unreadable images.
    public func imageFeatures(model: CLIP<Float>, batchSize: Int = 256) throws -> Tensor<Float> {
        let shape = source.imageShape
        let size = shape.reduce(1, *)
        let wasTraining = model.isTraining
        model.setTraining(false)
        defer { model.setTraining(wasTraining) }
        var parts: [Tensor<Float>] = []
        var start = 0
        while start < source.count {
            let end = Swift.min(start + Swift.max(batchSize, 1), source.count)
            let images = Tensor<Float>(uninitializedShape: [end - start] + shape)
            for i in start..<end {
                var generator = RandomGenerator(seed: 0)
                try source.writeImage(at: i, generator: &generator, into: images.storage.pointer + (i - start) * size)
            }
            parts.append(withNoGrad { model.encodeImage(images, normalize: true).value })
            start = end
        }
        return Tensor<Float>.concatenate(parts, axis: 0)
    }
}

/// Zero-shot classification as a training-time evaluation: class prompts from templates, encoded by the model's
/// text tower, against the image embeddings of a labelled set.
public struct ZeroShotTask: Sendable {
    /// The labelled images.
    public let images: LabeledImageSet
    /// The class names, indexed by label.
    public let classNames: [String]
    /// The prompt templates (each with `{}`), averaged per class.
    public let templates: [String]
    /// An extra single template scored on its own (e.g. `"a photo of a {}."`), or nil.
    public let singleTemplate: String?
    /// The tokenizer.
    public let tokenizer: BPETokenizer

    /// Creates the task.
    /// - Parameters:
    ///   - images: The labelled images.
    ///   - classNames: The class names, indexed by label.
    ///   - templates: The templates.
    ///   - singleTemplate: An extra template scored alone, or nil.
    ///   - tokenizer: The tokenizer.
    /// - Throws: `EvaluationError` for empty lists, templates without `{}`, or labels outside the class list.
    public init(images: LabeledImageSet, classNames: [String], templates: [String], singleTemplate: String? = nil, tokenizer: BPETokenizer) throws {
        try ZeroShotClassifier.validate(classNames: classNames, templates: templates)
        if let singleTemplate { try ZeroShotClassifier.validate(classNames: classNames, templates: [singleTemplate]) }
        if let bad = images.labels.first(where: { $0 >= classNames.count }) {
            throw EvaluationError.labelOutOfRange(label: bad, classCount: classNames.count)
        }
        self.images = images
        self.classNames = classNames
        self.templates = templates
        self.singleTemplate = singleTemplate
        self.tokenizer = tokenizer
    }

    /// `zeroshot_top1`, `zeroshot_top5` (and `zeroshot_top1_single` with a single template).
    /// - Parameters:
    ///   - model: The model.
    ///   - imageFeatures: Precomputed image embeddings of `images`, or nil to compute them.
    /// - Throws: `EvaluationError` for a model whose scores are not finite (a diverged model), the source's errors.
    public func scores(model: CLIP<Float>, imageFeatures: Tensor<Float>? = nil) throws -> [String: Double] {
        let features = try imageFeatures ?? images.imageFeatures(model: model)
        let context = model.configuration.text.contextLength
        let encode: ([String]) throws -> Tensor<Float> = { texts in
            withNoGrad { model.encodeText(tokenizer.tokenize(texts, contextLength: context), normalize: true).value }
        }
        guard features.allFinite else {
            throw EvaluationError.invalidArgument("the model's image embeddings are not finite (the model diverged)")
        }
        let classifier = try ZeroShotClassifier.build(classNames: classNames, templates: templates, encodeTexts: encode)
        guard classifier.classEmbeddings.allFinite else {
            throw EvaluationError.invalidArgument("the model's text embeddings are not finite (the model diverged)")
        }
        let (top1, top5) = try ZeroShot.evaluate(imageFeatures: features, labels: images.labels, classifier: classifier)
        var result = ["zeroshot_top1": top1, "zeroshot_top5": top5]
        if let singleTemplate {
            let single = try ZeroShotClassifier.build(classNames: classNames, templates: [singleTemplate], encodeTexts: encode)
            result["zeroshot_top1_single"] = try ZeroShot.evaluate(imageFeatures: features, labels: images.labels, classifier: single).top1
        }
        return result
    }
}

extension Tensor where Scalar == Float {
    /// Whether every element is finite (no NaN, no ±inf).
    var allFinite: Bool {
        withContiguousBuffer { values in values.allSatisfy(\.isFinite) }
    }
}

extension LabeledImageSet {
    /// A labelled set in torchvision's `ImageFolder` layout: one sub-folder per class (sorted by name, label =
    /// position), image files (`.jpg`, `.jpeg`, `.png`) inside, decoded through `pipeline`.
    /// - Parameters:
    ///   - directory: The root folder.
    ///   - pipeline: The evaluation transforms (e.g. `.eval(size: 224)`), producing `size` × `size`.
    ///   - size: The output side length.
    /// - Returns: The set and the class names (the folder names, `_` read as a space).
    /// - Throws: `DataError(.unreadable)` for a missing folder, `.malformed` for a folder without classes or images.
    public static func imageFolder(directory: String, pipeline: ImagePipeline, size: Int) throws -> (set: LabeledImageSet, classNames: [String]) {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        guard manager.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw DataError(.unreadable, file: directory, "not a folder")
        }
        let classes = try manager.contentsOfDirectory(atPath: directory).filter { name in
            var sub: ObjCBool = false
            return !name.hasPrefix(".") && manager.fileExists(atPath: directory + "/" + name, isDirectory: &sub) && sub.boolValue
        }.sorted()
        guard !classes.isEmpty else { throw DataError(.malformed, file: directory, "no class sub-folders (ImageFolder layout: ROOT/CLASS/IMAGE)") }
        var samples: [ImageTextSample] = []
        var labels: [Int] = []
        for (label, name) in classes.enumerated() {
            let folder = directory + "/" + name
            let files = try manager.contentsOfDirectory(atPath: folder).filter {
                let lower = $0.lowercased()
                return lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") || lower.hasSuffix(".png")
            }.sorted()
            for file in files {
                samples.append(ImageTextSample(image: ImageReference(path: folder + "/" + file), captions: [name], key: name + "/" + file))
                labels.append(label)
            }
        }
        guard !samples.isEmpty else { throw DataError(.malformed, file: directory, "no .jpg, .jpeg or .png images in the class folders") }
        let source = DatasetSampleSource(dataset: SampleArrayDataset(samples: samples, name: directory), pipeline: pipeline, size: size)
        return (try LabeledImageSet(source: source, labels: labels), classes.map { $0.replacingOccurrences(of: "_", with: " ") })
    }
}
