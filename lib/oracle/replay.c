/*
 * Journals of stores and oracles: what goes in a record, and replaying
 * the records when a journal is opened again. The file itself is
 * lib/knowledge/journal.c's concern.
 *
 * A store's record is one answer; replaying it runs the body of
 * pal_store_answer. An oracle's record is what one of its calls
 * committed: a screen with its answers, a question dropped unanswered,
 * an SSL step, a stop, or class priors set. Replaying a screen draws the
 * question through the oracle's own sampler, checks that it is the
 * recorded one, and applies the recorded answers, so that the sampler's
 * state (its generators, its classes) comes back with the store's; the
 * priors come back between the same questions, so that the questions
 * they weighed are drawn again alike.
 *
 * Records are replayed into a blank copy of the store's bookkeeping, or
 * of the whole oracle, which replaces the original only once the journal
 * is open: a failure at any point leaves the original as it was.
 */
#include "oracle_internal.h"

static int check_info(const pal_journal_info_t *info)
{
    return info && info->size < sizeof *info ? PAL_E_SIZE : PAL_OK;
}

static void fill_info(pal_journal_info_t *info, const pal__jn_found_t *f)
{
    pal_journal_info_t r;

    if (!info)
        return;
    memset(&r, 0, sizeof r);
    r.size = info->size;
    r.created = f->created;
    r.records = f->records;
    r.answers = f->answers;
    r.bytes_kept = f->bytes_kept;
    r.bytes_cut = f->bytes_cut;
    memcpy(info, &r, sizeof r);
}

/* ---- Stores -------------------------------------------------------------- */

/* What a store's replay works on: the bookkeeping, replaced by an
 * undo. */
typedef struct store_replay_ctx {
    pal__kn_t *kn;
    const pal_allocator_t *alloc;
} store_replay_ctx_t;

static int store_replay(void *ctx, const pal__jn_rec_t *rec)
{
    store_replay_ctx_t *c = ctx;
    int64_t answers = pal__kn_counts(c->kn)->answers;
    pal__kn_t *fresh;
    int eff, rc;

    if (rec->type == PAL__JN_ANSWER)
        return pal__store_record(c->kn, NULL, (int32_t)rec->a,
                                 (int32_t)rec->b, rec->ans[0], NULL, &eff);
    if (rec->a > answers)
        return PAL_E_FORMAT;
    rc = pal__kn_rebuild(c->kn, answers - rec->a, c->alloc, &fresh);
    if (rc != PAL_OK)
        return rc;
    pal__kn_destroy(c->kn);
    c->kn = fresh;
    return PAL_OK;
}

int pal_store_journal_open(pal_store_t *s, const char *path, unsigned flags,
                           pal_journal_info_t *info)
{
    pal__jn_spec_t spec;
    pal__jn_found_t found;
    store_replay_ctx_t ctx = {NULL, NULL};
    pal__jn_t *jn = NULL;
    int rc;

    if (!s || !path)
        return PAL_E_NULL;
    if (flags & ~(unsigned)PAL_JOURNAL_SYNC)
        return PAL_E_RANGE;
    rc = check_info(info);
    if (rc != PAL_OK)
        return rc;
    if (s->jn || pal__kn_counts(s->kn)->answers > 0)
        return PAL_E_STATE;

    memset(&spec, 0, sizeof spec);
    spec.kind = PAL__JN_STORE;
    spec.n = pal__kn_n(s->kn);
    spec.sync = flags & PAL_JOURNAL_SYNC;
    ctx.alloc = &s->alloc;
    rc = pal__kn_create(&ctx.kn, pal__kn_n(s->kn), &s->alloc);
    if (rc == PAL_OK)
        rc = pal__jn_open(&jn, path, &spec, &s->alloc, store_replay, &ctx,
                          &found);
    if (rc != PAL_OK) {
        pal__kn_destroy(ctx.kn);
        return rc;
    }
    pal__kn_destroy(s->kn);
    s->kn = ctx.kn;
    s->jn = jn;
    fill_info(info, &found);
    return PAL_OK;
}

int pal_store_journal_close(pal_store_t *s)
{
    int rc;

    if (!s)
        return PAL_E_NULL;
    rc = pal__jn_close(s->jn, true);
    s->jn = NULL;
    return rc;
}

/* ---- Oracles ------------------------------------------------------------- */

/* Write rec to the journal jn (if any) and to the history of h: all or
 * nothing. answers (m of them, or NULL) go in as rec's answers. */
static int record(pal_oracle_t *h, pal__jn_t *jn, const pal__jn_rec_t *rec,
                  const pal_answer_t *answers)
{
    int rc;

    /* A replay records what it replays itself, as read. */
    if (h->replaying) {
        if (!jn)
            return PAL_OK;
        h = NULL;
    }
    rc = h ? pal__hist_reserve(h, rec, answers != NULL) : PAL_OK;

    if (rc == PAL_OK && jn) {
        pal__jn_rec_t *st = pal__jn_stage(jn);

        st->type = rec->type;
        st->flags = rec->flags;
        st->a = rec->a;
        st->b = rec->b;
        st->m = rec->m;
        st->priors = rec->priors;
        if (rec->cand)
            memcpy(st->cand, rec->cand, (size_t)rec->m * sizeof *rec->cand);
        for (int64_t k = 0; answers && k < rec->m; k++)
            st->ans[k] = (unsigned char)answers[k];
        rc = pal__jn_append(jn, st);
    }
    if (rc == PAL_OK && h)
        pal__hist_push(h, rec, answers);
    return rc;
}

int pal__oracle_log(pal_oracle_t *o, int type, bool regs,
                    const pal_answer_t *answers)
{
    pal__jn_rec_t rec;
    int rc;

    memset(&rec, 0, sizeof rec);
    rec.type = type;
    rec.flags = regs ? PAL__JN_REGS : 0u;
    if ((type == PAL__JN_SCREEN || type == PAL__JN_CANCEL) && o->guided)
        rec.flags |= PAL__JN_GUIDED;
    if ((type == PAL__JN_SCREEN || type == PAL__JN_CANCEL) && o->hier.coarse)
        rec.flags |= PAL__JN_COARSE;
    if (type == PAL__JN_SSL) {
        rec.a = o->ssl.order[o->ssl.pos];
    } else if (type == PAL__JN_VOTE) {
        /* A re-ask round: the candidates shown again. */
        rec.a = o->anchor;
        rec.m = o->vm;
        rec.cand = o->vshow;
    } else if (type == PAL__JN_STOP) {
        rec.a = o->stop;
    } else {
        rec.a = o->anchor;
        rec.m = o->m;
        rec.cand = o->cand;
    }
    rc = record(o, o->jn, &rec,
                type == PAL__JN_SCREEN || type == PAL__JN_VOTE ? answers
                                                               : NULL);
    if (rc == PAL_OK)
        o->stop_logged = type == PAL__JN_STOP;
    return rc;
}

int pal__priors_log(pal_oracle_t *o, pal__jn_t *jn, int64_t k,
                    const double *p, bool later)
{
    pal__jn_rec_t rec;

    memset(&rec, 0, sizeof rec);
    rec.type = PAL__JN_PRIORS;
    rec.flags = later ? PAL__JN_LATER : 0u;
    rec.m = k;
    rec.priors = p;
    return record(o, jn, &rec, NULL);
}

static uint64_t double_bits(double x)
{
    uint64_t u;

    memcpy(&u, &x, sizeof u);
    return u;
}

/*
 * What makes two oracles on n items run alike: the options that shape
 * their questions and the state of their generators. negative_weight
 * only changes the weights put in batches, and is left out. Options
 * added later are folded in only when they differ from their defaults,
 * so that the journals written before them still open.
 */
static uint64_t fingerprint(const pal_oracle_t *o)
{
    const pal_oracle_opts_t *op = &o->opts;
    uint64_t h = PAL__JN_FOLD_INIT;

    h = pal__jn_fold(h, 1);   /* how this fingerprint is made */
    h = pal__jn_fold(h, (uint64_t)op->sampler);
    h = pal__jn_fold(h, op->seed);
    h = pal__jn_fold(h, (uint64_t)o->reg_mode);
    h = pal__jn_fold(h, (uint64_t)op->reg_pairs);
    if (op->sampler == PAL_SAMPLER_CAPTCHA) {
        h = pal__jn_fold(h, (uint64_t)op->screen_size);
        h = pal__jn_fold(h, (uint64_t)op->candidates);
    }
    if (op->sampler == PAL_SAMPLER_ITEM)
        h = pal__jn_fold(h, (uint64_t)op->item_order);
    if (op->sampler == PAL_SAMPLER_CUSTOM)
        h = pal__jn_fold(h, (uint64_t)op->screen_size);
    if (op->num_classes != 0)
        h = pal__jn_fold(h, (uint64_t)op->num_classes);
    /* Each of the later options goes in after a tag of its own, so that
     * one set alone never folds like another. */
    if (op->budget != 0.0) {
        /* The budget shapes the screens only through the cost model. */
        h = pal__jn_fold(h, 0x6275646765747376u);
        h = pal__jn_fold(h, double_bits(op->budget));
        h = pal__jn_fold(h, double_bits(op->cost_screen));
        h = pal__jn_fold(h, double_bits(op->cost_candidate));
        h = pal__jn_fold(h, double_bits(op->cost_answer));
    }
    if (op->stall_screens != 0) {
        h = pal__jn_fold(h, 0x7374616c6cu);
        h = pal__jn_fold(h, (uint64_t)op->stall_screens);
    }
    if (op->refine_templates) {
        h = pal__jn_fold(h, 0x726566696e65u);
        h = pal__jn_fold(h, (uint64_t)op->refine_templates);
    }
    if (op->levels > 1) {
        h = pal__jn_fold(h, 0x6c6576656c73u);
        h = pal__jn_fold(h, (uint64_t)op->levels);
    }
    if (op->votes > 1) {
        h = pal__jn_fold(h, 0x766f746573u);
        h = pal__jn_fold(h, (uint64_t)op->votes);
        h = pal__jn_fold(h, (uint64_t)op->vote_on);
    }
    if (op->sampler == PAL_SAMPLER_SSL) {
        /* The samples, from the views or the source array. */
        for (int64_t v = 0; v <= o->n; v++)
            h = pal__jn_fold(h, (uint64_t)o->ssl.start[v]);
        for (int64_t p = 0; p < o->n; p++)
            h = pal__jn_fold(h, (uint64_t)o->ssl.items[p]);
    }
    return h != 0 ? h : 1;
}

/* A new oracle as o was when it was created. */
static int blank_oracle(const pal_oracle_t *o, pal_oracle_t **out)
{
    pal_oracle_opts_t op = o->opts;
    int64_t *source = NULL;
    int rc;

    /* The source array was read at creation only; the samples keep it. */
    if (op.sampler == PAL_SAMPLER_SSL) {
        source = pal__alloc_array(&o->alloc, (size_t)o->n, sizeof *source);
        if (!source)
            return PAL_E_NOMEM;
        for (int64_t v = 0; v < o->n; v++)
            for (int64_t p = o->ssl.start[v]; p < o->ssl.start[v + 1]; p++)
                source[o->ssl.items[p]] = v;
        op.source = source;
    }
    rc = pal_oracle_create(out, o->n, &op, &o->alloc);
    pal__free(&o->alloc, source);
    if (rc == PAL_OK)
        (*out)->replaying = true;
    return rc;
}

static int replay_one(pal_oracle_t *o, const pal__jn_rec_t *rec);

/* Replay one record other than an undo into o, then keep it in o's
 * history. */
static int replay_kept(pal_oracle_t *o, const pal__jn_rec_t *rec)
{
    bool ans = rec->type == PAL__JN_SCREEN || rec->type == PAL__JN_VOTE;
    int rc = pal__hist_reserve(o, rec, ans);

    if (rc == PAL_OK)
        rc = replay_one(o, rec);
    if (rc != PAL_OK)
        return rc;
    for (int64_t k = 0; ans && k < rec->m; k++)
        o->answers[k] = (pal_answer_t)rec->ans[k];
    pal__hist_push(o, rec, ans ? o->answers : NULL);
    return PAL_OK;
}

static int replay_one(pal_oracle_t *o, const pal__jn_rec_t *rec)
{
    bool regs = rec->flags & PAL__JN_REGS;
    int rc;

    if (rec->type == PAL__JN_SSL) {
        if (o->opts.sampler != PAL_SAMPLER_SSL ||
            rec->a != o->ssl.order[o->ssl.pos])
            return PAL_E_FORMAT;
        o->stop_logged = false;
        return pal__ssl_step(o, NULL, regs);
    }
    if (o->opts.sampler == PAL_SAMPLER_SSL)
        return PAL_E_FORMAT;
    if (rec->type == PAL__JN_STOP)
        return pal__oracle_replay_stop(o, (int)rec->a);
    if (rec->type == PAL__JN_PRIORS)
        return pal__priors_replay(o, rec->m, rec->priors,
                                  rec->flags & PAL__JN_LATER);
    o->stop_logged = false;

    /* A question being voted on: the next record is a round of its
     * vote, or its cancellation. */
    if (o->pending) {
        int64_t shown;
        const int64_t *list;

        if (rec->type == PAL__JN_CANCEL) {
            if (rec->a != o->anchor || rec->m != o->m ||
                memcmp(rec->cand, o->cand, (size_t)o->m * sizeof *o->cand) != 0)
                return PAL_E_FORMAT;
            o->pending = false;
            o->vround = 0;
            pal__guide_settle(o);
            return PAL_OK;
        }
        pal__oracle_shown(o, &shown, &list);
        if (rec->type != PAL__JN_VOTE || o->vround == 0 ||
            rec->a != o->anchor || rec->m != shown ||
            memcmp(rec->cand, list, (size_t)shown * sizeof *list) != 0)
            return PAL_E_FORMAT;
        for (int64_t k = 0; k < shown; k++)
            o->answers[k] = (pal_answer_t)rec->ans[k];
        return pal__oracle_apply(o, o->answers, NULL, regs);
    }
    if (rec->type == PAL__JN_VOTE)
        return PAL_E_FORMAT;

    /* A question drawn with the host's guidance, which the journal does
     * not hold, is taken as recorded once it proves askable, and
     * affordable. */
    o->room = pal__oracle_room(o);
    if (o->opts.sampler == PAL_SAMPLER_CUSTOM) {
        /* The host's questions replay as recorded, without its sampler. */
        if (!(rec->flags & PAL__JN_GUIDED))
            return PAL_E_FORMAT;
        o->started = true;
        rc = pal__custom_adopt(o, rec->a, rec->m, rec->cand, true,
                               PAL_E_FORMAT);
    } else if (rec->flags & PAL__JN_GUIDED) {
        if (o->opts.sampler == PAL_SAMPLER_PASSIVE)
            return PAL_E_FORMAT;
        o->started = true;
        o->hier.coarse = false;
        rc = rec->flags & PAL__JN_COARSE
                 ? pal__hier_adopt(o, rec->a, rec->m, rec->cand)
                 : pal__guided_adopt(o, rec->a, rec->m, rec->cand);
    } else {
        rc = pal__oracle_question(o);
    }
    if (rc == PAL_DONE)
        return PAL_E_FORMAT;
    if (rc != PAL_OK)
        return rc;
    o->stop = PAL_STOP_NONE;   /* as drawing the question did */
    if (o->hier.coarse != ((rec->flags & PAL__JN_COARSE) != 0) ||
        o->anchor != rec->a || o->m != rec->m ||
        memcmp(o->cand, rec->cand, (size_t)o->m * sizeof *o->cand) != 0)
        return PAL_E_FORMAT;
    if (rec->type == PAL__JN_CANCEL) {
        o->pending = false;
        pal__guide_settle(o);
        return PAL_OK;
    }
    for (int64_t k = 0; k < o->m; k++)
        o->answers[k] = (pal_answer_t)rec->ans[k];
    return pal__oracle_apply(o, o->answers, NULL, regs);
}

/*
 * Give o the state of b, and b the state of o, except for what the host
 * holds: each keeps its store objects (whose addresses the host may have
 * from pal_oracle_store and pal_oracle_coarse_store), and o keeps its
 * labeler.
 */
static void swap_state(pal_oracle_t *o, pal_oracle_t *b)
{
    pal_oracle_t t = *o;
    pal_store_t *s;
    pal__kn_t *kn;

    *o = *b;
    *b = t;
    s = o->store;
    o->store = b->store;
    b->store = s;
    kn = o->store->kn;
    o->store->kn = b->store->kn;
    b->store->kn = kn;
    /* The coarse store too (pal_oracle_coarse_store). */
    if (o->hier.top) {
        s = o->hier.top;
        o->hier.top = b->hier.top;
        b->hier.top = s;
        kn = o->hier.top->kn;
        o->hier.top->kn = b->hier.top->kn;
        b->hier.top->kn = kn;
    }
    o->labeler = b->labeler;
    o->user = b->user;
    o->sampler = b->sampler;
    o->sampler_user = b->sampler_user;

    /* The host's guidance stays with o too; the distances it had cached
     * are for the state before the replay. The priors are the replay's:
     * the journal holds them. */
    t.guide = o->guide;
    o->guide = b->guide;
    b->guide = t.guide;
    o->guide.valid = false;
    pal__priors_swap(&o->guide, &b->guide);
}

/*
 * Priors set on o before the open stay, as the rest of its guidance
 * does: unless the replay b ends with the same ones, they are recorded
 * after it and b takes them (leaving b's own to o, to be swapped back).
 */
static int keep_priors(pal_oracle_t *o, pal_oracle_t *b, pal__jn_t *jn)
{
    const pal__guide_t *g = &o->guide, *r = &b->guide;
    int rc;

    if (g->npriors == 0 ||
        (!r->has_later &&
         pal__priors_same(g->priors, g->npriors, r->priors, r->npriors)))
        return PAL_OK;
    rc = pal__priors_log(b, jn, g->npriors, g->priors, false);
    if (rc != PAL_OK)
        return rc;
    pal__priors_swap(&o->guide, &b->guide);
    b->stop_logged = false;
    return PAL_OK;
}

/* ---- Undo ---------------------------------------------------------------- */

/*
 * Rebuild o without its last answered question: the records of its
 * history before the screen that began that question are replayed into
 * a blank oracle, which then takes o's place (o keeps what the host
 * holds). With log set and a journal open, the undo is recorded first.
 * PAL_E_STATE when no question was answered; on any error nothing
 * changes.
 */
static int undo_rebuild(pal_oracle_t *o, bool log)
{
    pal__jn_rec_t rec;
    pal_oracle_t *b = NULL;
    pal__jn_t *jn;
    int64_t *cand;
    unsigned char *ans;
    double *priors;
    size_t at, cut = SIZE_MAX;
    int rc;

    for (at = 0; at < o->hist.used; at += pal__hist_words(o, at))
        if ((o->hist.w[at] & 0xffu) == PAL__JN_SCREEN)
            cut = at;
    if (cut == SIZE_MAX)
        return PAL_E_STATE;

    cand = pal__alloc_array(&o->alloc, (size_t)o->n, sizeof *cand);
    ans = pal__alloc_array(&o->alloc, (size_t)o->n, sizeof *ans);
    priors = pal__alloc_array(&o->alloc, (size_t)o->n, sizeof *priors);
    rc = cand && ans && priors ? blank_oracle(o, &b) : PAL_E_NOMEM;
    for (at = 0; rc == PAL_OK && at < cut;) {
        at += pal__hist_decode(o, at, &rec, cand, ans, priors);
        rc = replay_kept(b, &rec);
    }
    pal__free(&o->alloc, cand);
    pal__free(&o->alloc, ans);
    pal__free(&o->alloc, priors);
    if (rc == PAL_OK && log && o->jn) {
        /* Into the journal (o's history, which it also reaches, goes
         * with b below). */
        memset(&rec, 0, sizeof rec);
        rec.type = PAL__JN_UNDO;
        rec.a = 1;
        rc = record(o, o->jn, &rec, NULL);
    }
    if (rc != PAL_OK) {
        pal_oracle_destroy(b);
        return rc;
    }
    jn = o->jn;
    o->jn = NULL;
    swap_state(o, b);
    o->jn = jn;
    o->replaying = b->replaying;
    pal_oracle_destroy(b);
    return PAL_OK;
}

/* A journal's record: an undo (of one question: the history, which an
 * undo cuts, does not keep it), or any other, replayed and kept. */
static int oracle_replay(void *ctx, const pal__jn_rec_t *rec)
{
    pal_oracle_t *o = ctx;

    if (rec->type == PAL__JN_UNDO)
        return rec->a == 1 ? undo_rebuild(o, false) : PAL_E_FORMAT;
    return replay_kept(o, rec);
}

int pal_oracle_undo(pal_oracle_t *o)
{
    if (!o)
        return PAL_E_NULL;
    if (o->asking || o->opts.sampler == PAL_SAMPLER_SSL ||
        o->opts.sampler == PAL_SAMPLER_NN)
        return PAL_E_STATE;
    return undo_rebuild(o, true);
}

int pal_oracle_journal_open(pal_oracle_t *o, const char *path,
                            unsigned flags, pal_journal_info_t *info)
{
    pal__jn_spec_t spec;
    pal__jn_found_t found;
    pal_oracle_t *b = NULL;
    pal__jn_t *jn = NULL;
    int rc;

    if (!o || !path)
        return PAL_E_NULL;
    if (flags & ~(unsigned)PAL_JOURNAL_SYNC)
        return PAL_E_RANGE;
    rc = check_info(info);
    if (rc != PAL_OK)
        return rc;
    if (o->jn || o->started || o->pending || o->asking ||
        o->opts.sampler == PAL_SAMPLER_NN)
        return PAL_E_STATE;

    memset(&spec, 0, sizeof spec);
    spec.kind = PAL__JN_ORACLE;
    spec.n = o->n;
    spec.fingerprint = fingerprint(o);
    spec.max_m = o->cap;
    if (o->opts.sampler == PAL_SAMPLER_CAPTCHA ||
        o->opts.sampler == PAL_SAMPLER_ITEM)
        spec.max_priors = o->n < PAL__JN_MAX_PRIORS ? o->n
                                                    : PAL__JN_MAX_PRIORS;
    spec.sync = flags & PAL_JOURNAL_SYNC;
    rc = blank_oracle(o, &b);
    if (rc == PAL_OK)
        rc = pal__jn_open(&jn, path, &spec, &o->alloc, oracle_replay, b,
                          &found);
    if (rc == PAL_OK) {
        b->replaying = false;
        rc = keep_priors(o, b, jn);
        if (rc != PAL_OK)
            pal__jn_close(jn, false);
    }
    if (rc != PAL_OK) {
        pal_oracle_destroy(b);
        return rc;
    }
    swap_state(o, b);
    pal_oracle_destroy(b);
    o->jn = jn;
    fill_info(info, &found);
    return PAL_OK;
}

int pal_oracle_journal_close(pal_oracle_t *o)
{
    int rc;

    if (!o)
        return PAL_E_NULL;
    /* A screen being answered must reach the file it was opened with. */
    if (o->asking)
        return PAL_E_STATE;
    rc = pal__jn_close(o->jn, true);
    o->jn = NULL;
    return rc;
}
