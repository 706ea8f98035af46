// The GEMMs of a CLIP training step counted from the model's shape, and a raw-BLAS reference that runs the same
// list of products: the step's useful FLOPs (so a step time becomes a GFLOP/s figure) and the sgemm rate on the
// model's own shapes (what the step's rate is compared with). Used by TrainStepRatios, which fills the shapes from
// LaCLIP's `CLIPConfiguration` (this target stays free of LaCLIP).
//
// What is counted, at 2·M·N·K per product (`gemmFLOPs`):
//   - forward, per tower: the patch embedding (the vision tower's conv1 as [B·G², 3·p²] @ [3·p², D]; the text
//     tower's token embedding is a lookup, no GEMM), then per block the fused QKV projection, the per-head Q·Kᵀ
//     and P·V products (one [L, D/H] GEMM per sequence and head, the full L×L even under the text tower's causal
//     mask, as the step computes it), the attention output projection and the two MLP Linears; then the tower's
//     final projection of the pooled token ([S, D] @ [D, E]); then the B×B similarity I·Tᵀ of each text version;
//   - backward: the two products of each forward GEMM (the gradients of both operands), each with the forward
//     product's FLOPs, so backward = 2× forward and a step = 3× forward. That includes the patch embedding's input
//     gradient, which the step skips (images need no gradient): 2·B·G²·3p²·D, under 0.3 % of the `tiny` step.
// Not counted: elementwise work, softmax, LayerNorm, the loss's log-softmax, embedding lookups and the optimizer.
import LaTensor

/// 2·M·N·K: the floating-point operations (multiplies and adds) of one [M, K] @ [K, N] product.
/// - Parameters:
///   - m: Rows of the result.
///   - n: Columns of the result.
///   - k: The inner dimension.
public func gemmFLOPs(m: Int, n: Int, k: Int) -> Double { 2 * Double(m) * Double(n) * Double(k) }

/// One matrix product of a workload, C[m, n] = op(A)[m, k] · op(B)[k, n] in row-major order (op transposes the
/// stored operand when its flag is set), run `calls` times per step.
public struct GEMMShape: Hashable, Sendable {
    /// What the product is, for tables ("vision MLP fc", "text Q·Kᵀ per head dA").
    public var label: String
    /// Rows of C.
    public var m: Int
    /// Columns of C.
    public var n: Int
    /// The inner dimension.
    public var k: Int
    /// A is stored as [k, m] and read transposed.
    public var transposeA: Bool
    /// B is stored as [n, k] and read transposed (a Linear layer's weight).
    public var transposeB: Bool
    /// How often one step runs this product (a block's GEMM: once per layer; a per-head one: sequences × heads × layers).
    public var calls: Int

    /// Creates a shape.
    /// - Parameters:
    ///   - label: A short description.
    ///   - m: Rows of C.
    ///   - n: Columns of C.
    ///   - k: The inner dimension.
    ///   - transposeA: Read A transposed.
    ///   - transposeB: Read B transposed.
    ///   - calls: Calls per step.
    public init(_ label: String, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, calls: Int = 1) {
        self.label = label
        self.m = m
        self.n = n
        self.k = k
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.calls = calls
    }

    /// The forward GEMM of a Linear layer over `rows` rows: Y[rows, outputs] = X[rows, inputs] · W[outputs, inputs]ᵀ.
    /// - Parameters:
    ///   - label: A short description.
    ///   - rows: Rows of X (tokens × sequences).
    ///   - inputs: Input features.
    ///   - outputs: Output features.
    ///   - calls: Calls per step (the layers of a stack).
    public static func linear(_ label: String, rows: Int, inputs: Int, outputs: Int, calls: Int = 1) -> GEMMShape {
        GEMMShape(label, m: rows, n: outputs, k: inputs, transposeB: true, calls: calls)
    }

    /// The FLOPs of all `calls` calls.
    public var flops: Double { Double(calls) * gemmFLOPs(m: m, n: n, k: k) }

    /// The two products of the backward pass, each producing the gradient in its operand's stored layout:
    /// dA = dC · op(B)ᵀ and dB = op(A)ᵀ · dC (for a Linear layer: dX = dY · W and dW = dYᵀ · X), as many calls as this
    /// one and the same FLOPs each.
    public var backward: [GEMMShape] {
        // dA: [m, k] = dC[m, n] · op(B)ᵀ; stored transposed ([k, m]): op(B) · dCᵀ.
        let dA = transposeA
            ? GEMMShape(label + " dA", m: k, n: m, k: n, transposeA: transposeB, transposeB: true, calls: calls)
            : GEMMShape(label + " dA", m: m, n: k, k: n, transposeA: false, transposeB: !transposeB, calls: calls)
        // dB: [k, n] = op(A)ᵀ · dC[m, n]; stored transposed ([n, k]): dCᵀ · op(A).
        let dB = transposeB
            ? GEMMShape(label + " dB", m: n, n: k, k: m, transposeA: true, transposeB: transposeA, calls: calls)
            : GEMMShape(label + " dB", m: k, n: n, k: m, transposeA: !transposeA, transposeB: false, calls: calls)
        return [dA, dB]
    }

    /// This product followed by its two backward products.
    public var withBackward: [GEMMShape] { [self] + backward }
}

/// One transformer tower (a ViT image tower or a text transformer) over one batch, as far as its GEMMs go.
public struct TowerShape: Sendable {
    /// "vision" or "text", the prefix of the GEMM labels.
    public var name: String
    /// Sequences in the batch (images, or texts).
    public var sequences: Int
    /// Tokens per sequence (the vision tower's patches plus the class token, or the text context).
    public var tokens: Int
    /// The transformer width D.
    public var width: Int
    /// Blocks.
    public var layers: Int
    /// Attention heads (D / heads per head).
    public var heads: Int
    /// The MLP's hidden width.
    public var mlpWidth: Int
    /// The width the pooled token is projected to (the shared embedding).
    public var projection: Int
    /// Patches per sequence that go through the patch embedding (0: no patch embedding, as in the text tower).
    public var patches: Int
    /// Features of one patch (channels × p²).
    public var patchFeatures: Int

    /// Creates a tower shape.
    /// - Parameters:
    ///   - name: The label prefix.
    ///   - sequences: Sequences in the batch.
    ///   - tokens: Tokens per sequence.
    ///   - width: Transformer width.
    ///   - layers: Blocks.
    ///   - heads: Attention heads.
    ///   - mlpWidth: MLP hidden width.
    ///   - projection: Output projection width.
    ///   - patches: Patches per sequence through the patch embedding (0: none).
    ///   - patchFeatures: Features per patch.
    public init(
        name: String, sequences: Int, tokens: Int, width: Int, layers: Int, heads: Int, mlpWidth: Int, projection: Int,
        patches: Int = 0, patchFeatures: Int = 0
    ) {
        self.name = name
        self.sequences = sequences
        self.tokens = tokens
        self.width = width
        self.layers = layers
        self.heads = heads
        self.mlpWidth = mlpWidth
        self.projection = projection
        self.patches = patches
        self.patchFeatures = patchFeatures
    }

    /// The forward GEMMs of the tower, each block's products counted `layers` times and the per-head ones
    /// `sequences × heads × layers` times (one small GEMM per sequence and head, as the step runs them).
    public var forwardGEMMs: [GEMMShape] {
        let rows = sequences * tokens, headWidth = width / heads, perHead = sequences * heads * layers
        var list: [GEMMShape] = []
        if patches > 0 {
            list.append(.linear("\(name) patch embedding", rows: sequences * patches, inputs: patchFeatures, outputs: width))
        }
        list += [
            .linear("\(name) QKV", rows: rows, inputs: width, outputs: 3 * width, calls: layers),
            GEMMShape("\(name) Q·Kᵀ per head", m: tokens, n: tokens, k: headWidth, transposeB: true, calls: perHead),
            GEMMShape("\(name) P·V per head", m: tokens, n: headWidth, k: tokens, calls: perHead),
            .linear("\(name) attention out", rows: rows, inputs: width, outputs: width, calls: layers),
            .linear("\(name) MLP fc", rows: rows, inputs: width, outputs: mlpWidth, calls: layers),
            .linear("\(name) MLP proj", rows: rows, inputs: mlpWidth, outputs: width, calls: layers),
            GEMMShape("\(name) projection", m: sequences, n: projection, k: width),
        ]
        return list
    }

    /// The FLOPs of one forward pass of the tower (inference).
    public var forwardFLOPs: Double { forwardGEMMs.reduce(0) { $0 + $1.flops } }
}

/// The GEMMs of one CLIP training step: the image tower on B images, the text tower on V·B texts (V text versions
/// per image: 1 for CLIP, M + 1 for LaCLIP-MT), the B×B similarity of each version, forward and backward.
public struct CLIPStepGEMMs: Sendable {
    /// The image tower over the B images.
    public var vision: TowerShape
    /// The text tower over the V·B texts.
    public var text: TowerShape
    /// The shared embedding width E.
    public var embedDimension: Int

    /// Creates the step's accounting; the text tower's sequences must be a multiple of the vision tower's.
    /// - Parameters:
    ///   - vision: The image tower over the batch.
    ///   - text: The text tower over all texts of the batch.
    ///   - embedDimension: The shared embedding width.
    public init(vision: TowerShape, text: TowerShape, embedDimension: Int) {
        precondition(vision.sequences > 0 && text.sequences % vision.sequences == 0, "CLIPStepGEMMs: texts are not V × images")
        self.vision = vision
        self.text = text
        self.embedDimension = embedDimension
    }

    /// Images per step.
    public var batch: Int { vision.sequences }
    /// Text versions per image.
    public var textVersions: Int { text.sequences / vision.sequences }

    /// The forward GEMMs: both towers, then the similarity I[B, E] · T[B, E]ᵀ of each text version.
    public var forward: [GEMMShape] {
        vision.forwardGEMMs + text.forwardGEMMs
            + [GEMMShape("logits I·Tᵀ", m: batch, n: batch, k: embedDimension, transposeB: true, calls: textVersions)]
    }

    /// Every GEMM of the step: each forward product and its two backward products.
    public var step: [GEMMShape] { forward.flatMap(\.withBackward) }

    /// The FLOPs of the forward pass.
    public var forwardFLOPs: Double { forward.reduce(0) { $0 + $1.flops } }
    /// The useful FLOPs of one step: forward + backward = 3 × forward.
    public var stepFLOPs: Double { step.reduce(0) { $0 + $1.flops } }
    /// GEMM calls per step.
    public var stepCalls: Int { step.reduce(0) { $0 + $1.calls } }
}

/// The measured rate of a GEMM list.
public struct GEMMRate: Sendable {
    /// Seconds for the whole list (the sum of each shape's median time for all its calls).
    public var seconds: Double
    /// FLOPs of the whole list.
    public var flops: Double
    /// The median seconds of each shape (all its calls), in the list's order.
    public var shapeSeconds: [Double]
    /// FLOP/s over the whole list, in GFLOP/s.
    public var gflops: Double { flops / seconds / 1e9 }
}

/// Raw `Float.gemm` (LaTensor's single-precision GEMM entry: its own kernels or `cblas_sgemm`, see `GEMM`) on a list of GEMM shapes, each shape called as often as the
/// workload calls it, on preallocated buffers: the rate BLAS reaches on the workload's own shapes without any of
/// its other work. The operands are contiguous and shared by all calls of a shape (the step reads the per-head Q,
/// K, V as strided views of the packed projection, each head at its own address), so small shapes run from cache.
public final class GEMMReference {
    /// The shapes, in order.
    public let shapes: [GEMMShape]
    let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>
    let sizes: (a: Int, b: Int, c: Int)

    /// Allocates and fills buffers large enough for the largest operand of each kind.
    /// - Parameter shapes: The list to run (e.g. `CLIPStepGEMMs.step`).
    public init(shapes: [GEMMShape]) {
        self.shapes = shapes
        sizes = (
            shapes.map { $0.m * $0.k }.max() ?? 1, shapes.map { $0.k * $0.n }.max() ?? 1, shapes.map { $0.m * $0.n }.max() ?? 1
        )
        a = .allocate(capacity: sizes.a)
        b = .allocate(capacity: sizes.b)
        c = .allocate(capacity: sizes.c)
        // Small, exactly representable values (no denormals, no overflow); every page touched before timing.
        for i in 0..<sizes.a { a[i] = Float(i % 17 - 8) / 16 }
        for i in 0..<sizes.b { b[i] = Float(i % 13 - 6) / 16 }
        c.initialize(repeating: 0, count: sizes.c)
    }

    deinit {
        a.deallocate()
        b.deallocate()
        c.deallocate()
    }

    /// Bytes of the three buffers.
    public var bufferBytes: Int { (sizes.a + sizes.b + sizes.c) * MemoryLayout<Float>.size }

    /// Runs all calls of `shape` once, C = op(A) · op(B) (beta 0). Returns the seconds taken.
    /// - Parameter shape: One of `shapes`.
    @inline(never)
    public func time(_ shape: GEMMShape) -> Double {
        let lda = shape.transposeA ? shape.m : shape.k, ldb = shape.transposeB ? shape.k : shape.n
        let start = monotonicNanoseconds()
        for _ in 0..<shape.calls {
            Float.gemm(
                transposeA: shape.transposeA, transposeB: shape.transposeB, m: shape.m, n: shape.n, k: shape.k, alpha: 1,
                a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: c, ldc: shape.n)
        }
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        Sink.shared.consume(c[0])
        return seconds
    }

    /// Runs the list `warmup` times untimed, then `repetitions` times (the whole list in order each time) and takes
    /// each shape's median; their sum is the list's time, weighted as the workload weights the shapes.
    /// - Parameters:
    ///   - warmup: Untimed passes.
    ///   - repetitions: Timed passes (at least 1).
    public func measure(warmup: Int = 1, repetitions: Int = 3) -> GEMMRate {
        for _ in 0..<warmup { for shape in shapes { _ = time(shape) } }
        var times = [[Double]](repeating: [], count: shapes.count)
        for _ in 0..<max(repetitions, 1) {
            for (index, shape) in shapes.enumerated() { times[index].append(time(shape)) }
        }
        let medians = times.map(median)
        return GEMMRate(
            seconds: medians.reduce(0, +), flops: shapes.reduce(0) { $0 + $1.flops }, shapeSeconds: medians)
    }
}
