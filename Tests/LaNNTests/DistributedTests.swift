import Foundation
import Synchronization
import Testing
@testable import LaNN
import LaTensor

/// W ranks as threads of one process: every collective meets at a shared slot, combines, and hands out the result
/// — enough to test the data-parallel pieces of LaNN without MPI (LaMPITests runs them over Open MPI).
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var arrived = 0, generation = 0
    private var contributions: [[Double]]
    private var result: [[Double]] = []

    init(size: Int) {
        self.size = size
        contributions = Array(repeating: [], count: size)
    }

    /// Every rank hands in `values`; all get `combine(all contributions)[rank]`.
    func exchange(rank: Int, _ values: [Double], _ combine: ([[Double]]) -> [[Double]]) -> [Double] {
        condition.lock()
        defer { condition.unlock() }
        let mine = generation
        contributions[rank] = values
        arrived += 1
        if arrived == size {
            result = combine(contributions)
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        return result[rank]
    }
}

final class ThreadRankContext: DistributedContext {
    let group: ThreadGroup
    let rank: Int
    var worldSize: Int { group.size }
    var statistics = CommunicationStatistics()
    var deferredFailure: DistributedError?
    /// The order in which all-reduces were started (their sizes), to check the bucket order.
    var startedSizes: [Int] = []

    init(group: ThreadGroup, rank: Int) {
        self.group = group
        self.rank = rank
    }

    private func sum(_ values: [Double]) -> [Double] {
        group.exchange(rank: rank, values) { all in
            let total = all.dropFirst().reduce(all[0]) { zip($0, $1).map(+) }
            return Array(repeating: total, count: all.count)
        }
    }

    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {
        for (i, v) in sum(buffer.map(Double.init)).enumerated() { buffer[i] = Float(v) }
    }
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(DistributedError) {
        for (i, v) in sum(Array(buffer)).enumerated() { buffer[i] = v }
    }
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DistributedError) -> any CollectiveRequest {
        startedSizes.append(buffer.count)
        try allReduceSum(buffer)
        return CompletedRequest()
    }
    func allGather(_ local: UnsafeBufferPointer<Float>, into gathered: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {
        let all = group.exchange(rank: rank, local.map(Double.init)) { parts in Array(repeating: parts.flatMap { $0 }, count: parts.count) }
        for (i, v) in all.enumerated() { gathered[i] = Float(v) }
    }
    func reduceScatterSum(_ input: UnsafeBufferPointer<Float>, into result: UnsafeMutableBufferPointer<Float>) throws(DistributedError) {
        let n = result.count
        let total = sum(input.map(Double.init))
        for i in 0..<n { result[i] = Float(total[rank * n + i]) }
    }
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(DistributedError) {
        let bytes = group.exchange(rank: rank, buffer.map(Double.init)) { parts in Array(repeating: parts[root], count: parts.count) }
        for (i, v) in bytes.enumerated() { buffer[i] = UInt8(v) }
    }
    func barrier() throws(DistributedError) { _ = sum([]) }
}

/// Runs `body` once per rank on its own thread and returns the results in rank order.
func onRanks<R: Sendable>(_ size: Int, _ body: @escaping @Sendable (ThreadRankContext) throws -> R) throws -> [R] {
    let group = ThreadGroup(size: size)
    let results = Mutex([Int: Result<R, any Error>]())
    let threads = (0..<size).map { rank in
        Thread {
            let outcome = Result { try body(ThreadRankContext(group: group, rank: rank)) }
            results.withLock { $0[rank] = outcome }
        }
    }
    threads.forEach { $0.stackSize = 8 << 20; $0.start() }
    while results.withLock({ $0.count }) < size { usleep(1000) }
    return try (0..<size).map { rank in try results.withLock { $0[rank]! }.get() }
}

@Suite struct DistributedTests {
    @Test func allGatheredConcatenatesAndItsGradientIsTheSumOverRanksOfTheOwnRows() throws {
        // Each rank r holds x_r [2, 3]; loss_r = Σ (gathered ⊙ w_r) with a rank-specific weight w_r [4, 3]. The
        // gradient of Σ_r loss_r with respect to x_r is Σ_s (w_s rows of rank r).
        let weights = (0..<2).map { r in (0..<12).map { Double($0 + 1) * (r == 0 ? 1 : -0.5) } }
        let results = try onRanks(2) { context -> (gathered: [Double], gradient: [Double]) in
            let x = Variable(Tensor<Double>((0..<6).map { Double($0) + 10 * Double(context.rank) }, shape: [2, 3]), requiresGrad: true)
            let local = Variable(Tensor<Float>(x.value.scalars.map(Float.init), shape: [2, 3]), requiresGrad: true)
            let gathered = try local.allGathered(over: context)
            #expect(gathered.shape == [4, 3])
            let w = Variable(Tensor<Float>(weights[context.rank].map(Float.init), shape: [4, 3]))
            (gathered * w).sum().backward()
            return (gathered.value.scalars.map(Double.init), local.grad!.scalars.map(Double.init))
        }
        let expectedGathered = (0..<6).map(Double.init) + (0..<6).map { Double($0) + 10 }
        for rank in 0..<2 {
            #expect(results[rank].gathered == expectedGathered)
            let rows = (rank * 6)..<(rank * 6 + 6)
            #expect(results[rank].gradient == rows.map { weights[0][$0] + weights[1][$0] })
        }
    }

    @Test func gradientReducerAveragesInFixedBucketOrderAndKeepsMissingGradientsNil() throws {
        let results = try onRanks(3) { context -> (grads: [[Float]?], sizes: [Int]) in
            // Four parameters of 5, 4, 3 and 2 values; buckets of at most 6 values in reverse order: [3, 2], [1], [0].
            let parameters = [5, 4, 3, 2].map { Variable(Tensor<Float>.zeros([$0]), requiresGrad: true) }
            let reducer = GradientReducer(parameters: parameters, context: context, bucketCapacity: 6)
            #expect(reducer.bucketCount == 3)
            let r = Float(context.rank)
            parameters[0].grad = Tensor((0..<5).map { Float($0) + r })
            parameters[1].grad = context.rank == 1 ? Tensor([Float](repeating: 6, count: 4)) : nil  // only rank 1
            parameters[2].grad = Tensor([Float](repeating: r, count: 3))
            // parameters[3] has no gradient on any rank.
            reducer.beginBackward()
            // Ready out of order: parameter 0 (the last bucket) first; it must wait for the buckets before it.
            reducer.gradientReady(parameters[0])
            #expect(context.startedSizes.isEmpty)
            reducer.gradientReady(parameters[2])
            reducer.gradientReady(parameters[3])
            #expect(context.startedSizes == [5 + 2])  // bucket [3, 2]: 5 values + 2 presence flags
            try reducer.finish()
            return (parameters.map { $0.grad?.scalars }, context.startedSizes)
        }
        for (grads, sizes) in results {
            #expect(sizes == [7, 5, 6])
            #expect(grads[0] == (0..<5).map { Float($0) + 1 })  // mean of i + r over r = 0, 1, 2
            #expect(grads[1] == [Float](repeating: 2, count: 4))  // 6 on one rank of 3
            #expect(grads[2] == [Float](repeating: 1, count: 3))
            #expect(grads[3] == nil)
        }
    }

    @Test func broadcastParametersCopiesRankZero() throws {
        let values = try onRanks(2) { context -> [Float] in
            let parameter = Variable(Tensor<Float>([1, 2, 3].map { $0 + Float(10 * context.rank) }), requiresGrad: true)
            try context.broadcastParameters([parameter])
            return parameter.value.scalars
        }
        #expect(values == [[1, 2, 3], [1, 2, 3]])
    }

    @Test func singleProcessContextIsTheIdentity() throws {
        let context = SingleProcessContext()
        let x = Variable(Tensor<Float>([1, 2, 3, 4], shape: [2, 2]), requiresGrad: true)
        let y = try x.allGathered(over: context)
        #expect(y === x)
        #expect(try context.mean([1.5, 2]) == [1.5, 2])
    }
}
