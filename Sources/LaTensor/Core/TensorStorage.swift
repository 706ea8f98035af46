import Synchronization

/// Process-wide counters of tensor memory, for tests and benchmarks that check memory does not grow.
public enum TensorMemory {
    @usableFromInline static let live = Atomic<Int>(0)
    @usableFromInline static let peak = Atomic<Int>(0)

    /// Bytes currently held by all live tensor storages.
    public static var liveBytes: Int { live.load(ordering: .relaxed) }
    /// The largest value `liveBytes` has reached since the last `resetPeak()`.
    public static var peakBytes: Int { peak.load(ordering: .relaxed) }
    /// Sets the peak to the current live byte count.
    public static func resetPeak() { peak.store(live.load(ordering: .relaxed), ordering: .relaxed) }

    @usableFromInline static func allocated(_ bytes: Int) {
        let now = live.add(bytes, ordering: .relaxed).newValue
        var current = peak.load(ordering: .relaxed)
        while now > current {
            let (exchanged, original) = peak.compareExchange(
                expected: current, desired: now, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }
    @usableFromInline static func freed(_ bytes: Int) { live.subtract(bytes, ordering: .relaxed) }

    /// The tracker that storages allocated in the current task register with (nil: none). Set it for a
    /// scope with `TensorMemory.track(_:)`.
    @TaskLocal public static var currentTracker: AllocationTracker? = nil

    /// Runs `body` with a fresh tracker that counts only the tensor memory allocated inside it (on this
    /// task), so a test can check that a loop does not grow memory while other work runs concurrently.
    /// - Parameter body: The work to measure; it receives the tracker.
    public static func track<R>(_ body: (AllocationTracker) throws -> R) rethrows -> R {
        let tracker = AllocationTracker()
        return try $currentTracker.withValue(tracker) { try body(tracker) }
    }
}

/// Counts the bytes of tensor storage allocated inside a `TensorMemory.track` scope that are still alive.
public final class AllocationTracker: Sendable {
    let live = Atomic<Int>(0)
    let peak = Atomic<Int>(0)

    /// Creates a tracker at zero.
    public init() {}

    /// Bytes allocated in the scope and not yet freed.
    public var liveBytes: Int { live.load(ordering: .relaxed) }
    /// The largest value `liveBytes` has reached.
    public var peakBytes: Int { peak.load(ordering: .relaxed) }

    @usableFromInline func allocated(_ bytes: Int) {
        let now = live.add(bytes, ordering: .relaxed).newValue
        var current = peak.load(ordering: .relaxed)
        while now > current {
            let (exchanged, original) = peak.compareExchange(expected: current, desired: now, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }
    @usableFromInline func freed(_ bytes: Int) { live.subtract(bytes, ordering: .relaxed) }
}

/// The memory behind one or more tensor views: a fixed-size, 64-byte aligned buffer of elements.
///
/// Views (`Tensor`) share a storage by reference, like PyTorch's `c10::StorageImpl`; the storage
/// frees its memory when the last view goes away (large blocks go to a bounded reuse cache, see
/// `TensorMemory.storageCacheLimit`, which by default follows the high-water mark of live tensor bytes).
public final class TensorStorage<Element: TensorElement>: @unchecked Sendable {
    /// The number of elements.
    public let count: Int
    /// The first element. Valid for `count` elements while the storage is alive.
    public let pointer: UnsafeMutablePointer<Element>
    /// The allocation tracker this storage was counted by, if any.
    @usableFromInline let tracker: AllocationTracker?

    /// Allocates uninitialised storage for `count` elements.
    /// - Parameter count: The number of elements (zero is allowed).
    @inlinable
    public init(uninitializedCount count: Int) {
        checkPrecondition(count >= 0, "TensorStorage: negative element count \(count)")
        self.count = count
        let bytes = Swift.max(count, 1) * MemoryLayout<Element>.stride
        let raw = StorageCache.shared.allocate(bytes: bytes)
        self.pointer = raw.bindMemory(to: Element.self, capacity: Swift.max(count, 1))
        TensorMemory.allocated(bytes)
        self.tracker = TensorMemory.currentTracker
        tracker?.allocated(bytes)
    }

    /// Allocates storage for `count` elements, all set to `value`.
    /// - Parameters:
    ///   - count: The number of elements.
    ///   - value: The initial value of every element.
    @inlinable
    public convenience init(count: Int, repeating value: Element) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    deinit {
        TensorMemory.freed(Swift.max(count, 1) * MemoryLayout<Element>.stride)
        tracker?.freed(Swift.max(count, 1) * MemoryLayout<Element>.stride)
        StorageCache.shared.deallocate(
            UnsafeMutableRawPointer(pointer), bytes: Swift.max(count, 1) * MemoryLayout<Element>.stride)
    }
}
