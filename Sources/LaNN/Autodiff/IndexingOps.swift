import LaTensor

// Differentiable index-based ops: index-select (embedding lookup), gather. Pullbacks scatter-add.

extension Variable {
    /// Picks entries `indices` along `axis` (an embedding lookup along axis 0). Repeated indices accumulate
    /// their gradients.
    /// - Parameters:
    ///   - indices: Positions along `axis`.
    ///   - axis: The axis.
    @inlinable
    public func indexSelect(_ indices: Tensor<Int>, axis: Int = 0) -> Variable {
        let original = shape
        return Variable.record(value.indexSelect(indices, axis: axis), name: "indexSelect", inputs: [self]) { g in
            let full = Tensor<Scalar>.zeros(original)
            full.indexAddInPlace(indices, source: g, axis: axis)
            return [full]
        }
    }

    /// `out[..., i, ...] = self[..., index[..., i, ...], ...]` along `axis`, like `torch.gather`.
    /// - Parameters:
    ///   - axis: The axis.
    ///   - indices: Same rank as `self`.
    @inlinable
    public func gather(axis: Int, indices: Tensor<Int>) -> Variable {
        let original = shape
        return Variable.record(value.gather(axis: axis, indices: indices), name: "gather", inputs: [self]) { g in
            let full = Tensor<Scalar>.zeros(original)
            full.scatterAddInPlace(axis: axis, indices: indices, source: g.contiguous())
            return [full]
        }
    }
}
