import Testing
@testable import LaNN
import LaTensor

/// The fused multi-head attention kernel equals the per-head BLAS path (which a zero mask selects) in Float32, forward
/// and backward, on shapes of the model's towers.
@Suite struct FusedAttentionTests {
    @Test(arguments: [(4, 17, 128, 4, false), (3, 24, 128, 4, true), (2, 9, 48, 3, true), (1, 1, 16, 2, true)])
    func fusedEqualsPerHead(_ shape: (batch: Int, length: Int, width: Int, heads: Int, causal: Bool)) {
        var generator = RandomGenerator(seed: 7)
        let packed = Tensor<Float>.randn([shape.batch, shape.length, 3 * shape.width], generator: &generator)
        let seed = Tensor<Float>.randn([shape.batch, shape.length, shape.width], generator: &generator)
        func run(mask: Tensor<Float>?) -> (output: [Float], gradient: [Float]) {
            let input = Variable(packed, requiresGrad: true)
            let output = input.packedSelfAttention(heads: shape.heads, mask: mask, causal: shape.causal)
            output.backward(seed: seed)
            return (output.value.scalars, input.grad!.scalars)
        }
        let fused = run(mask: nil)
        let reference = run(mask: Tensor<Float>.zeros([shape.length, shape.length]))
        let outputError = zip(fused.output, reference.output).map { abs($0 - $1) }.max() ?? 0
        let gradientError = zip(fused.gradient, reference.gradient).map { abs($0 - $1) }.max() ?? 0
        #expect(outputError < 1e-5, "output differs by \(outputError)")
        #expect(gradientError < 1e-4, "gradient differs by \(gradientError)")
    }
}
