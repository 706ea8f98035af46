import CLaKernels

/// Reductions over any set of axes, with `keepDims` like NumPy and PyTorch.
extension Tensor where Scalar: TensorNumeric {
    /// The reduction engine: folds the elements over `axes` with `combine`, starting from `initial`.
    /// - Parameters:
    ///   - axes: The axes to reduce (nil = all); negative axes count from the end.
    ///   - keepDims: Keep reduced axes as size 1.
    ///   - operation: The op name used in error messages.
    ///   - initial: The fold's starting value (the identity of `combine`).
    ///   - combine: An associative, commutative combination.
    @inlinable
    public func reduce(
        axes: [Int]?, keepDims: Bool, operation: String, initial: Scalar, _ combine: (Scalar, Scalar) -> Scalar
    ) -> Tensor {
        withoutActuallyEscaping(combine) { body in
            reduce(axes: axes, keepDims: keepDims, operation: operation, initial: initial, kernel: ClosureReductionKernel(body))
        }
    }

    /// The reduction engine with a kernel type: the loops are specialised per kernel, dense runs go through
    /// `kernel.fold` (vectorised for the built-in Float sum, max and min), and a reduction to fewer outputs
    /// than worker threads (such as a full reduction) splits the reduced range over the workers and combines
    /// their partial results.
    /// - Parameters:
    ///   - axes: The axes to reduce (nil = all); negative axes count from the end.
    ///   - keepDims: Keep reduced axes as size 1.
    ///   - operation: The op name used in error messages.
    ///   - initial: The fold's starting value (the identity of the kernel's combination).
    ///   - kernel: An associative, commutative combination.
    @inlinable
    public func reduce<K: ReductionKernel>(
        axes: [Int]?, keepDims: Bool, operation: String, initial: Scalar, kernel: K
    ) -> Tensor where K.Element == Scalar {
        let reduced = normalizedAxes(axes, operation: operation)
        var keptShape: [Int] = [], keptStrides: [Int] = []
        var reducedShape: [Int] = [], reducedStrides: [Int] = []
        var keepDimsShape: [Int] = []
        for a in 0..<rank {
            if reduced[a] {
                reducedShape.append(shape[a]); reducedStrides.append(strides[a]); keepDimsShape.append(1)
            } else {
                keptShape.append(shape[a]); keptStrides.append(strides[a]); keepDimsShape.append(shape[a])
            }
        }
        let result = Tensor(uninitializedShape: keepDims ? keepDimsShape : keptShape)
        let output = result.storage.pointer
        let input = UnsafePointer(storage.pointer)
        let outCount = keptShape.reduce(1, *)
        let inner = StridedLoop(shape: reducedShape, strides: [reducedStrides], offsets: [0])
        let innerCount = inner.count
        /// Folds the reduced elements with linear index in `range`, starting at `base`, into `start`.
        func foldInner(_ base: UnsafePointer<Scalar>, _ range: Range<Int>, _ start: Scalar) -> Scalar {
            var acc = start
            inner.forEachRun(in: range) { p, m, s in
                let x = base + p[0]
                if s[0] == 1 {
                    acc = kernel.fold(x, count: m, into: acc)
                } else {
                    let st = s[0]
                    for j in 0..<m { acc = kernel(acc, x[j &* st]) }
                }
            }
            return acc
        }
        withExtendedLifetime(storage) {
            let threads = Threading.threadCount
            // Few outputs, many inputs (a full reduction has one output): split each output's reduced range
            // into chunks, fold them on the workers and combine the partials in order. The chunking depends
            // only on the shape, never on the thread count, so results are the same for every thread count.
            if outCount < 4 && innerCount >= Threading.minimumParallelWork {
                let outerLoop = StridedLoop(shape: keptShape, strides: [keptStrides], offsets: [offset])
                var index = 0
                outerLoop.forEachRun(in: 0..<outCount) { position, n, step in
                    for i in 0..<n {
                        let base = input + position[0] + i * step[0]
                        let chunks = Swift.min(64, innerCount / 8192)
                        var partials = [Scalar](repeating: initial, count: chunks)
                        partials.withUnsafeMutableBufferPointer { buffer in
                            let slots = buffer.baseAddress!
                            Threading.parallelFor(total: chunks, cost: innerCount / chunks) { range in
                                for chunk in range {
                                    let lo = innerCount * chunk / chunks, hi = innerCount * (chunk + 1) / chunks
                                    slots[chunk] = foldInner(base, lo..<hi, initial)
                                }
                            }
                        }
                        var acc = initial
                        for partial in partials { acc = kernel(acc, partial) }
                        output[index] = acc
                        index += 1
                    }
                }
                return
            }
            // Column-style reduction: the last kept axis is dense in memory and the reduced axes are not
            // innermost, so whole rows are accumulated at once (e.g. summing [N, D] over N).
            if let last = keptShape.last, keptStrides.last == 1, last >= 16, rank > 0, !reduced[rank - 1] {
                let outer = outCount / last
                let columnChunks = Swift.max(1, Swift.min(threads, last / 64))
                let outerLoop = StridedLoop(
                    shape: Array(keptShape.dropLast()), strides: [Array(keptStrides.dropLast())], offsets: [offset])
                let outerOffsets = (0..<outer).map { index -> Int in
                    var o = 0
                    outerLoop.forEachRun(in: index..<(index + 1)) { position, _, _ in o = position[0] }
                    return o
                }
                Threading.parallelFor(total: outer * columnChunks, cost: innerCount * last / columnChunks) { range in
                    for job in range {
                        let row = job / columnChunks, chunk = job % columnChunks
                        let lo = last * chunk / columnChunks, hi = last * (chunk + 1) / columnChunks
                        let accumulator = output + row * last + lo
                        let width = hi - lo
                        for d in 0..<width { accumulator[d] = initial }
                        let base = input + outerOffsets[row] + lo
                        inner.forEachRun(in: 0..<innerCount) { position, n, step in
                            for r in 0..<n {
                                let source = base + position[0] + r * step[0]
                                for d in 0..<width { accumulator[d] = kernel(accumulator[d], source[d]) }
                            }
                        }
                    }
                }
                return
            }
            let outerLoop = StridedLoop(shape: keptShape, strides: [keptStrides], offsets: [offset])
            Threading.parallelFor(total: outCount, cost: Swift.max(innerCount, 1)) { range in
                var index = range.lowerBound
                outerLoop.forEachRun(in: range) { position, n, step in
                    for i in 0..<n {
                        output[index] = foldInner(input + position[0] + i * step[0], 0..<innerCount, initial)
                        index += 1
                    }
                }
            }
        }
        return result
    }

    /// The identity of `max` (`lowest`) or `min`: -inf / +inf for floating point, `.min` / `.max` for integers.
    @inlinable
    static func extremeValue(lowest: Bool) -> Scalar {
        if let type = Scalar.self as? any FloatingPoint.Type { return floatingExtreme(type, lowest: lowest) as! Scalar }
        if let type = Scalar.self as? any FixedWidthInteger.Type { return integerExtreme(type, lowest: lowest) as! Scalar }
        misuseDetected("max/min: unsupported element type \(Scalar.self)")
    }

    @inlinable
    static func floatingExtreme<F: FloatingPoint>(_: F.Type, lowest: Bool) -> F { lowest ? -F.infinity : F.infinity }

    @inlinable
    static func integerExtreme<I: FixedWidthInteger>(_: I.Type, lowest: Bool) -> I { lowest ? I.min : I.max }

    /// The number of elements folded into each output element of a reduction over `axes`.
    @inlinable
    func reducedCount(_ axes: [Int]?, operation: String) -> Int {
        let reduced = normalizedAxes(axes, operation: operation)
        return (0..<rank).filter { reduced[$0] }.map { shape[$0] }.reduce(1, *)
    }

    /// Sum over `axes` (nil = all).
    /// - Parameters:
    ///   - axes: The axes to reduce.
    ///   - keepDims: Keep reduced axes as size 1.
    @inlinable
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        reduce(axes: axes, keepDims: keepDims, operation: "sum", initial: 0, kernel: SumKernel<Scalar>())
    }
    /// Sum over one axis.
    /// - Parameters:
    ///   - axis: The axis to reduce.
    ///   - keepDims: Keep it as size 1.
    @inlinable
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Maximum over `axes` (nil = all); NaN propagates. Stops on an empty reduction.
    /// - Parameters:
    ///   - axes: The axes to reduce.
    ///   - keepDims: Keep reduced axes as size 1.
    @inlinable
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        checkPrecondition(reducedCount(axes, operation: "max") > 0, "max: empty reduction over shape \(shape)")
        // The fold starts every output element from the identity of max (-inf or the type's minimum).
        let start = Tensor.extremeValue(lowest: true)
        return reduce(axes: axes, keepDims: keepDims, operation: "max", initial: start, kernel: MaxKernel<Scalar>())
    }
    /// Maximum over one axis.
    /// - Parameters:
    ///   - axis: The axis.
    ///   - keepDims: Keep it as size 1.
    @inlinable
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }

    /// Minimum over `axes` (nil = all); NaN propagates. Stops on an empty reduction.
    /// - Parameters:
    ///   - axes: The axes to reduce.
    ///   - keepDims: Keep reduced axes as size 1.
    @inlinable
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        checkPrecondition(reducedCount(axes, operation: "min") > 0, "min: empty reduction over shape \(shape)")
        let start = Tensor.extremeValue(lowest: false)
        return reduce(axes: axes, keepDims: keepDims, operation: "min", initial: start, kernel: MinKernel<Scalar>())
    }
    /// Minimum over one axis.
    /// - Parameters:
    ///   - axis: The axis.
    ///   - keepDims: Keep it as size 1.
    @inlinable
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { min(axes: [axis], keepDims: keepDims) }

    /// The index of the largest element along `axis` (first one on ties), like `torch.argmax(dim=)`;
    /// with no axis, the index into the flattened tensor.
    /// - Parameters:
    ///   - axis: The axis, or nil for the flattened tensor.
    ///   - keepDims: Keep the axis as size 1.
    @inlinable
    public func argmax(axis: Int? = nil, keepDims: Bool = false) -> Tensor<Int> {
        argExtreme(axis: axis, keepDims: keepDims, operation: "argmax") { candidate, best in
            candidate > best || (candidate != candidate && best == best)
        }
    }

    /// The index of the smallest element along `axis` (first one on ties); with no axis, into the flattened tensor.
    /// - Parameters:
    ///   - axis: The axis, or nil for the flattened tensor.
    ///   - keepDims: Keep the axis as size 1.
    @inlinable
    public func argmin(axis: Int? = nil, keepDims: Bool = false) -> Tensor<Int> {
        argExtreme(axis: axis, keepDims: keepDims, operation: "argmin") { candidate, best in
            candidate < best || (candidate != candidate && best == best)
        }
    }

    @inlinable
    func argExtreme(axis: Int?, keepDims: Bool, operation: String, _ better: (Scalar, Scalar) -> Bool) -> Tensor<Int> {
        guard let axis else {
            let flat = reshaped([-1])
            let index = flat.argExtreme(axis: 0, keepDims: false, operation: operation, better)
            return keepDims ? index.reshaped([Int](repeating: 1, count: rank)) : index
        }
        let a = normalizedAxis(axis, operation: operation)
        let n = shape[a]
        checkPrecondition(n > 0, "\(operation): empty axis \(axis) in shape \(shape)")
        var outShape = shape
        outShape[a] = 1
        let result = Tensor<Int>(uninitializedShape: outShape)
        let output = result.storage.pointer
        let input = UnsafePointer(storage.pointer)
        let step = strides[a]
        withExtendedLifetime(storage) {
            forEachLane(axis: a, outputStrides: result.strides) { inputOffset, outputOffset in
                var best = input[inputOffset], bestIndex = 0
                for i in 1..<Swift.max(n, 1) where better(input[inputOffset + i * step], best) {
                    best = input[inputOffset + i * step]
                    bestIndex = i
                }
                output[outputOffset] = bestIndex
            }
        }
        return keepDims ? result : result.squeezed(axis: a)
    }
}

extension Tensor where Scalar: TensorFloatingPoint {
    /// Mean over `axes` (nil = all).
    /// - Parameters:
    ///   - axes: The axes to reduce.
    ///   - keepDims: Keep reduced axes as size 1.
    @inlinable
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let n = reducedCount(axes, operation: "mean")
        let total = sum(axes: axes, keepDims: keepDims)
        let scale = 1 / Scalar(n)
        total.mapInPlace(kernel: MultiplyScalarKernel(scale))
        return total
    }
    /// Mean over one axis.
    /// - Parameters:
    ///   - axis: The axis.
    ///   - keepDims: Keep it as size 1.
    @inlinable
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Variance over `axes` with Bessel's `correction` (1 = unbiased, PyTorch's default; 0 = population).
    /// - Parameters:
    ///   - axes: The axes to reduce (nil = all).
    ///   - correction: Subtracted from the element count in the denominator.
    ///   - keepDims: Keep reduced axes as size 1.
    @inlinable
    public func variance(axes: [Int]? = nil, correction: Int = 1, keepDims: Bool = false) -> Tensor {
        let n = reducedCount(axes, operation: "variance")
        let centered = self - mean(axes: axes, keepDims: true)
        let squares = centered.square().sum(axes: axes, keepDims: keepDims)
        let scale = 1 / Scalar(Swift.max(n - correction, 0))
        squares.mapInPlace(kernel: MultiplyScalarKernel(scale))
        return squares
    }

    /// The p-norm over `axes` (nil = all): p = 2 by default, `.infinity` for the max-abs norm.
    /// - Parameters:
    ///   - p: The order (positive).
    ///   - axes: The axes to reduce.
    ///   - keepDims: Keep reduced axes as size 1.
    @inlinable
    public func norm(p: Scalar = 2, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        checkPrecondition(p > 0, "norm: order p must be positive, got \(p)")
        if p == .infinity { return abs().max(axes: axes, keepDims: keepDims) }
        if p == 2 { return square().sum(axes: axes, keepDims: keepDims).sqrt() }
        if p == 1 { return abs().sum(axes: axes, keepDims: keepDims) }
        return abs().pow(p).sum(axes: axes, keepDims: keepDims).pow(1 / p)
    }

    /// log(sum(exp(x))) over `axes`, computed stably by subtracting the maximum first.
    /// - Parameters:
    ///   - axes: The axes to reduce (nil = all).
    ///   - keepDims: Keep reduced axes as size 1.
    @inlinable
    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let peak = max(axes: axes, keepDims: true)
        peak.mapInPlace { $0.isFinite ? $0 : ($0 != $0 ? $0 : 0) }
        let total = (self - peak).exp().sum(axes: axes, keepDims: true)
        let result = total.log() + peak
        return keepDims ? result : result.squeezedAxes(normalizedAxes(axes, operation: "logSumExp"))
    }
    /// log(sum(exp(x))) over one axis.
    /// - Parameters:
    ///   - axis: The axis.
    ///   - keepDims: Keep it as size 1.
    @inlinable
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor { logSumExp(axes: [axis], keepDims: keepDims) }
}

extension Tensor {
    /// Removes the axes flagged in `mask` (which must have size 1).
    @inlinable
    func squeezedAxes(_ mask: [Bool]) -> Tensor {
        let keep = (0..<rank).filter { !mask[$0] }
        return Tensor(storage: storage, shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] }, offset: offset)
    }
}
