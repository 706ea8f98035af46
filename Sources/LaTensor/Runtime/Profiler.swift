import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An opt-in profiler of the time spent inside BLAS matrix products (`Scalar.gemm` and `Scalar.gemv`,
/// called from `Tensor.gemm2D`, which every `matmul`, `Linear` and attention product goes through).
///
/// Off by default. While off, each BLAS call pays one relaxed atomic load and nothing else. While on, each
/// call reads the monotonic clock before and after and adds the difference and one call to process-wide
/// atomic counters. Calls made concurrently from several threads each add their own time, so the total can
/// exceed wall-clock time in that case (LaTensor itself never calls BLAS from more than one thread at a time).
///
/// ```swift
/// BLASProfiler.reset()
/// BLASProfiler.isEnabled = true
/// let y = x.matmul(w)
/// BLASProfiler.isEnabled = false
/// print(BLASProfiler.nanoseconds, BLASProfiler.calls)
/// ```
public enum BLASProfiler {
    @usableFromInline static let enabled = Atomic<Bool>(false)
    @usableFromInline static let elapsed = Atomic<Int>(0)
    @usableFromInline static let callCount = Atomic<Int>(0)

    /// Whether BLAS calls are timed. Setting it does not clear the counters (see `reset()`).
    public static var isEnabled: Bool {
        get { enabled.load(ordering: .relaxed) }
        set { enabled.store(newValue, ordering: .relaxed) }
    }

    /// Nanoseconds spent inside timed BLAS calls since the last `reset()`.
    public static var nanoseconds: Int { elapsed.load(ordering: .relaxed) }

    /// The number of timed BLAS calls since the last `reset()`.
    public static var calls: Int { callCount.load(ordering: .relaxed) }

    /// Sets `nanoseconds` and `calls` to zero (leaves `isEnabled` as it is).
    public static func reset() {
        elapsed.store(0, ordering: .relaxed)
        callCount.store(0, ordering: .relaxed)
    }

    /// Runs `body` (one BLAS call) and, when the profiler is enabled, adds its duration and one call to the
    /// counters. When disabled, the only extra work is one relaxed atomic load.
    /// - Parameter body: The BLAS call to time.
    /// - Returns: What `body` returns.
    @inlinable
    @inline(__always)
    public static func timed<R>(_ body: () throws -> R) rethrows -> R {
        guard enabled.load(ordering: .relaxed) else { return try body() }
        let start = monotonicNanoseconds()
        defer {
            elapsed.add(monotonicNanoseconds() - start, ordering: .relaxed)
            callCount.add(1, ordering: .relaxed)
        }
        return try body()
    }

    /// Nanoseconds on the monotonic clock.
    @usableFromInline
    static func monotonicNanoseconds() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int(time.tv_sec) * 1_000_000_000 + Int(time.tv_nsec)
    }
}
