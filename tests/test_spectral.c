/*
 * The closed-form embedding, the Gaussian kernel and the linear probe,
 * against references computed here: a cyclic Jacobi eigensolver on the
 * brute-force expansion of each graph, a Gauss-Jordan inverse for the
 * kernel problems, and the normal equations for the probe.
 *
 * Embeddings are compared through what is unique about them: Z Z^T (the
 * optimum itself, whatever basis a repeated eigenvalue gets), the
 * eigenvalues, and projectors onto the spanned subspaces.
 */
#include "testutil.h"

/* ---- References ---------------------------------------------------------- */

/*
 * Eigenpairs of the symmetric n x n matrix a (destroyed) by cyclic
 * Jacobi rotations: eigenvalues into ev in descending order, the unit
 * eigenvector of ev[c] into column c of v (n x n, stride n).
 */
static void jacobi(int64_t n, double *a, double *ev, double *v)
{
    double norm = 0.0;

    for (int64_t i = 0; i < n * n; i++) {
        v[i] = i % (n + 1) == 0 ? 1.0 : 0.0;
        norm += a[i] * a[i];
    }
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;

        for (int64_t p = 0; p < n; p++)
            for (int64_t q = p + 1; q < n; q++)
                off += a[p * n + q] * a[p * n + q];
        if (off <= 1e-34 * norm)
            break;
        for (int64_t p = 0; p < n; p++) {
            for (int64_t q = p + 1; q < n; q++) {
                const double apq = a[p * n + q];
                double th, t, c, s;

                if (apq == 0.0)
                    continue;
                th = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                t = (th >= 0.0 ? 1.0 : -1.0) /
                    (fabs(th) + sqrt(th * th + 1.0));
                c = 1.0 / sqrt(t * t + 1.0);
                s = t * c;
                for (int64_t r = 0; r < n; r++) {
                    const double x = a[r * n + p], y = a[r * n + q];

                    a[r * n + p] = c * x - s * y;
                    a[r * n + q] = s * x + c * y;
                }
                for (int64_t r = 0; r < n; r++) {
                    const double x = a[p * n + r], y = a[q * n + r];

                    a[p * n + r] = c * x - s * y;
                    a[q * n + r] = s * x + c * y;
                }
                for (int64_t r = 0; r < n; r++) {
                    const double x = v[r * n + p], y = v[r * n + q];

                    v[r * n + p] = c * x - s * y;
                    v[r * n + q] = s * x + c * y;
                }
            }
        }
    }
    /* Selection sort, descending, moving the vectors along. */
    for (int64_t c = 0; c < n; c++)
        ev[c] = a[c * n + c];
    for (int64_t c = 0; c < n; c++) {
        int64_t best = c;

        for (int64_t d = c + 1; d < n; d++)
            if (ev[d] > ev[best])
                best = d;
        if (best != c) {
            double t = ev[c];

            ev[c] = ev[best];
            ev[best] = t;
            for (int64_t r = 0; r < n; r++) {
                t = v[r * n + c];
                v[r * n + c] = v[r * n + best];
                v[r * n + best] = t;
            }
        }
    }
}

/* The symmetric part of an n x n matrix, in place. */
static void symmetrise(int64_t n, double *a)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++)
            a[i * n + j] = a[j * n + i] =
                0.5 * a[i * n + j] + 0.5 * a[j * n + i];
}

/* Inverse of an n x n matrix by Gauss-Jordan with partial pivoting. */
static void invert(int64_t n, const double *a, double *inv)
{
    double *m = xmalloc((size_t)(n * 2 * n) * sizeof *m);

    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < 2 * n; j++)
            m[i * 2 * n + j] = j < n ? a[i * n + j] : (j - n == i);
    for (int64_t c = 0; c < n; c++) {
        int64_t piv = c;

        for (int64_t r = c + 1; r < n; r++)
            if (fabs(m[r * 2 * n + c]) > fabs(m[piv * 2 * n + c]))
                piv = r;
        for (int64_t j = 0; j < 2 * n; j++) {
            double t = m[c * 2 * n + j];

            m[c * 2 * n + j] = m[piv * 2 * n + j];
            m[piv * 2 * n + j] = t;
        }
        for (int64_t j = 2 * n - 1; j >= c; j--)
            m[c * 2 * n + j] /= m[c * 2 * n + c];
        for (int64_t r = 0; r < n; r++) {
            const double f = m[r * 2 * n + c];

            if (r == c || f == 0.0)
                continue;
            for (int64_t j = c; j < 2 * n; j++)
                m[r * 2 * n + j] -= f * m[c * 2 * n + j];
        }
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            inv[i * n + j] = m[i * 2 * n + n + j];
    free(m);
}

/* Z Z^T (n x n) of an n x k double matrix with stride ld. */
static void gram_rows(int64_t n, int64_t k, const double *z, int64_t ld,
                      double *out)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;

            for (int64_t c = 0; c < k; c++)
                s += z[i * ld + c] * z[j * ld + c];
            out[i * n + j] = s;
        }
}

/* The optimum from the reference eigenpairs: sum over the top k of
 * max(ev, 0) v v^T. */
static void reference_zzt(int64_t n, int64_t k, const double *ev,
                          const double *v, double *out)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;

            for (int64_t c = 0; c < k && c < n; c++)
                if (ev[c] > 0.0)
                    s += ev[c] * v[i * n + c] * v[j * n + c];
            out[i * n + j] = s;
        }
}

/* The projector onto the span of the non-zero columns of an n x k
 * matrix whose non-zero columns are orthogonal. */
static void projector(int64_t n, int64_t k, const double *z, int64_t ld,
                      double *p)
{
    memset(p, 0, (size_t)(n * n) * sizeof *p);
    for (int64_t c = 0; c < k; c++) {
        double s = 0.0;

        for (int64_t i = 0; i < n; i++)
            s += z[i * ld + c] * z[i * ld + c];
        if (s == 0.0)
            continue;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                p[i * n + j] += z[i * ld + c] * z[j * ld + c] / s;
    }
}

static double max_abs(const double *a, int64_t len)
{
    double m = 0.0;

    for (int64_t i = 0; i < len; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

static double max_diff(const double *a, const double *b, int64_t len)
{
    double m = 0.0;

    for (int64_t i = 0; i < len; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* Each non-zero column's entry of largest magnitude (the first on ties)
 * is positive. */
static void check_signs(int64_t n, int64_t k, const double *z, int64_t ld)
{
    for (int64_t c = 0; c < k; c++) {
        double best = -1.0, at = 0.0;

        for (int64_t i = 0; i < n; i++)
            if (fabs(z[i * ld + c]) > best) {
                best = fabs(z[i * ld + c]);
                at = z[i * ld + c];
            }
        ck_assert_msg(at >= 0.0, "column %lld: largest entry negative",
                      (long long)c);
    }
}

/*
 * Embed a graph and check it against the Jacobi reference on gd (its
 * n x n expansion, before symmetrisation): eigenvalues, Z Z^T, the
 * projector of the positive part, orthogonality, signs.
 */
static void check_embedding(pal_ctx_t *ctx, const pal_graph_t *g,
                            const double *gd, int64_t n, int64_t k,
                            const pal_embed_opts_t *opts, double tol)
{
    const int64_t ld = k + 2;
    double *a = xmalloc((size_t)(n * n) * sizeof *a);
    double *v = xmalloc((size_t)(n * n) * sizeof *v);
    double *ev = xmalloc((size_t)n * sizeof *ev);
    double *z = xmalloc((size_t)(n * ld) * sizeof *z);
    double *nu = xmalloc((size_t)k * sizeof *nu);
    double *x = xmalloc((size_t)(n * n) * sizeof *x);
    double *y = xmalloc((size_t)(n * n) * sizeof *y);
    double scale;

    memcpy(a, gd, (size_t)(n * n) * sizeof *a);
    symmetrise(n, a);
    jacobi(n, a, ev, v);
    scale = fmax(fabs(ev[0]), fabs(ev[n - 1]));
    for (int64_t q = 0; q < n * ld; q++)
        z[q] = NAN;
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, opts, z, ld, nu),
              PAL_OK);
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = k; c < ld; c++)
            ck_assert_msg(isnan(z[i * ld + c]), "padding written");

    for (int64_t c = 0; c < k; c++)
        ck_close(nu[c], c < n ? ev[c] : 0.0, 0.0, tol * scale,
                 "eigenvalue");
    gram_rows(n, k, z, ld, x);
    reference_zzt(n, k, ev, v, y);
    ck_assert_msg(max_diff(x, y, n * n) <= tol * scale,
                  "Z Z^T differs from the reference by %g",
                  max_diff(x, y, n * n));

    /* The positive part's subspace, when separated from the rest. */
    {
        int64_t kp = 0;

        while (kp < k && kp < n && ev[kp] > tol * scale)
            kp++;
        if (kp < n && (kp == 0 || ev[kp - 1] - ev[kp] > 1e-6 * scale)) {
            projector(n, k, z, ld, x);
            projector(n, kp, v, n, y);
            ck_assert_msg(max_diff(x, y, n * n) <= 1e3 * tol,
                          "subspaces differ by %g", max_diff(x, y, n * n));
        }
    }
    /* Columns orthogonal, with squared norms max(nu, 0). */
    for (int64_t c = 0; c < k; c++)
        for (int64_t d = 0; d <= c; d++) {
            double s = 0.0;

            for (int64_t i = 0; i < n; i++)
                s += z[i * ld + c] * z[i * ld + d];
            ck_close(s, c == d ? fmax(nu[c], 0.0) : 0.0, 0.0, tol * scale,
                     "Z^T Z");
        }
    check_signs(n, k, z, ld);
    free(a);
    free(v);
    free(ev);
    free(z);
    free(nu);
    free(x);
    free(y);
}

/* ---- Dense and sparse graphs --------------------------------------------- */

START_TEST(dense_graphs_match_jacobi)
{
    trng_t r;
    pal_ctx_t *ctx;

    trng_seed(&r, test_seed() + 101);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int trial = 0; trial < 6; trial++) {
        const int64_t n = 5 + 7 * trial, k = 1 + trial % 4;
        tgraph_t tg;
        pal_graph_t *g;
        double *gd = xmalloc((size_t)(n * n) * sizeof *gd);

        tg_init(&tg, n);
        /* Symmetric or not, non-negative or signed, float or double. */
        tg_dense(&tg, &r, 1.0, trial % 2 ? PAL_F32 : PAL_F64, trial < 3,
                 trial % 3 == 0);
        if (trial >= 4)
            tg_identity(&tg, 0.5);
        g = tg_build(&tg);
        tg_expand(&tg, gd);
        check_embedding(ctx, g, gd, n, k, NULL, 1e-10);
        pal_graph_destroy(g);
        tg_free(&tg);
        free(gd);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

START_TEST(sparse_graphs_match_jacobi)
{
    trng_t r;
    pal_ctx_t *ctx;

    trng_seed(&r, test_seed() + 102);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int trial = 0; trial < 4; trial++) {
        const int64_t n = 20 + 5 * trial, k = 3;
        tgraph_t tg;
        pal_graph_t *g;
        double *gd = xmalloc((size_t)(n * n) * sizeof *gd);
        int32_t *y = xmalloc((size_t)n * sizeof *y);

        tg_init(&tg, n);
        tg_csr(&tg, &r, 1.0, trial % 2 ? PAL_F64 : 0, 0.15, trial < 2, 1);
        random_labels(&r, y, n, 3, 0.2);
        if (trial == 3)
            tg_labels(&tg, 0.5, y);   /* a mix: the dense route */
        g = tg_build(&tg);
        tg_expand(&tg, gd);
        check_embedding(ctx, g, gd, n, k, NULL, 1e-10);
        pal_graph_destroy(g);
        tg_free(&tg);
        free(gd);
        free(y);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

START_TEST(float32_matches_float64)
{
    const int64_t n = 40, k = 4;
    trng_t r;
    pal_ctx_t *ctx;
    tgraph_t tg;
    pal_graph_t *g;
    double z[40 * 4], nu[4], nuf[4], back[40 * 4];
    float zf[40 * 5];

    trng_seed(&r, test_seed() + 103);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    tg_init(&tg, n);
    tg_dense(&tg, &r, 1.0, PAL_F32, 1, 1);
    g = tg_build(&tg);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, NULL, z, k, nu),
              PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F32, n, k, NULL, zf, 5, nuf),
              PAL_OK);
    /* The same float64 solve, rounded once to float on the way out. */
    to_double(zf, n, k, 5, back, k);
    for (int64_t c = 0; c < k; c++)
        ck_assert(nu[c] == nuf[c]);
    ck_assert_msg(max_diff(z, back, n * k) <= 1e-6 * max_abs(z, n * k),
                  "float32 and float64 differ by %g",
                  max_diff(z, back, n * k));
    pal_graph_destroy(g);
    tg_free(&tg);
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Label graphs: Theorem 2 -------------------------------------------- */

START_TEST(label_graph_is_the_one_hot_labels)
{
    const int64_t n = 60, c = 4, k = 6;
    trng_t r;
    pal_ctx_t *ctx;
    pal_graph_t *g, *gd_graph;
    int32_t y[60];
    double z[60 * 6], zd[60 * 6], nu[6], nud[6], zr[60 * 6], dz[60 * 6];
    double *gd = xmalloc((size_t)(n * n) * sizeof *gd);
    double *p = xmalloc((size_t)(n * n) * sizeof *p);
    double *q = xmalloc((size_t)(n * n) * sizeof *q);
    double onehot[60 * 4], frob, loss, loss_rand, size[4] = {0};

    trng_seed(&r, test_seed() + 104);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int64_t i = 0; i < n; i++) {
        /* Classes of 24, 18, 12 and 6 items, shuffled. */
        y[i] = i < 24 ? 2 : i < 42 ? 0 : i < 54 ? 3 : 1;
    }
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = trng_below(&r, i + 1);
        int32_t t = y[i];

        y[i] = y[j];
        y[j] = t;
    }
    ck_status(pal_graph_create(&g, n, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, NULL, z, k, nu),
              PAL_OK);

    /* Eigenvalues: the class sizes, largest first, then zeros. */
    ck_assert(nu[0] == 24.0 && nu[1] == 18.0 && nu[2] == 12.0 &&
              nu[3] == 6.0 && nu[4] == 0.0 && nu[5] == 0.0);
    /* Z = Y R: every entry is 1 on its class's column or 0, exactly. */
    for (int64_t i = 0; i < n; i++) {
        const int64_t col = y[i] == 2 ? 0 : y[i] == 0 ? 1 : y[i] == 3 ? 2 : 3;

        for (int64_t d = 0; d < k; d++)
            ck_assert(z[i * k + d] == (d == col ? 1.0 : 0.0));
        size[col] += 1.0;
        for (int64_t d = 0; d < c; d++)
            onehot[i * c + d] = y[i] == d;
    }
    /* The span is that of the one-hot labels: equal projectors. */
    projector(n, k, z, k, p);
    projector(n, c, onehot, c, q);
    ck_assert(max_diff(p, q, n * n) < 1e-14);

    /* The dense route on the same graph agrees (any basis). */
    pal_graph_to_dense(g, PAL_F64, gd, n);
    ck_status(pal_graph_create(&gd_graph, n, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(gd_graph, 1.0, PAL_F64, gd, n, 0), PAL_OK);
    ck_status(pal_spectral_embed(ctx, gd_graph, PAL_F64, n, k, NULL, zd, k,
                                 nud),
              PAL_OK);
    for (int64_t d = 0; d < k; d++)
        ck_close(nud[d], nu[d], 0.0, 1e-12 * n, "dense route eigenvalue");
    gram_rows(n, k, z, k, p);
    gram_rows(n, k, zd, k, q);
    ck_assert(max_diff(p, q, n * n) < 1e-12);

    /* VIC^2 at the optimum: zero (k >= C), below a random Z's, and a zero
     * gradient. */
    pal_graph_frobenius2(g, &frob);
    ck_status(pal_grad_vic2(ctx, g, PAL_F64, n, k, z, k, NULL, &loss, dz, k),
              PAL_OK);
    ck_assert_msg(fabs(loss) <= 1e-12 * frob, "VIC^2 at the optimum: %g",
                  loss);
    ck_assert(max_abs(dz, n * k) <= 1e-12 * n);
    fill_normal(&r, zr, n, k, k, 1.0);
    ck_status(pal_loss_vic2(ctx, g, PAL_F64, n, k, zr, k, NULL, &loss_rand),
              PAL_OK);
    ck_assert(loss <= loss_rand);

    /* k < C: the top classes only, still a stationary point, with the
     * loss of the classes left out. */
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, 2, NULL, z, 2, nu),
              PAL_OK);
    ck_status(pal_grad_vic2(ctx, g, PAL_F64, n, 2, z, 2, NULL, &loss, dz, 2),
              PAL_OK);
    ck_close(loss, 12.0 * 12.0 + 6.0 * 6.0, 1e-12, 0.0, "VIC^2, k < C");
    ck_assert(max_abs(dz, n * 2) <= 1e-12 * n);

    pal_graph_destroy(g);
    pal_graph_destroy(gd_graph);
    pal_ctx_destroy(ctx);
    free(gd);
    free(p);
    free(q);
}
END_TEST

/* Graphs of block terms: the class-space route against Jacobi. */
START_TEST(block_graphs_match_jacobi)
{
    trng_t r;
    pal_ctx_t *ctx;

    trng_seed(&r, test_seed() + 105);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int trial = 0; trial < 6; trial++) {
        const int64_t n = 36, k = trial == 5 ? 40 : 5;
        tgraph_t tg;
        pal_graph_t *g;
        double *gd = xmalloc((size_t)(n * n) * sizeof *gd);
        int32_t y[36], y2[36], ea[3] = {0, 1, 2}, eb[3] = {1, 0, 2};
        double ew[3] = {-1.0, -0.5, 2.0};

        random_labels(&r, y, n, 4, trial == 1 ? 0.3 : 0.0);
        random_labels(&r, y2, n, 3, 0.1);
        for (int64_t i = 0; i < n; i++)
            y2[i] = y2[i] < 0 ? -1 : (int32_t)(i % 3);
        tg_init(&tg, n);
        if (trial == 0) {             /* the contrastive graph */
            tg_labels(&tg, 2.0, y);
            tg_constant(&tg, -1.0);
        } else if (trial == 1) {      /* unknown items */
            tg_labels(&tg, 1.5, y);
        } else if (trial == 2) {      /* a non-symmetric W */
            tg_blocks(&tg, 1.0, y2, 3, ea, eb, ew);
        } else if (trial == 3) {      /* two crossing partitions */
            tg_labels(&tg, 1.0, y);
            tg_labels(&tg, 0.7, y2);
        } else if (trial == 4) {      /* negative weight: all clipped */
            tg_labels(&tg, -1.0, y);
        } else {                      /* k > n */
            tg_ssl(&tg, 3, NULL);
        }
        g = tg_build(&tg);
        tg_expand(&tg, gd);
        check_embedding(ctx, g, gd, n, k, NULL, 1e-11);
        pal_graph_destroy(g);
        tg_free(&tg);
        free(gd);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Kernels ------------------------------------------------------------- */

START_TEST(gaussian_kernel_by_hand)
{
    const int64_t n = 30, d = 3;
    trng_t r;
    pal_ctx_t *ctx;
    double x[30 * 4], k64[30 * 31];
    float xf[30 * 4], k32[30 * 30];

    trng_seed(&r, test_seed() + 106);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    memset(x, 0, sizeof x);   /* the padding is scaled below too */
    fill_normal(&r, x, n, d, 4, 1.0);
    for (int64_t i = 0; i < n; i++)
        x[i * 4] += 1000.0;    /* an offset costs no precision */
    round_to_float(x, n, d, 4);
    to_float(x, n, d, 4, xf, 4);
    ck_status(pal_kernel_gaussian(ctx, PAL_F64, n, d, x, 4, 0.8, k64, 31),
              PAL_OK);
    ck_status(pal_kernel_gaussian(ctx, PAL_F32, n, d, xf, 4, 0.8, k32, 30),
              PAL_OK);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0, want;

            for (int64_t c = 0; c < d; c++)
                s += (x[i * 4 + c] - x[j * 4 + c]) *
                     (x[i * 4 + c] - x[j * 4 + c]);
            want = exp(-s / (2.0 * 0.8 * 0.8));
            ck_close(k64[i * 31 + j], want, 0.0, 1e-10, "kernel entry");
            ck_close(k32[i * 30 + j], want, 0.0, 1e-6, "float kernel");
            ck_assert(k64[i * 31 + j] == k64[j * 31 + i]);
        }
    for (int64_t i = 0; i < n; i++)
        ck_assert(k64[i * 31 + i] == 1.0);

    /* Points and bandwidth scaled by 2^+-1000 give the same kernel, bit
     * for bit: squared distances never overflow or underflow. */
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        double xs[30 * 4], ks[30 * 31];

        for (int64_t i = 0; i < n * 4; i++)
            xs[i] = ldexp(x[i], sgn * 1000);
        ck_status(pal_kernel_gaussian(ctx, PAL_F64, n, d, xs, 4,
                                      ldexp(0.8, sgn * 1000), ks, 31),
                  PAL_OK);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                ck_assert_msg(ks[i * 31 + j] == k64[i * 31 + j],
                              "scale 2^%d: entry %lld,%lld %.17g vs %.17g",
                              sgn * 1000, (long long)i, (long long)j,
                              ks[i * 31 + j], k64[i * 31 + j]);
    }
    /* Two points near +-DBL_MAX, bandwidth 1e308: a finite kernel. */
    {
        const double xe[2] = {0.9 * DBL_MAX, -0.9 * DBL_MAX}, h = 1e308;
        double ke[4], t = 0.9 * DBL_MAX / h * 2.0;

        ck_status(pal_kernel_gaussian(ctx, PAL_F64, 2, 1, xe, 1, h, ke, 2),
                  PAL_OK);
        ck_close(ke[1], exp(-0.5 * t * t), 0.0, 1e-12, "kernel near DBL_MAX");
        ck_assert(ke[1] == ke[2] && ke[0] == 1.0 && ke[3] == 1.0);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

START_TEST(kernel_problem_matches_dense_reference)
{
    const int64_t n = 32, d = 2, k = 4;
    trng_t r;
    pal_ctx_t *ctx;
    int32_t y[32];
    double x[32 * 2], kern[32 * 32], kd[32 * 32], kinv[32 * 32];
    double gd[32 * 32], m[32 * 32], z[32 * 4], dz[32 * 4], loss;
    pal_graph_t *g;
    pal_embed_opts_t o;

    trng_seed(&r, test_seed() + 107);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    fill_normal(&r, x, n, d, d, 1.0);
    random_labels(&r, y, n, 3, 0.5);
    ck_status(pal_graph_create(&g, n, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
    ck_status(pal_kernel_gaussian(ctx, PAL_F64, n, d, x, d, 1.0, kern, n),
              PAL_OK);
    pal_graph_to_dense(g, PAL_F64, gd, n);

    for (int pass = 0; pass < 2; pass++) {
        const double lambda = pass ? 0.05 : 0.3;
        const double delta = pass ? 1e-8 : 1e-3;  /* given, then auto */

        pal_embed_opts_init(&o);
        o.lambda = lambda;
        o.kernel = kern;
        if (pass == 0)
            o.delta = delta;
        memcpy(kd, kern, sizeof kd);
        for (int64_t i = 0; i < n; i++)
            kd[i * n + i] += delta;
        invert(n, kd, kinv);
        for (int64_t q = 0; q < n * n; q++)
            m[q] = gd[q] - lambda * kinv[q];
        /* K + delta I has a large condition number at delta = 1e-8: the
         * tolerance follows lambda / delta times the rounding. */
        check_embedding(ctx, g, m, n, k, &o, pass ? 1e-9 : 1e-11);

        /* The optimum of VIC^2 + 2 lambda Tr(Z^T K^-1 Z): its gradient
         * 4 Z Z^T Z - 4 G Z + 4 lambda K^-1 Z vanishes. */
        ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, &o, z, k, NULL),
                  PAL_OK);
        ck_status(pal_grad_vic2(ctx, g, PAL_F64, n, k, z, k, NULL, &loss, dz,
                                k),
                  PAL_OK);
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < k; c++) {
                double s = dz[i * k + c];

                for (int64_t j = 0; j < n; j++)
                    s += 4.0 * lambda * kinv[i * n + j] * z[j * k + c];
                ck_close(s, 0.0, 0.0, pass ? 1e-5 : 1e-9,
                         "regularised gradient");
            }
    }
    pal_graph_destroy(g);
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Edge cases ---------------------------------------------------------- */

START_TEST(negative_eigenvalues_are_clipped)
{
    /* G = Q diag(3, 1, -2, -5) Q^T for a Householder Q. */
    const double lam[4] = {3.0, 1.0, -2.0, -5.0};
    double u[4] = {0.5, -0.5, 0.5, 0.5}, gd[16], z[16], nu[4];
    pal_ctx_t *ctx;
    pal_graph_t *g;

    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double s = 0.0;

            for (int c = 0; c < 4; c++) {
                double qi = (i == c) - 2.0 * u[i] * u[c];
                double qj = (j == c) - 2.0 * u[j] * u[c];

                s += qi * lam[c] * qj;
            }
            gd[i * 4 + j] = s;
        }
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    ck_status(pal_graph_create(&g, 4, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(g, 1.0, PAL_F64, gd, 4, 0), PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 4, 4, NULL, z, 4, nu),
              PAL_OK);
    for (int c = 0; c < 4; c++)
        ck_close(nu[c], lam[c], 0.0, 1e-13, "eigenvalue");
    for (int i = 0; i < 4; i++) {
        ck_assert(z[i * 4 + 2] == 0.0 && z[i * 4 + 3] == 0.0);
        ck_assert(z[i * 4] != 0.0);
    }
    check_embedding(ctx, g, gd, 4, 4, NULL, 1e-13);

    /* Everything negative: Z = 0. */
    ck_status(pal_graph_add_identity(g, -10.0), PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 4, 2, NULL, z, 2, nu),
              PAL_OK);
    ck_assert(max_abs(z, 8) == 0.0);
    ck_close(nu[0], -7.0, 0.0, 1e-13, "shifted eigenvalue");
    pal_graph_destroy(g);
    pal_ctx_destroy(ctx);
}
END_TEST

START_TEST(one_item_and_k_beyond_n)
{
    const int32_t one[1] = {7};
    double g1 = 4.0, z[8], nu[8];
    float zf[3];
    pal_ctx_t *ctx;
    pal_graph_t *g, *gl;

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    ck_status(pal_graph_create(&g, 1, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(g, 1.0, PAL_F64, &g1, 1, 0), PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 1, 3, NULL, z, 3, nu),
              PAL_OK);
    ck_assert(z[0] == 2.0 && z[1] == 0.0 && z[2] == 0.0);
    ck_assert(nu[0] == 4.0 && nu[1] == 0.0 && nu[2] == 0.0);
    ck_status(pal_spectral_embed(ctx, g, PAL_F32, 1, 3, NULL, zf, 3, NULL),
              PAL_OK);
    ck_assert(zf[0] == 2.0f && zf[1] == 0.0f);

    ck_status(pal_graph_create(&gl, 1, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(gl, 9.0, one), PAL_OK);
    ck_status(pal_spectral_embed(ctx, gl, PAL_F64, 1, 2, NULL, z, 2, nu),
              PAL_OK);
    ck_assert(z[0] == 3.0 && z[1] == 0.0 && nu[0] == 9.0 && nu[1] == 0.0);

    /* A kernel problem on one item: 4 - 2 / (1 + 1e-8 (auto)). */
    {
        pal_embed_opts_t o;
        double kk = 1.0;

        pal_embed_opts_init(&o);
        o.lambda = 2.0;
        o.kernel = &kk;
        ck_status(pal_spectral_embed(ctx, g, PAL_F64, 1, 1, &o, z, 1, nu),
                  PAL_OK);
        ck_close(nu[0], 4.0 - 2.0 / (1.0 + 1e-8), 1e-15, 0.0, "kernel n=1");
    }
    pal_graph_destroy(g);
    pal_graph_destroy(gl);
    pal_ctx_destroy(ctx);
}
END_TEST

START_TEST(results_are_reproducible)
{
    const int64_t n = 25, k = 3;
    trng_t r;
    pal_ctx_t *ctx;
    tgraph_t tg;
    pal_graph_t *g;
    double z1[25 * 3], z2[25 * 3];

    trng_seed(&r, test_seed() + 108);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    tg_init(&tg, n);
    tg_dense(&tg, &r, 1.0, PAL_F64, 0, 0);
    g = tg_build(&tg);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, NULL, z1, k, NULL),
              PAL_OK);
    pal_ctx_release_workspace(ctx);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, NULL, z2, k, NULL),
              PAL_OK);
    ck_assert(memcmp(z1, z2, sizeof z1) == 0);
    pal_graph_destroy(g);
    tg_free(&tg);
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- The iterative route ------------------------------------------------- */

/* A CSR matrix built by the test. */
typedef struct tcsr {
    int64_t n, nnz;
    int64_t *ptr;
    int32_t *idx;
    double *val;
} tcsr_t;

typedef struct entry {
    int32_t j;
    double v;
} entry_t;

static int cmp_entry(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;

    return (x->j > y->j) - (x->j < y->j);
}

static void tcsr_alloc(tcsr_t *a, int64_t n, int64_t per_row)
{
    a->n = n;
    a->nnz = 0;
    a->ptr = xmalloc((size_t)(n + 1) * sizeof *a->ptr);
    a->idx = xmalloc((size_t)(n * per_row) * sizeof *a->idx);
    a->val = xmalloc((size_t)(n * per_row) * sizeof *a->val);
    a->ptr[0] = 0;
}

/* Append row i (its entries sorted here). */
static void tcsr_row(tcsr_t *a, int64_t i, entry_t *row, int64_t len)
{
    qsort(row, (size_t)len, sizeof *row, cmp_entry);
    for (int64_t t = 0; t < len; t++) {
        a->idx[a->nnz] = row[t].j;
        a->val[a->nnz] = row[t].v;
        a->nnz++;
    }
    a->ptr[i + 1] = a->nnz;
}

static void tcsr_free(tcsr_t *a)
{
    free(a->ptr);
    free(a->idx);
    free(a->val);
}

/*
 * A kNN graph: n points in comps clusters far apart in the plane (point
 * i in cluster i % comps), each linked to its nn nearest points (weight
 * 1 + jitter u, u uniform in [0, 1)). The links are directed, so A is
 * not symmetric; clusters are never linked, so S = (A + A^T) / 2 has
 * comps components with nearly equal top eigenvalues.
 */
static void knn_graph(trng_t *r, int64_t n, int64_t comps, int64_t nn,
                      double jitter, tcsr_t *a)
{
    double *x = xmalloc((size_t)(2 * n) * sizeof *x);
    double *d = xmalloc((size_t)n * sizeof *d);
    entry_t *row = xmalloc((size_t)nn * sizeof *row);

    for (int64_t i = 0; i < n; i++) {
        x[2 * i] = 100.0 * (double)(i % comps) + trng_normal(r);
        x[2 * i + 1] = trng_normal(r);
    }
    tcsr_alloc(a, n, nn);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            const double dx = x[2 * i] - x[2 * j];
            const double dy = x[2 * i + 1] - x[2 * j + 1];

            d[j] = j == i || j % comps != i % comps ? INFINITY
                                                     : dx * dx + dy * dy;
        }
        for (int64_t t = 0; t < nn; t++) {
            int64_t best = 0;

            for (int64_t j = 1; j < n; j++)
                if (d[j] < d[best])
                    best = j;
            row[t].j = (int32_t)best;
            row[t].v = 1.0 + jitter * trng_unit(r);
            d[best] = INFINITY;
        }
        tcsr_row(a, i, row, nn);
    }
    free(x);
    free(d);
    free(row);
}

/*
 * comps rings of len items (item p * comps + c is position p of ring c),
 * each item linked to the rad positions on either side with weight 1: a
 * regular graph whose rings all have the eigenvalues 2 sum_{d <= rad}
 * cos(2 pi j d / len), j = 0..len - 1: 2 rad comps times, then each of
 * the others 2 comps times (j and len - j).
 */
static void ring_graph(int64_t comps, int64_t len, int64_t rad, tcsr_t *a)
{
    entry_t row[64];

    tcsr_alloc(a, comps * len, 2 * rad);
    for (int64_t i = 0; i < comps * len; i++) {
        const int64_t p = i / comps, c = i % comps;
        int64_t t = 0;

        for (int64_t dd = 1; dd <= rad; dd++) {
            row[t].j = (int32_t)(((p + dd) % len) * comps + c);
            row[t++].v = 1.0;
            row[t].j = (int32_t)(((p - dd + len) % len) * comps + c);
            row[t++].v = 1.0;
        }
        tcsr_row(a, i, row, t);
    }
}

static double ring_eigenvalue(int64_t len, int64_t rad, int64_t j)
{
    double s = 0.0;

    for (int64_t dd = 1; dd <= rad; dd++)
        s += 2.0 * cos(2.0 * 3.14159265358979323846 * (double)(j * dd) /
                       (double)len);
    return s;
}

static void iterative_opts(pal_embed_opts_t *o, double tol)
{
    pal_embed_opts_init(o);
    o->method = PAL_EMBED_ITERATIVE;
    o->tol = tol;
}

/*
 * The iterative route (tolerance 1e-12) against the dense one on the
 * same graph: eigenvalues to 1e-10 of the spectrum's scale; the
 * projector onto the top kp eigenvectors for the largest kp <= k after
 * which the spectrum has a gap (more than 1e-3 of the scale: within a
 * repeated eigenvalue the basis is free), on the positive part; Z^T Z =
 * diag(max(nu, 0)); signs; the residuals ||S z_c - nu_c z_c|| through
 * the graph's own products; the row padding untouched.
 */
static void check_iterative(pal_ctx_t *ctx, const pal_graph_t *g, int64_t n,
                            int64_t k)
{
    const int64_t ld = k + 1, kd = k + 1, kk = k < n ? k : n;
    double *zi = xmalloc((size_t)(n * ld) * sizeof *zi);
    double *zd = xmalloc((size_t)(n * kd) * sizeof *zd);
    double *nui = xmalloc((size_t)k * sizeof *nui);
    double *nud = xmalloc((size_t)kd * sizeof *nud);
    double *p1 = xmalloc((size_t)(n * n) * sizeof *p1);
    double *p2 = xmalloc((size_t)(n * n) * sizeof *p2);
    double *y1 = xmalloc((size_t)(n * ld) * sizeof *y1);
    double *y2 = xmalloc((size_t)(n * ld) * sizeof *y2);
    pal_embed_opts_t o;
    double scale = 0.0;
    int64_t kp = 0;

    pal_embed_opts_init(&o);
    o.method = PAL_EMBED_DENSE;
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, kd, &o, zd, kd, nud),
              PAL_OK);
    iterative_opts(&o, 1e-12);
    for (int64_t q = 0; q < n * ld; q++)
        zi[q] = NAN;
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, &o, zi, ld, nui),
              PAL_OK);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(isnan(zi[i * ld + k]), "padding written");

    for (int64_t c = 0; c < kd; c++)
        scale = fmax(scale, fabs(nud[c]));
    for (int64_t c = 0; c < k; c++)
        ck_close(nui[c], nud[c], 0.0, 1e-10 * scale, "eigenvalue");

    /* The subspace of the top kp, where it is unique. */
    for (int64_t j = kk; j > 0; j--)
        if ((j == n || nud[j - 1] - nud[j] > 1e-3 * scale) &&
            nud[j - 1] > 1e-3 * scale) {
            kp = j;
            break;
        }
    if (kp > 0) {
        projector(n, kp, zi, ld, p1);
        projector(n, kp, zd, kd, p2);
        ck_assert_msg(max_diff(p1, p2, n * n) <= 1e-8,
                      "subspaces of the top %lld differ by %g", (long long)kp,
                      max_diff(p1, p2, n * n));
    }

    /* Orthogonal columns with squared norms max(nu, 0). */
    for (int64_t c = 0; c < k; c++)
        for (int64_t d = 0; d <= c; d++) {
            double s = 0.0;

            for (int64_t i = 0; i < n; i++)
                s += zi[i * ld + c] * zi[i * ld + d];
            ck_close(s, c == d ? fmax(nui[c], 0.0) : 0.0, 0.0, 1e-10 * scale,
                     "Z^T Z");
        }
    check_signs(n, k, zi, ld);

    /* S z_c = nu_c z_c, with S z = (G z + G^T z) / 2. */
    ck_status(pal_graph_matmul(ctx, g, 0, PAL_F64, k, zi, ld, y1, ld),
              PAL_OK);
    ck_status(pal_graph_matmul(ctx, g, 1, PAL_F64, k, zi, ld, y2, ld),
              PAL_OK);
    for (int64_t c = 0; c < k; c++) {
        double s = 0.0;

        for (int64_t i = 0; i < n; i++) {
            const double e = 0.5 * y1[i * ld + c] + 0.5 * y2[i * ld + c] -
                             nui[c] * zi[i * ld + c];

            s += e * e;
        }
        ck_assert_msg(sqrt(s) <= 1e-10 * scale * sqrt(fmax(nui[c], 0.0)),
                      "column %lld: residual %g", (long long)c, sqrt(s));
    }
    free(zi);
    free(zd);
    free(nui);
    free(nud);
    free(p1);
    free(p2);
    free(y1);
    free(y2);
}

START_TEST(iterative_matches_dense_on_sparse_graphs)
{
    trng_t r;
    pal_ctx_t *ctx;

    trng_seed(&r, test_seed() + 110);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int trial = 0; trial < 5; trial++) {
        const int64_t n = 240, k = trial == 4 ? 1 : 6;
        tgraph_t tg;
        pal_graph_t *g;
        int32_t y[240];

        random_labels(&r, y, n, 4, 0.1);
        tg_init(&tg, n);
        /* Symmetric and signed (the bottom of the spectrum as large as
         * the top), then not symmetric with float values, then mixed
         * with labels and the identity. */
        tg_csr(&tg, &r, 1.0, trial == 1 ? PAL_F32 : PAL_F64, 0.03,
               trial != 1, trial == 1);
        if (trial >= 2) {
            tg_labels(&tg, 0.2, y);
            tg_identity(&tg, trial == 2 ? -0.3 : 0.8);
        }
        if (trial == 3)
            tg_csr(&tg, &r, 0.5, 0, 0.02, 0, 1);
        g = tg_build(&tg);
        check_iterative(ctx, g, n, k);
        pal_graph_destroy(g);
        tg_free(&tg);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* Clusters: eigenvalues repeated exactly, or nearly. */
START_TEST(iterative_finds_repeated_eigenvalues)
{
    trng_t r;
    pal_ctx_t *ctx;
    pal_graph_t *g;
    tcsr_t a;
    double z[300 * 8], nu[8];
    pal_embed_opts_t o;

    trng_seed(&r, test_seed() + 111);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    iterative_opts(&o, 1e-12);

    /* Five rings of 60: 6 five times, then a value ten times, which the
     * top 8 cut through. */
    ring_graph(5, 60, 3, &a);
    ck_status(pal_graph_create(&g, a.n, NULL), PAL_OK);
    ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, a.nnz, a.ptr, a.idx, a.val,
                                0),
              PAL_OK);
    check_iterative(ctx, g, a.n, 8);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, a.n, 8, &o, z, 8, nu),
              PAL_OK);
    for (int c = 0; c < 8; c++)
        ck_close(nu[c], ring_eigenvalue(60, 3, c < 5 ? 0 : 1), 0.0, 1e-12,
                 "ring eigenvalue");
    pal_graph_destroy(g);
    tcsr_free(&a);

    /* Labels plus the identity, no CSR term: 50.5 six times (six
     * classes of 50), then 0.5 294 times. The Krylov space of the start
     * block is invariant after one step: what follows is random. */
    {
        int32_t y[300];

        for (int i = 0; i < 300; i++)
            y[i] = (int32_t)((i * 7) % 6);
        ck_status(pal_graph_create(&g, 300, NULL), PAL_OK);
        ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
        ck_status(pal_graph_add_identity(g, 0.5), PAL_OK);
        check_iterative(ctx, g, 300, 8);
        ck_status(pal_spectral_embed(ctx, g, PAL_F64, 300, 8, &o, z, 8, nu),
                  PAL_OK);
        for (int c = 0; c < 8; c++)
            ck_close(nu[c], c < 6 ? 50.5 : 0.5, 0.0, 1e-12 * 50.5,
                     "labels + identity");
        pal_graph_destroy(g);
    }

    /* kNN graphs of four clusters, directed; the same weights, then
     * jittered ones. */
    for (int jit = 0; jit < 2; jit++) {
        knn_graph(&r, 320, 4, 6, jit ? 0.3 : 0.0, &a);
        ck_status(pal_graph_create(&g, a.n, NULL), PAL_OK);
        ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, a.nnz, a.ptr, a.idx,
                                    a.val, 0),
                  PAL_OK);
        check_iterative(ctx, g, a.n, 10);
        pal_graph_destroy(g);
        tcsr_free(&a);
    }
    pal_ctx_destroy(ctx);
}
END_TEST

/* Mixtures where one end of the spectrum dominates the other. */
START_TEST(iterative_mixtures_and_dominant_ends)
{
    trng_t r;
    pal_ctx_t *ctx;
    tcsr_t a;
    int32_t y[320];

    trng_seed(&r, test_seed() + 112);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    knn_graph(&r, 320, 4, 6, 0.2, &a);
    random_labels(&r, y, 320, 5, 0.2);
    for (int trial = 0; trial < 4; trial++) {
        pal_graph_t *g;

        ck_status(pal_graph_create(&g, a.n, NULL), PAL_OK);
        ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, a.nnz, a.ptr, a.idx,
                                    a.val, 0),
                  PAL_OK);
        if (trial == 0) {
            /* Labels above the kNN part, the identity under all. */
            ck_status(pal_graph_add_labels(g, 0.1, y), PAL_OK);
            ck_status(pal_graph_add_identity(g, 1.0), PAL_OK);
        } else if (trial == 1) {
            /* The bottom dominates: -2 times the class sizes. */
            ck_status(pal_graph_add_labels(g, -2.0, y), PAL_OK);
        } else if (trial == 2) {
            /* The top dominates: 0.5 n. */
            ck_status(pal_graph_add_constant(g, 0.5), PAL_OK);
        } else {
            /* Everything negative but a few: a shift down. */
            ck_status(pal_graph_add_identity(g, -6.5), PAL_OK);
        }
        check_iterative(ctx, g, a.n, 7);
        pal_graph_destroy(g);
    }
    tcsr_free(&a);
    pal_ctx_destroy(ctx);
}
END_TEST

START_TEST(iterative_float32_and_sizes)
{
    trng_t r;
    pal_ctx_t *ctx;
    pal_graph_t *g;
    tcsr_t a;
    pal_embed_opts_t o;
    double *z = xmalloc(320 * 8 * sizeof *z), nu[48], nuf[8];
    float *zf = xmalloc(320 * 9 * sizeof *zf);
    double *back = xmalloc(320 * 8 * sizeof *back);

    trng_seed(&r, test_seed() + 113);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    iterative_opts(&o, 0.0);

    /* float32 Z: the float64 answer rounded once. */
    knn_graph(&r, 320, 3, 5, 0.5, &a);
    ck_status(pal_graph_create(&g, a.n, NULL), PAL_OK);
    ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, a.nnz, a.ptr, a.idx, a.val,
                                0),
              PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 320, 8, &o, z, 8, nu),
              PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F32, 320, 8, &o, zf, 9, nuf),
              PAL_OK);
    to_double(zf, 320, 8, 9, back, 8);
    for (int c = 0; c < 8; c++)
        ck_assert(nu[c] == nuf[c]);
    ck_assert_msg(max_diff(z, back, 320 * 8) <= 1e-6 * max_abs(z, 320 * 8),
                  "float32 and float64 differ by %g",
                  max_diff(z, back, 320 * 8));
    pal_graph_destroy(g);
    tcsr_free(&a);

    /* k close to n, k = n and k > n (columns beyond n zero). */
    for (int trial = 0; trial < 3; trial++) {
        const int64_t n = 40, k = trial == 0 ? 36 : trial == 1 ? 40 : 44;
        tgraph_t tg;

        tg_init(&tg, n);
        tg_csr(&tg, &r, 1.0, PAL_F64, 0.2, trial != 1, 0);
        tg_identity(&tg, 0.25);
        g = tg_build(&tg);
        check_iterative(ctx, g, n, k);
        if (k > n) {
            double *zk = xmalloc((size_t)(n * k) * sizeof *zk);

            ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, &o, zk, k,
                                         nu),
                      PAL_OK);
            for (int64_t c = n; c < k; c++) {
                ck_assert(nu[c] == 0.0);
                for (int64_t i = 0; i < n; i++)
                    ck_assert(zk[i * k + c] == 0.0);
            }
            free(zk);
        }
        pal_graph_destroy(g);
        tg_free(&tg);
    }

    /* Degenerate spectra: the zero graph and c I (every eigenvalue the
     * same). */
    ck_status(pal_graph_create(&g, 200, NULL), PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 200, 3, &o, z, 3, nu),
              PAL_OK);
    ck_assert(max_abs(z, 600) == 0.0 && max_abs(nu, 3) == 0.0);
    ck_status(pal_graph_add_identity(g, 2.0), PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 200, 3, &o, z, 3, nu),
              PAL_OK);
    for (int c = 0; c < 3; c++) {
        ck_close(nu[c], 2.0, 0.0, 1e-14, "c I");
        for (int d = 0; d <= c; d++) {
            double s = 0.0;

            for (int i = 0; i < 200; i++)
                s += z[i * 3 + c] * z[i * 3 + d];
            ck_close(s, c == d ? 2.0 : 0.0, 0.0, 1e-13, "c I: Z^T Z");
        }
    }
    pal_graph_destroy(g);
    free(z);
    free(zf);
    free(back);
    pal_ctx_destroy(ctx);
}
END_TEST

START_TEST(iterative_limits_and_choice)
{
    trng_t r;
    pal_ctx_t *ctx;
    pal_graph_t *g;
    tcsr_t a;
    pal_embed_opts_t o;
    double *z = xmalloc(2048 * 4 * sizeof *z), *z2 = xmalloc(2048 * 4 * sizeof *z2);
    double nu[4], nu2[4], keep[4];

    trng_seed(&r, test_seed() + 114);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    knn_graph(&r, 320, 4, 6, 0.2, &a);
    ck_status(pal_graph_create(&g, a.n, NULL), PAL_OK);
    ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, a.nnz, a.ptr, a.idx, a.val,
                                0),
              PAL_OK);

    /* One step cannot reach 1e-14: PAL_E_NOCONV, nothing written. */
    iterative_opts(&o, 1e-14);
    o.max_iter = 1;
    for (int q = 0; q < 320 * 4; q++)
        z[q] = z2[q] = (double)q;
    for (int c = 0; c < 4; c++)
        nu[c] = keep[c] = -1.0 - c;
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 320, 4, &o, z, 4, nu),
              PAL_E_NOCONV);
    ck_assert(memcmp(z, z2, 320 * 4 * sizeof *z) == 0);
    ck_assert(memcmp(nu, keep, sizeof nu) == 0);
    ck_assert_str_eq(pal_status_name(PAL_E_NOCONV), "PAL_E_NOCONV");

    /* The same bits run after run. */
    iterative_opts(&o, 0.0);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 320, 4, &o, z, 4, nu),
              PAL_OK);
    pal_ctx_release_workspace(ctx);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 320, 4, &o, z2, 4, nu2),
              PAL_OK);
    ck_assert(memcmp(z, z2, 320 * 4 * sizeof *z) == 0);
    ck_assert(memcmp(nu, nu2, sizeof nu) == 0);

    /* AUTO below PAL_EMBED_ITERATIVE_MIN_N: the dense route, bit for
     * bit. */
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 320, 4, NULL, z, 4, nu),
              PAL_OK);
    o.method = PAL_EMBED_DENSE;
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, 320, 4, &o, z2, 4, nu2),
              PAL_OK);
    ck_assert(memcmp(z, z2, 320 * 4 * sizeof *z) == 0);
    pal_graph_destroy(g);
    tcsr_free(&a);

    /* AUTO above it, no dense term: the iterative route. About a second
     * here, but minutes under valgrind (PAL_TEST_NO_TEAMS), where it is
     * left out: make check and check-asan run it. */
    if (getenv("PAL_TEST_NO_TEAMS")) {
        free(z);
        free(z2);
        pal_ctx_destroy(ctx);
        return;
    }
    ring_graph(8, 256, 2, &a);
    ck_assert(a.n >= PAL_EMBED_ITERATIVE_MIN_N);
    ck_status(pal_graph_create(&g, a.n, NULL), PAL_OK);
    ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, a.nnz, a.ptr, a.idx, a.val,
                                0),
              PAL_OK);
    {
        int32_t *y = xmalloc((size_t)a.n * sizeof *y);

        for (int64_t i = 0; i < a.n; i++)
            y[i] = (int32_t)(i % 3);
        ck_status(pal_graph_add_labels(g, 0.01, y), PAL_OK);
        free(y);
    }
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, a.n, 4, NULL, z, 4, nu),
              PAL_OK);
    iterative_opts(&o, 0.0);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, a.n, 4, &o, z2, 4, nu2),
              PAL_OK);
    ck_assert(memcmp(z, z2, (size_t)a.n * 4 * sizeof *z) == 0);
    ck_assert(memcmp(nu, nu2, sizeof nu) == 0);
    pal_graph_destroy(g);
    tcsr_free(&a);
    free(z);
    free(z2);
    pal_ctx_destroy(ctx);
}
END_TEST

/* ---- Linear probe -------------------------------------------------------- */

START_TEST(probe_recovers_separable_labels)
{
    const int64_t n = 40, k = 5;
    trng_t r;
    pal_ctx_t *ctx;
    pal_graph_t *g;
    int32_t y[40];
    unsigned char tr[40];
    double z[40 * 5];
    pal_probe_result_t res = {.size = sizeof res};

    trng_seed(&r, test_seed() + 109);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)trng_below(&r, 3);
        tr[i] = i % 4 != 0;
    }
    y[0] = 0;
    y[1] = 1;
    y[2] = 2;
    /* The closed form of the label graph (Theorem 2) is linearly
     * separable; its extra columns are zero (rank 3 plus the bias). */
    ck_status(pal_graph_create(&g, n, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
    ck_status(pal_spectral_embed(ctx, g, PAL_F64, n, k, NULL, z, k, NULL),
              PAL_OK);
    ck_status(pal_linear_probe(ctx, PAL_F64, n, k, z, k, y, 3, tr, NULL,
                               &res, NULL, 0, NULL),
              PAL_OK);
    ck_assert(res.n_train == 30 && res.n_test == 10);
    ck_assert(res.train_accuracy == 1.0 && res.test_accuracy == 1.0);
    ck_assert(res.train_mse < 1e-20 && res.test_mse < 1e-20);
    ck_assert(res.rank == 3);
    pal_graph_destroy(g);
    pal_ctx_destroy(ctx);
}
END_TEST

START_TEST(probe_by_hand)
{
    /* One feature, two classes, bias: the least-squares line through
     * (z, [y = c]) for each class c, by the textbook formulas. */
    const double z[6] = {0.0, 1.0, 2.0, 3.0, 10.0, -4.0};
    const int32_t y[6] = {0, 0, 1, 1, 1, -1};
    const unsigned char tr[6] = {1, 1, 1, 1, 0, 1};
    pal_probe_result_t res = {.size = sizeof res};
    pal_probe_opts_t o;
    pal_ctx_t *ctx;
    double w[2], b[2], slope[2], icpt[2], mse = 0.0, zbar = 1.5, szz = 5.0;
    float zf[6];

    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int c = 0; c < 2; c++) {
        double ybar = 0.5, szy = 0.0;

        for (int i = 0; i < 4; i++)
            szy += (z[i] - zbar) * ((y[i] == c) - ybar);
        slope[c] = szy / szz;
        icpt[c] = ybar - slope[c] * zbar;
    }
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 2; c++) {
            double e = slope[c] * z[i] + icpt[c] - (y[i] == c);

            mse += e * e / 4.0;
        }
    ck_status(pal_linear_probe(ctx, PAL_F64, 6, 1, z, 1, y, 2, tr, NULL,
                               &res, w, 2, b),
              PAL_OK);
    for (int c = 0; c < 2; c++) {
        ck_close(w[c], slope[c], 1e-12, 1e-14, "slope");
        ck_close(b[c], icpt[c], 1e-12, 1e-14, "intercept");
    }
    ck_close(res.train_mse, mse, 1e-12, 0.0, "train MSE");
    ck_assert(res.train_accuracy == 1.0);
    /* The held-out row, z = 10. */
    {
        double e0 = slope[0] * 10.0 + icpt[0], e1 = slope[1] * 10.0 + icpt[1];

        ck_close(res.test_mse, e0 * e0 + (e1 - 1.0) * (e1 - 1.0), 1e-12, 0.0,
                 "test MSE");
        ck_assert(res.test_accuracy == (e1 > e0 ? 1.0 : 0.0));
        ck_assert(res.n_test == 1 && res.n_train == 4 && res.rank == 2);
    }

    /* Ridge and no bias: w_c = sum z y_c / (sum z^2 + ridge). */
    pal_probe_opts_init(&o);
    o.ridge = 2.0;
    o.bias = 0;
    for (int i = 0; i < 6; i++)
        zf[i] = (float)z[i];
    ck_status(pal_linear_probe(ctx, PAL_F32, 6, 1, zf, 1, y, 2, tr, &o,
                               &res, w, 2, b),
              PAL_OK);
    ck_close(w[0], 1.0 / (14.0 + 2.0), 1e-12, 0.0, "ridge weight 0");
    ck_close(w[1], 5.0 / (14.0 + 2.0), 1e-12, 0.0, "ridge weight 1");
    ck_assert(b[0] == 0.0 && b[1] == 0.0);

    /* No held-out row: NaN test figures. */
    ck_status(pal_linear_probe(ctx, PAL_F64, 6, 1, z, 1, y, 2, NULL, NULL,
                               &res, NULL, 0, NULL),
              PAL_OK);
    ck_assert(res.n_test == 0 && res.n_train == 5 && isnan(res.test_mse) &&
              isnan(res.test_accuracy));
    pal_ctx_destroy(ctx);
}
END_TEST

Suite *suite_spectral(void);
Suite *suite_spectral(void)
{
    Suite *s = suite_create("spectral");
    TCase *tc = tcase_create("spectral");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dense_graphs_match_jacobi);
    tcase_add_test(tc, sparse_graphs_match_jacobi);
    tcase_add_test(tc, float32_matches_float64);
    tcase_add_test(tc, label_graph_is_the_one_hot_labels);
    tcase_add_test(tc, block_graphs_match_jacobi);
    tcase_add_test(tc, gaussian_kernel_by_hand);
    tcase_add_test(tc, kernel_problem_matches_dense_reference);
    tcase_add_test(tc, negative_eigenvalues_are_clipped);
    tcase_add_test(tc, one_item_and_k_beyond_n);
    tcase_add_test(tc, results_are_reproducible);
    tcase_add_test(tc, iterative_matches_dense_on_sparse_graphs);
    tcase_add_test(tc, iterative_finds_repeated_eigenvalues);
    tcase_add_test(tc, iterative_mixtures_and_dominant_ends);
    tcase_add_test(tc, iterative_float32_and_sizes);
    tcase_add_test(tc, iterative_limits_and_choice);
    tcase_add_test(tc, probe_recovers_separable_labels);
    tcase_add_test(tc, probe_by_hand);
    suite_add_tcase(s, tc);
    return s;
}
