import Foundation
import Testing
@testable import LaCLIP

@Suite struct OpenCLIPInteropTests {
    @Test func exportedWeightsLoadBackExactly() throws {
        let folder = try temporaryFolder("export")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(vocabulary: 300), seed: 21)
        model.logitScale.value.storage.pointer[0] = 3.3
        let (weights, config) = try OpenCLIPInterop.export(model, name: "tiny-test", to: folder)
        #expect(try OpenCLIPInterop.configuration(contentsOf: config) == model.configuration)
        let file = try SafeTensorsFile.read(contentsOf: weights)
        #expect(Set(file.names) == Set(model.namedParameters().map(\.name)))
        let copy = CLIP<Float>(configuration: model.configuration, seed: 99)
        try OpenCLIPInterop.loadStateDict(from: weights, into: copy)
        for (name, value) in model.stateDict() { #expect(copy.stateDict()[name]!.scalars == value.scalars, "\(name)") }
    }

    @Test func configJSONHasOpenCLIPFields() throws {
        let data = try OpenCLIPInterop.modelConfigJSON(.tiny)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(object["embed_dim"] as? Int == 128 && object["quick_gelu"] as? Bool == false)
        let vision = object["vision_cfg"] as! [String: Any], text = object["text_cfg"] as! [String: Any]
        #expect(vision["head_width"] as? Int == 64 && vision["patch_size"] as? Int == 4 && vision["image_size"] as? Int == 32)
        #expect(text["context_length"] as? Int == 32 && text["heads"] as? Int == 3 && text["vocab_size"] as? Int == 49408)
        // Shapes open_clip's CLIP cannot express are refused, not exported wrongly.
        #expect(throws: OpenCLIPInterop.InteropError.self) { try OpenCLIPInterop.modelConfigJSON(.laclipViTB16) }
        // open_clip's ViT-B-32.json reads as our preset.
        let folder = try temporaryFolder("config")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("ViT-B-32.json")
        try Data("""
            {"embed_dim": 512, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32},
             "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12}}
            """.utf8).write(to: url)
        #expect(try OpenCLIPInterop.configuration(contentsOf: url) == .vitB32)
        try Data(#"{"embed_dim": 512, "vision_cfg": {"width": "wide"}, "text_cfg": {}}"#.utf8).write(to: url)
        #expect(throws: OpenCLIPInterop.InteropError.self) { try OpenCLIPInterop.configuration(contentsOf: url) }
    }

    @Test func loadingAMismatchedStateDictNamesTheKeys() throws {
        let folder = try temporaryFolder("mismatch")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(vocabulary: 300), seed: 1)
        let (weights, _) = try OpenCLIPInterop.export(model, name: "m", to: folder)
        let other = CLIP<Float>(configuration: smallTrainingConfiguration(vocabulary: 301), seed: 1)
        do {
            try OpenCLIPInterop.loadStateDict(from: weights, into: other)
            Issue.record("a state dict of another shape loaded")
        } catch {
            #expect("\(error)".contains("token_embedding.weight"))
        }
    }

    /// The round trip through Python: `open_clip.create_model(name, pretrained=path)` loads the export and computes the
    /// same embeddings. Runs when `LACLIP_REFERENCE_PYTHON` names a Python with torch and open-clip-torch.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LACLIP_REFERENCE_PYTHON"] != nil))
    func openCLIPLoadsTheExport() async throws {
        let python = ProcessInfo.processInfo.environment["LACLIP_REFERENCE_PYTHON"]!
        let folder = try temporaryFolder("python")
        defer { try? FileManager.default.removeItem(at: folder) }
        // A briefly trained model, so that no parameter keeps its initial value.
        let model = CLIP<Float>(configuration: smallTrainingConfiguration(), seed: 8)
        let trainer = try CLIPTrainer(model: model, configuration: TrainerConfiguration(learningRate: 1e-2, totalSteps: 3))
        for step in 0..<3 { try trainer.step(randomBatch(count: 8, seed: UInt64(step), vocabulary: 49408)) }
        try OpenCLIPInterop.export(model, name: "laclip-roundtrip", to: folder)
        let io = randomBatch(count: 4, seed: 77, vocabulary: 49408)
        let (images, texts) = withNoGrad { (model.encodeImage(io.images).value, model.encodeText(io.tokens).value) }
        try SafeTensorsFile.write(
            ["images": SafeTensorsFile.AnyTensor(io.images), "tokens": SafeTensorsFile.AnyTensor(io.tokens), "image_features": SafeTensorsFile.AnyTensor(images),
             "text_features": SafeTensorsFile.AnyTensor(texts), "logit_scale": SafeTensorsFile.AnyTensor(model.logitScale.value)],
            to: folder.appendingPathComponent("io.safetensors"))
        let (process, output) = try await runProgram(
            URL(fileURLWithPath: python), [laclipResources.appendingPathComponent("check_open_clip_export.py").path, folder.path, "laclip-roundtrip"])
        #expect(process.terminationStatus == 0, "\(output)")
    }
}
