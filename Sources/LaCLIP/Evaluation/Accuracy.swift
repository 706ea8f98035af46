import LaTensor

/// Top-k classification accuracy from a score matrix, shared by the zero-shot, linear-probe and few-shot
/// evaluations.
public enum Accuracy {
    /// The number of rows whose true class is among the `k` highest scores, for each `k` in `ks`.
    ///
    /// Ties are broken as `topK` does (the lower class index ranks first), so a row counts as correct for
    /// `k` when fewer than `k` classes rank ahead of its label. Each `k` is clamped to the number of
    /// classes. A NaN score ranks ahead of everything, so a row whose label scores NaN (or that holds a NaN
    /// elsewhere and fewer than `k` finite scores above its label) counts as wrong, never as correct. The work is
    /// one pass over each row (no sorting).
    /// - Parameters:
    ///   - scores: Scores (logits, similarities or probabilities) of shape [rows, classes].
    ///   - labels: The true class of each row, in `0 ..< classes`.
    ///   - ks: The cut-offs (each at least 1).
    /// - Returns: The count of correct rows for each entry of `ks`.
    public static func topKCorrectCounts<T: TensorFloatingPoint>(
        scores: Tensor<T>, labels: ArraySlice<Int>, ks: [Int]
    ) throws(EvaluationError) -> [Int] {
        guard scores.rank == 2 else {
            throw .shapeMismatch("scores must be [rows, classes], got \(scores.shape)")
        }
        let rows = scores.shape[0], classes = scores.shape[1]
        guard labels.count == rows else {
            throw .shapeMismatch("\(rows) score rows but \(labels.count) labels")
        }
        guard ks.allSatisfy({ $0 >= 1 }) else { throw .invalidArgument("top-k cut-offs must be >= 1, got \(ks)") }
        for label in labels where label < 0 || label >= classes {
            throw .labelOutOfRange(label: label, classCount: classes)
        }
        let clamped = ks.map { Swift.min($0, classes) }
        var counts = [Int](repeating: 0, count: ks.count)
        let dense = scores.contiguous()
        withExtendedLifetime(dense.storage) {
            let base = UnsafePointer(dense.storage.pointer + dense.offset)
            var row = 0
            for label in labels {
                let p = base + row * classes
                let target = p[label]
                // A NaN score is never correct (a diverged model must not look perfect); nor is a row whose
                // label is outranked by a NaN elsewhere.
                guard !target.isNaN else {
                    row += 1
                    continue
                }
                // Classes ranked ahead of the label: strictly higher, or equal with a lower index.
                var ahead = 0
                for c in 0..<classes where p[c] > target || (p[c] == target && c < label) || p[c].isNaN { ahead += 1 }
                for (i, k) in clamped.enumerated() where ahead < k { counts[i] += 1 }
                row += 1
            }
        }
        return counts
    }

    /// The fraction of rows whose true class has the highest score (ties go to the lower class index).
    /// - Parameters:
    ///   - scores: Scores of shape [rows, classes].
    ///   - labels: The true class of each row.
    public static func top1<T: TensorFloatingPoint>(scores: Tensor<T>, labels: [Int]) throws(EvaluationError) -> Double {
        guard !labels.isEmpty else { throw .invalidArgument("accuracy of an empty set") }
        let counts = try topKCorrectCounts(scores: scores, labels: labels[...], ks: [1])
        return Double(counts[0]) / Double(labels.count)
    }
}
