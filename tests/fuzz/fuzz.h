/*
 * What the fuzz targets share: the entry point's prototype, a reader that
 * turns the input bytes into sizes, choices and numbers (returning zeros
 * once the input is used up, so that every input is valid), a check that
 * stops the run, and an allocator that fails on request.
 *
 * A target never prints. A failed check aborts, so that libFuzzer (or the
 * replay driver) reports the input and the stack.
 */
#ifndef PAL_FUZZ_H
#define PAL_FUZZ_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pal/pal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless cond holds. */
#define FUZZ_CHECK(cond)        \
    do {                        \
        if (!(cond))            \
            abort();            \
    } while (0)

/* ---- Reading the input -------------------------------------------------- */

typedef struct fuzz_in {
    const uint8_t *p;
    size_t size, at;
} fuzz_in_t;

static inline void fuzz_in_init(fuzz_in_t *in, const uint8_t *p, size_t size)
{
    in->p = p;
    in->size = size;
    in->at = 0;
}

static inline int fuzz_left(const fuzz_in_t *in)
{
    return in->at < in->size;
}

static inline uint8_t fuzz_u8(fuzz_in_t *in)
{
    return in->at < in->size ? in->p[in->at++] : 0;
}

static inline uint16_t fuzz_u16(fuzz_in_t *in)
{
    uint16_t lo = fuzz_u8(in);

    return (uint16_t)(lo | (uint16_t)fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(fuzz_in_t *in)
{
    uint32_t lo = fuzz_u16(in);

    return lo | (uint32_t)fuzz_u16(in) << 16;
}

static inline uint64_t fuzz_u64(fuzz_in_t *in)
{
    uint64_t lo = fuzz_u32(in);

    return lo | (uint64_t)fuzz_u32(in) << 32;
}

/* A value in [0, bound), bound >= 1, from one byte (two when needed). */
static inline int64_t fuzz_below(fuzz_in_t *in, int64_t bound)
{
    if (bound <= 256)
        return (int64_t)(fuzz_u8(in) % (unsigned)bound);
    return (int64_t)(fuzz_u16(in) % (uint64_t)bound);
}

/* A value in [lo, hi]. */
static inline int64_t fuzz_range(fuzz_in_t *in, int64_t lo, int64_t hi)
{
    return lo + fuzz_below(in, hi - lo + 1);
}

/* Any double, bit for bit. */
static inline double fuzz_raw_f64(fuzz_in_t *in)
{
    uint64_t u = fuzz_u64(in);
    double d;

    memcpy(&d, &u, sizeof d);
    return d;
}

/*
 * A double that is usually small and exact (a multiple of 1/8 in
 * [-16, 16)), sometimes one of the values that break arithmetic, and
 * sometimes any bit pattern at all.
 */
static inline double fuzz_f64(fuzz_in_t *in)
{
    static const double special[] = {
        0.0,   -0.0,    1.0,     -1.0,    0.5,      2.0,    1e-300,
        -1e-300, 5e-324, 1e-30,  1e30,    -1e30,    1e300,  -1e300,
        1.7976931348623157e308,  3.4028234663852886e38, 1e-40, 0.1,
        NAN,   INFINITY, -INFINITY,
    };
    uint8_t b = fuzz_u8(in);

    if (b < 200)
        return (double)((int)fuzz_u8(in) - 128) / 8.0;
    if (b < 250)
        return special[(b - 200) % (sizeof special / sizeof *special)];
    return fuzz_raw_f64(in);
}

/* ---- Allocation failures -------------------------------------------------
 * An allocator that fails its fail_at-th call (1-based; 0 = never) and
 * every later call while sticky is set, and counts the blocks it has
 * handed out so that a target can check that nothing leaked.
 */
typedef struct fuzz_alloc {
    long calls, fail_at, live;
    int sticky;
} fuzz_alloc_t;

static inline void *fuzz_alloc_fn(void *user, size_t size)
{
    fuzz_alloc_t *a = user;
    void *p;

    a->calls++;
    if (a->fail_at > 0 &&
        (a->calls == a->fail_at || (a->sticky && a->calls > a->fail_at)))
        return NULL;
    p = malloc(size);
    if (p)
        a->live++;
    return p;
}

static inline void fuzz_free_fn(void *user, void *ptr)
{
    fuzz_alloc_t *a = user;

    a->live--;
    free(ptr);
}

static inline pal_allocator_t fuzz_allocator(fuzz_alloc_t *a)
{
    pal_allocator_t al;

    al.alloc = fuzz_alloc_fn;
    al.free = fuzz_free_fn;
    al.user = a;
    return al;
}

/* ---- Small helpers ------------------------------------------------------ */

/* Two doubles equal bit for bit, or both NaN. */
static inline int fuzz_same(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

#endif /* PAL_FUZZ_H */
