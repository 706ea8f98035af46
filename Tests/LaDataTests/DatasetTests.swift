import Foundation
import Testing

@testable import LaData

@Suite struct CSVParserTests {
    private func parse(_ text: String, separator: Unicode.Scalar = ",", quoting: Bool = true) throws -> [CSVRecord] {
        try CSVParser(separator: separator, quoting: quoting).parse(bytes: Array(text.utf8), file: "test.csv")
    }

    @Test func quotingFollowsRFC4180() throws {
        let records = try parse(
            "\u{FEFF}a,b\r\n\"x, y\",\"he said \"\"hi\"\"\"\n\n\"multi\nline\",plain \"quote\" inside\n,\nlast,row")
        #expect(records.map(\.fields) == [
            ["a", "b"], ["x, y", "he said \"hi\""], ["multi\nline", "plain \"quote\" inside"], ["", ""], ["last", "row"],
        ])
        #expect(records.map(\.line) == [1, 2, 4, 6, 7])
    }

    @Test func separatorsAndQuotingOff() throws {
        #expect(try parse("a\tb c\t\"d\"\n", separator: "\t").map(\.fields) == [["a", "b c", "d"]])
        #expect(try parse("a\t\"b\n", separator: "\t", quoting: false).map(\.fields) == [["a", "\"b"]])
        #expect(try parse("a;b\r\nc;d\r\n", separator: ";").map(\.fields) == [["a", "b"], ["c", "d"]])
    }

    @Test func errorsNameTheLine() throws {
        let unclosed = expectDataError(.malformed) { _ = try parse("a,b\nc,\"never\nclosed\n") }
        #expect(unclosed?.line == 2 && unclosed?.file == "test.csv" && unclosed?.field == "field 2")
        let junk = expectDataError(.malformed) { _ = try parse("a,b\n\"x\n y\"z,w\n") }
        #expect(junk?.line == 3)
        expectDataError(.unsupported) { _ = try parse("a", separator: "\"") }
    }
}

@Suite struct LaCLIPCSVDatasetTests {
    @Test func readsRowsAndRewritesInFileOrder() throws {
        let dir = try TemporaryDirectory()
        let csv = try dir.write(
            "train.csv",
            "img/0.jpg,\"A dog, running\"\nimg/1.jpg,\"She said \"\"cheese\"\"\"\n\n/abs/2.png,plain caption\n")
        let rewrite1 = try dir.write("rewrite_chatgpt.txt", "a running dog\nsmiling for the camera\nplain rewrite\n")
        let rewrite2 = try dir.write("rewrite_bard.txt", "dog sprinting, fast\r\nsaying cheese\r\nanother")
        let dataset = try LaCLIPCSVDataset(csvPath: csv, imageRoot: "/data/root", rewritePaths: [rewrite1, rewrite2])
        #expect(dataset.count == 3 && dataset.rewriteCount == 2)
        let first = try dataset.sample(at: 0)
        #expect(first.captions == ["A dog, running", "a running dog", "dog sprinting, fast"])
        #expect(first.caption == "A dog, running")
        #expect(first.image.path == "/data/root/img/0.jpg" && first.image.format == .jpeg && first.key == "img/0.jpg")
        #expect(try dataset.sample(at: 1).captions == ["She said \"cheese\"", "smiling for the camera", "saying cheese"])
        let last = try dataset.sample(at: 2)
        #expect(last.image.path == "/abs/2.png" && last.image.format == .png)
        #expect(last.captions == ["plain caption", "plain rewrite", "another"])
        expectDataError(.unsupported) { _ = try dataset.sample(at: 3) }
        // Streaming view of a random-access dataset: index order.
        var iterator = dataset.makeIterator(epoch: 5)
        var keys: [String] = []
        while let sample = try iterator.next() { keys.append(sample.key) }
        #expect(keys == ["img/0.jpg", "img/1.jpg", "/abs/2.png"])
        // Without rewrites only the original caption.
        #expect(try LaCLIPCSVDataset(csvPath: csv).sample(at: 0).captions == ["A dog, running"])
    }

    @Test func mismatchedLineCountsNameFilesAndCounts() throws {
        let dir = try TemporaryDirectory()
        let csv = try dir.write("train.csv", "a.jpg,one\nb.jpg,two\nc.jpg,three\n")
        let good = try dir.write("good.txt", "1\n2\n3\n")
        let short = try dir.write("short.txt", "1\n2\n")
        let error = expectDataError(.mismatch) { _ = try LaCLIPCSVDataset(csvPath: csv, rewritePaths: [good, short]) }
        let text = error?.description ?? ""
        #expect(text.contains(short) && text.contains(csv) && text.contains("2 lines") && text.contains("3 rows"))
        let long = try dir.write("long.txt", "1\n2\n3\n4\n")
        expectDataError(.mismatch) { _ = try LaCLIPCSVDataset(csvPath: csv, rewritePaths: [long]) }
        expectDataError(.unreadable) { _ = try LaCLIPCSVDataset(csvPath: csv, rewritePaths: [dir.path + "/none.txt"]) }
    }

    @Test func malformedRowsNameTheLine() throws {
        let dir = try TemporaryDirectory()
        let three = try dir.write("three.csv", "a.jpg,ok\nb.jpg,too,many\n")
        let error = expectDataError(.malformed) { _ = try LaCLIPCSVDataset(csvPath: three) }
        #expect(error?.file == three && error?.line == 2)
        let empty = try dir.write("empty.csv", "a.jpg,ok\n,no path\n")
        #expect(expectDataError(.malformed) { _ = try LaCLIPCSVDataset(csvPath: empty) }?.field == "image path")
        expectDataError(.unreadable) { _ = try LaCLIPCSVDataset(csvPath: dir.path + "/missing.csv") }
    }

    @Test func realLaCLIPRewriteFileAlignsWithACSV() throws {
        guard let rewrites = sharedData("laclip/cc3m_sample_captions.txt") else { return }
        let lines = try String(contentsOfFile: rewrites, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let count = lines.last == "" ? lines.count - 1 : lines.count
        let dir = try TemporaryDirectory()
        let csv = try dir.write("cc3m.csv", (0..<count).map { "images/\($0).jpg,\"caption \($0), original\"" }.joined(separator: "\n"))
        let dataset = try LaCLIPCSVDataset(csvPath: csv, imageRoot: dir.path, rewritePaths: [rewrites])
        #expect(dataset.count == count)
        #expect(try dataset.sample(at: 0).captions[1].hasPrefix("there once was a little girl"))
        #expect(try dataset.sample(at: 3).captions == ["caption 3, original", "flag waving in the wind ."])
    }
}

@Suite struct OpenCLIPCSVDatasetTests {
    @Test func defaultsAreTabFilepathTitle() throws {
        let dir = try TemporaryDirectory()
        let tsv = try dir.write("train.tsv", "id\tfilepath\ttitle\n1\ta.jpg\tA photo, of a cat\n2\tsub/b.webp\t\"quoted\ttab\"\n")
        let dataset = try OpenCLIPCSVDataset(path: tsv, imageRoot: dir.path)
        #expect(dataset.count == 2)
        let first = try dataset.sample(at: 0)
        #expect(first.captions == ["A photo, of a cat"] && first.image.path == dir.path + "/a.jpg")
        let second = try dataset.sample(at: 1)
        #expect(second.captions == ["quoted\ttab"] && second.image.format == .webp && second.key == "sub/b.webp")
        // Without a root, paths stay as written (open_clip's behaviour).
        #expect(try OpenCLIPCSVDataset(path: tsv).sample(at: 0).image.path == "a.jpg")
    }

    @Test func configurableColumnsAndGrouping() throws {
        let dir = try TemporaryDirectory()
        let csv = try dir.write("c.csv", "caption,image\nfirst,x.png\nsecond,y.png\nthird,x.png\n")
        let rows = try OpenCLIPCSVDataset(path: csv, imageKey: "image", captionKey: "caption", separator: ",")
        #expect(rows.count == 3)
        let grouped = try OpenCLIPCSVDataset(path: csv, imageKey: "image", captionKey: "caption", separator: ",", groupsByImage: true)
        #expect(grouped.count == 2)
        #expect(try grouped.sample(at: 0).captions == ["first", "third"])
        #expect(try grouped.sample(at: 1).captions == ["second"])
    }

    @Test func errorsNameColumnAndLine() throws {
        let dir = try TemporaryDirectory()
        let csv = try dir.write("c.tsv", "filepath\tcaption\na.jpg\tx\n")
        let missing = expectDataError(.malformed) { _ = try OpenCLIPCSVDataset(path: csv) }
        #expect(missing?.field == "title" && missing?.line == 1)
        #expect(missing?.message.contains("filepath, caption") == true)
        let ragged = try dir.write("r.tsv", "filepath\ttitle\na.jpg\tx\nb.jpg\n")
        let error = expectDataError(.malformed) { _ = try OpenCLIPCSVDataset(path: ragged) }
        #expect(error?.line == 3)
        let empty = try dir.write("e.tsv", "")
        expectDataError(.malformed) { _ = try OpenCLIPCSVDataset(path: empty) }
    }
}

@Suite struct JSONLinesDatasetTests {
    @Test func readsSeveralCaptionsPerImage() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("m.jsonl", """
            {"image": "a.jpg", "captions": ["one", "two", "three"], "extra": 1}

            {"image": "/abs/b.png", "captions": "single"}
            """)
        let dataset = try JSONLinesDataset(path: path, imageRoot: "/root")
        #expect(dataset.count == 2)
        #expect(try dataset.sample(at: 0).captions == ["one", "two", "three"])
        #expect(try dataset.sample(at: 0).image.path == "/root/a.jpg")
        #expect(try dataset.sample(at: 1).captions == ["single"] && dataset.sample(at: 1).image.path == "/abs/b.png")
        let custom = try dir.write("c.jsonl", #"{"url": "x.webp", "texts": ["t"]}"# + "\n")
        let customDataset = try JSONLinesDataset(path: custom, imageKey: "url", captionsKey: "texts")
        #expect(try customDataset.sample(at: 0).image.format == .webp)
    }

    @Test func errorsNameLineAndKey() throws {
        let dir = try TemporaryDirectory()
        let cases: [(String, Int, String?)] = [
            (#"{"image": "a.jpg", "captions": ["x"]}"# + "\n{broken\n", 2, nil),
            (#"{"captions": ["x"]}"#, 1, "image"),
            (#"{"image": "a.jpg"}"#, 1, "captions"),
            (#"{"image": "a.jpg", "captions": []}"#, 1, "captions"),
            (#"{"image": "a.jpg", "captions": ["ok", 3]}"#, 1, "captions[1]"),
            (#"{"image": 5, "captions": ["x"]}"#, 1, "image"),
            ("[1, 2]", 1, nil),
        ]
        for (index, (text, line, field)) in cases.enumerated() {
            let path = try dir.write("bad\(index).jsonl", text)
            let error = expectDataError(.malformed) { _ = try JSONLinesDataset(path: path) }
            #expect(error?.file == path && error?.line == line && error?.field == field, "case \(index): \(String(describing: error))")
        }
    }
}

@Suite struct BraceExpansionTests {
    @Test func rangesListsAndProducts() throws {
        #expect(try BraceExpansion.expand("shard-{000..003}.tar") == ["shard-000.tar", "shard-001.tar", "shard-002.tar", "shard-003.tar"])
        #expect(try BraceExpansion.expand("s-{8..11}") == ["s-8", "s-9", "s-10", "s-11"])
        #expect(try BraceExpansion.expand("s-{08..11}") == ["s-08", "s-09", "s-10", "s-11"])
        #expect(try BraceExpansion.expand("{3..1}") == ["3", "2", "1"])
        #expect(try BraceExpansion.expand("{0..10..5}") == ["0", "5", "10"])
        #expect(try BraceExpansion.expand("{a..c}") == ["a", "b", "c"])
        #expect(try BraceExpansion.expand("{train,val}/{0..1}.tar") == ["train/0.tar", "train/1.tar", "val/0.tar", "val/1.tar"])
        #expect(try BraceExpansion.expand("x{a,b{1..2},}y") == ["xay", "xb1y", "xb2y", "xy"])
        #expect(try BraceExpansion.expand("plain.tar") == ["plain.tar"])
        #expect(try BraceExpansion.expand("lit{}{x}") == ["lit{}{x}"])
        #expect(try BraceExpansion.expand(#"esc\{a,b\}"#) == ["esc{a,b}"])
        #expect(try BraceExpansion.expandShardList("a-{0..1}.tar::b.tar") == ["a-0.tar", "a-1.tar", "b.tar"])
    }

    @Test func errors() throws {
        let open = expectDataError(.malformed) { _ = try BraceExpansion.expand("shard-{000..009.tar") }
        #expect(open?.file == "shard-{000..009.tar")
        expectDataError(.malformed) { _ = try BraceExpansion.expand("shard-}") }
        expectDataError(.unsupported) { _ = try BraceExpansion.expand("{0..999}{0..999}{0..9}") }
    }
}

@Suite struct COCOTests {
    @Test func val2017CaptionsGroupByImage() throws {
        guard let path = sharedData("coco/coco_val2017_captions.tsv.gz") else { return }
        let coco = try COCOCaptions(path: path)
        #expect(coco.captionCount == 25_014)
        #expect(coco.count == 5_000)
        #expect(coco.images.allSatisfy { $0.captions.count >= 5 && $0.captions.count == $0.captionIDs.count })
        #expect(coco.images.reduce(0) { $0 + $1.captions.count } == 25_014)
        let first = try #require(coco.captions(forImageID: 139))
        #expect(first.count == 5 && first[0] == "A woman stands in the dining area at the table.")
        #expect(coco.images[0].fileName == "000000000139.jpg")
        #expect(coco.captions(forImageID: -1) == nil)
        expectDataError(.unsupported) { _ = try coco.sample(at: 0) }  // no image directory
        let withImages = try COCOCaptions(path: path, imageDirectory: "/coco/val2017")
        #expect(try withImages.sample(at: 0).image.path == "/coco/val2017/000000000139.jpg")
        #expect(try withImages.sample(at: 0).key == "139")
    }

    @Test func captionsFileErrors() throws {
        let dir = try TemporaryDirectory()
        let header = try dir.write("h.tsv", "image_id\tcaption_id\tcaption\n1\t10\ta \"quoted\" caption\n1\t11\tb\n")
        let coco = try COCOCaptions(path: header)
        #expect(coco.count == 1 && coco.images[0].captions == ["a \"quoted\" caption", "b"] && coco.images[0].captionIDs == [10, 11])
        let bad = try dir.write("b.tsv", "1\t10\tok\nx\t11\tbad id\n")
        let error = expectDataError(.malformed) { _ = try COCOCaptions(path: bad) }
        #expect(error?.line == 2 && error?.field == "image_id")
        let short = try dir.write("s.tsv", "1\t10\n")
        #expect(expectDataError(.malformed) { _ = try COCOCaptions(path: short) }?.line == 1)
    }

    @Test func miniFolderHas51ImagesWith5CaptionsEach() throws {
        guard let mini = sharedData("coco/mini") else { return }
        let dataset = try COCOMiniDataset(directory: mini)
        #expect(dataset.count == 51)
        let samples = try dataset.allSamples()
        #expect(samples.allSatisfy { $0.captions.count == 5 })
        #expect(samples.allSatisfy { FileManager.default.fileExists(atPath: $0.image.path ?? "") && $0.image.format == .jpeg })
        #expect(Set(samples.map(\.key)).count == 51)
        let first = samples[0]
        #expect(first.key == "images/000000159269.jpg")
        #expect(first.captions[1] == "Patio furniture is set up near the water.")
        // A caption with a raw newline in the file stays one caption.
        let pizza = try #require(samples.first { $0.key == "images/000000359219.jpg" })
        #expect(pizza.captions[1] == "Two pizza pies sitting atop a stove getting ready to be cut\n.")
    }

    @Test func miniFolderErrors() throws {
        let dir = try TemporaryDirectory()
        try dir.write("images/a.jpg", [0xFF, 0xD8])
        try dir.write("captions.tsv", "filepath\tcaption_index\tcaption\nimages/a.jpg\t0\tx\nimages/missing.jpg\t0\ty\n")
        let missing = expectDataError(.unreadable) { _ = try COCOMiniDataset(directory: dir.path) }
        #expect(missing?.line == 3 && missing?.field == "filepath")
        try dir.write("captions.tsv", "filepath\tcaption_index\tcaption\nimages/a.jpg\t0\tx\nimages/a.jpg\t0\ty\n")
        #expect(expectDataError(.malformed) { _ = try COCOMiniDataset(directory: dir.path) }?.field == "caption_index")
        try dir.write("captions.tsv", "filepath\tcaption\n")
        #expect(expectDataError(.malformed) { _ = try COCOMiniDataset(directory: dir.path) }?.field == "caption_index")
        try dir.write("captions.tsv", "filepath\tcaption_index\tcaption\nimages/a.jpg\t1\tsecond\nimages/a.jpg\t0\tfirst\n")
        #expect(try COCOMiniDataset(directory: dir.path).sample(at: 0).captions == ["first", "second"])
    }
}
