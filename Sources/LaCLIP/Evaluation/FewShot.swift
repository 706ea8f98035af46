import Foundation
import LaTensor

/// The classifier fitted in each few-shot episode.
public enum FewShotClassifier: Sendable, Equatable {
    /// Nearest class mean: each class's prototype is the mean of its normalised support features, and a
    /// query goes to the prototype with the highest cosine similarity.
    case prototype
    /// Multinomial logistic regression on the normalised support features.
    /// - Parameter inverseRegularization: The inverse L2 strength c (sklearn's `C`).
    case logisticRegression(inverseRegularization: Double)
}

/// Settings of the few-shot protocol.
public struct FewShotConfiguration: Sendable, Equatable {
    /// Classes per episode (n-way).
    public var ways: Int
    /// Support samples per class (k-shot).
    public var shots: Int
    /// Query samples per class.
    public var queriesPerClass: Int
    /// The number of episodes.
    public var episodes: Int
    /// The seed of the episode sampler.
    public var seed: UInt64
    /// The per-episode classifier.
    public var classifier: FewShotClassifier

    /// Creates a configuration.
    /// - Parameters:
    ///   - ways: Classes per episode.
    ///   - shots: Support samples per class.
    ///   - queriesPerClass: Query samples per class.
    ///   - episodes: The number of episodes.
    ///   - seed: The sampler seed.
    ///   - classifier: The per-episode classifier.
    public init(
        ways: Int = 5, shots: Int = 5, queriesPerClass: Int = 15, episodes: Int = 300, seed: UInt64 = 0,
        classifier: FewShotClassifier = .prototype
    ) {
        self.ways = ways
        self.shots = shots
        self.queriesPerClass = queriesPerClass
        self.episodes = episodes
        self.seed = seed
        self.classifier = classifier
    }
}

/// The outcome of a few-shot evaluation.
public struct FewShotResult: Sendable, Equatable {
    /// The mean query accuracy over episodes.
    public let meanAccuracy: Double
    /// The half-width of the 95% confidence interval: 1.96 · std / √episodes (population std over
    /// episodes).
    public let confidenceInterval95: Double
    /// The query accuracy of every episode, in order.
    public let episodeAccuracies: [Double]
}

/// n-way k-shot episodic evaluation on frozen features.
public enum FewShot {
    /// Runs `configuration.episodes` seeded episodes.
    ///
    /// Each episode draws `ways` distinct classes among those with at least `shots + queriesPerClass`
    /// samples, then `shots + queriesPerClass` distinct samples of each (the first `shots` form the support
    /// set, the rest the queries), fits the classifier on the support set and scores the queries. Features
    /// are L2-normalised once up front. Identical seeds give identical episodes.
    /// - Parameters:
    ///   - features: [samples, width] frozen features.
    ///   - labels: The class of each sample (any non-negative integers).
    ///   - configuration: The protocol settings.
    /// - Returns: Mean accuracy, its 95% confidence half-width and the per-episode accuracies.
    public static func evaluate(
        features: Tensor<Float>, labels: [Int], configuration: FewShotConfiguration = FewShotConfiguration()
    ) throws(EvaluationError) -> FewShotResult {
        let ways = configuration.ways, shots = configuration.shots, queries = configuration.queriesPerClass
        guard features.rank == 2, features.shape[0] == labels.count else {
            throw .shapeMismatch("features of shape \(features.shape) for \(labels.count) labels")
        }
        guard ways >= 2, shots >= 1, queries >= 1, configuration.episodes >= 1 else {
            throw .invalidArgument(
                "need ways >= 2, shots >= 1, queriesPerClass >= 1, episodes >= 1 (got \(ways), \(shots), \(queries), \(configuration.episodes))")
        }
        if case .logisticRegression(let c) = configuration.classifier, !(c > 0 && c.isFinite) {
            throw .invalidArgument("inverse regularisation must be positive and finite, got \(c)")
        }
        if let negative = labels.first(where: { $0 < 0 }) {
            throw .labelOutOfRange(label: negative, classCount: (labels.max() ?? 0) + 1)
        }
        var byClass: [Int: [Int]] = [:]
        for (i, label) in labels.enumerated() { byClass[label, default: []].append(i) }
        let perClass = shots + queries
        let eligible = byClass.keys.filter { byClass[$0]!.count >= perClass }.sorted()
        guard eligible.count >= ways else {
            throw .insufficientData(
                "\(ways)-way episodes need \(ways) classes with >= \(perClass) samples; only \(eligible.count) have that many")
        }
        let width = features.shape[1]
        let normalized = features.l2Normalized(axis: -1).contiguous()

        var generator = RandomGenerator(seed: configuration.seed)
        var accuracies: [Double] = []
        accuracies.reserveCapacity(configuration.episodes)
        let support = Tensor<Float>(uninitializedShape: [ways * shots, width])
        let query = Tensor<Float>(uninitializedShape: [ways * queries, width])
        var supportLabels = [Int](repeating: 0, count: ways * shots)
        var queryLabels = [Int](repeating: 0, count: ways * queries)
        for _ in 0..<configuration.episodes {
            let classes = sample(eligible.count, choose: ways, using: &generator).map { eligible[$0] }
            withExtendedLifetime((normalized.storage, support.storage, query.storage)) {
                let source = UnsafePointer(normalized.storage.pointer + normalized.offset)
                let ps = support.storage.pointer, pq = query.storage.pointer
                for (way, label) in classes.enumerated() {
                    let members = byClass[label]!
                    let picked = sample(members.count, choose: perClass, using: &generator).map { members[$0] }
                    for (j, sampleIndex) in picked.enumerated() {
                        let row = source + sampleIndex * width
                        if j < shots {
                            (ps + (way * shots + j) * width).update(from: row, count: width)
                            supportLabels[way * shots + j] = way
                        } else {
                            let q = way * queries + j - shots
                            (pq + q * width).update(from: row, count: width)
                            queryLabels[q] = way
                        }
                    }
                }
            }
            let scores: Tensor<Float>
            switch configuration.classifier {
            case .prototype:
                scores = query.matmul(prototypes(support: support, ways: ways, shots: shots).transposed())
            case .logisticRegression(let c):
                let model = try LogisticRegression.fit(
                    features: support, labels: supportLabels, classCount: ways, inverseRegularization: c,
                    options: LBFGS.Options(maxIterations: 200, gradientTolerance: 1e-5))
                scores = try model.logits(features: query).map { Float($0) }
            }
            accuracies.append(try Accuracy.top1(scores: scores, labels: queryLabels))
        }
        let count = Double(accuracies.count)
        let mean = accuracies.reduce(0, +) / count
        let variance = accuracies.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count
        return FewShotResult(
            meanAccuracy: mean, confidenceInterval95: 1.96 * variance.squareRoot() / count.squareRoot(),
            episodeAccuracies: accuracies)
    }

    /// The L2-normalised mean of each class's support rows (rows `way * shots ..< (way + 1) * shots`).
    /// - Parameters:
    ///   - support: [ways * shots, width] normalised support features, grouped by class.
    ///   - ways: The number of classes.
    ///   - shots: Rows per class.
    static func prototypes(support: Tensor<Float>, ways: Int, shots: Int) -> Tensor<Float> {
        support.reshaped([ways, shots, support.shape[1]]).mean(axis: 1).l2Normalized(axis: -1)
    }

    /// `count` distinct indices drawn uniformly from `0 ..< population` (a partial Fisher-Yates shuffle).
    /// - Parameters:
    ///   - population: The range size.
    ///   - count: How many to draw (at most `population`).
    ///   - generator: The random generator (advanced).
    static func sample(_ population: Int, choose count: Int, using generator: inout RandomGenerator) -> [Int] {
        var pool = Array(0..<population)
        for i in 0..<count {
            let j = i + Int(generator.next() % UInt64(population - i))
            pool.swapAt(i, j)
        }
        return Array(pool[0..<count])
    }
}
