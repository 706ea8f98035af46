import Foundation
import Testing

@testable import LaTensor

/// Philox generator, reproducibility, thread-count independence, distribution moments and bounds.
@Suite struct RandomTests {
    @Test func philoxMatchesRandom123KnownAnswer() {
        // Random123's kat_vectors: philox4x32 10, counter 0, key 0.
        let block = RandomGenerator.philox(counter: 0, key: 0)
        #expect(block == SIMD4<UInt32>(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        #expect(RandomGenerator.philox(counter: 1, key: 0) != block)
        #expect(RandomGenerator.philox(counter: 0, key: 1) != block)
        #expect(RandomGenerator.philox(counter: 1 << 32, key: 0) != RandomGenerator.philox(counter: 1, key: 0))
    }

    @Test func generatorStateAdvancesAndRestores() {
        var g = RandomGenerator(seed: 7)
        let start = g
        #expect(g.reserve(blocks: 5) == 0 && g.counter == 5)
        let first = g.next()
        #expect(g.counter == 6)
        var copy = start
        _ = copy.reserve(blocks: 5)
        #expect(copy.next() == first)
        let a = Tensor<Float>.randn([10], generator: &g)
        let b = Tensor<Float>.randn([10], generator: &g)
        #expect(a.scalars != b.scalars)
        // Restoring (seed, counter) replays the stream exactly.
        var replay = RandomGenerator(seed: 7, counter: 6)
        #expect(Tensor<Float>.randn([10], generator: &replay).scalars == a.scalars)
        // A fill reserves ceil(count / perBlock) blocks: 4 Floats or 2 Doubles per block.
        var h = RandomGenerator(seed: 1)
        _ = Tensor<Float>.uniform([9], generator: &h)
        #expect(h.counter == 3)
        _ = Tensor<Double>.uniform([5], generator: &h)
        #expect(h.counter == 6)
    }

    @Test func generatorIsCodable() throws {
        var g = RandomGenerator(seed: 99)
        _ = g.next()
        let data = try JSONEncoder().encode(g)
        var decoded = try JSONDecoder().decode(RandomGenerator.self, from: data)
        #expect(decoded == g)
        #expect(decoded.next() == g.next())
    }

    @Test func unitConversionsStayInRange() {
        #expect(RandomGenerator.unitFloat(0) == 0)
        #expect(RandomGenerator.unitFloat(.max) < 1)
        #expect(RandomGenerator.unitDouble(0, 0) == 0)
        #expect(RandomGenerator.unitDouble(.max, .max) < 1)
        #expect(RandomGenerator.unitDouble(0, 1 << 31) == 0.5)
    }

    @Test func sameSeedGivesSameTensors() {
        var a = RandomGenerator(seed: 123)
        var b = RandomGenerator(seed: 123)
        #expect(Tensor<Float>.randn([3, 5], generator: &a).scalars == Tensor<Float>.randn([3, 5], generator: &b).scalars)
        #expect(Tensor<Double>.uniform([7], low: -3, high: 2, generator: &a).scalars == Tensor<Double>.uniform([7], low: -3, high: 2, generator: &b).scalars)
        #expect(Tensor<Int>.randint([20], low: 0, high: 9, generator: &a).scalars == Tensor<Int>.randint([20], low: 0, high: 9, generator: &b).scalars)
        #expect(Tensor<Int>.randomPermutation(30, generator: &a).scalars == Tensor<Int>.randomPermutation(30, generator: &b).scalars)
        var c = RandomGenerator(seed: 124)
        var d = RandomGenerator(seed: 123)
        #expect(Tensor<Float>.randn([8], generator: &c).scalars != Tensor<Float>.randn([8], generator: &d).scalars)
    }

    @Test func defaultGeneratorFollowsItsSeed() {
        // After seeding, the convenience functions draw from seed 5's stream. Other tests may draw from the
        // default generator concurrently, so the draw may start a few blocks later than block 0.
        RandomGenerator.seedDefault(5)
        let drawn = Tensor<Float>.uniform([6]).scalars
        let matchesStream = (0..<4096).contains { start -> Bool in
            var g = RandomGenerator(seed: 5, counter: UInt64(start))
            return Tensor<Float>.uniform([6], generator: &g).scalars == drawn
        }
        #expect(matchesStream)
        #expect(RandomGenerator.withDefault { $0.seed } == 5)
        #expect(RandomGenerator.withDefault { $0.counter } >= 2)
        let normal = Tensor<Double>.randn([4], mean: 10, standardDeviation: 0.001).scalars
        #expect(normal.allSatisfy { Swift.abs($0 - 10) < 0.01 })
        #expect(Tensor<Double>.uniform([3], low: 2, high: 3).scalars.allSatisfy { $0 >= 2 && $0 < 3 })
    }

    @Test func resultsDoNotDependOnThreadCount() {
        // 50_000 elements: above Threading.minimumParallelWork, so two threads split the fill.
        let shape = [250, 200]
        let (one, two) = withOneAndTwoThreads { () -> [[Double]] in
            var g = RandomGenerator(seed: 2024)
            return [
                Tensor<Float>.randn(shape, generator: &g).scalars.map(Double.init),
                Tensor<Double>.randn(shape, mean: 1, standardDeviation: 2, generator: &g).scalars,
                Tensor<Float>.uniform(shape, low: -1, high: 3, generator: &g).scalars.map(Double.init),
                Tensor<Double>.uniform(shape, generator: &g).scalars,
                Tensor<Float>.truncatedNormal(shape, generator: &g).scalars.map(Double.init),
                Tensor<Int>.randint(shape, low: -5, high: 5, generator: &g).scalars.map(Double.init),
                [Double(g.counter)],
            ]
        }
        #expect(one.count == two.count)
        for (index, pair) in zip(one, two).enumerated() { #expect(pair.0 == pair.1, "generator output \(index)") }
        // Element i of a fill comes from block i / perBlock, so a prefix of a larger fill matches a smaller one.
        var small = RandomGenerator(seed: 77)
        var large = RandomGenerator(seed: 77)
        let prefix = Tensor<Float>.randn([10], generator: &small).scalars
        let whole = withThreadCount(2) { Tensor<Float>.randn([40_000], generator: &large).scalars }
        #expect(Array(whole.prefix(8)) == Array(prefix.prefix(8)))
    }

    static func moments(_ values: [Double]) -> (mean: Double, std: Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        return (mean, variance.squareRoot())
    }

    @Test func randnMoments() {
        var g = RandomGenerator(seed: 1)
        let f = Self.moments(Tensor<Float>.randn([100_000], generator: &g).scalars.map(Double.init))
        #expect(Swift.abs(f.mean) < 0.02 && Swift.abs(f.std - 1) < 0.02, "Float randn \(f)")
        let d = Self.moments(Tensor<Double>.randn([100_000], mean: 3, standardDeviation: 2, generator: &g).scalars)
        #expect(Swift.abs(d.mean - 3) < 0.04 && Swift.abs(d.std - 2) < 0.04, "Double randn \(d)")
        // Tail mass: about 4.55% outside ±2σ.
        let values = Tensor<Double>.randn([100_000], generator: &g).scalars
        let outside = Double(values.filter { Swift.abs($0) > 2 }.count) / 100_000
        #expect(Swift.abs(outside - 0.0455) < 0.004, "tail \(outside)")
        #expect(values.allSatisfy { $0.isFinite })
    }

    @Test func uniformMomentsAndBounds() {
        var g = RandomGenerator(seed: 2)
        let f = Tensor<Float>.uniform([100_000], low: -1, high: 3, generator: &g).scalars
        #expect(f.allSatisfy { $0 >= -1 && $0 < 3 })
        let fm = Self.moments(f.map(Double.init))
        #expect(Swift.abs(fm.mean - 1) < 0.02 && Swift.abs(fm.std - 4 / 12.0.squareRoot()) < 0.02, "Float uniform \(fm)")
        let d = Tensor<Double>.rand([100_000], generator: &g).scalars
        #expect(d.allSatisfy { $0 >= 0 && $0 < 1 })
        let dm = Self.moments(d)
        #expect(Swift.abs(dm.mean - 0.5) < 0.005 && Swift.abs(dm.std - 1 / 12.0.squareRoot()) < 0.005, "Double uniform \(dm)")
        // Each tenth of the interval gets about a tenth of the samples.
        var bins = [Int](repeating: 0, count: 10)
        for x in d { bins[Int(x * 10)] += 1 }
        #expect(bins.allSatisfy { Swift.abs($0 - 10_000) < 500 }, "bins \(bins)")
    }

    @Test func truncatedNormalStaysInBounds() {
        var g = RandomGenerator(seed: 3)
        let standard = Tensor<Double>.truncatedNormal([100_000], generator: &g).scalars
        #expect(standard.allSatisfy { $0 >= -2 && $0 <= 2 })
        let m = Self.moments(standard)
        // The standard normal truncated to [-2, 2] has mean 0 and standard deviation 0.8796.
        #expect(Swift.abs(m.mean) < 0.01 && Swift.abs(m.std - 0.8796) < 0.01, "truncated \(m)")
        let shifted = Tensor<Float>.truncatedNormal([20_000], mean: 1, standardDeviation: 0.02, low: 0.97, high: 1.1, generator: &g).scalars
        #expect(shifted.allSatisfy { $0 >= 0.97 && $0 <= 1.1 })
        #expect(shifted.contains { $0 < 0.975 } && shifted.contains { $0 > 1.04 })
        let oneSided = Tensor<Double>.truncatedNormal([20_000], low: 1, high: 5, generator: &g).scalars
        #expect(oneSided.allSatisfy { $0 >= 1 && $0 <= 5 })
        // Mean of the standard normal truncated to [1, inf): φ(1) / (1 - Φ(1)) = 1.5251.
        #expect(Swift.abs(Self.moments(oneSided).mean - 1.5251) < 0.02)
    }

    @Test func inverseErfInvertsErf() {
        for y in stride(from: -0.999, through: 0.999, by: 0.037) {
            #expect(Swift.abs(Foundation.erf(inverseErf(y)) - y) < 1e-12, "y = \(y)")
        }
        for y in [1e-10, 0.9999999, -0.9999999] { #expect(Swift.abs(Foundation.erf(inverseErf(y)) - y) < 1e-12) }
        #expect(inverseErf(1) == .infinity && inverseErf(-1) == -.infinity && inverseErf(0) == 0)
    }

    @Test func randintCoversTheRange() {
        var g = RandomGenerator(seed: 4)
        let values = Tensor<Int>.randint([5_000], low: -3, high: 4, generator: &g).scalars
        #expect(values.allSatisfy { $0 >= -3 && $0 < 4 })
        #expect(Set(values) == Set(-3..<4))
        let counts = Dictionary(grouping: values, by: { $0 }).mapValues(\.count)
        #expect(counts.values.allSatisfy { Swift.abs($0 - 5_000 / 7) < 120 }, "\(counts)")
        #expect(Tensor<Int>.randint([3, 2], low: 5, high: 6, generator: &g).scalars == [5, 5, 5, 5, 5, 5])
    }

    @Test(arguments: [0, 1, 2, 10, 1000])
    func randomPermutationIsAPermutation(n: Int) {
        var g = RandomGenerator(seed: UInt64(n))
        let p = Tensor<Int>.randomPermutation(n, generator: &g)
        #expect(p.shape == [n])
        #expect(p.scalars.sorted() == Array(0..<n))
        if n >= 10 { #expect(p.scalars != Array(0..<n)) }
    }

    @Test func randomPermutationsAreUniformish() {
        // Over many permutations of 4, every element lands in every position about equally often.
        var g = RandomGenerator(seed: 8)
        var counts = [[Int]](repeating: [Int](repeating: 0, count: 4), count: 4)
        for _ in 0..<4000 {
            for (position, value) in Tensor<Int>.randomPermutation(4, generator: &g).scalars.enumerated() {
                counts[value][position] += 1
            }
        }
        #expect(counts.joined().allSatisfy { Swift.abs($0 - 1000) < 120 }, "\(counts)")
    }
}
