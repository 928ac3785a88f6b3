/*
 * VIC^2, the spectral contrastive loss on a graph (Theorem 1 of the paper):
 *
 *   L = ||Z^T Z||_F^2 - 2 <Z, G Z> + ||G||_F^2
 *   dL/dZ = 4 Z (Z^T Z) - 2 (G + G^T) Z
 *
 * Z Z^T is never formed: one k x k Gram matrix, one graph product, and
 * O(n k) elementwise work. For a non-symmetric G the value and the
 * gradient both need only the symmetric part: <Z, G Z> = <Z, S Z> / 2
 * with S = G + G^T, so the one product is S Z, its dense terms formed in
 * blocks (graph/panels.c).
 */
#include "loss_internal.h"

void pal_vic2_opts_init(pal_vic2_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

typedef struct vic2_ws {
    void *m;        /* k x k Gram matrix Z^T Z */
    void *h;        /* G Z, or (G + G^T) Z for a non-symmetric G */
    double *rn;     /* squared row norms (offdiag only) */
    void *mul;      /* graph product workspace */
    void *pw;       /* blocks of G + G^T (non-symmetric dense G) */
    pal__panel_t pl;
    void *prep;     /* structured graphs: class-space sums */
    pal__grad_t grad;
} vic2_ws_t;

/* dense: the graph has dense or CSR terms, whose product is kept for the
 * gradient; a graph of class structures needs no n x k buffer. */
static void vic2_layout(const pal_ctx_t *ctx, const pal_graph_t *g,
                        const pal__zarg_t *a, bool sym, bool offdiag,
                        bool dense, pal__ws_t *ws, vic2_ws_t *w)
{
    const size_t nk = (size_t)a->n * (size_t)a->k * a->elem;

    w->m = pal__ws_take(ws, (size_t)a->k * (size_t)a->k * a->elem);
    w->h = dense ? pal__ws_take(ws, nk) : NULL;
    w->rn = offdiag ? pal__ws_take(ws, (size_t)a->n * sizeof(double)) : NULL;
    w->mul = pal__ws_take(ws, pal__graph_mul_ws_ex(g, a->dtype, a->k,
                                                   sym));
    w->prep = dense ? NULL : pal__ws_take(ws, pal__graph_prep_ws(g, a->k));
    if (a->dz)
        pal__grad_layout(ctx, a, ws, &w->grad);
    w->pw = NULL;
    w->pl.rows = w->pl.cols = 0;
    w->pl.nt = pal__ctx_nthreads(ctx);
    if (dense && !sym && pal__graph_has_dense(g)) {
        /* The blocks take what the limit leaves, up to their default. */
        const size_t lim = pal__ctx_limit(ctx);
        const size_t at = (ws->used + 63u) & ~(size_t)63u;

        pal__panel_plan(a->n, a->dtype, pal__ctx_nthreads(ctx),
                        lim > at ? lim - at : 0, &w->pl);
        w->pw = pal__ws_take(ws, pal__panel_ws(&w->pl, a->dtype));
    }
}

static int vic2(pal_ctx_t *ctx, const pal_graph_t *g, pal__zarg_t *a,
                const pal_vic2_opts_t *user, double *loss)
{
    const int nt = pal__ctx_nthreads(ctx);
    pal_vic2_opts_t o;
    pal__ws_t ws = {NULL, 0};
    vic2_ws_t w;
    bool sym, dense;
    double value, pos, offdiag_frob = 0.0;
    int rc;

    pal_vic2_opts_init(&o);
    if (user && (rc = pal__read_opts(&o, sizeof o, user)) != PAL_OK)
        return rc;
    if (o.offdiag != 0 && o.offdiag != 1)
        return PAL_E_RANGE;
    if ((rc = pal__zarg_check(ctx, g, a)) != PAL_OK)
        return rc;

    /* A zero graph only pulls Z to zero: report it instead of a loss. */
    if (o.offdiag) {
        for (int64_t i = 0; i < g->n; i++)
            offdiag_frob += g->diag[i] * g->diag[i];
        offdiag_frob = g->frob2 - offdiag_frob;
    }
    if (!pal__graph_nonzero(g) ||
        (o.offdiag && offdiag_frob <= 1e-12 * g->frob2))
        return PAL_E_EMPTY;

    sym = pal__graph_symmetric(g);
    dense = pal__graph_has_gathers(g);
    vic2_layout(ctx, g, a, sym, o.offdiag, dense, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    vic2_layout(ctx, g, a, sym, o.offdiag, dense, &ws, &w);

    /* M = Z^T Z; <Z, G Z> from the kept product G Z when G has dense or
     * CSR terms, else from the terms' structure (class sums). */
    pal__syrk(ctx, a->dtype, a->k, a->n, 1.0, a->z, 1, a->ldz, 0.0, w.m,
              a->k);
    if (dense && sym) {
        pal__graph_mul(ctx, g, 0, a->dtype, a->k, a->z, a->ldz, w.h, a->k,
                       w.mul);
        pos = pal__mat_dot(a->dtype, nt, a->n, a->k, a->z, a->ldz, w.h, a->k);
    } else if (dense) {
        pal__graph_mul_panels(g, PAL__PANEL_SYM, &w.pl, a->dtype, a->k, a->z,
                              a->ldz, w.h, a->k, w.pw, w.mul);
        pos = 0.5 * pal__mat_dot(a->dtype, nt, a->n, a->k, a->z, a->ldz, w.h,
                                 a->k);
    } else {
        pos = pal__graph_quad_prep(ctx, g, a->dtype, a->k, a->z, a->ldz,
                                   !sym, w.prep, w.mul);
    }
    value = pal__mat_dot(a->dtype, nt, a->k, a->k, w.m, a->k, w.m, a->k) -
            2.0 * pos + g->frob2;
    if (o.offdiag) {
        pal__row_norm2(a->dtype, nt, a->n, a->k, a->z, a->ldz, w.rn);
        for (int64_t i = 0; i < a->n; i++) {
            double e = w.rn[i] - g->diag[i];

            value -= e * e;
            /* The gradient's row scale, reused below. */
            w.rn[i] = -4.0 * e;
        }
    }
    if ((rc = pal__value_check(value, a, g)) != PAL_OK)
        return rc;
    if (!a->dz) {
        *loss = value;
        return PAL_OK;
    }

    /* dZ = 4 Z M - 2 (G + G^T) Z, minus 4 (||z_i||^2 - G_ii) z_i. */
    if (!dense) {
        /* -2 (G + G^T) Z, from the class sums kept for the value. */
        pal__graph_apply_prep(g, a->dtype, a->k, a->z, a->ldz,
                              sym ? -4.0 : -2.0, !sym, w.prep, w.grad.p,
                              w.grad.ld, nt);
    } else {
        pal__mat_axpby(a->dtype, nt, a->n, a->k, sym ? -4.0 : -2.0, w.h,
                       a->k, 0.0, w.grad.p, w.grad.ld);
    }
    pal__gemm(ctx, a->dtype, a->n, a->k, a->k, 4.0, a->z, a->ldz, 1, w.m,
              a->k, 1, 1.0, w.grad.p, w.grad.ld, 1);
    if (o.offdiag)
        pal__row_axpy(a->dtype, nt, a->n, a->k, w.rn, a->z, a->ldz, w.grad.p,
                      w.grad.ld);
    if ((rc = pal__grad_finish(a, &w.grad)) != PAL_OK)
        return rc;
    if (loss)
        *loss = value;
    return PAL_OK;
}

int pal_loss_vic2(pal_ctx_t *ctx, const pal_graph_t *g, pal_dtype_t dtype,
                  int64_t n, int64_t k, const void *z, int64_t ldz,
                  const pal_vic2_opts_t *opts, double *loss)
{
    pal__zarg_t a = {dtype, n, k, z, ldz, NULL, 0, pal_dtype_size(dtype)};

    if (!ctx || !g || !loss)
        return PAL_E_NULL;
    return vic2(ctx, g, &a, opts, loss);
}

int pal_grad_vic2(pal_ctx_t *ctx, const pal_graph_t *g, pal_dtype_t dtype,
                  int64_t n, int64_t k, const void *z, int64_t ldz,
                  const pal_vic2_opts_t *opts, double *loss, void *dz,
                  int64_t lddz)
{
    pal__zarg_t a = {dtype, n, k, z, ldz, dz, lddz, pal_dtype_size(dtype)};

    if (!ctx || !g || !dz)
        return PAL_E_NULL;
    return vic2(ctx, g, &a, opts, loss);
}
