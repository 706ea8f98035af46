import Foundation
import Testing

/// Misuse messages survive optimised builds: the release `TensorTour --show-misuse` (built by `.ci/run` with
/// `swift build -c release --product TensorTour` before the tests) stops with the op and both full shapes on
/// standard error, not a bare "Illegal instruction".
@Suite struct ReleaseMessageTests {
    static let releaseTour = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/release/TensorTour")

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: releaseTour.path), "needs swift build -c release --product TensorTour"))
    func releaseBuildPrintsTheOpAndTheShapes() throws {
        let process = Process()
        process.executableURL = Self.releaseTour
        process.arguments = ["--show-misuse"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "\(output)")
        #expect(output.contains("matmul: batch dimensions [2] and [5] do not broadcast: shapes [2, 3, 4] and [5, 4, 6]"), "\(output)")
    }
}
