import Foundation
import LaTensor
import Testing

@testable import LaNN

// Layers against PyTorch: open_clip's ResidualAttentionBlock and torch's MultiheadAttention, LayerNorm,
// Linear and Embedding, forward and backward. The numbers come from Resources/make_layer_reference.py
// (float64, fixed seeds, random parameters everywhere); see its docstring for the file layout.

private let layerReferenceURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Resources/layer_reference.safetensors")

/// The reference file and its floating-point tensors converted to `T` (F64 narrowed to Float rounds to nearest).
private struct LayerReference<T: TensorFloatingPoint> {
    let file: SafeTensorsFile
    let tensors: [String: Tensor<T>]

    init() throws {
        file = try SafeTensorsFile.read(contentsOf: layerReferenceURL)
        var tensors: [String: Tensor<T>] = [:]
        for name in file.names where file.info(named: name)!.dtype != .int64 {
            tensors[name] = try file.tensor(named: name, as: T.self)
        }
        self.tensors = tensors
    }

    subscript(_ name: String) -> Tensor<T> {
        guard let tensor = tensors[name] else { fatalError("layer_reference.safetensors has no tensor \(name)") }
        return tensor
    }

    /// PyTorch's state_dict keys of a module, in order, from the file's metadata.
    func stateDictKeys(_ module: String) -> [String] {
        (file.metadata["\(module)_state_dict_keys"] ?? "").split(separator: ",").map(String.init)
    }

    /// The tensors stored under `prefix/` (the prefix removed): a module's state dict.
    func stateDict(prefix: String) -> [String: Tensor<T>] {
        var result: [String: Tensor<T>] = [:]
        for (name, tensor) in tensors where name.hasPrefix(prefix + "/") && !name.dropFirst(prefix.count + 1).contains("/") {
            let key = String(name.dropFirst(prefix.count + 1))
            if !key.hasPrefix("grad.") && key != "y" && key != "w_out" && key != "indices" { result[key] = tensor }
        }
        return result
    }
}

/// Expects `actual` to equal `expected` elementwise within `tolerance · (1 + |expected|)` (the same
/// number as both relative and absolute tolerance), reporting the worst element.
private func expectClose<T: TensorFloatingPoint>(
    _ actual: Tensor<T>?, _ expected: Tensor<T>, tolerance: T, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let actual else {
        Issue.record("\(label): no value", sourceLocation: sourceLocation)
        return
    }
    guard actual.shape == expected.shape else {
        Issue.record("\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    let a = actual.scalars, e = expected.scalars
    var worstExcess: T = 0, worstIndex = -1
    for i in a.indices {
        let excess = abs(a[i] - e[i]) - tolerance * (1 + abs(e[i]))
        if !(excess <= worstExcess) { worstExcess = excess; worstIndex = i }
    }
    if worstIndex >= 0 {
        let i = worstIndex
        Issue.record(
            "\(label): element \(i) is \(a[i]), PyTorch has \(e[i]) (difference \(abs(a[i] - e[i])), tolerance \(tolerance))",
            sourceLocation: sourceLocation)
    }
}

/// How the causal mask reaches the attention: Swift's `causal: true` flag, or open_clip's additive mask
/// tensor (-inf above the diagonal) through `mask:`. PyTorch always gets the additive mask.
enum ReferenceMask: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case none, causalFlag, additiveMask
    var testDescription: String { rawValue }
    /// The name of the reference case.
    var referenceName: String { self == .none ? "nomask" : "causal" }
}

/// Runs open_clip's block case in `T` and compares the output and every gradient.
private func checkBlock<T: TensorFloatingPoint>(_ type: T.Type, activation: Activation, mask: ReferenceMask, tolerance: T) throws {
    let reference = try LayerReference<T>()
    var generator = RandomGenerator(seed: 1)
    let block = ResidualAttentionBlock<T>(width: 12, heads: 3, mlpRatio: 4, activation: activation, generator: &generator)
    // The block's state dict is stored under PyTorch's own keys (the only keys without a "/"): a strict
    // load proves the Swift parameter paths are exactly PyTorch's.
    try block.loadStateDict(reference.tensors.filter { !$0.key.contains("/") }, strict: true)

    let x = Variable(reference["input/x"], requiresGrad: true)
    let y: Variable<T>
    switch mask {
    case .none: y = block(x)
    case .causalFlag: y = block(x, causal: true)
    case .additiveMask: y = block(x, mask: reference["input/causal_mask"])
    }
    (y * Variable(reference["input/w"])).sum().backward()

    let prefix = "block_\(activation == .gelu ? "gelu" : "quickgelu")_\(mask.referenceName)/"
    expectClose(y.value, reference[prefix + "y"], tolerance: tolerance, prefix + "y")
    expectClose(x.grad, reference[prefix + "grad.input"], tolerance: tolerance, prefix + "grad.input")
    let named = block.namedParameters()
    #expect(named.count == 12)
    for (name, parameter) in named {
        expectClose(parameter.grad, reference[prefix + "grad." + name], tolerance: tolerance, prefix + "grad." + name)
    }
}

/// Runs torch's MultiheadAttention case in `T`.
private func checkMultiheadAttention<T: TensorFloatingPoint>(_ type: T.Type, mask: ReferenceMask, tolerance: T) throws {
    let reference = try LayerReference<T>()
    var generator = RandomGenerator(seed: 2)
    let attention = MultiheadAttention<T>(width: 12, heads: 3, generator: &generator)
    try attention.loadStateDict(reference.stateDict(prefix: "mha"), strict: true)
    let x = Variable(reference["input/x"], requiresGrad: true)
    let y: Variable<T>
    switch mask {
    case .none: y = attention(x)
    case .causalFlag: y = attention(x, causal: true)
    case .additiveMask: y = attention(x, mask: reference["input/causal_mask"])
    }
    (y * Variable(reference["input/w"])).sum().backward()
    let prefix = "mha_\(mask.referenceName)/"
    expectClose(y.value, reference[prefix + "y"], tolerance: tolerance, prefix + "y")
    expectClose(x.grad, reference[prefix + "grad.input"], tolerance: tolerance, prefix + "grad.input")
    for (name, parameter) in attention.namedParameters() {
        expectClose(parameter.grad, reference[prefix + "grad." + name], tolerance: tolerance, prefix + "grad." + name)
    }
}

/// Runs the LayerNorm, Linear and Embedding cases in `T`.
private func checkSmallLayers<T: TensorFloatingPoint>(_ type: T.Type, tolerance: T) throws {
    let reference = try LayerReference<T>()
    var generator = RandomGenerator(seed: 3)

    let norm = LayerNorm<T>(12)
    try norm.loadStateDict(reference.stateDict(prefix: "ln"), strict: true)
    let x1 = Variable(reference["input/x"], requiresGrad: true)
    let y1 = norm(x1)
    (y1 * Variable(reference["input/w"])).sum().backward()
    expectClose(y1.value, reference["ln/y"], tolerance: tolerance, "ln/y")
    expectClose(x1.grad, reference["ln/grad.input"], tolerance: tolerance, "ln/grad.input")
    expectClose(norm.weight.grad, reference["ln/grad.weight"], tolerance: tolerance, "ln/grad.weight")
    expectClose(norm.bias.grad, reference["ln/grad.bias"], tolerance: tolerance, "ln/grad.bias")

    let linear = Linear<T>(12, 7, generator: &generator)
    try linear.loadStateDict(reference.stateDict(prefix: "linear"), strict: true)
    let x2 = Variable(reference["input/x"], requiresGrad: true)
    let y2 = linear(x2)
    (y2 * Variable(reference["linear/w_out"])).sum().backward()
    expectClose(y2.value, reference["linear/y"], tolerance: tolerance, "linear/y")
    expectClose(x2.grad, reference["linear/grad.input"], tolerance: tolerance, "linear/grad.input")
    expectClose(linear.weight.grad, reference["linear/grad.weight"], tolerance: tolerance, "linear/grad.weight")
    expectClose(linear.bias?.grad, reference["linear/grad.bias"], tolerance: tolerance, "linear/grad.bias")

    let embedding = Embedding<T>(count: 9, dimension: 12, generator: &generator)
    try embedding.loadStateDict(reference.stateDict(prefix: "embedding"), strict: true)
    let indices = try reference.file.tensor(named: "embedding/indices", as: Int.self)
    let y3 = embedding(indices)
    (y3 * Variable(reference["input/w"])).sum().backward()
    expectClose(y3.value, reference["embedding/y"], tolerance: tolerance, "embedding/y")
    expectClose(embedding.weight.grad, reference["embedding/grad.weight"], tolerance: tolerance, "embedding/grad.weight")
}

@Suite struct LayerReferenceTests {
    @Test(arguments: [Activation.gelu, .quickGELU], ReferenceMask.allCases)
    func residualAttentionBlockFloat64(activation: Activation, mask: ReferenceMask) throws {
        try checkBlock(Double.self, activation: activation, mask: mask, tolerance: 1e-10)
    }

    @Test(arguments: [Activation.gelu, .quickGELU], ReferenceMask.allCases)
    func residualAttentionBlockFloat32(activation: Activation, mask: ReferenceMask) throws {
        try checkBlock(Float.self, activation: activation, mask: mask, tolerance: 1e-4)
    }

    @Test(arguments: ReferenceMask.allCases)
    func multiheadAttentionFloat64(mask: ReferenceMask) throws {
        try checkMultiheadAttention(Double.self, mask: mask, tolerance: 1e-10)
    }

    @Test(arguments: ReferenceMask.allCases)
    func multiheadAttentionFloat32(mask: ReferenceMask) throws {
        try checkMultiheadAttention(Float.self, mask: mask, tolerance: 1e-4)
    }

    @Test func layerNormLinearEmbeddingFloat64() throws {
        try checkSmallLayers(Double.self, tolerance: 1e-10)
    }

    @Test func layerNormLinearEmbeddingFloat32() throws {
        try checkSmallLayers(Float.self, tolerance: 1e-4)
    }

    /// `namedParameters()` lists exactly PyTorch's state_dict keys, in PyTorch's order.
    @Test func parameterNamesAndOrderMatchPyTorchStateDicts() throws {
        let reference = try LayerReference<Double>()
        var generator = RandomGenerator(seed: 4)
        let expectedBlockKeys = reference.stateDictKeys("block")
        #expect(expectedBlockKeys == [
            "ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight", "attn.out_proj.bias",
            "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
        ])
        for activation in [Activation.gelu, .quickGELU] {
            let block = ResidualAttentionBlock<Double>(width: 12, heads: 3, activation: activation, generator: &generator)
            #expect(block.namedParameters().map(\.name) == expectedBlockKeys)
            #expect(Set(block.stateDict().keys) == Set(expectedBlockKeys))
            for (name, parameter) in block.namedParameters() {
                #expect(parameter.shape == reference[name].shape, "\(name)")
            }
        }
        let attention = MultiheadAttention<Double>(width: 12, heads: 3, generator: &generator)
        #expect(attention.namedParameters().map(\.name) == reference.stateDictKeys("mha"))
        #expect(LayerNorm<Double>(12).namedParameters().map(\.name) == reference.stateDictKeys("ln"))
        #expect(Linear<Double>(12, 7, generator: &generator).namedParameters().map(\.name) == reference.stateDictKeys("linear"))
        #expect(
            Embedding<Double>(count: 9, dimension: 12, generator: &generator).namedParameters().map(\.name)
                == reference.stateDictKeys("embedding"))
    }

    /// A loaded state dict reads back unchanged (and is a copy, not an alias of the source tensors).
    @Test func loadedStateDictReadsBack() throws {
        let reference = try LayerReference<Double>()
        var generator = RandomGenerator(seed: 5)
        let block = ResidualAttentionBlock<Double>(width: 12, heads: 3, generator: &generator)
        let state = reference.tensors.filter { !$0.key.contains("/") }
        try block.loadStateDict(state)
        let readBack = block.stateDict()
        #expect(Set(readBack.keys) == Set(state.keys))
        for (key, value) in state {
            #expect(readBack[key]!.scalars == value.scalars, "\(key)")
        }
    }
}
