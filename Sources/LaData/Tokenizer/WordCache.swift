/// A hash map from a pre-token's UTF-8 bytes to its BPE token ids, open addressing over flat arenas, so that
/// a lookup allocates nothing (open_clip's `SimpleTokenizer.cache`, one per worker thread).
struct WordCache {
    private struct Slot {
        var hash: UInt64 = 0  // 0: empty
        var keyStart: Int32 = 0
        var keyCount: Int32 = 0
        var valueStart: Int32 = 0
        var valueCount: Int32 = 0
    }

    private var slots: [Slot]
    private var keys: [UInt8] = []
    private(set) var values: [Int32] = []
    private(set) var count = 0
    /// Entries beyond which the cache is emptied (memory bound; the ids never depend on it).
    let limit: Int

    /// Creates an empty cache.
    /// - Parameter limit: The number of words kept before the cache is emptied.
    init(limit: Int = 1 << 20) {
        self.limit = limit
        slots = Array(repeating: Slot(), count: 1 << 12)
    }

    /// FNV-1a over 8-byte words, mixed; never 0.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        let base = UnsafeRawPointer(bytes.baseAddress!)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x100_0000_01B3
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 32
        return h == 0 ? 1 : h
    }

    /// The range in `values` of the ids cached for `bytes`, if any.
    @inline(__always)
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Range<Int>? {
        slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                let mask = slots.count - 1
                var index = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let slot = slots[index]
                    if slot.hash == 0 { return nil }
                    if slot.hash == hash && Int(slot.keyCount) == bytes.count
                        && (bytes.count == 0
                            || memcmpEqual(keys.baseAddress! + Int(slot.keyStart), bytes.baseAddress!, bytes.count))
                    {
                        return Int(slot.valueStart)..<Int(slot.valueStart + slot.valueCount)
                    }
                    index = (index + 1) & mask
                }
            }
        }
    }

    /// Stores the ids of `bytes` (not already present).
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, ids: ArraySlice<Int32>) {
        if count >= limit || keys.count + bytes.count > Int(Int32.max) || values.count + ids.count > Int(Int32.max) {
            self = WordCache(limit: limit)
        }
        if (count + 1) * 2 > slots.count { grow() }
        let slot = Slot(
            hash: hash, keyStart: Int32(keys.count), keyCount: Int32(bytes.count), valueStart: Int32(values.count),
            valueCount: Int32(ids.count))
        keys.append(contentsOf: bytes)
        values.append(contentsOf: ids)
        place(slot)
        count += 1
    }

    private mutating func place(_ slot: Slot) {
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: slot.hash) & mask
        while slots[index].hash != 0 { index = (index + 1) & mask }
        slots[index] = slot
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: old.count * 2)
        for slot in old where slot.hash != 0 { place(slot) }
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    while i < count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
