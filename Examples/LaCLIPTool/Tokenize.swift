import ArgumentParser
import Foundation
import LaCLIP

/// `laclip tokenize`: texts in, open_clip's token ids out.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize texts (one per line) as open_clip.tokenize does: one JSON list of ids per line.")

    @Option(help: "A text file, one text per line (default: standard input).") var input: String?
    @Option(name: .customLong("context-length"), help: "Ids per text (padded with 0, truncated with the end token kept).")
    var contextLength = 77

    func validate() throws {
        guard (1...65536).contains(contextLength) else { throw ValidationError("--context-length must be in 1...65536, got \(contextLength)") }
        if contextLength < 2 { throw ValidationError("--context-length must be ≥ 2 (start and end tokens), got \(contextLength)") }
    }

    func run() throws {
        let tokenizer = try BPETokenizer.loadDefault()
        let lines: [String]
        if let input {
            lines = try readLines(input)
        } else {
            var read: [String] = []
            while let line = Swift.readLine(strippingNewline: true) { read.append(line) }
            lines = read
        }
        var output = ""
        for start in stride(from: 0, to: lines.count, by: 1024) {
            let batch = Array(lines[start..<min(start + 1024, lines.count)])
            let ids = tokenizer.tokenize(batch, contextLength: contextLength).scalars
            for row in 0..<batch.count {
                output += "[" + ids[(row * contextLength)..<((row + 1) * contextLength)].map(String.init).joined(separator: ",") + "]\n"
            }
            FileHandle.standardOutput.write(Data(output.utf8))
            output = ""
        }
    }
}
