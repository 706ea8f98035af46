import LaTensor

extension RandomGenerator {
    /// Stream numbers that keep the independent random choices made for one sample apart.
    public enum SampleStream {
        /// Which caption version LaCLIP reads (`LaCLIPTextSampler`).
        public static let captionChoice: UInt64 = 0
        /// Text augmentation of the chosen caption (`TextAugmenter`).
        public static let textAugmentation: UInt64 = 1
    }

    /// A 64-bit mix of two words (SplitMix64's finaliser over `a` and `b`), for deriving stream keys.
    /// - Parameters:
    ///   - a: The first word (e.g. a seed).
    ///   - b: The second word (e.g. an epoch).
    @inlinable
    public static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = a ^ (b &+ 0x9E37_79B9_7F4A_7C15) &* 0xD6E8_FEB8_6659_FD93
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The generator for one sample in one epoch: keyed by `(seed, stream, epoch)`, starting at counter
    /// `index << 32`, so each sample owns 2^32 blocks that no other sample uses. The result depends only on
    /// its arguments, not on which thread reads the sample or in what order.
    /// - Parameters:
    ///   - seed: The run's seed.
    ///   - epoch: The epoch (non-negative).
    ///   - index: The sample index (0 ..< 2^32).
    ///   - stream: Which of the sample's independent choices this is (see `SampleStream`).
    @inlinable
    public static func perSample(seed: UInt64, epoch: Int, index: Int, stream: UInt64 = 0) -> RandomGenerator {
        checkPrecondition(index >= 0 && index < 1 << 32, "sample index \(index) is outside 0 ..< 2^32")
        return RandomGenerator(seed: mix(mix(seed, stream), UInt64(bitPattern: Int64(epoch))),
                               counter: UInt64(index) << 32)
    }
}
