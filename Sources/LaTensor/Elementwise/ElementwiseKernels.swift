/// Generic elementwise kernels: every unary, binary and ternary op of the package is one of these with a
/// small closure, specialised by the compiler. Outputs are new contiguous tensors; the `InPlace` variants
/// write through `self`'s view into its storage.
extension Tensor {
    /// Applies `transform` to every element.
    /// - Parameters:
    ///   - cost: Relative cost per element, used to decide when to go parallel.
    ///   - transform: The function applied to each element.
    @inlinable
    public func map<Result: TensorElement>(cost: Int = 1, _ transform: (Scalar) -> Result) -> Tensor<Result> {
        let result = Tensor<Result>(uninitializedShape: shape)
        let loop = StridedLoop(shape: shape, strides: [result.strides, strides], offsets: [0, offset])
        let output = result.storage.pointer
        let input = UnsafePointer(storage.pointer)
        withExtendedLifetime(storage) {
            loop.run(cost: cost) { position, n, step in
                let o = output + position[0]
                let a = input + position[1]
                if step[0] == 1 && step[1] == 1 {
                    for i in 0..<n { o[i] = transform(a[i]) }
                } else {
                    let so = step[0], sa = step[1]
                    for i in 0..<n { o[i &* so] = transform(a[i &* sa]) }
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
        let outShape = shape == other.shape ? shape : broadcastShapes(shape, other.shape, operation: operation)
        let result = Tensor<Result>(uninitializedShape: outShape)
        let loop = StridedLoop(
            shape: outShape,
            strides: [
                result.strides, broadcastStrides(to: outShape, operation: operation),
                other.broadcastStrides(to: outShape, operation: operation),
            ],
            offsets: [0, offset, other.offset])
        let output = result.storage.pointer
        let lhs = UnsafePointer(storage.pointer)
        let rhs = UnsafePointer(other.storage.pointer)
        withExtendedLifetime((storage, other.storage)) {
            loop.run(cost: cost) { position, n, step in
                let o = output + position[0]
                let a = lhs + position[1]
                let b = rhs + position[2]
                if step[0] == 1 && step[1] == 1 && step[2] == 1 {
                    for i in 0..<n { o[i] = combine(a[i], b[i]) }
                } else if step[0] == 1 && step[1] == 1 && step[2] == 0 {
                    let bv = b[0]
                    for i in 0..<n { o[i] = combine(a[i], bv) }
                } else if step[0] == 1 && step[1] == 0 && step[2] == 1 {
                    let av = a[0]
                    for i in 0..<n { o[i] = combine(av, b[i]) }
                } else {
                    let so = step[0], sa = step[1], sb = step[2]
                    for i in 0..<n { o[i &* so] = combine(a[i &* sa], b[i &* sb]) }
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
            preconditionFailure(
                "\(operation): cannot write in place into a broadcast view (shape \(shape), strides \(strides))")
        }
    }

    /// Replaces every element of this view by `transform` of itself, in the shared storage.
    /// - Parameters:
    ///   - cost: Relative cost per element.
    ///   - transform: The function applied to each element.
    @inlinable
    public func mapInPlace(cost: Int = 1, _ transform: (Scalar) -> Scalar) {
        checkWritable(operation: "mapInPlace")
        let loop = StridedLoop(shape: shape, strides: [strides], offsets: [offset])
        let pointer = storage.pointer
        withExtendedLifetime(storage) {
            loop.run(cost: cost) { position, n, step in
                let o = pointer + position[0]
                let so = step[0]
                if so == 1 {
                    for i in 0..<n { o[i] = transform(o[i]) }
                } else {
                    for i in 0..<n { o[i &* so] = transform(o[i &* so]) }
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
        checkWritable(operation: operation)
        let loop = StridedLoop(
            shape: shape, strides: [strides, other.broadcastStrides(to: shape, operation: operation)],
            offsets: [offset, other.offset])
        let pointer = storage.pointer
        let rhs = UnsafePointer(other.storage.pointer)
        withExtendedLifetime(other.storage) {
            loop.run { position, n, step in
                let o = pointer + position[0]
                let b = rhs + position[1]
                if step[0] == 1 && step[1] == 1 {
                    for i in 0..<n { o[i] = combine(o[i], b[i]) }
                } else {
                    let so = step[0], sb = step[1]
                    for i in 0..<n { o[i &* so] = combine(o[i &* so], b[i &* sb]) }
                }
            }
        }
    }

    /// Copies `source` (broadcast to `shape`) into this view's elements.
    /// - Parameter source: A tensor whose shape broadcasts to `self.shape`.
    @inlinable
    public func assign(_ source: Tensor) {
        zipInPlace(source, operation: "assign") { _, value in value }
    }

    /// Sets every element of this view to `value`.
    /// - Parameter value: The new value.
    @inlinable
    public func fill(_ value: Scalar) {
        mapInPlace { _ in value }
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
        map { Target($0) }
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
