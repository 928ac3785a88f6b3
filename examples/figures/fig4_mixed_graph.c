/*
 * The paper's Fig. 4: known labels added to self-supervised learning
 * through the mixed graph G = (1 - alpha) G_ssl + alpha Y Y^T, where
 * G_ssl joins the augmented views of each sample and Y holds the one-hot
 * labels of the labelled samples only (the rows of the others are zero).
 * The downstream error of the closed-form VIC^2 embedding of G is
 * measured over a grid of labelled shares and mixing weights alpha.
 *
 * Four concentric circles in R^2 (radii 1 to 4, class uniform, radial
 * noise 0.1): N = 200 samples, each seen through two augmented views, so
 * the graph and the kernel model have 400 rows; 500 held-out points. A
 * view is its sample rotated about the centre by a Gaussian angle and
 * then jittered by isotropic Gaussian noise of standard deviation 0.1.
 * Two augmentations are compared, one panel each: jitter alone (rotation
 * 0: the views say nothing about the classes) and jitter after a
 * rotation of standard deviation 1 radian (the views move along their
 * circle: the class invariance itself). A random share of the samples is
 * labelled (nested: the labelled set at 10% contains the one at 5%), and
 * both views of a labelled sample carry its label.
 *
 * The graph comes from pal_graph_mixture; the embedding is the top k = 4
 * of G - lambda (K + delta I)^-1 with a Gaussian kernel K on the 400
 * views (bandwidth 0.5, lambda 3, delta 1e-6), extended to the held-out
 * points through the kernel; the least-squares probe is fitted on the
 * 400 views with their true labels and measured on the held-out points.
 * Mean and standard deviation over 50 trials, each with its own data,
 * augmentations and labelled set; within a trial both panels use the
 * same samples, labelled set and random draws (the rotation only
 * scales its angles).
 *
 * Usage: fig4_mixed_graph [options] OUTDIR
 *   writes OUTDIR/fig4.csv and OUTDIR/fig4.gp (which renders the PNG
 *   named by --png, default OUTDIR/fig4.png), prints the tables on stdout
 *   and one progress line per 10 trials on stderr.
 * Options (defaults in brackets): --trials [50] --quick (10 trials)
 *   --n [200] (samples) --views [2] --jitter [0.1] --rotations [0,1]
 *   (one panel per value, radians, up to 4) --test [500] --noise [0.1]
 *   --bandwidth [0.5] --lambda [3] --delta [1e-6] --dim [4] --seed [4]
 *   --labelled [0,2,5,10,20,40,60,80,100] (percent of the samples)
 *   --alphas [0,0.01,0.03,0.1,0.3,0.9,1] --png PATH
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "figcommon.h"

#define NCLASSES 4
#define MAXR 4
#define MAXL 16
#define MAXA 8

typedef struct setup {
    fig_setup_t c;          /* c.n: samples; the model has n * views rows */
    int64_t views;
    double jitter;          /* standard deviation of the jitter */
    double rot[MAXR];       /* standard deviations of the rotation */
    int nrot;
    double pct[MAXL];       /* labelled share of the samples, percent */
    int npct;
    double alpha[MAXA];
    int nalpha;
} setup_t;

static void usage(void)
{
    fprintf(stderr,
            "usage: fig4_mixed_graph [--trials N] [--quick] [--n N] "
            "[--views V] [--jitter S]\n"
            "       [--rotations R1,...] [--test T] [--noise S] "
            "[--bandwidth H] [--lambda L]\n"
            "       [--delta D] [--dim K] [--seed S] [--labelled P1,...] "
            "[--alphas A1,...]\n"
            "       [--png PATH] OUTDIR\n");
    exit(2);
}

static void parse(int argc, char **argv, setup_t *s)
{
    static const double rot[] = {0, 1};
    static const double pct[] = {0, 2, 5, 10, 20, 40, 60, 80, 100};
    static const double alpha[] = {0, 0.01, 0.03, 0.1, 0.3, 0.9, 1};

    fig_setup_defaults(&s->c, 0, 4);
    s->c.trials = 50;
    s->c.n = 200;
    s->views = 2;
    s->jitter = 0.1;
    s->nrot = (int)(sizeof rot / sizeof rot[0]);
    memcpy(s->rot, rot, sizeof rot);
    s->npct = (int)(sizeof pct / sizeof pct[0]);
    memcpy(s->pct, pct, sizeof pct);
    s->nalpha = (int)(sizeof alpha / sizeof alpha[0]);
    memcpy(s->alpha, alpha, sizeof alpha);
    for (int i = 1; i < argc; i++) {
        /* The shared options about queries mean nothing here. */
        if (strcmp(argv[i], "--queries") == 0 ||
            strcmp(argv[i], "--batch") == 0)
            usage();
        if (fig_setup_opt(argc, argv, &i, &s->c) ||
            fig_opt_int(argc, argv, &i, "--views", &s->views) ||
            fig_opt_double(argc, argv, &i, "--jitter", &s->jitter) ||
            fig_opt_list(argc, argv, &i, "--rotations", 0, 10, MAXR, s->rot,
                         &s->nrot) ||
            fig_opt_list(argc, argv, &i, "--labelled", 0, 100, MAXL, s->pct,
                         &s->npct) ||
            fig_opt_list(argc, argv, &i, "--alphas", 0, 1, MAXA, s->alpha,
                         &s->nalpha))
            continue;
        usage();
    }
    if (!fig_setup_ok(&s->c) || s->views < 1 || s->jitter < 0 ||
        s->c.n * s->views < 2)
        usage();
}

/* Labelled samples at share pct of n, rounded to the nearest whole. */
static int64_t labelled_count(const setup_t *s, int l)
{
    return (int64_t)floor(s->pct[l] / 100.0 * (double)s->c.n + 0.5);
}

/* Index of grid point (rotation r, labelled share l, alpha a). */
static int cell(const setup_t *s, int r, int l, int a)
{
    return (r * s->npct + l) * s->nalpha + a;
}

static void write_gnuplot(const setup_t *s)
{
    static const char *const colours[MAXA] = {
        "#000000", "#9467bd", "#1f77b4", "#2ca02c",
        "#ff7f0e", "#d62728", "#8c564b", "#e377c2"};
    FILE *f = fig_gnuplot(&s->c, 4, "fig4_mixed_graph", s->nrot > 1 ? 650 * s->nrot : 900, 600, 10);

    fprintf(f,
            "set key top right\n"
            "set grid\n"
            "set xlabel 'labelled samples (%% of N)'\n"
            "set ylabel 'downstream mean-square error (held out)'\n"
            "set yrange [0:0.8]\n"
            "set style fill transparent solid 0.12 noborder\n"
            "set multiplot layout 1,%d title \"G = (1 - alpha) G_{ssl} + "
            "alpha Y Y^T, Y the known labels: four circles, N = %lld samples "
            "x %lld views, mean +/- std over %lld trials\\n"
            "closed-form VIC^2, Gaussian kernel h = %g, lambda = %g, "
            "k = %lld\"\n",
            s->nrot,
            (long long)s->c.n, (long long)s->views, (long long)s->c.trials,
            s->c.bandwidth, s->c.lambda, (long long)s->c.dim);
    for (int r = 0; r < s->nrot; r++) {
        if (s->rot[r] == 0)
            fprintf(f, "set title 'views: Gaussian jitter %g'\nplot ",
                    s->jitter);
        else
            fprintf(f,
                    "set title 'views: rotation (std %g rad), then jitter "
                    "%g'\nplot ",
                    s->rot[r], s->jitter);
        for (int a = 0; a < s->nalpha; a++) {
            int col = 3 + 2 * (r * s->nalpha + a);

            fprintf(f,
                    "%s'%s/fig4.csv' using 1:($%d-$%d):($%d+$%d) with "
                    "filledcurves lc rgb '%s' notitle, \\\n"
                    "     '' using 1:%d with linespoints lw 2 pt 7 ps 0.6 "
                    "lc rgb '%s' title 'alpha = %g'",
                    a ? ", \\\n     " : "", s->c.outdir, col, col + 1, col,
                    col + 1, colours[a], col, colours[a], s->alpha[a]);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "unset multiplot\n");
    fclose(f);
}

enum { SHOW_MSE, SHOW_ERROR, SHOW_GAIN };

static double std_error(const fig_stat_t *x)
{
    return x->count > 1 ? fig_stat_std(x) * sqrt(1.0 / (double)(x->count - 1))
                        : NAN;
}

static void print_table(const setup_t *s, const fig_stat_t *st, int r,
                        int show, const char *title)
{
    printf("\n%s\n%9s", title, "labelled");
    for (int a = 0; a < s->nalpha; a++)
        printf("  alpha = %-6g", s->alpha[a]);
    printf("\n");
    for (int l = 0; l < s->npct; l++) {
        printf("%8g%%", s->pct[l]);
        for (int a = 0; a < s->nalpha; a++) {
            const fig_stat_t *x = &st[cell(s, r, l, a)];

            if (show == SHOW_ERROR)
                printf("  %5.1f +- %5.1f", 100.0 * fig_stat_mean(x),
                       100.0 * fig_stat_std(x));
            else if (show == SHOW_GAIN)
                printf(" %+6.3f +- %5.3f", fig_stat_mean(x), std_error(x));
            else
                printf("  %5.3f +- %5.3f", fig_stat_mean(x), fig_stat_std(x));
        }
        printf("\n");
    }
}

/* Rows i * V .. i * V + V - 1 are the views of sample i (the layout
 * pal_graph_mixture assumes when source is NULL): the sample rotated by
 * rot * draw[3 r] radians, then jittered by jitter * draw[3 r + 1 ..]. */
static void make_views(const setup_t *s, double rot, const double *xs,
                       const int32_t *ys, const double *draw, double *x,
                       int32_t *y)
{
    for (int64_t i = 0; i < s->c.n; i++)
        for (int64_t v = 0; v < s->views; v++) {
            int64_t r = i * s->views + v;
            double th = rot * draw[3 * r], c = cos(th), sn = sin(th);

            x[2 * r] = c * xs[2 * i] - sn * xs[2 * i + 1] +
                       s->jitter * draw[3 * r + 1];
            x[2 * r + 1] = sn * xs[2 * i] + c * xs[2 * i + 1] +
                           s->jitter * draw[3 * r + 2];
            y[r] = ys[i];
        }
}

/* What a panel accumulates over trials, per grid point: the probe's
 * errors, and the paired difference of its MSE to that of G_ssl alone
 * in the same trial. */
typedef struct stats {
    fig_stat_t *mse, *err, *gain;
} stats_t;

/* One trial of one augmentation: every grid point of the panel. */
static void run_panel(const setup_t *s, int r, fig_model_t *m,
                      const int32_t *y, const int64_t *order, int32_t *known,
                      stats_t *st)
{
    int64_t rows = s->c.n * s->views;
    fig_result_t ssl;
    pal_graph_t *g;

    /* G_ssl alone (alpha = 0) does not depend on the labels: one
     * embedding serves every labelled share, and is the reference. */
    fig_check(pal_graph_ssl(&g, rows, s->views, NULL, NULL),
              "pal_graph_ssl");
    fig_model_eval(m, g, &ssl);
    pal_graph_destroy(g);
    for (int l = 0; l < s->npct; l++) {
        int64_t nl = labelled_count(s, l);

        /* The first nl samples of the random order are labelled. */
        for (int64_t i = 0; i < rows; i++)
            known[i] = -1;
        for (int64_t j = 0; j < nl; j++)
            for (int64_t v = 0; v < s->views; v++) {
                int64_t i = order[j] * s->views + v;

                known[i] = y[i];
            }
        for (int a = 0; a < s->nalpha; a++) {
            int c = cell(s, r, l, a);
            fig_result_t res = ssl;

            if (s->alpha[a] > 0) {
                fig_check(pal_graph_mixture(&g, rows, s->alpha[a], s->views,
                                            NULL, known, NULL),
                          "pal_graph_mixture");
                fig_model_eval(m, g, &res);
                pal_graph_destroy(g);
            }
            fig_stat_add(&st->mse[c], res.test_mse);
            fig_stat_add(&st->err[c], res.test_error);
            fig_stat_add(&st->gain[c], res.test_mse - ssl.test_mse);
        }
    }
}

int main(int argc, char **argv)
{
    setup_t s;
    int64_t rows, *order;
    int ncells;
    stats_t st;
    double *x_samples, *x_train, *x_test, *draw;
    int32_t *y_samples, *y_train, *y_test, *known;
    fig_params_t p;
    FILE *csv;

    parse(argc, argv, &s);
    rows = s.c.n * s.views;
    ncells = s.nrot * s.npct * s.nalpha;
    st.mse = fig_calloc((size_t)ncells, sizeof *st.mse);
    st.err = fig_calloc((size_t)ncells, sizeof *st.err);
    st.gain = fig_calloc((size_t)ncells, sizeof *st.gain);
    x_samples = fig_calloc((size_t)(2 * s.c.n), sizeof *x_samples);
    y_samples = fig_calloc((size_t)s.c.n, sizeof *y_samples);
    x_train = fig_calloc((size_t)(2 * rows), sizeof *x_train);
    y_train = fig_calloc((size_t)rows, sizeof *y_train);
    draw = fig_calloc((size_t)(3 * rows), sizeof *draw);
    known = fig_calloc((size_t)rows, sizeof *known);
    x_test = fig_calloc((size_t)(2 * s.c.test), sizeof *x_test);
    y_test = fig_calloc((size_t)s.c.test, sizeof *y_test);
    order = fig_calloc((size_t)s.c.n, sizeof *order);
    p = fig_setup_params(&s.c);

    for (int64_t t = 0; t < s.c.trials; t++) {
        fig_rng_t rng;

        fig_rng_seed(&rng, (uint64_t)s.c.seed * 1000003u + (uint64_t)t);
        fig_circles(&rng, s.c.n, NCLASSES, s.c.noise, x_samples, y_samples);
        fig_circles(&rng, s.c.test, NCLASSES, s.c.noise, x_test, y_test);
        for (int64_t i = 0; i < 3 * rows; i++)
            draw[i] = fig_normal(&rng);
        for (int64_t i = 0; i < s.c.n; i++)
            order[i] = i;
        fig_shuffle(&rng, s.c.n, order);
        for (int r = 0; r < s.nrot; r++) {
            fig_model_t m;

            make_views(&s, s.rot[r], x_samples, y_samples, draw, x_train,
                       y_train);
            fig_model_init(&m, &p, rows, s.c.test, 2, x_train, y_train,
                           x_test, y_test, NCLASSES);
            run_panel(&s, r, &m, y_train, order, known, &st);
            fig_model_free(&m);
        }
        if ((t + 1) % 10 == 0 || t + 1 == s.c.trials)
            fprintf(stderr, "fig4: %lld/%lld trials\n", (long long)t + 1,
                    (long long)s.c.trials);
    }

    csv = fig_open(s.c.outdir, "fig4.csv");
    fprintf(csv, "labelled_pct,labelled");
    for (int r = 0; r < s.nrot; r++)
        for (int a = 0; a < s.nalpha; a++)
            fprintf(csv, ",rot%g_alpha%g_mse,rot%g_alpha%g_mse_std", s.rot[r],
                    s.alpha[a], s.rot[r], s.alpha[a]);
    for (int r = 0; r < s.nrot; r++)
        for (int a = 0; a < s.nalpha; a++)
            fprintf(csv, ",rot%g_alpha%g_error,rot%g_alpha%g_error_std",
                    s.rot[r], s.alpha[a], s.rot[r], s.alpha[a]);
    for (int r = 0; r < s.nrot; r++)
        for (int a = 0; a < s.nalpha; a++)
            fprintf(csv, ",rot%g_alpha%g_gain,rot%g_alpha%g_gain_se",
                    s.rot[r], s.alpha[a], s.rot[r], s.alpha[a]);
    fprintf(csv, "\n");
    for (int l = 0; l < s.npct; l++) {
        fprintf(csv, "%g,%lld", s.pct[l], (long long)labelled_count(&s, l));
        for (int r = 0; r < s.nrot; r++)
            for (int a = 0; a < s.nalpha; a++)
                fprintf(csv, ",%.6f,%.6f",
                        fig_stat_mean(&st.mse[cell(&s, r, l, a)]),
                        fig_stat_std(&st.mse[cell(&s, r, l, a)]));
        for (int r = 0; r < s.nrot; r++)
            for (int a = 0; a < s.nalpha; a++)
                fprintf(csv, ",%.6f,%.6f",
                        fig_stat_mean(&st.err[cell(&s, r, l, a)]),
                        fig_stat_std(&st.err[cell(&s, r, l, a)]));
        for (int r = 0; r < s.nrot; r++)
            for (int a = 0; a < s.nalpha; a++)
                fprintf(csv, ",%.6f,%.6f",
                        fig_stat_mean(&st.gain[cell(&s, r, l, a)]),
                        std_error(&st.gain[cell(&s, r, l, a)]));
        fprintf(csv, "\n");
    }
    fclose(csv);
    write_gnuplot(&s);

    printf("Fig. 4: four circles, N = %lld samples x %lld views, %lld held "
           "out, %lld trials\n",
           (long long)s.c.n, (long long)s.views, (long long)s.c.test,
           (long long)s.c.trials);
    printf("G = (1 - alpha) G_ssl + alpha Y Y^T; Gaussian kernel h = %g, "
           "lambda = %g, delta = %g, k = %lld\n",
           s.c.bandwidth, s.c.lambda, s.c.delta, (long long)s.c.dim);
    for (int r = 0; r < s.nrot; r++) {
        printf("\n==== views: rotation of std %g rad, then jitter %g ====\n",
               s.rot[r], s.jitter);
        print_table(&s, st.mse, r, SHOW_MSE,
                    "mean-square error of the probe on held-out points "
                    "(mean +- std)");
        print_table(&s, st.err, r, SHOW_ERROR,
                    "classification error on held-out points, percent "
                    "(mean +- std)");
        print_table(&s, st.gain, r, SHOW_GAIN,
                    "MSE minus that of G_ssl alone in the same trial "
                    "(mean +- standard error;\nbelow 0: the labels help)");

        /* The claims in numbers: the best alpha at each labelled share. */
        printf("\nbest alpha per labelled share (lowest mean MSE):\n");
        for (int l = 0; l < s.npct; l++) {
            int best = 0;

            for (int a = 1; a < s.nalpha; a++)
                if (fig_stat_mean(&st.mse[cell(&s, r, l, a)]) <
                    fig_stat_mean(&st.mse[cell(&s, r, l, best)]))
                    best = a;
            printf("  %5g%%  alpha = %-5g %.3f (%+.3f +- %.3f against "
                   "G_ssl alone)\n",
                   s.pct[l], s.alpha[best],
                   fig_stat_mean(&st.mse[cell(&s, r, l, best)]),
                   fig_stat_mean(&st.gain[cell(&s, r, l, best)]),
                   std_error(&st.gain[cell(&s, r, l, best)]));
        }
    }

    free(st.mse);
    free(st.err);
    free(st.gain);
    free(x_samples);
    free(y_samples);
    free(x_train);
    free(y_train);
    free(draw);
    free(known);
    free(x_test);
    free(y_test);
    free(order);
    return 0;
}
