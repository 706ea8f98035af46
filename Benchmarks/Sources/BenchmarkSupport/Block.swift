// The transformer-block workload shared by the ordo-one suite Benchmarks/BlockBenchmark and the BlockRatios
// executable: forward and backward of one LaNN `ResidualAttentionBlock<Float>(width: 192, heads: 3)` (open_clip's
// ResidualAttentionBlock(192, 3): pre-LayerNorm MHA and a GELU MLP of 768) on x [64, 65, 192], the backward
// seeded with a fixed tensor w of the output's shape (the gradient of sum(y * w)), as Scripts/torch_block.py
// does in PyTorch.
import CMallocStats
import LaNN
import LaTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// The resident set size of this process in bytes, from /proc/self/statm (0 where it cannot be read).
public func residentBytes() -> Int {
    let descriptor = open("/proc/self/statm", O_RDONLY)
    guard descriptor >= 0 else { return 0 }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count - 1) }
    guard count > 0 else { return 0 }
    // "size resident shared text lib data dt", in pages.
    let fields = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Bytes the C allocator has handed out and not had back (glibc `mallinfo2`: `uordblks + hblkhd`, all arenas
/// and mmapped chunks); nil where unavailable. RSS growing while this stays flat is memory the allocator keeps
/// (free chunks in its arenas), not a leak.
public func mallocInUseBytes() -> Int? {
    let value = cla_malloc_in_use_bytes()
    return value < 0 ? nil : Int(value)
}
