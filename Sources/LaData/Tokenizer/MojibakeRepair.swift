/// ftfy 6.3.1's `fix_encoding` (mojibake repair) with its default settings, as `ftfy.fix_text` runs it on each
/// line segment: text that was UTF-8 but was decoded with a single-byte codec (latin-1, the "sloppy" windows-125x
/// codecs of `ftfy.bad_codecs`, ISO-8859-2, MacRoman, CP437) is re-encoded with that codec and decoded as UTF-8
/// (or ftfy's "utf-8-variants": CESU-8 surrogate pairs and Java's 0xC0 0x80), with `restore_byte_a0`,
/// `replace_lossy_sequences`, `decode_inconsistent_utf8` and `fix_c1_controls`.
///
/// Each step is taken only when ftfy's badness heuristic (`is_bad`: the big `BADNESS_RE` of `ftfy.badness`) finds
/// something that looks like mojibake; the heuristic is a hand-written matcher below, over character classes that
/// Tokenizer/Generated/make-ftfy-tables.py reads from ftfy into `MojibakeTables`. Text whose scalars are all ASCII returns at
/// once. The functions work on arrays of Unicode scalar values, like `TextCleaning`.
enum MojibakeRepair {
    /// ftfy's `fix_encoding`: `_fix_encoding_one_step_and_explain` repeated until the text stops changing.
    static func fixEncoding(_ text: [UInt32]) -> [UInt32] {
        var text = text
        while true {
            guard let fixed = fixEncodingOneStep(text), fixed != text else { return text }
            text = fixed
        }
    }

    /// One step of ftfy's `_fix_encoding_one_step_and_explain`, or `nil` when the text stays as it is.
    static func fixEncodingOneStep(_ text: [UInt32]) -> [UInt32]? {
        // ASCII (including empty) text, and text that does not look like mojibake, stay as they are.
        guard text.contains(where: { $0 >= 0x80 }), isBad(text) else { return nil }

        // Text that was UTF-8 but decoded with a single-byte codec: encode it back and decode it as UTF-8.
        for charmap in charmaps {
            guard var bytes = charmap.encode(text) else { continue }
            if charmap.restoresByteA0 && firstMatch(MojibakeTables.alteredUTF8Branches, in: bytes) != nil {
                bytes = restoreByteA0(bytes)
            }
            if charmap.sloppy { bytes = replaceLossySequences(bytes) }
            if let decoded = decodeUTF8Variants(bytes) { return decoded }
        }

        // UTF-8 mojibake inside otherwise fine text: fix the pieces on their own.
        if detectorMatchEnd(text, masks: classMasks(of: text), from: 0) != nil {
            let fixed = decodeInconsistentUTF8(text)
            if fixed != text { return fixed }
        }

        // ftfy's next branch is meant for latin-1 text that was windows-1252, but it tests for the name
        // "windows-1252" among the possible encodings, which only ever hold "sloppy-windows-1252". So when latin-1
        // was possible, it decodes the latin-1 bytes as strict windows-1252, which either changes exactly the C1
        // controls, to what `fix_c1_controls` makes of them, or fails on one of the five bytes windows-1252 leaves
        // undefined and falls through to ftfy's last fix, `fix_c1_controls` when the text has a C1 control. Either
        // way, and also when latin-1 was not possible, the step is that last fix.
        if text.contains(where: { $0 >= 0x80 && $0 <= 0x9F }) { return fixC1Controls(text) }
        return nil
    }

    /// ftfy's `fix_c1_controls`: U+0080...U+009F decoded from latin-1 bytes as sloppy windows-1252.
    static func fixC1Controls(_ text: [UInt32]) -> [UInt32] {
        text.map { $0 >= 0x80 && $0 <= 0x9F ? TokenizerTables.ftfyC1Map[Int($0 - 0x80)] : $0 }
    }

    // MARK: decode_inconsistent_utf8

    /// ftfy's `decode_inconsistent_utf8`: each match of `UTF8_DETECTOR_RE` that is shorter than the whole text and
    /// `is_bad` goes through `fix_encoding` on its own.
    static func decodeInconsistentUTF8(_ text: [UInt32]) -> [UInt32] {
        let masks = classMasks(of: text)
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            guard let end = detectorMatchEnd(text, masks: masks, from: i, anchored: true) else {
                out.append(text[i])
                i += 1
                continue
            }
            let piece = Array(text[i..<end])
            if piece.count < text.count && isBad(piece) {
                out.append(contentsOf: fixEncoding(piece))
            } else {
                out.append(contentsOf: piece)
            }
            i = end
        }
        return out
    }

    /// `UTF8_DETECTOR_RE`, `(?<![strict]) ([first_of_2][cont] | [first_of_3][cont]{2} | [first_of_4][cont]{3})+`:
    /// the end of the match that starts at `start` (when `anchored`) or of the first match at or after it.
    static func detectorMatchEnd(_ text: [UInt32], masks: [UInt64], from start: Int, anchored: Bool = false) -> Int? {
        typealias T = MojibakeTables
        let n = text.count
        var i = start
        while i < n {
            if i == 0 || masks[i - 1] & T.utf8ContinuationStrict == 0 {
                var j = i
                while true {
                    let m = masks[j]
                    if m & T.utf8FirstOf2 != 0, j + 1 < n, masks[j + 1] & T.utf8Continuation != 0 {
                        j += 2
                    } else if m & T.utf8FirstOf3 != 0, j + 2 < n, masks[j + 1] & masks[j + 2] & T.utf8Continuation != 0 {
                        j += 3
                    } else if m & T.utf8FirstOf4 != 0, j + 3 < n,
                        masks[j + 1] & masks[j + 2] & masks[j + 3] & T.utf8Continuation != 0
                    {
                        j += 4
                    } else {
                        break
                    }
                    if j >= n { break }
                }
                if j > i { return j }
            }
            if anchored { return nil }
            i += 1
        }
        return nil
    }

    // MARK: Byte transcoders

    /// ftfy's `restore_byte_a0`: "Ã " that is not "Ã  ", "Ã quele", "Ã quela", "Ã quilo" or "Ã s " gets its 0xA0 back
    /// (becomes "à "); then every space inside an `ALTERED_UTF8_RE` match becomes 0xA0.
    static func restoreByteA0(_ bytes: [UInt8]) -> [UInt8] {
        let word = MojibakeTables.aGraveWord
        var first: [UInt8] = []
        first.reserveCapacity(bytes.count + 8)
        var i = 0
        while i < bytes.count {
            if bytes[i...].starts(with: word)
                && !MojibakeTables.aGraveWordExclusions.contains(where: { bytes[(i + word.count)...].starts(with: $0) })
            {
                first.append(contentsOf: [0xC3, 0xA0, 0x20])  // the replacement b"\xc3\xa0 "
                i += word.count
            } else {
                first.append(bytes[i])
                i += 1
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(first.count)
        i = 0
        while i < first.count {
            if let length = matchLength(MojibakeTables.alteredUTF8Branches, in: first, at: i) {
                for b in first[i..<(i + length)] { out.append(b == 0x20 ? 0xA0 : b) }
                i += length
            } else {
                out.append(first[i])
                i += 1
            }
        }
        return out
    }

    /// ftfy's `replace_lossy_sequences`: every `LOSSY_UTF8_RE` match becomes the UTF-8 of U+FFFD.
    static func replaceLossySequences(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if let length = matchLength(MojibakeTables.lossyUTF8Branches, in: bytes, at: i) {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += length
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// The length of the first branch (in the regex's order) that matches at `position`.
    static func matchLength(_ branches: [[ByteClass]], in bytes: [UInt8], at position: Int) -> Int? {
        outer: for branch in branches where position + branch.count <= bytes.count {
            for (k, byteClass) in branch.enumerated() where !byteClass.contains(bytes[position + k]) {
                continue outer
            }
            return branch.count
        }
        return nil
    }

    /// The first position where one of `branches` matches.
    static func firstMatch(_ branches: [[ByteClass]], in bytes: [UInt8]) -> Int? {
        bytes.indices.first { matchLength(branches, in: bytes, at: $0) != nil }
    }

    // MARK: UTF-8 decoding

    /// Python's strict UTF-8 decoder, extended as ftfy's `utf-8-variants` codec (which ftfy uses instead when the
    /// bytes contain 0xED or 0xC0; neither can start a valid UTF-8 sequence that the extensions change):
    /// - a CESU-8 surrogate pair `ED A0-AF 80-BF ED B0-BF 80-BF` is one supplementary character;
    /// - `C0 80` is U+0000.
    ///
    /// The codec finds these with regexes whose `$` also matches before a final "\n", so it also decodes `C0 0A` at
    /// the very end as U+0000 (dropping the line break), and accepts that final "\n" as the last byte of a CESU-8
    /// pair. These quirks are reproduced. Returns `nil` where Python raises `UnicodeDecodeError`.
    static func decodeUTF8Variants(_ b: [UInt8]) -> [UInt32]? {
        let n = b.count
        var out: [UInt32] = []
        out.reserveCapacity(n)
        @inline(__always) func isContinuation(_ k: Int) -> Bool { k < n && b[k] & 0xC0 == 0x80 }
        var i = 0
        while i < n {
            let x = b[i]
            switch x {
            case 0x00...0x7F:
                out.append(UInt32(x))
                i += 1
            case 0xC0:
                guard i + 1 < n, b[i + 1] == 0x80 || (i + 2 == n && b[i + 1] == 0x0A) else { return nil }
                out.append(0)
                i += 2
            case 0xC2...0xDF:
                guard isContinuation(i + 1) else { return nil }
                out.append(UInt32(x & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F))
                i += 2
            case 0xED where i + 1 < n && b[i + 1] >= 0xA0:
                // A UTF-16 surrogate: only a whole CESU-8 pair decodes.
                guard n - i >= 6, b[i + 1] <= 0xAF, isContinuation(i + 2), b[i + 3] == 0xED,
                    b[i + 4] >= 0xB0 && b[i + 4] <= 0xBF, isContinuation(i + 5) || (i + 6 == n && b[i + 5] == 0x0A)
                else { return nil }
                let high = UInt32(b[i + 1] & 0x0F) << 16 | UInt32(b[i + 2] & 0x3F) << 10
                out.append(high + (UInt32(b[i + 4] & 0x0F) << 6 | UInt32(b[i + 5] & 0x3F)) + 0x10000)
                i += 6
            case 0xE0...0xEF:
                let low: UInt8 = x == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = x == 0xED ? 0x9F : 0xBF
                guard i + 2 < n, b[i + 1] >= low && b[i + 1] <= high, isContinuation(i + 2) else { return nil }
                out.append(UInt32(x & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F))
                i += 3
            case 0xF0...0xF4:
                let low: UInt8 = x == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = x == 0xF4 ? 0x8F : 0xBF
                guard i + 3 < n, b[i + 1] >= low && b[i + 1] <= high, isContinuation(i + 2), isContinuation(i + 3)
                else { return nil }
                out.append(
                    UInt32(x & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6
                        | UInt32(b[i + 3] & 0x3F))
                i += 4
            default:
                return nil
            }
        }
        return out
    }

    // MARK: Single-byte codecs

    /// One of ftfy's `CHARMAP_ENCODINGS`, as an encoder.
    struct Charmap {
        /// A "sloppy" windows codec (`replace_lossy_sequences` applies; byte 0x1A stands for U+FFFD).
        let sloppy: Bool
        /// `restore_byte_a0` applies (every codec but MacRoman, where it would misread an en dash and a space).
        let restoresByteA0: Bool
        /// The byte of every encodable character other than ASCII (U+001A is encodable only where byte 0x1A
        /// decodes to it).
        let bytes: [UInt32: UInt8]

        /// `text.encode(codec)` when `chardata.possible_encoding(text, codec)`, else `nil`.
        func encode(_ text: [UInt32]) -> [UInt8]? {
            var out: [UInt8] = []
            out.reserveCapacity(text.count)
            for c in text {
                if c < 0x80 && c != 0x1A {
                    out.append(UInt8(c))
                } else if let byte = bytes[c] {
                    out.append(byte)
                } else {
                    return nil
                }
            }
            return out
        }
    }

    /// `CHARMAP_ENCODINGS` in ftfy's order.
    static let charmaps: [Charmap] = MojibakeTables.charmaps.map { table in
        var bytes: [UInt32: UInt8] = [table.byte1A: 0x1A]
        for (k, c) in table.high.enumerated() { bytes[c] = UInt8(0x80 + k) }
        return Charmap(sloppy: table.sloppy, restoresByteA0: table.name != "macroman", bytes: bytes)
    }

    // MARK: The badness heuristic

    /// Class masks of code points below `denseLimit`, by code point.
    private static let denseLimit: UInt32 = 0x2600
    private static let denseMasks: [UInt64] = {
        var table = [UInt64](repeating: 0, count: Int(denseLimit))
        for (c, mask) in MojibakeTables.classMasks where c < denseLimit { table[Int(c)] = mask }
        return table
    }()
    /// The few classified code points at or above `denseLimit`.
    private static let sparseMasks: [(UInt32, UInt64)] = MojibakeTables.classMasks.filter { $0.0 >= denseLimit }

    /// The `MojibakeTables` class bits of every scalar.
    static func classMasks(of text: [UInt32]) -> [UInt64] {
        let dense = denseMasks
        let sparse = sparseMasks
        return text.map { c in
            if c < denseLimit { return dense[Int(c)] }
            for (s, mask) in sparse where s == c { return mask }
            return 0
        }
    }

    /// Python's `re` `\w` for a str pattern.
    static func isPythonWord(_ c: UInt32) -> Bool {
        if c < 0x80 { return TextCleaning.isASCIIAlphanumeric(c) || c == 0x5F }
        return PreTokenizer.rangesContain(MojibakeTables.wordRanges, c)
    }

    /// ftfy's `is_bad`: whether `BADNESS_RE` matches anywhere in `text`.
    ///
    /// The regex is an alternation of short sequences (mostly of character classes), so it matches somewhere
    /// exactly when one of its branches matches at some position; each branch is written out below, numbered as in
    /// ftfy 6.3.1's `badness.py` from 0. `^` is the start of the text, `\s` Python's `str.isspace`, `.` anything
    /// but "\n".
    static func isBad(_ text: [UInt32]) -> Bool {
        typealias T = MojibakeTables
        let n = text.count
        let masks = classMasks(of: text)
        @inline(__always) func m(_ k: Int) -> UInt64 { k < n ? masks[k] : 0 }
        @inline(__always) func s(_ k: Int) -> UInt32 { k < n ? text[k] : 0xFFFF_FFFF }
        @inline(__always) func space(_ k: Int) -> Bool { k < n && TextCleaning.isPythonWhitespace(text[k]) }

        let la = T.lowerAccented, ua = T.upperAccented, lc = T.lowerCommon, uc = T.upperCommon
        let sp = T.startPunctuation, ep = T.endPunctuation, cur = T.currency, num = T.numeric
        let bad = T.bad, box = T.box, law = T.law

        for i in 0..<n {
            let c0 = text[i]
            let a = masks[i]
            if c0 < 0x80 {
                // Branches that can start with an ASCII character (2, 7, 12, 31, 33) all need a non-ASCII
                // character next, or whitespace and then one (7 and 31).
                if a == 0 && !TextCleaning.isPythonWhitespace(c0) { continue }
                if s(i + 1) < 0x80 && !space(i + 1) { continue }
            } else if a == 0 && !TextCleaning.isPythonWhitespace(c0) {
                continue
            }
            let b = m(i + 1)
            let c = m(i + 2)
            // 0: [c1]
            if a & T.c1 != 0 { return true }
            // 1: [bad lower_accented upper_accented box start_punctuation end_punctuation currency numeric law] [bad]
            if a & (bad | la | ua | box | sp | ep | cur | num | law) != 0 && b & bad != 0 { return true }
            // 2: [a-zA-Z] [lower_common upper_common] [bad]
            if a & T.asciiLetter != 0 && b & (lc | uc) != 0 && c & bad != 0 { return true }
            // 3: [bad] [lower_accented upper_accented box start_punctuation end_punctuation currency numeric law]
            if a & bad != 0 && b & (la | ua | box | sp | ep | cur | num | law) != 0 { return true }
            // 4: [lower_accented lower_common box end_punctuation currency numeric] [upper_accented]
            if a & (la | lc | box | ep | cur | num) != 0 && b & ua != 0 { return true }
            // 5: [box end_punctuation currency numeric] [lower_accented]
            if a & (box | ep | cur | num) != 0 && b & la != 0 { return true }
            // 6: [lower_accented box end_punctuation] [currency]
            if a & (la | box | ep) != 0 && b & cur != 0 { return true }
            // 7: \s [upper_accented] [currency]
            if TextCleaning.isPythonWhitespace(c0) && b & ua != 0 && c & cur != 0 { return true }
            // 8: [upper_accented box] [numeric law]
            if a & (ua | box) != 0 && b & (num | law) != 0 { return true }
            // 9: [lower_accented upper_accented box currency end_punctuation] [start_punctuation] [numeric]
            if a & (la | ua | box | cur | ep) != 0 && b & sp != 0 && c & num != 0 { return true }
            // 10: [lower_accented upper_accented currency numeric box law] [end_punctuation] [start_punctuation]
            if a & (la | ua | cur | num | box | law) != 0 && b & ep != 0 && c & sp != 0 { return true }
            // 11: [currency numeric box] [start_punctuation]
            if a & (cur | num | box) != 0 && b & sp != 0 { return true }
            // 12: [a-z] [upper_accented] [start_punctuation currency]
            if a & T.asciiLower != 0 && b & ua != 0 && c & (sp | cur) != 0 { return true }
            // 13: [box] [kaomoji]
            if a & box != 0 && b & T.kaomoji != 0 { return true }
            // 14: [lower_accented upper_accented currency numeric start_punctuation end_punctuation law] [box]
            if a & (la | ua | cur | num | sp | ep | law) != 0 && b & box != 0 { return true }
            // 15: [box] [end_punctuation]
            if a & box != 0 && b & ep != 0 { return true }
            // 16: [lower_accented upper_accented] [start_punctuation end_punctuation] \w
            if a & (la | ua) != 0 && b & (sp | ep) != 0 && i + 2 < n && isPythonWord(text[i + 2]) { return true }
            // 17: [Œœ][^A-Za-z]
            if a & T.oeLigature != 0 && i + 1 < n && b & T.asciiLetter == 0 { return true }
            // 18: [upper_accented]°
            if a & ua != 0 && s(i + 1) == 0xB0 { return true }
            // 19: [ÂÃÎÐ][€œŠš¢£Ÿž\xa0\xad®©°·»{start_punctuation}{end_punctuation}–—´]
            if a & T.aHatLead != 0 && b & T.aHatFollower != 0 { return true }
            // 20: × [²³]
            if c0 == 0xD7 && b & T.superscriptTwoThree != 0 { return true }
            // 21: [ØÙ] [{common}{currency}{bad}{numeric}{start_punctuation}ŸŠ®°µ»] twice
            if a & T.arabicLead != 0 && b & T.arabicFollower != 0 && c & T.arabicLead != 0
                && m(i + 3) & T.arabicFollower != 0
            {
                return true
            }
            // 22: à[²µ¹¼½¾]
            if c0 == 0xE0 && b & T.aGraveFollower != 0 { return true }
            // 23: √[±∂†≠®™´≤≥¥µø]
            if c0 == 0x221A && b & T.sqrtFollower != 0 { return true }
            // 24: ≈[°¢]
            if c0 == 0x2248 && b & T.approxFollower != 0 { return true }
            // 25: ‚Ä[ìîïòôúùû†°¢π]
            if c0 == 0x201A && s(i + 1) == 0xC4 && c & T.lowQuoteAFollower != 0 { return true }
            // 26: ‚[âó][àä°ê]
            if c0 == 0x201A && b & T.lowQuoteMiddle != 0 && c & T.lowQuoteLast != 0 { return true }
            // 27: вЂ
            if c0 == 0x0432 && s(i + 1) == 0x0402 { return true }
            // 28: [ВГРС][{c1}{bad}{start_punctuation}{end_punctuation}{currency}°µ][ВГРС]
            if a & T.cyrillicLead != 0 && b & T.cyrillicMiddle != 0 && c & T.cyrillicLead != 0 { return true }
            // 29: ГўВЂВ.[A-Za-z ]
            if c0 == 0x0413 && s(i + 1) == 0x045E && s(i + 2) == 0x0412 && s(i + 3) == 0x0402 && s(i + 4) == 0x0412
                && i + 5 < n && text[i + 5] != 0x0A && m(i + 6) & T.latinLetterOrSpace != 0
            {
                return true
            }
            // 30: Ã[\xa0¡]
            if c0 == 0xC3 && b & T.aTildeFollower != 0 { return true }
            // 31: [a-z]\s?[ÃÂ][ ]
            if a & T.asciiLower != 0
                && ((b & T.aHatOrATilde != 0 && s(i + 2) == 0x20)
                    || (space(i + 1) && c & T.aHatOrATilde != 0 && s(i + 3) == 0x20))
            {
                return true
            }
            // 32: ^[ÃÂ][ ]
            if i == 0 && a & T.aHatOrATilde != 0 && s(1) == 0x20 { return true }
            // 33: [a-z.,?!{end_punctuation}] Â [ {start_punctuation}{end_punctuation}]
            if a & T.beforeAHat != 0 && s(i + 1) == 0xC2 && c & T.afterAHat != 0 { return true }
            // 34: β€[™\xa0Ά\xad®°]
            if c0 == 0x03B2 && s(i + 1) == 0x20AC && c & T.betaEuroFollower != 0 { return true }
            // 35: [ΒΓΞΟ][{c1}{bad}{start_punctuation}{end_punctuation}{currency}°][ΒΓΞΟ]
            if a & T.greekLead != 0 && b & T.greekMiddle != 0 && c & T.greekLead != 0 { return true }
            // 36: ā€
            if c0 == 0x0101 && s(i + 1) == 0x20AC { return true }
        }
        return false
    }
}

/// A set of bytes (a bracket expression of a bytes regex).
struct ByteClass {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init(_ ranges: ClosedRange<UInt8>...) {
        for range in ranges {
            for b in range {
                let bit = UInt64(1) << UInt64(b & 63)
                switch b >> 6 {
                case 0: words.0 |= bit
                case 1: words.1 |= bit
                case 2: words.2 |= bit
                default: words.3 |= bit
                }
            }
        }
    }

    @inline(__always) func contains(_ b: UInt8) -> Bool {
        let word: UInt64
        switch b >> 6 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return word & (UInt64(1) << UInt64(b & 63)) != 0
    }
}
