import LaTensor

// Differentiable reductions, softmax, log-softmax, logsumexp and L2 normalisation.

extension Variable {
    /// The shape with reduced axes kept as size 1 (for broadcasting a gradient back).
    @inlinable
    func keptShape(_ axes: [Int]?) -> [Int] {
        guard let axes else { return [Int](repeating: 1, count: rank) }
        var result = shape
        for axis in axes { result[axis < 0 ? axis + rank : axis] = 1 }
        return result
    }

    /// Sum over `axes` (nil = all).
    /// - Parameters:
    ///   - axes: The axes to reduce.
    ///   - keepDims: Keep them as size 1.
    @inlinable
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Variable {
        let original = shape, kept = keptShape(axes)
        return Variable.record(value.sum(axes: axes, keepDims: keepDims), name: "sum", inputs: [self]) { g in
            [g.reshaped(kept).expanded(to: original)]
        }
    }
    /// Sum over one axis.
    /// - Parameters:
    ///   - axis: The axis.
    ///   - keepDims: Keep it as size 1.
    @inlinable
    public func sum(axis: Int, keepDims: Bool = false) -> Variable { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (nil = all).
    /// - Parameters:
    ///   - axes: The axes to reduce.
    ///   - keepDims: Keep them as size 1.
    @inlinable
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Variable {
        let original = shape, kept = keptShape(axes)
        let n = Scalar(value.count / Swift.max(kept.reduce(1, *), 1))
        return Variable.record(value.mean(axes: axes, keepDims: keepDims), name: "mean", inputs: [self]) { g in
            [(g / n).reshaped(kept).expanded(to: original)]
        }
    }
    /// Mean over one axis.
    /// - Parameters:
    ///   - axis: The axis.
    ///   - keepDims: Keep it as size 1.
    @inlinable
    public func mean(axis: Int, keepDims: Bool = false) -> Variable { mean(axes: [axis], keepDims: keepDims) }

    /// Maximum over `axes`; the gradient is shared evenly among tied maxima (like `torch.amax`).
    /// - Parameters:
    ///   - axes: The axes to reduce (nil = all).
    ///   - keepDims: Keep them as size 1.
    @inlinable
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Variable {
        extreme(value.max(axes: axes, keepDims: true), axes: axes, keepDims: keepDims, name: "max")
    }
    /// Minimum over `axes`; the gradient is shared evenly among tied minima (like `torch.amin`).
    /// - Parameters:
    ///   - axes: The axes to reduce (nil = all).
    ///   - keepDims: Keep them as size 1.
    @inlinable
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Variable {
        extreme(value.min(axes: axes, keepDims: true), axes: axes, keepDims: keepDims, name: "min")
    }

    @inlinable
    func extreme(_ kept: Tensor<Scalar>, axes: [Int]?, keepDims: Bool, name: String) -> Variable {
        let x = value
        let result = keepDims ? kept : kept.reshaped(value.sum(axes: axes, keepDims: false).shape)
        let keptShape = kept.shape
        return Variable.record(result, name: name, inputs: [self]) { g in
            let mask = x.zip(kept, operation: name + ".backward") { v, m -> Scalar in v == m ? 1 : 0 }
            let ties = mask.sum(axes: axes, keepDims: true)
            return [mask * (g.reshaped(keptShape) / ties)]
        }
    }

    /// Variance over `axes` with Bessel's `correction` (1 = unbiased).
    /// - Parameters:
    ///   - axes: The axes to reduce (nil = all).
    ///   - correction: Subtracted from the count in the denominator.
    ///   - keepDims: Keep them as size 1.
    @inlinable
    public func variance(axes: [Int]? = nil, correction: Int = 1, keepDims: Bool = false) -> Variable {
        let centered = self - mean(axes: axes, keepDims: true)
        let n = value.count / Swift.max(keptShape(axes).reduce(1, *), 1)
        return centered.square().sum(axes: axes, keepDims: keepDims) / Scalar(Swift.max(n - correction, 0))
    }

    /// The 2-norm over `axes` (nil = all).
    /// - Parameters:
    ///   - axes: The axes to reduce.
    ///   - keepDims: Keep them as size 1.
    @inlinable
    public func norm(axes: [Int]? = nil, keepDims: Bool = false) -> Variable {
        let x = value, kept = keptShape(axes)
        let n = x.norm(axes: axes, keepDims: true)
        let result = keepDims ? n : n.reshaped(x.sum(axes: axes).shape)
        return Variable.record(result, name: "norm", inputs: [self]) { g in
            [x.zip(n, operation: "norm.backward") { v, m in m == 0 ? 0 : v / m } * g.reshaped(kept)]
        }
    }

    /// log(sum(exp(x))) over `axes`, stable.
    /// - Parameters:
    ///   - axes: The axes to reduce (nil = all).
    ///   - keepDims: Keep them as size 1.
    @inlinable
    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) -> Variable {
        let x = value, kept = keptShape(axes)
        let lse = x.logSumExp(axes: axes, keepDims: true)
        let result = keepDims ? lse : lse.reshaped(x.sum(axes: axes).shape)
        return Variable.record(result, name: "logSumExp", inputs: [self]) { g in
            [(x - lse).exp() * g.reshaped(kept)]
        }
    }

    /// Softmax along `axis`. Pullback: y ⊙ (g - Σ g ⊙ y).
    /// - Parameter axis: The axis.
    @inlinable
    public func softmax(axis: Int = -1) -> Variable {
        let y = value.softmax(axis: axis)
        return Variable.record(y, name: "softmax", inputs: [self]) { g in
            let gy = g * y
            return [gy - y * gy.sum(axis: axis, keepDims: true)]
        }
    }

    /// Log-softmax along `axis`. Pullback: g - softmax ⊙ Σ g.
    /// - Parameter axis: The axis.
    @inlinable
    public func logSoftmax(axis: Int = -1) -> Variable {
        let y = value.logSoftmax(axis: axis)
        return Variable.record(y, name: "logSoftmax", inputs: [self]) { g in
            [g - y.exp() * g.sum(axis: axis, keepDims: true)]
        }
    }

    /// x / max(‖x‖₂, epsilon) along `axis`, like `F.normalize`.
    /// - Parameters:
    ///   - axis: The axis of each vector.
    ///   - epsilon: The smallest norm divided by.
    @inlinable
    public func l2Normalized(axis: Int = -1, epsilon: Scalar = 1e-12) -> Variable {
        let x = value
        let n = x.norm(axes: [axis], keepDims: true)
        let y = x.l2Normalized(axis: axis, epsilon: epsilon)
        return Variable.record(y, name: "l2Normalized", inputs: [self]) { g in
            let clamped = n.map { Swift.max($0, epsilon) }
            let projected = (g * y).sum(axis: axis, keepDims: true)
            // Where the norm is clamped, the denominator is a constant and only g / epsilon flows.
            let active = n.map { $0 > epsilon ? Scalar(1) : 0 }
            return [(g - y * projected * active) / clamped]
        }
    }
}
