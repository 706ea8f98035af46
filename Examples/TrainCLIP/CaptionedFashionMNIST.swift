import Foundation
import LaCLIP

/// The built-in training data: Fashion-MNIST images with alt-text-style captions and, when present,
/// LLM rewrites of those captions in LaCLIP's format (`Data/fashion-mnist/`).
struct CaptionedFashionMNIST {
    /// Class names as the captions spell them (used for zero-shot prompts).
    static let promptClassNames = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
    /// Fashion-MNIST's mean and standard deviation of pixel values in [0, 1].
    static let mean: Float = 0.2860, standardDeviation: Float = 0.3530

    let images: FashionMNIST
    /// The caption list (8 per class) and each caption's rewrites (M per caption, possibly 0).
    let captions: [String]
    let rewrites: [[String]]
    let captionsPerClass: Int

    /// Loads the images of `split`, `captions.txt` and up to `maximumRewrites` files `rewrite_1.txt`, ... .
    init(split: FashionMNIST.Split, captionDirectory: String, maximumRewrites: Int = .max) throws {
        images = try FashionMNIST(split: split)
        let folder = URL(fileURLWithPath: captionDirectory)
        captions = try Self.lines(folder.appendingPathComponent("captions.txt"))
        guard captions.count % 10 == 0, !captions.isEmpty else {
            throw DataError(.malformed, file: folder.appendingPathComponent("captions.txt").path, "expected the same number of captions for each of the 10 classes, found \(captions.count)")
        }
        captionsPerClass = captions.count / 10
        var files: [[String]] = []
        for m in 1... {
            let url = folder.appendingPathComponent("rewrite_\(m).txt")
            guard m <= maximumRewrites, FileManager.default.fileExists(atPath: url.path) else { break }
            let lines = try Self.lines(url)
            guard lines.count == captions.count else {
                throw DataError(.mismatch, file: url.path, "\(lines.count) rewrites for \(captions.count) captions in captions.txt")
            }
            files.append(lines)
        }
        rewrites = captions.indices.map { i in files.map { $0[i] } }
    }

    static func lines(_ url: URL) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw DataError(.unreadable, file: url.path, "cannot read file") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    var count: Int { images.count }
    var rewriteCount: Int { rewrites.first?.count ?? 0 }

    /// The caption index of image `i`: one of its class's captions, fixed per image.
    func captionIndex(of i: Int) -> Int { images.label(at: i) * captionsPerClass + i % captionsPerClass }

    /// Normalised images [B, 3, 28, 28]; with `shift`, each image moves by up to ±2 pixels (zero-padded),
    /// drawn from `generator` - the image augmentation.
    func imageBatch(_ indices: [Int], shift: Bool, generator: inout RandomGenerator) -> Tensor<Float> {
        let side = FashionMNIST.rows, plane = side * side
        let batch = Tensor<Float>(uninitializedShape: [indices.count, 3, side, side])
        let out = batch.storage.pointer
        let background = -Self.mean / Self.standardDeviation
        for (b, index) in indices.enumerated() {
            let pixels = images.image(at: index)
            let dx = shift ? Int(generator.next() % 5) - 2 : 0, dy = shift ? Int(generator.next() % 5) - 2 : 0
            let base = out + b * 3 * plane
            for y in 0..<side {
                for x in 0..<side {
                    let sy = y + dy, sx = x + dx
                    let value = (sy >= 0 && sy < side && sx >= 0 && sx < side)
                        ? (Float(pixels[pixels.startIndex + sy * side + sx]) / 255 - Self.mean) / Self.standardDeviation
                        : background
                    base[y * side + x] = value
                    base[plane + y * side + x] = value
                    base[2 * plane + y * side + x] = value
                }
            }
        }
        return batch
    }
}
