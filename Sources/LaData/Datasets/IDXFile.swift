/// The IDX format of (Fashion-)MNIST: a 4-byte magic (`0, 0, type, rank`), `rank` big-endian UInt32
/// dimensions, then the elements in row-major order. Only unsigned-byte data (type `0x08`) is supported.
public struct IDXFile: Sendable {
    /// The dimensions, outermost first.
    public let shape: [Int]
    /// The elements, row-major; `data.count` is the product of `shape`.
    public let data: [UInt8]

    /// Reads an IDX file (gzip-compressed or plain) and checks its header and length.
    /// - Parameters:
    ///   - path: The file.
    ///   - rank: The number of dimensions expected (1 for labels, 3 for images).
    /// - Throws: `DataError` naming the file and field: `.unreadable` for a missing file, `.malformed` for a
    ///   wrong magic number or rank, `.unsupported` for a non-byte element type, `.truncated` when the data
    ///   is shorter than the dimensions say and `.mismatch` when it is longer.
    public init(path: String, rank: Int) throws {
        // The header first: a file that is not IDX (a gzip of zeros, say) is refused before its data is inflated,
        // and the data is read only up to the size the dimensions declare (plus one byte to detect extra data).
        let headerSize = 4 + 4 * max(rank, 0)
        let header = try Gzip.readPrefix(path: path, count: headerSize)
        let (_, total) = try Self.parseHeader(header, file: path, rank: rank, requireData: false)
        guard total <= IDXFile.maximumDataSize else {
            throw DataError(.unsupported, file: path, field: "dimensions",
                            "the dimensions declare \(total) bytes, more than the limit of \(IDXFile.maximumDataSize)")
        }
        var bytes: [UInt8]
        do { bytes = try Gzip.readAll(path: path, maximumSize: headerSize + total + 1) } catch let error as DataError where error.kind == .unsupported {
            throw DataError(.mismatch, file: path, field: "data", "the dimensions need \(total) bytes of data but the file has more (extra bytes)")
        }
        let (shape, _) = try Self.parseHeader(bytes, file: path, rank: rank, requireData: true)
        bytes.removeFirst(headerSize)  // in place: no second copy of the pixels
        self.shape = shape
        self.data = bytes
    }

    /// The largest data size an IDX file may declare (4 GiB).
    public static let maximumDataSize = 1 << 32

    /// Parses IDX content already in memory.
    /// - Parameters:
    ///   - bytes: The decompressed content.
    ///   - file: The name used in errors.
    ///   - rank: The number of dimensions expected.
    /// - Throws: `DataError` as `init(path:rank:)`.
    public init(bytes: [UInt8], file: String, rank: Int) throws {
        let (shape, _) = try Self.parseHeader(bytes, file: file, rank: rank, requireData: true)
        let headerSize = 4 + 4 * rank
        self.shape = shape
        self.data = Array(bytes[headerSize...])
    }

    /// The dimensions and data size of an IDX header in `bytes`; with `requireData`, also checks that exactly that
    /// much data follows.
    static func parseHeader(_ bytes: [UInt8], file: String, rank: Int, requireData: Bool) throws -> (shape: [Int], total: Int) {
        guard bytes.count >= 4 else {
            throw DataError(.truncated, file: file, field: "magic", "file is shorter than the 4-byte magic number")
        }
        let magic = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
        let expected = 0x0800 | rank
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(.malformed, file: file, field: "magic", "magic number 0x\(String(magic, radix: 16)) is not an IDX header")
        }
        guard bytes[2] == 0x08 else {
            throw DataError(.unsupported, file: file, field: "magic",
                            "element type 0x\(String(bytes[2], radix: 16)) is not unsigned byte (0x08)")
        }
        guard magic == expected else {
            throw DataError(.malformed, file: file, field: "magic",
                            "magic number 0x\(String(magic, radix: 16)) (rank \(bytes[3])) but expected 0x\(String(expected, radix: 16)) (rank \(rank))")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError(.truncated, file: file, field: "dimensions", "file ends inside the dimension list")
        }
        var shape: [Int] = []
        var total = 1
        for axis in 0..<rank {
            let start = 4 + 4 * axis
            let size = bytes[start..<(start + 4)].reduce(0) { $0 << 8 | Int($1) }
            shape.append(size)
            let (product, overflow) = total.multipliedReportingOverflow(by: size)
            guard !overflow, product <= 1 << 40 else {
                throw DataError(.unsupported, file: file, field: "dimensions", "dimensions \(shape) are too large")
            }
            total = product
        }
        guard requireData else { return (shape, total) }
        let available = bytes.count - headerSize
        guard available >= total else {
            throw DataError(.truncated, file: file, field: "data",
                            "dimensions \(shape) need \(total) bytes of data but the file has \(available)")
        }
        guard available == total else {
            throw DataError(.mismatch, file: file, field: "data",
                            "dimensions \(shape) need \(total) bytes of data but the file has \(available) (extra bytes)")
        }
        return (shape, total)
    }
}
