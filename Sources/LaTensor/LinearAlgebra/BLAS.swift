import CLaBLAS
import CLaKernels
import Foundation

/// What the BLAS library in use reports about itself, and the choice of its kernels.
public enum BLAS {
    /// The kernel family OpenBLAS uses on this CPU (e.g. `Haswell`, `SkylakeX`, `Prescott`), from
    /// `openblas_get_corename()`.
    public static var coreName: String {
        _ = kernelSelection
        return String(cString: openblas_get_corename())
    }
    /// OpenBLAS's build configuration string (`openblas_get_config()`).
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// What happened to OpenBLAS's kernel choice when LaTensor started using it.
    public struct KernelSelection: Sendable, Equatable {
        /// The kernel family OpenBLAS chose by itself.
        public let detected: String
        /// The family in use afterwards.
        public let inUse: String
        /// Whether LaTensor switched families.
        public var switched: Bool { detected != inUse }
    }

    /// Chooses OpenBLAS's kernels once, before the first BLAS call: when OpenBLAS picked a weaker kernel family than
    /// the CPU supports (Debian 12's OpenBLAS 0.3.21 runs its SSE3 `Prescott` kernels on newer Intel CPUs it does not
    /// recognise, 4-5 times slower), it is switched to `SkylakeX` (AVX-512) or `Haswell` (AVX2+FMA) through OpenBLAS's
    /// own `gotoblas_dynamic_init`, and the choice is reported once on standard error. An explicit
    /// `OPENBLAS_CORETYPE` always wins; `LACLIP_OPENBLAS_AUTOSELECT=0` keeps OpenBLAS's own choice.
    public static let kernelSelection: KernelSelection = {
        var before = [CChar](repeating: 0, count: 64), after = [CChar](repeating: 0, count: 64)
        let result = cla_openblas_select_core(&before, &after, 64)
        let selection = KernelSelection(
            detected: String(decoding: before.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
            inUse: String(decoding: after.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        if result == 1 {
            FileHandle.standardError.write(Data((
                "LaTensor: OpenBLAS chose its \(selection.detected) kernels for this CPU; switched to \(selection.inUse), which the CPU "
                    + "supports (set OPENBLAS_CORETYPE to choose, LACLIP_OPENBLAS_AUTOSELECT=0 to keep OpenBLAS's choice)\n").utf8))
        }
        return selection
    }()

    /// The kernel family LaTensor would switch OpenBLAS to from `current` on a CPU with these features, or nil.
    /// - Parameters:
    ///   - current: OpenBLAS's choice.
    ///   - hasAVX512: AVX-512 F, CD, BW, DQ and VL.
    ///   - hasAVX2FMA: AVX2 and FMA.
    public static func betterCore(than current: String, hasAVX512: Bool, hasAVX2FMA: Bool) -> String? {
        cla_openblas_better_core(current, hasAVX512 ? 1 : 0, hasAVX2FMA ? 1 : 0).map { String(cString: $0) }
    }
}
