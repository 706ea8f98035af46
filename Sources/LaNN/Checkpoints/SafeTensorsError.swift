/// A problem found while reading or writing a safetensors file.
///
/// Every case names the file (its path, or the name given to `SafeTensorsFile(data:name:)`) and, where
/// the problem belongs to one tensor, that tensor's name. Reading validates the whole header before any
/// tensor memory is allocated, so a malformed file throws one of these instead of crashing or allocating.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - reason: What went wrong.
    case unreadableFile(file: String, reason: String)
    /// The file has fewer than the 8 bytes of the header-length prefix.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - byteCount: The file size in bytes.
    case fileTooShort(file: String, byteCount: Int)
    /// The header length in the prefix runs past the end of the file.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - headerLength: The header length the file declares.
    ///   - fileSize: The file size in bytes.
    case headerLengthOutOfRange(file: String, headerLength: UInt64, fileSize: Int)
    /// The header length exceeds `SafeTensorsFile.maximumHeaderLength`.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - headerLength: The header length the file declares.
    ///   - limit: The largest header length accepted.
    case headerTooLarge(file: String, headerLength: Int, limit: Int)
    /// The header is not UTF-8 JSON holding one object (the reason gives the byte offset in the header).
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - reason: What went wrong.
    case invalidHeader(file: String, reason: String)
    /// The `__metadata__` entry is not an object mapping strings to strings.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - reason: What went wrong.
    case invalidMetadata(file: String, reason: String)
    /// Two header entries have the same name.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - name: The tensor name.
    case duplicateName(file: String, name: String)
    /// A tensor's entry is not an object with `dtype`, `shape` and `data_offsets` of the right types.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    ///   - reason: What went wrong.
    case invalidTensorInfo(file: String, tensor: String, reason: String)
    /// A tensor's `dtype` is not one this reader knows.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    ///   - dtype: The dtype string from the header.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A tensor's `shape` holds a negative or non-integer entry.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    ///   - reason: What went wrong.
    case invalidShape(file: String, tensor: String, reason: String)
    /// A tensor's `data_offsets` are not two non-negative integers with `begin <= end`.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    ///   - reason: What went wrong.
    case invalidOffsets(file: String, tensor: String, reason: String)
    /// A tensor's bytes end past the end of the data buffer.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    ///   - end: The end offset from `data_offsets`.
    ///   - bufferSize: The size of the data buffer after the header.
    case offsetsOutOfRange(file: String, tensor: String, end: Int, bufferSize: Int)
    /// A tensor's byte range does not have `product(shape) * itemsize` bytes.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    ///   - expectedByteCount: `product(shape) * itemsize`.
    ///   - actualByteCount: `end - begin` from `data_offsets`.
    case sizeMismatch(file: String, tensor: String, expectedByteCount: Int, actualByteCount: Int)
    /// Size arithmetic on a tensor's shape or offsets overflows.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    case arithmeticOverflow(file: String, tensor: String)
    /// Two tensors' byte ranges overlap.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - first: The tensor whose bytes come first.
    ///   - second: The tensor whose bytes start inside the first one.
    case overlappingTensors(file: String, first: String, second: String)
    /// Some bytes of the data buffer belong to no tensor (the format requires full coverage).
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - range: The uncovered byte range, relative to the start of the data buffer.
    case uncoveredBytes(file: String, range: Range<Int>)
    /// No tensor has the requested name.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - name: The tensor name.
    case tensorNotFound(file: String, name: String)
    /// The tensor's stored dtype cannot be converted to the requested element type.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    ///   - stored: The dtype in the file.
    ///   - requested: The element type asked for.
    case dtypeMismatch(file: String, tensor: String, stored: String, requested: String)
    /// The tensor's dtype has no matching `Tensor` element type.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - tensor: The tensor name.
    ///   - dtype: The dtype string from the header.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A tensor to write uses a reserved name (`__metadata__`).
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - name: The tensor name.
    case reservedName(file: String, name: String)
    /// Writing the file failed.
    /// - Parameters:
    ///   - file: The file path, or the name given for in-memory data.
    ///   - reason: What went wrong.
    case writeFailed(file: String, reason: String)

    /// A one-line explanation naming the file and, where it applies, the tensor.
    public var description: String {
        switch self {
        case .unreadableFile(let file, let reason):
            return "safetensors '\(file)': cannot read the file: \(reason)"
        case .fileTooShort(let file, let byteCount):
            return "safetensors '\(file)': the file has \(byteCount) bytes, fewer than the 8-byte header length"
        case .headerLengthOutOfRange(let file, let headerLength, let fileSize):
            return "safetensors '\(file)': header length \(headerLength) runs past the end of the \(fileSize)-byte file"
        case .headerTooLarge(let file, let headerLength, let limit):
            return "safetensors '\(file)': header length \(headerLength) exceeds the limit of \(limit) bytes"
        case .invalidHeader(let file, let reason):
            return "safetensors '\(file)': invalid header: \(reason)"
        case .invalidMetadata(let file, let reason):
            return "safetensors '\(file)': invalid __metadata__: \(reason)"
        case .duplicateName(let file, let name):
            return "safetensors '\(file)': the header names '\(name)' more than once"
        case .invalidTensorInfo(let file, let tensor, let reason):
            return "safetensors '\(file)': tensor '\(tensor)': \(reason)"
        case .unknownDType(let file, let tensor, let dtype):
            return "safetensors '\(file)': tensor '\(tensor)': unknown dtype '\(dtype)'"
        case .invalidShape(let file, let tensor, let reason):
            return "safetensors '\(file)': tensor '\(tensor)': invalid shape: \(reason)"
        case .invalidOffsets(let file, let tensor, let reason):
            return "safetensors '\(file)': tensor '\(tensor)': invalid data_offsets: \(reason)"
        case .offsetsOutOfRange(let file, let tensor, let end, let bufferSize):
            return "safetensors '\(file)': tensor '\(tensor)': data ends at byte \(end), past the \(bufferSize)-byte data buffer"
        case .sizeMismatch(let file, let tensor, let expected, let actual):
            return "safetensors '\(file)': tensor '\(tensor)': shape and dtype need \(expected) bytes but data_offsets span \(actual)"
        case .arithmeticOverflow(let file, let tensor):
            return "safetensors '\(file)': tensor '\(tensor)': size arithmetic overflows"
        case .overlappingTensors(let file, let first, let second):
            return "safetensors '\(file)': tensors '\(first)' and '\(second)' overlap"
        case .uncoveredBytes(let file, let range):
            return "safetensors '\(file)': data bytes \(range.lowerBound)..<\(range.upperBound) belong to no tensor"
        case .tensorNotFound(let file, let name):
            return "safetensors '\(file)': no tensor named '\(name)'"
        case .dtypeMismatch(let file, let tensor, let stored, let requested):
            return "safetensors '\(file)': tensor '\(tensor)': stored as \(stored), cannot load as \(requested)"
        case .unsupportedDType(let file, let tensor, let dtype):
            return "safetensors '\(file)': tensor '\(tensor)': dtype \(dtype) has no tensor element type"
        case .reservedName(let file, let name):
            return "safetensors '\(file)': '\(name)' is reserved and cannot name a tensor"
        case .writeFailed(let file, let reason):
            return "safetensors '\(file)': write failed: \(reason)"
        }
    }
}
