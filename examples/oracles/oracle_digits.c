/*
 * How many cheap answers does it take to label a whole data set?
 *
 * The 1,797 handwritten digits (8 x 8 pixels, 10 classes) are labelled by
 * a simulated person who answers every question truthfully, through
 * libpal's oracles: random pairs (passive), captcha screens of 15
 * candidates without and with guidance by the raw pixels, and the
 * item-centric mode, with the number of classes known or not. For each,
 * two figures:
 *
 *   1. on all 1,797 digits: the answers (and screens) spent until the
 *      known classes are exactly the digits' classes;
 *   2. on a fixed pool of 1,297 digits, the other 500 held out and never
 *      shown: the accuracy on the held-out digits of a 1-nearest-
 *      neighbour classifier on pixels trained only on the digits whose
 *      class the answers revealed, after 150, 300, 600 and 1,200
 *      answers. A revealed class is named by the digit of one member, as
 *      a person would name a pile of images once.
 *
 * A third table puts a noisy person in front of the best modes: each
 * answer is flipped (same <-> different) with probability 0.05
 * (pal_flip_create), and the oracles run to their end with and without
 * votes (disputed pairs re-asked until a majority of 3): the answers
 * spent and the share of digits whose label came out right (each class
 * found named by the digit most of its members show), over three seeds
 * of the flips.
 *
 * Usage: oracle_digits DIGITS.csv   (progress goes to stderr)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pal/pal.h>

#define NPIX 64
#define NCLASSES 10
#define NHELD 500
#define NBUDGETS 4

static const int64_t budgets[NBUDGETS] = {150, 300, 600, 1200};

typedef struct data {
    int64_t n;
    float *x;       /* n x NPIX, pixels in [0, 1] */
    int32_t *y;
} data_t;

typedef struct mode {
    const char *name;
    pal_sampler_t sampler;
    int guided;             /* hand the pixels to the oracle */
    int known;              /* tell it the number of classes */
    int order;              /* item: a pal_item_order_t */
} mode_t;

static const mode_t modes[] = {
    {"passive (random pairs)", PAL_SAMPLER_PASSIVE, 0, 0, 0},
    {"captcha, unguided", PAL_SAMPLER_CAPTCHA, 0, 0, 0},
    {"captcha, unguided, C known", PAL_SAMPLER_CAPTCHA, 0, 1, 0},
    {"captcha, guided by pixels", PAL_SAMPLER_CAPTCHA, 1, 0, 0},
    {"captcha, guided, C known", PAL_SAMPLER_CAPTCHA, 1, 1, 0},
    {"item, unguided", PAL_SAMPLER_ITEM, 0, 0, PAL_ITEM_ORDER_RANDOM},
    {"item, pixels, random order", PAL_SAMPLER_ITEM, 1, 0,
     PAL_ITEM_ORDER_RANDOM},
    {"item, pixels, C known, random", PAL_SAMPLER_ITEM, 1, 1,
     PAL_ITEM_ORDER_RANDOM},
    {"item, pixels, certain first", PAL_SAMPLER_ITEM, 1, 0,
     PAL_ITEM_ORDER_CERTAIN},
    {"item, pixels, C known, certain", PAL_SAMPLER_ITEM, 1, 1,
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

static pal_oracle_t *make_voter(const mode_t *md, const data_t *d,
                               int64_t votes, int vote_on)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o;

    pal_oracle_opts_init(&op);
    op.votes = votes;
    op.vote_on = vote_on;
    op.sampler = md->sampler;
    op.seed = 7;
    op.screen_size = 15;
    op.num_classes = md->known ? NCLASSES : 0;
    op.item_order = md->order;
    check(pal_oracle_create(&o, d->n, &op, NULL), "pal_oracle_create");
    check(pal_oracle_set_labeler(o, truth, d->y), "pal_oracle_set_labeler");
    if (md->guided)
        check(pal_oracle_set_embedding(o, PAL_F32, d->n, NPIX, d->x, NPIX),
              "pal_oracle_set_embedding");
    return o;
}

static pal_oracle_t *make_oracle(const mode_t *md, const data_t *d)
{
    return make_voter(md, d, 1, PAL_VOTE_ALL);
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
 * Held-out accuracy of 1-NN on pixels over the revealed digits: those in
 * a group of two or more known alike, each group named by the digit of
 * its smallest member.
 */
static double accuracy(const pal_oracle_t *o, const data_t *pool,
                       const data_t *held, int32_t *lab, int64_t *groups)
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
    *groups = nc;
    for (int64_t h = 0; h < held->n && nc > 0; h++) {
        const float *q = held->x + h * NPIX;
        double best = 1e300;
        int32_t guess = -1;

        for (int64_t i = 0; i < pool->n; i++) {
            const float *p = pool->x + i * NPIX;
            double s = 0.0;

            if (lab[i] < 0)
                continue;
            for (int j = 0; j < NPIX && s < best; j++)
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
    int64_t groups[NBUDGETS];
} result_t;

static void costs_of(const pal_oracle_t *o, pal_oracle_costs_t *c)
{
    c->size = sizeof *c;
    check(pal_oracle_costs(o, c), "pal_oracle_costs");
}

/* Figure 1: answers until every label is recovered (or PAL_DONE). */
static void run_all(const mode_t *md, const data_t *d, result_t *r)
{
    pal_oracle_t *o = make_oracle(md, d);
    pal_oracle_costs_t c;
    int32_t *lab = xcalloc((size_t)d->n, sizeof *lab);
    int rc = PAL_OK;

    while (!recovered(o, d, lab)) {
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
    free(lab);
    pal_oracle_destroy(o);
}

/* Figure 2: held-out accuracy from the revealed labels, by budget. */
static void run_budgets(const mode_t *md, const data_t *pool,
                        const data_t *held, result_t *r)
{
    pal_oracle_t *o = make_oracle(md, pool);
    int32_t *lab = xcalloc((size_t)pool->n, sizeof *lab);
    int b = 0;

    while (b < NBUDGETS) {
        pal_oracle_costs_t c;
        pal_answer_t ans[64];
        const int64_t *cand;
        int64_t anchor, m;
        int rc = pal_oracle_next(o, &anchor, &m, &cand);

        check(rc, "pal_oracle_next");
        costs_of(o, &c);
        while (b < NBUDGETS &&
               (rc == PAL_DONE || c.answers + m > budgets[b])) {
            r->acc[b] = accuracy(o, pool, held, lab, &r->groups[b]);
            b++;
        }
        if (rc == PAL_DONE || b == NBUDGETS)
            break;
        truth(pool->y, anchor, m, cand, ans);
        check(pal_oracle_answer(o, ans, NULL), "pal_oracle_answer");
    }
    free(lab);
    pal_oracle_destroy(o);
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
    {"item, pixels, certain", 8, 1, PAL_VOTE_ALL},
    {"  + votes of 3 on all", 8, 3, PAL_VOTE_ALL},
    {"  + votes of 3 on same", 8, 3, PAL_VOTE_SAME},
    {"item, pixels, C known, certain", 9, 1, PAL_VOTE_ALL},
    {"  + votes of 3 on all", 9, 3, PAL_VOTE_ALL},
    {"  + votes of 3 on same", 9, 3, PAL_VOTE_SAME},
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
        pal_oracle_t *o = make_voter(&modes[nm->mode], d, nm->votes,
                                     nm->vote_on);
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
    data_t all, pool, held;
    result_t res[NMODES];
    const size_t nmodes = NMODES;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIGITS.csv\n", argv[0]);
        return 2;
    }
    load(argv[1], &all);
    split(&all, &pool, &held);

    for (size_t k = 0; k < nmodes; k++) {
        fprintf(stderr, "oracle_digits: %s ...\n", modes[k].name);
        run_all(&modes[k], &all, &res[k]);
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
           "shown; the classifier sees only\nthe digits whose class the "
           "answers revealed.\n");

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
    return 0;
}
