import CLaKernels
import Foundation
import Testing

@testable import LaTensor

/// The CLaKernels Float32 kernels (AVX-512F, AVX2+FMA and the scalar fallback) against double-precision libm
/// references: a dense sweep with the special values (±0, ±inf, NaN, subnormals, the exp overflow and
/// underflow thresholds), every length 0...67 at several alignments (vector tails), and a large length that
/// goes parallel through the Tensor API.
@Suite(.serialized) struct SIMDKernelTests {
    /// The special inputs every kernel must handle like libm.
    static let specials: [Float] = [
        0, -0.0, .infinity, -.infinity, .nan, Float(1e-40 as Double), Float(-1e-40 as Double), .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
        .leastNormalMagnitude, -.leastNormalMagnitude, 1e-8, -1e-8, 1e-3, -1e-3, 0.625, -0.625, 0.6249999,
        88.7, 88.72283, 88.72284, 88.7228394, 88.73, 89, 100, 1e30, .greatestFiniteMagnitude,
        -87.3, -87.4, -100, -103, -103.97, -103.972, -103.9721, -104, -105, -1e30, -.greatestFiniteMagnitude,
        3.9, 4, 4.1, -3.9, -4, -4.1, 5.66, -5.66, 9, -9, 10, -10,
    ]

    /// A dense sweep over [-110, 110] (step 0.0137) followed by the special values.
    static let sweep: [Float] = (0..<16059).map { Float(-110 + Double($0) * 0.0137) } + specials

    /// Mixed tolerance: |got - want| <= rtol |want| + atol; NaN must match NaN, infinities must match exactly.
    static func agrees(_ got: Float, _ want: Double, rtol: Double, atol: Double) -> Bool {
        if want.isNaN { return got.isNaN }
        let wantFloat = Float(want)
        if wantFloat.isInfinite || got.isInfinite { return got == wantFloat }
        return Swift.abs(Double(got) - want) <= rtol * Swift.abs(want) + atol
    }

    struct UnaryCase: Sendable {
        let name: String
        let kernel: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
        let tensor: @Sendable (Tensor<Float>) -> Tensor<Float>
        let reference: @Sendable (Float) -> Double
        let rtol: Double
        /// Absolute tolerance as a function of the input (GELU's error scales with |x| where it cancels).
        let atol: @Sendable (Float) -> Double
    }

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x)) }

    static let unaryCases: [UnaryCase] = [
        UnaryCase(
            name: "exp", kernel: { cla_exp_f32($0, $1, $2) }, tensor: { $0.exp() },
            reference: { Foundation.exp(Double($0)) }, rtol: 2.4e-7, atol: { _ in 3e-45 }),
        UnaryCase(
            name: "tanh", kernel: { cla_tanh_f32($0, $1, $2) }, tensor: { $0.tanh() },
            reference: { Foundation.tanh(Double($0)) }, rtol: 3.6e-7, atol: { _ in 1e-45 }),
        UnaryCase(
            name: "erf", kernel: { cla_erf_f32($0, $1, $2) }, tensor: { $0 },
            reference: { Foundation.erf(Double($0)) }, rtol: 0, atol: { _ in 1e-6 }),
        UnaryCase(
            name: "sigmoid", kernel: { cla_sigmoid_f32($0, $1, $2) }, tensor: { $0.sigmoid() },
            reference: { sigmoid(Double($0)) }, rtol: 4e-7, atol: { _ in 3e-45 }),
        UnaryCase(
            name: "geluErf", kernel: { cla_gelu_erf_f32($0, $1, $2) }, tensor: { $0.gelu() },
            reference: { 0.5 * Double($0) * (1 + Foundation.erf(Double($0) / 2.0.squareRoot())) },
            rtol: 1e-6, atol: { 5e-7 * Swift.abs(Double($0)) + 1e-44 }),
        UnaryCase(
            name: "geluTanh", kernel: { cla_gelu_tanh_f32($0, $1, $2) }, tensor: { $0.gelu(approximate: true) },
            reference: { x in
                let d = Double(x)
                let u = (2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)
                // x * sigmoid(2u): the same function as 0.5 x (1 + tanh u), without the cancellation.
                return d.isFinite ? d * sigmoid(2 * u) : 0.5 * d * (1 + Foundation.tanh(u))
            },
            rtol: 1e-6, atol: { 5e-7 * Swift.abs(Double($0)) + 1e-44 }),
        UnaryCase(
            name: "quickGELU", kernel: { cla_quick_gelu_f32($0, $1, $2) }, tensor: { $0.quickGELU() },
            // The argument 1.702 x is rounded to float as in every float implementation. Below about -61 the
            // float sigmoid underflows (in libm too), so the product flushes to -0.
            reference: { Double($0) * sigmoid(Double(Float(1.702) * $0)) }, rtol: 1e-6, atol: { _ in 1e-42 }),
    ]

    /// Runs `body` on every path this CPU has: AVX-512F, AVX2+FMA (the level capped at 1) and the forced
    /// scalar fallback.
    static func onBothPaths(_ body: (String) -> Void) {
        let saved = VectorKernels.forceScalar
        defer {
            VectorKernels.forceScalar = saved
            VectorKernels.setMaximumLevel(2)
        }
        VectorKernels.forceScalar = false
        for cap in [2, 1] {
            VectorKernels.setMaximumLevel(cap)
            let level = VectorKernels.level
            if cap == 2 && level < 2 { continue }  // no AVX-512F: the cap-1 run covers what there is
            body(["scalar(no avx2)", "avx2", "avx512"][level])
        }
        VectorKernels.setMaximumLevel(2)
        VectorKernels.forceScalar = true
        body("scalar")
    }

    @Test func unaryKernelsMatchLibmOnTheSweep() {
        Self.onBothPaths { path in
            for c in Self.unaryCases {
                var output = [Float](repeating: -7, count: Self.sweep.count)
                Self.sweep.withUnsafeBufferPointer { x in
                    output.withUnsafeMutableBufferPointer { y in c.kernel(x.baseAddress!, y.baseAddress!, x.count) }
                }
                var failures = 0
                for (x, y) in zip(Self.sweep, output) where !Self.agrees(y, c.reference(x), rtol: c.rtol, atol: c.atol(x)) {
                    failures += 1
                    if failures <= 5 { Issue.record("\(c.name) [\(path)] at x = \(x): got \(y), want \(c.reference(x))") }
                }
                #expect(failures == 0, "\(c.name) [\(path)]: \(failures) mismatches")
            }
        }
    }

    @Test func erfIsWithinOneMillionthOfErff() {
        Self.onBothPaths { path in
            var output = [Float](repeating: 0, count: Self.sweep.count)
            Self.sweep.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in cla_erf_f32(x.baseAddress!, y.baseAddress!, x.count) }
            }
            var worst: Float = 0
            for (x, y) in zip(Self.sweep, output) {
                let want = Foundation.erff(x)
                if want.isNaN { #expect(y.isNaN, "erf(\(x)) [\(path)]"); continue }
                worst = Swift.max(worst, Swift.abs(y - want))
            }
            #expect(worst <= 1e-6, "erf [\(path)]: max |erf - erff| = \(worst)")
        }
    }

    @Test func specialValuesFollowLibm() {
        Self.onBothPaths { path in
            let x: [Float] = [0, -0.0, .infinity, -.infinity, .nan, 88.7228394, 89, -103, -104, -200]
            var y = [Float](repeating: 1, count: x.count)
            cla_exp_f32(x, &y, x.count)
            #expect(y[0] == 1 && y[1] == 1 && y[2] == .infinity && y[3] == 0 && y[4].isNaN, "\(path)")
            #expect(y[5] == .infinity && y[6] == .infinity && y[7] > 0 && y[7] < Float(1e-44 as Double), "\(path): \(y)")
            #expect(y[8] == 0 && y[9] == 0 && y[8].sign == .plus, "\(path)")
            cla_tanh_f32(x, &y, x.count)
            #expect(y[0] == 0 && y[1] == 0 && y[1].sign == .minus && y[2] == 1 && y[3] == -1 && y[4].isNaN, "\(path)")
            cla_erf_f32(x, &y, x.count)
            #expect(y[1].sign == .minus && y[2] == 1 && y[3] == -1 && y[4].isNaN, "\(path)")
            for kernel in [cla_gelu_erf_f32, cla_gelu_tanh_f32, cla_quick_gelu_f32, cla_sigmoid_f32] as [(UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void] {
                kernel(x, &y, x.count)
                #expect(y[4].isNaN, "NaN must propagate [\(path)]")
            }
            cla_gelu_erf_f32(x, &y, x.count)
            #expect(y[2] == .infinity && y[3].isNaN && y[9] == 0, "gelu(+-inf) like 0.5 x (1 + erf) [\(path)]: \(y)")
        }
    }

    @Test func everyTailLengthAndAlignment() {
        Self.onBothPaths { path in
            for c in Self.unaryCases {
                for length in 0...67 {
                    for start in [0, 1, 3, 16000] {
                        let x = Array(Self.sweep[start..<(start + length)])
                        // A guard element after the run must stay untouched.
                        var y = [Float](repeating: 12345, count: length + 1)
                        x.withUnsafeBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer { yp in c.kernel(xp.baseAddress ?? UnsafePointer(yp.baseAddress!), yp.baseAddress!, length) }
                        }
                        #expect(y[length] == 12345, "\(c.name) [\(path)] wrote past length \(length)")
                        for i in 0..<length where !Self.agrees(y[i], c.reference(x[i]), rtol: c.rtol, atol: c.atol(x[i])) {
                            Issue.record("\(c.name) [\(path)] length \(length) start \(start) index \(i): x = \(x[i]), got \(y[i])")
                        }
                    }
                }
            }
        }
    }

    @Test func largeTensorsGoParallelAndMatch() {
        let count = 1 << 17
        var generator = RandomGenerator(seed: 5)
        let t = Tensor<Float>.uniform([count / 512, 512], low: -12, high: 12, generator: &generator)
        let xs = t.scalars
        Self.onBothPaths { path in
            for c in Self.unaryCases where c.name != "erf" {
                let y = c.tensor(t).scalars
                var failures = 0
                for i in 0..<count where !Self.agrees(y[i], c.reference(xs[i]), rtol: c.rtol, atol: c.atol(xs[i])) {
                    failures += 1
                }
                #expect(failures == 0, "\(c.name) [\(path)] large: \(failures) mismatches")
            }
            // In place.
            let copy = t.copy()
            copy.expInPlace()
            #expect(copy.scalars.enumerated().allSatisfy { Self.agrees($0.element, Foundation.exp(Double(xs[$0.offset])), rtol: 2.4e-7, atol: 3e-45) })
        }
    }

    // MARK: Softmax rows

    static func referenceSoftmax(_ x: [Float]) -> [Double] {
        let d = x.map(Double.init)
        var peak = -Double.infinity
        for v in d where v > peak || v.isNaN { peak = v; if v.isNaN { break } }
        if peak.isInfinite { peak = 0 }
        let e = d.map { Foundation.exp($0 - peak) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    static func referenceLogSoftmax(_ x: [Float]) -> [Double] {
        let d = x.map(Double.init)
        var peak = -Double.infinity
        for v in d where v > peak || v.isNaN { peak = v; if v.isNaN { break } }
        if peak.isInfinite { peak = 0 }
        let total = d.map { Foundation.exp($0 - peak) }.reduce(0, +)
        return d.map { $0 - peak - Foundation.log(total) }
    }

    @Test func softmaxRowsOfEveryLength() {
        var generator = RandomGenerator(seed: 9)
        Self.onBothPaths { path in
            for length in 0...67 {
                var x = Tensor<Float>.uniform([length], low: -30, high: 30, generator: &generator).scalars
                if length > 3 { x[1] = -.infinity; x[length - 1] = 88.5 }
                var y = [Float](repeating: 777, count: length + 1)
                cla_softmax_row_f32(x, &y, length)
                #expect(y[length] == 777)
                let want = Self.referenceSoftmax(x)
                // exp(x - peak) in float carries the rounding of its argument: about |x - peak| ulp(1) relative.
                let peak = x.max() ?? 0
                for i in 0..<length where !Self.agrees(y[i], want[i], rtol: 2e-6 + 1.2e-7 * Swift.min(Swift.abs(Double(x[i] - peak)), 1e3), atol: 1e-37) {
                    Issue.record("softmax [\(path)] length \(length) index \(i): got \(y[i]), want \(want[i])")
                }
                if length > 3 { #expect(y[1] == 0 && y[1].sign == .plus, "exp(-inf) must be exactly 0 [\(path)]") }
                var z = [Float](repeating: 777, count: length + 1)
                cla_log_softmax_row_f32(x, &z, length)
                #expect(z[length] == 777)
                let wantLog = Self.referenceLogSoftmax(x)
                for i in 0..<length where !Self.agrees(z[i], wantLog[i], rtol: 1e-6, atol: 2e-6) {
                    Issue.record("logSoftmax [\(path)] length \(length) index \(i): got \(z[i]), want \(wantLog[i])")
                }
            }
            // NaN anywhere makes the row NaN; all -inf gives NaN like the Swift path (0 / 0).
            var y = [Float](repeating: 0, count: 20)
            var x = [Float](repeating: 1, count: 20)
            x[13] = .nan
            cla_softmax_row_f32(x, &y, 20)
            #expect(y.allSatisfy { $0.isNaN }, "NaN row [\(path)]")
            let allNegInf = [Float](repeating: -.infinity, count: 20)
            cla_softmax_row_f32(allNegInf, &y, 20)
            #expect(y.allSatisfy { $0.isNaN }, "all -inf row [\(path)]")
            // +inf: the Swift path's convention (peak 0, inf / inf = NaN at the inf, 0 elsewhere).
            var withInf = [Float](repeating: 1, count: 20)
            withInf[4] = .infinity
            cla_softmax_row_f32(withInf, &y, 20)
            let swiftPath = Tensor<Float>(withInf).transposedView1D().softmax().scalars
            for i in 0..<20 { #expect(y[i] == swiftPath[i] || (y[i].isNaN && swiftPath[i].isNaN), "[\(path)] \(i)") }
        }
    }

    @Test func largeSoftmaxMatchesTheStridedSwiftPath() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor<Float>.randn([64, 1024], mean: 0, standardDeviation: 4, generator: &generator)
        Self.onBothPaths { path in
            let fast = x.softmax(axis: -1).scalars
            let fastLog = x.logSoftmax(axis: -1).scalars
            // The transposed copy makes axis 0 strided, so it takes the Swift path.
            let slow = x.transposed().contiguous().softmax(axis: 0).transposed().contiguous().scalars
            let slowLog = x.transposed().contiguous().logSoftmax(axis: 0).transposed().contiguous().scalars
            // The Swift path sums each row sequentially in float; the vector path in eight lanes.
            expectClose(fast, slow, rtol: 1e-5, atol: 1e-37, "softmax [\(path)]")
            expectClose(fastLog, slowLog, rtol: 1e-6, atol: 4e-6, "logSoftmax [\(path)]")
        }
    }

    // MARK: Reductions

    @Test func sumDotMaxMinOfEveryLength() {
        var generator = RandomGenerator(seed: 17)
        Self.onBothPaths { path in
            for length in Array(0...67) + [4099, 100_003] {
                let x = Tensor<Float>.uniform([length], low: -2, high: 3, generator: &generator).scalars
                let w = Tensor<Float>.uniform([length], low: -1, high: 1, generator: &generator).scalars
                let sum = cla_sum_f32(x, length)
                let want = x.reduce(0.0) { $0 + Double($1) }
                let scale = x.reduce(0.0) { $0 + Swift.abs(Double($1)) }
                #expect(Swift.abs(sum - want) <= 1e-6 * scale + 1e-30, "sum [\(path)] length \(length)")
                let dot = cla_dot_f32(x, w, length)
                let wantDot = zip(x, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                #expect(Swift.abs(dot - wantDot) <= 1e-6 * scale + 1e-30, "dot [\(path)] length \(length)")
                #expect(cla_max_f32(x, length) == (x.max() ?? -.infinity), "max [\(path)] length \(length)")
                #expect(cla_min_f32(x, length) == (x.min() ?? .infinity), "min [\(path)] length \(length)")
                if length > 0 {
                    var withNaN = x
                    withNaN[length / 2] = .nan
                    #expect(cla_max_f32(withNaN, length).isNaN && cla_min_f32(withNaN, length).isNaN, "[\(path)] \(length)")
                }
            }
        }
    }

    @Test func fullReductionsSplitOverThreadsAndMatch() {
        var generator = RandomGenerator(seed: 21)
        let x = Tensor<Float>.uniform([300, 1000], low: -1, high: 2, generator: &generator)
        let d = x.scalars.map(Double.init)
        Self.onBothPaths { path in
            let want = d.reduce(0, +)
            #expect(Swift.abs(Double(x.sum().item) - want) <= 1e-6 * Swift.abs(want), "sum [\(path)]")
            #expect(x.max().item == x.scalars.max()!, "max [\(path)]")
            #expect(x.min().item == x.scalars.min()!, "min [\(path)]")
            // Strided full reduction (the Swift path) agrees.
            #expect(Swift.abs(Double(x.transposed().sum().item) - want) <= 1e-5 * Swift.abs(want), "strided sum [\(path)]")
            let nan = x.copy()
            nan[element: 123, 456] = .nan
            #expect(nan.sum().item.isNaN && nan.max().item.isNaN && nan.min().item.isNaN, "[\(path)]")
        }
        let doubles = Tensor<Double>(d, shape: [300, 1000])
        #expect(Swift.abs(doubles.sum().item - d.reduce(0, +)) <= 1e-9 * Swift.abs(d.reduce(0, +)))
    }

    @Test func geluBackwardKernelsMatchDoubleDerivatives() {
        // Gradients with a spread of magnitudes and signs; the input sweep covers the tails and special values.
        let g: [Float] = Self.sweep.indices.map { Float(($0 % 7) - 3) * 0.37 + ($0 % 2 == 0 ? 1e-3 : -2.5) }
        func geluDerivative(_ x: Double) -> Double {
            0.5 * (1 + Foundation.erf(x / 2.0.squareRoot())) + x * Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
        }
        func quickDerivative(_ x: Float) -> Double {
            let s = Self.sigmoid(Double(Float(1.702) * x))
            return s + 1.702 * Double(x) * s * (1 - s)
        }
        Self.onBothPaths { path in
            for (name, kernel, derivative) in [
                ("geluBackward", cla_gelu_erf_backward_f32, { geluDerivative(Double($0)) }),
                ("quickGELUBackward", cla_quick_gelu_backward_f32, quickDerivative),
            ] as [(String, (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void, (Float) -> Double)] {
                for length in [Self.sweep.count, 37, 5] {
                    var dx = [Float](repeating: 99, count: length + 1)
                    kernel(Self.sweep, g, &dx, length)
                    #expect(dx[length] == 99, "\(name) [\(path)] wrote past \(length)")
                    var failures = 0
                    for i in 0..<length {
                        let x = Self.sweep[i]
                        let want = Double(g[i]) * derivative(x)
                        if x.isNaN || x.isInfinite {
                            if x.isNaN { #expect(dx[i].isNaN, "\(name) [\(path)] NaN") }
                            continue
                        }
                        if !Self.agrees(dx[i], want, rtol: 2e-6, atol: 1e-6 * Double(Swift.abs(g[i]))) {
                            failures += 1
                            if failures <= 3 { Issue.record("\(name) [\(path)] x = \(x): got \(dx[i]), want \(want)") }
                        }
                    }
                    #expect(failures == 0, "\(name) [\(path)] \(failures) mismatches")
                }
            }
        }
        // The Tensor API: the fast contiguous Float path and the strided generic path agree with Double.
        var generator = RandomGenerator(seed: 21)
        let x = Tensor<Double>.randn([40, 33], mean: 0, standardDeviation: 3, generator: &generator)
        let gradient = Tensor<Double>.randn([40, 33], mean: 0, standardDeviation: 1, generator: &generator)
        for quick in [false, true] {
            let want = quick ? x.quickGELUBackward(outputGradient: gradient) : x.geluBackward(outputGradient: gradient)
            let xf = x.cast(to: Float.self), gf = gradient.cast(to: Float.self)
            let fast = quick ? xf.quickGELUBackward(outputGradient: gf) : xf.geluBackward(outputGradient: gf)
            let xt = xf.transposed().contiguous().transposed(), gt = gf.transposed().contiguous().transposed()
            #expect(!xt.isContiguous || xt.strides != xf.strides)
            let strided = quick ? xt.quickGELUBackward(outputGradient: gt) : xt.geluBackward(outputGradient: gt)
            #expect(fast.cast(to: Double.self).allClose(want, rtol: 1e-5, atol: 1e-6), "quick: \(quick)")
            #expect(strided.cast(to: Double.self).allClose(want, rtol: 1e-5, atol: 1e-6), "quick: \(quick)")
        }
    }

    @Test func streamingSoftmaxRowsEqualTheCachedOnes() {
        var generator = RandomGenerator(seed: 5)
        Self.onBothPaths { path in
            for n in [16, 1024, 4096, 17, 4112, 1000] {
                let x = Tensor<Float>.randn([2, n], mean: 0, standardDeviation: 5, generator: &generator)
                let streamed = Tensor<Float>.zeros([2, n]), cached = Tensor<Float>.zeros([2, n])
                // Row 0 starts 64-byte aligned (the storage is); row 1 only when n % 16 == 0.
                for row in 0..<2 {
                    cla_softmax_row_stream_f32(x.storage.pointer + row * n, streamed.storage.pointer + row * n, n)
                    cla_softmax_row_f32(x.storage.pointer + row * n, cached.storage.pointer + row * n, n)
                }
                #expect(streamed.scalars == cached.scalars, "streaming softmax [\(path)] n = \(n)")
            }
        }
        // A Tensor softmax whose output reaches the streaming threshold equals the row-by-row kernel.
        let rows = (Tensor<Float>.streamingOutputBytes / 4) / 1024
        let x = Tensor<Float>.randn([rows, 1024], mean: 0, standardDeviation: 3, generator: &generator)
        let y = x.softmax(axis: -1)
        var want = [Float](repeating: 0, count: 1024)
        for row in [0, 1, rows / 2, rows - 1] {
            cla_softmax_row_f32(x.storage.pointer + row * 1024, &want, 1024)
            #expect(UnsafeBufferPointer(start: y.storage.pointer + row * 1024, count: 1024).elementsEqual(want), "row \(row)")
        }
    }

    @Test func copyAndAssignAreExact() {
        var generator = RandomGenerator(seed: 2)
        let x = Tensor<Float>.randn([257, 129], mean: 0, standardDeviation: 1, generator: &generator)
        #expect(x.copy().scalars == x.scalars)
        let target = Tensor<Float>(uninitializedShape: [129, 257])
        target.assign(x.transposed())
        #expect(target.scalars == x.transposed().referenceScalars)
        let row = Tensor<Float>.randn([129], mean: 0, standardDeviation: 1, generator: &generator)
        target.assign(row.reshaped([129, 1]).expanded(to: [129, 257]))
        #expect(target.scalars == row.scalars.flatMap { [Float](repeating: $0, count: 257) })
        let slice = target.slice(axis: 1, 3..<200, step: 3)
        slice.assign(x.transposed().slice(axis: 1, 0..<66))
        #expect(slice.scalars == x.transposed().slice(axis: 1, 0..<66).referenceScalars)
    }
}

extension Tensor {
    /// The same 1-D tensor seen through a stride-(-1)-free strided view (a [n, 1] → transposed [1, n] → [n]
    /// detour is not needed): a stepped view of a doubled storage, so the lane is strided (stride 2).
    fileprivate func transposedView1D() -> Tensor {
        let doubled = Tensor(scalars.flatMap { [$0, $0] }, shape: [count * 2])
        return doubled.slice(axis: 0, 0..<(count * 2), step: 2)
    }
}
