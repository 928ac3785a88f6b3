/*
 * Noisy labelers: the votes option (repeated answers decided by majority,
 * disputed pairs re-asked), the flipping labeler, and taking answers back
 * (pal_oracle_undo).
 */
#include <stdbool.h>
#include <unistd.h>

#include "storeutil.h"

/* ---- Labelers ------------------------------------------------------------ */

/*
 * Answers from true labels, wrong on given asks of a pair: the k-th time
 * (k = 1, 2, ...) a pair is shown, the answer is flipped when bit k - 1 of
 * the pair's lie mask is set. The masks come from a hash of the pair, so
 * that a run cut and resumed from its journal answers as one that was not.
 */
typedef struct liar {
    const int32_t *y;
    int64_t n;
    unsigned char *asked;     /* n * n: times each ordered pair was shown */
    unsigned mask_all;        /* lie on these asks of every pair */
    double p;                 /* else lie with this probability per ask */
    uint64_t salt;
    int64_t calls, answers, lies;
    int unsure_at;            /* answer unsure on this ask (0: never) */
    /* The questions shown, in order: anchor, m, then the candidates. */
    int64_t *log;
    int64_t logn, logcap;
} liar_t;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    x ^= x >> 33;
    return x;
}

static void liar_init(liar_t *l, const int32_t *y, int64_t n, unsigned mask,
                      double p, uint64_t salt)
{
    memset(l, 0, sizeof *l);
    l->y = y;
    l->n = n;
    l->asked = calloc((size_t)(n * n), 1);
    l->mask_all = mask;
    l->p = p;
    l->salt = salt;
}

static void liar_free(liar_t *l)
{
    free(l->asked);
    free(l->log);
}

static void liar_log(liar_t *l, int64_t v)
{
    if (l->logn == l->logcap) {
        l->logcap = l->logcap ? 2 * l->logcap : 1024;
        l->log = realloc(l->log, (size_t)l->logcap * sizeof *l->log);
        ck_assert_ptr_nonnull(l->log);
    }
    l->log[l->logn++] = v;
}

static int liar_labeler(void *user, int64_t anchor, int64_t m,
                        const int64_t *cand, pal_answer_t *ans)
{
    liar_t *l = user;

    l->calls++;
    liar_log(l, anchor);
    liar_log(l, m);
    for (int64_t k = 0; k < m; k++) {
        int64_t i = anchor < cand[k] ? anchor : cand[k];
        int64_t j = anchor ^ cand[k] ^ i;
        unsigned char *c = &l->asked[i * l->n + j];
        int ask = ++*c;
        bool lie;

        liar_log(l, cand[k]);
        ck_assert_int_le(ask, 15);
        if (ask == l->unsure_at) {
            ans[k] = PAL_ANSWER_UNSURE;
            continue;
        }
        lie = (l->mask_all >> (ask - 1)) & 1u;
        if (!lie && l->p > 0.0) {
            uint64_t h = mix(l->salt ^ mix((uint64_t)(i * l->n + j) * 16u +
                                           (uint64_t)ask));

            lie = (double)(h >> 11) * 0x1.0p-53 < l->p;
        }
        ans[k] = (l->y[anchor] == l->y[cand[k]]) != lie
                     ? PAL_ANSWER_SAME
                     : PAL_ANSWER_DIFFERENT;
        l->answers++;
        l->lies += lie;
    }
    return 0;
}

static pal_oracle_t *voter(int64_t n, pal_sampler_t sampler, uint64_t seed,
                           int64_t votes, int vote_on)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL;

    pal_oracle_opts_init(&op);
    op.sampler = sampler;
    op.seed = seed;
    op.screen_size = 6;
    op.votes = votes;
    op.vote_on = vote_on;
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    return o;
}

/* True when the store's labels are the partition of y. */
static bool same_partition(const pal_oracle_t *o, const int32_t *y, int64_t n)
{
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    bool ok = true;

    ck_status(pal_store_labels(pal_oracle_store(o), 0, lab, NULL), PAL_OK);
    for (int64_t i = 0; i < n && ok; i++)
        for (int64_t j = 0; j < i && ok; j++)
            ok = (lab[i] == lab[j]) == (y[i] == y[j]);
    free(lab);
    return ok;
}

static int run_to_end(pal_oracle_t *o)
{
    int rc;
    int64_t steps = 0;

    while ((rc = pal_oracle_step(o, NULL)) == PAL_OK)
        ck_assert_int_lt(++steps, 100000);
    return rc;
}

static const pal_sampler_t voting_samplers[] = {
    PAL_SAMPLER_PASSIVE, PAL_SAMPLER_CAPTCHA, PAL_SAMPLER_ITEM};

/* ---- Options ------------------------------------------------------------- */

START_TEST(vote_options)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o = NULL;
    const int64_t bad_votes[] = {0, -1, 16, INT64_MAX};

    pal_oracle_opts_init(&op);
    ck_assert_int_eq(op.votes, 1);
    ck_assert_int_eq(op.vote_on, PAL_VOTE_ALL);
    for (size_t k = 0; k < sizeof bad_votes / sizeof *bad_votes; k++) {
        op.votes = bad_votes[k];
        ck_status(pal_oracle_create(&o, 10, &op, NULL), PAL_E_RANGE);
        ck_assert_ptr_null(o);
    }
    op.votes = 3;
    op.vote_on = 2;
    ck_status(pal_oracle_create(&o, 10, &op, NULL), PAL_E_RANGE);
    op.vote_on = -1;
    ck_status(pal_oracle_create(&o, 10, &op, NULL), PAL_E_RANGE);
    op.vote_on = PAL_VOTE_SAME;
    op.votes = 15;
    ck_status(pal_oracle_create(&o, 10, &op, NULL), PAL_OK);
    pal_oracle_destroy(o);
}
END_TEST

/* ---- A truthful labeler: votes only cost ----------------------------------- */

/*
 * With answers that never lie, a vote of 3 asks each pair twice (the two
 * agree), so the run asks the same first questions as without votes, ends
 * in the same store, and its costs follow exactly: every answer twice
 * (PAL_VOTE_ALL), or the "same" answers twice (PAL_VOTE_SAME).
 */
START_TEST(truthful_votes_cost_exactly)
{
    const int64_t n = 40;
    int32_t *y = true_labels(n, 4, test_seed() + 301);

    for (size_t s = 0; s < 3; s++)
        for (int on = PAL_VOTE_ALL; on <= PAL_VOTE_SAME; on++) {
            pal_oracle_t *a = voter(n, voting_samplers[s], test_seed(), 1, on);
            pal_oracle_t *b = voter(n, voting_samplers[s], test_seed(), 3, on);
            pal_oracle_costs_t ca, cb;
            liar_t la, lb;
            int32_t laba[40], labb[40];

            liar_init(&la, y, n, 0, 0.0, 0);
            liar_init(&lb, y, n, 0, 0.0, 0);
            ck_status(pal_oracle_set_labeler(a, liar_labeler, &la), PAL_OK);
            ck_status(pal_oracle_set_labeler(b, liar_labeler, &lb), PAL_OK);
            ck_status(run_to_end(a), PAL_DONE);
            ck_status(run_to_end(b), PAL_DONE);
            ca = costs(a);
            cb = costs(b);
            ck_assert(same_partition(a, y, n));
            ck_assert(same_partition(b, y, n));
            ck_status(pal_store_labels(pal_oracle_store(a), 0, laba, NULL),
                      PAL_OK);
            ck_status(pal_store_labels(pal_oracle_store(b), 0, labb, NULL),
                      PAL_OK);
            ck_assert(memcmp(laba, labb, sizeof laba) == 0);
            ck_assert_int_eq(cb.steps, ca.steps);
            ck_assert_int_eq(ca.reasked, 0);
            if (on == PAL_VOTE_ALL) {
                ck_assert_int_eq(cb.answers, 2 * ca.answers);
                ck_assert_int_eq(cb.reasked, ca.answers);
                ck_assert_int_eq(cb.screens, 2 * ca.screens);
                ck_assert_int_eq(cb.different, 2 * ca.different);
            } else {
                ck_assert_int_eq(cb.answers, ca.answers + ca.same);
                ck_assert_int_eq(cb.reasked, ca.same);
                ck_assert_int_eq(cb.different, ca.different);
            }
            ck_assert_int_eq(cb.same, 2 * ca.same);
            ck_assert_int_eq(cb.conflicts, 0);
            ck_assert_int_eq(costs(b).classes, costs(a).classes);
            liar_free(&la);
            liar_free(&lb);
            pal_oracle_destroy(a);
            pal_oracle_destroy(b);
        }
    free(y);
}
END_TEST

/* ---- A labeler wrong the first time: the vote corrects it ------------------ */

START_TEST(majority_corrects_a_first_wrong_answer)
{
    const int64_t n = 36;
    int32_t *y = true_labels(n, 3, test_seed() + 302);

    for (size_t s = 0; s < 3; s++) {
        pal_oracle_t *once = voter(n, voting_samplers[s], test_seed(), 1, 0);
        pal_oracle_t *three = voter(n, voting_samplers[s], test_seed(), 3, 0);
        pal_oracle_costs_t c;
        liar_t l1, l3;

        /* Every pair's first answer is a lie. Without votes the store
         * keeps the lies; with 3 votes the second and third answers
         * outvote the first, so every verdict is the truth. */
        liar_init(&l1, y, n, 1u, 0.0, 0);
        liar_init(&l3, y, n, 1u, 0.0, 0);
        ck_status(pal_oracle_set_labeler(once, liar_labeler, &l1), PAL_OK);
        ck_status(pal_oracle_set_labeler(three, liar_labeler, &l3), PAL_OK);
        ck_status(run_to_end(once), PAL_DONE);
        ck_status(run_to_end(three), PAL_DONE);
        ck_assert(!same_partition(once, y, n));
        ck_assert(same_partition(three, y, n));
        c = costs(three);
        /* Each pair: a lie, the truth, and the truth again. */
        ck_assert_int_eq(c.answers % 3, 0);
        ck_assert_int_eq(c.reasked, 2 * c.answers / 3);
        ck_assert_int_eq(l3.lies, c.answers / 3);
        ck_assert_int_eq(c.conflicts, 0);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++) {
                int asked = l3.asked[i * n + j] + l3.asked[j * n + i];

                ck_assert(asked == 0 || asked == 3);
            }
        liar_free(&l1);
        liar_free(&l3);
        pal_oracle_destroy(once);
        pal_oracle_destroy(three);
    }
    free(y);
}
END_TEST

/* An unsure answer ends its candidate's vote: the lead stands, and the
 * pair is not shown again. */
START_TEST(unsure_ends_a_vote)
{
    const int64_t n = 30;
    int32_t *y = true_labels(n, 3, test_seed() + 303);

    for (size_t s = 0; s < 3; s++) {
        pal_oracle_t *o = voter(n, voting_samplers[s], test_seed(), 5, 0);
        pal_oracle_costs_t c;
        liar_t l;

        liar_init(&l, y, n, 0, 0.0, 0);
        l.unsure_at = 2;
        ck_status(pal_oracle_set_labeler(o, liar_labeler, &l), PAL_OK);
        ck_status(run_to_end(o), PAL_DONE);
        ck_assert(same_partition(o, y, n));
        c = costs(o);
        ck_assert_int_eq(c.answers, 2 * c.unsure);
        ck_assert_int_eq(c.reasked, c.unsure);
        for (int64_t i = 0; i < n * n; i++)
            ck_assert_int_le(l.asked[i], 2);
        liar_free(&l);
        pal_oracle_destroy(o);
    }
    free(y);
}
END_TEST

/* ---- Budgets ------------------------------------------------------------- */

START_TEST(votes_never_overspend)
{
    const int64_t n = 40;
    int32_t *y = true_labels(n, 4, test_seed() + 304);
    trng_t r;

    trng_seed(&r, test_seed() + 305);
    for (int trial = 0; trial < 60; trial++) {
        pal_oracle_opts_t op;
        pal_oracle_t *o;
        pal_stop_reason_t why;
        liar_t l;
        int rc;

        pal_oracle_opts_init(&op);
        op.sampler = voting_samplers[trial % 3];
        op.seed = test_seed() + (uint64_t)trial;
        op.screen_size = 1 + trng_below(&r, 8);
        op.votes = 2 + trng_below(&r, 5);
        op.vote_on = (int)trng_below(&r, 2);
        if (trial % 2) {
            op.cost_screen = trng_unit(&r) * 3.0;
            op.cost_candidate = trng_unit(&r);
            op.cost_answer = trng_unit(&r) * 2.0;
        }
        op.budget = 5.0 + trng_unit(&r) * 150.0;
        ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
        liar_init(&l, y, n, 0, 0.25, (uint64_t)trial);
        ck_status(pal_oracle_set_labeler(o, liar_labeler, &l), PAL_OK);
        while ((rc = pal_oracle_step(o, NULL)) == PAL_OK)
            ck_assert(costs(o).spent <= op.budget);
        ck_status(rc, PAL_DONE);
        ck_assert(costs(o).spent <= op.budget);
        ck_status(pal_oracle_stop_reason(o, &why), PAL_OK);
        ck_assert(why == PAL_STOP_BUDGET || why == PAL_STOP_COMPLETE);
        liar_free(&l);
        pal_oracle_destroy(o);
    }
    free(y);
}
END_TEST

/* ---- Journals ------------------------------------------------------------ */


/*
 * A voting oracle, answered round by round, is destroyed at random points
 * (between rounds of a vote too) and brought back from its journal: the
 * questions shown and the end state are those of a run never cut.
 */
START_TEST(votes_replay_from_journals)
{
    const int64_t n = 30;
    int32_t *y = true_labels(n, 3, test_seed() + 306);
    trng_t r;

    trng_seed(&r, test_seed() + 307);
    for (int trial = 0; trial < 12; trial++) {
        const pal_sampler_t smp = voting_samplers[trial % 3];
        const int on = (trial / 3) % 2;
        pal_oracle_t *whole = voter(n, smp, test_seed() + 9, 3, on), *o;
        pal_oracle_costs_t cw, cc;
        liar_t lw, lc;
        char path[] = "/tmp/pal_votes_XXXXXX";
        int fd = mkstemp(path), rc, cuts = 0;
        int32_t labw[30], labc[30];

        ck_assert_int_ge(fd, 0);
        close(fd);
        liar_init(&lw, y, n, 0, 0.3, (uint64_t)trial);
        liar_init(&lc, y, n, 0, 0.3, (uint64_t)trial);
        while ((rc = pull_with(whole, liar_labeler, &lw)) == PAL_OK)
            ;
        ck_status(rc, PAL_DONE);

        o = voter(n, smp, test_seed() + 9, 3, on);
        ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
        for (;;) {
            rc = pull_with(o, liar_labeler, &lc);
            if (rc == PAL_DONE)
                break;
            ck_status(rc, PAL_OK);
            if (trng_unit(&r) < 0.15) {
                pal_journal_info_t info = {.size = sizeof info};

                pal_oracle_destroy(o);
                o = voter(n, smp, test_seed() + 9, 3, on);
                ck_status(pal_oracle_journal_open(o, path, 0, &info),
                          PAL_OK);
                ck_assert_int_eq(info.created, 0);
                cuts++;
            }
        }
        ck_assert_int_eq(lc.logn, lw.logn);
        ck_assert(memcmp(lc.log, lw.log, (size_t)lw.logn * sizeof *lw.log) ==
                  0);
        cw = costs(whole);
        cc = costs(o);
        ck_assert_int_eq(cc.answers, cw.answers);
        ck_assert_int_eq(cc.reasked, cw.reasked);
        ck_assert_int_eq(cc.screens, cw.screens);
        ck_assert_int_eq(cc.steps, cw.steps);
        ck_assert_int_eq(cc.same, cw.same);
        ck_assert(cc.spent == cw.spent);
        ck_status(pal_store_labels(pal_oracle_store(whole), 0, labw, NULL),
                  PAL_OK);
        ck_status(pal_store_labels(pal_oracle_store(o), 0, labc, NULL),
                  PAL_OK);
        ck_assert(memcmp(labw, labc, sizeof labw) == 0);
        ck_assert_int_gt(cw.reasked, 0);
        (void)cuts;
        liar_free(&lw);
        liar_free(&lc);
        pal_oracle_destroy(whole);
        pal_oracle_destroy(o);
        unlink(path);
    }
    free(y);
}
END_TEST

/* A vote cut by a labeler failure goes on at the next step; a cancelled
 * vote drops the question, and a journal replays both. */
static int fail_second(void *user, int64_t anchor, int64_t m,
                       const int64_t *cand, pal_answer_t *ans)
{
    liar_t *l = user;

    if (l->calls == 1 && l->unsure_at == 0) {
        l->unsure_at = -1;   /* fail once, on the second call */
        return 1;
    }
    return liar_labeler(user, anchor, m, cand, ans);
}

START_TEST(interrupted_votes)
{
    const int64_t n = 20;
    int32_t *y = true_labels(n, 2, test_seed() + 308);
    pal_oracle_t *o = voter(n, PAL_SAMPLER_CAPTCHA, test_seed(), 3, 0);
    pal_oracle_costs_t c;
    int64_t a, m, m0;
    const int64_t *cand;
    liar_t l;

    liar_init(&l, y, n, 0, 0.0, 0);
    ck_status(pal_oracle_set_labeler(o, fail_second, &l), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_E_CALLBACK);
    c = costs(o);
    ck_assert_int_eq(c.screens, 1);
    ck_assert_int_eq(c.steps, 0);
    /* The re-ask round is pending: pulled, it shows every candidate. */
    ck_status(pal_oracle_next(o, &a, &m, &cand), PAL_OK);
    ck_assert_int_eq(m, c.answers);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    c = costs(o);
    ck_assert_int_eq(c.steps, 1);
    ck_assert_int_eq(c.screens, 2);
    ck_assert_int_eq(c.answers, 2 * m);

    /* Cancel a vote after its first round. */
    ck_status(pal_oracle_next(o, &a, &m0, &cand), PAL_OK);
    {
        pal_answer_t ans[16];

        liar_labeler(&l, a, m0, cand, ans);
        ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
    }
    ck_status(pal_oracle_next(o, &a, &m, &cand), PAL_OK);
    ck_assert_int_eq(m, m0);
    pal_oracle_cancel(o);
    c = costs(o);
    ck_assert_int_eq(c.steps, 1);
    ck_assert_int_eq(c.screens, 3);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_assert_int_eq(costs(o).steps, 2);
    liar_free(&l);
    pal_oracle_destroy(o);
    free(y);
}
END_TEST

/* ---- The flipping labeler ------------------------------------------------ */

static int fixed_answers(void *user, int64_t anchor, int64_t m,
                         const int64_t *cand, pal_answer_t *ans)
{
    const pal_answer_t *want = user;

    (void)anchor;
    (void)cand;
    for (int64_t k = 0; k < m; k++)
        ans[k] = want[k % 4];
    return 0;
}

static int failing(void *user, int64_t anchor, int64_t m,
                   const int64_t *cand, pal_answer_t *ans)
{
    (void)user;
    (void)anchor;
    (void)m;
    (void)cand;
    ans[0] = PAL_ANSWER_SAME;
    return 5;
}

START_TEST(flip_labeler)
{
    static const pal_answer_t want[4] = {
        PAL_ANSWER_SAME, PAL_ANSWER_DIFFERENT, PAL_ANSWER_UNSURE,
        (pal_answer_t)7};
    const int64_t cand[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    pal_answer_t ans[8];
    pal_flip_t *f = NULL, *g = NULL;
    int64_t answered, flipped;

    ck_status(pal_flip_create(NULL, fixed_answers, NULL, 0.1, 1, NULL),
              PAL_E_NULL);
    ck_status(pal_flip_create(&f, NULL, NULL, 0.1, 1, NULL), PAL_E_NULL);
    ck_status(pal_flip_create(&f, fixed_answers, NULL, -0.1, 1, NULL),
              PAL_E_RANGE);
    ck_status(pal_flip_create(&f, fixed_answers, NULL, 1.5, 1, NULL),
              PAL_E_RANGE);
    ck_status(pal_flip_create(&f, fixed_answers, NULL, NAN, 1, NULL),
              PAL_E_RANGE);
    ck_assert_ptr_null(f);
    ck_status(pal_flip_counts(NULL, &answered, &flipped), PAL_E_NULL);
    pal_flip_destroy(NULL);

    /* p = 0 passes everything; p = 1 flips every same and different,
     * never unsure or an invalid answer (left for the oracle to refuse). */
    ck_status(pal_flip_create(&f, fixed_answers, (void *)want, 0.0, 1, NULL),
              PAL_OK);
    ck_status(pal_flip_labeler(f, 0, 8, cand, ans), 0);
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(ans[k], want[k % 4]);
    ck_status(pal_flip_counts(f, &answered, &flipped), PAL_OK);
    ck_assert_int_eq(answered, 4);
    ck_assert_int_eq(flipped, 0);
    pal_flip_destroy(f);
    ck_status(pal_flip_create(&f, fixed_answers, (void *)want, 1.0, 1, NULL),
              PAL_OK);
    ck_status(pal_flip_labeler(f, 0, 8, cand, ans), 0);
    for (int k = 0; k < 8; k += 4) {
        ck_assert_int_eq(ans[k], PAL_ANSWER_DIFFERENT);
        ck_assert_int_eq(ans[k + 1], PAL_ANSWER_SAME);
        ck_assert_int_eq(ans[k + 2], PAL_ANSWER_UNSURE);
        ck_assert_int_eq(ans[k + 3], 7);
    }
    ck_status(pal_flip_counts(f, NULL, &flipped), PAL_OK);
    ck_assert_int_eq(flipped, 4);
    pal_flip_destroy(f);

    /* A failing inner labeler: its status, nothing flipped. */
    ck_status(pal_flip_create(&f, failing, NULL, 1.0, 1, NULL), PAL_OK);
    ck_status(pal_flip_labeler(f, 0, 1, cand, ans), 5);
    ck_assert_int_eq(ans[0], PAL_ANSWER_SAME);
    pal_flip_destroy(f);

    /* p = 0.3: the share of flips, within 5 standard deviations; the
     * same seed flips the same answers. */
    ck_status(pal_flip_create(&f, fixed_answers, (void *)want, 0.3, 42, NULL),
              PAL_OK);
    ck_status(pal_flip_create(&g, fixed_answers, (void *)want, 0.3, 42, NULL),
              PAL_OK);
    for (int rep = 0; rep < 5000; rep++) {
        pal_answer_t b[8];

        ck_status(pal_flip_labeler(f, 0, 8, cand, ans), 0);
        ck_status(pal_flip_labeler(g, 0, 8, cand, b), 0);
        ck_assert(memcmp(ans, b, sizeof b) == 0);
    }
    ck_status(pal_flip_counts(f, &answered, &flipped), PAL_OK);
    ck_assert_int_eq(answered, 20000);
    ck_assert(fabs((double)flipped - 6000.0) < 5.0 * sqrt(20000 * 0.21));
    pal_flip_destroy(f);
    pal_flip_destroy(g);
}
END_TEST

/* A flipping labeler in front of a voting oracle: with p = 0.1 and 5
 * votes, the recovered partition is right far more often than with 1. */
START_TEST(votes_against_flips)
{
    const int64_t n = 60;
    int32_t *y = true_labels(n, 4, test_seed() + 309);
    int64_t wrong[2] = {0, 0};

    for (int trial = 0; trial < 10; trial++)
        for (int v = 0; v < 2; v++) {
            pal_oracle_t *o = voter(n, PAL_SAMPLER_ITEM,
                                    test_seed() + (uint64_t)trial,
                                    v ? 5 : 1, PAL_VOTE_ALL);
            liar_t truth;
            pal_flip_t *f;
            int32_t lab[60];

            liar_init(&truth, y, n, 0, 0.0, 0);
            ck_status(pal_flip_create(&f, liar_labeler, &truth, 0.1,
                                      test_seed() + (uint64_t)trial, NULL),
                      PAL_OK);
            ck_status(pal_oracle_set_labeler(o, pal_flip_labeler, f), PAL_OK);
            ck_status(run_to_end(o), PAL_DONE);
            ck_status(pal_store_labels(pal_oracle_store(o), 0, lab, NULL),
                      PAL_OK);
            /* Items whose class differs from the majority class of its
             * true label's items... counted simply: pairs wrong. */
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < i; j++)
                    wrong[v] += (lab[i] == lab[j]) != (y[i] == y[j]);
            pal_flip_destroy(f);
            liar_free(&truth);
            pal_oracle_destroy(o);
        }
    ck_assert_msg(wrong[1] * 4 < wrong[0],
                  "pairs wrong: %lld with 5 votes, %lld with 1",
                  (long long)wrong[1], (long long)wrong[0]);
    free(y);
}
END_TEST

/* ---- Undo ---------------------------------------------------------------- */

/*
 * Run an oracle question by question (through the pull interface, with
 * votes, priors set along the way and guidance), snapshot it before each
 * question, then take the questions back one by one: after each undo the
 * oracle is exactly as it was before that question, and asks it again. A
 * journal written along the way (undos included) reopens to the same
 * state.
 */
START_TEST(undo_restores_the_oracle)
{
    enum { N = 24, T = 14 };
    int32_t *y = true_labels(N, 4, test_seed() + 310);
    double z[N * 2];
    trng_t r;

    trng_seed(&r, test_seed() + 311);
    for (int64_t i = 0; i < N; i++) {
        z[2 * i] = y[i] + 0.3 * trng_normal(&r);
        z[2 * i + 1] = 0.3 * trng_normal(&r);
    }
    for (int trial = 0; trial < 12; trial++) {
        const pal_sampler_t smp = voting_samplers[trial % 3];
        const int64_t votes = trial % 2 ? 3 : 1;
        pal_oracle_t *o = voter(N, smp, test_seed() + (uint64_t)trial, votes,
                                PAL_VOTE_ALL), *back;
        static ostate_t before[T + 1];
        char path[] = "/tmp/pal_oundo_XXXXXX";
        int fd = mkstemp(path), k, done;
        liar_t l;

        ck_assert_int_ge(fd, 0);
        close(fd);
        unlink(path);
        liar_init(&l, y, N, 0, 0.2, (uint64_t)trial);
        ck_status(pal_oracle_set_labeler(o, liar_labeler, &l), PAL_OK);
        ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
        ck_status(pal_oracle_undo(o), PAL_E_STATE);
        if (trial % 4 >= 2 && smp != PAL_SAMPLER_PASSIVE)
            ck_status(pal_oracle_set_embedding(o, PAL_F64, N, 2, z, 2),
                      PAL_OK);
        for (k = 0, done = 0; k < T && !done; k++) {
            if (k == 4 && smp != PAL_SAMPLER_PASSIVE) {
                const double pri[3] = {3.0, 1.0, 2.0};
                int64_t nt;

                ck_status(pal_oracle_templates(o, NULL, 0, &nt), PAL_OK);
                ck_status(pal_oracle_set_priors(o, nt < 3 ? nt : 3, pri),
                          PAL_OK);
            }
            ostate_take(o, &before[k], true);
            if (before[k].next_rc == PAL_DONE) {
                done = 1;
                break;
            }
            ck_status(before[k].next_rc, PAL_OK);
            /* Answer it, every round of its vote. */
            while (pull_with(o, liar_labeler, &l) == PAL_OK &&
                   costs(o).steps == k)
                ;
            ck_assert_int_eq(costs(o).steps, k + 1);
        }
        /* k questions answered; take them back, checking each state. */
        while (k > 0) {
            ck_status(pal_oracle_undo(o), PAL_OK);
            k--;
            if (getenv("PAL_TEST_VERBOSE"))
                fprintf(stderr, "undo trial %d back to %d\n", trial, k);
            ostate_check(o, &before[k]);
            if (trng_unit(&r) < 0.3) {
                /* The journal brings a new oracle to the same state. */
                back = voter(N, smp, test_seed() + (uint64_t)trial, votes,
                             PAL_VOTE_ALL);
                ck_status(pal_oracle_journal_close(o), PAL_OK);
                ck_status(pal_oracle_journal_open(back, path, 0, NULL),
                          PAL_OK);
                if (trial % 4 >= 2 && smp != PAL_SAMPLER_PASSIVE)
                    ck_status(
                        pal_oracle_set_embedding(back, PAL_F64, N, 2, z, 2),
                        PAL_OK);
                ck_status(pal_oracle_set_labeler(back, liar_labeler, &l),
                          PAL_OK);
                pal_oracle_destroy(o);
                o = back;
                if (getenv("PAL_TEST_VERBOSE"))
                    fprintf(stderr, "reopened trial %d at %d\n", trial, k);
                ostate_check(o, &before[k]);
            }
        }
        ck_status(pal_oracle_undo(o), PAL_E_STATE);
        for (int q = 0; q <= T; q++)
            ostate_free(&before[q]);
        liar_free(&l);
        pal_oracle_destroy(o);
        unlink(path);
    }
    free(y);
}
END_TEST


/* A vote under way is taken back whole; undo is refused inside the
 * labeler and for samplers that ask nobody. */
static int undo_inside(void *user, int64_t anchor, int64_t m,
                       const int64_t *cand, pal_answer_t *ans)
{
    pal_oracle_t *o = user;

    (void)anchor;
    (void)cand;
    ck_status(pal_oracle_undo(o), PAL_E_STATE);
    for (int64_t k = 0; k < m; k++)
        ans[k] = PAL_ANSWER_DIFFERENT;
    return 0;
}

START_TEST(undo_edges)
{
    const int64_t n = 12;
    int32_t *y = true_labels(n, 3, test_seed() + 312);
    pal_oracle_t *o = voter(n, PAL_SAMPLER_CAPTCHA, test_seed(), 3, 0);
    pal_oracle_t *ssl;
    pal_oracle_opts_t op;
    ostate_t s0;
    int64_t a, m;
    const int64_t *cand;
    pal_answer_t ans[16];
    liar_t l;

    ck_status(pal_oracle_undo(NULL), PAL_E_NULL);
    liar_init(&l, y, n, 1u, 0.0, 0);   /* first answers lie: votes run */
    ostate_take(o, &s0, true);
    ck_status(pal_oracle_next(o, &a, &m, &cand), PAL_OK);
    ck_assert_int_eq(a, s0.anchor);
    liar_labeler(&l, a, m, cand, ans);
    ck_status(pal_oracle_answer(o, ans, NULL), PAL_OK);
    ck_assert_int_eq(costs(o).screens, 1);
    ck_status(pal_oracle_undo(o), PAL_OK);
    ostate_check(o, &s0);
    ostate_free(&s0);

    pal_oracle_cancel(o);
    ck_status(pal_oracle_set_labeler(o, undo_inside, o), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);

    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_SSL;
    ck_status(pal_oracle_create(&ssl, n, &op, NULL), PAL_OK);
    ck_status(pal_oracle_step(ssl, NULL), PAL_OK);
    ck_status(pal_oracle_undo(ssl), PAL_E_STATE);
    pal_oracle_destroy(ssl);
    liar_free(&l);
    pal_oracle_destroy(o);
    free(y);
}
END_TEST

/* Priors set while a vote is open wait for its end, and a journal holding
 * them reopens, mid-vote or after. */
START_TEST(priors_during_a_vote_replay)
{
    const int64_t n = 16;
    int32_t *y = true_labels(n, 3, test_seed() + 314);

    for (int finish = 0; finish < 2; finish++) {
        pal_oracle_t *o = voter(n, PAL_SAMPLER_ITEM, test_seed(), 3, 0), *b;
        char path[] = "/tmp/pal_vpri_XXXXXX";
        int fd = mkstemp(path);
        pal_oracle_costs_t c0, c1;
        liar_t l;
        int64_t a, m, a2, m2;
        const int64_t *cand;
        const double pri[1] = {2.0};

        ck_assert_int_ge(fd, 0);
        close(fd);
        unlink(path);
        /* Every first answer lies: each question takes 3 rounds. */
        liar_init(&l, y, n, 1u, 0.0, 0);
        ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
        for (int r = 0; r < 4; r++)
            ck_status(pull_with(o, liar_labeler, &l), PAL_OK);
        ck_assert_int_eq(costs(o).steps, 1);
        ck_assert_int_eq(costs(o).screens, 4);
        ck_status(pal_oracle_set_priors(o, 1, pri), PAL_OK);
        for (int r = 0; finish && r < 2; r++)
            ck_status(pull_with(o, liar_labeler, &l), PAL_OK);
        c0 = costs(o);
        ck_assert_int_eq(c0.steps, 1 + finish);
        ck_status(pal_oracle_next(o, &a, &m, &cand), PAL_OK);
        pal_oracle_destroy(o);

        b = voter(n, PAL_SAMPLER_ITEM, test_seed(), 3, 0);
        ck_status(pal_oracle_journal_open(b, path, 0, NULL), PAL_OK);
        c1 = costs(b);
        ck_assert_int_eq(c1.screens, c0.screens);
        ck_assert_int_eq(c1.steps, c0.steps);
        ck_assert_int_eq(c1.answers, c0.answers);
        ck_status(pal_oracle_next(b, &a2, &m2, &cand), PAL_OK);
        ck_assert_int_eq(a2, a);
        ck_assert_int_eq(m2, m);
        liar_free(&l);
        pal_oracle_destroy(b);
        unlink(path);
    }
    ck_assert_int_eq(pal_flip_labeler(NULL, 0, 0, NULL, NULL), -1);
    free(y);
}
END_TEST

/* ---- Estimated priors ---------------------------------------------------- */

START_TEST(estimated_priors)
{
    enum { N = 100 };
    int32_t y[N];
    double z[N], pri[4], sum = 0.0;
    int64_t k = 0;
    pal_oracle_t *o, *p;
    trng_t r;
    liar_t l;

    trng_seed(&r, test_seed() + 313);
    for (int i = 0; i < N; i++) {
        y[i] = i < 60 ? 0 : i < 90 ? 1 : 2;
        z[i] = 10.0 * y[i] + trng_normal(&r);
    }
    o = voter(N, PAL_SAMPLER_ITEM, test_seed(), 1, 0);
    p = voter(N, PAL_SAMPLER_PASSIVE, test_seed(), 1, 0);
    ck_status(pal_oracle_estimate_priors(NULL, 0, NULL, NULL), PAL_E_NULL);
    ck_status(pal_oracle_estimate_priors(o, 2, NULL, &k), PAL_E_NULL);
    ck_status(pal_oracle_estimate_priors(o, -1, pri, &k), PAL_E_SIZE);
    ck_status(pal_oracle_estimate_priors(p, 4, pri, &k), PAL_E_STATE);
    ck_status(pal_oracle_estimate_priors(o, 4, pri, &k), PAL_OK);
    ck_assert_int_eq(k, 1);
    ck_assert(pri[0] == 1.0);

    liar_init(&l, y, N, 0, 0.0, 0);
    ck_status(pal_oracle_set_labeler(o, liar_labeler, &l), PAL_OK);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, N, 1, z, 1), PAL_OK);
    while (k < 3) {
        ck_status(pal_oracle_step(o, NULL), PAL_OK);
        ck_status(pal_oracle_templates(o, NULL, 0, &k), PAL_OK);
    }
    /* With the embedding, the undetermined items go to their nearest
     * class: the shares are the true ones, up to the pseudo-items. */
    ck_status(pal_oracle_estimate_priors(o, 4, pri, &k), PAL_OK);
    ck_assert_int_eq(k, 3);
    for (int c = 0; c < 3; c++) {
        int32_t tpl[1];
        int64_t t[3], nt;
        double want;

        ck_status(pal_oracle_templates(o, t, 3, &nt), PAL_OK);
        tpl[0] = y[t[c]];
        want = (tpl[0] == 0 ? 60.0 : tpl[0] == 1 ? 30.0 : 10.0) + 1.0;
        ck_close(pri[c], want / 103.0, 0.0, 1e-12, "estimated prior");
        sum += pri[c];
    }
    ck_close(sum, 1.0, 1e-12, 0.0, "priors sum");
    ck_status(pal_oracle_set_priors(o, k, pri), PAL_OK);
    /* Only what fits is written. */
    pri[1] = -1.0;
    ck_status(pal_oracle_estimate_priors(o, 1, pri, NULL), PAL_OK);
    ck_assert(pri[1] == -1.0);

    /* Without guidance, in proportion to the known members. */
    pal_oracle_clear_guidance(o);
    ck_status(pal_oracle_estimate_priors(o, 4, pri, &k), PAL_OK);
    {
        int32_t lab[N];
        int64_t t[3], nt, members[3] = {0, 0, 0}, known = 0;

        ck_status(pal_oracle_templates(o, t, 3, &nt), PAL_OK);
        ck_status(pal_store_labels(pal_oracle_store(o), 0, lab, NULL),
                  PAL_OK);
        for (int i = 0; i < N; i++)
            for (int c = 0; c < 3; c++)
                if (lab[i] == lab[t[c]]) {
                    members[c]++;
                    known++;
                }
        for (int c = 0; c < 3; c++)
            ck_close(pri[c],
                     (members[c] + 1.0 +
                      (double)(N - known) * members[c] / (double)known) /
                         (N + 3.0),
                     1e-12, 0.0, "prior without guidance");
    }
    liar_free(&l);
    pal_oracle_destroy(o);
    pal_oracle_destroy(p);
}
END_TEST

Suite *suite_votes(void);
Suite *suite_votes(void)
{
    Suite *s = suite_create("votes");
    TCase *tc = tcase_create("votes");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, vote_options);
    tcase_add_test(tc, truthful_votes_cost_exactly);
    tcase_add_test(tc, majority_corrects_a_first_wrong_answer);
    tcase_add_test(tc, unsure_ends_a_vote);
    tcase_add_test(tc, votes_never_overspend);
    tcase_add_test(tc, votes_replay_from_journals);
    tcase_add_test(tc, interrupted_votes);
    tcase_add_test(tc, flip_labeler);
    tcase_add_test(tc, votes_against_flips);
    tcase_add_test(tc, undo_restores_the_oracle);
    tcase_add_test(tc, undo_edges);
    tcase_add_test(tc, estimated_priors);
    tcase_add_test(tc, priors_during_a_vote_replay);
    suite_add_tcase(s, tc);
    return s;
}
