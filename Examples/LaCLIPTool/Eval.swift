import ArgumentParser
import Foundation
import LaCLIP

/// The model a command reads: one of our checkpoints, or an open_clip state dict with its model config.
struct TrainedModelOptions: ParsableArguments {
    @Option(help: "A checkpoint written by 'laclip train' (OUTPUT/checkpoints/checkpoint-*.safetensors).")
    var checkpoint: String?
    @Option(name: .customLong("open-clip-weights"), help: "An open_clip state dict (safetensors) instead of a checkpoint.")
    var openCLIPWeights: String?
    @Option(name: .customLong("model-config"), help: "The open_clip model-config JSON of --open-clip-weights.")
    var modelConfig: String?

    func validate() throws {
        guard (checkpoint == nil) != (openCLIPWeights == nil) else { throw ValidationError("give --checkpoint or --open-clip-weights (with --model-config)") }
        if openCLIPWeights != nil && modelConfig == nil { throw ValidationError("--open-clip-weights needs --model-config") }
    }

    /// Builds the model and loads its weights.
    func load() throws -> CLIP<Float> {
        if let checkpoint {
            let url = URL(fileURLWithPath: checkpoint)
            let model = CLIP<Float>(configuration: try TrainingCheckpoint.modelConfiguration(at: url))
            try TrainingCheckpoint.loadModel(into: model, from: url)
            return model
        }
        let configuration = try OpenCLIPInterop.configuration(contentsOf: URL(fileURLWithPath: modelConfig!))
        let model = CLIP<Float>(configuration: configuration)
        try OpenCLIPInterop.loadStateDict(from: URL(fileURLWithPath: openCLIPWeights!), into: model)
        return model
    }
}

/// `laclip eval`: zero-shot, retrieval, linear probe and few-shot scores of a trained model.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint or an open_clip model: zero-shot top-1/top-5, retrieval R@1/5/10, linear probe, few-shot.")

    @OptionGroup var trained: TrainedModelOptions
    @OptionGroup var evaluation: EvaluationOptions
    @Option(name: .customLong("retrieval-data"), help: "Image-caption data for retrieval (any 'laclip train --data' format).")
    var retrievalData: String?
    @Option(name: .customLong("retrieval-format"), help: "The format of --retrieval-data.") var retrievalFormat: DataFormat = .auto
    @Option(name: .customLong("image-root"), help: "Folder relative image paths of --retrieval-data are resolved against.")
    var imageRoot: String?
    @Flag(name: .customLong("linear-probe"), help: "Fashion-MNIST linear probe (L-BFGS logistic regression, CLIP's protocol).")
    var linearProbe = false
    @Option(name: .customLong("probe-train-images"), help: "Training images of the linear probe.") var probeTrainImages = 10000
    @Flag(name: .customLong("few-shot"), help: "5-way 5-shot episodes on the zero-shot benchmark's images.") var fewShot = false
    @Option(help: "Compute threads (default: all cores).") var threads: Int?

    func validate() throws {
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be in 1...1024, got \(threads)") }
        guard probeTrainImages >= 20 else { throw ValidationError("--probe-train-images must be ≥ 20, got \(probeTrainImages)") }
    }

    func run() throws {
        if let threads { Threading.setThreadCount(threads) }
        let model = try trained.load()
        model.setTraining(false)
        let tokenizer = try BPETokenizer.loadDefault()
        let size = model.configuration.vision.imageSize
        let benchmark = evaluation.benchmark(trainingOnBuiltIn: retrievalData == nil)
        var printed = false
        if let benchmark, let task = try evaluation.task(trainingOnBuiltIn: true, imageSize: size, tokenizer: tokenizer) {
            let features = try task.images.imageFeatures(model: model)
            let scores = try task.scores(model: model, imageFeatures: features)
            print(String(format: "zero-shot (%@, %d images): top-1 %.2f%%  top-5 %.2f%%  top-1 \"a photo of a {}.\" %.2f%%", benchmark,
                         task.images.labels.count, 100 * scores["zeroshot_top1"]!, 100 * scores["zeroshot_top5"]!,
                         100 * scores["zeroshot_top1_single"]!))
            if fewShot {
                let result = try FewShot.evaluate(features: features, labels: task.images.labels)
                print(String(format: "few-shot 5-way 5-shot: %.2f%% ± %.2f", 100 * result.meanAccuracy, 100 * result.confidenceInterval95))
            }
            if linearProbe {
                guard benchmark == "fashion-mnist" else { throw ValidationError("--linear-probe is available for the fashion-mnist benchmark") }
                let train = try FashionMNIST(split: .train)
                let source = try FashionMNISTSampleSource(
                    dataset: train, captions: FashionMNISTSampleSource.classCaptions(train, templates: ["{}"]), size: size, normalize: fashionNormalize)
                let trainSet = try LabeledImageSet(source: source, labels: train.labelArray()).prefix(probeTrainImages)
                let result = try LinearProbe.evaluate(
                    trainFeatures: try trainSet.imageFeatures(model: model), trainLabels: trainSet.labels, testFeatures: features,
                    testLabels: task.images.labels)
                print(String(format: "linear probe (%d training images): %.2f%%", trainSet.labels.count, 100 * result.testTop1))
            }
            printed = true
        }
        if let retrievalData {
            var options = try DataOptions.parse([
                "--data", retrievalData, "--data-format", retrievalFormat.rawValue, "--max-rewrites", "0",
            ] + (imageRoot.map { ["--image-root", $0] } ?? []))
            options.maxRewrites = nil
            let (source, _) = try options.makeSource(imageSize: size, train: false, flip: false, shift: 0)
            let images = try LabeledImageSet(source: source, labels: Array(repeating: 0, count: source.count))
            let imageFeatures = try images.imageFeatures(model: model)
            var texts: [String] = []
            var owners: [Int] = []
            for i in 0..<source.count {
                for caption in try source.captions(at: i) {
                    texts.append(caption)
                    owners.append(i)
                }
            }
            let context = model.configuration.text.contextLength
            var parts: [Tensor<Float>] = []
            for start in stride(from: 0, to: texts.count, by: 256) {
                let batch = Array(texts[start..<min(start + 256, texts.count)])
                parts.append(withNoGrad { model.encodeText(tokenizer.tokenize(batch, contextLength: context), normalize: true).value })
            }
            let result = try Retrieval.evaluate(imageFeatures: imageFeatures, textFeatures: Tensor.concatenate(parts), textToImage: owners)
            func recalls(_ metrics: RetrievalMetrics) -> String {
                metrics.recall.keys.sorted().map { String(format: "R@%d %.2f%%", $0, 100 * metrics.recall[$0]!) }.joined(separator: "  ")
            }
            print("retrieval (\(source.count) images, \(texts.count) captions): image→text \(recalls(result.imageToText)); "
                + "text→image \(recalls(result.textToImage))")
            printed = true
        }
        if !printed { throw ValidationError("nothing to evaluate: give --zero-shot, --retrieval-data or both") }
    }
}
