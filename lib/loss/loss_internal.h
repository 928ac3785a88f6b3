/*
 * What the loss files share: argument validation, the gradient output
 * (direct, or staged in the workspace when the context checks results),
 * and elementwise kernels written once for float and double
 * (typed_tmpl.h) and dispatched on the element type per call.
 */
#ifndef PAL_LOSS_INTERNAL_H
#define PAL_LOSS_INTERNAL_H

#include "core/internal.h"
#include "graph/graph_internal.h"
#include "pal/loss.h"

/* The embedding and gradient arguments of one loss call. */
typedef struct pal__zarg {
    pal_dtype_t dtype;
    int64_t n, k;
    const void *z;
    int64_t ldz;
    void *dz;       /* NULL for a value-only call */
    int64_t lddz;
    size_t elem;
} pal__zarg_t;

/*
 * Validate a loss call: NULL pointers, type, sizes, strides, the graph's
 * n (when g is not NULL), aliasing of dz with z, and, when the context
 * asks, non-finite values in z. Returns PAL_OK or the first error.
 */
int pal__zarg_check(const pal_ctx_t *ctx, const pal_graph_t *g,
                    const pal__zarg_t *a);

/*
 * Where a gradient is computed: straight into dz, or, when the context
 * checks results, into a workspace block that pal__grad_finish scans
 * before copying it to dz. pal__grad_layout takes the block from the
 * layout (call it in both layout passes); pal__grad_finish returns
 * PAL_OK or PAL_E_OVERFLOW (dz untouched).
 */
typedef struct pal__grad {
    void *p;
    int64_t ld;
    bool staged;
} pal__grad_t;

void pal__grad_layout(const pal_ctx_t *ctx, const pal__zarg_t *a,
                      pal__ws_t *ws, pal__grad_t *g);
int pal__grad_finish(const pal__zarg_t *a, const pal__grad_t *g);

/* The final check of every loss value: NaN or infinity is never returned
 * as a valid loss. Non-finite input (Z, or the graph's values when g is
 * not NULL) gives PAL_E_NONFINITE, finite input that overflowed
 * PAL_E_OVERFLOW. */
int pal__value_check(double value, const pal__zarg_t *a,
                     const pal_graph_t *g);

/* Byte offset of row i of a matrix with stride ld. */
static inline size_t pal__row(const pal__zarg_t *a, int64_t i, int64_t ld)
{
    return (size_t)i * (size_t)ld * a->elem;
}

/* ---- Elementwise kernels (typed_tmpl.h), all accumulating in double ----
 * nt: threads for the loop (the results do not depend on it). */

/* out[i] = ||row i||^2 for an n x k matrix. */
void pal__row_norm2(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                    int64_t ldx, double *out);

/* sum_ij x_ij y_ij. */
double pal__mat_dot(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                    int64_t ldx, const void *y, int64_t ldy);

/* y_i = s_i x_i (row scaling; s may be NULL for s_i = c). */
void pal__row_scale(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                    int64_t ldx, const double *s, double c, void *y,
                    int64_t ldy);

/* y = a x + b y (x may be NULL: y = b y). With b = 0, y is written
 * without being read. */
void pal__mat_axpby(pal_dtype_t t, int nt, int64_t n, int64_t k, double a,
                    const void *x, int64_t ldx, double b, void *y,
                    int64_t ldy);

/* y_i += s_i x_i. */
void pal__row_axpy(pal_dtype_t t, int nt, int64_t n, int64_t k, const double *s,
                   const void *x, int64_t ldx, void *y, int64_t ldy);

/* Column sums (double) of an n x k matrix. */
void pal__col_sums(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                   int64_t ldx, double *out);

/* Squared column norms (double) of an n x k matrix. */
void pal__col_norm2(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                    int64_t ldx, double *out);

/* Norms (not squared) of the rows, or of the columns when cols is set,
 * exact even where the squares would leave the double range. */
void pal__norms(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                int64_t ldx, bool cols, double *out);

/* y_ij = (x_ij - mu_j) * s_j for column shifts mu (may be NULL) and
 * column scales s. */
void pal__col_affine(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                     int64_t ldx, const double *mu, const double *s, void *y,
                     int64_t ldy);

/* Element (i, j) of a matrix as double, and store from double. */
double pal__at(pal_dtype_t t, const void *x, int64_t ld, int64_t i,
               int64_t j);
void pal__set(pal_dtype_t t, void *x, int64_t ld, int64_t i, int64_t j,
              double v);

/*
 * Back through a row normalisation zt_i = z_i / max(r_i, eps): in place
 * on the n x k matrix g (dL/dZt, row i g_i), g_i <- (g_i - zt_i (zt_i .
 * g_i)) / r_i where r_i > eps, and g_i / eps elsewhere. r holds the
 * norms; zt the normalised rows. With cols set, the same for columns
 * (norms per column, dot products down columns, tmp holding k doubles).
 */
void pal__unnormalise(pal_dtype_t t, int nt, int64_t n, int64_t k, bool cols,
                      const void *zt, int64_t ldzt, const double *r,
                      double eps, void *g, int64_t ldg, double *tmp);

/* ---- SimCLR kernels (simclr_kern.c) -------------------------------------- */

/* Dense graph terms folded into SimCLR's elementwise passes instead of
 * being multiplied: weight, array and row stride, of Z's type. */
#define PAL__FOLD_MAX 8
typedef struct pal__fold {
    int n;
    double w[PAL__FOLD_MAX];
    const void *a[PAL__FOLD_MAX];
    int64_t lda[PAL__FOLD_MAX];
} pal__fold_t;

/*
 * The elementwise kernels of SimCLR (see simclr_tmpl.h for what each
 * does), as a table: one for the baseline instruction set and, on
 * x86-64, one built for AVX2; pal__simclr_kernels picks the one this
 * processor runs. Both give the same bits.
 */
typedef struct pal__simclr_kern {
    void (*softmax)(pal_dtype_t t, void *s, int64_t b, int64_t n,
                    int64_t lds, int64_t row0, bool skip,
                    const pal__fold_t *fold, double *pos, double *lse,
                    double *sum, int threads);
    void (*sym_b)(pal_dtype_t t, void *e, int64_t n, int64_t ld,
                  const double *c, bool skip, const pal__fold_t *fold,
                  int threads);
    void (*mirror)(pal_dtype_t t, void *s, int64_t n, int64_t ld,
                   int threads);
    void (*tile_stats)(pal_dtype_t t, void *s, int64_t bi, int64_t bj,
                       int64_t ld, int64_t i0, int64_t j0, bool skip,
                       double *m, double *sum, void *colmax,
                       double *colacc);
    void (*tile_b)(pal_dtype_t t, void *s, int64_t bi, int64_t bj,
                   int64_t ld, int64_t i0, int64_t j0, bool skip,
                   const double *lse, const double *c, void *lsej,
                   void *cj);
} pal__simclr_kern_t;

const pal__simclr_kern_t *pal__simclr_kernels(void);

#endif /* PAL_LOSS_INTERNAL_H */
