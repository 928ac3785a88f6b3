/*
 * The knowledge store: deductions, conflicts, counters, the deduced pairs,
 * labels and graph exports, checked against a brute-force model; argument
 * codes; and allocation failures that must change nothing.
 */
#include <unistd.h>

#include "storeutil.h"

static pal_store_t *new_store(int64_t n)
{
    pal_store_t *s = NULL;

    ck_status(pal_store_create(&s, n, NULL), PAL_OK);
    return s;
}

static int answer(pal_store_t *s, int64_t i, int64_t j, pal_answer_t a)
{
    int eff = -1;

    quick_assert(pal_store_answer(s, i, j, a, NULL, &eff) == PAL_OK);
    return eff;
}

static pal_relation_t relation(const pal_store_t *s, int64_t i, int64_t j)
{
    pal_relation_t r = PAL_REL_UNKNOWN;

    quick_assert(pal_store_relation(s, i, j, &r) == PAL_OK);
    return r;
}

static pal_store_stats_t stats(const pal_store_t *s)
{
    pal_store_stats_t st = {.size = sizeof st};

    ck_status(pal_store_stats(s, &st), PAL_OK);
    return st;
}

/* ---- Arguments ----------------------------------------------------------- */

START_TEST(create_arguments)
{
    pal_store_t *s = (pal_store_t *)&s;

    ck_status(pal_store_create(NULL, 4, NULL), PAL_E_NULL);
    ck_status(pal_store_create(&s, 0, NULL), PAL_E_SIZE);
    ck_status(pal_store_create(&s, -3, NULL), PAL_E_SIZE);
    ck_status(pal_store_create(&s, (int64_t)INT32_MAX + 1, NULL), PAL_E_SIZE);
    ck_assert_ptr_eq(s, (pal_store_t *)&s);
    ck_status(pal_store_create(&s, 1, NULL), PAL_OK);
    ck_assert_int_eq(pal_store_n(s), 1);
    ck_assert_int_eq(pal_store_n(NULL), -1);
    ck_assert_int_eq(answer(s, 0, 0, PAL_ANSWER_SAME), PAL_EFFECT_KNOWN);
    ck_assert_int_eq(stats(s).complete, 1);
    pal_store_destroy(s);
    pal_store_destroy(NULL);
}
END_TEST

START_TEST(call_arguments)
{
    pal_store_t *s = new_store(5);
    pal_store_stats_t st = {.size = sizeof st};
    pal_relation_t r = PAL_REL_SAME;
    pal_graph_t *g = NULL;
    int32_t lab[5];
    int64_t i = 7, j = 7, root = 9, size = 9;
    pal_answer_t a = PAL_ANSWER_UNSURE;
    int eff = 42;

    ck_status(pal_store_answer(NULL, 0, 1, PAL_ANSWER_SAME, NULL, NULL),
              PAL_E_NULL);
    ck_status(pal_store_answer(s, -1, 1, PAL_ANSWER_SAME, NULL, &eff),
              PAL_E_INDEX);
    ck_status(pal_store_answer(s, 0, 5, PAL_ANSWER_SAME, NULL, &eff),
              PAL_E_INDEX);
    ck_status(pal_store_answer(s, 0, 1, (pal_answer_t)3, NULL, &eff),
              PAL_E_RANGE);
    ck_status(pal_store_answer(s, 0, 1, (pal_answer_t)-1, NULL, &eff),
              PAL_E_RANGE);
    ck_assert_int_eq(eff, 42);
    ck_assert_int_eq(stats(s).answers, 0);

    ck_status(pal_store_relation(NULL, 0, 1, &r), PAL_E_NULL);
    ck_status(pal_store_relation(s, 0, 1, NULL), PAL_E_NULL);
    ck_status(pal_store_relation(s, 0, 5, &r), PAL_E_INDEX);
    ck_status(pal_store_relation(s, -1, 0, &r), PAL_E_INDEX);
    ck_assert_int_eq(r, PAL_REL_SAME);

    ck_status(pal_store_component(NULL, 0, &root, &size), PAL_E_NULL);
    ck_status(pal_store_component(s, 5, &root, &size), PAL_E_INDEX);
    ck_status(pal_store_component(s, -1, &root, &size), PAL_E_INDEX);
    ck_assert_int_eq(root, 9);
    ck_status(pal_store_component(s, 3, NULL, NULL), PAL_OK);
    ck_status(pal_store_component(s, 3, &root, &size), PAL_OK);
    ck_assert_int_eq(root, 3);
    ck_assert_int_eq(size, 1);

    ck_status(pal_store_stats(NULL, &st), PAL_E_NULL);
    ck_status(pal_store_stats(s, NULL), PAL_E_NULL);
    st.size = sizeof st - 1;
    ck_status(pal_store_stats(s, &st), PAL_E_SIZE);
    st.size = 0;
    ck_status(pal_store_stats(s, &st), PAL_E_SIZE);

    ck_status(pal_store_labels(NULL, 0, lab, NULL), PAL_E_NULL);
    ck_status(pal_store_labels(s, 0, NULL, NULL), PAL_E_NULL);
    ck_status(pal_store_labels(s, 1u << 5, lab, NULL), PAL_E_RANGE);
    ck_status(pal_store_labels(s, PAL_STORE_CONTRASTIVE, lab, NULL), PAL_OK);

    ck_status(pal_store_graph(NULL, 0, &g, NULL), PAL_E_NULL);
    ck_status(pal_store_graph(s, 0, NULL, NULL), PAL_E_NULL);
    ck_status(pal_store_graph(s, 1u << 7, &g, NULL), PAL_E_RANGE);
    ck_assert_ptr_null(g);

    ck_status(pal_store_log_entry(NULL, 0, &i, &j, &a), PAL_E_NULL);
    ck_status(pal_store_log_entry(s, 0, &i, &j, &a), PAL_E_INDEX);
    answer(s, 1, 2, PAL_ANSWER_DIFFERENT);
    ck_status(pal_store_log_entry(s, -1, &i, &j, &a), PAL_E_INDEX);
    ck_status(pal_store_log_entry(s, 1, &i, &j, &a), PAL_E_INDEX);
    ck_assert_int_eq(i, 7);
    ck_status(pal_store_log_entry(s, 0, NULL, NULL, NULL), PAL_OK);
    ck_status(pal_store_log_entry(s, 0, &i, &j, &a), PAL_OK);
    ck_assert_int_eq(i, 1);
    ck_assert_int_eq(j, 2);
    ck_assert_int_eq(a, PAL_ANSWER_DIFFERENT);
    pal_store_destroy(s);
}
END_TEST

/* A larger stats structure from a later version is filled in part. */
START_TEST(stats_larger_struct)
{
    pal_store_t *s = new_store(3);
    struct {
        pal_store_stats_t st;
        int64_t later;
    } big;

    memset(&big, 0x5a, sizeof big);
    big.st.size = sizeof big;
    ck_status(pal_store_stats(s, &big.st), PAL_OK);
    ck_assert_uint_eq(big.st.size, sizeof big);
    ck_assert_int_eq(big.st.components, 3);
    ck_assert_int_eq(big.st.answers, 0);
    ck_assert_int_eq(big.later, 0x5a5a5a5a5a5a5a5a);
    pal_store_destroy(s);
}
END_TEST

/* ---- Deductions ---------------------------------------------------------- */

START_TEST(must_link_chain)
{
    const int64_t n = 10;
    pal_store_t *s = new_store(n);
    pal_store_stats_t st;
    int64_t root, size;

    for (int64_t i = 0; i + 1 < n; i++)
        ck_assert_int_eq(answer(s, i, i + 1, PAL_ANSWER_SAME),
                         PAL_EFFECT_NEW);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            ck_assert_int_eq(relation(s, i, j), PAL_REL_SAME);
    st = stats(s);
    ck_assert_int_eq(st.components, 1);
    ck_assert_int_eq(st.known_pairs, n * (n - 1) / 2);
    ck_assert_int_eq(st.complete, 1);
    ck_assert_int_eq(st.redundant, 0);
    ck_status(pal_store_component(s, 7, &root, &size), PAL_OK);
    ck_assert_int_eq(size, n);

    /* Once known, the ends of the chain are a redundant answer. */
    ck_assert_int_eq(answer(s, 0, n - 1, PAL_ANSWER_SAME), PAL_EFFECT_KNOWN);
    ck_assert_int_eq(stats(s).redundant, 1);
    pal_store_destroy(s);
}
END_TEST

START_TEST(cannot_link_spreads)
{
    pal_store_t *s = new_store(8);
    pal_store_stats_t st;

    /* {0, 1, 2} and {3, 4}; one "different" makes all six pairs known. */
    answer(s, 0, 1, PAL_ANSWER_SAME);
    answer(s, 1, 2, PAL_ANSWER_SAME);
    answer(s, 3, 4, PAL_ANSWER_SAME);
    ck_assert_int_eq(answer(s, 2, 4, PAL_ANSWER_DIFFERENT), PAL_EFFECT_NEW);
    for (int64_t a = 0; a < 3; a++)
        for (int64_t b = 3; b < 5; b++)
            ck_assert_int_eq(relation(s, a, b), PAL_REL_DIFFERENT);
    st = stats(s);
    ck_assert_int_eq(st.different_pairs, 1);
    ck_assert_int_eq(st.known_pairs, 3 + 1 + 6);

    /* A newcomer to {0, 1, 2} inherits its cannot-links. */
    answer(s, 5, 0, PAL_ANSWER_SAME);
    ck_assert_int_eq(relation(s, 5, 3), PAL_REL_DIFFERENT);
    ck_assert_int_eq(relation(s, 4, 5), PAL_REL_DIFFERENT);
    ck_assert_int_eq(relation(s, 5, 6), PAL_REL_UNKNOWN);

    /* Two components apart from {3, 4} merge: one pair of components
     * known different remains. */
    answer(s, 6, 3, PAL_ANSWER_DIFFERENT);
    ck_assert_int_eq(stats(s).different_pairs, 2);
    answer(s, 6, 1, PAL_ANSWER_SAME);
    st = stats(s);
    ck_assert_int_eq(st.different_pairs, 1);
    ck_assert_int_eq(st.components, 3);
    ck_assert_int_eq(st.known_pairs, 10 + 1 + 10);
    ck_assert_int_eq(relation(s, 7, 6), PAL_REL_UNKNOWN);
    pal_store_destroy(s);
}
END_TEST

START_TEST(contradiction_is_counted)
{
    pal_store_t *s = new_store(6);
    pal_store_stats_t before, after;
    int64_t i, j;
    pal_answer_t a;

    answer(s, 0, 1, PAL_ANSWER_SAME);
    answer(s, 1, 2, PAL_ANSWER_SAME);
    answer(s, 3, 4, PAL_ANSWER_DIFFERENT);
    before = stats(s);

    /* i ~ j, j ~ k, then i !~ k: the first answers win. */
    ck_assert_int_eq(answer(s, 0, 2, PAL_ANSWER_DIFFERENT),
                     PAL_EFFECT_CONFLICT);
    ck_assert_int_eq(answer(s, 4, 3, PAL_ANSWER_SAME), PAL_EFFECT_CONFLICT);
    ck_assert_int_eq(answer(s, 5, 5, PAL_ANSWER_DIFFERENT),
                     PAL_EFFECT_CONFLICT);
    ck_assert_int_eq(answer(s, 2, 2, PAL_ANSWER_SAME), PAL_EFFECT_KNOWN);
    ck_assert_int_eq(answer(s, 0, 5, PAL_ANSWER_UNSURE), PAL_EFFECT_UNSURE);
    after = stats(s);
    ck_assert_int_eq(after.conflicts, 3);
    ck_assert_int_eq(after.redundant, 1);
    ck_assert_int_eq(after.unsure, 1);
    ck_assert_int_eq(after.answers, before.answers + 5);
    ck_assert_int_eq(after.components, before.components);
    ck_assert_int_eq(after.known_pairs, before.known_pairs);
    ck_assert_int_eq(after.different_pairs, before.different_pairs);
    ck_assert_int_eq(relation(s, 0, 2), PAL_REL_SAME);
    ck_assert_int_eq(relation(s, 3, 4), PAL_REL_DIFFERENT);
    ck_assert_int_eq(relation(s, 0, 5), PAL_REL_UNKNOWN);

    /* Every answer is in the log, conflicts and unsure ones included. */
    ck_status(pal_store_log_entry(s, 3, &i, &j, &a), PAL_OK);
    ck_assert(i == 0 && j == 2 && a == PAL_ANSWER_DIFFERENT);
    ck_status(pal_store_log_entry(s, 7, &i, &j, &a), PAL_OK);
    ck_assert(i == 0 && j == 5 && a == PAL_ANSWER_UNSURE);
    pal_store_destroy(s);
}
END_TEST

START_TEST(labels_are_canonical)
{
    pal_store_t *s = new_store(7);
    int32_t lab[7];
    int64_t nc;
    static const int32_t first[7] = {0, 1, 2, 1, 0, 3, 4};
    static const int32_t plain[7] = {0, 1, 2, 1, 0, 3, 3};
    static const int32_t su[7] = {0, 1, -1, 1, 0, 2, 2};

    /* {0, 4}, {1, 3}, {2}, {5}, {6}: numbered by smallest member. */
    answer(s, 4, 0, PAL_ANSWER_SAME);
    answer(s, 3, 1, PAL_ANSWER_SAME);
    answer(s, 6, 2, PAL_ANSWER_DIFFERENT);
    ck_status(pal_store_labels(s, 0, lab, &nc), PAL_OK);
    ck_assert_int_eq(nc, 5);
    ck_assert(memcmp(lab, first, sizeof lab) == 0);

    answer(s, 6, 5, PAL_ANSWER_SAME);
    ck_status(pal_store_labels(s, 0, lab, &nc), PAL_OK);
    ck_assert_int_eq(nc, 4);
    ck_assert(memcmp(lab, plain, sizeof lab) == 0);
    ck_status(pal_store_labels(s, PAL_STORE_SINGLETONS_UNKNOWN, lab, NULL),
              PAL_OK);
    ck_assert(memcmp(lab, su, sizeof lab) == 0);
    pal_store_destroy(s);
}
END_TEST

/* ---- Brute force --------------------------------------------------------- */

/* A random answer about a random pair; pairs repeat often at small n. */
static void random_answer(trng_t *r, int64_t n, double p_same,
                          double p_unsure, int64_t *i, int64_t *j,
                          pal_answer_t *a)
{
    double u = trng_unit(r);

    *i = trng_below(r, n);
    *j = trng_below(r, 8) == 0 ? *i : trng_below(r, n);
    *a = u < p_unsure           ? PAL_ANSWER_UNSURE
         : u < p_unsure + p_same ? PAL_ANSWER_SAME
                                 : PAL_ANSWER_DIFFERENT;
}

START_TEST(brute_force_model)
{
    trng_t r;

    trng_seed(&r, test_seed() + 11);
    for (int run = 0; run < 300; run++) {
        int64_t n = 1 + trng_below(&r, 12);
        double p_same = 0.1 + 0.5 * trng_unit(&r);
        pal_store_t *s = new_store(n);
        model_t m;

        model_init(&m, n);
        for (int t = 0; t < 40; t++) {
            int64_t i, j;
            pal_answer_t a;
            int want;

            random_answer(&r, n, p_same, 0.1, &i, &j, &a);
            want = model_answer(&m, i, j, a);
            ck_assert_msg(answer(s, i, j, a) == want,
                          "seed %llu run %d step %d",
                          (unsigned long long)test_seed(), run, t);
            model_check(&m, s);
        }
        for (int64_t k = 0; k < m.answers; k++) {
            int64_t i, j;
            pal_answer_t a;

            ck_status(pal_store_log_entry(s, k, &i, &j, &a), PAL_OK);
        }
        model_free(&m);
        pal_store_destroy(s);
    }
}
END_TEST

/*
 * Answers shaped to build heavy components: hubs made different from many
 * items, hubs sometimes merged together, leaves merged in between.
 */
static void hub_answer(trng_t *r, int64_t n, int64_t hubs, int64_t *i,
                      int64_t *j, pal_answer_t *a)
{
    int64_t kind = trng_below(r, 20);

    if (kind < 12) {
        *i = trng_below(r, hubs);
        *j = hubs + trng_below(r, n - hubs);
        *a = PAL_ANSWER_DIFFERENT;
    } else if (kind < 17) {
        *i = hubs + trng_below(r, n - hubs);
        *j = hubs + trng_below(r, n - hubs);
        *a = trng_below(r, 10) ? PAL_ANSWER_DIFFERENT : PAL_ANSWER_SAME;
    } else if (kind < 18) {
        *i = trng_below(r, hubs);
        *j = trng_below(r, hubs);
        *a = trng_below(r, 8) ? PAL_ANSWER_UNSURE : PAL_ANSWER_SAME;
    } else {
        random_answer(r, n, 0.3, 0.2, i, j, a);
    }
}

/*
 * Enough items and answers for components with many cannot-links (which
 * keep their counts up to date), long lists that get compacted, and the
 * table's purge of stale keys.
 */
START_TEST(brute_force_large)
{
    trng_t r;

    trng_seed(&r, test_seed() + 12);
    for (int run = 0; run < 6; run++) {
        int64_t n = run < 4 ? 150 + 50 * run : 500;
        pal_store_t *s = new_store(n);
        model_t m;
        int steps = run < 4 ? 6000 : 12000;

        model_init(&m, n);
        for (int t = 0; t < steps; t++) {
            int64_t i, j;
            pal_answer_t a;

            /* Mostly "different" at first, so that degrees grow before
             * components merge; or hubs apart from many items. */
            if (run < 4)
                random_answer(&r, n, t < steps / 2 ? 0.02 : 0.2, 0.05, &i,
                              &j, &a);
            else
                hub_answer(&r, n, 6, &i, &j, &a);
            quick_assert(answer(s, i, j, a) == model_answer(&m, i, j, a));
            if (t % 1000 == 999)
                model_check(&m, s);
        }
        model_check(&m, s);
        model_free(&m);
        pal_store_destroy(s);
    }
}
END_TEST

/* The known unordered pairs i < j, as a bit per pair with its kind. */
static void known_pairs(const pal_store_t *s, int64_t n, unsigned char *k)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            k[i * n + j] = (unsigned char)relation(s, i, j);
}

START_TEST(deduced_pairs_are_exact)
{
    trng_t r;

    trng_seed(&r, test_seed() + 13);
    for (int run = 0; run < 200; run++) {
        int64_t n = 2 + trng_below(&r, 14);
        pal_store_t *s = new_store(n);
        pal_batch_t *b = NULL;
        unsigned char *k0 = malloc((size_t)(n * n));
        unsigned char *k1 = malloc((size_t)(n * n));
        unsigned char *seen = malloc((size_t)(n * n));

        ck_status(pal_batch_create(&b, NULL), PAL_OK);
        for (int t = 0; t < 30; t++) {
            const int64_t *bi, *bj;
            const double *bg;
            int64_t i, j, cnt, want = 0;
            pal_answer_t a;

            random_answer(&r, n, 0.3, 0.1, &i, &j, &a);
            known_pairs(s, n, k0);
            pal_batch_clear(b);
            ck_status(pal_store_answer(s, i, j, a, b, NULL), PAL_OK);
            known_pairs(s, n, k1);
            ck_status(pal_batch_pairs(b, &bi, &bj, &bg, &cnt), PAL_OK);
            memset(seen, 0, (size_t)(n * n));
            for (int64_t p = 0; p < cnt; p++) {
                quick_assert(bi[p] < bj[p] && bj[p] < n);
                quick_assert(!seen[bi[p] * n + bj[p]]);
                seen[bi[p] * n + bj[p]] = 1;
                quick_assert(k0[bi[p] * n + bj[p]] == PAL_REL_UNKNOWN);
                quick_assert(bg[p] == (k1[bi[p] * n + bj[p]] == PAL_REL_SAME
                                           ? 1.0
                                           : 0.0));
            }
            for (int64_t x = 0; x < n; x++)
                for (int64_t y = x + 1; y < n; y++)
                    want += k0[x * n + y] == PAL_REL_UNKNOWN &&
                            k1[x * n + y] != PAL_REL_UNKNOWN;
            ck_assert_int_eq(cnt, want);
            ck_assert_int_eq(pal_batch_n_offered_pairs(b), want);
            ck_assert_int_eq(pal_batch_n_reg(b), 0);
        }
        pal_batch_destroy(b);
        pal_store_destroy(s);
        free(k0);
        free(k1);
        free(seen);
    }
}
END_TEST

START_TEST(deduced_batch_limit)
{
    pal_store_t *s = new_store(60);
    pal_batch_t *b = NULL;
    const int64_t *bi, *bj;
    const double *bg;
    int64_t cnt;

    /* Components {0..19} and {20..49}, and {50..59} apart from the
     * second: merging the first two makes 20 * 30 same pairs and 20 * 10
     * different ones known. */
    for (int64_t i = 1; i < 20; i++)
        answer(s, 0, i, PAL_ANSWER_SAME);
    for (int64_t i = 21; i < 50; i++)
        answer(s, 20, i, PAL_ANSWER_SAME);
    for (int64_t i = 51; i < 60; i++)
        answer(s, 50, i, PAL_ANSWER_SAME);
    answer(s, 55, 33, PAL_ANSWER_DIFFERENT);

    ck_status(pal_batch_create(&b, NULL), PAL_OK);
    ck_status(pal_batch_set_limit(b, 50, 7), PAL_OK);
    ck_status(pal_store_answer(s, 3, 44, PAL_ANSWER_SAME, b, NULL), PAL_OK);
    ck_assert_int_eq(pal_batch_n_pairs(b), 50);
    ck_assert_int_eq(pal_batch_n_offered_pairs(b), 600 + 200);
    ck_status(pal_batch_pairs(b, &bi, &bj, &bg, &cnt), PAL_OK);
    for (int64_t p = 0; p < cnt; p++) {
        quick_assert(bi[p] < 20);
        if (bj[p] < 50)
            quick_assert(bj[p] >= 20 && bg[p] == 1.0);
        else
            quick_assert(bg[p] == 0.0);
    }
    pal_batch_destroy(b);
    pal_store_destroy(s);
}
END_TEST

/* ---- Graph export -------------------------------------------------------- */

START_TEST(graph_matches_brute_force)
{
    trng_t r;

    trng_seed(&r, test_seed() + 14);
    for (int run = 0; run < 60; run++) {
        int64_t n = 1 + trng_below(&r, 11);
        pal_store_t *s = new_store(n);
        double *dense = malloc((size_t)(n * n) * sizeof *dense);
        int32_t *lab = malloc((size_t)n * sizeof *lab);
        int64_t answers = trng_below(&r, 3 * n);

        for (int64_t t = 0; t < answers; t++) {
            int64_t i, j;
            pal_answer_t a;

            random_answer(&r, n, 0.35, 0.0, &i, &j, &a);
            answer(s, i, j, a);
        }
        for (unsigned flags = 0; flags < 4; flags++) {
            pal_graph_t *g = NULL;

            ck_status(pal_store_graph(s, flags, &g, NULL), PAL_OK);
            ck_assert_int_eq(pal_graph_n(g), n);
            ck_status(pal_graph_to_dense(g, PAL_F64, dense, n), PAL_OK);
            ck_status(pal_store_labels(s, PAL_STORE_SINGLETONS_UNKNOWN, lab,
                                       NULL),
                      PAL_OK);
            for (int64_t i = 0; i < n; i++) {
                for (int64_t j = 0; j < n; j++) {
                    pal_relation_t rel = relation(s, i, j);
                    bool unknown_row =
                        (flags & PAL_STORE_SINGLETONS_UNKNOWN) &&
                        (lab[i] < 0 || lab[j] < 0);
                    double want = 0.0;

                    if (!unknown_row && rel == PAL_REL_SAME)
                        want = 1.0;
                    if (!unknown_row && rel == PAL_REL_DIFFERENT &&
                        (flags & PAL_STORE_CONTRASTIVE))
                        want = -1.0;
                    if (dense[i * n + j] != want)
                        ck_abort_msg("flags %u G[%lld][%lld] = %g, want %g",
                                     flags, (long long)i, (long long)j,
                                     dense[i * n + j], want);
                }
            }
            pal_graph_destroy(g);
        }
        free(dense);
        free(lab);
        pal_store_destroy(s);
    }
}
END_TEST

/* ---- Allocation failures ------------------------------------------------- */

START_TEST(create_fails_cleanly)
{
    counting_t c;
    pal_allocator_t a = counting_allocator(&c);
    pal_store_t *s = NULL;
    long k;

    for (k = 1;; k++) {
        int rc;

        c.calls = 0;
        c.fail_at = k;
        rc = pal_store_create(&s, 50, &a);
        if (rc == PAL_OK)
            break;
        ck_status(rc, PAL_E_NOMEM);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(c.live, 0);
    }
    c.fail_at = 0;
    ck_assert_int_gt(k, 1);
    ck_assert_int_eq(answer(s, 1, 2, PAL_ANSWER_SAME), PAL_EFFECT_NEW);
    pal_store_destroy(s);
    ck_assert_int_eq(c.live, 0);
}
END_TEST

/*
 * Every answer of a random stream, with a batch, is first tried with its
 * 1st, 2nd, ... allocation failing: each failure must report
 * PAL_E_NOMEM and leave the store and the batch exactly as they were,
 * and the answer finally made must agree with a store that never failed.
 */
static void answers_survive_failures(int64_t n, int steps, int64_t limit)
{
    counting_t c;
    pal_allocator_t a = counting_allocator(&c);
    pal_store_t *s = NULL, *ref = new_store(n);
    pal_batch_t *b = NULL, *rb = NULL;
    long failures = 0;
    trng_t r;

    trng_seed(&r, test_seed() + 15 + (uint64_t)n);
    ck_status(pal_store_create(&s, n, &a), PAL_OK);
    ck_status(pal_batch_create(&b, &a), PAL_OK);
    ck_status(pal_batch_create(&rb, NULL), PAL_OK);
    ck_status(pal_batch_set_limit(b, limit, 3), PAL_OK);
    ck_status(pal_batch_set_limit(rb, limit, 3), PAL_OK);
    for (int t = 0; t < steps; t++) {
        int64_t i, j;
        pal_answer_t ans;
        snap_t before;
        int eff = -1, ref_eff;

        random_answer(&r, n, t < steps / 2 ? 0.05 : 0.25, 0.05, &i, &j,
                      &ans);
        ck_status(pal_store_answer(ref, i, j, ans, rb, &ref_eff), PAL_OK);
        snap_take(&before, s, b);
        for (long k = 1;; k++) {
            int rc;

            c.calls = 0;
            c.fail_at = k;
            rc = pal_store_answer(s, i, j, ans, b, &eff);
            c.fail_at = 0;
            if (rc == PAL_OK)
                break;
            ck_status(rc, PAL_E_NOMEM);
            ck_assert_int_eq(eff, -1);
            snap_check(&before, s, b);
            failures++;
        }
        ck_assert_int_eq(eff, ref_eff);
        snap_free(&before);

        /* The batches are cleared from time to time, as a trainer would. */
        if (t % 7 == 0) {
            pal_batch_clear(b);
            pal_batch_clear(rb);
        }
        if (t % 97 == 0) {
            snap_t x;

            snap_take(&x, ref, rb);
            snap_check(&x, s, b);
            snap_free(&x);
        }
    }
    ck_assert_int_gt(failures, 10);
    pal_batch_destroy(b);
    pal_batch_destroy(rb);
    pal_store_destroy(s);
    pal_store_destroy(ref);
    ck_assert_int_eq(c.live, 0);
}

START_TEST(answer_fails_cleanly)
{
    answers_survive_failures(30, 300, 0);
    answers_survive_failures(30, 300, 16);
}
END_TEST

START_TEST(answer_fails_cleanly_large)
{
    answers_survive_failures(120, 1500, 40);
}
END_TEST

START_TEST(graph_fails_cleanly)
{
    counting_t c;
    pal_allocator_t a = counting_allocator(&c);
    pal_store_t *s = new_store(40);
    trng_t r;

    trng_seed(&r, test_seed() + 16);
    for (int t = 0; t < 120; t++) {
        int64_t i, j;
        pal_answer_t ans;

        random_answer(&r, 40, 0.3, 0.0, &i, &j, &ans);
        answer(s, i, j, ans);
    }
    for (unsigned flags = 0; flags < 4; flags++) {
        pal_graph_t *g = NULL;
        long k;

        for (k = 1;; k++) {
            int rc;

            c.calls = 0;
            c.fail_at = k;
            rc = pal_store_graph(s, flags, &g, &a);
            if (rc == PAL_OK)
                break;
            ck_status(rc, PAL_E_NOMEM);
            ck_assert_ptr_null(g);
            ck_assert_int_eq(c.live, 0);
        }
        c.fail_at = 0;
        ck_assert_int_gt(k, 2);
        ck_assert_int_eq(pal_graph_n(g), 40);
        pal_graph_destroy(g);
        ck_assert_int_eq(c.live, 0);
    }
    pal_store_destroy(s);
}
END_TEST

/* ---- Stale keys ------------------------------------------------------------
 *
 * Hubs made different from many leaves, then the leaves merged: each merge
 * leaves the absorbed side's keys behind, and the purge that follows must
 * not change what is known.
 */
START_TEST(stale_keys_are_purged)
{
    const int64_t n = 3000, hubs = 12;
    pal_store_t *s = new_store(n);
    model_t m;
    trng_t r;

    trng_seed(&r, test_seed() + 17);
    model_init(&m, n);
    for (int64_t x = hubs; x < n; x++) {
        for (int k = 0; k < 3; k++) {
            int64_t h = trng_below(&r, hubs);

            quick_assert(answer(s, h, x, PAL_ANSWER_DIFFERENT) ==
                         model_answer(&m, h, x, PAL_ANSWER_DIFFERENT));
        }
    }
    ck_assert_int_gt(stats(s).different_pairs, 2 * n);
    for (int t = 0; t < 6000; t++) {
        int64_t x = hubs + trng_below(&r, n - hubs);
        int64_t y = hubs + trng_below(&r, n - hubs);

        quick_assert(answer(s, x, y, PAL_ANSWER_SAME) ==
                     model_answer(&m, x, y, PAL_ANSWER_SAME));
    }
    ck_assert_int_lt(stats(s).different_pairs, n);
    model_check(&m, s);
    model_free(&m);
    pal_store_destroy(s);
}
END_TEST

/* ---- The batch call ------------------------------------------------------ */

/* The answer logs of two stores are the same. */
static void same_log(const pal_store_t *x, const pal_store_t *y)
{
    pal_store_stats_t sx = stats(x), sy = stats(y);

    ck_assert_int_eq(sx.answers, sy.answers);
    for (int64_t k = 0; k < sx.answers; k++) {
        int64_t i1, j1, i2, j2;
        pal_answer_t a1, a2;

        quick_assert(pal_store_log_entry(x, k, &i1, &j1, &a1) == PAL_OK);
        quick_assert(pal_store_log_entry(y, k, &i2, &j2, &a2) == PAL_OK);
        quick_assert(i1 == i2 && j1 == j2 && a1 == a2);
    }
}

/* The same components with the same representatives and sizes. */
static void same_components(const pal_store_t *x, const pal_store_t *y)
{
    for (int64_t i = 0; i < pal_store_n(x); i++) {
        int64_t r1, r2, z1, z2;

        quick_assert(pal_store_component(x, i, &r1, &z1) == PAL_OK);
        quick_assert(pal_store_component(y, i, &r2, &z2) == PAL_OK);
        quick_assert(r1 == r2 && z1 == z2);
    }
}

/*
 * Random streams cut into batches of random sizes (empty ones included)
 * give, answer for answer, the effects of single calls and of the model,
 * and after each batch the same stats, relations, labels, components and
 * log as a store fed one call per answer.
 */
static void batch_vs_single(int64_t n, int steps, int shape, trng_t *r)
{
    pal_store_t *s = new_store(n), *ref = new_store(n);
    int64_t *bi = malloc((size_t)steps * sizeof *bi);
    int64_t *bj = malloc((size_t)steps * sizeof *bj);
    pal_answer_t *ba = malloc((size_t)steps * sizeof *ba);
    int *eff = malloc((size_t)steps * sizeof *eff);
    model_t m;
    int t = 0, batches = 0;

    model_init(&m, n);
    while (t < steps) {
        int count = (int)trng_below(r, batches % 5 == 4 ? 400 : 24);
        snap_t want;

        if (count > steps - t)
            count = steps - t;
        for (int k = 0; k < count; k++) {
            if (shape == 0)
                random_answer(r, n, t + k < steps / 2 ? 0.05 : 0.3, 0.1,
                              &bi[k], &bj[k], &ba[k]);
            else
                hub_answer(r, n, 1 + n / 40, &bi[k], &bj[k], &ba[k]);
            eff[k] = -1;
        }
        ck_status(pal_store_answer_batch(s, count, bi, bj, ba, eff), PAL_OK);
        for (int k = 0; k < count; k++) {
            int want_eff = model_answer(&m, bi[k], bj[k], ba[k]);

            quick_assert(eff[k] == want_eff);
            quick_assert(answer(ref, bi[k], bj[k], ba[k]) == want_eff);
        }
        t += count;
        batches++;
        if (batches % 8 == 0 || t == steps) {
            snap_take(&want, ref, NULL);
            snap_check(&want, s, NULL);
            snap_free(&want);
            same_log(s, ref);
            same_components(s, ref);
            model_check(&m, s);
        }
    }
    model_free(&m);
    free(bi);
    free(bj);
    free(ba);
    free(eff);
    pal_store_destroy(s);
    pal_store_destroy(ref);
}

START_TEST(batch_matches_single_calls)
{
    trng_t r;

    trng_seed(&r, test_seed() + 21);
    for (int run = 0; run < 60; run++)
        batch_vs_single(1 + (int64_t)trng_below(&r, 12), 80, 0, &r);
    batch_vs_single(150, 6000, 0, &r);
    batch_vs_single(300, 8000, 1, &r);
    batch_vs_single(500, 12000, 1, &r);
}
END_TEST

/* Single calls and batches on one store, in turns, effects unasked. */
START_TEST(batch_mixes_with_single_calls)
{
    const int64_t n = 60;
    pal_store_t *s = new_store(n);
    model_t m;
    trng_t r;

    trng_seed(&r, test_seed() + 22);
    model_init(&m, n);
    for (int round = 0; round < 200; round++) {
        int64_t bi[16], bj[16];
        pal_answer_t ba[16];
        int count = (int)trng_below(&r, 17);

        for (int k = 0; k < count; k++) {
            random_answer(&r, n, 0.2, 0.1, &bi[k], &bj[k], &ba[k]);
            model_answer(&m, bi[k], bj[k], ba[k]);
        }
        ck_status(pal_store_answer_batch(s, count, bi, bj, ba, NULL),
                  PAL_OK);
        for (int k = 0; k < 3; k++) {
            int64_t i, j;
            pal_answer_t a;

            random_answer(&r, n, 0.2, 0.1, &i, &j, &a);
            quick_assert(answer(s, i, j, a) == model_answer(&m, i, j, a));
        }
    }
    model_check(&m, s);
    model_free(&m);
    pal_store_destroy(s);
}
END_TEST

/* Bad arguments and bad entries anywhere in a batch change nothing. */
START_TEST(batch_arguments)
{
    const int64_t n = 6;
    pal_store_t *s = new_store(n);
    int64_t i[4] = {0, 1, 2, 3}, j[4] = {1, 2, 3, 4};
    int64_t bad_i[4] = {0, 1, 6, 3}, neg_j[4] = {1, -1, 3, 4};
    pal_answer_t a[4] = {PAL_ANSWER_SAME, PAL_ANSWER_DIFFERENT,
                         PAL_ANSWER_UNSURE, PAL_ANSWER_SAME};
    pal_answer_t bad_a[4] = {PAL_ANSWER_SAME, PAL_ANSWER_SAME,
                             PAL_ANSWER_SAME, (pal_answer_t)3};
    int64_t both_i[4] = {0, 1, 2, 9};
    pal_answer_t neg_a[4] = {PAL_ANSWER_SAME, (pal_answer_t)-1,
                             PAL_ANSWER_SAME, PAL_ANSWER_SAME};
    int eff[5] = {7, 7, 7, 7, 7};
    int64_t raw[8];
    snap_t before;

    answer(s, 4, 5, PAL_ANSWER_DIFFERENT);
    snap_take(&before, s, NULL);
    ck_status(pal_store_answer_batch(NULL, 4, i, j, a, eff), PAL_E_NULL);
    ck_status(pal_store_answer_batch(s, -1, i, j, a, eff), PAL_E_SIZE);
    ck_status(pal_store_answer_batch(s, 4, NULL, j, a, eff), PAL_E_NULL);
    ck_status(pal_store_answer_batch(s, 4, i, NULL, a, eff), PAL_E_NULL);
    ck_status(pal_store_answer_batch(s, 4, i, j, NULL, eff), PAL_E_NULL);
    ck_status(pal_store_answer_batch(s, 4, bad_i, j, a, eff), PAL_E_INDEX);
    ck_status(pal_store_answer_batch(s, 4, i, neg_j, a, eff), PAL_E_INDEX);
    ck_status(pal_store_answer_batch(s, 4, i, j, bad_a, eff), PAL_E_RANGE);
    ck_status(pal_store_answer_batch(s, 4, i, j, neg_a, eff), PAL_E_RANGE);
    /* The first bad entry decides: entry 1's answer before entry 3's
     * item; in one entry, the item before the answer. */
    ck_status(pal_store_answer_batch(s, 4, both_i, j, neg_a, eff),
              PAL_E_RANGE);
    ck_status(pal_store_answer_batch(s, 4, both_i, j, bad_a, eff),
              PAL_E_INDEX);
    ck_status(pal_store_answer_batch(s, 2, i, j, neg_a, eff), PAL_E_RANGE);
    ck_status(pal_store_answer_batch(s, 3, bad_i, j, a, eff), PAL_E_INDEX);
    ck_status(pal_store_answer_batch(s, 4, (const int64_t *)((char *)raw + 4), j, a,
                                     eff),
              PAL_E_ALIGN);
    ck_status(pal_store_answer_batch(s, 4, i, j, a, (int *)((char *)raw + 2)),
              PAL_E_ALIGN);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(eff[k], 7);
    snap_check(&before, s, NULL);
    snap_free(&before);

    /* Nothing to record: nothing happens, whatever the arrays. */
    ck_status(pal_store_answer_batch(s, 0, NULL, NULL, NULL, NULL), PAL_OK);
    ck_status(pal_store_answer_batch(s, 0, bad_i, neg_j, bad_a, eff), PAL_OK);
    ck_assert_int_eq(stats(s).answers, 1);

    /* The valid batch then goes through, effects only where asked. */
    ck_status(pal_store_answer_batch(s, 3, i, j, a, eff), PAL_OK);
    ck_assert_int_eq(eff[0], PAL_EFFECT_NEW);
    ck_assert_int_eq(eff[1], PAL_EFFECT_NEW);
    ck_assert_int_eq(eff[2], PAL_EFFECT_UNSURE);
    ck_assert_int_eq(eff[3], 7);
    ck_assert_int_eq(relation(s, 0, 3), PAL_REL_UNKNOWN);
    ck_assert_int_eq(relation(s, 0, 2), PAL_REL_DIFFERENT);
    pal_store_destroy(s);
}
END_TEST

/*
 * Each batch of a stream first runs with its 1st, 2nd, ... allocation
 * failing: PAL_E_NOMEM, the store and the effects untouched, nothing
 * leaked; then it succeeds, with the effects of a store that never
 * failed.
 */
START_TEST(batch_fails_cleanly)
{
    const int64_t n = 80;
    counting_t c;
    pal_allocator_t al = counting_allocator(&c);
    pal_store_t *s = NULL, *ref = new_store(n);
    long failures = 0;
    trng_t r;

    trng_seed(&r, test_seed() + 23);
    ck_status(pal_store_create(&s, n, &al), PAL_OK);
    for (int round = 0; round < 60; round++) {
        int64_t bi[64], bj[64];
        pal_answer_t ba[64];
        int eff[64], want[64], count = 1 + (int)trng_below(&r, 64);
        snap_t before;

        for (int k = 0; k < count; k++) {
            if (round % 3 == 2)
                hub_answer(&r, n, 4, &bi[k], &bj[k], &ba[k]);
            else
                random_answer(&r, n, round < 30 ? 0.05 : 0.3, 0.05, &bi[k],
                              &bj[k], &ba[k]);
            want[k] = answer(ref, bi[k], bj[k], ba[k]);
            eff[k] = -1;
        }
        snap_take(&before, s, NULL);
        for (long f = 1;; f++) {
            int rc;

            c.calls = 0;
            c.fail_at = f;
            rc = pal_store_answer_batch(s, count, bi, bj, ba, eff);
            c.fail_at = 0;
            if (rc == PAL_OK)
                break;
            ck_status(rc, PAL_E_NOMEM);
            for (int k = 0; k < count; k++)
                ck_assert_int_eq(eff[k], -1);
            snap_check(&before, s, NULL);
            failures++;
        }
        snap_free(&before);
        for (int k = 0; k < count; k++)
            ck_assert_int_eq(eff[k], want[k]);
    }
    same_log(s, ref);
    ck_assert_int_gt(failures, 5);
    pal_store_destroy(s);
    pal_store_destroy(ref);
    ck_assert_int_eq(c.live, 0);
}
END_TEST

/* ---- White box: transactions of many answers -------------------------------
 *
 * Through the public store a transaction holds a single answer; oracle
 * steps hold many, but only of one shape. To roll back long and varied
 * transactions (merges of components with many cannot-links, in any
 * order) and to check the internal invariants after each, this part
 * compiles its own private copy of the knowledge source.
 */
#define PAL__KN_HEAVY_DEGREE 6
#include "core/alloc.c"
#include "knowledge/knowledge.c"

/* Fail the fail_at-th offered pair, like a batch out of memory. */
typedef struct emit_ctl {
    long count, fail_at;
} emit_ctl_t;

static int wb_emit(void *ctx, int64_t i, int64_t j, int same)
{
    emit_ctl_t *e = ctx;

    (void)i;
    (void)j;
    (void)same;
    return ++e->count == e->fail_at ? PAL_E_NOMEM : PAL_OK;
}

/* Everything the store keeps, checked against the model the slow way. */
static void wb_check(pal__kn_t *kn, const model_t *m)
{
    const int64_t n = m->n;
    const pal__kn_counts_t *c = pal__kn_counts(kn);
    unsigned char *seen = calloc((size_t)n, 1);
    int64_t comps = 0, dpairs = 0, known = 0, live = 0, used = 0;

    for (int32_t r = 0; r < n; r++) {
        int64_t apart = 0, deg = 0, nodes = 0, entries = 0, distinct = 0;
        int64_t members = 0;
        int32_t x;

        for (int32_t j = 0; j < n; j++) {
            int rel = pal__kn_relation(kn, r, j);

            quick_assert(rel == (int)model_relation(m, r, j));
            known += j > r && rel != PAL__KN_REL_UNKNOWN;
        }
        if (pal__kn_find(kn, r) != r)
            continue;
        comps++;

        /* The circular list holds exactly the members. */
        x = r;
        do {
            quick_assert(pal__kn_find(kn, x) == r);
            members++;
            x = pal__kn_next(kn, x);
        } while (x != r && members <= n);
        quick_assert(members == pal__kn_size(kn, r));

        for (int32_t j = 0; j < n; j++) {
            int32_t cj = pal__kn_find(kn, j);

            apart += pal__kn_relation(kn, r, j) == PAL__KN_REL_DIFFERENT;
            if (cj == j && pal__kn_apart(kn, r, j)) {
                deg++;
                dpairs += j > r;
            }
        }
        quick_assert(kn->it[r].deg == deg);

        /* The list names every component apart, and only those. */
        memset(seen, 0, (size_t)n);
        /* Every node is full but the last; the first is the record's. */
        for (uint32_t v = FIRST_NODE | (uint32_t)r, left = kn->it[r].len;
             left > 0; v = node_at(kn, v)->next) {
            uint32_t k = left < NODE_ITEMS ? left : NODE_ITEMS;

            for (uint32_t q = 0; q < k; q++) {
                int32_t cj = pal__kn_find(kn, node_at(kn, v)->item[q]);

                quick_assert(pal__kn_apart(kn, r, cj));
                distinct += !seen[cj];
                seen[cj] = 1;
                entries++;
            }
            left -= k;
            if (left == 0) {
                quick_assert(kn->it[r].tail == v);
                quick_assert(node_at(kn, v)->next == NIL);
            }
            nodes += (v & FIRST_NODE) == 0;
        }
        quick_assert(entries == kn->it[r].len);
        if (kn->it[r].len == 0)
            quick_assert(kn->it[r].tail == (FIRST_NODE | (uint32_t)r) &&
                         kn->it[r].first.next == NIL);
        quick_assert(nodes == (kn->it[r].len + NODE_ITEMS - 1) / NODE_ITEMS -
                                  (kn->it[r].len > 0));
        used += nodes;
        quick_assert(distinct == deg);
        if (kn->it[r].heavy)
            quick_assert(kn->hv[kn->it[r].heavy - 1].root == r);
        quick_assert(pal__kn_apart_items(kn, r) == apart);
    }
    for (int64_t h = 0; h < kn->nheavy; h++) {
        quick_assert(kn->it[kn->hv[h].root].parent == kn->hv[h].root);
        quick_assert(kn->it[kn->hv[h].root].heavy == h + 1);
    }
    for (uint64_t sl = 0; sl < kn->key_cap; sl++)
        live += kn->keys[sl] != EMPTY_KEY && !key_stale(kn, kn->keys[sl]);
    quick_assert(live == dpairs);
    /* Only roots hold nodes: absorbed lists went back to the pool. */
    quick_assert(used == (int64_t)kn->pool_used - (int64_t)kn->nfree);
    quick_assert(c->components == comps);
    quick_assert(c->different_pairs == dpairs);
    quick_assert(c->known_pairs == known);
    quick_assert(c->answers == m->answers);
    quick_assert(c->conflicts == m->conflicts);
    quick_assert(c->redundant == m->redundant);
    free(seen);
}

static void model_copy(model_t *dst, const model_t *src)
{
    const int64_t n = src->n;
    int64_t *comp = dst->comp;
    unsigned char *apart = dst->apart;

    *dst = *src;
    dst->comp = comp;
    dst->apart = apart;
    memcpy(comp, src->comp, (size_t)n * sizeof *comp);
    memcpy(apart, src->apart, (size_t)(n * n));
}

/* Roots and sizes of every item's component, and the answer log: what
 * snap_check does not hold. */
static void roots_and_log(const pal_store_t *s, int64_t *out)
{
    const int64_t n = pal_store_n(s);
    pal_store_stats_t st = {.size = sizeof st};

    ck_status(pal_store_stats(s, &st), PAL_OK);
    for (int64_t i = 0; i < n; i++)
        ck_status(pal_store_component(s, i, &out[2 * i], &out[2 * i + 1]),
                  PAL_OK);
    for (int64_t k = 0; k < st.answers; k++) {
        pal_answer_t a;

        ck_status(pal_store_log_entry(s, k, &out[2 * n + 3 * k],
                                      &out[2 * n + 3 * k + 1], &a),
                  PAL_OK);
        out[2 * n + 3 * k + 2] = a;
    }
}

/*
 * Undo: after any run of answers (merges, cannot-links, conflicts, unsure
 * answers, repeats), taking back the last c answers gives exactly the
 * state after the others, whatever c; a journal replays undos too.
 */
START_TEST(undo_restores_exact_state)
{
    enum { N = 30, T = 160 };
    trng_t r;
    char path[] = "/tmp/pal_undo_XXXXXX";
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    close(fd);
    trng_seed(&r, test_seed() + 41);
    for (int run = 0; run < 8; run++) {
        pal_store_t *s = new_store(N), *back;
        static snap_t snaps[T + 1];
        static int64_t extra[T + 1][2 * N + 3 * T];
        int64_t now[2 * N + 3 * T];
        int64_t at = T;

        unlink(path);
        ck_status(pal_store_journal_open(s, path, 0, NULL), PAL_OK);
        snap_take(&snaps[0], s, NULL);
        memset(extra, 0, sizeof extra);
        roots_and_log(s, extra[0]);
        for (int64_t k = 1; k <= T; k++) {
            int64_t i = trng_below(&r, N), j = trng_below(&r, N / 3);
            double u = trng_unit(&r);
            pal_answer_t a = u < 0.45   ? PAL_ANSWER_SAME
                             : u < 0.9 ? PAL_ANSWER_DIFFERENT
                                       : PAL_ANSWER_UNSURE;

            ck_status(pal_store_answer(s, i, j, a, NULL, NULL), PAL_OK);
            snap_take(&snaps[k], s, NULL);
            roots_and_log(s, extra[k]);
        }
        ck_assert_int_gt(snaps[T].st.conflicts, 0);
        ck_status(pal_store_undo(NULL, 1), PAL_E_NULL);
        ck_status(pal_store_undo(s, -1), PAL_E_RANGE);
        ck_status(pal_store_undo(s, T + 1), PAL_E_RANGE);
        ck_status(pal_store_undo(s, 0), PAL_OK);
        snap_check(&snaps[T], s, NULL);

        /* Undo in random amounts, with some new answers re-given in
         * between (the same ones: the states stay comparable). */
        while (at > 0) {
            int64_t c = 1 + trng_below(&r, at < 12 ? at : 12);

            ck_status(pal_store_undo(s, c), PAL_OK);
            at -= c;
            snap_check(&snaps[at], s, NULL);
            memset(now, 0, sizeof now);
            roots_and_log(s, now);
            ck_assert(memcmp(now, extra[at], sizeof now) == 0);
            if (at > 0 && trng_unit(&r) < 0.3) {
                /* Undo one more and give its answer again. */
                int64_t i, j;
                pal_answer_t a;

                ck_status(pal_store_log_entry(s, at - 1, &i, &j, &a), PAL_OK);
                ck_status(pal_store_undo(s, 1), PAL_OK);
                ck_status(pal_store_answer(s, i, j, a, NULL, NULL), PAL_OK);
                snap_check(&snaps[at], s, NULL);
            }

            /* The journal brings a new store to the same state. */
            if (trng_unit(&r) < 0.25) {
                back = new_store(N);
                ck_status(pal_store_journal_close(s), PAL_OK);
                ck_status(pal_store_journal_open(back, path, 0, NULL),
                          PAL_OK);
                snap_check(&snaps[at], back, NULL);
                memset(now, 0, sizeof now);
                roots_and_log(back, now);
                ck_assert(memcmp(now, extra[at], sizeof now) == 0);
                pal_store_destroy(s);
                s = back;
            }
        }
        for (int64_t k = 0; k <= T; k++)
            snap_free(&snaps[k]);
        pal_store_destroy(s);
    }
    unlink(path);
}
END_TEST

START_TEST(transactions_roll_back_exactly)
{
    const pal_allocator_t plain = {NULL, NULL, NULL};
    trng_t r;
    pal_allocator_t a;

    pal__allocator_init(&a, &plain);
    trng_seed(&r, test_seed() + 18);
    for (int run = 0; run < 16; run++) {
        int64_t n = run < 8 ? 2 + trng_below(&r, 20) : 40 + 30 * (run % 4);
        int64_t hubs = 1 + n / 12;
        int txs = run < 8 ? 300 : 600;
        pal__kn_t *kn = NULL;
        model_t m, tent;
        long rollbacks = 0, heavy = 0;

        ck_status(pal__kn_create(&kn, (int32_t)n, &a), PAL_OK);
        /* Some runs start near the wrap-around of the scratch marks. */
        if (run % 3 == 1)
            kn->gen = UINT32_MAX - 40;
        model_init(&m, n);
        model_init(&tent, n);
        for (int tx = 0; tx < txs; tx++) {
            int k = 1 + (int)trng_below(&r, 16);
            bool commit = trng_below(&r, 3) != 0;
            emit_ctl_t e = {0, trng_below(&r, 3) == 0
                                   ? 1 + (long)trng_below(&r, 400)
                                   : 0};
            int rc = PAL_OK;

            /* Now and then a batch outside transactions instead. */
            if (trng_below(&r, 6) == 0) {
                int64_t bi[16], bj[16], diff = 0;
                pal_answer_t ba[16];
                int effs[16];

                for (int q = 0; q < k; q++) {
                    hub_answer(&r, n, hubs, &bi[q], &bj[q], &ba[q]);
                    diff += ba[q] == PAL_ANSWER_DIFFERENT;
                }
                ck_status(pal__kn_batch_reserve(kn, k, diff), PAL_OK);
                pal__kn_answer_batch(kn, k, bi, bj, ba, effs);
                for (int q = 0; q < k; q++)
                    quick_assert(effs[q] ==
                                 model_answer(&m, bi[q], bj[q], ba[q]));
                if (n < 30 || tx % 4 == 0)
                    wb_check(kn, &m);
                continue;
            }
            model_copy(&tent, &m);
            pal__kn_begin(kn);
            for (int q = 0; q < k && rc == PAL_OK; q++) {
                int64_t i, j;
                pal_answer_t ans;
                int eff = -1;

                hub_answer(&r, n, hubs, &i, &j, &ans);
                rc = pal__kn_answer(kn, (int32_t)i, (int32_t)j, (int)ans,
                                    e.fail_at ? wb_emit : NULL, &e, &eff);
                if (rc == PAL_OK)
                    quick_assert(eff == model_answer(&tent, i, j, ans));
            }
            if (rc == PAL_OK && commit) {
                pal__kn_commit(kn);
                model_copy(&m, &tent);
            } else {
                pal__kn_rollback(kn);
                rollbacks++;
            }
            if (trng_below(&r, 8) == 0)
                key_purge(kn);
            heavy = kn->nheavy > heavy ? kn->nheavy : heavy;
            if (n < 30 || tx % 4 == 0)
                wb_check(kn, &m);
        }
        wb_check(kn, &m);
        ck_assert_int_gt(rollbacks, 50);
        if (n >= 40)
            ck_assert_int_gt(heavy, 1);
        model_free(&m);
        model_free(&tent);
        pal__kn_destroy(kn);
    }
}
END_TEST

Suite *suite_store(void);
Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, create_arguments);
    tcase_add_test(tc, call_arguments);
    tcase_add_test(tc, stats_larger_struct);
    tcase_add_test(tc, must_link_chain);
    tcase_add_test(tc, cannot_link_spreads);
    tcase_add_test(tc, contradiction_is_counted);
    tcase_add_test(tc, labels_are_canonical);
    tcase_add_test(tc, brute_force_model);
    tcase_add_test(tc, brute_force_large);
    tcase_add_test(tc, deduced_pairs_are_exact);
    tcase_add_test(tc, deduced_batch_limit);
    tcase_add_test(tc, graph_matches_brute_force);
    tcase_add_test(tc, create_fails_cleanly);
    tcase_add_test(tc, answer_fails_cleanly);
    tcase_add_test(tc, answer_fails_cleanly_large);
    tcase_add_test(tc, graph_fails_cleanly);
    tcase_add_test(tc, stale_keys_are_purged);
    tcase_add_test(tc, batch_matches_single_calls);
    tcase_add_test(tc, undo_restores_exact_state);
    tcase_add_test(tc, batch_mixes_with_single_calls);
    tcase_add_test(tc, batch_arguments);
    tcase_add_test(tc, batch_fails_cleanly);
    tcase_add_test(tc, transactions_roll_back_exactly);
    suite_add_tcase(s, tc);
    return s;
}
