import CLaBLAS
import Dispatch
import Foundation
import Synchronization

/// The package's threading policy.
///
/// LaTensor's own kernels (elementwise, reductions, softmax, copies) split large jobs over
/// `Threading.threadCount` workers with `DispatchQueue.concurrentPerform`. Matmul and LAPACK run in
/// OpenBLAS, whose thread count is set to the same number. The two never run at the same time: LaTensor
/// never calls BLAS from inside one of its parallel loops, so at most `threadCount` threads compute at once
/// and the cores are never oversubscribed.
///
/// The default is the number of active cores, or the `LACLIP_NUM_THREADS` environment variable when it is
/// set to a positive integer. Change it at run time with `Threading.setThreadCount(_:)`, which also sets
/// OpenBLAS's thread count (`OPENBLAS_NUM_THREADS` is overridden by this policy).
public enum Threading {
    private static let state = Mutex<Int?>(nil)

    /// A thread count for the current task only (see `withThreadCount(_:_:)`), nil when none is set.
    @TaskLocal public static var scopedThreadCount: Int? = nil

    /// The number of worker threads LaTensor's kernels and OpenBLAS use (the current task's
    /// `withThreadCount(_:_:)` count when one is set).
    public static var threadCount: Int {
        if let scoped = scopedThreadCount { return scoped }
        if let value = state.withLock({ $0 }) { return value }
        var initial = ProcessInfo.processInfo.activeProcessorCount
        if let text = ProcessInfo.processInfo.environment["LACLIP_NUM_THREADS"], let value = Int(text), value > 0 {
            initial = value
        }
        setThreadCount(initial)
        return initial
    }

    /// Sets the number of worker threads for LaTensor's kernels and for OpenBLAS.
    /// - Parameter count: A positive thread count.
    public static func setThreadCount(_ count: Int) {
        checkPrecondition(count > 0, "Threading.setThreadCount: thread count must be positive, got \(count)")
        state.withLock { $0 = count }
        _ = BLAS.kernelSelection  // OpenBLAS's kernels are chosen before it first runs
        openblas_set_num_threads(Int32(count))
    }

    /// Runs `body` with `threadCount == count` for the current task only: LaTensor's kernels and its `Float` GEMM
    /// split their work `count` ways there, while other tasks keep the global count (tests that compare thread counts
    /// do not disturb tests running beside them). OpenBLAS's own thread count, which is global, is not changed.
    /// - Parameters:
    ///   - count: A positive thread count.
    ///   - body: The work to run.
    public static func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        checkPrecondition(count > 0, "Threading.withThreadCount: thread count must be positive, got \(count)")
        return try $scopedThreadCount.withValue(count) { try body() }
    }

    /// Jobs smaller than this many elements run on the calling thread.
    public static let minimumParallelWork = 1 << 15

    /// Splits `0 ..< total` into contiguous ranges and runs `body` on each, in parallel when `total` is at
    /// least `minimumParallelWork` and more than one thread is configured.
    /// - Parameters:
    ///   - total: The number of work items.
    ///   - cost: The work per item in element operations (used to decide whether to go parallel).
    ///   - body: Called once per range; ranges are disjoint and cover `0 ..< total`.
    @inlinable
    public static func parallelFor(total: Int, cost: Int = 1, _ body: (Range<Int>) -> Void) {
        if total <= 0 { return }
        let threads = threadCount
        if threads <= 1 || total < 2 || total * Swift.max(cost, 1) < minimumParallelWork {
            body(0..<total)
            return
        }
        let chunks = Swift.min(threads, total)
        withoutActuallyEscaping(body) { escapable in
            let work = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = total * chunk / chunks
                let end = total * (chunk + 1) / chunks
                if start < end { work.value(start..<end) }
            }
        }
    }
}

/// Carries a value into a `@Sendable` closure. Used only where the kernels guarantee that concurrent
/// workers touch disjoint memory.
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @inlinable init(_ value: Value) { self.value = value }
}
