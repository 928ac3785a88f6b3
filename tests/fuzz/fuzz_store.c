/*
 * Fuzz target: the knowledge store and the oracles that ask questions.
 *
 * The first byte picks one of two runs.
 *
 * Store run: up to 24 items and a sequence of operations (answers, with
 * or without a batch of deduced pairs, capped or not; relation, component
 * and answer-log queries; labels; graph exports with both flags), through
 * an allocator that may fail. A brute-force model (components as arrays,
 * known-different links between them, the conflict policy of oracle.h)
 * checks after every operation every pair's relation, every counter of
 * pal_store_stats, the canonical labels, the exported graph entry by
 * entry, the log, and that the pairs an answer reports are exactly the
 * pairs it made known. A failed call must change nothing.
 *
 * Oracle run: a captcha or passive oracle on 2..24 items, screens of 1..8
 * candidates, answered by a labeler whose answers come from the input
 * (truthful, unsure, lies, failures, invalid values, answers left
 * unwritten) or through pal_oracle_next / pal_oracle_answer. Checked:
 * the invariants of oracle.h (distinct candidates, never the anchor,
 * relation unknown before asking, the class shown, elimination order,
 * re-entrant calls refused, a failed step changes nothing and asks the
 * same question again, PAL_DONE only when nothing is askable), the costs
 * against the store, and the batches against the model.
 */
#include "fuzz.h"

#define MAX_N 24
#define MAX_OPS 400
#define MAX_LOG (MAX_OPS * 8 + 16)

enum { UNKNOWN = 0, SAME = 1, DIFF = 2 };

/* ---- The model ---------------------------------------------------------- */

typedef struct model {
    int n;
    int comp[MAX_N];                 /* a representative per item */
    bool apart[MAX_N][MAX_N];        /* between representatives */
    int64_t answers, same, different, unsure, conflicts, redundant;
    int64_t log_i[MAX_LOG], log_j[MAX_LOG];
    int log_a[MAX_LOG];
} model_t;

static void model_init(model_t *m, int n)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    for (int i = 0; i < n; i++)
        m->comp[i] = i;
}

static int model_rel(const model_t *m, int i, int j)
{
    if (m->comp[i] == m->comp[j])
        return SAME;
    return m->apart[m->comp[i]][m->comp[j]] ? DIFF : UNKNOWN;
}

/* The effect of oracle.h: new, known, conflict or unsure. */
static int model_answer(model_t *m, int i, int j, int ans)
{
    int a = m->comp[i], b = m->comp[j], rel = model_rel(m, i, j), eff;

    FUZZ_CHECK(m->answers < MAX_LOG);
    m->log_i[m->answers] = i;
    m->log_j[m->answers] = j;
    m->log_a[m->answers] = ans;
    m->answers++;
    m->same += ans == PAL_ANSWER_SAME;
    m->different += ans == PAL_ANSWER_DIFFERENT;
    m->unsure += ans == PAL_ANSWER_UNSURE;
    if (ans == PAL_ANSWER_UNSURE)
        return PAL_EFFECT_UNSURE;
    if (rel != UNKNOWN) {
        bool agree = (rel == SAME) == (ans == PAL_ANSWER_SAME);

        eff = agree ? PAL_EFFECT_KNOWN : PAL_EFFECT_CONFLICT;
        m->redundant += agree;
        m->conflicts += !agree;
        return eff;
    }
    if (ans == PAL_ANSWER_DIFFERENT) {
        m->apart[a][b] = m->apart[b][a] = true;
        return PAL_EFFECT_NEW;
    }
    for (int x = 0; x < m->n; x++) {
        if (m->comp[x] == b)
            m->comp[x] = a;
        if (m->apart[b][x]) {
            m->apart[a][x] = m->apart[x][a] = true;
            m->apart[b][x] = m->apart[x][b] = false;
        }
    }
    return PAL_EFFECT_NEW;
}

static int model_size(const model_t *m, int i)
{
    int s = 0;

    for (int x = 0; x < m->n; x++)
        s += m->comp[x] == m->comp[i];
    return s;
}

static void model_stats(const model_t *m, pal_store_stats_t *st)
{
    int64_t comps = 0, dp = 0, kp = 0;

    for (int x = 0; x < m->n; x++)
        comps += m->comp[x] == x ? 1 : 0;
    /* Representatives are items, so count pairs of them. */
    for (int a = 0; a < m->n; a++)
        for (int b = a + 1; b < m->n; b++)
            if (m->comp[a] == a && m->comp[b] == b && m->apart[a][b])
                dp++;
    for (int i = 0; i < m->n; i++)
        for (int j = i + 1; j < m->n; j++)
            kp += model_rel(m, i, j) != UNKNOWN;
    memset(st, 0, sizeof *st);
    st->answers = m->answers;
    st->same = m->same;
    st->different = m->different;
    st->unsure = m->unsure;
    st->conflicts = m->conflicts;
    st->redundant = m->redundant;
    st->components = comps;
    st->different_pairs = dp;
    st->known_pairs = kp;
    st->complete = kp == (int64_t)m->n * (m->n - 1) / 2;
}

/* Each component's representative is one of its members, as model_stats
 * assumes. */
static void model_fix(const model_t *m)
{
    for (int x = 0; x < m->n; x++)
        FUZZ_CHECK(m->comp[m->comp[x]] == m->comp[x]);
}

/* The store agrees with the model on every pair and every counter. */
static void check_store(const pal_store_t *s, const model_t *m)
{
    pal_store_stats_t got, want;

    model_fix(m);
    got.size = sizeof got;
    FUZZ_CHECK(pal_store_stats(s, &got) == PAL_OK);
    model_stats(m, &want);
    FUZZ_CHECK(got.size == sizeof got);
    FUZZ_CHECK(got.answers == want.answers && got.same == want.same &&
               got.different == want.different &&
               got.unsure == want.unsure &&
               got.conflicts == want.conflicts &&
               got.redundant == want.redundant &&
               got.components == want.components &&
               got.different_pairs == want.different_pairs &&
               got.known_pairs == want.known_pairs &&
               got.complete == want.complete);
    for (int i = 0; i < m->n; i++) {
        for (int j = 0; j < m->n; j++) {
            pal_relation_t r = (pal_relation_t)99;

            FUZZ_CHECK(pal_store_relation(s, i, j, &r) == PAL_OK);
            FUZZ_CHECK((int)r == model_rel(m, i, j));
        }
    }
}

/* The known pairs (i < j) as a bit per pair, same or different. */
static void known_set(const model_t *m, unsigned char *k)
{
    for (int i = 0; i < m->n; i++)
        for (int j = 0; j < m->n; j++)
            k[i * MAX_N + j] = (unsigned char)model_rel(m, i, j);
}

/* ---- Store run ---------------------------------------------------------- */

typedef struct batch_copy {
    int64_t n, offered, nreg;
    int64_t *i, *j;
    double *g;
} batch_copy_t;

static void batch_save(const pal_batch_t *b, batch_copy_t *c)
{
    const int64_t *bi, *bj;
    const double *bg;

    FUZZ_CHECK(pal_batch_pairs(b, &bi, &bj, &bg, &c->n) == PAL_OK);
    c->offered = pal_batch_n_offered_pairs(b);
    c->nreg = pal_batch_n_reg(b);
    c->i = malloc((size_t)(c->n + 1) * sizeof *c->i);
    c->j = malloc((size_t)(c->n + 1) * sizeof *c->j);
    c->g = malloc((size_t)(c->n + 1) * sizeof *c->g);
    FUZZ_CHECK(c->i && c->j && c->g);
    if (c->n > 0) {
        memcpy(c->i, bi, (size_t)c->n * sizeof *c->i);
        memcpy(c->j, bj, (size_t)c->n * sizeof *c->j);
        memcpy(c->g, bg, (size_t)c->n * sizeof *c->g);
    }
}

static void batch_copy_free(batch_copy_t *c)
{
    free(c->i);
    free(c->j);
    free(c->g);
}

/* The batch holds exactly what was saved, or (prefix) begins with it. */
static void batch_same(const pal_batch_t *b, const batch_copy_t *c,
                       bool prefix)
{
    const int64_t *bi, *bj;
    const double *bg;
    int64_t n;

    FUZZ_CHECK(pal_batch_pairs(b, &bi, &bj, &bg, &n) == PAL_OK);
    FUZZ_CHECK(prefix ? n >= c->n : n == c->n);
    if (!prefix)
        FUZZ_CHECK(pal_batch_n_offered_pairs(b) == c->offered);
    FUZZ_CHECK(pal_batch_n_reg(b) == c->nreg);
    for (int64_t p = 0; p < c->n; p++)
        FUZZ_CHECK(bi[p] == c->i[p] && bj[p] == c->j[p] &&
                   fuzz_same(bg[p], c->g[p]));
}

static int64_t item_from(fuzz_in_t *in, int n)
{
    uint8_t b = fuzz_u8(in);

    if (b < 248)
        return b % n;
    switch (b) {
    case 248:
        return -1;
    case 249:
        return n;
    case 250:
        return INT64_MIN;
    case 251:
        return (int64_t)INT32_MAX + 1;
    default:
        return n + b % 4;
    }
}

static int answer_from(fuzz_in_t *in)
{
    uint8_t b = fuzz_u8(in) % 32;

    if (b < 11)
        return PAL_ANSWER_DIFFERENT;
    if (b < 24)
        return PAL_ANSWER_SAME;
    if (b < 30)
        return PAL_ANSWER_UNSURE;
    return b == 30 ? 3 : -1;
}

typedef struct store_run {
    fuzz_in_t *in;
    fuzz_alloc_t *fa;
    pal_allocator_t alloc;
    pal_store_t *s;
    pal_batch_t *b;
    model_t m;
    int64_t limit;
} store_run_t;

static bool nomem_possible(const fuzz_alloc_t *fa)
{
    return fa->fail_at > 0 && fa->calls >= fa->fail_at;
}

static void op_answer(store_run_t *r)
{
    const int n = r->m.n;
    int64_t i = item_from(r->in, n), j = item_from(r->in, n);
    int ans = answer_from(r->in);
    uint8_t how = fuzz_u8(r->in);
    pal_batch_t *b = how & 1 ? r->b : NULL;
    int effect = 99, *eff = how & 2 ? NULL : &effect;
    static unsigned char before[MAX_N * MAX_N], after[MAX_N * MAX_N];
    bool bad_index = i < 0 || i >= n || j < 0 || j >= n;
    bool bad_answer = ans < 0 || ans > 2;
    batch_copy_t saved;
    model_t next;
    int rc, want_eff;
    int64_t fresh = 0;

    batch_save(r->b, &saved);
    rc = pal_store_answer(r->s, i, j, (pal_answer_t)ans, b, eff);
    if (bad_index || bad_answer) {
        FUZZ_CHECK((bad_index && rc == PAL_E_INDEX) ||
                   (bad_answer && rc == PAL_E_RANGE));
    } else {
        FUZZ_CHECK(rc == PAL_OK ||
                   (rc == PAL_E_NOMEM && nomem_possible(r->fa)));
    }
    if (rc != PAL_OK) {
        FUZZ_CHECK(effect == 99);
        batch_same(r->b, &saved, false);
        check_store(r->s, &r->m);
        batch_copy_free(&saved);
        return;
    }

    known_set(&r->m, before);
    next = r->m;
    want_eff = model_answer(&next, (int)i, (int)j, ans);
    r->m = next;
    known_set(&r->m, after);
    if (eff)
        FUZZ_CHECK(effect == want_eff);
    check_store(r->s, &r->m);

    for (int x = 0; x < n; x++)
        for (int y = x + 1; y < n; y++)
            fresh += before[x * MAX_N + y] == UNKNOWN &&
                     after[x * MAX_N + y] != UNKNOWN;
    if (b) {
        const int64_t *bi, *bj;
        const double *bg;
        int64_t count;
        static unsigned char seen[MAX_N * MAX_N];

        FUZZ_CHECK(pal_batch_pairs(b, &bi, &bj, &bg, &count) == PAL_OK);
        FUZZ_CHECK(pal_batch_n_offered_pairs(b) == saved.offered + fresh);
        FUZZ_CHECK(pal_batch_n_reg(b) == saved.nreg);
        if (r->limit == 0) {
            /* Appended: exactly the pairs made known, each once. */
            batch_same(b, &saved, true);
            FUZZ_CHECK(count == saved.n + fresh);
            memset(seen, 0, sizeof seen);
            for (int64_t p = saved.n; p < count; p++) {
                int64_t x = bi[p], y = bj[p];

                FUZZ_CHECK(x >= 0 && x < y && y < n);
                FUZZ_CHECK(before[x * MAX_N + y] == UNKNOWN &&
                           after[x * MAX_N + y] != UNKNOWN);
                FUZZ_CHECK(!seen[x * MAX_N + y]);
                seen[x * MAX_N + y] = 1;
                FUZZ_CHECK(bg[p] ==
                           (after[x * MAX_N + y] == SAME ? 1.0 : 0.0));
            }
        } else {
            int64_t want = saved.offered + fresh;

            FUZZ_CHECK(count == (want < r->limit ? want : r->limit));
        }
        /* Whatever was kept is a known pair with its weight. */
        for (int64_t p = 0; p < count; p++) {
            int64_t x = bi[p], y = bj[p];

            FUZZ_CHECK(x >= 0 && x < y && y < n);
            FUZZ_CHECK(bg[p] == (model_rel(&r->m, (int)x, (int)y) == SAME
                                     ? 1.0
                                     : 0.0));
            FUZZ_CHECK(model_rel(&r->m, (int)x, (int)y) != UNKNOWN);
        }
    } else {
        batch_same(r->b, &saved, false);
    }
    batch_copy_free(&saved);
}

static void op_query(store_run_t *r)
{
    const int n = r->m.n;
    int64_t i = item_from(r->in, n), j = item_from(r->in, n);
    bool bad = i < 0 || i >= n || j < 0 || j >= n;
    pal_relation_t rel = (pal_relation_t)77;
    int64_t root = -5, size = -5;
    int rc;

    rc = pal_store_relation(r->s, i, j, &rel);
    FUZZ_CHECK(rc == (bad ? PAL_E_INDEX : PAL_OK));
    FUZZ_CHECK(bad ? (int)rel == 77 : (int)rel == model_rel(&r->m, (int)i,
                                                               (int)j));

    rc = pal_store_component(r->s, i, &root, &size);
    if (i < 0 || i >= n) {
        FUZZ_CHECK(rc == PAL_E_INDEX && root == -5 && size == -5);
        return;
    }
    FUZZ_CHECK(rc == PAL_OK);
    FUZZ_CHECK(size == model_size(&r->m, (int)i));
    FUZZ_CHECK(root >= 0 && root < n &&
               r->m.comp[root] == r->m.comp[i]);
    /* The same representative for every member. */
    for (int x = 0; x < n; x++) {
        int64_t rx;

        if (r->m.comp[x] != r->m.comp[i])
            continue;
        FUZZ_CHECK(pal_store_component(r->s, x, &rx, NULL) == PAL_OK);
        FUZZ_CHECK(rx == root);
    }
}

/* Canonical labels: classes in the order of their smallest member. */
static int64_t model_labels(const model_t *m, bool singletons_unknown,
                            int32_t *y)
{
    int32_t cls[MAX_N];
    int64_t nc = 0;

    for (int x = 0; x < m->n; x++)
        cls[x] = -1;
    for (int x = 0; x < m->n; x++) {
        int c = m->comp[x];

        if (singletons_unknown && model_size(m, x) == 1) {
            y[x] = -1;
            continue;
        }
        if (cls[c] < 0)
            cls[c] = (int32_t)nc++;
        y[x] = cls[c];
    }
    return nc;
}

static void op_labels(store_run_t *r)
{
    const int n = r->m.n;
    unsigned flags = fuzz_u8(r->in) % 6;
    int32_t y[MAX_N], want[MAX_N];
    int64_t nc = -9, wnc;
    int rc;

    for (int x = 0; x < n; x++)
        y[x] = 1234;
    rc = pal_store_labels(r->s, flags, y, fuzz_u8(r->in) & 1 ? &nc : NULL);
    if (flags > 3) {
        FUZZ_CHECK(rc == PAL_E_RANGE && nc == -9);
        for (int x = 0; x < n; x++)
            FUZZ_CHECK(y[x] == 1234);
        return;
    }
    FUZZ_CHECK(rc == PAL_OK);
    wnc = model_labels(&r->m, flags & PAL_STORE_SINGLETONS_UNKNOWN, want);
    FUZZ_CHECK(nc == -9 || nc == wnc);
    for (int x = 0; x < n; x++)
        FUZZ_CHECK(y[x] == want[x]);
}

static void op_graph(store_run_t *r)
{
    const int n = r->m.n;
    unsigned flags = fuzz_u8(r->in) % 6;
    bool single = flags & PAL_STORE_SINGLETONS_UNKNOWN;
    bool contrast = flags & PAL_STORE_CONTRASTIVE;
    pal_graph_t *g = (pal_graph_t *)r;
    double d[MAX_N * MAX_N], frob, nz = 0.0;
    int rc;

    rc = pal_store_graph(r->s, flags, &g, &r->alloc);
    if (flags > 3) {
        FUZZ_CHECK(rc == PAL_E_RANGE && g == (pal_graph_t *)r);
        return;
    }
    FUZZ_CHECK(rc == PAL_OK ||
               (rc == PAL_E_NOMEM && nomem_possible(r->fa)));
    if (rc != PAL_OK) {
        FUZZ_CHECK(g == (pal_graph_t *)r);
        return;
    }
    FUZZ_CHECK(pal_graph_n(g) == n);
    FUZZ_CHECK(pal_graph_to_dense(g, PAL_F64, d, n) == PAL_OK);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            int rel = model_rel(&r->m, i, j);
            bool out = single && (model_size(&r->m, i) == 1 ||
                                  model_size(&r->m, j) == 1);
            double want = out                           ? 0.0
                          : rel == SAME                 ? 1.0
                          : rel == DIFF && contrast     ? -1.0
                                                        : 0.0;

            FUZZ_CHECK(d[i * n + j] == want);
            nz += want != 0.0;
        }
    }
    /* Entries of +-1: ||G||_F^2 counts them, exactly. */
    FUZZ_CHECK(pal_graph_frobenius2(g, &frob) == PAL_OK);
    FUZZ_CHECK(frob == nz);
    FUZZ_CHECK(pal_graph_is_symmetric(g) == 1);
    pal_graph_destroy(g);
}

static void op_log(store_run_t *r)
{
    int64_t k = (int64_t)fuzz_below(r->in, (int)r->m.answers + 3) - 1;
    int64_t i = -7, j = -7;
    pal_answer_t a = (pal_answer_t)9;
    int rc = pal_store_log_entry(r->s, k, &i, &j, &a);

    if (k < 0 || k >= r->m.answers) {
        FUZZ_CHECK(rc == PAL_E_INDEX && i == -7 && j == -7 && (int)a == 9);
        return;
    }
    FUZZ_CHECK(rc == PAL_OK);
    FUZZ_CHECK(i == r->m.log_i[k] && j == r->m.log_j[k] &&
               (int)a == r->m.log_a[k]);
}

static void op_batch(store_run_t *r)
{
    uint8_t b = fuzz_u8(r->in);

    if (b < 128) {
        pal_batch_clear(r->b);
        FUZZ_CHECK(pal_batch_n_pairs(r->b) == 0 &&
                   pal_batch_n_offered_pairs(r->b) == 0);
        return;
    }
    /* A new limit applies from the next clear on: clear now. */
    r->limit = b < 192 ? 0 : fuzz_range(r->in, 1, 12);
    FUZZ_CHECK(pal_batch_set_limit(r->b, r->limit, fuzz_u8(r->in)) ==
               PAL_OK);
    pal_batch_clear(r->b);
    FUZZ_CHECK(pal_batch_set_limit(r->b, -1, 0) == PAL_E_SIZE);
}

static void store_run(fuzz_in_t *in)
{
    store_run_t r;
    fuzz_alloc_t fa = {0, 0, 0, 0};
    uint8_t fail = fuzz_u8(in);
    int n = (int)fuzz_range(in, 1, MAX_N);
    int rc;

    memset(&r, 0, sizeof r);
    r.in = in;
    r.fa = &fa;
    r.alloc = fuzz_allocator(&fa);
    fa.fail_at = fail < 200 ? 0 : fail - 199;
    fa.sticky = fail >= 240;

    rc = pal_store_create(&r.s, n, &r.alloc);
    FUZZ_CHECK(rc == PAL_OK || (rc == PAL_E_NOMEM && nomem_possible(&fa)));
    if (rc != PAL_OK) {
        FUZZ_CHECK(fa.live == 0);
        return;
    }
    rc = pal_batch_create(&r.b, &r.alloc);
    FUZZ_CHECK(rc == PAL_OK || (rc == PAL_E_NOMEM && nomem_possible(&fa)));
    if (rc != PAL_OK) {
        pal_store_destroy(r.s);
        FUZZ_CHECK(fa.live == 0);
        return;
    }
    FUZZ_CHECK(pal_store_n(r.s) == n);
    model_init(&r.m, n);
    check_store(r.s, &r.m);

    for (int op = 0; op < MAX_OPS && fuzz_left(in); op++) {
        uint8_t k = fuzz_u8(in) % 16;

        if (k < 9)
            op_answer(&r);
        else if (k < 11)
            op_query(&r);
        else if (k < 12)
            op_labels(&r);
        else if (k < 14)
            op_graph(&r);
        else if (k < 15)
            op_log(&r);
        else
            op_batch(&r);
    }
    for (int64_t k = 0; k < r.m.answers; k++) {
        int64_t i, j;
        pal_answer_t a;

        FUZZ_CHECK(pal_store_log_entry(r.s, k, &i, &j, &a) == PAL_OK);
        FUZZ_CHECK(i == r.m.log_i[k] && j == r.m.log_j[k] &&
                   (int)a == r.m.log_a[k]);
    }
    pal_batch_destroy(r.b);
    pal_store_destroy(r.s);
    FUZZ_CHECK(fa.live == 0);
}

/* ---- Oracle run --------------------------------------------------------- */

#define MAX_CLASSES MAX_N

typedef struct oracle_run {
    fuzz_in_t *in;
    fuzz_alloc_t fa;
    pal_allocator_t alloc;
    pal_oracle_t *o;
    pal_oracle_opts_t opts;
    int n;
    int truth[MAX_N];
    model_t m;

    /* Items answered unsure against a class (by discovery index) while
     * their relation to it is unknown: never offered for it again. The
     * passive sampler remembers unsure pairs of items the same way. */
    bool blocked[MAX_CLASSES][MAX_N];
    bool unsure_pair[MAX_N][MAX_N];

    /* The last question, and whether the next one must repeat it. */
    int64_t q_anchor, q_m, q_cand[MAX_N];
    int64_t r_anchor, r_m, r_cand[MAX_N];
    bool must_repeat;
    bool pending;       /* a question from pal_oracle_next is unanswered */

    int64_t steps;
    bool in_labeler;
    int side[MAX_N];   /* PAL_REG_HALVES: 1 or 2 once an item is seen */
} oracle_run_t;

static const pal_store_t *ostore(const oracle_run_t *r)
{
    return pal_oracle_store(r->o);
}

static int64_t templates(const oracle_run_t *r, int64_t *t)
{
    int64_t count = -1;

    FUZZ_CHECK(pal_oracle_templates(r->o, t, MAX_CLASSES, &count) ==
               PAL_OK);
    FUZZ_CHECK(count >= 1 && count <= r->n);
    return count;
}

/* Items that can still be asked about class k. */
static int64_t askable(const oracle_run_t *r, int64_t k, int64_t tmpl,
                       bool *mask)
{
    int64_t count = 0;

    for (int x = 0; x < r->n; x++) {
        bool ok = model_rel(&r->m, (int)tmpl, x) == UNKNOWN &&
                  !r->blocked[k][x];

        if (mask)
            mask[x] = ok;
        count += ok;
    }
    return count;
}

/* Classes known different from item x. */
static int rejections(const oracle_run_t *r, const int64_t *t, int64_t nt,
                      int x)
{
    int c = 0;

    for (int64_t k = 0; k < nt; k++)
        c += model_rel(&r->m, (int)t[k], x) == DIFF;
    return c;
}

/* Everything oracle.h promises about a question. */
static void check_question(oracle_run_t *r, int64_t anchor, int64_t m,
                           const int64_t *cand)
{
    const int n = r->n;
    bool seen[MAX_N] = {false};

    FUZZ_CHECK(anchor >= 0 && anchor < n);
    FUZZ_CHECK(m >= 1 && m <= n - 1 && m <= r->opts.screen_size);
    for (int64_t k = 0; k < m; k++) {
        FUZZ_CHECK(cand[k] >= 0 && cand[k] < n && cand[k] != anchor);
        FUZZ_CHECK(!seen[cand[k]]);
        seen[cand[k]] = true;
        FUZZ_CHECK(model_rel(&r->m, (int)anchor, (int)cand[k]) == UNKNOWN);
    }

    if (r->must_repeat) {
        FUZZ_CHECK(anchor == r->r_anchor && m == r->r_m);
        for (int64_t k = 0; k < m; k++)
            FUZZ_CHECK(cand[k] == r->r_cand[k]);
        r->must_repeat = false;
    }
    r->q_anchor = anchor;
    r->q_m = m;
    memcpy(r->q_cand, cand, (size_t)m * sizeof *cand);

    if (r->opts.sampler == PAL_SAMPLER_PASSIVE) {
        FUZZ_CHECK(m == 1 && !r->unsure_pair[anchor][cand[0]]);
        return;
    }

    /* Captcha: the class with the fewest members that has a question,
     * the oldest among equals; as many candidates as fit. */
    {
        int64_t t[MAX_CLASSES], nt = templates(r, t), best = -1;
        int64_t best_size = 0, best_ask = 0, cap;
        bool mask[MAX_N];

        for (int64_t k = 0; k < nt; k++) {
            int64_t size = model_size(&r->m, (int)t[k]);
            int64_t ask = askable(r, k, t[k], NULL);

            for (int64_t l = 0; l < k; l++)
                FUZZ_CHECK(model_rel(&r->m, (int)t[k], (int)t[l]) == DIFF);
            if (ask > 0 && (best < 0 || size < best_size)) {
                best = k;
                best_size = size;
                best_ask = ask;
            }
        }
        FUZZ_CHECK(best >= 0 && anchor == t[best]);
        cap = r->opts.screen_size < n - 1 ? r->opts.screen_size : n - 1;
        FUZZ_CHECK(m == (best_ask < cap ? best_ask : cap));
        askable(r, best, t[best], mask);
        for (int64_t k = 0; k < m; k++)
            FUZZ_CHECK(mask[cand[k]]);

        if (r->opts.candidates == PAL_CANDIDATES_ELIMINATION) {
            int lo = MAX_N + 1, hi = -1;

            for (int64_t k = 0; k < m; k++) {
                int c = rejections(r, t, nt, (int)cand[k]);

                lo = c < lo ? c : lo;
            }
            for (int x = 0; x < n; x++) {
                int c;

                if (!mask[x] || seen[x])
                    continue;
                c = rejections(r, t, nt, x);
                hi = c > hi ? c : hi;
            }
            FUZZ_CHECK(hi <= lo);
        }
    }
}

/* The question just seen must be the next one asked. */
static void expect_repeat(oracle_run_t *r)
{
    r->r_anchor = r->q_anchor;
    r->r_m = r->q_m;
    memcpy(r->r_cand, r->q_cand, sizeof r->r_cand);
    r->must_repeat = true;
}

/* After a question returned PAL_DONE: nothing is left to ask. */
static void check_done(oracle_run_t *r)
{
    if (r->opts.sampler == PAL_SAMPLER_PASSIVE) {
        /* Every pair still unknown was answered unsure. */
        for (int x = 0; x < r->n; x++)
            for (int y = x + 1; y < r->n; y++)
                FUZZ_CHECK(model_rel(&r->m, x, y) != UNKNOWN ||
                           r->unsure_pair[x][y]);
        return;
    }
    {
        int64_t t[MAX_CLASSES], nt = templates(r, t);

        for (int64_t k = 0; k < nt; k++)
            FUZZ_CHECK(askable(r, k, t[k], NULL) == 0);
    }
}

static int labeler(void *user, int64_t anchor, int64_t m,
                   const int64_t *cand, pal_answer_t *answers)
{
    oracle_run_t *r = user;
    uint8_t mode = fuzz_u8(r->in);

    FUZZ_CHECK(!r->in_labeler);
    r->in_labeler = true;
    check_question(r, anchor, m, cand);

    /* Calls that would touch the question are refused meanwhile. */
    if (mode % 16 == 15) {
        pal_answer_t a[MAX_N] = {PAL_ANSWER_SAME};
        int64_t a2 = -1, m2 = -1;
        const int64_t *c2 = NULL;

        FUZZ_CHECK(pal_oracle_step(r->o, NULL) == PAL_E_STATE);
        FUZZ_CHECK(pal_oracle_next(r->o, &a2, &m2, &c2) == PAL_E_STATE);
        FUZZ_CHECK(a2 == -1 && m2 == -1 && c2 == NULL);
        FUZZ_CHECK(pal_oracle_answer(r->o, a, NULL) == PAL_E_STATE);
        pal_oracle_cancel(r->o);
    }
    r->in_labeler = false;

    switch (mode % 32) {
    case 0:
        return 1;
    case 1:
        return -1;
    case 2:
        /* One answer left unwritten. */
        for (int64_t k = 0; k + 1 < m; k++)
            answers[k] = PAL_ANSWER_SAME;
        return 0;
    case 3:
        for (int64_t k = 0; k < m; k++)
            answers[k] = PAL_ANSWER_DIFFERENT;
        answers[fuzz_below(r->in, (int)m)] = (pal_answer_t)3;
        return 0;
    default:
        break;
    }
    for (int64_t k = 0; k < m; k++) {
        uint8_t b = fuzz_u8(r->in) % 16;
        bool same = r->truth[anchor] == r->truth[cand[k]];

        if (b < 11)
            answers[k] = same ? PAL_ANSWER_SAME : PAL_ANSWER_DIFFERENT;
        else if (b < 14)
            answers[k] = PAL_ANSWER_UNSURE;
        else
            answers[k] = same ? PAL_ANSWER_DIFFERENT : PAL_ANSWER_SAME;
    }
    return 0;
}

/* Costs and counters after any call. */
static void check_costs(oracle_run_t *r)
{
    pal_oracle_costs_t c;
    pal_store_stats_t st;

    c.size = sizeof c;
    st.size = sizeof st;
    FUZZ_CHECK(pal_oracle_costs(r->o, &c) == PAL_OK);
    FUZZ_CHECK(pal_store_stats(ostore(r), &st) == PAL_OK);
    FUZZ_CHECK(c.steps == r->steps && c.screens == r->steps);
    FUZZ_CHECK(c.answers == st.answers && c.same == st.same &&
               c.different == st.different && c.unsure == st.unsure &&
               c.conflicts == st.conflicts);
    /* Only unknown relations are asked, and a screen's candidates are
     * unrelated to each other: nothing can contradict. */
    FUZZ_CHECK(c.conflicts == 0);
    if (r->opts.sampler == PAL_SAMPLER_CAPTCHA) {
        int64_t t[MAX_CLASSES];

        FUZZ_CHECK(c.classes == templates(r, t));
    }
    check_store(ostore(r), &r->m);
}

/* Apply a screen's answers to the model; check the batch it produced. */
static void learn(oracle_run_t *r, int64_t anchor, int64_t m,
                  const int64_t *cand, const pal_answer_t *ans,
                  const pal_batch_t *b, int64_t cls)
{
    static unsigned char before[MAX_N * MAX_N], after[MAX_N * MAX_N];
    const int64_t *bi, *bj, *ri, *rj;
    const double *bg;
    int64_t np, nr, fresh = 0;

    known_set(&r->m, before);
    for (int64_t k = 0; k < m; k++) {
        model_answer(&r->m, (int)anchor, (int)cand[k], (int)ans[k]);
        if (cls >= 0 && ans[k] == PAL_ANSWER_UNSURE)
            r->blocked[cls][cand[k]] = true;
        if (ans[k] == PAL_ANSWER_UNSURE)
            r->unsure_pair[anchor][cand[k]] =
                r->unsure_pair[cand[k]][anchor] = true;
    }
    known_set(&r->m, after);
    r->steps++;
    if (!b)
        return;

    FUZZ_CHECK(pal_batch_pairs(b, &bi, &bj, &bg, &np) == PAL_OK);
    FUZZ_CHECK(pal_batch_regs(b, &ri, &rj, &nr) == PAL_OK);
    for (int x = 0; x < r->n; x++)
        for (int y = x + 1; y < r->n; y++)
            fresh += before[x * MAX_N + y] == UNKNOWN &&
                     after[x * MAX_N + y] != UNKNOWN;
    FUZZ_CHECK(np == fresh);
    for (int64_t p = 0; p < np; p++) {
        int64_t x = bi[p], y = bj[p];
        bool same;

        FUZZ_CHECK(x >= 0 && x < y && y < r->n);
        FUZZ_CHECK(before[x * MAX_N + y] == UNKNOWN &&
                   after[x * MAX_N + y] != UNKNOWN);
        same = after[x * MAX_N + y] == SAME;
        FUZZ_CHECK(bg[p] == (same ? 1.0 : r->opts.negative_weight));
        for (int64_t q = 0; q < p; q++)
            FUZZ_CHECK(bi[q] != x || bj[q] != y);
    }
    switch (r->opts.reg_mode) {
    case -1:
    case PAL_REG_SAME:
        FUZZ_CHECK(nr == np);
        for (int64_t p = 0; p < nr; p++)
            FUZZ_CHECK(ri[p] == bi[p] && rj[p] == bj[p]);
        break;
    case PAL_REG_RANDOM:
        FUZZ_CHECK(nr == r->opts.reg_pairs);
        for (int64_t p = 0; p < nr; p++)
            FUZZ_CHECK(ri[p] >= 0 && ri[p] < r->n && rj[p] >= 0 &&
                       rj[p] < r->n && ri[p] != rj[p]);
        break;
    default:
        /* Two fixed halves: an item is always on the same side. */
        FUZZ_CHECK(nr == r->opts.reg_pairs);
        for (int64_t p = 0; p < nr; p++) {
            FUZZ_CHECK(ri[p] >= 0 && ri[p] < r->n && rj[p] >= 0 &&
                       rj[p] < r->n);
            FUZZ_CHECK(r->side[ri[p]] != 2 && r->side[rj[p]] != 1);
            r->side[ri[p]] = 1;
            r->side[rj[p]] = 2;
        }
        break;
    }
}

/* The class (discovery index) of the question about to be answered. */
static int64_t class_of(oracle_run_t *r, int64_t anchor)
{
    int64_t t[MAX_CLASSES], nt;

    if (r->opts.sampler != PAL_SAMPLER_CAPTCHA)
        return -1;
    nt = templates(r, t);
    for (int64_t k = 0; k < nt; k++)
        if (t[k] == anchor)
            return k;
    FUZZ_CHECK(0);
    return -1;
}

/* One step through the labeler. */
static bool do_step(oracle_run_t *r, pal_batch_t *b)
{
    pal_store_stats_t st0;
    pal_oracle_costs_t c0, c1;
    pal_answer_t *answers;
    int rc;

    st0.size = sizeof st0;
    c0.size = c1.size = sizeof c0;
    FUZZ_CHECK(pal_store_stats(ostore(r), &st0) == PAL_OK);
    FUZZ_CHECK(pal_oracle_costs(r->o, &c0) == PAL_OK);
    if (b)
        pal_batch_clear(b);

    r->q_m = 0;
    rc = pal_oracle_step(r->o, b);
    if (r->pending) {
        FUZZ_CHECK(rc == PAL_E_STATE);
        check_costs(r);
        return true;
    }
    FUZZ_CHECK(rc == PAL_OK || rc == PAL_DONE || rc == PAL_E_CALLBACK ||
               (rc == PAL_E_NOMEM && nomem_possible(&r->fa)));
    if (rc == PAL_DONE) {
        check_done(r);
        check_costs(r);
        return false;
    }
    if (rc != PAL_OK) {
        /* Nothing changed, and the same question comes next (when the
         * labeler saw one: a failure before it cannot be compared). */
        FUZZ_CHECK(pal_oracle_costs(r->o, &c1) == PAL_OK);
        FUZZ_CHECK(c1.steps == c0.steps && c1.answers == c0.answers &&
                   c1.classes == c0.classes);
        FUZZ_CHECK(!b || (pal_batch_n_pairs(b) == 0 &&
                          pal_batch_n_reg(b) == 0));
        check_costs(r);
        if (r->q_m > 0)
            expect_repeat(r);
        return true;
    }

    /* Replay the answers the store logged for this screen. */
    answers = malloc((size_t)r->q_m * sizeof *answers);
    FUZZ_CHECK(answers != NULL);
    for (int64_t k = 0; k < r->q_m; k++) {
        int64_t i, j;

        FUZZ_CHECK(pal_store_log_entry(ostore(r), st0.answers + k, &i, &j,
                                       &answers[k]) == PAL_OK);
        FUZZ_CHECK(i == r->q_anchor && j == r->q_cand[k]);
    }
    learn(r, r->q_anchor, r->q_m, r->q_cand, answers, b,
          class_of(r, r->q_anchor));
    free(answers);
    check_costs(r);
    return true;
}

/*
 * Drop the pending question. The drop is kept in the oracle's history
 * (for undo), which may find no memory: the question then stays pending
 * (pal_oracle_level still answers), and only then.
 */
static void cancel(oracle_run_t *r)
{
    int64_t level;

    pal_oracle_cancel(r->o);
    if (r->pending && pal_oracle_level(r->o, &level) == PAL_OK) {
        FUZZ_CHECK(nomem_possible(&r->fa));
        return;
    }
    FUZZ_CHECK(pal_oracle_level(r->o, &level) == PAL_E_STATE);
    r->pending = false;
}

/* One question through pal_oracle_next and pal_oracle_answer. */
static bool do_pull(oracle_run_t *r, pal_batch_t *b)
{
    int64_t anchor = -3, m = -3, cls;
    const int64_t *cand = NULL;
    pal_answer_t ans[MAX_N];
    int rc;

    rc = pal_oracle_next(r->o, &anchor, &m, &cand);
    FUZZ_CHECK(rc == PAL_OK || rc == PAL_DONE ||
               (rc == PAL_E_NOMEM && nomem_possible(&r->fa)));
    if (rc == PAL_DONE) {
        FUZZ_CHECK(anchor == -3 && m == -3);
        check_done(r);
        return false;
    }
    if (rc != PAL_OK)
        return true;
    check_question(r, anchor, m, cand);
    cls = class_of(r, anchor);
    r->pending = true;

    /* Pending: a step is refused, and asking again gives the same. */
    FUZZ_CHECK(pal_oracle_step(r->o, NULL) == PAL_E_STATE ||
               r->opts.sampler == PAL_SAMPLER_SSL);
    {
        int64_t a2, m2;
        const int64_t *c2;

        FUZZ_CHECK(pal_oracle_next(r->o, &a2, &m2, &c2) == PAL_OK);
        FUZZ_CHECK(a2 == anchor && m2 == m && c2 == cand);
    }

    for (int64_t k = 0; k < m; k++) {
        uint8_t x = fuzz_u8(r->in) % 16;
        bool same = r->truth[anchor] == r->truth[cand[k]];

        ans[k] = x < 11   ? (same ? PAL_ANSWER_SAME : PAL_ANSWER_DIFFERENT)
                 : x < 14 ? PAL_ANSWER_UNSURE
                 : x < 15 ? (same ? PAL_ANSWER_DIFFERENT : PAL_ANSWER_SAME)
                          : (pal_answer_t)(4 + x);
    }
    if (fuzz_u8(r->in) < 24) {
        cancel(r);
        return true;
    }
    if (b)
        pal_batch_clear(b);
    rc = pal_oracle_answer(r->o, ans, b);
    {
        bool bad = false;

        for (int64_t k = 0; k < m; k++)
            bad |= (unsigned)ans[k] > (unsigned)PAL_ANSWER_UNSURE;
        FUZZ_CHECK(bad ? rc == PAL_E_RANGE
                       : rc == PAL_OK || (rc == PAL_E_NOMEM &&
                                          nomem_possible(&r->fa)));
    }
    if (rc != PAL_OK) {
        FUZZ_CHECK(!b || pal_batch_n_pairs(b) == 0);
        check_costs(r);
        /* Still pending: the same question. */
        expect_repeat(r);
        return true;
    }
    r->pending = false;
    learn(r, anchor, m, r->q_cand, ans, b, cls);
    check_costs(r);
    return true;
}

static void oracle_run(fuzz_in_t *in)
{
    oracle_run_t *r = calloc(1, sizeof *r);
    pal_batch_t *b = NULL;
    uint8_t fail, cfg;
    int rc, classes;

    FUZZ_CHECK(r != NULL);
    r->in = in;
    r->alloc = fuzz_allocator(&r->fa);
    fail = fuzz_u8(in);
    r->fa.fail_at = fail < 220 ? 0 : fail - 219;
    r->fa.sticky = fail >= 250;
    r->n = (int)fuzz_range(in, 2, MAX_N);
    cfg = fuzz_u8(in);

    pal_oracle_opts_init(&r->opts);
    r->opts.sampler = cfg % 3 == 0 ? PAL_SAMPLER_PASSIVE
                                   : PAL_SAMPLER_CAPTCHA;
    r->opts.candidates = (cfg >> 2) & 1 ? PAL_CANDIDATES_UNIFORM
                                        : PAL_CANDIDATES_ELIMINATION;
    r->opts.reg_mode = (int)((cfg >> 3) % 4) - 1;
    r->opts.screen_size = fuzz_range(in, 1, 8);
    r->opts.reg_pairs = fuzz_range(in, 0, 5);
    r->opts.negative_weight = cfg >> 6 == 0 ? 0.0 : cfg >> 6 == 1 ? -1.0
                                                                   : 0.5;
    r->opts.seed = fuzz_u8(in);
    classes = (int)fuzz_range(in, 1, 6);
    for (int i = 0; i < r->n; i++)
        r->truth[i] = (int)fuzz_below(in, classes);
    model_init(&r->m, r->n);

    rc = pal_oracle_create(&r->o, r->n, &r->opts, &r->alloc);
    FUZZ_CHECK(rc == PAL_OK ||
               (rc == PAL_E_NOMEM && nomem_possible(&r->fa)));
    if (rc != PAL_OK)
        goto out;
    rc = pal_batch_create(&b, &r->alloc);
    FUZZ_CHECK(rc == PAL_OK ||
               (rc == PAL_E_NOMEM && nomem_possible(&r->fa)));
    if (rc != PAL_OK)
        goto out;

    /* No labeler yet: a step cannot ask. */
    FUZZ_CHECK(pal_oracle_step(r->o, b) == PAL_E_STATE);
    FUZZ_CHECK(pal_oracle_set_labeler(r->o, labeler, r) == PAL_OK);
    check_costs(r);

    for (int op = 0; op < 200 && fuzz_left(in); op++) {
        uint8_t k = fuzz_u8(in) % 8;
        bool more;

        if (k < 5)
            more = do_step(r, k < 3 ? b : NULL);
        else if (k < 7)
            more = do_pull(r, k < 6 ? b : NULL);
        else {
            /* Dropping a pending question lets the next one differ; with
             * nothing pending, cancelling changes nothing. */
            if (r->pending)
                r->must_repeat = false;
            cancel(r);
            more = true;
        }
        if (!more) {
            /* Done stays done. */
            FUZZ_CHECK(pal_oracle_step(r->o, NULL) == PAL_DONE);
            check_done(r);
            break;
        }
    }

out:
    pal_batch_destroy(b);
    pal_oracle_destroy(r->o);
    FUZZ_CHECK(r->fa.live == 0);
    free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in;

    fuzz_in_init(&in, data, size);
    if (fuzz_u8(&in) & 1)
        oracle_run(&in);
    else
        store_run(&in);
    return 0;
}
