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
 * sizeof(size_t), above 4096, or not a multiple of 8 (a size that no
 * version of a structure has, cutting a field; new after 0.1.0) is
 * refused (PAL_E_RANGE). The same holds for every options structure of
 * libpal.
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
   1 MiB per thread, smaller under a tight workspace limit). With
   offdiag, the i = j terms are left out (the paper's eq. 5):
   L -= sum_i (||z_i||^2 - G_ii)^2. */

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
   pal_loss_simclr chooses the mode and the tiles as pal_grad_simclr
   would under the same limit, so the two return the same bits.
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
   transposed in blocks of the workspace, as for VIC^2). A zero-norm
   column (a constant one when centred, or any column when n = 1 and
   centred) is PAL_E_ZERO_NORM unless eps > 0. */

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

/* ---- The classic two-view losses (the paper's eqs. 2-5) ----------------

   For a trainer that holds two views of a batch: Z1 and Z2, both n x k
   of type dtype, row i of each the embedding of one view of sample i
   (so (z1_i, z2_i) is the i-th positive pair). Each view has its own row
   stride (ldz1, ldz2 >= k). Z1 and Z2 may be the same array.

   pal_loss_* return the value; pal_grad_* return the value (the pointer
   may be NULL) and both gradients dL/dZ1 (dz1, row stride lddz1 >= k)
   and dL/dZ2 (dz2, lddz2 >= k), overwritten, padding untouched.

   Aliasing: dz1 and dz2 must overlap neither each other nor the memory
   Z1 or Z2 spans (PAL_E_ALIAS); the rows of each output are written only
   after everything has been read.

   Errors (besides the codes listed per loss): PAL_E_NULL (ctx, z1, z2,
   dz1, dz2, or the value pointer of pal_loss_*), PAL_E_TYPE, PAL_E_ALIGN,
   PAL_E_SIZE (n < 1, k < 1, n or k > INT32_MAX, or a stride product
   overflows), PAL_E_STRIDE (a row stride < k), PAL_E_ALIAS,
   PAL_E_RANGE (an option out of its range, or a bad options size, as
   for the graph losses), PAL_E_NOMEM (workspace), PAL_E_NONFINITE (NaN
   or infinity in Z1 or Z2 when the context checks, or a non-finite
   value from non-finite input), PAL_E_OVERFLOW (finite input whose
   value overflowed; with PAL_CHECK_FINITE, also a gradient that
   did). All arguments are validated and the workspace allocated before
   any output is written: on error every output is as it was.

   Numerics: every scalar reduction accumulates in double, from the
   inputs or from products formed in the working type by BLIS; means are
   taken first and variances from the centred values (two passes), so a
   large constant offset in Z costs no precision beyond the input's own.

   Cost: the K x K products of VICReg and BarlowTwins, O(n k^2); the
   n x n products of NT-Xent and of the spectral loss, O(n^2 k) (the
   spectral loss uses k x k products instead when k <= n). The workspace
   comes from the context (see each loss for its size); once it has grown,
   a call allocates nothing.

   Thread safety: as the graph losses (one context per thread; Z1, Z2 may
   be shared). New after 0.1.0. docs/twoview.md derives every formula
   and gradient, and how each loss relates to the graph losses above on
   the two-view pairing graph. */

/* ---- VICReg (eq. 2) -------------------------------------------------------

   X = [Z1; Z2] - 1 mu^T   (2n x k, mu the column means of all 2n rows)
   C = X^T X / (2n - 1)    (the unbiased covariance of the stacked views)
   L = alpha sum_k max(0, 1 - sqrt(C_kk + eps))
     + beta sum_{k != l} C_kl^2
     + gamma / n sum_i ||z1_i - z2_i||^2

   Eq. 2 is gamma = 1. The defaults alpha = 25, beta = 1, gamma = 25,
   eps = 1e-4 are the VICReg paper's weights (variance 25, covariance 1,
   invariance 25): each term of eq. 2 is k times the per-dimension mean
   that paper weighs, so the ratios carry over. That paper computes the
   variance and covariance terms per view; eq. 2 (and this call) on the
   stacked views.

   Gradient, with s_k = sqrt(C_kk + eps), m = 2n - 1:
     dL/dX = X (4 beta / m Coff + diag(f)),  f_k = -alpha / (m s_k)
   where s_k < 1, else f_k = 0 (at the hinge's kink s_k = 1 the inactive
   side's derivative, 0, is taken), and f_k = 0 where s_k = 0 (a constant
   column with eps = 0: the minimum-norm element of the generalised
   gradient, so collapsed embeddings get finite gradients); Coff is C
   with its diagonal cleared. dL/dZ1 = dL/dX1 + 2 gamma/n (Z1 - Z2),
   dL/dZ2 = dL/dX2 - 2 gamma/n (Z1 - Z2) (the centring passes the
   gradient unchanged: its columns already sum to zero).

   n = 1 is PAL_E_SIZE: one sample has no variance across the batch (its
   stacked covariance would only see the gap between its two views).
   Workspace: two k x k and two 2n x k arrays of the working type. */

typedef struct pal_vicreg_opts {
    size_t size;   /* sizeof(pal_vicreg_opts_t) */
    double alpha;  /* variance weight, >= 0. Default 25. */
    double beta;   /* covariance weight, >= 0. Default 1. */
    double gamma;  /* invariance weight, >= 0. Default 25 (eq. 2: 1). */
    double eps;    /* inside the square root, >= 0. Default 1e-4. */
} pal_vicreg_opts_t;

/** Fill *opts with the defaults and its size. Accepts NULL (no-op). */
PAL_API void pal_vicreg_opts_init(pal_vicreg_opts_t *opts);

/** VICReg value. Also PAL_E_SIZE (n = 1), PAL_E_RANGE. */
PAL_API int pal_loss_vicreg(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                            int64_t k, const void *z1, int64_t ldz1,
                            const void *z2, int64_t ldz2,
                            const pal_vicreg_opts_t *opts, double *loss);

/** VICReg value and both gradients. */
PAL_API int pal_grad_vicreg(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                            int64_t k, const void *z1, int64_t ldz1,
                            const void *z2, int64_t ldz2,
                            const pal_vicreg_opts_t *opts, double *loss,
                            void *dz1, int64_t lddz1, void *dz2,
                            int64_t lddz2);

/* ---- SimCLR's NT-Xent (eq. 3) ---------------------------------------------

   Rows are normalised, u_i = z1_i / max(||z1_i||, eps) and v_i likewise
   for Z2, and compared by s(a, b) = a . b / tau.

   Default (symmetric = 0), eq. 3 read per anchor: each row of view 1 is
   an anchor, its positive is the same row of view 2 and its denominator
   runs over all n rows of view 2, the positive included:
     L = sum_i [ -s(u_i, v_i) + log sum_j exp(s(u_i, v_j)) ]
   (eq. 3 as printed puts one logarithm around a sum over all j != i; we
   read it as the per-anchor cross-entropy of SimCLR, whose denominator
   holds the positive, so that every term is >= 0.)

   symmetric = 1, the 2n-view form of the SimCLR paper: all 2n rows of
   W = [U; V] are anchors, the positive of a row is its other view, and
   the denominator runs over the 2n - 1 other rows (same-view ones
   included):
     L = sum_{a < 2n} [ -s(w_a, w_p(a)) + log sum_{b != a} exp(s(w_a, w_b)) ]
   This is pal_loss_simclr (include_self = 0, the same tau and eps) on
   the pairing graph of the 2n rows, exactly. Sums, not means: divide by n (or 2n) for a mean.

   Gradient: with P the softmax of each anchor's row over its
   denominator and A = P - (1 on each anchor's positive), dL/dW =
   (A W_c + A^T W_a) / tau over anchors a and candidates c, then back
   through the normalisation: dz = (g - w (w . g)) / ||z|| where ||z|| >
   eps, and g / eps where the floor holds.

   n = 1 gives L = 0 with zero gradients. Log-sum-exps are shifted by
   each row's maximum. A zero row with eps = 0 is PAL_E_ZERO_NORM.
   Cost: 3 (n x n x k) products, 12 with symmetric (a 2n x 2n matrix).
   Workspace: the normalised rows and their gradient (4 n k elements),
   and the similarities held whole when they take at most 32 MiB, else
   in panels of rows as large as that (or the context's limit) allows. */

typedef struct pal_ntxent_opts {
    size_t size;    /* sizeof(pal_ntxent_opts_t) */
    double tau;     /* temperature, > 0. Default 0.1. */
    int symmetric;  /* 1: the 2n-view form. Default 0 (eq. 3). */
    double eps;     /* norm floor, >= 0. Default 1e-8. */
} pal_ntxent_opts_t;

/** Fill *opts with the defaults and its size. Accepts NULL (no-op). */
PAL_API void pal_ntxent_opts_init(pal_ntxent_opts_t *opts);

/** NT-Xent value. Also PAL_E_RANGE, PAL_E_ZERO_NORM. */
PAL_API int pal_loss_ntxent(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                            int64_t k, const void *z1, int64_t ldz1,
                            const void *z2, int64_t ldz2,
                            const pal_ntxent_opts_t *opts, double *loss);

/** NT-Xent value and both gradients. */
PAL_API int pal_grad_ntxent(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                            int64_t k, const void *z1, int64_t ldz1,
                            const void *z2, int64_t ldz2,
                            const pal_ntxent_opts_t *opts, double *loss,
                            void *dz1, int64_t lddz1, void *dz2,
                            int64_t lddz2);

/* ---- BarlowTwins (eq. 4) --------------------------------------------------

   Each column of each view is (optionally centred over the batch, then)
   normalised: u_k = z1_k / max(||z1_k||, eps), v_k likewise for Z2.
   C = U^T V (k x k: the cosines between the columns of the two views;
   with center, their correlations, as the original method's batch
   normalisation gives up to its epsilon), and
     L = sum_k (1 - C_kk)^2 + lambda sum_{k != l} C_kl^2.
   Gradient: B = 2 W o (C - I) (W: 1 on the diagonal, lambda elsewhere),
   dL/dU = V B^T, dL/dV = U B, then back through each normalisation
   (as NT-Xent, per column) and, with center, each gradient column
   loses its mean. Defaults: lambda = 5e-3 and center = 1 (the original
   method); eq. 4 as printed is center = 0.
   n = 1 is PAL_E_SIZE (the cosines of one-entry columns are +-1). A
   zero column with eps = 0 is PAL_E_ZERO_NORM (with center, a column
   constant over the batch).
   Workspace: 4 n k + 2 k^2 elements and 2 k^2 doubles. */

typedef struct pal_barlow_opts {
    size_t size;    /* sizeof(pal_barlow_opts_t) */
    double lambda;  /* off-diagonal weight, >= 0. Default 5e-3. */
    int center;     /* 1: centre each column first. Default 1. */
    double eps;     /* norm floor, >= 0. Default 1e-8. */
} pal_barlow_opts_t;

/** Fill *opts with the defaults and its size. Accepts NULL (no-op). */
PAL_API void pal_barlow_opts_init(pal_barlow_opts_t *opts);

/** BarlowTwins value. Also PAL_E_SIZE (n = 1), PAL_E_RANGE,
 * PAL_E_ZERO_NORM. */
PAL_API int pal_loss_barlow(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                            int64_t k, const void *z1, int64_t ldz1,
                            const void *z2, int64_t ldz2,
                            const pal_barlow_opts_t *opts, double *loss);

/** BarlowTwins value and both gradients. */
PAL_API int pal_grad_barlow(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                            int64_t k, const void *z1, int64_t ldz1,
                            const void *z2, int64_t ldz2,
                            const pal_barlow_opts_t *opts, double *loss,
                            void *dz1, int64_t lddz1, void *dz2,
                            int64_t lddz2);

/* ---- Spectral contrastive loss (eq. 5) ------------------------------------

   With d_i = z1_i . z2_i and P = Z1 Z2^T (n x n),
     L = -2 sum_i d_i + 1/n sum_{i != j} P_ij^2
   (with diag = 1 the second sum runs over all i, j). Gradients:
     dL/dZ1 = -2 Z2 + 2/n Poff Z2,  dL/dZ2 = -2 Z1 + 2/n Poff^T Z1
   (Poff: P with its diagonal cleared, or P itself with diag = 1).
   When k <= n, ||P||_F^2 = <Z1^T Z1, Z2^T Z2> and Poff Z2 = Z1 (Z2^T Z2)
   - diag(d) Z2 replace the n x n products with k x k ones, O(n k^2).
   n = 1 is valid (the second sum is empty). No option can be out of
   range but diag (0 or 1). Workspace: 2 n k elements, and two k x k
   arrays or the n x n products (in panels, as NT-Xent). */

typedef struct pal_spectral_opts {
    size_t size;  /* sizeof(pal_spectral_opts_t) */
    int diag;     /* 1: include i = j in the second sum. Default 0. */
} pal_spectral_opts_t;

/** Fill *opts with the defaults and its size. Accepts NULL (no-op). */
PAL_API void pal_spectral_opts_init(pal_spectral_opts_t *opts);

/** Spectral contrastive value. Also PAL_E_RANGE. */
PAL_API int pal_loss_spectral(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                              int64_t k, const void *z1, int64_t ldz1,
                              const void *z2, int64_t ldz2,
                              const pal_spectral_opts_t *opts, double *loss);

/** Spectral contrastive value and both gradients. */
PAL_API int pal_grad_spectral(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                              int64_t k, const void *z1, int64_t ldz1,
                              const void *z2, int64_t ldz2,
                              const pal_spectral_opts_t *opts, double *loss,
                              void *dz1, int64_t lddz1, void *dz2,
                              int64_t lddz2);

#ifdef __cplusplus
}
#endif

#endif /* PAL_LOSS_H */
