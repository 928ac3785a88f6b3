/*
 * Fuzz target: the answer journal.
 *
 * The first byte chooses what the rest of the input is:
 *
 * - raw: the bytes of a journal file, opened by a store on 6 items and
 *   by a captcha, a passive and an SSL oracle;
 * - written: a journal the library writes itself (a store's answers, or
 *   an oracle's steps, pulled answers, dropped questions and class
 *   priors, all taken from the input), then damaged as the input says (bytes changed, with
 *   or without their record's checksum made to hold again, a cut, bytes
 *   appended), and opened by a new store or oracle made alike.
 *
 * Each open may run with an allocator that fails at a point the input
 * chooses. The target checks:
 *
 * - the status is one pal_store_journal_open lists (never PAL_E_IO: the
 *   file is there and readable);
 * - on error the store or oracle is as new, and the file untouched;
 * - on success the file holds bytes_kept bytes, the first bytes_kept of
 *   what it held (a new header if the header was cut short), and
 *   records and answers agree with the object: a store answered once
 *   per record, an oracle's costs count the answers;
 * - the replay goes through the answer path: a new store fed the log of
 *   the replayed store (pal_store_log_entry) knows exactly the same;
 * - written journals: when the records kept are the writer's own,
 *   untouched, the replayed object equals the writer after as many
 *   records (a stop being one); the records before the first damaged
 *   byte are all kept;
 * - reopening the file gives the same state with nothing to cut, and a
 *   record appended after an open is there at the next one;
 * - nothing leaks, neither memory nor file descriptors.
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "knowledge/journal.h"

#define HEADER 36
#define MAX_FILE 4096
#define MAX_RECORDS 64

static char path[64];

static void remove_path(void)
{
    unlink(path);
}

/* One file per process, in /tmp, removed at exit. */
static void init_path(void)
{
    int fd;

    if (path[0])
        return;
    strcpy(path, "/tmp/pal-fuzz-journal-XXXXXX");
    fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0);
    close(fd);
    atexit(remove_path);
}

static void write_file(const unsigned char *p, size_t len)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(len == 0 || write(fd, p, len) == (ssize_t)len);
    FUZZ_CHECK(close(fd) == 0);
}

static size_t read_file(unsigned char *p, size_t cap)
{
    int fd = open(path, O_RDONLY);
    ssize_t r;

    FUZZ_CHECK(fd >= 0);
    r = read(fd, p, cap);
    FUZZ_CHECK(r >= 0 && (size_t)r < cap);
    close(fd);
    return (size_t)r;
}

/* The lowest free file descriptor, to catch one left open. */
static int lowest_fd(void)
{
    int fd = open("/dev/null", O_RDONLY);

    FUZZ_CHECK(fd >= 0);
    close(fd);
    return fd;
}

/* ---- What stores and oracles show ---------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9e3779b97f4a7c15u;
    return h ^ (h >> 29);
}

static uint64_t store_digest(const pal_store_t *s)
{
    const int64_t n = pal_store_n(s);
    pal_store_stats_t st;
    int32_t lab[16];
    int64_t nc;
    uint64_t h = 1;

    st.size = sizeof st;
    FUZZ_CHECK(n <= 16 && pal_store_stats(s, &st) == PAL_OK);
    h = mix(h, (uint64_t)st.answers);
    h = mix(h, (uint64_t)st.same);
    h = mix(h, (uint64_t)st.different);
    h = mix(h, (uint64_t)st.unsure);
    h = mix(h, (uint64_t)st.conflicts);
    h = mix(h, (uint64_t)st.redundant);
    h = mix(h, (uint64_t)st.components);
    h = mix(h, (uint64_t)st.different_pairs);
    h = mix(h, (uint64_t)st.known_pairs);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            pal_relation_t r;

            FUZZ_CHECK(pal_store_relation(s, i, j, &r) == PAL_OK);
            h = mix(h, (uint64_t)r);
        }
    }
    FUZZ_CHECK(pal_store_labels(s, 0, lab, &nc) == PAL_OK);
    for (int64_t i = 0; i < n; i++)
        h = mix(h, (uint64_t)lab[i]);
    for (int64_t k = 0; k < st.answers; k++) {
        int64_t i, j;
        pal_answer_t a;

        FUZZ_CHECK(pal_store_log_entry(s, k, &i, &j, &a) == PAL_OK);
        h = mix(mix(mix(h, (uint64_t)i), (uint64_t)j), (uint64_t)a);
    }
    return h;
}

/* A new store fed s's log knows what s knows. */
static void check_log(const pal_store_t *s)
{
    pal_store_stats_t st;
    pal_store_t *t = NULL;

    st.size = sizeof st;
    FUZZ_CHECK(pal_store_stats(s, &st) == PAL_OK);
    FUZZ_CHECK(pal_store_create(&t, pal_store_n(s), NULL) == PAL_OK);
    for (int64_t k = 0; k < st.answers; k++) {
        int64_t i, j;
        pal_answer_t a;

        FUZZ_CHECK(pal_store_log_entry(s, k, &i, &j, &a) == PAL_OK);
        FUZZ_CHECK(pal_store_answer(t, i, j, a, NULL, NULL) == PAL_OK);
    }
    FUZZ_CHECK(store_digest(t) == store_digest(s));
    pal_store_destroy(t);
}

static pal_oracle_costs_t costs_of(const pal_oracle_t *o)
{
    pal_oracle_costs_t c;

    c.size = sizeof c;
    FUZZ_CHECK(pal_oracle_costs(o, &c) == PAL_OK);
    return c;
}

static uint64_t oracle_digest(const pal_oracle_t *o)
{
    pal_oracle_costs_t c = costs_of(o);
    uint64_t h = store_digest(pal_oracle_store(o));
    int64_t tmpl[16], count = 0;

    h = mix(h, (uint64_t)c.steps);
    h = mix(h, (uint64_t)c.screens);
    h = mix(h, (uint64_t)c.answers);
    h = mix(h, (uint64_t)c.conflicts);
    h = mix(h, (uint64_t)c.classes);
    if (pal_oracle_templates(o, tmpl, 16, &count) == PAL_OK)
        for (int64_t k = 0; k < count && k < 16; k++)
            h = mix(h, (uint64_t)tmpl[k]);
    return h;
}

/* ---- The objects under test ---------------------------------------------- */

typedef struct subject {
    bool oracle;
    int64_t n;
    pal_oracle_opts_t op;
} subject_t;

typedef struct object {
    pal_store_t *s;
    pal_oracle_t *o;
} object_t;

/* Answers for the labeler, from the input. */
static int input_labeler(void *user, int64_t anchor, int64_t m,
                         const int64_t *cand, pal_answer_t *ans)
{
    fuzz_in_t *in = user;

    (void)anchor;
    (void)cand;
    for (int64_t k = 0; k < m; k++)
        ans[k] = (pal_answer_t)(fuzz_u8(in) % 3);
    return 0;
}

static object_t make(const subject_t *sub, const pal_allocator_t *a,
                     fuzz_in_t *in)
{
    object_t ob = {NULL, NULL};

    if (sub->oracle) {
        FUZZ_CHECK(pal_oracle_create(&ob.o, sub->n, &sub->op, a) == PAL_OK);
        FUZZ_CHECK(pal_oracle_set_labeler(ob.o, input_labeler, in) ==
                   PAL_OK);
    } else {
        FUZZ_CHECK(pal_store_create(&ob.s, sub->n, a) == PAL_OK);
    }
    return ob;
}

static void drop(object_t *ob)
{
    pal_store_destroy(ob->s);
    pal_oracle_destroy(ob->o);
    ob->s = NULL;
    ob->o = NULL;
}

static int open_journal(object_t *ob, pal_journal_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    return ob->o ? pal_oracle_journal_open(ob->o, path, 0, info)
                 : pal_store_journal_open(ob->s, path, 0, info);
}

static uint64_t digest(const object_t *ob)
{
    return ob->o ? oracle_digest(ob->o) : store_digest(ob->s);
}

/* One more record: an answer, or a step. */
static int append_one(object_t *ob, fuzz_in_t *in)
{
    if (ob->o)
        return pal_oracle_step(ob->o, NULL);
    return pal_store_answer(ob->s, fuzz_below(in, pal_store_n(ob->s)),
                            fuzz_below(in, pal_store_n(ob->s)),
                            (pal_answer_t)fuzz_below(in, 3), NULL, NULL);
}

/*
 * Open the file (as it holds `len` bytes, `file`) into a new object,
 * first with allocations failing as the input says, and check what the
 * header promises. Returns the records kept, or -1 when the open was
 * refused; *out receives the digest of the object.
 */
static int64_t open_and_check(const subject_t *sub, fuzz_in_t *in,
                              const unsigned char *file, size_t len,
                              uint64_t *out)
{
    static unsigned char now[MAX_FILE];
    fuzz_alloc_t fa;
    pal_allocator_t a;
    pal_journal_info_t info, again;
    object_t ob, fresh;
    int64_t records;
    uint64_t h;
    size_t got;
    int rc;

    memset(&fa, 0, sizeof fa);
    a = fuzz_allocator(&fa);
    fresh = make(sub, NULL, in);
    ob = make(sub, &a, in);
    fa.calls = 0;
    fa.fail_at = fuzz_below(in, 40);
    fa.sticky = fuzz_below(in, 2);
    rc = open_journal(&ob, &info);
    if (rc == PAL_E_NOMEM && fa.fail_at > 0) {
        /* Nothing changed: the open can be made again. */
        FUZZ_CHECK(digest(&ob) == digest(&fresh));
        FUZZ_CHECK(read_file(now, sizeof now) == len &&
                   memcmp(now, file, len) == 0);
        fa.fail_at = 0;
        rc = open_journal(&ob, &info);
    }
    fa.fail_at = 0;
    FUZZ_CHECK(rc == PAL_OK || rc == PAL_E_FORMAT || rc == PAL_E_VERSION);
    if (rc != PAL_OK) {
        FUZZ_CHECK(digest(&ob) == digest(&fresh));
        FUZZ_CHECK(read_file(now, sizeof now) == len &&
                   memcmp(now, file, len) == 0);
        drop(&ob);
        drop(&fresh);
        FUZZ_CHECK(fa.live == 0);
        return -1;
    }

    /* The file kept a prefix, or got a new header. */
    got = read_file(now, sizeof now);
    FUZZ_CHECK((int64_t)got == info.bytes_kept && got >= HEADER);
    if (info.created) {
        FUZZ_CHECK(info.records == 0 && len < HEADER &&
                   info.bytes_cut == (int64_t)len);
        FUZZ_CHECK(memcmp(now, file, len) == 0);
    } else {
        FUZZ_CHECK(info.bytes_kept + info.bytes_cut == (int64_t)len);
        FUZZ_CHECK(memcmp(now, file, got) == 0);
    }

    /* Records and answers agree with the object. */
    if (ob.o) {
        pal_oracle_costs_t c = costs_of(ob.o);

        FUZZ_CHECK(info.answers == c.answers);
        FUZZ_CHECK(info.records >= c.screens);
        check_log(pal_oracle_store(ob.o));
    } else {
        pal_store_stats_t st;

        st.size = sizeof st;
        FUZZ_CHECK(pal_store_stats(ob.s, &st) == PAL_OK);
        FUZZ_CHECK(info.records == st.answers &&
                   info.answers == st.answers);
        check_log(ob.s);
    }
    records = info.records;
    h = digest(&ob);
    *out = h;
    drop(&ob);
    FUZZ_CHECK(fa.live == 0);

    /* Reopened: the same, nothing to cut; then one record more. */
    ob = make(sub, NULL, in);
    FUZZ_CHECK(open_journal(&ob, &again) == PAL_OK);
    FUZZ_CHECK(again.records == records && again.bytes_cut == 0 &&
               again.created == 0 && again.bytes_kept == info.bytes_kept);
    FUZZ_CHECK(digest(&ob) == h);
    rc = append_one(&ob, in);
    FUZZ_CHECK(rc == PAL_OK || rc == PAL_DONE);
    drop(&ob);
    if (rc == PAL_OK) {
        ob = make(sub, NULL, in);
        FUZZ_CHECK(open_journal(&ob, &again) == PAL_OK);
        FUZZ_CHECK(again.records == records + 1 && again.bytes_cut == 0);
        drop(&ob);
    }
    drop(&fresh);
    return records;
}

/* ---- Raw files ----------------------------------------------------------- */

static void raw(fuzz_in_t *in)
{
    static const pal_sampler_t samplers[3] = {
        PAL_SAMPLER_CAPTCHA, PAL_SAMPLER_PASSIVE, PAL_SAMPLER_SSL};
    size_t len = in->size - in->at;
    const unsigned char *file = in->p + in->at;
    uint64_t h;

    if (len >= MAX_FILE)
        return;
    for (int k = 0; k < 4; k++) {
        subject_t sub;
        fuzz_in_t rest;

        memset(&sub, 0, sizeof sub);
        sub.n = 6;
        if (k > 0) {
            sub.oracle = true;
            pal_oracle_opts_init(&sub.op);
            sub.op.sampler = samplers[k - 1];
            sub.op.seed = (uint64_t)k;
            sub.op.screen_size = 3;
            sub.op.reg_mode = k == 3 ? PAL_REG_RANDOM : -1;
            sub.op.reg_pairs = 2;
        }
        write_file(file, len);
        fuzz_in_init(&rest, file, len);
        open_and_check(&sub, &rest, file, len, &h);
    }
}

/* ---- Journals the library writes, then damaged --------------------------- */

/* The offsets where the records of a file end (ends[0]: the header). */
static int64_t record_ends(const unsigned char *f, size_t len, int64_t *ends)
{
    int64_t r = 0;
    size_t at = HEADER;

    ends[0] = HEADER;
    while (at + 9 <= len && r + 1 < MAX_RECORDS) {
        uint32_t l = (uint32_t)f[at] | (uint32_t)f[at + 1] << 8 |
                     (uint32_t)f[at + 2] << 16 | (uint32_t)f[at + 3] << 24;

        if (l > len || at + 9 + l > len)
            break;
        at += 9 + l;
        ends[++r] = (int64_t)at;
    }
    return r;
}

/* Make the checksum of the record holding byte `at` hold again. */
static void fix_record(unsigned char *f, size_t len, size_t at)
{
    int64_t ends[MAX_RECORDS];
    int64_t count = record_ends(f, len, ends);

    for (int64_t r = 0; r < count; r++) {
        size_t start = (size_t)ends[r], l = (size_t)ends[r + 1] - start - 9;
        uint32_t c;

        if (at < start || at >= (size_t)ends[r + 1])
            continue;
        c = pal__jn_crc32c(0, f + start, 5 + l);
        for (int k = 0; k < 4; k++)
            f[start + 5 + l + (size_t)k] = (unsigned char)(c >> (8 * k));
    }
}

static void written(fuzz_in_t *in)
{
    static unsigned char orig[MAX_FILE], bad[MAX_FILE];
    uint64_t trail[MAX_RECORDS], h;
    int64_t ends[MAX_RECORDS], nrec = 0, kept, intact;
    subject_t sub;
    object_t ob;
    size_t len, blen;
    unsigned kind = fuzz_u8(in) % 4;
    bool stopped;
    int actions;

    memset(&sub, 0, sizeof sub);
    sub.oracle = kind > 0;
    sub.n = 6 + fuzz_below(in, 3);
    if (sub.oracle) {
        pal_oracle_opts_init(&sub.op);
        sub.op.sampler = kind == 1   ? PAL_SAMPLER_CAPTCHA
                         : kind == 2 ? PAL_SAMPLER_PASSIVE
                                     : PAL_SAMPLER_SSL;
        sub.op.seed = fuzz_u8(in);
        sub.op.screen_size = 1 + fuzz_below(in, 4);
        sub.op.reg_mode = fuzz_below(in, 2) ? PAL_REG_RANDOM : -1;
        sub.op.reg_pairs = 2;
        sub.op.candidates = (int)fuzz_below(in, 2);
        if (kind == 3)
            sub.n = 6;
    }

    /* Write it, keeping the writer's digest after each record. */
    unlink(path);
    ob = make(&sub, NULL, in);
    FUZZ_CHECK((ob.o ? pal_oracle_journal_open(ob.o, path, 0, NULL)
                     : pal_store_journal_open(ob.s, path, 0, NULL)) ==
               PAL_OK);
    trail[0] = digest(&ob);
    actions = (int)fuzz_below(in, 40);
    stopped = false;
    for (int t = 0; t < actions && nrec + 1 < MAX_RECORDS; t++) {
        int rc = PAL_OK;

        if (ob.s) {
            rc = append_one(&ob, in);
        } else {
            unsigned what = fuzz_u8(in) % 4;
            pal_answer_t ans[8];
            int64_t anchor, m;
            const int64_t *cand;

            if (sub.op.sampler == PAL_SAMPLER_CAPTCHA && what == 0 &&
                fuzz_below(in, 2)) {
                /* Priors first: a record of their own when they change. */
                int64_t nc = 0, k;
                double pri[4];
                struct stat s0, s1;

                FUZZ_CHECK(pal_oracle_templates(ob.o, NULL, 0, &nc) ==
                           PAL_OK);
                k = fuzz_below(in, (nc < 4 ? nc : 4) + 1);
                for (int64_t c = 0; c < k; c++)
                    pri[c] = 0.25 + fuzz_u8(in) / 16.0;
                FUZZ_CHECK(stat(path, &s0) == 0);
                FUZZ_CHECK(pal_oracle_set_priors(ob.o, k, pri) == PAL_OK);
                FUZZ_CHECK(stat(path, &s1) == 0);
                if (s1.st_size > s0.st_size)
                    trail[++nrec] = digest(&ob);
                if (nrec + 1 >= MAX_RECORDS)
                    break;
            }
            if (what == 0 || sub.op.sampler == PAL_SAMPLER_SSL) {
                pal_batch_t *b = NULL;

                if (what == 1)
                    FUZZ_CHECK(pal_batch_create(&b, NULL) == PAL_OK);
                rc = pal_oracle_step(ob.o, b);
                pal_batch_destroy(b);
            } else if ((rc = pal_oracle_next(ob.o, &anchor, &m, &cand)) ==
                       PAL_OK) {
                if (what == 3) {
                    pal_oracle_cancel(ob.o);
                } else {
                    for (int64_t k = 0; k < m && k < 8; k++)
                        ans[k] = (pal_answer_t)fuzz_below(in, 3);
                    rc = pal_oracle_answer(ob.o, ans, NULL);
                }
            }
        }
        if (rc == PAL_DONE) {
            /* The first stop is a record. */
            trail[nrec + 1] = digest(&ob);
            stopped = true;
            break;
        }
        FUZZ_CHECK(rc == PAL_OK);
        trail[++nrec] = digest(&ob);
    }
    drop(&ob);
    len = read_file(orig, sizeof orig);
    nrec += stopped;
    FUZZ_CHECK(record_ends(orig, len, ends) == nrec);

    /* Damage it. */
    memcpy(bad, orig, len);
    blen = len;
    for (int k = (int)fuzz_below(in, 4); k > 0; k--) {
        unsigned op = fuzz_u8(in) % 4;
        size_t at = blen ? (size_t)fuzz_u16(in) % blen : 0;
        unsigned char v = (unsigned char)(1 + fuzz_below(in, 255));

        if (op < 2 && blen > 0) {
            bad[at] ^= v;
            if (op == 1)
                fix_record(bad, blen, at);
        } else if (op == 2) {
            blen = (size_t)fuzz_u16(in) % (blen + 1);
        } else {
            for (int g = (int)fuzz_below(in, 9); g > 0 && blen + 1 < MAX_FILE;
                 g--)
                bad[blen++] = fuzz_u8(in);
        }
    }
    write_file(bad, blen);

    /* The records before the first changed byte are the writer's. */
    intact = 0;
    {
        size_t same = 0;

        while (same < blen && same < len && bad[same] == orig[same])
            same++;
        while (intact < nrec && (size_t)ends[intact + 1] <= same)
            intact++;
        if (same < HEADER)
            intact = -1;
    }
    kept = open_and_check(&sub, in, bad, blen, &h);
    if (kept >= 0 && intact >= 0) {
        FUZZ_CHECK(kept >= intact);
        if (kept == intact)
            FUZZ_CHECK(h == trail[kept]);
    }
    if (blen == len && memcmp(bad, orig, len) == 0)
        FUZZ_CHECK(kept == nrec && h == trail[nrec]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in;
    int fd0;

    init_path();
    fd0 = lowest_fd();
    fuzz_in_init(&in, data, size);
    if (fuzz_u8(&in) % 2)
        written(&in);
    else
        raw(&in);
    FUZZ_CHECK(lowest_fd() == fd0);
    return 0;
}
