import ArgumentParser
import Foundation
import LaCLIP

/// `laclip export`: a checkpoint as an open_clip state dict and model config.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint as an open_clip state dict (NAME.safetensors) and model config (NAME.json).",
        discussion: """
            In Python:  open_clip.add_model_config("DIR/NAME.json")
                        model = open_clip.create_model("NAME", pretrained="DIR/NAME.safetensors")
            """)

    @Option(help: "A checkpoint written by 'laclip train'.") var checkpoint: String
    @Option(help: "The model name (file stem of both files).") var name = "laclip-model"
    @Option(help: "Output folder.") var output: String

    func run() throws {
        let url = URL(fileURLWithPath: checkpoint)
        let model = CLIP<Float>(configuration: try TrainingCheckpoint.modelConfiguration(at: url))
        try TrainingCheckpoint.loadModel(into: model, from: url)
        let (weights, config) = try OpenCLIPInterop.export(model, name: name, to: URL(fileURLWithPath: output))
        print("wrote \(weights.path) and \(config.path)")
    }
}
