/*
 * libpal: loss.h: the Theorem 1 losses on a graph, and the pairwise
 * minibatch form, with their gradients.
 *
 * Shared conventions
 * ------------------
 * Z is n x k, row-major with row stride ldz >= k, of type dtype (PAL_F32
 * or PAL_F64); row i is the embedding of item i. Z is never modified and
 * never copied unless a loss needs a normalised copy (SimCLR and
 * BarlowTwins).
 *
 * pal_loss_* return the value only. pal_grad_* return the value and
 * dL/dZ in one pass; dz has the shape and type of Z with row stride lddz
 * >= k, is overwritten (not accumulated into; the padding of each row
 * beyond k is never touched), and must not overlap the memory Z spans,
 * from z[0] to z[(n - 1) ldz + k - 1] (PAL_E_ALIAS): interleaving Z and
 * dZ in one buffer is refused. The value pointer of pal_grad_* may be
 * NULL. Z, dz and the graph's arrays must be aligned for their element
 * type (PAL_E_ALIGN).
 *
 * The losses are those of Theorem 1 of "Active Self-Supervised Learning:
 * A Few Low-Cost Relationships Are All You Need" (V. Cabannes, L. Bottou,
 * Y. LeCun, R. Balestriero, ICCV 2023, arXiv:2303.15256).
 *
 * Losses are plain sums over pairs (no 1/N or 1/N^2 factor). Values are
 * returned as double. In float32, every scalar reduction (sums of
 * squares, dot products against the graph product, norms, log-sum-exps)
 * accumulates in double; matrix products run in BLIS in the working
 * precision, as in PyTorch.
 *
 * Errors: every call validates all arguments first and allocates its
 * workspace before touching any output, so on any error the outputs hold
 * what they held before. Besides the codes listed per function:
 * PAL_E_NULL (ctx, g, z, dz or the value pointer of pal_loss_* is NULL),
 * PAL_E_SIZE (n < 1, k < 1, or n * ldz overflows), PAL_E_STRIDE (ldz < k
 * or lddz < k), PAL_E_TYPE, PAL_E_SHAPE (n differs from the graph's n),
 * PAL_E_ALIAS, PAL_E_NOMEM, PAL_E_EMPTY (the graph has no non-zero
 * entry), PAL_E_NONFINITE (non-finite Z when the context checks it, or a
 * NaN/infinite result from non-finite input), PAL_E_OVERFLOW (finite
 * input whose result overflowed).
 *
 * Options structures carry their own size, so that fields can be added
 * without breaking the ABI: call pal_*_opts_init, then set fields. Passing
 * NULL means the defaults. A structure larger than the library knows is
 * accepted only if the unknown tail is all zero, and a size below
 * sizeof(size_t) or above 4096 is refused (PAL_E_RANGE).
 *
 * Float32 gradients: the value is accumulated in double, so a float32
 * gradient whose entries exceed the float range can hold infinities while
 * the value is finite; PAL_CHECK_FINITE on the context reports that case
 * as PAL_E_OVERFLOW.
 *
 * Thread safety: calls on distinct contexts may run concurrently and may
 * share graphs, batches and Z.
 */
#ifndef PAL_LOSS_H
#define PAL_LOSS_H

#include "core.h"
#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- VIC^2 (the paper's Theorem 1) ---------------------------------------

   L = sum_{i,j} (z_i . z_j - G_ij)^2
     = ||Z^T Z||_F^2 - 2 <Z, G Z> + ||G||_F^2
   dL/dZ = 4 Z (Z^T Z) - 2 (G + G^T) Z

   Z Z^T is never formed: O(n k^2) plus one product G Z; for a G that is
   not symmetric, one product (G + G^T) Z, since <Z, G Z> = <Z, (G + G^T)
   Z> / 2 (its dense terms are summed in blocks of the workspace, up to
   1 MiB per thread, smaller under a tight workspace limit). With offdiag, the i = j terms are left out (the paper's
   eq. 5): L -= sum_i (||z_i||^2 - G_ii)^2. */

typedef struct pal_vic2_opts {
    size_t size;   /* sizeof(pal_vic2_opts_t), set by the init call */
    int offdiag;   /* 1: sum over i != j only. Default 0. */
} pal_vic2_opts_t;

/** Fill *opts with the defaults and its size. Accepts NULL (no-op). */
PAL_API void pal_vic2_opts_init(pal_vic2_opts_t *opts);

/**
 * VIC^2 value. PAL_E_EMPTY when G is zero (or, with offdiag, zero off its
 * diagonal): the loss would only shrink Z.
 */
PAL_API int pal_loss_vic2(pal_ctx_t *ctx, const pal_graph_t *g,
                          pal_dtype_t dtype, int64_t n, int64_t k,
                          const void *z, int64_t ldz,
                          const pal_vic2_opts_t *opts, double *loss);

/** VIC^2 value and gradient. */
PAL_API int pal_grad_vic2(pal_ctx_t *ctx, const pal_graph_t *g,
                          pal_dtype_t dtype, int64_t n, int64_t k,
                          const void *z, int64_t ldz,
                          const pal_vic2_opts_t *opts, double *loss,
                          void *dz, int64_t lddz);

/* ---- SimCLR on a graph (Theorem 1, in cross-entropy form) ---------------

   zt_i = z_i / max(||z_i||, eps), s_ij = zt_i . zt_j / tau,
   D_i = {k != i} (or all k with include_self),
   LSE_i = log sum_{k in D_i} exp(s_ik),
   L = - sum_i sum_{j in D_i} G_ij (s_ij - LSE_i).

   G must be non-negative (PAL_E_NEGATIVE otherwise). A row with no
   positive (sum_{j in D_i} G_ij = 0) adds nothing to L and receives a
   gradient only as a negative of other rows. A zero-norm row is
   PAL_E_ZERO_NORM unless eps > 0. With the self term excluded (the
   default) and n = 1 there is no pair at all: PAL_E_EMPTY.

   Cost and memory. The n x n similarities S are held whole when the
   context's workspace limit allows (n^2 elements; without a limit up to
   256 MiB): half a product for S (it is symmetric), two elementwise
   passes over its lower triangle (one exponential per entry), and one
   product for the gradient: about 1.5 times one n x n by n x k GEMM,
   plus one more product per structured or sparse graph term (dense
   terms of Z's type cost no product). Otherwise S is streamed in square
   tiles of its lower triangle, computed twice: about 2 GEMMs, in
   O(n k + tile) memory. Both modes give the same value to rounding.
   Exponentials are shifted by 1/tau, at full precision while 1/tau <= 30
   (float32) or 300 (float64) and the degrees d_i stay below the type's
   largest value times exp(-2/tau) / 64; otherwise each row is shifted by
   its own maximum, at about twice the elementwise cost. For a fixed thread count results
   are bitwise reproducible. */

typedef struct pal_simclr_opts {
    size_t size;       /* sizeof(pal_simclr_opts_t) */
    double tau;        /* temperature, > 0. Default 0.1. */
    int include_self;  /* 1: k = i in the denominator (the literal
                          Theorem 1 form). Default 0 (NT-Xent). */
    double eps;        /* norm floor, >= 0. Default 0. */
} pal_simclr_opts_t;

PAL_API void pal_simclr_opts_init(pal_simclr_opts_t *opts);

/**
 * SimCLR value. Also PAL_E_RANGE (tau <= 0 or not finite, eps < 0),
 * PAL_E_NEGATIVE, PAL_E_ZERO_NORM.
 */
PAL_API int pal_loss_simclr(pal_ctx_t *ctx, const pal_graph_t *g,
                            pal_dtype_t dtype, int64_t n, int64_t k,
                            const void *z, int64_t ldz,
                            const pal_simclr_opts_t *opts, double *loss);

/** SimCLR value and gradient. */
PAL_API int pal_grad_simclr(pal_ctx_t *ctx, const pal_graph_t *g,
                            pal_dtype_t dtype, int64_t n, int64_t k,
                            const void *z, int64_t ldz,
                            const pal_simclr_opts_t *opts, double *loss,
                            void *dz, int64_t lddz);

/* ---- BarlowTwins on a graph (Theorem 1) ----------------------------------

   Columns are (optionally centred, then) normalised:
   zt_k = z_k / max(||z_k||, eps). With C = Zt^T G Zt (k x k),
   L = sum_k (C_kk - 1)^2 + lambda sum_{k != l} C_kl^2.
   One product G Zt serves value and gradient; a G that is not symmetric
   needs a second one, G^T Zt, for the gradient (its dense terms
   transposed in blocks of the workspace, as for VIC^2). A zero-norm column (a constant one when centred, or any
   column when n = 1 and centred) is PAL_E_ZERO_NORM unless eps > 0. */

typedef struct pal_bt_opts {
    size_t size;    /* sizeof(pal_bt_opts_t) */
    double lambda;  /* off-diagonal weight, >= 0. Default 1 (Theorem 1);
                       the original method used about 5e-3. */
    int center;     /* 1: centre each column first. Default 0. */
    double eps;     /* norm floor, >= 0. Default 0. */
} pal_bt_opts_t;

PAL_API void pal_bt_opts_init(pal_bt_opts_t *opts);

/** BarlowTwins value. Also PAL_E_RANGE, PAL_E_ZERO_NORM. */
PAL_API int pal_loss_bt(pal_ctx_t *ctx, const pal_graph_t *g,
                        pal_dtype_t dtype, int64_t n, int64_t k,
                        const void *z, int64_t ldz, const pal_bt_opts_t *opts,
                        double *loss);

/** BarlowTwins value and gradient. */
PAL_API int pal_grad_bt(pal_ctx_t *ctx, const pal_graph_t *g,
                        pal_dtype_t dtype, int64_t n, int64_t k,
                        const void *z, int64_t ldz, const pal_bt_opts_t *opts,
                        double *loss, void *dz, int64_t lddz);

/* ---- Pairwise minibatch form (the paper's eqs. 9-10) ---------------------

   L = sum_{(i,j,g) in I} g ||z_i - z_j||^2 + sum_{(i,j) in J} R(z_i, z_j),
   R(a, b) = (a . b)^2 - ||a||^2 - ||b||^2.

   For i, j uniform, E[R] = ||Z^T Z / n - I||_F^2 - k. Cost O(|I| + |J|)
   k; the gradient is zero outside the rows the batch names (dz is
   cleared first). Indices must be < n (PAL_E_INDEX). An empty batch (no
   pair in I or J) is PAL_E_EMPTY. */

PAL_API int pal_loss_pairs(pal_ctx_t *ctx, const pal_batch_t *batch,
                           pal_dtype_t dtype, int64_t n, int64_t k,
                           const void *z, int64_t ldz, double *loss);

PAL_API int pal_grad_pairs(pal_ctx_t *ctx, const pal_batch_t *batch,
                           pal_dtype_t dtype, int64_t n, int64_t k,
                           const void *z, int64_t ldz, double *loss,
                           void *dz, int64_t lddz);

#ifdef __cplusplus
}
#endif

#endif /* PAL_LOSS_H */
