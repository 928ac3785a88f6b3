/*
 * Golden values: losses and gradients from an independent implementation
 * (automatic differentiation in float64), read from the vector files in
 * PAL_VECTORS_DIR (the Makefile points it at ../shared/vectors). Each
 * case is checked with its dense G and, where the file gives the labels
 * behind G, with the structured graph built from them, in float64 and
 * float32.
 */
#include <dirent.h>
#include <inttypes.h>

#include "testutil.h"

typedef struct golden {
    char loss[16];
    char options[256];
    int64_t n, k;
    double *z, *g, *grad;
    double value;
    int has_labels;
    int32_t labels[64];
    int64_t ni, nj;
    int64_t *ii, *ij, *ji, *jj;
    double *ig;
} golden_t;

static double *read_matrix(FILE *f, int64_t rows, int64_t cols)
{
    double *m = calloc((size_t)(rows * cols), sizeof *m);

    ck_assert_ptr_nonnull(m);
    for (int64_t i = 0; i < rows * cols; i++)
        ck_assert_int_eq(fscanf(f, "%lf", &m[i]), 1);
    return m;
}

static const char *option(const golden_t *c, const char *key)
{
    static char buf[128];
    const char *p = strstr(c->options, key);

    if (!p)
        return NULL;
    p += strlen(key);
    if (*p != '=')
        return NULL;
    sscanf(p + 1, "%127s", buf);
    return buf;
}

static void load(const char *path, golden_t *c)
{
    FILE *f = fopen(path, "r");
    char word[64];

    memset(c, 0, sizeof *c);
    ck_assert_msg(f != NULL, "cannot open %s", path);
    while (fscanf(f, "%63s", word) == 1) {
        if (word[0] == '#') {
            int ch;

            while ((ch = fgetc(f)) != '\n' && ch != EOF)
                ;
        } else if (!strcmp(word, "loss")) {
            ck_assert_int_eq(fscanf(f, "%15s", c->loss), 1);
        } else if (!strcmp(word, "options")) {
            ck_assert_ptr_nonnull(fgets(c->options, sizeof c->options, f));
        } else if (!strcmp(word, "Z")) {
            ck_assert_int_eq(fscanf(f, "%" SCNd64 " %" SCNd64, &c->n, &c->k),
                             2);
            c->z = read_matrix(f, c->n, c->k);
        } else if (!strcmp(word, "G")) {
            int64_t a, b;

            ck_assert_int_eq(fscanf(f, "%" SCNd64 " %" SCNd64, &a, &b), 2);
            c->g = read_matrix(f, a, b);
        } else if (!strcmp(word, "I") || !strcmp(word, "J")) {
            int is_i = word[0] == 'I';
            int64_t m;

            ck_assert_int_eq(fscanf(f, "%" SCNd64, &m), 1);
            if (is_i) {
                c->ni = m;
                c->ii = calloc((size_t)m + 1, sizeof *c->ii);
                c->ij = calloc((size_t)m + 1, sizeof *c->ij);
                c->ig = calloc((size_t)m + 1, sizeof *c->ig);
                for (int64_t p = 0; p < m; p++)
                    ck_assert_int_eq(fscanf(f, "%" SCNd64 " %" SCNd64 " %lf",
                                            &c->ii[p], &c->ij[p], &c->ig[p]),
                                     3);
            } else {
                c->nj = m;
                c->ji = calloc((size_t)m + 1, sizeof *c->ji);
                c->jj = calloc((size_t)m + 1, sizeof *c->jj);
                for (int64_t p = 0; p < m; p++)
                    ck_assert_int_eq(fscanf(f, "%" SCNd64 " %" SCNd64,
                                            &c->ji[p], &c->jj[p]),
                                     2);
            }
        } else if (!strcmp(word, "value")) {
            ck_assert_int_eq(fscanf(f, "%lf", &c->value), 1);
        } else if (!strcmp(word, "grad")) {
            int64_t a, b;

            ck_assert_int_eq(fscanf(f, "%" SCNd64 " %" SCNd64, &a, &b), 2);
            c->grad = read_matrix(f, a, b);
        }
    }
    fclose(f);

    const char *lab = option(c, "labels");

    if (lab) {
        int64_t m = 0;
        char *end;

        for (const char *p = lab; *p && m < 64; p = end) {
            c->labels[m++] = (int32_t)strtol(p, &end, 10);
            if (*end == ',')
                end++;
        }
        ck_assert_int_eq(m, c->n);
        c->has_labels = 1;
    }
    /* The contrastive case names its labels only through G. */
    if (strstr(c->options, "G=2*labels-1")) {
        static const int32_t y[7] = {0, 1, 0, 2, 1, 0, -1};

        ck_assert_int_eq(c->n, 7);
        memcpy(c->labels, y, sizeof y);
        c->has_labels = 2;
    }
}

static void release(golden_t *c)
{
    free(c->z);
    free(c->g);
    free(c->grad);
    free(c->ii);
    free(c->ij);
    free(c->ig);
    free(c->ji);
    free(c->jj);
}

/* Run the case's loss in dtype on graph g (or batch b); value and dz. */
static int run(pal_ctx_t *ctx, const golden_t *c, pal_graph_t *g,
               pal_batch_t *b, pal_dtype_t t, double *value, double *dz)
{
    const int64_t n = c->n, k = c->k;
    float zf[256], dzf[256];
    const void *z = c->z;
    void *out = dz;
    int rc;

    ck_assert_int_le(n * k, 256);
    if (t == PAL_F32) {
        to_float(c->z, n, k, k, zf, k);
        z = zf;
        out = dzf;
    }
    if (!strcmp(c->loss, "vic2")) {
        pal_vic2_opts_t o;

        pal_vic2_opts_init(&o);
        o.offdiag = atoi(option(c, "offdiag"));
        rc = pal_grad_vic2(ctx, g, t, n, k, z, k, &o, value, out, k);
    } else if (!strcmp(c->loss, "simclr")) {
        pal_simclr_opts_t o;

        pal_simclr_opts_init(&o);
        o.tau = atof(option(c, "tau"));
        o.include_self = option(c, "include_self")
                             ? atoi(option(c, "include_self"))
                             : 0;
        rc = pal_grad_simclr(ctx, g, t, n, k, z, k, &o, value, out, k);
    } else if (!strcmp(c->loss, "bt")) {
        pal_bt_opts_t o;

        pal_bt_opts_init(&o);
        o.lambda = atof(option(c, "lambda"));
        o.center = atoi(option(c, "center"));
        rc = pal_grad_bt(ctx, g, t, n, k, z, k, &o, value, out, k);
    } else {
        rc = pal_grad_pairs(ctx, b, t, n, k, z, k, value, out, k);
    }
    if (t == PAL_F32)
        for (int64_t i = 0; i < n * k; i++)
            dz[i] = dzf[i];
    return rc;
}

static void check_case(const char *path, int *cases)
{
    golden_t c;
    pal_ctx_t *ctx;
    pal_graph_t *graphs[2] = {NULL, NULL};
    pal_batch_t *batch = NULL;
    double dz[256];

    load(path, &c);
    ck_status(pal_ctx_create(&ctx, NULL), PAL_OK);
    if (!strcmp(c.loss, "pairs")) {
        ck_status(pal_batch_create(&batch, NULL), PAL_OK);
        for (int64_t p = 0; p < c.ni; p++)
            ck_status(pal_batch_add_pair(batch, c.ii[p], c.ij[p], c.ig[p]),
                      PAL_OK);
        for (int64_t p = 0; p < c.nj; p++)
            ck_status(pal_batch_add_reg(batch, c.ji[p], c.jj[p]), PAL_OK);
    } else {
        ck_assert_ptr_nonnull(c.g);
        ck_status(pal_graph_create(&graphs[0], c.n, NULL), PAL_OK);
        ck_status(pal_graph_add_dense(graphs[0], 1.0, PAL_F64, c.g, c.n,
                                      PAL_GRAPH_CHECK_FINITE),
                  PAL_OK);
        if (c.has_labels) {
            ck_status(pal_graph_create(&graphs[1], c.n, NULL), PAL_OK);
            ck_status(pal_graph_add_labels(graphs[1],
                                           c.has_labels == 2 ? 2.0 : 1.0,
                                           c.labels),
                      PAL_OK);
            if (c.has_labels == 2)
                ck_status(pal_graph_add_constant(graphs[1], -1.0), PAL_OK);
        }
    }

    for (int gi = 0; gi < 2; gi++) {
        if (gi == 1 && !graphs[1])
            continue;
        for (int ti = 0; ti < 2; ti++) {
            pal_dtype_t t = ti ? PAL_F32 : PAL_F64;
            double rtol = ti ? 2e-5 : 1e-11, v = NAN;
            char what[1200];

            snprintf(what, sizeof what, "%s (%s graph, %s)", path,
                     gi ? "structured" : "dense", ti ? "f32" : "f64");
            ck_status(run(ctx, &c, graphs[gi], batch, t, &v, dz), PAL_OK);
            ck_close(v, c.value, rtol, rtol, what);
            ck_assert_msg(mat_err(dz, c.k, c.grad, c.k, c.n, c.k,
                                  ti ? 1e-4 : 1e-10, 0.0) <= 1.0,
                          "%s: gradient differs (err %g)", what,
                          mat_err(dz, c.k, c.grad, c.k, c.n, c.k,
                                  ti ? 1e-4 : 1e-10, 0.0));
            (*cases)++;
        }
    }
    pal_graph_destroy(graphs[0]);
    pal_graph_destroy(graphs[1]);
    pal_batch_destroy(batch);
    pal_ctx_destroy(ctx);
    release(&c);
}

START_TEST(golden_vectors)
{
    const char *dir = getenv("PAL_VECTORS_DIR");
    struct dirent *e;
    DIR *d;
    int files = 0, cases = 0;
    char path[1024];

    if (!dir || !*dir) {
        printf("golden vectors: PAL_VECTORS_DIR not set, skipped\n");
        return;
    }
    d = opendir(dir);
    ck_assert_msg(d != NULL, "PAL_VECTORS_DIR=%s cannot be read", dir);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len < 5 || strcmp(e->d_name + len - 4, ".txt"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        check_case(path, &cases);
        files++;
    }
    closedir(d);
    ck_assert_int_ge(files, 11);
    printf("golden vectors: %d files, %d checks\n", files, cases);
}
END_TEST

Suite *suite_golden(void);
Suite *suite_golden(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("golden");

    tcase_add_test(tc, golden_vectors);
    suite_add_tcase(s, tc);
    return s;
}
