/*
 * The knowledge store's bookkeeping: what is known about n items, as
 * must-link components and cannot-links between whole components, with
 * exact counters, an answer log and transactions that roll back exactly.
 *
 * This part knows nothing of graphs, batches or losses. Items are int32
 * indices in [0, n); the callers check every argument. Functions taking
 * a const store never modify it, so that they may run concurrently.
 */
#ifndef PAL_KNOWLEDGE_H
#define PAL_KNOWLEDGE_H

#include "core/internal.h"
#include "pal/oracle.h"

typedef struct pal__kn pal__kn_t;

/* Answers, relations and effects, with the values of the public enums
 * pal_answer_t, pal_relation_t and pal_effect_t. */
enum {
    PAL__KN_DIFFERENT = 0,
    PAL__KN_SAME = 1,
    PAL__KN_UNSURE = 2
};

enum {
    PAL__KN_REL_UNKNOWN = 0,
    PAL__KN_REL_SAME = 1,
    PAL__KN_REL_DIFFERENT = 2
};

enum {
    PAL__KN_NEW = 0,
    PAL__KN_KNOWN = 1,
    PAL__KN_CONFLICT = 2,
    PAL__KN_IGNORED = 3   /* an unsure answer */
};

/* The store's counters; see pal_store_stats_t for their meaning. */
typedef struct pal__kn_counts {
    int64_t answers, same, different, unsure, conflicts, redundant;
    int64_t components, different_pairs, known_pairs;
} pal__kn_counts_t;

/*
 * Receives the pairs an answer makes known, i < j, same = 1 or 0. A
 * status other than PAL_OK stops the answer, which then changes nothing.
 */
typedef int (*pal__kn_emit_fn)(void *ctx, int64_t i, int64_t j, int same);

/* Create a store on 1 <= n <= INT32_MAX items with nothing known. */
int pal__kn_create(pal__kn_t **out, int32_t n, const pal_allocator_t *alloc);
void pal__kn_destroy(pal__kn_t *kn);

int32_t pal__kn_n(const pal__kn_t *kn);
const pal__kn_counts_t *pal__kn_counts(const pal__kn_t *kn);

/* The root of i's component, without changing the forest. O(log n). */
int32_t pal__kn_find(const pal__kn_t *kn, int32_t i);

/* The same, shortening paths when that is safe. */
int32_t pal__kn_find_mut(pal__kn_t *kn, int32_t i);

/* Size of the component rooted at root. */
int32_t pal__kn_size(const pal__kn_t *kn, int32_t root);

/* The member after i in its component's circular list of members. */
int32_t pal__kn_next(const pal__kn_t *kn, int32_t i);

/* True when the components rooted at ra and rb are known different. */
bool pal__kn_apart(const pal__kn_t *kn, int32_t ra, int32_t rb);

/* A PAL__KN_REL_* code for the pair (i, j). */
int pal__kn_relation(const pal__kn_t *kn, int32_t i, int32_t j);

/*
 * Number of items known different from the component rooted at root.
 * O(1) for components with many cannot-links, otherwise a walk of the
 * component's short list (which uses scratch marks, hence not const).
 */
int64_t pal__kn_apart_items(pal__kn_t *kn, int32_t root);

/*
 * Transactions. Every pal__kn_answer runs between pal__kn_begin and either
 * pal__kn_commit, which keeps the answers, or pal__kn_rollback, which
 * restores the store exactly as it was at pal__kn_begin. Neither can fail.
 */
void pal__kn_begin(pal__kn_t *kn);
void pal__kn_commit(pal__kn_t *kn);
void pal__kn_rollback(pal__kn_t *kn);

/*
 * Record answer (a PAL__KN_* answer) about (i, j), deduce its consequences
 * and offer every pair it makes known to emit (which may be NULL). On
 * failure (PAL_E_NOMEM, or the status emit returned) this answer changed
 * nothing; earlier answers of the transaction stay until rolled back.
 * *effect receives a PAL__KN_* effect.
 */
int pal__kn_answer(pal__kn_t *kn, int32_t i, int32_t j, int answer,
                   pal__kn_emit_fn emit, void *ctx, int *effect);

/*
 * Answers outside any transaction, as a batch. pal__kn_batch_reserve makes
 * room for count more answers of which `different` answer "different"
 * (PAL_E_NOMEM otherwise; what it reserves is not observable). Then
 * pal__kn_answer_batch, which cannot fail, records count answers (valid
 * items, answer codes, at most `different` of them "different") with the
 * same results as count transactions of one pal__kn_answer each, committed
 * in order; effects (may be NULL) receives a PAL__KN_* effect per answer.
 * No transaction may be open.
 */
int pal__kn_batch_reserve(pal__kn_t *kn, int64_t count, int64_t different);
void pal__kn_answer_batch(pal__kn_t *kn, int64_t count, const int64_t *i,
                          const int64_t *j, const pal_answer_t *answers,
                          int *effects);

/* The k-th logged answer, 0 <= k < answers. */
void pal__kn_log_entry(const pal__kn_t *kn, int64_t k, int32_t *i,
                       int32_t *j, int *answer);

/*
 * Canonical labels: classes numbered 0, 1, ... in the order of their
 * smallest member; with singletons_unknown, items alone in their component
 * get -1 and no class. Returns the number of classes. O(n log n).
 */
int64_t pal__kn_labels(const pal__kn_t *kn, bool singletons_unknown,
                       int32_t *labels);

/* Write the roots (a[p], b[p]) of every pair of components known
 * different: counts.different_pairs entries, in no particular order. */
void pal__kn_apart_pairs(const pal__kn_t *kn, int32_t *a, int32_t *b);

#endif /* PAL_KNOWLEDGE_H */
