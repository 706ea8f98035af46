import CLaImageCodecs
import Foundation
import LaTensor

/// What an image file's header says, read without decoding the pixels.
public struct ImageInfo: Sendable, Equatable {
    /// The width in pixels.
    public let width: Int
    /// The height in pixels.
    public let height: Int
    /// Channels stored in the file: 1 gray, 2 gray + alpha, 3 RGB/YCbCr (or a palette), 4 RGBA or CMYK.
    public let channels: Int
    /// Bits per sample in the file.
    public let bitDepth: Int
    /// The container format (`.jpeg` or `.png`; `ImageFormat` is shared with the dataset readers).
    public let format: ImageFormat

    /// Creates header information.
    /// - Parameters:
    ///   - width: The width in pixels.
    ///   - height: The height in pixels.
    ///   - channels: Channels stored in the file.
    ///   - bitDepth: Bits per sample.
    ///   - format: The container format.
    public init(width: Int, height: Int, channels: Int, bitDepth: Int, format: ImageFormat) {
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.format = format
    }
}

/// An image decoded with a size hint (`ImageDecoder.decode(path:minimumWidth:minimumHeight:)`): a JPEG possibly
/// downscaled in the DCT domain by `scaleNumerator / scaleDenominator`, with the size stored in the file.
///
/// Pixel `x` of `image` covers original columns `x · d / n ..< (x + 1) · d / n` (n / d the scale), so the
/// original image spans `originalWidth · n / d` decoded pixels; the last decoded column and row may extend past
/// the original image by less than a pixel (libjpeg pads partial 8×8 blocks by repeating the edge).
public struct DraftDecodedImage: Sendable, Equatable {
    /// The decoded pixels, `ceil(originalWidth · n / d)` × `ceil(originalHeight · n / d)`.
    public let image: RGBImage
    /// The width stored in the file.
    public let originalWidth: Int
    /// The height stored in the file.
    public let originalHeight: Int
    /// The numerator `n` of the DCT scale (1 ... 7 of 8 for a scaled JPEG; 1 of 1 at full size).
    public let scaleNumerator: Int
    /// The denominator `d` of the DCT scale (8 for a scaled JPEG, 1 at full size).
    public let scaleDenominator: Int
    /// The container format.
    public let format: ImageFormat

    /// Creates a decoded image with its scale.
    /// - Parameters:
    ///   - image: The decoded pixels.
    ///   - originalWidth: The width stored in the file.
    ///   - originalHeight: The height stored in the file.
    ///   - scaleNumerator: The numerator of the scale applied while decoding.
    ///   - scaleDenominator: The denominator of the scale applied while decoding (> 0).
    ///   - format: The container format.
    public init(
        image: RGBImage, originalWidth: Int, originalHeight: Int, scaleNumerator: Int, scaleDenominator: Int,
        format: ImageFormat
    ) {
        checkPrecondition(scaleNumerator > 0 && scaleDenominator > 0, "DraftDecodedImage: scale must be positive")
        self.image = image
        self.originalWidth = originalWidth
        self.originalHeight = originalHeight
        self.scaleNumerator = scaleNumerator
        self.scaleDenominator = scaleDenominator
        self.format = format
    }

    /// The scale `n / d` from original to decoded pixels (1 when the image was not downscaled).
    public var scale: Double { Double(scaleNumerator) / Double(scaleDenominator) }

    /// Whether the decoder downscaled the image.
    public var isScaled: Bool { scaleNumerator != scaleDenominator }
}

/// Decodes JPEG (libjpeg-turbo) and PNG (libpng) files or in-memory bytes to 8-bit RGB.
///
/// Every image comes out as 3-channel RGB, the way PIL's `Image.open(f).convert("RGB")` gives it to
/// open_clip: grayscale is replicated to three channels, alpha (including a palette's transparency) is
/// dropped without compositing, palettes are expanded, 16-bit samples are scaled to 8 bits with rounding
/// (`round(v * 255 / 65535)`; PIL instead clips 16-bit gray at 255), and CMYK/YCCK JPEGs are converted
/// with PIL's formula `R = (255 - C)(255 - K) / 255` (Adobe-inverted samples are recognised).
///
/// Failures never crash: libjpeg's and libpng's error callbacks longjmp back inside C, and every problem
/// surfaces as a `DataError` naming the file (or the `name` given for in-memory bytes). A JPEG whose data
/// ends before the last scanline is an error (`.truncated`), not a gray-padded image.
public enum ImageDecoder {
    /// Images with more pixels than this are refused (PIL's decompression-bomb limit, 2 × 89,478,485).
    public static let maximumPixels = 178_956_970

    /// Decodes an image file.
    /// - Parameter path: The file path.
    /// - Throws: `DataError` (`.unreadable`, `.truncated`, `.malformed`, `.unsupported`) naming `path`.
    public static func decode(path: String) throws -> RGBImage {
        let bytes = try readFile(path: path)
        return try decode(bytes: bytes, name: path)
    }

    /// Decodes an image held in memory (a WebDataset tar member, a downloaded file).
    /// - Parameters:
    ///   - bytes: The encoded file content.
    ///   - name: How to name the source in errors (e.g. `shard-0001.tar: 000042.jpg`).
    /// - Throws: `DataError` naming `name`.
    public static func decode(bytes: [UInt8], name: String) throws -> RGBImage {
        try bytes.withUnsafeBufferPointer { try decode(buffer: UnsafeRawBufferPointer($0), name: name) }
    }

    /// Decodes an image held in memory.
    /// - Parameters:
    ///   - buffer: The encoded file content.
    ///   - name: How to name the source in errors.
    /// - Throws: `DataError` naming `name`.
    public static func decode(buffer: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        try decode(buffer: buffer, name: name, minimumWidth: 0, minimumHeight: 0).image
    }

    /// Decodes an image file, letting libjpeg-turbo downscale a JPEG in the DCT domain while decoding (like
    /// PIL's `Image.draft`).
    ///
    /// The decoder picks the smallest scale `N/8` (N in 1 ... 8) whose output, `ceil(width · N / 8)` ×
    /// `ceil(height · N / 8)`, is still at least `minimumWidth` × `minimumHeight`. At `N/8` each 8×8 block is
    /// rebuilt as N×N pixels from its low-frequency DCT coefficients, which skips most of the inverse DCT,
    /// chroma upsampling and colour conversion (1/8 decodes a 640×480 COCO image several times faster than
    /// full size). The result acts like a box-filtered downscale: close to, but not bit-identical with, a full
    /// decode followed by a resize. PNG files ignore the hint and decode at full size (scale 1/1).
    /// - Parameters:
    ///   - path: The file path.
    ///   - minimumWidth: The smallest acceptable decoded width (0: no constraint).
    ///   - minimumHeight: The smallest acceptable decoded height (0: no constraint; both 0: full size).
    /// - Throws: `DataError` (`.unreadable`, `.truncated`, `.malformed`, `.unsupported`) naming `path`, exactly
    ///   as `decode(path:)`.
    public static func decode(path: String, minimumWidth: Int, minimumHeight: Int) throws -> DraftDecodedImage {
        let bytes = try readFile(path: path)
        return try bytes.withUnsafeBytes {
            try decode(buffer: $0, name: path, minimumWidth: minimumWidth, minimumHeight: minimumHeight)
        }
    }

    /// Decodes in-memory bytes, letting libjpeg-turbo downscale a JPEG in the DCT domain while decoding (see
    /// `decode(path:minimumWidth:minimumHeight:)`).
    /// - Parameters:
    ///   - bytes: The encoded file content.
    ///   - name: How to name the source in errors.
    ///   - minimumWidth: The smallest acceptable decoded width (0: no constraint).
    ///   - minimumHeight: The smallest acceptable decoded height (0: no constraint; both 0: full size).
    /// - Throws: `DataError` naming `name`.
    public static func decode(bytes: [UInt8], name: String, minimumWidth: Int, minimumHeight: Int) throws
        -> DraftDecodedImage
    {
        try bytes.withUnsafeBytes {
            try decode(buffer: $0, name: name, minimumWidth: minimumWidth, minimumHeight: minimumHeight)
        }
    }

    /// Decodes an image held in memory, letting libjpeg-turbo downscale a JPEG in the DCT domain while
    /// decoding (see `decode(path:minimumWidth:minimumHeight:)`).
    /// - Parameters:
    ///   - buffer: The encoded file content.
    ///   - name: How to name the source in errors.
    ///   - minimumWidth: The smallest acceptable decoded width (0: no constraint).
    ///   - minimumHeight: The smallest acceptable decoded height (0: no constraint; both 0: full size).
    /// - Throws: `DataError` naming `name`.
    public static func decode(
        buffer: UnsafeRawBufferPointer, name: String, minimumWidth: Int, minimumHeight: Int
    ) throws -> DraftDecodedImage {
        var result = cla_image()
        let status = cla_image_decode_scaled(
            buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count, maximumPixels,
            Int32(clamping: max(minimumWidth, 0)), Int32(clamping: max(minimumHeight, 0)), &result)
        defer { cla_image_free(&result) }
        guard status == Int32(CLA_IMAGE_OK.rawValue), let source = result.pixels else {
            throw error(status: status, image: &result, name: name)
        }
        let width = Int(result.width), height = Int(result.height)
        let count = width * height * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0 { out.baseAddress!.initialize(from: source, count: count) }
            initialized = count
        }
        return DraftDecodedImage(
            image: RGBImage(width: width, height: height, pixels: pixels), originalWidth: Int(result.original_width),
            originalHeight: Int(result.original_height), scaleNumerator: Int(result.scale_num),
            scaleDenominator: Int(result.scale_denom),
            format: result.format == Int32(CLA_IMAGE_FORMAT_PNG.rawValue) ? .png : .jpeg)
    }

    /// Decodes an image file to a `[3, H, W]` Float32 tensor with values in [0, 1].
    /// - Parameter path: The file path.
    /// - Throws: `DataError` naming `path`.
    public static func tensor(path: String) throws -> Tensor<Float> {
        try decode(path: path).tensor()
    }

    /// Decodes in-memory bytes to a `[3, H, W]` Float32 tensor with values in [0, 1].
    /// - Parameters:
    ///   - bytes: The encoded file content.
    ///   - name: How to name the source in errors.
    /// - Throws: `DataError` naming `name`.
    public static func tensor(bytes: [UInt8], name: String) throws -> Tensor<Float> {
        try decode(bytes: bytes, name: name).tensor()
    }

    /// Reads the size and layout from the header only (the first 64 KiB of the file, or all of it when
    /// the header is longer, e.g. after a large EXIF block).
    /// - Parameter path: The file path.
    /// - Throws: `DataError` naming `path`.
    public static func info(path: String) throws -> ImageInfo {
        let head = try readFile(path: path, limit: 1 << 16)
        if head.count == 1 << 16, let info = try? info(bytes: head, name: path) { return info }
        if head.count < 1 << 16 { return try info(bytes: head, name: path) }
        return try info(bytes: try readFile(path: path), name: path)
    }

    /// Reads the size and layout from in-memory bytes without decoding the pixels.
    /// - Parameters:
    ///   - bytes: The encoded file content (at least its header).
    ///   - name: How to name the source in errors.
    /// - Throws: `DataError` naming `name`.
    public static func info(bytes: [UInt8], name: String) throws -> ImageInfo {
        try bytes.withUnsafeBytes { try info(buffer: $0, name: name) }
    }

    /// Reads the size and layout from an in-memory buffer without decoding the pixels.
    /// - Parameters:
    ///   - buffer: The encoded file content (at least its header).
    ///   - name: How to name the source in errors.
    /// - Throws: `DataError` naming `name`.
    public static func info(buffer: UnsafeRawBufferPointer, name: String) throws -> ImageInfo {
        var result = cla_image()
        let status = cla_image_probe(buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count, &result)
        guard status == Int32(CLA_IMAGE_OK.rawValue) else { throw error(status: status, image: &result, name: name) }
        return ImageInfo(
            width: Int(result.width), height: Int(result.height), channels: Int(result.source_channels),
            bitDepth: Int(result.bit_depth),
            format: result.format == Int32(CLA_IMAGE_FORMAT_PNG.rawValue) ? .png : .jpeg)
    }

    /// The `DataError` for a failed decode or probe.
    private static func error(status: Int32, image: inout cla_image, name: String) -> DataError {
        let message = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let kind: DataError.Kind
        switch UInt32(status) {
        case CLA_IMAGE_TRUNCATED.rawValue: kind = .truncated
        case CLA_IMAGE_UNSUPPORTED.rawValue, CLA_IMAGE_NO_MEMORY.rawValue: kind = .unsupported
        default: kind = .malformed
        }
        let format: String
        switch UInt32(image.format) {
        case CLA_IMAGE_FORMAT_JPEG.rawValue: format = "JPEG: "
        case CLA_IMAGE_FORMAT_PNG.rawValue: format = "PNG: "
        default: format = ""
        }
        return DataError(kind, file: name, "cannot decode image: \(format)\(message)")
    }

    /// The bytes of a file (or its first `limit` bytes).
    static func readFile(path: String, limit: Int = .max) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError(.unreadable, file: path, "cannot open file")
        }
        defer { try? handle.close() }
        do {
            let data = limit == .max ? try handle.readToEnd() : try handle.read(upToCount: limit)
            return [UInt8](data ?? Data())
        } catch {
            throw DataError(.unreadable, file: path, "cannot read file: \(error)")
        }
    }
}
