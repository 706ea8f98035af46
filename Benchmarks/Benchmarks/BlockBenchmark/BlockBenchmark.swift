// ordo-one suite: one LaNN ResidualAttentionBlock<Float>(width: 192, heads: 3) on x [64, 65, 192]
// (see BenchmarkSupport.BlockWorkload).
//   block-forward-backward: y = block(x), y.backward(seed: w) (the gradient of sum(y * w)); gradients are
//                           set to nil before each pass (inside the measurement: stopping and restarting
//                           ordo-one's measurement inside the loop yields empty samples; it only drops references).
//   block-train-step:       zero grads, forward, backward, AdamW step. Its peak RSS and malloc counts show
//                           whether a training loop keeps memory flat: backward() frees the saved graph.
import Benchmark
import BenchmarkSupport
import LaNN
import LaTensor

/// Created on first use, in each benchmark's own process (ordo-one runs every benchmark in a child process).
let blockWorkload = BlockWorkload()

let benchmarks: @Sendable () -> Void = {
    BenchmarkSettings.configureThreads()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident, .peakMemoryResidentDelta],
        timeUnits: .milliseconds,
        warmupIterations: 3,
        maxDuration: .seconds(20),
        maxIterations: 30
    )

    Benchmark("block-forward-backward") { benchmark in
        for _ in benchmark.scaledIterations {
            blockWorkload.zeroGrad()
            blackHole(blockWorkload.forwardBackward())
        }
    } setup: {
        _ = blockWorkload.input
    }

    Benchmark("block-train-step") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(blockWorkload.trainStep()) }
    } setup: {
        _ = blockWorkload.input
    }
}
