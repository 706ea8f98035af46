// The transformer-block workload shared by the ordo-one suite Benchmarks/BlockBenchmark and the BlockRatios
// executable: forward and backward of one LaNN `ResidualAttentionBlock<Float>(width: 192, heads: 3)` (open_clip's
// ResidualAttentionBlock(192, 3): pre-LayerNorm MHA and a GELU MLP of 768) on x [64, 65, 192], the backward
// seeded with a fixed tensor w of the output's shape (the gradient of sum(y * w)), as Scripts/torch_block.py
// does in PyTorch.
import LaNN
import LaTensor

/// One residual attention block, its input, the backward seed and an AdamW optimizer over its parameters.
public final class BlockWorkload: @unchecked Sendable {
    public static let batch = 64, tokens = 65, width = 192, heads = 3

    /// The block (open_clip's ResidualAttentionBlock(192, 3): MLP 768, exact GELU).
    public let block: ResidualAttentionBlock<Float>
    /// x [64, 65, 192], a leaf that requires its gradient (as the input of a block inside a stack does).
    public let input: Variable<Float>
    /// The backward seed: dL/dy for L = sum(y * seed).
    public let seed: Tensor<Float>
    /// AdamW over the block's parameters (lr 1e-4, weight decay 0.1 on matrices, CLIP's betas and epsilon).
    public let optimizer: Adam<Float>

    /// "[64, 65, 192], width 192, 3 heads" and so on, for tables.
    public static var shapeLabel: String { "x [\(batch), \(tokens), \(width)], \(heads) heads, MLP \(4 * width)" }

    public init(seed generatorSeed: UInt64 = 7) {
        var generator = RandomGenerator(seed: generatorSeed)
        block = ResidualAttentionBlock<Float>(width: Self.width, heads: Self.heads, generator: &generator)
        let shape = [Self.batch, Self.tokens, Self.width]
        input = Variable(Tensor<Float>.randn(shape, generator: &generator), requiresGrad: true)
        seed = Tensor<Float>.randn(shape, generator: &generator)
        let groups = ParameterGroup<Float>.clipStyle(block.namedParameters(), weightDecay: 0.1)
        optimizer = Adam<Float>.adamW(groups: groups, learningRate: 1e-4, beta1: 0.9, beta2: 0.98, epsilon: 1e-6)
    }

    /// Sets every gradient to nil (PyTorch's `zero_grad(set_to_none=True)`), so each step starts alike.
    public func zeroGrad() {
        block.zeroGrad()
        input.zeroGrad()
    }

    /// One forward and backward pass: y = block(x), then backward with the seed (frees the graph).
    /// Returns one element of dx, to keep the work observable.
    @inline(never)
    @discardableResult
    public func forwardBackward() -> Float {
        let y = block(input)
        y.backward(seed: seed)
        return input.grad.map(firstElement) ?? 0
    }

    /// One training step: zero the gradients, forward, backward, AdamW update.
    @inline(never)
    @discardableResult
    public func trainStep() -> Float {
        zeroGrad()
        let value = forwardBackward()
        optimizer.step()
        return value
    }
}
