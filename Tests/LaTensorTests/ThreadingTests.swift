import Synchronization
import Testing

@testable import LaTensor

/// `Threading.parallelFor` splits work into disjoint ranges that cover the job exactly.
@Suite struct ThreadingTests {
    static func ranges(total: Int, cost: Int = 1) -> [Range<Int>] {
        let seen = Mutex<[Range<Int>]>([])
        Threading.parallelFor(total: total, cost: cost) { range in seen.withLock { $0.append(range) } }
        return seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
    }

    static func covers(_ ranges: [Range<Int>], _ total: Int) -> Bool {
        var next = 0
        for range in ranges {
            if range.lowerBound != next || range.isEmpty { return false }
            next = range.upperBound
        }
        return next == total
    }

    @Test func threadCountRoundTrips() {
        let global = Threading.threadCount
        withThreadCount(3) {
            #expect(Threading.threadCount == 3)
            withThreadCount(1) { #expect(Threading.threadCount == 1) }
            #expect(Threading.threadCount == 3)
        }
        #expect(Threading.threadCount == global && global >= 1)
        // The global setter (set to the value it has, so that tests running beside this one are not disturbed).
        Threading.setThreadCount(global)
        #expect(Threading.threadCount == global)
    }

    @Test func smallJobsRunOnTheCallingThread() {
        withThreadCount(2) {
            #expect(Self.ranges(total: 0).isEmpty)
            #expect(Self.ranges(total: 1) == [0..<1])
            #expect(Self.ranges(total: Threading.minimumParallelWork - 1) == [0..<(Threading.minimumParallelWork - 1)])
        }
    }

    @Test func largeJobsSplitIntoDisjointCoveringRanges() {
        withThreadCount(2) {
            let total = Threading.minimumParallelWork + 7
            let parts = Self.ranges(total: total)
            #expect(parts.count == 2)
            #expect(Self.covers(parts, total))
            // The cost per item counts: 10_000 items of cost 4 are enough work to split.
            let costly = Self.ranges(total: 10_000, cost: 4)
            #expect(costly.count == 2 && Self.covers(costly, 10_000))
        }
        withThreadCount(3) {
            let parts = Self.ranges(total: 100_001)
            #expect(parts.count == 3 && Self.covers(parts, 100_001))
        }
        withThreadCount(1) {
            #expect(Self.ranges(total: 100_000) == [0..<100_000])
        }
    }
}
