/*
 * Products of a graph with an n x k matrix: Y = G X or Y = G^T X, term by
 * term. Dense terms go to BLIS; CSR and block terms gather rows, summing
 * in double whatever the element type.
 */
#include "graph_internal.h"

/* Rows of a dense term converted at a time when its type differs from
 * X's: about 8 MiB of the converted type. */
static int64_t convert_rows(int64_t n, size_t elem)
{
    int64_t rows = (int64_t)((size_t)(8u << 20) / ((size_t)n * elem));

    return rows < 1 ? 1 : rows > n ? n : rows;
}

size_t pal__graph_mul_ws(const pal_graph_t *g, pal_dtype_t dtype, int64_t k)
{
    return pal__graph_mul_ws_ex(g, dtype, k, true);
}

size_t pal__graph_mul_ws_ex(const pal_graph_t *g, pal_dtype_t dtype,
                            int64_t k, bool dense)
{
    const size_t elem = pal_dtype_size(dtype);
    size_t need = 0;

    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *x = &g->terms[t];
        pal__ws_t w = {NULL, 0};

        switch (x->kind) {
        case PAL__DENSE:
            if (!dense)
                break;
            /* The conversion buffer (for another type), then a block of
             * rows of the product for pal__graph_quad. */
            pal__ws_take(&w, (size_t)convert_rows(g->n, elem) *
                                 ((x->dtype != dtype ? (size_t)g->n : 0) +
                                  (size_t)k) *
                                 elem);
            break;
        case PAL__BLOCK:
            /* Class sums, W times them, W^T times them. */
            pal__ws_take(&w, 3 * (size_t)x->nc * (size_t)k * sizeof(double));
            break;
        default:
            break;
        }
        need = w.used > need ? w.used : need;
    }
    return need;
}

/* Y += w * A X or w * A^T X for a dense term. */
static void mul_dense(pal_ctx_t *ctx, int64_t n, const pal__term_t *t,
                      double w, int trans, pal_dtype_t dtype, int64_t k,
                      const void *x, int64_t ldx, void *y, int64_t ldy,
                      void *ws)
{
    const size_t elem = pal_dtype_size(dtype);
    int64_t rows;

    if (t->dtype == dtype) {
        pal__gemm(ctx, dtype, n, k, n, w, t->a, trans ? 1 : t->lda,
                  trans ? t->lda : 1, x, ldx, 1, 1.0, y, ldy, 1);
        return;
    }

    /* Convert a block of rows of w A to X's type, then multiply: the
     * weight is applied in double first, so that entries beyond float's
     * range under a small weight stay finite. */
    rows = convert_rows(n, elem);
    for (int64_t r0 = 0; r0 < n; r0 += rows) {
        int64_t nr = n - r0 < rows ? n - r0 : rows;

        for (int64_t i = 0; i < nr; i++) {
            for (int64_t j = 0; j < n; j++) {
                double v =
                    w * pal__get(t->dtype, t->a, (r0 + i) * t->lda + j);

                if (dtype == PAL_F32)
                    ((float *)ws)[i * n + j] = (float)v;
                else
                    ((double *)ws)[i * n + j] = v;
            }
        }
        if (!trans) {
            pal__gemm(ctx, dtype, nr, k, n, 1.0, ws, n, 1, x, ldx, 1, 1.0,
                      (char *)y + (size_t)(r0 * ldy) * elem, ldy, 1);
        } else {
            pal__gemm(ctx, dtype, n, k, nr, 1.0, ws, 1, n,
                      (const char *)x + (size_t)(r0 * ldx) * elem, ldx, 1,
                      1.0, y, ldy, 1);
        }
    }
}

/* Add w * acc (double, k entries) to row i of Y. */
static void add_row(pal_dtype_t dtype, void *y, int64_t ldy, int64_t i,
                    int64_t k, double w, const double *acc)
{
    if (dtype == PAL_F32) {
        float *r = (float *)y + i * ldy;

        for (int64_t c = 0; c < k; c++)
            r[c] = (float)((double)r[c] + w * acc[c]);
    } else {
        double *r = (double *)y + i * ldy;

        for (int64_t c = 0; c < k; c++)
            r[c] += w * acc[c];
    }
}

/* acc += v * row j of X. */
static void axpy_row(pal_dtype_t dtype, const void *x, int64_t ldx,
                     int64_t j, int64_t k, double v, double *acc)
{
    if (dtype == PAL_F32) {
        const float *r = (const float *)x + j * ldx;

        for (int64_t c = 0; c < k; c++)
            acc[c] += v * (double)r[c];
    } else {
        const double *r = (const double *)x + j * ldx;

        for (int64_t c = 0; c < k; c++)
            acc[c] += v * r[c];
    }
}

/* Columns of a row of a CSR product summed at a time (in double, on the
 * stack), and entries ahead whose rows of X are fetched early: at large n
 * the rows gathered lie beyond the caches, and a row fetched a few
 * entries ahead arrives while the current ones are summed. */
#define CSR_COLS 64
#define CSR_AHEAD 8

/* Row i of Y += w * (row i of the CSR matrix) X. Every entry of the row
 * is summed in the same order whatever the threads. */
static void csr_row(const pal__term_t *t, const int64_t *ptr,
                    const int32_t *idx, const int64_t *pos, int64_t nnz,
                    int64_t i, double w, pal_dtype_t dtype, int64_t k,
                    const void *x, int64_t ldx, void *y, int64_t ldy)
{
    const size_t elem = pal_dtype_size(dtype);
    const size_t row_bytes = (size_t)k * elem;
    double acc[CSR_COLS];

    for (int64_t c0 = 0; c0 < k; c0 += CSR_COLS) {
        const int64_t nc = k - c0 < CSR_COLS ? k - c0 : CSR_COLS;
        const char *xc = (const char *)x + (size_t)c0 * elem;

        memset(acc, 0, sizeof acc);
        for (int64_t p = ptr[i]; p < ptr[i + 1]; p++) {
            const double v =
                t->vals ? pal__get(t->dtype, t->vals, pos ? pos[p] : p)
                        : 1.0;

            /* The first pass over the row brings every column in. */
            if (c0 == 0 && p + CSR_AHEAD < nnz) {
                const char *ahead = (const char *)x +
                                    (size_t)idx[p + CSR_AHEAD] *
                                        (size_t)ldx * elem;

                for (size_t b = 0; b < row_bytes && b < 1024; b += 64)
                    __builtin_prefetch(ahead + b);
            }
            axpy_row(dtype, xc, ldx, idx[p], nc, v, acc);
        }
        add_row(dtype, (char *)y + (size_t)c0 * elem, ldy, i, nc, w, acc);
    }
}

/* Y += w * A X or w * A^T X for a CSR term, rows split over nt threads
 * when the work is large enough to pay for them. */
static void mul_csr(int64_t n, const pal__term_t *t, double w, int trans,
                    pal_dtype_t dtype, int64_t k, const void *x, int64_t ldx,
                    void *y, int64_t ldy, int nt)
{
    const bool use_tr = trans && t->tr.ptr;
    const int64_t *ptr = use_tr ? t->tr.ptr : t->rowptr;
    const int32_t *idx = use_tr ? t->tr.idx : t->colidx;
    const int64_t *pos = use_tr ? t->tr.pos : NULL;
    const int64_t nnz = ptr[n];

    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) \
    if (nnz * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++)
        if (ptr[i] < ptr[i + 1])
            csr_row(t, ptr, idx, pos, nnz, i, w, dtype, k, x, ldx, y, ldy);
}

static void mul_block(int64_t n, const pal__term_t *t, double tw, int trans,
                      pal_dtype_t dtype, int64_t k, const void *x,
                      int64_t ldx, void *y, int64_t ldy, double *ws)
{
    double *s = ws, *out = ws;
    const pal__csr_t *w = trans ? &t->WT : &t->W;

    /* Every label unknown: the term is zero, and its workspace is empty
     * (possibly no workspace at all, which memset may not be given). */
    if (t->nc == 0)
        return;

    /* Class sums S = Y^T X. */
    memset(s, 0, (size_t)t->nc * (size_t)k * sizeof *s);
    for (int64_t i = 0; i < n; i++) {
        int32_t c = t->y ? t->y[i] : 0;

        if (c >= 0)
            axpy_row(dtype, x, ldx, i, k, 1.0, s + (size_t)c * (size_t)k);
    }

    /* Class mixing T = W S (or W^T S). */
    if (!t->wid) {
        out = ws + (size_t)t->nc * (size_t)k;
        memset(out, 0, (size_t)t->nc * (size_t)k * sizeof *out);
        for (int32_t a = 0; a < t->nc; a++) {
            for (int64_t p = w->ptr[a]; p < w->ptr[a + 1]; p++) {
                const double v = w->val[p];
                const double *src = s + (size_t)w->idx[p] * (size_t)k;
                double *dst = out + (size_t)a * (size_t)k;

                for (int64_t c = 0; c < k; c++)
                    dst[c] += v * src[c];
            }
        }
    }

    for (int64_t i = 0; i < n; i++) {
        int32_t c = t->y ? t->y[i] : 0;

        if (c >= 0)
            add_row(dtype, y, ldy, i, k, tw, out + (size_t)c * (size_t)k);
    }
}

static void mul_ident(int64_t n, const pal__term_t *t, double tw,
                      pal_dtype_t dtype,
                      int64_t k, const void *x, int64_t ldx, void *y,
                      int64_t ldy)
{
    for (int64_t i = 0; i < n; i++) {
        const double w = tw * pal__diag_at(t, i);

        if (dtype == PAL_F32) {
            const float *a = (const float *)x + i * ldx;
            float *b = (float *)y + i * ldy;

            for (int64_t c = 0; c < k; c++)
                b[c] = (float)((double)b[c] + w * (double)a[c]);
        } else {
            const double *a = (const double *)x + i * ldx;
            double *b = (double *)y + i * ldy;

            for (int64_t c = 0; c < k; c++)
                b[c] += w * a[c];
        }
    }
}

void pal__graph_mul(pal_ctx_t *ctx, const pal_graph_t *g, int trans,
                    pal_dtype_t dtype, int64_t k, const void *x, int64_t ldx,
                    void *y, int64_t ldy, void *ws)
{
    pal__graph_mul_ex(ctx, g, trans, dtype, k, x, ldx, y, ldy, ws, 0, 1.0,
                      false);
}

void pal__graph_mul_ex(pal_ctx_t *ctx, const pal_graph_t *g, int trans,
                       pal_dtype_t dtype, int64_t k, const void *x,
                       int64_t ldx, void *y, int64_t ldy, void *ws,
                       pal_dtype_t skip_dense, double alpha, bool accumulate)
{
    const size_t elem = pal_dtype_size(dtype);

    for (int64_t i = 0; i < g->n && !accumulate; i++)
        memset((char *)y + (size_t)(i * ldy) * elem, 0, (size_t)k * elem);
    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *term = &g->terms[t];
        const double w = alpha * term->w;

        if (term->kind == PAL__DENSE && term->dtype == skip_dense)
            continue;
        switch (term->kind) {
        case PAL__DENSE:
            mul_dense(ctx, g->n, term, w, trans, dtype, k, x, ldx, y, ldy,
                      ws);
            break;
        case PAL__CSR:
            mul_csr(g->n, term, w, trans, dtype, k, x, ldx, y, ldy,
                    pal__ctx_nthreads(ctx));
            break;
        case PAL__BLOCK:
            mul_block(g->n, term, w, trans, dtype, k, x, ldx, y, ldy, ws);
            break;
        default:
            mul_ident(g->n, term, w, dtype, k, x, ldx, y, ldy);
            break;
        }
    }
}

void pal__graph_mul_panels(const pal_graph_t *g, int mode,
                           const pal__panel_t *pl, pal_dtype_t dtype,
                           int64_t k, const void *x, int64_t ldx, void *y,
                           int64_t ldy, void *pw, void *ws)
{
    const size_t elem = pal_dtype_size(dtype);
    const int both = mode == PAL__PANEL_SYM;

    if (pal__graph_has_dense(g))
        pal__graph_dense_panels(g, mode, pl, dtype, k, x, ldx, 0.0, y, ldy,
                                pw);
    else
        for (int64_t i = 0; i < g->n; i++)
            memset((char *)y + (size_t)(i * ldy) * elem, 0, (size_t)k * elem);
    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *term = &g->terms[t];

        switch (term->kind) {
        case PAL__DENSE:
            break;
        case PAL__CSR:
            if (both)
                mul_csr(g->n, term, term->w, 0, dtype, k, x, ldx, y, ldy,
                        pl->nt);
            mul_csr(g->n, term, term->w, 1, dtype, k, x, ldx, y, ldy, pl->nt);
            break;
        case PAL__BLOCK:
            if (both)
                mul_block(g->n, term, term->w, 0, dtype, k, x, ldx, y, ldy,
                          ws);
            mul_block(g->n, term, term->w, 1, dtype, k, x, ldx, y, ldy, ws);
            break;
        default:
            mul_ident(g->n, term, both ? 2.0 * term->w : term->w, dtype, k, x,
                      ldx, y, ldy);
            break;
        }
    }
}

/*
 * <X, G X> = sum_ij G_ij x_i . x_j, without an n x k output: block terms
 * through their class sums, CSR and diagonal terms entry by entry, dense
 * terms by blocks of rows (the product of a block, dotted at once).
 */
double pal__graph_quad(pal_ctx_t *ctx, const pal_graph_t *g,
                       pal_dtype_t dtype, int64_t k, const void *x,
                       int64_t ldx, void *ws, pal_dtype_t skip_dense)
{
    const size_t elem = pal_dtype_size(dtype);
    const int64_t n = g->n;
    double total = 0.0;

    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *term = &g->terms[t];
        double q = 0.0;

        if (term->kind == PAL__DENSE && term->dtype == skip_dense)
            continue;
        switch (term->kind) {
        case PAL__DENSE: {
            /* Y_blk = A_blk X, rows of a block at a time, into ws after
             * the conversion buffer (none for Z's type). */
            int64_t rows = convert_rows(n, elem);
            void *yb = (char *)ws + (term->dtype != dtype
                                         ? (size_t)rows * (size_t)n * elem
                                         : 0);

            for (int64_t r0 = 0; r0 < n; r0 += rows) {
                int64_t nr = n - r0 < rows ? n - r0 : rows;
                const void *ab = (const char *)term->a +
                                 (size_t)(r0 * term->lda) *
                                     pal_dtype_size(term->dtype);
                int64_t lda = term->lda;

                if (term->dtype != dtype) {
                    /* Weighted in double before the conversion, as in
                     * mul_dense; the weight is then not applied again. */
                    for (int64_t i = 0; i < nr; i++)
                        for (int64_t j = 0; j < n; j++) {
                            double v = term->w * pal__get(term->dtype, ab,
                                                          i * term->lda + j);

                            if (dtype == PAL_F32)
                                ((float *)ws)[i * n + j] = (float)v;
                            else
                                ((double *)ws)[i * n + j] = v;
                        }
                    ab = ws;
                    lda = n;
                }
                pal__gemm(ctx, dtype, nr, k, n, 1.0, ab, lda, 1, x, ldx, 1,
                          0.0, yb, k, 1);
                for (int64_t i = 0; i < nr; i++)
                    for (int64_t c = 0; c < k; c++)
                        q += pal__get(dtype, yb, i * k + c) *
                             pal__get(dtype, x, (r0 + i) * ldx + c);
            }
            break;
        }
        case PAL__CSR:
            for (int64_t i = 0; i < n; i++)
                for (int64_t p = term->rowptr[i]; p < term->rowptr[i + 1];
                     p++) {
                    double v = term->vals ? pal__get(term->dtype, term->vals,
                                                     p)
                                          : 1.0, d = 0.0;

                    for (int64_t c = 0; c < k; c++)
                        d += pal__get(dtype, x, i * ldx + c) *
                             pal__get(dtype, x, term->colidx[p] * ldx + c);
                    q += v * d;
                }
            break;
        case PAL__BLOCK: {
            double *sums = ws;

            memset(sums, 0, (size_t)term->nc * (size_t)k * sizeof *sums);
            for (int64_t i = 0; i < n; i++) {
                int32_t c = term->y ? term->y[i] : 0;

                if (c >= 0)
                    axpy_row(dtype, x, ldx, i, k, 1.0,
                             sums + (size_t)c * (size_t)k);
            }
            for (int32_t a = 0; a < term->nc; a++) {
                const double *sa = sums + (size_t)a * (size_t)k;
                int64_t p0 = term->wid ? 0 : term->W.ptr[a];
                int64_t p1 = term->wid ? 1 : term->W.ptr[a + 1];

                for (int64_t p = p0; p < p1; p++) {
                    const double *sb =
                        sums + (size_t)(term->wid ? a : term->W.idx[p]) *
                                   (size_t)k;
                    double d = 0.0;

                    for (int64_t c = 0; c < k; c++)
                        d += sa[c] * sb[c];
                    q += (term->wid ? 1.0 : term->W.val[p]) * d;
                }
            }
            break;
        }
        default:
            for (int64_t i = 0; i < n; i++) {
                double d = 0.0;

                for (int64_t c = 0; c < k; c++)
                    d += pal__get(dtype, x, i * ldx + c) *
                         pal__get(dtype, x, i * ldx + c);
                q += pal__diag_at(term, i) * d;
            }
            break;
        }
        total += term->kind == PAL__DENSE && term->dtype != dtype
                     ? q
                     : term->w * q;
    }
    return total;
}

int pal_graph_matmul(pal_ctx_t *ctx, const pal_graph_t *g, int trans,
                     pal_dtype_t dtype, int64_t k, const void *x,
                     int64_t ldx, void *y, int64_t ldy)
{
    pal__ws_t ws;
    int rc;

    if (!ctx || !g || !x || !y)
        return PAL_E_NULL;
    if (trans != 0 && trans != 1)
        return PAL_E_RANGE;
    rc = pal__check_matrix(dtype, g->n, k, x, ldx);
    if (rc == PAL_OK)
        rc = pal__check_matrix(dtype, g->n, k, y, ldy);
    if (rc != PAL_OK)
        return rc;
    if (pal__overlap(x, pal__matrix_extent(dtype, g->n, k, ldx), y,
                     pal__matrix_extent(dtype, g->n, k, ldy)))
        return PAL_E_ALIAS;
    rc = pal__ctx_reserve(ctx, pal__graph_mul_ws(g, dtype, k), &ws);
    if (rc != PAL_OK)
        return rc;
    pal__graph_mul(ctx, g, trans, dtype, k, x, ldx, y, ldy, ws.base);
    return PAL_OK;
}

bool pal__graph_has_dense(const pal_graph_t *g)
{
    for (int64_t t = 0; t < g->nterms; t++)
        if (g->terms[t].kind == PAL__DENSE)
            return true;
    return false;
}

bool pal__graph_has_gathers(const pal_graph_t *g)
{
    for (int64_t t = 0; t < g->nterms; t++)
        if (g->terms[t].kind == PAL__DENSE || g->terms[t].kind == PAL__CSR)
            return true;
    return false;
}

void pal__block_sums(const pal__term_t *t, int64_t n, pal_dtype_t dtype,
                     int64_t k, const void *x, int64_t ldx, double *s, int nt)
{
    /* Split by columns: each column's class sums run over the rows in
     * order, whatever the thread count. */
    const int64_t cols = 16;

    memset(s, 0, (size_t)t->nc * (size_t)k * sizeof *s);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t c0 = 0; c0 < k; c0 += cols) {
        const int64_t w = k - c0 < cols ? k - c0 : cols;
        const size_t elem = pal_dtype_size(dtype);

        for (int64_t i = 0; i < n; i++) {
            int32_t c = t->y ? t->y[i] : 0;

            if (c >= 0)
                axpy_row(dtype, (const char *)x + (size_t)c0 * elem, ldx, i,
                         w, 1.0, s + (size_t)c * (size_t)k + c0);
        }
    }
    (void)nt;
}

void pal__block_mix(const pal__term_t *t, int trans, int64_t k,
                    const double *s, double *out)
{
    const pal__csr_t *w = trans ? &t->WT : &t->W;

    if (t->wid) {
        memcpy(out, s, (size_t)t->nc * (size_t)k * sizeof *out);
        return;
    }
    memset(out, 0, (size_t)t->nc * (size_t)k * sizeof *out);
    for (int32_t a = 0; a < t->nc; a++)
        for (int64_t p = w->ptr[a]; p < w->ptr[a + 1]; p++) {
            const double v = w->val[p];
            const double *src = s + (size_t)w->idx[p] * (size_t)k;
            double *dst = out + (size_t)a * (size_t)k;

            for (int64_t c = 0; c < k; c++)
                dst[c] += v * src[c];
        }
}

void pal__block_scatter(const pal__term_t *t, int64_t n, pal_dtype_t dtype,
                        int64_t k, const double *rows, double alpha, void *y,
                        int64_t ldy, int nt)
{
    const size_t elem = pal_dtype_size(dtype);

#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++) {
        int32_t c = t->y ? t->y[i] : 0;

        memset((char *)y + (size_t)(i * ldy) * elem, 0, (size_t)k * elem);
        if (c >= 0)
            add_row(dtype, y, ldy, i, k, alpha, rows + (size_t)c * (size_t)k);
    }
    (void)nt;
}

size_t pal__graph_prep_ws(const pal_graph_t *g, int64_t k)
{
    pal__ws_t w = {NULL, 0};

    for (int64_t t = 0; t < g->nterms; t++)
        if (g->terms[t].kind == PAL__BLOCK)
            pal__ws_take(&w, 2 * (size_t)g->terms[t].nc * (size_t)k *
                                 sizeof(double));
    return w.used;
}

double pal__graph_quad_prep(pal_ctx_t *ctx, const pal_graph_t *g,
                            pal_dtype_t dtype, int64_t k, const void *x,
                            int64_t ldx, bool both, void *prep, void *ws)
{
    pal__ws_t at = {prep, 0};
    double total = 0.0;

    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *term = &g->terms[t];
        pal_graph_t one = *g;

        if (term->kind == PAL__BLOCK) {
            const size_t ck = (size_t)term->nc * (size_t)k;
            double *s = pal__ws_take(&at, 2 * ck * sizeof(double));
            double *ms = s + ck, q = 0.0;

            /* s <- class sums; ms <- W s; the form is s . W s; then s is
             * reused for (W + W^T) s when both. */
            pal__block_sums(term, g->n, dtype, k, x, ldx, s,
                            pal__ctx_nthreads(ctx));
            pal__block_mix(term, 0, k, s, ms);
            for (size_t e = 0; e < ck; e++)
                q += s[e] * ms[e];
            total += term->w * q;
            if (both) {
                double *mts = ws;

                pal__block_mix(term, 1, k, s, mts);
                for (size_t e = 0; e < ck; e++)
                    ms[e] += mts[e];
            }
            continue;
        }
        one.terms = (pal__term_t *)term;
        one.nterms = 1;
        total += pal__graph_quad(ctx, &one, dtype, k, x, ldx, ws, 0);
    }
    return total;
}

void pal__graph_apply_prep(const pal_graph_t *g, pal_dtype_t dtype, int64_t k,
                           const void *x, int64_t ldx, double alpha, bool both,
                           const void *prep, void *y, int64_t ldy, int nt)
{
    const size_t elem = pal_dtype_size(dtype);
    const int64_t n = g->n;
    pal__ws_t at = {(char *)prep, 0};
    bool written = false;

    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *term = &g->terms[t];
        const double w = alpha * term->w;

        if (term->kind == PAL__BLOCK) {
            const size_t ck = (size_t)term->nc * (size_t)k;
            const double *ms =
                (const double *)pal__ws_take(&at, 2 * ck * sizeof(double)) +
                ck;

            if (!written) {
                pal__block_scatter(term, n, dtype, k, ms, w, y, ldy, nt);
                written = true;
                continue;
            }
            for (int64_t i = 0; i < n; i++) {
                int32_t c = term->y ? term->y[i] : 0;

                if (c >= 0)
                    add_row(dtype, y, ldy, i, k, w,
                            ms + (size_t)c * (size_t)k);
            }
            continue;
        }
        if (!written) {
            for (int64_t i = 0; i < n; i++)
                memset((char *)y + (size_t)(i * ldy) * elem, 0,
                       (size_t)k * elem);
            written = true;
        }
        if (term->kind == PAL__CSR) {
            mul_csr(n, term, w, 0, dtype, k, x, ldx, y, ldy, nt);
            if (both)
                mul_csr(n, term, w, 1, dtype, k, x, ldx, y, ldy, nt);
        } else {
            mul_ident(n, term, both ? 2.0 * w : w, dtype, k, x, ldx, y, ldy);
        }
    }
    if (!written)
        for (int64_t i = 0; i < n; i++)
            memset((char *)y + (size_t)(i * ldy) * elem, 0, (size_t)k * elem);
}
