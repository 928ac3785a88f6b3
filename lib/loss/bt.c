/*
 * BarlowTwins on a graph (Theorem 1). Columns are centred (optionally) and
 * normalised, C = Zt^T G Zt, and
 *
 *   L = sum_k (C_kk - 1)^2 + lambda sum_{k != l} C_kl^2
 *   dL/dZt = G Zt B^T + G^T Zt B,   B = 2 W o (C - I)
 *
 * then back through the normalisation and the centring. One graph product
 * serves the value and the gradient; a non-symmetric G needs G^T Zt too,
 * whose dense terms are transposed in blocks (graph/panels.c) instead of
 * going through BLIS's slower transposed operand.
 */
#include "loss_internal.h"

void pal_bt_opts_init(pal_bt_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->lambda = 1.0;
}

typedef struct bt_ws {
    double *mu, *norm, *scale, *tmp;  /* k each */
    void *zt;        /* normalised columns, n x k */
    void *h, *ht;    /* G Zt and, if G is not symmetric, G^T Zt */
    void *c, *b;     /* k x k */
    double *cd, *bd; /* k x k, in double */
    double *s, *ms, *mts, *t;  /* class space: nc x k each */
    void *mul;
    void *pw;        /* blocks of G^T (non-symmetric dense G) */
    pal__panel_t pl;
    pal__grad_t grad;
} bt_ws_t;

/* The graph's only term, when it is a block term (labels, SSL views,
 * classes with a weight matrix): then G Zt = w Y W S with S = Y^T Zt the
 * class sums, C = w S^T W S and the gradient w Y (W S B^T + W^T S B),
 * all in class space: O(n k) plus O(nc k^2) instead of two n k^2 products. */
static const pal__term_t *single_block(const pal_graph_t *g)
{
    return g->nterms == 1 && g->terms[0].kind == PAL__BLOCK ? &g->terms[0]
                                                            : NULL;
}

static void bt_layout(const pal_ctx_t *ctx, const pal_graph_t *g,
                      const pal__zarg_t *a, bool sym, pal__ws_t *ws,
                      bt_ws_t *w)
{
    const size_t nk = (size_t)a->n * (size_t)a->k * a->elem;
    const size_t kk = (size_t)a->k * (size_t)a->k * a->elem;
    const size_t kd = (size_t)a->k * sizeof(double);

    w->mu = pal__ws_take(ws, kd);
    w->norm = pal__ws_take(ws, kd);
    w->scale = pal__ws_take(ws, kd);
    w->tmp = pal__ws_take(ws, kd);
    const pal__term_t *blk = single_block(g);
    const size_t ck = blk ? (size_t)blk->nc * (size_t)a->k * sizeof(double)
                          : 0;

    w->zt = pal__ws_take(ws, nk);
    w->h = blk ? NULL : pal__ws_take(ws, nk);
    w->ht = blk || sym || !a->dz ? NULL : pal__ws_take(ws, nk);
    w->c = pal__ws_take(ws, kk);
    w->b = pal__ws_take(ws, kk);
    w->cd = pal__ws_take(ws, (size_t)a->k * (size_t)a->k * sizeof(double));
    w->bd = pal__ws_take(ws, (size_t)a->k * (size_t)a->k * sizeof(double));
    w->s = blk ? pal__ws_take(ws, ck) : NULL;
    w->ms = blk ? pal__ws_take(ws, ck) : NULL;
    w->mts = blk && !sym ? pal__ws_take(ws, ck) : NULL;
    w->t = blk ? pal__ws_take(ws, ck) : NULL;
    w->mul = pal__ws_take(ws, pal__graph_mul_ws(g, a->dtype, a->k));
    if (a->dz)
        pal__grad_layout(ctx, a, ws, &w->grad);
    w->pw = NULL;
    /* (Not w->ht, which is NULL while the layout is measured.) */
    if (!blk && !sym && a->dz && pal__graph_has_dense(g)) {
        /* The blocks take what the limit leaves, up to their default. */
        const size_t lim = pal__ctx_limit(ctx);
        const size_t at = (ws->used + 63u) & ~(size_t)63u;

        pal__panel_plan(a->n, a->dtype, pal__ctx_nthreads(ctx),
                        lim > at ? lim - at : 0, &w->pl);
        w->pw = pal__ws_take(ws, pal__panel_ws(&w->pl, a->dtype));
    }
}

static int bt(pal_ctx_t *ctx, const pal_graph_t *g, pal__zarg_t *a,
              const pal_bt_opts_t *user, double *loss)
{
    const int64_t n = a->n, k = a->k;
    const int nt = pal__ctx_nthreads(ctx);
    pal_bt_opts_t o;
    pal__ws_t ws = {NULL, 0};
    bt_ws_t w;
    const pal__term_t *blk;
    bool sym;
    double value = 0.0;
    int rc;

    pal_bt_opts_init(&o);
    if (user && (rc = pal__read_opts(&o, sizeof o, user)) != PAL_OK)
        return rc;
    if (!(o.lambda >= 0.0 && o.lambda < INFINITY) ||
        (o.center != 0 && o.center != 1) ||
        !(o.eps >= 0.0 && o.eps < INFINITY))
        return PAL_E_RANGE;
    if ((rc = pal__zarg_check(ctx, g, a)) != PAL_OK)
        return rc;
    if (!pal__graph_nonzero(g))
        return PAL_E_EMPTY;

    sym = pal__graph_symmetric(g);
    bt_layout(ctx, g, a, sym, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    bt_layout(ctx, g, a, sym, &ws, &w);

    /* Centre (into zt, so that the variance has no cancellation), then
     * measure and normalise the columns. */
    for (int64_t j = 0; j < k; j++)
        w.scale[j] = 1.0;
    if (o.center) {
        pal__col_sums(a->dtype, nt, n, k, a->z, a->ldz, w.mu);
        for (int64_t j = 0; j < k; j++)
            w.mu[j] /= (double)n;
    }
    pal__col_affine(a->dtype, nt, n, k, a->z, a->ldz, o.center ? w.mu : NULL,
                    w.scale, w.zt, k);
    pal__norms(a->dtype, nt, n, k, w.zt, k, true, w.norm);
    for (int64_t j = 0; j < k; j++) {
        if (w.norm[j] == 0.0 && o.eps == 0.0)
            return PAL_E_ZERO_NORM;
        w.scale[j] = 1.0 / (w.norm[j] > o.eps ? w.norm[j] : o.eps);
    }
    pal__col_affine(a->dtype, nt, n, k, w.zt, k, NULL, w.scale, w.zt, k);

    /* C = Zt^T (G Zt): in class space for a block term, else through the
     * product H = G Zt. */
    blk = single_block(g);
    if (blk) {
        pal__block_sums(blk, n, a->dtype, k, w.zt, k, w.s, nt);
        pal__block_mix(blk, 0, k, w.s, w.ms);
        pal__gemm(ctx, PAL_F64, k, k, blk->nc, blk->w, w.s, 1, k, w.ms, k,
                  1, 0.0, w.cd, k, 1);
    } else {
        pal__graph_mul(ctx, g, 0, a->dtype, k, w.zt, k, w.h, k, w.mul);
        pal__gemm(ctx, a->dtype, k, k, n, 1.0, w.zt, 1, k, w.h, k, 1, 0.0,
                  w.c, k, 1);
        for (int64_t i = 0; i < k * k; i++)
            w.cd[i] = pal__at(a->dtype, w.c, k, 0, i);
    }
    for (int64_t i = 0; i < k; i++) {
        for (int64_t j = 0; j < k; j++) {
            double c = w.cd[i * k + j];

            if (i == j)
                value += (c - 1.0) * (c - 1.0);
            else
                value += o.lambda * c * c;
            /* B = 2 W o (C - I), kept for the gradient. */
            w.bd[i * k + j] = i == j ? 2.0 * (c - 1.0) : 2.0 * o.lambda * c;
        }
    }
    if ((rc = pal__value_check(value, a, g)) != PAL_OK)
        return rc;
    if (!a->dz) {
        *loss = value;
        return PAL_OK;
    }

    /* dL/dZt = H B^T + G^T Zt B; for a symmetric G, H (B + B^T). */
    if (sym) {
        for (int64_t i = 0; i < k; i++) {
            for (int64_t j = 0; j < i; j++) {
                double v = w.bd[i * k + j] + w.bd[j * k + i];

                w.bd[i * k + j] = w.bd[j * k + i] = v;
            }
            w.bd[i * k + i] *= 2.0;
        }
    }
    if (blk) {
        /* T = W S B^T + W^T S B (or W S (B + B^T)); row i of the
         * gradient is w T[y_i]. */
        pal__gemm(ctx, PAL_F64, blk->nc, k, k, 1.0, w.ms, k, 1, w.bd,
                  sym ? k : 1, sym ? 1 : k, 0.0, w.t, k, 1);
        if (!sym) {
            pal__block_mix(blk, 1, k, w.s, w.mts);
            pal__gemm(ctx, PAL_F64, blk->nc, k, k, 1.0, w.mts, k, 1, w.bd,
                      k, 1, 1.0, w.t, k, 1);
        }
        pal__block_scatter(blk, n, a->dtype, k, w.t, blk->w, w.grad.p,
                           w.grad.ld, nt);
    } else {
        for (int64_t i = 0; i < k * k; i++)
            pal__set(a->dtype, w.b, k, 0, i, w.bd[i]);
        if (sym) {
            pal__gemm(ctx, a->dtype, n, k, k, 1.0, w.h, k, 1, w.b, k, 1, 0.0,
                      w.grad.p, w.grad.ld, 1);
        } else {
            if (w.pw)
                pal__graph_mul_panels(g, PAL__PANEL_TRANS, &w.pl, a->dtype,
                                      k, w.zt, k, w.ht, k, w.pw, w.mul);
            else
                pal__graph_mul(ctx, g, 1, a->dtype, k, w.zt, k, w.ht, k,
                               w.mul);
            pal__gemm(ctx, a->dtype, n, k, k, 1.0, w.h, k, 1, w.b, 1, k, 0.0,
                      w.grad.p, w.grad.ld, 1);
            pal__gemm(ctx, a->dtype, n, k, k, 1.0, w.ht, k, 1, w.b, k, 1,
                      1.0, w.grad.p, w.grad.ld, 1);
        }
    }

    /* Back through the normalisation, then the centring (the gradient
     * of a centred column loses its mean). */
    pal__unnormalise(a->dtype, nt, n, k, true, w.zt, k, w.norm, o.eps,
                     w.grad.p, w.grad.ld, w.tmp);
    if (o.center) {
        pal__col_sums(a->dtype, nt, n, k, w.grad.p, w.grad.ld, w.mu);
        for (int64_t j = 0; j < k; j++) {
            w.mu[j] /= (double)n;
            w.scale[j] = 1.0;
        }
        pal__col_affine(a->dtype, nt, n, k, w.grad.p, w.grad.ld, w.mu, w.scale,
                        w.grad.p, w.grad.ld);
    }
    if ((rc = pal__grad_finish(a, &w.grad)) != PAL_OK)
        return rc;
    if (loss)
        *loss = value;
    return PAL_OK;
}

int pal_loss_bt(pal_ctx_t *ctx, const pal_graph_t *g, pal_dtype_t dtype,
                int64_t n, int64_t k, const void *z, int64_t ldz,
                const pal_bt_opts_t *opts, double *loss)
{
    pal__zarg_t a = {dtype, n, k, z, ldz, NULL, 0, pal_dtype_size(dtype)};

    if (!ctx || !g || !loss)
        return PAL_E_NULL;
    return bt(ctx, g, &a, opts, loss);
}

int pal_grad_bt(pal_ctx_t *ctx, const pal_graph_t *g, pal_dtype_t dtype,
                int64_t n, int64_t k, const void *z, int64_t ldz,
                const pal_bt_opts_t *opts, double *loss, void *dz,
                int64_t lddz)
{
    pal__zarg_t a = {dtype, n, k, z, ldz, dz, lddz, pal_dtype_size(dtype)};

    if (!ctx || !g || !dz)
        return PAL_E_NULL;
    return bt(ctx, g, &a, opts, loss);
}
