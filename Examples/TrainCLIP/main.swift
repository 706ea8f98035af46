// Trains a small CLIP on Fashion-MNIST with captions, as CLIP, LaCLIP (a random rewrite per sample per
// step), LaCLIP-MT (all rewrites in every step) or with EDA text augmentation, then evaluates zero-shot.
//
//   swift run -c release TrainCLIP                      # CLIP and LaCLIP (or EDA without rewrites), defaults
//   swift run -c release TrainCLIP --modes clip,laclip-mt --steps 600
//   swift run -c release TrainCLIP --modes clip,laclip,laclip-mt --seeds 0,1,2   # mean ± std over seeds
import ArgumentParser
import Foundation
import LaCLIP

enum Mode: String, CaseIterable { case clip, laclip, laclipMT = "laclip-mt", eda }

struct TrainCLIP: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train CLIP / LaCLIP / LaCLIP-MT on the built-in data and evaluate zero-shot.")
    @Option(help: "Comma-separated modes: clip, laclip, laclip-mt, eda.") var modes = "clip,laclip"
    @Option(help: "Training steps per mode.") var steps = 200
    @Option(name: .customLong("batch-size")) var batchSize = 128
    @Option(name: .customLong("learning-rate")) var learningRate: Float = 1e-3
    @Option(help: "Warmup steps.") var warmup = 30
    @Option var seed: UInt64 = 0
    @Option(help: "Comma-separated seeds (instead of --seed): every mode is trained once per seed and the table shows mean ± standard deviation.")
    var seeds: String?
    @Option(help: "Folder with captions.txt and rewrite_*.txt.") var captions = "Data/fashion-mnist"
    @Option(name: .customLong("max-rewrites"), help: "Use at most this many rewrite files (rewrite_1.txt ...); default: all.")
    var maxRewrites: Int?
    @Option(help: "Zero-shot templates (JSON list).") var templates = "Data/imagenet_templates.json"
    @Option(name: .customLong("test-images"), help: "Test images used for evaluation (at most 10000).") var testImages = 10000

    func validate() throws {
        for mode in modes.split(separator: ",") where Mode(rawValue: String(mode)) == nil {
            throw ValidationError("unknown mode '\(mode)'; use clip, laclip, laclip-mt or eda")
        }
        guard steps > 0, batchSize > 1, warmup >= 0 else { throw ValidationError("need steps > 0, batch size > 1, warmup >= 0") }
        if let maxRewrites, maxRewrites < 0 { throw ValidationError("--max-rewrites must be >= 0") }
        _ = try seedList()
    }

    /// The seeds to train with: `--seeds` when given, else `--seed`.
    func seedList() throws -> [UInt64] {
        guard let seeds else { return [seed] }
        let list = seeds.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--seeds: expected comma-separated non-negative integers, got '\(seeds)'")
        }
        return list.map { $0! }
    }

    func run() throws {
        let train = try CaptionedFashionMNIST(split: .train, captionDirectory: captions, maximumRewrites: maxRewrites ?? .max)
        let test = try FashionMNIST(split: .test)
        let tokenizer = try BPETokenizer.loadDefault()
        let promptTemplates = try ZeroShot.loadTemplates(path: templates)
        var requested = modes.split(separator: ",").compactMap { Mode(rawValue: String($0)) }
        if train.rewriteCount == 0 && requested.contains(where: { $0 == .laclip || $0 == .laclipMT }) {
            report("no rewrite_*.txt in \(captions): running EDA instead of LaCLIP / LaCLIP-MT")
            requested = requested.map { $0 == .clip ? $0 : .eda }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        report("training data: \(train.count) images, \(train.captions.count) captions, \(train.rewriteCount) rewrites each")
        let seedValues = try seedList()
        var results: [(mode: Mode, top1: [Double], top5: [Double], single: [Double])] = []
        for mode in requested {
            var row = (mode: mode, top1: [Double](), top5: [Double](), single: [Double]())
            for seed in seedValues {
                let model = try trainModel(mode: mode, seed: seed, data: train, tokenizer: tokenizer)
                let (all, single, top5) = try evaluate(model: model, test: test, tokenizer: tokenizer, templates: promptTemplates)
                row.top1.append(all)
                row.top5.append(top5)
                row.single.append(single)
            }
            results.append(row)
        }
        let seedText = seedValues.count == 1 ? "seed \(seedValues[0])" : "seeds \(seedValues.map(String.init).joined(separator: ",")), mean ± std"
        report("\nzero-shot on \(Swift.min(testImages, test.count)) Fashion-MNIST test images (\(steps) steps, batch \(batchSize), \(seedText))")
        report("mode        top-1 (80 templates)  top-5             top-1 (1 template)")
        for row in results {
            report(row.mode.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                + Self.percent(row.top1).padding(toLength: 22, withPad: " ", startingAt: 0)
                + Self.percent(row.top5).padding(toLength: 18, withPad: " ", startingAt: 0) + Self.percent(row.single))
        }
    }

    /// "73.10%" for one value, "73.10 ± 0.42%" (sample standard deviation) for several.
    static func percent(_ values: [Double]) -> String {
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return String(format: "%.2f%%", 100 * mean) }
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
        return String(format: "%.2f ± %.2f%%", 100 * mean, 100 * variance.squareRoot())
    }

    /// The model: a small ViT (28 px images in 7 px patches) and text transformer, 128 wide, 3 layers.
    static let configuration28 = CLIPConfiguration(
        vision: .init(imageSize: 28, patchSize: 7, width: 128, layers: 3, heads: 4),
        text: .init(contextLength: 24, width: 128, heads: 4, layers: 3), embedDimension: 64)

    func trainModel(mode: Mode, seed: UInt64, data: CaptionedFashionMNIST, tokenizer: BPETokenizer) throws -> CLIP<Float> {
        let model = CLIP<Float>(configuration: Self.configuration28, seed: seed)
        let optimizer = Adam.adamW(
            groups: ParameterGroup.clipStyle(model.namedParameters(), weightDecay: 0.1), learningRate: learningRate,
            beta1: 0.9, beta2: 0.98, epsilon: 1e-6)
        let schedule = LearningRateSchedule.warmupCosine(base: Double(learningRate), warmup: warmup, total: steps)
        let sampler = try LaCLIPTextSampler(rewriteCount: data.rewriteCount, seed: seed)
        let multiText = try MultiTextSampler(rewriteCount: data.rewriteCount)
        let eda = mode == .eda ? try EDA(wordNet: try WordNet.shared()) : nil
        let context = Self.configuration28.text.contextLength
        var generator = RandomGenerator(seed: seed &+ 1)
        var order: [Int] = []
        var position = 0, epoch = -1
        report("\n== \(mode.rawValue), seed \(seed): \(model.parameterCount) parameters")
        let start = Date()
        for step in 0..<steps {
            // 1. A batch of images (shuffled every epoch, randomly shifted) and their captions.
            if position + batchSize > order.count {
                epoch += 1
                order = Tensor<Int>.randomPermutation(data.count, generator: &generator).scalars
                position = 0
            }
            let indices = Array(order[position..<(position + batchSize)])
            position += batchSize
            let images = data.imageBatch(indices, shift: true, generator: &generator)
            let originals = indices.map { data.captions[data.captionIndex(of: $0)] }
            let rewrites = indices.map { data.rewrites[data.captionIndex(of: $0)] }

            // 2. Forward: encode images and texts, then the contrastive loss of the mode.
            optimizer.learningRate = Float(schedule.learningRate(at: step))
            optimizer.zeroGrad()
            let imageFeatures = model.encodeImage(images, normalize: true)
            let scale = model.logitScale.exp()
            let output: ContrastiveLossOutput<Float>
            switch mode {
            case .clip:
                let texts = model.encodeText(tokenizer.tokenize(originals, contextLength: context), normalize: true)
                output = clipLoss(imageFeatures: imageFeatures, textFeatures: texts, logitScale: scale)
            case .laclip:
                let chosen = try zip(indices, zip(originals, rewrites)).map { index, pair in
                    try sampler.sample(original: pair.0, rewrites: pair.1, index: index, epoch: epoch)
                }
                let texts = model.encodeText(tokenizer.tokenize(chosen, contextLength: context), normalize: true)
                output = clipLoss(imageFeatures: imageFeatures, textFeatures: texts, logitScale: scale)
            case .laclipMT:
                let versions = try multiText.batch(originals: originals, rewrites: rewrites, firstIndex: position)
                let texts = model.encodeText(tokenizer.tokenize(versions.flatMap { $0 }, contextLength: context), normalize: true)
                output = multiTextCLIPLoss(imageFeatures: imageFeatures, textFeatures: texts, versions: versions.count, logitScale: scale)
            case .eda:
                let augmented = zip(indices, originals).map { index, text in eda!.augment(text, seed: seed, epoch: epoch, index: index) }
                let texts = model.encodeText(tokenizer.tokenize(augmented, contextLength: context), normalize: true)
                output = clipLoss(imageFeatures: imageFeatures, textFeatures: texts, logitScale: scale)
            }

            // 3. Backward, AdamW step, clamp the temperature.
            output.loss.backward()
            optimizer.step()
            model.clampLogitScale()

            if step % 25 == 0 || step == steps - 1 {
                let elapsed = Date().timeIntervalSince(start)
                report(String(format: "step %4d  loss %.4f  acc i->t %.2f t->i %.2f  lr %.2e  scale %.1f  %.0f ms/step",
                             step, output.loss.value.item, output.imageToTextAccuracy, output.textToImageAccuracy,
                             Double(optimizer.learningRate), Double(scale.value.item), 1000 * elapsed / Double(step + 1)))
            }
        }
        if mode == .laclip { report("LaCLIP fallbacks to the original caption: \(sampler.fallbackCount)") }
        return model
    }

    /// Zero-shot top-1/top-5 with all templates, and top-1 with the single template "a photo of a {}.".
    func evaluate(model: CLIP<Float>, test: FashionMNIST, tokenizer: BPETokenizer, templates: [String]) throws -> (Double, Double, Double) {
        model.setTraining(false)
        defer { model.setTraining(true) }
        return try withNoGrad {
            let count = Swift.min(testImages, test.count)
            let wrapper = try CaptionedFashionMNIST(split: .test, captionDirectory: captions)
            var generator = RandomGenerator(seed: 0)
            var features: [Tensor<Float>] = []
            for start in stride(from: 0, to: count, by: 500) {
                let images = wrapper.imageBatch(Array(start..<Swift.min(start + 500, count)), shift: false, generator: &generator)
                features.append(model.encodeImage(images, normalize: true).value)
            }
            let imageFeatures = Tensor<Float>.concatenate(features)
            let labels = test.labelArray(range: 0..<count)
            let encode: ([String]) throws -> Tensor<Float> = { texts in
                model.encodeText(tokenizer.tokenize(texts, contextLength: Self.configuration28.text.contextLength), normalize: true).value
            }
            let all = try ZeroShotClassifier.build(classNames: CaptionedFashionMNIST.promptClassNames, templates: templates, encodeTexts: encode)
            let one = try ZeroShotClassifier.build(classNames: CaptionedFashionMNIST.promptClassNames, templates: ["a photo of a {}."], encodeTexts: encode)
            let (top1, top5) = try ZeroShot.evaluate(imageFeatures: imageFeatures, labels: labels, classifier: all)
            let (single, _) = try ZeroShot.evaluate(imageFeatures: imageFeatures, labels: labels, classifier: one)
            return (top1, single, top5)
        }
    }
}

TrainCLIP.main()

/// Writes one line to standard output at once (unbuffered, so progress shows when output goes to a file).
func report(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
