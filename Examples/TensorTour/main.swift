import Foundation
import LaTensor

// A short tour of the tensor core: seeded random data, views, broadcasting, matmul through BLAS,
// reductions, softmax and a least-squares fit through LAPACK.
var generator = RandomGenerator(seed: 42)
let x = Tensor<Double>.randn([200, 3], generator: &generator)
let trueWeights = Tensor<Double>([1.5, -2.0, 0.5], shape: [3, 1])
let noise = Tensor<Double>.randn([200, 1], standardDeviation: 0.01, generator: &generator)
let y = x.matmul(trueWeights) + noise
let fitted = try LinearAlgebra.leastSquares(x, y)
print("least squares recovered weights:", fitted.scalars.map { String(format: "%.3f", $0) })

let logits = Tensor<Float>.randn([4, 5], generator: &generator)
print("softmax rows sum to:", logits.softmax(axis: -1).sum(axis: -1).scalars)
print("transposed view shares storage:", logits.transposed().storage === logits.storage)
print(logits.transposed().matmul(logits))

// Misuse stops with a message naming the op and the shapes, in release builds too (`checkPrecondition` calls
// `fatalError`, whose message `-O` keeps): `TensorTour --show-misuse` multiplies [2, 3, 4] by [5, 4, 6].
if CommandLine.arguments.contains("--show-misuse") {
    let a = Tensor<Float>.zeros([2, 3, 4]), b = Tensor<Float>.zeros([5, 4, 6])
    _ = a.matmul(b)
}
