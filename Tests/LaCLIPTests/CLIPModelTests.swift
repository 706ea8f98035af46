import Foundation
import Testing
import LaTensor
import LaNN
@testable import LaCLIP

/// The folder of this test target's reference files.
let laclipResources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources")

@Suite struct CLIPModelTests {
    /// The configuration of the model `make_clip_reference.py` builds.
    static let referenceConfiguration = CLIPConfiguration(
        vision: .init(imageSize: 32, patchSize: 8, width: 32, layers: 2, heads: 2),
        text: .init(contextLength: 12, vocabularySize: 600, width: 32, heads: 2, layers: 2),
        embedDimension: 16)

    @Test func openCLIPStateDictLoadsAndEmbeddingsMatch() throws {
        let file = try SafeTensorsFile.read(contentsOf: laclipResources.appendingPathComponent("clip_reference.safetensors"))
        var state: [String: Tensor<Float>] = [:]
        for name in file.names where name.hasPrefix("model.") {
            state[String(name.dropFirst(6))] = try file.tensor(named: name, as: Float.self)
        }
        let model = CLIP<Float>(configuration: Self.referenceConfiguration, seed: 1)
        // Strict: every open_clip key is a parameter of ours and vice versa.
        try model.loadStateDict(state, strict: true)
        #expect(Set(model.namedParameters().map(\.name)) == Set(state.keys))

        let images = try file.tensor(named: "input.images", as: Float.self)
        let tokens = try file.tensor(named: "input.tokens", as: Int.self)
        let checks: [(Tensor<Float>, String)] = withNoGrad {
            [
                (model.encodeImage(images).value, "output.image_features"),
                (model.encodeText(tokens).value, "output.text_features"),
                (model.encodeImage(images, normalize: true).value, "output.image_normalized"),
                (model.encodeText(tokens, normalize: true).value, "output.text_normalized"),
            ]
        }
        for (ours, key) in checks {
            let reference = try file.tensor(named: key, as: Float.self)
            #expect(ours.shape == reference.shape)
            let scale = reference.abs().max().item
            let error = (ours - reference).abs().max().item
            #expect(error <= 1e-4 * scale, "\(key): max error \(error) relative to \(scale)")
        }
    }

    @Test func parameterNamesFollowOpenCLIP() {
        let model = CLIP<Float>(configuration: Self.referenceConfiguration)
        let names = Set(model.namedParameters().map(\.name))
        for key in [
            "visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight",
            "visual.transformer.resblocks.0.attn.in_proj_weight", "visual.ln_post.bias", "visual.proj",
            "token_embedding.weight", "positional_embedding", "transformer.resblocks.1.mlp.c_proj.weight",
            "ln_final.weight", "text_projection", "logit_scale",
        ] {
            #expect(names.contains(key), "missing \(key)")
        }
        #expect(!names.contains("visual.conv1.bias"))
    }

    @Test func presetsHaveTheDocumentedShapes() {
        let tiny = CLIPConfiguration.tiny
        #expect(tiny.vision.imageSize == 32 && tiny.vision.patchSize == 4 && tiny.vision.width == 192)
        #expect(tiny.vision.layers == 6 && tiny.vision.heads == 3 && tiny.vision.mlpRatio == 4)
        #expect(tiny.text.contextLength == 32 && tiny.text.vocabularySize == 49408 && tiny.text.width == 192)
        #expect(tiny.text.layers == 6 && tiny.text.heads == 3 && tiny.embedDimension == 128)
        #expect(CLIPConfiguration.vitB16.vision.patchSize == 16 && CLIPConfiguration.vitB32.vision.patchSize == 32)
        #expect(CLIPConfiguration.laclipViTB16.vision.qkNorm)
        #expect(CLIPConfiguration.preset(named: "LaCLIP-ViT-B-16") == .laclipViTB16)
        let model = CLIP<Float>(configuration: .tiny)
        #expect(model.visual.positionalEmbedding.shape == [65, 192])
        #expect(Swift.abs(Double(model.logitScale.value.item) - Foundation.log(1 / 0.07)) < 1e-6)
    }

    @Test func logitScaleIsClampedToLog100() {
        let model = CLIP<Float>(configuration: Self.referenceConfiguration)
        model.logitScale.value.fill(7)
        model.clampLogitScale()
        #expect(Swift.abs(Double(model.logitScale.value.item) - Foundation.log(100.0)) < 1e-6)
        model.logitScale.value.fill(-1)
        model.clampLogitScale()
        #expect(model.logitScale.value.item == 0)
    }

    @Test func qkNormModelRunsAndHasPerHeadNorms() {
        var configuration = Self.referenceConfiguration
        configuration.vision.qkNorm = true
        configuration.vision.layerNormEpsilon = 1e-6
        let model = CLIP<Double>(configuration: configuration)
        let names = model.namedParameters().map(\.name)
        #expect(names.contains("visual.transformer.resblocks.0.attn.q_norm.weight"))
        #expect(model.visual.transformer.blocks[0].attention.queryNorm!.weight.shape == [16])
        var generator = RandomGenerator(seed: 2)
        let images = Tensor<Double>.randn([2, 3, 32, 32], generator: &generator)
        let features = model.encodeImage(images, normalize: true)
        #expect(features.shape == [2, 16])
        features.sum().backward()
        #expect(model.visual.transformer.blocks[0].attention.queryNorm!.weight.grad != nil)
    }
}
