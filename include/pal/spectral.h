/*
 * libpal: spectral.h: the closed-form VIC^2 optimum on a graph, the
 * Gaussian kernel matrix, and a least-squares linear probe.
 *
 * With an unconstrained embedding Z (n x k), the minimiser of
 *
 *   L(Z) = sum_{i,j} (z_i . z_j - G_ij)^2
 *
 * is Z = U diag(sqrt(max(nu, 0))) for the top k eigenpairs (nu, U) of
 * the symmetric part S = (G + G^T) / 2 of G (an antisymmetric part adds
 * a constant to L: Z Z^T is symmetric). With a kernel model and Tikhonov
 * weight lambda (the paper's section 5 and Fig. 3) the optimum is the
 * same formula on M = S - lambda (K + delta I)^-1, the minimiser of
 * L(Z) + 2 lambda Tr(Z^T (K + delta I)^-1 Z).
 *
 * Eigenvalues come from LAPACK's symmetric eigensolver (dsyevr), always
 * in float64 whatever the element type of Z; graphs made only of label,
 * block and constant terms are solved in their class space instead, and
 * large graphs without dense terms by block Lanczos, from products with
 * G and G^T only, without expanding G (docs/spectral.md gives the
 * formulas, costs, shortcuts and the choice between these routes).
 *
 * The linear probe measures an embedding the way the paper does: the
 * least-squares classifier from Z to one-hot labels, fitted on training
 * rows, and its mean-square error and accuracy on held-out rows.
 *
 * Errors: every call validates all its arguments and reserves its
 * workspace before it writes any output, so on error every output is as
 * it was. LAPACK never sees an argument it would reject (its error
 * handler, which prints and stops the program, is never reached).
 *
 * Thread safety: calls on distinct contexts may run concurrently and may
 * share graphs and inputs. LAPACK's own products run on BLAS's thread
 * setting (BLIS_NUM_THREADS for Debian's BLIS), not the context's.
 *
 * Everything in this header is new after 0.1.0.
 */
#ifndef PAL_SPECTRAL_H
#define PAL_SPECTRAL_H

#include "core.h"
#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Closed-form embedding ------------------------------------------- */

/* The default delta: 1e-8 times the mean absolute diagonal entry of K
 * (1e-8 if that diagonal is zero). */
#define PAL_EMBED_DELTA_AUTO (-1.0)

/* How the eigenproblem is solved (pal_embed_opts_t.method). */
typedef enum pal_embed_method {
    /* Without a kernel: the class space for graphs of label, block and
     * constant terms only; the iterative solver for graphs of at least
     * PAL_EMBED_ITERATIVE_MIN_N items without a dense term (CSR,
     * identity, diagonal and block terms in any mix) when its workspace,
     * 8 n (15 b) bytes for the block b = k + max(4, k / 8), is at most a
     * quarter of the dense route's 8 n^2 (that is, 60 b <= n); the
     * dense solver otherwise. With a kernel: the dense solver. */
    PAL_EMBED_AUTO = 0,
    /* Expand G into an n x n matrix and call LAPACK's dsyevr, whatever
     * the graph (the class space is not used either). */
    PAL_EMBED_DENSE = 1,
    /* Block Lanczos from products with G and G^T, whatever the graph
     * (dense terms included); not with a kernel. */
    PAL_EMBED_ITERATIVE = 2
} pal_embed_method_t;

/* PAL_EMBED_AUTO's smallest n for the iterative solver: below it the
 * dense solver takes about a second or less. */
#define PAL_EMBED_ITERATIVE_MIN_N 2000

typedef struct pal_embed_opts {
    size_t size;              /* sizeof(pal_embed_opts_t) */
    double lambda;            /* Tikhonov weight, >= 0, finite. Default 0
                                 (no kernel: the top of G itself). */
    const void *kernel;       /* K, n x n, borrowed and only read; used
                                 when lambda > 0 (required then). Only
                                 its symmetric part (K + K^T) / 2
                                 counts. Default NULL. */
    pal_dtype_t kernel_dtype; /* PAL_F32 or PAL_F64. Default PAL_F64. */
    int64_t ldk;              /* K's row stride, >= n; 0 means n.
                                 Default 0. */
    double delta;             /* added to K's diagonal before it is
                                 inverted: >= 0 and finite, or
                                 PAL_EMBED_DELTA_AUTO (the default). */
    /* Appended after the fields above: a shorter structure, of an
     * earlier build, gets the defaults of the fields it lacks. */
    pal_embed_method_t method; /* The route. Default PAL_EMBED_AUTO. */
    double tol;               /* The iterative solver's tolerance: each
                                 returned pair (nu, u) has ||S u - nu u||
                                 <= tol times the solver's estimate of
                                 ||S||_2 (a lower bound: the largest
                                 ||S q|| it met, q unit). In [0, 1);
                                 0 (the default) means 1e-10. */
    int64_t max_iter;         /* The iterative solver's limit in block
                                 steps (one product of S with b vectors
                                 and its orthogonalisation), >= 0; 0
                                 (the default) means 1000. */
} pal_embed_opts_t;

/** Fill *opts with the defaults and its size. Accepts NULL (no-op). */
PAL_API void pal_embed_opts_init(pal_embed_opts_t *opts);

/**
 * The closed-form VIC^2 optimum: Z = U diag(sqrt(max(nu, 0))) for the k
 * largest eigenvalues nu_1 >= ... >= nu_k of S = (G + G^T) / 2, or of
 * S - lambda (K + delta I)^-1 when opts sets lambda > 0.
 *
 * Column c of Z is eigenvector c (unit norm) scaled by sqrt(nu_c), or
 * zero when nu_c <= 0; each eigenvector's sign makes its entry of
 * largest magnitude positive (the first such entry on ties), so results
 * are reproducible (for the iterative route: on the same thread count).
 * Within a repeated eigenvalue any orthonormal basis of its eigenspace
 * is an optimum; which one is returned depends on the route, as
 * docs/spectral.md states. When k > n, columns n to k - 1 are zero and
 * their eigenvalues reported as 0.
 *
 * The iterative route (opts->method, PAL_EMBED_AUTO's choice above)
 * returns eigenpairs whose residuals ||S u - nu u|| are within opts->tol
 * of ||S||_2, checked by a product with S before they are accepted:
 * eigenvalues then agree with the dense route's to tol ||S||_2 or
 * better, and eigenvectors to tol ||S||_2 / gap (the distance to the
 * rest of the spectrum).
 *
 * @param ctx          workspace and checks; one thread at a time.
 * @param g            the graph (n items); not modified.
 * @param dtype        type of z, PAL_F32 or PAL_F64.
 * @param n            rows of z; must equal the graph's n.
 * @param k            columns of z (the embedding dimension), >= 1.
 * @param opts         NULL for the defaults (no kernel).
 * @param z            output, n x k, row stride ldz >= k; overwritten
 *                     (row padding untouched).
 * @param eigenvalues  output, k doubles (nu_1..nu_k, before clipping),
 *                     or NULL. Must not overlap z.
 * @return PAL_OK; PAL_E_NULL (ctx, g or z NULL; kernel NULL with
 *         lambda > 0); PAL_E_TYPE (dtype or kernel_dtype); PAL_E_ALIGN;
 *         PAL_E_SIZE (n or k < 1 or > INT32_MAX, a stride product
 *         overflows, or LAPACK's workspace exceeds its integer range);
 *         PAL_E_STRIDE (ldz < k, ldk < n); PAL_E_SHAPE (n differs from
 *         the graph's); PAL_E_RANGE (lambda, delta, method, tol or
 *         max_iter out of range, PAL_EMBED_ITERATIVE with lambda > 0,
 *         bad options size, or K + delta I not positive definite, or
 *         the eigensolver reporting failure: LAPACK's info != 0);
 *         PAL_E_NOCONV (the iterative route did not reach tol within
 *         max_iter block steps);
 *         PAL_E_NONFINITE (NaN or infinity in the graph's values or in
 *         K); PAL_E_OVERFLOW (the expanded G or the matrix M is not
 *         finite although the inputs are, or a product with S is not
 *         finite); PAL_E_ALIAS (eigenvalues overlaps z); PAL_E_NOMEM
 *         (workspace, or the context's limit).
 * Cost: graphs of label, block and constant terms only, without a
 * kernel: O(n T log n + n k) plus C^2 entries read from the T terms and
 * the eigenproblem of a C x C matrix, O(C^3), skipped when that matrix
 * is diagonal (C classes after refining the terms' partitions; one
 * label term is exact with no eigensolver at all); workspace about
 * 8 C^2 + 16 C k + 20 n bytes. The dense route (with a kernel, and
 * for the graphs AUTO gives to neither other route): G is expanded into
 * an n x n float64 matrix (O(n^2) entries from the terms) and solved
 * densely: O(n^3) time (n^3 flops for the kernel's Cholesky factor and
 * inverse, 4 n^3 / 3 for the reduction to tridiagonal form), 8 n^2
 * bytes of workspace plus O(n k), from ctx (its workspace limit
 * applies; so for the others). The iterative route: O(s (p b + n b m
 * + m^3)) time for s block steps, with p the cost of one product of G
 * (and G^T when G is not symmetric) with a vector (nnz for a CSR term,
 * n for a structured one, n^2 for a dense one), the block b = k +
 * max(4, k / 8) and the basis m = 12 b: O(iterations x (nnz k + n k^2))
 * for a sparse graph; workspace 8 n (m + 3 b) = 120 n b bytes plus
 * O(m^2), O(n k). When n < 13 b the Krylov basis would fill the space:
 * S is formed from n / b products (n^2 < 13 n b entries) and solved by
 * dsyevr, whatever max_iter.
 * Since: new after 0.1.0.
 */
PAL_API int pal_spectral_embed(pal_ctx_t *ctx, const pal_graph_t *g,
                               pal_dtype_t dtype, int64_t n, int64_t k,
                               const pal_embed_opts_t *opts, void *z,
                               int64_t ldz, double *eigenvalues);

/* ---- Gaussian kernel --------------------------------------------------- */

/**
 * The Gaussian kernel matrix of n points: K_ij = exp(-||x_i - x_j||^2 /
 * (2 bandwidth^2)), written as a full, exactly symmetric n x n matrix
 * with ones on its diagonal.
 *
 * Squared distances come from the Gram matrix of the column-centred
 * points in float64 (BLIS), clipped at 0, so that a common offset of
 * the points costs no precision. Points and bandwidth are first scaled
 * by the power of two that brings the largest coordinate near 1, so
 * any finite points give finite entries, and scaling both by a power of
 * two changes no bit of the result.
 *
 * @param ctx        workspace and thread count; one thread at a time.
 * @param dtype      type of x and k_out.
 * @param n, d       points and their dimension, >= 1.
 * @param x          n x d points, row stride ldx >= d; only read.
 * @param bandwidth  > 0 and finite.
 * @param k_out      output, n x n, row stride ldk >= n; overwritten. May
 *                   overlap x (x is copied before k_out is written).
 * @return PAL_OK, PAL_E_NULL, PAL_E_TYPE, PAL_E_ALIGN, PAL_E_SIZE,
 *         PAL_E_STRIDE, PAL_E_RANGE (bandwidth), PAL_E_NONFINITE (x),
 *         PAL_E_NOMEM.
 * Cost: O(n^2 d / 2) in BLIS plus n^2 exponentials; workspace O(n d +
 * 256 n) doubles from ctx. Since: new after 0.1.0.
 */
PAL_API int pal_kernel_gaussian(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                                int64_t d, const void *x, int64_t ldx,
                                double bandwidth, void *k_out, int64_t ldk);

/* ---- Linear probe -------------------------------------------------------- */

typedef struct pal_probe_opts {
    size_t size;    /* sizeof(pal_probe_opts_t) */
    double ridge;   /* weight of ||W||_F^2 (never the bias), >= 0.
                       Default 0: plain least squares. */
    int bias;       /* 1: fit the bias b (default); 0: no bias. */
} pal_probe_opts_t;

/** Fill *opts with the defaults and its size. Accepts NULL (no-op). */
PAL_API void pal_probe_opts_init(pal_probe_opts_t *opts);

/* What a probe measured. The caller sets size to sizeof(pal_probe_result_t)
 * before the call. */
typedef struct pal_probe_result {
    size_t size;
    int64_t n_train;        /* labelled training rows */
    int64_t n_test;         /* labelled held-out rows */
    int64_t rank;           /* numerical rank of the training design */
    double train_mse;       /* mean over rows of ||y_hat_i - e_{y_i}||^2 */
    double train_accuracy;  /* fraction of rows with argmax y_hat_i = y_i */
    double test_mse;        /* the same on held-out rows; NaN if none */
    double test_accuracy;
} pal_probe_result_t;

/**
 * Fit the least-squares probe (W, b) = argmin sum_{i train} ||W^T z_i +
 * b - e_{y_i}||^2 + ridge ||W||_F^2 and measure it.
 *
 * e_c is the one-hot vector of class c in R^C. Rows with labels[i] = -1
 * are ignored; the others are training rows where train[i] != 0 and
 * held-out rows where train[i] == 0 (train NULL: every labelled row is a
 * training row). The MSE of a set of rows is the mean, over its rows, of
 * the squared Euclidean distance between the prediction y_hat_i = W^T
 * z_i + b and e_{y_i} (a sum over the C classes, then a mean over the
 * rows: divide by C for a per-entry mean). The accuracy is the fraction
 * of its rows whose largest prediction (the first one on ties) is the
 * true class.
 *
 * The problem is solved in float64 by LAPACK's dgelsd (singular value
 * decomposition): singular values below 1e-12 times the largest are
 * treated as zero and the minimum-norm (W, b) among the least-squares
 * solutions is returned, so a rank-deficient Z (clipped eigenvalues,
 * k larger than the number of classes) is fine.
 *
 * @param ctx       workspace and checks.
 * @param dtype     type of z.
 * @param n, k      rows and columns of z, >= 1.
 * @param z         n x k embedding, row stride ldz >= k; only read.
 * @param labels    n entries in [-1, n_classes).
 * @param n_classes C >= 1.
 * @param train     n flags, or NULL (see above).
 * @param opts      NULL for the defaults.
 * @param result    output; result->size set by the caller.
 * @param w         output, k x C weights (float64, row stride ldw >= C),
 *                  or NULL.
 * @param b         output, C biases (float64; zeros when bias = 0), or
 *                  NULL. Must not overlap w.
 * @return PAL_OK; PAL_E_NULL (ctx, z, labels or result); PAL_E_TYPE;
 *         PAL_E_ALIGN; PAL_E_SIZE (n, k or n_classes < 1 or too large,
 *         result->size too small); PAL_E_STRIDE (ldz < k, ldw < C);
 *         PAL_E_INDEX (a label < -1 or >= n_classes); PAL_E_EMPTY (no
 *         training row); PAL_E_RANGE (ridge, bias, bad options size, or
 *         LAPACK's info != 0: the SVD did not converge);
 *         PAL_E_NONFINITE (NaN or infinity in z); PAL_E_OVERFLOW
 *         (predictions overflow); PAL_E_ALIAS (w and b overlap);
 *         PAL_E_NOMEM.
 * Cost: O(m p^2 + p^3 + n k C) for m training rows and p = k + 1
 * unknowns per class; workspace O(m p + m C + p^2) doubles from ctx.
 * Since: new after 0.1.0.
 */
PAL_API int pal_linear_probe(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                             int64_t k, const void *z, int64_t ldz,
                             const int32_t *labels, int64_t n_classes,
                             const unsigned char *train,
                             const pal_probe_opts_t *opts,
                             pal_probe_result_t *result, double *w,
                             int64_t ldw, double *b);

#ifdef __cplusplus
}
#endif

#endif /* PAL_SPECTRAL_H */
