/*
 * The paper's Fig. 7: the non-contrastive known graph (G_ij = 1 between
 * items known to match, 0 elsewhere) against the contrastive one (also
 * G_ij = -1 between items known to differ), measured by the downstream
 * error of the closed-form VIC^2 embedding as queries are spent.
 *
 * The setting is Fig. 3's: four concentric circles in R^2 (radii 1 to 4,
 * class uniform, radial noise 0.1), N = 100 items asked about and 500
 * held out, Gaussian kernel h = 0.5, lambda = 3, delta = 1e-6, k = 4,
 * least-squares linear probe fitted on the 100 items with their labels.
 * Two oracles ask (libpal's passive sampler, one random unknown pair per
 * query, and the captcha sampler, screens of 10); after every 10 answers
 * the same store gives both graphs (pal_store_graph with flags 0 and with
 * PAL_STORE_CONTRASTIVE), so the two curves of an oracle see exactly the
 * same answers and differ only in the graph. Mean and standard deviation
 * over 100 trials.
 *
 * Usage: fig7_contrastive [options] OUTDIR
 *   writes OUTDIR/fig7.csv and OUTDIR/fig7.gp (which renders the PNG
 *   named by --png, default OUTDIR/fig7.png), prints the table on stdout
 *   and one progress line per 10 trials on stderr.
 * Options (defaults in brackets): --trials [100] --quick (10 trials)
 *   --queries [600] --batch [10] --n [100] --test [500] --noise [0.1]
 *   --bandwidth [0.5] --lambda [3] --delta [1e-6] --dim [4] --seed [7]
 *   --png PATH
 */
#include <stdlib.h>
#include <string.h>

#include "figcommon.h"

#define NCLASSES 4

enum { PASSIVE, CAPTCHA, NORACLES };
enum { PLAIN, CONTRASTIVE, NGRAPHS };
#define NCURVES (NORACLES * NGRAPHS)

static const char *const curve_names[NCURVES] = {
    "passive_plain", "passive_contrastive", "captcha_plain",
    "captcha_contrastive"};

typedef struct setup {
    fig_setup_t c;
} setup_t;

static void measure(fig_model_t *m, const pal_oracle_t *o, unsigned flags,
                    fig_result_t *r)
{
    pal_graph_t *g;

    fig_check(pal_store_graph(pal_oracle_store(o), flags, &g, NULL),
              "pal_store_graph");
    fig_model_eval(m, g, r);
    pal_graph_destroy(g);
}

/* One trial of one oracle: mse[g][b], err[g][b] for both graphs g after
 * b batches of answers. */
static void run_oracle(const setup_t *s, int which, uint64_t seed,
                       fig_model_t *m, int32_t *y, int64_t npoints,
                       double *mse[NGRAPHS], double *err[NGRAPHS])
{
    pal_oracle_opts_t opts;
    pal_oracle_costs_t costs;
    pal_oracle_t *o;
    fig_result_t r[NGRAPHS];
    int done = 0, final = 0;

    pal_oracle_opts_init(&opts);
    opts.seed = seed;
    if (which == PASSIVE) {
        opts.sampler = PAL_SAMPLER_PASSIVE;
    } else {
        opts.sampler = PAL_SAMPLER_CAPTCHA;
        opts.screen_size = s->c.batch;
        opts.candidates = PAL_CANDIDATES_UNIFORM;
    }
    fig_check(pal_oracle_create(&o, s->c.n, &opts, NULL), "pal_oracle_create");
    fig_check(pal_oracle_set_labeler(o, fig_truth_labeler, y),
              "pal_oracle_set_labeler");
    for (int64_t b = 0; b < npoints; b++) {
        for (;;) {
            int rc;

            fig_oracle_costs(o, &costs);
            if (done || costs.answers >= b * s->c.batch)
                break;
            rc = pal_oracle_step(o, NULL);
            fig_check(rc, "pal_oracle_step");
            done = rc == PAL_DONE;
        }
        if (!final) {
            measure(m, o, 0, &r[PLAIN]);
            measure(m, o, PAL_STORE_CONTRASTIVE, &r[CONTRASTIVE]);
        }
        final = done;
        for (int g = 0; g < NGRAPHS; g++) {
            mse[g][b] = r[g].test_mse;
            err[g][b] = r[g].test_error;
        }
    }
    pal_oracle_destroy(o);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fig7_contrastive [--trials N] [--quick] [--queries Q] "
            "[--batch B] [--n N]\n"
            "       [--test T] [--noise S] [--bandwidth H] [--lambda L] "
            "[--delta D]\n"
            "       [--dim K] [--seed S] [--png PATH] OUTDIR\n");
    exit(2);
}

static void parse(int argc, char **argv, setup_t *s)
{
    fig_setup_defaults(&s->c, 600, 7);
    for (int i = 1; i < argc; i++) {
        if (fig_setup_opt(argc, argv, &i, &s->c))
            continue;
        usage();
    }
    if (!fig_setup_ok(&s->c))
        usage();
}

static void write_gnuplot(const setup_t *s)
{
    FILE *f = fig_gnuplot(&s->c, 7, "fig7_contrastive", 900, 560, 11);

    fprintf(f,
            "set key top right\n"
            "set grid\n"
            "set xlabel 'number of pairwise queries q'\n"
            "set ylabel 'downstream mean-square error (held out)'\n"
            "set title \"Non-contrastive (G in {0,1}) and contrastive "
            "(-1 between known-different) graphs\\n"
            "four circles, N = %lld, batches of %lld, mean +/- std over "
            "%lld trials, h = %g, lambda = %g, k = %lld\"\n"
            "set style fill transparent solid 0.2 noborder\n"
            "plot '%s/fig7.csv' using 1:($2-$3):($2+$3) with filledcurves "
            "lc rgb '#1f77b4' notitle, \\\n"
            "     '' using 1:2 with lines lw 2 dt 2 lc rgb '#1f77b4' "
            "title 'passive, non-contrastive', \\\n"
            "     '' using 1:($4-$5):($4+$5) with filledcurves "
            "lc rgb '#17becf' notitle, \\\n"
            "     '' using 1:4 with lines lw 2 lc rgb '#17becf' "
            "title 'passive, contrastive', \\\n"
            "     '' using 1:($6-$7):($6+$7) with filledcurves "
            "lc rgb '#d62728' notitle, \\\n"
            "     '' using 1:6 with lines lw 2 dt 2 lc rgb '#d62728' "
            "title 'captcha, non-contrastive', \\\n"
            "     '' using 1:($8-$9):($8+$9) with filledcurves "
            "lc rgb '#ff7f0e' notitle, \\\n"
            "     '' using 1:8 with lines lw 2 lc rgb '#ff7f0e' "
            "title 'captcha, contrastive'\n",
            (long long)s->c.n, (long long)s->c.batch, (long long)s->c.trials,
            s->c.bandwidth, s->c.lambda, (long long)s->c.dim, s->c.outdir);
    fclose(f);
}

/* First budget at which curve c's mean is below level, or -1. */
static int64_t first_below(fig_stat_t *const *mse, int c, int64_t npoints,
                           double level)
{
    for (int64_t b = 0; b < npoints; b++)
        if (fig_stat_mean(&mse[c][b]) <= level)
            return b;
    return -1;
}

int main(int argc, char **argv)
{
    setup_t s;
    int64_t npoints;
    fig_stat_t *mse[NCURVES], *err[NCURVES];
    double *x_train, *x_test, *tm[NGRAPHS], *te[NGRAPHS];
    int32_t *y_train, *y_test;
    fig_params_t p;
    FILE *csv;

    parse(argc, argv, &s);
    npoints = s.c.queries / s.c.batch + 1;
    for (int c = 0; c < NCURVES; c++) {
        mse[c] = fig_calloc((size_t)npoints, sizeof *mse[c]);
        err[c] = fig_calloc((size_t)npoints, sizeof *err[c]);
    }
    for (int g = 0; g < NGRAPHS; g++) {
        tm[g] = fig_calloc((size_t)npoints, sizeof *tm[g]);
        te[g] = fig_calloc((size_t)npoints, sizeof *te[g]);
    }
    x_train = fig_calloc((size_t)(2 * s.c.n), sizeof *x_train);
    x_test = fig_calloc((size_t)(2 * s.c.test), sizeof *x_test);
    y_train = fig_calloc((size_t)s.c.n, sizeof *y_train);
    y_test = fig_calloc((size_t)s.c.test, sizeof *y_test);
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
            run_oracle(&s, o, fig_rng_next(&rng), &m, y_train, npoints, tm,
                       te);
            for (int g = 0; g < NGRAPHS; g++)
                for (int64_t b = 0; b < npoints; b++) {
                    fig_stat_add(&mse[o * NGRAPHS + g][b], tm[g][b]);
                    fig_stat_add(&err[o * NGRAPHS + g][b], te[g][b]);
                }
        }
        fig_model_free(&m);
        if ((t + 1) % 10 == 0 || t + 1 == s.c.trials)
            fprintf(stderr, "fig7: %lld/%lld trials\n", (long long)(t + 1),
                    (long long)s.c.trials);
    }

    csv = fig_open(s.c.outdir, "fig7.csv");
    fprintf(csv, "queries");
    for (int c = 0; c < NCURVES; c++)
        fprintf(csv, ",%s_mse,%s_mse_std", curve_names[c], curve_names[c]);
    for (int c = 0; c < NCURVES; c++)
        fprintf(csv, ",%s_error,%s_error_std", curve_names[c],
                curve_names[c]);
    fprintf(csv, "\n");
    for (int64_t b = 0; b < npoints; b++) {
        fprintf(csv, "%lld", (long long)(b * s.c.batch));
        for (int c = 0; c < NCURVES; c++)
            fprintf(csv, ",%.6f,%.6f", fig_stat_mean(&mse[c][b]),
                    fig_stat_std(&mse[c][b]));
        for (int c = 0; c < NCURVES; c++)
            fprintf(csv, ",%.6f,%.6f", fig_stat_mean(&err[c][b]),
                    fig_stat_std(&err[c][b]));
        fprintf(csv, "\n");
    }
    fclose(csv);
    write_gnuplot(&s);

    printf("Fig. 7: four circles, N = %lld, %lld held out, batches of %lld, "
           "%lld trials\n",
           (long long)s.c.n, (long long)s.c.test, (long long)s.c.batch,
           (long long)s.c.trials);
    printf("Gaussian kernel h = %g, lambda = %g, delta = %g, k = %lld\n",
           s.c.bandwidth, s.c.lambda, s.c.delta, (long long)s.c.dim);
    printf("plain: G in {0, 1}; contr.: also -1 between known-different "
           "components\n\n");
    printf("%8s  %-20s  %-20s  %-20s  %-20s\n", "queries",
           "passive plain", "passive contr.", "captcha plain",
           "captcha contr.");
    for (int64_t b = 0; b < npoints; b++) {
        int64_t q = b * s.c.batch;

        if (q % 50 != 0 && b != npoints - 1)
            continue;
        printf("%8lld", (long long)q);
        for (int c = 0; c < NCURVES; c++)
            printf("  %5.3f (%5.1f%%)      ", fig_stat_mean(&mse[c][b]),
                   100.0 * fig_stat_mean(&err[c][b]));
        printf("\n");
    }

    /* The comparison in numbers: queries until each curve's mean comes
     * within 10% of the drop from the start to the best value reached. */
    {
        double start = fig_stat_mean(&mse[0][0]), floor_ = start, level;

        for (int c = 0; c < NCURVES; c++)
            for (int64_t b = 0; b < npoints; b++)
                if (fig_stat_mean(&mse[c][b]) < floor_)
                    floor_ = fig_stat_mean(&mse[c][b]);
        level = floor_ + 0.1 * (start - floor_);
        printf("\nqueries until the mean MSE is below %.3f (floor %.3f "
               "+ 10%% of the drop from %.3f):\n",
               level, floor_, start);
        for (int c = 0; c < NCURVES; c++) {
            int64_t b = first_below(mse, c, npoints, level);

            if (b >= 0)
                printf("  %-20s %lld\n", curve_names[c],
                       (long long)(b * s.c.batch));
            else
                printf("  %-20s not within %lld queries\n", curve_names[c],
                       (long long)s.c.queries);
        }
    }

    for (int c = 0; c < NCURVES; c++) {
        free(mse[c]);
        free(err[c]);
    }
    for (int g = 0; g < NGRAPHS; g++) {
        free(tm[g]);
        free(te[g]);
    }
    free(x_train);
    free(x_test);
    free(y_train);
    free(y_test);
    return 0;
}
