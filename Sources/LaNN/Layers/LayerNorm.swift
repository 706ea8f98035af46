import LaTensor

extension Variable {
    /// Layer normalisation over the last axis as one fused op: `(x - mean) / sqrt(var + eps) * weight + bias`
    /// with the biased variance, like `torch.nn.functional.layer_norm`. The forward saves only the per-row
    /// mean and reciprocal standard deviation; the pullback recomputes the normalised input.
    /// - Parameters:
    ///   - weight: [D] gain, or nil.
    ///   - bias: [D] shift, or nil.
    ///   - epsilon: Added to the variance.
    @inlinable
    public func layerNorm(weight: Variable?, bias: Variable?, epsilon: Scalar = 1e-5) -> Variable {
        let x = value.contiguous()
        let d = x.shape[x.rank - 1]
        checkPrecondition(weight == nil || weight!.shape == [d], "layerNorm: weight shape \(weight!.shape) does not match input \(x.shape)")
        checkPrecondition(bias == nil || bias!.shape == [d], "layerNorm: bias shape \(bias!.shape) does not match input \(x.shape)")
        let rows = x.count / Swift.max(d, 1)
        let output = Tensor<Scalar>(uninitializedShape: x.shape)
        let means = Tensor<Scalar>(uninitializedShape: [rows])
        let inverseStd = Tensor<Scalar>(uninitializedShape: [rows])
        let gamma = weight?.value.contiguous(), beta = bias?.value.contiguous()
        let px = UnsafePointer(x.storage.pointer + x.offset), py = output.storage.pointer
        let pm = means.storage.pointer, ps = inverseStd.storage.pointer
        let pg = gamma.map { UnsafePointer($0.storage.pointer + $0.offset) }
        let pb = beta.map { UnsafePointer($0.storage.pointer + $0.offset) }
        withExtendedLifetime((x, gamma, beta)) {
            Threading.parallelFor(total: rows, cost: 6 * d) { range in
                for r in range {
                    let row = px + r * d, out = py + r * d
                    let mean = laneSum(count: d) { row[$0] } / Scalar(d)
                    let squares = laneSum(count: d) { let c = row[$0] - mean; return c * c }
                    let rstd = 1 / (squares / Scalar(d) + epsilon).squareRoot()
                    pm[r] = mean
                    ps[r] = rstd
                    switch (pg, pb) {
                    case let (g?, b?): for i in 0..<d { out[i] = (row[i] - mean) * rstd * g[i] + b[i] }
                    case let (g?, nil): for i in 0..<d { out[i] = (row[i] - mean) * rstd * g[i] }
                    case let (nil, b?): for i in 0..<d { out[i] = (row[i] - mean) * rstd + b[i] }
                    case (nil, nil): for i in 0..<d { out[i] = (row[i] - mean) * rstd }
                    }
                }
            }
        }
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let needX = requiresGrad, needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
        let hasW = weight != nil, hasB = bias != nil
        return Variable.record(output, name: "layerNorm", inputs: inputs) { g in
            let gc = g.contiguous()
            let dx = Tensor<Scalar>(uninitializedShape: x.shape)
            let chunks = Swift.max(1, Swift.min(Threading.threadCount, rows))
            // Per-chunk partial sums for dW and dB, reduced afterwards (no write sharing between threads).
            let partialW = Tensor<Scalar>.zeros([chunks, d]), partialB = Tensor<Scalar>.zeros([chunks, d])
            let unitGain = gamma ?? Tensor<Scalar>.ones([d])
            let pgrad = UnsafePointer(gc.storage.pointer + gc.offset), pdx = dx.storage.pointer
            let ppw = partialW.storage.pointer, ppb = partialB.storage.pointer
            let gain = UnsafePointer(unitGain.storage.pointer + unitGain.offset)
            withExtendedLifetime((x, gc, unitGain, means, inverseStd)) {
                Threading.parallelFor(total: chunks, cost: rows * d * 8 / chunks) { chunkRange in
                    for chunk in chunkRange {
                        let lo = rows * chunk / chunks, hi = rows * (chunk + 1) / chunks
                        let accW = ppw + chunk * d, accB = ppb + chunk * d
                        for r in lo..<hi {
                            let row = px + r * d, gr = pgrad + r * d, out = pdx + r * d
                            let mean = pm[r], rstd = ps[r]
                            let sumDy = laneSum(count: d) { gr[$0] * gain[$0] }
                            let sumDyXhat = laneSum(count: d) { gr[$0] * gain[$0] * ((row[$0] - mean) * rstd) }
                            for i in 0..<d {
                                accW[i] += gr[i] * ((row[i] - mean) * rstd)
                                accB[i] += gr[i]
                            }
                            if needX {
                                let meanDy = sumDy / Scalar(d), meanDyXhat = sumDyXhat / Scalar(d)
                                for i in 0..<d {
                                    let xhat = (row[i] - mean) * rstd
                                    out[i] = rstd * (gr[i] * gain[i] - meanDy - xhat * meanDyXhat)
                                }
                            }
                        }
                    }
                }
            }
            var grads: [Tensor<Scalar>?] = [needX ? dx : nil]
            if hasW { grads.append(needW ? partialW.sum(axis: 0) : nil) }
            if hasB { grads.append(needB ? partialB.sum(axis: 0) : nil) }
            return grads
        }
    }
}

/// Layer normalisation over the last axis with a learnable gain and shift. Parameters: `weight`, `bias`.
public final class LayerNorm<Scalar: TensorFloatingPoint>: Module {
    /// [D] gain, initialised to 1.
    public let weight: Variable<Scalar>
    /// [D] shift, initialised to 0.
    public let bias: Variable<Scalar>
    /// Added to the variance.
    public let epsilon: Scalar
    /// Training mode.
    public var isTraining = true

    /// Creates a layer norm over `dimension` features.
    /// - Parameters:
    ///   - dimension: The size of the normalised (last) axis.
    ///   - epsilon: Added to the variance (PyTorch's default 1e-5).
    public init(_ dimension: Int, epsilon: Scalar = 1e-5) {
        weight = Variable(Tensor<Scalar>.ones([dimension]), requiresGrad: true)
        bias = Variable(Tensor<Scalar>.zeros([dimension]), requiresGrad: true)
        self.epsilon = epsilon
    }

    /// The parameters `weight` and `bias`.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] { [("weight", weight), ("bias", bias)] }

    /// Normalises the last axis of `input`.
    /// - Parameter input: [..., D].
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        input.layerNorm(weight: weight, bias: bias, epsilon: epsilon)
    }
}

/// The sum of `term(0) ..< term(count)` in eight interleaved partial sums (lane i takes the terms i, i + 8, ...),
/// which the compiler turns into vector adds; a plain running sum is one dependent add per term.
/// - Parameters:
///   - count: The number of terms.
///   - term: The i-th term.
@inlinable @inline(__always)
func laneSum<Scalar: TensorFloatingPoint>(count: Int, _ term: (Int) -> Scalar) -> Scalar {
    var s0: Scalar = 0, s1: Scalar = 0, s2: Scalar = 0, s3: Scalar = 0
    var s4: Scalar = 0, s5: Scalar = 0, s6: Scalar = 0, s7: Scalar = 0
    var i = 0
    while i + 8 <= count {
        s0 += term(i); s1 += term(i + 1); s2 += term(i + 2); s3 += term(i + 3)
        s4 += term(i + 4); s5 += term(i + 5); s6 += term(i + 6); s7 += term(i + 7)
        i += 8
    }
    while i < count {
        s0 += term(i)
        i += 1
    }
    return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
}
