/*
 * The oracle concern: the public store around the knowledge bookkeeping,
 * and the oracles with their samplers. This is where knowledge meets
 * batches and graphs.
 */
#ifndef PAL_ORACLE_INTERNAL_H
#define PAL_ORACLE_INTERNAL_H

#include "core/internal.h"
#include "graph/graph_internal.h"
#include "knowledge/journal.h"
#include "knowledge/knowledge.h"
#include "pal/oracle.h"

struct pal_store {
    pal_allocator_t alloc;
    pal__kn_t *kn;
    pal__jn_t *jn;          /* the open journal, or NULL */
};

/* A new store bookkeeping on the same items holding the first keep
 * answers of kn's log, replayed in order: exactly the state kn had
 * after them. */
int pal__kn_rebuild(const pal__kn_t *kn, int64_t keep,
                    const pal_allocator_t *alloc, pal__kn_t **out);

/* Append the record of an undo of count answers to jn. */
int pal__store_undo_record(pal__jn_t *jn, int64_t count);

/*
 * Record one answer in kn, in a transaction of its own, with its record
 * appended to jn (when not NULL) before the commit: the body of
 * pal_store_answer, which replaying a journal runs too. All or nothing.
 */
int pal__store_record(pal__kn_t *kn, pal__jn_t *jn, int32_t i, int32_t j,
                      int answer, pal_batch_t *deduced, int *effect);

/*
 * Where the pairs an answer makes known go: I gets (i, j, g) with g_same
 * or g_diff, and J gets (i, j) too when mirror is set (PAL_REG_SAME).
 */
typedef struct pal__sink {
    pal_batch_t *batch;
    double g_same, g_diff;
    bool mirror;
} pal__sink_t;

int pal__sink_pair(void *ctx, int64_t i, int64_t j, int same);

/* The per-class bookkeeping of the captcha sampler. */
typedef struct pal__captcha {
    int64_t *templates;     /* by class, in discovery order (n slots) */
    int64_t *blocked;       /* per class: items answered unsure against it
                               whose relation is still unknown */
    int64_t nclasses;
    int32_t *rejected;      /* per item: classes that answered different */
    int32_t *promo;         /* items rejected by every class */
    int64_t npromo;
    int32_t *unsure_head;   /* per item: its unsure list, -1 if empty */
    int32_t *unsure_class;  /* pool of unsure entries: class and next */
    int32_t *unsure_next;
    int64_t nunsure, unsure_cap;
    uint32_t *mark;         /* candidates already drawn, by generation */
    uint32_t gen;
    int32_t *scratch;       /* n items for the exact candidate scan */
    int64_t *count;         /* n + 1 counters by rejection count */
    int32_t *cls_of;        /* per item: its class, or -1 (undetermined) */

    /* What the answers being applied settle beyond themselves (eager
     * mode, see pal__captcha_settle): an item founding a class, and
     * items deduced into a class, applied to the bookkeeping at commit. */
    int64_t found;          /* the founding item, or -1 */
    int64_t *ded_item;      /* cap entries */
    int64_t *ded_cls;
    int *ded_effect;
    int64_t nded;
} pal__captcha_t;

/*
 * The host's guidance of a captcha or item oracle: an embedding (kind
 * GUIDE_EMBEDDING, n x k) or scores (GUIDE_SCORES, n x k over the first k
 * classes), copied as doubles, and what the samplers derive from it.
 */
enum { PAL__GUIDE_NONE = 0, PAL__GUIDE_EMBEDDING = 1, PAL__GUIDE_SCORES = 2 };

typedef struct pal__guide {
    int kind;
    int64_t k;
    double *v;              /* n x k */
    /* Embedding: per undetermined item, the squared distance to the
     * nearest known member of a class it may belong to, and that class
     * (-1: none); valid once built. */
    double *best;
    int32_t *best_cls;
    bool valid;
    /* Per item scratch: sort keys, the likely class, a sort area. */
    double *keys;
    int32_t *likely;
    struct pal__ranked {
        double key;
        int32_t x, rej;
    } *rank;
    int64_t *per_class;     /* n counters of likely items per class, then
                               n slots: each class's first likely item */
    /* Priors by class (npriors of them), or none. */
    double *priors;
    int64_t npriors;
    double prior_mean;
    /* Priors set while a question was pending (which was drawn with the
     * priors before them): taken once it is answered or dropped. */
    double *later;
    int64_t nlater;
    bool has_later;
} pal__guide_t;

/* The passive sampler's memory of the pairs answered unsure: an open
 * addressing set of (min, max) item pairs, so that an unsure pair is not
 * asked again in a loop. Key 0 marks an empty slot. */
typedef struct pal__passive {
    uint64_t *keys;
    int64_t cap, count;     /* cap is a power of two, or 0 */
} pal__passive_t;

/* The SSL sampler: the items of each source sample, in a seeded order. */
typedef struct pal__ssl {
    int64_t nsamples;
    int64_t *start;         /* nsamples + 1 offsets into items */
    int32_t *items;
    int32_t *order;         /* the samples of the current epoch */
    int64_t pos;
} pal__ssl_t;

/* The nearest-neighbour sampler: the anchors of the current epoch, in a
 * seeded order, and the support queue: the last distinct anchors, oldest
 * first. */
typedef struct pal__nn {
    int32_t *order;         /* n items */
    int64_t pos;
    int32_t *queue;         /* qcap slots, or NULL for the whole set */
    int64_t qcap, qlen;
} pal__nn_t;

/*
 * The coarse level of a two-level oracle (levels = 2, item sampler):
 * groups found on the fly, each with a template, and the group of every
 * item (-1: not known yet). Its answers live in a store of their own
 * (top); each fine class lies in one group. Only this oracle changes
 * top, and it only compares a group's template with items of unknown
 * group, so an item is in a group or alone, and groups are pairwise
 * known different.
 */
typedef struct pal__hier {
    pal_store_t *top;       /* the coarse store, or NULL (levels = 1) */
    bool coarse;            /* the pending question is a coarse one */
    int64_t ngroups;
    int64_t *gtmpl;         /* n slots: each group's template */
    int64_t *gcount;        /* n slots: fine classes in each group */
    int32_t *grp_of;        /* per item: its group, or -1 */
    int32_t *grp_cls;       /* per fine class: its group (n slots) */
    int32_t *grej;          /* per item: groups that rejected it */
    int32_t *guess;         /* per item: the class of another group that
                               rejected it at its first question, a
                               guess made before its group was known
                               (not a rejection within its group), or -1 */
    /* Coarse unsure answers, so that an item is not offered to a group
     * in a loop: per item a list of (group, next) entries. */
    int32_t *uhead;
    int32_t *ugrp, *unext;
    int64_t nunsure, ucap;
    int64_t found;          /* an item the answers being applied make
                               found a group, or -1 */
    int64_t found_cls;      /* an item they put in a group all of whose
                               classes have rejected it (its guess was
                               the group's one class): it founds a class
                               there; or -1 */
    int64_t implied;        /* records the answers being applied add to
                               the store for the groups' sake */
} pal__hier_t;

/* The oracle's history of committed records (lib/oracle/history.c). */
typedef struct pal__hist {
    uint64_t *w;
    size_t used, cap;       /* in 64-bit words */
    int64_t count;          /* records */
} pal__hist_t;

struct pal_oracle {
    pal_allocator_t alloc;
    pal_oracle_opts_t opts;
    int reg_mode;           /* resolved */
    int64_t n;
    pal_store_t *store;
    pal__rng_t rng;         /* questions and epochs */
    pal__rng_t reg_rng;     /* regulariser pairs */
    pal_labeler_fn labeler;
    void *user;
    pal_oracle_costs_t costs;
    pal__jn_t *jn;          /* the open journal, or NULL */
    bool started;           /* a question was drawn, or an SSL step made */

    /* The pending question. */
    bool pending;
    bool asking;            /* inside the labeler */
    int64_t anchor, m, cls;
    int64_t *cand;
    pal_answer_t *answers;
    int *effects;
    int64_t cap;            /* room in cand, answers and effects */

    /* PAL_REG_HALVES: a permutation whose first half is one side. */
    int32_t *halves;
    int64_t half;

    /* Budget and stopping: candidates the next question may have (the
     * screen's room, less what the budget cannot pay for), why the last
     * question call returned PAL_DONE, and the classes counted at the
     * screen that last found one. */
    int64_t room;
    int stop;
    int64_t stall_classes, stall_mark;
    bool stop_logged;       /* the journal's last record is the stop at
                               o->stop: the same stop again needs none */

    /* Votes (opts.votes > 1): the round of the pending question (0 for
     * its first showing), the candidates shown in this round (vm of
     * them, vshow) and where they stand in cand (vpos); per candidate of
     * cand, its answers same and different so far, whether it is still
     * being voted, and its verdict. */
    int64_t vround, vm;
    int64_t *vshow, *vpos;
    int32_t *vsame, *vdiff;
    unsigned char *vopen;
    pal_answer_t *verdict;

    pal__hist_t hist;       /* every record committed, for undo */
    bool replaying;         /* a blank oracle being replayed into: its
                               history takes the records as read */

    bool guided;            /* the pending question was drawn with
                               guidance (its journal record says so) */
    int64_t refined_cls;    /* the class whose template the last draw
                               refined, or -1, and its template before */
    int64_t refined_from;

    pal__captcha_t cap_s;
    pal__hier_t hier;
    pal__guide_t guide;
    pal__passive_t pas_s;
    pal__ssl_t ssl;
    pal__nn_t nn;

    /* PAL_SAMPLER_CUSTOM: the host's sampler, and marks by generation
     * (n entries) to check that candidates are distinct. */
    pal_sampler_fn sampler;
    void *sampler_user;
    uint32_t *cmark;
    uint32_t cgen;
};

/* Draw the next question with the oracle's sampler: PAL_OK with a
 * pending question, PAL_DONE (with its stop reason set, and recorded in
 * the journal if one is open), or an error (then nothing changed). */
int pal__oracle_question(pal_oracle_t *o);

/*
 * Replay of a stop record: the question call that stopped for reason,
 * which must be the reason o stops for now (PAL_E_FORMAT otherwise).
 * A custom oracle's sampler is not called: when no other condition
 * holds, the host's sampler had nothing to propose.
 */
int pal__oracle_replay_stop(pal_oracle_t *o, int reason);

/* The most candidates the next question may have: the screen's room,
 * less what the budget cannot pay for if every one is answered. */
int64_t pal__oracle_room(const pal_oracle_t *o);

/*
 * Apply answers to the pending question, all or nothing. regs draws the
 * regulariser pairs of the random J modes (into batch when not NULL), as
 * a step with a batch does; a journal records whether it did, so that a
 * replay draws them too and leaves the generator where it was.
 */
int pal__oracle_apply(pal_oracle_t *o, const pal_answer_t *answers,
                      pal_batch_t *batch, bool regs);

/*
 * Append the record of what the oracle is about to commit to its
 * journal, if one is open: a screen with its answers (PAL__JN_SCREEN),
 * the pending question dropped (PAL__JN_CANCEL), the SSL step about to
 * be made (PAL__JN_SSL) or the stop at o->stop (PAL__JN_STOP). PAL_OK
 * when no journal is open.
 */
int pal__oracle_log(pal_oracle_t *o, int type, bool regs,
                    const pal_answer_t *answers);

/* History (lib/oracle/history.c). Reserve room for rec before the call
 * that commits it (PAL_E_NOMEM, nothing changed), then push it, which
 * cannot fail. Decode the record at word at into rec, with room in
 * cand, ans and priors for its m entries; returns its length in words. */
int pal__hist_reserve(pal_oracle_t *o, const pal__jn_rec_t *rec,
                      bool answers);
void pal__hist_push(pal_oracle_t *o, const pal__jn_rec_t *rec,
                    const pal_answer_t *answers);
size_t pal__hist_decode(const pal_oracle_t *o, size_t at, pal__jn_rec_t *rec,
                        int64_t *cand, unsigned char *ans, double *priors);
size_t pal__hist_words(const pal_oracle_t *o, size_t at);
void pal__hist_free(pal_oracle_t *o);

/* The question shown now: the pending one, or its candidates still
 * being voted on (a re-ask round). */
void pal__oracle_shown(const pal_oracle_t *o, int64_t *m,
                       const int64_t **cand);

/* Samplers. Each next function leaves a pending question (PAL_OK), or
 * returns PAL_DONE or an error without one. */
int pal__captcha_init(pal_oracle_t *o);
void pal__captcha_free(pal_oracle_t *o);
int pal__captcha_next(pal_oracle_t *o);
int pal__captcha_reserve(pal_oracle_t *o, const pal_answer_t *answers);
/* Room in an unsure list (parallel arrays what and next, used entries of
 * cap) for the unsure answers among answers to the pending question. */
int pal__unsure_reserve(pal_oracle_t *o, const pal_answer_t *answers,
                        int64_t used, int64_t *cap, int32_t **what,
                        int32_t **next);

/* Add entry v (a class or group) to item x's unsure list (head[x], in
 * the pool what / next of *used entries, reserved before). */
static inline void pal__unsure_push(int32_t *what, int32_t *next,
                                    int32_t *head, int64_t *used, int32_t x,
                                    int64_t v)
{
    int32_t e = (int32_t)(*used)++;

    what[e] = (int32_t)v;
    next[e] = head[x];
    head[x] = e;
}

/* True when the unsure list starting at e holds v. */
static inline bool pal__unsure_has(const int32_t *what, const int32_t *next,
                                   int32_t e, int64_t v)
{
    for (; e >= 0; e = next[e])
        if (what[e] == v)
            return true;
    return false;
}
void pal__captcha_learn(pal_oracle_t *o, const pal_answer_t *answers);

/*
 * True when the oracle founds classes in the step that rejects an item
 * from every class and deduces the last class (the item sampler, or
 * num_classes known); otherwise a class is founded when the next
 * question is drawn, as the first captcha sampler did.
 */
bool pal__captcha_eager(const pal_oracle_t *o);

/* Lazy founding: an item every class rejected founds a class, drawn at
 * random among them. Returns true when a class was founded. */
bool pal__captcha_found(pal_oracle_t *o);

/*
 * Eager mode, inside the answers' store transaction: find what the
 * answers to the pending question settle (an item founding a class,
 * items deduced into the last class), and record the deductions in the
 * store, their pairs going to emit. On failure nothing of it is kept
 * but what the transaction rolls back.
 */
int pal__captcha_settle(pal_oracle_t *o, const pal_answer_t *answers,
                        pal__kn_emit_fn emit, void *ctx);

/* A new generation of the captcha's marks (n items): an item is marked
 * in it when mark[x] equals the value returned. */
uint32_t pal__captcha_mark(pal__captcha_t *c, int64_t n);

/* True when item x may be asked against class cls (whose template's root
 * is root): undetermined relation, not answered unsure before. */
bool pal__captcha_askable(pal_oracle_t *o, int32_t x, int32_t root,
                          int64_t cls);

/* Found the next class with template x (in eager mode, or with
 * levels = 2 the group of x): the bookkeeping only, not the store. */
void pal__captcha_add_class(pal_oracle_t *o, int32_t x);

/* The item sampler. */
int pal__item_next(pal_oracle_t *o);
/* Item progress, for the item order: classes and groups that rejected
 * x, and whether its group is known. */
int64_t pal__item_progress(const pal_oracle_t *o, int32_t x);

/* The coarse level (lib/oracle/hier.c), levels = 2. */
int pal__hier_init(pal_oracle_t *o);
void pal__hier_free(pal_oracle_t *o);
/* Fine classes item x may still be found in: those of its group (or
 * every class with levels = 1). */
int64_t pal__hier_avail(const pal_oracle_t *o, int32_t x);
/* Levels = 2: x is of class cls's group (checked by askable). */
bool pal__hier_in_group(const pal_oracle_t *o, int32_t x, int64_t cls);
/* x may still be asked a coarse question (unknown group, a group left
 * to ask it against). */
bool pal__hier_open(const pal_oracle_t *o, int32_t x);
/* x may be asked against the class its guidance finds most likely
 * before its group is known: a guess, its first question (levels 2). */
bool pal__hier_guess_ok(const pal_oracle_t *o, int32_t x);
/* Inside the transactions of a fine commit: an item of unknown group
 * answered "same" (a guess) joins the class's group in the coarse
 * store. */
int pal__hier_guessed(pal_oracle_t *o, const pal_answer_t *answers);
/* x may be asked against group g. */
bool pal__hier_askable(pal_oracle_t *o, int32_t x, int64_t g);
/* The coarse question for x: its most likely group's template. */
int pal__hier_ask(pal_oracle_t *o, int32_t x);
/* Replay of a coarse question drawn with guidance (as
 * pal__guided_adopt). */
int pal__hier_adopt(pal_oracle_t *o, int64_t a, int64_t m,
                    const int64_t *cand);
int pal__hier_reserve(pal_oracle_t *o, const pal_answer_t *answers);
/*
 * Inside the transactions of a coarse commit (answers already in top):
 * an item every group rejected founds a group and a class, known
 * different from every class in the fine store (pairs to emit).
 */
int pal__hier_settle(pal_oracle_t *o, const pal_answer_t *answers,
                     pal__kn_emit_fn emit, void *ctx);
/* A class founded by x in group g (-1: a new group), inside the fine
 * store's transaction: x is known different from the classes of the
 * other groups. */
int pal__hier_apart(pal_oracle_t *o, int32_t x, int64_t g,
                    pal__kn_emit_fn emit, void *ctx);
void pal__hier_learn(pal_oracle_t *o, const pal_answer_t *answers);
/* The guidance may place undetermined item x in class q: askable, or
 * with x's group unknown, q's group may be x's. */
bool pal__guide_may(pal_oracle_t *o, int32_t x, int32_t root, int64_t q);

/*
 * Replay of a question drawn with guidance: take the recorded question
 * (anchor a, m candidates) as the pending one after checking that the
 * oracle could ask it now. PAL_E_FORMAT when it could not.
 */
int pal__guided_adopt(pal_oracle_t *o, int64_t a, int64_t m,
                      const int64_t *cand);

/* Guidance. */
void pal__guide_free(pal_oracle_t *o);
/* The pending question was answered or dropped: priors set since it
 * was drawn take over. */
void pal__guide_settle(pal_oracle_t *o);
/* True when k priors p weigh the classes as the k2 priors q do. */
bool pal__priors_same(const double *p, int64_t k, const double *q,
                      int64_t k2);
/* Exchange the priors (those in force and those to take later). */
void pal__priors_swap(pal__guide_t *a, pal__guide_t *b);
/*
 * Append a priors record to jn (when not NULL): k priors p, set while a
 * question was pending when later is set.
 */
int pal__priors_log(pal_oracle_t *o, pal__jn_t *jn, int64_t k,
                    const double *p, bool later);
/* Replay of a priors record: PAL_E_FORMAT when o could not have taken
 * them; PAL_E_NOMEM. */
int pal__priors_replay(pal_oracle_t *o, int64_t k, const double *p,
                       bool later);
bool pal__guide_on(const pal_oracle_t *o);
/* The per-item arrays of the guidance (and of the two-level captcha's
 * ranking), made once. */
int pal__guide_room(pal_oracle_t *o);
/* Build the embedding cache if it is not valid. */
void pal__guide_refresh(pal_oracle_t *o);
/* After a commit: item x joined class cls; item x was answered other
 * than same against class cls. */
void pal__guide_join(pal_oracle_t *o, int32_t x, int64_t cls);
void pal__guide_reject(pal_oracle_t *o, int32_t x, int64_t cls);
/* The classes undetermined item x may belong to changed: find its
 * nearest one again. */
void pal__guide_recheck(pal_oracle_t *o, int32_t x);
/* With refine_templates and an embedding: make the member of class cls
 * nearest its centre the class's template (noted in o->refined_cls and
 * o->refined_from, for a draw that fails to put back). */
void pal__guide_refine(pal_oracle_t *o, int64_t cls);
/* Squared distance between the embedding rows of items a and b. */
double pal__guide_dist(const pal__guide_t *g, int32_t a, int32_t b);
/* The prior weight of class c (1 without priors). */
double pal__guide_prior(const pal__guide_t *g, int64_t c);
/* The likely class of undetermined item x (-1 if none) with its key
 * (smaller is more likely), from the guidance. */
int32_t pal__guide_likely(pal_oracle_t *o, int32_t x, double *key);
/* Distance key of x to class cls (smaller is nearer): the squared
 * distance to its nearest known member, or minus its score. */
double pal__guide_key(pal_oracle_t *o, int32_t x, int64_t cls);
/* The guided captcha question. */
int pal__captcha_guided(pal_oracle_t *o);

int pal__passive_next(pal_oracle_t *o);
int pal__passive_reserve(pal_oracle_t *o, const pal_answer_t *answers);
void pal__passive_learn(pal_oracle_t *o, const pal_answer_t *answers);
void pal__passive_free(pal_oracle_t *o);

int pal__ssl_init(pal_oracle_t *o, const int64_t *source);
void pal__ssl_free(pal_oracle_t *o);
/* One SSL step; regs as for pal__oracle_apply. */
int pal__ssl_step(pal_oracle_t *o, pal_batch_t *batch, bool regs);

int pal__nn_init(pal_oracle_t *o);
void pal__nn_free(pal_oracle_t *o);
/* One nearest-neighbour step; regs as for pal__oracle_apply. */
int pal__nn_step(pal_oracle_t *o, pal_batch_t *batch, bool regs);

/*
 * The custom sampler: ask the host's sampler for a question and take it
 * (PAL_OK with a pending question, PAL_DONE, PAL_E_STATE without a
 * sampler, PAL_E_CALLBACK for a failure or a question refused).
 */
int pal__custom_next(pal_oracle_t *o);
/*
 * Check the question (anchor a, m candidates) and make it the pending
 * one. Candidates already settled are dropped, unless exact is set
 * (replay of a recorded question, which must stand as it is). Returns
 * PAL_OK, or bad (the caller's code for a refused question).
 */
int pal__custom_adopt(pal_oracle_t *o, int64_t a, int64_t m,
                      const int64_t *cand, bool exact, int bad);

/* Draw the J pairs of the random modes (reg_pairs of them), appending
 * them to batch unless it is NULL. */
int pal__oracle_regs(pal_oracle_t *o, pal_batch_t *batch);

#endif /* PAL_ORACLE_INTERNAL_H */
