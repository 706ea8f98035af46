// LaTensor's own single-precision GEMM: packed AVX-512 micro-kernels (12 x 32 tiles of C in registers, Goto/BLIS
// cache blocking) on CPUs with AVX-512F, AVX2+FMA ones (6 x 16 tiles) on CPUs with AVX2 and FMA, selected at run
// time; both give bit-identical results. It computes in the calling thread only; LaTensor
// splits large products over its threads by rows or columns of C, never over k, so a result does not depend on
// the thread count.
#ifndef CLA_SGEMM_H
#define CLA_SGEMM_H

#ifdef __cplusplus
extern "C" {
#endif

/// The kernel sets: none (use BLAS), AVX2 + FMA, AVX-512F.
enum { CLA_SGEMM_NONE = 0, CLA_SGEMM_AVX2 = 1, CLA_SGEMM_AVX512 = 2 };

/// The best kernel set this CPU runs (CLA_SGEMM_NONE off x86-64 or without AVX2 and FMA).
int cla_sgemm_available(void);

/// The kernel set cla_sgemm uses: the best available unless lowered by cla_sgemm_select_kernels.
int cla_sgemm_kernels(void);

/// Uses `kernels` (clamped to what the CPU runs; CLA_SGEMM_NONE makes cla_sgemm decline) and returns the set chosen.
int cla_sgemm_select_kernels(int kernels);

/// The rows of C a thread should take at a time (the micro-kernel's tile height), and its columns.
int cla_sgemm_tile_rows(void);
int cla_sgemm_tile_columns(void);

/// Row-major C = alpha * op(A) * op(B) + beta * C on the calling thread, op(A) [m, k], op(B) [k, n];
/// op(A)[i, p] = a[p * lda + i] when trans_a, else a[i * lda + p]; op(B)[p, j] = b[j * ldb + p] when trans_b,
/// else b[p * ldb + j]. beta == 0 overwrites C without reading it (NaNs in C do not propagate), as in BLAS.
/// Returns 1 when done, 0 when no kernel set is available or selected here (nothing was written; use BLAS).
int cla_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc);

/// As cla_sgemm, with two fused extras (either may be NULL): C = alpha * op(A) * op(B) + beta * C + column_bias,
/// column_bias [n] added to every row of C (C is not read when beta is 0); and row_sums [m] overwritten with the sums
/// of op(A)'s rows (accumulated in double across k blocks, the same bits for every kernel set and row split).
int cla_sgemm_fused(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc, const float *column_bias,
                    float *row_sums);

#ifdef __cplusplus
}
#endif

#endif
