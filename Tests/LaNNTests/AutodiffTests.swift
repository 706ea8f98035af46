import Foundation
import Testing
import LaTensor
@testable import LaNN

@Suite struct AutodiffTests {
    @Test func gradientsAccumulateAcrossUsesAndCalls() {
        let x = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
        // y = sum(x * x + x) -> dy/dx = 2x + 1
        (x * x + x).sum().backward()
        #expect(x.grad!.scalars == [3, 5, 7])
        // A second backward accumulates.
        (x * 2.0).sum().backward()
        #expect(x.grad!.scalars == [5, 7, 9])
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func noGradScopeRecordsNothing() {
        let x = Variable(Tensor<Float>([1, 2]), requiresGrad: true)
        let y = withNoGrad { x * x }
        #expect(!y.requiresGrad)
        #expect(y.isLeaf)
        #expect((x * x).requiresGrad)
    }

    @Test func detachStopsGradients() {
        let x = Variable(Tensor<Double>([2]), requiresGrad: true)
        let y = x * x.detached()
        y.sum().backward()
        #expect(x.grad!.scalars == [2])
    }

    @Test func backwardFreesTheGraph() {
        let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        let hidden = x.exp()
        let loss = hidden.sum()
        loss.backward()
        #expect(hidden.isLeaf)
        #expect(loss.isLeaf)
    }

    /// The graph holds vertices, not variables: an intermediate that no pullback saved is freed when the program
    /// drops it (here the linear output that only feeds a sum), one that a pullback saved stays until backward.
    @Test func unsavedIntermediatesAreFreedBeforeBackward() {
        let x = Variable(Tensor<Float>.ones([4, 8]), requiresGrad: true)
        let w = Variable(Tensor<Float>.ones([8, 8]), requiresGrad: true)
        weak var unsaved: Variable<Float>?
        weak var saved: Variable<Float>?
        var loss: Variable<Float>
        do {
            let projected = x.linear(weight: w, bias: nil)  // only feeds the sum: the add saves no operand
            let residual = projected + x
            let activated = residual.exp()  // exp saves its output tensor, not the variable
            unsaved = projected
            saved = residual
            loss = activated.sum()
        }
        #expect(unsaved == nil)
        #expect(saved == nil)  // the exp pullback keeps its tensor, not the variable
        loss.backward()
        // d/dx sum(exp(x W^T + x)) with all ones: exp(9) * (1 + 8) per element; W gets exp(9) * 4 per element.
        let e9 = Float(Foundation.exp(9.0))
        #expect(x.grad!.scalars.allSatisfy { abs($0 - 9 * e9) <= 1e-5 * 9 * e9 })
        #expect(w.grad!.scalars.allSatisfy { abs($0 - 4 * e9) <= 1e-5 * 4 * e9 })
    }

    /// Without retainGraph, backward drops each op's saved tensors once its pullback has run: by the time the leaf's
    /// gradient is final, what the forward saved is already freed, not only after the pass.
    @Test func backwardReleasesSavedTensorsAsItGoes() {
        TensorMemory.track { tracker in
            let x = Variable(Tensor<Float>.ones([256, 256]), requiresGrad: true)
            var loss: Variable<Float>
            do {
                var h = x
                for _ in 0..<8 { h = h.exp() * 0.001 }  // each exp saves its 256 KiB output
                loss = h.sum()
            }
            let saved = tracker.liveBytes
            #expect(saved >= 8 * 256 * 256 * 4)
            var liveAtLeafGradient = -1
            loss.backward(onLeafGradient: { _ in liveAtLeafGradient = tracker.liveBytes })
            // Left: x's value and its gradient, and the last gradient in flight.
            #expect(liveAtLeafGradient >= 0 && liveAtLeafGradient < saved / 2, "live \(liveAtLeafGradient) of \(saved) saved")
            #expect(x.grad != nil)
        }
    }

    @Test func retainGraphAllowsASecondBackward() {
        let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        let loss = (x * x).sum()
        loss.backward(retainGraph: true)
        loss.backward()
        #expect(x.grad!.scalars == [4, 8])
    }

    @Test func seededBackwardOfANonScalar() {
        let x = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
        (x * 3.0).backward(seed: Tensor<Double>([1, 0, 2]))
        #expect(x.grad!.scalars == [3, 0, 6])
    }

    @Test func unbroadcastSumsBroadcastAxes() {
        let g = Tensor<Double>.ones([2, 3, 4])
        #expect(g.unbroadcast(to: [4]).scalars == [6, 6, 6, 6])
        #expect(g.unbroadcast(to: [3, 1]).scalars == [8, 8, 8])
        #expect(g.unbroadcast(to: [1, 3, 4]).shape == [1, 3, 4])
    }

    @Test func deepChainsDoNotOverflowTheStack() {
        let x = Variable(Tensor<Double>([1]), requiresGrad: true)
        var y = x
        for _ in 0..<20_000 { y = y + 0.0 }
        y.sum().backward()
        #expect(x.grad!.scalars == [1])
    }
}
