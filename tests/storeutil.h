/*
 * Helpers shared by the store and oracle suites: an allocator that counts
 * and fails on demand, snapshots of a store's observable state (and of a
 * batch) to prove that a failed call changed nothing, and a brute-force
 * model of what a store should know.
 */
#ifndef PAL_STOREUTIL_H
#define PAL_STOREUTIL_H

#include <stdbool.h>

#include "testutil.h"

/* Assert in a hot loop: Check records every passing ck_assert, which
 * makes loops over all pairs slow; this records only a failure. */
#define quick_assert(cond)                                                 \
    do {                                                                   \
        if (!(cond))                                                       \
            ck_abort_msg("%s:%d: assertion '%s' failed", __FILE__,         \
                         __LINE__, #cond);                                 \
    } while (0)

/* ---- An allocator that counts, and fails its fail_at-th call --------- */

typedef struct counting {
    long live, calls, fail_at;
} counting_t;

static inline void *count_alloc(void *user, size_t size)
{
    counting_t *c = user;

    if (++c->calls == c->fail_at)
        return NULL;
    c->live++;
    return malloc(size);
}

static inline void count_free(void *user, void *p)
{
    counting_t *c = user;

    c->live--;
    free(p);
}

static inline pal_allocator_t counting_allocator(counting_t *c)
{
    pal_allocator_t a = {count_alloc, count_free, c};

    memset(c, 0, sizeof *c);
    return a;
}

/* ---- Oracles ------------------------------------------------------------ */

/* n labels in [0, classes): items 0 .. classes - 1 one of each, the rest
 * seeded at random. malloc'd. */
static inline int32_t *true_labels(int64_t n, int classes, uint64_t seed)
{
    int32_t *y = malloc((size_t)n * sizeof *y);
    trng_t r;

    trng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i < classes ? i : trng_below(&r, classes));
    return y;
}

static inline pal_oracle_costs_t costs(const pal_oracle_t *o)
{
    pal_oracle_costs_t c = {.size = sizeof c};

    ck_status(pal_oracle_costs(o, &c), PAL_OK);
    return c;
}

/* ---- Snapshots ---------------------------------------------------------- */

typedef struct snap {
    pal_store_stats_t st;
    int64_t n;
    unsigned char *rel;           /* n * n relations */
    int32_t *lab, *lab_su;        /* labels, plain and singletons unknown */
    int64_t nc, nc_su;
    int64_t np, nr, offp, offr;   /* the batch */
    int64_t *pi, *pj, *ri, *rj;
    double *pg;
} snap_t;

static inline void snap_store(snap_t *s, const pal_store_t *st)
{
    s->n = pal_store_n(st);
    s->st.size = sizeof s->st;
    ck_status(pal_store_stats(st, &s->st), PAL_OK);
    s->rel = malloc((size_t)(s->n * s->n));
    s->lab = malloc((size_t)s->n * sizeof *s->lab);
    s->lab_su = malloc((size_t)s->n * sizeof *s->lab_su);
    for (int64_t i = 0; i < s->n; i++) {
        for (int64_t j = 0; j < s->n; j++) {
            pal_relation_t r = PAL_REL_UNKNOWN;

            quick_assert(pal_store_relation(st, i, j, &r) == PAL_OK);
            s->rel[i * s->n + j] = (unsigned char)r;
        }
    }
    ck_status(pal_store_labels(st, 0, s->lab, &s->nc), PAL_OK);
    ck_status(pal_store_labels(st, PAL_STORE_SINGLETONS_UNKNOWN, s->lab_su,
                               &s->nc_su),
              PAL_OK);
}

static inline void snap_batch(snap_t *s, const pal_batch_t *b)
{
    const int64_t *pi, *pj, *ri, *rj;
    const double *pg;

    s->np = s->nr = 0;
    s->pi = s->pj = s->ri = s->rj = NULL;
    s->pg = NULL;
    if (!b)
        return;
    ck_status(pal_batch_pairs(b, &pi, &pj, &pg, &s->np), PAL_OK);
    ck_status(pal_batch_regs(b, &ri, &rj, &s->nr), PAL_OK);
    s->offp = pal_batch_n_offered_pairs(b);
    s->offr = pal_batch_n_offered_reg(b);
    s->pi = malloc((size_t)(s->np + 1) * sizeof *s->pi);
    s->pj = malloc((size_t)(s->np + 1) * sizeof *s->pj);
    s->pg = malloc((size_t)(s->np + 1) * sizeof *s->pg);
    s->ri = malloc((size_t)(s->nr + 1) * sizeof *s->ri);
    s->rj = malloc((size_t)(s->nr + 1) * sizeof *s->rj);
    if (s->np) {
        memcpy(s->pi, pi, (size_t)s->np * sizeof *pi);
        memcpy(s->pj, pj, (size_t)s->np * sizeof *pj);
        memcpy(s->pg, pg, (size_t)s->np * sizeof *pg);
    }
    if (s->nr) {
        memcpy(s->ri, ri, (size_t)s->nr * sizeof *ri);
        memcpy(s->rj, rj, (size_t)s->nr * sizeof *rj);
    }
}

static inline void snap_take(snap_t *s, const pal_store_t *st,
                             const pal_batch_t *b)
{
    memset(s, 0, sizeof *s);
    snap_store(s, st);
    snap_batch(s, b);
}

static inline void snap_free(snap_t *s)
{
    free(s->rel);
    free(s->lab);
    free(s->lab_su);
    free(s->pi);
    free(s->pj);
    free(s->pg);
    free(s->ri);
    free(s->rj);
    memset(s, 0, sizeof *s);
}

/* Assert that a store and batch are as the snapshot recorded them. */
static inline void snap_check(const snap_t *s, const pal_store_t *st,
                              const pal_batch_t *b)
{
    snap_t t;

    snap_take(&t, st, b);
    ck_assert_int_eq(t.n, s->n);
    ck_assert_msg(memcmp(&t.st, &s->st, sizeof t.st) == 0, "stats differ");
    ck_assert_msg(memcmp(t.rel, s->rel, (size_t)(s->n * s->n)) == 0,
                  "relations differ");
    ck_assert_int_eq(t.nc, s->nc);
    ck_assert_int_eq(t.nc_su, s->nc_su);
    ck_assert(memcmp(t.lab, s->lab, (size_t)s->n * sizeof *t.lab) == 0);
    ck_assert(memcmp(t.lab_su, s->lab_su, (size_t)s->n * sizeof *t.lab) ==
              0);
    ck_assert_int_eq(t.np, s->np);
    ck_assert_int_eq(t.nr, s->nr);
    ck_assert_int_eq(t.offp, s->offp);
    ck_assert_int_eq(t.offr, s->offr);
    for (int64_t k = 0; k < t.np; k++)
        quick_assert(t.pi[k] == s->pi[k] && t.pj[k] == s->pj[k] &&
                     t.pg[k] == s->pg[k]);
    for (int64_t k = 0; k < t.nr; k++)
        quick_assert(t.ri[k] == s->ri[k] && t.rj[k] == s->rj[k]);
    snap_free(&t);
}

/* ---- A brute-force model ------------------------------------------------ */

/*
 * comp[i] names i's component (an item of it); apart[a * n + b] is 1 when
 * the components named a and b are known different. Everything is
 * recomputed the slow, obvious way.
 */
typedef struct model {
    int64_t n;
    int64_t *comp;
    unsigned char *apart;
    int64_t answers, same, different, unsure, conflicts, redundant;
} model_t;

static inline void model_init(model_t *m, int64_t n)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    m->comp = malloc((size_t)n * sizeof *m->comp);
    m->apart = calloc((size_t)(n * n), 1);
    for (int64_t i = 0; i < n; i++)
        m->comp[i] = i;
}

static inline void model_free(model_t *m)
{
    free(m->comp);
    free(m->apart);
}

static inline pal_relation_t model_relation(const model_t *m, int64_t i,
                                            int64_t j)
{
    int64_t a = m->comp[i], b = m->comp[j];

    if (a == b)
        return PAL_REL_SAME;
    return m->apart[a * m->n + b] ? PAL_REL_DIFFERENT : PAL_REL_UNKNOWN;
}

/* Apply an answer; returns the expected effect. */
static inline int model_answer(model_t *m, int64_t i, int64_t j,
                               pal_answer_t ans)
{
    const int64_t n = m->n;
    pal_relation_t r = model_relation(m, i, j);
    int64_t a = m->comp[i], b = m->comp[j];

    m->answers++;
    m->same += ans == PAL_ANSWER_SAME;
    m->different += ans == PAL_ANSWER_DIFFERENT;
    if (ans == PAL_ANSWER_UNSURE) {
        m->unsure++;
        return PAL_EFFECT_UNSURE;
    }
    if ((ans == PAL_ANSWER_SAME && r == PAL_REL_DIFFERENT) ||
        (ans == PAL_ANSWER_DIFFERENT && r == PAL_REL_SAME)) {
        m->conflicts++;
        return PAL_EFFECT_CONFLICT;
    }
    if (r != PAL_REL_UNKNOWN) {
        m->redundant++;
        return PAL_EFFECT_KNOWN;
    }
    if (ans == PAL_ANSWER_DIFFERENT) {
        m->apart[a * n + b] = m->apart[b * n + a] = 1;
        return PAL_EFFECT_NEW;
    }
    for (int64_t k = 0; k < n; k++) {
        if (m->comp[k] == b)
            m->comp[k] = a;
        if (m->apart[b * n + k]) {
            m->apart[a * n + k] = m->apart[k * n + a] = 1;
            m->apart[b * n + k] = m->apart[k * n + b] = 0;
        }
    }
    return PAL_EFFECT_NEW;
}

/* Canonical labels of the model, as pal_store_labels defines them. */
static inline int64_t model_labels(const model_t *m, bool su, int32_t *lab)
{
    int64_t nc = 0;

    for (int64_t i = 0; i < m->n; i++) {
        int64_t size = 0, first = -1;

        for (int64_t k = 0; k < m->n; k++) {
            if (m->comp[k] == m->comp[i]) {
                size++;
                if (first < 0)
                    first = k;
            }
        }
        if (su && size == 1)
            lab[i] = -1;
        else if (first == i)
            lab[i] = (int32_t)nc++;
        else
            lab[i] = lab[first];
    }
    return nc;
}

/* Assert that the store knows exactly what the model knows. */
static inline void model_check(const model_t *m, const pal_store_t *s)
{
    const int64_t n = m->n;
    pal_store_stats_t st = {.size = sizeof st};
    int64_t comps = 0, dpairs = 0, known = 0, nc, nc2;
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    int32_t *ref = malloc((size_t)n * sizeof *ref);

    for (int64_t i = 0; i < n; i++) {
        comps += m->comp[i] == i;
        for (int64_t j = 0; j < n; j++) {
            pal_relation_t r = PAL_REL_UNKNOWN;

            quick_assert(pal_store_relation(s, i, j, &r) == PAL_OK);
            if (r != model_relation(m, i, j))
                ck_abort_msg("relation of (%lld, %lld): %d, expected %d",
                             (long long)i, (long long)j, (int)r,
                             (int)model_relation(m, i, j));
            if (j > i)
                known += r != PAL_REL_UNKNOWN;
            if (m->comp[i] == i && m->comp[j] == j && i < j)
                dpairs += m->apart[i * n + j];
        }
    }
    ck_status(pal_store_stats(s, &st), PAL_OK);
    ck_assert_int_eq(st.answers, m->answers);
    ck_assert_int_eq(st.same, m->same);
    ck_assert_int_eq(st.different, m->different);
    ck_assert_int_eq(st.unsure, m->unsure);
    ck_assert_int_eq(st.conflicts, m->conflicts);
    ck_assert_int_eq(st.redundant, m->redundant);
    ck_assert_int_eq(st.components, comps);
    ck_assert_int_eq(st.different_pairs, dpairs);
    ck_assert_int_eq(st.known_pairs, known);
    ck_assert_int_eq(st.complete, known == n * (n - 1) / 2);

    for (int su = 0; su < 2; su++) {
        ck_status(pal_store_labels(s, su ? PAL_STORE_SINGLETONS_UNKNOWN : 0,
                                   lab, &nc),
                  PAL_OK);
        nc2 = model_labels(m, su, ref);
        ck_assert_int_eq(nc, nc2);
        ck_assert(memcmp(lab, ref, (size_t)n * sizeof *lab) == 0);
    }
    free(lab);
    free(ref);
}

/* ---- Pulling a question ------------------------------------------------- */

/* Answer the question shown now (pal_oracle_next) with labeler fn
 * (user), through pal_oracle_answer: its status, or pal_oracle_next's. */
static inline int pull_with(pal_oracle_t *o, pal_labeler_fn fn, void *user)
{
    int64_t a, m;
    const int64_t *cand;
    pal_answer_t ans[16];
    int rc = pal_oracle_next(o, &a, &m, &cand);

    if (rc != PAL_OK)
        return rc;
    ck_assert_int_le(m, 16);
    ck_assert_int_eq(fn(user, a, m, cand, ans), 0);
    return pal_oracle_answer(o, ans, NULL);
}

/* ---- The state of an oracle ------------------------------------------- */

/* What an oracle is: costs, stop reason, templates, its store, and the
 * question it asks next (pulled, and left pending). */
typedef struct ostate {
    pal_oracle_costs_t c;
    pal_stop_reason_t why;
    int64_t ntpl, tpl[64];
    snap_t st, top;         /* the store, and the coarse one (levels 2) */
    int next_rc;
    int64_t anchor, m, cand[16], level;
} ostate_t;

static inline void ostate_take(pal_oracle_t *o, ostate_t *s, bool pull)
{
    const int64_t *cand;

    memset(s, 0, sizeof *s);
    s->c = costs(o);
    ck_status(pal_oracle_stop_reason(o, &s->why), PAL_OK);
    if (pal_oracle_templates(o, s->tpl, 64, &s->ntpl) != PAL_OK)
        s->ntpl = -1;
    snap_take(&s->st, pal_oracle_store(o), NULL);
    if (pal_oracle_coarse_store(o))
        snap_take(&s->top, pal_oracle_coarse_store(o), NULL);
    if (pull) {
        /* The question stays pending for the caller to answer. */
        s->next_rc = pal_oracle_next(o, &s->anchor, &s->m, &cand);
        if (s->next_rc == PAL_OK) {
            memcpy(s->cand, cand, (size_t)s->m * sizeof *cand);
            ck_status(pal_oracle_level(o, &s->level), PAL_OK);
        }
    }
}

static inline void ostate_free(ostate_t *s)
{
    snap_free(&s->st);
    snap_free(&s->top);
}

static inline void ostate_check(pal_oracle_t *o, const ostate_t *want)
{
    ostate_t s;

    /* The question pulled stays pending: unanswered, it is in no record,
     * and an undo or a reopened journal draws it again. */
    ostate_take(o, &s, true);
    ck_assert(memcmp(&s.c, &want->c, sizeof s.c) == 0);
    ck_assert_int_eq(s.why, want->why);
    ck_assert_int_eq(s.ntpl, want->ntpl);
    ck_assert(s.ntpl < 0 ||
              memcmp(s.tpl, want->tpl, (size_t)s.ntpl * sizeof *s.tpl) == 0);
    snap_check(&want->st, pal_oracle_store(o), NULL);
    if (pal_oracle_coarse_store(o))
        snap_check(&want->top, pal_oracle_coarse_store(o), NULL);
    ck_assert_int_eq(s.next_rc, want->next_rc);
    ck_assert_int_eq(s.level, want->level);
    ck_assert_int_eq(s.anchor, want->anchor);
    ck_assert_int_eq(s.m, want->m);
    ck_assert(memcmp(s.cand, want->cand, sizeof s.cand) == 0);
    ostate_free(&s);
}

#endif /* PAL_STOREUTIL_H */
