import LaTensor

/// Easy Data Augmentation (Wei and Zou, 2019), following the reference `eda.py`: synonym replacement and
/// random insertion from WordNet, random swap and random deletion, on text cleaned to lowercase letters and
/// spaces.
///
/// With `n` words, synonym replacement, insertion and swap each make `max(1, Int(alpha * n))` changes, and
/// deletion drops each word with probability `pRD`. `augmentations(of:generator:)` is `eda()`: it makes
/// `numberOfAugmentations / 4 + 1` sentences per enabled operation, shuffles them and keeps
/// `numberOfAugmentations`. As a `TextAugmenter`, `augment(_:generator:)` applies one enabled operation chosen
/// uniformly — the same distribution as taking one sentence from `eda()`, without making the others.
///
/// Differences from `eda.py`, all deliberate: randomness comes from the `RandomGenerator` passed in (not
/// Python's global `random`); synonyms are in WordNet order rather than Python set order, so where `eda.py`
/// takes `synonyms[0]` (an arbitrary element of a set) for insertion this draws one uniformly; synonyms that
/// clean to nothing (e.g. `"3"`) are ignored; a text with no words is returned as its cleaned (empty) self
/// instead of raising; `numberOfAugmentations` is a whole number (no fractional keep probability); and
/// cleaning also trims a trailing space.
public struct EDA: TextAugmenter {
    /// The four EDA operations.
    public enum Operation: String, CaseIterable, Sendable {
        /// Replace up to n distinct non-stop-words (all their occurrences) with a random synonym.
        case synonymReplacement
        /// Insert a synonym of a random word at a random position, n times.
        case randomInsertion
        /// Swap two random positions, n times.
        case randomSwap
        /// Drop each word with probability p (keeping one word if all would go).
        case randomDeletion
    }

    /// The stop words of `eda.py` (never replaced by synonyms), including the empty string.
    public static let stopWords: Set<String> = [
        "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
        "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself",
        "they", "them", "their", "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these",
        "those", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do",
        "does", "did", "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while",
        "of", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before",
        "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over", "under", "again",
        "further", "then", "once", "here", "there", "when", "where", "why", "how", "all", "any", "both", "each",
        "few", "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so", "than",
        "too", "very", "s", "t", "can", "will", "just", "don", "should", "now", "",
    ]

    /// The database synonyms come from.
    public let wordNet: WordNet
    /// The fraction of words replaced by synonyms (`alpha_sr`).
    public let alphaSR: Double
    /// The fraction of words inserted (`alpha_ri`).
    public let alphaRI: Double
    /// The fraction of words swapped (`alpha_rs`).
    public let alphaRS: Double
    /// The probability of deleting each word (`p_rd`).
    public let pRD: Double
    /// How many sentences `augmentations(of:generator:)` returns (`num_aug`).
    public let numberOfAugmentations: Int

    /// Creates an EDA augmenter with `eda.py`'s parameters (an alpha of 0 disables its operation).
    /// - Parameters:
    ///   - wordNet: The database synonyms come from (e.g. `try WordNet.shared()`).
    ///   - alphaSR: The fraction of words replaced by synonyms, in [0, 1].
    ///   - alphaRI: The fraction of words inserted, in [0, 1].
    ///   - alphaRS: The fraction of words swapped, in [0, 1].
    ///   - pRD: The probability of deleting each word, in [0, 1].
    ///   - numberOfAugmentations: How many sentences `augmentations(of:generator:)` returns (≥ 1).
    /// - Throws: `DataError` (`.unsupported`) for a parameter out of range or when every operation is disabled.
    public init(wordNet: WordNet, alphaSR: Double = 0.1, alphaRI: Double = 0.1, alphaRS: Double = 0.1,
                pRD: Double = 0.1, numberOfAugmentations: Int = 9) throws {
        for (name, value) in [("alphaSR", alphaSR), ("alphaRI", alphaRI), ("alphaRS", alphaRS), ("pRD", pRD)] {
            guard value >= 0 && value <= 1 else {
                throw DataError(.unsupported, file: "EDA configuration", field: name, "must be in [0, 1], got \(value)")
            }
        }
        guard numberOfAugmentations >= 1 else {
            throw DataError(.unsupported, file: "EDA configuration", field: "numberOfAugmentations",
                            "must be ≥ 1, got \(numberOfAugmentations)")
        }
        guard alphaSR > 0 || alphaRI > 0 || alphaRS > 0 || pRD > 0 else {
            throw DataError(.unsupported, file: "EDA configuration", field: "alpha", "every operation is disabled")
        }
        self.wordNet = wordNet
        self.alphaSR = alphaSR
        self.alphaRI = alphaRI
        self.alphaRS = alphaRS
        self.pRD = pRD
        self.numberOfAugmentations = numberOfAugmentations
    }

    /// The operations with a positive parameter, in `Operation.allCases` order.
    public var enabledOperations: [Operation] {
        Operation.allCases.filter { operation in
            switch operation {
            case .synonymReplacement: alphaSR > 0
            case .randomInsertion: alphaRI > 0
            case .randomSwap: alphaRS > 0
            case .randomDeletion: pRD > 0
            }
        }
    }

    // MARK: Text

    /// `eda.py`'s `get_only_chars`: drops apostrophes, turns hyphens into spaces, lowercases, turns every
    /// other character that is not an ASCII letter or space into a space, and collapses runs of spaces
    /// (trimming both ends).
    /// - Parameter text: The raw text.
    public static func clean(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var lastWasSpace = true
        for scalar in text.unicodeScalars {
            if scalar == "'" || scalar == "\u{2019}" { continue }
            var byte = UInt8(ascii: " ")
            if scalar.isASCII {
                let value = UInt8(scalar.value)
                switch value {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): byte = value
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte = value + 32
                default: break
                }
            } else {
                // Non-ASCII letters that lowercase to a single ASCII letter (e.g. the Kelvin sign) are kept,
                // as Python's `lower()` would.
                let lower = String(scalar).lowercased().unicodeScalars
                if lower.count == 1, let first = lower.first, first.isASCII, ("a"..."z").contains(first) {
                    byte = UInt8(first.value)
                }
            }
            if byte == UInt8(ascii: " ") {
                if lastWasSpace { continue }
                lastWasSpace = true
            } else {
                lastWasSpace = false
            }
            bytes.append(byte)
        }
        if bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The words of the cleaned text.
    /// - Parameter text: The raw text.
    public static func words(of text: String) -> [String] {
        clean(text).split(separator: " ").map(String.init)
    }

    /// `eda.py`'s `get_synonyms`: the lemmas of every synset of `word` in any part of speech (found through
    /// WordNet's morphology, as `wordnet.synsets` does), with underscores and hyphens as spaces, lowercase,
    /// letters and spaces only, without repeats and without `word` itself, in WordNet order.
    /// - Parameter word: A cleaned word.
    public func synonyms(of word: String) -> [String] {
        var seen: Set<String> = [word, ""]
        var result: [String] = []
        for synset in wordNet.synsets(of: word) {
            for lemma in synset.lemmas {
                let synonym = Self.cleanSynonym(lemma)
                if seen.insert(synonym).inserted { result.append(synonym) }
            }
        }
        return result
    }

    private static func cleanSynonym(_ lemma: String) -> String {
        var bytes: [UInt8] = []
        for scalar in lemma.lowercased().unicodeScalars {
            if scalar == "_" || scalar == "-" || scalar == " " {
                bytes.append(UInt8(ascii: " "))
            } else if scalar.isASCII, ("a"..."z").contains(scalar) {
                bytes.append(UInt8(scalar.value))
            }
        }
        // Multi-word synonyms are split into words later; keep single spaces only.
        return String(decoding: bytes, as: UTF8.self).split(separator: " ").joined(separator: " ")
    }

    /// The number of changes an operation with parameter `alpha` makes on `wordCount` words:
    /// `max(1, Int(alpha * wordCount))`.
    /// - Parameters:
    ///   - alpha: The operation's parameter.
    ///   - wordCount: The number of words.
    public static func changeCount(alpha: Double, wordCount: Int) -> Int {
        max(1, Int(alpha * Double(wordCount)))
    }

    // MARK: Operations

    /// Synonym replacement: visits the distinct words that are not stop words in random order and replaces
    /// every occurrence of each with one of its synonyms chosen uniformly, until `count` words have been
    /// replaced. Multi-word synonyms become several words.
    /// - Parameters:
    ///   - words: Cleaned words.
    ///   - count: The number of distinct words to replace.
    ///   - generator: The source of randomness.
    public func synonymReplacement(_ words: [String], count: Int, generator: inout RandomGenerator) -> [String] {
        var seen = Set<String>()
        var candidates = words.filter { !Self.stopWords.contains($0) && seen.insert($0).inserted }
        candidates.shuffle(using: &generator)
        var newWords = words
        var replaced = 0
        for candidate in candidates {
            if replaced >= count { break }
            let synonyms = synonyms(of: candidate)
            guard let synonym = synonyms.randomElement(using: &generator) else { continue }
            newWords = newWords.map { $0 == candidate ? synonym : $0 }
            replaced += 1
        }
        return newWords.flatMap { $0.split(separator: " ").map(String.init) }
    }

    /// Random insertion, `count` times: picks random words (up to 10 tries) until one has synonyms, and inserts
    /// one of them, chosen uniformly, at a random position among the current words (never at the very end, as
    /// in `eda.py`). Inserted multi-word synonyms stay one element until the sentence is joined.
    /// - Parameters:
    ///   - words: Cleaned words.
    ///   - count: The number of insertions.
    ///   - generator: The source of randomness.
    public func randomInsertion(_ words: [String], count: Int, generator: inout RandomGenerator) -> [String] {
        var newWords = words
        guard !newWords.isEmpty else { return newWords }
        for _ in 0..<count {
            var synonyms: [String] = []
            var tries = 0
            while synonyms.isEmpty {
                let word = newWords[Int.random(in: 0..<newWords.count, using: &generator)]
                synonyms = self.synonyms(of: word)
                tries += 1
                if tries >= 10 { break }
            }
            guard let synonym = synonyms.randomElement(using: &generator) else { continue }
            newWords.insert(synonym, at: Int.random(in: 0..<newWords.count, using: &generator))
        }
        return newWords
    }

    /// Random swap, `count` times: picks two random positions (retrying up to 3 times while they coincide, then
    /// giving up for that swap) and exchanges their words. The multiset of words never changes.
    /// - Parameters:
    ///   - words: Cleaned words.
    ///   - count: The number of swaps.
    ///   - generator: The source of randomness.
    public static func randomSwap(_ words: [String], count: Int, generator: inout RandomGenerator) -> [String] {
        var newWords = words
        guard !newWords.isEmpty else { return newWords }
        swaps: for _ in 0..<count {
            let first = Int.random(in: 0..<newWords.count, using: &generator)
            var second = first
            var tries = 0
            while second == first {
                second = Int.random(in: 0..<newWords.count, using: &generator)
                tries += 1
                if tries > 3 { continue swaps }
            }
            newWords.swapAt(first, second)
        }
        return newWords
    }

    /// Random deletion: keeps each word with probability 1 − `probability`; a single word is never deleted, and
    /// if every word would be deleted one random word is kept.
    /// - Parameters:
    ///   - words: Cleaned words.
    ///   - probability: The probability of deleting each word.
    ///   - generator: The source of randomness.
    public static func randomDeletion(_ words: [String], probability: Double,
                                      generator: inout RandomGenerator) -> [String] {
        guard words.count > 1 else { return words }
        let kept = words.filter { _ in Double.random(in: 0..<1, using: &generator) > probability }
        if kept.isEmpty { return [words[Int.random(in: 0..<words.count, using: &generator)]] }
        return kept
    }

    /// Applies one operation to cleaned words with this augmenter's parameters.
    /// - Parameters:
    ///   - operation: The operation.
    ///   - words: Cleaned words.
    ///   - generator: The source of randomness.
    public func apply(_ operation: Operation, to words: [String], generator: inout RandomGenerator) -> [String] {
        switch operation {
        case .synonymReplacement:
            synonymReplacement(words, count: Self.changeCount(alpha: alphaSR, wordCount: words.count),
                               generator: &generator)
        case .randomInsertion:
            randomInsertion(words, count: Self.changeCount(alpha: alphaRI, wordCount: words.count),
                            generator: &generator)
        case .randomSwap:
            Self.randomSwap(words, count: Self.changeCount(alpha: alphaRS, wordCount: words.count),
                            generator: &generator)
        case .randomDeletion:
            Self.randomDeletion(words, probability: pRD, generator: &generator)
        }
    }

    // MARK: Sentences

    /// `eda.py`'s `eda()`: `numberOfAugmentations / 4 + 1` augmented sentences per enabled operation, cleaned,
    /// shuffled and cut to `numberOfAugmentations` (the original is not included).
    /// - Parameters:
    ///   - sentence: The raw text.
    ///   - generator: The source of randomness.
    /// - Returns: The augmented sentences; empty when the text has no words.
    public func augmentations(of sentence: String, generator: inout RandomGenerator) -> [String] {
        let words = Self.words(of: sentence)
        guard !words.isEmpty else { return [] }
        let perOperation = numberOfAugmentations / 4 + 1
        var sentences: [String] = []
        for operation in enabledOperations {
            for _ in 0..<perOperation {
                sentences.append(Self.clean(apply(operation, to: words, generator: &generator).joined(separator: " ")))
            }
        }
        sentences.shuffle(using: &generator)
        return Array(sentences.prefix(numberOfAugmentations))
    }

    /// One augmented sentence: the text cleaned and changed by one enabled operation chosen uniformly.
    /// - Parameters:
    ///   - text: The raw text.
    ///   - generator: The source of randomness.
    public func augment(_ text: String, generator: inout RandomGenerator) -> String {
        let words = Self.words(of: text)
        guard !words.isEmpty else { return "" }
        let operations = enabledOperations
        let operation = operations[Int.random(in: 0..<operations.count, using: &generator)]
        return Self.clean(apply(operation, to: words, generator: &generator).joined(separator: " "))
    }
}
