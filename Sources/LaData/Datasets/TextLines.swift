/// Splitting text files into lines, for caption files with one caption per line.
enum TextLines {
    /// The lines of a file (gzip or plain): split at LF, a CR before the LF dropped, a UTF-8 BOM
    /// dropped; a final newline does not start an extra line, so `"a\nb\n"` and `"a\nb"` both have two.
    /// - Parameter path: The file path.
    /// - Throws: `DataError` when the file cannot be read.
    static func read(path: String) throws -> [String] {
        split(try Gzip.readAll(path: path))
    }

    /// The lines of UTF-8 bytes (see `read(path:)`).
    /// - Parameter bytes: The content.
    static func split(_ bytes: [UInt8]) -> [String] {
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        var lines: [String] = []
        var i = start
        var lineStart = start
        while i < bytes.count {
            if bytes[i] == 0x0A {
                var end = i
                if end > lineStart && bytes[end - 1] == 0x0D { end -= 1 }
                lines.append(String(decoding: bytes[lineStart..<end], as: UTF8.self))
                lineStart = i + 1
            }
            i += 1
        }
        if lineStart < bytes.count {
            var end = bytes.count
            if end > lineStart && bytes[end - 1] == 0x0D { end -= 1 }
            lines.append(String(decoding: bytes[lineStart..<end], as: UTF8.self))
        }
        return lines
    }
}
