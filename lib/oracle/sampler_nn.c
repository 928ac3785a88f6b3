/*
 * The nearest-neighbour sampler (the paper's Algorithm 4, as in NNCLR):
 * the positive of an anchor is its nearest neighbour in the host's
 * current embedding, searched in a support queue of the last anchors or
 * in the whole set.
 *
 * Nobody is asked, and the pair is a guess of the embedding, not
 * knowledge: it goes to the step's batch only, so the store keeps holding
 * answers alone and its deductions are never built on a guess.
 *
 * The queue holds item indices, so distances always use the embedding
 * the host handed in last (NNCLR keeps the embeddings of the step that
 * enqueued them; here a stale row would be the host's to keep).
 */
#include <math.h>

#include "oracle_internal.h"

static void shuffle(pal_oracle_t *o)
{
    pal__nn_t *s = &o->nn;

    for (int64_t i = o->n - 1; i > 0; i--) {
        int64_t k = (int64_t)pal__rng_below(&o->rng, (uint64_t)i + 1);
        int32_t t = s->order[i];

        s->order[i] = s->order[k];
        s->order[k] = t;
    }
}

int pal__nn_init(pal_oracle_t *o)
{
    pal__nn_t *s = &o->nn;
    int64_t q = o->opts.nn_queue < o->n ? o->opts.nn_queue : o->n;

    s->order = pal__alloc_array(&o->alloc, (size_t)o->n, sizeof *s->order);
    if (!s->order)
        return PAL_E_NOMEM;
    if (q > 0) {
        s->queue = pal__alloc_array(&o->alloc, (size_t)q, sizeof *s->queue);
        if (!s->queue)
            return PAL_E_NOMEM;
    }
    s->qcap = q;
    for (int64_t i = 0; i < o->n; i++)
        s->order[i] = (int32_t)i;
    shuffle(o);
    return PAL_OK;
}

void pal__nn_free(pal_oracle_t *o)
{
    pal__free(&o->alloc, o->nn.order);
    pal__free(&o->alloc, o->nn.queue);
}

/* How far b is from a: smaller is nearer (minus the cosine similarity
 * for PAL_NN_COSINE). */
static double far(const pal_oracle_t *o, int32_t a, int32_t b)
{
    const pal__guide_t *g = &o->guide;
    const double *u, *w;
    double uw = 0.0, uu = 0.0, ww = 0.0;

    if (o->opts.nn_metric == PAL_NN_EUCLIDEAN)
        return pal__guide_dist(g, a, b);
    u = g->v + (size_t)a * (size_t)g->k;
    w = g->v + (size_t)b * (size_t)g->k;
    for (int64_t j = 0; j < g->k; j++) {
        uw += u[j] * w[j];
        uu += u[j] * u[j];
        ww += w[j] * w[j];
    }
    if (uu == 0.0 || ww == 0.0)
        return 0.0;
    return -uw / (sqrt(uu) * sqrt(ww));
}

/* The nearest item to a among the queue (or all items), never a itself;
 * -1 when there is none. Ties go to the smallest index. */
static int32_t nearest(const pal_oracle_t *o, int32_t a)
{
    const pal__nn_t *s = &o->nn;
    int64_t count = s->qcap > 0 ? s->qlen : o->n;
    int32_t best = -1;
    double bd = HUGE_VAL;

    for (int64_t t = 0; t < count; t++) {
        int32_t b = s->qcap > 0 ? s->queue[t] : (int32_t)t;
        double d;

        if (b == a)
            continue;
        d = far(o, a, b);
        if (best < 0 || d < bd || (d == bd && b < best)) {
            best = b;
            bd = d;
        }
    }
    return best;
}

int pal__nn_step(pal_oracle_t *o, pal_batch_t *batch, bool regs)
{
    pal__nn_t *s = &o->nn;
    pal__rng_t reg_rng = o->reg_rng;
    int32_t a, b;
    int rc = PAL_OK;

    if (o->guide.kind != PAL__GUIDE_EMBEDDING)
        return PAL_E_STATE;
    a = s->order[s->pos];
    b = nearest(o, a);
    if (batch) {
        rc = pal__batch_begin(batch);
        if (rc != PAL_OK)
            return rc;
    }
    if (batch && b >= 0) {
        int64_t i = a < b ? a : b, j = a < b ? b : a;

        rc = pal_batch_add_pair(batch, i, j, 1.0);
        if (rc == PAL_OK && o->reg_mode == PAL_REG_SAME)
            rc = pal_batch_add_reg(batch, i, j);
    }
    if (rc == PAL_OK && regs)
        rc = pal__oracle_regs(o, batch);
    if (rc != PAL_OK) {
        if (batch)
            pal__batch_rollback(batch);
        o->reg_rng = reg_rng;
        return rc;
    }
    if (batch)
        pal__batch_commit(batch);

    /* The anchor becomes the newest entry of the queue: moved there if
     * it is in it already (so the queue holds distinct items), else
     * pushing out the oldest when the queue is full. */
    if (s->qcap > 0) {
        int64_t at = 0;

        while (at < s->qlen && s->queue[at] != a)
            at++;
        if (at == s->qlen && s->qlen == s->qcap)
            at = 0;
        else if (at == s->qlen)
            s->qlen++;
        memmove(s->queue + at, s->queue + at + 1,
                (size_t)(s->qlen - 1 - at) * sizeof *s->queue);
        s->queue[s->qlen - 1] = a;
    }
    o->costs.steps++;
    o->started = true;
    if (++s->pos == o->n) {
        shuffle(o);
        s->pos = 0;
    }
    return PAL_OK;
}
