/*
 * Oracles: options, the passive, captcha and SSL samplers, the labeler
 * contract and the pull API, batches, costs, reproducibility, and
 * allocation failures that must change nothing.
 */
#include <unistd.h>

#include "storeutil.h"

/* Outputs of pal_oracle_next where a test only needs its status. */
static int64_t q_anchor, q_m;
static const int64_t *q_cand;

/* ---- A labeler answering from true labels -------------------------------- */

typedef struct truth {
    const int32_t *y;
    int64_t n;
    pal_oracle_t *o;          /* whose store is checked during each call */
    long calls;
    long fail_at;             /* this call reports failure (0: never) */
    long bad_at;              /* this call writes an invalid answer */
    double p_unsure;
    trng_t r;
    unsigned char *unsure;    /* n * n: (anchor, item) answered unsure */
    bool no_repeat;           /* captcha: unsure items never come back */
    int64_t anchor, m, cand[512];   /* the last question */
    pal_answer_t ans[512];          /* and its answers */
} truth_t;

static void truth_init(truth_t *t, const int32_t *y, int64_t n,
                       pal_oracle_t *o, double p_unsure)
{
    memset(t, 0, sizeof *t);
    t->y = y;
    t->n = n;
    t->o = o;
    t->p_unsure = p_unsure;
    t->unsure = calloc((size_t)(n * n), 1);
    t->no_repeat = o && pal_oracle_templates(o, NULL, 0, NULL) == PAL_OK;
    trng_seed(&t->r, test_seed() + 99);
}

/*
 * Every question must be about pairs whose relation is unknown, with
 * distinct candidates other than the anchor, and never an item already
 * answered unsure against the same anchor.
 */
static void check_question(const truth_t *t, int64_t anchor, int64_t m,
                           const int64_t *cand)
{
    const pal_store_t *s = pal_oracle_store(t->o);

    ck_assert_int_ge(anchor, 0);
    ck_assert_int_lt(anchor, t->n);
    ck_assert_int_ge(m, 1);
    for (int64_t k = 0; k < m; k++) {
        pal_relation_t r;

        ck_assert_int_ge(cand[k], 0);
        ck_assert_int_lt(cand[k], t->n);
        ck_assert_int_ne(cand[k], anchor);
        for (int64_t q = 0; q < k; q++)
            ck_assert_int_ne(cand[q], cand[k]);
        ck_status(pal_store_relation(s, anchor, cand[k], &r), PAL_OK);
        ck_assert_int_eq(r, PAL_REL_UNKNOWN);
        if (t->no_repeat)
            ck_assert_int_eq(t->unsure[anchor * t->n + cand[k]], 0);
    }
}

static void truth_answers(truth_t *t, int64_t anchor, int64_t m,
                          const int64_t *cand, pal_answer_t *ans)
{
    for (int64_t k = 0; k < m; k++) {
        if (trng_unit(&t->r) < t->p_unsure)
            ans[k] = PAL_ANSWER_UNSURE;
        else
            ans[k] = t->y[anchor] == t->y[cand[k]] ? PAL_ANSWER_SAME
                                                   : PAL_ANSWER_DIFFERENT;
    }
}

static int truth_labeler(void *user, int64_t anchor, int64_t m,
                         const int64_t *cand, pal_answer_t *ans)
{
    truth_t *t = user;

    t->calls++;
    check_question(t, anchor, m, cand);
    ck_assert_int_le(m, 512);
    t->anchor = anchor;
    t->m = m;
    memcpy(t->cand, cand, (size_t)m * sizeof *cand);
    if (t->calls == t->fail_at)
        return 1;
    truth_answers(t, anchor, m, cand, ans);
    if (t->calls == t->bad_at)
        ans[m - 1] = (pal_answer_t)7;
    memcpy(t->ans, ans, (size_t)m * sizeof *ans);
    return 0;
}

/* After a successful step: remember the items answered unsure. */
static void truth_note(truth_t *t)
{
    for (int64_t k = 0; k < t->m; k++)
        if (t->ans[k] == PAL_ANSWER_UNSURE)
            t->unsure[t->anchor * t->n + t->cand[k]] = 1;
}

static void truth_free(truth_t *t)
{
    free(t->unsure);
}

static pal_oracle_t *new_oracle(int64_t n, pal_sampler_t sampler,
                                uint64_t seed, int64_t screen)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL;

    pal_oracle_opts_init(&op);
    op.sampler = sampler;
    op.seed = seed;
    op.screen_size = screen;
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    return o;
}

static pal_store_stats_t store_stats(const pal_oracle_t *o)
{
    pal_store_stats_t st = {.size = sizeof st};

    ck_status(pal_store_stats(pal_oracle_store(o), &st), PAL_OK);
    return st;
}

/*
 * At PAL_DONE, a passive oracle has made the store complete; a captcha
 * oracle has left unknown only questions answered unsure against a class.
 */
static void check_done(const truth_t *t)
{
    const pal_store_t *s = pal_oracle_store(t->o);
    int64_t tmpl[512], count;

    if (!t->no_repeat) {
        ck_assert_int_eq(store_stats(t->o).complete, 1);
        return;
    }
    ck_status(pal_oracle_templates(t->o, tmpl, 512, &count), PAL_OK);
    for (int64_t c = 0; c < count && c < 512; c++) {
        for (int64_t x = 0; x < t->n; x++) {
            pal_relation_t r;

            ck_status(pal_store_relation(s, tmpl[c], x, &r), PAL_OK);
            ck_assert(r != PAL_REL_UNKNOWN || t->unsure[tmpl[c] * t->n + x]);
        }
    }
}

/* True when the store's labels equal y up to a renaming of classes. */
static bool labels_match(const pal_store_t *s, const int32_t *y, int64_t n)
{
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    bool ok = pal_store_labels(s, 0, lab, NULL) == PAL_OK;

    for (int64_t i = 0; ok && i < n; i++)
        for (int64_t j = 0; ok && j < n; j++)
            ok = (lab[i] == lab[j]) == (y[i] == y[j]);
    free(lab);
    return ok;
}

/*
 * Drive a labelled oracle by steps until PAL_DONE; returns the steps.
 * Checks the store's counters against the costs after every step.
 */
static long run_to_done(pal_oracle_t *o, truth_t *t, pal_batch_t *b)
{
    long steps = 0;
    int rc;

    ck_status(pal_oracle_set_labeler(o, truth_labeler, t), PAL_OK);
    while ((rc = pal_oracle_step(o, b)) == PAL_OK) {
        pal_oracle_costs_t c = costs(o);

        truth_note(t);
        steps++;
        ck_assert_int_eq(c.steps, steps);
        ck_assert_int_eq(c.screens, steps);
        ck_assert_int_eq(store_stats(o).answers, c.answers);
        ck_assert_int_eq(c.same + c.different + c.unsure, c.answers);
        ck_assert_int_lt(steps, 1000000);
    }
    ck_status(rc, PAL_DONE);
    return steps;
}

/* ---- Options ------------------------------------------------------------- */

START_TEST(options_and_create)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o = (pal_oracle_t *)&op;
    int64_t src[4] = {0, 0, 3, 4};
    struct {
        pal_oracle_opts_t op;
        uint64_t later;
    } big;

    pal_oracle_opts_init(NULL);
    pal_oracle_opts_init(&op);
    ck_assert_uint_eq(op.size, sizeof op);
    ck_assert_int_eq(op.sampler, PAL_SAMPLER_CAPTCHA);
    ck_assert_int_eq(op.screen_size, 15);
    ck_assert_int_eq(op.views, 2);
    ck_assert_int_eq(op.reg_mode, -1);
    ck_assert_int_eq(op.reg_pairs, 64);
    ck_assert(op.negative_weight == 0.0);
    ck_assert(op.cost_screen == 0.0 && op.cost_candidate == 0.0 &&
              op.cost_answer == 0.0 && op.budget == 0.0);
    ck_assert_int_eq(op.stall_screens, 0);

    ck_status(pal_oracle_create(NULL, 10, NULL, NULL), PAL_E_NULL);
    ck_status(pal_oracle_create(&o, 0, NULL, NULL), PAL_E_SIZE);
    ck_status(pal_oracle_create(&o, (int64_t)INT32_MAX + 1, NULL, NULL),
              PAL_E_SIZE);
    ck_status(pal_oracle_create(&o, 1, NULL, NULL), PAL_E_SIZE);
    op.sampler = PAL_SAMPLER_PASSIVE;
    ck_status(pal_oracle_create(&o, 1, &op, NULL), PAL_E_SIZE);

#define BAD(field, value, code)                                  \
    do {                                                         \
        pal_oracle_opts_init(&op);                               \
        op.field = value;                                        \
        ck_status(pal_oracle_create(&o, 8, &op, NULL), code);    \
    } while (0)
    BAD(size, 3, PAL_E_RANGE);
    BAD(sampler, (pal_sampler_t)0, PAL_E_RANGE);
    BAD(sampler, (pal_sampler_t)7, PAL_E_RANGE);
    BAD(nn_metric, 2, PAL_E_RANGE);
    BAD(nn_queue, -1, PAL_E_RANGE);
    BAD(screen_size, 0, PAL_E_RANGE);
    BAD(views, 0, PAL_E_RANGE);
    BAD(reg_mode, -2, PAL_E_RANGE);
    BAD(reg_mode, 3, PAL_E_RANGE);
    BAD(reg_pairs, -1, PAL_E_RANGE);
    BAD(negative_weight, NAN, PAL_E_RANGE);
    BAD(negative_weight, INFINITY, PAL_E_RANGE);
    BAD(candidates, -1, PAL_E_RANGE);
    BAD(candidates, 2, PAL_E_RANGE);
    BAD(cost_screen, -1.0, PAL_E_RANGE);
    BAD(cost_candidate, NAN, PAL_E_RANGE);
    BAD(cost_answer, INFINITY, PAL_E_RANGE);
    BAD(cost_answer, -0.5, PAL_E_RANGE);
    BAD(budget, -1.0, PAL_E_RANGE);
    BAD(budget, NAN, PAL_E_RANGE);
    BAD(budget, INFINITY, PAL_E_RANGE);
    BAD(stall_screens, -1, PAL_E_RANGE);
    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_PASSIVE;
    op.stall_screens = 2;
    ck_status(pal_oracle_create(&o, 8, &op, NULL), PAL_E_RANGE);
    op.sampler = PAL_SAMPLER_CUSTOM;
    ck_status(pal_oracle_create(&o, 8, &op, NULL), PAL_E_RANGE);
#undef BAD
    ck_assert_ptr_eq(o, (pal_oracle_t *)&op);

    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_SSL;
    op.views = 3;
    ck_status(pal_oracle_create(&o, 8, &op, NULL), PAL_E_SHAPE);
    op.source = src;
    ck_status(pal_oracle_create(&o, 4, &op, NULL), PAL_E_INDEX);
    src[3] = -1;
    ck_status(pal_oracle_create(&o, 4, &op, NULL), PAL_E_INDEX);
    src[3] = 1;
    ck_status(pal_oracle_create(&o, 4, &op, NULL), PAL_OK);
    pal_oracle_destroy(o);
    op.source = NULL;
    op.views = 1;
    ck_status(pal_oracle_create(&o, 1, &op, NULL), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    pal_oracle_destroy(o);

    /* A larger options structure is accepted when its tail is zero. */
    memset(&big, 0, sizeof big);
    pal_oracle_opts_init(&big.op);
    big.op.size = sizeof big;
    ck_status(pal_oracle_create(&o, 8, &big.op, NULL), PAL_OK);
    pal_oracle_destroy(o);
    big.later = 1;
    ck_status(pal_oracle_create(&o, 8, &big.op, NULL), PAL_E_RANGE);
    pal_oracle_destroy(NULL);
}
END_TEST

START_TEST(call_arguments)
{
    pal_oracle_t *o = new_oracle(10, PAL_SAMPLER_PASSIVE, 1, 1);
    pal_oracle_costs_t c = {.size = sizeof c};
    int64_t tmpl[4], count = 9;
    pal_answer_t ans = PAL_ANSWER_SAME;

    ck_status(pal_oracle_set_labeler(NULL, truth_labeler, NULL), PAL_E_NULL);
    ck_status(pal_oracle_step(NULL, NULL), PAL_E_NULL);
    ck_status(pal_oracle_step(o, NULL), PAL_E_STATE);
    ck_status(pal_oracle_next(NULL, NULL, NULL, NULL), PAL_E_NULL);
    ck_status(pal_oracle_next(NULL, &q_anchor, &q_m, &q_cand), PAL_E_NULL);
    ck_status(pal_oracle_next(o, NULL, &q_m, &q_cand), PAL_E_NULL);
    ck_status(pal_oracle_next(o, &q_anchor, NULL, &q_cand), PAL_E_NULL);
    ck_status(pal_oracle_next(o, &q_anchor, &q_m, NULL), PAL_E_NULL);
    ck_status(pal_oracle_answer(NULL, &ans, NULL), PAL_E_NULL);
    ck_status(pal_oracle_answer(o, NULL, NULL), PAL_E_NULL);
    ck_status(pal_oracle_answer(o, &ans, NULL), PAL_E_STATE);
    ck_assert_ptr_null(pal_oracle_store(NULL));
    ck_status(pal_oracle_costs(NULL, &c), PAL_E_NULL);
    ck_status(pal_oracle_costs(o, NULL), PAL_E_NULL);
    c.size = 8;
    ck_status(pal_oracle_costs(o, &c), PAL_E_SIZE);
    ck_status(pal_oracle_templates(NULL, tmpl, 4, &count), PAL_E_NULL);
    ck_status(pal_oracle_templates(o, tmpl, 4, &count), PAL_E_STATE);
    ck_assert_int_eq(count, 9);
    pal_oracle_cancel(NULL);
    pal_oracle_destroy(o);

    o = new_oracle(10, PAL_SAMPLER_CAPTCHA, 1, 3);
    ck_status(pal_oracle_templates(o, NULL, 4, &count), PAL_E_NULL);
    ck_status(pal_oracle_templates(o, NULL, 0, &count), PAL_OK);
    ck_assert_int_eq(count, 1);
    ck_status(pal_oracle_templates(o, tmpl, 4, NULL), PAL_OK);
    ck_assert_int_ge(tmpl[0], 0);
    ck_assert_int_lt(tmpl[0], 10);
    ck_assert_int_eq(costs(o).classes, 1);
    pal_oracle_destroy(o);
}
END_TEST

/* ---- Passive ------------------------------------------------------------- */

START_TEST(passive_asks_only_unknown_pairs)
{
    for (int run = 0; run < 6; run++) {
        int64_t n = 5 + 9 * run;
        int32_t *y = true_labels(n, 1 + run, test_seed() + (uint64_t)run);
        pal_oracle_t *o = new_oracle(n, PAL_SAMPLER_PASSIVE,
                                     test_seed() + 5, 1);
        pal_batch_t *b = NULL;
        truth_t t;
        long steps;

        truth_init(&t, y, n, o, run % 2 ? 0.1 : 0.0);
        ck_status(pal_batch_create(&b, NULL), PAL_OK);
        steps = run_to_done(o, &t, b);
        ck_assert_int_eq(store_stats(o).complete, 1);
        ck_assert_int_eq(store_stats(o).conflicts, 0);
        ck_assert(labels_match(pal_oracle_store(o), y, n));
        ck_assert_int_eq(costs(o).answers, steps);
        ck_assert_int_eq(costs(o).classes, 0);

        /* I holds every pair made known, and J the same pairs. */
        ck_assert_int_eq(pal_batch_n_pairs(b), n * (n - 1) / 2);
        ck_assert_int_eq(pal_batch_n_reg(b), n * (n - 1) / 2);
        ck_status(pal_oracle_step(o, b), PAL_DONE);
        ck_status(pal_oracle_next(o, &q_anchor, &q_m, &q_cand), PAL_DONE);
        truth_free(&t);
        pal_batch_destroy(b);
        pal_oracle_destroy(o);
        free(y);
    }
}
END_TEST

/* ---- Captcha ------------------------------------------------------------- */

/* Check the run's templates: one per true class, distinct classes. */
static void check_templates(const pal_oracle_t *o, const int32_t *y,
                            int classes)
{
    int64_t tmpl[64], count;

    ck_status(pal_oracle_templates(o, tmpl, 64, &count), PAL_OK);
    ck_assert_int_eq(count, classes);
    ck_assert_int_eq(costs(o).classes, classes);
    for (int64_t a = 0; a < count; a++)
        for (int64_t b = 0; b < a; b++)
            ck_assert_int_ne(y[tmpl[a]], y[tmpl[b]]);
}

START_TEST(captcha_screens)
{
    for (int run = 0; run < 8; run++) {
        int64_t n = 20 + 25 * run, screen = 1 + 3 * run;
        int classes = 1 + run;
        int32_t *y = true_labels(n, classes, test_seed() + 40 + run);
        pal_oracle_t *o = new_oracle(n, PAL_SAMPLER_CAPTCHA,
                                     test_seed() + (uint64_t)run, screen);
        truth_t t;

        truth_init(&t, y, n, o, 0.0);
        run_to_done(o, &t, NULL);
        ck_assert_int_eq(store_stats(o).complete, 1);
        ck_assert_int_eq(store_stats(o).components, classes);
        ck_assert(labels_match(pal_oracle_store(o), y, n));
        check_templates(o, y, classes);
        truth_free(&t);
        pal_oracle_destroy(o);
        free(y);
    }
}
END_TEST

/*
 * n = 300 items in 5 classes, screens of 15, a labeler that knows the
 * truth: the store ends complete and its labels are the true ones. With
 * the default seed this takes 888 pairwise answers in 62 screens (other
 * seeds: 855 to 918), of which 295 are "same", one per item that is not
 * a template; the store deduces the other 44,000 or so of the 44,850
 * pairs.
 */
START_TEST(captcha_recovers_labels)
{
    const int64_t n = 300;
    int32_t *y = true_labels(n, 5, test_seed() + 77);
    pal_oracle_t *o = new_oracle(n, PAL_SAMPLER_CAPTCHA, test_seed(), 15);
    pal_oracle_costs_t c;
    truth_t t;

    truth_init(&t, y, n, o, 0.0);
    run_to_done(o, &t, NULL);
    c = costs(o);
    ck_assert_int_eq(store_stats(o).complete, 1);
    ck_assert(labels_match(pal_oracle_store(o), y, n));
    check_templates(o, y, 5);
    ck_assert_int_lt(c.answers, 5 * n);
    ck_assert_int_eq(c.conflicts, 0);
    truth_free(&t);
    pal_oracle_destroy(o);
    free(y);
}
END_TEST

/* Rejections of item x: the classes whose template is known different. */
static int64_t rejections(const pal_store_t *s, const int64_t *templates,
                          int64_t classes, int64_t x)
{
    int64_t r = 0;

    for (int64_t c = 0; c < classes; c++) {
        pal_relation_t rel;

        ck_status(pal_store_relation(s, templates[c], x, &rel), PAL_OK);
        r += rel == PAL_REL_DIFFERENT;
    }
    return r;
}

/*
 * Elimination: every candidate of a screen has been rejected by at least
 * as many classes as any askable item left out of it; on 10 equal classes
 * it finds all of them with far fewer answers than uniform candidates do
 * (the total to recover every label is about the same for both: each
 * item still meets its classes one by one).
 */
START_TEST(captcha_elimination)
{
    const int64_t n = 400;
    int32_t *y = true_labels(n, 10, test_seed() + 5);
    int64_t discovered[2], templates[400];
    bool *chosen = calloc((size_t)n, sizeof *chosen);

    for (int mode = 0; mode < 2; mode++) {
        pal_oracle_opts_t op;
        pal_oracle_t *o;
        truth_t t;

        pal_oracle_opts_init(&op);
        op.seed = test_seed();
        op.screen_size = 12;
        op.candidates = mode ? PAL_CANDIDATES_UNIFORM
                             : PAL_CANDIDATES_ELIMINATION;
        ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
        truth_init(&t, y, n, o, 0.0);
        for (;;) {
            const pal_store_t *s = pal_oracle_store(o);
            const int64_t *cand;
            int64_t anchor, m, classes, low = INT64_MAX, high = -1;
            pal_answer_t ans[12];
            int rc = pal_oracle_next(o, &anchor, &m, &cand);

            if (rc == PAL_DONE)
                break;
            ck_status(rc, PAL_OK);
            if (costs(o).classes < 10)
                discovered[mode] = costs(o).answers + m;
            check_question(&t, anchor, m, cand);
            ck_status(pal_oracle_templates(o, templates, n, &classes),
                      PAL_OK);
            for (int64_t k = 0; k < m; k++) {
                chosen[cand[k]] = true;
                low = fmin(low, rejections(s, templates, classes, cand[k]));
            }
            for (int64_t x = 0; mode == 0 && x < n; x++) {
                pal_relation_t rel;

                ck_status(pal_store_relation(s, anchor, x, &rel), PAL_OK);
                if (x != anchor && !chosen[x] && rel == PAL_REL_UNKNOWN)
                    high = fmax(high, rejections(s, templates, classes, x));
            }
            if (mode == 0)
                ck_assert_msg(low >= high, "candidate rejected %lld times, "
                              "an item left out %lld times",
                              (long long)low, (long long)high);
            for (int64_t k = 0; k < m; k++)
                chosen[cand[k]] = false;
            truth_answers(&t, anchor, m, cand, ans);
            ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
        }
        ck_assert_int_eq(store_stats(o).complete, 1);
        ck_assert(labels_match(pal_oracle_store(o), y, n));
        truth_free(&t);
        pal_oracle_destroy(o);
    }
    ck_assert_msg(2 * discovered[0] < discovered[1],
                  "all classes found after %lld answers by elimination, "
                  "%lld uniformly",
                  (long long)discovered[0], (long long)discovered[1]);
    free(chosen);
    free(y);
}
END_TEST

static int never_sure(void *user, int64_t anchor, int64_t m,
                      const int64_t *cand, pal_answer_t *ans)
{
    int64_t *asked = user;

    (void)anchor;
    (void)cand;
    for (int64_t k = 0; k < m; k++)
        ans[k] = PAL_ANSWER_UNSURE;
    (*asked)++;
    return 0;
}

/* Passive: an unsure pair is never asked again, so a person who is never
 * sure ends the run after each of the n (n - 1) / 2 pairs was asked once,
 * and one who is sometimes sure still ends with PAL_DONE. */
START_TEST(passive_unsure_ends)
{
    for (int64_t n = 2; n <= 24; n += 11) {
        pal_oracle_t *o = new_oracle(n, PAL_SAMPLER_PASSIVE, test_seed(), 1);
        int64_t asked = 0;
        int rc;

        ck_status(pal_oracle_set_labeler(o, never_sure, &asked), PAL_OK);
        while ((rc = pal_oracle_step(o, NULL)) == PAL_OK)
            ck_assert_int_le(asked, n * (n - 1) / 2);
        ck_status(rc, PAL_DONE);
        ck_assert_int_eq(asked, n * (n - 1) / 2);
        ck_assert_int_eq(store_stats(o).known_pairs, 0);
        pal_oracle_destroy(o);
    }
    {
        const int64_t n = 40;
        int32_t *y = true_labels(n, 4, test_seed() + 8);
        pal_oracle_t *o = new_oracle(n, PAL_SAMPLER_PASSIVE, test_seed(), 1);
        truth_t t;

        truth_init(&t, y, n, o, 0.5);
        run_to_done(o, &t, NULL);
        ck_assert_int_le(costs(o).answers, n * (n - 1) / 2);
        truth_free(&t);
        pal_oracle_destroy(o);
        free(y);
    }
}
END_TEST

/* Unsure items are not offered again against the same class, and a
 * labeler that is never sure still lets the oracle finish. */
START_TEST(captcha_unsure)
{
    const int64_t n = 60;
    int32_t *y = true_labels(n, 3, test_seed() + 3);
    pal_oracle_t *o = new_oracle(n, PAL_SAMPLER_CAPTCHA, 5, 7);
    pal_answer_t ans[7];
    truth_t t;
    int rc;

    truth_init(&t, y, n, o, 0.3);
    run_to_done(o, &t, NULL);
    ck_assert_int_gt(costs(o).unsure, 0);
    ck_assert_int_eq(costs(o).unsure, store_stats(o).unsure);
    truth_free(&t);
    pal_oracle_destroy(o);

    /* Always unsure: each item is shown once against the one class. */
    o = new_oracle(n, PAL_SAMPLER_CAPTCHA, 5, 7);
    truth_init(&t, y, n, o, 0.0);
    for (int i = 0; i < 7; i++)
        ans[i] = PAL_ANSWER_UNSURE;
    for (;;) {
        int64_t anchor, m;
        const int64_t *cand;

        rc = pal_oracle_next(o, &anchor, &m, &cand);
        if (rc != PAL_OK)
            break;
        check_question(&t, anchor, m, cand);
        for (int64_t k = 0; k < m; k++)
            t.unsure[anchor * n + cand[k]] = 1;
        ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
    }
    ck_status(rc, PAL_DONE);
    ck_assert_int_eq(costs(o).answers, n - 1);
    ck_assert_int_eq(costs(o).classes, 1);
    ck_assert_int_eq(store_stats(o).complete, 0);
    truth_free(&t);
    pal_oracle_destroy(o);
    free(y);
}
END_TEST

/* I gets g = 1 for same and negative_weight for different pairs; J
 * follows the reg mode. */
START_TEST(captcha_batches)
{
    const int64_t n = 50;
    int32_t *y = true_labels(n, 4, test_seed() + 8);

    for (int mode = -1; mode <= PAL_REG_HALVES; mode++) {
        pal_oracle_opts_t op;
        pal_oracle_t *o = NULL;
        pal_batch_t *b = NULL;
        unsigned char *side = calloc((size_t)n, 1);
        truth_t t;
        int rc;

        pal_oracle_opts_init(&op);
        op.screen_size = 6;
        op.negative_weight = -0.5;
        op.reg_mode = mode;
        op.reg_pairs = 5;
        op.seed = 17;
        ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
        ck_status(pal_batch_create(&b, NULL), PAL_OK);
        truth_init(&t, y, n, o, 0.0);
        ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);
        while ((rc = pal_oracle_step(o, b)) == PAL_OK) {
            const int64_t *bi, *bj, *ri, *rj;
            const double *bg;
            int64_t np, nr;

            ck_status(pal_batch_pairs(b, &bi, &bj, &bg, &np), PAL_OK);
            ck_status(pal_batch_regs(b, &ri, &rj, &nr), PAL_OK);
            for (int64_t p = 0; p < np; p++)
                ck_assert(bg[p] == (y[bi[p]] == y[bj[p]] ? 1.0 : -0.5));
            if (mode <= PAL_REG_SAME) {
                ck_assert_int_eq(nr, np);
                for (int64_t p = 0; p < np; p++)
                    ck_assert(ri[p] == bi[p] && rj[p] == bj[p]);
            } else {
                ck_assert_int_eq(nr, 5);
            }
            truth_note(&t);
            for (int64_t p = 0; p < nr; p++) {
                ck_assert_int_ne(ri[p], rj[p]);
                if (mode == PAL_REG_HALVES) {
                    /* Each item stays on one side of the split. */
                    ck_assert_int_ne(side[ri[p]], 2);
                    ck_assert_int_ne(side[rj[p]], 1);
                    side[ri[p]] = 1;
                    side[rj[p]] = 2;
                }
            }
            pal_batch_clear(b);
        }
        ck_status(rc, PAL_DONE);
        truth_free(&t);
        free(side);
        pal_batch_destroy(b);
        pal_oracle_destroy(o);
    }
    free(y);
}
END_TEST

/* ---- Reproducibility and the labeler contract ---------------------------- */

/* The questions of a run, answered from y, by the pull API. */
static int64_t record_run(pal_oracle_t *o, const int32_t *y, int64_t *log,
                          int64_t cap)
{
    truth_t t;
    int64_t len = 0;
    pal_answer_t ans[32];

    truth_init(&t, y, pal_store_n(pal_oracle_store(o)), o, 0.1);
    for (;;) {
        int64_t anchor, m;
        const int64_t *cand;

        if (pal_oracle_next(o, &anchor, &m, &cand) != PAL_OK)
            break;
        ck_assert_int_le(m, 32);
        truth_answers(&t, anchor, m, cand, ans);
        for (int64_t k = -1; k < m && len < cap; k++)
            log[len++] = k < 0 ? anchor : cand[k];
        ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
    }
    truth_free(&t);
    return len;
}

START_TEST(same_seed_same_questions)
{
    const int64_t n = 70, cap = 100000;
    int32_t *y = true_labels(n, 4, 123);
    int64_t *l1 = malloc(cap * sizeof *l1), *l2 = malloc(cap * sizeof *l2);

    for (int s = PAL_SAMPLER_PASSIVE; s <= PAL_SAMPLER_CAPTCHA; s++) {
        pal_oracle_t *a = new_oracle(n, (pal_sampler_t)s, 4242, 9);
        pal_oracle_t *b = new_oracle(n, (pal_sampler_t)s, 4242, 9);
        pal_oracle_t *c = new_oracle(n, (pal_sampler_t)s, 4243, 9);
        int64_t len1 = record_run(a, y, l1, cap);
        int64_t len2 = record_run(b, y, l2, cap);

        ck_assert_int_gt(len1, 100);
        ck_assert_int_eq(len1, len2);
        ck_assert(memcmp(l1, l2, (size_t)len1 * sizeof *l1) == 0);
        len2 = record_run(c, y, l2, cap);
        ck_assert(len1 != len2 ||
                  memcmp(l1, l2, (size_t)len1 * sizeof *l1) != 0);
        pal_oracle_destroy(a);
        pal_oracle_destroy(b);
        pal_oracle_destroy(c);
    }
    free(l1);
    free(l2);
    free(y);
}
END_TEST

/*
 * Every step first fails (the labeler reports failure, or answers with a
 * value outside the enum): the step returns PAL_E_CALLBACK, nothing
 * changes, and the retry asks the very same question.
 */
START_TEST(labeler_failure_changes_nothing)
{
    const int64_t n = 80;
    int32_t *y = true_labels(n, 5, 31);

    for (int s = PAL_SAMPLER_PASSIVE; s <= PAL_SAMPLER_CAPTCHA; s++) {
        pal_oracle_t *o = new_oracle(n, (pal_sampler_t)s, 9, 8);
        pal_batch_t *b = NULL;
        truth_t t;
        long steps = 0;

        ck_status(pal_batch_create(&b, NULL), PAL_OK);
        truth_init(&t, y, n, o, 0.05);
        ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);
        for (;;) {
            pal_oracle_costs_t before = costs(o), after;
            int64_t anchor, m, cand[64], tmpl_before = 0, tmpl_after = 0;
            snap_t snap;
            int rc;

            pal_oracle_templates(o, NULL, 0, &tmpl_before);
            snap_take(&snap, pal_oracle_store(o), b);
            if (steps % 2)
                t.fail_at = t.calls + 1;
            else
                t.bad_at = t.calls + 1;
            rc = pal_oracle_step(o, b);
            if (rc == PAL_DONE) {
                snap_free(&snap);
                break;
            }
            ck_status(rc, PAL_E_CALLBACK);
            after = costs(o);
            pal_oracle_templates(o, NULL, 0, &tmpl_after);
            ck_assert(memcmp(&before, &after, sizeof before) == 0);
            ck_assert_int_eq(tmpl_after, tmpl_before);
            snap_check(&snap, pal_oracle_store(o), b);
            snap_free(&snap);

            anchor = t.anchor;
            m = t.m;
            memcpy(cand, t.cand, (size_t)m * sizeof *cand);
            ck_status(pal_oracle_step(o, b), PAL_OK);
            ck_assert_int_eq(t.anchor, anchor);
            ck_assert_int_eq(t.m, m);
            ck_assert(memcmp(t.cand, cand, (size_t)m * sizeof *cand) == 0);
            truth_note(&t);
            steps++;
            pal_batch_clear(b);
        }
        ck_assert_int_eq(costs(o).steps, steps);
        check_done(&t);
        truth_free(&t);
        pal_batch_destroy(b);
        pal_oracle_destroy(o);
    }
    free(y);
}
END_TEST

START_TEST(pull_api)
{
    pal_oracle_t *o = new_oracle(30, PAL_SAMPLER_CAPTCHA, 2, 5);
    const int64_t *c1, *c2;
    int64_t a1, a2, m1, m2;
    pal_answer_t ans[5] = {PAL_ANSWER_SAME, PAL_ANSWER_DIFFERENT,
                           PAL_ANSWER_UNSURE, PAL_ANSWER_DIFFERENT,
                           PAL_ANSWER_SAME};
    pal_answer_t bad[5];
    pal_batch_t *b = NULL;

    ck_status(pal_batch_create(&b, NULL), PAL_OK);
    ck_status(pal_oracle_answer(o, ans, NULL), PAL_E_STATE);
    ck_status(pal_oracle_next(o, &a1, &m1, &c1), PAL_OK);
    ck_assert_int_eq(m1, 5);
    ck_status(pal_oracle_next(o, &a2, &m2, &c2), PAL_OK);
    ck_assert_int_eq(a1, a2);
    ck_assert_int_eq(m1, m2);
    ck_assert_ptr_eq(c1, c2);

    /* A step cannot run over a pending question, even with a labeler. */
    ck_status(pal_oracle_set_labeler(o, truth_labeler, NULL), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_E_STATE);
    ck_status(pal_oracle_set_labeler(o, NULL, NULL), PAL_OK);

    /* An answer outside the enum changes nothing; the question stays. */
    memcpy(bad, ans, sizeof bad);
    bad[3] = (pal_answer_t)3;
    ck_status(pal_oracle_answer(o, bad, b), PAL_E_RANGE);
    ck_assert_int_eq(costs(o).answers, 0);
    ck_assert_int_eq(pal_batch_n_pairs(b), 0);
    ck_status(pal_oracle_next(o, &a2, &m2, &c2), PAL_OK);
    ck_assert_int_eq(a1, a2);

    ck_status(pal_oracle_answer(o, ans, b), PAL_OK);
    ck_assert_int_eq(costs(o).answers, 5);
    ck_assert_int_eq(costs(o).same, 2);
    ck_assert_int_eq(costs(o).different, 2);
    ck_assert_int_eq(costs(o).unsure, 1);
    ck_assert_int_eq(costs(o).steps, 1);
    ck_assert_int_eq(pal_batch_n_pairs(b), 2 + 2 * 3 + 1);
    ck_status(pal_oracle_answer(o, ans, NULL), PAL_E_STATE);

    /* Cancelling drops the question. */
    ck_status(pal_oracle_next(o, &a1, &m1, &c1), PAL_OK);
    pal_oracle_cancel(o);
    ck_status(pal_oracle_answer(o, ans, NULL), PAL_E_STATE);
    ck_status(pal_oracle_next(o, &a1, &m1, &c1), PAL_OK);
    ck_status(pal_oracle_next(o, &q_anchor, &q_m, &q_cand), PAL_OK);
    pal_batch_destroy(b);
    pal_oracle_destroy(o);
}
END_TEST

/* A labeler that tries to drive its own oracle while it is asked. */
static int reentrant_labeler(void *user, int64_t anchor, int64_t m,
                             const int64_t *cand, pal_answer_t *ans)
{
    pal_oracle_t *o = user;
    pal_answer_t some[64];

    (void)anchor;
    (void)cand;
    for (int64_t k = 0; k < m; k++)
        ans[k] = some[k] = PAL_ANSWER_DIFFERENT;
    ck_status(pal_oracle_step(o, NULL), PAL_E_STATE);
    ck_status(pal_oracle_next(o, &q_anchor, &q_m, &q_cand), PAL_E_STATE);
    ck_status(pal_oracle_answer(o, some, NULL), PAL_E_STATE);
    pal_oracle_cancel(o);
    return 0;
}

START_TEST(labeler_cannot_reenter)
{
    pal_oracle_t *o = new_oracle(20, PAL_SAMPLER_CAPTCHA, 6, 4);

    ck_status(pal_oracle_set_labeler(o, reentrant_labeler, o), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_assert_int_eq(costs(o).steps, 1);
    ck_assert_int_eq(costs(o).answers, 4);
    ck_assert_int_eq(store_stats(o).different_pairs, 4);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_assert_int_eq(costs(o).steps, 2);
    pal_oracle_destroy(o);
}
END_TEST

/* ---- SSL ----------------------------------------------------------------- */

static int never_called(void *user, int64_t anchor, int64_t m,
                        const int64_t *cand, pal_answer_t *ans)
{
    (void)user;
    (void)anchor;
    (void)m;
    (void)cand;
    (void)ans;
    ck_abort_msg("the SSL oracle called its labeler");
    return 1;
}

START_TEST(ssl_batches)
{
    const int64_t n = 12;
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL;
    pal_batch_t *b = NULL;
    int seen[4] = {0, 0, 0, 0};
    pal_answer_t ans = PAL_ANSWER_SAME;

    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_SSL;
    op.views = 3;
    op.reg_pairs = 10;
    op.seed = 3;
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    ck_status(pal_oracle_set_labeler(o, never_called, NULL), PAL_OK);
    ck_status(pal_batch_create(&b, NULL), PAL_OK);
    ck_status(pal_oracle_next(o, &q_anchor, &q_m, &q_cand), PAL_E_STATE);
    ck_status(pal_oracle_answer(o, &ans, NULL), PAL_E_STATE);

    for (int step = 0; step < 12; step++) {
        const int64_t *bi, *bj, *ri, *rj;
        const double *bg;
        int64_t np, nr, sample;

        pal_batch_clear(b);
        ck_status(pal_oracle_step(o, b), PAL_OK);
        ck_status(pal_batch_pairs(b, &bi, &bj, &bg, &np), PAL_OK);
        ck_status(pal_batch_regs(b, &ri, &rj, &nr), PAL_OK);

        /* The three pairs of one sample's views, every epoch. */
        ck_assert_int_eq(np, 3);
        sample = bi[0] / 3;
        for (int64_t p = 0; p < np; p++) {
            ck_assert_int_eq(bi[p] / 3, sample);
            ck_assert_int_eq(bj[p] / 3, sample);
            ck_assert_int_lt(bi[p], bj[p]);
            ck_assert(bg[p] == 1.0);
        }
        seen[sample]++;
        ck_assert_int_eq(nr, 10);
        for (int64_t p = 0; p < nr; p++) {
            ck_assert_int_ne(ri[p], rj[p]);
            ck_assert_int_lt(ri[p], n);
            ck_assert_int_lt(rj[p], n);
        }
        if (step % 4 == 3) {
            /* Each epoch shows every sample once. */
            for (int s = 0; s < 4; s++)
                ck_assert_int_eq(seen[s], step / 4 + 1);
            ck_assert_int_eq(store_stats(o).components, 4);
            ck_assert_int_eq(store_stats(o).answers, 8);
        }
    }
    ck_assert_int_eq(costs(o).steps, 12);
    ck_assert_int_eq(costs(o).answers, 0);
    ck_assert_int_eq(costs(o).screens, 0);
    pal_batch_destroy(b);
    pal_oracle_destroy(o);
}
END_TEST

START_TEST(ssl_with_sources)
{
    const int64_t n = 9;
    const int64_t src[9] = {4, 0, 4, 8, 0, 4, 2, 8, 0};
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL;
    pal_batch_t *b = NULL;
    int32_t lab[9];
    int64_t nc, pairs = 0;

    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_SSL;
    op.source = src;
    op.views = 5;
    op.reg_mode = PAL_REG_SAME;
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    ck_status(pal_batch_create(&b, NULL), PAL_OK);
    for (int step = 0; step < 4; step++)
        ck_status(pal_oracle_step(o, b), PAL_OK);

    /* Samples {1, 4, 8}, {0, 2, 5}, {3, 7} and {6}: 3 + 3 + 1 pairs. */
    ck_status(pal_store_labels(pal_oracle_store(o), 0, lab, &nc), PAL_OK);
    ck_assert_int_eq(nc, 4);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            ck_assert_int_eq(lab[i] == lab[j], src[i] == src[j]);
    pairs = pal_batch_n_pairs(b);
    ck_assert_int_eq(pairs, 7);
    ck_assert_int_eq(pal_batch_n_reg(b), 7);
    pal_batch_destroy(b);
    pal_oracle_destroy(o);
}
END_TEST

/* ---- Allocation failures ------------------------------------------------- */

START_TEST(create_fails_cleanly)
{
    int64_t src[6] = {0, 1, 0, 1, 5, 5};

    for (int s = PAL_SAMPLER_SSL; s <= PAL_SAMPLER_CAPTCHA + 1; s++) {
        counting_t c;
        pal_allocator_t a = counting_allocator(&c);
        pal_oracle_opts_t op;
        pal_oracle_t *o = NULL;
        long k;

        pal_oracle_opts_init(&op);
        op.sampler = s > PAL_SAMPLER_CAPTCHA ? PAL_SAMPLER_PASSIVE
                                             : (pal_sampler_t)s;
        op.reg_mode = s > PAL_SAMPLER_CAPTCHA ? PAL_REG_HALVES : -1;
        op.source = s == PAL_SAMPLER_SSL ? src : NULL;
        for (k = 1;; k++) {
            int rc;

            c.calls = 0;
            c.fail_at = k;
            rc = pal_oracle_create(&o, 6, &op, &a);
            if (rc == PAL_OK)
                break;
            ck_status(rc, PAL_E_NOMEM);
            ck_assert_ptr_null(o);
            ck_assert_int_eq(c.live, 0);
        }
        c.fail_at = 0;
        ck_assert_int_gt(k, 3);
        pal_oracle_destroy(o);
        ck_assert_int_eq(c.live, 0);
    }
}
END_TEST

/*
 * Each step is first run with its 1st, 2nd, ... allocation failing: the
 * step must return PAL_E_NOMEM and change nothing, and the run must end
 * exactly like one that never failed.
 */
static void steps_survive_failures(pal_sampler_t sampler, int reg_mode,
                                   int64_t n, int64_t limit)
{
    counting_t c;
    pal_allocator_t a = counting_allocator(&c);
    int32_t *y = true_labels(n, 4, 55);
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL, *ref = NULL;
    pal_batch_t *b = NULL, *rb = NULL;
    truth_t t, rt;
    long failures = 0, steps = 0;

    pal_oracle_opts_init(&op);
    op.sampler = sampler;
    op.seed = 8;
    op.screen_size = 12;
    op.reg_mode = reg_mode;
    op.reg_pairs = 7;
    ck_status(pal_oracle_create(&o, n, &op, &a), PAL_OK);
    ck_status(pal_oracle_create(&ref, n, &op, NULL), PAL_OK);
    ck_status(pal_batch_create(&b, &a), PAL_OK);
    ck_status(pal_batch_create(&rb, NULL), PAL_OK);
    ck_status(pal_batch_set_limit(b, limit, 1), PAL_OK);
    ck_status(pal_batch_set_limit(rb, limit, 1), PAL_OK);
    truth_init(&t, y, n, o, 0.05);
    truth_init(&rt, y, n, ref, 0.05);
    ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);
    ck_status(pal_oracle_set_labeler(ref, truth_labeler, &rt), PAL_OK);

    for (;;) {
        int rrc = pal_oracle_step(ref, rb), rc;
        pal_oracle_costs_t before = costs(o);
        trng_t labeler_rng = t.r;
        snap_t snap, want;

        snap_take(&snap, pal_oracle_store(o), b);
        for (long k = 1;; k++) {
            c.calls = 0;
            c.fail_at = k;
            t.r = labeler_rng;
            rc = pal_oracle_step(o, b);
            c.fail_at = 0;
            if (rc != PAL_E_NOMEM)
                break;
            failures++;
            {
                pal_oracle_costs_t now = costs(o);

                ck_assert(memcmp(&before, &now, sizeof now) == 0);
            }
            snap_check(&snap, pal_oracle_store(o), b);
        }
        snap_free(&snap);
        ck_status(rc, rrc);
        if (rc == PAL_OK)
            truth_note(&t);
        snap_take(&want, pal_oracle_store(ref), rb);
        snap_check(&want, pal_oracle_store(o), b);
        snap_free(&want);
        if (rc == PAL_DONE)
            break;
        steps++;
        if (steps % 3 == 0) {
            pal_batch_clear(b);
            pal_batch_clear(rb);
        }
    }
    check_done(&t);
    ck_assert_int_gt(failures, 5);
    truth_free(&t);
    truth_free(&rt);
    pal_batch_destroy(b);
    pal_batch_destroy(rb);
    pal_oracle_destroy(o);
    pal_oracle_destroy(ref);
    ck_assert_int_eq(c.live, 0);
    free(y);
}

START_TEST(step_fails_cleanly)
{
    steps_survive_failures(PAL_SAMPLER_CAPTCHA, -1, 90, 0);
    steps_survive_failures(PAL_SAMPLER_CAPTCHA, PAL_REG_RANDOM, 90, 50);
    steps_survive_failures(PAL_SAMPLER_PASSIVE, PAL_REG_HALVES, 25, 0);
}
END_TEST

/* SSL steps with failures, stopped after a few epochs. */
START_TEST(ssl_step_fails_cleanly)
{
    counting_t c;
    pal_allocator_t a = counting_allocator(&c);
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL, *ref = NULL;
    pal_batch_t *b = NULL, *rb = NULL;
    long failures = 0;

    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_SSL;
    op.views = 4;
    op.reg_pairs = 30;
    ck_status(pal_oracle_create(&o, 64, &op, &a), PAL_OK);
    ck_status(pal_oracle_create(&ref, 64, &op, NULL), PAL_OK);
    ck_status(pal_batch_create(&b, &a), PAL_OK);
    ck_status(pal_batch_create(&rb, NULL), PAL_OK);
    for (int step = 0; step < 40; step++) {
        snap_t snap;
        int rc;

        ck_status(pal_oracle_step(ref, rb), PAL_OK);
        snap_take(&snap, pal_oracle_store(o), b);
        for (long k = 1;; k++) {
            c.calls = 0;
            c.fail_at = k;
            rc = pal_oracle_step(o, b);
            c.fail_at = 0;
            if (rc == PAL_OK)
                break;
            ck_status(rc, PAL_E_NOMEM);
            snap_check(&snap, pal_oracle_store(o), b);
            failures++;
        }
        snap_free(&snap);
        snap_take(&snap, pal_oracle_store(ref), rb);
        snap_check(&snap, pal_oracle_store(o), b);
        snap_free(&snap);
    }
    ck_assert_int_gt(failures, 3);
    ck_assert_int_eq(costs(o).steps, 40);
    pal_batch_destroy(b);
    pal_batch_destroy(rb);
    pal_oracle_destroy(o);
    pal_oracle_destroy(ref);
    ck_assert_int_eq(c.live, 0);
}
END_TEST

/* ---- Item mode, guidance, known number of classes ------------------------ */

static pal_oracle_t *class_oracle(int64_t n, pal_sampler_t sampler,
                                  uint64_t seed, int64_t screen,
                                  int64_t known, int order)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL;

    pal_oracle_opts_init(&op);
    op.sampler = sampler;
    op.seed = seed;
    op.screen_size = screen;
    op.num_classes = known;
    op.item_order = order;
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    return o;
}

/* Items of a class, or templates: determined. */
static bool determined(const pal_oracle_t *o, int64_t x)
{
    int64_t tmpl[512], count, size;

    ck_status(pal_oracle_templates(o, tmpl, 512, &count), PAL_OK);
    ck_status(pal_store_component(pal_oracle_store(o), x, NULL, &size),
              PAL_OK);
    for (int64_t c = 0; c < count && c < 512; c++)
        if (tmpl[c] == x)
            return true;
    return size > 1;
}

/* Classes known different from x among the templates. */
static int64_t rejected_by(const pal_oracle_t *o, int64_t x)
{
    int64_t tmpl[512], count, r = 0;

    ck_status(pal_oracle_templates(o, tmpl, 512, &count), PAL_OK);
    for (int64_t c = 0; c < count; c++) {
        pal_relation_t rel;

        ck_status(pal_store_relation(pal_oracle_store(o), tmpl[c], x, &rel),
                  PAL_OK);
        r += rel == PAL_REL_DIFFERENT;
    }
    return r;
}

/*
 * Drive o by the pull API from true labels y until PAL_DONE, checking
 * every question: the anchor is a template, the candidates distinct,
 * undetermined and of unknown relation, and with the number of classes
 * known, never an item whose class elimination has decided. Returns the
 * answers.
 */
static int64_t drive(pal_oracle_t *o, const int32_t *y, int64_t n,
                     int64_t known, double p_unsure)
{
    truth_t t;
    int rc;

    truth_init(&t, y, n, o, p_unsure);
    for (;;) {
        int64_t anchor, m, tmpl[512], count;
        const int64_t *cand;
        pal_answer_t ans[64];
        bool is_template = false;

        rc = pal_oracle_next(o, &anchor, &m, &cand);
        if (rc != PAL_OK)
            break;
        check_question(&t, anchor, m, cand);
        ck_status(pal_oracle_templates(o, tmpl, 512, &count), PAL_OK);
        for (int64_t c = 0; c < count; c++)
            is_template |= tmpl[c] == anchor;
        ck_assert(is_template);
        for (int64_t k = 0; k < m; k++) {
            ck_assert(!determined(o, cand[k]));
            if (known > 0 && count == known)
                ck_assert_int_lt(rejected_by(o, cand[k]), known - 1);
        }
        truth_answers(&t, anchor, m, cand, ans);
        t.anchor = anchor;
        t.m = m;
        memcpy(t.cand, cand, (size_t)m * sizeof *cand);
        memcpy(t.ans, ans, (size_t)m * sizeof *ans);
        ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
        truth_note(&t);
    }
    ck_status(rc, PAL_DONE);
    truth_free(&t);
    return costs(o).answers;
}

START_TEST(item_options)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL;
    int64_t tmpl[2], count;

    pal_oracle_opts_init(&op);
    ck_assert_int_eq(op.num_classes, 0);
    ck_assert_int_eq(op.item_order, PAL_ITEM_ORDER_CERTAIN);
    op.sampler = PAL_SAMPLER_ITEM;
    ck_status(pal_oracle_create(&o, 1, &op, NULL), PAL_E_SIZE);
    op.num_classes = 1;
    ck_status(pal_oracle_create(&o, 8, &op, NULL), PAL_E_RANGE);
    op.num_classes = 9;
    ck_status(pal_oracle_create(&o, 8, &op, NULL), PAL_E_RANGE);
    op.num_classes = -1;
    ck_status(pal_oracle_create(&o, 8, &op, NULL), PAL_E_RANGE);
    op.num_classes = 8;
    op.item_order = 2;
    ck_status(pal_oracle_create(&o, 8, &op, NULL), PAL_E_RANGE);
    op.item_order = PAL_ITEM_ORDER_RANDOM;
    ck_status(pal_oracle_create(&o, 8, &op, NULL), PAL_OK);
    ck_status(pal_oracle_templates(o, tmpl, 2, &count), PAL_OK);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(costs(o).classes, 1);
    ck_assert_int_eq(costs(o).deduced, 0);
    pal_oracle_destroy(o);
}
END_TEST

/* Three items of one class: two answers, then PAL_DONE. */
START_TEST(three_alike_two_answers)
{
    const int32_t y[3] = {4, 4, 4};

    for (int s = 0; s < 4; s++) {
        pal_sampler_t smp = s < 2 ? PAL_SAMPLER_ITEM : PAL_SAMPLER_CAPTCHA;
        pal_oracle_t *o = class_oracle(3, smp, 11 + (uint64_t)s, 15,
                                       s % 2 ? 0 : 2, 0);
        truth_t t;

        truth_init(&t, y, 3, o, 0.0);
        ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);
        while (pal_oracle_step(o, NULL) == PAL_OK)
            ;
        ck_status(pal_oracle_step(o, NULL), PAL_DONE);
        ck_assert_int_eq(costs(o).answers, 2);
        ck_assert_int_eq(costs(o).screens, smp == PAL_SAMPLER_ITEM ? 2 : 1);
        ck_assert_int_eq(store_stats(o).complete, 1);
        truth_free(&t);
        pal_oracle_destroy(o);
    }
}
END_TEST

/*
 * Brute force over seeds, modes and labelers: the item and captcha
 * samplers never ask a determined pair, recover the labels, and deduce
 * only when the number of classes is known, and then correctly.
 */
START_TEST(item_and_known_classes)
{
    const int64_t n = 36;
    trng_t r;
    float z[36 * 2];

    trng_seed(&r, test_seed() + 5);
    for (int run = 0; run < 24; run++) {
        int classes = 2 + run % 4;
        int32_t *y = true_labels(n, classes, test_seed() + (uint64_t)run);
        pal_sampler_t smp = run % 3 == 2 ? PAL_SAMPLER_CAPTCHA
                                         : PAL_SAMPLER_ITEM;
        int64_t known = run % 2 ? classes : 0;
        bool guided = run % 4 >= 2;
        double p_unsure = run % 6 == 5 ? 0.2 : 0.0;
        pal_oracle_t *o = class_oracle(n, smp, test_seed() + 31 * run, 5,
                                       known, run % 5 == 0);
        pal_oracle_costs_t c;

        for (int64_t i = 0; i < n; i++) {
            z[2 * i] = (float)y[i] + 0.8f * (float)trng_unit(&r);
            z[2 * i + 1] = (float)trng_unit(&r);
        }
        if (guided)
            ck_status(pal_oracle_set_embedding(o, PAL_F32, n, 2, z, 2),
                      PAL_OK);
        drive(o, y, n, known, p_unsure);
        c = costs(o);
        ck_assert_int_eq(store_stats(o).answers, c.answers + c.deduced);
        ck_assert_int_eq(store_stats(o).conflicts, 0);
        if (known == 0)
            ck_assert_int_eq(c.deduced, 0);
        if (p_unsure == 0.0) {
            ck_assert(labels_match(pal_oracle_store(o), y, n));
            ck_assert_int_eq(c.classes, classes);
            ck_assert_int_eq(store_stats(o).complete, 1);
        }
        pal_oracle_destroy(o);
        free(y);
    }
}
END_TEST

/* Unguided item mode with many classes known deduces some items. */
START_TEST(last_class_deduced)
{
    const int64_t n = 60;
    int32_t *y = true_labels(n, 6, 77);
    pal_oracle_t *o = class_oracle(n, PAL_SAMPLER_ITEM, 3, 1, 6,
                                   PAL_ITEM_ORDER_RANDOM);
    pal_oracle_t *u = class_oracle(n, PAL_SAMPLER_ITEM, 3, 1, 0,
                                   PAL_ITEM_ORDER_RANDOM);
    int64_t with = drive(o, y, n, 6, 0.0), without = drive(u, y, n, 0, 0.0);

    ck_assert_int_gt(costs(o).deduced, 0);
    ck_assert_int_lt(with, without);
    ck_assert_int_eq(costs(u).deduced, 0);
    ck_assert(labels_match(pal_oracle_store(o), y, n));
    pal_oracle_destroy(o);
    pal_oracle_destroy(u);
    free(y);
}
END_TEST

/* A screen answered "different" throughout: every candidate becomes known
 * different from every member of the template's class. */
START_TEST(screen_of_noes_spreads)
{
    const int64_t n = 40;
    int32_t *y = true_labels(n, 3, 9);
    float z[40];

    for (int g = 0; g < 2; g++) {
        pal_oracle_t *o = class_oracle(n, PAL_SAMPLER_CAPTCHA, 21, 6, 0, 0);
        const pal_store_t *s = pal_oracle_store(o);
        int64_t anchor, m, cand[6];
        const int64_t *q;
        pal_answer_t ans[6];
        truth_t t;

        for (int64_t i = 0; i < n; i++)
            z[i] = (float)y[i];
        if (g)
            ck_status(pal_oracle_set_embedding(o, PAL_F32, n, 1, z, 1),
                      PAL_OK);
        truth_init(&t, y, n, o, 0.0);
        /* Grow a class first, then say no to a whole screen. */
        for (int step = 0; step < 3; step++) {
            ck_status(pal_oracle_next(o, &anchor, &m, &q), PAL_OK);
            truth_answers(&t, anchor, m, q, ans);
            ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
        }
        ck_status(pal_oracle_next(o, &anchor, &m, &q), PAL_OK);
        memcpy(cand, q, (size_t)m * sizeof *q);
        for (int64_t k = 0; k < m; k++)
            ans[k] = PAL_ANSWER_DIFFERENT;
        ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
        for (int64_t x = 0, members = 0; x < n; x++) {
            pal_relation_t rel;

            ck_status(pal_store_relation(s, anchor, x, &rel), PAL_OK);
            if (rel != PAL_REL_SAME || x == anchor)
                continue;
            members++;
            for (int64_t k = 0; k < m; k++) {
                ck_status(pal_store_relation(s, x, cand[k], &rel), PAL_OK);
                ck_assert_int_eq(rel, PAL_REL_DIFFERENT);
            }
            ck_assert_int_le(members, n);
        }
        truth_free(&t);
        pal_oracle_destroy(o);
    }
    free(y);
}
END_TEST

/* The same seed, guidance and answers give the same questions. */
START_TEST(guided_same_run)
{
    const int64_t n = 50, cap = 20000;
    int32_t *y = true_labels(n, 4, 8);
    int64_t *l1 = malloc(cap * sizeof *l1), *l2 = malloc(cap * sizeof *l2);
    double z[50 * 3];
    trng_t r;

    trng_seed(&r, 5);
    fill_normal(&r, z, n, 3, 3, 1.0);
    for (int mode = 0; mode < 4; mode++) {
        pal_sampler_t smp = mode == 3 ? PAL_SAMPLER_CAPTCHA
                                      : PAL_SAMPLER_ITEM;
        int64_t len[2];

        for (int rep = 0; rep < 2; rep++) {
            pal_oracle_t *o = class_oracle(n, smp, 99, 7, mode == 1 ? 4 : 0,
                                           mode == 2);

            if (mode > 0)
                ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 3, z, 3),
                          PAL_OK);
            len[rep] = record_run(o, y, rep ? l2 : l1, cap);
            pal_oracle_destroy(o);
        }
        ck_assert_int_gt(len[0], 40);
        ck_assert_int_eq(len[0], len[1]);
        ck_assert(memcmp(l1, l2, (size_t)len[0] * sizeof *l1) == 0);
    }
    free(l1);
    free(l2);
    free(y);
}
END_TEST

/*
 * A hand-made embedding: the guided captcha shows the undetermined items
 * nearest to the class's known members, nearest first.
 */
START_TEST(guided_candidates_nearest)
{
    const int64_t n = 12;
    const double pos[12] = {0.0, 5.0, 1.0, 9.0, 2.5, 7.0,
                            0.4, 3.7, 8.2, 6.1, 1.7, 4.4};
    pal_oracle_t *o = class_oracle(n, PAL_SAMPLER_CAPTCHA, 5, 3, 0, 0);
    const pal_store_t *s = pal_oracle_store(o);

    ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 1, pos, 1), PAL_OK);
    for (int step = 0; step < 3; step++) {
        int64_t anchor, m;
        const int64_t *cand;
        pal_answer_t ans[3] = {PAL_ANSWER_SAME, PAL_ANSWER_SAME,
                               PAL_ANSWER_SAME};
        double d[12];

        ck_status(pal_oracle_next(o, &anchor, &m, &cand), PAL_OK);
        ck_assert_int_eq(m, 3);
        /* Brute force: distance of each undetermined item to the class. */
        for (int64_t x = 0; x < n; x++) {
            pal_relation_t rel;

            d[x] = INFINITY;
            ck_status(pal_store_relation(s, anchor, x, &rel), PAL_OK);
            if (rel != PAL_REL_UNKNOWN)
                continue;
            for (int64_t w = 0; w < n; w++) {
                ck_status(pal_store_relation(s, anchor, w, &rel), PAL_OK);
                if (rel == PAL_REL_SAME && fabs(pos[x] - pos[w]) < d[x])
                    d[x] = fabs(pos[x] - pos[w]);
            }
        }
        for (int64_t k = 0; k < m; k++) {
            ck_assert(isfinite(d[cand[k]]));
            if (k > 0)
                ck_assert(d[cand[k - 1]] <= d[cand[k]]);
            for (int64_t x = 0; x < n; x++) {
                bool shown = false;

                for (int64_t q = 0; q < m; q++)
                    shown |= cand[q] == x;
                ck_assert(shown || d[x] >= d[cand[k]]);
            }
        }
        ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
    }
    pal_oracle_destroy(o);
}
END_TEST

/* Scores: the most certain item first, and its classes by score. */
START_TEST(scores_guide)
{
    const int64_t n = 8;
    int32_t y[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    double sc[8 * 2];
    pal_oracle_t *o = class_oracle(n, PAL_SAMPLER_ITEM, 2, 1, 0, 0);
    int64_t tmpl[4], count, anchor, m, best = -1;
    const int64_t *cand;
    pal_answer_t ans;

    ck_status(pal_oracle_templates(o, tmpl, 4, &count), PAL_OK);
    for (int64_t i = 0; i < n; i++) {
        sc[2 * i] = (double)((i * 5) % 8);
        sc[2 * i + 1] = -sc[2 * i];
        if (i != tmpl[0] && (best < 0 || sc[2 * i] > sc[2 * best]))
            best = i;
    }
    ck_status(pal_oracle_set_scores(o, PAL_F64, n, 2, sc, 2), PAL_E_SHAPE);
    ck_status(pal_oracle_set_scores(o, PAL_F64, n, 1, sc, 2), PAL_OK);
    ck_status(pal_oracle_next(o, &anchor, &m, &cand), PAL_OK);
    ck_assert_int_eq(anchor, tmpl[0]);
    ck_assert_int_eq(cand[0], best);

    /* Run until two classes exist, then score them: each item is asked
     * first against its higher-scored class. */
    ans = y[cand[0]] == y[anchor] ? PAL_ANSWER_SAME : PAL_ANSWER_DIFFERENT;
    ck_status(pal_oracle_answer(o, &ans, NULL), PAL_OK);
    pal_oracle_clear_guidance(o);
    while (pal_oracle_templates(o, tmpl, 4, &count) == PAL_OK && count < 2) {
        ck_status(pal_oracle_next(o, &anchor, &m, &cand), PAL_OK);
        ans = y[cand[0]] == y[anchor] ? PAL_ANSWER_SAME
                                      : PAL_ANSWER_DIFFERENT;
        ck_status(pal_oracle_answer(o, &ans, NULL), PAL_OK);
    }
    for (int64_t i = 0; i < n; i++) {
        sc[2 * i] = i % 3 == 0 ? 1.0 : 0.0;
        sc[2 * i + 1] = 1.0 - sc[2 * i];
    }
    ck_status(pal_oracle_set_scores(o, PAL_F64, n, 2, sc, 2), PAL_OK);
    while (pal_oracle_next(o, &anchor, &m, &cand) == PAL_OK) {
        int64_t cls = anchor == tmpl[0] ? 0 : 1;
        pal_relation_t rel;

        ck_assert(anchor == tmpl[0] || anchor == tmpl[1]);
        /* The other class is asked only once this one has said no. */
        ck_status(pal_store_relation(pal_oracle_store(o), tmpl[1 - cls],
                                     cand[0], &rel),
                  PAL_OK);
        if (sc[2 * cand[0] + cls] < sc[2 * cand[0] + 1 - cls])
            ck_assert_int_eq(rel, PAL_REL_DIFFERENT);
        ans = y[cand[0]] == y[anchor] ? PAL_ANSWER_SAME
                                      : PAL_ANSWER_DIFFERENT;
        ck_status(pal_oracle_answer(o, &ans, NULL), PAL_OK);
    }
    ck_assert(labels_match(pal_oracle_store(o), y, n));
    pal_oracle_destroy(o);
}
END_TEST

/* Bad guidance is refused with its code, and changes nothing. */
START_TEST(guidance_arguments)
{
    const int64_t n = 10;
    double z[10 * 2], bad[10 * 2];
    float zf[10 * 2];
    double pri[2] = {1.0, 2.0};
    pal_oracle_t *o = class_oracle(n, PAL_SAMPLER_ITEM, 4, 1, 0, 0);
    pal_oracle_t *ref = class_oracle(n, PAL_SAMPLER_ITEM, 4, 1, 0, 0);
    pal_oracle_t *p = new_oracle(n, PAL_SAMPLER_PASSIVE, 1, 1);
    int64_t a1, m1, a2, m2;
    const int64_t *c1, *c2;

    for (int64_t i = 0; i < 2 * n; i++) {
        z[i] = (double)((i * 7) % 5);
        bad[i] = z[i];
        zf[i] = (float)z[i];
    }
    bad[7] = NAN;
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 2, z, 2), PAL_OK);
    ck_status(pal_oracle_set_embedding(ref, PAL_F64, n, 2, z, 2), PAL_OK);

    ck_status(pal_oracle_set_embedding(NULL, PAL_F64, n, 2, z, 2),
              PAL_E_NULL);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 2, NULL, 2),
              PAL_E_NULL);
    ck_status(pal_oracle_set_embedding(o, (pal_dtype_t)9, n, 2, z, 2),
              PAL_E_TYPE);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 0, z, 2), PAL_E_SIZE);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 2, z, 1),
              PAL_E_STRIDE);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n - 1, 2, z, 2),
              PAL_E_SHAPE);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n / 2, 2, z, 4),
              PAL_E_SHAPE);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 2,
                                       (const char *)z + 4, 2),
              PAL_E_ALIGN);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 2, bad, 2),
              PAL_E_NONFINITE);
    ck_status(pal_oracle_set_embedding(p, PAL_F64, n, 2, z, 2), PAL_E_STATE);
    ck_status(pal_oracle_set_scores(o, PAL_F64, n, 2, z, 2), PAL_E_SHAPE);
    ck_status(pal_oracle_set_scores(p, PAL_F32, n, 1, zf, 2), PAL_E_STATE);
    ck_status(pal_oracle_set_priors(NULL, 1, pri), PAL_E_NULL);
    ck_status(pal_oracle_set_priors(o, 1, NULL), PAL_E_NULL);
    ck_status(pal_oracle_set_priors(o, -1, pri), PAL_E_SIZE);
    ck_status(pal_oracle_set_priors(o, 2, pri), PAL_E_SHAPE);
    pri[0] = 0.0;
    ck_status(pal_oracle_set_priors(o, 1, pri), PAL_E_RANGE);
    pri[0] = NAN;
    ck_status(pal_oracle_set_priors(o, 1, pri), PAL_E_RANGE);
    pri[0] = 1.0;
    ck_status(pal_oracle_set_priors(p, 1, pri), PAL_E_STATE);
    pal_oracle_clear_guidance(NULL);
    ck_status(pal_oracle_set_priors(o, 0, NULL), PAL_OK);

    /* The failed calls left the guidance: the same questions follow. */
    for (int step = 0; step < 6; step++) {
        pal_answer_t ans = step % 2 ? PAL_ANSWER_SAME : PAL_ANSWER_DIFFERENT;

        ck_status(pal_oracle_next(o, &a1, &m1, &c1), PAL_OK);
        ck_status(pal_oracle_next(ref, &a2, &m2, &c2), PAL_OK);
        ck_assert_int_eq(a1, a2);
        ck_assert_int_eq(c1[0], c2[0]);
        ck_status(pal_oracle_answer(o, &ans, NULL), PAL_OK);
        ck_status(pal_oracle_answer(ref, &ans, NULL), PAL_OK);
    }
    /* The same embedding given as floats guides the same way. */
    ck_status(pal_oracle_set_embedding(o, PAL_F32, n, 2, zf, 2), PAL_OK);
    ck_status(pal_oracle_next(o, &a1, &m1, &c1), PAL_OK);
    ck_status(pal_oracle_next(ref, &a2, &m2, &c2), PAL_OK);
    ck_assert_int_eq(c1[0], c2[0]);
    pal_oracle_destroy(o);
    pal_oracle_destroy(ref);
    pal_oracle_destroy(p);
}
END_TEST


/* ---- Batches: I is what the step made known ------------------------------ */

/* rel[i * n + j]: what the store knows about (i, j). */
static void relations(const pal_store_t *s, int64_t n, unsigned char *rel)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            pal_relation_t r;

            ck_status(pal_store_relation(s, i, j, &r), PAL_OK);
            rel[i * n + j] = (unsigned char)r;
        }
}

/*
 * The pairs of I from index from on are exactly the pairs newly known
 * between before and after, each once as (min, max), g = 1 for same and
 * gneg for different; J from jfrom on is as the reg mode says.
 */
static void check_step_batch(const pal_batch_t *b, int64_t from,
                             int64_t jfrom, int64_t n,
                             const unsigned char *before,
                             const unsigned char *after, double gneg,
                             int reg_mode, int64_t reg_pairs)
{
    const int64_t *bi, *bj, *ri, *rj;
    const double *bg;
    int64_t count, rcount, fresh = 0;
    unsigned char *seen = calloc((size_t)(n * n), 1);

    ck_status(pal_batch_pairs(b, &bi, &bj, &bg, &count), PAL_OK);
    ck_status(pal_batch_regs(b, &ri, &rj, &rcount), PAL_OK);
    for (int64_t p = from; p < count; p++) {
        int64_t i = bi[p], j = bj[p];

        ck_assert_int_lt(i, j);
        ck_assert_int_eq(seen[i * n + j], 0);
        seen[i * n + j] = 1;
        ck_assert_int_eq(before[i * n + j], PAL_REL_UNKNOWN);
        ck_assert_int_ne(after[i * n + j], PAL_REL_UNKNOWN);
        ck_assert(bg[p] == (after[i * n + j] == PAL_REL_SAME ? 1.0 : gneg));
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++)
            if (before[i * n + j] == PAL_REL_UNKNOWN &&
                after[i * n + j] != PAL_REL_UNKNOWN) {
                ck_assert_int_eq(seen[i * n + j], 1);
                fresh++;
            }
    ck_assert_int_eq(fresh, count - from);
    if (reg_mode == PAL_REG_SAME) {
        ck_assert_int_eq(rcount - jfrom, count - from);
        for (int64_t p = 0; p < count - from; p++) {
            ck_assert_int_eq(ri[jfrom + p], bi[from + p]);
            ck_assert_int_eq(rj[jfrom + p], bj[from + p]);
        }
    } else {
        ck_assert_int_eq(rcount - jfrom, reg_pairs);
        for (int64_t p = jfrom; p < rcount; p++) {
            ck_assert_int_ne(ri[p], rj[p]);
            ck_assert_int_lt(ri[p], n);
            ck_assert_int_lt(rj[p], n);
        }
    }
    free(seen);
}

/* Sides of the PAL_REG_HALVES pairs never mix over a whole run. */
static void check_halves(const pal_batch_t *b, int64_t n)
{
    const int64_t *ri, *rj;
    int64_t rcount;
    signed char *side = calloc((size_t)n, 1);

    ck_status(pal_batch_regs(b, &ri, &rj, &rcount), PAL_OK);
    for (int64_t p = 0; p < rcount; p++) {
        ck_assert_int_ne(side[ri[p]], 2);
        ck_assert_int_ne(side[rj[p]], 1);
        side[ri[p]] = 1;
        side[rj[p]] = 2;
    }
    free(side);
}

START_TEST(batches_hold_what_each_step_made_known)
{
    const int64_t n = 14;
    int32_t *y = true_labels(n, 3, test_seed() + 5);
    unsigned char *before = malloc((size_t)(n * n));
    unsigned char *after = malloc((size_t)(n * n));

    for (int smp = PAL_SAMPLER_PASSIVE; smp <= PAL_SAMPLER_ITEM; smp++) {
        for (int reg = PAL_REG_SAME; reg <= PAL_REG_HALVES; reg++) {
            pal_oracle_opts_t op;
            pal_oracle_t *o;
            pal_batch_t *b;
            truth_t t;
            pal_graph_t *g, *g2;
            double f1, f2;

            pal_oracle_opts_init(&op);
            op.sampler = (pal_sampler_t)smp;
            op.seed = test_seed();
            op.screen_size = 4;
            op.reg_mode = reg;
            op.reg_pairs = 5;
            op.negative_weight = 0.25;
            ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
            ck_status(pal_batch_create(&b, NULL), PAL_OK);
            truth_init(&t, y, n, o, 0.1);
            ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);
            for (int step = 0; step < 40; step++) {
                int64_t from = pal_batch_n_pairs(b);
                int64_t jfrom = pal_batch_n_reg(b);
                int rc;

                relations(pal_oracle_store(o), n, before);
                rc = pal_oracle_step(o, b);
                if (rc == PAL_DONE)
                    break;
                ck_status(rc, PAL_OK);
                truth_note(&t);
                relations(pal_oracle_store(o), n, after);
                check_step_batch(b, from, jfrom, n, before, after, 0.25, reg,
                                 5);
            }
            if (reg == PAL_REG_HALVES)
                check_halves(b, n);

            /* The full known graph is the store's. */
            ck_status(pal_oracle_graph(o, PAL_STORE_CONTRASTIVE, &g),
                      PAL_OK);
            ck_status(pal_store_graph(pal_oracle_store(o),
                                      PAL_STORE_CONTRASTIVE, &g2, NULL),
                      PAL_OK);
            ck_status(pal_graph_frobenius2(g, &f1), PAL_OK);
            ck_status(pal_graph_frobenius2(g2, &f2), PAL_OK);
            ck_assert(f1 == f2);
            ck_assert_int_eq(pal_graph_n(g), n);
            pal_graph_destroy(g);
            pal_graph_destroy(g2);
            ck_status(pal_oracle_graph(NULL, 0, &g), PAL_E_NULL);
            ck_status(pal_oracle_graph(o, 0, NULL), PAL_E_NULL);
            ck_status(pal_oracle_graph(o, 1u << 9, &g), PAL_E_RANGE);

            truth_free(&t);
            pal_batch_destroy(b);
            pal_oracle_destroy(o);
        }
    }
    free(before);
    free(after);
    free(y);
}
END_TEST

/* ---- Nearest neighbours -------------------------------------------------- */

static pal_oracle_t *nn_oracle(int64_t n, int metric, int64_t queue, int reg)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o;

    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_NN;
    op.seed = test_seed();
    op.nn_metric = metric;
    op.nn_queue = queue;
    op.reg_mode = reg;
    op.reg_pairs = 3;
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    return o;
}

/* The pairs of I as counts: cnt[i * n + j] for i < j. */
static void pair_counts(const pal_batch_t *b, int64_t n, int *cnt)
{
    const int64_t *bi, *bj;
    const double *bg;
    int64_t count;

    memset(cnt, 0, (size_t)(n * n) * sizeof *cnt);
    ck_status(pal_batch_pairs(b, &bi, &bj, &bg, &count), PAL_OK);
    for (int64_t p = 0; p < count; p++) {
        ck_assert_int_lt(bi[p], bj[p]);
        ck_assert(bg[p] == 1.0);
        cnt[bi[p] * n + bj[p]]++;
    }
}

START_TEST(nn_pairs_nearest_never_itself)
{
    /* Three pairs of identical points, far apart: each item's nearest
     * neighbour is its twin, at distance 0, never itself. */
    const int64_t n = 6;
    const double z[12] = {0, 0, 0, 0, 5, 5, 5, 5, -7, 3, -7, 3};
    int cnt[36];
    pal_oracle_t *o = nn_oracle(n, PAL_NN_EUCLIDEAN, 0, PAL_REG_SAME);
    pal_batch_t *b;
    pal_store_stats_t st;
    int64_t a, m;
    const int64_t *c;
    char path[] = "/tmp/pal-nn-XXXXXX";
    int fd;

    ck_status(pal_batch_create(&b, NULL), PAL_OK);

    /* Cold start: no embedding, nothing changes. */
    ck_status(pal_oracle_step(o, b), PAL_E_STATE);
    ck_assert_int_eq(pal_batch_n_pairs(b), 0);
    ck_assert_int_eq(costs(o).steps, 0);

    ck_status(pal_oracle_set_scores(o, PAL_F64, n, 1, z, 2), PAL_E_STATE);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 2, z, 2), PAL_OK);
    for (int step = 0; step < 2 * n; step++)
        ck_status(pal_oracle_step(o, b), PAL_OK);
    pair_counts(b, n, cnt);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++)
            ck_assert_int_eq(cnt[i * n + j],
                             (j == i + 1 && i % 2 == 0) ? 4 : 0);
    /* J = I with PAL_REG_SAME. */
    ck_assert_int_eq(pal_batch_n_reg(b), 2 * n);

    /* Pseudo-positives are not knowledge: the store has nothing. */
    st = store_stats(o);
    ck_assert_int_eq(st.answers, 0);
    ck_assert_int_eq(st.known_pairs, 0);
    ck_assert_int_eq(costs(o).steps, 2 * n);
    ck_assert_int_eq(costs(o).answers, 0);

    /* Nothing to pull, nothing to journal. */
    ck_status(pal_oracle_next(o, &a, &m, &c), PAL_E_STATE);
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_E_STATE);
    unlink(path);

    /* Removing the embedding brings the cold start back. */
    pal_oracle_clear_guidance(o);
    ck_status(pal_oracle_step(o, NULL), PAL_E_STATE);
    pal_batch_destroy(b);
    pal_oracle_destroy(o);
}
END_TEST

START_TEST(nn_metrics)
{
    /* Item 0's Euclidean nearest is 2; by angle it is 1. */
    const int64_t n = 3;
    const float z[6] = {1.0f, 0.0f, 10.0f, 0.1f, 0.5f, 0.5f};
    int cnt[9];

    for (int metric = PAL_NN_EUCLIDEAN; metric <= PAL_NN_COSINE; metric++) {
        pal_oracle_t *o = nn_oracle(n, metric, 0, -1);
        pal_batch_t *b;

        ck_status(pal_batch_create(&b, NULL), PAL_OK);
        ck_status(pal_oracle_set_embedding(o, PAL_F32, n, 2, z, 2), PAL_OK);
        for (int step = 0; step < n; step++)
            ck_status(pal_oracle_step(o, b), PAL_OK);
        pair_counts(b, n, cnt);
        if (metric == PAL_NN_EUCLIDEAN) {
            ck_assert_int_eq(cnt[0 * n + 2], 2);  /* 0 -> 2, 2 -> 0 */
            ck_assert_int_eq(cnt[0 * n + 1], 1);  /* 1 -> 0 */
        } else {
            ck_assert_int_eq(cnt[0 * n + 1], 2);  /* 0 -> 1, 1 -> 0 */
            ck_assert_int_eq(cnt[1 * n + 2], 1);  /* 2 -> 1 */
        }
        /* The default J of the NN oracle is random: reg_pairs a step. */
        ck_assert_int_eq(pal_batch_n_reg(b), 3 * n);
        pal_batch_destroy(b);
        pal_oracle_destroy(o);
    }
}
END_TEST

START_TEST(nn_support_queue)
{
    const int64_t n = 9;
    double z[9];
    pal_oracle_t *all = nn_oracle(n, PAL_NN_EUCLIDEAN, 0, PAL_REG_SAME);
    pal_oracle_t *full = nn_oracle(n, PAL_NN_EUCLIDEAN, 100, PAL_REG_SAME);
    pal_oracle_t *one = nn_oracle(n, PAL_NN_EUCLIDEAN, 1, PAL_REG_SAME);
    pal_batch_t *ba, *bf, *b1;
    const int64_t *ai, *aj, *fi, *fj, *oi, *oj;
    int64_t na, nf, n1;
    trng_t r;

    trng_seed(&r, test_seed() + 8);
    for (int64_t i = 0; i < n; i++)
        z[i] = trng_unit(&r);
    ck_status(pal_batch_create(&ba, NULL), PAL_OK);
    ck_status(pal_batch_create(&bf, NULL), PAL_OK);
    ck_status(pal_batch_create(&b1, NULL), PAL_OK);
    ck_status(pal_oracle_set_embedding(all, PAL_F64, n, 1, z, 1), PAL_OK);
    ck_status(pal_oracle_set_embedding(full, PAL_F64, n, 1, z, 1), PAL_OK);
    ck_status(pal_oracle_set_embedding(one, PAL_F64, n, 1, z, 1), PAL_OK);

    /* Cold start of a queue: the first anchor has nobody to pair with. */
    ck_status(pal_oracle_step(full, bf), PAL_OK);
    ck_status(pal_oracle_step(one, b1), PAL_OK);
    ck_assert_int_eq(pal_batch_n_pairs(bf), 0);
    ck_assert_int_eq(pal_batch_n_pairs(b1), 0);
    ck_assert_int_eq(costs(full).steps, 1);
    for (int step = 1; step < n; step++) {
        ck_status(pal_oracle_step(full, bf), PAL_OK);
        ck_status(pal_oracle_step(one, b1), PAL_OK);
    }
    ck_assert_int_eq(pal_batch_n_pairs(b1), n - 1);

    /* A queue of one pairs each anchor with the one before: a chain. */
    ck_status(pal_batch_pairs(b1, &oi, &oj, NULL, &n1), PAL_OK);
    for (int64_t p = 1; p < n1; p++) {
        int shared = (oi[p] == oi[p - 1]) + (oi[p] == oj[p - 1]) +
                     (oj[p] == oi[p - 1]) + (oj[p] == oj[p - 1]);

        ck_assert_int_eq(shared, 1);
    }

    /* Once the queue holds every item, it is the whole set: the second
     * epoch pairs as the whole-set oracle's second epoch. */
    for (int step = 0; step < n; step++)
        ck_status(pal_oracle_step(all, NULL), PAL_OK);
    pal_batch_clear(bf);
    for (int step = 0; step < n; step++) {
        ck_status(pal_oracle_step(all, ba), PAL_OK);
        ck_status(pal_oracle_step(full, bf), PAL_OK);
    }
    ck_status(pal_batch_pairs(ba, &ai, &aj, NULL, &na), PAL_OK);
    ck_status(pal_batch_pairs(bf, &fi, &fj, NULL, &nf), PAL_OK);
    ck_assert_int_eq(na, n);
    ck_assert_int_eq(nf, n);
    for (int64_t p = 0; p < n; p++) {
        ck_assert_int_eq(ai[p], fi[p]);
        ck_assert_int_eq(aj[p], fj[p]);
    }
    pal_batch_destroy(ba);
    pal_batch_destroy(bf);
    pal_batch_destroy(b1);
    pal_oracle_destroy(all);
    pal_oracle_destroy(full);
    pal_oracle_destroy(one);
}
END_TEST

/* ---- Custom samplers ----------------------------------------------------- */

typedef struct host_sampler {
    pal_oracle_t *o;
    trng_t r;
    long calls;
    int mode;             /* 0: a random open question; else a bad one */
    int64_t last_m;       /* candidates proposed last */
} host_sampler_t;

enum {
    HS_GOOD, HS_RANGE, HS_DUP, HS_SELF, HS_TOO_MANY, HS_ALL_KNOWN,
    HS_STOP, HS_FAIL, HS_REENTER, HS_SOME_KNOWN, HS_UNLABEL
};

static int host_propose(void *user, const pal_store_t *known,
                        int64_t capacity, int64_t *anchor, int64_t *m,
                        int64_t *cand)
{
    host_sampler_t *h = user;
    int64_t n = pal_store_n(known), k = 0;
    pal_relation_t rel;

    h->calls++;
    ck_assert_ptr_eq(known, pal_oracle_store(h->o));
    switch (h->mode) {
    case HS_RANGE:
        *anchor = n;
        *m = 1;
        cand[0] = 0;
        return 0;
    case HS_DUP:
        *anchor = 0;
        *m = 2;
        cand[0] = cand[1] = 1;
        return 0;
    case HS_SELF:
        *anchor = 2;
        *m = 1;
        cand[0] = 2;
        return 0;
    case HS_TOO_MANY:
        *anchor = 0;
        *m = capacity + 1;
        return 0;
    case HS_ALL_KNOWN:
    case HS_SOME_KNOWN:
        /* Items 0 and 1 are known same in these tests. */
        *anchor = 0;
        cand[0] = 1;
        cand[1] = 2;
        *m = h->mode == HS_ALL_KNOWN ? 1 : 2;
        return 0;
    case HS_STOP:
        return 1;
    case HS_FAIL:
        return -3;
    case HS_REENTER:
        ck_status(pal_oracle_step(h->o, NULL), PAL_E_STATE);
        ck_status(pal_oracle_set_sampler(h->o, host_propose, h),
                  PAL_E_STATE);
        return -1;
    case HS_UNLABEL:
        /* Changing the labeler from inside the sampler is refused, as
         * changing the sampler is: the question is asked as usual. */
        ck_status(pal_oracle_set_labeler(h->o, NULL, NULL), PAL_E_STATE);
        *anchor = 0;
        *m = 1;
        cand[0] = 2;
        return 0;
    default:
        break;
    }
    for (int tries = 0; tries < 1000 && k == 0; tries++) {
        *anchor = trng_below(&h->r, n);
        for (int64_t c = 0; c < n && k < capacity; c++) {
            ck_status(pal_store_relation(known, *anchor, c, &rel), PAL_OK);
            if (rel == PAL_REL_UNKNOWN && trng_unit(&h->r) < 0.5)
                cand[k++] = c;
        }
    }
    *m = k;
    h->last_m = k;
    return k > 0 ? 0 : 1;
}

START_TEST(custom_sampler)
{
    const int64_t n = 10;
    int32_t *y = true_labels(n, 3, test_seed() + 6);
    unsigned char *before = malloc((size_t)(n * n));
    unsigned char *after = malloc((size_t)(n * n));
    pal_oracle_t *o = new_oracle(n, PAL_SAMPLER_CUSTOM, test_seed(), 3);
    pal_oracle_t *cap = new_oracle(n, PAL_SAMPLER_CAPTCHA, 1, 3);
    pal_batch_t *b;
    host_sampler_t h;
    truth_t t;
    pal_oracle_costs_t c0;
    pal_store_stats_t st;
    int64_t a, m, answers = 0;
    const int64_t *cand;
    const int bad[] = {HS_RANGE, HS_DUP, HS_SELF, HS_TOO_MANY,
                       HS_ALL_KNOWN, HS_FAIL, HS_REENTER};
    int rc;

    memset(&h, 0, sizeof h);
    h.o = o;
    trng_seed(&h.r, test_seed() + 7);
    truth_init(&t, y, n, o, 0.0);
    ck_status(pal_batch_create(&b, NULL), PAL_OK);
    ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);

    /* No sampler yet; a sampler only for custom oracles. */
    ck_status(pal_oracle_step(o, b), PAL_E_STATE);
    ck_status(pal_oracle_next(o, &a, &m, &cand), PAL_E_STATE);
    ck_status(pal_oracle_set_sampler(cap, host_propose, &h), PAL_E_STATE);
    ck_status(pal_oracle_set_sampler(NULL, host_propose, &h), PAL_E_NULL);
    ck_status(pal_oracle_set_sampler(o, host_propose, &h), PAL_OK);

    /* Make 0 and 1 known same through the oracle itself, and nothing
     * else known. */
    h.mode = HS_GOOD;
    while (1) {
        pal_relation_t r;

        ck_status(pal_store_relation(pal_oracle_store(o), 0, 1, &r), PAL_OK);
        if (r != PAL_REL_UNKNOWN)
            break;
        ck_status(pal_oracle_next(o, &a, &m, &cand), PAL_OK);
        if (a != 0 && a != 1) {
            pal_oracle_cancel(o);
            continue;
        }
        {
            pal_answer_t ans[3];

            for (int64_t k = 0; k < m; k++)
                ans[k] = (a + cand[k] == 1) ? PAL_ANSWER_SAME
                                            : PAL_ANSWER_UNSURE;
            ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
            answers += m;
        }
    }

    /* Refused questions change nothing and reach no labeler. */
    c0 = costs(o);
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        long calls = t.calls;

        h.mode = bad[k];
        ck_status(pal_oracle_step(o, b), PAL_E_CALLBACK);
        ck_status(pal_oracle_next(o, &a, &m, &cand), PAL_E_CALLBACK);
        ck_assert_int_eq(t.calls, calls);
        ck_assert_int_eq(pal_batch_n_pairs(b), 0);
        ck_assert_int_eq(costs(o).screens, c0.screens);
    }
    h.mode = HS_STOP;
    ck_status(pal_oracle_step(o, b), PAL_DONE);

    /* Settled candidates are dropped from the question. */
    h.mode = HS_SOME_KNOWN;
    ck_status(pal_oracle_next(o, &a, &m, &cand), PAL_OK);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(m, 1);
    ck_assert_int_eq(cand[0], 2);
    pal_oracle_cancel(o);

    /* The sampler cannot swap the labeler under its own question. */
    h.mode = HS_UNLABEL;
    ck_status(pal_oracle_step(o, b), PAL_OK);
    ck_assert_int_eq(costs(o).screens, c0.screens + 1);
    ck_assert_int_eq(t.m, 1);
    answers += 1;

    /* Open questions to the end: I is what each step made known. */
    h.mode = HS_GOOD;
    for (;;) {
        int64_t from = pal_batch_n_pairs(b), jfrom = pal_batch_n_reg(b);

        relations(pal_oracle_store(o), n, before);
        rc = pal_oracle_step(o, b);
        if (rc == PAL_DONE)
            break;
        ck_status(rc, PAL_OK);
        answers += t.m;
        relations(pal_oracle_store(o), n, after);
        check_step_batch(b, from, jfrom, n, before, after, 0.0,
                         PAL_REG_SAME, 0);
    }
    pal_batch_clear(b);
    ck_assert_int_eq(costs(o).answers, answers);
    st = store_stats(o);
    ck_assert_int_eq(st.complete, 1);
    ck_assert_int_eq(st.answers, answers);
    free(y);
    free(before);
    free(after);
    truth_free(&t);
    pal_batch_destroy(b);
    pal_oracle_destroy(o);
    pal_oracle_destroy(cap);
}
END_TEST

/* ---- Costs, budgets and stopping ----------------------------------------- */

static pal_oracle_t *budget_oracle(int64_t n, pal_sampler_t sampler,
                                   uint64_t seed, int64_t screen,
                                   const double cost[3], double budget,
                                   int64_t stall)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL;

    pal_oracle_opts_init(&op);
    op.sampler = sampler;
    op.seed = seed;
    op.screen_size = screen;
    op.cost_screen = cost[0];
    op.cost_candidate = cost[1];
    op.cost_answer = cost[2];
    op.budget = budget;
    op.stall_screens = stall;
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    return o;
}

static pal_stop_reason_t stop_reason(const pal_oracle_t *o)
{
    pal_stop_reason_t r = (pal_stop_reason_t)-1;

    ck_status(pal_oracle_stop_reason(o, &r), PAL_OK);
    return r;
}

/* The cost of a screen as the options define it, worked out here. */
static double model_cost(const double cost[3], int64_t m, int64_t decided)
{
    if (cost[0] == 0.0 && cost[1] == 0.0 && cost[2] == 0.0)
        return (double)m;
    return cost[0] + (double)m * cost[1] + (double)decided * cost[2];
}

/*
 * Random cost models and budgets, with every sampler that asks: the
 * spending follows the model screen by screen and never passes the
 * budget; a captcha screen shrinks to what the budget pays for; a
 * budget stop means not even one candidate was affordable.
 */
START_TEST(budget_never_overspent)
{
    const pal_sampler_t samplers[3] = {PAL_SAMPLER_PASSIVE,
                                       PAL_SAMPLER_CAPTCHA, PAL_SAMPLER_ITEM};
    trng_t r;

    trng_seed(&r, test_seed() + 5);
    for (int trial = 0; trial < 60; trial++) {
        const int64_t n = 8 + (int64_t)trng_below(&r, 40);
        const int64_t screen = 1 + (int64_t)trng_below(&r, 9);
        const pal_sampler_t smp = samplers[trial % 3];
        double cost[3], budget, spent = 0.0;
        int32_t *y = true_labels(n, 2 + (int)trng_below(&r, 4),
                                 test_seed() + (uint64_t)trial);
        pal_oracle_t *o;
        truth_t t;
        int rc;

        /* Some trials keep the default model (a screen costs m). */
        for (int k = 0; k < 3; k++)
            cost[k] = trial % 4 == 0 ? 0.0
                      : trng_below(&r, 3) == 0 ? 0.0
                                                : 3.0 * trng_unit(&r);
        budget = 0.5 + 40.0 * trng_unit(&r);
        o = budget_oracle(n, smp, test_seed() + (uint64_t)trial, screen,
                          cost, budget, 0);
        truth_init(&t, y, n, o, 0.2);
        ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);
        ck_assert_int_eq(stop_reason(o), PAL_STOP_NONE);
        while ((rc = pal_oracle_step(o, NULL)) == PAL_OK) {
            int64_t d = 0;

            truth_note(&t);
            ck_assert_int_eq(stop_reason(o), PAL_STOP_NONE);
            for (int64_t k = 0; k < t.m; k++)
                d += t.ans[k] != PAL_ANSWER_UNSURE;
            ck_assert(spent + model_cost(cost, t.m, t.m) <= budget);
            spent += model_cost(cost, t.m, d);
            ck_assert(costs(o).spent == spent);
            ck_assert(costs(o).spent <= budget);
        }
        ck_status(rc, PAL_DONE);
        if (stop_reason(o) == PAL_STOP_BUDGET)
            ck_assert(spent + model_cost(cost, 1, 1) > budget);
        else
            ck_assert(stop_reason(o) == PAL_STOP_COMPLETE ||
                      stop_reason(o) == PAL_STOP_EXHAUSTED);

        /* A stopped oracle stays stopped, for the same reason. */
        rc = (int)stop_reason(o);
        ck_status(pal_oracle_step(o, NULL), PAL_DONE);
        ck_assert_int_eq(stop_reason(o), rc);
        ck_status(pal_oracle_next(o, &q_anchor, &q_m, &q_cand), PAL_DONE);
        ck_assert_int_eq(stop_reason(o), rc);
        truth_free(&t);
        free(y);
        pal_oracle_destroy(o);
    }
}
END_TEST

/* Captcha: a budget that pays for part of a screen gets that part. */
START_TEST(budget_shrinks_screens)
{
    const double cost[3] = {1.0, 0.5, 0.25};
    const int64_t n = 40;
    int32_t *y = true_labels(n, 3, test_seed());
    pal_oracle_t *o = budget_oracle(n, PAL_SAMPLER_CAPTCHA, test_seed(), 10,
                                    cost, 12.0, 0);
    truth_t t;

    /* 1 + 10 * 0.75 = 8.5 for the first screen, then 3.5 are left:
     * 1 + 3 * 0.75 = 3.25 fits, 1 + 4 * 0.75 = 4 does not. */
    truth_init(&t, y, n, o, 0.0);
    ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_assert_int_eq(t.m, 10);
    ck_status(pal_oracle_next(o, &q_anchor, &q_m, &q_cand), PAL_OK);
    ck_assert_int_eq(q_m, 3);
    pal_oracle_cancel(o);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_assert_int_eq(t.m, 3);
    ck_assert(costs(o).spent == 8.5 + 3.25);
    ck_status(pal_oracle_step(o, NULL), PAL_DONE);
    ck_assert_int_eq(stop_reason(o), PAL_STOP_BUDGET);
    ck_assert_int_eq(costs(o).screens, 2);
    truth_free(&t);
    free(y);
    pal_oracle_destroy(o);
}
END_TEST

static int nothing_to_propose(void *user, const pal_store_t *known,
                              int64_t capacity, int64_t *anchor, int64_t *m,
                              int64_t *candidates)
{
    (void)user;
    (void)known;
    (void)capacity;
    (void)anchor;
    (void)m;
    (void)candidates;
    return 1;
}

/*
 * Each stop reason, with the others' conditions absent: where one oracle
 * stops, a twin with the condition turned off goes on asking.
 */
START_TEST(each_stop_reason_on_its_own)
{
    const double none[3] = {0.0, 0.0, 0.0};
    const int64_t n = 30;
    int32_t *y = true_labels(n, 3, test_seed());
    pal_oracle_t *o, *twin;
    truth_t t, tt;
    int64_t asked = 0;

    /* Complete: no budget, no stall, a sure labeler. */
    for (int smp = PAL_SAMPLER_PASSIVE; smp <= PAL_SAMPLER_ITEM; smp++) {
        o = budget_oracle(n, (pal_sampler_t)smp, test_seed(), 5, none, 0.0,
                          0);
        truth_init(&t, y, n, o, 0.0);
        run_to_done(o, &t, NULL);
        ck_assert_int_eq(stop_reason(o), PAL_STOP_COMPLETE);
        ck_assert_int_eq(store_stats(o).complete, 1);
        truth_free(&t);
        pal_oracle_destroy(o);
    }

    /* Budget: without a cost model, 7 pairwise answers. */
    o = budget_oracle(n, PAL_SAMPLER_PASSIVE, test_seed(), 1, none, 7.0, 0);
    twin = budget_oracle(n, PAL_SAMPLER_PASSIVE, test_seed(), 1, none, 0.0,
                         0);
    truth_init(&t, y, n, o, 0.0);
    truth_init(&tt, y, n, twin, 0.0);
    ck_assert_int_eq(run_to_done(o, &t, NULL), 7);
    ck_assert_int_eq(stop_reason(o), PAL_STOP_BUDGET);
    ck_assert(costs(o).spent == 7.0);
    ck_assert_int_eq(store_stats(o).complete, 0);
    ck_status(pal_oracle_set_labeler(twin, truth_labeler, &tt), PAL_OK);
    for (int k = 0; k < 8; k++)
        ck_status(pal_oracle_step(twin, NULL), PAL_OK);
    truth_free(&t);
    truth_free(&tt);
    pal_oracle_destroy(o);
    pal_oracle_destroy(twin);

    /* No new class: the run stops 4 screens after the last class was
     * found, with questions left that a twin without the option asks. */
    for (int smp = PAL_SAMPLER_CAPTCHA; smp <= PAL_SAMPLER_ITEM; smp++) {
        int32_t *many = true_labels(200, 3, test_seed());
        int64_t last = 0, classes = 0, screens;

        o = budget_oracle(200, (pal_sampler_t)smp, test_seed(), 3, none,
                          0.0, 4);
        twin = budget_oracle(200, (pal_sampler_t)smp, test_seed(), 3, none,
                             0.0, 0);
        truth_init(&t, many, 200, o, 0.0);
        truth_init(&tt, many, 200, twin, 0.0);
        ck_status(pal_oracle_set_labeler(o, truth_labeler, &t), PAL_OK);
        while (pal_oracle_step(o, NULL) == PAL_OK) {
            pal_oracle_costs_t c = costs(o);

            if (c.classes > classes) {
                classes = c.classes;
                last = c.screens;
            }
        }
        screens = costs(o).screens;
        ck_assert_int_eq(stop_reason(o), PAL_STOP_NO_NEW_CLASS);
        ck_assert_int_ge(classes, 1);
        /* The lazy captcha founds a class one question after the screen
         * that found it. */
        ck_assert_int_le(screens - last, 4);
        ck_assert_int_ge(screens - last, smp == PAL_SAMPLER_ITEM ? 4 : 3);
        ck_assert_int_eq(store_stats(o).complete, 0);
        ck_assert(costs(o).spent == (double)costs(o).answers);
        ck_status(pal_oracle_set_labeler(twin, truth_labeler, &tt), PAL_OK);
        for (int64_t k = 0; k <= screens; k++)
            ck_status(pal_oracle_step(twin, NULL), PAL_OK);
        truth_free(&t);
        truth_free(&tt);
        free(many);
        pal_oracle_destroy(o);
        pal_oracle_destroy(twin);
    }

    /* Exhausted: every question answered unsure. */
    o = budget_oracle(6, PAL_SAMPLER_PASSIVE, test_seed(), 1, none, 100.0,
                      0);
    ck_status(pal_oracle_set_labeler(o, never_sure, &asked), PAL_OK);
    while (pal_oracle_step(o, NULL) == PAL_OK)
        continue;
    ck_assert_int_eq(asked, 15);
    ck_assert_int_eq(stop_reason(o), PAL_STOP_EXHAUSTED);
    ck_assert(costs(o).spent == 15.0);
    pal_oracle_destroy(o);

    /* The host's sampler has nothing to propose. */
    o = budget_oracle(n, PAL_SAMPLER_CUSTOM, test_seed(), 4, none, 0.0, 0);
    ck_status(pal_oracle_set_sampler(o, nothing_to_propose, NULL), PAL_OK);
    ck_status(pal_oracle_next(o, &q_anchor, &q_m, &q_cand), PAL_DONE);
    ck_assert_int_eq(stop_reason(o), PAL_STOP_SAMPLER);
    pal_oracle_destroy(o);
    free(y);
}
END_TEST

/* Check a balanced subset against the oracle's classes. */
static void check_subset(const pal_oracle_t *o, const int32_t *y,
                         int64_t n, int64_t per_class)
{
    int64_t items[256], count = -1, all = -1, prev = -1, in_class = 0;
    int32_t labels[256], lab[256], prev_label = -1;
    int64_t tmpl[256], ntmpl = 0, nc, size[256] = {0}, want = 0;
    bool classes = pal_oracle_templates(o, tmpl, 256, &ntmpl) == PAL_OK;

    ck_status(pal_oracle_balanced_subset(o, per_class, 256, items, labels,
                                         &all),
              PAL_OK);
    ck_status(pal_store_labels(pal_oracle_store(o),
                               PAL_STORE_SINGLETONS_UNKNOWN, lab, &nc),
              PAL_OK);
    for (int64_t x = 0; x < n; x++)
        if (lab[x] >= 0)
            size[lab[x]]++;
    if (!classes)
        for (int64_t c = 0; c < nc; c++)
            want += size[c] < per_class ? size[c] : per_class;
    for (int64_t p = 0; p < all; p++) {
        int64_t x = items[p];

        if (labels[p] != prev_label) {
            ck_assert_int_gt(labels[p], prev_label);
            prev_label = labels[p];
            in_class = 0;
            prev = -1;
            /* A class starts with its template. */
            if (classes)
                ck_assert_int_eq(x, tmpl[labels[p]]);
        } else {
            ck_assert_int_gt(x, prev);
        }
        if (!classes || in_class > 0)
            prev = x;
        in_class++;
        ck_assert_int_le(in_class, per_class);
        ck_assert_int_eq(y[x], y[items[p - in_class + 1]]);
        if (!classes)
            ck_assert_int_eq(lab[x], labels[p]);
    }
    if (!classes)
        ck_assert_int_eq(all, want);

    /* A short capacity gets the same prefix and the same count. */
    {
        int64_t few[3] = {-1, -1, -1};
        int32_t fl[3] = {-1, -1, -1};

        ck_status(pal_oracle_balanced_subset(o, per_class, 2, few, fl,
                                             &count),
                  PAL_OK);
        ck_assert_int_eq(count, all);
        for (int64_t p = 0; p < 2 && p < all; p++) {
            ck_assert_int_eq(few[p], items[p]);
            ck_assert_int_eq(fl[p], labels[p]);
        }
        ck_assert_int_eq(few[2], -1);
        ck_status(pal_oracle_balanced_subset(o, per_class, 0, NULL, NULL,
                                             &count),
                  PAL_OK);
        ck_assert_int_eq(count, all);
    }
}

/* At any stop, a class-balanced labelled subset of what is known. */
START_TEST(balanced_subset_at_stops)
{
    const double cost[3] = {1.0, 0.5, 0.0};
    const int64_t n = 50;
    int32_t *y = true_labels(n, 4, test_seed());

    for (int smp = PAL_SAMPLER_PASSIVE; smp <= PAL_SAMPLER_ITEM; smp++) {
        for (int b = 0; b < 3; b++) {
            double budget = b == 0 ? 0.0 : b == 1 ? 15.0 : 60.0;
            pal_oracle_t *o = budget_oracle(n, (pal_sampler_t)smp,
                                            test_seed() + (uint64_t)b, 6,
                                            cost, budget, 0);
            truth_t t;

            truth_init(&t, y, n, o, 0.1);
            check_subset(o, y, n, 3);
            run_to_done(o, &t, NULL);
            for (int64_t per = 1; per <= 5; per += 2)
                check_subset(o, y, n, per);
            truth_free(&t);
            pal_oracle_destroy(o);
        }
    }
    free(y);
}
END_TEST

Suite *suite_oracle(void);
Suite *suite_oracle(void)
{
    Suite *s = suite_create("oracle");
    TCase *tc = tcase_create("oracle");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, options_and_create);
    tcase_add_test(tc, call_arguments);
    tcase_add_test(tc, passive_asks_only_unknown_pairs);
    tcase_add_test(tc, captcha_screens);
    tcase_add_test(tc, captcha_recovers_labels);
    tcase_add_test(tc, captcha_elimination);
    tcase_add_test(tc, passive_unsure_ends);
    tcase_add_test(tc, captcha_unsure);
    tcase_add_test(tc, captcha_batches);
    tcase_add_test(tc, same_seed_same_questions);
    tcase_add_test(tc, labeler_failure_changes_nothing);
    tcase_add_test(tc, pull_api);
    tcase_add_test(tc, labeler_cannot_reenter);
    tcase_add_test(tc, ssl_batches);
    tcase_add_test(tc, ssl_with_sources);
    tcase_add_test(tc, create_fails_cleanly);
    tcase_add_test(tc, step_fails_cleanly);
    tcase_add_test(tc, ssl_step_fails_cleanly);
    tcase_add_test(tc, item_options);
    tcase_add_test(tc, three_alike_two_answers);
    tcase_add_test(tc, item_and_known_classes);
    tcase_add_test(tc, last_class_deduced);
    tcase_add_test(tc, screen_of_noes_spreads);
    tcase_add_test(tc, guided_same_run);
    tcase_add_test(tc, guided_candidates_nearest);
    tcase_add_test(tc, scores_guide);
    tcase_add_test(tc, guidance_arguments);
    tcase_add_test(tc, batches_hold_what_each_step_made_known);
    tcase_add_test(tc, nn_pairs_nearest_never_itself);
    tcase_add_test(tc, nn_metrics);
    tcase_add_test(tc, nn_support_queue);
    tcase_add_test(tc, custom_sampler);
    tcase_add_test(tc, budget_never_overspent);
    tcase_add_test(tc, budget_shrinks_screens);
    tcase_add_test(tc, each_stop_reason_on_its_own);
    tcase_add_test(tc, balanced_subset_at_stops);
    suite_add_tcase(s, tc);
    return s;
}
