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

/* Side of the tiles the transposes go through. */
#define TILE 16

/* Products under this many entries of G stay on one thread. */
#define PANEL_PAR_MIN 262144

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
 * T (nr x nc, row stride nc) = or += wd A[r0:, c0:] + wt A[c0:, r0:]^T
 * (a zero weight leaves its part out), summed in double and rounded once
 * to T's type.
 */
#define FORM(NAME, ST, DT)                                                   \
    static void NAME(DT *t, int64_t nr, int64_t nc, const ST *a,           \
                     int64_t lda, int64_t r0, int64_t c0, double wd,        \
                     double wt, bool add)                                   \
    {                                                                       \
        double tile[TILE][TILE];                                            \
                                                                            \
        for (int64_t j0 = 0; j0 < nc; j0 += TILE) {                         \
            const int64_t bj = nc - j0 < TILE ? nc - j0 : TILE;             \
                                                                            \
            for (int64_t i0 = 0; i0 < nr; i0 += TILE) {                     \
                const int64_t bi = nr - i0 < TILE ? nr - i0 : TILE;         \
                                                                            \
                for (int64_t j = 0; j < bj; j++) {                          \
                    const ST *s = a + (c0 + j0 + j) * lda + r0 + i0;        \
                                                                            \
                    for (int64_t i = 0; i < bi; i++)                        \
                        tile[i][j] = wt != 0.0 ? wt * (double)s[i] : 0.0;   \
                }                                                           \
                if (wd != 0.0) {                                            \
                    for (int64_t i = 0; i < bi; i++) {                      \
                        const ST *s = a + (r0 + i0 + i) * lda + c0 + j0;    \
                                                                            \
                        for (int64_t j = 0; j < bj; j++)                    \
                            tile[i][j] += wd * (double)s[j];                \
                    }                                                       \
                }                                                           \
                for (int64_t i = 0; i < bi; i++) {                          \
                    DT *d = t + (i0 + i) * nc + j0;                         \
                                                                            \
                    for (int64_t j = 0; j < bj; j++)                        \
                        d[j] = add ? (DT)((double)d[j] + tile[i][j])        \
                                   : (DT)tile[i][j];                        \
                }                                                           \
            }                                                               \
        }                                                                   \
    }

FORM(form_ss, float, float)
FORM(form_sd, float, double)
FORM(form_ds, double, float)
FORM(form_dd, double, double)

#ifdef __SSE2__
/*
 * The same for a term of T's type, with SSE2 transposes of 4 x 4 floats
 * or 2 x 2 doubles, the sums in T's type: t op= wd a + wt b^T, the
 * order of the operations the same in the vector and the scalar code.
 */
static void form_f32(float *t, int64_t nr, int64_t nc, const float *a,
                     int64_t lda, int64_t r0, int64_t c0, double wd,
                     double wt, bool add)
{
    const float fd = (float)wd, ft = (float)wt;
    const __m128 vd = _mm_set1_ps(fd), vt = _mm_set1_ps(ft);

    for (int64_t j0 = 0; j0 < nc; j0 += TILE) {
        const int64_t j1 = nc - j0 < TILE ? nc : j0 + TILE;

        for (int64_t i0 = 0; i0 < nr; i0 += TILE) {
            const int64_t i1 = nr - i0 < TILE ? nr : i0 + TILE;

            for (int64_t j = j0; j < j1; j += 4) {
                for (int64_t i = i0; i < i1; i += 4) {
                    const float *dir = a + (r0 + i) * lda + c0 + j;
                    const float *tr = a + (c0 + j) * lda + r0 + i;
                    float *d = t + i * nc + j;
                    __m128 q[4];

                    if (j + 4 > j1 || i + 4 > i1) {
                        const int64_t bi = i1 - i < 4 ? i1 - i : 4;
                        const int64_t bj = j1 - j < 4 ? j1 - j : 4;

                        for (int64_t u = 0; u < bi; u++)
                            for (int64_t v = 0; v < bj; v++) {
                                float e = 0.0f;

                                if (wt != 0.0)
                                    e = ft * tr[v * lda + u];
                                if (wd != 0.0)
                                    e = e + fd * dir[u * lda + v];
                                d[u * nc + v] = add ? d[u * nc + v] + e : e;
                            }
                        continue;
                    }
                    if (wt != 0.0) {
                        for (int u = 0; u < 4; u++)
                            q[u] = _mm_loadu_ps(tr + u * lda);
                        _MM_TRANSPOSE4_PS(q[0], q[1], q[2], q[3]);
                        for (int u = 0; u < 4; u++)
                            q[u] = _mm_mul_ps(vt, q[u]);
                    } else {
                        for (int u = 0; u < 4; u++)
                            q[u] = _mm_setzero_ps();
                    }
                    for (int u = 0; u < 4; u++) {
                        if (wd != 0.0)
                            q[u] = _mm_add_ps(
                                q[u],
                                _mm_mul_ps(vd, _mm_loadu_ps(dir + u * lda)));
                        if (add)
                            q[u] = _mm_add_ps(_mm_loadu_ps(d + u * nc), q[u]);
                        _mm_storeu_ps(d + u * nc, q[u]);
                    }
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
        const int64_t j1 = nc - j0 < TILE ? nc : j0 + TILE;

        for (int64_t i0 = 0; i0 < nr; i0 += TILE) {
            const int64_t i1 = nr - i0 < TILE ? nr : i0 + TILE;

            for (int64_t j = j0; j < j1; j += 2) {
                for (int64_t i = i0; i < i1; i += 2) {
                    const double *dir = a + (r0 + i) * lda + c0 + j;
                    const double *tr = a + (c0 + j) * lda + r0 + i;
                    double *d = t + i * nc + j;
                    __m128d q[2];

                    if (j + 2 > j1 || i + 2 > i1) {
                        const int64_t bi = i1 - i < 2 ? i1 - i : 2;
                        const int64_t bj = j1 - j < 2 ? j1 - j : 2;

                        for (int64_t u = 0; u < bi; u++)
                            for (int64_t v = 0; v < bj; v++) {
                                double e = 0.0;

                                if (wt != 0.0)
                                    e = wt * tr[v * lda + u];
                                if (wd != 0.0)
                                    e = e + wd * dir[u * lda + v];
                                d[u * nc + v] = add ? d[u * nc + v] + e : e;
                            }
                        continue;
                    }
                    if (wt != 0.0) {
                        const __m128d x0 = _mm_loadu_pd(tr);
                        const __m128d x1 = _mm_loadu_pd(tr + lda);

                        q[0] = _mm_mul_pd(vt, _mm_unpacklo_pd(x0, x1));
                        q[1] = _mm_mul_pd(vt, _mm_unpackhi_pd(x0, x1));
                    } else {
                        q[0] = q[1] = _mm_setzero_pd();
                    }
                    for (int u = 0; u < 2; u++) {
                        if (wd != 0.0)
                            q[u] = _mm_add_pd(
                                q[u],
                                _mm_mul_pd(vd, _mm_loadu_pd(dir + u * lda)));
                        if (add)
                            q[u] = _mm_add_pd(_mm_loadu_pd(d + u * nc), q[u]);
                        _mm_storeu_pd(d + u * nc, q[u]);
                    }
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
        if (x->dtype == PAL_F32 && dtype == PAL_F32)
            form_ss(t, nr, nc, x->a, x->lda, r0, c0, wd, wt, add);
        else if (x->dtype == PAL_F32)
            form_sd(t, nr, nc, x->a, x->lda, r0, c0, wd, wt, add);
        else if (dtype == PAL_F32)
            form_ds(t, nr, nc, x->a, x->lda, r0, c0, wd, wt, add);
        else
            form_dd(t, nr, nc, x->a, x->lda, r0, c0, wd, wt, add);
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
    if (pl->nt > 1 && n * n >= PANEL_PAR_MIN)
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
