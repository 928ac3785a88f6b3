/*
 * Oracles: options, the question life cycle shared by the samplers that
 * ask (choose, ask, answer), batches and costs.
 *
 * A step that fails leaves everything as it was: the answers are applied
 * inside a store transaction and a batch transaction, both rolled back on
 * failure, and what choosing the question changed (the generator, a class
 * founded on the way) is put back, so that the next step asks the same
 * question again.
 *
 * With a journal open, what a call is about to commit is appended to the
 * journal first, inside those transactions; a failed write rolls them
 * back like any other failure.
 */
#include <float.h>

#include "oracle_internal.h"

void pal_oracle_opts_init(pal_oracle_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->sampler = PAL_SAMPLER_CAPTCHA;
    opts->seed = 0;
    opts->screen_size = 15;
    opts->views = 2;
    opts->source = NULL;
    opts->reg_mode = -1;
    opts->reg_pairs = 64;
    opts->negative_weight = 0.0;
    opts->candidates = PAL_CANDIDATES_ELIMINATION;
    opts->num_classes = 0;
    opts->item_order = PAL_ITEM_ORDER_CERTAIN;
    opts->nn_metric = PAL_NN_EUCLIDEAN;
    opts->nn_queue = 0;
    opts->cost_screen = 0.0;
    opts->cost_candidate = 0.0;
    opts->cost_answer = 0.0;
    opts->budget = 0.0;
    opts->stall_screens = 0;
    opts->votes = 1;
    opts->vote_on = PAL_VOTE_ALL;
    opts->levels = 1;
    opts->refine_templates = 0;
}

/* The samplers built on classes and templates. */
static bool with_classes(pal_sampler_t s)
{
    return s == PAL_SAMPLER_CAPTCHA || s == PAL_SAMPLER_ITEM;
}

/* Finite and >= 0 (NaN fails the first test). */
static bool amount(double x)
{
    return x >= 0.0 && x <= DBL_MAX;
}

static int check_opts(const pal_oracle_opts_t *o, int64_t n)
{
    if (n < 1 || n > PAL__MAX_N)
        return PAL_E_SIZE;
    if (o->sampler != PAL_SAMPLER_SSL && o->sampler != PAL_SAMPLER_PASSIVE &&
        o->sampler != PAL_SAMPLER_CAPTCHA && o->sampler != PAL_SAMPLER_ITEM &&
        o->sampler != PAL_SAMPLER_NN && o->sampler != PAL_SAMPLER_CUSTOM)
        return PAL_E_RANGE;
    if (o->screen_size < 1 || o->views < 1 || o->reg_pairs < 0 ||
        o->reg_mode < -1 || o->reg_mode > PAL_REG_HALVES ||
        o->negative_weight - o->negative_weight != 0.0 ||
        (o->candidates != PAL_CANDIDATES_ELIMINATION &&
         o->candidates != PAL_CANDIDATES_UNIFORM) ||
        o->num_classes < 0 || o->num_classes == 1 ||
        (o->num_classes > n && n >= 2) ||
        (o->item_order != PAL_ITEM_ORDER_CERTAIN &&
         o->item_order != PAL_ITEM_ORDER_RANDOM) ||
        (o->nn_metric != PAL_NN_EUCLIDEAN && o->nn_metric != PAL_NN_COSINE) ||
        o->nn_queue < 0 || !amount(o->cost_screen) ||
        !amount(o->cost_candidate) || !amount(o->cost_answer) ||
        !amount(o->budget) || o->stall_screens < 0 ||
        (o->stall_screens > 0 && !with_classes(o->sampler)) ||
        o->votes < 1 || o->votes > 15 ||
        (o->vote_on != PAL_VOTE_ALL && o->vote_on != PAL_VOTE_SAME) ||
        o->levels < 1 || o->levels > 2 ||
        (o->refine_templates != 0 && o->refine_templates != 1) ||
        (o->levels == 2 &&
         (!with_classes(o->sampler) || o->num_classes != 0)))
        return PAL_E_RANGE;
    if (o->sampler == PAL_SAMPLER_SSL && PAL__MISALIGNED(o->source, int64_t))
        return PAL_E_ALIGN;
    if (o->sampler != PAL_SAMPLER_SSL && n < 2)
        return PAL_E_SIZE;
    if (o->sampler == PAL_SAMPLER_SSL && !o->source && n % o->views != 0)
        return PAL_E_SHAPE;
    for (int64_t i = 0; o->sampler == PAL_SAMPLER_SSL && o->source && i < n;
         i++)
        if (o->source[i] < 0 || o->source[i] >= n)
            return PAL_E_INDEX;
    return PAL_OK;
}

/* A seeded random permutation of the items for PAL_REG_HALVES. */
static int halves_init(pal_oracle_t *o)
{
    o->halves = pal__alloc_array(&o->alloc, (size_t)o->n, sizeof *o->halves);
    if (!o->halves)
        return PAL_E_NOMEM;
    for (int64_t i = 0; i < o->n; i++)
        o->halves[i] = (int32_t)i;
    for (int64_t i = o->n - 1; i > 0; i--) {
        int64_t k = (int64_t)pal__rng_below(&o->reg_rng, (uint64_t)i + 1);
        int32_t t = o->halves[i];

        o->halves[i] = o->halves[k];
        o->halves[k] = t;
    }
    o->half = o->n / 2;
    return PAL_OK;
}

int pal_oracle_create(pal_oracle_t **out, int64_t n,
                      const pal_oracle_opts_t *opts,
                      const pal_allocator_t *alloc)
{
    pal_oracle_opts_t op;
    pal_allocator_t a;
    pal_oracle_t *o;
    int rc;

    if (!out)
        return PAL_E_NULL;
    pal_oracle_opts_init(&op);
    if (opts) {
        rc = pal__read_opts(&op, sizeof op, opts);
        if (rc != PAL_OK)
            return rc;
    }
    rc = check_opts(&op, n);
    if (rc != PAL_OK)
        return rc;

    pal__allocator_init(&a, alloc);
    o = pal__alloc(&a, sizeof *o);
    if (!o)
        return PAL_E_NOMEM;
    memset(o, 0, sizeof *o);
    o->alloc = a;
    o->opts = op;
    o->opts.source = NULL;
    o->n = n;
    /* The samplers that ask nobody draw J at random, like SSL. */
    if (op.reg_mode >= 0)
        o->reg_mode = op.reg_mode;
    else if (op.sampler == PAL_SAMPLER_SSL || op.sampler == PAL_SAMPLER_NN)
        o->reg_mode = PAL_REG_RANDOM;
    else
        o->reg_mode = PAL_REG_SAME;
    o->costs.size = sizeof o->costs;
    o->refined_cls = -1;

    /* Questions and regulariser pairs draw from separate streams, so that
     * asking for a batch or not never changes the questions. */
    pal__rng_seed(&o->rng, op.seed);
    pal__rng_seed(&o->reg_rng, op.seed ^ 0x5851f42d4c957f2du);

    rc = pal_store_create(&o->store, n, &a);
    if (rc == PAL_OK && op.sampler != PAL_SAMPLER_SSL &&
        op.sampler != PAL_SAMPLER_NN) {
        bool screens = op.sampler == PAL_SAMPLER_CAPTCHA ||
                       op.sampler == PAL_SAMPLER_CUSTOM;

        o->cap = !screens ? 1
                 : op.screen_size < n ? op.screen_size
                                      : n - 1;
        o->cand = pal__alloc_array(&a, (size_t)o->cap, sizeof *o->cand);
        o->answers = pal__alloc_array(&a, (size_t)o->cap,
                                      sizeof *o->answers);
        o->effects = pal__alloc_array(&a, (size_t)o->cap,
                                      sizeof *o->effects);
        if (!o->cand || !o->answers || !o->effects)
            rc = PAL_E_NOMEM;
        if (rc == PAL_OK && op.votes > 1) {
            const size_t c = (size_t)o->cap;

            o->vshow = pal__alloc_array(&a, 2 * c, sizeof *o->vshow);
            o->vsame = pal__alloc_array(&a, 2 * c, sizeof *o->vsame);
            o->vopen = pal__alloc_array(&a, c, sizeof *o->vopen);
            o->verdict = pal__alloc_array(&a, c, sizeof *o->verdict);
            if (!o->vshow || !o->vsame || !o->vopen || !o->verdict)
                rc = PAL_E_NOMEM;
            else {
                o->vpos = o->vshow + c;
                o->vdiff = o->vsame + c;
            }
        }
    }
    if (rc == PAL_OK && o->reg_mode == PAL_REG_HALVES)
        rc = halves_init(o);
    if (rc == PAL_OK && with_classes(op.sampler))
        rc = pal__captcha_init(o);
    if (rc == PAL_OK && op.levels == 2)
        rc = pal__hier_init(o);
    o->room = o->cap;
    o->stall_classes = o->costs.classes;
    if (rc == PAL_OK && op.sampler == PAL_SAMPLER_SSL)
        rc = pal__ssl_init(o, op.source);
    if (rc == PAL_OK && op.sampler == PAL_SAMPLER_NN)
        rc = pal__nn_init(o);
    if (rc == PAL_OK && op.sampler == PAL_SAMPLER_CUSTOM) {
        o->cmark = pal__calloc_array(&a, (size_t)n, sizeof *o->cmark);
        if (!o->cmark)
            rc = PAL_E_NOMEM;
    }
    if (rc != PAL_OK) {
        pal_oracle_destroy(o);
        return rc;
    }
    *out = o;
    return PAL_OK;
}

void pal_oracle_destroy(pal_oracle_t *o)
{
    if (!o)
        return;
    pal__jn_close(o->jn, false);
    pal__captcha_free(o);
    pal__hier_free(o);
    pal__guide_free(o);
    pal__passive_free(o);
    pal__ssl_free(o);
    pal__nn_free(o);
    pal__free(&o->alloc, o->cmark);
    pal_store_destroy(o->store);
    pal__free(&o->alloc, o->cand);
    pal__free(&o->alloc, o->answers);
    pal__free(&o->alloc, o->effects);
    pal__hist_free(o);
    pal__free(&o->alloc, o->vshow);
    pal__free(&o->alloc, o->vsame);
    pal__free(&o->alloc, o->vopen);
    pal__free(&o->alloc, o->verdict);
    pal__free(&o->alloc, o->halves);
    pal__free(&o->alloc, o);
}

int pal_oracle_set_labeler(pal_oracle_t *o, pal_labeler_fn fn, void *user)
{
    if (!o)
        return PAL_E_NULL;
    if (o->asking)
        return PAL_E_STATE;
    o->labeler = fn;
    o->user = user;
    return PAL_OK;
}

const pal_store_t *pal_oracle_store(const pal_oracle_t *o)
{
    return o ? o->store : NULL;
}

const pal_store_t *pal_oracle_coarse_store(const pal_oracle_t *o)
{
    return o ? o->hier.top : NULL;
}

int pal_oracle_level(const pal_oracle_t *o, int64_t *level)
{
    if (!o || !level)
        return PAL_E_NULL;
    if (!o->pending)
        return PAL_E_STATE;
    *level = o->hier.coarse ? 1 : 0;
    return PAL_OK;
}

int pal_oracle_groups(const pal_oracle_t *o, int64_t *groups,
                      int64_t capacity, int64_t *count)
{
    int64_t nc;

    if (!o || (!groups && capacity > 0))
        return PAL_E_NULL;
    if (capacity < 0)
        return PAL_E_SIZE;
    if (!o->hier.top)
        return PAL_E_STATE;
    nc = o->cap_s.nclasses;
    for (int64_t k = 0; k < nc && k < capacity; k++)
        groups[k] = o->hier.grp_cls[k];
    if (count)
        *count = nc;
    return PAL_OK;
}

int pal_oracle_graph(const pal_oracle_t *o, unsigned flags,
                     pal_graph_t **out)
{
    if (!o)
        return PAL_E_NULL;
    return pal_store_graph(o->store, flags, out, &o->alloc);
}

/* ---- Costs and stopping -------------------------------------------------- */

/*
 * What a screen of m candidates costs when d of them are answered other
 * than unsure. Rounding is monotone, so for d <= m this never exceeds
 * the cost with d = m, which is what the budget is checked against.
 */
static double screen_cost(const pal_oracle_t *o, int64_t m, int64_t d)
{
    const pal_oracle_opts_t *op = &o->opts;

    if (op->cost_screen == 0.0 && op->cost_candidate == 0.0 &&
        op->cost_answer == 0.0)
        return (double)m;
    return op->cost_screen + (double)m * op->cost_candidate +
           (double)d * op->cost_answer;
}

/* A question of m candidates fits the budget if every candidate may be
 * answered, and re-asked up to votes times in as many screens. */
static bool affordable(const pal_oracle_t *o, int64_t m)
{
    return o->costs.spent + (double)o->opts.votes * screen_cost(o, m, m) <=
           o->opts.budget;
}

int64_t pal__oracle_room(const pal_oracle_t *o)
{
    const pal_oracle_opts_t *op = &o->opts;
    double per = op->cost_candidate + op->cost_answer, left;
    int64_t m;

    if (op->budget == 0.0)
        return o->cap;
    if (op->cost_screen == 0.0 && per == 0.0)
        per = 1.0;   /* no cost model: one per answer */

    /* A first guess from the division, then corrected against the exact
     * test, so that rounding can never let a screen overspend. */
    left = (op->budget - o->costs.spent -
            (double)op->votes * op->cost_screen) /
           ((double)op->votes * per);
    if (per == 0.0)
        m = affordable(o, o->cap) ? o->cap : 0;
    else if (!(left >= 0.0))
        m = 0;
    else
        m = left >= (double)o->cap ? o->cap : (int64_t)left;
    while (m > 0 && !affordable(o, m))
        m--;
    while (m < o->cap && affordable(o, m + 1))
        m++;
    return m;
}

/* Screens since the last new class reach stall_screens. */
static bool stalled(const pal_oracle_t *o)
{
    return o->opts.stall_screens > 0 &&
           o->costs.screens - o->stall_mark >= o->opts.stall_screens;
}

int pal_oracle_stop_reason(const pal_oracle_t *o, pal_stop_reason_t *reason)
{
    if (!o || !reason)
        return PAL_E_NULL;
    *reason = (pal_stop_reason_t)o->stop;
    return PAL_OK;
}

/* ---- Questions and answers ----------------------------------------------- */

static bool store_complete(const pal_oracle_t *o)
{
    if (pal__kn_counts(o->store->kn)->known_pairs != o->n * (o->n - 1) / 2)
        return false;
    /* With levels = 2 an item's relations may all be known while its
     * group, and so its class, is not (a rejected guess). */
    for (int64_t i = 0; o->hier.top && i < o->n; i++)
        if (o->cap_s.cls_of[i] < 0)
            return false;
    return true;
}

/* What drawing a question may change: the generator, a class founded
 * on the way (captcha), and the stop reason. */
typedef struct draw_mark {
    pal__rng_t rng;
    int64_t nclasses, npromo;
    int stop;
} draw_mark_t;

static void draw_mark(pal_oracle_t *o, draw_mark_t *d)
{
    o->refined_cls = -1;
    d->rng = o->rng;
    d->nclasses = o->cap_s.nclasses;
    d->npromo = o->cap_s.npromo;
    d->stop = o->stop;
}

/* Put back what a draw changed, for a call that fails. */
static void draw_undo(pal_oracle_t *o, const draw_mark_t *d)
{
    o->pending = false;
    if (o->refined_cls >= 0)
        o->cap_s.templates[o->refined_cls] = o->refined_from;
    o->rng = d->rng;
    if (o->cap_s.nclasses > d->nclasses) {
        /* The class founded on the way is founded again next time. */
        for (int64_t k = d->nclasses; k < o->cap_s.nclasses; k++)
            o->cap_s.cls_of[o->cap_s.templates[k]] = -1;
        o->guide.valid = false;
    }
    o->cap_s.nclasses = d->nclasses;
    o->cap_s.npromo = d->npromo;
    o->costs.classes = d->nclasses;
    o->stop = d->stop;
}

/*
 * The conditions checked before each question, in order, after an item
 * every class rejected has founded its class (so that a stop counts
 * it): the first reason that holds, or PAL_STOP_NONE. Sets o->room.
 */
static int stop_checks(pal_oracle_t *o)
{
    if (o->opts.sampler == PAL_SAMPLER_CAPTCHA)
        pal__captcha_found(o);
    if (store_complete(o))
        return PAL_STOP_COMPLETE;
    if (stalled(o))
        return PAL_STOP_NO_NEW_CLASS;
    o->room = pal__oracle_room(o);
    if (o->room < 1)
        return PAL_STOP_BUDGET;
    return PAL_STOP_NONE;
}

/* The sampler's question: PAL_OK, PAL_DONE or an error. */
static int draw(pal_oracle_t *o)
{
    if (o->opts.sampler == PAL_SAMPLER_ITEM)
        return pal__item_next(o);
    if (o->opts.sampler == PAL_SAMPLER_CUSTOM)
        return pal__custom_next(o);
    if (o->opts.sampler == PAL_SAMPLER_CAPTCHA)
        return pal__captcha_next(o);
    return pal__passive_next(o);
}

int pal__oracle_question(pal_oracle_t *o)
{
    draw_mark_t d;
    int reason, rc;

    if (o->opts.sampler == PAL_SAMPLER_CUSTOM && !o->sampler)
        return PAL_E_STATE;
    draw_mark(o, &d);
    o->started = true;
    o->guided = false;
    o->hier.coarse = false;
    reason = stop_checks(o);
    if (reason == PAL_STOP_NONE) {
        rc = draw(o);
        if (rc == PAL_OK)
            o->stop = PAL_STOP_NONE;
        if (rc != PAL_DONE) {
            if (rc != PAL_OK)
                draw_undo(o, &d);
            return rc;
        }
        reason = o->opts.sampler == PAL_SAMPLER_CUSTOM ? PAL_STOP_SAMPLER
                                                       : PAL_STOP_EXHAUSTED;
    }

    /*
     * A stop is journaled, once: the class the call may have founded,
     * the draw it took, and the reason itself are then replayed. The
     * same stop again changes nothing, and needs no record.
     */
    if (!(o->stop_logged && o->stop == reason)) {
        o->stop = reason;
        rc = pal__oracle_log(o, PAL__JN_STOP, false, NULL);
        if (rc != PAL_OK) {
            draw_undo(o, &d);
            return rc;
        }
    }
    o->stop = reason;
    return PAL_DONE;
}

int pal__oracle_replay_stop(pal_oracle_t *o, int reason)
{
    int got, rc;

    o->started = true;
    o->guided = false;
    got = stop_checks(o);
    if (got == PAL_STOP_NONE && o->opts.sampler == PAL_SAMPLER_CUSTOM) {
        got = PAL_STOP_SAMPLER;
    } else if (got == PAL_STOP_NONE) {
        rc = draw(o);
        if (rc == PAL_OK)
            return PAL_E_FORMAT;   /* a question was left to ask */
        if (rc != PAL_DONE)
            return rc;
        got = PAL_STOP_EXHAUSTED;
    }
    if (got != reason)
        return PAL_E_FORMAT;
    o->stop = reason;
    o->stop_logged = true;
    return PAL_OK;
}

static bool valid_answers(const pal_answer_t *answers, int64_t m)
{
    for (int64_t k = 0; k < m; k++)
        if ((unsigned)answers[k] > (unsigned)PAL_ANSWER_UNSURE)
            return false;
    return true;
}

int pal__oracle_regs(pal_oracle_t *o, pal_batch_t *batch)
{
    const int64_t n = o->n;

    if (n < 2 || (o->reg_mode != PAL_REG_RANDOM &&
                  o->reg_mode != PAL_REG_HALVES))
        return PAL_OK;
    for (int64_t r = 0; r < o->opts.reg_pairs; r++) {
        int64_t i, j;
        int rc;

        if (o->reg_mode == PAL_REG_RANDOM) {
            i = (int64_t)pal__rng_below(&o->reg_rng, (uint64_t)n);
            j = (int64_t)pal__rng_below(&o->reg_rng, (uint64_t)n - 1);
            j += j >= i;
        } else {
            uint64_t h = (uint64_t)o->half;

            i = o->halves[pal__rng_below(&o->reg_rng, h)];
            j = o->halves[o->half + (int64_t)pal__rng_below(
                                        &o->reg_rng, (uint64_t)n - h)];
        }
        rc = batch ? pal_batch_add_reg(batch, i, j) : PAL_OK;
        if (rc != PAL_OK)
            return rc;
    }
    return PAL_OK;
}

/* Answers other than unsure. */
static int64_t decided(const pal_answer_t *answers, int64_t m)
{
    int64_t d = 0;

    for (int64_t k = 0; k < m; k++)
        d += answers[k] != PAL_ANSWER_UNSURE;
    return d;
}

void pal__oracle_shown(const pal_oracle_t *o, int64_t *m,
                       const int64_t **cand)
{
    if (o->vround > 0) {
        *m = o->vm;
        *cand = o->vshow;
    } else {
        *m = o->m;
        *cand = o->cand;
    }
}

/* What answers to a screen of m candidates add to the counters. */
static void count_screen(pal_oracle_t *o, const pal_answer_t *raw, int64_t m,
                         bool reask)
{
    o->costs.screens++;
    o->costs.answers += m;
    o->costs.reasked += reask ? m : 0;
    o->costs.coarse += o->hier.coarse ? m : 0;
    o->costs.spent += screen_cost(o, m, decided(raw, m));
    for (int64_t k = 0; k < m; k++) {
        o->costs.same += raw[k] == PAL_ANSWER_SAME;
        o->costs.different += raw[k] == PAL_ANSWER_DIFFERENT;
        o->costs.unsure += raw[k] == PAL_ANSWER_UNSURE;
    }
}

/*
 * Record the verdicts (m of them, one per candidate of the pending
 * question) in the store, all or nothing. raw holds the answers of the
 * screen shown last (shown of them), which the journal record of type
 * rectype holds and the counters count.
 */
static int commit(pal_oracle_t *o, const pal_answer_t *verdicts,
                  const pal_answer_t *raw, int64_t shown, int rectype,
                  pal_batch_t *batch, bool regs)
{
    pal__kn_t *kn = o->store->kn;
    pal__sink_t sink = {batch, 1.0, o->opts.negative_weight,
                        o->reg_mode == PAL_REG_SAME};
    pal__rng_t reg_rng = o->reg_rng;
    const bool coarse = o->hier.coarse;
    /* A coarse question's answers go to the coarse store, and only what
     * they imply for the classes to the oracle's store and the batch;
     * a guess's "same" settles the item's group in the coarse store. */
    pal__kn_t *top = o->hier.top ? o->hier.top->kn : NULL;
    pal__kn_t *qkn = coarse ? top : kn;
    int rc = PAL_OK;

    if (coarse)
        rc = pal__hier_reserve(o, verdicts);
    else if (with_classes(o->opts.sampler))
        rc = pal__captcha_reserve(o, verdicts);
    else if (o->opts.sampler == PAL_SAMPLER_PASSIVE)
        rc = pal__passive_reserve(o, verdicts);
    if (rc == PAL_OK && batch)
        rc = pal__batch_begin(batch);
    if (rc != PAL_OK)
        return rc;

    pal__kn_begin(kn);
    if (top)
        pal__kn_begin(top);
    o->hier.implied = 0;
    for (int64_t k = 0; k < o->m && rc == PAL_OK; k++)
        rc = pal__kn_answer(qkn, (int32_t)o->anchor, (int32_t)o->cand[k],
                            (int)verdicts[k],
                            batch && !coarse ? pal__sink_pair : NULL, &sink,
                            &o->effects[k]);
    if (rc == PAL_OK && coarse)
        rc = pal__hier_settle(o, verdicts, batch ? pal__sink_pair : NULL,
                              &sink);
    else if (rc == PAL_OK && with_classes(o->opts.sampler) &&
             pal__captcha_eager(o))
        rc = pal__captcha_settle(o, verdicts, batch ? pal__sink_pair : NULL,
                                 &sink);
    if (rc == PAL_OK && top && !coarse)
        rc = pal__hier_guessed(o, verdicts);
    if (rc == PAL_OK && regs)
        rc = pal__oracle_regs(o, batch);
    if (rc == PAL_OK)
        rc = pal__oracle_log(o, rectype, regs, raw);
    if (rc != PAL_OK) {
        pal__kn_rollback(kn);
        if (top)
            pal__kn_rollback(top);
        if (batch)
            pal__batch_rollback(batch);
        o->reg_rng = reg_rng;
        return rc;
    }
    pal__kn_commit(kn);
    if (top)
        pal__kn_commit(top);
    if (batch)
        pal__batch_commit(batch);

    o->costs.steps++;
    o->costs.implied += o->hier.implied;
    count_screen(o, raw, shown, rectype == PAL__JN_VOTE);
    for (int64_t k = 0; k < o->m; k++)
        o->costs.conflicts += o->effects[k] == PAL__KN_CONFLICT;
    if (coarse)
        pal__hier_learn(o, verdicts);
    else if (with_classes(o->opts.sampler))
        pal__captcha_learn(o, verdicts);
    else if (o->opts.sampler == PAL_SAMPLER_PASSIVE)
        pal__passive_learn(o, verdicts);

    /* A class this screen founded, or one the next question founds. */
    if (with_classes(o->opts.sampler) &&
        o->costs.classes + (o->cap_s.npromo > 0) > o->stall_classes) {
        o->stall_classes = o->costs.classes + (o->cap_s.npromo > 0);
        o->stall_mark = o->costs.screens;
    }
    o->pending = false;
    o->vround = 0;
    pal__guide_settle(o);
    return PAL_OK;
}

/* Candidate p's vote after s "same" and d "different" answers, the last
 * one being last: still open, or closed. */
static bool vote_open(const pal_oracle_t *o, int64_t s, int64_t d,
                      pal_answer_t last, bool first)
{
    const int64_t v = o->opts.votes;

    if (last == PAL_ANSWER_UNSURE || 2 * s > v || 2 * d > v || s + d >= v)
        return false;
    return !(first && o->opts.vote_on == PAL_VOTE_SAME &&
             last == PAL_ANSWER_DIFFERENT);
}

/*
 * One round of a vote: answers to the candidates shown. Until every
 * candidate of the question is decided, the round is recorded (in the
 * journal, as a screen for the first round, a vote after) and counted,
 * and the candidates still open are shown again; the round that decides
 * the last one commits the verdicts.
 */
static int vote(pal_oracle_t *o, const pal_answer_t *answers,
                pal_batch_t *batch, bool regs)
{
    const bool first = o->vround == 0;
    const int rectype = first ? PAL__JN_SCREEN : PAL__JN_VOTE;
    int64_t shown;
    const int64_t *list;
    bool open = false;
    int rc;

    pal__oracle_shown(o, &shown, &list);
    if (first)
        for (int64_t k = 0; k < o->m; k++) {
            o->vpos[k] = k;
            o->vsame[k] = o->vdiff[k] = 0;
            o->vopen[k] = 1;
        }
    for (int64_t q = 0; q < shown; q++) {
        int64_t p = o->vpos[q];

        open |= vote_open(o, o->vsame[p] + (answers[q] == PAL_ANSWER_SAME),
                          o->vdiff[p] +
                              (answers[q] == PAL_ANSWER_DIFFERENT),
                          answers[q], first);
    }

    if (!open) {
        /* The verdicts: the answer with the most votes, none if tied.
         * This round's answers are counted in for the verdicts, and
         * taken out again if the commit fails. */
        for (int64_t q = 0; q < shown; q++) {
            o->vsame[o->vpos[q]] += answers[q] == PAL_ANSWER_SAME;
            o->vdiff[o->vpos[q]] += answers[q] == PAL_ANSWER_DIFFERENT;
        }
        for (int64_t k = 0; k < o->m; k++)
            o->verdict[k] = o->vsame[k] > o->vdiff[k] ? PAL_ANSWER_SAME
                            : o->vdiff[k] > o->vsame[k]
                                ? PAL_ANSWER_DIFFERENT
                                : PAL_ANSWER_UNSURE;
        rc = commit(o, o->verdict, answers, shown, rectype, batch, regs);
        if (rc != PAL_OK)
            for (int64_t q = 0; q < shown; q++) {
                o->vsame[o->vpos[q]] -= answers[q] == PAL_ANSWER_SAME;
                o->vdiff[o->vpos[q]] -= answers[q] == PAL_ANSWER_DIFFERENT;
            }
        return rc;
    }

    rc = pal__oracle_log(o, rectype, false, answers);
    if (rc != PAL_OK)
        return rc;
    count_screen(o, answers, shown, !first);
    for (int64_t q = 0; q < shown; q++) {
        int64_t p = o->vpos[q];

        o->vsame[p] += answers[q] == PAL_ANSWER_SAME;
        o->vdiff[p] += answers[q] == PAL_ANSWER_DIFFERENT;
        o->vopen[p] = vote_open(o, o->vsame[p], o->vdiff[p], answers[q],
                                first);
    }
    o->vm = 0;
    for (int64_t k = 0; k < o->m; k++)
        if (o->vopen[k]) {
            o->vshow[o->vm] = o->cand[k];
            o->vpos[o->vm++] = k;
        }
    o->vround++;
    return PAL_OK;
}

int pal__oracle_apply(pal_oracle_t *o, const pal_answer_t *answers,
                      pal_batch_t *batch, bool regs)
{
    if (o->opts.votes > 1)
        return vote(o, answers, batch, regs);
    return commit(o, answers, answers, o->m, PAL__JN_SCREEN, batch, regs);
}

int pal_oracle_step(pal_oracle_t *o, pal_batch_t *batch)
{
    draw_mark_t d;
    int rc;

    if (!o)
        return PAL_E_NULL;
    if (o->opts.sampler == PAL_SAMPLER_SSL)
        return pal__ssl_step(o, batch, batch != NULL);
    if (o->opts.sampler == PAL_SAMPLER_NN)
        return o->asking ? PAL_E_STATE : pal__nn_step(o, batch, batch != NULL);
    /* A question still being voted on goes on; any other pending one
     * belongs to pal_oracle_next. */
    if (!o->labeler || (o->pending && o->vround == 0) || o->asking)
        return PAL_E_STATE;

    /* What choosing the question may change, kept to put it back. */
    draw_mark(o, &d);
    if (!o->pending) {
        rc = pal__oracle_question(o);
        if (rc != PAL_OK)
            return rc;
    }

    /* Answers the labeler leaves unwritten read as invalid. While it
     * runs, calls that would touch the question are refused. With votes,
     * the disputed candidates are shown again until each is decided. */
    do {
        int64_t shown;
        const int64_t *list;

        pal__oracle_shown(o, &shown, &list);
        memset(o->answers, 0xff, (size_t)shown * sizeof *o->answers);
        o->asking = true;
        rc = o->labeler(o->user, o->anchor, shown, list, o->answers);
        o->asking = false;
        rc = rc != 0 || !valid_answers(o->answers, shown) ? PAL_E_CALLBACK
                                                          : PAL_OK;
        if (rc == PAL_OK)
            rc = pal__oracle_apply(o, o->answers, batch, batch != NULL);
    } while (rc == PAL_OK && o->pending);
    if (rc != PAL_OK && o->vround > 0) {
        /* Earlier rounds of the vote are recorded: the question stays,
         * and the next step shows it again. */
        return rc;
    }
    if (rc != PAL_OK)
        draw_undo(o, &d);
    return rc;
}

int pal_oracle_next(pal_oracle_t *o, int64_t *anchor, int64_t *m,
                    const int64_t **candidates)
{
    if (!o || !anchor || !m || !candidates)
        return PAL_E_NULL;
    if (o->opts.sampler == PAL_SAMPLER_SSL ||
        o->opts.sampler == PAL_SAMPLER_NN || o->asking)
        return PAL_E_STATE;
    if (!o->pending) {
        int rc = pal__oracle_question(o);

        if (rc != PAL_OK)
            return rc;
    }
    *anchor = o->anchor;
    pal__oracle_shown(o, m, candidates);
    return PAL_OK;
}

int pal_oracle_answer(pal_oracle_t *o, const pal_answer_t *answers,
                      pal_batch_t *batch)
{
    if (!o || !answers)
        return PAL_E_NULL;
    if (PAL__MISALIGNED(answers, pal_answer_t))
        return PAL_E_ALIGN;
    if (!o->pending || o->asking)
        return PAL_E_STATE;
    if (!valid_answers(answers, o->vround > 0 ? o->vm : o->m))
        return PAL_E_RANGE;
    return pal__oracle_apply(o, answers, batch, batch != NULL);
}

void pal_oracle_cancel(pal_oracle_t *o)
{
    if (!o || o->asking || !o->pending)
        return;

    /* A replay must drop the question too, since drawing it moved the
     * generator; unrecorded, the question stays, as if never dropped. */
    if (pal__oracle_log(o, PAL__JN_CANCEL, false, NULL) != PAL_OK)
        return;
    o->pending = false;
    o->vround = 0;
    pal__guide_settle(o);
}

int pal_oracle_costs(const pal_oracle_t *o, pal_oracle_costs_t *costs)
{
    pal_oracle_costs_t c;
    size_t size;

    if (!o || !costs)
        return PAL_E_NULL;
    size = costs->size;
    if (size < offsetof(pal_oracle_costs_t, deduced))
        return PAL_E_SIZE;
    c = o->costs;
    c.size = size;
    memcpy(costs, &c, size < sizeof c ? size : sizeof c);
    return PAL_OK;
}

int pal_oracle_templates(const pal_oracle_t *o, int64_t *templates,
                         int64_t capacity, int64_t *count)
{
    int64_t nc;

    if (!o || (!templates && capacity > 0))
        return PAL_E_NULL;
    if (capacity < 0)
        return PAL_E_SIZE;
    if (!with_classes(o->opts.sampler))
        return PAL_E_STATE;
    nc = o->cap_s.nclasses;
    for (int64_t k = 0; k < nc && k < capacity; k++)
        templates[k] = o->cap_s.templates[k];
    if (count)
        *count = nc;
    return PAL_OK;
}

/* ---- A class-balanced subset --------------------------------------------- */

int pal_oracle_balanced_subset(const pal_oracle_t *o, int64_t per_class,
                               int64_t capacity, int64_t *items,
                               int32_t *labels, int64_t *count)
{
    const bool classes = o && with_classes(o->opts.sampler);
    const pal__kn_t *kn;
    int32_t *lab;
    int64_t nc, *quota, *off, *fill, total = 0;

    if (!o || (capacity > 0 && (!items || !labels)))
        return PAL_E_NULL;
    if (per_class < 1)
        return PAL_E_RANGE;
    if (capacity < 0)
        return PAL_E_SIZE;
    if (PAL__MISALIGNED(items, int64_t) || PAL__MISALIGNED(labels, int32_t))
        return PAL_E_ALIGN;

    /* The class of every item, -1 for none. */
    kn = o->store->kn;
    lab = pal__alloc_array(&o->alloc, (size_t)o->n, sizeof *lab);
    if (!lab)
        return PAL_E_NOMEM;
    if (classes) {
        nc = o->cap_s.nclasses;
        memcpy(lab, o->cap_s.cls_of, (size_t)o->n * sizeof *lab);
    } else {
        nc = pal__kn_labels(kn, true, lab);
    }
    quota = pal__alloc_array(&o->alloc, 3 * (size_t)(nc > 0 ? nc : 1),
                             sizeof *quota);
    if (!quota) {
        pal__free(&o->alloc, lab);
        return PAL_E_NOMEM;
    }
    off = quota + nc;
    fill = off + nc;

    /* Each class gives min(per_class, size) items, at its offset. */
    for (int64_t c = 0; c < nc; c++)
        quota[c] = fill[c] = 0;
    for (int64_t x = 0; x < o->n; x++)
        if (lab[x] >= 0)
            quota[lab[x]]++;
    for (int64_t c = 0; c < nc; c++) {
        quota[c] = quota[c] < per_class ? quota[c] : per_class;
        off[c] = total;
        total += quota[c];
    }

    /* Templates first, then the members by smallest index. */
    for (int64_t c = 0; classes && c < nc; c++) {
        if (off[c] < capacity) {
            items[off[c]] = o->cap_s.templates[c];
            labels[off[c]] = (int32_t)c;
        }
        fill[c] = 1;
    }
    for (int64_t x = 0; x < o->n; x++) {
        int32_t c = lab[x];
        int64_t p;

        if (c < 0 || fill[c] == quota[c] ||
            (classes && o->cap_s.templates[c] == x))
            continue;
        p = off[c] + fill[c]++;
        if (p < capacity) {
            items[p] = x;
            labels[p] = c;
        }
    }
    pal__free(&o->alloc, quota);
    pal__free(&o->alloc, lab);
    if (count)
        *count = total;
    return PAL_OK;
}
