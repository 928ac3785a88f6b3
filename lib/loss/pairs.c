/*
 * The pairwise minibatch form (the paper's eqs. 9-10):
 *
 *   L = sum_{(i,j,g) in I} g ||z_i - z_j||^2 + sum_{(i,j) in J} R(z_i, z_j)
 *   R(a, b) = (a . b)^2 - ||a||^2 - ||b||^2
 *
 * dR/da = 2 (a . b) b - 2 a and symmetrically for b; a pair (i, i)
 * receives both halves. Cost O((|I| + |J|) k).
 */
#include "loss_internal.h"

/* Rows are read and written through pal__at / pal__set, which keeps one
 * source for both element types; the batch is small next to n. */
static double row_dot(const pal__zarg_t *a, int64_t i, int64_t j)
{
    double acc = 0.0;

    for (int64_t c = 0; c < a->k; c++)
        acc += pal__at(a->dtype, a->z, a->ldz, i, c) *
               pal__at(a->dtype, a->z, a->ldz, j, c);
    return acc;
}

/* ||z_i - z_j||^2, from the differences (no cancellation). */
static double row_dist2(const pal__zarg_t *a, int64_t i, int64_t j)
{
    double acc = 0.0;

    for (int64_t c = 0; c < a->k; c++) {
        double e = pal__at(a->dtype, a->z, a->ldz, i, c) -
                   pal__at(a->dtype, a->z, a->ldz, j, c);

        acc += e * e;
    }
    return acc;
}

/* dz_i += s * z_j. */
static void row_add(const pal__zarg_t *a, void *dz, int64_t ld, int64_t i,
                    double s, int64_t j)
{
    for (int64_t c = 0; c < a->k; c++)
        pal__set(a->dtype, dz, ld, i, c,
                 pal__at(a->dtype, dz, ld, i, c) +
                     s * pal__at(a->dtype, a->z, a->ldz, j, c));
}

static int pairs(pal_ctx_t *ctx, const pal_batch_t *batch, pal__zarg_t *a,
                 double *loss)
{
    const int64_t *pi, *pj, *ri, *rj;
    const double *pg;
    int64_t np, nr;
    const int nt = pal__ctx_nthreads(ctx);
    pal__ws_t ws = {NULL, 0};
    pal__grad_t grad = {NULL, 0, false};
    double value = 0.0;
    int rc;

    if ((rc = pal__zarg_check(ctx, NULL, a)) != PAL_OK)
        return rc;
    pal_batch_pairs(batch, &pi, &pj, &pg, &np);
    pal_batch_regs(batch, &ri, &rj, &nr);
    if (np == 0 && nr == 0)
        return PAL_E_EMPTY;
    for (int64_t p = 0; p < np; p++)
        if (pi[p] >= a->n || pj[p] >= a->n)
            return PAL_E_INDEX;
    for (int64_t p = 0; p < nr; p++)
        if (ri[p] >= a->n || rj[p] >= a->n)
            return PAL_E_INDEX;

    for (int64_t p = 0; p < np; p++)
        value += pg[p] * row_dist2(a, pi[p], pj[p]);
    for (int64_t p = 0; p < nr; p++) {
        double ab = row_dot(a, ri[p], rj[p]);

        value += ab * ab - row_dot(a, ri[p], ri[p]) -
                 row_dot(a, rj[p], rj[p]);
    }
    if ((rc = pal__value_check(value, a, NULL)) != PAL_OK)
        return rc;
    if (!a->dz) {
        *loss = value;
        return PAL_OK;
    }

    pal__grad_layout(ctx, a, &ws, &grad);
    if (grad.staged) {
        if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
            return rc;
        pal__grad_layout(ctx, a, &ws, &grad);
    }
    pal__mat_axpby(a->dtype, nt, a->n, a->k, 0.0, NULL, 0, 0.0, grad.p,
                   grad.ld);
    for (int64_t p = 0; p < np; p++) {
        /* d/dz_i g ||z_i - z_j||^2 = 2 g (z_i - z_j), opposite for z_j. */
        double s = 2.0 * pg[p];

        row_add(a, grad.p, grad.ld, pi[p], s, pi[p]);
        row_add(a, grad.p, grad.ld, pi[p], -s, pj[p]);
        row_add(a, grad.p, grad.ld, pj[p], s, pj[p]);
        row_add(a, grad.p, grad.ld, pj[p], -s, pi[p]);
    }
    for (int64_t p = 0; p < nr; p++) {
        double ab2 = 2.0 * row_dot(a, ri[p], rj[p]);

        row_add(a, grad.p, grad.ld, ri[p], ab2, rj[p]);
        row_add(a, grad.p, grad.ld, ri[p], -2.0, ri[p]);
        row_add(a, grad.p, grad.ld, rj[p], ab2, ri[p]);
        row_add(a, grad.p, grad.ld, rj[p], -2.0, rj[p]);
    }
    if ((rc = pal__grad_finish(a, &grad)) != PAL_OK)
        return rc;
    if (loss)
        *loss = value;
    return PAL_OK;
}

int pal_loss_pairs(pal_ctx_t *ctx, const pal_batch_t *batch,
                   pal_dtype_t dtype, int64_t n, int64_t k, const void *z,
                   int64_t ldz, double *loss)
{
    pal__zarg_t a = {dtype, n, k, z, ldz, NULL, 0, pal_dtype_size(dtype)};

    if (!ctx || !batch || !loss)
        return PAL_E_NULL;
    return pairs(ctx, batch, &a, loss);
}

int pal_grad_pairs(pal_ctx_t *ctx, const pal_batch_t *batch,
                   pal_dtype_t dtype, int64_t n, int64_t k, const void *z,
                   int64_t ldz, double *loss, void *dz, int64_t lddz)
{
    pal__zarg_t a = {dtype, n, k, z, ldz, dz, lddz, pal_dtype_size(dtype)};

    if (!ctx || !batch || !dz)
        return PAL_E_NULL;
    return pairs(ctx, batch, &a, loss);
}
