/*
 * The paper's Fig. 8: robustness to a labeler that gets answers wrong.
 * Each pairwise answer of the labeler is flipped (same <-> different)
 * with probability p, independently and seeded, and the downstream error
 * of the closed-form VIC^2 embedding of the known graph is followed as
 * queries are spent, for several p.
 *
 * The setting is Fig. 3's: four concentric circles in R^2 (radii 1 to 4,
 * class uniform, radial noise 0.1), N = 100 items asked about and 500
 * held out, Gaussian kernel h = 0.5, lambda = 3, delta = 1e-6, k = 4,
 * least-squares linear probe fitted on the 100 items with their true
 * labels. Two oracles ask: libpal's passive sampler (one random unknown
 * pair per query) and the captcha sampler (screens of 10). The graph is
 * the store's non-contrastive known graph (pal_store_graph, flags 0),
 * deductions included, so a wrong answer spreads to every pair it
 * decides. Mean and standard deviation over 100 trials; for every p the
 * oracle and data seeds are the same, only the flips differ.
 *
 * At the end of the budget the program also reports, per oracle and p,
 * the flips made, the conflicts the store counted (answers that
 * contradicted what it already knew; the store keeps the first answer and
 * ignores the contradicting one), the classes (captcha) or components
 * (passive) found, and the share of known pairs whose relation is wrong.
 *
 * Usage: fig8_noisy_labeler [options] OUTDIR
 *   writes OUTDIR/fig8.csv and OUTDIR/fig8.gp (which renders the PNG
 *   named by --png, default OUTDIR/fig8.png), prints the tables on stdout
 *   and one progress line per 10 trials on stderr.
 * Options (defaults in brackets): --trials [100] --quick (10 trials)
 *   --queries [400] --batch [10] --n [100] --test [500] --noise [0.1]
 *   --bandwidth [0.5] --lambda [3] --delta [1e-6] --dim [4] --seed [8]
 *   --flips [0,0.05,0.1,0.2] (up to 8 probabilities) --png PATH
 */
#include <stdlib.h>
#include <string.h>

#include "figcommon.h"

#define NCLASSES 4
#define MAXP 8

enum { PASSIVE, CAPTCHA, NORACLES };

static const char *const oracle_names[NORACLES] = {"passive", "captcha"};

/* The graph measured: the store's (deductions included), or the answers
 * alone. */
enum { KNOWN, ANSWERED, NGRAPHS };

static const char *const graph_names[NGRAPHS] = {"known", "answered"};

typedef struct setup {
    fig_setup_t c;
    double flip[MAXP];
    int nflip;
} setup_t;

/* The noisy labeler: the truth, each answer flipped with probability p. */
typedef struct noisy {
    const int32_t *y;
    double p;
    fig_rng_t rng;
    int64_t flips;
} noisy_t;

static int noisy_labeler(void *user, int64_t anchor, int64_t m,
                         const int64_t *candidates, pal_answer_t *answers)
{
    noisy_t *nl = user;

    fig_truth_labeler((void *)nl->y, anchor, m, candidates, answers);
    for (int64_t c = 0; c < m; c++)
        if (fig_uniform(&nl->rng) < nl->p) {
            answers[c] = answers[c] == PAL_ANSWER_SAME ? PAL_ANSWER_DIFFERENT
                                                       : PAL_ANSWER_SAME;
            nl->flips++;
        }
    return 0;
}

/* What the store holds at the end of a run. */
typedef struct final_state {
    double flips, conflicts, classes, known, wrong;
} final_state_t;

/* The store's known graph, deductions included. */
static void measure_known(fig_model_t *m, const pal_oracle_t *o,
                          fig_result_t *r)
{
    pal_graph_t *g;

    fig_check(pal_store_graph(pal_oracle_store(o), 0, &g, NULL),
              "pal_store_graph");
    fig_model_eval(m, g, r);
    pal_graph_destroy(g);
}

/* The graph of the answers alone, read from the store's answer log:
 * G_ij = 1 for a pair answered "same" (the last answer about a pair
 * counts), G_ii = 1, 0 elsewhere; nothing deduced. dense: n x n. */
static void measure_answered(fig_model_t *m, const pal_oracle_t *o,
                             int64_t n, double *dense, fig_result_t *r)
{
    const pal_store_t *st = pal_oracle_store(o);
    pal_store_stats_t stats;
    pal_graph_t *g;

    memset(&stats, 0, sizeof stats);
    stats.size = sizeof stats;
    fig_check(pal_store_stats(st, &stats), "pal_store_stats");
    memset(dense, 0, (size_t)(n * n) * sizeof *dense);
    for (int64_t i = 0; i < n; i++)
        dense[i * n + i] = 1.0;
    for (int64_t k = 0; k < stats.answers; k++) {
        int64_t i, j;
        pal_answer_t a;

        fig_check(pal_store_log_entry(st, k, &i, &j, &a),
                  "pal_store_log_entry");
        if (i == j || a == PAL_ANSWER_UNSURE)
            continue;
        dense[i * n + j] = dense[j * n + i] = a == PAL_ANSWER_SAME;
    }
    fig_check(pal_graph_create(&g, n, NULL), "pal_graph_create");
    fig_check(pal_graph_add_dense(g, 1.0, PAL_F64, dense, n, 0),
              "pal_graph_add_dense");
    fig_model_eval(m, g, r);
    pal_graph_destroy(g);
}

/* Known pairs, and those whose known relation contradicts the truth. */
static void count_wrong(const pal_store_t *st, const int32_t *y, int64_t n,
                        double *known, double *wrong)
{
    int64_t k = 0, w = 0;

    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            pal_relation_t rel;

            fig_check(pal_store_relation(st, i, j, &rel),
                      "pal_store_relation");
            if (rel == PAL_REL_UNKNOWN)
                continue;
            k++;
            w += (rel == PAL_REL_SAME) != (y[i] == y[j]);
        }
    *known = (double)k;
    *wrong = (double)w;
}

/* One trial of one oracle at flip probability p. */
static void run_oracle(const setup_t *s, int which, uint64_t seed,
                       uint64_t flip_seed, double p, fig_model_t *m,
                       const int32_t *y, int64_t npoints,
                       double *mse[NGRAPHS], double *err[NGRAPHS],
                       double *dense, final_state_t *fin)
{
    pal_oracle_opts_t opts;
    pal_oracle_costs_t costs;
    pal_store_stats_t stats;
    pal_oracle_t *o;
    noisy_t nl;
    fig_result_t r[NGRAPHS];
    int done = 0, final = 0;

    nl.y = y;
    nl.p = p;
    nl.flips = 0;
    fig_rng_seed(&nl.rng, flip_seed);
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
    fig_check(pal_oracle_set_labeler(o, noisy_labeler, &nl),
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
            measure_known(m, o, &r[KNOWN]);
            measure_answered(m, o, s->c.n, dense, &r[ANSWERED]);
        }
        final = done;
        for (int g = 0; g < NGRAPHS; g++) {
            mse[g][b] = r[g].test_mse;
            err[g][b] = r[g].test_error;
        }
    }

    fig_oracle_costs(o, &costs);
    memset(&stats, 0, sizeof stats);
    stats.size = sizeof stats;
    fig_check(pal_store_stats(pal_oracle_store(o), &stats), "pal_store_stats");
    fin->flips = (double)nl.flips;
    fin->conflicts = (double)costs.conflicts;
    fin->classes = which == CAPTCHA ? (double)costs.classes
                                    : (double)stats.components;
    count_wrong(pal_oracle_store(o), y, s->c.n, &fin->known, &fin->wrong);
    pal_oracle_destroy(o);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fig8_noisy_labeler [--trials N] [--quick] [--queries Q] "
            "[--batch B] [--n N]\n"
            "       [--test T] [--noise S] [--bandwidth H] [--lambda L] "
            "[--delta D]\n"
            "       [--dim K] [--seed S] [--flips P1,P2,...] [--png PATH] "
            "OUTDIR\n");
    exit(2);
}

static void parse_flips(const char *arg, setup_t *s)
{
    const char *p = arg;

    s->nflip = 0;
    while (*p) {
        char *end;
        double v = strtod(p, &end);

        if (end == p || v < 0 || v > 1 || s->nflip == MAXP ||
            (*end != ',' && *end != '\0'))
            usage();
        s->flip[s->nflip++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    if (s->nflip == 0)
        usage();
}

static void parse(int argc, char **argv, setup_t *s)
{
    fig_setup_defaults(&s->c, 400, 8);
    parse_flips("0,0.05,0.1,0.2", s);
    for (int i = 1; i < argc; i++) {
        if (fig_setup_opt(argc, argv, &i, &s->c))
            continue;
        if (strcmp(argv[i], "--flips") == 0 && i + 1 < argc) {
            parse_flips(argv[++i], s);
            continue;
        }
        usage();
    }
    if (!fig_setup_ok(&s->c))
        usage();
}

/* Index of the curve of oracle o, graph g, flip probability k. */
static int curve(const setup_t *s, int o, int g, int k)
{
    return (o * NGRAPHS + g) * s->nflip + k;
}

static void write_gnuplot(const setup_t *s)
{
    static const char *const colours[MAXP] = {
        "#000000", "#1f77b4", "#ff7f0e", "#d62728",
        "#2ca02c", "#9467bd", "#8c564b", "#e377c2"};
    static const char *const titles[NORACLES][NGRAPHS] = {
        {"passive (random unknown pair): known graph, deductions included",
         "passive (random unknown pair): answered pairs only"},
        {"captcha (screens of 10): known graph, deductions included",
         "captcha (screens of 10): answered pairs only"}};
    FILE *f = fig_gnuplot(&s->c, 8, "fig8_noisy_labeler", 1200, 900, 10);

    fprintf(f,
            "set key top right\n"
            "set grid\n"
            "set xlabel 'number of pairwise queries q'\n"
            "set ylabel 'downstream mean-square error (held out)'\n"
            "set yrange [0:0.8]\n"
            "set style fill transparent solid 0.15 noborder\n"
            "set multiplot layout 2,2 title \"Labeler flipping each answer "
            "with probability p: four circles, N = %lld, mean +/- std over "
            "%lld trials, h = %g, lambda = %g, k = %lld\"\n",
            (long long)s->c.n, (long long)s->c.trials, s->c.bandwidth,
            s->c.lambda, (long long)s->c.dim);
    for (int o = 0; o < NORACLES; o++)
        for (int g = 0; g < NGRAPHS; g++) {
            fprintf(f, "set title '%s'\nplot ", titles[o][g]);
            for (int k = 0; k < s->nflip; k++) {
                int col = 2 + 2 * curve(s, o, g, k);

                fprintf(f,
                        "%s'%s/fig8.csv' using 1:($%d-$%d):($%d+$%d) with "
                        "filledcurves lc rgb '%s' notitle, \\\n"
                        "     '' using 1:%d with lines lw 2 lc rgb '%s' "
                        "title 'p = %g'",
                        k ? ", \\\n     " : "", s->c.outdir, col, col + 1, col,
                        col + 1, colours[k], col, colours[k], s->flip[k]);
            }
            fprintf(f, "\n");
        }
    fprintf(f, "unset multiplot\n");
    fclose(f);
}

static void print_name(FILE *f, const setup_t *s, int c, const char *what)
{
    int k = c % s->nflip, g = (c / s->nflip) % NGRAPHS,
        o = c / (s->nflip * NGRAPHS);

    fprintf(f, ",%s_%s_p%g_%s", oracle_names[o], graph_names[g], s->flip[k],
            what);
}

int main(int argc, char **argv)
{
    enum { FLIPS, CONFLICTS, CLASSES, KNOWNPAIRS, WRONG, NFINAL };
    setup_t s;
    int64_t npoints;
    int ncurves;
    fig_stat_t *mse[NORACLES * NGRAPHS * MAXP];
    fig_stat_t *err[NORACLES * NGRAPHS * MAXP];
    fig_stat_t fin[NORACLES * MAXP][NFINAL];
    double *x_train, *x_test, *tm[NGRAPHS], *te[NGRAPHS], *dense;
    int32_t *y_train, *y_test;
    fig_params_t p;
    FILE *csv;

    parse(argc, argv, &s);
    ncurves = NORACLES * NGRAPHS * s.nflip;
    npoints = s.c.queries / s.c.batch + 1;
    memset(fin, 0, sizeof fin);
    for (int c = 0; c < ncurves; c++) {
        mse[c] = fig_calloc((size_t)npoints, sizeof *mse[c]);
        err[c] = fig_calloc((size_t)npoints, sizeof *err[c]);
    }
    for (int g = 0; g < NGRAPHS; g++) {
        tm[g] = fig_calloc((size_t)npoints, sizeof *tm[g]);
        te[g] = fig_calloc((size_t)npoints, sizeof *te[g]);
    }
    dense = fig_calloc((size_t)(s.c.n * s.c.n), sizeof *dense);
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
            uint64_t oracle_seed = fig_rng_next(&rng);
            uint64_t flip_seed = fig_rng_next(&rng);

            for (int k = 0; k < s.nflip; k++) {
                fig_stat_t *fk = fin[o * s.nflip + k];
                final_state_t f;

                run_oracle(&s, o, oracle_seed, flip_seed, s.flip[k], &m,
                           y_train, npoints, tm, te, dense, &f);
                for (int g = 0; g < NGRAPHS; g++) {
                    int c = curve(&s, o, g, k);

                    for (int64_t b = 0; b < npoints; b++) {
                        fig_stat_add(&mse[c][b], tm[g][b]);
                        fig_stat_add(&err[c][b], te[g][b]);
                    }
                }
                fig_stat_add(&fk[FLIPS], f.flips);
                fig_stat_add(&fk[CONFLICTS], f.conflicts);
                fig_stat_add(&fk[CLASSES], f.classes);
                fig_stat_add(&fk[KNOWNPAIRS], f.known);
                fig_stat_add(&fk[WRONG], f.known > 0 ? f.wrong / f.known
                                                     : 0.0);
            }
        }
        fig_model_free(&m);
        if ((t + 1) % 10 == 0 || t + 1 == s.c.trials)
            fprintf(stderr, "fig8: %lld/%lld trials\n", (long long)(t + 1),
                    (long long)s.c.trials);
    }

    csv = fig_open(s.c.outdir, "fig8.csv");
    fprintf(csv, "queries");
    for (int c = 0; c < ncurves; c++) {
        print_name(csv, &s, c, "mse");
        print_name(csv, &s, c, "mse_std");
    }
    for (int c = 0; c < ncurves; c++) {
        print_name(csv, &s, c, "error");
        print_name(csv, &s, c, "error_std");
    }
    fprintf(csv, "\n");
    for (int64_t b = 0; b < npoints; b++) {
        fprintf(csv, "%lld", (long long)(b * s.c.batch));
        for (int c = 0; c < ncurves; c++)
            fprintf(csv, ",%.6f,%.6f", fig_stat_mean(&mse[c][b]),
                    fig_stat_std(&mse[c][b]));
        for (int c = 0; c < ncurves; c++)
            fprintf(csv, ",%.6f,%.6f", fig_stat_mean(&err[c][b]),
                    fig_stat_std(&err[c][b]));
        fprintf(csv, "\n");
    }
    fclose(csv);
    write_gnuplot(&s);

    printf("Fig. 8: four circles, N = %lld, %lld held out, batches of %lld, "
           "%lld trials\n",
           (long long)s.c.n, (long long)s.c.test, (long long)s.c.batch,
           (long long)s.c.trials);
    printf("Gaussian kernel h = %g, lambda = %g, delta = %g, k = %lld; "
           "each answer flipped with probability p\n",
           s.c.bandwidth, s.c.lambda, s.c.delta, (long long)s.c.dim);
    for (int o = 0; o < NORACLES; o++)
        for (int g = 0; g < NGRAPHS; g++) {
            printf("\n%s, %s graph: mean MSE (classification error)\n%8s",
                   oracle_names[o],
                   g == KNOWN ? "known (deductions included)"
                              : "answered pairs only",
                   "queries");
            for (int k = 0; k < s.nflip; k++)
                printf("  p = %-12g", s.flip[k]);
            printf("\n");
            for (int64_t b = 0; b < npoints; b++) {
                int64_t q = b * s.c.batch;

                if (q % 100 != 0 && b != npoints - 1)
                    continue;
                printf("%8lld", (long long)q);
                for (int k = 0; k < s.nflip; k++) {
                    int c = curve(&s, o, g, k);

                    printf("  %5.3f (%4.1f%%) ", fig_stat_mean(&mse[c][b]),
                           100.0 * fig_stat_mean(&err[c][b]));
                }
                printf("\n");
            }
        }
    printf("\nAt the end of the budget (means over trials):\n");
    printf("%-8s %6s %8s %10s %9s %11s %11s\n", "oracle", "p", "flips",
           "conflicts", "classes", "known", "wrong");
    for (int c = 0; c < NORACLES * s.nflip; c++)
        printf("%-8s %6g %8.1f %10.1f %9.1f %11.0f %10.1f%%\n",
               oracle_names[c / s.nflip], s.flip[c % s.nflip],
               fig_stat_mean(&fin[c][FLIPS]),
               fig_stat_mean(&fin[c][CONFLICTS]),
               fig_stat_mean(&fin[c][CLASSES]),
               fig_stat_mean(&fin[c][KNOWNPAIRS]),
               100.0 * fig_stat_mean(&fin[c][WRONG]));
    printf("(classes: discovered by the captcha oracle, components of the "
           "store for the passive one;\n known: item pairs whose relation "
           "is known, of %lld; wrong: share of them that\n contradicts the "
           "true labels)\n",
           (long long)(s.c.n * (s.c.n - 1) / 2));

    for (int c = 0; c < ncurves; c++) {
        free(mse[c]);
        free(err[c]);
    }
    for (int g = 0; g < NGRAPHS; g++) {
        free(tm[g]);
        free(te[g]);
    }
    free(dense);
    free(x_train);
    free(x_test);
    free(y_train);
    free(y_test);
    return 0;
}
