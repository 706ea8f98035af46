/// A problem with data from outside the program: a file, a dataset row, a configuration field.
///
/// Every loader in LaData throws this (never crashes) and names where the problem is: the file, and when
/// known the line (1-based) or record, and the field.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, broadly.
    public enum Kind: String, Sendable {
        /// The file does not exist or cannot be read.
        case unreadable
        /// The content does not follow its format.
        case malformed
        /// The content is cut short.
        case truncated
        /// Two inputs that must agree do not (e.g. line counts of aligned files).
        case mismatch
        /// A value is outside what is supported.
        case unsupported
    }

    /// The broad kind of problem.
    public let kind: Kind
    /// The file (or shard, or URL) concerned.
    public let file: String
    /// The 1-based line or record number, if known.
    public let line: Int?
    /// The field, column or member concerned, if any.
    public let field: String?
    /// What is wrong, in words.
    public let message: String

    /// Creates an error.
    /// - Parameters:
    ///   - kind: The broad kind of problem.
    ///   - file: The file concerned.
    ///   - line: The 1-based line or record number, if known.
    ///   - field: The field, column or member, if any.
    ///   - message: What is wrong.
    public init(_ kind: Kind, file: String, line: Int? = nil, field: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `file:line: field: message`.
    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let field { location += ": \(field)" }
        return "\(location): \(message)"
    }
}
