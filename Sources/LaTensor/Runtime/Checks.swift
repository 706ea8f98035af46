/// Stops the program with `message` when `condition` is false, in every build configuration.
///
/// Swift's `precondition` drops its message in optimised (`-O`) builds, so a user of a release build would see only
/// "Illegal instruction" for a shape mismatch. Every misuse check of the package goes through this function, which
/// calls `fatalError` (whose message `-O` keeps): the op and the shapes always reach standard error.
/// - Parameters:
///   - condition: What must hold.
///   - message: What went wrong, naming the op and the shapes (only built when the check fails).
///   - file: The calling file.
///   - line: The calling line.
@inlinable @inline(__always)
public func checkPrecondition(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition()) { misuseDetected(message(), file: file, line: line) }
}

/// Stops the program with `message`, in every build configuration (see `checkPrecondition(_:_:file:line:)`).
/// - Parameters:
///   - message: What went wrong.
///   - file: The calling file.
///   - line: The calling line.
@inline(never)
public func misuseDetected(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
