/*
 * The SSL sampler (the paper's Algorithm 2, self-supervised): positives
 * are the views of one source sample, known by construction, so no
 * question is ever asked.
 *
 * Each step takes the next source sample of a seeded random order,
 * reshuffled after every epoch, and records its views as the same in the
 * store (the first time only: later epochs know it already). Its batch
 * gets every pair of those views in I, at every epoch, since SSL training
 * shows its positives again each epoch, and J follows the reg mode.
 */
#include "oracle_internal.h"

static void shuffle(pal_oracle_t *o)
{
    pal__ssl_t *s = &o->ssl;

    for (int64_t i = s->nsamples - 1; i > 0; i--) {
        int64_t k = (int64_t)pal__rng_below(&o->rng, (uint64_t)i + 1);
        int32_t t = s->order[i];

        s->order[i] = s->order[k];
        s->order[k] = t;
    }
}

int pal__ssl_init(pal_oracle_t *o, const int64_t *source)
{
    pal__ssl_t *s = &o->ssl;
    const int64_t n = o->n, views = o->opts.views;

    /* Items grouped by source value, as CSR: start is indexed by value,
     * and order lists the values that have items. */
    s->start = pal__calloc_array(&o->alloc, (size_t)n + 1, sizeof *s->start);
    s->items = pal__alloc_array(&o->alloc, (size_t)n, sizeof *s->items);
    s->order = pal__alloc_array(&o->alloc, (size_t)n, sizeof *s->order);
    if (!s->start || !s->items || !s->order)
        return PAL_E_NOMEM;
    for (int64_t i = 0; i < n; i++)
        s->start[(source ? source[i] : i / views) + 1]++;
    for (int64_t v = 0; v < n; v++) {
        if (s->start[v + 1] > 0)
            s->order[s->nsamples++] = (int32_t)v;
        s->start[v + 1] += s->start[v];
    }
    for (int64_t i = 0; i < n; i++)
        s->items[s->start[source ? source[i] : i / views]++] = (int32_t)i;
    for (int64_t v = n; v > 0; v--)
        s->start[v] = s->start[v - 1];
    s->start[0] = 0;

    shuffle(o);
    s->pos = 0;
    return PAL_OK;
}

void pal__ssl_free(pal_oracle_t *o)
{
    pal__free(&o->alloc, o->ssl.start);
    pal__free(&o->alloc, o->ssl.items);
    pal__free(&o->alloc, o->ssl.order);
}

/* The pairs of views for the batch: all of them in I, and in J too for
 * PAL_REG_SAME. */
static int view_pairs(pal_oracle_t *o, pal_batch_t *batch,
                      const int32_t *items, int64_t k)
{
    for (int64_t a = 0; a < k; a++) {
        for (int64_t b = a + 1; b < k; b++) {
            int64_t i = items[a] < items[b] ? items[a] : items[b];
            int64_t j = items[a] < items[b] ? items[b] : items[a];
            int rc = pal_batch_add_pair(batch, i, j, 1.0);

            if (rc == PAL_OK && o->reg_mode == PAL_REG_SAME)
                rc = pal_batch_add_reg(batch, i, j);
            if (rc != PAL_OK)
                return rc;
        }
    }
    return PAL_OK;
}

int pal__ssl_step(pal_oracle_t *o, pal_batch_t *batch, bool regs)
{
    pal__ssl_t *s = &o->ssl;
    pal__kn_t *kn = o->store->kn;
    pal__rng_t reg_rng = o->reg_rng;
    int32_t v = s->order[s->pos];
    const int32_t *items = s->items + s->start[v];
    int64_t k = s->start[v + 1] - s->start[v];
    int rc = PAL_OK, eff;

    if (batch) {
        rc = pal__batch_begin(batch);
        if (rc != PAL_OK)
            return rc;
    }
    pal__kn_begin(kn);
    for (int64_t t = 1; t < k && rc == PAL_OK; t++)
        if (pal__kn_relation(kn, items[0], items[t]) != PAL__KN_REL_SAME)
            rc = pal__kn_answer(kn, items[0], items[t], PAL__KN_SAME, NULL,
                                NULL, &eff);
    if (rc == PAL_OK && batch)
        rc = view_pairs(o, batch, items, k);
    if (rc == PAL_OK && regs)
        rc = pal__oracle_regs(o, batch);
    if (rc == PAL_OK)
        rc = pal__oracle_log(o, PAL__JN_SSL, regs, NULL);
    if (rc != PAL_OK) {
        pal__kn_rollback(kn);
        if (batch)
            pal__batch_rollback(batch);
        o->reg_rng = reg_rng;
        return rc;
    }
    pal__kn_commit(kn);
    if (batch)
        pal__batch_commit(batch);

    o->costs.steps++;
    o->started = true;
    if (++s->pos == s->nsamples) {
        shuffle(o);
        s->pos = 0;
    }
    return PAL_OK;
}
