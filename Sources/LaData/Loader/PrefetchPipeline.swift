import Foundation

/// Produces work units `0 ..< unitCount` on background threads and hands the results out in unit order,
/// through a bounded buffer.
///
/// Each of `workers` threads claims the next unit number, computes it with `work`, and stores the result;
/// `next()` returns results strictly in unit order. A worker may claim unit `u` only while
/// `u < delivered + capacity`, so at most `capacity` units are ever being computed or waiting to be taken —
/// when the consumer falls behind, the workers block (backpressure). Which worker computes which unit varies
/// from run to run, so `work` must depend only on the unit number for the output to be deterministic.
///
/// With `workers == 0` nothing runs in the background: `next()` computes the next unit on the calling thread.
/// The state is guarded by one `NSCondition` (a mutex with a condition variable).
public final class PrefetchPipeline<Output: Sendable>: @unchecked Sendable {
    /// The number of units.
    public let unitCount: Int
    /// The bound on units being computed or waiting to be taken.
    public let capacity: Int
    /// The number of background threads.
    public let workers: Int

    private let work: @Sendable (Int) -> Output
    private let condition = NSCondition()
    private var nextClaim = 0
    private var delivered = 0
    private var ready: [Int: Output] = [:]
    private var cancelled = false
    private var runningWorkers = 0
    private var peakReady = 0
    private var peakOutstanding = 0

    /// Starts the workers.
    /// - Parameters:
    ///   - unitCount: The number of units to produce.
    ///   - workers: Background threads (0: compute on the consumer's thread).
    ///   - capacity: The most units computed ahead of the consumer (≥ 1).
    ///   - work: Computes one unit; called from the worker threads, concurrently.
    public init(unitCount: Int, workers: Int, capacity: Int, work: @escaping @Sendable (Int) -> Output) {
        checkPrecondition(capacity >= 1, "PrefetchPipeline: capacity must be ≥ 1")
        self.unitCount = max(unitCount, 0)
        self.workers = max(workers, 0)
        self.capacity = capacity
        self.work = work
        runningWorkers = self.workers
        for index in 0..<self.workers {
            let thread = Thread { [self] in self.workerLoop() }
            thread.name = "LaData.loader.\(index)"
            thread.start()
        }
    }

    deinit {
        // The worker threads hold a strong reference until they exit, so reaching deinit means they are done.
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while !cancelled && nextClaim < unitCount && nextClaim >= delivered + capacity { condition.wait() }
            if cancelled || nextClaim >= unitCount {
                runningWorkers -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let unit = nextClaim
            nextClaim += 1
            peakOutstanding = max(peakOutstanding, nextClaim - delivered)
            condition.unlock()

            let output = work(unit)

            condition.lock()
            ready[unit] = output
            peakReady = max(peakReady, ready.count)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next result in unit order, waiting for it if needed; `nil` after the last unit or after `cancel()`.
    public func next() -> Output? {
        if workers == 0 {
            condition.lock()
            guard !cancelled, delivered < unitCount else { condition.unlock(); return nil }
            let unit = delivered
            peakOutstanding = max(peakOutstanding, 1)
            condition.unlock()
            let output = work(unit)
            condition.lock()
            delivered += 1
            condition.unlock()
            return output
        }
        condition.lock()
        defer { condition.unlock() }
        guard delivered < unitCount else { return nil }
        while ready[delivered] == nil && !cancelled { condition.wait() }
        guard !cancelled, let output = ready.removeValue(forKey: delivered) else { return nil }
        delivered += 1
        condition.broadcast()
        return output
    }

    /// Stops the workers after the units they are computing and waits for them to exit; later `next()` calls
    /// return `nil`.
    public func cancel() {
        condition.lock()
        cancelled = true
        ready.removeAll()
        condition.broadcast()
        while runningWorkers > 0 { condition.wait() }
        ready.removeAll()
        condition.unlock()
    }

    /// The most results that were ever waiting in the buffer at once (never more than `capacity`).
    public var peakBufferedCount: Int { condition.lock(); defer { condition.unlock() }; return peakReady }

    /// The most units ever claimed but not yet taken (being computed or buffered; never more than `capacity`).
    public var peakOutstandingCount: Int { condition.lock(); defer { condition.unlock() }; return peakOutstanding }

    /// The results waiting in the buffer now.
    public var bufferedCount: Int { condition.lock(); defer { condition.unlock() }; return ready.count }
}
