import LaTensor

/// An 8-bit RGB image with interleaved pixels (row-major, `R G B R G B ...`, HWC), as the decoders
/// produce it.
///
/// This is the compact form images travel in before augmentation: 3 bytes per pixel. Resampling
/// (`ImageResampler`) reads it directly and produces a `FloatImage`.
public struct RGBImage: Sendable, Equatable {
    /// The width in pixels.
    public let width: Int
    /// The height in pixels.
    public let height: Int
    /// `height * width * 3` bytes: row `y`, column `x`, channel `c` at `(y * width + x) * 3 + c`.
    public var pixels: [UInt8]

    /// Creates an image from interleaved RGB bytes.
    /// - Parameters:
    ///   - width: The width in pixels (>= 0).
    ///   - height: The height in pixels (>= 0).
    ///   - pixels: `height * width * 3` bytes in row-major HWC order.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        checkPrecondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)x\(height)")
        checkPrecondition(
            pixels.count == width * height * 3,
            "RGBImage: \(pixels.count) bytes do not fill \(width)x\(height)x3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The sample at column `x`, row `y`, channel `channel` (0 red, 1 green, 2 blue).
    /// - Parameters:
    ///   - x: The column.
    ///   - y: The row.
    ///   - channel: The channel, 0 ..< 3.
    @inlinable
    public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
        pixels[(y * width + x) * 3 + channel]
    }

    /// The image as floats in [0, 1] (sample / 255), planar CHW.
    public func toFloat() -> FloatImage {
        let plane = width * height
        var result = FloatImage(zeros: 3, width: width, height: height)
        result.pixels.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { src in
                guard plane > 0 else { return }
                let o = out.baseAddress!, s = src.baseAddress!
                // Division (not multiplication by 1/255) so values are bit-identical to torchvision's ToTensor.
                for i in 0..<plane {
                    o[i] = Float(s[3 * i]) / 255
                    o[plane + i] = Float(s[3 * i + 1]) / 255
                    o[2 * plane + i] = Float(s[3 * i + 2]) / 255
                }
            }
        }
        return result
    }

    /// A `[3, height, width]` Float32 tensor with values in [0, 1] (sample / 255), like torchvision's
    /// `ToTensor`.
    public func tensor() -> Tensor<Float> { toFloat().tensor() }
}

/// A floating-point image in planar (CHW) layout: the form augmentations work on after resampling and the
/// layout of the model input.
public struct FloatImage: Sendable, Equatable {
    /// The number of channels (3 for RGB).
    public let channels: Int
    /// The width in pixels.
    public let width: Int
    /// The height in pixels.
    public let height: Int
    /// `channels * height * width` samples: channel `c`, row `y`, column `x` at `(c * height + y) * width + x`.
    public var pixels: [Float]

    /// Creates an image from planar samples.
    /// - Parameters:
    ///   - channels: The number of channels.
    ///   - width: The width in pixels.
    ///   - height: The height in pixels.
    ///   - pixels: `channels * height * width` samples in CHW order.
    public init(channels: Int = 3, width: Int, height: Int, pixels: [Float]) {
        checkPrecondition(channels >= 1 && width >= 0 && height >= 0, "FloatImage: bad size \(channels)x\(height)x\(width)")
        checkPrecondition(
            pixels.count == channels * width * height,
            "FloatImage: \(pixels.count) samples do not fill \(channels)x\(height)x\(width)")
        self.channels = channels
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Creates a black (all-zero) image.
    /// - Parameters:
    ///   - channels: The number of channels.
    ///   - width: The width in pixels.
    ///   - height: The height in pixels.
    public init(zeros channels: Int, width: Int, height: Int) {
        self.init(
            channels: channels, width: width, height: height,
            pixels: [Float](repeating: 0, count: channels * width * height))
    }

    /// Creates an image from a `[channels, height, width]` tensor.
    /// - Parameter tensor: A rank-3 tensor in CHW layout.
    public init(_ tensor: Tensor<Float>) {
        checkPrecondition(tensor.rank == 3, "FloatImage: expected a [C, H, W] tensor, got shape \(tensor.shape)")
        let c = tensor.shape[0], h = tensor.shape[1], w = tensor.shape[2]
        var values = [Float](repeating: 0, count: c * h * w)
        var i = 0
        for ci in 0..<c {
            for y in 0..<h {
                for x in 0..<w {
                    let index = tensor.offset + ci * tensor.strides[0] + y * tensor.strides[1] + x * tensor.strides[2]
                    values[i] = tensor.storage.pointer[index]
                    i += 1
                }
            }
        }
        self.init(channels: c, width: w, height: h, pixels: values)
    }

    /// The sample at column `x`, row `y`, channel `channel`.
    /// - Parameters:
    ///   - x: The column.
    ///   - y: The row.
    ///   - channel: The channel.
    @inlinable
    public subscript(x: Int, y: Int, channel: Int) -> Float {
        get { pixels[(channel * height + y) * width + x] }
        set { pixels[(channel * height + y) * width + x] = newValue }
    }

    /// The image as a contiguous `[channels, height, width]` Float32 tensor.
    public func tensor() -> Tensor<Float> {
        pixels.withUnsafeBufferPointer { Tensor(copying: $0, shape: [channels, height, width]) }
    }

    /// Copies the samples (CHW order) to `destination`, e.g. one slot of a preallocated batch tensor.
    /// - Parameter destination: Room for `channels * height * width` floats.
    public func write(to destination: UnsafeMutablePointer<Float>) {
        pixels.withUnsafeBufferPointer { source in
            if source.count > 0 { destination.update(from: source.baseAddress!, count: source.count) }
        }
    }
}

/// An image at some stage of a transform pipeline: still 8-bit interleaved (straight from the decoder),
/// or float planar (after resampling or conversion).
public enum ImageData: Sendable, Equatable {
    /// 8-bit interleaved RGB.
    case rgb8(RGBImage)
    /// Float planar CHW.
    case float(FloatImage)

    /// The width in pixels.
    public var width: Int {
        switch self {
        case .rgb8(let image): return image.width
        case .float(let image): return image.width
        }
    }

    /// The height in pixels.
    public var height: Int {
        switch self {
        case .rgb8(let image): return image.height
        case .float(let image): return image.height
        }
    }

    /// The image as floats (8-bit samples divided by 255).
    public var floatImage: FloatImage {
        switch self {
        case .rgb8(let image): return image.toFloat()
        case .float(let image): return image
        }
    }

    /// The image as a `[C, H, W]` Float32 tensor.
    public func tensor() -> Tensor<Float> { floatImage.tensor() }
}

/// An integer rectangle of an image: the crop box of `CenterCrop` and `RandomResizedCrop`.
public struct ImageRegion: Sendable, Equatable, Hashable {
    /// The left column.
    public var x: Int
    /// The top row.
    public var y: Int
    /// The width in pixels.
    public var width: Int
    /// The height in pixels.
    public var height: Int

    /// Creates a region.
    /// - Parameters:
    ///   - x: The left column.
    ///   - y: The top row.
    ///   - width: The width in pixels.
    ///   - height: The height in pixels.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}
