/*
 * Guidance of the captcha and item samplers by the host: an embedding or
 * per-class scores, and class priors.
 *
 * With an embedding, the distance from an item to a class is the squared
 * distance to the class's nearest known member. Each undetermined item
 * keeps the nearest class among those it may still belong to, so that
 * choosing a question does not cost a pass over every (item, member)
 * pair: the cache is rebuilt once per embedding, and then follows the
 * answers (a member joining a class can only bring its class nearer to
 * the other items; a rejection only matters to the rejected item).
 *
 * The cache is a hint, never a part of the oracle's state that a journal
 * must reproduce: a question drawn from it is recorded as guided, and a
 * replay takes such a question as recorded.
 *
 * Priors, in contrast, are part of that state: each change is a journal
 * record, and a replay sets them again between the same questions, so
 * that the questions they weigh are drawn again exactly, random draws
 * included. Priors set while a question is pending wait until it is
 * answered or dropped (it was drawn with the priors before them), and
 * their record says so.
 */
#include <math.h>
#include <stdlib.h>

#include "oracle_internal.h"

static bool guidable(const pal_oracle_t *o)
{
    return o->opts.sampler == PAL_SAMPLER_CAPTCHA ||
           o->opts.sampler == PAL_SAMPLER_ITEM;
}

void pal__guide_free(pal_oracle_t *o)
{
    pal__guide_t *g = &o->guide;

    pal__free(&o->alloc, g->v);
    pal__free(&o->alloc, g->best);
    pal__free(&o->alloc, g->rank);
    pal__free(&o->alloc, g->per_class);
    pal__free(&o->alloc, g->best_cls);
    pal__free(&o->alloc, g->priors);
    pal__free(&o->alloc, g->later);
    memset(g, 0, sizeof *g);
}

bool pal__guide_on(const pal_oracle_t *o)
{
    return o->guide.kind != PAL__GUIDE_NONE;
}

double pal__guide_prior(const pal__guide_t *g, int64_t c)
{
    if (g->npriors == 0)
        return 1.0;
    return c < g->npriors ? g->priors[c] : g->prior_mean;
}

double pal__guide_dist(const pal__guide_t *g, int32_t a, int32_t b)
{
    const double *u = g->v + (size_t)a * (size_t)g->k;
    const double *w = g->v + (size_t)b * (size_t)g->k;
    double s = 0.0;

    for (int64_t j = 0; j < g->k; j++)
        s += (u[j] - w[j]) * (u[j] - w[j]);
    return s;
}

/* Squared distance from x to the nearest known member of class cls. */
static double class_dist(pal_oracle_t *o, int32_t x, int64_t cls)
{
    const int32_t t = (int32_t)o->cap_s.templates[cls];
    const pal__kn_t *kn = o->store->kn;
    double best = HUGE_VAL;
    int32_t y = t;

    do {
        double d = pal__guide_dist(&o->guide, x, y);

        best = d < best ? d : best;
        y = pal__kn_next(kn, y);
    } while (y != t);
    return best;
}

void pal__guide_recheck(pal_oracle_t *o, int32_t x)
{
    pal__guide_t *g = &o->guide;
    const pal__captcha_t *c = &o->cap_s;
    double best = HUGE_VAL;
    int32_t best_cls = -1;

    for (int64_t q = 0; q < c->nclasses; q++) {
        int32_t root = pal__kn_find_mut(o->store->kn,
                                        (int32_t)c->templates[q]);
        double d;

        if (!pal__guide_may(o, x, root, q))
            continue;
        d = class_dist(o, x, q);
        if (best_cls < 0 || d < best) {
            best = d;
            best_cls = (int32_t)q;
        }
    }
    g->best[x] = best;
    g->best_cls[x] = best_cls;
}

void pal__guide_refresh(pal_oracle_t *o)
{
    pal__guide_t *g = &o->guide;

    if (g->kind != PAL__GUIDE_EMBEDDING || g->valid)
        return;
    for (int32_t x = 0; x < o->n; x++)
        if (o->cap_s.cls_of[x] < 0)
            pal__guide_recheck(o, x);
    g->valid = true;
}

void pal__guide_join(pal_oracle_t *o, int32_t x, int64_t cls)
{
    pal__guide_t *g = &o->guide;
    const int32_t *cls_of = o->cap_s.cls_of;
    int32_t root = pal__kn_find_mut(o->store->kn,
                                    (int32_t)o->cap_s.templates[cls]);

    for (int32_t y = 0; y < o->n; y++) {
        double d;

        if (cls_of[y] >= 0 || !pal__guide_may(o, y, root, cls))
            continue;
        d = pal__guide_dist(g, x, y);
        if (g->best_cls[y] < 0 || d < g->best[y]) {
            g->best[y] = d;
            g->best_cls[y] = (int32_t)cls;
        }
    }
}

void pal__guide_reject(pal_oracle_t *o, int32_t x, int64_t cls)
{
    if (o->cap_s.cls_of[x] < 0 && o->guide.best_cls[x] == cls)
        pal__guide_recheck(o, x);
}

int32_t pal__guide_likely(pal_oracle_t *o, int32_t x, double *key)
{
    const pal__guide_t *g = &o->guide;
    const pal__captcha_t *c = &o->cap_s;
    int64_t kc = g->k < c->nclasses ? g->k : c->nclasses;
    int32_t best_cls = -1;
    double best = HUGE_VAL;

    if (g->kind == PAL__GUIDE_EMBEDDING) {
        *key = g->best[x];
        return g->best_cls[x];
    }
    for (int64_t q = 0; g->kind == PAL__GUIDE_SCORES && q < kc; q++) {
        int32_t root = pal__kn_find_mut(o->store->kn,
                                        (int32_t)c->templates[q]);
        double s = -g->v[(size_t)x * (size_t)g->k + (size_t)q];

        if ((best_cls < 0 || s < best) && pal__guide_may(o, x, root, q)) {
            best = s;
            best_cls = (int32_t)q;
        }
    }
    *key = best;
    return best_cls;
}

void pal__guide_refine(pal_oracle_t *o, int64_t cls)
{
    const pal__guide_t *g = &o->guide;
    pal__captcha_t *c = &o->cap_s;
    const pal__kn_t *kn = o->store->kn;
    const int32_t t = (int32_t)c->templates[cls];
    double *centre, best_d = HUGE_VAL;
    int32_t y = t, best = t;
    int64_t s = 0;

    if (!o->opts.refine_templates || g->kind != PAL__GUIDE_EMBEDDING)
        return;
    centre = g->v + (size_t)o->n * (size_t)g->k;
    for (int64_t j = 0; j < g->k; j++)
        centre[j] = 0.0;
    do {
        const double *row = g->v + (size_t)y * (size_t)g->k;

        for (int64_t j = 0; j < g->k; j++)
            centre[j] += row[j];
        s++;
        y = pal__kn_next(kn, y);
    } while (y != t);
    for (int64_t j = 0; j < g->k; j++)
        centre[j] /= (double)s;
    do {
        const double *row = g->v + (size_t)y * (size_t)g->k;
        double d = 0.0;

        for (int64_t j = 0; j < g->k; j++)
            d += (row[j] - centre[j]) * (row[j] - centre[j]);
        if (d < best_d || (d == best_d && y < best)) {
            best_d = d;
            best = y;
        }
        y = pal__kn_next(kn, y);
    } while (y != t);
    if (best != t) {
        o->refined_cls = cls;
        o->refined_from = t;
        c->templates[cls] = best;
    }
}

double pal__guide_key(pal_oracle_t *o, int32_t x, int64_t cls)
{
    const pal__guide_t *g = &o->guide;

    if (g->kind == PAL__GUIDE_EMBEDDING)
        return class_dist(o, x, cls);
    if (g->kind == PAL__GUIDE_SCORES && cls < g->k)
        return -g->v[(size_t)x * (size_t)g->k + (size_t)cls];
    return HUGE_VAL;
}

/* ---- Setting the guidance ------------------------------------------------ */

/* The per-item arrays every guidance uses, made once. */
int pal__guide_room(pal_oracle_t *o)
{
    pal__guide_t *g = &o->guide;
    const size_t n = (size_t)o->n;

    if (g->best)
        return PAL_OK;
    g->best = pal__alloc_array(&o->alloc, 2 * n, sizeof *g->best);
    g->rank = pal__alloc_array(&o->alloc, n, sizeof *g->rank);
    g->per_class = pal__alloc_array(&o->alloc, 2 * n, sizeof *g->per_class);
    g->best_cls = pal__alloc_array(&o->alloc, 2 * n, sizeof *g->best_cls);
    if (!g->best || !g->rank || !g->per_class || !g->best_cls) {
        pal__free(&o->alloc, g->best);
        pal__free(&o->alloc, g->rank);
        pal__free(&o->alloc, g->per_class);
        pal__free(&o->alloc, g->best_cls);
        g->best = NULL;
        g->rank = NULL;
        g->per_class = NULL;
        g->best_cls = NULL;
        return PAL_E_NOMEM;
    }
    g->keys = g->best + n;
    g->likely = g->best_cls + n;
    return PAL_OK;
}

static int set_matrix(pal_oracle_t *o, int kind, pal_dtype_t dtype,
                      int64_t n, int64_t k, const void *z, int64_t ldz)
{
    pal__guide_t *g;
    double *v;
    size_t count;
    int rc;

    if (!o || !z)
        return PAL_E_NULL;
    if ((!guidable(o) && !(kind == PAL__GUIDE_EMBEDDING &&
                           o->opts.sampler == PAL_SAMPLER_NN)) ||
        o->asking)
        return PAL_E_STATE;
    rc = pal__check_matrix(dtype, n, k, z, ldz);
    if (rc != PAL_OK)
        return rc;
    if (dtype == PAL_F32 ? PAL__MISALIGNED(z, float)
                         : PAL__MISALIGNED(z, double))
        return PAL_E_ALIGN;
    if (n != o->n ||
        (kind == PAL__GUIDE_SCORES && k > o->cap_s.nclasses))
        return PAL_E_SHAPE;
    if (!pal__matrix_finite(dtype, n, k, z, ldz))
        return PAL_E_NONFINITE;

    g = &o->guide;
    count = (size_t)n * (size_t)k;
    rc = pal__guide_room(o);
    if (rc != PAL_OK)
        return rc;

    /* A guidance of the same size is overwritten in place, so that a
     * host handing in a new one at every step allocates nothing. */
    /* k more for the centre of a class (template refinement). */
    v = g->v && g->k == k ? g->v
                          : pal__alloc_array(&o->alloc, count + (size_t)k,
                                             sizeof *v);
    if (!v)
        return PAL_E_NOMEM;
    for (int64_t i = 0; i < n; i++) {
        double *row = v + (size_t)i * (size_t)k;

        if (dtype == PAL_F32) {
            const float *src = (const float *)z + (size_t)i * (size_t)ldz;

            for (int64_t j = 0; j < k; j++)
                row[j] = src[j];
        } else {
            const double *src = (const double *)z + (size_t)i * (size_t)ldz;

            for (int64_t j = 0; j < k; j++)
                row[j] = src[j];
        }
    }
    if (v != g->v)
        pal__free(&o->alloc, g->v);
    g->v = v;
    g->k = k;
    g->kind = kind;
    g->valid = false;
    return PAL_OK;
}

int pal_oracle_set_embedding(pal_oracle_t *o, pal_dtype_t dtype, int64_t n,
                             int64_t k, const void *z, int64_t ldz)
{
    return set_matrix(o, PAL__GUIDE_EMBEDDING, dtype, n, k, z, ldz);
}

int pal_oracle_set_scores(pal_oracle_t *o, pal_dtype_t dtype, int64_t n,
                          int64_t k, const void *scores, int64_t lds)
{
    return set_matrix(o, PAL__GUIDE_SCORES, dtype, n, k, scores, lds);
}

void pal_oracle_clear_guidance(pal_oracle_t *o)
{
    if (!o || o->asking)
        return;
    pal__free(&o->alloc, o->guide.v);
    o->guide.v = NULL;
    o->guide.k = 0;
    o->guide.kind = PAL__GUIDE_NONE;
    o->guide.valid = false;
}

bool pal__priors_same(const double *p, int64_t k, const double *q,
                      int64_t k2)
{
    if (k != k2)
        return false;
    for (int64_t c = 0; c < k; c++)
        if (p[c] != q[c])
            return false;
    return true;
}

void pal__priors_swap(pal__guide_t *a, pal__guide_t *b)
{
    pal__guide_t t = *a;

    a->priors = b->priors;
    a->npriors = b->npriors;
    a->prior_mean = b->prior_mean;
    a->later = b->later;
    a->nlater = b->nlater;
    a->has_later = b->has_later;
    b->priors = t.priors;
    b->npriors = t.npriors;
    b->prior_mean = t.prior_mean;
    b->later = t.later;
    b->nlater = t.nlater;
    b->has_later = t.has_later;
}

/* Make the k priors p (owned from now on) those in force. */
static void priors_take(pal_oracle_t *o, double *p, int64_t k)
{
    pal__guide_t *g = &o->guide;
    double sum = 0.0;

    for (int64_t c = 0; c < k; c++)
        sum += p[c];
    pal__free(&o->alloc, g->priors);
    g->priors = p;
    g->npriors = k;
    g->prior_mean = k > 0 ? sum / (double)k : 1.0;
}

/* Forget the priors waiting for the pending question. */
static void drop_later(pal_oracle_t *o)
{
    pal__guide_t *g = &o->guide;

    pal__free(&o->alloc, g->later);
    g->later = NULL;
    g->nlater = 0;
    g->has_later = false;
}

/* The k priors p (owned from now on) take over now, or once the pending
 * question is settled when later is set. */
static void priors_set(pal_oracle_t *o, double *p, int64_t k, bool later)
{
    pal__guide_t *g = &o->guide;

    drop_later(o);
    if (later) {
        g->later = p;
        g->nlater = k;
        g->has_later = true;
    } else {
        priors_take(o, p, k);
    }
}

void pal__guide_settle(pal_oracle_t *o)
{
    pal__guide_t *g = &o->guide;

    if (!g->has_later)
        return;
    priors_take(o, g->later, g->nlater);
    g->later = NULL;
    g->nlater = 0;
    g->has_later = false;
}

/* A copy of k priors (NULL for none), or PAL_E_NOMEM. */
static int priors_copy(pal_oracle_t *o, int64_t k, const double *priors,
                       double **out)
{
    *out = NULL;
    if (k == 0)
        return PAL_OK;
    *out = pal__alloc_array(&o->alloc, (size_t)k, sizeof **out);
    if (!*out)
        return PAL_E_NOMEM;
    memcpy(*out, priors, (size_t)k * sizeof **out);
    return PAL_OK;
}

int pal_oracle_set_priors(pal_oracle_t *o, int64_t k, const double *priors)
{
    const pal__guide_t *g;
    double *p;
    int rc;

    if (!o)
        return PAL_E_NULL;
    if (!guidable(o) || o->asking)
        return PAL_E_STATE;
    if (k < 0 || (o->jn && k > PAL__JN_MAX_PRIORS))
        return PAL_E_SIZE;
    if (k > 0 && !priors)
        return PAL_E_NULL;
    if (k > o->cap_s.nclasses)
        return PAL_E_SHAPE;
    if (PAL__MISALIGNED(priors, double))
        return PAL_E_ALIGN;
    for (int64_t c = 0; c < k; c++)
        if (!(priors[c] > 0.0) || !isfinite(priors[c]))
            return PAL_E_RANGE;

    /* The same priors again change nothing, and need no record. */
    g = &o->guide;
    if (o->pending && g->has_later
            ? pal__priors_same(priors, k, g->later, g->nlater)
            : !g->has_later && pal__priors_same(priors, k, g->priors,
                                                 g->npriors))
        return PAL_OK;

    rc = priors_copy(o, k, priors, &p);
    if (rc == PAL_OK)
        rc = pal__priors_log(o, o->jn, k, priors, o->pending);
    if (rc != PAL_OK) {
        pal__free(&o->alloc, p);
        return rc;
    }
    if (o->jn)
        o->stop_logged = false;
    priors_set(o, p, k, o->pending);
    return PAL_OK;
}

int pal__priors_replay(pal_oracle_t *o, int64_t k, const double *p,
                       bool later)
{
    double *copy;
    int rc;

    /* Priors set while a question was pending may cover a class its
     * drawing founded, which the replay founds when it draws it again.
     * A question is pending in a replay only while its vote is open
     * (its first round recorded): priors set then wait for its end. */
    if (!guidable(o) || (o->pending && !(later && o->vround > 0)) ||
        k > o->cap_s.nclasses + (later ? 1 : 0))
        return PAL_E_FORMAT;
    rc = priors_copy(o, k, p, &copy);
    if (rc != PAL_OK)
        return rc;
    priors_set(o, copy, k, later);
    o->stop_logged = false;
    return PAL_OK;
}

/* ---- The guided captcha question ----------------------------------------- */

static int by_key(const void *pa, const void *pb)
{
    const struct pal__ranked *a = pa, *b = pb;

    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->x > b->x) - (a->x < b->x);
}

/* Most rejections first, then by key and index. */
static int by_rejections(const void *pa, const void *pb)
{
    const struct pal__ranked *a = pa, *b = pb;

    if (a->rej != b->rej)
        return a->rej > b->rej ? -1 : 1;
    return by_key(pa, pb);
}

/* True when item a comes before item b in the order of by_rejections. */
static bool before(const pal_oracle_t *o, int32_t a, int32_t b)
{
    const int32_t *rej = o->cap_s.rejected;
    const double *key = o->guide.keys;

    if (rej[a] != rej[b])
        return rej[a] > rej[b];
    if (key[a] != key[b])
        return key[a] < key[b];
    return a < b;
}

int pal__captcha_guided(pal_oracle_t *o)
{
    pal__guide_t *g = &o->guide;
    pal__captcha_t *c = &o->cap_s;
    pal__kn_t *kn = o->store->kn;
    const int64_t nc = c->nclasses;
    int64_t *top = g->per_class + o->n, best = -1, got = 0, k1 = 0, k2 = 0;
    int32_t best_rej = 0, root;
    double best_w = 0.0;

    /* Each undetermined item's likely class, and each class's first
     * likely item. */
    pal__guide_refresh(o);
    for (int64_t q = 0; q < nc; q++)
        g->per_class[q] = 0;
    for (int32_t x = 0; x < o->n; x++) {
        int32_t q = c->cls_of[x] >= 0 ? -1
                                      : pal__guide_likely(o, x, &g->keys[x]);

        g->likely[x] = q;
        if (q >= 0 && (g->per_class[q]++ == 0 || before(o, x, (int32_t)top[q])))
            top[q] = x;
    }

    /*
     * The class whose first likely item has the most rejections, so that
     * an item on its way to elimination (or to founding a class) is
     * followed to the end instead of spreading negatives over many
     * items; among equals, the fewest known members for its prior, then
     * the oldest.
     */
    for (int64_t q = 0; q < nc; q++) {
        int32_t r = pal__kn_find_mut(kn, (int32_t)c->templates[q]);
        double w = (double)pal__kn_size(kn, r) / pal__guide_prior(g, q);
        int32_t rej;

        if (g->per_class[q] == 0)
            continue;
        rej = c->rejected[top[q]];
        if (best < 0 || rej > best_rej || (rej == best_rej && w < best_w)) {
            best = q;
            best_rej = rej;
            best_w = w;
        }
    }
    if (best < 0)
        return PAL_E_EMPTY;

    /* Its likely items first, in that order. */
    for (int32_t x = 0; x < o->n; x++)
        if (g->likely[x] == best)
            g->rank[k1++] = (struct pal__ranked){g->keys[x], x,
                                                 c->rejected[x]};
    qsort(g->rank, (size_t)k1, sizeof *g->rank, by_rejections);
    for (; got < k1 && got < o->room; got++)
        o->cand[got] = g->rank[got].x;

    /* Then the nearest of the others. */
    root = pal__kn_find_mut(kn, (int32_t)c->templates[best]);
    for (int32_t x = 0; got < o->room && x < o->n; x++)
        if (c->cls_of[x] < 0 && g->likely[x] != best &&
            pal__captcha_askable(o, x, root, best))
            g->rank[k2++] =
                (struct pal__ranked){pal__guide_key(o, x, best), x, 0};
    qsort(g->rank, (size_t)k2, sizeof *g->rank, by_key);
    for (int64_t p = 0; got < o->room && p < k2; p++)
        o->cand[got++] = g->rank[p].x;

    pal__guide_refine(o, best);
    o->pending = true;
    o->guided = true;
    o->anchor = c->templates[best];
    o->cls = best;
    o->m = got;
    return PAL_OK;
}

/* ---- Estimated priors ---------------------------------------------------- */

int pal_oracle_estimate_priors(pal_oracle_t *o, int64_t capacity,
                               double *priors, int64_t *count)
{
    const pal__captcha_t *c;
    double *est, *mem, spread = 0.0, total = 0.0, known = 0.0;
    int64_t nc;

    if (!o || (capacity > 0 && !priors))
        return PAL_E_NULL;
    if (capacity < 0)
        return PAL_E_SIZE;
    if (PAL__MISALIGNED(priors, double))
        return PAL_E_ALIGN;
    if (!guidable(o) || o->asking)
        return PAL_E_STATE;
    c = &o->cap_s;
    nc = c->nclasses;
    est = pal__calloc_array(&o->alloc, 2 * (size_t)(nc > 0 ? nc : 1),
                            sizeof *est);
    if (!est)
        return PAL_E_NOMEM;
    mem = est + nc;

    /* Known members count for their class; an undetermined item for the
     * class the guidance finds most likely, or else for every class in
     * proportion to what is known. */
    pal__guide_refresh(o);
    for (int32_t x = 0; x < o->n; x++) {
        int32_t cls = c->cls_of[x];
        double key;

        if (cls < 0 && o->guide.kind != PAL__GUIDE_NONE)
            cls = pal__guide_likely(o, x, &key);
        if (cls >= 0 && cls < nc)
            est[cls] += 1.0;
        else
            spread += 1.0;
        if (c->cls_of[x] >= 0 && c->cls_of[x] < nc) {
            mem[c->cls_of[x]] += 1.0;
            known += 1.0;
        }
    }
    for (int64_t q = 0; q < nc; q++) {
        /* One pseudo-count each, so that no class gets a zero prior. */
        est[q] += 1.0 + (known > 0.0 ? spread * mem[q] / known
                                     : spread / (double)nc);
        total += est[q];
    }
    for (int64_t q = 0; q < nc && q < capacity; q++)
        priors[q] = est[q] / total;
    pal__free(&o->alloc, est);
    if (count)
        *count = nc;
    return PAL_OK;
}
