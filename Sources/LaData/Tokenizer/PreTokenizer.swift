/// open_clip's pre-tokenization: the pieces `regex.findall` returns for
/// `<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` with
/// `re.IGNORECASE`, written by hand over Unicode scalars.
///
/// At each position the alternatives are tried in order, as Python's `regex` does: a special token, a
/// contraction (only where a match starts, so `!!'s` is `!!'` then `s`), a run of letters, one number
/// character, or a run of anything that is neither whitespace, letter nor number. Characters that match
/// nothing (whitespace, and U+0345, which under `IGNORECASE` is neither a letter nor outside the letters) are
/// skipped. Case-insensitive matching adds U+017F (long s) as a match for `s` in contractions and special
/// tokens. Letters and numbers are Unicode general categories L* and N* (`generalCategory`), extended by the
/// code points the `regex` module's newer Unicode assigns and Swift's reports as unassigned.
public enum PreTokenizer {
    /// The pieces of already-cleaned text (see `TextCleaning.clean(_:)`).
    /// - Parameter cleanedText: Text after open_clip's cleaning.
    /// - Returns: The pieces, in order.
    public static func split(_ cleanedText: String) -> [String] {
        let scalars = cleanedText.unicodeScalars.map(\.value)
        var pieces: [String] = []
        split(scalars) { range in
            var view = String.UnicodeScalarView()
            for c in scalars[range] { view.append(Unicode.Scalar(c)!) }
            pieces.append(String(view))
        }
        return pieces
    }

    // MARK: Classes

    enum CharacterClass: UInt8 {
        case letter, number, space, unmatched, other
    }

    /// `regex`'s `\s` for str patterns.
    @inline(__always)
    static func isRegexWhitespace(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c >= 0x09 && c <= 0x0D) || c == 0x20 }
        return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028
            || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000
    }

    @inline(__always)
    static func characterClass(_ c: UInt32) -> CharacterClass {
        if c < 0x80 {
            if TextCleaning.isASCIILetter(c) { return .letter }
            if c >= 0x30 && c <= 0x39 { return .number }
            return isRegexWhitespace(c) ? .space : .other
        }
        return nonASCIIClass(c)
    }

    static func nonASCIIClass(_ c: UInt32) -> CharacterClass {
        if isRegexWhitespace(c) { return .space }
        if c == 0x345 { return .unmatched }
        guard let scalar = Unicode.Scalar(c) else { return .other }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        case .unassigned:
            if rangesContain(TokenizerTables.regexExtraLetters, c) { return .letter }
            if rangesContain(TokenizerTables.regexExtraNumbers, c) { return .number }
            return .other
        default:
            return .other
        }
    }

    /// Whether `c` lies in one of `ranges` (sorted, disjoint): a binary search.
    static func rangesContain(_ ranges: [ClosedRange<UInt32>], _ c: UInt32) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < c { low = mid + 1 } else { high = mid }
        }
        return low < ranges.count && ranges[low].contains(c)
    }

    // MARK: Splitting

    static let startOfText: [UInt8] = Array("<start_of_text>".utf8)
    static let endOfText: [UInt8] = Array("<end_of_text>".utf8)

    /// Whether `c` matches the pattern character `p` (ASCII lower case) under `IGNORECASE` in lower-cased text.
    @inline(__always)
    private static func matches(_ c: UInt32, _ p: UInt8) -> Bool {
        c == UInt32(p) || (p == 0x73 && c == 0x17F)
    }

    /// The length of a special token or contraction starting at `i`, or 0.
    @inline(__always)
    static func fixedMatchLength<C: RandomAccessCollection>(_ text: C, at i: Int) -> Int
    where C.Element == UInt32, C.Index == Int {
        let c = text[i]
        if c == 0x3C {
            for special in [startOfText, endOfText] where i + special.count <= text.endIndex {
                var ok = true
                for k in 1..<special.count where !matches(text[i + k], special[k]) {
                    ok = false
                    break
                }
                if ok { return special.count }
            }
        } else if c == 0x27, i + 1 < text.endIndex {
            let a = text[i + 1]
            if matches(a, 0x73) || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // 's 't 'm 'd
            if i + 2 < text.endIndex {
                let b = text[i + 2]
                if (a == 0x72 || a == 0x76) && b == 0x65 { return 3 }  // 're 've
                if a == 0x6C && b == 0x6C { return 3 }  // 'll
            }
        }
        return 0
    }

    /// Calls `body` with the index range of each piece of cleaned, lower-cased `text`.
    /// - Parameters:
    ///   - text: Unicode scalar values (or bytes of ASCII text) after cleaning.
    ///   - body: Receives each piece's range, in order.
    @inline(__always)
    static func split<C: RandomAccessCollection>(_ text: C, _ body: (Range<Int>) -> Void)
    where C.Element == UInt32, C.Index == Int {
        let n = text.endIndex
        var i = text.startIndex
        while i < n {
            let c = text[i]
            if c == 0x3C || c == 0x27 {
                let length = fixedMatchLength(text, at: i)
                if length > 0 {
                    body(i..<(i + length))
                    i += length
                    continue
                }
            }
            switch characterClass(c) {
            case .letter:
                var j = i + 1
                while j < n && characterClass(text[j]) == .letter { j += 1 }
                body(i..<j)
                i = j
            case .number:
                body(i..<(i + 1))
                i += 1
            case .space, .unmatched:
                i += 1
            case .other:
                var j = i + 1
                while j < n && characterClass(text[j]) == .other { j += 1 }
                body(i..<j)
                i = j
            }
        }
    }
}

extension PreTokenizer {
    /// Classes of ASCII bytes: 0 letter, 1 number, 2 space, 4 other.
    static let asciiClass: [UInt8] = (0..<128).map { UInt8(characterClass(UInt32($0)).rawValue) }

    /// `split(_:_:)` for lower-cased ASCII bytes.
    /// - Parameters:
    ///   - text: Lower-cased ASCII bytes.
    ///   - body: Receives each piece's range, in order.
    @inline(__always)
    static func splitASCII(_ text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        let n = text.count
        asciiClass.withUnsafeBufferPointer { classes in
            var i = 0
            while i < n {
                let c = text[i]
                if c == 0x3C || c == 0x27 {
                    let length = fixedMatchLength(ASCIIView(bytes: text), at: i)
                    if length > 0 {
                        body(i..<(i + length))
                        i += length
                        continue
                    }
                }
                let cls = classes[Int(c)]
                if cls == 2 {
                    i += 1
                } else if cls == 1 {
                    body(i..<(i + 1))
                    i += 1
                } else {
                    var j = i + 1
                    while j < n && classes[Int(text[j])] == cls { j += 1 }
                    body(i..<j)
                    i = j
                }
            }
        }
    }

    /// Bytes seen as `UInt32` scalars.
    struct ASCIIView: RandomAccessCollection {
        let bytes: UnsafeBufferPointer<UInt8>
        var startIndex: Int { 0 }
        var endIndex: Int { bytes.count }
        subscript(position: Int) -> UInt32 { UInt32(bytes[position]) }
    }
}
