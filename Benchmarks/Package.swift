// swift-tools-version:6.1
// Benchmarks for LaTensor, kept in their own package so that the root library builds without the
// benchmark tooling. Run from this folder: `./ratios.sh` (see README.md).
import PackageDescription

import struct Foundation.URL

// SwiftPM names a path dependency after its folder, and the checkout folder's name is not fixed
// (`main` here, anything in a fresh clone), so the root package's identity is read off this manifest's path.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "LaCLIPBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(path: ".."),
    ],
    targets: [
        // glibc allocator statistics (mallinfo2) for the block benchmark's memory check, malloc_trim for RSS baselines.
        .target(name: "CMallocStats"),
        // Shapes, inputs, raw-BLAS reference calls, byte/FLOP accounting (down to a whole CLIP step's GEMMs) and
        // process-memory readings shared by every benchmark.
        .target(
            name: "BenchmarkSupport",
            dependencies: ["CMallocStats", .product(name: "LaTensor", package: root), .product(name: "LaNN", package: root)]
        ),
        // ordo-one benchmark suites (discovered by the plugin under Benchmarks/<Name>/).
        .executableTarget(
            name: "TensorMatmul",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "LaTensor", package: root),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TensorMatmul",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "TensorKernels",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "LaTensor", package: root),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TensorKernels",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "BlockBenchmark",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "LaTensor", package: root),
                .product(name: "LaNN", package: root),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/BlockBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Self-timed ratio printer: LaTensor vs raw sgemm, and kernel bandwidth vs copy, in one process.
        .executableTarget(
            name: "TensorRatios",
            dependencies: ["BenchmarkSupport", .product(name: "LaTensor", package: root)]
        ),
        // Self-timed transformer block: LaNN fwd+bwd, its BLAS share (LaTensor's BLASProfiler), PyTorch's time for
        // the same block (Scripts/torch_block.py as a subprocess), and RSS over 50 AdamW training steps.
        .executableTarget(
            name: "BlockRatios",
            dependencies: [
                "BenchmarkSupport", .product(name: "LaTensor", package: root), .product(name: "LaNN", package: root),
            ]
        ),
        // Self-timed CLIP BPE tokenizer (LaData): captions/s on the COCO captions with 1 and 2 threads, against
        // open_clip and HF `tokenizers` (Scripts/tokenizer_reference.py as a subprocess).
        .executableTarget(
            name: "TokenizerRatios",
            dependencies: [.product(name: "LaData", package: root), .product(name: "LaTensor", package: root)]
        ),
        // Self-timed data loader (LaData): images/s of the Fashion-MNIST and COCO-mini JPEG pipelines (full and
        // draft JPEG decoding) with 1 and 2 workers, against what one `tiny` CLIP training step consumes (timed in
        // the same process: LaCLIP's CLIP, clipLoss, backward, AdamW at batch 128).
        .executableTarget(
            name: "LoaderRatios",
            dependencies: [
                "BenchmarkSupport", .product(name: "LaCLIP", package: root), .product(name: "LaData", package: root),
                .product(name: "LaNN", package: root), .product(name: "LaTensor", package: root),
            ]
        ),
        // Self-timed training step of the `tiny` CLIP preset (LaCLIP): CLIP, LaCLIP (sampler + tokenizer in the step)
        // and LaCLIP-MT at batch 64 and 128: ms/step, images/s, GFLOP/s against raw sgemm on the step's GEMMs, baseline
        // and peak RSS, page faults per step, encoder throughput without the tape, against open_clip + PyTorch
        // (Scripts/torch_train_step.py as a subprocess).
        .executableTarget(
            name: "TrainStepRatios",
            dependencies: [
                "BenchmarkSupport", .product(name: "LaCLIP", package: root), .product(name: "LaData", package: root),
                .product(name: "LaNN", package: root), .product(name: "LaTensor", package: root),
            ]
        ),
        // Self-timed data-parallel step over Open MPI (LaMPI): 1 and 2 processes via mpirun, ms/step, images/s, the
        // share waiting in collectives, bytes per rank and step against the analytic figure.
        .executableTarget(
            name: "DistributedRatios",
            dependencies: [
                "BenchmarkSupport", .product(name: "LaCLIP", package: root), .product(name: "LaMPI", package: root),
                .product(name: "LaNN", package: root), .product(name: "LaTensor", package: root),
            ]
        ),
    ]
)
