/*
 * Fuzz target: the losses and their gradients.
 *
 * The input gives the element type, n (1..12), k (1..6), padded strides,
 * Z row by row (small values, zero rows, NaN, infinities, huge and tiny
 * values; the padding holds NaN, which must never be read), a graph made
 * of dense, labels, blocks, diagonal, constant and identity terms (or a
 * pair batch whose indices may pass n), one of the four losses with its
 * options (valid or not, options structures of every size), the context's
 * checks and a workspace limit. Both the value and the gradient call run.
 *
 * Checked: only the codes loss.h lists; an error is explained by the
 * input (EMPTY by an empty graph or batch, NEGATIVE by a graph that may
 * be negative, ZERO_NORM only without eps, NONFINITE only with NaN or
 * infinity in the input, NOMEM only under a workspace limit, ...); on
 * error the value and all of dz, padding included, are untouched; on
 * success the value is finite, equal bit for bit in both calls, the
 * padding of dz is untouched, and, for finite moderate input, the value
 * agrees with an O(n^2) evaluation of the formulas in loss.h.
 */
#include "fuzz.h"

#define MAX_N 12
#define MAX_K 6
#define MAX_PAIRS 8

#define BIT(code) (1u << (unsigned)(-(code)))

enum { VIC2, SIMCLR, BT, PAIRS };

typedef struct run {
    fuzz_in_t in;
    pal_dtype_t dtype;
    int64_t n, k, ldz, lddz, gn;
    double z[MAX_N * (MAX_K + 3)];   /* Z as double, stride ldz */
    void *zbuf;                      /* Z as given to the library */
    bool z_finite, z_moderate;

    pal_graph_t *g;
    double e[(MAX_N + 1) * (MAX_N + 1)];   /* the graph, expanded */
    bool g_finite, g_moderate;
    /* A term whose own entries (before its weight) square out of the
     * double range: the graph's summaries cannot represent it. */
    bool g_extreme;
    void *keep[8];
    int nkeep;

    pal_batch_t *batch;
} run_t;

static void *xcalloc(size_t count, size_t elem)
{
    void *p = calloc(count ? count : 1, elem);

    FUZZ_CHECK(p != NULL);
    return p;
}

static void put(pal_dtype_t dt, void *p, int64_t k, double v)
{
    if (dt == PAL_F32)
        ((float *)p)[k] = (float)v;
    else
        ((double *)p)[k] = v;
}

static double get(pal_dtype_t dt, const void *p, int64_t k)
{
    return dt == PAL_F32 ? (double)((const float *)p)[k]
                         : ((const double *)p)[k];
}

static double small_from(fuzz_in_t *in)
{
    return (double)((int)fuzz_u8(in) - 128) / 16.0;
}

/* ---- Z ------------------------------------------------------------------ */

static void make_z(run_t *r)
{
    const pal_dtype_t st = r->dtype == PAL_F32 ? PAL_F32 : PAL_F64;

    r->zbuf = xcalloc((size_t)(r->n * r->ldz), sizeof(double));
    r->z_finite = r->z_moderate = true;
    for (int64_t i = 0; i < r->n; i++) {
        uint8_t mode = fuzz_u8(&r->in) % 16;

        for (int64_t c = 0; c < r->ldz; c++) {
            double v;

            if (c >= r->k) {
                put(st, r->zbuf, i * r->ldz + c, NAN);
                continue;
            }
            switch (mode) {
            case 10:
                v = 0.0;
                break;
            case 11:
                v = c == 0 ? NAN : small_from(&r->in);
                break;
            case 12:
                v = c == r->k - 1 ? -INFINITY : small_from(&r->in);
                break;
            case 13:
                v = small_from(&r->in) * 1e30;
                break;
            case 14:
                v = small_from(&r->in) * 1e-30;
                break;
            case 15:
                v = fuzz_f64(&r->in);
                break;
            default:
                v = small_from(&r->in);
                break;
            }
            put(st, r->zbuf, i * r->ldz + c, v);
            v = get(st, r->zbuf, i * r->ldz + c);
            r->z[i * r->ldz + c] = v;
            if (!isfinite(v))
                r->z_finite = false;
            if (!isfinite(v) || fabs(v) > 1e3 ||
                (v != 0.0 && fabs(v) < 1e-6))
                r->z_moderate = false;
        }
    }
}

/* ---- The graph ---------------------------------------------------------- */

static double weight_from(fuzz_in_t *in)
{
    static const double w[] = {1.0, 0.5, 2.0, -1.0, 0.25, 1.5};
    uint8_t b = fuzz_u8(in);

    return b < 240 ? w[b % 6] : fuzz_f64(in);
}

/* Add one term; on success add it to the expansion too. */
static void add_term(run_t *r)
{
    const int64_t n = r->gn;
    uint8_t kind = fuzz_u8(&r->in) % 6;
    double w = weight_from(&r->in), t[(MAX_N + 1) * (MAX_N + 1)];
    int32_t y[MAX_N + 1], a[4], b[4];
    double ew[4], d[MAX_N + 1];
    int rc = PAL_E_RANGE;

    memset(t, 0, sizeof t);
    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(fuzz_u8(&r->in) % 4) - 1;

    switch (kind) {
    case 0: {
        pal_dtype_t dt = fuzz_u8(&r->in) & 1 ? PAL_F32 : PAL_F64;
        void *m = xcalloc((size_t)(n * n), sizeof(double));

        for (int64_t p = 0; p < n * n; p++) {
            uint8_t s = fuzz_u8(&r->in);

            put(dt, m, p, s < 250 ? small_from(&r->in) : fuzz_f64(&r->in));
            t[p] = get(dt, m, p);
        }
        rc = pal_graph_add_dense(r->g, w, dt, m, n, 0);
        if (rc == PAL_OK && r->nkeep < 8)
            r->keep[r->nkeep++] = m;
        else
            free(m);
        break;
    }
    case 1:
        rc = pal_graph_add_labels(r->g, w, y);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                t[i * n + j] = y[i] >= 0 && y[i] == y[j];
        break;
    case 2: {
        int64_t ne = fuzz_below(&r->in, 5);

        for (int64_t q = 0; q < ne; q++) {
            a[q] = (int32_t)fuzz_below(&r->in, 3);
            b[q] = (int32_t)fuzz_below(&r->in, 3);
            ew[q] = weight_from(&r->in);
        }
        rc = pal_graph_add_blocks(r->g, w, y, ne, a, b, ew);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                for (int64_t q = 0; q < ne; q++)
                    if (y[i] >= 0 && y[j] >= 0 && a[q] == y[i] &&
                        b[q] == y[j])
                        t[i * n + j] += ew[q];
        break;
    }
    case 3:
        for (int64_t i = 0; i < n; i++)
            d[i] = small_from(&r->in);
        rc = pal_graph_add_diagonal(r->g, w, d);
        for (int64_t i = 0; i < n; i++)
            t[i * n + i] = d[i];
        break;
    case 4:
        rc = pal_graph_add_constant(r->g, w);
        for (int64_t p = 0; p < n * n; p++)
            t[p] = 1.0;
        break;
    default:
        rc = pal_graph_add_identity(r->g, w);
        for (int64_t i = 0; i < n; i++)
            t[i * n + i] = 1.0;
        break;
    }
    if (rc != PAL_OK)
        return;
    /* Dense products in float scale by the weight in float. */
    if (fabs(w) > 1e30)
        r->g_extreme = true;
    for (int64_t p = 0; p < n * n; p++) {
        r->e[p] += w * t[p];
        if (fabs(t[p]) > 1e150 || (t[p] != 0.0 && fabs(t[p]) < 1e-150))
            r->g_extreme = true;
    }
}

static void make_graph(run_t *r)
{
    int terms = (int)fuzz_below(&r->in, 4);

    r->gn = fuzz_u8(&r->in) < 250 ? r->n : r->n + 1;
    FUZZ_CHECK(pal_graph_create(&r->g, r->gn, NULL) == PAL_OK);
    for (int t = 0; t < terms; t++)
        add_term(r);
    r->g_finite = r->g_moderate = true;
    for (int64_t p = 0; p < r->gn * r->gn; p++) {
        if (!isfinite(r->e[p]))
            r->g_finite = false;
        if (!isfinite(r->e[p]) || fabs(r->e[p]) > 1e6 || r->g_extreme)
            r->g_moderate = false;
    }
}

static void make_batch(run_t *r)
{
    int np = (int)fuzz_below(&r->in, MAX_PAIRS + 1);
    int nr = (int)fuzz_below(&r->in, MAX_PAIRS + 1);
    static const double gs[] = {1.0, 0.0, -1.0, 0.5, 2.0, 1e30};

    FUZZ_CHECK(pal_batch_create(&r->batch, NULL) == PAL_OK);
    for (int p = 0; p < np; p++) {
        int64_t i = fuzz_below(&r->in, (int)r->n + 2);
        int64_t j = fuzz_below(&r->in, (int)r->n + 2);

        FUZZ_CHECK(pal_batch_add_pair(r->batch, i, j,
                                      gs[fuzz_u8(&r->in) % 6]) == PAL_OK);
    }
    for (int p = 0; p < nr; p++) {
        int64_t i = fuzz_below(&r->in, (int)r->n + 2);
        int64_t j = fuzz_below(&r->in, (int)r->n + 2);

        FUZZ_CHECK(pal_batch_add_reg(r->batch, i, j) == PAL_OK);
    }
}

/* ---- Options ------------------------------------------------------------ */

typedef struct opts {
    pal_vic2_opts_t vic2;
    pal_simclr_opts_t simclr;
    pal_bt_opts_t bt;
    bool valid;
    unsigned char buf[sizeof(pal_simclr_opts_t) + 32];
    const void *pass;    /* what the call gets: NULL, the struct or buf */
} opts_t;

static double pick(fuzz_in_t *in, const double *v, int count)
{
    return v[fuzz_u8(in) % count];
}

static void make_opts(run_t *r, int loss, opts_t *o)
{
    static const double taus[] = {0.1, 1.0, 0.5, 0.005, 10.0, 0.2,
                                  0.0, -1.0, NAN, INFINITY};
    static const double epss[] = {0.0, 1e-3, 0.0, 1e-8, 1.0, -1.0, NAN,
                                  INFINITY};
    static const double lambdas[] = {1.0, 5e-3, 0.0, 2.0, -1.0, NAN,
                                     INFINITY};
    uint8_t how;
    void *st;
    size_t size;

    pal_vic2_opts_init(&o->vic2);
    pal_simclr_opts_init(&o->simclr);
    pal_bt_opts_init(&o->bt);
    how = fuzz_u8(&r->in) % 8;
    o->vic2.offdiag = how < 7 ? how & 1 : 2;
    how = fuzz_u8(&r->in);
    o->simclr.tau = pick(&r->in, taus, 10);
    o->simclr.include_self = fuzz_u8(&r->in) < 250 ? fuzz_u8(&r->in) & 1
                                                   : 2;
    o->simclr.eps = pick(&r->in, epss, 8);
    o->bt.lambda = pick(&r->in, lambdas, 7);
    o->bt.center = fuzz_u8(&r->in) < 250 ? fuzz_u8(&r->in) & 1 : -1;
    o->bt.eps = pick(&r->in, epss, 8);

    switch (loss) {
    case VIC2:
        o->valid = o->vic2.offdiag == 0 || o->vic2.offdiag == 1;
        st = &o->vic2;
        size = sizeof o->vic2;
        break;
    case SIMCLR:
        o->valid = o->simclr.tau > 0.0 && isfinite(o->simclr.tau) &&
                   o->simclr.eps >= 0.0 && isfinite(o->simclr.eps) &&
                   (o->simclr.include_self == 0 ||
                    o->simclr.include_self == 1);
        st = &o->simclr;
        size = sizeof o->simclr;
        break;
    default:
        o->valid = o->bt.lambda >= 0.0 && isfinite(o->bt.lambda) &&
                   o->bt.eps >= 0.0 && isfinite(o->bt.eps) &&
                   (o->bt.center == 0 || o->bt.center == 1);
        st = &o->bt;
        size = sizeof o->bt;
        break;
    }

    /* NULL (the defaults), the structure, or a copy of another size. */
    if (how < 32) {
        pal_vic2_opts_init(&o->vic2);
        pal_simclr_opts_init(&o->simclr);
        pal_bt_opts_init(&o->bt);
        o->valid = true;
        o->pass = NULL;
    } else if (how < 200) {
        o->pass = st;
    } else {
        size_t given = how < 220 ? size + 16 : how < 240 ? 4 : size + 8;

        memset(o->buf, 0, sizeof o->buf);
        memcpy(o->buf, st, size);
        memcpy(o->buf, &given, sizeof given);
        if (how >= 240)
            o->buf[size + 3] = 1;   /* a field this version lacks */
        if (how >= 220)
            o->valid = false;
        o->pass = o->buf;
    }
}

/* ---- References from the formulas of loss.h ----------------------------- */

static double zz(const run_t *r, int64_t i, int64_t j)
{
    double s = 0.0;

    for (int64_t c = 0; c < r->k; c++)
        s += r->z[i * r->ldz + c] * r->z[j * r->ldz + c];
    return s;
}

/* The value and the scale of its rounding, or false when the reference
 * itself is not reliable (a norm too close to eps or to zero). */
static bool reference(const run_t *r, int loss, const opts_t *o,
                      double *value, double *scale)
{
    const int64_t n = r->n, k = r->k;
    double v = 0.0, s = 0.0;

    if (loss == VIC2) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                double d = zz(r, i, j) - r->e[i * n + j];
                double m = sqrt(zz(r, i, i) * zz(r, j, j)) +
                           fabs(r->e[i * n + j]);

                /* With offdiag the library subtracts the diagonal from
                 * the full sum: its rounding scale stays the full one. */
                s += m * m;
                if (o->vic2.offdiag && i == j)
                    continue;
                v += d * d;
            }
    } else if (loss == SIMCLR) {
        double zt[MAX_N * MAX_K];
        const double tau = o->simclr.tau, eps = o->simclr.eps;
        const bool self = o->simclr.include_self;

        for (int64_t i = 0; i < n; i++) {
            double nr = sqrt(zz(r, i, i)), den = nr > eps ? nr : eps;

            if (nr != 0.0 && fabs(nr - eps) < 1e-6 * eps)
                return false;
            for (int64_t c = 0; c < k; c++)
                zt[i * k + c] = r->z[i * r->ldz + c] / den;
        }
        for (int64_t i = 0; i < n; i++) {
            double mx = -INFINITY, sum = 0.0, lse, deg = 0.0;
            double srow[MAX_N];

            for (int64_t j = 0; j < n; j++) {
                double d = 0.0;

                for (int64_t c = 0; c < k; c++)
                    d += zt[i * k + c] * zt[j * k + c];
                srow[j] = d / tau;
                if ((self || j != i) && srow[j] > mx)
                    mx = srow[j];
            }
            for (int64_t j = 0; j < n; j++)
                if (self || j != i) {
                    sum += exp(srow[j] - mx);
                    deg += r->e[i * n + j];
                }
            if (deg == 0.0)
                continue;
            lse = mx + log(sum);
            for (int64_t j = 0; j < n; j++)
                if (self || j != i) {
                    v -= r->e[i * n + j] * (srow[j] - lse);
                    s += fabs(r->e[i * n + j]) *
                         (fabs(srow[j]) + fabs(lse) + 1.0 / tau);
                }
        }
    } else if (loss == BT) {
        double zt[MAX_N * MAX_K], mu[MAX_K], cabs, c;
        const double eps = o->bt.eps, lambda = o->bt.lambda;

        for (int64_t j = 0; j < k; j++) {
            double nr = 0.0, mag = 0.0, den;

            mu[j] = 0.0;
            if (o->bt.center) {
                for (int64_t i = 0; i < n; i++)
                    mu[j] += r->z[i * r->ldz + j];
                mu[j] /= (double)n;
            }
            for (int64_t i = 0; i < n; i++) {
                double x = r->z[i * r->ldz + j] - mu[j];

                zt[i * k + j] = x;
                nr += x * x;
                mag += r->z[i * r->ldz + j] * r->z[i * r->ldz + j];
            }
            nr = sqrt(nr);
            /* A column that centring nearly cancels, or a norm at eps,
             * depends on rounding more than on the formula. */
            if (nr < 1e-3 * sqrt(mag) || (nr != 0.0 &&
                                          fabs(nr - eps) < 1e-6 * eps))
                return false;
            den = nr > eps ? nr : eps;
            for (int64_t i = 0; i < n; i++)
                zt[i * k + j] /= den;
        }
        for (int64_t a = 0; a < k; a++)
            for (int64_t b = 0; b < k; b++) {
                c = cabs = 0.0;
                for (int64_t i = 0; i < n; i++)
                    for (int64_t j = 0; j < n; j++) {
                        c += zt[i * k + a] * r->e[i * n + j] * zt[j * k + b];
                        cabs += fabs(zt[i * k + a] * r->e[i * n + j] *
                                     zt[j * k + b]);
                    }
                if (a == b) {
                    v += (c - 1.0) * (c - 1.0);
                    s += (cabs + 1.0) * (cabs + 1.0);
                } else {
                    v += lambda * c * c;
                    s += lambda * cabs * cabs;
                }
            }
    } else {
        const int64_t *pi, *pj, *ri, *rj;
        const double *pg;
        int64_t np, nr;

        pal_batch_pairs(r->batch, &pi, &pj, &pg, &np);
        pal_batch_regs(r->batch, &ri, &rj, &nr);
        for (int64_t p = 0; p < np; p++) {
            double d2 = 0.0, m = sqrt(zz(r, pi[p], pi[p])) +
                                 sqrt(zz(r, pj[p], pj[p]));

            for (int64_t c = 0; c < k; c++) {
                double e = r->z[pi[p] * r->ldz + c] - r->z[pj[p] * r->ldz + c];

                d2 += e * e;
            }
            v += pg[p] * d2;
            s += fabs(pg[p]) * m * m;
        }
        for (int64_t p = 0; p < nr; p++) {
            double ab = zz(r, ri[p], rj[p]), aa = zz(r, ri[p], ri[p]);
            double bb = zz(r, rj[p], rj[p]);

            v += ab * ab - aa - bb;
            s += aa * bb + aa + bb;
        }
    }
    *value = v;
    *scale = s;
    return true;
}

/* ---- The calls ---------------------------------------------------------- */

static int call(const run_t *r, pal_ctx_t *ctx, int loss, const opts_t *o,
                double *value, void *dz)
{
    const void *z = r->zbuf;

    switch (loss) {
    case VIC2:
        return dz ? pal_grad_vic2(ctx, r->g, r->dtype, r->n, r->k, z, r->ldz,
                                  o->pass, value, dz, r->lddz)
                  : pal_loss_vic2(ctx, r->g, r->dtype, r->n, r->k, z, r->ldz,
                                  o->pass, value);
    case SIMCLR:
        return dz ? pal_grad_simclr(ctx, r->g, r->dtype, r->n, r->k, z,
                                    r->ldz, o->pass, value, dz, r->lddz)
                  : pal_loss_simclr(ctx, r->g, r->dtype, r->n, r->k, z,
                                    r->ldz, o->pass, value);
    case BT:
        return dz ? pal_grad_bt(ctx, r->g, r->dtype, r->n, r->k, z, r->ldz,
                                o->pass, value, dz, r->lddz)
                  : pal_loss_bt(ctx, r->g, r->dtype, r->n, r->k, z, r->ldz,
                                o->pass, value);
    default:
        return dz ? pal_grad_pairs(ctx, r->batch, r->dtype, r->n, r->k, z,
                                   r->ldz, value, dz, r->lddz)
                  : pal_loss_pairs(ctx, r->batch, r->dtype, r->n, r->k, z,
                                   r->ldz, value);
    }
}

/* Codes loss.h lists for a loss. */
static unsigned allowed(int loss)
{
    unsigned a = BIT(PAL_E_NULL) | BIT(PAL_E_SIZE) | BIT(PAL_E_STRIDE) |
                 BIT(PAL_E_TYPE) | BIT(PAL_E_SHAPE) | BIT(PAL_E_ALIAS) |
                 BIT(PAL_E_NOMEM) | BIT(PAL_E_EMPTY) |
                 BIT(PAL_E_NONFINITE) | BIT(PAL_E_OVERFLOW) |
                 BIT(PAL_E_RANGE);

    if (loss == SIMCLR)
        a |= BIT(PAL_E_NEGATIVE) | BIT(PAL_E_ZERO_NORM);
    if (loss == BT)
        a |= BIT(PAL_E_ZERO_NORM);
    if (loss == PAIRS)
        a |= BIT(PAL_E_INDEX);
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {256, 1024, 4096, 16384, 65536, 1 << 20};
    static const double sentinel = -777.25;
    run_t *r = calloc(1, sizeof *r);
    pal_ctx_t *ctx = NULL;
    opts_t o;
    int loss, rc1, rc2;
    unsigned checks;
    size_t limit;
    uint8_t b;
    double v1 = 12345.5, v2 = 12345.5, want, scale;
    void *dz, *dz0;
    size_t dzbytes;
    bool null_value;

    FUZZ_CHECK(r != NULL);
    fuzz_in_init(&r->in, data, size);
    b = fuzz_u8(&r->in);
    r->dtype = b < 250 ? (b & 1 ? PAL_F32 : PAL_F64)
                       : (pal_dtype_t)(b == 250 ? 0 : 3);
    r->n = fuzz_range(&r->in, 1, MAX_N);
    r->k = fuzz_range(&r->in, 1, MAX_K);
    r->ldz = r->k + fuzz_below(&r->in, 4);
    b = fuzz_u8(&r->in);
    r->lddz = b < 250 ? r->k + b % 4 : r->k - 1;
    loss = (int)(fuzz_u8(&r->in) % 4);
    b = fuzz_u8(&r->in);
    checks = b < 128 ? 0 : b < 250 ? PAL_CHECK_FINITE : 2;
    b = fuzz_u8(&r->in);
    limit = b < 200 ? 0 : limits[b % 6];
    null_value = fuzz_u8(&r->in) < 32;

    make_z(r);
    if (loss == PAIRS) {
        make_batch(r);
        r->gn = r->n;
        r->g_finite = r->g_moderate = true;
    } else {
        make_graph(r);
    }
    make_opts(r, loss, &o);

    FUZZ_CHECK(pal_ctx_create(&ctx, NULL) == PAL_OK);
    FUZZ_CHECK(pal_ctx_set_threads(ctx, 1) == PAL_OK);
    FUZZ_CHECK(pal_ctx_set_checks(ctx, checks) ==
               (checks > 1 ? PAL_E_RANGE : PAL_OK));
    if (checks > 1)
        checks = 0;
    FUZZ_CHECK(pal_ctx_set_workspace_limit(ctx, limit) == PAL_OK);

    /* dz: every byte, padding included, starts as a sentinel. */
    dzbytes = (size_t)(r->n * (r->lddz > 0 ? r->lddz : 1)) * sizeof(double);
    dz = xcalloc(dzbytes, 1);
    dz0 = xcalloc(dzbytes, 1);
    for (size_t p = 0; p < dzbytes / sizeof(double); p++)
        ((double *)dz)[p] = sentinel;
    memcpy(dz0, dz, dzbytes);

    rc1 = call(r, ctx, loss, &o, &v1, NULL);
    rc2 = call(r, ctx, loss, &o, null_value ? NULL : &v2, dz);

    FUZZ_CHECK(rc1 == PAL_OK || (rc1 < 0 && (allowed(loss) & BIT(rc1))));
    FUZZ_CHECK(rc2 == PAL_OK || (rc2 < 0 && (allowed(loss) & BIT(rc2))));
    if (rc1 != rc2 && r->lddz >= r->k)
        FUZZ_CHECK(rc1 == PAL_E_NOMEM || rc2 == PAL_E_NOMEM ||
                   (rc1 == PAL_OK && rc2 == PAL_E_OVERFLOW && checks));
    if (r->lddz < r->k)
        FUZZ_CHECK(rc2 != PAL_OK);

    /* Valid, moderate input that the losses cannot refuse. */
    if (o.valid && r->gn == r->n && limit == 0 && r->z_moderate &&
        r->g_moderate && pal_dtype_size(r->dtype) != 0) {
        bool must = false;

        if (loss == VIC2)
            must = !o.vic2.offdiag && !pal_graph_is_empty(r->g);
        else if (loss == BT)
            must = o.bt.eps > 0.0 && !pal_graph_is_empty(r->g);
        else if (loss == PAIRS) {
            const int64_t *pi, *pj, *ri, *rj;
            int64_t np, nr;

            pal_batch_pairs(r->batch, &pi, &pj, NULL, &np);
            pal_batch_regs(r->batch, &ri, &rj, &nr);
            must = np + nr > 0;
            for (int64_t p = 0; p < np; p++)
                must = must && pi[p] < r->n && pj[p] < r->n;
            for (int64_t p = 0; p < nr; p++)
                must = must && ri[p] < r->n && rj[p] < r->n;
        }
        if (must) {
            FUZZ_CHECK(rc1 == PAL_OK);
            FUZZ_CHECK(rc2 == PAL_OK || r->lddz < r->k);
        }
    }

    /* Every error has a cause in the input. */
    {
        const int rcs[2] = {rc1, rc2};

        for (int q = 0; q < 2; q++) {
            int rc = rcs[q];

            if (rc == PAL_E_RANGE)
                FUZZ_CHECK(!o.valid);
            if (rc == PAL_E_TYPE)
                FUZZ_CHECK(pal_dtype_size(r->dtype) == 0);
            if (rc == PAL_E_STRIDE)
                FUZZ_CHECK(r->lddz < r->k);
            if (rc == PAL_E_SHAPE)
                FUZZ_CHECK(r->gn != r->n);
            if (rc == PAL_E_NOMEM)
                FUZZ_CHECK(limit > 0);
            if (rc == PAL_E_NONFINITE)
                FUZZ_CHECK(!r->z_finite || !r->g_finite);
            if (rc == PAL_E_OVERFLOW)
                FUZZ_CHECK(!(r->z_moderate && r->g_moderate) ||
                           (loss == PAIRS));
            if (rc == PAL_E_NEGATIVE)
                FUZZ_CHECK(loss == SIMCLR && !pal_graph_is_nonnegative(r->g));
            if (rc == PAL_E_ZERO_NORM)
                FUZZ_CHECK(loss == SIMCLR ? o.simclr.eps == 0.0
                                          : o.bt.eps == 0.0);
            if (rc == PAL_E_INDEX || (rc == PAL_E_EMPTY && loss == PAIRS)) {
                FUZZ_CHECK(loss == PAIRS);
            } else if (rc == PAL_E_EMPTY && (loss == BT ||
                                             (loss == VIC2 &&
                                              !o.vic2.offdiag))) {
                FUZZ_CHECK(pal_graph_is_empty(r->g));
            }
            if (rc == PAL_E_ALIAS || rc == PAL_E_NULL)
                FUZZ_CHECK(0);
        }
    }

    /* Untouched outputs on error; a finite, repeatable value otherwise. */
    if (rc1 != PAL_OK)
        FUZZ_CHECK(v1 == 12345.5);
    else
        FUZZ_CHECK(isfinite(v1));
    if (rc2 != PAL_OK) {
        FUZZ_CHECK(v2 == 12345.5);
        FUZZ_CHECK(memcmp(dz, dz0, dzbytes) == 0);
    } else {
        const pal_dtype_t dt = r->dtype;

        FUZZ_CHECK(null_value ? v2 == 12345.5 : isfinite(v2));
        if (rc1 == PAL_OK && !null_value)
            FUZZ_CHECK(memcmp(&v1, &v2, sizeof v1) == 0);
        for (int64_t i = 0; i < r->n; i++)
            for (int64_t c = 0; c < r->lddz; c++) {
                int64_t at = i * r->lddz + c;

                if (c >= r->k) {
                    /* The sentinel's bytes, in that element type. */
                    if (dt == PAL_F32)
                        FUZZ_CHECK(((uint32_t *)dz)[at] ==
                                   ((uint32_t *)dz0)[at]);
                    else
                        FUZZ_CHECK(((uint64_t *)dz)[at] ==
                                   ((uint64_t *)dz0)[at]);
                } else if (checks) {
                    FUZZ_CHECK(isfinite(get(dt, dz, at)));
                }
            }
        /* Bytes past the last row's elements, in the element type. */
        {
            size_t used = (size_t)(r->n * r->lddz) * pal_dtype_size(dt);

            FUZZ_CHECK(memcmp((char *)dz + used, (char *)dz0 + used,
                              dzbytes - used) == 0);
        }
    }

    /* The value against the formulas, for finite moderate input. */
    if (rc1 == PAL_OK && r->z_moderate &&
        (loss == PAIRS || r->g_moderate) &&
        reference(r, loss, &o, &want, &scale)) {
        double rtol = r->dtype == PAL_F32 ? 2e-3 : 1e-8;

        FUZZ_CHECK(fabs(v1 - want) <= rtol * scale + 1e-9);
    }

    free(dz);
    free(dz0);
    pal_ctx_destroy(ctx);
    pal_graph_destroy(r->g);
    pal_batch_destroy(r->batch);
    for (int i = 0; i < r->nkeep; i++)
        free(r->keep[i]);
    free(r->zbuf);
    free(r);
    return 0;
}
