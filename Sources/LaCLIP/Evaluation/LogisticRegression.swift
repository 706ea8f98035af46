import Foundation
import LaTensor

/// Multinomial (softmax) logistic regression with an L2 penalty on the weights (not the bias), fitted by
/// L-BFGS in Double precision. The classifier of the linear probe and of logistic-regression few-shot.
///
/// The objective is scikit-learn's for `LogisticRegression(C: c, solver: "lbfgs")` with a multinomial
/// loss, divided by the sample count (the same minimiser):
///
///     f(W, b) = (1/n) · [ Σᵢ −log softmax(xᵢW + b)[yᵢ] + 1/(2c) · ‖W‖² ]
///
/// Logits and the weight gradient are BLAS matrix products (`dgemm`); the softmax pass runs over row
/// blocks on `Threading.threadCount` workers.
public struct LogisticRegression: Sendable {
    /// The weights, [features, classes].
    public let weights: Tensor<Double>
    /// The bias, [classes] (unpenalised; only differences between classes matter).
    public let bias: Tensor<Double>
    /// The inverse regularisation strength c (larger: weaker penalty).
    public let inverseRegularization: Double
    /// The L-BFGS iterations used by the fit.
    public let iterations: Int
    /// Why L-BFGS stopped.
    public let termination: LBFGS.Termination

    /// The number of input features.
    public var featureCount: Int { weights.shape[0] }
    /// The number of classes.
    public var classCount: Int { weights.shape[1] }

    /// Fits the model.
    /// - Parameters:
    ///   - features: [samples, features] inputs (used as given; normalise them first if wanted).
    ///   - labels: The class of each sample, in `0 ..< classCount`.
    ///   - classCount: The number of classes (at least 2).
    ///   - inverseRegularization: c > 0; the penalty is ‖W‖² / (2c).
    ///   - options: L-BFGS settings (the gradient tolerance applies to the per-sample objective above).
    ///   - warmStart: A previous model of the same shape to start from (speeds up a sweep over c).
    /// - Returns: The fitted model.
    public static func fit<T: TensorFloatingPoint>(
        features: Tensor<T>, labels: [Int], classCount: Int, inverseRegularization: Double,
        options: LBFGS.Options = LBFGS.Options(maxIterations: 1000, gradientTolerance: 1e-6),
        warmStart: LogisticRegression? = nil
    ) throws(EvaluationError) -> LogisticRegression {
        guard features.rank == 2, features.shape[0] == labels.count else {
            throw .shapeMismatch("features of shape \(features.shape) for \(labels.count) labels")
        }
        guard !labels.isEmpty else { throw .invalidArgument("logistic regression on an empty training set") }
        guard classCount >= 2 else { throw .invalidArgument("logistic regression needs at least 2 classes, got \(classCount)") }
        guard inverseRegularization > 0, inverseRegularization.isFinite else {
            throw .invalidArgument("inverse regularisation must be positive and finite, got \(inverseRegularization)")
        }
        for label in labels where label < 0 || label >= classCount {
            throw .labelOutOfRange(label: label, classCount: classCount)
        }
        let d = features.shape[1]
        var start = [Double](repeating: 0, count: d * classCount + classCount)
        if let warmStart, warmStart.featureCount == d, warmStart.classCount == classCount {
            start = warmStart.weights.scalars + warmStart.bias.scalars
        }
        let objective = SoftmaxObjective(
            features: features.map { Double($0) }, labels: labels, classCount: classCount,
            inverseRegularization: inverseRegularization)
        let result = LBFGS(options: options).minimize(from: start) { x, gradient in
            objective.evaluate(x, gradient: &gradient)
        }
        return LogisticRegression(
            weights: Tensor(Array(result.x[0..<(d * classCount)]), shape: [d, classCount]),
            bias: Tensor(Array(result.x[(d * classCount)...])),
            inverseRegularization: inverseRegularization, iterations: result.iterations,
            termination: result.termination)
    }

    /// Creates a model from given parameters.
    /// - Parameters:
    ///   - weights: [features, classes] weights.
    ///   - bias: [classes] bias.
    ///   - inverseRegularization: The c it was fitted with (informational).
    ///   - iterations: The iterations its fit took (informational).
    ///   - termination: How its fit ended (informational).
    public init(
        weights: Tensor<Double>, bias: Tensor<Double>, inverseRegularization: Double = .infinity,
        iterations: Int = 0, termination: LBFGS.Termination = .gradientTolerance
    ) {
        checkPrecondition(
            weights.rank == 2 && bias.shape == [weights.shape[1]],
            "LogisticRegression: weights \(weights.shape) and bias \(bias.shape) disagree")
        self.weights = weights.contiguous()
        self.bias = bias.contiguous()
        self.inverseRegularization = inverseRegularization
        self.iterations = iterations
        self.termination = termination
    }

    /// The logits x·W + b.
    /// - Parameter features: [samples, features] inputs.
    /// - Returns: [samples, classes] logits.
    public func logits<T: TensorFloatingPoint>(features: Tensor<T>) throws(EvaluationError) -> Tensor<Double> {
        guard features.rank == 2, features.shape[1] == featureCount else {
            throw .shapeMismatch("features of shape \(features.shape) for a model of \(featureCount) features")
        }
        return features.map { Double($0) }.matmul(weights) + bias
    }

    /// The class probabilities softmax(x·W + b).
    /// - Parameter features: [samples, features] inputs.
    /// - Returns: [samples, classes] probabilities.
    public func probabilities<T: TensorFloatingPoint>(features: Tensor<T>) throws(EvaluationError) -> Tensor<Double> {
        try logits(features: features).softmax(axis: -1)
    }

    /// The most probable class of each sample (ties go to the lower class index).
    /// - Parameter features: [samples, features] inputs.
    public func predict<T: TensorFloatingPoint>(features: Tensor<T>) throws(EvaluationError) -> [Int] {
        try logits(features: features).argmax(axis: -1).scalars
    }

    /// The mean negative log-likelihood of `labels` under the model (no penalty).
    /// - Parameters:
    ///   - features: [samples, features] inputs.
    ///   - labels: The true classes.
    public func logLoss<T: TensorFloatingPoint>(features: Tensor<T>, labels: [Int]) throws(EvaluationError) -> Double {
        let logProbabilities = try logits(features: features).logSoftmax(axis: -1)
        guard logProbabilities.shape[0] == labels.count, !labels.isEmpty else {
            throw .shapeMismatch("\(logProbabilities.shape[0]) samples but \(labels.count) labels")
        }
        for label in labels where label < 0 || label >= classCount {
            throw .labelOutOfRange(label: label, classCount: classCount)
        }
        let classes = classCount
        let total = logProbabilities.withContiguousBuffer { p in
            labels.enumerated().reduce(0.0) { $0 - p[$1.offset * classes + $1.element] }
        }
        return total / Double(labels.count)
    }
}

/// The penalised multinomial log-loss and its gradient over flat parameters [W (features × classes), b].
/// Owns its work buffers so evaluations allocate nothing.
final class SoftmaxObjective {
    let samples: Int, featureCount: Int, classCount: Int
    let inverseRegularization: Double
    let features: Tensor<Double>  // [samples, features], contiguous
    let labels: [Int]
    /// [samples, classes]: logits, then probabilities minus one-hot targets.
    let residual: UnsafeMutablePointer<Double>
    /// Per-sample log-loss (summed in order afterwards, so the result does not depend on the threading).
    let rowLoss: UnsafeMutablePointer<Double>

    init(features: Tensor<Double>, labels: [Int], classCount: Int, inverseRegularization: Double) {
        self.features = features.contiguous()
        self.samples = features.shape[0]
        self.featureCount = features.shape[1]
        self.classCount = classCount
        self.labels = labels
        self.inverseRegularization = inverseRegularization
        residual = .allocate(capacity: Swift.max(samples * classCount, 1))
        rowLoss = .allocate(capacity: Swift.max(samples, 1))
    }

    deinit {
        residual.deallocate()
        rowLoss.deallocate()
    }

    /// f(x), writing ∇f(x) into `gradient`.
    func evaluate(_ x: [Double], gradient: inout [Double]) -> Double {
        let n = samples, d = featureCount, c = classCount
        let z = residual, losses = rowLoss
        let scale = 1 / Double(n)
        var penalty = 0.0
        x.withUnsafeBufferPointer { params in
            let w = params.baseAddress!, b = w + d * c
            withExtendedLifetime(features.storage) {
                let xs = UnsafePointer(features.storage.pointer + features.offset)
                // Z = X·W (the bias is added in the softmax pass).
                if d > 0 {
                    Double.gemm(
                        transposeA: false, transposeB: false, m: n, n: c, k: d, alpha: 1, a: xs, lda: d,
                        b: w, ldb: c, beta: 0, c: z, ldc: c)
                } else {
                    z.update(repeating: 0, count: n * c)
                }
            }
            // Row softmax: residual = softmax(z + b) - onehot(y); loss = logsumexp - z_y.
            labels.withUnsafeBufferPointer { y in
                let work = UncheckedPointers(z: z, losses: losses, b: b, y: y.baseAddress!)
                Threading.parallelFor(total: n, cost: 8 * c) { rows in
                    let z = work.z, b = work.b
                    for i in rows {
                        let row = z + i * c
                        var peak = -Double.infinity
                        for j in 0..<c {
                            row[j] += b[j]
                            if row[j] > peak { peak = row[j] }
                        }
                        let label = work.y[i]
                        let shiftedTarget = row[label] - peak
                        var total = 0.0
                        for j in 0..<c {
                            let e = Foundation.exp(row[j] - peak)
                            total += e
                            row[j] = e
                        }
                        // -log p_y = log Σ exp(z - peak) - (z_y - peak).
                        work.losses[i] = Foundation.log(total) - shiftedTarget
                        let inverse = 1 / total
                        for j in 0..<c { row[j] *= inverse }
                        row[label] -= 1
                    }
                }
            }
            for j in 0..<(d * c) { penalty += w[j] * w[j] }
        }
        var loss = 0.0
        for i in 0..<n { loss += rowLoss[i] }
        let lambda = 1 / inverseRegularization
        gradient.withUnsafeMutableBufferPointer { g in
            let gw = g.baseAddress!, gb = gw + d * c
            x.withUnsafeBufferPointer { params in
                let w = params.baseAddress!
                // G_W = (Xᵀ·R + λW) / n.
                for j in 0..<(d * c) { gw[j] = lambda * scale * w[j] }
                if d > 0 {
                    withExtendedLifetime(features.storage) {
                        let xs = UnsafePointer(features.storage.pointer + features.offset)
                        Double.gemm(
                            transposeA: true, transposeB: false, m: d, n: c, k: n, alpha: scale, a: xs, lda: d,
                            b: UnsafePointer(z), ldb: c, beta: 1, c: gw, ldc: c)
                    }
                }
            }
            // G_b = column sums of R / n.
            for j in 0..<c { gb[j] = 0 }
            for i in 0..<n {
                let row = z + i * c
                for j in 0..<c { gb[j] += row[j] }
            }
            for j in 0..<c { gb[j] *= scale }
        }
        return scale * (loss + 0.5 * lambda * penalty)
    }
}

/// Raw pointers shared with the parallel softmax workers, which write disjoint rows.
private struct UncheckedPointers: @unchecked Sendable {
    let z: UnsafeMutablePointer<Double>
    let losses: UnsafeMutablePointer<Double>
    let b: UnsafePointer<Double>
    let y: UnsafePointer<Int>
}
