extension Tensor {
    /// Calls `body(inputOffset, outputOffset)` for every 1-D lane along `axis`, in parallel for large
    /// tensors. The lane's elements are at `inputOffset + i * strides[axis]` in `storage` and at
    /// `outputOffset + i * outputStrides[axis]` in the output.
    /// - Parameters:
    ///   - axis: The (normalised) lane axis.
    ///   - outputStrides: Strides of an output with the same rank (pass `strides` if unused).
    ///   - outputOffset: The output's base offset.
    ///   - cost: Work per lane element.
    ///   - body: The lane kernel; called concurrently on distinct lanes.
    @inlinable
    func forEachLane(
        axis: Int, outputStrides: [Int], outputOffset: Int = 0, cost: Int = 1, _ body: (Int, Int) -> Void
    ) {
        var keptShape: [Int] = []
        var keptInput: [Int] = []
        var keptOutput: [Int] = []
        for a in 0..<rank where a != axis {
            keptShape.append(shape[a])
            keptInput.append(strides[a])
            keptOutput.append(outputStrides[a])
        }
        let loop = StridedLoop(shape: keptShape, strides: [keptInput, keptOutput], offsets: [offset, outputOffset])
        let lanes = loop.count
        Threading.parallelFor(total: lanes, cost: Swift.max(shape[axis], 1) * cost) { range in
            loop.forEachRun(in: range) { position, n, step in
                for i in 0..<n { body(position[0] &+ i &* step[0], position[1] &+ i &* step[1]) }
            }
        }
    }

    /// Normalises a list of axes (nil = all), stopping on duplicates or out-of-range axes.
    @inlinable
    func normalizedAxes(_ axes: [Int]?, operation: String) -> [Bool] {
        var reduced = [Bool](repeating: axes == nil, count: rank)
        for axis in axes ?? [] {
            let a = normalizedAxis(axis, operation: operation)
            checkPrecondition(!reduced[a], "\(operation): axis \(axis) repeated in \(axes!) for shape \(shape)")
            reduced[a] = true
        }
        return reduced
    }
}
