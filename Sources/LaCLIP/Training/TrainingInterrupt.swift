import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The number of SIGINT / SIGTERM signals received since `TrainingInterrupt.install()` or `reset()`.
private let receivedSignals = Atomic<Int>(0)
/// The last signal number received (0: none).
private let lastSignalNumber = Atomic<Int32>(0)

/// Ctrl-C and SIGTERM during training: the first signal only sets a flag, so the running step finishes, a
/// checkpoint is written and the run returns `TrainingOutcome.interrupted`; a second signal ends the process at
/// once (exit status 128 + signal), as a user pressing Ctrl-C twice expects.
public enum TrainingInterrupt {
    /// Installs the handlers for SIGINT and SIGTERM (idempotent).
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            _ = signal(signalNumber) { number in
                lastSignalNumber.store(number, ordering: .sequentiallyConsistent)
                if receivedSignals.add(1, ordering: .sequentiallyConsistent).newValue > 1 {
                    _exit(128 + number)
                }
            }
        }
    }

    /// Restores the default handlers.
    public static func uninstall() {
        _ = signal(SIGINT, SIG_DFL)
        _ = signal(SIGTERM, SIG_DFL)
    }

    /// Whether a stop was requested.
    public static var isRequested: Bool { receivedSignals.load(ordering: .sequentiallyConsistent) > 0 }

    /// Requests a stop as a signal would (for embedding applications and tests).
    public static func request() { receivedSignals.add(1, ordering: .sequentiallyConsistent) }

    /// The number of the last signal received since the process started (0: none; `request()` sends none).
    public static var lastSignal: Int32 { lastSignalNumber.load(ordering: .sequentiallyConsistent) }

    /// Forgets a request.
    public static func reset() { receivedSignals.store(0, ordering: .sequentiallyConsistent) }
}
