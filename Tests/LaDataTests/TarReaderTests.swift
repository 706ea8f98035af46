import Foundation
import Testing

@testable import LaData

@Suite struct TarReaderTests {
    /// Writes an archive and returns every regular file's (name, data).
    private func readAll(_ builder: TarBuilder, in dir: TemporaryDirectory, bufferSize: Int = 1 << 20) throws -> [(String, [UInt8])] {
        let path = try dir.write("archive-\(UUID().uuidString).tar", builder.bytes)
        let reader = try TarReader(path: path, bufferSize: bufferSize)
        return try reader.readAllFiles().map { ($0.entry.name, $0.data) }
    }

    @Test func readsUstarGNUAndV7Members() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        let big = testBytes(3000, seed: 7)
        tar.add("a.txt", text: "hello")
        tar.add("dir/", [], type: UInt8(ascii: "5"))
        tar.add("dir/b.bin", big)
        tar.add("c.txt", Array("gnu".utf8), format: .gnu)
        tar.add("d.txt", Array("v7".utf8), format: .v7)
        tar.add("empty.txt", [])
        tar.finish()
        for bufferSize in [512, 1000, 1 << 20] {
            let files = try readAll(tar, in: dir, bufferSize: bufferSize)
            #expect(files.map(\.0) == ["a.txt", "dir/b.bin", "c.txt", "d.txt", "empty.txt"])
            #expect(files[0].1 == Array("hello".utf8))
            #expect(files[1].1 == big)
            #expect(files[2].1 == Array("gnu".utf8))
            #expect(files[3].1 == Array("v7".utf8))
            #expect(files[4].1.isEmpty)
        }
    }

    @Test func skipsUnreadMembersAndReportsKinds() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        tar.add("skip.bin", testBytes(5000))
        tar.add("link", [], type: UInt8(ascii: "2"))
        tar.add("keep.txt", text: "kept")
        tar.finish()
        let path = try dir.write("a.tar", tar.bytes)
        let reader = try TarReader(path: path, bufferSize: 512)
        let first = try #require(try reader.next())
        #expect(first.name == "skip.bin" && first.size == 5000 && first.kind == .file && first.index == 1)
        let link = try #require(try reader.next())
        #expect(link.kind == .symbolicLink && link.size == 0)
        let keep = try #require(try reader.next())
        #expect(keep.name == "keep.txt" && keep.index == 3)
        #expect(try reader.readData() == Array("kept".utf8))
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
    }

    @Test func ustarPrefixGNULongNameAndPaxPath() throws {
        let dir = try TemporaryDirectory()
        let longName = String(repeating: "d", count: 80) + "/" + String(repeating: "n", count: 150) + ".txt"
        var tar = TarBuilder()
        tar.add("file.txt", Array("prefixed".utf8), prefix: "some/deep/dir")
        tar.addGNULongName(longName, Array("long".utf8))
        tar.addPax([("path", "pax/ünïcode name.jpg"), ("mtime", "1700000000.5")], headerName: "short.jpg", Array("pax".utf8))
        tar.append(TarBuilder.header(name: "global", size: 0, type: UInt8(ascii: "g")))
        tar.add("after.txt", text: "after")
        tar.finish()
        let files = try readAll(tar, in: dir)
        #expect(files.map(\.0) == ["some/deep/dir/file.txt", longName, "pax/ünïcode name.jpg", "after.txt"])
        #expect(files.map(\.1) == [Array("prefixed".utf8), Array("long".utf8), Array("pax".utf8), Array("after".utf8)])
    }

    @Test func paxSizeOverridesHeaderAndBase256Sizes() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        // pax size wins over the (zero) header size.
        tar.add("PaxHeaders/x", Array("12 size=600\n".utf8), type: UInt8(ascii: "x"))
        tar.append(TarBuilder.header(name: "x.bin", size: 0))
        tar.append(TarBuilder.padded(testBytes(600)))
        // GNU base-256 size field.
        var base256 = [UInt8](repeating: 0, count: 12)
        base256[0] = 0x80
        base256[10] = 0x01
        base256[11] = 0x02  // 258
        tar.append(TarBuilder.header(name: "y.bin", size: 0, format: .gnu, sizeField: base256))
        tar.append(TarBuilder.padded(testBytes(258, seed: 3)))
        tar.finish()
        let files = try readAll(tar, in: dir)
        #expect(files.map(\.0) == ["x.bin", "y.bin"])
        #expect(files[0].1 == testBytes(600))
        #expect(files[1].1 == testBytes(258, seed: 3))
    }

    @Test func acceptsMissingEndOfArchiveBlocks() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        tar.add("a.txt", text: "a")
        let files = try readAll(tar, in: dir)
        #expect(files.map(\.0) == ["a.txt"])
    }

    @Test func badChecksumNamesShardAndMember() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        tar.add("good.txt", text: "good")
        tar.append(TarBuilder.header(name: "bad.txt", size: 3, checksumDelta: 1))
        tar.append(TarBuilder.padded(Array("bad".utf8)))
        tar.finish()
        let path = try dir.write("corrupt.tar", tar.bytes)
        let error = expectDataError(.malformed) { _ = try TarReader(path: path).readAllFiles() }
        #expect(error?.file == path)
        #expect(error?.field == "bad.txt")
        #expect(error?.line == 2)
        #expect(error?.description.contains("checksum") == true)
    }

    @Test func sizeBeyondFileIsAnError() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        tar.add("ok.txt", text: "ok")
        tar.append(TarBuilder.header(name: "huge.jpg", size: 1 << 30))
        tar.append(TarBuilder.padded(testBytes(100)))
        tar.finish()
        let path = try dir.write("huge.tar", tar.bytes)
        let reader = try TarReader(path: path)
        _ = try reader.next()
        let error = expectDataError(.truncated) { _ = try reader.next() }
        #expect(error?.file == path)
        #expect(error?.field == "huge.jpg")
        #expect(error?.message.contains("\(1 << 30)") == true)
    }

    @Test func truncatedMemberAndHeaderAreErrors() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        tar.add("first.txt", text: "first")
        tar.add("second.bin", testBytes(2000))
        tar.finish()
        // Cut inside the second member's data.
        let cutData = try dir.write("cut-data.tar", Array(tar.bytes.prefix(1024 + 512 + 700)))
        let dataError = expectDataError(.truncated) { _ = try TarReader(path: cutData).readAllFiles() }
        #expect(dataError?.file == cutData)
        #expect(dataError?.field == "second.bin")
        // Cut inside the second header.
        let cutHeader = try dir.write("cut-header.tar", Array(tar.bytes.prefix(1024 + 200)))
        let headerError = expectDataError(.truncated) { _ = try TarReader(path: cutHeader).readAllFiles() }
        #expect(headerError?.file == cutHeader)
        #expect(headerError?.field == "second.bin")
        // Cut inside the padding of the last member.
        var single = TarBuilder()
        single.add("pad.txt", text: "12345")
        let cutPadding = try dir.write("cut-padding.tar", Array(single.bytes.prefix(512 + 100)))
        let paddingError = expectDataError(.truncated) { _ = try TarReader(path: cutPadding).readAllFiles() }
        #expect(paddingError?.field == "pad.txt")
    }

    @Test func malformedFieldsAndMissingFiles() throws {
        let dir = try TemporaryDirectory()
        // A non-octal size field (with a valid checksum).
        var tar = TarBuilder()
        tar.append(TarBuilder.header(name: "weird.txt", size: 0, sizeField: Array("12x4".utf8)))
        let path = try dir.write("weird.tar", tar.bytes)
        let error = expectDataError(.malformed) { _ = try TarReader(path: path).readAllFiles() }
        #expect(error?.field == "weird.txt")
        // A malformed pax record.
        var pax = TarBuilder()
        pax.add("PaxHeaders/p", Array("99 path=x\n".utf8), type: UInt8(ascii: "x"))
        pax.add("p.txt", text: "p")
        let paxPath = try dir.write("pax.tar", pax.bytes)
        expectDataError(.malformed) { _ = try TarReader(path: paxPath).readAllFiles() }
        // A GNU long name beyond the file.
        var long = TarBuilder()
        long.append(TarBuilder.header(name: "././@LongLink", size: 10_000, type: UInt8(ascii: "L"), format: .gnu))
        let longPath = try dir.write("long.tar", long.bytes)
        expectDataError(.truncated) { _ = try TarReader(path: longPath).readAllFiles() }
        // Missing file and a directory.
        expectDataError(.unreadable) { _ = try TarReader(path: dir.path + "/missing.tar") }
        expectDataError(.unreadable) { _ = try TarReader(path: dir.path) }
    }

    @Test func memberLimitAndDoubleRead() throws {
        let dir = try TemporaryDirectory()
        var tar = TarBuilder()
        tar.add("big.bin", testBytes(4096))
        tar.add("small.txt", text: "s")
        tar.finish()
        let path = try dir.write("limit.tar", tar.bytes)
        let reader = try TarReader(path: path, maximumMemberSize: 1024)
        _ = try reader.next()
        expectDataError(.unsupported) { _ = try reader.readData() }
        // The reader can still move on after refusing a member.
        let small = try #require(try reader.next())
        #expect(small.name == "small.txt")
        #expect(try reader.readData() == [UInt8(ascii: "s")])
        expectDataError(.unsupported) { _ = try reader.readData() }
    }
}
