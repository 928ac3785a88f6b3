/*
 * libpal: oracle.h: what is known about the items, and the oracles that
 * discover the similarity graph by asking cheap questions.
 *
 * The knowledge store
 * -------------------
 * A pal_store_t records answers about pairs of the n items and deduces
 * everything that follows: "same" answers join must-link components
 * (union-find with path compression and union by size), "different"
 * answers link two components as known different, so that
 *   i ~ j and j ~ k    gives  i ~ k,
 *   i ~ j and j !~ k   gives  i !~ k,
 * for whole components at once.
 *
 * Conflict policy: an answer that contradicts what is already known (same
 * for a pair known different, or different for a pair known same, which
 * includes an item compared with itself) is a conflict. It is counted,
 * recorded in the answer log, reported through the effect out-parameter,
 * and otherwise ignored: the first answers win and the deduced state is
 * never corrupted. An "unsure" answer is counted and changes nothing.
 *
 * The oracle
 * ----------
 * A pal_oracle_t couples a sampler (which question to ask next) with a
 * store. Questions are a screen: one anchor item and m candidate items,
 * each to be answered same, different or unsure; a pairwise question is
 * m = 1, a captcha screen is m > 1. The host answers either through a
 * labeler callback (pal_oracle_step) or by pulling the question and
 * pushing the answers (pal_oracle_next, pal_oracle_answer), for example
 * from an asynchronous user interface. libpal never blocks on its own.
 *
 * Thread safety: one thread at a time per store or oracle. Queries marked
 * const do not modify the store and may run concurrently with each other.
 */
#ifndef PAL_ORACLE_H
#define PAL_ORACLE_H

#include "core.h"
#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An answer about one (anchor, candidate) pair. */
typedef enum pal_answer {
    PAL_ANSWER_DIFFERENT = 0,
    PAL_ANSWER_SAME = 1,
    PAL_ANSWER_UNSURE = 2
} pal_answer_t;

/** What the store knows about a pair. */
typedef enum pal_relation {
    PAL_REL_UNKNOWN = 0,
    PAL_REL_SAME = 1,
    PAL_REL_DIFFERENT = 2
} pal_relation_t;

/** What an answer did to the store. */
typedef enum pal_effect {
    PAL_EFFECT_NEW = 0,       /* new knowledge was deduced */
    PAL_EFFECT_KNOWN = 1,     /* agreed with what was already known */
    PAL_EFFECT_CONFLICT = 2,  /* contradicted it; ignored and counted */
    PAL_EFFECT_UNSURE = 3     /* an unsure answer; nothing changed */
} pal_effect_t;

/* ---- Knowledge store ---------------------------------------------------- */

typedef struct pal_store pal_store_t;

/**
 * Create a store on n items, with nothing known.
 * @param n  1 <= n <= INT32_MAX.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE, PAL_E_NOMEM.
 * Cost: O(n) memory, about 64 bytes per item. Since 0.1.0.
 */
PAL_API int pal_store_create(pal_store_t **out, int64_t n,
                             const pal_allocator_t *alloc);

/**
 * Destroy a store. Accepts NULL. An open journal is closed without the
 * flush of pal_store_journal_close: every record is already with the
 * operating system, and destroying cannot report a failed flush.
 */
PAL_API void pal_store_destroy(pal_store_t *s);

/** Number of items, or -1 for NULL. */
PAL_API int64_t pal_store_n(const pal_store_t *s);

/**
 * Record an answer about (i, j) and deduce its consequences.
 * @param deduced  if not NULL, every pair of items whose relation this
 *                 answer made known is appended to its I list, each
 *                 unordered pair once as (min, max): g = 1 for same,
 *                 g = 0 for different. A merge of components of sizes a
 *                 and b makes a * b pairs known: cap the batch with
 *                 pal_batch_set_limit to keep a random sample.
 * @param effect   if not NULL, receives a pal_effect_t.
 * @return PAL_OK, PAL_E_NULL (s), PAL_E_INDEX (i or j outside [0, n)),
 *         PAL_E_RANGE (unknown answer), PAL_E_NOMEM, PAL_E_IO (a journal
 *         is open and the answer's record could not be written); on
 *         error the store and the batch are unchanged.
 * Cost: amortised nearly O(1), plus the pairs appended to deduced, plus
 * O(d) for a "different" answer or a merge, where d is the number of
 * components known different from the two involved.
 */
PAL_API int pal_store_answer(pal_store_t *s, int64_t i, int64_t j,
                             pal_answer_t answer, pal_batch_t *deduced,
                             int *effect);

/**
 * Record count answers, (i[k], j[k], answers[k]) for k = 0, 1, ..., in
 * that order: the store ends exactly as after count pal_store_answer
 * calls in order (the same effects, counters, components, relations,
 * labels and answer log), but faster, because the memory the answers
 * need is reserved once and the items of the next answers are fetched
 * while the current one is recorded.
 * @param count    0 <= count; with 0 nothing happens (and i, j, answers
 *                 may be NULL).
 * @param i, j     count items each, in [0, n); borrowed, read only.
 * @param answers  count pal_answer_t; borrowed, read only.
 * @param effects  if not NULL, effects[k] receives the pal_effect_t of
 *                 answer k (count entries).
 * @return PAL_OK; PAL_E_NULL (s, or i, j or answers with count > 0);
 *         PAL_E_SIZE (count < 0); PAL_E_ALIGN (an array not aligned for
 *         its type); PAL_E_INDEX (an item outside [0, n)); PAL_E_RANGE
 *         (an unknown answer); PAL_E_NOMEM; PAL_E_IO (a journal is open
 *         and the records could not be written).
 * All or nothing: every entry is checked before anything changes, and
 * the code of a bad entry is that of the first one (in order of k, the
 * index before the answer); on any error the store, its journal and
 * effects are unchanged.
 * Journal: each answer is written as the record pal_store_answer writes
 * for it (the file is the same as after the single calls), one write
 * per record, all before the call records anything in memory; with
 * PAL_JOURNAL_SYNC there is one fdatasync() after the last record. If a
 * write or the flush fails, the records of this call are cut from the
 * file again and the call fails with PAL_E_IO.
 * There is no list of deduced pairs: use pal_store_answer for those.
 * Cost: one pass over the entries, then amortised nearly O(1) per answer
 * plus O(d) per "different" answer or merge, as pal_store_answer. Memory
 * is reserved up front for the worst case of the whole call (most of it
 * is address space the call never touches): 8 bytes per answer for the
 * log, 32 per answer and 32 more per "different" answer for the nodes of
 * the cannot-link lists, key room for twice the component pairs that may
 * be known different by its end, and up to 32 bytes per answer (at most
 * 16 n bytes in all) for the bookkeeping of components with many
 * cannot-links; it stays with the store.
 * Thread safety: as pal_store_answer (one thread at a time per store).
 * New after 0.1.0.
 */
PAL_API int pal_store_answer_batch(pal_store_t *s, int64_t count,
                                   const int64_t *i, const int64_t *j,
                                   const pal_answer_t *answers, int *effects);

/**
 * What is known about (i, j); PAL_REL_SAME when i = j.
 * @return PAL_OK, PAL_E_NULL, PAL_E_INDEX. Const: O(log n).
 */
PAL_API int pal_store_relation(const pal_store_t *s, int64_t i, int64_t j,
                               pal_relation_t *out);

/**
 * The representative item of i's component (the same for every member),
 * and the component's size; either output may be NULL.
 * @return PAL_OK, PAL_E_NULL (s), PAL_E_INDEX.
 */
PAL_API int pal_store_component(const pal_store_t *s, int64_t i,
                                int64_t *root, int64_t *size);

/** Counters of a store, filled by pal_store_stats. */
typedef struct pal_store_stats {
    size_t size;            /* set by the caller: sizeof(pal_store_stats_t) */
    int64_t answers;        /* every answer recorded, unsure included */
    int64_t same;           /* answers "same" */
    int64_t different;      /* answers "different" */
    int64_t unsure;         /* answers "unsure" */
    int64_t conflicts;      /* answers that contradicted the store */
    int64_t redundant;      /* answers that were already known */
    int64_t components;     /* must-link components (singletons count) */
    int64_t different_pairs;/* pairs of components known different */
    int64_t known_pairs;    /* unordered item pairs i < j whose relation is
                               known (same or different) */
    int complete;           /* 1 when every relation is known */
} pal_store_stats_t;

/**
 * Fill the first stats->size bytes of *stats (set size first).
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE (size smaller than the first
 *         version of the structure).
 * Cost: O(1): every counter, known_pairs included, is kept up to date
 * by the answers themselves. Const.
 */
PAL_API int pal_store_stats(const pal_store_t *s, pal_store_stats_t *stats);

/** Flags for pal_store_labels and pal_store_graph. */
enum {
    /* Items alone in their component get label -1 (unknown) instead of
     * a class of their own; in the graph their row is then zero. */
    PAL_STORE_SINGLETONS_UNKNOWN = 1u << 0,
    /* pal_store_graph: add -1 between components known different
     * (the contrastive graph of the paper's Fig. 7). */
    PAL_STORE_CONTRASTIVE = 1u << 1
};

/**
 * Component labels: labels[i] (n entries) gets a class number 0..C-1,
 * classes numbered by their smallest member, so the labelling is
 * canonical. *n_classes (may be NULL) receives C.
 * @return PAL_OK, PAL_E_NULL, PAL_E_RANGE (unknown flag).
 */
PAL_API int pal_store_labels(const pal_store_t *s, unsigned flags,
                             int32_t *labels, int64_t *n_classes);

/**
 * The known graph as a new pal_graph_t: G_ij = 1 for items known same
 * (so G_ii = 1), and with PAL_STORE_CONTRASTIVE -1 for items known
 * different; 0 where nothing is known. Never expanded: O(n + d) memory,
 * d the number of known-different component pairs.
 * @return PAL_OK, PAL_E_NULL, PAL_E_RANGE (unknown flag), PAL_E_NOMEM.
 */
PAL_API int pal_store_graph(const pal_store_t *s, unsigned flags,
                            pal_graph_t **out, const pal_allocator_t *alloc);

/**
 * The answer log: the k-th answer ever recorded (0 <= k < stats.answers),
 * in order, conflicts and unsure answers included. Any output may be NULL.
 * @return PAL_OK, PAL_E_NULL (s), PAL_E_INDEX.
 */
PAL_API int pal_store_log_entry(const pal_store_t *s, int64_t k, int64_t *i,
                                int64_t *j, pal_answer_t *answer);

/**
 * Take back the last count answers: the store returns exactly to the
 * state it had before them (relations, components and their
 * representatives, counters, labels, graph and answer log), as it
 * rebuilds what it had deduced from the answers that stay. For a person
 * who clicked wrong. Pairs an undone answer made known and that were
 * handed out in batches stay there: rebuild full-batch graphs with
 * pal_store_graph.
 * @param count  0 <= count <= stats.answers; 0 does nothing.
 * @return PAL_OK, PAL_E_NULL (s), PAL_E_RANGE (count), PAL_E_NOMEM,
 *         PAL_E_IO (a journal is open and the undo's record could not be
 *         written). On error the store is unchanged.
 * Journal: recorded (docs/journal.md), so a reopened store undoes it too.
 * Cost: O(a) time for the a answers kept (they are replayed in order),
 * and a second copy of the bookkeeping while it is rebuilt. An oracle's
 * store cannot be undone through this call (pal_oracle_store is const).
 * Thread safety: as pal_store_answer. New after 0.1.0.
 */
PAL_API int pal_store_undo(pal_store_t *s, int64_t count);

/* ---- The answer journal --------------------------------------------------
 *
 * Answers cost people time; the journal makes sure none is lost. Once a
 * journal is open on a store (or an oracle), every answer it records is
 * appended to the journal file before the recording call returns: the
 * file is append-only, versioned, and made of records that each carry a
 * checksum. A pal_store_answer call writes one record; an oracle step
 * writes one record holding the whole screen (its question and its
 * answers), an SSL step one naming its sample, pal_oracle_cancel one
 * naming the question it drops, a step or pal_oracle_next that returns
 * PAL_DONE one naming why (once per stop), and pal_oracle_set_priors one
 * holding the priors it sets.
 *
 * Reopening a journal replays it: a store gets back exactly the state it
 * had (the same answers, in the same order, deduce the same knowledge);
 * an oracle also gets back its sampler's state, because it replays each
 * screen through its own sampler, so that it goes on to ask the questions
 * it would have asked had it never stopped (the same seed and the same
 * answers give the same run), its class priors and its stop reason.
 *
 * Damage: a record cut short (the writer was killed while writing it) or
 * corrupted (its checksum fails) ends the journal. It and everything after
 * it are reported in pal_journal_info_t and cut from the file, never
 * replayed; the answers before it are kept. A writer killed at any byte
 * therefore loses at most the record it was writing.
 *
 * Durability: each record reaches the operating system in one write()
 * before the call returns, so it survives the end of the process,
 * however abrupt. With PAL_JOURNAL_SYNC the call also waits for
 * fdatasync(), so the record survives a crash of the machine or a power
 * cut, at the price of one disk flush per call.
 *
 * Failure: if a record cannot be written (disk full, I/O error), the call
 * fails with PAL_E_IO and the store and oracle are left as they were: an
 * answer is in memory only if it is in the file.
 */

/** Flags for the journal calls. */
enum {
    /* fdatasync() after every record: durable across machine crashes. */
    PAL_JOURNAL_SYNC = 1u << 0
};

/** What opening a journal found, filled by the open calls. */
typedef struct pal_journal_info {
    size_t size;          /* set by the caller: sizeof(pal_journal_info_t) */
    int created;          /* 1: a new journal was started (the file did
                             not exist, or was empty) */
    int64_t records;      /* records replayed */
    int64_t answers;      /* pairwise answers in them */
    int64_t bytes_kept;   /* bytes of the file kept (header and records
                             replayed): its length after the open (an
                             oracle's open may then append the record of
                             priors set before it) */
    int64_t bytes_cut;    /* bytes of a damaged tail removed (0 if none) */
} pal_journal_info_t;

/**
 * Open (or create) the journal at path for store s, replay what it holds
 * into s, and record every later answer of s in it.
 * @param s      a store with no answer recorded yet (PAL_E_STATE
 *               otherwise) and no journal open.
 * @param flags  0 or PAL_JOURNAL_SYNC.
 * @param info   may be NULL; otherwise set info->size first.
 * @return PAL_OK; PAL_E_NULL (s or path); PAL_E_RANGE (unknown flag);
 *         PAL_E_SIZE (info->size smaller than the first version of the
 *         structure); PAL_E_STATE; PAL_E_IO (the file cannot be opened,
 *         read, cut or written, or is not a regular file); PAL_E_FORMAT
 *         (not a journal, a journal for another number of items, one
 *         written by an oracle, or a record whose checksum holds but
 *         whose content is impossible); PAL_E_VERSION; PAL_E_NOMEM.
 *         On error s is unchanged and no journal is open; an existing
 *         file is left untouched unless its damaged tail was the only
 *         problem (then it is cut and the call succeeds).
 * The journal is closed by pal_store_journal_close or pal_store_destroy.
 * Since 0.1.0.
 */
PAL_API int pal_store_journal_open(pal_store_t *s, const char *path,
                                   unsigned flags, pal_journal_info_t *info);

/**
 * Close the store's journal (flushing it with fdatasync), if one is open.
 * @return PAL_OK, PAL_E_NULL, PAL_E_IO (the final flush failed; the
 *         journal is closed anyway).
 */
PAL_API int pal_store_journal_close(pal_store_t *s);

/* ---- Oracles ------------------------------------------------------------ */

typedef struct pal_oracle pal_oracle_t;

/**
 * The labeler: answer a screen. Called by pal_oracle_step with an anchor
 * item and m >= 1 distinct candidate items (the anchor is never one of
 * them); write one pal_answer_t per candidate into answers. Return 0 on
 * success, anything else on failure: the step then fails with
 * PAL_E_CALLBACK and the oracle is left as it was before the step (the
 * same question is asked again by the next step). The arrays are valid
 * only during the call. The callback runs on the thread that calls
 * pal_oracle_step, never after pal_oracle_destroy, and never re-entrantly.
 * While it runs, pal_oracle_step, pal_oracle_next and pal_oracle_answer on
 * the same oracle fail with PAL_E_STATE and pal_oracle_cancel does nothing.
 */
typedef int (*pal_labeler_fn)(void *user, int64_t anchor, int64_t m,
                              const int64_t *candidates,
                              pal_answer_t *answers);

/** Samplers. */
typedef enum pal_sampler {
    /* Algorithm 2, SSL: positives are views of one source sample; no
     * question is ever asked and the labeler is never called. Each step
     * takes the next source sample (cycling through them in a seeded
     * random order, epoch after epoch) and makes its views known same.
     * Its batch I lists every pair of those views, g = 1, at every epoch
     * (not only the first time), as SSL training shows them again. */
    PAL_SAMPLER_SSL = 1,
    /* Algorithm 2, supervised passive: each step asks one pair (i, j),
     * i != j, drawn uniformly among the pairs whose relation is not yet
     * known and that were not answered unsure before. */
    PAL_SAMPLER_PASSIVE = 2,
    /* Algorithm 3, captcha: each step shows the template of the class
     * with the fewest known members (ties: the oldest class) with up to m
     * candidates among the items whose relation to that class is unknown,
     * chosen as the candidates option says. The first template is a
     * random item; an item that every existing template has rejected
     * founds a new class. */
    PAL_SAMPLER_CAPTCHA = 3,
    /* Item-centric pairwise: each step takes one undetermined item (in no
     * class yet) and asks it against the template of the class it most
     * likely belongs to (m = 1: the anchor is the template, the candidate
     * the item). The next step goes on with the next most likely class,
     * until the item is answered "same" or elimination decides: rejected
     * by every class, it founds a new one; with num_classes known and
     * every class but one rejected, it is deduced into the last one.
     * Which item comes next is the item_order option; the class order
     * for an item follows the guidance (pal_oracle_set_embedding,
     * pal_oracle_set_scores) when there is some, and otherwise the
     * priors (pal_oracle_set_priors), then the known class sizes.
     * screen_size is not used. New after 0.1.0. */
    PAL_SAMPLER_ITEM = 4,
    /* Nearest neighbour (the paper's Algorithm 4, NNCLR-style): no
     * question is asked and the labeler is never called. Each step takes
     * the next anchor (all items in a seeded random order, reshuffled
     * after every epoch) and pairs it with its nearest neighbour in the
     * host's current embedding (pal_oracle_set_embedding; distance by
     * the nn_metric option), searched in the support queue (the last
     * nn_queue distinct items used as anchors, an anchor seen again
     * becoming the newest), or among all items when nn_queue is 0.
     * Distances use the embedding set last, for queued items too.
     * An item is never its own neighbour, even when another item lies
     * at distance 0; ties go to the smallest index. The pair is a
     * pseudo-positive, not an answer: it goes to the step's batch I with
     * g = 1 (and to J with PAL_REG_SAME) and is never recorded in the
     * store. Cold start: without an embedding the step fails with
     * PAL_E_STATE and changes nothing; with a queue that holds no item
     * but the anchor (the first step), the step only enqueues the anchor
     * and adds no pair to I (J still follows the reg mode). Default reg
     * mode: PAL_REG_RANDOM. Cost per step: O(Q k), Q = nn_queue (or n),
     * k the embedding's width. New after 0.1.0. */
    PAL_SAMPLER_NN = 5,
    /* The host's own sampler (pal_oracle_set_sampler) proposes each
     * question; the oracle checks it, asks it as any other, records the
     * answers in its store, counts them and fills batches. Questions have
     * up to screen_size candidates. New after 0.1.0. */
    PAL_SAMPLER_CUSTOM = 6
} pal_sampler_t;

/** How the nearest-neighbour sampler measures distance. */
typedef enum pal_nn_metric {
    /* Squared Euclidean distance. The default. */
    PAL_NN_EUCLIDEAN = 0,
    /* Cosine: the largest cosine similarity is the nearest; a zero row
     * has similarity 0 to every item. */
    PAL_NN_COSINE = 1
} pal_nn_metric_t;

/** How the captcha sampler chooses the candidates of a screen. */
typedef enum pal_candidates {
    /* Items rejected by the most other classes first, uniformly at random
     * among equals: an item every other class has rejected can only
     * belong to this one, so elimination raises the share of positives
     * on the screen and finds new classes early. The default. */
    PAL_CANDIDATES_ELIMINATION = 0,
    /* Uniformly among the items whose relation to the class is unknown,
     * as in the plain Algorithm 3. */
    PAL_CANDIDATES_UNIFORM = 1
} pal_candidates_t;

/** Which item the item-centric sampler asks about next. */
typedef enum pal_item_order {
    /* With guidance, the item rejected by the most classes (so an item
     * is followed until it is decided), then the one whose most likely
     * class is the most certain: the smallest distance to a known member
     * of a class it may belong to (embedding), or the highest score
     * (scores); then the smallest index. No randomness is used. Classes
     * grow outward from their known members, so an item meets a class
     * when its nearest neighbours are already in it: the fewest answers
     * to label everything, but classes are discovered late. Without
     * guidance, as PAL_ITEM_ORDER_RANDOM. The default. */
    PAL_ITEM_ORDER_CERTAIN = 0,
    /* The item rejected by the most classes (so an item is followed
     * until it is decided), uniformly at random among equals: classes
     * are discovered early, for a few more answers in all. */
    PAL_ITEM_ORDER_RANDOM = 1
} pal_item_order_t;

/** How a step fills the J list (the regulariser pairs) of a batch. */
typedef enum pal_reg_mode {
    PAL_REG_SAME = 0,    /* J_t = the (i, j) of I_t (the paper's supervised
                            and captcha oracles; default for them) */
    PAL_REG_RANDOM = 1,  /* reg_pairs pairs drawn uniformly (default for
                            the SSL oracle) */
    PAL_REG_HALVES = 2   /* reg_pairs pairs (i, j), i and j drawn from two
                            fixed disjoint random halves of the items */
} pal_reg_mode_t;

/** Which answers a vote (the votes option) re-asks. New after 0.1.0. */
typedef enum pal_vote_on {
    /* Every candidate's answer, until it has a majority. The default. */
    PAL_VOTE_ALL = 0,
    /* Only the candidates first answered "same": a false "same" merges
     * two classes for good, while a false "different" costs at most some
     * answers later (with elimination, the item goes on to the next
     * class). A first "different" stands. */
    PAL_VOTE_SAME = 1
} pal_vote_on_t;

typedef struct pal_oracle_opts {
    size_t size;           /* sizeof(pal_oracle_opts_t), set by init */
    pal_sampler_t sampler; /* default PAL_SAMPLER_CAPTCHA */
    uint64_t seed;         /* all randomness; default 0 */
    int64_t screen_size;   /* captcha: candidates per screen, >= 1.
                              Default 15. */
    int64_t views;         /* SSL: views per sample when source is NULL
                              (n must be a multiple). Default 2. */
    const int64_t *source; /* SSL: source sample of each item (n entries,
                              borrowed, read at creation only), or NULL */
    int reg_mode;          /* a pal_reg_mode_t; -1 (default) picks the
                              sampler's default */
    int64_t reg_pairs;     /* pairs per step for the random J modes.
                              Default 64. */
    double negative_weight;/* g given to known-different pairs in I.
                              Default 0 (they only feed J). */
    int candidates;        /* captcha: a pal_candidates_t. Default
                              PAL_CANDIDATES_ELIMINATION. */
    /* Fields below new after 0.1.0. */
    int64_t num_classes;   /* captcha and item: the number of classes in
                              the data, 0 (default) when unknown, else
                              2 <= num_classes <= n. When known, no more
                              classes are founded, and an item every class
                              but one has rejected is deduced into that
                              one: recorded in the store as a "same"
                              between the class's template and the item,
                              counted in costs.deduced, never asked. An
                              item every known class rejects founds a new
                              class in the step that rejects it. A
                              num_classes below the true number is not
                              detected: the deductions then put items in
                              wrong classes, as if a person had answered
                              wrongly; leave it 0 when unsure. */
    int item_order;        /* item: a pal_item_order_t. Default
                              PAL_ITEM_ORDER_CERTAIN. */
    int nn_metric;         /* NN: a pal_nn_metric_t. Default
                              PAL_NN_EUCLIDEAN. */
    int64_t nn_queue;      /* NN: size of the support queue, >= 0; 0
                              (default) searches all items. */
    /* The cost model and the budget (new after 0.1.0). A screen of m
     * candidates, d of them answered same or different (not unsure),
     * costs cost_screen + m cost_candidate + d cost_answer. With all
     * three 0 (the default) there is no cost model: a screen costs m,
     * one per pairwise answer. Each is finite and >= 0. */
    double cost_screen;    /* per screen shown */
    double cost_candidate; /* per candidate shown */
    double cost_answer;    /* per answer other than unsure */
    double budget;         /* finite, >= 0; 0 (default): no budget. The
                              oracle never spends more: before each
                              question it works out how many candidates
                              it can afford if all are answered (captcha
                              and custom screens shrink to fit), and stops
                              with PAL_STOP_BUDGET when not even one fits.
                              SSL and NN steps cost nothing. */
    int64_t stall_screens; /* captcha and item: stop (PAL_STOP_NO_NEW_CLASS)
                              once this many screens in a row have found
                              no new class; >= 0, 0 (default) never. */
    /* Noisy labelers (new after 0.1.0): repeated answers, decided by
     * majority. With votes = 1 (the default) each pair is asked once and
     * its answer kept as given; an answer that contradicts the store is
     * ignored and counted in costs.conflicts (the first answer stands).
     * With votes = v > 1, a candidate whose answers are still disputed is
     * shown again, with the same anchor, in a screen of its own right
     * after (the disputed pairs are re-asked), until one answer has more
     * than v / 2 of the votes, or v answers were given: so v = 3 asks
     * each pair twice and a third time only when the two disagree. An
     * unsure answer ends the vote of its candidate (it is not re-offered
     * in a loop): the answer leading then stands, or none if tied. A
     * vote that ends tied (even votes, or an unsure answer on a tie)
     * reaches the store as an unsure answer: the pair is not asked
     * again. Only the verdict reaches the store, once every candidate of
     * the question has one; every answer counts in costs and the budget
     * (which reserves v times a screen's cost, with PAL_VOTE_SAME too).
     * Samplers passive, captcha, item and custom; SSL and NN ask nobody
     * and accept the option without using it. */
    int64_t votes;         /* 1 <= votes <= 15. Default 1. */
    int vote_on;           /* which candidates are put to a vote: a
                              pal_vote_on_t. Default PAL_VOTE_ALL. */
    /* A label hierarchy (new after 0.1.0): with levels = 2 the item and
     * captcha samplers ask coarse to fine. Groups are discovered like
     * classes, and each class lies in one group. A coarse question asks
     * whether the candidates are in the group of the anchor, a group's
     * template ("is it a fish?"); a fine one whether they are of the
     * anchor's class, and shows only items of the class's group ("which
     * fish?"). An item every group rejects founds a group and a class in
     * it; an item every class of its group rejects founds a class of its
     * group. Item sampler: an item is asked group after group in order
     * of likelihood (the group of its most likely class under the
     * guidance; without guidance, the largest priors of the group's
     * classes in all, else the most known members) until "same", then
     * class after class of its group;
     * with guidance its first question is a guess instead, its most
     * likely class whatever the group ("same" settles its group too;
     * after "different" it goes on as above, the guess counting against
     * its group's classes only if it was one of them). Captcha sampler:
     * the screen of the class with the fewest known members (for its
     * prior; guided: the class most items are likely in) when it fills
     * a whole screen with items of its group, or when no coarse screen
     * is left; else the coarse screen of the group with the fewest known
     * members (guided: the group most items are likely in). Candidates:
     * the items most classes (groups) rejected first, then the nearest
     * (guided) or at random (unguided; all at random with
     * PAL_CANDIDATES_UNIFORM). A two-level captcha question scans the
     * items against every class and group: O(n (C + G)). A
     * question's level is pal_oracle_level (1: a group, 0: a class),
     * which the labeler asks while it answers; coarse answers are kept in
     * a store of their own (pal_oracle_coarse_store), counted in
     * costs.coarse, and put no pair in a batch. Since items of different
     * groups are of different classes, each class founded is recorded in
     * the oracle's store as different from the classes of the other
     * groups (known different pairs in the batch; "different" answers in
     * the store's log, counted in costs.implied, not in costs.answers),
     * so that the store knows every relation once every item has its
     * class. With num_classes 0 only (the number of
     * classes of each group is not known); other samplers refuse
     * levels = 2 (PAL_E_RANGE). */
    int64_t levels;        /* 1 (default) or 2. */
    /* Captcha and item, with an embedding (pal_oracle_set_embedding):
     * 1 refines a class's template as answers arrive. Each time a class
     * is shown, its member nearest the centre of its known members in
     * the embedding (ties: the smallest index) becomes its template, the
     * anchor shown: a typical example rather than the first one found.
     * pal_oracle_templates lists the templates in force. Without an
     * embedding, or with scores, templates stay as they are. Groups'
     * templates (levels = 2) are not refined. Cost O(s k) per question,
     * s the class's known members. 0 (default) or 1. New after 0.1.0. */
    int refine_templates;
} pal_oracle_opts_t;

/** Fill *opts with the defaults and its size. Accepts NULL (no-op). */
PAL_API void pal_oracle_opts_init(pal_oracle_opts_t *opts);

/**
 * Create an oracle on n items with its own empty store.
 * @param opts  NULL for the defaults.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE (n < 1 or > INT32_MAX;
 *         every sampler but PAL_SAMPLER_SSL needs n >= 2), PAL_E_RANGE (an
 *         option out of range, including an unknown sampler), PAL_E_SHAPE
 *         (SSL: n not a multiple of views), PAL_E_INDEX (SSL: a source
 *         outside [0, n)), PAL_E_NOMEM.
 */
PAL_API int pal_oracle_create(pal_oracle_t **out, int64_t n,
                              const pal_oracle_opts_t *opts,
                              const pal_allocator_t *alloc);

/**
 * The host's sampler for PAL_SAMPLER_CUSTOM: propose the next question.
 * Called by pal_oracle_step and pal_oracle_next when a question is to be
 * drawn, with the oracle's store (what is known so far; read it, never
 * keep it past the call) and room for capacity candidates: screen_size,
 * or fewer when the budget cannot pay for more (new after 0.1.0). Write the
 * anchor, m (1 <= m <= capacity) and m candidates, and return 0; return
 * 1 when there is nothing left to ask (the call then returns PAL_DONE);
 * anything else is a failure (PAL_E_CALLBACK, nothing changed).
 * The oracle checks the question: the anchor and candidates must lie in
 * [0, n), the candidates must be distinct and not the anchor, or the
 * call fails with PAL_E_CALLBACK. Candidates whose relation to the
 * anchor is already known are dropped (in order, so the labeler never
 * sees a settled pair); a question left with none fails with
 * PAL_E_CALLBACK too. Pairs answered unsure are not remembered: the
 * sampler may ask them again. The callback runs on the calling thread,
 * never re-entrantly; while it runs, calls on the oracle that would
 * change it fail with PAL_E_STATE.
 */
typedef int (*pal_sampler_fn)(void *user, const pal_store_t *known,
                              int64_t capacity, int64_t *anchor, int64_t *m,
                              int64_t *candidates);

/** Destroy an oracle and its store. Accepts NULL. An open journal is
 * closed as pal_store_destroy closes a store's. */
PAL_API void pal_oracle_destroy(pal_oracle_t *o);

/**
 * Set the labeler used by pal_oracle_step (NULL removes it).
 * @return PAL_OK, PAL_E_NULL (o), PAL_E_STATE (called from a callback
 *         of o, the labeler or a custom sampler, as pal_oracle_set_sampler;
 *         new after 0.1.0: the labeler then stays as it was).
 * Cost O(1).
 */
PAL_API int pal_oracle_set_labeler(pal_oracle_t *o, pal_labeler_fn fn,
                                   void *user);

/**
 * Set the host's sampler of a PAL_SAMPLER_CUSTOM oracle (NULL removes
 * it; steps then fail with PAL_E_STATE). A question already pending is
 * kept.
 * @return PAL_OK, PAL_E_NULL (o), PAL_E_STATE (not a custom oracle, or
 *         called from a callback of o).
 * Journal: the host's sampler is not recorded. Its questions are
 * recorded as drawn, and a replay takes them as recorded after checking
 * them as above (the sampler is not called), so a journal replays before
 * the sampler is set. Cost O(1). New after 0.1.0.
 */
PAL_API int pal_oracle_set_sampler(pal_oracle_t *o, pal_sampler_fn fn,
                                   void *user);

/**
 * The known graph of the oracle's store as a new pal_graph_t, allocated
 * with the oracle's allocator: as pal_store_graph (flags, codes and
 * cost). The caller owns *out. For the full-batch losses of loss.h.
 * The NN sampler's pseudo-positives are not in it (they are not known).
 * @return PAL_OK, PAL_E_NULL (o or out), PAL_E_RANGE (unknown flag),
 *         PAL_E_NOMEM; on failure *out is untouched.
 * Cost O(n + known pairs) time and memory, as pal_store_graph.
 * Thread safety: const on o: it may run concurrently with other const
 * queries of o, never with a call that changes o. New after 0.1.0.
 */
PAL_API int pal_oracle_graph(const pal_oracle_t *o, unsigned flags,
                             pal_graph_t **out);

/**
 * One step: choose the next question, ask the labeler, record the
 * answers, and append to batch (if not NULL) the pairs this step made
 * known (I; for SSL, the pairs of the sample's views) and the regulariser
 * pairs (J) chosen by the reg mode. The batch is appended to, not cleared.
 * @return PAL_OK; PAL_DONE when the oracle stops asking: no question is
 *         left (every relation is known, or every open question was
 *         answered unsure), or the budget, stall_screens or the custom
 *         sampler stopped it (pal_oracle_stop_reason says which);
 *         PAL_E_NULL (o), PAL_E_STATE (no labeler set, for samplers that
 *         ask, or a question from pal_oracle_next is pending with none
 *         of its rounds answered; custom: no
 *         sampler set; NN: no embedding set),
 *         PAL_E_CALLBACK (the labeler failed, or answered with a value
 *         that is not a pal_answer_t; custom: the host's sampler failed
 *         or proposed a question it refuses), PAL_E_NOMEM, PAL_E_IO (a
 *         journal is open and the step's record, or that of its stop,
 *         could not be written). On error the oracle, its store and the
 *         batch are unchanged.
 * Votes (the votes option, new after 0.1.0): a step asks its question,
 * then the disputed candidates again, each a labeler call of its own,
 * until every candidate has a verdict; the batch gets the verdicts'
 * pairs. Each answered round is recorded (and journaled) as it comes,
 * since a person's answers are not to be lost: if a later round fails,
 * the step returns the error with the rounds before it kept and the
 * question pending, and the next pal_oracle_step (or pal_oracle_next)
 * goes on with the vote. Only the round that failed changed nothing.
 */
PAL_API int pal_oracle_step(pal_oracle_t *o, pal_batch_t *batch);

/**
 * Pull the next question without answering it. The question stays
 * pending, and is returned again by later calls, until
 * pal_oracle_answer or pal_oracle_cancel. *candidates points into the
 * oracle and stays valid while the question is pending. With votes > 1,
 * once a round is answered the question stays pending and this returns
 * its re-ask round: the same anchor with the disputed candidates only
 * (in their order in the question), until the vote is over.
 * @return PAL_OK, PAL_DONE (nothing to ask; outputs untouched),
 *         PAL_E_NULL, PAL_E_STATE (SSL and NN samplers: they never ask;
 *         custom: no sampler set), PAL_E_CALLBACK (custom: as for
 *         pal_oracle_step), PAL_E_NOMEM, PAL_E_IO (a journal is open and
 *         the record of a stop could not be written; new after 0.1.0).
 *         On error nothing changes.
 */
PAL_API int pal_oracle_next(pal_oracle_t *o, int64_t *anchor, int64_t *m,
                            const int64_t **candidates);

/**
 * Answer the pending question (m answers, in candidate order, m and the
 * candidates as pal_oracle_next returned them), as pal_oracle_step does
 * after its labeler returns. With votes > 1 this answers one round: the
 * store changes when the round decides the vote of every candidate.
 * @return PAL_OK, PAL_E_NULL, PAL_E_STATE (nothing pending), PAL_E_RANGE
 *         (an answer is not a pal_answer_t), PAL_E_NOMEM, PAL_E_IO (a
 *         journal is open and the record could not be written). On error
 *         the question stays pending and nothing else changes.
 */
PAL_API int pal_oracle_answer(pal_oracle_t *o, const pal_answer_t *answers,
                              pal_batch_t *batch);

/**
 * Drop the pending question, if any. Accepts NULL. The drop is recorded
 * in the oracle's history (for pal_oracle_undo) and, with a journal
 * open, in the journal (the next question depends on it); if either
 * record cannot be kept (no memory, or the journal's write fails), the
 * question stays pending: pal_oracle_level tells whether one is. A vote
 * under way is dropped whole: its answers stay counted in costs, and
 * none reaches the store.
 */
PAL_API void pal_oracle_cancel(pal_oracle_t *o);

/**
 * Take back the last question answered: its answers (every round of a
 * vote included; a vote with rounds answered counts, even if it was
 * cancelled since), what they deduced, and everything that followed (a
 * question pulled since, a stop, priors set since). The oracle returns
 * exactly to its state just before that question was drawn: store,
 * costs, classes and templates, generators, stop reason, priors; so the
 * next question is that one again, to be answered anew. A vote under way
 * is taken back whole. What the host holds stays: labeler, custom
 * sampler, guidance, and pairs already handed out in batches (rebuild a
 * full-batch graph with pal_oracle_graph). Call it again to go further
 * back.
 * @return PAL_OK, PAL_E_NULL (o), PAL_E_STATE (no question answered yet;
 *         SSL and NN samplers, which ask nobody; called from the
 *         labeler or a custom sampler), PAL_E_NOMEM, PAL_E_IO (a journal
 *         is open and the undo's record could not be written). On error
 *         nothing changes.
 * Journal: recorded (an undo record), so a reopened oracle undoes it too.
 * Cost: the oracle is rebuilt by replaying what it recorded before that
 * question, O(answers so far) time, with a second oracle's memory while
 * it runs; the oracle keeps that record in memory (about 9 bytes per
 * candidate shown and 24 per record) whether or not a journal is open.
 * Thread safety: as any call that changes o. New after 0.1.0.
 */
PAL_API int pal_oracle_undo(pal_oracle_t *o);

/** The oracle's store (owned by the oracle; do not destroy it). */
PAL_API const pal_store_t *pal_oracle_store(const pal_oracle_t *o);

/** What an oracle has cost so far, filled by pal_oracle_costs. */
typedef struct pal_oracle_costs {
    size_t size;        /* set by the caller: sizeof(pal_oracle_costs_t) */
    int64_t steps;      /* successful steps (answered screens, and SSL
                           steps) */
    int64_t screens;    /* questions answered (labeler calls that
                           succeeded, or pal_oracle_answer calls) */
    int64_t answers;    /* pairwise answers: a screen of m counts m */
    int64_t same;       /* answers "same" */
    int64_t different;  /* answers "different" */
    int64_t unsure;     /* answers "unsure" */
    int64_t conflicts;  /* answers that contradicted the store */
    int64_t classes;    /* captcha and item: classes discovered so far */
    /* Fields below new after 0.1.0. */
    int64_t deduced;    /* items put in a class by elimination, without
                           a question (num_classes known); not counted in
                           answers, but listed in the store's answer log
                           and counters as "same" answers */
    double spent;       /* what the screens cost under the cost model
                           (the answers, without one); never above a
                           budget. New after 0.1.0. */
    int64_t reasked;    /* answers to re-asked pairs (votes > 1),
                           counted in answers and screens too. New after
                           0.1.0. */
    int64_t coarse;     /* answers to coarse questions (levels = 2),
                           counted in answers too. New after 0.1.0. */
    int64_t implied;    /* levels = 2: "different" records the oracle
                           added to its store without a question, each
                           class founded being different from the
                           classes of the other groups; not counted in
                           answers. With votes = 1 the store's answers are
                           answers - coarse + deduced + implied (with
                           votes, only verdicts reach the stores). The
                           coarse store counts coarse answers and also
                           the group of each right guess (a deduction),
                           so its count may exceed coarse. New after
                           0.1.0. */
} pal_oracle_costs_t;

/**
 * Fill the first costs->size bytes of *costs (set size first; a
 * structure of the first version, which ends at classes, is accepted).
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE.
 */
PAL_API int pal_oracle_costs(const pal_oracle_t *o, pal_oracle_costs_t *costs);

/** Why an oracle stopped asking: see pal_oracle_stop_reason. New after
 * 0.1.0. */
typedef enum pal_stop_reason {
    /* The last question call did not return PAL_DONE (or none was made). */
    PAL_STOP_NONE = 0,
    /* Every relation between the items is known. */
    PAL_STOP_COMPLETE = 1,
    /* The budget cannot pay for a screen of one candidate. */
    PAL_STOP_BUDGET = 2,
    /* The last stall_screens screens found no new class. */
    PAL_STOP_NO_NEW_CLASS = 3,
    /* Relations remain unknown, but every question left was answered
     * unsure before. */
    PAL_STOP_EXHAUSTED = 4,
    /* Custom: the host's sampler had nothing left to ask. */
    PAL_STOP_SAMPLER = 5
} pal_stop_reason_t;

/**
 * Why the last pal_oracle_step or pal_oracle_next call on o returned
 * PAL_DONE, as a pal_stop_reason_t in *reason; PAL_STOP_NONE when it did
 * not (the reason is cleared by the next question drawn). The conditions
 * are checked before each question in this order: complete, no new
 * class, budget; then the sampler is asked, and if it has nothing left,
 * the reason is PAL_STOP_SAMPLER (custom) or PAL_STOP_EXHAUSTED. So each
 * reason names the first condition that held. A stopped oracle stays
 * stopped for every reason but PAL_STOP_SAMPLER (the host's sampler may
 * propose more later). A stop is recorded in an open journal (a step
 * or next that cannot write it fails with PAL_E_IO and changes nothing),
 * so that a replay brings the reason back with the rest of the state:
 * right after reopening the journal of a stopped oracle, the reason is
 * the one it stopped for, and a class founded by the call that stopped
 * is there.
 * @return PAL_OK; PAL_E_NULL (o or reason; *reason is then untouched).
 * Cost O(1). Const. New after 0.1.0.
 */
PAL_API int pal_oracle_stop_reason(const pal_oracle_t *o,
                                   pal_stop_reason_t *reason);

/**
 * A class-balanced labelled subset of what o knows, for training a
 * classifier at any stop: up to per_class members of each class, grouped
 * by class in class order. Classes: captcha and item, the discovered
 * classes, labelled by discovery order as pal_oracle_templates lists
 * them, each starting with its template, then its other known members by
 * smallest index. Other samplers: the must-link components of two items
 * or more, labelled by their smallest member (as pal_store_labels with
 * PAL_STORE_SINGLETONS_UNKNOWN), members by smallest index. No
 * randomness is used: the same knowledge gives the same subset.
 * @param per_class  >= 1.
 * @param capacity   >= 0: room in items and labels; the first
 *                   min(capacity, *count) entries are written.
 * @param items      the items (may be NULL when capacity is 0).
 * @param labels     their classes (may be NULL when capacity is 0).
 * @param count      may be NULL; receives the size of the whole subset,
 *                   the sum over classes of min(per_class, class size).
 * @return PAL_OK; PAL_E_NULL (o, or items or labels with capacity > 0);
 *         PAL_E_RANGE (per_class < 1); PAL_E_SIZE (capacity < 0);
 *         PAL_E_ALIGN; PAL_E_NOMEM. On error nothing is written.
 * May be called from the labeler (the screen being answered is not in
 * the subset yet).
 * Cost: O(n log n) time, and a scratch of at most 28 n bytes from the
 * oracle's allocator, freed before return. Const on o. New after 0.1.0.
 */
PAL_API int pal_oracle_balanced_subset(const pal_oracle_t *o,
                                       int64_t per_class, int64_t capacity,
                                       int64_t *items, int32_t *labels,
                                       int64_t *count);

/**
 * Captcha and item: the template item of each discovered class, in
 * discovery order. Writes min(capacity, classes) items; *count (may be
 * NULL) gets the number of classes. Class c of the other calls (scores,
 * priors) is the class of templates[c].
 * @return PAL_OK, PAL_E_NULL (o, or templates with capacity > 0),
 *         PAL_E_SIZE (capacity < 0; new after 0.1.0, which took it as
 *         0), PAL_E_STATE (not a captcha or item oracle).
 */
PAL_API int pal_oracle_templates(const pal_oracle_t *o, int64_t *templates,
                                 int64_t capacity, int64_t *count);

/**
 * The level of the question being asked: the one pending (drawn by
 * pal_oracle_step, whose labeler may call this, or returned by
 * pal_oracle_next), counted from the classes up: 0 when the question is
 * whether the candidate is of the anchor's class ("which fish?"), the
 * only level with levels = 1; with levels = 2, 1 when the anchor is a
 * group's template and the question is whether the candidate is in
 * that group ("is it a fish?"). So a labeler that answers level 0 by
 * class serves oracles of both kinds.
 * @return PAL_OK; PAL_E_NULL (o or level; *level then untouched);
 *         PAL_E_STATE (no question is pending).
 * Cost O(1). Const: may be called from the labeler. New after 0.1.0.
 */
PAL_API int pal_oracle_level(const pal_oracle_t *o, int64_t *level);

/**
 * The store of the coarse answers of an oracle with levels = 2 (NULL
 * for NULL or levels = 1): the items known in one group are its must-
 * link components, so pal_store_labels and pal_store_graph give the
 * groups known so far. Owned by the oracle, valid until
 * pal_oracle_destroy, read only (as pal_oracle_store). New after 0.1.0.
 */
PAL_API const pal_store_t *pal_oracle_coarse_store(const pal_oracle_t *o);

/**
 * Levels = 2: the group of each discovered class, in discovery order
 * (as pal_oracle_templates lists the classes); groups are numbered in
 * discovery order from 0. Writes min(capacity, classes) entries;
 * *count (may be NULL) gets the number of classes.
 * A group's template, the anchor of its coarse questions, is the
 * template of its first class (the item that founded it).
 * @return PAL_OK, PAL_E_NULL (o, or groups with capacity > 0),
 *         PAL_E_SIZE (capacity < 0), PAL_E_STATE (levels = 1).
 *         Cost O(classes). Const. New after 0.1.0.
 */
PAL_API int pal_oracle_groups(const pal_oracle_t *o, int64_t *groups,
                              int64_t capacity, int64_t *count);

/* ---- Guidance ------------------------------------------------------------
 *
 * A captcha or item oracle may be guided by the host's current view of
 * the items: an embedding (one row per item) or per-class scores. The
 * host may hand in a new one between any two calls, typically after each
 * round of training on what is known; the oracle keeps a copy, so the
 * host's buffer may be reused at once. A pending question is not changed:
 * guidance applies from the next question on.
 *
 * With an embedding, the distance from an item to a class is the squared
 * Euclidean distance to the class's nearest known member, and an item's
 * most likely class is the nearest one among the classes it may still
 * belong to (those it has not been answered against). With scores, the
 * highest score among those classes (a class discovered after the scores
 * were given has none, and comes after every scored class).
 *
 * Captcha with guidance: each undetermined item is put with its most
 * likely class, and within a class the items rejected by the most other
 * classes come first, then the most likely (ties: smallest index). The
 * class shown is the one whose first item has the most rejections (so
 * that an item on its way to elimination, or to founding a class, is
 * followed to the end rather than negatives spread over many items),
 * then the one with the fewest known members divided by its prior, then
 * the oldest; a class no item is likely to belong to is not shown. Its
 * candidates are its likely items in that order, then, to fill the
 * screen, the other undetermined items nearest to it (highest score).
 * So positives are not drowned in negatives when there are many classes.
 * No randomness is used. Item mode: see PAL_SAMPLER_ITEM and
 * pal_item_order_t.
 *
 * Journal: guidance (an embedding or scores) is not recorded. A question
 * drawn with guidance is marked so in its record, and a replay takes
 * such a question as recorded (checking that it is a question the oracle
 * could ask at that point, and drawing the item again in random item
 * order) instead of drawing it, so a journal replays without the
 * guidance it was written with; questions drawn without guidance are
 * drawn again and compared, as before. After a replay, hand in the
 * guidance again. Priors, unlike guidance, are recorded: see
 * pal_oracle_set_priors.
 *
 * Cost: the copy is O(n k). With an embedding, the oracle keeps each
 * undetermined item's nearest known member of a class it may belong to:
 * rebuilt at the first question after the embedding is set (O(n s k),
 * s the known members), then kept up to date at O(n k) per item that
 * joins a class and O(s k) per rejection. A guided captcha question
 * costs O(n log n) more, plus O(n s_c k) when the screen is filled with
 * items beyond the class's likely ones (s_c: the class's known members).
 * Memory: O(n k) for the copy, O(n) for the rest.
 */

/**
 * Guide o by an embedding: n x k, row i for item i, of type dtype, row
 * stride ldz (elements), copied. Replaces any earlier guidance.
 * @return PAL_OK; PAL_E_NULL (o or z); PAL_E_TYPE; PAL_E_SIZE (k < 1);
 *         PAL_E_SHAPE (n is not the oracle's number of items);
 *         PAL_E_STRIDE (ldz < k); PAL_E_ALIGN; PAL_E_NONFINITE (a NaN or
 *         infinity in z); PAL_E_STATE (not a captcha, item or NN oracle,
 *         or called from the labeler); PAL_E_NOMEM. On error the oracle
 *         keeps its earlier guidance. The NN sampler searches its
 *         neighbours in this embedding (new after 0.1.0).
 * Thread safety: as any call on o. New after 0.1.0.
 */
PAL_API int pal_oracle_set_embedding(pal_oracle_t *o, pal_dtype_t dtype,
                                     int64_t n, int64_t k, const void *z,
                                     int64_t ldz);

/**
 * Guide o by scores: n x k, row i for item i, column c the score (higher
 * is more likely) of class c, in discovery order (as
 * pal_oracle_templates lists them), of type dtype, row stride lds,
 * copied. k may be smaller than the number of classes (the host's
 * classifier may not know the newest ones). Replaces any earlier
 * guidance.
 * @return as pal_oracle_set_embedding, with PAL_E_SHAPE also for k
 *         larger than the number of classes discovered so far.
 * New after 0.1.0.
 */
PAL_API int pal_oracle_set_scores(pal_oracle_t *o, pal_dtype_t dtype,
                                  int64_t n, int64_t k, const void *scores,
                                  int64_t lds);

/**
 * Remove the guidance (embedding or scores), if any: the oracle asks as
 * an unguided one from the next question on. Accepts NULL; does nothing
 * from the labeler. Cost: O(1) (frees the copy). New after 0.1.0.
 */
PAL_API void pal_oracle_clear_guidance(pal_oracle_t *o);

/**
 * Class priors, in discovery order: the captcha sampler shows the class
 * with the fewest known members divided by its prior, and the unguided
 * item sampler tries the classes with the largest prior first. k may be
 * smaller than the number of classes; the others get the mean of the
 * given priors. k = 0 (priors may then be NULL) removes the priors:
 * every class weighs the same, and the item sampler tries the largest
 * known class first. Copied. A pending question is not changed: it was
 * drawn with the priors before, and the new ones apply from the next
 * question on.
 * Journal: priors are part of what a journal records. With a journal
 * open, a call that changes them appends a record (setting the priors
 * in force again writes nothing), and a replay sets them again between
 * the same questions, so that the questions they weighed are drawn
 * again, random draws included, and the reopened oracle has the priors
 * the journal ends with (a question that was pending when the writer
 * stopped is asked again, with the priors it was drawn with). Priors
 * set before pal_oracle_journal_open stay, as guidance does: after the
 * replay they replace the journal's and are recorded, unless the
 * journal ends with the same ones.
 * @param priors  k finite values > 0 (any scale).
 * @return PAL_OK; PAL_E_NULL (o, or priors with k > 0); PAL_E_SIZE
 *         (k < 0, or with a journal open more than 536,870,910, the most
 *         a record holds); PAL_E_SHAPE (k larger than the classes
 *         discovered); PAL_E_RANGE (a prior not finite and > 0);
 *         PAL_E_ALIGN; PAL_E_STATE (not a captcha or item oracle, or
 *         called from the labeler); PAL_E_NOMEM; PAL_E_IO (a journal is
 *         open and the record could not be written). On error the
 *         priors are unchanged and nothing is written.
 * Cost: O(k), and with a journal one write of 14 + 8 k bytes.
 * New after 0.1.0.
 */
PAL_API int pal_oracle_set_priors(pal_oracle_t *o, int64_t k,
                                  const double *priors);

/**
 * Estimate the priors of the classes discovered so far, for
 * pal_oracle_set_priors: each class's share of the items, counting its
 * known members, the undetermined items the guidance finds most likely
 * to be in it (nearest known member, or highest score), one pseudo-item,
 * and the undetermined items the guidance cannot place (or all of them
 * without guidance) spread in proportion to the known members. The
 * values sum to 1. Feed them back as the answers come in:
 *
 *     pal_oracle_estimate_priors(o, cap, p, &k);
 *     pal_oracle_set_priors(o, k <= cap ? k : cap, p);
 *
 * @param capacity  room in priors; the first min(capacity, count)
 *                  estimates are written.
 * @param count     if not NULL, receives the number of classes.
 * @return PAL_OK, PAL_E_NULL (o, or priors with capacity > 0),
 *         PAL_E_SIZE (capacity < 0), PAL_E_ALIGN, PAL_E_STATE (not a
 *         captcha or item oracle, or called from the labeler),
 *         PAL_E_NOMEM. Nothing is recorded in a journal (the priors set
 *         with them are).
 * Cost: O(n) plus, with an embedding, the guidance cache when it must be
 * rebuilt (O(n s k), as the next guided question would); 16 bytes per
 * class of scratch. Changes no state a question depends on.
 * New after 0.1.0.
 */
PAL_API int pal_oracle_estimate_priors(pal_oracle_t *o, int64_t capacity,
                                       double *priors, int64_t *count);

/**
 * Open (or create) the journal at path for oracle o: replay its screens
 * through o's sampler (each recorded question must be the question o
 * asks at that point, which holds when o was created with the same n and
 * options, seed included), then record every later screen. The journal
 * header records a fingerprint of the options (all but negative_weight,
 * which only weighs batch pairs, and the cost model without a budget,
 * which only counts), so a journal written with other
 * options is refused before anything is replayed.
 * @param o      an oracle that has not drawn a question or made an SSL
 *               step yet, and not an NN oracle, which asks nobody and
 *               has nothing to record (PAL_E_STATE). Its guidance stays;
 *               its priors too, recorded after the replay (see
 *               pal_oracle_set_priors).
 * @return as pal_store_journal_open, and PAL_E_FORMAT when a recorded
 *         question differs from the oracle's (o is then unchanged).
 *         PAL_E_IO also when the record of the priors set before the
 *         open could not be written (o is then unchanged, but a damaged
 *         tail, if the journal had one, is already cut).
 */
PAL_API int pal_oracle_journal_open(pal_oracle_t *o, const char *path,
                                    unsigned flags, pal_journal_info_t *info);

/** Close the oracle's journal, if one is open. Codes as for the store,
 * and PAL_E_STATE (called from the labeler or a custom sampler: the
 * screen under way must reach the journal; nothing changes). */
PAL_API int pal_oracle_journal_close(pal_oracle_t *o);

/* ---- A noisy labeler, for experiments -------------------------------- */

/**
 * A labeler that asks another one and flips each of its answers "same"
 * <-> "different" with probability p, independently ("unsure" is passed
 * on as it is): the noisy labeler of the paper's robustness experiment,
 * to measure what the votes option buys. Pass pal_flip_labeler as the
 * labeler and the pal_flip_t as its user pointer. New after 0.1.0.
 */
typedef struct pal_flip pal_flip_t;

/**
 * Create a flipping labeler around inner (called with inner_user).
 * @param p     0 <= p <= 1.
 * @param seed  the flips' random stream: the same seed and the same
 *              answers of inner give the same flips.
 * @return PAL_OK, PAL_E_NULL (out or inner), PAL_E_RANGE (p), PAL_E_NOMEM.
 */
PAL_API int pal_flip_create(pal_flip_t **out, pal_labeler_fn inner,
                            void *inner_user, double p, uint64_t seed,
                            const pal_allocator_t *alloc);

/** Destroy a flipping labeler. Accepts NULL. */
PAL_API void pal_flip_destroy(pal_flip_t *f);

/**
 * The labeler callback (a pal_labeler_fn; user is a pal_flip_t *): calls
 * inner, then flips its answers. Returns what inner returned; the
 * answers are flipped only when inner returned 0. With user NULL it
 * returns -1 (a failure, which the oracle reports as PAL_E_CALLBACK).
 * Not thread safe: one oracle at a time per pal_flip_t.
 */
PAL_API int pal_flip_labeler(void *user, int64_t anchor, int64_t m,
                             const int64_t *candidates, pal_answer_t *answers);

/**
 * Answers "same" or "different" passed through (unsure and invalid ones
 * are not counted), and how many of them were flipped, so far (either
 * output may be NULL).
 * @return PAL_OK, PAL_E_NULL (f).
 */
PAL_API int pal_flip_counts(const pal_flip_t *f, int64_t *answers,
                            int64_t *flipped);

#ifdef __cplusplus
}
#endif

#endif /* PAL_ORACLE_H */
