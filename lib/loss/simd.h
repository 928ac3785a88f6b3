/*
 * Short vectors for the elementwise kernels (GCC and clang vector
 * extensions): 8 floats or 4 doubles, 32 bytes. They compile to AVX2 in
 * the functions built for x86-64-v3 and to pairs of SSE2 registers in the
 * baseline ones, with the same operations in the same order, so both give
 * the same bits. Reductions keep fixed lanes, so sums do not depend on
 * the vector width either.
 *
 * exp(x) for x <= 0 is computed without branch, table or call: x = k ln 2
 * + r with k = round(x / ln 2), |r| <= ln 2 / 2 (ln 2 split in two parts,
 * so r is exact); exp(r) by its Taylor series, of degree 7 for floats
 * (truncation below 6e-9, under the float rounding unit) and 13 for
 * doubles (below 5e-18); then 2^k made in the exponent bits. Arguments
 * whose result would be below the smallest normal number give 0.
 */
#ifndef PAL_SIMD_H
#define PAL_SIMD_H

#include <stdint.h>
#include <string.h>

/* The 32-byte vectors never cross a function boundary (every helper is
 * always inlined), so GCC's note on their calling convention without AVX
 * (-Wpsabi, turned off in the Makefile) does not apply. */

typedef float pal__v8f __attribute__((vector_size(32)));
typedef int32_t pal__v8i __attribute__((vector_size(32)));
typedef float pal__v4f __attribute__((vector_size(16)));
typedef double pal__v4d __attribute__((vector_size(32)));
typedef int64_t pal__v4l __attribute__((vector_size(32)));

/* The same for memory of any alignment: loads and stores go through
 * these, values stay in the aligned types (and so in registers). */
typedef float pal__v8f_u __attribute__((vector_size(32), aligned(4),
                                        may_alias));
typedef double pal__v4d_u __attribute__((vector_size(32), aligned(8),
                                         may_alias));

/* Build the x86-64-v3 (AVX2, FMA, ...) variant of a function next to the
 * baseline one; the loader picks one for the machine. */
#if defined(__x86_64__) && defined(__GNUC__)
#define PAL__CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define PAL__CLONES
#endif

static inline __attribute__((always_inline)) pal__v8f pal__v8f_set(float v)
{
    return (pal__v8f){v, v, v, v, v, v, v, v};
}

static inline __attribute__((always_inline)) pal__v4d pal__v4d_set(double v)
{
    return (pal__v4d){v, v, v, v};
}

static inline __attribute__((always_inline)) pal__v8f
pal__v8f_load(const float *p)
{
    return *(const pal__v8f_u *)p;
}

static inline __attribute__((always_inline)) void pal__v8f_store(float *p,
                                                                 pal__v8f v)
{
    *(pal__v8f_u *)p = v;
}

static inline __attribute__((always_inline)) pal__v4d
pal__v4d_load(const double *p)
{
    return *(const pal__v4d_u *)p;
}

static inline __attribute__((always_inline)) void pal__v4d_store(double *p,
                                                                 pal__v4d v)
{
    *(pal__v4d_u *)p = v;
}

/* Lanes where mask is all ones from a, the others from b. */
static inline __attribute__((always_inline)) pal__v8f
pal__v8f_select(pal__v8i mask, pal__v8f a, pal__v8f b)
{
    return (pal__v8f)(((pal__v8i)a & mask) | ((pal__v8i)b & ~mask));
}

static inline __attribute__((always_inline)) pal__v4d
pal__v4d_select(pal__v4l mask, pal__v4d a, pal__v4d b)
{
    return (pal__v4d)(((pal__v4l)a & mask) | ((pal__v4l)b & ~mask));
}

static inline __attribute__((always_inline)) pal__v8f pal__v8f_max(pal__v8f a, pal__v8f b)
{
    return pal__v8f_select(a > b, a, b);
}

static inline __attribute__((always_inline)) pal__v4d pal__v4d_max(pal__v4d a, pal__v4d b)
{
    return pal__v4d_select(a > b, a, b);
}

/* exp(x) on each lane, for x <= 0 (see the top of this file). Adding
 * 1.5 * 2^23 rounds x / ln 2 to an integer k held in the low bits of the
 * sum, which gives k without a conversion instruction. */
static inline __attribute__((always_inline)) pal__v8f pal__v8f_exp(pal__v8f x)
{
    const pal__v8f round = pal__v8f_set(12582912.0f); /* 1.5 * 2^23 */
    const pal__v8f lo = pal__v8f_set(-87.5f);
    pal__v8i live = x >= lo, k;
    pal__v8f t, kf, r, p;

    x = pal__v8f_select(live, x, lo);
    t = x * 1.44269504088896341f + round;
    k = (pal__v8i)t - (pal__v8i)round;
    kf = t - round;
    r = x - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    p = pal__v8f_set(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return (pal__v8f)((pal__v8i)(p * (pal__v8f)((k + 127) << 23)) & live);
}

static inline __attribute__((always_inline)) pal__v4d pal__v4d_exp(pal__v4d x)
{
    const pal__v4d round = pal__v4d_set(6755399441055744.0); /* 1.5 * 2^52 */
    const pal__v4d lo = pal__v4d_set(-708.3);
    pal__v4l live = x >= lo, k;
    pal__v4d t, kf, r, p;

    x = pal__v4d_select(live, x, lo);
    t = x * 1.4426950408889634074 + round;
    k = (pal__v4l)t - (pal__v4l)round;
    kf = t - round;
    r = x - kf * 6.93147180369123816490e-01;
    r = r - kf * 1.90821492927058770002e-10;
    p = pal__v4d_set(1.0 / 6227020800.0);
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    return (pal__v4d)((pal__v4l)(p * (pal__v4d)((k + 1023) << 52)) & live);
}

/* acc[0..1] += the lanes of v, widened to double (low half, high half). */
static inline __attribute__((always_inline)) void
pal__v8f_acc(pal__v4d *acc, pal__v8f v)
{
    acc[0] += __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3),
                                      pal__v4d);
    acc[1] += __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7),
                                      pal__v4d);
}

static inline __attribute__((always_inline)) void
pal__v4d_acc(pal__v4d *acc, pal__v4d v)
{
    acc[0] += v;
}

/* The 8 x 8 transpose of the rows r[0..7], in registers (unpack pairs,
 * then pairs of pairs, then swap the 128-bit halves). */
static inline __attribute__((always_inline)) void
pal__v8f_transpose(pal__v8f *r)
{
    pal__v8f t[8], u[8];

    for (int64_t p = 0; p < 4; p++) {
        t[2 * p] = __builtin_shufflevector(r[2 * p], r[2 * p + 1], 0, 8, 1,
                                           9, 4, 12, 5, 13);
        t[2 * p + 1] = __builtin_shufflevector(r[2 * p], r[2 * p + 1], 2, 10,
                                               3, 11, 6, 14, 7, 15);
    }
    for (int64_t q = 0; q < 2; q++) {
        pal__v8f *a = t + 4 * q, *o = u + 4 * q;

        o[0] = __builtin_shufflevector(a[0], a[2], 0, 1, 8, 9, 4, 5, 12, 13);
        o[1] = __builtin_shufflevector(a[0], a[2], 2, 3, 10, 11, 6, 7, 14,
                                       15);
        o[2] = __builtin_shufflevector(a[1], a[3], 0, 1, 8, 9, 4, 5, 12, 13);
        o[3] = __builtin_shufflevector(a[1], a[3], 2, 3, 10, 11, 6, 7, 14,
                                       15);
    }
    for (int p = 0; p < 4; p++) {
        r[p] = __builtin_shufflevector(u[p], u[p + 4], 0, 1, 2, 3, 8, 9, 10,
                                       11);
        r[p + 4] = __builtin_shufflevector(u[p], u[p + 4], 4, 5, 6, 7, 12,
                                           13, 14, 15);
    }
}

/* The 4 x 4 transpose of r[0..3]. */
static inline __attribute__((always_inline)) void
pal__v4d_transpose(pal__v4d *r)
{
    pal__v4d t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 2, 6);
    pal__v4d t1 = __builtin_shufflevector(r[0], r[1], 1, 5, 3, 7);
    pal__v4d t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 2, 6);
    pal__v4d t3 = __builtin_shufflevector(r[2], r[3], 1, 5, 3, 7);

    r[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
    r[1] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    r[2] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    r[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

/* Widen 8 floats to two vectors of 4 doubles, and narrow them back. */
static inline __attribute__((always_inline)) void
pal__v8f_widen(pal__v8f v, pal__v4d *out)
{
    out[0] = __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3),
                                     pal__v4d);
    out[1] = __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7),
                                     pal__v4d);
}

static inline __attribute__((always_inline)) pal__v8f
pal__v8f_narrow(const pal__v4d *x)
{
    pal__v4f lo = __builtin_convertvector(x[0], pal__v4f);
    pal__v4f hi = __builtin_convertvector(x[1], pal__v4f);

    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
}

static inline __attribute__((always_inline)) void
pal__v4d_widen(pal__v4d v, pal__v4d *out)
{
    out[0] = v;
}

static inline __attribute__((always_inline)) pal__v4d
pal__v4d_narrow(const pal__v4d *x)
{
    return x[0];
}

/* Scalar versions, for the tails of rows: the same arithmetic on lane 0,
 * so a value does not depend on where it falls in its row. */
static inline __attribute__((always_inline)) float pal__expf(float x)
{
    return pal__v8f_exp(pal__v8f_set(x))[0];
}

static inline __attribute__((always_inline)) double pal__exp(double x)
{
    return pal__v4d_exp(pal__v4d_set(x))[0];
}

#endif /* PAL_SIMD_H */
