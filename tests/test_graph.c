/*
 * Graphs: every term kind, and weighted sums of them, against a dense
 * expansion built by the test straight from the definitions in graph.h
 * (testutil.h, tg_expand). Checked: pal_graph_to_dense, the products
 * G X and G^T X in both element types with strided operands, ||G||_F^2
 * (including the cross products of every pair of kinds), row and column
 * sums, the diagonal, the symmetry, sign and emptiness flags, the
 * builders, the memory of a label term and the validation of CSR input.
 */
#include "testutil.h"

/* The term variants the random tests draw from. */
enum variant {
    V_DENSE64_SYM,
    V_DENSE64,
    V_DENSE32,
    V_DENSE32_SYM,
    V_CSR64,
    V_CSR32_SYM,
    V_CSR_ONES,
    V_CSR_ONES_SYM,
    V_LABELS,
    V_BLOCKS,
    V_BLOCKS_SYM,
    V_CONST,
    V_IDENT,
    V_DIAG,
    N_VARIANTS
};

static const char *const variant_name[N_VARIANTS] = {
    "dense f64 symmetric", "dense f64", "dense f32", "dense f32 symmetric",
    "csr f64", "csr f32 symmetric", "csr ones", "csr ones symmetric",
    "labels", "blocks", "blocks symmetric", "constant", "identity",
    "diagonal"};

/*
 * Random class-pair triples over the first `classes` label values (some
 * of which the labelling may not use). Pairs are distinct except the
 * first, which is repeated with the same weight so that the library must
 * sum it; weights are multiples of 1/4, so that sums are exact and no
 * entry cancels to an explicit zero. With sym, each pair comes with its
 * mirror.
 */
static int64_t random_blocks(trng_t *r, int classes, int64_t want, int sym,
                             int nonneg, int32_t *a, int32_t *b, double *w)
{
    int64_t ne = 0;
    int used[16][16] = {{0}};

    for (int64_t e = 0; e < want; e++) {
        int ca = (int)trng_below(r, classes), cb = (int)trng_below(r, classes);
        double v = 0.25 * (double)(1 + trng_below(r, 8));

        if (used[ca][cb] || (sym && used[cb][ca]))
            continue;
        used[ca][cb] = 1;
        if (sym)
            used[cb][ca] = 1;
        if (!nonneg && trng_below(r, 2))
            v = -v;
        a[ne] = label_value(ca);
        b[ne] = label_value(cb);
        w[ne++] = v;
        if (sym && ca != cb) {
            a[ne] = label_value(cb);
            b[ne] = label_value(ca);
            w[ne++] = v;
        }
    }
    /* The repeated pair, mirrored too when symmetric. */
    a[ne] = a[0];
    b[ne] = b[0];
    w[ne] = w[0];
    ne++;
    if (sym && a[0] != b[0]) {
        a[ne] = b[0];
        b[ne] = a[0];
        w[ne++] = w[0];
    }
    return ne;
}

/* Append a random term of variant v with weight w. */
static void add_variant(tgraph_t *tg, trng_t *r, int v, double w)
{
    const int64_t n = tg->n;
    int32_t *y = xmalloc((size_t)n * sizeof *y);
    int32_t a[40], b[40];
    double wv[40];
    int64_t ne;

    switch (v) {
    case V_DENSE64_SYM:
        tg_dense(tg, r, w, PAL_F64, 1, 1);
        break;
    case V_DENSE64:
        tg_dense(tg, r, w, PAL_F64, 0, 0);
        break;
    case V_DENSE32:
        tg_dense(tg, r, w, PAL_F32, 0, 1);
        break;
    case V_DENSE32_SYM:
        tg_dense(tg, r, w, PAL_F32, 1, 0);
        break;
    case V_CSR64:
        tg_csr(tg, r, w, PAL_F64, 0.3, 0, 0);
        break;
    case V_CSR32_SYM:
        tg_csr(tg, r, w, PAL_F32, 0.3, 1, 1);
        break;
    case V_CSR_ONES:
        tg_csr(tg, r, w, 0, 0.25, 0, 1);
        break;
    case V_CSR_ONES_SYM:
        tg_csr(tg, r, w, 0, 0.25, 1, 1);
        break;
    case V_LABELS:
        random_labels(r, y, n, 4, 0.2);
        tg_labels(tg, w, y);
        break;
    case V_BLOCKS:
    case V_BLOCKS_SYM:
        /* Five classes in the labelling, seven in W: two never occur. */
        random_labels(r, y, n, 5, 0.15);
        ne = random_blocks(r, 7, 12, v == V_BLOCKS_SYM, 0, a, b, wv);
        tg_blocks(tg, w, y, ne, a, b, wv);
        break;
    case V_CONST:
        tg_constant(tg, w);
        break;
    case V_DIAG: {
        /* Mixed signs and zeros, as a within-class centring has. */
        double *d = xmalloc((size_t)n * sizeof *d);

        for (int64_t i = 0; i < n; i++)
            d[i] = trng_below(r, 3) == 0 ? 0.0 : 2.0 * trng_unit(r) - 1.0;
        tg_diagonal(tg, w, d);
        free(d);
        break;
    }
    default:
        tg_identity(tg, w);
        break;
    }
    free(y);
}

/* A weight in [-2, -0.5] or [0.5, 2]. */
static double random_weight(trng_t *r)
{
    double w = 0.5 + 1.5 * trng_unit(r);

    return trng_below(r, 3) == 0 ? -w : w;
}

/* Summary flags of one weighted term, by brute force. */
static void term_flags(const tgraph_t *tg, int t, int *sym, int *nonneg,
                       int *zero)
{
    const int64_t n = tg->n;
    double *m = xmalloc((size_t)(n * n) * sizeof *m);

    tg_expand_term(tg, t, m);
    *sym = *nonneg = *zero = 1;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            if (m[i * n + j] != m[j * n + i])
                *sym = 0;
            if (m[i * n + j] < 0.0)
                *nonneg = 0;
            if (m[i * n + j] != 0.0)
                *zero = 0;
        }
    }
    free(m);
}

/* Fill a strided n x k matrix (padding included) with a sentinel. */
static void fill_value(double *p, int64_t count, double v)
{
    for (int64_t i = 0; i < count; i++)
        p[i] = v;
}

static int graphs_checked;

static void report_count(const char *test)
{
    if (getenv("PAL_TEST_VERBOSE"))
        printf("%s: %d graphs checked\n", test, graphs_checked);
}

/*
 * Y = G X and G^T X through the library, against the dense product, in
 * dtype, with X and Y strided (the padding of X is NaN, that of Y must
 * stay as it was).
 */
static void check_matmul(pal_ctx_t *ctx, const pal_graph_t *g,
                         const double *gd, const double *gabs, int64_t n,
                         trng_t *r, pal_dtype_t dtype, int trans,
                         int64_t k, const char *what)
{
    const int64_t ldx = k + 3, ldy = k + 2;
    const double sentinel = -777.25, rtol = dtype == PAL_F64 ? 1e-13 : 1e-5;
    double *x = xmalloc((size_t)(n * ldx) * sizeof *x);
    double *y = xmalloc((size_t)(n * ldy) * sizeof *y);
    float *xf = xmalloc((size_t)(n * ldx) * sizeof *xf);
    float *yf = xmalloc((size_t)(n * ldy) * sizeof *yf);

    fill_value(x, n * ldx, NAN);
    fill_normal(r, x, n, k, ldx, 1.0);
    round_to_float(x, n, k, ldx);
    fill_value(y, n * ldy, sentinel);
    for (int64_t i = 0; i < n * ldx; i++)
        xf[i] = (float)x[i];
    for (int64_t i = 0; i < n * ldy; i++)
        yf[i] = (float)sentinel;

    if (dtype == PAL_F64) {
        ck_status(pal_graph_matmul(ctx, g, trans, dtype, k, x, ldx, y, ldy),
                  PAL_OK);
    } else {
        ck_status(pal_graph_matmul(ctx, g, trans, dtype, k, xf, ldx, yf, ldy),
                  PAL_OK);
        for (int64_t i = 0; i < n * ldy; i++)
            y[i] = yf[i];
    }
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < k; c++) {
            double want = 0.0, scale = 0.0;

            for (int64_t j = 0; j < n; j++) {
                int64_t at = trans ? j * n + i : i * n + j;

                want += gd[at] * x[j * ldx + c];
                scale += gabs[at] * fabs(x[j * ldx + c]);
            }
            ck_assert_msg(fabs(y[i * ldy + c] - want) <= rtol * scale + 1e-300,
                          "%s: matmul %s trans %d k %lld (%lld, %lld): %.17g "
                          "vs %.17g",
                          what, dtype == PAL_F64 ? "f64" : "f32", trans,
                          (long long)k, (long long)i, (long long)c,
                          y[i * ldy + c], want);
        }
        for (int64_t c = k; c < ldy; c++)
            ck_assert_msg(y[i * ldy + c] == sentinel,
                          "%s: matmul wrote into the padding of Y", what);
    }
    free(x);
    free(y);
    free(xf);
    free(yf);
}

/*
 * Build tg and compare everything the graph reports with the expansion.
 * Tolerances are relative to the same quantity computed on |terms|, so
 * they hold through cancellation: 1e-13 for sums of a few terms, 1e-12
 * for ||G||_F^2 (a sum of n^2 squares formed from pairwise products).
 */
static void check_graph(pal_ctx_t *ctx, const tgraph_t *tg, trng_t *r,
                        const char *what)
{
    const int64_t n = tg->n, ld = n + 2;
    double *gd = xmalloc((size_t)(n * n) * sizeof *gd);
    double *gabs = xmalloc((size_t)(n * n) * sizeof *gabs);
    double *term = xmalloc((size_t)(n * n) * sizeof *term);
    double *out = xmalloc((size_t)(n * ld) * sizeof *out);
    float *outf = xmalloc((size_t)(n * ld) * sizeof *outf);
    double *v = xmalloc((size_t)n * sizeof *v);
    double frob_scale = 0.0, frob_want = 0.0, frob;
    int sym = 1, nonneg = 1, zero = 1;
    pal_graph_t *g = tg_build(tg);

    tg_expand(tg, gd);
    memset(gabs, 0, (size_t)(n * n) * sizeof *gabs);
    for (int t = 0; t < tg->nterms; t++) {
        double norm2 = 0.0;
        int s, nn, z;

        tg_expand_term(tg, t, term);
        for (int64_t i = 0; i < n * n; i++) {
            gabs[i] += fabs(term[i]);
            norm2 += term[i] * term[i];
        }
        frob_scale += sqrt(norm2);
        term_flags(tg, t, &s, &nn, &z);
        sym &= s;
        nonneg &= nn;
        zero &= z;
    }
    frob_scale *= frob_scale;

    /* pal_graph_to_dense, both types, padding untouched. */
    fill_value(out, n * ld, 5.5);
    for (int64_t i = 0; i < n * ld; i++)
        outf[i] = 5.5f;
    ck_status(pal_graph_to_dense(g, PAL_F64, out, ld), PAL_OK);
    ck_status(pal_graph_to_dense(g, PAL_F32, outf, ld), PAL_OK);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            double want = gd[i * n + j], tol = 1e-13 * gabs[i * n + j];

            ck_assert_msg(fabs(out[i * ld + j] - want) <= tol,
                          "%s: to_dense (%lld, %lld) %.17g vs %.17g", what,
                          (long long)i, (long long)j, out[i * ld + j], want);
            ck_assert_msg(fabs(outf[i * ld + j] - want) <=
                              tol + 1.2e-7 * fabs(want),
                          "%s: to_dense f32 (%lld, %lld)", what,
                          (long long)i, (long long)j);
            frob_want += want * want;
        }
        for (int64_t j = n; j < ld; j++)
            ck_assert(out[i * ld + j] == 5.5 && outf[i * ld + j] == 5.5f);
    }

    /* ||G||_F^2. */
    ck_status(pal_graph_frobenius2(g, &frob), PAL_OK);
    ck_assert_msg(fabs(frob - frob_want) <= 1e-12 * frob_scale,
                  "%s: frobenius2 %.17g vs %.17g", what, frob, frob_want);

    /* Row sums, column sums, diagonal. */
    for (int which = 0; which < 3; which++) {
        int rc = which == 0   ? pal_graph_row_sums(g, v)
                 : which == 1 ? pal_graph_col_sums(g, v)
                              : pal_graph_diagonal(g, v);

        ck_status(rc, PAL_OK);
        for (int64_t i = 0; i < n; i++) {
            double want = 0.0, scale = 0.0;

            for (int64_t j = 0; j < n; j++) {
                int64_t at = which == 0   ? i * n + j
                             : which == 1 ? j * n + i
                                          : i * n + i;

                want += gd[at];
                scale += gabs[at];
                if (which == 2)
                    break;
            }
            ck_assert_msg(fabs(v[i] - want) <= 1e-13 * scale,
                          "%s: %s[%lld] %.17g vs %.17g", what,
                          which == 0   ? "row sum"
                          : which == 1 ? "column sum"
                                       : "diagonal",
                          (long long)i, v[i], want);
        }
    }

    /* The flags speak of the terms: each must match every term. */
    ck_assert_msg(pal_graph_is_symmetric(g) == sym, "%s: is_symmetric %d",
                  what, pal_graph_is_symmetric(g));
    ck_assert_msg(pal_graph_is_nonnegative(g) == nonneg,
                  "%s: is_nonnegative %d", what, pal_graph_is_nonnegative(g));
    ck_assert_msg(pal_graph_is_empty(g) == zero, "%s: is_empty %d", what,
                  pal_graph_is_empty(g));
    ck_assert_int_eq(pal_graph_n(g), n);

    /* Products, both types, both orientations, one and several columns. */
    for (int t = 0; t < 2; t++)
        for (int trans = 0; trans < 2; trans++)
            for (int64_t k = 1; k <= 5; k += 4)
                check_matmul(ctx, g, gd, gabs, n, r, t ? PAL_F32 : PAL_F64,
                             trans, k, what);

    graphs_checked++;
    pal_graph_destroy(g);
    free(gd);
    free(gabs);
    free(term);
    free(out);
    free(outf);
    free(v);
}

START_TEST(each_kind_against_expansion)
{
    static const int64_t sizes[] = {1, 2, 7, 16};
    pal_ctx_t *ctx;
    trng_t r;
    char what[128];

    trng_seed(&r, test_seed() + 1);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int v = 0; v < N_VARIANTS; v++) {
            for (int rep = 0; rep < 3; rep++) {
                tgraph_t tg;

                tg_init(&tg, sizes[s]);
                add_variant(&tg, &r, v, random_weight(&r));
                snprintf(what, sizeof what, "%s, n %lld, rep %d",
                         variant_name[v], (long long)sizes[s], rep);
                check_graph(ctx, &tg, &r, what);
                tg_free(&tg);
            }
        }
    }
    pal_ctx_destroy(ctx);
    report_count("each kind against expansion");
}
END_TEST

START_TEST(weighted_sums_against_expansion)
{
    static const int64_t sizes[] = {3, 11, 24};
    pal_ctx_t *ctx;
    trng_t r;
    char what[160];

    trng_seed(&r, test_seed() + 2);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int rep = 0; rep < 12; rep++) {
            tgraph_t tg;
            int m = 3 + (int)trng_below(&r, TG_MAX_TERMS - 2);

            tg_init(&tg, sizes[s]);
            for (int t = 0; t < m; t++)
                add_variant(&tg, &r, (int)trng_below(&r, N_VARIANTS),
                            random_weight(&r));
            snprintf(what, sizeof what, "sum of %d terms, n %lld, rep %d", m,
                     (long long)sizes[s], rep);
            check_graph(ctx, &tg, &r, what);
            tg_free(&tg);
        }
    }

    /* One of each kind in a single graph. */
    {
        tgraph_t tg;
        static const int all[] = {V_DENSE64, V_CSR32_SYM, V_LABELS,
                                  V_BLOCKS, V_CONST, V_IDENT, V_CSR_ONES,
                                  V_DENSE32};

        tg_init(&tg, 19);
        for (size_t t = 0; t < sizeof all / sizeof all[0]; t++)
            add_variant(&tg, &r, all[t], random_weight(&r));
        check_graph(ctx, &tg, &r, "every kind at once");
        tg_free(&tg);
    }
    pal_ctx_destroy(ctx);
    report_count("weighted sums against expansion");
}
END_TEST

/* ||G||_F^2 of two terms is w1^2 |T1|^2 + w2^2 |T2|^2 + 2 w1 w2 <T1, T2>:
 * every ordered pair of variants exercises one cross product. Two label
 * or block terms use different labellings. */
START_TEST(cross_products_of_every_pair_of_kinds)
{
    pal_ctx_t *ctx;
    trng_t r;
    char what[160];

    trng_seed(&r, test_seed() + 3);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    for (int a = 0; a < N_VARIANTS; a++) {
        for (int b = 0; b < N_VARIANTS; b++) {
            tgraph_t tg;

            tg_init(&tg, 13);
            add_variant(&tg, &r, a, random_weight(&r));
            add_variant(&tg, &r, b, random_weight(&r));
            snprintf(what, sizeof what, "%s then %s", variant_name[a],
                     variant_name[b]);
            check_graph(ctx, &tg, &r, what);
            tg_free(&tg);
        }
    }
    pal_ctx_destroy(ctx);
    report_count("cross products of every pair of kinds");
}
END_TEST

/* A block term written out by hand: labels 7, 1000000, -1, 7, 3 and
 * triples naming a class no item has, a repeated pair and an asymmetric
 * pair. */
START_TEST(blocks_by_hand)
{
    static const int32_t y[5] = {7, 1000000, -1, 7, 3};
    static const int32_t a[6] = {7, 7, 1000000, 3, 5, 7};
    static const int32_t b[6] = {1000000, 1000000, 7, 3, 5, 7};
    static const double w[6] = {2.0, 0.5, -1.0, 4.0, 9.0, 0.25};
    /* W[7][1e6] = 2.5, W[1e6][7] = -1, W[3][3] = 4, W[7][7] = 0.25. */
    static const double want[5][5] = {
        {0.25, 2.5, 0, 0.25, 0},
        {-1, 0, 0, -1, 0},
        {0, 0, 0, 0, 0},
        {0.25, 2.5, 0, 0.25, 0},
        {0, 0, 0, 0, 4}};
    pal_graph_t *g;
    double out[25], rows[5], cols[5], diag[5], frob, f2 = 0.0;

    ck_status(pal_graph_create(&g, 5, NULL), PAL_OK);
    ck_status(pal_graph_add_blocks(g, 2.0, y, 6, a, b, w), PAL_OK);
    ck_status(pal_graph_to_dense(g, PAL_F64, out, 5), PAL_OK);
    ck_status(pal_graph_row_sums(g, rows), PAL_OK);
    ck_status(pal_graph_col_sums(g, cols), PAL_OK);
    ck_status(pal_graph_diagonal(g, diag), PAL_OK);
    ck_status(pal_graph_frobenius2(g, &frob), PAL_OK);
    for (int i = 0; i < 5; i++) {
        double rs = 0.0, cs = 0.0;

        for (int j = 0; j < 5; j++) {
            ck_assert_double_eq(out[i * 5 + j], 2.0 * want[i][j]);
            rs += 2.0 * want[i][j];
            cs += 2.0 * want[j][i];
            f2 += 4.0 * want[i][j] * want[i][j];
        }
        ck_assert_double_eq(rows[i], rs);
        ck_assert_double_eq(cols[i], cs);
        ck_assert_double_eq(diag[i], 2.0 * want[i][i]);
    }
    ck_assert_double_eq_tol(frob, f2, 1e-12 * f2);
    ck_assert_int_eq(pal_graph_is_symmetric(g), 0);
    ck_assert_int_eq(pal_graph_is_nonnegative(g), 0);
    ck_assert_int_eq(pal_graph_is_empty(g), 0);
    pal_graph_destroy(g);
}
END_TEST

/* Symmetric and non-symmetric input of each kind. */
START_TEST(symmetry_flag)
{
    static const double dsym[9] = {1, 2, 3, 2, 5, 6, 3, 6, 9};
    static const double dasym[9] = {1, 2, 3, 2, 5, 6, 3, 6.5, 9};
    static const float fsym[9] = {1, 2, 3, 2, 5, 6, 3, 6, 9};
    static const int64_t rp_sym[4] = {0, 2, 3, 4}, rp_asym[4] = {0, 2, 3, 3};
    static const int32_t ci_sym[4] = {0, 2, 1, 0}, ci_asym[3] = {0, 2, 1};
    static const double v_sym[4] = {1, 4, 2, 4}, v_asym[4] = {1, 4, 2, 5};
    static const int32_t y[3] = {7, 7, 1000000};
    static const int32_t wa[2] = {7, 1000000}, wb[2] = {1000000, 7};
    static const double ws[2] = {1, 1}, wasym[2] = {1, 2};
    pal_graph_t *g;

    /* Each case: a fresh 3 x 3 graph with one term. */
#define ONE(expr, want)                                                     \
    do {                                                                    \
        ck_status(pal_graph_create(&g, 3, NULL), PAL_OK);                   \
        ck_status((expr), PAL_OK);                                          \
        ck_assert_msg(pal_graph_is_symmetric(g) == (want), "%s", #expr);    \
        pal_graph_destroy(g);                                               \
    } while (0)

    ONE(pal_graph_add_dense(g, 1.0, PAL_F64, dsym, 3, 0), 1);
    ONE(pal_graph_add_dense(g, 1.0, PAL_F64, dasym, 3, 0), 0);
    ONE(pal_graph_add_dense(g, -2.0, PAL_F32, fsym, 3, 0), 1);
    ONE(pal_graph_add_csr(g, 1.0, PAL_F64, 4, rp_sym, ci_sym, v_sym, 0), 1);
    ONE(pal_graph_add_csr(g, 1.0, PAL_F64, 4, rp_sym, ci_sym, v_asym, 0), 0);
    ONE(pal_graph_add_csr(g, 1.0, PAL_F64, 4, rp_sym, ci_sym, NULL, 0), 1);
    ONE(pal_graph_add_csr(g, 1.0, PAL_F64, 3, rp_asym, ci_asym, NULL, 0), 0);
    ONE(pal_graph_add_labels(g, 3.0, y), 1);
    ONE(pal_graph_add_blocks(g, 1.0, y, 2, wa, wb, ws), 1);
    ONE(pal_graph_add_blocks(g, 1.0, y, 2, wa, wb, wasym), 0);
    ONE(pal_graph_add_blocks(g, 1.0, y, 1, wa, wb, ws), 0);
    ONE(pal_graph_add_constant(g, -1.0), 1);
    ONE(pal_graph_add_identity(g, 4.0), 1);
#undef ONE

    /* A sum is reported symmetric only when every term is. */
    ck_status(pal_graph_create(&g, 3, NULL), PAL_OK);
    ck_assert_int_eq(pal_graph_is_symmetric(g), 1);
    ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
    ck_status(pal_graph_add_dense(g, 1.0, PAL_F64, dasym, 3, 0), PAL_OK);
    ck_assert_int_eq(pal_graph_is_symmetric(g), 0);
    pal_graph_destroy(g);
    ck_assert_int_eq(pal_graph_is_symmetric(NULL), 0);
}
END_TEST

START_TEST(sign_flag)
{
    static const double dpos[4] = {1, 0, 2, 3}, dneg[4] = {1, -0.5, 2, 3};
    static const int64_t rp[3] = {0, 1, 2};
    static const int32_t ci[2] = {1, 0};
    static const double vpos[2] = {1, 2}, vneg[2] = {1, -2};
    static const int32_t y[2] = {4, 4}, unknown[2] = {-1, -1};
    static const int32_t wa[2] = {4, 9}, wb[2] = {4, 9};
    static const double wpos[2] = {1, -3}, wneg[2] = {-1, 3};
    pal_graph_t *g;

#define ONE(expr, want)                                                     \
    do {                                                                    \
        ck_status(pal_graph_create(&g, 2, NULL), PAL_OK);                   \
        ck_status((expr), PAL_OK);                                          \
        ck_assert_msg(pal_graph_is_nonnegative(g) == (want), "%s", #expr);  \
        pal_graph_destroy(g);                                               \
    } while (0)

    ONE(pal_graph_add_dense(g, 2.0, PAL_F64, dpos, 2, 0), 1);
    ONE(pal_graph_add_dense(g, -2.0, PAL_F64, dpos, 2, 0), 0);
    ONE(pal_graph_add_dense(g, 1.0, PAL_F64, dneg, 2, 0), 0);
    ONE(pal_graph_add_csr(g, 1.0, PAL_F64, 2, rp, ci, vpos, 0), 1);
    ONE(pal_graph_add_csr(g, 1.0, PAL_F64, 2, rp, ci, vneg, 0), 0);
    ONE(pal_graph_add_csr(g, -1.0, PAL_F64, 2, rp, ci, NULL, 0), 0);
    ONE(pal_graph_add_labels(g, 0.5, y), 1);
    ONE(pal_graph_add_labels(g, -0.5, y), 0);
    /* All unknown: the term is zero whatever its weight. */
    ONE(pal_graph_add_labels(g, -0.5, unknown), 1);
    /* W[9][9] = -3 names a class no item has: it never appears in G. */
    ONE(pal_graph_add_blocks(g, 1.0, y, 2, wa, wb, wpos), 1);
    ONE(pal_graph_add_blocks(g, 1.0, y, 2, wa, wb, wneg), 0);
    ONE(pal_graph_add_constant(g, 1.0), 1);
    ONE(pal_graph_add_constant(g, -1.0), 0);
    ONE(pal_graph_add_identity(g, 1.0), 1);
    ONE(pal_graph_add_identity(g, -1.0), 0);
#undef ONE
    ck_assert_int_eq(pal_graph_is_nonnegative(NULL), 0);
}
END_TEST

START_TEST(empty_flag)
{
    static const double dz[4] = {0, 0, 0, 0}, d1[4] = {0, 0, 0, 1};
    static const int64_t rp0[3] = {0, 0, 0};
    static const int32_t y[2] = {4, 4}, unknown[2] = {-1, -1};
    static const int32_t one[2] = {-1, 8};
    static const int32_t wa[2] = {4, 4}, wb[2] = {4, 4}, wc[1] = {5};
    static const double cancel[2] = {1.5, -1.5}, w1[1] = {1.0};
    pal_graph_t *g;

#define ONE(expr, want)                                                     \
    do {                                                                    \
        ck_status(pal_graph_create(&g, 2, NULL), PAL_OK);                   \
        ck_status((expr), PAL_OK);                                          \
        ck_assert_msg(pal_graph_is_empty(g) == (want), "%s", #expr);        \
        pal_graph_destroy(g);                                               \
    } while (0)

    /* Zero weights add no term at all. */
    ONE(pal_graph_add_dense(g, 0.0, PAL_F64, d1, 2, 0), 1);
    ONE(pal_graph_add_labels(g, 0.0, y), 1);
    ONE(pal_graph_add_constant(g, 0.0), 1);
    ONE(pal_graph_add_identity(g, 0.0), 1);
    ONE(pal_graph_add_dense(g, 1.0, PAL_F64, dz, 2, 0), 1);
    ONE(pal_graph_add_dense(g, 1.0, PAL_F64, d1, 2, 0), 0);
    ONE(pal_graph_add_csr(g, 1.0, PAL_F64, 0, rp0, NULL, NULL, 0), 1);
    ONE(pal_graph_add_labels(g, 1.0, unknown), 1);
    /* One known item: G_11 = 1. */
    ONE(pal_graph_add_labels(g, 1.0, one), 0);
    /* A repeated pair whose weights cancel, and a class no item has. */
    ONE(pal_graph_add_blocks(g, 1.0, y, 2, wa, wb, cancel), 1);
    ONE(pal_graph_add_blocks(g, 1.0, y, 1, wc, wc, w1), 1);
    ONE(pal_graph_add_blocks(g, 1.0, y, 0, NULL, NULL, NULL), 1);
    ONE(pal_graph_add_constant(g, 1e-300), 0);
#undef ONE

    ck_status(pal_graph_create(&g, 2, NULL), PAL_OK);
    ck_assert_int_eq(pal_graph_is_empty(g), 1);
    ck_assert_int_eq(pal_graph_n_terms(g), 0);
    ck_status(pal_graph_add_labels(g, 0.0, y), PAL_OK);
    ck_assert_int_eq(pal_graph_n_terms(g), 0);
    pal_graph_destroy(g);
    ck_assert_int_eq(pal_graph_is_empty(NULL), 1);
}
END_TEST

/* A random permutation of 0..n-1. */
static void shuffle(trng_t *r, int64_t *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = trng_below(r, i + 1), t = p[i];

        p[i] = p[j];
        p[j] = t;
    }
}

START_TEST(builders_against_expansion)
{
    pal_ctx_t *ctx;
    trng_t r;
    tgraph_t tg;
    int32_t y0[6], y[24];
    int64_t src[24], perm[24];

    trng_seed(&r, test_seed() + 4);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);

    /* Supervised, labels repeated A = 4 times: rows i * 4 + a. */
    random_labels(&r, y0, 6, 3, 0.25);
    y0[0] = 1000000;
    y0[1] = -1;
    tg_init(&tg, 24);
    tg_supervised(&tg, y0, 4);
    check_graph(ctx, &tg, &r, "supervised, 6 labels x 4");
    tg_free(&tg);

    /* SSL, consecutive views. */
    tg_init(&tg, 24);
    tg_ssl(&tg, 3, NULL);
    check_graph(ctx, &tg, &r, "ssl, 3 consecutive views");
    tg_free(&tg);

    /* SSL from a shuffled source map: views of a sample are not adjacent
     * and samples have 1 to 5 views; source values are any row index. */
    shuffle(&r, perm, 24);
    for (int64_t i = 0, s = 0; i < 24; s++) {
        int64_t v = 1 + trng_below(&r, 5);

        for (int64_t a = 0; a < v && i < 24; a++, i++)
            src[perm[i]] = 23 - s;
    }
    tg_init(&tg, 24);
    tg_ssl(&tg, 0, src);
    check_graph(ctx, &tg, &r, "ssl, shuffled uneven views");
    tg_free(&tg);

    /* Mixtures (1 - alpha) G_ssl + alpha Y Y^T. */
    random_labels(&r, y, 24, 4, 0.3);
    for (int a = 0; a < 4; a++) {
        static const double alpha[4] = {0.0, 0.3, 0.75, 1.0};
        char what[64];

        tg_init(&tg, 24);
        tg_mixture(&tg, alpha[a], a % 2 ? 2 : 0, a % 2 ? NULL : src, y);
        snprintf(what, sizeof what, "mixture alpha %g", alpha[a]);
        check_graph(ctx, &tg, &r, what);
        tg_free(&tg);
    }

    /* Builders' graphs take further terms like any other. */
    tg_init(&tg, 24);
    tg_mixture(&tg, 0.3, 0, src, y);
    tg_identity(&tg, 0.1);
    add_variant(&tg, &r, V_BLOCKS, -0.4);
    check_graph(ctx, &tg, &r, "mixture + identity + blocks");
    tg_free(&tg);
    pal_ctx_destroy(ctx);
    report_count("builders against expansion");
}
END_TEST

/*
 * A label term costs O(n) memory: the peak of what pal_graph_add_labels
 * allocates for n = 100000 stays under 64 bytes per item (an expanded
 * graph would need 8 n^2 = 8e10 bytes). Labels all distinct is the worst
 * case for the per-class arrays. A second label term also computes its
 * cross product with the first through their contingency table.
 */
START_TEST(labels_memory_is_linear)
{
    const int64_t n = 100000;
    int32_t *y = xmalloc((size_t)n * sizeof *y);
    talloc_t t;
    pal_allocator_t a = talloc_make(&t);
    trng_t r;

    trng_seed(&r, test_seed() + 5);
    for (int mode = 0; mode < 2; mode++) {
        pal_graph_t *g;
        size_t base;
        double frob;

        for (int64_t i = 0; i < n; i++)
            y[i] = mode ? (int32_t)(n - i) * 3 : label_value((int)(i % 16));
        ck_status(pal_graph_create(&g, n, &a), PAL_OK);
        base = t.live;
        t.peak = t.live;
        ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
        ck_assert_msg(t.peak - base < (size_t)(64 * n),
                      "labels term peak %zu bytes for n %lld", t.peak - base,
                      (long long)n);
        if (getenv("PAL_TEST_VERBOSE"))
            printf("labels term, %s labels: peak %.1f bytes per item\n",
                   mode ? "distinct" : "16", (double)(t.peak - base) / n);

        random_labels(&r, y, n, 16, 0.1);
        base = t.live;
        t.peak = t.live;
        ck_status(pal_graph_add_labels(g, -0.5, y), PAL_OK);
        ck_assert_msg(t.peak - base < (size_t)(96 * n),
                      "second labels term peak %zu bytes", t.peak - base);
        if (getenv("PAL_TEST_VERBOSE"))
            printf("second labels term: peak %.1f bytes per item\n",
                   (double)(t.peak - base) / n);
        ck_status(pal_graph_frobenius2(g, &frob), PAL_OK);
        ck_assert(frob > 0.0);
        pal_graph_destroy(g);
        ck_assert_uint_eq(t.live, 0);
    }
    free(y);
}
END_TEST

/* Entries whose squares overflow, under a weight that brings them back:
 * ||G||_F^2 is that of the weighted graph, for every kind of term, and
 * VIC^2 on it equals VIC^2 on the same graph written with plain ones. */
START_TEST(frobenius_of_huge_entries_under_tiny_weight)
{
    enum { N = 6 };
    const double big = 1e160, tiny = 1e-160;
    static double a[N * N], vals[N], d[N], ones[N * N];
    static int64_t rowptr[N + 1];
    static int32_t colidx[N], y[N] = {0, 1, 0, 2, 1, 0}, ba[1] = {0},
                               bb[1] = {1};
    double bw[1] = {big}, frob, want, v1, v2, z[N * 2];
    pal_graph_t *g;
    pal_ctx_t *ctx;

    for (int i = 0; i < N * N; i++) {
        a[i] = big;
        ones[i] = 1.0;
    }
    for (int i = 0; i < N; i++) {
        rowptr[i + 1] = i + 1;
        colidx[i] = (i + 1) % N;
        vals[i] = -big;
        d[i] = big;
        z[2 * i] = 0.1 * i;
        z[2 * i + 1] = 1.0 / (i + 2);
    }
    /* Dense: every entry 1 after weighting. */
    ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(g, tiny, PAL_F64, a, N, 0), PAL_OK);
    ck_status(pal_graph_frobenius2(g, &frob), PAL_OK);
    want = (double)(N * N) * (big * tiny) * (big * tiny);
    ck_assert_msg(fabs(frob - want) <= 1e-12 * want, "dense %.17g vs %.17g",
                  frob, want);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    ck_status(pal_loss_vic2(ctx, g, PAL_F64, N, 2, z, 2, NULL, &v1), PAL_OK);
    pal_graph_destroy(g);
    ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(g, big * tiny, PAL_F64, ones, N, 0),
              PAL_OK);
    ck_status(pal_loss_vic2(ctx, g, PAL_F64, N, 2, z, 2, NULL, &v2), PAL_OK);
    ck_assert_msg(fabs(v1 - v2) <= 1e-12 * fabs(v2), "vic2 %.17g vs %.17g",
                  v1, v2);
    pal_graph_destroy(g);
    pal_ctx_destroy(ctx);

    /* CSR, diagonal and block terms alone. */
    ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
    ck_status(pal_graph_add_csr(g, tiny, PAL_F64, N, rowptr, colidx, vals, 0),
              PAL_OK);
    ck_status(pal_graph_frobenius2(g, &frob), PAL_OK);
    want = (double)N * (big * tiny) * (big * tiny);
    ck_assert_msg(fabs(frob - want) <= 1e-12 * want, "csr %.17g vs %.17g",
                  frob, want);
    pal_graph_destroy(g);

    ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
    ck_status(pal_graph_add_diagonal(g, tiny, d), PAL_OK);
    ck_status(pal_graph_frobenius2(g, &frob), PAL_OK);
    ck_assert_msg(fabs(frob - want) <= 1e-12 * want, "diag %.17g vs %.17g",
                  frob, want);
    pal_graph_destroy(g);

    /* One class pair (0, 1): 3 x 2 entries. */
    ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
    ck_status(pal_graph_add_blocks(g, tiny, y, 1, ba, bb, bw), PAL_OK);
    ck_status(pal_graph_frobenius2(g, &frob), PAL_OK);
    want = 6.0 * (big * tiny) * (big * tiny);
    ck_assert_msg(fabs(frob - want) <= 1e-12 * want, "blocks %.17g vs %.17g",
                  frob, want);
    pal_graph_destroy(g);
}
END_TEST

/* Everything a failed addition must leave as it was. */
typedef struct snapshot {
    int64_t terms;
    double frob;
    double rows[5], cols[5], diag[5];
} snapshot_t;

static void take(const pal_graph_t *g, snapshot_t *s)
{
    memset(s, 0, sizeof *s);
    s->terms = pal_graph_n_terms(g);
    ck_status(pal_graph_frobenius2(g, &s->frob), PAL_OK);
    ck_status(pal_graph_row_sums(g, s->rows), PAL_OK);
    ck_status(pal_graph_col_sums(g, s->cols), PAL_OK);
    ck_status(pal_graph_diagonal(g, s->diag), PAL_OK);
}

/*
 * CSR input is validated before anything is recorded. The policy: rowptr
 * starts at 0, never decreases and ends at nnz; each column index is in
 * [0, n); within a row, column indices are strictly increasing, so that
 * an unsorted row and a duplicate entry are both rejected (the caller
 * sorts and sums duplicates). Each malformed input gives PAL_E_CSR and
 * leaves the graph exactly as it was.
 */
START_TEST(csr_validation)
{
    static const struct {
        const char *what;
        int64_t nnz;
        int64_t rowptr[6];
        int32_t colidx[6];
    } bad[] = {
        {"rowptr[0] != 0", 4, {1, 1, 2, 3, 4, 4}, {0, 1, 2, 3}},
        {"rowptr decreases", 4, {0, 2, 1, 3, 4, 4}, {0, 1, 2, 3}},
        {"rowptr overshoots nnz mid-way", 3, {0, 9, 2, 3, 3, 3}, {0, 1, 2}},
        {"rowptr[n] < nnz", 4, {0, 1, 2, 3, 3, 3}, {0, 1, 2, 3}},
        {"rowptr[n] > nnz", 3, {0, 1, 2, 3, 4, 4}, {0, 1, 2, 3}},
        {"column -1", 4, {0, 1, 2, 3, 4, 4}, {0, -1, 2, 3}},
        {"column n", 4, {0, 1, 2, 3, 4, 4}, {0, 1, 5, 3}},
        {"column INT32_MAX", 4, {0, 1, 2, 3, 4, 4}, {0, 1, INT32_MAX, 3}},
        {"unsorted row", 4, {0, 2, 2, 3, 4, 4}, {3, 1, 2, 3}},
        {"duplicate column", 4, {0, 2, 2, 3, 4, 4}, {1, 1, 2, 3}},
        {"duplicate in the last row", 5, {0, 1, 2, 3, 3, 5}, {0, 1, 2, 4, 4}},
    };
    static const double vals[6] = {1, 2, 3, 4, 5, 6};
    static const int32_t y[5] = {3, 1000000, 3, -1, 1000000};
    static const int64_t good_rp[6] = {0, 2, 2, 3, 5, 5};
    static const int32_t good_ci[5] = {0, 4, 2, 1, 3};
    pal_graph_t *g;
    snapshot_t before, after;

    ck_status(pal_graph_create(&g, 5, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(g, 1.5, y), PAL_OK);
    ck_status(pal_graph_add_identity(g, 0.25), PAL_OK);
    take(g, &before);
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        for (int withvals = 0; withvals < 2; withvals++) {
            int rc = pal_graph_add_csr(g, 1.0, PAL_F64, bad[c].nnz,
                                       bad[c].rowptr, bad[c].colidx,
                                       withvals ? vals : NULL,
                                       PAL_GRAPH_CHECK_FINITE);

            ck_assert_msg(rc == PAL_E_CSR, "%s: %s", bad[c].what,
                          pal_status_name(rc));
            take(g, &after);
            ck_assert_msg(memcmp(&before, &after, sizeof before) == 0,
                          "%s: the graph changed", bad[c].what);
        }
    }

    /* Empty rows are fine; the graph then has the new term. */
    ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, 5, good_rp, good_ci, vals,
                                0),
              PAL_OK);
    take(g, &after);
    ck_assert_int_eq(after.terms, before.terms + 1);
    ck_assert_double_eq(after.rows[0], before.rows[0] + 1.0 + 2.0);
    pal_graph_destroy(g);
}
END_TEST

Suite *suite_graph(void);
Suite *suite_graph(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, each_kind_against_expansion);
    tcase_add_test(tc, weighted_sums_against_expansion);
    tcase_add_test(tc, cross_products_of_every_pair_of_kinds);
    tcase_add_test(tc, blocks_by_hand);
    tcase_add_test(tc, symmetry_flag);
    tcase_add_test(tc, sign_flag);
    tcase_add_test(tc, empty_flag);
    tcase_add_test(tc, builders_against_expansion);
    tcase_add_test(tc, labels_memory_is_linear);
    tcase_add_test(tc, frobenius_of_huge_entries_under_tiny_weight);
    tcase_add_test(tc, csr_validation);
    suite_add_tcase(s, tc);
    return s;
}
