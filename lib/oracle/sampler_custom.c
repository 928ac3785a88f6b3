/*
 * The custom sampler: the host proposes each question through a
 * callback, and the oracle does the rest (checking it, asking it,
 * recording, counting, batches, the journal).
 *
 * A proposed question is checked before anyone sees it: items in range,
 * candidates distinct and other than the anchor. Candidates already
 * settled by the store are dropped rather than refused, since a host's
 * sampler cannot be expected to follow every deduction; a question with
 * nothing left to ask is refused.
 *
 * The journal records each question as asked, flagged as not drawn by
 * the oracle itself; a replay takes it as recorded, so the host's
 * sampler (which the journal cannot hold) is not needed to replay.
 */
#include "oracle_internal.h"

int pal__custom_adopt(pal_oracle_t *o, int64_t a, int64_t m,
                      const int64_t *cand, bool exact, int bad)
{
    const pal__kn_t *kn = o->store->kn;
    int64_t kept = 0;
    uint32_t g;

    if (a < 0 || a >= o->n || m < 1 || m > o->room)
        return bad;
    if (++o->cgen == 0) {
        memset(o->cmark, 0, (size_t)o->n * sizeof *o->cmark);
        o->cgen = 1;
    }
    g = o->cgen;
    o->cmark[a] = g;
    for (int64_t k = 0; k < m; k++) {
        if (cand[k] < 0 || cand[k] >= o->n || o->cmark[cand[k]] == g)
            return bad;
        o->cmark[cand[k]] = g;
    }

    /* Compacting in place is safe: kept never passes k. */
    for (int64_t k = 0; k < m; k++) {
        int64_t c = cand[k];

        if (pal__kn_relation(kn, (int32_t)a, (int32_t)c) !=
            PAL__KN_REL_UNKNOWN) {
            if (exact)
                return bad;
            continue;
        }
        o->cand[kept++] = c;
    }
    if (kept == 0)
        return bad;
    o->anchor = a;
    o->m = kept;
    o->cls = -1;
    o->pending = true;
    o->guided = true;
    return PAL_OK;
}

int pal__custom_next(pal_oracle_t *o)
{
    int64_t a = -1, m = 0;
    int rc;

    /* The host writes straight into the candidate array, which holds
     * nothing while no question is pending. */
    o->asking = true;
    rc = o->sampler(o->sampler_user, o->store, o->room, &a, &m, o->cand);
    o->asking = false;
    if (rc == 1)
        return PAL_DONE;
    if (rc != 0)
        return PAL_E_CALLBACK;
    return pal__custom_adopt(o, a, m, o->cand, false, PAL_E_CALLBACK);
}

int pal_oracle_set_sampler(pal_oracle_t *o, pal_sampler_fn fn, void *user)
{
    if (!o)
        return PAL_E_NULL;
    if (o->opts.sampler != PAL_SAMPLER_CUSTOM || o->asking)
        return PAL_E_STATE;
    o->sampler = fn;
    o->sampler_user = user;
    return PAL_OK;
}
