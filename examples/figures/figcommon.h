/*
 * What the paper-figure programs share: seeded random numbers, the
 * concentric-circles data of the paper's section 5, the kernel model
 * (closed-form VIC^2 optimum under a Gaussian kernel, extended to new
 * points, measured by a linear probe), mean and spread over trials, and
 * small file helpers.
 */
#ifndef FIGCOMMON_H
#define FIGCOMMON_H

#include <stdint.h>
#include <stdio.h>

#include <pal/pal.h>

/* ---- Random numbers (splitmix64: small, seeded, the same everywhere) --- */

typedef struct fig_rng {
    uint64_t state;
} fig_rng_t;

void fig_rng_seed(fig_rng_t *r, uint64_t seed);
uint64_t fig_rng_next(fig_rng_t *r);
double fig_uniform(fig_rng_t *r);           /* in [0, 1) */
double fig_normal(fig_rng_t *r);            /* standard normal */
/* Put the n entries of a in a uniformly random order (Fisher-Yates). */
void fig_shuffle(fig_rng_t *r, int64_t n, int64_t *a);

/* ---- Data ---------------------------------------------------------------- */

/* n points in R^2 (x: n x 2), each of a class drawn uniformly in [0, C),
 * class c on the circle of radius c + 1 at a uniform angle, the radius
 * perturbed by Gaussian noise of standard deviation noise. */
void fig_circles(fig_rng_t *r, int64_t n, int n_classes, double noise,
                 double *x, int32_t *y);

/* ---- The kernel model ------------------------------------------------------
 *
 * N training items (the ones the oracles ask about) and T held-out items.
 * For a graph G on the training items, the embedding is the closed-form
 * VIC^2 optimum with Tikhonov weight lambda under the Gaussian kernel,
 * Z = top k of G - lambda (K + delta I)^-1 (pal_spectral_embed). The
 * kernel model behind it, f(x) = sum_i alpha_i k(x, x_i) with
 * alpha = (K + delta I)^-1 Z, gives every point its embedding, training
 * or held out. The probe is the least-squares linear classifier on f,
 * fitted on the training items with their true labels and measured on
 * the held-out ones (pal_linear_probe). */

typedef struct fig_params {
    double bandwidth;   /* Gaussian kernel bandwidth h */
    double lambda;      /* Tikhonov weight */
    double delta;       /* added to K's diagonal */
    int64_t dim;        /* embedding dimension k */
} fig_params_t;

typedef struct fig_model {
    pal_ctx_t *ctx;
    fig_params_t p;
    int64_t n, t;       /* training and held-out items */
    int n_classes;
    double *k_train;    /* n x n Gaussian kernel of the training items */
    double *chol;       /* n x n lower Cholesky factor of K + delta I */
    double *k_test;     /* t x n kernel between held-out and training */
    double *z;          /* n x k embedding of the training items */
    double *alpha;      /* n x k */
    double *f;          /* (n + t) x k: f on training, then held-out */
    int32_t *labels;    /* n + t true labels */
    unsigned char *train;
} fig_model_t;

typedef struct fig_result {
    double test_mse;        /* the probe's held-out mean-square error */
    double test_error;      /* 1 - held-out accuracy */
} fig_result_t;

/* x_train: n x d, x_test: t x d (row-major), labels of both. Exits on
 * error (these are example programs). */
void fig_model_init(fig_model_t *m, const fig_params_t *p, int64_t n,
                    int64_t t, int64_t d, const double *x_train,
                    const int32_t *y_train, const double *x_test,
                    const int32_t *y_test, int n_classes);
void fig_model_free(fig_model_t *m);

/* Embed graph g (on the n training items) and probe the embedding. */
void fig_model_eval(fig_model_t *m, const pal_graph_t *g, fig_result_t *out);

/* ---- Oracles ------------------------------------------------------------- */

/* A labeler that answers from the true labels: user is the int32_t label
 * array of the items (same class: PAL_ANSWER_SAME, else DIFFERENT). */
int fig_truth_labeler(void *user, int64_t anchor, int64_t m,
                      const int64_t *candidates, pal_answer_t *answers);

/* The oracle's costs so far (pal_oracle_costs; exits on error). */
void fig_oracle_costs(const pal_oracle_t *o, pal_oracle_costs_t *costs);

/* ---- Mean and standard deviation over trials ----------------------------- */

typedef struct fig_stat {
    double sum, sum2;
    int64_t count;
} fig_stat_t;

void fig_stat_add(fig_stat_t *s, double v);
double fig_stat_mean(const fig_stat_t *s);
double fig_stat_std(const fig_stat_t *s);   /* population (1/count) */

/* ---- The experiment every figure shares ----------------------------------
 *
 * Trials of oracles asking about n circle points in batches, measured on
 * test held-out points by the kernel model, and the command-line options
 * that set them (each program adds its own). */
typedef struct fig_setup {
    int64_t trials, queries, batch, n, test, dim, seed;
    double noise, bandwidth, lambda, delta;
    const char *outdir, *png;
} fig_setup_t;

/* The defaults shared by the figures, with the program's own number of
 * queries and seed. */
void fig_setup_defaults(fig_setup_t *s, int64_t queries, int64_t seed);

/* Take argv[*i] if it is a shared option (advancing *i past its value)
 * or the output directory: returns 1 if taken, 0 otherwise. --quick
 * sets 10 trials (a later --trials wins). */
int fig_setup_opt(int argc, char **argv, int *i, fig_setup_t *s);

/* 1 when the options make an experiment (an output directory, at least
 * one trial, batch, held-out point and dimension, n >= 2, queries >= 0). */
int fig_setup_ok(const fig_setup_t *s);

/* The kernel model's parameters of a setup. */
fig_params_t fig_setup_params(const fig_setup_t *s);

/* ---- Utilities ------------------------------------------------------------ */

void fig_check(int rc, const char *what);   /* exit with a message */
void *fig_calloc(size_t count, size_t size);
FILE *fig_open(const char *dir, const char *name);  /* dir/name for writing */

/* figN.gp in the output folder, begun with what every figure's script
 * says: who wrote it, a PNG terminal of width x height pixels and that
 * font size, the output (--png, or figN.png in the output folder), and
 * comma-separated data. The caller writes the rest. */
FILE *fig_gnuplot(const fig_setup_t *c, int fig, const char *prog, int width,
                  int height, int font);
/* Parse "--name value" options into doubles or integers: returns 1 if
 * argv[*i] was the named option (and advances *i), 0 otherwise. */
int fig_opt_double(int argc, char **argv, int *i, const char *name,
                   double *out);
int fig_opt_int(int argc, char **argv, int *i, const char *name,
                int64_t *out);
/* "--name v1,v2,...": at most max values, each in [lo, hi], into out and
 * *count. Returns 1 if argv[*i] was the option, 0 otherwise; exits on a
 * bad list. */
int fig_opt_list(int argc, char **argv, int *i, const char *name, double lo,
                 double hi, int max, double *out, int *count);

#endif /* FIGCOMMON_H */
