import Foundation
import Testing

@testable import LaTensor

/// concatenate, stack, indexSelect, gather, scatterAdd, indexAdd, oneHot, topK, cumulativeSum.
@Suite struct IndexingTests {
    static func iota(_ shape: [Int]) -> Tensor<Double> {
        Tensor<Double>((0..<shape.reduce(1, *)).map(Double.init), shape: shape)
    }

    // MARK: concatenate / stack

    @Test func concatenateAlongEachAxis() {
        let a = Tensor<Int>([1, 2, 3, 4], shape: [2, 2])
        let b = Tensor<Int>([5, 6], shape: [1, 2])
        expectEqual(Tensor.concatenate([a, b]), shape: [3, 2], [1, 2, 3, 4, 5, 6])
        let c = Tensor<Int>([7, 8], shape: [2, 1])
        expectEqual(Tensor.concatenate([a, c], axis: 1), shape: [2, 3], [1, 2, 7, 3, 4, 8])
        expectEqual(Tensor.concatenate([c, a, c], axis: -1), shape: [2, 4], [7, 1, 2, 7, 8, 3, 4, 8])
        expectEqual(Tensor.concatenate([a]), shape: [2, 2], [1, 2, 3, 4])
        let v = Tensor.concatenate([Tensor<Float>([1, 2]), Tensor<Float>([]), Tensor<Float>([3])])
        expectEqual(v, shape: [3], [1, 2, 3])
        let joined = Tensor.concatenate([a, b])
        #expect(joined.storage !== a.storage && joined.isContiguous)
    }

    @Test func concatenateNonContiguousPieces() {
        let m = Self.iota([3, 4])
        let t = m.transposed()  // [4, 3]: rows are columns of m
        let stepped = Self.iota([4, 6]).slice(axis: 1, 0..<6, step: 2)  // [4, 3]
        let broadcast = Tensor<Double>([-1, -2, -3]).expanded(to: [2, 3])
        let offsetRows = Self.iota([5, 3]).slice(axis: 0, 3..<5)  // rows 3, 4: offset 9
        let empty = Tensor<Double>.zeros([0, 3])
        let joined = Tensor.concatenate([t, empty, stepped, broadcast, offsetRows], axis: 0)
        #expect(joined.shape == [12, 3])
        let expected = t.referenceScalars + stepped.referenceScalars + broadcast.referenceScalars + offsetRows.referenceScalars
        #expect(joined.scalars == expected)
        // Along the middle axis of 3-D pieces.
        let p = Self.iota([2, 2, 3])
        let q = Self.iota([3, 2, 1]).permuted([1, 0, 2]).transposed(1, 2).transposed(1, 2)  // [2, 3, 1] strided
        let r = Tensor.concatenate([p, q.expanded(to: [2, 3, 3])], axis: 1)
        #expect(r.shape == [2, 5, 3])
        for i in 0..<2 {
            for j in 0..<5 {
                for k in 0..<3 {
                    let value = j < 2 ? p.at([i, j, k]) : q.at([i, j - 2, 0])
                    #expect(r.at([i, j, k]) == value)
                }
            }
        }
    }

    @Test func concatenateMismatchStops() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor.concatenate([Tensor<Float>.zeros([2, 2]), Tensor<Float>.zeros([2, 3])], axis: 0)
        }
    }

    @Test func stackAlongEachAxis() {
        let a = Tensor<Int>([1, 2])
        let b = Tensor<Int>([3, 4])
        expectEqual(Tensor.stack([a, b]), shape: [2, 2], [1, 2, 3, 4])
        expectEqual(Tensor.stack([a, b], axis: 1), shape: [2, 2], [1, 3, 2, 4])
        expectEqual(Tensor.stack([a, b], axis: -1), shape: [2, 2], [1, 3, 2, 4])
        expectEqual(Tensor.stack([a, b, a], axis: -2), shape: [3, 2], [1, 2, 3, 4, 1, 2])
        let m = Tensor<Int>([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let n = m.map { $0 * 10 }
        expectEqual(Tensor.stack([m, n], axis: 2), shape: [2, 3, 2], [1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60])
        expectEqual(Tensor.stack([m, n], axis: -2), shape: [2, 2, 3], [1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60])
        let s = Tensor.stack([Tensor<Float>(scalar: 1), Tensor<Float>(scalar: 2)])
        expectEqual(s, shape: [2], [1, 2])
        // Strided inputs: a transposed matrix and a broadcast one.
        let t = Tensor<Int>([1, 2, 3, 4], shape: [2, 2]).transposed()
        let e = Tensor<Int>([9, 8]).expanded(to: [2, 2])
        expectEqual(Tensor.stack([t, e], axis: 1), shape: [2, 2, 2], [1, 3, 9, 8, 2, 4, 9, 8])
    }

    // MARK: indexSelect / indexAdd

    @Test func indexSelectRowsAndColumns() {
        let m = Self.iota([4, 3])
        expectEqual(m.indexSelect(Tensor<Int>([2, 0, 2, -1])), shape: [4, 3], [6, 7, 8, 0, 1, 2, 6, 7, 8, 9, 10, 11])
        expectEqual(m.indexSelect(Tensor<Int>([2, 0]), axis: 1), shape: [4, 2], [2, 0, 5, 3, 8, 6, 11, 9])
        expectEqual(m.indexSelect(Tensor<Int>([1, 1]), axis: -1), shape: [4, 2], [1, 1, 4, 4, 7, 7, 10, 10])
        // 2-D indices: an embedding lookup [vocab 4, dim 3] with ids [2, 2] gives [2, 2, 3].
        let ids = Tensor<Int>([3, 0, 1, 3], shape: [2, 2])
        expectEqual(m.indexSelect(ids), shape: [2, 2, 3], [9, 10, 11, 0, 1, 2, 3, 4, 5, 9, 10, 11])
        // Indices in the middle of the shape, along axis 1.
        let cube = Self.iota([2, 3, 2])
        let picked = cube.indexSelect(Tensor<Int>([2, 0], shape: [1, 2]), axis: 1)
        expectEqual(picked, shape: [2, 1, 2, 2], [4, 5, 0, 1, 10, 11, 6, 7])
        // Empty index list.
        #expect(m.indexSelect(Tensor<Int>([])).shape == [0, 3])
    }

    @Test func indexSelectOnStridedInputsAndIndices() {
        let m = Self.iota([3, 5])
        let t = m.transposed().slice(axis: 0, 1..<5, step: 2)  // [2, 3]: columns 1 and 3 of m
        expectEqual(t.indexSelect(Tensor<Int>([1, 0, 1])), shape: [3, 3], [3, 8, 13, 1, 6, 11, 3, 8, 13])
        expectEqual(t.indexSelect(Tensor<Int>([2]), axis: 1), shape: [2, 1], [11, 13])
        let stridedIndices = Tensor<Int>([4, 9, 0, 9, 2, 9]).slice(axis: 0, 0..<6, step: 2)  // [4, 0, 2]
        expectEqual(m.indexSelect(stridedIndices, axis: 1), shape: [3, 3], [4, 0, 2, 9, 5, 7, 14, 10, 12])
        let broadcastRows = Tensor<Double>([1, 2]).expanded(to: [3, 2])
        expectEqual(broadcastRows.indexSelect(Tensor<Int>([1, 0]), axis: 1), shape: [3, 2], [2, 1, 2, 1, 2, 1])
    }

    @Test func indexSelectOutOfRangeStops() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor<Float>.zeros([3, 2]).indexSelect(Tensor<Int>([3]))
        }
    }

    @Test func indexAddAccumulatesRepeatedIndices() {
        let base = Tensor<Double>.zeros([4, 2])
        base.indexAddInPlace(Tensor<Int>([1, 3, 1]), source: Tensor<Double>(rows: [[1, 2], [3, 4], [5, 6]]))
        #expect(base.scalars == [0, 0, 6, 8, 0, 0, 3, 4])
        base.indexAddInPlace(Tensor<Int>([-1, 0]), source: Tensor<Double>(rows: [[10, 20], [30, 40]]))
        #expect(base.scalars == [30, 40, 6, 8, 0, 0, 13, 24])
        // Along axis 1, into a transposed view.
        let target = Tensor<Int>.zeros([3, 2])
        let view = target.transposed()  // [2, 3]
        view.indexAddInPlace(Tensor<Int>([2, 2, 0]), source: Tensor<Int>([1, 2, 3, 4, 5, 6], shape: [2, 3]), axis: 1)
        // view row 0: col 2 += 1 + 2, col 0 += 3; row 1: col 2 += 4 + 5, col 0 += 6
        #expect(view.referenceScalars == [3, 0, 3, 6, 0, 9])
        #expect(target.scalars == [3, 6, 0, 0, 3, 9])
        // 2-D indices: source shape is shape[..<axis] + indices.shape + shape[(axis+1)...].
        let table = Tensor<Float>.zeros([3, 2])
        table.indexAddInPlace(Tensor<Int>([0, 2, 0, 0], shape: [2, 2]), source: Tensor<Float>.ones([2, 2, 2]))
        #expect(table.scalars == [3, 3, 0, 0, 1, 1])
    }

    @Test func indexAddIsTheAdjointOfIndexSelect() {
        var generator = RandomGenerator(seed: 13)
        let x = Tensor<Double>.randn([5, 5], generator: &generator)
        let indices = Tensor<Int>([4, 0, 4, 2, -1, 1])
        let y = Tensor<Double>.randn([5, 6], generator: &generator)
        let selected = x.indexSelect(indices, axis: 1)  // [5, 6]
        let lhs = (selected * y).sum().item
        let accumulated = Tensor<Double>.zeros([5, 5])
        accumulated.indexAddInPlace(indices, source: y, axis: 1)
        let rhs = (x * accumulated).sum().item
        #expect(Swift.abs(lhs - rhs) < 1e-12)
    }

    // MARK: gather / scatterAdd

    @Test func gatherMatchesTorchExamples() {
        let t = Tensor<Double>(rows: [[1, 2], [3, 4]])
        expectEqual(t.gather(axis: 1, indices: Tensor<Int>(rows: [[0, 0], [1, 0]])), shape: [2, 2], [1, 1, 4, 3])
        expectEqual(t.gather(axis: 0, indices: Tensor<Int>(rows: [[0, 1], [1, 0]])), shape: [2, 2], [1, 4, 3, 2])
        expectEqual(t.gather(axis: -1, indices: Tensor<Int>(rows: [[-1], [0]])), shape: [2, 1], [2, 3])
        // Index tensor smaller than the input along the other axis.
        let m = Self.iota([3, 4])
        expectEqual(m.gather(axis: 1, indices: Tensor<Int>(rows: [[3, 0, 3], [1, 1, 2]])), shape: [2, 3], [3, 0, 3, 5, 5, 6])
        // Picking the label column of each row (the cross-entropy pattern).
        let labels = Tensor<Int>([2, 0, 3], shape: [3, 1])
        expectEqual(m.gather(axis: 1, indices: labels), shape: [3, 1], [2, 4, 11])
    }

    /// out[i][j][k] = x[index[i][j][k] along axis ...], read element by element.
    static func referenceGather(_ x: Tensor<Double>, axis: Int, indices: Tensor<Int>) -> [Double] {
        allIndices(indices.shape).map { index in
            var source = index
            let i = indices.at(index)
            source[axis] = i < 0 ? i + x.shape[axis] : i
            return x.at(source)
        }
    }

    @Test func gatherOnStridedInputsAndIndices() {
        var generator = RandomGenerator(seed: 17)
        let x = Tensor<Double>.randn([4, 5, 3], generator: &generator).permuted([2, 0, 1]).slice(axis: 2, 1..<5)  // [3, 4, 4]
        for axis in 0..<3 {
            let size = x.shape[axis]
            var indexShape = x.shape
            indexShape[axis] = 5
            indexShape[(axis + 1) % 3] -= 1
            let raw = Tensor<Int>.randint(indexShape.reversed(), low: -size, high: size, generator: &generator)
            let indices = raw.permuted([2, 1, 0])  // strided index tensor
            #expect(indices.shape == indexShape)
            let result = x.gather(axis: axis, indices: indices)
            #expect(result.shape == indexShape)
            #expect(result.scalars == Self.referenceGather(x, axis: axis, indices: indices), "axis \(axis)")
        }
        // A broadcast index tensor (stride 0).
        let same = Tensor<Int>([2, 0], shape: [1, 2]).expanded(to: [3, 2])
        let m = Self.iota([3, 3])
        expectEqual(m.gather(axis: 1, indices: same), shape: [3, 2], [2, 0, 5, 3, 8, 6])
    }

    @Test func scatterAddAccumulates() {
        let source = Tensor<Double>.ones([2, 5])
        let index = Tensor<Int>(rows: [[0, 1, 2, 0, 0], [0, 1, 2, 2, 0]])
        let result = Tensor<Double>.zeros([3, 5]).scatterAdd(axis: 0, indices: index, source: source)
        expectEqual(result, shape: [3, 5], [2, 0, 0, 1, 2, 0, 2, 0, 0, 0, 0, 0, 2, 1, 0])
        // Along axis 1 with negative indices; the original is left alone by scatterAdd.
        let base = Tensor<Double>(rows: [[1, 1, 1], [2, 2, 2]])
        let added = base.scatterAdd(
            axis: 1, indices: Tensor<Int>(rows: [[-1, 0], [1, 1]]), source: Tensor<Double>(rows: [[10, 20], [30, 40]]))
        expectEqual(added, shape: [2, 3], [21, 1, 11, 2, 72, 2])
        #expect(base.scalars == [1, 1, 1, 2, 2, 2])
    }

    @Test func scatterAddInPlaceThroughAView() {
        let storage = Tensor<Int>.zeros([4, 3])
        let view = storage.transposed().slice(axis: 1, 1..<4)  // [3, 3]: view[i][j] = storage[j + 1][i]
        let indices = Tensor<Int>(rows: [[2, 2], [0, 1]])
        let source = Tensor<Int>(rows: [[1, 2], [3, 4]])
        view.scatterAddInPlace(axis: 1, indices: indices, source: source)
        // view[0][2] += 1 + 2, view[1][0] += 3, view[1][1] += 4
        #expect(view.referenceScalars == [0, 0, 3, 3, 4, 0, 0, 0, 0])
        #expect(storage.scalars == [0, 0, 0, 0, 3, 0, 0, 4, 0, 3, 0, 0])
    }

    @Test func scatterAddIsTheAdjointOfGather() {
        var generator = RandomGenerator(seed: 19)
        let x = Tensor<Double>.randn([3, 6], generator: &generator)
        let indices = Tensor<Int>.randint([3, 8], low: 0, high: 6, generator: &generator)
        let y = Tensor<Double>.randn([3, 8], generator: &generator)
        let lhs = (x.gather(axis: 1, indices: indices) * y).sum().item
        let rhs = (x * Tensor<Double>.zeros([3, 6]).scatterAdd(axis: 1, indices: indices, source: y)).sum().item
        #expect(Swift.abs(lhs - rhs) < 1e-12)
    }

    // MARK: oneHot

    @Test func oneHot() {
        let labels = Tensor<Int>([2, 0, 1])
        expectEqual(labels.oneHot(classCount: 3), shape: [3, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0] as [Float])
        let grid = Tensor<Int>([1, 3, 0, 1], shape: [2, 2]).transposed()  // [[1, 0], [3, 1]]
        let encoded = grid.oneHot(classCount: 4, as: Double.self)
        #expect(encoded.shape == [2, 2, 4])
        #expect(encoded.scalars == [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0])
        let ints = Tensor<Int>(scalar: 1).oneHot(classCount: 2, as: Int.self)
        expectEqual(ints, shape: [2], [0, 1])
        #expect(Tensor<Int>([]).oneHot(classCount: 5).shape == [0, 5])
    }

    @Test func oneHotOutOfRangeStops() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor<Int>([0, 3]).oneHot(classCount: 3)
        }
    }

    // MARK: topK

    @Test func topKLargestAndSmallest() {
        let x = Tensor<Double>([1, 5, 3, 5, 2])
        let top = x.topK(3)
        expectEqual(top.values, shape: [3], [5, 5, 3])
        expectEqual(top.indices, shape: [3], [1, 3, 2])
        let bottom = x.topK(2, largest: false)
        expectEqual(bottom.values, shape: [2], [1, 2])
        expectEqual(bottom.indices, shape: [2], [0, 4])
        let all = x.topK(5, largest: false)
        expectEqual(all.indices, shape: [5], [0, 4, 2, 1, 3])
        let none = x.topK(0)
        #expect(none.values.shape == [0] && none.indices.shape == [0])
    }

    @Test func topKRanksNaNAboveNumbers() {
        let x = Tensor<Double>([1, .nan, 3, -2])
        let top = x.topK(2)
        #expect(top.indices.scalars == [1, 2])
        #expect(top.values.scalars[0].isNaN && top.values.scalars[1] == 3)
        let bottom = x.topK(3, largest: false)
        expectEqual(bottom.values, shape: [3], [-2, 1, 3])
        expectEqual(bottom.indices, shape: [3], [3, 0, 2])
        let all = Tensor<Float>([.nan, 2, .nan, 5]).topK(4)
        #expect(all.indices.scalars == [0, 2, 3, 1])
    }

    @Test func topKAlongAxesOfStridedInputs() {
        let m = Tensor<Int>(rows: [[4, 9, 1], [7, 2, 8], [3, 6, 5]])
        let byColumn = m.topK(2, axis: 0)
        expectEqual(byColumn.values, shape: [2, 3], [7, 9, 8, 4, 6, 5])
        expectEqual(byColumn.indices, shape: [2, 3], [1, 0, 1, 0, 2, 2])
        let transposedRows = m.transposed().topK(1, axis: 1, largest: false)
        expectEqual(transposedRows.values, shape: [3, 1], [3, 2, 1])
        expectEqual(transposedRows.indices, shape: [3, 1], [2, 1, 0])
        // Random 3-D input with a stepped layout, against sorting each lane.
        var generator = RandomGenerator(seed: 23)
        let x = Tensor<Double>.randn([4, 9, 3], generator: &generator).slice(axis: 1, 0..<9, step: 2).permuted([2, 0, 1])
        for axis in 0..<3 {
            let k = x.shape[axis] - 1
            for largest in [true, false] {
                let (values, indices) = x.topK(k, axis: axis, largest: largest)
                for lane in lanes(of: x.shape, axis: axis) {
                    let laneValues = lane.map { x.at($0) }
                    let order = laneValues.indices.sorted { largest ? laneValues[$0] > laneValues[$1] : laneValues[$0] < laneValues[$1] }
                    for j in 0..<k {
                        var out = lane[0]
                        out[axis] = j
                        #expect(indices.at(out) == order[j])
                        #expect(values.at(out) == laneValues[order[j]])
                    }
                }
            }
        }
    }

    // MARK: cumulativeSum

    @Test func cumulativeSums() {
        expectEqual(Tensor<Double>([1, 2, 3, 4]).cumulativeSum(axis: 0), shape: [4], [1, 3, 6, 10])
        let m = Tensor<Int>(rows: [[1, 2, 3], [4, 5, 6]])
        expectEqual(m.cumulativeSum(axis: 0), shape: [2, 3], [1, 2, 3, 5, 7, 9])
        expectEqual(m.cumulativeSum(axis: 1), shape: [2, 3], [1, 3, 6, 4, 9, 15])
        expectEqual(m.cumulativeSum(axis: -1), shape: [2, 3], [1, 3, 6, 4, 9, 15])
        expectEqual(m.transposed().cumulativeSum(axis: 1), shape: [3, 2], [1, 5, 2, 7, 3, 9])
        let broadcast = Tensor<Float>([1, 2, 3]).expanded(to: [3, 3])
        expectEqual(broadcast.cumulativeSum(axis: 0), shape: [3, 3], [1, 2, 3, 2, 4, 6, 3, 6, 9])
        let stepped = Self.iota([2, 6]).slice(axis: 1, 1..<6, step: 2)  // [[1, 3, 5], [7, 9, 11]]
        expectEqual(stepped.cumulativeSum(axis: 1), shape: [2, 3], [1, 4, 9, 7, 16, 27])
        #expect(Tensor<Double>.zeros([2, 0]).cumulativeSum(axis: 1).shape == [2, 0])
    }
}
