import LaTensor

extension Variable {
    /// `x @ weightᵀ + bias` as one op (like `torch.nn.functional.linear`): the bias is written into the
    /// output first and the GEMM accumulates onto it; the weight is read transposed by BLAS, not copied.
    /// Pullback: dx = g W, dW = gᵀ x (one GEMM over all leading axes), db = Σ g.
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
        if let b = bias?.value {
            output.assign(b.expanded(to: [rows, outFeatures]))
        } else {
            output.fill(0)
        }
        if rows > 0 && outFeatures > 0 && inFeatures > 0 {
            Tensor<Scalar>.gemm2D(flat, w.transposed(), output: output.storage.pointer, ldc: outFeatures, beta: 1)
        }
        let result = output.reshaped(outShape)
        let needX = requiresGrad, needW = weight.requiresGrad, needB = bias?.requiresGrad ?? false
        var inputs = [self, weight]
        if let bias { inputs.append(bias) }
        return Variable.record(result, name: "linear", inputs: inputs) { g in
            let g2 = g.reshaped([rows, outFeatures])
            var grads: [Tensor<Scalar>?] = [
                needX ? g2.matmul(w).reshaped(x.shape) : nil,
                needW ? g2.transposed().matmul(flat) : nil,
            ]
            if bias != nil { grads.append(needB ? g2.sum(axis: 0) : nil) }
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
