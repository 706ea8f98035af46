import Foundation

/// Rewrites captions with a language model by in-context learning, as LaCLIP does: for each caption and
/// each of its M rewrites (rewrite m uses bank `banks[m % banks.count]`), build the prompt, sample a
/// completion, extract and check the rewrite, re-sample up to `maximumResamples` times on rejection
/// (fresh examples each attempt), and fall back to the original caption after that. Finished rewrites go
/// to a `RewriteStore` as they complete, so an interrupted run resumes where it stopped.
public struct CaptionRewriter: Sendable {
    /// Progress after each finished rewrite.
    public struct Progress: Sendable {
        /// Rewrites finished in this run.
        public var finished: Int
        /// Rewrites this run has to do (excluding ones already stored).
        public var total: Int
        /// Seconds since the run started.
        public var elapsed: Double
        /// Captions (all M rewrites counted as one caption) per second so far.
        public var captionsPerSecond: Double
    }

    /// The language-model client.
    public let client: CompletionClient
    /// The prompt builder.
    public let prompts: RewritePromptBuilder
    /// The rewrite checks.
    public let filter: RewriteFilter
    /// Banks used in turn by the M rewrites.
    public let banks: [MetaBank]
    /// Rewrites per caption (M).
    public let rewritesPerCaption: Int
    /// Re-samples after a rejection before falling back to the original.
    public let maximumResamples: Int
    /// Requests in flight at once.
    public let concurrency: Int
    /// Sampling settings.
    public let sampling: SamplingParameters
    /// The run's seed (examples and server-side sampling seeds derive from it).
    public let seed: UInt64

    /// Creates a rewriter.
    /// - Parameters:
    ///   - client: The client.
    ///   - prompts: The prompt builder.
    ///   - filter: The checks.
    ///   - banks: Banks in turn (non-empty).
    ///   - rewritesPerCaption: M.
    ///   - maximumResamples: K.
    ///   - concurrency: Requests in flight.
    ///   - sampling: Sampling settings.
    ///   - seed: The seed.
    public init(client: CompletionClient, prompts: RewritePromptBuilder, filter: RewriteFilter, banks: [MetaBank], rewritesPerCaption: Int,
                maximumResamples: Int = 3, concurrency: Int = 2, sampling: SamplingParameters = SamplingParameters(), seed: UInt64 = 0) {
        checkPrecondition(!banks.isEmpty && rewritesPerCaption > 0 && concurrency > 0, "CaptionRewriter: need banks, M > 0 and concurrency > 0")
        self.client = client
        self.prompts = prompts
        self.filter = filter
        self.banks = banks
        self.rewritesPerCaption = rewritesPerCaption
        self.maximumResamples = maximumResamples
        self.concurrency = concurrency
        self.sampling = sampling
        self.seed = seed
    }

    /// Rewrites every caption not yet in `store`.
    /// - Parameters:
    ///   - captions: The captions.
    ///   - classIndices: Each caption's class for the faithfulness filter, or nil.
    ///   - store: Where finished rewrites go.
    ///   - progress: Called after each finished rewrite.
    /// - Throws: The client's error when the server fails beyond its retries, or a store error.
    public func run(captions: [String], classIndices: [Int]? = nil, store: RewriteStore, progress: (@Sendable (Progress) -> Void)? = nil) async throws {
        var jobs: [(Int, Int)] = []
        for i in captions.indices {
            for m in 0..<rewritesPerCaption where await !store.contains(captionIndex: i, rewriteIndex: m) { jobs.append((i, m)) }
        }
        let start = Date()
        var finished = 0
        try await withThrowingTaskGroup(of: RewriteRecord.self) { group in
            var next = 0
            func launch() {
                let (i, m) = jobs[next]
                next += 1
                group.addTask { try await self.rewrite(captions[i], captionIndex: i, rewriteIndex: m, classIndex: classIndices?[i]) }
            }
            while next < jobs.count && next < concurrency { launch() }
            while let record = try await group.next() {
                try await store.append(record)
                finished += 1
                let elapsed = Date().timeIntervalSince(start)
                progress?(Progress(finished: finished, total: jobs.count, elapsed: elapsed,
                                   captionsPerSecond: Double(finished) / Double(rewritesPerCaption) / Swift.max(elapsed, 1e-9)))
                if next < jobs.count { launch() }
            }
        }
    }

    /// One rewrite of one caption, with re-sampling and fallback.
    /// - Parameters:
    ///   - caption: The caption.
    ///   - captionIndex: Its index.
    ///   - rewriteIndex: Which rewrite (selects the bank).
    ///   - classIndex: Its class, or nil.
    public func rewrite(_ caption: String, captionIndex: Int, rewriteIndex: Int, classIndex: Int?) async throws -> RewriteRecord {
        let bank = banks[rewriteIndex % banks.count]
        var rejections: [String: Int] = [:]
        var lastPrompt = ""
        for attempt in 0...maximumResamples {
            let attemptIndex = (captionIndex * rewritesPerCaption + rewriteIndex) * (maximumResamples + 1) + attempt
            let examples = try prompts.examples(bank: bank, seed: seed, index: attemptIndex)
            let prompt = prompts.prompt(for: caption, examples: examples)
            lastPrompt = prompt
            let completion = try await client.complete(prompt: prompt, parameters: sampling, seed: Int(truncatingIfNeeded: seed &+ UInt64(attemptIndex)))
            let candidate = RewriteFilter.extract(from: completion)
            if let reason = filter.rejection(of: candidate, original: caption, classIndex: classIndex) {
                rejections[reason.rawValue, default: 0] += 1
                continue
            }
            return RewriteRecord(
                captionIndex: captionIndex, rewriteIndex: rewriteIndex, source: caption, rewrite: candidate, fellBack: false,
                attempts: attempt + 1, rejections: rejections, bank: bank.rawValue, model: client.server.model, seed: seed,
                sampling: sampling, promptHash: RewriteRecord.hash(prompt))
        }
        return RewriteRecord(
            captionIndex: captionIndex, rewriteIndex: rewriteIndex, source: caption, rewrite: caption, fellBack: true,
            attempts: maximumResamples + 1, rejections: rejections, bank: bank.rawValue, model: client.server.model, seed: seed,
            sampling: sampling, promptHash: RewriteRecord.hash(lastPrompt))
    }
}
