import LaTensor

// Differentiable elementwise ops. Each op's pullback sits right after its forward.

extension Variable {
    /// Elementwise sum with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable
    public static func + (lhs: Variable, rhs: Variable) -> Variable {
        let ls = lhs.shape, rs = rhs.shape
        return record(lhs.value + rhs.value, name: "add", inputs: [lhs, rhs]) { g in
            [g.unbroadcast(to: ls), g.unbroadcast(to: rs)]
        }
    }

    /// Elementwise difference with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable
    public static func - (lhs: Variable, rhs: Variable) -> Variable {
        let ls = lhs.shape, rs = rhs.shape
        return record(lhs.value - rhs.value, name: "sub", inputs: [lhs, rhs]) { g in
            [g.unbroadcast(to: ls), (-g).unbroadcast(to: rs)]
        }
    }

    /// Elementwise product with broadcasting.
    /// - Parameters:
    ///   - lhs: The first operand.
    ///   - rhs: The second operand.
    @inlinable
    public static func * (lhs: Variable, rhs: Variable) -> Variable {
        let a = lhs.value, b = rhs.value
        let needA = lhs.requiresGrad, needB = rhs.requiresGrad
        return record(a * b, name: "mul", inputs: [lhs, rhs]) { g in
            [needA ? (g * b).unbroadcast(to: a.shape) : nil, needB ? (g * a).unbroadcast(to: b.shape) : nil]
        }
    }

    /// Elementwise quotient with broadcasting.
    /// - Parameters:
    ///   - lhs: The dividend.
    ///   - rhs: The divisor.
    @inlinable
    public static func / (lhs: Variable, rhs: Variable) -> Variable {
        let a = lhs.value, b = rhs.value
        let needA = lhs.requiresGrad, needB = rhs.requiresGrad
        return record(a / b, name: "div", inputs: [lhs, rhs]) { g in
            [
                needA ? (g / b).unbroadcast(to: a.shape) : nil,
                needB ? (g.zip(a, b, operation: "div.backward") { g, x, y in -g * x / (y * y) }).unbroadcast(to: b.shape) : nil,
            ]
        }
    }

    /// Adds a constant.
    /// - Parameters:
    ///   - lhs: The variable.
    ///   - rhs: The constant.
    @inlinable
    public static func + (lhs: Variable, rhs: Scalar) -> Variable {
        record(lhs.value + rhs, name: "addScalar", inputs: [lhs]) { g in [g] }
    }
    /// Subtracts a constant.
    /// - Parameters:
    ///   - lhs: The variable.
    ///   - rhs: The constant.
    @inlinable
    public static func - (lhs: Variable, rhs: Scalar) -> Variable { lhs + (-rhs) }
    /// Subtracts from a constant.
    /// - Parameters:
    ///   - lhs: The constant.
    ///   - rhs: The variable.
    @inlinable
    public static func - (lhs: Scalar, rhs: Variable) -> Variable {
        record(lhs - rhs.value, name: "rsubScalar", inputs: [rhs]) { g in [-g] }
    }
    /// Multiplies by a constant.
    /// - Parameters:
    ///   - lhs: The variable.
    ///   - rhs: The constant.
    @inlinable
    public static func * (lhs: Variable, rhs: Scalar) -> Variable {
        record(lhs.value * rhs, name: "mulScalar", inputs: [lhs]) { g in [g * rhs] }
    }
    /// Multiplies by a constant.
    /// - Parameters:
    ///   - lhs: The constant.
    ///   - rhs: The variable.
    @inlinable
    public static func * (lhs: Scalar, rhs: Variable) -> Variable { rhs * lhs }
    /// Divides by a constant.
    /// - Parameters:
    ///   - lhs: The variable.
    ///   - rhs: The constant.
    @inlinable
    public static func / (lhs: Variable, rhs: Scalar) -> Variable { lhs * (1 / rhs) }

    /// Negation.
    /// - Parameter operand: The variable.
    @inlinable
    public static prefix func - (operand: Variable) -> Variable {
        record(-operand.value, name: "neg", inputs: [operand]) { g in [-g] }
    }

    /// A unary op whose derivative is computed from the input `x`, the output `y` and the gradient.
    @inlinable
    func unary(
        _ name: String, cost: Int = 4, forward: (Tensor<Scalar>) -> Tensor<Scalar>,
        derivative: @escaping (_ x: Scalar, _ y: Scalar) -> Scalar
    ) -> Variable {
        let x = value
        let y = forward(x)
        return Variable.record(y, name: name, inputs: [self]) { g in
            [g.zip(x, y, operation: name + ".backward") { g, x, y in g * derivative(x, y) }]
        }
    }

    /// e^x.
    @inlinable public func exp() -> Variable { unary("exp", forward: { $0.exp() }) { _, y in y } }
    /// Natural logarithm.
    @inlinable public func log() -> Variable { unary("log", forward: { $0.log() }) { x, _ in 1 / x } }
    /// log(1 + x).
    @inlinable public func log1p() -> Variable { unary("log1p", forward: { $0.log1p() }) { x, _ in 1 / (1 + x) } }
    /// Square root.
    @inlinable public func sqrt() -> Variable { unary("sqrt", forward: { $0.sqrt() }) { _, y in 0.5 / y } }
    /// 1 / sqrt(x).
    @inlinable public func rsqrt() -> Variable { unary("rsqrt", forward: { $0.rsqrt() }) { x, y in -0.5 * y / x } }
    /// x².
    @inlinable public func square() -> Variable { unary("square", forward: { $0.square() }) { x, _ in 2 * x } }
    /// |x| (gradient 0 at 0, like PyTorch).
    @inlinable public func abs() -> Variable {
        unary("abs", forward: { $0.abs() }) { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }
    }
    /// Hyperbolic tangent.
    @inlinable public func tanh() -> Variable { unary("tanh", forward: { $0.tanh() }) { _, y in 1 - y * y } }
    /// Logistic sigmoid.
    @inlinable public func sigmoid() -> Variable { unary("sigmoid", forward: { $0.sigmoid() }) { _, y in y * (1 - y) } }
    /// max(x, 0).
    @inlinable public func relu() -> Variable { unary("relu", forward: { $0.relu() }) { x, _ in x > 0 ? 1 : 0 } }
    /// x^p for a constant exponent.
    /// - Parameter exponent: The exponent.
    @inlinable public func pow(_ exponent: Scalar) -> Variable {
        unary("pow", forward: { $0.pow(exponent) }) { x, _ in exponent == 0 ? 0 : exponent * Scalar.pow(x, exponent - 1) }
    }
    /// x^y elementwise with broadcasting, differentiable in both.
    /// - Parameter exponent: The exponents.
    @inlinable public func pow(_ exponent: Variable) -> Variable {
        let x = value, p = exponent.value
        let y = x.pow(p)
        let needX = requiresGrad, needP = exponent.requiresGrad
        return Variable.record(y, name: "powTensor", inputs: [self, exponent]) { g in
            [
                needX ? g.zip(x, p, operation: "pow.backward") { g, x, p in p == 0 ? 0 : g * p * Scalar.pow(x, p - 1) }.unbroadcast(to: x.shape) : nil,
                needP ? g.zip(x, y, operation: "pow.backward") { g, x, y in x > 0 ? g * y * Scalar.log(x) : 0 }.unbroadcast(to: p.shape) : nil,
            ]
        }
    }
    /// GELU: exact (erf) form by default, or the tanh approximation.
    /// - Parameter approximate: Use the tanh form.
    @inlinable public func gelu(approximate: Bool = false) -> Variable {
        let x = value
        return Variable.record(x.gelu(approximate: approximate), name: approximate ? "geluTanh" : "gelu", inputs: [self]) { g in
            [x.geluBackward(outputGradient: g, approximate: approximate)]
        }
    }
    /// QuickGELU, x * sigmoid(1.702 x).
    @inlinable public func quickGELU() -> Variable {
        let x = value
        return Variable.record(x.quickGELU(), name: "quickGELU", inputs: [self]) { g in
            [x.quickGELUBackward(outputGradient: g)]
        }
    }
    /// Clamps to `[minimum, maximum]`; the gradient flows where the input is inside the bounds (inclusive).
    /// - Parameters:
    ///   - minimum: The lower bound.
    ///   - maximum: The upper bound.
    @inlinable public func clamp(min minimum: Scalar? = nil, max maximum: Scalar? = nil) -> Variable {
        let lo = minimum ?? -.infinity, hi = maximum ?? .infinity
        return unary("clamp", forward: { $0.clamp(min: minimum, max: maximum) }) { x, _ in x >= lo && x <= hi ? 1 : 0 }
    }

    /// Elementwise maximum with broadcasting; on ties the gradient is split evenly (as PyTorch does).
    /// - Parameter other: The other operand.
    @inlinable public func maximum(_ other: Variable) -> Variable { extremum(other, name: "maximum", takeFirst: { $0 > $1 }) }
    /// Elementwise minimum with broadcasting; on ties the gradient is split evenly.
    /// - Parameter other: The other operand.
    @inlinable public func minimum(_ other: Variable) -> Variable { extremum(other, name: "minimum", takeFirst: { $0 < $1 }) }

    @inlinable
    func extremum(_ other: Variable, name: String, takeFirst: @escaping (Scalar, Scalar) -> Bool) -> Variable {
        let a = value, b = other.value
        let result = a.zip(b, operation: name) { x, y in (x != x || takeFirst(x, y)) ? x : (x == y ? x : y) }
        return Variable.record(result, name: name, inputs: [self, other]) { g in
            let ga = g.zip(a, b, operation: name + ".backward") { g, x, y in takeFirst(x, y) ? g : (x == y ? g / 2 : 0) }
            let gb = g.zip(a, b, operation: name + ".backward") { g, x, y in takeFirst(x, y) ? 0 : (x == y ? g / 2 : g) }
            return [ga.unbroadcast(to: a.shape), gb.unbroadcast(to: b.shape)]
        }
    }
}

/// Selects elementwise between two variables by a constant mask, like `torch.where`.
/// - Parameters:
///   - condition: The mask.
///   - ifTrue: Values where the mask is true.
///   - ifFalse: Values where it is false.
@inlinable
public func `where`<T: TensorFloatingPoint>(_ condition: Tensor<Bool>, _ ifTrue: Variable<T>, _ ifFalse: Variable<T>) -> Variable<T> {
    let ts = ifTrue.shape, fs = ifFalse.shape
    return Variable.record(condition.select(ifTrue.value, ifFalse.value), name: "where", inputs: [ifTrue, ifFalse]) { g in
        let zero = Tensor<T>.zeros([])
        return [
            condition.select(g, zero.expanded(to: g.shape)).unbroadcast(to: ts),
            condition.select(zero.expanded(to: g.shape), g).unbroadcast(to: fs),
        ]
    }
}
