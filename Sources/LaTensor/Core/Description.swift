import Foundation

extension Tensor: CustomStringConvertible {
    /// Shape, dtype and a NumPy-like summary of the values (large axes show their first and last 3 entries).
    public var description: String {
        let header = "Tensor(shape: \(shape), dtype: \(dtype)"
        let values = Tensor.format(self, summarise: count > 1000)
        return header + ",\n" + values + ")"
    }

    static func formatScalar(_ value: Scalar) -> String {
        if let v = value as? Float { return formatFloating(Double(v), digits: 4) }
        if let v = value as? Double { return formatFloating(v, digits: 4) }
        return "\(value)"
    }

    static func formatFloating(_ v: Double, digits: Int) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v != 0 && (Swift.abs(v) >= 1e6 || Swift.abs(v) < 1e-4) { return String(format: "%.\(digits)e", v) }
        return String(format: "%.\(digits)f", v)
    }

    static func format(_ tensor: Tensor, summarise: Bool, indent: Int = 0) -> String {
        if tensor.rank == 0 { return formatScalar(tensor.item) }
        let n = tensor.shape[0]
        let edge = 3
        var parts: [String] = []
        let indices: [Int?] = summarise && n > 2 * edge
            ? Array(0..<edge).map { Optional($0) } + [nil] + Array((n - edge)..<n).map { Optional($0) }
            : Array(0..<n).map { Optional($0) }
        for index in indices {
            guard let index else {
                parts.append("...")
                continue
            }
            parts.append(format(tensor[index], summarise: summarise, indent: indent + 1))
        }
        let separator = tensor.rank == 1 ? ", " : ",\n" + String(repeating: " ", count: indent + 1)
        return "[" + parts.joined(separator: separator) + "]"
    }
}

extension Tensor where Scalar: TensorFloatingPoint {
    /// Whether every element satisfies `|self - other| <= atol + rtol * |other|` (shapes broadcast), like
    /// `torch.allclose`. NaNs compare unequal unless `equalNaN` is set.
    /// - Parameters:
    ///   - other: The reference values.
    ///   - rtol: Relative tolerance.
    ///   - atol: Absolute tolerance.
    ///   - equalNaN: Treat NaN as equal to NaN.
    @inlinable
    public func allClose(_ other: Tensor, rtol: Scalar = 1e-5, atol: Scalar = 1e-8, equalNaN: Bool = false) -> Bool {
        let close = zip(other, operation: "allClose") { a, b -> Bool in
            if a.isNaN || b.isNaN { return equalNaN && a.isNaN && b.isNaN }
            if a == b { return true }
            // An infinity is close only to an equal infinity (|inf - x| <= rtol * inf would pass).
            if a.isInfinite || b.isInfinite { return false }
            return Swift.abs(a - b) <= atol + rtol * Swift.abs(b)
        }
        return close.scalars.allSatisfy { $0 }
    }
}
