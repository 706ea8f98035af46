/// Limited-memory BFGS for smooth unconstrained minimisation in Double precision (Nocedal & Wright,
/// *Numerical Optimization*, 2nd ed., Algorithms 7.4/7.5 with the line search of Algorithms 3.5/3.6).
///
/// Each iteration takes the direction from the two-loop recursion over the last `historySize` (s, y)
/// pairs with the initial Hessian scaled by sᵀy / yᵀy, then finds a step satisfying the strong Wolfe
/// conditions by bracketing and cubic-interpolation zoom. Pairs with too little curvature (sᵀy ≤ ε·yᵀy)
/// are skipped, so the approximation stays positive definite. Close to the minimum, where f changes by
/// less than its rounding error, a step is also accepted under Hager and Zhang's approximate Wolfe
/// conditions (slope-based), so a tight gradient tolerance can still be reached.
public struct LBFGS: Sendable {
    /// Settings of the minimiser.
    public struct Options: Sendable, Equatable {
        /// The number of (s, y) pairs kept (the "m" of L-BFGS).
        public var historySize: Int
        /// The most iterations (line searches).
        public var maxIterations: Int
        /// Convergence threshold on the Euclidean norm of the gradient.
        public var gradientTolerance: Double
        /// The sufficient-decrease constant c₁ of the Wolfe conditions.
        public var sufficientDecrease: Double
        /// The curvature constant c₂ of the strong Wolfe conditions (c₁ < c₂ < 1).
        public var curvature: Double
        /// The most function evaluations in one line search.
        public var maxLineSearchEvaluations: Int

        /// Creates options.
        /// - Parameters:
        ///   - historySize: The number of correction pairs kept (m).
        ///   - maxIterations: The most iterations.
        ///   - gradientTolerance: Stop when ‖∇f‖₂ is at most this.
        ///   - sufficientDecrease: Wolfe c₁.
        ///   - curvature: Wolfe c₂.
        ///   - maxLineSearchEvaluations: The most evaluations per line search.
        public init(
            historySize: Int = 10, maxIterations: Int = 1000, gradientTolerance: Double = 1e-6,
            sufficientDecrease: Double = 1e-4, curvature: Double = 0.9, maxLineSearchEvaluations: Int = 40
        ) {
            self.historySize = historySize
            self.maxIterations = maxIterations
            self.gradientTolerance = gradientTolerance
            self.sufficientDecrease = sufficientDecrease
            self.curvature = curvature
            self.maxLineSearchEvaluations = maxLineSearchEvaluations
        }
    }

    /// Why the minimiser stopped.
    public enum Termination: Sendable, Equatable {
        /// The gradient norm fell to the tolerance.
        case gradientTolerance
        /// The iteration limit was reached.
        case maxIterations
        /// No step satisfying the Wolfe conditions was found (usually: the solution is as precise as
        /// floating point allows).
        case lineSearchFailed
    }

    /// The outcome of a minimisation.
    public struct Result: Sendable {
        /// The final point.
        public var x: [Double]
        /// The objective at `x`.
        public var value: Double
        /// The gradient at `x`.
        public var gradient: [Double]
        /// The iterations performed.
        public var iterations: Int
        /// The objective evaluations performed.
        public var evaluations: Int
        /// Why it stopped.
        public var termination: Termination
        /// Whether the gradient tolerance was met.
        public var converged: Bool { termination == .gradientTolerance }
    }

    /// The settings.
    public var options: Options

    /// Creates a minimiser.
    /// - Parameter options: The settings.
    public init(options: Options = Options()) {
        checkPrecondition(options.historySize >= 1, "LBFGS: historySize must be >= 1")
        checkPrecondition(
            0 < options.sufficientDecrease && options.sufficientDecrease < options.curvature && options.curvature < 1,
            "LBFGS: need 0 < c1 < c2 < 1")
        self.options = options
    }

    /// Minimises `objective` from `start`.
    /// - Parameters:
    ///   - start: The initial point.
    ///   - objective: Returns f(x) and writes ∇f(x) into its second argument (already sized like x).
    /// - Returns: The final point and how the run ended.
    public func minimize(
        from start: [Double], objective: (_ x: [Double], _ gradient: inout [Double]) -> Double
    ) -> Result {
        let n = start.count
        var x = start
        var gradient = [Double](repeating: 0, count: n)
        var value = objective(x, &gradient)
        var evaluations = 1
        var sHistory: [[Double]] = [], yHistory: [[Double]] = [], rhoHistory: [Double] = []
        var direction = [Double](repeating: 0, count: n)
        var alphas = [Double](repeating: 0, count: options.historySize)
        var iteration = 0
        var termination = Termination.maxIterations

        while true {
            let gradientNorm = LBFGS.dot(gradient, gradient).squareRoot()
            if gradientNorm <= options.gradientTolerance {
                termination = .gradientTolerance
                break
            }
            if iteration >= options.maxIterations { break }

            // Two-loop recursion: direction = -H·g.
            direction = gradient
            let count = sHistory.count
            for i in stride(from: count - 1, through: 0, by: -1) {
                let a = rhoHistory[i] * LBFGS.dot(sHistory[i], direction)
                alphas[i] = a
                LBFGS.axpy(-a, yHistory[i], &direction)
            }
            var gamma = 1.0
            if count > 0 {
                gamma = 1 / (rhoHistory[count - 1] * LBFGS.dot(yHistory[count - 1], yHistory[count - 1]))
            }
            LBFGS.scale(&direction, by: gamma)
            for i in 0..<count {
                let b = rhoHistory[i] * LBFGS.dot(yHistory[i], direction)
                LBFGS.axpy(alphas[i] - b, sHistory[i], &direction)
            }
            LBFGS.scale(&direction, by: -1)
            var slope = LBFGS.dot(gradient, direction)
            if !(slope < 0) {
                // Not a descent direction (numerical trouble): restart from steepest descent.
                sHistory.removeAll(); yHistory.removeAll(); rhoHistory.removeAll()
                direction = gradient.map { -$0 }
                slope = -gradientNorm * gradientNorm
            }
            // The first step (no curvature information yet) is scaled to unit length, as in L-BFGS-B.
            let initialStep = sHistory.isEmpty ? Swift.min(1, 1 / gradientNorm) : 1
            guard
                let step = lineSearch(
                    x: x, value: value, slope: slope, direction: direction, initialStep: initialStep,
                    evaluations: &evaluations, objective: objective)
            else {
                termination = .lineSearchFailed
                break
            }
            iteration += 1
            var s = step.x, y = step.gradient
            for i in 0..<n {
                s[i] -= x[i]
                y[i] -= gradient[i]
            }
            let sy = LBFGS.dot(s, y), yy = LBFGS.dot(y, y)
            if sy > 1e-10 * yy && sy > 0 {
                if sHistory.count == options.historySize {
                    sHistory.removeFirst(); yHistory.removeFirst(); rhoHistory.removeFirst()
                }
                sHistory.append(s)
                yHistory.append(y)
                rhoHistory.append(1 / sy)
            }
            x = step.x
            gradient = step.gradient
            value = step.value
        }
        return Result(
            x: x, value: value, gradient: gradient, iterations: iteration, evaluations: evaluations,
            termination: termination)
    }

    /// A trial point of the line search.
    struct Trial {
        var step: Double
        var value: Double
        var slope: Double
        var x: [Double]
        var gradient: [Double]
    }

    /// Finds a step along `direction` satisfying the strong Wolfe conditions (Nocedal & Wright 3.5/3.6).
    /// Returns nil when none is found within the evaluation budget and no step decreased the objective.
    func lineSearch(
        x: [Double], value: Double, slope: Double, direction: [Double], initialStep: Double,
        evaluations: inout Int, objective: (_ x: [Double], _ gradient: inout [Double]) -> Double
    ) -> (x: [Double], value: Double, gradient: [Double])? {
        let c1 = options.sufficientDecrease, c2 = options.curvature
        var budget = options.maxLineSearchEvaluations
        func evaluate(_ step: Double) -> Trial {
            var point = x
            LBFGS.axpy(step, direction, &point)
            var g = [Double](repeating: 0, count: x.count)
            let f = objective(point, &g)
            evaluations += 1
            budget -= 1
            return Trial(step: step, value: f, slope: LBFGS.dot(g, direction), x: point, gradient: g)
        }
        func sufficient(_ t: Trial) -> Bool { t.value <= value + c1 * t.step * slope }
        func curvatureHolds(_ t: Trial) -> Bool { abs(t.slope) <= -c2 * slope }
        // Near the minimum, f changes by less than its rounding error and the Armijo test becomes noise.
        // Hager and Zhang's approximate Wolfe conditions then decide from the slope instead:
        // φ(α) ≤ φ(0) + ε|φ(0)| and (2c₁ − 1)φ'(0) ≥ φ'(α), together with the strong curvature condition.
        let roundingAllowance = 1e-10 * abs(value)
        func approximatelyWolfe(_ t: Trial) -> Bool {
            t.value <= value + roundingAllowance && t.slope <= (2 * c1 - 1) * slope && curvatureHolds(t)
        }

        // Zoom between lo (satisfies sufficient decrease, lowest value so far) and hi.
        func zoom(_ lowIn: Trial, _ highIn: Trial) -> Trial? {
            var low = lowIn, high = highIn
            while budget > 0 {
                let a = low.step, b = high.step
                let width = abs(b - a)
                if width <= 1e-16 * Swift.max(abs(a), abs(b), 1) { break }
                var candidate = LBFGS.cubicMinimizer(
                    a: a, fa: low.value, da: low.slope, b: b, fb: high.value, db: high.slope)
                let lower = Swift.min(a, b) + 0.1 * width, upper = Swift.max(a, b) - 0.1 * width
                if candidate == nil || !(candidate! >= lower && candidate! <= upper) { candidate = (a + b) / 2 }
                let trial = evaluate(candidate!)
                if trial.value.isFinite && approximatelyWolfe(trial) && !sufficient(trial) { return trial }
                if !trial.value.isFinite || !sufficient(trial) || trial.value >= low.value {
                    high = trial
                } else {
                    if curvatureHolds(trial) { return trial }
                    if trial.slope * (high.step - low.step) >= 0 { high = low }
                    low = trial
                }
            }
            // Out of budget: fall back to the best point with sufficient decrease, if it moved.
            return low.step > 0 ? low : nil
        }

        let origin = Trial(step: 0, value: value, slope: slope, x: x, gradient: [])
        var previous = origin
        var step = initialStep
        var first = true
        while budget > 0 {
            let trial = evaluate(step)
            if !trial.value.isFinite {
                // Overshot into overflow: shrink towards the last good step.
                step = previous.step + (step - previous.step) / 4
                if step - previous.step <= 1e-20 { break }
                continue
            }
            if approximatelyWolfe(trial) && !sufficient(trial) { return (trial.x, trial.value, trial.gradient) }
            if !sufficient(trial) || (!first && trial.value >= previous.value) {
                guard let chosen = zoom(previous, trial) else { return nil }
                return (chosen.x, chosen.value, chosen.gradient)
            }
            if curvatureHolds(trial) { return (trial.x, trial.value, trial.gradient) }
            if trial.slope >= 0 {
                guard let chosen = zoom(trial, previous) else { return nil }
                return (chosen.x, chosen.value, chosen.gradient)
            }
            previous = trial
            first = false
            step *= 2
        }
        return previous.step > 0 ? (previous.x, previous.value, previous.gradient) : nil
    }

    /// The minimiser of the cubic through (a, fa) and (b, fb) with slopes da and db, or nil when the cubic
    /// has no interior minimum.
    /// - Parameters:
    ///   - a: First step.
    ///   - fa: Value at `a`.
    ///   - da: Slope at `a`.
    ///   - b: Second step.
    ///   - fb: Value at `b`.
    ///   - db: Slope at `b`.
    static func cubicMinimizer(a: Double, fa: Double, da: Double, b: Double, fb: Double, db: Double) -> Double? {
        guard fa.isFinite, fb.isFinite, a != b else { return nil }
        let d1 = da + db - 3 * (fa - fb) / (a - b)
        let discriminant = d1 * d1 - da * db
        guard discriminant >= 0 else { return nil }
        let d2 = (b > a ? 1.0 : -1.0) * discriminant.squareRoot()
        let denominator = db - da + 2 * d2
        guard denominator != 0 else { return nil }
        let result = b - (b - a) * (db + d2 - d1) / denominator
        return result.isFinite ? result : nil
    }

    /// The dot product of two equal-length vectors.
    /// - Parameters:
    ///   - u: First vector.
    ///   - v: Second vector.
    @inlinable
    static func dot(_ u: [Double], _ v: [Double]) -> Double {
        u.withUnsafeBufferPointer { p in
            v.withUnsafeBufferPointer { q in
                var total = 0.0
                for i in 0..<p.count { total += p[i] * q[i] }
                return total
            }
        }
    }

    /// y += alpha · x.
    /// - Parameters:
    ///   - alpha: The factor.
    ///   - x: The added vector.
    ///   - y: The updated vector.
    @inlinable
    static func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
        x.withUnsafeBufferPointer { p in
            y.withUnsafeMutableBufferPointer { q in
                for i in 0..<p.count { q[i] += alpha * p[i] }
            }
        }
    }

    /// x *= factor.
    /// - Parameters:
    ///   - x: The vector.
    ///   - factor: The factor.
    @inlinable
    static func scale(_ x: inout [Double], by factor: Double) {
        x.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] *= factor }
        }
    }
}
