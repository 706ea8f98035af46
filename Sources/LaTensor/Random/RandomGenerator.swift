import Synchronization

/// A seeded, counter-based random generator (Philox4x32-10, the generator PyTorch uses on GPUs and JAX's
/// `threefry` cousin).
///
/// Every 128-bit block of random bits is a pure function of `(seed, counter)`. A tensor fill reserves a
/// range of counters and element `i` reads block `i / k`, so results are identical whatever the thread
/// count and however the work is split. The state is just two integers (`seed`, `counter`), so saving and
/// restoring it is exact.
///
/// The only hidden randomness in the package is `RandomGenerator.default`, used by the creation functions
/// when no generator is passed; seed it with `RandomGenerator.seedDefault(_:)`.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Hashable, Codable {
    /// The key of the stream.
    public var seed: UInt64
    /// The index of the next unused 128-bit block.
    public var counter: UInt64

    /// Creates a generator at the start of the stream for `seed`.
    /// - Parameters:
    ///   - seed: The stream key.
    ///   - counter: The first block to use (0 for a new stream).
    @inlinable
    public init(seed: UInt64, counter: UInt64 = 0) {
        self.seed = seed
        self.counter = counter
    }

    /// The Philox4x32-10 block for `counter` under `key`.
    /// - Parameters:
    ///   - counter: The block index.
    ///   - key: The stream key.
    @inlinable @inline(__always)
    public static func philox(counter: UInt64, key: UInt64) -> SIMD4<UInt32> {
        var c0 = UInt32(truncatingIfNeeded: counter)
        var c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2: UInt32 = 0
        var c3: UInt32 = 0
        var k0 = UInt32(truncatingIfNeeded: key)
        var k1 = UInt32(truncatingIfNeeded: key >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            let n0 = hi1 ^ c1 ^ k0
            let n2 = hi0 ^ c3 ^ k1
            c0 = n0; c1 = lo1; c2 = n2; c3 = lo0
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return SIMD4(c0, c1, c2, c3)
    }

    /// Reserves `blocks` consecutive blocks and returns the first one's counter.
    /// - Parameter blocks: How many blocks the caller will read.
    @inlinable
    public mutating func reserve(blocks: Int) -> UInt64 {
        let start = counter
        counter &+= UInt64(blocks)
        return start
    }

    /// The next 64 random bits (one block per call), for `shuffle(using:)` and friends.
    @inlinable
    public mutating func next() -> UInt64 {
        let block = RandomGenerator.philox(counter: reserve(blocks: 1), key: seed)
        return UInt64(block[0]) | (UInt64(block[1]) << 32)
    }

    /// A uniform Float in [0, 1) from 32 random bits.
    /// - Parameter bits: Random bits.
    @inlinable @inline(__always)
    public static func unitFloat(_ bits: UInt32) -> Float { Float(bits >> 8) * (1.0 / 16_777_216.0) }

    /// A uniform Double in [0, 1) from 64 random bits.
    /// - Parameters:
    ///   - low: The low 32 bits.
    ///   - high: The high 32 bits.
    @inlinable @inline(__always)
    public static func unitDouble(_ low: UInt32, _ high: UInt32) -> Double {
        let bits = (UInt64(high) << 32 | UInt64(low)) >> 11
        return Double(bits) * (1.0 / 9_007_199_254_740_992.0)
    }

    private static let defaultState = Mutex(RandomGenerator(seed: 0x5EED))

    /// Re-seeds the default generator (the one used when no generator is passed).
    /// - Parameter seed: The new seed; the counter restarts at 0.
    public static func seedDefault(_ seed: UInt64) {
        defaultState.withLock { $0 = RandomGenerator(seed: seed) }
    }

    /// Runs `body` with exclusive access to the default generator.
    /// - Parameter body: Receives the default generator in-out.
    public static func withDefault<R>(_ body: (inout RandomGenerator) -> R) -> R {
        defaultState.withLock { body(&$0) }
    }
}

extension RandomGenerator {
    /// Shuffles `elements` in place with Fisher-Yates from the last position down, drawing each index in
    /// `0...i` without bias by rejection from 64-bit draws. The result depends only on the generator's state,
    /// so a shuffle is reproducible from `(seed, counter)` (the loader's epoch order and WebDataset's shard
    /// order both use it).
    /// - Parameter elements: The array to permute.
    @inlinable
    public mutating func shuffle<Element>(_ elements: inout [Element]) {
        var i = elements.count - 1
        while i > 0 {
            let bound = UInt64(i + 1)
            let limit = UInt64.max - UInt64.max % bound
            var draw = next()
            while draw >= limit { draw = next() }
            elements.swapAt(i, Int(draw % bound))
            i -= 1
        }
    }
}
