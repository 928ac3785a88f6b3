/*
 * How many cheap answers does it take to label a whole data set?
 *
 * The 1,797 handwritten digits (8 x 8 pixels, 10 classes) are labelled by
 * a simulated person who answers every question truthfully, through
 * libpal's oracles: random pairs (passive), captcha screens of 15
 * candidates, and the item-centric mode, with the number of classes
 * known or not, unguided or guided by the raw pixels or by an embedding
 * trained with libpal's VIC^2 as the answers arrive (see "Guidance
 * trained as the answers arrive" below). For each, two figures:
 *
 *   1. on all 1,797 digits: the answers (and screens) spent until the
 *      known classes are exactly the digits' classes;
 *   2. on a fixed pool of 1,297 digits, the other 500 held out and never
 *      shown: the accuracy on the held-out digits of a 1-nearest-
 *      neighbour classifier on pixels trained only on the digits whose
 *      class the answers revealed, after 150, 300, 600 and 1,200
 *      answers. A revealed class is named by the digit of one member, as
 *      a person would name a pile of images once. For the trained
 *      guidances, the same classifier in their own embedding too.
 *
 * The guided modes then run to the end again with the oracle seeds 1
 * to 5 (the first table's is 7), since a few dozen answers between two
 * guidances can be chance. Then the digits get a coarse level, three
 * groups by shape, and the item mode asks coarse to fine (levels = 2),
 * unguided and guided by the pixels. A last table puts a noisy person
 * in front of the best modes: each answer is flipped (same <->
 * different) with probability 0.05 (pal_flip_create), and the oracles
 * run to their end with and without votes (disputed pairs re-asked
 * until a majority of 3): the answers spent and the share of digits
 * whose label came out right (each class found named by the digit most
 * of its members show), over three seeds of the flips.
 *
 * Usage: oracle_digits DIGITS.csv   (progress goes to stderr)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pal/pal.h>

#define NPIX 64
#define NCLASSES 10
#define NHELD 500
#define NBUDGETS 4

#define SEED 7  /* the oracles' seed */

static const int64_t budgets[NBUDGETS] = {150, 300, 600, 1200};

struct neighbours;

typedef struct data {
    int64_t n;
    float *x;       /* n x NPIX, pixels in [0, 1] */
    int32_t *y;
    const struct neighbours *nb;    /* for the trained guidance */
    int64_t *near;  /* held-out digits: the NEIGHBOURS nearest of the
                       pool's, in pixels */
} data_t;

/* What guides an oracle. */
enum {
    GUIDE_NONE,
    GUIDE_PIXELS,   /* the raw pixels, given once */
    GUIDE_LINEAR,   /* a linear map of the pixels, trained on the answers */
    GUIDE_TRAINED,  /* an embedding trained on pixel neighbours and answers */
    GUIDE_BOTH      /* the pixels with that embedding appended */
};

typedef struct mode {
    const char *name;
    pal_sampler_t sampler;
    int guided;             /* a GUIDE_ value */
    int known;              /* tell it the number of classes */
    int order;              /* item: a pal_item_order_t */
} mode_t;

static const mode_t modes[] = {
    {"passive (random pairs)", PAL_SAMPLER_PASSIVE, 0, 0, 0},
    {"captcha, unguided", PAL_SAMPLER_CAPTCHA, 0, 0, 0},
    {"captcha, unguided, C known", PAL_SAMPLER_CAPTCHA, 0, 1, 0},
    {"captcha, guided by pixels", PAL_SAMPLER_CAPTCHA, GUIDE_PIXELS, 0, 0},
    {"captcha, guided, C known", PAL_SAMPLER_CAPTCHA, GUIDE_PIXELS, 1, 0},
    {"captcha, linear map", PAL_SAMPLER_CAPTCHA, GUIDE_LINEAR, 0, 0},
    {"captcha, trained embedding", PAL_SAMPLER_CAPTCHA, GUIDE_TRAINED, 0,
     0},
    {"captcha, pixels + trained", PAL_SAMPLER_CAPTCHA, GUIDE_BOTH, 0, 0},
    {"item, unguided", PAL_SAMPLER_ITEM, 0, 0, PAL_ITEM_ORDER_RANDOM},
    {"item, pixels, random order", PAL_SAMPLER_ITEM, GUIDE_PIXELS, 0,
     PAL_ITEM_ORDER_RANDOM},
    {"item, pixels, C known, random", PAL_SAMPLER_ITEM, GUIDE_PIXELS, 1,
     PAL_ITEM_ORDER_RANDOM},
    {"item, linear map, random", PAL_SAMPLER_ITEM, GUIDE_LINEAR, 0,
     PAL_ITEM_ORDER_RANDOM},
    {"item, trained, random order", PAL_SAMPLER_ITEM, GUIDE_TRAINED, 0,
     PAL_ITEM_ORDER_RANDOM},
    {"item, pixels + trained, random", PAL_SAMPLER_ITEM, GUIDE_BOTH, 0,
     PAL_ITEM_ORDER_RANDOM},
    {"item, pixels, certain first", PAL_SAMPLER_ITEM, GUIDE_PIXELS, 0,
     PAL_ITEM_ORDER_CERTAIN},
    {"item, pixels, C known, certain", PAL_SAMPLER_ITEM, GUIDE_PIXELS, 1,
     PAL_ITEM_ORDER_CERTAIN},
    {"item, linear map, certain", PAL_SAMPLER_ITEM, GUIDE_LINEAR, 0,
     PAL_ITEM_ORDER_CERTAIN},
    {"item, trained, certain first", PAL_SAMPLER_ITEM, GUIDE_TRAINED, 0,
     PAL_ITEM_ORDER_CERTAIN},
    {"item, pixels + trained, certain", PAL_SAMPLER_ITEM, GUIDE_BOTH, 0,
     PAL_ITEM_ORDER_CERTAIN},
};

#define NMODES (sizeof modes / sizeof modes[0])

static void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count, size);

    if (!p) {
        fprintf(stderr, "oracle_digits: out of memory\n");
        exit(1);
    }
    return p;
}

static void check(int rc, const char *what)
{
    if (PAL_IS_ERROR(rc)) {
        fprintf(stderr, "oracle_digits: %s: %s\n", what,
                pal_status_message(rc));
        exit(1);
    }
}

static void load(const char *path, data_t *d)
{
    FILE *f = fopen(path, "r");
    int64_t cap = 2048;

    if (!f) {
        fprintf(stderr, "oracle_digits: cannot open %s\n", path);
        exit(1);
    }
    d->x = xcalloc((size_t)cap * NPIX, sizeof *d->x);
    d->y = xcalloc((size_t)cap, sizeof *d->y);
    d->n = 0;
    d->nb = NULL;
    d->near = NULL;
    while (d->n < cap) {
        int v, ok = 1;

        for (int j = 0; j < NPIX && ok; j++) {
            ok = fscanf(f, "%d,", &v) == 1;
            if (ok)
                d->x[d->n * NPIX + j] = (float)v / 16.0f;
        }
        if (!ok || fscanf(f, "%d", &v) != 1)
            break;
        d->y[d->n++] = v;
    }
    fclose(f);
    if (d->n != 1797) {
        fprintf(stderr, "oracle_digits: %s has %lld rows, expected 1797\n",
                path, (long long)d->n);
        exit(1);
    }
}

/* A fixed split: a seeded shuffle, the first NHELD digits held out. */
static void split(const data_t *all, data_t *pool, data_t *held)
{
    int64_t *order = xcalloc((size_t)all->n, sizeof *order);
    uint64_t s = 20240601;

    for (int64_t i = 0; i < all->n; i++)
        order[i] = i;
    for (int64_t i = all->n - 1; i > 0; i--) {
        int64_t j, t;

        s = s * 6364136223846793005u + 1442695040888963407u;
        j = (int64_t)((s >> 33) % (uint64_t)(i + 1));
        t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    *held = *pool = *all;
    held->n = NHELD;
    pool->n = all->n - NHELD;
    held->x = xcalloc((size_t)held->n * NPIX, sizeof *held->x);
    pool->x = xcalloc((size_t)pool->n * NPIX, sizeof *pool->x);
    held->y = xcalloc((size_t)held->n, sizeof *held->y);
    pool->y = xcalloc((size_t)pool->n, sizeof *pool->y);
    for (int64_t i = 0; i < all->n; i++) {
        data_t *to = i < NHELD ? held : pool;
        int64_t k = i < NHELD ? i : i - NHELD;

        memcpy(to->x + k * NPIX, all->x + order[i] * NPIX,
               NPIX * sizeof *to->x);
        to->y[k] = all->y[order[i]];
    }
    free(order);
}

static int truth(void *user, int64_t anchor, int64_t m,
                 const int64_t *cand, pal_answer_t *answers)
{
    const int32_t *y = user;

    for (int64_t k = 0; k < m; k++)
        answers[k] = y[cand[k]] == y[anchor] ? PAL_ANSWER_SAME
                                             : PAL_ANSWER_DIFFERENT;
    return 0;
}

/* ---- Guidance trained as the answers arrive ------------------------------
 *
 * Three guidances are trained with libpal's VIC^2 (pal_grad_vic2) while
 * the answers come in: every EVERY answers they take more steps of Adam
 * from where they were, and the oracle gets the new embedding through
 * pal_oracle_set_embedding.
 *
 * GUIDE_LINEAR, a linear map of the pixels: z = (x - mean) W, W of
 * NPIX x KLIN, started at the KLIN leading principal directions of the
 * pixels, scaled so that the mean |z|^2 is 1 (so the first questions are
 * nearly those the pixels ask), then trained for LIN_STEPS steps at each
 * round on the known graph itself (pal_oracle_graph: G_ij = 1 for digits
 * known alike, G_ii = 1 for every digit).
 *
 * GUIDE_TRAINED, an embedding of KEMB numbers per digit, free
 * parameters, trained on
 *
 *   G = A - ALPHA sum_c (I_c - 1_c 1_c^T / n_c).
 *
 * A is the symmetric graph of each digit's NEIGHBOURS nearest digits in
 * pixels, self loops included, normalised as D^-1/2 A D^-1/2: the
 * pseudo-positives of the nearest-neighbour oracle, known before anyone
 * answers. The sum runs over the classes the answers have revealed so
 * far (groups of two digits or more in the oracle's store); in VIC^2 it
 * adds 2 ALPHA times each class's spread around its mean, which pulls
 * the known members of a class together, each class weighing the same
 * whatever its size. Z is trained on A alone before the first answer
 * (PRE_STEPS steps, once per data set), then STEPS steps per round; the
 * oracle gets its rows scaled to norm 1.
 *
 * GUIDE_BOTH: the pixels with those rows appended, so that a squared
 * distance is the pixels' plus the trained embedding's.
 *
 * VIC^2 on these graphs never forms an n x n matrix: a step costs
 * O(n K^2) plus O(K) per edge of A, a few milliseconds here.
 */

#define EVERY 100           /* answers between two rounds of training */
#define KLIN 32             /* linear map: width */
#define LIN_STEPS 30        /* linear map: steps per round */
#define LIN_RATE 1e-4       /* linear map: Adam's step */
#define KEMB 16             /* trained embedding: width */
#define NEIGHBOURS 5        /* pixel neighbours of each digit in A */
#define ALPHA 2.0           /* weight of the revealed classes against A */
#define PRE_STEPS 400       /* steps on A alone, before any answer */
#define STEPS 50            /* steps per round */
#define RATE 0.01           /* Adam's step */

typedef struct neighbours {
    int64_t n, nnz;
    int64_t *rowptr;    /* the CSR form of D^-1/2 A D^-1/2 */
    int32_t *col;
    float *w;
    float *z0;          /* n x KEMB, trained on A alone */
} neighbours_t;

/* The NEIGHBOURS nearest rows of x (n x NPIX) to q in pixels, nearest
 * first, into idx; row self (or -1) is left out. */
static void nearest(const float *x, int64_t n, const float *q, int64_t self,
                    int64_t *idx)
{
    const int k = NEIGHBOURS;
    double best[NEIGHBOURS];

    for (int t = 0; t < k; t++) {
        best[t] = HUGE_VAL;
        idx[t] = -1;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *p = x + i * NPIX;
        double s = 0.0;
        int t;

        if (i == self)
            continue;
        for (int j = 0; j < NPIX && s < best[k - 1]; j++)
            s += (double)(q[j] - p[j]) * (q[j] - p[j]);
        if (s >= best[k - 1])
            continue;
        for (t = k - 1; t > 0 && best[t - 1] > s; t--) {
            best[t] = best[t - 1];
            idx[t] = idx[t - 1];
        }
        best[t] = s;
        idx[t] = i;
    }
}

/* A standard normal number from a splitmix64 stream (Box-Muller). */
static double normal(uint64_t *state)
{
    double u[2];

    for (int h = 0; h < 2; h++) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15u);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        u[h] = (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
    }
    return sqrt(-2.0 * log(1.0 - u[0])) * cos(6.283185307179586 * u[1]);
}

/* Step number t >= 1 of Adam on count parameters p, gradient g. */
static void adam(float *p, const float *g, double *m, double *v,
                 int64_t count, int t, double rate)
{
    const double b1 = 0.9, b2 = 0.999;
    const double c1 = 1.0 - pow(b1, t), c2 = 1.0 - pow(b2, t);

    for (int64_t e = 0; e < count; e++) {
        m[e] = b1 * m[e] + (1.0 - b1) * g[e];
        v[e] = b2 * v[e] + (1.0 - b2) * (double)g[e] * g[e];
        p[e] -= (float)(rate * (m[e] / c1) / (sqrt(v[e] / c2) + 1e-12));
    }
}

/* The trained embedding's graph: A, and with known (the oracle's store,
 * or NULL) minus ALPHA times the centring of each revealed class. */
static pal_graph_t *neighbour_graph(const neighbours_t *nb,
                                    const pal_store_t *known)
{
    const size_t n = (size_t)nb->n;
    int32_t *lab, *cls;
    int64_t nc, *size;
    double *cw, *diag;
    pal_graph_t *g;

    check(pal_graph_create(&g, nb->n, NULL), "pal_graph_create");
    check(pal_graph_add_csr(g, 1.0, PAL_F32, nb->nnz, nb->rowptr, nb->col,
                            nb->w, 0),
          "pal_graph_add_csr");
    if (!known)
        return g;
    lab = xcalloc(n, sizeof *lab);
    cls = xcalloc(n, sizeof *cls);
    size = xcalloc(n, sizeof *size);
    cw = xcalloc(n, sizeof *cw);
    diag = xcalloc(n, sizeof *diag);
    check(pal_store_labels(known, PAL_STORE_SINGLETONS_UNKNOWN, lab, &nc),
          "pal_store_labels");
    for (size_t i = 0; i < n; i++) {
        if (lab[i] >= 0)
            size[lab[i]]++;
        diag[i] = lab[i] >= 0 ? -1.0 : 0.0;
    }
    for (int64_t c = 0; c < nc; c++) {
        cls[c] = (int32_t)c;
        cw[c] = 1.0 / (double)size[c];
    }
    if (nc > 0) {
        /* The graph copies what it keeps of these arrays. */
        check(pal_graph_add_blocks(g, ALPHA, lab, nc, cls, cls, cw),
              "pal_graph_add_blocks");
        check(pal_graph_add_diagonal(g, ALPHA, diag),
              "pal_graph_add_diagonal");
    }
    free(lab);
    free(cls);
    free(size);
    free(cw);
    free(diag);
    return g;
}

/* steps of Adam on VIC^2 over g for z (n x KEMB); dz, m, v: scratch. */
static void fit(pal_ctx_t *ctx, const pal_graph_t *g, int64_t n, float *z,
                float *dz, double *m, double *v, int steps)
{
    memset(m, 0, (size_t)n * KEMB * sizeof *m);
    memset(v, 0, (size_t)n * KEMB * sizeof *v);
    for (int t = 1; t <= steps; t++) {
        check(pal_grad_vic2(ctx, g, PAL_F32, n, KEMB, z, KEMB, NULL, NULL,
                            dz, KEMB),
              "pal_grad_vic2");
        adam(z, dz, m, v, n * KEMB, t, RATE);
    }
}

/* The neighbour graph A of d, and Z trained on it alone. */
static void neighbours_build(neighbours_t *nb, const data_t *d)
{
    const int64_t n = d->n;
    unsigned char *adj = xcalloc((size_t)n * (size_t)n, 1);
    double *deg = xcalloc((size_t)n, sizeof *deg);
    float *dz = xcalloc((size_t)n * KEMB, sizeof *dz);
    double *m = xcalloc((size_t)n * KEMB, sizeof *m);
    double *v = xcalloc((size_t)n * KEMB, sizeof *v);
    int64_t idx[NEIGHBOURS], e = 0;
    uint64_t seed = 5;
    pal_graph_t *g;
    pal_ctx_t *ctx;

    for (int64_t i = 0; i < n; i++) {
        adj[i * n + i] = 1;
        nearest(d->x, n, d->x + i * NPIX, i, idx);
        for (int k = 0; k < NEIGHBOURS; k++)
            adj[i * n + idx[k]] = adj[idx[k] * n + i] = 1;
    }
    nb->n = n;
    nb->nnz = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            if (adj[i * n + j]) {
                deg[i] += 1.0;
                nb->nnz++;
            }
    nb->rowptr = xcalloc((size_t)n + 1, sizeof *nb->rowptr);
    nb->col = xcalloc((size_t)nb->nnz, sizeof *nb->col);
    nb->w = xcalloc((size_t)nb->nnz, sizeof *nb->w);
    for (int64_t i = 0; i < n; i++) {
        nb->rowptr[i] = e;
        for (int64_t j = 0; j < n; j++)
            if (adj[i * n + j]) {
                nb->col[e] = (int32_t)j;
                nb->w[e++] = (float)(1.0 / sqrt(deg[i] * deg[j]));
            }
    }
    nb->rowptr[n] = e;

    nb->z0 = xcalloc((size_t)n * KEMB, sizeof *nb->z0);
    for (int64_t k = 0; k < n * KEMB; k++)
        nb->z0[k] = (float)(0.01 * normal(&seed));
    check(pal_ctx_create(&ctx, NULL), "pal_ctx_create");
    g = neighbour_graph(nb, NULL);
    fit(ctx, g, n, nb->z0, dz, m, v, PRE_STEPS);
    pal_graph_destroy(g);
    pal_ctx_destroy(ctx);
    free(adj);
    free(deg);
    free(dz);
    free(m);
    free(v);
}

static void neighbours_free(neighbours_t *nb)
{
    free(nb->rowptr);
    free(nb->col);
    free(nb->w);
    free(nb->z0);
}

/* The mean digit, and the k leading principal directions of d's pixels
 * as the columns of basis (NPIX x k), scaled so that the projections of
 * the centred digits have a mean squared norm of 1. */
static void principal(const data_t *d, float *mean, float *basis, int k)
{
    double *c = xcalloc(NPIX * NPIX, sizeof *c);
    double *q = xcalloc(NPIX * NPIX, sizeof *q);
    double mu[NPIX], var = 0.0;
    int order[NPIX];

    for (int a = 0; a < NPIX; a++) {
        mu[a] = 0.0;
        for (int64_t i = 0; i < d->n; i++)
            mu[a] += d->x[i * NPIX + a];
        mu[a] /= (double)d->n;
        mean[a] = (float)mu[a];
    }
    for (int64_t i = 0; i < d->n; i++)
        for (int a = 0; a < NPIX; a++)
            for (int b = 0; b < NPIX; b++)
                c[a * NPIX + b] += (d->x[i * NPIX + a] - mu[a]) *
                                   (d->x[i * NPIX + b] - mu[b]) /
                                   (double)d->n;
    /* Cyclic Jacobi rotations: c becomes diagonal, q its eigenvectors. */
    for (int a = 0; a < NPIX; a++)
        q[a * NPIX + a] = 1.0;
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = 0.0;

        for (int a = 0; a < NPIX; a++)
            for (int b = a + 1; b < NPIX; b++)
                off += c[a * NPIX + b] * c[a * NPIX + b];
        if (off < 1e-24)
            break;
        for (int a = 0; a < NPIX; a++)
            for (int b = a + 1; b < NPIX; b++) {
                double th, t, cs, sn;

                if (c[a * NPIX + b] == 0.0)
                    continue;
                th = (c[b * NPIX + b] - c[a * NPIX + a]) /
                     (2.0 * c[a * NPIX + b]);
                t = (th >= 0.0 ? 1.0 : -1.0) /
                    (fabs(th) + sqrt(th * th + 1.0));
                cs = 1.0 / sqrt(t * t + 1.0);
                sn = t * cs;
                for (int r = 0; r < NPIX; r++) {
                    double u = c[r * NPIX + a], w = c[r * NPIX + b];

                    c[r * NPIX + a] = cs * u - sn * w;
                    c[r * NPIX + b] = sn * u + cs * w;
                }
                for (int r = 0; r < NPIX; r++) {
                    double u = c[a * NPIX + r], w = c[b * NPIX + r];

                    c[a * NPIX + r] = cs * u - sn * w;
                    c[b * NPIX + r] = sn * u + cs * w;
                }
                for (int r = 0; r < NPIX; r++) {
                    double u = q[r * NPIX + a], w = q[r * NPIX + b];

                    q[r * NPIX + a] = cs * u - sn * w;
                    q[r * NPIX + b] = sn * u + cs * w;
                }
            }
    }
    /* The largest variances first. */
    for (int a = 0; a < NPIX; a++) {
        int b = a;

        while (b > 0 && c[order[b - 1] * (NPIX + 1)] < c[a * (NPIX + 1)]) {
            order[b] = order[b - 1];
            b--;
        }
        order[b] = a;
    }
    for (int j = 0; j < k; j++)
        var += c[order[j] * (NPIX + 1)];
    for (int a = 0; a < NPIX; a++)
        for (int j = 0; j < k; j++)
            basis[a * k + j] = (float)(q[a * NPIX + order[j]] / sqrt(var));
    free(c);
    free(q);
}

/* A guidance trained during one oracle run. */
typedef struct guide {
    int kind;               /* GUIDE_LINEAR, GUIDE_TRAINED or GUIDE_BOTH */
    const data_t *d;
    pal_ctx_t *ctx;
    int64_t last;           /* answers at the last round */
    int k;                  /* width of z */
    float *z, *dz;          /* d->n x k */
    int64_t npar;           /* parameters: W (linear), or z itself */
    float *par, *grad;      /* linear: W and dL/dW */
    double *sum;            /* linear: dL/dW, summed in double */
    double *m, *v;          /* Adam's moments */
    float mean[NPIX];       /* linear: the mean digit */
    int width;              /* width of out */
    float *out;             /* d->n x width: what the oracle gets */
} guide_t;

/* The rows of out for the digits x (n x NPIX) whose z rows are z. */
static void guide_rows(const guide_t *gd, const float *x, const float *z,
                       int64_t n, float *out)
{
    for (int64_t i = 0; i < n; i++) {
        float *o = out + i * gd->width;
        double s = 0.0;

        for (int c = 0; c < gd->k; c++)
            s += (double)z[i * gd->k + c] * z[i * gd->k + c];
        s = gd->kind == GUIDE_LINEAR ? 1.0 : s > 0.0 ? 1.0 / sqrt(s) : 0.0;
        for (int c = 0; c < gd->k; c++)
            o[c] = (float)(s * z[i * gd->k + c]);
        if (gd->kind == GUIDE_BOTH)
            memcpy(o + gd->k, x + i * NPIX, NPIX * sizeof *o);
    }
}

/* z = (x - mean) W for the linear map, n rows. */
static void linear_apply(const guide_t *gd, const float *x, int64_t n,
                         float *z)
{
    for (int64_t i = 0; i < n; i++) {
        double row[KLIN] = {0};

        for (int a = 0; a < NPIX; a++) {
            const double xa = x[i * NPIX + a] - gd->mean[a];
            const float *w = gd->par + a * KLIN;

            for (int c = 0; c < KLIN; c++)
                row[c] += xa * w[c];
        }
        for (int c = 0; c < KLIN; c++)
            z[i * KLIN + c] = (float)row[c];
    }
}

/* A round of training on what o knows, and the result handed to o. */
static void guide_train(guide_t *gd, pal_oracle_t *o, int steps)
{
    const data_t *d = gd->d;
    pal_graph_t *g;

    if (gd->kind == GUIDE_LINEAR) {
        check(pal_oracle_graph(o, 0, &g), "pal_oracle_graph");
        memset(gd->m, 0, (size_t)gd->npar * sizeof *gd->m);
        memset(gd->v, 0, (size_t)gd->npar * sizeof *gd->v);
        for (int t = 1; t <= steps; t++) {
            linear_apply(gd, d->x, d->n, gd->z);
            check(pal_grad_vic2(gd->ctx, g, PAL_F32, d->n, KLIN, gd->z,
                                KLIN, NULL, NULL, gd->dz, KLIN),
                  "pal_grad_vic2");
            /* dL/dW = (X - 1 mean^T)^T dL/dZ */
            memset(gd->sum, 0, (size_t)gd->npar * sizeof *gd->sum);
            for (int64_t i = 0; i < d->n; i++)
                for (int a = 0; a < NPIX; a++) {
                    const double xa = d->x[i * NPIX + a] - gd->mean[a];

                    for (int c = 0; c < KLIN; c++)
                        gd->sum[a * KLIN + c] += xa * gd->dz[i * KLIN + c];
                }
            for (int64_t p = 0; p < gd->npar; p++)
                gd->grad[p] = (float)gd->sum[p];
            adam(gd->par, gd->grad, gd->m, gd->v, gd->npar, t, LIN_RATE);
        }
        linear_apply(gd, d->x, d->n, gd->z);
    } else {
        g = neighbour_graph(d->nb, pal_oracle_store(o));
        fit(gd->ctx, g, d->n, gd->z, gd->dz, gd->m, gd->v, steps);
    }
    pal_graph_destroy(g);
    guide_rows(gd, d->x, gd->z, d->n, gd->out);
    check(pal_oracle_set_embedding(o, PAL_F32, d->n, gd->width, gd->out,
                                   gd->width),
          "pal_oracle_set_embedding");
}

/* Start the guidance of kind for o on d: the untrained embedding. */
static void guide_start(guide_t *gd, int kind, const data_t *d,
                        pal_oracle_t *o)
{
    const int linear = kind == GUIDE_LINEAR;

    memset(gd, 0, sizeof *gd);
    gd->kind = kind;
    gd->d = d;
    gd->k = linear ? KLIN : KEMB;
    gd->width = gd->k + (kind == GUIDE_BOTH ? NPIX : 0);
    gd->npar = linear ? NPIX * KLIN : d->n * KEMB;
    check(pal_ctx_create(&gd->ctx, NULL), "pal_ctx_create");
    gd->z = xcalloc((size_t)d->n * (size_t)gd->k, sizeof *gd->z);
    gd->dz = xcalloc((size_t)d->n * (size_t)gd->k, sizeof *gd->dz);
    gd->m = xcalloc((size_t)gd->npar, sizeof *gd->m);
    gd->v = xcalloc((size_t)gd->npar, sizeof *gd->v);
    gd->out = xcalloc((size_t)d->n * (size_t)gd->width, sizeof *gd->out);
    if (linear) {
        gd->par = xcalloc((size_t)gd->npar, sizeof *gd->par);
        gd->grad = xcalloc((size_t)gd->npar, sizeof *gd->grad);
        gd->sum = xcalloc((size_t)gd->npar, sizeof *gd->sum);
        principal(d, gd->mean, gd->par, KLIN);
        linear_apply(gd, d->x, d->n, gd->z);
    } else {
        memcpy(gd->z, d->nb->z0, (size_t)gd->npar * sizeof *gd->z);
    }
    guide_rows(gd, d->x, gd->z, d->n, gd->out);
    check(pal_oracle_set_embedding(o, PAL_F32, d->n, gd->width, gd->out,
                                   gd->width),
          "pal_oracle_set_embedding");
}

/* Before each question: a round of training once EVERY answers have
 * come since the last one. */
static void guide_update(guide_t *gd, pal_oracle_t *o)
{
    pal_oracle_costs_t c = {.size = sizeof c};

    check(pal_oracle_costs(o, &c), "pal_oracle_costs");
    if (c.answers - gd->last < EVERY)
        return;
    guide_train(gd, o, gd->kind == GUIDE_LINEAR ? LIN_STEPS : STEPS);
    gd->last = c.answers;
}

/*
 * The rows of the held-out digits (held->n x width) in the guidance's
 * embedding. The linear map applies to them as to any digit. The trained
 * embedding has rows for the oracle's digits only: a held-out digit gets
 * the mean of the rows of its NEIGHBOURS nearest pool digits in pixels
 * (held->near), before the scaling to norm 1.
 */
static float *guide_held(const guide_t *gd, const data_t *held)
{
    float *z = xcalloc((size_t)held->n * (size_t)gd->k, sizeof *z);
    float *out = xcalloc((size_t)held->n * (size_t)gd->width, sizeof *out);

    if (gd->kind == GUIDE_LINEAR)
        linear_apply(gd, held->x, held->n, z);
    else
        for (int64_t h = 0; h < held->n; h++)
            for (int k = 0; k < NEIGHBOURS; k++) {
                const float *r = gd->z + held->near[h * NEIGHBOURS + k] * KEMB;

                for (int c = 0; c < KEMB; c++)
                    z[h * KEMB + c] += r[c] / NEIGHBOURS;
            }
    guide_rows(gd, held->x, z, held->n, out);
    free(z);
    return out;
}

static void guide_free(guide_t *gd)
{
    pal_ctx_destroy(gd->ctx);
    free(gd->z);
    free(gd->dz);
    free(gd->m);
    free(gd->v);
    free(gd->out);
    free(gd->par);
    free(gd->grad);
    free(gd->sum);
}

static pal_oracle_t *make_voter(const mode_t *md, const data_t *d,
                               uint64_t seed, int64_t votes, int vote_on)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o;

    pal_oracle_opts_init(&op);
    op.votes = votes;
    op.vote_on = vote_on;
    op.sampler = md->sampler;
    op.seed = seed;
    op.screen_size = 15;
    op.num_classes = md->known ? NCLASSES : 0;
    op.item_order = md->order;
    check(pal_oracle_create(&o, d->n, &op, NULL), "pal_oracle_create");
    check(pal_oracle_set_labeler(o, truth, d->y), "pal_oracle_set_labeler");
    if (md->guided == GUIDE_PIXELS)
        check(pal_oracle_set_embedding(o, PAL_F32, d->n, NPIX, d->x, NPIX),
              "pal_oracle_set_embedding");
    return o;
}

static pal_oracle_t *make_oracle(const mode_t *md, const data_t *d,
                                 uint64_t seed)
{
    return make_voter(md, d, seed, 1, PAL_VOTE_ALL);
}

/* True when the store's classes are exactly the digits' classes. */
static int recovered(const pal_oracle_t *o, const data_t *d, int32_t *lab)
{
    pal_store_stats_t st = {.size = sizeof st};
    int32_t of[NCLASSES];
    int64_t nc;

    pal_store_stats(pal_oracle_store(o), &st);
    if (st.components != NCLASSES)
        return 0;
    pal_store_labels(pal_oracle_store(o), 0, lab, &nc);
    for (int c = 0; c < NCLASSES; c++)
        of[c] = -1;
    for (int64_t i = 0; i < d->n; i++) {
        if (of[d->y[i]] < 0)
            of[d->y[i]] = lab[i];
        if (of[d->y[i]] != lab[i])
            return 0;
    }
    return 1;
}

/*
 * Held-out accuracy of 1-NN over the revealed digits: those in a group of
 * two or more known alike, each group named by the digit of its smallest
 * member. The digits are compared by their rows of dim numbers in ref
 * (the pool) and query (the held-out digits): the pixels, or an
 * embedding.
 */
static double accuracy(const pal_oracle_t *o, const data_t *pool,
                       const data_t *held, const float *ref,
                       const float *query, int dim, int32_t *lab,
                       int64_t *groups)
{
    int64_t nc, right = 0, *size;
    int32_t *name;

    pal_store_labels(pal_oracle_store(o), PAL_STORE_SINGLETONS_UNKNOWN, lab,
                     &nc);
    size = xcalloc((size_t)nc + 1, sizeof *size);
    name = xcalloc((size_t)nc + 1, sizeof *name);
    for (int64_t i = pool->n - 1; i >= 0; i--)
        if (lab[i] >= 0) {
            size[lab[i]]++;
            name[lab[i]] = pool->y[i];
        }
    if (groups)
        *groups = nc;
    for (int64_t h = 0; h < held->n && nc > 0; h++) {
        const float *q = query + h * dim;
        double best = 1e300;
        int32_t guess = -1;

        for (int64_t i = 0; i < pool->n; i++) {
            const float *p = ref + i * dim;
            double s = 0.0;

            if (lab[i] < 0)
                continue;
            for (int j = 0; j < dim && s < best; j++)
                s += (double)(q[j] - p[j]) * (q[j] - p[j]);
            if (s < best) {
                best = s;
                guess = name[lab[i]];
            }
        }
        right += guess == held->y[h];
    }
    free(size);
    free(name);
    return (double)right / (double)held->n;
}

typedef struct result {
    int64_t answers, screens, deduced, classes;
    double acc[NBUDGETS];
    double acc_trained[NBUDGETS];   /* 1-NN in the trained embedding */
    int64_t groups[NBUDGETS];
} result_t;

static void costs_of(const pal_oracle_t *o, pal_oracle_costs_t *c)
{
    c->size = sizeof *c;
    check(pal_oracle_costs(o, c), "pal_oracle_costs");
}

/* Figure 1: answers until every label is recovered (or PAL_DONE). */
static void run_all(const mode_t *md, const data_t *d, uint64_t seed,
                    result_t *r)
{
    pal_oracle_t *o = make_oracle(md, d, seed);
    const int trained = md->guided >= GUIDE_LINEAR;
    pal_oracle_costs_t c;
    int32_t *lab = xcalloc((size_t)d->n, sizeof *lab);
    int rc = PAL_OK;
    guide_t gd;

    if (trained)
        guide_start(&gd, md->guided, d, o);
    while (!recovered(o, d, lab)) {
        if (trained)
            guide_update(&gd, o);
        rc = pal_oracle_step(o, NULL);
        check(rc, "pal_oracle_step");
        if (rc == PAL_DONE)
            break;
    }
    costs_of(o, &c);
    r->answers = rc == PAL_DONE ? -1 : c.answers;
    r->screens = c.screens;
    r->deduced = c.deduced;
    r->classes = c.classes;
    if (trained)
        guide_free(&gd);
    free(lab);
    pal_oracle_destroy(o);
}

/* Figure 2: held-out accuracy from the revealed labels, by budget; for a
 * trained guidance, also 1-NN in its embedding at that time. */
static void run_budgets(const mode_t *md, const data_t *pool,
                        const data_t *held, result_t *r)
{
    pal_oracle_t *o = make_oracle(md, pool, SEED);
    const int trained = md->guided >= GUIDE_LINEAR;
    int32_t *lab = xcalloc((size_t)pool->n, sizeof *lab);
    int b = 0;
    guide_t gd;

    if (trained)
        guide_start(&gd, md->guided, pool, o);
    while (b < NBUDGETS) {
        pal_oracle_costs_t c;
        pal_answer_t ans[64];
        const int64_t *cand;
        int64_t anchor, m;
        int rc;

        if (trained)
            guide_update(&gd, o);
        rc = pal_oracle_next(o, &anchor, &m, &cand);
        check(rc, "pal_oracle_next");
        costs_of(o, &c);
        while (b < NBUDGETS &&
               (rc == PAL_DONE || c.answers + m > budgets[b])) {
            r->acc[b] = accuracy(o, pool, held, pool->x, held->x, NPIX, lab,
                                 &r->groups[b]);
            r->acc_trained[b] = -1.0;
            if (trained) {
                float *q = guide_held(&gd, held);

                r->acc_trained[b] = accuracy(o, pool, held, gd.out, q,
                                             gd.width, lab, NULL);
                free(q);
            }
            b++;
        }
        if (rc == PAL_DONE || b == NBUDGETS)
            break;
        truth(pool->y, anchor, m, cand, ans);
        check(pal_oracle_answer(o, ans, NULL), "pal_oracle_answer");
    }
    if (trained)
        guide_free(&gd);
    free(lab);
    pal_oracle_destroy(o);
}

/* ---- Other seeds --------------------------------------------------------
 *
 * One seed tells little when two guidances differ by a few dozen answers:
 * the guided modes are run again to the end with the oracle seeds 1 to
 * NRUNS (the trained guidances start from the same embedding each time).
 */

#define NRUNS 5

typedef struct spread {
    double answers, sd, screens;
} spread_t;

static void run_seeds(const mode_t *md, const data_t *d, spread_t *s)
{
    double sum = 0.0, sum2 = 0.0, screens = 0.0;

    for (uint64_t seed = 1; seed <= NRUNS; seed++) {
        result_t r;

        run_all(md, d, seed, &r);
        sum += (double)r.answers;
        sum2 += (double)r.answers * (double)r.answers;
        screens += (double)r.screens;
    }
    s->answers = sum / NRUNS;
    s->sd = sqrt(fmax(sum2 / NRUNS - s->answers * s->answers, 0.0) *
                 NRUNS / (NRUNS - 1));
    s->screens = screens / NRUNS;
}

/* ---- A label hierarchy ------------------------------------------------- */

/* The host's coarse level: the digits grouped by their shape. */
static const int32_t shape_of[NCLASSES] = {0, 1, 2, 2, 1, 2, 0, 1, 0, 0};
#define SHAPES "{0, 6, 8, 9}, {1, 4, 7} and {2, 3, 5}"

/* The person, asked at two levels: the question's level says whether
 * "same" means the same shape group or the same digit. */
typedef struct hier_person {
    const pal_oracle_t *o;
    const int32_t *y;
} hier_person_t;

static int hier_truth(void *user, int64_t anchor, int64_t m,
                      const int64_t *cand, pal_answer_t *answers)
{
    const hier_person_t *h = user;
    int64_t level;

    if (pal_oracle_level(h->o, &level) != PAL_OK)
        return -1;
    for (int64_t k = 0; k < m; k++) {
        int32_t a = h->y[anchor], c = h->y[cand[k]];
        int same = level == 1 ? shape_of[a] == shape_of[c] : a == c;

        answers[k] = same ? PAL_ANSWER_SAME : PAL_ANSWER_DIFFERENT;
    }
    return 0;
}

typedef struct hier_mode {
    const char *name;
    pal_sampler_t sampler;
    int guided;             /* GUIDE_NONE or GUIDE_PIXELS */
    int order;              /* item: a pal_item_order_t */
} hier_mode_t;

static const hier_mode_t hier_modes[] = {
    {"item, unguided", PAL_SAMPLER_ITEM, GUIDE_NONE, PAL_ITEM_ORDER_RANDOM},
    {"item, pixels, random order", PAL_SAMPLER_ITEM, GUIDE_PIXELS,
     PAL_ITEM_ORDER_RANDOM},
    {"item, pixels, certain first", PAL_SAMPLER_ITEM, GUIDE_PIXELS,
     PAL_ITEM_ORDER_CERTAIN},
    {"captcha, unguided", PAL_SAMPLER_CAPTCHA, GUIDE_NONE, 0},
    {"captcha, guided by pixels", PAL_SAMPLER_CAPTCHA, GUIDE_PIXELS, 0},
};

#define NHIER (sizeof hier_modes / sizeof hier_modes[0])

/* Answers, coarse ones among them, and screens until every label is
 * recovered: means over the oracle seeds 1 to NRUNS. */
static void run_hier(const hier_mode_t *hm, int64_t levels, const data_t *d,
                     double *answers, double *coarse, double *screens)
{
    int32_t *lab = xcalloc((size_t)d->n, sizeof *lab);

    *answers = *coarse = *screens = 0.0;
    for (uint64_t seed = 1; seed <= NRUNS; seed++) {
        pal_oracle_opts_t op;
        pal_oracle_costs_t c;
        pal_oracle_t *o;
        hier_person_t h;
        int rc = PAL_OK;

        pal_oracle_opts_init(&op);
        op.sampler = hm->sampler;
        op.levels = levels;
        op.screen_size = 15;
        op.seed = seed;
        op.item_order = hm->order;
        check(pal_oracle_create(&o, d->n, &op, NULL), "pal_oracle_create");
        h.o = o;
        h.y = d->y;
        check(pal_oracle_set_labeler(o, hier_truth, &h),
              "pal_oracle_set_labeler");
        if (hm->guided == GUIDE_PIXELS)
            check(pal_oracle_set_embedding(o, PAL_F32, d->n, NPIX, d->x,
                                           NPIX),
                  "pal_oracle_set_embedding");
        while (rc != PAL_DONE && !recovered(o, d, lab)) {
            rc = pal_oracle_step(o, NULL);
            check(rc, "pal_oracle_step");
        }
        costs_of(o, &c);
        *answers += (double)c.answers / NRUNS;
        *coarse += (double)c.coarse / NRUNS;
        *screens += (double)c.screens / NRUNS;
        pal_oracle_destroy(o);
    }
    free(lab);
}

/* ---- A noisy person ---------------------------------------------------- */

#define FLIP_P 0.05
#define NSEEDS 3

typedef struct noisy_mode {
    const char *name;
    int mode;               /* index in modes[] */
    int64_t votes;
    int vote_on;
} noisy_mode_t;

static const noisy_mode_t noisy[] = {
    {"item, pixels, certain", 14, 1, PAL_VOTE_ALL},
    {"  + votes of 3 on all", 14, 3, PAL_VOTE_ALL},
    {"  + votes of 3 on same", 14, 3, PAL_VOTE_SAME},
    {"item, pixels, C known, certain", 15, 1, PAL_VOTE_ALL},
    {"  + votes of 3 on all", 15, 3, PAL_VOTE_ALL},
    {"  + votes of 3 on same", 15, 3, PAL_VOTE_SAME},
    {"captcha, guided by pixels", 3, 1, PAL_VOTE_ALL},
    {"  + votes of 3 on all", 3, 3, PAL_VOTE_ALL},
    {"  + votes of 3 on same", 3, 3, PAL_VOTE_SAME},
};

#define NNOISY (sizeof noisy / sizeof noisy[0])

typedef struct noisy_result {
    double answers, correct, classes, flips;
} noisy_result_t;

/* Share of items whose class, named by its most common true label, is
 * their own. */
static double share_correct(const pal_oracle_t *o, const data_t *d,
                            int32_t *lab)
{
    int64_t nc, right = 0, *votes;

    pal_store_labels(pal_oracle_store(o), 0, lab, &nc);
    votes = xcalloc((size_t)nc * NCLASSES, sizeof *votes);
    for (int64_t i = 0; i < d->n; i++)
        votes[lab[i] * NCLASSES + d->y[i]]++;
    for (int64_t c = 0; c < nc; c++) {
        int64_t best = 0;

        for (int k = 0; k < NCLASSES; k++)
            best = votes[c * NCLASSES + k] > best ? votes[c * NCLASSES + k]
                                                  : best;
        right += best;
    }
    free(votes);
    return (double)right / (double)d->n;
}

static void run_noisy(const noisy_mode_t *nm, const data_t *d,
                      noisy_result_t *r)
{
    int32_t *lab = xcalloc((size_t)d->n, sizeof *lab);

    memset(r, 0, sizeof *r);
    for (int seed = 0; seed < NSEEDS; seed++) {
        pal_oracle_t *o = make_voter(&modes[nm->mode], d, SEED,
                                     nm->votes, nm->vote_on);
        pal_oracle_costs_t c;
        pal_flip_t *f;
        int64_t flipped;
        int rc;

        check(pal_flip_create(&f, truth, d->y, FLIP_P, 100 + (uint64_t)seed,
                              NULL),
              "pal_flip_create");
        check(pal_oracle_set_labeler(o, pal_flip_labeler, f),
              "pal_oracle_set_labeler");
        while ((rc = pal_oracle_step(o, NULL)) == PAL_OK)
            ;
        check(rc, "pal_oracle_step");
        costs_of(o, &c);
        check(pal_flip_counts(f, NULL, &flipped), "pal_flip_counts");
        r->answers += (double)c.answers / NSEEDS;
        r->classes += (double)c.classes / NSEEDS;
        r->flips += (double)flipped / NSEEDS;
        r->correct += share_correct(o, d, lab) / NSEEDS;
        pal_flip_destroy(f);
        pal_oracle_destroy(o);
    }
    free(lab);
}

int main(int argc, char **argv)
{
    noisy_result_t nres[NNOISY];
    double hres[NHIER][2][3];   /* answers, coarse, screens by levels */
    data_t all, pool, held;
    neighbours_t nb_all, nb_pool;
    result_t res[NMODES];
    const size_t nmodes = NMODES;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIGITS.csv\n", argv[0]);
        return 2;
    }
    load(argv[1], &all);
    split(&all, &pool, &held);
    fprintf(stderr, "oracle_digits: neighbour graphs and pretraining ...\n");
    neighbours_build(&nb_all, &all);
    neighbours_build(&nb_pool, &pool);
    all.nb = &nb_all;
    pool.nb = &nb_pool;
    held.near = xcalloc((size_t)held.n * NEIGHBOURS, sizeof *held.near);
    for (int64_t h = 0; h < held.n; h++)
        nearest(pool.x, pool.n, held.x + h * NPIX, -1,
                held.near + h * NEIGHBOURS);

    for (size_t k = 0; k < nmodes; k++) {
        fprintf(stderr, "oracle_digits: %s ...\n", modes[k].name);
        run_all(&modes[k], &all, SEED, &res[k]);
        run_budgets(&modes[k], &pool, &held, &res[k]);
    }

    printf("Labelling the 1,797 digits (10 classes) by cheap answers\n\n");
    printf("%-32s %8s %8s %8s | held-out 1-NN accuracy after\n", "oracle",
           "answers", "screens", "deduced");
    printf("%-32s %8s %8s %8s |", "", "all", "all", "");
    for (int b = 0; b < NBUDGETS; b++)
        printf(" %6lld", (long long)budgets[b]);
    printf("  answers\n");
    for (size_t k = 0; k < nmodes; k++) {
        const result_t *r = &res[k];

        printf("%-32s %8lld %8lld %8lld |", modes[k].name,
               (long long)r->answers, (long long)r->screens,
               (long long)r->deduced);
        for (int b = 0; b < NBUDGETS; b++)
            printf(" %5.1f%%", 100.0 * r->acc[b]);
        printf("\n");
    }
    printf("\nanswers, screens: spent until the known classes are exactly "
           "the digits'\n(-1: the oracle finished first); deduced: items "
           "placed by elimination,\nnot asked. Held-out: 500 digits never "
           "shown; the classifier (1-NN in\npixels) sees only the digits "
           "whose class the answers revealed. Linear\nmap, trained: "
           "guidance trained with VIC^2 every %d answers (see the\n"
           "source).\n",
           EVERY);

    printf("\nThe same held-out 1-NN in the trained guidance's own "
           "embedding\n\n%-32s", "oracle");
    for (int b = 0; b < NBUDGETS; b++)
        printf(" %6lld", (long long)budgets[b]);
    printf("  answers\n");
    for (size_t k = 0; k < nmodes; k++) {
        if (modes[k].guided < GUIDE_LINEAR)
            continue;
        printf("%-32s", modes[k].name);
        for (int b = 0; b < NBUDGETS; b++)
            printf(" %5.1f%%", 100.0 * res[k].acc_trained[b]);
        printf("\n");
    }

    printf("\nEvery label recovered, oracle seeds 1 to %d: mean +- standard "
           "deviation\n\n%-32s %15s %8s\n",
           NRUNS, "oracle", "answers", "screens");
    for (size_t k = 0; k < nmodes; k++) {
        spread_t sp;

        if (modes[k].guided == GUIDE_NONE || modes[k].known)
            continue;
        fprintf(stderr, "oracle_digits: %d seeds, %s ...\n", NRUNS,
                modes[k].name);
        run_seeds(&modes[k], &all, &sp);
        printf("%-32s %7.0f +- %4.0f %8.0f\n", modes[k].name, sp.answers,
               sp.sd, sp.screens);
    }

    for (size_t k = 0; k < NHIER; k++)
        for (int64_t levels = 1; levels <= 2; levels++) {
            fprintf(stderr, "oracle_digits: %lld levels, %s ...\n",
                    (long long)levels, hier_modes[k].name);
            run_hier(&hier_modes[k], levels, &all, &hres[k][levels - 1][0],
                     &hres[k][levels - 1][1], &hres[k][levels - 1][2]);
        }
    printf("\nA label hierarchy given by the host: the digits in three "
           "groups by shape,\n%s. With levels = 2 the\noracles ask "
           "an item's group, then its digit among the group's (the\n"
           "item mode, guided, first tries the most likely digit). Every "
           "label\nrecovered, mean of seeds 1 to %d.\n\n%-32s %6s "
           "%8s %8s %8s %8s\n",
           SHAPES, NRUNS, "oracle", "levels", "answers", "coarse", "fine",
           "screens");
    for (size_t k = 0; k < NHIER; k++)
        for (int levels = 1; levels <= 2; levels++) {
            const double *h = hres[k][levels - 1];

            printf("%-32s %6d %8.0f %8.0f %8.0f %8.0f\n",
                   hier_modes[k].name, levels, h[0], h[1], h[0] - h[1],
                   h[2]);
        }

    for (size_t k = 0; k < NNOISY; k++) {
        fprintf(stderr, "oracle_digits: noisy, %s ...\n", noisy[k].name);
        run_noisy(&noisy[k], &all, &nres[k]);
    }
    printf("\nA noisy person: each answer flipped with probability %.2f, "
           "mean of %d seeds\n\n",
           FLIP_P, NSEEDS);
    printf("%-32s %8s %8s %8s %9s\n", "oracle", "answers", "flipped",
           "classes", "correct");
    for (size_t k = 0; k < NNOISY; k++)
        printf("%-32s %8.0f %8.0f %8.1f %8.1f%%\n", noisy[k].name,
               nres[k].answers, nres[k].flips, nres[k].classes,
               100.0 * nres[k].correct);
    printf("\nRun to the end (every relation known or deduced). correct: "
           "digits whose\nclass, named by the digit most of its members "
           "show, is their own.\n");
    free(all.x);
    free(all.y);
    free(pool.x);
    free(pool.y);
    free(held.x);
    free(held.y);
    free(held.near);
    neighbours_free(&nb_all);
    neighbours_free(&nb_pool);
    return 0;
}
