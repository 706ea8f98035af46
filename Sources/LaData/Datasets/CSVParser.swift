/// One record of a CSV/TSV file: its fields and the 1-based line on which it starts.
public struct CSVRecord: Sendable, Hashable {
    /// The fields, unquoted.
    public var fields: [String]
    /// The 1-based line number where the record starts (a quoted field may span several lines).
    public var line: Int

    /// Creates a record.
    /// - Parameters:
    ///   - fields: The fields.
    ///   - line: The 1-based starting line.
    public init(fields: [String], line: Int) {
        self.fields = fields
        self.line = line
    }
}

/// An RFC 4180 CSV reader with a configurable separator (`,` for CSV, tab for TSV).
///
/// Rules:
/// - Records end at LF or CRLF; a final record without a newline is accepted. A UTF-8 byte-order mark at
///   the start is dropped. Lines that are completely empty are skipped (they are not records).
/// - With `quoting` on, a field that *starts* with `"` is quoted: it runs to the matching `"`, may contain
///   separators and newlines, and `""` inside it stands for one `"`. After the closing quote only a
///   separator or the end of the line may follow; anything else is an error naming the line. A quote
///   that opens a field and never closes is an error naming the line where the field started.
///   A `"` inside an unquoted field is kept literally (as Python's `csv` module does), so captions such
///   as `a "peace sign"` need no quoting.
/// - With `quoting` off (plain TSV), `"` has no meaning and fields cannot contain the separator or
///   newlines.
/// - Bytes are decoded as UTF-8; invalid sequences become U+FFFD.
public struct CSVParser: Sendable {
    /// The field separator, one ASCII byte.
    public var separator: UInt8
    /// Whether `"` quoting is recognised.
    public var quoting: Bool

    /// Creates a parser.
    /// - Parameters:
    ///   - separator: The field separator; must be ASCII and not `"`, CR or LF (checked when parsing).
    ///   - quoting: Whether `"` quoting is recognised (RFC 4180); `false` for plain TSV.
    public init(separator: Unicode.Scalar = ",", quoting: Bool = true) {
        self.separator = separator.isASCII ? UInt8(separator.value) : 0
        self.quoting = quoting
    }

    /// Parses a whole file (gzip-compressed or plain).
    /// - Parameter path: The file path; named in errors.
    /// - Throws: `DataError` when the file cannot be read or a quoted field is malformed.
    public func parse(path: String) throws -> [CSVRecord] {
        try parse(bytes: try Gzip.readAll(path: path), file: path)
    }

    /// Parses text already in memory.
    /// - Parameters:
    ///   - bytes: The UTF-8 content.
    ///   - file: The name used in errors.
    /// - Throws: `DataError(.malformed)` naming the file and line for quoting errors.
    public func parse(bytes: [UInt8], file: String) throws -> [CSVRecord] {
        let quote: UInt8 = 0x22, cr: UInt8 = 0x0D, lf: UInt8 = 0x0A
        guard separator != 0, separator != quote, separator != cr, separator != lf else {
            throw DataError(.unsupported, file: file, field: "separator", "the separator must be an ASCII character other than a quote or newline")
        }
        var records: [CSVRecord] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var recordLine = 1
        var i = 0
        let n = bytes.count
        if n >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) {
                records.append(CSVRecord(fields: fields, line: recordLine))
            }
            fields.removeAll(keepingCapacity: true)
        }

        var atFieldStart = true
        var recordPending = false
        while i < n {
            let byte = bytes[i]
            if atFieldStart && quoting && byte == quote {
                // Quoted field.
                let startLine = line
                i += 1
                var closed = false
                while i < n {
                    let b = bytes[i]
                    if b == quote {
                        if i + 1 < n && bytes[i + 1] == quote {
                            field.append(quote)
                            i += 2
                            continue
                        }
                        closed = true
                        i += 1
                        break
                    }
                    if b == lf { line += 1 }
                    field.append(b)
                    i += 1
                }
                guard closed else {
                    throw DataError(.malformed, file: file, line: startLine, field: "field \(fields.count + 1)", "quoted field is never closed")
                }
                recordPending = true
                // After the closing quote: separator, end of line or end of input.
                if i == n { break }
                let next = bytes[i]
                if next == separator {
                    endField()
                    i += 1
                    atFieldStart = true
                } else if next == lf || (next == cr && i + 1 < n && bytes[i + 1] == lf) || (next == cr && i + 1 == n) {
                    endRecord()
                    recordPending = false
                    i += next == cr && i + 1 < n ? 2 : 1
                    line += 1
                    recordLine = line
                    atFieldStart = true
                } else {
                    throw DataError(.malformed, file: file, line: line, field: "field \(fields.count + 1)", "unexpected character after a closing quote (a quote inside a quoted field must be doubled)")
                }
                continue
            }
            atFieldStart = false
            if byte == separator {
                endField()
                recordPending = true
                atFieldStart = true
                i += 1
            } else if byte == lf {
                if field.last == cr { field.removeLast() }
                endRecord()
                recordPending = false
                line += 1
                recordLine = line
                atFieldStart = true
                i += 1
            } else {
                field.append(byte)
                recordPending = true
                i += 1
            }
        }
        if recordPending || !field.isEmpty || !fields.isEmpty {
            if field.last == cr { field.removeLast() }
            endRecord()
        }
        return records
    }
}
