import Testing

@testable import LaTensor

/// Views share storage and never copy; reshape copies only when no view exists.
@Suite struct ViewTests {
    /// 0, 1, 2, ... as Double with the given shape.
    static func iota(_ shape: [Int]) -> Tensor<Double> {
        Tensor<Double>((0..<shape.reduce(1, *)).map(Double.init), shape: shape)
    }

    // MARK: Tensor basics

    @Test func contiguousStridesAndFlags() {
        #expect(Tensor<Float>.contiguousStrides(for: [2, 3, 4]) == [12, 4, 1])
        #expect(Tensor<Float>.contiguousStrides(for: []) == [])
        #expect(Tensor<Float>.contiguousStrides(for: [3, 0, 2]) == [2, 2, 1])
        let a = Self.iota([2, 3])
        #expect(a.rank == 2 && a.count == 6 && a.dtype == .float64 && a.isContiguous)
        #expect(!a.transposed().isContiguous)
        #expect(!a.slice(axis: 1, 0..<3, step: 2).isContiguous)
        #expect(a.slice(axis: 0, 1..<2).isContiguous)
        #expect(a.unsqueezed(axis: 1).isContiguous)
        #expect(!a.unsqueezed(axis: 1).expanded(to: [2, 4, 3]).isContiguous)
        #expect(Tensor<Int>.zeros([3, 0]).transposed().isContiguous)
    }

    @Test func elementSubscriptReadsAndWritesThroughViews() {
        let a = Self.iota([3, 4])
        #expect(a[element: 1, 2] == 6)
        #expect(a[element: -1, -1] == 11)
        let t = a.transposed()
        #expect(t[element: 2, 1] == 6)
        t[element: 3, 0] = 100
        #expect(a[element: 0, 3] == 100)
        let stepped = a.slice(axis: 1, 1..<4, step: 2)
        #expect(stepped.shape == [3, 2])
        #expect(stepped[element: 2, 1] == 11)
        stepped[element: 1, 0] = -5
        #expect(a[element: 1, 1] == -5)
        #expect(Tensor<Int>(scalar: 7).item == 7)
        #expect(a[2][3].item == 11)
    }

    // MARK: contiguous / copy

    @Test func contiguousReturnsSelfWhenAlreadyContiguous() {
        let a = Self.iota([4, 5])
        let same = a.contiguous()
        #expect(same.storage === a.storage)
        #expect(same.offset == a.offset && same.strides == a.strides)

        // A row slice not starting at 0 is contiguous at an offset: no copy, offset kept.
        let rows = a.slice(axis: 0, 1..<3)
        let rowsDense = rows.contiguous()
        #expect(rowsDense.storage === a.storage)
        #expect(rowsDense.offset == 5)
        #expect(rowsDense.scalars == Array(5..<15).map(Double.init))

        // Size-1 axes with unusual strides are still contiguous: same storage, canonical strides.
        let odd = Tensor(storage: a.storage, shape: [1, 4], strides: [99, 1], offset: 3)
        let oddDense = odd.contiguous()
        #expect(oddDense.storage === a.storage)
        #expect(oddDense.offset == 3 && oddDense.strides == [4, 1])
        #expect(oddDense.scalars == [3, 4, 5, 6])
    }

    @Test func contiguousCopiesNonContiguousViews() {
        let a = Self.iota([3, 4])
        let t = a.transposed()
        let dense = t.contiguous()
        #expect(dense.storage !== a.storage)
        #expect(dense.isContiguous && dense.offset == 0 && dense.strides == [3, 1])
        #expect(dense.scalars == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        let stepped = a.slice(axis: 1, 1..<4, step: 2).slice(axis: 0, 1..<3)
        #expect(stepped.contiguous().scalars == [5, 7, 9, 11])
        let broadcast = Tensor<Double>([1, 2, 3]).expanded(to: [2, 3])
        #expect(broadcast.contiguous().scalars == [1, 2, 3, 1, 2, 3])
    }

    @Test func copyIsIndependent() {
        let a = Self.iota([2, 2])
        let c = a.copy()
        #expect(c.storage !== a.storage)
        c[element: 0, 0] = 42
        #expect(a[element: 0, 0] == 0)
        let v = a.transposed()
        v.copy()[element: 0, 1] = 7
        #expect(a.scalars == [0, 1, 2, 3])
    }

    @Test func withContiguousBufferSeesRowMajorElements() {
        let a = Self.iota([2, 3]).transposed()
        let seen = a.withContiguousBuffer { Array($0) }
        #expect(seen == [0, 3, 1, 4, 2, 5])
        let plain = Self.iota([2, 3]).slice(axis: 0, 1..<2)
        #expect(plain.withContiguousBuffer { Array($0) } == [3, 4, 5])
    }

    // MARK: reshape / view / flatten

    @Test func reshapeOfContiguousIsAView() {
        let a = Self.iota([2, 6])
        let r = a.reshaped([3, 4])
        #expect(r.storage === a.storage)
        #expect(r.shape == [3, 4] && r.strides == [4, 1])
        #expect(r.scalars == a.scalars)
        let inferred = a.reshaped([-1, 3])
        #expect(inferred.shape == [4, 3] && inferred.storage === a.storage)
        // Writes through the reshaped view land in the original.
        r[element: 2, 3] = -1
        #expect(a[element: 1, 5] == -1)
    }

    @Test func reshapeOfOffsetAndSplitViewsIsAView() {
        let a = Self.iota([4, 6])
        let rows = a.slice(axis: 0, 1..<3)  // offset 6, contiguous
        let flat = rows.reshaped([12])
        #expect(flat.storage === a.storage && flat.offset == 6)
        #expect(flat.scalars == Array(6..<18).map(Double.init))
        // Columns sliced: rows are not adjacent, but axis 0 can still be split.
        let columns = a.slice(axis: 1, 1..<4)
        let split = columns.reshaped([2, 2, 3])
        #expect(split.storage === a.storage)
        #expect(split.strides == [12, 6, 1] && split.offset == 1)
        #expect(split.referenceScalars == columns.referenceScalars)
        // A transposed matrix can gain size-1 axes without copying.
        let t = a.transposed()
        let unit = t.reshaped([6, 1, 4])
        #expect(unit.storage === a.storage)
        #expect(unit.referenceScalars == t.referenceScalars)
    }

    @Test func reshapeCopiesWhenNoViewExists() {
        let a = Self.iota([3, 4])
        let t = a.transposed()
        let flat = t.reshaped([12])
        #expect(flat.storage !== a.storage)
        #expect(flat.scalars == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        let columns = a.slice(axis: 1, 0..<3)
        let merged = columns.reshaped([9])
        #expect(merged.storage !== a.storage)
        #expect(merged.scalars == [0, 1, 2, 4, 5, 6, 8, 9, 10])
        let stepped = a.slice(axis: 1, 0..<4, step: 2).reshaped([6])
        #expect(stepped.scalars == [0, 2, 4, 6, 8, 10])
    }

    @Test func reshapeOfScalarsAndEmptyTensors() {
        let s = Tensor<Float>(scalar: 5)
        #expect(s.reshaped([1, 1]).shape == [1, 1])
        #expect(s.reshaped([1, 1]).scalars == [5])
        #expect(s.reshaped([-1]).shape == [1])
        #expect(Tensor<Float>([3], shape: [1, 1]).reshaped([]).item == 3)
        let e = Tensor<Float>.zeros([0, 3])
        #expect(e.reshaped([3, 0]).shape == [3, 0])
        #expect(e.reshaped([0, 1, 3]).shape == [0, 1, 3])
    }

    @Test func viewSharesStorageAndInfersMinusOne() {
        let a = Self.iota([2, 3, 4])
        let v = a.view([6, -1])
        #expect(v.shape == [6, 4] && v.storage === a.storage)
        #expect(a.permuted([0, 2, 1]).view([2, 4, 3]).storage === a.storage)
        #expect(a.transposed(0, 1).view([3, 2, 2, 2]).strides == [4, 12, 2, 1])
        let s = a.slice(axis: 2, 1..<3).view([2, 3, 2, 1])
        #expect(s.storage === a.storage)
        #expect(s.referenceScalars == a.slice(axis: 2, 1..<3).referenceScalars)
    }

    @Test func viewStopsWhenNoViewExists() async {
        await #expect(processExitsWith: .failure) {
            let a = Tensor<Float>.zeros([3, 4])
            _ = a.transposed().view([12])
        }
    }

    @Test func flattened() {
        let a = Self.iota([2, 3, 4])
        #expect(a.flattened().shape == [24])
        #expect(a.flattened(startAxis: 1).shape == [2, 12])
        #expect(a.flattened(startAxis: 0, endAxis: 1).shape == [6, 4])
        #expect(a.flattened(startAxis: -2, endAxis: -1).storage === a.storage)
        #expect(Tensor<Float>(scalar: 2).flattened().shape == [1])
        let t = a.transposed(0, 2)  // [4, 3, 2]
        #expect(t.flattened().scalars == t.referenceScalars)
    }

    // MARK: permute / transpose

    @Test func permuteAndTranspose() {
        let a = Self.iota([2, 3, 4])
        let p = a.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3] && p.strides == [1, 12, 4] && p.storage === a.storage)
        #expect(p[element: 3, 1, 2] == a[element: 1, 2, 3])
        let n = a.permuted([-1, -3, -2])
        #expect(n.shape == p.shape && n.strides == p.strides)
        let t = a.transposed()
        #expect(t.shape == [2, 4, 3] && t.strides == [12, 1, 4])
        #expect(a.transposed(0, -1).shape == [4, 3, 2])
        let v = Tensor<Float>([1, 2, 3])
        #expect(v.transposed().shape == [3] && v.transposed().strides == [1])
        #expect(a.transposed().transposed().referenceScalars == a.scalars)
    }

    // MARK: slice / select / subscripts

    @Test func sliceWithSteps() {
        let a = Self.iota([10])
        expectEqual(a.slice(axis: 0, 1..<8, step: 3), shape: [3], [1, 4, 7])
        expectEqual(a.slice(axis: 0, 1..<7, step: 3), shape: [2], [1, 4])
        expectEqual(a.slice(axis: 0, 0..<10, step: 4), shape: [3], [0, 4, 8])
        expectEqual(a.slice(axis: -1, 9..<10), shape: [1], [9])
        let empty = a.slice(axis: 0, 4..<4)
        #expect(empty.shape == [0] && empty.scalars.isEmpty)
        let b = Self.iota([4, 5])
        let s = b.slice(axis: 1, 1..<5, step: 2).slice(axis: 0, 2..<4)
        #expect(s.offset == 11 && s.strides == [5, 2])
        expectEqual(s, shape: [2, 2], [11, 13, 16, 18])
        // A slice of a slice of a transposed view.
        let t = b.transposed().slice(axis: 0, 1..<5, step: 2).slice(axis: 1, 1..<4, step: 2)
        expectEqual(t, shape: [2, 2], [6, 16, 8, 18])
        #expect(t.storage === b.storage)
    }

    @Test func selectAndSubscripts() {
        let a = Self.iota([3, 4])
        expectEqual(a.select(axis: 1, index: 2), shape: [3], [2, 6, 10])
        expectEqual(a.select(axis: 1, index: -1), shape: [3], [3, 7, 11])
        expectEqual(a[1], shape: [4], [4, 5, 6, 7])
        expectEqual(a[-1], shape: [4], [8, 9, 10, 11])
        expectEqual(a[1..<3], shape: [2, 4], [4, 5, 6, 7, 8, 9, 10, 11])
        #expect(a[2].offset == 8 && a[2].storage === a.storage)
        let t = a.transposed()
        expectEqual(t[1], shape: [3], [1, 5, 9])
        let scalar = a[1][2]
        #expect(scalar.rank == 0 && scalar.item == 6)
        // Writing through a selected row changes the parent.
        a[0].fill(-1)
        #expect(a.scalars.prefix(5) == [-1, -1, -1, -1, 4])
    }

    // MARK: squeeze / unsqueeze / expand

    @Test func squeezeAndUnsqueeze() {
        let a = Self.iota([2, 1, 3, 1])
        #expect(a.squeezed().shape == [2, 3])
        #expect(a.squeezed().storage === a.storage)
        #expect(a.squeezed(axis: 1).shape == [2, 3, 1])
        #expect(a.squeezed(axis: -1).shape == [2, 1, 3])
        #expect(a.squeezed(axis: 0).shape == [2, 1, 3, 1])  // size 2: unchanged, like PyTorch
        #expect(a.squeezed().scalars == a.scalars)

        let b = Self.iota([2, 3])
        #expect(b.unsqueezed(axis: 0).shape == [1, 2, 3])
        #expect(b.unsqueezed(axis: 1).shape == [2, 1, 3])
        #expect(b.unsqueezed(axis: 2).shape == [2, 3, 1])
        #expect(b.unsqueezed(axis: -1).shape == [2, 3, 1])
        #expect(b.unsqueezed(axis: -3).shape == [1, 2, 3])
        #expect(b.unsqueezed(axis: 1).isContiguous)
        let t = b.transposed().unsqueezed(axis: 1)
        #expect(t.shape == [3, 1, 2] && t.referenceScalars == [0, 3, 1, 4, 2, 5])
        #expect(Tensor<Float>(scalar: 1).unsqueezed(axis: 0).shape == [1])
        #expect(Tensor<Float>([4], shape: [1]).squeezed().shape == [])
    }

    @Test func expandBroadcastsWithStrideZero() {
        let a = Tensor<Double>([1, 2, 3], shape: [3, 1])
        let e = a.expanded(to: [2, 3, 4])
        #expect(e.shape == [2, 3, 4] && e.strides == [0, 1, 0] && e.storage === a.storage)
        #expect(e.referenceScalars == (0..<2).flatMap { _ in [1.0, 2, 3].flatMap { Array(repeating: $0, count: 4) } })
        let keep = a.expanded(to: [-1, 5])
        #expect(keep.shape == [3, 5])
        // Expanding an offset view keeps the offset.
        let row = ViewTests.iota([3, 3])[2]
        let rows = row.expanded(to: [2, 3])
        #expect(rows.offset == 6)
        expectEqual(rows, shape: [2, 3], [6, 7, 8, 6, 7, 8])
    }

    @Test func inPlaceWriteIntoBroadcastViewStops() async {
        await #expect(processExitsWith: .failure) {
            let a = Tensor<Float>([1, 2, 3]).expanded(to: [2, 3])
            a.fill(0)
        }
    }

    // MARK: split / chunk

    @Test func splitBySizes() {
        let a = Self.iota([6, 2])
        let parts = a.split(sizes: [1, 3, 2])
        #expect(parts.map(\.shape) == [[1, 2], [3, 2], [2, 2]])
        #expect(parts.allSatisfy { $0.storage === a.storage })
        #expect(parts[1].scalars == [2, 3, 4, 5, 6, 7])
        #expect(parts[2].offset == 8)
        let columns = Self.iota([2, 5]).split(sizes: [2, 0, 3], axis: 1)
        #expect(columns.map(\.shape) == [[2, 2], [2, 0], [2, 3]])
        #expect(columns[2].referenceScalars == [2, 3, 4, 7, 8, 9])
    }

    @Test func splitBySize() {
        let a = Self.iota([7])
        let parts = a.split(size: 3)
        #expect(parts.map(\.shape) == [[3], [3], [1]])
        #expect(parts[2].scalars == [6])
        let b = Self.iota([2, 4]).transposed().split(size: 2, axis: 0)
        #expect(b.map(\.shape) == [[2, 2], [2, 2]])
        #expect(b[1].referenceScalars == [2, 6, 3, 7])
    }

    @Test(arguments: [(5, 3, [2, 2, 1]), (6, 4, [2, 2, 2]), (6, 3, [2, 2, 2]), (3, 5, [1, 1, 1]), (8, 3, [3, 3, 2])])
    func chunkMatchesTorch(length: Int, chunks: Int, expectedSizes: [Int]) {
        let pieces = Self.iota([2, length]).chunked(chunks, axis: -1)
        #expect(pieces.map { $0.shape[1] } == expectedSizes)
        #expect(pieces.flatMap { $0[0].referenceScalars } == (0..<length).map(Double.init))
    }
}
