import Foundation
import LaTensor
import Testing

@testable import LaCLIP

// Evaluation: zero-shot, retrieval, L-BFGS, logistic regression (against scikit-learn, numbers from
// Resources/make_probe_reference.py), linear probe and few-shot, on hand-built features whose answers are
// known.

private let evaluationResources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Resources")

/// `classes` tight clusters around orthogonal directions (class c is axis c scaled by 3) in `width`
/// dimensions, `perClass` samples each, label order 0, 0, ..., 1, 1, ...
private func separableClusters(
    classes: Int, perClass: Int, width: Int, noise: Float = 0.05, seed: UInt64
) -> (features: Tensor<Float>, labels: [Int]) {
    var generator = RandomGenerator(seed: seed)
    let features = Tensor<Float>.randn([classes * perClass, width], standardDeviation: noise, generator: &generator)
    var labels: [Int] = []
    for c in 0..<classes {
        for i in 0..<perClass {
            features[element: c * perClass + i, c] += 3
            labels.append(c)
        }
    }
    return (features, labels)
}

@Suite struct ZeroShotTests {
    /// Unnormalised embeddings per prompt; class "cat" averages to a known direction only after
    /// normalising each prompt first.
    static let table: [String: [Float]] = [
        "a cat": [3, 4, 0], "the cat.": [0, 0, 2],
        "a dog": [1, 0, 0], "the dog.": [0, -5, 0],
    ]

    @Test func templateAverageIsRenormalisedMeanOfNormalisedEmbeddings() throws {
        var batches: [[String]] = []
        let classifier = try ZeroShotClassifier.build(
            classNames: ["cat", "dog"], templates: ["a {}", "the {}."], batchSize: 3
        ) { prompts in
            batches.append(prompts)
            return Tensor(rows: prompts.map { ZeroShotTests.table[$0]! })
        }
        // Class-major prompt order, batched 3 + 1.
        #expect(batches == [["a cat", "the cat.", "a dog"], ["the dog."]])
        // cat: mean([0.6, 0.8, 0], [0, 0, 1]) = [0.3, 0.4, 0.5], norm sqrt(0.5).
        // dog: mean([1, 0, 0], [0, -1, 0]) = [0.5, -0.5, 0], norm sqrt(0.5).
        let r = 1 / Float(0.5).squareRoot()
        let expected: [Float] = [0.3 * r, 0.4 * r, 0.5 * r, 0.5 * r, -0.5 * r, 0]
        let got = classifier.classEmbeddings.scalars
        #expect(classifier.classEmbeddings.shape == [2, 3])
        for (a, b) in zip(got, expected) { #expect(abs(a - b) < 1e-6) }
        // Logits: 100 × cosine; an image along the cat direction scores 100 for cat.
        let logits = try classifier.logits(imageFeatures: Tensor(rows: [[0.6, 0.8, 1.0]]))
        #expect(abs(logits[element: 0, 0] - 100) < 1e-3)
        #expect(abs(logits[element: 0, 1] - 100 * (0.3 - 0.4) * r / Float(2).squareRoot()) < 1e-3)
    }

    @Test func separableClustersGiveFullAccuracy() throws {
        let (features, labels) = separableClusters(classes: 6, perClass: 10, width: 8, seed: 1)
        let names = (0..<6).map { "class\($0)" }
        let classifier = try ZeroShotClassifier.build(classNames: names, templates: ["a photo of a {}."]) { prompts in
            // A "text encoder" that maps class k's prompt to axis k.
            let rows = prompts.map { prompt -> [Float] in
                let k = names.firstIndex { prompt.contains($0) }!
                return (0..<8).map { $0 == k ? 1 : 0 }
            }
            return Tensor(rows: rows)
        }
        let (top1, top5) = try ZeroShot.evaluate(imageFeatures: features, labels: labels, classifier: classifier, chunkSize: 7)
        #expect(top1 == 1)
        #expect(top5 == 1)
    }

    @Test func topOneAndTopFiveByConstruction() throws {
        let classifier = try ZeroShotClassifier(
            classNames: (0..<7).map { "c\($0)" }, templates: [], classEmbeddings: .eye(7))
        // Scores are each image's coordinates (over its norm), so ranks are set by hand.
        let images = Tensor<Float>(rows: [
            [1, 0.5, 0, 0, 0, 0, 0],  // label 0: rank 1
            [0.9, 0.8, 0.7, 0.1, 0, 0, 0],  // label 2: rank 3
            [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.1],  // label 6: rank 7
            [0.5, 0.5, 0.5, 0.5, 0, 0, 0],  // label 3: tied with 0, 1, 2, which rank first: rank 4
        ])
        let (top1, top5) = try ZeroShot.evaluate(imageFeatures: images, labels: [0, 2, 6, 3], classifier: classifier)
        #expect(top1 == 0.25)
        #expect(top5 == 0.75)
        // With 3 classes top-5 clamps to top-3: always correct.
        let small = try ZeroShotClassifier(classNames: ["a", "b", "c"], templates: [], classEmbeddings: .eye(3))
        let (s1, s5) = try ZeroShot.evaluate(
            imageFeatures: Tensor(rows: [[0, 0, 1], [1, 0, 0]]), labels: [0, 0], classifier: small)
        #expect(s1 == 0.5)
        #expect(s5 == 1)
    }

    @Test func badTemplatesAndEmptyClassListsThrow() throws {
        let encode: ([String]) throws -> Tensor<Float> = { Tensor.ones([$0.count, 4]) }
        #expect(throws: EvaluationError.emptyClassList) {
            try ZeroShotClassifier.build(classNames: [], templates: ["a {}"], encodeTexts: encode)
        }
        #expect(throws: EvaluationError.emptyTemplateList) {
            try ZeroShotClassifier.build(classNames: ["cat"], templates: [], encodeTexts: encode)
        }
        #expect(throws: EvaluationError.templateWithoutPlaceholder(index: 1, template: "a photo")) {
            try ZeroShotClassifier.build(classNames: ["cat"], templates: ["a {}", "a photo"], encodeTexts: encode)
        }
        #expect(throws: EvaluationError.encoderOutputShape(expectedRows: 2, shape: [3, 4])) {
            try ZeroShotClassifier.build(classNames: ["cat", "dog"], templates: ["a {}"]) { _ in Tensor.ones([3, 4]) }
        }
    }

    @Test func templateFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ name: String, _ text: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        #expect(try ZeroShot.loadTemplates(path: write("good.json", #"["a photo of a {}.", "itap of a {}."]"#))
            == ["a photo of a {}.", "itap of a {}."])
        for (name, text) in [("cut.json", #"["a {}","#), ("object.json", #"{"a": "{}"}"#), ("numbers.json", "[1, 2]"), ("empty.json", "[]")] {
            let path = try write(name, text)
            #expect {
                try ZeroShot.loadTemplates(path: path)
            } throws: { error in
                if case .malformedTemplateFile(let p, _) = error as? EvaluationError { return p == path }
                return false
            }
        }
        let noPlaceholder = try write("plain.json", #"["a {}", "a photo"]"#)
        #expect(throws: EvaluationError.templateWithoutPlaceholder(index: 1, template: "a photo")) {
            try ZeroShot.loadTemplates(path: noPlaceholder)
        }
        #expect {
            try ZeroShot.loadTemplates(path: directory.appendingPathComponent("missing.json").path)
        } throws: { error in
            if case .unreadableTemplateFile = error as? EvaluationError { return true }
            return false
        }
        // The 80 OpenAI ImageNet templates bundled with LaCLIP.
        let templates = try ZeroShot.imageNetTemplates()
        #expect(templates.count == 80)
        #expect(templates.contains("a photo of a {}."))
    }
}

@Suite struct RetrievalTests {
    /// Similarities image × text set by hand; texts 0,1 → image 0; 2,3 → image 1; 4,5 → image 2.
    static let similarity: [[Float]] = [
        [0.5, 0.1, 0.4, 0.2, 0.3, 0.0],
        [0.2, 0.3, 0.1, 0.35, 0.0, 0.4],
        [0.1, 0.45, 0.35, 0.1, 0.25, 0.3],
    ]

    /// Images are the first axes; each text is the column of `similarity` plus a slack coordinate that
    /// makes it unit length, so cosine similarities equal the table exactly.
    static func features() -> (images: Tensor<Float>, texts: Tensor<Float>) {
        let images = Tensor<Float>.eye(3, columns: 4)
        let texts = (0..<6).map { t -> [Float] in
            let column = (0..<3).map { similarity[$0][t] }
            return column + [(1 - column.reduce(0) { $0 + $1 * $1 }).squareRoot()]
        }
        // Scale the raw features: retrieval normalises them.
        return (images * 2, Tensor(rows: texts) * 3)
    }

    @Test func recallAndRanksByHand() throws {
        let (images, texts) = RetrievalTests.features()
        for chunk in [1, 2, 512] {
            let result = try Retrieval.evaluate(
                imageFeatures: images, textFeatures: texts, textToImage: [0, 0, 1, 1, 2, 2], ks: [1, 2, 5, 10],
                chunkSize: chunk)
            // Image 0: t0 (0.5) is top → 1. Image 1: best caption t3 (0.35) behind t5 (0.4) → 2.
            // Image 2: best caption t5 (0.3) behind t1 (0.45), t2 (0.35) → 3.
            #expect(result.imageToText.ranks == [1, 2, 3])
            let imageRecall: [Int: Double] = [1: 1.0 / 3, 2: 2.0 / 3, 5: 1, 10: 1]
            #expect(result.imageToText.recall == imageRecall)
            #expect(result.imageToText.meanRank == 2)
            #expect(result.imageToText.medianRank == 2)
            // Text columns: t0 [.5 .2 .1]→1, t1 [.1 .3 .45]→3, t2 [.4 .1 .35]→3, t3 [.2 .35 .1]→1,
            // t4 [.3 0 .25]→2, t5 [0 .4 .3]→2.
            #expect(result.textToImage.ranks == [1, 3, 3, 1, 2, 2])
            let textRecall: [Int: Double] = [1: 2.0 / 6, 2: 4.0 / 6, 5: 1, 10: 1]
            #expect(result.textToImage.recall == textRecall)
            #expect(result.textToImage.meanRank == 2)
            #expect(result.textToImage.medianRank == 2)
        }
    }

    @Test func tiesRankLowerIndexFirstAndMedianOfEvenCount() throws {
        // Two identical images: the caption of image 1 ties with image 0 and ranks second.
        let images = Tensor<Float>(rows: [[1, 0], [1, 0], [0, 1], [0, 1]])
        let texts = Tensor<Float>(rows: [[1, 0], [1, 0], [0, 1], [0, 1]])
        let result = try Retrieval.evaluate(imageFeatures: images, textFeatures: texts, textToImage: [0, 1, 2, 3])
        #expect(result.textToImage.ranks == [1, 2, 1, 2])
        #expect(result.imageToText.ranks == [1, 2, 1, 2])
        #expect(result.textToImage.medianRank == 1.5)
        #expect(result.textToImage.meanRank == 1.5)
        #expect(result.textToImage.recall[1] == 0.5)
    }

    @Test func chunkedMatchesUnchunkedOnRandomFeatures() throws {
        var generator = RandomGenerator(seed: 7)
        let images = Tensor<Float>.randn([40, 16], generator: &generator)
        let texts = Tensor<Float>.randn([200, 16], generator: &generator)
        let textToImage = (0..<200).map { $0 / 5 }
        let whole = try Retrieval.evaluate(imageFeatures: images, textFeatures: texts, textToImage: textToImage, chunkSize: 10_000)
        let chunked = try Retrieval.evaluate(imageFeatures: images, textFeatures: texts, textToImage: textToImage, chunkSize: 7)
        #expect(whole == chunked)
        // Brute-force check of text→image ranks.
        let s = images.l2Normalized().matmul(texts.l2Normalized().transposed())
        for t in 0..<200 {
            let target = s[element: textToImage[t], t]
            let ahead = (0..<40).filter { s[element: $0, t] > target || (s[element: $0, t] == target && $0 < textToImage[t]) }.count
            #expect(whole.textToImage.ranks[t] == ahead + 1)
        }
    }

    @Test func invalidInputsThrow() {
        let images = Tensor<Float>.eye(2), texts = Tensor<Float>.eye(2)
        #expect(throws: EvaluationError.self) {
            try Retrieval.evaluate(imageFeatures: images, textFeatures: texts, textToImage: [0, 0])  // image 1 has no caption
        }
        #expect(throws: EvaluationError.self) {
            try Retrieval.evaluate(imageFeatures: images, textFeatures: texts, textToImage: [0])
        }
    }
}

@Suite struct LBFGSTests {
    @Test func convexQuadratic() {
        // f = ½ xᵀAx − bᵀx with A = tridiag(−1, 4, −1) (SPD); the minimiser solves Ax = b, chosen as x*.
        let n = 12
        let solution = (0..<n).map { Double($0) / 3 - 1.5 }
        func multiply(_ x: [Double]) -> [Double] {
            (0..<n).map { i in 4 * x[i] - (i > 0 ? x[i - 1] : 0) - (i < n - 1 ? x[i + 1] : 0) }
        }
        let b = multiply(solution)
        let result = LBFGS(options: .init(gradientTolerance: 1e-10)).minimize(from: [Double](repeating: 0, count: n)) { x, g in
            let ax = multiply(x)
            var f = 0.0
            for i in 0..<n {
                g[i] = ax[i] - b[i]
                f += 0.5 * x[i] * ax[i] - b[i] * x[i]
            }
            return f
        }
        #expect(result.converged)
        #expect(result.iterations < 40)
        for (x, s) in zip(result.x, solution) { #expect(abs(x - s) < 1e-9) }
    }

    @Test func rosenbrock() {
        // f = Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at (1, ..., 1).
        func rosenbrock(_ x: [Double], _ g: inout [Double]) -> Double {
            var f = 0.0
            for i in 0..<x.count { g[i] = 0 }
            for i in 0..<(x.count - 1) {
                let a = x[i + 1] - x[i] * x[i], c = 1 - x[i]
                f += 100 * a * a + c * c
                g[i] += -400 * a * x[i] - 2 * c
                g[i + 1] += 200 * a
            }
            return f
        }
        let classic = LBFGS(options: .init(maxIterations: 500, gradientTolerance: 1e-9)).minimize(from: [-1.2, 1], objective: rosenbrock)
        #expect(classic.converged)
        #expect(abs(classic.x[0] - 1) < 1e-7 && abs(classic.x[1] - 1) < 1e-7)
        #expect(classic.value < 1e-14)
        let start = (0..<10).map { $0 % 2 == 0 ? -1.2 : 1.0 }
        let chain = LBFGS(options: .init(maxIterations: 1000, gradientTolerance: 1e-8)).minimize(from: start, objective: rosenbrock)
        #expect(chain.converged)
        for x in chain.x { #expect(abs(x - 1) < 1e-6) }
    }

    @Test func lineSearchSatisfiesStrongWolfe() throws {
        // One line search on Rosenbrock from (−1.2, 1) along steepest descent, with a deliberately long first step.
        let solver = LBFGS()
        func f(_ x: [Double], _ g: inout [Double]) -> Double {
            let a = x[1] - x[0] * x[0], c = 1 - x[0]
            g[0] = -400 * a * x[0] - 2 * c
            g[1] = 200 * a
            return 100 * a * a + c * c
        }
        let x0 = [-1.2, 1.0]
        var g0 = [0.0, 0.0]
        let f0 = f(x0, &g0)
        let d = g0.map { -$0 }
        let slope = LBFGS.dot(g0, d)
        for initial in [1e-4, 1e-2, 1.0] {
            var evaluations = 0
            let step = try #require(
                solver.lineSearch(x: x0, value: f0, slope: slope, direction: d, initialStep: initial, evaluations: &evaluations, objective: f))
            let alpha = (step.x[0] - x0[0]) / d[0]
            #expect(step.value <= f0 + 1e-4 * alpha * slope)
            #expect(abs(LBFGS.dot(step.gradient, d)) <= -0.9 * slope)
        }
    }
}

@Suite struct LogisticRegressionTests {
    struct Reference: Decodable {
        struct Fit: Decodable {
            let C: Double
            let coef: [[Double]]
            let intercept: [Double]
            let probabilities: [[Double]]
            let objective: Double
        }
        let features: [[Double]]
        let labels: [Int]
        let classes: Int
        let fits: [Fit]
    }

    @Test func matchesScikitLearn() throws {
        let data = try Data(contentsOf: evaluationResources.appendingPathComponent("probe_reference.json"))
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        let features = Tensor<Double>(rows: reference.features)
        let n = Double(reference.labels.count)
        for fit in reference.fits {
            let model = try LogisticRegression.fit(
                features: features, labels: reference.labels, classCount: reference.classes,
                inverseRegularization: fit.C, options: .init(maxIterations: 10_000, gradientTolerance: 1e-10))
            #expect(model.termination == .gradientTolerance)
            let weights = model.weights.scalars, expected = fit.coef.flatMap { $0 }
            for (a, b) in zip(weights, expected) { #expect(abs(a - b) < 1e-4) }
            let bias = model.bias.scalars
            let mean = bias.reduce(0, +) / Double(bias.count)
            for (a, b) in zip(bias, fit.intercept) { #expect(abs((a - mean) - b) < 1e-4) }
            let probabilities = try model.probabilities(features: features).scalars
            for (a, b) in zip(probabilities, fit.probabilities.flatMap { $0 }) { #expect(abs(a - b) < 1e-5) }
            // Our objective is sklearn's divided by n.
            let objective = SoftmaxObjective(
                features: features, labels: reference.labels, classCount: reference.classes, inverseRegularization: fit.C)
            var gradient = [Double](repeating: 0, count: weights.count + bias.count)
            let value = objective.evaluate(weights + bias, gradient: &gradient) * n
            #expect(abs(value - fit.objective) < 1e-6 * fit.objective)
        }
    }

    @Test func gradientMatchesFiniteDifferences() {
        var generator = RandomGenerator(seed: 3)
        let features = Tensor<Double>.randn([9, 4], generator: &generator)
        let labels = [0, 1, 2, 0, 1, 2, 2, 1, 0]
        let objective = SoftmaxObjective(features: features, labels: labels, classCount: 3, inverseRegularization: 0.7)
        let x = Tensor<Double>.randn([15], generator: &generator).scalars
        var gradient = [Double](repeating: 0, count: 15), scratch = gradient
        _ = objective.evaluate(x, gradient: &gradient)
        for i in 0..<15 {
            var plus = x, minus = x
            plus[i] += 1e-6
            minus[i] -= 1e-6
            let numeric = (objective.evaluate(plus, gradient: &scratch) - objective.evaluate(minus, gradient: &scratch)) / 2e-6
            #expect(abs(numeric - gradient[i]) < 1e-7)
        }
    }
}

@Suite struct LinearProbeTests {
    @Test func separableClustersGiveFullTestAccuracy() throws {
        let train = separableClusters(classes: 4, perClass: 30, width: 12, noise: 0.3, seed: 11)
        let test = separableClusters(classes: 4, perClass: 15, width: 12, noise: 0.3, seed: 12)
        let result = try LinearProbe.evaluate(
            trainFeatures: train.features, trainLabels: train.labels, testFeatures: test.features,
            testLabels: test.labels)
        #expect(result.testTop1 == 1)
        #expect(result.validationAccuracy == 1)
        // 13 coarse values then 2 refinement rounds of 2 each.
        #expect(result.sweep.count == 17)
        #expect(result.model.classCount == 4)
        #expect(result.sweep.contains { $0.inverseRegularization == result.inverseRegularization })
    }

    @Test func regularisationIsChosenOnHeldOutData() throws {
        // Noisy overlapping classes: very weak and very strong penalties both lose to a middle value.
        var generator = RandomGenerator(seed: 5)
        let width = 20, classes = 3
        let centres = Tensor<Float>.randn([classes, width], generator: &generator)
        func draw(_ count: Int) -> (Tensor<Float>, [Int]) {
            let labels = (0..<count).map { $0 % classes }
            let noise = Tensor<Float>.randn([count, width], standardDeviation: 1.5, generator: &generator)
            return (centres.indexSelect(Tensor(labels), axis: 0) + noise, labels)
        }
        let (trainX, trainY) = draw(90)
        let (testX, testY) = draw(300)
        let configuration = LinearProbeConfiguration(coarseExponents: [-4, -2, 0, 2, 4], refinementRounds: 1, seed: 9)
        let result = try LinearProbe.evaluate(
            trainFeatures: trainX, trainLabels: trainY, testFeatures: testX, testLabels: testY,
            configuration: configuration)
        let best = result.sweep.map(\.validationAccuracy).max()!
        #expect(result.validationAccuracy == best)
        #expect(result.sweep.count == 7)
        #expect(result.testTop1 > 1.0 / 3 + 0.15)
        // Deterministic from the seed.
        let again = try LinearProbe.evaluate(
            trainFeatures: trainX, trainLabels: trainY, testFeatures: testX, testLabels: testY,
            configuration: configuration)
        #expect(again.sweep == result.sweep)
        #expect(again.testTop1 == result.testTop1)
    }
}

@Suite struct FewShotTests {
    @Test func separableClustersGiveFullAccuracyWithTinyInterval() throws {
        let (features, labels) = separableClusters(classes: 8, perClass: 25, width: 10, seed: 21)
        let result = try FewShot.evaluate(features: features, labels: labels, configuration: .init(episodes: 200, seed: 1))
        #expect(result.meanAccuracy == 1)
        #expect(result.confidenceInterval95 == 0)
        #expect(result.episodeAccuracies.count == 200)
        let logistic = try FewShot.evaluate(
            features: features, labels: labels,
            configuration: .init(episodes: 30, seed: 1, classifier: .logisticRegression(inverseRegularization: 10)))
        #expect(logistic.meanAccuracy == 1)
        #expect(logistic.confidenceInterval95 == 0)
    }

    @Test func randomFeaturesGiveChanceAccuracy() throws {
        var generator = RandomGenerator(seed: 33)
        let features = Tensor<Float>.randn([10 * 40, 32], generator: &generator)
        let labels = (0..<400).map { $0 % 10 }
        let configuration = FewShotConfiguration(episodes: 300, seed: 4)
        let result = try FewShot.evaluate(features: features, labels: labels, configuration: configuration)
        #expect(abs(result.meanAccuracy - 0.2) < 0.04)
        #expect(result.confidenceInterval95 > 0.002 && result.confidenceInterval95 < 0.02)
        // The interval is 1.96 · std / √episodes.
        let mean = result.episodeAccuracies.reduce(0, +) / 300
        let std = (result.episodeAccuracies.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 300).squareRoot()
        #expect(abs(result.confidenceInterval95 - 1.96 * std / 300.0.squareRoot()) < 1e-12)
        // Seeded: the same seed repeats the episodes, another seed does not.
        let same = try FewShot.evaluate(features: features, labels: labels, configuration: configuration)
        #expect(same == result)
        var other = configuration
        other.seed = 5
        #expect(try FewShot.evaluate(features: features, labels: labels, configuration: other).episodeAccuracies
            != result.episodeAccuracies)
        // Queries per class are configurable: 5 ways × 3 queries = 15 queries, so accuracies are k/15.
        var fewQueries = configuration
        fewQueries.queriesPerClass = 3
        fewQueries.episodes = 20
        let coarse = try FewShot.evaluate(features: features, labels: labels, configuration: fewQueries)
        for accuracy in coarse.episodeAccuracies { #expect(abs(accuracy * 15 - (accuracy * 15).rounded()) < 1e-9) }
    }

    @Test func tooFewClassesOrSamplesThrow() {
        let (features, labels) = separableClusters(classes: 4, perClass: 25, width: 6, seed: 2)
        #expect {
            try FewShot.evaluate(features: features, labels: labels)  // 5-way needs 5 classes
        } throws: { error in
            if case .insufficientData = error as? EvaluationError { return true }
            return false
        }
        #expect(throws: EvaluationError.self) {
            try FewShot.evaluate(features: features, labels: labels, configuration: .init(ways: 3, shots: 20, queriesPerClass: 15))
        }
    }
}

@Suite struct NonFiniteScoreTests {
    /// A diverged model's NaN scores never count as correct (they counted as 100% top-1 and top-5 before).
    @Test func nanScoresAreNeverCorrect() throws {
        let nan = Tensor<Float>(Array(repeating: Float.nan, count: 12), shape: [4, 3])
        #expect(try Accuracy.topKCorrectCounts(scores: nan, labels: [0, 1, 2, 0], ks: [1, 5]) == [0, 0])
        // One NaN elsewhere in the row outranks the label; finite rows are unaffected.
        let mixed = Tensor<Float>([0.9, Float.nan, 0.1, 0.9, 0.2, 0.1], shape: [2, 3])
        #expect(try Accuracy.topKCorrectCounts(scores: mixed, labels: [0, 0], ks: [1, 2, 3]) == [1, 2, 2])
    }

    @Test func zeroShotOfADivergedModelIsAnError() throws {
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(), seed: 1)
        model.visual.proj.value.fill(.nan)
        let images = try LabeledImageSet(source: SyntheticSource(count: 6), labels: [0, 1, 2, 3, 4, 0])
        let task = try ZeroShotTask(images: images, classNames: ["cat", "dog", "boat", "tree", "car"], templates: ["a {}."],
                                    tokenizer: try BPETokenizer.loadDefault())
        #expect(throws: EvaluationError.self) { try task.scores(model: model) }
    }
}
