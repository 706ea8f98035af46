import LaTensor

extension Variable where Scalar == Float {
    /// Every rank's rows of this variable, concatenated in rank order along axis 0 (`[worldSize · N, ...]`),
    /// with gradient: the pullback sums the incoming gradient over ranks and hands each rank the slice of its
    /// own rows (a reduce-scatter), so a loss computed on every rank from the gathered features sends each
    /// rank the whole gradient of its own features — open_clip's `gather_with_grad`.
    ///
    /// On one process this is the variable itself. Every rank must call it with the same shape.
    /// - Parameter context: The processes.
    /// - Returns: The gathered variable.
    /// - Throws: `DistributedError` from the forward all-gather. A failure of the backward reduce-scatter is
    ///   stored in `context.deferredFailure` (the gradient is then zero) for the caller of `backward()`.
    public func allGathered(over context: any DistributedContext) throws(DistributedError) -> Variable {
        let world = context.worldSize
        guard world > 1 else { return self }
        checkPrecondition(rank >= 1, "allGathered: needs a tensor with a leading axis, got shape \(shape)")
        let local = value.contiguous()
        let gathered = Tensor<Float>(uninitializedShape: [world * shape[0]] + Array(shape.dropFirst()))
        try context.allGather(
            UnsafeBufferPointer(start: local.storage.pointer + local.offset, count: local.count),
            into: UnsafeMutableBufferPointer(start: gathered.storage.pointer, count: gathered.count))
        let localShape = shape
        return Variable.record(gathered, name: "allGather", inputs: [self]) { [context] gradient in
            let dense = gradient.contiguous()
            let result = Tensor<Float>(uninitializedShape: localShape)
            do throws(DistributedError) {
                try context.reduceScatterSum(
                    UnsafeBufferPointer(start: dense.storage.pointer + dense.offset, count: dense.count),
                    into: UnsafeMutableBufferPointer(start: result.storage.pointer, count: result.count))
            } catch {
                if context.deferredFailure == nil { context.deferredFailure = error }
                return [Tensor<Float>.zeros(localShape)]
            }
            return [result]
        }
    }
}
