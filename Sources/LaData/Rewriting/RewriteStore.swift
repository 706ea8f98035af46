import Foundation

/// One finished rewrite with its provenance: a line of the store's JSON-lines file.
public struct RewriteRecord: Codable, Sendable, Equatable {
    /// The caption's index in the caption list (0-based).
    public var captionIndex: Int
    /// Which of the caption's M rewrites this is (0-based).
    public var rewriteIndex: Int
    /// The original caption.
    public var source: String
    /// The accepted rewrite, or the original when every attempt was rejected.
    public var rewrite: String
    /// True when `rewrite` is the original because every attempt was rejected.
    public var fellBack: Bool
    /// The number of generation attempts.
    public var attempts: Int
    /// Rejected attempts by reason.
    public var rejections: [String: Int]
    /// The bank of the in-context examples.
    public var bank: String
    /// The model name the server reported or was asked for.
    public var model: String
    /// The run's seed.
    public var seed: UInt64
    /// Sampling settings.
    public var sampling: SamplingParameters
    /// FNV-1a 64-bit hash (hex) of the accepted attempt's prompt.
    public var promptHash: String

    enum CodingKeys: String, CodingKey {
        case captionIndex = "caption_index", rewriteIndex = "rewrite_index", source, rewrite
        case fellBack = "fell_back", attempts, rejections, bank, model, seed, sampling, promptHash = "prompt_hash"
    }

    /// Creates a record.
    /// - Parameters:
    ///   - captionIndex: The caption's index.
    ///   - rewriteIndex: Which rewrite.
    ///   - source: The original.
    ///   - rewrite: The rewrite.
    ///   - fellBack: Whether it is the original after rejections.
    ///   - attempts: Generation attempts.
    ///   - rejections: Rejections by reason.
    ///   - bank: The bank.
    ///   - model: The model name.
    ///   - seed: The seed.
    ///   - sampling: Sampling settings.
    ///   - promptHash: The prompt hash.
    public init(captionIndex: Int, rewriteIndex: Int, source: String, rewrite: String, fellBack: Bool, attempts: Int,
                rejections: [String: Int], bank: String, model: String, seed: UInt64, sampling: SamplingParameters, promptHash: String) {
        self.captionIndex = captionIndex
        self.rewriteIndex = rewriteIndex
        self.source = source
        self.rewrite = rewrite
        self.fellBack = fellBack
        self.attempts = attempts
        self.rejections = rejections
        self.bank = bank
        self.model = model
        self.seed = seed
        self.sampling = sampling
        self.promptHash = promptHash
    }

    /// The FNV-1a 64-bit hash of a string, as 16 hex digits.
    /// - Parameter text: The text.
    public static func hash(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(h, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

/// A resumable store of rewrites in a folder:
/// - `rewrites.jsonl`: one `RewriteRecord` per line, appended as each rewrite finishes (one `write` per
///   line, so a crash can at worst leave a partial last line, which is dropped when the store is reopened);
/// - `rewrite_1.txt ... rewrite_M.txt`: LaCLIP's format (line i = rewrite m of caption i), written
///   atomically by `exportLaCLIPFormat`;
/// - `rejections.json`: counts by reason, also written atomically.
///
/// Reopening the store reads the finished (caption, rewrite) pairs, so a stopped run continues where it
/// left off and never duplicates or loses a finished caption.
public actor RewriteStore {
    /// The folder.
    public let directory: URL
    /// Records by (caption index, rewrite index).
    public private(set) var records: [Int: [Int: RewriteRecord]] = [:]
    let handle: FileHandle

    /// The JSON-lines file.
    public var journalURL: URL { directory.appendingPathComponent("rewrites.jsonl") }

    /// Opens (or creates) a store.
    /// - Parameter directory: The folder (created if missing).
    /// - Throws: `DataError` when the folder or journal cannot be used or a complete line is not a record.
    public init(directory: URL) throws {
        self.directory = directory
        let path = directory.appendingPathComponent("rewrites.jsonl").path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch { throw DataError(.unreadable, file: directory.path, "cannot create output folder: \(error.localizedDescription)") }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw DataError(.unreadable, file: path, "cannot create journal") }
        }
        var content = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        // Drop a partial last line left by an interrupted append.
        if let last = content.last, last != UInt8(ascii: "\n") {
            if let cut = content.lastIndex(of: UInt8(ascii: "\n")) { content = content.prefix(through: cut) } else { content = Data() }
            do { try content.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw DataError(.unreadable, file: path, "cannot repair journal: \(error.localizedDescription)")
            }
        }
        var loaded: [Int: [Int: RewriteRecord]] = [:]
        let decoder = JSONDecoder()
        for (number, line) in content.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard let record = try? decoder.decode(RewriteRecord.self, from: Data(line)) else {
                throw DataError(.malformed, file: path, line: number + 1, "not a rewrite record")
            }
            loaded[record.captionIndex, default: [:]][record.rewriteIndex] = record
        }
        records = loaded
        guard let handle = FileHandle(forWritingAtPath: path) else { throw DataError(.unreadable, file: path, "cannot open journal for appending") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    /// Whether a rewrite is already stored.
    /// - Parameters:
    ///   - captionIndex: The caption.
    ///   - rewriteIndex: The rewrite.
    public func contains(captionIndex: Int, rewriteIndex: Int) -> Bool { records[captionIndex]?[rewriteIndex] != nil }

    /// Appends a finished rewrite (ignored if that pair is already stored).
    /// - Parameter record: The record.
    public func append(_ record: RewriteRecord) throws {
        if contains(captionIndex: record.captionIndex, rewriteIndex: record.rewriteIndex) { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var line = try encoder.encode(record)
        line.append(UInt8(ascii: "\n"))
        do { try handle.write(contentsOf: line) } catch {
            throw DataError(.unreadable, file: journalURL.path, "cannot append: \(error.localizedDescription)")
        }
        records[record.captionIndex, default: [:]][record.rewriteIndex] = record
    }

    /// Rejection counts by reason over all records (plus `fallback`: rewrites that fell back to the original).
    public func rejectionCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for byRewrite in records.values {
            for record in byRewrite.values {
                for (reason, count) in record.rejections { counts[reason, default: 0] += count }
                if record.fellBack { counts["fallback", default: 0] += 1 }
            }
        }
        return counts
    }

    /// Writes `rewrite_1.txt ... rewrite_M.txt` (LaCLIP's format, aligned with the caption list) and
    /// `rejections.json`, each atomically.
    /// - Parameters:
    ///   - captionCount: The number of captions.
    ///   - rewritesPerCaption: M.
    /// - Throws: `DataError` if a rewrite is missing.
    public func exportLaCLIPFormat(captionCount: Int, rewritesPerCaption: Int) throws {
        for m in 0..<rewritesPerCaption {
            var lines: [String] = []
            for i in 0..<captionCount {
                guard let record = records[i]?[m] else {
                    throw DataError(.truncated, file: journalURL.path, line: i + 1, field: "rewrite \(m + 1)", "rewrite missing; run the rewriting to completion first")
                }
                lines.append(record.rewrite.replacingOccurrences(of: "\n", with: " "))
            }
            let url = directory.appendingPathComponent("rewrite_\(m + 1).txt")
            try writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: url)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try writeAtomically(try encoder.encode(rejectionCounts()), to: directory.appendingPathComponent("rejections.json"))
    }

    func writeAtomically(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw DataError(.unreadable, file: url.path, "cannot write: \(error.localizedDescription)")
        }
    }
}
