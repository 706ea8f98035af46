import CLaBLAS

/// What the BLAS library in use reports about itself (for logs and benchmark headers).
public enum BLAS {
    /// The kernel family OpenBLAS chose for this CPU (e.g. `Haswell`, `SkylakeX`, `Prescott`), from
    /// `openblas_get_corename()`.
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// OpenBLAS's build configuration string (`openblas_get_config()`).
    public static var configuration: String { String(cString: openblas_get_config()) }
}
