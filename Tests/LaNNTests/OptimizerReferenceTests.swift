import Foundation
import LaTensor
import Testing

@testable import LaNN

// Optimizers against torch.optim: the same five gradients replayed through SGD, Adam, AdamW (one and two
// parameter groups) and clipGradientNorm + AdamW, comparing the parameters after every step. The numbers
// come from Resources/make_optimizer_reference.py (float64, single-tensor torch implementations).

private let optimizerReferenceURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Resources/optimizer_reference.json")

/// The decoded optimizer_reference.json.
private struct OptimizerReference: Decodable {
    struct Case: Decodable {
        let description: String
        /// Per step, the flat parameter values by name (`w`, `b`).
        let steps: [[String: [Double]]]
    }
    let shapes: [String: [Int]]
    let initial: [String: [Double]]
    let gradients: [[String: [Double]]]
    let cases: [String: Case]

    static func load() throws -> OptimizerReference {
        try JSONDecoder().decode(OptimizerReference.self, from: Data(contentsOf: optimizerReferenceURL))
    }
}

/// The Swift counterpart of each reference case: an optimizer over (`w`, `b`), and whether to clip first.
private func makeOptimizer(_ name: String, w: Variable<Double>, b: Variable<Double>) -> (optimizer: any Optimizer<Double>, clip: Bool) {
    func one(weightDecay: Double) -> [ParameterGroup<Double>] {
        [ParameterGroup(parameters: [("w", w), ("b", b)], weightDecay: weightDecay)]
    }
    switch name {
    case "sgd":
        return (SGD(groups: one(weightDecay: 0), learningRate: 0.1), false)
    case "sgd_momentum_dampening":
        return (SGD(groups: one(weightDecay: 0), learningRate: 0.1, momentum: 0.9, dampening: 0.1), false)
    case "sgd_nesterov":
        return (SGD(groups: one(weightDecay: 0), learningRate: 0.1, momentum: 0.9, nesterov: true), false)
    case "sgd_weight_decay":
        return (SGD(groups: one(weightDecay: 0.01), learningRate: 0.1), false)
    case "adam_l2":
        return (Adam(groups: one(weightDecay: 0.1), learningRate: 1e-2, beta1: 0.9, beta2: 0.98, epsilon: 1e-6), false)
    case "adamw":
        return (Adam.adamW(groups: one(weightDecay: 0.1), learningRate: 1e-2, beta1: 0.9, beta2: 0.98, epsilon: 1e-6), false)
    case "adamw_groups":
        let groups = [
            ParameterGroup<Double>(parameters: [("w", w)], weightDecay: 0.1),
            ParameterGroup<Double>(parameters: [("b", b)], weightDecay: 0),
        ]
        return (Adam.adamW(groups: groups, learningRate: 1e-2, beta1: 0.9, beta2: 0.98, epsilon: 1e-6), false)
    case "adamw_clipped":
        return (Adam.adamW(groups: one(weightDecay: 0.1), learningRate: 1e-2, beta1: 0.9, beta2: 0.98, epsilon: 1e-6), true)
    default:
        fatalError("no Swift optimizer for reference case \(name)")
    }
}

private let caseNames = [
    "sgd", "sgd_momentum_dampening", "sgd_nesterov", "sgd_weight_decay", "adam_l2", "adamw", "adamw_groups", "adamw_clipped",
]

@Suite struct OptimizerReferenceTests {
    @Test func referenceHasEveryCase() throws {
        let reference = try OptimizerReference.load()
        #expect(Set(reference.cases.keys) == Set(caseNames))
        #expect(reference.gradients.count == 5)
    }

    /// Replays the reference gradients (set as `grad`, then `step()`) and compares `w` and `b` after each
    /// step with torch to 1e-12 · (1 + |value|).
    @Test(arguments: caseNames)
    func trajectoryMatchesTorch(name: String) throws {
        let reference = try OptimizerReference.load()
        let expected = try #require(reference.cases[name])
        let shapes = reference.shapes
        let w = Variable(Tensor<Double>(reference.initial["w"]!, shape: shapes["w"]!), requiresGrad: true)
        let b = Variable(Tensor<Double>(reference.initial["b"]!, shape: shapes["b"]!), requiresGrad: true)
        let (optimizer, clip) = makeOptimizer(name, w: w, b: b)
        #expect(expected.steps.count == reference.gradients.count)
        for (step, gradient) in reference.gradients.enumerated() {
            w.grad = Tensor<Double>(gradient["w"]!, shape: shapes["w"]!)
            b.grad = Tensor<Double>(gradient["b"]!, shape: shapes["b"]!)
            if clip { clipGradientNorm([w, b], maxNorm: 1.0) }
            optimizer.step()
            for (parameterName, parameter) in [("w", w), ("b", b)] {
                let actual = parameter.value.scalars, target = expected.steps[step][parameterName]!
                #expect(actual.count == target.count)
                let worst = zip(actual, target).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
                #expect(worst <= 1e-12, "\(name): \(parameterName) after step \(step + 1) is \(actual), torch has \(target)")
            }
        }
        #expect(optimizer.stepCount == reference.gradients.count)
    }

    /// clipGradientNorm returns the norm before clipping and scales only when it exceeds the maximum, as
    /// `torch.nn.utils.clip_grad_norm_` (whose reference gradients have norms 3, 0.4, 1.6, 0.2, 5).
    @Test func clipGradientNormMatchesTorchNorms() throws {
        let reference = try OptimizerReference.load()
        let shapes = reference.shapes
        for (step, (gradient, target)) in zip(reference.gradients, [3.0, 0.4, 1.6, 0.2, 5.0]).enumerated() {
            let w = Variable(Tensor<Double>.zeros(shapes["w"]!), requiresGrad: true)
            let b = Variable(Tensor<Double>.zeros(shapes["b"]!), requiresGrad: true)
            let gw = Tensor<Double>(gradient["w"]!, shape: shapes["w"]!), gb = Tensor<Double>(gradient["b"]!, shape: shapes["b"]!)
            w.grad = gw.copy()
            b.grad = gb.copy()
            let norm = clipGradientNorm([w, b], maxNorm: 1.0)
            #expect(abs(norm - target) <= 1e-12 * target, "step \(step + 1)")
            let coefficient = min(1.0, 1.0 / (norm + 1e-6))
            let expectedScalars = (gw.scalars + gb.scalars).map { $0 * coefficient }
            let actualScalars = w.grad!.scalars + b.grad!.scalars
            #expect(zip(actualScalars, expectedScalars).allSatisfy { abs($0 - $1) <= 1e-15 * (1 + abs($1)) }, "step \(step + 1)")
        }
    }
}
