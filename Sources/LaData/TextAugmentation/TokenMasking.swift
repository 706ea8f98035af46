import LaTensor

/// Random token masking and dropping, a simple text-augmentation baseline.
///
/// The text is split into whitespace-separated words. Each word independently, with one uniform draw `u`, is
/// dropped when `u < dropProbability`, replaced by `maskToken` when `u < dropProbability + maskProbability`,
/// and kept otherwise. If every word would be dropped, one random word is kept (as EDA's deletion does), so a
/// non-empty caption never becomes empty. Words are joined with single spaces.
public struct TokenMasking: TextAugmenter {
    /// The probability of replacing a word with `maskToken`.
    public let maskProbability: Double
    /// The probability of dropping a word.
    public let dropProbability: Double
    /// The word that replaces masked words.
    public let maskToken: String

    /// Creates a masking augmenter.
    /// - Parameters:
    ///   - maskProbability: The probability of masking each word, in [0, 1].
    ///   - dropProbability: The probability of dropping each word, in [0, 1]; the two may sum to at most 1.
    ///   - maskToken: The word that replaces masked words.
    /// - Throws: `DataError` (`.unsupported`) for probabilities out of range.
    public init(maskProbability: Double = 0.15, dropProbability: Double = 0, maskToken: String = "[MASK]") throws {
        for (name, value) in [("maskProbability", maskProbability), ("dropProbability", dropProbability)] {
            guard value >= 0 && value <= 1 else {
                throw DataError(.unsupported, file: "TokenMasking configuration", field: name,
                                "must be in [0, 1], got \(value)")
            }
        }
        guard maskProbability + dropProbability <= 1 else {
            throw DataError(.unsupported, file: "TokenMasking configuration", field: "maskProbability",
                            "maskProbability + dropProbability must be ≤ 1")
        }
        self.maskProbability = maskProbability
        self.dropProbability = dropProbability
        self.maskToken = maskToken
    }

    /// Masks and drops words of a word list.
    /// - Parameters:
    ///   - words: The words.
    ///   - generator: The source of randomness (one draw per word, plus one if all would be dropped).
    public func augment(words: [String], generator: inout RandomGenerator) -> [String] {
        var result: [String] = []
        result.reserveCapacity(words.count)
        for word in words {
            let u = Double.random(in: 0..<1, using: &generator)
            if u < dropProbability { continue }
            result.append(u < dropProbability + maskProbability ? maskToken : word)
        }
        if result.isEmpty && !words.isEmpty {
            result.append(words[Int.random(in: 0..<words.count, using: &generator)])
        }
        return result
    }

    /// The text with words masked and dropped.
    /// - Parameters:
    ///   - text: The caption.
    ///   - generator: The source of randomness.
    public func augment(_ text: String, generator: inout RandomGenerator) -> String {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        return augment(words: words, generator: &generator).joined(separator: " ")
    }
}
