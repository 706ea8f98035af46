import Foundation
import LaTensor

/// Settings of the linear-probe protocol.
public struct LinearProbeConfiguration: Sendable, Equatable {
    /// The fraction of each class's training samples held out to choose the regularisation strength.
    public var validationFraction: Double
    /// The coarse sweep: log10 of the inverse regularisation strengths c tried first.
    public var coarseExponents: [Double]
    /// Refinement rounds after the sweep: each tries the best exponent ± half the previous spacing.
    public var refinementRounds: Int
    /// Whether to L2-normalise the features before fitting (CLIP features are compared by cosine).
    public var normalizeFeatures: Bool
    /// The seed of the train/validation split.
    public var seed: UInt64
    /// L-BFGS settings of every fit.
    public var solver: LBFGS.Options

    /// Creates a configuration.
    /// - Parameters:
    ///   - validationFraction: Held-out fraction per class, in (0, 1).
    ///   - coarseExponents: log10(c) values of the coarse sweep (default -6 ... 6 by 1, the CLIP paper's range).
    ///   - refinementRounds: Local refinement rounds around the best coarse value.
    ///   - normalizeFeatures: L2-normalise the features first.
    ///   - seed: The split seed.
    ///   - solver: L-BFGS settings.
    public init(
        validationFraction: Double = 0.2,
        coarseExponents: [Double] = Array(stride(from: -6.0, through: 6.0, by: 1.0)),
        refinementRounds: Int = 2, normalizeFeatures: Bool = true, seed: UInt64 = 0,
        solver: LBFGS.Options = LBFGS.Options(maxIterations: 1000, gradientTolerance: 1e-6)
    ) {
        self.validationFraction = validationFraction
        self.coarseExponents = coarseExponents
        self.refinementRounds = refinementRounds
        self.normalizeFeatures = normalizeFeatures
        self.seed = seed
        self.solver = solver
    }
}

/// The outcome of a linear probe.
public struct LinearProbeResult: Sendable {
    /// One point of the regularisation sweep.
    public struct SweepPoint: Sendable, Equatable {
        /// The inverse regularisation strength c.
        public let inverseRegularization: Double
        /// Top-1 accuracy on the held-out split.
        public let validationAccuracy: Double
        /// Mean log-loss on the held-out split (the tie-breaker between equal accuracies).
        public let validationLoss: Double
        /// The L-BFGS iterations of this fit.
        public let iterations: Int
    }

    /// Top-1 accuracy on the test features of the model refitted on all training data.
    public let testTop1: Double
    /// The chosen inverse regularisation strength c.
    public let inverseRegularization: Double
    /// The held-out accuracy of the chosen c.
    public let validationAccuracy: Double
    /// Every c tried, in the order tried.
    public let sweep: [SweepPoint]
    /// The final model (fitted on all training features).
    public let model: LogisticRegression
}

/// The linear-probe evaluation: multinomial logistic regression on frozen image features, with the L2
/// strength chosen on a held-out split as in the CLIP paper.
public enum LinearProbe {
    /// Runs the probe.
    ///
    /// Steps: (1) optionally L2-normalise all features; (2) hold out `validationFraction` of each class's
    /// training samples (seeded); (3) fit on the rest for every c = 10^e in the coarse sweep (in increasing
    /// order, each warm-started from the previous) and score the held-out split; (4) refine around the best
    /// exponent, halving the spacing each round; (5) refit on all training features with the best c
    /// (highest held-out accuracy, then lowest held-out log-loss); (6) report test top-1.
    /// - Parameters:
    ///   - trainFeatures: [train, width] frozen features.
    ///   - trainLabels: Training classes.
    ///   - testFeatures: [test, width] frozen features.
    ///   - testLabels: Test classes.
    ///   - classCount: The number of classes (default: 1 + the largest label seen).
    ///   - configuration: The protocol settings.
    /// - Returns: Test accuracy, the chosen c and the sweep.
    public static func evaluate(
        trainFeatures: Tensor<Float>, trainLabels: [Int], testFeatures: Tensor<Float>, testLabels: [Int],
        classCount: Int? = nil, configuration: LinearProbeConfiguration = LinearProbeConfiguration()
    ) throws(EvaluationError) -> LinearProbeResult {
        guard trainFeatures.rank == 2, testFeatures.rank == 2, trainFeatures.shape[1] == testFeatures.shape[1] else {
            throw .shapeMismatch("train features \(trainFeatures.shape) and test features \(testFeatures.shape)")
        }
        guard trainFeatures.shape[0] == trainLabels.count, testFeatures.shape[0] == testLabels.count else {
            throw .shapeMismatch("features and labels counts differ (train \(trainFeatures.shape[0]) vs \(trainLabels.count), test \(testFeatures.shape[0]) vs \(testLabels.count))")
        }
        guard !testLabels.isEmpty else { throw .invalidArgument("empty test set") }
        guard configuration.validationFraction > 0, configuration.validationFraction < 1 else {
            throw .invalidArgument("validationFraction must be in (0, 1), got \(configuration.validationFraction)")
        }
        guard !configuration.coarseExponents.isEmpty else { throw .invalidArgument("the coarse sweep is empty") }
        let classes = classCount ?? ((trainLabels + testLabels).max() ?? 0) + 1
        for label in trainLabels + testLabels where label < 0 || label >= classes {
            throw .labelOutOfRange(label: label, classCount: classes)
        }
        let train = configuration.normalizeFeatures ? trainFeatures.l2Normalized(axis: -1) : trainFeatures
        let test = configuration.normalizeFeatures ? testFeatures.l2Normalized(axis: -1) : testFeatures

        // Stratified, seeded hold-out split.
        var generator = RandomGenerator(seed: configuration.seed)
        var fitIndices: [Int] = [], heldOutIndices: [Int] = []
        var byClass = [[Int]](repeating: [], count: classes)
        for (i, label) in trainLabels.enumerated() { byClass[label].append(i) }
        for var members in byClass where !members.isEmpty {
            members.shuffle(using: &generator)
            var held = Int((Double(members.count) * configuration.validationFraction).rounded())
            held = Swift.min(Swift.max(held, members.count >= 2 ? 1 : 0), members.count - 1)
            heldOutIndices += members[0..<held]
            fitIndices += members[held...]
        }
        fitIndices.sort()
        heldOutIndices.sort()
        guard !heldOutIndices.isEmpty, !fitIndices.isEmpty else {
            throw .insufficientData("the training set is too small to hold out a validation split")
        }
        let fitFeatures = train.indexSelect(Tensor(fitIndices), axis: 0)
        let fitLabels = fitIndices.map { trainLabels[$0] }
        let heldFeatures = train.indexSelect(Tensor(heldOutIndices), axis: 0)
        let heldLabels = heldOutIndices.map { trainLabels[$0] }

        var sweep: [LinearProbeResult.SweepPoint] = []
        var models: [Double: LogisticRegression] = [:]  // by exponent
        var scores: [Double: (accuracy: Double, loss: Double)] = [:]
        func score(_ exponents: [Double]) throws(EvaluationError) {
            var previous: LogisticRegression? = nil
            for exponent in exponents.sorted() where scores[exponent] == nil {
                let c = Foundation.pow(10, exponent)
                let nearest = models.min { abs($0.key - exponent) < abs($1.key - exponent) }?.value
                let model = try LogisticRegression.fit(
                    features: fitFeatures, labels: fitLabels, classCount: classes, inverseRegularization: c,
                    options: configuration.solver, warmStart: previous ?? nearest)
                let accuracy = try Accuracy.top1(scores: try model.logits(features: heldFeatures), labels: heldLabels)
                let loss = try model.logLoss(features: heldFeatures, labels: heldLabels)
                models[exponent] = model
                scores[exponent] = (accuracy, loss)
                sweep.append(
                    .init(
                        inverseRegularization: c, validationAccuracy: accuracy, validationLoss: loss,
                        iterations: model.iterations))
                previous = model
            }
        }
        func best() -> Double {
            scores.min { lhs, rhs in
                if lhs.value.accuracy != rhs.value.accuracy { return lhs.value.accuracy > rhs.value.accuracy }
                if lhs.value.loss != rhs.value.loss { return lhs.value.loss < rhs.value.loss }
                return lhs.key < rhs.key
            }!.key
        }

        let coarse = configuration.coarseExponents.sorted()
        try score(coarse)
        var spacing = coarse.count > 1 ? zip(coarse.dropFirst(), coarse).map { $0 - $1 }.min()! : 1
        for _ in 0..<configuration.refinementRounds {
            spacing /= 2
            let center = best()
            try score([center - spacing, center + spacing])
        }
        let chosen = best()
        let c = Foundation.pow(10, chosen)
        let model = try LogisticRegression.fit(
            features: train, labels: trainLabels, classCount: classes, inverseRegularization: c,
            options: configuration.solver, warmStart: models[chosen])
        let testTop1 = try Accuracy.top1(scores: try model.logits(features: test), labels: testLabels)
        return LinearProbeResult(
            testTop1: testTop1, inverseRegularization: c, validationAccuracy: scores[chosen]!.accuracy,
            sweep: sweep, model: model)
    }
}
