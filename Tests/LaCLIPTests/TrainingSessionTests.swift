import Foundation
import Testing
@testable import LaCLIP

@Suite struct TrainingSessionTests {
    /// A session over 40 synthetic samples with LaCLIP caption sampling, batches of 8, `steps` steps.
    static func makeSession(output: URL?, steps: Int, tokenizer: BPETokenizer, checkpointEvery: Int = 0) throws -> TrainingSession {
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(), seed: 11)
        let trainer = try CLIPTrainer(
            model: model, configuration: TrainerConfiguration(learningRate: 1e-3, warmupSteps: 2, totalSteps: steps, accumulationSteps: 2))
        let loader = try ImageTextLoader(
            source: SyntheticSource(count: 40), tokenizer: tokenizer, text: .laclip(try LaCLIPTextSampler(rewriteCount: 2, seed: 4)),
            configuration: LoaderConfiguration(batchSize: 8, seed: 4, workers: 1, contextLength: 12))
        let session = try TrainingSession(
            trainer: trainer, loader: loader, outputDirectory: output, keepCheckpoints: 2, logEvery: 2, checkpointEvery: checkpointEvery,
            evaluateEvery: 4)
        session.handlesSignals = false
        let images = try LabeledImageSet(source: SyntheticSource(count: 10), labels: (0..<10).map { $0 % 5 })
        let task = try ZeroShotTask(images: images, classNames: ["cat", "dog", "boat", "tree", "car"], templates: ["a photo of a {}."], tokenizer: tokenizer)
        session.evaluate = { model in try task.scores(model: model) }
        return session
    }

    final class StopAfter: TrainingObserver {
        let step: Int
        init(step: Int) { self.step = step }
        func trainingDidStep(_ metrics: StepMetrics, session: TrainingSession) { if metrics.step == step { session.requestStop() } }
        func trainingDidEvaluate(_ evaluation: EvaluationRecord, session: TrainingSession) {}
        func trainingDidSaveCheckpoint(_ url: URL, session: TrainingSession) {}
    }

    /// 2N steps straight equal N steps, a checkpoint, new objects, N resumed steps: bit for bit (same thread count),
    /// across an epoch boundary (5 batches per epoch).
    @Test func resumeIsBitExact() throws {
        let tokenizer = try BPETokenizer.loadDefault()
        let straightFolder = try temporaryFolder("straight"), splitFolder = try temporaryFolder("split")
        defer {
            try? FileManager.default.removeItem(at: straightFolder)
            try? FileManager.default.removeItem(at: splitFolder)
        }
        let straight = try Self.makeSession(output: straightFolder, steps: 8, tokenizer: tokenizer)
        guard case .finished(let final?) = try straight.run() else { Issue.record("no final checkpoint"); return }
        #expect(final.lastPathComponent == "checkpoint-00000008.safetensors")

        let first = try Self.makeSession(output: splitFolder, steps: 8, tokenizer: tokenizer)
        let stopper = StopAfter(step: 3)
        first.observer = stopper
        guard case .interrupted(let saved?) = try first.run() else { Issue.record("the first half did not stop"); return }
        #expect(saved.lastPathComponent == "checkpoint-00000003.safetensors")
        let second = try Self.makeSession(output: splitFolder, steps: 8, tokenizer: tokenizer)
        try second.resume(from: saved)
        #expect(second.trainer.completedSteps == 3 && second.position.epoch == 0 && second.position.batchIndex == 3)
        guard case .finished = try second.run() else { Issue.record("the second half did not finish"); return }

        let a = straight.trainer.model.stateDict(), b = second.trainer.model.stateDict()
        #expect(a.keys.sorted() == b.keys.sorted())
        for (name, value) in a {
            let x = value.contiguous().scalars, y = b[name]!.contiguous().scalars
            #expect(zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(name) differs after resume")
        }
        let ma = straight.trainer.optimizer.stateTensors(), mb = second.trainer.optimizer.stateTensors()
        #expect(ma.keys.sorted() == mb.keys.sorted())
        for (name, value) in ma { #expect(value.contiguous().scalars == mb[name]!.contiguous().scalars, "optimizer \(name)") }
        // The history (steps and evaluations) continues as if uninterrupted, and metrics.jsonl holds it.
        #expect(second.history.steps.map(\.step) == straight.history.steps.map(\.step))
        #expect(second.history.steps.map(\.loss) == straight.history.steps.map(\.loss))
        #expect(second.history.evaluations == straight.history.evaluations)
        #expect(straight.history.evaluations.map(\.step) == [4, 8])
        let lines = try String(contentsOf: splitFolder.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == straight.history.steps.count + straight.history.evaluations.count)
        #expect(lines.filter { $0.hasPrefix("{\"type\":\"eval\"") }.count == 2)
        // Kept: the newest 2 checkpoints only.
        #expect(second.checkpoints!.checkpoints().map(\.step) == [3, 8])
    }

    @Test func checkpointsArePrunedAndLeftoversRemoved() throws {
        let tokenizer = try BPETokenizer.loadDefault()
        let folder = try temporaryFolder("prune")
        defer { try? FileManager.default.removeItem(at: folder) }
        let session = try Self.makeSession(output: folder, steps: 5, tokenizer: tokenizer, checkpointEvery: 1)
        let store = session.checkpoints!
        let leftover = store.directory.appendingPathComponent(".checkpoint-00000001.safetensors.tmp-\(try deadProcessID())-abc")
        try Data([1, 2, 3]).write(to: leftover)
        // A temporary file of a process that still runs (the test runner's parent) is left alone.
        let live = store.directory.appendingPathComponent(".checkpoint-00000002.safetensors.tmp-\(getppid())-abc")
        try Data([1]).write(to: live)
        _ = try session.run()
        #expect(store.checkpoints().map(\.step) == [4, 5])
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        #expect(FileManager.default.fileExists(atPath: live.path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("metrics.jsonl").path))
    }

    @Test func resumeRejectsAnotherRun() throws {
        let tokenizer = try BPETokenizer.loadDefault()
        let folder = try temporaryFolder("mismatch")
        defer { try? FileManager.default.removeItem(at: folder) }
        let session = try Self.makeSession(output: folder, steps: 2, tokenizer: tokenizer)
        guard case .finished(let saved?) = try session.run() else { Issue.record("no checkpoint"); return }
        // Other optimisation settings.
        let other = try Self.makeSession(output: nil, steps: 3, tokenizer: tokenizer)
        #expect(throws: TrainingError.self) { try other.resume(from: saved) }
        // Another batch size.
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(), seed: 11)
        let trainer = try CLIPTrainer(model: model, configuration: session.trainer.configuration)
        let loader = try ImageTextLoader(
            source: SyntheticSource(count: 40), tokenizer: tokenizer, text: .laclip(try LaCLIPTextSampler(rewriteCount: 2, seed: 4)),
            configuration: LoaderConfiguration(batchSize: 10, seed: 4, workers: 1, contextLength: 12))
        let wrongBatch = try TrainingSession(trainer: trainer, loader: loader, outputDirectory: nil)
        do {
            try wrongBatch.resume(from: saved)
            Issue.record("a checkpoint of batch 8 resumed with batch 10")
        } catch let error as TrainingError {
            #expect("\(error)".contains("loader.batchSize"))
        }
        // Not a checkpoint at all.
        let junk = folder.appendingPathComponent("junk.safetensors")
        try Data("not a checkpoint".utf8).write(to: junk)
        #expect(throws: TrainingError.self) { try TrainingCheckpoint.modelConfiguration(at: junk) }
    }

    @Test func curvesRenderAsSVG() {
        var history = TrainingHistory()
        for step in 1...5 {
            history.steps.append(StepMetrics(step: step, epoch: 0, loss: 5 - Double(step) * 0.5, imageToTextAccuracy: 0, textToImageAccuracy: 0,
                                             learningRate: 1e-3, logitScale: 14, gradientNorm: 1, imagesPerSecond: 1, seconds: 1))
        }
        history.evaluations = [EvaluationRecord(step: 5, epoch: 0, scores: ["zeroshot_top1": 0.4])]
        let svg = TrainingPlot.curves(of: [("clip", history), ("laclip <M=4>", history)]).svg()
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)  // the loss curves; one eval point each is a circle
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2)
        #expect(svg.components(separatedBy: ">clip</text>").count - 1 == 1)  // one legend for all panels
        #expect(TrainingPlot.ticks(0.457, 0.762) == [0.5, 0.6, 0.7] && TrainingPlot.ticks(1, 200) == [50, 100, 150, 200])
        #expect(svg.contains("laclip &lt;M=4&gt;") && svg.contains("zeroshot_top1") && svg.contains("training loss"))
    }
}
