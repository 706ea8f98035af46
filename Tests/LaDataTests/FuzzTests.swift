import Foundation
import LaTensor
import Testing

@testable import LaData

/// A seeded mutation fuzzer over every LaData reader: each valid seed input is mutated (bit flips, byte
/// insertions and deletions, truncation, huge length fields, repeated blocks) and fed to the reader, which must
/// either accept it or throw a `DataError`. Any crash, trap or other error fails the run. The suite runs a few
/// hundred inputs per reader; `LACLIP_FUZZ_ITERATIONS=100000 swift test -c release --filter FuzzTests` is the longer
/// run for maintainers (the seed is `LACLIP_FUZZ_SEED`, default 1, so a failure replays).
@Suite struct FuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["LACLIP_FUZZ_ITERATIONS"] ?? "") ?? 2000
    static let seed = UInt64(ProcessInfo.processInfo.environment["LACLIP_FUZZ_SEED"] ?? "") ?? 1
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/images")

    /// One mutation of `input`.
    static func mutate(_ input: [UInt8], generator: inout RandomGenerator) -> [UInt8] {
        var bytes = input
        let rounds = 1 + Int(generator.next() % 4)
        for _ in 0..<rounds {
            let choice = generator.next() % 7
            let position = bytes.isEmpty ? 0 : Int(generator.next() % UInt64(bytes.count))
            switch choice {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << (generator.next() % 8))
            case 1: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3: bytes = Array(bytes.prefix(position))
            case 4 where bytes.count >= 4:  // a huge or extreme 32-bit field
                let at = Int(generator.next() % UInt64(bytes.count - 3))
                let value: [UInt8] = [[0x7F, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0], [0x80, 0, 0, 0]][Int(generator.next() % 4)]
                for i in 0..<4 { bytes[at + i] = value[i] }
            case 5 where bytes.count > 8:  // repeat a block
                let length = 1 + Int(generator.next() % UInt64(min(64, bytes.count - position)))
                bytes.insert(contentsOf: bytes[position..<min(bytes.count, position + length)], at: position)
            case 6 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            default: break
            }
        }
        return bytes
    }

    /// Feeds `iterations` mutations of each seed to `read`; returns how many were accepted and rejected.
    static func fuzz(_ name: String, seeds: [[UInt8]], iterations: Int = iterations, read: ([UInt8]) throws -> Void) -> (accepted: Int, rejected: Int) {
        var generator = RandomGenerator(seed: RandomGenerator.mix(seed, UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF_FFFF)))
        var accepted = 0, rejected = 0
        for i in 0..<iterations {
            let input = mutate(seeds[i % seeds.count], generator: &generator)
            do {
                try read(input)
                accepted += 1
            } catch is DataError {
                rejected += 1
            } catch {
                Issue.record("\(name): input \(i) threw a non-DataError: \(error)")
            }
        }
        return (accepted, rejected)
    }

    @Test func imageDecoder() throws {
        let seeds = try ["gray.jpg", "progressive.jpg", "cmyk.jpg", "palette.png", "gray16.png", "interlaced.png", "rgba.png"].map {
            [UInt8](try Data(contentsOf: Self.images.appendingPathComponent($0)))
        }
        let (accepted, rejected) = Self.fuzz("images", seeds: seeds, iterations: 2 * Self.iterations) { bytes in
            _ = try ImageDecoder.decode(bytes: bytes, name: "fuzz")
        }
        #expect(accepted > 0 && rejected > 0)
    }

    @Test func csvAndJSONLines() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = Array("filepath\ttitle\na.jpg\t\"a cat, on a mat\"\nb.png\tplain caption\n\"c\"\"d.jpg\"\tquote\n".utf8)
        let (csvAccepted, csvRejected) = Self.fuzz("csv", seeds: [csv]) { bytes in
            _ = try CSVParser(separator: "\t", quoting: true).parse(bytes: bytes, file: "fuzz.tsv")
        }
        #expect(csvAccepted > 0 && csvRejected > 0)
        let jsonl = Array("{\"image\": \"a.jpg\", \"captions\": [\"one\", \"two\"]}\n{\"image\": \"b.jpg\", \"captions\": \"three\"}\n".utf8)
        let path = folder.appendingPathComponent("fuzz.jsonl").path
        let (jsonAccepted, jsonRejected) = Self.fuzz("jsonl", seeds: [jsonl], iterations: Self.iterations / 2) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try JSONLinesDataset(path: path)
        }
        #expect(jsonAccepted > 0 && jsonRejected > 0)
    }

    @Test func idxAndTar() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let idx: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3] + Array(0..<18)
        let (idxAccepted, idxRejected) = Self.fuzz("idx", seeds: [idx]) { bytes in _ = try IDXFile(bytes: bytes, file: "fuzz", rank: 3) }
        #expect(idxAccepted > 0 && idxRejected > 0)
        // A two-member ustar archive built by hand.
        func member(_ name: String, _ data: [UInt8]) -> [UInt8] {
            var header = [UInt8](repeating: 0, count: 512)
            for (i, b) in name.utf8.enumerated() { header[i] = b }
            for (i, b) in "0000644\0".utf8.enumerated() { header[100 + i] = b }
            for (i, b) in (String(data.count, radix: 8).leftPadded(to: 11) + "\0").utf8.enumerated() { header[124 + i] = b }
            header[156] = UInt8(ascii: "0")
            for (i, b) in "ustar\0".utf8.enumerated() { header[257 + i] = b }
            for i in 148..<156 { header[i] = 32 }
            let sum = header.reduce(0) { $0 + Int($1) }
            for (i, b) in (String(sum, radix: 8).leftPadded(to: 6) + "\0 ").utf8.enumerated() { header[148 + i] = b }
            return header + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        let tar = member("x.txt", Array("a caption".utf8)) + member("x.json", Array("{\"caption\": \"b\"}".utf8)) + [UInt8](repeating: 0, count: 1024)
        let path = folder.appendingPathComponent("fuzz.tar").path
        let (tarAccepted, tarRejected) = Self.fuzz("tar", seeds: [tar], iterations: Self.iterations / 2) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try TarReader(path: path, maximumMemberSize: 1 << 20).readAllFiles()
        }
        #expect(tarAccepted > 0 && tarRejected > 0)
    }

    @Test func metaPairBank() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        guard let bank = sharedData("laclip/icl_meta_pairs.json") else { return }
        let seed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bank)))
        let url = folder.appendingPathComponent("bank.json")
        let (accepted, rejected) = Self.fuzz("bank", seeds: [seed], iterations: Self.iterations / 4) { bytes in
            try Data(bytes).write(to: url)
            _ = try MetaPairBanks.load(contentsOf: url)
        }
        #expect(accepted + rejected == Self.iterations / 4 && rejected > 0)
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
