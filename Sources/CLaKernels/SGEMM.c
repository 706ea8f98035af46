// LaTensor's single-precision GEMM with packed AVX-512 or AVX2+FMA micro-kernels (BLIS/Goto blocking), used by
// LaTensor in place of cblas_sgemm on CPUs with AVX-512F or AVX2+FMA. Row-major: C = alpha * op(A) * op(B) + beta * C, with op(A) [m, k] and
// op(B) [k, n]. One call runs on the calling thread; LaTensor splits large products over its threads by rows or
// columns of C (never over k, so the result does not depend on the thread count).
//
// Blocking: op(B) is packed in panels of KC rows x NR = 32 columns (one micro-panel stays in L1 while the
// micro-kernel sweeps the packed A block), op(A) in blocks of MC rows x KC packed as MR = 12 row micro-panels
// (L2). The micro-kernel keeps a 12 x 32 tile of C in 24 zmm accumulators; per k it loads two vectors of B and
// broadcasts 12 values of A (24 FMAs per 14 loads); a last micro-panel of at most 16 columns runs a half-width
// kernel. Edges are zero-padded in the packed panels and written back with masked stores. Packing transposes
// 16 x 16 blocks in registers where the source layout needs it. The AVX2 kernels further down use the same
// blocking with 6 x 16 tiles.
#include "CLaSGEMM.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define CLA_GEMM_TARGET __attribute__((target("avx512f,avx2,fma")))
#define CLA_GEMM_INLINE static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

enum { MR = 12, NR = 32, KC = 256, MC = 144, NC = 2048 };

// Shared by both kernel sets (AVX2 code, which every AVX-512 CPU runs).
#define CLA_SHARED_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

// Before the first k-block of a tile when a column bias is fused: C = beta * C + bias (C is not read when beta is
// 0); the micro-kernel then adds alpha * A.B with beta 1.
CLA_SHARED_INLINE void prefill_tile(float *c, long ldc, int mr, int nr, float beta, const float *bias) {
    for (int i = 0; i < mr; i++) {
        float *row = c + (long)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++) row[j] = bias[j];
        else
            for (int j = 0; j < nr; j++) row[j] = __builtin_fmaf(beta, row[j], bias[j]);
    }
}

// Adds the sums over p of a packed A block's rows (panels of `mr_stride` rows, kc deep, mc rows in all) to out[0 ..<
// mc]: per row, two float chains (even and odd p) added together at the end of the block, then to a double. The
// same arithmetic for both panel heights, so both kernel sets give the same bits. Reads up to 8 floats past a
// panel's last value (the next panel, or the buffer's slack); those lanes are ignored.
CLA_SHARED_INLINE void add_block_row_sums(const float *packed, int mc, int kc, int mr_stride, double *out) {
    for (int r0 = 0; r0 < mc; r0 += mr_stride) {
        int rows = mc - r0 < mr_stride ? mc - r0 : mr_stride;
        const float *panel = packed + (long)r0 * kc;
        __m256 e0 = _mm256_setzero_ps(), o0 = e0, e1 = e0, o1 = e0;
        int p = 0;
        for (; p + 1 < kc; p += 2) {
            const float *x = panel + (long)p * mr_stride, *y = x + mr_stride;
            e0 = _mm256_add_ps(e0, _mm256_loadu_ps(x));
            o0 = _mm256_add_ps(o0, _mm256_loadu_ps(y));
            if (mr_stride > 8) {
                e1 = _mm256_add_ps(e1, _mm256_loadu_ps(x + 8));
                o1 = _mm256_add_ps(o1, _mm256_loadu_ps(y + 8));
            }
        }
        if (p < kc) {
            const float *x = panel + (long)p * mr_stride;
            e0 = _mm256_add_ps(e0, _mm256_loadu_ps(x));
            if (mr_stride > 8) e1 = _mm256_add_ps(e1, _mm256_loadu_ps(x + 8));
        }
        __attribute__((aligned(32))) float sums[16];
        _mm256_store_ps(sums, _mm256_add_ps(e0, o0));
        _mm256_store_ps(sums + 8, _mm256_add_ps(e1, o1));
        for (int i = 0; i < rows; i++) out[r0 + i] += (double)sums[i];
    }
}

// Per-thread packing buffers, allocated on a thread's first product and kept for its lifetime (the callers' worker
// threads are long-lived, so the buffers are reused from call to call and never fault again); freed when the
// thread exits.
typedef struct {
    float *a;
    float *b;
} cla_pack_buffers;

static pthread_key_t cla_pack_key;
static pthread_once_t cla_pack_once = PTHREAD_ONCE_INIT;

static void cla_pack_free(void *value) {
    cla_pack_buffers *buffers = value;
    free(buffers->a);
    free(buffers->b);
    free(buffers);
}

static void cla_pack_key_init(void) { pthread_key_create(&cla_pack_key, cla_pack_free); }

static cla_pack_buffers *cla_gemm_buffers(void) {
    pthread_once(&cla_pack_once, cla_pack_key_init);
    cla_pack_buffers *buffers = pthread_getspecific(cla_pack_key);
    if (buffers) return buffers;
    buffers = calloc(1, sizeof(cla_pack_buffers));
    if (!buffers) return NULL;
    // 16 floats of slack: the AVX2 packing stores whole vectors past the end of a panel's last row.
    buffers->a = aligned_alloc(64, sizeof(float) * (MC * KC + 16));
    buffers->b = aligned_alloc(64, sizeof(float) * (KC * NC + 16));
    if (!buffers->a || !buffers->b || pthread_setspecific(cla_pack_key, buffers) != 0) {
        cla_pack_free(buffers);
        return NULL;
    }
    return buffers;
}

// In-register transpose of a 16 x 16 block: on return r[j] holds column j of the input rows.
CLA_GEMM_INLINE void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}

CLA_GEMM_INLINE __mmask16 lanes(int count) {
    return (__mmask16)(count >= 16 ? 0xFFFF : count <= 0 ? 0 : (1u << count) - 1u);
}

// Transposes `rows` (<= 16) rows of `cols` (<= 16) contiguous floats each (rows `ld` apart) and stores column j
// (lanes 0 ..< width, zeros past `rows`) at dst + j * dst_stride for j < cols.
CLA_GEMM_INLINE void transpose_store(const float *src, long ld, int rows, int cols, float *dst, int dst_stride,
                                     __mmask16 store_mask) {
    __m512 r[16];
    __mmask16 load_mask = lanes(cols);
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(load_mask, src + (long)i * ld) : _mm512_setzero_ps();
    transpose16(r);
    for (int j = 0; j < cols; j++) _mm512_mask_storeu_ps(dst + (long)j * dst_stride, store_mask, r[j]);
}

// Packs op(A)[i0 ..< i0+mc, p0 ..< p0+kc] into micro-panels of MR rows: panel r holds, for each p, the MR values
// of rows r*MR ..< r*MR+MR (zeros past mc). op(A)[i, p] is a[p * lda + i] when trans_a, else a[i * lda + p].
CLA_GEMM_INLINE void pack_a(int trans_a, const float *a, long lda, long i0, long p0, int mc, int kc, float *dst) {
    for (int r0 = 0; r0 < mc; r0 += MR) {
        int rows = mc - r0 < MR ? mc - r0 : MR;
        float *panel = dst + (long)r0 * kc;
        if (trans_a) {
            // The MR values of one p are contiguous in a.
            __mmask16 mask = lanes(rows);
            for (int p = 0; p < kc; p++)
                _mm512_mask_storeu_ps(panel + (long)p * MR, (__mmask16)0x0FFF,
                                      _mm512_maskz_loadu_ps(mask, a + (p0 + p) * lda + i0 + r0));
        } else {
            const float *src = a + (i0 + r0) * lda + p0;
            for (int p = 0; p < kc; p += 16)
                transpose_store(src + p, lda, rows, kc - p < 16 ? kc - p : 16, panel + (long)p * MR, MR,
                                (__mmask16)0x0FFF);
        }
    }
}

// Packs op(B)[p0 ..< p0+kc, j0 ..< j0+nc] into micro-panels of NR columns: panel c holds, for each p, the NR values
// of columns c*NR ..< c*NR+NR (zeros past nc). op(B)[p, j] is b[j * ldb + p] when trans_b, else b[p * ldb + j].
CLA_GEMM_INLINE void pack_b(int trans_b, const float *b, long ldb, long p0, long j0, int kc, int nc, float *dst) {
    for (int c0 = 0; c0 < nc; c0 += NR) {
        int cols = nc - c0 < NR ? nc - c0 : NR;
        float *panel = dst + (long)c0 * kc;
        if (!trans_b) {
            __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
            for (int p = 0; p < kc; p++) {
                const float *src = b + (p0 + p) * ldb + j0 + c0;
                float *out = panel + (long)p * NR;
                _mm512_store_ps(out, _mm512_maskz_loadu_ps(m0, src));
                _mm512_store_ps(out + 16, _mm512_maskz_loadu_ps(m1, src + 16));
            }
        } else {
            // Each packed column is a contiguous run of b: transpose 16 x 16 blocks.
            for (int half = 0; half < 2; half++) {
                int rows = cols - 16 * half;
                const float *src = b + (j0 + c0 + 16 * half) * ldb + p0;
                for (int p = 0; p < kc; p += 16) {
                    int count = kc - p < 16 ? kc - p : 16;
                    if (rows > 0)
                        transpose_store(src + p, ldb, rows, count, panel + (long)p * NR + 16 * half, NR, 0xFFFF);
                    else
                        for (int j = 0; j < count; j++)
                            _mm512_store_ps(panel + (long)(p + j) * NR + 16 * half, _mm512_setzero_ps());
                }
            }
        }
    }
}

#define ROW_FMA(i)                                   \
    {                                                \
        __m512 ai = _mm512_set1_ps(pa[i]);           \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);  \
        c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);  \
    }

#define ROW_STORE(i)                                                                                  \
    if (i < mr) {                                                                                     \
        float *row = c + (long)(i) * ldc;                                                             \
        __m512 v0 = _mm512_mul_ps(valpha, c##i##0), v1 = _mm512_mul_ps(valpha, c##i##1);             \
        if (beta != 0.0f) {                                                                           \
            __m512 vb = _mm512_set1_ps(beta);                                                         \
            v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), v0);                             \
            v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), v1);                        \
        }                                                                                             \
        _mm512_mask_storeu_ps(row, m0, v0);                                                           \
        _mm512_mask_storeu_ps(row + 16, m1, v1);                                                      \
    }

// C[0 ..< mr, 0 ..< nr] = alpha * (packed A panel . packed B panel) + beta * C, beta == 0 never reads C.
CLA_GEMM_INLINE void micro_kernel(int kc, const float *restrict pa, const float *restrict pb, float *c, long ldc,
                                  float alpha, float beta, int mr, int nr) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    __m512 c80 = c00, c81 = c00, c90 = c00, c91 = c00, c100 = c00, c101 = c00, c110 = c00, c111 = c00;
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(pb), b1 = _mm512_load_ps(pb + 16);
        ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
        ROW_FMA(6) ROW_FMA(7) ROW_FMA(8) ROW_FMA(9) ROW_FMA(10) ROW_FMA(11)
        pa += MR;
        pb += NR;
    }
    __m512 valpha = _mm512_set1_ps(alpha);
    __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xFFFF : (1u << nr) - 1u);
    __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xFFFF : nr > 16 ? (1u << (nr - 16)) - 1u : 0);
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
    ROW_STORE(6) ROW_STORE(7) ROW_STORE(8) ROW_STORE(9) ROW_STORE(10) ROW_STORE(11)
}

#define ROW_FMA1(i)                                  \
    {                                                \
        c##i##0 = _mm512_fmadd_ps(_mm512_set1_ps(pa[i]), b0, c##i##0); \
    }

#define ROW_STORE1(i)                                                                                 \
    if (i < mr) {                                                                                     \
        float *row = c + (long)(i) * ldc;                                                             \
        __m512 v0 = _mm512_mul_ps(valpha, c##i##0);                                                   \
        if (beta != 0.0f) v0 = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m0, row), v0); \
        _mm512_mask_storeu_ps(row, m0, v0);                                                           \
    }

// The same for the last micro-panel of a row block when it has at most 16 columns (half the FMAs).
CLA_GEMM_INLINE void micro_kernel16(int kc, const float *restrict pa, const float *restrict pb, float *c, long ldc,
                                    float alpha, float beta, int mr, int nr) {
    __m512 c00 = _mm512_setzero_ps(), c10 = c00, c20 = c00, c30 = c00, c40 = c00, c50 = c00;
    __m512 c60 = c00, c70 = c00, c80 = c00, c90 = c00, c100 = c00, c110 = c00;
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(pb);
        ROW_FMA1(0) ROW_FMA1(1) ROW_FMA1(2) ROW_FMA1(3) ROW_FMA1(4) ROW_FMA1(5)
        ROW_FMA1(6) ROW_FMA1(7) ROW_FMA1(8) ROW_FMA1(9) ROW_FMA1(10) ROW_FMA1(11)
        pa += MR;
        pb += NR;
    }
    __m512 valpha = _mm512_set1_ps(alpha);
    __mmask16 m0 = lanes(nr);
    ROW_STORE1(0) ROW_STORE1(1) ROW_STORE1(2) ROW_STORE1(3) ROW_STORE1(4) ROW_STORE1(5)
    ROW_STORE1(6) ROW_STORE1(7) ROW_STORE1(8) ROW_STORE1(9) ROW_STORE1(10) ROW_STORE1(11)
}

// The Goto/BLIS driver, written once for both kernel sets: for each NC-wide panel of op(B) and KC-deep block of k,
// pack op(B), then for each MC-row block pack op(A) (adding its row sums when asked, on the first column panel) and
// sweep the micro-kernel over the MR x NR tiles; the last column panel of at most HALF columns runs the half-width
// kernel. The first k-block applies beta, or, with a fused bias, C = beta * C + bias is written into the tile first
// and the kernel accumulates onto it.
#define CLA_GEMM_DRIVER(NAME, TARGET, TILE_ROWS, TILE_COLUMNS, HALF, PACK_A, PACK_B, KERNEL, HALF_KERNEL)             \
    TARGET static void NAME(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,  \
                            const float *b, long ldb, float beta, float *c, long ldc, const float *bias,             \
                            double *row_sums, float *pack_a_buffer, float *pack_b_buffer) {                          \
        for (long j0 = 0; j0 < n; j0 += NC) {                                                                        \
            int nc = (int)(n - j0 < NC ? n - j0 : NC);                                                               \
            for (long p0 = 0; p0 < k; p0 += KC) {                                                                    \
                int kc = (int)(k - p0 < KC ? k - p0 : KC);                                                           \
                int prefill = bias && p0 == 0;                                                                       \
                float block_beta = p0 == 0 && !bias ? beta : 1.0f;                                                   \
                PACK_B(trans_b, b, ldb, p0, j0, kc, nc, pack_b_buffer);                                              \
                for (long i0 = 0; i0 < m; i0 += MC) {                                                                \
                    int mc = (int)(m - i0 < MC ? m - i0 : MC);                                                       \
                    PACK_A(trans_a, a, lda, i0, p0, mc, kc, pack_a_buffer);                                          \
                    if (row_sums && j0 == 0) add_block_row_sums(pack_a_buffer, mc, kc, TILE_ROWS, row_sums + i0);    \
                    for (int jr = 0; jr < nc; jr += TILE_COLUMNS) {                                                  \
                        int nr = nc - jr < TILE_COLUMNS ? nc - jr : TILE_COLUMNS;                                    \
                        const float *pb = pack_b_buffer + (long)jr * kc;                                             \
                        for (int ir = 0; ir < mc; ir += TILE_ROWS) {                                                 \
                            int mr = mc - ir < TILE_ROWS ? mc - ir : TILE_ROWS;                                      \
                            float *tile = c + (i0 + ir) * ldc + j0 + jr;                                             \
                            const float *pa = pack_a_buffer + (long)ir * kc;                                         \
                            if (prefill) prefill_tile(tile, ldc, mr, nr, beta, bias + j0 + jr);                      \
                            if (nr > HALF)                                                                           \
                                KERNEL(kc, pa, pb, tile, ldc, alpha, block_beta, mr, nr);                            \
                            else                                                                                     \
                                HALF_KERNEL(kc, pa, pb, tile, ldc, alpha, block_beta, mr, nr);                       \
                        }                                                                                            \
                    }                                                                                                \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
    }

CLA_GEMM_DRIVER(gemm_avx512, CLA_GEMM_TARGET, MR, NR, 16, pack_a, pack_b, micro_kernel, micro_kernel16)

// ---------------------------------------------------------------------------------------------------------------
// AVX2 + FMA (CPUs without AVX-512F): the same blocking with a 6 x 16 tile of C in 12 ymm accumulators (two B
// vectors and one broadcast per row: 12 FMAs per 8 loads), a half-width kernel for a last panel of at most 8
// columns, and 8 x 8 in-register transposes for packing. Each element of C is the same chain of FMAs over k as in
// the AVX-512 kernels, so both give bit-identical results.
#define CLA_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define CLA_AVX2_TARGET __attribute__((target("avx2,fma")))

enum { MR2 = 6, NR2 = 16 };

CLA_AVX2_INLINE __m256i lanes8(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

CLA_AVX2_INLINE void transpose8(__m256 r[8]) {
    __m256 t[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        r[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
        t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
    }
    for (int i = 0; i < 8; i++) r[i] = t[i];
}

// Transposes `rows` (<= 8 used) rows of `cols` (<= 8) contiguous floats (rows `ld` apart) and stores column j (zeros
// past `rows`) as 8 floats at dst + j * dst_stride for j < cols. Stores go to increasing addresses and may run up to
// 8 - dst_stride floats past a column into space the next column (or the buffer's slack) takes.
CLA_AVX2_INLINE void transpose_store8(const float *src, long ld, int rows, int cols, float *dst, int dst_stride) {
    __m256 r[8];
    if (cols == 8) {
        for (int i = 0; i < 8; i++) r[i] = i < rows ? _mm256_loadu_ps(src + (long)i * ld) : _mm256_setzero_ps();
    } else {
        __m256i load_mask = lanes8(cols);
        for (int i = 0; i < 8; i++)
            r[i] = i < rows ? _mm256_maskload_ps(src + (long)i * ld, load_mask) : _mm256_setzero_ps();
    }
    transpose8(r);
    for (int j = 0; j < cols; j++) _mm256_storeu_ps(dst + (long)j * dst_stride, r[j]);
}

// As pack_a, in micro-panels of MR2 rows (whole-vector stores: each runs 2 floats into the next p's slot, which the
// next store overwrites; the last panel's run goes to the buffer's slack).
CLA_AVX2_INLINE void pack_a_avx2(int trans_a, const float *a, long lda, long i0, long p0, int mc, int kc, float *dst) {
    for (int r0 = 0; r0 < mc; r0 += MR2) {
        int rows = mc - r0 < MR2 ? mc - r0 : MR2;
        float *panel = dst + (long)r0 * kc;
        if (trans_a) {
            __m256i mask = lanes8(rows);
            for (int p = 0; p < kc; p++)
                _mm256_storeu_ps(panel + (long)p * MR2, _mm256_maskload_ps(a + (p0 + p) * lda + i0 + r0, mask));
        } else {
            const float *src = a + (i0 + r0) * lda + p0;
            for (int p = 0; p < kc; p += 8)
                transpose_store8(src + p, lda, rows, kc - p < 8 ? kc - p : 8, panel + (long)p * MR2, MR2);
        }
    }
}

// As pack_b, in micro-panels of NR2 columns.
CLA_AVX2_INLINE void pack_b_avx2(int trans_b, const float *b, long ldb, long p0, long j0, int kc, int nc, float *dst) {
    for (int c0 = 0; c0 < nc; c0 += NR2) {
        int cols = nc - c0 < NR2 ? nc - c0 : NR2;
        float *panel = dst + (long)c0 * kc;
        if (!trans_b) {
            const float *src = b + p0 * ldb + j0 + c0;
            if (cols == NR2) {
                for (int p = 0; p < kc; p++) {
                    _mm256_store_ps(panel + (long)p * NR2, _mm256_loadu_ps(src + (long)p * ldb));
                    _mm256_store_ps(panel + (long)p * NR2 + 8, _mm256_loadu_ps(src + (long)p * ldb + 8));
                }
            } else {
                __m256i m0 = lanes8(cols), m1 = lanes8(cols - 8);
                for (int p = 0; p < kc; p++) {
                    _mm256_store_ps(panel + (long)p * NR2, _mm256_maskload_ps(src + (long)p * ldb, m0));
                    _mm256_store_ps(panel + (long)p * NR2 + 8, _mm256_maskload_ps(src + (long)p * ldb + 8, m1));
                }
            }
        } else {
            for (int half = 0; half < 2; half++) {
                int rows = cols - 8 * half;
                const float *src = b + (j0 + c0 + 8 * half) * ldb + p0;
                for (int p = 0; p < kc; p += 8) {
                    int count = kc - p < 8 ? kc - p : 8;
                    if (rows > 0)
                        transpose_store8(src + p, ldb, rows, count, panel + (long)p * NR2 + 8 * half, NR2);
                    else
                        for (int j = 0; j < count; j++)
                            _mm256_store_ps(panel + (long)(p + j) * NR2 + 8 * half, _mm256_setzero_ps());
                }
            }
        }
    }
}

#define ROW_FMA2(i)                                  \
    {                                                \
        __m256 ai = _mm256_broadcast_ss(pa + i);     \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);  \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);  \
    }

// Full tiles are stored directly; an edge tile goes through a local tile and scalar code (AVX2's masked stores are
// slow on some CPUs).
#define ROW_STORE2(i)                                                                                 \
    {                                                                                                 \
        __m256 v0 = _mm256_mul_ps(valpha, c##i##0), v1 = _mm256_mul_ps(valpha, c##i##1);             \
        if (full) {                                                                                   \
            float *row = c + (long)(i) * ldc;                                                         \
            if (beta != 0.0f) {                                                                       \
                v0 = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row), v0);                                \
                v1 = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row + 8), v1);                            \
            }                                                                                         \
            _mm256_storeu_ps(row, v0);                                                                \
            _mm256_storeu_ps(row + 8, v1);                                                            \
        } else {                                                                                      \
            _mm256_store_ps(edge + (i) * NR2, v0);                                                    \
            _mm256_store_ps(edge + (i) * NR2 + 8, v1);                                                \
        }                                                                                             \
    }

// Writes the first mr x nr values of an edge tile (alpha applied) into C with beta, as the vector code does:
// beta * C + t in one fused multiply-add.
CLA_AVX2_INLINE void store_edge(const float *edge, int stride, float *c, long ldc, float beta, int mr, int nr) {
    for (int i = 0; i < mr; i++) {
        float *row = c + (long)i * ldc;
        const float *t = edge + i * stride;
        if (beta != 0.0f)
            for (int j = 0; j < nr; j++) row[j] = __builtin_fmaf(beta, row[j], t[j]);
        else
            for (int j = 0; j < nr; j++) row[j] = t[j];
    }
}

CLA_AVX2_INLINE void micro_kernel_avx2(int kc, const float *restrict pa, const float *restrict pb, float *c,
                                       long ldc, float alpha, float beta, int mr, int nr) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    int full = mr == MR2 && nr == NR2;
    if (full)
        for (int i = 0; i < MR2; i++) _mm_prefetch((const char *)(c + (long)i * ldc), _MM_HINT_T0);
#if defined(__clang__)
#pragma clang loop unroll_count(4)
#endif
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8);
        ROW_FMA2(0) ROW_FMA2(1) ROW_FMA2(2) ROW_FMA2(3) ROW_FMA2(4) ROW_FMA2(5)
        pa += MR2;
        pb += NR2;
    }
    __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
    __attribute__((aligned(32))) float edge[MR2 * NR2];
    ROW_STORE2(0) ROW_STORE2(1) ROW_STORE2(2) ROW_STORE2(3) ROW_STORE2(4) ROW_STORE2(5)
    if (!full) store_edge(edge, NR2, c, ldc, beta, mr, nr);
}

#define ROW_FMA2H(i)                                                          \
    { c##i##0 = _mm256_fmadd_ps(_mm256_broadcast_ss(pa + i), b0, c##i##0); }

#define ROW_STORE2H(i) _mm256_store_ps(edge + (i) * 8, _mm256_mul_ps(valpha, c##i##0));

// The last micro-panel of a row block when it has at most 8 columns (always an edge: through the local tile).
CLA_AVX2_INLINE void micro_kernel_avx2_half(int kc, const float *restrict pa, const float *restrict pb, float *c,
                                            long ldc, float alpha, float beta, int mr, int nr) {
    __m256 c00 = _mm256_setzero_ps(), c10 = c00, c20 = c00, c30 = c00, c40 = c00, c50 = c00;
#if defined(__clang__)
#pragma clang loop unroll_count(4)
#endif
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(pb);
        ROW_FMA2H(0) ROW_FMA2H(1) ROW_FMA2H(2) ROW_FMA2H(3) ROW_FMA2H(4) ROW_FMA2H(5)
        pa += MR2;
        pb += NR2;
    }
    __m256 valpha = _mm256_set1_ps(alpha);
    __attribute__((aligned(32))) float edge[MR2 * 8];
    ROW_STORE2H(0) ROW_STORE2H(1) ROW_STORE2H(2) ROW_STORE2H(3) ROW_STORE2H(4) ROW_STORE2H(5)
    store_edge(edge, 8, c, ldc, beta, mr, nr);
}

CLA_GEMM_DRIVER(gemm_avx2, CLA_AVX2_TARGET, MR2, NR2, 8, pack_a_avx2, pack_b_avx2, micro_kernel_avx2,
                micro_kernel_avx2_half)

// ---------------------------------------------------------------------------------------------------------------
// Selection. The CPU is probed once (-1: not yet); the kernels in use can be lowered (tests run both sets).
static int cla_sgemm_support = -1;
static int cla_sgemm_selected = -1;

int cla_sgemm_available(void) {
    int support = __atomic_load_n(&cla_sgemm_support, __ATOMIC_RELAXED);
    if (support < 0) {
        __builtin_cpu_init();
        support = __builtin_cpu_supports("avx512f") ? CLA_SGEMM_AVX512
                  : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? CLA_SGEMM_AVX2
                                                                                     : CLA_SGEMM_NONE;
        __atomic_store_n(&cla_sgemm_support, support, __ATOMIC_RELAXED);
    }
    return support;
}

int cla_sgemm_kernels(void) {
    int selected = __atomic_load_n(&cla_sgemm_selected, __ATOMIC_RELAXED);
    return selected < 0 ? cla_sgemm_available() : selected;
}

int cla_sgemm_select_kernels(int kernels) {
    int available = cla_sgemm_available();
    int chosen = kernels < CLA_SGEMM_NONE ? CLA_SGEMM_NONE : kernels > available ? available : kernels;
    __atomic_store_n(&cla_sgemm_selected, chosen, __ATOMIC_RELAXED);
    return chosen;
}

int cla_sgemm_tile_rows(void) { return cla_sgemm_kernels() == CLA_SGEMM_AVX2 ? MR2 : MR; }
int cla_sgemm_tile_columns(void) { return cla_sgemm_kernels() == CLA_SGEMM_AVX2 ? NR2 : NR; }

int cla_sgemm_fused(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc, const float *column_bias,
                    float *row_sums) {
    if (m <= 0 || n <= 0) return 1;
    int kernels = cla_sgemm_kernels();
    if (kernels == CLA_SGEMM_NONE) return 0;
    cla_pack_buffers *buffers = cla_gemm_buffers();
    if (!buffers) return 0;
    if (k <= 0 || alpha == 0.0f) {
        for (long i = 0; i < m; i++) {
            float *row = c + i * ldc;
            for (long j = 0; j < n; j++) {
                if (column_bias)
                    row[j] = beta == 0.0f ? column_bias[j] : __builtin_fmaf(beta, row[j], column_bias[j]);
                else
                    row[j] = beta == 0.0f ? 0.0f : beta * row[j];
            }
        }
        if (row_sums)
            for (long i = 0; i < m; i++) {
                double sum = 0;
                for (long p = 0; p < k; p++) sum += trans_a ? a[p * lda + i] : a[i * lda + p];
                row_sums[i] = (float)sum;
            }
        return 1;
    }
    double *sums = NULL;
    if (row_sums) {
        sums = calloc((size_t)m, sizeof(double));
        if (!sums) return 0;
    }
    if (kernels == CLA_SGEMM_AVX512)
        gemm_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, column_bias, sums, buffers->a,
                    buffers->b);
    else
        gemm_avx2(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, column_bias, sums, buffers->a,
                  buffers->b);
    if (sums) {
        for (long i = 0; i < m; i++) row_sums[i] = (float)sums[i];
        free(sums);
    }
    return 1;
}

int cla_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc) {
    return cla_sgemm_fused(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL, NULL);
}

#else

int cla_sgemm_available(void) { return CLA_SGEMM_NONE; }
int cla_sgemm_kernels(void) { return CLA_SGEMM_NONE; }
int cla_sgemm_select_kernels(int kernels) { (void)kernels; return CLA_SGEMM_NONE; }
int cla_sgemm_tile_rows(void) { return 1; }
int cla_sgemm_tile_columns(void) { return 1; }

int cla_sgemm_fused(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc, const float *column_bias,
                    float *row_sums) {
    (void)column_bias; (void)row_sums;
    return cla_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int cla_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc) {
    (void)trans_a; (void)trans_b; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb;
    (void)beta; (void)c; (void)ldc;
    return 0;
}

#endif
