import Foundation

/// One entry of a tar archive, as described by its header(s).
public struct TarEntry: Sendable, Hashable {
    /// What the entry is.
    public enum Kind: Sendable, Hashable {
        /// A regular file (type `0`, NUL or `7`).
        case file
        /// A directory (type `5`).
        case directory
        /// A symbolic link (type `2`).
        case symbolicLink
        /// A hard link (type `1`).
        case hardLink
        /// Any other type (devices, FIFOs, vendor extensions), with its type byte.
        case other(UInt8)
    }

    /// The member name: the pax `path` or GNU long name when present, else the ustar prefix and name.
    public var name: String
    /// The size of the member's data in bytes (0 for directories and links).
    public var size: Int
    /// The entry type.
    public var kind: Kind
    /// The 1-based position of the entry among the archive's entries (extension headers not counted).
    public var index: Int
    /// The byte offset of the entry's data in the archive.
    public var dataOffset: Int
}

/// A streaming reader of POSIX tar archives (v7, ustar, GNU and pax), with bounded memory.
///
/// The archive is read through a `FileHandle` in chunks of `bufferSize`; only the member being read is
/// held in memory, and members that are not wanted are skipped by seeking. Nothing is ever written to
/// disk, so member names (which may be absolute or contain `..`) are only strings.
///
/// Supported: ustar names with their `prefix`, GNU long names (`L`) and long link names (`K`, skipped),
/// pax extended headers (`x`: `path` and `size` are honoured, other keys ignored; `g` global headers are
/// skipped), octal and GNU base-256 sizes, and archives that end without the two zero blocks.
///
/// Errors are `DataError`s whose `file` is the archive, `line` the entry's 1-based index and `field`
/// the member name: a bad header checksum or unparsable field (`.malformed`), a member whose declared
/// size runs past the end of the file or an archive cut inside a header, member or its padding
/// (`.truncated`), and a member larger than `maximumMemberSize` (`.unsupported`).
///
/// Use: call `next()` to move to the following entry, then optionally `readData()` for its content.
/// The reader is a class holding an open file; it is not safe to share between threads.
public final class TarReader {
    /// The archive path (named in errors).
    public let path: String
    /// The archive's size in bytes when it was opened.
    public let fileSize: Int
    /// The largest member `readData()` will load (and the largest extension header accepted).
    public let maximumMemberSize: Int

    private let handle: FileHandle
    private var buffer: [UInt8]
    private var bufferStart = 0  // file offset of buffer[0]
    private var bufferCount = 0  // valid bytes in buffer
    private var position = 0  // current file offset
    private var current: TarEntry?
    private var currentDataConsumed = true
    private var entryCount = 0
    private var finished = false

    private static let blockSize = 512

    /// Opens an archive.
    /// - Parameters:
    ///   - path: The tar file.
    ///   - bufferSize: The read chunk size in bytes (memory used besides the current member).
    ///   - maximumMemberSize: The largest member that `readData()` may load into memory.
    /// - Throws: `DataError(.unreadable)` when the file cannot be opened.
    public init(path: String, bufferSize: Int = 1 << 20, maximumMemberSize: Int = 1 << 30) throws {
        self.path = path
        self.maximumMemberSize = maximumMemberSize
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let handle = FileHandle(forReadingAtPath: path)
        else {
            throw DataError(.unreadable, file: path, "cannot open tar archive")
        }
        self.handle = handle
        do {
            fileSize = Int(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
        } catch {
            try? handle.close()
            throw DataError(.unreadable, file: path, "cannot read tar archive: \(error)")
        }
        buffer = [UInt8](repeating: 0, count: max(bufferSize, TarReader.blockSize))
    }

    deinit { try? handle.close() }

    // MARK: Low-level reading

    /// Reads up to `count` bytes at the current position (fewer only at the end of the file).
    private func read(_ count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            let inBuffer = bufferStart + bufferCount - position
            if inBuffer > 0 && position >= bufferStart {
                let from = position - bufferStart
                let take = min(inBuffer, count - result.count)
                result.append(contentsOf: buffer[from..<(from + take)])
                position += take
                continue
            }
            let remaining = count - result.count
            if remaining >= buffer.count {
                // Large reads go straight into the result, in buffer-sized chunks.
                let data = try readHandle(at: position, count: min(remaining, 1 << 24))
                if data.isEmpty { return result }
                result.append(contentsOf: data)
                position += data.count
                continue
            }
            let data = try readHandle(at: position, count: buffer.count)
            if data.isEmpty { return result }
            data.copyBytes(to: &buffer, count: data.count)
            bufferStart = position
            bufferCount = data.count
        }
        return result
    }

    private var handleOffset = 0  // where the FileHandle's own offset is

    /// Reads up to `count` bytes at `offset` from the file, seeking only when needed.
    private func readHandle(at offset: Int, count: Int) throws -> Data {
        do {
            if handleOffset != offset {
                try handle.seek(toOffset: UInt64(offset))
                handleOffset = offset
            }
            let data = try handle.read(upToCount: count) ?? Data()
            handleOffset += data.count
            return data
        } catch {
            throw DataError(.unreadable, file: path, "read error at byte \(offset): \(error)")
        }
    }

    /// Moves the position forward by `count` bytes without reading them.
    private func skip(_ count: Int) {
        position += count
    }

    // MARK: Entries

    /// Moves to the next entry (skipping the rest of the current one) and returns it, or `nil` at the
    /// end of the archive.
    /// - Throws: `DataError` naming the archive and member for corrupt or truncated data.
    public func next() throws -> TarEntry? {
        if finished { return nil }
        if let current, !currentDataConsumed {
            try skipData(of: current)
        }
        current = nil
        var longName: String?
        var paxPath: String?
        var paxSize: Int?
        while true {
            let headerOffset = position
            let header = try read(TarReader.blockSize)
            if header.isEmpty {
                finished = true
                return nil
            }
            let rawName = TarReader.string(header.prefix(100))
            guard header.count == TarReader.blockSize else {
                throw DataError(.truncated, file: path, line: entryCount + 1, field: longName ?? paxPath ?? rawName,
                                "archive ends inside a header (at byte \(headerOffset))")
            }
            if header.allSatisfy({ $0 == 0 }) {
                finished = true
                return nil
            }
            let memberName = paxPath ?? longName ?? rawName
            try verifyChecksum(header, member: memberName)
            let headerSize = try parseNumber(header[124..<136], member: memberName, fieldName: "size")
            let type = header[156]
            let magic = Array(header[257..<263])
            let isPOSIX = magic == Array("ustar\0".utf8)
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "K"):
                let data = try readExtension(size: headerSize, member: memberName, what: "GNU long name")
                if type == UInt8(ascii: "L") { longName = TarReader.string(data[...]) }
                continue
            case UInt8(ascii: "x"):
                let data = try readExtension(size: headerSize, member: memberName, what: "pax header")
                let records = try parsePax(data, member: memberName)
                if let value = records["path"] { paxPath = value }
                if let value = records["size"] {
                    guard let size = Int(value), size >= 0 else {
                        throw DataError(.malformed, file: path, line: entryCount + 1, field: memberName, "invalid pax size \"\(value)\"")
                    }
                    paxSize = size
                }
                continue
            case UInt8(ascii: "g"):
                _ = try readExtension(size: headerSize, member: memberName, what: "pax global header")
                continue
            default:
                break
            }
            var name = rawName
            if isPOSIX {
                let prefix = TarReader.string(header[345..<500])
                if !prefix.isEmpty { name = prefix + "/" + name }
            }
            name = paxPath ?? longName ?? name
            let kind: TarEntry.Kind
            switch type {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "2"): kind = .symbolicLink
            case UInt8(ascii: "1"): kind = .hardLink
            default: kind = .other(type)
            }
            // As in Python's tarfile: links, directories and devices carry no data whatever their size field.
            let hasData: Bool
            switch type {
            case UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "4"), UInt8(ascii: "5"), UInt8(ascii: "6"):
                hasData = false
            default:
                hasData = true
            }
            let size = hasData ? (paxSize ?? headerSize) : 0
            entryCount += 1
            let remaining = fileSize - position
            if size > remaining {
                throw DataError(.truncated, file: path, line: entryCount, field: name,
                                "member declares \(size) bytes but only \(max(remaining, 0)) remain in the archive")
            }
            let entry = TarEntry(name: name, size: size, kind: kind, index: entryCount, dataOffset: position)
            current = entry
            currentDataConsumed = size == 0
            if size == 0 { try skipPadding(after: 0, of: entry) }
            return entry
        }
    }

    /// The data of the entry last returned by `next()`, read into memory (once).
    /// - Throws: `DataError` when there is no current entry, its data was already read, it is larger than
    ///   `maximumMemberSize`, or the archive is cut inside it.
    public func readData() throws -> [UInt8] {
        guard let entry = current else {
            throw DataError(.unsupported, file: path, "readData() called without a current entry")
        }
        if entry.size == 0 { return [] }
        guard !currentDataConsumed else {
            throw DataError(.unsupported, file: path, line: entry.index, field: entry.name, "member data was already read")
        }
        guard entry.size <= maximumMemberSize else {
            throw DataError(.unsupported, file: path, line: entry.index, field: entry.name,
                            "member of \(entry.size) bytes exceeds the \(maximumMemberSize)-byte limit")
        }
        let data = try read(entry.size)
        currentDataConsumed = true
        guard data.count == entry.size else {
            throw DataError(.truncated, file: path, line: entry.index, field: entry.name,
                            "archive ends inside the member (\(data.count) of \(entry.size) bytes)")
        }
        try skipPadding(after: entry.size, of: entry)
        return data
    }

    /// Reads every remaining regular file into memory, in archive order (convenient for small archives).
    /// - Throws: `DataError` as `next()` and `readData()`.
    public func readAllFiles() throws -> [(entry: TarEntry, data: [UInt8])] {
        var result: [(entry: TarEntry, data: [UInt8])] = []
        while let entry = try next() {
            if entry.kind == .file { result.append((entry, try readData())) }
        }
        return result
    }

    private func skipData(of entry: TarEntry) throws {
        currentDataConsumed = true
        if entry.size > fileSize - position {
            throw DataError(.truncated, file: path, line: entry.index, field: entry.name, "archive ends inside the member")
        }
        skip(entry.size)
        try skipPadding(after: entry.size, of: entry)
    }

    private func skipPadding(after size: Int, of entry: TarEntry) throws {
        let padding = (TarReader.blockSize - size % TarReader.blockSize) % TarReader.blockSize
        if padding > fileSize - position {
            throw DataError(.truncated, file: path, line: entry.index, field: entry.name, "archive ends inside the member's padding")
        }
        skip(padding)
    }

    private func readExtension(size: Int, member: String, what: String) throws -> [UInt8] {
        guard size <= min(maximumMemberSize, 1 << 24) else {
            throw DataError(.unsupported, file: path, line: entryCount + 1, field: member, "\(what) of \(size) bytes is too large")
        }
        guard size <= fileSize - position else {
            throw DataError(.truncated, file: path, line: entryCount + 1, field: member,
                            "\(what) declares \(size) bytes but only \(fileSize - position) remain in the archive")
        }
        let data = try read(size)
        guard data.count == size else {
            throw DataError(.truncated, file: path, line: entryCount + 1, field: member, "archive ends inside a \(what)")
        }
        let padding = (TarReader.blockSize - size % TarReader.blockSize) % TarReader.blockSize
        guard padding <= fileSize - position else {
            throw DataError(.truncated, file: path, line: entryCount + 1, field: member, "archive ends inside a \(what)'s padding")
        }
        skip(padding)
        return data
    }

    // MARK: Header fields

    private func verifyChecksum(_ header: [UInt8], member: String) throws {
        let stored = try parseNumber(header[148..<156], member: member, fieldName: "checksum")
        var unsigned = 0
        var signed = 0
        for (i, byte) in header.enumerated() {
            let b = (148..<156).contains(i) ? 0x20 : byte
            unsigned += Int(b)
            signed += Int(Int8(bitPattern: b))
        }
        guard stored == unsigned || stored == signed else {
            throw DataError(.malformed, file: path, line: entryCount + 1, field: member,
                            "bad header checksum (stored \(stored), computed \(unsigned))")
        }
    }

    /// An octal number (NUL/space padded) or a GNU base-256 number (first byte's high bit set).
    private func parseNumber(_ bytes: ArraySlice<UInt8>, member: String, fieldName: String) throws -> Int {
        if let first = bytes.first, first & 0x80 != 0 {
            guard first & 0x40 == 0 else {
                throw DataError(.malformed, file: path, line: entryCount + 1, field: member, "negative base-256 \(fieldName)")
            }
            var value = Int(first & 0x3F)
            for byte in bytes.dropFirst() {
                guard value < (Int.max >> 8) else {
                    throw DataError(.unsupported, file: path, line: entryCount + 1, field: member, "\(fieldName) too large")
                }
                value = value << 8 | Int(byte)
            }
            return value
        }
        var value = 0
        var seenDigit = false
        var ended = false
        for byte in bytes {
            if byte == 0 || byte == 0x20 {
                if seenDigit { ended = true }
                continue
            }
            guard byte >= 0x30 && byte <= 0x37, !ended else {
                throw DataError(.malformed, file: path, line: entryCount + 1, field: member, "invalid octal \(fieldName) field")
            }
            seenDigit = true
            value = value * 8 + Int(byte - 0x30)
        }
        return value
    }

    private func parsePax(_ data: [UInt8], member: String) throws -> [String: String] {
        var records: [String: String] = [:]
        var i = 0
        while i < data.count {
            if data[i] == 0 { break }  // NUL padding after the records
            var length = 0
            var j = i
            while j < data.count && data[j] >= 0x30 && data[j] <= 0x39 && length < 1 << 24 {
                length = length * 10 + Int(data[j] - 0x30)
                j += 1
            }
            guard j < data.count, data[j] == 0x20, length > j - i + 1, i + length <= data.count,
                  data[i + length - 1] == 0x0A
            else {
                throw DataError(.malformed, file: path, line: entryCount + 1, field: member, "malformed pax header record")
            }
            let record = data[(j + 1)..<(i + length - 1)]
            guard let equals = record.firstIndex(of: 0x3D) else {
                throw DataError(.malformed, file: path, line: entryCount + 1, field: member, "pax record without '='")
            }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            let value = String(decoding: record[(equals + 1)...], as: UTF8.self)
            records[key] = value
            i += length
        }
        return records
    }

    /// A NUL-terminated string field.
    private static func string(_ bytes: ArraySlice<UInt8>) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }
}
