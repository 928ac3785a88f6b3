/*
 * The answer journal's file: its format, and the reads, writes, cuts and
 * flushes that keep it. docs/journal.md describes the format byte by
 * byte; journal.c implements it with POSIX calls only.
 *
 * This part knows records, not stores or oracles: it checks that every
 * record it hands out is well formed (its type belongs to the journal's
 * kind, its lengths add up, its items lie in [0, n), its answers are
 * answer codes), and leaves what a record means to the caller, which
 * replays it through a callback and fills the records it appends.
 */
#ifndef PAL_JOURNAL_H
#define PAL_JOURNAL_H

#include "core/internal.h"
#include "pal/oracle.h"

typedef struct pal__jn pal__jn_t;

/* Record types. A store writes answers and undos; an oracle writes the
 * others. Types 1 to 4 are those of format version 1; version 2 adds
 * the stop and the priors. */
enum {
    PAL__JN_ANSWER = 1,   /* one pairwise answer: a, b, ans[0] */
    PAL__JN_SCREEN = 2,   /* anchor a, m candidates, m answers */
    PAL__JN_CANCEL = 3,   /* anchor a and m candidates, dropped unanswered */
    PAL__JN_SSL = 4,      /* an SSL step over sample a */
    PAL__JN_STOP = 5,     /* a question call stopped, for reason a (a
                             pal_stop_reason_t other than NONE) */
    PAL__JN_PRIORS = 6,   /* class priors set: m values in priors (m = 0
                             removes them) */
    PAL__JN_VOTE = 7,     /* a re-ask round of the pending question:
                             anchor a, the m candidates shown again and
                             their m answers (new after 0.1.0) */
    PAL__JN_UNDO = 8      /* a store's last a answers taken back (new
                             after 0.1.0) */
};

/* The most priors one record holds: its length is a 4-byte field. */
#define PAL__JN_MAX_PRIORS ((int64_t)((UINT32_MAX - 9u - 5u) / 8u))

/* Record flags (screens, cancels and SSL steps). */
enum {
    PAL__JN_REGS = 1u << 0,  /* the step drew its regulariser pairs */
    PAL__JN_GUIDED = 1u << 1,/* the question was drawn with guidance the
                                journal does not hold: a replay takes it
                                as recorded (screens and cancels) */
    PAL__JN_COARSE = 1u << 2 /* a coarse question (levels = 2: screens
                                and cancels; new after 0.1.0) */
};

/* Flags of a priors record. */
enum {
    PAL__JN_LATER = 1u << 0  /* set while a question was pending, which
                                was drawn with the priors before: they
                                apply once it is answered or dropped */
};

/* Who writes a journal; the header says which. */
enum {
    PAL__JN_STORE = 0,
    PAL__JN_ORACLE = 1
};

/*
 * A record, decoded or to encode. The arrays of a decoded record belong
 * to the journal and are valid during the replay callback only.
 */
typedef struct pal__jn_rec {
    int type;
    unsigned flags;
    int64_t a, b;            /* see the record types */
    int64_t m;
    int64_t *cand;           /* m candidates */
    unsigned char *ans;      /* answers: 1 for ANSWER, m for SCREEN */
    const double *priors;    /* PRIORS: m values, finite and > 0 */
} pal__jn_rec_t;

/* What a journal is for; the header must agree with it. */
typedef struct pal__jn_spec {
    int kind;                /* PAL__JN_STORE or PAL__JN_ORACLE */
    int64_t n;               /* items */
    uint64_t fingerprint;    /* 0 for a store, non-zero for an oracle */
    int64_t max_m;           /* oracle: the largest screen; store: 0 */
    int64_t max_priors;      /* the most priors a record may hold (at most
                                PAL__JN_MAX_PRIORS); 0: none are written */
    bool sync;               /* fdatasync after every record */
} pal__jn_spec_t;

/* What opening found; the fields of pal_journal_info_t. */
typedef struct pal__jn_found {
    int created;
    int64_t records, answers, bytes_kept, bytes_cut;
} pal__jn_found_t;

/*
 * Replays one record; a status other than PAL_OK stops the open, which
 * then fails with that status.
 */
typedef int (*pal__jn_replay_fn)(void *ctx, const pal__jn_rec_t *rec);

/*
 * Open or create the journal at path. An empty (or missing) file gets a
 * header; otherwise the header is checked against spec and every intact
 * record is offered to replay, in order. A damaged tail (a record cut
 * short, or whose checksum fails) ends the records; it is cut from the
 * file only once everything before it has replayed. On error nothing is
 * open, and an existing file is as it was (except that a new file may
 * remain, holding at most a header).
 * Returns PAL_OK, PAL_E_IO, PAL_E_FORMAT, PAL_E_VERSION, PAL_E_NOMEM or
 * the status of replay.
 */
int pal__jn_open(pal__jn_t **out, const char *path,
                 const pal__jn_spec_t *spec, const pal_allocator_t *alloc,
                 pal__jn_replay_fn replay, void *ctx, pal__jn_found_t *found);

/*
 * A record whose arrays can hold the journal's largest screen, for the
 * caller to fill before pal__jn_append.
 */
pal__jn_rec_t *pal__jn_stage(pal__jn_t *jn);

/*
 * Append rec in one write (and flush it with PAL_JOURNAL_SYNC). Needs no
 * memory, except for a priors record larger than any written before it
 * and than the largest screen (PAL_E_NOMEM, nothing written). On
 * failure the file is cut back to its previous length when possible
 * (otherwise the next append tries again first) and the status is
 * PAL_E_IO.
 */
int pal__jn_append(pal__jn_t *jn, const pal__jn_rec_t *rec);

/*
 * Append count answer records (a[k], b[k], ans[k]), each in one write as
 * pal__jn_append writes it, and with PAL_JOURNAL_SYNC one flush after the
 * last. All or nothing: on failure the file is cut back to its length
 * before the call (or, if that fails, before the next append) and the
 * status is PAL_E_IO. Needs no memory.
 */
int pal__jn_append_answers(pal__jn_t *jn, int64_t count, const int64_t *a,
                           const int64_t *b, const pal_answer_t *ans);

/*
 * Close and free, after an fdatasync() when flush is set; PAL_E_IO when
 * the flush or the close failed (the journal is released anyway).
 * Accepts NULL.
 */
int pal__jn_close(pal__jn_t *jn, bool flush);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (0 to start). */
uint32_t pal__jn_crc32c(uint32_t crc, const void *p, size_t len);

/* Fold a 64-bit value into a fingerprint, the same on every platform. */
uint64_t pal__jn_fold(uint64_t h, uint64_t v);

/* The fingerprint to start folding from. */
#define PAL__JN_FOLD_INIT 0xcbf29ce484222325u

#endif /* PAL_JOURNAL_H */
