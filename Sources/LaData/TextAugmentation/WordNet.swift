import Foundation
import Synchronization

/// A read-only WordNet 3.0 database (Princeton WordNet licence), parsed from its plain-text files.
///
/// The database is the twelve files `index.{noun,verb,adj,adv}`, `data.{noun,verb,adj,adv}` and
/// `{noun,verb,adj,adv}.exc` in one directory; on Debian they come from the `wordnet-base` package and live in
/// `/usr/share/wordnet`. Licence lines (which begin with two spaces) are skipped.
///
/// Loading reads the files once, checks every index line and every synset offset it names (in `data.*` a line's
/// offset is its byte position), and keeps the bytes; synset lines are parsed lazily when asked for. Lookups
/// are binary searches over the sorted index, so an instance is immutable and safe to share across threads.
/// Use `WordNet.shared()` for the cached system database.
///
/// Words are looked up case-insensitively; spaces in multi-word expressions stand for WordNet's underscores,
/// and results use spaces again (`"domestic dog"`, not `"domestic_dog"`).
public final class WordNet: Sendable {
    /// A WordNet part of speech (adjective satellites belong to `.adjective`).
    public enum PartOfSpeech: String, CaseIterable, Sendable, Hashable {
        /// Nouns (`index.noun`, `data.noun`, `noun.exc`).
        case noun
        /// Verbs (`index.verb`, `data.verb`, `verb.exc`).
        case verb
        /// Adjectives, head and satellite (`index.adj`, `data.adj`, `adj.exc`).
        case adjective
        /// Adverbs (`index.adv`, `data.adv`, `adv.exc`).
        case adverb

        /// The suffix of this part of speech's files: `noun`, `verb`, `adj` or `adv`.
        public var fileSuffix: String {
            switch self {
            case .noun: "noun"
            case .verb: "verb"
            case .adjective: "adj"
            case .adverb: "adv"
            }
        }

        /// WordNet's one-letter code in index files: `n`, `v`, `a` or `r`.
        public var symbol: Character {
            switch self {
            case .noun: "n"
            case .verb: "v"
            case .adjective: "a"
            case .adverb: "r"
            }
        }

        var ordinal: Int {
            switch self {
            case .noun: 0
            case .verb: 1
            case .adjective: 2
            case .adverb: 3
            }
        }

        /// The detachment rules (suffix, replacement) of WordNet's morphology, as in `morphy(7WN)` and NLTK.
        var detachmentRules: [(suffix: String, replacement: String)] {
            switch self {
            case .noun:
                [("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"),
                 ("shes", "sh"), ("men", "man"), ("ies", "y")]
            case .verb:
                [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
                 ("ing", "")]
            case .adjective:
                [("er", ""), ("est", ""), ("er", "e"), ("est", "e")]
            case .adverb:
                []
            }
        }
    }

    /// One synset: a set of synonymous lemmas with one meaning.
    public struct Synset: Hashable, Sendable {
        /// The part of speech whose files hold the synset.
        public let partOfSpeech: PartOfSpeech
        /// The byte offset of the synset's line in its `data.*` file (WordNet's synset id within the part of speech).
        public let offset: Int
        /// Whether this is an adjective satellite (`s` in the data file).
        public let isSatellite: Bool
        /// The lemmas in WordNet's order and spelling, underscores turned into spaces and adjective markers
        /// such as `(a)` removed (e.g. `["dog", "domestic dog", "Canis familiaris"]`).
        public let lemmas: [String]

        /// Creates a synset value.
        /// - Parameters:
        ///   - partOfSpeech: The part of speech whose files hold the synset.
        ///   - offset: The byte offset of the synset's line in its data file.
        ///   - isSatellite: Whether it is an adjective satellite.
        ///   - lemmas: The lemmas, with spaces for underscores.
        public init(partOfSpeech: PartOfSpeech, offset: Int, isSatellite: Bool, lemmas: [String]) {
            self.partOfSpeech = partOfSpeech
            self.offset = offset
            self.isSatellite = isSatellite
            self.lemmas = lemmas
        }
    }

    /// Where Debian's `wordnet-base` package installs the database.
    public static let defaultDirectory = "/usr/share/wordnet"
    /// The Debian/Ubuntu package that provides the database.
    public static let debianPackage = "wordnet-base"

    /// The directory the database was read from.
    public let directory: String
    private let tables: [Table]

    /// Loads the database in `directory`.
    /// - Parameter directory: The directory holding the twelve WordNet files.
    /// - Throws: `DataError` when a file is missing or unreadable (`.unreadable`, naming the apt package),
    ///   when an index or exception line does not follow the format, or when an index names a synset offset that
    ///   is not the start of a matching line in the data file (`.malformed`, with file and line).
    public init(directory: String = WordNet.defaultDirectory) throws {
        self.directory = directory
        var tables: [Table] = []
        for pos in PartOfSpeech.allCases {
            tables.append(try Table(directory: directory, partOfSpeech: pos))
        }
        self.tables = tables
    }

    private static let sharedInstance = Mutex<WordNet?>(nil)

    /// The database in `WordNet.defaultDirectory`, loaded on first use and then shared. A failed load is not
    /// cached, so installing the package and calling again works.
    /// - Throws: `DataError` as `init(directory:)` does.
    public static func shared() throws -> WordNet {
        try sharedInstance.withLock { cached in
            if let cached { return cached }
            let loaded = try WordNet()
            cached = loaded
            return loaded
        }
    }

    // MARK: Lookups

    /// Whether `lemma` is in the index of `partOfSpeech` (or of any part of speech when `nil`), without
    /// morphological analysis.
    /// - Parameters:
    ///   - lemma: The lemma (case-insensitive; spaces for underscores).
    ///   - partOfSpeech: The part of speech, or `nil` for any.
    public func contains(_ lemma: String, partOfSpeech: PartOfSpeech? = nil) -> Bool {
        let key = Array(Self.key(lemma).utf8)
        guard !key.isEmpty else { return false }
        return Self.parts(partOfSpeech).contains { tables[$0.ordinal].entry(for: key) != nil }
    }

    /// The base forms of `word` in `partOfSpeech`, found with WordNet's morphology as NLTK's `_morphy` does.
    ///
    /// If the word is in the part of speech's exception list (`*.exc`, e.g. `ran -> run`, `better -> good`),
    /// the result is the word and its listed base forms, kept only if they are in the index. Otherwise the
    /// detachment rules (e.g. `-s`, `-ies -> -y`, `-men -> -man`, `-ing`, `-est`) are applied once and the word
    /// and its candidates that are in the index are returned; if none is, the rules are applied again to the
    /// candidates until some are found or none are left.
    /// - Parameters:
    ///   - word: The inflected word (case-insensitive; spaces for underscores).
    ///   - partOfSpeech: The part of speech to analyse it as.
    /// - Returns: The base forms in the order found, lowercase, with spaces; empty when the word is unknown.
    public func baseForms(of word: String, partOfSpeech: PartOfSpeech) -> [String] {
        baseKeys(of: Self.key(word), partOfSpeech: partOfSpeech).map(Self.display)
    }

    /// The base forms of `word` in every part of speech (noun, verb, adjective, adverb order), without repeats.
    /// - Parameter word: The inflected word (case-insensitive; spaces for underscores).
    public func baseForms(of word: String) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for pos in PartOfSpeech.allCases {
            for form in baseForms(of: word, partOfSpeech: pos) where seen.insert(form).inserted {
                result.append(form)
            }
        }
        return result
    }

    /// The synsets of `word`, as NLTK's `wordnet.synsets(word, pos)`: for each part of speech (noun, verb,
    /// adjective, adverb order), for each base form of the word, the synsets listed in the index in sense order.
    /// - Parameters:
    ///   - word: The word, possibly inflected (case-insensitive; spaces for underscores).
    ///   - partOfSpeech: One part of speech, or `nil` for all.
    public func synsets(of word: String, partOfSpeech: PartOfSpeech? = nil) -> [Synset] {
        let key = Self.key(word)
        guard !key.isEmpty else { return [] }
        var result: [Synset] = []
        var seen = Set<Int>()
        for pos in Self.parts(partOfSpeech) {
            let table = tables[pos.ordinal]
            seen.removeAll(keepingCapacity: true)
            for form in baseKeys(of: key, partOfSpeech: pos) {
                guard let entry = table.entry(for: Array(form.utf8)) else { continue }
                for offset in table.synsetOffsets(entry: entry) where seen.insert(offset).inserted {
                    if let synset = table.synset(at: offset) { result.append(synset) }
                }
            }
        }
        return result
    }

    /// The lemmas of all synsets of `word` (its synonyms in every sense, the word's own base forms included),
    /// in synset order, without repeats, in WordNet's spelling with spaces for underscores.
    /// - Parameters:
    ///   - word: The word, possibly inflected (case-insensitive; spaces for underscores).
    ///   - partOfSpeech: One part of speech, or `nil` for all.
    public func lemmas(of word: String, partOfSpeech: PartOfSpeech? = nil) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for synset in synsets(of: word, partOfSpeech: partOfSpeech) {
            for lemma in synset.lemmas where seen.insert(lemma).inserted { result.append(lemma) }
        }
        return result
    }

    /// The synset whose line starts at `offset` in the data file of `partOfSpeech`, or `nil` if there is none.
    /// - Parameters:
    ///   - offset: The byte offset (synset id).
    ///   - partOfSpeech: The part of speech.
    public func synset(offset: Int, partOfSpeech: PartOfSpeech) -> Synset? {
        tables[partOfSpeech.ordinal].synset(at: offset)
    }

    /// The number of lemmas in the index of `partOfSpeech`.
    /// - Parameter partOfSpeech: The part of speech.
    public func lemmaCount(partOfSpeech: PartOfSpeech) -> Int {
        tables[partOfSpeech.ordinal].keyStart.count
    }

    // MARK: Morphology

    private func baseKeys(of form: String, partOfSpeech pos: PartOfSpeech) -> [String] {
        guard !form.isEmpty else { return [] }
        let table = tables[pos.ordinal]
        func known(_ forms: [String]) -> [String] {
            var seen = Set<String>()
            return forms.filter { table.entry(for: Array($0.utf8)) != nil && seen.insert($0).inserted }
        }
        if let exceptions = table.exceptions[form] {
            return known([form] + exceptions)
        }
        let rules = pos.detachmentRules
        func detach(_ forms: [String]) -> [String] {
            var seen = Set<String>()
            var result: [String] = []
            for form in forms {
                for rule in rules where form.hasSuffix(rule.suffix) {
                    let candidate = String(form.dropLast(rule.suffix.count)) + rule.replacement
                    if !candidate.isEmpty && seen.insert(candidate).inserted { result.append(candidate) }
                }
            }
            return result
        }
        var forms = detach([form])
        var found = known([form] + forms)
        // Every rule shortens the form, so this ends.
        while found.isEmpty && !forms.isEmpty {
            forms = detach(forms)
            found = known(forms)
        }
        return found
    }

    private static func parts(_ pos: PartOfSpeech?) -> [PartOfSpeech] {
        pos.map { [$0] } ?? PartOfSpeech.allCases
    }

    /// The index key of a word: trimmed, lowercase, runs of whitespace as one underscore.
    static func key(_ word: String) -> String {
        word.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: "_")
    }

    static func display(_ key: String) -> String {
        key.replacingOccurrences(of: "_", with: " ")
    }
}

// MARK: - One part of speech

extension WordNet {
    /// The index, data and exceptions of one part of speech.
    struct Table: Sendable {
        let partOfSpeech: PartOfSpeech
        let indexBytes: [UInt8]
        /// Per index entry, sorted by lemma bytes: where the lemma starts, its length, and its synset offsets
        /// as a range of `offsets`.
        let keyStart: [Int32]
        let keyLength: [Int32]
        let offsetsBegin: [Int32]
        let offsetsCount: [Int32]
        let offsets: [Int32]
        let dataBytes: [UInt8]
        let exceptions: [String: [String]]

        init(directory: String, partOfSpeech pos: PartOfSpeech) throws {
            partOfSpeech = pos
            let base = directory.hasSuffix("/") ? directory : directory + "/"
            let indexPath = base + "index." + pos.fileSuffix
            let dataPath = base + "data." + pos.fileSuffix
            let exceptionPath = base + pos.fileSuffix + ".exc"
            let index = try Self.read(indexPath)
            let data = try Self.read(dataPath)
            let exceptionBytes = try Self.read(exceptionPath)
            indexBytes = index
            dataBytes = data
            exceptions = try Self.parseExceptions(exceptionBytes, path: exceptionPath)

            var entries = try Self.parseIndex(
                index, data: data, symbol: pos.symbol.asciiValue!, indexPath: indexPath, dataPath: dataPath)
            var keyStart = entries.keyStart, keyLength = entries.keyLength
            var begin = entries.begin, count = entries.count
            let offsets = entries.offsets
            let sorted = entries.sorted
            entries = IndexEntries()
            if !sorted {
                // Not in byte order (not the case for Princeton's files): sort entries so binary search works.
                let order = (0..<keyStart.count).sorted {
                    Self.compare(index, Int(keyStart[$0]), Int(keyLength[$0]), index, Int(keyStart[$1]),
                                 Int(keyLength[$1])) < 0
                }
                for k in 1..<max(order.count, 1) {
                    let a = order[k - 1], b = order[k]
                    if Self.compare(index, Int(keyStart[a]), Int(keyLength[a]), index, Int(keyStart[b]),
                                    Int(keyLength[b])) == 0 {
                        throw DataError(.malformed, file: indexPath, field: "lemma", "a lemma is listed twice")
                    }
                }
                keyStart = order.map { keyStart[$0] }
                keyLength = order.map { keyLength[$0] }
                begin = order.map { begin[$0] }
                count = order.map { count[$0] }
            }
            self.keyStart = keyStart
            self.keyLength = keyLength
            self.offsetsBegin = begin
            self.offsetsCount = count
            self.offsets = offsets
        }

        static func read(_ path: String) throws -> [UInt8] {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw DataError(.unreadable, file: path,
                                "WordNet 3.0 file is missing or unreadable; install the Debian package "
                                    + "\(WordNet.debianPackage) (apt-get install -y \(WordNet.debianPackage)) or "
                                    + "pass the directory of a WordNet 3.0 database")
            }
            return try Gzip.readAll(path: path)
        }

        /// Byte-wise comparison of two byte ranges (negative, zero or positive).
        static func compare(_ a: [UInt8], _ aStart: Int, _ aLength: Int,
                            _ b: [UInt8], _ bStart: Int, _ bLength: Int) -> Int {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let common = min(aLength, bLength)
                    let c = common == 0 ? 0 : memcmp(pa.baseAddress! + aStart, pb.baseAddress! + bStart, common)
                    return c != 0 ? Int(c) : aLength - bLength
                }
            }
        }

        /// The entry number of `key` (lemma bytes), or `nil`.
        func entry(for key: [UInt8]) -> Int? {
            var low = 0
            var high = keyStart.count
            while low < high {
                let mid = (low + high) / 2
                let order = Self.compare(indexBytes, Int(keyStart[mid]), Int(keyLength[mid]), key, 0, key.count)
                if order < 0 {
                    low = mid + 1
                } else if order > 0 {
                    high = mid
                } else {
                    return mid
                }
            }
            return nil
        }

        func synsetOffsets(entry: Int) -> [Int] {
            let start = Int(offsetsBegin[entry])
            return offsets[start..<start + Int(offsetsCount[entry])].map { Int($0) }
        }

        /// Parses the head of the data line at `offset`: `offset lex_filenum ss_type w_cnt word lex_id ...`.
        func synset(at offset: Int) -> Synset? {
            dataBytes.withUnsafeBufferPointer { p -> Synset? in
                let n = p.count
                guard offset >= 0, offset < n, offset == 0 || p[offset - 1] == UInt8(ascii: "\n") else { return nil }
                var i = offset
                func field() -> Range<Int>? {
                    while i < n && p[i] == UInt8(ascii: " ") { i += 1 }
                    let start = i
                    while i < n && p[i] != UInt8(ascii: " ") && p[i] != UInt8(ascii: "\n") { i += 1 }
                    return start < i ? start..<i : nil
                }
                guard let offsetField = field(), Self.decimal(p, offsetField) == offset,
                      field() != nil,  // lex_filenum
                      let type = field(), type.count == 1,
                      let countField = field(), let wordCount = Self.hexadecimal(p, countField) else { return nil }
                var lemmas: [String] = []
                lemmas.reserveCapacity(wordCount)
                for _ in 0..<wordCount {
                    guard var word = field(), field() != nil else { return nil }
                    // Adjectives may carry a syntactic marker: long(a), galore(ip), elect(p).
                    if p[word.upperBound - 1] == UInt8(ascii: ")"),
                       let open = (word.lowerBound..<word.upperBound).last(where: { p[$0] == UInt8(ascii: "(") }),
                       open > word.lowerBound {
                        word = word.lowerBound..<open
                    }
                    var bytes = Array(p[word])
                    for k in bytes.indices where bytes[k] == UInt8(ascii: "_") { bytes[k] = UInt8(ascii: " ") }
                    lemmas.append(String(decoding: bytes, as: UTF8.self))
                }
                return Synset(partOfSpeech: partOfSpeech, offset: offset,
                              isSatellite: p[type.lowerBound] == UInt8(ascii: "s"), lemmas: lemmas)
            }
        }

        static func decimal(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
            guard !range.isEmpty, range.count <= 18 else { return nil }
            var value = 0
            for k in range {
                let d = Int(p[k]) - 48
                guard d >= 0 && d <= 9 else { return nil }
                value = value * 10 + d
            }
            return value
        }

        static func hexadecimal(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
            guard !range.isEmpty, range.count <= 8 else { return nil }
            var value = 0
            for k in range {
                let c = p[k]
                let d: Int
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int(c) - 48
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = Int(c) - 87
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = Int(c) - 55
                default: return nil
                }
                value = value * 16 + d
            }
            return value
        }

        /// The entries of an index file in file order.
        struct IndexEntries {
            var keyStart: [Int32] = []
            var keyLength: [Int32] = []
            var begin: [Int32] = []
            var count: [Int32] = []
            var offsets: [Int32] = []
            /// Whether the lemmas are in strictly increasing byte order.
            var sorted = true
        }

        /// A position in one line of bytes, reading space-separated fields.
        struct FieldCursor {
            let p: UnsafeBufferPointer<UInt8>
            var position: Int
            let end: Int

            /// The next field, or `nil` at the end of the line.
            @inline(__always)
            mutating func next() -> Range<Int>? {
                while position < end && (p[position] == 0x20 || p[position] == 0x0D) { position += 1 }
                let start = position
                while position < end && p[position] != 0x20 && p[position] != 0x0D { position += 1 }
                return start < position ? start..<position : nil
            }
        }

        /// Walks the index lines (`lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt
        /// synset_offset...`), checking each against the format and the data file.
        static func parseIndex(
            _ index: [UInt8], data: [UInt8], symbol: UInt8, indexPath: String, dataPath: String
        ) throws -> IndexEntries {
            var entries = IndexEntries()
            entries.keyStart.reserveCapacity(index.count / 40)
            entries.keyLength.reserveCapacity(index.count / 40)
            entries.begin.reserveCapacity(index.count / 40)
            entries.count.reserveCapacity(index.count / 40)
            entries.offsets.reserveCapacity(index.count / 25)
            try index.withUnsafeBufferPointer { p in
                try data.withUnsafeBufferPointer { d in
                    let n = p.count
                    var i = 0
                    var line = 0
                    var previous = 0..<0
                    while i < n {
                        line += 1
                        let start = i
                        let end = memchr(p.baseAddress! + start, 0x0A, n - start)
                            .map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - p.baseAddress! } ?? n
                        i = end + 1
                        if end == start || p[start] == 0x20 { continue }  // blank or licence line
                        func fail(_ field: String, _ message: String) -> DataError {
                            DataError(.malformed, file: indexPath, line: line, field: field, message)
                        }
                        var cursor = FieldCursor(p: p, position: start, end: end)
                        guard let lemma = cursor.next() else { continue }
                        guard let pos = cursor.next() else { throw fail("pos", "missing") }
                        guard pos.count == 1, p[pos.lowerBound] == symbol else {
                            throw fail("pos", "expected part of speech '\(Character(Unicode.Scalar(symbol)))'")
                        }
                        guard let synsetCount = cursor.next().flatMap({ decimal(p, $0) }) else {
                            throw fail("synset_cnt", "missing or not a number")
                        }
                        guard let pointerCount = cursor.next().flatMap({ decimal(p, $0) }) else {
                            throw fail("p_cnt", "missing or not a number")
                        }
                        for _ in 0..<pointerCount {
                            guard cursor.next() != nil else { throw fail("ptr_symbol", "fewer than p_cnt symbols") }
                        }
                        guard cursor.next().flatMap({ decimal(p, $0) }) != nil else {
                            throw fail("sense_cnt", "missing or not a number")
                        }
                        guard cursor.next().flatMap({ decimal(p, $0) }) != nil else {
                            throw fail("tagsense_cnt", "missing or not a number")
                        }
                        let first = entries.offsets.count
                        for _ in 0..<synsetCount {
                            guard let field = cursor.next() else {
                                throw fail("synset_offset", "fewer than synset_cnt (\(synsetCount)) offsets")
                            }
                            guard let offset = decimal(p, field), offset <= Int(Int32.max) else {
                                throw fail("synset_offset", "not a number")
                            }
                            // The data line at this byte must start with the same offset.
                            var ok = offset < d.count && (offset == 0 || d[offset - 1] == 0x0A)
                            if ok {
                                var e = offset
                                while e < d.count && d[e] != 0x20 && e - offset < 19 { e += 1 }
                                ok = decimal(d, offset..<e) == offset
                            }
                            guard ok else {
                                throw fail("synset_offset",
                                           "offset \(offset) is not the start of a synset line in \(dataPath)")
                            }
                            entries.offsets.append(Int32(offset))
                        }
                        guard cursor.next() == nil else {
                            throw fail("line", "more fields than synset_cnt (\(synsetCount)) offsets")
                        }
                        if !previous.isEmpty {
                            let common = min(previous.count, lemma.count)
                            var order = Int(memcmp(p.baseAddress! + previous.lowerBound,
                                                   p.baseAddress! + lemma.lowerBound, common))
                            if order == 0 { order = previous.count - lemma.count }
                            if order == 0 { throw fail("lemma", "lemma listed twice") }
                            if order > 0 { entries.sorted = false }
                        }
                        previous = lemma
                        entries.keyStart.append(Int32(lemma.lowerBound))
                        entries.keyLength.append(Int32(lemma.count))
                        entries.begin.append(Int32(first))
                        entries.count.append(Int32(synsetCount))
                    }
                }
            }
            return entries
        }

        /// Parses `inflected base [base...]` lines.
        static func parseExceptions(_ bytes: [UInt8], path: String) throws -> [String: [String]] {
            var result: [String: [String]] = [:]
            var line = 0
            for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                line += 1
                if rawLine.isEmpty || rawLine.first == UInt8(ascii: " ") { continue }
                let words = rawLine.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") })
                    .map { String(decoding: $0, as: UTF8.self) }
                if words.isEmpty { continue }
                guard words.count >= 2 else {
                    throw DataError(.malformed, file: path, line: line, "expected an inflected form and its base forms")
                }
                result[words[0], default: []].append(contentsOf: words.dropFirst())
            }
            return result
        }
    }
}
