// Choosing OpenBLAS's kernels when its own CPU detection picks weaker ones than the CPU supports (Debian 12's
// OpenBLAS 0.3.21 falls back to its SSE3 `Prescott` kernels on newer Intel CPUs it does not recognise). A
// DYNAMIC_ARCH OpenBLAS exports gotoblas_dynamic_quit / gotoblas_dynamic_init, which re-read OPENBLAS_CORETYPE;
// they are looked up with dlsym, so nothing here needs them to exist.
#ifndef CLA_OPENBLAS_CORE_H
#define CLA_OPENBLAS_CORE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The kernel family a CPU with these features should use, when it is better than `current`: "SkylakeX" for
/// AVX-512 F/CD/BW/DQ/VL, "Haswell" for AVX2+FMA; NULL when `current` is as good or better (or unknown
/// capabilities). Pure (no side effects), for tests.
const char *cla_openblas_better_core(const char *current, int has_avx512, int has_avx2_fma);

/// Switches OpenBLAS to the kernels the CPU supports when it runs weaker ones, unless OPENBLAS_CORETYPE is set (it
/// always wins) or LACLIP_OPENBLAS_AUTOSELECT=0. Call before the first BLAS call. Writes OpenBLAS's core names
/// before and after into the buffers.
/// @return 1 switched, 0 left as it was, -1 the switch is not possible (not a DYNAMIC_ARCH OpenBLAS).
int cla_openblas_select_core(char *before, char *after, size_t size);

#ifdef __cplusplus
}
#endif

#endif
