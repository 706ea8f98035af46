// The main job: trains a small CLIP on the built-in data (Fashion-MNIST images with alt-text-style captions and
// their LLM rewrites, bundled with LaData) as CLIP, LaCLIP (a random rewrite per sample per step), LaCLIP-MT (all
// rewrites in every step) or with EDA, then prints a zero-shot table. Each run is `CLIPTrainer` + `ImageTextLoader`
// + `TrainingSession`, the same pieces `laclip train` uses.
//
//   swift run -c release TrainCLIP                                             # CLIP and LaCLIP, seed 0
//   swift run -c release TrainCLIP --modes clip,laclip,laclip-mt --seeds 0,1,2   # mean ± std over seeds
//   swift run -c release TrainCLIP --modes clip,eda --steps 600 --output runs/main
import ArgumentParser
import Foundation
import LaCLIP

enum Mode: String, CaseIterable { case clip, laclip, laclipMT = "laclip-mt", eda, mask }

struct TrainCLIP: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train CLIP / LaCLIP / LaCLIP-MT on the built-in data and evaluate zero-shot.")
    @Option(help: "Comma-separated modes: clip, laclip, laclip-mt, eda, mask.") var modes = "clip,laclip"
    @Option(help: "Training steps per run.") var steps = 200
    @Option(name: .customLong("batch-size")) var batchSize = 128
    @Option(name: .customLong("learning-rate")) var learningRate: Double = 1e-3
    @Option(help: "Warmup steps.") var warmup = 30
    @Option(help: "Comma-separated seeds: every mode is trained once per seed; the table shows mean ± standard deviation.")
    var seeds = "0"
    @Option(help: "Folder with captions.txt and rewrite_*.txt (default: the bundled built-in captions).") var captions: String?
    @Option(name: .customLong("max-rewrites"), help: "Use at most this many rewrite files (rewrite_1.txt ...); default: all.")
    var maxRewrites: Int?
    @Option(help: "Zero-shot templates (JSON list; default: OpenAI's 80 ImageNet templates).") var templates: String?
    @Option(name: .customLong("test-images"), help: "Test images used for evaluation (1 ... 10000).") var testImages = 10000
    @Option(name: .customLong("eval-every"), help: "Steps between zero-shot evaluations (for the curves).") var evalEvery = 50
    @Option(help: "Output folder: one sub-folder per run (metrics.jsonl) and curves.svg of all runs.") var output = "runs/TrainCLIP"

    func validate() throws {
        for mode in modes.split(separator: ",", omittingEmptySubsequences: false) where Mode(rawValue: String(mode)) == nil {
            throw ValidationError("unknown mode '\(mode)'; use \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard steps > 0, (2...16384).contains(batchSize), warmup >= 0, evalEvery >= 0 else {
            throw ValidationError("need --steps > 0, --batch-size in 2...16384, --warmup >= 0, --eval-every >= 0")
        }
        guard learningRate.isFinite, learningRate >= 0 else { throw ValidationError("--learning-rate must be finite and >= 0, got \(learningRate)") }
        guard (1...10000).contains(testImages) else { throw ValidationError("--test-images must be in 1...10000, got \(testImages)") }
        if let maxRewrites, maxRewrites < 0 { throw ValidationError("--max-rewrites must be >= 0") }
        _ = try seedList()
    }

    func seedList() throws -> [UInt64] {
        let list = seeds.split(separator: ",", omittingEmptySubsequences: false).map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--seeds: expected comma-separated non-negative integers, got '\(seeds)'")
        }
        return list.map { $0! }
    }

    func run() throws {
        let model = CLIPConfiguration.mini28
        let normalize = Normalize(mean: [0.2860, 0.2860, 0.2860], std: [0.3530, 0.3530, 0.3530])  // Fashion-MNIST's statistics
        let train = try FashionMNIST(split: .train), test = try FashionMNIST(split: .test)
        let texts = try captions.map { try FashionMNISTCaptions(directory: $0, maximumRewrites: maxRewrites ?? .max) }
            ?? FashionMNISTCaptions.builtIn(maximumRewrites: maxRewrites ?? .max)
        let source = try FashionMNISTSampleSource(
            dataset: train, captions: texts.captionLists(for: train), size: model.vision.imageSize, normalize: normalize, maximumShift: 2)
        let tokenizer = try BPETokenizer.loadDefault()
        let testSource = try FashionMNISTSampleSource(
            dataset: test, captions: FashionMNISTSampleSource.classCaptions(test, templates: ["{}"]), size: model.vision.imageSize, normalize: normalize)
        let zeroShot = try ZeroShotTask(
            images: try LabeledImageSet(source: testSource, labels: test.labelArray()).prefix(testImages),
            classNames: FashionMNISTCaptions.promptClassNames,
            templates: try templates.map { try ZeroShot.loadTemplates(path: $0) } ?? ZeroShot.imageNetTemplates(),
            singleTemplate: "a photo of a {}.", tokenizer: tokenizer)
        var requested = modes.split(separator: ",").compactMap { Mode(rawValue: String($0)) }
        if texts.rewriteCount == 0 && requested.contains(where: { $0 == .laclip || $0 == .laclipMT }) {
            print("no rewrite_*.txt in \(captions ?? "the built-in captions"): running EDA instead of LaCLIP / LaCLIP-MT")
            requested = requested.map { $0 == .laclip || $0 == .laclipMT ? .eda : $0 }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        print("training data: \(train.count) images, \(texts.captions.count) captions, \(texts.rewriteCount) rewrites each; "
            + "\(Threading.threadCount) threads, OpenBLAS core \(BLAS.coreName)")
        let seedValues = try seedList()
        var results: [(mode: Mode, scores: [[String: Double]])] = []
        var curves: [(name: String, history: TrainingHistory)] = []
        for mode in requested {
            var scores: [[String: Double]] = []
            for seed in seedValues {
                let text: TextSelection
                switch mode {
                case .clip: text = .original
                case .laclip: text = .laclip(try LaCLIPTextSampler(rewriteCount: texts.rewriteCount, seed: seed))
                case .laclipMT: text = .multiText(try MultiTextSampler(rewriteCount: texts.rewriteCount))
                case .eda: text = .augmented(try EDA(wordNet: try WordNet.shared()))
                case .mask: text = .augmented(try TokenMasking())
                }
                let loader = try ImageTextLoader(
                    source: source, tokenizer: tokenizer, text: text,
                    configuration: LoaderConfiguration(batchSize: batchSize, seed: seed, workers: 2, contextLength: model.text.contextLength))
                let trainer = try CLIPTrainer(
                    model: CLIP(configuration: model, seed: seed),
                    configuration: TrainerConfiguration(learningRate: learningRate, weightDecay: 0.1, warmupSteps: warmup, totalSteps: steps))
                let name = "\(mode.rawValue)-seed\(seed)"
                let session = try TrainingSession(
                    trainer: trainer, loader: loader, outputDirectory: URL(fileURLWithPath: output).appendingPathComponent(name),
                    logEvery: 5, evaluateEvery: evalEvery)
                session.savesCheckpoints = false
                session.evaluate = { model in try zeroShot.scores(model: model) }
                let progress = ConsoleProgress(label: name, lineEvery: 25)
                session.observer = progress
                print("\n== \(name): \(trainer.model.parameterCount) parameters")
                if case .interrupted = try session.run() { throw ExitCode(130) }
                scores.append(session.history.evaluations.last!.scores)
                curves.append((name, session.history))
                try TrainingPlot.curves(of: curves).write(to: URL(fileURLWithPath: output).appendingPathComponent("curves.svg"))
            }
            results.append((mode, scores))
        }
        let seedText = seedValues.count == 1 ? "seed \(seedValues[0])" : "seeds \(seeds), mean ± std"
        print("\nzero-shot on \(zeroShot.images.labels.count) Fashion-MNIST test images (\(steps) steps, batch \(batchSize), \(seedText))")
        print("mode        top-1 (80 templates)  top-5             top-1 (1 template)")
        for row in results {
            let column = { (key: String) in Self.percent(row.scores.map { $0[key]! }) }
            print(row.mode.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                + column("zeroshot_top1").padding(toLength: 22, withPad: " ", startingAt: 0)
                + column("zeroshot_top5").padding(toLength: 18, withPad: " ", startingAt: 0) + column("zeroshot_top1_single"))
        }
        print("curves: \(URL(fileURLWithPath: output).appendingPathComponent("curves.svg").path)")
    }

    /// "73.10%" for one value, "73.10 ± 0.42%" (sample standard deviation) for several.
    static func percent(_ values: [Double]) -> String {
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return String(format: "%.2f%%", 100 * mean) }
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
        return String(format: "%.2f ± %.2f%%", 100 * mean, 100 * variance.squareRoot())
    }
}

TrainCLIP.main()
