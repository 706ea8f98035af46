import Foundation
import LaTensor

// Crops, flips, normalisation and RandomResizedCrop, with torchvision's semantics.

extension RandomGenerator {
    /// A uniform Double in [low, high) (one block of the stream).
    /// - Parameters:
    ///   - low: The lower bound.
    ///   - high: The upper bound.
    @inlinable
    mutating func uniformDouble(_ low: Double, _ high: Double) -> Double {
        let bits = next()
        let u = RandomGenerator.unitDouble(UInt32(truncatingIfNeeded: bits), UInt32(truncatingIfNeeded: bits >> 32))
        return low + (high - low) * u
    }
}

/// Python's `round` (halves to even), which torchvision uses for crop offsets and sizes.
@inlinable
func pythonRound(_ value: Double) -> Int { Int(value.rounded(.toNearestOrEven)) }

extension RGBImage {
    /// The pixels inside `region`; parts of the region outside the image are black (zero padding).
    /// - Parameter region: The crop box (may extend past the image).
    public func cropped(to region: ImageRegion) -> RGBImage {
        var out = [UInt8](repeating: 0, count: region.width * region.height * 3)
        let x0 = Swift.max(region.x, 0), x1 = Swift.min(region.x + region.width, width)
        let y0 = Swift.max(region.y, 0), y1 = Swift.min(region.y + region.height, height)
        if x1 > x0 && y1 > y0 {
            out.withUnsafeMutableBufferPointer { o in
                pixels.withUnsafeBufferPointer { s in
                    for y in y0..<y1 {
                        let target = o.baseAddress! + ((y - region.y) * region.width + (x0 - region.x)) * 3
                        target.update(from: s.baseAddress! + (y * width + x0) * 3, count: (x1 - x0) * 3)
                    }
                }
            }
        }
        return RGBImage(width: region.width, height: region.height, pixels: out)
    }

    /// The image mirrored left to right.
    public func horizontallyFlipped() -> RGBImage {
        var out = pixels
        out.withUnsafeMutableBufferPointer { o in
            pixels.withUnsafeBufferPointer { s in
                for y in 0..<height {
                    let src = s.baseAddress! + y * width * 3, dst = o.baseAddress! + y * width * 3
                    for x in 0..<width {
                        let d = dst + (width - 1 - x) * 3
                        d[0] = src[3 * x]
                        d[1] = src[3 * x + 1]
                        d[2] = src[3 * x + 2]
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

extension FloatImage {
    /// The samples inside `region`; parts of the region outside the image are zero (padding).
    /// - Parameter region: The crop box (may extend past the image).
    public func cropped(to region: ImageRegion) -> FloatImage {
        var out = [Float](repeating: 0, count: channels * region.width * region.height)
        let x0 = Swift.max(region.x, 0), x1 = Swift.min(region.x + region.width, width)
        let y0 = Swift.max(region.y, 0), y1 = Swift.min(region.y + region.height, height)
        if x1 > x0 && y1 > y0 {
            out.withUnsafeMutableBufferPointer { o in
                pixels.withUnsafeBufferPointer { s in
                    for c in 0..<channels {
                        for y in y0..<y1 {
                            let target = o.baseAddress!
                                + (c * region.height + y - region.y) * region.width + (x0 - region.x)
                            target.update(from: s.baseAddress! + (c * height + y) * width + x0, count: x1 - x0)
                        }
                    }
                }
            }
        }
        return FloatImage(channels: channels, width: region.width, height: region.height, pixels: out)
    }

    /// The image mirrored left to right.
    public func horizontallyFlipped() -> FloatImage {
        var copy = self
        copy.flipHorizontally()
        return copy
    }

    /// Mirrors the image left to right in place.
    public mutating func flipHorizontally() {
        let width = self.width, rows = channels * height
        pixels.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows {
                let row = p.baseAddress! + r * width
                var i = 0, j = width - 1
                while i < j {
                    let t = row[i]
                    row[i] = row[j]
                    row[j] = t
                    i += 1
                    j -= 1
                }
            }
        }
    }
}

extension ImageData {
    /// The pixels inside `region` (zero-padded outside the image), keeping the representation.
    /// - Parameter region: The crop box.
    public func cropped(to region: ImageRegion) -> ImageData {
        switch self {
        case .rgb8(let image): return .rgb8(image.cropped(to: region))
        case .float(let image): return .float(image.cropped(to: region))
        }
    }

    /// The image mirrored left to right, keeping the representation.
    public func horizontallyFlipped() -> ImageData {
        switch self {
        case .rgb8(let image): return .rgb8(image.horizontallyFlipped())
        case .float(let image): return .float(image.horizontallyFlipped())
        }
    }
}

/// Crops the center (torchvision's `CenterCrop`): offsets `round((H - h) / 2)` and `round((W - w) / 2)`
/// with Python's half-to-even rounding; an image smaller than the crop is zero-padded first (the padding
/// split `floor` before, `ceil` after).
public struct CenterCrop: ImageTransform {
    /// The output width.
    public var width: Int
    /// The output height.
    public var height: Int

    /// A square center crop.
    /// - Parameter size: The side length.
    public init(_ size: Int) { self.init(width: size, height: size) }

    /// A center crop of the given size.
    /// - Parameters:
    ///   - width: The output width.
    ///   - height: The output height.
    public init(width: Int, height: Int) {
        checkPrecondition(width >= 1 && height >= 1, "CenterCrop: size \(width)x\(height) must be positive")
        self.width = width
        self.height = height
    }

    /// The crop box for an image of `width` × `height` (it may extend past the image, meaning padding).
    /// - Parameters:
    ///   - imageWidth: The input width.
    ///   - imageHeight: The input height.
    public func region(imageWidth: Int, imageHeight: Int) -> ImageRegion {
        func offset(_ size: Int, _ crop: Int) -> Int {
            crop > size ? -((crop - size) / 2) : pythonRound(Double(size - crop) / 2)
        }
        return ImageRegion(
            x: offset(imageWidth, width), y: offset(imageHeight, height), width: width, height: height)
    }

    /// Crops `image`.
    /// - Parameters:
    ///   - image: The input image.
    ///   - generator: Unused (the transform is deterministic).
    public func apply(_ image: ImageData, generator: inout RandomGenerator) -> ImageData {
        if image.width == width && image.height == height { return image }
        return image.cropped(to: region(imageWidth: image.width, imageHeight: image.height))
    }
}

/// Mirrors the image left to right with probability `probability` (torchvision's `RandomHorizontalFlip`).
/// Draws one number from the generator per image.
public struct RandomHorizontalFlip: ImageTransform {
    /// The chance of flipping.
    public var probability: Double

    /// Creates the transform.
    /// - Parameter probability: The chance of flipping, in [0, 1].
    public init(probability: Double = 0.5) {
        checkPrecondition((0...1).contains(probability), "RandomHorizontalFlip: probability \(probability) not in [0, 1]")
        self.probability = probability
    }

    /// Flips `image` or not.
    /// - Parameters:
    ///   - image: The input image.
    ///   - generator: The source of the coin flip.
    public func apply(_ image: ImageData, generator: inout RandomGenerator) -> ImageData {
        generator.uniformDouble(0, 1) < probability ? image.horizontallyFlipped() : image
    }
}

/// Subtracts a per-channel mean and divides by a per-channel standard deviation (torchvision's
/// `Normalize`), on images with values in [0, 1].
public struct Normalize: ImageTransform {
    /// The per-channel means.
    public var mean: [Float]
    /// The per-channel standard deviations.
    public var std: [Float]

    /// OpenAI CLIP's statistics (open_clip's `OPENAI_DATASET_MEAN` / `OPENAI_DATASET_STD`).
    public static let openAI = Normalize(
        mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711])
    /// ImageNet's statistics (`IMAGENET_DEFAULT_MEAN` / `IMAGENET_DEFAULT_STD`).
    public static let imageNet = Normalize(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// Creates the transform.
    /// - Parameters:
    ///   - mean: The per-channel means.
    ///   - std: The per-channel standard deviations (all nonzero).
    public init(mean: [Float], std: [Float]) {
        checkPrecondition(mean.count == std.count && !mean.isEmpty, "Normalize: mean and std must have the same count")
        checkPrecondition(std.allSatisfy { $0 != 0 }, "Normalize: zero standard deviation")
        self.mean = mean
        self.std = std
    }

    /// Normalises `image` in place (channel `c` becomes `(x - mean[c]) / std[c]`).
    /// - Parameter image: A float image with as many channels as `mean`.
    public func normalize(_ image: inout FloatImage) {
        checkPrecondition(image.channels == mean.count, "Normalize: \(mean.count) means for \(image.channels) channels")
        let plane = image.width * image.height
        image.pixels.withUnsafeMutableBufferPointer { p in
            for c in 0..<mean.count {
                let scale = 1 / std[c], shift = -mean[c] / std[c]
                let channel = p.baseAddress! + c * plane
                for i in 0..<plane { channel[i] = channel[i] * scale + shift }
            }
        }
    }

    /// Normalises `image` (an 8-bit image is first converted to [0, 1] floats).
    /// - Parameters:
    ///   - image: The input image.
    ///   - generator: Unused (the transform is deterministic).
    public func apply(_ image: ImageData, generator: inout RandomGenerator) -> ImageData {
        var float = image.floatImage
        normalize(&float)
        return .float(float)
    }
}

/// Crops a random region of random area and aspect ratio and resizes it to a fixed size
/// (torchvision's `RandomResizedCrop`, with LaCLIP's default scale range (0.5, 1.0) and open_clip's
/// bicubic filter).
///
/// The region is sampled with torchvision's algorithm: up to 10 attempts of an area fraction uniform in
/// `scale` and an aspect ratio log-uniform in `ratio`, sides `round(sqrt(area * ratio))` and
/// `round(sqrt(area / ratio))`, accepted if they fit and placed uniformly; otherwise a center crop of the
/// whole image clamped to the ratio range. Crop and resize are fused: the resampler reads the region in
/// place.
public struct RandomResizedCrop: DraftableImageTransform {
    /// The output width.
    public var width: Int
    /// The output height.
    public var height: Int
    /// The range of the crop's area as a fraction of the image's.
    public var scale: ClosedRange<Double>
    /// The range of the crop's aspect ratio (width / height).
    public var ratio: ClosedRange<Double>
    /// The interpolation kernel.
    public var filter: ResizeFilter
    /// Whether to antialias when downscaling.
    public var antialias: Bool

    /// Creates the transform.
    /// - Parameters:
    ///   - size: The output side length (square output).
    ///   - scale: The range of the crop's area fraction (LaCLIP: 0.5 ... 1.0; torchvision: 0.08 ... 1.0).
    ///   - ratio: The range of the crop's aspect ratio.
    ///   - filter: The interpolation kernel.
    ///   - antialias: Whether to antialias when downscaling.
    public init(
        _ size: Int, scale: ClosedRange<Double> = 0.5...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0),
        filter: ResizeFilter = .bicubic, antialias: Bool = true
    ) {
        self.init(width: size, height: size, scale: scale, ratio: ratio, filter: filter, antialias: antialias)
    }

    /// Creates the transform with a rectangular output.
    /// - Parameters:
    ///   - width: The output width.
    ///   - height: The output height.
    ///   - scale: The range of the crop's area fraction.
    ///   - ratio: The range of the crop's aspect ratio.
    ///   - filter: The interpolation kernel.
    ///   - antialias: Whether to antialias when downscaling.
    public init(
        width: Int, height: Int, scale: ClosedRange<Double> = 0.5...1.0,
        ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0), filter: ResizeFilter = .bicubic,
        antialias: Bool = true
    ) {
        checkPrecondition(width >= 1 && height >= 1, "RandomResizedCrop: size \(width)x\(height) must be positive")
        checkPrecondition(scale.lowerBound > 0, "RandomResizedCrop: scale \(scale) must be positive")
        checkPrecondition(ratio.lowerBound > 0, "RandomResizedCrop: ratio \(ratio) must be positive")
        self.width = width
        self.height = height
        self.scale = scale
        self.ratio = ratio
        self.filter = filter
        self.antialias = antialias
    }

    /// Samples a crop box for an image of `imageWidth` × `imageHeight` (torchvision's `get_params`).
    /// - Parameters:
    ///   - imageWidth: The input width.
    ///   - imageHeight: The input height.
    ///   - scale: The range of the crop's area fraction.
    ///   - ratio: The range of the crop's aspect ratio.
    ///   - generator: The source of randomness (4 draws per attempt that fits, 2 per rejected attempt).
    public static func sampleRegion(
        imageWidth: Int, imageHeight: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>,
        generator: inout RandomGenerator
    ) -> ImageRegion {
        let area = Double(imageWidth * imageHeight)
        let logLow = Foundation.log(ratio.lowerBound), logHigh = Foundation.log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * generator.uniformDouble(scale.lowerBound, scale.upperBound)
            let aspect = Foundation.exp(generator.uniformDouble(logLow, logHigh))
            let w = pythonRound((targetArea * aspect).squareRoot())
            let h = pythonRound((targetArea / aspect).squareRoot())
            if w > 0 && w <= imageWidth && h > 0 && h <= imageHeight {
                let top = Int.random(in: 0...(imageHeight - h), using: &generator)
                let left = Int.random(in: 0...(imageWidth - w), using: &generator)
                return ImageRegion(x: left, y: top, width: w, height: h)
            }
        }
        // Fallback: a center crop as large as the ratio range allows.
        let inRatio = Double(imageWidth) / Double(imageHeight)
        var w = imageWidth, h = imageHeight
        if inRatio < ratio.lowerBound {
            h = pythonRound(Double(w) / ratio.lowerBound)
        } else if inRatio > ratio.upperBound {
            w = pythonRound(Double(h) * ratio.upperBound)
        }
        return ImageRegion(x: (imageWidth - w) / 2, y: (imageHeight - h) / 2, width: w, height: h)
    }

    /// Draws the crop box for an input of `imageWidth` × `imageHeight` (the same draws as `apply`) and returns
    /// the resampling `apply` performs: the box, resized to `width` × `height`.
    /// - Parameters:
    ///   - imageWidth: The input width (for a draft-decoded JPEG, the width stored in the file).
    ///   - imageHeight: The input height.
    ///   - generator: The source of randomness.
    public func resamplePlan(imageWidth: Int, imageHeight: Int, generator: inout RandomGenerator) -> ResamplePlan {
        let region = RandomResizedCrop.sampleRegion(
            imageWidth: imageWidth, imageHeight: imageHeight, scale: scale, ratio: ratio, generator: &generator)
        return ResamplePlan(region: region, width: width, height: height, filter: filter, antialias: antialias)
    }

    /// Crops a random region of `image` and resizes it.
    /// - Parameters:
    ///   - image: The input image.
    ///   - generator: The source of randomness.
    public func apply(_ image: ImageData, generator: inout RandomGenerator) -> ImageData {
        .float(resamplePlan(imageWidth: image.width, imageHeight: image.height, generator: &generator).apply(to: image))
    }
}
