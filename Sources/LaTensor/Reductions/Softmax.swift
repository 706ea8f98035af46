import CLaKernels

/// Softmax, log-softmax and L2 normalisation along one axis, each in one pass per lane. Float lanes that are
/// dense in both input and output go through one vectorised CLaKernels row call each.
extension Tensor where Scalar: TensorFloatingPoint {
    /// Outputs at least this large are written with non-temporal stores by the vector softmax.
    @usableFromInline static var streamingOutputBytes: Int { 32 << 20 }

    /// exp(x - max) / sum(exp(x - max)) along `axis` (numerically stable).
    /// - Parameter axis: The axis to normalise over.
    @inlinable
    public func softmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, operation: "softmax")
        let result = Tensor(uninitializedShape: shape)
        let n = shape[a], si = strides[a], so = result.strides[a]
        let input = UnsafePointer(storage.pointer), output = result.storage.pointer
        if Scalar.self == Float.self && si == 1 && so == 1 {
            // Dense Float lanes: one vectorised CLaKernels call per row (max, exp-sum, then scale). Outputs of
            // 32 MiB or more, far beyond the caches, are written with non-temporal stores.
            let xf = UnsafeRawPointer(input).assumingMemoryBound(to: Float.self)
            let yf = UnsafeMutableRawPointer(output).assumingMemoryBound(to: Float.self)
            let streaming = count * MemoryLayout<Float>.stride >= Self.streamingOutputBytes
            withExtendedLifetime(storage) {
                forEachLane(axis: a, outputStrides: result.strides, cost: 4) { ip, op in
                    if streaming {
                        cla_softmax_row_stream_f32(xf + ip, yf + op, n)
                    } else {
                        cla_softmax_row_f32(xf + ip, yf + op, n)
                    }
                }
            }
            return result
        }
        withExtendedLifetime(storage) {
            forEachLane(axis: a, outputStrides: result.strides, cost: 10) { ip, op in
                let x = input + ip, y = output + op
                var peak = -Scalar.infinity
                for i in 0..<n where x[i * si] > peak || x[i * si] != x[i * si] { peak = x[i * si] }
                if !peak.isFinite && peak == peak { peak = 0 }
                var total: Scalar = 0
                for i in 0..<n {
                    let e = Scalar.exp(x[i * si] - peak)
                    y[i * so] = e
                    total += e
                }
                let inverse = 1 / total
                for i in 0..<n { y[i * so] *= inverse }
            }
        }
        return result
    }

    /// x - logsumexp(x) along `axis` (numerically stable).
    /// - Parameter axis: The axis to normalise over.
    @inlinable
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, operation: "logSoftmax")
        let result = Tensor(uninitializedShape: shape)
        let n = shape[a], si = strides[a], so = result.strides[a]
        let input = UnsafePointer(storage.pointer), output = result.storage.pointer
        if Scalar.self == Float.self && si == 1 && so == 1 {
            // Dense Float lanes: one vectorised CLaKernels call per row (max, exp-sum, then scale or shift).
            let xf = UnsafeRawPointer(input).assumingMemoryBound(to: Float.self)
            let yf = UnsafeMutableRawPointer(output).assumingMemoryBound(to: Float.self)
            withExtendedLifetime(storage) {
                forEachLane(axis: a, outputStrides: result.strides, cost: 4) { ip, op in
                    cla_log_softmax_row_f32(xf + ip, yf + op, n)
                }
            }
            return result
        }
        withExtendedLifetime(storage) {
            forEachLane(axis: a, outputStrides: result.strides, cost: 10) { ip, op in
                let x = input + ip, y = output + op
                var peak = -Scalar.infinity
                for i in 0..<n where x[i * si] > peak || x[i * si] != x[i * si] { peak = x[i * si] }
                if !peak.isFinite && peak == peak { peak = 0 }
                var total: Scalar = 0
                for i in 0..<n { total += Scalar.exp(x[i * si] - peak) }
                let shift = peak + Scalar.log(total)
                for i in 0..<n { y[i * so] = x[i * si] - shift }
            }
        }
        return result
    }

    /// x / max(‖x‖₂, epsilon) along `axis`, like `torch.nn.functional.normalize`.
    /// - Parameters:
    ///   - axis: The axis holding each vector.
    ///   - epsilon: The smallest norm divided by.
    @inlinable
    public func l2Normalized(axis: Int = -1, epsilon: Scalar = 1e-12) -> Tensor {
        let a = normalizedAxis(axis, operation: "l2Normalized")
        let result = Tensor(uninitializedShape: shape)
        let n = shape[a], si = strides[a], so = result.strides[a]
        let input = UnsafePointer(storage.pointer), output = result.storage.pointer
        withExtendedLifetime(storage) {
            forEachLane(axis: a, outputStrides: result.strides, cost: 2) { ip, op in
                let x = input + ip, y = output + op
                var total: Scalar = 0
                for i in 0..<n { total += x[i * si] * x[i * si] }
                let inverse = 1 / Swift.max(total.squareRoot(), epsilon)
                for i in 0..<n { y[i * so] = x[i * si] * inverse }
            }
        }
        return result
    }
}
