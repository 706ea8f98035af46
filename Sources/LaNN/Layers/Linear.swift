import LaTensor

extension Variable {
    /// `x @ weightᵀ + bias` as one op (like `torch.nn.functional.linear`): on LaTensor's kernels the GEMM adds
    /// the bias as it stores the result, elsewhere the bias is written into the output first and the GEMM
    /// accumulates onto it; the weight is read transposed by BLAS, not copied.
    /// Pullback: dx = g W, dW = gᵀ x (one GEMM over all leading axes), db = Σ g (on LaTensor's kernels taken
    /// inside the dW product).
    /// - Parameters:
    ///   - weight: [out, in].
    ///   - bias: [out], or nil.
    @inlinable
    public func linear(weight: Variable, bias: Variable?) -> Variable {
        let x = value, w = weight.value
        checkPrecondition(
            w.rank == 2 && x.rank >= 1 && x.shape[x.rank - 1] == w.shape[1],
            "linear: input shape \(x.shape) does not match weight shape \(w.shape)")
        let outFeatures = w.shape[0], inFeatures = w.shape[1]
        let rows = x.count / Swift.max(inFeatures, 1)
        let outShape = Array(x.shape.dropLast()) + [outFeatures]
        let flat = x.reshaped([rows, inFeatures])
        let output = Tensor<Scalar>(uninitializedShape: [rows, outFeatures])
        // With LaTensor's kernels the bias is added as the GEMM stores its first block; elsewhere it is written into
        // the output first and the GEMM accumulates onto it.
        let fused = bias.map {
            Tensor<Scalar>.fusedGEMM2D(
                flat, w.transposed(), output: output.storage.pointer, ldc: outFeatures, columnBias: $0.value,
                rowSums: nil)
        } ?? false
        if !fused {
            let b = bias?.value
            if rows > 0 && outFeatures > 0 && inFeatures > 0 {
                if let b { output.assign(b.expanded(to: [rows, outFeatures])) }
                Tensor<Scalar>.gemm2D(
                    flat, w.transposed(), output: output.storage.pointer, ldc: outFeatures, beta: b == nil ? 0 : 1)
            } else if let b {
                output.assign(b.expanded(to: [rows, outFeatures]))
            } else {
                output.fill(0)
            }
        }
        let result = output.reshaped(outShape)
        let needX = requiresGrad, needW = weight.requiresGrad, needB = bias?.requiresGrad ?? false
        var inputs = [self, weight]
        if let bias { inputs.append(bias) }
        return Variable.record(result, name: "linear", inputs: inputs) { g in
            let g2 = g.reshaped([rows, outFeatures])
            let dx = needX ? g2.matmul(w).reshaped(x.shape) : nil
            var dW: Tensor<Scalar>? = nil, db: Tensor<Scalar>? = nil
            if needW && needB {
                // dW = gᵀ x, with db = Σ g (the row sums of gᵀ) taken while gᵀ is packed.
                let weightGradient = Tensor<Scalar>(uninitializedShape: [outFeatures, inFeatures])
                let biasGradient = Tensor<Scalar>(uninitializedShape: [outFeatures])
                if Tensor<Scalar>.fusedGEMM2D(
                    g2.transposed(), flat, output: weightGradient.storage.pointer, ldc: inFeatures, columnBias: nil,
                    rowSums: biasGradient.storage.pointer)
                {
                    dW = weightGradient
                    db = biasGradient
                }
            }
            if needW && dW == nil { dW = g2.transposed().matmul(flat) }
            if needB && db == nil { db = g2.sum(axis: 0) }
            var grads: [Tensor<Scalar>?] = [dx, dW]
            if bias != nil { grads.append(db) }
            return grads
        }
    }
}

/// A fully connected layer `y = x Wᵀ + b` with the weight stored [out, in] as in PyTorch.
/// Parameters: `weight`, `bias`.
public final class Linear<Scalar: TensorFloatingPoint>: Module {
    /// [outFeatures, inFeatures].
    public let weight: Variable<Scalar>
    /// [outFeatures], or nil.
    public let bias: Variable<Scalar>?
    /// Training mode.
    public var isTraining = true

    /// Creates a layer with PyTorch's default initialisation (uniform in ±1/sqrt(inFeatures)).
    /// - Parameters:
    ///   - inFeatures: Input width.
    ///   - outFeatures: Output width.
    ///   - bias: Whether to add a bias.
    ///   - generator: The random generator for the initial values.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: inout RandomGenerator) {
        let bound = 1 / Scalar(Swift.max(inFeatures, 1)).squareRoot()
        weight = Variable(Initializer.uniform([outFeatures, inFeatures], bound: bound, generator: &generator), requiresGrad: true)
        self.bias = bias ? Variable(Initializer.uniform([outFeatures], bound: bound, generator: &generator), requiresGrad: true) : nil
    }

    /// The parameters `weight` and `bias`.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// Applies the layer to the last axis of `input`.
    /// - Parameter input: [..., inFeatures].
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        input.linear(weight: weight, bias: bias)
    }
}
