import ArgumentParser
import Foundation
import LaCLIP

/// The formats `laclip train --data` reads.
enum DataFormat: String, ExpressibleByArgument, CaseIterable {
    case auto, fashionMNIST = "fashion-mnist", laclipCSV = "laclip-csv", csv, tsv, jsonl, webdataset, cocoFolder = "coco-folder"
}

/// Where the training (or retrieval) samples come from.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Training data: 'fashion-mnist' (the built-in data), a LaCLIP CSV, an open_clip CSV/TSV, a JSON-lines manifest, "
            + "WebDataset shards ('shards-{000..009}.tar', brace expansion) or a COCO-style folder with captions.tsv."))
    var data = "fashion-mnist"
    @Option(name: .customLong("data-format"), help: "auto, fashion-mnist, laclip-csv, csv, tsv, jsonl, webdataset, coco-folder.")
    var dataFormat: DataFormat = .auto
    @Option(name: .customLong("image-root"), help: "Folder relative image paths are resolved against.")
    var imageRoot: String?
    @Option(name: .customLong("csv-image-key"), help: "open_clip CSV/TSV: the image-path column.")
    var csvImageKey = "filepath"
    @Option(name: .customLong("csv-caption-key"), help: "open_clip CSV/TSV: the caption column.")
    var csvCaptionKey = "title"
    @Option(parsing: .upToNextOption, help: "LaCLIP rewrite files aligned with a LaCLIP CSV (one caption per line), in order.")
    var rewrites: [String] = []
    @Option(name: .customLong("max-rewrites"), help: "Use at most M rewrites per caption (default: all).")
    var maxRewrites: Int?
    @Option(help: "A caption folder for the built-in images (captions.txt, rewrite_*.txt) instead of a bundled caption set.")
    var captions: String?
    @Option(name: .customLong("caption-set"), help: "The built-in data's bundled captions: eight-per-class or one-per-class.")
    var captionSet: FashionMNISTCaptions.BuiltInSet = .eightPerClass
    @Option(name: .customLong("max-samples"), help: "Use only the first N samples.")
    var maxSamples: Int?

    func validate() throws {
        if let maxRewrites, maxRewrites < 0 { throw ValidationError("--max-rewrites must be ≥ 0, got \(maxRewrites)") }
        if let maxSamples, maxSamples < 2 { throw ValidationError("--max-samples must be ≥ 2, got \(maxSamples)") }
        if data.isEmpty { throw ValidationError("--data must not be empty") }
    }

    /// The format, guessed from the name when `auto`.
    var resolvedFormat: DataFormat {
        if dataFormat != .auto { return dataFormat }
        let lower = data.lowercased()
        if lower == "fashion-mnist" { return .fashionMNIST }
        if lower.hasSuffix(".tar") || lower.contains(".tar{") || (lower.contains("{") && lower.contains(".tar")) || lower.hasSuffix(".tar}") {
            return .webdataset
        }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".jsonl.gz") { return .jsonl }
        if lower.hasSuffix(".tsv") || lower.hasSuffix(".tsv.gz") { return .tsv }
        if lower.hasSuffix(".csv") || lower.hasSuffix(".csv.gz") { return rewrites.isEmpty ? .csv : .laclipCSV }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: data, isDirectory: &isFolder), isFolder.boolValue { return .cocoFolder }
        return .csv
    }

    /// The samples as a loader source, and the number of rewrites every sample has (M).
    /// - Parameters:
    ///   - imageSize: The model's input size.
    ///   - train: Training transforms (random crops) rather than evaluation transforms.
    ///   - flip: Random horizontal flips.
    ///   - shift: The built-in data's random translation in pixels.
    func makeSource(imageSize: Int, train: Bool, flip: Bool, shift: Int) throws -> (source: any LoaderSampleSource, rewriteCount: Int) {
        var source: any LoaderSampleSource
        var rewriteCount: Int
        let pipeline = train ? ImagePipeline.train(size: imageSize, horizontalFlip: flip) : ImagePipeline.eval(size: imageSize)
        switch resolvedFormat {
        case .fashionMNIST, .auto:
            let images = try FashionMNIST(split: train ? .train : .test)
            let texts = try captions.map { try FashionMNISTCaptions(directory: $0, maximumRewrites: maxRewrites ?? .max) }
                ?? FashionMNISTCaptions.builtIn(captionSet, maximumRewrites: maxRewrites ?? .max)
            source = try FashionMNISTSampleSource(
                dataset: images, captions: texts.captionLists(for: images), size: imageSize, normalize: fashionNormalize,
                flipProbability: flip ? 0.5 : 0, maximumShift: train ? shift : 0)
            rewriteCount = texts.rewriteCount
        case .laclipCSV:
            let dataset = try LaCLIPCSVDataset(csvPath: data, imageRoot: imageRoot, rewritePaths: rewrites)
            source = DatasetSampleSource(dataset: dataset, pipeline: pipeline, size: imageSize)
            rewriteCount = rewrites.count
        case .csv, .tsv:
            let dataset = try OpenCLIPCSVDataset(
                path: data, imageKey: csvImageKey, captionKey: csvCaptionKey, separator: resolvedFormat == .tsv ? "\t" : ",",
                imageRoot: imageRoot, groupsByImage: true)
            rewriteCount = try Self.commonRewriteCount(dataset)
            source = DatasetSampleSource(dataset: dataset, pipeline: pipeline, size: imageSize)
        case .jsonl:
            let dataset = try JSONLinesDataset(path: data, imageRoot: imageRoot)
            rewriteCount = try Self.commonRewriteCount(dataset)
            source = DatasetSampleSource(dataset: dataset, pipeline: pipeline, size: imageSize)
        case .webdataset:
            // Random access for the loader's per-epoch shuffle: the shards' samples (encoded bytes) are read once.
            let shards = try WebDataset(shardPattern: data)
            let dataset = try SampleArrayDataset(collecting: shards, name: data)
            rewriteCount = try Self.commonRewriteCount(dataset)
            source = DatasetSampleSource(dataset: dataset, pipeline: pipeline, size: imageSize)
        case .cocoFolder:
            let dataset = try COCOMiniDataset(directory: data)
            rewriteCount = try Self.commonRewriteCount(dataset)
            source = DatasetSampleSource(dataset: dataset, pipeline: pipeline, size: imageSize)
        }
        if let maxRewrites, maxRewrites < rewriteCount { rewriteCount = maxRewrites }
        source = CaptionLimitedSource(base: source, captionCount: rewriteCount + 1)
        if let maxSamples { source = SubsetSampleSource.prefix(of: source, count: maxSamples) }
        guard source.count >= 2 else { throw ValidationError("\(data): \(source.count) samples; training needs at least 2") }
        return (source, rewriteCount)
    }

    /// The number of extra captions every sample has (the smallest over the data set).
    static func commonRewriteCount<D: ImageTextDataset>(_ dataset: D) throws -> Int {
        guard dataset.count > 0 else { throw ValidationError("the data set has no samples") }
        var smallest = Int.max
        for i in 0..<dataset.count { smallest = min(smallest, try dataset.sample(at: i).captions.count - 1) }
        return max(0, smallest)
    }
}

/// Fashion-MNIST's pixel mean and standard deviation, replicated to 3 channels.
let fashionNormalize = Normalize(mean: [0.2860, 0.2860, 0.2860], std: [0.3530, 0.3530, 0.3530])

/// A source whose samples keep only their first `captionCount` captions (original + M rewrites).
struct CaptionLimitedSource: LoaderSampleSource {
    let base: any LoaderSampleSource
    let captionCount: Int
    var count: Int { base.count }
    var imageShape: [Int] { base.imageShape }
    func captions(at index: Int) throws -> [String] { Array(try base.captions(at: index).prefix(captionCount)) }
    func writeImage(at index: Int, generator: inout RandomGenerator, into destination: UnsafeMutablePointer<Float>) throws {
        try base.writeImage(at: index, generator: &generator, into: destination)
    }
    func sampleName(at index: Int) -> String { base.sampleName(at: index) }
}

/// The model a command builds: a preset or an open_clip model-config JSON.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Model preset: \(CLIPConfiguration.presetNames.joined(separator: ", ")) (default: mini-28 for the built-in data, tiny otherwise)."))
    var preset: String?
    @Option(name: .customLong("model-config"), help: "An open_clip model-config JSON (embed_dim, vision_cfg, text_cfg) instead of a preset.")
    var modelConfig: String?

    func validate() throws {
        if preset != nil && modelConfig != nil { throw ValidationError("give --preset or --model-config, not both") }
        if let preset, CLIPConfiguration.preset(named: preset) == nil {
            throw ValidationError("unknown preset '\(preset)'; use \(CLIPConfiguration.presetNames.joined(separator: ", "))")
        }
    }

    func configuration(defaultPreset: String) throws -> CLIPConfiguration {
        if let modelConfig { return try OpenCLIPInterop.configuration(contentsOf: URL(fileURLWithPath: modelConfig)) }
        return CLIPConfiguration.preset(named: preset ?? defaultPreset)!
    }
}

/// Reads a text file's lines (without a trailing empty line).
func readLines(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else { throw DataError(.unreadable, file: path, "cannot read file") }
    return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }.dropLastIfEmpty()
}

/// Writes a line to standard error.
func note(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }


extension FashionMNISTCaptions.BuiltInSet: ExpressibleByArgument {}
