/// The parsed and fully validated header of a safetensors file.
///
/// Parsing reads the JSON with a small scanner of its own that knows the header's schema, so it can reject
/// duplicate names (which `JSONSerialization` drops silently), bound nesting, and never build more than the
/// few strings and integers the header holds. `validateLayout` then checks every size and offset before
/// any tensor memory exists.
struct SafeTensorsHeader {
    /// One tensor's header entry.
    struct Entry {
        var name: String
        var dtype: SafeTensorsFile.DType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// The tensors in header order.
    var entries: [Entry]
    /// The `__metadata__` strings (empty when absent or `null`).
    var metadata: [String: String]
    /// The file offset of the first data byte (`8 + header length`).
    var dataStart: Int
    /// The number of bytes after the header.
    var bufferSize: Int

    /// Parses and validates the header of a whole safetensors file.
    /// - Parameters:
    ///   - bytes: The whole file.
    ///   - file: The name to put in errors.
    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> SafeTensorsHeader {
        let fileSize = bytes.count
        guard fileSize >= 8 else { throw SafeTensorsError.fileTooShort(file: file, byteCount: fileSize) }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard declared <= UInt64(fileSize - 8) else {
            throw SafeTensorsError.headerLengthOutOfRange(file: file, headerLength: declared, fileSize: fileSize)
        }
        let headerLength = Int(declared)
        guard headerLength <= SafeTensorsFile.maximumHeaderLength else {
            throw SafeTensorsError.headerTooLarge(
                file: file, headerLength: headerLength, limit: SafeTensorsFile.maximumHeaderLength)
        }
        var scanner = HeaderScanner(
            bytes: UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)]), file: file)
        let (entries, metadata) = try scanner.parseHeader()
        let header = SafeTensorsHeader(
            entries: entries, metadata: metadata, dataStart: 8 + headerLength,
            bufferSize: fileSize - 8 - headerLength)
        try header.validateLayout(file: file)
        return header
    }

    /// Checks each tensor's size arithmetic and range, then that the ranges tile the data buffer exactly.
    /// - Parameter file: The name to put in errors.
    func validateLayout(file: String) throws {
        for entry in entries {
            // The product of max(dimension, 1) bounds every product `Tensor` computes (count, strides).
            var bound = 1
            var count = 1
            for dimension in entry.shape {
                let (product, overflow) = bound.multipliedReportingOverflow(by: Swift.max(dimension, 1))
                if overflow { throw SafeTensorsError.arithmeticOverflow(file: file, tensor: entry.name) }
                bound = product
                count *= dimension
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: entry.dtype.byteCount)
            if overflow { throw SafeTensorsError.arithmeticOverflow(file: file, tensor: entry.name) }
            guard entry.begin <= entry.end else {
                throw SafeTensorsError.invalidOffsets(
                    file: file, tensor: entry.name, reason: "begin \(entry.begin) is after end \(entry.end)")
            }
            guard entry.end <= bufferSize else {
                throw SafeTensorsError.offsetsOutOfRange(
                    file: file, tensor: entry.name, end: entry.end, bufferSize: bufferSize)
            }
            guard byteCount == entry.end - entry.begin else {
                throw SafeTensorsError.sizeMismatch(
                    file: file, tensor: entry.name, expectedByteCount: byteCount,
                    actualByteCount: entry.end - entry.begin)
            }
        }
        let ordered = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous = ""
        for entry in ordered {
            if entry.begin < covered {
                throw SafeTensorsError.overlappingTensors(file: file, first: previous, second: entry.name)
            }
            if entry.begin > covered {
                throw SafeTensorsError.uncoveredBytes(file: file, range: covered..<entry.begin)
            }
            covered = entry.end
            previous = entry.name
        }
        if covered != bufferSize {
            throw SafeTensorsError.uncoveredBytes(file: file, range: covered..<bufferSize)
        }
    }
}

/// A JSON scanner for the safetensors header schema: an object of tensor entries and `__metadata__`.
/// Unknown fields inside a tensor entry are skipped (as the reference reader does), up to a bounded depth.
private struct HeaderScanner {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var position = 0

    /// How deeply an unknown field's value may nest.
    static let maximumDepth = 64

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    // MARK: Header structure

    mutating func parseHeader() throws -> ([SafeTensorsHeader.Entry], [String: String]) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw syntaxError("the header is not a JSON object") }
        position += 1
        var entries: [SafeTensorsHeader.Entry] = []
        var metadata: [String: String] = [:]
        var names = Set<String>()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a tensor name") }
                let name = try parseString()
                guard names.insert(name).inserted else {
                    throw SafeTensorsError.duplicateName(file: file, name: name)
                }
                try expectColon()
                if name == "__metadata__" {
                    metadata = try parseMetadata()
                } else {
                    entries.append(try parseTensorInfo(name: name))
                }
                if try endOfMembers() { break }
            }
        }
        skipWhitespace()
        guard position == bytes.count else { throw syntaxError("unexpected bytes after the header object") }
        return (entries, metadata)
    }

    mutating func parseMetadata() throws -> [String: String] {
        if consumeLiteral("null") { return [:] }
        guard try nextByte() == UInt8(ascii: "{") else {
            throw SafeTensorsError.invalidMetadata(file: file, reason: "not an object")
        }
        position += 1
        var metadata: [String: String] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return metadata
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a metadata key") }
            let key = try parseString()
            try expectColon()
            guard try nextByte() == UInt8(ascii: "\"") else {
                throw SafeTensorsError.invalidMetadata(file: file, reason: "the value of '\(key)' is not a string")
            }
            let value = try parseString()
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw SafeTensorsError.invalidMetadata(file: file, reason: "key '\(key)' appears more than once")
            }
            if try endOfMembers() { return metadata }
        }
    }

    mutating func parseTensorInfo(name: String) throws -> SafeTensorsHeader.Entry {
        guard try nextByte() == UInt8(ascii: "{") else {
            throw SafeTensorsError.invalidTensorInfo(file: file, tensor: name, reason: "the entry is not an object")
        }
        position += 1
        var dtype: SafeTensorsFile.DType?
        var shape: [Int]?
        var offsets: [Int]?
        var fields = Set<String>()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a field name") }
                let field = try parseString()
                guard fields.insert(field).inserted else {
                    throw SafeTensorsError.invalidTensorInfo(
                        file: file, tensor: name, reason: "field '\(field)' appears more than once")
                }
                try expectColon()
                switch field {
                case "dtype":
                    guard try nextByte() == UInt8(ascii: "\"") else {
                        throw SafeTensorsError.invalidTensorInfo(file: file, tensor: name, reason: "dtype is not a string")
                    }
                    let text = try parseString()
                    guard let parsed = SafeTensorsFile.DType(rawValue: text) else {
                        throw SafeTensorsError.unknownDType(file: file, tensor: name, dtype: text)
                    }
                    dtype = parsed
                case "shape":
                    shape = try parseIntegers(tensor: name, limit: nil) { [file] reason in
                        SafeTensorsError.invalidShape(file: file, tensor: name, reason: reason)
                    }
                case "data_offsets":
                    offsets = try parseIntegers(tensor: name, limit: 2) { [file] reason in
                        SafeTensorsError.invalidOffsets(file: file, tensor: name, reason: reason)
                    }
                default:
                    try skipValue(depth: 1)
                }
                if try endOfMembers() { break }
            }
        }
        guard let dtype else {
            throw SafeTensorsError.invalidTensorInfo(file: file, tensor: name, reason: "missing dtype")
        }
        guard let shape else {
            throw SafeTensorsError.invalidTensorInfo(file: file, tensor: name, reason: "missing shape")
        }
        guard let offsets else {
            throw SafeTensorsError.invalidTensorInfo(file: file, tensor: name, reason: "missing data_offsets")
        }
        guard offsets.count == 2 else {
            throw SafeTensorsError.invalidOffsets(
                file: file, tensor: name, reason: "expected 2 entries, found \(offsets.count)")
        }
        return SafeTensorsHeader.Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    /// Parses an array of non-negative integers (`shape` or `data_offsets`).
    /// - Parameters:
    ///   - tensor: The tensor name, for overflow errors.
    ///   - limit: The most entries allowed, or nil for any number.
    ///   - error: Makes the field's error from a reason.
    mutating func parseIntegers(
        tensor: String, limit: Int?, error: (String) -> SafeTensorsError
    ) throws -> [Int] {
        guard try nextByte() == UInt8(ascii: "[") else { throw error("not an array") }
        position += 1
        var values: [Int] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return values
        }
        while true {
            skipWhitespace()
            if let limit, values.count == limit { throw error("more than \(limit) entries") }
            let next = try nextByte()
            guard next == UInt8(ascii: "-") || isDigit(next) else {
                throw error("entry \(values.count) is not an integer")
            }
            switch try scanInteger() {
            case .value(let value): values.append(value)
            case .negative(let text): throw error("entry \(values.count) is negative (\(text))")
            case .notInteger(let text): throw error("entry \(values.count) is not an integer (\(text))")
            case .overflow: throw SafeTensorsError.arithmeticOverflow(file: file, tensor: tensor)
            }
            skipWhitespace()
            guard let separator = peek() else { throw syntaxError("unterminated array") }
            position += 1
            if separator == UInt8(ascii: "]") { return values }
            guard separator == UInt8(ascii: ",") else {
                position -= 1
                throw syntaxError("expected ',' or ']'")
            }
        }
    }

    // MARK: JSON tokens

    enum IntegerToken {
        case value(Int)
        case negative(String)
        case notInteger(String)
        case overflow
    }

    /// Scans one JSON number and classifies it as a non-negative `Int` or the reason it is not one.
    mutating func scanInteger() throws -> IntegerToken {
        let start = position
        var negative = false
        if peek() == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        let digitsStart = position
        guard let first = peek(), isDigit(first) else { throw syntaxError("invalid number") }
        position += 1
        if first == UInt8(ascii: "0"), let next = peek(), isDigit(next) {
            throw syntaxError("number with a leading zero")
        }
        while let next = peek(), isDigit(next) { position += 1 }
        let digitsEnd = position
        var integral = true
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard let next = peek(), isDigit(next) else { throw syntaxError("invalid number") }
            while let next = peek(), isDigit(next) { position += 1 }
            integral = false
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard let next = peek(), isDigit(next) else { throw syntaxError("invalid number") }
            while let next = peek(), isDigit(next) { position += 1 }
            integral = false
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard integral else { return .notInteger(text) }
        var value = 0
        for index in digitsStart..<digitsEnd {
            let (scaled, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = scaled.addingReportingOverflow(Int(bytes[index] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return negative ? .negative(text) : .overflow }
            value = sum
        }
        if negative && value != 0 { return .negative(text) }
        return .value(value)
    }

    /// Parses a JSON string (the scanner is at its opening quote), decoding escapes and checking UTF-8.
    mutating func parseString() throws -> String {
        let start = position
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else {
                position = start
                throw syntaxError("unterminated string")
            }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: utf8, as: UTF8.self) else {
                    position = start
                    throw syntaxError("string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw syntaxError("unterminated escape") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalarValue = UInt32(try scanHex4())
                    if (0xD800...0xDBFF).contains(scalarValue) {
                        guard consumeByte(UInt8(ascii: "\\")), consumeByte(UInt8(ascii: "u")) else {
                            throw syntaxError("unpaired surrogate in \\u escape")
                        }
                        let low = UInt32(try scanHex4())
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw syntaxError("unpaired surrogate in \\u escape")
                        }
                        scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(scalarValue) else {
                        throw syntaxError("unpaired surrogate in \\u escape")
                    }
                    utf8.append(contentsOf: String(Character(scalar)).utf8)
                default:
                    throw syntaxError("invalid escape")
                }
            default:
                guard byte >= 0x20 else { throw syntaxError("control character in string") }
                utf8.append(byte)
            }
        }
    }

    mutating func scanHex4() throws -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw syntaxError("invalid \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw syntaxError("invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    /// Skips any JSON value, refusing to nest deeper than `maximumDepth`.
    /// - Parameter depth: The nesting depth of the value being skipped.
    mutating func skipValue(depth: Int) throws {
        guard depth <= HeaderScanner.maximumDepth else { throw syntaxError("values nested too deeply") }
        skipWhitespace()
        guard let byte = peek() else { throw syntaxError("expected a value") }
        switch byte {
        case UInt8(ascii: "\""):
            _ = try parseString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanInteger()
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a key") }
                _ = try parseString()
                try expectColon()
                try skipValue(depth: depth + 1)
                if try endOfMembers() { return }
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if consumeByte(UInt8(ascii: "]")) { return }
                guard consumeByte(UInt8(ascii: ",")) else { throw syntaxError("expected ',' or ']'") }
            }
        default:
            guard consumeLiteral("true") || consumeLiteral("false") || consumeLiteral("null") else {
                throw syntaxError("unexpected character")
            }
        }
    }

    // MARK: Helpers

    /// After a member's value: consumes `,` (returns false) or `}` (returns true).
    mutating func endOfMembers() throws -> Bool {
        skipWhitespace()
        if consumeByte(UInt8(ascii: ",")) { return false }
        if consumeByte(UInt8(ascii: "}")) { return true }
        throw syntaxError("expected ',' or '}'")
    }

    mutating func expectColon() throws {
        skipWhitespace()
        guard consumeByte(UInt8(ascii: ":")) else { throw syntaxError("expected ':'") }
        skipWhitespace()
    }

    mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { return false }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for index in 0..<count where bytes[position + index] != expected[index] { return false }
        position += count
        return true
    }

    mutating func consumeByte(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        position += 1
        return true
    }

    /// The next byte, not consumed; reaching the end of the header here is a syntax error.
    func nextByte() throws -> UInt8 {
        guard let byte = peek() else { throw syntaxError("unexpected end of header") }
        return byte
    }

    func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    mutating func skipWhitespace() {
        while let byte = peek(),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                || byte == UInt8(ascii: "\t")
        {
            position += 1
        }
    }

    func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    func syntaxError(_ reason: String) -> SafeTensorsError {
        .invalidHeader(file: file, reason: "\(reason) at header byte \(position)")
    }
}
