// CLaKernels: vectorised Float32 kernels for LaTensor over contiguous arrays.
//
// Every function works on one contiguous run on the calling thread; LaTensor splits large arrays over its
// own workers (Threading.parallelFor) and calls these on disjoint chunks. The CPU is probed once (on first
// use): the transcendental and softmax kernels run 16-lane AVX-512F code when the CPU has it, else 8-lane
// AVX2+FMA code, else a portable scalar path built on libm; sum, dot, max and min (memory-bound) stop at
// AVX2. `cla_set_force_scalar(1)` forces the scalar path and `cla_set_max_vector_level` caps the level
// (for tests and benchmarks).
//
// Semantics follow libm: NaN propagates, exp overflows to +inf above 88.7228 and underflows through the
// subnormals to +0 below -103.972; the softmax kernels treat an infinite row maximum as 0, like LaTensor's
// Swift path, so -inf inputs give exactly 0.
#ifndef CLAKERNELS_H
#define CLAKERNELS_H

#include <stddef.h>

#include "CLaOpenBLASCore.h"
#include "CLaSGEMM.h"

#ifdef __cplusplus
extern "C" {
#endif

/// 2 when the AVX-512F kernels are in use, 1 for AVX2+FMA, 0 for the scalar fallback.
int cla_vector_level(void);
/// Forces the scalar fallback (nonzero) or restores runtime dispatch (0). Not thread-safe; for tests.
void cla_set_force_scalar(int force);
/// 1 when the scalar fallback is forced.
int cla_get_force_scalar(void);
/// Caps the level the kernels use (0 scalar, 1 AVX2+FMA, 2 AVX-512F; default 2). Process-wide; for tests
/// and benchmarks that compare the paths.
void cla_set_max_vector_level(int level);

/// y[i] = exp(x[i]). `y` may equal `x`.
void cla_exp_f32(const float *x, float *y, size_t n);
/// y[i] = tanh(x[i]). `y` may equal `x`.
void cla_tanh_f32(const float *x, float *y, size_t n);
/// y[i] = erf(x[i]) (max abs error about 2e-7 vs erff). `y` may equal `x`.
void cla_erf_f32(const float *x, float *y, size_t n);
/// y[i] = 1 / (1 + exp(-x[i])), stable for large |x|. `y` may equal `x`.
void cla_sigmoid_f32(const float *x, float *y, size_t n);
/// y[i] = 0.5 x (1 + erf(x / sqrt(2))). `y` may equal `x`.
void cla_gelu_erf_f32(const float *x, float *y, size_t n);
/// y[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). `y` may equal `x`.
void cla_gelu_tanh_f32(const float *x, float *y, size_t n);
/// y[i] = x sigmoid(1.702 x). `y` may equal `x`.
void cla_quick_gelu_f32(const float *x, float *y, size_t n);
/// GELU's backward: dx[i] = g[i] (Phi(x[i]) + x[i] phi(x[i])). `dx` may equal `x` or `g`.
void cla_gelu_erf_backward_f32(const float *x, const float *g, float *dx, size_t n);
/// QuickGELU's backward: dx[i] = g[i] (s + 1.702 x s (1 - s)), s = sigmoid(1.702 x[i]). `dx` may alias.
void cla_quick_gelu_backward_f32(const float *x, const float *g, float *dx, size_t n);

/// One softmax row: y = exp(x - max) / sum(exp(x - max)). `y` may equal `x`.
void cla_softmax_row_f32(const float *x, float *y, size_t n);
/// `cla_softmax_row_f32` with non-temporal stores for `y` (same values): for outputs much larger than the
/// caches, whose lines would otherwise be read from memory before being written. Takes the streaming path on
/// AVX-512F CPUs when `y` is 64-byte aligned, `n` is a multiple of 16 up to 4096 and `y != x`; otherwise it is
/// `cla_softmax_row_f32`. Ends with a store fence.
void cla_softmax_row_stream_f32(const float *x, float *y, size_t n);
/// One log-softmax row: y = x - max - log(sum(exp(x - max))). `y` may equal `x`.
void cla_log_softmax_row_f32(const float *x, float *y, size_t n);

/// The sum of x[0..<n], accumulated in float blocks and combined in double.
double cla_sum_f32(const float *x, size_t n);
/// The dot product of x and y, accumulated in float blocks and combined in double.
double cla_dot_f32(const float *x, const float *y, size_t n);
/// The maximum of x[0..<n] (NaN if any element is NaN; -inf when n == 0).
float cla_max_f32(const float *x, size_t n);
/// The minimum of x[0..<n] (NaN if any element is NaN; +inf when n == 0).
float cla_min_f32(const float *x, size_t n);

#ifdef __cplusplus
}
#endif

#endif
