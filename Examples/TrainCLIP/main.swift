// The main job: trains a small CLIP on the built-in data (Fashion-MNIST images with alt-text-style captions and their
// LLM rewrites, bundled with LaData) as CLIP, LaCLIP (a random rewrite per sample per step), LaCLIP-MT (all rewrites in
// every step) or with EDA, then prints a zero-shot table. Each run is `CLIPTrainer` + `ImageTextLoader` +
// `TrainingSession`, the same pieces `laclip train` uses. By default it trains in the regime where CLIP overfits its
// captions: 2000 images (200 per class), one original caption per class with 4 rewrites, 30 epochs of batch 256.
//
//   swift run -c release TrainCLIP                                        # CLIP, LaCLIP, LaCLIP-MT, seed 0
//   swift run -c release TrainCLIP --seeds 0,1,2,3,4 --skip-finished \
//       --modes clip,eda,laclip-m1,laclip-m2,laclip,laclip-mt             # the results table: mean ± std (± SE), paired differences
//   swift run -c release TrainCLIP --caption-set eight-per-class --train-images 60000 --steps 200 --batch-size 128
import ArgumentParser
import Foundation
import LaCLIP

enum Mode: String, CaseIterable { case clip, laclip, laclipMT = "laclip-mt", eda, mask }

/// One row of the table: a mode, and for LaCLIP / LaCLIP-MT optionally the number of rewrites M it may use
/// (`laclip-m2` = the original and rewrites 1-2).
struct RunKind: Equatable {
    var mode: Mode
    var rewriteLimit: Int?

    init?(_ text: String) {
        if let mode = Mode(rawValue: text) {
            self.mode = mode
            rewriteLimit = nil
            return
        }
        guard let range = text.range(of: "-m", options: .backwards), let mode = Mode(rawValue: String(text[..<range.lowerBound])),
            mode == .laclip || mode == .laclipMT, let limit = Int(text[range.upperBound...]), limit >= 1
        else { return nil }
        self.mode = mode
        rewriteLimit = limit
    }

    var name: String { rewriteLimit.map { "\(mode.rawValue)-m\($0)" } ?? mode.rawValue }
}

/// What a finished run leaves in its folder (`result.json`): its final scores and its history, so that
/// `--skip-finished` can rebuild the table and the curves without training it again.
struct RunResult: Codable {
    var scores: [String: Double]
    var history: TrainingHistory
}

struct TrainCLIP: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train CLIP / LaCLIP / LaCLIP-MT on the built-in data and evaluate zero-shot.")
    @Option(help: "Comma-separated modes: clip, laclip, laclip-mt, eda, mask; laclip-mN / laclip-mt-mN use only rewrites 1...N.")
    var modes = "clip,laclip,laclip-mt"
    @Option(help: "Training steps per run (or --epochs).") var steps: Int?
    @Option(help: "Epochs per run over the training images (instead of --steps; default 30).") var epochs: Int?
    @Option(name: .customLong("train-images"), help: "Train on a fixed balanced subset: the first N/10 images of every class (60000: all).")
    var trainImages = 2000
    @Flag(inversion: .prefixedNo, help: "Score a linear probe (5000 training images) and 5-way 5-shot episodes on the test features.")
    var probe = true
    @Flag(name: .customLong("skip-finished"), help: "Read the runs that already left OUTPUT/RUN/result.json instead of training them again.")
    var skipFinished = false
    @Option(name: .customLong("batch-size")) var batchSize = 256
    @Option(name: .customLong("caption-set"), help: "Built-in captions: one-per-class (10 originals, the regime LaCLIP repairs) or eight-per-class.")
    var captionSet: FashionMNISTCaptions.BuiltInSet = .onePerClass
    @Option(name: .customLong("learning-rate")) var learningRate: Double = 1e-3
    @Option(help: "Warmup steps.") var warmup = 30
    @Option(help: "Comma-separated seeds: every mode is trained once per seed; the table shows mean ± standard deviation.")
    var seeds = "0"
    @Option(help: "Folder with captions.txt and rewrite_*.txt instead of a built-in caption set.") var captions: String?
    @Option(name: .customLong("max-rewrites"), help: "Use at most this many rewrite files (rewrite_1.txt ...); default: all.")
    var maxRewrites: Int?
    @Option(help: "Zero-shot templates (JSON list; default: OpenAI's 80 ImageNet templates).") var templates: String?
    @Option(name: .customLong("test-images"), help: "Test images used for evaluation (1 ... 10000).") var testImages = 10000
    @Option(name: .customLong("eval-every"), help: "Steps between zero-shot evaluations (for the curves).") var evalEvery = 70
    @Option(help: "Output folder: one sub-folder per run (metrics.jsonl) and curves.svg of all runs.") var output = "runs/TrainCLIP"

    func validate() throws {
        for mode in modes.split(separator: ",", omittingEmptySubsequences: false) where RunKind(String(mode)) == nil {
            throw ValidationError("unknown mode '\(mode)'; use \(Mode.allCases.map(\.rawValue).joined(separator: ", ")), laclip-mN or laclip-mt-mN (N >= 1)")
        }
        guard (2...16384).contains(batchSize), warmup >= 0, evalEvery >= 0 else {
            throw ValidationError("need --batch-size in 2...16384, --warmup >= 0, --eval-every >= 0")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be >= 1, got \(steps)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be >= 1, got \(epochs)") }
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if !(10...60000).contains(trainImages) || trainImages % 10 != 0 {
            throw ValidationError("--train-images must be a multiple of 10 in 10...60000, got \(trainImages)")
        }
        if trainImages < batchSize { throw ValidationError("--train-images \(trainImages) is smaller than --batch-size \(batchSize)") }
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
        let subset = trainImages == train.count ? nil : train.balancedSubset(perClass: trainImages / 10)
        // The caption set with at most `limit` rewrites per caption, and the training images paired with it.
        func data(rewriteLimit limit: Int?) throws -> (texts: FashionMNISTCaptions, source: any LoaderSampleSource) {
            let maximum = Swift.min(maxRewrites ?? .max, limit ?? .max)
            let texts = try captions.map { try FashionMNISTCaptions(directory: $0, maximumRewrites: maximum) }
                ?? FashionMNISTCaptions.builtIn(captionSet, maximumRewrites: maximum)
            let everything = try FashionMNISTSampleSource(
                dataset: train, captions: texts.captionLists(for: train), size: model.vision.imageSize, normalize: normalize, maximumShift: 2)
            return (texts, try subset.map { try SubsetSampleSource(base: everything, indices: $0) } ?? everything)
        }
        let (texts, source) = try data(rewriteLimit: nil)
        let stepsPerEpoch = source.count / batchSize
        let runSteps = steps ?? (epochs ?? 30) * stepsPerEpoch
        let tokenizer = try BPETokenizer.loadDefault()
        let testSource = try FashionMNISTSampleSource(
            dataset: test, captions: FashionMNISTSampleSource.classCaptions(test, templates: ["{}"]), size: model.vision.imageSize, normalize: normalize)
        let zeroShot = try ZeroShotTask(
            images: try LabeledImageSet(source: testSource, labels: test.labelArray()).prefix(testImages),
            classNames: FashionMNISTCaptions.promptClassNames,
            templates: try templates.map { try ZeroShot.loadTemplates(path: $0) } ?? ZeroShot.imageNetTemplates(),
            singleTemplate: "a photo of a {}.", tokenizer: tokenizer)
        var requested = modes.split(separator: ",").compactMap { RunKind(String($0)) }
        if texts.rewriteCount == 0 && requested.contains(where: { $0.mode == .laclip || $0.mode == .laclipMT }) {
            print("no rewrite_*.txt in \(captions ?? "the built-in captions"): running EDA instead of LaCLIP / LaCLIP-MT")
            requested = requested.map { $0.mode == .laclip || $0.mode == .laclipMT ? RunKind("eda")! : $0 }
                .reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        print("training data: \(source.count) images (\(String(format: "%.1f", Double(runSteps) / Double(stepsPerEpoch))) epochs of \(stepsPerEpoch) steps), \(texts.captions.count) captions, \(texts.rewriteCount) rewrites each; "
            + "\(Threading.threadCount) threads, GEMM: \(GEMM.description)")
        let seedValues = try seedList()
        let outputURL = URL(fileURLWithPath: output)
        var results: [(kind: RunKind, scores: [[String: Double]])] = []
        var curves: [(name: String, history: TrainingHistory)] = []
        for kind in requested {
            let (texts, source) = kind.rewriteLimit == nil ? (texts, source) : try data(rewriteLimit: kind.rewriteLimit)
            if let limit = kind.rewriteLimit, texts.rewriteCount < limit {
                throw ValidationError("\(kind.name) needs \(limit) rewrites per caption; the captions have \(texts.rewriteCount)")
            }
            var scores: [[String: Double]] = [], histories: [TrainingHistory] = []
            for seed in seedValues {
                let name = "\(kind.name)-seed\(seed)"
                let resultURL = outputURL.appendingPathComponent(name).appendingPathComponent("result.json")
                if skipFinished, let data = try? Data(contentsOf: resultURL), let result = try? JSONDecoder().decode(RunResult.self, from: data) {
                    print("\n== \(name): finished earlier, read from \(resultURL.path)")
                    scores.append(result.scores)
                    histories.append(result.history)
                    continue
                }
                let text: TextSelection
                switch kind.mode {
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
                    configuration: TrainerConfiguration(learningRate: learningRate, weightDecay: 0.1, warmupSteps: warmup, totalSteps: runSteps))
                let session = try TrainingSession(
                    trainer: trainer, loader: loader, outputDirectory: outputURL.appendingPathComponent(name), logEvery: 5, evaluateEvery: evalEvery)
                session.savesCheckpoints = false
                session.evaluate = { model in try zeroShot.scores(model: model) }
                let progress = ConsoleProgress(label: name, lineEvery: 25)
                session.observer = progress
                print("\n== \(name): \(trainer.model.parameterCount) parameters")
                if case .interrupted = try session.run() { throw ExitCode(130) }
                withExtendedLifetime(progress) {}
                var final = session.history.evaluations.last!.scores
                if probe { final.merge(try probeScores(trainer.model, train: train, normalize: normalize, test: zeroShot.images)) { a, _ in a } }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try encoder.encode(RunResult(scores: final, history: session.history)).write(to: resultURL, options: .atomic)
                scores.append(final)
                histories.append(session.history)
                try TrainingPlot.curves(of: curves + [(kind.name, Self.meanHistory(histories))]).write(to: outputURL.appendingPathComponent("curves.svg"))
            }
            results.append((kind, scores))
            curves.append((seedValues.count == 1 ? kind.name : "\(kind.name) (mean of \(seedValues.count) seeds)", Self.meanHistory(histories)))
            try TrainingPlot.curves(of: curves).write(to: outputURL.appendingPathComponent("curves.svg"))
        }
        let seedText = seedValues.count == 1 ? "seed \(seedValues[0])" : "seeds \(seeds): mean ± std (± standard error)"
        print("\nzero-shot on \(zeroShot.images.labels.count) Fashion-MNIST test images (\(runSteps) steps, batch \(batchSize), \(seedText))")
        var columns = [("zeroshot_top1", "top-1 (80 templates)"), ("zeroshot_top5", "top-5"), ("zeroshot_top1_single", "top-1 (1 template)")]
        if probe { columns += [("linear_probe", "linear probe"), ("few_shot_5way5shot", "5-way 5-shot")] }
        let width = seedValues.count == 1 ? 22 : 30
        let nameWidth = Swift.max(12, (results.map { $0.kind.name.count }.max() ?? 0) + 2)
        print("mode".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + columns.map { $0.1.padding(toLength: width, withPad: " ", startingAt: 0) }.joined())
        for row in results {
            print(row.kind.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + columns.map { column in
                    Self.percent(row.scores.map { $0[column.0] ?? .nan }).padding(toLength: width, withPad: " ", startingAt: 0)
                }.joined())
        }
        // The paired difference to CLIP (same seeds): mean ± standard error of the per-seed differences.
        if seedValues.count > 1, let clip = results.first(where: { $0.kind.mode == .clip }) {
            print("\npaired difference to CLIP, zero-shot top-1 (80 templates), mean ± standard error over \(seedValues.count) seeds:")
            for row in results where row.kind.mode != .clip {
                let differences = zip(row.scores, clip.scores).map { $0["zeroshot_top1"]! - $1["zeroshot_top1"]! }
                let (mean, deviation) = Self.meanAndDeviation(differences)
                let error = deviation / Double(differences.count).squareRoot()
                print(String(format: "  %@ - clip: %+.2f ± %.2f points (%.1f standard errors)", row.kind.name, 100 * mean, 100 * error,
                             error > 0 ? mean / error : 0))
            }
        }
        print("curves: \(outputURL.appendingPathComponent("curves.svg").path)")
    }

    /// The seed-average of runs with the same schedule: the loss and every score averaged over the runs at each
    /// logged step / evaluation (records are matched by position; runs of one row log at the same steps).
    static func meanHistory(_ histories: [TrainingHistory]) -> TrainingHistory {
        guard var mean = histories.first, histories.count > 1 else { return histories.first ?? TrainingHistory() }
        let stepCount = histories.map(\.steps.count).min()!, evaluationCount = histories.map(\.evaluations.count).min()!
        mean.steps = Array(mean.steps.prefix(stepCount))
        mean.evaluations = Array(mean.evaluations.prefix(evaluationCount))
        for i in 0..<stepCount { mean.steps[i].loss = histories.map { $0.steps[i].loss }.reduce(0, +) / Double(histories.count) }
        for i in 0..<evaluationCount {
            for key in mean.evaluations[i].scores.keys {
                let values = histories.compactMap { $0.evaluations[i].scores[key] }
                mean.evaluations[i].scores[key] = values.reduce(0, +) / Double(values.count)
            }
        }
        return mean
    }

    /// Linear probe (L-BFGS logistic regression on 5000 training images' features) and 5-way 5-shot episodes on the
    /// test features.
    func probeScores(_ model: CLIP<Float>, train: FashionMNIST, normalize: Normalize, test: LabeledImageSet) throws -> [String: Double] {
        let source = try FashionMNISTSampleSource(
            dataset: train, captions: FashionMNISTSampleSource.classCaptions(train, templates: ["{}"]), size: model.configuration.vision.imageSize,
            normalize: normalize)
        let indices = train.balancedSubset(perClass: 500)
        let trainSet = try LabeledImageSet(source: try SubsetSampleSource(base: source, indices: indices), labels: indices.map { train.label(at: $0) })
        let testFeatures = try test.imageFeatures(model: model)
        let probe = try LinearProbe.evaluate(
            trainFeatures: try trainSet.imageFeatures(model: model), trainLabels: trainSet.labels, testFeatures: testFeatures, testLabels: test.labels)
        let fewShot = try FewShot.evaluate(features: testFeatures, labels: test.labels)
        return ["linear_probe": probe.testTop1, "few_shot_5way5shot": fewShot.meanAccuracy]
    }

    static func meanAndDeviation(_ values: [Double]) -> (Double, Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return (mean, 0) }
        return (mean, (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot())
    }

    /// "73.10%" for one value, "73.10 ± 0.42% (± 0.24)" (sample standard deviation, standard error) for several.
    static func percent(_ values: [Double]) -> String {
        let (mean, deviation) = meanAndDeviation(values)
        guard values.count > 1 else { return String(format: "%.2f%%", 100 * mean) }
        return String(format: "%.2f ± %.2f%% (± %.2f)", 100 * mean, 100 * deviation, 100 * deviation / Double(values.count).squareRoot())
    }
}

TrainCLIP.main()
extension FashionMNISTCaptions.BuiltInSet: ExpressibleByArgument {}
