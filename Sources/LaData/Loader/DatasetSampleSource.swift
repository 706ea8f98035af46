import LaTensor

/// The loader source for any random-access `ImageTextDataset` (LaCLIP CSV, open_clip CSV/TSV, JSON lines,
/// COCO folders, `SampleArrayDataset`): each image is read, decoded by `ImageDecoder` (libjpeg-turbo, libpng)
/// and run through an `ImagePipeline` (e.g. `ImagePipeline.train(size:)`: RandomResizedCrop, flip, normalise);
/// a pipeline with `draftDecoding` (e.g. `.train(size: 32, draftDecoding: true)`) decodes JPEGs at reduced size.
public struct DatasetSampleSource<Dataset: ImageTextDataset>: LoaderSampleSource {
    /// The dataset.
    public let dataset: Dataset
    /// The transforms from the decoded image to the model input.
    public let pipeline: ImagePipeline
    /// The `[3, height, width]` size the pipeline must produce.
    public let imageShape: [Int]

    /// Creates the source.
    /// - Parameters:
    ///   - dataset: The dataset.
    ///   - pipeline: The transforms; their output must be `size` × `size` (or `width` × `height`).
    ///   - width: The output width of the pipeline.
    ///   - height: The output height of the pipeline.
    public init(dataset: Dataset, pipeline: ImagePipeline, width: Int, height: Int) {
        self.dataset = dataset
        self.pipeline = pipeline
        self.imageShape = [3, height, width]
    }

    /// Creates the source for a square output.
    /// - Parameters:
    ///   - dataset: The dataset.
    ///   - pipeline: The transforms; their output must be `size` × `size`.
    ///   - size: The output side length.
    public init(dataset: Dataset, pipeline: ImagePipeline, size: Int) {
        self.init(dataset: dataset, pipeline: pipeline, width: size, height: size)
    }

    /// The number of samples in the dataset.
    public var count: Int { dataset.count }

    /// The captions of sample `index`.
    /// - Parameter index: A sample in `0 ..< count`.
    public func captions(at index: Int) throws -> [String] { try dataset.sample(at: index).captions }

    /// Reads, decodes and transforms the image of sample `index` into `destination`.
    /// - Parameters:
    ///   - index: A sample in `0 ..< count`.
    ///   - generator: The sample's generator for the pipeline's random transforms.
    ///   - destination: Room for `3 × height × width` floats.
    /// - Throws: `DataError` naming the file when it cannot be read or decoded, or `.mismatch` when the
    ///   pipeline's output is not `imageShape`.
    public func writeImage(at index: Int, generator: inout RandomGenerator, into destination: UnsafeMutablePointer<Float>) throws {
        let reference = try dataset.sample(at: index).image
        // The pipeline decodes, so that one with `draftDecoding` can decode JPEGs at reduced size.
        let image: FloatImage
        switch reference.source {
        case .file(let path): image = try pipeline.apply(path: path, generator: &generator)
        case .bytes(let bytes): image = try pipeline.apply(bytes: bytes, name: reference.name, generator: &generator)
        }
        guard [image.channels, image.height, image.width] == imageShape else {
            throw DataError(.mismatch, file: reference.name, field: "image size",
                            "the pipeline produced \(image.channels)x\(image.height)x\(image.width), the loader expects "
                                + imageShape.map(String.init).joined(separator: "x"))
        }
        image.write(to: destination)
    }

    /// The image file (or member name) of sample `index`.
    /// - Parameter index: A sample in `0 ..< count`.
    public func sampleName(at index: Int) -> String {
        (try? dataset.sample(at: index).image.name) ?? "sample \(index)"
    }
}

/// A random-access dataset held in memory: a list of samples, e.g. collected from a streaming source such as
/// WebDataset shards (so that the loader can shuffle them per epoch) or built by hand in tests.
public struct SampleArrayDataset: ImageTextDataset {
    /// The samples.
    public let samples: [ImageTextSample]
    /// The name used in errors.
    public let name: String

    /// Wraps a list of samples.
    /// - Parameters:
    ///   - samples: The samples.
    ///   - name: The name used in errors.
    public init(samples: [ImageTextSample], name: String = "in-memory samples") {
        self.samples = samples
        self.name = name
    }

    /// Reads one pass of a streaming source into memory.
    /// - Parameters:
    ///   - source: The streaming source (e.g. a `WebDataset`).
    ///   - epoch: The epoch whose order is read.
    ///   - name: The name used in errors.
    /// - Throws: The source's `DataError`s.
    public init<Source: StreamingImageTextDataset>(collecting source: Source, epoch: Int = 0, name: String = "in-memory samples") throws {
        var iterator = source.makeIterator(epoch: epoch)
        var samples: [ImageTextSample] = []
        while let sample = try iterator.next() { samples.append(sample) }
        self.init(samples: samples, name: name)
    }

    /// The number of samples.
    public var count: Int { samples.count }

    /// The sample at `index`.
    /// - Parameter index: A position in `0 ..< count`.
    /// - Throws: `DataError(.unsupported)` when `index` is out of range.
    public func sample(at index: Int) throws -> ImageTextSample {
        try checkDatasetIndex(index, count: count, file: name)
        return samples[index]
    }
}
