import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed system call while writing a file atomically.
struct AtomicFileError: Error, CustomStringConvertible {
    /// The path the call was made on.
    var path: String
    /// The system call, such as `"fsync"`.
    var operation: String
    /// The `errno` it set.
    var code: Int32

    var description: String {
        "\(operation) '\(path)': \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// Writes whole files so that readers see either the old contents or the new, never a mixture.
///
/// The bytes go to a temporary file in the target's folder, which is flushed with `fsync`, given the old
/// file's permissions, and renamed over the target; then the folder is flushed so the rename itself
/// survives a crash. If anything fails, or `body` throws, the temporary file is removed and the target is
/// left as it was.
enum AtomicFile {
    /// Receives a file's bytes in order.
    struct Writer {
        fileprivate let descriptor: Int32
        fileprivate let path: String

        /// Appends bytes to the file.
        /// - Parameter bytes: The bytes to append (may be empty).
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard var next = bytes.baseAddress else { return }
            var remaining = bytes.count
            while remaining > 0 {
                let written = systemWrite(descriptor, next, Swift.min(remaining, 1 << 30))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw AtomicFileError(path: path, operation: "write", code: errno)
                }
                remaining -= written
                next += written
            }
        }
    }

    /// Creates or replaces the file at `url` with the bytes `body` writes.
    /// - Parameters:
    ///   - url: The file to create or replace.
    ///   - body: Writes the new contents through the writer it is given.
    static func write(to url: URL, _ body: (Writer) throws -> Void) throws {
        let target = url.standardizedFileURL
        let folder = target.deletingLastPathComponent().path
        removeStaleTemporaryFiles(inFolder: folder, targetPrefix: target.lastPathComponent)
        let (descriptor, temporaryPath) = try createTemporaryFile(
            in: folder, for: target.lastPathComponent)
        var open = true
        do {
            if let mode = existingMode(of: target.path) { _ = fchmod(descriptor, mode) }
            try body(Writer(descriptor: descriptor, path: temporaryPath))
            guard fsync(descriptor) == 0 else {
                throw AtomicFileError(path: temporaryPath, operation: "fsync", code: errno)
            }
            open = false
            guard close(descriptor) == 0 else {
                throw AtomicFileError(path: temporaryPath, operation: "close", code: errno)
            }
            guard rename(temporaryPath, target.path) == 0 else {
                throw AtomicFileError(path: target.path, operation: "rename", code: errno)
            }
        } catch {
            if open { _ = close(descriptor) }
            _ = unlink(temporaryPath)
            throw error
        }
        synchronizeFolder(folder)
    }

    /// Opens a new, uniquely named file beside the target.
    private static func createTemporaryFile(in folder: String, for name: String) throws -> (Int32, String) {
        var attempt = 0
        while true {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let path = folder + "/." + name + ".tmp-\(getpid())-" + suffix
            let descriptor = systemOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 { return (descriptor, path) }
            let code = errno
            attempt += 1
            if (code == EEXIST || code == EINTR) && attempt < 100 { continue }
            throw AtomicFileError(path: path, operation: "open", code: code)
        }
    }

    /// Removes `.PREFIX….tmp-PID-…` files that a killed write left beside its target: only those whose process
    /// no longer runs (a live process may be writing it right now).
    /// - Parameters:
    ///   - folder: The folder.
    ///   - targetPrefix: The start of the target names whose leftovers go (a whole file name, or a common prefix).
    /// - Returns: The number of files removed.
    @discardableResult
    static func removeStaleTemporaryFiles(inFolder folder: String, targetPrefix: String) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix("." + targetPrefix) {
            guard let marker = name.range(of: ".tmp-", options: .backwards) else { continue }
            let rest = name[marker.upperBound...]
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            let running = pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
            if !running && unlink(folder + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    /// The permission bits of an existing regular file, so replacing it keeps them.
    private static func existingMode(of path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        return status.st_mode & 0o7777
    }

    /// Flushes a folder's entries (best effort: some file systems refuse `fsync` on folders).
    private static func synchronizeFolder(_ folder: String) {
        let descriptor = systemOpen(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        _ = close(descriptor)
    }
}

@inline(__always)
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}

@inline(__always)
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// Removes the temporary files that killed atomic writes (`SafeTensorsFile.write`, `TrainingState.save`) left in
/// `directory` for targets whose name starts with `namePrefix` (`.NAME.tmp-PID-…`), when their process no longer
/// runs. Every atomic write already does this for its own target; call it for a family of targets (e.g. all
/// `checkpoint-*` files of a run).
/// - Parameters:
///   - directory: The folder.
///   - namePrefix: The start of the target file names.
/// - Returns: The number of files removed.
@discardableResult
public func removeStaleTemporaryFiles(in directory: URL, namePrefix: String) -> Int {
    AtomicFile.removeStaleTemporaryFiles(inFolder: directory.path, targetPrefix: namePrefix)
}
