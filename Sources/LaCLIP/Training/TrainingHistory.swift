import Foundation

/// One evaluation during training: the step, the epoch and named scores (`zeroshot_top1`, ...).
public struct EvaluationRecord: Codable, Sendable, Equatable {
    /// Completed optimizer steps when the evaluation ran.
    public var step: Int
    /// The epoch of the last batch trained.
    public var epoch: Int
    /// The scores by name.
    public var scores: [String: Double]

    /// Creates a record.
    /// - Parameters:
    ///   - step: Completed steps.
    ///   - epoch: The epoch.
    ///   - scores: The scores by name.
    public init(step: Int, epoch: Int, scores: [String: Double]) {
        self.step = step
        self.epoch = epoch
        self.scores = scores
    }
}

/// The metrics of a run so far: the logged steps and the evaluations. Saved in every checkpoint, so a resumed
/// run continues its curves; mirrored to `metrics.jsonl`.
public struct TrainingHistory: Codable, Sendable, Equatable {
    /// The logged steps, in order.
    public var steps: [StepMetrics]
    /// The evaluations, in order.
    public var evaluations: [EvaluationRecord]

    /// Creates a history.
    /// - Parameters:
    ///   - steps: Logged steps.
    ///   - evaluations: Evaluations.
    public init(steps: [StepMetrics] = [], evaluations: [EvaluationRecord] = []) {
        self.steps = steps
        self.evaluations = evaluations
    }

    /// The JSON-lines form: one `{"type":"step",...}` or `{"type":"eval",...}` object per line, in step order.
    public func jsonLines() -> String {
        var records: [(Int, Int, String)] = []
        for (i, step) in steps.enumerated() { records.append((step.step, 2 * i, MetricsLog.line(step))) }
        for (i, evaluation) in evaluations.enumerated() { records.append((evaluation.step, 2 * i + 1, MetricsLog.line(evaluation))) }
        return records.sorted { ($0.0, $0.1 & 1, $0.1) < ($1.0, $1.1 & 1, $1.1) }.map { $0.2 + "\n" }.joined()
    }
}

/// `OUTPUT/metrics.jsonl`: one JSON object per logged step and per evaluation, appended as the run goes.
/// On resume the file is rewritten (atomically) from the checkpoint's history, so it never holds records of
/// steps that the resumed run trains again.
public final class MetricsLog {
    /// The file.
    public let url: URL
    private var handle: FileHandle?

    /// Opens the log, replacing its contents with `history`.
    /// - Parameters:
    ///   - url: The `metrics.jsonl` file.
    ///   - history: The records so far (empty for a new run).
    /// - Throws: File errors.
    public init(url: URL, history: TrainingHistory) throws {
        self.url = url
        try Data(history.jsonLines().utf8).write(to: url, options: .atomic)
        handle = try FileHandle(forWritingTo: url)
        try handle?.seekToEnd()
    }

    deinit { try? handle?.close() }

    /// Appends a step record.
    /// - Parameter metrics: The step.
    public func append(_ metrics: StepMetrics) { write(Self.line(metrics)) }

    /// Appends an evaluation record.
    /// - Parameter evaluation: The evaluation.
    public func append(_ evaluation: EvaluationRecord) { write(Self.line(evaluation)) }

    private func write(_ line: String) { try? handle?.write(contentsOf: Data((line + "\n").utf8)) }

    static func line(_ metrics: StepMetrics) -> String {
        tagged("step", metrics)
    }

    static func line(_ evaluation: EvaluationRecord) -> String {
        tagged("eval", evaluation)
    }

    private static func tagged<T: Encodable>(_ type: String, _ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let body = String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
        return "{\"type\":\"\(type)\"," + body.dropFirst()
    }
}
