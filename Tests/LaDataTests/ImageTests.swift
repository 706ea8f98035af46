import Foundation
import LaTensor
import Testing

@testable import LaData

// Image decoding (libjpeg-turbo, libpng) and augmentation against Pillow / torchvision.
// Fixtures and reference values: Resources/make_image_reference.py (tiny generated PNG/JPEG files in
// Resources/images, image_decode_reference.json, image_resize_reference.json). The COCO mini set lives in
// ../shared/data/coco/mini beside the repository root.

private let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
private let resources = testsDirectory.appendingPathComponent("Resources")
private let fixtureDirectory = resources.appendingPathComponent("images")
private let cocoMiniDirectory = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/data/coco/mini")
private let cocoAvailable = FileManager.default.fileExists(atPath: cocoMiniDirectory.appendingPathComponent("images").path)

private struct DecodeReference: Decodable {
    struct Fixture: Decodable {
        let file: String
        let width: Int
        let height: Int
        let note: String
        let rgb: [UInt8]
    }
    struct Coco: Decodable {
        let file: String
        let width: Int
        let height: Int
        let mode: String
        let sums: [Int]
    }
    let fixtures: [Fixture]
    let coco_mini: [Coco]
}

private struct ResizeReference: Decodable {
    struct Case: Decodable {
        let name: String
        let source: String
        let op: String
        let width: Int
        let height: Int
        let filter: String?
        let antialias: Bool?
        let region: [Int]?
        let size: Int?
        let crop: [Int]?
        let values: [Float]?
        let levels: [Int]?
    }
    let input: String
    let cases: [Case]
}

private func loadJSON<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: resources.appendingPathComponent(name)))
}

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-image-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The size in a JPEG's SOFn segment, read independently of libjpeg.
private func jpegHeaderSize(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
    var i = 2
    while i + 9 < bytes.count {
        guard bytes[i] == 0xFF else { return nil }
        let marker = bytes[i + 1]
        if marker == 0xFF { i += 1; continue }
        let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
        if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
            return (Int(bytes[i + 7]) << 8 | Int(bytes[i + 8]), Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]))
        }
        i += 2 + length
    }
    return nil
}

/// Asserts that `body` throws a `DataError` naming `file` of one of `kinds`.
private func expectDataError(
    file: String, kinds: [DataError.Kind], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected a DataError for \(file)", sourceLocation: sourceLocation)
    } catch let error as DataError {
        #expect(error.file == file, "\(error)", sourceLocation: sourceLocation)
        #expect(kinds.contains(error.kind), "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains(file), sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a DataError, got \(error)", sourceLocation: sourceLocation)
    }
}

private func meanAbsoluteDifference(_ a: [Float], _ b: [Float]) -> (mean: Float, max: Float) {
    precondition(a.count == b.count)
    var total: Float = 0, largest: Float = 0
    for (x, y) in zip(a, b) {
        total += abs(x - y)
        largest = max(largest, abs(x - y))
    }
    return (total / Float(max(a.count, 1)), largest)
}

@Suite("Image decoding")
struct ImageDecodingTests {
    @Test("every coco/mini JPEG decodes to its header size and Pillow's pixels", .enabled(if: cocoAvailable))
    func decodesCocoMini() throws {
        let reference = try loadJSON("image_decode_reference.json", as: DecodeReference.self)
        let files = try FileManager.default.contentsOfDirectory(atPath: cocoMiniDirectory.appendingPathComponent("images").path)
            .filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(files.count == 51)
        #expect(reference.coco_mini.map(\.file) == files)
        var exact = 0
        for entry in reference.coco_mini {
            let path = cocoMiniDirectory.appendingPathComponent("images/\(entry.file)").path
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let header = try #require(jpegHeaderSize(bytes), "no SOF in \(entry.file)")
            let image = try ImageDecoder.decode(path: path)
            #expect(image.width == header.width && image.height == header.height, "\(entry.file)")
            #expect(image.width == entry.width && image.height == entry.height, "\(entry.file)")
            let info = try ImageDecoder.info(path: path)
            #expect(info.width == entry.width && info.height == entry.height && info.format == .jpeg)
            #expect(info.channels == (entry.mode == "L" ? 1 : 3), "\(entry.file) is \(entry.mode)")
            var sums = [0, 0, 0]
            image.pixels.withUnsafeBufferPointer { p in
                var r = 0, g = 0, b = 0
                var i = 0
                while i < p.count {
                    r &+= Int(p[i])
                    g &+= Int(p[i + 1])
                    b &+= Int(p[i + 2])
                    i &+= 3
                }
                sums = [r, g, b]
            }
            if sums == entry.sums { exact += 1 }
            let pixels = Double(image.width * image.height)
            for c in 0..<3 {
                // Same IDCT (ISLOW) and upsampling as Pillow's libjpeg-turbo: channel means agree to 1/100 level.
                #expect(abs(Double(sums[c] - entry.sums[c])) / pixels < 0.01, "\(entry.file) channel \(c)")
            }
        }
        #expect(exact == reference.coco_mini.count, "\(exact) of \(reference.coco_mini.count) images bit-exact with Pillow")
    }

    @Test("generated PNG and JPEG fixtures decode to PIL's convert(\"RGB\")")
    func fixtures() throws {
        let reference = try loadJSON("image_decode_reference.json", as: DecodeReference.self)
        #expect(reference.fixtures.count >= 12)
        for fixture in reference.fixtures {
            let path = fixtureDirectory.appendingPathComponent(fixture.file).path
            let image = try ImageDecoder.decode(path: path)
            #expect(image.width == fixture.width && image.height == fixture.height, "\(fixture.file)")
            let largest = zip(image.pixels, fixture.rgb).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(image.pixels.count == fixture.rgb.count && largest == 0, "\(fixture.file) (\(fixture.note)): max diff \(largest)")
            // The same bytes from memory decode identically.
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(try ImageDecoder.decode(bytes: bytes, name: fixture.file) == image)
            let info = try ImageDecoder.info(bytes: bytes, name: fixture.file)
            #expect(info.width == fixture.width && info.height == fixture.height)
        }
        let gray = try ImageDecoder.info(path: fixtureDirectory.appendingPathComponent("gray16.png").path)
        #expect(gray.channels == 1 && gray.bitDepth == 16 && gray.format == .png)
        let rgba = try ImageDecoder.info(path: fixtureDirectory.appendingPathComponent("rgba.png").path)
        #expect(rgba.channels == 4 && rgba.bitDepth == 8)
        let cmyk = try ImageDecoder.info(path: fixtureDirectory.appendingPathComponent("cmyk.jpg").path)
        #expect(cmyk.channels == 4 && cmyk.format == .jpeg)
    }

    @Test("decoded tensors are [3, H, W] in [0, 1] with gray replicated")
    func tensors() throws {
        let tensor = try ImageDecoder.tensor(path: fixtureDirectory.appendingPathComponent("gray8.png").path)
        #expect(tensor.shape == [3, 5, 7])
        let image = FloatImage(tensor)
        let rgb = try ImageDecoder.decode(path: fixtureDirectory.appendingPathComponent("gray8.png").path)
        for y in 0..<5 {
            for x in 0..<7 {
                let expected = Float(rgb[x, y, 0]) / 255
                #expect(image[x, y, 0] == expected && image[x, y, 1] == expected && image[x, y, 2] == expected)
            }
        }
        #expect(image.pixels.allSatisfy { (0...1).contains($0) })
    }

    @Test("truncated, corrupt, empty, non-image and missing files throw DataError naming the file")
    func failures() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let jpeg = [UInt8](try Data(contentsOf: fixtureDirectory.appendingPathComponent("progressive.jpg")))
        let png = [UInt8](try Data(contentsOf: fixtureDirectory.appendingPathComponent("ref_input.png")))
        var baseline = [UInt8](try Data(contentsOf: fixtureDirectory.appendingPathComponent("gray.jpg")))
        if cocoAvailable {
            let name = try FileManager.default.contentsOfDirectory(atPath: cocoMiniDirectory.appendingPathComponent("images").path)
                .filter { $0.hasSuffix(".jpg") }.sorted()[0]
            baseline = [UInt8](try Data(contentsOf: cocoMiniDirectory.appendingPathComponent("images/\(name)")))
        }
        var corruptJPEG = baseline
        // Overwrite the frame header (SOF) and everything after the first few hundred bytes' markers.
        if let sof = (2..<corruptJPEG.count - 1).first(where: { corruptJPEG[$0] == 0xFF && corruptJPEG[$0 + 1] == 0xC0 }) {
            for i in sof + 4..<min(sof + 12, corruptJPEG.count) { corruptJPEG[i] = 0 }
        }
        var corruptPNG = png
        for i in 40..<min(200, corruptPNG.count) { corruptPNG[i] ^= 0x5A }  // breaks IDAT's CRC / zlib stream
        let cases: [(String, [UInt8], [DataError.Kind])] = [
            ("truncated.jpg", Array(baseline.prefix(baseline.count / 2)), [.truncated]),
            ("truncated_progressive.jpg", Array(jpeg.prefix(jpeg.count * 2 / 3)), [.truncated]),
            ("header_only.jpg", Array(baseline.prefix(100)), [.truncated]),
            ("truncated.png", Array(png.prefix(png.count / 2)), [.truncated]),
            ("signature_only.png", Array(png.prefix(8)), [.truncated]),
            ("corrupt.jpg", corruptJPEG, [.malformed, .unsupported]),
            ("corrupt.png", corruptPNG, [.malformed]),
            ("empty.jpg", [], [.truncated]),
            ("notes.txt.jpg", Array("this is not an image\n".utf8), [.malformed]),
            ("fake.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 7, count: 64), [.malformed]),
        ]
        for (name, bytes, kinds) in cases {
            let path = directory.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            expectDataError(file: path, kinds: kinds) { _ = try ImageDecoder.decode(path: path) }
            expectDataError(file: "shard.tar:\(name)", kinds: kinds) {
                _ = try ImageDecoder.decode(bytes: bytes, name: "shard.tar:\(name)")
            }
        }
        let missing = directory.appendingPathComponent("missing.jpg").path
        expectDataError(file: missing, kinds: [.unreadable]) { _ = try ImageDecoder.decode(path: missing) }
        expectDataError(file: missing, kinds: [.unreadable]) { _ = try ImageDecoder.info(path: missing) }
        let empty = directory.appendingPathComponent("empty.jpg").path
        expectDataError(file: empty, kinds: [.truncated]) { _ = try ImageDecoder.info(path: empty) }
        var generator = RandomGenerator(seed: 1)
        expectDataError(file: empty, kinds: [.truncated]) {
            _ = try ImagePipeline.eval(size: 8).tensor(path: empty, generator: &generator)
        }
    }
}

@Suite("Image resizing and transforms")
struct ImageTransformTests {
    private static func input() throws -> RGBImage {
        try ImageDecoder.decode(path: fixtureDirectory.appendingPathComponent("ref_input.png").path)
    }

    @Test("resize, crop+resize and Resize(shorter side) match torchvision (float) and Pillow (8-bit)")
    func resizeReference() throws {
        let reference = try loadJSON("image_resize_reference.json", as: ResizeReference.self)
        let image = try Self.input()
        #expect(image.width == 32 && image.height == 24)
        var checked = 0
        for c in reference.cases where c.op == "resize" || c.op == "shorter_side" {
            let filter = try #require(ResizeFilter(rawValue: c.filter ?? ""))
            let output: FloatImage
            if c.op == "shorter_side" {
                let resize = Resize(c.size!, filter: filter)
                #expect(resize.outputSize(width: 32, height: 24) == (c.width, c.height))
                var generator = RandomGenerator(seed: 0)
                output = resize.apply(.rgb8(image), generator: &generator).floatImage
            } else {
                let region = c.region.map { ImageRegion(x: $0[0], y: $0[1], width: $0[2], height: $0[3]) }
                output = ImageResampler.resize(
                    image, width: c.width, height: c.height, region: region, filter: filter, antialias: c.antialias ?? true)
            }
            #expect(output.width == c.width && output.height == c.height, "\(c.name)")
            let (mean, largest) = meanAbsoluteDifference(output.pixels, c.values!)
            if c.source == "torch" {
                // Same coefficients, both in Float32: only rounding differs.
                #expect(largest < 2e-5, "\(c.name): max abs diff \(largest)")
            } else {
                // Pillow quantises (and clips) to 8 bits after each pass with fixed-point weights: under half a
                // level on average; single samples differ by up to ~5 levels where bicubic overshoots.
                #expect(mean < 0.5 / 255 && largest <= 6 / 255, "\(c.name): mean \(mean * 255)/255, max \(largest * 255)/255")
            }
            checked += 1
        }
        #expect(checked == 9)
    }

    @Test("a float image resizes like the same 8-bit image")
    func floatInput() throws {
        let image = try Self.input()
        let a = ImageResampler.resize(image, width: 13, height: 10, filter: .bilinear)
        let b = ImageResampler.resize(image.toFloat(), width: 13, height: 10, filter: .bilinear)
        #expect(meanAbsoluteDifference(a.pixels, b.pixels).max < 1e-6)
        let same = ImageResampler.resize(image, width: 32, height: 24, filter: .bicubic)
        #expect(meanAbsoluteDifference(same.pixels, image.toFloat().pixels).max < 1e-6)
    }

    @Test("CenterCrop matches torchvision (half-to-even offsets, zero padding)")
    func centerCrop() throws {
        let reference = try loadJSON("image_resize_reference.json", as: ResizeReference.self)
        let image = try Self.input()
        var generator = RandomGenerator(seed: 0)
        var checked = 0
        for c in reference.cases where c.op == "center_crop" {
            let crop = CenterCrop(width: c.crop![0], height: c.crop![1])
            let levels = c.levels!.map { Float($0) / 255 }
            let fromBytes = crop.apply(.rgb8(image), generator: &generator).floatImage
            let fromFloats = crop.apply(.float(image.toFloat()), generator: &generator).floatImage
            #expect(fromBytes.width == c.width && fromBytes.height == c.height)
            #expect(meanAbsoluteDifference(fromBytes.pixels, levels).max < 1e-6, "\(c.name)")
            #expect(fromFloats == fromBytes, "\(c.name)")
            checked += 1
        }
        #expect(checked == 2)
        #expect(CenterCrop(15).region(imageWidth: 32, imageHeight: 24) == ImageRegion(x: 8, y: 4, width: 15, height: 15))
    }

    @Test("the eval pipeline matches open_clip's (Pillow) transform within a level")
    func evalPipeline() throws {
        let reference = try loadJSON("image_resize_reference.json", as: ResizeReference.self)
        let c = try #require(reference.cases.first { $0.op == "eval_pipeline" })
        var generator = RandomGenerator(seed: 0)
        let tensor = ImagePipeline.eval(size: c.size!).tensor(try Self.input(), generator: &generator)
        #expect(tensor.shape == [3, c.size!, c.size!])
        let (mean, largest) = meanAbsoluteDifference(FloatImage(tensor).pixels, c.values!)
        // Normalised units: one 8-bit level is 1 / (255 * std) ≈ 0.0146.
        #expect(mean < 0.5 / 255 / 0.26 && largest < 6 / 255 / 0.26, "mean \(mean), max \(largest)")
    }

    @Test("RandomResizedCrop is deterministic per seed and respects scale and ratio bounds")
    func randomResizedCrop() throws {
        let scale = 0.5...1.0, ratio = (3.0 / 4.0)...(4.0 / 3.0)
        var a = RandomGenerator(seed: 7), b = RandomGenerator(seed: 7)
        var c = RandomGenerator(seed: 8)
        var regions = Set<ImageRegion>()
        var different = 0, fallbacks = 0
        for (width, height) in [(640, 480), (480, 640), (500, 500), (400, 700)] {
            for _ in 0..<2000 {
                let r = RandomResizedCrop.sampleRegion(
                    imageWidth: width, imageHeight: height, scale: scale, ratio: ratio, generator: &a)
                let s = RandomResizedCrop.sampleRegion(
                    imageWidth: width, imageHeight: height, scale: scale, ratio: ratio, generator: &b)
                let t = RandomResizedCrop.sampleRegion(
                    imageWidth: width, imageHeight: height, scale: scale, ratio: ratio, generator: &c)
                #expect(r == s)
                if r != t { different += 1 }
                regions.insert(r)
                #expect(r.x >= 0 && r.y >= 0 && r.x + r.width <= width && r.y + r.height <= height)
                if width == 400 && r == ImageRegion(x: 0, y: 83, width: 400, height: 533) {
                    fallbacks += 1  // torchvision's fallback: 10 rejected draws, then a 3:4 center crop
                    continue
                }
                let area = Double(r.width * r.height) / Double(width * height)
                let aspect = Double(r.width) / Double(r.height)
                // Sides are rounded to whole pixels, so the bounds hold up to that rounding.
                let slack = 2.5 / Double(min(r.width, r.height))
                #expect(area >= scale.lowerBound * (1 - 2 * slack) && area <= 1)
                #expect(aspect >= ratio.lowerBound * (1 - slack) && aspect <= ratio.upperBound * (1 + slack))
            }
        }
        #expect(fallbacks > 0 && fallbacks < 1500)
        #expect(different > 8000 - fallbacks - 100)
        #expect(regions.count > 6000)
        // An image far outside the ratio range falls back to a center crop at the extreme ratio.
        var g = RandomGenerator(seed: 1)
        let fallback = RandomResizedCrop.sampleRegion(
            imageWidth: 1000, imageHeight: 10, scale: 0.9...1.0, ratio: ratio, generator: &g)
        #expect(fallback == ImageRegion(x: 493, y: 0, width: 13, height: 10))
        // The transform itself: same seed, same tensor.
        let image = try Self.input()
        var s1 = RandomGenerator(seed: 3), s2 = RandomGenerator(seed: 3)
        let crop = RandomResizedCrop(16)
        let x = crop.apply(.rgb8(image), generator: &s1)
        let y = crop.apply(.rgb8(image), generator: &s2)
        #expect(x == y && x.width == 16 && x.height == 16)
        #expect(s1 == s2)
    }

    @Test("RandomResizedCrop equals an explicit crop then resize")
    func fusedCrop() throws {
        let image = try Self.input()
        var generator = RandomGenerator(seed: 11)
        var copy = generator
        let region = RandomResizedCrop.sampleRegion(
            imageWidth: 32, imageHeight: 24, scale: 0.5...1.0, ratio: (3.0 / 4.0)...(4.0 / 3.0), generator: &copy)
        let fused = RandomResizedCrop(20, filter: .bilinear).apply(.rgb8(image), generator: &generator).floatImage
        let explicit = ImageResampler.resize(image.cropped(to: region), width: 20, height: 20, filter: .bilinear)
        #expect(meanAbsoluteDifference(fused.pixels, explicit.pixels).max < 1e-6)
    }

    @Test("horizontal flip mirrors columns; the random flip follows its probability")
    func flip() throws {
        let image = try Self.input()
        let flipped = image.horizontallyFlipped()
        #expect(flipped[0, 3, 1] == image[31, 3, 1] && flipped[31, 5, 2] == image[0, 5, 2])
        #expect(flipped.horizontallyFlipped() == image)
        let float = image.toFloat().horizontallyFlipped()
        #expect(float == flipped.toFloat())
        var generator = RandomGenerator(seed: 5)
        #expect(RandomHorizontalFlip(probability: 1).apply(.rgb8(image), generator: &generator) == .rgb8(flipped))
        #expect(RandomHorizontalFlip(probability: 0).apply(.rgb8(image), generator: &generator) == .rgb8(image))
        let tiny = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255])
        var flips = 0
        for _ in 0..<4000 {
            if RandomHorizontalFlip().apply(.rgb8(tiny), generator: &generator) != .rgb8(tiny) { flips += 1 }
        }
        #expect(abs(flips - 2000) < 150)
    }

    @Test("normalisation uses the OpenAI CLIP and ImageNet statistics")
    func normalize() throws {
        let image = try Self.input()
        var generator = RandomGenerator(seed: 0)
        let out = Normalize.openAI.apply(.rgb8(image), generator: &generator).floatImage
        let mean: [Float] = [0.48145466, 0.4578275, 0.40821073], std: [Float] = [0.26862954, 0.26130258, 0.27577711]
        for (x, y, c) in [(0, 0, 0), (5, 7, 1), (31, 23, 2)] {
            let expected = (Float(image[x, y, c]) / 255 - mean[c]) / std[c]
            #expect(abs(out[x, y, c] - expected) < 1e-5)
        }
        #expect(Normalize.imageNet.mean == [0.485, 0.456, 0.406] && Normalize.imageNet.std == [0.229, 0.224, 0.225])
    }

    @Test("train and eval pipelines produce [3, size, size] deterministically")
    func pipelines() throws {
        let image = try Self.input()
        let train = ImagePipeline.train(size: 20, horizontalFlip: true)
        var a = RandomGenerator(seed: 99), b = RandomGenerator(seed: 99)
        let x = train.tensor(image, generator: &a), y = train.tensor(image, generator: &b)
        #expect(x.shape == [3, 20, 20])
        #expect(FloatImage(x) == FloatImage(y))
        let z = train.tensor(image, generator: &a)
        #expect(FloatImage(x) != FloatImage(z))
        let bytes = [UInt8](try Data(contentsOf: fixtureDirectory.appendingPathComponent("ref_input.png")))
        var e = RandomGenerator(seed: 0)
        let eval = try ImagePipeline.eval(size: 20).tensor(bytes: bytes, name: "ref_input.png", generator: &e)
        #expect(eval.shape == [3, 20, 20])
        #expect(e == RandomGenerator(seed: 0))  // eval draws nothing
    }
}
