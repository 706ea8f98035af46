import Foundation
import LaData
import LaNN
import LaTensor

/// How a `TrainingSession.run()` ended.
public enum TrainingOutcome: Sendable, Equatable {
    /// All `totalSteps` steps were trained; the final checkpoint (if any) is at the URL.
    case finished(checkpoint: URL?)
    /// SIGINT / SIGTERM (or `TrainingInterrupt.request()`) stopped the run after a whole step; the checkpoint to
    /// resume from is at the URL.
    case interrupted(checkpoint: URL?)
}

/// Receives what a `TrainingSession` does, for progress bars and logs.
public protocol TrainingObserver: AnyObject {
    /// Called after every step.
    /// - Parameters:
    ///   - metrics: The step's metrics.
    ///   - session: The session.
    func trainingDidStep(_ metrics: StepMetrics, session: TrainingSession)
    /// Called after every evaluation.
    /// - Parameters:
    ///   - evaluation: The scores.
    ///   - session: The session.
    func trainingDidEvaluate(_ evaluation: EvaluationRecord, session: TrainingSession)
    /// Called after every checkpoint.
    /// - Parameters:
    ///   - url: The file written.
    ///   - session: The session.
    func trainingDidSaveCheckpoint(_ url: URL, session: TrainingSession)
}

/// A whole training run: batches from an `ImageTextLoader` into a `CLIPTrainer` until the configured number of
/// steps, with logging to `metrics.jsonl`, evaluation every N steps (and at the end), atomic checkpoints every N
/// steps (and at the end, and on Ctrl-C), and exact resume.
///
/// ```swift
/// let session = try TrainingSession(trainer: trainer, loader: loader, outputDirectory: URL(fileURLWithPath: "runs/a"))
/// session.evaluate = { model in try zeroShot.scores(model: model) }
/// if let last = session.checkpoints?.latest() { try session.resume(from: last) }
/// let outcome = try session.run()
/// ```
public final class TrainingSession {
    /// The trainer.
    public let trainer: CLIPTrainer
    /// The loader.
    public let loader: ImageTextLoader
    /// The output folder (checkpoints, `metrics.jsonl`), or nil to keep nothing on disk.
    public let outputDirectory: URL?
    /// The checkpoint folder (`OUTPUT/checkpoints`), when there is an output folder.
    public let checkpoints: CheckpointStore?
    /// Log a step to the history and `metrics.jsonl` every this many steps (and the last step).
    public var logEvery: Int
    /// Write a checkpoint every this many steps (0: only at the end and on interruption).
    public var checkpointEvery: Int
    /// Evaluate every this many steps (0: at the end of every epoch); evaluation also runs after the last step.
    public var evaluateEvery: Int
    /// The evaluation: scores by name for the model (in evaluation mode, without gradients).
    public var evaluate: ((CLIP<Float>) throws -> [String: Double])?
    /// Receives steps, evaluations and checkpoints.
    public weak var observer: (any TrainingObserver)?
    /// Stored with every checkpoint (e.g. the command-line settings as JSON).
    public var runDescription: String?
    /// Whether checkpoints are written (every `checkpointEvery` steps, at the end and on interruption); with
    /// `false` an output folder only receives `metrics.jsonl`.
    public var savesCheckpoints = true
    /// Whether SIGINT / SIGTERM stop the run cleanly (handlers installed by `run()`, removed when it returns).
    public var handlesSignals = true
    /// Whether this process logs, evaluates and writes checkpoints: rank 0 of a data-parallel run (and the
    /// only process otherwise). The other ranks train and keep their history of steps in memory only.
    public var isPrimary: Bool { trainer.distributed.rank == 0 }
    /// The loader position after the last step.
    public private(set) var position: LoaderPosition
    /// The metrics so far.
    public private(set) var history = TrainingHistory()
    private var metricsLog: MetricsLog?
    private var stopRequested = false

    /// Whether this process was asked to stop: `requestStop()`, or SIGINT / SIGTERM when signals are handled.
    private var stopAsked: Bool { stopRequested || (handlesSignals && TrainingInterrupt.isRequested) }

    /// Asks this session to stop after the current step (saving a checkpoint), as SIGINT does for every session.
    public func requestStop() { stopRequested = true }

    /// Creates a session at the start of training.
    /// - Parameters:
    ///   - trainer: The trainer.
    ///   - loader: The loader (its batch size is the optimizer step's batch).
    ///   - outputDirectory: Where checkpoints and metrics go, or nil.
    ///   - keepCheckpoints: How many checkpoints to keep.
    ///   - logEvery: Steps between logged records.
    ///   - checkpointEvery: Steps between checkpoints (0: at the end only).
    ///   - evaluateEvery: Steps between evaluations (0: every epoch).
    /// - Throws: `TrainingError.invalidConfiguration` for a negative interval, file errors for the folder.
    public init(
        trainer: CLIPTrainer, loader: ImageTextLoader, outputDirectory: URL?, keepCheckpoints: Int = 3, logEvery: Int = 10,
        checkpointEvery: Int = 0, evaluateEvery: Int = 0
    ) throws {
        guard logEvery >= 1 else { throw TrainingError.invalidConfiguration(field: "logEvery", message: "must be ≥ 1, got \(logEvery)") }
        guard checkpointEvery >= 0 else {
            throw TrainingError.invalidConfiguration(field: "checkpointEvery", message: "must be ≥ 0, got \(checkpointEvery)")
        }
        guard evaluateEvery >= 0 else {
            throw TrainingError.invalidConfiguration(field: "evaluateEvery", message: "must be ≥ 0, got \(evaluateEvery)")
        }
        self.trainer = trainer
        self.loader = loader
        self.outputDirectory = outputDirectory
        self.logEvery = logEvery
        self.checkpointEvery = checkpointEvery
        self.evaluateEvery = evaluateEvery
        if let outputDirectory {
            try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
            checkpoints = try CheckpointStore(directory: outputDirectory.appendingPathComponent("checkpoints"), keepLast: keepCheckpoints)
        } else {
            checkpoints = nil
        }
        position = loader.startPosition(epoch: 0)
    }

    /// Continues from a checkpoint: parameters, optimizer state, step, loader position and metrics.
    /// - Parameter url: A checkpoint written by this kind of session.
    /// - Throws: `TrainingError.checkpointMismatch` / `.badCheckpoint` and the state loader's errors.
    public func resume(from url: URL) throws {
        let restored = try TrainingCheckpoint.load(into: trainer, loader: loader, from: url)
        position = restored.loaderPosition
        history = restored.history
        if runDescription == nil { runDescription = restored.runDescription }
    }

    /// The metrics file, `OUTPUT/metrics.jsonl`.
    public var metricsURL: URL? { outputDirectory?.appendingPathComponent("metrics.jsonl") }

    /// Trains until `trainer.configuration.totalSteps` steps are done or a signal asks to stop.
    /// - Returns: `.finished` or `.interrupted`, with the last checkpoint written.
    /// - Throws: Loader errors (unreadable samples), `TrainingError.nonFiniteLoss`, evaluation and file errors.
    ///   Before a non-finite loss is thrown, nothing is saved over the last good checkpoint.
    public func run() throws -> TrainingOutcome {
        if isPrimary, let metricsURL { metricsLog = try MetricsLog(url: metricsURL, history: history) }
        stopRequested = false
        if handlesSignals { TrainingInterrupt.install() }
        defer {
            if handlesSignals {
                TrainingInterrupt.uninstall()
                TrainingInterrupt.reset()
            }
        }
        let total = trainer.configuration.totalSteps
        var lastCheckpoint: URL? = checkpoints?.latest()
        var iterator = try loader.makeIterator(from: position)
        var batchesThisEpoch = position.batchIndex
        var lastEpoch = position.epoch
        while trainer.completedSteps < total {
            var next = try iterator.next()
            if trainer.distributed.worldSize > 1 {
                // The ranks agree on the end of an epoch (one of them running short ends it for all) and on a stop
                // request (a signal reaching one rank stops every rank after the same step).
                let flags: [Double]
                do throws(DistributedError) {
                    flags = try trainer.distributed.mean([next == nil ? 0 : 1, stopAsked ? 1 : 0])
                } catch { throw TrainingError.distributed(error) }
                if flags[1] > 0 {
                    lastCheckpoint = try saveCheckpoint() ?? lastCheckpoint
                    return .interrupted(checkpoint: lastCheckpoint)
                }
                if flags[0] < 1 { next = nil }
            }
            guard let batch = next else {
                guard batchesThisEpoch > 0 else {
                    throw TrainingError.invalidBatch(
                        "epoch \(iterator.epoch) produced no batch: \(loader.count) samples for batches of \(loader.configuration.batchSize)")
                }
                if evaluateEvery == 0, evaluate != nil, trainer.completedSteps > 0 { try runEvaluation(epoch: lastEpoch) }
                position = iterator.position
                iterator = try loader.makeIterator(from: position)
                batchesThisEpoch = 0
                continue
            }
            let metrics = try trainer.step(batch)
            position = iterator.position
            batchesThisEpoch += 1
            lastEpoch = batch.epoch
            let step = metrics.step
            if step % logEvery == 0 || step == total || step == 1 {
                history.steps.append(metrics)
                metricsLog?.append(metrics)
            }
            if isPrimary { observer?.trainingDidStep(metrics, session: self) }
            if evaluateEvery > 0, step % evaluateEvery == 0, step != total { try runEvaluation(epoch: batch.epoch) }
            if trainer.distributed.worldSize == 1, stopAsked {
                lastCheckpoint = try saveCheckpoint() ?? lastCheckpoint
                return .interrupted(checkpoint: lastCheckpoint)
            }
            if checkpointEvery > 0, step % checkpointEvery == 0, step != total { lastCheckpoint = try saveCheckpoint() ?? lastCheckpoint }
        }
        iterator.cancel()
        if evaluate != nil, history.evaluations.last?.step != trainer.completedSteps { try runEvaluation(epoch: lastEpoch) }
        lastCheckpoint = try saveCheckpoint() ?? lastCheckpoint
        return .finished(checkpoint: lastCheckpoint)
    }

    /// Writes a checkpoint of the current state now (also removes leftovers of killed saves and prunes old ones).
    /// - Returns: The file, or nil without an output folder.
    /// - Throws: File errors.
    @discardableResult
    public func saveCheckpoint() throws -> URL? {
        guard let checkpoints, savesCheckpoints, isPrimary else { return nil }
        checkpoints.removeLeftovers()
        let url = checkpoints.url(step: trainer.completedSteps)
        try TrainingCheckpoint.save(
            trainer: trainer, loader: loader, position: position, history: history, runDescription: runDescription, to: url)
        checkpoints.prune()
        observer?.trainingDidSaveCheckpoint(url, session: self)
        return url
    }

    private func runEvaluation(epoch: Int) throws {
        guard let evaluate, isPrimary else { return }
        let model = trainer.model
        model.setTraining(false)
        defer { model.setTraining(true) }
        let scores = try withNoGrad { try evaluate(model) }
        let record = EvaluationRecord(step: trainer.completedSteps, epoch: epoch, scores: scores)
        history.evaluations.append(record)
        metricsLog?.append(record)
        observer?.trainingDidEvaluate(record, session: self)
    }
}
