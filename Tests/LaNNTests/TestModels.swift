import LaTensor
@testable import LaNN

/// A small classifier used by the module, training-state and memory tests.
final class TinyNet<Scalar: TensorFloatingPoint>: Module {
    let fc1: Linear<Scalar>
    let norm: LayerNorm<Scalar>
    let dropout: Dropout<Scalar>
    let fc2: Linear<Scalar>
    var isTraining = true

    init(seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        fc1 = Linear(4, 8, generator: &generator)
        norm = LayerNorm(8)
        dropout = Dropout(probability: 0.25, seed: seed &+ 1)
        fc2 = Linear(8, 3, generator: &generator)
    }

    var localParameters: [(name: String, parameter: Variable<Scalar>)] { [] }
    var children: [(name: String, module: any Module<Scalar>)] {
        [("fc1", fc1), ("norm", norm), ("dropout", dropout), ("fc2", fc2)]
    }

    func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        fc2(dropout(norm(fc1(x)).gelu()))
    }

    /// Mean cross-entropy of the logits against integer labels.
    func loss(_ x: Tensor<Scalar>, labels: Tensor<Int>) -> Variable<Scalar> {
        let logits = self(Variable(x))
        let picked = logits.logSoftmax(axis: -1).gather(axis: 1, indices: labels.reshaped([-1, 1]))
        return -picked.mean()
    }
}

/// One training step of `model` on a batch drawn from `data`: forward, backward, AdamW step.
func trainStep<Scalar: TensorFloatingPoint>(
    _ model: TinyNet<Scalar>, _ optimizer: Adam<Scalar>, schedule: LearningRateSchedule, step: Int, data: inout RandomGenerator
) {
    let x = Tensor<Scalar>.randn([16, 4], generator: &data)
    let labels = Tensor<Int>.randint([16], low: 0, high: 3, generator: &data)
    optimizer.learningRate = Scalar(schedule.learningRate(at: step))
    optimizer.zeroGrad()
    model.loss(x, labels: labels).backward()
    clipGradientNorm(model.parameters(), maxNorm: 1)
    optimizer.step()
}
