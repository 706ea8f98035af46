import Foundation

/// The CLIP BPE vocabulary (`bpe_simple_vocab_16e6.txt.gz`) as open_clip's `SimpleTokenizer` builds it:
/// 256 byte tokens, their 256 `</w>` (end-of-word) variants, one token per merge, then `<start_of_text>` and
/// `<end_of_text>`.
///
/// Tokens are ids throughout: a byte's token is its position in GPT-2's `bytes_to_unicode` order, the
/// end-of-word variant is that plus 256, and merges are looked up by the packed pair of ids.
public struct BPEVocabulary: Sendable {
    /// The number of merges open_clip reads: lines 1 ..< 48,895 of the file (`49152 - 256 - 2`).
    public static let mergeCount = 49152 - 256 - 2
    /// The largest decompressed vocabulary accepted (16 MiB; CLIP's is 1.4 MB), so a decompression bomb is refused
    /// before it is held in memory.
    public static let maximumFileSize = 16 << 20
    /// The id of `<start_of_text>` (49406).
    public let startOfTextID: Int
    /// The id of `<end_of_text>` (49407).
    public let endOfTextID: Int
    /// The number of tokens (49,408).
    public var count: Int { tokenBytes.count }

    /// The token id of each byte (the byte-level alphabet in `bytes_to_unicode` order).
    let byteToID: [Int32]
    /// Each token's bytes as `decode` writes them, `</w>` included.
    let tokenBytes: [[UInt8]]
    /// Merges by packed pair `(first << 32) | second`.
    let merges: MergeTable

    /// Reads and checks a vocabulary file (gzip or plain).
    /// - Parameter path: The file path.
    /// - Throws: `DataError` when the file is missing, unreadable, not valid gzip, has too few lines, or has a
    ///   merge line that is not two tokens of the vocabulary.
    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError(
                .unreadable, file: path,
                "CLIP BPE vocabulary not found")
        }
        let data = try Gzip.readAll(path: path, maximumSize: Self.maximumFileSize)
        guard let text = String(validating: data, as: UTF8.self) else {
            throw DataError(.malformed, file: path, "CLIP BPE vocabulary is not valid UTF-8")
        }
        let lines = text.split(separator: "\n", maxSplits: Self.mergeCount + 1, omittingEmptySubsequences: false)
        guard lines.count > Self.mergeCount else {
            throw DataError(
                .truncated, file: path, line: lines.count,
                "CLIP BPE vocabulary has \(lines.count) lines; expected a header and at least \(Self.mergeCount) merges")
        }

        // GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the others to U+0100 onwards.
        var order: [UInt8] = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var characters: [Unicode.Scalar] = order.map { Unicode.Scalar($0) }
        var next: UInt32 = 256
        for b in 0...255 where !order.contains(UInt8(b)) {
            order.append(UInt8(b))
            characters.append(Unicode.Scalar(next)!)
            next += 1
        }
        var byteToID = [Int32](repeating: 0, count: 256)
        var byteOfCharacter: [Unicode.Scalar: UInt8] = [:]
        for (i, b) in order.enumerated() {
            byteToID[Int(b)] = Int32(i)
            byteOfCharacter[characters[i]] = b
        }

        var names: [String] = characters.map { String($0) }
        names += characters.map { String($0) + "</w>" }
        var tokenBytes: [[UInt8]] = order.map { [$0] }
        tokenBytes += order.map { [$0] + Array("</w>".utf8) }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(Self.mergeCount)
        for lineIndex in 1...Self.mergeCount {
            let parts = lines[lineIndex].unicodeScalars.split(whereSeparator: { TextCleaning.isPythonWhitespace($0.value) })
            guard parts.count == 2 else {
                throw DataError(
                    .malformed, file: path, line: lineIndex + 1, field: "merge",
                    "expected two space-separated tokens, found \(parts.count)")
            }
            let pair = (String(String.UnicodeScalarView(parts[0])), String(String.UnicodeScalarView(parts[1])))
            pairs.append(pair)
            names.append(pair.0 + pair.1)
        }
        names += ["<start_of_text>", "<end_of_text>"]
        var idOfName: [String: Int32] = [:]
        idOfName.reserveCapacity(names.count)
        for (i, name) in names.enumerated() { idOfName[name] = Int32(i) }

        var merges = MergeTable(capacity: pairs.count)
        for (rank, pair) in pairs.enumerated() {
            guard let first = idOfName[pair.0], let second = idOfName[pair.1],
                let merged = idOfName[pair.0 + pair.1]
            else {
                throw DataError(
                    .malformed, file: path, line: rank + 2, field: "merge",
                    "merge \"\(pair.0) \(pair.1)\" uses a token that is not in the vocabulary")
            }
            // Both parts must be tokens defined before this line (bytes or earlier merges): a merge moved ahead of
            // the merges that build its parts, or one that uses a special token, is a corrupt file.
            guard Int(first) < tokenBytes.count, Int(second) < tokenBytes.count else {
                throw DataError(
                    .malformed, file: path, line: rank + 2, field: "merge",
                    "merge \"\(pair.0) \(pair.1)\" uses a token that no earlier line defines")
            }
            merges.insert(first: first, second: second, rank: Int32(rank), merged: merged)
            tokenBytes.append(tokenBytes[Int(first)] + tokenBytes[Int(second)])
        }
        tokenBytes.append(Array("<start_of_text>".utf8))
        tokenBytes.append(Array("<end_of_text>".utf8))

        self.byteToID = byteToID
        self.tokenBytes = tokenBytes
        self.merges = merges
        self.startOfTextID = tokenBytes.count - 2
        self.endOfTextID = tokenBytes.count - 1
    }

    /// open_clip's `bpe`: merges the lowest-ranked adjacent pair (every occurrence, left to right) until no pair
    /// has a rank, starting from the word's bytes with the last one marked end-of-word.
    /// - Parameters:
    ///   - word: The pre-token's UTF-8 bytes (not empty).
    ///   - symbols: Scratch space; holds the result on return.
    @inline(__always)
    func bpe(_ word: UnsafeBufferPointer<UInt8>, into symbols: inout [Int32]) {
        symbols.removeAll(keepingCapacity: true)
        for b in word { symbols.append(byteToID[Int(b)]) }
        symbols[symbols.count - 1] += 256
        var n = symbols.count
        symbols.withUnsafeMutableBufferPointer { w in
            while n > 1 {
                var bestRank = Int32.max
                var first: Int32 = 0
                var second: Int32 = 0
                var merged: Int32 = 0
                for i in 0..<(n - 1) {
                    if let (rank, id) = merges.lookup(w[i], w[i + 1]), rank < bestRank {
                        bestRank = rank
                        first = w[i]
                        second = w[i + 1]
                        merged = id
                    }
                }
                if bestRank == Int32.max { break }
                var i = 0
                var j = 0
                while i < n {
                    if i + 1 < n && w[i] == first && w[i + 1] == second {
                        w[j] = merged
                        i += 2
                    } else {
                        w[j] = w[i]
                        i += 1
                    }
                    j += 1
                }
                n = j
            }
        }
        symbols.removeLast(symbols.count - n)
    }
}

/// Open-addressing map from a packed id pair to (rank, merged id).
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64

    init(capacity: Int) {
        var size = 16
        var bits: UInt64 = 4
        while size < capacity * 4 {
            size <<= 1
            bits += 1
        }
        keys = Array(repeating: UInt64.max, count: size)
        values = Array(repeating: 0, count: size)
        shift = 64 - bits
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    mutating func insert(first: Int32, second: Int32, rank: Int32, merged: Int32) {
        let key = UInt64(UInt32(first)) << 32 | UInt64(UInt32(second))
        let mask = keys.count - 1
        var i = slot(key)
        while keys[i] != UInt64.max && keys[i] != key { i = (i + 1) & mask }
        keys[i] = key  // a repeated merge takes its last rank, as `dict(zip(merges, range(...)))` does
        values[i] = UInt64(UInt32(rank)) << 32 | UInt64(UInt32(merged))
    }

    @inline(__always)
    func lookup(_ first: Int32, _ second: Int32) -> (Int32, Int32)? {
        let key = UInt64(UInt32(first)) << 32 | UInt64(UInt32(second))
        return keys.withUnsafeBufferPointer { keys in
            let mask = keys.count - 1
            var i = slot(key)
            while true {
                let k = keys[i]
                if k == key {
                    let v = values[i]
                    return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
                }
                if k == UInt64.max { return nil }
                i = (i + 1) & mask
            }
        }
    }
}
