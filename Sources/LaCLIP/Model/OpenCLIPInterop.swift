import Foundation
import LaNN
import LaTensor

/// Moving models between this package and open_clip: state dicts (safetensors with open_clip's keys) and
/// open_clip's model-config JSON (`embed_dim`, `vision_cfg`, `text_cfg`, `quick_gelu`).
///
/// An exported pair loads in Python with
/// `open_clip.add_model_config("NAME.json"); open_clip.create_model("NAME", pretrained="NAME.safetensors")`.
public enum OpenCLIPInterop {
    /// A model or file that cannot move between the two.
    public struct InteropError: Error, CustomStringConvertible, Equatable, Sendable {
        /// The file concerned (or "model configuration").
        public let file: String
        /// What is wrong.
        public let message: String
        /// `file: message`.
        public var description: String { "\(file): \(message)" }
    }

    /// open_clip's model-config JSON for a configuration.
    /// - Parameter configuration: The model's shape.
    /// - Returns: The JSON object (as sorted, pretty-printed data).
    /// - Throws: `InteropError` for a shape open_clip's `CLIP` class cannot express (qk-norm, a LayerNorm epsilon
    ///   other than 1e-5, different activations in the two towers, vision width not divisible by its heads).
    public static func modelConfigJSON(_ configuration: CLIPConfiguration) throws -> Data {
        let vision = configuration.vision, text = configuration.text
        func unsupported(_ message: String) -> InteropError { InteropError(file: "model configuration", message: message) }
        guard !vision.qkNorm else { throw unsupported("open_clip's CLIP has no qk-norm in the vision tower") }
        guard vision.layerNormEpsilon == 1e-5 else {
            throw unsupported("open_clip's CLIP uses LayerNorm epsilon 1e-5, the vision tower has \(vision.layerNormEpsilon)")
        }
        guard vision.activation == text.activation else {
            throw unsupported("open_clip's quick_gelu applies to both towers; they differ (\(vision.activation) vs \(text.activation))")
        }
        guard vision.heads > 0, vision.width % vision.heads == 0 else {
            throw unsupported("vision width \(vision.width) is not divisible by \(vision.heads) heads")
        }
        var object: [String: Any] = [
            "embed_dim": configuration.embedDimension,
            "quick_gelu": vision.activation == .quickGELU,
            "vision_cfg": [
                "image_size": vision.imageSize, "patch_size": vision.patchSize, "width": vision.width, "layers": vision.layers,
                "head_width": vision.width / vision.heads, "mlp_ratio": vision.mlpRatio,
            ] as [String: Any],
            "text_cfg": [
                "context_length": text.contextLength, "vocab_size": text.vocabularySize, "width": text.width, "heads": text.heads,
                "layers": text.layers, "mlp_ratio": text.mlpRatio,
            ] as [String: Any],
        ]
        if configuration.sigmoidLoss {
            object["init_logit_scale"] = Foundation.log(10.0)
            object["init_logit_bias"] = -10.0
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Reads open_clip's model-config JSON (as in `open_clip/model_configs/*.json`) into a configuration.
    /// - Parameter url: The JSON file.
    /// - Returns: The configuration.
    /// - Throws: `InteropError` naming the file and field for a missing or malformed field, or a tower type this
    ///   package does not build (timm, HF text towers, ...).
    public static func configuration(contentsOf url: URL) throws -> CLIPConfiguration {
        let file = url.path
        guard let data = FileManager.default.contents(atPath: file) else { throw InteropError(file: file, message: "cannot read file") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw InteropError(file: file, message: "not a JSON object")
        }
        func section(_ key: String) throws -> [String: Any] {
            guard let value = object[key] as? [String: Any] else { throw InteropError(file: file, message: "field '\(key)' is missing or not an object") }
            return value
        }
        func integer(_ dictionary: [String: Any], _ key: String, _ path: String, default value: Int? = nil) throws -> Int {
            if dictionary[key] == nil, let value { return value }
            guard let number = dictionary[key] as? NSNumber, let exact = Int(exactly: number.doubleValue), exact > 0, exact < 1 << 24 else {
                throw InteropError(file: file, message: "field '\(path).\(key)' is missing or not a positive integer")
            }
            return exact
        }
        func real(_ dictionary: [String: Any], _ key: String, _ path: String, default value: Double) throws -> Double {
            guard let raw = dictionary[key] else { return value }
            guard let number = raw as? NSNumber, number.doubleValue.isFinite, number.doubleValue > 0 else {
                throw InteropError(file: file, message: "field '\(path).\(key)' is not a positive number")
            }
            return number.doubleValue
        }
        let visionObject = try section("vision_cfg"), textObject = try section("text_cfg")
        for key in ["timm_model_name", "hf_model_name"] where (visionObject[key] ?? textObject[key]).map({ !($0 is NSNull) }) == true {
            throw InteropError(file: file, message: "'\(key)' towers are not supported (only open_clip's own ViT and text transformer)")
        }
        if visionObject["layers"] is [Any] { throw InteropError(file: file, message: "ResNet vision towers are not supported") }
        let embed = try integer(object, "embed_dim", "")
        let quick = (object["quick_gelu"] as? Bool) ?? false
        let width = try integer(visionObject, "width", "vision_cfg", default: 768)
        let headWidth = try integer(visionObject, "head_width", "vision_cfg", default: 64)
        guard width % headWidth == 0 else { throw InteropError(file: file, message: "vision_cfg.width \(width) is not a multiple of head_width \(headWidth)") }
        let imageSize = try integer(visionObject, "image_size", "vision_cfg", default: 224)
        let patchSize = try integer(visionObject, "patch_size", "vision_cfg", default: 16)
        guard imageSize % patchSize == 0 else { throw InteropError(file: file, message: "vision_cfg.image_size is not a multiple of patch_size") }
        let vision = CLIPConfiguration.Vision(
            imageSize: imageSize, patchSize: patchSize, width: width,
            layers: try integer(visionObject, "layers", "vision_cfg", default: 12), heads: width / headWidth,
            mlpRatio: try real(visionObject, "mlp_ratio", "vision_cfg", default: 4), activation: quick ? .quickGELU : .gelu)
        let textWidth = try integer(textObject, "width", "text_cfg", default: 512)
        let heads = try integer(textObject, "heads", "text_cfg", default: 8)
        guard textWidth % heads == 0 else { throw InteropError(file: file, message: "text_cfg.width \(textWidth) is not divisible by heads \(heads)") }
        let text = CLIPConfiguration.Text(
            contextLength: try integer(textObject, "context_length", "text_cfg", default: 77),
            vocabularySize: try integer(textObject, "vocab_size", "text_cfg", default: 49408), width: textWidth, heads: heads,
            layers: try integer(textObject, "layers", "text_cfg", default: 12),
            mlpRatio: try real(textObject, "mlp_ratio", "text_cfg", default: 4), activation: quick ? .quickGELU : .gelu)
        return CLIPConfiguration(vision: vision, text: text, embedDimension: embed, sigmoidLoss: object["init_logit_bias"] != nil)
    }

    /// Writes a model as open_clip's state dict (`NAME.safetensors`, Float32, exactly the keys of open_clip's
    /// `state_dict()`) and model config (`NAME.json`).
    /// - Parameters:
    ///   - model: The model.
    ///   - name: The model name (file stem; the name `create_model` is called with).
    ///   - directory: The output folder (created).
    /// - Returns: The weights and config files.
    /// - Throws: `InteropError` for a configuration open_clip cannot express, file errors.
    @discardableResult
    public static func export(_ model: CLIP<Float>, name: String, to directory: URL) throws -> (weights: URL, config: URL) {
        guard !name.isEmpty, !name.contains("/") else { throw InteropError(file: name, message: "the model name must be a plain file stem") }
        let config = try modelConfigJSON(model.configuration)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let weights = directory.appendingPathComponent(name + ".safetensors")
        let configURL = directory.appendingPathComponent(name + ".json")
        try SafeTensorsFile.write(model.stateDict(), metadata: ["format": "pt"], to: weights)
        try config.write(to: configURL, options: .atomic)
        return (weights, configURL)
    }

    /// Loads an open_clip state dict (safetensors, as `safetensors.torch.save_file(model.state_dict())` writes it)
    /// into a model, e.g. to fine-tune from it. A leading `module.` (DDP) or a `state_dict.` wrapper prefix is
    /// stripped; `text.transformer.embeddings.position_ids` and `attn_mask` buffers are ignored.
    /// - Parameters:
    ///   - url: The safetensors file.
    ///   - model: The model; its configuration must match the weights.
    /// - Throws: `InteropError` for an unreadable file, `StateDictError` listing missing, unexpected and misshapen keys.
    public static func loadStateDict(from url: URL, into model: CLIP<Float>) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(contentsOf: url) } catch {
            throw InteropError(file: url.path, message: "cannot read the state dict: \(error)")
        }
        var state: [String: Tensor<Float>] = [:]
        for (key, value) in try file.tensors(as: Float.self) {
            var name = key
            for prefix in ["state_dict.", "module."] where name.hasPrefix(prefix) { name = String(name.dropFirst(prefix.count)) }
            if name.hasSuffix("position_ids") || name == "attn_mask" || name.hasSuffix(".attn_mask") { continue }
            state[name] = value
        }
        // open_clip may store logit_scale as shape [1] or []; the model keeps a 0-D tensor.
        for key in ["logit_scale", "logit_bias"] {
            if let value = state[key], value.count == 1 { state[key] = value.reshaped([]) }
        }
        try model.loadStateDict(state, strict: true)
    }
}
