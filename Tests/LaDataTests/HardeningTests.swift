import Foundation
import Testing

@testable import LaData

// Regression tests for malformed and hostile inputs (issue: crashes and memory bombs from malformed files): each
// input here crashed the process, allocated gigabytes, or was accepted before the fix.

private let hardeningResources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/images")

private func scratchFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-hardening-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct HardeningTests {
    // MARK: BPE vocabulary

    /// The real vocabulary's lines, header first.
    static func vocabularyLines() throws -> [String]? {
        guard let path = sharedData("clip/bpe_simple_vocab_16e6.txt.gz") else { return nil }
        let text = String(decoding: try Gzip.readAll(path: path), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func aMergeBeforeThePartsItUsesIsATypedError() throws {
        guard var lines = try Self.vocabularyLines() else { return }
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Line 40001 merges two tokens that earlier merges build; move it to the front (line 2).
        let moved = lines.remove(at: 40_000)
        lines.insert(moved, at: 1)
        let path = folder.appendingPathComponent("moved.txt").path
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        let error = expectDataError(.malformed) { _ = try BPETokenizer(vocabularyURL: URL(fileURLWithPath: path)) }
        #expect(error?.line == 2 && error?.file == path, "\(String(describing: error))")
    }

    @Test func aMergeOfASpecialTokenIsATypedError() throws {
        guard var lines = try Self.vocabularyLines() else { return }
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        lines[10] = "<start_of_text> a"
        let path = folder.appendingPathComponent("special.txt.gz").path
        try Gzip.write(Array(lines.joined(separator: "\n").utf8), to: path)
        let error = expectDataError(.malformed) { _ = try BPETokenizer(vocabularyURL: URL(fileURLWithPath: path)) }
        #expect(error?.line == 11, "\(String(describing: error))")
    }

    // MARK: Decompression bombs

    @Test func gzipBombsStopAtTheLimitBeforeBeingHeld() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bomb = folder.appendingPathComponent("zeros.gz").path
        try Gzip.write([UInt8](repeating: 0, count: 1 << 20), to: bomb, repeats: 64)  // 64 MiB of zeros, about 64 KB
        let compressedSize = try FileManager.default.attributesOfItem(atPath: bomb)[.size] as? Int ?? 0
        #expect(compressedSize > 0 && compressedSize < 200_000)
        let limited = expectDataError(.unsupported) { _ = try Gzip.readAll(path: bomb, maximumSize: 1 << 20) }
        #expect(limited?.message.contains("limit of 1048576 bytes") == true)
        #expect(try Gzip.readAll(path: bomb, maximumSize: 64 << 20).count == 64 << 20)
        // Past 64 MiB, a thousandfold inflation is refused whatever the size limit (CSV, JSON lines, tar readers).
        let big = folder.appendingPathComponent("zeros-big.gz").path
        try Gzip.write([UInt8](repeating: 0, count: 1 << 20), to: big, repeats: 80)
        let ratio = expectDataError(.unsupported) { _ = try Gzip.readAll(path: big) }
        #expect(ratio?.message.contains("200:1") == true, "\(String(describing: ratio))")
        #expect(expectDataError(.unsupported) { _ = try CSVParser().parse(path: big) } != nil)
        // The vocabulary reader's own limit (16 MiB) and the IDX reader's header check refuse it outright.
        let vocabulary = expectDataError(.unsupported) { _ = try BPETokenizer(vocabularyURL: URL(fileURLWithPath: bomb)) }
        #expect(vocabulary?.message.contains("limit") == true)
        #expect(expectDataError { _ = try IDXFile(path: bomb, rank: 3) }?.field == "magic")
        #expect(Gzip.defaultMaximumSize >= 1 << 20)
    }

    @Test func idxDataIsReadOnlyUpToTheDeclaredSize() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A valid header for 2 x 2 x 2 bytes followed by 1 MiB: the extra data is reported, not inflated whole.
        let path = folder.appendingPathComponent("extra.gz").path
        try Gzip.write([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2] + [UInt8](repeating: 7, count: 1 << 20), to: path)
        #expect(expectDataError(.mismatch) { _ = try IDXFile(path: path, rank: 3) }?.field == "data")
        let good = folder.appendingPathComponent("good.gz").path
        try Gzip.write([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2] + Array(1...8), to: good)
        let file = try IDXFile(path: good, rank: 3)
        #expect(file.shape == [2, 2, 2] && file.data == Array(1...8))
    }

    /// A 41-byte PNG whose text chunk declares 0x7FFFFFFF bytes: refused by libpng's chunk limit, not allocated.
    @Test func aPNGChunkClaimingGigabytesIsRefused() throws {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let ihdr: [UInt8] = [0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]
        png += [0, 0, 0, 13] + ihdr + crc32(ihdr)
        png += [0x7F, 0xFF, 0xFF, 0xFF] + Array("tEXt".utf8)
        #expect(png.count == 41)
        let error = expectDataError { _ = try ImageDecoder.decode(bytes: png, name: "bomb.png") }
        #expect(error?.file == "bomb.png")
        #expect(error?.kind == .truncated && error?.message.contains("declares 2147483647 bytes") == true, "\(String(describing: error!))")
    }

    /// A 367-byte JPEG whose frame header says 65500 x 2732: refused before its 537 MB pixel buffer is allocated.
    @Test func aJPEGHeaderClaimingMorePixelsThanItsBytesIsRefused() throws {
        var jpeg = [UInt8](try Data(contentsOf: hardeningResources.appendingPathComponent("gray.jpg")))
        guard let sof = (0..<(jpeg.count - 8)).first(where: { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) }) else {
            Issue.record("no frame header in gray.jpg")
            return
        }
        jpeg[sof + 5] = 0x0A  // height 2732
        jpeg[sof + 6] = 0xAC
        jpeg[sof + 7] = 0xFF  // width 65500
        jpeg[sof + 8] = 0xDC
        let error = expectDataError(.malformed) { _ = try ImageDecoder.decode(bytes: jpeg, name: "bomb.jpg") }
        #expect(error?.message.contains("65500x2732") == true, "\(String(describing: error))")
    }

    /// A real COCO JPEG cut to 30% with an end-of-image marker appended decoded as a partly gray image before.
    @Test func aTruncatedJPEGWithAnEndMarkerIsAnError() throws {
        guard let folder = sharedData("coco/mini/images") else { return }
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).sorted().first { $0.hasSuffix(".jpg") })
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
        _ = try ImageDecoder.decode(bytes: whole, name: name)
        let cut = Array(whole.prefix(whole.count * 3 / 10)) + [0xFF, 0xD9]
        #expect(expectDataError(.truncated) { _ = try ImageDecoder.decode(bytes: cut, name: name) }?.file == name)
        // Cut without a marker: also truncated.
        #expect(expectDataError(.truncated) { _ = try ImageDecoder.decode(bytes: Array(whole.prefix(whole.count / 2)), name: name) } != nil)
    }
}

/// CRC-32 (PNG's polynomial) of `bytes`, big-endian.
private func crc32(_ bytes: [UInt8]) -> [UInt8] {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    crc ^= 0xFFFF_FFFF
    return [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
}
