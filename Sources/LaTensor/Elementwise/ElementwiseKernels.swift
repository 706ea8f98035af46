import CLaKernels

/// Generic elementwise kernels: every unary, binary and ternary op of the package goes through these.
/// Outputs are new contiguous tensors; the `InPlace` variants write through `self`'s view into its storage.
///
/// The engine is generic over kernel *types* (`UnaryKernel`, `BinaryKernel`, `ReductionKernel`), so each
/// op gets a run loop specialised for its kernel, where the operation is inlined and dense runs vectorise.
/// When every operand is dense the whole job is one flat range split over `Threading.threadCount` workers.
/// The closure-based forms (`map(cost:_:)`, `zip(_:operation:cost:_:)`, ...) wrap the closure in a kernel
/// and so call it once per element.
extension Tensor {
    /// Applies `transform` to every element.
    /// - Parameters:
    ///   - cost: Relative cost per element, used to decide when to go parallel.
    ///   - transform: The function applied to each element.
    @inlinable
    public func map<Result: TensorElement>(cost: Int = 1, _ transform: (Scalar) -> Result) -> Tensor<Result> {
        withoutActuallyEscaping(transform) { body in map(cost: cost, kernel: ClosureUnaryKernel(body)) }
    }

    /// Applies a kernel to every element; the run loop is specialised (and vectorised) for the kernel type.
    /// - Parameters:
    ///   - cost: Relative cost per element, used to decide when to go parallel.
    ///   - kernel: The function applied to each element.
    @inlinable
    public func map<K: UnaryKernel>(cost: Int = 1, kernel: K) -> Tensor<K.Output> where K.Input == Scalar {
        let result = Tensor<K.Output>(uninitializedShape: shape)
        let output = result.storage.pointer
        if isContiguous {
            let input = UnsafePointer(storage.pointer + offset)
            withExtendedLifetime(storage) {
                Threading.parallelFor(total: count, cost: cost) { range in
                    let o = output + range.lowerBound, a = input + range.lowerBound
                    for i in 0..<range.count { o[i] = kernel(a[i]) }
                }
            }
            return result
        }
        let loop = StridedLoop(shape: shape, strides: [result.strides, strides], offsets: [0, offset])
        let input = UnsafePointer(storage.pointer)
        withExtendedLifetime(storage) {
            loop.run(cost: cost) { position, n, step in
                let o = output + position[0]
                let a = input + position[1]
                if step[0] == 1 && step[1] == 1 {
                    for i in 0..<n { o[i] = kernel(a[i]) }
                } else {
                    let so = step[0], sa = step[1]
                    for i in 0..<n { o[i &* so] = kernel(a[i &* sa]) }
                }
            }
        }
        return result
    }

    /// Combines the elements of `self` and `other` under NumPy broadcasting.
    /// - Parameters:
    ///   - other: The second operand; its shape must broadcast with `self.shape`.
    ///   - operation: The op name used in error messages.
    ///   - cost: Relative cost per element.
    ///   - combine: The function applied to each pair of elements.
    @inlinable
    public func zip<Other: TensorElement, Result: TensorElement>(
        _ other: Tensor<Other>, operation: String = "zip", cost: Int = 1,
        _ combine: (Scalar, Other) -> Result
    ) -> Tensor<Result> {
        withoutActuallyEscaping(combine) { body in
            zip(other, operation: operation, cost: cost, kernel: ClosureBinaryKernel(body))
        }
    }

    /// Combines the elements of `self` and `other` under NumPy broadcasting with a kernel type (specialised
    /// and vectorised per kernel).
    /// - Parameters:
    ///   - other: The second operand; its shape must broadcast with `self.shape`.
    ///   - operation: The op name used in error messages.
    ///   - cost: Relative cost per element.
    ///   - kernel: The function applied to each pair of elements.
    @inlinable
    public func zip<K: BinaryKernel>(
        _ other: Tensor<K.Right>, operation: String = "zip", cost: Int = 1, kernel: K
    ) -> Tensor<K.Output> where K.Left == Scalar {
        let sameShape = shape == other.shape
        let outShape = sameShape ? shape : broadcastShapes(shape, other.shape, operation: operation)
        let result = Tensor<K.Output>(uninitializedShape: outShape)
        let output = result.storage.pointer
        if sameShape && isContiguous && other.isContiguous {
            let lhs = UnsafePointer(storage.pointer + offset)
            let rhs = UnsafePointer(other.storage.pointer + other.offset)
            withExtendedLifetime((storage, other.storage)) {
                Threading.parallelFor(total: result.count, cost: cost) { range in
                    let o = output + range.lowerBound, a = lhs + range.lowerBound, b = rhs + range.lowerBound
                    for i in 0..<range.count { o[i] = kernel(a[i], b[i]) }
                }
            }
            return result
        }
        let loop = StridedLoop(
            shape: outShape,
            strides: [
                result.strides, broadcastStrides(to: outShape, operation: operation),
                other.broadcastStrides(to: outShape, operation: operation),
            ],
            offsets: [0, offset, other.offset])
        let lhs = UnsafePointer(storage.pointer)
        let rhs = UnsafePointer(other.storage.pointer)
        withExtendedLifetime((storage, other.storage)) {
            loop.run(cost: cost) { position, n, step in
                let o = output + position[0]
                let a = lhs + position[1]
                let b = rhs + position[2]
                if step[0] == 1 && step[1] == 1 && step[2] == 1 {
                    for i in 0..<n { o[i] = kernel(a[i], b[i]) }
                } else if step[0] == 1 && step[1] == 1 && step[2] == 0 {
                    let bv = b[0]
                    for i in 0..<n { o[i] = kernel(a[i], bv) }
                } else if step[0] == 1 && step[1] == 0 && step[2] == 1 {
                    let av = a[0]
                    for i in 0..<n { o[i] = kernel(av, b[i]) }
                } else {
                    let so = step[0], sa = step[1], sb = step[2]
                    for i in 0..<n { o[i &* so] = kernel(a[i &* sa], b[i &* sb]) }
                }
            }
        }
        return result
    }

    /// Combines three broadcast operands elementwise (used by `where`).
    /// - Parameters:
    ///   - second: The second operand.
    ///   - third: The third operand.
    ///   - operation: The op name used in error messages.
    ///   - combine: The function applied to each triple.
    @inlinable
    public func zip<B: TensorElement, C: TensorElement, Result: TensorElement>(
        _ second: Tensor<B>, _ third: Tensor<C>, operation: String,
        _ combine: (Scalar, B, C) -> Result
    ) -> Tensor<Result> {
        let outShape = broadcastShapes(
            broadcastShapes(shape, second.shape, operation: operation), third.shape, operation: operation)
        let result = Tensor<Result>(uninitializedShape: outShape)
        let loop = StridedLoop(
            shape: outShape,
            strides: [
                result.strides, broadcastStrides(to: outShape, operation: operation),
                second.broadcastStrides(to: outShape, operation: operation),
                third.broadcastStrides(to: outShape, operation: operation),
            ],
            offsets: [0, offset, second.offset, third.offset])
        let output = result.storage.pointer
        let p1 = UnsafePointer(storage.pointer)
        let p2 = UnsafePointer(second.storage.pointer)
        let p3 = UnsafePointer(third.storage.pointer)
        withExtendedLifetime((storage, second.storage, third.storage)) {
            loop.run { position, n, step in
                let o = output + position[0]
                let a = p1 + position[1]
                let b = p2 + position[2]
                let c = p3 + position[3]
                let so = step[0], sa = step[1], sb = step[2], sc = step[3]
                for i in 0..<n { o[i &* so] = combine(a[i &* sa], b[i &* sb], c[i &* sc]) }
            }
        }
        return result
    }

    @inlinable
    func checkWritable(operation: String) {
        for axis in 0..<rank where shape[axis] > 1 && strides[axis] == 0 {
            misuseDetected(
                "\(operation): cannot write in place into a broadcast view (shape \(shape), strides \(strides))")
        }
    }

    /// Replaces every element of this view by `transform` of itself, in the shared storage.
    /// - Parameters:
    ///   - cost: Relative cost per element.
    ///   - transform: The function applied to each element.
    @inlinable
    public func mapInPlace(cost: Int = 1, _ transform: (Scalar) -> Scalar) {
        withoutActuallyEscaping(transform) { body in mapInPlace(cost: cost, kernel: ClosureUnaryKernel(body)) }
    }

    /// Replaces every element of this view by `kernel` of itself, with a loop specialised for the kernel type.
    /// - Parameters:
    ///   - cost: Relative cost per element.
    ///   - kernel: The function applied to each element.
    @inlinable
    public func mapInPlace<K: UnaryKernel>(cost: Int = 1, kernel: K) where K.Input == Scalar, K.Output == Scalar {
        checkWritable(operation: "mapInPlace")
        let pointer = storage.pointer
        if isContiguous {
            let base = pointer + offset
            withExtendedLifetime(storage) {
                Threading.parallelFor(total: count, cost: cost) { range in
                    let o = base + range.lowerBound
                    for i in 0..<range.count { o[i] = kernel(o[i]) }
                }
            }
            return
        }
        let loop = StridedLoop(shape: shape, strides: [strides], offsets: [offset])
        withExtendedLifetime(storage) {
            loop.run(cost: cost) { position, n, step in
                let o = pointer + position[0]
                let so = step[0]
                if so == 1 {
                    for i in 0..<n { o[i] = kernel(o[i]) }
                } else {
                    for i in 0..<n { o[i &* so] = kernel(o[i &* so]) }
                }
            }
        }
    }

    /// Replaces every element of this view by `combine(element, other)` with `other` broadcast to `shape`.
    /// - Parameters:
    ///   - other: A tensor whose shape broadcasts to `self.shape`.
    ///   - operation: The op name used in error messages.
    ///   - combine: The function applied to each pair.
    @inlinable
    public func zipInPlace<Other: TensorElement>(
        _ other: Tensor<Other>, operation: String = "zipInPlace", _ combine: (Scalar, Other) -> Scalar
    ) {
        withoutActuallyEscaping(combine) { body in
            zipInPlace(other, operation: operation, kernel: ClosureBinaryKernel(body))
        }
    }

    /// Replaces every element of this view by `kernel(element, other)` with `other` broadcast to `shape`, with
    /// a loop specialised for the kernel type.
    /// - Parameters:
    ///   - other: A tensor whose shape broadcasts to `self.shape`.
    ///   - operation: The op name used in error messages.
    ///   - kernel: The function applied to each pair.
    @inlinable
    public func zipInPlace<K: BinaryKernel>(
        _ other: Tensor<K.Right>, operation: String = "zipInPlace", kernel: K
    ) where K.Left == Scalar, K.Output == Scalar {
        checkWritable(operation: operation)
        let pointer = storage.pointer
        if shape == other.shape && isContiguous && other.isContiguous {
            let base = pointer + offset
            let rhs = UnsafePointer(other.storage.pointer + other.offset)
            withExtendedLifetime((storage, other.storage)) {
                Threading.parallelFor(total: count) { range in
                    let o = base + range.lowerBound, b = rhs + range.lowerBound
                    for i in 0..<range.count { o[i] = kernel(o[i], b[i]) }
                }
            }
            return
        }
        let loop = StridedLoop(
            shape: shape, strides: [strides, other.broadcastStrides(to: shape, operation: operation)],
            offsets: [offset, other.offset])
        let rhs = UnsafePointer(other.storage.pointer)
        withExtendedLifetime(other.storage) {
            loop.run { position, n, step in
                let o = pointer + position[0]
                let b = rhs + position[1]
                if step[0] == 1 && step[1] == 1 {
                    for i in 0..<n { o[i] = kernel(o[i], b[i]) }
                } else if step[0] == 1 && step[1] == 0 {
                    let bv = b[0]
                    for i in 0..<n { o[i] = kernel(o[i], bv) }
                } else {
                    let so = step[0], sb = step[1]
                    for i in 0..<n { o[i &* so] = kernel(o[i &* so], b[i &* sb]) }
                }
            }
        }
    }

    /// Copies `source` (broadcast to `shape`) into this view's elements. Write-only: the destination is never
    /// read, and dense runs are copied with `memcpy` (split over the worker threads when large).
    /// - Parameter source: A tensor whose shape broadcasts to `self.shape`.
    @inlinable
    public func assign(_ source: Tensor) {
        checkWritable(operation: "assign")
        let pointer = storage.pointer
        let elementSize = MemoryLayout<Scalar>.stride
        if shape == source.shape && isContiguous && source.isContiguous {
            let base = pointer + offset
            let input = UnsafePointer(source.storage.pointer + source.offset)
            if base == UnsafeMutablePointer(mutating: input) { return }
            withExtendedLifetime(source.storage) {
                Threading.parallelFor(total: count, cost: 1) { range in
                    UnsafeMutableRawPointer(base + range.lowerBound).copyMemory(
                        from: UnsafeRawPointer(input + range.lowerBound), byteCount: range.count * elementSize)
                }
            }
            return
        }
        let loop = StridedLoop(
            shape: shape, strides: [strides, source.broadcastStrides(to: shape, operation: "assign")],
            offsets: [offset, source.offset])
        let rhs = UnsafePointer(source.storage.pointer)
        withExtendedLifetime(source.storage) {
            loop.run { position, n, step in
                let o = pointer + position[0]
                let b = rhs + position[1]
                if step[0] == 1 && step[1] == 1 {
                    UnsafeMutableRawPointer(o).copyMemory(from: UnsafeRawPointer(b), byteCount: n * elementSize)
                } else if step[1] == 0 {
                    let value = b[0], so = step[0]
                    for i in 0..<n { o[i &* so] = value }
                } else {
                    let so = step[0], sb = step[1]
                    for i in 0..<n { o[i &* so] = b[i &* sb] }
                }
            }
        }
    }

    /// Sets every element of this view to `value` (write-only).
    /// - Parameter value: The new value.
    @inlinable
    public func fill(_ value: Scalar) {
        mapInPlace(kernel: FillKernel(value))
    }

    /// Converts every element to another element type.
    /// - Parameter type: The target element type.
    @inlinable
    public func cast<Target: TensorFloatingPoint>(to type: Target.Type) -> Tensor<Target>
    where Scalar: BinaryFloatingPoint {
        map { Target($0) }
    }
}

extension Tensor where Scalar: BinaryInteger {
    /// Converts integer elements to a floating-point type.
    /// - Parameter type: The target element type.
    @inlinable
    public func cast<Target: TensorFloatingPoint>(to type: Target.Type) -> Tensor<Target> {
        map(kernel: IntegerCastKernel<Scalar, Target>())
    }
}

extension Tensor where Scalar == Bool {
    /// Converts a mask to numbers (true -> 1, false -> 0).
    /// - Parameter type: The target element type.
    @inlinable
    public func cast<Target: TensorNumeric>(to type: Target.Type) -> Tensor<Target> {
        map { $0 ? 1 : 0 }
    }
}

// MARK: - Float fast paths through CLaKernels

extension Tensor {
    /// For a contiguous `Float` tensor, a new tensor `body(input, output, count)` computed chunk by chunk
    /// over the worker threads; nil for other element types or strided layouts (the caller then takes the
    /// Swift path).
    /// - Parameters:
    ///   - cost: Relative cost per element, used to decide when to go parallel.
    ///   - body: A CLaKernels function over one contiguous chunk.
    @inlinable
    func floatVectorMap(
        cost: Int, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> Tensor? {
        guard Scalar.self == Float.self, isContiguous else { return nil }
        let result = Tensor(uninitializedShape: shape)
        let input = UnsafeRawPointer(storage.pointer + offset).assumingMemoryBound(to: Float.self)
        let output = UnsafeMutableRawPointer(result.storage.pointer).assumingMemoryBound(to: Float.self)
        withExtendedLifetime(storage) {
            Threading.parallelFor(total: count, cost: cost) { range in
                body(input + range.lowerBound, output + range.lowerBound, range.count)
            }
        }
        return result
    }

    /// Runs a two-input CLaKernels function over contiguous `Float` views of the same shape, split over the
    /// workers; nil (and nothing done) for any other element type or layout.
    /// - Parameters:
    ///   - other: The second input.
    ///   - cost: Relative cost per element.
    ///   - body: A CLaKernels function `(x, y, out, n)` over one contiguous chunk.
    @inlinable
    func floatVectorZip(
        _ other: Tensor, cost: Int,
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> Tensor? {
        guard Scalar.self == Float.self, shape == other.shape, isContiguous, other.isContiguous else { return nil }
        let result = Tensor(uninitializedShape: shape)
        let first = UnsafeRawPointer(storage.pointer + offset).assumingMemoryBound(to: Float.self)
        let second = UnsafeRawPointer(other.storage.pointer + other.offset).assumingMemoryBound(to: Float.self)
        let output = UnsafeMutableRawPointer(result.storage.pointer).assumingMemoryBound(to: Float.self)
        withExtendedLifetime((storage, other.storage)) {
            Threading.parallelFor(total: count, cost: cost) { range in
                body(first + range.lowerBound, second + range.lowerBound, output + range.lowerBound, range.count)
            }
        }
        return result
    }

    /// Applies a CLaKernels function in place to a contiguous `Float` view; false (and nothing done) otherwise.
    /// - Parameters:
    ///   - cost: Relative cost per element.
    ///   - body: A CLaKernels function over one contiguous chunk (input and output may alias).
    @inlinable
    func floatVectorMapInPlace(
        cost: Int, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> Bool {
        guard Scalar.self == Float.self, isContiguous else { return false }
        let base = UnsafeMutableRawPointer(storage.pointer + offset).assumingMemoryBound(to: Float.self)
        withExtendedLifetime(storage) {
            Threading.parallelFor(total: count, cost: cost) { range in
                body(UnsafePointer(base + range.lowerBound), base + range.lowerBound, range.count)
            }
        }
        return true
    }
}
