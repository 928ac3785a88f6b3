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

/* ---- Counting allocator --------------------------------------------------
 * A pal_allocator_t that records the bytes it has handed out (live and
 * peak) and can be told to fail the fail_at-th allocation (1-based; 0 =
 * never), for memory bounds and allocation-failure tests.
 */
typedef struct talloc {
    size_t live, peak;
    long calls, live_blocks, fail_at;
} talloc_t;

pal_allocator_t talloc_make(talloc_t *t);

/* ---- Graphs known to the test ----------------------------------------------
 * A graph described term by term, which the test can both build as a
 * pal_graph_t and expand into a dense n x n double array by brute force,
 * straight from each term's definition in graph.h. The description owns
 * its arrays (dense and CSR terms are borrowed by the graph, so destroy
 * the graph before tg_free). Dense arrays have a row stride larger than
 * n, with NaN in the padding so that a read beyond a row shows up.
 */
enum tg_kind {
    TG_DENSE,
    TG_CSR,
    TG_LABELS,
    TG_BLOCKS,
    TG_CONST,
    TG_IDENT,
    TG_DIAG,
    TG_SSL,        /* pal_graph_ssl; first term only */
    TG_MIXTURE,    /* pal_graph_mixture; first term only */
    TG_SUPERVISED  /* pal_graph_supervised; first term only */
};

#define TG_MAX_TERMS 8

typedef struct tg_term {
    int kind;
    double w;
    pal_dtype_t dtype;       /* dense values, CSR values */
    void *a;                 /* dense: n x lda */
    int64_t lda;
    int64_t nnz;             /* CSR; vals NULL means all ones */
    int64_t *rowptr;
    int32_t *colidx;
    void *vals;
    int32_t *y;              /* labels, blocks, mixture; supervised: n0 */
    int64_t ne;              /* blocks: triples (ea, eb, ew) */
    int32_t *ea, *eb;
    double *ew;
    double *d;               /* diagonal values */
    int64_t views, repeats;  /* builders */
    int64_t *source;
    double alpha;
} tg_term_t;

typedef struct tgraph {
    int64_t n;
    int nterms;
    tg_term_t t[TG_MAX_TERMS];
} tgraph_t;

void tg_init(tgraph_t *tg, int64_t n);
void tg_free(tgraph_t *tg);

/* Random dense term: symmetric or not, entries in [0, 1) when nonneg,
 * else N(0, 1). */
void tg_dense(tgraph_t *tg, trng_t *r, double w, pal_dtype_t dtype, int sym,
              int nonneg);

/* Random CSR term: each entry present with probability density; values
 * of dtype, or none (all ones) when dtype is 0. */
void tg_csr(tgraph_t *tg, trng_t *r, double w, pal_dtype_t dtype,
            double density, int sym, int nonneg);

void tg_labels(tgraph_t *tg, double w, const int32_t *y);
void tg_blocks(tgraph_t *tg, double w, const int32_t *y, int64_t ne,
               const int32_t *a, const int32_t *b, const double *wv);
void tg_constant(tgraph_t *tg, double c);
void tg_identity(tgraph_t *tg, double c);
void tg_diagonal(tgraph_t *tg, double w, const double *d);

/* Builders (the first term only). source may be NULL (consecutive rows in
 * groups of views). For the supervised builder, y has n / repeats
 * entries. */
void tg_ssl(tgraph_t *tg, int64_t views, const int64_t *source);
void tg_mixture(tgraph_t *tg, double alpha, int64_t views,
                const int64_t *source, const int32_t *y);
void tg_supervised(tgraph_t *tg, const int32_t *y, int64_t repeats);

/* Build the graph through the library (every call must succeed). */
pal_graph_t *tg_build(const tgraph_t *tg);

/* The brute-force expansion: G (n x n, stride n) = sum of the terms. */
void tg_expand(const tgraph_t *tg, double *g);

/* The same for term t alone, with its weight. */
void tg_expand_term(const tgraph_t *tg, int t, double *g);

/* n labels drawn from `classes` non-contiguous values (7, 1000000,
 * INT32_MAX - 1, ...), each unknown (-1) with probability unknown. */
void random_labels(trng_t *r, int32_t *y, int64_t n, int classes,
                   double unknown);

/* The value of class c (0 <= c < 16) in random_labels. */
int32_t label_value(int c);

/* Round every entry of an n x k double matrix to float precision, so
 * that float32 and float64 runs see exactly the same input. */
void round_to_float(double *z, int64_t n, int64_t k, int64_t ld);

/* Copy an n x k float matrix (stride ldf) to double (stride ld). */
void to_double(const float *f, int64_t n, int64_t k, int64_t ldf, double *z,
               int64_t ld);

/* malloc that fails the test instead of returning NULL. */
void *xmalloc(size_t bytes);

#endif /* PAL_TESTUTIL_H */
