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
