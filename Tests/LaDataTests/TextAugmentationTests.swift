import Foundation
import Testing
import LaTensor
@testable import LaData

/// Pearson's chi-square statistic of observed counts against expected probabilities.
private func chiSquare(_ counts: [Int], _ probabilities: [Double]) -> Double {
    let total = Double(counts.reduce(0, +))
    return zip(counts, probabilities).reduce(0.0) { sum, pair in
        let expected = total * pair.1
        return expected == 0 ? sum : sum + (Double(pair.0) - expected) * (Double(pair.0) - expected) / expected
    }
}

@Suite struct LaCLIPSamplerTests {
    let original = "a photo of a dog on the beach"
    let rewrites = ["a dog runs along the sandy shore", "a puppy playing by the sea",
                    "the beach with a dog", "dog at the seaside"]

    @Test func uniformDrawFrequencies() throws {
        let sampler = try LaCLIPTextSampler(rewriteCount: 4, seed: 42)
        var counts = Array(repeating: 0, count: 5)
        for index in 0..<20_000 { counts[sampler.version(index: index, epoch: 3)] += 1 }
        // 4 degrees of freedom: P(chi2 > 18.5) ≈ 0.001.
        #expect(chiSquare(counts, Array(repeating: 0.2, count: 5)) < 18.5, "\(counts)")
        // Across epochs for one sample too.
        var perEpoch = Array(repeating: 0, count: 5)
        for epoch in 0..<10_000 { perEpoch[sampler.version(index: 7, epoch: epoch)] += 1 }
        #expect(chiSquare(perEpoch, Array(repeating: 0.2, count: 5)) < 18.5, "\(perEpoch)")
        // Every draw returns the text of its version.
        for index in 0..<200 {
            let draw = try sampler.draw(original: original, rewrites: rewrites, index: index, epoch: 0)
            #expect(draw.text == (draw.version == 0 ? original : rewrites[draw.version - 1]))
            #expect(!draw.fellBack)
        }
        #expect(sampler.statistics.totalDraws == 200)
        #expect(sampler.fallbackCount == 0)
    }

    @Test func weightsAreRespected() throws {
        let weights = [0.0, 1, 1, 2, 0]
        let sampler = try LaCLIPTextSampler(rewriteCount: 4, weights: weights, seed: 7)
        #expect(sampler.probabilities == [0, 0.25, 0.25, 0.5, 0])
        var counts = Array(repeating: 0, count: 5)
        for index in 0..<20_000 { counts[sampler.version(index: index, epoch: 0)] += 1 }
        #expect(counts[0] == 0 && counts[4] == 0, "\(counts)")
        // 2 degrees of freedom: P(chi2 > 13.8) ≈ 0.001.
        #expect(chiSquare(counts, sampler.probabilities) < 13.8, "\(counts)")
    }

    @Test func invalidConfigurationThrows() throws {
        #expect(throws: DataError.self) { try LaCLIPTextSampler(rewriteCount: 2, weights: [1, 1], seed: 0) }
        #expect(throws: DataError.self) { try LaCLIPTextSampler(rewriteCount: 1, weights: [1, -1], seed: 0) }
        #expect(throws: DataError.self) { try LaCLIPTextSampler(rewriteCount: 1, weights: [0, 0], seed: 0) }
        #expect(throws: DataError.self) { try LaCLIPTextSampler(rewriteCount: 1, weights: [.nan, 1], seed: 0) }
        #expect(throws: DataError.self) { try LaCLIPTextSampler(rewriteCount: -1, seed: 0) }
        let sampler = try LaCLIPTextSampler(rewriteCount: 2, seed: 0, source: "captions.tsv")
        let error = try #require(throws: DataError.self) {
            try sampler.sample(original: "a b", rewrites: ["c d"], index: 4, epoch: 0)
        }
        #expect(error.kind == .mismatch)
        #expect(error.file == "captions.tsv")
        #expect(error.line == 5)
    }

    @Test func shortRewritesFallBackAndAreCounted() throws {
        #expect(LaCLIPTextSampler.wordCount("  two\twords \n") == 2)
        #expect(!LaCLIPTextSampler.isUsable("dog"))
        #expect(!LaCLIPTextSampler.isUsable("   "))
        #expect(LaCLIPTextSampler.isUsable("big dog"))
        let rewrites = ["a dog on sand", "dog", "", " two  words "]
        let sampler = try LaCLIPTextSampler(rewriteCount: 4, seed: 1)
        var expectedFallbacks = 0
        for index in 0..<1000 {
            let draw = try sampler.draw(original: original, rewrites: rewrites, index: index, epoch: 2)
            let short = draw.version == 2 || draw.version == 3
            #expect(draw.fellBack == short)
            #expect(draw.text == (draw.version == 0 || short ? original : rewrites[draw.version - 1]))
            if short { expectedFallbacks += 1 }
        }
        let statistics = sampler.statistics
        #expect(expectedFallbacks > 0)
        #expect(sampler.fallbackCount == expectedFallbacks)
        #expect(statistics.fallbacks == [0, 0, statistics.draws[2], statistics.draws[3], 0])
        #expect(statistics.totalDraws == 1000)
        sampler.resetStatistics()
        #expect(sampler.statistics == LaCLIPTextSampler.Statistics(versionCount: 5))
    }

    @Test func deterministicAcrossOrdersAndThreads() async throws {
        let count = 2000
        let captions = (0..<count).map { index in
            (original: "original caption \(index)", rewrites: (1...3).map { "rewrite \($0) of \(index)" })
        }
        func run(_ order: [Int], sampler: LaCLIPTextSampler) throws -> [String] {
            var result = Array(repeating: "", count: count)
            for index in order {
                result[index] = try sampler.sample(original: captions[index].original,
                                                   rewrites: captions[index].rewrites, index: index, epoch: 5)
            }
            return result
        }
        let forward = try LaCLIPTextSampler(rewriteCount: 3, seed: 99)
        let reference = try run(Array(0..<count), sampler: forward)
        var rng = RandomGenerator(seed: 3)
        let shuffledSampler = try LaCLIPTextSampler(rewriteCount: 3, seed: 99)
        #expect(try run(Array(0..<count).shuffled(using: &rng), sampler: shuffledSampler) == reference)
        #expect(try run(Array((0..<count).reversed()), sampler: try LaCLIPTextSampler(rewriteCount: 3, seed: 99))
                    == reference)

        // Eight concurrent workers, each taking a strided share, through one shared sampler.
        let shared = try LaCLIPTextSampler(rewriteCount: 3, seed: 99)
        let results = try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    try stride(from: worker, to: count, by: 8).map { index in
                        (index, try shared.sample(original: captions[index].original,
                                                  rewrites: captions[index].rewrites, index: index, epoch: 5))
                    }
                }
            }
            var results = Array(repeating: "", count: count)
            for try await share in group { for (index, text) in share { results[index] = text } }
            return results
        }
        #expect(results == reference)
        #expect(shared.statistics == forward.statistics)
        #expect(shared.statistics.totalDraws == count)

        // Another epoch or seed draws differently.
        let otherEpoch = (0..<count).map { forward.version(index: $0, epoch: 6) }
        let thisEpoch = (0..<count).map { forward.version(index: $0, epoch: 5) }
        #expect(otherEpoch != thisEpoch)
        let otherSeed = try LaCLIPTextSampler(rewriteCount: 3, seed: 100)
        #expect((0..<count).map { otherSeed.version(index: $0, epoch: 5) } != thisEpoch)
    }

    @Test func perSampleGeneratorsAreIndependentOfEachOther() {
        let a = RandomGenerator.perSample(seed: 1, epoch: 0, index: 0)
        let b = RandomGenerator.perSample(seed: 1, epoch: 0, index: 1)
        #expect(a.seed == b.seed)
        #expect(b.counter - a.counter == 1 << 32)
        #expect(RandomGenerator.perSample(seed: 1, epoch: 1, index: 0).seed != a.seed)
        #expect(RandomGenerator.perSample(seed: 1, epoch: 0, index: 0, stream: 1).seed != a.seed)
        #expect(RandomGenerator.perSample(seed: 2, epoch: 0, index: 0).seed != a.seed)
    }
}

@Suite struct MultiTextSamplerTests {
    @Test func allVersionsInOrderWithFallbacks() throws {
        let sampler = try MultiTextSampler(rewriteCount: 3)
        let texts = try sampler.texts(original: "a red car", rewrites: ["a crimson automobile", "car", "a red vehicle"])
        #expect(texts == ["a red car", "a crimson automobile", "a red car", "a red vehicle"])
        #expect(sampler.fallbacksPerVersion == [0, 0, 1, 0])

        let batch = try sampler.batch(
            originals: ["one dog", "two cats", "three birds"],
            rewrites: [["a dog", "single dog", "dog"], ["", "a pair of cats", "two kittens"],
                       ["birds three", "3 birds", "trio of birds"]])
        #expect(batch == [
            ["one dog", "two cats", "three birds"],
            ["a dog", "two cats", "birds three"],
            ["single dog", "a pair of cats", "3 birds"],
            ["one dog", "two kittens", "trio of birds"],
        ])
        #expect(sampler.fallbacksPerVersion == [0, 1, 1, 1])
        #expect(sampler.fallbackCount == 3)
        sampler.resetStatistics()
        #expect(sampler.fallbackCount == 0)
    }

    @Test func mismatchesThrow() throws {
        let sampler = try MultiTextSampler(rewriteCount: 2, source: "mt.tsv")
        let error = try #require(throws: DataError.self) {
            try sampler.batch(originals: ["a b", "c d"], rewrites: [["x y", "z w"], ["only one"]], firstIndex: 10)
        }
        #expect(error.kind == .mismatch)
        #expect(error.line == 12)
        #expect(throws: DataError.self) { try sampler.batch(originals: ["a b"], rewrites: []) }
        #expect(throws: DataError.self) { try MultiTextSampler(rewriteCount: -2) }
    }
}

@Suite struct TokenMaskingTests {
    @Test func probabilitiesAndEdgeCases() throws {
        let words = (0..<20_000).map { "w\($0)" }
        var generator = RandomGenerator(seed: 11)
        let masking = try TokenMasking(maskProbability: 0.15)
        let masked = masking.augment(words: words, generator: &generator)
        #expect(masked.count == words.count)
        let maskedCount = masked.filter { $0 == "[MASK]" }.count
        #expect(abs(Double(maskedCount) / 20_000 - 0.15) < 0.01)
        for (a, b) in zip(words, masked) { #expect(b == a || b == "[MASK]") }

        let dropping = try TokenMasking(maskProbability: 0, dropProbability: 0.3)
        let kept = dropping.augment(words: words, generator: &generator)
        #expect(abs(Double(kept.count) / 20_000 - 0.7) < 0.01)
        #expect(Set(kept).isSubset(of: Set(words)))

        let dropAll = try TokenMasking(maskProbability: 0, dropProbability: 1)
        #expect(dropAll.augment("a small red bird", generator: &generator).split(separator: " ").count == 1)
        #expect(dropAll.augment("", generator: &generator) == "")
        let none = try TokenMasking(maskProbability: 0)
        #expect(none.augment("a  small\tbird", generator: &generator) == "a small bird")
        let all = try TokenMasking(maskProbability: 1, maskToken: "<mask>")
        #expect(all.augment("a small bird", generator: &generator) == "<mask> <mask> <mask>")
    }

    @Test func seededAndValidated() throws {
        let masking = try TokenMasking(maskProbability: 0.3, dropProbability: 0.2)
        let text = "a man riding a horse on a dirt road next to a green field"
        let first = masking.augment(text, seed: 5, epoch: 1, index: 3)
        #expect(masking.augment(text, seed: 5, epoch: 1, index: 3) == first)
        let others = (0..<20).map { masking.augment(text, seed: 5, epoch: 1, index: $0) }
        #expect(Set(others).count > 1)
        #expect(throws: DataError.self) { try TokenMasking(maskProbability: 1.5) }
        #expect(throws: DataError.self) { try TokenMasking(maskProbability: 0.6, dropProbability: 0.6) }
        let augmenters: [any TextAugmenter] = [masking, IdentityTextAugmenter()]
        var generator = RandomGenerator(seed: 0)
        #expect(augmenters[1].augment(text, generator: &generator) == text)
    }
}

@Suite struct EDATests {
    @Test func cleaningMatchesGetOnlyChars() {
        #expect(EDA.clean("Hello, World! It's 5 o'clock-ish") == "hello world its oclock ish")
        #expect(EDA.clean("  A\tdog\n\nRUNS—fast ") == "a dog runs fast")
        #expect(EDA.clean("café au lait") == "caf au lait")
        #expect(EDA.clean("123 !!") == "")
        #expect(EDA.words(of: "The dog’s ball.") == ["the", "dogs", "ball"])
    }

    @Test func changeCounts() {
        #expect(EDA.changeCount(alpha: 0.1, wordCount: 9) == 1)
        #expect(EDA.changeCount(alpha: 0.1, wordCount: 25) == 2)
        #expect(EDA.changeCount(alpha: 0.3, wordCount: 10) == 3)
        #expect(EDA.changeCount(alpha: 0.1, wordCount: 0) == 1)
    }

    @Test func randomSwapKeepsTheMultiset() {
        let words = EDA.words(of: "the quick brown fox jumps over the lazy dog")
        var generator = RandomGenerator(seed: 2)
        var changed = 0
        for _ in 0..<200 {
            let swapped = EDA.randomSwap(words, count: 3, generator: &generator)
            #expect(swapped.sorted() == words.sorted())
            if swapped != words { changed += 1 }
        }
        #expect(changed > 150)
        // One word: every attempt picks the same position, so nothing changes (eda.py gives up after 3 tries).
        #expect(EDA.randomSwap(["dog"], count: 5, generator: &generator) == ["dog"])
        #expect(EDA.randomSwap([], count: 1, generator: &generator) == [])
    }

    @Test func randomDeletion() {
        var generator = RandomGenerator(seed: 3)
        #expect(EDA.randomDeletion(["dog"], probability: 1, generator: &generator) == ["dog"])
        let words = (0..<10_000).map { "w\($0)" }
        let kept = EDA.randomDeletion(words, probability: 0.1, generator: &generator)
        #expect(abs(Double(kept.count) / 10_000 - 0.9) < 0.01)
        // Order is preserved: the result is a subsequence.
        var iterator = words.makeIterator()
        #expect(kept.allSatisfy { word in
            while let next = iterator.next() { if next == word { return true } }
            return false
        })
        let all = EDA.randomDeletion(["a", "b", "c"], probability: 1, generator: &generator)
        #expect(all.count == 1 && ["a", "b", "c"].contains(all[0]))
    }

    @Test func synonymsMatchTheReference() throws {
        let eda = try EDA(wordNet: try systemWordNet())
        // NLTK's get_synonyms("dog") in eda.py gives these (as a set).
        let dog = Set(eda.synonyms(of: "dog"))
        let reference: Set<String> = [
            "domestic dog", "canis familiaris", "frump", "cad", "bounder", "blackguard", "hound", "heel",
            "frank", "frankfurter", "hotdog", "hot dog", "wiener", "wienerwurst", "weenie", "pawl", "detent",
            "click", "andiron", "firedog", "dog iron", "chase", "chase after", "trail", "tail", "tag", "give chase",
            "go after", "track",
        ]
        #expect(dog == reference)
        #expect(!dog.contains("dog"))
        // Inflected words reach their lemma's synsets; hyphens become spaces; only letters and spaces remain.
        #expect(eda.synonyms(of: "cars").contains("automobile"))
        #expect(eda.synonyms(of: "cars").contains("car"))
        for synonym in eda.synonyms(of: "good") {
            #expect(synonym.allSatisfy { $0 == " " || ("a"..."z").contains($0) }, "\(synonym)")
        }
        #expect(eda.synonyms(of: "xyzzyqq").isEmpty)
    }

    @Test func synonymReplacementSkipsStopWords() throws {
        let eda = try EDA(wordNet: try systemWordNet())
        var generator = RandomGenerator(seed: 4)
        // Only stop words: nothing can change.
        let stops = EDA.words(of: "it is what it was and will be here")
        #expect(stops.allSatisfy { EDA.stopWords.contains($0) })
        for _ in 0..<20 {
            #expect(eda.synonymReplacement(stops, count: 3, generator: &generator) == stops)
        }
        // One content word among stop words: it is the one replaced, every occurrence of it.
        let words = EDA.words(of: "the dog and the dog")
        for _ in 0..<20 {
            let replaced = eda.synonymReplacement(words, count: 1, generator: &generator)
            let sentence = replaced.joined(separator: " ")
            #expect(sentence.hasPrefix("the "))
            let parts = sentence.components(separatedBy: " and the ")
            #expect(parts.count == 2 && "the " + parts[1] == parts[0], "\(sentence)")
            #expect(parts[1] != "dog" && eda.synonyms(of: "dog").contains(parts[1]))
        }
        // Replaces at most n distinct words (a multi-word synonym may repeat a word, e.g. "hot dog").
        let content = EDA.words(of: "dog car house tree river")
        let three = eda.synonymReplacement(content, count: 3, generator: &generator)
        #expect((1...3).contains(content.filter { !three.contains($0) }.count), "\(three)")
    }

    @Test func randomInsertionAddsSynonyms() throws {
        let eda = try EDA(wordNet: try systemWordNet())
        var generator = RandomGenerator(seed: 5)
        let words = EDA.words(of: "a dog on the beach")
        let allSynonyms = Set(words.flatMap { eda.synonyms(of: $0) })
        for _ in 0..<20 {
            let inserted = eda.randomInsertion(words, count: 2, generator: &generator)
            #expect(inserted.count == words.count + 2)
            // The original words keep their order (the result contains them as a subsequence).
            var iterator = inserted.makeIterator()
            #expect(words.allSatisfy { word in
                while let next = iterator.next() { if next == word { return true } }
                return false
            }, "\(inserted)")
            // The first insertion is a synonym of an original word.
            #expect(inserted.contains { !words.contains($0) && allSynonyms.contains($0) }, "\(inserted)")
            // eda.py inserts at randint(0, len - 1): never after the last word.
            #expect(inserted.last == "beach")
        }
        // No synonyms anywhere: nothing is inserted (10 tries, then give up).
        #expect(eda.randomInsertion(["the", "of"], count: 3, generator: &generator) == ["the", "of"])
    }

    @Test func edaSentences() throws {
        let eda = try EDA(wordNet: try systemWordNet())
        let sentence = "The quick brown fox jumps over the lazy dog!"
        let words = EDA.words(of: sentence)
        var generator = RandomGenerator(seed: 6)
        let sentences = eda.augmentations(of: sentence, generator: &generator)
        // num_aug = 9: 3 per operation, 12 made, 9 kept, all cleaned.
        #expect(sentences.count == 9)
        for s in sentences { #expect(s == EDA.clean(s)) }
        var again = RandomGenerator(seed: 6)
        #expect(eda.augmentations(of: sentence, generator: &again) == sentences)
        let two = try EDA(wordNet: eda.wordNet, numberOfAugmentations: 2)
        #expect(two.augmentations(of: sentence, generator: &generator).count == 2)
        #expect(eda.augmentations(of: "!!!", generator: &generator).isEmpty)

        // Each operation, with a 9-word sentence (n = 1 change).
        let swapped = eda.apply(.randomSwap, to: words, generator: &generator)
        #expect(swapped.sorted() == words.sorted())
        let inserted = eda.apply(.randomInsertion, to: words, generator: &generator)
        #expect(inserted.count == words.count + 1)
        let replaced = eda.apply(.synonymReplacement, to: words, generator: &generator)
        #expect(replaced != words)
        let changedTypes = Set(words).subtracting(replaced)
        #expect(changedTypes.count <= 1 && changedTypes.isDisjoint(with: EDA.stopWords))

        // As a TextAugmenter: seeded, one operation per call, every operation used.
        let outputs = (0..<40).map { eda.augment(sentence, seed: 1, epoch: 0, index: $0) }
        #expect(outputs == (0..<40).map { eda.augment(sentence, seed: 1, epoch: 0, index: $0) })
        #expect(Set(outputs).count > 5)
        #expect(outputs.contains { $0.split(separator: " ").count >= 10 })  // insertion or replacement
        let original = words.joined(separator: " ")
        #expect(outputs.contains {
            $0 != original && $0.split(separator: " ").map(String.init).sorted() == words.sorted()
        })
        #expect(eda.augment("", generator: &generator) == "")
    }

    @Test func configurationIsValidated() throws {
        let wordNet = try systemWordNet()
        #expect(throws: DataError.self) { try EDA(wordNet: wordNet, alphaSR: 1.5) }
        #expect(throws: DataError.self) { try EDA(wordNet: wordNet, numberOfAugmentations: 0) }
        #expect(throws: DataError.self) { try EDA(wordNet: wordNet, alphaSR: 0, alphaRI: 0, alphaRS: 0, pRD: 0) }
        let onlySwap = try EDA(wordNet: wordNet, alphaSR: 0, alphaRI: 0, pRD: 0)
        #expect(onlySwap.enabledOperations == [.randomSwap])
        var generator = RandomGenerator(seed: 8)
        #expect(onlySwap.augmentations(of: "one two three four", generator: &generator).count == 3)
    }
}
