import Foundation
import Testing

@testable import LaData

// Helpers for the dataset tests: temporary directories, a small tar writer (ustar, GNU long names, pax
// headers, and deliberately corrupt variants), locating the shared data, and catching `DataError`s.

// MARK: - Temporary files

/// A fresh temporary directory, removed by `cleanup()`.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ladata-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` (UTF-8) to `name` inside the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Array(text.utf8))
    }

    /// Writes bytes to `name` inside the directory (creating subdirectories) and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }
}

// MARK: - Errors

/// Runs `body` expecting a `DataError` (optionally of `kind`) and returns it.
@discardableResult
func expectDataError(
    _ kind: DataError.Kind? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> DataError? {
    do {
        try body()
        Issue.record("expected a DataError, but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as DataError {
        if let kind { #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("expected a DataError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

// MARK: - Shared data

/// The shared data directory: `$LACLIP_SHARED_DATA`, else `../shared/data` beside the repository root
/// (found from this file's path).
func sharedDataDirectory() -> String {
    if let override = ProcessInfo.processInfo.environment["LACLIP_SHARED_DATA"], !override.isEmpty { return override }
    let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // LaDataTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
    return root.deletingLastPathComponent().appendingPathComponent("shared/data").standardizedFileURL.path
}

/// The path of a shared data file, recording a clear failure when it is missing.
func sharedData(_ relative: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    let path = sharedDataDirectory() + "/" + relative
    guard FileManager.default.fileExists(atPath: path) else {
        Issue.record("shared data \(path) is missing (expected ../shared/data beside the repository root, or set LACLIP_SHARED_DATA)",
                     sourceLocation: sourceLocation)
        return nil
    }
    return path
}

// MARK: - Tar writer

/// Builds tar archives in memory, one 512-byte block at a time, as POSIX ustar / GNU tar lay them out.
struct TarBuilder {
    enum Format { case ustar, gnu, v7 }

    private(set) var bytes: [UInt8] = []

    /// A header block. `checksumDelta` corrupts the checksum; `sizeField` overrides the raw size field.
    static func header(
        name: String, size: Int, type: UInt8 = UInt8(ascii: "0"), format: Format = .ustar, prefix: String = "",
        sizeField: [UInt8]? = nil, checksumDelta: Int = 0
    ) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, length: Int) {
            let utf8 = Array(text.utf8.prefix(length))
            h.replaceSubrange(offset..<(offset + utf8.count), with: utf8)
        }
        func octal(_ value: Int, at offset: Int, length: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits, at: offset, length: length - 1)
        }
        put(name, at: 0, length: 100)
        octal(0o644, at: 100, length: 8)
        octal(0, at: 108, length: 8)
        octal(0, at: 116, length: 8)
        if let sizeField {
            h.replaceSubrange(124..<(124 + sizeField.count), with: sizeField)
        } else {
            octal(size, at: 124, length: 12)
        }
        octal(1_700_000_000, at: 136, length: 12)
        h[156] = type
        switch format {
        case .ustar:
            put("ustar\0", at: 257, length: 6)
            put("00", at: 263, length: 2)
            put(prefix, at: 345, length: 155)
        case .gnu:
            put("ustar  \0", at: 257, length: 8)
        case .v7:
            break
        }
        // Checksum: sum of all bytes with the checksum field as spaces, six octal digits, NUL, space.
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) } + checksumDelta
        let digits = String(sum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, at: 148, length: 6)
        h[154] = 0
        h[155] = 0x20
        return h
    }

    /// The data padded to whole blocks.
    static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// Adds a regular file (or another entry type).
    mutating func add(_ name: String, _ data: [UInt8], type: UInt8 = UInt8(ascii: "0"), format: Format = .ustar, prefix: String = "") {
        bytes += TarBuilder.header(name: name, size: data.count, type: type, format: format, prefix: prefix)
        bytes += TarBuilder.padded(data)
    }

    /// Adds a text file.
    mutating func add(_ name: String, text: String) {
        add(name, Array(text.utf8))
    }

    /// Adds a file whose name is carried by a GNU `L` long-name entry (the header's own name is cut to 100).
    mutating func addGNULongName(_ name: String, _ data: [UInt8]) {
        let nameData = Array(name.utf8) + [0]
        add("././@LongLink", nameData, type: UInt8(ascii: "L"), format: .gnu)
        bytes += TarBuilder.header(name: String(name.prefix(100)), size: data.count, format: .gnu)
        bytes += TarBuilder.padded(data)
    }

    /// Adds a file preceded by a pax extended header with the given records.
    mutating func addPax(_ records: [(String, String)], headerName: String, _ data: [UInt8]) {
        var paxData: [UInt8] = []
        for (key, value) in records {
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while String(length).count + body.utf8.count != length { length = String(length).count + body.utf8.count }
            paxData += Array("\(length)\(body)".utf8)
        }
        add("PaxHeaders/\(headerName)", paxData, type: UInt8(ascii: "x"))
        add(headerName, data)
    }

    /// Appends raw bytes (for corrupt archives).
    mutating func append(_ raw: [UInt8]) { bytes += raw }

    /// Appends the end-of-archive marker (two zero blocks).
    mutating func finish() { bytes += [UInt8](repeating: 0, count: 1024) }
}

/// Deterministic pseudo-random bytes.
func testBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
