import CLaZlib
import Foundation

/// Reading gzip-compressed (or plain) files through zlib.
public enum Gzip {
    /// The largest decompressed size `readAll(path:)` accepts by default: 1 GiB, or `LACLIP_MAX_INFLATED_MB`
    /// mebibytes when that variable is set. A small gzip of zeros can inflate a thousandfold (a "zip bomb"):
    /// besides this limit, any stream that passes 64 MiB at more than 200:1 is refused, so a 1 MB bomb stops at
    /// 64 MiB with an error instead of being held in memory.
    public static let defaultMaximumSize: Int = {
        if let text = ProcessInfo.processInfo.environment["LACLIP_MAX_INFLATED_MB"], let megabytes = Int(text), megabytes > 0,
            megabytes < 1 << 40
        {
            return megabytes << 20
        }
        return 1 << 30
    }()

    /// The whole decompressed content of a gzip file. A file that is not gzip-compressed is returned as it
    /// is (zlib reads plain files transparently).
    /// - Parameters:
    ///   - path: The file path.
    ///   - maximumSize: The most bytes accepted (`defaultMaximumSize` unless given); reading stops with an error as
    ///     soon as the content would exceed it.
    /// - Throws: `DataError` when the file cannot be opened, the stream is corrupt or truncated, or the content is
    ///   larger than `maximumSize` (`.unsupported`, naming the limit and how to raise it).
    public static func readAll(path: String, maximumSize: Int = defaultMaximumSize) throws -> [UInt8] {
        try read(path: path, count: nil, maximumSize: maximumSize)
    }

    /// The first `count` decompressed bytes of a file (fewer when it is shorter), e.g. a header to validate before
    /// the rest is read.
    /// - Parameters:
    ///   - path: The file path.
    ///   - count: The number of bytes wanted.
    /// - Throws: `DataError` when the file cannot be opened or the stream is corrupt.
    public static func readPrefix(path: String, count: Int) throws -> [UInt8] {
        try read(path: path, count: max(0, count), maximumSize: max(0, count))
    }

    private static func read(path: String, count: Int?, maximumSize: Int) throws -> [UInt8] {
        guard let file = gzopen(path, "rb") else {
            throw DataError(.unreadable, file: path, "cannot open file")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 17)
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 17)
        while count.map({ result.count < $0 }) ?? true {
            let wanted = min(chunk.count, (count ?? Int.max) - result.count)
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(wanted)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw DataError(.malformed, file: path, "gzip stream is corrupt: \(message)")
            }
            if n == 0 { break }
            // A decompression bomb shows as an inflation ratio no real data has (text and images stay below about
            // 20:1; a gzip of zeros reaches 1000:1): past 64 MiB, more than 200 bytes per compressed byte is refused.
            if result.count > 64 << 20 {
                let compressed = max(Int(gzoffset(file)), 1)
                guard result.count / compressed <= 200 else {
                    throw DataError(
                        .unsupported, file: path,
                        "the content inflates more than 200:1 (\(result.count) bytes from \(compressed) compressed bytes): a decompression bomb")
                }
            }
            guard result.count + Int(n) <= maximumSize else {
                throw DataError(
                    .unsupported, file: path,
                    "the content inflates beyond the limit of \(maximumSize) bytes (a decompression bomb, or a file larger "
                        + "than this reader accepts; LACLIP_MAX_INFLATED_MB raises the general limit)")
            }
            result.append(contentsOf: chunk[0..<Int(n)])
        }
        if count != nil { return result }
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

extension Gzip {
    /// Writes `bytes` gzip-compressed to `path` (through a temporary file renamed into place).
    /// - Parameters:
    ///   - bytes: The content.
    ///   - path: The `.gz` file to create or replace.
    ///   - repeats: How many times the content is written in a row (to build large test streams cheaply).
    /// - Throws: `DataError(.unreadable)` when the file cannot be written.
    public static func write(_ bytes: [UInt8], to path: String, repeats: Int = 1) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard let file = gzopen(temporary, "wb6") else { throw DataError(.unreadable, file: path, "cannot create file") }
        var ok = true
        for _ in 0..<max(repeats, 0) where ok && !bytes.isEmpty {
            ok = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) } == Int32(bytes.count)
        }
        ok = gzclose(file) == Z_OK && ok
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw DataError(.unreadable, file: path, "cannot write the compressed file")
        }
    }
}
