import Foundation
import Synchronization

/// A bounded cache of freed large storage blocks, reused for the next storage of the same byte size.
///
/// A training step allocates the same activation and gradient shapes every iteration. Without a cache each
/// large block goes back to the kernel on free and the next step faults its pages in again (one fault per
/// 4 KiB, or per 2 MiB with huge pages), which costs as much as the kernel that writes it. Like PyTorch's
/// caching allocators, freed blocks of at least `minimumBytes` are kept, keyed by their exact size, up to a
/// byte limit; the memory counters (`TensorMemory.liveBytes`, trackers) count only live storages, and
/// `TensorMemory.cachedBytes` reports what the cache holds.
///
/// By default the limit follows the program: the cache holds up to twice the largest number of tensor bytes that
/// were live at once so far (blocks are matched by exact size, so a training step's transient blocks of every size
/// need more room than its live peak; with twice the peak they are all reused next step, with no page faults), at
/// least 1 GiB (or an eighth of the physical memory when that is less) and at most a quarter of the physical memory.
/// `LACLIP_STORAGE_CACHE_MB` mebibytes from the environment fixes the limit (0 disables the cache); so does
/// setting `TensorMemory.storageCacheLimit` at run time.
@usableFromInline
final class StorageCache: Sendable {
    /// Blocks smaller than this go straight back to `free`: the heap reuses them without faults.
    static let minimumBytes = 256 << 10

    struct State {
        var limit: Int
        /// Whether the limit follows twice the high-water mark (between `limit` and `ceiling`).
        var automatic: Bool
        var ceiling: Int
        /// The most tensor bytes seen live at once when a large block was requested.
        var highWater = 0
        var cachedBytes = 0
        /// Free blocks (size and address) in the order they were cached, oldest first. A few hundred at most
        /// in a training loop, so a scan under the lock is cheaper than keeping an index in step with it.
        var blocks: [(bytes: Int, address: UInt)] = []
        var hits = 0
        var misses = 0

        var effectiveLimit: Int { automatic ? Swift.max(limit, Swift.min(2 * highWater, ceiling)) : limit }
    }

    let state: Mutex<State>

    @usableFromInline static let shared = StorageCache()

    /// Creates a cache holding at most `limit` bytes.
    /// - Parameter limit: A fixed byte limit; nil reads `LACLIP_STORAGE_CACHE_MB`, and without it the limit follows
    ///   twice the high-water mark (at least 1 GiB or an eighth of the physical memory, at most a quarter of it).
    init(limit: Int? = nil) {
        // 1 GiB, or an eighth of the machine's memory when that is less, growing with the high-water mark up to a
        // quarter of the machine's memory.
        let memory = ProcessInfo.processInfo.physicalMemory
        var resolved = Swift.min(1 << 30, Int(clamping: memory / 8))
        var automatic = true
        if let limit {
            resolved = limit
            automatic = false
        } else if let text = ProcessInfo.processInfo.environment["LACLIP_STORAGE_CACHE_MB"],
            let megabytes = Int(text), megabytes >= 0
        {
            resolved = megabytes << 20
            automatic = false
        }
        state = Mutex(State(limit: resolved, automatic: automatic, ceiling: Swift.max(resolved, Int(clamping: memory / 4))))
    }

    /// Creates a cache whose limit follows twice the high-water mark of live tensor bytes, from `base` up to `ceiling`.
    /// - Parameters:
    ///   - base: The smallest limit.
    ///   - ceiling: The largest limit.
    init(automaticLimit base: Int, ceiling: Int) {
        state = Mutex(State(limit: base, automatic: true, ceiling: ceiling))
    }

    /// Returns a 64-byte aligned block of `bytes` bytes, reused from the cache when one of that size is free.
    /// - Parameter bytes: The block size.
    @usableFromInline
    func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= Self.minimumBytes {
            let reused = state.withLock { state -> UInt? in
                state.highWater = Swift.max(state.highWater, TensorMemory.liveBytes + bytes)
                // The most recently cached block of this size (the warmest).
                guard let index = state.blocks.lastIndex(where: { $0.bytes == bytes }) else {
                    state.misses += 1
                    return nil
                }
                state.cachedBytes -= bytes
                state.hits += 1
                return state.blocks.remove(at: index).address
            }
            if let reused, let block = UnsafeMutableRawPointer(bitPattern: reused) { return block }
        }
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    /// Takes back a block from `allocate(bytes:)`: caches it when it is large and fits under the limit
    /// (evicting the oldest cached blocks to make room), frees it otherwise.
    /// - Parameters:
    ///   - block: The block.
    ///   - bytes: Its size, as passed to `allocate(bytes:)`.
    @usableFromInline
    func deallocate(_ block: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= Self.minimumBytes else {
            block.deallocate()
            return
        }
        let address = UInt(bitPattern: block)
        let (kept, evicted) = state.withLock { state -> (Bool, [UInt]) in
            var evicted: [UInt] = []
            let limit = state.effectiveLimit
            guard bytes <= limit else { return (false, []) }
            while state.cachedBytes + bytes > limit, !state.blocks.isEmpty {
                let oldest = state.blocks.removeFirst()
                evicted.append(oldest.address)
                state.cachedBytes -= oldest.bytes
            }
            state.blocks.append((bytes, address))
            state.cachedBytes += bytes
            return (true, evicted)
        }
        for address in evicted { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
        if !kept { block.deallocate() }
    }

    /// Frees every cached block.
    func empty() {
        let blocks = state.withLock { state -> [UInt] in
            let all = state.blocks.map(\.address)
            state.blocks = []
            state.cachedBytes = 0
            return all
        }
        for address in blocks { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
    }

    var cachedBytes: Int { state.withLock { $0.cachedBytes } }

    var limit: Int {
        get { state.withLock { $0.effectiveLimit } }
        set {
            checkPrecondition(newValue >= 0, "TensorMemory.storageCacheLimit: negative limit \(newValue)")
            state.withLock {
                $0.limit = newValue
                $0.automatic = false
            }
            // Shrink to the new limit.
            if cachedBytes > newValue { empty() }
        }
    }

    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }
}

extension TensorMemory {
    /// Bytes of freed large storages the cache holds for reuse (not counted in `liveBytes`).
    public static var cachedBytes: Int { StorageCache.shared.cachedBytes }

    /// The most bytes the storage cache keeps now. By default it follows twice the largest number of tensor bytes live
    /// at once (at least 1 GiB or an eighth of the physical memory, at most a quarter of it); `LACLIP_STORAGE_CACHE_MB`
    /// or setting this property fixes it (0 disables the cache). Lowering it below `cachedBytes` empties the cache.
    public static var storageCacheLimit: Int {
        get { StorageCache.shared.limit }
        set { StorageCache.shared.limit = newValue }
    }

    /// Large allocations served from the cache (`hits`) and from the system allocator (`misses`) so far.
    public static var storageCacheStatistics: (hits: Int, misses: Int) { StorageCache.shared.statistics }

    /// Returns every cached block to the system allocator (like `torch.cuda.empty_cache()`).
    public static func emptyStorageCache() { StorageCache.shared.empty() }
}
