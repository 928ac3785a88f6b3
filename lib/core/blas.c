/*
 * The dense products libpal needs, through BLIS's typed expert API so
 * that every call carries the context's thread count (no global BLIS
 * setting is changed) and general row and column strides.
 */
#include <blis.h>

#include "internal.h"

void pal__gemm(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t m,
               int64_t n, int64_t k, double alpha, const void *a,
               int64_t rsa, int64_t csa, const void *b, int64_t rsb,
               int64_t csb, double beta, void *c, int64_t rsc, int64_t csc)
{
    rntm_t rntm;

    pal__ctx_rntm(ctx, &rntm);
    if (dtype == PAL_F32) {
        float al = (float)alpha, be = (float)beta;

        bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &al,
                     (float *)a, rsa, csa, (float *)b, rsb, csb, &be,
                     (float *)c, rsc, csc, NULL, &rntm);
    } else {
        bli_dgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
                     (double *)a, rsa, csa, (double *)b, rsb, csb, &beta,
                     (double *)c, rsc, csc, NULL, &rntm);
    }
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

    pal__ctx_rntm(ctx, &rntm);
    if (dtype == PAL_F32) {
        float al = (float)alpha, be = (float)beta;

        bli_ssymm_ex(BLIS_LEFT, BLIS_LOWER, BLIS_NO_CONJUGATE,
                     BLIS_NO_TRANSPOSE, m, n, &al, (float *)a, lda, 1,
                     (float *)b, ldb, 1, &be, (float *)c, ldc, 1, NULL,
                     &rntm);
    } else {
        bli_dsymm_ex(BLIS_LEFT, BLIS_LOWER, BLIS_NO_CONJUGATE,
                     BLIS_NO_TRANSPOSE, m, n, &alpha, (double *)a, lda, 1,
                     (double *)b, ldb, 1, &beta, (double *)c, ldc, 1, NULL,
                     &rntm);
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
