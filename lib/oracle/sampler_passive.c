/*
 * The passive sampler (the paper's Algorithm 2, supervised): one pair
 * (i, j), i != j, uniform among the pairs whose relation is unknown.
 *
 * Random pairs are drawn and rejected while the unknown pairs are common.
 * When a few draws all miss, the pair is picked exactly: a component X
 * with probability proportional to |X| times the number of items of
 * unknown relation to it (every unknown pair is counted twice that way,
 * once from each side), then one of its members and one of those items.
 * That costs a pass over the items, and always ends.
 *
 * A pair answered unsure is remembered and not asked again, so that an
 * unsure person cannot hold the loop on one pair. When every unknown pair
 * has been answered unsure, nothing is left to ask: PAL_DONE. Finding the
 * last askable pairs among many unsure ones takes a pass over the unknown
 * pairs, which only a person unsure of nearly everything makes slow.
 */
#include "oracle_internal.h"

/* Draws tried before the exact pick. */
#define PASSIVE_TRIES 64

static void pose(pal_oracle_t *o, int64_t i, int64_t j)
{
    o->pending = true;
    o->anchor = i;
    o->cand[0] = j;
    o->m = 1;
    o->cls = -1;
}

/* ---- The unsure pairs ---------------------------------------------------- */

static uint64_t pair_key(int64_t i, int64_t j)
{
    uint64_t a = (uint64_t)(i < j ? i : j), b = (uint64_t)(i < j ? j : i);

    return (a << 32 | b) + 1;
}

static uint64_t slot_of(uint64_t key, int64_t cap)
{
    /* Fibonacci hashing: the top bits of key times 2^64 / phi. */
    return (key * 0x9e3779b97f4a7c15u) & (uint64_t)(cap - 1);
}

static bool is_unsure(const pal__passive_t *p, int64_t i, int64_t j)
{
    uint64_t key = pair_key(i, j), at;

    if (p->count == 0)
        return false;
    for (at = slot_of(key, p->cap);; at = (at + 1) & (uint64_t)(p->cap - 1)) {
        if (p->keys[at] == key)
            return true;
        if (p->keys[at] == 0)
            return false;
    }
}

static void insert(pal__passive_t *p, uint64_t key)
{
    uint64_t at = slot_of(key, p->cap);

    while (p->keys[at] != 0 && p->keys[at] != key)
        at = (at + 1) & (uint64_t)(p->cap - 1);
    if (p->keys[at] == 0) {
        p->keys[at] = key;
        p->count++;
    }
}

int pal__passive_reserve(pal_oracle_t *o, const pal_answer_t *answers)
{
    pal__passive_t *p = &o->pas_s, grown;
    int64_t need = p->count, cap = p->cap ? p->cap : 16;

    for (int64_t k = 0; k < o->m; k++)
        need += answers[k] == PAL_ANSWER_UNSURE;
    /* Keep the set at most half full, so that probes stay short. */
    while (2 * need > cap)
        cap *= 2;
    if (cap == p->cap)
        return PAL_OK;
    grown.keys = pal__calloc_array(&o->alloc, (size_t)cap,
                                   sizeof *grown.keys);
    if (!grown.keys)
        return PAL_E_NOMEM;
    grown.cap = cap;
    grown.count = 0;
    for (int64_t s = 0; s < p->cap; s++)
        if (p->keys[s] != 0)
            insert(&grown, p->keys[s]);
    pal__free(&o->alloc, p->keys);
    *p = grown;
    return PAL_OK;
}

void pal__passive_learn(pal_oracle_t *o, const pal_answer_t *answers)
{
    for (int64_t k = 0; k < o->m; k++)
        if (answers[k] == PAL_ANSWER_UNSURE)
            insert(&o->pas_s, pair_key(o->anchor, o->cand[k]));
}

void pal__passive_free(pal_oracle_t *o)
{
    pal__free(&o->alloc, o->pas_s.keys);
}

/* ---- Choosing a pair ----------------------------------------------------- */

static bool unknown_pair(pal__kn_t *kn, int64_t i, int64_t j)
{
    int32_t ri = pal__kn_find_mut(kn, (int32_t)i);
    int32_t rj = pal__kn_find_mut(kn, (int32_t)j);

    return ri != rj && !pal__kn_apart(kn, ri, rj);
}

/*
 * One of the unknown pairs, uniformly, by a pass over the items. The
 * counts are exact, so the walks always stop on a pair; the checks at
 * their ends only keep a broken invariant from reading out of bounds.
 */
static int exact_pick(pal_oracle_t *o, int64_t unknown, int64_t *pi,
                      int64_t *pj)
{
    pal__kn_t *kn = o->store->kn;
    const int64_t n = o->n;
    int64_t r, size = 1;
    int32_t root = 0, x, y;

    /* r splits into the component, then a member and a partner. */
    r = (int64_t)pal__rng_below(&o->rng, 2 * (uint64_t)unknown);
    for (root = 0; root < n; root++) {
        int64_t w;

        if (pal__kn_find_mut(kn, root) != root)
            continue;
        size = pal__kn_size(kn, root);
        w = size * (n - size - pal__kn_apart_items(kn, root));
        if (r < w)
            break;
        r -= w;
    }
    if (root == n)
        return PAL_DONE;

    x = root;
    for (int64_t k = r % size; k > 0; k--)
        x = pal__kn_next(kn, x);
    r /= size;
    for (y = 0; y < n; y++) {
        int32_t c = pal__kn_find_mut(kn, y);

        if (c != root && !pal__kn_apart(kn, root, c) && r-- == 0)
            break;
    }
    if (y == n)
        return PAL_DONE;
    *pi = x;
    *pj = y;
    return PAL_OK;
}

/*
 * The last resort when unsure pairs crowd the unknown ones: walk every
 * unknown pair i < j and keep one of the askable ones uniformly
 * (reservoir of one). PAL_DONE when there is none.
 */
static int scan_pick(pal_oracle_t *o)
{
    pal__kn_t *kn = o->store->kn;
    int64_t seen = 0, bi = -1, bj = -1;

    for (int64_t i = 0; i < o->n; i++) {
        for (int64_t j = i + 1; j < o->n; j++) {
            if (!unknown_pair(kn, i, j) || is_unsure(&o->pas_s, i, j))
                continue;
            if (pal__rng_below(&o->rng, (uint64_t)++seen) == 0) {
                bi = i;
                bj = j;
            }
        }
    }
    if (seen == 0)
        return PAL_DONE;
    pose(o, bi, bj);
    return PAL_OK;
}

int pal__passive_next(pal_oracle_t *o)
{
    pal__kn_t *kn = o->store->kn;
    const int64_t n = o->n;
    int64_t unknown = n * (n - 1) / 2 - pal__kn_counts(kn)->known_pairs;
    int64_t i, j;

    if (unknown <= 0)
        return PAL_DONE;
    for (int t = 0; t < PASSIVE_TRIES; t++) {
        i = (int64_t)pal__rng_below(&o->rng, (uint64_t)n);
        j = (int64_t)pal__rng_below(&o->rng, (uint64_t)n - 1);
        j += j >= i;
        if (unknown_pair(kn, i, j) && !is_unsure(&o->pas_s, i, j)) {
            pose(o, i, j);
            return PAL_OK;
        }
    }
    for (int t = 0; t < PASSIVE_TRIES; t++) {
        if (exact_pick(o, unknown, &i, &j) != PAL_OK)
            return PAL_DONE;
        if (!is_unsure(&o->pas_s, i, j)) {
            pose(o, i, j);
            return PAL_OK;
        }
    }
    return scan_pick(o);
}
