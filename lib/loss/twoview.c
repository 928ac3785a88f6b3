/*
 * The classic two-view losses (the paper's eqs. 2-5): VICReg, SimCLR's
 * NT-Xent, BarlowTwins and the spectral contrastive loss, on two views
 * Z1, Z2 of one batch. loss.h states each formula and gradient;
 * docs/twoview.md derives them and relates them to the graph losses.
 *
 * Every loss runs the same steps: validate everything, lay the workspace
 * out (measure, reserve, place), compute the value and both gradients
 * into the workspace (the gradients stacked, dL/dZ1 over dL/dZ2), and
 * only then write the outputs (tv_finish). So an output may share no
 * memory with an input, and a failed call writes nothing.
 */
#include "loss_internal.h"

#define PAL_T float
#define PAL_SFX f32
#include "twoview_tmpl.h"
#undef PAL_T
#undef PAL_SFX

#define PAL_T double
#define PAL_SFX f64
#include "twoview_tmpl.h"
#undef PAL_T
#undef PAL_SFX

#define TV_DISPATCH(t, name, ...)               \
    ((t) == PAL_F32 ? name##f32(__VA_ARGS__) \
                    : name##f64(__VA_ARGS__))

/* Largest panel of similarities held at once (NT-Xent, spectral). */
#define TV_PANEL_BYTES ((size_t)32 << 20)

/* The arguments of one call. dz1 is NULL for a value-only call. */
typedef struct tv {
    pal_dtype_t dtype;
    int64_t n, k;
    const void *z1, *z2;
    int64_t ldz1, ldz2;
    void *dz1, *dz2;
    int64_t lddz1, lddz2;
    size_t elem;
    int nt;
} tv_t;

/* Byte offset of row i in a contiguous n x k block of a's type. */
static size_t tv_rows(const tv_t *a, int64_t i)
{
    return (size_t)i * (size_t)a->k * a->elem;
}

/*
 * Validate a call. kk: the loss holds k x k arrays. Sizes whose
 * workspace could not even be counted in a size_t are PAL_E_NOMEM (no
 * allocation could hold them).
 */
static int tv_check(const pal_ctx_t *ctx, const tv_t *a, bool kk)
{
    pal__zarg_t v1 = {a->dtype, a->n,  a->k,     a->z1,
                      a->ldz1,  a->dz1, a->lddz1, a->elem};
    pal__zarg_t v2 = {a->dtype, a->n,  a->k,     a->z2,
                      a->ldz2,  a->dz2, a->lddz2, a->elem};
    int rc;

    if ((rc = pal__zarg_check(ctx, NULL, &v1)) != PAL_OK ||
        (rc = pal__zarg_check(ctx, NULL, &v2)) != PAL_OK)
        return rc;
    if (a->dz1) {
        const size_t e1 = pal__matrix_extent(a->dtype, a->n, a->k, a->ldz1);
        const size_t e2 = pal__matrix_extent(a->dtype, a->n, a->k, a->ldz2);
        const size_t d1 = pal__matrix_extent(a->dtype, a->n, a->k, a->lddz1);
        const size_t d2 = pal__matrix_extent(a->dtype, a->n, a->k, a->lddz2);

        if (pal__overlap(a->dz1, d1, a->z2, e2) ||
            pal__overlap(a->dz2, d2, a->z1, e1) ||
            pal__overlap(a->dz1, d1, a->dz2, d2))
            return PAL_E_ALIAS;
    }
    {
        size_t rows, sq = 0;

        if (!pal__mul_size(2 * (size_t)a->n, (size_t)a->k, &rows) ||
            !pal__mul_size(rows, 64, &rows) ||
            (kk && (!pal__mul_size((size_t)a->k, (size_t)a->k, &sq) ||
                    !pal__mul_size(sq, 64, &sq))) ||
            rows > SIZE_MAX / 4 || sq > SIZE_MAX / 4)
            return PAL_E_NOMEM;
    }
    return PAL_OK;
}

/* A non-finite value is never returned: PAL_E_NONFINITE when an input
 * holds NaN or infinity, else PAL_E_OVERFLOW. */
static int tv_value_check(const tv_t *a, double value)
{
    if (value - value == 0.0)
        return PAL_OK;
    if (!pal__matrix_finite(a->dtype, a->n, a->k, a->z1, a->ldz1) ||
        !pal__matrix_finite(a->dtype, a->n, a->k, a->z2, a->ldz2))
        return PAL_E_NONFINITE;
    return PAL_E_OVERFLOW;
}

/* Write the outputs: the value, and for a gradient call the stacked
 * gradient g (2n x k, contiguous), after the context's check. */
static int tv_finish(const pal_ctx_t *ctx, const tv_t *a, const void *g,
                     double value, double *loss)
{
    if (a->dz1) {
        if ((pal_ctx_checks(ctx) & PAL_CHECK_FINITE) &&
            !pal__matrix_finite(a->dtype, 2 * a->n, a->k, g, a->k))
            return PAL_E_OVERFLOW;
        for (int64_t i = 0; i < a->n; i++) {
            memcpy((char *)a->dz1 + (size_t)i * (size_t)a->lddz1 * a->elem,
                   (const char *)g + tv_rows(a, i), (size_t)a->k * a->elem);
            memcpy((char *)a->dz2 + (size_t)i * (size_t)a->lddz2 * a->elem,
                   (const char *)g + tv_rows(a, a->n + i),
                   (size_t)a->k * a->elem);
        }
    }
    if (loss)
        *loss = value;
    return PAL_OK;
}

static bool tv_weight_ok(double w)
{
    return w >= 0.0 && w < INFINITY;
}

/* Rows of a panel of `cols` entries: at most TV_PANEL_BYTES, at least 1. */
static int64_t tv_panel_rows(int64_t rows, int64_t cols, size_t elem)
{
    int64_t b = (int64_t)(TV_PANEL_BYTES / ((size_t)cols * elem));

    if (b < 1)
        b = 1;
    return b < rows ? b : rows;
}

/* ---- VICReg -------------------------------------------------------------- */

void pal_vicreg_opts_init(pal_vicreg_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->alpha = 25.0;
    opts->beta = 1.0;
    opts->gamma = 25.0;
    opts->eps = 1e-4;
}

typedef struct vicreg_ws {
    double *mu, *tmp, *one, *var;  /* k each */
    void *x;                       /* centred stacked views, 2n x k */
    void *m, *bm;                  /* k x k: C, and dL/dX = X bm */
    void *g;                       /* stacked gradient, 2n x k */
} vicreg_ws_t;

static void vicreg_layout(const tv_t *a, pal__ws_t *ws, vicreg_ws_t *w)
{
    const size_t kd = (size_t)a->k * sizeof(double);
    const size_t kk = (size_t)a->k * (size_t)a->k * a->elem;

    w->mu = pal__ws_take(ws, kd);
    w->tmp = pal__ws_take(ws, kd);
    w->one = pal__ws_take(ws, kd);
    w->var = pal__ws_take(ws, kd);
    w->x = pal__ws_take(ws, tv_rows(a, 2 * a->n));
    w->m = pal__ws_take(ws, kk);
    w->bm = a->dz1 ? pal__ws_take(ws, kk) : NULL;
    w->g = a->dz1 ? pal__ws_take(ws, tv_rows(a, 2 * a->n)) : NULL;
}

static int vicreg(pal_ctx_t *ctx, tv_t *a, const pal_vicreg_opts_t *user,
                  double *loss)
{
    const int64_t n = a->n, k = a->k;
    pal_vicreg_opts_t o;
    pal__ws_t ws = {NULL, 0};
    vicreg_ws_t w;
    double m, value = 0.0, cov = 0.0;
    int rc;

    pal_vicreg_opts_init(&o);
    if (user && (rc = pal__read_opts(&o, sizeof o, user)) != PAL_OK)
        return rc;
    if (!tv_weight_ok(o.alpha) || !tv_weight_ok(o.beta) ||
        !tv_weight_ok(o.gamma) || !tv_weight_ok(o.eps))
        return PAL_E_RANGE;
    if ((rc = tv_check(ctx, a, true)) != PAL_OK)
        return rc;
    if (n < 2)
        return PAL_E_SIZE;

    vicreg_layout(a, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    vicreg_layout(a, &ws, &w);
    m = (double)(2 * n - 1);

    /* Means of the 2n stacked rows, then X = [Z1; Z2] - mu, so that the
     * variances come from centred values (no cancellation). */
    pal__col_sums(a->dtype, a->nt, n, k, a->z1, a->ldz1, w.mu);
    pal__col_sums(a->dtype, a->nt, n, k, a->z2, a->ldz2, w.tmp);
    for (int64_t c = 0; c < k; c++) {
        w.mu[c] = (w.mu[c] + w.tmp[c]) / (double)(2 * n);
        w.one[c] = 1.0;
    }
    pal__col_affine(a->dtype, a->nt, n, k, a->z1, a->ldz1, w.mu, w.one, w.x,
                    k);
    pal__col_affine(a->dtype, a->nt, n, k, a->z2, a->ldz2, w.mu, w.one,
                    (char *)w.x + tv_rows(a, n), k);
    pal__col_norm2(a->dtype, a->nt, 2 * n, k, w.x, k, w.var);
    pal__syrk(ctx, a->dtype, k, 2 * n, 1.0 / m, w.x, 1, k, 0.0, w.m, k);

    /* Variance hinge on the double variances; covariance off the
     * diagonal of C; invariance from the differences. */
    for (int64_t c = 0; c < k; c++) {
        const double s = sqrt(w.var[c] / m + o.eps);

        value += o.alpha * (s < 1.0 ? 1.0 - s : 0.0);
        /* The gradient's diagonal, kept in var: -alpha / (m s) inside
         * the hinge, 0 on its flat side and where s = 0. */
        w.var[c] = s < 1.0 && s > 0.0 ? -o.alpha / (m * s) : 0.0;
        for (int64_t d = 0; d < k; d++) {
            const double v = pal__at(a->dtype, w.m, k, c, d);

            if (d != c)
                cov += v * v;
        }
    }
    value += o.beta * cov;
    value += o.gamma / (double)n *
             TV_DISPATCH(a->dtype, tv_diff2_, n, k, a->z1, a->ldz1, a->z2,
                         a->ldz2);
    if ((rc = tv_value_check(a, value)) != PAL_OK)
        return rc;
    if (!a->dz1)
        return tv_finish(ctx, a, NULL, value, loss);

    /* dL/dX = X (4 beta / m Coff + diag(f)), then the invariance. */
    for (int64_t c = 0; c < k; c++)
        for (int64_t d = 0; d < k; d++)
            pal__set(a->dtype, w.bm, k, c, d,
                     c == d ? w.var[c]
                            : 4.0 * o.beta / m *
                                  pal__at(a->dtype, w.m, k, c, d));
    pal__gemm(ctx, a->dtype, 2 * n, k, k, 1.0, w.x, k, 1, w.bm, k, 1, 0.0,
              w.g, k, 1);
    {
        const double f = 2.0 * o.gamma / (double)n;

        TV_DISPATCH(a->dtype, tv_emit_, a->nt, n, k, w.g, k, f, a->z1,
                    a->ldz1, NULL, -f, a->z2, a->ldz2);
        TV_DISPATCH(a->dtype, tv_emit_, a->nt, n, k,
                    (void *)((char *)w.g + tv_rows(a, n)), k, -f, a->z1,
                    a->ldz1, NULL, f, a->z2, a->ldz2);
    }
    return tv_finish(ctx, a, w.g, value, loss);
}

/* ---- NT-Xent ------------------------------------------------------------- */

void pal_ntxent_opts_init(pal_ntxent_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->tau = 0.1;
    opts->eps = 1e-8;
}

typedef struct ntx_ws {
    double *r, *inv;  /* 2n: row norms, scales */
    double *rowloss;  /* one per anchor */
    void *w;          /* normalised stacked rows, 2n x k */
    void *g;          /* their gradient, 2n x k */
    void *panel;      /* rows x candidates */
} ntx_ws_t;

static void ntx_layout(const tv_t *a, int64_t na, int64_t nc, int64_t rows,
                       pal__ws_t *ws, ntx_ws_t *w)
{
    const size_t nd = (size_t)(2 * a->n) * sizeof(double);

    w->r = pal__ws_take(ws, nd);
    w->inv = pal__ws_take(ws, nd);
    w->rowloss = pal__ws_take(ws, (size_t)na * sizeof(double));
    w->w = pal__ws_take(ws, tv_rows(a, 2 * a->n));
    w->g = a->dz1 ? pal__ws_take(ws, tv_rows(a, 2 * a->n)) : NULL;
    w->panel = pal__ws_take(ws, (size_t)rows * (size_t)nc * a->elem);
}

static int ntxent(pal_ctx_t *ctx, tv_t *a, const pal_ntxent_opts_t *user,
                  double *loss)
{
    const int64_t n = a->n, k = a->k;
    pal_ntxent_opts_t o;
    pal__ws_t ws;
    ntx_ws_t w;
    int64_t na, nc, coff, rows;
    double value = 0.0, it;
    int rc;

    pal_ntxent_opts_init(&o);
    if (user && (rc = pal__read_opts(&o, sizeof o, user)) != PAL_OK)
        return rc;
    if (!(o.tau > 0.0 && o.tau < INFINITY) ||
        (o.symmetric != 0 && o.symmetric != 1) || !tv_weight_ok(o.eps))
        return PAL_E_RANGE;
    if ((rc = tv_check(ctx, a, false)) != PAL_OK)
        return rc;

    /* Anchors and candidates are rows of the stacked W = [U; V]: view 1
     * against view 2, or all 2n rows against each other. */
    na = o.symmetric ? 2 * n : n;
    nc = na;
    coff = o.symmetric ? 0 : n;
    rows = tv_panel_rows(na, nc, a->elem);
    for (;;) {
        ws = (pal__ws_t){NULL, 0};
        ntx_layout(a, na, nc, rows, &ws, &w);
        if (ws.used <= pal__ctx_limit(ctx) || rows == 1)
            break;
        rows = (rows + 1) / 2;
    }
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    ntx_layout(a, na, nc, rows, &ws, &w);

    pal__norms(a->dtype, a->nt, n, k, a->z1, a->ldz1, false, w.r);
    pal__norms(a->dtype, a->nt, n, k, a->z2, a->ldz2, false, w.r + n);
    for (int64_t i = 0; i < 2 * n; i++) {
        if (w.r[i] == 0.0 && o.eps == 0.0)
            return PAL_E_ZERO_NORM;
        w.inv[i] = 1.0 / (w.r[i] > o.eps ? w.r[i] : o.eps);
    }
    pal__row_scale(a->dtype, a->nt, n, k, a->z1, a->ldz1, w.inv, 0.0, w.w,
                   k);
    pal__row_scale(a->dtype, a->nt, n, k, a->z2, a->ldz2, w.inv + n, 0.0,
                   (char *)w.w + tv_rows(a, n), k);
    if (a->dz1)
        pal__mat_axpby(a->dtype, a->nt, 2 * n, k, 0.0, NULL, 0, 0.0, w.g, k);

    /* Per panel of anchors: S = W_a W_c^T / tau, each anchor's term,
     * A in place, then dL/dW_a += A W_c / tau and dL/dW_c += A^T W_a /
     * tau. */
    it = 1.0 / o.tau;
    for (int64_t a0 = 0; a0 < na; a0 += rows) {
        const int64_t b = na - a0 < rows ? na - a0 : rows;
        const char *wa = (const char *)w.w + tv_rows(a, a0);
        const char *wc = (const char *)w.w + tv_rows(a, coff);

        pal__gemm(ctx, a->dtype, b, nc, k, it, wa, k, 1, wc, 1, k, 0.0,
                  w.panel, nc, 1);
        TV_DISPATCH(a->dtype, tv_ntx_rows_, a->nt, w.panel, b, nc, nc, a0, n,
                    o.symmetric != 0, w.rowloss + a0);
        if (!a->dz1)
            continue;
        pal__gemm(ctx, a->dtype, b, k, nc, it, w.panel, nc, 1, wc, k, 1, 1.0,
                  (char *)w.g + tv_rows(a, a0), k, 1);
        pal__gemm(ctx, a->dtype, nc, k, b, it, w.panel, 1, nc, wa, k, 1, 1.0,
                  (char *)w.g + tv_rows(a, coff), k, 1);
    }
    for (int64_t i = 0; i < na; i++)
        value += w.rowloss[i];
    if ((rc = tv_value_check(a, value)) != PAL_OK)
        return rc;
    if (!a->dz1)
        return tv_finish(ctx, a, NULL, value, loss);

    pal__unnormalise(a->dtype, a->nt, 2 * n, k, false, w.w, k, w.r, o.eps,
                     w.g, k, NULL);
    return tv_finish(ctx, a, w.g, value, loss);
}

/* ---- BarlowTwins --------------------------------------------------------- */

void pal_barlow_opts_init(pal_barlow_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->lambda = 5e-3;
    opts->center = 1;
    opts->eps = 1e-8;
}

typedef struct barlow_ws {
    double *mu, *one, *sc, *tmp, *r1, *r2;  /* k each */
    void *u;          /* normalised columns of both views, 2n x k */
    void *c, *b;      /* k x k */
    double *cd, *bd;  /* k x k, in double */
    void *g;          /* stacked gradient, 2n x k */
} barlow_ws_t;

static void barlow_layout(const tv_t *a, pal__ws_t *ws, barlow_ws_t *w)
{
    const size_t kd = (size_t)a->k * sizeof(double);
    const size_t kk = (size_t)a->k * (size_t)a->k;

    w->mu = pal__ws_take(ws, kd);
    w->one = pal__ws_take(ws, kd);
    w->sc = pal__ws_take(ws, kd);
    w->tmp = pal__ws_take(ws, kd);
    w->r1 = pal__ws_take(ws, kd);
    w->r2 = pal__ws_take(ws, kd);
    w->u = pal__ws_take(ws, tv_rows(a, 2 * a->n));
    w->c = pal__ws_take(ws, kk * a->elem);
    w->cd = pal__ws_take(ws, kk * sizeof(double));
    w->bd = a->dz1 ? pal__ws_take(ws, kk * sizeof(double)) : NULL;
    w->b = a->dz1 ? pal__ws_take(ws, kk * a->elem) : NULL;
    w->g = a->dz1 ? pal__ws_take(ws, tv_rows(a, 2 * a->n)) : NULL;
}

/* Centre (optionally) and normalise the columns of one view into u;
 * their norms go to r. */
static int barlow_columns(const tv_t *a, const pal_barlow_opts_t *o,
                          const void *z, int64_t ldz, void *u, double *r,
                          barlow_ws_t *w)
{
    const int64_t n = a->n, k = a->k;

    if (o->center) {
        pal__col_sums(a->dtype, a->nt, n, k, z, ldz, w->mu);
        for (int64_t c = 0; c < k; c++)
            w->mu[c] /= (double)n;
    }
    pal__col_affine(a->dtype, a->nt, n, k, z, ldz, o->center ? w->mu : NULL,
                    w->one, u, k);
    pal__norms(a->dtype, a->nt, n, k, u, k, true, r);
    for (int64_t c = 0; c < k; c++) {
        if (r[c] == 0.0 && o->eps == 0.0)
            return PAL_E_ZERO_NORM;
        w->sc[c] = 1.0 / (r[c] > o->eps ? r[c] : o->eps);
    }
    pal__col_affine(a->dtype, a->nt, n, k, u, k, NULL, w->sc, u, k);
    return PAL_OK;
}

/* Back through one view's normalisation and centring, in place. */
static void barlow_back(const tv_t *a, const pal_barlow_opts_t *o,
                        const void *u, const double *r, void *g,
                        barlow_ws_t *w)
{
    const int64_t n = a->n, k = a->k;

    pal__unnormalise(a->dtype, a->nt, n, k, true, u, k, r, o->eps, g, k,
                     w->tmp);
    if (!o->center)
        return;
    pal__col_sums(a->dtype, a->nt, n, k, g, k, w->mu);
    for (int64_t c = 0; c < k; c++)
        w->mu[c] /= (double)n;
    pal__col_affine(a->dtype, a->nt, n, k, g, k, w->mu, w->one, g, k);
}

static int barlow(pal_ctx_t *ctx, tv_t *a, const pal_barlow_opts_t *user,
                  double *loss)
{
    const int64_t n = a->n, k = a->k;
    pal_barlow_opts_t o;
    pal__ws_t ws = {NULL, 0};
    barlow_ws_t w;
    void *v, *g2;
    double value = 0.0;
    int rc;

    pal_barlow_opts_init(&o);
    if (user && (rc = pal__read_opts(&o, sizeof o, user)) != PAL_OK)
        return rc;
    if (!tv_weight_ok(o.lambda) || (o.center != 0 && o.center != 1) ||
        !tv_weight_ok(o.eps))
        return PAL_E_RANGE;
    if ((rc = tv_check(ctx, a, true)) != PAL_OK)
        return rc;
    if (n < 2)
        return PAL_E_SIZE;

    barlow_layout(a, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    barlow_layout(a, &ws, &w);
    v = (char *)w.u + tv_rows(a, n);
    for (int64_t c = 0; c < k; c++)
        w.one[c] = 1.0;
    if ((rc = barlow_columns(a, &o, a->z1, a->ldz1, w.u, w.r1, &w)) !=
            PAL_OK ||
        (rc = barlow_columns(a, &o, a->z2, a->ldz2, v, w.r2, &w)) != PAL_OK)
        return rc;

    /* C = U^T V, read in double; B = 2 W o (C - I) kept for the
     * gradient. */
    pal__gemm(ctx, a->dtype, k, k, n, 1.0, w.u, 1, k, v, k, 1, 0.0, w.c, k,
              1);
    for (int64_t q = 0; q < k * k; q++)
        w.cd[q] = pal__at(a->dtype, w.c, k, 0, q);
    for (int64_t c = 0; c < k; c++) {
        for (int64_t d = 0; d < k; d++) {
            const double x = w.cd[c * k + d];

            value += c == d ? (1.0 - x) * (1.0 - x) : o.lambda * x * x;
            if (w.bd)
                w.bd[c * k + d] = c == d ? 2.0 * (x - 1.0) : 2.0 * o.lambda * x;
        }
    }
    if ((rc = tv_value_check(a, value)) != PAL_OK)
        return rc;
    if (!a->dz1)
        return tv_finish(ctx, a, NULL, value, loss);

    /* dL/dU = V B^T, dL/dV = U B. */
    g2 = (char *)w.g + tv_rows(a, n);
    for (int64_t q = 0; q < k * k; q++)
        pal__set(a->dtype, w.b, k, 0, q, w.bd[q]);
    pal__gemm(ctx, a->dtype, n, k, k, 1.0, v, k, 1, w.b, 1, k, 0.0, w.g, k,
              1);
    pal__gemm(ctx, a->dtype, n, k, k, 1.0, w.u, k, 1, w.b, k, 1, 0.0, g2, k,
              1);
    barlow_back(a, &o, w.u, w.r1, w.g, &w);
    barlow_back(a, &o, v, w.r2, g2, &w);
    return tv_finish(ctx, a, w.g, value, loss);
}

/* ---- Spectral contrastive ------------------------------------------------ */

void pal_spectral_opts_init(pal_spectral_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

typedef struct spec_ws {
    double *d, *sq, *s;  /* n each */
    void *a1, *a2;       /* k x k Grams (k <= n) */
    void *panel;         /* rows x n of P (k > n) */
    void *g;             /* stacked gradient, 2n x k */
} spec_ws_t;

static void spec_layout(const tv_t *a, bool gram, int64_t rows,
                        pal__ws_t *ws, spec_ws_t *w)
{
    const size_t nd = (size_t)a->n * sizeof(double);
    const size_t kk = (size_t)a->k * (size_t)a->k * a->elem;

    w->d = pal__ws_take(ws, nd);
    w->sq = pal__ws_take(ws, nd);
    w->s = pal__ws_take(ws, nd);
    w->a1 = gram ? pal__ws_take(ws, kk) : NULL;
    w->a2 = gram ? pal__ws_take(ws, kk) : NULL;
    w->panel = gram ? NULL
                    : pal__ws_take(ws, (size_t)rows * (size_t)a->n * a->elem);
    w->g = a->dz1 ? pal__ws_take(ws, tv_rows(a, 2 * a->n)) : NULL;
}

static int spectral(pal_ctx_t *ctx, tv_t *a, const pal_spectral_opts_t *user,
                    double *loss)
{
    const int64_t n = a->n, k = a->k;
    const bool gram = k <= n;
    pal_spectral_opts_t o;
    pal__ws_t ws;
    spec_ws_t w;
    int64_t rows;
    double value = 0.0, pos = 0.0, sq = 0.0;
    void *g2;
    int rc;

    pal_spectral_opts_init(&o);
    if (user && (rc = pal__read_opts(&o, sizeof o, user)) != PAL_OK)
        return rc;
    if (o.diag != 0 && o.diag != 1)
        return PAL_E_RANGE;
    if ((rc = tv_check(ctx, a, k <= n)) != PAL_OK)
        return rc;

    rows = tv_panel_rows(n, n, a->elem);
    for (;;) {
        ws = (pal__ws_t){NULL, 0};
        spec_layout(a, gram, rows, &ws, &w);
        if (gram || ws.used <= pal__ctx_limit(ctx) || rows == 1)
            break;
        rows = (rows + 1) / 2;
    }
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    spec_layout(a, gram, rows, &ws, &w);
    g2 = a->dz1 ? (char *)w.g + tv_rows(a, n) : NULL;

    if (gram) {
        /* ||P||_F^2 = <Z1^T Z1, Z2^T Z2>; the diagonal from the row dots. */
        TV_DISPATCH(a->dtype, tv_row_dots_, n, k, a->z1, a->ldz1, a->z2,
                    a->ldz2, w.d);
        pal__syrk(ctx, a->dtype, k, n, 1.0, a->z1, 1, a->ldz1, 0.0, w.a1, k);
        pal__syrk(ctx, a->dtype, k, n, 1.0, a->z2, 1, a->ldz2, 0.0, w.a2, k);
        sq = pal__mat_dot(a->dtype, a->nt, k, k, w.a1, k, w.a2, k);
        for (int64_t i = 0; i < n; i++) {
            pos += w.d[i];
            if (!o.diag)
                sq -= w.d[i] * w.d[i];
        }
    } else {
        /* Panels of P = Z1 Z2^T; each becomes 2/n Poff, which gives its
         * rows of Poff Z2 and its share of Poff^T Z1. */
        for (int64_t a0 = 0; a0 < n; a0 += rows) {
            const int64_t b = n - a0 < rows ? n - a0 : rows;
            const char *z1a = (const char *)a->z1 +
                              (size_t)a0 * (size_t)a->ldz1 * a->elem;

            pal__gemm(ctx, a->dtype, b, n, k, 1.0, z1a, a->ldz1, 1, a->z2, 1,
                      a->ldz2, 0.0, w.panel, n, 1);
            TV_DISPATCH(a->dtype, tv_spec_rows_, a->nt, w.panel, b, n, n, a0,
                        o.diag != 0, 2.0 / (double)n, w.sq + a0, w.d + a0);
            if (!a->dz1)
                continue;
            pal__gemm(ctx, a->dtype, b, k, n, 1.0, w.panel, n, 1, a->z2,
                      a->ldz2, 1, 0.0, (char *)w.g + tv_rows(a, a0), k, 1);
            pal__gemm(ctx, a->dtype, n, k, b, 1.0, w.panel, 1, n, z1a,
                      a->ldz1, 1, a0 == 0 ? 0.0 : 1.0, g2, k, 1);
        }
        for (int64_t i = 0; i < n; i++) {
            pos += w.d[i];
            sq += w.sq[i];
        }
    }
    value = -2.0 * pos + sq / (double)n;
    if ((rc = tv_value_check(a, value)) != PAL_OK)
        return rc;
    if (!a->dz1)
        return tv_finish(ctx, a, NULL, value, loss);

    if (gram) {
        /* 2/n Poff Z2 = 2/n (Z1 (Z2^T Z2) - diag(d) Z2), and for Z2
         * alike; the -diag(d) part joins the -2 Z2 of the first term. */
        for (int64_t i = 0; i < n; i++)
            w.s[i] = -2.0 - (o.diag ? 0.0 : 2.0 * w.d[i] / (double)n);
        pal__gemm(ctx, a->dtype, n, k, k, 2.0 / (double)n, a->z1, a->ldz1, 1,
                  w.a2, k, 1, 0.0, w.g, k, 1);
        pal__gemm(ctx, a->dtype, n, k, k, 2.0 / (double)n, a->z2, a->ldz2, 1,
                  w.a1, k, 1, 0.0, g2, k, 1);
        TV_DISPATCH(a->dtype, tv_emit_, a->nt, n, k, w.g, k, 0.0, NULL, 0,
                    w.s, 0.0, a->z2, a->ldz2);
        TV_DISPATCH(a->dtype, tv_emit_, a->nt, n, k, g2, k, 0.0, NULL, 0, w.s,
                    0.0, a->z1, a->ldz1);
    } else {
        TV_DISPATCH(a->dtype, tv_emit_, a->nt, n, k, w.g, k, 0.0, NULL, 0,
                    NULL, -2.0, a->z2, a->ldz2);
        TV_DISPATCH(a->dtype, tv_emit_, a->nt, n, k, g2, k, 0.0, NULL, 0, NULL,
                    -2.0, a->z1, a->ldz1);
    }
    return tv_finish(ctx, a, w.g, value, loss);
}

/* ---- Entry points -------------------------------------------------------- */

/* The arguments of a call; dz1 == NULL for a value-only call. */
static tv_t tv_args(const pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                    int64_t k, const void *z1, int64_t ldz1, const void *z2,
                    int64_t ldz2, void *dz1, int64_t lddz1, void *dz2,
                    int64_t lddz2)
{
    tv_t a = {dtype, n,     k,   z1,    z2,    ldz1,
              ldz2,  dz1,   dz2, lddz1, lddz2, pal_dtype_size(dtype),
              pal__ctx_nthreads(ctx)};

    return a;
}

#define TV_ENTRY(name, opts_t, impl)                                         \
    int pal_loss_##name(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,       \
                        int64_t k, const void *z1, int64_t ldz1,            \
                        const void *z2, int64_t ldz2, const opts_t *opts,   \
                        double *loss)                                       \
    {                                                                       \
        tv_t a;                                                             \
                                                                            \
        if (!ctx || !z1 || !z2 || !loss)                                    \
            return PAL_E_NULL;                                              \
        a = tv_args(ctx, dtype, n, k, z1, ldz1, z2, ldz2, NULL, 0, NULL,    \
                    0);                                                     \
        return impl(ctx, &a, opts, loss);                                   \
    }                                                                       \
                                                                            \
    int pal_grad_##name(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,       \
                        int64_t k, const void *z1, int64_t ldz1,            \
                        const void *z2, int64_t ldz2, const opts_t *opts,   \
                        double *loss, void *dz1, int64_t lddz1, void *dz2,  \
                        int64_t lddz2)                                      \
    {                                                                       \
        tv_t a;                                                             \
                                                                            \
        if (!ctx || !z1 || !z2 || !dz1 || !dz2)                             \
            return PAL_E_NULL;                                              \
        a = tv_args(ctx, dtype, n, k, z1, ldz1, z2, ldz2, dz1, lddz1, dz2,  \
                    lddz2);                                                 \
        return impl(ctx, &a, opts, loss);                                   \
    }

TV_ENTRY(vicreg, pal_vicreg_opts_t, vicreg)
TV_ENTRY(ntxent, pal_ntxent_opts_t, ntxent)
TV_ENTRY(barlow, pal_barlow_opts_t, barlow)
TV_ENTRY(spectral, pal_spectral_opts_t, spectral)
