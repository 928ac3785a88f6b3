/*
 * The item-centric sampler: one undetermined item at a time, asked
 * against the template of the class it most likely belongs to, then the
 * next most likely, until an answer "same", or until elimination
 * decides (a new class, or with the number of classes known, the last
 * one). Its bookkeeping is the captcha sampler's: classes with templates,
 * rejection counts and unsure lists, in eager mode (classes founded and
 * deductions made in the step that settles them).
 *
 * An undetermined item may still be asked about when the classes it was
 * rejected by or answered unsure against are fewer than the classes
 * (with levels = 2: than the classes of its group, or, its group not
 * known yet, when a group is left to ask it against; lib/oracle/hier.c).
 */
#include <math.h>

#include "oracle_internal.h"

/* Classes item x cannot be asked against any more (with levels = 2,
 * among those of its group). */
static int64_t closed(const pal_oracle_t *o, int32_t x)
{
    const pal__captcha_t *c = &o->cap_s;
    const pal__hier_t *h = &o->hier;
    int64_t k = c->rejected[x];

    for (int32_t e = c->unsure_head[x]; e >= 0; e = c->unsure_next[e])
        k += !h->top || h->grp_cls[c->unsure_class[e]] == h->grp_of[x];
    return k;
}

static bool open_item(const pal_oracle_t *o, int32_t x)
{
    const pal__captcha_t *c = &o->cap_s;

    if (c->cls_of[x] >= 0)
        return false;
    if (o->hier.top && o->hier.grp_of[x] < 0)
        return pal__hier_open(o, x);
    return closed(o, x) < pal__hier_avail(o, x);
}

int64_t pal__item_progress(const pal_oracle_t *o, int32_t x)
{
    const pal__hier_t *h = &o->hier;
    int64_t r = o->cap_s.rejected[x];

    if (h->top)
        r += h->grej[x] + (h->grp_of[x] >= 0);
    return r;
}

/*
 * The open item rejected by the most classes, uniformly at random among
 * equals; -1 when no item is open.
 */
static int32_t pick_random(pal_oracle_t *o)
{
    int64_t top = -1, ties = 0, p;

    for (int32_t x = 0; x < o->n; x++) {
        int64_t r;

        if (!open_item(o, x))
            continue;
        r = pal__item_progress(o, x);
        if (r > top) {
            top = r;
            ties = 0;
        }
        ties += r == top;
    }
    if (ties == 0)
        return -1;
    p = (int64_t)pal__rng_below(&o->rng, (uint64_t)ties);
    for (int32_t x = 0; x < o->n; x++)
        if (open_item(o, x) && pal__item_progress(o, x) == top && p-- == 0)
            return x;
    return -1;
}

/* The open item whose likely class is the most certain (smallest key,
 * then smallest index); -1 when no item is open. */
static int32_t pick_certain(pal_oracle_t *o)
{
    int32_t best = -1;
    int64_t best_r = -1;
    double best_key = HUGE_VAL;

    for (int32_t x = 0; x < o->n; x++) {
        double key;
        int64_t r;

        if (!open_item(o, x))
            continue;
        if (pal__guide_likely(o, x, &key) < 0)
            key = HUGE_VAL;
        r = pal__item_progress(o, x);
        if (best < 0 || r > best_r || (r == best_r && key < best_key)) {
            best = x;
            best_r = r;
            best_key = key;
        }
    }
    return best;
}

/* Without guidance: the askable class of largest prior, or else of most
 * known members; ties go to the oldest. */
static int64_t fallback_class(pal_oracle_t *o, int32_t x)
{
    const pal__captcha_t *c = &o->cap_s;
    pal__kn_t *kn = o->store->kn;
    int64_t best = -1;
    double best_w = 0.0;

    for (int64_t q = 0; q < c->nclasses; q++) {
        int32_t r = pal__kn_find_mut(kn, (int32_t)c->templates[q]);
        double w = o->guide.npriors > 0 ? pal__guide_prior(&o->guide, q)
                                        : (double)pal__kn_size(kn, r);

        if ((best < 0 || w > best_w) && pal__captcha_askable(o, x, r, q)) {
            best = q;
            best_w = w;
        }
    }
    return best;
}

static bool certain_order(const pal_oracle_t *o)
{
    return pal__guide_on(o) && o->opts.item_order == PAL_ITEM_ORDER_CERTAIN;
}

int pal__item_next(pal_oracle_t *o)
{
    int64_t cls = -1;
    int32_t x;
    double key;

    pal__guide_refresh(o);
    x = certain_order(o) ? pick_certain(o) : pick_random(o);
    if (x < 0)
        return PAL_DONE;
    if (pal__guide_on(o))
        cls = pal__guide_likely(o, x, &key);
    if (o->hier.top && o->hier.grp_of[x] < 0 &&
        (cls < 0 || !pal__hier_guess_ok(o, x)))
        return pal__hier_ask(o, x);
    if (cls < 0)
        cls = fallback_class(o, x);
    if (cls < 0)
        return PAL_DONE;   /* not reached: x is open */

    pal__guide_refine(o, cls);
    o->pending = true;
    o->guided = pal__guide_on(o);
    o->anchor = o->cap_s.templates[cls];
    o->cls = cls;
    o->cand[0] = x;
    o->m = 1;
    return PAL_OK;
}

/*
 * Replay of a question drawn with guidance, a class's (or with coarse, a
 * group's): taken as recorded once the oracle proves it could ask it now.
 */
static int adopt(pal_oracle_t *o, int64_t a, int64_t m, const int64_t *cand,
                 bool coarse)
{
    pal__captcha_t *c = &o->cap_s;
    const int64_t *tmpl = coarse ? o->hier.gtmpl : c->templates;
    int64_t q = -1, count;
    int32_t root = -1;
    uint32_t gen;

    /* Drawing the question would have founded a class first. */
    if (!coarse)
        pal__captcha_found(o);
    count = coarse ? o->hier.ngroups : c->nclasses;
    for (int64_t p = 0; p < count && q < 0; p++)
        if (tmpl[p] == a)
            q = p;
    /* With refined templates, any member of a class may have been it. */
    if (q < 0 && !coarse && o->opts.refine_templates && c->cls_of[a] >= 0)
        q = c->cls_of[a];
    if (q < 0 || m < 1 || m > o->room)
        return PAL_E_FORMAT;

    /* The item sampler chose the item without guidance in random order. */
    if (o->opts.sampler == PAL_SAMPLER_ITEM &&
        o->opts.item_order == PAL_ITEM_ORDER_RANDOM &&
        pick_random(o) != cand[0])
        return PAL_E_FORMAT;

    if (!coarse)
        root = pal__kn_find_mut(o->store->kn, (int32_t)a);
    gen = pal__captcha_mark(c, o->n);
    for (int64_t k = 0; k < m; k++) {
        int32_t x = (int32_t)cand[k];
        bool ok = coarse ? pal__hier_open(o, x) && pal__hier_askable(o, x, q)
                         : c->cls_of[x] < 0 &&
                               pal__captcha_askable(o, x, root, q);

        if (c->mark[x] == gen || !ok)
            return PAL_E_FORMAT;
        c->mark[x] = gen;
        o->cand[k] = x;
    }
    if (!coarse && c->templates[q] != a) {
        o->refined_cls = q;
        o->refined_from = c->templates[q];
        c->templates[q] = a;
    }
    o->pending = true;
    o->guided = true;
    o->hier.coarse = coarse;
    o->anchor = a;
    o->cls = q;
    o->m = m;
    return PAL_OK;
}

int pal__hier_adopt(pal_oracle_t *o, int64_t a, int64_t m,
                    const int64_t *cand)
{
    return adopt(o, a, m, cand, true);
}

int pal__guided_adopt(pal_oracle_t *o, int64_t a, int64_t m,
                      const int64_t *cand)
{
    return adopt(o, a, m, cand, false);
}
