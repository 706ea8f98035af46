import Foundation
import LaTensor

/// Fashion-MNIST (Zalando): 28x28 grayscale images of clothing in 10 classes, 60,000 for training and
/// 10,000 for testing, read from the gzip-compressed IDX files.
///
/// On Debian the files come from the `dataset-fashion-mnist` package (`apt-get install -y
/// dataset-fashion-mnist`), which installs them in `/usr/share/datasets/fashion-mnist`. When they are
/// missing, opening fails with a `DataError(.unreadable)` that names that package.
///
/// Checks: magic numbers (`0x00000803` images, `0x00000801` labels), image size 28x28, data lengths
/// matching the dimensions, equal image and label counts, and labels in `0...9`; each failure is a
/// `DataError` naming the file and field.
///
/// Images are kept as `UInt8` (`pixels`, 784 bytes per image, row-major); `tensor(range:channels:)`
/// converts a range of them to `Tensor<Float>` of shape `[N, 1, 28, 28]` or `[N, 3, 28, 28]` in `[0, 1]`.
public struct FashionMNIST: Sendable {
    /// The two splits.
    public enum Split: String, Sendable, CaseIterable {
        /// The 60,000 training images (`train-*`).
        case train
        /// The 10,000 test images (`t10k-*`).
        case test

        /// The file-name prefix of the split.
        var prefix: String { self == .train ? "train" : "t10k" }
    }

    /// The class names, indexed by label.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
    /// Where Debian's `dataset-fashion-mnist` package installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// The Debian package providing the files.
    public static let aptPackage = "dataset-fashion-mnist"
    /// Image height in pixels.
    public static let rows = 28
    /// Image width in pixels.
    public static let columns = 28

    /// The number of images.
    public let count: Int
    /// All images' pixels, `count × 28 × 28` bytes, row-major (0 = background, 255 = ink).
    public let pixels: [UInt8]
    /// The labels, one per image, in `0...9`.
    public let labels: [UInt8]

    /// Opens a split from a directory holding the four `*-ubyte.gz` files.
    /// - Parameters:
    ///   - split: `.train` or `.test`.
    ///   - directory: The directory (default: Debian's install location).
    /// - Throws: `DataError` for missing files (naming the apt package) or invalid contents.
    public init(split: Split, directory: String = FashionMNIST.defaultDirectory) throws {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        try self.init(imagesPath: base + "\(split.prefix)-images-idx3-ubyte.gz",
                      labelsPath: base + "\(split.prefix)-labels-idx1-ubyte.gz")
    }

    /// Opens an images file and its labels file.
    /// - Parameters:
    ///   - imagesPath: The IDX3 images file (gzip or plain).
    ///   - labelsPath: The IDX1 labels file (gzip or plain).
    /// - Throws: `DataError` for missing files (naming the apt package) or invalid contents.
    public init(imagesPath: String, labelsPath: String) throws {
        for path in [imagesPath, labelsPath] {
            if !FileManager.default.fileExists(atPath: path) {
                throw DataError(.unreadable, file: path,
                                "Fashion-MNIST file not found; install it with `apt-get install -y \(FashionMNIST.aptPackage)`")
            }
        }
        let images = try IDXFile(path: imagesPath, rank: 3)
        let labels = try IDXFile(path: labelsPath, rank: 1)
        guard images.shape[1] == FashionMNIST.rows, images.shape[2] == FashionMNIST.columns else {
            throw DataError(.malformed, file: imagesPath, field: "dimensions",
                            "images are \(images.shape[1])x\(images.shape[2]), expected 28x28")
        }
        guard images.shape[0] == labels.shape[0] else {
            throw DataError(.mismatch, file: labelsPath, field: "count",
                            "\(labels.shape[0]) labels but \(images.shape[0]) images in \(imagesPath)")
        }
        if let bad = labels.data.firstIndex(where: { $0 > 9 }) {
            throw DataError(.malformed, file: labelsPath, line: bad + 1, field: "label",
                            "label \(labels.data[bad]) is outside 0...9")
        }
        self.count = images.shape[0]
        self.pixels = images.data
        self.labels = labels.data
    }

    /// The 784 pixels of image `index`, row-major.
    /// - Parameter index: A position in `0..<count`.
    public func image(at index: Int) -> ArraySlice<UInt8> {
        let size = FashionMNIST.rows * FashionMNIST.columns
        return pixels[(index * size)..<((index + 1) * size)]
    }

    /// The label of image `index`, in `0...9`.
    /// - Parameter index: A position in `0..<count`.
    public func label(at index: Int) -> Int { Int(labels[index]) }

    /// The class name of image `index`.
    /// - Parameter index: A position in `0..<count`.
    public func className(at index: Int) -> String { FashionMNIST.classNames[label(at: index)] }

    /// Images as floats in `[0, 1]` (pixel / 255), shape `[N, channels, 28, 28]`; with 3 channels the gray
    /// value is repeated in each.
    /// - Parameters:
    ///   - range: The images to convert (default: all).
    ///   - channels: 1 or 3.
    /// - Throws: `DataError(.unsupported)` for another channel count or a range outside `0..<count`.
    public func tensor(range: Range<Int>? = nil, channels: Int = 1) throws -> Tensor<Float> {
        let range = range ?? 0..<count
        guard channels == 1 || channels == 3 else {
            throw DataError(.unsupported, file: "Fashion-MNIST", field: "channels", "channels must be 1 or 3, not \(channels)")
        }
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw DataError(.unsupported, file: "Fashion-MNIST", field: "range", "range \(range) is outside 0..<\(count)")
        }
        let size = FashionMNIST.rows * FashionMNIST.columns
        var values = [Float](repeating: 0, count: range.count * channels * size)
        values.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { source in
                for (n, image) in range.enumerated() {
                    let from = image * size
                    for c in 0..<channels {
                        let to = (n * channels + c) * size
                        for p in 0..<size { out[to + p] = Float(source[from + p]) / 255 }
                    }
                }
            }
        }
        return Tensor(values, shape: [range.count, channels, FashionMNIST.rows, FashionMNIST.columns])
    }

    /// The labels of a range of images as `Int`s.
    /// - Parameter range: The images (default: all).
    public func labelArray(range: Range<Int>? = nil) -> [Int] {
        (range ?? 0..<count).map { Int(labels[$0]) }
    }
}
