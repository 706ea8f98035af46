import LaTensor

/// The result of `gradientCheck`: the worst mismatch between analytic and numerical gradients.
public struct GradientCheckResult: Sendable, CustomStringConvertible {
    /// Whether every entry was within tolerance.
    public let passed: Bool
    /// The largest |analytic - numerical| over all inputs.
    public let maxAbsoluteError: Double
    /// Where the largest error occurred: (input index, flat element index).
    public let worst: (input: Int, element: Int)?
    /// A readable summary.
    public var description: String {
        "gradientCheck \(passed ? "passed" : "FAILED"): max |analytic - numerical| = \(maxAbsoluteError)"
            + (worst.map { " at input \($0.input), element \($0.element)" } ?? "")
    }
}

/// Checks the analytic gradients of `function` against central differences, in Float64, like
/// `torch.autograd.gradcheck`: the scalar `sum(function(inputs) * w)` (with a fixed random `w`) is
/// differentiated by backpropagation and by `(f(x + h) - f(x - h)) / 2h` for every input element.
/// - Parameters:
///   - inputs: The inputs; each element is perturbed in place of a copy (views of any layout are fine).
///   - step: The finite-difference step h.
///   - absoluteTolerance: Allowed absolute error.
///   - relativeTolerance: Allowed error relative to the numerical gradient.
///   - function: The function under test; it must be deterministic.
public func gradientCheck(
    _ inputs: [Tensor<Double>], step: Double = 1e-6, absoluteTolerance: Double = 1e-5,
    relativeTolerance: Double = 1e-4, _ function: ([Variable<Double>]) -> Variable<Double>
) -> GradientCheckResult {
    var generator = RandomGenerator(seed: 1234)
    let probe = function(inputs.map { Variable($0) }).value
    let weights = Tensor<Double>.randn(probe.shape, generator: &generator)
    func objective(_ values: [Tensor<Double>]) -> Double {
        withNoGrad { (function(values.map { Variable($0) }).value * weights).sum().item }
    }
    let variables = inputs.map { Variable($0, requiresGrad: true) }
    let output = function(variables)
    (output * Variable(weights)).sum().backward()

    var maxError = 0.0
    var worst: (Int, Int)? = nil
    var passed = true
    for (index, input) in inputs.enumerated() {
        let analytic = variables[index].grad?.scalars ?? [Double](repeating: 0, count: input.count)
        // Perturb a private contiguous copy so views that alias one another are not disturbed.
        let base = input.copy()
        for element in 0..<input.count {
            let original = base.storage.pointer[element]
            var values = inputs
            base.storage.pointer[element] = original + step
            values[index] = base.copy()
            let plus = objective(values)
            base.storage.pointer[element] = original - step
            values[index] = base.copy()
            let minus = objective(values)
            base.storage.pointer[element] = original
            let numerical = (plus - minus) / (2 * step)
            let error = Swift.abs(analytic[element] - numerical)
            if error > maxError {
                maxError = error
                worst = (index, element)
            }
            if error > absoluteTolerance + relativeTolerance * Swift.abs(numerical) { passed = false }
        }
    }
    return GradientCheckResult(passed: passed, maxAbsoluteError: maxError, worst: worst)
}
