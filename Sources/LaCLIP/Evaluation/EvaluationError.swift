/// A problem with the inputs of an evaluation: a template file, a class list, features and labels that do
/// not agree, or a protocol that the data cannot support.
///
/// The evaluation functions throw this instead of stopping the program because their inputs (templates,
/// class names, dataset splits) usually come from files and configuration.
public enum EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The class-name list is empty.
    case emptyClassList
    /// The template list is empty.
    case emptyTemplateList
    /// A zero-shot template has no `{}` placeholder for the class name.
    /// - Parameters:
    ///   - index: The template's position in the list (0-based).
    ///   - template: The offending template.
    case templateWithoutPlaceholder(index: Int, template: String)
    /// A template file cannot be read.
    /// - Parameters:
    ///   - path: The file.
    ///   - reason: The underlying error, in words.
    case unreadableTemplateFile(path: String, reason: String)
    /// A template file is not a JSON list of strings.
    /// - Parameters:
    ///   - path: The file.
    ///   - reason: What is wrong with its content.
    case malformedTemplateFile(path: String, reason: String)
    /// The text encoder returned a tensor of the wrong shape for a batch of prompts.
    /// - Parameters:
    ///   - expectedRows: The number of prompts in the batch.
    ///   - shape: The shape it returned.
    case encoderOutputShape(expectedRows: Int, shape: [Int])
    /// Two inputs that must agree do not (feature widths, feature/label counts, ...).
    /// - Parameter message: What disagrees.
    case shapeMismatch(String)
    /// A label lies outside `0 ..< classCount`.
    /// - Parameters:
    ///   - label: The label.
    ///   - classCount: The number of classes.
    case labelOutOfRange(label: Int, classCount: Int)
    /// A parameter is outside the range it supports (a non-positive k, an empty split, ...).
    /// - Parameter message: Which parameter and why.
    case invalidArgument(String)
    /// The data cannot support the requested protocol (too few classes or samples per class).
    /// - Parameter message: What is missing.
    case insufficientData(String)

    /// A one-line explanation of the error.
    public var description: String {
        switch self {
        case .emptyClassList: return "zero-shot: the class-name list is empty"
        case .emptyTemplateList: return "zero-shot: the template list is empty"
        case .templateWithoutPlaceholder(let index, let template):
            return "zero-shot: template \(index) (\"\(template)\") has no {} placeholder for the class name"
        case .unreadableTemplateFile(let path, let reason): return "\(path): cannot read template file: \(reason)"
        case .malformedTemplateFile(let path, let reason): return "\(path): not a JSON list of strings: \(reason)"
        case .encoderOutputShape(let rows, let shape):
            return "zero-shot: the text encoder returned shape \(shape) for \(rows) prompts (expected [\(rows), width])"
        case .shapeMismatch(let message): return "shape mismatch: \(message)"
        case .labelOutOfRange(let label, let classCount): return "label \(label) is outside 0..<\(classCount)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .insufficientData(let message): return "insufficient data: \(message)"
        }
    }
}
