import Foundation

/// Why a generated rewrite was rejected.
public enum RejectionReason: String, CaseIterable, Sendable, Codable {
    /// Nothing usable was generated.
    case empty
    /// The rewrite equals the original (ignoring case and surrounding punctuation).
    case identical
    /// Fewer than 2 words.
    case tooShort
    /// A word 3-gram repeats, or a word repeats 3 times in a row (a degenerate loop).
    case repeatedNGrams
    /// A placeholder token copied from a bank, such as `<PERSON>`.
    case placeholder
    /// Too many tokens for the text encoder's context.
    case tooLong
    /// Keeps none of the original's content nouns.
    case unfaithful
    /// Names a class other than the caption's own.
    case wrongClass
    /// Does not name the caption's own class (only when that is required).
    case missingClass
}

/// Turns a raw completion into a candidate rewrite and rejects degenerate or unfaithful ones.
public struct RewriteFilter: Sendable {
    /// Largest token count (with start and end tokens) a rewrite may have.
    public var contextLength: Int
    /// Counts the tokens of a text without start/end tokens (e.g. the CLIP tokenizer's `encode(_:).count`);
    /// nil skips the length check.
    public var tokenCount: (@Sendable (String) -> Int)?
    /// The faithfulness filter, or nil to switch it off.
    public var faithfulness: FaithfulnessFilter?

    /// Creates a filter.
    /// - Parameters:
    ///   - contextLength: Token budget including start and end tokens (77 for CLIP).
    ///   - tokenCount: Token counter, or nil.
    ///   - faithfulness: Faithfulness filter, or nil.
    public init(contextLength: Int = 77, tokenCount: (@Sendable (String) -> Int)? = nil, faithfulness: FaithfulnessFilter? = nil) {
        self.contextLength = contextLength
        self.tokenCount = tokenCount
        self.faithfulness = faithfulness
    }

    /// The rewrite inside a raw completion: its first line, trimmed, cut before any further `=>` (a model
    /// that continues the pattern).
    /// - Parameter completion: The generated text.
    public static func extract(from completion: String) -> String {
        let firstLine = completion.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        var text = firstLine
        if let range = text.range(of: "=>") { text = String(text[..<range.lowerBound]) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Lowercased words of a text (letters, digits and apostrophes).
    /// - Parameter text: The text.
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "'") }.map(String.init)
    }

    /// The first reason to reject `rewrite` of `original`, or nil to accept it.
    /// - Parameters:
    ///   - rewrite: The extracted rewrite.
    ///   - original: The caption it rewrites.
    ///   - classIndex: The caption's class in the faithfulness filter's class list, if any.
    public func rejection(of rewrite: String, original: String, classIndex: Int? = nil) -> RejectionReason? {
        let words = RewriteFilter.words(rewrite)
        if words.isEmpty { return .empty }
        if words == RewriteFilter.words(original) { return .identical }
        if words.count < 2 { return .tooShort }
        if rewrite.range(of: "<[A-Za-z_]+>", options: .regularExpression) != nil { return .placeholder }
        if RewriteFilter.hasRepetition(words) { return .repeatedNGrams }
        if let tokenCount, tokenCount(rewrite) + 2 > contextLength { return .tooLong }
        if let faithfulness, let reason = faithfulness.rejection(of: rewrite, original: original, classIndex: classIndex) { return reason }
        return nil
    }

    static func hasRepetition(_ words: [String]) -> Bool {
        if words.count >= 3 {
            for i in 2..<words.count where words[i] == words[i - 1] && words[i] == words[i - 2] { return true }
        }
        var seen = Set<String>()
        if words.count >= 3 {
            for i in 0..<(words.count - 2) where !seen.insert(words[i..<(i + 3)].joined(separator: " ")).inserted { return true }
        }
        return false
    }
}

/// Rejects rewrites that drift from their caption: ones that keep none of the original's content nouns
/// (compared by lemma through WordNet's morphology) and ones that name a class other than the caption's
/// own (optionally also ones that do not name their own class).
public struct FaithfulnessFilter: Sendable {
    /// WordNet, for noun lemmas.
    public let wordNet: WordNet
    /// Class names; a name may list alternatives separated by `/` (e.g. `T-shirt/top`).
    public let classNames: [String]
    /// Also reject rewrites that do not name their own class.
    public let requireOwnClass: Bool
    let classPhrases: [[[String]]]

    static let stopWords: Set<String> = [
        "a", "an", "the", "of", "in", "on", "at", "with", "and", "or", "to", "for", "by", "from", "is", "are",
        "this", "that", "it", "its", "photo", "picture", "image", "view", "one", "some", "there",
    ]

    /// Creates the filter.
    /// - Parameters:
    ///   - wordNet: A loaded WordNet.
    ///   - classNames: The class list (empty: no class checks).
    ///   - requireOwnClass: Reject rewrites that do not name their own class.
    public init(wordNet: WordNet, classNames: [String] = [], requireOwnClass: Bool = false) {
        self.wordNet = wordNet
        self.classNames = classNames
        self.requireOwnClass = requireOwnClass
        var phrases: [[[String]]] = []
        for name in classNames {
            let alternatives = name.split(separator: "/").map { alternative in
                RewriteFilter.words(alternative.replacingOccurrences(of: "-", with: " ")).map { FaithfulnessFilter.lemma($0, wordNet: wordNet) }
            }
            phrases.append(alternatives.filter { !$0.isEmpty })
        }
        self.classPhrases = phrases
    }

    static func lemma(_ word: String, wordNet: WordNet) -> String {
        wordNet.baseForms(of: word, partOfSpeech: .noun).first ?? word
    }

    /// The noun lemmas of a text that carry content (known to WordNet as nouns, not stop words).
    /// - Parameter text: The text.
    public func contentNouns(_ text: String) -> Set<String> {
        var result = Set<String>()
        for word in RewriteFilter.words(text) where word.count > 2 && !FaithfulnessFilter.stopWords.contains(word) {
            if let base = wordNet.baseForms(of: word, partOfSpeech: .noun).first { result.insert(base) }
        }
        return result
    }

    /// The classes a text names (by lemma sequence). Longer names win where names overlap, so "t-shirt"
    /// names `T-shirt/top` and not also `Shirt`.
    /// - Parameter text: The text.
    public func mentionedClasses(_ text: String) -> Set<Int> {
        let lemmas = RewriteFilter.words(text.replacingOccurrences(of: "-", with: " ")).map { FaithfulnessFilter.lemma($0, wordNet: wordNet) }
        var matches: [(start: Int, length: Int, index: Int)] = []
        for (index, alternatives) in classPhrases.enumerated() {
            for phrase in alternatives where lemmas.count >= phrase.count {
                for start in 0...(lemmas.count - phrase.count) where Array(lemmas[start..<(start + phrase.count)]) == phrase {
                    matches.append((start, phrase.count, index))
                }
            }
        }
        var covered = [Bool](repeating: false, count: lemmas.count)
        var result = Set<Int>()
        for match in matches.sorted(by: { $0.length > $1.length }) {
            let span = match.start..<(match.start + match.length)
            if span.contains(where: { covered[$0] }) { continue }
            for position in span { covered[position] = true }
            result.insert(match.index)
        }
        return result
    }

    /// The reason to reject a rewrite, or nil.
    /// - Parameters:
    ///   - rewrite: The rewrite.
    ///   - original: The caption.
    ///   - classIndex: The caption's class, if known.
    public func rejection(of rewrite: String, original: String, classIndex: Int?) -> RejectionReason? {
        let originalNouns = contentNouns(original)
        if !originalNouns.isEmpty && originalNouns.isDisjoint(with: contentNouns(rewrite)) { return .unfaithful }
        if let classIndex, !classNames.isEmpty {
            let named = mentionedClasses(rewrite)
            if named.contains(where: { $0 != classIndex }) { return .wrongClass }
            if requireOwnClass && !named.contains(classIndex) { return .missingClass }
        }
        return nil
    }
}
