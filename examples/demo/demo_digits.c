/*
 * make demo: positive active learning on real handwritten digits.
 *
 * 1,797 images of 8 x 8 pixels (examples/data, CC BY 4.0) are split into
 * 1,347 training and 450 held-out images. A person (here simulated from
 * the true labels) answers cheap questions about the training images, and
 * an embedding is trained with libpal's gradients on the similarity graph
 * the answers reveal. Three ways of learning are compared at equal
 * numbers of pairwise answers (a captcha screen of M candidates counts
 * M answers):
 *
 *   ssl      no answers at all: two augmented views of each image
 *            (one-pixel shifts and noise) are the only positives;
 *   passive  the same, plus random pairs "same digit?" (the paper's
 *            Algorithm 2);
 *   captcha  the same, plus screens "which of these 10 show the same
 *            digit as this one?", class with the fewest known members
 *            first (Algorithm 3).
 *
 * The model is a linear map on 512 random Fourier features of the pixels,
 * z = phi(x) Theta (K = 32), trained by Adam in whitened feature
 * coordinates on the graph of the 2,694 views: (1 - alpha) G_ssl plus
 * alpha times what the answers revealed (see view_graph), VIC^2 by
 * default (--loss simclr or bt for the others). For each oracle and
 * budget the demo reports, on the held-out images:
 *
 *   revealed  accuracy of a least-squares classifier on the learned
 *             embedding, trained only on what the answers revealed: the
 *             10 largest groups of images known to be the same are its
 *             classes (the same number for every oracle), their members
 *             its only training examples; a predicted group is scored as
 *             the digit its members show;
 *   probe     accuracy of a least-squares classifier fitted with all
 *             training labels on the same embedding (the paper's measure
 *             of representation quality);
 *
 * each the mean over three runs with different seeds, and how many
 * answers the captcha oracle needs to recover every label.
 *
 * Usage: demo_digits DIGITS.csv [OUT.csv] [--loss vic2|simclr|bt]
 *        [--quick]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <blis.h>
#include <pal/pal.h>

#define NPIX 64
#define NCLASS 10
#define NTRAIN 1347
#define DFEAT 512   /* random Fourier features */
#define KEMB 32     /* embedding dimension */
#define SCREEN 10   /* captcha candidates per screen */
#define NAMED 10    /* revealed groups the classifier learns, per oracle */
#define MAXREPS 8   /* repetitions of each oracle run (seeds) */

#define TRY(call)                                                         \
    do {                                                                  \
        int rc_ = (call);                                                 \
        if (PAL_IS_ERROR(rc_)) {                                          \
            fprintf(stderr, "demo: %s failed at %s:%d: %s\n", #call,      \
                    __FILE__, __LINE__, pal_status_message(rc_));         \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

/* ---- Small utilities ------------------------------------------------------ */

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_normal(rng_t *r)
{
    double u = rng_unit(r), v = rng_unit(r);

    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    if (!p) {
        fprintf(stderr, "demo: out of memory\n");
        exit(1);
    }
    return p;
}

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* C (m x n) = op(A) (m x k) B (k x n), row-major floats, through BLIS;
 * op(A) = A^T when transa (A is then stored k x m). */
static void sgemm(int transa, int64_t m, int64_t n, int64_t k,
                  const float *a, int64_t lda, const float *b, int64_t ldb,
                  float *c, int64_t ldc)
{
    float one = 1.0f, zero = 0.0f;

    /* BLIS describes the stored A by its strides; the flag transposes. */
    bli_sgemm(transa ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE,
              m, n, k, &one, (float *)a, lda, 1, (float *)b, ldb, 1, &zero, c,
              ldc, 1);
}

/* ---- Data ----------------------------------------------------------------- */

typedef struct data {
    int64_t n;                 /* all images */
    float *x;                  /* n x 64, pixels scaled to [0, 1] */
    int32_t *y;                /* n labels */
    int64_t *order;            /* train first (NTRAIN), then held-out */
} data_t;

static void load_digits(const char *path, data_t *d)
{
    FILE *f = fopen(path, "r");
    int64_t cap = 2048;

    if (!f) {
        fprintf(stderr, "demo: cannot open %s\n", path);
        exit(1);
    }
    d->x = xcalloc((size_t)cap * NPIX, sizeof *d->x);
    d->y = xcalloc((size_t)cap, sizeof *d->y);
    d->n = 0;
    for (;;) {
        int v, ok = 1;

        for (int j = 0; j < NPIX && ok; j++) {
            ok = fscanf(f, "%d,", &v) == 1;
            if (ok)
                d->x[d->n * NPIX + j] = (float)v / 16.0f;
        }
        if (!ok || fscanf(f, "%d", &v) != 1)
            break;
        d->y[d->n++] = v;
        if (d->n == cap) {
            fprintf(stderr, "demo: too many rows in %s\n", path);
            exit(1);
        }
    }
    fclose(f);
    if (d->n < NTRAIN + 100) {
        fprintf(stderr, "demo: %s has %lld rows, expected 1797\n", path,
                (long long)d->n);
        exit(1);
    }

    /* A fixed shuffled split. */
    rng_t r = {20230101};

    d->order = xcalloc((size_t)d->n, sizeof *d->order);
    for (int64_t i = 0; i < d->n; i++)
        d->order[i] = i;
    for (int64_t i = d->n - 1; i > 0; i--) {
        int64_t j = (int64_t)(rng_next(&r) % (uint64_t)(i + 1));
        int64_t t = d->order[i];

        d->order[i] = d->order[j];
        d->order[j] = t;
    }
}

/* A copy of image src, shifted by (dy, dx) pixels with zero fill, plus
 * Gaussian noise of standard deviation sigma, clipped to [0, 1]. */
static void augment(const float *src, float *dst, int dy, int dx,
                    double sigma, rng_t *r)
{
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 8; j++) {
            int si = i - dy, sj = j - dx;
            double v = si >= 0 && si < 8 && sj >= 0 && sj < 8
                           ? src[si * 8 + sj]
                           : 0.0;

            v += sigma * rng_normal(r);
            dst[i * 8 + j] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
        }
    }
}

/* ---- Features and model --------------------------------------------------- */

typedef struct features {
    float *w;   /* 64 x DFEAT frequencies */
    float *b;   /* DFEAT phases */
} features_t;

/* Random Fourier features of a Gaussian kernel of bandwidth sigma. */
static void features_init(features_t *f, double sigma, uint64_t seed)
{
    rng_t r = {seed};

    f->w = xcalloc((size_t)NPIX * DFEAT, sizeof *f->w);
    f->b = xcalloc(DFEAT, sizeof *f->b);
    for (int64_t i = 0; i < (int64_t)NPIX * DFEAT; i++)
        f->w[i] = (float)(rng_normal(&r) / sigma);
    for (int j = 0; j < DFEAT; j++)
        f->b[j] = (float)(6.283185307179586 * rng_unit(&r));
}

/* phi (n x DFEAT) of images x (n x 64). */
static float *features_apply(const features_t *f, const float *x, int64_t n)
{
    float *phi = xcalloc((size_t)n * DFEAT, sizeof *phi);
    const float scale = sqrtf(2.0f / DFEAT);

    sgemm(0, n, DFEAT, NPIX, x, NPIX, f->w, DFEAT, phi, DFEAT);
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < DFEAT; j++)
            phi[i * DFEAT + j] = scale * cosf(phi[i * DFEAT + j] + f->b[j]);
    return phi;
}

/*
 * Whitening: with C = phi^T phi + ridge = L L^T over the rows a model is
 * trained on, the features phi L^-T are orthonormal on those rows. The
 * loss is then as well conditioned in Theta as it is in Z, and plain
 * first-order training converges in a few hundred steps. Returns L^-T
 * (DFEAT x DFEAT).
 */
static float *whitening(const float *phi, int64_t n)
{
    double *x = xcalloc((size_t)n * DFEAT, sizeof *x);
    double *c = xcalloc((size_t)DFEAT * DFEAT, sizeof *c);
    double *li = xcalloc((size_t)DFEAT * DFEAT, sizeof *li);
    float *t = xcalloc((size_t)DFEAT * DFEAT, sizeof *t);
    double one = 1.0, zero = 0.0, tr = 0.0;

    for (int64_t i = 0; i < n * DFEAT; i++)
        x[i] = phi[i];
    bli_dgemm(BLIS_TRANSPOSE, BLIS_NO_TRANSPOSE, DFEAT, DFEAT, n, &one, x,
              DFEAT, 1, x, DFEAT, 1, &zero, c, DFEAT, 1);
    for (int p = 0; p < DFEAT; p++)
        tr += c[p * DFEAT + p];
    for (int p = 0; p < DFEAT; p++)
        c[p * DFEAT + p] += 1e-3 * tr / DFEAT;

    /* Cholesky, lower triangle in place, then L^-1 by forward solves. */
    for (int j = 0; j < DFEAT; j++) {
        double d = c[j * DFEAT + j];

        for (int k = 0; k < j; k++)
            d -= c[j * DFEAT + k] * c[j * DFEAT + k];
        d = sqrt(d);
        c[j * DFEAT + j] = d;
        for (int i = j + 1; i < DFEAT; i++) {
            double s = c[i * DFEAT + j];

            for (int k = 0; k < j; k++)
                s -= c[i * DFEAT + k] * c[j * DFEAT + k];
            c[i * DFEAT + j] = s / d;
        }
    }
    for (int col = 0; col < DFEAT; col++) {
        for (int i = col; i < DFEAT; i++) {
            double s = i == col ? 1.0 : 0.0;

            for (int k = col; k < i; k++)
                s -= c[i * DFEAT + k] * li[k * DFEAT + col];
            li[i * DFEAT + col] = s / c[i * DFEAT + i];
        }
    }
    for (int p = 0; p < DFEAT; p++)
        for (int q = 0; q < DFEAT; q++)
            t[p * DFEAT + q] = (float)li[q * DFEAT + p];
    free(x);
    free(c);
    free(li);
    return t;
}

typedef enum { LOSS_VIC2, LOSS_SIMCLR, LOSS_BT } loss_kind_t;

typedef struct trainer {
    loss_kind_t loss;
    int steps;
    double lr;
    pal_ctx_t *ctx;
} trainer_t;

/*
 * Learn Theta (DFEAT x KEMB) so that z = phi Theta minimises the loss on
 * graph g over the n rows of raw features (trained in whitened
 * coordinates, returned for raw ones). Adam with a cosine schedule; the loss is
 * divided by n^2 (VIC^2) or n (SimCLR) so one learning rate fits all
 * sizes. Returns Theta (caller frees).
 */
static float *train(const trainer_t *t, const pal_graph_t *g,
                    const float *raw, int64_t n, uint64_t seed)
{
    float *white = whitening(raw, n);
    float *phi = xcalloc((size_t)n * DFEAT, sizeof *phi);
    float *out = xcalloc((size_t)DFEAT * KEMB, sizeof *out);
    float *theta = xcalloc((size_t)DFEAT * KEMB, sizeof *theta);
    float *z = xcalloc((size_t)n * KEMB, sizeof *z);
    float *dz = xcalloc((size_t)n * KEMB, sizeof *dz);
    float *dtheta = xcalloc((size_t)DFEAT * KEMB, sizeof *dtheta);
    double *m = xcalloc((size_t)DFEAT * KEMB, sizeof *m);
    double *v = xcalloc((size_t)DFEAT * KEMB, sizeof *v);
    const double b1 = 0.9, b2 = 0.999;
    double scale, loss;
    rng_t r = {seed};
    pal_simclr_opts_t so;
    pal_bt_opts_t bo;

    pal_simclr_opts_init(&so);
    so.tau = 0.2;
    pal_bt_opts_init(&bo);
    bo.lambda = 0.02;
    bo.center = 1;
    for (int64_t i = 0; i < (int64_t)DFEAT * KEMB; i++)
        theta[i] = (float)(rng_normal(&r) / sqrt((double)DFEAT));
    sgemm(0, n, DFEAT, DFEAT, raw, DFEAT, white, DFEAT, phi, DFEAT);
    scale = t->loss == LOSS_VIC2     ? 1.0 / ((double)n * (double)n)
            : t->loss == LOSS_SIMCLR ? 1.0 / (double)n
                                     : 1.0;

    for (int step = 1; step <= t->steps; step++) {
        double c1 = 1.0 - pow(b1, step), c2 = 1.0 - pow(b2, step);
        double lr = t->lr * 0.5 * (1.0 + cos(3.141592653589793 * step /
                                             t->steps));

        sgemm(0, n, KEMB, DFEAT, phi, DFEAT, theta, KEMB, z, KEMB);
        switch (t->loss) {
        case LOSS_VIC2:
            TRY(pal_grad_vic2(t->ctx, g, PAL_F32, n, KEMB, z, KEMB, NULL,
                              &loss, dz, KEMB));
            break;
        case LOSS_SIMCLR:
            TRY(pal_grad_simclr(t->ctx, g, PAL_F32, n, KEMB, z, KEMB, &so,
                                &loss, dz, KEMB));
            break;
        default:
            TRY(pal_grad_bt(t->ctx, g, PAL_F32, n, KEMB, z, KEMB, &bo,
                            &loss, dz, KEMB));
        }
        /* dL/dTheta = phi^T dL/dZ. */
        sgemm(1, DFEAT, KEMB, n, phi, DFEAT, dz, KEMB, dtheta, KEMB);
        for (int64_t i = 0; i < (int64_t)DFEAT * KEMB; i++) {
            double gi = scale * (double)dtheta[i];

            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            theta[i] -= (float)(lr * (m[i] / c1) / (sqrt(v[i] / c2) + 1e-8));
        }
    }
    /* The map for raw features: phi L^-T Theta. */
    sgemm(0, DFEAT, KEMB, DFEAT, white, DFEAT, theta, KEMB, out, KEMB);
    free(white);
    free(phi);
    free(theta);
    free(z);
    free(dz);
    free(dtheta);
    free(m);
    free(v);
    return out;
}

/* ---- Least-squares classifier ---------------------------------------------- */

/* Solve (A + lambda I) X = B in place for a symmetric positive A (p x p)
 * and B (p x c), by Cholesky. */
static void ridge_solve(double *a, int p, double *b, int c)
{
    for (int j = 0; j < p; j++) {
        double d = a[j * p + j];

        for (int k = 0; k < j; k++)
            d -= a[j * p + k] * a[j * p + k];
        d = sqrt(d > 1e-300 ? d : 1e-300);
        a[j * p + j] = d;
        for (int i = j + 1; i < p; i++) {
            double s = a[i * p + j];

            for (int k = 0; k < j; k++)
                s -= a[i * p + k] * a[j * p + k];
            a[i * p + j] = s / d;
        }
    }
    for (int col = 0; col < c; col++) {
        for (int i = 0; i < p; i++) {
            double s = b[i * c + col];

            for (int k = 0; k < i; k++)
                s -= a[i * p + k] * b[k * c + col];
            b[i * c + col] = s / a[i * p + i];
        }
        for (int i = p - 1; i >= 0; i--) {
            double s = b[i * c + col];

            for (int k = i + 1; k < p; k++)
                s -= a[k * p + i] * b[k * c + col];
            b[i * c + col] = s / a[i * p + i];
        }
    }
}

/*
 * Fit a ridge least-squares classifier (one-hot targets, with a bias) on
 * the rows of emb whose class (0 to NCLASS - 1) is >= 0, and return its
 * accuracy on the test rows, a predicted class c counting as the digit
 * to_digit[c] (or c itself when to_digit is NULL). Columns are
 * standardised with the training rows' statistics.
 */
static double classify(const float *emb_train, const int32_t *y_train,
                       int64_t ntrain, const float *emb_test,
                       const int32_t *y_test, int64_t ntest,
                       const int32_t *to_digit)
{
    enum { P = KEMB + 1 };
    double mu[KEMB] = {0}, sd[KEMB] = {0}, a[P * P] = {0};
    double w[P * NCLASS] = {0}, f[P];
    int64_t used = 0, right = 0;
    double tr = 0.0;

    for (int64_t i = 0; i < ntrain; i++) {
        if (y_train[i] < 0)
            continue;
        used++;
        for (int k = 0; k < KEMB; k++)
            mu[k] += emb_train[i * KEMB + k];
    }
    if (used == 0)
        return 0.0;
    for (int k = 0; k < KEMB; k++)
        mu[k] /= (double)used;
    for (int64_t i = 0; i < ntrain; i++) {
        if (y_train[i] < 0)
            continue;
        for (int k = 0; k < KEMB; k++) {
            double e = emb_train[i * KEMB + k] - mu[k];

            sd[k] += e * e;
        }
    }
    for (int k = 0; k < KEMB; k++)
        sd[k] = sqrt(sd[k] / (double)used) + 1e-12;

    for (int64_t i = 0; i < ntrain; i++) {
        if (y_train[i] < 0)
            continue;
        for (int k = 0; k < KEMB; k++)
            f[k] = (emb_train[i * KEMB + k] - mu[k]) / sd[k];
        f[KEMB] = 1.0;
        for (int p = 0; p < P; p++) {
            for (int q = 0; q < P; q++)
                a[p * P + q] += f[p] * f[q];
            w[p * NCLASS + y_train[i]] += f[p];
        }
    }
    for (int p = 0; p < P; p++)
        tr += a[p * P + p];
    for (int p = 0; p < P; p++)
        a[p * P + p] += 0.1 * tr / P;
    ridge_solve(a, P, w, NCLASS);

    for (int64_t i = 0; i < ntest; i++) {
        int best = 0;
        double bestv = -INFINITY;

        for (int k = 0; k < KEMB; k++)
            f[k] = (emb_test[i * KEMB + k] - mu[k]) / sd[k];
        f[KEMB] = 1.0;
        for (int c = 0; c < NCLASS; c++) {
            double s = 0.0;

            for (int p = 0; p < P; p++)
                s += f[p] * w[p * NCLASS + c];
            if (s > bestv) {
                bestv = s;
                best = c;
            }
        }
        right += (to_digit ? to_digit[best] : best) == y_test[i];
    }
    return (double)right / (double)ntest;
}

/* ---- Experiment ----------------------------------------------------------- */

typedef struct setup {
    data_t data;
    int64_t ntest;
    float *x_train, *x_test;      /* images in split order */
    int32_t *y_train, *y_test;
    float *phi_train, *phi_test;  /* features of the images */
    float *phi_views;             /* features of the augmented views */
    double alpha;                 /* weight of the answers' graph */
    features_t feat;
    trainer_t trainer;
} setup_t;

/* The labeler: the person, simulated from the true training labels. */
static int truth_labeler(void *user, int64_t anchor, int64_t m,
                         const int64_t *cand, pal_answer_t *answers)
{
    const int32_t *y = user;

    for (int64_t c = 0; c < m; c++)
        answers[c] = y[cand[c]] == y[anchor] ? PAL_ANSWER_SAME
                                             : PAL_ANSWER_DIFFERENT;
    return 0;
}

typedef struct result {
    const char *oracle;
    double answers, screens, labelled, groups;
    double revealed, probe, seconds;
    double revealed_sd, probe_sd;   /* over the repetitions */
} result_t;

/*
 * Train on graph g over the n rows of phi, then evaluate on the images.
 * groups holds each training image's revealed group (0 to NAMED - 1, or
 * -1), or is NULL; to_digit maps a group to its digit, for scoring only.
 */
static void evaluate(setup_t *s, const pal_graph_t *g, const float *phi,
                     int64_t n, const int32_t *groups,
                     const int32_t *to_digit, result_t *res)
{
    float *theta = train(&s->trainer, g, phi, n, 7);
    float *ztr = xcalloc((size_t)NTRAIN * KEMB, sizeof *ztr);
    float *zte = xcalloc((size_t)s->ntest * KEMB, sizeof *zte);

    sgemm(0, NTRAIN, KEMB, DFEAT, s->phi_train, DFEAT, theta, KEMB, ztr,
          KEMB);
    sgemm(0, s->ntest, KEMB, DFEAT, s->phi_test, DFEAT, theta, KEMB, zte,
          KEMB);
    res->probe = classify(ztr, s->y_train, NTRAIN, zte, s->y_test,
                          s->ntest, NULL);
    res->revealed = groups ? classify(ztr, groups, NTRAIN, zte, s->y_test,
                                      s->ntest, to_digit)
                           : NAN;
    free(theta);
    free(ztr);
    free(zte);
}

/*
 * What the answers revealed, as training labels: the NAMED largest groups
 * of images known to be the same (groups of at least two; ties to the
 * group with the smallest member) become classes 0, 1, ...; every other
 * image is unlabelled (-1). No digit label is used for training. To score
 * a prediction, to_digit maps each group to the digit of its members
 * (answers are truthful here, so a group holds a single digit). Returns
 * the number of labelled images; *ngroups gets the groups used.
 */
static int64_t reveal_groups(const pal_store_t *store,
                             const int32_t *y_train, int32_t *groups,
                             int32_t *to_digit, int64_t *ngroups)
{
    int32_t *cls = xcalloc(NTRAIN, sizeof *cls);
    int64_t ncls = 0, *size, *first, labelled = 0;
    int32_t *rank;

    TRY(pal_store_labels(store, PAL_STORE_SINGLETONS_UNKNOWN, cls, &ncls));
    size = xcalloc((size_t)ncls, sizeof *size);
    first = xcalloc((size_t)ncls, sizeof *first);
    rank = xcalloc((size_t)ncls, sizeof *rank);
    for (int64_t i = NTRAIN - 1; i >= 0; i--) {
        if (cls[i] >= 0) {
            size[cls[i]]++;
            first[cls[i]] = i;
        }
    }
    for (int64_t c = 0; c < ncls; c++)
        rank[c] = -1;
    *ngroups = 0;
    for (int pick = 0; pick < NAMED; pick++) {
        int64_t best = -1;

        for (int64_t c = 0; c < ncls; c++)
            if (rank[c] < 0 && (best < 0 || size[c] > size[best]))
                best = c;
        if (best < 0)
            break;
        rank[best] = pick;
        to_digit[pick] = y_train[first[best]];
        (*ngroups)++;
    }
    for (int64_t i = 0; i < NTRAIN; i++) {
        groups[i] = cls[i] >= 0 ? rank[cls[i]] : -1;
        labelled += groups[i] >= 0;
    }
    free(cls);
    free(size);
    free(first);
    free(rank);
    return labelled;
}

/*
 * The graph a model trains on, over the 2 NTRAIN augmented views:
 *
 *   G = (1 - alpha) G_ssl - alpha sum_c (I_c - 1_c 1_c^T / n_c)
 *
 * G_ssl links the two views of each image (the paper's eq. 8). The
 * second term is the within-group centring of each group of views whose
 * images the answers revealed to be the same: in VIC^2 it adds 2 alpha
 * times the within-group variance of the embedding, pulling the members
 * of a group together. Unlike a plain Y Y^T term it neither rewards the
 * norm of the known items nor pushes the unknown ones away from them, so
 * the model cannot single out the images someone looked at. Images alone
 * in their group add nothing. Every term is structured (labels, blocks,
 * diagonal): nothing of size n^2 is built.
 */
static pal_graph_t *view_graph(const pal_store_t *store, double alpha,
                               loss_kind_t loss)
{
    const int64_t nv = 2 * NTRAIN;
    int32_t *source = xcalloc((size_t)nv, sizeof *source);
    int32_t *group = xcalloc((size_t)nv, sizeof *group);
    int32_t *cls = xcalloc(NTRAIN, sizeof *cls);
    int32_t *cw_class = xcalloc((size_t)nv, sizeof *cw_class);
    double *cw = xcalloc((size_t)nv, sizeof *cw);
    double *diag = xcalloc((size_t)nv, sizeof *diag);
    int64_t *size = xcalloc((size_t)nv, sizeof *size);
    int64_t ngroups = 0, ne = 0;
    pal_graph_t *g;

    TRY(pal_graph_create(&g, nv, NULL));
    for (int64_t v = 0; v < nv; v++)
        source[v] = (int32_t)(v / 2);
    TRY(pal_graph_add_labels(g, 1.0 - alpha, source));
    /* BarlowTwins correlates each view with its partner only: with the
     * self loops of G_ssl, C_kk could reach 2 and the target 1 would ask
     * the views to agree only half way. */
    if (loss == LOSS_BT)
        TRY(pal_graph_add_identity(g, -(1.0 - alpha)));

    if (store && alpha > 0.0) {
        TRY(pal_store_labels(store, PAL_STORE_SINGLETONS_UNKNOWN, cls,
                             &ngroups));
        for (int64_t v = 0; v < nv; v++) {
            group[v] = cls[v / 2];
            if (group[v] >= 0)
                size[group[v]]++;
            diag[v] = group[v] >= 0 ? -1.0 : 0.0;
        }
        /* W = diag(1 / n_c): the mean of each group. SimCLR needs a
         * non-negative graph: it gets the plain positives Y Y^T (its
         * softmax already keeps the norms out of play). */
        for (int64_t c = 0; c < ngroups; c++) {
            cw_class[ne] = (int32_t)c;
            cw[ne++] = 1.0 / (double)size[c];
        }
        if (loss == LOSS_SIMCLR) {
            TRY(pal_graph_add_labels(g, alpha, group));
        } else {
            TRY(pal_graph_add_blocks(g, alpha, group, ne, cw_class,
                                     cw_class, cw));
            TRY(pal_graph_add_diagonal(g, alpha, diag));
        }
    }
    free(source);
    free(group);
    free(cls);
    free(cw_class);
    free(cw);
    free(diag);
    free(size);
    return g;
}

/* Spend up to budget answers with a fresh oracle, then train and test. */
static void run_oracle(setup_t *s, pal_sampler_t sampler, int64_t budget,
                       uint64_t seed, result_t *res)
{
    pal_oracle_opts_t o;
    pal_oracle_t *oracle;
    pal_oracle_costs_t costs = {.size = sizeof costs};
    pal_graph_t *g;
    int32_t *groups = xcalloc(NTRAIN, sizeof *groups), to_digit[NAMED];
    double t0 = now();

    pal_oracle_opts_init(&o);
    o.sampler = sampler;
    o.seed = seed;
    o.screen_size = sampler == PAL_SAMPLER_CAPTCHA ? SCREEN : 1;
    TRY(pal_oracle_create(&oracle, NTRAIN, &o, NULL));
    TRY(pal_oracle_set_labeler(oracle, truth_labeler, s->y_train));
    for (;;) {
        TRY(pal_oracle_costs(oracle, &costs));
        if (costs.answers + o.screen_size > budget)
            break;
        if (pal_oracle_step(oracle, NULL) == PAL_DONE)
            break;
    }
    res->oracle = sampler == PAL_SAMPLER_CAPTCHA ? "captcha" : "passive";
    res->answers = (double)costs.answers;
    res->screens = (double)costs.screens;
    {
        int64_t ngroups;

        res->labelled = (double)reveal_groups(pal_oracle_store(oracle),
                                              s->y_train, groups, to_digit,
                                              &ngroups);
        res->groups = (double)ngroups;
    }

    g = view_graph(pal_oracle_store(oracle), s->alpha, s->trainer.loss);
    evaluate(s, g, s->phi_views, 2 * NTRAIN, groups, to_digit, res);
    res->seconds = now() - t0;
    pal_graph_destroy(g);
    pal_oracle_destroy(oracle);
    free(groups);
}

/* SSL alone: the views of each image are the only positives. */
static void run_ssl(setup_t *s, result_t *res)
{
    pal_graph_t *g = view_graph(NULL, 0.0, s->trainer.loss);
    double t0 = now();

    res->oracle = "ssl";
    res->answers = res->screens = res->labelled = res->groups = 0;
    evaluate(s, g, s->phi_views, 2 * NTRAIN, NULL, NULL, res);
    res->seconds = now() - t0;
    pal_graph_destroy(g);
}

/* Two augmented views of each training image, in rows 2 i and 2 i + 1:
 * shifted by one pixel in a random direction (or not), with noise. */
static float *make_views(const setup_t *s)
{
    float *views = xcalloc((size_t)2 * NTRAIN * NPIX, sizeof *views);
    float *phi;
    rng_t r = {99};

    for (int64_t i = 0; i < NTRAIN; i++) {
        for (int v = 0; v < 2; v++) {
            int dir = (int)(rng_next(&r) % 5);
            int dy = dir == 1 ? 1 : dir == 2 ? -1 : 0;
            int dx = dir == 3 ? 1 : dir == 4 ? -1 : 0;

            augment(s->x_train + i * NPIX, views + (2 * i + v) * NPIX, dy, dx,
                    0.1, &r);
        }
    }
    phi = features_apply(&s->feat, views, 2 * NTRAIN);
    free(views);
    return phi;
}

/* Run the captcha oracle to the end: answers needed for every label. */
static void recover_all(setup_t *s, int64_t *answers, int64_t *screens,
                        int *exact)
{
    pal_oracle_opts_t o;
    pal_oracle_t *oracle;
    pal_oracle_costs_t costs = {.size = sizeof costs};
    int32_t *cls = xcalloc(NTRAIN, sizeof *cls);
    int32_t map[NTRAIN];
    int64_t ncls = 0, digits = 0;
    int seen[NCLASS] = {0};
    int rc;

    pal_oracle_opts_init(&o);
    o.sampler = PAL_SAMPLER_CAPTCHA;
    o.seed = 11;
    o.screen_size = SCREEN;
    TRY(pal_oracle_create(&oracle, NTRAIN, &o, NULL));
    TRY(pal_oracle_set_labeler(oracle, truth_labeler, s->y_train));
    while ((rc = pal_oracle_step(oracle, NULL)) == PAL_OK)
        ;
    TRY(rc);
    TRY(pal_oracle_costs(oracle, &costs));
    TRY(pal_store_labels(pal_oracle_store(oracle), 0, cls, &ncls));

    /* Exact recovery: each class holds one digit and each digit one
     * class, so the classes are the digits up to renaming. */
    *exact = 1;
    for (int64_t c = 0; c < NTRAIN; c++)
        map[c] = -1;
    for (int64_t i = 0; i < NTRAIN; i++) {
        if (map[cls[i]] < 0)
            map[cls[i]] = s->y_train[i];
        if (map[cls[i]] != s->y_train[i])
            *exact = 0;
    }
    for (int64_t c = 0; c < ncls; c++)
        digits += map[c] >= 0 && !seen[map[c]]++;
    *exact = *exact && digits == ncls;
    *answers = costs.answers;
    *screens = costs.screens;
    pal_oracle_destroy(oracle);
    free(cls);
}

/* Mean and standard deviation of the repetitions, field by field. */
static void average(const result_t *r, int reps, result_t *out)
{
    double rev2 = 0.0, probe2 = 0.0;

    memset(out, 0, sizeof *out);
    out->oracle = r[0].oracle;
    for (int k = 0; k < reps; k++) {
        out->answers += r[k].answers / reps;
        out->screens += r[k].screens / reps;
        out->labelled += r[k].labelled / reps;
        out->groups += r[k].groups / reps;
        out->revealed += r[k].revealed / reps;
        out->probe += r[k].probe / reps;
        out->seconds += r[k].seconds;
        rev2 += r[k].revealed * r[k].revealed / reps;
        probe2 += r[k].probe * r[k].probe / reps;
    }
    out->revealed_sd = sqrt(fmax(rev2 - out->revealed * out->revealed, 0));
    out->probe_sd = sqrt(fmax(probe2 - out->probe * out->probe, 0));
}

static void print_row(FILE *out, FILE *csv, const result_t *r)
{
    char rev[24];

    if (isnan(r->revealed))
        snprintf(rev, sizeof rev, "%13s", "-");
    else
        snprintf(rev, sizeof rev, "%6.1f%% +-%4.1f", 100.0 * r->revealed,
                 100.0 * r->revealed_sd);
    fprintf(out, "%-8s %7.0f %7.0f %8.0f %6.0f  %s  %6.1f%% +-%4.1f %6.1fs\n",
            r->oracle, r->answers, r->screens, r->labelled, r->groups, rev,
            100.0 * r->probe, 100.0 * r->probe_sd, r->seconds);
    fprintf(csv, "%s,%.0f,%.1f,%.1f,%.1f,%.4f,%.4f,%.4f,%.4f\n", r->oracle,
            r->answers, r->screens, r->labelled, r->groups,
            isnan(r->revealed) ? -1.0 : r->revealed,
            isnan(r->revealed) ? 0.0 : r->revealed_sd, r->probe,
            r->probe_sd);
}

int main(int argc, char **argv)
{
    static const int64_t full[] = {150, 300, 600, 1200, 2400};
    static const int64_t quick[] = {150, 600};
    const char *data_path = NULL, *csv_path = NULL;
    const int64_t *budgets = full;
    int nbudgets = 5, reps = 3, exact, bad = 0;
    setup_t s;
    result_t res, captcha[5], passive[5];
    FILE *csv;
    int64_t all_answers, all_screens;
    double t0 = now();
    int wins = 0;

    memset(&s, 0, sizeof s);
    s.trainer.loss = LOSS_VIC2;
    s.trainer.steps = 300;
    s.trainer.lr = 0.01;
    s.alpha = 0.5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            budgets = quick;
            nbudgets = 2;
            reps = 1;
            s.trainer.steps = 100;
        } else if (!strcmp(argv[i], "--loss") && i + 1 < argc) {
            const char *l = argv[++i];

            if (!strcmp(l, "vic2"))
                s.trainer.loss = LOSS_VIC2;
            else if (!strcmp(l, "simclr"))
                s.trainer.loss = LOSS_SIMCLR;
            else if (!strcmp(l, "bt"))
                s.trainer.loss = LOSS_BT;
            else
                bad = 1;
        } else if (argv[i][0] == '-') {
            bad = 1;
        } else if (!data_path) {
            data_path = argv[i];
        } else if (!csv_path) {
            csv_path = argv[i];
        } else {
            bad = 1;
        }
    }
    if (!data_path || bad) {
        fprintf(stderr, "usage: %s DIGITS.csv [OUT.csv] [--loss vic2|"
                        "simclr|bt] [--quick]\n",
                argv[0]);
        return 2;
    }

    /* Data, split, features. */
    load_digits(data_path, &s.data);
    s.ntest = s.data.n - NTRAIN;
    s.x_train = xcalloc((size_t)NTRAIN * NPIX, sizeof *s.x_train);
    s.x_test = xcalloc((size_t)s.ntest * NPIX, sizeof *s.x_test);
    s.y_train = xcalloc(NTRAIN, sizeof *s.y_train);
    s.y_test = xcalloc((size_t)s.ntest, sizeof *s.y_test);
    for (int64_t i = 0; i < s.data.n; i++) {
        int64_t src = s.data.order[i];
        float *dst = i < NTRAIN ? s.x_train + i * NPIX
                                : s.x_test + (i - NTRAIN) * NPIX;

        memcpy(dst, s.data.x + src * NPIX, NPIX * sizeof *dst);
        if (i < NTRAIN)
            s.y_train[i] = s.data.y[src];
        else
            s.y_test[i - NTRAIN] = s.data.y[src];
    }
    features_init(&s.feat, 2.5, 5);
    s.phi_train = features_apply(&s.feat, s.x_train, NTRAIN);
    s.phi_test = features_apply(&s.feat, s.x_test, s.ntest);
    s.phi_views = make_views(&s);

    /* Both cores for the products, unless the environment says. */
    if (!getenv("BLIS_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
        bli_thread_set_num_threads(2);
    TRY(pal_ctx_create(&s.trainer.ctx, NULL));
    fprintf(stderr, "demo: %lld digits (%d train, %lld held out), "
                    "libpal %s\n",
            (long long)s.data.n, NTRAIN, (long long)s.ntest,
            pal_version_string());

    csv = fopen(csv_path ? csv_path : "/dev/null", "w");
    if (!csv) {
        fprintf(stderr, "demo: cannot write %s\n", csv_path);
        return 1;
    }
    fprintf(csv, "oracle,answers,screens,labelled,groups,"
                 "revealed_accuracy,revealed_sd,probe_accuracy,probe_sd\n");
    printf("\nHeld-out accuracy on %lld digits against pairwise answers "
           "spent\n(a screen of %d candidates counts %d answers; the "
           "classifier learns the %d largest\nrevealed groups; mean +- "
           "standard deviation over %d runs with different seeds)\n\n",
           (long long)s.ntest, SCREEN, SCREEN, NAMED, reps);
    printf("oracle   answers screens labelled groups       revealed"
           "           probe    time\n");

    fprintf(stderr, "demo: ssl (two augmented views, no answers)\n");
    run_ssl(&s, &res);
    print_row(stdout, csv, &res);
    for (int b = 0; b < nbudgets; b++) {
        result_t runs[MAXREPS];

        for (int which = 0; which < 2; which++) {
            pal_sampler_t sampler = which ? PAL_SAMPLER_CAPTCHA
                                          : PAL_SAMPLER_PASSIVE;

            fprintf(stderr, "demo: budget %lld answers: %s, %d runs\n",
                    (long long)budgets[b], which ? "captcha" : "passive",
                    reps);
            for (int k = 0; k < reps; k++)
                run_oracle(&s, sampler, budgets[b], 11 + (uint64_t)k,
                           &runs[k]);
            average(runs, reps, which ? &captcha[b] : &passive[b]);
            print_row(stdout, csv, which ? &captcha[b] : &passive[b]);
        }
        wins += captcha[b].revealed > passive[b].revealed;
    }

    fprintf(stderr, "demo: captcha until every label is known\n");
    recover_all(&s, &all_answers, &all_screens, &exact);
    printf("\ncaptcha oracle: every training label recovered %s after "
           "%lld answers (%lld screens)\n",
           exact ? "exactly" : "NOT exactly", (long long)all_answers,
           (long long)all_screens);
    printf("captcha beats passive (revealed labels) at %d of %d budgets\n",
           wins, nbudgets);
    if (csv_path)
        printf("table written to %s\n", csv_path);
    fprintf(stderr, "demo: done in %.1f s\n", now() - t0);

    fclose(csv);
    pal_ctx_destroy(s.trainer.ctx);
    return exact ? 0 : 1;
}
