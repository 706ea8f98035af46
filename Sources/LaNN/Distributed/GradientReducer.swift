import Foundation
import LaTensor

/// Averages the gradients of data-parallel training over all ranks, as PyTorch's `DistributedDataParallel`
/// does: the parameters are grouped into buckets of about `bucketCapacity` values (in reverse order, the order
/// in which a backward pass tends to finish them), and a bucket's all-reduce starts as soon as every gradient
/// in it is final, so communication overlaps the rest of the backward pass. Buckets start in a fixed order on
/// every rank (a ready bucket waits for the ones before it), as MPI requires.
///
/// ```swift
/// let reducer = GradientReducer(parameters: trainable, context: context)
/// reducer.beginBackward()
/// loss.backward(onLeafGradient: reducer.gradientReady)
/// try reducer.finish()      // every rank now holds the mean gradient
/// ```
///
/// A parameter without a gradient on every rank keeps `grad == nil` (so an optimizer skips it, as on one
/// process); one with a gradient on some ranks only gets the mean with zeros for the others.
public final class GradientReducer {
    /// The processes.
    public let context: any DistributedContext
    /// The parameters whose gradients are averaged.
    public let parameters: [Variable<Float>]
    /// The values per bucket (at least one parameter per bucket).
    public let bucketCapacity: Int

    struct Bucket {
        var members: [Int]
        var offsets: [Int]
        var valueCount: Int
        var buffer: UnsafeMutableBufferPointer<Float>
        var ready: [Bool]
        var readyCount = 0
        var request: (any CollectiveRequest)?
        var completed = false
    }

    private var buckets: [Bucket] = []
    private var slots: [ObjectIdentifier: (bucket: Int, member: Int)] = [:]
    private var nextLaunch = 0
    private var failure: DistributedError?

    /// The number of buckets.
    public var bucketCount: Int { buckets.count }

    /// Creates a reducer.
    /// - Parameters:
    ///   - parameters: The parameters (the same list, in the same order, on every rank).
    ///   - context: The processes.
    ///   - bucketCapacity: Values per bucket (default 2^20, 4 MiB of Float).
    public init(parameters: [Variable<Float>], context: any DistributedContext, bucketCapacity: Int = 1 << 20) {
        checkPrecondition(bucketCapacity >= 1, "GradientReducer: bucketCapacity must be ≥ 1, got \(bucketCapacity)")
        self.parameters = parameters
        self.context = context
        self.bucketCapacity = bucketCapacity
        var current: [Int] = [], size = 0
        var groups: [[Int]] = []
        for index in parameters.indices.reversed() {
            let count = parameters[index].value.count
            if !current.isEmpty && size + count > bucketCapacity {
                groups.append(current)
                current = []
                size = 0
            }
            current.append(index)
            size += count
        }
        if !current.isEmpty { groups.append(current) }
        for (b, members) in groups.enumerated() {
            var offsets: [Int] = [], total = 0
            for (m, index) in members.enumerated() {
                offsets.append(total)
                total += parameters[index].value.count
                slots[ObjectIdentifier(parameters[index])] = (b, m)
            }
            // The values, then one presence flag per member (1 where that rank has a gradient).
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: total + members.count)
            buffer.initialize(repeating: 0)
            buckets.append(Bucket(members: members, offsets: offsets, valueCount: total, buffer: buffer,
                                  ready: Array(repeating: false, count: members.count)))
        }
    }

    deinit {
        for bucket in buckets {
            if let request = bucket.request, !bucket.completed { try? request.wait() }
            bucket.buffer.deallocate()
        }
    }

    /// Forgets which gradients are ready (call before the backward pass whose gradients are final, the last
    /// micro-batch's; `finish()` also does it for the next step).
    public func beginBackward() {
        for b in buckets.indices {
            buckets[b].ready = Array(repeating: false, count: buckets[b].members.count)
            buckets[b].readyCount = 0
            buckets[b].request = nil
            buckets[b].completed = false
        }
        nextLaunch = 0
        failure = nil
    }

    /// Marks a parameter's gradient final (pass it as `backward(onLeafGradient:)`); starts every bucket that
    /// is complete and next in line, and lets the collectives in flight progress.
    /// - Parameter parameter: A leaf whose gradient was just accumulated.
    public func gradientReady(_ parameter: Variable<Float>) {
        guard failure == nil, let (b, m) = slots[ObjectIdentifier(parameter)], !buckets[b].ready[m] else { return }
        buckets[b].ready[m] = true
        buckets[b].readyCount += 1
        while nextLaunch < buckets.count, buckets[nextLaunch].readyCount == buckets[nextLaunch].members.count {
            launch(nextLaunch)
        }
        progress()
    }

    /// Starts the buckets not started yet, waits for all of them, and writes the mean gradients back into the
    /// parameters' `grad`.
    /// - Throws: `DistributedError` when a collective failed or timed out.
    public func finish() throws(DistributedError) {
        while nextLaunch < buckets.count { launch(nextLaunch) }
        if let failure { throw failure }
        let scale = 1 / Float(context.worldSize)
        for b in buckets.indices {
            if !buckets[b].completed {
                try buckets[b].request?.wait()
                buckets[b].completed = true
            }
            let bucket = buckets[b]
            for (m, index) in bucket.members.enumerated() {
                let parameter = parameters[index]
                guard bucket.buffer[bucket.valueCount + m] > 0 else {
                    parameter.grad = nil
                    continue
                }
                let grad: Tensor<Float>
                if let existing = parameter.grad, existing.isContiguous, existing.strides == Tensor<Float>.contiguousStrides(for: existing.shape) {
                    grad = existing
                } else {
                    grad = Tensor<Float>(uninitializedShape: parameter.value.shape)
                    parameter.grad = grad
                }
                let source = bucket.buffer.baseAddress! + bucket.offsets[m]
                let target = grad.storage.pointer + grad.offset
                for i in 0..<grad.count { target[i] = source[i] * scale }
            }
        }
        beginBackward()
    }

    private func launch(_ b: Int) {
        nextLaunch = b + 1
        guard failure == nil else { return }
        let bucket = buckets[b]
        for (m, index) in bucket.members.enumerated() {
            let target = bucket.buffer.baseAddress! + bucket.offsets[m]
            let count = parameters[index].value.count
            if let grad = parameters[index].grad {
                grad.withContiguousBuffer { target.update(from: $0.baseAddress!, count: count) }
                bucket.buffer[bucket.valueCount + m] = 1
            } else {
                target.update(repeating: 0, count: count)
                bucket.buffer[bucket.valueCount + m] = 0
            }
        }
        do throws(DistributedError) {
            buckets[b].request = try context.startAllReduceSum(bucket.buffer)
        } catch {
            failure = error
        }
    }

    private func progress() {
        for b in 0..<nextLaunch where !buckets[b].completed {
            guard let request = buckets[b].request else { continue }
            do throws(DistributedError) {
                if try request.test() { buckets[b].completed = true }
            } catch {
                failure = error
                return
            }
        }
    }
}
