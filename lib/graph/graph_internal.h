/*
 * The graph object's layout and the operations the losses need: products
 * with an n x k matrix, and the summaries recorded when terms are added.
 */
#ifndef PAL_GRAPH_INTERNAL_H
#define PAL_GRAPH_INTERNAL_H

#include "core/internal.h"
#include "pal/graph.h"

enum pal__term_kind {
    PAL__DENSE,
    PAL__CSR,
    PAL__BLOCK, /* labels, blocks and the constant term */
    PAL__IDENT  /* identity and diagonal terms */
};

/* A sparse square matrix in CSR form with its own storage. */
typedef struct pal__csr {
    int64_t *ptr;    /* rows + 1 */
    int32_t *idx;    /* ptr[rows] column indices, sorted in each row */
    double *val;     /* values */
    int64_t *pos;    /* for a transpose: position of each entry in the
                        original value array; NULL otherwise */
} pal__csr_t;

typedef struct pal__term {
    int kind;
    double w;          /* the term's weight */

    /* Dense: the caller's array. */
    pal_dtype_t dtype;
    const void *a;
    int64_t lda;

    /* CSR: the caller's arrays, plus an owned transpose (NULL when the
     * matrix is symmetric). vals may be NULL (all ones). */
    int64_t nnz;
    const int64_t *rowptr;
    const int32_t *colidx;
    const void *vals;
    pal__csr_t tr;

    /* Block: G_ij = W[y_i][y_j]. y == NULL means every item is in class
     * 0 (the constant term). Labels are compacted to 0..nc-1; -1 stays
     * unknown. W == identity when wid; otherwise W and its transpose are
     * owned CSR matrices over classes. count[c] is the class size. */
    int32_t *y;
    int32_t nc;
    bool wid;
    pal__csr_t W, WT;
    int64_t *count;

    /* Diagonal: the values on the diagonal (owned); NULL for the
     * identity. */
    double *d;

    /* Summaries. */
    double self;       /* <T, T>_F without the weight */
    double lo, hi;     /* smallest and largest entry (implicit zeros
                          included) without the weight */
    bool symmetric;
} pal__term_t;

struct pal_graph {
    pal_allocator_t alloc;
    int64_t n;
    pal__term_t *terms;
    int64_t nterms, cap;
    double *diag, *rowsum, *colsum;
    double frob2;
};

/* Entry (i, j) of a term, without its weight. O(log) at worst. */
double pal__term_entry(const pal__term_t *t, int64_t i, int64_t j);

/* G_ij: the terms' entries, weighted and summed in order. O(terms). */
double pal__graph_entry(const pal_graph_t *g, int64_t i, int64_t j);

/* <T_a, T_b>_F of two terms of an n-item graph, without weights. May need
 * scratch memory: returns PAL_OK or PAL_E_NOMEM. */
int pal__term_frob(const pal_allocator_t *alloc, int64_t n,
                   const pal__term_t *ta, const pal__term_t *tb, double *out);

/* sum of (s T_ij)^2 over the term's entries, without the weight: its own
 * Frobenius product rescaled, for entries whose squares overflow. */
double pal__term_self_scaled(int64_t n, const pal__term_t *t, double s);

/* Release what a term owns. */
void pal__term_free(const pal_allocator_t *alloc, pal__term_t *t);

/* Bytes of workspace pal__graph_mul needs for k columns of dtype; the
 * _ex form leaves the dense terms out unless dense is set. */
size_t pal__graph_mul_ws(const pal_graph_t *g, pal_dtype_t dtype, int64_t k);
size_t pal__graph_mul_ws_ex(const pal_graph_t *g, pal_dtype_t dtype,
                            int64_t k, bool dense);

/*
 * Y = G X or G^T X (trans), X and Y n x k of dtype, already validated.
 * ws must hold pal__graph_mul_ws bytes. Cannot fail.
 */
void pal__graph_mul(pal_ctx_t *ctx, const pal_graph_t *g, int trans,
                    pal_dtype_t dtype, int64_t k, const void *x, int64_t ldx,
                    void *y, int64_t ldy, void *ws);

/* Y = (accumulate ? Y : 0) + alpha G X (or G^T X), leaving out the dense
 * terms of type skip_dense (0: none), which a loss handles elementwise
 * instead. */
void pal__graph_mul_ex(pal_ctx_t *ctx, const pal_graph_t *g, int trans,
                       pal_dtype_t dtype, int64_t k, const void *x,
                       int64_t ldx, void *y, int64_t ldy, void *ws,
                       pal_dtype_t skip_dense, double alpha, bool accumulate);

/*
 * Products through the transpose of the dense terms, without BLIS's
 * transposed operand: each thread forms blocks of rows x cols of the
 * matrix needed, in X's type, and multiplies them on its own. A plan
 * fixes the block size for a thread count and a room in bytes (the
 * largest block that fits, down to 8 x 8; SIZE_MAX for the default);
 * pal__panel_ws gives the bytes of the blocks of all the threads.
 */
enum { PAL__PANEL_SYM, PAL__PANEL_TRANS };

typedef struct pal__panel {
    int64_t rows, cols;
    int nt;
} pal__panel_t;

void pal__panel_plan(int64_t n, pal_dtype_t dtype, int nt, size_t room,
                     pal__panel_t *pl);
size_t pal__panel_ws(const pal__panel_t *pl, pal_dtype_t dtype);

/* Y = beta Y + sum over the dense terms of w (A + A^T) X (PAL__PANEL_SYM)
 * or w A^T X (PAL__PANEL_TRANS). pw holds pal__panel_ws bytes. The graph
 * must have a dense term. */
void pal__graph_dense_panels(const pal_graph_t *g, int mode,
                             const pal__panel_t *pl, pal_dtype_t dtype,
                             int64_t k, const void *x, int64_t ldx,
                             double beta, void *y, int64_t ldy, void *pw);

/* Y = (G + G^T) X (PAL__PANEL_SYM) or G^T X (PAL__PANEL_TRANS): the dense
 * terms by panels (pw as above), the others through their structure (ws:
 * pal__graph_mul_ws_ex without the dense terms) on pl->nt threads. With
 * no dense term, only pl->nt is read and pw may be NULL. */
void pal__graph_mul_panels(const pal_graph_t *g, int mode,
                           const pal__panel_t *pl, pal_dtype_t dtype,
                           int64_t k, const void *x, int64_t ldx, void *y,
                           int64_t ldy, void *pw, void *ws);

/* <X, G X> without an n x k output (the same terms left out). ws as for
 * pal__graph_mul. */
double pal__graph_quad(pal_ctx_t *ctx, const pal_graph_t *g,
                       pal_dtype_t dtype, int64_t k, const void *x,
                       int64_t ldx, void *ws, pal_dtype_t skip_dense);

/*
 * For a graph without dense or CSR terms, in two steps, so that a loss can
 * check its value before it writes its gradient: pal__graph_quad_prep
 * returns <X, G X> and keeps in prep (pal__graph_prep_ws bytes) each
 * block term's W Y^T X (plus W^T Y^T X when both); pal__graph_apply_prep
 * then writes y = alpha G X (alpha (G + G^T) X when both) from it, and
 * from X for the other terms, on nt threads. Block terms' class sums are
 * computed once for both; quad_prep's ws as for pal__graph_mul. The
 * class sums run over the rows in order whatever the thread count.
 */
size_t pal__graph_prep_ws(const pal_graph_t *g, int64_t k);
double pal__graph_quad_prep(pal_ctx_t *ctx, const pal_graph_t *g,
                            pal_dtype_t dtype, int64_t k, const void *x,
                            int64_t ldx, bool both, void *prep, void *ws);
void pal__graph_apply_prep(const pal_graph_t *g, pal_dtype_t dtype, int64_t k,
                           const void *x, int64_t ldx, double alpha, bool both,
                           const void *prep, void *y, int64_t ldy, int nt);

/* True when some term is dense (its products cost n^2 k). */
bool pal__graph_has_dense(const pal_graph_t *g);

/* True when some term is dense or CSR: its product reads rows of X all
 * over (n^2 k, or nnz k with random gathers), so a loss that needs the
 * product twice keeps it in an n x k buffer instead. */
bool pal__graph_has_gathers(const pal_graph_t *g);

/*
 * Class space of a block term T = Y W Y^T (nc classes): s = Y^T X, the
 * class sums of X (nc x k doubles); out = W s (or W^T s); Y rows: row i of
 * y becomes alpha rows[y_i] (0 for an unknown item). With them, T X =
 * Y W Y^T X and X^T T X = s^T W s cost O(n k + nc k^2) instead of n k per
 * product and n k^2 per Gram.
 */
void pal__block_sums(const pal__term_t *t, int64_t n, pal_dtype_t dtype,
                     int64_t k, const void *x, int64_t ldx, double *s, int nt);
void pal__block_mix(const pal__term_t *t, int trans, int64_t k,
                    const double *s, double *out);
void pal__block_scatter(const pal__term_t *t, int64_t n, pal_dtype_t dtype,
                        int64_t k, const double *rows, double alpha, void *y,
                        int64_t ldy, int nt);

/* True when some term is non-zero. */
bool pal__graph_nonzero(const pal_graph_t *g);

/* True when every dense and CSR value is finite (O(n^2 + nnz)). */
bool pal__graph_finite(const pal_graph_t *g);

/* True when G = G^T (every term symmetric). */
bool pal__graph_symmetric(const pal_graph_t *g);

/* True when every weighted term is non-negative. */
bool pal__graph_nonnegative(const pal_graph_t *g);

/*
 * Transactions on a batch. After pal__batch_begin returns PAL_OK (it may
 * fail with PAL_E_NOMEM, changing nothing), additions can be undone as a
 * whole by pal__batch_rollback, which restores the lists, the counters
 * and the sampling generator exactly; pal__batch_commit keeps them.
 */
int pal__batch_begin(pal_batch_t *b);
void pal__batch_rollback(pal_batch_t *b);
void pal__batch_commit(pal_batch_t *b);

/* Diagonal entry i of an identity or diagonal term, without weight. */
static inline double pal__diag_at(const pal__term_t *t, int64_t i)
{
    return t->d ? t->d[i] : 1.0;
}

/* Read element k of a float or double array. */
static inline double pal__get(pal_dtype_t t, const void *p, int64_t k)
{
    return t == PAL_F32 ? (double)((const float *)p)[k]
                        : ((const double *)p)[k];
}

#endif /* PAL_GRAPH_INTERNAL_H */
