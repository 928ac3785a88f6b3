/*
 * The captcha sampler (the paper's Algorithm 3, with templates found on
 * the fly): show the template of the class with the fewest known members
 * with candidates whose relation to that class is unknown.
 *
 * Only this oracle changes its store, and it only ever compares a template
 * with items outside every class, so an item is either in a class or
 * alone in its component, and classes are pairwise known different. Two
 * consequences keep the bookkeeping small. An item every class has
 * rejected is known different from all of them, so counting rejections
 * per item finds the items that found a new class. And once a class is
 * founded, no other item is known different from it yet, so the list of
 * such items starts empty again.
 *
 * The items that can be asked about a class are those of unknown relation
 * to it, minus those answered "unsure" against it (remembered, so that
 * one unsure item is not offered in a loop). Both counts are exact, which
 * tells which classes still have questions and whether drawing at random
 * and rejecting will be quick, or a scan of all the items is cheaper.
 *
 * By default the candidates are chosen by elimination: the items the
 * most other classes have rejected come first. With C classes in the
 * data, an item rejected by r of them belongs to the class shown with
 * probability about 1 / (C - r), so elimination turns the long run of
 * negatives of uniform screens into positives, and sends the items no
 * class wants to the front, where they soon found their own class.
 */
#include <math.h>
#include <stdlib.h>

#include "oracle_internal.h"

int pal__captcha_init(pal_oracle_t *o)
{
    pal__captcha_t *c = &o->cap_s;
    const size_t n = (size_t)o->n;
    int32_t *w;

    /* One block for the per-class counts, one for the per-item words. */
    c->templates = pal__alloc_array(&o->alloc, 2 * n, sizeof *c->templates);
    w = pal__alloc_array(&o->alloc, 5 * n, sizeof *w);
    c->count = pal__calloc_array(&o->alloc, n + 1, sizeof *c->count);
    if (!c->templates || !w || !c->count) {
        pal__free(&o->alloc, c->templates);
        pal__free(&o->alloc, w);
        pal__free(&o->alloc, c->count);
        c->templates = NULL;
        c->count = NULL;
        return PAL_E_NOMEM;
    }
    c->blocked = c->templates + n;
    c->rejected = w;
    c->promo = w + n;
    c->unsure_head = w + 2 * n;
    c->mark = (uint32_t *)(w + 3 * n);
    c->scratch = w + 4 * n;
    for (size_t i = 0; i < n; i++) {
        c->rejected[i] = 0;
        c->unsure_head[i] = -1;
        c->mark[i] = 0;
    }

    /* The class of each item, and room for what one step deduces. */
    c->cls_of = pal__alloc_array(&o->alloc, n, sizeof *c->cls_of);
    c->ded_item = pal__alloc_array(&o->alloc, 2 * (size_t)o->cap,
                                   sizeof *c->ded_item);
    c->ded_effect = pal__alloc_array(&o->alloc, (size_t)o->cap,
                                     sizeof *c->ded_effect);
    if (!c->cls_of || !c->ded_item || !c->ded_effect)
        return PAL_E_NOMEM;
    c->ded_cls = c->ded_item + o->cap;
    for (size_t i = 0; i < n; i++)
        c->cls_of[i] = -1;
    c->found = -1;

    c->templates[0] = (int64_t)pal__rng_below(&o->rng, n);
    c->blocked[0] = 0;
    c->cls_of[c->templates[0]] = 0;
    c->nclasses = 1;
    o->costs.classes = 1;
    return PAL_OK;
}

bool pal__captcha_eager(const pal_oracle_t *o)
{
    return o->opts.sampler == PAL_SAMPLER_ITEM || o->opts.num_classes > 0 ||
           o->opts.levels > 1;
}

void pal__captcha_free(pal_oracle_t *o)
{
    pal__captcha_t *c = &o->cap_s;

    pal__free(&o->alloc, c->templates);
    pal__free(&o->alloc, c->rejected);
    pal__free(&o->alloc, c->unsure_class);
    pal__free(&o->alloc, c->unsure_next);
    pal__free(&o->alloc, c->count);
    pal__free(&o->alloc, c->cls_of);
    pal__free(&o->alloc, c->ded_item);
    pal__free(&o->alloc, c->ded_effect);
}

bool pal__captcha_askable(pal_oracle_t *o, int32_t x, int32_t root,
                          int64_t cls)
{
    const pal__captcha_t *c = &o->cap_s;
    pal__kn_t *kn = o->store->kn;
    int32_t r;

    if (!pal__hier_in_group(o, x, cls) && !pal__hier_guess_ok(o, x))
        return false;
    r = pal__kn_find_mut(kn, x);
    if (r == root || pal__kn_apart(kn, r, root))
        return false;
    return !pal__unsure_has(c->unsure_class, c->unsure_next,
                            c->unsure_head[x], cls);
}

uint32_t pal__captcha_mark(pal__captcha_t *c, int64_t n)
{
    if (++c->gen == 0) {
        memset(c->mark, 0, (size_t)n * sizeof *c->mark);
        c->gen = 1;
    }
    return c->gen;
}

/*
 * Draw up to want distinct candidates for class cls, uniformly without
 * replacement among its ask askable items.
 */
static int64_t draw(pal_oracle_t *o, int64_t cls, int64_t want, int64_t ask)
{
    pal__captcha_t *c = &o->cap_s;
    const int64_t n = o->n;
    int32_t root = pal__kn_find_mut(o->store->kn,
                                    (int32_t)c->templates[cls]);
    uint32_t g = pal__captcha_mark(c, n);
    int64_t got = 0;

    /* Rejection costs about n / ask draws per candidate: used only while
     * that stays small, and bounded so that it always ends. */
    if (ask * 8 >= n) {
        int64_t budget = 16 * want + 64;

        for (int64_t t = 0; t < budget && got < want; t++) {
            int32_t x = (int32_t)pal__rng_below(&o->rng, (uint64_t)n);

            if (c->mark[x] == g || !pal__captcha_askable(o, x, root, cls))
                continue;
            c->mark[x] = g;
            o->cand[got++] = x;
        }
    }

    /* Otherwise draw the rest from the full list of what is left; each
     * pick is still uniform among the remaining askable items. */
    if (got < want) {
        int64_t k = 0;

        for (int32_t x = 0; x < n; x++)
            if (c->mark[x] != g && pal__captcha_askable(o, x, root, cls))
                c->scratch[k++] = x;
        while (got < want && k > 0) {
            int64_t p = (int64_t)pal__rng_below(&o->rng, (uint64_t)k);

            o->cand[got++] = c->scratch[p];
            c->scratch[p] = c->scratch[--k];
        }
    }
    return got;
}

/*
 * Choose up to want candidates for class cls by elimination: the askable
 * items with the highest rejection counts, uniformly at random among the
 * items at the lowest count taken. One scan of the items, O(n).
 */
static int64_t draw_elimination(pal_oracle_t *o, int64_t cls, int64_t want)
{
    pal__captcha_t *c = &o->cap_s;
    const int64_t n = o->n;
    int32_t root = pal__kn_find_mut(o->store->kn,
                                    (int32_t)c->templates[cls]);
    int64_t k = 0, got = 0, above = 0, top = 0, cut, tied = 0;

    for (int32_t x = 0; x < n; x++) {
        if (!pal__captcha_askable(o, x, root, cls))
            continue;
        c->scratch[k++] = x;
        c->count[c->rejected[x]]++;
        top = c->rejected[x] > top ? c->rejected[x] : top;
    }

    /* The cut: every item above it is taken, some of the items at it. */
    for (cut = top; cut > 0 && above + c->count[cut] < want; cut--)
        above += c->count[cut];
    for (int64_t r = 0; r <= top; r++)
        c->count[r] = 0;

    for (int64_t p = 0; p < k; p++) {
        int32_t x = c->scratch[p];

        if (c->rejected[x] > cut)
            o->cand[got++] = x;
        else if (c->rejected[x] == cut)
            c->scratch[tied++] = x;
    }
    while (got < want && tied > 0) {
        int64_t p = (int64_t)pal__rng_below(&o->rng, (uint64_t)tied);

        o->cand[got++] = c->scratch[p];
        c->scratch[p] = c->scratch[--tied];
    }
    return got;
}

bool pal__captcha_found(pal_oracle_t *o)
{
    pal__captcha_t *c = &o->cap_s;
    int64_t p;

    if (c->npromo == 0)
        return false;
    p = (int64_t)pal__rng_below(&o->rng, (uint64_t)c->npromo);
    c->templates[c->nclasses] = c->promo[p];
    c->blocked[c->nclasses] = 0;
    c->cls_of[c->promo[p]] = (int32_t)c->nclasses;
    c->nclasses++;
    c->npromo = 0;
    o->costs.classes = c->nclasses;
    o->guide.valid = false;
    return true;
}

/* ---- Two levels ------------------------------------------------------------
 *
 * With levels = 2 a screen is either fine (a class's template with items
 * of its group) or coarse (a group's template with items of unknown
 * group). The fine screen of the class with the fewest known members
 * (for its prior) that has a question is shown when it fills a whole
 * screen, or when no coarse screen is left; otherwise the coarse screen
 * of the group with the fewest known members. Guided, the class and the
 * group are those most items are likely to belong to (ties as above).
 * Candidates: the items the most classes (groups) rejected first, then
 * the nearest (guided), at random among equals (unguided; uniformly at
 * random with PAL_CANDIDATES_UNIFORM). Classes and groups are founded
 * eagerly, in the step whose answers reject an item from every class of
 * its group, or from every group.
 */

static int by_rank(const void *pa, const void *pb)
{
    const struct pal__ranked *a = pa, *b = pb;

    if (a->rej != b->rej)
        return a->rej > b->rej ? -1 : 1;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->x > b->x) - (a->x < b->x);
}

/*
 * Take the first room items of the k ranked in g->rank (most rejections
 * first, then the smallest key, then the smallest index); unguided, the
 * items at the rejection count where the screen is cut are drawn at
 * random instead.
 */
static int64_t take_ranked(pal_oracle_t *o, int64_t k, bool guided)
{
    struct pal__ranked *r = o->guide.rank;
    int64_t got = 0, cut, lo, hi;

    qsort(r, (size_t)k, sizeof *r, by_rank);
    if (guided || k <= o->room) {
        for (; got < k && got < o->room; got++)
            o->cand[got] = r[got].x;
        return got;
    }
    cut = r[o->room - 1].rej;
    for (lo = 0; r[lo].rej > cut; lo++)
        o->cand[got++] = r[lo].x;
    for (hi = lo; hi < k && r[hi].rej == cut; hi++)
        ;
    while (got < o->room) {
        int64_t p = lo + (int64_t)pal__rng_below(&o->rng,
                                                 (uint64_t)(hi - lo));

        o->cand[got++] = r[p].x;
        r[p] = r[--hi];
    }
    return got;
}

static int hier_next(pal_oracle_t *o)
{
    pal__captcha_t *c = &o->cap_s;
    pal__hier_t *h = &o->hier;
    pal__guide_t *g = &o->guide;
    pal__kn_t *kn = o->store->kn, *top = h->top->kn;
    const bool guided = pal__guide_on(o);
    int64_t *fine = c->count, *coarse = g->per_class;
    int64_t *lik_g = g->per_class + o->n, best = -1, bg = -1, k = 0;
    int32_t *lik_c = c->scratch;
    double best_w = 0.0, bg_w = 0.0;
    /* Uniform candidates: no rejection counts in the ranking, so that
     * take_ranked draws among all of them at random. */
    const bool elim = guided ||
                      o->opts.candidates == PAL_CANDIDATES_ELIMINATION;
    bool use_fine;

    /* What each class and group may still be asked. */
    pal__guide_refresh(o);
    for (int64_t q = 0; q < c->nclasses; q++)
        fine[q] = lik_c[q] = 0;
    for (int64_t q = 0; q < h->ngroups; q++)
        coarse[q] = lik_g[q] = 0;
    for (int32_t x = 0; x < o->n; x++) {
        double key;
        int32_t q = -1;

        if (c->cls_of[x] >= 0)
            continue;
        if (guided)
            q = pal__guide_likely(o, x, &key);
        if (h->grp_of[x] < 0) {
            for (int64_t p = 0; p < h->ngroups; p++)
                coarse[p] += pal__hier_askable(o, x, p);
            if (q >= 0)
                lik_g[h->grp_cls[q]]++;
            continue;
        }
        if (q >= 0)
            lik_c[q]++;
        for (int64_t p = 0; p < c->nclasses; p++)
            if (h->grp_cls[p] == h->grp_of[x])
                fine[p] += pal__captcha_askable(
                    o, x, pal__kn_find_mut(kn, (int32_t)c->templates[p]), p);
    }
    for (int64_t q = 0; q < c->nclasses; q++) {
        int32_t r = pal__kn_find_mut(kn, (int32_t)c->templates[q]);
        double w = (double)pal__kn_size(kn, r) / pal__guide_prior(g, q);

        if (fine[q] > 0 &&
            (best < 0 || lik_c[q] > lik_c[best] ||
             (lik_c[q] == lik_c[best] && w < best_w))) {
            best = q;
            best_w = w;
        }
    }
    for (int64_t q = 0; q < h->ngroups; q++) {
        double w = (double)pal__kn_size(
            top, pal__kn_find_mut(top, (int32_t)h->gtmpl[q]));

        if (coarse[q] > 0 &&
            (bg < 0 || lik_g[q] > lik_g[bg] ||
             (lik_g[q] == lik_g[bg] && w < bg_w))) {
            bg = q;
            bg_w = w;
        }
    }
    use_fine = best >= 0 && (bg < 0 || fine[best] >= o->room);
    for (int64_t q = 0; q < c->nclasses; q++)
        fine[q] = 0;   /* the counters draw_elimination expects */
    if (best < 0 && bg < 0)
        return PAL_DONE;

    /* Its candidates, ranked. */
    if (use_fine) {
        int32_t root = pal__kn_find_mut(kn, (int32_t)c->templates[best]);

        for (int32_t x = 0; x < o->n; x++)
            if (c->cls_of[x] < 0 && pal__captcha_askable(o, x, root, best))
                g->rank[k++] = (struct pal__ranked){
                    guided ? pal__guide_key(o, x, best) : 0.0, x,
                    elim ? c->rejected[x] : 0};
    } else {
        for (int32_t x = 0; x < o->n; x++) {
            double key = 0.0;

            if (h->grp_of[x] >= 0 || c->cls_of[x] >= 0 ||
                !pal__hier_askable(o, x, bg))
                continue;
            if (guided) {
                /* Nearest first when the group is the item's likely
                 * one, the others after them. */
                int32_t q = pal__guide_likely(o, x, &key);

                if (q < 0 || h->grp_cls[q] != bg)
                    key = HUGE_VAL;
            }
            g->rank[k++] = (struct pal__ranked){key, x,
                                                elim ? h->grej[x] : 0};
        }
    }
    o->m = take_ranked(o, k, guided);
    if (use_fine)
        pal__guide_refine(o, best);
    o->pending = true;
    o->guided = guided;
    h->coarse = !use_fine;
    o->cls = use_fine ? best : bg;
    o->anchor = use_fine ? c->templates[best] : h->gtmpl[bg];
    return PAL_OK;
}

int pal__captcha_next(pal_oracle_t *o)
{
    pal__captcha_t *c = &o->cap_s;
    pal__kn_t *kn = o->store->kn;
    int64_t best = -1, best_ask = 0, got;
    double best_w = 0.0;

    /* An item every class has rejected founds a new class first. */
    pal__captcha_found(o);
    o->guided = false;
    if (o->hier.top)
        return hier_next(o);
    if (pal__guide_on(o)) {
        int rc = pal__captcha_guided(o);

        if (rc != PAL_E_EMPTY)
            return rc;
    }

    /* The class with the fewest members (divided by its prior) that
     * still has a question; ties go to the oldest. */
    for (int64_t k = 0; k < c->nclasses; k++) {
        int32_t r = pal__kn_find_mut(kn, (int32_t)c->templates[k]);
        int64_t size = pal__kn_size(kn, r);
        int64_t ask = o->n - size - pal__kn_apart_items(kn, r) -
                      c->blocked[k];
        double w = (double)size / pal__guide_prior(&o->guide, k);

        if (ask > 0 && (best < 0 || w < best_w)) {
            best = k;
            best_w = w;
            best_ask = ask;
        }
    }
    if (best < 0)
        return PAL_DONE;

    if (o->opts.candidates == PAL_CANDIDATES_ELIMINATION)
        got = draw_elimination(o, best, best_ask < o->room ? best_ask
                                                          : o->room);
    else
        got = draw(o, best, best_ask < o->room ? best_ask : o->room,
                   best_ask);
    if (got == 0)
        return PAL_DONE;
    o->pending = true;
    o->anchor = c->templates[best];
    o->cls = best;
    o->m = got;
    return PAL_OK;
}

int pal__unsure_reserve(pal_oracle_t *o, const pal_answer_t *answers,
                        int64_t used, int64_t *cap, int32_t **what,
                        int32_t **next)
{
    int64_t need = used, c;
    int32_t *w, *nx;

    for (int64_t k = 0; k < o->m; k++)
        need += answers[k] == PAL_ANSWER_UNSURE;
    if (need <= *cap)
        return PAL_OK;
    if (need > INT32_MAX)
        return PAL_E_NOMEM;
    c = *cap > 0 ? 2 * *cap : 64;
    while (c < need)
        c *= 2;
    c = c < INT32_MAX ? c : INT32_MAX;
    w = pal__alloc_array(&o->alloc, (size_t)c, sizeof *w);
    nx = pal__alloc_array(&o->alloc, (size_t)c, sizeof *nx);
    if (!w || !nx) {
        pal__free(&o->alloc, w);
        pal__free(&o->alloc, nx);
        return PAL_E_NOMEM;
    }
    if (used > 0) {
        memcpy(w, *what, (size_t)used * sizeof *w);
        memcpy(nx, *next, (size_t)used * sizeof *nx);
    }
    pal__free(&o->alloc, *what);
    pal__free(&o->alloc, *next);
    *what = w;
    *next = nx;
    *cap = c;
    return PAL_OK;
}

int pal__captcha_reserve(pal_oracle_t *o, const pal_answer_t *answers)
{
    pal__captcha_t *c = &o->cap_s;

    return pal__unsure_reserve(o, answers, c->nunsure, &c->unsure_cap,
                               &c->unsure_class, &c->unsure_next);
}

/* x joined class cls, so it is now known different from the classes it
 * was unsure about: they may count it as askable again. */
static void joined(pal__captcha_t *c, int32_t x, int64_t cls)
{
    for (int32_t e = c->unsure_head[x]; e >= 0; e = c->unsure_next[e])
        c->blocked[c->unsure_class[e]]--;
    c->unsure_head[x] = -1;
    c->cls_of[x] = (int32_t)cls;
}

void pal__captcha_add_class(pal_oracle_t *o, int32_t x)
{
    pal__captcha_t *c = &o->cap_s;
    pal__hier_t *h = &o->hier;
    const int64_t q = c->nclasses;

    c->templates[q] = x;
    c->blocked[q] = 0;
    joined(c, x, q);
    c->nclasses++;
    o->costs.classes = c->nclasses;
    if (h->top) {
        h->grp_cls[q] = h->grp_of[x];
        h->gcount[h->grp_of[x]]++;
    }
}

int pal__captcha_settle(pal_oracle_t *o, const pal_answer_t *answers,
                        pal__kn_emit_fn emit, void *ctx)
{
    pal__captcha_t *c = &o->cap_s;
    pal__kn_t *kn = o->store->kn;
    const int64_t nc = c->nclasses, known = o->opts.num_classes;

    c->found = -1;
    c->nded = 0;
    for (int64_t k = 0; k < o->m; k++) {
        int32_t x = (int32_t)o->cand[k];
        int64_t r = c->rejected[x] + 1, into = -1, tmpl = -1;
        int rc;

        if (answers[k] != PAL_ANSWER_DIFFERENT ||
            o->effects[k] != PAL__KN_NEW)
            continue;
        if (r == pal__hier_avail(o, x) && c->found < 0 &&
            (known == 0 || nc < known)) {
            /* Rejected by every class it may be in: x founds the next
             * one (with levels = 2, in its group, apart from the classes
             * of the other groups). */
            c->found = x;
            if (o->hier.top) {
                rc = pal__hier_apart(o, x, o->hier.grp_of[x], emit, ctx);
                if (rc != PAL_OK)
                    return rc;
            }
            continue;
        }
        if (r == nc && c->found >= 0 && nc + 1 == known) {
            /* Rejected by every class but the one just founded, which
             * is the last: x belongs to it. */
            into = nc;
            tmpl = c->found;
        } else if (known > 0 && nc == known && r == known - 1) {
            /* Rejected by all classes but one: x belongs to that one. */
            int32_t rx = pal__kn_find_mut(kn, x);

            for (int64_t q = 0; q < nc && into < 0; q++) {
                int32_t rq = pal__kn_find_mut(kn, (int32_t)c->templates[q]);

                if (rq != rx && !pal__kn_apart(kn, rx, rq)) {
                    into = q;
                    tmpl = c->templates[q];
                }
            }
        }
        if (into < 0)
            continue;
        rc = pal__kn_answer(kn, (int32_t)tmpl, x, PAL__KN_SAME, emit, ctx,
                            &c->ded_effect[c->nded]);
        if (rc != PAL_OK)
            return rc;
        c->ded_item[c->nded] = x;
        c->ded_cls[c->nded] = into;
        c->nded++;
    }
    return PAL_OK;
}

void pal__captcha_learn(pal_oracle_t *o, const pal_answer_t *answers)
{
    pal__captcha_t *c = &o->cap_s;
    const int64_t cls = o->cls;
    const bool eager = pal__captcha_eager(o);
    int64_t founded = -1;

    for (int64_t k = 0; k < o->m; k++) {
        int32_t x = (int32_t)o->cand[k];

        if (answers[k] == PAL_ANSWER_UNSURE) {
            pal__unsure_push(c->unsure_class, c->unsure_next, c->unsure_head,
                             &c->nunsure, x, cls);
            c->blocked[cls]++;
        } else if (o->effects[k] != PAL__KN_NEW) {
            continue;
        } else if (answers[k] == PAL_ANSWER_SAME) {
            joined(c, x, cls);
            if (o->hier.top && o->hier.grp_of[x] < 0)
                o->hier.grp_of[x] = o->hier.grp_cls[cls];   /* a guess */
        } else if (++c->rejected[x] == c->nclasses && !eager) {
            c->promo[c->npromo++] = x;
        } else if (o->hier.top && o->hier.grp_of[x] < 0) {
            o->hier.guess[x] = (int32_t)cls;   /* a guess rejected */
        }
    }

    /* What the answers settled beyond themselves (eager mode). */
    if (eager && c->found >= 0) {
        founded = c->nclasses;
        pal__captcha_add_class(o, (int32_t)c->found);
    }
    for (int64_t d = 0; eager && d < c->nded; d++) {
        if (c->ded_effect[d] != PAL__KN_NEW)
            continue;
        joined(c, (int32_t)c->ded_item[d], c->ded_cls[d]);
        o->costs.deduced++;
    }

    /* The guidance's distances follow, once the classes are final. */
    if (o->guide.kind != PAL__GUIDE_EMBEDDING || !o->guide.valid)
        return;
    for (int64_t k = 0; k < o->m; k++) {
        int32_t x = (int32_t)o->cand[k];

        if (answers[k] == PAL_ANSWER_SAME && o->effects[k] == PAL__KN_NEW)
            pal__guide_join(o, x, cls);
        else
            pal__guide_reject(o, x, cls);
    }
    if (founded >= 0)
        pal__guide_join(o, (int32_t)c->templates[founded], founded);
    for (int64_t d = 0; eager && d < c->nded; d++)
        if (c->ded_effect[d] == PAL__KN_NEW)
            pal__guide_join(o, (int32_t)c->ded_item[d], c->ded_cls[d]);
}
