import Foundation
import LaTensor

/// A checkpoint in the safetensors format (https://github.com/huggingface/safetensors).
///
/// The layout is an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets"}` (plus an optional `"__metadata__"` object of strings), then the
/// tensors' raw little-endian bytes, which must tile the rest of the file exactly.
///
/// `read(contentsOf:)` maps the file and validates the whole header before allocating any tensor, so a
/// truncated or hostile file throws a `SafeTensorsError` instead of crashing or allocating more than the
/// file holds. Tensors are then decoded on request:
///
/// ```swift
/// let file = try SafeTensorsFile.read(contentsOf: url)
/// let weight: Tensor<Float> = try file.tensor(named: "visual.proj")   // F16, BF16, F32 or F64 on disk
/// let ids = try file.tensor(named: "token_ids", as: Int.self)         // I64 on disk
/// try SafeTensorsFile.write(["w": weight], metadata: ["step": "100"], to: url)
/// ```
public struct SafeTensorsFile: Sendable {
    /// The largest header length accepted, as in the reference implementation (100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// One tensor's entry in the header.
    public struct TensorInfo: Sendable, Equatable {
        /// The element type on disk.
        public var dtype: DType
        /// The size of each dimension.
        public var shape: [Int]
        /// The tensor's bytes, relative to the start of the data buffer after the header.
        public var dataOffsets: Range<Int>

        /// The number of elements (the product of `shape`).
        public var elementCount: Int { shape.reduce(1, *) }

        /// Creates a header entry.
        /// - Parameters:
        ///   - dtype: The element type on disk.
        ///   - shape: The size of each dimension.
        ///   - dataOffsets: The byte range in the data buffer.
        public init(dtype: DType, shape: [Int], dataOffsets: Range<Int>) {
            self.dtype = dtype
            self.shape = shape
            self.dataOffsets = dataOffsets
        }
    }

    /// A tensor of any element type this package has, for checkpoints that mix types.
    public enum AnyTensor: Sendable {
        /// A `Float` tensor (stored as F32).
        case float(Tensor<Float>)
        /// A `Double` tensor (stored as F64).
        case double(Tensor<Double>)
        /// An `Int` tensor (stored as I64).
        case int(Tensor<Int>)
        /// An `Int32` tensor (stored as I32).
        case int32(Tensor<Int32>)
        /// A `UInt8` tensor (stored as U8).
        case uint8(Tensor<UInt8>)
        /// A `Bool` tensor (stored as BOOL).
        case bool(Tensor<Bool>)

        /// Wraps a tensor of one of the six element types.
        /// - Parameter tensor: The tensor to wrap; its element type must be one of `Float`, `Double`, `Int`,
        ///   `Int32`, `UInt8` or `Bool`.
        public init<Scalar: TensorElement>(_ tensor: Tensor<Scalar>) {
            switch tensor {
            case let tensor as Tensor<Float>: self = .float(tensor)
            case let tensor as Tensor<Double>: self = .double(tensor)
            case let tensor as Tensor<Int>: self = .int(tensor)
            case let tensor as Tensor<Int32>: self = .int32(tensor)
            case let tensor as Tensor<UInt8>: self = .uint8(tensor)
            case let tensor as Tensor<Bool>: self = .bool(tensor)
            default: misuseDetected("SafeTensorsFile.AnyTensor: unsupported element type \(Scalar.self)")
            }
        }

        /// The size of each dimension.
        public var shape: [Int] {
            switch self {
            case .float(let tensor): return tensor.shape
            case .double(let tensor): return tensor.shape
            case .int(let tensor): return tensor.shape
            case .int32(let tensor): return tensor.shape
            case .uint8(let tensor): return tensor.shape
            case .bool(let tensor): return tensor.shape
            }
        }

        /// The element type's runtime tag.
        public var dtype: LaTensor.DType {
            switch self {
            case .float: return .float32
            case .double: return .float64
            case .int: return .int64
            case .int32: return .int32
            case .uint8: return .uint8
            case .bool: return .bool
            }
        }

        fileprivate func pending(name: String) -> PendingTensor {
            switch self {
            case .float(let tensor): return PendingTensor(name: name, tensor: tensor)
            case .double(let tensor): return PendingTensor(name: name, tensor: tensor)
            case .int(let tensor): return PendingTensor(name: name, tensor: tensor)
            case .int32(let tensor): return PendingTensor(name: name, tensor: tensor)
            case .uint8(let tensor): return PendingTensor(name: name, tensor: tensor)
            case .bool(let tensor): return PendingTensor(name: name, tensor: tensor)
            }
        }
    }

    /// The file's path, or the name given to `init(data:name:)`; errors quote it.
    public let path: String
    /// The `__metadata__` strings (empty when the file has none).
    public let metadata: [String: String]
    /// Each tensor's header entry, by name.
    public let tensorInfos: [String: TensorInfo]

    private let data: Data
    private let dataStart: Int

    /// The tensor names in sorted order.
    public var names: [String] { tensorInfos.keys.sorted() }

    // MARK: Reading

    /// Maps a safetensors file and validates its header; tensors are decoded on request.
    ///
    /// Validation covers the header length, the JSON, duplicate names, dtypes, shapes, sizes, offsets and
    /// that the tensors tile the data buffer without holes or overlaps; nothing is allocated for tensors
    /// until `tensor(named:as:)` is called.
    ///
    /// The file is memory-mapped, so it must not be truncated in place while the returned value is alive;
    /// replacing it with `write(_:metadata:to:)` is safe (the rename leaves the mapped file untouched).
    /// - Parameter url: The file to read.
    /// - Returns: The file's header and mapped bytes.
    /// - Throws: `SafeTensorsError` naming the file and, where it applies, the tensor.
    public static func read(contentsOf url: URL) throws -> SafeTensorsFile {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError.unreadableFile(file: url.path, reason: "\(error)")
        }
        return try SafeTensorsFile(data: data, name: url.path)
    }

    /// Validates safetensors bytes held in memory.
    /// - Parameters:
    ///   - data: A whole safetensors file.
    ///   - name: The name errors quote.
    /// - Throws: `SafeTensorsError` naming `name` and, where it applies, the tensor.
    public init(data: Data, name: String = "<memory>") throws {
        let header = try data.withUnsafeBytes { bytes in
            try SafeTensorsHeader.parse(bytes, file: name)
        }
        var infos: [String: TensorInfo] = [:]
        infos.reserveCapacity(header.entries.count)
        for entry in header.entries {
            infos[entry.name] = TensorInfo(dtype: entry.dtype, shape: entry.shape, dataOffsets: entry.begin..<entry.end)
        }
        self.path = name
        self.metadata = header.metadata
        self.tensorInfos = infos
        self.data = data
        self.dataStart = header.dataStart
    }

    /// The header entry of a tensor.
    /// - Parameter name: The tensor's name.
    /// - Returns: The entry, or nil when no tensor has that name.
    public func info(named name: String) -> TensorInfo? {
        tensorInfos[name]
    }

    /// Loads a floating-point tensor, converting F16, BF16, F32 or F64 on disk to `T` (rounding to nearest
    /// when narrowing F64 to `Float`).
    /// - Parameters:
    ///   - name: The tensor's name.
    ///   - type: The element type to load as (`Float` or `Double`).
    /// - Returns: A new contiguous tensor.
    /// - Throws: `SafeTensorsError.tensorNotFound`, or `.dtypeMismatch` for non-floating dtypes.
    public func tensor<T: TensorFloatingPoint>(named name: String, as type: T.Type = T.self) throws -> Tensor<T> {
        let info = try requireInfo(name)
        guard info.dtype.isLoadableAsFloatingPoint else {
            throw SafeTensorsError.dtypeMismatch(
                file: path, tensor: name, stored: info.dtype.rawValue, requested: "\(T.self)")
        }
        let count = info.elementCount
        let result = Tensor<T>(uninitializedShape: info.shape)
        let destination = result.storage.pointer
        withBytes(of: info) { source in
            switch info.dtype {
            case .float32:
                if T.self == Float.self {
                    copyLittleEndian(source, to: UnsafeMutableRawPointer(destination), width: 4)
                } else {
                    for index in 0..<count {
                        let bits = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
                        destination[index] = T(Float(bitPattern: bits))
                    }
                }
            case .float64:
                if T.self == Double.self {
                    copyLittleEndian(source, to: UnsafeMutableRawPointer(destination), width: 8)
                } else {
                    for index in 0..<count {
                        let bits = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
                        destination[index] = T(Double(bitPattern: bits))
                    }
                }
            case .float16:
                for index in 0..<count {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
                    destination[index] = T(HalfPrecision.float(fromFloat16Bits: bits))
                }
            case .bfloat16:
                for index in 0..<count {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
                    destination[index] = T(HalfPrecision.float(fromBFloat16Bits: bits))
                }
            default:
                misuseDetected("unreachable: \(info.dtype) was checked to be floating point")
            }
        }
        return result
    }

    /// Loads an I64 tensor.
    /// - Parameters:
    ///   - name: The tensor's name.
    ///   - type: `Int.self`.
    /// - Returns: A new contiguous tensor.
    /// - Throws: `SafeTensorsError.tensorNotFound`, or `.dtypeMismatch` unless the dtype is I64.
    public func tensor(named name: String, as type: Int.Type) throws -> Tensor<Int> {
        try loadExact(named: name, stored: .int64)
    }

    /// Loads an I32 tensor.
    /// - Parameters:
    ///   - name: The tensor's name.
    ///   - type: `Int32.self`.
    /// - Returns: A new contiguous tensor.
    /// - Throws: `SafeTensorsError.tensorNotFound`, or `.dtypeMismatch` unless the dtype is I32.
    public func tensor(named name: String, as type: Int32.Type) throws -> Tensor<Int32> {
        try loadExact(named: name, stored: .int32)
    }

    /// Loads a U8 tensor.
    /// - Parameters:
    ///   - name: The tensor's name.
    ///   - type: `UInt8.self`.
    /// - Returns: A new contiguous tensor.
    /// - Throws: `SafeTensorsError.tensorNotFound`, or `.dtypeMismatch` unless the dtype is U8.
    public func tensor(named name: String, as type: UInt8.Type) throws -> Tensor<UInt8> {
        try loadExact(named: name, stored: .uint8)
    }

    /// Loads a BOOL tensor (any nonzero byte reads as `true`).
    /// - Parameters:
    ///   - name: The tensor's name.
    ///   - type: `Bool.self`.
    /// - Returns: A new contiguous tensor.
    /// - Throws: `SafeTensorsError.tensorNotFound`, or `.dtypeMismatch` unless the dtype is BOOL.
    public func tensor(named name: String, as type: Bool.Type) throws -> Tensor<Bool> {
        let info = try requireInfo(name)
        guard info.dtype == .bool else {
            throw SafeTensorsError.dtypeMismatch(file: path, tensor: name, stored: info.dtype.rawValue, requested: "Bool")
        }
        let result = Tensor<Bool>(uninitializedShape: info.shape)
        let destination = result.storage.pointer
        withBytes(of: info) { source in
            // A Bool must hold 0 or 1, so bytes are compared rather than copied.
            for index in 0..<source.count { destination[index] = source[index] != 0 }
        }
        return result
    }

    /// Loads a tensor as the element type that matches its dtype: F16, BF16 and F32 as `Float`, F64 as
    /// `Double`, I64 as `Int`, I32 as `Int32`, U8 as `UInt8`, BOOL as `Bool`.
    /// - Parameter name: The tensor's name.
    /// - Returns: A new contiguous tensor.
    /// - Throws: `SafeTensorsError.tensorNotFound`, or `.unsupportedDType` for the other dtypes.
    public func anyTensor(named name: String) throws -> AnyTensor {
        let info = try requireInfo(name)
        switch info.dtype {
        case .float16, .bfloat16, .float32: return .float(try tensor(named: name, as: Float.self))
        case .float64: return .double(try tensor(named: name, as: Double.self))
        case .int64: return .int(try tensor(named: name, as: Int.self))
        case .int32: return .int32(try tensor(named: name, as: Int32.self))
        case .uint8: return .uint8(try tensor(named: name, as: UInt8.self))
        case .bool: return .bool(try tensor(named: name, as: Bool.self))
        default: throw SafeTensorsError.unsupportedDType(file: path, tensor: name, dtype: info.dtype.rawValue)
        }
    }

    /// Loads every tensor as `T`, converting F16, BF16, F32 and F64.
    /// - Parameter type: The element type to load as (`Float` or `Double`).
    /// - Returns: The tensors by name.
    /// - Throws: `SafeTensorsError.dtypeMismatch` if any tensor is not floating point.
    public func tensors<T: TensorFloatingPoint>(as type: T.Type = T.self) throws -> [String: Tensor<T>] {
        for name in names where !(tensorInfos[name]!.dtype.isLoadableAsFloatingPoint) {
            throw SafeTensorsError.dtypeMismatch(
                file: path, tensor: name, stored: tensorInfos[name]!.dtype.rawValue, requested: "\(T.self)")
        }
        var result: [String: Tensor<T>] = [:]
        for name in names { result[name] = try tensor(named: name, as: T.self) }
        return result
    }

    /// Loads every tensor with `anyTensor(named:)`.
    /// - Returns: The tensors by name.
    /// - Throws: `SafeTensorsError.unsupportedDType` if a dtype has no element type.
    public func anyTensors() throws -> [String: AnyTensor] {
        var result: [String: AnyTensor] = [:]
        for name in names { result[name] = try anyTensor(named: name) }
        return result
    }

    private func requireInfo(_ name: String) throws -> TensorInfo {
        guard let info = tensorInfos[name] else { throw SafeTensorsError.tensorNotFound(file: path, name: name) }
        return info
    }

    private func loadExact<Scalar: TensorElement>(named name: String, stored: DType) throws -> Tensor<Scalar> {
        let info = try requireInfo(name)
        guard info.dtype == stored else {
            throw SafeTensorsError.dtypeMismatch(
                file: path, tensor: name, stored: info.dtype.rawValue, requested: "\(Scalar.self)")
        }
        checkPrecondition(MemoryLayout<Scalar>.size == stored.byteCount, "SafeTensorsFile: \(Scalar.self) is not \(stored)")
        let result = Tensor<Scalar>(uninitializedShape: info.shape)
        withBytes(of: info) { source in
            copyLittleEndian(source, to: UnsafeMutableRawPointer(result.storage.pointer), width: stored.byteCount)
        }
        return result
    }

    /// Calls `body` with the tensor's bytes in the mapped file (the header has checked the range).
    private func withBytes(of info: TensorInfo, _ body: (UnsafeRawBufferPointer) -> Void) {
        data.withUnsafeBytes { bytes in
            let range = (dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)
            body(UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }

    // MARK: Writing

    /// Writes tensors of one element type atomically: F32 for `Float`, F64 for `Double`, I64 for `Int`,
    /// I32 for `Int32`, U8 for `UInt8`, BOOL for `Bool`.
    ///
    /// Tensors are stored in name order; views (transposed, sliced, broadcast) are written in row-major
    /// order of their elements. The bytes go to a temporary file in the same folder that is flushed and
    /// renamed over `url`, so an interrupted write leaves any old file intact.
    /// - Parameters:
    ///   - tensors: The tensors by name; `"__metadata__"` is reserved.
    ///   - metadata: Free-form strings stored in the header's `__metadata__`.
    ///   - url: The file to create or replace.
    /// - Throws: `SafeTensorsError.reservedName` or `.writeFailed`.
    public static func write<Scalar: TensorElement>(
        _ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:], to url: URL
    ) throws {
        try write(tensors.map { PendingTensor(name: $0.key, tensor: $0.value) }, metadata: metadata, to: url)
    }

    /// Writes tensors of mixed element types atomically (see `write(_:metadata:to:)` for one element type).
    /// - Parameters:
    ///   - tensors: The tensors by name; `"__metadata__"` is reserved.
    ///   - metadata: Free-form strings stored in the header's `__metadata__`.
    ///   - url: The file to create or replace.
    /// - Throws: `SafeTensorsError.reservedName` or `.writeFailed`.
    public static func write(
        _ tensors: [String: AnyTensor], metadata: [String: String] = [:], to url: URL
    ) throws {
        try write(tensors.map { $0.value.pending(name: $0.key) }, metadata: metadata, to: url)
    }

    /// The bytes of a safetensors file holding tensors of one element type.
    /// - Parameters:
    ///   - tensors: The tensors by name; `"__metadata__"` is reserved.
    ///   - metadata: Free-form strings stored in the header's `__metadata__`.
    /// - Returns: The whole file.
    /// - Throws: `SafeTensorsError.reservedName`.
    public static func serialized<Scalar: TensorElement>(
        _ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:]
    ) throws -> Data {
        try serialized(tensors.map { PendingTensor(name: $0.key, tensor: $0.value) }, metadata: metadata)
    }

    /// The bytes of a safetensors file holding tensors of mixed element types.
    /// - Parameters:
    ///   - tensors: The tensors by name; `"__metadata__"` is reserved.
    ///   - metadata: Free-form strings stored in the header's `__metadata__`.
    /// - Returns: The whole file.
    /// - Throws: `SafeTensorsError.reservedName`.
    public static func serialized(_ tensors: [String: AnyTensor], metadata: [String: String] = [:]) throws -> Data {
        try serialized(tensors.map { $0.value.pending(name: $0.key) }, metadata: metadata)
    }

    private static func write(_ tensors: [PendingTensor], metadata: [String: String], to url: URL) throws {
        let ordered = try prepare(tensors, metadata: metadata, file: url.path)
        do {
            try AtomicFile.write(to: url) { writer in
                try emit(ordered, metadata: metadata) { bytes in try writer.write(bytes) }
            }
        } catch let error as AtomicFileError {
            throw SafeTensorsError.writeFailed(file: url.path, reason: error.description)
        }
    }

    private static func serialized(_ tensors: [PendingTensor], metadata: [String: String]) throws -> Data {
        let ordered = try prepare(tensors, metadata: metadata, file: "<memory>")
        var data = Data()
        data.reserveCapacity(ordered.reduce(0) { $0 + $1.byteCount } + 256)
        try emit(ordered, metadata: metadata) { bytes in data.append(contentsOf: bytes) }
        return data
    }

    private static func prepare(_ tensors: [PendingTensor], metadata: [String: String], file: String) throws
        -> [PendingTensor]
    {
        if tensors.contains(where: { $0.name == "__metadata__" }) {
            throw SafeTensorsError.reservedName(file: file, name: "__metadata__")
        }
        return tensors.sorted { $0.name < $1.name }
    }

    /// Produces the file: header length, padded JSON header, then each tensor's bytes in order.
    private static func emit(
        _ tensors: [PendingTensor], metadata: [String: String], to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var json = "{"
        var separator = ""
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.sorted { $0.key < $1.key }
                .map { "\(jsonString($0.key)):\(jsonString($0.value))" }
                .joined(separator: ",")
            json += "}"
            separator = ","
        }
        var offset = 0
        for tensor in tensors {
            json += separator
            separator = ","
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            json += "\(jsonString(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
            json += "\"data_offsets\":[\(offset),\(offset + tensor.byteCount)]}"
            offset += tensor.byteCount
        }
        json += "}"
        var header = Array(json.utf8)
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try sink($0) }
        try header.withUnsafeBytes { try sink($0) }
        for tensor in tensors { try tensor.emit(sink) }
    }

    /// A JSON string literal for `text`.
    private static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// A tensor waiting to be written: its header fields and a way to produce its little-endian bytes.
private struct PendingTensor {
    var name: String
    var dtype: SafeTensorsFile.DType
    var shape: [Int]
    var byteCount: Int
    var emit: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

    init<Scalar: TensorElement>(name: String, tensor: Tensor<Scalar>) {
        let dtype = SafeTensorsFile.DType(Scalar.dtype)
        checkPrecondition(
            MemoryLayout<Scalar>.size == dtype.byteCount, "SafeTensorsFile: \(Scalar.self) is not \(dtype)")
        self.name = name
        self.dtype = dtype
        self.shape = tensor.shape
        self.byteCount = tensor.count * dtype.byteCount
        self.emit = { sink in
            try tensor.withContiguousBuffer { buffer in
                #if _endian(little)
                    try sink(UnsafeRawBufferPointer(buffer))
                #else
                    var swapped = [UInt8](UnsafeRawBufferPointer(buffer))
                    let width = dtype.byteCount
                    for start in stride(from: 0, to: swapped.count, by: width) {
                        swapped[start..<(start + width)].reverse()
                    }
                    try swapped.withUnsafeBytes { try sink($0) }
                #endif
            }
        }
    }
}

/// Copies elements stored little-endian into native memory of the same width.
/// - Parameters:
///   - source: The stored bytes.
///   - destination: Room for `source.count` bytes.
///   - width: The element size in bytes.
private func copyLittleEndian(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer, width: Int) {
    guard let base = source.baseAddress, source.count > 0 else { return }
    destination.copyMemory(from: base, byteCount: source.count)
    #if _endian(big)
        let bytes = destination.assumingMemoryBound(to: UInt8.self)
        for start in stride(from: 0, to: source.count, by: width) {
            var low = start
            var high = start + width - 1
            while low < high {
                swap(&bytes[low], &bytes[high])
                low += 1
                high -= 1
            }
        }
    #endif
}
