/*
 * Shared code of the paper-figure programs (see figcommon.h).
 */
#include "figcommon.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Random numbers -------------------------------------------------------- */

void fig_rng_seed(fig_rng_t *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t fig_rng_next(fig_rng_t *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double fig_uniform(fig_rng_t *r)
{
    return (double)(fig_rng_next(r) >> 11) * 0x1.0p-53;
}

double fig_normal(fig_rng_t *r)
{
    /* Box-Muller; 1 - u keeps the logarithm finite. */
    double u = 1.0 - fig_uniform(r), v = fig_uniform(r);

    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void fig_shuffle(fig_rng_t *r, int64_t n, int64_t *a)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(fig_uniform(r) * (double)(i + 1));
        int64_t v = a[i];

        a[i] = a[j];
        a[j] = v;
    }
}

/* ---- Data ---------------------------------------------------------------- */

void fig_circles(fig_rng_t *r, int64_t n, int n_classes, double noise,
                 double *x, int32_t *y)
{
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(fig_uniform(r) * n_classes);
        double angle = 6.283185307179586 * fig_uniform(r);
        double radius = c + 1 + noise * fig_normal(r);

        y[i] = c;
        x[2 * i] = radius * cos(angle);
        x[2 * i + 1] = radius * sin(angle);
    }
}

/* ---- Oracles --------------------------------------------------------------- */

int fig_truth_labeler(void *user, int64_t anchor, int64_t m,
                      const int64_t *candidates, pal_answer_t *answers)
{
    const int32_t *y = user;

    for (int64_t c = 0; c < m; c++)
        answers[c] = y[anchor] == y[candidates[c]] ? PAL_ANSWER_SAME
                                                   : PAL_ANSWER_DIFFERENT;
    return 0;
}

void fig_oracle_costs(const pal_oracle_t *o, pal_oracle_costs_t *costs)
{
    memset(costs, 0, sizeof *costs);
    costs->size = sizeof *costs;
    fig_check(pal_oracle_costs(o, costs), "pal_oracle_costs");
}

/* ---- Utilities -------------------------------------------------------------- */

void fig_check(int rc, const char *what)
{
    if (PAL_IS_ERROR(rc)) {
        fprintf(stderr, "figure: %s: %s\n", what, pal_status_message(rc));
        exit(1);
    }
}

void *fig_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);

    if (!p) {
        fprintf(stderr, "figure: out of memory\n");
        exit(1);
    }
    return p;
}

FILE *fig_open(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "figure: path too long: %s/%s\n", dir, name);
        exit(1);
    }
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "figure: cannot write %s\n", path);
        exit(1);
    }
    return f;
}

int fig_opt_double(int argc, char **argv, int *i, const char *name,
                   double *out)
{
    char *end;

    if (strcmp(argv[*i], name) != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "figure: %s needs a value\n", name);
        exit(2);
    }
    *out = strtod(argv[*i + 1], &end);
    if (*end != '\0' || !isfinite(*out)) {
        fprintf(stderr, "figure: bad value for %s: %s\n", name, argv[*i + 1]);
        exit(2);
    }
    *i += 1;
    return 1;
}

int fig_opt_int(int argc, char **argv, int *i, const char *name,
                int64_t *out)
{
    double v;

    if (!fig_opt_double(argc, argv, i, name, &v))
        return 0;
    if (v != floor(v) || v < 0 || v > 1e9) {
        fprintf(stderr, "figure: %s needs a whole number\n", name);
        exit(2);
    }
    *out = (int64_t)v;
    return 1;
}

int fig_opt_list(int argc, char **argv, int *i, const char *name, double lo,
                 double hi, int max, double *out, int *count)
{
    const char *p;
    int k = 0;

    if (strcmp(argv[*i], name) != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "figure: %s needs a value\n", name);
        exit(2);
    }
    p = argv[*i + 1];
    while (*p) {
        char *end;
        double v = strtod(p, &end);

        if (end == p || !(v >= lo && v <= hi) || k == max ||
            (*end != ',' && *end != '\0')) {
            fprintf(stderr, "figure: %s takes up to %d values in [%g, %g], "
                            "comma-separated: %s\n",
                    name, max, lo, hi, argv[*i + 1]);
            exit(2);
        }
        out[k++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    if (k == 0) {
        fprintf(stderr, "figure: %s needs at least one value\n", name);
        exit(2);
    }
    *count = k;
    *i += 1;
    return 1;
}

/* ---- Statistics --------------------------------------------------------------- */

void fig_stat_add(fig_stat_t *s, double v)
{
    s->sum += v;
    s->sum2 += v * v;
    s->count++;
}

double fig_stat_mean(const fig_stat_t *s)
{
    return s->count ? s->sum / (double)s->count : NAN;
}

double fig_stat_std(const fig_stat_t *s)
{
    double mean = fig_stat_mean(s), var;

    if (!s->count)
        return NAN;
    var = s->sum2 / (double)s->count - mean * mean;
    return var > 0 ? sqrt(var) : 0.0;
}

/* ---- The kernel model --------------------------------------------------------- */

/* Lower Cholesky factor of the n x n symmetric positive definite a, in
 * place (the upper triangle is left alone). Returns 0, or -1 if a is not
 * positive definite. n is small here (a hundred or two). */
static int cholesky(int64_t n, double *a)
{
    for (int64_t j = 0; j < n; j++) {
        double d = a[j * n + j];

        for (int64_t k = 0; k < j; k++)
            d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        a[j * n + j] = d;
        for (int64_t i = j + 1; i < n; i++) {
            double s = a[i * n + j];

            for (int64_t k = 0; k < j; k++)
                s -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = s / d;
        }
    }
    return 0;
}

/* Solve L L^T x = b for the k columns of b (n x k), in place. */
static void cholesky_solve(int64_t n, const double *l, int64_t k, double *b)
{
    for (int64_t c = 0; c < k; c++) {
        for (int64_t i = 0; i < n; i++) {
            double s = b[i * k + c];

            for (int64_t j = 0; j < i; j++)
                s -= l[i * n + j] * b[j * k + c];
            b[i * k + c] = s / l[i * n + i];
        }
        for (int64_t i = n - 1; i >= 0; i--) {
            double s = b[i * k + c];

            for (int64_t j = i + 1; j < n; j++)
                s -= l[j * n + i] * b[j * k + c];
            b[i * k + c] = s / l[i * n + i];
        }
    }
}

void fig_model_init(fig_model_t *m, const fig_params_t *p, int64_t n,
                    int64_t t, int64_t d, const double *x_train,
                    const int32_t *y_train, const double *x_test,
                    const int32_t *y_test, int n_classes)
{
    int64_t all = n + t, k = p->dim;
    double *x = fig_calloc((size_t)(all * d), sizeof *x);
    double *kern = fig_calloc((size_t)(all * all), sizeof *kern);

    memset(m, 0, sizeof *m);
    m->p = *p;
    m->n = n;
    m->t = t;
    m->n_classes = n_classes;
    fig_check(pal_ctx_create(&m->ctx, NULL), "pal_ctx_create");

    /* One kernel matrix over training and held-out points together. */
    memcpy(x, x_train, (size_t)(n * d) * sizeof *x);
    memcpy(x + n * d, x_test, (size_t)(t * d) * sizeof *x);
    fig_check(pal_kernel_gaussian(m->ctx, PAL_F64, all, d, x, d,
                                  p->bandwidth, kern, all),
              "pal_kernel_gaussian");

    m->k_train = fig_calloc((size_t)(n * n), sizeof *m->k_train);
    m->chol = fig_calloc((size_t)(n * n), sizeof *m->chol);
    m->k_test = fig_calloc((size_t)(t * n), sizeof *m->k_test);
    for (int64_t i = 0; i < n; i++)
        memcpy(m->k_train + i * n, kern + i * all, (size_t)n * sizeof *kern);
    for (int64_t i = 0; i < t; i++)
        memcpy(m->k_test + i * n, kern + (n + i) * all,
               (size_t)n * sizeof *kern);
    memcpy(m->chol, m->k_train, (size_t)(n * n) * sizeof *m->chol);
    for (int64_t i = 0; i < n; i++)
        m->chol[i * n + i] += p->delta;
    if (cholesky(n, m->chol) != 0) {
        fprintf(stderr, "figure: K + delta I is not positive definite; "
                        "raise --delta\n");
        exit(1);
    }

    m->z = fig_calloc((size_t)(n * k), sizeof *m->z);
    m->alpha = fig_calloc((size_t)(n * k), sizeof *m->alpha);
    m->f = fig_calloc((size_t)(all * k), sizeof *m->f);
    m->labels = fig_calloc((size_t)all, sizeof *m->labels);
    m->train = fig_calloc((size_t)all, sizeof *m->train);
    memcpy(m->labels, y_train, (size_t)n * sizeof *m->labels);
    memcpy(m->labels + n, y_test, (size_t)t * sizeof *m->labels);
    memset(m->train, 1, (size_t)n);
    free(kern);
    free(x);
}

void fig_model_free(fig_model_t *m)
{
    pal_ctx_destroy(m->ctx);
    free(m->k_train);
    free(m->chol);
    free(m->k_test);
    free(m->z);
    free(m->alpha);
    free(m->f);
    free(m->labels);
    free(m->train);
    memset(m, 0, sizeof *m);
}

void fig_model_eval(fig_model_t *m, const pal_graph_t *g, fig_result_t *out)
{
    int64_t n = m->n, t = m->t, k = m->p.dim;
    pal_embed_opts_t eo;
    pal_probe_result_t pr;

    pal_embed_opts_init(&eo);
    eo.lambda = m->p.lambda;
    eo.kernel = m->k_train;
    eo.kernel_dtype = PAL_F64;
    eo.delta = m->p.delta;
    fig_check(pal_spectral_embed(m->ctx, g, PAL_F64, n, k, &eo, m->z, k,
                                 NULL),
              "pal_spectral_embed");

    /* alpha = (K + delta I)^-1 Z; f(x) = sum_i alpha_i k(x, x_i). */
    memcpy(m->alpha, m->z, (size_t)(n * k) * sizeof *m->alpha);
    cholesky_solve(n, m->chol, k, m->alpha);
    for (int64_t i = 0; i < n + t; i++) {
        const double *row = i < n ? m->k_train + i * n
                                  : m->k_test + (i - n) * n;

        for (int64_t c = 0; c < k; c++) {
            double s = 0;

            for (int64_t j = 0; j < n; j++)
                s += row[j] * m->alpha[j * k + c];
            m->f[i * k + c] = s;
        }
    }

    memset(&pr, 0, sizeof pr);
    pr.size = sizeof pr;
    fig_check(pal_linear_probe(m->ctx, PAL_F64, n + t, k, m->f, k, m->labels,
                               m->n_classes, m->train, NULL, &pr, NULL, 0,
                               NULL),
              "pal_linear_probe");
    out->test_mse = pr.test_mse;
    out->test_error = 1.0 - pr.test_accuracy;
}

/* ---- The experiment every figure shares ---------------------------------- */

void fig_setup_defaults(fig_setup_t *s, int64_t queries, int64_t seed)
{
    s->trials = 100;
    s->queries = queries;
    s->batch = 10;
    s->n = 100;
    s->test = 500;
    s->dim = 4;
    s->seed = seed;
    s->noise = 0.1;
    s->bandwidth = 0.5;
    s->lambda = 3.0;
    s->delta = 1e-6;
    s->outdir = NULL;
    s->png = NULL;
}

int fig_setup_opt(int argc, char **argv, int *i, fig_setup_t *s)
{
    if (fig_opt_int(argc, argv, i, "--trials", &s->trials) ||
        fig_opt_int(argc, argv, i, "--queries", &s->queries) ||
        fig_opt_int(argc, argv, i, "--batch", &s->batch) ||
        fig_opt_int(argc, argv, i, "--n", &s->n) ||
        fig_opt_int(argc, argv, i, "--test", &s->test) ||
        fig_opt_int(argc, argv, i, "--dim", &s->dim) ||
        fig_opt_int(argc, argv, i, "--seed", &s->seed) ||
        fig_opt_double(argc, argv, i, "--noise", &s->noise) ||
        fig_opt_double(argc, argv, i, "--bandwidth", &s->bandwidth) ||
        fig_opt_double(argc, argv, i, "--lambda", &s->lambda) ||
        fig_opt_double(argc, argv, i, "--delta", &s->delta))
        return 1;
    if (strcmp(argv[*i], "--quick") == 0) {
        s->trials = 10;
        return 1;
    }
    if (strcmp(argv[*i], "--png") == 0 && *i + 1 < argc) {
        s->png = argv[++*i];
        return 1;
    }
    if (argv[*i][0] != '-' && !s->outdir) {
        s->outdir = argv[*i];
        return 1;
    }
    return 0;
}

int fig_setup_ok(const fig_setup_t *s)
{
    return s->outdir && s->trials >= 1 && s->batch >= 1 && s->n >= 2 &&
           s->test >= 1 && s->dim >= 1 && s->queries >= 0;
}

fig_params_t fig_setup_params(const fig_setup_t *s)
{
    fig_params_t p;

    p.bandwidth = s->bandwidth;
    p.lambda = s->lambda;
    p.delta = s->delta;
    p.dim = s->dim;
    return p;
}

FILE *fig_gnuplot(const fig_setup_t *c, int fig, const char *prog, int width,
                  int height, int font)
{
    char name[32], png[4096];
    FILE *f;

    snprintf(name, sizeof name, "fig%d.gp", fig);
    f = fig_open(c->outdir, name);
    if (c->png)
        snprintf(png, sizeof png, "%s", c->png);
    else
        snprintf(png, sizeof png, "%s/fig%d.png", c->outdir, fig);
    fprintf(f,
            "# Fig. %d: written by %s; run gnuplot on it.\n"
            "set terminal pngcairo size %d,%d font 'sans,%d'\n"
            "set output '%s'\n"
            "set datafile separator ','\n",
            fig, prog, width, height, font, png);
    return f;
}
