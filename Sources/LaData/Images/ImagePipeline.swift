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

/// The resampling a transform starts with: `region` of its input, resized to `width` × `height`.
///
/// A `DraftableImageTransform` returns it from the file's header size before the pixels are decoded, so that
/// `ImagePipeline` can choose a DCT scale for the JPEG decoder and run the resampling on the smaller image.
public struct ResamplePlan: Sendable, Equatable {
    /// The part of the input to resample, in the input's (for a JPEG, the file's full-size) pixels.
    public var region: ImageRegion
    /// The output width.
    public var width: Int
    /// The output height.
    public var height: Int
    /// The interpolation kernel.
    public var filter: ResizeFilter
    /// Whether to antialias when downscaling.
    public var antialias: Bool

    /// Creates a plan.
    /// - Parameters:
    ///   - region: The part of the input to resample (inside the input).
    ///   - width: The output width (>= 1).
    ///   - height: The output height (>= 1).
    ///   - filter: The interpolation kernel.
    ///   - antialias: Whether to antialias when downscaling.
    public init(region: ImageRegion, width: Int, height: Int, filter: ResizeFilter, antialias: Bool) {
        self.region = region
        self.width = width
        self.height = height
        self.filter = filter
        self.antialias = antialias
    }

    /// Runs the plan on an image of the size it was planned for.
    /// - Parameter image: The input image.
    public func apply(to image: ImageData) -> FloatImage {
        ImageResampler.resize(image, width: width, height: height, region: region, filter: filter, antialias: antialias)
    }

    /// Runs the plan, made for the file's full size, on a possibly DCT-downscaled decode of it: the region is
    /// mapped to the decoded pixels by the exact scale `n / d` (fractional edges included, see
    /// `DraftDecodedImage`), so the same part of the picture is resampled. At scale 1 this is exactly
    /// `apply(to: .rgb8(decoded.image))`.
    /// - Parameter decoded: The decoded image; its original size must be the one the plan was made for.
    public func apply(to decoded: DraftDecodedImage) -> FloatImage {
        guard decoded.isScaled else { return apply(to: .rgb8(decoded.image)) }
        let s = decoded.scale
        return ImageResampler.resize(
            decoded.image, width: width, height: height, x: Double(region.x) * s, y: Double(region.y) * s,
            regionWidth: Double(region.width) * s, regionHeight: Double(region.height) * s, filter: filter,
            antialias: antialias)
    }

    /// The DCT scale `n / 8` a JPEG decoder should use: the smallest `n` in 1 ... 8 at which `region` still
    /// spans at least `width` × `height` decoded pixels (`region.width · n / 8 >= width`, and the same for the
    /// height), so the resampling downscales (or keeps the size) and never upscales because of the draft.
    public var draftScaleNumerator: Int {
        for n in 1..<8 where region.width * n >= 8 * width && region.height * n >= 8 * height { return n }
        return 8
    }

    /// The decoded size to ask `ImageDecoder.decode(buffer:name:minimumWidth:minimumHeight:)` for, so that it
    /// picks `draftScaleNumerator`: `ceil(originalWidth · n / 8)` × `ceil(originalHeight · n / 8)`, or 0 × 0
    /// (full size) when `n` is 8.
    /// - Parameters:
    ///   - originalWidth: The width stored in the file (the input size the plan was made for).
    ///   - originalHeight: The height stored in the file.
    public func minimumDecodedSize(originalWidth: Int, originalHeight: Int) -> (width: Int, height: Int) {
        let n = draftScaleNumerator
        guard n < 8 else { return (0, 0) }
        return ((originalWidth * n + 7) / 8, (originalHeight * n + 7) / 8)
    }
}

/// A transform whose first step is a `ResamplePlan` it can make from the input's size alone, before the pixels
/// exist (`RandomResizedCrop`, `Resize`): as the first transform of an `ImagePipeline` with `draftDecoding`, it
/// lets JPEGs be decoded at reduced size.
public protocol DraftableImageTransform: ImageTransform {
    /// Makes the transform's random draws for an input of `imageWidth` × `imageHeight` — exactly the draws
    /// `apply` makes for an input of that size — and returns the resampling `apply` would perform, so that
    /// `apply(image, generator:)` equals `.float(resamplePlan(...).apply(to: image))` with the same generator.
    /// - Parameters:
    ///   - imageWidth: The input width (for a draft-decoded JPEG, the width stored in the file).
    ///   - imageHeight: The input height.
    ///   - generator: The source of randomness.
    func resamplePlan(imageWidth: Int, imageHeight: Int, generator: inout RandomGenerator) -> ResamplePlan
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
///
/// **Draft decoding** (`draftDecoding`, off by default) is the fast path of PIL's `Image.draft()`: when the
/// pipeline decodes a JPEG itself (`apply(path:)`, `apply(bytes:)`, `tensor(path:)`, the loader's
/// `DatasetSampleSource`) and its first transform is a `DraftableImageTransform`, it reads the file's header,
/// makes that transform's random draws on the full-size width and height (the same draws as without the draft),
/// and lets libjpeg-turbo downscale in the DCT domain by the smallest `n / 8` at which the chosen crop (or the
/// whole image, for `Resize`) still has at least the output's pixels along each side. The crop is then mapped to
/// the decoded pixels and resampled as usual. For small outputs this decodes at 1/8 or 1/4 and is several times
/// faster (COCO 640×480 JPEGs to 32×32: 1/8). The price: the DCT scaling acts like a box filter before the
/// antialiased resize, so the result is close to, but not bit-identical with, full decode + resize (on the COCO
/// mini images, a mean absolute difference of about 0.005 on [0, 1] pixels, 0.026 for the most detailed image at
/// 224 px; `Tests/LaDataTests/DraftDecodingTests.swift`). The default (off) keeps torchvision's and PIL's full
/// decode + resize. PNGs, and pipelines that start with another transform, always decode at full size.
public struct ImagePipeline: Sendable {
    /// The transforms, applied in order.
    public var transforms: [any ImageTransform]
    /// Whether JPEGs this pipeline decodes are downscaled in the DCT domain while decoding (PIL's `draft`):
    /// faster, slightly different from a full decode + resize. Off by default. The random draws, and so the
    /// crop regions and flips, are the same either way.
    public var draftDecoding: Bool

    /// Creates a pipeline.
    /// - Parameters:
    ///   - transforms: The transforms, applied in order.
    ///   - draftDecoding: Whether to decode JPEGs at reduced size when the first transform allows it (see
    ///     `ImagePipeline`; off by default).
    public init(_ transforms: [any ImageTransform], draftDecoding: Bool = false) {
        self.transforms = transforms
        self.draftDecoding = draftDecoding
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
    ///   - draftDecoding: Whether to decode JPEGs at the smallest DCT scale (1/8 ... 8/8) that leaves each drawn
    ///     crop at least `size` pixels wide and high: much faster for small sizes, slightly different from a full
    ///     decode (see `ImagePipeline`). Off by default (torchvision's decode + resize); the crops and flips
    ///     drawn are the same either way.
    public static func train(
        size: Int, scale: ClosedRange<Double> = 0.5...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0),
        horizontalFlip: Bool = false, filter: ResizeFilter = .bicubic, normalize: Normalize = .openAI,
        draftDecoding: Bool = false
    ) -> ImagePipeline {
        var steps: [any ImageTransform] = [RandomResizedCrop(size, scale: scale, ratio: ratio, filter: filter)]
        if horizontalFlip { steps.append(RandomHorizontalFlip()) }
        steps.append(normalize)
        return ImagePipeline(steps, draftDecoding: draftDecoding)
    }

    /// open_clip's evaluation transform: `Resize(size)` of the shorter side, `CenterCrop(size)`, then
    /// normalisation.
    /// - Parameters:
    ///   - size: The output side length.
    ///   - filter: The interpolation kernel.
    ///   - normalize: The normalisation (OpenAI CLIP statistics by default).
    ///   - draftDecoding: Whether to decode JPEGs at the smallest DCT scale (1/8 ... 8/8) whose shorter side is
    ///     still at least `size` (see `ImagePipeline`). Off by default (open_clip's decode + resize).
    public static func eval(
        size: Int, filter: ResizeFilter = .bicubic, normalize: Normalize = .openAI, draftDecoding: Bool = false
    ) -> ImagePipeline {
        ImagePipeline([Resize(size, filter: filter), CenterCrop(size), normalize], draftDecoding: draftDecoding)
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

    /// Decodes an image file and runs the transforms (draft-decoding a JPEG when `draftDecoding` is on).
    /// - Parameters:
    ///   - path: The image file.
    ///   - generator: The source of randomness.
    /// - Throws: `DataError` naming `path` if the file cannot be read or decoded.
    public func apply(path: String, generator: inout RandomGenerator) throws -> FloatImage {
        guard drafts else { return apply(.rgb8(try ImageDecoder.decode(path: path)), generator: &generator) }
        let bytes = try ImageDecoder.readFile(path: path)
        return try bytes.withUnsafeBytes { try applyDrafting(buffer: $0, name: path, generator: &generator) }
    }

    /// Decodes in-memory image bytes (e.g. a WebDataset member) and runs the transforms (draft-decoding a
    /// JPEG when `draftDecoding` is on).
    /// - Parameters:
    ///   - bytes: The encoded image.
    ///   - name: How to name the source in errors.
    ///   - generator: The source of randomness.
    /// - Throws: `DataError` naming `name` if the bytes cannot be decoded.
    public func apply(bytes: [UInt8], name: String, generator: inout RandomGenerator) throws -> FloatImage {
        guard drafts else { return apply(.rgb8(try ImageDecoder.decode(bytes: bytes, name: name)), generator: &generator) }
        return try bytes.withUnsafeBytes { try applyDrafting(buffer: $0, name: name, generator: &generator) }
    }

    /// Decodes an image file and runs the transforms, as a `[3, H, W]` tensor.
    /// - Parameters:
    ///   - path: The image file.
    ///   - generator: The source of randomness.
    /// - Throws: `DataError` naming `path` if the file cannot be decoded.
    public func tensor(path: String, generator: inout RandomGenerator) throws -> Tensor<Float> {
        try apply(path: path, generator: &generator).tensor()
    }

    /// Decodes in-memory image bytes (e.g. a WebDataset member) and runs the transforms, as a `[3, H, W]` tensor.
    /// - Parameters:
    ///   - bytes: The encoded image.
    ///   - name: How to name the source in errors.
    ///   - generator: The source of randomness.
    /// - Throws: `DataError` naming `name` if the bytes cannot be decoded.
    public func tensor(bytes: [UInt8], name: String, generator: inout RandomGenerator) throws -> Tensor<Float> {
        try apply(bytes: bytes, name: name, generator: &generator).tensor()
    }

    /// Whether decoding goes through the draft path: on, and the first transform can plan from the header.
    private var drafts: Bool { draftDecoding && transforms.first is any DraftableImageTransform }

    /// The draft path: header, the first transform's draws on the full size, a DCT-scaled decode, the planned
    /// resampling mapped to the decoded pixels, then the other transforms. PNGs decode at full size.
    private func applyDrafting(
        buffer: UnsafeRawBufferPointer, name: String, generator: inout RandomGenerator
    ) throws -> FloatImage {
        let info = try ImageDecoder.info(buffer: buffer, name: name)
        guard info.format == .jpeg, let first = transforms.first as? any DraftableImageTransform else {
            return apply(.rgb8(try ImageDecoder.decode(buffer: buffer, name: name)), generator: &generator)
        }
        let plan = first.resamplePlan(imageWidth: info.width, imageHeight: info.height, generator: &generator)
        let minimum = plan.minimumDecodedSize(originalWidth: info.width, originalHeight: info.height)
        let decoded = try ImageDecoder.decode(
            buffer: buffer, name: name, minimumWidth: minimum.width, minimumHeight: minimum.height)
        var current = ImageData.float(plan.apply(to: decoded))
        for transform in transforms.dropFirst() { current = transform.apply(current, generator: &generator) }
        return current.floatImage
    }
}
