import LaTensor

/// A 2-D convolution whose stride equals its kernel size and has no padding: the ViT patch embedding
/// (`conv1` in CLIP). Implemented as unfold (a reshape/permute of non-overlapping patches) and one matmul.
/// Parameters: `weight` [out, in, k, k] and optionally `bias` [out].
public final class Conv2d<Scalar: TensorFloatingPoint>: Module {
    /// [outChannels, inChannels, kernel, kernel].
    public let weight: Variable<Scalar>
    /// [outChannels], or nil (CLIP's `conv1` has none).
    public let bias: Variable<Scalar>?
    /// The kernel size, which is also the stride.
    public let kernelSize: Int
    /// Training mode.
    public var isTraining = true

    /// Creates the layer with PyTorch's default initialisation (uniform in ±1/sqrt(fan_in)).
    /// - Parameters:
    ///   - inChannels: Input channels.
    ///   - outChannels: Output channels.
    ///   - kernelSize: Kernel size and stride.
    ///   - bias: Whether to add a bias.
    ///   - generator: The random generator.
    public init(inChannels: Int, outChannels: Int, kernelSize: Int, bias: Bool = false, generator: inout RandomGenerator) {
        let fanIn = inChannels * kernelSize * kernelSize
        let bound = 1 / Scalar(Swift.max(fanIn, 1)).squareRoot()
        weight = Variable(
            Initializer.uniform([outChannels, inChannels, kernelSize, kernelSize], bound: bound, generator: &generator),
            requiresGrad: true)
        self.bias = bias ? Variable(Initializer.uniform([outChannels], bound: bound, generator: &generator), requiresGrad: true) : nil
        self.kernelSize = kernelSize
    }

    /// The parameters `weight` and `bias`.
    public var localParameters: [(name: String, parameter: Variable<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// The convolution as a sequence of patch features: [B, C, H, W] -> [B, (H/k)·(W/k), outChannels],
    /// patches in row-major order (what a ViT consumes).
    /// - Parameter input: [B, C, H, W] with H and W divisible by the kernel size.
    @inlinable
    public func patches(_ input: Variable<Scalar>) -> Variable<Scalar> {
        let k = kernelSize
        checkPrecondition(
            input.rank == 4 && input.shape[1] == weight.shape[1] && input.shape[2] % k == 0 && input.shape[3] % k == 0,
            "Conv2d: input shape \(input.shape) does not fit weight \(weight.shape) with stride \(k)")
        let (b, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let gh = h / k, gw = w / k
        let unfolded = input.reshaped([b, c, gh, k, gw, k]).permuted([0, 2, 4, 1, 3, 5]).reshaped([b, gh * gw, c * k * k])
        return unfolded.linear(weight: weight.reshaped([weight.shape[0], c * k * k]), bias: bias)
    }

    /// The convolution with PyTorch's output layout: [B, C, H, W] -> [B, outChannels, H/k, W/k].
    /// - Parameter input: [B, C, H, W].
    @inlinable
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        let p = patches(input)
        return p.transposed(1, 2).reshaped([input.shape[0], weight.shape[0], input.shape[2] / kernelSize, input.shape[3] / kernelSize])
    }
}
