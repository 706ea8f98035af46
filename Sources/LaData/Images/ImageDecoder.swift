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
        var result = cla_image()
        let status = cla_image_decode(
            buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count, maximumPixels, &result)
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
        return RGBImage(width: width, height: height, pixels: pixels)
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
        var result = cla_image()
        let status = bytes.withUnsafeBufferPointer { cla_image_probe($0.baseAddress, $0.count, &result) }
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
    private static func readFile(path: String, limit: Int = .max) throws -> [UInt8] {
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
