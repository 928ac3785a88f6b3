/*
 * The paper's Fig. 9: downstream error against the number of connected
 * components of the reconstructed (known) graph. As positive relations
 * are revealed, must-link components merge, from N singletons down to
 * one component per class; the closed-form VIC^2 embedding of the known
 * graph is measured at every component count on the way.
 *
 * The setting is Fig. 3's: four concentric circles in R^2 (radii 1 to 4,
 * class uniform, radial noise 0.1), N = 100 items and 500 held out,
 * Gaussian kernel h = 0.5, lambda = 3, delta = 1e-6, k = 4, least-squares
 * linear probe fitted on the 100 items with their true labels. Three
 * ways of revealing the graph, each feeding a knowledge store:
 *   edges    true same-class pairs, one at a time, in a uniformly random
 *            order (no "different" answer is ever given);
 *   passive  libpal's passive oracle (PAL_SAMPLER_PASSIVE), one random
 *            unknown pair per query, answered from the true labels;
 *   captcha  libpal's captcha oracle (PAL_SAMPLER_CAPTCHA), screens of
 *            10 uniform candidates.
 * The known graph is the store's non-contrastive graph (pal_store_graph,
 * flags 0: 1 within a component, 0 elsewhere). For a count c, a run is
 * measured at the first moment its store has c components or fewer (a
 * captcha screen can merge several items at once, so a run may jump over
 * some counts; it is then measured at the state that jumped past them).
 * Mean and standard deviation over 100 trials.
 *
 * Usage: fig9_components [options] OUTDIR
 *   writes OUTDIR/fig9.csv and OUTDIR/fig9.gp (which renders the PNG
 *   named by --png, default OUTDIR/fig9.png), prints the table on stdout
 *   and one progress line per 10 trials on stderr.
 * Options (defaults in brackets): --trials [100] --quick (10 trials)
 *   --batch [10] (captcha screen size) --n [100] --test [500]
 *   --noise [0.1] --bandwidth [0.5] --lambda [3] --delta [1e-6] --dim [4]
 *   --seed [9] --png PATH
 */
#include <stdlib.h>
#include <string.h>

#include "figcommon.h"

#define NCLASSES 4

enum { EDGES, PASSIVE, CAPTCHA, NPROC };

static const char *const proc_names[NPROC] = {"edges", "passive",
                                              "captcha"};

typedef struct setup {
    fig_setup_t c;
} setup_t;

/* One run's measurements, indexed by component count c in [1, n]. */
typedef struct run {
    double *mse, *err, *queries;
    unsigned char *seen;    /* the run went down to c or below */
    unsigned char *exact;   /* the run had exactly c components */
} run_t;

static int64_t components(const pal_store_t *st)
{
    pal_store_stats_t stats;

    memset(&stats, 0, sizeof stats);
    stats.size = sizeof stats;
    fig_check(pal_store_stats(st, &stats), "pal_store_stats");
    return stats.components;
}

/* Measure the store's known graph, which has comps components, and
 * record it for every count from comps up to (not including) *last, the
 * count measured before: the first state at or below each count. */
static void record(fig_model_t *m, const pal_store_t *st, int64_t comps,
                   int64_t queries, int64_t *last, run_t *run)
{
    pal_graph_t *g;
    fig_result_t r;

    fig_check(pal_store_graph(st, 0, &g, NULL), "pal_store_graph");
    fig_model_eval(m, g, &r);
    pal_graph_destroy(g);
    for (int64_t c = comps; c < *last; c++) {
        run->mse[c] = r.test_mse;
        run->err[c] = r.test_error;
        run->queries[c] = (double)queries;
        run->seen[c] = 1;
    }
    run->exact[comps] = 1;
    *last = comps;
}

/* True same-class pairs revealed one by one, in a random order. */
static void run_edges(const setup_t *s, uint64_t seed, fig_model_t *m,
                      const int32_t *y, int64_t floor_, run_t *run)
{
    int64_t n = s->c.n, npairs = 0, last = n + 1, comps = n;
    int64_t *pairs = fig_calloc((size_t)(n * (n - 1) / 2), sizeof *pairs);
    pal_store_t *st;
    fig_rng_t rng;

    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++)
            if (y[i] == y[j])
                pairs[npairs++] = i * n + j;
    fig_rng_seed(&rng, seed);
    fig_shuffle(&rng, npairs, pairs);
    fig_check(pal_store_create(&st, n, NULL), "pal_store_create");
    record(m, st, comps, 0, &last, run);
    for (int64_t k = 0; k < npairs && comps > floor_; k++) {
        fig_check(pal_store_answer(st, pairs[k] / n, pairs[k] % n,
                                   PAL_ANSWER_SAME, NULL, NULL),
                  "pal_store_answer");
        comps = components(st);
        if (comps < last)
            record(m, st, comps, k + 1, &last, run);
    }
    pal_store_destroy(st);
    free(pairs);
}

/* An oracle answered from the true labels, one step at a time. */
static void run_oracle(const setup_t *s, int which, uint64_t seed,
                       fig_model_t *m, int32_t *y, int64_t floor_,
                       run_t *run)
{
    pal_oracle_opts_t opts;
    pal_oracle_costs_t costs;
    pal_oracle_t *o;
    int64_t last = s->c.n + 1, comps = s->c.n;
    int rc = PAL_OK;

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
    record(m, pal_oracle_store(o), comps, 0, &last, run);
    while (rc != PAL_DONE && comps > floor_) {
        rc = pal_oracle_step(o, NULL);
        fig_check(rc, "pal_oracle_step");
        comps = components(pal_oracle_store(o));
        if (comps < last) {
            fig_oracle_costs(o, &costs);
            record(m, pal_oracle_store(o), comps, costs.answers, &last, run);
        }
    }
    pal_oracle_destroy(o);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fig9_components [--trials N] [--quick] [--batch B] "
            "[--n N] [--test T]\n"
            "       [--noise S] [--bandwidth H] [--lambda L] [--delta D] "
            "[--dim K] [--seed S]\n"
            "       [--png PATH] OUTDIR\n");
    exit(2);
}

static void parse(int argc, char **argv, setup_t *s)
{
    fig_setup_defaults(&s->c, 0, 9);
    for (int i = 1; i < argc; i++) {
        /* Runs go on until the graph is complete: no query budget. */
        if (strcmp(argv[i], "--queries") == 0)
            usage();
        if (fig_setup_opt(argc, argv, &i, &s->c))
            continue;
        usage();
    }
    if (!fig_setup_ok(&s->c))
        usage();
}

static void write_gnuplot(const setup_t *s)
{
    FILE *f = fig_gnuplot(&s->c, 9, "fig9_components", 900, 560, 11);

    fprintf(f,
            "set key top left\n"
            "set grid\n"
            "set logscale x\n"
            "set xrange [%d:%lld]\n"
            "set xtics (4, 5, 6, 8, 10, 15, 20, 30, 40, 60, 100)\n"
            "set xlabel 'connected components of the known graph'\n"
            "set ylabel 'downstream mean-square error (held out)'\n"
            "set title \"Error against the components of the known graph: "
            "four circles (C = %d), N = %lld\\n"
            "mean +/- std over %lld trials, closed-form VIC^2, h = %g, "
            "lambda = %g, k = %lld\"\n"
            "set style fill transparent solid 0.2 noborder\n"
            "plot '%s/fig9.csv' using 1:($2-$3):($2+$3) with filledcurves "
            "lc rgb '#2ca02c' notitle, \\\n"
            "     '' using 1:2 with lines lw 2 lc rgb '#2ca02c' "
            "title 'random true same-class pairs', \\\n"
            "     '' using 1:($8-$9):($8+$9) with filledcurves "
            "lc rgb '#1f77b4' notitle, \\\n"
            "     '' using 1:8 with lines lw 2 lc rgb '#1f77b4' "
            "title 'passive oracle (random unknown pairs)', \\\n"
            "     '' using 1:($14-$15):($14+$15) with filledcurves "
            "lc rgb '#d62728' notitle, \\\n"
            "     '' using 1:14 with lines lw 2 lc rgb '#d62728' "
            "title 'captcha oracle (screens of %lld; first state at or "
            "below)'\n",
            NCLASSES, (long long)s->c.n, NCLASSES,
            (long long)s->c.n, (long long)s->c.trials, s->c.bandwidth,
            s->c.lambda, (long long)s->c.dim, s->c.outdir,
            (long long)s->c.batch);
    fclose(f);
}

int main(int argc, char **argv)
{
    enum { MSE, ERR, QUERIES, NSTAT };
    setup_t s;
    int64_t n;
    fig_stat_t *st[NPROC][NSTAT];
    int64_t *exact[NPROC];
    run_t run;
    double *x_train, *x_test;
    int32_t *y_train, *y_test;
    fig_params_t p;
    FILE *csv;

    parse(argc, argv, &s);
    n = s.c.n;
    for (int k = 0; k < NPROC; k++) {
        for (int j = 0; j < NSTAT; j++)
            st[k][j] = fig_calloc((size_t)(n + 1), sizeof *st[k][j]);
        exact[k] = fig_calloc((size_t)(n + 1), sizeof *exact[k]);
    }
    run.mse = fig_calloc((size_t)(n + 1), sizeof *run.mse);
    run.err = fig_calloc((size_t)(n + 1), sizeof *run.err);
    run.queries = fig_calloc((size_t)(n + 1), sizeof *run.queries);
    run.seen = fig_calloc((size_t)(n + 1), sizeof *run.seen);
    run.exact = fig_calloc((size_t)(n + 1), sizeof *run.exact);
    x_train = fig_calloc((size_t)(2 * n), sizeof *x_train);
    x_test = fig_calloc((size_t)(2 * s.c.test), sizeof *x_test);
    y_train = fig_calloc((size_t)n, sizeof *y_train);
    y_test = fig_calloc((size_t)s.c.test, sizeof *y_test);
    p = fig_setup_params(&s.c);

    for (int64_t t = 0; t < s.c.trials; t++) {
        fig_rng_t rng;
        fig_model_t m;
        int64_t classes = 0;
        int present[NCLASSES] = {0};

        fig_rng_seed(&rng, (uint64_t)s.c.seed * 1000003u + (uint64_t)t);
        fig_circles(&rng, n, NCLASSES, s.c.noise, x_train, y_train);
        fig_circles(&rng, s.c.test, NCLASSES, s.c.noise, x_test, y_test);
        for (int64_t i = 0; i < n; i++)
            present[y_train[i]] = 1;
        for (int c = 0; c < NCLASSES; c++)
            classes += present[c];
        fig_model_init(&m, &p, n, s.c.test, 2, x_train, y_train, x_test,
                       y_test, NCLASSES);
        for (int k = 0; k < NPROC; k++) {
            uint64_t seed = fig_rng_next(&rng);

            memset(run.seen, 0, (size_t)(n + 1));
            memset(run.exact, 0, (size_t)(n + 1));
            if (k == EDGES)
                run_edges(&s, seed, &m, y_train, classes, &run);
            else
                run_oracle(&s, k, seed, &m, y_train, classes, &run);
            for (int64_t c = 1; c <= n; c++) {
                if (run.seen[c]) {
                    fig_stat_add(&st[k][MSE][c], run.mse[c]);
                    fig_stat_add(&st[k][ERR][c], run.err[c]);
                    fig_stat_add(&st[k][QUERIES][c], run.queries[c]);
                }
                exact[k][c] += run.exact[c];
            }
        }
        fig_model_free(&m);
        if ((t + 1) % 10 == 0 || t + 1 == s.c.trials)
            fprintf(stderr, "fig9: %lld/%lld trials\n", (long long)t + 1,
                    (long long)s.c.trials);
    }

    /* Counts every trial reached (all of them but those below the number
     * of classes a sample happened to miss); exact: trials that held that
     * very count at some point. */
    csv = fig_open(s.c.outdir, "fig9.csv");
    fprintf(csv, "components");
    for (int k = 0; k < NPROC; k++)
        fprintf(csv,
                ",%s_mse,%s_mse_std,%s_error,%s_error_std,%s_queries,"
                "%s_exact",
                proc_names[k], proc_names[k], proc_names[k], proc_names[k],
                proc_names[k], proc_names[k]);
    fprintf(csv, "\n");
    for (int64_t c = 1; c <= n; c++) {
        if (st[EDGES][MSE][c].count == 0)
            continue;
        fprintf(csv, "%lld", (long long)c);
        for (int k = 0; k < NPROC; k++)
            fprintf(csv, ",%.6f,%.6f,%.6f,%.6f,%.1f,%lld",
                    fig_stat_mean(&st[k][MSE][c]),
                    fig_stat_std(&st[k][MSE][c]),
                    fig_stat_mean(&st[k][ERR][c]),
                    fig_stat_std(&st[k][ERR][c]),
                    fig_stat_mean(&st[k][QUERIES][c]),
                    (long long)exact[k][c]);
        fprintf(csv, "\n");
    }
    fclose(csv);
    write_gnuplot(&s);

    printf("Fig. 9: four circles, N = %lld, %lld held out, captcha screens "
           "of %lld, %lld trials\n",
           (long long)n, (long long)s.c.test, (long long)s.c.batch,
           (long long)s.c.trials);
    printf("Gaussian kernel h = %g, lambda = %g, delta = %g, k = %lld\n",
           s.c.bandwidth, s.c.lambda, s.c.delta, (long long)s.c.dim);
    printf("mean MSE (classification error) [pairs revealed or answers "
           "given so far]\n");
    printf("captcha: the first state at or below the count (a screen may "
           "merge several items);\nexact: trials that held exactly that "
           "count\n\n");
    printf("%10s  %-25s  %-25s  %-25s  %s\n", "components",
           "random same pairs", "passive oracle", "captcha oracle", "exact");
    for (int64_t c = n; c >= 1; c--) {
        static const int64_t show[] = {100, 80, 60, 40, 30, 20, 15, 10, 8,
                                       6, 5, 4, 3, 2, 1};
        int shown = 0;

        for (size_t j = 0; j < sizeof show / sizeof show[0]; j++)
            shown |= show[j] == c;
        if ((!shown && c != n) || st[EDGES][MSE][c].count == 0)
            continue;
        printf("%10lld", (long long)c);
        for (int k = 0; k < NPROC; k++)
            printf("  %5.3f (%4.1f%%) [%5.1f]  ",
                   fig_stat_mean(&st[k][MSE][c]),
                   100.0 * fig_stat_mean(&st[k][ERR][c]),
                   fig_stat_mean(&st[k][QUERIES][c]));
        printf("%5lld\n", (long long)exact[CAPTCHA][c]);
    }

    for (int k = 0; k < NPROC; k++) {
        for (int j = 0; j < NSTAT; j++)
            free(st[k][j]);
        free(exact[k]);
    }
    free(run.mse);
    free(run.err);
    free(run.queries);
    free(run.seen);
    free(run.exact);
    free(x_train);
    free(x_test);
    free(y_train);
    free(y_test);
    return 0;
}
