import Foundation
import LaTensor

/// WebDataset tar shards read as a stream of image-caption samples.
///
/// **Grouping.** Members are grouped into samples by key, as webdataset does: a member name splits at
/// the first dot of its last path component into a key (directory plus basename up to that dot) and a
/// suffix (the rest, lowercased), so `dir/0001.seg.png` has key `dir/0001` and suffix `seg.png`. Members
/// with the same key must be consecutive; a new key ends the previous sample. Names without a dot in the
/// basename, directories and links are ignored, as are suffixes not listed in `imageSuffixes` or
/// `captionSuffixes` (those members are skipped by seeking, never read). Two members with the same key
/// and suffix in one sample are an error.
///
/// **Sample content.** The image is the member with the first suffix of `imageSuffixes` present
/// (default `jpg`, `jpeg`, `png`, `webp`), passed through as in-memory bytes with a format hint. Captions
/// come from `txt` (the UTF-8 text, surrounding whitespace trimmed) and then `json`: a JSON list of
/// strings, or an object with `"captions"` (list or string) and/or `"caption"` (string). Duplicates are
/// dropped, so img2dataset's `txt` plus `{"caption": same}` gives one caption. The `txt` caption, when
/// present, is `captions[0]`. A sample without an image or a caption is skipped (and counted in
/// `WebDatasetIterator.skippedSamples`) unless `requiresCompleteSamples` is set, which makes it an error.
///
/// **Shards and epochs.** Shards come from a brace pattern (see `BraceExpansion`). With `shufflesShards`
/// the shard order of epoch `e` is a Fisher-Yates shuffle driven by `RandomGenerator(seed: seed,
/// counter: e << 40)`, so each epoch has its own reproducible order. With `worldSize > 1`, worker `rank`
/// takes the shards at positions `rank, rank + worldSize, …` of that order (all workers must use the same
/// seed). Samples within a shard keep their archive order; a sample-level shuffle buffer is the loader's job.
///
/// **Memory.** Shards are read through `TarReader` with a bounded buffer; only the current sample's
/// members are in memory. Errors (missing shard, bad checksum, truncation, invalid JSON) are thrown from
/// `next()` as `DataError`s naming the shard and member.
public struct WebDataset: StreamingImageTextDataset {
    /// The shard paths, in their listed order.
    public let shards: [String]
    /// Whether the shard order is shuffled per epoch.
    public var shufflesShards: Bool
    /// The seed of the per-epoch shard shuffle.
    public var seed: UInt64
    /// This worker's index among `worldSize` workers.
    public var rank: Int
    /// The number of workers splitting the shards.
    public var worldSize: Int
    /// Image member suffixes, in order of preference.
    public var imageSuffixes: [String] = ["jpg", "jpeg", "png", "webp"]
    /// Caption member suffixes (`txt` and/or `json`).
    public var captionSuffixes: [String] = ["txt", "json"]
    /// Whether a sample missing its image or caption is an error rather than skipped.
    public var requiresCompleteSamples = false
    /// The read buffer size per open shard, in bytes.
    public var bufferSize = 1 << 20
    /// The largest member loaded into memory.
    public var maximumMemberSize = 1 << 28

    /// Creates a dataset from a shard pattern such as `data/shard-{000..009}.tar`.
    /// - Parameters:
    ///   - shardPattern: A brace pattern (several may be joined with `::`).
    ///   - shufflesShards: Whether each epoch visits the shards in a shuffled order.
    ///   - seed: The shuffle seed.
    ///   - rank: This worker's index in `0..<worldSize`.
    ///   - worldSize: The number of workers sharing the shards.
    /// - Throws: `DataError` for a malformed pattern, an empty shard list, or an invalid rank.
    public init(shardPattern: String, shufflesShards: Bool = false, seed: UInt64 = 0, rank: Int = 0, worldSize: Int = 1) throws {
        try self.init(shards: BraceExpansion.expandShardList(shardPattern), shufflesShards: shufflesShards,
                      seed: seed, rank: rank, worldSize: worldSize)
    }

    /// Creates a dataset from an explicit shard list.
    /// - Parameters:
    ///   - shards: The shard paths.
    ///   - shufflesShards: Whether each epoch visits the shards in a shuffled order.
    ///   - seed: The shuffle seed.
    ///   - rank: This worker's index in `0..<worldSize`.
    ///   - worldSize: The number of workers sharing the shards.
    /// - Throws: `DataError` for an empty shard list or an invalid rank.
    public init(shards: [String], shufflesShards: Bool = false, seed: UInt64 = 0, rank: Int = 0, worldSize: Int = 1) throws {
        guard !shards.isEmpty else {
            throw DataError(.malformed, file: "(shard list)", field: "shards", "the shard list is empty")
        }
        guard worldSize >= 1, rank >= 0, rank < worldSize else {
            throw DataError(.unsupported, file: "(shard list)", field: "rank", "rank \(rank) is not in 0..<\(worldSize)")
        }
        self.shards = shards
        self.shufflesShards = shufflesShards
        self.seed = seed
        self.rank = rank
        self.worldSize = worldSize
    }

    /// The shards this worker reads in `epoch`, in order.
    /// - Parameter epoch: The epoch number (0-based).
    public func shardOrder(epoch: Int) -> [String] {
        var order = shards
        if shufflesShards {
            var generator = RandomGenerator(seed: seed, counter: UInt64(truncatingIfNeeded: epoch) << 40)
            generator.shuffle(&order)
        }
        if worldSize > 1 {
            order = stride(from: rank, to: order.count, by: worldSize).map { order[$0] }
        }
        return order
    }

    /// Starts one pass over this worker's shards in the order for `epoch`.
    /// - Parameter epoch: The epoch number (0-based).
    public func makeIterator(epoch: Int) -> WebDatasetIterator {
        WebDatasetIterator(dataset: self, shards: shardOrder(epoch: epoch))
    }

    /// Splits a member name into its webdataset key and lowercased suffix; `nil` when the basename has no dot.
    /// - Parameter name: A tar member name.
    public static func keyAndSuffix(_ name: String) -> (key: String, suffix: String)? {
        let slash = name.lastIndex(of: "/")
        let baseStart = slash.map { name.index(after: $0) } ?? name.startIndex
        guard let dot = name[baseStart...].firstIndex(of: ".") else { return nil }
        let key = String(name[..<dot])
        let suffix = String(name[name.index(after: dot)...]).lowercased()
        guard !key.isEmpty, key.last != "/" else { return nil }
        return (key, suffix)
    }
}

/// One pass over a `WebDataset`: opens the shards one at a time and yields a sample per key.
///
/// It is a class holding the open shard; use it from one thread.
public final class WebDatasetIterator: ImageTextSampleIterator {
    /// The dataset being read.
    public let dataset: WebDataset
    /// The shards of this pass, in order.
    public let shards: [String]
    /// The number of samples skipped so far for lacking an image or caption.
    public private(set) var skippedSamples = 0
    /// The shard currently being read, if any.
    public var currentShard: String? { reader?.path }

    private var shardIndex = 0
    private var reader: TarReader?
    private var lookahead: (key: String, suffix: String, name: String, data: [UInt8]?)?

    init(dataset: WebDataset, shards: [String]) {
        self.dataset = dataset
        self.shards = shards
    }

    /// The next complete sample, or `nil` after the last shard.
    /// - Throws: `DataError` naming the shard and member for unreadable shards, corrupt or truncated tar
    ///   data, invalid caption JSON, duplicate members, or (with `requiresCompleteSamples`) an incomplete sample.
    public func next() throws -> ImageTextSample? {
        while true {
            guard let group = try nextGroup() else { return nil }
            if let sample = try makeSample(group) { return sample }
        }
    }

    private struct Group {
        var shard: String
        var key: String
        var members: [String: (name: String, data: [UInt8])]
    }

    /// The members of the next key (possibly with no wanted members).
    private func nextGroup() throws -> Group? {
        while true {
            if reader == nil {
                guard shardIndex < shards.count else { return nil }
                reader = try TarReader(path: shards[shardIndex], bufferSize: dataset.bufferSize,
                                       maximumMemberSize: dataset.maximumMemberSize)
                shardIndex += 1
            }
            guard let reader else { continue }
            var key: String?
            var members: [String: (name: String, data: [UInt8])] = [:]
            if let first = lookahead {
                // The member that ended the previous sample starts this one.
                key = first.key
                if let data = first.data { members[first.suffix] = (first.name, data) }
                lookahead = nil
            }
            while let entry = try reader.next() {
                guard entry.kind == .file, let (entryKey, suffix) = WebDataset.keyAndSuffix(entry.name) else { continue }
                let data = wanted(suffix) ? try reader.readData() : nil
                if let current = key, current != entryKey {
                    lookahead = (entryKey, suffix, entry.name, data)
                    return Group(shard: reader.path, key: current, members: members)
                }
                key = entryKey
                guard let data else { continue }
                if members[suffix] != nil {
                    throw DataError(.malformed, file: reader.path, line: entry.index, field: entry.name,
                                    "duplicate member for key \"\(entryKey)\" and suffix \"\(suffix)\"")
                }
                members[suffix] = (entry.name, data)
            }
            // End of this shard: a key never continues into the next shard.
            self.reader = nil
            if let key { return Group(shard: reader.path, key: key, members: members) }
        }
    }

    private func wanted(_ suffix: String) -> Bool {
        dataset.imageSuffixes.contains(suffix) || dataset.captionSuffixes.contains(suffix)
    }

    private func makeSample(_ group: Group) throws -> ImageTextSample? {
        var captions: [String] = []
        func add(_ caption: String) {
            if !captions.contains(caption) { captions.append(caption) }
        }
        for suffix in dataset.captionSuffixes {
            guard let member = group.members[suffix] else { continue }
            if suffix == "json" || suffix.hasSuffix(".json") {
                for caption in try jsonCaptions(member.data, shard: group.shard, member: member.name) { add(caption) }
            } else {
                let text = String(decoding: member.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !text.isEmpty { add(text) }
            }
        }
        let imageSuffix = dataset.imageSuffixes.first { group.members[$0] != nil }
        guard let imageSuffix, let image = group.members[imageSuffix], !captions.isEmpty else {
            if dataset.requiresCompleteSamples {
                throw DataError(.malformed, file: group.shard, field: group.key,
                                imageSuffix == nil ? "sample has no image member" : "sample has no caption member")
            }
            skippedSamples += 1
            return nil
        }
        return ImageTextSample(
            image: ImageReference(bytes: image.data, format: ImageFormat(fileExtension: imageSuffix),
                                  name: "\(group.shard):\(image.name)"),
            captions: captions, key: group.key)
    }

    private func jsonCaptions(_ data: [UInt8], shard: String, member: String) throws -> [String] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(data), options: [.fragmentsAllowed])
        } catch {
            throw DataError(.malformed, file: shard, field: member, "invalid JSON")
        }
        func strings(_ value: Any, field: String) throws -> [String] {
            if let text = value as? String { return [text] }
            if let list = value as? [Any] {
                return try list.enumerated().map { i, item in
                    guard let text = item as? String else {
                        throw DataError(.malformed, file: shard, field: member, "\(field)[\(i)] is not a string")
                    }
                    return text
                }
            }
            throw DataError(.malformed, file: shard, field: member, "\(field) is neither a string nor a list of strings")
        }
        if let list = object as? [Any] { return try strings(list, field: "captions") }
        if let record = object as? [String: Any] {
            var result: [String] = []
            if let caption = record["caption"] { result += try strings(caption, field: "caption") }
            if let captions = record["captions"] { result += try strings(captions, field: "captions") }
            return result
        }
        if let text = object as? String { return [text] }
        throw DataError(.malformed, file: shard, field: member, "expected a list of captions or an object with \"caption\"/\"captions\"")
    }
}
