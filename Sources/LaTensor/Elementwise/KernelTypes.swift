import CLaKernels

/// Elementwise operations as small value types.
///
/// The elementwise engine (`map(cost:kernel:)`, `zip(_:operation:cost:kernel:)`, `mapInPlace(cost:kernel:)`,
/// `zipInPlace(_:operation:kernel:)` and `reduce(axes:keepDims:operation:initial:kernel:)`) is generic over
/// these protocols, so each concrete kernel type gets its own specialised run loop in which the operation is
/// a direct, inlined call that the compiler can vectorise. The closure-based `map`/`zip` forms remain for
/// convenience; they call the closure once per element.

/// A function of one tensor element.
public protocol UnaryKernel {
    /// The element type read.
    associatedtype Input: TensorElement
    /// The element type written.
    associatedtype Output: TensorElement
    /// Applies the kernel to one element.
    /// - Parameter x: The input element.
    func callAsFunction(_ x: Input) -> Output
}

/// A function of two tensor elements.
public protocol BinaryKernel {
    /// The element type of the first operand.
    associatedtype Left: TensorElement
    /// The element type of the second operand.
    associatedtype Right: TensorElement
    /// The element type written.
    associatedtype Output: TensorElement
    /// Applies the kernel to one pair of elements.
    /// - Parameters:
    ///   - a: The first operand's element.
    ///   - b: The second operand's element.
    func callAsFunction(_ a: Left, _ b: Right) -> Output
}

/// An associative, commutative combination used by reductions, with an optional fast fold over a dense run.
public protocol ReductionKernel {
    /// The element type.
    associatedtype Element: TensorElement
    /// Combines an accumulator with one element.
    /// - Parameters:
    ///   - a: The accumulator.
    ///   - b: The next element.
    func callAsFunction(_ a: Element, _ b: Element) -> Element
    /// Folds `count` contiguous elements into `initial`.
    /// - Parameters:
    ///   - pointer: The first element.
    ///   - count: The number of elements.
    ///   - initial: The accumulator to start from.
    func fold(_ pointer: UnsafePointer<Element>, count: Int, into initial: Element) -> Element
}

extension ReductionKernel {
    /// Folds `count` contiguous elements into `initial` with four independent accumulators.
    /// - Parameters:
    ///   - pointer: The first element.
    ///   - count: The number of elements.
    ///   - initial: The accumulator to start from.
    @inlinable @inline(__always)
    public func fold(_ pointer: UnsafePointer<Element>, count: Int, into initial: Element) -> Element {
        if count < 8 {
            var acc = initial
            for j in 0..<count { acc = self(acc, pointer[j]) }
            return acc
        }
        var acc0 = self(initial, pointer[0]), acc1 = pointer[1], acc2 = pointer[2], acc3 = pointer[3]
        var j = 4
        while j + 4 <= count {
            acc0 = self(acc0, pointer[j]); acc1 = self(acc1, pointer[j + 1])
            acc2 = self(acc2, pointer[j + 2]); acc3 = self(acc3, pointer[j + 3])
            j += 4
        }
        while j < count { acc0 = self(acc0, pointer[j]); j += 1 }
        return self(self(acc0, acc1), self(acc2, acc3))
    }
}

// MARK: - Closure adapters (the convenience API)

@usableFromInline
struct ClosureUnaryKernel<Input: TensorElement, Output: TensorElement>: UnaryKernel {
    @usableFromInline let body: (Input) -> Output
    @inlinable init(_ body: @escaping (Input) -> Output) { self.body = body }
    @inlinable @inline(__always) func callAsFunction(_ x: Input) -> Output { body(x) }
}

@usableFromInline
struct ClosureBinaryKernel<Left: TensorElement, Right: TensorElement, Output: TensorElement>: BinaryKernel {
    @usableFromInline let body: (Left, Right) -> Output
    @inlinable init(_ body: @escaping (Left, Right) -> Output) { self.body = body }
    @inlinable @inline(__always) func callAsFunction(_ a: Left, _ b: Right) -> Output { body(a, b) }
}

@usableFromInline
struct ClosureReductionKernel<Element: TensorElement>: ReductionKernel {
    @usableFromInline let body: (Element, Element) -> Element
    @inlinable init(_ body: @escaping (Element, Element) -> Element) { self.body = body }
    @inlinable @inline(__always) func callAsFunction(_ a: Element, _ b: Element) -> Element { body(a, b) }
}

// MARK: - Arithmetic kernels

@usableFromInline struct AddKernel<T: TensorNumeric>: BinaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { a + b }
}
@usableFromInline struct SubtractKernel<T: TensorNumeric>: BinaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { a - b }
}
@usableFromInline struct MultiplyKernel<T: TensorNumeric>: BinaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { a * b }
}
@usableFromInline struct DivideKernel<T: TensorFloatingPoint>: BinaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { a / b }
}
@usableFromInline struct IntegerDivideKernel<T: TensorNumeric & BinaryInteger>: BinaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { a / b }
}
/// a + alpha * b.
@usableFromInline struct AxpyKernel<T: TensorNumeric>: BinaryKernel {
    @usableFromInline let alpha: T
    @inlinable init(_ alpha: T) { self.alpha = alpha }
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { a + alpha * b }
}
/// Returns the second operand (a write-only copy).
@usableFromInline struct SecondKernel<T: TensorElement>: BinaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { b }
}
@usableFromInline struct PowKernel<T: TensorFloatingPoint>: BinaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { T.pow(a, b) }
}

@usableFromInline struct AddScalarKernel<T: TensorNumeric>: UnaryKernel {
    @usableFromInline let scalar: T
    @inlinable init(_ scalar: T) { self.scalar = scalar }
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x + scalar }
}
@usableFromInline struct SubtractScalarKernel<T: TensorNumeric>: UnaryKernel {
    @usableFromInline let scalar: T
    @inlinable init(_ scalar: T) { self.scalar = scalar }
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x - scalar }
}
@usableFromInline struct ScalarSubtractKernel<T: TensorNumeric>: UnaryKernel {
    @usableFromInline let scalar: T
    @inlinable init(_ scalar: T) { self.scalar = scalar }
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { scalar - x }
}
@usableFromInline struct MultiplyScalarKernel<T: TensorNumeric>: UnaryKernel {
    @usableFromInline let scalar: T
    @inlinable init(_ scalar: T) { self.scalar = scalar }
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x * scalar }
}
@usableFromInline struct ScalarDivideKernel<T: TensorFloatingPoint>: UnaryKernel {
    @usableFromInline let scalar: T
    @inlinable init(_ scalar: T) { self.scalar = scalar }
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { scalar / x }
}
@usableFromInline struct FillKernel<T: TensorElement>: UnaryKernel {
    @usableFromInline let value: T
    @inlinable init(_ value: T) { self.value = value }
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { value }
}
@usableFromInline struct IdentityKernel<T: TensorElement>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x }
}
@usableFromInline struct NegateKernel<T: TensorNumeric & SignedNumeric>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { -x }
}
@usableFromInline struct AbsKernel<T: TensorNumeric>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x < 0 ? 0 - x : x }
}
@usableFromInline struct SquareKernel<T: TensorNumeric>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x * x }
}
@usableFromInline struct ClampKernel<T: TensorNumeric>: UnaryKernel {
    @usableFromInline let low: T, high: T
    @inlinable init(_ low: T, _ high: T) { self.low = low; self.high = high }
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { Swift.min(Swift.max(x, low), high) }
}
@usableFromInline struct FloatCastKernel<Source: TensorNumeric & BinaryFloatingPoint, Target: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: Source) -> Target { Target(x) }
}
@usableFromInline struct IntegerCastKernel<Source: TensorElement & BinaryInteger, Target: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: Source) -> Target { Target(x) }
}

// MARK: - Math kernels (the Swift path: Double, and Float on strided operands)

@usableFromInline struct ExpKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { T.exp(x) }
}
@usableFromInline struct LogKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { T.log(x) }
}
@usableFromInline struct Log1pKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { T.log1p(x) }
}
@usableFromInline struct SqrtKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x.squareRoot() }
}
@usableFromInline struct RsqrtKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { 1 / x.squareRoot() }
}
@usableFromInline struct TanhKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { T.tanh(x) }
}
@usableFromInline struct PowScalarKernel<T: TensorFloatingPoint>: UnaryKernel {
    @usableFromInline let exponent: T
    @inlinable init(_ exponent: T) { self.exponent = exponent }
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { T.pow(x, exponent) }
}
@usableFromInline struct SigmoidKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { Tensor<T>.sigmoid(x) }
}
@usableFromInline struct ReluKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x > 0 || x != x ? x : 0 }
}
@usableFromInline struct GeluErfKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { Tensor<T>.geluErf(x) }
}
@usableFromInline struct GeluTanhKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { Tensor<T>.geluTanh(x) }
}
@usableFromInline struct QuickGeluKernel<T: TensorFloatingPoint>: UnaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T) -> T { x * Tensor<T>.sigmoid(1.702 * x) }
}
/// g * GELU'(x) for (x, g) pairs, in the exact (erf) or tanh form.
@usableFromInline struct GeluBackwardKernel<T: TensorFloatingPoint>: BinaryKernel {
    @usableFromInline let approximate: Bool
    @inlinable init(approximate: Bool) { self.approximate = approximate }
    @inlinable @inline(__always) func callAsFunction(_ x: T, _ g: T) -> T {
        if approximate {
            let c: T = 0.79788456080286535588
            let k: T = 0.044715
            let x2: T = x * x
            let t: T = T.tanh(c * (x + k * x2 * x))
            let outer: T = 0.5 * (1 + t)
            let inner: T = 0.5 * x * (1 - t * t) * c * (1 + 3 * k * x2)
            return g * (outer + inner)
        }
        let cdf: T = 0.5 * (1 + T.erf(x * 0.70710678118654752440))
        let pdf: T = T.exp(-0.5 * x * x) * 0.39894228040143267794
        return g * (cdf + x * pdf)
    }
}
/// g * QuickGELU'(x) for (x, g) pairs.
@usableFromInline struct QuickGeluBackwardKernel<T: TensorFloatingPoint>: BinaryKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ x: T, _ g: T) -> T {
        let s: T = Tensor<T>.sigmoid(1.702 * x)
        let slope: T = 1.702 * (s * (1 - s))  // before multiplying by x: finite at x = +-greatestFinite
        return g * (s + x * slope)
    }
}

// MARK: - Reduction kernels

@usableFromInline struct SumKernel<T: TensorNumeric>: ReductionKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { a + b }
    @inlinable @inline(__always)
    func fold(_ pointer: UnsafePointer<T>, count: Int, into initial: T) -> T {
        if T.self == Float.self && count >= 16 {
            let total = Float(cla_sum_f32(UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self), count))
            return initial + unsafeBitCast(total, to: T.self)
        }
        var acc0 = initial, acc1: T = 0, acc2: T = 0, acc3: T = 0
        var j = 0
        while j + 4 <= count {
            acc0 += pointer[j]; acc1 += pointer[j + 1]; acc2 += pointer[j + 2]; acc3 += pointer[j + 3]
            j += 4
        }
        while j < count { acc0 += pointer[j]; j += 1 }
        return (acc0 + acc1) + (acc2 + acc3)
    }
}

/// max with NaN winning.
@usableFromInline struct MaxKernel<T: TensorNumeric>: ReductionKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { (b != b || b > a) ? b : a }
    @inlinable @inline(__always)
    func fold(_ pointer: UnsafePointer<T>, count: Int, into initial: T) -> T {
        if T.self == Float.self && count >= 16 {
            let m = cla_max_f32(UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self), count)
            return self(initial, unsafeBitCast(m, to: T.self))
        }
        var acc = initial
        for j in 0..<count { acc = self(acc, pointer[j]) }
        return acc
    }
}

/// min with NaN winning.
@usableFromInline struct MinKernel<T: TensorNumeric>: ReductionKernel {
    @inlinable init() {}
    @inlinable @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { (b != b || b < a) ? b : a }
    @inlinable @inline(__always)
    func fold(_ pointer: UnsafePointer<T>, count: Int, into initial: T) -> T {
        if T.self == Float.self && count >= 16 {
            let m = cla_min_f32(UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self), count)
            return self(initial, unsafeBitCast(m, to: T.self))
        }
        var acc = initial
        for j in 0..<count { acc = self(acc, pointer[j]) }
        return acc
    }
}
