import Foundation
import Testing

@testable import LaData

@Suite struct WebDatasetTests {
    /// Every sample of a pass.
    private func drain(_ dataset: WebDataset, epoch: Int = 0) throws -> [ImageTextSample] {
        let iterator = dataset.makeIterator(epoch: epoch)
        var samples: [ImageTextSample] = []
        while let sample = try iterator.next() { samples.append(sample) }
        return samples
    }

    @Test func keyAndSuffixFollowWebdataset() {
        #expect(WebDataset.keyAndSuffix("0001.jpg")! == ("0001", "jpg"))
        #expect(WebDataset.keyAndSuffix("dir/0001.seg.PNG")! == ("dir/0001", "seg.png"))
        #expect(WebDataset.keyAndSuffix("a.b/c.txt")! == ("a.b/c", "txt"))
        #expect(WebDataset.keyAndSuffix("README") == nil)
        #expect(WebDataset.keyAndSuffix("dir/.hidden") == nil)
    }

    @Test func groupsMembersIntoSamples() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        let image1 = testBytes(1500, seed: 1), image2 = testBytes(700, seed: 2), image3 = testBytes(64, seed: 3)
        tar.add("s/0001.jpg", image1)
        tar.add("s/0001.txt", text: "a cat on a mat\n")
        tar.add("s/0001.json", text: #"{"caption": "a cat on a mat", "url": "http://x", "captions": ["a feline resting"]}"#)
        tar.add("s/0002.png", image2)
        tar.add("s/0002.cls", text: "3")
        tar.add("s/0002.json", text: #"["first caption", "second caption"]"#)
        tar.add("s/0003.webp", image3)
        tar.add("s/0003.json", text: #"{"captions": "only one"}"#)
        tar.add("s/0004.txt", text: "caption without image")
        tar.add("s/0005.jpeg", testBytes(10))
        tar.add("s/README", text: "no dot: ignored")
        tar.finish()
        let shard = try dir.write("shard-000.tar", tar.bytes)
        let dataset = try WebDataset(shards: [shard])
        let iterator = dataset.makeIterator(epoch: 0)
        var samples: [ImageTextSample] = []
        while let sample = try iterator.next() { samples.append(sample) }
        #expect(samples.map(\.key) == ["s/0001", "s/0002", "s/0003"])
        #expect(samples[0].captions == ["a cat on a mat", "a feline resting"])
        #expect(samples[0].image.source == .bytes(image1))
        #expect(samples[0].image.format == .jpeg)
        #expect(samples[0].image.name == "\(shard):s/0001.jpg")
        #expect(samples[1].captions == ["first caption", "second caption"])
        #expect(samples[1].image.format == .png && samples[1].image.source == .bytes(image2))
        #expect(samples[2].captions == ["only one"] && samples[2].image.format == .webp)
        #expect(iterator.skippedSamples == 2)  // 0004 has no image, 0005 no caption

        var strict = dataset
        strict.requiresCompleteSamples = true
        let error = expectDataError(.malformed) { _ = try drain(strict) }
        #expect(error?.file == shard && error?.field == "s/0004")
    }

    @Test func errorsNameShardAndMember() throws {
        let dir = try TemporaryDirectory()
        var duplicate = TarBuilder()
        duplicate.add("k.jpg", [1, 2, 3])
        duplicate.add("k.jpg", [4, 5, 6])
        duplicate.finish()
        let dupPath = try dir.write("dup.tar", duplicate.bytes)
        let dupError = expectDataError(.malformed) { _ = try drain(try WebDataset(shards: [dupPath])) }
        #expect(dupError?.file == dupPath && dupError?.field == "k.jpg")

        var badJSON = TarBuilder()
        badJSON.add("k.jpg", [1])
        badJSON.add("k.json", text: "{not json")
        let jsonPath = try dir.write("json.tar", badJSON.bytes)
        let jsonError = expectDataError(.malformed) { _ = try drain(try WebDataset(shards: [jsonPath])) }
        #expect(jsonError?.file == jsonPath && jsonError?.field == "k.json")

        var corrupt = TarBuilder()
        corrupt.add("a.jpg", [1])
        corrupt.add("a.txt", text: "a")
        corrupt.append(TarBuilder.header(name: "b.jpg", size: 1 << 20))
        corrupt.append(TarBuilder.padded([9, 9]))
        let corruptPath = try dir.write("corrupt.tar", corrupt.bytes)
        let iterator = try WebDataset(shards: [corruptPath]).makeIterator(epoch: 0)
        var error: DataError?
        do {
            while try iterator.next() != nil {}
        } catch let e as DataError { error = e }
        #expect(error?.kind == .truncated && error?.file == corruptPath && error?.field == "b.jpg")

        let missing = dir.path + "/missing-000.tar"
        let missingError = expectDataError(.unreadable) { _ = try drain(try WebDataset(shards: [missing])) }
        #expect(missingError?.file == missing)
        expectDataError(.malformed) { _ = try WebDataset(shards: []) }
        expectDataError(.unsupported) { _ = try WebDataset(shards: ["a"], rank: 2, worldSize: 2) }
    }

    /// Writes `count` shards of `perShard` samples each and returns the pattern.
    private func writeShards(_ count: Int, perShard: Int, in dir: TemporaryDirectory) throws -> String {
        for shard in 0..<count {
            var tar = TarBuilder()
            for i in 0..<perShard {
                let key = String(format: "%02d%03d", shard, i)
                tar.add("\(key).jpg", testBytes(100 + i, seed: UInt64(shard * 1000 + i)))
                tar.add("\(key).txt", text: "shard \(shard) sample \(i)")
            }
            tar.finish()
            try dir.write(String(format: "shard-%03d.tar", shard), tar.bytes)
        }
        return dir.path + "/shard-{000..\(String(format: "%03d", count - 1))}.tar"
    }

    @Test func bracePatternAndPerEpochShuffle() throws {
        let dir = try TemporaryDirectory()
        let pattern = try writeShards(6, perShard: 3, in: dir)
        let ordered = try WebDataset(shardPattern: pattern)
        #expect(ordered.shards.count == 6)
        #expect(ordered.shards.last == dir.path + "/shard-005.tar")
        let samples = try drain(ordered)
        #expect(samples.count == 18)
        #expect(samples.first?.caption == "shard 0 sample 0" && samples.last?.caption == "shard 5 sample 2")
        #expect(samples[4].image.source == .bytes(testBytes(101, seed: 1001)))

        let shuffled = try WebDataset(shardPattern: pattern, shufflesShards: true, seed: 42)
        let epoch0 = shuffled.shardOrder(epoch: 0), epoch1 = shuffled.shardOrder(epoch: 1)
        #expect(Set(epoch0) == Set(ordered.shards) && Set(epoch1) == Set(ordered.shards))
        #expect(epoch0 != epoch1 || epoch0 != shuffled.shardOrder(epoch: 2))
        #expect(epoch0 == (try WebDataset(shardPattern: pattern, shufflesShards: true, seed: 42)).shardOrder(epoch: 0))
        let orders = Set((0..<10).map { shuffled.shardOrder(epoch: $0) })
        #expect(orders.count > 5)
        // Samples follow the shard order; within a shard, archive order.
        let shuffledSamples = try drain(shuffled, epoch: 1)
        #expect(shuffledSamples.count == 18)
        let firstShard = (epoch1[0] as NSString).lastPathComponent
        #expect(shuffledSamples[0].caption == "shard \(Int(firstShard.dropFirst(6).prefix(3))!) sample 0")

        // Two workers split the epoch's order without overlap.
        let rank0 = try WebDataset(shardPattern: pattern, shufflesShards: true, seed: 42, rank: 0, worldSize: 2)
        let rank1 = try WebDataset(shardPattern: pattern, shufflesShards: true, seed: 42, rank: 1, worldSize: 2)
        let a = rank0.shardOrder(epoch: 3), b = rank1.shardOrder(epoch: 3)
        #expect(a.count == 3 && b.count == 3 && Set(a + b) == Set(ordered.shards))
    }

    @Test func realCOCOImagesThroughAShard() throws {
        guard let mini = sharedData("coco/mini") else { return }
        let dataset = try COCOMiniDataset(directory: mini)
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        var expected: [(String, [UInt8], [String])] = []
        for index in 0..<5 {
            let sample = try dataset.sample(at: index)
            let bytes = try sample.image.loadBytes()
            let key = "coco/\(index)"
            tar.add("\(key).jpg", bytes)
            let json = try JSONSerialization.data(withJSONObject: ["captions": sample.captions])
            tar.add("\(key).json", [UInt8](json))
            expected.append((key, bytes, sample.captions))
        }
        tar.finish()
        let shard = try dir.write("coco-0.tar", tar.bytes)
        let read = try drain(try WebDataset(shards: [shard]))
        #expect(read.count == 5)
        for (sample, (key, bytes, captions)) in zip(read, expected) {
            #expect(sample.key == key)
            #expect(sample.image.source == .bytes(bytes))
            #expect(Array(bytes.prefix(2)) == [0xFF, 0xD8])  // JPEG signature passed through untouched
            #expect(sample.captions == captions)
        }
    }
}
