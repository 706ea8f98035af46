import Foundation
import LaTensor
import Testing

@testable import LaData

/// An IDX file: magic `0 0 8 rank`, big-endian dimensions, data.
private func idx(rank: UInt8, dims: [Int], data: [UInt8], type: UInt8 = 8) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, rank]
    for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
    return bytes + data
}

@Suite struct FashionMNISTTests {
    /// Opens a split of the installed dataset, failing with the apt package's name when it is missing.
    private func open(_ split: FashionMNIST.Split, sourceLocation: SourceLocation = #_sourceLocation) throws -> FashionMNIST? {
        guard FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory + "/train-images-idx3-ubyte.gz") else {
            Issue.record(
                "Fashion-MNIST is not installed in \(FashionMNIST.defaultDirectory): run `apt-get install -y \(FashionMNIST.aptPackage)`",
                sourceLocation: sourceLocation)
            return nil
        }
        return try FashionMNIST(split: split)
    }

    @Test func trainSplitCountsAndLabels() throws {
        guard let train = try open(.train) else { return }
        #expect(train.count == 60_000)
        #expect(train.pixels.count == 60_000 * 784)
        #expect(train.labelArray(range: 0..<10) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        #expect(train.labels.allSatisfy { $0 <= 9 })
        var histogram = [Int](repeating: 0, count: 10)
        for label in train.labels { histogram[Int(label)] += 1 }
        #expect(histogram == [Int](repeating: 6000, count: 10))
        #expect(train.className(at: 0) == "Ankle boot")
        #expect(train.image(at: 0).count == 784)
        #expect(train.image(at: 59_999).count == 784)

        let gray = try train.tensor(range: 0..<4)
        #expect(gray.shape == [4, 1, 28, 28])
        let grayValues = gray.scalars
        #expect(grayValues.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(grayValues.contains { $0 > 0.9 })
        let expected = train.image(at: 1).map { Float($0) / 255 }
        let grayMatches = Array(grayValues[784..<1568]) == expected
        #expect(grayMatches, "image 1 differs from pixel / 255")
        let rgb = try train.tensor(range: 1..<3, channels: 3)
        #expect(rgb.shape == [2, 3, 28, 28])
        let rgbValues = rgb.scalars
        for c in 0..<3 {
            let channelMatches = Array(rgbValues[(c * 784)..<((c + 1) * 784)]) == expected
            #expect(channelMatches, "channel \(c) differs from the gray image")
        }
        expectDataError(.unsupported) { _ = try train.tensor(range: 0..<1, channels: 2) }
        expectDataError(.unsupported) { _ = try train.tensor(range: 59_999..<60_001) }
    }

    @Test func testSplitCounts() throws {
        guard let test = try open(.test) else { return }
        #expect(test.count == 10_000)
        var histogram = [Int](repeating: 0, count: 10)
        for label in test.labels { histogram[Int(label)] += 1 }
        #expect(histogram == [Int](repeating: 1000, count: 10))
        #expect(FashionMNIST.classNames == [
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ])
    }

    @Test func missingFilesNameTheAptPackage() throws {
        let error = expectDataError(.unreadable) { _ = try FashionMNIST(split: .train, directory: "/nonexistent/fmnist") }
        #expect(error?.message.contains("apt-get install -y dataset-fashion-mnist") == true)
        #expect(error?.file == "/nonexistent/fmnist/train-images-idx3-ubyte.gz")
    }

    @Test func idxValidation() throws {
        let pixels = [UInt8](repeating: 7, count: 2 * 784)
        let images = idx(rank: 3, dims: [2, 28, 28], data: pixels)
        #expect(try IDXFile(bytes: images, file: "i", rank: 3).shape == [2, 28, 28])
        // Wrong magic, rank, element type, truncated data, extra data, truncated header.
        #expect(expectDataError(.malformed) { _ = try IDXFile(bytes: [1] + images.dropFirst(), file: "i", rank: 3) }?.field == "magic")
        #expect(expectDataError(.malformed) { _ = try IDXFile(bytes: images, file: "i", rank: 1) }?.field == "magic")
        expectDataError(.unsupported) { _ = try IDXFile(bytes: idx(rank: 3, dims: [2, 28, 28], data: pixels, type: 0x0D), file: "i", rank: 3) }
        #expect(expectDataError(.truncated) { _ = try IDXFile(bytes: Array(images.dropLast()), file: "i", rank: 3) }?.field == "data")
        #expect(expectDataError(.mismatch) { _ = try IDXFile(bytes: images + [0], file: "i", rank: 3) }?.field == "data")
        expectDataError(.truncated) { _ = try IDXFile(bytes: Array(images.prefix(9)), file: "i", rank: 3) }
        expectDataError(.truncated) { _ = try IDXFile(bytes: [0, 0], file: "i", rank: 3) }

        let dir = try TemporaryDirectory()
        let imagesPath = try dir.write("images", images)
        let labelsPath = try dir.write("labels", idx(rank: 1, dims: [2], data: [3, 9]))
        let small = try FashionMNIST(imagesPath: imagesPath, labelsPath: labelsPath)
        #expect(small.count == 2 && small.labelArray() == [3, 9] && small.className(at: 0) == "Dress")
        // Count mismatch, label out of range, wrong image size.
        let threeLabels = try dir.write("labels3", idx(rank: 1, dims: [3], data: [1, 2, 3]))
        #expect(expectDataError(.mismatch) { _ = try FashionMNIST(imagesPath: imagesPath, labelsPath: threeLabels) }?.field == "count")
        let badLabel = try dir.write("labelsBad", idx(rank: 1, dims: [2], data: [1, 10]))
        let labelError = expectDataError(.malformed) { _ = try FashionMNIST(imagesPath: imagesPath, labelsPath: badLabel) }
        #expect(labelError?.line == 2 && labelError?.field == "label")
        let wide = try dir.write("wide", idx(rank: 3, dims: [1, 28, 27], data: [UInt8](repeating: 0, count: 28 * 27)))
        let oneLabel = try dir.write("label1", idx(rank: 1, dims: [1], data: [0]))
        #expect(expectDataError(.malformed) { _ = try FashionMNIST(imagesPath: wide, labelsPath: oneLabel) }?.field == "dimensions")
    }
}
