/*
 * Graph terms: entry access and the Frobenius product of two terms.
 *
 * ||G||_F^2 of a weighted sum is sum_ab w_a w_b <T_a, T_b>, so each pair
 * of terms needs its own product, computed once when a term is added.
 * Structured terms use their structure: two block terms meet through the
 * contingency table of their labellings, never through n^2 entries.
 */
#include <stdlib.h>

#include "graph_internal.h"

void pal__term_free(const pal_allocator_t *alloc, pal__term_t *t)
{
    pal__csr_t *m[3] = {&t->tr, &t->W, &t->WT};

    for (int i = 0; i < 3; i++) {
        pal__free(alloc, m[i]->ptr);
        pal__free(alloc, m[i]->idx);
        pal__free(alloc, m[i]->val);
        pal__free(alloc, m[i]->pos);
    }
    pal__free(alloc, t->y);
    pal__free(alloc, t->count);
    pal__free(alloc, t->d);
    memset(t, 0, sizeof *t);
}

/* Position of column j in row [lo, hi) of a sorted index array, or -1. */
static int64_t find_sorted(const int32_t *idx, int64_t lo, int64_t hi,
                           int32_t j)
{
    int64_t end = hi;

    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;

        if (idx[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end && idx[lo] == j ? lo : -1;
}

static double w_entry(const pal__term_t *t, int32_t a, int32_t b)
{
    int64_t p;

    if (t->wid)
        return a == b ? 1.0 : 0.0;
    p = find_sorted(t->W.idx, t->W.ptr[a], t->W.ptr[a + 1], b);
    return p < 0 ? 0.0 : t->W.val[p];
}

static inline int32_t label_of(const pal__term_t *t, int64_t i)
{
    return t->y ? t->y[i] : 0;
}

double pal__term_entry(const pal__term_t *t, int64_t i, int64_t j)
{
    switch (t->kind) {
    case PAL__DENSE:
        return pal__get(t->dtype, t->a, i * t->lda + j);
    case PAL__CSR: {
        int64_t p = find_sorted(t->colidx, t->rowptr[i], t->rowptr[i + 1],
                                (int32_t)j);

        if (p < 0)
            return 0.0;
        return t->vals ? pal__get(t->dtype, t->vals, p) : 1.0;
    }
    case PAL__BLOCK: {
        int32_t a = label_of(t, i), b = label_of(t, j);

        return a < 0 || b < 0 ? 0.0 : w_entry(t, a, b);
    }
    default:
        return i == j ? pal__diag_at(t, i) : 0.0;
    }
}

/* ---- Products involving a dense or CSR term ------------------------------ */

/* <D, T> for a dense D and any term T, by rows. W rows of a block term
 * are scattered into a dense class vector so each entry is O(1). */
static int frob_dense(const pal_allocator_t *alloc, int64_t n,
                      const pal__term_t *d, const pal__term_t *t, double *out)
{
    double acc = 0.0, *row = NULL;

    if (t->kind == PAL__BLOCK && !t->wid) {
        row = pal__calloc_array(alloc, (size_t)t->nc, sizeof *row);
        if (!row)
            return PAL_E_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) {
        const int64_t base = i * d->lda;

        switch (t->kind) {
        case PAL__DENSE:
            for (int64_t j = 0; j < n; j++)
                acc += pal__get(d->dtype, d->a, base + j) *
                       pal__get(t->dtype, t->a, i * t->lda + j);
            break;
        case PAL__CSR:
            for (int64_t p = t->rowptr[i]; p < t->rowptr[i + 1]; p++)
                acc += pal__get(d->dtype, d->a, base + t->colidx[p]) *
                       (t->vals ? pal__get(t->dtype, t->vals, p) : 1.0);
            break;
        case PAL__IDENT:
            acc += pal__get(d->dtype, d->a, base + i) * pal__diag_at(t, i);
            break;
        case PAL__BLOCK: {
            int32_t a = label_of(t, i);

            if (a < 0)
                break;
            if (t->wid) {
                for (int64_t j = 0; j < n; j++)
                    if (label_of(t, j) == a)
                        acc += pal__get(d->dtype, d->a, base + j);
                break;
            }
            for (int64_t p = t->W.ptr[a]; p < t->W.ptr[a + 1]; p++)
                row[t->W.idx[p]] = t->W.val[p];
            for (int64_t j = 0; j < n; j++) {
                int32_t b = label_of(t, j);

                if (b >= 0)
                    acc += pal__get(d->dtype, d->a, base + j) * row[b];
            }
            for (int64_t p = t->W.ptr[a]; p < t->W.ptr[a + 1]; p++)
                row[t->W.idx[p]] = 0.0;
            break;
        }
        default:
            break;
        }
    }
    pal__free(alloc, row);
    *out = acc;
    return PAL_OK;
}

static inline double csr_val(const pal__term_t *t, int64_t p)
{
    return t->vals ? pal__get(t->dtype, t->vals, p) : 1.0;
}

/* <S, T> for a CSR S and a CSR, block or identity T. */
static int frob_csr(const pal_allocator_t *alloc, int64_t n,
                    const pal__term_t *s, const pal__term_t *t, double *out)
{
    double acc = 0.0, *row = NULL;

    if (t->kind == PAL__BLOCK && !t->wid) {
        row = pal__calloc_array(alloc, (size_t)t->nc, sizeof *row);
        if (!row)
            return PAL_E_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t p = s->rowptr[i], pe = s->rowptr[i + 1];

        if (t->kind == PAL__CSR) {
            int64_t q = t->rowptr[i], qe = t->rowptr[i + 1];

            while (p < pe && q < qe) {
                if (s->colidx[p] < t->colidx[q]) {
                    p++;
                } else if (s->colidx[p] > t->colidx[q]) {
                    q++;
                } else {
                    acc += csr_val(s, p) * csr_val(t, q);
                    p++;
                    q++;
                }
            }
        } else if (t->kind == PAL__IDENT) {
            int64_t at = find_sorted(s->colidx, p, pe, (int32_t)i);

            if (at >= 0)
                acc += csr_val(s, at) * pal__diag_at(t, i);
        } else if (t->kind == PAL__BLOCK) {
            int32_t a = label_of(t, i);

            if (a < 0)
                continue;
            if (!t->wid)
                for (int64_t e = t->W.ptr[a]; e < t->W.ptr[a + 1]; e++)
                    row[t->W.idx[e]] = t->W.val[e];
            for (; p < pe; p++) {
                int32_t b = label_of(t, s->colidx[p]);

                if (b >= 0)
                    acc += csr_val(s, p) * (t->wid ? (a == b) : row[b]);
            }
            if (!t->wid)
                for (int64_t e = t->W.ptr[a]; e < t->W.ptr[a + 1]; e++)
                    row[t->W.idx[e]] = 0.0;
        }
    }
    pal__free(alloc, row);
    *out = acc;
    return PAL_OK;
}

/* ---- Products of block terms --------------------------------------------- */

typedef struct pair_count {
    int32_t a, c;
} pair_count_t;

static int cmp_pair(const void *x, const void *y)
{
    const pair_count_t *p = x, *q = y;

    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->c < q->c ? -1 : p->c > q->c;
}

/*
 * <B1, B2> for block terms with labellings y, u and class matrices W1,
 * W2. With the contingency table M (M_ac = #{i : y_i = a, u_i = c}),
 * <B1, B2> = sum_{a,b,c,d} W1[a][b] W2[c][d] M_ac M_bd.
 */
static int frob_block(const pal_allocator_t *alloc, int64_t n,
                      const pal__term_t *t1, const pal__term_t *t2,
                      double *out)
{
    pair_count_t *pc;
    int64_t *mptr = NULL, *mcnt = NULL, m = 0, npc = 0;
    int32_t *mcol = NULL;
    double acc = 0.0, *row = NULL;
    int rc = PAL_E_NOMEM;

    /* Make t2 the term with the identity class matrix, if either is. */
    if (!t2->wid && t1->wid) {
        const pal__term_t *tmp = t1;

        t1 = t2;
        t2 = tmp;
    }

    pc = pal__alloc_array(alloc, (size_t)n, sizeof *pc);
    mptr = pal__calloc_array(alloc, (size_t)t1->nc + 1, sizeof *mptr);
    if (!t2->wid)
        row = pal__calloc_array(alloc, (size_t)t2->nc, sizeof *row);
    if (!pc || !mptr || (!t2->wid && !row))
        goto done;

    for (int64_t i = 0; i < n; i++) {
        int32_t a = label_of(t1, i), c = label_of(t2, i);

        if (a >= 0 && c >= 0)
            pc[npc++] = (pair_count_t){a, c};
    }
    qsort(pc, (size_t)npc, sizeof *pc, cmp_pair);

    /* Run-length encode the sorted pairs into M, CSR over y-classes. */
    mcol = pal__alloc_array(alloc, (size_t)npc + 1, sizeof *mcol);
    mcnt = pal__alloc_array(alloc, (size_t)npc + 1, sizeof *mcnt);
    if (!mcol || !mcnt)
        goto done;
    for (int64_t p = 0; p < npc; p++) {
        if (m > 0 && pc[p].a == pc[p - 1].a && pc[p].c == pc[p - 1].c) {
            mcnt[m - 1]++;
            continue;
        }
        mcol[m] = pc[p].c;
        mcnt[m] = 1;
        mptr[pc[p].a + 1]++;
        m++;
    }
    for (int32_t a = 0; a < t1->nc; a++)
        mptr[a + 1] += mptr[a];

    for (int32_t a = 0; a < t1->nc; a++) {
        int64_t e0 = t1->wid ? 0 : t1->W.ptr[a];
        int64_t e1 = t1->wid ? 1 : t1->W.ptr[a + 1];

        for (int64_t e = e0; e < e1; e++) {
            int32_t b = t1->wid ? a : t1->W.idx[e];
            double w1 = t1->wid ? 1.0 : t1->W.val[e], inner = 0.0;

            if (t2->wid) {
                /* sum_c M_ac M_bc: merge two sorted rows of M. */
                int64_t p = mptr[a], pe = mptr[a + 1];
                int64_t q = mptr[b], qe = mptr[b + 1];

                while (p < pe && q < qe) {
                    if (mcol[p] < mcol[q]) {
                        p++;
                    } else if (mcol[p] > mcol[q]) {
                        q++;
                    } else {
                        inner += (double)mcnt[p] * (double)mcnt[q];
                        p++;
                        q++;
                    }
                }
            } else {
                for (int64_t p = mptr[a]; p < mptr[a + 1]; p++) {
                    int32_t c = mcol[p];
                    double part = 0.0;

                    for (int64_t f = t2->W.ptr[c]; f < t2->W.ptr[c + 1]; f++)
                        row[t2->W.idx[f]] = t2->W.val[f];
                    for (int64_t q = mptr[b]; q < mptr[b + 1]; q++)
                        part += (double)mcnt[q] * row[mcol[q]];
                    for (int64_t f = t2->W.ptr[c]; f < t2->W.ptr[c + 1]; f++)
                        row[t2->W.idx[f]] = 0.0;
                    inner += (double)mcnt[p] * part;
                }
            }
            acc += w1 * inner;
        }
    }
    *out = acc;
    rc = PAL_OK;
done:
    pal__free(alloc, pc);
    pal__free(alloc, mptr);
    pal__free(alloc, mcol);
    pal__free(alloc, mcnt);
    pal__free(alloc, row);
    return rc;
}

/* <B, D> = sum over labelled items of d_i W[y_i][y_i]. */
static double frob_block_diag(int64_t n, const pal__term_t *t,
                              const pal__term_t *dg)
{
    double acc = 0.0;

    if (!dg->d) {
        for (int32_t c = 0; c < t->nc; c++)
            acc += (double)t->count[c] * w_entry(t, c, c);
        return acc;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t a = label_of(t, i);

        if (a >= 0)
            acc += dg->d[i] * w_entry(t, a, a);
    }
    return acc;
}

/* <D1, D2> of two diagonal terms. */
static double frob_diag_diag(int64_t n, const pal__term_t *a,
                             const pal__term_t *b)
{
    double acc = 0.0;

    if (!a->d && !b->d)
        return (double)n;
    for (int64_t i = 0; i < n; i++)
        acc += pal__diag_at(a, i) * pal__diag_at(b, i);
    return acc;
}

/* sum (s T_ij)^2 over the stored entries: the term's own product with
 * its entries scaled by s, for terms whose plain sum of squares
 * overflows. Block terms count each class pair's entries. */
double pal__term_self_scaled(int64_t n, const pal__term_t *t, double s)
{
    double acc = 0.0;

    switch (t->kind) {
    case PAL__DENSE:
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                double v = s * pal__get(t->dtype, t->a, i * t->lda + j);

                acc += v * v;
            }
        break;
    case PAL__CSR:
        for (int64_t q = 0; q < t->nnz; q++) {
            double v = s * (t->vals ? pal__get(t->dtype, t->vals, q) : 1.0);

            acc += v * v;
        }
        break;
    case PAL__BLOCK:
        for (int32_t a = 0; a < t->nc; a++) {
            int64_t e0 = t->wid ? 0 : t->W.ptr[a];
            int64_t e1 = t->wid ? 1 : t->W.ptr[a + 1];

            for (int64_t e = e0; e < e1; e++) {
                int32_t b = t->wid ? a : t->W.idx[e];
                double v = s * (t->wid ? 1.0 : t->W.val[e]);

                acc += v * v * (double)t->count[a] * (double)t->count[b];
            }
        }
        break;
    default:
        for (int64_t i = 0; i < n; i++) {
            double v = s * pal__diag_at(t, i);

            acc += v * v;
        }
        break;
    }
    return acc;
}

int pal__term_frob(const pal_allocator_t *alloc, int64_t n,
                   const pal__term_t *ta, const pal__term_t *tb, double *out)
{
    /* Order the pair so that ta->kind <= tb->kind. */
    if (ta->kind > tb->kind) {
        const pal__term_t *t = ta;

        ta = tb;
        tb = t;
    }
    switch (ta->kind) {
    case PAL__DENSE:
        return frob_dense(alloc, n, ta, tb, out);
    case PAL__CSR:
        return frob_csr(alloc, n, ta, tb, out);
    case PAL__BLOCK:
        if (tb->kind == PAL__BLOCK)
            return frob_block(alloc, n, ta, tb, out);
        *out = frob_block_diag(n, ta, tb);
        return PAL_OK;
    default:
        *out = frob_diag_diag(n, ta, tb);
        return PAL_OK;
    }
}
