/*
 * Losses and gradients against references written in this file straight
 * from the definitions in loss.h and SPEC section 3: O(n^2 k) sums over
 * pairs, with G expanded densely by the test (testutil.h). The library's
 * own algebra (Gram matrices, one graph product, tiles) is never reused.
 *
 * Tolerances, and why (with the worst error seen over a dozen seeds;
 * PAL_TEST_VERBOSE=1 prints this run's):
 * - float64 values: |lib - ref| <= 1e-10 * mag, where mag is the same sum
 *   taken over absolute values (for SimCLR also with 1/tau, the bound on
 *   |s_ij|), so that the bound survives cancellation. Seen: 2e-15.
 * - float64 gradients: central differences of the reference with step
 *   h = 1e-6 * max(1, |z_ic|); truncation is O(h^2) and rounding about
 *   1e-16 |L| / h, so max |g - fd| <= 1e-6 * gs, where gs is max |fd|,
 *   or 1e-3 mag / ||Z||_F (the size the loss's terms give dL/dZ) when
 *   the gradient is about zero. Seen: 1.1e-7.
 * - float32 values: |lib - ref| <= 1e-5 * mag (float products of k to n
 *   terms, reductions in double). Seen: 3e-7.
 * - float32 gradients against float64 gradients on the same input (Z is
 *   drawn exactly representable in float): max |g32 - g64| <= 5e-4 * gs;
 *   float32 rounding in the n x n similarities is amplified by 1/tau,
 *   hence the band. Seen: 6e-5.
 * - pal_loss_* and pal_grad_* (with and without the value pointer) give
 *   bitwise the same value and gradient.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

enum { L_VIC2, L_SIMCLR, L_BT, L_PAIRS };

static const char *const loss_name[4] = {"vic2", "simclr", "bt", "pairs"};

typedef struct lopts {
    int loss;
    int offdiag;               /* vic2 */
    double tau;                /* simclr */
    int self;                  /* simclr include_self */
    double eps;                /* simclr, bt */
    double lambda;             /* bt */
    int center;                /* bt */
} lopts_t;

/* One loss evaluation: options, sizes, the graph (dense for the
 * reference, the object for the library) or the batch. */
typedef struct problem {
    lopts_t o;
    int64_t n, k;
    const double *gd;
    const pal_graph_t *g;
    const pal_batch_t *batch;
} problem_t;

/* ---- References ---------------------------------------------------------- */

static double dotk(const double *a, const double *b, int64_t k)
{
    double s = 0.0;

    for (int64_t c = 0; c < k; c++)
        s += a[c] * b[c];
    return s;
}

/* sum over pairs (i, j), i != j with offdiag, of (z_i . z_j - G_ij)^2. */
static double ref_vic2(const problem_t *p, const double *z, double *mag)
{
    const int64_t n = p->n, k = p->k;
    double l = 0.0, m = 0.0;

    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            double d = 0.0, da = 0.0, e;

            if (p->o.offdiag && i == j)
                continue;
            for (int64_t c = 0; c < k; c++) {
                d += z[i * k + c] * z[j * k + c];
                da += fabs(z[i * k + c] * z[j * k + c]);
            }
            e = d - p->gd[i * n + j];
            l += e * e;
            m += (da + fabs(p->gd[i * n + j])) * (da + fabs(p->gd[i * n + j]));
        }
    }
    *mag = m;
    return l;
}

/* - sum_i sum_{j in D_i} G_ij (s_ij - LSE_i) with rows normalised by
 * max(||z_i||, eps) and s_ij = zt_i . zt_j / tau. */
static double ref_simclr(const problem_t *p, const double *z, double *mag)
{
    const int64_t n = p->n, k = p->k;
    double *zt = xmalloc((size_t)(n * k) * sizeof *zt);
    double *s = xmalloc((size_t)n * sizeof *s);
    double l = 0.0, m = 0.0;

    for (int64_t i = 0; i < n; i++) {
        double r = sqrt(dotk(z + i * k, z + i * k, k));
        double den = r > p->o.eps ? r : p->o.eps;

        for (int64_t c = 0; c < k; c++)
            zt[i * k + c] = z[i * k + c] / den;
    }
    for (int64_t i = 0; i < n; i++) {
        double top = -INFINITY, sum = 0.0, lse;

        for (int64_t j = 0; j < n; j++) {
            s[j] = dotk(zt + i * k, zt + j * k, k) / p->o.tau;
            if ((p->o.self || j != i) && s[j] > top)
                top = s[j];
        }
        for (int64_t j = 0; j < n; j++)
            if (p->o.self || j != i)
                sum += exp(s[j] - top);
        lse = top + log(sum);
        for (int64_t j = 0; j < n; j++) {
            double gij = p->gd[i * n + j];

            if ((!p->o.self && j == i) || gij == 0.0)
                continue;
            l -= gij * (s[j] - lse);
            /* 1 / tau bounds |s_ij|: the size of the terms that cancel in
             * the gradient even where s_ij - LSE_i is small. */
            m += fabs(gij) * (fabs(s[j]) + fabs(lse) + 1.0 / p->o.tau);
        }
    }
    free(zt);
    free(s);
    *mag = m;
    return l;
}

/* Columns centred (optionally) and normalised by max(||.||, eps); C =
 * Zt^T G Zt; sum_k (C_kk - 1)^2 + lambda sum_{k != l} C_kl^2. */
static double ref_bt(const problem_t *p, const double *z, double *mag)
{
    const int64_t n = p->n, k = p->k;
    double *zt = xmalloc((size_t)(n * k) * sizeof *zt);
    double *h = xmalloc((size_t)(n * k) * sizeof *h);
    double *ha = xmalloc((size_t)(n * k) * sizeof *ha);
    double l = 0.0, m = 0.0;

    for (int64_t c = 0; c < k; c++) {
        double mean = 0.0, r = 0.0, den;

        for (int64_t i = 0; p->o.center && i < n; i++)
            mean += z[i * k + c] / (double)n;
        for (int64_t i = 0; i < n; i++) {
            zt[i * k + c] = z[i * k + c] - mean;
            r += zt[i * k + c] * zt[i * k + c];
        }
        r = sqrt(r);
        den = r > p->o.eps ? r : p->o.eps;
        for (int64_t i = 0; i < n; i++)
            zt[i * k + c] /= den;
    }
    /* h_il = sum_j G_ij zt_jl, so that C_kl = sum_i zt_ik h_il. */
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < k; c++) {
            double v = 0.0, va = 0.0;

            for (int64_t j = 0; j < n; j++) {
                v += p->gd[i * n + j] * zt[j * k + c];
                va += fabs(p->gd[i * n + j] * zt[j * k + c]);
            }
            h[i * k + c] = v;
            ha[i * k + c] = va;
        }
    }
    for (int64_t a = 0; a < k; a++) {
        for (int64_t b = 0; b < k; b++) {
            double c = 0.0, ca = 0.0;

            for (int64_t i = 0; i < n; i++) {
                c += zt[i * k + a] * h[i * k + b];
                ca += fabs(zt[i * k + a]) * ha[i * k + b];
            }
            if (a == b) {
                l += (c - 1.0) * (c - 1.0);
                m += (ca + 1.0) * (ca + 1.0);
            } else {
                l += p->o.lambda * c * c;
                m += p->o.lambda * ca * ca;
            }
        }
    }
    free(zt);
    free(h);
    free(ha);
    *mag = m;
    return l;
}

/* sum_I g ||z_i - z_j||^2 + sum_J (z_i . z_j)^2 - ||z_i||^2 - ||z_j||^2. */
static double ref_pairs(const problem_t *p, const double *z, double *mag)
{
    const int64_t k = p->k;
    const int64_t *pi, *pj, *ri, *rj;
    const double *pg;
    int64_t np, nr;
    double l = 0.0, m = 0.0;

    ck_status(pal_batch_pairs(p->batch, &pi, &pj, &pg, &np), PAL_OK);
    ck_status(pal_batch_regs(p->batch, &ri, &rj, &nr), PAL_OK);
    for (int64_t q = 0; q < np; q++) {
        double d2 = 0.0;

        for (int64_t c = 0; c < k; c++) {
            double e = z[pi[q] * k + c] - z[pj[q] * k + c];

            d2 += e * e;
        }
        l += pg[q] * d2;
        m += fabs(pg[q]) * d2;
    }
    for (int64_t q = 0; q < nr; q++) {
        const double *a = z + ri[q] * k, *b = z + rj[q] * k;
        double ab = dotk(a, b, k), aa = dotk(a, a, k), bb = dotk(b, b, k);

        l += ab * ab - aa - bb;
        m += ab * ab + aa + bb;
    }
    *mag = m;
    return l;
}

static double ref_loss(const problem_t *p, const double *z, double *mag)
{
    double unused;

    if (!mag)
        mag = &unused;
    switch (p->o.loss) {
    case L_VIC2:
        return ref_vic2(p, z, mag);
    case L_SIMCLR:
        return ref_simclr(p, z, mag);
    case L_BT:
        return ref_bt(p, z, mag);
    default:
        return ref_pairs(p, z, mag);
    }
}

/* Central differences of the reference (see the header comment). */
static void fd_gradient(const problem_t *p, const double *z, double *out)
{
    const int64_t nk = p->n * p->k;
    double *w = xmalloc((size_t)nk * sizeof *w);

    memcpy(w, z, (size_t)nk * sizeof *w);
    for (int64_t q = 0; q < nk; q++) {
        double h = 1e-6 * fmax(1.0, fabs(z[q])), up, down;

        w[q] = z[q] + h;
        up = ref_loss(p, w, NULL);
        w[q] = z[q] - h;
        down = ref_loss(p, w, NULL);
        w[q] = z[q];
        out[q] = (up - down) / (2.0 * h);
    }
    free(w);
}

/* max |a - b| / max(max |b|, floor) over n x k contiguous matrices;
 * infinite when an entry is NaN (which fmax alone would skip). */
static double rel_err(const double *a, const double *b, int64_t nk,
                      double floor)
{
    double scale = floor, worst = 0.0;

    for (int64_t q = 0; q < nk; q++)
        scale = fmax(scale, fabs(b[q]));
    for (int64_t q = 0; q < nk; q++) {
        if (isnan(a[q]) || isnan(b[q]))
            return INFINITY;
        worst = fmax(worst, fabs(a[q] - b[q]));
    }
    return worst / scale;
}

/* ---- Calling the library ------------------------------------------------- */

static int call_loss(pal_ctx_t *ctx, const problem_t *p, pal_dtype_t t,
                     const void *z, int64_t ldz, double *value)
{
    switch (p->o.loss) {
    case L_VIC2: {
        pal_vic2_opts_t o;

        pal_vic2_opts_init(&o);
        o.offdiag = p->o.offdiag;
        return pal_loss_vic2(ctx, p->g, t, p->n, p->k, z, ldz, &o, value);
    }
    case L_SIMCLR: {
        pal_simclr_opts_t o;

        pal_simclr_opts_init(&o);
        o.tau = p->o.tau;
        o.include_self = p->o.self;
        o.eps = p->o.eps;
        return pal_loss_simclr(ctx, p->g, t, p->n, p->k, z, ldz, &o, value);
    }
    case L_BT: {
        pal_bt_opts_t o;

        pal_bt_opts_init(&o);
        o.lambda = p->o.lambda;
        o.center = p->o.center;
        o.eps = p->o.eps;
        return pal_loss_bt(ctx, p->g, t, p->n, p->k, z, ldz, &o, value);
    }
    default:
        return pal_loss_pairs(ctx, p->batch, t, p->n, p->k, z, ldz, value);
    }
}

static int call_grad(pal_ctx_t *ctx, const problem_t *p, pal_dtype_t t,
                     const void *z, int64_t ldz, double *value, void *dz,
                     int64_t lddz)
{
    switch (p->o.loss) {
    case L_VIC2: {
        pal_vic2_opts_t o;

        pal_vic2_opts_init(&o);
        o.offdiag = p->o.offdiag;
        return pal_grad_vic2(ctx, p->g, t, p->n, p->k, z, ldz, &o, value, dz,
                             lddz);
    }
    case L_SIMCLR: {
        pal_simclr_opts_t o;

        pal_simclr_opts_init(&o);
        o.tau = p->o.tau;
        o.include_self = p->o.self;
        o.eps = p->o.eps;
        return pal_grad_simclr(ctx, p->g, t, p->n, p->k, z, ldz, &o, value,
                               dz, lddz);
    }
    case L_BT: {
        pal_bt_opts_t o;

        pal_bt_opts_init(&o);
        o.lambda = p->o.lambda;
        o.center = p->o.center;
        o.eps = p->o.eps;
        return pal_grad_bt(ctx, p->g, t, p->n, p->k, z, ldz, &o, value, dz,
                           lddz);
    }
    default:
        return pal_grad_pairs(ctx, p->batch, t, p->n, p->k, z, ldz, value, dz,
                              lddz);
    }
}

#define SENTINEL 3.25

/*
 * Run the library in type t on z (n x k contiguous doubles, exact in
 * float). Z is handed over with a padded stride whose padding is NaN,
 * dz with a padded stride whose padding must survive and whose entries
 * start as NaN (dz is overwritten, never accumulated into). The value-only
 * call, the fused call and the fused call without a value pointer must
 * agree bitwise. Returns the status (the same for all three calls); on
 * success value and dz (n x k contiguous) hold the results.
 */
static int lib_run_mode(pal_ctx_t *ctx, const problem_t *p, pal_dtype_t t,
                        const double *z, double *value, double *dz,
                        int grad_only)
{
    const int64_t n = p->n, k = p->k, ldz = k + 2, lddz = k + 1;
    const size_t elem = pal_dtype_size(t);
    char *zb = xmalloc((size_t)(n * ldz) * elem);
    char *db = xmalloc((size_t)(n * lddz) * elem);
    char *db2 = xmalloc((size_t)(n * lddz) * elem);
    double v1 = -1.0, v2 = -2.0;
    int rc1, rc2, rc3;

    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < ldz; c++) {
            double v = c < k ? z[i * k + c] : NAN;

            if (t == PAL_F32)
                ((float *)zb)[i * ldz + c] = (float)v;
            else
                ((double *)zb)[i * ldz + c] = v;
        }
    }
    for (int64_t q = 0; q < n * lddz; q++) {
        double v = q % lddz < k ? NAN : SENTINEL;

        if (t == PAL_F32)
            ((float *)db)[q] = (float)v;
        else
            ((double *)db)[q] = v;
    }
    memcpy(db2, db, (size_t)(n * lddz) * elem);

    rc2 = call_grad(ctx, p, t, zb, ldz, &v2, db, lddz);
    rc3 = call_grad(ctx, p, t, zb, ldz, NULL, db2, lddz);
    rc1 = grad_only ? rc2 : call_loss(ctx, p, t, zb, ldz, &v1);
    if (grad_only)
        v1 = rc2 == PAL_OK ? v2 : -1.0;
    ck_assert_msg(rc1 == rc2 && rc2 == rc3, "statuses %s %s %s",
                  pal_status_name(rc1), pal_status_name(rc2),
                  pal_status_name(rc3));
    if (rc1 == PAL_OK) {
        ck_assert_msg(v1 == v2, "pal_loss %.17g, pal_grad %.17g", v1, v2);
        ck_assert_msg(memcmp(db, db2, (size_t)(n * lddz) * elem) == 0,
                      "gradient depends on the value pointer");
        *value = v1;
        for (int64_t i = 0; i < n; i++) {
            for (int64_t c = 0; c < lddz; c++) {
                double v = t == PAL_F32 ? ((float *)db)[i * lddz + c]
                                        : ((double *)db)[i * lddz + c];

                if (c < k)
                    ck_assert_msg(!isnan(dz[i * k + c] = v),
                                  "dz (%lld, %lld) not written",
                                  (long long)i, (long long)c);
                else
                    ck_assert_msg(v == SENTINEL, "dz padding overwritten");
            }
        }
    } else {
        /* Failed calls leave their outputs alone. */
        ck_assert(v1 == -1.0 && v2 == -2.0);
        for (int64_t q = 0; q < n * lddz; q++) {
            double v = t == PAL_F32 ? ((float *)db)[q] : ((double *)db)[q];

            ck_assert(q % lddz < k ? isnan(v) : v == SENTINEL);
        }
        ck_assert(memcmp(db, db2, (size_t)(n * lddz) * elem) == 0);
    }
    free(zb);
    free(db);
    free(db2);
    return rc1;
}

static int lib_run(pal_ctx_t *ctx, const problem_t *p, pal_dtype_t t,
                   const double *z, double *value, double *dz)
{
    return lib_run_mode(ctx, p, t, z, value, dz, 0);
}

/* Worst errors seen, relative to their tolerance, printed with
 * PAL_TEST_VERBOSE set. */
static double worst_val64, worst_fd, worst_val32, worst_g32;

static int problems_checked;

static void report_worst(const char *test)
{
    if (getenv("PAL_TEST_VERBOSE"))
        printf("%s: %d problems; worst f64 value %.2g, fd %.2g, f32 value "
               "%.2g, f32 grad %.2g\n",
               test, problems_checked, worst_val64, worst_fd, worst_val32,
               worst_g32);
}

#define TOL_VAL64 1e-10
#define TOL_FD 1e-6
#define TOL_VAL32 1e-5
#define TOL_G32 5e-4

/*
 * The full check of one problem on z (n x k contiguous, exact in float):
 * float64 value against the reference and gradient against central
 * differences; float32 value against the reference and gradient against
 * the float64 one.
 */
static void check_problem(pal_ctx_t *ctx, const problem_t *p,
                          const double *z, const char *what)
{
    const int64_t nk = p->n * p->k;
    double *dz = xmalloc((size_t)nk * sizeof *dz);
    double *dz32 = xmalloc((size_t)nk * sizeof *dz32);
    double *fd = xmalloc((size_t)nk * sizeof *fd);
    double mag, ref = ref_loss(p, z, &mag), v = NAN, v32 = NAN, e;
    double zn = 0.0, floor;
    int rc;

    rc = lib_run(ctx, p, PAL_F64, z, &v, dz);
    ck_assert_msg(rc == PAL_OK, "%s: %s", what, pal_status_name(rc));
    e = fabs(v - ref) / (TOL_VAL64 * mag + 1e-300);
    worst_val64 = fmax(worst_val64, e * TOL_VAL64);
    ck_assert_msg(e <= 1.0, "%s: f64 value %.17g, reference %.17g (mag %g)",
                  what, v, ref, mag);

    /* Gradients are compared relative to their largest entry, or to
     * mag / ||Z||_F (the size of dL/dZ the loss's terms suggest) when
     * the gradient is about zero. */
    for (int64_t q = 0; q < nk; q++)
        zn += z[q] * z[q];
    floor = 1e-3 * mag / fmax(sqrt(zn), 1e-300);
    fd_gradient(p, z, fd);
    e = rel_err(dz, fd, nk, floor);
    worst_fd = fmax(worst_fd, e);
    ck_assert_msg(e <= TOL_FD, "%s: f64 gradient vs differences: %.3g",
                  what, e);

    ck_status(lib_run(ctx, p, PAL_F32, z, &v32, dz32), PAL_OK);
    e = fabs(v32 - ref) / (TOL_VAL32 * mag + 1e-300);
    worst_val32 = fmax(worst_val32, e * TOL_VAL32);
    ck_assert_msg(e <= 1.0, "%s: f32 value %.9g, reference %.17g (mag %g)",
                  what, v32, ref, mag);
    e = rel_err(dz32, dz, nk, floor);
    worst_g32 = fmax(worst_g32, e);
    ck_assert_msg(e <= TOL_G32, "%s: f32 gradient vs f64: %.3g", what, e);

    problems_checked++;
    free(dz);
    free(dz32);
    free(fd);
}

/* ---- Graphs and options -------------------------------------------------- */

enum {
    G_DENSE_SYM,
    G_DENSE32_ASYM,
    G_DENSE_SIGNED,
    G_CSR,
    G_CSR_ONES_SYM,
    G_LABELS,
    G_SSL,
    G_SSL_SHUFFLED,
    G_MIXED,
    G_BLOCKS,
    G_SUPERVISED,
    G_CONTRASTIVE,
    G_EVERY_KIND,
    N_GRAPHS
};

static const char *const graph_name[N_GRAPHS] = {
    "dense symmetric", "dense f32 non-symmetric", "dense signed",
    "csr non-symmetric", "csr ones symmetric", "labels", "ssl",
    "ssl shuffled", "0.7 ssl + 0.3 labels + 0.1 I", "blocks",
    "supervised", "2 Y Y^T - 1", "every kind"};

/* Graphs with negative entries, which SimCLR rejects. */
static int signed_graph(int which)
{
    return which == G_DENSE_SIGNED || which == G_CONTRASTIVE ||
           which == G_EVERY_KIND;
}

/* Labels for n items over three classes, with an unknown item 0 and a
 * singleton item 1 (rows with no positive). */
static void loss_labels(trng_t *r, int32_t *y, int64_t n)
{
    random_labels(r, y, n, 3, 0.15);
    if (n > 2) {
        y[0] = -1;
        y[1] = label_value(9);
    }
}

/* Describe graph `which` on n items (n a multiple of 3). */
static void make_graph(tgraph_t *tg, trng_t *r, int which, int64_t n)
{
    int32_t *y = xmalloc((size_t)n * sizeof *y);
    int64_t *src = xmalloc((size_t)n * sizeof *src);
    static const int32_t ba[5] = {7, 7, 3, 1000000, 3};
    static const int32_t bb[5] = {1000000, 7, 3, 1000000, 7};
    static const double bw[5] = {0.5, 1.0, 2.0, 1.5, 0.25};

    tg_init(tg, n);
    loss_labels(r, y, n);
    switch (which) {
    case G_DENSE_SYM:
        tg_dense(tg, r, 1.0, PAL_F64, 1, 1);
        break;
    case G_DENSE32_ASYM:
        tg_dense(tg, r, 0.8, PAL_F32, 0, 1);
        break;
    case G_DENSE_SIGNED:
        tg_dense(tg, r, 0.5, PAL_F64, 0, 0);
        break;
    case G_CSR:
        tg_csr(tg, r, 1.0, PAL_F64, 0.35, 0, 1);
        break;
    case G_CSR_ONES_SYM:
        tg_csr(tg, r, 1.0, 0, 0.3, 1, 1);
        break;
    case G_LABELS:
        tg_labels(tg, 1.0, y);
        break;
    case G_SSL:
        tg_ssl(tg, 3, NULL);
        break;
    case G_SSL_SHUFFLED:
        /* Sample s has 1 + s % 3 views, scattered over the rows. */
        for (int64_t i = 0, s = 0; i < n; s++)
            for (int64_t v = 0; v <= s % 3 && i < n; v++, i++)
                src[(i * 5) % n] = n - 1 - s;
        tg_ssl(tg, 0, src);
        break;
    case G_MIXED: {
        /* SSL and labels, with a per-item diagonal (non-negative, so
         * that SimCLR accepts the graph). */
        double *d = xmalloc((size_t)n * sizeof *d);

        for (int64_t i = 0; i < n; i++)
            d[i] = y[i] >= 0 ? 0.5 : 0.25;
        tg_mixture(tg, 0.3, 3, NULL, y);
        tg_identity(tg, 0.1);
        tg_diagonal(tg, 0.2, d);
        free(d);
        break;
    }
    case G_BLOCKS:
        random_labels(r, y, n, 3, 0.1);
        tg_blocks(tg, 1.0, y, 5, ba, bb, bw);
        break;
    case G_SUPERVISED:
        tg_supervised(tg, y, 3);
        break;
    case G_CONTRASTIVE:
        tg_labels(tg, 2.0, y);
        tg_constant(tg, -1.0);
        break;
    default:
        tg_dense(tg, r, 0.3, PAL_F32, 1, 0);
        tg_csr(tg, r, -0.5, PAL_F64, 0.3, 0, 0);
        tg_labels(tg, 1.0, y);
        tg_blocks(tg, 0.5, y, 5, ba, bb, bw);
        tg_constant(tg, -0.2);
        tg_identity(tg, 0.7);
        break;
    }
    free(y);
    free(src);
}

/* The option sets of SPEC 3.1-3.3 the tests run. */
static const lopts_t option_sets[] = {
    {L_VIC2, 0, 0, 0, 0, 0, 0},
    {L_VIC2, 1, 0, 0, 0, 0, 0},
    {L_SIMCLR, 0, 0.5, 0, 0, 0, 0},
    {L_SIMCLR, 0, 0.5, 1, 0, 0, 0},
    {L_SIMCLR, 0, 0.1, 0, 0, 0, 0},
    {L_SIMCLR, 0, 0.1, 1, 0, 0, 0},
    {L_BT, 0, 0, 0, 0, 1.0, 0},
    {L_BT, 0, 0, 0, 0, 1.0, 1},
    {L_BT, 0, 0, 0, 0, 0.005, 0},
    {L_BT, 0, 0, 0, 0, 0.005, 1},
};

#define N_OPTION_SETS ((int)(sizeof option_sets / sizeof option_sets[0]))

static void describe(char *buf, size_t size, const lopts_t *o,
                     const char *graph, int64_t n, int64_t k)
{
    snprintf(buf, size,
             "%s (offdiag %d tau %g self %d eps %g lambda %g center %d) on "
             "%s, n %lld k %lld",
             loss_name[o->loss], o->offdiag, o->tau, o->self, o->eps,
             o->lambda, o->center, graph, (long long)n, (long long)k);
}

/* Z: n x k, N(0, 1), exact in float. */
static double *random_z(trng_t *r, int64_t n, int64_t k)
{
    double *z = xmalloc((size_t)(n * k) * sizeof *z);

    fill_normal(r, z, n, k, k, 1.0);
    round_to_float(z, n, k, k);
    return z;
}

/* Every graph with every option set. */
START_TEST(graph_losses_against_references)
{
    const int64_t n = 9, k = 4;
    pal_ctx_t *ctx;
    trng_t r;
    char what[256];

    trng_seed(&r, test_seed() + 10);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int gi = 0; gi < N_GRAPHS; gi++) {
        tgraph_t tg;
        pal_graph_t *g;
        double *gd = xmalloc((size_t)(n * n) * sizeof *gd);
        double *z = random_z(&r, n, k);

        make_graph(&tg, &r, gi, n);
        tg_expand(&tg, gd);
        g = tg_build(&tg);
        for (int oi = 0; oi < N_OPTION_SETS; oi++) {
            problem_t p = {option_sets[oi], n, k, gd, g, NULL};

            if (p.o.loss == L_SIMCLR && signed_graph(gi))
                continue;
            describe(what, sizeof what, &p.o, graph_name[gi], n, k);
            check_problem(ctx, &p, z, what);
        }
        pal_graph_destroy(g);
        tg_free(&tg);
        free(gd);
        free(z);
    }
    pal_ctx_destroy(ctx);
    report_worst("graph losses");
}
END_TEST

/* A random batch over n items: weighted pairs (some (i, i), some
 * repeated, some negative weights) and regulariser pairs. */
static void random_batch(trng_t *r, pal_batch_t *b, int64_t n, int64_t np,
                         int64_t nr)
{
    for (int64_t q = 0; q < np; q++) {
        int64_t i = trng_below(r, n), j = q % 5 == 0 ? i : trng_below(r, n);

        ck_status(pal_batch_add_pair(b, i, j, trng_normal(r)), PAL_OK);
    }
    if (np > 1)
        ck_status(pal_batch_add_pair(b, 0, n - 1, 0.75), PAL_OK);
    for (int64_t q = 0; q < nr; q++) {
        int64_t i = trng_below(r, n), j = q % 4 == 0 ? i : trng_below(r, n);

        ck_status(pal_batch_add_reg(b, i, j), PAL_OK);
    }
}

START_TEST(pairs_against_reference)
{
    static const int64_t counts[][2] = {{12, 10}, {7, 0}, {0, 9}, {1, 1}};
    pal_ctx_t *ctx;
    trng_t r;
    char what[128];

    trng_seed(&r, test_seed() + 11);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        for (int64_t n = 3; n <= 11; n += 8) {
            pal_batch_t *b;
            double *z = random_z(&r, n, 5);
            problem_t p = {{L_PAIRS, 0, 0, 0, 0, 0, 0}, n, 5, NULL, NULL,
                           NULL};

            ck_status(pal_batch_create(&b, NULL), PAL_OK);
            random_batch(&r, b, n, counts[c][0], counts[c][1]);
            p.batch = b;
            snprintf(what, sizeof what, "pairs |I| %lld |J| %lld n %lld",
                     (long long)counts[c][0], (long long)counts[c][1],
                     (long long)n);
            check_problem(ctx, &p, z, what);
            pal_batch_destroy(b);
            free(z);
        }
    }
    pal_ctx_destroy(ctx);
    report_worst("pairs");
}
END_TEST

/*
 * Norm floors: a zero row (SimCLR) or a zero column (BarlowTwins; a
 * constant one when centred) is refused without eps and accepted with
 * eps > 0. Rows and columns whose norm is under eps are divided by eps
 * instead: a zero row, and rows or columns of norm about 1e-3, whose
 * gradient then goes through the floor (that of an exactly zero column
 * is zero). The perturbations of the differences (about 1e-6) keep every
 * norm on its side of eps = 0.1.
 */
START_TEST(norm_floor_eps)
{
    const int64_t n = 9, k = 4;
    pal_ctx_t *ctx;
    trng_t r;
    char what[256];

    trng_seed(&r, test_seed() + 12);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int gi = 0; gi < 3; gi++) {
        static const int graphs[3] = {G_LABELS, G_DENSE32_ASYM, G_MIXED};
        tgraph_t tg;
        pal_graph_t *g;
        double *gd = xmalloc((size_t)(n * n) * sizeof *gd);
        double *z = random_z(&r, n, k), *zc = random_z(&r, n, k);
        double *zb = random_z(&r, n, k);

        make_graph(&tg, &r, graphs[gi], n);
        tg_expand(&tg, gd);
        g = tg_build(&tg);
        for (int64_t c = 0; c < k; c++) {
            z[2 * k + c] = 0.0;
            z[5 * k + c] = (float)(z[5 * k + c] * 4e-4);
        }
        for (int64_t i = 0; i < n; i++) {
            zc[i * k + 1] = 0.0;
            zc[i * k + 3] = 1.5;
            zb[i * k + 1] = (float)(zb[i * k + 1] * 4e-4);
            zb[i * k + 3] = (float)(1.5 + zb[i * k + 3] * 4e-4);
        }
        for (int oi = 0; oi < N_OPTION_SETS; oi++) {
            problem_t p = {option_sets[oi], n, k, gd, g, NULL};

            if (p.o.loss == L_VIC2)
                continue;
            p.o.eps = 0.1;
            describe(what, sizeof what, &p.o, graph_name[graphs[gi]], n, k);
            /* Without the floor the same input is refused. */
            {
                problem_t q = p;
                double v, *dz = xmalloc((size_t)(n * k) * sizeof *dz);

                q.o.eps = 0.0;
                ck_status(lib_run(ctx, &q, PAL_F64,
                                  p.o.loss == L_SIMCLR ? z : zc, &v, dz),
                          PAL_E_ZERO_NORM);
                free(dz);
            }
            /* Column 1 of zb is small, and column 3 once centred. */
            check_problem(ctx, &p, p.o.loss == L_SIMCLR ? z : zb, what);
        }
        pal_graph_destroy(g);
        tg_free(&tg);
        free(gd);
        free(z);
        free(zc);
        free(zb);
    }
    pal_ctx_destroy(ctx);
    report_worst("eps");
}
END_TEST

/*
 * A row with no positive: item 0 has an unknown label and item 1 is the
 * only one of its class, so d_0 = d_1 = 0 (without the self term). Such
 * a row adds nothing to the SimCLR loss (its own sum over j is empty of
 * weight) and receives a gradient only as a negative, through the
 * denominators of the other rows: its gradient is not zero.
 */
START_TEST(row_without_positive)
{
    const int64_t n = 6, k = 3;
    static const int32_t y[6] = {-1, 42, 7, 7, 1000000, 1000000};
    pal_ctx_t *ctx;
    pal_graph_t *g;
    tgraph_t tg;
    double gd[36], dz[18], v, rows[6];
    trng_t r;
    double *z;

    trng_seed(&r, test_seed() + 13);
    z = random_z(&r, n, k);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    tg_init(&tg, n);
    tg_labels(&tg, 1.0, y);
    tg_expand(&tg, gd);
    g = tg_build(&tg);
    ck_status(pal_graph_row_sums(g, rows), PAL_OK);
    ck_assert_double_eq(rows[0], 0.0);
    ck_assert_double_eq(rows[1], 1.0);  /* only its own diagonal */
    for (int self = 0; self < 2; self++) {
        problem_t p = {{L_SIMCLR, 0, 0.2, self, 0, 0, 0}, n, k, gd, g, NULL};
        double mag, ref = ref_loss(&p, z, &mag);

        check_problem(ctx, &p, z, self ? "no positive, self" : "no positive");
        ck_status(lib_run(ctx, &p, PAL_F64, z, &v, dz), PAL_OK);
        ck_assert_double_eq_tol(v, ref, 1e-10 * mag);
        ck_assert(fabs(dz[0]) + fabs(dz[1]) + fabs(dz[2]) > 1e-3);
    }
    pal_graph_destroy(g);
    tg_free(&tg);
    free(z);
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Sizes and context reuse --------------------------------------------- */

/* A graph on n items with some positives whatever n: labels in classes
 * of about three items. */
static void size_graph(tgraph_t *tg, int64_t n)
{
    int32_t *y = xmalloc((size_t)n * sizeof *y);

    for (int64_t i = 0; i < n; i++)
        y[i] = label_value((int)((i / 3) % 16));
    tg_init(tg, n);
    tg_labels(tg, 1.0, y);
    free(y);
}

/*
 * n = 1, 2 and odd sizes, k = 1, 3 and k > n, all through one context
 * whose workspace grows and shrinks as the sizes change (and is released
 * half-way), against the references and against a fresh context for
 * every call. Results must equal the fresh context's bitwise: the
 * workspace carries nothing from one call to the next.
 */
START_TEST(sizes_and_context_reuse)
{
    static const int64_t ns[] = {31, 1, 2, 7, 3, 31, 1};
    pal_ctx_t *shared;
    trng_t r;
    char what[256];
    int calls = 0;

    trng_seed(&r, test_seed() + 14);
    ck_status(pal_ctx_create(&shared, NULL), PAL_OK);
    for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++) {
        const int64_t n = ns[s];
        const int64_t ks[3] = {1, 3, n + 2};
        tgraph_t tg;
        pal_graph_t *g;
        pal_batch_t *b;
        double *gd = xmalloc((size_t)(n * n) * sizeof *gd);

        size_graph(&tg, n);
        tg_expand(&tg, gd);
        g = tg_build(&tg);
        ck_status(pal_batch_create(&b, NULL), PAL_OK);
        random_batch(&r, b, n, 4, 3);
        if (s == 4)
            pal_ctx_release_workspace(shared);
        for (int ki = 0; ki < 3; ki++) {
            const int64_t k = ks[ki];
            double *z = random_z(&r, n, k);

            for (int loss = 0; loss < 4; loss++) {
                problem_t p = {{loss, 0, 0.2, n == 1, 0, 0.5, n > 1}, n, k,
                               gd, g, b};
                double v1, v2;
                double *d1 = xmalloc((size_t)(n * k) * sizeof *d1);
                double *d2 = xmalloc((size_t)(n * k) * sizeof *d2);
                pal_ctx_t *fresh;

                describe(what, sizeof what, &p.o, "labels", n, k);
                check_problem(shared, &p, z, what);
                for (int t = 0; t < 2; t++) {
                    pal_dtype_t dt = t ? PAL_F32 : PAL_F64;

                    ck_status(pal_ctx_create(&fresh, NULL), PAL_OK);
                    ck_status(lib_run(shared, &p, dt, z, &v1, d1), PAL_OK);
                    ck_status(lib_run(fresh, &p, dt, z, &v2, d2), PAL_OK);
                    ck_assert_msg(v1 == v2 && memcmp(d1, d2,
                                                     (size_t)(n * k) *
                                                         sizeof *d1) == 0,
                                  "%s: reused context differs", what);
                    pal_ctx_destroy(fresh);
                    calls++;
                }
                free(d1);
                free(d2);
            }
            free(z);
        }
        pal_batch_destroy(b);
        pal_graph_destroy(g);
        tg_free(&tg);
        free(gd);
    }
    ck_assert_int_gt(calls, 0);
    pal_ctx_destroy(shared);
    report_worst("sizes");
}
END_TEST

/*
 * What a call leaves in the workspace must not reach the next call: a
 * failed VIC^2 call on a Z holding NaN leaves NaN products behind, then
 * a checked pairwise gradient (staged in that workspace) must still be
 * exact and finite.
 */
START_TEST(workspace_leftovers)
{
    const int64_t n = 8, k = 3;
    pal_ctx_t *ctx;
    pal_batch_t *b;
    tgraph_t tg;
    pal_graph_t *g;
    trng_t r;
    double *z, *bad, v, dz[24], want_dz[24], want_v;
    problem_t p = {{L_PAIRS, 0, 0, 0, 0, 0, 0}, n, k, NULL, NULL, NULL};

    trng_seed(&r, test_seed() + 18);
    z = random_z(&r, n, k);
    bad = random_z(&r, n, k);
    for (int64_t q = 0; q < n * k; q++)
        bad[q] = NAN;
    size_graph(&tg, n);
    g = tg_build(&tg);
    ck_status(pal_batch_create(&b, NULL), PAL_OK);
    random_batch(&r, b, n, 5, 5);
    p.batch = b;
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    ck_status(pal_ctx_set_checks(ctx, PAL_CHECK_FINITE), PAL_OK);
    ck_status(lib_run(ctx, &p, PAL_F64, z, &want_v, want_dz), PAL_OK);
    for (int round = 0; round < 2; round++) {
        problem_t q = {{round ? L_BT : L_VIC2, 0, 0, 0, 0, 1.0, 0}, n, k,
                       NULL, g, NULL};

        ck_status(pal_ctx_set_checks(ctx, 0), PAL_OK);
        ck_status(lib_run(ctx, &q, PAL_F64, bad, &v, dz), PAL_E_NONFINITE);
        ck_status(pal_ctx_set_checks(ctx, PAL_CHECK_FINITE), PAL_OK);
        ck_status(lib_run(ctx, &p, PAL_F64, z, &v, dz), PAL_OK);
        ck_assert(v == want_v && memcmp(dz, want_dz, sizeof dz) == 0);
    }
    pal_ctx_destroy(ctx);
    pal_batch_destroy(b);
    pal_graph_destroy(g);
    tg_free(&tg);
    free(z);
    free(bad);
}
END_TEST

/* ---- SimCLR streamed tiles ----------------------------------------------- */

/*
 * With a workspace limit too small for the n x n similarities, SimCLR
 * computes them in row tiles, twice. The smallest accepted limit gives
 * one-row tiles; a few rows more give tiles of about 4 and 17 rows (the
 * last tile shorter). Value and gradient must equal the whole-matrix
 * mode to 1e-12 in float64 (1e-5 in float32), the workspace must stay
 * under the limit and under the size of the whole matrix, and one byte
 * less than the smallest limit is PAL_E_NOMEM with dz untouched.
 */
START_TEST(simclr_streamed_tiles)
{
    const int64_t n = 50, k = 5;
    pal_ctx_t *ctx;
    trng_t r;
    tgraph_t tg;
    pal_graph_t *g;
    int32_t y[50];
    double gd[2500];
    double *z;

    trng_seed(&r, test_seed() + 15);
    z = random_z(&r, n, k);
    random_labels(&r, y, n, 6, 0.1);
    tg_init(&tg, n);
    tg_labels(&tg, 1.0, y);
    tg_dense(&tg, &r, 0.2, PAL_F64, 0, 1);
    tg_expand(&tg, gd);
    g = tg_build(&tg);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);

    for (int t = 0; t < 2; t++) {
        const pal_dtype_t dt = t ? PAL_F32 : PAL_F64;
        const size_t row = (size_t)n * pal_dtype_size(dt);
        const double tol = t ? 1e-5 : 1e-12;

        for (int self = 0; self < 2; self++) {
            problem_t p = {{L_SIMCLR, 0, 0.1, self, 0, 0, 0}, n, k, gd, g,
                           NULL};
            double whole_v, v, dzw[250], dzs[250], mag;
            size_t lo = 1, hi = (size_t)1 << 24;

            ck_status(lib_run(ctx, &p, dt, z, &whole_v, dzw), PAL_OK);
            ck_close(whole_v, ref_loss(&p, z, &mag), 0.0,
                     (t ? TOL_VAL32 : TOL_VAL64) * mag, "whole mode");

            /* The smallest limit that lets the fused call through. */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                pal_ctx_t *c;

                ck_status(pal_ctx_create(&c, NULL), PAL_OK);
                ck_status(pal_ctx_set_workspace_limit(c, mid), PAL_OK);
                if (lib_run_mode(c, &p, dt, z, &v, dzs, 1) == PAL_OK)
                    hi = mid;
                else
                    lo = mid + 1;
                pal_ctx_destroy(c);
            }

            for (int step = 0; step < 3; step++) {
                static const size_t extra_rows[3] = {0, 3, 16};
                size_t limit = lo + (step ? 1024 + extra_rows[step] * row
                                          : 0);
                pal_ctx_t *c;

                ck_status(pal_ctx_create(&c, NULL), PAL_OK);
                ck_status(pal_ctx_set_workspace_limit(c, limit), PAL_OK);
                ck_status(lib_run(c, &p, dt, z, &v, dzs), PAL_OK);
                ck_assert_uint_le(pal_ctx_workspace_size(c), limit);
                /* lo holds the rest of the workspace and one row, so the
                 * whole matrix needs at least lo + (n - 1) rows: this
                 * limit forces tiles. */
                ck_assert_uint_lt(limit - lo, (size_t)(n - 1) * row);
                ck_close(v, whole_v, tol, 0.0, "streamed value");
                ck_assert_msg(rel_err(dzs, dzw, n * k, 0.0) <= tol,
                              "%s self %d step %d: streamed gradient %.3g",
                              t ? "f32" : "f64", self, step,
                              rel_err(dzs, dzw, n * k, 0.0));
                pal_ctx_destroy(c);
            }

            /* A context that held the whole matrix shrinks to a new,
             * lower limit and streams, with the same results. */
            {
                pal_ctx_t *c;
                size_t limit = lo + 1024 + 3 * row;

                ck_status(pal_ctx_create(&c, NULL), PAL_OK);
                ck_status(lib_run(c, &p, dt, z, &v, dzs), PAL_OK);
                ck_assert_uint_gt(pal_ctx_workspace_size(c), limit);
                ck_status(pal_ctx_set_workspace_limit(c, limit), PAL_OK);
                ck_assert_uint_le(pal_ctx_workspace_size(c), limit);
                ck_status(lib_run(c, &p, dt, z, &v, dzs), PAL_OK);
                ck_assert_uint_le(pal_ctx_workspace_size(c), limit);
                ck_close(v, whole_v, tol, 0.0, "value after shrinking");
                ck_assert(rel_err(dzs, dzw, n * k, 0.0) <= tol);
                ck_status(pal_ctx_set_workspace_limit(c, 0), PAL_OK);
                ck_status(lib_run(c, &p, dt, z, &v, dzs), PAL_OK);
                ck_assert(v == whole_v &&
                          memcmp(dzs, dzw, sizeof dzs) == 0);
                pal_ctx_destroy(c);
            }

            /* One byte short: the fused call is refused, its outputs
             * untouched (lib_run_mode checks the sentinels). */
            {
                pal_ctx_t *c;

                ck_status(pal_ctx_create(&c, NULL), PAL_OK);
                ck_status(pal_ctx_set_workspace_limit(c, lo - 1), PAL_OK);
                ck_status(lib_run_mode(c, &p, dt, z, &v, dzs, 1),
                          PAL_E_NOMEM);
                pal_ctx_destroy(c);
            }
        }
    }
    pal_graph_destroy(g);
    tg_free(&tg);
    free(z);
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Numerics ------------------------------------------------------------ */

/*
 * Small temperatures in float32: rows of norm 1 in four groups of three
 * near-duplicates (noise 1e-3), so that s_ij is close to 1/tau = 100 or
 * 200 for many pairs. Two graphs: the SSL graph of the groups (Z then
 * nearly fits G and the gradient is small, the difference of terms of
 * size about d/tau that cancel) and SSL pairs across groups (a large
 * gradient). float32 must stay finite and match float64: the value
 * within 1e-5 of mag, the gradient within 1e-6 of the size of the
 * cancelling terms, 2 (max row sum + max column sum of G) / tau, and
 * within 5e-4 of its largest entry where it is not small.
 */
START_TEST(simclr_small_temperature_float32)
{
    const int64_t n = 12, k = 6;
    static const double taus[2] = {0.01, 0.005};
    pal_ctx_t *ctx;
    trng_t r;
    double z[72], base[4][6];

    trng_seed(&r, test_seed() + 16);
    fill_normal(&r, &base[0][0], 4, 6, 6, 1.0);
    for (int64_t i = 0; i < n; i++) {
        double norm = 0.0;

        for (int64_t c = 0; c < k; c++) {
            z[i * k + c] = base[i / 3][c] + 1e-3 * trng_normal(&r);
            norm += z[i * k + c] * z[i * k + c];
        }
        for (int64_t c = 0; c < k; c++)
            z[i * k + c] /= sqrt(norm);
    }
    round_to_float(z, n, k, k);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int gi = 0; gi < 2; gi++) {
        int64_t across[12];
        tgraph_t tg;
        pal_graph_t *g;
        double gd[144], sums[12], degree = 0.0;

        for (int64_t i = 0; i < n; i++)
            across[i] = i % 4;
        tg_init(&tg, n);
        tg_ssl(&tg, 3, gi ? across : NULL);
        tg_expand(&tg, gd);
        g = tg_build(&tg);
        ck_status(pal_graph_row_sums(g, sums), PAL_OK);
        for (int64_t i = 0; i < n; i++)
            degree = fmax(degree, sums[i]);
        for (int ti = 0; ti < 2; ti++) {
            for (int self = 0; self < 2; self++) {
                problem_t p = {{L_SIMCLR, 0, taus[ti], self, 0, 0, 0}, n, k,
                               gd, g, NULL};
                double v64, v32, d64[72], d32[72], mag;
                double ref = ref_loss(&p, z, &mag);
                double terms = 4.0 * degree / taus[ti];

                ck_status(lib_run(ctx, &p, PAL_F64, z, &v64, d64), PAL_OK);
                ck_status(lib_run(ctx, &p, PAL_F32, z, &v32, d32), PAL_OK);
                ck_assert(isfinite(v32) && isfinite(v64));
                for (int q = 0; q < 72; q++)
                    ck_assert(isfinite(d32[q]));
                ck_close(v64, ref, 0.0, TOL_VAL64 * mag, "f64 small tau");
                ck_close(v32, v64, 0.0, TOL_VAL32 * mag, "f32 small tau");
                ck_assert_msg(rel_err(d32, d64, n * k, terms) <= 1e-6,
                              "tau %g self %d graph %d: f32 gradient %.3g of "
                              "the terms",
                              taus[ti], self, gi,
                              rel_err(d32, d64, n * k, terms));
                if (gi == 1)
                    ck_assert_msg(rel_err(d32, d64, n * k, 0.0) <= TOL_G32,
                                  "tau %g self %d: f32 gradient %.3g",
                                  taus[ti], self,
                                  rel_err(d32, d64, n * k, 0.0));
            }
        }
        pal_graph_destroy(g);
        tg_free(&tg);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/*
 * Normalisation makes SimCLR invariant to the scale of each row and
 * BarlowTwins to the scale of each column: multiplying row (column) i by
 * c leaves the value and the other rows (columns) of the gradient as
 * they were, and divides that row (column) of the gradient by c. Scales
 * bring norms to about 100 and 1e-8. In float64 the value agrees to
 * 1e-11 and each gradient entry to 1e-9; in float32 (where the scaled
 * input is rounded again) to 1e-5 of mag and 5e-4 of the largest entry.
 */
START_TEST(scale_invariance)
{
    const int64_t n = 9, k = 4;
    pal_ctx_t *ctx;
    trng_t r;
    tgraph_t tg;
    pal_graph_t *g;
    double gd[81], *z, zs[36], d0[36], d1[36], v0, v1;

    trng_seed(&r, test_seed() + 17);
    z = random_z(&r, n, k);
    make_graph(&tg, &r, G_MIXED, n);
    tg_expand(&tg, gd);
    g = tg_build(&tg);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int oi = 0; oi < 2 * N_OPTION_SETS; oi++) {
        problem_t p = {option_sets[oi / 2], n, k, gd, g, NULL};
        const int rows = p.o.loss == L_SIMCLR, f32 = oi % 2;
        const pal_dtype_t dt = f32 ? PAL_F32 : PAL_F64;
        double c[2], mag, gmax = 0.0;
        int at[2] = {3, 1};

        if (p.o.loss == L_VIC2)
            continue;
        ref_loss(&p, z, &mag);
        ck_status(lib_run(ctx, &p, dt, z, &v0, d0), PAL_OK);
        for (int q = 0; q < 36; q++)
            gmax = fmax(gmax, fabs(d0[q]));

        /* Scales that make the norms about 100 and 1e-8. */
        memcpy(zs, z, sizeof zs);
        for (int s = 0; s < 2; s++) {
            double norm = 0.0;

            for (int64_t q = 0; q < (rows ? k : n); q++) {
                double x = rows ? z[at[s] * k + q] : z[q * k + at[s]];

                norm += x * x;
            }
            c[s] = (s ? 1e-8 : 100.0) / sqrt(norm);
            for (int64_t q = 0; q < (rows ? k : n); q++)
                zs[rows ? at[s] * k + q : q * k + at[s]] *= c[s];
        }
        ck_status(lib_run(ctx, &p, dt, zs, &v1, d1), PAL_OK);
        if (f32)
            ck_close(v1, v0, 0.0, TOL_VAL32 * mag, "scaled value, f32");
        else
            ck_close(v1, v0, 1e-11, 0.0, "scaled value");
        for (int64_t i = 0; i < n; i++) {
            for (int64_t q = 0; q < k; q++) {
                int64_t line = rows ? i : q;
                double f = line == at[0] ? c[0] : line == at[1] ? c[1] : 1.0;

                /* d1 = d0 / f. */
                ck_assert_msg(fabs(d1[i * k + q] * f - d0[i * k + q]) <=
                                  (f32 ? TOL_G32 * gmax
                                       : 1e-9 * (fabs(d0[i * k + q]) +
                                                 1e-3)),
                              "%s %s: scaled gradient (%lld, %lld): %.17g vs "
                              "%.17g",
                              loss_name[p.o.loss], f32 ? "f32" : "f64",
                              (long long)i, (long long)q,
                              d1[i * k + q] * f, d0[i * k + q]);
            }
        }
    }
    pal_graph_destroy(g);
    tg_free(&tg);
    free(z);
    pal_ctx_destroy(ctx);
}
END_TEST

/*
 * Norms of float64 rows and columns beyond 1e154 (whose squares overflow)
 * and below 1e-154 (whose squares underflow): SimCLR and BarlowTwins are
 * scale-invariant, so the values must equal those of moderate inputs and
 * the gradients scale by 1/c.
 */
START_TEST(extreme_norms_float64)
{
    static const double scales[] = {1e200, 1e-200, 1e300};
    const int64_t n = 5, k = 3;
    double z[15], zs[15], dz[15], dzs[15], v, vs;
    int32_t y[5] = {0, 1, 0, 1, 1};
    pal_ctx_t *ctx;
    pal_graph_t *g;
    trng_t r;

    trng_seed(&r, test_seed() + 31);
    fill_normal(&r, z, n, k, k, 1.0);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    ck_status(pal_graph_create(&g, n, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
    for (size_t c = 0; c < sizeof scales / sizeof scales[0]; c++) {
        /* SimCLR: scale row 2 only. */
        memcpy(zs, z, sizeof z);
        for (int64_t j = 0; j < k; j++)
            zs[2 * k + j] *= scales[c];
        ck_status(pal_grad_simclr(ctx, g, PAL_F64, n, k, z, k, NULL, &v, dz,
                                  k),
                  PAL_OK);
        ck_status(pal_grad_simclr(ctx, g, PAL_F64, n, k, zs, k, NULL, &vs,
                                  dzs, k),
                  PAL_OK);
        ck_close(vs, v, 1e-13, 0.0, "simclr with a scaled row");
        for (int64_t j = 0; j < k; j++)
            ck_close(dzs[2 * k + j] * scales[c], dz[2 * k + j], 1e-10,
                     1e-12, "simclr gradient of the scaled row");

        /* BarlowTwins: scale column 1 only. */
        memcpy(zs, z, sizeof z);
        for (int64_t i = 0; i < n; i++)
            zs[i * k + 1] *= scales[c];
        ck_status(pal_grad_bt(ctx, g, PAL_F64, n, k, z, k, NULL, &v, dz, k),
                  PAL_OK);
        ck_status(pal_grad_bt(ctx, g, PAL_F64, n, k, zs, k, NULL, &vs, dzs,
                              k),
                  PAL_OK);
        ck_close(vs, v, 1e-13, 1e-15, "bt with a scaled column");
        for (int64_t i = 0; i < n; i++)
            ck_close(dzs[i * k + 1] * scales[c], dz[i * k + 1], 1e-10,
                     1e-12, "bt gradient of the scaled column");
    }
    pal_graph_destroy(g);
    pal_ctx_destroy(ctx);
}
END_TEST

/*
 * SimCLR at sizes where the whole-matrix kernels use their full vector
 * tiles and blocks (n = 200 is 3 blocks of 64 and a tail), with dense
 * terms of both types (one folded into the elementwise passes, one
 * multiplied): the whole mode must equal the streamed mode, which takes
 * another route (graph products, row tiles), to rounding.
 */
/* Whole vs streamed on n rows (odd n leaves edges to every vector
 * kernel), with two dense terms that are folded in whole mode (of each
 * type, symmetric or not) and a label term; whole on 1 and 2 threads
 * must give the same bits. */
static void whole_vs_streamed(int64_t n, int sym)
{
    const int64_t k = 7;
    double *z = malloc((size_t)(n * k) * sizeof *z);
    double *gd = malloc((size_t)(n * n) * sizeof *gd);
    float *gf = malloc((size_t)(n * n) * sizeof *gf);
    double *dzw = malloc((size_t)(n * k) * sizeof *dzw);
    double *dzs = malloc((size_t)(n * k) * sizeof *dzs);
    double *dz2 = malloc((size_t)(n * k) * sizeof *dz2);
    float *zf = malloc((size_t)(n * k) * sizeof *zf);
    float *dzf = malloc((size_t)(n * k) * sizeof *dzf);
    double *dz32 = malloc((size_t)(n * k) * sizeof *dz32);
    int32_t *y = malloc((size_t)n * sizeof *y);
    pal_graph_t *g;
    pal_ctx_t *whole, *streamed, *two;
    trng_t r;

    ck_assert(z && gd && gf && dzw && dzs && dz2 && zf && dzf && dz32 && y);
    trng_seed(&r, test_seed() + 77 + (uint64_t)n);
    fill_normal(&r, z, n, k, k, 1.0);
    random_labels(&r, y, n, 9, 0.1);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            gd[i * n + j] = trng_unit(&r) < 0.05 ? trng_unit(&r) : 0.0;
            gf[i * n + j] = (float)(trng_unit(&r) < 0.03);
        }
    for (int64_t i = 0; i < n && sym; i++)
        for (int64_t j = 0; j < i; j++) {
            gd[j * n + i] = gd[i * n + j];
            gf[j * n + i] = gf[i * n + j];
        }
    ck_status(pal_graph_create(&g, n, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
    ck_status(pal_graph_add_dense(g, 0.7, PAL_F64, gd, n, 0), PAL_OK);
    ck_status(pal_graph_add_dense(g, 0.3, PAL_F32, gf, n, 0), PAL_OK);
    ck_status(pal_ctx_create(&whole, NULL), PAL_OK);
    ck_status(pal_ctx_create(&streamed, NULL), PAL_OK);
    ck_status(pal_ctx_create(&two, NULL), PAL_OK);
    ck_status(pal_ctx_set_threads(whole, 1), PAL_OK);
    /* Under valgrind (PAL_TEST_NO_TEAMS) BLIS's spinning teams crawl:
     * one thread there, two elsewhere. */
    ck_status(pal_ctx_set_threads(two, getenv("PAL_TEST_NO_TEAMS") ? 1 : 2),
              PAL_OK);
    /* The rest of the workspace takes about 370 KiB here (the largest
     * part converts the float32 dense term's rows for the products), and
     * S whole would take 320 KiB more: 450 KiB leaves about 50 rows. */
    ck_status(pal_ctx_set_workspace_limit(streamed, 450 * 1024), PAL_OK);
    to_float(z, n, k, k, zf, k);

    /* tau = 0.15 takes the fixed-shift exponentials whole in both types,
     * 0.02 only in float64, 0.002 in neither. */
    for (int run = 0; run < 6; run++) {
        static const double taus[3] = {0.15, 0.02, 0.002};
        const int self = run % 2;
        const double tau = taus[run / 2];
        pal_simclr_opts_t o;
        double vw, vs, v2, vl, vf, vfs;

        pal_simclr_opts_init(&o);
        o.tau = tau;
        o.include_self = self;
        ck_status(pal_grad_simclr(whole, g, PAL_F64, n, k, z, k, &o, &vw,
                                  dzw, k),
                  PAL_OK);
        ck_status(pal_grad_simclr(streamed, g, PAL_F64, n, k, z, k, &o, &vs,
                                  dzs, k),
                  PAL_OK);
        ck_close(vs, vw, 1e-12, 0.0, "simclr streamed vs whole");
        ck_assert_msg(mat_err(dzs, k, dzw, k, n, k, 1e-10, 0.0) <= 1.0,
                      "gradient streamed vs whole: %g",
                      mat_err(dzs, k, dzw, k, n, k, 1e-10, 0.0));
        ck_assert_uint_le(pal_ctx_workspace_size(streamed), 450 * 1024);
        ck_assert_uint_gt(pal_ctx_workspace_size(whole),
                          (size_t)(n * n) * sizeof(double));
        /* The value alone takes another path through the folded terms. */
        ck_status(pal_loss_simclr(whole, g, PAL_F64, n, k, z, k, &o, &vl),
                  PAL_OK);
        ck_assert(vl == vw);
        ck_status(pal_grad_simclr(two, g, PAL_F64, n, k, z, k, &o, &v2, dz2,
                                  k),
                  PAL_OK);
        ck_assert(v2 == vw);
        ck_assert(memcmp(dz2, dzw, (size_t)(n * k) * sizeof *dzw) == 0);

        /* float32: the float32 dense term is now the folded one. */
        ck_status(pal_grad_simclr(whole, g, PAL_F32, n, k, zf, k, &o, &vf,
                                  dzf, k),
                  PAL_OK);
        for (int64_t q = 0; q < n * k; q++)
            dz32[q] = dzf[q];
        if (tau > 0.1) {
            ck_close(vf, vw, 1e-5, 0.0, "simclr float32 vs float64");
            ck_assert_msg(mat_err(dz32, k, dzw, k, n, k, 1e-4, 0.0) <= 1.0,
                          "float32 gradient: %g",
                          mat_err(dz32, k, dzw, k, n, k, 1e-4, 0.0));
        }
        /* float32 whole vs streamed (S rounds alike in both). */
        ck_status(pal_grad_simclr(streamed, g, PAL_F32, n, k, zf, k, &o,
                                  &vfs, dzf, k),
                  PAL_OK);
        for (int64_t q = 0; q < n * k; q++)
            dzs[q] = dzf[q];
        ck_close(vfs, vf, 2e-5, 0.0, "simclr float32 streamed vs whole");
        ck_assert_msg(mat_err(dzs, k, dz32, k, n, k, 1e-3, 1e-6) <= 1.0,
                      "float32 gradient streamed vs whole: %g",
                      mat_err(dzs, k, dz32, k, n, k, 1e-3, 1e-6));
    }
    pal_ctx_destroy(whole);
    pal_ctx_destroy(streamed);
    pal_ctx_destroy(two);
    pal_graph_destroy(g);
    free(z);
    free(gd);
    free(gf);
    free(dzw);
    free(dzs);
    free(dz2);
    free(zf);
    free(dzf);
    free(dz32);
    free(y);
}

START_TEST(simclr_whole_equals_streamed_large)
{
    whole_vs_streamed(200, 0);
    whole_vs_streamed(203, 1);
    whole_vs_streamed(131, 0);
}
END_TEST

/* Found by review: more dense terms of Z's type than are folded whole;
 * n = 1 under a tiny limit; no PAL_E_NOMEM above a limit that works;
 * huge weights in float32 at the fixed shift; dZ ending at an
 * inaccessible page while streaming. */
START_TEST(simclr_review_regressions)
{
    enum { N = 40, K = 5 };
    double z[N * K], a[N * N], big[N * N], dz[N * K], dz1[N * K], v, v1;
    pal_graph_t *g9, *g1;
    pal_ctx_t *ctx;
    trng_t r;

    trng_seed(&r, test_seed() + 5);
    fill_normal(&r, z, N, K, K, 1.0);
    for (int i = 0; i < N * N; i++) {
        a[i] = trng_unit(&r) < 0.1 ? trng_unit(&r) : 0.0;
        big[i] = 12.0 * a[i];
    }
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    /* Twelve terms A equal one term 12 A, whole and streamed. */
    ck_status(pal_graph_create(&g9, N, NULL), PAL_OK);
    for (int t = 0; t < 12; t++)
        ck_status(pal_graph_add_dense(g9, 1.0, PAL_F64, a, N, 0), PAL_OK);
    ck_status(pal_graph_create(&g1, N, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(g1, 1.0, PAL_F64, big, N, 0), PAL_OK);
    for (int lim = 0; lim < 2; lim++) {
        ck_status(pal_ctx_set_workspace_limit(ctx, lim ? 12000 : 0), PAL_OK);
        ck_status(pal_grad_simclr(ctx, g9, PAL_F64, N, K, z, K, NULL, &v, dz,
                                  K),
                  PAL_OK);
        ck_status(pal_grad_simclr(ctx, g1, PAL_F64, N, K, z, K, NULL, &v1,
                                  dz1, K),
                  PAL_OK);
        /* Limited: streamed (S whole alone would take 12.8 kB). */
        ck_assert(!lim || pal_ctx_workspace_size(ctx) <= 12000);
        ck_close(v, v1, 1e-12, 0.0, "12 dense terms vs one");
        ck_assert(mat_err(dz, K, dz1, K, N, K, 1e-10, 1e-12) <= 1.0);
    }
    pal_graph_destroy(g9);
    pal_graph_destroy(g1);

    /* n = 1 under small limits: an answer, never a loop. */
    {
        double z1[3] = {1.0, 2.0, 3.0}, d1[3];
        pal_simclr_opts_t o;

        pal_simclr_opts_init(&o);
        o.include_self = 1;
        ck_status(pal_graph_create(&g1, 1, NULL), PAL_OK);
        ck_status(pal_graph_add_identity(g1, 1.0), PAL_OK);
        for (size_t lim = 1; lim < 8192; lim += 37) {
            int rc;

            ck_status(pal_ctx_set_workspace_limit(ctx, lim), PAL_OK);
            rc = pal_grad_simclr(ctx, g1, PAL_F64, 1, 3, z1, 3, &o, &v, d1,
                                 3);
            ck_assert(rc == PAL_OK || rc == PAL_E_NOMEM);
        }
        pal_graph_destroy(g1);
    }

    /* Past the smallest limit that works, every limit works. */
    {
        int32_t y[N];
        int ok = 0;

        for (int i = 0; i < N; i++)
            y[i] = i % 4;
        ck_status(pal_graph_create(&g1, N, NULL), PAL_OK);
        ck_status(pal_graph_add_labels(g1, 1.0, y), PAL_OK);
        for (size_t lim = 1000; lim < 40000; lim += 64) {
            int rc;

            ck_status(pal_ctx_set_workspace_limit(ctx, lim), PAL_OK);
            rc = pal_grad_simclr(ctx, g1, PAL_F64, N, K, z, K, NULL, &v, dz,
                                 K);
            ck_assert_msg(rc == PAL_OK || (!ok && rc == PAL_E_NOMEM),
                          "limit %zu: %s", lim, pal_status_name(rc));
            ok = ok || rc == PAL_OK ? 1 : 0;
        }
        ck_assert(ok);

        /* dZ ending at an inaccessible page, float32, streamed. */
        {
            const long ps = sysconf(_SC_PAGESIZE);
            const size_t bytes = sizeof(float) * N * 3;
            const size_t span = (bytes + (size_t)ps - 1) / (size_t)ps *
                                (size_t)ps;
            char *m = mmap(NULL, span + (size_t)ps, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            float zf[N * 3], *df;

            ck_assert(m != MAP_FAILED);
            ck_assert(mprotect(m + span, (size_t)ps, PROT_NONE) == 0);
            df = (float *)(m + span - bytes);
            for (int i = 0; i < N * 3; i++)
                zf[i] = (float)sin(0.1 * i + 0.3);
            for (size_t lim = 2000; lim < 6000; lim += 250) {
                int rc;

                ck_status(pal_ctx_set_workspace_limit(ctx, lim), PAL_OK);
                rc = pal_grad_simclr(ctx, g1, PAL_F32, N, 3, zf, 3, NULL, &v,
                                     df, 3);
                ck_assert(rc == PAL_OK || rc == PAL_E_NOMEM);
            }
            munmap(m, span + (size_t)ps);
        }
        pal_graph_destroy(g1);
    }

    /* Every loss on a dense float32 graph with dZ ending at an
     * inaccessible page, for column counts 1 to 7 (BLIS reads past row
     * ends for 2 and 3 mod 4), whole and streamed, 1 and 2 threads. */
    {
        const long ps = sysconf(_SC_PAGESIZE);
        float gf[N * N], zf[N * 7];

        for (int i = 0; i < N * N; i++)
            gf[i] = (float)a[i];
        for (int i = 0; i < N * 7; i++)
            zf[i] = (float)sin(0.37 * i + 0.1);
        ck_status(pal_graph_create(&g1, N, NULL), PAL_OK);
        ck_status(pal_graph_add_dense(g1, 1.0, PAL_F32, gf, N, 0), PAL_OK);
        for (int kk = 1; kk <= 7; kk++) {
            const size_t bytes = sizeof(float) * N * (size_t)kk;
            const size_t span = (bytes + (size_t)ps - 1) / (size_t)ps *
                                (size_t)ps;
            char *m = mmap(NULL, span + (size_t)ps, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            float *df;

            ck_assert(m != MAP_FAILED);
            ck_assert(mprotect(m + span, (size_t)ps, PROT_NONE) == 0);
            df = (float *)(m + span - bytes);
            for (int run = 0; run < 4; run++) {
                ck_status(pal_ctx_set_threads(ctx,
                                              getenv("PAL_TEST_NO_TEAMS")
                                                  ? 1
                                                  : 1 + run % 2),
                          PAL_OK);
                ck_status(pal_ctx_set_workspace_limit(ctx,
                                                      run < 2 ? 0 : 12000),
                          PAL_OK);
                ck_status(pal_grad_vic2(ctx, g1, PAL_F32, N, kk, zf, kk,
                                        NULL, &v, df, kk),
                          PAL_OK);
                ck_status(pal_grad_bt(ctx, g1, PAL_F32, N, kk, zf, kk, NULL,
                                      &v, df, kk),
                          PAL_OK);
                ck_status(pal_grad_simclr(ctx, g1, PAL_F32, N, kk, zf, kk,
                                          NULL, &v, df, kk),
                          PAL_OK);
            }
            munmap(m, span + (size_t)ps);
        }
        ck_status(pal_ctx_set_threads(ctx, 0), PAL_OK);
        pal_graph_destroy(g1);
    }

    /* Weights of 1e13 at tau = 1/30 in float32: a finite gradient. */
    {
        float zf[9] = {1, 0, 0, -1, 0.1f, 0, -1, -0.1f, 0}, df[9];
        int32_t y3[3] = {0, 0, 0};
        pal_simclr_opts_t o;

        pal_simclr_opts_init(&o);
        o.tau = 1.0 / 30.0;
        ck_status(pal_ctx_set_workspace_limit(ctx, 0), PAL_OK);
        ck_status(pal_graph_create(&g1, 3, NULL), PAL_OK);
        ck_status(pal_graph_add_labels(g1, 1e13, y3), PAL_OK);
        ck_status(pal_grad_simclr(ctx, g1, PAL_F32, 3, 3, zf, 3, &o, &v, df,
                                  3),
                  PAL_OK);
        for (int i = 0; i < 9; i++)
            ck_assert(isfinite(df[i]));
        pal_graph_destroy(g1);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Non-symmetric dense terms ------------------------------------------ */

/* dL/dZ of VIC^2 from SPEC 3.1 in double, O(n^2 k): 4 Z (Z^T Z) - 2 (G +
 * G^T) Z, minus 4 (||z_i||^2 - G_ii) z_i off the diagonal. */
static void ref_grad_vic2(const problem_t *p, const double *z, double *g)
{
    const int64_t n = p->n, k = p->k;

    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < k; c++) {
            double v = 0.0;

            for (int64_t j = 0; j < n; j++)
                v += (4.0 * dotk(z + i * k, z + j * k, k) -
                      2.0 * (p->gd[i * n + j] + p->gd[j * n + i])) *
                     z[j * k + c];
            if (p->o.offdiag)
                v -= 4.0 * (dotk(z + i * k, z + i * k, k) - p->gd[i * n + i]) *
                     z[i * k + c];
            g[i * k + c] = v;
        }
    }
}

/* dL/dZ of BarlowTwins from SPEC 3.3 in double, O(n^2 k + n k^2):
 * G Zt B^T + G^T Zt B, back through the normalisation and the
 * centring. */
static void ref_grad_bt(const problem_t *p, const double *z, double *g)
{
    const int64_t n = p->n, k = p->k;
    double *zt = xmalloc((size_t)(n * k) * sizeof *zt);
    double *h = xmalloc((size_t)(n * k) * sizeof *h);
    double *ht = xmalloc((size_t)(n * k) * sizeof *ht);
    double *b = xmalloc((size_t)(k * k) * sizeof *b);
    double *r = xmalloc((size_t)k * sizeof *r);

    for (int64_t c = 0; c < k; c++) {
        double mean = 0.0, s = 0.0;

        for (int64_t i = 0; p->o.center && i < n; i++)
            mean += z[i * k + c] / (double)n;
        for (int64_t i = 0; i < n; i++) {
            zt[i * k + c] = z[i * k + c] - mean;
            s += zt[i * k + c] * zt[i * k + c];
        }
        r[c] = sqrt(s);
        for (int64_t i = 0; i < n; i++)
            zt[i * k + c] /= r[c] > p->o.eps ? r[c] : p->o.eps;
    }
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < k; c++) {
            double v = 0.0, vt = 0.0;

            for (int64_t j = 0; j < n; j++) {
                v += p->gd[i * n + j] * zt[j * k + c];
                vt += p->gd[j * n + i] * zt[j * k + c];
            }
            h[i * k + c] = v;
            ht[i * k + c] = vt;
        }
    }
    for (int64_t a = 0; a < k; a++) {
        for (int64_t c = 0; c < k; c++) {
            double v = 0.0;

            for (int64_t i = 0; i < n; i++)
                v += zt[i * k + a] * h[i * k + c];
            b[a * k + c] = a == c ? 2.0 * (v - 1.0) : 2.0 * p->o.lambda * v;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < k; c++) {
            double v = 0.0;

            for (int64_t e = 0; e < k; e++)
                v += h[i * k + e] * b[c * k + e] + ht[i * k + e] * b[e * k + c];
            g[i * k + c] = v;
        }
    }
    for (int64_t c = 0; c < k; c++) {
        double d = 0.0, mean = 0.0;

        for (int64_t i = 0; i < n; i++)
            d += zt[i * k + c] * g[i * k + c];
        for (int64_t i = 0; i < n; i++) {
            g[i * k + c] = r[c] > p->o.eps
                               ? (g[i * k + c] - zt[i * k + c] * d) / r[c]
                               : g[i * k + c] / p->o.eps;
            mean += g[i * k + c] / (double)n;
        }
        for (int64_t i = 0; p->o.center && i < n; i++)
            g[i * k + c] -= mean;
    }
    free(zt);
    free(h);
    free(ht);
    free(b);
    free(r);
}

/*
 * One problem through lib_run (value-only and fused calls, strided Z and
 * dZ) in type t: the float64 value within 1e-12 mag of the reference and
 * the gradient within 1e-11 of the largest entry of the reference
 * gradient `want`; float32 within 1e-5 and 1e-4.
 */
static void check_against(pal_ctx_t *ctx, const problem_t *p, pal_dtype_t t,
                          const double *z, const double *want, double ref,
                          double mag, const char *what)
{
    const int64_t nk = p->n * p->k;
    const double tv = t == PAL_F32 ? 1e-5 : 1e-12;
    const double tg = t == PAL_F32 ? 1e-4 : 1e-11;
    double *dz = xmalloc((size_t)nk * sizeof *dz), v = NAN, e;
    int rc = lib_run(ctx, p, t, z, &v, dz);

    ck_assert_msg(rc == PAL_OK, "%s: %s", what, pal_status_name(rc));
    ck_assert_msg(fabs(v - ref) <= tv * mag,
                  "%s: value %.17g, reference %.17g (mag %g)", what, v, ref,
                  mag);
    e = rel_err(dz, want, nk, 1e-300);
    ck_assert_msg(e <= tg, "%s: gradient error %.3g", what, e);
    free(dz);
}

/* The graphs of the non-symmetric tests: one dense term of either type,
 * or dense terms of both types (symmetric or not) with other kinds. */
static void nsym_graph(tgraph_t *tg, trng_t *r, int which, int64_t n)
{
    int32_t *y = xmalloc((size_t)n * sizeof *y);

    tg_init(tg, n);
    random_labels(r, y, n, 3, 0.2);
    switch (which) {
    case 0:
        tg_dense(tg, r, 0.8, PAL_F64, 0, 1);
        break;
    case 1:
        tg_dense(tg, r, -0.6, PAL_F32, 0, 0);
        break;
    default:
        tg_dense(tg, r, 0.5, PAL_F32, 0, 1);
        tg_dense(tg, r, -0.3, PAL_F64, 0, 0);
        tg_dense(tg, r, 0.7, PAL_F64, 1, 1);
        tg_csr(tg, r, 0.4, PAL_F64, 0.2, 0, 0);
        tg_labels(tg, 1.0, y);
        tg_identity(tg, 0.2);
        break;
    }
    free(y);
}

/*
 * VIC^2 and BarlowTwins with non-symmetric dense terms multiply through
 * blocks of G + G^T or G^T formed in the workspace, their size set by the
 * workspace limit: checked against references written from the formulas
 * at n smaller than a block (5), at odd n cut by blocks of 8 to 24 rows
 * and columns (37), and at n above the default block of 512 rows (1100,
 * where two threads share the blocks), on 1 and 2 threads. The smallest
 * limit that works is found by trying limits upwards.
 */
START_TEST(nonsymmetric_dense_blocks)
{
    static const int64_t sizes[3][2] = {{5, 3}, {37, 7}, {1100, 2}};
    static const lopts_t opts[4] = {
        {L_VIC2, 0, 0, 0, 0, 0, 0},
        {L_VIC2, 1, 0, 0, 0, 0, 0},
        {L_BT, 0, 0, 0, 0, 1.0, 0},
        {L_BT, 0, 0, 0, 0, 0.005, 1},
    };
    pal_ctx_t *ctx;
    trng_t r;
    char what[256];

    trng_seed(&r, test_seed() + 31);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    /* n = 1100 runs the blocks on a thread team, which valgrind runs far
     * too slowly (see check-valgrind); the smaller sizes cover the edges
     * of the blocks. */
    for (int si = 0; si < (getenv("PAL_TEST_NO_TEAMS") ? 2 : 3); si++) {
        const int64_t n = sizes[si][0], k = sizes[si][1];

        for (int gi = si == 2 ? 2 : 0; gi < 3; gi++) {
            tgraph_t tg;
            pal_graph_t *g;
            double *gd = xmalloc((size_t)(n * n) * sizeof *gd);
            double *z = random_z(&r, n, k);
            double *want = xmalloc((size_t)(n * k) * sizeof *want);

            nsym_graph(&tg, &r, gi, n);
            tg_expand(&tg, gd);
            g = tg_build(&tg);
            /* At n = 1100, one option set per loss. */
            for (int oi = 0; oi < 4; oi += si == 2 ? 3 : 1) {
                problem_t p = {opts[oi], n, k, gd, g, NULL};
                /* The limits (the blocks) on one thread, for one option
                 * set per loss: the others do not reach the blocks. */
                const int sweep = n < 100 && (oi == 0 || oi == 3);
                double mag, ref = ref_loss(&p, z, &mag);

                if (p.o.loss == L_VIC2)
                    ref_grad_vic2(&p, z, want);
                else
                    ref_grad_bt(&p, z, want);
                for (int run = 0; run < 4; run++) {
                    const pal_dtype_t t = run < 2 ? PAL_F64 : PAL_F32;
                    const int nt = 1 + run % 2;
                    size_t low = 0;

                    ck_status(pal_ctx_set_threads(ctx, nt), PAL_OK);
                    /* The smallest limit that works (the smallest blocks),
                     * then larger ones, then none. */
                    for (size_t lim = 256; sweep && nt == 1 && !low;
                         lim += 64) {
                        double v, *dz = xmalloc((size_t)(n * k) * 8);
                        void *zt = xmalloc((size_t)(n * k) * 8);

                        if (t == PAL_F32)
                            for (int64_t q = 0; q < n * k; q++)
                                ((float *)zt)[q] = (float)z[q];
                        else
                            memcpy(zt, z, (size_t)(n * k) * 8);
                        ck_status(pal_ctx_set_workspace_limit(ctx, lim),
                                  PAL_OK);
                        if (call_grad(ctx, &p, t, zt, k, &v, dz, k) == PAL_OK)
                            low = lim;
                        free(dz);
                        free(zt);
                    }
                    for (int li = 0; li < 4; li++) {
                        static const size_t more[3] = {0, 600, 4000};
                        const size_t lim = li < 3 && low ? low + more[li] : 0;

                        if (li < 3 && !low)
                            continue;
                        ck_status(pal_ctx_set_workspace_limit(ctx, lim),
                                  PAL_OK);
                        snprintf(what, sizeof what,
                                 "%s graph %d, n %lld k %lld, %s, %d threads, "
                                 "limit %zu",
                                 loss_name[p.o.loss], gi, (long long)n,
                                 (long long)k, t == PAL_F32 ? "f32" : "f64",
                                 nt, lim);
                        check_against(ctx, &p, t, z, want, ref, mag, what);
                        ck_assert(!lim || pal_ctx_workspace_size(ctx) <= lim);
                    }
                }
            }
            pal_graph_destroy(g);
            tg_free(&tg);
            free(gd);
            free(z);
            free(want);
        }
    }
    ck_status(pal_ctx_set_workspace_limit(ctx, 0), PAL_OK);

    /* Float32, k = 1 to 7, Z and dZ each ending at an inaccessible page
     * (BLIS reads past row ends of outputs of 2 and 3 (mod 4) columns),
     * the default blocks on 1 and 2 threads, the smallest on 1. */
    {
        enum { N = 29 };
        const long ps = sysconf(_SC_PAGESIZE);
        const size_t span = ((sizeof(float) * N * 7 + (size_t)ps - 1) /
                             (size_t)ps) * (size_t)ps;
        char *mz = mmap(NULL, span + (size_t)ps, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char *md = mmap(NULL, span + (size_t)ps, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        tgraph_t tg;
        pal_graph_t *g;

        ck_assert(mz != MAP_FAILED && md != MAP_FAILED);
        ck_assert(mprotect(mz + span, (size_t)ps, PROT_NONE) == 0);
        ck_assert(mprotect(md + span, (size_t)ps, PROT_NONE) == 0);
        nsym_graph(&tg, &r, 2, N);
        g = tg_build(&tg);
        for (int kk = 1; kk <= 7; kk++) {
            float *zf = (float *)(mz + span) - N * kk;
            float *df = (float *)(md + span) - N * kk;
            double v0, v;

            for (int i = 0; i < N * kk; i++)
                zf[i] = (float)sin(0.37 * i + 0.1);
            for (int run = 0; run < 3; run++) {
                size_t lim = 512;

                ck_status(pal_ctx_set_threads(ctx, run == 1 &&
                                                       !getenv(
                                                           "PAL_TEST_NO_TEAMS")
                                                       ? 2
                                                       : 1),
                          PAL_OK);
                ck_status(pal_ctx_set_workspace_limit(ctx, 0), PAL_OK);
                ck_status(pal_grad_vic2(ctx, g, PAL_F32, N, kk, zf, kk, NULL,
                                        &v0, df, kk),
                          PAL_OK);
                while (run == 2) {
                    ck_status(pal_ctx_set_workspace_limit(ctx, lim += 128),
                              PAL_OK);
                    if (pal_grad_vic2(ctx, g, PAL_F32, N, kk, zf, kk, NULL,
                                      &v, df, kk) == PAL_OK)
                        break;
                }
                ck_assert(run < 2 || fabs(v - v0) <= 1e-5 * fabs(v0));
                ck_status(pal_ctx_set_workspace_limit(ctx, 0), PAL_OK);
                ck_status(pal_grad_bt(ctx, g, PAL_F32, N, kk, zf, kk, NULL,
                                      &v0, df, kk),
                          PAL_OK);
                for (lim = 512; run == 2;) {
                    ck_status(pal_ctx_set_workspace_limit(ctx, lim += 128),
                              PAL_OK);
                    if (pal_grad_bt(ctx, g, PAL_F32, N, kk, zf, kk, NULL, &v,
                                    df, kk) == PAL_OK)
                        break;
                }
                ck_assert(run < 2 || fabs(v - v0) <= 1e-5 * fabs(v0) + 1e-6);
            }
        }
        pal_graph_destroy(g);
        tg_free(&tg);
        munmap(mz, span + (size_t)ps);
        munmap(md, span + (size_t)ps);
    }
    ck_status(pal_ctx_set_threads(ctx, 0), PAL_OK);
    pal_ctx_destroy(ctx);
}
END_TEST

Suite *suite_loss(void);
Suite *suite_loss(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("loss");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, graph_losses_against_references);
    tcase_add_test(tc, pairs_against_reference);
    tcase_add_test(tc, norm_floor_eps);
    tcase_add_test(tc, row_without_positive);
    tcase_add_test(tc, sizes_and_context_reuse);
    tcase_add_test(tc, workspace_leftovers);
    tcase_add_test(tc, simclr_streamed_tiles);
    tcase_add_test(tc, simclr_small_temperature_float32);
    tcase_add_test(tc, scale_invariance);
    tcase_add_test(tc, extreme_norms_float64);
    tcase_add_test(tc, simclr_whole_equals_streamed_large);
    tcase_add_test(tc, simclr_review_regressions);
    tcase_add_test(tc, nonsymmetric_dense_blocks);
    suite_add_tcase(s, tc);
    return s;
}
