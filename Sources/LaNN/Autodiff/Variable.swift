import LaTensor

/// Whether operations record a graph for backpropagation. Read through `GradMode.isEnabled`; switch it off
/// for a scope with `withNoGrad { ... }`. It is a task-local value, so it is safe under Swift concurrency
/// and a no-grad scope in one task never affects another.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording any graph (like `torch.no_grad()`): results have no history.
/// - Parameter body: The work to run.
@inlinable
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false) { try body() }
}

/// The record of the op that produced a variable: the graph vertices of its inputs (nil for inputs that needed no
/// gradient when it ran) and its pullback (the vector-Jacobian product), which maps the gradient of the output to
/// one gradient per input (nil where none flows).
@usableFromInline
final class GradNode<Scalar: TensorFloatingPoint> {
    @usableFromInline let name: String
    @usableFromInline let inputs: [GraphVertex<Scalar>?]
    @usableFromInline let pullback: (Tensor<Scalar>) -> [Tensor<Scalar>?]

    @inlinable
    init(name: String, inputs: [GraphVertex<Scalar>?], pullback: @escaping (Tensor<Scalar>) -> [Tensor<Scalar>?]) {
        self.name = name
        self.inputs = inputs
        self.pullback = pullback
    }
}

/// A variable's place in the recorded graph. The graph holds vertices, not variables, so an intermediate value
/// lives only as long as the program or a pullback that saved it holds it (as in PyTorch, where the graph keeps
/// just the saved tensors): the output of a linear layer that only feeds a residual sum is freed as soon as the
/// sum is made.
@usableFromInline
final class GraphVertex<Scalar: TensorFloatingPoint> {
    /// The op that produced the variable; nil for a leaf, and after the graph was freed.
    @usableFromInline var node: GradNode<Scalar>?
    /// For a leaf: the variable whose `grad` accumulates (weak: a dropped leaf gets no gradient).
    @usableFromInline weak var leaf: Variable<Scalar>?
    /// The variable's shape when the vertex was made (every gradient reaching it has this shape).
    @usableFromInline let shape: [Int]

    @inlinable
    init(node: GradNode<Scalar>?, leaf: Variable<Scalar>?, shape: [Int]) {
        self.node = node
        self.leaf = leaf
        self.shape = shape
    }
}

/// A tensor that takes part in reverse-mode automatic differentiation.
///
/// A variable holds a `value` and, when it was produced by a differentiable op while `GradMode.isEnabled`,
/// the op's `GradNode` (its inputs and pullback). `backward()` walks the graph in reverse topological
/// order, accumulates gradients of leaves with `requiresGrad` into `grad`, and frees the graph as it goes (each
/// op's saved tensors once its pullback has run), so a training loop does not grow memory. The graph holds
/// vertices, not variables: an intermediate value that no pullback saved is freed as soon as the program drops it.
///
/// Variables are reference types, like PyTorch tensors: a parameter is one object that layers read and
/// optimizers update in place.
public final class Variable<Scalar: TensorFloatingPoint>: @unchecked Sendable {
    /// The current value. Optimizers update parameters by writing into its storage or replacing it.
    public var value: Tensor<Scalar>
    /// The accumulated gradient of a leaf after `backward()` (nil until then, and after `zeroGrad()`).
    public var grad: Tensor<Scalar>?
    /// Whether gradients flow to (and through) this variable.
    public var requiresGrad: Bool
    /// This variable's vertex in the recorded graph: made by the op that produced it, or on first use as an op's
    /// input for a leaf that requires gradients.
    @usableFromInline var vertex: GraphVertex<Scalar>?
    /// The op that produced this variable, or nil for a leaf (and after the graph was freed).
    @inlinable var node: GradNode<Scalar>? { vertex?.node }

    /// The vertex that stands for this variable as an op's input: its own while it has one in a live graph, else a
    /// new leaf vertex (a leaf, or an intermediate whose graph was freed and which now accumulates its own `grad`).
    @inlinable
    func graphVertex() -> GraphVertex<Scalar> {
        if let vertex, vertex.node != nil || vertex.leaf != nil { return vertex }
        let made = GraphVertex<Scalar>(node: nil, leaf: self, shape: value.shape)
        vertex = made
        return made
    }

    /// Creates a leaf variable.
    /// - Parameters:
    ///   - value: The value.
    ///   - requiresGrad: Whether `backward()` computes its gradient.
    @inlinable
    public init(_ value: Tensor<Scalar>, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.vertex = nil
    }

    /// The value's shape.
    @inlinable public var shape: [Int] { value.shape }
    /// The value's rank.
    @inlinable public var rank: Int { value.rank }
    /// Whether this variable was created by the user rather than by a recorded op.
    @inlinable public var isLeaf: Bool { node == nil }
    /// The name of the op that produced this variable, if any (for debugging).
    public var operationName: String? { node?.name }

    /// The same value without history (gradients do not flow through the result), like `torch.detach`.
    @inlinable
    public func detached() -> Variable { Variable(value) }

    /// Clears the accumulated gradient (sets it to nil, like PyTorch's `zero_grad(set_to_none=True)`).
    @inlinable
    public func zeroGrad() { grad = nil }

    /// Creates the output of a differentiable op: records `pullback` when gradients are enabled and any
    /// input requires them, else returns a constant.
    /// - Parameters:
    ///   - value: The op's result.
    ///   - name: The op name (for debugging and error messages).
    ///   - inputs: The differentiable inputs, in the order the pullback returns their gradients.
    ///   - pullback: Maps the output gradient to the inputs' gradients.
    @inlinable
    public static func record(
        _ value: Tensor<Scalar>, name: String, inputs: [Variable],
        pullback: @escaping (Tensor<Scalar>) -> [Tensor<Scalar>?]
    ) -> Variable {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return Variable(value) }
        let result = Variable(value, requiresGrad: true)
        let node = GradNode(name: name, inputs: inputs.map { $0.requiresGrad ? $0.graphVertex() : nil }, pullback: pullback)
        result.vertex = GraphVertex(node: node, leaf: nil, shape: value.shape)
        return result
    }

    /// Backpropagates from this variable: for a scalar, the seed is 1; otherwise pass `seed` with the
    /// value's shape. Gradients of leaves with `requiresGrad` accumulate into their `grad`.
    /// - Parameters:
    ///   - seed: The gradient of some scalar with respect to this variable (default: 1 for a scalar).
    ///   - retainGraph: Keep the graph so `backward` can run again (default: free it).
    ///   - onLeafGradient: Called for each leaf as soon as its gradient of this pass has been accumulated into
    ///     `grad` (no later op of the pass adds to it), in the order the pass reaches the leaves: data-parallel
    ///     training starts communicating those gradients while the rest of the pass runs.
    @inlinable
    public func backward(seed: Tensor<Scalar>? = nil, retainGraph: Bool = false, onLeafGradient: ((Variable) -> Void)? = nil) {
        let start: Tensor<Scalar>
        if let seed {
            checkPrecondition(seed.shape == value.shape, "backward: seed shape \(seed.shape) differs from value shape \(value.shape)")
            start = seed
        } else {
            checkPrecondition(value.count == 1, "backward: seed needed for a non-scalar of shape \(value.shape)")
            start = Tensor<Scalar>.ones(value.shape)
        }
        guard requiresGrad else { return }

        // Reverse topological order of the graph's vertices by an iterative depth-first search.
        let root = graphVertex()
        var order: [GraphVertex<Scalar>] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GraphVertex<Scalar>, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (vertex, next) = stack.popLast() {
            let inputs = vertex.node?.inputs ?? []
            if next < inputs.count {
                stack.append((vertex, next + 1))
                if let input = inputs[next], visited.insert(ObjectIdentifier(input)).inserted {
                    stack.append((input, 0))
                }
            } else {
                order.append(vertex)
            }
        }

        // Gradients of intermediate variables live only here; `owned` marks tensors this loop allocated
        // (safe to add into in place), as opposed to tensors returned by a pullback (which may alias).
        // Without retainGraph, each op's record (its pullback and the tensors it saved) is dropped as soon as the
        // op has run, as PyTorch frees saved tensors: the forward pass's activations are freed layer by layer
        // while the gradients are made.
        var gradients: [ObjectIdentifier: (tensor: Tensor<Scalar>, owned: Bool)] = [:]
        gradients[ObjectIdentifier(root)] = (start, false)
        for vertex in order.reversed() {
            guard let (gradient, _) = gradients.removeValue(forKey: ObjectIdentifier(vertex)) else {
                if !retainGraph { vertex.node = nil }
                continue
            }
            guard let node = vertex.node else {
                if let leaf = vertex.leaf {
                    leaf.accumulate(gradient)
                    onLeafGradient?(leaf)
                }
                continue
            }
            if !retainGraph { vertex.node = nil }
            let inputGradients = node.pullback(gradient)
            checkPrecondition(
                inputGradients.count == node.inputs.count,
                "backward: \(node.name) returned \(inputGradients.count) gradients for \(node.inputs.count) inputs")
            for (input, inputGradient) in zip(node.inputs, inputGradients) {
                guard let input, let inputGradient else { continue }
                checkPrecondition(
                    inputGradient.shape == input.shape,
                    "backward: \(node.name) gave a gradient of shape \(inputGradient.shape) for an input of shape \(input.shape)")
                let key = ObjectIdentifier(input)
                if let existing = gradients[key] {
                    if existing.owned {
                        existing.tensor.addInPlace(inputGradient)
                    } else {
                        gradients[key] = (existing.tensor + inputGradient, true)
                    }
                } else {
                    gradients[key] = (inputGradient, false)
                }
            }
        }
    }

    /// Adds `gradient` into `grad` (a leaf's accumulator); the first gradient is copied so that `grad`
    /// never aliases another tensor.
    @inlinable
    func accumulate(_ gradient: Tensor<Scalar>) {
        if let grad {
            grad.addInPlace(gradient)
        } else {
            grad = gradient.copy()
        }
    }
}

extension Variable: CustomStringConvertible {
    /// The value, and the op that produced it.
    public var description: String {
        "Variable(requiresGrad: \(requiresGrad)\(node.map { ", op: \($0.name)" } ?? ""),\n\(value))"
    }
}
