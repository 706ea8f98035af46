/// Shell-style brace expansion for shard lists, as WebDataset (Python's `braceexpand`) does it.
///
/// - Numeric ranges: `shard-{000..009}.tar` gives `shard-000.tar` … `shard-009.tar`. When either bound
///   has a leading zero, every number is zero-padded to the width of the longer bound. Ranges may go
///   down (`{3..1}`), may be negative, and take an optional step (`{0..10..5}`).
/// - Letter ranges: `{a..e}` (single ASCII letters).
/// - Lists: `{train,val}`; items may be empty and may contain braces themselves (`{a,b{1..2}}`).
/// - Several braces multiply out, the leftmost varying slowest: `{a,b}-{1..2}` gives `a-1 a-2 b-1 b-2`.
/// - Braces holding neither a comma nor a range (`{}`, `{x}`) are kept literally; `\` escapes the next
///   character.
/// - `expandShardList` also splits its input at `::` (WebDataset's separator for several patterns).
///
/// An unbalanced brace is a `DataError(.malformed)`; an expansion of more than `maximumCount` names is
/// `DataError(.unsupported)`. The pattern itself is named as the error's file.
public enum BraceExpansion {
    /// The largest number of names one pattern may expand to.
    public static let maximumCount = 1_000_000

    /// Expands one pattern.
    /// - Parameter pattern: A pattern such as `data/shard-{000..009}.tar`.
    /// - Throws: `DataError` for unbalanced braces or an over-large expansion.
    public static func expand(_ pattern: String) throws -> [String] {
        try check(Array(pattern), pattern: pattern)
        return try expand(Array(pattern)[...], pattern: pattern)
    }

    /// Expands a WebDataset shard specification: patterns separated by `::`, each brace-expanded, in order.
    /// - Parameter specification: For example `a/{00..09}.tar::b/{00..04}.tar`.
    /// - Throws: `DataError` for unbalanced braces or an over-large expansion.
    public static func expandShardList(_ specification: String) throws -> [String] {
        var result: [String] = []
        for part in specification.components(separatedBy: "::") where !part.isEmpty {
            result += try expand(part)
            if result.count > maximumCount { throw tooMany(specification) }
        }
        return result
    }

    private static func tooMany(_ pattern: String) -> DataError {
        DataError(.unsupported, file: pattern, field: "shard pattern", "expands to more than \(maximumCount) names")
    }

    /// Rejects unbalanced braces (escapes respected).
    private static func check(_ chars: [Character], pattern: String) throws {
        var depth = 0
        var i = 0
        while i < chars.count {
            switch chars[i] {
            case "\\": i += 1
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth < 0 {
                    throw DataError(.malformed, file: pattern, field: "shard pattern", "unmatched '}' at character \(i + 1)")
                }
            default: break
            }
            i += 1
        }
        if depth != 0 {
            throw DataError(.malformed, file: pattern, field: "shard pattern", "unmatched '{'")
        }
    }

    private static func expand(_ chars: ArraySlice<Character>, pattern: String) throws -> [String] {
        // Find the first brace group that expands.
        var i = chars.startIndex
        while i < chars.endIndex {
            let c = chars[i]
            if c == "\\" {
                i += 2
                continue
            }
            if c == "{" {
                guard let close = matchingBrace(chars, open: i) else { break }
                let inner = chars[(i + 1)..<close]
                var options: [String]?
                let parts = splitTopLevel(inner)
                if parts.count > 1 {
                    options = try parts.flatMap { try expand($0, pattern: pattern) }
                } else if let range = try rangeItems(String(inner), pattern: pattern) {
                    options = range
                }
                if let options {
                    let prefix = unescape(chars[chars.startIndex..<i])
                    let suffixes = try expand(chars[(close + 1)...], pattern: pattern)
                    guard options.count.multipliedReportingOverflow(by: suffixes.count).partialValue <= maximumCount,
                          !options.count.multipliedReportingOverflow(by: suffixes.count).overflow
                    else { throw tooMany(pattern) }
                    var result: [String] = []
                    result.reserveCapacity(options.count * suffixes.count)
                    for option in options {
                        for suffix in suffixes { result.append(prefix + option + suffix) }
                    }
                    return result
                }
                // Not an expansion: keep the '{' literally and look further right.
            }
            i += 1
        }
        return [unescape(chars)]
    }

    private static func matchingBrace(_ chars: ArraySlice<Character>, open: Int) -> Int? {
        var depth = 0
        var i = open
        while i < chars.endIndex {
            switch chars[i] {
            case "\\": i += 1
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return nil
    }

    private static func splitTopLevel(_ chars: ArraySlice<Character>) -> [ArraySlice<Character>] {
        var parts: [ArraySlice<Character>] = []
        var depth = 0
        var start = chars.startIndex
        var i = chars.startIndex
        while i < chars.endIndex {
            switch chars[i] {
            case "\\": i += 1
            case "{": depth += 1
            case "}": depth -= 1
            case "," where depth == 0:
                parts.append(chars[start..<i])
                start = i + 1
            default: break
            }
            i += 1
        }
        parts.append(chars[start..<min(chars.endIndex, max(start, chars.endIndex))])
        return parts
    }

    /// The items of `a..b` or `a..b..step`, or nil when `inner` is not a range.
    private static func rangeItems(_ inner: String, pattern: String) throws -> [String]? {
        let pieces = inner.components(separatedBy: "..")
        guard pieces.count == 2 || pieces.count == 3 else { return nil }
        var step = 1
        if pieces.count == 3 {
            guard let s = Int(pieces[2]) else { return nil }
            step = max(abs(s), 1)
        }
        if let start = Int(pieces[0]), let end = Int(pieces[1]) {
            let count = abs(end - start) / step + 1
            guard count <= maximumCount else { throw tooMany(pattern) }
            func hasLeadingZero(_ s: String) -> Bool {
                let digits = s.hasPrefix("-") ? s.dropFirst() : Substring(s)
                return digits.count > 1 && digits.hasPrefix("0")
            }
            let width = hasLeadingZero(pieces[0]) || hasLeadingZero(pieces[1]) ? max(pieces[0].count, pieces[1].count) : 0
            var items: [String] = []
            items.reserveCapacity(count)
            var value = start
            for _ in 0..<count {
                var text = String(abs(value))
                let signWidth = value < 0 ? 1 : 0
                if text.count + signWidth < width { text = String(repeating: "0", count: width - text.count - signWidth) + text }
                items.append(value < 0 ? "-" + text : text)
                value += start <= end ? step : -step
            }
            return items
        }
        if pieces[0].count == 1, pieces[1].count == 1,
           let a = pieces[0].unicodeScalars.first, let b = pieces[1].unicodeScalars.first,
           a.isASCII, b.isASCII, Character(a).isLetter, Character(b).isLetter
        {
            let start = Int(a.value), end = Int(b.value)
            var items: [String] = []
            var value = start
            for _ in 0...(abs(end - start) / step) {
                items.append(String(Character(Unicode.Scalar(UInt8(value)))))
                value += start <= end ? step : -step
            }
            return items
        }
        return nil
    }

    private static func unescape(_ chars: ArraySlice<Character>) -> String {
        var result = ""
        var i = chars.startIndex
        while i < chars.endIndex {
            if chars[i] == "\\" && i + 1 < chars.endIndex {
                result.append(chars[i + 1])
                i += 2
            } else {
                result.append(chars[i])
                i += 1
            }
        }
        return result
    }
}
