// A program outside the repository that uses the package as a dependency (scripts/consumer-check.sh builds it):
// the bundled vocabulary from an unrelated working directory, two training steps of the `tiny` preset, and a
// checkpoint written and read back.
import Foundation
import LaCLIP

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("laclip-consumer-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }
guard FileManager.default.changeCurrentDirectoryPath(folder.path) else { fatalError("cannot enter \(folder.path)") }

let tokenizer = try BPETokenizer.loadDefault()
let ids = tokenizer.encode("a photo of a cat")
guard ids == [320, 1125, 539, 320, 2368] else { fatalError("unexpected token ids \(ids)") }
print("tokenized from \(FileManager.default.currentDirectoryPath): \(ids)")
print("templates bundled: \(try ZeroShot.imageNetTemplates().count), built-in captions: \(try FashionMNISTCaptions.builtIn().captions.count)")

let configuration = CLIPConfiguration.tiny
let trainer = try CLIPTrainer(model: CLIP(configuration: configuration, seed: 0), configuration: TrainerConfiguration(totalSteps: 2))
var generator = RandomGenerator(seed: 1)
let texts = (0..<8).map { "a photo of item number \($0)" }
for step in 0..<2 {
    let images = Tensor<Float>.randn([8, 3, configuration.vision.imageSize, configuration.vision.imageSize], generator: &generator)
    let batch = ImageTextBatch(images: images, tokens: tokenizer.tokenize(texts, contextLength: configuration.text.contextLength),
                               textVersions: 1, sampleIndices: Array(0..<8), epoch: 0, index: step)
    let metrics = try trainer.step(batch)
    print("step \(metrics.step): loss \(metrics.loss)")
}
let loader = try ImageTextLoader(
    source: FashionMNISTSampleSource(dataset: try FashionMNIST(split: .test), captions: Array(repeating: ["x"], count: 10000), size: 32),
    tokenizer: tokenizer, configuration: LoaderConfiguration(batchSize: 8, workers: 0, contextLength: configuration.text.contextLength))
let url = folder.appendingPathComponent("checkpoint.safetensors")
try TrainingCheckpoint.save(trainer: trainer, loader: loader, position: loader.startPosition(epoch: 0), history: TrainingHistory(), to: url)
let restored = try CLIPTrainer(model: CLIP(configuration: try TrainingCheckpoint.modelConfiguration(at: url), seed: 9), configuration: TrainerConfiguration(totalSteps: 2))
let progress = try TrainingCheckpoint.load(into: restored, loader: loader, from: url)
guard progress.step == 2, restored.model.stateDict()["text_projection"]!.scalars == trainer.model.stateDict()["text_projection"]!.scalars else {
    fatalError("the checkpoint did not restore the trained parameters")
}
print("checkpoint written and restored at step \(progress.step): consumer check passed")


/// The README's usage example, compiled here so that it stays true (not run: it trains for a while).
func readmeExample() throws {

    // LaTensor: tensors, views, BLAS.
    var generator = RandomGenerator(seed: 0)
    let x = Tensor<Float>.randn([64, 192], generator: &generator)
    let w = Tensor<Float>.randn([768, 192], generator: &generator)
    let y = x.matmul(w.transposed()).gelu()          // the transpose reaches BLAS as a flag, no copy

    // LaData: the tokenizer (vocabulary bundled) and a loader with LaCLIP's caption sampling.
    let tokenizer = try BPETokenizer.loadDefault()
    let images = try FashionMNIST(split: .train), captions = try FashionMNISTCaptions.builtIn()
    let source = try FashionMNISTSampleSource(dataset: images, captions: captions.captionLists(for: images), size: 28)
    let loader = try ImageTextLoader(source: source, tokenizer: tokenizer,
                                     text: .laclip(try LaCLIPTextSampler(rewriteCount: captions.rewriteCount, seed: 0)),
                                     configuration: LoaderConfiguration(batchSize: 128, contextLength: 24))

    // LaCLIP (+ LaNN): a trainer, one step per batch, a checkpoint.
    let trainer = try CLIPTrainer(model: CLIP(configuration: .mini28), configuration: TrainerConfiguration(learningRate: 1e-3, totalSteps: 200))
    let batches = try loader.makeIterator(epoch: 0)
    while let batch = try batches.next(), trainer.completedSteps < 200 {
        print(try trainer.step(batch).loss)             // StepMetrics: loss, accuracies, lr, scale, gradient norm, images/s
    }
    try OpenCLIPInterop.export(trainer.model, name: "mini", to: URL(fileURLWithPath: "export"))  // open_clip loads it
}
