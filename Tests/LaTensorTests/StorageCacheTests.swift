import Testing

@testable import LaTensor

/// The bounded reuse cache of large storage blocks.
@Suite struct StorageCacheTests {
    @Test func reusesABlockOfTheSameSize() {
        let cache = StorageCache(limit: 8 << 20)
        let bytes = 1 << 20
        let first = cache.allocate(bytes: bytes)
        cache.deallocate(first, bytes: bytes)
        #expect(cache.cachedBytes == bytes)
        let second = cache.allocate(bytes: bytes)
        #expect(second == first)
        #expect(cache.cachedBytes == 0)
        // Another size does not take it.
        cache.deallocate(second, bytes: bytes)
        let other = cache.allocate(bytes: bytes + 4096)
        #expect(other != first && cache.cachedBytes == bytes)
        cache.deallocate(other, bytes: bytes + 4096)
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 2)
        cache.empty()
        #expect(cache.cachedBytes == 0)
    }

    @Test func staysUnderItsLimitByEvictingTheOldest() {
        let cache = StorageCache(limit: 3 << 20)
        let a = cache.allocate(bytes: 1 << 20)
        let b = cache.allocate(bytes: 2 << 20)
        let c = cache.allocate(bytes: 1 << 20)
        cache.deallocate(a, bytes: 1 << 20)
        cache.deallocate(b, bytes: 2 << 20)
        #expect(cache.cachedBytes == 3 << 20)
        cache.deallocate(c, bytes: 1 << 20)  // evicts `a`, the oldest
        #expect(cache.cachedBytes == 3 << 20)
        #expect(cache.allocate(bytes: 1 << 20) == c)
        #expect(cache.allocate(bytes: 2 << 20) == b)
        // A block larger than the limit is never kept; small blocks bypass the cache.
        let huge = cache.allocate(bytes: 4 << 20)
        cache.deallocate(huge, bytes: 4 << 20)
        let small = cache.allocate(bytes: 1024)
        cache.deallocate(small, bytes: 1024)
        #expect(cache.cachedBytes == 0)
        cache.limit = 0
        let d = cache.allocate(bytes: 1 << 20)
        cache.deallocate(d, bytes: 1 << 20)
        #expect(cache.cachedBytes == 0)
    }

    /// The default limit follows the most bytes requested while live (here at least the 4 MiB block itself),
    /// between its base and its ceiling.
    @Test func automaticLimitFollowsTheHighWaterMark() {
        let cache = StorageCache(automaticLimit: 1 << 20, ceiling: 64 << 20)
        let block = cache.allocate(bytes: 4 << 20)
        cache.deallocate(block, bytes: 4 << 20)
        #expect(cache.cachedBytes == 4 << 20)  // a fixed 1 MiB limit would have freed it
        #expect(cache.limit >= 4 << 20 && cache.limit <= 64 << 20)
        let huge = cache.allocate(bytes: 128 << 20)
        cache.deallocate(huge, bytes: 128 << 20)
        #expect(cache.cachedBytes == 4 << 20)  // above the ceiling: not kept
        cache.limit = 0  // setting a limit fixes it
        #expect(cache.cachedBytes == 0 && cache.limit == 0)
        let again = cache.allocate(bytes: 4 << 20)
        cache.deallocate(again, bytes: 4 << 20)
        #expect(cache.cachedBytes == 0)
    }

    @Test func cachedStoragesAreNotLiveAndComeBackInitialised() {
        // An unusual size so that no concurrently running test shares the block.
        let count = (1 << 18) + 1237
        let before = TensorMemory.storageCacheStatistics.hits
        var address: UnsafeMutablePointer<Float>?
        TensorMemory.track { tracker in
            do {
                let a = Tensor<Float>.full([count], value: 7)
                address = a.storage.pointer
                #expect(tracker.liveBytes == count * 4)
            }
            #expect(tracker.liveBytes == 0)
        }
        let zeros = Tensor<Float>.zeros([count])
        if zeros.storage.pointer == address {
            #expect(TensorMemory.storageCacheStatistics.hits > before)
        }
        #expect(zeros.sum().item == 0)
    }
}
