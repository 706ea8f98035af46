// ordo-one suite: memory-bound LaTensor kernels over a [N, 1024] Float tensor of 64 Mi elements (256 MiB,
// beyond the L3; `LATENSOR_BENCH_ELEMENTS` overrides), with `Tensor.copy()` as the bandwidth reference.
// Names: bandwidth-<kernel> (see BenchmarkSupport.BandwidthKernel). GB/s = bytes read + written / time.
import Benchmark
import BenchmarkSupport
import LaTensor

/// Created on first use, in each benchmark's own process (ordo-one runs every benchmark in a child process).
let bandwidthInputs = BandwidthInputs()

let benchmarks: @Sendable () -> Void = {
    BenchmarkSettings.configureThreads()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 2,
        maxDuration: .seconds(4),
        maxIterations: 20
    )

    for kernel in BandwidthKernel.allCases {
        Benchmark(kernel.benchmarkName) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(bandwidthInputs.run(kernel)) }
        } setup: {
            _ = bandwidthInputs.x
        }
    }
}
