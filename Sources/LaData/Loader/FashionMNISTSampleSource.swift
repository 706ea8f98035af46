import LaTensor

/// The in-memory fast path for Fashion-MNIST, the built-in default data of the training example: no file
/// reading and no decoding. Each 28 × 28 `UInt8` image is resized (separable bilinear, PIL's and torchvision's
/// antialiased kernel, the same weights as `ImageResampler`) to `size` × `size`, optionally flipped, replicated
/// to 3 channels and normalised with `normalize`'s per-channel mean and std.
///
/// Captions come from the caller, aligned with the dataset: `captions[i]` is the list (original first, then
/// rewrites) of image `i` — typically built from the class name (`FashionMNIST.className(at:)`) and rewrites
/// of it, e.g. with `FashionMNISTSampleSource.classCaptions(_:templates:)`.
public struct FashionMNISTSampleSource: LoaderSampleSource {
    /// The images and labels.
    public let dataset: FashionMNIST
    /// The captions of every image, original first.
    public let captionLists: [[String]]
    /// The output side length.
    public let size: Int
    /// The per-channel normalisation.
    public let normalize: Normalize
    /// The probability of a horizontal flip (0: never; drawn from the sample's generator).
    public let flipProbability: Double
    /// The largest random translation in output pixels (0: none): each read moves the image by
    /// `dx, dy ∈ -maximumShift ... maximumShift` (two draws from the sample's generator), filling with black.
    public let maximumShift: Int
    /// `[3, size, size]`.
    public let imageShape: [Int]
    private let weights: BilinearAxisWeights

    /// Creates the source.
    /// - Parameters:
    ///   - dataset: The Fashion-MNIST split.
    ///   - captions: One caption list per image (original first, then rewrites), aligned with `dataset`.
    ///   - size: The model's image size (e.g. 32).
    ///   - normalize: The per-channel normalisation (OpenAI CLIP statistics by default).
    ///   - flipProbability: The chance of a horizontal flip per read (0 by default).
    ///   - maximumShift: The largest random translation in output pixels (0 by default).
    /// - Throws: `DataError(.mismatch)` when there is not one caption list per image, `.malformed` for an
    ///   empty list, `.unsupported` for a size below 1 or a normalisation without 3 channels.
    public init(dataset: FashionMNIST, captions: [[String]], size: Int, normalize: Normalize = .openAI, flipProbability: Double = 0, maximumShift: Int = 0) throws {
        guard captions.count == dataset.count else {
            throw DataError(.mismatch, file: "Fashion-MNIST captions", field: "count",
                            "\(captions.count) caption lists for \(dataset.count) images")
        }
        if let empty = captions.firstIndex(where: \.isEmpty) {
            throw DataError(.malformed, file: "Fashion-MNIST captions", line: empty + 1, field: "captions", "image \(empty) has no caption")
        }
        guard size >= 1 else {
            throw DataError(.unsupported, file: "Fashion-MNIST", field: "size", "the image size must be ≥ 1, got \(size)")
        }
        guard normalize.mean.count == 3, normalize.std.count == 3 else {
            throw DataError(.unsupported, file: "Fashion-MNIST", field: "normalize", "the normalisation must have 3 channels")
        }
        self.dataset = dataset
        self.captionLists = captions
        self.size = size
        self.normalize = normalize
        guard maximumShift >= 0, maximumShift < size else {
            throw DataError(.unsupported, file: "Fashion-MNIST", field: "maximumShift", "must be in 0 ..< \(size), got \(maximumShift)")
        }
        self.flipProbability = flipProbability
        self.maximumShift = maximumShift
        self.imageShape = [3, size, size]
        self.weights = BilinearAxisWeights(inputSize: FashionMNIST.rows, outputSize: size)
    }

    /// Caption lists for every image built from its class name: one caption per template, `{}` replaced by
    /// the lower-cased class name (the first template is the "original", the others its rewrites).
    /// - Parameters:
    ///   - dataset: The Fashion-MNIST split.
    ///   - templates: Templates such as `"a photo of a {}."`; at least one.
    public static func classCaptions(_ dataset: FashionMNIST, templates: [String]) -> [[String]] {
        let perClass = FashionMNIST.classNames.map { name in
            templates.map { $0.replacingOccurrences(of: "{}", with: name.lowercased()) }
        }
        return (0..<dataset.count).map { perClass[dataset.label(at: $0)] }
    }

    /// The number of images.
    public var count: Int { dataset.count }

    /// The captions of image `index`.
    /// - Parameter index: An image in `0 ..< count`.
    public func captions(at index: Int) throws -> [String] { captionLists[index] }

    /// `Fashion-MNIST[index]`.
    /// - Parameter index: An image in `0 ..< count`.
    public func sampleName(at index: Int) -> String { "Fashion-MNIST[\(index)]" }

    /// Resizes, (maybe) flips, replicates and normalises image `index` into `destination`.
    /// - Parameters:
    ///   - index: An image in `0 ..< count`.
    ///   - generator: The sample's generator (one draw when `flipProbability > 0`).
    ///   - destination: Room for `3 × size × size` floats.
    public func writeImage(at index: Int, generator: inout RandomGenerator, into destination: UnsafeMutablePointer<Float>) throws {
        try checkDatasetIndex(index, count: count, file: "Fashion-MNIST")
        var flip = false
        if flipProbability > 0 { flip = Double.random(in: 0..<1, using: &generator) < flipProbability }
        var dx = 0, dy = 0
        if maximumShift > 0 {
            let span = UInt64(2 * maximumShift + 1)
            dx = Int(generator.next() % span) - maximumShift
            dy = Int(generator.next() % span) - maximumShift
        }
        let side = FashionMNIST.rows
        let size = self.size
        let plane = size * size
        dataset.pixels.withUnsafeBufferPointer { all in
            let source = all.baseAddress! + index * side * side
            // Horizontal pass into the first plane (28 rows × size), then vertical pass per output row.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: side * size) { scratch in
                let h = scratch.baseAddress!
                weights.apply(rows: side, input: { row, x in Float(source[row * side + x]) }, into: h, scale: 1 / 255)
                let m0 = normalize.mean[0], m1 = normalize.mean[1], m2 = normalize.mean[2]
                let s0 = 1 / normalize.std[0], s1 = 1 / normalize.std[1], s2 = 1 / normalize.std[2]
                weights.weights.withUnsafeBufferPointer { w in
                    for y in 0..<size {
                        let start = weights.starts[y], taps = weights.counts[y]
                        let k = w.baseAddress! + y * weights.taps
                        for x in 0..<size {
                            var v: Float = 0
                            for t in 0..<taps { v += k[t] * h[(start + t) * size + x] }
                            let out = y * size + (flip ? size - 1 - x : x)
                            destination[out] = (v - m0) * s0
                            destination[plane + out] = (v - m1) * s1
                            destination[2 * plane + out] = (v - m2) * s2
                        }
                    }
                }
            }
        }
        if dx != 0 || dy != 0 { shift(destination, dx: dx, dy: dy) }
    }

    /// Moves the three planes by `(dx, dy)` in place: output pixel (x, y) takes input (x + dx, y + dy), pixels
    /// from outside are black (normalised 0).
    private func shift(_ image: UnsafeMutablePointer<Float>, dx: Int, dy: Int) {
        let size = self.size, plane = size * size
        withUnsafeTemporaryAllocation(of: Float.self, capacity: plane) { scratch in
            let copy = scratch.baseAddress!
            for channel in 0..<3 {
                let base = image + channel * plane
                copy.update(from: base, count: plane)
                let black = -normalize.mean[channel] / normalize.std[channel]
                for y in 0..<size {
                    let sy = y + dy
                    for x in 0..<size {
                        let sx = x + dx
                        base[y * size + x] = (sy >= 0 && sy < size && sx >= 0 && sx < size) ? copy[sy * size + sx] : black
                    }
                }
            }
        }
    }
}

/// The taps of a separable bilinear (triangle) resize along one axis, computed as PIL's `precompute_coeffs`
/// with antialiasing (the kernel widened by the scale when downscaling) — the same weights `ImageResampler`
/// uses for `.bilinear`.
struct BilinearAxisWeights: Sendable {
    /// The first input of each output.
    let starts: [Int]
    /// The number of inputs of each output.
    let counts: [Int]
    /// `outputSize × taps` weights (the first `counts[i]` of row `i` used).
    let weights: [Float]
    /// The row length of `weights`.
    let taps: Int
    /// The output length.
    let outputSize: Int

    init(inputSize: Int, outputSize: Int) {
        self.outputSize = outputSize
        if inputSize == outputSize {
            starts = Array(0..<outputSize)
            counts = Array(repeating: 1, count: outputSize)
            weights = Array(repeating: 1, count: outputSize)
            taps = 1
            return
        }
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = ResizeFilter.bilinear.support * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](repeating: 0, count: outputSize)
        var counts = [Int](repeating: 0, count: outputSize)
        var weights = [Float](repeating: 0, count: outputSize * taps)
        for i in 0..<outputSize {
            let center = (Double(i) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0)
            let count = min(min(Int(center + support + 0.5), inputSize) - first, taps)
            var kernel = [Double](repeating: 0, count: max(count, 0))
            var total = 0.0
            for t in 0..<max(count, 0) {
                let w = ResizeFilter.bilinear.weight((Double(t + first) - center + 0.5) / filterScale)
                kernel[t] = w
                total += w
            }
            let norm = total != 0 ? 1 / total : 0
            for t in 0..<max(count, 0) { weights[i * taps + t] = Float(kernel[t] * norm) }
            starts[i] = first
            counts[i] = max(count, 0)
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
        self.taps = taps
    }

    /// Resamples `rows` rows along this axis: `output[row * outputSize + i] = scale × Σ w · input(row, x)`.
    @inline(__always)
    func apply(rows: Int, input: (Int, Int) -> Float, into output: UnsafeMutablePointer<Float>, scale: Float) {
        weights.withUnsafeBufferPointer { w in
            for row in 0..<rows {
                for i in 0..<outputSize {
                    let k = w.baseAddress! + i * taps
                    var s: Float = 0
                    for t in 0..<counts[i] { s += k[t] * input(row, starts[i] + t) }
                    output[row * outputSize + i] = s * scale
                }
            }
        }
    }
}
