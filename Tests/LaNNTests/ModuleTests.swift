import Foundation
import Testing
import LaTensor
@testable import LaNN

@Suite struct ModuleTests {
    @Test func parameterPathsFollowPyTorchNames() {
        var generator = RandomGenerator(seed: 0)
        let transformer = Transformer<Float>(width: 8, layers: 2, heads: 2, generator: &generator)
        let names = transformer.namedParameters().map(\.name)
        #expect(names.first == "resblocks.0.ln_1.weight")
        #expect(names.contains("resblocks.1.attn.in_proj_weight"))
        #expect(names.contains("resblocks.1.attn.in_proj_bias"))
        #expect(names.contains("resblocks.0.attn.out_proj.weight"))
        #expect(names.contains("resblocks.0.mlp.c_fc.weight"))
        #expect(names.contains("resblocks.0.mlp.c_proj.bias"))
        #expect(names.count == 2 * 12)
        let qk = MultiheadAttention<Float>(width: 8, heads: 2, qkNorm: true, generator: &generator)
        #expect(qk.namedParameters().map(\.name) == [
            "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias",
            "q_norm.weight", "q_norm.bias", "k_norm.weight", "k_norm.bias",
        ])
    }

    @Test func clipInitialisationUsesWidthAndDepthScaledStandardDeviations() {
        var generator = RandomGenerator(seed: 3)
        let width = 64, layers = 4
        let transformer = Transformer<Double>(width: width, layers: layers, heads: 4, generator: &generator)
        let block = transformer.blocks[0]
        func std(_ t: Tensor<Double>) -> Double { t.variance(correction: 0).sqrt().item }
        let attention = 1 / Double(width).squareRoot()
        #expect(Swift.abs(std(block.attention.inProjWeight.value) / attention - 1) < 0.05)
        #expect(Swift.abs(std(block.mlp.fc.weight.value) / (1 / Double(2 * width).squareRoot()) - 1) < 0.05)
        #expect(Swift.abs(std(block.mlp.proj.weight.value) / (attention / Double(2 * layers).squareRoot()) - 1) < 0.05)
    }

    @Test func freezingAndModes() {
        let model = TinyNet<Float>(seed: 1)
        model.setFrozen(true) { $0.hasPrefix("fc1.") }
        #expect(!model.fc1.weight.requiresGrad && model.fc2.weight.requiresGrad)
        model.setTraining(false)
        #expect(!model.dropout.isTraining)
        let x = Variable(Tensor<Float>.ones([2, 4]))
        #expect(model(x).value.scalars == model(x).value.scalars)  // dropout off: deterministic
        let groups = ParameterGroup.clipStyle(model.namedParameters(), weightDecay: 0.2)
        #expect(groups[0].parameters.map(\.name) == ["norm.weight", "norm.bias", "fc2.bias"])
        #expect(groups[1].parameters.map(\.name) == ["fc2.weight"])
        #expect(groups[1].weightDecay == 0.2)
    }

    @Test func stateDictRoundTripAndOneErrorForAllProblems() throws {
        let source = TinyNet<Double>(seed: 1), target = TinyNet<Double>(seed: 2)
        try target.loadStateDict(source.stateDict())
        #expect(target.fc1.weight.value.scalars == source.fc1.weight.value.scalars)
        var state = source.stateDict()
        state.removeValue(forKey: "fc2.bias")
        state["fc1.weight"] = Tensor<Double>.zeros([3, 3])
        state["extra.weight"] = Tensor<Double>.zeros([1])
        do {
            try target.loadStateDict(state)
            Issue.record("expected a StateDictError")
        } catch let error as StateDictError {
            #expect(error.missingKeys == ["fc2.bias"])
            #expect(error.unexpectedKeys == ["extra.weight"])
            #expect(error.shapeMismatches == [.init(key: "fc1.weight", expected: [8, 4], found: [3, 3])])
            #expect(error.description.contains("fc1.weight"))
        }
        // Nothing was changed by the failed load.
        #expect(target.fc1.weight.value.scalars == source.fc1.weight.value.scalars)
    }

    @Test func gradientsComeBackInTheParameterTree() {
        let model = TinyNet<Float>(seed: 4)
        var data = RandomGenerator(seed: 5)
        model.loss(Tensor<Float>.randn([8, 4], generator: &data), labels: Tensor<Int>([0, 1, 2, 0, 1, 2, 0, 1])).backward()
        let grads = model.namedGradients()
        #expect(Set(grads.keys) == Set(model.namedParameters().map(\.name)))
        #expect(grads["fc1.weight"]!.shape == [8, 4])
    }

    @Test func conv2dPatchesEqualADirectConvolution() {
        var generator = RandomGenerator(seed: 6)
        let conv = Conv2d<Double>(inChannels: 2, outChannels: 3, kernelSize: 2, bias: true, generator: &generator)
        let x = Tensor<Double>.randn([1, 2, 4, 6], generator: &generator)
        let y = conv(Variable(x)).value
        #expect(y.shape == [1, 3, 2, 3])
        let w = conv.weight.value, b = conv.bias!.value
        for o in 0..<3 { for i in 0..<2 { for j in 0..<3 {
            var expected = b[element: o]
            for c in 0..<2 { for di in 0..<2 { for dj in 0..<2 {
                expected += w[element: o, c, di, dj] * x[element: 0, c, 2 * i + di, 2 * j + dj]
            } } }
            #expect(Swift.abs(y[element: 0, o, i, j] - expected) < 1e-12)
        } } }
    }
}

@Suite struct TrainingStateTests {
    func makeOptimizer(_ model: TinyNet<Float>) -> Adam<Float> {
        Adam.adamW(groups: ParameterGroup.clipStyle(model.namedParameters(), weightDecay: 0.1), learningRate: 1e-2, beta2: 0.98, epsilon: 1e-6)
    }

    @Test func resumedTrainingMatchesUninterruptedTrainingBitForBit() throws {
        let schedule = LearningRateSchedule.warmupCosine(base: 1e-2, warmup: 2, total: 8)
        // Uninterrupted: 8 steps.
        let reference = TinyNet<Float>(seed: 7)
        let referenceOptimizer = makeOptimizer(reference)
        var referenceData = RandomGenerator(seed: 99)
        for step in 0..<8 { trainStep(reference, referenceOptimizer, schedule: schedule, step: step, data: &referenceData) }

        // Interrupted after 3 steps, saved, restored into fresh objects, then 5 more steps.
        let first = TinyNet<Float>(seed: 7)
        let firstOptimizer = makeOptimizer(first)
        var data = RandomGenerator(seed: 99)
        for step in 0..<3 { trainStep(first, firstOptimizer, schedule: schedule, step: step, data: &data) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-state-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try TrainingState.save(model: first, optimizer: firstOptimizer, step: 3, schedule: schedule, generators: ["data": data], to: url)

        let resumed = TinyNet<Float>(seed: 12345)
        let resumedOptimizer = makeOptimizer(resumed)
        let progress = try TrainingState.load(into: resumed, optimizer: resumedOptimizer, from: url)
        #expect(progress.step == 3)
        #expect(progress.schedule == schedule)
        var resumedData = try #require(progress.generators["data"])
        #expect(resumed.dropout.generator == first.dropout.generator)
        for step in progress.step..<8 { trainStep(resumed, resumedOptimizer, schedule: progress.schedule!, step: step, data: &resumedData) }

        for ((name, a), (_, b)) in zip(reference.namedParameters(), resumed.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "parameter \(name) differs after resuming")
        }
        #expect(resumedOptimizer.stepCount == referenceOptimizer.stepCount)
    }

    @Test func largeGeneratorStatesSurviveTheRoundTrip() throws {
        let model = TinyNet<Float>(seed: 1)
        let optimizer = makeOptimizer(model)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-state-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let generator = RandomGenerator(seed: UInt64.max - 3, counter: 1 << 60 + 7)
        try TrainingState.save(model: model, optimizer: optimizer, step: 0, generators: ["g": generator], to: url)
        let progress = try TrainingState.load(into: TinyNet<Float>(seed: 2), optimizer: optimizer, from: url)
        #expect(progress.generators["g"] == generator)
    }

    /// A saved per-parameter step that is NaN, infinite, negative, fractional or beyond Int's range is a typed error
    /// naming the file and the key (it trapped in `Int(value.item)` before).
    @Test(arguments: [Float.nan, .infinity, -.infinity, -1, 2.5, 1e30])
    func aCorruptOptimizerStepIsATypedError(step: Float) throws {
        let model = TinyNet<Float>(seed: 1)
        let optimizer = makeOptimizer(model)
        var data = RandomGenerator(seed: 3)
        trainStep(model, optimizer, schedule: .constant(base: 1e-2), step: 0, data: &data)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-state-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try TrainingState.save(model: model, optimizer: optimizer, step: 1, to: url)
        let file = try SafeTensorsFile.read(contentsOf: url)
        var tensors = try file.tensors(as: Float.self)
        let key = try #require(tensors.keys.sorted().first { $0.hasPrefix("optimizer.") && $0.hasSuffix(".step") })
        tensors[key] = Tensor(scalar: step)
        try SafeTensorsFile.write(tensors, metadata: file.metadata, to: url)
        let fresh = TinyNet<Float>(seed: 2)
        do {
            _ = try TrainingState.load(into: fresh, optimizer: makeOptimizer(fresh), from: url)
            Issue.record("a step of \(step) was accepted")
        } catch let error as TrainingStateError {
            #expect("\(error)".contains(url.path) && "\(error)".contains(String(key.dropFirst("optimizer.".count))), "\(error)")
        }
    }

    @Test func aFileThatIsNotATrainingStateIsRejected() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-plain-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensorsFile.write(["w": Tensor<Float>.zeros([2])], to: url)
        let model = TinyNet<Float>(seed: 1)
        #expect(throws: TrainingStateError.notATrainingState(file: url.path)) {
            _ = try TrainingState.load(into: model, optimizer: makeOptimizer(model), from: url)
        }
    }
}

@Suite struct MemoryTests {
    @Test func fiftyTrainingStepsDoNotGrowMemory() {
        var generator = RandomGenerator(seed: 11)
        let block = ResidualAttentionBlock<Float>(width: 16, heads: 2, generator: &generator)
        let optimizer = Adam.adamW(groups: ParameterGroup.clipStyle(block.namedParameters(), weightDecay: 0.1), learningRate: 1e-3)
        var afterWarmup = 0, afterFifty = 0
        TensorMemory.track { tracker in
            for step in 0..<50 {
                let x = Variable(Tensor<Float>.randn([4, 9, 16], generator: &generator))
                optimizer.zeroGrad()
                block(x, causal: true).square().mean().backward()
                optimizer.step()
                optimizer.zeroGrad()
                if step == 4 { afterWarmup = tracker.liveBytes }
                if step == 49 { afterFifty = tracker.liveBytes }
            }
        }
        #expect(afterWarmup > 0)
        #expect(afterFifty == afterWarmup)
    }

    @Test func backwardReleasesSavedIntermediates() {
        weak var hidden: Variable<Float>?
        let x = Variable(Tensor<Float>.ones([3]), requiresGrad: true)
        do {
            let h = x.exp()
            hidden = h
            let loss = (h * h).sum()
            loss.backward()
        }
        #expect(hidden == nil)
    }
}
