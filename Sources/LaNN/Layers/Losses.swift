import LaTensor

extension Variable {
    /// Mean cross-entropy of `self` (logits, [N, C]) against integer class targets, as one fused op
    /// (`torch.nn.functional.cross_entropy` with mean reduction). Stable: uses log-softmax.
    /// Pullback: (softmax(logits) - onehot(targets)) / N.
    /// - Parameter targets: [N] class indices in `0 ..< C`.
    @inlinable
    public func crossEntropy(targets: Tensor<Int>) -> Variable {
        checkPrecondition(
            rank == 2 && targets.rank == 1 && targets.shape[0] == shape[0],
            "crossEntropy: logits shape \(shape) and targets shape \(targets.shape) do not fit [N, C] and [N]")
        let n = shape[0], c = shape[1]
        let logProbabilities = value.logSoftmax(axis: 1)
        let labels = targets.scalars
        var total: Scalar = 0
        for (row, label) in labels.enumerated() {
            checkPrecondition(label >= 0 && label < c, "crossEntropy: target \(label) out of range for \(c) classes")
            total -= logProbabilities[element: row, label]
        }
        let loss = Tensor<Scalar>(scalar: n == 0 ? 0 : total / Scalar(n))
        return Variable.record(loss, name: "crossEntropy", inputs: [self]) { g in
            let scale = g.item / Scalar(Swift.max(n, 1))
            let grad = logProbabilities.exp()
            let p = grad.storage.pointer
            for (row, label) in labels.enumerated() { p[row * c + label] -= 1 }
            grad.multiplyInPlace(scale)
            return [grad]
        }
    }

    /// log σ(x) elementwise, computed stably as min(x, 0) - log(1 + e^-|x|). Derivative: σ(-x).
    @inlinable
    public func logSigmoid() -> Variable {
        let x = value
        let y = x.map(cost: 10) { v in Swift.min(v, 0) - Scalar.log1p(Scalar.exp(-Swift.abs(v))) }
        return Variable.record(y, name: "logSigmoid", inputs: [self]) { g in
            [g.zip(x, operation: "logSigmoid.backward") { g, v in g * Tensor<Scalar>.sigmoid(-v) }]
        }
    }
}
