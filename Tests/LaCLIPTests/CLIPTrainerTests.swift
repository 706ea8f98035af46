import Foundation
import Testing
@testable import LaCLIP

@Suite struct CLIPTrainerTests {
    @Test func lossFallsOnAFixedBatch() throws {
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(vocabulary: 100), seed: 3)
        let trainer = try CLIPTrainer(model: model, configuration: TrainerConfiguration(learningRate: 2e-3, weightDecay: 0, totalSteps: 40, schedule: .constant))
        let batch = randomBatch(count: 16, seed: 1)
        let first = try trainer.step(batch)
        var last = first
        for _ in 1..<40 { last = try trainer.step(batch) }
        #expect(first.step == 1 && last.step == 40 && trainer.completedSteps == 40)
        #expect(first.loss > 2.5)
        #expect(last.loss < 0.5 * first.loss, "loss \(first.loss) -> \(last.loss)")
        #expect(last.imageToTextAccuracy > 0.8)
        #expect(last.gradientNorm.isFinite && last.gradientNorm > 0)
        #expect(abs(first.logitScale - 1 / 0.07) < 1e-3)
    }

    /// open_clip's accumulation: k micro-batches give the loss and gradients of one batch k times their size.
    @Test(arguments: [(ContrastiveLossKind.clip, 1), (.clip, 3), (.siglip, 1)])
    func accumulationEqualsOneLargeBatch(loss: ContrastiveLossKind, versions: Int) throws {
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(vocabulary: 100, sigmoid: loss == .siglip), seed: 5)
        let trainer = try CLIPTrainer(model: model, configuration: TrainerConfiguration(loss: loss, totalSteps: 10, accumulationSteps: 4))
        let batch = randomBatch(count: 12, versions: versions, seed: 9)
        model.zeroGrad()
        let whole = try trainer.accumulateGradients(microBatches: [batch])
        let reference = model.namedGradients()
        model.zeroGrad()
        let parts = batch.split(into: 4)
        #expect(parts.map(\.count) == [3, 3, 3, 3])
        let accumulated = try trainer.accumulateGradients(microBatches: parts)
        let gradients = model.namedGradients()
        #expect(abs(whole.loss - accumulated.loss) <= 1e-5 * abs(whole.loss), "loss \(whole.loss) vs \(accumulated.loss)")
        #expect(abs(whole.imageToText - accumulated.imageToText) < 1e-12)
        #expect(Set(reference.keys) == Set(gradients.keys) && reference.count == model.namedParameters().count)
        for (name, expected) in reference {
            let difference = relativeDifference(expected, gradients[name]!)
            #expect(difference < 2e-4, "\(name): relative difference \(difference)")
        }
    }

    @Test func splitKeepsVersionMajorRows() {
        let batch = randomBatch(count: 5, versions: 2, seed: 2)
        let parts = batch.split(into: 2)
        #expect(parts.map(\.count) == [3, 2])
        #expect(parts[1].tokens(version: 1).scalars == batch.tokens(version: 1).slice(axis: 0, 3..<5).contiguous().scalars)
        #expect(parts[0].images.slice(axis: 0, 2..<3).contiguous().scalars == batch.images.slice(axis: 0, 2..<3).contiguous().scalars)
    }

    @Test func nonFiniteLossStopsOrSkips() throws {
        let batch = randomBatch(count: 8, seed: 4)
        for policy in NonFiniteLossPolicy.allCases {
            let model = CLIP<Float>(configuration: smallTrainingConfiguration(vocabulary: 100), seed: 1)
            let trainer = try CLIPTrainer(model: model, configuration: TrainerConfiguration(totalSteps: 5, nonFiniteLoss: policy))
            try trainer.step(batch)
            model.textProjection.value.storage.pointer[0] = .nan
            let before = model.stateDict().mapValues { $0.contiguous().scalars }
            if policy == .stop {
                #expect(throws: TrainingError.self) { try trainer.step(batch) }
                do { try trainer.step(batch) } catch {
                    #expect("\(error)".contains("diverged at step 2"))
                }
            } else {
                let metrics = try trainer.step(batch)
                #expect(metrics.skipped && !metrics.loss.isFinite && metrics.step == 2 && trainer.skippedSteps == 1)
            }
            // The parameters are untouched (NaN stays where it was, nothing else moves).
            for (name, values) in model.stateDict().mapValues({ $0.contiguous().scalars }) {
                #expect(zip(values, before[name]!).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(name) changed")
            }
        }
    }

    @Test func invalidSettingsAreTypedErrors() {
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(vocabulary: 100), seed: 1)
        for configuration in [
            TrainerConfiguration(learningRate: .nan, totalSteps: 1), TrainerConfiguration(learningRate: .infinity, totalSteps: 1),
            TrainerConfiguration(totalSteps: 0), TrainerConfiguration(totalSteps: 5, gradientClipNorm: -1),
            TrainerConfiguration(totalSteps: 5, accumulationSteps: 0), TrainerConfiguration(beta2: 1, totalSteps: 5),
            TrainerConfiguration(loss: .siglip, totalSteps: 5),
        ] {
            #expect(throws: TrainingError.self) { try CLIPTrainer(model: model, configuration: configuration) }
        }
        let trainer = try? CLIPTrainer(model: model, configuration: TrainerConfiguration(totalSteps: 5, accumulationSteps: 4))
        #expect(throws: TrainingError.self) { try trainer?.step(randomBatch(count: 6, seed: 1)) }
        #expect(throws: TrainingError.self) { try trainer?.step(randomBatch(count: 8, seed: 1, imageSize: 24)) }
    }

    @Test func gradientClippingBoundsTheUpdate() throws {
        let batch = randomBatch(count: 8, seed: 6)
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(vocabulary: 100), seed: 2)
        let trainer = try CLIPTrainer(model: model, configuration: TrainerConfiguration(totalSteps: 5, gradientClipNorm: 1e-3))
        model.zeroGrad()
        _ = try trainer.accumulateGradients(microBatches: [batch])
        let unclipped = trainer.gradientNorm()
        model.zeroGrad()
        let metrics = try trainer.step(batch)
        #expect(abs(metrics.gradientNorm - unclipped) <= 1e-4 * unclipped)
        #expect(unclipped > 1e-3)
    }
}
