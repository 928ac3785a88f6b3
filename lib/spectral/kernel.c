/*
 * The Gaussian kernel matrix, K_ij = exp(-||x_i - x_j||^2 / (2 h^2)),
 * for the kernel problems of the closed form (the paper's Fig. 3).
 *
 * Squared distances are ||x_i||^2 + ||x_j||^2 - 2 x_i . x_j on the
 * column-centred points, in float64, with the Gram matrix from BLIS in
 * blocks of rows of its lower triangle; each entry is formed once and
 * written to both triangles, so K is exactly symmetric.
 */
#include <math.h>

#include "spectral_internal.h"

enum { KBLOCK = 256 };  /* rows of the Gram matrix formed at a time */

typedef struct kern_ws {
    double *xc;   /* n x d: the centred points */
    double *sq;   /* n: their squared norms */
    double *blk;  /* KBLOCK x n: rows of the Gram matrix */
} kern_ws_t;

static void kern_layout(int64_t n, int64_t d, pal__ws_t *ws, kern_ws_t *w)
{
    const int64_t rows = n < KBLOCK ? n : KBLOCK;

    w->xc = pal__ws_take(ws, (size_t)n * (size_t)d * sizeof(double));
    w->sq = pal__ws_take(ws, (size_t)n * sizeof(double));
    w->blk = pal__ws_take(ws, (size_t)rows * (size_t)n * sizeof(double));
}

int pal_kernel_gaussian(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                        int64_t d, const void *x, int64_t ldx,
                        double bandwidth, void *k_out, int64_t ldk)
{
    pal__ws_t ws = {NULL, 0};
    kern_ws_t w;
    size_t nd;
    double g, amax = 0.0, scale = 1.0;
    int rc;

    if (!ctx)
        return PAL_E_NULL;
    if ((rc = pal__check_matrix(dtype, n, d, x, ldx)) != PAL_OK ||
        (rc = pal__check_matrix(dtype, n, n, k_out, ldk)) != PAL_OK)
        return rc;
    if (!(bandwidth > 0.0) || bandwidth - bandwidth != 0.0)
        return PAL_E_RANGE;
    if (!pal__mul_size((size_t)n, (size_t)d, &nd) || nd > SIZE_MAX / 32 ||
        (size_t)n > SIZE_MAX / 32 / KBLOCK)
        return PAL_E_SIZE;
    if (!pal__matrix_finite(dtype, n, d, x, ldx))
        return PAL_E_NONFINITE;
    kern_layout(n, d, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    kern_layout(n, d, &ws, &w);

    /* Scale by a power of two that brings the largest coordinate into
     * [0.5, 1): exact, and squared distances cannot overflow however
     * large the points; the bandwidth takes the same scale. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < d; c++)
            amax = fmax(amax, fabs(pal__sp_get(
                                  dtype, x, (size_t)i * (size_t)ldx + (size_t)c)));
    if (amax > 0.0) {
        int e;

        (void)frexp(amax, &e);
        scale = ldexp(1.0, -e);
    }

    /* Centre the columns: distances do not change, cancellation does. */
    for (int64_t c = 0; c < d; c++) {
        double mean = 0.0;

        for (int64_t i = 0; i < n; i++)
            mean += scale * pal__sp_get(dtype, x,
                                        (size_t)i * (size_t)ldx + (size_t)c);
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++)
            w.xc[i * d + c] =
                scale * pal__sp_get(dtype, x,
                                    (size_t)i * (size_t)ldx + (size_t)c) -
                mean;
    }
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;

        for (int64_t c = 0; c < d; c++)
            s += w.xc[i * d + c] * w.xc[i * d + c];
        w.sq[i] = s;
    }

    /* A scaled bandwidth that underflows makes g infinite: every
     * off-diagonal entry of distinct points is then exp(-inf) = 0. */
    g = 0.5 / ((bandwidth * scale) * (bandwidth * scale));
    for (int64_t i0 = 0; i0 < n; i0 += KBLOCK) {
        const int64_t i1 = n - i0 < KBLOCK ? n : i0 + KBLOCK;

        /* Rows i0..i1 of X X^T, columns 0..i1 (the lower triangle). */
        pal__gemm(ctx, PAL_F64, i1 - i0, i1, d, 1.0, w.xc + i0 * d, d, 1,
                  w.xc, 1, d, 0.0, w.blk, n, 1);
        for (int64_t i = i0; i < i1; i++) {
            const double *gi = w.blk + (i - i0) * n;

            for (int64_t j = 0; j <= i; j++) {
                double d2 = w.sq[i] + w.sq[j] - 2.0 * gi[j];
                double v = i == j || !(d2 > 0.0) ? 1.0 : exp(-g * d2);

                pal__sp_put(dtype, k_out, (size_t)i * (size_t)ldk + (size_t)j,
                            v);
                pal__sp_put(dtype, k_out, (size_t)j * (size_t)ldk + (size_t)i,
                            v);
            }
        }
    }
    return PAL_OK;
}
