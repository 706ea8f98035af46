// Process memory as the benchmarks read it (Linux): the resident set (now and its peak), minor page faults, the C
// allocator's bytes in use, and a way to hand freed memory back to the system before taking an RSS baseline.
// Used by BlockRatios' memory check, TensorRatios' faults column and TrainStepRatios' memory and fault columns.
import CMallocStats
import LaTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The resident set size of this process in bytes, from /proc/self/statm (0 where it cannot be read).
public func residentBytes() -> Int {
    let descriptor = open("/proc/self/statm", O_RDONLY)
    guard descriptor >= 0 else { return 0 }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count - 1) }
    guard count > 0 else { return 0 }
    // "size resident shared text lib data dt", in pages.
    let fields = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A `Vm…:` field of /proc/self/status in bytes (`VmHWM` is the peak resident set, `VmRSS` the current one),
/// or nil where it cannot be read.
/// - Parameter field: The field name without the colon, e.g. "VmHWM".
public func statusBytes(_ field: String) -> Int? {
    let descriptor = open("/proc/self/status", O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes += chunk[0..<count]
    }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix(field + ":") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
    }
    return nil
}

/// Resets the peak resident set (VmHWM) to the current one (Linux: "5" to /proc/self/clear_refs).
/// - Returns: Whether the reset worked (false in containers that forbid it: VmHWM is then the process-wide peak).
@discardableResult
public func resetPeakResidentBytes() -> Bool {
    let descriptor = open("/proc/self/clear_refs", O_WRONLY)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    return write(descriptor, "5", 1) == 1
}

/// Minor page faults of this process so far (`getrusage(RUSAGE_SELF).ru_minflt`): first touches of fresh pages,
/// which the kernel has to zero. Take the difference over a stretch of work.
public func minorFaults() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_minflt
}

/// Bytes the C allocator has handed out and not had back (glibc `mallinfo2`: `uordblks + hblkhd`, all arenas
/// and mmapped chunks); nil where unavailable. RSS growing while this stays flat is memory the allocator keeps
/// (free chunks in its arenas), not a leak.
public func mallocInUseBytes() -> Int? {
    let value = cla_malloc_in_use_bytes()
    return value < 0 ? nil : Int(value)
}

/// Hands memory that is free but still resident back to the system: LaTensor's cache of freed storages
/// (`TensorMemory.emptyStorageCache()`), then glibc's free arena pages (`malloc_trim(0)`). Call it before an RSS
/// baseline, so the baseline and the peak after it count the memory of what runs next, not what ran before.
public func releaseFreedMemory() {
    TensorMemory.emptyStorageCache()
    _ = cla_malloc_trim()
}
