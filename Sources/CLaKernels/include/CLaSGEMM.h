// LaTensor's own single-precision GEMM: packed AVX-512 micro-kernels (12 x 32 tiles of C in registers, Goto/BLIS
// cache blocking), selected at run time on CPUs with AVX-512F. It computes in the calling thread only; LaTensor
// splits large products over its threads by rows or columns of C, never over k, so a result does not depend on
// the thread count.
#ifndef CLA_SGEMM_H
#define CLA_SGEMM_H

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU can run cla_sgemm (x86-64 with AVX-512F), else 0.
int cla_sgemm_available(void);

/// The rows of C a thread should take at a time (the micro-kernel's tile height), and its columns.
int cla_sgemm_tile_rows(void);
int cla_sgemm_tile_columns(void);

/// Row-major C = alpha * op(A) * op(B) + beta * C on the calling thread, op(A) [m, k], op(B) [k, n];
/// op(A)[i, p] = a[p * lda + i] when trans_a, else a[i * lda + p]; op(B)[p, j] = b[j * ldb + p] when trans_b,
/// else b[p * ldb + j]. beta == 0 overwrites C without reading it (NaNs in C do not propagate), as in BLAS.
/// Returns 1 when done, 0 when the kernels are not available here (nothing was written; use BLAS).
int cla_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc);

#ifdef __cplusplus
}
#endif

#endif
