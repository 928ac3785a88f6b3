/*
 * The dense terms of a graph multiplied through a transpose: Y = sum_t w_t
 * (A_t + A_t^T) X (VIC^2 needs only this symmetric part of G) or Y =
 * sum_t w_t A_t^T X (BarlowTwins' second product).
 *
 * BLIS multiplies by a transposed row-major A at 1.4 to 1.9 times the cost
 * of the plain product: it packs A^T from columns, a few elements per row
 * of A, from memory. Here the rows of Y are split into panels, and each
 * thread takes whole panels: for a block of columns at a time it forms
 * the block of the matrix it needs, in X's type, with transposes in small
 * tiles (long runs along the rows of A), then multiplies it on its own
 * thread while the block is in its cache. Every panel is computed the same
 * way whichever thread runs it, so the result does not depend on the
 * thread count.
 */
#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef __SSE2__
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "graph_internal.h"

/* The largest block, rows of Y by columns of A (a multiple of BLIS's
 * depth block), and the smallest one a workspace limit can shrink it to. */
#define PANEL_ROWS 512
#define PANEL_COLS 256
#define PANEL_MIN 8

/* Side of the tiles the transposes go through, and how many tiles ahead
 * their lines are asked for. */
#define TILE ((int64_t)16)
#define AHEAD ((int64_t)4)


static size_t block_bytes(const pal__panel_t *pl, size_t elem)
{
    return ((size_t)pl->rows * (size_t)pl->cols * elem + 63u) & ~(size_t)63u;
}

void pal__panel_plan(int64_t n, pal_dtype_t dtype, int nt, size_t room,
                     pal__panel_t *pl)
{
    const size_t elem = pal_dtype_size(dtype);
    const size_t per = room / (size_t)(nt > 0 ? nt : 1);
    /* At least two panels, so that two threads share the rows. */
    int64_t rows = ((n + 1) / 2 + 7) / 8 * 8;

    pl->nt = nt > 0 ? nt : 1;
    pl->rows = rows < PANEL_ROWS ? rows : PANEL_ROWS;
    pl->cols = PANEL_COLS;
    while (block_bytes(pl, elem) > per &&
           (pl->rows > PANEL_MIN || pl->cols > PANEL_MIN)) {
        if (pl->rows >= pl->cols)
            pl->rows = pl->rows / 2 > PANEL_MIN ? pl->rows / 2 : PANEL_MIN;
        else
            pl->cols = pl->cols / 2 > PANEL_MIN ? pl->cols / 2 : PANEL_MIN;
    }
    pl->rows = pl->rows < n ? pl->rows : n;
    pl->cols = pl->cols < n ? pl->cols : n;
}

size_t pal__panel_ws(const pal__panel_t *pl, pal_dtype_t dtype)
{
    return (size_t)pl->nt * block_bytes(pl, pal_dtype_size(dtype));
}

/*
 * T (nr x nc, row stride nc, of type dt) = or += wd A[r0:, c0:] + wt
 * A[c0:, r0:]^T for A of type at (a zero weight leaves its part out),
 * summed in double and rounded once to T's type; through tiles, the
 * lines of the tile AHEAD tiles down asked for in advance. The general
 * form, for a term whose type differs from T's.
 */
static void form_any(pal_dtype_t dt, void *t, int64_t nr, int64_t nc,
                     pal_dtype_t at, const void *a, int64_t lda, int64_t r0,
                     int64_t c0, double wd, double wt, bool add)
{
    const size_t ae = pal_dtype_size(at);
    double tile[TILE][TILE];

    for (int64_t j0 = 0; j0 < nc; j0 += TILE) {
        const int64_t bj = nc - j0 < TILE ? nc - j0 : TILE;

        for (int64_t i0 = 0; i0 < nr; i0 += TILE) {
            const int64_t bi = nr - i0 < TILE ? nr - i0 : TILE;
            const int64_t ia = i0 + AHEAD * TILE;

            for (int64_t u = 0; wt != 0.0 && ia < nr && u < bj; u++)
                __builtin_prefetch((const char *)a +
                                   (size_t)((c0 + j0 + u) * lda + r0 + ia) *
                                       ae);
            for (int64_t u = 0; wd != 0.0 && ia + u < nr && u < TILE; u++)
                __builtin_prefetch((const char *)a +
                                   (size_t)((r0 + ia + u) * lda + c0 + j0) *
                                       ae);
            for (int64_t j = 0; j < bj; j++)
                for (int64_t i = 0; i < bi; i++)
                    tile[i][j] = wt != 0.0
                                     ? wt * pal__get(at, a,
                                                     (c0 + j0 + j) * lda +
                                                         r0 + i0 + i)
                                     : 0.0;
            for (int64_t i = 0; wd != 0.0 && i < bi; i++)
                for (int64_t j = 0; j < bj; j++)
                    tile[i][j] += wd * pal__get(at, a,
                                                (r0 + i0 + i) * lda + c0 +
                                                    j0 + j);
            for (int64_t i = 0; i < bi; i++) {
                const int64_t q = (i0 + i) * nc + j0;

                for (int64_t j = 0; j < bj; j++) {
                    double v = tile[i][j];

                    if (dt == PAL_F32) {
                        float *d = (float *)t + q + j;

                        *d = add ? (float)((double)*d + v) : (float)v;
                    } else {
                        double *d = (double *)t + q + j;

                        *d = add ? *d + v : v;
                    }
                }
            }
        }
    }
}

#ifdef __SSE2__
/* The tiles cut by the edges of a block, entry by entry, one source for
 * both types: d = (add ? d : 0) + ft * tr^T + fd * dir. */
/* NOLINTBEGIN(bugprone-macro-parentheses): T names a type */
#define PAL__EDGE(T, name)                                                 \
    static void name(T *d, int64_t ldd, int64_t bi, int64_t bj,           \
                     const T *dir, const T *tr, int64_t lda, T fd, T ft,  \
                     bool add)                                             \
    {                                                                      \
        for (int64_t u = 0; u < bi; u++) {                                 \
            for (int64_t v = 0; v < bj; v++) {                             \
                T e = 0;                                                   \
                                                                           \
                if (ft != 0)                                               \
                    e = ft * tr[v * lda + u];                              \
                if (fd != 0)                                               \
                    e = e + fd * dir[u * lda + v];                         \
                d[u * ldd + v] = add ? d[u * ldd + v] + e : e;             \
            }                                                              \
        }                                                                  \
    }

/* NOLINTEND(bugprone-macro-parentheses) */
PAL__EDGE(float, edge_f32)
PAL__EDGE(double, edge_f64)
#undef PAL__EDGE

/*
 * The same for a term of T's type, with SSE2 transposes of 4 x 4 floats
 * or 2 x 2 doubles and the sums in T's type: t op= wt b^T + wd a, the
 * operations in the same order in the vector and the scalar code (which
 * forms the tiles cut by the edges of the block). The tiles go down the
 * rows of T; each asks for the lines of the tile AHEAD tiles further
 * (rows of A for the direct part, further along the same rows for the
 * transposed one), so that the reads from memory overlap: without this
 * the transposes ran at a quarter of the memory's speed.
 */
static void form_f32(float *t, int64_t nr, int64_t nc, const float *a,
                     int64_t lda, int64_t r0, int64_t c0, double wd,
                     double wt, bool add)
{
    const float fd = (float)wd, ft = (float)wt;
    const __m128 vd = _mm_set1_ps(fd), vt = _mm_set1_ps(ft);

    for (int64_t j0 = 0; j0 < nc; j0 += TILE) {
        const int64_t bj = nc - j0 < TILE ? nc - j0 : TILE;

        for (int64_t i0 = 0; i0 < nr; i0 += TILE) {
            const int64_t bi = nr - i0 < TILE ? nr - i0 : TILE;
            const int64_t ia = i0 + AHEAD * TILE;
            const float *dir = a + (r0 + i0) * lda + c0 + j0;
            const float *tr = a + (c0 + j0) * lda + r0 + i0;

            for (int64_t u = 0; ft != 0.0f && ia < nr && u < bj; u++)
                _mm_prefetch((const char *)(tr + u * lda + AHEAD * TILE),
                             _MM_HINT_T0);
            for (int64_t u = 0; fd != 0.0f && ia + u < nr && u < TILE; u++)
                _mm_prefetch((const char *)(dir + (AHEAD * TILE + u) * lda),
                             _MM_HINT_T0);
            if (bi < TILE || bj < TILE) {
                edge_f32(t + i0 * nc + j0, nc, bi, bj, dir, tr, lda, fd, ft,
                         add);
                continue;
            }
            for (int64_t j = 0; j < TILE; j += 4) {
                for (int64_t i = 0; i < TILE; i += 4) {
                    const float *s = tr + j * lda + i, *r = dir + i * lda + j;
                    float *d = t + (i0 + i) * nc + j0 + j;
                    __m128 q0, q1, q2, q3;

                    if (ft != 0.0f) {
                        q0 = _mm_loadu_ps(s);
                        q1 = _mm_loadu_ps(s + lda);
                        q2 = _mm_loadu_ps(s + 2 * lda);
                        q3 = _mm_loadu_ps(s + 3 * lda);
                        _MM_TRANSPOSE4_PS(q0, q1, q2, q3);
                        q0 = _mm_mul_ps(vt, q0);
                        q1 = _mm_mul_ps(vt, q1);
                        q2 = _mm_mul_ps(vt, q2);
                        q3 = _mm_mul_ps(vt, q3);
                    } else {
                        q0 = q1 = q2 = q3 = _mm_setzero_ps();
                    }
                    if (fd != 0.0f) {
                        q0 = _mm_add_ps(q0, _mm_mul_ps(vd, _mm_loadu_ps(r)));
                        q1 = _mm_add_ps(q1, _mm_mul_ps(vd, _mm_loadu_ps(
                                                               r + lda)));
                        q2 = _mm_add_ps(q2, _mm_mul_ps(vd, _mm_loadu_ps(
                                                               r + 2 * lda)));
                        q3 = _mm_add_ps(q3, _mm_mul_ps(vd, _mm_loadu_ps(
                                                               r + 3 * lda)));
                    }
                    if (add) {
                        q0 = _mm_add_ps(_mm_loadu_ps(d), q0);
                        q1 = _mm_add_ps(_mm_loadu_ps(d + nc), q1);
                        q2 = _mm_add_ps(_mm_loadu_ps(d + 2 * nc), q2);
                        q3 = _mm_add_ps(_mm_loadu_ps(d + 3 * nc), q3);
                    }
                    _mm_storeu_ps(d, q0);
                    _mm_storeu_ps(d + nc, q1);
                    _mm_storeu_ps(d + 2 * nc, q2);
                    _mm_storeu_ps(d + 3 * nc, q3);
                }
            }
        }
    }
}

static void form_f64(double *t, int64_t nr, int64_t nc, const double *a,
                     int64_t lda, int64_t r0, int64_t c0, double wd,
                     double wt, bool add)
{
    const __m128d vd = _mm_set1_pd(wd), vt = _mm_set1_pd(wt);

    for (int64_t j0 = 0; j0 < nc; j0 += TILE) {
        const int64_t bj = nc - j0 < TILE ? nc - j0 : TILE;

        for (int64_t i0 = 0; i0 < nr; i0 += TILE) {
            const int64_t bi = nr - i0 < TILE ? nr - i0 : TILE;
            const int64_t ia = i0 + AHEAD * TILE;
            const double *dir = a + (r0 + i0) * lda + c0 + j0;
            const double *tr = a + (c0 + j0) * lda + r0 + i0;

            /* A tile row of doubles spans two lines. */
            for (int64_t u = 0; wt != 0.0 && ia < nr && u < bj; u++) {
                const double *q = tr + u * lda + AHEAD * TILE;

                _mm_prefetch((const char *)q, _MM_HINT_T0);
                _mm_prefetch((const char *)(q + 8), _MM_HINT_T0);
            }
            for (int64_t u = 0; wd != 0.0 && ia + u < nr && u < TILE; u++) {
                const double *q = dir + (AHEAD * TILE + u) * lda;

                _mm_prefetch((const char *)q, _MM_HINT_T0);
                _mm_prefetch((const char *)(q + 8), _MM_HINT_T0);
            }
            if (bi < TILE || bj < TILE) {
                edge_f64(t + i0 * nc + j0, nc, bi, bj, dir, tr, lda, wd, wt,
                         add);
                continue;
            }
            for (int64_t j = 0; j < TILE; j += 2) {
                for (int64_t i = 0; i < TILE; i += 2) {
                    const double *s = tr + j * lda + i;
                    const double *r = dir + i * lda + j;
                    double *d = t + (i0 + i) * nc + j0 + j;
                    __m128d q0, q1;

                    if (wt != 0.0) {
                        const __m128d x0 = _mm_loadu_pd(s);
                        const __m128d x1 = _mm_loadu_pd(s + lda);

                        q0 = _mm_mul_pd(vt, _mm_unpacklo_pd(x0, x1));
                        q1 = _mm_mul_pd(vt, _mm_unpackhi_pd(x0, x1));
                    } else {
                        q0 = q1 = _mm_setzero_pd();
                    }
                    if (wd != 0.0) {
                        q0 = _mm_add_pd(q0, _mm_mul_pd(vd, _mm_loadu_pd(r)));
                        q1 = _mm_add_pd(q1, _mm_mul_pd(vd, _mm_loadu_pd(
                                                               r + lda)));
                    }
                    if (add) {
                        q0 = _mm_add_pd(_mm_loadu_pd(d), q0);
                        q1 = _mm_add_pd(_mm_loadu_pd(d + nc), q1);
                    }
                    _mm_storeu_pd(d, q0);
                    _mm_storeu_pd(d + nc, q1);
                }
            }
        }
    }
}
#endif

/* Form block (r0, c0) of the matrix: every dense term added in. */
static void form_block(const pal_graph_t *g, int mode, pal_dtype_t dtype,
                       void *t, int64_t nr, int64_t nc, int64_t r0,
                       int64_t c0)
{
    bool add = false;

    for (int64_t i = 0; i < g->nterms; i++) {
        const pal__term_t *x = &g->terms[i];
        double wd, wt;

        if (x->kind != PAL__DENSE)
            continue;
        /* A symmetric term is read along its rows only. */
        if (mode == PAL__PANEL_SYM) {
            wd = x->symmetric ? 2.0 * x->w : x->w;
            wt = x->symmetric ? 0.0 : x->w;
        } else {
            wd = x->symmetric ? x->w : 0.0;
            wt = x->symmetric ? 0.0 : x->w;
        }
#ifdef __SSE2__
        if (x->dtype == PAL_F32 && dtype == PAL_F32)
            form_f32(t, nr, nc, x->a, x->lda, r0, c0, wd, wt, add);
        else if (x->dtype == PAL_F64 && dtype == PAL_F64)
            form_f64(t, nr, nc, x->a, x->lda, r0, c0, wd, wt, add);
        else
#endif
            form_any(dtype, t, nr, nc, x->dtype, x->a, x->lda, r0, c0, wd, wt,
                     add);
        add = true;
    }
}

void pal__graph_dense_panels(const pal_graph_t *g, int mode,
                             const pal__panel_t *pl, pal_dtype_t dtype,
                             int64_t k, const void *x, int64_t ldx,
                             double beta, void *y, int64_t ldy, void *ws)
{
    const int64_t n = g->n, np = (n + pl->rows - 1) / pl->rows;
    const size_t elem = pal_dtype_size(dtype);
    const size_t bb = block_bytes(pl, elem);

    (void)bb; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(pl->nt) schedule(dynamic, 1) \
    if (pl->nt > 1 && n * n >= PAL__PAR_MIN)
#endif
    for (int64_t p = 0; p < np; p++) {
#ifdef _OPENMP
        void *t = (char *)ws + (size_t)omp_get_thread_num() * bb;
#else
        void *t = ws;
#endif
        const int64_t r0 = p * pl->rows;
        const int64_t nr = n - r0 < pl->rows ? n - r0 : pl->rows;
        char *yp = (char *)y + (size_t)r0 * (size_t)ldy * elem;

        for (int64_t c0 = 0; c0 < n; c0 += pl->cols) {
            const int64_t nc = n - c0 < pl->cols ? n - c0 : pl->cols;

            form_block(g, mode, dtype, t, nr, nc, r0, c0);
            pal__gemm_serial(dtype, nr, k, nc, 1.0, t, nc, 1,
                             (const char *)x + (size_t)c0 * (size_t)ldx * elem,
                             ldx, 1, c0 == 0 ? beta : 1.0, yp, ldy, 1);
        }
    }
}
