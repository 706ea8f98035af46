import LaTensor
import Synchronization

/// LaCLIP's text augmentation: each time a sample is read, one caption drawn from the original and its
/// M language-model rewrites.
///
/// The draw is uniform over the M + 1 versions, or follows optional per-version weights. A drawn rewrite with
/// fewer than `minimumWords` words (empty, missing or one-word rewrites) falls back to the original, as
/// LaCLIP's loader does, and the fallback is counted. The draw for sample `index` in `epoch` comes from
/// `RandomGenerator.perSample(seed:epoch:index:stream:)`, so it depends only on `(seed, epoch, index)` — not on
/// worker threads or read order. The counters are thread-safe; one sampler can serve every loader thread.
public final class LaCLIPTextSampler: Sendable {
    /// The number of words a rewrite needs to be used (LaCLIP: 2).
    public static let minimumWords = 2

    /// What the sampler has drawn since it was created or reset.
    public struct Statistics: Sendable, Equatable {
        /// How often each version (0 = original, 1...M = rewrites) was drawn, before fallbacks.
        public var draws: [Int]
        /// How often a drawn version fell back to the original (entry 0 is always 0).
        public var fallbacks: [Int]
        /// All draws.
        public var totalDraws: Int { draws.reduce(0, +) }
        /// All fallbacks.
        public var totalFallbacks: Int { fallbacks.reduce(0, +) }

        /// Zero counts for `versionCount` versions.
        /// - Parameter versionCount: The original plus the rewrites.
        public init(versionCount: Int) {
            draws = Array(repeating: 0, count: versionCount)
            fallbacks = Array(repeating: 0, count: versionCount)
        }
    }

    /// One draw: the text read, which version was drawn, and whether it fell back to the original.
    public struct Draw: Sendable, Equatable {
        /// The caption to use.
        public let text: String
        /// The drawn version: 0 for the original, `r` for rewrite `r`.
        public let version: Int
        /// Whether the drawn rewrite was too short and `text` is the original instead.
        public let fellBack: Bool
    }

    /// The number of rewrites per sample (M).
    public let rewriteCount: Int
    /// The probability of each version (original first), summing to 1.
    public let probabilities: [Double]
    /// The seed of every draw.
    public let seed: UInt64
    /// The name used in errors (e.g. the caption file).
    public let source: String
    private let cumulative: [Double]
    private let uniform: Bool
    private let counts: Mutex<Statistics>

    /// Creates a sampler.
    /// - Parameters:
    ///   - rewriteCount: The number of rewrites per sample (M ≥ 0).
    ///   - weights: Optional non-negative weights for the original and each rewrite (M + 1 values, not all 0);
    ///     `nil` draws uniformly.
    ///   - seed: The seed of every draw.
    ///   - source: The name used in errors, e.g. the caption file.
    /// - Throws: `DataError` (`.unsupported`) for a negative rewrite count or invalid weights, and
    ///   (`.mismatch`) when the number of weights is not M + 1.
    public init(rewriteCount: Int, weights: [Double]? = nil, seed: UInt64, source: String = "LaCLIP captions") throws {
        guard rewriteCount >= 0 else {
            throw DataError(.unsupported, file: source, field: "rewriteCount", "must be ≥ 0, got \(rewriteCount)")
        }
        self.rewriteCount = rewriteCount
        self.seed = seed
        self.source = source
        let versions = rewriteCount + 1
        if let weights {
            guard weights.count == versions else {
                throw DataError(.mismatch, file: source, field: "weights",
                                "expected \(versions) weights (original + \(rewriteCount) rewrites), "
                                    + "got \(weights.count)")
            }
            guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw DataError(.unsupported, file: source, field: "weights", "weights must be finite and ≥ 0")
            }
            let total = weights.reduce(0, +)
            guard total > 0 else {
                throw DataError(.unsupported, file: source, field: "weights", "weights must not all be 0")
            }
            probabilities = weights.map { $0 / total }
            uniform = false
        } else {
            probabilities = Array(repeating: 1 / Double(versions), count: versions)
            uniform = true
        }
        var running = 0.0
        cumulative = probabilities.map { running += $0; return running }
        counts = Mutex(Statistics(versionCount: versions))
    }

    /// Whether `text` is long enough to be used: at least `minimumWords` whitespace-separated words.
    /// - Parameter text: A rewrite.
    public static func isUsable(_ text: String) -> Bool {
        wordCount(text, atMost: minimumWords) >= minimumWords
    }

    /// The number of whitespace-separated words in `text`, counting no further than `limit`.
    /// - Parameters:
    ///   - text: The text.
    ///   - limit: Stop counting at this many words.
    public static func wordCount(_ text: String, atMost limit: Int = .max) -> Int {
        var count = 0
        var inWord = false
        for character in text.unicodeScalars {
            if character.properties.isWhitespace {
                inWord = false
            } else if !inWord {
                inWord = true
                count += 1
                if count >= limit { return count }
            }
        }
        return count
    }

    /// The version drawn for sample `index` in `epoch` (0 = original), before any fallback. Pure: it neither
    /// reads the texts nor counts.
    /// - Parameters:
    ///   - index: The sample index (0 ..< 2^32).
    ///   - epoch: The epoch.
    public func version(index: Int, epoch: Int) -> Int {
        var generator = RandomGenerator.perSample(seed: seed, epoch: epoch, index: index,
                                                  stream: RandomGenerator.SampleStream.captionChoice)
        if uniform { return Int.random(in: 0...rewriteCount, using: &generator) }
        let u = Double.random(in: 0..<1, using: &generator)
        // The first version whose cumulative probability exceeds u, skipping zero-weight versions.
        for (version, bound) in cumulative.enumerated() where u < bound && probabilities[version] > 0 {
            return version
        }
        return probabilities.lastIndex(where: { $0 > 0 })!
    }

    /// Draws the caption for sample `index` in `epoch` and counts the draw and any fallback.
    /// - Parameters:
    ///   - original: The original caption.
    ///   - rewrites: The M rewrites, in version order.
    ///   - index: The sample index (0 ..< 2^32).
    ///   - epoch: The epoch.
    /// - Throws: `DataError` (`.mismatch`) when there are not M rewrites.
    public func draw(original: String, rewrites: [String], index: Int, epoch: Int) throws -> Draw {
        guard rewrites.count == rewriteCount else {
            throw DataError(.mismatch, file: source, line: index + 1, field: "rewrites",
                            "expected \(rewriteCount) rewrites, found \(rewrites.count)")
        }
        let version = version(index: index, epoch: epoch)
        let fellBack = version > 0 && !Self.isUsable(rewrites[version - 1])
        counts.withLock { counts in
            counts.draws[version] += 1
            if fellBack { counts.fallbacks[version] += 1 }
        }
        return Draw(text: version == 0 || fellBack ? original : rewrites[version - 1], version: version,
                    fellBack: fellBack)
    }

    /// The caption to read for sample `index` in `epoch` (see `draw(original:rewrites:index:epoch:)`).
    /// - Parameters:
    ///   - original: The original caption.
    ///   - rewrites: The M rewrites, in version order.
    ///   - index: The sample index (0 ..< 2^32).
    ///   - epoch: The epoch.
    /// - Throws: `DataError` (`.mismatch`) when there are not M rewrites.
    public func sample(original: String, rewrites: [String], index: Int, epoch: Int) throws -> String {
        try draw(original: original, rewrites: rewrites, index: index, epoch: epoch).text
    }

    /// The draws and fallbacks counted so far.
    public var statistics: Statistics { counts.withLock { $0 } }

    /// The number of fallbacks to the original counted so far.
    public var fallbackCount: Int { statistics.totalFallbacks }

    /// Sets every count back to 0.
    public func resetStatistics() {
        counts.withLock { $0 = Statistics(versionCount: rewriteCount + 1) }
    }
}
