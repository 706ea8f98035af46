import LaTensor

extension Tensor where Scalar: TensorFloatingPoint {
    /// Sums a broadcast gradient back to `shape`: over the leading axes broadcasting added and over the
    /// axes where `shape` has size 1. The one helper every broadcasting op's pullback uses.
    /// - Parameter target: The shape of the input that was broadcast.
    @inlinable
    public func unbroadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        checkPrecondition(lead >= 0, "unbroadcast: gradient shape \(shape) has lower rank than \(target)")
        var axes: [Int] = Array(0..<lead)
        for axis in 0..<target.count where target[axis] == 1 && shape[lead + axis] != 1 {
            axes.append(lead + axis)
        }
        let summed = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        return summed.reshaped(target)
    }
}
