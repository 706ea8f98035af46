import Foundation

/// open_clip's text cleaning for the CLIP tokenizer: `whitespace_clean(basic_clean(text)).lower()`, where
/// `basic_clean` is `ftfy.fix_text`, then `html.unescape` twice, then `strip()`.
///
/// What of `ftfy.fix_text` (ftfy 6.3.1, default settings) is implemented, in ftfy's order and with its
/// fixed-point loop (each line segment is fixed again until it stops changing):
/// - `unescape_html` ("auto": only while no segment so far contained `<`): ftfy's entity table, including
///   its upper-case names such as `&EACUTE;`, and `&#...;` references that decode to a character other than `;`;
/// - `fix_encoding` (mojibake repair, `MojibakeRepair`): re-decoding text that was UTF-8 but decoded with one of
///   ftfy's single-byte codecs (e.g. `"sÃ³"` becomes `"só"`), with `restore_byte_a0`, `replace_lossy_sequences`,
///   `decode_inconsistent_utf8` and its `fix_c1_controls` fallback, gated by ftfy's badness heuristic `is_bad`;
///   all-ASCII segments skip it at once;
/// - `fix_c1_controls` (U+0080...U+009F as sloppy windows-1252), `fix_latin_ligatures`,
///   `fix_character_width` (full/half-width forms and U+3000), `uncurl_quotes`, `fix_line_breaks`,
///   `remove_terminal_escapes`, `remove_control_chars`;
/// - NFC normalisation (Foundation's `precomposedStringWithCanonicalMapping`).
///
/// Not implemented: the split of segments longer than ftfy's `max_decode_length` (one million characters; such a
/// segment is fixed as a whole here, where ftfy fixes each million-character piece on its own, which can only
/// differ where a piece boundary cuts through something a fixer would change). `fix_surrogates` has nothing to
/// do: a Swift `String` cannot hold unpaired surrogates. ftfy's explanations (`fix_and_explain`'s plan) are not
/// produced. Everything of `fix_encoding` that `fix_text` runs with its default `TextFixerConfig` is implemented.
///
/// `html.unescape` is Python's (HTML5 named references with the longest-prefix rule for names without `;`,
/// numeric references with the HTML5 replacements). `lower()` is Python's full lower-case mapping with the
/// final-sigma rule, restricted to characters assigned in Unicode 14 (Python 3.11's database); whitespace is
/// Python's `str.isspace`.
public enum TextCleaning {
    /// Cleans `text` exactly as open_clip's default (`clean="lower"`) tokenizer does before pre-tokenization.
    /// - Parameter text: The raw caption.
    /// - Returns: The cleaned, whitespace-collapsed, lower-cased text.
    public static func clean(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for value in cleanScalars(text) { result.append(Unicode.Scalar(value)!) }
        return String(result)
    }

    /// `clean(_:)` as an array of Unicode scalar values.
    static func cleanScalars(_ text: String) -> [UInt32] {
        var scalars = text.unicodeScalars.map(\.value)
        scalars = ftfyFixText(scalars)
        scalars = htmlUnescape(htmlUnescape(scalars))
        scalars = collapseWhitespace(scalars)
        return lowercase(scalars)
    }

    // MARK: Character classes

    /// Python's `str.isspace()` (bidirectional class WS, B or S, or category Zs).
    @inline(__always)
    static func isPythonWhitespace(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) }
        return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028
            || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000
    }

    // MARK: ftfy

    /// `ftfy.fix_text` (see the type's documentation).
    static func ftfyFixText(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var unescape = true
        var position = 0
        while position < text.count {
            var end = position
            while end < text.count && text[end] != 0x0A { end += 1 }
            if end < text.count { end += 1 }  // the segment keeps its "\n"
            let segment = Array(text[position..<end])
            if unescape && segment.contains(0x3C) { unescape = false }  // "<": looks like HTML, keep entities
            out.append(contentsOf: ftfyFixSegment(segment, unescape: unescape))
            position = end
        }
        return out
    }

    /// ftfy's `fix_and_explain` on one segment: the fixers in order, repeated until nothing changes.
    static func ftfyFixSegment(_ segment: [UInt32], unescape: Bool) -> [UInt32] {
        var text = segment
        while true {
            let original = text
            if unescape { text = ftfyUnescapeHTML(text) }
            text = MojibakeRepair.fixEncoding(text)
            text = ftfyCharacterMaps(text)
            text = ftfyFixLineBreaks(text)
            text = ftfyRemoveTerminalEscapes(text)
            text = text.filter { !isFtfyControl($0) }
            text = nfc(text)
            if text == original { return text }
        }
    }

    /// `fix_c1_controls`, `fix_latin_ligatures`, `fix_character_width` and `uncurl_quotes`, composed per character.
    static func ftfyCharacterMaps(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(where: { $0 >= 0x80 }) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        for c in text {
            let c1 = (c >= 0x80 && c <= 0x9F) ? TokenizerTables.ftfyC1Map[Int(c - 0x80)] : c
            for l in TokenizerTables.ftfyLigatures[c1] ?? [c1] {
                for w in TokenizerTables.ftfyWidthMap[l] ?? [l] {
                    if w == 0x02BC || (w >= 0x2018 && w <= 0x201B) {
                        out.append(0x27)
                    } else if w >= 0x201C && w <= 0x201F {
                        out.append(0x22)
                    } else {
                        out.append(w)
                    }
                }
            }
        }
        return out
    }

    /// `fix_line_breaks`: CRLF, CR, U+2028, U+2029 and U+0085 become LF.
    static func ftfyFixLineBreaks(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(where: { $0 == 0x0D || $0 == 0x85 || $0 == 0x2028 || $0 == 0x2029 }) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == 0x0D {
                out.append(0x0A)
                if i + 1 < text.count && text[i + 1] == 0x0A { i += 1 }
            } else if c == 0x85 || c == 0x2028 || c == 0x2029 {
                out.append(0x0A)
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }

    /// `remove_terminal_escapes`: `ESC [ (digit|;)* letter`, where a digit is any Unicode decimal digit (Python `\d`).
    static func ftfyRemoveTerminalEscapes(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x1B) else { return text }
        var out: [UInt32] = []
        var i = 0
        while i < text.count {
            if text[i] == 0x1B && i + 1 < text.count && text[i + 1] == 0x5B {
                var j = i + 2
                while j < text.count && (text[j] == 0x3B || isDecimalDigit(text[j])) { j += 1 }
                if j < text.count && isASCIILetter(text[j]) {
                    i = j + 1
                    continue
                }
            }
            out.append(text[i])
            i += 1
        }
        return out
    }

    /// ftfy's `CONTROL_CHARS`.
    @inline(__always)
    static func isFtfyControl(_ c: UInt32) -> Bool {
        c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F)
            || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC)
    }

    /// ftfy's `unescape_html`: `&#?[0-9A-Za-z]{1,24};` replaced from ftfy's entity table, or numerically.
    static func ftfyUnescapeHTML(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x26) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            guard text[i] == 0x26 else {
                out.append(text[i])
                i += 1
                continue
            }
            var j = i + 1
            let numeric = j < text.count && text[j] == 0x23
            if numeric { j += 1 }
            var k = j
            while k < text.count && k - j < 24 && isASCIIAlphanumeric(text[k]) { k += 1 }
            guard k > j, k < text.count, text[k] == 0x3B else {
                out.append(0x26)
                i += 1
                continue
            }
            let match = Array(text[i...k])  // "&...;"
            let name = String(decoding: match.dropFirst().map { UInt8($0) }, as: UTF8.self)
            if !numeric, let value = HTMLEntities.ftfy[name] {
                out.append(contentsOf: value)
            } else if numeric {
                let decoded = htmlUnescape(match)
                if decoded.contains(0x3B) { out.append(contentsOf: match) } else { out.append(contentsOf: decoded) }
            } else {
                out.append(contentsOf: match)
            }
            i = k + 1
        }
        return out
    }

    // MARK: html.unescape

    /// Python's `html.unescape`.
    static func htmlUnescape(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x26) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        let n = text.count
        var i = 0
        while i < n {
            guard text[i] == 0x26 else {
                out.append(text[i])
                i += 1
                continue
            }
            let j = i + 1
            if j < n && text[j] == 0x23 {
                // "#[0-9]+;?" or "#[xX][0-9a-fA-F]+;?"
                var k = j + 1
                var value: UInt64 = 0
                while k < n, let d = digitValue(text[k], radix: 10) {
                    value = min(value &* 10 &+ UInt64(d), 0x7FFF_FFFF)
                    k += 1
                }
                if k == j + 1, k < n, text[k] == 0x78 || text[k] == 0x58 {
                    var h = k + 1
                    while h < n, let d = digitValue(text[h], radix: 16) {
                        value = min(value &* 16 &+ UInt64(d), 0x7FFF_FFFF)
                        h += 1
                    }
                    if h == k + 1 {  // no hex digits: no match
                        out.append(0x26)
                        i += 1
                        continue
                    }
                    k = h
                } else if k == j + 1 {
                    out.append(0x26)
                    i += 1
                    continue
                }
                if k < n && text[k] == 0x3B { k += 1 }
                appendCharacterReference(value, to: &out)
                i = k
                continue
            }
            // "[^\t\n\f <&#;]{1,32};?"
            var k = j
            while k < n && k - j < 32 {
                let c = text[k]
                if c == 0x09 || c == 0x0A || c == 0x0C || c == 0x20 || c == 0x3C || c == 0x26 || c == 0x23 || c == 0x3B {
                    break
                }
                k += 1
            }
            if k == j {
                out.append(0x26)
                i += 1
                continue
            }
            if k < n && text[k] == 0x3B { k += 1 }
            let name = Array(text[j..<k])
            appendNamedReference(name, to: &out)
            i = k
        }
        return out
    }

    /// Python's `html._replace_charref` for a numeric reference.
    private static func appendCharacterReference(_ value: UInt64, to out: inout [UInt32]) {
        let v = UInt32(value)
        if let replacement = TokenizerTables.htmlInvalidCharrefs[v] {
            out.append(replacement)
        } else if (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF {
            out.append(0xFFFD)
        } else if TokenizerTables.htmlInvalidCodepoints.contains(v) {
            return
        } else {
            out.append(v)
        }
    }

    /// Python's `html._replace_charref` for a named reference (`name` may end with `;`).
    private static func appendNamedReference(_ name: [UInt32], to out: inout [UInt32]) {
        let table = HTMLEntities.html5
        func key(_ scalars: ArraySlice<UInt32>) -> String {
            var s = String.UnicodeScalarView()
            for c in scalars { s.append(Unicode.Scalar(c) ?? "\u{FFFD}") }
            return String(s)
        }
        if let value = table[key(name[...])] {
            out.append(contentsOf: value)
            return
        }
        var x = name.count - 1
        while x > 1 {
            if let value = table[key(name[..<x])] {
                out.append(contentsOf: value)
                out.append(contentsOf: name[x...])
                return
            }
            x -= 1
        }
        out.append(0x26)
        out.append(contentsOf: name)
    }

    // MARK: Normalisation, whitespace, case

    /// NFC (skipped when every character is below U+0300, where NFC changes nothing).
    static func nfc(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(where: { $0 >= 0x300 }) else { return text }
        var view = String.UnicodeScalarView()
        for c in text { view.append(Unicode.Scalar(c) ?? "\u{FFFD}") }
        return String(view).precomposedStringWithCanonicalMapping.unicodeScalars.map(\.value)
    }

    /// `" ".join(text.split()).strip()` with Python's whitespace.
    static func collapseWhitespace(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var pendingSpace = false
        for c in text {
            if isPythonWhitespace(c) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(c)
            }
        }
        return out
    }

    /// Python 3.11's `str.lower()`: full lower-case mappings of characters assigned in Unicode 14, and the
    /// final-sigma rule for U+03A3.
    static func lowercase(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        for (i, c) in text.enumerated() {
            if c < 0x80 {
                out.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
            } else if c == 0x03A3 {
                out.append(isFinalSigma(text, at: i) ? 0x03C2 : 0x03C3)
            } else if let scalar = Unicode.Scalar(c), isAssignedInUnicode14(scalar) {
                for l in scalar.properties.lowercaseMapping.unicodeScalars { out.append(l.value) }
            } else {
                out.append(c)
            }
        }
        return out
    }

    private static func isAssignedInUnicode14(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < 14 || (age.major == 14 && age.minor == 0)
    }

    /// CPython's `handle_capital_sigma`: `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})`.
    private static func isFinalSigma(_ text: [UInt32], at index: Int) -> Bool {
        func properties(_ c: UInt32) -> Unicode.Scalar.Properties? { Unicode.Scalar(c)?.properties }
        var j = index - 1
        while j >= 0, properties(text[j])?.isCaseIgnorable == true { j -= 1 }
        guard j >= 0, properties(text[j])?.isCased == true else { return false }
        j = index + 1
        while j < text.count, properties(text[j])?.isCaseIgnorable == true { j += 1 }
        return j == text.count || properties(text[j])?.isCased != true
    }

    // MARK: Helpers

    @inline(__always) static func isASCIILetter(_ c: UInt32) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }

    @inline(__always) static func isASCIIAlphanumeric(_ c: UInt32) -> Bool {
        isASCIILetter(c) || (c >= 0x30 && c <= 0x39)
    }

    private static func isDecimalDigit(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x30 && c <= 0x39 }
        return Unicode.Scalar(c)?.properties.generalCategory == .decimalNumber
    }

    private static func digitValue(_ c: UInt32, radix: UInt32) -> UInt32? {
        if c >= 0x30 && c <= 0x39 { return c - 0x30 }
        if radix == 16 {
            if c >= 0x61 && c <= 0x66 { return c - 0x61 + 10 }
            if c >= 0x41 && c <= 0x46 { return c - 0x41 + 10 }
        }
        return nil
    }
}

/// The entity tables, parsed on first use.
enum HTMLEntities {
    /// Python's `html.entities.html5` (names with or without the final `;`).
    static let html5: [String: [UInt32]] = parse(TokenizerTables.html5EntityTable)
    /// ftfy's `HTML_ENTITIES` keyed without the leading `&`.
    static let ftfy: [String: [UInt32]] = parse(TokenizerTables.ftfyEntityTable)

    private static func parse(_ table: String) -> [String: [UInt32]] {
        var result: [String: [UInt32]] = [:]
        for line in table.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            result[String(parts[0])] = parts[1].split(separator: ",").map { UInt32($0, radix: 16)! }
        }
        return result
    }
}
