import LaTensor

/// A layer or model whose parameters form a named tree.
///
/// Each module lists its own parameters and its child modules explicitly, under the names PyTorch and
/// open_clip use in their state dicts (`weight`, `bias`, `in_proj_weight`, `resblocks`...). The dotted
/// path of a parameter (`transformer.resblocks.3.mlp.c_fc.weight`) is therefore its checkpoint key, and
/// checkpoints move between this package and open_clip without a mapping table. Traversal is explicit:
/// nothing is discovered by reflection, so the tree cannot go stale.
public protocol Module<Scalar>: AnyObject {
    /// The element type of the parameters.
    associatedtype Scalar: TensorFloatingPoint
    /// The module's own parameters (not its children's), in checkpoint order.
    var localParameters: [(name: String, parameter: Variable<Scalar>)] { get }
    /// The direct child modules, in checkpoint order. A list of blocks is named `resblocks.0`, `resblocks.1`...
    var children: [(name: String, module: any Module<Scalar>)] { get }
    /// Training mode (dropout active) or evaluation mode.
    var isTraining: Bool { get set }
    /// Random generators the module itself owns (e.g. a dropout mask stream), by name; part of a saved
    /// training state so that resumed training draws the same random numbers.
    var localGenerators: [String: RandomGenerator] { get set }
}

extension Module {
    /// Modules with no children.
    public var children: [(name: String, module: any Module<Scalar>)] { [] }

    /// Modules with no random generators.
    public var localGenerators: [String: RandomGenerator] {
        get { [:] }
        set {}
    }

    /// Every random generator in the tree by dotted path (e.g. `transformer.resblocks.0.dropout.generator`).
    public func namedGenerators() -> [String: RandomGenerator] {
        var result: [String: RandomGenerator] = [:]
        for (path, module) in namedModules() {
            for (name, generator) in module.localGenerators {
                result[path.isEmpty ? name : path + "." + name] = generator
            }
        }
        return result
    }

    /// Restores generators saved by `namedGenerators()`; paths that match no generator are ignored.
    /// - Parameter generators: Generators by dotted path.
    public func loadGenerators(_ generators: [String: RandomGenerator]) {
        for (path, module) in namedModules() {
            var local = module.localGenerators
            for name in local.keys {
                if let saved = generators[path.isEmpty ? name : path + "." + name] { local[name] = saved }
            }
            module.localGenerators = local
        }
    }

    /// Every parameter in the tree with its dotted path, depth first, in checkpoint order.
    public func namedParameters() -> [(name: String, parameter: Variable<Scalar>)] {
        var result: [(name: String, parameter: Variable<Scalar>)] = localParameters
        for (childName, child) in children {
            for (name, parameter) in child.namedParameters() {
                result.append((childName + "." + name, parameter))
            }
        }
        return result
    }

    /// Every parameter in the tree.
    public func parameters() -> [Variable<Scalar>] { namedParameters().map(\.parameter) }

    /// The number of scalars in all parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.value.count } }

    /// Every module in the tree (including `self`) with its dotted path (`""` for `self`).
    public func namedModules() -> [(name: String, module: any Module<Scalar>)] {
        var result: [(name: String, module: any Module<Scalar>)] = [("", self)]
        for (childName, child) in children {
            for (name, module) in child.namedModules() {
                result.append((name.isEmpty ? childName : childName + "." + name, module))
            }
        }
        return result
    }

    /// Switches the whole tree to training mode (true) or evaluation mode (false).
    /// - Parameter training: The new mode.
    public func setTraining(_ training: Bool) {
        for (_, module) in namedModules() { module.isTraining = training }
    }

    /// Freezes (no gradients) or unfreezes the parameters whose path satisfies `predicate` (default: all).
    /// - Parameters:
    ///   - frozen: True to freeze, false to unfreeze.
    ///   - predicate: Which parameter paths to change.
    public func setFrozen(_ frozen: Bool, where predicate: (String) -> Bool = { _ in true }) {
        for (name, parameter) in namedParameters() where predicate(name) { parameter.requiresGrad = !frozen }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for parameter in parameters() { parameter.zeroGrad() }
    }

    /// The gradients in the same named tree as the parameters (parameters without a gradient are left out).
    public func namedGradients() -> [String: Tensor<Scalar>] {
        var result: [String: Tensor<Scalar>] = [:]
        for (name, parameter) in namedParameters() {
            if let grad = parameter.grad { result[name] = grad }
        }
        return result
    }

    /// The parameter values by dotted path, like PyTorch's `state_dict()`.
    public func stateDict() -> [String: Tensor<Scalar>] {
        Dictionary(namedParameters().map { ($0.name, $0.parameter.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Copies values from a state dict into the parameters (in place).
    ///
    /// All problems are reported together in one `StateDictError`: missing keys, unexpected keys (only
    /// when `strict`), and shape mismatches. Nothing is changed unless everything matches.
    /// - Parameters:
    ///   - state: Values by dotted path.
    ///   - strict: Treat keys that match no parameter as an error (like `load_state_dict(strict=True)`).
    public func loadStateDict(_ state: [String: Tensor<Scalar>], strict: Bool = true) throws {
        let named = namedParameters()
        let known = Set(named.map(\.name))
        var missing: [String] = []
        var mismatched: [StateDictError.ShapeMismatch] = []
        for (name, parameter) in named {
            guard let value = state[name] else {
                missing.append(name)
                continue
            }
            if value.shape != parameter.value.shape {
                mismatched.append(.init(key: name, expected: parameter.value.shape, found: value.shape))
            }
        }
        let unexpected = strict ? state.keys.filter { !known.contains($0) }.sorted() : []
        if !missing.isEmpty || !unexpected.isEmpty || !mismatched.isEmpty {
            throw StateDictError(missingKeys: missing, unexpectedKeys: unexpected, shapeMismatches: mismatched)
        }
        for (name, parameter) in named {
            parameter.value = state[name]!.copy()
        }
    }
}

/// Why a state dict could not be loaded into a module: every problem at once.
public struct StateDictError: Error, CustomStringConvertible, Equatable {
    /// A parameter whose stored value has the wrong shape.
    public struct ShapeMismatch: Equatable, Sendable {
        /// The dotted path.
        public let key: String
        /// The module's parameter shape.
        public let expected: [Int]
        /// The stored shape.
        public let found: [Int]
    }
    /// Parameters with no value in the state dict.
    public let missingKeys: [String]
    /// State dict keys that match no parameter.
    public let unexpectedKeys: [String]
    /// Shape mismatches.
    public let shapeMismatches: [ShapeMismatch]

    /// A readable message listing every problem.
    public var description: String {
        var lines = ["state dict does not match the module:"]
        if !missingKeys.isEmpty { lines.append("  missing keys: " + missingKeys.joined(separator: ", ")) }
        if !unexpectedKeys.isEmpty { lines.append("  unexpected keys: " + unexpectedKeys.joined(separator: ", ")) }
        for m in shapeMismatches {
            lines.append("  shape mismatch for \(m.key): module has \(m.expected), state dict has \(m.found)")
        }
        return lines.joined(separator: "\n")
    }
}
