import Foundation
import LaTensor
import Synchronization

/// The CLIP byte-level BPE tokenizer, id for id the same as open_clip's `SimpleTokenizer` (default
/// `clean="lower"`, no extra special tokens).
///
/// `encode` cleans the text (`TextCleaning`), splits it into pieces (`PreTokenizer`), and maps each piece's
/// UTF-8 bytes to tokens by BPE, through a word cache. ASCII text without `&` or control characters takes a
/// fast path that cleans, lower-cases and splits the bytes in one pass.
///
/// The tokenizer is safe to share between threads: it keeps one word cache per worker, each behind its own
/// lock. `tokenize(_:contextLength:)` splits a batch over `Threading.threadCount` workers.
public final class BPETokenizer: Sendable {
    /// The default context length of CLIP models (77).
    public static let defaultContextLength = 77
    /// The vocabulary file's name.
    public static let vocabularyFileName = "bpe_simple_vocab_16e6.txt.gz"
    /// The environment variable that names the vocabulary file for `loadDefault()`.
    public static let vocabularyEnvironmentVariable = "LACLIP_BPE_VOCAB"

    /// The vocabulary.
    public let vocabulary: BPEVocabulary
    /// The id of `<start_of_text>` (49406).
    public var startOfTextID: Int { vocabulary.startOfTextID }
    /// The id of `<end_of_text>` (49407).
    public var endOfTextID: Int { vocabulary.endOfTextID }
    /// The number of tokens (49,408).
    public var vocabularySize: Int { vocabulary.count }

    private let workers: [Worker]

    /// Loads the tokenizer from a vocabulary file.
    /// - Parameter vocabularyURL: The `bpe_simple_vocab_16e6.txt.gz` file (gzip or plain text).
    /// - Throws: `DataError` when the file is missing or corrupt.
    public convenience init(vocabularyURL: URL) throws {
        try self.init(vocabulary: BPEVocabulary(path: vocabularyURL.path))
    }

    /// Creates a tokenizer over a loaded vocabulary.
    /// - Parameter vocabulary: The vocabulary.
    public init(vocabulary: BPEVocabulary) {
        self.vocabulary = vocabulary
        workers = (0..<max(2, Threading.threadCount)).map { _ in Worker() }
    }

    /// The CLIP vocabulary bundled with the package (a resource of LaData, MIT licence in
    /// `LICENSE-CLIP-vocabulary.txt` beside it), or nil when the resource bundle is missing.
    public static var bundledVocabularyURL: URL? {
        Bundle.module.url(forResource: "bpe_simple_vocab_16e6.txt", withExtension: "gz")
    }

    /// Loads the tokenizer from `$LACLIP_BPE_VOCAB` if set, else from the vocabulary bundled with the package — in
    /// any program that depends on LaData, from any working directory.
    /// - Returns: The tokenizer.
    /// - Throws: `DataError` when the file named by the variable is missing or corrupt (or, in a broken
    ///   installation, when the bundled resource is missing).
    public static func loadDefault() throws -> BPETokenizer {
        if let path = ProcessInfo.processInfo.environment[vocabularyEnvironmentVariable], !path.isEmpty {
            return try BPETokenizer(vocabularyURL: URL(fileURLWithPath: path))
        }
        guard let url = bundledVocabularyURL else {
            throw DataError(
                .unreadable, file: vocabularyFileName,
                "the CLIP BPE vocabulary bundled with LaData is missing (a broken installation); set \(vocabularyEnvironmentVariable)")
        }
        return try BPETokenizer(vocabularyURL: url)
    }

    // MARK: Encoding

    /// The token ids of `text`, without start and end tokens (open_clip's `SimpleTokenizer.encode`).
    /// - Parameter text: The raw text; it is cleaned as open_clip does.
    /// - Returns: The token ids.
    public func encode(_ text: String) -> [Int] {
        workers[0].state.withLock { state in
            state.ids.removeAll(keepingCapacity: true)
            encode(text, state: &state)
            return state.ids.map { Int($0) }
        }
    }

    /// The text of `tokens` (open_clip's `SimpleTokenizer.decode`): the tokens' bytes decoded as UTF-8, invalid
    /// sequences replaced by U+FFFD, and every `</w>` replaced by a space. Special tokens decode to their
    /// names.
    /// - Parameter tokens: Token ids; ids outside the vocabulary decode to U+FFFD.
    /// - Returns: The text.
    public func decode(_ tokens: [Int]) -> String {
        var bytes: [UInt8] = []
        for token in tokens {
            if token >= 0 && token < vocabulary.count {
                bytes += vocabulary.tokenBytes[token]
            } else {
                bytes += [0xEF, 0xBF, 0xBD]
            }
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "</w>", with: " ")
    }

    /// Tokenizes a batch into a `[texts.count, contextLength]` tensor, as open_clip's `tokenize` does: each row
    /// is `<start_of_text>`, the ids of the text, `<end_of_text>`, then zeros. A row that does not fit is cut to
    /// `contextLength` tokens and its last token replaced by `<end_of_text>`. Large batches are split over
    /// `Threading.threadCount` workers, each with its own word cache.
    /// - Parameters:
    ///   - texts: The raw texts.
    ///   - contextLength: The row length (at least 1); 77 for CLIP models.
    /// - Returns: The token ids, shape `[texts.count, contextLength]`.
    public func tokenize(_ texts: [String], contextLength: Int = BPETokenizer.defaultContextLength) -> Tensor<Int> {
        checkPrecondition(contextLength >= 1, "BPETokenizer.tokenize: contextLength must be at least 1, got \(contextLength)")
        let result = Tensor<Int>(uninitializedShape: [texts.count, contextLength])
        let output = UnsafeMutableBufferPointer(start: result.storage.pointer, count: texts.count * contextLength)
        let threads = texts.count >= 256 ? min(Threading.threadCount, texts.count) : 1
        let sot = Int32(startOfTextID)
        let eot = Int32(endOfTextID)
        let body = { (worker: Int) in
            let rows = (texts.count * worker / threads)..<(texts.count * (worker + 1) / threads)
            self.workers[worker % self.workers.count].state.withLock { state in
                for row in rows {
                    state.ids.removeAll(keepingCapacity: true)
                    state.ids.append(sot)
                    self.encode(texts[row], state: &state)
                    state.ids.append(eot)
                    let destination = output.baseAddress! + row * contextLength
                    let count = min(state.ids.count, contextLength)
                    for k in 0..<count { destination[k] = Int(state.ids[k]) }
                    if count < contextLength { (destination + count).initialize(repeating: 0, count: contextLength - count) }
                    if state.ids.count > contextLength { destination[contextLength - 1] = Int(eot) }
                }
            }
        }
        if threads == 1 {
            body(0)
        } else {
            Threading.parallelFor(total: threads, cost: Threading.minimumParallelWork) { range in
                for worker in range { body(worker) }
            }
        }
        return result
    }

    // MARK: Internals

    /// Per-worker scratch space and word cache.
    struct State {
        var cache = WordCache()
        var ids: [Int32] = []
        var symbols: [Int32] = []
        var bytes: [UInt8] = []
    }

    final class Worker: Sendable {
        let state = Mutex(State())
    }

    /// Appends the ids of `text` to `state.ids`.
    private func encode(_ text: String, state: inout State) {
        var text = text
        text.withUTF8 { utf8 in
            if Self.isFastPathText(utf8) {
                encodeASCII(utf8, state: &state)
            } else {
                encodeGeneral(TextCleaning.cleanScalars(String(decoding: utf8, as: UTF8.self)), state: &state)
            }
        }
    }

    /// Bytes allowed on the fast path: printable ASCII except `&`, and tab, LF, FF, CR.
    private static let fastPathByte: [Bool] = (0..<256).map { b in
        (b >= 0x20 && b < 0x7F && b != 0x26) || b == 0x09 || b == 0x0A || b == 0x0C || b == 0x0D
    }

    private static func isFastPathText(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        fastPathByte.withUnsafeBufferPointer { allowed in
            for b in utf8 where !allowed[Int(b)] { return false }
            return true
        }
    }

    /// ASCII without `&` or control characters: cleaning is whitespace collapse and ASCII lower-casing, and
    /// the pieces do not depend on how much whitespace separates them.
    private func encodeASCII(_ utf8: UnsafeBufferPointer<UInt8>, state: inout State) {
        state.bytes.removeAll(keepingCapacity: true)
        for b in utf8 { state.bytes.append(b &- 0x41 < 26 ? b | 0x20 : b) }
        var bytes = state.bytes
        state.bytes = []
        bytes.withUnsafeBufferPointer { lowered in
            PreTokenizer.splitASCII(lowered) { range in
                encodePiece(UnsafeBufferPointer(rebasing: lowered[range]), state: &state)
            }
        }
        swap(&state.bytes, &bytes)
    }

    /// Cleaned text: pieces by `PreTokenizer.split`, each encoded to UTF-8.
    private func encodeGeneral(_ scalars: [UInt32], state: inout State) {
        var piece: [UInt8] = []
        PreTokenizer.split(scalars) { range in
            piece.removeAll(keepingCapacity: true)
            for c in scalars[range] {
                UTF8.encode(Unicode.Scalar(c)!) { piece.append($0) }
            }
            piece.withUnsafeBufferPointer { encodePiece($0, state: &state) }
        }
    }

    /// Appends the ids of one piece: a special token's id, or its BPE tokens from the cache or computed.
    @inline(__always)
    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, state: inout State) {
        if piece.first == 0x3C {
            if piece.elementsEqual(PreTokenizer.startOfText) {
                state.ids.append(Int32(startOfTextID))
                return
            }
            if piece.elementsEqual(PreTokenizer.endOfText) {
                state.ids.append(Int32(endOfTextID))
                return
            }
        }
        let hash = WordCache.hash(piece)
        if let range = state.cache.lookup(piece, hash: hash) {
            state.cache.values.withUnsafeBufferPointer { values in
                state.ids.append(contentsOf: UnsafeBufferPointer(rebasing: values[range]))
            }
            return
        }
        vocabulary.bpe(piece, into: &state.symbols)
        state.ids.append(contentsOf: state.symbols)
        state.cache.insert(piece, hash: hash, ids: state.symbols[...])
    }
}
