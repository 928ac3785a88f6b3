/*
 * The classic two-view losses (loss.h, docs/twoview.md) against
 * references written here plainly from the formulas: O(n^2 k) and
 * O(n k^2) loops in double, nothing of the library's algebra reused.
 *
 * Tolerances (PAL_TEST_VERBOSE=1 prints the worst seen):
 * - float64 values: |lib - ref| <= 1e-10 mag, mag the same sums over
 *   absolute values.
 * - float64 gradients of both views: central differences of the
 *   reference, h = 1e-6 max(1, |z|): max |g - fd| <= 1e-6 max |fd| (or
 *   1e-3 mag / ||Z||_F when the gradient is about zero).
 * - float32 against float64 on the same (float-exact) input: values
 *   within 1e-4 mag, gradients within 1e-4 of the largest entry.
 *
 * Then the edge cases (n = 1, collapsed embeddings, a large offset in
 * float32, k >> n, panels under a workspace limit), and the relations to
 * the graph losses on the two-view pairing graph derived in
 * docs/twoview.md, each checked on values and, where the relation
 * holds for them, gradients.
 */
#include "testutil.h"

enum { T_VICREG, T_NTXENT, T_BARLOW, T_SPECTRAL };

static const char *const tv_name[4] = {"vicreg", "ntxent", "barlow",
                                       "spectral"};

typedef struct tvp {
    int loss;
    int64_t n, k;
    pal_vicreg_opts_t vic;
    pal_ntxent_opts_t ntx;
    pal_barlow_opts_t bar;
    pal_spectral_opts_t spe;
} tvp_t;

static void tvp_init(tvp_t *p, int loss, int64_t n, int64_t k)
{
    memset(p, 0, sizeof *p);
    p->loss = loss;
    p->n = n;
    p->k = k;
    pal_vicreg_opts_init(&p->vic);
    pal_ntxent_opts_init(&p->ntx);
    pal_barlow_opts_init(&p->bar);
    pal_spectral_opts_init(&p->spe);
}

/* ---- References ---------------------------------------------------------- */

static double dot(const double *a, const double *b, int64_t k)
{
    double s = 0.0;

    for (int64_t c = 0; c < k; c++)
        s += a[c] * b[c];
    return s;
}

/* Eq. 2 on the stacked views: unbiased covariance of the 2n rows. */
static double ref_vicreg(const tvp_t *p, const double *z1, const double *z2,
                         double *mag)
{
    const int64_t n = p->n, k = p->k, m = 2 * n - 1;
    const pal_vicreg_opts_t *o = &p->vic;
    double l = 0.0, g = 0.0, inv = 0.0, ia = 0.0;

    for (int64_t a = 0; a < k; a++) {
        double mua = 0.0;

        for (int64_t i = 0; i < n; i++)
            mua += (z1[i * k + a] + z2[i * k + a]) / (double)(2 * n);
        for (int64_t b = 0; b < k; b++) {
            double mub = 0.0, c = 0.0, ca = 0.0;

            for (int64_t i = 0; i < n; i++)
                mub += (z1[i * k + b] + z2[i * k + b]) / (double)(2 * n);
            for (int64_t i = 0; i < n; i++) {
                double x1 = (z1[i * k + a] - mua) * (z1[i * k + b] - mub);
                double x2 = (z2[i * k + a] - mua) * (z2[i * k + b] - mub);

                c += (x1 + x2) / (double)m;
                ca += (fabs(x1) + fabs(x2)) / (double)m;
            }
            if (a == b) {
                double s = sqrt(c + o->eps);

                l += o->alpha * fmax(0.0, 1.0 - s);
                g += o->alpha * (1.0 + sqrt(ca + o->eps));
            } else {
                l += o->beta * c * c;
                g += o->beta * ca * ca;
            }
        }
    }
    for (int64_t q = 0; q < n * k; q++) {
        inv += (z1[q] - z2[q]) * (z1[q] - z2[q]);
        ia += z1[q] * z1[q] + z2[q] * z2[q];
    }
    l += o->gamma / (double)n * inv;
    *mag = g + o->gamma / (double)n * 2.0 * ia;
    return l;
}

/* Row i of view v (0 or 1) of the stacked rows, normalised. */
static void unit_rows(const tvp_t *p, const double *z, double eps,
                      double *u)
{
    for (int64_t i = 0; i < p->n; i++) {
        double r = sqrt(dot(z + i * p->k, z + i * p->k, p->k));

        for (int64_t c = 0; c < p->k; c++)
            u[i * p->k + c] = z[i * p->k + c] / fmax(r, eps);
    }
}

/* Eq. 3 per anchor (view 1 against view 2), or the 2n-view form. */
static double ref_ntxent(const tvp_t *p, const double *z1, const double *z2,
                         double *mag)
{
    const int64_t n = p->n, k = p->k, nn = 2 * n;
    const double tau = p->ntx.tau;
    double *w = xmalloc((size_t)(nn * k) * sizeof *w);
    double l = 0.0, g = 0.0;

    unit_rows(p, z1, p->ntx.eps, w);
    unit_rows(p, z2, p->ntx.eps, w + n * k);
    for (int64_t a = 0; a < (p->ntx.symmetric ? nn : n); a++) {
        const int64_t pos = (a + n) % nn;
        double top = -INFINITY, sum = 0.0, lse;

        for (int64_t b = 0; b < nn; b++) {
            if (b == a || (!p->ntx.symmetric && b < n))
                continue;
            top = fmax(top, dot(w + a * k, w + b * k, k) / tau);
        }
        for (int64_t b = 0; b < nn; b++) {
            if (b == a || (!p->ntx.symmetric && b < n))
                continue;
            sum += exp(dot(w + a * k, w + b * k, k) / tau - top);
        }
        lse = top + log(sum);
        l += lse - dot(w + a * k, w + pos * k, k) / tau;
        g += fabs(lse) + 2.0 / tau;
    }
    free(w);
    *mag = g;
    return l;
}

/* Eq. 4: cosines between the (centred) columns of the two views. */
static double ref_barlow(const tvp_t *p, const double *z1, const double *z2,
                         double *mag)
{
    const int64_t n = p->n, k = p->k;
    const pal_barlow_opts_t *o = &p->bar;
    double *u[2], l = 0.0, g = 0.0;
    const double *z[2] = {z1, z2};

    for (int v = 0; v < 2; v++) {
        u[v] = xmalloc((size_t)(n * k) * sizeof(double));
        for (int64_t c = 0; c < k; c++) {
            double mu = 0.0, r = 0.0;

            for (int64_t i = 0; o->center && i < n; i++)
                mu += z[v][i * k + c] / (double)n;
            for (int64_t i = 0; i < n; i++) {
                u[v][i * k + c] = z[v][i * k + c] - mu;
                r += u[v][i * k + c] * u[v][i * k + c];
            }
            for (int64_t i = 0; i < n; i++)
                u[v][i * k + c] /= fmax(sqrt(r), o->eps);
        }
    }
    for (int64_t a = 0; a < k; a++) {
        for (int64_t b = 0; b < k; b++) {
            double c = 0.0, ca = 0.0;

            for (int64_t i = 0; i < n; i++) {
                c += u[0][i * k + a] * u[1][i * k + b];
                ca += fabs(u[0][i * k + a] * u[1][i * k + b]);
            }
            l += a == b ? (1.0 - c) * (1.0 - c) : o->lambda * c * c;
            g += a == b ? (1.0 + ca) * (1.0 + ca) : o->lambda * ca * ca;
        }
    }
    free(u[0]);
    free(u[1]);
    *mag = g;
    return l;
}

/* Eq. 5: -2 sum_i z1_i . z2_i + 1/n sum_{i != j} (z1_i . z2_j)^2. */
static double ref_spectral(const tvp_t *p, const double *z1,
                           const double *z2, double *mag)
{
    const int64_t n = p->n, k = p->k;
    double l = 0.0, g = 0.0;

    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            double d = dot(z1 + i * k, z2 + j * k, k), da = 0.0;

            for (int64_t c = 0; c < k; c++)
                da += fabs(z1[i * k + c] * z2[j * k + c]);
            if (i == j) {
                l -= 2.0 * d;
                g += 2.0 * da;
            }
            if (i != j || p->spe.diag) {
                l += d * d / (double)n;
                g += da * da / (double)n;
            }
        }
    }
    *mag = g;
    return l;
}

static double ref_loss(const tvp_t *p, const double *z1, const double *z2,
                       double *mag)
{
    double unused;

    if (!mag)
        mag = &unused;
    switch (p->loss) {
    case T_VICREG:
        return ref_vicreg(p, z1, z2, mag);
    case T_NTXENT:
        return ref_ntxent(p, z1, z2, mag);
    case T_BARLOW:
        return ref_barlow(p, z1, z2, mag);
    default:
        return ref_spectral(p, z1, z2, mag);
    }
}

/* Central differences of the reference for view v. */
static void fd_view(const tvp_t *p, const double *z1, const double *z2,
                    int v, double *out)
{
    const int64_t nk = p->n * p->k;
    double *w1 = xmalloc((size_t)nk * sizeof *w1);
    double *w2 = xmalloc((size_t)nk * sizeof *w2);
    double *w = v == 0 ? w1 : w2;
    const double *z = v == 0 ? z1 : z2;

    memcpy(w1, z1, (size_t)nk * sizeof *w1);
    memcpy(w2, z2, (size_t)nk * sizeof *w2);
    for (int64_t q = 0; q < nk; q++) {
        double h = 1e-6 * fmax(1.0, fabs(z[q])), up, down;

        w[q] = z[q] + h;
        up = ref_loss(p, w1, w2, NULL);
        w[q] = z[q] - h;
        down = ref_loss(p, w1, w2, NULL);
        w[q] = z[q];
        out[q] = (up - down) / (2.0 * h);
    }
    free(w1);
    free(w2);
}

/* ---- Calling the library ------------------------------------------------- */

static int lib_loss(pal_ctx_t *ctx, const tvp_t *p, pal_dtype_t t,
                    const void *z1, int64_t ld1, const void *z2, int64_t ld2,
                    double *v)
{
    switch (p->loss) {
    case T_VICREG:
        return pal_loss_vicreg(ctx, t, p->n, p->k, z1, ld1, z2, ld2, &p->vic,
                               v);
    case T_NTXENT:
        return pal_loss_ntxent(ctx, t, p->n, p->k, z1, ld1, z2, ld2, &p->ntx,
                               v);
    case T_BARLOW:
        return pal_loss_barlow(ctx, t, p->n, p->k, z1, ld1, z2, ld2, &p->bar,
                               v);
    default:
        return pal_loss_spectral(ctx, t, p->n, p->k, z1, ld1, z2, ld2,
                                 &p->spe, v);
    }
}

static int lib_grad(pal_ctx_t *ctx, const tvp_t *p, pal_dtype_t t,
                    const void *z1, int64_t ld1, const void *z2, int64_t ld2,
                    double *v, void *d1, int64_t ldd1, void *d2,
                    int64_t ldd2)
{
    switch (p->loss) {
    case T_VICREG:
        return pal_grad_vicreg(ctx, t, p->n, p->k, z1, ld1, z2, ld2, &p->vic,
                               v, d1, ldd1, d2, ldd2);
    case T_NTXENT:
        return pal_grad_ntxent(ctx, t, p->n, p->k, z1, ld1, z2, ld2, &p->ntx,
                               v, d1, ldd1, d2, ldd2);
    case T_BARLOW:
        return pal_grad_barlow(ctx, t, p->n, p->k, z1, ld1, z2, ld2, &p->bar,
                               v, d1, ldd1, d2, ldd2);
    default:
        return pal_grad_spectral(ctx, t, p->n, p->k, z1, ld1, z2, ld2,
                                 &p->spe, v, d1, ldd1, d2, ldd2);
    }
}

#define SENTINEL 3.25

static void *typed_copy(pal_dtype_t t, const double *z, int64_t n, int64_t k,
                        int64_t ld, double pad)
{
    const size_t e = pal_dtype_size(t);
    char *b = xmalloc((size_t)(n * ld) * e);

    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < ld; c++) {
            double v = c < k ? z[i * k + c] : pad;

            if (t == PAL_F32)
                ((float *)b)[i * ld + c] = (float)v;
            else
                ((double *)b)[i * ld + c] = v;
        }
    return b;
}

static double typed_at(pal_dtype_t t, const void *b, int64_t q)
{
    return t == PAL_F32 ? (double)((const float *)b)[q]
                        : ((const double *)b)[q];
}

/*
 * Run the library in type t on z1, z2 (n x k contiguous), handed over
 * with different padded strides (NaN padding); gradients go to padded
 * outputs whose padding must survive. pal_loss_*, pal_grad_* and
 * pal_grad_* without a value pointer must agree bitwise. Returns the
 * status; on success v, d1, d2 (n x k contiguous) hold the results.
 */
static int run_lib(pal_ctx_t *ctx, const tvp_t *p, pal_dtype_t t,
                   const double *z1, const double *z2, double *v, double *d1,
                   double *d2)
{
    const int64_t n = p->n, k = p->k, l1 = k + 3, l2 = k + 1, ld = k + 2;
    const size_t e = pal_dtype_size(t), ob = (size_t)(n * ld) * e;
    void *b1 = typed_copy(t, z1, n, k, l1, NAN);
    void *b2 = typed_copy(t, z2, n, k, l2, NAN);
    char *o = xmalloc(4 * ob);
    double va = -1.0, vb = -2.0;
    int r1, r2, r3;

    for (int64_t q = 0; q < 4 * n * ld; q++) {
        double x = q % ld < k ? NAN : SENTINEL;

        if (t == PAL_F32)
            ((float *)(void *)o)[q] = (float)x;
        else
            ((double *)(void *)o)[q] = x;
    }
    r1 = lib_loss(ctx, p, t, b1, l1, b2, l2, &va);
    r2 = lib_grad(ctx, p, t, b1, l1, b2, l2, &vb, o, ld, o + ob, ld);
    r3 = lib_grad(ctx, p, t, b1, l1, b2, l2, NULL, o + 2 * ob, ld, o + 3 * ob,
                  ld);
    ck_assert_msg(r1 == r2 && r2 == r3, "%s: statuses %s %s %s",
                  tv_name[p->loss], pal_status_name(r1), pal_status_name(r2),
                  pal_status_name(r3));
    if (r1 == PAL_OK) {
        ck_assert_msg(va == vb, "%s: loss %.17g, grad %.17g", tv_name[p->loss],
                      va, vb);
        ck_assert(memcmp(o, o + 2 * ob, 2 * ob) == 0);
        *v = va;
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < ld; c++) {
                double x1 = typed_at(t, o, i * ld + c);
                double x2 = typed_at(t, o + ob, i * ld + c);

                if (c < k) {
                    d1[i * k + c] = x1;
                    d2[i * k + c] = x2;
                    ck_assert(!isnan(x1) && !isnan(x2));
                } else {
                    ck_assert(x1 == SENTINEL && x2 == SENTINEL);
                }
            }
    } else {
        ck_assert(va == -1.0 && vb == -2.0);
        for (int64_t q = 0; q < 4 * n * ld; q++) {
            double x = typed_at(t, o, q);

            ck_assert(q % ld < k ? isnan(x) : x == SENTINEL);
        }
    }
    free(b1);
    free(b2);
    free(o);
    return r1;
}

/* max |a - b| / max(max |b|, floor); infinite on NaN. */
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

static double worst_v64, worst_fd, worst_v32, worst_g32;
static int checked;

#define TOL_V64 1e-10
#define TOL_FD 1e-6
#define TOL_32 1e-4

/* The full check of one problem (see the header comment). */
static void check_problem(pal_ctx_t *ctx, const tvp_t *p, const double *z1,
                          const double *z2, const char *what)
{
    const int64_t nk = p->n * p->k;
    double *d1 = xmalloc((size_t)nk * sizeof *d1);
    double *d2 = xmalloc((size_t)nk * sizeof *d2);
    double *f1 = xmalloc((size_t)nk * sizeof *f1);
    double *f2 = xmalloc((size_t)nk * sizeof *f2);
    double *s1 = xmalloc((size_t)nk * sizeof *s1);
    double *s2 = xmalloc((size_t)nk * sizeof *s2);
    double mag, ref = ref_loss(p, z1, z2, &mag), v = NAN, v32 = NAN, e;
    double zn = 0.0, floor;

    ck_status(run_lib(ctx, p, PAL_F64, z1, z2, &v, d1, d2), PAL_OK);
    e = fabs(v - ref) / (TOL_V64 * mag + 1e-300);
    worst_v64 = fmax(worst_v64, e * TOL_V64);
    ck_assert_msg(e <= 1.0, "%s %s: f64 value %.17g, reference %.17g",
                  tv_name[p->loss], what, v, ref);

    for (int64_t q = 0; q < nk; q++)
        zn += z1[q] * z1[q] + z2[q] * z2[q];
    floor = 1e-3 * mag / fmax(sqrt(zn), 1e-300);
    fd_view(p, z1, z2, 0, f1);
    fd_view(p, z1, z2, 1, f2);
    e = fmax(rel_err(d1, f1, nk, floor), rel_err(d2, f2, nk, floor));
    worst_fd = fmax(worst_fd, e);
    ck_assert_msg(e <= TOL_FD, "%s %s: f64 gradients vs differences: %.3g",
                  tv_name[p->loss], what, e);

    ck_status(run_lib(ctx, p, PAL_F32, z1, z2, &v32, s1, s2), PAL_OK);
    e = fabs(v32 - v) / (TOL_32 * mag + 1e-300);
    worst_v32 = fmax(worst_v32, e * TOL_32);
    ck_assert_msg(e <= 1.0, "%s %s: f32 value %.9g, f64 %.17g",
                  tv_name[p->loss], what, v32, v);
    e = fmax(rel_err(s1, d1, nk, floor), rel_err(s2, d2, nk, floor));
    worst_g32 = fmax(worst_g32, e);
    ck_assert_msg(e <= TOL_32, "%s %s: f32 gradients vs f64: %.3g",
                  tv_name[p->loss], what, e);
    checked++;
    free(d1);
    free(d2);
    free(f1);
    free(f2);
    free(s1);
    free(s2);
}

/* Two views: z2 = z1 + noise, both drawn exactly representable in float. */
static void draw_views(trng_t *r, int64_t n, int64_t k, double scale,
                       double noise, double *z1, double *z2)
{
    fill_normal(r, z1, n, k, k, scale);
    for (int64_t q = 0; q < n * k; q++)
        z2[q] = z1[q] + noise * trng_normal(r);
    round_to_float(z1, n, k, k);
    round_to_float(z2, n, k, k);
}

/* ---- Values and gradients ------------------------------------------------ */

START_TEST(values_and_gradients)
{
    /* n x k: k < n, k = n, k >> n; and n = 2, the smallest VICReg and
     * BarlowTwins accept. */
    static const int64_t sizes[][2] = {{9, 4}, {5, 5}, {3, 17}, {2, 3}};
    pal_ctx_t *ctx;
    trng_t r;
    char what[96];

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    trng_seed(&r, test_seed() + 101);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int64_t n = sizes[s][0], k = sizes[s][1];
        double *z1 = xmalloc((size_t)(n * k) * sizeof *z1);
        double *z2 = xmalloc((size_t)(n * k) * sizeof *z2);

        for (int loss = 0; loss < 4; loss++) {
            for (int variant = 0; variant < 4; variant++) {
                tvp_t p;

                tvp_init(&p, loss, n, k);
                /* Variances inside the hinge (scale 0.5) and beyond it
                 * (scale 2); the other options in turn. */
                draw_views(&r, n, k, variant & 1 ? 2.0 : 0.5, 0.3, z1, z2);
                p.vic.gamma = variant & 2 ? 1.0 : 25.0;
                p.vic.eps = variant & 2 ? 0.0 : 1e-4;
                p.ntx.symmetric = (variant & 2) != 0;
                p.ntx.tau = variant & 1 ? 0.5 : 0.2;
                p.bar.center = (variant & 2) != 0;
                p.bar.lambda = variant & 1 ? 0.3 : 5e-3;
                p.spe.diag = (variant & 2) != 0;
                /* Two centred samples are +-(1, -1) / sqrt(2) in every
                 * column: the loss is constant there (zero_gradient_two
                 * checks it), so only the uncentred form is compared. */
                if (n == 2)
                    p.bar.center = 0;
                snprintf(what, sizeof what, "n %lld k %lld variant %d",
                         (long long)n, (long long)k, variant);
                check_problem(ctx, &p, z1, z2, what);
            }
        }
        free(z1);
        free(z2);
    }
    if (getenv("PAL_TEST_VERBOSE"))
        printf("twoview: %d problems; worst f64 value %.2g, fd %.2g, f32 "
               "value %.2g, f32 grad %.2g\n",
               checked, worst_v64, worst_fd, worst_v32, worst_g32);
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Edge cases ---------------------------------------------------------- */

START_TEST(one_sample)
{
    const double z1[3] = {0.5, -1.0, 2.0}, z2[3] = {0.25, 1.5, -0.5};
    pal_ctx_t *ctx;
    double v, d1[3], d2[3];
    tvp_t p;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int loss = 0; loss < 4; loss++) {
        tvp_init(&p, loss, 1, 3);
        for (int sym = 0; sym < 2; sym++) {
            p.ntx.symmetric = sym;
            for (int t = PAL_F32; t <= PAL_F64; t++) {
                int rc = run_lib(ctx, &p, (pal_dtype_t)t, z1, z2, &v, d1, d2);

                if (loss == T_VICREG || loss == T_BARLOW) {
                    ck_status(rc, PAL_E_SIZE);
                    continue;
                }
                ck_status(rc, PAL_OK);
                if (loss == T_NTXENT) {
                    /* The positive is the whole denominator. */
                    ck_assert(v == 0.0);
                    for (int c = 0; c < 3; c++)
                        ck_assert(d1[c] == 0.0 && d2[c] == 0.0);
                } else {
                    ck_close(v, -2.0 * dot(z1, z2, 3), 1e-7, 0.0,
                             "spectral, n = 1");
                }
            }
        }
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* BarlowTwins on two centred samples: every correlation is +-1 whatever
 * the values, so the gradient vanishes (to rounding). */
START_TEST(zero_gradient_two)
{
    const double z1[6] = {0.5, -1.0, 2.0, 1.5, 0.25, -0.75};
    const double z2[6] = {0.25, 1.5, -0.5, -1.0, 0.5, 2.0};
    pal_ctx_t *ctx;
    double v, d1[6], d2[6];
    tvp_t p;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    tvp_init(&p, T_BARLOW, 2, 3);
    for (int t = PAL_F32; t <= PAL_F64; t++) {
        ck_status(run_lib(ctx, &p, (pal_dtype_t)t, z1, z2, &v, d1, d2),
                  PAL_OK);
        for (int q = 0; q < 6; q++)
            ck_assert(fabs(d1[q]) < 1e-6 && fabs(d2[q]) < 1e-6);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* All rows equal (and all zero), in both views: finite values and
 * gradients, also with VICReg's eps = 0. */
START_TEST(collapsed)
{
    enum { n = 6, k = 4 };
    double z[n * k], zero[n * k] = {0}, v, d1[n * k], d2[n * k];
    pal_ctx_t *ctx;
    tvp_t p;

    for (int64_t q = 0; q < n * k; q++)
        z[q] = 0.75 - 0.5 * (double)(q % k);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int t = PAL_F32; t <= PAL_F64; t++) {
        const pal_dtype_t dt = (pal_dtype_t)t;

        for (int zeroed = 0; zeroed < 2; zeroed++) {
            const double *zz = zeroed ? zero : z;

            for (int eps0 = 0; eps0 < 2; eps0++) {
                tvp_init(&p, T_VICREG, n, k);
                p.vic.eps = eps0 ? 0.0 : 1e-4;
                ck_status(run_lib(ctx, &p, dt, zz, zz, &v, d1, d2), PAL_OK);
                ck_close(v, 25.0 * k * (1.0 - sqrt(p.vic.eps)), 1e-12, 0.0,
                         "vicreg collapsed");
                for (int64_t q = 0; q < n * k; q++)
                    ck_assert(d1[q] == 0.0 && d2[q] == 0.0);
            }

            /* Centred columns vanish: the floor holds them at zero, C =
             * 0 and L = k; with eps = 0 that is a zero norm. */
            tvp_init(&p, T_BARLOW, n, k);
            ck_status(run_lib(ctx, &p, dt, zz, zz, &v, d1, d2), PAL_OK);
            ck_close(v, (double)k, 1e-12, 0.0, "barlow collapsed");
            for (int64_t q = 0; q < n * k; q++)
                ck_assert(isfinite(d1[q]) && isfinite(d2[q]));
            p.bar.eps = 0.0;
            ck_status(run_lib(ctx, &p, dt, zz, zz, &v, d1, d2),
                      PAL_E_ZERO_NORM);

            tvp_init(&p, T_SPECTRAL, n, k);
            ck_status(run_lib(ctx, &p, dt, zz, zz, &v, d1, d2), PAL_OK);
            ck_assert(isfinite(v));
        }

        /* Equal rows: every similarity is 1 / tau. */
        for (int sym = 0; sym < 2; sym++) {
            tvp_init(&p, T_NTXENT, n, k);
            p.ntx.symmetric = sym;
            ck_status(run_lib(ctx, &p, dt, z, z, &v, d1, d2), PAL_OK);
            ck_close(v, sym ? 2.0 * n * log(2.0 * n - 1.0) : n * log(n),
                     1e-5, 0.0, "ntxent collapsed");
            for (int64_t q = 0; q < n * k; q++)
                ck_assert(fabs(d1[q]) < 1e-4 && fabs(d2[q]) < 1e-4);
            /* All-zero rows: held at the floor, finite; eps = 0 is a
             * zero norm. */
            ck_status(run_lib(ctx, &p, dt, zero, zero, &v, d1, d2), PAL_OK);
            ck_close(v, sym ? 2.0 * n * log(2.0 * n - 1.0) : n * log(n),
                     1e-6, 0.0, "ntxent zero");
            p.ntx.eps = 0.0;
            ck_status(run_lib(ctx, &p, dt, zero, zero, &v, d1, d2),
                      PAL_E_ZERO_NORM);
        }
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* Z + 1e4 in float32: means are taken first and variances from centred
 * values, so float32 agrees with float64 on the same rounded input as
 * well as without the offset. */
START_TEST(large_offset_float32)
{
    enum { n = 64, k = 6 };
    double z1[n * k], z2[n * k];
    double v64, v32, a1[n * k], a2[n * k], b1[n * k], b2[n * k];
    pal_ctx_t *ctx;
    trng_t r;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    trng_seed(&r, test_seed() + 7);
    draw_views(&r, n, k, 0.7, 0.2, z1, z2);
    for (int64_t q = 0; q < n * k; q++) {
        z1[q] += 1e4;
        z2[q] += 1e4;
    }
    round_to_float(z1, n, k, k);
    round_to_float(z2, n, k, k);
    for (int loss = T_VICREG; loss <= T_BARLOW; loss += 2) {
        tvp_t p;

        tvp_init(&p, loss, n, k);
        ck_status(run_lib(ctx, &p, PAL_F64, z1, z2, &v64, a1, a2), PAL_OK);
        ck_status(run_lib(ctx, &p, PAL_F32, z1, z2, &v32, b1, b2), PAL_OK);
        ck_close(v32, v64, 1e-4, 0.0, tv_name[loss]);
        ck_assert_msg(rel_err(b1, a1, n * k, 0.0) < 1e-3 &&
                          rel_err(b2, a2, n * k, 0.0) < 1e-3,
                      "%s: float32 gradient with an offset", tv_name[loss]);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* Similarities in panels of a few rows (a workspace limit) give what one
 * panel gives; a limit below one row is PAL_E_NOMEM. */
START_TEST(panels)
{
    enum { n = 40, k = 50 };
    double z1[n * k], z2[n * k], v, w, a1[n * k], a2[n * k], b1[n * k],
        b2[n * k];
    pal_ctx_t *ctx, *lim;
    trng_t r;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    ck_status(pal_ctx_create(&lim, NULL), PAL_OK);
    trng_seed(&r, test_seed() + 9);
    draw_views(&r, n, k, 0.3, 0.1, z1, z2);
    for (int loss = T_NTXENT; loss <= T_SPECTRAL; loss += 2) {
        for (int sym = 0; sym < 2; sym++) {
            tvp_t p;

            tvp_init(&p, loss, n, k);
            p.ntx.symmetric = sym;
            /* 2 n k doubles of gradient, a few vectors, ~6 panel rows. */
            ck_status(pal_ctx_set_workspace_limit(
                          lim, (size_t)(2 * n * k * 8 * (loss == T_NTXENT ? 2
                                                                          : 1) +
                                        3000 + 6 * 2 * n * 8)),
                      PAL_OK);
            ck_status(run_lib(ctx, &p, PAL_F64, z1, z2, &v, a1, a2), PAL_OK);
            ck_status(run_lib(lim, &p, PAL_F64, z1, z2, &w, b1, b2), PAL_OK);
            ck_close(w, v, 1e-12, 0.0, "panelled value");
            ck_assert(rel_err(b1, a1, n * k, 0.0) < 1e-12 &&
                      rel_err(b2, a2, n * k, 0.0) < 1e-12);
            ck_status(pal_ctx_set_workspace_limit(lim, 512), PAL_OK);
            ck_status(run_lib(lim, &p, PAL_F64, z1, z2, &w, b1, b2),
                      PAL_E_NOMEM);
        }
    }
    pal_ctx_destroy(ctx);
    pal_ctx_destroy(lim);
}
END_TEST

/* One array for both views; and a second call reuses the workspace. */
START_TEST(same_array_and_reuse)
{
    enum { n = 7, k = 3 };
    double z[n * k], v, d1[n * k], d2[n * k];
    pal_ctx_t *ctx;
    trng_t r;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    trng_seed(&r, test_seed() + 11);
    fill_normal(&r, z, n, k, k, 1.0);
    for (int loss = 0; loss < 4; loss++) {
        tvp_t p;
        size_t ws;

        tvp_init(&p, loss, n, k);
        ck_status(lib_grad(ctx, &p, PAL_F64, z, k, z, k, &v, d1, k, d2, k),
                  PAL_OK);
        ws = pal_ctx_workspace_size(ctx);
        ck_status(lib_grad(ctx, &p, PAL_F64, z, k, z, k, &v, d1, k, d2, k),
                  PAL_OK);
        ck_assert(pal_ctx_workspace_size(ctx) == ws);
        /* Symmetric in the views when they are one array. */
        for (int64_t q = 0; loss != T_NTXENT && q < n * k; q++)
            ck_close(d1[q], d2[q], 1e-12, 1e-12, "same array");
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Relations to the graph losses (docs/twoview.md) --------------------- */

/* Z = [Z1; Z2] (2n x k, contiguous). */
static void stack(int64_t n, int64_t k, const double *z1, const double *z2,
                  double *z)
{
    memcpy(z, z1, (size_t)(n * k) * sizeof *z);
    memcpy(z + n * k, z2, (size_t)(n * k) * sizeof *z);
}

/* The pairing graph of 2n rows, row i and row n + i one sample, with
 * pal_graph_ssl; without its diagonal when offdiag. */
static pal_graph_t *pairing(int64_t n, int offdiag)
{
    int64_t *src = xmalloc((size_t)(2 * n) * sizeof *src);
    pal_graph_t *g;

    for (int64_t i = 0; i < 2 * n; i++)
        src[i] = i % n;
    ck_status(pal_graph_ssl(&g, 2 * n, 0, src, NULL), PAL_OK);
    if (offdiag)
        ck_status(pal_graph_add_identity(g, -1.0), PAL_OK);
    free(src);
    return g;
}

/* c times the pairing graph (labels i mod n of weight c), optionally
 * without its diagonal. */
static pal_graph_t *pairing_scaled(int64_t n, double c, int offdiag)
{
    int32_t *y = xmalloc((size_t)(2 * n) * sizeof *y);
    pal_graph_t *g;

    for (int64_t i = 0; i < 2 * n; i++)
        y[i] = (int32_t)(i % n);
    ck_status(pal_graph_create(&g, 2 * n, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(g, c, y), PAL_OK);
    if (offdiag)
        ck_status(pal_graph_add_identity(g, -c), PAL_OK);
    free(y);
    return g;
}

/* The symmetric NT-Xent is SimCLR on the pairing graph, value and
 * gradient; the eq. 3 form is
 * the two one-way terms with the same-view negatives left out. */
START_TEST(relation_ntxent)
{
    enum { n = 6, k = 4, nk = n * k };
    double z1[nk], z2[nk], z[2 * nk], gz[2 * nk], d1[nk], d2[nk];
    double v, vg, v12, v21, extra = 0.0;
    pal_ctx_t *ctx;
    pal_simclr_opts_t so;
    pal_ntxent_opts_t o;
    trng_t r;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    trng_seed(&r, test_seed() + 13);
    draw_views(&r, n, k, 1.0, 0.5, z1, z2);
    stack(n, k, z1, z2, z);
    pal_ntxent_opts_init(&o);
    o.tau = 0.3;
    o.eps = 0.0;
    o.symmetric = 1;
    pal_simclr_opts_init(&so);
    so.tau = o.tau;
    ck_status(pal_grad_ntxent(ctx, PAL_F64, n, k, z1, k, z2, k, &o, &v, d1,
                              k, d2, k),
              PAL_OK);
    {
        /* The graph's diagonal never enters: D_i leaves k = i out. */
        pal_graph_t *g = pairing(n, 0);

        ck_status(pal_grad_simclr(ctx, g, PAL_F64, 2 * n, k, z, k, &so, &vg,
                                  gz, k),
                  PAL_OK);
        ck_close(v, vg, 1e-12, 0.0, "symmetric ntxent = graph simclr");
        ck_assert(rel_err(d1, gz, nk, 0.0) < 1e-12 &&
                  rel_err(d2, gz + nk, nk, 0.0) < 1e-12);
        pal_graph_destroy(g);
    }

    /* L_sym = L(Z1 -> Z2) + L(Z2 -> Z1) + sum over anchors of
     * log(1 + same-view mass / other-view mass). */
    o.symmetric = 0;
    ck_status(pal_loss_ntxent(ctx, PAL_F64, n, k, z1, k, z2, k, &o, &v12),
              PAL_OK);
    ck_status(pal_loss_ntxent(ctx, PAL_F64, n, k, z2, k, z1, k, &o, &v21),
              PAL_OK);
    {
        double w[2 * nk];
        tvp_t p;

        tvp_init(&p, T_NTXENT, n, k);
        unit_rows(&p, z1, 0.0, w);
        unit_rows(&p, z2, 0.0, w + nk);
        for (int64_t a = 0; a < 2 * n; a++) {
            double same = 0.0, other = 0.0;

            for (int64_t b = 0; b < 2 * n; b++) {
                double e = exp(dot(w + a * k, w + b * k, k) / o.tau);

                if (b == a)
                    continue;
                if ((a < n) == (b < n))
                    same += e;
                else
                    other += e;
            }
            extra += log1p(same / other);
        }
    }
    ck_close(v, v12 + v21 + extra, 1e-12, 0.0, "ntxent forms");
    ck_assert(v > v12 + v21);
    pal_ctx_destroy(ctx);
}
END_TEST

/* Eq. 5 against VIC^2 on n times the pairing graph without diagonal:
 * VIC^2 = 2n L + 2 sum_i d_i^2 + ||Z1 Z1^T||^2 + ||Z2 Z2^T||^2 + 2 n^3
 * (the 2 sum d_i^2 goes with diag = 1); gradients likewise. */
START_TEST(relation_spectral)
{
    enum { n = 5, k = 3, nk = n * k };
    double z1[nk], z2[nk], z[2 * nk], gz[2 * nk], d1[nk], d2[nk];
    pal_ctx_t *ctx;
    trng_t r;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    trng_seed(&r, test_seed() + 17);
    draw_views(&r, n, k, 0.8, 0.4, z1, z2);
    stack(n, k, z1, z2, z);
    for (int diag = 0; diag < 2; diag++) {
        pal_graph_t *g = pairing_scaled(n, (double)n, 1);
        pal_spectral_opts_t o;
        double v, vg, same = 0.0, pos2 = 0.0;
        double e1[nk] = {0}, e2[nk] = {0};

        pal_spectral_opts_init(&o);
        o.diag = diag;
        ck_status(pal_grad_spectral(ctx, PAL_F64, n, k, z1, k, z2, k, &o, &v,
                                    d1, k, d2, k),
                  PAL_OK);
        ck_status(pal_grad_vic2(ctx, g, PAL_F64, 2 * n, k, z, k, NULL, &vg,
                                gz, k),
                  PAL_OK);
        /* The extra terms and their gradients, by brute force. */
        for (int64_t i = 0; i < n; i++) {
            double d = dot(z1 + i * k, z2 + i * k, k);

            if (!diag) {
                pos2 += d * d;
                for (int64_t c = 0; c < k; c++) {
                    e1[i * k + c] += 4.0 * d * z2[i * k + c];
                    e2[i * k + c] += 4.0 * d * z1[i * k + c];
                }
            }
            for (int64_t j = 0; j < n; j++) {
                double a = dot(z1 + i * k, z1 + j * k, k);
                double b = dot(z2 + i * k, z2 + j * k, k);

                same += a * a + b * b;
                for (int64_t c = 0; c < k; c++) {
                    e1[i * k + c] += 4.0 * a * z1[j * k + c];
                    e2[i * k + c] += 4.0 * b * z2[j * k + c];
                }
            }
        }
        ck_close(vg, 2.0 * n * v + 2.0 * pos2 + same + 2.0 * n * n * n,
                 1e-12, 1e-12, "spectral vs vic2");
        for (int64_t q = 0; q < nk; q++) {
            ck_close(gz[q], 2.0 * n * d1[q] + e1[q], 1e-10, 1e-10,
                     "spectral vs vic2, dZ1");
            ck_close(gz[nk + q], 2.0 * n * d2[q] + e2[q], 1e-10, 1e-10,
                     "spectral vs vic2, dZ2");
        }
        pal_graph_destroy(g);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/*
 * VICReg against VIC^2 on (2n - 1) / 2 times the pairing graph (with its
 * diagonal), for views whose stacked columns have zero mean: with m =
 * 2n - 1, VIC^2 / m^2 = VICReg(alpha = 0, beta = 1, gamma = n / m) +
 * sum_k (C_kk - 1)^2 + n - k, gradients likewise; with unit variances
 * the variance terms vanish on both sides and the losses coincide up to
 * the constant.
 */
START_TEST(relation_vicreg)
{
    enum { n = 6, k = 3, nk = n * k };
    const double m = 2.0 * n - 1.0;
    double z1[nk], z2[nk], z[2 * nk], gz[2 * nk], d1[nk], d2[nk];
    pal_ctx_t *ctx;
    trng_t r;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    trng_seed(&r, test_seed() + 19);
    for (int unit = 0; unit < 2; unit++) {
        pal_graph_t *g = pairing_scaled(n, m / 2.0, 0);
        pal_vicreg_opts_t o;
        double v, vg, var[k], dvar = 0.0;

        draw_views(&r, n, k, 0.9, 0.5, z1, z2);
        stack(n, k, z1, z2, z);
        for (int64_t c = 0; c < k; c++) {
            double mu = 0.0, ss = 0.0;

            for (int64_t i = 0; i < 2 * n; i++)
                mu += z[i * k + c] / (2.0 * n);
            for (int64_t i = 0; i < 2 * n; i++) {
                z[i * k + c] -= mu;
                ss += z[i * k + c] * z[i * k + c];
            }
            var[c] = ss / m;
            for (int64_t i = 0; unit && i < 2 * n; i++)
                z[i * k + c] /= sqrt(var[c]);
            if (unit)
                var[c] = 1.0;
            dvar += (var[c] - 1.0) * (var[c] - 1.0);
        }
        memcpy(z1, z, sizeof z1);
        memcpy(z2, z + nk, sizeof z2);
        pal_vicreg_opts_init(&o);
        o.alpha = 0.0;
        o.beta = 1.0;
        o.gamma = n / m;
        o.eps = 0.0;
        ck_status(pal_grad_vicreg(ctx, PAL_F64, n, k, z1, k, z2, k, &o, &v,
                                  d1, k, d2, k),
                  PAL_OK);
        if (unit) {
            /* Unit variances: the hinge is at its kink, worth 0 whatever
             * alpha (only the value is compared there). */
            double va;

            o.alpha = 25.0;
            ck_status(pal_loss_vicreg(ctx, PAL_F64, n, k, z1, k, z2, k, &o,
                                      &va),
                      PAL_OK);
            ck_close(va, v, 1e-12, 1e-12, "vicreg at unit variance");
        }
        ck_status(pal_grad_vic2(ctx, g, PAL_F64, 2 * n, k, z, k, NULL, &vg,
                                gz, k),
                  PAL_OK);
        ck_close(vg / (m * m), v + dvar + n - k, 1e-10, 1e-10,
                 "vicreg vs vic2");
        for (int64_t i = 0; i < 2 * n; i++)
            for (int64_t c = 0; c < k; c++) {
                /* d/dz sum_k (C_kk - 1)^2 = 4 (C_kk - 1) x_ik / m. */
                double extra = 4.0 * (var[c] - 1.0) * z[i * k + c] / m;
                double lib = i < n ? d1[i * k + c] : d2[(i - n) * k + c];

                ck_close(gz[i * k + c] / (m * m), lib + extra, 1e-9, 1e-9,
                         "vicreg vs vic2, gradient");
            }
        pal_graph_destroy(g);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/*
 * BarlowTwins against BT on the pairing graph without diagonal, for
 * views whose columns have equal norms (centred or not): the graph's C
 * is (C + C^T) / 2, so the values differ by lambda / 4 sum_{k != l}
 * (C_kl - C_lk)^2 (nothing for lambda = 0). With the diagonal, the
 * same-view cosines join: C_graph = (U^T U + V^T V + C + C^T) / 2.
 */
START_TEST(relation_barlow)
{
    enum { n = 7, k = 3, nk = n * k };
    double z1[nk], z2[nk], z[2 * nk];
    pal_ctx_t *ctx;
    trng_t r;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    trng_seed(&r, test_seed() + 23);
    for (int center = 0; center < 2; center++) {
        double u[2][nk], cc[k][k], au[k][k], av[k][k];

        draw_views(&r, n, k, 1.0, 0.7, z1, z2);
        /* Centre each view if asked, then give view 2 the column norms
         * of view 1. */
        for (int64_t c = 0; c < k; c++) {
            double m1 = 0.0, m2 = 0.0, r1 = 0.0, r2 = 0.0;

            for (int64_t i = 0; center && i < n; i++) {
                m1 += z1[i * k + c] / n;
                m2 += z2[i * k + c] / n;
            }
            for (int64_t i = 0; i < n; i++) {
                z1[i * k + c] -= m1;
                z2[i * k + c] -= m2;
                r1 += z1[i * k + c] * z1[i * k + c];
                r2 += z2[i * k + c] * z2[i * k + c];
            }
            for (int64_t i = 0; i < n; i++) {
                z2[i * k + c] *= sqrt(r1 / r2);
                u[0][i * k + c] = z1[i * k + c] / sqrt(r1);
                u[1][i * k + c] = z2[i * k + c] / sqrt(r1);
            }
        }
        stack(n, k, z1, z2, z);
        for (int64_t a = 0; a < k; a++)
            for (int64_t b = 0; b < k; b++) {
                cc[a][b] = au[a][b] = av[a][b] = 0.0;
                for (int64_t i = 0; i < n; i++) {
                    cc[a][b] += u[0][i * k + a] * u[1][i * k + b];
                    au[a][b] += u[0][i * k + a] * u[0][i * k + b];
                    av[a][b] += u[1][i * k + a] * u[1][i * k + b];
                }
            }
        for (int li = 0; li < 2; li++) {
            const double lambda = li ? 0.4 : 0.0;
            pal_barlow_opts_t o;
            pal_bt_opts_t bo;
            double v, vg, vs, asym = 0.0, withdiag = 0.0;
            pal_graph_t *g = pairing(n, 1), *gs = pairing(n, 0);

            pal_barlow_opts_init(&o);
            o.lambda = lambda;
            o.center = center;
            o.eps = 0.0;
            pal_bt_opts_init(&bo);
            bo.lambda = lambda;
            bo.center = center;
            ck_status(pal_loss_barlow(ctx, PAL_F64, n, k, z1, k, z2, k, &o,
                                      &v),
                      PAL_OK);
            ck_status(pal_loss_bt(ctx, g, PAL_F64, 2 * n, k, z, k, &bo, &vg),
                      PAL_OK);
            ck_status(pal_loss_bt(ctx, gs, PAL_F64, 2 * n, k, z, k, &bo, &vs),
                      PAL_OK);
            for (int64_t a = 0; a < k; a++)
                for (int64_t b = 0; b < k; b++) {
                    double x = (au[a][b] + av[a][b] + cc[a][b] + cc[b][a]) / 2;

                    if (a != b)
                        asym += (cc[a][b] - cc[b][a]) * (cc[a][b] - cc[b][a]);
                    withdiag += a == b ? (x - 1.0) * (x - 1.0)
                                       : lambda * x * x;
                }
            ck_close(v, vg + lambda / 4.0 * asym, 1e-12, 1e-12,
                     "barlow vs graph bt");
            ck_close(vs, withdiag, 1e-12, 1e-12,
                     "graph bt with the diagonal");
            pal_graph_destroy(g);
            pal_graph_destroy(gs);
        }
    }
    pal_ctx_destroy(ctx);
}
END_TEST

Suite *suite_twoview(void);
Suite *suite_twoview(void)
{
    Suite *s = suite_create("twoview");
    TCase *tc = tcase_create("twoview");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, values_and_gradients);
    tcase_add_test(tc, one_sample);
    tcase_add_test(tc, zero_gradient_two);
    tcase_add_test(tc, collapsed);
    tcase_add_test(tc, large_offset_float32);
    tcase_add_test(tc, panels);
    tcase_add_test(tc, same_array_and_reuse);
    tcase_add_test(tc, relation_ntxent);
    tcase_add_test(tc, relation_spectral);
    tcase_add_test(tc, relation_vicreg);
    tcase_add_test(tc, relation_barlow);
    suite_add_tcase(s, tc);
    return s;
}
