// ordo-one suite: the three GEMMs of a transformer Linear layer (8320 tokens, 192 -> 768), each through
// LaTensor's `matmul` (transposes as views) and through one raw `cblas_sgemm` call on the same buffers.
// Names: matmul-<shape>-LaTensor / matmul-<shape>-sgemm (see BenchmarkSupport.MatmulCase).
import Benchmark
import BenchmarkSupport
import LaTensor

/// Created on first use, in each benchmark's own process (ordo-one runs every benchmark in a child process).
let matmulInputs = MatmulInputs()

let benchmarks: @Sendable () -> Void = {
    BenchmarkSettings.configureThreads()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 30
    )

    for shape in MatmulCase.allCases {
        Benchmark(shape.benchmarkName(raw: false)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(firstElement(matmulInputs.laTensor(shape))) }
        } setup: {
            _ = matmulInputs.x
        }

        Benchmark(shape.benchmarkName(raw: true)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(matmulInputs.rawSgemm(shape)) }
        } setup: {
            _ = matmulInputs.x
        }
    }
}
