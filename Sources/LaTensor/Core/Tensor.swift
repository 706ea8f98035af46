/// An n-dimensional strided view over a shared `TensorStorage`.
///
/// A tensor is a small value: the storage reference plus `shape`, `strides` (in elements; a stride of 0
/// repeats an element, as broadcasting does) and `offset` (the index of the first element). Views such as
/// `transposed()`, `slice`, `expand` and most `reshape`s share the storage and never copy. In-place
/// operations (`addInPlace`, `fill`, ...) write through the view into the shared storage, as PyTorch's
/// `add_` does.
///
/// Element types: `Float` and `Double` for numbers (`Double` for exact gradient checks), `Int` for indices
/// and labels, `Int32`, `UInt8`, `Bool` for compact data and masks.
public struct Tensor<Scalar: TensorElement>: Sendable {
    /// The memory this view reads and writes.
    public let storage: TensorStorage<Scalar>
    /// The size of each dimension.
    public let shape: [Int]
    /// The distance in elements between neighbours along each dimension.
    public let strides: [Int]
    /// The index in `storage` of the element at index (0, 0, ...).
    public let offset: Int

    /// Creates a view over `storage`.
    /// - Parameters:
    ///   - storage: The shared memory.
    ///   - shape: The size of each dimension (all >= 0).
    ///   - strides: Element strides per dimension (same count as `shape`).
    ///   - offset: The storage index of the first element.
    @inlinable
    public init(storage: TensorStorage<Scalar>, shape: [Int], strides: [Int], offset: Int = 0) {
        checkPrecondition(
            shape.count == strides.count,
            "Tensor: shape \(shape) and strides \(strides) have different ranks")
        checkPrecondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// Creates a contiguous tensor with uninitialised elements. Every element must be written before it is read.
    /// - Parameter shape: The size of each dimension.
    @inlinable
    public init(uninitializedShape shape: [Int]) {
        checkPrecondition(shape.allSatisfy { $0 >= 0 }, "Tensor(uninitializedShape:): negative dimension in \(shape)")
        let count = shape.reduce(1, *)
        self.init(
            storage: TensorStorage(uninitializedCount: count), shape: shape,
            strides: Tensor.contiguousStrides(for: shape), offset: 0)
        let bytes = count * MemoryLayout<Scalar>.stride
        if bytes >= HugePages.threshold { HugePages.advise(UnsafeMutableRawPointer(storage.pointer), bytes: bytes) }
    }

    /// Creates a tensor from a flat array of elements in row-major order.
    /// - Parameters:
    ///   - scalars: The elements; their count must equal the product of `shape`.
    ///   - shape: The size of each dimension.
    @inlinable
    public init(_ scalars: [Scalar], shape: [Int]) {
        let count = shape.reduce(1, *)
        checkPrecondition(
            scalars.count == count,
            "Tensor(_:shape:): \(scalars.count) scalars do not fill shape \(shape) (\(count) elements)")
        self.init(uninitializedShape: shape)
        let destination = storage.pointer
        scalars.withUnsafeBufferPointer { source in
            if count > 0 { destination.initialize(from: source.baseAddress!, count: count) }
        }
    }

    /// Creates a 1-D tensor from an array.
    /// - Parameter scalars: The elements.
    @inlinable
    public init(_ scalars: [Scalar]) {
        self.init(scalars, shape: [scalars.count])
    }

    /// Creates a 0-D (scalar) tensor.
    /// - Parameter scalar: The single element.
    @inlinable
    public init(scalar: Scalar) {
        self.init([scalar], shape: [])
    }

    /// Creates a 2-D tensor from rows of equal length.
    /// - Parameter rows: The rows; all must have the same count.
    @inlinable
    public init(rows: [[Scalar]]) {
        let columns = rows.first?.count ?? 0
        checkPrecondition(
            rows.allSatisfy { $0.count == columns }, "Tensor(rows:): rows have different lengths")
        self.init(rows.flatMap { $0 }, shape: [rows.count, columns])
    }

    /// Creates a contiguous tensor by copying elements from a buffer.
    /// - Parameters:
    ///   - buffer: The source elements in row-major order; its count must equal the product of `shape`.
    ///   - shape: The size of each dimension.
    @inlinable
    public init(copying buffer: UnsafeBufferPointer<Scalar>, shape: [Int]) {
        let count = shape.reduce(1, *)
        checkPrecondition(
            buffer.count == count,
            "Tensor(copying:shape:): buffer of \(buffer.count) elements does not fill shape \(shape)")
        self.init(uninitializedShape: shape)
        if count > 0 { storage.pointer.initialize(from: buffer.baseAddress!, count: count) }
    }

    /// Row-major strides of a contiguous tensor of the given shape.
    /// - Parameter shape: The size of each dimension.
    @inlinable
    public static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= Swift.max(shape[axis], 1)
        }
        return strides
    }

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// The number of elements (the product of `shape`).
    @inlinable public var count: Int { shape.reduce(1, *) }
    /// The element type's runtime tag.
    @inlinable public var dtype: DType { Scalar.dtype }

    /// Whether the elements are laid out densely in row-major order (so `storage.pointer + offset`
    /// addresses them as a flat array). Dimensions of size 1 may have any stride.
    @inlinable
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            let size = shape[axis]
            if size == 0 { return true }
            if size != 1 {
                if strides[axis] != expected { return false }
                expected *= size
            }
        }
        return true
    }

    /// Normalises a possibly negative axis, stopping with a message naming `operation` when it is out of range.
    /// - Parameters:
    ///   - axis: An axis in `-rank ..< rank`.
    ///   - operation: The op name for the error message.
    @inlinable
    public func normalizedAxis(_ axis: Int, operation: String) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        checkPrecondition(
            resolved >= 0 && resolved < Swift.max(rank, 0),
            "\(operation): axis \(axis) is out of range for a tensor of shape \(shape)")
        return resolved
    }

    /// The storage index of the element at `indices`.
    /// - Parameter indices: One index per dimension (negative counts from the end).
    @inlinable
    public func storageIndex(_ indices: [Int]) -> Int {
        checkPrecondition(
            indices.count == rank, "Tensor subscript: \(indices.count) indices for shape \(shape)")
        var position = offset
        for axis in 0..<rank {
            var index = indices[axis]
            if index < 0 { index += shape[axis] }
            checkPrecondition(
                index >= 0 && index < shape[axis],
                "Tensor subscript: index \(indices[axis]) out of range for axis \(axis) of shape \(shape)")
            position += index * strides[axis]
        }
        return position
    }

    /// Reads or writes one element. Writing modifies the shared storage (every view of it sees the change).
    /// - Parameter indices: One index per dimension (negative counts from the end).
    @inlinable
    public subscript(element indices: Int...) -> Scalar {
        get { storage.pointer[storageIndex(indices)] }
        nonmutating set { storage.pointer[storageIndex(indices)] = newValue }
    }

    /// The single element of a tensor with one element.
    @inlinable
    public var item: Scalar {
        checkPrecondition(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return storage.pointer[offset]
    }

    /// The elements in row-major order.
    @inlinable
    public var scalars: [Scalar] {
        let dense = contiguous()
        return Array(UnsafeBufferPointer(start: dense.storage.pointer + dense.offset, count: dense.count))
    }

    /// A contiguous tensor with the same elements: `self` when already contiguous, otherwise a copy.
    @inlinable
    public func contiguous() -> Tensor {
        if isContiguous && strides == Tensor.contiguousStrides(for: shape) { return self }
        if isContiguous {
            return Tensor(storage: storage, shape: shape, strides: Tensor.contiguousStrides(for: shape), offset: offset)
        }
        return copy()
    }

    /// A new contiguous tensor with its own storage and the same elements.
    @inlinable
    public func copy() -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        result.assign(self)
        return result
    }

    /// Calls `body` with a pointer to the elements in contiguous row-major order (copying first if needed).
    /// - Parameter body: Receives a buffer of `count` elements; it must not escape the pointer.
    @inlinable
    public func withContiguousBuffer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        let dense = contiguous()
        return try withExtendedLifetime(dense.storage) {
            try body(UnsafeBufferPointer(start: dense.storage.pointer + dense.offset, count: dense.count))
        }
    }
}
