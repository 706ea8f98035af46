import Foundation
import Testing
@testable import LaCLIP

/// A small model for training tests: 16 px images in 8 px patches, one block per tower, width 32.
func smallTrainingConfiguration(vocabulary: Int = 49408, sigmoid: Bool = false) -> CLIPConfiguration {
    CLIPConfiguration(
        vision: .init(imageSize: 16, patchSize: 8, width: 32, layers: 1, heads: 2),
        text: .init(contextLength: 12, vocabularySize: vocabulary, width: 32, heads: 2, layers: 1), embedDimension: 16,
        sigmoidLoss: sigmoid)
}

/// A deterministic batch of random images and tokens (`versions` texts per image, version-major), without a tokenizer.
func randomBatch(count: Int, versions: Int = 1, seed: UInt64, imageSize: Int = 16, vocabulary: Int = 100, context: Int = 12) -> ImageTextBatch {
    var generator = RandomGenerator(seed: seed)
    let images = Tensor<Float>.randn([count, 3, imageSize, imageSize], generator: &generator)
    var ids: [Int] = []
    for _ in 0..<(versions * count) {
        let length = 3 + Int(generator.next() % UInt64(context - 3))
        var row = [vocabulary - 2] + (1..<(length - 1)).map { _ in 1 + Int(generator.next() % UInt64(vocabulary - 3)) } + [vocabulary - 1]
        row += Array(repeating: 0, count: context - row.count)
        ids += row
    }
    return ImageTextBatch(images: images, tokens: Tensor<Int>(ids, shape: [versions * count, context]), textVersions: versions,
                          sampleIndices: Array(0..<count), epoch: 0, index: 0)
}

/// Synthetic image-caption samples for loader-driven tests: each image is a fixed random pattern of its index
/// plus augmentation noise drawn from the sample's generator; captions name one of 5 "classes", with 2 rewrites.
struct SyntheticSource: LoaderSampleSource {
    let count: Int
    let imageShape: [Int]

    init(count: Int, imageSize: Int = 16) {
        self.count = count
        self.imageShape = [3, imageSize, imageSize]
    }

    func captions(at index: Int) throws -> [String] {
        let thing = ["cat", "dog", "boat", "tree", "car"][index % 5]
        return ["a photo of a \(thing) number \(index % 3)", "a picture showing a \(thing)", "an image of one \(thing) outdoors"]
    }

    func writeImage(at index: Int, generator: inout RandomGenerator, into destination: UnsafeMutablePointer<Float>) throws {
        var pattern = RandomGenerator(seed: UInt64(index % 5) &+ 1000)
        for i in 0..<imageShape.reduce(1, *) {
            let base = Float(Double(pattern.next() % 1000) / 500 - 1)
            let noise = Float(Double(generator.next() % 1000) / 5000 - 0.1)
            destination[i] = base + noise
        }
    }

    func sampleName(at index: Int) -> String { "synthetic[\(index)]" }
}

/// A fresh temporary folder.
func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The largest |a - b| relative to the largest |a|, over all elements.
func relativeDifference(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Float {
    let x = a.contiguous().scalars, y = b.contiguous().scalars
    var scale: Float = 1e-12, worst: Float = 0
    for i in x.indices {
        scale = max(scale, abs(x[i]))
        worst = max(worst, abs(x[i] - y[i]))
    }
    return worst / scale
}

/// Runs a program to its end; returns how it ended and everything it printed (standard output and error together).
/// It waits by suspending, never by blocking a thread: Swift Testing runs suites concurrently on a pool of one
/// thread per core, and a test blocked on a child process for minutes would starve every other test.
func runProgram(_ executable: URL, _ arguments: [String]) async throws -> (process: Process, output: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-test-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    defer { try? handle.close() }
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
    process.waitUntilExit()
    return (process, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
}

/// The id of a process that has exited (started and waited for), for stale-temporary-file tests.
func deadProcessID() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}
