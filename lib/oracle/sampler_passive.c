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

/*
 * One of the unknown pairs, uniformly, by a pass over the items. The
 * counts are exact, so the walks always stop on a pair; the checks at
 * their ends only keep a broken invariant from reading out of bounds.
 */
static int exact_pick(pal_oracle_t *o, int64_t unknown)
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
    pose(o, x, y);
    return PAL_OK;
}

int pal__passive_next(pal_oracle_t *o)
{
    pal__kn_t *kn = o->store->kn;
    const int64_t n = o->n;
    int64_t unknown = n * (n - 1) / 2 - pal__kn_counts(kn)->known_pairs;

    if (unknown <= 0)
        return PAL_DONE;
    for (int t = 0; t < PASSIVE_TRIES; t++) {
        int64_t i = (int64_t)pal__rng_below(&o->rng, (uint64_t)n);
        int64_t j = (int64_t)pal__rng_below(&o->rng, (uint64_t)n - 1);
        int32_t ri, rj;

        j += j >= i;
        ri = pal__kn_find_mut(kn, (int32_t)i);
        rj = pal__kn_find_mut(kn, (int32_t)j);
        if (ri != rj && !pal__kn_apart(kn, ri, rj)) {
            pose(o, i, j);
            return PAL_OK;
        }
    }
    return exact_pick(o, unknown);
}
