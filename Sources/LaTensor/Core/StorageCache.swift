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
/// The limit defaults to 1 GiB (or an eighth of the physical memory when that is less), or
/// `LACLIP_STORAGE_CACHE_MB` mebibytes from the environment (0 disables the cache); change it at run time with
/// `TensorMemory.storageCacheLimit`.
@usableFromInline
final class StorageCache: Sendable {
    /// Blocks smaller than this go straight back to `free`: the heap reuses them without faults.
    static let minimumBytes = 256 << 10

    struct State {
        var limit: Int
        var cachedBytes = 0
        /// Free blocks (size and address) in the order they were cached, oldest first. A few hundred at most
        /// in a training loop, so a scan under the lock is cheaper than keeping an index in step with it.
        var blocks: [(bytes: Int, address: UInt)] = []
        var hits = 0
        var misses = 0
    }

    let state: Mutex<State>

    @usableFromInline static let shared = StorageCache()

    /// Creates a cache holding at most `limit` bytes.
    /// - Parameter limit: The byte limit; nil reads `LACLIP_STORAGE_CACHE_MB` (default: 1 GiB, at most an
    ///   eighth of the physical memory).
    init(limit: Int? = nil) {
        // 1 GiB, or an eighth of the machine's memory when that is less.
        var resolved = Swift.min(1 << 30, Int(clamping: ProcessInfo.processInfo.physicalMemory / 8))
        if let limit {
            resolved = limit
        } else if let text = ProcessInfo.processInfo.environment["LACLIP_STORAGE_CACHE_MB"],
            let megabytes = Int(text), megabytes >= 0
        {
            resolved = megabytes << 20
        }
        state = Mutex(State(limit: resolved))
    }

    /// Returns a 64-byte aligned block of `bytes` bytes, reused from the cache when one of that size is free.
    /// - Parameter bytes: The block size.
    @usableFromInline
    func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= Self.minimumBytes {
            let reused = state.withLock { state -> UInt? in
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
            guard bytes <= state.limit else { return (false, []) }
            while state.cachedBytes + bytes > state.limit, !state.blocks.isEmpty {
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
        get { state.withLock { $0.limit } }
        set {
            checkPrecondition(newValue >= 0, "TensorMemory.storageCacheLimit: negative limit \(newValue)")
            state.withLock { $0.limit = newValue }
            // Shrink to the new limit.
            if cachedBytes > newValue { empty() }
        }
    }

    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }
}

extension TensorMemory {
    /// Bytes of freed large storages the cache holds for reuse (not counted in `liveBytes`).
    public static var cachedBytes: Int { StorageCache.shared.cachedBytes }

    /// The most bytes the storage cache keeps (default 1 GiB, at most an eighth of the physical memory, or
    /// `LACLIP_STORAGE_CACHE_MB`; 0 disables it).
    /// Lowering it below `cachedBytes` empties the cache.
    public static var storageCacheLimit: Int {
        get { StorageCache.shared.limit }
        set { StorageCache.shared.limit = newValue }
    }

    /// Large allocations served from the cache (`hits`) and from the system allocator (`misses`) so far.
    public static var storageCacheStatistics: (hits: Int, misses: Int) { StorageCache.shared.statistics }

    /// Returns every cached block to the system allocator (like `torch.cuda.empty_cache()`).
    public static func emptyStorageCache() { StorageCache.shared.empty() }
}
