/*
 * The paper's Fig. 3: active (captcha, Algorithm 3) against passive
 * (random pairs, Algorithm 2) discovery of the similarity graph, measured
 * by the downstream error of the closed-form VIC^2 embedding.
 *
 * Four concentric circles in R^2 (radii 1 to 4, class uniform, radial
 * noise 0.1), N = 100 items the oracles ask about and 500 held-out items.
 * Each oracle spends its answers in batches of 10: ten random pairs for
 * the passive oracle, one screen of ten candidates for the captcha one.
 * After every batch the known graph G_q is taken from the oracle's store,
 * the embedding is the top C = 4 of G_q - lambda (K + delta I)^-1 with a
 * Gaussian kernel K (bandwidth 0.5, lambda 3, delta 1e-6), extended to
 * the held-out items through the kernel, and the least-squares linear
 * probe, fitted on the 100 items with their true labels, is measured on
 * the held-out ones. Mean and standard deviation over 100 trials, each
 * with its own data and oracle seeds.
 *
 * Usage: fig3_active_vs_passive [options] OUTDIR
 *   writes OUTDIR/fig3.csv and OUTDIR/fig3.gp (the gnuplot script, which
 *   renders the PNG named by --png, default OUTDIR/fig3.png), prints the
 *   table on stdout and one progress line per 10 trials on stderr.
 * Options (defaults in brackets): --trials [100] --quick (10 trials)
 *   --queries [800] --batch [10] --n [100] --test [500] --noise [0.1]
 *   --bandwidth [0.5] --lambda [3] --delta [1e-6] --dim [4] --seed [3]
 *   --elimination [0] --png PATH
 */
#include <stdlib.h>
#include <string.h>

#include "figcommon.h"

#define NCLASSES 4

enum { RANDOM, PASSIVE, ACTIVE, NORACLES };

static const char *const oracle_names[NORACLES] = {"random", "passive",
                                                   "captcha"};

typedef struct setup {
    fig_setup_t c;
    int64_t elimination;
} setup_t;

static int64_t answers_so_far(const pal_oracle_t *o)
{
    pal_oracle_costs_t costs;

    fig_oracle_costs(o, &costs);
    return costs.answers;
}

/* Evaluate the graph the oracle knows now. */
static void measure(fig_model_t *m, const pal_oracle_t *o, fig_result_t *r)
{
    pal_graph_t *g;

    fig_check(pal_store_graph(pal_oracle_store(o), 0, &g, NULL),
              "pal_store_graph");
    fig_model_eval(m, g, r);
    pal_graph_destroy(g);
}

/* One trial of one oracle: fill mse[b], err[b] for b = 0..npoints-1, the
 * state after b batches (the complete graph once nothing is left). */
static void run_oracle(const setup_t *s, int which, uint64_t seed,
                       fig_model_t *m, int32_t *y, int64_t npoints,
                       double *mse, double *err)
{
    pal_oracle_opts_t opts;
    pal_oracle_t *o;
    fig_result_t r;
    int done = 0, final = 0;

    pal_oracle_opts_init(&opts);
    opts.seed = seed;
    if (which == PASSIVE) {
        opts.sampler = PAL_SAMPLER_PASSIVE;
    } else {
        opts.sampler = PAL_SAMPLER_CAPTCHA;
        opts.screen_size = s->c.batch;
        opts.candidates = s->elimination ? PAL_CANDIDATES_ELIMINATION
                                         : PAL_CANDIDATES_UNIFORM;
    }
    fig_check(pal_oracle_create(&o, s->c.n, &opts, NULL), "pal_oracle_create");
    fig_check(pal_oracle_set_labeler(o, fig_truth_labeler, y),
              "pal_oracle_set_labeler");

    for (int64_t b = 0; b < npoints; b++) {
        /* Ask until b batches' worth of answers are in. A captcha screen
         * may hold fewer candidates near the end than the batch size. */
        while (!done && answers_so_far(o) < b * s->c.batch) {
            int rc = pal_oracle_step(o, NULL);

            fig_check(rc, "pal_oracle_step");
            done = rc == PAL_DONE;
        }
        /* Once the graph is complete it no longer changes. */
        if (!final)
            measure(m, o, &r);
        final = done;
        mse[b] = r.test_mse;
        err[b] = r.test_error;
    }
    pal_oracle_destroy(o);
}

/* Algorithm 2 as the paper states it: every query is a pair drawn
 * uniformly among all pairs, whether its answer is already known (asked
 * before, or deduced) or not. The store still deduces what follows. */
static void run_random(const setup_t *s, uint64_t seed, fig_model_t *m,
                       const int32_t *y, int64_t npoints, double *mse,
                       double *err)
{
    pal_store_t *st;
    pal_graph_t *g;
    fig_rng_t rng;
    fig_result_t r;
    int64_t asked = 0;

    fig_rng_seed(&rng, seed);
    fig_check(pal_store_create(&st, s->c.n, NULL), "pal_store_create");
    for (int64_t b = 0; b < npoints; b++) {
        for (; asked < b * s->c.batch; asked++) {
            int64_t i = (int64_t)(fig_uniform(&rng) * (double)s->c.n);
            int64_t j = (int64_t)(fig_uniform(&rng) * (double)(s->c.n - 1));

            j += j >= i;
            fig_check(pal_store_answer(st, i, j,
                                       y[i] == y[j] ? PAL_ANSWER_SAME
                                                    : PAL_ANSWER_DIFFERENT,
                                       NULL, NULL),
                      "pal_store_answer");
        }
        fig_check(pal_store_graph(st, 0, &g, NULL), "pal_store_graph");
        fig_model_eval(m, g, &r);
        pal_graph_destroy(g);
        mse[b] = r.test_mse;
        err[b] = r.test_error;
    }
    pal_store_destroy(st);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fig3_active_vs_passive [--trials N] [--quick] "
            "[--queries Q] [--batch B] [--n N]\n"
            "       [--test T] [--noise S] [--bandwidth H] [--lambda L] "
            "[--delta D]\n"
            "       [--dim K] [--seed S] [--png PATH] OUTDIR\n");
    exit(2);
}

static void parse(int argc, char **argv, setup_t *s)
{
    fig_setup_defaults(&s->c, 800, 3);
    s->elimination = 0;
    for (int i = 1; i < argc; i++) {
        if (fig_setup_opt(argc, argv, &i, &s->c))
            continue;
        if (fig_opt_int(argc, argv, &i, "--elimination", &s->elimination))
            continue;
        usage();
    }
    if (!fig_setup_ok(&s->c))
        usage();
}

static void write_gnuplot(const setup_t *s)
{
    FILE *f = fig_gnuplot(&s->c, 3, "fig3_active_vs_passive", 900, 560, 11);

    fprintf(f,
            "set key top right\n"
            "set grid\n"
            "set xlabel 'number of pairwise queries q'\n"
            "set ylabel 'downstream mean-square error (held out)'\n"
            "set title \"Four concentric circles, N = %lld, batches of %lld, "
            "mean +/- std over %lld trials\\n"
            "closed-form VIC^2, Gaussian kernel h = %g, lambda = %g, "
            "k = %lld\"\n"
            "set style fill transparent solid 0.25 noborder\n"
            "plot '%s/fig3.csv' using 1:($2-$3):($2+$3) with filledcurves "
            "lc rgb '#7f7f7f' notitle, \\\n"
            "     '' using 1:2 with lines lw 2 lc rgb '#7f7f7f' "
            "title 'passive: any random pair (Algorithm 2)', \\\n"
            "     '' using 1:($4-$5):($4+$5) with filledcurves "
            "lc rgb '#1f77b4' notitle, \\\n"
            "     '' using 1:4 with lines lw 2 lc rgb '#1f77b4' "
            "title 'passive: random unknown pair (PAL\\_SAMPLER\\_PASSIVE)', \\\n"
            "     '' using 1:($6-$7):($6+$7) with filledcurves "
            "lc rgb '#d62728' notitle, \\\n"
            "     '' using 1:6 with lines lw 2 lc rgb '#d62728' "
            "title 'active: captcha screens (Algorithm 3)'\n",
            (long long)s->c.n, (long long)s->c.batch, (long long)s->c.trials,
            s->c.bandwidth, s->c.lambda, (long long)s->c.dim, s->c.outdir);
    fclose(f);
}

int main(int argc, char **argv)
{
    setup_t s;
    int64_t npoints;
    fig_stat_t *mse[NORACLES], *err[NORACLES];
    double *x_train, *x_test, *trial_mse, *trial_err;
    int32_t *y_train, *y_test;
    fig_params_t p;
    FILE *csv;

    parse(argc, argv, &s);
    npoints = s.c.queries / s.c.batch + 1;
    for (int o = 0; o < NORACLES; o++) {
        mse[o] = fig_calloc((size_t)npoints, sizeof *mse[o]);
        err[o] = fig_calloc((size_t)npoints, sizeof *err[o]);
    }
    x_train = fig_calloc((size_t)(2 * s.c.n), sizeof *x_train);
    x_test = fig_calloc((size_t)(2 * s.c.test), sizeof *x_test);
    y_train = fig_calloc((size_t)s.c.n, sizeof *y_train);
    y_test = fig_calloc((size_t)s.c.test, sizeof *y_test);
    trial_mse = fig_calloc((size_t)npoints, sizeof *trial_mse);
    trial_err = fig_calloc((size_t)npoints, sizeof *trial_err);
    p = fig_setup_params(&s.c);

    for (int64_t t = 0; t < s.c.trials; t++) {
        fig_rng_t rng;
        fig_model_t m;

        fig_rng_seed(&rng, (uint64_t)s.c.seed * 1000003u + (uint64_t)t);
        fig_circles(&rng, s.c.n, NCLASSES, s.c.noise, x_train, y_train);
        fig_circles(&rng, s.c.test, NCLASSES, s.c.noise, x_test, y_test);
        fig_model_init(&m, &p, s.c.n, s.c.test, 2, x_train, y_train, x_test,
                       y_test, NCLASSES);
        for (int o = 0; o < NORACLES; o++) {
            if (o == RANDOM)
                run_random(&s, fig_rng_next(&rng), &m, y_train, npoints,
                           trial_mse, trial_err);
            else
                run_oracle(&s, o, fig_rng_next(&rng), &m, y_train, npoints,
                           trial_mse, trial_err);
            for (int64_t b = 0; b < npoints; b++) {
                fig_stat_add(&mse[o][b], trial_mse[b]);
                fig_stat_add(&err[o][b], trial_err[b]);
            }
        }
        fig_model_free(&m);
        if ((t + 1) % 10 == 0 || t + 1 == s.c.trials)
            fprintf(stderr, "fig3: %lld/%lld trials\n", (long long)(t + 1),
                    (long long)s.c.trials);
    }

    csv = fig_open(s.c.outdir, "fig3.csv");
    fprintf(csv, "queries,random_mse,random_mse_std,passive_mse,"
                 "passive_mse_std,captcha_mse,captcha_mse_std,random_error,"
                 "random_error_std,passive_error,passive_error_std,"
                 "captcha_error,captcha_error_std\n");
    for (int64_t b = 0; b < npoints; b++) {
        fprintf(csv, "%lld", (long long)(b * s.c.batch));
        for (int o = 0; o < NORACLES; o++)
            fprintf(csv, ",%.6f,%.6f", fig_stat_mean(&mse[o][b]),
                    fig_stat_std(&mse[o][b]));
        for (int o = 0; o < NORACLES; o++)
            fprintf(csv, ",%.6f,%.6f", fig_stat_mean(&err[o][b]),
                    fig_stat_std(&err[o][b]));
        fprintf(csv, "\n");
    }
    fclose(csv);
    write_gnuplot(&s);

    printf("Fig. 3: four circles, N = %lld, %lld held out, batches of %lld, "
           "%lld trials\n",
           (long long)s.c.n, (long long)s.c.test, (long long)s.c.batch,
           (long long)s.c.trials);
    printf("Gaussian kernel h = %g, lambda = %g, delta = %g, k = %lld\n\n",
           s.c.bandwidth, s.c.lambda, s.c.delta, (long long)s.c.dim);
    printf("%8s  %-22s  %-22s  %-22s\n", "queries", "random MSE (error)",
           "passive MSE (error)", "captcha MSE (error)");
    for (int64_t b = 0; b < npoints; b++) {
        int64_t q = b * s.c.batch;

        if (q % 50 != 0 && b != npoints - 1)
            continue;
        printf("%8lld", (long long)q);
        for (int o = 0; o < NORACLES; o++)
            printf("  %5.3f +- %5.3f (%4.1f%%)", fig_stat_mean(&mse[o][b]),
                   fig_stat_std(&mse[o][b]),
                   100.0 * fig_stat_mean(&err[o][b]));
        printf("\n");
    }

    /* The claim, in numbers: queries each oracle needs before its mean
     * error comes within 10% of the way from start to the best value
     * either reaches. */
    {
        double start = fig_stat_mean(&mse[RANDOM][0]), floor_ = start;

        for (int o = 0; o < NORACLES; o++)
            for (int64_t b = 0; b < npoints; b++)
                if (fig_stat_mean(&mse[o][b]) < floor_)
                    floor_ = fig_stat_mean(&mse[o][b]);
        printf("\nqueries until the mean MSE is below %.3f (floor %.3f "
               "+ 10%% of the drop from %.3f):\n",
               floor_ + 0.1 * (start - floor_), floor_, start);
        for (int o = 0; o < NORACLES; o++) {
            int64_t b = 0;

            while (b < npoints &&
                   fig_stat_mean(&mse[o][b]) > floor_ + 0.1 * (start - floor_))
                b++;
            if (b < npoints)
                printf("  %-8s %lld\n", oracle_names[o],
                       (long long)(b * s.c.batch));
            else
                printf("  %-8s not within %lld queries\n", oracle_names[o],
                       (long long)s.c.queries);
        }
    }

    for (int o = 0; o < NORACLES; o++) {
        free(mse[o]);
        free(err[o]);
    }
    free(x_train);
    free(x_test);
    free(y_train);
    free(y_test);
    free(trial_mse);
    free(trial_err);
    return 0;
}
