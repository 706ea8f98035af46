// Shared pieces of the LaTensor benchmarks: the transformer matmul shapes with their LaTensor and raw
// `cblas_sgemm` forms on the same buffers, the bandwidth kernels with their byte counts, and a monotonic
// timer. Used by the ordo-one suites (Benchmarks/TensorMatmul, Benchmarks/TensorKernels) and TensorRatios.
// The FLOP accounting of whole training steps is in GEMMAccounting.swift, process memory in Memory.swift.
import CLaBLAS
import LaTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Configuration

/// Benchmark settings read from the environment, so the ordo-one suites and TensorRatios agree.
public enum BenchmarkSettings {
    /// Elements of the bandwidth tensors (`LATENSOR_BENCH_ELEMENTS`, default 2^26 = 64 Mi floats = 256 MiB):
    /// input and output together (512 MiB) are about twice this machine's 260 MiB L3.
    public static var bandwidthElements: Int {
        if let text = getenv("LATENSOR_BENCH_ELEMENTS").map({ String(cString: $0) }), let value = Int(text),
            value >= softmaxRow, value % softmaxRow == 0
        {
            return value
        }
        return 1 << 26
    }

    /// The softmax row length ([N, 1024] rows).
    public static let softmaxRow = 1024

    /// Sets LaTensor's (and so OpenBLAS's) thread count once: `LACLIP_NUM_THREADS` or the active cores.
    /// - Returns: The thread count in force.
    @discardableResult
    public static func configureThreads() -> Int {
        let count = Threading.threadCount
        Threading.setThreadCount(count)
        return count
    }

    /// OpenBLAS's build description (core type, threading).
    public static var openBLASConfig: String { String(cString: openblas_get_config()) }
    /// OpenBLAS's thread count.
    public static var openBLASThreads: Int { Int(openblas_get_num_threads()) }
}

// MARK: - Matmul

/// The three GEMMs of a transformer Linear layer with 8320 tokens, 192 inputs and 768 outputs.
public enum MatmulCase: String, CaseIterable, Sendable {
    /// Y = X @ Wᵀ: [8320,192] @ [192,768], Wᵀ a transposed view of W [768,192].
    case forward
    /// dX = dY @ W: [8320,768] @ [768,192].
    case backwardInput
    /// dW = dYᵀ @ X: [768,8320] @ [8320,192], dYᵀ a transposed view of dY [8320,768].
    case backwardWeight

    public static let tokens = 8320, inputs = 192, outputs = 768

    /// (M, N, K) of the product.
    public var mnk: (m: Int, n: Int, k: Int) {
        switch self {
        case .forward: (MatmulCase.tokens, MatmulCase.outputs, MatmulCase.inputs)
        case .backwardInput: (MatmulCase.tokens, MatmulCase.inputs, MatmulCase.outputs)
        case .backwardWeight: (MatmulCase.outputs, MatmulCase.inputs, MatmulCase.tokens)
        }
    }

    /// 2·M·N·K floating-point operations (`gemmFLOPs`).
    public var flops: Double {
        let (m, n, k) = mnk
        return gemmFLOPs(m: m, n: n, k: k)
    }

    /// A short label for tables.
    public var label: String {
        switch self {
        case .forward: "fwd  Y = X @ Wᵀ   [8320,192]@[192,768]"
        case .backwardInput: "bwd dX = dY @ W   [8320,768]@[768,192]"
        case .backwardWeight: "bwd dW = dYᵀ @ X  [768,8320]@[8320,192]"
        }
    }

    /// The ordo-one benchmark name of the LaTensor or raw-sgemm form.
    public func benchmarkName(raw: Bool) -> String { "matmul-\(rawValue)-\(raw ? "sgemm" : "LaTensor")" }
}

/// Inputs of the three GEMMs (seeded), plus preallocated outputs for the raw `cblas_sgemm` calls.
public final class MatmulInputs: @unchecked Sendable {
    /// X [8320, 192].
    public let x: Tensor<Float>
    /// W [768, 192].
    public let w: Tensor<Float>
    /// dY [8320, 768].
    public let dy: Tensor<Float>
    let yOut: Tensor<Float>, dxOut: Tensor<Float>, dwOut: Tensor<Float>

    public init(seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        let t = MatmulCase.tokens, i = MatmulCase.inputs, o = MatmulCase.outputs
        x = Tensor<Float>.randn([t, i], generator: &generator)
        w = Tensor<Float>.randn([o, i], generator: &generator)
        dy = Tensor<Float>.randn([t, o], generator: &generator)
        yOut = Tensor(uninitializedShape: [t, o])
        dxOut = Tensor(uninitializedShape: [t, i])
        dwOut = Tensor(uninitializedShape: [o, i])
        for out in [yOut, dxOut, dwOut] { out.fill(0) }
    }

    /// The product through LaTensor's `matmul` (transposes as views). Returns a fresh tensor.
    @inline(never)
    public func laTensor(_ shape: MatmulCase) -> Tensor<Float> {
        switch shape {
        case .forward: x.matmul(w.transposed())
        case .backwardInput: dy.matmul(w)
        case .backwardWeight: dy.transposed().matmul(x)
        }
    }

    /// The same product as one raw `cblas_sgemm` call on the same input buffers, into a preallocated output.
    /// Returns one element of the output (to keep the call observable).
    @inline(never)
    @discardableResult
    public func rawSgemm(_ shape: MatmulCase) -> Float {
        let t = Int32(MatmulCase.tokens), i = Int32(MatmulCase.inputs), o = Int32(MatmulCase.outputs)
        return withExtendedLifetime((x.storage, w.storage, dy.storage, yOut.storage, dxOut.storage, dwOut.storage)) {
            let px = x.storage.pointer + x.offset, pw = w.storage.pointer + w.offset
            let pdy = dy.storage.pointer + dy.offset
            switch shape {
            case .forward:
                // Y[t,o] = X[t,i] · W[o,i]ᵀ
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, o, i, 1, px, i, pw, i, 0, yOut.storage.pointer, o)
                return yOut.storage.pointer[0]
            case .backwardInput:
                // dX[t,i] = dY[t,o] · W[o,i]
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, i, o, 1, pdy, o, pw, i, 0, dxOut.storage.pointer, i)
                return dxOut.storage.pointer[0]
            case .backwardWeight:
                // dW[o,i] = dY[t,o]ᵀ · X[t,i]
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, i, t, 1, pdy, o, px, i, 0, dwOut.storage.pointer, i)
                return dwOut.storage.pointer[0]
            }
        }
    }

    /// The largest |LaTensor − sgemm| over the output of `shape` (a sanity check that both compute the same).
    public func maxDifference(_ shape: MatmulCase) -> Float {
        let a = laTensor(shape)
        rawSgemm(shape)
        let b: Tensor<Float> = switch shape {
        case .forward: yOut
        case .backwardInput: dxOut
        case .backwardWeight: dwOut
        }
        return (a - b).abs().max().item
    }
}

// MARK: - Bandwidth kernels

/// The memory-bound kernels compared with a plain copy.
public enum BandwidthKernel: String, CaseIterable, Sendable {
    /// `Tensor.copy()` of a contiguous tensor (the reference).
    case copy
    /// `memcpy` on the calling thread into a preallocated buffer (information only).
    case memcpy
    /// `Tensor.assign(_:)` into a preallocated tensor: `copy()` without the fresh allocation (information only).
    case assign
    /// `gelu(approximate: false)`, the erf form.
    case gelu
    /// `softmax(axis: -1)` over [N, 1024] rows.
    case softmax
    /// `sum(axes: nil)`: a full reduction to one element.
    case sum

    /// Bytes read plus bytes written by one call over `elements` floats.
    public func bytes(elements: Int) -> Double {
        let f = Double(MemoryLayout<Float>.size)
        switch self {
        case .copy, .memcpy, .assign, .gelu, .softmax: return 2 * f * Double(elements)
        case .sum: return f * Double(elements) + f
        }
    }

    /// A short label for tables.
    public var label: String {
        switch self {
        case .copy: "copy    Tensor.copy()"
        case .memcpy: "memcpy  1 thread, preallocated"
        case .assign: "assign  into preallocated"
        case .gelu: "gelu    erf form"
        case .softmax: "softmax rows of 1024"
        case .sum: "sum     full reduction"
        }
    }

    /// The ordo-one benchmark name.
    public var benchmarkName: String { "bandwidth-\(rawValue)" }
}

/// A large seeded input ([N, 1024], N·1024 = `BenchmarkSettings.bandwidthElements`) and a memcpy target.
public final class BandwidthInputs: @unchecked Sendable {
    /// The input, contiguous, standard normal.
    public let x: Tensor<Float>
    let memcpyTarget: UnsafeMutablePointer<Float>
    let assignTarget: Tensor<Float>
    /// The element count.
    public var elements: Int { x.count }

    public init(elements: Int = BenchmarkSettings.bandwidthElements, seed: UInt64 = 1) {
        var generator = RandomGenerator(seed: seed)
        x = Tensor<Float>.randn([elements / BenchmarkSettings.softmaxRow, BenchmarkSettings.softmaxRow], generator: &generator)
        memcpyTarget = UnsafeMutablePointer<Float>.allocate(capacity: elements)
        memcpyTarget.initialize(repeating: 0, count: elements)
        assignTarget = Tensor(uninitializedShape: x.shape)
        assignTarget.fill(0)
    }

    deinit { memcpyTarget.deallocate() }

    /// Runs the kernel once. Returns one element of its result (to keep the call observable).
    @inline(never)
    @discardableResult
    public func run(_ kernel: BandwidthKernel) -> Float {
        switch kernel {
        case .copy: return firstElement(x.copy())
        case .memcpy:
            withExtendedLifetime(x.storage) {
                _ = Glibc.memcpy(memcpyTarget, x.storage.pointer + x.offset, elements * MemoryLayout<Float>.size)
            }
            return memcpyTarget[elements - 1]
        case .assign:
            assignTarget.assign(x)
            return firstElement(assignTarget)
        case .gelu: return firstElement(x.gelu(approximate: false))
        case .softmax: return firstElement(x.softmax(axis: -1))
        case .sum: return x.sum(axes: nil, keepDims: false).item
        }
    }
}

// MARK: - Timing

/// The first stored element of a tensor, read while its storage is alive (keeps a result observable).
@inline(__always)
public func firstElement(_ tensor: Tensor<Float>) -> Float {
    withExtendedLifetime(tensor.storage) { tensor.storage.pointer[tensor.offset] }
}

/// Nanoseconds on the monotonic clock.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// The median of a non-empty list.
public func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Keeps results observable so the optimiser cannot drop the calls.
public final class Sink: @unchecked Sendable {
    public static let shared = Sink()
    public var value: Float = 0
    @inline(never) public func consume(_ x: Float) { value += x }
}

/// Random CLIP token rows, as a loader hands them over: the start token, random ids, the end-of-text token (49407)
/// at a random position, zeros after it.
/// - Parameters:
///   - rows: The number of rows.
///   - context: The row length (at least 2).
///   - generator: The random source.
public func randomTokenRows(rows: Int, context: Int, generator: inout RandomGenerator) -> Tensor<Int> {
    var ids = [Int](repeating: 0, count: rows * context)
    for row in 0..<rows {
        let end = Int.random(in: 1..<context, using: &generator)
        ids[row * context] = 49406
        for k in 1..<end { ids[row * context + k] = Int.random(in: 1..<49406, using: &generator) }
        ids[row * context + end] = 49407
    }
    return Tensor<Int>(ids, shape: [rows, context])
}
