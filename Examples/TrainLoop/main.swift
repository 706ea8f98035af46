// The whole CLIP training loop, top to bottom, without the trainer: data, model, AdamW, and every step spelled
// out (learning rate, forward, loss, backward, update, temperature clamp), then zero-shot accuracy.
// `CLIPTrainer` / `TrainingSession` / `laclip train` do exactly this, plus accumulation, checkpoints and resume.
//
//   swift run -c release TrainLoop            # CLIP on the built-in data, 150 steps
//   swift run -c release TrainLoop laclip-mt  # LaCLIP-MT: every rewrite of every caption in each step
import Foundation
import LaCLIP

let mode = CommandLine.arguments.dropFirst().first ?? "clip"
let steps = 150, batchSize = 128, seed: UInt64 = 0

// 1. Data: Fashion-MNIST images with captions (original first, then rewrites), shifted by up to 2 px.
let normalize = Normalize(mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353])
let images = try FashionMNIST(split: .train)
let captions = try FashionMNISTCaptions.builtIn()  // bundled with the package
let source = try FashionMNISTSampleSource(dataset: images, captions: captions.captionLists(for: images), size: 28, normalize: normalize, maximumShift: 2)
let text: TextSelection = mode == "laclip-mt" ? .multiText(try MultiTextSampler(rewriteCount: captions.rewriteCount))
    : mode == "laclip" ? .laclip(try LaCLIPTextSampler(rewriteCount: captions.rewriteCount, seed: seed)) : .original
let tokenizer = try BPETokenizer.loadDefault()
let loader = try ImageTextLoader(source: source, tokenizer: tokenizer, text: text,
                                 configuration: LoaderConfiguration(batchSize: batchSize, seed: seed, contextLength: 24))

// 2. Model and optimizer: AdamW without weight decay on gains, biases and the temperature; warmup + cosine.
let model = CLIP<Float>(configuration: .mini28, seed: seed)
let optimizer = Adam.adamW(groups: ParameterGroup.clipStyle(model.namedParameters(), weightDecay: 0.1),
                           learningRate: 1e-3, beta1: 0.9, beta2: 0.98, epsilon: 1e-6)
let schedule = LearningRateSchedule.warmupCosine(base: 1e-3, warmup: 30, total: steps)

// 3. The loop.
var epoch = 0, step = 0
var batches = try loader.makeIterator(epoch: epoch)
while step < steps {
    guard let batch = try batches.next() else {  // end of the epoch: start the next one
        epoch += 1
        batches = try loader.makeIterator(epoch: epoch)
        continue
    }
    optimizer.learningRate = Float(schedule.learningRate(at: step))
    optimizer.zeroGrad()
    let imageFeatures = model.encodeImage(batch.images, normalize: true)  // [B, 64]
    let textFeatures = model.encodeText(batch.tokens, normalize: true)    // [V·B, 64], version-major
    let scale = model.logitScale.exp()
    let output = batch.textVersions == 1
        ? clipLoss(imageFeatures: imageFeatures, textFeatures: textFeatures, logitScale: scale)
        : multiTextCLIPLoss(imageFeatures: imageFeatures, textFeatures: textFeatures, versions: batch.textVersions, logitScale: scale)
    output.loss.backward()
    optimizer.step()
    model.clampLogitScale()
    step += 1
    if step % 25 == 0 || step == 1 {
        print(String(format: "step %3d  loss %.4f  acc i->t %.2f  lr %.2e  scale %.1f", step, output.loss.value.item,
                     output.imageToTextAccuracy, Double(optimizer.learningRate), Double(scale.value.item)))
    }
}

// 4. Zero-shot: class prompts "a photo of a {}." against the test images.
let test = try FashionMNIST(split: .test)
let testSource = try FashionMNISTSampleSource(dataset: test, captions: FashionMNISTSampleSource.classCaptions(test, templates: ["{}"]),
                                              size: 28, normalize: normalize)
let task = try ZeroShotTask(images: try LabeledImageSet(source: testSource, labels: test.labelArray()),
                            classNames: FashionMNISTCaptions.promptClassNames, templates: ["a photo of a {}."], tokenizer: tokenizer)
let scores = try task.scores(model: model)
print(String(format: "%@: zero-shot top-1 %.2f%%, top-5 %.2f%% on %d test images", mode, 100 * scores["zeroshot_top1"]!,
             100 * scores["zeroshot_top5"]!, test.count))
