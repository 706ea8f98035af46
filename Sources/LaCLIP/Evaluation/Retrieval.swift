import LaTensor

/// Recall@k and rank statistics of one retrieval direction.
public struct RetrievalMetrics: Sendable, Equatable {
    /// Recall@k for each requested k: the fraction of queries whose first correct item has rank <= k.
    public let recall: [Int: Double]
    /// The mean over queries of the 1-based rank of the first correct item.
    public let meanRank: Double
    /// The median over queries of that rank (the mean of the two middle ranks for an even count).
    public let medianRank: Double
    /// The 1-based rank of the first correct item for every query, in query order.
    public let ranks: [Int]

    /// Computes the metrics from per-query ranks.
    /// - Parameters:
    ///   - ranks: The 1-based rank of the first correct item for each query (at least one query).
    ///   - ks: The recall cut-offs.
    public init(ranks: [Int], ks: [Int]) {
        checkPrecondition(!ranks.isEmpty, "RetrievalMetrics: no queries")
        self.ranks = ranks
        var recall: [Int: Double] = [:]
        for k in ks { recall[k] = Double(ranks.lazy.filter { $0 <= k }.count) / Double(ranks.count) }
        self.recall = recall
        meanRank = Double(ranks.reduce(0, +)) / Double(ranks.count)
        let sorted = ranks.sorted()
        let middle = sorted.count / 2
        medianRank = sorted.count % 2 == 1
            ? Double(sorted[middle]) : Double(sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// Image→text and text→image retrieval metrics.
public struct RetrievalResult: Sendable, Equatable {
    /// Image queries against the caption gallery: correct if any caption of the image is retrieved.
    public let imageToText: RetrievalMetrics
    /// Caption queries against the image gallery: correct if the caption's image is retrieved.
    public let textToImage: RetrievalMetrics
}

/// COCO/Flickr-style cross-modal retrieval with several captions per image.
public enum Retrieval {
    /// Evaluates retrieval in both directions from image and text features.
    ///
    /// Both feature sets are L2-normalised, and similarities are cosine similarities computed a chunk of
    /// queries at a time (`chunkSize` rows × the whole gallery), so 5k images × 25k captions never needs the
    /// full matrix. For each query the rank of the first correct item is 1 + the number of gallery items
    /// that score higher than the best-scoring correct item, or equally with a lower index (the order
    /// `topK` uses). Recall@k is the fraction of queries with rank <= k.
    /// - Parameters:
    ///   - imageFeatures: [images, width] image embeddings.
    ///   - textFeatures: [texts, width] caption embeddings.
    ///   - textToImage: For each caption, the index of its image (every image needs at least one caption).
    ///   - ks: The recall cut-offs (default 1, 5, 10).
    ///   - chunkSize: Queries per similarity block.
    /// - Returns: The metrics of both directions.
    public static func evaluate(
        imageFeatures: Tensor<Float>, textFeatures: Tensor<Float>, textToImage: [Int],
        ks: [Int] = [1, 5, 10], chunkSize: Int = 512
    ) throws(EvaluationError) -> RetrievalResult {
        guard imageFeatures.rank == 2, textFeatures.rank == 2, imageFeatures.shape[1] == textFeatures.shape[1] else {
            throw .shapeMismatch(
                "image features \(imageFeatures.shape) and text features \(textFeatures.shape) must be [n, width] with one width")
        }
        let imageCount = imageFeatures.shape[0], textCount = textFeatures.shape[0]
        guard textToImage.count == textCount else {
            throw .shapeMismatch("\(textCount) text features but \(textToImage.count) caption-to-image indices")
        }
        guard imageCount > 0, textCount > 0 else { throw .invalidArgument("retrieval needs at least one image and one text") }
        guard chunkSize >= 1 else { throw .invalidArgument("chunkSize must be >= 1, got \(chunkSize)") }
        guard ks.allSatisfy({ $0 >= 1 }) else { throw .invalidArgument("recall cut-offs must be >= 1, got \(ks)") }
        var captionsOfImage = [[Int]](repeating: [], count: imageCount)
        for (text, image) in textToImage.enumerated() {
            guard image >= 0 && image < imageCount else {
                throw .invalidArgument("caption \(text) points at image \(image), outside 0..<\(imageCount)")
            }
            captionsOfImage[image].append(text)
        }
        if let lonely = captionsOfImage.firstIndex(where: { $0.isEmpty }) {
            throw .invalidArgument("image \(lonely) has no caption")
        }
        let images = imageFeatures.l2Normalized(axis: -1)
        let texts = textFeatures.l2Normalized(axis: -1)
        let imageRanks = firstCorrectRanks(queries: images, gallery: texts, chunkSize: chunkSize) { query in
            captionsOfImage[query]
        }
        let textRanks = firstCorrectRanks(queries: texts, gallery: images, chunkSize: chunkSize) { query in
            [textToImage[query]]
        }
        return RetrievalResult(
            imageToText: RetrievalMetrics(ranks: imageRanks, ks: ks),
            textToImage: RetrievalMetrics(ranks: textRanks, ks: ks))
    }

    /// The 1-based rank of the first correct gallery item for every query, from similarity blocks of
    /// `chunkSize` queries.
    /// - Parameters:
    ///   - queries: [queries, width] normalised query features.
    ///   - gallery: [items, width] normalised gallery features.
    ///   - chunkSize: Queries per block.
    ///   - correctItems: The correct gallery indices of a query (non-empty).
    static func firstCorrectRanks(
        queries: Tensor<Float>, gallery: Tensor<Float>, chunkSize: Int, correctItems: (Int) -> [Int]
    ) -> [Int] {
        let queryCount = queries.shape[0], itemCount = gallery.shape[0]
        let galleryT = gallery.transposed()
        var ranks = [Int](repeating: 0, count: queryCount)
        var start = 0
        while start < queryCount {
            let end = Swift.min(start + chunkSize, queryCount)
            let block = queries.slice(axis: 0, start..<end).matmul(galleryT)  // [end - start, items], contiguous
            withExtendedLifetime(block.storage) {
                let base = UnsafePointer(block.storage.pointer + block.offset)
                for row in 0..<(end - start) {
                    let s = base + row * itemCount
                    // The best correct item (lowest index among equal scores).
                    var best = -1
                    for item in correctItems(start + row) where best < 0 || s[item] > s[best] || (s[item] == s[best] && item < best) {
                        best = item
                    }
                    let target = s[best]
                    var ahead = 0
                    for j in 0..<itemCount where s[j] > target || (s[j] == target && j < best) { ahead += 1 }
                    ranks[start + row] = ahead + 1
                }
            }
            start = end
        }
        return ranks
    }
}
