import Foundation
import Testing
import LaTensor
@testable import LaData

/// Caption rewriting: prompt builder, meta-pair banks, output extraction and rejection, the faithfulness
/// filter, the resumable store, the completion client against a loopback HTTP server, and the whole
/// rewriter against a fake model. The real-model test runs only when `LACLIP_LLM_URL` is set.
@Suite struct RewritingTests {
    // MARK: Fixtures

    /// Small hand-made banks: `count` pairs in each pair bank, `count` COCO images with 3 captions.
    static func handBanks(count: Int = 4) -> MetaPairBanks {
        var pairs: [MetaBank: [RewriteExample]] = [:]
        for bank in [MetaBank.chatgpt, .bard, .human] {
            pairs[bank] = (0..<count).map { RewriteExample(source: "\(bank.rawValue) source \($0)", target: "\(bank.rawValue) target \($0)") }
        }
        let coco = (0..<count).map { image in (0..<3).map { "image \(image) caption \($0)" } }
        return MetaPairBanks(pairs: pairs, cocoImages: coco)
    }

    static let fashionClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    static func realBanks() throws -> MetaPairBanks? {
        guard let path = sharedData("laclip/icl_meta_pairs.json") else { return nil }
        return try MetaPairBanks.load(contentsOf: URL(fileURLWithPath: path))
    }

    // MARK: Prompt builder

    @Test func promptHasThePapersExactFormat() {
        let builder = RewritePromptBuilder(banks: Self.handBanks())
        let examples = [
            RewriteExample(source: "a dog on grass", target: "A dog is lying on green grass."),
            RewriteExample(source: "red car", target: "A shiny red car parked by the road."),
            RewriteExample(source: "sunset", target: "The sun setting over the sea."),
        ]
        let prompt = builder.prompt(for: "  two cats\nsleeping ", examples: examples)
        #expect(prompt == """
            write image captions differently,

            a dog on grass => A dog is lying on green grass.

            red car => A shiny red car parked by the road.

            sunset => The sun setting over the sea.

            two cats sleeping =>
            """)
        #expect(RewritePromptBuilder.instruction == "write image captions differently,")
    }

    @Test func examplesAreThreeDistinctAndDeterministicPerSeedAndIndex() throws {
        guard let banks = try Self.realBanks() else { return }
        let builder = RewritePromptBuilder(banks: banks)
        for bank in MetaBank.allCases {
            var draws: [[RewriteExample]] = []
            for index in 0..<20 {
                let examples = try builder.examples(bank: bank, seed: 7, index: index)
                #expect(examples.count == 3)
                #expect(Set(examples.map(\.source)).count == 3, "repeated example in \(bank) draw \(index)")
                #expect(try builder.examples(bank: bank, seed: 7, index: index) == examples)
                draws.append(examples)
            }
            // Draws vary with the caption index and with the seed.
            #expect(Set(draws.map { $0.map(\.source).joined(separator: "|") }).count > 10)
            let otherSeed = try (0..<20).map { try builder.examples(bank: bank, seed: 8, index: $0) }
            #expect(otherSeed != draws)
            // A draw does not depend on which other captions were drawn before.
            #expect(try builder.examples(bank: bank, seed: 7, index: 13) == draws[13])
        }
    }

    @Test func cocoExamplesPairTwoDifferentCaptionsOfOneImage() throws {
        guard let banks = try Self.realBanks() else { return }
        let builder = RewritePromptBuilder(banks: banks)
        for index in 0..<30 {
            for example in try builder.examples(bank: .coco, seed: 3, index: index) {
                let image = banks.cocoImages.firstIndex { captions in captions.contains { $0.trimmingCharacters(in: .whitespaces) == example.source } }
                #expect(image != nil, "source \(example.source) is not a COCO caption")
                guard let image else { continue }
                let captions = banks.cocoImages[image].map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(captions.contains(example.target), "target is not a caption of the same image")
                #expect(captions.firstIndex(of: example.source) != captions.firstIndex(of: example.target))
                #expect(example.source != example.target)
            }
        }
    }

    @Test func tooSmallBankIsADataError() {
        let builder = RewritePromptBuilder(banks: Self.handBanks(count: 2))
        for bank in MetaBank.allCases {
            let error = expectDataError(.unsupported) { _ = try builder.examples(bank: bank, seed: 0, index: 0) }
            #expect(error?.field == bank.rawValue)
        }
        let empty = RewritePromptBuilder(banks: MetaPairBanks(pairs: [:], cocoImages: []))
        expectDataError(.unsupported) { _ = try empty.examples(bank: .human, seed: 0, index: 0) }
    }

    // MARK: Banks

    @Test func loadsThePapersBank() throws {
        guard let banks = try Self.realBanks() else { return }
        #expect(banks.count(of: .chatgpt) == 16)
        #expect(banks.count(of: .bard) == 16)
        #expect(banks.count(of: .human) == 16)
        #expect(banks.count(of: .coco) == 18)
        #expect(banks.cocoImages.allSatisfy { $0.count == 5 })
        #expect(banks.pairs[.chatgpt]?.first?.source == "white and red cheerful combination in the bedroom for girl")
        #expect(banks.pairs[.human]!.contains { $0.source.contains("<PERSON>") })
    }

    @Test func addsCOCOImagesFromTheCaptionsTSV() throws {
        guard let banks = try Self.realBanks(), let tsv = sharedData("coco/coco_val2017_captions.tsv.gz") else { return }
        let larger = try banks.addingCOCOImages(fromTSV: tsv, maximumImages: 100)
        #expect(larger.count(of: .coco) == 118)
        #expect(larger.cocoImages[18...].allSatisfy { $0.count >= 5 })
        #expect(larger.pairs == banks.pairs)
        let directory = try TemporaryDirectory()
        let bad = try directory.write("bad.tsv", "139\t1\tA caption\n139 only two\tfields\n")
        let error = expectDataError(.malformed) { _ = try banks.addingCOCOImages(fromTSV: bad) }
        #expect(error?.line == 2)
    }

    @Test func malformedBankFilesNameTheField() throws {
        let directory = try TemporaryDirectory()
        func load(_ json: String) throws -> MetaPairBanks {
            try MetaPairBanks.load(contentsOf: URL(fileURLWithPath: try directory.write("bank-\(UUID().uuidString).json", json)))
        }
        var error = expectDataError(.malformed) { _ = try load(#"{"chatgpt_source_caption_list": ["a", 2], "chatgpt_target_caption_list": ["b", "c"]}"#) }
        #expect(error?.field == "chatgpt_source_caption_list")
        error = expectDataError(.malformed) { _ = try load(#"{"bard_source_caption_list": ["a"], "bard_target_caption_list": "b"}"#) }
        #expect(error?.field == "bard_target_caption_list")
        error = expectDataError(.mismatch) { _ = try load(#"{"human_source_caption_list": ["a", "b"], "human_target_caption_list": ["c"]}"#) }
        #expect(error?.field == "human_source_caption_list")
        #expect(error?.message.contains("2 sources but 1 targets") == true)
        error = expectDataError(.mismatch) { _ = try load(#"{"chatgpt_source_caption_list": ["a"]}"#) }
        #expect(error?.field == "chatgpt_source_caption_list")
        error = expectDataError(.malformed) { _ = try load(#"{"coco_caption_list": [["one", "two"], ["lonely"]]}"#) }
        #expect(error?.field == "coco_caption_list")
        #expect(error?.line == 2)
        error = expectDataError(.malformed) { _ = try load(#"{"coco_caption_list": ["not", "lists"]}"#) }
        #expect(error?.field == "coco_caption_list")
        expectDataError(.malformed) { _ = try load("[1, 2, 3]") }
        expectDataError(.malformed) { _ = try load("{ not json") }
        expectDataError(.unreadable) { _ = try MetaPairBanks.load(contentsOf: URL(fileURLWithPath: directory.path + "/missing.json")) }
        // Missing banks are empty, not errors.
        let partial = try load(#"{"human_source_caption_list": ["a"], "human_target_caption_list": ["b"]}"#)
        #expect(partial.count(of: .human) == 1 && partial.count(of: .chatgpt) == 0 && partial.count(of: .coco) == 0)
    }

    // MARK: Extraction and rejection

    @Test func extractTakesTheFirstLineTrimmedAndCutAtAFurtherArrow() {
        #expect(RewriteFilter.extract(from: " A dog runs on the beach. \nwrite image captions") == "A dog runs on the beach.")
        #expect(RewriteFilter.extract(from: "a red car => a crimson car") == "a red car")
        #expect(RewriteFilter.extract(from: "a red car\n\nsunset => sky") == "a red car")
        #expect(RewriteFilter.extract(from: "\nsecond line only") == "")
        #expect(RewriteFilter.extract(from: "") == "")
        #expect(RewriteFilter.extract(from: "   ") == "")
        #expect(RewriteFilter.extract(from: "=> nothing before") == "")
        #expect(RewriteFilter.extract(from: "no newline at all  ") == "no newline at all")
    }

    @Test func everyRejectionReasonHasAnExample() throws {
        let wordNet = try systemWordNet()
        let filter = RewriteFilter(
            contextLength: 12, tokenCount: { RewriteFilter.words($0).count },
            faithfulness: FaithfulnessFilter(wordNet: wordNet, classNames: Self.fashionClasses, requireOwnClass: true))
        let original = "a grey t-shirt hanging on a rail"
        let examples: [RejectionReason: (rewrite: String, original: String, classIndex: Int?)] = [
            .empty: ("  ...  ", original, 0),
            .identical: ("A grey T-shirt, hanging on a rail.", original, 0),
            .tooShort: ("tee", "a t-shirt", 0),
            .repeatedNGrams: ("a grey t-shirt a grey t-shirt on a rail", original, 0),
            .placeholder: ("<PERSON> wears a grey t-shirt", original, 0),
            .tooLong: ("a soft grey cotton t-shirt hanging neatly on a long metal clothes rail", original, 0),
            .unfaithful: ("a small dog sleeping on the sofa", original, 0),
            .wrongClass: ("a grey shirt hanging on a rail", original, 0),
            .missingClass: ("grey clothing on a rail", original, 0),
        ]
        #expect(Set(examples.keys) == Set(RejectionReason.allCases))
        for (reason, example) in examples {
            #expect(filter.rejection(of: example.rewrite, original: example.original, classIndex: example.classIndex) == reason,
                    "\(example.rewrite)")
        }
        #expect(filter.rejection(of: "a light grey t-shirt on a clothes rail", original: original, classIndex: 0) == nil)
        // More degenerate forms.
        #expect(filter.rejection(of: "", original: original) == .empty)
        #expect(filter.rejection(of: "very very very nice top", original: "a nice top") == .repeatedNGrams)
        #expect(filter.rejection(of: "a photo of <Person>'s top", original: "a nice top") == .placeholder)
        #expect(RewriteFilter(contextLength: 77).rejection(of: "x y", original: "a b") == nil)
    }

    @Test func faithfulnessComparesNounLemmasThroughWordNet() throws {
        let filter = FaithfulnessFilter(wordNet: try systemWordNet())
        #expect(filter.contentNouns("Two dogs playing with the balls in a park").isSuperset(of: ["dog", "ball", "park"]))
        #expect(filter.rejection(of: "a dog chases a ball", original: "two dogs playing with balls", classIndex: nil) == nil)
        #expect(filter.rejection(of: "geese flying over the lake", original: "a goose on the water", classIndex: nil) == nil)
        #expect(filter.rejection(of: "a cat asleep on a sofa", original: "two dogs playing with balls", classIndex: nil) == .unfaithful)
        // A caption without content nouns cannot be judged and passes.
        #expect(filter.rejection(of: "a cat asleep on a sofa", original: "this is it", classIndex: nil) == nil)
        // Class checks need a class list; without one any class index is ignored.
        #expect(filter.rejection(of: "a shirt", original: "a shirt on a chair", classIndex: 0) == nil)
    }

    @Test func tShirtNamesOnlyTShirtTopNotShirt() throws {
        let filter = FaithfulnessFilter(wordNet: try systemWordNet(), classNames: Self.fashionClasses)
        #expect(filter.mentionedClasses("a woman in a white t-shirt") == [0])
        #expect(filter.mentionedClasses("a man in a T shirt") == [0])
        #expect(filter.mentionedClasses("a striped shirt") == [6])
        #expect(filter.mentionedClasses("a shirt next to a t-shirt") == [0, 6])
        #expect(filter.mentionedClasses("brown leather ankle boots") == [9])
        #expect(filter.mentionedClasses("two bags and a dress") == [3, 8])
        #expect(filter.mentionedClasses("a pair of blue trousers") == [1])
        #expect(filter.mentionedClasses("a crop top") == [0])
        #expect(filter.mentionedClasses("a plain garment") == [])
    }

    @Test func classChecksRejectWrongAndOptionallyMissingClasses() throws {
        let wordNet = try systemWordNet()
        let lenient = FaithfulnessFilter(wordNet: wordNet, classNames: Self.fashionClasses)
        let strict = FaithfulnessFilter(wordNet: wordNet, classNames: Self.fashionClasses, requireOwnClass: true)
        let original = "a plain grey t-shirt on a hanger"
        #expect(lenient.rejection(of: "a grey t-shirt hanging on a hanger", original: original, classIndex: 0) == nil)
        #expect(lenient.rejection(of: "a grey shirt on a hanger", original: original, classIndex: 0) == .wrongClass)
        #expect(lenient.rejection(of: "a t-shirt and a coat on a hanger", original: original, classIndex: 0) == .wrongClass)
        #expect(lenient.rejection(of: "a plain grey garment on a hanger", original: original, classIndex: 0) == nil)
        #expect(strict.rejection(of: "a plain grey garment on a hanger", original: original, classIndex: 0) == .missingClass)
        #expect(strict.rejection(of: "a plain grey top on a hanger", original: original, classIndex: 0) == nil)
        // Without a class index only the noun overlap counts.
        #expect(strict.rejection(of: "a grey shirt on a hanger", original: original, classIndex: nil) == nil)
    }

    // MARK: Store

    static func record(_ caption: Int, _ rewrite: Int, text: String? = nil, fellBack: Bool = false, rejections: [String: Int] = [:]) -> RewriteRecord {
        RewriteRecord(
            captionIndex: caption, rewriteIndex: rewrite, source: "caption \(caption)", rewrite: text ?? "rewrite \(rewrite) of caption \(caption)",
            fellBack: fellBack, attempts: 1 + rejections.values.reduce(0, +), rejections: rejections, bank: "chatgpt", model: "test",
            seed: 1, sampling: SamplingParameters(), promptHash: RewriteRecord.hash("prompt \(caption) \(rewrite)"))
    }

    static func journalLines(_ store: RewriteStore) async throws -> [String] {
        let text = try String(contentsOf: await store.journalURL, encoding: .utf8)
        return text.split(separator: "\n").map(String.init)
    }

    @Test func storeResumesWithoutDuplicatesAndDropsAPartialLine() async throws {
        let directory = try TemporaryDirectory()
        let url = URL(fileURLWithPath: directory.path + "/out")
        do {
            let store = try RewriteStore(directory: url)
            try await store.append(Self.record(0, 0))
            try await store.append(Self.record(0, 1, rejections: ["empty": 2]))
            try await store.append(Self.record(1, 0, text: "caption 1", fellBack: true, rejections: ["identical": 4]))
            try await store.append(Self.record(0, 0, text: "a duplicate"))  // ignored
            #expect(try await Self.journalLines(store).count == 3)
        }
        // A crash in the middle of an append leaves a partial last line.
        let journal = url.appendingPathComponent("rewrites.jsonl")
        let handle = try FileHandle(forWritingTo: journal)
        handle.seekToEndOfFile()
        handle.write(Data(#"{"caption_index":1,"rewrite_index":1,"sour"#.utf8))
        try handle.close()

        let reopened = try RewriteStore(directory: url)
        #expect(await reopened.contains(captionIndex: 0, rewriteIndex: 0))
        #expect(await reopened.contains(captionIndex: 0, rewriteIndex: 1))
        #expect(await reopened.contains(captionIndex: 1, rewriteIndex: 0))
        #expect(await !reopened.contains(captionIndex: 1, rewriteIndex: 1))
        #expect(await reopened.records[0]?[0]?.rewrite == "rewrite 0 of caption 0")
        #expect(try await Self.journalLines(reopened).count == 3)
        try await reopened.append(Self.record(0, 0, text: "again"))  // still ignored after reopening
        try await reopened.append(Self.record(1, 1))
        let lines = try await Self.journalLines(reopened)
        #expect(lines.count == 4)
        let decoded = try lines.map { try JSONDecoder().decode(RewriteRecord.self, from: Data($0.utf8)) }
        #expect(Set(decoded.map { "\($0.captionIndex),\($0.rewriteIndex)" }).count == 4)
        #expect(decoded.last == Self.record(1, 1))
        #expect(lines[0].contains(#""caption_index":0"#) && lines[0].contains(#""prompt_hash""#))
        #expect(await reopened.rejectionCounts() == ["empty": 2, "identical": 4, "fallback": 1])

        // LaCLIP's format: one file per rewrite index, line i = caption i.
        try await reopened.exportLaCLIPFormat(captionCount: 2, rewritesPerCaption: 2)
        let first = try String(contentsOf: url.appendingPathComponent("rewrite_1.txt"), encoding: .utf8)
        let second = try String(contentsOf: url.appendingPathComponent("rewrite_2.txt"), encoding: .utf8)
        #expect(first == "rewrite 0 of caption 0\ncaption 1\n")
        #expect(second == "rewrite 1 of caption 0\nrewrite 1 of caption 1\n")
        let rejections = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("rejections.json"))) as? [String: Int]
        #expect(rejections == ["empty": 2, "identical": 4, "fallback": 1])
    }

    @Test func exportWithAMissingRewriteIsADataError() async throws {
        let directory = try TemporaryDirectory()
        let store = try RewriteStore(directory: URL(fileURLWithPath: directory.path))
        try await store.append(Self.record(0, 0))
        try await store.append(Self.record(1, 0))
        try await store.append(Self.record(0, 1))
        do {
            try await store.exportLaCLIPFormat(captionCount: 2, rewritesPerCaption: 2)
            Issue.record("expected a DataError")
        } catch let error as DataError {
            #expect(error.kind == .truncated)
            #expect(error.line == 2)
            #expect(error.field == "rewrite 2")
        }
        // A corrupt complete line is an error naming the line, not silently dropped.
        let corrupt = try TemporaryDirectory()
        try corrupt.write("rewrites.jsonl", "{\"not\": \"a record\"}\n")
        let error = expectDataError(.malformed) { _ = try RewriteStore(directory: URL(fileURLWithPath: corrupt.path)) }
        #expect(error?.line == 1)
    }

    @Test func recordHashIsFNV1a() {
        #expect(RewriteRecord.hash("") == "cbf29ce484222325")
        #expect(RewriteRecord.hash("a") == "af63dc4c8601ec8c")
    }

    // MARK: Client against the loopback server

    static func client(_ server: LoopbackHTTPServer, endpoint: CompletionServer.Endpoint = .completions, apiKey: String? = nil,
                       timeout: Double = 30, retries: Int = 2) -> CompletionClient {
        CompletionClient(
            server: CompletionServer(baseURL: server.baseURL, apiKey: apiKey, model: "smollm2", endpoint: endpoint),
            timeout: timeout, maximumRetries: retries, initialBackoff: 0.01)
    }

    /// Runs `body` expecting a `CompletionClientError`.
    static func expectClientError(_ body: () async throws -> String) async -> CompletionClientError? {
        do {
            let text = try await body()
            Issue.record("expected a CompletionClientError, got \(text)")
        } catch let error as CompletionClientError {
            return error
        } catch {
            Issue.record("expected a CompletionClientError, got \(error)")
        }
        return nil
    }

    @Test func endpointURLAcceptsATrailingV1() {
        let plain = CompletionServer(baseURL: URL(string: "http://127.0.0.1:8080")!)
        #expect(plain.endpointURL.absoluteString == "http://127.0.0.1:8080/v1/completions")
        let withV1 = CompletionServer(baseURL: URL(string: "http://127.0.0.1:8080/v1/")!, endpoint: .chat)
        #expect(withV1.endpointURL.absoluteString == "http://127.0.0.1:8080/v1/chat/completions")
    }

    @Test func completionsRequestAndAnswer() async throws {
        let server = try LoopbackHTTPServer(maximumConnections: 4) { _, _ in .completion(" a dog runs\nmore") }
        defer { server.stop() }
        let text = try await Self.client(server, apiKey: "secret").complete(prompt: "x =>", seed: 42)
        #expect(text == " a dog runs\nmore")
        let request = try #require(server.requests.first)
        #expect(request.method == "POST" && request.path == "/v1/completions")
        #expect(request.headers["authorization"] == "Bearer secret")
        #expect(request.headers["content-type"] == "application/json")
        let body = request.json
        #expect(body["prompt"] as? String == "x =>")
        #expect(body["model"] as? String == "smollm2")
        #expect(body["temperature"] as? Double == 0.9)
        #expect(body["top_p"] as? Double == 0.95)
        #expect(body["max_tokens"] as? Int == 77)
        #expect(body["stop"] as? [String] == ["\n"])
        #expect(body["seed"] as? Int == 42)
    }

    @Test func chatRequestAndAnswer() async throws {
        let server = try LoopbackHTTPServer(maximumConnections: 4) { _, _ in .chat("A dog running.") }
        defer { server.stop() }
        let text = try await Self.client(server, endpoint: .chat).complete(prompt: "y =>")
        #expect(text == "A dog running.")
        let request = try #require(server.requests.first)
        #expect(request.path == "/v1/chat/completions")
        #expect(request.headers["authorization"] == nil)
        let messages = request.json["messages"] as? [[String: String]]
        #expect(messages == [["role": "user", "content": "y =>"]])
        #expect(request.json["prompt"] == nil && request.json["seed"] == nil)
    }

    @Test func listsTheServersModels() async throws {
        let server = try LoopbackHTTPServer(maximumConnections: 4) { request, _ in
            request.method == "GET" && request.path == "/v1/models"
                ? .respond(status: 200, body: #"{"object": "list", "data": [{"id": "SmolLM2-135M-Instruct.Q4_1", "object": "model"}]}"#)
                : .respond(status: 404, body: "not found")
        }
        defer { server.stop() }
        #expect(try await Self.client(server).modelIDs() == ["SmolLM2-135M-Instruct.Q4_1"])
        let broken = try LoopbackHTTPServer(maximumConnections: 4) { _, _ in .respond(status: 200, body: "[]") }
        defer { broken.stop() }
        let error = await Self.expectClientError { try await Self.client(broken).modelIDs().joined() }
        guard case .malformedResponse = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func samplingProvenanceUsesTheAPIsNames() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(SamplingParameters()), as: UTF8.self)
        #expect(json == #"{"max_tokens":77,"stop":["\n"],"temperature":0.9,"top_p":0.95}"#)
        #expect(try JSONDecoder().decode(SamplingParameters.self, from: Data(json.utf8)) == SamplingParameters())
    }

    @Test func retriesAfterA500AndA429() async throws {
        let server = try LoopbackHTTPServer(maximumConnections: 8) { _, number in
            switch number {
            case 0: return .respond(status: 500, body: "boom")
            case 1: return .respond(status: 429, body: "slow down")
            default: return .completion("fine")
            }
        }
        defer { server.stop() }
        #expect(try await Self.client(server, retries: 3).complete(prompt: "p") == "fine")
        #expect(server.requests.count == 3)
    }

    @Test func a429WithoutRetriesIsReported() async throws {
        let server = try LoopbackHTTPServer(maximumConnections: 4) { _, _ in .respond(status: 429, body: "rate limited") }
        defer { server.stop() }
        let error = await Self.expectClientError { try await Self.client(server, retries: 0).complete(prompt: "p") }
        #expect(error == .httpStatus(url: server.baseURL.absoluteString + "/v1/completions", status: 429, body: "rate limited"))
        #expect(error?.isRetryable == true)
    }

    @Test func persistent500FailsAfterTheRetries() async throws {
        let server = try LoopbackHTTPServer(maximumConnections: 8) { _, _ in .respond(status: 500, body: "model crashed") }
        defer { server.stop() }
        let error = await Self.expectClientError { try await Self.client(server, retries: 2).complete(prompt: "p") }
        guard case .httpStatus(_, let status, let body) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(status == 500 && body == "model crashed")
        #expect(server.requests.count == 3)
        #expect(error!.description.contains("HTTP 500"))
    }

    @Test func a400IsNotRetried() async throws {
        let server = try LoopbackHTTPServer(maximumConnections: 4) { _, _ in .respond(status: 400, body: "bad request") }
        defer { server.stop() }
        let error = await Self.expectClientError { try await Self.client(server, retries: 3).complete(prompt: "p") }
        #expect(error?.isRetryable == false)
        #expect(server.requests.count == 1)
    }

    @Test func malformedJSONIsAClearErrorAndNotRetried() async throws {
        let answers = ["this is not json", #"{"object": "text_completion"}"#, #"{"choices": [{"index": 0}]}"#]
        for answer in answers {
            let server = try LoopbackHTTPServer(maximumConnections: 4) { _, _ in .respond(status: 200, body: answer) }
            defer { server.stop() }
            let error = await Self.expectClientError { try await Self.client(server, retries: 3).complete(prompt: "p") }
            guard case .malformedResponse = error else { Issue.record("\(answer): got \(String(describing: error))"); continue }
            #expect(server.requests.count == 1)
            #expect(error!.description.contains("malformed response"))
        }
        let chatServer = try LoopbackHTTPServer(maximumConnections: 4) { _, _ in .completion("text, not a message") }
        defer { chatServer.stop() }
        let error = await Self.expectClientError { try await Self.client(chatServer, endpoint: .chat).complete(prompt: "p") }
        #expect(error == .malformedResponse(url: chatServer.baseURL.absoluteString + "/v1/chat/completions", detail: "choice without message.content"))
    }

    // A hang would run into the time limit. The elapsed time has only a lower bound: on 2 cores the other suites'
    // long synchronous tests can hold every cooperative thread for a minute, so the moment this task resumes after
    // its time-out says nothing about the client (the error and the request count do).
    @Test(.timeLimit(.minutes(5))) func aServerThatNeverAnswersTimesOut() async throws {
        let server = try LoopbackHTTPServer(maximumConnections: 4, lifetime: 60) { _, _ in .silent }
        defer { server.stop() }
        let start = Date()
        let error = await Self.expectClientError { try await Self.client(server, timeout: 0.5, retries: 1).complete(prompt: "p") }
        #expect(error == .timedOut(url: server.baseURL.absoluteString + "/v1/completions", seconds: 0.5))
        // The first attempt and one retry, each abandoned after 0.5 s (Foundation on Linux would truncate a
        // 0.5 s time-out to 0 and fail at once; the client times requests itself).
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.95, "\(elapsed) s")
        #expect(server.requests.count == 2)
    }

    @Test func connectionRefusedIsUnreachable() async throws {
        let port = try LoopbackHTTPServer.closedPort()
        let client = CompletionClient(
            server: CompletionServer(baseURL: URL(string: "http://127.0.0.1:\(port)")!), timeout: 5, maximumRetries: 1, initialBackoff: 0.01)
        do {
            _ = try await client.complete(prompt: "p")
            Issue.record("expected an error")
        } catch let error as CompletionClientError {
            guard case .unreachable(let url, _) = error else { Issue.record("got \(error)"); return }
            #expect(url == "http://127.0.0.1:\(port)/v1/completions")
            #expect(error.description.contains("is the LLM server running?"))
        }
    }

    // MARK: The whole rewriter against a fake model

    /// The fake model: answers by caption and attempt (derived from the request's seed).
    static func fakeModel(runSeed: UInt64, resamples: Int, failOn: String? = nil) -> @Sendable (LoopbackRequest, Int) -> LoopbackReply {
        { request, _ in
            guard let caption = request.caption, let seed = request.seed else { return .respond(status: 400, body: "no caption") }
            if let failOn, caption == failOn { return .respond(status: 400, body: "simulated crash") }
            let attempt = (seed - Int(runSeed)) % (resamples + 1)
            switch caption {
            case "a brown dog running on the beach":
                return .completion(" a brown dog sprints across the sandy beach\nwrite image captions differently,")
            case "a red car parked near a house":
                // Degenerate first, then fine.
                return .completion(attempt == 0 ? "" : attempt == 1 ? "<PERSON> car" : "a shiny red car parked beside a small house => more")
            case "a cat sleeping on a sofa":
                return .completion(" A cat sleeping on a sofa.")  // always identical: falls back
            case "an old man reading a newspaper":
                return .completion(attempt == 0 ? "newspaper newspaper newspaper" : "an elderly man reads the morning newspaper")
            default:
                return .completion("a perfectly ordinary rewrite of \(caption)")
            }
        }
    }

    static let fakeCaptions = [
        "a brown dog running on the beach", "a red car parked near a house", "a cat sleeping on a sofa",
        "an old man reading a newspaper", "children playing football in a park",
    ]

    static func rewriter(_ server: LoopbackHTTPServer, banks: MetaPairBanks, resamples: Int, concurrency: Int, seed: UInt64) -> CaptionRewriter {
        CaptionRewriter(
            client: CompletionClient(server: CompletionServer(baseURL: server.baseURL, model: "fake"), timeout: 10, maximumRetries: 0, initialBackoff: 0.01),
            prompts: RewritePromptBuilder(banks: banks), filter: RewriteFilter(tokenCount: { RewriteFilter.words($0).count }),
            banks: [.chatgpt, .coco], rewritesPerCaption: 2, maximumResamples: resamples, concurrency: concurrency, seed: seed)
    }

    @Test func rewriterRejectsResamplesFallsBackAndResumes() async throws {
        let banks = Self.handBanks(count: 5)
        let seed: UInt64 = 1000
        let resamples = 3
        let directory = try TemporaryDirectory()
        let output = URL(fileURLWithPath: directory.path + "/rewrites")
        let captions = Self.fakeCaptions

        // First run: the server "crashes" (a non-retryable error) on the fourth caption.
        do {
            let failing = try LoopbackHTTPServer(maximumConnections: 64, handler: Self.fakeModel(runSeed: seed, resamples: resamples, failOn: captions[3]))
            defer { failing.stop() }
            let store = try RewriteStore(directory: output)
            do {
                try await Self.rewriter(failing, banks: banks, resamples: resamples, concurrency: 1, seed: seed).run(captions: captions, store: store)
                Issue.record("expected the run to fail")
            } catch let error as CompletionClientError {
                #expect(error.isRetryable == false)
            }
            let stored = await store.records
            #expect(stored.keys.sorted() == [0, 1, 2])
            #expect(stored.values.allSatisfy { $0.count == 2 })
        }

        // Second run after the interruption: only the unfinished captions are asked for.
        let server = try LoopbackHTTPServer(maximumConnections: 64, handler: Self.fakeModel(runSeed: seed, resamples: resamples))
        defer { server.stop() }
        let store = try RewriteStore(directory: output)
        let progressCount = LockedCounter()
        try await Self.rewriter(server, banks: banks, resamples: resamples, concurrency: 2, seed: seed).run(captions: captions, store: store) { progress in
            progressCount.increment()
            #expect(progress.total == 4 && progress.finished <= 4 && progress.captionsPerSecond > 0)
        }
        #expect(progressCount.value == 4)
        let askedFor = Set(server.requests.compactMap(\.caption))
        #expect(askedFor == [captions[3], captions[4]])

        let records = await store.records
        #expect(records.count == 5 && records.values.allSatisfy { $0.count == 2 })
        #expect(try await Self.journalLines(store).count == 10)
        for m in 0..<2 {
            let dog = try #require(records[0]?[m])
            #expect(dog.rewrite == "a brown dog sprints across the sandy beach" && dog.attempts == 1 && !dog.fellBack)
            #expect(dog.bank == (m == 0 ? "chatgpt" : "coco") && dog.model == "fake" && dog.seed == seed && dog.promptHash.count == 16)
            let car = try #require(records[1]?[m])
            #expect(car.rewrite == "a shiny red car parked beside a small house" && car.attempts == 3 && !car.fellBack)
            #expect(car.rejections == ["empty": 1, "placeholder": 1])
            let cat = try #require(records[2]?[m])
            #expect(cat.fellBack && cat.rewrite == captions[2] && cat.attempts == resamples + 1)
            #expect(cat.rejections == ["identical": resamples + 1])
            let man = try #require(records[3]?[m])
            #expect(man.rewrite == "an elderly man reads the morning newspaper" && man.rejections == ["repeatedNGrams": 1])
        }
        #expect(await store.rejectionCounts() == ["empty": 2, "placeholder": 2, "identical": 8, "fallback": 2, "repeatedNGrams": 2])

        // A re-sample draws fresh examples: the two attempts at caption 3's first rewrite saw different prompts.
        let manPrompts = server.requests.filter { $0.caption == captions[3] && [Int(seed) + 24, Int(seed) + 25].contains($0.seed ?? -1) }
            .compactMap { $0.json["prompt"] as? String }
        #expect(manPrompts.count == 2 && Set(manPrompts).count == 2)

        // The prompts the model saw use the chosen bank and the paper's format.
        let prompt = try #require(server.requests.first?.json["prompt"] as? String)
        #expect(prompt.hasPrefix("write image captions differently,\n\n"))
        #expect(prompt.components(separatedBy: " => ").count == 4)

        // Exported in LaCLIP's format.
        try await store.exportLaCLIPFormat(captionCount: captions.count, rewritesPerCaption: 2)
        let lines = try String(contentsOf: output.appendingPathComponent("rewrite_2.txt"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 5 && lines[2] == "a cat sleeping on a sofa")

        // A third run finds nothing to do and makes no request.
        let before = server.requests.count
        try await Self.rewriter(server, banks: banks, resamples: resamples, concurrency: 2, seed: seed)
            .run(captions: captions, store: try RewriteStore(directory: output))
        #expect(server.requests.count == before)
    }

    // MARK: Real model (opt-in)

    static let llmURL = ProcessInfo.processInfo.environment["LACLIP_LLM_URL"]

    @Test(.enabled(if: llmURL != nil, "set LACLIP_LLM_URL to an OpenAI-compatible server (scripts/start-llm-server.sh) to run"),
          .timeLimit(.minutes(10)))
    func rewritesRealCaptionsThroughARealServer() async throws {
        guard let banks = try Self.realBanks(), let captionsPath = sharedData("laclip/cc3m_sample_captions.txt") else { return }
        let captions = Array(try String(contentsOfFile: captionsPath, encoding: .utf8).split(separator: "\n").prefix(5).map(String.init))
        #expect(captions.count == 5)
        let client = CompletionClient(server: CompletionServer(baseURL: URL(string: Self.llmURL!)!), timeout: 120, maximumRetries: 2)
        let rewriter = CaptionRewriter(
            client: client, prompts: RewritePromptBuilder(banks: banks), filter: RewriteFilter(), banks: [.chatgpt, .bard, .coco, .human],
            rewritesPerCaption: 1, maximumResamples: 5, concurrency: 1, seed: 1)
        let directory = try TemporaryDirectory()
        let store = try RewriteStore(directory: URL(fileURLWithPath: directory.path))
        try await rewriter.run(captions: captions, store: store)
        let records = await store.records
        for (index, caption) in captions.enumerated() {
            let record = try #require(records[index]?[0])
            #expect(!record.rewrite.isEmpty)
            #expect(!record.fellBack, "caption \(index) fell back after \(record.attempts) attempts: \(record.rejections)")
            #expect(RewriteFilter.words(record.rewrite) != RewriteFilter.words(caption))
        }
    }
}
