/// Copying ops that join tensors: concatenate and stack.
extension Tensor {
    /// Joins tensors along an existing axis, like `torch.cat`.
    /// - Parameters:
    ///   - tensors: The pieces; all shapes must agree except along `axis`.
    ///   - axis: The axis to join along.
    @inlinable
    public static func concatenate(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        checkPrecondition(!tensors.isEmpty, "concatenate: no tensors given")
        let first = tensors[0]
        let a = first.normalizedAxis(axis, operation: "concatenate")
        var total = 0
        for t in tensors {
            checkPrecondition(
                t.rank == first.rank
                    && (0..<first.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                "concatenate: shapes \(tensors.map(\.shape)) differ outside axis \(axis)")
            total += t.shape[a]
        }
        var outShape = first.shape
        outShape[a] = total
        let result = Tensor(uninitializedShape: outShape)
        var start = 0
        for t in tensors {
            result.slice(axis: a, start..<(start + t.shape[a])).assign(t)
            start += t.shape[a]
        }
        return result
    }

    /// Joins tensors of equal shape along a new axis, like `torch.stack`.
    /// - Parameters:
    ///   - tensors: The pieces; all shapes must be equal.
    ///   - axis: Where the new axis goes (in `-rank-1 ... rank`).
    @inlinable
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        checkPrecondition(!tensors.isEmpty, "stack: no tensors given")
        checkPrecondition(
            tensors.allSatisfy { $0.shape == tensors[0].shape },
            "stack: shapes differ: \(tensors.map(\.shape))")
        return concatenate(tensors.map { $0.unsqueezed(axis: axis) }, axis: axis < 0 ? axis : axis)
    }
}
