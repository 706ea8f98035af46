import Foundation
import LaTensor
import Testing

@testable import LaNN

/// Seeded mutations of valid safetensors files and training states (bit flips, truncation, huge header lengths,
/// inserted bytes): each is accepted or rejected with `SafeTensorsError` / `TrainingStateError` /
/// `StateDictError` / `OptimizerStateError`, never a crash. `LACLIP_FUZZ_ITERATIONS` sets the count (default 2000).
@Suite struct SafeTensorsFuzzTests {
    @Test func mutatedFilesAreAcceptedOrRejectedWithTypedErrors() throws {
        let iterations = Int(ProcessInfo.processInfo.environment["LACLIP_FUZZ_ITERATIONS"] ?? "") ?? 2000
        let model = TinyNet<Float>(seed: 3)
        let optimizer = Adam.adamW(groups: ParameterGroup.clipStyle(model.namedParameters(), weightDecay: 0.1), learningRate: 1e-2)
        var data = RandomGenerator(seed: 5)
        trainStep(model, optimizer, schedule: .constant(base: 1e-2), step: 0, data: &data)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("state.safetensors")
        try TrainingState.save(model: model, optimizer: optimizer, step: 1, schedule: .constant(base: 1e-2), to: url)
        let seed = [UInt8](try Data(contentsOf: url))
        var generator = RandomGenerator(seed: UInt64(ProcessInfo.processInfo.environment["LACLIP_FUZZ_SEED"] ?? "") ?? 1)
        var accepted = 0, rejected = 0
        for i in 0..<iterations {
            var bytes = seed
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let position = Int(generator.next() % UInt64(max(bytes.count, 1)))
                switch generator.next() % 5 {
                case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << (generator.next() % 8))
                case 1: bytes = Array(bytes.prefix(position))
                case 2 where bytes.count >= 8: for k in 0..<8 { bytes[k] = [0xFF, 0x7F, 0, 0x10][Int(generator.next() % 4)] }
                case 3: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: min(position, bytes.count))
                default:
                    // Mutate inside the JSON header, where the shapes, offsets and metadata live.
                    let headerEnd = min(bytes.count, 8 + 2000)
                    if headerEnd > 8 { bytes[8 + Int(generator.next() % UInt64(headerEnd - 8))] = UInt8(truncatingIfNeeded: generator.next()) }
                }
            }
            do {
                let file = try SafeTensorsFile(data: Data(bytes), name: "fuzz")
                _ = try file.tensors(as: Float.self)
                try Data(bytes).write(to: url)
                let fresh = TinyNet<Float>(seed: 4)
                _ = try TrainingState.load(into: fresh, optimizer: Adam.adamW(groups: ParameterGroup.clipStyle(fresh.namedParameters(), weightDecay: 0.1), learningRate: 1e-2), from: url)
                accepted += 1
            } catch is SafeTensorsError, is TrainingStateError, is StateDictError, is OptimizerStateError {
                rejected += 1
            } catch {
                Issue.record("input \(i): unexpected error type \(type(of: error)): \(error)")
            }
        }
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }
}
