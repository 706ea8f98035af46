import LaTensor

/// One step of an image pipeline: a resize, crop, flip, normalisation, ...
///
/// Transforms are values (`Sendable`), so one pipeline can serve every loader thread; all randomness
/// comes from the generator passed in, so a seeded generator makes the output deterministic.
public protocol ImageTransform: Sendable {
    /// Applies the transform.
    /// - Parameters:
    ///   - image: The input image (8-bit interleaved or float planar).
    ///   - generator: The source of randomness (deterministic transforms ignore it).
    func apply(_ image: ImageData, generator: inout RandomGenerator) -> ImageData
}

/// A sequence of transforms from a decoded image to the model's `[3, H, W]` Float32 input, like
/// torchvision's `Compose` and open_clip's `image_transform`.
///
/// ```swift
/// let train = ImagePipeline.train(size: 224)        // RandomResizedCrop(224, scale 0.5...1) + CLIP normalisation
/// let eval = ImagePipeline.eval(size: 224)          // Resize(224) + CenterCrop(224) + CLIP normalisation
/// var rng = RandomGenerator(seed: 42)
/// let x = try train.tensor(path: "cat.jpg", generator: &rng)   // [3, 224, 224]
/// ```
public struct ImagePipeline: Sendable {
    /// The transforms, applied in order.
    public var transforms: [any ImageTransform]

    /// Creates a pipeline.
    /// - Parameter transforms: The transforms, applied in order.
    public init(_ transforms: [any ImageTransform]) {
        self.transforms = transforms
    }

    /// open_clip's training transform: `RandomResizedCrop(size, scale, bicubic)`, an optional horizontal
    /// flip, then normalisation.
    /// - Parameters:
    ///   - size: The output side length.
    ///   - scale: The crop's area fraction range (LaCLIP: 0.5 ... 1.0).
    ///   - ratio: The crop's aspect ratio range.
    ///   - horizontalFlip: Whether to add `RandomHorizontalFlip(0.5)` (open_clip does not by default).
    ///   - filter: The interpolation kernel.
    ///   - normalize: The normalisation (OpenAI CLIP statistics by default).
    public static func train(
        size: Int, scale: ClosedRange<Double> = 0.5...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0),
        horizontalFlip: Bool = false, filter: ResizeFilter = .bicubic, normalize: Normalize = .openAI
    ) -> ImagePipeline {
        var steps: [any ImageTransform] = [RandomResizedCrop(size, scale: scale, ratio: ratio, filter: filter)]
        if horizontalFlip { steps.append(RandomHorizontalFlip()) }
        steps.append(normalize)
        return ImagePipeline(steps)
    }

    /// open_clip's evaluation transform: `Resize(size)` of the shorter side, `CenterCrop(size)`, then
    /// normalisation.
    /// - Parameters:
    ///   - size: The output side length.
    ///   - filter: The interpolation kernel.
    ///   - normalize: The normalisation (OpenAI CLIP statistics by default).
    public static func eval(
        size: Int, filter: ResizeFilter = .bicubic, normalize: Normalize = .openAI
    ) -> ImagePipeline {
        ImagePipeline([Resize(size, filter: filter), CenterCrop(size), normalize])
    }

    /// Runs the transforms on an image.
    /// - Parameters:
    ///   - image: The input image.
    ///   - generator: The source of randomness.
    public func apply(_ image: ImageData, generator: inout RandomGenerator) -> FloatImage {
        var current = image
        for transform in transforms { current = transform.apply(current, generator: &generator) }
        return current.floatImage
    }

    /// Runs the transforms on a decoded image and returns a `[3, H, W]` tensor.
    /// - Parameters:
    ///   - image: The decoded image.
    ///   - generator: The source of randomness.
    public func tensor(_ image: RGBImage, generator: inout RandomGenerator) -> Tensor<Float> {
        apply(.rgb8(image), generator: &generator).tensor()
    }

    /// Decodes an image file and runs the transforms.
    /// - Parameters:
    ///   - path: The image file.
    ///   - generator: The source of randomness.
    /// - Throws: `DataError` naming `path` if the file cannot be decoded.
    public func tensor(path: String, generator: inout RandomGenerator) throws -> Tensor<Float> {
        tensor(try ImageDecoder.decode(path: path), generator: &generator)
    }

    /// Decodes in-memory image bytes (e.g. a WebDataset member) and runs the transforms.
    /// - Parameters:
    ///   - bytes: The encoded image.
    ///   - name: How to name the source in errors.
    ///   - generator: The source of randomness.
    /// - Throws: `DataError` naming `name` if the bytes cannot be decoded.
    public func tensor(bytes: [UInt8], name: String, generator: inout RandomGenerator) throws -> Tensor<Float> {
        tensor(try ImageDecoder.decode(bytes: bytes, name: name), generator: &generator)
    }
}
