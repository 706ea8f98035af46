// swift-tools-version:6.0
// LaCLIP for Swift: differentiable multimodal models (CLIP, LaCLIP, LaCLIP-MT) from the tensor up.
import PackageDescription

let package = Package(
    name: "LaCLIP",
    // Linux is the target (Debian's OpenBLAS, libjpeg-turbo, libpng); Synchronization's Mutex and Atomic need macOS 15.
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LaTensor", targets: ["LaTensor"]),
        .library(name: "LaNN", targets: ["LaNN"]),
        .library(name: "LaData", targets: ["LaData"]),
        .library(name: "LaCLIP", targets: ["LaCLIP"]),
        // Data-parallel training over Open MPI (loaded at run time: the package builds without it).
        .library(name: "LaMPI", targets: ["LaMPI"]),
        .executable(name: "TensorTour", targets: ["TensorTour"]),
        .executable(name: "laclip", targets: ["LaCLIPTool"]),
        .executable(name: "TrainCLIP", targets: ["TrainCLIP"]),
        .executable(name: "TrainLoop", targets: ["TrainLoop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation` for the DocC catalogs (Sources/*/*.docc); a plugin only.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // System libraries: OpenBLAS (CBLAS) and LAPACKE from Debian's libopenblas-dev and liblapacke-dev.
        .systemLibrary(
            name: "CLaBLAS",
            path: "Sources/CLaBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // zlib from Debian's zlib1g-dev (gzip-compressed vocabularies and datasets).
        .systemLibrary(name: "CLaZlib", path: "Sources/CLaZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Vectorised Float32 kernels (AVX2+FMA per function, runtime dispatch, scalar fallbacks) for LaTensor.
        // Also: the choice of OpenBLAS's kernels (dlsym of its DYNAMIC_ARCH entry points; no link to OpenBLAS).
        .target(name: "CLaKernels", linkerSettings: [.linkedLibrary("m"), .linkedLibrary("dl")]),
        // JPEG (libjpeg-turbo, libjpeg62-turbo-dev) and PNG (libpng, libpng-dev) decoding with setjmp error handling.
        .target(name: "CLaImageCodecs", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        // Layer 1: strided tensors, kernels, BLAS/LAPACK, random generators.
        .target(name: "LaTensor", dependencies: ["CLaBLAS", "CLaKernels"]),
        // Layer 2: autodiff, modules, optimizers, checkpoints.
        .target(name: "LaNN", dependencies: ["LaTensor"]),
        // Layer 2 (beside LaNN): tokenizer, datasets, images, text augmentation.
        // Resources: CLIP's BPE vocabulary (MIT, OpenAI), LaCLIP's meta-pair bank (BSD-2-Clause), licences beside them,
        // and the captions of the built-in Fashion-MNIST training data.
        .target(
            name: "LaData", dependencies: ["LaTensor", "CLaZlib", "CLaImageCodecs"],
            // The generators of Tokenizer/Generated/*.swift live beside them.
            exclude: [
                "Tokenizer/Generated/README.md", "Tokenizer/Generated/regenerate.sh", "Tokenizer/Generated/make-tokenizer-tables.py",
                "Tokenizer/Generated/make-ftfy-tables.py",
            ],
            resources: [
                .copy("Resources/bpe_simple_vocab_16e6.txt.gz"), .copy("Resources/icl_meta_pairs.json"),
                .copy("Resources/LICENSE-CLIP-vocabulary.txt"), .copy("Resources/LICENSE-LaCLIP-meta-pairs.txt"),
                // The built-in training data's captions and their LLM rewrites (written for this package).
                .copy("Resources/fashion-mnist"), .copy("Resources/fashion-mnist-one-per-class"),
            ]),
        // Layer 3: the CLIP model, losses, evaluation.
        // Resources: OpenAI CLIP's 80 ImageNet prompt templates (MIT), licence beside them.
        .target(
            name: "LaCLIP", dependencies: ["LaNN", "LaData"],
            resources: [.copy("Resources/imagenet_templates.json"), .copy("Resources/LICENSE-CLIP-templates.txt")]),

        // Beside the layers: Open MPI for data-parallel training, bound at run time with dlopen (Debian's
        // libopenmpi-dev / openmpi-bin), so that nothing else needs MPI to build, test or run.
        .target(name: "LaMPI", dependencies: ["LaNN"], linkerSettings: [.linkedLibrary("dl")]),

        .executableTarget(name: "TensorTour", dependencies: ["LaTensor"], path: "Examples/TensorTour"),
        .executableTarget(
            name: "LaCLIPTool",
            dependencies: ["LaCLIP", "LaMPI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/LaCLIPTool"),
        .executableTarget(
            name: "TrainCLIP",
            dependencies: ["LaCLIP", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/TrainCLIP"),
        .executableTarget(name: "TrainLoop", dependencies: ["LaCLIP"], path: "Examples/TrainLoop"),

        .testTarget(name: "LaTensorTests", dependencies: ["LaTensor"]),
        .testTarget(name: "LaNNTests", dependencies: ["LaNN"], exclude: ["Resources"]),
        .testTarget(name: "LaDataTests", dependencies: ["LaData"], exclude: ["Resources"]),
        .testTarget(name: "LaCLIPTests", dependencies: ["LaCLIP"], exclude: ["Resources"]),
        .testTarget(name: "LaMPITests", dependencies: ["LaMPI", "LaCLIP"]),
    ]
)
