import Foundation
import LaTensor

/// Builds LaCLIP's in-context rewriting prompt:
///
/// ```
/// write image captions differently,
///
/// source 1 => target 1
///
/// source 2 => target 2
///
/// source 3 => target 3
///
/// caption =>
/// ```
///
/// Each caption draws `exampleCount` (3) examples without repeats from one bank, deterministically from
/// `(seed, bank, caption index)`; a COCO example takes two different captions of one image as source and
/// target.
public struct RewritePromptBuilder: Sendable {
    /// The instruction line.
    public static let instruction = "write image captions differently,"
    /// The banks.
    public let banks: MetaPairBanks
    /// Examples per prompt.
    public let exampleCount: Int

    /// Creates a builder.
    /// - Parameters:
    ///   - banks: The meta-pair banks.
    ///   - exampleCount: In-context examples per prompt (3 in the paper).
    public init(banks: MetaPairBanks, exampleCount: Int = 3) {
        self.banks = banks
        self.exampleCount = exampleCount
    }

    /// The examples for one caption.
    /// - Parameters:
    ///   - bank: Which bank to draw from.
    ///   - seed: The run's seed.
    ///   - index: The caption's index in the caption list (so each caption's draw is independent of order).
    /// - Throws: `DataError` if the bank has fewer entries than `exampleCount`.
    public func examples(bank: MetaBank, seed: UInt64, index: Int) throws -> [RewriteExample] {
        let available = banks.count(of: bank)
        guard available >= exampleCount else {
            throw DataError(.unsupported, file: "meta-pair bank", field: bank.rawValue, "needs \(exampleCount) examples, has \(available)")
        }
        let bankKey = UInt64(MetaBank.allCases.firstIndex(of: bank)!)
        var generator = RandomGenerator(seed: seed ^ (bankKey &* 0x9E37_79B9_7F4A_7C15), counter: UInt64(index) << 20)
        var chosen = Array(0..<available)
        chosen.shuffle(using: &generator)
        return chosen.prefix(exampleCount).map { item in
            if bank == .coco {
                let captions = banks.cocoImages[item]
                var order = Array(captions.indices)
                order.shuffle(using: &generator)
                return RewriteExample(source: clean(captions[order[0]]), target: clean(captions[order[1]]))
            }
            let pair = banks.pairs[bank]![item]
            return RewriteExample(source: clean(pair.source), target: clean(pair.target))
        }
    }

    /// The full prompt for one caption.
    /// - Parameters:
    ///   - caption: The caption to rewrite (newlines become spaces).
    ///   - examples: The in-context examples.
    public func prompt(for caption: String, examples: [RewriteExample]) -> String {
        var lines = [RewritePromptBuilder.instruction, ""]
        for example in examples {
            lines.append("\(example.source) => \(example.target)")
            lines.append("")
        }
        lines.append("\(clean(caption)) =>")
        return lines.joined(separator: "\n")
    }

    func clean(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
