/*
 * The graph object: creation, terms, builders and queries.
 *
 * Adding a term runs in two phases. The first validates the input,
 * allocates everything the term owns and measures it (its row sums,
 * column sums, diagonal, extreme entries, symmetry and its Frobenius
 * products with the terms already there); any failure there leaves the
 * graph as it was. The second phase commits the measurements and cannot
 * fail.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "graph_internal.h"

int pal_graph_create(pal_graph_t **out, int64_t n,
                     const pal_allocator_t *alloc)
{
    pal_allocator_t a;
    pal_graph_t *g;

    if (!out)
        return PAL_E_NULL;
    if (n < 1 || n > PAL__MAX_N)
        return PAL_E_SIZE;
    pal__allocator_init(&a, alloc);
    g = pal__alloc(&a, sizeof *g);
    if (!g)
        return PAL_E_NOMEM;
    memset(g, 0, sizeof *g);
    g->alloc = a;
    g->n = n;
    g->diag = pal__calloc_array(&a, (size_t)n, sizeof *g->diag);
    g->rowsum = pal__calloc_array(&a, (size_t)n, sizeof *g->rowsum);
    g->colsum = pal__calloc_array(&a, (size_t)n, sizeof *g->colsum);
    if (!g->diag || !g->rowsum || !g->colsum) {
        pal_graph_destroy(g);
        return PAL_E_NOMEM;
    }
    *out = g;
    return PAL_OK;
}

void pal_graph_destroy(pal_graph_t *g)
{
    if (!g)
        return;
    for (int64_t t = 0; t < g->nterms; t++)
        pal__term_free(&g->alloc, &g->terms[t]);
    pal__free(&g->alloc, g->terms);
    pal__free(&g->alloc, g->diag);
    pal__free(&g->alloc, g->rowsum);
    pal__free(&g->alloc, g->colsum);
    pal__free(&g->alloc, g);
}

/* ---- Measuring and committing a term ------------------------------------- */

/* A term being added with its unweighted per-item summaries. */
typedef struct pending {
    pal__term_t t;
    double *row, *col, *diag;  /* n each, one block of 3 n */
    double *cross;             /* <T, T_b> for each existing term b */
} pending_t;

static int pending_init(pal_graph_t *g, pending_t *p, int kind, double w)
{
    memset(p, 0, sizeof *p);
    p->t.kind = kind;
    p->t.w = w;
    p->row = pal__calloc_array(&g->alloc, 3 * (size_t)g->n, sizeof(double));
    if (!p->row)
        return PAL_E_NOMEM;
    p->col = p->row + g->n;
    p->diag = p->col + g->n;

    /* Make room for one more term now, so that committing cannot fail. */
    if (g->nterms == g->cap) {
        int64_t cap = g->cap ? 2 * g->cap : 4;
        pal__term_t *terms = pal__alloc_array(&g->alloc, (size_t)cap,
                                              sizeof *terms);

        if (!terms) {
            pal__free(&g->alloc, p->row);
            return PAL_E_NOMEM;
        }
        if (g->nterms)
            memcpy(terms, g->terms, (size_t)g->nterms * sizeof *terms);
        pal__free(&g->alloc, g->terms);
        g->terms = terms;
        g->cap = cap;
    }
    return PAL_OK;
}

static void pending_abort(pal_graph_t *g, pending_t *p)
{
    pal__term_free(&g->alloc, &p->t);
    pal__free(&g->alloc, p->row);
    pal__free(&g->alloc, p->cross);
}

/* w^2 <T, T>: when the entries' squares overflow but the weighted ones
 * need not (entries 1e160 under weight 1e-160), the sum is taken again
 * with the entries scaled by a power of two near their largest, which
 * the weight then undoes exactly. */
static double self_weighted(int64_t n, const pal__term_t *t)
{
    double amax = fmax(fabs(t->lo), fabs(t->hi)), s;
    int e;

    if (t->self <= DBL_MAX || !(amax <= DBL_MAX))
        return t->w * (t->w * t->self);
    (void)frexp(amax, &e);
    s = ldexp(1.0, -e);
    return (t->w / s) * ((t->w / s) * pal__term_self_scaled(n, t, s));
}

/* Compute the Frobenius products with the existing terms, then commit. */
static int pending_commit(pal_graph_t *g, pending_t *p)
{
    const double w = p->t.w;
    double frob2;

    if (g->nterms) {
        p->cross = pal__alloc_array(&g->alloc, (size_t)g->nterms,
                                    sizeof *p->cross);
        if (!p->cross) {
            pending_abort(g, p);
            return PAL_E_NOMEM;
        }
    }
    for (int64_t b = 0; b < g->nterms; b++) {
        int rc = pal__term_frob(&g->alloc, g->n, &p->t, &g->terms[b],
                                &p->cross[b]);
        if (rc != PAL_OK) {
            pending_abort(g, p);
            return rc;
        }
    }

    /* The products of weights go last: a large weight on a zero term
     * (or on orthogonal terms) adds zero, not infinity times zero. */
    frob2 = g->frob2 + self_weighted(g->n, &p->t);
    for (int64_t b = 0; b < g->nterms; b++)
        frob2 += 2.0 * (w * (g->terms[b].w * p->cross[b]));
    /* Cancelling terms can leave a tiny negative residue; a NaN from
     * non-finite weights stays NaN rather than passing for zero. */
    g->frob2 = frob2 < 0.0 ? 0.0 : frob2;
    for (int64_t i = 0; i < g->n; i++) {
        g->rowsum[i] += w * p->row[i];
        g->colsum[i] += w * p->col[i];
        g->diag[i] += w * p->diag[i];
    }
    g->terms[g->nterms++] = p->t;
    pal__free(&g->alloc, p->row);
    pal__free(&g->alloc, p->cross);
    return PAL_OK;
}

static bool finite(double x)
{
    return x - x == 0.0;
}

/* ---- Dense --------------------------------------------------------------- */

int pal_graph_add_dense(pal_graph_t *g, double weight, pal_dtype_t dtype,
                        const void *a, int64_t lda, unsigned flags)
{
    pending_t p;
    pal__term_t *t = &p.t;
    int rc;

    if (!g || !a)
        return PAL_E_NULL;
    if (pal_dtype_size(dtype) == 0)
        return PAL_E_TYPE;
    if (flags & ~(unsigned)PAL_GRAPH_CHECK_FINITE)
        return PAL_E_RANGE;
    rc = pal__check_matrix(dtype, g->n, g->n, a, lda);
    if (rc != PAL_OK)
        return rc;
    if (!finite(weight))
        return PAL_E_NONFINITE;
    if ((flags & PAL_GRAPH_CHECK_FINITE) &&
        !pal__matrix_finite(dtype, g->n, g->n, a, lda))
        return PAL_E_NONFINITE;
    if (weight == 0.0)
        return PAL_OK;

    rc = pending_init(g, &p, PAL__DENSE, weight);
    if (rc != PAL_OK)
        return rc;
    t->dtype = dtype;
    t->a = a;
    t->lda = lda;
    t->symmetric = true;
    t->lo = t->hi = pal__get(dtype, a, 0);
    for (int64_t i = 0; i < g->n; i++) {
        double rs = 0.0;

        for (int64_t j = 0; j < g->n; j++) {
            double v = pal__get(dtype, a, i * lda + j);

            rs += v;
            p.col[j] += v;
            t->self += v * v;
            /* fmin and fmax skip NaN: a NaN first entry must not hide
             * the sign of the others. */
            t->lo = fmin(t->lo, v);
            t->hi = fmax(t->hi, v);
            if (j < i && v != pal__get(dtype, a, j * lda + i))
                t->symmetric = false;
        }
        p.row[i] = rs;
        p.diag[i] = pal__get(dtype, a, i * lda + i);
    }
    return pending_commit(g, &p);
}

/* ---- CSR ----------------------------------------------------------------- */

static int validate_csr(int64_t n, int64_t nnz, const int64_t *rowptr,
                        const int32_t *colidx)
{
    if (rowptr[0] != 0 || rowptr[n] != nnz)
        return PAL_E_CSR;
    for (int64_t i = 0; i < n; i++) {
        if (rowptr[i + 1] < rowptr[i] || rowptr[i + 1] > nnz)
            return PAL_E_CSR;
        for (int64_t q = rowptr[i]; q < rowptr[i + 1]; q++) {
            if (colidx[q] < 0 || colidx[q] >= n)
                return PAL_E_CSR;
            if (q > rowptr[i] && colidx[q] <= colidx[q - 1])
                return PAL_E_CSR;
        }
    }
    return PAL_OK;
}

/* Build the transpose of an n x n CSR structure (positions only). */
static int csr_transpose(const pal_allocator_t *alloc, int64_t n,
                         int64_t nnz, const int64_t *rowptr,
                         const int32_t *colidx, pal__csr_t *tr)
{
    int64_t *next;

    tr->ptr = pal__calloc_array(alloc, (size_t)n + 1, sizeof *tr->ptr);
    tr->idx = pal__alloc_array(alloc, (size_t)nnz, sizeof *tr->idx);
    tr->pos = pal__alloc_array(alloc, (size_t)nnz, sizeof *tr->pos);
    next = pal__alloc_array(alloc, (size_t)n, sizeof *next);
    if (!tr->ptr || !tr->idx || !tr->pos || !next) {
        pal__free(alloc, next);
        return PAL_E_NOMEM;
    }
    for (int64_t q = 0; q < nnz; q++)
        tr->ptr[colidx[q] + 1]++;
    for (int64_t i = 0; i < n; i++)
        tr->ptr[i + 1] += tr->ptr[i];
    memcpy(next, tr->ptr, (size_t)n * sizeof *next);
    /* Rows are visited in order, so each transposed row comes sorted. */
    for (int64_t i = 0; i < n; i++) {
        for (int64_t q = rowptr[i]; q < rowptr[i + 1]; q++) {
            int64_t at = next[colidx[q]]++;

            tr->idx[at] = (int32_t)i;
            tr->pos[at] = q;
        }
    }
    pal__free(alloc, next);
    return PAL_OK;
}

int pal_graph_add_csr(pal_graph_t *g, double weight, pal_dtype_t dtype,
                      int64_t nnz, const int64_t *rowptr,
                      const int32_t *colidx, const void *values,
                      unsigned flags)
{
    pending_t p;
    pal__term_t *t = &p.t;
    int64_t n2;
    bool sym;
    int rc;

    if (!g || !rowptr || (nnz > 0 && !colidx))
        return PAL_E_NULL;
    if (pal_dtype_size(dtype) == 0)
        return PAL_E_TYPE;
    if (PAL__MISALIGNED(rowptr, int64_t) || PAL__MISALIGNED(colidx, int32_t) ||
        (values && (uintptr_t)values % pal_dtype_size(dtype) != 0))
        return PAL_E_ALIGN;
    if (flags & ~(unsigned)PAL_GRAPH_CHECK_FINITE)
        return PAL_E_RANGE;
    if (nnz < 0 || !pal__mul_i64(g->n, g->n, &n2) || nnz > n2)
        return PAL_E_SIZE;
    rc = validate_csr(g->n, nnz, rowptr, colidx);
    if (rc != PAL_OK)
        return rc;
    if (!finite(weight))
        return PAL_E_NONFINITE;
    if (values && (flags & PAL_GRAPH_CHECK_FINITE)) {
        for (int64_t q = 0; q < nnz; q++)
            if (!finite(pal__get(dtype, values, q)))
                return PAL_E_NONFINITE;
    }
    if (weight == 0.0)
        return PAL_OK;

    rc = pending_init(g, &p, PAL__CSR, weight);
    if (rc != PAL_OK)
        return rc;
    t->dtype = dtype;
    t->nnz = nnz;
    t->rowptr = rowptr;
    t->colidx = colidx;
    t->vals = values;
    if (nnz > 0) {
        rc = csr_transpose(&g->alloc, g->n, nnz, rowptr, colidx, &t->tr);
        if (rc != PAL_OK) {
            pending_abort(g, &p);
            return rc;
        }
    }

    /* Implicit zeros count among the entries when some are missing. */
    t->lo = nnz < n2 ? 0.0 : INFINITY;
    t->hi = nnz < n2 ? 0.0 : -INFINITY;
    for (int64_t i = 0; i < g->n; i++) {
        for (int64_t q = rowptr[i]; q < rowptr[i + 1]; q++) {
            double v = values ? pal__get(dtype, values, q) : 1.0;

            p.row[i] += v;
            p.col[colidx[q]] += v;
            if (colidx[q] == i)
                p.diag[i] = v;
            t->self += v * v;
            t->lo = v < t->lo ? v : t->lo;
            t->hi = v > t->hi ? v : t->hi;
        }
    }

    /* Symmetric exactly when the transpose has the same structure and
     * the same values; then it is not needed. */
    sym = true;
    if (nnz > 0) {
        sym = memcmp(t->tr.ptr, rowptr, ((size_t)g->n + 1) * sizeof *rowptr)
                  == 0 &&
              memcmp(t->tr.idx, colidx, (size_t)nnz * sizeof *colidx) == 0;
        for (int64_t q = 0; sym && values && q < nnz; q++)
            sym = pal__get(dtype, values, t->tr.pos[q]) ==
                  pal__get(dtype, values, q);
        if (sym) {
            pal__term_t keep = *t;

            memset(&keep.tr, 0, sizeof keep.tr);
            pal__free(&g->alloc, t->tr.ptr);
            pal__free(&g->alloc, t->tr.idx);
            pal__free(&g->alloc, t->tr.pos);
            *t = keep;
        }
    }
    t->symmetric = sym;
    return pending_commit(g, &p);
}

/* ---- Block terms --------------------------------------------------------- */

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;

    return a < b ? -1 : a > b;
}

/* Index of v in the sorted distinct array u[0..m), or -1. */
static int32_t lookup(const int32_t *u, int32_t m, int32_t v)
{
    int32_t lo = 0, hi = m;

    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;

        if (u[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m && u[lo] == v ? lo : -1;
}

typedef struct entry {
    int32_t a, b;
    double w;
} entry_t;

static int cmp_entry(const void *x, const void *y)
{
    const entry_t *p = x, *q = y;

    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

/* Build a CSR class matrix from sorted, merged entries (rows = nc). */
static int class_csr(const pal_allocator_t *alloc, int32_t nc,
                     const entry_t *e, int64_t ne, bool transpose,
                     pal__csr_t *m)
{
    m->ptr = pal__calloc_array(alloc, (size_t)nc + 1, sizeof *m->ptr);
    m->idx = pal__alloc_array(alloc, (size_t)ne, sizeof *m->idx);
    m->val = pal__alloc_array(alloc, (size_t)ne, sizeof *m->val);
    if (!m->ptr || !m->idx || !m->val)
        return PAL_E_NOMEM;
    for (int64_t q = 0; q < ne; q++)
        m->ptr[(transpose ? e[q].b : e[q].a) + 1]++;
    for (int32_t c = 0; c < nc; c++)
        m->ptr[c + 1] += m->ptr[c];
    if (!transpose) {
        for (int64_t q = 0; q < ne; q++) {
            m->idx[q] = e[q].b;
            m->val[q] = e[q].w;
        }
        return PAL_OK;
    }
    /* Entries are sorted by (a, b): scattering by b keeps each transposed
     * row sorted by a. The row starts are restored afterwards. */
    for (int64_t q = 0; q < ne; q++) {
        int64_t at = m->ptr[e[q].b]++;

        m->idx[at] = e[q].a;
        m->val[at] = e[q].w;
    }
    for (int32_t c = nc; c > 0; c--)
        m->ptr[c] = m->ptr[c - 1];
    m->ptr[0] = 0;
    return PAL_OK;
}

/*
 * Add a block term. labels may be NULL (every item in one class: the
 * constant term). With n_entries < 0 the class matrix is the identity.
 */
static int add_block(pal_graph_t *g, double weight, const int32_t *labels,
                     int64_t n_entries, const int32_t *ea, const int32_t *eb,
                     const double *ew)
{
    const int64_t n = g->n;
    pending_t p;
    pal__term_t *t = &p.t;
    int32_t *uniq = NULL, nu = 0;
    entry_t *e = NULL;
    int64_t ne = 0;
    double *rs = NULL, *cs = NULL;
    int rc;

    if (!finite(weight))
        return PAL_E_NONFINITE;
    /* Block labels share the range of the class indices, which stops
     * short of INT32_MAX; plain labels may take any int32 value. */
    for (int64_t i = 0; labels && i < n; i++)
        if (labels[i] < -1 || (n_entries >= 0 && labels[i] == INT32_MAX))
            return PAL_E_INDEX;
    for (int64_t q = 0; q < n_entries; q++) {
        if (ea[q] < 0 || eb[q] < 0 || ea[q] == INT32_MAX ||
            eb[q] == INT32_MAX)
            return PAL_E_INDEX;
        if (!finite(ew[q]))
            return PAL_E_NONFINITE;
    }
    if (weight == 0.0)
        return PAL_OK;

    rc = pending_init(g, &p, PAL__BLOCK, weight);
    if (rc != PAL_OK)
        return rc;
    rc = PAL_E_NOMEM;

    /* Compact the labels to 0..nc-1 in increasing order of value. */
    if (labels) {
        t->y = pal__alloc_array(&g->alloc, (size_t)n, sizeof *t->y);
        uniq = pal__alloc_array(&g->alloc, (size_t)n, sizeof *uniq);
        if (!t->y || !uniq)
            goto fail;
        for (int64_t i = 0; i < n; i++)
            if (labels[i] >= 0)
                uniq[nu++] = labels[i];
        qsort(uniq, (size_t)nu, sizeof *uniq, cmp_i32);
        {
            int32_t m = 0;

            for (int32_t q = 0; q < nu; q++)
                if (q == 0 || uniq[q] != uniq[q - 1])
                    uniq[m++] = uniq[q];
            nu = m;
        }
        for (int64_t i = 0; i < n; i++)
            t->y[i] = labels[i] < 0 ? -1 : lookup(uniq, nu, labels[i]);
        t->nc = nu;
    } else {
        t->nc = 1;
    }
    t->count = pal__calloc_array(&g->alloc, (size_t)t->nc + 1,
                                 sizeof *t->count);
    rs = pal__calloc_array(&g->alloc, 2 * ((size_t)t->nc + 1), sizeof *rs);
    if (!t->count || !rs)
        goto fail;
    cs = rs + t->nc + 1;
    for (int64_t i = 0; i < n; i++) {
        int32_t c = t->y ? t->y[i] : 0;

        if (c >= 0)
            t->count[c]++;
    }

    t->wid = n_entries < 0;
    if (!t->wid) {
        /* Map the class pairs, drop classes no item has, sort and sum
         * repeated pairs. */
        e = pal__alloc_array(&g->alloc, (size_t)n_entries + 1, sizeof *e);
        if (!e)
            goto fail;
        for (int64_t q = 0; q < n_entries; q++) {
            int32_t a = labels ? lookup(uniq, nu, ea[q]) : (ea[q] ? -1 : 0);
            int32_t b = labels ? lookup(uniq, nu, eb[q]) : (eb[q] ? -1 : 0);

            if (a >= 0 && b >= 0)
                e[ne++] = (entry_t){a, b, ew[q]};
        }
        qsort(e, (size_t)ne, sizeof *e, cmp_entry);
        {
            int64_t m = 0;

            for (int64_t q = 0; q < ne; q++) {
                if (m > 0 && e[q].a == e[m - 1].a && e[q].b == e[m - 1].b)
                    e[m - 1].w += e[q].w;
                else
                    e[m++] = e[q];
            }
            ne = m;
        }
        if (class_csr(&g->alloc, t->nc, e, ne, false, &t->W) != PAL_OK ||
            class_csr(&g->alloc, t->nc, e, ne, true, &t->WT) != PAL_OK)
            goto fail;
    }

    /* Summaries per class, then per item. */
    t->lo = t->hi = 0.0;
    if (t->wid) {
        t->symmetric = true;
        t->hi = t->nc > 0 ? 1.0 : 0.0;
        for (int32_t c = 0; c < t->nc; c++) {
            t->self += (double)t->count[c] * (double)t->count[c];
            rs[c] = cs[c] = (double)t->count[c];
        }
    } else {
        t->symmetric =
            memcmp(t->W.ptr, t->WT.ptr,
                   ((size_t)t->nc + 1) * sizeof *t->W.ptr) == 0 &&
            (ne == 0 ||
             (memcmp(t->W.idx, t->WT.idx, (size_t)ne * sizeof *t->W.idx) ==
                  0 &&
              memcmp(t->W.val, t->WT.val, (size_t)ne * sizeof *t->W.val) ==
                  0));
        for (int64_t q = 0; q < ne; q++) {
            double na = (double)t->count[e[q].a];
            double nb = (double)t->count[e[q].b];

            t->self += e[q].w * e[q].w * na * nb;
            rs[e[q].a] += e[q].w * nb;
            cs[e[q].b] += e[q].w * na;
            t->lo = e[q].w < t->lo ? e[q].w : t->lo;
            t->hi = e[q].w > t->hi ? e[q].w : t->hi;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t c = t->y ? t->y[i] : 0;

        if (c < 0)
            continue;
        p.row[i] = rs[c];
        p.col[i] = cs[c];
        p.diag[i] = pal__term_entry(t, i, i);
    }

    pal__free(&g->alloc, uniq);
    pal__free(&g->alloc, e);
    pal__free(&g->alloc, rs);
    return pending_commit(g, &p);

fail:
    pal__free(&g->alloc, uniq);
    pal__free(&g->alloc, e);
    pal__free(&g->alloc, rs);
    pending_abort(g, &p);
    return rc;
}

int pal_graph_add_labels(pal_graph_t *g, double weight,
                         const int32_t *labels)
{
    if (!g || !labels)
        return PAL_E_NULL;
    if (PAL__MISALIGNED(labels, int32_t))
        return PAL_E_ALIGN;
    return add_block(g, weight, labels, -1, NULL, NULL, NULL);
}

int pal_graph_add_blocks(pal_graph_t *g, double weight,
                         const int32_t *labels, int64_t n_entries,
                         const int32_t *a, const int32_t *b, const double *w)
{
    if (!g || !labels || (n_entries > 0 && (!a || !b || !w)))
        return PAL_E_NULL;
    if (PAL__MISALIGNED(labels, int32_t) || PAL__MISALIGNED(a, int32_t) ||
        PAL__MISALIGNED(b, int32_t) || PAL__MISALIGNED(w, double))
        return PAL_E_ALIGN;
    if (n_entries < 0)
        return PAL_E_SIZE;
    return add_block(g, weight, labels, n_entries, a, b, w);
}

int pal_graph_add_constant(pal_graph_t *g, double c)
{
    if (!g)
        return PAL_E_NULL;
    return add_block(g, c, NULL, -1, NULL, NULL, NULL);
}

/* Add weight * diag(d), or weight * I when d is NULL. */
static int add_diag(pal_graph_t *g, double weight, const double *d)
{
    pending_t p;
    int rc;

    if (!finite(weight))
        return PAL_E_NONFINITE;
    for (int64_t i = 0; d && i < g->n; i++)
        if (!finite(d[i]))
            return PAL_E_NONFINITE;
    if (weight == 0.0)
        return PAL_OK;
    rc = pending_init(g, &p, PAL__IDENT, weight);
    if (rc != PAL_OK)
        return rc;
    if (d) {
        p.t.d = pal__alloc_array(&g->alloc, (size_t)g->n, sizeof *p.t.d);
        if (!p.t.d) {
            pending_abort(g, &p);
            return PAL_E_NOMEM;
        }
        memcpy(p.t.d, d, (size_t)g->n * sizeof *d);
    }
    p.t.symmetric = true;
    /* Off the diagonal every entry is zero. */
    p.t.lo = g->n > 1 ? 0.0 : INFINITY;
    p.t.hi = g->n > 1 ? 0.0 : -INFINITY;
    for (int64_t i = 0; i < g->n; i++) {
        double v = pal__diag_at(&p.t, i);

        p.t.self += v * v;
        p.t.lo = v < p.t.lo ? v : p.t.lo;
        p.t.hi = v > p.t.hi ? v : p.t.hi;
        p.row[i] = p.col[i] = p.diag[i] = v;
    }
    return pending_commit(g, &p);
}

int pal_graph_add_identity(pal_graph_t *g, double c)
{
    if (!g)
        return PAL_E_NULL;
    return add_diag(g, c, NULL);
}

int pal_graph_add_diagonal(pal_graph_t *g, double weight, const double *d)
{
    if (!g || !d)
        return PAL_E_NULL;
    if (PAL__MISALIGNED(d, double))
        return PAL_E_ALIGN;
    return add_diag(g, weight, d);
}

/* ---- Builders ------------------------------------------------------------ */

int pal_graph_supervised(pal_graph_t **out, int64_t n0,
                         const int32_t *labels, int64_t repeats,
                         const pal_allocator_t *alloc)
{
    pal_allocator_t a;
    pal_graph_t *g;
    int32_t *y;
    int64_t n;
    int rc;

    if (!out || !labels)
        return PAL_E_NULL;
    if (PAL__MISALIGNED(labels, int32_t))
        return PAL_E_ALIGN;
    if (n0 < 1 || repeats < 1 || !pal__mul_i64(n0, repeats, &n) ||
        n > PAL__MAX_N)
        return PAL_E_SIZE;
    for (int64_t i = 0; i < n0; i++)
        if (labels[i] < -1)
            return PAL_E_INDEX;
    pal__allocator_init(&a, alloc);
    y = pal__alloc_array(&a, (size_t)n, sizeof *y);
    if (!y)
        return PAL_E_NOMEM;
    for (int64_t i = 0; i < n; i++)
        y[i] = labels[i / repeats];
    rc = pal_graph_create(&g, n, &a);
    if (rc == PAL_OK) {
        rc = pal_graph_add_labels(g, 1.0, y);
        if (rc != PAL_OK)
            pal_graph_destroy(g);
        else
            *out = g;
    }
    pal__free(&a, y);
    return rc;
}

/* Source sample of each row as int32 labels; checks the arguments. */
static int ssl_labels(const pal_allocator_t *a, int64_t n, int64_t views,
                      const int64_t *source, int32_t **out)
{
    int32_t *y;

    if (n < 1 || n > PAL__MAX_N)
        return PAL_E_SIZE;
    if (!source && views < 1)
        return PAL_E_SIZE;
    if (!source && n % views != 0)
        return PAL_E_SHAPE;
    for (int64_t i = 0; source && i < n; i++)
        if (source[i] < 0 || source[i] >= n)
            return PAL_E_INDEX;
    y = pal__alloc_array(a, (size_t)n, sizeof *y);
    if (!y)
        return PAL_E_NOMEM;
    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(source ? source[i] : i / views);
    *out = y;
    return PAL_OK;
}

int pal_graph_ssl(pal_graph_t **out, int64_t n, int64_t views,
                  const int64_t *source, const pal_allocator_t *alloc)
{
    return pal_graph_mixture(out, n, 0.0, views, source, NULL, alloc);
}

int pal_graph_mixture(pal_graph_t **out, int64_t n, double alpha,
                      int64_t views, const int64_t *source,
                      const int32_t *labels, const pal_allocator_t *alloc)
{
    pal_allocator_t a;
    pal_graph_t *g;
    int32_t *y;
    int rc;

    if (!out)
        return PAL_E_NULL;
    if (!(alpha >= 0.0 && alpha <= 1.0))
        return PAL_E_RANGE;
    if (alpha > 0.0 && !labels)
        return PAL_E_NULL;
    if (PAL__MISALIGNED(labels, int32_t) || PAL__MISALIGNED(source, int64_t))
        return PAL_E_ALIGN;
    /* The size comes first: the labels are n entries only if n is valid. */
    if (n < 1 || n > PAL__MAX_N)
        return PAL_E_SIZE;
    for (int64_t i = 0; labels && i < n; i++)
        if (labels[i] < -1)
            return PAL_E_INDEX;
    pal__allocator_init(&a, alloc);
    rc = ssl_labels(&a, n, views, source, &y);
    if (rc != PAL_OK)
        return rc;
    rc = pal_graph_create(&g, n, &a);
    if (rc == PAL_OK) {
        rc = pal_graph_add_labels(g, 1.0 - alpha, y);
        if (rc == PAL_OK && alpha > 0.0)
            rc = pal_graph_add_labels(g, alpha, labels);
        if (rc != PAL_OK)
            pal_graph_destroy(g);
        else
            *out = g;
    }
    pal__free(&a, y);
    return rc;
}

/* ---- Queries ------------------------------------------------------------- */

int64_t pal_graph_n(const pal_graph_t *g)
{
    return g ? g->n : -1;
}

int64_t pal_graph_n_terms(const pal_graph_t *g)
{
    return g ? g->nterms : -1;
}

int pal_graph_frobenius2(const pal_graph_t *g, double *out)
{
    if (!g || !out)
        return PAL_E_NULL;
    *out = g->frob2;
    return PAL_OK;
}

bool pal__graph_finite(const pal_graph_t *g)
{
    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *x = &g->terms[t];

        if (x->kind == PAL__DENSE &&
            !pal__matrix_finite(x->dtype, g->n, g->n, x->a, x->lda))
            return false;
        if (x->kind == PAL__CSR && x->vals && x->nnz > 0 &&
            !pal__matrix_finite(x->dtype, 1, x->nnz, x->vals, x->nnz))
            return false;
    }
    return true;
}

bool pal__graph_symmetric(const pal_graph_t *g)
{
    for (int64_t t = 0; t < g->nterms; t++)
        if (!g->terms[t].symmetric)
            return false;
    return true;
}

bool pal__graph_nonnegative(const pal_graph_t *g)
{
    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *x = &g->terms[t];

        if (x->w * x->lo < 0.0 || x->w * x->hi < 0.0)
            return false;
    }
    return true;
}

bool pal__graph_nonzero(const pal_graph_t *g)
{
    /* A term holding NaN has a NaN norm: it is not a zero term, and the
     * loss that uses it reports the non-finite input. */
    for (int64_t t = 0; t < g->nterms; t++)
        if (g->terms[t].self != 0.0)
            return true;
    return false;
}

int pal_graph_is_symmetric(const pal_graph_t *g)
{
    return g ? pal__graph_symmetric(g) : 0;
}

int pal_graph_is_nonnegative(const pal_graph_t *g)
{
    return g ? pal__graph_nonnegative(g) : 0;
}

int pal_graph_is_empty(const pal_graph_t *g)
{
    return g ? !pal__graph_nonzero(g) : 1;
}

static int copy_vector(const pal_graph_t *g, const double *v, double *out)
{
    if (!g || !out)
        return PAL_E_NULL;
    memcpy(out, v, (size_t)g->n * sizeof *out);
    return PAL_OK;
}

int pal_graph_row_sums(const pal_graph_t *g, double *out)
{
    return copy_vector(g, g ? g->rowsum : NULL, out);
}

int pal_graph_col_sums(const pal_graph_t *g, double *out)
{
    return copy_vector(g, g ? g->colsum : NULL, out);
}

int pal_graph_diagonal(const pal_graph_t *g, double *out)
{
    return copy_vector(g, g ? g->diag : NULL, out);
}

double pal__graph_entry(const pal_graph_t *g, int64_t i, int64_t j)
{
    double v = 0.0;

    for (int64_t t = 0; t < g->nterms; t++)
        v += g->terms[t].w * pal__term_entry(&g->terms[t], i, j);
    return v;
}

int pal_graph_to_dense(const pal_graph_t *g, pal_dtype_t dtype, void *out,
                       int64_t ld)
{
    int rc;

    if (!g)
        return PAL_E_NULL;
    rc = pal__check_matrix(dtype, g->n, g->n, out, ld);
    if (rc != PAL_OK)
        return rc;
    for (int64_t i = 0; i < g->n; i++) {
        for (int64_t j = 0; j < g->n; j++) {
            double v = pal__graph_entry(g, i, j);

            if (dtype == PAL_F32)
                ((float *)out)[i * ld + j] = (float)v;
            else
                ((double *)out)[i * ld + j] = v;
        }
    }
    return PAL_OK;
}
