/*
 * The dense products libpal needs, through BLIS's typed expert API so
 * that every call carries the context's thread count (no global BLIS
 * setting is changed) and general row and column strides.
 */
#include <blis.h>

#include "internal.h"

/*
 * Debian 12's BLIS (0.9) sgemm, with beta != 0 and a row-major C (column
 * stride 1) of 2 or 3 (mod 4) columns, reads up to 8 bytes past the end
 * of a row of C: past the last row, beyond the caller's array (a crash
 * when it ends at an unmapped page). Such calls leave the last row of C
 * to last_row_f32, which forms it here, in double.
 */
static bool overreads(pal_dtype_t dtype, double beta, int64_t csc,
                      int64_t n)
{
    return dtype == PAL_F32 && beta != 0.0 && csc == 1 && n % 4 >= 2;
}

/*
 * c_t = beta c_t + alpha sum_p x[t, p] y[p] for t < len, in double: one
 * row or one column of a product that BLIS's sgemm must not form (see
 * overreads and one_col). x[t, p] is at x + t * sxt + p * sxp, y[p] at
 * y + p * syp, c_t at c + t * sc. The outputs go by chunks, so that x is
 * read along t. beta = 0 writes c without reading it, as BLAS does.
 */
static void slab_f32(int64_t len, int64_t k, double alpha, const float *x,
                     int64_t sxt, int64_t sxp, const float *y, int64_t syp,
                     double beta, float *c, int64_t sc)
{
    enum { CH = 128 };
    double acc[CH];

    for (int64_t t0 = 0; t0 < len; t0 += CH) {
        const int64_t w = len - t0 < CH ? len - t0 : CH;

        for (int64_t t = 0; t < w; t++)
            acc[t] = 0.0;
        for (int64_t p = 0; p < k; p++) {
            const double yp = (double)y[p * syp];
            const float *xp = x + t0 * sxt + p * sxp;

            for (int64_t t = 0; t < w; t++)
                acc[t] += (double)xp[t * sxt] * yp;
        }
        for (int64_t t = 0; t < w; t++) {
            float *ct = c + (t0 + t) * sc;

            *ct = (float)(beta == 0.0 ? alpha * acc[t]
                                      : beta * (double)*ct + alpha * acc[t]);
        }
    }
}

/* c = alpha a B + beta c for one row: a has k entries (stride sa), B is
 * k x n (strides rsb, csb), c has n entries. */
static void last_row_f32(int64_t n, int64_t k, double alpha, const float *a,
                         int64_t sa, const float *b, int64_t rsb,
                         int64_t csb, double beta, float *c)
{
    slab_f32(n, k, alpha, b, csb, rsb, a, sa, beta, c, 1);
}

/*
 * The same sgemm, for a single column of B and C (n = 1) and 16 rows or
 * more, reads past the end of B's column. Such products are formed by
 * slab_f32 too.
 */
static void one_col_f32(int64_t m, int64_t k, double alpha, const float *a,
                        int64_t rsa, int64_t csa, const float *b, int64_t rsb,
                        double beta, float *c, int64_t rsc)
{
    slab_f32(m, k, alpha, a, rsa, csa, b, rsb, beta, c, rsc);
}

static void gemm_rntm(rntm_t *rntm, pal_dtype_t dtype, int64_t m, int64_t n,
                      int64_t k, double alpha, const void *a, int64_t rsa,
                      int64_t csa, const void *b, int64_t rsb, int64_t csb,
                      double beta, void *c, int64_t rsc, int64_t csc)
{
    if (dtype == PAL_F32 && n == 1) {
        one_col_f32(m, k, alpha, a, rsa, csa, b, rsb, beta, c, rsc);
        return;
    }
    if (m > 0 && overreads(dtype, beta, csc, n)) {
        last_row_f32(n, k, alpha, (const float *)a + (m - 1) * rsa, csa, b,
                     rsb, csb, beta, (float *)c + (m - 1) * rsc);
        if (--m == 0 || k == 0)
            return;
    }
    if (dtype == PAL_F32) {
        float al = (float)alpha, be = (float)beta;

        bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &al,
                     (float *)a, rsa, csa, (float *)b, rsb, csb, &be,
                     (float *)c, rsc, csc, NULL, rntm);
    } else {
        bli_dgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
                     (double *)a, rsa, csa, (double *)b, rsb, csb, &beta,
                     (double *)c, rsc, csc, NULL, rntm);
    }
}

void pal__gemm(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t m,
               int64_t n, int64_t k, double alpha, const void *a,
               int64_t rsa, int64_t csa, const void *b, int64_t rsb,
               int64_t csb, double beta, void *c, int64_t rsc, int64_t csc)
{
    rntm_t rntm;

    pal__ctx_rntm(ctx, &rntm);
    gemm_rntm(&rntm, dtype, m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c,
              rsc, csc);
}

void pal__gemm_serial(pal_dtype_t dtype, int64_t m, int64_t n, int64_t k,
                      double alpha, const void *a, int64_t rsa, int64_t csa,
                      const void *b, int64_t rsb, int64_t csb, double beta,
                      void *c, int64_t rsc, int64_t csc)
{
    rntm_t rntm;

    bli_rntm_init(&rntm);
    bli_rntm_set_num_threads(1, &rntm);
    gemm_rntm(&rntm, dtype, m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c,
              rsc, csc);
}

void pal__syrk_lower(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                     int64_t k, double alpha, const void *a, int64_t rsa,
                     int64_t csa, double beta, void *c, int64_t ldc)
{
    rntm_t rntm;

    pal__ctx_rntm(ctx, &rntm);
    if (dtype == PAL_F32) {
        float al = (float)alpha, be = (float)beta;

        bli_ssyrk_ex(BLIS_LOWER, BLIS_NO_TRANSPOSE, n, k, &al, (float *)a,
                     rsa, csa, &be, (float *)c, ldc, 1, NULL, &rntm);
    } else {
        bli_dsyrk_ex(BLIS_LOWER, BLIS_NO_TRANSPOSE, n, k, &alpha,
                     (double *)a, rsa, csa, &beta, (double *)c, ldc, 1, NULL,
                     &rntm);
    }
}

void pal__symm_lower(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t m,
                     int64_t n, double alpha, const void *a, int64_t lda,
                     const void *b, int64_t ldb, double beta, void *c,
                     int64_t ldc)
{
    rntm_t rntm;
    bool split = m > 0 && overreads(dtype, beta, 1, n);

    pal__ctx_rntm(ctx, &rntm);
    /* See overreads: the last row of C from the last row of A (the lower
     * triangle holds it whole), and the rest from the leading m - 1 rows
     * and columns plus the last column of A, A[m-1][i] for row i. */
    if (split) {
        last_row_f32(n, m, alpha, (const float *)a + (m - 1) * lda, 1, b,
                     ldb, 1, beta, (float *)c + (m - 1) * ldc);
        m--;
    }
    if (m > 0 && dtype == PAL_F32) {
        float al = (float)alpha, be = (float)beta;

        bli_ssymm_ex(BLIS_LEFT, BLIS_LOWER, BLIS_NO_CONJUGATE,
                     BLIS_NO_TRANSPOSE, m, n, &al, (float *)a, lda, 1,
                     (float *)b, ldb, 1, &be, (float *)c, ldc, 1, NULL,
                     &rntm);
    } else if (m > 0) {
        bli_dsymm_ex(BLIS_LEFT, BLIS_LOWER, BLIS_NO_CONJUGATE,
                     BLIS_NO_TRANSPOSE, m, n, &alpha, (double *)a, lda, 1,
                     (double *)b, ldb, 1, &beta, (double *)c, ldc, 1, NULL,
                     &rntm);
    }
    if (split) {
        const float *al = (const float *)a + m * lda;
        const float *bl = (const float *)b + m * ldb;

        for (int64_t i = 0; i < m; i++) {
            float *ci = (float *)c + i * ldc;
            const double f = alpha * (double)al[i];

            for (int64_t j = 0; j < n; j++)
                ci[j] = (float)((double)ci[j] + f * (double)bl[j]);
        }
    }
}

void pal__syrk(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
               int64_t k, double alpha, const void *a, int64_t rsa,
               int64_t csa, double beta, void *c, int64_t ldc)
{
    pal__syrk_lower(ctx, dtype, n, k, alpha, a, rsa, csa, beta, c, ldc);
    /* Mirror the lower triangle so callers see a full symmetric matrix. */
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = i + 1; j < n; j++) {
            if (dtype == PAL_F32)
                ((float *)c)[i * ldc + j] = ((float *)c)[j * ldc + i];
            else
                ((double *)c)[i * ldc + j] = ((double *)c)[j * ldc + i];
        }
    }
}

void pal__trsm_right_upper(const pal_ctx_t *ctx, int64_t m, int64_t n,
                           const double *r, int64_t ldr, double *b,
                           int64_t ldb)
{
    rntm_t rntm;
    double one = 1.0;

    pal__ctx_rntm(ctx, &rntm);
    bli_dtrsm_ex(BLIS_RIGHT, BLIS_UPPER, BLIS_NO_TRANSPOSE, BLIS_NONUNIT_DIAG,
                 m, n, &one, (double *)r, ldr, 1, b, ldb, 1, NULL, &rntm);
}
