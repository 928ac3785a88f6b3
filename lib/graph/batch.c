/*
 * Pair batches: the I and J lists of the pairwise loss, with an optional
 * cap that keeps a uniform sample (reservoir sampling, Vitter's
 * algorithm R) of everything offered since the last clear.
 */
#include "graph_internal.h"

typedef struct pal__list {
    int64_t *i, *j;
    double *g;        /* weights; NULL for the J list */
    int64_t count, cap;
    int64_t offered;  /* additions since the last clear */

    /* Transaction state: the entries a reservoir replacement overwrote,
     * by slot, so that a rollback can put them back. */
    int64_t *old_i, *old_j;
    double *old_g;
    int64_t *touched;   /* slots overwritten in this transaction */
    uint32_t *stamp;    /* stamp[slot] == gen: slot already saved */
    int64_t ntouched, undo_cap;
    int64_t saved_count, saved_offered;
} pal__list_t;

struct pal_batch {
    pal_allocator_t alloc;
    pal__list_t pairs, regs;
    int64_t limit;    /* 0 = none */
    pal__rng_t rng;
    pal__rng_t saved_rng;
    bool in_tx;
    uint32_t gen;
};

int pal_batch_create(pal_batch_t **out, const pal_allocator_t *alloc)
{
    pal_allocator_t a;
    pal_batch_t *b;

    if (!out)
        return PAL_E_NULL;
    pal__allocator_init(&a, alloc);
    b = pal__alloc(&a, sizeof *b);
    if (!b)
        return PAL_E_NOMEM;
    memset(b, 0, sizeof *b);
    b->alloc = a;
    pal__rng_seed(&b->rng, 0);
    *out = b;
    return PAL_OK;
}

static void list_free(const pal_allocator_t *a, pal__list_t *l)
{
    pal__free(a, l->i);
    pal__free(a, l->j);
    pal__free(a, l->g);
}

static void undo_free(const pal_allocator_t *a, pal__list_t *l)
{
    pal__free(a, l->old_i);
    pal__free(a, l->old_j);
    pal__free(a, l->old_g);
    pal__free(a, l->touched);
    pal__free(a, l->stamp);
    l->old_i = l->old_j = l->touched = NULL;
    l->old_g = NULL;
    l->stamp = NULL;
    l->undo_cap = 0;
}

void pal_batch_destroy(pal_batch_t *b)
{
    if (!b)
        return;
    list_free(&b->alloc, &b->pairs);
    list_free(&b->alloc, &b->regs);
    undo_free(&b->alloc, &b->pairs);
    undo_free(&b->alloc, &b->regs);
    pal__free(&b->alloc, b);
}

void pal_batch_clear(pal_batch_t *b)
{
    if (!b)
        return;
    b->pairs.count = b->pairs.offered = 0;
    b->regs.count = b->regs.offered = 0;
}

int pal_batch_set_limit(pal_batch_t *b, int64_t max_pairs, uint64_t seed)
{
    if (!b)
        return PAL_E_NULL;
    if (max_pairs < 0)
        return PAL_E_SIZE;
    b->limit = max_pairs;
    pal__rng_seed(&b->rng, seed);
    return PAL_OK;
}

/* Grow a list to hold one more entry; the list is unchanged on failure. */
static int list_grow(const pal_allocator_t *a, pal__list_t *l, bool weights)
{
    int64_t cap = l->cap ? 2 * l->cap : 64;
    int64_t *ni, *nj;
    double *ng = NULL;

    ni = pal__alloc_array(a, (size_t)cap, sizeof *ni);
    nj = pal__alloc_array(a, (size_t)cap, sizeof *nj);
    if (weights)
        ng = pal__alloc_array(a, (size_t)cap, sizeof *ng);
    if (!ni || !nj || (weights && !ng)) {
        pal__free(a, ni);
        pal__free(a, nj);
        pal__free(a, ng);
        return PAL_E_NOMEM;
    }
    if (l->count) {
        memcpy(ni, l->i, (size_t)l->count * sizeof *ni);
        memcpy(nj, l->j, (size_t)l->count * sizeof *nj);
        if (weights)
            memcpy(ng, l->g, (size_t)l->count * sizeof *ng);
    }
    list_free(a, l);
    l->i = ni;
    l->j = nj;
    l->g = ng;
    l->cap = cap;
    return PAL_OK;
}

static int list_add(pal_batch_t *b, pal__list_t *l, bool weights, int64_t i,
                    int64_t j, double g)
{
    int64_t at;

    if (i < 0 || j < 0)
        return PAL_E_INDEX;
    if (weights && g - g != 0.0)
        return PAL_E_NONFINITE;
    if (b->limit > 0 && l->count >= b->limit) {
        /* Full: the new pair replaces a random kept one with probability
         * limit / (offered + 1), which keeps the sample uniform. */
        uint64_t r = pal__rng_below(&b->rng, (uint64_t)l->offered + 1);

        l->offered++;
        if (r >= (uint64_t)b->limit)
            return PAL_OK;
        at = (int64_t)r;
        if (b->in_tx && l->stamp[at] != b->gen) {
            l->stamp[at] = b->gen;
            l->touched[l->ntouched++] = at;
            l->old_i[at] = l->i[at];
            l->old_j[at] = l->j[at];
            if (weights)
                l->old_g[at] = l->g[at];
        }
    } else {
        if (l->count == l->cap) {
            int rc = list_grow(&b->alloc, l, weights);

            if (rc != PAL_OK)
                return rc;
        }
        at = l->count++;
        l->offered++;
    }
    l->i[at] = i;
    l->j[at] = j;
    if (weights)
        l->g[at] = g;
    return PAL_OK;
}

int pal_batch_reserve(pal_batch_t *b, int64_t n_pairs, int64_t n_regs)
{
    pal__list_t *l[2];
    int64_t want[2];

    if (!b)
        return PAL_E_NULL;
    if (n_pairs < 0 || n_regs < 0)
        return PAL_E_SIZE;
    l[0] = &b->pairs;
    l[1] = &b->regs;
    want[0] = n_pairs;
    want[1] = n_regs;
    /* Each growth copies into a new block before freeing the old one, so
     * a failure leaves the lists' contents as they were (a list already
     * grown keeps its larger capacity, which changes nothing visible). */
    for (int k = 0; k < 2; k++) {
        int64_t need;

        /* Test before adding: a signed overflow has no defined result. */
        if (want[k] > INT64_MAX - l[k]->count)
            return PAL_E_SIZE;
        need = l[k]->count + want[k];
        if (b->limit > 0 && need > b->limit)
            need = b->limit;
        while (l[k]->cap < need) {
            pal__list_t tmp = *l[k];
            int rc;

            tmp.cap = need > 2 * l[k]->cap ? need / 2 : l[k]->cap;
            rc = list_grow(&b->alloc, &tmp, k == 0);
            if (rc != PAL_OK)
                return rc;
            *l[k] = tmp;
        }
    }
    return PAL_OK;
}

/* Undo storage for a transaction: one saved entry per kept slot. */
static int undo_reserve(const pal_allocator_t *a, pal__list_t *l,
                        int64_t limit, bool weights)
{
    pal__list_t tmp = {0};

    if (l->undo_cap >= limit)
        return PAL_OK;
    tmp.old_i = pal__alloc_array(a, (size_t)limit, sizeof *tmp.old_i);
    tmp.old_j = pal__alloc_array(a, (size_t)limit, sizeof *tmp.old_j);
    tmp.old_g = weights ? pal__alloc_array(a, (size_t)limit,
                                           sizeof *tmp.old_g)
                        : NULL;
    tmp.touched = pal__alloc_array(a, (size_t)limit, sizeof *tmp.touched);
    tmp.stamp = pal__calloc_array(a, (size_t)limit, sizeof *tmp.stamp);
    if (!tmp.old_i || !tmp.old_j || (weights && !tmp.old_g) ||
        !tmp.touched || !tmp.stamp) {
        undo_free(a, &tmp);
        return PAL_E_NOMEM;
    }
    undo_free(a, l);
    l->old_i = tmp.old_i;
    l->old_j = tmp.old_j;
    l->old_g = tmp.old_g;
    l->touched = tmp.touched;
    l->stamp = tmp.stamp;
    l->undo_cap = limit;
    return PAL_OK;
}

int pal__batch_begin(pal_batch_t *b)
{
    pal__list_t *l[2] = {&b->pairs, &b->regs};

    if (b->limit > 0) {
        int rc = undo_reserve(&b->alloc, &b->pairs, b->limit, true);

        if (rc == PAL_OK)
            rc = undo_reserve(&b->alloc, &b->regs, b->limit, false);
        if (rc != PAL_OK)
            return rc;
    }
    /* A new generation makes every old stamp stale; on wrap-around the
     * stamps are cleared so that none is mistaken for current. */
    if (++b->gen == 0) {
        for (int k = 0; k < 2; k++)
            if (l[k]->stamp)
                memset(l[k]->stamp, 0,
                       (size_t)l[k]->undo_cap * sizeof *l[k]->stamp);
        b->gen = 1;
    }
    for (int k = 0; k < 2; k++) {
        l[k]->ntouched = 0;
        l[k]->saved_count = l[k]->count;
        l[k]->saved_offered = l[k]->offered;
    }
    b->saved_rng = b->rng;
    b->in_tx = true;
    return PAL_OK;
}

void pal__batch_rollback(pal_batch_t *b)
{
    pal__list_t *l[2] = {&b->pairs, &b->regs};

    for (int k = 0; k < 2; k++) {
        for (int64_t t = 0; t < l[k]->ntouched; t++) {
            int64_t at = l[k]->touched[t];

            l[k]->i[at] = l[k]->old_i[at];
            l[k]->j[at] = l[k]->old_j[at];
            if (l[k]->g)
                l[k]->g[at] = l[k]->old_g[at];
        }
        l[k]->count = l[k]->saved_count;
        l[k]->offered = l[k]->saved_offered;
    }
    b->rng = b->saved_rng;
    b->in_tx = false;
}

void pal__batch_commit(pal_batch_t *b)
{
    b->in_tx = false;
}

int pal_batch_add_pair(pal_batch_t *b, int64_t i, int64_t j, double g)
{
    if (!b)
        return PAL_E_NULL;
    return list_add(b, &b->pairs, true, i, j, g);
}

int pal_batch_add_reg(pal_batch_t *b, int64_t i, int64_t j)
{
    if (!b)
        return PAL_E_NULL;
    return list_add(b, &b->regs, false, i, j, 0.0);
}

int64_t pal_batch_n_pairs(const pal_batch_t *b)
{
    return b ? b->pairs.count : -1;
}

int64_t pal_batch_n_reg(const pal_batch_t *b)
{
    return b ? b->regs.count : -1;
}

int64_t pal_batch_n_offered_pairs(const pal_batch_t *b)
{
    return b ? b->pairs.offered : -1;
}

int64_t pal_batch_n_offered_reg(const pal_batch_t *b)
{
    return b ? b->regs.offered : -1;
}

int pal_batch_pairs(const pal_batch_t *b, const int64_t **i,
                    const int64_t **j, const double **g, int64_t *count)
{
    if (!b)
        return PAL_E_NULL;
    if (i)
        *i = b->pairs.i;
    if (j)
        *j = b->pairs.j;
    if (g)
        *g = b->pairs.g;
    if (count)
        *count = b->pairs.count;
    return PAL_OK;
}

int pal_batch_regs(const pal_batch_t *b, const int64_t **i,
                   const int64_t **j, int64_t *count)
{
    if (!b)
        return PAL_E_NULL;
    if (i)
        *i = b->regs.i;
    if (j)
        *j = b->regs.j;
    if (count)
        *count = b->regs.count;
    return PAL_OK;
}
