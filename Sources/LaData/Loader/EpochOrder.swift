import LaTensor

/// The order in which one epoch visits the samples: a permutation of `0 ..< count` drawn from the loader's
/// seed and the epoch number (or the identity when shuffling is off).
///
/// The permutation is a Fisher-Yates shuffle driven by `RandomGenerator(seed: mix(mix(seed, stream), epoch))`
/// with unbiased bounded draws, so it depends only on `(seed, epoch, count)`: every run, every worker count
/// and every resumed run sees the same order.
public enum EpochOrder {
    /// The stream number that keeps the shuffle apart from the per-sample random choices.
    public static let shuffleStream: UInt64 = 0x5348_5546  // "SHUF"

    /// The sample indices of `epoch`, in visiting order.
    /// - Parameters:
    ///   - count: The number of samples.
    ///   - seed: The loader's seed.
    ///   - epoch: The epoch (0-based).
    ///   - shuffle: Whether to shuffle; `false` returns `0 ..< count` in order.
    public static func permutation(count: Int, seed: UInt64, epoch: Int, shuffle: Bool = true) -> [Int] {
        var order = Array(0..<max(count, 0))
        guard shuffle, order.count > 1 else { return order }
        let key = RandomGenerator.mix(RandomGenerator.mix(seed, shuffleStream), UInt64(bitPattern: Int64(epoch)))
        var generator = RandomGenerator(seed: key)
        generator.shuffle(&order)
        return order
    }
}
