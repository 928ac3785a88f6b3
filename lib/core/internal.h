/*
 * Internal declarations shared by every part of libpal: allocation,
 * argument checks, workspace layout, random numbers and BLIS threading.
 * Nothing here is exported; internal names carry the pal__ prefix.
 */
#ifndef PAL_CORE_INTERNAL_H
#define PAL_CORE_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pal/core.h"

/* Largest n accepted anywhere: items are indexed with int32 internally. */
#define PAL__MAX_N INT32_MAX

/* ---- Allocation ---------------------------------------------------------- */

/* Copy an allocator, replacing a missing or incomplete one by malloc. */
void pal__allocator_init(pal_allocator_t *dst, const pal_allocator_t *src);

/* Allocate size bytes (size 0 allocates 1 byte); NULL on failure or when
 * count * elem overflows. */
void *pal__alloc(const pal_allocator_t *a, size_t size);
void *pal__alloc_array(const pal_allocator_t *a, size_t count, size_t elem);
void *pal__calloc_array(const pal_allocator_t *a, size_t count, size_t elem);
void pal__free(const pal_allocator_t *a, void *p);

/* ---- Size arithmetic ----------------------------------------------------- */

/* a * b into *out; false on overflow or when either is negative. */
static inline bool pal__mul_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0)
        return false;
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool pal__mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/*
 * Validate a dense row-major matrix argument: n x k of dtype with row
 * stride ld. Returns PAL_OK or the code for the first problem found, in
 * the order NULL, type, size, stride, overflow of the addressed extent.
 */
int pal__check_matrix(pal_dtype_t dtype, int64_t n, int64_t k,
                      const void *p, int64_t ld);

/* True when p is not aligned for objects of type T (NULL is aligned). */
/* Loops over fewer entries than this stay on one thread: a parallel
 * region costs a few microseconds, and far more when another process
 * holds a core and a thread of the team has to wait for it. */
#define PAL__PAR_MIN 262144

#define PAL__MISALIGNED(p, T) (((uintptr_t)(const void *)(p)) % _Alignof(T) != 0)

/* Bytes spanned by an n x k matrix with stride ld (last row only k). */
size_t pal__matrix_extent(pal_dtype_t dtype, int64_t n, int64_t k,
                          int64_t ld);

/* True when [a, a + na) and [b, b + nb) overlap. */
bool pal__overlap(const void *a, size_t na, const void *b, size_t nb);

/* True when every element of the matrix is finite. */
bool pal__matrix_finite(pal_dtype_t dtype, int64_t n, int64_t k,
                        const void *p, int64_t ld);

/*
 * Read the caller's options structure of `given` bytes into a
 * default-filled `dst` of `known` bytes. A size smaller than the
 * size_t header, or a larger structure with a non-zero unknown tail, is
 * PAL_E_RANGE.
 */
int pal__read_opts(void *dst, size_t known, const void *src);

/* ---- Workspace layout ---------------------------------------------------- */

/*
 * A bump layout over the context's workspace. Run a layout once with
 * base = NULL to measure it, reserve that many bytes, then run it again
 * over the reserved block. Every region is 64-byte aligned.
 */
typedef struct pal__ws {
    char *base;
    size_t used;
} pal__ws_t;

static inline void *pal__ws_take(pal__ws_t *w, size_t bytes)
{
    size_t at = (w->used + 63u) & ~(size_t)63u;

    w->used = at + bytes;
    return w->base ? w->base + at : NULL;
}

/* Make sure ctx holds at least bytes of workspace; PAL_E_NOMEM when the
 * limit forbids it or the allocation fails (ctx unchanged). */
int pal__ctx_reserve(pal_ctx_t *ctx, size_t bytes, pal__ws_t *ws);

/* The context's workspace limit (SIZE_MAX when unlimited). */
size_t pal__ctx_limit(const pal_ctx_t *ctx);

/* The context's thread count, resolved: >= 1. */
int pal__ctx_nthreads(const pal_ctx_t *ctx);

/* Fill a BLIS runtime object (declared opaque here) for ctx. */
struct rntm_s;
void pal__ctx_rntm(const pal_ctx_t *ctx, struct rntm_s *rntm);

/* ---- Dense products (BLIS) ---------------------------------------------- */

/*
 * C = alpha A B + beta C with A m x k, B k x n, C m x n, each given by
 * element strides (rs, cs), so transposes are a swap of strides. beta = 0
 * overwrites C without reading it.
 */
void pal__gemm(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t m,
               int64_t n, int64_t k, double alpha, const void *a,
               int64_t rsa, int64_t csa, const void *b, int64_t rsb,
               int64_t csb, double beta, void *c, int64_t rsc, int64_t csc);

/* The same on one thread, whatever the context says: for products run
 * from inside a parallel region, each thread on its own block. */
void pal__gemm_serial(pal_dtype_t dtype, int64_t m, int64_t n, int64_t k,
                      double alpha, const void *a, int64_t rsa, int64_t csa,
                      const void *b, int64_t rsb, int64_t csb, double beta,
                      void *c, int64_t rsc, int64_t csc);

/* C = alpha A A^T + beta C for A n x k (strides rsa, csa) and a full
 * symmetric row-major n x n C (both triangles written). */
void pal__syrk(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
               int64_t k, double alpha, const void *a, int64_t rsa,
               int64_t csa, double beta, void *c, int64_t ldc);

/* The same, writing the lower triangle only (the upper one is left as it
 * was). */
void pal__syrk_lower(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                     int64_t k, double alpha, const void *a, int64_t rsa,
                     int64_t csa, double beta, void *c, int64_t ldc);

/* C = alpha A B + beta C for a symmetric m x m A of which only the lower
 * triangle is read (row-major, row stride lda), B m x n, C m x n. */
void pal__symm_lower(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t m,
                     int64_t n, double alpha, const void *a, int64_t lda,
                     const void *b, int64_t ldb, double beta, void *c,
                     int64_t ldc);

/* B = B R^-1 for an upper triangular n x n R (row-major, stride ldr; its
 * lower part is not read) and an m x n B (row-major, stride ldb), in
 * float64: a triangular solve, which keeps B R accurate where forming
 * R^-1 would not. */
void pal__trsm_right_upper(const pal_ctx_t *ctx, int64_t m, int64_t n,
                           const double *r, int64_t ldr, double *b,
                           int64_t ldb);

/* ---- Random numbers ------------------------------------------------------ */

/* xoshiro256** seeded through splitmix64: fast, and the same stream on
 * every platform for a given seed. */
typedef struct pal__rng {
    uint64_t s[4];
} pal__rng_t;

void pal__rng_seed(pal__rng_t *r, uint64_t seed);
uint64_t pal__rng_next(pal__rng_t *r);

/* Uniform integer in [0, bound), bound >= 1, without modulo bias. */
uint64_t pal__rng_below(pal__rng_t *r, uint64_t bound);

/* Uniform double in [0, 1). */
double pal__rng_unit(pal__rng_t *r);

#endif /* PAL_CORE_INTERNAL_H */
