import Foundation
import Testing

@testable import LaNN

// Learning-rate schedules against open_clip's own `cosine_lr` and `const_lr_cooldown`
// (open_clip_train/scheduler.py), evaluated by Resources/make_schedule_reference.py at steps 0 ... total.

private let scheduleReferenceURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Resources/schedule_reference.json")

/// The decoded schedule_reference.json.
private struct ScheduleReference: Decodable {
    struct Arguments: Decodable {
        let base_lr: Double
        let warmup_length: Int
        let steps: Int
        let cooldown_steps: Int?
        let cooldown_power: Double?
        let cooldown_end_lr: Double?
    }
    struct Case: Decodable {
        let name: String
        let function: String
        let arguments: Arguments
        let learning_rates: [Double]

        /// The Swift schedule with the same arguments.
        var schedule: LearningRateSchedule {
            let a = arguments
            switch function {
            case "cosine_lr":
                return .warmupCosine(base: a.base_lr, warmup: a.warmup_length, total: a.steps)
            case "const_lr_cooldown":
                return .constantWithCooldown(
                    base: a.base_lr, warmup: a.warmup_length, total: a.steps, cooldown: a.cooldown_steps!,
                    end: a.cooldown_end_lr!, power: a.cooldown_power!)
            default:
                fatalError("unknown open_clip scheduler \(function)")
            }
        }
    }
    let cases: [Case]

    static func load() throws -> ScheduleReference {
        try JSONDecoder().decode(ScheduleReference.self, from: Data(contentsOf: scheduleReferenceURL))
    }
}

private let caseNames = [
    "cosine_clip", "cosine_no_warmup", "cosine_one_warmup_step", "cosine_long_warmup",
    "cooldown_linear", "cooldown_square_to_floor", "cooldown_sqrt", "cooldown_without_plateau",
]

@Suite struct ScheduleTests {
    @Test func referenceHasEveryCase() throws {
        #expect(try ScheduleReference.load().cases.map(\.name) == caseNames)
    }

    /// Every step from 0 to total (inclusive) agrees with open_clip to 1e-12 of the base rate (the two
    /// evaluate π·e/es and the products in different orders, so the last bits may differ).
    @Test(arguments: caseNames)
    func matchesOpenCLIP(name: String) throws {
        let reference = try #require(try ScheduleReference.load().cases.first { $0.name == name })
        let schedule = reference.schedule
        let base = reference.arguments.base_lr
        #expect(reference.learning_rates.count == reference.arguments.steps + 1)
        for (step, expected) in reference.learning_rates.enumerated() {
            let actual = schedule.learningRate(at: step)
            #expect(abs(actual - expected) <= 1e-12 * base, "\(name) step \(step): \(actual), open_clip has \(expected)")
        }
    }

    /// Past `total` (where open_clip's training loop never goes) the Swift schedules hold their final value;
    /// open_clip's formulas would instead climb back up the cosine or fall below `cooldown_end_lr`.
    @Test func holdsFinalValueAfterTotal() {
        let cosine = LearningRateSchedule.warmupCosine(base: 5e-4, warmup: 10, total: 100)
        let cooldown = LearningRateSchedule.constantWithCooldown(base: 5e-4, warmup: 10, total: 100, cooldown: 30, end: 1e-6)
        for step in [100, 101, 150, 1000] {
            #expect(cosine.learningRate(at: step) == 0)
            #expect(cooldown.learningRate(at: step) == 1e-6)
        }
    }
}
