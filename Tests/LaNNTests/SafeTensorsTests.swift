import Foundation
import LaTensor
import Testing

@testable import LaNN

/// Builds a safetensors file from a header string and data bytes, optionally lying about the header length.
private func craft(_ header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    let headerBytes = Array(header.utf8)
    var length = (declaredLength ?? UInt64(headerBytes.count)).littleEndian
    var file = Data(bytes: &length, count: 8)
    file.append(contentsOf: headerBytes)
    file.append(contentsOf: data)
    return file
}

/// Reads `data` expecting a `SafeTensorsError`, and returns it.
private func readError(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) -> SafeTensorsError? {
    #expect(throws: SafeTensorsError.self, sourceLocation: sourceLocation) {
        _ = try SafeTensorsFile(data: data, name: "crafted.safetensors")
    }
}

/// A fresh empty folder for one test.
private func makeTemporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// Little-endian bytes of 16-bit patterns.
private func bytes(of halves: [UInt16]) -> [UInt8] {
    halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
}

/// Compares floating-point arrays bit for bit (so NaN, -0 and infinities compare exactly).
private func sameBits(_ lhs: [Float], _ rhs: [Float]) -> Bool {
    lhs.map(\.bitPattern) == rhs.map(\.bitPattern)
}

/// SplitMix64: a small seeded generator for the mutation test.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private let referenceURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Resources/reference.safetensors")

@Suite struct SafeTensorsTests {
    // MARK: Round trips

    @Test func floatRoundTripWithContiguousAndTransposedViews() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("float.safetensors")
        let matrix = Tensor<Float>(rows: [[1, 2, 3], [4, 5, 6]])
        let source = Tensor<Float>((0..<12).map { Float($0) * 0.5 - 2 }, shape: [3, 4])
        let transposed = source.transposed()
        #expect(!transposed.isContiguous)

        try SafeTensorsFile.write(["matrix": matrix, "a.transposed": transposed], to: url)
        let file = try SafeTensorsFile.read(contentsOf: url)

        #expect(file.names == ["a.transposed", "matrix"])
        #expect(file.metadata.isEmpty)
        #expect(file.info(named: "matrix") == .init(dtype: .float32, shape: [2, 3], dataOffsets: 48..<72))
        #expect(file.info(named: "a.transposed") == .init(dtype: .float32, shape: [4, 3], dataOffsets: 0..<48))
        let loadedMatrix = try file.tensor(named: "matrix", as: Float.self)
        let loadedTransposed: Tensor<Float> = try file.tensor(named: "a.transposed")
        #expect(loadedMatrix.shape == [2, 3])
        #expect(loadedMatrix.scalars == matrix.scalars)
        #expect(loadedTransposed.shape == [4, 3])
        #expect(loadedTransposed.scalars == transposed.scalars)
        #expect(loadedTransposed.scalars == [-2, 0, 2, -1.5, 0.5, 2.5, -1, 1, 3, -0.5, 1.5, 3.5])
        // F32 widens exactly to Double.
        #expect(try file.tensor(named: "matrix", as: Double.self).scalars == [1, 2, 3, 4, 5, 6])
        let all = try file.tensors(as: Float.self)
        #expect(all.keys.sorted() == ["a.transposed", "matrix"])
        #expect(all["matrix"]?.scalars == matrix.scalars)
    }

    @Test func doubleRoundTripKeepsFullPrecision() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("double.safetensors")
        let values: [Double] = [0.1, 1.0 / 3.0, -1e300, .leastNonzeroMagnitude, 1 + .ulpOfOne, -0.0]
        let vector = Tensor<Double>(values)
        let grid = Tensor<Double>((0..<6).map { Double($0) + 0.125 }, shape: [2, 3]).transposed()

        try SafeTensorsFile.write(["vector": vector, "grid": grid], metadata: ["kind": "double"], to: url)
        let file = try SafeTensorsFile.read(contentsOf: url)

        #expect(file.info(named: "vector")?.dtype == .float64)
        let loaded = try file.tensor(named: "vector", as: Double.self)
        #expect(loaded.scalars.map(\.bitPattern) == values.map(\.bitPattern))
        let loadedGrid = try file.tensor(named: "grid", as: Double.self)
        #expect(loadedGrid.shape == [3, 2])
        #expect(loadedGrid.scalars == [0.125, 3.125, 1.125, 4.125, 2.125, 5.125])
        // F64 narrows to Float by rounding to nearest.
        #expect(try file.tensor(named: "vector", as: Float.self).scalars.prefix(2) == [0.1, Float(1.0 / 3.0)])
    }

    @Test func mixedElementTypesRoundTrip() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("mixed.safetensors")
        let ids = Tensor<Int>([Int.min, -1, 0, 7, Int.max], shape: [5])
        let tokens = Tensor<Int32>([Int32.min, 0, Int32.max])
        let pixels = Tensor<UInt8>(rows: [[0, 128], [255, 1]]).transposed()
        let mask = Tensor<Bool>([true, false, false, true])
        let empty = Tensor<Float>([], shape: [0, 4])
        let scalar = Tensor<Double>(scalar: -3.5)
        try SafeTensorsFile.write(
            [
                "ids": .int(ids), "tokens": .int32(tokens), "pixels": SafeTensorsFile.AnyTensor(pixels),
                "mask": .bool(mask), "empty": .float(empty), "scalar": .double(scalar),
            ], to: url)

        let file = try SafeTensorsFile.read(contentsOf: url)
        #expect(file.names == ["empty", "ids", "mask", "pixels", "scalar", "tokens"])
        #expect(file.tensorInfos.mapValues(\.dtype) == [
            "ids": .int64, "tokens": .int32, "pixels": .uint8, "mask": .bool, "empty": .float32, "scalar": .float64,
        ])
        #expect(try file.tensor(named: "ids", as: Int.self).scalars == ids.scalars)
        #expect(try file.tensor(named: "tokens", as: Int32.self).scalars == tokens.scalars)
        #expect(try file.tensor(named: "pixels", as: UInt8.self).scalars == [0, 255, 128, 1])
        #expect(try file.tensor(named: "mask", as: Bool.self).scalars == mask.scalars)
        let loadedEmpty = try file.tensor(named: "empty", as: Float.self)
        #expect(loadedEmpty.shape == [0, 4])
        #expect(loadedEmpty.count == 0)
        let loadedScalar = try file.tensor(named: "scalar", as: Double.self)
        #expect(loadedScalar.shape == [])
        #expect(loadedScalar.item == -3.5)
        let all = try file.anyTensors()
        #expect(all.count == 6)
        #expect(all["pixels"]?.dtype == .uint8)
        #expect(all["pixels"]?.shape == [2, 2])
        // Typed loaders refuse other dtypes.
        #expect(throws: SafeTensorsError.dtypeMismatch(
            file: url.path, tensor: "ids", stored: "I64", requested: "Float")) {
            _ = try file.tensor(named: "ids", as: Float.self)
        }
        #expect(throws: SafeTensorsError.dtypeMismatch(
            file: url.path, tensor: "tokens", stored: "I32", requested: "Int")) {
            _ = try file.tensor(named: "tokens", as: Int.self)
        }
        #expect(throws: SafeTensorsError.tensorNotFound(file: url.path, name: "missing")) {
            _ = try file.tensor(named: "missing", as: Float.self)
        }
        #expect(throws: SafeTensorsError.self) { _ = try file.tensors(as: Float.self) }
    }

    @Test func metadataRoundTripsWithEscapes() throws {
        let metadata = [
            "format": "pt", "step": "1200", "quote\"and\\backslash": "line\nbreak\ttab\u{01}control",
            "unicode": "π ≈ 3.14 — 日本語 🙂", "": "empty key",
        ]
        let data = try SafeTensorsFile.serialized(["w": Tensor<Float>([1, 2])], metadata: metadata)
        let file = try SafeTensorsFile(data: data)
        #expect(file.metadata == metadata)
        #expect(try file.tensor(named: "w", as: Float.self).scalars == [1, 2])
        // The header is valid JSON by a standard parser too.
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength)))
        let object = try #require(json as? [String: Any])
        #expect(object["__metadata__"] as? [String: String] == metadata)
    }

    @Test func writtenLayoutFollowsTheFormat() throws {
        let data = try SafeTensorsFile.serialized([
            "b": Tensor<Float>([1, 2, 3]), "a": Tensor<Float>([4]), "c": Tensor<Float>(rows: [[5, 6], [7, 8]]),
        ])
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        // Padded with spaces so the data starts 8-byte aligned.
        #expect((8 + headerLength) % 8 == 0)
        let header = String(decoding: data.subdata(in: 8..<(8 + headerLength)), as: UTF8.self)
        #expect(header.hasPrefix("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"))
        #expect(header.contains("\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]}"))
        #expect(header.contains("\"c\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]}"))
        #expect(header.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
        #expect(data.count == 8 + headerLength + 32)
        let payload = data.subdata(in: (8 + headerLength)..<data.count)
        let floats = payload.withUnsafeBytes { raw in
            (0..<8).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        #expect(floats == [4, 1, 2, 3, 5, 6, 7, 8])
    }

    @Test func readerAcceptsPaddingWhitespaceAndUnknownFields() throws {
        let header = """
             { "x" : { "shape" : [ 2 ] , "extra": {"nested": [1, 2.5, true, null, "s"]}, "dtype" : "I32", \
            "data_offsets" : [ 0 , 8 ] }, "__metadata__": null }\(String(repeating: " ", count: 5))
            """
        let file = try SafeTensorsFile(data: craft(header, data: [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]))
        #expect(try file.tensor(named: "x", as: Int32.self).scalars == [1, -1])
        #expect(file.metadata.isEmpty)
    }

    // MARK: 16-bit floats

    @Test func float16DecodesExactly() throws {
        let halves: [UInt16] = [
            0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x0000, 0x7C00, 0xFC00, 0x7E00, 0x3555,
        ]
        let expected: [Float] = [
            1, -2.5, 65504, 0x1p-24, 0x1.FF8p-15, 0x1p-14, -0.0, 0, .infinity, -.infinity, .nan, 0x1.554p-2,
        ]
        let data = craft(
            "{\"h\":{\"dtype\":\"F16\",\"shape\":[3,4],\"data_offsets\":[0,24]}}", data: bytes(of: halves))
        let file = try SafeTensorsFile(data: data)
        let floats = try file.tensor(named: "h", as: Float.self)
        #expect(floats.shape == [3, 4])
        #expect(sameBits(floats.scalars, expected))
        let doubles = try file.tensor(named: "h", as: Double.self).scalars
        #expect(doubles.map(\.bitPattern) == expected.map { Double($0).bitPattern })
        // Agrees with the standard library's Float16 where it exists.
        #if !(os(macOS) && arch(x86_64))
            #expect(sameBits(halves.map { Float(Float16(bitPattern: $0)) }, expected))
        #endif
        // A NaN keeps its payload.
        let payload = try SafeTensorsFile(data: craft(
            "{\"n\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", data: bytes(of: [0x7D01])))
        #expect(try payload.tensor(named: "n", as: Float.self).item.bitPattern == 0x7FA0_2000)
    }

    @Test func bfloat16DecodesExactly() throws {
        let halves: [UInt16] = [0x3F80, 0xC020, 0x4049, 0x7F7F, 0x0001, 0x8000, 0x7F80, 0xFF80, 0x7FC0]
        let expected: [Float] = [
            1, -2.5, 3.140625, 0x1.FEp127, 0x1p-133, -0.0, .infinity, -.infinity, .nan,
        ]
        let data = craft(
            "{\"b\":{\"dtype\":\"BF16\",\"shape\":[9],\"data_offsets\":[0,18]}}", data: bytes(of: halves))
        let file = try SafeTensorsFile(data: data)
        #expect(sameBits(try file.tensor(named: "b", as: Float.self).scalars, expected))
        #expect(try file.tensor(named: "b", as: Double.self).scalars.prefix(5) == [1, -2.5, 3.140625, 0x1.FEp127, 0x1p-133])
        if case .float(let tensor) = try file.anyTensor(named: "b") {
            #expect(tensor.scalars.count == 9)
        } else {
            Issue.record("BF16 should load as a Float tensor")
        }
    }

    // MARK: Reference file from the official writer

    @Test func readsTheReferenceFileFromTheOfficialWriter() throws {
        let file = try SafeTensorsFile.read(contentsOf: referenceURL)
        #expect(file.metadata == [
            "format": "np", "producer": "make_safetensors_reference.py", "note": "π ≈ 3.14 \"quoted\"",
        ])
        #expect(file.names == ["bf16", "bool", "empty", "f16", "f32", "f64", "i32", "i64", "scalar", "u8"])

        let f32 = try file.tensor(named: "f32", as: Float.self)
        #expect(f32.shape == [2, 3])
        #expect(sameBits(f32.scalars, [1.5, -2.25, 3.0, 0.125, -0.0, 1024.0]))
        let f64 = try file.tensor(named: "f64", as: Double.self)
        #expect(f64.scalars == [0.1, -1e300, .leastNonzeroMagnitude, 1 + .ulpOfOne])
        let f16 = try file.tensor(named: "f16", as: Float.self)
        #expect(f16.shape == [2, 4])
        #expect(sameBits(f16.scalars, [1, -2.5, 65504, 0x1p-24, 0x1p-14, .infinity, -.infinity, .nan]))
        let bf16 = try file.tensor(named: "bf16", as: Double.self)
        #expect(bf16.shape == [2, 3])
        #expect(bf16.scalars.prefix(5) == [1, -2.5, 3.140625, 0x1p-133, .infinity])
        #expect(bf16.scalars[5].isNaN)
        #expect(try file.tensor(named: "i64", as: Int.self).scalars == [-(1 << 62), -1, 0, (1 << 62) + 7])
        #expect(try file.tensor(named: "i32", as: Int32.self).scalars == [.min, 0, .max])
        #expect(try file.tensor(named: "u8", as: UInt8.self).scalars == [0, 1, 127, 255])
        #expect(try file.tensor(named: "bool", as: Bool.self).scalars == [true, false, true])
        #expect(try file.tensor(named: "empty", as: Float.self).shape == [0, 3])
        let scalar = try file.tensor(named: "scalar", as: Double.self)
        #expect(scalar.shape == [])
        #expect(scalar.item == 42.5)
        #expect(try file.anyTensors().count == 10)
    }

    // MARK: Validation, one crafted file per error

    @Test func rejectsFilesShorterThanTheLengthPrefix() {
        #expect(readError(Data()) == .fileTooShort(file: "crafted.safetensors", byteCount: 0))
        #expect(readError(Data([1, 0, 0, 0, 0])) == .fileTooShort(file: "crafted.safetensors", byteCount: 5))
    }

    @Test func rejectsEmptyAndOversizedFilesOnDisk() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.safetensors")
        try Data().write(to: empty)
        #expect(throws: SafeTensorsError.fileTooShort(file: empty.path, byteCount: 0)) {
            _ = try SafeTensorsFile.read(contentsOf: empty)
        }
        // A sparse file whose header length passes the file-size check but exceeds the 100 MB cap.
        let large = folder.appendingPathComponent("large.safetensors")
        let headerLength = SafeTensorsFile.maximumHeaderLength + 1
        try craft("{", declaredLength: UInt64(headerLength)).write(to: large)
        let handle = try FileHandle(forWritingTo: large)
        try handle.truncate(atOffset: UInt64(8 + headerLength))
        try handle.close()
        #expect(throws: SafeTensorsError.headerTooLarge(
            file: large.path, headerLength: headerLength, limit: SafeTensorsFile.maximumHeaderLength)) {
            _ = try SafeTensorsFile.read(contentsOf: large)
        }
    }

    @Test func rejectsHeaderLengthsBeyondTheFile() {
        let header = "{}"
        #expect(readError(craft(header, declaredLength: 3))
            == .headerLengthOutOfRange(file: "crafted.safetensors", headerLength: 3, fileSize: 10))
        #expect(readError(craft(header, declaredLength: .max))
            == .headerLengthOutOfRange(file: "crafted.safetensors", headerLength: .max, fileSize: 10))
        #expect(readError(craft(header, declaredLength: 1 << 62))
            == .headerLengthOutOfRange(file: "crafted.safetensors", headerLength: 1 << 62, fileSize: 10))
    }

    @Test(arguments: [
        "",  // empty header
        "{\"a\":",  // truncated
        "[]",  // not an object
        "\"a\"",  // not an object
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}} x",  // trailing bytes
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},}",  // trailing comma
        "{'a':1}",  // single quotes
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}",  // leading zero
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":[1,]}}",  // bad unknown value
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":tru}}",  // bad literal
        "{\"a\\q\":{}}",  // bad escape
        "{\"\\ud800\":{}}",  // lone surrogate
        "{\"a\n\":{}}",  // raw control character
    ])
    func rejectsHeadersThatAreNotJSONObjects(header: String) {
        let error = readError(craft(header, data: [0, 0, 0, 0]))
        guard case .invalidHeader(let file, _)? = error else {
            Issue.record("expected invalidHeader, got \(String(describing: error))")
            return
        }
        #expect(file == "crafted.safetensors")
    }

    @Test func rejectsInvalidUTF8InTheHeader() {
        var header = Array("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".utf8)
        header[2] = 0xC3  // a lead byte followed by ASCII: invalid UTF-8 inside the name
        var file = Data([UInt8(header.count), 0, 0, 0, 0, 0, 0, 0])
        file.append(contentsOf: header)
        file.append(contentsOf: [0, 0, 0, 0])
        guard case .invalidHeader(_, let reason)? = readError(file) else {
            Issue.record("expected invalidHeader")
            return
        }
        #expect(reason.contains("UTF-8"))
    }

    @Test func rejectsDeeplyNestedValuesWithoutRecursingForever() {
        let deep = String(repeating: "[", count: 100_000)
        let error = readError(craft("{\"a\":{\"x\":\(deep)", data: []))
        guard case .invalidHeader(_, let reason)? = error else {
            Issue.record("expected invalidHeader, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("nested too deeply"))
    }

    @Test func rejectsUnknownDTypes() {
        let data = craft("{\"w\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0])
        #expect(readError(data) == .unknownDType(file: "crafted.safetensors", tensor: "w", dtype: "F12"))
    }

    @Test func rejectsNegativeShapes() {
        let data = craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}")
        #expect(readError(data)
            == .invalidShape(file: "crafted.safetensors", tensor: "w", reason: "entry 1 is negative (-1)"))
    }

    @Test func rejectsNonIntegerShapes() {
        for shape in ["[1.0]", "[1e2]", "[\"2\"]", "[null]", "3"] {
            let data = craft("{\"w\":{\"dtype\":\"U8\",\"shape\":\(shape),\"data_offsets\":[0,1]}}", data: [0])
            guard case .invalidShape(_, let tensor, _)? = readError(data) else {
                Issue.record("expected invalidShape for \(shape)")
                continue
            }
            #expect(tensor == "w")
        }
    }

    @Test func rejectsSizeMismatches() {
        let data = craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 8))
        #expect(readError(data)
            == .sizeMismatch(file: "crafted.safetensors", tensor: "w", expectedByteCount: 12, actualByteCount: 8))
        // A huge claimed shape over a tiny buffer throws before anything is allocated.
        let huge = craft("{\"w\":{\"dtype\":\"F64\",\"shape\":[1099511627776],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 8))
        #expect(readError(huge)
            == .sizeMismatch(file: "crafted.safetensors", tensor: "w", expectedByteCount: 8 << 40, actualByteCount: 8))
    }

    @Test func rejectsOverflowingSizeArithmetic() {
        let cases = [
            "[4611686018427387904,4]",  // product overflows
            "[0,4611686018427387904,4]",  // zero elements, but Tensor's strides would overflow
            "[1152921504606846976]",  // count fits, count * 8 bytes does not
            "[99999999999999999999]",  // larger than Int.max
        ]
        for shape in cases {
            let data = craft("{\"w\":{\"dtype\":\"F64\",\"shape\":\(shape),\"data_offsets\":[0,0]}}")
            #expect(readError(data) == .arithmeticOverflow(file: "crafted.safetensors", tensor: "w"), "\(shape)")
        }
        let offsets = craft("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,18446744073709551616]}}")
        #expect(readError(offsets) == .arithmeticOverflow(file: "crafted.safetensors", tensor: "w"))
    }

    @Test func rejectsOverlappingTensors() {
        let header = """
            {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},\
            "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}
            """
        #expect(readError(craft(header, data: Array(repeating: 0, count: 12)))
            == .overlappingTensors(file: "crafted.safetensors", first: "a", second: "b"))
        let same = """
            {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},\
            "b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}
            """
        guard case .overlappingTensors? = readError(craft(same, data: [0, 0, 0, 0])) else {
            Issue.record("expected overlappingTensors for identical ranges")
            return
        }
    }

    @Test func rejectsHolesAndTrailingBytes() {
        let gap = """
            {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},\
            "b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}
            """
        #expect(readError(craft(gap, data: Array(repeating: 0, count: 12)))
            == .uncoveredBytes(file: "crafted.safetensors", range: 4..<8))
        let trailing = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
        #expect(readError(craft(trailing, data: Array(repeating: 0, count: 6)))
            == .uncoveredBytes(file: "crafted.safetensors", range: 4..<6))
        let late = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}"
        #expect(readError(craft(late, data: Array(repeating: 0, count: 6)))
            == .uncoveredBytes(file: "crafted.safetensors", range: 0..<2))
    }

    @Test func rejectsOffsetsOutOfRange() {
        let data = craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: [0, 0, 0, 0])
        #expect(readError(data)
            == .offsetsOutOfRange(file: "crafted.safetensors", tensor: "w", end: 8, bufferSize: 4))
        let backwards = craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", data: [0, 0, 0, 0])
        #expect(readError(backwards)
            == .invalidOffsets(file: "crafted.safetensors", tensor: "w", reason: "begin 4 is after end 0"))
        for offsets in ["[0]", "[0,4,4]", "[-1,3]", "[0,4.0]", "{}"] {
            let data = craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\(offsets)}}", data: [0, 0, 0, 0])
            guard case .invalidOffsets(_, "w", _)? = readError(data) else {
                Issue.record("expected invalidOffsets for \(offsets)")
                continue
            }
        }
    }

    @Test func rejectsDuplicateNames() {
        let header = """
            {"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},\
            "w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}
            """
        #expect(readError(craft(header, data: Array(repeating: 0, count: 8)))
            == .duplicateName(file: "crafted.safetensors", name: "w"))
        // The same name spelled with an escape is still the same name.
        let escaped = """
            {"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},\
            "\\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}
            """
        #expect(readError(craft(escaped, data: Array(repeating: 0, count: 8)))
            == .duplicateName(file: "crafted.safetensors", name: "w"))
        let metadata = "{\"__metadata__\":{},\"__metadata__\":{}}"
        #expect(readError(craft(metadata)) == .duplicateName(file: "crafted.safetensors", name: "__metadata__"))
        let field = "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
        guard case .invalidTensorInfo(_, "w", _)? = readError(craft(field, data: [0, 0, 0, 0])) else {
            Issue.record("expected invalidTensorInfo for a repeated field")
            return
        }
    }

    @Test func rejectsMalformedTensorEntriesAndMetadata() {
        let missing = craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", data: [0, 0, 0, 0])
        #expect(readError(missing)
            == .invalidTensorInfo(file: "crafted.safetensors", tensor: "w", reason: "missing data_offsets"))
        let notObject = craft("{\"w\":[1,2]}")
        #expect(readError(notObject)
            == .invalidTensorInfo(file: "crafted.safetensors", tensor: "w", reason: "the entry is not an object"))
        let dtypeNumber = craft("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0])
        #expect(readError(dtypeNumber)
            == .invalidTensorInfo(file: "crafted.safetensors", tensor: "w", reason: "dtype is not a string"))
        let metadataValue = craft("{\"__metadata__\":{\"step\":12}}")
        #expect(readError(metadataValue)
            == .invalidMetadata(file: "crafted.safetensors", reason: "the value of 'step' is not a string"))
        let metadataArray = craft("{\"__metadata__\":[]}")
        #expect(readError(metadataArray) == .invalidMetadata(file: "crafted.safetensors", reason: "not an object"))
    }

    @Test func errorsNameTheFileAndTensor() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("broken.safetensors")
        try craft("{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 8))
            .write(to: url)
        do {
            _ = try SafeTensorsFile.read(contentsOf: url)
            Issue.record("expected an error")
        } catch let error as SafeTensorsError {
            #expect(error.description.contains(url.path))
            #expect(error.description.contains("'layer.weight'"))
            #expect(error.description.contains("12 bytes"))
        }
        let missing = folder.appendingPathComponent("missing.safetensors")
        guard case .unreadableFile(let file, _)? = (#expect(throws: SafeTensorsError.self) {
            _ = try SafeTensorsFile.read(contentsOf: missing)
        }) else {
            Issue.record("expected unreadableFile")
            return
        }
        #expect(file == missing.path)
    }

    // MARK: Mutation test

    @Test func mutatedFilesLoadOrThrowButNeverCrash() throws {
        let valid = try SafeTensorsFile.serialized(
            [
                "embedding": .float(Tensor<Float>((0..<12).map(Float.init), shape: [3, 4])),
                "bias": .double(Tensor<Double>([0.5, -0.5])),
                "ids": .int(Tensor<Int>([1, 2, 3])),
                "mask": .bool(Tensor<Bool>([true, false])),
                "pixels": .uint8(Tensor<UInt8>([], shape: [0])),
            ], metadata: ["step": "7"])
        let bases = [valid, try Data(contentsOf: referenceURL)]
        let alphabet = Array("{}[]\":,-0123456789.eE \\u".utf8)
        var generator = SplitMix64(state: 0x5AFE_7E45)
        var loaded = 0
        var rejected = 0
        for iteration in 0..<600 {
            var bytes = [UInt8](bases[iteration % bases.count])
            let headerEnd = Swift.min(bytes.count, 8 + Int(bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                guard !bytes.isEmpty else { break }
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                let inHeader = Int.random(in: 8..<Swift.max(9, headerEnd), using: &generator) % bytes.count
                switch Int.random(in: 0..<9, using: &generator) {
                case 0: bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
                case 1: bytes[inHeader] = alphabet.randomElement(using: &generator)!
                case 2: bytes.removeSubrange(Int.random(in: 0...bytes.count, using: &generator)...)
                case 3:
                    // A new header length: near the old one or anywhere.
                    let old = bytes.count >= 8 ? bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } : 0
                    let new: UInt64 = Bool.random(using: &generator)
                        ? old &+ UInt64(bitPattern: Int64.random(in: -16...16, using: &generator))
                        : UInt64.random(in: 0...UInt64.max, using: &generator)
                    if bytes.count >= 8 { withUnsafeBytes(of: new.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) } }
                case 4: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
                case 5: bytes.removeSubrange(position..<Swift.min(bytes.count, position + Int.random(in: 1...8, using: &generator)))
                case 6:
                    // Change a digit in the header: shapes and offsets.
                    if bytes[inHeader] >= UInt8(ascii: "0") && bytes[inHeader] <= UInt8(ascii: "9") {
                        bytes[inHeader] = UInt8(ascii: "0") + UInt8.random(in: 0...9, using: &generator)
                    } else {
                        bytes[inHeader] = UInt8(ascii: "9")
                    }
                case 7:
                    // Damage the data only: the header stays valid, the values change.
                    if headerEnd < bytes.count {
                        bytes[Int.random(in: headerEnd..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                    }
                default: bytes[position] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            do {
                let file = try SafeTensorsFile(data: Data(bytes), name: "mutant-\(iteration)")
                for name in file.names {
                    do {
                        let tensor = try file.anyTensor(named: name)
                        #expect(tensor.shape == file.info(named: name)?.shape)
                    } catch let error as SafeTensorsError {
                        guard case .unsupportedDType = error else {
                            Issue.record("unexpected error loading \(name): \(error)")
                            continue
                        }
                    }
                    if file.info(named: name)!.dtype.isLoadableAsFloatingPoint {
                        _ = try file.tensor(named: name, as: Double.self)
                    }
                }
                loaded += 1
            } catch is SafeTensorsError {
                rejected += 1
            }
        }
        #expect(loaded + rejected == 600)
        #expect(loaded > 0)
        #expect(rejected > 0)
    }

    // MARK: Writing

    @Test func writingReplacesTheFileAtomically() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        try SafeTensorsFile.write(["w": Tensor<Float>([1, 2, 3])], metadata: ["version": "1"], to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        let original = try Data(contentsOf: url)

        // A write that fails halfway leaves the old file and no temporary file behind.
        struct Interrupted: Error {}
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(to: url) { writer in
                try [UInt8](repeating: 0xAB, count: 1000).withUnsafeBytes { try writer.write($0) }
                throw Interrupted()
            }
        }
        #expect(try Data(contentsOf: url) == original)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])

        // A successful write replaces the contents and keeps the permissions.
        try SafeTensorsFile.write(["w": Tensor<Float>([4, 5])], metadata: ["version": "2"], to: url)
        let file = try SafeTensorsFile.read(contentsOf: url)
        #expect(file.metadata == ["version": "2"])
        #expect(try file.tensor(named: "w", as: Float.self).scalars == [4, 5])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
        let permissions = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
    }

    /// A killed write's temporary file is removed at the next write of the same target, unless its process still runs.
    @Test func staleTemporariesOfKilledWritesAreRemoved() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let stale = ".model.safetensors.tmp-\(exited.processIdentifier)-1f2e"
        let live = ".model.safetensors.tmp-\(getppid())-3c4d"
        let other = ".other.safetensors.tmp-\(exited.processIdentifier)-5e6f"
        for name in [stale, live, other] { try Data(count: 4096).write(to: folder.appendingPathComponent(name)) }
        try SafeTensorsFile.write(["w": Tensor<Float>([1])], to: url)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(left == ["model.safetensors", live, other])
        #expect(removeStaleTemporaryFiles(in: folder, namePrefix: "other") == 1)
    }

    @Test func writeErrorsAreTyped() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        #expect(throws: SafeTensorsError.reservedName(file: url.path, name: "__metadata__")) {
            try SafeTensorsFile.write(["__metadata__": Tensor<Float>([1])], to: url)
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        let nowhere = folder.appendingPathComponent("no/such/folder/model.safetensors")
        guard case .writeFailed(let file, _)? = (#expect(throws: SafeTensorsError.self) {
            try SafeTensorsFile.write(["w": Tensor<Float>([1])], to: nowhere)
        }) else {
            Issue.record("expected writeFailed")
            return
        }
        #expect(file == nowhere.path)
    }
}
