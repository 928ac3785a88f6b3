/*
 * Helpers shared by the test suites: seeded random data, brute-force
 * references and tolerance checks.
 */
#ifndef PAL_TESTUTIL_H
#define PAL_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal/pal.h"

/* The seed of this run: PAL_TEST_SEED if set, else a fixed default. */
uint64_t test_seed(void);

/* A small deterministic generator for test data. */
typedef struct trng {
    uint64_t s;
} trng_t;

void trng_seed(trng_t *r, uint64_t seed);
uint64_t trng_next(trng_t *r);
double trng_unit(trng_t *r);            /* [0, 1) */
double trng_normal(trng_t *r);          /* standard normal */
int64_t trng_below(trng_t *r, int64_t n);

/* Fill an n x k row-major double matrix with stride ld with N(0, s^2). */
void fill_normal(trng_t *r, double *z, int64_t n, int64_t k, int64_t ld,
                 double s);

/* Copy an n x k double matrix (stride ld) to float (stride ldf). */
void to_float(const double *z, int64_t n, int64_t k, int64_t ld, float *f,
              int64_t ldf);

/* |a - b| <= atol + rtol |b|. */
int close_enough(double a, double b, double rtol, double atol);

/* Assert that two scalars agree, with a message naming what. */
#define ck_close(a, b, rtol, atol, what)                                   \
    do {                                                                   \
        double a_ = (a), b_ = (b);                                         \
        ck_assert_msg(close_enough(a_, b_, (rtol), (atol)),                \
                      "%s: %.17g vs %.17g (diff %.3g)", (what), a_, b_,    \
                      a_ - b_);                                            \
    } while (0)

/* Largest |a_ij - b_ij| / (atol + rtol * max|b|) over two matrices; <= 1
 * means they agree. */
double mat_err(const double *a, int64_t lda, const double *b, int64_t ldb,
               int64_t n, int64_t k, double rtol, double atol);

/* Assert status equality with names in the message. */
#define ck_status(got, want)                                               \
    do {                                                                   \
        int g_ = (got), w_ = (want);                                       \
        ck_assert_msg(g_ == w_, "status %s (%d), expected %s (%d)",        \
                      pal_status_name(g_), g_, pal_status_name(w_), w_);   \
    } while (0)

#endif /* PAL_TESTUTIL_H */
