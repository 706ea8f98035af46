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
        // Shapes, inputs, raw-BLAS reference calls and byte/FLOP accounting shared by every benchmark.
        .target(
            name: "BenchmarkSupport",
            dependencies: [.product(name: "LaTensor", package: root)]
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
        // Self-timed ratio printer: LaTensor vs raw sgemm, and kernel bandwidth vs copy, in one process.
        .executableTarget(
            name: "TensorRatios",
            dependencies: ["BenchmarkSupport", .product(name: "LaTensor", package: root)]
        ),
    ]
)
