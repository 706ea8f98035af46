import ArgumentParser
import Foundation
import LaCLIP
import LaMPI

/// The text objectives `laclip train --text-augmentation` offers.
enum TextAugmentationOption: String, ExpressibleByArgument, CaseIterable {
    case none, laclip, laclipMT = "laclip-mt", eda, mask
}

/// How `laclip train` finds its processes.
enum DistributedOption: String, ExpressibleByArgument, CaseIterable {
    /// MPI when started by `mpirun`, else one process.
    case auto
    /// Always one process.
    case none
    /// Always MPI (fails without Open MPI).
    case mpi
}

/// `laclip train`: trains CLIP, LaCLIP or LaCLIP-MT with checkpoints, resume, Ctrl-C, metrics and plots.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train CLIP / LaCLIP / LaCLIP-MT (checkpoints, resume, Ctrl-C, metrics.jsonl, curves.svg).",
        discussion: """
            Examples:
              laclip train --output runs/clip                                   # built-in data, CLIP
              laclip train --text-augmentation laclip --output runs/laclip      # LaCLIP with the built-in rewrites
              laclip train --data train.csv --rewrites r1.txt r2.txt --text-augmentation laclip-mt --preset tiny --output runs/mt
              laclip train --output runs/clip --resume latest                   # continue after Ctrl-C
              mpirun -np 2 laclip train --output runs/ddp                       # data parallel: 2 processes, global batch 2 x 128
            """)

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var evaluation: EvaluationOptions
    @Option(help: "clip or siglip.") var loss: ContrastiveLossKind = .clip
    @Option(name: .customLong("text-augmentation"), help: "none (CLIP), laclip, laclip-mt, eda or mask.")
    var textAugmentation: TextAugmentationOption = .none
    @Option(name: .customLong("batch-size"), help: "Images per micro-batch (per process under mpirun, as open_clip's per-GPU batch).")
    var batchSize = 128
    @Option(help: "auto (MPI when started by mpirun), none or mpi.") var distributed: DistributedOption = .auto
    @Option(help: "Micro-batches per optimizer step (the contrastive batch is batch-size × accumulate).") var accumulate = 1
    @Option(help: "Training epochs (instead of --steps).") var epochs: Int?
    @Option(help: "Optimizer steps (default: 1 epoch).") var steps: Int?
    @Option(name: .customLong("learning-rate"), help: "Peak learning rate.") var learningRate: Double = 1e-3
    @Option(name: .customLong("weight-decay")) var weightDecay: Double = 0.1
    @Option var beta1: Double = 0.9
    @Option var beta2: Double = 0.98
    @Option var eps: Double = 1e-6
    @Option(help: "Warmup steps.") var warmup = 30
    @Option(help: "cosine, constant or const-cooldown.") var schedule: ScheduleKind = .cosine
    @Option(help: "Cooldown steps for const-cooldown.") var cooldown = 0
    @Option(name: .customLong("grad-clip"), help: "Clip the global gradient norm to this value.") var gradClip: Double?
    @Option(name: .customLong("non-finite"), help: "On a NaN/inf loss: stop (default) or skip the step.")
    var nonFinite: NonFiniteLossPolicy = .stop
    @Option var seed: UInt64 = 0
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "Data-loading worker threads.") var workers = 2
    @Flag(help: "Random horizontal flips.") var flip = false
    @Option(help: "Built-in data: random translation of up to N pixels.") var shift = 2
    @Option(help: "Output folder (checkpoints/, metrics.jsonl, curves.svg).") var output: String
    @Option(help: "Resume from a checkpoint file, or 'latest' (OUTPUT/checkpoints).") var resume: String?
    @Option(help: "Start from an open_clip state dict (safetensors) instead of a random initialisation.") var initialize: String?
    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints (0: only at the end and on Ctrl-C).")
    var checkpointEvery = 0
    @Option(name: .customLong("keep-checkpoints"), help: "Checkpoints kept.") var keepCheckpoints = 3
    @Option(name: .customLong("log-every"), help: "Steps between metrics records and plain progress lines.") var logEvery = 10
    @Option(name: .customLong("eval-every"), help: "Steps between evaluations (0: every epoch; always at the end).")
    var evalEvery = 0
    @Option(name: .customLong("stop-at-step"), help: "Save and stop (as on Ctrl-C) once this many steps are done.")
    var stopAtStep: Int?

    func validate() throws {
        guard batchSize >= 2, batchSize <= 65536 else { throw ValidationError("--batch-size must be in 2...65536, got \(batchSize)") }
        guard accumulate >= 1, accumulate <= 1024 else { throw ValidationError("--accumulate must be in 1...1024, got \(accumulate)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be ≥ 1, got \(epochs)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be ≥ 1, got \(steps)") }
        if epochs != nil && steps != nil { throw ValidationError("give --epochs or --steps, not both") }
        for (name, value) in [("--learning-rate", learningRate), ("--weight-decay", weightDecay)] where !(value.isFinite && value >= 0) {
            throw ValidationError("\(name) must be a finite number ≥ 0, got \(value)")
        }
        guard beta1.isFinite, beta1 >= 0, beta1 < 1, beta2.isFinite, beta2 >= 0, beta2 < 1 else {
            throw ValidationError("--beta1 and --beta2 must be in [0, 1)")
        }
        guard eps.isFinite, eps > 0 else { throw ValidationError("--eps must be a finite number > 0, got \(eps)") }
        guard warmup >= 0, cooldown >= 0 else { throw ValidationError("--warmup and --cooldown must be ≥ 0") }
        if let gradClip, !(gradClip.isFinite && gradClip > 0) { throw ValidationError("--grad-clip must be a finite number > 0, got \(gradClip)") }
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be in 1...1024, got \(threads)") }
        guard (0...256).contains(workers) else { throw ValidationError("--workers must be in 0...256, got \(workers)") }
        guard shift >= 0 else { throw ValidationError("--shift must be ≥ 0, got \(shift)") }
        guard checkpointEvery >= 0, evalEvery >= 0 else { throw ValidationError("--checkpoint-every and --eval-every must be ≥ 0") }
        guard keepCheckpoints >= 1, logEvery >= 1 else { throw ValidationError("--keep-checkpoints and --log-every must be ≥ 1") }
        if let stopAtStep, stopAtStep < 1 { throw ValidationError("--stop-at-step must be ≥ 1, got \(stopAtStep)") }
        if resume != nil && initialize != nil { throw ValidationError("give --resume or --initialize, not both") }
    }

    func run() throws {
        guard distributed == .mpi || (distributed == .auto && MPIContext.isLaunchedByMPI) else {
            return try train(context: SingleProcessContext())
        }
        let mpi = try MPIContext()
        do {
            try train(context: mpi)
        } catch let exit as ExitCode {
            try? mpi.finalize()
            throw exit
        } catch {
            // A rank that cannot go on takes the job down with it, so that no other rank waits for it.
            note("laclip train (rank \(mpi.rank) of \(mpi.worldSize)): \(error)")
            mpi.abort(code: 1)
        }
        try mpi.finalize()
    }

    func train(context: any DistributedContext) throws {
        let primary = context.rank == 0
        if let threads {
            Threading.setThreadCount(threads)
        } else if context.worldSize > 1 {
            Threading.setThreadCount(MPIContext.recommendedThreadCount)
        }
        let builtIn = dataOptions.resolvedFormat == .fashionMNIST
        var modelConfiguration = try model.configuration(defaultPreset: builtIn ? "mini-28" : "tiny")
        if loss == .siglip { modelConfiguration.sigmoidLoss = true }
        let imageSize = modelConfiguration.vision.imageSize
        let (source, rewriteCount) = try dataOptions.makeSource(imageSize: imageSize, train: true, flip: flip, shift: shift)
        let tokenizer = try BPETokenizer.loadDefault()
        let text: TextSelection
        switch textAugmentation {
        case .none: text = .original
        case .laclip, .laclipMT:
            guard rewriteCount > 0 else {
                throw ValidationError("--text-augmentation \(textAugmentation.rawValue) needs rewrites, and \(dataOptions.data) has none (give --rewrites)")
            }
            text = textAugmentation == .laclip
                ? .laclip(try LaCLIPTextSampler(rewriteCount: rewriteCount, seed: seed)) : .multiText(try MultiTextSampler(rewriteCount: rewriteCount))
        case .eda: text = .augmented(try EDA(wordNet: try WordNet.shared()))
        case .mask: text = .augmented(try TokenMasking())
        }
        let stepBatch = batchSize * accumulate
        guard stepBatch * context.worldSize <= source.count else {
            throw ValidationError(
                "a global batch of \(stepBatch * context.worldSize) (batch size \(batchSize) × accumulate \(accumulate) × \(context.worldSize) processes) "
                    + "is larger than the \(source.count) samples")
        }
        let loader = try ImageTextLoader(
            source: source, tokenizer: tokenizer, text: text,
            configuration: LoaderConfiguration(batchSize: stepBatch, seed: seed, workers: workers, contextLength: modelConfiguration.text.contextLength),
            shard: LoaderShard(index: context.rank, count: context.worldSize))
        let totalSteps = steps ?? (epochs ?? 1) * loader.batchesPerEpoch
        let trainerConfiguration = TrainerConfiguration(
            loss: loss, learningRate: learningRate, weightDecay: weightDecay, beta1: beta1, beta2: beta2, epsilon: eps,
            warmupSteps: warmup, totalSteps: totalSteps, schedule: schedule, cooldownSteps: Swift.min(cooldown, totalSteps),
            gradientClipNorm: gradClip, accumulationSteps: accumulate, nonFiniteLoss: nonFinite)
        let clip = CLIP<Float>(configuration: modelConfiguration, seed: seed)
        if let initialize { try OpenCLIPInterop.loadStateDict(from: URL(fileURLWithPath: initialize), into: clip) }
        let trainer = try CLIPTrainer(model: clip, configuration: trainerConfiguration, distributed: context)
        let outputURL = URL(fileURLWithPath: output)
        let session = try TrainingSession(
            trainer: trainer, loader: loader, outputDirectory: outputURL, keepCheckpoints: keepCheckpoints, logEvery: logEvery,
            checkpointEvery: checkpointEvery, evaluateEvery: evalEvery)
        session.runDescription = (["laclip"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        if let resume {
            let url = resume == "latest" ? session.checkpoints?.latest() : URL(fileURLWithPath: resume)
            guard let url else { throw ValidationError("--resume latest: no checkpoint in \(outputURL.appendingPathComponent("checkpoints").path)") }
            try session.resume(from: url)
            if primary { note("resumed from \(url.path) at step \(trainer.completedSteps)") }
        }
        if let task = try evaluation.task(trainingOnBuiltIn: builtIn, imageSize: imageSize, tokenizer: tokenizer) {
            session.evaluate = { model in try task.scores(model: model) }
        }
        let progress = ConsoleProgress(lineEvery: logEvery)
        session.observer = progress
        let processes = context.worldSize > 1 ? " (\(context.worldSize) processes × \(stepBatch))" : ""
        if primary {
            note("training \(clip.parameterCount) parameters on \(source.count) samples (\(rewriteCount) rewrites each), "
                + "text: \(textAugmentation.rawValue), loss: \(loss.rawValue), \(totalSteps) steps of \(stepBatch * context.worldSize)\(processes), "
                + "\(Threading.threadCount) threads\(context.worldSize > 1 ? " per process" : ""), GEMM: \(GEMM.description)")
        }
        let stopper = StepLimitObserver(limit: stopAtStep, next: progress)
        session.observer = stopper
        let outcome: TrainingOutcome
        do { outcome = try session.run() } catch {
            if primary { try? writePlot(session: session, to: outputURL) }
            throw error
        }
        guard primary else {
            if case .interrupted = outcome { throw ExitCode(TrainingInterrupt.lastSignal == 0 ? 3 : 128 + Int32(TrainingInterrupt.lastSignal)) }
            return
        }
        try writePlot(session: session, to: outputURL)
        if let last = session.history.steps.last {
            print(String(format: "step %d  loss %.4f", last.step, last.loss))
        }
        if let scores = session.history.evaluations.last?.scores {
            print(scores.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f%%", $0.key, 100 * $0.value) }.joined(separator: "  "))
        }
        switch outcome {
        case .finished(let checkpoint):
            print("finished \(trainer.completedSteps) steps; checkpoint \(checkpoint?.path ?? "-"), metrics \(session.metricsURL?.path ?? "-")")
        case .interrupted(let checkpoint):
            print("stopped after step \(trainer.completedSteps); saved \(checkpoint?.path ?? "-"); continue with --resume latest")
            throw ExitCode(TrainingInterrupt.lastSignal == 0 ? 3 : 128 + Int32(TrainingInterrupt.lastSignal))
        }
    }

    func writePlot(session: TrainingSession, to directory: URL) throws {
        try TrainingPlot.curves(of: [(textAugmentation == .none ? loss.rawValue : textAugmentation.rawValue, session.history)]).write(to: directory.appendingPathComponent("curves.svg"))
    }
}

/// Asks the session to stop (as a signal would) once `limit` steps are done; forwards everything to `next`.
final class StepLimitObserver: TrainingObserver {
    let limit: Int?
    let next: any TrainingObserver
    init(limit: Int?, next: any TrainingObserver) {
        self.limit = limit
        self.next = next
    }
    func trainingDidStep(_ metrics: StepMetrics, session: TrainingSession) {
        next.trainingDidStep(metrics, session: session)
        if let limit, metrics.step >= limit, metrics.step < session.trainer.configuration.totalSteps { session.requestStop() }
    }
    func trainingDidEvaluate(_ evaluation: EvaluationRecord, session: TrainingSession) { next.trainingDidEvaluate(evaluation, session: session) }
    func trainingDidSaveCheckpoint(_ url: URL, session: TrainingSession) { next.trainingDidSaveCheckpoint(url, session: session) }
}

extension ContrastiveLossKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}
extension NonFiniteLossPolicy: ExpressibleByArgument {}
