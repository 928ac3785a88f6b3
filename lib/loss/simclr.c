/*
 * SimCLR on a graph, in cross-entropy form (Theorem 1).
 *
 *   zt_i = z_i / max(||z_i||, eps),  s_ij = zt_i . zt_j / tau
 *   L = - sum_i sum_{j in D_i} G_ij s_ij + sum_i d_i LSE_i
 *
 * with d_i = sum_{j in D_i} G_ij. The first sum is <Zt, G Zt> / tau (less
 * the diagonal when the self term is excluded), so the graph enters only
 * through one product. The similarities enter through the row
 * log-sum-exps and, for the gradient,
 *
 *   dL/dZt = (A + A^T) Zt / tau,  A = -G' + diag(d) P,
 *
 * where G' is G without its diagonal when the self term is excluded.
 * (A + A^T) Zt splits into the graph part -(G' + G'^T) Zt and the
 * similarity part (P' + P'^T) Zt with P' = diag(d) P.
 *
 * The n x n similarities are held whole when they fit the workspace
 * budget, as the lower triangle of one symmetric rank-k update: one pass
 * takes each exponential once and sums it into its row and its column,
 * one pass scales it in place into the lower triangle of B = P' + P'^T -
 * (G' + G'^T) (the dense terms of G folded in elementwise), and the
 * gradient is one symmetric product B Zt. Otherwise S is streamed in
 * square tiles of its lower block triangle (it is symmetric), computed
 * once for the row sums and once more for the tiles of B, each used for
 * both of its mirror products; nothing of size n x k is kept but Zt (and
 * the gradient itself).
 *
 * The exponentials are shifted by 1/tau, which bounds every s_ij (the
 * rows of Zt have norm at most 1), while exp(-2/tau) stays a normal
 * number; at smaller temperatures each row by its own maximum.
 */
#include <float.h>

#include "loss_internal.h"

/* Largest similarity matrix kept whole when the context sets no
 * workspace limit, and the largest streamed tile. */
#define WHOLE_BYTES ((size_t)256 << 20)
#define TILE_BYTES ((size_t)32 << 20)

/* Whole or streamed, the exponentials take the fixed shift 1/tau (no row
 * maxima) up to these 1/tau, so that exp(-2 / tau) stays a normal number
 * (the degrees bound the scalings c_i = d_i / sum_i; see simclr()). */
#define SHIFT_MAX_F32 30.0
#define SHIFT_MAX_F64 300.0

void pal_simclr_opts_init(pal_simclr_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->tau = 0.1;
}

typedef struct simclr_ws {
    double *r, *d, *lse, *sum, *gdiag, *pos;  /* n each */
    void *zt;                     /* normalised rows, n x k */
    void *h, *ht;                 /* whole mode: G Zt, and G^T Zt if G is
                                     not symmetric */
    void *mul;
    void *s;                      /* S whole (n x n), or one tile */
    void *colmax, *lsej, *cj;     /* streamed: per column of a tile;
                                     whole: lse and d in Z's type (lsej,
                                     cj, n each) */
    double *colacc;               /* streamed: per column of a tile */
    double *cm, *cs;              /* whole: n each */
    double *cpart;                /* whole: column sums by panels */
    void *gt;                     /* streamed: a tile's product, tb x k */
    pal__grad_t grad;
} simclr_ws_t;

/* Bytes of the column sums by panels (whole) or by chunks of a tile's
 * rows (streamed). */
static size_t cpart_size(int64_t n, int64_t tb)
{
    const int64_t rows = tb == n ? PAL__SIMCLR_PANEL : PAL__SIMCLR_TROWS;

    return (size_t)((tb + rows - 1) / rows) * (size_t)tb * sizeof(double);
}

/* tb: the side of a tile of S, n when S is held whole. */
static void simclr_layout(const pal_ctx_t *ctx, const pal_graph_t *g,
                          const pal__zarg_t *a, bool sym, int64_t tb,
                          pal__ws_t *ws, simclr_ws_t *w)
{
    const size_t nk = (size_t)a->n * (size_t)a->k * a->elem;
    const size_t nd = (size_t)a->n * sizeof(double);
    const size_t tbe = (size_t)tb * a->elem;
    const bool whole = tb == a->n;

    w->r = pal__ws_take(ws, nd);
    w->d = pal__ws_take(ws, nd);
    w->lse = pal__ws_take(ws, nd);
    w->sum = pal__ws_take(ws, nd);
    w->gdiag = pal__ws_take(ws, nd);
    w->pos = pal__ws_take(ws, nd);
    w->zt = pal__ws_take(ws, nk);
    w->h = whole ? pal__ws_take(ws, nk) : NULL;
    w->ht = whole && !sym && a->dz ? pal__ws_take(ws, nk) : NULL;
    w->mul = pal__ws_take(ws, pal__graph_mul_ws(g, a->dtype, a->k));
    if (a->dz)
        pal__grad_layout(ctx, a, ws, &w->grad);
    w->s = pal__ws_take(ws, (size_t)tb * tbe);
    w->colmax = whole ? NULL : pal__ws_take(ws, tbe);
    w->lsej = pal__ws_take(ws, (size_t)a->n * a->elem);
    w->cj = pal__ws_take(ws, (size_t)a->n * a->elem);
    w->colacc = whole ? NULL
                      : pal__ws_take(ws, (size_t)tb * sizeof(double));
    w->gt = whole ? NULL : pal__ws_take(ws, (size_t)tb * (size_t)a->k *
                                                a->elem);
    w->cm = whole ? pal__ws_take(ws, nd) : NULL;
    w->cs = whole ? pal__ws_take(ws, nd) : NULL;
    w->cpart = pal__ws_take(ws, cpart_size(a->n, tb));
}

/*
 * The side of the square tiles of S when it is streamed (n >= 2): as
 * large as the budget left by the rest of the workspace (other bytes)
 * allows, at most TILE_BYTES, at least 1, below n.
 */
static int64_t tile_side(const pal_ctx_t *ctx, const pal__zarg_t *a,
                         size_t other)
{
    size_t limit = pal__ctx_limit(ctx), budget;
    int64_t tb;

    /* Leave room for the rest of the workspace and alignment. */
    budget = limit > other + 4096 ? limit - other - 4096 : 0;
    if (budget > TILE_BYTES)
        budget = TILE_BYTES;
    /* A tile, a product block of its rows, two vectors of its side, and
     * the column sums of its chunks of rows, with room for alignment. */
    for (tb = (int64_t)sqrt((double)budget / (double)a->elem); tb > 1;
         tb--) {
        size_t need = (size_t)tb * ((size_t)tb * a->elem +
                                    (size_t)a->k * a->elem + a->elem + 8) +
                      cpart_size(a->n, tb);

        if (need + 512 <= budget)
            break;
    }
    return tb < 1 ? 1 : tb >= a->n ? a->n - 1 : tb;
}

/*
 * The dense terms of Z's type, when S is held whole: they enter the
 * elementwise passes (the positive term and B) instead of costing a
 * product each. The other terms go through the graph products.
 */
static void find_fold(const pal_graph_t *g, pal_dtype_t dtype, bool whole,
                      pal__fold_t *fold, bool *rest, bool *rest_sym)
{
    int64_t dense = 0;

    fold->n = 0;
    *rest = false;
    *rest_sym = true;
    /* All of them or none: the products skip every dense term of Z's
     * type once any is folded. */
    for (int64_t t = 0; t < g->nterms; t++)
        dense += g->terms[t].kind == PAL__DENSE && g->terms[t].dtype == dtype;
    if (dense > PAL__FOLD_MAX)
        whole = false;
    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *x = &g->terms[t];

        if (whole && x->kind == PAL__DENSE && x->dtype == dtype) {
            fold->w[fold->n] = x->w;
            fold->a[fold->n] = x->a;
            fold->lda[fold->n] = x->lda;
            fold->sym[fold->n++] = x->symmetric;
        } else {
            *rest = true;
            *rest_sym = *rest_sym && x->symmetric;
        }
    }
}

static int simclr(pal_ctx_t *ctx, const pal_graph_t *g, pal__zarg_t *a,
                  const pal_simclr_opts_t *user, double *loss)
{
    const int64_t n = a->n, k = a->k;
    const size_t elem = a->elem;
    const pal__simclr_kern_t *kern = pal__simclr_kernels();
    pal_simclr_opts_t o;
    pal__ws_t ws = {NULL, 0};
    simclr_ws_t w;
    pal__fold_t fold;
    bool skip, whole, rest, rest_sym, shifted = false;
    pal_dtype_t skip_dense;
    int64_t tb;
    double value, pos = 0.0, dsum = 0.0, itau;
    int rc, nt;

    pal_simclr_opts_init(&o);
    if (user && (rc = pal__read_opts(&o, sizeof o, user)) != PAL_OK)
        return rc;
    if (!(o.tau > 0.0 && o.tau < INFINITY) ||
        (o.include_self != 0 && o.include_self != 1) ||
        !(o.eps >= 0.0 && o.eps < INFINITY))
        return PAL_E_RANGE;
    if ((rc = pal__zarg_check(ctx, g, a)) != PAL_OK)
        return rc;
    if (!pal__graph_nonnegative(g))
        return PAL_E_NEGATIVE;
    skip = !o.include_self;
    itau = 1.0 / o.tau;
    nt = pal__ctx_nthreads(ctx);

    /* S whole when its exact layout fits the limit (without a limit,
     * when S takes at most WHOLE_BYTES); else streamed in the largest
     * tiles the rest of the workspace leaves room for. A value-only
     * call plans as the gradient call does (pa has a gradient), so that
     * both take the same mode and tiles and give the same bits. */
    {
        size_t nn, limit = pal__ctx_limit(ctx);
        pal__zarg_t pa = *a;
        char planned; /* stands for dZ in the plan; never written */

        if (!pa.dz) {
            pa.dz = &planned;
            pa.lddz = a->k;
        }
        find_fold(g, a->dtype, true, &fold, &rest, &rest_sym);
        whole = pal__mul_size((size_t)n * elem, (size_t)n, &nn) &&
                nn <= SIZE_MAX / 4;
        if (whole && limit == SIZE_MAX) {
            whole = nn <= WHOLE_BYTES;
        } else if (whole) {
            simclr_layout(ctx, g, &pa, rest_sym, n, &ws, &w);
            whole = ws.used <= limit - 64;
        }
        if (whole) {
            tb = n;
        } else {
            if (n < 2)
                return PAL_E_NOMEM;
            find_fold(g, a->dtype, false, &fold, &rest, &rest_sym);
            ws.used = 0;
            simclr_layout(ctx, g, &pa, rest_sym, 0, &ws, &w);
            tb = tile_side(ctx, &pa, ws.used);
        }
    }
    skip_dense = fold.n > 0 ? a->dtype : (pal_dtype_t)0;
    ws.used = 0;
    simclr_layout(ctx, g, a, rest_sym, tb, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    simclr_layout(ctx, g, a, rest_sym, tb, &ws, &w);

    /* Degrees over D_i; no positive anywhere means nothing to learn. The
     * diagonal of the terms left to the products, for the self term. */
    for (int64_t i = 0; i < n; i++) {
        double fdiag = 0.0;

        for (int f = 0; f < fold.n; f++)
            fdiag += fold.w[f] *
                     pal__get(a->dtype, fold.a[f], i * fold.lda[f] + i);
        w.gdiag[i] = skip ? g->diag[i] - fdiag : 0.0;
        w.d[i] = g->rowsum[i] - (skip ? g->diag[i] : 0.0);
        /* Rounding in the row sums must not leave a phantom degree. */
        if (w.d[i] < 0.0 || (skip && n == 1))
            w.d[i] = 0.0;
        dsum += w.d[i];
    }
    /* A NaN sum comes from non-finite weights: the value check reports
     * them once the loss is formed. */
    if (dsum == 0.0)
        return PAL_E_EMPTY;

    /* Normalise the rows. */
    pal__norms(a->dtype, nt, n, k, a->z, a->ldz, false, w.r);
    for (int64_t i = 0; i < n; i++) {
        if (w.r[i] == 0.0 && o.eps == 0.0)
            return PAL_E_ZERO_NORM;
        w.lse[i] = 1.0 / (w.r[i] > o.eps ? w.r[i] : o.eps);
    }
    pal__row_scale(a->dtype, nt, n, k, a->z, a->ldz, w.lse, 0.0, w.zt, k);

    /* Positive term of the terms left to the products: <Zt, G Zt> less
     * their diagonal. Whole, the product is kept for the gradient;
     * streamed, only the number (no n x k buffer). The folded terms add
     * theirs in the row pass. */
    if (rest) {
        if (whole) {
            pal__graph_mul_ex(ctx, g, 0, a->dtype, k, w.zt, k, w.h, k,
                              w.mul, skip_dense, 1.0, false);
            pos = pal__mat_dot(a->dtype, nt, n, k, w.zt, k, w.h, k);
        } else {
            pos = pal__graph_quad(ctx, g, a->dtype, k, w.zt, k, w.mul, 0);
        }
        if (skip) {
            pal__row_norm2(a->dtype, nt, n, k, w.zt, k, w.lse);
            for (int64_t i = 0; i < n; i++)
                pos -= w.gdiag[i] * w.lse[i];
        }
        pos *= itau;
    }

    /* Row log-sum-exps of S: whole, from its lower triangle (along the
     * rows, then down the columns); else from the tiles of its lower
     * block triangle, each computed once. */
    /* The fixed shift while exp(-2 / tau) is a normal number and the
     * scalings d_i / sum_i <= d_max exp(2 / tau) stay far from overflow. */
    {
        double dmax = 0.0;

        for (int64_t i = 0; i < n; i++)
            dmax = w.d[i] > dmax ? w.d[i] : dmax;
        shifted = itau <= (a->dtype == PAL_F32 ? SHIFT_MAX_F32
                                                : SHIFT_MAX_F64) &&
                  dmax * exp(2.0 * itau) <=
                      (a->dtype == PAL_F32 ? FLT_MAX : DBL_MAX) / 64.0;
    }
    if (whole)
        pal__syrk_lower(ctx, a->dtype, n, k, itau, w.zt, k, 1, 0.0, w.s, n);
    if (whole && shifted) {
        /* One exponential per entry, kept: then B needs only scalings. */
        kern->lower_exp(a->dtype, w.s, n, n, itau, skip, &fold, w.sum,
                        w.cpart, fold.n > 0 ? w.pos : NULL, nt);
        kern->lower_exp_sum(a->dtype, n, w.sum, w.cpart, w.cs, nt);
        for (int64_t i = 0; i < n; i++) {
            const double t = w.cs[i];

            w.lse[i] = t > 0.0 ? itau + log(t) : -INFINITY;
            w.cm[i] = t > 0.0 ? w.d[i] / t : 0.0;
            pal__set(a->dtype, w.cj, 0, 0, i, w.cm[i]);
        }
        for (int64_t i = 0; i < n && fold.n > 0; i++)
            pos += w.pos[i];
    } else if (whole) {
        kern->lower_rows(a->dtype, w.s, n, n, skip, w.lse, w.sum, nt);
        kern->lower_cols(a->dtype, w.s, n, n, w.cm, w.cs, nt);
        for (int64_t i = 0; i < n; i++) {
            const double m1 = w.lse[i], m2 = w.cm[i];
            const double mx = m1 > m2 ? m1 : m2;
            double tot = 0.0;

            if (m1 > -INFINITY)
                tot += w.sum[i] * exp(m1 - mx);
            if (m2 > -INFINITY)
                tot += w.cs[i] * exp(m2 - mx);
            w.lse[i] = tot > 0.0 ? mx + log(tot) : -INFINITY;
            pal__set(a->dtype, w.lsej, 0, 0, i, w.lse[i]);
            pal__set(a->dtype, w.cj, 0, 0, i, w.d[i]);
        }
        /* The folded terms' positive part, and B with it when the
         * gradient is asked for. */
        if (fold.n > 0) {
            kern->lower_b(a->dtype, w.s, n, n, false, w.d, w.cj, w.lsej,
                          skip, &fold, a->dz != NULL, w.pos, nt);
            for (int64_t i = 0; i < n; i++)
                pos += w.pos[i];
        }
    } else {
        /* Streamed: the running row sums, with the fixed shift (one
         * exponential per entry) or each row's running maximum. */
        for (int64_t i = 0; i < n; i++) {
            w.lse[i] = -INFINITY;
            w.sum[i] = 0.0;
        }
        for (int64_t i0 = 0; i0 < n; i0 += tb) {
            const int64_t bi = n - i0 < tb ? n - i0 : tb;

            for (int64_t j0 = 0; j0 <= i0; j0 += tb) {
                const int64_t bj = n - j0 < tb ? n - j0 : tb;

                pal__gemm(ctx, a->dtype, bi, bj, k, itau,
                          (const char *)w.zt + (size_t)(i0 * k) * elem, k, 1,
                          (const char *)w.zt + (size_t)(j0 * k) * elem, 1, k,
                          0.0, w.s, tb, 1);
                if (shifted)
                    kern->tile_expsum(a->dtype, w.s, bi, bj, tb, i0, j0,
                                      skip, itau, w.sum, w.cpart, nt);
                else
                    kern->tile_stats(a->dtype, w.s, bi, bj, tb, i0, j0, skip,
                                     w.lse, w.sum, w.colmax, w.colacc);
            }
        }
        for (int64_t i = 0; i < n; i++) {
            const double t = w.sum[i], m = shifted ? itau : w.lse[i];

            w.lse[i] = t > 0.0 ? m + log(t) : -INFINITY;
            if (shifted)
                pal__set(a->dtype, w.cj, 0, 0, i, t > 0.0 ? w.d[i] / t : 0.0);
        }
    }
    value = -pos;
    for (int64_t i = 0; i < n; i++)
        if (w.d[i] != 0.0)
            value += w.d[i] * w.lse[i];
    if ((rc = pal__value_check(value, a, g)) != PAL_OK)
        return rc;
    if (!a->dz) {
        *loss = value;
        return PAL_OK;
    }

    /* Graph part of the terms left to the products:
     * -(G' + G'^T) Zt = -(G Zt + G^T Zt) + 2 diag(G_ii) Zt. */
    if (rest && whole) {
        if (rest_sym) {
            pal__mat_axpby(a->dtype, nt, n, k, -2.0, w.h, k, 0.0, w.grad.p,
                           w.grad.ld);
        } else {
            pal__graph_mul_ex(ctx, g, 1, a->dtype, k, w.zt, k, w.ht, k,
                              w.mul, skip_dense, 1.0, false);
            pal__mat_axpby(a->dtype, nt, n, k, -1.0, w.h, k, 0.0, w.grad.p,
                           w.grad.ld);
            pal__mat_axpby(a->dtype, nt, n, k, -1.0, w.ht, k, 1.0, w.grad.p,
                           w.grad.ld);
        }
    } else if (rest) {
        pal__graph_mul_ex(ctx, g, 0, a->dtype, k, w.zt, k, w.grad.p,
                          w.grad.ld, w.mul, 0, rest_sym ? -2.0 : -1.0, false);
        if (!rest_sym)
            pal__graph_mul_ex(ctx, g, 1, a->dtype, k, w.zt, k, w.grad.p,
                              w.grad.ld, w.mul, 0, -1.0, true);
    } else {
        pal__mat_axpby(a->dtype, nt, n, k, 0.0, NULL, 0, 0.0, w.grad.p,
                       w.grad.ld);
    }
    if (rest && skip) {
        for (int64_t i = 0; i < n; i++)
            w.gdiag[i] *= 2.0;
        pal__row_axpy(a->dtype, nt, n, k, w.gdiag, w.zt, k, w.grad.p,
                      w.grad.ld);
    }

    /* Similarity part (P' + P'^T) Zt, P'_ij = d_i P_ij; whole, the
     * folded terms join it in B (formed above), whose lower triangle
     * enters one symmetric product. */
    if (whole) {
        if (shifted)
            kern->lower_b(a->dtype, w.s, n, n, true, w.cm, w.cj, NULL, skip,
                          &fold, true, NULL, nt);
        else if (fold.n == 0)
            kern->lower_b(a->dtype, w.s, n, n, false, w.d, w.cj, w.lsej,
                          skip, &fold, true, NULL, nt);
        pal__symm_lower(ctx, a->dtype, n, k, 1.0, w.s, n, w.zt, k, 1.0,
                        w.grad.p, w.grad.ld);
    } else {
        for (int64_t i0 = 0; i0 < n; i0 += tb) {
            const int64_t bi = n - i0 < tb ? n - i0 : tb;
            const char *zti = (const char *)w.zt + (size_t)(i0 * k) * elem;

            for (int64_t j0 = 0; j0 <= i0; j0 += tb) {
                const int64_t bj = n - j0 < tb ? n - j0 : tb;
                const char *ztj =
                    (const char *)w.zt + (size_t)(j0 * k) * elem;

                pal__gemm(ctx, a->dtype, bi, bj, k, itau, zti, k, 1, ztj, 1,
                          k, 0.0, w.s, tb, 1);
                if (shifted)
                    kern->tile_bs(a->dtype, w.s, bi, bj, tb, i0, j0, skip,
                                  itau, w.cj, nt);
                else
                    kern->tile_b(a->dtype, w.s, bi, bj, tb, i0, j0, skip,
                                 w.lse, w.d, w.lsej, w.colmax);
                /* Each product into a block of our own (beta = 0), then
                 * added: the caller's dZ is never an accumulating BLIS
                 * output, which Debian's BLIS 0.9 may read past. */
                pal__gemm(ctx, a->dtype, bi, k, bj, 1.0, w.s, tb, 1, ztj, k,
                          1, 0.0, w.gt, k, 1);
                pal__mat_axpby(a->dtype, nt, bi, k, 1.0, w.gt, k, 1.0,
                               (char *)w.grad.p +
                                   pal__row(a, i0, w.grad.ld),
                               w.grad.ld);
                if (j0 != i0) {
                    pal__gemm(ctx, a->dtype, bj, k, bi, 1.0, w.s, 1, tb, zti,
                              k, 1, 0.0, w.gt, k, 1);
                    pal__mat_axpby(a->dtype, nt, bj, k, 1.0, w.gt, k, 1.0,
                                   (char *)w.grad.p +
                                       pal__row(a, j0, w.grad.ld),
                                   w.grad.ld);
                }
            }
        }
    }

    /* dL/dZt = (...) / tau, then back through the row normalisation. */
    pal__mat_axpby(a->dtype, nt, n, k, 0.0, NULL, 0, itau, w.grad.p, w.grad.ld);
    pal__unnormalise(a->dtype, nt, n, k, false, w.zt, k, w.r, o.eps, w.grad.p,
                     w.grad.ld, NULL);
    if ((rc = pal__grad_finish(a, &w.grad)) != PAL_OK)
        return rc;
    if (loss)
        *loss = value;
    return PAL_OK;
}

int pal_loss_simclr(pal_ctx_t *ctx, const pal_graph_t *g, pal_dtype_t dtype,
                    int64_t n, int64_t k, const void *z, int64_t ldz,
                    const pal_simclr_opts_t *opts, double *loss)
{
    pal__zarg_t a = {dtype, n, k, z, ldz, NULL, 0, pal_dtype_size(dtype)};

    if (!ctx || !g || !loss)
        return PAL_E_NULL;
    return simclr(ctx, g, &a, opts, loss);
}

int pal_grad_simclr(pal_ctx_t *ctx, const pal_graph_t *g, pal_dtype_t dtype,
                    int64_t n, int64_t k, const void *z, int64_t ldz,
                    const pal_simclr_opts_t *opts, double *loss, void *dz,
                    int64_t lddz)
{
    pal__zarg_t a = {dtype, n, k, z, ldz, dz, lddz, pal_dtype_size(dtype)};

    if (!ctx || !g || !dz)
        return PAL_E_NULL;
    return simclr(ctx, g, &a, opts, loss);
}
