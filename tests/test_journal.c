/*
 * The answer journal: its format (checked with a checksum written here
 * from the polynomial), round trips of stores and oracles, truncation at
 * every byte and a flipped bit in every byte, journals that must be
 * refused untouched, write failures, allocation failures, and writers
 * killed at random moments.
 *
 * Every test works in its own directory under /tmp, removed at its end.
 * Forked children (write failures, kills) never call Check: they report
 * through their exit status, so the tests run alike with CK_FORK=no.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storeutil.h"

/* Outputs of pal_oracle_next where a test only needs its status. */
static int64_t q_anchor, q_m;
static const int64_t *q_cand;


#define HEADER 36
#define STORE_RECORD 18

/* ---- Files --------------------------------------------------------------- */

typedef struct tdir {
    char path[64];
} tdir_t;

static void tdir_make(tdir_t *d)
{
    strcpy(d->path, "/tmp/pal-journal-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->path));
}

static const char *tfile(const tdir_t *d, const char *name, char *buf)
{
    if (snprintf(buf, 256, "%s/%s", d->path, name) >= 256)
        abort();
    return buf;
}

/* Remove the directory and what it holds (files, and empty
 * directories). */
static void tdir_remove(tdir_t *d)
{
    DIR *dir = opendir(d->path);
    struct dirent *e;
    char p[256];

    ck_assert_ptr_nonnull(dir);
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        tfile(d, e->d_name, p);
        if (unlink(p) != 0)
            rmdir(p);
    }
    closedir(dir);
    ck_assert_int_eq(rmdir(d->path), 0);
}

/* The file's bytes (malloc'd, NULL when it does not exist). */
static unsigned char *slurp(const char *path, size_t *len)
{
    struct stat st;
    unsigned char *b;
    int fd = open(path, O_RDONLY);
    ssize_t r;

    *len = 0;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0)
        abort();
    b = xmalloc((size_t)st.st_size + 1);
    r = read(fd, b, (size_t)st.st_size);
    if (r != (ssize_t)st.st_size)
        abort();
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

/* Replace the file at path by len bytes (a new file: rewriting one in
 * place would make some file systems flush it on close). */
static void spit(const char *path, const void *p, size_t len)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

    if (fd < 0 || write(fd, p, len) != (ssize_t)len || close(fd) != 0)
        abort();
}

static int64_t fsize(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* True when the file holds exactly len bytes equal to p. */
static bool same_file(const char *path, const unsigned char *p, size_t len)
{
    size_t got;
    unsigned char *b = slurp(path, &got);
    bool same = b && got == len && memcmp(b, p, len) == 0;

    free(b);
    return same;
}

/* ---- The format, from the documentation ---------------------------------- */

/* CRC-32C one bit at a time, reflected polynomial 0x82f63b78. */
static uint32_t ref_crc(const unsigned char *p, size_t len)
{
    uint32_t c = 0xffffffffu;

    for (size_t k = 0; k < len; k++) {
        c ^= p[k];
        for (int b = 0; b < 8; b++)
            c = (c & 1u) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    }
    return ~c;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Recompute the header's checksum after editing it. */
static void fix_header(unsigned char *f)
{
    put_le32(f + 32, ref_crc(f, 32));
}

/*
 * The offsets where records end: ends[0] is the header's end, ends[r]
 * the end of record r. Every checksum must hold. Returns the count.
 */
static int64_t record_ends(const unsigned char *f, size_t len, int64_t *ends,
                           int64_t cap)
{
    int64_t r = 0, at = HEADER;

    ck_assert_uint_ge(len, HEADER);
    ck_assert_uint_eq(le32(f + 32), ref_crc(f, 32));
    ends[0] = HEADER;
    while ((size_t)at < len) {
        uint32_t l = le32(f + at);

        ck_assert_uint_le((size_t)at + 9 + l, len);
        ck_assert_uint_eq(le32(f + at + 5 + l), ref_crc(f + at, 5 + l));
        at += 9 + l;
        ck_assert_int_lt(r + 1, cap);
        ends[++r] = at;
    }
    return r;
}

/* ---- Digests of what an object shows ------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9e3779b97f4a7c15u;
    return h ^ (h >> 31);
}

/* Everything a store shows: counters, relations, components, labels and
 * its log. No Check calls, so that children may use it. */
static uint64_t store_digest(const pal_store_t *s)
{
    const int64_t n = pal_store_n(s);
    pal_store_stats_t st = {.size = sizeof st};
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    uint64_t h = 1;

    if (!lab || pal_store_stats(s, &st) != PAL_OK)
        abort();
    h = mix(h, (uint64_t)st.answers);
    h = mix(h, (uint64_t)st.same);
    h = mix(h, (uint64_t)st.different);
    h = mix(h, (uint64_t)st.unsure);
    h = mix(h, (uint64_t)st.conflicts);
    h = mix(h, (uint64_t)st.redundant);
    h = mix(h, (uint64_t)st.components);
    h = mix(h, (uint64_t)st.different_pairs);
    h = mix(h, (uint64_t)st.known_pairs);
    h = mix(h, (uint64_t)st.complete);
    for (int64_t i = 0; i < n; i++) {
        int64_t root, size;

        if (pal_store_component(s, i, &root, &size) != PAL_OK)
            abort();
        h = mix(mix(h, (uint64_t)root), (uint64_t)size);
        for (int64_t j = 0; n <= 200 && j < n; j++) {
            pal_relation_t r;

            if (pal_store_relation(s, i, j, &r) != PAL_OK)
                abort();
            h = mix(h, (uint64_t)r);
        }
    }
    for (unsigned f = 0; f < 2; f++) {
        int64_t nc;

        if (pal_store_labels(s, f, lab, &nc) != PAL_OK)
            abort();
        h = mix(h, (uint64_t)nc);
        for (int64_t i = 0; i < n; i++)
            h = mix(h, (uint64_t)lab[i]);
    }
    for (int64_t k = 0; k < st.answers; k++) {
        int64_t i, j;
        pal_answer_t a;

        if (pal_store_log_entry(s, k, &i, &j, &a) != PAL_OK)
            abort();
        h = mix(mix(mix(h, (uint64_t)i), (uint64_t)j), (uint64_t)a);
    }
    free(lab);
    return h;
}

/* A store's digest and an oracle's counters and templates. */
static uint64_t oracle_digest(const pal_oracle_t *o)
{
    pal_oracle_costs_t c = {.size = sizeof c};
    uint64_t h = store_digest(pal_oracle_store(o));
    int64_t tmpl[64], count = 0;

    if (pal_oracle_costs(o, &c) != PAL_OK)
        abort();
    h = mix(h, (uint64_t)c.steps);
    h = mix(h, (uint64_t)c.screens);
    h = mix(h, (uint64_t)c.answers);
    h = mix(h, (uint64_t)c.same);
    h = mix(h, (uint64_t)c.different);
    h = mix(h, (uint64_t)c.unsure);
    h = mix(h, (uint64_t)c.conflicts);
    h = mix(h, (uint64_t)c.classes);
    if (pal_oracle_templates(o, tmpl, 64, &count) == PAL_OK)
        for (int64_t k = 0; k < count && k < 64; k++)
            h = mix(h, (uint64_t)tmpl[k]);
    return h;
}

/* The pairs of a batch, in order. */
static uint64_t batch_digest(const pal_batch_t *b)
{
    const int64_t *pi, *pj, *ri, *rj;
    const double *pg;
    int64_t np, nr;
    uint64_t h = 7;

    if (!b)
        return h;
    if (pal_batch_pairs(b, &pi, &pj, &pg, &np) != PAL_OK ||
        pal_batch_regs(b, &ri, &rj, &nr) != PAL_OK)
        abort();
    for (int64_t k = 0; k < np; k++) {
        uint64_t g;

        memcpy(&g, &pg[k], sizeof g);
        h = mix(mix(mix(h, (uint64_t)pi[k]), (uint64_t)pj[k]), g);
    }
    for (int64_t k = 0; k < nr; k++)
        h = mix(mix(h, (uint64_t)ri[k]), (uint64_t)rj[k]);
    return h;
}

/* ---- Stores -------------------------------------------------------------- */

static pal_store_t *new_store(int64_t n)
{
    pal_store_t *s = NULL;

    ck_status(pal_store_create(&s, n, NULL), PAL_OK);
    return s;
}

/* The answer stream of the store tests: pairs repeat, and all three
 * answers occur. */
static void gen_answer(trng_t *r, int64_t n, int64_t *i, int64_t *j,
                       pal_answer_t *a)
{
    uint64_t u = trng_next(r);

    *i = (int64_t)(u % (uint64_t)n);
    *j = (u >> 20) % 9 == 0 ? *i : (int64_t)((u >> 24) % (uint64_t)n);
    *a = (u >> 40) % 10 == 0   ? PAL_ANSWER_UNSURE
         : (u >> 44) % 10 < 3 ? PAL_ANSWER_SAME
                              : PAL_ANSWER_DIFFERENT;
}

/* Feed s the first count answers of the stream seeded with seed. */
static void feed(pal_store_t *s, uint64_t seed, int64_t count)
{
    const int64_t n = pal_store_n(s);
    trng_t r;

    trng_seed(&r, seed);
    for (int64_t k = 0; k < count; k++) {
        int64_t i, j;
        pal_answer_t a;

        gen_answer(&r, n, &i, &j, &a);
        if (pal_store_answer(s, i, j, a, NULL, NULL) != PAL_OK)
            abort();
    }
}

/* A store fed count answers, and its digest. */
static uint64_t fed_digest(int64_t n, uint64_t seed, int64_t count)
{
    pal_store_t *s = NULL;
    uint64_t h;

    if (pal_store_create(&s, n, NULL) != PAL_OK)
        abort();
    feed(s, seed, count);
    h = store_digest(s);
    pal_store_destroy(s);
    return h;
}

/* Write a store journal of count answers at path. */
static void make_store_journal(const char *path, int64_t n, uint64_t seed,
                               int64_t count)
{
    pal_store_t *s = new_store(n);

    unlink(path);
    ck_status(pal_store_journal_open(s, path, 0, NULL), PAL_OK);
    feed(s, seed, count);
    ck_status(pal_store_journal_close(s), PAL_OK);
    pal_store_destroy(s);
}

static pal_journal_info_t open_store(pal_store_t *s, const char *path,
                                     unsigned flags, int want)
{
    pal_journal_info_t info;

    memset(&info, 0x5a, sizeof info);
    info.size = sizeof info;
    ck_status(pal_store_journal_open(s, path, flags, &info), want);
    return info;
}

/* ---- Oracles ------------------------------------------------------------- */

/* The true class of an item, and the answers of a person who knows
 * them but is unsure of a few pairs. Pure functions of the pair. */
static int64_t true_class(int64_t i, int64_t classes)
{
    return (int64_t)(((uint64_t)i * 2654435761u >> 7) % (uint64_t)classes);
}

typedef struct person {
    int64_t classes;
    bool ssl;                /* the oracle never asks */
    uint64_t asked;          /* digest of every question shown */
    uint64_t last;           /* digest of the last one */
} person_t;

static pal_answer_t person_answer(const person_t *p, int64_t a, int64_t b)
{
    if (((uint64_t)(a + 1) * (uint64_t)(b + 3)) % 13 == 0)
        return PAL_ANSWER_UNSURE;
    return true_class(a, p->classes) == true_class(b, p->classes)
               ? PAL_ANSWER_SAME
               : PAL_ANSWER_DIFFERENT;
}

static uint64_t question_digest(int64_t anchor, int64_t m,
                                const int64_t *cand)
{
    uint64_t h = mix(mix(3, (uint64_t)anchor), (uint64_t)m);

    for (int64_t k = 0; k < m; k++)
        h = mix(h, (uint64_t)cand[k]);
    return h;
}

static void person_shown(person_t *p, int64_t anchor, int64_t m,
                         const int64_t *cand)
{
    p->last = question_digest(anchor, m, cand);
    p->asked = mix(p->asked, p->last);
}

static int person_labeler(void *user, int64_t anchor, int64_t m,
                          const int64_t *cand, pal_answer_t *ans)
{
    person_t *p = user;

    person_shown(p, anchor, m, cand);
    for (int64_t k = 0; k < m; k++)
        ans[k] = person_answer(p, anchor, cand[k]);
    return 0;
}

typedef struct ocfg {
    pal_sampler_t sampler;
    int64_t n, screen, classes, views;
    int reg_mode, candidates;
    uint64_t seed;
    bool source;             /* SSL: an explicit source array */
} ocfg_t;

static pal_oracle_opts_t ocfg_opts(const ocfg_t *c, int64_t *src)
{
    pal_oracle_opts_t op;

    pal_oracle_opts_init(&op);
    op.sampler = c->sampler;
    op.seed = c->seed;
    op.screen_size = c->screen;
    op.reg_mode = c->reg_mode;
    op.reg_pairs = 5;
    op.candidates = c->candidates;
    op.views = c->views > 0 ? c->views : 2;
    if (c->source) {
        for (int64_t i = 0; i < c->n; i++)
            src[i] = (i * 7) % (c->n / 3 + 1);
        op.source = src;
    }
    return op;
}

/* An oracle of configuration c whose labeler is p (a NULL allocator
 * means malloc). No Check calls. */
static pal_oracle_t *make_oracle_with(const ocfg_t *c, person_t *p,
                                      const pal_allocator_t *a)
{
    int64_t *src = malloc((size_t)c->n * sizeof *src);
    pal_oracle_opts_t op = ocfg_opts(c, src);
    pal_oracle_t *o = NULL;

    if (pal_oracle_create(&o, c->n, &op, a) != PAL_OK)
        abort();
    free(src);
    if (p && pal_oracle_set_labeler(o, person_labeler, p) != PAL_OK)
        abort();
    if (p)
        p->ssl = c->sampler == PAL_SAMPLER_SSL;
    return o;
}

static pal_oracle_t *make_oracle(const ocfg_t *c, person_t *p)
{
    return make_oracle_with(c, p, NULL);
}

/*
 * Action k of the oracle tests: steps with and without a batch, pulled
 * questions answered with and without one, and now and then a pulled
 * question dropped. Each action that succeeds makes one record. No
 * Check calls.
 */
static int drive(pal_oracle_t *o, person_t *p, int64_t k, pal_batch_t *b)
{
    const int64_t *cand;
    pal_answer_t ans[64];
    int64_t anchor, m;
    int rc;

    if (p->ssl || k % 6 < 2 || k % 6 == 3)
        return pal_oracle_step(o, k % 6 == 1 ? NULL : b);
    rc = pal_oracle_next(o, &anchor, &m, &cand);
    if (rc != PAL_OK)
        return rc;
    person_shown(p, anchor, m, cand);
    if (k % 12 == 5) {
        pal_oracle_cancel(o);
        return PAL_OK;
    }
    for (int64_t q = 0; q < m; q++)
        ans[q] = person_answer(p, anchor, cand[q]);
    return pal_oracle_answer(o, ans, k % 6 == 2 ? b : NULL);
}

/*
 * The digests of a reference oracle that never stopped: digest[r] after
 * r actions, and asked[r], the digest of the question action r shows.
 * Returns the number of actions before PAL_DONE (at most cap - 1).
 */
static int64_t reference_run(const ocfg_t *c, int64_t cap, uint64_t *digest,
                             uint64_t *asked)
{
    person_t p = {c->classes, false, 0, 0};
    pal_oracle_t *o = make_oracle(c, &p);
    int64_t r = 0;

    digest[0] = oracle_digest(o);
    while (r + 1 < cap) {
        p.last = 0;
        if (drive(o, &p, r, NULL) != PAL_OK)
            break;
        asked[r] = p.last;
        digest[++r] = oracle_digest(o);
    }
    asked[r] = 0;
    pal_oracle_destroy(o);
    return r;
}

/* The digest of the next question of o (which becomes pending), 0
 * when there is none. */
static uint64_t next_question(pal_oracle_t *o)
{
    const int64_t *cand;
    int64_t anchor, m;

    if (pal_oracle_next(o, &anchor, &m, &cand) != PAL_OK)
        return 0;
    return question_digest(anchor, m, cand);
}

/* Write an oracle journal of up to count actions at path; returns the
 * actions made. */
static int64_t make_oracle_journal(const char *path, const ocfg_t *c,
                                   int64_t count)
{
    person_t p = {c->classes, false, 0, 0};
    pal_oracle_t *o = make_oracle(c, &p);
    int64_t k;

    unlink(path);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
    for (k = 0; k < count; k++)
        if (drive(o, &p, k, NULL) != PAL_OK)
            break;
    pal_oracle_destroy(o);
    return k;
}

static pal_journal_info_t open_oracle(pal_oracle_t *o, const char *path,
                                      unsigned flags, int want)
{
    pal_journal_info_t info;

    memset(&info, 0x5a, sizeof info);
    info.size = sizeof info;
    ck_status(pal_oracle_journal_open(o, path, flags, &info), want);
    return info;
}

static const ocfg_t small_captcha = {PAL_SAMPLER_CAPTCHA, 14, 4, 3, 0, -1,
                                     PAL_CANDIDATES_ELIMINATION, 5, false};

/* ---- Format -------------------------------------------------------------- */

START_TEST(format_is_as_documented)
{
    static const unsigned char magic[8] = {0x89, 'P', 'A', 'L',
                                           'J',  'R', 'N', 0x0a};
    static const unsigned char check[9] = {'1', '2', '3', '4', '5',
                                           '6', '7', '8', '9'};
    pal_store_t *s = new_store(300);
    pal_oracle_t *o;
    person_t p = {3, false, 0, 0};
    unsigned char *f;
    int64_t ends[8];
    size_t len;
    tdir_t d;
    char path[256];

    ck_assert_uint_eq(ref_crc(check, sizeof check), 0xe3069283u);
    tdir_make(&d);
    tfile(&d, "store", path);
    ck_status(pal_store_journal_open(s, path, 0, NULL), PAL_OK);
    ck_status(pal_store_answer(s, 3, 258, PAL_ANSWER_SAME, NULL, NULL),
              PAL_OK);
    ck_status(pal_store_answer(s, 299, 0, PAL_ANSWER_UNSURE, NULL, NULL),
              PAL_OK);
    pal_store_destroy(s);

    f = slurp(path, &len);
    ck_assert_uint_eq(len, HEADER + 2 * STORE_RECORD);
    ck_assert(memcmp(f, magic, 8) == 0);
    ck_assert_uint_eq(le32(f + 8), 1);      /* version */
    ck_assert_uint_eq(le32(f + 12), 0);     /* flags: a store */
    ck_assert_uint_eq(le64(f + 16), 300);   /* n */
    ck_assert_uint_eq(le64(f + 24), 0);     /* fingerprint */
    ck_assert_int_eq(record_ends(f, len, ends, 8), 2);
    ck_assert_uint_eq(le32(f + 36), 9);     /* payload length */
    ck_assert_uint_eq(f[40], 1);            /* an answer */
    ck_assert_uint_eq(le32(f + 41), 3);
    ck_assert_uint_eq(le32(f + 45), 258);
    ck_assert_uint_eq(f[49], PAL_ANSWER_SAME);
    ck_assert_uint_eq(le32(f + 54 + 5), 299);
    ck_assert_uint_eq(le32(f + 54 + 9), 0);
    ck_assert_uint_eq(f[54 + 13], PAL_ANSWER_UNSURE);
    free(f);

    /* An oracle's screen: flags, anchor, m, candidates, answers. */
    tfile(&d, "oracle", path);
    o = make_oracle(&small_captcha, &p);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    pal_oracle_destroy(o);
    f = slurp(path, &len);
    ck_assert_uint_eq(le32(f + 8), 2);      /* version */
    ck_assert_uint_eq(le32(f + 12), 1);     /* flags: an oracle */
    ck_assert_uint_eq(le64(f + 16), 14);
    ck_assert(le64(f + 24) != 0);
    ck_assert_int_eq(record_ends(f, len, ends, 8), 1);
    ck_assert_uint_eq(f[40], 2);            /* a screen */
    ck_assert_uint_eq(le32(f + 36), 9 + 5 * 4);
    ck_assert_uint_eq(f[41], 0);            /* no regulariser pairs */
    ck_assert_uint_eq(le32(f + 46), 4);     /* m */
    for (int k = 0; k < 4; k++)
        ck_assert_uint_eq(f[50 + 16 + k],
                          person_answer(&p, le32(f + 42),
                                        le32(f + 50 + 4 * k)));
    free(f);

    /* A stop: flags, then the reason. */
    tfile(&d, "stop", path);
    {
        pal_oracle_opts_t op;

        pal_oracle_opts_init(&op);
        op.screen_size = 4;
        op.budget = 4.0;
        ck_status(pal_oracle_create(&o, 14, &op, NULL), PAL_OK);
    }
    ck_status(pal_oracle_set_labeler(o, person_labeler, &p), PAL_OK);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_DONE);
    pal_oracle_destroy(o);
    f = slurp(path, &len);
    ck_assert_int_eq(record_ends(f, len, ends, 8), 2);
    ck_assert_uint_eq(le32(f + ends[1]), 2);
    ck_assert_uint_eq(f[ends[1] + 4], 5);           /* a stop */
    ck_assert_uint_eq(f[ends[1] + 5], 0);           /* flags */
    ck_assert_uint_eq(f[ends[1] + 6], PAL_STOP_BUDGET);
    free(f);
    tdir_remove(&d);
}
END_TEST

/*
 * Journals of format version 1 still open, replay as they did, and keep
 * their header when the oracle goes on writing in them.
 */
START_TEST(version_1_journals_open)
{
    uint64_t digest[32], asked[32];
    int64_t actions;
    unsigned char *f;
    size_t len;
    tdir_t d;
    char path[256];

    tdir_make(&d);
    tfile(&d, "v1", path);
    actions = reference_run(&small_captcha, 32, digest, asked);
    ck_assert_int_ge(actions, 8);
    ck_assert_int_eq(make_oracle_journal(path, &small_captcha, 5), 5);
    f = slurp(path, &len);
    put_le32(f + 8, 1);
    fix_header(f);
    spit(path, f, len);
    for (int again = 0; again < 2; again++) {
        person_t p = {small_captcha.classes, false, 0, 0};
        pal_oracle_t *o = make_oracle(&small_captcha, &p);
        pal_journal_info_t info = open_oracle(o, path, 0, PAL_OK);

        ck_assert_int_eq(info.records, 5 + again);
        ck_assert_uint_eq(oracle_digest(o), digest[5 + again]);
        ck_assert_uint_eq(next_question(o), asked[5 + again]);
        pal_oracle_destroy(o);
        o = make_oracle(&small_captcha, &p);
        open_oracle(o, path, 0, PAL_OK);
        ck_status(drive(o, &p, 5 + again, NULL), PAL_OK);
        pal_oracle_destroy(o);
    }
    free(f);
    f = slurp(path, &len);
    ck_assert_uint_eq(le32(f + 8), 1);
    free(f);
    tdir_remove(&d);
}
END_TEST

/* ---- Arguments and states ------------------------------------------------ */

START_TEST(arguments_and_states)
{
    pal_store_t *s = new_store(10);
    pal_oracle_t *o;
    person_t p = {3, false, 0, 0};
    pal_journal_info_t info = {.size = sizeof info};
    struct {
        pal_journal_info_t info;
        int64_t later;
    } big;
    tdir_t d;
    char path[256], other[256], sub[256];

    tdir_make(&d);
    tfile(&d, "j", path);
    tfile(&d, "k", other);
    ck_status(pal_store_journal_open(NULL, path, 0, NULL), PAL_E_NULL);
    ck_status(pal_store_journal_open(s, NULL, 0, NULL), PAL_E_NULL);
    ck_status(pal_store_journal_open(s, path, 2, NULL), PAL_E_RANGE);
    info.size = sizeof info - 1;
    ck_status(pal_store_journal_open(s, path, 0, &info), PAL_E_SIZE);
    info.size = 0;
    ck_status(pal_store_journal_open(s, path, 0, &info), PAL_E_SIZE);
    ck_assert_int_eq(fsize(path), -1);
    ck_status(pal_store_journal_close(NULL), PAL_E_NULL);
    ck_status(pal_store_journal_close(s), PAL_OK);

    /* Files that cannot be journals. */
    ck_status(pal_store_journal_open(s, "/tmp/pal-journal-none/x/j", 0,
                                     NULL),
              PAL_E_IO);
    ck_status(pal_store_journal_open(s, d.path, 0, NULL), PAL_E_IO);
    tfile(&d, "sub", sub);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_status(pal_store_journal_open(s, sub, 0, NULL), PAL_E_IO);
    ck_status(pal_store_journal_open(s, "/dev/null", 0, NULL), PAL_E_IO);

    /* A larger info structure is filled in part. */
    memset(&big, 0x5a, sizeof big);
    big.info.size = sizeof big;
    ck_status(pal_store_journal_open(s, path, PAL_JOURNAL_SYNC, &big.info),
              PAL_OK);
    ck_assert_uint_eq(big.info.size, sizeof big);
    ck_assert_int_eq(big.info.created, 1);
    ck_assert_int_eq(big.info.records, 0);
    ck_assert_int_eq(big.info.answers, 0);
    ck_assert_int_eq(big.info.bytes_kept, HEADER);
    ck_assert_int_eq(big.info.bytes_cut, 0);
    ck_assert_int_eq(big.later, 0x5a5a5a5a5a5a5a5a);
    ck_assert_int_eq(fsize(path), HEADER);

    /* One journal at a time, and only on a store without answers. */
    ck_status(pal_store_journal_open(s, other, 0, NULL), PAL_E_STATE);
    ck_status(pal_store_answer(s, 1, 2, PAL_ANSWER_SAME, NULL, NULL),
              PAL_OK);
    ck_assert_int_eq(fsize(path), HEADER + STORE_RECORD);
    ck_status(pal_store_journal_close(s), PAL_OK);
    ck_status(pal_store_journal_close(s), PAL_OK);
    ck_status(pal_store_journal_open(s, other, 0, NULL), PAL_E_STATE);
    ck_assert_int_eq(fsize(other), -1);
    ck_status(pal_store_answer(s, 3, 2, PAL_ANSWER_SAME, NULL, NULL),
              PAL_OK);
    ck_assert_int_eq(fsize(path), HEADER + STORE_RECORD);
    pal_store_destroy(s);

    /* An existing empty file starts a journal. */
    spit(other, "", 0);
    s = new_store(10);
    info = open_store(s, other, 0, PAL_OK);
    ck_assert_int_eq(info.created, 1);
    ck_assert_int_eq(fsize(other), HEADER);
    pal_store_destroy(s);
    s = new_store(10);
    info = open_store(s, other, 0, PAL_OK);
    ck_assert_int_eq(info.created, 0);
    pal_store_destroy(s);

    /* Oracles: arguments, then only before the first question. */
    tfile(&d, "o", path);
    o = make_oracle(&small_captcha, &p);
    ck_status(pal_oracle_journal_open(NULL, path, 0, NULL), PAL_E_NULL);
    ck_status(pal_oracle_journal_open(o, NULL, 0, NULL), PAL_E_NULL);
    ck_status(pal_oracle_journal_open(o, path, 4, NULL), PAL_E_RANGE);
    info.size = 8;
    ck_status(pal_oracle_journal_open(o, path, 0, &info), PAL_E_SIZE);
    ck_status(pal_oracle_journal_close(NULL), PAL_E_NULL);
    ck_status(pal_oracle_journal_close(o), PAL_OK);
    ck_status(pal_oracle_next(o, &q_anchor, &q_m, &q_cand), PAL_OK);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_E_STATE);
    pal_oracle_cancel(o);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_E_STATE);
    ck_assert_int_eq(fsize(path), -1);
    pal_oracle_destroy(o);

    o = make_oracle(&small_captcha, &p);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_E_STATE);
    ck_status(pal_oracle_journal_close(o), PAL_OK);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_status(pal_oracle_journal_close(o), PAL_OK);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_E_STATE);
    pal_oracle_destroy(o);
    tdir_remove(&d);
}
END_TEST

/* ---- Round trips --------------------------------------------------------- */

START_TEST(store_round_trip)
{
    const int64_t n = 40;
    trng_t r;
    tdir_t d;
    char path[256];

    trng_seed(&r, test_seed() + 301);
    tdir_make(&d);
    tfile(&d, "j", path);
    for (int run = 0; run < 4; run++) {
        unsigned flags = run % 2 ? PAL_JOURNAL_SYNC : 0;
        pal_store_t *s = new_store(n), *ref = new_store(n), *back;
        pal_batch_t *b = NULL, *rb = NULL;
        pal_journal_info_t info;
        int64_t count = 50 + 100 * run;
        snap_t want;

        unlink(path);
        ck_status(pal_batch_create(&b, NULL), PAL_OK);
        ck_status(pal_batch_create(&rb, NULL), PAL_OK);
        info = open_store(s, path, flags, PAL_OK);
        ck_assert_int_eq(info.created, 1);
        for (int64_t k = 0; k < count; k++) {
            int64_t i, j;
            pal_answer_t a;
            int e1 = -1, e2 = -2;

            gen_answer(&r, n, &i, &j, &a);
            ck_status(pal_store_answer(s, i, j, a, b, &e1), PAL_OK);
            ck_status(pal_store_answer(ref, i, j, a, rb, &e2), PAL_OK);
            quick_assert(e1 == e2);
        }
        snap_take(&want, ref, rb);
        snap_check(&want, s, b);
        snap_free(&want);
        ck_assert_int_eq(fsize(path), HEADER + STORE_RECORD * count);

        /* Closed (or destroyed with its journal open), then reopened. */
        if (run < 2)
            ck_status(pal_store_journal_close(s), PAL_OK);
        pal_store_destroy(s);
        back = new_store(n);
        info = open_store(back, path, flags, PAL_OK);
        ck_assert_int_eq(info.created, 0);
        ck_assert_int_eq(info.records, count);
        ck_assert_int_eq(info.answers, count);
        ck_assert_int_eq(info.bytes_kept, HEADER + STORE_RECORD * count);
        ck_assert_int_eq(info.bytes_cut, 0);
        snap_take(&want, ref, NULL);
        snap_check(&want, back, NULL);
        snap_free(&want);
        ck_assert_uint_eq(store_digest(back), store_digest(ref));

        /* It goes on like the store that never stopped. */
        for (int64_t k = 0; k < 30; k++) {
            int64_t i, j;
            pal_answer_t a;
            int e1 = -1, e2 = -2;

            gen_answer(&r, n, &i, &j, &a);
            pal_batch_clear(b);
            pal_batch_clear(rb);
            ck_status(pal_store_answer(back, i, j, a, b, &e1), PAL_OK);
            ck_status(pal_store_answer(ref, i, j, a, rb, &e2), PAL_OK);
            quick_assert(e1 == e2);
            quick_assert(batch_digest(b) == batch_digest(rb));
        }
        ck_assert_uint_eq(store_digest(back), store_digest(ref));
        pal_store_destroy(back);
        back = new_store(n);
        info = open_store(back, path, 0, PAL_OK);
        ck_assert_int_eq(info.records, count + 30);
        ck_assert_uint_eq(store_digest(back), store_digest(ref));
        pal_store_destroy(back);
        pal_store_destroy(ref);
        pal_batch_destroy(b);
        pal_batch_destroy(rb);
    }
    tdir_remove(&d);
}
END_TEST

/*
 * Answers given in batches (of random sizes, empty ones included) write
 * the very file that single calls write, and reopening it gives back the
 * store.
 */
START_TEST(store_batch_round_trip)
{
    const int64_t n = 40;
    trng_t r;
    tdir_t d;
    char path[256], rpath[256];

    trng_seed(&r, test_seed() + 302);
    tdir_make(&d);
    tfile(&d, "j", path);
    tfile(&d, "ref", rpath);
    for (int run = 0; run < 4; run++) {
        unsigned flags = run % 2 ? PAL_JOURNAL_SYNC : 0;
        pal_store_t *s = new_store(n), *ref = new_store(n), *back;
        int64_t done = 0, count = 60 + 120 * run;
        unsigned char *f1, *f2;
        size_t l1, l2;

        unlink(path);
        unlink(rpath);
        open_store(s, path, flags, PAL_OK);
        open_store(ref, rpath, flags, PAL_OK);
        while (done < count) {
            int64_t bi[32], bj[32];
            pal_answer_t ba[32];
            int eff[32], k = (int)trng_below(&r, 33);

            if (k > count - done)
                k = (int)(count - done);
            for (int q = 0; q < k; q++) {
                int e = -1;

                gen_answer(&r, n, &bi[q], &bj[q], &ba[q]);
                ck_status(pal_store_answer(ref, bi[q], bj[q], ba[q], NULL,
                                           &e),
                          PAL_OK);
                eff[q] = e;
            }
            if (trng_below(&r, 2)) {
                int got[32];

                ck_status(pal_store_answer_batch(s, k, bi, bj, ba, got),
                          PAL_OK);
                for (int q = 0; q < k; q++)
                    ck_assert_int_eq(got[q], eff[q]);
            } else {
                ck_status(pal_store_answer_batch(s, k, bi, bj, ba, NULL),
                          PAL_OK);
            }
            done += k;
            ck_assert_int_eq(fsize(path), HEADER + STORE_RECORD * done);
        }
        ck_assert_uint_eq(store_digest(s), store_digest(ref));
        ck_status(pal_store_journal_close(s), PAL_OK);
        ck_status(pal_store_journal_close(ref), PAL_OK);
        f1 = slurp(path, &l1);
        f2 = slurp(rpath, &l2);
        ck_assert_int_eq((int64_t)l1, (int64_t)l2);
        ck_assert(memcmp(f1, f2, l1) == 0);
        free(f1);
        free(f2);

        back = new_store(n);
        ck_assert_int_eq(open_store(back, path, flags, PAL_OK).records,
                         count);
        ck_assert_uint_eq(store_digest(back), store_digest(ref));
        pal_store_destroy(back);
        pal_store_destroy(s);
        pal_store_destroy(ref);
    }
    tdir_remove(&d);
}
END_TEST

static const ocfg_t round_trip_cfgs[] = {
    {PAL_SAMPLER_CAPTCHA, 60, 6, 5, 0, -1, PAL_CANDIDATES_ELIMINATION, 11,
     false},
    {PAL_SAMPLER_CAPTCHA, 45, 4, 4, 0, PAL_REG_RANDOM,
     PAL_CANDIDATES_UNIFORM, 12, false},
    {PAL_SAMPLER_PASSIVE, 20, 1, 3, 0, PAL_REG_HALVES, 0, 13, false},
    {PAL_SAMPLER_SSL, 24, 1, 1, 3, PAL_REG_RANDOM, 0, 14, false},
    {PAL_SAMPLER_SSL, 30, 1, 1, 0, PAL_REG_SAME, 0, 15, true},
};

/*
 * An oracle journals some actions and stops; a new oracle with the same
 * options reopens the journal, and must then match, action after action
 * and batch after batch, an oracle that never stopped.
 */
START_TEST(oracle_round_trip)
{
    const ocfg_t *c = &round_trip_cfgs[_i];
    const int64_t stop = c->sampler == PAL_SAMPLER_SSL ? 25 : 17;
    person_t pa = {c->classes, false, 0, 0}, pr = pa, pb;
    pal_oracle_t *a = make_oracle(c, &pa), *ref = make_oracle(c, &pr), *b;
    pal_batch_t *ba = NULL, *bb = NULL, *br = NULL;
    const pal_store_t *store_b;
    pal_journal_info_t info;
    int64_t k, answers = 0;
    tdir_t d;
    char path[256];

    tdir_make(&d);
    tfile(&d, "j", path);
    ck_status(pal_batch_create(&ba, NULL), PAL_OK);
    ck_status(pal_batch_create(&bb, NULL), PAL_OK);
    ck_status(pal_batch_create(&br, NULL), PAL_OK);
    info = open_oracle(a, path, 0, PAL_OK);
    ck_assert_int_eq(info.created, 1);
    for (k = 0; k < stop; k++) {
        pal_batch_clear(ba);
        pal_batch_clear(br);
        ck_status(drive(a, &pa, k, ba), PAL_OK);
        ck_status(drive(ref, &pr, k, br), PAL_OK);
        quick_assert(batch_digest(ba) == batch_digest(br));
    }
    ck_assert_uint_eq(oracle_digest(a), oracle_digest(ref));
    {
        pal_oracle_costs_t cs = {.size = sizeof cs};

        ck_status(pal_oracle_costs(a, &cs), PAL_OK);
        answers = cs.answers;
    }
    pal_oracle_destroy(a);

    /* The store object the host sees stays the same across the open. */
    pb = pr;
    pb.asked = 0;
    pr.asked = 0;
    b = make_oracle(c, &pb);
    store_b = pal_oracle_store(b);
    info = open_oracle(b, path, 0, PAL_OK);
    ck_assert_ptr_eq(pal_oracle_store(b), store_b);
    ck_assert_int_eq(info.created, 0);
    ck_assert_int_eq(info.records, stop);
    ck_assert_int_eq(info.answers, answers);
    ck_assert_int_eq(info.bytes_cut, 0);
    ck_assert_int_eq(info.bytes_kept, fsize(path));
    ck_assert_uint_eq(oracle_digest(b), oracle_digest(ref));
    {
        snap_t want;

        snap_take(&want, pal_oracle_store(ref), NULL);
        snap_check(&want, pal_oracle_store(b), NULL);
        snap_free(&want);
    }

    /* Then the same questions, answers and batches as the reference. */
    for (; k < stop + 40; k++) {
        int rb, rr;

        pal_batch_clear(bb);
        pal_batch_clear(br);
        rb = drive(b, &pb, k, bb);
        rr = drive(ref, &pr, k, br);
        ck_status(rb, rr);
        quick_assert(batch_digest(bb) == batch_digest(br));
        quick_assert(pb.asked == pr.asked);
        quick_assert(oracle_digest(b) == oracle_digest(ref));
        if (rb == PAL_DONE)
            break;
    }
    ck_assert_uint_eq(oracle_digest(b), oracle_digest(ref));
    pal_oracle_destroy(b);

    /* Everything is in the file: a third oracle sees it all. */
    b = make_oracle(c, &pb);
    info = open_oracle(b, path, PAL_JOURNAL_SYNC, PAL_OK);
    ck_assert_uint_eq(oracle_digest(b), oracle_digest(ref));
    if (c->sampler != PAL_SAMPLER_SSL)
        ck_assert_uint_eq(next_question(b), next_question(ref));
    pal_oracle_destroy(b);
    pal_oracle_destroy(ref);
    pal_batch_destroy(ba);
    pal_batch_destroy(bb);
    pal_batch_destroy(br);
    tdir_remove(&d);
}
END_TEST

/* ---- Damage -------------------------------------------------------------- */

/*
 * A store journal cut at every byte: the records wholly before the cut
 * come back, the rest is reported and cut from the file, and the journal
 * goes on from there.
 */
START_TEST(store_truncated_everywhere)
{
    const int64_t n = 12, count = 9;
    const uint64_t seed = test_seed() + 302;
    uint64_t want[16];
    int64_t ends[16];
    unsigned char *full;
    size_t len;
    tdir_t d;
    char path[256], cut[256];

    tdir_make(&d);
    tfile(&d, "full", path);
    tfile(&d, "cut", cut);
    make_store_journal(path, n, seed, count);
    full = slurp(path, &len);
    ck_assert_int_eq(record_ends(full, len, ends, 16), count);
    for (int64_t r = 0; r <= count; r++)
        want[r] = fed_digest(n, seed, r);

    for (size_t at = 0; at <= len; at++) {
        pal_store_t *s = new_store(n);
        pal_journal_info_t info;
        int64_t r = 0;

        spit(cut, full, at);
        info = open_store(s, cut, 0, PAL_OK);
        while (r < count && ends[r + 1] <= (int64_t)at)
            r++;
        if (at < HEADER) {
            /* A header cut short: its writer died; a new journal. */
            ck_assert_int_eq(info.created, 1);
            ck_assert_int_eq(info.bytes_cut, (int64_t)at);
        } else {
            ck_assert_int_eq(info.created, 0);
            ck_assert_int_eq(info.bytes_cut, (int64_t)at - ends[r]);
        }
        ck_assert_int_eq(info.records, r);
        ck_assert_int_eq(info.answers, r);
        ck_assert_int_eq(info.bytes_kept, ends[r]);
        ck_assert_int_eq(fsize(cut), ends[r]);
        ck_assert(same_file(cut, full, (size_t)ends[r]));
        quick_assert(store_digest(s) == want[r]);

        /* The next answer follows the kept records. */
        if (at % 5 == 0) {
            ck_status(pal_store_answer(s, 0, 1, PAL_ANSWER_DIFFERENT, NULL,
                                       NULL),
                      PAL_OK);
            pal_store_destroy(s);
            s = new_store(n);
            info = open_store(s, cut, 0, PAL_OK);
            ck_assert_int_eq(info.records, r + 1);
            ck_assert_int_eq(info.bytes_cut, 0);
        }
        pal_store_destroy(s);
    }
    free(full);
    tdir_remove(&d);
}
END_TEST

/* A bit flipped in every byte of a store journal. */
START_TEST(store_bit_flips)
{
    const int64_t n = 12, count = 7;
    const uint64_t seed = test_seed() + 303;
    uint64_t want[16];
    int64_t ends[16];
    unsigned char *full, *bad;
    size_t len;
    tdir_t d;
    char path[256], dam[256];

    tdir_make(&d);
    tfile(&d, "full", path);
    tfile(&d, "damaged", dam);
    make_store_journal(path, n, seed, count);
    full = slurp(path, &len);
    bad = xmalloc(len);
    ck_assert_int_eq(record_ends(full, len, ends, 16), count);
    for (int64_t r = 0; r <= count; r++)
        want[r] = fed_digest(n, seed, r);

    for (size_t at = 0; at < len; at++) {
        for (int bit = 0; bit < 8; bit++) {
            pal_store_t *s = new_store(n);
            pal_journal_info_t info;
            int64_t r = 0;
            int rc;

            memcpy(bad, full, len);
            bad[at] ^= (unsigned char)(1u << bit);
            spit(dam, bad, len);
            if (at < HEADER) {
                memset(&info, 0, sizeof info);
                info.size = sizeof info;
                rc = pal_store_journal_open(s, dam, 0, &info);
                quick_assert(rc == PAL_E_FORMAT || rc == PAL_E_VERSION);
                quick_assert(rc == PAL_E_VERSION ? at >= 8 && at < 12
                                                 : true);
                quick_assert(same_file(dam, bad, len));
                quick_assert(info.records == 0);
                quick_assert(store_digest(s) == want[0]);
                /* Nothing was left open. */
                quick_assert(pal_store_journal_close(s) == PAL_OK);
                pal_store_destroy(s);
                continue;
            }
            while (ends[r + 1] <= (int64_t)at)
                r++;
            info = open_store(s, dam, 0, PAL_OK);
            quick_assert(info.records == r);
            quick_assert(info.bytes_kept == ends[r]);
            quick_assert(info.bytes_cut == (int64_t)len - ends[r]);
            quick_assert(fsize(dam) == ends[r]);
            quick_assert(store_digest(s) == want[r]);
            pal_store_destroy(s);
        }
    }
    free(full);
    free(bad);
    tdir_remove(&d);
}
END_TEST

/*
 * The same for an oracle journal (screens of several lengths and a
 * dropped question): cut at every byte, and a bit flipped in every byte.
 * A reopened oracle matches the reference at the records it kept, down
 * to the next question it asks.
 */
START_TEST(oracle_damaged_everywhere)
{
    const ocfg_t *c = &small_captcha;
    uint64_t digest[32], asked[32];
    int64_t ends[32], count, actions;
    unsigned char *full, *bad;
    size_t len;
    tdir_t d;
    char path[256], dam[256];

    tdir_make(&d);
    tfile(&d, "full", path);
    tfile(&d, "damaged", dam);
    actions = reference_run(c, 32, digest, asked);
    ck_assert_int_ge(actions, 8);
    count = make_oracle_journal(path, c, 8);
    ck_assert_int_eq(count, 8);
    full = slurp(path, &len);
    bad = xmalloc(len);
    ck_assert_int_eq(record_ends(full, len, ends, 32), count);

    for (size_t at = 0; at <= len; at++) {
        for (int bit = -1; bit < 8; bit++) {
            person_t p = {c->classes, false, 0, 0};
            pal_oracle_t *o;
            pal_journal_info_t info;
            size_t size = bit < 0 ? at : len;
            int64_t r = 0;
            int rc;

            if (bit >= 0 && at == len)
                break;
            memcpy(bad, full, len);
            if (bit >= 0)
                bad[at] ^= (unsigned char)(1u << bit);
            spit(dam, bad, size);
            o = make_oracle(c, &p);
            memset(&info, 0, sizeof info);
            info.size = sizeof info;
            rc = pal_oracle_journal_open(o, dam, 0, &info);
            if (bit >= 0 && at < HEADER) {
                quick_assert(rc == PAL_E_FORMAT || rc == PAL_E_VERSION);
                quick_assert(same_file(dam, bad, len));
                quick_assert(oracle_digest(o) == digest[0]);
                quick_assert(next_question(o) == asked[0]);
                pal_oracle_destroy(o);
                continue;
            }
            quick_assert(rc == PAL_OK);
            while (r < count && ends[r + 1] <= (int64_t)at)
                r++;
            quick_assert(info.records == r);
            quick_assert(info.bytes_kept == ends[r]);
            quick_assert(info.bytes_cut ==
                         (int64_t)size - (at < HEADER ? 0 : ends[r]));
            quick_assert(fsize(dam) == ends[r]);
            quick_assert(oracle_digest(o) == digest[r]);
            quick_assert(next_question(o) == asked[r]);
            pal_oracle_destroy(o);
        }
    }
    free(full);
    free(bad);
    tdir_remove(&d);
}
END_TEST

/* ---- Journals that must be refused --------------------------------------- */

/* Open path into a fresh store and expect want, the file untouched and
 * the store as new. */
static void store_refuses(const char *path, int64_t n, int want)
{
    pal_store_t *s = new_store(n);
    uint64_t fresh = store_digest(s);
    unsigned char *before;
    size_t len;

    before = slurp(path, &len);
    open_store(s, path, 0, want);
    ck_assert(same_file(path, before, len));
    ck_assert_uint_eq(store_digest(s), fresh);
    free(before);
    pal_store_destroy(s);
}

static void oracle_refuses(const char *path, const ocfg_t *c, int want)
{
    person_t p = {c->classes, false, 0, 0};
    pal_oracle_t *o = make_oracle(c, &p), *fresh = make_oracle(c, &p);
    unsigned char *before;
    size_t len;

    before = slurp(path, &len);
    open_oracle(o, path, 0, want);
    ck_assert(same_file(path, before, len));
    ck_assert_uint_eq(oracle_digest(o), oracle_digest(fresh));
    if (c->sampler != PAL_SAMPLER_SSL)
        ck_assert_uint_eq(next_question(o), next_question(fresh));
    free(before);
    pal_oracle_destroy(o);
    pal_oracle_destroy(fresh);
}

/* Flip bits of a record's byte and make its checksum hold again. */
static void forge(const char *path, int64_t record, size_t offset,
                  unsigned char bits)
{
    int64_t ends[64];
    unsigned char *f;
    size_t len;
    int64_t at;
    uint32_t l;

    f = slurp(path, &len);
    record_ends(f, len, ends, 64);
    at = ends[record];
    l = le32(f + at);
    f[at + (int64_t)offset] ^= bits;
    put_le32(f + at + 5 + l, ref_crc(f + at, 5 + l));
    spit(path, f, len);
    free(f);
}

START_TEST(foreign_journals_are_refused)
{
    const int64_t n = 10;
    ocfg_t other = small_captcha;
    unsigned char *f;
    size_t len;
    tdir_t d;
    char path[256], opath[256];

    tdir_make(&d);
    tfile(&d, "store", path);
    tfile(&d, "oracle", opath);
    make_store_journal(path, n, 5, 6);
    make_oracle_journal(opath, &small_captcha, 6);

    /* Another number of items; the other writer's kind. */
    store_refuses(path, n + 1, PAL_E_FORMAT);
    store_refuses(path, n - 1, PAL_E_FORMAT);
    oracle_refuses(path, &small_captcha, PAL_E_FORMAT);
    store_refuses(opath, small_captcha.n, PAL_E_FORMAT);

    /* Another oracle's options. */
    other.seed++;
    oracle_refuses(opath, &other, PAL_E_FORMAT);
    other = small_captcha;
    other.screen++;
    oracle_refuses(opath, &other, PAL_E_FORMAT);
    other = small_captcha;
    other.candidates = PAL_CANDIDATES_UNIFORM;
    oracle_refuses(opath, &other, PAL_E_FORMAT);
    other = small_captcha;
    other.sampler = PAL_SAMPLER_PASSIVE;
    oracle_refuses(opath, &other, PAL_E_FORMAT);
    other = small_captcha;
    other.reg_mode = PAL_REG_RANDOM;
    oracle_refuses(opath, &other, PAL_E_FORMAT);

    /* Headers with a valid checksum: n, flags, version, magic. */
    f = slurp(path, &len);
    put_le64(f + 16, (uint64_t)n + 1);
    fix_header(f);
    spit(path, f, len);
    store_refuses(path, n, PAL_E_FORMAT);
    put_le64(f + 16, (uint64_t)n);
    put_le32(f + 12, 1u << 7);
    fix_header(f);
    spit(path, f, len);
    store_refuses(path, n, PAL_E_VERSION);
    put_le32(f + 12, 0);
    put_le32(f + 8, 3);
    fix_header(f);
    spit(path, f, len);
    store_refuses(path, n, PAL_E_VERSION);
    put_le32(f + 8, 0);
    fix_header(f);
    spit(path, f, len);
    store_refuses(path, n, PAL_E_VERSION);
    put_le32(f + 8, 1);
    f[3] = 'l';
    fix_header(f);
    spit(path, f, len);
    store_refuses(path, n, PAL_E_FORMAT);
    f[3] = 'L';
    fix_header(f);
    spit(path, f, len);
    free(f);

    /* Not a journal at all, long or short. */
    tfile(&d, "text", opath);
    spit(opath, "items,labels\n0,1\n1,1\n2,0\n3,0\n4,1\n5,1\n", 37);
    store_refuses(opath, n, PAL_E_FORMAT);
    spit(opath, "items\n", 6);
    store_refuses(opath, n, PAL_E_FORMAT);
    spit(opath, "\x89PALJRN\n\x02", 9);
    store_refuses(opath, n, PAL_E_VERSION);

    /* Records whose checksum holds but whose content is impossible: an
     * item out of range, an unknown answer, an unknown type, a length
     * that does not fit the type. */
    forge(path, 2, 5, 0x10);      /* i + 16 */
    store_refuses(path, n, PAL_E_FORMAT);
    make_store_journal(path, n, 5, 6);
    forge(path, 3, 13, 0x04);     /* answer 4, 5 or 6 */
    store_refuses(path, n, PAL_E_FORMAT);
    make_store_journal(path, n, 5, 6);
    forge(path, 4, 4, 0x08);      /* type 9 */
    store_refuses(path, n, PAL_E_FORMAT);
    make_store_journal(path, n, 5, 6);
    forge(path, 1, 4, 0x03);      /* type 2, a screen */
    store_refuses(path, n, PAL_E_FORMAT);

    /* Oracle journals whose screen is not the oracle's question (an
     * anchor or a candidate changed to another item), with an unknown
     * flag, or with no candidate. */
    tfile(&d, "oracle", opath);
    make_oracle_journal(opath, &small_captcha, 6);
    forge(opath, 3, 14, 0x01);
    oracle_refuses(opath, &small_captcha, PAL_E_FORMAT);
    make_oracle_journal(opath, &small_captcha, 6);
    forge(opath, 4, 6, 0x01);
    oracle_refuses(opath, &small_captcha, PAL_E_FORMAT);
    make_oracle_journal(opath, &small_captcha, 6);
    forge(opath, 0, 5, 0x80);
    oracle_refuses(opath, &small_captcha, PAL_E_FORMAT);
    make_oracle_journal(opath, &small_captcha, 6);
    f = slurp(opath, &len);
    forge(opath, 2, 10, f[HEADER + 10]);   /* m = 0 */
    free(f);
    oracle_refuses(opath, &small_captcha, PAL_E_FORMAT);
    tdir_remove(&d);
}
END_TEST

/* ---- Write failures ------------------------------------------------------ */

/* In a child: fail with the line number unless cond holds. */
#define CHILD_CHECK(cond)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: child check '%s' failed\n", __FILE__, \
                    __LINE__, #cond);                                      \
            _exit(1);                                                      \
        }                                                                  \
    } while (0)

/* Limit the size of the files the process writes; RLIM_INFINITY lifts
 * the limit as far as the hard limit allows. */
static void limit_file_size(rlim_t bytes)
{
    struct rlimit rl;

    CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
    rl.rlim_cur = bytes == RLIM_INFINITY ? rl.rlim_max : bytes;
    CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

/* Writes fail once the file would grow past its length plus a few
 * bytes: the record that fails is half written, then cut. */
static void child_store_write_failure(const char *path)
{
    pal_store_t *s = NULL, *ref = NULL;
    pal_batch_t *b = NULL;
    pal_journal_info_t info = {.size = sizeof info};
    uint64_t before, batch_before;
    int64_t size;
    int eff = 42;

    CHILD_CHECK(pal_store_create(&s, 20, NULL) == PAL_OK);
    CHILD_CHECK(pal_store_create(&ref, 20, NULL) == PAL_OK);
    CHILD_CHECK(pal_batch_create(&b, NULL) == PAL_OK);
    CHILD_CHECK(pal_store_journal_open(s, path, 0, NULL) == PAL_OK);
    feed(s, 9, 5);
    feed(ref, 9, 5);
    CHILD_CHECK(pal_store_answer(s, 7, 8, PAL_ANSWER_SAME, b, NULL) ==
                PAL_OK);
    CHILD_CHECK(pal_store_answer(ref, 7, 8, PAL_ANSWER_SAME, NULL, NULL) ==
                PAL_OK);
    size = fsize(path);
    before = store_digest(s);
    batch_before = batch_digest(b);

    limit_file_size((rlim_t)size + 7);
    for (int t = 0; t < 3; t++) {
        CHILD_CHECK(pal_store_answer(s, 8, 9, PAL_ANSWER_SAME, b, &eff) ==
                    PAL_E_IO);
        CHILD_CHECK(eff == 42);
        CHILD_CHECK(store_digest(s) == before);
        CHILD_CHECK(batch_digest(b) == batch_before);
        CHILD_CHECK(fsize(path) == size);
    }
    limit_file_size(RLIM_INFINITY);
    CHILD_CHECK(pal_store_answer(s, 8, 9, PAL_ANSWER_SAME, b, &eff) ==
                PAL_OK);
    CHILD_CHECK(pal_store_answer(ref, 8, 9, PAL_ANSWER_SAME, NULL, NULL) ==
                PAL_OK);
    CHILD_CHECK(fsize(path) == size + STORE_RECORD);
    pal_store_destroy(s);

    CHILD_CHECK(pal_store_create(&s, 20, NULL) == PAL_OK);
    CHILD_CHECK(pal_store_journal_open(s, path, 0, &info) == PAL_OK);
    CHILD_CHECK(info.records == 7 && info.bytes_cut == 0);
    CHILD_CHECK(store_digest(s) == store_digest(ref));
    pal_store_destroy(s);
    pal_store_destroy(ref);
    pal_batch_destroy(b);
}

/* A batch whose third record cannot be written: none of its records
 * stays in the file, and the store and effects are unchanged. */
static void child_store_batch_write_failure(const char *path)
{
    pal_store_t *s = NULL, *ref = NULL;
    pal_journal_info_t info = {.size = sizeof info};
    int64_t bi[5] = {1, 2, 3, 4, 5}, bj[5] = {2, 3, 9, 5, 1};
    pal_answer_t ba[5] = {PAL_ANSWER_SAME, PAL_ANSWER_DIFFERENT,
                          PAL_ANSWER_SAME, PAL_ANSWER_UNSURE,
                          PAL_ANSWER_SAME};
    int eff[5] = {42, 42, 42, 42, 42};
    uint64_t before;
    int64_t size;

    CHILD_CHECK(pal_store_create(&s, 20, NULL) == PAL_OK);
    CHILD_CHECK(pal_store_create(&ref, 20, NULL) == PAL_OK);
    CHILD_CHECK(pal_store_journal_open(s, path, 0, NULL) == PAL_OK);
    feed(s, 9, 5);
    feed(ref, 9, 5);
    size = fsize(path);
    before = store_digest(s);

    limit_file_size((rlim_t)size + 2 * STORE_RECORD + 3);
    for (int t = 0; t < 3; t++) {
        CHILD_CHECK(pal_store_answer_batch(s, 5, bi, bj, ba, eff) ==
                    PAL_E_IO);
        for (int k = 0; k < 5; k++)
            CHILD_CHECK(eff[k] == 42);
        CHILD_CHECK(store_digest(s) == before);
        CHILD_CHECK(fsize(path) == size);
    }
    /* Two records fit: a smaller batch goes through. */
    CHILD_CHECK(pal_store_answer_batch(s, 2, bi, bj, ba, eff) == PAL_OK);
    CHILD_CHECK(fsize(path) == size + 2 * STORE_RECORD);
    limit_file_size(RLIM_INFINITY);
    CHILD_CHECK(pal_store_answer_batch(s, 3, bi + 2, bj + 2, ba + 2, eff) ==
                PAL_OK);
    for (int k = 0; k < 5; k++)
        CHILD_CHECK(pal_store_answer(ref, bi[k], bj[k], ba[k], NULL, NULL) ==
                    PAL_OK);
    CHILD_CHECK(store_digest(s) == store_digest(ref));
    pal_store_destroy(s);

    CHILD_CHECK(pal_store_create(&s, 20, NULL) == PAL_OK);
    CHILD_CHECK(pal_store_journal_open(s, path, 0, &info) == PAL_OK);
    CHILD_CHECK(info.records == 10 && info.bytes_cut == 0);
    CHILD_CHECK(store_digest(s) == store_digest(ref));
    pal_store_destroy(s);
    pal_store_destroy(ref);
}

/* Steps, pulled answers, drops and SSL steps that cannot be written. */
static void child_oracle_write_failure(const char *path, const char *spath)
{
    const ocfg_t *c = &round_trip_cfgs[0];
    ocfg_t sc = round_trip_cfgs[3];
    person_t p = {c->classes, false, 0, 0}, rp = p;
    pal_oracle_t *o = make_oracle(c, &p), *ref = make_oracle(c, &rp);
    pal_journal_info_t info = {.size = sizeof info};
    pal_answer_t ans[64];
    const int64_t *cand;
    int64_t anchor, m, size;
    uint64_t before, q;

    CHILD_CHECK(pal_oracle_journal_open(o, path, 0, NULL) == PAL_OK);
    for (int k = 0; k < 3; k++)
        CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_OK);
    size = fsize(path);
    before = oracle_digest(o);

    /* A step fails and leaves the question to ask again. */
    limit_file_size((rlim_t)size + 5);
    CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_E_IO);
    CHILD_CHECK(oracle_digest(o) == before);
    CHILD_CHECK(fsize(path) == size);
    q = p.last;

    /* A pulled question stays pending when its answer or its drop
     * cannot be written. (Drawing it may found a class.) */
    CHILD_CHECK(pal_oracle_next(o, &anchor, &m, &cand) == PAL_OK);
    CHILD_CHECK(question_digest(anchor, m, cand) == q);
    before = oracle_digest(o);
    for (int64_t k = 0; k < m; k++)
        ans[k] = person_answer(&p, anchor, cand[k]);
    CHILD_CHECK(pal_oracle_answer(o, ans, NULL) == PAL_E_IO);
    pal_oracle_cancel(o);
    CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_E_STATE);
    CHILD_CHECK(oracle_digest(o) == before);
    CHILD_CHECK(fsize(path) == size);

    limit_file_size(RLIM_INFINITY);
    CHILD_CHECK(pal_oracle_answer(o, ans, NULL) == PAL_OK);
    CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_OK);
    pal_oracle_destroy(o);

    /* The journal holds the four screens. */
    o = make_oracle(c, &p);
    CHILD_CHECK(pal_oracle_journal_open(o, path, 0, &info) == PAL_OK);
    CHILD_CHECK(info.records == 5 && info.bytes_cut == 0);
    for (int k = 0; k < 5; k++)
        CHILD_CHECK(pal_oracle_step(ref, NULL) == PAL_OK);
    CHILD_CHECK(oracle_digest(o) == oracle_digest(ref));
    pal_oracle_destroy(o);
    pal_oracle_destroy(ref);

    /* An SSL step. */
    o = make_oracle(&sc, NULL);
    CHILD_CHECK(pal_oracle_journal_open(o, spath, 0, NULL) == PAL_OK);
    CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_OK);
    size = fsize(spath);
    before = oracle_digest(o);
    limit_file_size((rlim_t)size + 3);
    CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_E_IO);
    CHILD_CHECK(oracle_digest(o) == before);
    CHILD_CHECK(fsize(spath) == size);
    limit_file_size(RLIM_INFINITY);
    CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_OK);
    pal_oracle_destroy(o);
}

static int labels_by_parity(void *user, int64_t anchor, int64_t m,
                            const int64_t *cand, pal_answer_t *ans)
{
    (void)user;
    for (int64_t k = 0; k < m; k++)
        ans[k] = (anchor - cand[k]) % 2 == 0 ? PAL_ANSWER_SAME
                                             : PAL_ANSWER_DIFFERENT;
    return 0;
}

/* A stop that cannot be written: the call fails, and the class it
 * founded and the stop reason are put back, to be had again. */
static void child_stop_write_failure(const char *path, const char *unused)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o;
    pal_oracle_costs_t c = {.size = sizeof c};
    pal_journal_info_t info = {.size = sizeof info};
    pal_stop_reason_t r;
    int64_t size;
    uint64_t before;

    (void)unused;
    pal_oracle_opts_init(&op);
    op.seed = 17;
    op.screen_size = 5;
    op.budget = 5.0;
    CHILD_CHECK(pal_oracle_create(&o, 20, &op, NULL) == PAL_OK);
    CHILD_CHECK(pal_oracle_set_labeler(o, labels_by_parity, NULL) ==
                PAL_OK);
    CHILD_CHECK(pal_oracle_journal_open(o, path, 0, NULL) == PAL_OK);
    CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_OK);
    size = fsize(path);
    before = oracle_digest(o);
    limit_file_size((rlim_t)size + 3);
    for (int t = 0; t < 2; t++) {
        CHILD_CHECK(t ? pal_oracle_step(o, NULL) == PAL_E_IO
                      : pal_oracle_next(o, &q_anchor, &q_m, &q_cand) ==
                            PAL_E_IO);
        CHILD_CHECK(oracle_digest(o) == before);
        CHILD_CHECK(pal_oracle_stop_reason(o, &r) == PAL_OK &&
                    r == PAL_STOP_NONE);
        CHILD_CHECK(fsize(path) == size);
    }
    limit_file_size(RLIM_INFINITY);
    CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_DONE);
    CHILD_CHECK(pal_oracle_stop_reason(o, &r) == PAL_OK &&
                r == PAL_STOP_BUDGET);
    CHILD_CHECK(pal_oracle_costs(o, &c) == PAL_OK && c.classes == 2);
    before = oracle_digest(o);
    pal_oracle_destroy(o);

    CHILD_CHECK(pal_oracle_create(&o, 20, &op, NULL) == PAL_OK);
    CHILD_CHECK(pal_oracle_journal_open(o, path, 0, &info) == PAL_OK);
    CHILD_CHECK(info.records == 2 && info.bytes_cut == 0);
    CHILD_CHECK(oracle_digest(o) == before);
    CHILD_CHECK(pal_oracle_stop_reason(o, &r) == PAL_OK &&
                r == PAL_STOP_BUDGET);
    pal_oracle_destroy(o);
}

/* Priors that cannot be written: refused, and the oracle asks as if
 * they had never been set. */
static void child_priors_write_failure(const char *path, const char *unused)
{
    static const double pri[2] = {0.5, 5.0};
    pal_oracle_opts_t op;
    pal_oracle_t *o, *twin;
    int64_t size, nc = 0;
    uint64_t q;

    (void)unused;
    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_ITEM;
    op.seed = 8;
    CHILD_CHECK(pal_oracle_create(&o, 20, &op, NULL) == PAL_OK);
    CHILD_CHECK(pal_oracle_create(&twin, 20, &op, NULL) == PAL_OK);
    CHILD_CHECK(pal_oracle_set_labeler(o, labels_by_parity, NULL) ==
                PAL_OK);
    CHILD_CHECK(pal_oracle_set_labeler(twin, labels_by_parity, NULL) ==
                PAL_OK);
    CHILD_CHECK(pal_oracle_journal_open(o, path, 0, NULL) == PAL_OK);
    while (nc < 2) {
        CHILD_CHECK(pal_oracle_step(o, NULL) == PAL_OK);
        CHILD_CHECK(pal_oracle_step(twin, NULL) == PAL_OK);
        CHILD_CHECK(pal_oracle_templates(o, NULL, 0, &nc) == PAL_OK);
    }
    size = fsize(path);
    limit_file_size((rlim_t)size + 5);
    CHILD_CHECK(pal_oracle_set_priors(o, 2, pri) == PAL_E_IO);
    CHILD_CHECK(fsize(path) == size);
    limit_file_size(RLIM_INFINITY);
    q = next_question(twin);
    CHILD_CHECK(q != 0 && next_question(o) == q);
    pal_oracle_cancel(o);
    pal_oracle_cancel(twin);
    CHILD_CHECK(pal_oracle_set_priors(o, 2, pri) == PAL_OK);
    CHILD_CHECK(fsize(path) > size);
    pal_oracle_destroy(o);
    pal_oracle_destroy(twin);
}

/* Run fn in a child with SIGXFSZ ignored; it must exit with 0. */
static void in_child(void (*fn)(const char *, const char *), const char *a,
                     const char *b)
{
    int status;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGXFSZ, &sa, NULL);
        fn(a, b);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child failed (status %d)", status);
}

static void store_failure(const char *a, const char *b)
{
    (void)b;
    child_store_write_failure(a);
}

static void store_batch_failure(const char *a, const char *b)
{
    (void)b;
    child_store_batch_write_failure(a);
}

START_TEST(write_failures)
{
    tdir_t d;
    char path[256], spath[256];

    tdir_make(&d);
    in_child(store_failure, tfile(&d, "store", path), NULL);
    in_child(store_batch_failure, tfile(&d, "batch", path), NULL);
    in_child(child_oracle_write_failure, tfile(&d, "oracle", path),
             tfile(&d, "ssl", spath));
    in_child(child_stop_write_failure, tfile(&d, "stop", path), NULL);
    in_child(child_priors_write_failure, tfile(&d, "priors", path), NULL);
    tdir_remove(&d);
}
END_TEST

/* ---- Allocation failures ------------------------------------------------- */

START_TEST(store_allocation_failures)
{
    const int64_t n = 30;
    counting_t c;
    pal_allocator_t a = counting_allocator(&c);
    pal_store_t *s = NULL, *ref = new_store(n);
    pal_batch_t *b = NULL;
    unsigned char *before;
    size_t len;
    long failures = 0, k;
    tdir_t d;
    char path[256], fresh[256];
    trng_t r;

    tdir_make(&d);
    tfile(&d, "j", path);
    tfile(&d, "new", fresh);
    make_store_journal(path, n, 31, 200);
    feed(ref, 31, 200);
    before = slurp(path, &len);
    ck_status(pal_store_create(&s, n, &a), PAL_OK);
    ck_status(pal_batch_create(&b, &a), PAL_OK);

    /* Opening a new journal: no file is made before memory is in hand. */
    for (k = 1;; k++) {
        int rc;

        c.calls = 0;
        c.fail_at = k;
        rc = pal_store_journal_open(s, fresh, PAL_JOURNAL_SYNC, NULL);
        c.fail_at = 0;
        if (rc == PAL_OK)
            break;
        ck_status(rc, PAL_E_NOMEM);
        ck_assert_int_eq(fsize(fresh), -1);
    }
    ck_assert_int_gt(k, 2);
    ck_status(pal_store_journal_close(s), PAL_OK);

    /* Opening and replaying an existing one. */
    for (k = 1;; k++) {
        int rc;

        c.calls = 0;
        c.fail_at = k;
        rc = pal_store_journal_open(s, path, 0, NULL);
        c.fail_at = 0;
        if (rc == PAL_OK)
            break;
        ck_status(rc, PAL_E_NOMEM);
        ck_assert(same_file(path, before, len));
        ck_assert_int_eq(pal_store_log_entry(s, 0, NULL, NULL, NULL),
                         PAL_E_INDEX);
        failures++;
    }
    ck_assert_int_gt(failures, 5);
    ck_assert_uint_eq(store_digest(s), store_digest(ref));

    /* Answers, with the pairs they teach: a failed one writes nothing
     * and changes neither the store nor the batch. */
    trng_seed(&r, test_seed() + 304);
    for (int t = 0; t < 120; t++) {
        int64_t i, j, size = fsize(path);
        pal_answer_t ans;
        uint64_t h = store_digest(s), hb;

        if (t % 5 == 0)
            pal_batch_clear(b);
        hb = batch_digest(b);
        gen_answer(&r, n, &i, &j, &ans);
        for (k = 1;; k++) {
            int rc;

            c.calls = 0;
            c.fail_at = k;
            rc = pal_store_answer(s, i, j, ans, b, NULL);
            c.fail_at = 0;
            if (rc == PAL_OK)
                break;
            ck_status(rc, PAL_E_NOMEM);
            quick_assert(fsize(path) == size);
            quick_assert(store_digest(s) == h);
            quick_assert(batch_digest(b) == hb);
        }
        quick_assert(fsize(path) == size + STORE_RECORD);
        ck_status(pal_store_answer(ref, i, j, ans, NULL, NULL), PAL_OK);
    }
    pal_store_destroy(s);
    pal_batch_destroy(b);
    ck_assert_int_eq(c.live, 0);

    s = new_store(n);
    ck_assert_int_eq(open_store(s, path, 0, PAL_OK).records, 320);
    ck_assert_uint_eq(store_digest(s), store_digest(ref));
    pal_store_destroy(s);
    pal_store_destroy(ref);
    free(before);
    tdir_remove(&d);
}
END_TEST

START_TEST(oracle_allocation_failures)
{
    static const int cfgs[3] = {0, 2, 3};   /* captcha, passive, SSL */

    for (int q = 0; q < 3; q++) {
        const ocfg_t *oc = &round_trip_cfgs[cfgs[q]];
        counting_t c;
        pal_allocator_t a = counting_allocator(&c);
        person_t p = {oc->classes, false, 0, 0}, rp = p;
        pal_oracle_t *o, *ref = make_oracle(oc, &rp);
        pal_batch_t *b = NULL, *rb = NULL;
        unsigned char *before;
        size_t len;
        long failures = 0, k;
        tdir_t d;
        char path[256];

        tdir_make(&d);
        tfile(&d, "j", path);
        make_oracle_journal(path, oc, 12);
        for (k = 0; k < 12; k++)
            ck_status(drive(ref, &rp, k, NULL), PAL_OK);
        before = slurp(path, &len);
        o = make_oracle_with(oc, &p, &a);

        for (k = 1;; k++) {
            int rc;

            c.calls = 0;
            c.fail_at = k;
            rc = pal_oracle_journal_open(o, path, 0, NULL);
            c.fail_at = 0;
            if (rc == PAL_OK)
                break;
            ck_status(rc, PAL_E_NOMEM);
            ck_assert(same_file(path, before, len));
            ck_assert_int_eq(
                pal_store_log_entry(pal_oracle_store(o), 0, NULL, NULL,
                                    NULL),
                PAL_E_INDEX);
            failures++;
        }
        ck_assert_int_gt(failures, 3);
        ck_assert_uint_eq(oracle_digest(o), oracle_digest(ref));

        /* Actions, with batches: a failed one writes nothing and
         * changes nothing. */
        ck_status(pal_batch_create(&b, &a), PAL_OK);
        ck_status(pal_batch_create(&rb, NULL), PAL_OK);
        for (int64_t t = 12; t < 40; t++) {
            int64_t size = fsize(path);
            uint64_t h = oracle_digest(o), hb, asked = p.asked;
            int rc;

            pal_batch_clear(b);
            pal_batch_clear(rb);
            hb = batch_digest(b);
            for (k = 1;; k++) {
                c.calls = 0;
                c.fail_at = k;
                p.asked = asked;
                rc = drive(o, &p, t, b);
                c.fail_at = 0;
                if (rc != PAL_E_NOMEM)
                    break;
                quick_assert(fsize(path) == size);
                quick_assert(oracle_digest(o) == h);
                quick_assert(batch_digest(b) == hb);
            }
            ck_status(rc, drive(ref, &rp, t, rb));
            if (rc == PAL_DONE)
                break;
            quick_assert(oracle_digest(o) == oracle_digest(ref));
            quick_assert(batch_digest(b) == batch_digest(rb));
        }
        pal_oracle_destroy(o);
        pal_batch_destroy(b);
        pal_batch_destroy(rb);
        ck_assert_int_eq(c.live, 0);
        o = make_oracle(oc, &p);
        open_oracle(o, path, 0, PAL_OK);
        ck_assert_uint_eq(oracle_digest(o), oracle_digest(ref));
        pal_oracle_destroy(o);
        pal_oracle_destroy(ref);
        free(before);
        tdir_remove(&d);
    }
}
END_TEST

/* ---- Writers killed at random moments ------------------------------------ */

#define CRASH_TRIALS 240
#define CRASH_N 64

static const ocfg_t crash_cfg = {PAL_SAMPLER_CAPTCHA, 1500, 8, 24, 0, -1,
                                 PAL_CANDIDATES_ELIMINATION, 21, false};

/* The child: answer (or step) as fast as it can, counting in *done the
 * calls that have returned. */
static void crash_child(const char *path, bool oracle, uint64_t seed,
                        unsigned flags, volatile int64_t *done)
{
    if (!oracle) {
        pal_store_t *s = NULL;
        trng_t r;

        if (pal_store_create(&s, CRASH_N, NULL) != PAL_OK ||
            pal_store_journal_open(s, path, flags, NULL) != PAL_OK)
            _exit(2);
        trng_seed(&r, seed);
        for (int64_t k = 0; k < 10000000; k++) {
            int64_t i, j;
            pal_answer_t a;

            gen_answer(&r, CRASH_N, &i, &j, &a);
            if (pal_store_answer(s, i, j, a, NULL, NULL) != PAL_OK)
                _exit(3);
            *done = k + 1;
        }
    } else {
        person_t p = {crash_cfg.classes, false, 0, 0};
        pal_oracle_t *o = make_oracle(&crash_cfg, &p);
        int rc;

        if (pal_oracle_journal_open(o, path, flags, NULL) != PAL_OK)
            _exit(2);
        while ((rc = pal_oracle_step(o, NULL)) == PAL_OK)
            *done = *done + 1;
        if (rc != PAL_DONE)
            _exit(3);
    }
    _exit(0);
}

/* The reference oracle's digests, extended on demand: digest[r] after
 * r records, the stop at the end being one. */
typedef struct oracle_ref {
    pal_oracle_t *o;
    person_t p;
    uint64_t *digest;
    int64_t have, cap;
    bool done;
} oracle_ref_t;

static uint64_t oracle_ref_at(oracle_ref_t *r, int64_t steps)
{
    while (r->have <= steps && !r->done) {
        if (r->have == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 256;
            r->digest = realloc(r->digest, (size_t)r->cap * 8);
            ck_assert_ptr_nonnull(r->digest);
        }
        if (r->have > 0 && pal_oracle_step(r->o, NULL) != PAL_OK)
            r->done = true;
        r->digest[r->have++] = oracle_digest(r->o);
    }
    ck_assert_int_lt(steps, r->have);
    return r->digest[steps];
}

START_TEST(writers_killed_at_random)
{
    oracle_ref_t ref;
    int64_t recovered = 0, lost = 0, in_flight = 0, damaged = 0;
    int trials = 0, synced = 0, finished = 0, oracle_trials = 0;
    volatile int64_t *done;
    trng_t r;
    tdir_t d;
    char path[256], counter[256];
    int fd;

    tdir_make(&d);
    tfile(&d, "j", path);
    tfile(&d, "counter", counter);
    fd = open(counter, O_RDWR | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    done = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(done != MAP_FAILED);
    close(fd);
    memset(&ref, 0, sizeof ref);
    ref.p.classes = crash_cfg.classes;
    ref.o = make_oracle(&crash_cfg, &ref.p);
    trng_seed(&r, test_seed() + 305);

    for (int t = 0; t < CRASH_TRIALS; t++) {
        bool oracle = t % 3 == 2;
        unsigned flags = t % 16 == 5 ? PAL_JOURNAL_SYNC : 0;
        uint64_t seed = test_seed() * 1000 + (uint64_t)t;
        struct timespec nap;
        pal_journal_info_t info;
        int64_t c, rec;
        int status;
        pid_t pid;

        unlink(path);
        *done = 0;
        fflush(NULL);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            crash_child(path, oracle, seed, flags, done);
        nap.tv_sec = 0;
        nap.tv_nsec = (long)trng_below(&r, 20001) * 1000;
        nanosleep(&nap, NULL);
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) ||
                          (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                      "trial %d: the writer failed (status %d)", t, status);
        finished += WIFEXITED(status);
        c = *done;

        /* Reopen: every answer whose call returned is back, and at most
         * the one in flight besides. */
        if (oracle) {
            person_t p = {crash_cfg.classes, false, 0, 0};
            pal_oracle_t *o = make_oracle(&crash_cfg, &p);

            info = open_oracle(o, path, 0, PAL_OK);
            rec = info.records;
            quick_assert(oracle_digest(o) == oracle_ref_at(&ref, rec));
            pal_oracle_destroy(o);
            oracle_trials++;
        } else {
            pal_store_t *s = new_store(CRASH_N);

            info = open_store(s, path, 0, PAL_OK);
            rec = info.records;
            quick_assert(info.answers == rec);
            quick_assert(store_digest(s) == fed_digest(CRASH_N, seed, rec));
            pal_store_destroy(s);
        }
        ck_assert_msg(rec >= c && rec <= c + 1,
                      "trial %d: %lld records for %lld calls returned", t,
                      (long long)rec, (long long)c);
        lost += c > rec ? c - rec : 0;
        in_flight += rec - c;
        recovered += rec;
        damaged += info.bytes_cut > 0;
        /* At most one record, or a header, was cut short. */
        quick_assert(info.bytes_cut <
                     (info.created ? HEADER
                      : oracle     ? 18 + 5 * crash_cfg.screen
                                   : STORE_RECORD));
        ck_assert_int_eq(fsize(path), info.bytes_kept);
        trials++;
        synced += flags != 0;
    }
    printf("journal: %d writers killed (%d with PAL_JOURNAL_SYNC, %d "
           "oracles, %d finished first): %lld records recovered, %lld "
           "written but unconfirmed, %lld damaged tails cut, %lld answers "
           "lost beyond the record in flight\n",
           trials, synced, oracle_trials, finished, (long long)recovered,
           (long long)in_flight, (long long)damaged, (long long)lost);
    ck_assert_int_eq(lost, 0);
    ck_assert_int_ge(trials, 200);
    munmap((void *)done, 4096);
    pal_oracle_destroy(ref.o);
    free(ref.digest);
    tdir_remove(&d);
}
END_TEST

/* ---- Guided oracles ------------------------------------------------------ */

static int guided_truth(void *user, int64_t anchor, int64_t m,
                        const int64_t *cand, pal_answer_t *ans)
{
    const int32_t *y = user;

    for (int64_t k = 0; k < m; k++)
        ans[k] = y[cand[k]] == y[anchor] ? PAL_ANSWER_SAME
                                         : PAL_ANSWER_DIFFERENT;
    return 0;
}

static pal_oracle_t *guided_oracle(pal_sampler_t smp, int order,
                                   int64_t known, int64_t n,
                                   const int32_t *y)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o;

    pal_oracle_opts_init(&op);
    op.sampler = smp;
    op.seed = 17;
    op.screen_size = 4;
    op.num_classes = known;
    op.item_order = order;
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    ck_status(pal_oracle_set_labeler(o, guided_truth, (void *)y), PAL_OK);
    return o;
}

/*
 * A journal written by a guided oracle (guidance switched on, changed
 * and off along the way, class priors set, a cancelled question) replays
 * without the guidance into the state of an oracle that never stopped,
 * priors included: given the same guidance afterwards, both ask the same
 * questions.
 */
START_TEST(guided_oracles_replay)
{
    static const double pri[4] = {1.0, 3.0, 0.5, 2.0};
    const int64_t n = 40;
    int32_t y[40];
    double z[40 * 2], w[40 * 2];
    tdir_t d;
    char buf[256];
    const char *path;
    trng_t r;

    tdir_make(&d);
    path = tfile(&d, "guided", buf);
    trng_seed(&r, test_seed() + 3);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)trng_below(&r, 4);
        z[2 * i] = y[i] + trng_unit(&r);
        z[2 * i + 1] = trng_unit(&r);
        w[2 * i] = trng_unit(&r);
        w[2 * i + 1] = trng_unit(&r);
    }
    for (int mode = 0; mode < 4; mode++) {
        pal_sampler_t smp = mode < 3 ? PAL_SAMPLER_ITEM : PAL_SAMPLER_CAPTCHA;
        int order = mode == 1 ? PAL_ITEM_ORDER_RANDOM : PAL_ITEM_ORDER_CERTAIN;
        int64_t known = mode == 2 ? 4 : 0;
        pal_oracle_t *a = guided_oracle(smp, order, known, n, y);
        pal_oracle_t *b = guided_oracle(smp, order, known, n, y);
        pal_oracle_t *c;
        pal_journal_info_t info = {.size = sizeof info};
        int64_t anchor, m;
        const int64_t *cand;
        int64_t steps = 0;

        unlink(path);
        ck_status(pal_oracle_journal_open(a, path, 0, NULL), PAL_OK);
        for (int step = 0; step < 24; step++) {
            pal_oracle_t *both[2] = {a, b};
            int rc[2];

            for (int k = 0; k < 2; k++) {
                if (step == 2)
                    ck_status(pal_oracle_set_embedding(both[k], PAL_F64, n,
                                                       2, z, 2),
                              PAL_OK);
                if (step == 4)
                    ck_status(pal_oracle_set_embedding(both[k], PAL_F64, n,
                                                       2, w, 2),
                              PAL_OK);
                if (step == 5) {
                    ck_status(pal_oracle_next(both[k], &anchor, &m, &cand),
                              PAL_OK);
                    pal_oracle_cancel(both[k]);
                }
                if (step == 3) {
                    /* Priors over the classes found so far (a record of
                     * their own). */
                    int64_t nc;

                    ck_status(pal_oracle_templates(both[k], NULL, 0, &nc),
                              PAL_OK);
                    ck_status(pal_oracle_set_priors(both[k], nc, pri),
                              PAL_OK);
                }
                if (step == 6)
                    pal_oracle_clear_guidance(both[k]);
                if (step == 7)
                    ck_status(pal_oracle_set_embedding(both[k], PAL_F64, n,
                                                       2, z, 2),
                              PAL_OK);
                rc[k] = pal_oracle_step(both[k], NULL);
            }
            ck_status(rc[0], rc[1]);
            if (rc[0] != PAL_OK)
                break;
            steps++;
        }
        ck_assert_int_ge(steps, 8);
        pal_oracle_destroy(a);

        /* Replay with no guidance, then hand in the last one. The cancel,
         * the priors and a stop, if the run came to one, are records. */
        c = guided_oracle(smp, order, known, n, y);
        ck_status(pal_oracle_journal_open(c, path, 0, &info), PAL_OK);
        ck_assert_int_eq(info.records, steps + 2 + (steps < 24));
        ck_status(pal_oracle_set_embedding(c, PAL_F64, n, 2, z, 2), PAL_OK);
        {
            int64_t nc;

            ck_status(pal_oracle_templates(b, NULL, 0, &nc), PAL_OK);
            ck_status(pal_oracle_set_priors(c, nc < 4 ? nc : 4, pri),
                      PAL_OK);
            ck_status(pal_oracle_set_priors(b, nc < 4 ? nc : 4, pri),
                      PAL_OK);
        }
        for (int step = 0; step < 30; step++) {
            int64_t a2, m2;
            const int64_t *c2;
            pal_answer_t ans[4];
            int rb = pal_oracle_next(b, &anchor, &m, &cand);

            ck_status(pal_oracle_next(c, &a2, &m2, &c2), rb);
            if (rb != PAL_OK)
                break;
            ck_assert_int_eq(anchor, a2);
            ck_assert_int_eq(m, m2);
            ck_assert(memcmp(cand, c2, (size_t)m * sizeof *cand) == 0);
            guided_truth(y, anchor, m, cand, ans);
            ck_status(pal_oracle_answer(b, ans, NULL), PAL_OK);
            ck_status(pal_oracle_answer(c, ans, NULL), PAL_OK);
        }
        {
            pal_oracle_costs_t cb = {.size = sizeof cb}, cc = {.size = sizeof cc};

            ck_status(pal_oracle_costs(b, &cb), PAL_OK);
            ck_status(pal_oracle_costs(c, &cc), PAL_OK);
            ck_assert_int_eq(cb.answers, cc.answers);
            ck_assert_int_eq(cb.classes, cc.classes);
            ck_assert_int_eq(cb.deduced, cc.deduced);
        }
        pal_oracle_destroy(b);
        pal_oracle_destroy(c);
    }
    unlink(path);
    tdir_remove(&d);
}
END_TEST


/* A host's sampler: the first item with an open pair, against the
 * items of open relation to it from the offset in *user on. */
static int first_open(void *user, const pal_store_t *known, int64_t cap,
                      int64_t *anchor, int64_t *m, int64_t *cand)
{
    const int64_t *off = user, n = pal_store_n(known);

    for (int64_t a = 0; a < n; a++) {
        int64_t k = 0;

        for (int64_t t = 0; t < n && k < cap; t++) {
            int64_t c = (t + *off) % n;
            pal_relation_t r;

            ck_status(pal_store_relation(known, a, c, &r), PAL_OK);
            if (r == PAL_REL_UNKNOWN)
                cand[k++] = c;
        }
        if (k > 0) {
            *anchor = a;
            *m = k;
            return 0;
        }
    }
    return 1;
}

/*
 * A custom oracle's questions replay as recorded, without the host's
 * sampler; a cancelled question too. The replayed oracle is where the
 * one that never stopped is.
 */
START_TEST(custom_oracle_replays)
{
    const int64_t n = 12;
    int32_t y[12];
    int64_t off = 0, anchor, m;
    const int64_t *cand;
    tdir_t d;
    char buf[256];
    const char *path;
    pal_oracle_t *a, *b, *c, *p;
    pal_journal_info_t info = {.size = sizeof info};
    pal_store_stats_t sb = {.size = sizeof sb}, sc = {.size = sizeof sc};
    pal_oracle_costs_t cb = {.size = sizeof cb}, cc = {.size = sizeof cc};
    int32_t lb[12], lc[12];

    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i * 7 % 3);
    tdir_make(&d);
    path = tfile(&d, "custom", buf);
    a = guided_oracle(PAL_SAMPLER_CUSTOM, 0, 0, n, y);
    b = guided_oracle(PAL_SAMPLER_CUSTOM, 0, 0, n, y);
    ck_status(pal_oracle_set_sampler(a, first_open, &off), PAL_OK);
    ck_status(pal_oracle_set_sampler(b, first_open, &off), PAL_OK);
    ck_status(pal_oracle_journal_open(a, path, 0, NULL), PAL_OK);
    for (int step = 0; step < 4; step++) {
        off = step * 5;
        if (step == 2) {
            ck_status(pal_oracle_next(a, &anchor, &m, &cand), PAL_OK);
            pal_oracle_cancel(a);
            ck_status(pal_oracle_next(b, &anchor, &m, &cand), PAL_OK);
            pal_oracle_cancel(b);
        }
        ck_status(pal_oracle_step(a, NULL), PAL_OK);
        ck_status(pal_oracle_step(b, NULL), PAL_OK);
    }
    pal_oracle_destroy(a);

    /* No sampler set: the replay does not need one. */
    c = guided_oracle(PAL_SAMPLER_CUSTOM, 0, 0, n, y);
    ck_status(pal_oracle_journal_open(c, path, 0, &info), PAL_OK);
    ck_assert_int_eq(info.records, 5);
    ck_status(pal_store_stats(pal_oracle_store(b), &sb), PAL_OK);
    ck_status(pal_store_stats(pal_oracle_store(c), &sc), PAL_OK);
    ck_assert_int_eq(sb.complete, 0);
    ck_assert_int_eq(sb.answers, sc.answers);
    ck_assert_int_eq(sb.known_pairs, sc.known_pairs);
    ck_status(pal_store_labels(pal_oracle_store(b), 0, lb, NULL), PAL_OK);
    ck_status(pal_store_labels(pal_oracle_store(c), 0, lc, NULL), PAL_OK);
    ck_assert(memcmp(lb, lc, sizeof lb) == 0);
    ck_status(pal_oracle_costs(b, &cb), PAL_OK);
    ck_status(pal_oracle_costs(c, &cc), PAL_OK);
    ck_assert_int_eq(cb.screens, cc.screens);
    ck_assert_int_eq(cb.answers, cc.answers);

    /* It goes on once the host sets its sampler again, journaling. */
    ck_status(pal_oracle_step(c, NULL), PAL_E_STATE);
    ck_status(pal_oracle_set_sampler(c, first_open, &off), PAL_OK);
    ck_status(pal_oracle_step(c, NULL), PAL_OK);
    pal_oracle_destroy(c);

    /* Another sampler's oracle refuses the journal. */
    p = guided_oracle(PAL_SAMPLER_PASSIVE, 0, 0, n, y);
    ck_status(pal_oracle_journal_open(p, path, 0, NULL), PAL_E_FORMAT);
    pal_oracle_destroy(p);
    pal_oracle_destroy(b);
    unlink(path);
    tdir_remove(&d);
}
END_TEST

/* Answers from labels, unsure for a few pairs, the same every run. */
static int mostly_sure(void *user, int64_t anchor, int64_t m,
                       const int64_t *cand, pal_answer_t *ans)
{
    const int32_t *y = user;

    for (int64_t k = 0; k < m; k++)
        ans[k] = (anchor + cand[k]) % 7 == 0 ? PAL_ANSWER_UNSURE
                 : y[anchor] == y[cand[k]]   ? PAL_ANSWER_SAME
                                             : PAL_ANSWER_DIFFERENT;
    return 0;
}

static pal_oracle_t *stopping_oracle(pal_sampler_t smp, int cfg,
                                     double budget, int64_t n,
                                     const int32_t *y)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o;

    pal_oracle_opts_init(&op);
    op.sampler = smp;
    op.seed = 23;
    op.screen_size = 5;
    op.budget = budget;
    if (cfg == 1) {
        op.cost_screen = 0.7;
        op.cost_candidate = 0.3;
        op.cost_answer = 0.15;
    } else if (cfg == 2) {
        op.stall_screens = 3;
    }
    ck_status(pal_oracle_create(&o, n, &op, NULL), PAL_OK);
    ck_status(pal_oracle_set_labeler(o, mostly_sure, (void *)y), PAL_OK);
    return o;
}

/*
 * Budgets, cost models and stalls replay: an oracle reopening the
 * journal of a stopped one stops at once, for the same reason, having
 * spent the same; captcha questions drawn with an embedding replay as
 * recorded (within what the budget affords). Journals with another budget are
 * refused.
 */
START_TEST(stops_replay)
{
    const int64_t n = 60;
    int32_t y[60];
    double z[60];
    tdir_t d;
    char buf[256];
    const char *path;

    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i < 4 ? i : i * 13 % 4);
    for (int64_t i = 0; i < n; i++)
        z[i] = y[i] + 0.01 * (double)i;
    tdir_make(&d);
    path = tfile(&d, "stops", buf);
    for (int smp = PAL_SAMPLER_PASSIVE; smp <= PAL_SAMPLER_ITEM; smp++) {
        for (int cfg = 0; cfg < 3 + (smp == PAL_SAMPLER_CAPTCHA); cfg++) {
            double budget = cfg == 2 ? 0.0 : cfg == 0 ? 40.0 : 33.3;
            int c2 = cfg == 3 ? 1 : cfg;
            pal_oracle_t *a, *c, *other;
            pal_oracle_costs_t ca = {.size = sizeof ca};
            pal_oracle_costs_t cc = {.size = sizeof cc};
            pal_stop_reason_t ra, rc;

            if (cfg == 2 && smp == PAL_SAMPLER_PASSIVE)
                continue;   /* stalls need classes */
            a = stopping_oracle((pal_sampler_t)smp, c2, budget, n, y);
            ck_status(pal_oracle_journal_open(a, path, 0, NULL), PAL_OK);
            if (cfg == 3)
                ck_status(pal_oracle_set_embedding(a, PAL_F64, n, 1, z, 1),
                          PAL_OK);
            while (pal_oracle_step(a, NULL) == PAL_OK)
                continue;
            ck_status(pal_oracle_stop_reason(a, &ra), PAL_OK);
            ck_assert_int_eq(ra, cfg == 2 ? PAL_STOP_NO_NEW_CLASS
                                          : PAL_STOP_BUDGET);
            ck_status(pal_oracle_costs(a, &ca), PAL_OK);
            pal_oracle_destroy(a);

            c = stopping_oracle((pal_sampler_t)smp, c2, budget, n, y);
            ck_status(pal_oracle_journal_open(c, path, 0, NULL), PAL_OK);
            ck_status(pal_oracle_stop_reason(c, &rc), PAL_OK);
            ck_assert_int_eq(rc, ra);
            ck_status(pal_oracle_costs(c, &cc), PAL_OK);
            ck_assert(memcmp(&ca, &cc, sizeof ca) == 0);
            ck_status(pal_oracle_step(c, NULL), PAL_DONE);
            ck_status(pal_oracle_stop_reason(c, &rc), PAL_OK);
            ck_assert_int_eq(rc, ra);
            ck_status(pal_oracle_journal_close(c), PAL_OK);
            pal_oracle_destroy(c);

            /* Another budget, or none, is another run. */
            other = stopping_oracle((pal_sampler_t)smp, c2,
                                    budget == 0.0 ? 5.0 : budget + 1.0, n,
                                    y);
            ck_status(pal_oracle_journal_open(other, path, 0, NULL),
                      PAL_E_FORMAT);
            pal_oracle_destroy(other);
            unlink(path);
        }
    }
    tdir_remove(&d);
}
END_TEST

/* ---- Stops --------------------------------------------------------------- */

static int all_unsure(void *user, int64_t anchor, int64_t m,
                      const int64_t *cand, pal_answer_t *ans)
{
    (void)user;
    (void)anchor;
    (void)cand;
    for (int64_t k = 0; k < m; k++)
        ans[k] = PAL_ANSWER_UNSURE;
    return 0;
}

/* A host's sampler that proposes first_open's questions while *left > 0
 * (counting them down), then has nothing more. */
typedef struct limited {
    int64_t left, off;
} limited_t;

static int limited_sampler(void *user, const pal_store_t *known, int64_t cap,
                           int64_t *anchor, int64_t *m, int64_t *cand)
{
    limited_t *l = user;

    if (l->left <= 0)
        return 1;
    l->left--;
    return first_open(&l->off, known, cap, anchor, m, cand);
}

typedef struct stop_case {
    pal_sampler_t sampler;
    int64_t n, screen, stall;
    double budget;
    pal_labeler_fn labeler;
    pal_stop_reason_t want;
} stop_case_t;

static pal_oracle_t *stop_case_oracle(const stop_case_t *c, const int32_t *y,
                                      limited_t *l)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o;

    pal_oracle_opts_init(&op);
    op.sampler = c->sampler;
    op.seed = 29;
    op.screen_size = c->screen;
    op.budget = c->budget;
    op.stall_screens = c->stall;
    ck_status(pal_oracle_create(&o, c->n, &op, NULL), PAL_OK);
    ck_status(pal_oracle_set_labeler(o, c->labeler, (void *)y), PAL_OK);
    if (c->sampler == PAL_SAMPLER_CUSTOM)
        ck_status(pal_oracle_set_sampler(o, limited_sampler, l), PAL_OK);
    return o;
}

static pal_stop_reason_t reason_of(const pal_oracle_t *o)
{
    pal_stop_reason_t r = (pal_stop_reason_t)-1;

    ck_status(pal_oracle_stop_reason(o, &r), PAL_OK);
    return r;
}

/*
 * Every stop reason replays: an oracle reopening the journal of one that
 * stopped is stopped already, for the same reason, with the same costs,
 * store and classes. The stop is one record: asking again, before or
 * after the reopen, adds none.
 */
START_TEST(every_stop_reason_replays)
{
    static const stop_case_t cases[] = {
        {PAL_SAMPLER_PASSIVE, 12, 1, 0, 0.0, guided_truth, PAL_STOP_COMPLETE},
        {PAL_SAMPLER_CAPTCHA, 12, 4, 0, 0.0, guided_truth, PAL_STOP_COMPLETE},
        {PAL_SAMPLER_ITEM, 12, 1, 0, 0.0, guided_truth, PAL_STOP_COMPLETE},
        {PAL_SAMPLER_PASSIVE, 20, 1, 0, 6.0, guided_truth, PAL_STOP_BUDGET},
        {PAL_SAMPLER_CAPTCHA, 20, 4, 0, 9.0, guided_truth, PAL_STOP_BUDGET},
        {PAL_SAMPLER_ITEM, 20, 1, 0, 6.0, guided_truth, PAL_STOP_BUDGET},
        {PAL_SAMPLER_CAPTCHA, 60, 3, 3, 0.0, guided_truth,
         PAL_STOP_NO_NEW_CLASS},
        {PAL_SAMPLER_ITEM, 60, 1, 3, 0.0, guided_truth,
         PAL_STOP_NO_NEW_CLASS},
        {PAL_SAMPLER_PASSIVE, 6, 1, 0, 0.0, all_unsure, PAL_STOP_EXHAUSTED},
        {PAL_SAMPLER_CAPTCHA, 8, 3, 0, 0.0, all_unsure, PAL_STOP_EXHAUSTED},
        {PAL_SAMPLER_ITEM, 8, 1, 0, 0.0, all_unsure, PAL_STOP_EXHAUSTED},
        {PAL_SAMPLER_CUSTOM, 12, 3, 0, 0.0, guided_truth, PAL_STOP_SAMPLER},
    };
    int32_t y[60];
    tdir_t d;
    char buf[256];
    const char *path;

    for (int64_t i = 0; i < 60; i++)
        y[i] = (int32_t)(i * 7 % 3);
    tdir_make(&d);
    path = tfile(&d, "stop", buf);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const stop_case_t *c = &cases[k];
        limited_t l = {3, 0};
        pal_oracle_t *a = stop_case_oracle(c, y, &l), *b;
        pal_oracle_costs_t ca = {.size = sizeof ca}, cb = {.size = sizeof cb};
        pal_journal_info_t info = {.size = sizeof info};
        int64_t size, steps = 0;
        uint64_t h;
        int rc;

        unlink(path);
        ck_status(pal_oracle_journal_open(a, path, 0, NULL), PAL_OK);
        while ((rc = pal_oracle_step(a, NULL)) == PAL_OK)
            steps++;
        ck_status(rc, PAL_DONE);
        ck_assert_msg(reason_of(a) == c->want, "case %zu: stopped for %d",
                      k, (int)reason_of(a));
        size = fsize(path);
        ck_status(pal_oracle_step(a, NULL), PAL_DONE);
        ck_status(pal_oracle_next(a, &q_anchor, &q_m, &q_cand), PAL_DONE);
        ck_assert_int_eq(reason_of(a), c->want);
        ck_assert_int_eq(fsize(path), size);
        ck_status(pal_oracle_costs(a, &ca), PAL_OK);
        h = oracle_digest(a);
        pal_oracle_destroy(a);

        for (int again = 0; again < 2; again++) {
            l.left = 0;
            b = stop_case_oracle(c, y, &l);
            ck_status(pal_oracle_journal_open(b, path, 0, &info), PAL_OK);
            ck_assert_int_eq(info.records, steps + 1);
            ck_assert_msg(reason_of(b) == c->want,
                          "case %zu: replayed as %d", k, (int)reason_of(b));
            ck_status(pal_oracle_costs(b, &cb), PAL_OK);
            ck_assert(memcmp(&ca, &cb, sizeof ca) == 0);
            ck_assert_uint_eq(oracle_digest(b), h);
            ck_status(pal_oracle_step(b, NULL), PAL_DONE);
            ck_assert_int_eq(reason_of(b), c->want);
            ck_assert_int_eq(fsize(path), size);
            pal_oracle_destroy(b);
        }

        /* The host's sampler may propose more later: the oracle goes on,
         * and the journal then ends with a screen, not a stop. */
        if (c->sampler == PAL_SAMPLER_CUSTOM) {
            l.left = 1;
            b = stop_case_oracle(c, y, &l);
            ck_status(pal_oracle_journal_open(b, path, 0, NULL), PAL_OK);
            ck_status(pal_oracle_step(b, NULL), PAL_OK);
            ck_assert_int_eq(reason_of(b), PAL_STOP_NONE);
            pal_oracle_destroy(b);
            b = stop_case_oracle(c, y, &l);
            ck_status(pal_oracle_journal_open(b, path, 0, &info), PAL_OK);
            ck_assert_int_eq(info.records, steps + 2);
            ck_assert_int_eq(reason_of(b), PAL_STOP_NONE);
            ck_status(pal_oracle_step(b, NULL), PAL_DONE);
            ck_assert_int_eq(reason_of(b), PAL_STOP_SAMPLER);
            pal_oracle_destroy(b);
            b = stop_case_oracle(c, y, &l);
            ck_status(pal_oracle_journal_open(b, path, 0, &info), PAL_OK);
            ck_assert_int_eq(info.records, steps + 3);
            ck_assert_int_eq(reason_of(b), PAL_STOP_SAMPLER);
            pal_oracle_destroy(b);
        }
    }
    unlink(path);
    tdir_remove(&d);
}
END_TEST

/*
 * A captcha oracle whose budget runs out right after a screen that
 * rejected an item from every class founds that item's class in the
 * call that stops: the replay founds it too, and stops for the budget.
 */
START_TEST(budget_stop_replays_its_class)
{
    const int64_t n = 20;
    int32_t y[20];
    int64_t ta[8], tb[8], na, nb;
    pal_oracle_t *a, *b;
    pal_oracle_costs_t ca = {.size = sizeof ca}, cb = {.size = sizeof cb};
    pal_journal_info_t info = {.size = sizeof info};
    pal_oracle_opts_t op;
    tdir_t d;
    char buf[256];
    const char *path;

    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i % 2);
    tdir_make(&d);
    path = tfile(&d, "budget", buf);
    pal_oracle_opts_init(&op);
    op.seed = 17;
    op.screen_size = 5;
    op.budget = 5.0;
    ck_status(pal_oracle_create(&a, n, &op, NULL), PAL_OK);
    ck_status(pal_oracle_set_labeler(a, guided_truth, y), PAL_OK);
    ck_status(pal_oracle_journal_open(a, path, 0, NULL), PAL_OK);
    ck_status(pal_oracle_step(a, NULL), PAL_OK);
    ck_status(pal_oracle_costs(a, &ca), PAL_OK);
    ck_assert_int_eq(ca.classes, 1);
    ck_status(pal_oracle_step(a, NULL), PAL_DONE);
    ck_assert_int_eq(reason_of(a), PAL_STOP_BUDGET);
    ck_status(pal_oracle_costs(a, &ca), PAL_OK);
    ck_assert_int_eq(ca.classes, 2);
    ck_status(pal_oracle_templates(a, ta, 8, &na), PAL_OK);
    pal_oracle_destroy(a);

    ck_status(pal_oracle_create(&b, n, &op, NULL), PAL_OK);
    ck_status(pal_oracle_journal_open(b, path, 0, &info), PAL_OK);
    ck_assert_int_eq(info.records, 2);
    ck_assert_int_eq(reason_of(b), PAL_STOP_BUDGET);
    ck_status(pal_oracle_costs(b, &cb), PAL_OK);
    ck_assert(memcmp(&ca, &cb, sizeof ca) == 0);
    ck_status(pal_oracle_templates(b, tb, 8, &nb), PAL_OK);
    ck_assert_int_eq(nb, na);
    ck_assert(memcmp(ta, tb, (size_t)na * sizeof *ta) == 0);
    pal_oracle_destroy(b);
    unlink(path);
    tdir_remove(&d);
}
END_TEST

/* ---- Priors ---------------------------------------------------------------- */

/* Answers from labels, unsure for a few pairs (a function of the pair
 * only), and the digest of the last question shown. */
typedef struct rt_person {
    const int32_t *y;
    uint64_t salt;
    uint64_t last;
} rt_person_t;

static pal_answer_t rt_answer(const rt_person_t *p, int64_t a, int64_t b)
{
    uint64_t lo = (uint64_t)(a < b ? a : b), hi = (uint64_t)(a < b ? b : a);

    if (mix(mix(p->salt, lo), hi) % 10 == 0)
        return PAL_ANSWER_UNSURE;
    return p->y[a] == p->y[b] ? PAL_ANSWER_SAME : PAL_ANSWER_DIFFERENT;
}

static void rt_answers(const rt_person_t *p, int64_t anchor, int64_t m,
                       const int64_t *cand, pal_answer_t *ans)
{
    for (int64_t k = 0; k < m; k++)
        ans[k] = rt_answer(p, anchor, cand[k]);
}

static int rt_labeler(void *user, int64_t anchor, int64_t m,
                      const int64_t *cand, pal_answer_t *ans)
{
    rt_person_t *p = user;

    p->last = question_digest(anchor, m, cand);
    rt_answers(p, anchor, m, cand, ans);
    return 0;
}

static pal_oracle_t *rt_oracle(const pal_oracle_opts_t *op, int64_t n,
                               rt_person_t *p)
{
    pal_oracle_t *o;

    ck_status(pal_oracle_create(&o, n, op, NULL), PAL_OK);
    ck_status(pal_oracle_set_labeler(o, rt_labeler, p), PAL_OK);
    return o;
}

static int64_t classes_of(const pal_oracle_t *o)
{
    int64_t nc = 0;

    ck_status(pal_oracle_templates(o, NULL, 0, &nc), PAL_OK);
    return nc;
}

/* Everything the tests can see of an oracle: its digest, every cost
 * (spent and deduced too) and its stop reason. */
static void same_oracles(const pal_oracle_t *a, const pal_oracle_t *b,
                         const char *what, int trial, int64_t t)
{
    pal_oracle_costs_t ca = {.size = sizeof ca}, cb = {.size = sizeof cb};
    pal_stop_reason_t ra, rb;

    ck_status(pal_oracle_costs(a, &ca), PAL_OK);
    ck_status(pal_oracle_costs(b, &cb), PAL_OK);
    ck_status(pal_oracle_stop_reason(a, &ra), PAL_OK);
    ck_status(pal_oracle_stop_reason(b, &rb), PAL_OK);
    ck_assert_msg(oracle_digest(a) == oracle_digest(b) &&
                      memcmp(&ca, &cb, sizeof ca) == 0 && ra == rb,
                  "%s, trial %d, action %lld: the oracles differ "
                  "(answers %lld / %lld, classes %lld / %lld, stop %d / %d)",
                  what, trial, (long long)t, (long long)ca.answers,
                  (long long)cb.answers, (long long)ca.classes,
                  (long long)cb.classes, (int)ra, (int)rb);
}

/* Both pull their next question, which must be the same. */
static int same_next(pal_oracle_t *a, pal_oracle_t *b, int64_t *anchor,
                     int64_t *m, const int64_t **cand, int trial, int64_t t)
{
    int64_t a2, m2;
    const int64_t *c2;
    int ra = pal_oracle_next(a, anchor, m, cand);
    int rb = pal_oracle_next(b, &a2, &m2, &c2);

    ck_assert_msg(ra == rb, "trial %d, action %lld: next gives %d and %d",
                  trial, (long long)t, ra, rb);
    if (ra == PAL_OK)
        ck_assert_msg(*anchor == a2 && *m == m2 &&
                          memcmp(*cand, c2, (size_t)m2 * sizeof *c2) == 0,
                      "trial %d, action %lld: another question", trial,
                      (long long)t);
    return ra;
}

/*
 * Regression: an item oracle (default order, so its items are drawn at
 * random) whose priors were set, changed and then removed, and captcha
 * oracles whose priors break ties, reopen their journals (they were
 * refused), and go on exactly as an oracle that never stopped, though
 * nobody hands the priors in again.
 */
START_TEST(priors_set_then_cleared_replay)
{
    static const double p1[4] = {3.0, 1.0, 0.5, 2.0};
    static const double p2[4] = {0.25, 1.0, 4.0, 1.0};
    const int64_t n = 40;
    int32_t y[40];
    tdir_t d;
    char buf[256];
    const char *path;

    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i * 5 % 4);
    tdir_make(&d);
    path = tfile(&d, "priors", buf);
    for (int mode = 0; mode < 4; mode++) {
        rt_person_t pa = {y, 3, 0}, pb = pa, pc = pa;
        pal_oracle_opts_t op;
        pal_oracle_t *a, *b, *c;
        pal_journal_info_t info = {.size = sizeof info};
        int64_t steps = 0;

        pal_oracle_opts_init(&op);
        op.seed = 11;
        op.sampler = mode < 2 ? PAL_SAMPLER_ITEM : PAL_SAMPLER_CAPTCHA;
        op.item_order = mode == 1 ? PAL_ITEM_ORDER_RANDOM
                                  : PAL_ITEM_ORDER_CERTAIN;
        op.candidates = mode == 3 ? PAL_CANDIDATES_UNIFORM
                                  : PAL_CANDIDATES_ELIMINATION;
        op.screen_size = 3;
        a = rt_oracle(&op, n, &pa);
        b = rt_oracle(&op, n, &pb);
        unlink(path);
        ck_status(pal_oracle_journal_open(a, path, 0, NULL), PAL_OK);
        for (int t = 0; t < 30; t++) {
            pal_oracle_t *both[2] = {a, b};
            int rc[2];

            for (int k = 0; k < 2; k++) {
                int64_t nc = classes_of(both[k]);

                if (t == 3)
                    ck_status(pal_oracle_set_priors(both[k], nc < 4 ? nc : 4,
                                                    p1),
                              PAL_OK);
                if (t == 8)
                    ck_status(pal_oracle_set_priors(both[k], nc < 4 ? nc : 4,
                                                    p2),
                              PAL_OK);
                if (t == 14)
                    ck_status(pal_oracle_set_priors(both[k], 0, NULL),
                              PAL_OK);
                rc[k] = pal_oracle_step(both[k], NULL);
            }
            ck_status(rc[0], rc[1]);
            if (rc[0] != PAL_OK)
                break;
            ck_assert_uint_eq(pa.last, pb.last);
            steps++;
        }
        ck_assert_int_ge(steps, 20);
        pal_oracle_destroy(a);

        c = rt_oracle(&op, n, &pc);
        ck_status(pal_oracle_journal_open(c, path, 0, &info), PAL_OK);
        ck_assert_int_ge(info.records, steps + 3);
        same_oracles(b, c, "priors cleared", mode, 0);
        for (int t = 0; t < 40; t++) {
            int rb = pal_oracle_step(b, NULL);

            ck_status(pal_oracle_step(c, NULL), rb);
            if (rb != PAL_OK)
                break;
            ck_assert_uint_eq(pb.last, pc.last);
            same_oracles(b, c, "priors cleared", mode, t + 1);
        }
        pal_oracle_destroy(b);
        pal_oracle_destroy(c);
    }
    unlink(path);
    tdir_remove(&d);
}
END_TEST

/*
 * Priors set while a question is pending apply from the next question
 * on; a journal cut while it is pending replays to an oracle that asks
 * it again and then goes on with the new priors. Priors set again to
 * the same values write nothing; priors set before the open are
 * recorded after the replay unless the journal ends with them.
 */
START_TEST(priors_while_pending_and_before_open)
{
    static const double p1[3] = {0.5, 4.0, 1.0};
    static const double p2[3] = {2.0, 0.25, 3.0};
    const int64_t n = 30;
    int32_t y[30];
    tdir_t d;
    char buf[256];
    const char *path;

    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i * 7 % 3);
    tdir_make(&d);
    path = tfile(&d, "pending", buf);
    for (int mode = 0; mode < 2; mode++) {
        rt_person_t pa = {y, 5, 0}, pb = pa, pc = pa;
        pal_oracle_opts_t op;
        pal_oracle_t *a, *b, *c;
        pal_answer_t ans[8];
        int64_t anchor, m, size, nc;
        const int64_t *cand;
        pal_journal_info_t info = {.size = sizeof info};

        pal_oracle_opts_init(&op);
        op.seed = 5;
        op.sampler = mode ? PAL_SAMPLER_ITEM : PAL_SAMPLER_CAPTCHA;
        op.screen_size = 4;
        a = rt_oracle(&op, n, &pa);
        b = rt_oracle(&op, n, &pb);
        unlink(path);
        ck_status(pal_oracle_journal_open(a, path, 0, NULL), PAL_OK);
        for (int t = 0; t < 6; t++) {
            ck_status(pal_oracle_step(a, NULL), PAL_OK);
            ck_status(pal_oracle_step(b, NULL), PAL_OK);
        }
        nc = classes_of(a);
        ck_assert_int_ge(nc, 2);
        ck_status(same_next(a, b, &anchor, &m, &cand, mode, 6), PAL_OK);
        ck_status(pal_oracle_set_priors(a, nc < 3 ? nc : 3, p1), PAL_OK);
        ck_status(pal_oracle_set_priors(b, nc < 3 ? nc : 3, p1), PAL_OK);
        size = fsize(path);
        ck_status(pal_oracle_set_priors(a, nc < 3 ? nc : 3, p1), PAL_OK);
        ck_assert_int_eq(fsize(path), size);
        rt_answers(&pa, anchor, m, cand, ans);
        ck_status(pal_oracle_answer(a, ans, NULL), PAL_OK);
        ck_status(pal_oracle_answer(b, ans, NULL), PAL_OK);

        /* Pending again, new priors, and the journal ends there. The
         * question is read from b, which lives on. */
        ck_status(same_next(b, a, &anchor, &m, &cand, mode, 7), PAL_OK);
        nc = classes_of(a);
        ck_status(pal_oracle_set_priors(a, nc < 3 ? nc : 3, p2), PAL_OK);
        ck_status(pal_oracle_set_priors(b, nc < 3 ? nc : 3, p2), PAL_OK);
        pal_oracle_destroy(a);
        c = rt_oracle(&op, n, &pc);
        ck_status(pal_oracle_journal_open(c, path, 0, &info), PAL_OK);
        ck_assert_int_eq(info.records, 6 + 1 + 1 + 1);
        {
            int64_t a2, m2;
            const int64_t *c2;

            ck_status(pal_oracle_next(c, &a2, &m2, &c2), PAL_OK);
            ck_assert_int_eq(a2, anchor);
            ck_assert_int_eq(m2, m);
            ck_assert(memcmp(c2, cand, (size_t)m * sizeof *cand) == 0);
        }
        rt_answers(&pa, anchor, m, cand, ans);
        ck_status(pal_oracle_answer(b, ans, NULL), PAL_OK);
        ck_status(pal_oracle_answer(c, ans, NULL), PAL_OK);
        for (int t = 0; t < 15; t++) {
            int rb = pal_oracle_step(b, NULL);

            ck_status(pal_oracle_step(c, NULL), rb);
            if (rb != PAL_OK)
                break;
            ck_assert_uint_eq(pb.last, pc.last);
        }
        same_oracles(b, c, "pending", mode, 0);
        pal_oracle_destroy(b);
        pal_oracle_destroy(c);

        /* Priors before the open: recorded at the open of a new journal
         * and taken back by a replay; the same again add nothing, others
         * are recorded after the replay. */
        unlink(path);
        a = rt_oracle(&op, n, &pa);
        b = rt_oracle(&op, n, &pb);
        ck_status(pal_oracle_set_priors(a, 1, p1), PAL_OK);
        ck_status(pal_oracle_set_priors(b, 1, p1), PAL_OK);
        ck_status(pal_oracle_journal_open(a, path, 0, &info), PAL_OK);
        ck_assert_int_eq(info.created, 1);
        ck_assert_int_gt(fsize(path), HEADER);
        for (int t = 0; t < 5; t++) {
            ck_status(pal_oracle_step(a, NULL), PAL_OK);
            ck_status(pal_oracle_step(b, NULL), PAL_OK);
        }
        pal_oracle_destroy(a);
        c = rt_oracle(&op, n, &pc);
        ck_status(pal_oracle_journal_open(c, path, 0, &info), PAL_OK);
        ck_assert_int_eq(info.records, 6);
        ck_status(pal_oracle_step(b, NULL), PAL_OK);
        ck_status(pal_oracle_step(c, NULL), PAL_OK);
        ck_assert_uint_eq(pb.last, pc.last);
        pal_oracle_destroy(c);
        size = fsize(path);
        c = rt_oracle(&op, n, &pc);
        ck_status(pal_oracle_set_priors(c, 1, p1), PAL_OK);
        ck_status(pal_oracle_journal_open(c, path, 0, &info), PAL_OK);
        ck_assert_int_eq(fsize(path), size);
        pal_oracle_destroy(c);
        c = rt_oracle(&op, n, &pc);
        ck_status(pal_oracle_set_priors(c, 1, p2), PAL_OK);
        ck_status(pal_oracle_journal_open(c, path, 0, &info), PAL_OK);
        ck_assert_int_eq(info.records, 7);
        ck_assert_int_gt(fsize(path), size);
        ck_status(pal_oracle_set_priors(b, 1, p2), PAL_OK);
        ck_status(pal_oracle_step(b, NULL), PAL_OK);
        ck_status(pal_oracle_step(c, NULL), PAL_OK);
        ck_assert_uint_eq(pb.last, pc.last);
        pal_oracle_destroy(c);
        c = rt_oracle(&op, n, &pc);
        ck_status(pal_oracle_journal_open(c, path, 0, &info), PAL_OK);
        ck_assert_int_eq(info.records, 9);
        same_oracles(b, c, "before the open", mode, 0);
        pal_oracle_destroy(b);
        pal_oracle_destroy(c);
    }
    unlink(path);
    tdir_remove(&d);
}
END_TEST

/* ---- Priors, guidance and reopening at random ------------------------------ */

#define RT_TRIALS 160
#define RT_ACTIONS 120

/* The host's guidance, handed to each oracle alike (and again to a
 * reopened one; never the priors, which the journal holds). */
typedef struct rt_host {
    int kind;                /* 0 none, 1 embedding, 2 scores */
    double *z;               /* n x 2 */
    double *scores;          /* n x ks */
    int64_t ks;
} rt_host_t;

static void rt_guide(pal_oracle_t *o, const rt_host_t *h, int64_t n)
{
    if (h->kind == 0)
        pal_oracle_clear_guidance(o);
    else if (h->kind == 1)
        ck_status(pal_oracle_set_embedding(o, PAL_F64, n, 2, h->z, 2),
                  PAL_OK);
    else
        ck_status(pal_oracle_set_scores(o, PAL_F64, n, h->ks, h->scores,
                                        h->ks),
                  PAL_OK);
}

/* The journaled oracle ends (as a killed process would: a pending
 * question is lost) and a new one reopens its journal. */
static pal_oracle_t *rt_reopen(pal_oracle_t *j, const pal_oracle_opts_t *op,
                               int64_t n, rt_person_t *p, const char *path,
                               const rt_host_t *h, int trial, int64_t t)
{
    pal_journal_info_t info = {.size = sizeof info};
    int rc;

    pal_oracle_destroy(j);
    j = rt_oracle(op, n, p);
    rc = pal_oracle_journal_open(j, path, 0, &info);
    ck_assert_msg(rc == PAL_OK, "trial %d, action %lld: reopen gives %s",
                  trial, (long long)t, pal_status_name(rc));
    ck_assert_int_eq(info.bytes_cut, 0);
    rt_guide(j, h, n);
    return j;
}

/*
 * Many random runs of captcha and item oracles, guided and not, whose
 * host sets, changes and removes class priors at random moments (some
 * before the journal is opened, some while a question is pending, some
 * the same as before), and whose journal is reopened at random points
 * (some while a question is pending): each reopen succeeds, and the
 * reopened oracle, given the host's guidance again but never its
 * priors, asks question for question what an oracle that never stopped
 * asks, with the same store, costs, batches and stops.
 */
START_TEST(priors_replay_randomized)
{
    const uint64_t base = test_seed();
    int64_t reopened = 0, pending_reopens = 0, prior_changes = 0,
            guided_actions = 0, stops = 0, questions = 0;
    tdir_t d;
    char buf[256];
    const char *path;

    tdir_make(&d);
    path = tfile(&d, "random", buf);
    for (int trial = 0; trial < RT_TRIALS; trial++) {
        trng_t r;
        int64_t n, nclass;
        int32_t *y;
        double *z, *sc;
        pal_oracle_opts_t op;
        rt_host_t host = {0, NULL, NULL, 0};
        rt_person_t pr, pj;
        pal_oracle_t *ref, *jo;
        pal_batch_t *br, *bj;
        double last[64];
        int64_t t, last_k;

        trng_seed(&r, base * 1000003u + (uint64_t)trial);
        n = 10 + trng_below(&r, 40);
        nclass = 2 + trng_below(&r, 5);
        y = xmalloc((size_t)n * sizeof *y);
        z = xmalloc((size_t)n * 2 * sizeof *z);
        sc = xmalloc((size_t)n * (size_t)n * sizeof *sc);
        for (int64_t i = 0; i < n; i++) {
            y[i] = (int32_t)trng_below(&r, nclass);
            z[2 * i] = (double)y[i] + 0.8 * trng_unit(&r);
            z[2 * i + 1] = trng_unit(&r);
        }
        host.z = z;
        host.scores = sc;
        pr = (rt_person_t){y, (uint64_t)trial, 0};
        pj = pr;

        pal_oracle_opts_init(&op);
        op.sampler = trial % 2 ? PAL_SAMPLER_ITEM : PAL_SAMPLER_CAPTCHA;
        op.seed = base + (uint64_t)trial;
        op.screen_size = 1 + trng_below(&r, 6);
        op.candidates = (int)trng_below(&r, 2);
        op.item_order = (int)trng_below(&r, 2);
        op.reg_mode = trng_below(&r, 3) == 0 ? PAL_REG_RANDOM : -1;
        op.reg_pairs = 3;
        if (trng_below(&r, 4) == 0)
            op.num_classes = nclass;
        if (trng_below(&r, 4) == 0) {
            op.budget = 5.0 + 40.0 * trng_unit(&r);
            if (trng_below(&r, 2)) {
                op.cost_screen = trng_unit(&r);
                op.cost_candidate = trng_unit(&r);
                op.cost_answer = trng_unit(&r);
            }
        }
        if (trng_below(&r, 5) == 0)
            op.stall_screens = 2 + trng_below(&r, 6);
        ref = rt_oracle(&op, n, &pr);
        jo = rt_oracle(&op, n, &pj);
        ck_status(pal_batch_create(&br, NULL), PAL_OK);
        ck_status(pal_batch_create(&bj, NULL), PAL_OK);
        last_k = 0;
        if (trng_below(&r, 5) == 0) {
            /* Priors before the journal is opened. */
            last_k = 1;
            last[0] = 0.5 + trng_unit(&r);
            ck_status(pal_oracle_set_priors(ref, 1, last), PAL_OK);
            ck_status(pal_oracle_set_priors(jo, 1, last), PAL_OK);
        }
        unlink(path);
        ck_status(pal_oracle_journal_open(jo, path, 0, NULL), PAL_OK);

        for (t = 0; t < RT_ACTIONS; t++) {
            uint64_t u = (uint64_t)trng_below(&r, 100);
            int action = (int)trng_below(&r, 7), rr, rj;
            pal_batch_t *b1 = NULL, *b2 = NULL;

            /* The host: priors, guidance, and the journal reopened. */
            if (u < 18) {
                int64_t nc = classes_of(ref), k = trng_below(&r, nc + 1);
                double pri[64];

                for (int64_t c = 0; c < k; c++)
                    pri[c] = 0.2 + 4.8 * trng_unit(&r);
                if (u < 4 && last_k <= nc) {
                    /* The same priors again. */
                    k = last_k;
                    memcpy(pri, last, (size_t)k * sizeof *pri);
                }
                ck_status(pal_oracle_set_priors(ref, k, pri), PAL_OK);
                ck_status(pal_oracle_set_priors(jo, k, pri), PAL_OK);
                last_k = k;
                memcpy(last, pri, (size_t)k * sizeof *pri);
                prior_changes++;
            } else if (u < 26) {
                host.kind = (int)trng_below(&r, 3);
                if (host.kind == 1)
                    for (int64_t i = 0; i < 2 * n; i++)
                        z[i] += 0.3 * (trng_unit(&r) - 0.5);
                if (host.kind == 2) {
                    host.ks = 1 + trng_below(&r, classes_of(ref));
                    for (int64_t i = 0; i < n * host.ks; i++)
                        sc[i] = trng_unit(&r);
                }
                rt_guide(ref, &host, n);
                rt_guide(jo, &host, n);
            } else if (u < 36) {
                jo = rt_reopen(jo, &op, n, &pj, path, &host, trial, t);
                same_oracles(ref, jo, "reopened", trial, t);
                reopened++;
            }
            guided_actions += host.kind != 0;

            if (action <= 1) {
                /* A step, with a batch or not. */
                if (action == 1) {
                    pal_batch_clear(br);
                    pal_batch_clear(bj);
                    b1 = br;
                    b2 = bj;
                }
                rr = pal_oracle_step(ref, b1);
                rj = pal_oracle_step(jo, b2);
                ck_assert_msg(rr == rj, "trial %d, action %lld: step %d / %d",
                              trial, (long long)t, rr, rj);
                if (rr == PAL_OK)
                    ck_assert_msg(pr.last == pj.last,
                                  "trial %d, action %lld: another question",
                                  trial, (long long)t);
                if (b1)
                    ck_assert_uint_eq(batch_digest(br), batch_digest(bj));
            } else {
                int64_t anchor, m;
                const int64_t *cand;
                pal_answer_t ans[8];

                rr = same_next(ref, jo, &anchor, &m, &cand, trial, t);
                if (rr == PAL_OK && action == 2) {
                    pal_oracle_cancel(ref);
                    pal_oracle_cancel(jo);
                } else if (rr == PAL_OK) {
                    if (action >= 4) {
                        /* Priors set while the question is pending. */
                        int64_t nc = classes_of(ref), k;
                        double pri[64];

                        k = trng_below(&r, nc + 1);
                        for (int64_t c = 0; c < k; c++)
                            pri[c] = 0.2 + 4.8 * trng_unit(&r);
                        ck_status(pal_oracle_set_priors(ref, k, pri),
                                  PAL_OK);
                        ck_status(pal_oracle_set_priors(jo, k, pri),
                                  PAL_OK);
                        last_k = k;
                        memcpy(last, pri, (size_t)k * sizeof *pri);
                        prior_changes++;
                    }
                    if (action >= 5 && trng_below(&r, 2)) {
                        /* Reopened with the question pending: it is
                         * asked again. */
                        int64_t a2, m2;
                        const int64_t *c2;

                        jo = rt_reopen(jo, &op, n, &pj, path, &host, trial,
                                       t);
                        ck_status(pal_oracle_next(jo, &a2, &m2, &c2),
                                  PAL_OK);
                        ck_assert_msg(a2 == anchor && m2 == m &&
                                          memcmp(c2, cand,
                                                 (size_t)m * sizeof *c2) ==
                                              0,
                                      "trial %d, action %lld: the pending "
                                      "question changed",
                                      trial, (long long)t);
                        pending_reopens++;
                        reopened++;
                    }
                    rt_answers(&pr, anchor, m, cand, ans);
                    if (action == 6) {
                        b1 = br;
                        b2 = bj;
                        pal_batch_clear(br);
                        pal_batch_clear(bj);
                    }
                    ck_status(pal_oracle_answer(ref, ans, b1), PAL_OK);
                    ck_status(pal_oracle_answer(jo, ans, b2), PAL_OK);
                    if (b1)
                        ck_assert_uint_eq(batch_digest(br),
                                          batch_digest(bj));
                }
            }
            questions += rr == PAL_OK;
            same_oracles(ref, jo, "after the action", trial, t);
            if (rr == PAL_DONE) {
                stops++;
                break;
            }
        }

        /* Once more at the end: stopped or not, the same state. */
        jo = rt_reopen(jo, &op, n, &pj, path, &host, trial, t);
        same_oracles(ref, jo, "at the end", trial, t);
        reopened++;
        {
            int64_t anchor, m;
            const int64_t *cand;

            same_next(ref, jo, &anchor, &m, &cand, trial, t + 1);
        }
        pal_oracle_destroy(ref);
        pal_oracle_destroy(jo);
        pal_batch_destroy(br);
        pal_batch_destroy(bj);
        free(y);
        free(z);
        free(sc);
    }
    printf("journal: %d random runs with priors: %lld questions, %lld "
           "prior changes, %lld actions guided, %lld reopens (%lld with a "
           "question pending), %lld stops\n",
           RT_TRIALS, (long long)questions, (long long)prior_changes,
           (long long)guided_actions, (long long)reopened,
           (long long)pending_reopens, (long long)stops);
    ck_assert_int_ge(pending_reopens, 10);
    unlink(path);
    tdir_remove(&d);
}
END_TEST

/* ---- Priors and stops: failures and impossible records --------------------- */

/* Append a record of type type and payload p (len bytes) to the file. */
static void append_record(const char *path, int type, const unsigned char *p,
                          size_t len)
{
    size_t flen;
    unsigned char *f = slurp(path, &flen), *g = xmalloc(flen + 9 + len);

    memcpy(g, f, flen);
    put_le32(g + flen, (uint32_t)len);
    g[flen + 4] = (unsigned char)type;
    memcpy(g + flen + 5, p, len);
    put_le32(g + flen + 5 + len, ref_crc(g + flen, 5 + len));
    spit(path, g, flen + 9 + len);
    free(f);
    free(g);
}

/* The payload of a priors record: flags, k, k values. */
static size_t priors_payload(unsigned char *p, unsigned flags, uint32_t k,
                             const double *v)
{
    p[0] = (unsigned char)flags;
    put_le32(p + 1, k);
    for (uint32_t c = 0; c < k; c++) {
        uint64_t u;

        memcpy(&u, &v[c], sizeof u);
        put_le64(p + 5 + 8 * c, u);
    }
    return 5 + 8 * (size_t)k;
}

/*
 * Priors and stop records whose checksum holds but whose content is
 * impossible are refused with the file untouched: values not finite or
 * not > 0, an unknown flag, more priors than classes, priors for an
 * oracle that has none, a stop for no reason or another reason. A priors
 * record longer than the read buffer is read whole, and cut when the
 * file ends inside it.
 */
START_TEST(priors_and_stop_records_checked)
{
    const double one[3] = {1.0, 2.0, 0.5}, bad[3] = {1.0, -1.0, NAN};
    static const ocfg_t item = {PAL_SAMPLER_ITEM, 14, 1, 3, 0, -1, 0, 5,
                                false};
    ocfg_t big = item;
    const uint32_t many = 9000;
    double *v = xmalloc(many * sizeof *v);
    unsigned char *p = xmalloc(5 + 8 * (size_t)many), stop[2];
    unsigned char *f;
    size_t len, flen;
    tdir_t d;
    char path[256];

    tdir_make(&d);
    tfile(&d, "j", path);
    for (uint32_t c = 0; c < many; c++)
        v[c] = 1.0 + c;

    /* Accepted: k up to the classes found, the flag LATER. */
    make_oracle_journal(path, &item, 0);
    len = priors_payload(p, 0, 1, one);
    append_record(path, 6, p, len);
    {
        person_t pp = {item.classes, false, 0, 0};
        pal_oracle_t *o = make_oracle(&item, &pp);
        pal_journal_info_t info = open_oracle(o, path, 0, PAL_OK);

        ck_assert_int_eq(info.records, 1);
        pal_oracle_destroy(o);
    }

    for (int k = 0; k < 9; k++) {
        make_oracle_journal(path, &item, 0);
        if (k == 0)
            len = priors_payload(p, 0, 2, one);     /* 2 > 1 class */
        else if (k == 1)
            len = priors_payload(p, 0, 1, bad + 1);  /* -1 */
        else if (k == 2)
            len = priors_payload(p, 0, 1, bad + 2);  /* NaN */
        else if (k == 3)
            len = priors_payload(p, 2, 1, one);      /* flag bit 1 */
        else if (k == 4)
            len = priors_payload(p, 0, 1, one) + 8;  /* too long for k */
        else if (k == 5)
            len = priors_payload(p, 1, 3, one);      /* 3 > 1 + 1 */
        if (k < 6) {
            memset(p + len - (k == 4 ? 8 : 0), 0, k == 4 ? 8 : 0);
            append_record(path, 6, p, len);
        } else {
            /* Stops: reason 0, reason 6, a flag, a reason that does not
             * hold (nothing stops a new oracle). */
            stop[0] = k == 7 ? 1 : 0;
            stop[1] = k == 6 ? 0 : k == 7 ? 2 : 6;
            append_record(path, 5, stop, 2);
        }
        oracle_refuses(path, &item, PAL_E_FORMAT);
    }
    /* A stop that does not hold, well formed. */
    make_oracle_journal(path, &item, 0);
    stop[0] = 0;
    stop[1] = PAL_STOP_COMPLETE;
    append_record(path, 5, stop, 2);
    oracle_refuses(path, &item, PAL_E_FORMAT);
    /* Priors in a passive oracle's journal. */
    {
        ocfg_t pas = item;

        pas.sampler = PAL_SAMPLER_PASSIVE;
        make_oracle_journal(path, &pas, 0);
        append_record(path, 6, p, priors_payload(p, 0, 0, one));
        oracle_refuses(path, &pas, PAL_E_FORMAT);
    }

    /* A record longer than the 64 KiB read buffer: read whole (and
     * refused, the oracle having one class), or cut when the file ends
     * inside it. */
    big.n = many + 10;
    make_oracle_journal(path, &big, 0);
    len = priors_payload(p, 0, many, v);
    append_record(path, 6, p, len);
    oracle_refuses(path, &big, PAL_E_FORMAT);
    f = slurp(path, &flen);
    spit(path, f, flen - 100);
    {
        person_t pp = {big.classes, false, 0, 0};
        pal_oracle_t *o = make_oracle(&big, &pp);
        pal_journal_info_t info = open_oracle(o, path, 0, PAL_OK);

        ck_assert_int_eq(info.records, 0);
        ck_assert_int_eq(info.bytes_cut, (int64_t)flen - 100 - HEADER);
        ck_assert_int_eq(fsize(path), HEADER);
        pal_oracle_destroy(o);
    }
    free(f);
    free(p);
    free(v);
    tdir_remove(&d);
}
END_TEST

/*
 * Setting priors with a journal open when memory runs out writes
 * nothing and changes nothing; opening a journal with priors records
 * when memory runs out changes neither the oracle nor the file.
 */
START_TEST(priors_allocation_failures)
{
    static const double pri[6] = {2.0, 1.0, 0.5, 3.0, 1.5, 0.75};
    const int64_t n = 40;
    int32_t y[40];
    rt_person_t pa, pb;
    counting_t c;
    pal_allocator_t al = counting_allocator(&c);
    pal_oracle_opts_t op;
    pal_oracle_t *a, *b;
    unsigned char *before;
    size_t len;
    long failures = 0, k;
    tdir_t d;
    char path[256];

    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i % 6);
    pa = (rt_person_t){y, 9, 0};
    pb = pa;
    tdir_make(&d);
    tfile(&d, "j", path);
    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_ITEM;
    op.seed = 3;
    ck_status(pal_oracle_create(&a, n, &op, &al), PAL_OK);
    ck_status(pal_oracle_set_labeler(a, rt_labeler, &pa), PAL_OK);
    b = rt_oracle(&op, n, &pb);
    ck_status(pal_oracle_journal_open(a, path, 0, NULL), PAL_OK);
    while (classes_of(a) < 6) {
        ck_status(pal_oracle_step(a, NULL), PAL_OK);
        ck_status(pal_oracle_step(b, NULL), PAL_OK);
    }

    /* Six priors make a record longer than the item oracle's screens. */
    for (k = 1;; k++) {
        int64_t size = fsize(path);
        int rc;

        c.calls = 0;
        c.fail_at = k;
        rc = pal_oracle_set_priors(a, 6, pri);
        c.fail_at = 0;
        if (rc == PAL_OK)
            break;
        ck_status(rc, PAL_E_NOMEM);
        ck_assert_int_eq(fsize(path), size);
        ck_assert_uint_eq(next_question(a), next_question(b));
        pal_oracle_cancel(a);
        pal_oracle_cancel(b);
        failures++;
    }
    ck_assert_int_eq(failures, 2);
    ck_status(pal_oracle_set_priors(b, 6, pri), PAL_OK);
    for (int t = 0; t < 4; t++) {
        ck_status(pal_oracle_step(a, NULL), PAL_OK);
        ck_status(pal_oracle_step(b, NULL), PAL_OK);
        ck_assert_uint_eq(pa.last, pb.last);
    }
    pal_oracle_destroy(a);

    before = slurp(path, &len);
    ck_status(pal_oracle_create(&a, n, &op, &al), PAL_OK);
    ck_status(pal_oracle_set_labeler(a, rt_labeler, &pa), PAL_OK);
    failures = 0;
    for (k = 1;; k++) {
        int rc;

        c.calls = 0;
        c.fail_at = k;
        rc = pal_oracle_journal_open(a, path, 0, NULL);
        c.fail_at = 0;
        if (rc == PAL_OK)
            break;
        ck_status(rc, PAL_E_NOMEM);
        ck_assert(same_file(path, before, len));
        ck_assert_int_eq(classes_of(a), 1);
        failures++;
    }
    ck_assert_int_gt(failures, 3);
    same_oracles(a, b, "allocation failures", 0, 0);
    ck_status(pal_oracle_step(a, NULL), PAL_OK);
    ck_status(pal_oracle_step(b, NULL), PAL_OK);
    ck_assert_uint_eq(pa.last, pb.last);
    pal_oracle_destroy(a);
    pal_oracle_destroy(b);
    ck_assert_int_eq(c.live, 0);
    free(before);
    tdir_remove(&d);
}
END_TEST

/* ---- Closing from a callback ---------------------------------------------- */

typedef struct closer {
    pal_oracle_t *o;
    int rc;
} closer_t;

static int closing_labeler(void *user, int64_t anchor, int64_t m,
                           const int64_t *cand, pal_answer_t *ans)
{
    closer_t *c = user;

    c->rc = pal_oracle_journal_close(c->o);
    for (int64_t k = 0; k < m; k++)
        ans[k] = (anchor + cand[k]) % 2 ? PAL_ANSWER_DIFFERENT
                                        : PAL_ANSWER_SAME;
    return 0;
}

/* The labeler cannot close the journal under the screen it answers: the
 * screen reaches the file, which then holds every answer in memory. */
START_TEST(journal_close_refused_in_callback)
{
    tdir_t d;
    char buf[256];
    const char *path;
    pal_oracle_opts_t op;
    pal_oracle_t *o, *r;
    closer_t c = {NULL, PAL_OK};
    pal_oracle_costs_t co = {.size = sizeof co}, cr = {.size = sizeof cr};

    tdir_make(&d);
    path = tfile(&d, "close", buf);
    pal_oracle_opts_init(&op);
    op.screen_size = 4;
    ck_status(pal_oracle_create(&o, 12, &op, NULL), PAL_OK);
    c.o = o;
    ck_status(pal_oracle_set_labeler(o, closing_labeler, &c), PAL_OK);
    ck_status(pal_oracle_journal_open(o, path, 0, NULL), PAL_OK);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_status(c.rc, PAL_E_STATE);
    ck_status(pal_oracle_step(o, NULL), PAL_OK);
    ck_status(pal_oracle_journal_close(o), PAL_OK);
    ck_status(pal_oracle_costs(o, &co), PAL_OK);

    ck_status(pal_oracle_create(&r, 12, &op, NULL), PAL_OK);
    ck_status(pal_oracle_journal_open(r, path, 0, NULL), PAL_OK);
    ck_status(pal_oracle_costs(r, &cr), PAL_OK);
    ck_assert_int_eq(cr.answers, co.answers);
    ck_assert_int_eq(cr.screens, co.screens);
    pal_oracle_destroy(o);
    pal_oracle_destroy(r);
    unlink(path);
    tdir_remove(&d);
}
END_TEST

Suite *suite_journal(void);
Suite *suite_journal(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, format_is_as_documented);
    tcase_add_test(tc, version_1_journals_open);
    tcase_add_test(tc, arguments_and_states);
    tcase_add_test(tc, store_round_trip);
    tcase_add_test(tc, store_batch_round_trip);
    tcase_add_loop_test(tc, oracle_round_trip, 0,
                        (int)(sizeof round_trip_cfgs /
                              sizeof *round_trip_cfgs));
    tcase_add_test(tc, store_truncated_everywhere);
    tcase_add_test(tc, store_bit_flips);
    tcase_add_test(tc, oracle_damaged_everywhere);
    tcase_add_test(tc, foreign_journals_are_refused);
    tcase_add_test(tc, write_failures);
    tcase_add_test(tc, store_allocation_failures);
    tcase_add_test(tc, oracle_allocation_failures);
    tcase_add_test(tc, writers_killed_at_random);
    tcase_add_test(tc, guided_oracles_replay);
    tcase_add_test(tc, journal_close_refused_in_callback);
    tcase_add_test(tc, custom_oracle_replays);
    tcase_add_test(tc, stops_replay);
    tcase_add_test(tc, every_stop_reason_replays);
    tcase_add_test(tc, budget_stop_replays_its_class);
    tcase_add_test(tc, priors_set_then_cleared_replay);
    tcase_add_test(tc, priors_while_pending_and_before_open);
    tcase_add_test(tc, priors_replay_randomized);
    tcase_add_test(tc, priors_and_stop_records_checked);
    tcase_add_test(tc, priors_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
