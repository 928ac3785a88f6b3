/*
 * Checks and output handling shared by every loss.
 */
#include "loss_internal.h"

int pal__zarg_check(const pal_ctx_t *ctx, const pal_graph_t *g,
                    const pal__zarg_t *a)
{
    int rc = pal__check_matrix(a->dtype, a->n, a->k, a->z, a->ldz);

    if (rc != PAL_OK)
        return rc;
    if (a->dz) {
        rc = pal__check_matrix(a->dtype, a->n, a->k, a->dz, a->lddz);
        if (rc != PAL_OK)
            return rc;
    }
    if (g && g->n != a->n)
        return PAL_E_SHAPE;
    if (a->dz &&
        pal__overlap(a->z, pal__matrix_extent(a->dtype, a->n, a->k, a->ldz),
                     a->dz,
                     pal__matrix_extent(a->dtype, a->n, a->k, a->lddz)))
        return PAL_E_ALIAS;
    if ((pal_ctx_checks(ctx) & PAL_CHECK_FINITE) &&
        !pal__matrix_finite(a->dtype, a->n, a->k, a->z, a->ldz))
        return PAL_E_NONFINITE;
    return PAL_OK;
}

void pal__grad_layout(const pal_ctx_t *ctx, const pal__zarg_t *a,
                      pal__ws_t *ws, pal__grad_t *g)
{
    g->staged = (pal_ctx_checks(ctx) & PAL_CHECK_FINITE) != 0;
    if (g->staged) {
        g->p = pal__ws_take(ws, (size_t)a->n * (size_t)a->k * a->elem);
        g->ld = a->k;
    } else {
        g->p = a->dz;
        g->ld = a->lddz;
    }
}

int pal__grad_finish(const pal__zarg_t *a, const pal__grad_t *g)
{
    if (!g->staged)
        return PAL_OK;
    if (!pal__matrix_finite(a->dtype, a->n, a->k, g->p, g->ld))
        return PAL_E_OVERFLOW;
    for (int64_t i = 0; i < a->n; i++)
        memcpy((char *)a->dz + pal__row(a, i, a->lddz),
               (const char *)g->p + pal__row(a, i, g->ld),
               (size_t)a->k * a->elem);
    return PAL_OK;
}

int pal__value_check(double value, const pal__zarg_t *a,
                     const pal_graph_t *g)
{
    if (value - value == 0.0)
        return PAL_OK;
    if (!pal__matrix_finite(a->dtype, a->n, a->k, a->z, a->ldz) ||
        (g && !pal__graph_finite(g)))
        return PAL_E_NONFINITE;
    return PAL_E_OVERFLOW;
}
