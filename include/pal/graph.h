/*
 * libpal: graph.h: similarity graphs and pair batches.
 *
 * A pal_graph_t is an N x N similarity graph G written as a weighted sum
 * of terms. Each term multiplies itself with an N x K matrix at its own
 * cost, so a loss costs what one product G Z costs:
 *
 *   term       G_ij                                   cost of G Z
 *   dense      A_ij (caller's array, borrowed)        N^2 K
 *   csr        A_ij (caller's CSR arrays, borrowed)   nnz K
 *   labels     1 if y_i = y_j >= 0, else 0            N K
 *   blocks     W[y_i][y_j] (sparse class weights)     (N + nnz(W)) K
 *   constant   c                                      N K
 *   identity   c if i = j, else 0                     N K
 *   diagonal   d_i if i = j, else 0 (d copied)        N K
 *
 * Labels and blocks are never expanded: a supervised or SSL graph costs
 * O(N) memory. Terms are added one by one; each addition is validated and
 * all-or-nothing. A graph is read-only for the losses: any number of
 * threads may use one graph at the same time, as long as none of them adds
 * a term meanwhile.
 *
 * Borrowed arrays (dense and CSR terms) must stay alive and unchanged
 * until the graph is destroyed. Label arrays are copied.
 *
 * A pal_batch_t is the pairwise form of the paper's eqs. 9-10 (see
 * loss.h): a list I of (i, j, g)
 * triples and a list J of (i, j) pairs, filled by the host or by an
 * oracle and consumed by pal_loss_pairs / pal_grad_pairs.
 */
#ifndef PAL_GRAPH_H
#define PAL_GRAPH_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pal_graph pal_graph_t;

/** Flags for pal_graph_add_dense and pal_graph_add_csr. */
enum {
    /* Scan the values for NaN and infinities and fail with
     * PAL_E_NONFINITE if one is found. Without it, non-finite weights
     * make the losses fail with PAL_E_NONFINITE when they are used. */
    PAL_GRAPH_CHECK_FINITE = 1u << 0
};

/**
 * Create an empty graph on n items (G = 0 until terms are added).
 * @param out    receives the graph; untouched on error.
 * @param n      number of items, 1 <= n <= INT32_MAX.
 * @param alloc  allocator for the graph, or NULL for malloc.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE, PAL_E_NOMEM.
 * Cost: O(n) memory for the graph's row sums and diagonal. Since 0.1.0.
 */
PAL_API int pal_graph_create(pal_graph_t **out, int64_t n,
                             const pal_allocator_t *alloc);

/** Destroy a graph. Borrowed arrays are not freed. Accepts NULL. */
PAL_API void pal_graph_destroy(pal_graph_t *g);

/**
 * Add weight * A, for a dense n x n array A (row-major, row stride lda),
 * borrowed, not copied.
 * @param dtype  PAL_F32 or PAL_F64; products with Z of the other type
 *               convert A in row blocks on the fly (a block of about
 *               min(n^2, 8 MiB) in Z's type, taken from the context's
 *               workspace: under a workspace limit below that, a loss
 *               on such a graph can fail with PAL_E_NOMEM where a term of
 *               Z's type would not).
 * @param flags  0 or PAL_GRAPH_CHECK_FINITE.
 * @return PAL_OK, PAL_E_NULL, PAL_E_TYPE, PAL_E_ALIGN, PAL_E_STRIDE
 *         (lda < n), PAL_E_SIZE (n * lda overflows), PAL_E_NONFINITE
 *         (weight, or values when checked), PAL_E_RANGE (unknown flag),
 *         PAL_E_NOMEM.
 * Cost: one O(n^2) pass over A to record its row sums, column sums,
 * diagonal, symmetry and Frobenius products with the other terms.
 */
PAL_API int pal_graph_add_dense(pal_graph_t *g, double weight,
                                pal_dtype_t dtype, const void *a,
                                int64_t lda, unsigned flags);

/**
 * Add weight * A for a sparse A in CSR form, borrowed, not copied.
 * rowptr has n + 1 entries, rowptr[0] = 0, non-decreasing, rowptr[n] =
 * nnz; colidx[p] is in [0, n). Within a row, column indices must be
 * strictly increasing: unsorted rows and duplicate entries are rejected
 * with PAL_E_CSR (sort and sum duplicates before adding).
 * @param values  nnz values of type dtype, or NULL for all ones.
 * @return PAL_OK, PAL_E_NULL, PAL_E_TYPE, PAL_E_SIZE (nnz < 0), PAL_E_CSR,
 *         PAL_E_NONFINITE, PAL_E_RANGE (unknown flag), PAL_E_NOMEM.
 * Cost: O(n + nnz) time; O(n + nnz) temporary memory to test symmetry.
 */
PAL_API int pal_graph_add_csr(pal_graph_t *g, double weight,
                              pal_dtype_t dtype, int64_t nnz,
                              const int64_t *rowptr, const int32_t *colidx,
                              const void *values, unsigned flags);

/**
 * Add weight * Y Y^T for labels y (n entries, copied): G_ij = weight when
 * y_i = y_j >= 0, else 0. A label of -1 means unknown: that item's row and
 * column are zero (including its diagonal entry). Labels may be any
 * non-negative int32 values; they need not be contiguous.
 * @return PAL_OK, PAL_E_NULL, PAL_E_INDEX (a label < -1),
 *         PAL_E_NONFINITE (weight), PAL_E_NOMEM.
 * Cost: O(n log n) once; O(n K) per product; O(n) memory.
 */
PAL_API int pal_graph_add_labels(pal_graph_t *g, double weight,
                                 const int32_t *labels);

/**
 * Add a block term: G_ij = weight * W[y_i][y_j] for labels y (n entries,
 * copied, -1 = unknown as above) and a sparse class-by-class matrix W
 * given as n_entries triples (a[e], b[e], w[e]). Labels and the a, b
 * class indices must be in [-1, INT32_MAX) and [0, INT32_MAX); repeated
 * (a, b) pairs are summed; W need not be symmetric.
 * This term expresses labels (W = I), known-different classes (W_ab = -1)
 * and soft class similarities at O((n + n_entries) K) per product.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE (n_entries < 0), PAL_E_INDEX,
 *         PAL_E_NONFINITE, PAL_E_NOMEM.
 */
PAL_API int pal_graph_add_blocks(pal_graph_t *g, double weight,
                                 const int32_t *labels, int64_t n_entries,
                                 const int32_t *a, const int32_t *b,
                                 const double *w);

/**
 * Add c to every entry (c 1 1^T). With a labels term it makes the
 * contrastive graph 2 Y Y^T - 1 1^T of the paper's Fig. 7.
 * @return PAL_OK, PAL_E_NULL, PAL_E_NONFINITE, PAL_E_NOMEM.
 */
PAL_API int pal_graph_add_constant(pal_graph_t *g, double c);

/** Add c to every diagonal entry (c I). Same codes as add_constant. */
PAL_API int pal_graph_add_identity(pal_graph_t *g, double c);

/**
 * Add weight * diag(d) for n values d (copied). With a block term W =
 * diag(1 / n_c) and d_i = -1 on the labelled items it makes the
 * within-class centring -(I - 1 1^T / n_c) of each class, whose VIC^2
 * term is the within-class variance: an invariance that pulls known
 * members together without rewarding their norm.
 * @return PAL_OK, PAL_E_NULL, PAL_E_NONFINITE (weight or a value),
 *         PAL_E_NOMEM. Cost: O(n) memory, O(n K) per product.
 * Since 0.1.0.
 */
PAL_API int pal_graph_add_diagonal(pal_graph_t *g, double weight,
                                   const double *d);

/* ---- Builders for the paper's graphs ------------------------------------
 * Each creates a new graph (out receives it; untouched on error).
 */

/**
 * Supervised graph (eqs. 6-7): labels of n0 samples, each repeated
 * `repeats` times consecutively (rows i * repeats + a, a < repeats, as
 * Y kron 1_A), so N = n0 * repeats. Label -1 marks an unknown sample.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE (n0 < 1, repeats < 1, or
 *         N > INT32_MAX), PAL_E_INDEX, PAL_E_NOMEM.
 */
PAL_API int pal_graph_supervised(pal_graph_t **out, int64_t n0,
                                 const int32_t *labels, int64_t repeats,
                                 const pal_allocator_t *alloc);

/**
 * Self-supervised graph (eq. 8): G_ij = 1 when rows i and j are views of
 * the same source sample. With source == NULL, rows come in consecutive
 * groups of `views` (n must be a multiple of views). Otherwise source[i]
 * (n entries, in [0, n)) names the sample of row i, in any order and any
 * number of views per sample; `views` is then ignored.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE, PAL_E_SHAPE (n not a multiple
 *         of views), PAL_E_INDEX, PAL_E_NOMEM.
 */
PAL_API int pal_graph_ssl(pal_graph_t **out, int64_t n, int64_t views,
                          const int64_t *source,
                          const pal_allocator_t *alloc);

/**
 * The mixture (1 - alpha) G_ssl + alpha Y Y^T of the paper's Fig. 4: the
 * SSL graph as in pal_graph_ssl and row labels (n entries, -1 = unknown).
 * @return as pal_graph_ssl, and PAL_E_RANGE (alpha outside [0, 1]).
 */
PAL_API int pal_graph_mixture(pal_graph_t **out, int64_t n, double alpha,
                              int64_t views, const int64_t *source,
                              const int32_t *labels,
                              const pal_allocator_t *alloc);

/* ---- Queries ------------------------------------------------------------
 * All O(1) unless stated; they do not modify the graph.
 */

/** Number of items n, or -1 if g is NULL. */
PAL_API int64_t pal_graph_n(const pal_graph_t *g);

/** Number of terms added so far, or -1 if g is NULL. */
PAL_API int64_t pal_graph_n_terms(const pal_graph_t *g);

/**
 * ||G||_F^2, the constant part of the VIC^2 loss, computed exactly from
 * the terms' pairwise Frobenius products when they were added.
 * @return PAL_OK, PAL_E_NULL.
 */
PAL_API int pal_graph_frobenius2(const pal_graph_t *g, double *out);

/** 1 if every term is symmetric (so G = G^T), else 0; 0 for NULL. */
PAL_API int pal_graph_is_symmetric(const pal_graph_t *g);

/**
 * 1 if every term with its weight has only non-negative entries (a
 * sufficient test; a sum with cancelling terms may be reported 0), else
 * 0; 0 for NULL.
 */
PAL_API int pal_graph_is_nonnegative(const pal_graph_t *g);

/**
 * 1 if the graph has no term, or every term is zero, else 0; 1 for NULL.
 */
PAL_API int pal_graph_is_empty(const pal_graph_t *g);

/**
 * Copy the row sums (sum_j G_ij), column sums or diagonal into out (n
 * doubles). Cost O(n).
 * @return PAL_OK, PAL_E_NULL.
 */
PAL_API int pal_graph_row_sums(const pal_graph_t *g, double *out);
PAL_API int pal_graph_col_sums(const pal_graph_t *g, double *out);
PAL_API int pal_graph_diagonal(const pal_graph_t *g, double *out);

/**
 * Y = G X (trans = 0) or Y = G^T X (trans = 1), X and Y n x k of type
 * dtype with row strides ldx, ldy. Y must not overlap X.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE, PAL_E_STRIDE, PAL_E_TYPE,
 *         PAL_E_RANGE (trans not 0/1), PAL_E_ALIAS, PAL_E_NOMEM.
 * Cost: the sum of the terms' costs; workspace from ctx.
 */
PAL_API int pal_graph_matmul(pal_ctx_t *ctx, const pal_graph_t *g, int trans,
                             pal_dtype_t dtype, int64_t k, const void *x,
                             int64_t ldx, void *y, int64_t ldy);

/**
 * Write G as a dense n x n array (row stride ld) of type dtype: for tests
 * and small problems only (O(n^2) time and the caller's O(n^2) memory).
 * @return PAL_OK, PAL_E_NULL, PAL_E_TYPE, PAL_E_STRIDE.
 */
PAL_API int pal_graph_to_dense(const pal_graph_t *g, pal_dtype_t dtype,
                               void *out, int64_t ld);

/* ---- Pair batches (the pairwise form of loss.h) ------------------------- */

typedef struct pal_batch pal_batch_t;

/**
 * Create an empty batch. Thread safety: one thread at a time.
 * @return PAL_OK, PAL_E_NULL, PAL_E_NOMEM.
 */
PAL_API int pal_batch_create(pal_batch_t **out, const pal_allocator_t *alloc);

/** Destroy a batch. Accepts NULL. */
PAL_API void pal_batch_destroy(pal_batch_t *b);

/** Remove every pair (keeps the memory and the limit). Accepts NULL. */
PAL_API void pal_batch_clear(pal_batch_t *b);

/**
 * Cap each list at max_pairs entries (0 = no cap, the default). Once a
 * list is full, further additions keep a uniform random sample of all the
 * pairs offered since the last clear (reservoir sampling), drawn from a
 * generator seeded with seed, so that a merge of two large components
 * cannot flood a training step.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE (max_pairs < 0).
 */
PAL_API int pal_batch_set_limit(pal_batch_t *b, int64_t max_pairs,
                                uint64_t seed);

/**
 * Append (i, j, g) to I. Indices are checked against the Z given to the
 * loss, not here (they must be >= 0).
 * @return PAL_OK, PAL_E_NULL, PAL_E_INDEX (i or j < 0), PAL_E_NONFINITE
 *         (g not finite), PAL_E_NOMEM.
 */
PAL_API int pal_batch_add_pair(pal_batch_t *b, int64_t i, int64_t j,
                               double g);

/**
 * Make room for n_pairs more entries in I and n_regs more in J (beyond
 * the current counts, and never beyond the limit), so that the additions
 * that follow allocate nothing.
 * @return PAL_OK, PAL_E_NULL, PAL_E_SIZE (a negative count), PAL_E_NOMEM
 *         (the batch is unchanged).
 */
PAL_API int pal_batch_reserve(pal_batch_t *b, int64_t n_pairs,
                              int64_t n_regs);

/** Append (i, j) to J. Codes as pal_batch_add_pair. */
PAL_API int pal_batch_add_reg(pal_batch_t *b, int64_t i, int64_t j);

/** Number of entries in I (pairs) and J (reg), or -1 for NULL. */
PAL_API int64_t pal_batch_n_pairs(const pal_batch_t *b);
PAL_API int64_t pal_batch_n_reg(const pal_batch_t *b);

/**
 * Number of pairs offered to I / J since the last clear, counting those
 * that the limit left out (equal to n_pairs / n_reg without a limit).
 */
PAL_API int64_t pal_batch_n_offered_pairs(const pal_batch_t *b);
PAL_API int64_t pal_batch_n_offered_reg(const pal_batch_t *b);

/**
 * Read-only views of the lists, valid until the batch is next modified or
 * destroyed. Any output pointer may be NULL.
 * @return PAL_OK, PAL_E_NULL (b is NULL).
 */
PAL_API int pal_batch_pairs(const pal_batch_t *b, const int64_t **i,
                            const int64_t **j, const double **g,
                            int64_t *count);
PAL_API int pal_batch_regs(const pal_batch_t *b, const int64_t **i,
                           const int64_t **j, int64_t *count);

#ifdef __cplusplus
}
#endif

#endif /* PAL_GRAPH_H */
