import Synchronization

/// LaCLIP-MT's multi-text batches: every caption version of each image — the original first, then rewrites
/// 1...M — so the loss can pair the image with each of them.
///
/// The rule of `LaCLIPTextSampler` applies per version: a rewrite with fewer than
/// `LaCLIPTextSampler.minimumWords` words is replaced by the original, and the replacement is counted per
/// version. No randomness is involved. The counters are thread-safe.
public final class MultiTextSampler: Sendable {
    /// The number of rewrites per sample (M); every sample yields M + 1 texts.
    public let rewriteCount: Int
    /// The name used in errors (e.g. the caption file).
    public let source: String
    private let fallbackCounts: Mutex<[Int]>

    /// Creates a sampler.
    /// - Parameters:
    ///   - rewriteCount: The number of rewrites per sample (M ≥ 0).
    ///   - source: The name used in errors, e.g. the caption file.
    /// - Throws: `DataError` (`.unsupported`) for a negative rewrite count.
    public init(rewriteCount: Int, source: String = "LaCLIP captions") throws {
        guard rewriteCount >= 0 else {
            throw DataError(.unsupported, file: source, field: "rewriteCount", "must be ≥ 0, got \(rewriteCount)")
        }
        self.rewriteCount = rewriteCount
        self.source = source
        fallbackCounts = Mutex(Array(repeating: 0, count: rewriteCount + 1))
    }

    /// All M + 1 texts of one sample: the original, then each rewrite (or the original where the rewrite is
    /// too short).
    /// - Parameters:
    ///   - original: The original caption.
    ///   - rewrites: The M rewrites, in version order.
    ///   - index: The sample index, for error messages.
    /// - Throws: `DataError` (`.mismatch`) when there are not M rewrites.
    public func texts(original: String, rewrites: [String], index: Int = 0) throws -> [String] {
        guard rewrites.count == rewriteCount else {
            throw DataError(.mismatch, file: source, line: index + 1, field: "rewrites",
                            "expected \(rewriteCount) rewrites, found \(rewrites.count)")
        }
        var result = [original]
        result.reserveCapacity(rewriteCount + 1)
        var fellBack: [Int] = []
        for (r, rewrite) in rewrites.enumerated() {
            if LaCLIPTextSampler.isUsable(rewrite) {
                result.append(rewrite)
            } else {
                result.append(original)
                fellBack.append(r + 1)
            }
        }
        if !fellBack.isEmpty {
            fallbackCounts.withLock { counts in
                for version in fellBack { counts[version] += 1 }
            }
        }
        return result
    }

    /// The texts of a batch grouped by version: element `v` holds version `v` of every sample, in sample
    /// order (`v` = 0 is the originals), ready to be tokenized as one text batch per version.
    /// - Parameters:
    ///   - originals: The original captions of the batch.
    ///   - rewrites: For each sample, its M rewrites in version order.
    ///   - firstIndex: The dataset index of the first sample, for error messages.
    /// - Throws: `DataError` (`.mismatch`) when the two lists differ in length or a sample has not M rewrites.
    public func batch(originals: [String], rewrites: [[String]], firstIndex: Int = 0) throws -> [[String]] {
        guard originals.count == rewrites.count else {
            throw DataError(.mismatch, file: source, field: "rewrites",
                            "\(originals.count) originals but \(rewrites.count) rewrite lists")
        }
        var byVersion = Array(repeating: [String](), count: rewriteCount + 1)
        for v in byVersion.indices { byVersion[v].reserveCapacity(originals.count) }
        for (k, original) in originals.enumerated() {
            let texts = try texts(original: original, rewrites: rewrites[k], index: firstIndex + k)
            for (v, text) in texts.enumerated() { byVersion[v].append(text) }
        }
        return byVersion
    }

    /// How often each version fell back to the original (entry 0 is always 0).
    public var fallbacksPerVersion: [Int] { fallbackCounts.withLock { $0 } }

    /// The number of fallbacks counted so far.
    public var fallbackCount: Int { fallbacksPerVersion.reduce(0, +) }

    /// Sets the counts back to 0.
    public func resetStatistics() {
        fallbackCounts.withLock { $0 = Array(repeating: 0, count: rewriteCount + 1) }
    }
}
