// Vectorised Float32 kernels for LaTensor: AVX2+FMA implementations selected at run time (per-function
// target attributes, no global compiler flags), with portable scalar fallbacks on libm in the same file.
// See include/CLaKernels.h for the contract of each function.
#include "CLaKernels.h"

#include <math.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define CLA_X86 1
#include <immintrin.h>
#else
#define CLA_X86 0
#endif

// MARK: - Dispatch

static int cla_level = -1;  // -1 unknown, 0 scalar, 1 AVX2+FMA, 2 AVX-512F
static int cla_force_scalar = 0;
static int cla_max_level = 2;

static int cla_detect(void) {
#if CLA_X86 && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
    return __builtin_cpu_supports("avx512f") ? 2 : 1;
#else
    return 0;
#endif
}

// The level the kernels run at: the CPU's, capped by cla_set_max_vector_level, 0 when forced scalar.
static inline int cla_use_vector(void) {
    if (__atomic_load_n(&cla_force_scalar, __ATOMIC_RELAXED)) return 0;
    int level = __atomic_load_n(&cla_level, __ATOMIC_RELAXED);
    if (level < 0) {
        level = cla_detect();
        __atomic_store_n(&cla_level, level, __ATOMIC_RELAXED);
    }
    int cap = __atomic_load_n(&cla_max_level, __ATOMIC_RELAXED);
    return level < cap ? level : cap;
}

int cla_vector_level(void) { return cla_use_vector(); }

int cla_get_force_scalar(void) { return __atomic_load_n(&cla_force_scalar, __ATOMIC_RELAXED); }

void cla_set_force_scalar(int force) { __atomic_store_n(&cla_force_scalar, force ? 1 : 0, __ATOMIC_RELAXED); }

void cla_set_max_vector_level(int level) {
    __atomic_store_n(&cla_max_level, level < 0 ? 0 : (level > 2 ? 2 : level), __ATOMIC_RELAXED);
}

// MARK: - Scalar references (libm), also the fallback path

static inline float s_sigmoid(float x) {
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
static inline float s_gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f)); }
static inline float s_gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanhf(0.79788456080286535588f * (x + 0.044715f * x * x * x)));
}
static inline float s_quick_gelu(float x) { return x * s_sigmoid(1.702f * x); }
// d/dx GELU(x) = Phi(x) + x phi(x); d/dx QuickGELU(x) = s + 1.702 x s (1 - s) with s = sigmoid(1.702 x).
static inline float s_gelu_erf_derivative(float x) {
    return 0.5f * (1.0f + erff(x * 0.70710678118654752440f)) + x * expf(-0.5f * x * x) * 0.39894228040143267794f;
}
static inline float s_quick_gelu_derivative(float x) {
    float s = s_sigmoid(1.702f * x);
    return s + x * (1.702f * s * (1.0f - s));
}

// The row maximum with NaN winning, an infinite maximum replaced by 0 (LaTensor's softmax convention).
static float s_row_peak(const float *x, size_t n) {
    float peak = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > peak || x[i] != x[i]) peak = x[i];
    if (isinf(peak)) peak = 0;
    return peak;
}

static void s_softmax_row(const float *x, float *y, size_t n) {
    float peak = s_row_peak(x, n);
    float total = 0;
    for (size_t i = 0; i < n; i++) {
        float e = expf(x[i] - peak);
        y[i] = e;
        total += e;
    }
    float inverse = 1.0f / total;
    for (size_t i = 0; i < n; i++) y[i] *= inverse;
}

static void s_log_softmax_row(const float *x, float *y, size_t n) {
    float peak = s_row_peak(x, n);
    float total = 0;
    for (size_t i = 0; i < n; i++) total += expf(x[i] - peak);
    float shift = peak + logf(total);
    for (size_t i = 0; i < n; i++) y[i] = x[i] - shift;
}

static double s_sum(const float *x, size_t n) {
    double total = 0;
    size_t i = 0;
    while (i < n) {
        size_t end = i + 1024 < n ? i + 1024 : n;
        float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (; i + 4 <= end; i += 4) { a0 += x[i]; a1 += x[i + 1]; a2 += x[i + 2]; a3 += x[i + 3]; }
        for (; i < end; i++) a0 += x[i];
        total += (double)((a0 + a1) + (a2 + a3));
    }
    return total;
}

static double s_dot(const float *x, const float *y, size_t n) {
    double total = 0;
    size_t i = 0;
    while (i < n) {
        size_t end = i + 1024 < n ? i + 1024 : n;
        float a0 = 0, a1 = 0;
        for (; i + 2 <= end; i += 2) { a0 += x[i] * y[i]; a1 += x[i + 1] * y[i + 1]; }
        for (; i < end; i++) a0 += x[i] * y[i];
        total += (double)(a0 + a1);
    }
    return total;
}

static float s_max(const float *x, size_t n) {
    float best = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != x[i]) return x[i];
        if (x[i] > best) best = x[i];
    }
    return best;
}

static float s_min(const float *x, size_t n) {
    float best = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != x[i]) return x[i];
        if (x[i] < best) best = x[i];
    }
    return best;
}

#if CLA_X86
// MARK: - AVX2 + FMA

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

AVX2_INLINE __m256 v_set(float v) { return _mm256_set1_ps(v); }

// Lanes [0, remaining) set (remaining in 1...7).
AVX2_INLINE __m256i v_tail_mask(size_t remaining) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)remaining), lanes);
}

AVX2_INLINE __m256 v_isnan(__m256 x) { return _mm256_cmp_ps(x, x, _CMP_UNORD_Q); }

// exp: Cephes expf's reduction and polynomial; the scale 2^n applied in two halves so that results in the
// subnormal range and up to 2^128 come out with a single rounding.
AVX2_INLINE __m256 v_exp(__m256 x) {
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, v_set(-104.0f)), v_set(88.8f));
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(xc, v_set(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, v_set(0.693359375f), xc);
    r = _mm256_fnmadd_ps(fx, v_set(-2.12194440e-4f), r);
    __m256 p = v_set(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, v_set(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, v_set(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, v_set(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, v_set(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, v_set(5.0000001201E-1f));
    __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), v_set(1.0f));
    __m256i n = _mm256_cvtps_epi32(fx);
    __m256i n1 = _mm256_srai_epi32(n, 1);
    __m256i n2 = _mm256_sub_epi32(n, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    y = _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
    y = _mm256_andnot_ps(_mm256_cmp_ps(x, v_set(-103.972084f), _CMP_LT_OQ), y);  // exp(x) < 2^-150 -> +0
    return _mm256_blendv_ps(y, x, v_isnan(x));
}

// tanh: Cephes tanhf (odd polynomial below 0.625, 1 - 2 / (e^2|x| + 1) above).
AVX2_INLINE __m256 v_tanh(__m256 x) {
    const __m256 sign = v_set(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = v_set(-5.70498872745E-3f);
    p = _mm256_fmadd_ps(p, z, v_set(2.06390887954E-2f));
    p = _mm256_fmadd_ps(p, z, v_set(-5.37397155531E-2f));
    p = _mm256_fmadd_ps(p, z, v_set(1.33314422036E-1f));
    p = _mm256_fmadd_ps(p, z, v_set(-3.33332819422E-1f));
    // |x| (1 + p z) with the sign of x put back (so tanh(-0) = -0).
    __m256 small = _mm256_or_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax), _mm256_and_ps(x, sign));
    __m256 e = v_exp(_mm256_add_ps(ax, ax));
    __m256 large = _mm256_sub_ps(v_set(1.0f), _mm256_div_ps(v_set(2.0f), _mm256_add_ps(e, v_set(1.0f))));
    large = _mm256_or_ps(large, _mm256_and_ps(x, sign));
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, v_set(0.625f), _CMP_LT_OQ));
}

// erf: a rational x P(x^2) / Q(x^2) on [-4, 4] (Eigen's generic_fast_erf_float), clamped to [-1, 1].
AVX2_INLINE __m256 v_erf_finite(__m256 a) {
    __m256 x = _mm256_min_ps(_mm256_max_ps(a, v_set(-4.0f)), v_set(4.0f));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = v_set(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(x2, p, v_set(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(x2, p, v_set(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(x2, p, v_set(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(x2, p, v_set(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(x2, p, v_set(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(x2, p, v_set(-1.60960333262415e-02f));
    p = _mm256_mul_ps(x, p);
    __m256 q = v_set(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(x2, q, v_set(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(x2, q, v_set(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(x2, q, v_set(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(x2, q, v_set(-1.42647390514189e-02f));
    __m256 r = _mm256_div_ps(p, q);
    r = _mm256_min_ps(_mm256_max_ps(r, v_set(-1.0f)), v_set(1.0f));
    // erf(x) rounds to +-1 in float from |x| = 3.8325; the rational is a few ulp short of it there.
    __m256 one = _mm256_or_ps(v_set(1.0f), _mm256_and_ps(a, v_set(-0.0f)));
    return _mm256_blendv_ps(r, one, _mm256_cmp_ps(_mm256_andnot_ps(v_set(-0.0f), a), v_set(3.9f), _CMP_GE_OQ));
}

AVX2_INLINE __m256 v_erf(__m256 x) { return _mm256_blendv_ps(v_erf_finite(x), x, v_isnan(x)); }

// sigmoid: e = exp(-|x|); 1 / (1 + e) for x >= 0, e / (1 + e) below (no overflow, subnormals kept).
AVX2_INLINE __m256 v_sigmoid(__m256 x) {
    __m256 e = v_exp(_mm256_or_ps(x, v_set(-0.0f)));
    __m256 s = _mm256_div_ps(v_set(1.0f), _mm256_add_ps(v_set(1.0f), e));
    return _mm256_blendv_ps(_mm256_mul_ps(e, s), s, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
}

AVX2_INLINE __m256 v_gelu_erf(__m256 x) {
    __m256 half = _mm256_mul_ps(v_set(0.5f), x);
    __m256 erf = v_erf_finite(_mm256_mul_ps(x, v_set(0.70710678118654752440f)));
    return _mm256_fmadd_ps(half, erf, half);  // NaN in x propagates through `half`
}

// 0.5 x (1 + tanh(u)) = x sigmoid(2u): x / (1 + exp(-2u)).
AVX2_INLINE __m256 v_gelu_tanh(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_mul_ps(v_set(0.79788456080286535588f), _mm256_fmadd_ps(v_set(0.044715f), x3, x));
    __m256 e = v_exp(_mm256_mul_ps(v_set(-2.0f), u));
    return _mm256_div_ps(x, _mm256_add_ps(v_set(1.0f), e));
}

AVX2_INLINE __m256 v_quick_gelu(__m256 x) { return _mm256_mul_ps(x, v_sigmoid(_mm256_mul_ps(v_set(1.702f), x))); }

AVX2_INLINE float v_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_INLINE float v_hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_INLINE float v_hmin(__m256 v) {
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define CLA_UNARY_AVX2(name, f)                                                  \
    static AVX2 void name(const float *x, float *y, size_t n) {                  \
        size_t i = 0;                                                            \
        for (; i + 16 <= n; i += 16) {                                           \
            __m256 a = f(_mm256_loadu_ps(x + i));                                \
            __m256 b = f(_mm256_loadu_ps(x + i + 8));                            \
            _mm256_storeu_ps(y + i, a);                                          \
            _mm256_storeu_ps(y + i + 8, b);                                      \
        }                                                                        \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i))); \
        if (i < n) {                                                             \
            __m256i m = v_tail_mask(n - i);                                      \
            _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(x + i, m)));      \
        }                                                                        \
    }

CLA_UNARY_AVX2(exp_avx2, v_exp)
CLA_UNARY_AVX2(tanh_avx2, v_tanh)
CLA_UNARY_AVX2(erf_avx2, v_erf)
CLA_UNARY_AVX2(sigmoid_avx2, v_sigmoid)
CLA_UNARY_AVX2(gelu_erf_avx2, v_gelu_erf)
CLA_UNARY_AVX2(gelu_tanh_avx2, v_gelu_tanh)
CLA_UNARY_AVX2(quick_gelu_avx2, v_quick_gelu)

AVX2_INLINE __m256 v_gelu_erf_derivative(__m256 x) {
    __m256 cdf = _mm256_fmadd_ps(v_set(0.5f), v_erf_finite(_mm256_mul_ps(x, v_set(0.70710678118654752440f))), v_set(0.5f));
    __m256 pdf = _mm256_mul_ps(v_exp(_mm256_mul_ps(v_set(-0.5f), _mm256_mul_ps(x, x))), v_set(0.39894228040143267794f));
    return _mm256_fmadd_ps(x, pdf, cdf);
}

AVX2_INLINE __m256 v_quick_gelu_derivative(__m256 x) {
    // s + x (1.702 s (1 - s)): the slope first, so that x = +-FLT_MAX (1.702 x = inf) gives s, not NaN.
    __m256 s = v_sigmoid(_mm256_mul_ps(v_set(1.702f), x));
    __m256 slope = _mm256_mul_ps(v_set(1.702f), _mm256_mul_ps(s, _mm256_sub_ps(v_set(1.0f), s)));
    return _mm256_fmadd_ps(x, slope, s);
}

// dx = g * f'(x) over one contiguous run (dx may alias g or x).
#define CLA_BACKWARD_AVX2(name, d)                                                          \
    static AVX2 void name(const float *x, const float *g, float *dx, size_t n) {            \
        size_t i = 0;                                                                       \
        for (; i + 8 <= n; i += 8)                                                          \
            _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), d(_mm256_loadu_ps(x + i)))); \
        if (i < n) {                                                                        \
            __m256i m = v_tail_mask(n - i);                                                 \
            _mm256_maskstore_ps(dx + i, m, _mm256_mul_ps(_mm256_maskload_ps(g + i, m), d(_mm256_maskload_ps(x + i, m)))); \
        }                                                                                   \
    }

CLA_BACKWARD_AVX2(gelu_erf_backward_avx2, v_gelu_erf_derivative)
CLA_BACKWARD_AVX2(quick_gelu_backward_avx2, v_quick_gelu_derivative)

// Maximum with NaN detection; an infinite maximum becomes 0 when `peak_mode` is set (softmax convention).
static AVX2 float max_avx2(const float *x, size_t n, int peak_mode) {
    __m256 m0 = v_set(-INFINITY), m1 = m0;
    __m256 nan = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        m0 = _mm256_max_ps(m0, a);
        m1 = _mm256_max_ps(m1, b);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
    }
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(x + i);
        m0 = _mm256_max_ps(m0, a);
        nan = _mm256_or_ps(nan, v_isnan(a));
    }
    if (i < n) {
        __m256i mask = v_tail_mask(n - i);
        __m256 a = _mm256_blendv_ps(v_set(-INFINITY), _mm256_maskload_ps(x + i, mask), _mm256_castsi256_ps(mask));
        m0 = _mm256_max_ps(m0, a);
        nan = _mm256_or_ps(nan, v_isnan(a));
    }
    if (!_mm256_testz_ps(nan, nan)) return NAN;
    float peak = v_hmax(_mm256_max_ps(m0, m1));
    if (peak_mode && isinf(peak)) peak = 0;
    return peak;
}

static AVX2 float min_avx2(const float *x, size_t n) {
    __m256 m0 = v_set(INFINITY), m1 = m0;
    __m256 nan = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        m0 = _mm256_min_ps(m0, a);
        m1 = _mm256_min_ps(m1, b);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
    }
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(x + i);
        m0 = _mm256_min_ps(m0, a);
        nan = _mm256_or_ps(nan, v_isnan(a));
    }
    if (i < n) {
        __m256i mask = v_tail_mask(n - i);
        __m256 a = _mm256_blendv_ps(v_set(INFINITY), _mm256_maskload_ps(x + i, mask), _mm256_castsi256_ps(mask));
        m0 = _mm256_min_ps(m0, a);
        nan = _mm256_or_ps(nan, v_isnan(a));
    }
    if (!_mm256_testz_ps(nan, nan)) return NAN;
    return v_hmin(_mm256_min_ps(m0, m1));
}

// y = exp(x - peak) for the row; returns the sum of y (or only the sum when y is NULL).
static AVX2 float exp_shift_sum_avx2(const float *x, float *y, size_t n, float peak) {
    __m256 p = v_set(peak);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = v_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), p));
        __m256 b = v_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), p));
        if (y) { _mm256_storeu_ps(y + i, a); _mm256_storeu_ps(y + i + 8, b); }
        s0 = _mm256_add_ps(s0, a);
        s1 = _mm256_add_ps(s1, b);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 a = v_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), p));
        if (y) _mm256_storeu_ps(y + i, a);
        s0 = _mm256_add_ps(s0, a);
    }
    if (i < n) {
        __m256i mask = v_tail_mask(n - i);
        __m256 a = v_exp(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), p));
        a = _mm256_and_ps(a, _mm256_castsi256_ps(mask));
        if (y) _mm256_maskstore_ps(y + i, mask, a);
        s0 = _mm256_add_ps(s0, a);
    }
    return v_hsum(_mm256_add_ps(s0, s1));
}

// y = x * scale + shift.
static AVX2 void affine_avx2(const float *x, float *y, size_t n, float scale, float shift) {
    __m256 a = v_set(scale), b = v_set(shift);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), a, b));
    if (i < n) {
        __m256i mask = v_tail_mask(n - i);
        _mm256_maskstore_ps(y + i, mask, _mm256_fmadd_ps(_mm256_maskload_ps(x + i, mask), a, b));
    }
}

static AVX2 void softmax_row_avx2(const float *x, float *y, size_t n) {
    float peak = max_avx2(x, n, 1);
    float total = exp_shift_sum_avx2(x, y, n, peak);
    float inverse = 1.0f / total;
    size_t i = 0;
    __m256 s = v_set(inverse);
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), s));
    for (; i < n; i++) y[i] *= inverse;
}

static AVX2 void log_softmax_row_avx2(const float *x, float *y, size_t n) {
    float peak = max_avx2(x, n, 1);
    float total = exp_shift_sum_avx2(x, 0, n, peak);
    float shift = peak + logf(total);
    // y = x - shift, written as x * 1 + (-shift); an exact subtraction.
    affine_avx2(x, y, n, 1.0f, -shift);
}

// Sums blocks of 2048 floats in four float vectors, then adds each block's total in double.
static AVX2 double sum_avx2(const float *x, size_t n) {
    double total = 0;
    size_t i = 0;
    while (i + 32 <= n) {
        size_t end = i + 2048 <= n ? i + 2048 : n - (n - i) % 32;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (; i < end; i += 32) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
            a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
        }
        total += (double)v_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
    __m256 a = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) a = _mm256_add_ps(a, _mm256_loadu_ps(x + i));
    if (i < n) a = _mm256_add_ps(a, _mm256_maskload_ps(x + i, v_tail_mask(n - i)));
    return total + (double)v_hsum(a);
}

static AVX2 double dot_avx2(const float *x, const float *y, size_t n) {
    double total = 0;
    size_t i = 0;
    while (i + 32 <= n) {
        size_t end = i + 2048 <= n ? i + 2048 : n - (n - i) % 32;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (; i < end; i += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
        }
        total += (double)v_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
    __m256 a = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a);
    if (i < n) {
        __m256i m = v_tail_mask(n - i);
        a = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m), a);
    }
    return total + (double)v_hsum(a);
}

// MARK: - AVX-512F (16 lanes): the same algorithms, with vscalefps for the 2^n scaling, masks for tails and
// NaN handling, and a Newton-refined reciprocal where the divisor is bounded away from 0 and infinity.

#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

AVX512_INLINE __m512 w_set(float v) { return _mm512_set1_ps(v); }

AVX512_INLINE __mmask16 w_tail_mask(size_t remaining) { return (__mmask16)((1u << remaining) - 1u); }

// exp: the Cephes reduction and polynomial of v_exp; y * 2^n in one vscalefps (one rounding, also for
// subnormal results; +inf above 88.72, +0 below -103.97). max/min take x second so a NaN passes through.
AVX512_INLINE __m512 w_exp(__m512 x) {
    __m512 xc = _mm512_min_ps(w_set(88.8f), _mm512_max_ps(w_set(-104.0f), x));
    __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(xc, w_set(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, w_set(0.693359375f), xc);
    r = _mm512_fnmadd_ps(fx, w_set(-2.12194440e-4f), r);
    __m512 p = w_set(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, w_set(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, w_set(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, w_set(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, w_set(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, w_set(5.0000001201E-1f));
    __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), w_set(1.0f));
    return _mm512_scalef_ps(y, fx);
}

// 1 / q for finite q with |q| in [2^-100, 2^100]: rcp14 plus one Newton step (about 2^-28 relative error).
AVX512_INLINE __m512 w_reciprocal(__m512 q) {
    __m512 r = _mm512_rcp14_ps(q);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, w_set(2.0f)));
}

AVX512_INLINE __m512 w_tanh(__m512 x) {
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    __m512 ax = _mm512_abs_ps(x);
    __m512i xsign = _mm512_and_si512(_mm512_castps_si512(x), sign);
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = w_set(-5.70498872745E-3f);
    p = _mm512_fmadd_ps(p, z, w_set(2.06390887954E-2f));
    p = _mm512_fmadd_ps(p, z, w_set(-5.37397155531E-2f));
    p = _mm512_fmadd_ps(p, z, w_set(1.33314422036E-1f));
    p = _mm512_fmadd_ps(p, z, w_set(-3.33332819422E-1f));
    __m512 small = _mm512_castsi512_ps(
        _mm512_or_si512(_mm512_castps_si512(_mm512_fmadd_ps(_mm512_mul_ps(p, z), ax, ax)), xsign));
    __m512 e = w_exp(_mm512_add_ps(ax, ax));
    __m512 large = _mm512_sub_ps(w_set(1.0f), _mm512_div_ps(w_set(2.0f), _mm512_add_ps(e, w_set(1.0f))));
    large = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(large), xsign));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, w_set(0.625f), _CMP_LT_OQ), large, small);
}

AVX512_INLINE __m512 w_erf_finite(__m512 a) {
    __m512 x = _mm512_min_ps(_mm512_max_ps(a, w_set(-4.0f)), w_set(4.0f));
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = w_set(-2.72614225801306e-10f);
    p = _mm512_fmadd_ps(x2, p, w_set(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(x2, p, w_set(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(x2, p, w_set(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(x2, p, w_set(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(x2, p, w_set(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(x2, p, w_set(-1.60960333262415e-02f));
    p = _mm512_mul_ps(x, p);
    __m512 q = w_set(-1.45660718464996e-05f);
    q = _mm512_fmadd_ps(x2, q, w_set(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(x2, q, w_set(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(x2, q, w_set(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(x2, q, w_set(-1.42647390514189e-02f));
    // q <= -0.0142 for every x, so the refined reciprocal is safe.
    __m512 r = _mm512_mul_ps(p, w_reciprocal(q));
    r = _mm512_min_ps(_mm512_max_ps(r, w_set(-1.0f)), w_set(1.0f));
    __m512 one = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(w_set(1.0f)), _mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u))));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_abs_ps(a), w_set(3.9f), _CMP_GE_OQ), r, one);
}

AVX512_INLINE __m512 w_erf(__m512 x) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), w_erf_finite(x), x); }

AVX512_INLINE __m512 w_sigmoid(__m512 x) {
    __m512 e = w_exp(_mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
    __m512 s = w_reciprocal(_mm512_add_ps(w_set(1.0f), e));  // 1 + e in [1, 2]
    __m512 result = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), _mm512_mul_ps(e, s), s);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), result, x);
}

AVX512_INLINE __m512 w_gelu_erf(__m512 x) {
    __m512 half = _mm512_mul_ps(w_set(0.5f), x);
    __m512 erf = w_erf_finite(_mm512_mul_ps(x, w_set(0.70710678118654752440f)));
    return _mm512_fmadd_ps(half, erf, half);
}

AVX512_INLINE __m512 w_gelu_tanh(__m512 x) {
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 u = _mm512_mul_ps(w_set(0.79788456080286535588f), _mm512_fmadd_ps(w_set(0.044715f), x3, x));
    __m512 e = w_exp(_mm512_mul_ps(w_set(-2.0f), u));
    return _mm512_div_ps(x, _mm512_add_ps(w_set(1.0f), e));
}

AVX512_INLINE __m512 w_quick_gelu(__m512 x) { return _mm512_mul_ps(x, w_sigmoid(_mm512_mul_ps(w_set(1.702f), x))); }

#define CLA_UNARY_AVX512(name, f)                                                         \
    static AVX512 void name(const float *x, float *y, size_t n) {                         \
        size_t i = 0;                                                                     \
        for (; i + 32 <= n; i += 32) {                                                    \
            /* 4 KiB ahead: the compute between loads starves the hardware prefetcher. */ \
            _mm_prefetch((const char *)(x + i + 1024), _MM_HINT_T0);                      \
            _mm_prefetch((const char *)(x + i + 1040), _MM_HINT_T0);                      \
            __m512 a = f(_mm512_loadu_ps(x + i));                                         \
            __m512 b = f(_mm512_loadu_ps(x + i + 16));                                    \
            _mm512_storeu_ps(y + i, a);                                                   \
            _mm512_storeu_ps(y + i + 16, b);                                              \
        }                                                                                 \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));  \
        if (i < n) {                                                                      \
            __mmask16 m = w_tail_mask(n - i);                                             \
            _mm512_mask_storeu_ps(y + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));          \
        }                                                                                 \
    }

CLA_UNARY_AVX512(exp_avx512, w_exp)
CLA_UNARY_AVX512(tanh_avx512, w_tanh)
CLA_UNARY_AVX512(erf_avx512, w_erf)
CLA_UNARY_AVX512(sigmoid_avx512, w_sigmoid)
CLA_UNARY_AVX512(gelu_erf_avx512, w_gelu_erf)
CLA_UNARY_AVX512(gelu_tanh_avx512, w_gelu_tanh)
CLA_UNARY_AVX512(quick_gelu_avx512, w_quick_gelu)

AVX512_INLINE __m512 w_gelu_erf_derivative(__m512 x) {
    __m512 cdf = _mm512_fmadd_ps(w_set(0.5f), w_erf_finite(_mm512_mul_ps(x, w_set(0.70710678118654752440f))), w_set(0.5f));
    __m512 pdf = _mm512_mul_ps(w_exp(_mm512_mul_ps(w_set(-0.5f), _mm512_mul_ps(x, x))), w_set(0.39894228040143267794f));
    return _mm512_fmadd_ps(x, pdf, cdf);
}

AVX512_INLINE __m512 w_quick_gelu_derivative(__m512 x) {
    // s + x (1.702 s (1 - s)): the slope first, so that x = +-FLT_MAX (1.702 x = inf) gives s, not NaN.
    __m512 s = w_sigmoid(_mm512_mul_ps(w_set(1.702f), x));
    __m512 slope = _mm512_mul_ps(w_set(1.702f), _mm512_mul_ps(s, _mm512_sub_ps(w_set(1.0f), s)));
    return _mm512_fmadd_ps(x, slope, s);
}

#define CLA_BACKWARD_AVX512(name, d)                                                        \
    static AVX512 void name(const float *x, const float *g, float *dx, size_t n) {          \
        for (size_t i = 0; i < n; i += 16) {                                                \
            __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : w_tail_mask(n - i);             \
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, g + i), d(_mm512_maskz_loadu_ps(m, x + i))); \
            _mm512_mask_storeu_ps(dx + i, m, v);                                            \
        }                                                                                   \
    }

CLA_BACKWARD_AVX512(gelu_erf_backward_avx512, w_gelu_erf_derivative)
CLA_BACKWARD_AVX512(quick_gelu_backward_avx512, w_quick_gelu_derivative)

#define CLA_DISPATCH_BACKWARD(public_name, vector, scalar_derivative)                      \
    void public_name(const float *x, const float *g, float *dx, size_t n) {                 \
        int level = cla_use_vector();                                                       \
        if (level == 2) { vector##512(x, g, dx, n); return; }                               \
        if (level == 1) { vector##2(x, g, dx, n); return; }                                 \
        for (size_t i = 0; i < n; i++) dx[i] = g[i] * scalar_derivative(x[i]);              \
    }

// Softmax's peak: the maximum, NaN if any element is NaN, 0 if it is infinite.
static AVX512 float peak_avx512(const float *x, size_t n) {
    __m512 m0 = w_set(-INFINITY), m1 = m0;
    __mmask16 nan = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        m0 = _mm512_max_ps(m0, a);
        m1 = _mm512_max_ps(m1, b);
        nan |= _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : w_tail_mask(n - i);
        __m512 a = _mm512_mask_loadu_ps(w_set(-INFINITY), m, x + i);
        m0 = _mm512_max_ps(m0, a);
        nan |= _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
    }
    if (nan) return NAN;
    float peak = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
    return isinf(peak) ? 0 : peak;
}

static AVX512 float exp_shift_sum_avx512(const float *x, float *y, size_t n, float peak) {
    __m512 p = w_set(peak);
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        // Fetch the same span of the next row (softmax runs row after row; a prefetch never faults).
        _mm_prefetch((const char *)(x + i + n), _MM_HINT_T0);
        _mm_prefetch((const char *)(x + i + n + 16), _MM_HINT_T0);
        __m512 a = w_exp(_mm512_sub_ps(_mm512_loadu_ps(x + i), p));
        __m512 b = w_exp(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), p));
        if (y) { _mm512_storeu_ps(y + i, a); _mm512_storeu_ps(y + i + 16, b); }
        s0 = _mm512_add_ps(s0, a);
        s1 = _mm512_add_ps(s1, b);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : w_tail_mask(n - i);
        __m512 a = _mm512_maskz_mov_ps(m, w_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), p)));
        if (y) _mm512_mask_storeu_ps(y + i, m, a);
        s0 = _mm512_add_ps(s0, a);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static AVX512 void softmax_row_avx512(const float *x, float *y, size_t n) {
    float peak = peak_avx512(x, n);
    float total = exp_shift_sum_avx512(x, y, n, peak);
    __m512 s = w_set(1.0f / total);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : w_tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), s));
    }
}

// The streaming variant: exp into an L1 scratch row, then y = scratch / sum with non-temporal stores, so the
// output's cache lines are never read from memory (no read-for-ownership) nor kept in cache. Needs a 64-byte
// aligned y, n % 16 == 0 and n <= 4096 (the caller checks).
static AVX512 void softmax_row_stream_avx512(const float *x, float *y, size_t n) {
    float scratch[4096] __attribute__((aligned(64)));
    float peak = peak_avx512(x, n);
    float total = exp_shift_sum_avx512(x, scratch, n, peak);
    __m512 s = w_set(1.0f / total);
    for (size_t i = 0; i < n; i += 16) _mm512_stream_ps(y + i, _mm512_mul_ps(_mm512_load_ps(scratch + i), s));
    _mm_sfence();
}

static AVX512 void log_softmax_row_avx512(const float *x, float *y, size_t n) {
    float peak = peak_avx512(x, n);
    float total = exp_shift_sum_avx512(x, 0, n, peak);
    __m512 shift = w_set(peak + logf(total));
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : w_tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), shift));
    }
}

#define CLA_DISPATCH_UNARY(public_name, vector, scalar_expr)          \
    void public_name(const float *x, float *y, size_t n) {          \
        int level = cla_use_vector();                                \
        if (level == 2) { vector##512(x, y, n); return; }            \
        if (level == 1) { vector##2(x, y, n); return; }              \
        for (size_t i = 0; i < n; i++) { float v = x[i]; y[i] = (scalar_expr); } \
    }
#else
#define CLA_DISPATCH_UNARY(public_name, vector, scalar_expr)          \
    void public_name(const float *x, float *y, size_t n) {          \
        for (size_t i = 0; i < n; i++) { float v = x[i]; y[i] = (scalar_expr); } \
    }
#define CLA_DISPATCH_BACKWARD(public_name, vector, scalar_derivative)                      \
    void public_name(const float *x, const float *g, float *dx, size_t n) {                 \
        for (size_t i = 0; i < n; i++) dx[i] = g[i] * scalar_derivative(x[i]);              \
    }
#endif

// MARK: - Public entry points

CLA_DISPATCH_UNARY(cla_exp_f32, exp_avx, expf(v))
CLA_DISPATCH_UNARY(cla_tanh_f32, tanh_avx, tanhf(v))
CLA_DISPATCH_UNARY(cla_erf_f32, erf_avx, erff(v))
CLA_DISPATCH_UNARY(cla_sigmoid_f32, sigmoid_avx, s_sigmoid(v))
CLA_DISPATCH_UNARY(cla_gelu_erf_f32, gelu_erf_avx, s_gelu_erf(v))
CLA_DISPATCH_UNARY(cla_gelu_tanh_f32, gelu_tanh_avx, s_gelu_tanh(v))
CLA_DISPATCH_UNARY(cla_quick_gelu_f32, quick_gelu_avx, s_quick_gelu(v))
CLA_DISPATCH_BACKWARD(cla_gelu_erf_backward_f32, gelu_erf_backward_avx, s_gelu_erf_derivative)
CLA_DISPATCH_BACKWARD(cla_quick_gelu_backward_f32, quick_gelu_backward_avx, s_quick_gelu_derivative)

void cla_softmax_row_f32(const float *x, float *y, size_t n) {
#if CLA_X86
    int level = cla_use_vector();
    if (level == 2) { softmax_row_avx512(x, y, n); return; }
    if (level == 1) { softmax_row_avx2(x, y, n); return; }
#endif
    s_softmax_row(x, y, n);
}

void cla_softmax_row_stream_f32(const float *x, float *y, size_t n) {
#if CLA_X86
    if (cla_use_vector() == 2 && n > 0 && n <= 4096 && n % 16 == 0 && ((uintptr_t)y & 63) == 0 && x != y) {
        softmax_row_stream_avx512(x, y, n);
        return;
    }
#endif
    cla_softmax_row_f32(x, y, n);
}

void cla_log_softmax_row_f32(const float *x, float *y, size_t n) {
#if CLA_X86
    int level = cla_use_vector();
    if (level == 2) { log_softmax_row_avx512(x, y, n); return; }
    if (level == 1) { log_softmax_row_avx2(x, y, n); return; }
#endif
    s_log_softmax_row(x, y, n);
}

double cla_sum_f32(const float *x, size_t n) {
#if CLA_X86
    if (cla_use_vector()) return sum_avx2(x, n);
#endif
    return s_sum(x, n);
}

double cla_dot_f32(const float *x, const float *y, size_t n) {
#if CLA_X86
    if (cla_use_vector()) return dot_avx2(x, y, n);
#endif
    return s_dot(x, y, n);
}

float cla_max_f32(const float *x, size_t n) {
#if CLA_X86
    if (cla_use_vector()) return max_avx2(x, n, 0);
#endif
    return s_max(x, n);
}

float cla_min_f32(const float *x, size_t n) {
#if CLA_X86
    if (cla_use_vector()) return min_avx2(x, n);
#endif
    return s_min(x, n);
}
