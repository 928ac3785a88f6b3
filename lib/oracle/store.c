/*
 * The public knowledge store: argument checks around the knowledge
 * bookkeeping, and its exports to batches and graphs.
 */
#include "oracle_internal.h"

/* The knowledge part speaks in its own codes, which must stay equal to
 * the public ones. */
_Static_assert(PAL__KN_SAME == (int)PAL_ANSWER_SAME &&
                   PAL__KN_DIFFERENT == (int)PAL_ANSWER_DIFFERENT &&
                   PAL__KN_UNSURE == (int)PAL_ANSWER_UNSURE,
               "answer codes");
_Static_assert(PAL__KN_REL_UNKNOWN == (int)PAL_REL_UNKNOWN &&
                   PAL__KN_REL_SAME == (int)PAL_REL_SAME &&
                   PAL__KN_REL_DIFFERENT == (int)PAL_REL_DIFFERENT,
               "relation codes");
_Static_assert(PAL__KN_NEW == (int)PAL_EFFECT_NEW &&
                   PAL__KN_KNOWN == (int)PAL_EFFECT_KNOWN &&
                   PAL__KN_CONFLICT == (int)PAL_EFFECT_CONFLICT &&
                   PAL__KN_IGNORED == (int)PAL_EFFECT_UNSURE,
               "effect codes");

int pal_store_create(pal_store_t **out, int64_t n,
                     const pal_allocator_t *alloc)
{
    pal_allocator_t a;
    pal_store_t *s;
    int rc;

    if (!out)
        return PAL_E_NULL;
    if (n < 1 || n > PAL__MAX_N)
        return PAL_E_SIZE;
    pal__allocator_init(&a, alloc);
    s = pal__alloc(&a, sizeof *s);
    if (!s)
        return PAL_E_NOMEM;
    s->alloc = a;
    s->jn = NULL;
    rc = pal__kn_create(&s->kn, (int32_t)n, &s->alloc);
    if (rc != PAL_OK) {
        pal__free(&a, s);
        return rc;
    }
    *out = s;
    return PAL_OK;
}

void pal_store_destroy(pal_store_t *s)
{
    if (!s)
        return;
    pal__jn_close(s->jn, false);
    pal__kn_destroy(s->kn);
    pal__free(&s->alloc, s);
}

int64_t pal_store_n(const pal_store_t *s)
{
    return s ? pal__kn_n(s->kn) : -1;
}

int pal__sink_pair(void *ctx, int64_t i, int64_t j, int same)
{
    const pal__sink_t *k = ctx;
    int rc;

    rc = pal_batch_add_pair(k->batch, i, j, same ? k->g_same : k->g_diff);
    if (rc == PAL_OK && k->mirror)
        rc = pal_batch_add_reg(k->batch, i, j);
    return rc;
}

static bool in_range(const pal_store_t *s, int64_t i)
{
    return i >= 0 && i < pal__kn_n(s->kn);
}

int pal__store_record(pal__kn_t *kn, pal__jn_t *jn, int32_t i, int32_t j,
                      int answer, pal_batch_t *deduced, int *effect)
{
    pal__sink_t sink = {deduced, 1.0, 0.0, false};
    int rc, eff;

    if (deduced) {
        rc = pal__batch_begin(deduced);
        if (rc != PAL_OK)
            return rc;
    }
    pal__kn_begin(kn);
    rc = pal__kn_answer(kn, i, j, answer, deduced ? pal__sink_pair : NULL,
                        &sink, &eff);

    /* Everything the answer needs is in hand: it is committed only once
     * it is in the journal. */
    if (rc == PAL_OK && jn) {
        unsigned char a = (unsigned char)answer;
        pal__jn_rec_t rec = {PAL__JN_ANSWER, 0, i, j, 0, NULL, &a, NULL};

        rc = pal__jn_append(jn, &rec);
    }
    if (rc != PAL_OK) {
        pal__kn_rollback(kn);
        if (deduced)
            pal__batch_rollback(deduced);
        return rc;
    }
    pal__kn_commit(kn);
    if (deduced)
        pal__batch_commit(deduced);
    *effect = eff;
    return PAL_OK;
}

int pal_store_answer(pal_store_t *s, int64_t i, int64_t j,
                     pal_answer_t answer, pal_batch_t *deduced, int *effect)
{
    int rc, eff;

    if (!s)
        return PAL_E_NULL;
    if (!in_range(s, i) || !in_range(s, j))
        return PAL_E_INDEX;
    if ((unsigned)answer > (unsigned)PAL_ANSWER_UNSURE)
        return PAL_E_RANGE;

    rc = pal__store_record(s->kn, s->jn, (int32_t)i, (int32_t)j, (int)answer,
                           deduced, &eff);
    if (rc == PAL_OK && effect)
        *effect = eff;
    return rc;
}

int pal_store_answer_batch(pal_store_t *s, int64_t count, const int64_t *i,
                           const int64_t *j, const pal_answer_t *answers,
                           int *effects)
{
    int64_t different = 0;
    int rc;

    if (!s)
        return PAL_E_NULL;
    if (count < 0)
        return PAL_E_SIZE;
    if (count == 0)
        return PAL_OK;
    if (!i || !j || !answers)
        return PAL_E_NULL;
    if (PAL__MISALIGNED(i, int64_t) || PAL__MISALIGNED(j, int64_t) ||
        PAL__MISALIGNED(answers, pal_answer_t) ||
        PAL__MISALIGNED(effects, int))
        return PAL_E_ALIGN;

    /* Every entry is checked before anything changes, in order, so that
     * the code is the first bad entry's. */
    for (int64_t k = 0; k < count; k++) {
        if (!in_range(s, i[k]) || !in_range(s, j[k]))
            return PAL_E_INDEX;
        if ((unsigned)answers[k] > (unsigned)PAL_ANSWER_UNSURE)
            return PAL_E_RANGE;
        different += answers[k] == PAL_ANSWER_DIFFERENT;
    }

    /* The memory first, then the journal: once both are in hand,
     * recording the answers cannot fail. */
    rc = pal__kn_batch_reserve(s->kn, count, different);
    if (rc == PAL_OK && s->jn)
        rc = pal__jn_append_answers(s->jn, count, i, j, answers);
    if (rc != PAL_OK)
        return rc;
    pal__kn_answer_batch(s->kn, count, i, j, answers, effects);
    return PAL_OK;
}

int pal_store_relation(const pal_store_t *s, int64_t i, int64_t j,
                       pal_relation_t *out)
{
    if (!s || !out)
        return PAL_E_NULL;
    if (!in_range(s, i) || !in_range(s, j))
        return PAL_E_INDEX;
    *out = (pal_relation_t)pal__kn_relation(s->kn, (int32_t)i, (int32_t)j);
    return PAL_OK;
}

int pal_store_component(const pal_store_t *s, int64_t i, int64_t *root,
                        int64_t *size)
{
    int32_t r;

    if (!s)
        return PAL_E_NULL;
    if (!in_range(s, i))
        return PAL_E_INDEX;
    r = pal__kn_find(s->kn, (int32_t)i);
    if (root)
        *root = r;
    if (size)
        *size = pal__kn_size(s->kn, r);
    return PAL_OK;
}

int pal_store_stats(const pal_store_t *s, pal_store_stats_t *stats)
{
    const pal__kn_counts_t *c;
    pal_store_stats_t st;
    size_t size;

    if (!s || !stats)
        return PAL_E_NULL;
    size = stats->size;
    if (size < sizeof st)
        return PAL_E_SIZE;
    c = pal__kn_counts(s->kn);
    memset(&st, 0, sizeof st);
    st.size = size;
    st.answers = c->answers;
    st.same = c->same;
    st.different = c->different;
    st.unsure = c->unsure;
    st.conflicts = c->conflicts;
    st.redundant = c->redundant;
    st.components = c->components;
    st.different_pairs = c->different_pairs;
    st.known_pairs = c->known_pairs;
    st.complete =
        c->different_pairs == c->components * (c->components - 1) / 2;
    memcpy(stats, &st, sizeof st);
    return PAL_OK;
}

static const unsigned known_flags =
    PAL_STORE_SINGLETONS_UNKNOWN | PAL_STORE_CONTRASTIVE;

int pal_store_labels(const pal_store_t *s, unsigned flags, int32_t *labels,
                     int64_t *n_classes)
{
    int64_t nc;

    if (!s || !labels)
        return PAL_E_NULL;
    if (PAL__MISALIGNED(labels, int32_t))
        return PAL_E_ALIGN;
    if (flags & ~known_flags)
        return PAL_E_RANGE;
    nc = pal__kn_labels(s->kn, flags & PAL_STORE_SINGLETONS_UNKNOWN,
                        labels);
    if (n_classes)
        *n_classes = nc;
    return PAL_OK;
}

/*
 * The contrastive graph's class matrix: 1 on the diagonal and -1 between
 * classes known different. Components left without a class (singletons
 * when unknown) have no entries.
 */
static int graph_entries(const pal_store_t *s, const pal_allocator_t *a,
                         const int32_t *labels, int64_t nc, int64_t *count,
                         int32_t **ea, int32_t **eb, double **ew)
{
    int64_t d = pal__kn_counts(s->kn)->different_pairs;
    int64_t cap = nc + 2 * d, ne = 0;
    int32_t *ra = NULL, *rb = NULL;

    *ea = pal__alloc_array(a, (size_t)cap, sizeof **ea);
    *eb = pal__alloc_array(a, (size_t)cap, sizeof **eb);
    *ew = pal__alloc_array(a, (size_t)cap, sizeof **ew);
    if (d > 0) {
        ra = pal__alloc_array(a, (size_t)d, sizeof *ra);
        rb = pal__alloc_array(a, (size_t)d, sizeof *rb);
    }
    if (!*ea || !*eb || !*ew || (d > 0 && (!ra || !rb))) {
        pal__free(a, ra);
        pal__free(a, rb);
        return PAL_E_NOMEM;
    }
    for (int64_t c = 0; c < nc; c++) {
        (*ea)[ne] = (*eb)[ne] = (int32_t)c;
        (*ew)[ne++] = 1.0;
    }
    if (d > 0)
        pal__kn_apart_pairs(s->kn, ra, rb);
    for (int64_t p = 0; p < d; p++) {
        /* A root is one of its component's items, so its label is the
         * component's class. */
        int32_t la = labels[ra[p]], lb = labels[rb[p]];

        if (la < 0 || lb < 0)
            continue;
        (*ea)[ne] = la;
        (*eb)[ne] = lb;
        (*ew)[ne++] = -1.0;
        (*ea)[ne] = lb;
        (*eb)[ne] = la;
        (*ew)[ne++] = -1.0;
    }
    pal__free(a, ra);
    pal__free(a, rb);
    *count = ne;
    return PAL_OK;
}

int pal_store_graph(const pal_store_t *s, unsigned flags, pal_graph_t **out,
                    const pal_allocator_t *alloc)
{
    const int64_t n = s ? pal__kn_n(s->kn) : 0;
    bool contrastive = flags & PAL_STORE_CONTRASTIVE;
    pal_allocator_t a;
    int32_t *labels, *ea = NULL, *eb = NULL;
    double *ew = NULL;
    pal_graph_t *g = NULL;
    int64_t nc, ne = 0;
    int rc;

    if (!s || !out)
        return PAL_E_NULL;
    if (flags & ~known_flags)
        return PAL_E_RANGE;
    pal__allocator_init(&a, alloc);
    labels = pal__alloc_array(&a, (size_t)n, sizeof *labels);
    if (!labels)
        return PAL_E_NOMEM;
    nc = pal__kn_labels(s->kn, flags & PAL_STORE_SINGLETONS_UNKNOWN, labels);

    /* Without -1 entries the class matrix is the identity, which the
     * labels term represents without any entry list. */
    rc = PAL_OK;
    if (contrastive)
        rc = graph_entries(s, &a, labels, nc, &ne, &ea, &eb, &ew);
    if (rc == PAL_OK)
        rc = pal_graph_create(&g, n, &a);
    if (rc == PAL_OK)
        rc = contrastive
                 ? pal_graph_add_blocks(g, 1.0, labels, ne, ea, eb, ew)
                 : pal_graph_add_labels(g, 1.0, labels);
    if (rc == PAL_OK)
        *out = g;
    else
        pal_graph_destroy(g);
    pal__free(&a, labels);
    pal__free(&a, ea);
    pal__free(&a, eb);
    pal__free(&a, ew);
    return rc;
}

int pal_store_log_entry(const pal_store_t *s, int64_t k, int64_t *i,
                        int64_t *j, pal_answer_t *answer)
{
    int32_t a, b;
    int ans;

    if (!s)
        return PAL_E_NULL;
    if (k < 0 || k >= pal__kn_counts(s->kn)->answers)
        return PAL_E_INDEX;
    pal__kn_log_entry(s->kn, k, &a, &b, &ans);
    if (i)
        *i = a;
    if (j)
        *j = b;
    if (answer)
        *answer = (pal_answer_t)ans;
    return PAL_OK;
}

/* ---- Undo ---------------------------------------------------------------- */

enum { UNDO_CHUNK = 4096 };   /* answers replayed per batch */

int pal__kn_rebuild(const pal__kn_t *kn, int64_t keep,
                    const pal_allocator_t *alloc, pal__kn_t **out)
{
    pal__kn_t *fresh = NULL;
    int64_t *ij;
    pal_answer_t *ans;
    int rc;

    ij = pal__alloc_array(alloc, 2 * (size_t)UNDO_CHUNK, sizeof *ij);
    ans = pal__alloc_array(alloc, UNDO_CHUNK, sizeof *ans);
    rc = ij && ans ? pal__kn_create(&fresh, pal__kn_n(kn), alloc)
                   : PAL_E_NOMEM;
    for (int64_t at = 0; rc == PAL_OK && at < keep; at += UNDO_CHUNK) {
        const int64_t m = keep - at < UNDO_CHUNK ? keep - at : UNDO_CHUNK;
        int64_t different = 0;

        for (int64_t k = 0; k < m; k++) {
            int32_t a, b;
            int code;

            pal__kn_log_entry(kn, at + k, &a, &b, &code);
            ij[k] = a;
            ij[UNDO_CHUNK + k] = b;
            ans[k] = (pal_answer_t)code;
            different += code == PAL__KN_DIFFERENT;
        }
        rc = pal__kn_batch_reserve(fresh, m, different);
        if (rc == PAL_OK)
            pal__kn_answer_batch(fresh, m, ij, ij + UNDO_CHUNK, ans, NULL);
    }
    pal__free(alloc, ij);
    pal__free(alloc, ans);
    if (rc != PAL_OK) {
        pal__kn_destroy(fresh);
        return rc;
    }
    *out = fresh;
    return PAL_OK;
}

int pal__store_undo_record(pal__jn_t *jn, int64_t count)
{
    pal__jn_rec_t rec = {PAL__JN_UNDO, 0, count, 0, 0, NULL, NULL, NULL};

    return pal__jn_append(jn, &rec);
}

int pal_store_undo(pal_store_t *s, int64_t count)
{
    pal__kn_t *fresh;
    int64_t answers;
    int rc;

    if (!s)
        return PAL_E_NULL;
    answers = pal__kn_counts(s->kn)->answers;
    if (count < 0 || count > answers)
        return PAL_E_RANGE;
    if (count == 0)
        return PAL_OK;
    rc = pal__kn_rebuild(s->kn, answers - count, &s->alloc, &fresh);
    if (rc != PAL_OK)
        return rc;
    /* The undo reaches the journal before the store changes. */
    if (s->jn && (rc = pal__store_undo_record(s->jn, count)) != PAL_OK) {
        pal__kn_destroy(fresh);
        return rc;
    }
    pal__kn_destroy(s->kn);
    s->kn = fresh;
    return PAL_OK;
}
