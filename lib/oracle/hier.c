/*
 * The coarse level of a two-level oracle (levels = 2): first "which
 * group is it in?", then "which class of that group?".
 *
 * With guidance, an item's first question is a guess: its most likely
 * class, whatever its group; "same" settles its group too (recorded in
 * the coarse store as a deduction), and after "different" it goes on
 * coarse to fine, the guess counting as a rejection only if it was of
 * the item's group. Without guidance, or after the guess, an item of
 * unknown group is asked against the template of the group it most
 * likely belongs to (the group of its most likely class under
 * the guidance, or else the group with the largest prior or the most
 * known items), then the next, until an answer "same" or until every
 * group has rejected it: it then founds a group, and a class in it. An
 * item of known group is asked only against the classes of its group,
 * and founds a class of its group when all of them reject it. Groups
 * are known different, so their classes are too: the fine store records
 * that for each class founded (its founder against the classes of the
 * other groups), so that it knows every relation once every item has
 * its class. Coarse answers go to a store of their own; the coarse
 * bookkeeping (rejections, unsure lists) mirrors the classes' one.
 */
#include "oracle_internal.h"

int pal__hier_init(pal_oracle_t *o)
{
    pal__hier_t *h = &o->hier;
    const size_t n = (size_t)o->n;
    int64_t t = o->cap_s.templates[0];
    int rc;

    rc = pal_store_create(&h->top, o->n, &o->alloc);
    if (rc != PAL_OK)
        return rc;
    h->gtmpl = pal__alloc_array(&o->alloc, 2 * n, sizeof *h->gtmpl);
    h->grp_of = pal__alloc_array(&o->alloc, 5 * n, sizeof *h->grp_of);
    if (!h->gtmpl || !h->grp_of)
        return PAL_E_NOMEM;
    /* The captcha's screens are ranked in the guidance's arrays. */
    if (o->opts.sampler == PAL_SAMPLER_CAPTCHA &&
        pal__guide_room(o) != PAL_OK)
        return PAL_E_NOMEM;
    h->gcount = h->gtmpl + n;
    h->grp_cls = h->grp_of + n;
    h->grej = h->grp_of + 2 * n;
    h->uhead = h->grp_of + 3 * n;
    h->guess = h->grp_of + 4 * n;
    for (size_t i = 0; i < n; i++) {
        h->grp_of[i] = -1;
        h->grej[i] = 0;
        h->uhead[i] = -1;
        h->guess[i] = -1;
    }
    /* The first class's template founds the first group. */
    h->gtmpl[0] = t;
    h->gcount[0] = 1;
    h->grp_of[t] = 0;
    h->grp_cls[0] = 0;
    h->ngroups = 1;
    h->found = -1;
    return PAL_OK;
}

void pal__hier_free(pal_oracle_t *o)
{
    pal__hier_t *h = &o->hier;

    pal_store_destroy(h->top);
    pal__free(&o->alloc, h->gtmpl);
    pal__free(&o->alloc, h->grp_of);
    pal__free(&o->alloc, h->ugrp);
    pal__free(&o->alloc, h->unext);
}

int64_t pal__hier_avail(const pal_oracle_t *o, int32_t x)
{
    const pal__hier_t *h = &o->hier;

    if (!h->top)
        return o->cap_s.nclasses;
    return h->grp_of[x] >= 0 ? h->gcount[h->grp_of[x]] : 0;
}

bool pal__hier_in_group(const pal_oracle_t *o, int32_t x, int64_t cls)
{
    const pal__hier_t *h = &o->hier;

    return !h->top || (h->grp_of[x] >= 0 && h->grp_of[x] == h->grp_cls[cls]);
}

bool pal__hier_open(const pal_oracle_t *o, int32_t x)
{
    const pal__hier_t *h = &o->hier;
    int64_t k;

    if (!h->top || h->grp_of[x] >= 0)
        return false;
    k = h->grej[x];
    for (int32_t e = h->uhead[x]; e >= 0; e = h->unext[e])
        k++;
    return k < h->ngroups;
}

bool pal__hier_guess_ok(const pal_oracle_t *o, int32_t x)
{
    const pal__hier_t *h = &o->hier;

    return h->top && o->opts.sampler == PAL_SAMPLER_ITEM &&
           h->grp_of[x] < 0 && o->cap_s.cls_of[x] < 0 &&
           pal__item_progress(o, x) == 0 && h->uhead[x] < 0 &&
           o->cap_s.unsure_head[x] < 0;
}

int pal__hier_guessed(pal_oracle_t *o, const pal_answer_t *answers)
{
    pal__hier_t *h = &o->hier;

    for (int64_t k = 0; h->top && !h->coarse && k < o->m; k++) {
        int32_t x = (int32_t)o->cand[k];
        int effect, rc;

        if (h->grp_of[x] >= 0 || answers[k] != PAL_ANSWER_SAME ||
            o->effects[k] != PAL__KN_NEW)
            continue;
        rc = pal__kn_answer(h->top->kn,
                            (int32_t)h->gtmpl[h->grp_cls[o->cls]], x,
                            PAL__KN_SAME, NULL, NULL, &effect);
        if (rc != PAL_OK)
            return rc;
    }
    return PAL_OK;
}

bool pal__hier_askable(pal_oracle_t *o, int32_t x, int64_t g)
{
    pal__hier_t *h = &o->hier;
    pal__kn_t *kn = h->top->kn;
    int32_t rx, rg;

    if (h->grp_of[x] >= 0)
        return false;
    rx = pal__kn_find_mut(kn, x);
    rg = pal__kn_find_mut(kn, (int32_t)h->gtmpl[g]);
    if (rx == rg || pal__kn_apart(kn, rx, rg))
        return false;
    return !pal__unsure_has(h->ugrp, h->unext, h->uhead[x], g);
}

bool pal__guide_may(pal_oracle_t *o, int32_t x, int32_t root, int64_t q)
{
    const pal__hier_t *h = &o->hier;

    if (!h->top || h->grp_of[x] >= 0)
        return pal__captcha_askable(o, x, root, q);
    return pal__hier_askable(o, x, h->grp_cls[q]);
}

/* Without guidance: the askable group whose classes have the largest
 * priors in all, or else the most known members; ties go to the oldest. */
static int64_t fallback_group(pal_oracle_t *o, int32_t x)
{
    const pal__hier_t *h = &o->hier;
    const pal__captcha_t *c = &o->cap_s;
    pal__kn_t *kn = o->store->kn;
    int64_t best = -1;
    double best_w = 0.0;

    for (int64_t g = 0; g < h->ngroups; g++) {
        double w = 0.0;

        if (!pal__hier_askable(o, x, g))
            continue;
        for (int64_t q = 0; q < c->nclasses; q++) {
            if (h->grp_cls[q] != g)
                continue;
            w += o->guide.npriors > 0
                     ? pal__guide_prior(&o->guide, q)
                     : (double)pal__kn_size(
                           kn, pal__kn_find_mut(kn, (int32_t)c->templates[q]));
        }
        if (best < 0 || w > best_w) {
            best = g;
            best_w = w;
        }
    }
    return best;
}

int pal__hier_ask(pal_oracle_t *o, int32_t x)
{
    pal__hier_t *h = &o->hier;
    int64_t g = -1;

    if (pal__guide_on(o)) {
        double key;
        int32_t q = pal__guide_likely(o, x, &key);

        if (q >= 0)
            g = h->grp_cls[q];
    }
    if (g < 0)
        g = fallback_group(o, x);
    if (g < 0)
        return PAL_DONE;   /* not reached: x is open */
    o->pending = true;
    o->guided = pal__guide_on(o);
    h->coarse = true;
    o->anchor = h->gtmpl[g];
    o->cls = g;
    o->cand[0] = x;
    o->m = 1;
    return PAL_OK;
}

int pal__hier_reserve(pal_oracle_t *o, const pal_answer_t *answers)
{
    pal__hier_t *h = &o->hier;

    return pal__unsure_reserve(o, answers, h->nunsure, &h->ucap, &h->ugrp,
                               &h->unext);
}

int pal__hier_apart(pal_oracle_t *o, int32_t x, int64_t g,
                    pal__kn_emit_fn emit, void *ctx)
{
    const pal__hier_t *h = &o->hier;
    const pal__captcha_t *c = &o->cap_s;

    for (int64_t q = 0; q < c->nclasses; q++) {
        int effect, rc;

        if (h->grp_cls[q] == g)
            continue;
        rc = pal__kn_answer(o->store->kn, (int32_t)c->templates[q], x,
                            PAL__KN_DIFFERENT, emit, ctx, &effect);
        if (rc != PAL_OK)
            return rc;
        o->hier.implied++;
    }
    return PAL_OK;
}

int pal__hier_settle(pal_oracle_t *o, const pal_answer_t *answers,
                     pal__kn_emit_fn emit, void *ctx)
{
    pal__hier_t *h = &o->hier;

    const int64_t g = o->cls;
    int rc;

    h->found = h->found_cls = -1;
    for (int64_t k = 0; k < o->m; k++) {
        int32_t x = (int32_t)o->cand[k];

        if (o->effects[k] != PAL__KN_NEW)
            continue;
        if (answers[k] == PAL_ANSWER_DIFFERENT && h->found < 0 &&
            h->grej[x] + 1 == h->ngroups)
            h->found = x;
        /* In g now, and already rejected by g's one class (its guess):
         * it founds a class of g. */
        if (answers[k] == PAL_ANSWER_SAME && h->found_cls < 0 &&
            h->guess[x] >= 0 && h->grp_cls[h->guess[x]] == g &&
            h->gcount[g] == 1) {
            h->found_cls = x;
            rc = pal__hier_apart(o, x, g, emit, ctx);
            if (rc != PAL_OK)
                return rc;
        }
    }
    if (h->found < 0)
        return PAL_OK;
    /* Its class is in a new group: apart from every class there is. */
    return pal__hier_apart(o, (int32_t)h->found, -1, emit, ctx);
}

/* The guidance's nearest class for x, if it lay in group g, is no
 * longer one x may belong to. */
static void guide_drop(pal_oracle_t *o, int32_t x, int64_t g)
{
    const pal__guide_t *gd = &o->guide;

    if (gd->kind == PAL__GUIDE_EMBEDDING && gd->valid &&
        (g < 0 || (gd->best_cls[x] >= 0 &&
                   o->hier.grp_cls[gd->best_cls[x]] == g)))
        pal__guide_recheck(o, x);
}

/* x founds the next class, in its group (known by now). */
static void found_class(pal_oracle_t *o, int32_t x)
{
    const int64_t q = o->cap_s.nclasses;

    pal__captcha_add_class(o, x);
    if (o->guide.kind == PAL__GUIDE_EMBEDDING && o->guide.valid)
        pal__guide_join(o, x, q);
}

void pal__hier_learn(pal_oracle_t *o, const pal_answer_t *answers)
{
    pal__hier_t *h = &o->hier;
    const int64_t g = o->cls;

    for (int64_t k = 0; k < o->m; k++) {
        int32_t x = (int32_t)o->cand[k];

        if (answers[k] == PAL_ANSWER_UNSURE) {
            pal__unsure_push(h->ugrp, h->unext, h->uhead, &h->nunsure, x, g);
            guide_drop(o, x, g);
        } else if (o->effects[k] != PAL__KN_NEW) {
            continue;
        } else if (answers[k] == PAL_ANSWER_SAME) {
            /* Its classes to be are those of g now; a guess rejected
             * in another group is no rejection within g. */
            h->grp_of[x] = (int32_t)g;
            if (h->guess[x] >= 0 && h->grp_cls[h->guess[x]] != g)
                o->cap_s.rejected[x]--;
            guide_drop(o, x, -1);
        } else {
            h->grej[x]++;
            guide_drop(o, x, g);
        }
    }
    if (h->found_cls >= 0)
        found_class(o, (int32_t)h->found_cls);
    if (h->found >= 0) {
        const int32_t x = (int32_t)h->found;

        h->gtmpl[h->ngroups] = x;
        h->gcount[h->ngroups] = 0;
        h->grp_of[x] = (int32_t)h->ngroups;
        h->ngroups++;
        found_class(o, x);
    }
    h->found_cls = h->found = -1;
}
