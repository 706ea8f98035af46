import Foundation

/// One in-context example of a caption rewrite: `source => target`.
public struct RewriteExample: Equatable, Sendable, Codable {
    /// The original caption.
    public var source: String
    /// Its rewrite.
    public var target: String

    /// Creates an example.
    /// - Parameters:
    ///   - source: The original caption.
    ///   - target: Its rewrite.
    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }
}

/// The source of the in-context examples, as in the LaCLIP paper.
public enum MetaBank: String, CaseIterable, Sendable, Codable {
    /// Rewrites written by ChatGPT.
    case chatgpt
    /// Rewrites written by Bard.
    case bard
    /// Two different human captions of one COCO image.
    case coco
    /// Rewrites written by people.
    case human
}

/// The meta-input/output pairs LaCLIP draws its in-context examples from.
///
/// The JSON file format is the one the LaCLIP repository's bank uses (`icl_meta_pairs.json`):
/// ```json
/// { "chatgpt_source_caption_list": ["..."], "chatgpt_target_caption_list": ["..."],
///   "bard_source_caption_list": [...], "bard_target_caption_list": [...],
///   "human_source_caption_list": [...], "human_target_caption_list": [...],
///   "coco_caption_list": [["caption 1 of image 1", "caption 2", ...], ...] }
/// ```
/// Source and target lists of a bank must have equal lengths; every COCO image needs at least two
/// captions. Any bank may be missing (it is then empty). More COCO images can be added from the COCO
/// captions TSV with `addingCOCOImages(fromTSV:)`.
public struct MetaPairBanks: Sendable, Equatable {
    /// Source/target pairs of the ChatGPT, Bard and Human banks.
    public var pairs: [MetaBank: [RewriteExample]]
    /// Captions of each COCO image (an example takes two different captions of one image).
    public var cocoImages: [[String]]

    /// Creates banks from values.
    /// - Parameters:
    ///   - pairs: Pairs by bank (`.coco` is ignored here).
    ///   - cocoImages: Captions per COCO image.
    public init(pairs: [MetaBank: [RewriteExample]], cocoImages: [[String]]) {
        self.pairs = pairs
        self.cocoImages = cocoImages
    }

    /// The number of examples a bank can supply (pairs, or COCO images).
    /// - Parameter bank: The bank.
    public func count(of bank: MetaBank) -> Int {
        bank == .coco ? cocoImages.count : pairs[bank]?.count ?? 0
    }

    /// The paper's meta-pair bank bundled with the package (LaCLIP's `icl_meta_pairs.json`, BSD-2-Clause licence in
    /// `LICENSE-LaCLIP-meta-pairs.txt` beside it), or nil when the resource bundle is missing.
    public static var bundledURL: URL? { Bundle.module.url(forResource: "icl_meta_pairs", withExtension: "json") }

    /// Loads the bundled bank (the one the paper's rewrites used).
    /// - Throws: `DataError` when the resource is missing or unreadable.
    public static func loadDefault() throws -> MetaPairBanks {
        guard let url = bundledURL else {
            throw DataError(.unreadable, file: "icl_meta_pairs.json", "the meta-pair bank bundled with LaData is missing (a broken installation)")
        }
        return try load(contentsOf: url)
    }

    /// Loads the banks from a JSON file in the documented format.
    /// - Parameter url: The JSON file.
    /// - Throws: `DataError` naming the file and field on a missing file, bad JSON or unequal list lengths.
    public static func load(contentsOf url: URL) throws -> MetaPairBanks {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataError(.unreadable, file: path, "cannot read meta-pair bank") }
        guard let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw DataError(.malformed, file: path, "not a JSON object")
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = root[key] else { return nil }
            guard let list = value as? [String] else { throw DataError(.malformed, file: path, field: key, "expected a list of strings") }
            return list
        }
        var pairs: [MetaBank: [RewriteExample]] = [:]
        for bank in [MetaBank.chatgpt, .bard, .human] {
            let sources = try strings("\(bank.rawValue)_source_caption_list")
            let targets = try strings("\(bank.rawValue)_target_caption_list")
            guard sources?.count == targets?.count else {
                throw DataError(
                    .mismatch, file: path, field: "\(bank.rawValue)_source_caption_list",
                    "\(sources?.count ?? 0) sources but \(targets?.count ?? 0) targets")
            }
            pairs[bank] = zip(sources ?? [], targets ?? []).map { RewriteExample(source: $0, target: $1) }
        }
        var coco: [[String]] = []
        if let value = root["coco_caption_list"] {
            guard let images = value as? [[String]] else {
                throw DataError(.malformed, file: path, field: "coco_caption_list", "expected a list of lists of strings")
            }
            for (index, captions) in images.enumerated() where captions.count < 2 {
                throw DataError(.malformed, file: path, line: index + 1, field: "coco_caption_list", "an image needs at least two captions, found \(captions.count)")
            }
            coco = images
        }
        return MetaPairBanks(pairs: pairs, cocoImages: coco)
    }

    /// These banks plus the COCO images of a captions TSV (`image_id<TAB>caption_id<TAB>caption`, gzip or
    /// plain), grouped by image in order of first appearance.
    /// - Parameters:
    ///   - path: The TSV file.
    ///   - maximumImages: Keep at most this many images (nil: all).
    public func addingCOCOImages(fromTSV path: String, maximumImages: Int? = nil) throws -> MetaPairBanks {
        let text = try Gzip.readText(path: path)
        var order: [String] = []
        var byImage: [String: [String]] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { throw DataError(.malformed, file: path, line: number + 1, "expected 3 tab-separated fields") }
            let image = String(fields[0])
            if byImage[image] == nil { order.append(image) }
            byImage[image, default: []].append(fields[2].trimmingCharacters(in: .whitespaces))
        }
        var result = self
        for image in order.prefix(maximumImages ?? order.count) where byImage[image]!.count >= 2 {
            result.cocoImages.append(byImage[image]!)
        }
        return result
    }
}
