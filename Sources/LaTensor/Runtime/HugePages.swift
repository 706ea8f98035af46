#if canImport(Glibc)
import Glibc
#endif

/// Large fresh tensor storages ask the kernel for transparent huge pages, so that first-touching a new
/// output takes one page fault per 2 MiB instead of one per 4 KiB (the fault count, not the zeroing, is what
/// made writing a fresh 256 MiB output several times slower than writing warm memory). A hint only: when
/// THP is disabled (`/sys/kernel/mm/transparent_hugepage/enabled` = never) nothing changes.
@usableFromInline
enum HugePages {
    /// Storages of at least this many bytes get the hint.
    @usableFromInline static let threshold = 4 << 20

    /// Advises huge pages for the 2 MiB-aligned interior of `[pointer, pointer + bytes)`.
    /// - Parameters:
    ///   - pointer: The start of a fresh allocation.
    ///   - bytes: Its size in bytes.
    @usableFromInline
    static func advise(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        let huge = 2 << 20
        let start = (Int(bitPattern: pointer) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: pointer) + bytes) & ~(huge - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
        #endif
    }
}

import CLaKernels

/// Switches of the vectorised CLaKernels path (Float, contiguous operands), for tests and diagnosis.
enum VectorKernels {
    /// Whether vector kernels are in use (false on CPUs without AVX2 and FMA, or when forced off).
    static var isVectorized: Bool { cla_vector_level() != 0 }

    /// The level in use: 2 AVX-512F, 1 AVX2+FMA, 0 scalar.
    static var level: Int { Int(cla_vector_level()) }

    /// Caps the level (2 allows AVX-512F, 1 stops at AVX2+FMA, 0 is scalar). Process-wide; meant for tests.
    static func setMaximumLevel(_ level: Int) { cla_set_max_vector_level(Int32(level)) }

    /// Forces CLaKernels onto its portable scalar (libm) fallback. Process-wide; meant for tests.
    static var forceScalar: Bool {
        get { cla_get_force_scalar() != 0 }
        set { cla_set_force_scalar(newValue ? 1 : 0) }
    }
}
