import Foundation
import Testing
import LaTensor
@testable import LaData

/// The system WordNet (Debian package `wordnet-base`); the tests fail with a message naming the package when
/// it is missing.
func systemWordNet() throws -> WordNet {
    do {
        return try WordNet.shared()
    } catch let error as DataError {
        Issue.record("WordNet 3.0 is not installed: run `apt-get install -y wordnet-base` (\(error))")
        throw error
    }
}

/// A tiny WordNet database written to a temporary directory, for format and error tests that do not depend
/// on the installed one.
struct MiniWordNet {
    let directory: String

    /// Synsets per part of speech: (lemmas, gloss); index entries are derived from them.
    static let synsets: [WordNet.PartOfSpeech: [[String]]] = [
        .noun: [["dog", "domestic_dog", "Canis_familiaris"], ["frump", "dog"], ["goose"],
                ["church", "church_building"]],
        .verb: [["run"], ["chase", "dog", "go_after"]],
        .adjective: [["good"], ["long(a)", "lengthy"]],
        .adverb: [["well"]],
    ]

    init(corrupt: ((inout [String: String]) -> Void)? = nil) throws {
        directory = NSTemporaryDirectory() + "miniwordnet-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var files: [String: String] = [:]
        let licence = "  1 This is a licence line.  \n  2 Another one.  \n"
        for pos in WordNet.PartOfSpeech.allCases {
            var data = licence
            var index: [String: [Int]] = [:]
            for lemmas in Self.synsets[pos] ?? [] {
                let offset = data.utf8.count
                let words = lemmas.map { "\($0) 0" }.joined(separator: " ")
                let type = pos == .adjective ? "a" : String(pos.symbol)
                let count = String(lemmas.count, radix: 16)
                data += String(format: "%08d 00 %@ %@%@ %@ 000 | a gloss  \n", offset, type,
                               lemmas.count < 16 ? "0" : "", count, words)
                for lemma in lemmas {
                    var key = lemma.lowercased()
                    if let open = key.firstIndex(of: "(") { key = String(key[..<open]) }
                    index[key, default: []].append(offset)
                }
            }
            var indexText = licence
            for key in index.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                let offsets = index[key]!
                indexText += "\(key) \(pos.symbol) \(offsets.count) 1 @ \(offsets.count) 0 "
                    + offsets.map { String(format: "%08d", $0) }.joined(separator: " ") + "  \n"
            }
            files["index.\(pos.fileSuffix)"] = indexText
            files["data.\(pos.fileSuffix)"] = data
        }
        files["noun.exc"] = "geese goose\n"
        files["verb.exc"] = "ran run\n"
        files["adj.exc"] = "better good well\n"
        files["adv.exc"] = "better well\n"
        corrupt?(&files)
        for (name, text) in files {
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

@Suite struct WordNetTests {
    // MARK: System database

    @Test func knownSynonyms() throws {
        let wordNet = try systemWordNet()
        #expect(wordNet.lemmas(of: "dog").contains("domestic dog"))
        #expect(wordNet.lemmas(of: "dog").contains("Canis familiaris"))
        #expect(wordNet.lemmas(of: "car").contains("automobile"))
        #expect(wordNet.lemmas(of: "car", partOfSpeech: .noun).contains("motorcar"))
        #expect(wordNet.lemmas(of: "car", partOfSpeech: .verb).isEmpty)
        // The first noun sense of "dog" is the animal, with WordNet's synset id and lemma order.
        let first = try #require(wordNet.synsets(of: "dog", partOfSpeech: .noun).first)
        #expect(first.offset == 2_084_071)
        #expect(first.lemmas == ["dog", "domestic dog", "Canis familiaris"])
        #expect(wordNet.synsets(of: "dog", partOfSpeech: .noun).count == 7)
        #expect(wordNet.synsets(of: "dog", partOfSpeech: .verb).count == 1)
        // Adjective markers such as "(a)" are removed, and satellites are flagged.
        let adjectives = wordNet.synsets(of: "outback", partOfSpeech: .adjective)
        #expect(adjectives.contains { $0.isSatellite && $0.lemmas == ["outback", "remote"] })
        // Multi-word lookups use spaces; case does not matter.
        #expect(wordNet.contains("Domestic Dog", partOfSpeech: .noun))
        #expect(!wordNet.contains("domesticdog"))
        #expect(wordNet.lemmaCount(partOfSpeech: .noun) == 117_798)
    }

    @Test func morphology() throws {
        let wordNet = try systemWordNet()
        #expect(wordNet.baseForms(of: "dogs", partOfSpeech: .noun) == ["dog"])
        #expect(wordNet.baseForms(of: "ran", partOfSpeech: .verb) == ["run"])
        #expect(wordNet.baseForms(of: "women", partOfSpeech: .noun) == ["woman"])
        #expect(wordNet.baseForms(of: "better", partOfSpeech: .adjective).contains("good"))
        #expect(wordNet.baseForms(of: "geese", partOfSpeech: .noun) == ["goose"])
        #expect(wordNet.baseForms(of: "churches", partOfSpeech: .noun) == ["church"])
        #expect(wordNet.baseForms(of: "running", partOfSpeech: .verb).contains("run"))
        #expect(wordNet.baseForms(of: "flies", partOfSpeech: .verb) == ["fly"])
        #expect(wordNet.baseForms(of: "biggest", partOfSpeech: .adjective) == ["big"])
        #expect(wordNet.baseForms(of: "Dogs", partOfSpeech: .noun) == ["dog"])
        #expect(wordNet.baseForms(of: "dog", partOfSpeech: .noun) == ["dog"])
        #expect(wordNet.baseForms(of: "mothers-in-law", partOfSpeech: .noun) == ["mother-in-law"])
        #expect(wordNet.baseForms(of: "Amici Curiae", partOfSpeech: .noun) == ["amicus curiae"])
        #expect(wordNet.baseForms(of: "xyzzyqq", partOfSpeech: .noun).isEmpty)
        #expect(wordNet.baseForms(of: "", partOfSpeech: .noun).isEmpty)
        // Any part of speech, noun first.
        #expect(wordNet.baseForms(of: "saw") == ["saw", "see"])
        // Inflected words find their lemma's synsets, as NLTK's wordnet.synsets does.
        #expect(wordNet.lemmas(of: "cars").contains("automobile"))
    }

    @Test func sharedInstanceIsCached() throws {
        let a = try systemWordNet()
        let b = try WordNet.shared()
        #expect(a === b)
    }

    @Test func concurrentLookupsAgree() async throws {
        let wordNet = try systemWordNet()
        let words = ["dog", "cars", "ran", "better", "women", "quickly", "houses", "beautiful"]
        let expected = words.map { wordNet.lemmas(of: $0) }
        let results = await withTaskGroup(of: (Int, [String]).self) { group in
            for (k, word) in words.enumerated() { group.addTask { (k, wordNet.lemmas(of: word)) } }
            var results = Array(repeating: [String](), count: words.count)
            for await (k, lemmas) in group { results[k] = lemmas }
            return results
        }
        #expect(results == expected)
    }

    // MARK: Format and errors (a tiny database in a temporary directory)

    @Test func miniDatabaseLoads() throws {
        let mini = try MiniWordNet()
        defer { mini.remove() }
        let wordNet = try WordNet(directory: mini.directory)
        #expect(wordNet.lemmas(of: "dog") == ["dog", "domestic dog", "Canis familiaris", "frump", "chase", "go after"])
        #expect(wordNet.synsets(of: "dog", partOfSpeech: .noun).map(\.lemmas.count) == [3, 2])
        #expect(wordNet.baseForms(of: "dogs", partOfSpeech: .noun) == ["dog"])
        #expect(wordNet.baseForms(of: "geese", partOfSpeech: .noun) == ["goose"])
        #expect(wordNet.baseForms(of: "ran", partOfSpeech: .verb) == ["run"])
        #expect(wordNet.baseForms(of: "better", partOfSpeech: .adjective) == ["good"])
        #expect(wordNet.baseForms(of: "churches", partOfSpeech: .noun) == ["church"])
        #expect(wordNet.lemmas(of: "long", partOfSpeech: .adjective) == ["long", "lengthy"])
    }

    @Test func unsortedIndexStillWorksButDuplicatesDoNot() throws {
        func reverseEntries(_ text: String) -> String {
            let lines = text.split(separator: "\n").map { String($0) + "\n" }
            return lines.filter { $0.hasPrefix(" ") }.joined() + lines.filter { !$0.hasPrefix(" ") }.reversed().joined()
        }
        let unsorted = try MiniWordNet { $0["index.noun"] = reverseEntries($0["index.noun"]!) }
        defer { unsorted.remove() }
        let wordNet = try WordNet(directory: unsorted.directory)
        for lemma in ["dog", "domestic dog", "canis familiaris", "frump", "goose", "church", "church building"] {
            #expect(wordNet.contains(lemma, partOfSpeech: .noun), "\(lemma)")
        }
        #expect(!wordNet.contains("cat", partOfSpeech: .noun))

        let duplicated = try MiniWordNet { files in
            let line = files["index.adv"]!.split(separator: "\n").last!
            files["index.adv"]! += line + "\n"
        }
        defer { duplicated.remove() }
        let error = try #require(throws: DataError.self) { _ = try WordNet(directory: duplicated.directory) }
        #expect(error.field == "lemma")
    }

    @Test func missingDirectoryNamesThePackage() throws {
        let error = try #require(throws: DataError.self) {
            _ = try WordNet(directory: "/nonexistent/wordnet")
        }
        #expect(error.kind == .unreadable)
        #expect(error.file == "/nonexistent/wordnet/index.noun")
        #expect(error.description.contains("wordnet-base"))
    }

    @Test func missingFile() throws {
        let mini = try MiniWordNet()
        defer { mini.remove() }
        try FileManager.default.removeItem(atPath: mini.directory + "/verb.exc")
        let error = try #require(throws: DataError.self) { _ = try WordNet(directory: mini.directory) }
        #expect(error.kind == .unreadable)
        #expect(error.file.hasSuffix("/verb.exc"))
    }

    @Test func offsetNotAtALineStart() throws {
        // Shift the data file by one byte: every offset in the index is now wrong.
        let mini = try MiniWordNet { $0["data.noun"] = "x" + $0["data.noun"]! }
        defer { mini.remove() }
        let error = try #require(throws: DataError.self) { _ = try WordNet(directory: mini.directory) }
        #expect(error.kind == .malformed)
        #expect(error.file.hasSuffix("/index.noun"))
        #expect(error.line == 3)
        #expect(error.field == "synset_offset")
    }

    @Test func wrongFieldCount() throws {
        let mini = try MiniWordNet { files in
            files["index.verb"] = files["index.verb"]!.replacingOccurrences(of: "run v 1 1 @", with: "run v 2 1 @")
        }
        defer { mini.remove() }
        let error = try #require(throws: DataError.self) { _ = try WordNet(directory: mini.directory) }
        #expect(error.kind == .malformed)
        #expect(error.file.hasSuffix("/index.verb"))
        #expect(error.line != nil)
    }

    @Test func wrongPartOfSpeechAndBadNumbers() throws {
        let wrongPos = try MiniWordNet { files in
            files["index.adv"] = files["index.adv"]!.replacingOccurrences(of: "well r", with: "well n")
        }
        defer { wrongPos.remove() }
        let error = try #require(throws: DataError.self) { _ = try WordNet(directory: wrongPos.directory) }
        #expect(error.field == "pos")

        let badNumber = try MiniWordNet { files in
            files["index.adj"] = files["index.adj"]!.replacingOccurrences(of: "good a 1", with: "good a x")
        }
        defer { badNumber.remove() }
        let second = try #require(throws: DataError.self) { _ = try WordNet(directory: badNumber.directory) }
        #expect(second.field == "synset_cnt")
    }

    @Test func malformedExceptionLine() throws {
        let mini = try MiniWordNet { $0["noun.exc"] = "geese goose\nlonely\n" }
        defer { mini.remove() }
        let error = try #require(throws: DataError.self) { _ = try WordNet(directory: mini.directory) }
        #expect(error.kind == .malformed)
        #expect(error.line == 2)
    }
}
