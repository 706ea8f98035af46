import CLaZlib
import Foundation

/// Reading gzip-compressed (or plain) files through zlib.
public enum Gzip {
    /// The whole decompressed content of a gzip file. A file that is not gzip-compressed is returned as it
    /// is (zlib reads plain files transparently).
    /// - Parameter path: The file path.
    /// - Throws: `DataError` when the file cannot be opened or the stream is corrupt or truncated.
    public static func readAll(path: String) throws -> [UInt8] {
        guard let file = gzopen(path, "rb") else {
            throw DataError(.unreadable, file: path, "cannot open file")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 17)
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 17)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw DataError(.malformed, file: path, "gzip stream is corrupt: \(message)")
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<Int(n)])
        }
        // zlib reports a stream cut short only through gzerror after the final read.
        var code: Int32 = 0
        _ = gzerror(file, &code)
        if code == Z_BUF_ERROR { throw DataError(.truncated, file: path, "gzip stream ends early") }
        if code != Z_OK && code != Z_STREAM_END {
            throw DataError(.malformed, file: path, "gzip stream is corrupt (zlib error \(code))")
        }
        return result
    }

    /// The decompressed content as UTF-8 text (invalid bytes are replaced).
    /// - Parameter path: The file path.
    public static func readText(path: String) throws -> String {
        String(decoding: try readAll(path: path), as: UTF8.self)
    }
}
