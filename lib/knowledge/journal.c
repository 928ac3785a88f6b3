/*
 * The answer journal: an append-only file of checksummed records, and
 * its replay.
 *
 * Format, version 2 (docs/journal.md has the details). Every integer is
 * little-endian, written byte by byte, so the file reads the same on
 * every machine.
 *
 *   header, 36 bytes:
 *     0   8  magic: 0x89 'P' 'A' 'L' 'J' 'R' 'N' 0x0a
 *     8   4  format version: 2 for an oracle, 1 for a store (whose
 *            records are the same in both versions)
 *    12   4  flags: bit 0 set when an oracle writes the journal
 *    16   8  n, the number of items
 *    24   8  fingerprint of the oracle's options (0 for a store)
 *    32   4  CRC-32C of bytes 0 to 31
 *
 *   then records, 9 + len bytes each:
 *     0   4  len, the payload's length in bytes
 *     4   1  type
 *     5 len  payload
 *  5+len  4  CRC-32C of bytes 0 to 4 + len (length, type and payload)
 *
 *   payloads (items and counts as 4-byte unsigned integers):
 *     1 answer  i, j, answer (1 byte)                       9 bytes
 *     2 screen  flags (1 byte), anchor, m, m candidates,
 *               m answers (1 byte each)                 9 + 5 m bytes
 *     3 cancel  flags (1 byte), anchor, m, m candidates 9 + 4 m bytes
 *     4 ssl     flags (1 byte), sample                      5 bytes
 *     5 stop    flags (1 byte), reason (1 byte)               2 bytes
 *     6 priors  flags (1 byte), k, k values (8 bytes each,
 *               IEEE 754 binary64)                      5 + 8 k bytes
 *
 * Version 2 added the stop and priors records. Both versions are read, and a
 * record of version 2 is accepted whatever the header says: a journal
 * of version 1 that this library goes on writing keeps its header.
 *
 * A record is appended with one write at the end of the valid journal.
 * Reading stops at the first record that is cut short or whose checksum
 * fails: that is the tail a writer left when it died, or damage, and it
 * is cut off once the records before it have replayed. A record whose
 * checksum holds but whose content is impossible was not written by this
 * format: the open fails with PAL_E_FORMAT and leaves the file alone.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

#define HEADER_SIZE 36
#define FRAME_SIZE 9          /* length, type and checksum */
#define FORMAT_VERSION 2u    /* the latest; read back to version 1 */
#define FLAG_ORACLE 1u
#define READ_CHUNK 65536

static const unsigned char magic[8] = {0x89, 'P', 'A', 'L',
                                       'J',  'R', 'N', 0x0a};

struct pal__jn {
    pal_allocator_t alloc;
    int fd;
    pal__jn_spec_t spec;
    int64_t end;             /* length of the valid journal */
    bool dirty;              /* a failed write may have left bytes past end */
    uint32_t max_payload;    /* the largest record but priors */
    uint32_t max_record;     /* the largest record, priors included */
    unsigned char *buf;      /* one encoded record of buf_cap bytes: the
                                largest but priors, or a priors record */
    size_t buf_cap;
    pal__jn_rec_t stage;     /* records to append, and records decoded */
    double *priors;          /* the decoded priors (priors_cap values) */
    int64_t priors_cap;
};

/* ---- Checksums and fingerprints ----------------------------------------- */

/* CRC-32C, reflected polynomial 0x82f63b78: crc_table[b] is the
 * remainder of the byte b shifted through eight rounds of division. */
static const uint32_t crc_table[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u,
    0xc79a971fu, 0x35f1141cu, 0x26a1e7e8u, 0xd4ca64ebu,
    0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
    0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u,
    0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu,
    0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
    0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u,
    0x5d1d08bfu, 0xaf768bbcu, 0xbc267848u, 0x4e4dfb4bu,
    0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
    0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u,
    0xaa64d611u, 0x580f5512u, 0x4b5fa6e6u, 0xb93425e5u,
    0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
    0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u,
    0xf779deaeu, 0x05125dadu, 0x1642ae59u, 0xe4292d5au,
    0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
    0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u,
    0x417b1dbcu, 0xb3109ebfu, 0xa0406d4bu, 0x522bee48u,
    0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
    0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u,
    0x0c38d26cu, 0xfe53516fu, 0xed03a29bu, 0x1f682198u,
    0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u,
    0xdbfc821cu, 0x2997011fu, 0x3ac7f2ebu, 0xc8ac71e8u,
    0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
    0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u,
    0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u,
    0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
    0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u,
    0x7198540du, 0x83f3d70eu, 0x90a324fau, 0x62c8a7f9u,
    0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
    0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u,
    0x3cdb9bddu, 0xceb018deu, 0xdde0eb2au, 0x2f8b6829u,
    0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
    0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u,
    0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
    0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
    0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u,
    0x55326b08u, 0xa759e80bu, 0xb4091bffu, 0x466298fcu,
    0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
    0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u,
    0xa24bb5a6u, 0x502036a5u, 0x4370c551u, 0xb11b4652u,
    0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du,
    0xef087a76u, 0x1d63f975u, 0x0e330a81u, 0xfc588982u,
    0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
    0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u,
    0x38cc2a06u, 0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u,
    0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
    0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u,
    0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu,
    0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
    0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u,
    0xd3d3e1abu, 0x21b862a8u, 0x32e8915cu, 0xc083125fu,
    0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
    0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u,
    0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu,
    0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
    0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u,
    0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u, 0x7ab90321u,
    0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
    0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u,
    0x34f4f86au, 0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu,
    0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t pal__jn_crc32c(uint32_t crc, const void *p, size_t len)
{
    const unsigned char *b = p;

    crc = ~crc;
    for (size_t k = 0; k < len; k++)
        crc = crc_table[(crc ^ b[k]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* FNV-1a over the eight bytes of v, lowest first. */
uint64_t pal__jn_fold(uint64_t h, uint64_t v)
{
    for (int k = 0; k < 8; k++) {
        h ^= (v >> (8 * k)) & 0xffu;
        h *= 0x100000001b3u;
    }
    return h;
}

/* ---- Little-endian fields ------------------------------------------------ */

static void put32(unsigned char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int k = 7; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

static uint64_t double_bits(double x)
{
    uint64_t u;

    memcpy(&u, &x, sizeof u);
    return u;
}

static double bits_double(uint64_t u)
{
    double x;

    memcpy(&x, &u, sizeof x);
    return x;
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;

    for (int k = 3; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

/* ---- System calls, retried when a signal interrupts them ----------------- */

static int write_all(int fd, const unsigned char *p, size_t len, int64_t at)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)at);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return PAL_E_IO;
        p += w;
        len -= (size_t)w;
        at += w;
    }
    return PAL_OK;
}

/* Read up to len bytes at offset at; *got < len only at the end. */
static int read_some(int fd, unsigned char *p, size_t len, int64_t at,
                     size_t *got)
{
    *got = 0;
    while (*got < len) {
        ssize_t r = pread(fd, p + *got, len - *got, (off_t)(at + *got));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return PAL_E_IO;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return PAL_OK;
}

static int cut(int fd, int64_t length)
{
    int rc;

    do
        rc = ftruncate(fd, (off_t)length);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? PAL_OK : PAL_E_IO;
}

static int flush(int fd)
{
    int rc;

    do
        rc = fdatasync(fd);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? PAL_OK : PAL_E_IO;
}

/*
 * The directory holding path, as a new string: flushing it makes a new
 * file's name durable.
 */
static char *dir_of(const pal_allocator_t *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    char *dir = pal__alloc(a, len + 2);

    if (!dir)
        return NULL;
    if (!slash)
        memcpy(dir, ".", 2);
    else if (len == 0)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    return dir;
}

/* File systems that cannot flush a directory (EINVAL) are taken at their
 * word. */
static int flush_dir(const char *dir)
{
    int fd, rc;

    do
        fd = open(dir, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return PAL_E_IO;
    do
        rc = fsync(fd);
    while (rc != 0 && errno == EINTR);
    rc = rc == 0 || errno == EINVAL ? PAL_OK : PAL_E_IO;
    close(fd);
    return rc;
}

/* ---- The header ---------------------------------------------------------- */

/* The version a new journal gets: the first that has every record its
 * writer may append (a store's answers are those of version 1). */
static uint32_t version_of(const pal__jn_spec_t *spec)
{
    return spec->kind == PAL__JN_ORACLE ? FORMAT_VERSION : 1u;
}

static void header_encode(const pal__jn_spec_t *spec, unsigned char *h)
{
    memcpy(h, magic, sizeof magic);
    put32(h + 8, version_of(spec));
    put32(h + 12, spec->kind == PAL__JN_ORACLE ? FLAG_ORACLE : 0u);
    put64(h + 16, (uint64_t)spec->n);
    put64(h + 24, spec->fingerprint);
    put32(h + 32, pal__jn_crc32c(0, h, 32));
}

/*
 * Check the first len bytes of a header against the one spec would
 * write. Magic first, then the version, since a later version may lay
 * out the rest differently; the checksum only when it is all there. A
 * whole header may have any version read here; a header cut short (its
 * writer died while writing it) must be the start of the very header
 * spec would write, since it is replaced by that one.
 */
static int header_check(const pal__jn_spec_t *spec, const unsigned char *h,
                        size_t len)
{
    unsigned char want[HEADER_SIZE];
    uint32_t version;
    size_t k;

    header_encode(spec, want);
    k = len < sizeof magic ? len : sizeof magic;
    if (memcmp(h, want, k) != 0)
        return PAL_E_FORMAT;
    if (len < 12)
        return memcmp(h, want, len) == 0 ? PAL_OK : PAL_E_VERSION;
    version = get32(h + 8);
    if (version < 1 || version > FORMAT_VERSION ||
        (len < HEADER_SIZE && version != version_of(spec)))
        return PAL_E_VERSION;
    if (len == HEADER_SIZE && get32(h + 32) != pal__jn_crc32c(0, h, 32))
        return PAL_E_FORMAT;
    if (len >= 16 && (get32(h + 12) & ~FLAG_ORACLE) != 0)
        return PAL_E_VERSION;
    put32(want + 8, version);
    return memcmp(h, want, len < HEADER_SIZE ? len : 32) == 0 ? PAL_OK
                                                             : PAL_E_FORMAT;
}

/* ---- Records ------------------------------------------------------------- */

static size_t payload_size(int type, int64_t m)
{
    switch (type) {
    case PAL__JN_ANSWER:
        return 9;
    case PAL__JN_SCREEN:
    case PAL__JN_VOTE:
        return 9 + 5 * (size_t)m;
    case PAL__JN_CANCEL:
        return 9 + 4 * (size_t)m;
    case PAL__JN_UNDO:
        return 8;
    case PAL__JN_STOP:
        return 2;
    case PAL__JN_PRIORS:
        return 5 + 8 * (size_t)m;
    default:
        return 5;
    }
}

/* Encode rec into jn->buf; returns the record's length in bytes. */
static size_t record_encode(pal__jn_t *jn, const pal__jn_rec_t *rec)
{
    unsigned char *p = jn->buf, *q = p + 5;
    size_t len = payload_size(rec->type, rec->m);

    put32(p, (uint32_t)len);
    p[4] = (unsigned char)rec->type;
    if (rec->type == PAL__JN_ANSWER) {
        put32(q, (uint32_t)rec->a);
        put32(q + 4, (uint32_t)rec->b);
        q[8] = rec->ans[0];
    } else if (rec->type == PAL__JN_UNDO) {
        put32(q, (uint32_t)((uint64_t)rec->a & 0xffffffffu));
        put32(q + 4, (uint32_t)((uint64_t)rec->a >> 32));
    } else if (rec->type == PAL__JN_STOP) {
        q[0] = (unsigned char)rec->flags;
        q[1] = (unsigned char)rec->a;
    } else if (rec->type == PAL__JN_PRIORS) {
        q[0] = (unsigned char)rec->flags;
        put32(q + 1, (uint32_t)rec->m);
        for (int64_t k = 0; k < rec->m; k++)
            put64(q + 5 + 8 * k, double_bits(rec->priors[k]));
    } else {
        q[0] = (unsigned char)rec->flags;
        put32(q + 1, (uint32_t)rec->a);
    }
    if (rec->type == PAL__JN_SCREEN || rec->type == PAL__JN_CANCEL ||
        rec->type == PAL__JN_VOTE) {
        put32(q + 5, (uint32_t)rec->m);
        for (int64_t k = 0; k < rec->m; k++)
            put32(q + 9 + 4 * k, (uint32_t)rec->cand[k]);
        if (rec->type != PAL__JN_CANCEL)
            memcpy(q + 9 + 4 * rec->m, rec->ans, (size_t)rec->m);
    }
    put32(q + len, pal__jn_crc32c(0, p, 5 + len));
    return FRAME_SIZE + len;
}

static bool item_ok(const pal__jn_t *jn, uint32_t v)
{
    return (int64_t)v < jn->spec.n;
}

/*
 * The priors of a record of m values at payload q, into jn->stage: each
 * finite and > 0, and only the flag PAL__JN_LATER. Room for them is
 * made as needed (PAL_E_NOMEM).
 */
static int priors_decode(pal__jn_t *jn, const unsigned char *q, uint32_t m)
{
    pal__jn_rec_t *rec = &jn->stage;

    if ((q[0] & ~(unsigned)PAL__JN_LATER) != 0)
        return PAL_E_FORMAT;
    if ((int64_t)m > jn->priors_cap) {
        double *p = pal__alloc_array(&jn->alloc, m, sizeof *p);

        if (!p)
            return PAL_E_NOMEM;
        pal__free(&jn->alloc, jn->priors);
        jn->priors = p;
        jn->priors_cap = m;
    }
    rec->type = PAL__JN_PRIORS;
    rec->flags = q[0];
    rec->m = m;
    rec->priors = jn->priors;
    for (uint32_t k = 0; k < m; k++) {
        double v = bits_double(get64(q + 5 + 8 * (size_t)k));

        /* Finite and > 0; NaN fails the first test. */
        if (!(v > 0.0) || v > DBL_MAX)
            return PAL_E_FORMAT;
        jn->priors[k] = v;
    }
    return PAL_OK;
}

/*
 * Decode an intact record (its checksum holds) into jn->stage, checking
 * that it makes sense for this journal: PAL_E_FORMAT otherwise.
 */
static int record_decode(pal__jn_t *jn, const unsigned char *p)
{
    pal__jn_rec_t *rec = &jn->stage;
    const unsigned char *q = p + 5;
    uint32_t len = get32(p), m = 0;
    int type = p[4];

    if (jn->spec.kind == PAL__JN_STORE ? type != PAL__JN_ANSWER &&
                                             type != PAL__JN_UNDO
                                       : (type < PAL__JN_SCREEN ||
                                          type > PAL__JN_PRIORS) &&
                                             type != PAL__JN_VOTE &&
                                             type != PAL__JN_UNDO)
        return PAL_E_FORMAT;
    if (type == PAL__JN_SCREEN || type == PAL__JN_CANCEL ||
        type == PAL__JN_VOTE) {
        if (len < 9)
            return PAL_E_FORMAT;
        m = get32(q + 5);
        if (m < 1 || (int64_t)m > jn->spec.max_m)
            return PAL_E_FORMAT;
    }
    if (type == PAL__JN_PRIORS) {
        if (len < 5)
            return PAL_E_FORMAT;
        m = get32(q + 1);
        if ((int64_t)m > jn->spec.max_priors)
            return PAL_E_FORMAT;
    }
    if (len != payload_size(type, m))
        return PAL_E_FORMAT;
    if (type == PAL__JN_PRIORS)
        return priors_decode(jn, q, m);

    rec->type = type;
    rec->m = m;
    rec->priors = NULL;
    if (type == PAL__JN_UNDO) {
        uint64_t c = (uint64_t)get32(q) | (uint64_t)get32(q + 4) << 32;

        rec->flags = 0;
        rec->a = (int64_t)(c & INT64_MAX);
        rec->b = 0;
        return c >= 1 && c <= INT64_MAX ? PAL_OK : PAL_E_FORMAT;
    }
    if (type == PAL__JN_ANSWER) {
        rec->flags = 0;
        rec->a = get32(q);
        rec->b = get32(q + 4);
        rec->ans[0] = q[8];
        return item_ok(jn, get32(q)) && item_ok(jn, get32(q + 4)) &&
                       q[8] <= 2
                   ? PAL_OK
                   : PAL_E_FORMAT;
    }
    rec->flags = q[0];
    if (type == PAL__JN_STOP) {
        /* A reason other than PAL_STOP_NONE, and no flag. */
        rec->a = q[1];
        return rec->flags == 0 && rec->a >= PAL_STOP_COMPLETE &&
                       rec->a <= PAL_STOP_SAMPLER
                   ? PAL_OK
                   : PAL_E_FORMAT;
    }
    rec->a = get32(q + 1);
    if ((rec->flags & ~(unsigned)(PAL__JN_REGS | PAL__JN_GUIDED |
                                  PAL__JN_COARSE)) != 0 ||
        (type == PAL__JN_CANCEL && (rec->flags & PAL__JN_REGS) != 0) ||
        (type == PAL__JN_SSL &&
         (rec->flags & (PAL__JN_GUIDED | PAL__JN_COARSE)) != 0) ||
        (type == PAL__JN_VOTE &&
         (rec->flags & (PAL__JN_GUIDED | PAL__JN_COARSE)) != 0) ||
        !item_ok(jn, get32(q + 1)))
        return PAL_E_FORMAT;
    for (size_t k = 0; k < m; k++) {
        uint32_t c = get32(q + 9 + 4 * k);

        if (!item_ok(jn, c))
            return PAL_E_FORMAT;
        rec->cand[k] = c;
    }
    if (type == PAL__JN_SCREEN || type == PAL__JN_VOTE) {
        memcpy(rec->ans, q + 9 + 4 * (size_t)m, m);
        for (size_t k = 0; k < m; k++)
            if (rec->ans[k] > 2)
                return PAL_E_FORMAT;
    }
    return PAL_OK;
}

/* ---- Opening ------------------------------------------------------------- */

static void jn_free(pal__jn_t *jn)
{
    pal__free(&jn->alloc, jn->buf);
    pal__free(&jn->alloc, jn->stage.cand);
    pal__free(&jn->alloc, jn->stage.ans);
    pal__free(&jn->alloc, jn->priors);
    pal__free(&jn->alloc, jn);
}

static int jn_alloc(pal__jn_t **out, const pal__jn_spec_t *spec,
                    const pal_allocator_t *alloc)
{
    int64_t m = spec->max_m > 0 ? spec->max_m : 1;
    uint64_t payload;
    pal__jn_t *jn;

    /* The largest record this journal's writer makes: a store's answer,
     * an SSL oracle's step, another oracle's largest screen. A record's
     * length is a 4-byte field. */
    payload = spec->kind == PAL__JN_STORE ? 9
              : spec->max_m == 0          ? 5
                                          : 9 + 5 * (uint64_t)m;
    if (payload > UINT32_MAX - FRAME_SIZE ||
        spec->max_priors > PAL__JN_MAX_PRIORS)
        return PAL_E_NOMEM;
    jn = pal__alloc(alloc, sizeof *jn);
    if (!jn)
        return PAL_E_NOMEM;
    memset(jn, 0, sizeof *jn);
    jn->alloc = *alloc;
    jn->fd = -1;
    jn->spec = *spec;
    jn->max_payload = (uint32_t)payload;
    /* Priors records may be longer; room for one is made when needed. */
    jn->max_record = (uint32_t)payload;
    if (spec->max_priors > 0 && 5 + 8 * (uint64_t)spec->max_priors > payload)
        jn->max_record = (uint32_t)(5 + 8 * (uint64_t)spec->max_priors);
    jn->buf_cap = (size_t)payload + FRAME_SIZE;
    jn->buf = pal__alloc(alloc, jn->buf_cap);
    jn->stage.cand = pal__alloc_array(alloc, (size_t)m,
                                      sizeof *jn->stage.cand);
    jn->stage.ans = pal__alloc(alloc, (size_t)m);
    if (!jn->buf || !jn->stage.cand || !jn->stage.ans) {
        jn_free(jn);
        return PAL_E_NOMEM;
    }
    *out = jn;
    return PAL_OK;
}

/*
 * Write the header of a new journal over whatever the file holds. dir,
 * when not NULL, is the directory to flush after the file.
 */
static int start(pal__jn_t *jn, const char *dir)
{
    unsigned char h[HEADER_SIZE];
    int rc;

    header_encode(&jn->spec, h);
    rc = write_all(jn->fd, h, sizeof h, 0);
    if (rc == PAL_OK && jn->spec.sync)
        rc = flush(jn->fd);
    if (rc == PAL_OK && dir)
        rc = flush_dir(dir);
    if (rc == PAL_OK)
        jn->end = HEADER_SIZE;
    return rc;
}

/* Move the unread bytes [at, have) to the front of buf and read more
 * after them, from file offset *next. */
static int refill(pal__jn_t *jn, unsigned char *buf, size_t cap,
                  size_t *at, size_t *have, int64_t *next)
{
    size_t got;
    int rc;

    memmove(buf, buf + *at, *have - *at);
    *have -= *at;
    *at = 0;
    rc = read_some(jn->fd, buf + *have, cap - *have, *next, &got);
    *next += (int64_t)got;
    *have += got;
    return rc;
}

/*
 * Read the records after the header of a file of size bytes, replaying
 * each intact one, up to the end or the first damaged record. *good
 * receives the length of the intact part.
 */
static int read_records(pal__jn_t *jn, int64_t size, pal__jn_replay_fn replay,
                        void *ctx, pal__jn_found_t *found, int64_t *good)
{
    size_t cap = (size_t)jn->max_payload + FRAME_SIZE, have = 0, at = 0;
    int64_t pos = HEADER_SIZE, next = HEADER_SIZE;
    unsigned char *buf;
    int rc = PAL_OK;

    /* One record of the largest size always fits. */
    cap = cap > READ_CHUNK ? cap : READ_CHUNK;
    buf = pal__alloc(&jn->alloc, cap);
    if (!buf)
        return PAL_E_NOMEM;
    while (pos < size) {
        size_t len, total;

        if (have - at < FRAME_SIZE && next < size) {
            rc = refill(jn, buf, cap, &at, &have, &next);
            if (rc != PAL_OK)
                break;
        }
        if (have - at < FRAME_SIZE)
            break;
        len = get32(buf + at);
        if (len > jn->max_record)
            break;
        total = FRAME_SIZE + len;
        if (total > cap) {
            /* A priors record larger than the buffer: room for it, if
             * the file holds it at all. */
            unsigned char *big;

            if (pos + (int64_t)total > size)
                break;
            big = pal__alloc(&jn->alloc, total);
            if (!big) {
                rc = PAL_E_NOMEM;
                break;
            }
            memcpy(big, buf + at, have - at);
            have -= at;
            at = 0;
            pal__free(&jn->alloc, buf);
            buf = big;
            cap = total;
        }
        if (have - at < total && next < size) {
            rc = refill(jn, buf, cap, &at, &have, &next);
            if (rc != PAL_OK)
                break;
        }
        if (have - at < total ||
            get32(buf + at + 5 + len) != pal__jn_crc32c(0, buf + at, 5 + len))
            break;

        rc = record_decode(jn, buf + at);
        if (rc == PAL_OK)
            rc = replay(ctx, &jn->stage);
        if (rc != PAL_OK)
            break;
        found->records++;
        found->answers += jn->stage.type == PAL__JN_ANSWER ? 1
                          : jn->stage.type == PAL__JN_SCREEN ||
                                  jn->stage.type == PAL__JN_VOTE
                              ? jn->stage.m
                              : 0;
        at += total;
        pos += (int64_t)total;
    }
    pal__free(&jn->alloc, buf);
    *good = pos;
    return rc;
}

int pal__jn_open(pal__jn_t **out, const char *path,
                 const pal__jn_spec_t *spec, const pal_allocator_t *alloc,
                 pal__jn_replay_fn replay, void *ctx, pal__jn_found_t *found)
{
    unsigned char h[HEADER_SIZE];
    pal__jn_t *jn = NULL;
    char *dir = NULL;
    struct stat st;
    int64_t good = 0;
    size_t got = 0;
    int rc;

    memset(found, 0, sizeof *found);
    rc = jn_alloc(&jn, spec, alloc);
    if (rc != PAL_OK)
        return rc;
    if (spec->sync) {
        dir = dir_of(alloc, path);
        if (!dir) {
            jn_free(jn);
            return PAL_E_NOMEM;
        }
    }
    do
        jn->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    while (jn->fd < 0 && errno == EINTR);
    if (jn->fd < 0 || fstat(jn->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = PAL_E_IO;
        goto fail;
    }

    rc = read_some(jn->fd, h, sizeof h, 0, &got);
    if (rc == PAL_OK && got > 0)
        rc = header_check(spec, h, got);
    if (rc != PAL_OK)
        goto fail;

    if (got < HEADER_SIZE) {
        /* Empty, or the start of this very header (its writer died
         * while writing it): a new journal. */
        rc = start(jn, dir);
        if (rc != PAL_OK) {
            cut(jn->fd, (int64_t)got);
            goto fail;
        }
        found->created = 1;
        found->bytes_cut = (int64_t)got;
        found->bytes_kept = HEADER_SIZE;
    } else {
        rc = read_records(jn, (int64_t)st.st_size, replay, ctx, found,
                          &good);
        if (rc == PAL_OK && good < (int64_t)st.st_size)
            rc = cut(jn->fd, good);
        if (rc != PAL_OK)
            goto fail;
        jn->end = good;
        found->bytes_kept = good;
        found->bytes_cut = (int64_t)st.st_size - good;
    }
    pal__free(alloc, dir);
    *out = jn;
    return PAL_OK;

fail:
    if (jn->fd >= 0)
        close(jn->fd);
    jn_free(jn);
    pal__free(alloc, dir);
    memset(found, 0, sizeof *found);
    return rc;
}

/* ---- Appending and closing ----------------------------------------------- */

pal__jn_rec_t *pal__jn_stage(pal__jn_t *jn)
{
    return &jn->stage;
}

int pal__jn_append(pal__jn_t *jn, const pal__jn_rec_t *rec)
{
    size_t len = FRAME_SIZE + payload_size(rec->type, rec->m);
    int rc;

    /* Only a priors record may need more room than the buffer has. */
    if (len > jn->buf_cap) {
        unsigned char *big = pal__alloc(&jn->alloc, len);

        if (!big)
            return PAL_E_NOMEM;
        pal__free(&jn->alloc, jn->buf);
        jn->buf = big;
        jn->buf_cap = len;
    }

    /* Bytes a failed write left past the end go first, so that a record
     * never follows garbage. */
    if (jn->dirty) {
        if (cut(jn->fd, jn->end) != PAL_OK)
            return PAL_E_IO;
        jn->dirty = false;
    }
    len = record_encode(jn, rec);
    rc = write_all(jn->fd, jn->buf, len, jn->end);
    if (rc == PAL_OK && jn->spec.sync)
        rc = flush(jn->fd);
    if (rc != PAL_OK) {
        jn->dirty = cut(jn->fd, jn->end) != PAL_OK;
        return PAL_E_IO;
    }
    jn->end += (int64_t)len;
    return PAL_OK;
}

int pal__jn_append_answers(pal__jn_t *jn, int64_t count, const int64_t *a,
                           const int64_t *b, const pal_answer_t *ans)
{
    int64_t end0 = jn->end;
    int rc = PAL_OK;

    if (jn->dirty) {
        if (cut(jn->fd, jn->end) != PAL_OK)
            return PAL_E_IO;
        jn->dirty = false;
    }
    for (int64_t k = 0; k < count && rc == PAL_OK; k++) {
        unsigned char code = (unsigned char)ans[k];
        pal__jn_rec_t rec = {PAL__JN_ANSWER, 0, a[k], b[k], 0, NULL, &code,
                             NULL};
        size_t len = record_encode(jn, &rec);

        rc = write_all(jn->fd, jn->buf, len, jn->end);
        if (rc == PAL_OK)
            jn->end += (int64_t)len;
    }
    if (rc == PAL_OK && jn->spec.sync)
        rc = flush(jn->fd);
    if (rc != PAL_OK) {
        jn->end = end0;
        jn->dirty = cut(jn->fd, end0) != PAL_OK;
        return PAL_E_IO;
    }
    return PAL_OK;
}

int pal__jn_close(pal__jn_t *jn, bool flush_first)
{
    int rc = PAL_OK;

    if (!jn)
        return PAL_OK;
    if (flush_first)
        rc = flush(jn->fd);
    if (close(jn->fd) != 0 && errno != EINTR)
        rc = PAL_E_IO;
    jn_free(jn);
    return rc;
}
