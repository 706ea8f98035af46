import Testing
import LaTensor
@testable import LaNN

/// One differentiable op with sample input shapes, in the spirit of PyTorch's OpInfo.
struct OpCase: Sendable, CustomStringConvertible {
    let name: String
    let shapes: [[Int]]
    /// Maps raw N(0,1) samples into the op's domain (applied before the layout view is made).
    let prepare: @Sendable (Int, Tensor<Double>) -> Tensor<Double>
    let function: @Sendable ([Variable<Double>]) -> Variable<Double>
    var description: String { name }

    init(_ name: String, _ shapes: [[Int]], prepare: @escaping @Sendable (Int, Tensor<Double>) -> Tensor<Double> = { _, x in x },
         _ function: @escaping @Sendable ([Variable<Double>]) -> Variable<Double>) {
        self.name = name
        self.shapes = shapes
        self.prepare = prepare
        self.function = function
    }
}

/// How an input is laid out in memory.
enum Layout: String, CaseIterable, Sendable {
    case contiguous, transposed, sliced, broadcast
}

/// A tensor of `shape` with N(0,1)-based values in the requested layout.
func makeInput(_ shape: [Int], layout: Layout, seed: UInt64, prepare: (Tensor<Double>) -> Tensor<Double>) -> Tensor<Double> {
    var generator = RandomGenerator(seed: seed)
    switch layout {
    case .transposed where shape.count >= 2:
        var swapped = shape
        swapped.swapAt(shape.count - 1, shape.count - 2)
        return prepare(Tensor<Double>.randn(swapped, generator: &generator)).transposed()
    case .sliced where shape.count >= 1:
        var wide = shape
        wide[shape.count - 1] = 2 * shape[shape.count - 1] + 1
        return prepare(Tensor<Double>.randn(wide, generator: &generator)).slice(axis: -1, 1..<wide[shape.count - 1], step: 2)
    case .broadcast where shape.count >= 1 && shape[0] > 1:
        var narrow = shape
        narrow[0] = 1
        return prepare(Tensor<Double>.randn(narrow, generator: &generator)).expanded(to: shape)
    default:
        return prepare(Tensor<Double>.randn(shape, generator: &generator))
    }
}

let positive: @Sendable (Int, Tensor<Double>) -> Tensor<Double> = { _, x in x.abs() + 0.5 }
let awayFromZero: @Sendable (Int, Tensor<Double>) -> Tensor<Double> = { _, x in x.map { $0 >= 0 ? $0 + 0.3 : $0 - 0.3 } }
let distinct: @Sendable (Int, Tensor<Double>) -> Tensor<Double> = { i, x in x + Double(i) * 0.37 }

let opCases: [OpCase] = [
    // Elementwise, unary.
    OpCase("exp", [[3, 4]]) { $0[0].exp() },
    OpCase("log", [[3, 4]], prepare: positive) { $0[0].log() },
    OpCase("log1p", [[3, 4]], prepare: positive) { $0[0].log1p() },
    OpCase("sqrt", [[3, 4]], prepare: positive) { $0[0].sqrt() },
    OpCase("rsqrt", [[3, 4]], prepare: positive) { $0[0].rsqrt() },
    OpCase("square", [[3, 4]]) { $0[0].square() },
    OpCase("abs", [[3, 4]], prepare: awayFromZero) { $0[0].abs() },
    OpCase("neg", [[3, 4]]) { -$0[0] },
    OpCase("tanh", [[3, 4]]) { $0[0].tanh() },
    OpCase("sigmoid", [[3, 4]]) { $0[0].sigmoid() },
    OpCase("relu", [[3, 4]], prepare: awayFromZero) { $0[0].relu() },
    OpCase("gelu", [[3, 4]]) { $0[0].gelu() },
    OpCase("geluTanh", [[3, 4]]) { $0[0].gelu(approximate: true) },
    OpCase("quickGELU", [[3, 4]]) { $0[0].quickGELU() },
    OpCase("powScalar", [[3, 4]], prepare: positive) { $0[0].pow(2.5) },
    OpCase("powTensor", [[3, 4], [3, 4]], prepare: positive) { $0[0].pow($0[1]) },
    OpCase("clamp", [[3, 4]], prepare: { _, x in x.map { Swift.abs($0 - 0.5) < 0.05 || Swift.abs($0 + 0.5) < 0.05 ? $0 + 0.2 : $0 } }) { $0[0].clamp(min: -0.5, max: 0.5) },
    // Elementwise, binary with broadcasting.
    OpCase("add", [[3, 4], [4]]) { $0[0] + $0[1] },
    OpCase("sub", [[3, 4], [3, 1]]) { $0[0] - $0[1] },
    OpCase("mul", [[2, 3, 4], [3, 4]]) { $0[0] * $0[1] },
    OpCase("div", [[3, 4], [3, 4]], prepare: { i, x in i == 1 ? x.abs() + 0.5 : x }) { $0[0] / $0[1] },
    OpCase("maximum", [[3, 4], [3, 4]], prepare: distinct) { $0[0].maximum($0[1]) },
    OpCase("minimum", [[3, 4], [4]], prepare: distinct) { $0[0].minimum($0[1]) },
    OpCase("scalarOps", [[3, 4]]) { (2.0 - ($0[0] * 3.0 + 1.0)) / 4.0 },
    OpCase("where", [[3, 4], [3, 4]]) { inputs in
        `where`(Tensor<Bool>([true, false, true, true], shape: [4]), inputs[0], inputs[1])
    },
    // Views and joins.
    OpCase("reshape", [[3, 4]]) { $0[0].reshaped([2, 6]) * $0[0].reshaped([2, 6]) },
    OpCase("flatten", [[2, 3, 4]]) { $0[0].flattened(startAxis: 1).square() },
    OpCase("permute", [[2, 3, 4]]) { $0[0].permuted([2, 0, 1]).square() },
    OpCase("transpose", [[3, 4]]) { $0[0].transposed().square() },
    OpCase("slice", [[4, 5]]) { $0[0].slice(axis: 1, 1..<5, step: 2).square() },
    OpCase("select", [[4, 5]]) { $0[0].select(axis: 0, index: 2).square() },
    OpCase("unsqueezeSqueeze", [[3, 4]]) { $0[0].unsqueezed(axis: 1).square().squeezed(axis: 1) },
    OpCase("expand", [[1, 4]]) { $0[0].expanded(to: [3, 4]).square() },
    OpCase("split", [[5, 4]]) { inputs in
        let parts = inputs[0].split(sizes: [2, 3], axis: 0)
        return parts[0].sum(axis: 0) * parts[1].sum(axis: 0)
    },
    OpCase("chunk", [[3, 6]]) { inputs in
        let parts = inputs[0].chunked(3, axis: 1)
        return parts[0] * parts[2] + parts[1]
    },
    OpCase("concatenate", [[2, 4], [3, 4]]) { Variable.concatenate([$0[0], $0[1]], axis: 0).square() },
    OpCase("stack", [[3, 4], [3, 4]]) { Variable.stack([$0[0], $0[1]], axis: 1).square() },
    // Matmul in torch.matmul's forms.
    OpCase("matmul2D", [[3, 4], [4, 5]]) { $0[0].matmul($0[1]) },
    OpCase("matmulBatchedBroadcast", [[2, 1, 3, 4], [3, 4, 2]]) { $0[0].matmul($0[1]) },
    OpCase("matmulBatched2D", [[2, 3, 4], [4, 5]]) { $0[0].matmul($0[1]) },
    OpCase("matmulVectorMatrix", [[4], [4, 3]]) { $0[0].matmul($0[1]) },
    OpCase("matmulMatrixVector", [[3, 4], [4]]) { $0[0].matmul($0[1]) },
    OpCase("matmulDot", [[4], [4]]) { $0[0].matmul($0[1]) },
    // Reductions.
    OpCase("sumAll", [[3, 4]]) { $0[0].sum() },
    OpCase("sumAxesKeepDims", [[2, 3, 4]]) { $0[0].sum(axes: [0, 2], keepDims: true) },
    OpCase("mean", [[2, 3, 4]]) { $0[0].mean(axes: [1]) },
    OpCase("max", [[3, 4]], prepare: { _, x in x + Tensor<Double>.arange(0, Double(x.count)).reshaped(x.shape) * 0.1 }) { $0[0].max(axes: [1]) },
    OpCase("min", [[3, 4]], prepare: { _, x in x + Tensor<Double>.arange(0, Double(x.count)).reshaped(x.shape) * 0.1 }) { $0[0].min(axes: [1], keepDims: true) },
    OpCase("variance", [[3, 4]]) { $0[0].variance(axes: [1], correction: 1) },
    OpCase("norm", [[3, 4]]) { $0[0].norm(axes: [1]) },
    OpCase("logSumExp", [[3, 4]]) { $0[0].logSumExp(axes: [1]) },
    OpCase("softmax", [[3, 4]]) { $0[0].softmax(axis: 1) },
    OpCase("softmaxAxis0", [[3, 4]]) { $0[0].softmax(axis: 0) },
    OpCase("logSoftmax", [[3, 4]]) { $0[0].logSoftmax(axis: -1) },
    OpCase("l2Normalized", [[3, 4]]) { $0[0].l2Normalized(axis: -1) },
    // Indexing.
    OpCase("indexSelect", [[5, 3]]) { $0[0].indexSelect(Tensor<Int>([4, 0, 4, 2], shape: [2, 2]), axis: 0) },
    OpCase("gather", [[3, 4]]) { $0[0].gather(axis: 1, indices: Tensor<Int>([0, 3, 3, 1, 2, 0], shape: [3, 2])) },
    // Fused layer ops.
    OpCase("linear", [[2, 3, 4], [5, 4], [5]]) { $0[0].linear(weight: $0[1], bias: $0[2]) },
    OpCase("linearNoBias", [[3, 4], [5, 4]]) { $0[0].linear(weight: $0[1], bias: nil) },
    OpCase("layerNorm", [[3, 5], [5], [5]]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) },
    OpCase("attention", [[2, 3, 4], [2, 5, 4], [2, 5, 3]]) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) },
    OpCase("attentionCausal", [[2, 4, 4], [2, 4, 4], [2, 4, 3]]) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true) },
    OpCase("attentionMask", [[2, 3, 4], [2, 3, 4], [2, 3, 2]]) {
        scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: Tensor<Double>([0, -1e9, 0.5, 0, 0, -0.5, 1, 0, 0], shape: [3, 3]))
    },
    OpCase("packedSelfAttention", [[2, 3, 12]]) { $0[0].packedSelfAttention(heads: 2, causal: true) },
    OpCase("packedSelfAttention (bidirectional)", [[3, 5, 24]]) { $0[0].packedSelfAttention(heads: 4) },
    OpCase("packedSelfAttention (masked)", [[2, 4, 12]]) {
        $0[0].packedSelfAttention(heads: 2, mask: Tensor<Double>([0, -1, 0.5, 0, 0, 0, -2, 0, 0, 1, 0, 0, 0, 0, 0, -0.5], shape: [4, 4]))
    },
    OpCase("dropout", [[3, 4]]) { inputs in
        var generator = RandomGenerator(seed: 9)
        return inputs[0].dropout(probability: 0.3, generator: &generator)
    },
]

@Suite struct GradCheckTests {
    @Test(arguments: opCases, Layout.allCases)
    func gradientsMatchFiniteDifferences(op: OpCase, layout: Layout) {
        let inputs = op.shapes.enumerated().map { index, shape in
            makeInput(shape, layout: layout, seed: UInt64(17 + index)) { op.prepare(index, $0) }
        }
        let result = gradientCheck(inputs, op.function)
        #expect(result.passed, "\(op.name) on \(layout) inputs: \(result)")
    }

    @Test func gradientCheckCatchesAWrongPullback() {
        // A deliberately wrong derivative (2x instead of 3x²) must fail the check.
        let wrong: ([Variable<Double>]) -> Variable<Double> = { inputs in
            let x = inputs[0]
            return Variable.record(x.value.pow(3), name: "wrongCube", inputs: [x]) { g in [g * x.value * 2] }
        }
        var generator = RandomGenerator(seed: 1)
        #expect(!gradientCheck([Tensor<Double>.randn([4], generator: &generator)], wrong).passed)
    }
}
