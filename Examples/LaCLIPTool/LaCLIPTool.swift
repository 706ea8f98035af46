import ArgumentParser
import Foundation
import LaCLIP

/// `laclip`: the package's command-line tool.
@main
struct LaCLIPTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laclip",
        abstract: "LaCLIP for Swift: train, evaluate and export CLIP / LaCLIP / LaCLIP-MT models; rewrite captions with a language model.",
        subcommands: [Train.self, Eval.self, Tokenize.self, Export.self, Rewrite.self])
}

/// `laclip rewrite`: rewrite a caption file with an OpenAI-compatible LLM server, resumably.
struct Rewrite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite captions by in-context learning (LaCLIP), resuming where a previous run stopped.")

    @Option(help: "Caption file, one caption per line.")
    var captions: String
    @Option(help: "Comma-separated banks used in turn by the rewrites: chatgpt, bard, coco, human.")
    var banks: String = "chatgpt,bard,coco,human"
    @Option(name: .customLong("rewrites-per-caption"), help: "Rewrites per caption (M).")
    var rewritesPerCaption: Int = 4
    @Option(help: "Base URL of the OpenAI-compatible server (or LACLIP_LLM_URL).")
    var server: String?
    @Option(name: .customLong("api-key"), help: "Bearer token (or LACLIP_LLM_API_KEY).")
    var apiKey: String?
    @Option(help: "Model name sent to the server (default: the first model the server lists at /v1/models).")
    var model: String?
    @Flag(help: "Use /v1/chat/completions instead of /v1/completions.")
    var chat = false
    @Option(help: "Output folder (rewrites.jsonl, rewrite_1.txt ... rewrite_M.txt, rejections.json).")
    var output: String
    @Option(help: "Requests in flight.")
    var concurrency: Int = 2
    @Option(name: .customLong("meta-pairs"), help: "A meta-pair bank JSON (icl_meta_pairs.json format; default: the paper's, bundled).")
    var metaPairs: String?
    @Option(name: .customLong("coco-captions"), help: "Optional COCO captions TSV (.gz) to enlarge the COCO bank.")
    var cocoCaptions: String?
    @Option(help: "Seed for example selection and sampling.")
    var seed: UInt64 = 0
    @Option(name: .customLong("max-resamples"), help: "Re-samples after a rejected rewrite before falling back to the original.")
    var maxResamples: Int = 3
    @Option(help: "Seconds per request.")
    var timeout: Double = 120
    @Flag(name: .customLong("no-faithfulness"), help: "Switch off the WordNet faithfulness filter.")
    var noFaithfulness = false
    @Flag(name: .customLong("require-own-class"), help: "With --classes and --labels: also reject rewrites that do not name their own class.")
    var requireOwnClass = false
    @Option(name: .customLong("classes"), help: "Optional file of class names (one per line) for the class check.")
    var classes: String?
    @Option(name: .customLong("labels"), help: "Optional file of per-caption class indices aligned with --captions.")
    var labels: String?

    func validate() throws {
        guard rewritesPerCaption > 0 else { throw ValidationError("--rewrites-per-caption must be positive") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        guard maxResamples >= 0 else { throw ValidationError("--max-resamples must not be negative") }
        for bank in banks.split(separator: ",", omittingEmptySubsequences: false) where MetaBank(rawValue: String(bank)) == nil {
            throw ValidationError("unknown bank '\(bank)' in --banks '\(banks)'; use a comma-separated list of chatgpt, bard, coco, human")
        }
        guard timeout.isFinite, timeout > 0, timeout <= 86_400 else {
            throw ValidationError("--timeout must be a number of seconds in (0, 86400], got \(timeout)")
        }
        guard rewritesPerCaption <= 1000 else { throw ValidationError("--rewrites-per-caption must be at most 1000") }
        guard concurrency <= 1024 else { throw ValidationError("--concurrency must be at most 1024") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let serverText = server ?? environment["LACLIP_LLM_URL"], let baseURL = URL(string: serverText) else {
            throw ValidationError("give --server URL or set LACLIP_LLM_URL")
        }
        let captionList = try lines(of: captions)
        guard !captionList.isEmpty else { throw ValidationError("\(captions): no captions to rewrite (the file is empty)") }
        let bankList = banks.split(separator: ",").compactMap { MetaBank(rawValue: String($0)) }
        var metaBanks = try metaPairs.map { try MetaPairBanks.load(contentsOf: URL(fileURLWithPath: $0)) } ?? MetaPairBanks.loadDefault()
        if let cocoCaptions { metaBanks = try metaBanks.addingCOCOImages(fromTSV: cocoCaptions) }
        let tokenizer: BPETokenizer?
        do { tokenizer = try BPETokenizer.loadDefault() } catch {
            tokenizer = nil
            FileHandle.standardError.write(Data("warning: no CLIP tokenizer, so rewrites are not checked for length (\(error))\n".utf8))
        }
        var faithfulness: FaithfulnessFilter? = nil
        if !noFaithfulness {
            let classNames = try classes.map { try lines(of: $0) } ?? []
            faithfulness = FaithfulnessFilter(wordNet: try WordNet.shared(), classNames: classNames, requireOwnClass: requireOwnClass)
        }
        let classIndices = try labels.map { path in
            try lines(of: path).enumerated().map { number, line in
                guard let value = Int(line.trimmingCharacters(in: .whitespaces)) else {
                    throw DataError(.malformed, file: path, line: number + 1, "not a class index: \(line)")
                }
                return value
            }
        }
        if let classIndices, classIndices.count != captionList.count {
            throw DataError(.mismatch, file: labels!, "\(classIndices.count) labels for \(captionList.count) captions in \(captions)")
        }
        let filter = RewriteFilter(
            tokenCount: tokenizer.map { tokenizer in { @Sendable text in tokenizer.encode(text).count } }, faithfulness: faithfulness)
        var serverDescription = CompletionServer(
            baseURL: baseURL, apiKey: apiKey ?? environment["LACLIP_LLM_API_KEY"], model: model ?? "default", endpoint: chat ? .chat : .completions)
        if model == nil {
            // vLLM and Ollama need the served model's name, and the records should name the model.
            do {
                if let first = try await CompletionClient(server: serverDescription, timeout: timeout).modelIDs().first { serverDescription.model = first }
            } catch {
                FileHandle.standardError.write(Data("warning: cannot list the server's models (\(error)); sending model \"default\"\n".utf8))
            }
        }
        let client = CompletionClient(server: serverDescription, timeout: timeout)
        let rewriter = CaptionRewriter(
            client: client, prompts: RewritePromptBuilder(banks: metaBanks), filter: filter, banks: bankList,
            rewritesPerCaption: rewritesPerCaption, maximumResamples: maxResamples, concurrency: concurrency, seed: seed)
        let store = try RewriteStore(directory: URL(fileURLWithPath: output))
        let start = Date()
        let toDo = captionList.count * rewritesPerCaption - (await store.records.values.reduce(0) { $0 + $1.count })
        print("rewriting with model \(serverDescription.model) at \(serverDescription.endpointURL.absoluteString): \(toDo) rewrites to do")
        try await rewriter.run(captions: captionList, classIndices: classIndices, store: store) { progress in
            let width = 30
            let filled = progress.total == 0 ? width : width * progress.finished / progress.total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let rate = String(format: "%.3f", progress.captionsPerSecond)
            FileHandle.standardError.write(Data("\r[\(bar)] \(progress.finished)/\(progress.total) rewrites  \(rate) captions/s".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "%d rewrites (%.2f captions) in %.1f s: %.3f captions/s", toDo, Double(toDo) / Double(rewritesPerCaption), seconds,
                     Double(toDo) / Double(rewritesPerCaption) / Swift.max(seconds, 1e-9)))
        try await store.exportLaCLIPFormat(captionCount: captionList.count, rewritesPerCaption: rewritesPerCaption)
        let counts = await store.rejectionCounts()
        print("wrote \(rewritesPerCaption) rewrite files for \(captionList.count) captions to \(output)")
        print("rejections by reason:", counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }

    func lines(of path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(.unreadable, file: path, "cannot read file") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\r")) }
            .dropLastIfEmpty()
    }
}

extension Array where Element == String {
    func dropLastIfEmpty() -> [String] { last == "" ? Array(dropLast()) : self }
}
