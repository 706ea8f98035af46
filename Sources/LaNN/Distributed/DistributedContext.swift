import Foundation
import LaTensor

/// An error of the communication between processes (a peer that died, a collective that timed out, an MPI
/// failure). It comes from outside the program, so it is thrown, never a crash.
public struct DistributedError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The collective or call that failed (`"all-reduce"`, `"MPI_Init_thread"`, ...).
    public var operation: String
    /// What happened, and what to check.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - operation: The collective or call that failed.
    ///   - message: What happened.
    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    /// `"distributed all-reduce: ..."`.
    public var description: String { "distributed \(operation): \(message)" }
}

/// A collective that was started and may still be in flight (see `DistributedContext.startAllReduceSum`).
public protocol CollectiveRequest: AnyObject {
    /// Drives the collective forward and tells whether it has completed.
    /// - Throws: `DistributedError` when it failed.
    func test() throws(DistributedError) -> Bool
    /// Waits for completion, at most the context's timeout.
    /// - Throws: `DistributedError` when it failed or timed out.
    func wait() throws(DistributedError)
}

/// What a context has sent and how long its collectives took: for the benchmark's communication share and
/// for checking bytes per step against the analytic figure.
public struct CommunicationStatistics: Sendable, Equatable {
    /// Payload bytes this rank handed to collectives (all-reduce: the buffer; all-gather: its own part;
    /// reduce-scatter: the whole input; broadcast: the buffer on the root).
    public var bytes = 0
    /// Collectives started.
    public var calls = 0
    /// Seconds spent inside blocking collectives and waits.
    public var seconds = 0.0

    /// Zero counters.
    public init() {}
}

/// The processes of a data-parallel run, as MPI sees them: a rank in `0..<worldSize` and the collectives the
/// trainer needs. `SingleProcessContext` is the default (every collective is the identity); `MPIContext`
/// (product `LaMPI`) runs them over Open MPI.
///
/// Every rank must call the same collectives in the same order with the same sizes, as in MPI. Buffers are
/// `Float` (features and gradients) or `Double` (metrics). A context is used from one thread at a time.
public protocol DistributedContext: AnyObject {
    /// This process's rank, `0..<worldSize`.
    var rank: Int { get }
    /// The number of processes.
    var worldSize: Int { get }
    /// What has been communicated so far.
    var statistics: CommunicationStatistics { get }
    /// A failure that happened where it could not be thrown (in a pullback during `backward()`); whoever runs
    /// the backward pass throws it afterwards (`CLIPTrainer` does).
    var deferredFailure: DistributedError? { get set }

    /// Sums `buffer` over all ranks, in place (every rank gets the sum).
    /// - Parameter buffer: The values; the same count on every rank.
    /// - Throws: `DistributedError`.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DistributedError)
    /// Sums `buffer` over all ranks, in place.
    /// - Parameter buffer: The values; the same count on every rank.
    /// - Throws: `DistributedError`.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(DistributedError)
    /// Starts summing `buffer` over all ranks in place and returns at once; the buffer must stay alive and
    /// untouched until the request completes.
    /// - Parameter buffer: The values; the same count on every rank.
    /// - Returns: The request to test or wait on.
    /// - Throws: `DistributedError`.
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DistributedError) -> any CollectiveRequest
    /// Concatenates every rank's `local` part in rank order into `gathered` (`worldSize × local.count`).
    /// - Parameters:
    ///   - local: This rank's part; the same count on every rank.
    ///   - gathered: The result, `worldSize × local.count` values.
    /// - Throws: `DistributedError`.
    func allGather(_ local: UnsafeBufferPointer<Float>, into gathered: UnsafeMutableBufferPointer<Float>) throws(DistributedError)
    /// Sums `input` (`worldSize` equal parts) over all ranks and gives each rank its own part of the sum.
    /// - Parameters:
    ///   - input: `worldSize × result.count` values.
    ///   - result: This rank's part of the sum.
    /// - Throws: `DistributedError`.
    func reduceScatterSum(_ input: UnsafeBufferPointer<Float>, into result: UnsafeMutableBufferPointer<Float>) throws(DistributedError)
    /// Copies `buffer` of rank `root` to every rank.
    /// - Parameters:
    ///   - buffer: The bytes; the same count on every rank.
    ///   - root: The rank whose bytes are sent.
    /// - Throws: `DistributedError`.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(DistributedError)
    /// Waits until every rank has reached the barrier.
    /// - Throws: `DistributedError`.
    func barrier() throws(DistributedError)
}

/// One process: rank 0 of 1, and every collective is the identity. The default of `CLIPTrainer`.
public final class SingleProcessContext: DistributedContext {
    /// Always 0.
    public let rank = 0
    /// Always 1.
    public let worldSize = 1
    /// Nothing is ever sent.
    public var statistics: CommunicationStatistics { CommunicationStatistics() }
    /// Always nil: nothing can fail.
    public var deferredFailure: DistributedError? {
        get { nil }
        set {}
    }

    /// Creates the context.
    public init() {}

    /// Leaves `buffer` as it is (the sum over one rank).
    /// - Parameter buffer: The values.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {}
    /// Leaves `buffer` as it is.
    /// - Parameter buffer: The values.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(DistributedError) {}
    /// A request that has already completed.
    /// - Parameter buffer: The values.
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DistributedError) -> any CollectiveRequest {
        CompletedRequest()
    }
    /// Copies `local` into `gathered`.
    /// - Parameters:
    ///   - local: The values.
    ///   - gathered: The same count.
    public func allGather(_ local: UnsafeBufferPointer<Float>, into gathered: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {
        checkPrecondition(local.count == gathered.count, "allGather: \(local.count) values into \(gathered.count) on 1 rank")
        if let source = local.baseAddress, let target = gathered.baseAddress { target.update(from: source, count: local.count) }
    }
    /// Copies `input` into `result`.
    /// - Parameters:
    ///   - input: The values.
    ///   - result: The same count.
    public func reduceScatterSum(_ input: UnsafeBufferPointer<Float>, into result: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {
        checkPrecondition(input.count == result.count, "reduceScatterSum: \(input.count) values into \(result.count) on 1 rank")
        if let source = input.baseAddress, let target = result.baseAddress { target.update(from: source, count: input.count) }
    }
    /// Does nothing.
    /// - Parameters:
    ///   - buffer: The bytes.
    ///   - root: Must be 0.
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(DistributedError) {
        checkPrecondition(root == 0, "broadcast: root \(root) on a world of 1")
    }
    /// Returns at once.
    public func barrier() throws(DistributedError) {}
}

/// A request that completed when it was started.
public final class CompletedRequest: CollectiveRequest {
    /// Creates the request.
    public init() {}
    /// Always true.
    public func test() throws(DistributedError) -> Bool { true }
    /// Returns at once.
    public func wait() throws(DistributedError) {}
}

extension DistributedContext {
    /// Copies every parameter of rank 0 to all ranks (the start of data-parallel training).
    /// - Parameter parameters: The parameters, in the same order on every rank.
    /// - Throws: `DistributedError`.
    public func broadcastParameters<Scalar: TensorFloatingPoint>(_ parameters: [Variable<Scalar>]) throws(DistributedError) {
        guard worldSize > 1 else { return }
        for parameter in parameters {
            let value = parameter.value.contiguous()
            let raw = UnsafeMutableRawBufferPointer(
                start: UnsafeMutableRawPointer(value.storage.pointer + value.offset), count: value.count * MemoryLayout<Scalar>.stride)
            try broadcast(raw, root: 0)
            if value.storage !== parameter.value.storage { parameter.value.assign(value) }
        }
    }

    /// The mean over ranks of a few numbers (losses, accuracies for the log).
    /// - Parameter values: This rank's values; the same count on every rank.
    /// - Returns: The means.
    /// - Throws: `DistributedError`.
    public func mean(_ values: [Double]) throws(DistributedError) -> [Double] {
        guard worldSize > 1 else { return values }
        var buffer = values
        var failure: DistributedError?
        buffer.withUnsafeMutableBufferPointer { pointer in
            do throws(DistributedError) { try allReduceSum(pointer) } catch { failure = error }
        }
        if let failure { throw failure }
        return buffer.map { $0 / Double(worldSize) }
    }
}
