import LaTensor

/// A text augmentation: a random rewrite of one caption.
///
/// All randomness comes from the generator passed in, so an augmentation is a pure function of the text and
/// the generator's `(seed, counter)`. A data loader gives each sample its own generator with
/// `RandomGenerator.perSample(seed:epoch:index:stream:)` so results do not depend on threads or read order.
public protocol TextAugmenter: Sendable {
    /// One augmented version of `text`.
    /// - Parameters:
    ///   - text: The caption.
    ///   - generator: The source of randomness; advanced by the blocks used.
    func augment(_ text: String, generator: inout RandomGenerator) -> String
}

extension TextAugmenter {
    /// One augmented version of `text` for sample `index` in `epoch`, drawn from that sample's own stream.
    /// - Parameters:
    ///   - text: The caption.
    ///   - seed: The run's seed.
    ///   - epoch: The epoch.
    ///   - index: The sample index in the dataset.
    public func augment(_ text: String, seed: UInt64, epoch: Int, index: Int) -> String {
        var generator = RandomGenerator.perSample(
            seed: seed, epoch: epoch, index: index, stream: RandomGenerator.SampleStream.textAugmentation)
        return augment(text, generator: &generator)
    }
}

/// The augmenter that returns the text unchanged (for loaders configured without text augmentation).
public struct IdentityTextAugmenter: TextAugmenter {
    /// Creates the identity augmenter.
    public init() {}

    /// Returns `text` unchanged.
    /// - Parameters:
    ///   - text: The caption.
    ///   - generator: Not used.
    public func augment(_ text: String, generator: inout RandomGenerator) -> String { text }
}
