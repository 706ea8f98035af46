import LaTensor

// Differentiable views and joins. Forwards share storage (no copies); pullbacks route the gradient back.

extension Variable {
    /// Reshape (a view when the layout allows).
    /// - Parameter newShape: The new shape; one dimension may be -1.
    @inlinable
    public func reshaped(_ newShape: [Int]) -> Variable {
        let original = shape
        return Variable.record(value.reshaped(newShape), name: "reshape", inputs: [self]) { g in [g.reshaped(original)] }
    }

    /// Flattens axes `startAxis ... endAxis`.
    /// - Parameters:
    ///   - startAxis: The first axis to merge.
    ///   - endAxis: The last axis to merge.
    @inlinable
    public func flattened(startAxis: Int = 0, endAxis: Int = -1) -> Variable {
        let original = shape
        return Variable.record(value.flattened(startAxis: startAxis, endAxis: endAxis), name: "flatten", inputs: [self]) { g in
            [g.reshaped(original)]
        }
    }

    /// Reorders axes.
    /// - Parameter axes: A permutation of the axes.
    @inlinable
    public func permuted(_ axes: [Int]) -> Variable {
        let result = value.permuted(axes)
        let resolved = axes.map { $0 < 0 ? $0 + rank : $0 }
        var inverse = [Int](repeating: 0, count: resolved.count)
        for (i, a) in resolved.enumerated() { inverse[a] = i }
        return Variable.record(result, name: "permute", inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two axes.
    /// - Parameters:
    ///   - axis0: The first axis.
    ///   - axis1: The second axis.
    @inlinable
    public func transposed(_ axis0: Int, _ axis1: Int) -> Variable {
        Variable.record(value.transposed(axis0, axis1), name: "transpose", inputs: [self]) { g in [g.transposed(axis0, axis1)] }
    }

    /// Swaps the last two axes (matrix transpose).
    @inlinable
    public func transposed() -> Variable { rank < 2 ? self : transposed(-2, -1) }

    /// A slice along one axis with a step.
    /// - Parameters:
    ///   - axis: The axis.
    ///   - range: The index range.
    ///   - step: A positive step.
    @inlinable
    public func slice(axis: Int, _ range: Range<Int>, step: Int = 1) -> Variable {
        let original = shape
        return Variable.record(value.slice(axis: axis, range, step: step), name: "slice", inputs: [self]) { g in
            let full = Tensor<Scalar>.zeros(original)
            full.slice(axis: axis, range, step: step).assign(g)
            return [full]
        }
    }

    /// The sub-tensor at `index` along `axis` (axis removed).
    /// - Parameters:
    ///   - axis: The axis.
    ///   - index: The position.
    @inlinable
    public func select(axis: Int, index: Int) -> Variable {
        let original = shape
        return Variable.record(value.select(axis: axis, index: index), name: "select", inputs: [self]) { g in
            let full = Tensor<Scalar>.zeros(original)
            full.select(axis: axis, index: index).assign(g)
            return [full]
        }
    }

    /// Inserts a size-1 axis.
    /// - Parameter axis: Where it goes.
    @inlinable
    public func unsqueezed(axis: Int) -> Variable {
        let original = shape
        return Variable.record(value.unsqueezed(axis: axis), name: "unsqueeze", inputs: [self]) { g in [g.reshaped(original)] }
    }

    /// Removes a size-1 axis (or all of them).
    /// - Parameter axis: The axis, or nil for every size-1 axis.
    @inlinable
    public func squeezed(axis: Int? = nil) -> Variable {
        let original = shape
        return Variable.record(value.squeezed(axis: axis), name: "squeeze", inputs: [self]) { g in [g.reshaped(original)] }
    }

    /// Broadcasts to a larger shape without copying; the pullback sums over the broadcast axes.
    /// - Parameter newShape: The target shape (-1 keeps a dimension).
    @inlinable
    public func expanded(to newShape: [Int]) -> Variable {
        let original = shape
        return Variable.record(value.expanded(to: newShape), name: "expand", inputs: [self]) { g in [g.unbroadcast(to: original)] }
    }

    /// Splits an axis into pieces of the given sizes.
    /// - Parameters:
    ///   - sizes: The piece sizes.
    ///   - axis: The axis.
    @inlinable
    public func split(sizes: [Int], axis: Int = 0) -> [Variable] {
        let a = value.normalizedAxis(axis, operation: "split")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return slice(axis: a, start..<(start + size))
        }
    }

    /// Splits an axis into `count` nearly equal chunks.
    /// - Parameters:
    ///   - count: The number of chunks.
    ///   - axis: The axis.
    @inlinable
    public func chunked(_ count: Int, axis: Int = 0) -> [Variable] {
        let a = value.normalizedAxis(axis, operation: "chunk")
        return value.chunked(count, axis: a).reduce(into: ([Variable](), 0)) { state, piece in
            state.0.append(slice(axis: a, state.1..<(state.1 + piece.shape[a])))
            state.1 += piece.shape[a]
        }.0
    }

    /// Joins variables along an existing axis.
    /// - Parameters:
    ///   - variables: The pieces.
    ///   - axis: The axis.
    @inlinable
    public static func concatenate(_ variables: [Variable], axis: Int = 0) -> Variable {
        let result = Tensor<Scalar>.concatenate(variables.map(\.value), axis: axis)
        let a = result.normalizedAxis(axis, operation: "concatenate")
        let sizes = variables.map { $0.shape[a] }
        return record(result, name: "concatenate", inputs: variables) { g in g.split(sizes: sizes, axis: a).map { $0 } }
    }

    /// Joins equally shaped variables along a new axis.
    /// - Parameters:
    ///   - variables: The pieces.
    ///   - axis: Where the new axis goes.
    @inlinable
    public static func stack(_ variables: [Variable], axis: Int = 0) -> Variable {
        let result = Tensor<Scalar>.stack(variables.map(\.value), axis: axis)
        let a = axis < 0 ? axis + result.rank : axis
        return record(result, name: "stack", inputs: variables) { g in
            (0..<variables.count).map { g.select(axis: a, index: $0) }
        }
    }
}
