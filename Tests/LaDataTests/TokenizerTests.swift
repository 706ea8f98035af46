import Foundation
import LaTensor
import Testing

@testable import LaData

// The CLIP BPE tokenizer against open_clip's SimpleTokenizer: Resources/tokenizer_reference.txt.gz holds the
// ids open_clip gives for all COCO val2017 captions, the CC3M sample and hand-made edge cases (written by
// Resources/make_tokenizer_reference.py).

private let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
private let repositoryRoot = testsFolder.deletingLastPathComponent().deletingLastPathComponent()

/// The vocabulary the tests use: the one bundled with LaData (`BPETokenizer.loadDefault()` reads the same file).
private let vocabularyCandidates: [URL] = [BPETokenizer.bundledVocabularyURL].compactMap { $0 }

private enum TokenizerFixture {
    /// The tokenizer, loaded once for all tests (or the reason it could not be).
    static let tokenizer: Result<BPETokenizer, any Error> = Result {
        guard let url = vocabularyCandidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw DataError(
                .unreadable, file: "bpe_simple_vocab_16e6.txt.gz",
                "CLIP BPE vocabulary not found at " + vocabularyCandidates.map(\.path).joined(separator: " or ")
                    + " (the LaData resource bundle is missing)")
        }
        return try BPETokenizer(vocabularyURL: url)
    }

    /// One reference row.
    struct Row {
        let set: String
        let text: String
        let ids: [Int]
    }

    static let rows: Result<[Row], any Error> = Result {
        let bytes = try Gzip.readAll(path: testsFolder.appendingPathComponent("Resources/tokenizer_reference.txt.gz").path)
        return bytes.split(separator: 0x0A, omittingEmptySubsequences: true).map { line in
            let fields = line.split(separator: 0x09, maxSplits: 2, omittingEmptySubsequences: false)
            return Row(
                set: String(decoding: fields[0], as: UTF8.self),
                text: String(decoding: unescape(fields[1]), as: UTF8.self),
                ids: fields.count > 2 ? fields[2].split(separator: 0x20).map { Int(String(decoding: $0, as: UTF8.self))! } : [])
        }
    }

    /// Undoes the reference script's escaping (`\\` and `\xHH`).
    static func unescape(_ field: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = field.startIndex
        while i < field.endIndex {
            if field[i] == 0x5C, i + 1 < field.endIndex {
                if field[i + 1] == 0x5C {
                    out.append(0x5C)
                    i += 2
                    continue
                }
                if field[i + 1] == 0x78, i + 3 < field.endIndex,
                    let value = UInt8(String(decoding: field[(i + 2)...(i + 3)], as: UTF8.self), radix: 16)
                {
                    out.append(value)
                    i += 4
                    continue
                }
            }
            out.append(field[i])
            i += 1
        }
        return out
    }
}

private func loadTokenizer() throws -> BPETokenizer { try TokenizerFixture.tokenizer.get() }

@Suite("BPETokenizer")
struct TokenizerTests {
    @Test("every reference row equals open_clip's ids")
    func referenceEquality() throws {
        let tokenizer = try loadTokenizer()
        let rows = try TokenizerFixture.rows.get()
        #expect(rows.filter { $0.set == "coco" }.count == 25_014)
        #expect(rows.filter { $0.set == "cc3m" }.count == 116)
        var mismatches: [String] = []
        for (index, row) in rows.enumerated() {
            let ids = tokenizer.encode(row.text)
            if ids != row.ids {
                mismatches.append("row \(index + 1) [\(row.set)] \(row.text.debugDescription): \(ids) != \(row.ids)")
            }
        }
        let report = "\(mismatches.count) mismatches:\n" + mismatches.prefix(20).joined(separator: "\n")
        #expect(mismatches.isEmpty, "\(report)")
    }

    @Test("batch tokenization matches the reference, in parallel and with truncation")
    func batchTokenization() throws {
        let tokenizer = try loadTokenizer()
        let rows = try TokenizerFixture.rows.get()
        let sample = Array(rows.prefix(3000)) + rows.filter { $0.set == "edge" }
        for contextLength in [77, 8] {
            let tensor = tokenizer.tokenize(sample.map(\.text), contextLength: contextLength)
            #expect(tensor.shape == [sample.count, contextLength])
            let values = Array(UnsafeBufferPointer(start: tensor.storage.pointer, count: sample.count * contextLength))
            var bad = 0
            for (i, row) in sample.enumerated() {
                var expected = [49406] + row.ids + [49407]
                if expected.count > contextLength {
                    expected = Array(expected.prefix(contextLength))
                    expected[contextLength - 1] = 49407
                }
                expected += Array(repeating: 0, count: contextLength - expected.count)
                if Array(values[(i * contextLength)..<((i + 1) * contextLength)]) != expected { bad += 1 }
            }
            #expect(bad == 0, "\(bad) rows differ at context length \(contextLength)")
        }
    }

    @Test("special ids, empty text, truncation keeps the end token last")
    func basics() throws {
        let tokenizer = try loadTokenizer()
        #expect(tokenizer.vocabularySize == 49408)
        #expect(tokenizer.startOfTextID == 49406 && tokenizer.endOfTextID == 49407)
        #expect(tokenizer.encode("") == [])
        #expect(tokenizer.encode(" \t\n ") == [])
        #expect(tokenizer.encode("<start_of_text>") == [49406])
        let empty = tokenizer.tokenize([""], contextLength: 5)
        #expect(Array(UnsafeBufferPointer(start: empty.storage.pointer, count: 5)) == [49406, 49407, 0, 0, 0])
        let long = tokenizer.tokenize([String(repeating: "a photo of a dog ", count: 40)])
        let row = Array(UnsafeBufferPointer(start: long.storage.pointer, count: 77))
        #expect(row.first == 49406 && row.last == 49407 && !row.contains(0))
        let one = tokenizer.tokenize(["hello"], contextLength: 1)
        #expect(one.storage.pointer[0] == 49407)
    }

    @Test("decode inverts encode on cleaned text")
    func decode() throws {
        let tokenizer = try loadTokenizer()
        #expect(tokenizer.decode(tokenizer.encode("A Dog's bone, café 🐶!")) == "a dog 's bone , café 🐶! ")
        #expect(tokenizer.decode([49406, 49407]) == "<start_of_text><end_of_text>")
        #expect(tokenizer.decode([-1]) == "\u{FFFD}")
    }

    @Test("cleaning and pre-tokenization pieces")
    func pieces() {
        #expect(TextCleaning.clean("  Fish &amp;amp; Chips\t\n ") == "fish & chips")
        #expect(TextCleaning.clean("<b>&amp;amp;</b>") == "<b>&</b>")
        #expect(TextCleaning.clean("it’s “ＦＵＬＬ”") == "it's \"full\"")
        #expect(TextCleaning.clean("ΟΔΟΣ") == "οδος")
        #expect(PreTokenizer.split("it's 3.14 !!'s 'll") == ["it", "'s", "3", ".", "1", "4", "!!'", "s", "'ll"])
        #expect(PreTokenizer.split("a\u{345}b") == ["a", "b"])
    }

    @Test("missing and corrupt vocabulary files give a DataError")
    func vocabularyErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            _ = try BPETokenizer(vocabularyURL: folder.appendingPathComponent("missing.txt.gz"))
            Issue.record("missing file did not throw")
        } catch let error as DataError {
            #expect(error.kind == .unreadable)
        }
        let short = folder.appendingPathComponent("short.txt")
        try "#version: 0.2\ni n\nt h\n".write(to: short, atomically: true, encoding: .utf8)
        #expect(throws: DataError.self) { try BPETokenizer(vocabularyURL: short) }
        var lines = ["#version: 0.2"] + Array(repeating: "a b", count: BPEVocabulary.mergeCount)
        lines[100] = "a b c"
        let bad = folder.appendingPathComponent("bad.txt")
        try lines.joined(separator: "\n").write(to: bad, atomically: true, encoding: .utf8)
        do {
            _ = try BPETokenizer(vocabularyURL: bad)
            Issue.record("bad merge line did not throw")
        } catch let error as DataError {
            #expect(error.kind == .malformed && error.line == 101)
        }
        let garbage = folder.appendingPathComponent("garbage.txt.gz")
        try Data([0x1F, 0x8B, 0x08, 0x00, 0x01, 0x02, 0x03]).write(to: garbage)
        #expect(throws: DataError.self) { try BPETokenizer(vocabularyURL: garbage) }
    }
}
