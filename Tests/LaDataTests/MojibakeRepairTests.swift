import Foundation
import Testing

@testable import LaData

// ftfy's `fix_encoding` (MojibakeRepair) against ftfy 6.3.1 itself: Resources/mojibake_reference.json holds, for the
// hand-made mojibake edge cases of Resources/make_tokenizer_reference.py and for seeded random mojibake, what
// `ftfy.fix_encoding`, `ftfy.fix_text` and open_clip's cleaning make of each text, and `ftfy.badness.is_bad` of
// seeded random strings over the characters the badness heuristic classifies (written by the same script).

private let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

private struct MojibakeReference: Decodable {
    /// The ftfy version that wrote the file.
    let ftfy: String
    /// `[text, ftfy.fix_encoding(text), ftfy.fix_text(text), open_clip's clean_fn(text)]` for the edge cases.
    let edgeCases: [[String]]
    /// The same for seeded random mojibake.
    let fuzz: [[String]]
    /// Seeded random strings that `is_bad` accepts, and that it rejects.
    let isBadTrue: [String]
    let isBadFalse: [String]

    static let shared: Result<MojibakeReference, any Error> = Result {
        let data = try Data(contentsOf: testsFolder.appendingPathComponent("Resources/mojibake_reference.json"))
        return try JSONDecoder().decode(MojibakeReference.self, from: data)
    }
}

private func scalars(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) }

/// Compares every step of every case scalar by scalar (`String ==` would accept canonically equivalent text), and
/// describes each difference.
private func mismatches(_ cases: [[String]]) -> [String] {
    var out: [String] = []
    for row in cases {
        let text = scalars(row[0])
        let steps: [(String, [UInt32], String)] = [
            ("fix_encoding", MojibakeRepair.fixEncoding(text), row[1]),
            ("fix_text", TextCleaning.ftfyFixText(text), row[2]),
            ("clean", TextCleaning.cleanScalars(row[0]), row[3]),
        ]
        for (name, got, expected) in steps where got != scalars(expected) {
            out.append("\(name) \(row[0].debugDescription): \(string(got).debugDescription) != \(expected.debugDescription)")
        }
    }
    return out
}

private func string(_ values: [UInt32]) -> String {
    var view = String.UnicodeScalarView()
    for v in values { view.append(Unicode.Scalar(v)!) }
    return String(view)
}

@Suite("MojibakeRepair")
struct MojibakeRepairTests {
    @Test("edge cases equal ftfy's fix_encoding, fix_text and open_clip's cleaning")
    func edgeCases() throws {
        let reference = try MojibakeReference.shared.get()
        #expect(reference.ftfy == "6.3.1")
        #expect(reference.edgeCases.count >= 20)
        let bad = mismatches(reference.edgeCases)
        #expect(bad.isEmpty, "\(bad.count) mismatches:\n\(bad.prefix(20).joined(separator: "\n"))")
    }

    @Test("seeded random mojibake equals ftfy")
    func fuzz() throws {
        let reference = try MojibakeReference.shared.get()
        #expect(reference.fuzz.count >= 100)
        let bad = mismatches(reference.fuzz)
        #expect(bad.isEmpty, "\(bad.count) mismatches:\n\(bad.prefix(20).joined(separator: "\n"))")
    }

    @Test("is_bad equals ftfy's badness heuristic")
    func badness() throws {
        let reference = try MojibakeReference.shared.get()
        #expect(reference.isBadTrue.count >= 100 && reference.isBadFalse.count >= 100)
        let wrongTrue = reference.isBadTrue.filter { !MojibakeRepair.isBad(scalars($0)) }
        let wrongFalse = reference.isBadFalse.filter { MojibakeRepair.isBad(scalars($0)) }
        #expect(wrongTrue.isEmpty, "not bad, but ftfy says bad: \(wrongTrue.prefix(20).map(\.debugDescription))")
        #expect(wrongFalse.isEmpty, "bad, but ftfy says not: \(wrongFalse.prefix(20).map(\.debugDescription))")
    }

    @Test("the examples of ftfy's documentation")
    func documentedExamples() {
        #expect(TextCleaning.clean("sÃ³ mojibake") == "só mojibake")
        #expect(TextCleaning.clean("The Mona Lisa doesnâ€™t have eyebrows.") == "the mona lisa doesn't have eyebrows.")
        #expect(TextCleaning.clean("Ã©lÃ¨ve") == "élève")
        #expect(MojibakeRepair.fixEncoding(scalars("voilÃ le travail")) == scalars("voilà le travail"))
        #expect(MojibakeRepair.fixEncoding(scalars("plain ASCII text")) == scalars("plain ASCII text"))
        #expect(MojibakeRepair.fixEncoding([]) == [])
    }

    /// Expected values are what `bytes.decode("utf-8-variants")` gives in ftfy 6.3.1 (`nil`: UnicodeDecodeError).
    @Test("ftfy's utf-8-variants decoding: CESU-8, Java's null, and the quirks of its final-newline `$`")
    func utf8Variants() {
        #expect(MojibakeRepair.decodeUTF8Variants([0x61, 0xC3, 0xA9]) == [0x61, 0xE9])
        #expect(MojibakeRepair.decodeUTF8Variants([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]) == [0x1F600])
        #expect(MojibakeRepair.decodeUTF8Variants([0xC0, 0x80, 0x41]) == [0, 0x41])
        #expect(MojibakeRepair.decodeUTF8Variants([0x41, 0xC0, 0x0A]) == [0x41, 0])
        #expect(MojibakeRepair.decodeUTF8Variants([0xC0, 0x0A, 0x41]) == nil)
        #expect(MojibakeRepair.decodeUTF8Variants([0xED, 0xA0, 0x80, 0xED, 0xB0, 0x0A]) == [0x1000A])
        #expect(MojibakeRepair.decodeUTF8Variants([0xED, 0xA0, 0x80]) == nil)
        #expect(MojibakeRepair.decodeUTF8Variants([0xED, 0x9F, 0xBF]) == [0xD7FF])
        #expect(MojibakeRepair.decodeUTF8Variants([0xE0, 0x80, 0x80]) == nil)
        #expect(MojibakeRepair.decodeUTF8Variants([0xF4, 0x90, 0x80, 0x80]) == nil)
        #expect(MojibakeRepair.decodeUTF8Variants([0xC1, 0xBF]) == nil)
    }
}
