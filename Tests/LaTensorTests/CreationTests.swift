import Foundation
import Testing

@testable import LaTensor

/// Initialisers, constant fills, identity matrices and ranges.
@Suite struct CreationTests {
    @Test func initialisers() {
        let a = Tensor<Float>([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(a.shape == [2, 3] && a.strides == [3, 1] && a.offset == 0 && a.storage.count == 6)
        #expect(a.scalars == [1, 2, 3, 4, 5, 6])
        let v = Tensor<Int>([7, 8])
        #expect(v.shape == [2] && v.dtype == .int64)
        let s = Tensor<Double>(scalar: 2.5)
        #expect(s.shape == [] && s.rank == 0 && s.count == 1 && s.item == 2.5 && s.strides == [])
        let r = Tensor<Int32>(rows: [[1, 2], [3, 4], [5, 6]])
        #expect(r.shape == [3, 2] && r.scalars == [1, 2, 3, 4, 5, 6] && r.dtype == .int32)
        #expect(Tensor<UInt8>(rows: []).shape == [0, 0])
        let buffer: [Double] = [1, 2, 3, 4]
        let copied = buffer.withUnsafeBufferPointer { Tensor<Double>(copying: $0, shape: [2, 2]) }
        #expect(copied.scalars == buffer)
        let empty = Tensor<Bool>([], shape: [0, 4])
        #expect(empty.count == 0 && empty.scalars.isEmpty && empty.dtype == .bool)
        #expect(Tensor<UInt8>([1]).dtype == .uint8 && Tensor<Float>([1]).dtype == .float32 && s.dtype == .float64)
    }

    @Test func initialiserWithWrongCountStops() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor<Float>([1, 2, 3], shape: [2, 2])
        }
    }

    @Test func constantFills() {
        expectEqual(Tensor<Float>.zeros([2, 3]), shape: [2, 3], [Float](repeating: 0, count: 6))
        expectEqual(Tensor<Int>.ones([4]), shape: [4], [1, 1, 1, 1])
        expectEqual(Tensor<Double>.full([2, 2], value: -1.5), shape: [2, 2], [-1.5, -1.5, -1.5, -1.5])
        expectEqual(Tensor<Bool>.zeros([3]), shape: [3], [false, false, false])
        expectEqual(Tensor<UInt8>.full([], value: 9), shape: [], [9])
        let like = Tensor<Float>.zeros(like: Tensor<Float>.ones([3, 1, 2]).transposed())
        #expect(like.shape == [3, 2, 1] && like.isContiguous && like.scalars.allSatisfy { $0 == 0 })
        #expect(Tensor<Float>.zeros([0, 5]).count == 0)
        // Fresh storage each time.
        #expect(Tensor<Float>.zeros([2]).storage !== Tensor<Float>.zeros([2]).storage)
    }

    @Test func storageIsAlignedInitialisedAndCounted() {
        let storage = TensorStorage<Double>(count: 1 << 20, repeating: 2)
        #expect(storage.count == 1 << 20)
        #expect(Int(bitPattern: storage.pointer) % 64 == 0)
        #expect(storage.pointer[0] == 2 && storage.pointer[(1 << 20) - 1] == 2)
        // Live bytes include this 8 MiB storage while it is alive (other tests may allocate concurrently).
        #expect(TensorMemory.liveBytes >= 8 << 20)
        #expect(TensorMemory.peakBytes >= 8 << 20)
        withExtendedLifetime(storage) {}
        let empty = TensorStorage<Float>(uninitializedCount: 0)
        #expect(empty.count == 0 && Int(bitPattern: empty.pointer) % 64 == 0)
        #expect(Int(bitPattern: Tensor<UInt8>.zeros([3]).storage.pointer) % 64 == 0)
    }

    @Test func eye() {
        expectEqual(Tensor<Float>.eye(3), shape: [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1])
        expectEqual(Tensor<Int>.eye(2, columns: 4), shape: [2, 4], [1, 0, 0, 0, 0, 1, 0, 0])
        expectEqual(Tensor<Double>.eye(3, columns: 2), shape: [3, 2], [1, 0, 0, 1, 0, 0])
        #expect(Tensor<Float>.eye(0).shape == [0, 0])
    }

    @Test func floatingArange() {
        expectEqual(Tensor<Double>.arange(0, 5), shape: [5], [0, 1, 2, 3, 4])
        expectEqual(Tensor<Double>.arange(1, 2, step: 0.25), shape: [4], [1, 1.25, 1.5, 1.75])
        expectEqual(Tensor<Double>.arange(0, 1, step: 0.3), shape: [4], [0, 0.3, 0.6, 0.8999999999999999])
        expectEqual(Tensor<Float>.arange(5, 0, step: -2), shape: [3], [5, 3, 1])
        expectEqual(Tensor<Float>.arange(3, 3), shape: [0], [])
        expectEqual(Tensor<Float>.arange(3, 1), shape: [0], [])
    }

    @Test func integerArange() {
        expectEqual(Tensor<Int>.arange(0, 4), shape: [4], [0, 1, 2, 3])
        expectEqual(Tensor<Int>.arange(2, 11, step: 3), shape: [3], [2, 5, 8])
        expectEqual(Tensor<Int>.arange(5, -1, step: -2), shape: [3], [5, 3, 1])
        expectEqual(Tensor<Int32>.arange(0, 0), shape: [0], [])
        expectEqual(Tensor<Int>.arange(4, 0), shape: [0], [])
    }

    @Test func linspace() {
        expectEqual(Tensor<Double>.linspace(0, 1, count: 5), shape: [5], [0, 0.25, 0.5, 0.75, 1])
        expectEqual(Tensor<Float>.linspace(-1, 1, count: 3), shape: [3], [-1, 0, 1])
        expectEqual(Tensor<Double>.linspace(2, 7, count: 1), shape: [1], [2])
        expectEqual(Tensor<Double>.linspace(2, 7, count: 0), shape: [0], [])
        // Both end points are exact and the values are symmetric, as in PyTorch.
        let l = Tensor<Float>.linspace(0.1, 0.7, count: 7).scalars
        #expect(l.first == 0.1 && l.last == 0.7)
        let d = Tensor<Double>.linspace(1, 0, count: 11).scalars
        #expect(d.first == 1 && d.last == 0)
        expectClose(d, (0...10).map { 1 - Double($0) / 10 }, rtol: 1e-15, atol: 1e-16)
    }
}
