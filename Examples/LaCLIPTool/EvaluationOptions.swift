import ArgumentParser
import Foundation
import LaCLIP

/// Which zero-shot benchmark a command scores.
struct EvaluationOptions: ParsableArguments {
    @Option(name: .customLong("zero-shot"), help: ArgumentHelp(
        "Zero-shot benchmark: 'fashion-mnist' (its test split), an ImageFolder (ROOT/CLASS/IMAGE) or 'none' "
            + "(default: fashion-mnist when training on the built-in data, else none)."))
    var zeroShot: String?
    @Option(name: .customLong("zero-shot-classes"), help: "A file of class names, one per line, in label order (default: the benchmark's).")
    var zeroShotClasses: String?
    @Option(name: .customLong("zero-shot-templates"), help: "Prompt templates (a JSON list of strings with {}; default: OpenAI's 80 ImageNet templates).")
    var zeroShotTemplates: String?
    @Option(name: .customLong("eval-images"), help: "Score only the first N benchmark images.")
    var evalImages: Int?

    func validate() throws {
        if let evalImages, evalImages < 1 { throw ValidationError("--eval-images must be ≥ 1, got \(evalImages)") }
    }

    /// The benchmark name after defaults, or nil for none.
    func benchmark(trainingOnBuiltIn: Bool) -> String? {
        let name = zeroShot ?? (trainingOnBuiltIn ? "fashion-mnist" : "none")
        return name == "none" ? nil : name
    }

    /// The labelled images and class names of a benchmark.
    static func labeledImages(_ name: String, imageSize: Int) throws -> (set: LabeledImageSet, classNames: [String]) {
        if name == "fashion-mnist" {
            let test = try FashionMNIST(split: .test)
            let captions = FashionMNISTSampleSource.classCaptions(test, templates: ["{}"])
            let source = try FashionMNISTSampleSource(dataset: test, captions: captions, size: imageSize, normalize: fashionNormalize)
            return (try LabeledImageSet(source: source, labels: test.labelArray()), FashionMNISTCaptions.promptClassNames)
        }
        return try LabeledImageSet.imageFolder(directory: name, pipeline: .eval(size: imageSize), size: imageSize)
    }

    /// The zero-shot task, or nil for none.
    func task(trainingOnBuiltIn: Bool, imageSize: Int, tokenizer: BPETokenizer) throws -> ZeroShotTask? {
        guard let name = benchmark(trainingOnBuiltIn: trainingOnBuiltIn) else { return nil }
        var (set, classNames) = try Self.labeledImages(name, imageSize: imageSize)
        if let evalImages { set = try set.prefix(evalImages) }
        if let zeroShotClasses { classNames = try readLines(zeroShotClasses) }
        let templates = try zeroShotTemplates.map { try ZeroShot.loadTemplates(path: $0) } ?? ZeroShot.imageNetTemplates()
        return try ZeroShotTask(images: set, classNames: classNames, templates: templates, singleTemplate: "a photo of a {}.", tokenizer: tokenizer)
    }
}
