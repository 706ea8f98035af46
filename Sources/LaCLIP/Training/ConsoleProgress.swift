import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Progress of a `TrainingSession` on standard error: on a terminal a live bar redrawn in place (epoch,
/// step/total, loss, lr, logit scale, images/s, ETA); otherwise (a file, a pipe, CI) one plain line every
/// `lineEvery` steps. Evaluations and checkpoints get a line of their own.
public final class ConsoleProgress: TrainingObserver {
    /// A label in front of every line (the run's mode or seed), or "".
    public let label: String
    /// Steps between plain lines when the output is not a terminal.
    public let lineEvery: Int
    /// Whether the output is a terminal (live bar).
    public let isTerminal: Bool
    private var start: Date?
    private var startStep = 0
    private var lastDraw = Date.distantPast

    /// Creates the reporter.
    /// - Parameters:
    ///   - label: A prefix for every line.
    ///   - lineEvery: Steps between plain lines (not on a terminal).
    ///   - isTerminal: Force the live bar on or off (default: whether standard error is a terminal).
    public init(label: String = "", lineEvery: Int = 25, isTerminal: Bool? = nil) {
        self.label = label.isEmpty ? "" : label + "  "
        self.lineEvery = Swift.max(1, lineEvery)
        self.isTerminal = isTerminal ?? (isatty(STDERR_FILENO) == 1)
    }

    /// Draws the bar or a line for one step.
    /// - Parameters:
    ///   - metrics: The step.
    ///   - session: The session.
    public func trainingDidStep(_ metrics: StepMetrics, session: TrainingSession) {
        let total = session.trainer.configuration.totalSteps
        if start == nil {
            // The clock starts before the first step seen (its own duration counted), so the first ETA is not 0.
            start = Date().addingTimeInterval(-metrics.seconds)
            startStep = metrics.step - 1
        }
        let elapsed = Date().timeIntervalSince(start!)
        let done = metrics.step - startStep
        let eta = done > 0 ? elapsed / Double(done) * Double(total - metrics.step) : 0
        let text = String(
            format: "epoch %d  step %d/%d  loss %.4f  lr %.2e  scale %.1f  %.0f img/s  ETA %@%@", metrics.epoch, metrics.step, total,
            metrics.loss, metrics.learningRate, metrics.logitScale, metrics.imagesPerSecond, Self.duration(eta),
            metrics.skipped ? "  (skipped: non-finite loss)" : "")
        if isTerminal {
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.1 || metrics.step == total else { return }
            lastDraw = now
            let width = 24
            let filled = Swift.min(width, width * metrics.step / Swift.max(total, 1))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            Self.write("\r\u{1B}[2K" + label + bar + " " + text + (metrics.step == total ? "\n" : ""))
        } else if metrics.step % lineEvery == 0 || metrics.step == total || metrics.step == startStep + 1 {
            Self.write(label + text + "\n")
        }
    }

    /// Prints the scores.
    /// - Parameters:
    ///   - evaluation: The scores.
    ///   - session: The session.
    public func trainingDidEvaluate(_ evaluation: EvaluationRecord, session: TrainingSession) {
        let scores = evaluation.scores.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f%%", $0.key, 100 * $0.value) }
        Self.write((isTerminal ? "\r\u{1B}[2K" : "") + label + "eval at step \(evaluation.step): " + scores.joined(separator: "  ") + "\n")
    }

    /// Prints the checkpoint's path.
    /// - Parameters:
    ///   - url: The checkpoint.
    ///   - session: The session.
    public func trainingDidSaveCheckpoint(_ url: URL, session: TrainingSession) {
        Self.write((isTerminal ? "\r\u{1B}[2K" : "") + label + "saved \(url.path)\n")
    }

    /// `1h02m`, `3m05s`, `12s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }

    static func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
