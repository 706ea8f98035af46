import Foundation
import Testing
import LaTensor
import LaNN
@testable import LaCLIP

@Suite struct LossTests {
    struct Case: Decodable {
        let image: [[Double]], text: [[Double]]
        let scale: Double, bias: Double
        let clip_loss: Double, siglip_loss: Double
    }
    struct Reference: Decodable { let cases: [Case] }

    static func load() throws -> [Case] {
        let data = try Data(contentsOf: laclipResources.appendingPathComponent("loss_reference.json"))
        return try JSONDecoder().decode(Reference.self, from: data).cases
    }

    @Test func clipAndSigLIPLossesEqualOpenCLIP() throws {
        for c in try Self.load() {
            let images = Variable(Tensor<Double>(rows: c.image)), texts = Variable(Tensor<Double>(rows: c.text))
            let scale = Variable(Tensor<Double>(scalar: c.scale))
            let clip = clipLoss(imageFeatures: images, textFeatures: texts, logitScale: scale).loss.value.item
            #expect(Swift.abs(clip - c.clip_loss) <= 1e-5 * Swift.max(1, Swift.abs(c.clip_loss)))
            // The distributed (local-loss) path with a zero offset must agree too.
            let local = clipLoss(imageFeatures: images, textFeatures: texts, logitScale: scale, allImageFeatures: images, allTextFeatures: texts)
            #expect(Swift.abs(local.loss.value.item - c.clip_loss) <= 1e-9)
            let sig = sigLIPLoss(imageFeatures: images, textFeatures: texts, logitScale: scale, logitBias: Variable(Tensor(scalar: c.bias)))
            #expect(Swift.abs(sig.loss.value.item - c.siglip_loss) <= 1e-5 * Swift.max(1, Swift.abs(c.siglip_loss)))
        }
    }

    static func features(_ shape: [Int], seed: UInt64) -> Tensor<Double> {
        var generator = RandomGenerator(seed: seed)
        return Tensor<Double>.randn(shape, generator: &generator)
    }

    @Test func fusedCLIPLossGradientsMatchFiniteDifferences() {
        let result = gradientCheck([Self.features([5, 4], seed: 1), Self.features([5, 4], seed: 2), Tensor(scalar: 2.5)]) { v in
            clipLoss(imageFeatures: v[0].l2Normalized(), textFeatures: v[1].l2Normalized(), logitScale: v[2]).loss
        }
        #expect(result.passed, "\(result)")
    }

    @Test func distributedFormGradientsMatchFiniteDifferences() {
        // Rank 1 of 2 with local batch 3: gathered features hold rank 0's rows, then this rank's.
        let result = gradientCheck([
            Self.features([3, 4], seed: 3), Self.features([3, 4], seed: 4), Self.features([3, 4], seed: 5), Self.features([3, 4], seed: 6),
            Tensor(scalar: 1.7),
        ]) { v in
            let images = v[0].l2Normalized(), texts = v[1].l2Normalized()
            let allImages = Variable.concatenate([v[2].l2Normalized(), images]), allTexts = Variable.concatenate([v[3].l2Normalized(), texts])
            return clipLoss(imageFeatures: images, textFeatures: texts, logitScale: v[4], allImageFeatures: allImages, allTextFeatures: allTexts, labelOffset: 3).loss
        }
        #expect(result.passed, "\(result)")
    }

    @Test func multiTextLossIsTheMeanOfPerVersionLosses() {
        let images = Variable(Self.features([4, 3], seed: 7).l2Normalized())
        let texts = Variable(Self.features([12, 3], seed: 8).l2Normalized())
        let scale = Variable(Tensor<Double>(scalar: 5))
        let multi = multiTextCLIPLoss(imageFeatures: images, textFeatures: texts, versions: 3, logitScale: scale).loss.value.item
        var expected = 0.0
        for version in 0..<3 {
            expected += clipLoss(imageFeatures: images, textFeatures: Variable(texts.value.slice(axis: 0, (4 * version)..<(4 * version + 4))), logitScale: scale).loss.value.item
        }
        #expect(Swift.abs(multi - expected / 3) < 1e-12)
        let check = gradientCheck([Self.features([4, 3], seed: 9), Self.features([8, 3], seed: 10), Tensor(scalar: 3)]) { v in
            multiTextCLIPLoss(imageFeatures: v[0].l2Normalized(), textFeatures: v[1].l2Normalized(), versions: 2, logitScale: v[2]).loss
        }
        #expect(check.passed, "\(check)")
    }

    @Test func sigLIPGradientsMatchFiniteDifferences() {
        let result = gradientCheck([Self.features([4, 3], seed: 11), Self.features([4, 3], seed: 12), Tensor(scalar: 2), Tensor(scalar: -1)]) { v in
            sigLIPLoss(imageFeatures: v[0].l2Normalized(), textFeatures: v[1].l2Normalized(), logitScale: v[2], logitBias: v[3]).loss
        }
        #expect(result.passed, "\(result)")
    }

    @Test func handComputedTwoByTwoLossAndAccuracies() {
        // I = T = identity (2x2), s = 1: each row's logits are [1, 0] -> loss = log(1 + e^-1).
        let identity = Variable(Tensor<Double>.eye(2))
        let output = clipLoss(imageFeatures: identity, textFeatures: identity, logitScale: Variable(Tensor(scalar: 1)))
        #expect(Swift.abs(output.loss.value.item - Foundation.log(1 + Foundation.exp(-1))) < 1e-12)
        #expect(output.imageToTextAccuracy == 1 && output.textToImageAccuracy == 1)
        let swapped = Variable(Tensor<Double>(rows: [[0, 1], [1, 0]]))
        let wrong = clipLoss(imageFeatures: identity, textFeatures: swapped, logitScale: Variable(Tensor(scalar: 1)))
        #expect(wrong.imageToTextAccuracy == 0 && wrong.textToImageAccuracy == 0)
    }

    @Test func crossEntropyAndLogSigmoidGradcheck() {
        let ce = gradientCheck([Self.features([3, 5], seed: 13)]) { v in v[0].crossEntropy(targets: Tensor<Int>([4, 0, 2])) }
        #expect(ce.passed, "\(ce)")
        let ls = gradientCheck([Self.features([6], seed: 14) * 10]) { v in v[0].logSigmoid() }
        #expect(ls.passed, "\(ls)")
    }
}
