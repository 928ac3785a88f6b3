/*
 * Fuzz target: graph terms, CSR first.
 *
 * The input builds a graph, either empty or from one of the builders
 * (supervised, SSL, mixture), then adds terms to it: CSR terms (valid,
 * valid with one defect, or raw bytes), dense, labels, blocks, constant,
 * identity and diagonal terms, through an allocator that may fail. The
 * target keeps its own dense expansion of every term that was accepted,
 * straight from the definitions in graph.h, and checks after each call:
 *
 * - the status is one the header lists for that call, and is the code of
 *   the defect when the input has exactly one (PAL_OK when it has none);
 * - on error the graph is exactly as before (terms, ||G||_F^2, row and
 *   column sums, diagonal, predicates, dense form);
 * - on success pal_graph_to_dense matches the expansion, ||G||_F^2 is the
 *   sum of its squares, the row sums, column sums and diagonal match, the
 *   symmetry and non-negativity predicates are never wrong when they say
 *   yes, and pal_graph_matmul (G X and G^T X, float and double, padded
 *   strides) matches the dense product;
 * - nothing leaks: every block the allocator handed out comes back.
 */
#include "fuzz.h"

#define MAX_N 64
#define MAX_OPS 8
#define MAX_KEEP (4 * MAX_OPS + 8)

/* Bits of the status codes a call may return, indexed by -code. */
#define BIT(code) (1u << (unsigned)(-(code)))

typedef struct state {
    fuzz_in_t in;
    fuzz_alloc_t fa;
    pal_allocator_t alloc;
    pal_ctx_t *ctx;
    pal_graph_t *g;
    int64_t n;

    /* The expansion E of the accepted terms, and M, the sum of the
     * magnitudes of their contributions (for rounding tolerances). */
    double *e, *m;

    /* Set when some term's own sum of squares (without its weight)
     * overflows, or underflows while the term is not zero: the graph's
     * summaries are measured on unweighted terms, so they are then out
     * of range whatever the weight, and are not compared. */
    bool huge, tiny;
    double tmax;   /* largest |entry| of a term, without its weight */
    double wmax;   /* largest |entry| of a term times its weight */
    bool wide;     /* a dense term's weight is beyond float's range */

    /* Arrays the graph borrows, freed after the graph. */
    void *keep[MAX_KEEP];
    int nkeep;

    /* Scratch for one term's expansion. */
    double *t;
} state_t;

static void keep(state_t *s, void *p)
{
    FUZZ_CHECK(s->nkeep < MAX_KEEP);
    s->keep[s->nkeep++] = p;
}

static void *xcalloc(size_t count, size_t elem)
{
    void *p = calloc(count ? count : 1, elem);

    FUZZ_CHECK(p != NULL);
    return p;
}

/* ---- Values from the input ---------------------------------------------- */

static double weight_from(fuzz_in_t *in)
{
    return fuzz_u8(in) < 160 ? (double)fuzz_range(in, -4, 4) * 0.5
                             : fuzz_f64(in);
}

static int32_t label_from(fuzz_in_t *in)
{
    uint8_t b = fuzz_u8(in);

    if (b < 180)
        return (int32_t)(b % 5) - 1;
    switch (b % 8) {
    case 0:
        return INT32_MAX;
    case 1:
        return INT32_MAX - 1;
    case 2:
        return -2;
    case 3:
        return INT32_MIN;
    case 4:
        return (int32_t)fuzz_u32(in);
    default:
        return (int32_t)fuzz_below(in, 64);
    }
}

static pal_dtype_t dtype_from(fuzz_in_t *in, int allow_bad)
{
    uint8_t b = fuzz_u8(in);

    if (allow_bad && b >= 250)
        return (pal_dtype_t)(b == 250 ? 0 : 3);
    return b & 1 ? PAL_F32 : PAL_F64;
}

static void put(pal_dtype_t dt, void *p, int64_t k, double v)
{
    if (dt == PAL_F32)
        ((float *)p)[k] = (float)v;
    else
        ((double *)p)[k] = v;
}

static double get(pal_dtype_t dt, const void *p, int64_t k)
{
    return dt == PAL_F32 ? (double)((const float *)p)[k]
                         : ((const double *)p)[k];
}

static int finite_d(double x)
{
    return isfinite(x);
}

/* ---- The model ---------------------------------------------------------- */

/* E += w T and M += |w T| for the term expansion in s->t. */
static void model_add(state_t *s, double w)
{
    const int64_t nn = s->n * s->n;
    double self = 0.0, tm = 0.0;

    for (int64_t p = 0; p < nn; p++) {
        self += s->t[p] * s->t[p];
        if (fabs(s->t[p]) > tm)
            tm = fabs(s->t[p]);
        if (fabs(w * s->t[p]) > s->wmax)
            s->wmax = fabs(w * s->t[p]);
        s->e[p] += w * s->t[p];
        s->m[p] += fabs(w * s->t[p]);
    }
    if (isinf(self))
        s->huge = true;
    if (self == 0.0 && tm > 0.0)
        s->tiny = true;
    if (tm > s->tmax)
        s->tmax = tm;
}

static void term_clear(state_t *s)
{
    memset(s->t, 0, (size_t)(s->n * s->n) * sizeof *s->t);
}

static void term_labels(state_t *s, const int32_t *y)
{
    term_clear(s);
    for (int64_t i = 0; i < s->n; i++)
        for (int64_t j = 0; j < s->n; j++)
            if (y[i] >= 0 && y[i] == y[j])
                s->t[i * s->n + j] = 1.0;
}

/* ---- Snapshots: what must not change when a call fails ------------------ */

typedef struct snap {
    int64_t nterms;
    double frob2;
    double *row, *col, *diag, *dense;
    int sym, nonneg, empty;
} snap_t;

static void snap_take(const state_t *s, snap_t *p)
{
    const size_t n = (size_t)s->n;

    p->nterms = pal_graph_n_terms(s->g);
    FUZZ_CHECK(pal_graph_frobenius2(s->g, &p->frob2) == PAL_OK);
    p->row = xcalloc(n, sizeof(double));
    p->col = xcalloc(n, sizeof(double));
    p->diag = xcalloc(n, sizeof(double));
    p->dense = xcalloc(n * n, sizeof(double));
    FUZZ_CHECK(pal_graph_row_sums(s->g, p->row) == PAL_OK);
    FUZZ_CHECK(pal_graph_col_sums(s->g, p->col) == PAL_OK);
    FUZZ_CHECK(pal_graph_diagonal(s->g, p->diag) == PAL_OK);
    FUZZ_CHECK(pal_graph_to_dense(s->g, PAL_F64, p->dense, s->n) == PAL_OK);
    p->sym = pal_graph_is_symmetric(s->g);
    p->nonneg = pal_graph_is_nonnegative(s->g);
    p->empty = pal_graph_is_empty(s->g);
}

static void snap_free(snap_t *p)
{
    free(p->row);
    free(p->col);
    free(p->diag);
    free(p->dense);
}

static int same_array(const double *a, const double *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

static void snap_same(const state_t *s, const snap_t *p)
{
    snap_t q;
    const size_t n = (size_t)s->n;

    snap_take(s, &q);
    FUZZ_CHECK(q.nterms == p->nterms);
    FUZZ_CHECK(memcmp(&q.frob2, &p->frob2, sizeof q.frob2) == 0);
    FUZZ_CHECK(same_array(q.row, p->row, n));
    FUZZ_CHECK(same_array(q.col, p->col, n));
    FUZZ_CHECK(same_array(q.diag, p->diag, n));
    FUZZ_CHECK(same_array(q.dense, p->dense, n * n));
    FUZZ_CHECK(q.sym == p->sym && q.nonneg == p->nonneg &&
               q.empty == p->empty);
    snap_free(&q);
}

/* ---- Checks of the whole graph against the model ------------------------ */

static void check_matmul(state_t *s)
{
    const int64_t n = s->n;
    const int64_t k = fuzz_range(&s->in, 1, 4);
    const int trans = fuzz_u8(&s->in) & 1;
    const pal_dtype_t dt = fuzz_u8(&s->in) & 1 ? PAL_F32 : PAL_F64;
    const int64_t ldx = k + fuzz_below(&s->in, 3);
    const int64_t ldy = k + fuzz_below(&s->in, 3);
    const size_t el = pal_dtype_size(dt);
    double *x = xcalloc((size_t)(n * ldx), sizeof(double));
    void *xt = xcalloc((size_t)(n * ldx), el);
    void *y = xcalloc((size_t)(n * ldy), el);
    const double rtol = dt == PAL_F32 ? 1e-4 : 1e-10;
    const double atol = dt == PAL_F32 ? 1e-30 : 1e-280;

    for (int64_t p = 0; p < n * ldx; p++) {
        /* Exact in float: multiples of 1/8 in [-16, 16). */
        x[p] = (double)((int)fuzz_u8(&s->in) - 128) / 8.0;
        put(dt, xt, p, x[p]);
    }
    for (int64_t p = 0; p < n * ldy; p++)
        put(dt, y, p, NAN);

    FUZZ_CHECK(pal_graph_matmul(s->ctx, s->g, trans, dt, k, xt, ldx, y,
                                ldy) == PAL_OK);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < ldy; c++) {
            double want = 0.0, mag = 0.0, got = get(dt, y, i * ldy + c);

            if (c >= k) {
                /* The padding is never written. */
                FUZZ_CHECK(isnan(got));
                continue;
            }
            for (int64_t l = 0; l < n; l++) {
                int64_t at = trans ? l * n + i : i * n + l;

                want += s->e[at] * x[l * ldx + c];
                mag += s->m[at] * fabs(x[l * ldx + c]);
            }
            /* Products are formed before the weights scale them, in
             * float for float X; a weighted entry beyond float's range
             * is infinite there, and times a zero of X gives NaN, where
             * the product in double is 0. */
            if (!finite_d(want) || !finite_d(mag) || s->huge || s->tiny ||
                (dt == PAL_F32 && (mag > 1e37 || s->tmax > 1e34 ||
                                   s->wide || s->wmax > 1e37)))
                continue;
            FUZZ_CHECK(fabs(got - want) <= rtol * mag + atol);
        }
    }

    /* Y may not overlap X. */
    FUZZ_CHECK(pal_graph_matmul(s->ctx, s->g, trans, dt, k, xt, ldx, xt,
                                ldx) == PAL_E_ALIAS);
    FUZZ_CHECK(pal_graph_matmul(s->ctx, s->g, 2, dt, k, xt, ldx, y, ldy) ==
               PAL_E_RANGE);
    free(x);
    free(xt);
    free(y);
}

static void check_graph(state_t *s)
{
    const int64_t n = s->n;
    double *d = xcalloc((size_t)(n * n), sizeof(double));
    float *f = xcalloc((size_t)(n * n), sizeof(float));
    double *v = xcalloc((size_t)n, sizeof(double));
    double frob = 0.0, frob_mag = 0.0, got;
    int sym = pal_graph_is_symmetric(s->g);
    int nonneg = pal_graph_is_nonnegative(s->g);
    int empty = pal_graph_is_empty(s->g);

    FUZZ_CHECK(pal_graph_n(s->g) == n);
    FUZZ_CHECK(pal_graph_to_dense(s->g, PAL_F64, d, n) == PAL_OK);
    FUZZ_CHECK(pal_graph_to_dense(s->g, PAL_F32, f, n) == PAL_OK);
    for (int64_t p = 0; p < n * n; p++) {
        double e = s->e[p], m = s->m[p];

        /* The float form is the double form rounded. */
        FUZZ_CHECK(fuzz_same((double)(float)d[p], (double)f[p]));
        frob += e * e;
        frob_mag += m * m;
        if (finite_d(m) && finite_d(e))
            FUZZ_CHECK(fabs(d[p] - e) <= 1e-12 * m);
        if (nonneg && finite_d(m) && finite_d(e))
            FUZZ_CHECK(e >= -1e-12 * m);
        if (empty && finite_d(m) && !s->tiny)
            FUZZ_CHECK(e == 0.0);
    }
    if (sym) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < i; j++) {
                double a = s->e[i * n + j], b = s->e[j * n + i];
                double m = s->m[i * n + j] + s->m[j * n + i];

                if (finite_d(a) && finite_d(b) && finite_d(m))
                    FUZZ_CHECK(fabs(a - b) <= 1e-12 * m);
            }
    }

    /* ||G||_F^2 comes from products of whole terms, so its rounding is
     * relative to the magnitudes, not to the (possibly cancelled) sum. */
    FUZZ_CHECK(pal_graph_frobenius2(s->g, &got) == PAL_OK);
    if (finite_d(frob_mag) && finite_d(frob) && !s->huge && !s->tiny)
        FUZZ_CHECK(fabs(got - frob) <= 1e-9 * frob_mag + 1e-300);

    FUZZ_CHECK(pal_graph_row_sums(s->g, v) == PAL_OK);
    for (int64_t i = 0; i < n; i++) {
        double want = 0.0, mag = 0.0;

        for (int64_t j = 0; j < n; j++) {
            want += s->e[i * n + j];
            mag += s->m[i * n + j];
        }
        if (finite_d(want) && finite_d(mag) && !s->huge)
            FUZZ_CHECK(fabs(v[i] - want) <= 1e-12 * mag + 1e-300);
    }
    FUZZ_CHECK(pal_graph_col_sums(s->g, v) == PAL_OK);
    for (int64_t j = 0; j < n; j++) {
        double want = 0.0, mag = 0.0;

        for (int64_t i = 0; i < n; i++) {
            want += s->e[i * n + j];
            mag += s->m[i * n + j];
        }
        if (finite_d(want) && finite_d(mag) && !s->huge)
            FUZZ_CHECK(fabs(v[j] - want) <= 1e-12 * mag + 1e-300);
    }
    FUZZ_CHECK(pal_graph_diagonal(s->g, v) == PAL_OK);
    for (int64_t i = 0; i < n; i++) {
        double e = s->e[i * n + i], m = s->m[i * n + i];

        if (finite_d(e) && finite_d(m))
            FUZZ_CHECK(fabs(v[i] - e) <= 1e-12 * m + 1e-300);
    }

    check_matmul(s);
    free(d);
    free(f);
    free(v);
}

/*
 * Check the status of an addition against the defects of its input
 * (bits of the codes they call for; 0 for none), and the graph against
 * the model: unchanged on error, the model plus w T on success.
 */
static void settle(state_t *s, const snap_t *before, int rc, unsigned want,
                   unsigned allowed, double w)
{
    const bool nomem_possible =
        s->fa.fail_at > 0 && s->fa.calls >= s->fa.fail_at;

    FUZZ_CHECK(rc == PAL_OK || (rc < 0 && (allowed & BIT(rc))));
    if (want)
        FUZZ_CHECK(rc < 0 && (want & BIT(rc)));
    else
        FUZZ_CHECK(rc == PAL_OK || (rc == PAL_E_NOMEM && nomem_possible));

    if (rc != PAL_OK) {
        snap_same(s, before);
        return;
    }
    FUZZ_CHECK(pal_graph_n_terms(s->g) - before->nterms ==
               (w != 0.0 ? 1 : 0));
    if (w != 0.0)
        model_add(s, w);
    check_graph(s);
}

/* ---- CSR terms ---------------------------------------------------------- */

typedef struct csr {
    int64_t nnz, nrow;     /* nnz passed; entries allocated */
    int64_t *rowptr;
    int32_t *colidx;
    void *values;
    pal_dtype_t dtype;
} csr_t;

/* A valid CSR structure: up to 8 entries per row, optionally mirrored. */
static void csr_valid(state_t *s, csr_t *c)
{
    const int64_t n = s->n;
    const int mirror = fuzz_u8(&s->in) < 64;
    unsigned char *on = xcalloc((size_t)(n * n), 1);
    double *val = xcalloc((size_t)(n * n), sizeof(double));
    int64_t q = 0;

    for (int64_t i = 0; i < n; i++) {
        int64_t per = fuzz_below(&s->in, (n < 8 ? n : 8) + 1);

        for (int64_t t = 0; t < per; t++) {
            int64_t j = fuzz_below(&s->in, n);
            double v = fuzz_f64(&s->in);

            on[i * n + j] = 1;
            val[i * n + j] = v;
            if (mirror) {
                on[j * n + i] = 1;
                val[j * n + i] = v;
            }
        }
    }
    for (int64_t p = 0; p < n * n; p++)
        q += on[p];
    c->nnz = c->nrow = q;
    c->rowptr = xcalloc((size_t)n + 1, sizeof *c->rowptr);
    c->colidx = xcalloc((size_t)q, sizeof *c->colidx);
    c->values = xcalloc((size_t)q, sizeof(double));
    q = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            if (!on[i * n + j])
                continue;
            c->colidx[q] = (int32_t)j;
            put(c->dtype, c->values, q, val[i * n + j]);
            q++;
        }
        c->rowptr[i + 1] = q;
    }
    free(on);
    free(val);
}

/* One defect, or none, in a valid structure. */
static void csr_defect(state_t *s, csr_t *c)
{
    const int64_t n = s->n;
    uint8_t kind = fuzz_u8(&s->in);
    int64_t i = fuzz_below(&s->in, n);
    int64_t lo = c->rowptr[i], hi = c->rowptr[i + 1];

    switch (kind % 12) {
    case 0:
        c->rowptr[0] = fuzz_range(&s->in, 1, 3);
        break;
    case 1:
        c->rowptr[n] += fuzz_range(&s->in, -2, 2);
        break;
    case 2:
        c->nnz += fuzz_range(&s->in, -2, 2);
        break;
    case 3:
        c->nnz = fuzz_u8(&s->in) & 1 ? -1 : n * n + 1;
        break;
    case 4:
        if (hi - lo >= 2) {
            int32_t t = c->colidx[lo];

            c->colidx[lo] = c->colidx[lo + 1];
            c->colidx[lo + 1] = t;
        }
        break;
    case 5:
        if (hi - lo >= 2)
            c->colidx[hi - 1] = c->colidx[hi - 2];
        break;
    case 6:
        if (hi > lo)
            c->colidx[lo + fuzz_below(&s->in, hi - lo)] =
                fuzz_u8(&s->in) & 1 ? -1 : (int32_t)n;
        break;
    case 7:
        if (i > 0 && n > 1)
            c->rowptr[i] = c->rowptr[i + 1] + 1;
        break;
    case 8:
        if (hi > lo)
            c->colidx[lo + fuzz_below(&s->in, hi - lo)] =
                (int32_t)fuzz_u32(&s->in);
        break;
    default:
        break;
    }
}

/* Raw structure from the bytes. */
static void csr_raw(state_t *s, csr_t *c)
{
    const int64_t n = s->n;
    int64_t cap = n * n + 2 < 300 ? n * n + 2 : 300;

    c->nnz = fuzz_range(&s->in, -1, cap);
    c->nrow = c->nnz > 0 ? c->nnz : 0;
    c->rowptr = xcalloc((size_t)n + 1, sizeof *c->rowptr);
    c->colidx = xcalloc((size_t)c->nrow, sizeof *c->colidx);
    c->values = xcalloc((size_t)c->nrow, sizeof(double));
    for (int64_t i = 0; i <= n; i++) {
        uint8_t b = fuzz_u8(&s->in);

        c->rowptr[i] = b < 240 ? (int64_t)(b % (c->nrow + 3))
                               : (int64_t)fuzz_u64(&s->in);
    }
    for (int64_t q = 0; q < c->nrow; q++) {
        uint8_t b = fuzz_u8(&s->in);

        c->colidx[q] = b < 240 ? (int32_t)(b % (n + 2)) - 1
                               : (int32_t)fuzz_u32(&s->in);
        put(c->dtype == PAL_F32 ? PAL_F32 : PAL_F64, c->values, q,
            fuzz_f64(&s->in));
    }
}

/* The CSR policy of graph.h, by the letter. */
static bool csr_structure_ok(int64_t n, const csr_t *c)
{
    if (c->rowptr[0] != 0 || c->rowptr[n] != c->nnz)
        return false;
    FUZZ_CHECK(c->nnz <= c->nrow);
    for (int64_t i = 0; i < n; i++)
        if (c->rowptr[i + 1] < c->rowptr[i])
            return false;
    for (int64_t i = 0; i < n; i++)
        for (int64_t q = c->rowptr[i]; q < c->rowptr[i + 1]; q++) {
            if (c->colidx[q] < 0 || c->colidx[q] >= n)
                return false;
            if (q > c->rowptr[i] && c->colidx[q] <= c->colidx[q - 1])
                return false;
        }
    return true;
}

static void op_csr(state_t *s)
{
    const int64_t n = s->n;
    uint8_t mode = fuzz_u8(&s->in);
    csr_t c;
    double w = weight_from(&s->in);
    unsigned flags = fuzz_u8(&s->in);
    const void *values;
    const int64_t *rowptr;
    const int32_t *colidx;
    unsigned want = 0;
    bool typed, sized;
    snap_t before;
    int rc;

    memset(&c, 0, sizeof c);
    c.dtype = dtype_from(&s->in, 1);
    flags = flags < 128 ? 0 : flags < 240 ? PAL_GRAPH_CHECK_FINITE
                                          : flags;
    if (mode < 150) {
        csr_valid(s, &c);
    } else if (mode < 220) {
        csr_valid(s, &c);
        csr_defect(s, &c);
    } else {
        csr_raw(s, &c);
    }
    values = fuzz_u8(&s->in) < 64 ? NULL : c.values;
    rowptr = c.rowptr;
    colidx = c.colidx;
    if (mode == 149)
        rowptr = NULL;
    else if (mode == 148 && c.nnz > 0)
        colidx = NULL;

    /* The defects of this input, as the header defines them. */
    typed = pal_dtype_size(c.dtype) != 0;
    sized = c.nnz >= 0 && c.nnz <= n * n;
    if (!rowptr || (c.nnz > 0 && !colidx))
        want |= BIT(PAL_E_NULL);
    if (!typed)
        want |= BIT(PAL_E_TYPE);
    if (flags & ~(unsigned)PAL_GRAPH_CHECK_FINITE)
        want |= BIT(PAL_E_RANGE);
    if (!sized)
        want |= BIT(PAL_E_SIZE);
    /* The structure can only be read once its size is valid. Every
     * input here keeps rowptr[n] within the arrays (a defect that changes
     * nnz leaves rowptr[n] as it was), so the library never reads past
     * them. */
    if (sized && !csr_structure_ok(n, &c))
        want |= BIT(PAL_E_CSR);
    if (!finite_d(w))
        want |= BIT(PAL_E_NONFINITE);
    if (typed && sized && values && (flags & PAL_GRAPH_CHECK_FINITE))
        for (int64_t q = 0; q < c.nnz && q < c.nrow; q++)
            if (!finite_d(get(c.dtype, values, q)))
                want |= BIT(PAL_E_NONFINITE);

    snap_take(s, &before);
    rc = pal_graph_add_csr(s->g, w, c.dtype, c.nnz, rowptr, colidx, values,
                           flags);
    if (rc == PAL_OK && w != 0.0) {
        term_clear(s);
        for (int64_t i = 0; i < n; i++)
            for (int64_t q = c.rowptr[i]; q < c.rowptr[i + 1]; q++)
                s->t[i * n + c.colidx[q]] =
                    values ? get(c.dtype, values, q) : 1.0;
    }
    settle(s, &before, rc, want,
           BIT(PAL_E_NULL) | BIT(PAL_E_TYPE) | BIT(PAL_E_SIZE) |
               BIT(PAL_E_CSR) | BIT(PAL_E_NONFINITE) | BIT(PAL_E_RANGE) |
               BIT(PAL_E_NOMEM),
           w);
    snap_free(&before);

    if (rc == PAL_OK) {
        keep(s, c.rowptr);
        keep(s, c.colidx);
        keep(s, c.values);
    } else {
        /* Freed at once: a graph that kept them would read freed memory
         * in the checks that follow. */
        free(c.rowptr);
        free(c.colidx);
        free(c.values);
    }
}

/* ---- Other terms -------------------------------------------------------- */

static void op_dense(state_t *s)
{
    const int64_t n = s->n;
    pal_dtype_t dt = dtype_from(&s->in, 1);
    int64_t lda = n + fuzz_below(&s->in, 3);
    double w = weight_from(&s->in);
    unsigned flags = fuzz_u8(&s->in);
    void *a = xcalloc((size_t)(n * lda), sizeof(double));
    pal_dtype_t st = dt == PAL_F32 ? PAL_F32 : PAL_F64;
    unsigned want = 0;
    snap_t before;
    int rc;

    flags = flags < 128 ? 0 : flags < 240 ? PAL_GRAPH_CHECK_FINITE : flags;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < lda; j++)
            /* The padding holds NaN: reading it would show. */
            put(st, a, i * lda + j, j < n ? fuzz_f64(&s->in) : NAN);
    if (pal_dtype_size(dt) == 0)
        want |= BIT(PAL_E_TYPE);
    if (flags & ~(unsigned)PAL_GRAPH_CHECK_FINITE)
        want |= BIT(PAL_E_RANGE);
    if (!finite_d(w))
        want |= BIT(PAL_E_NONFINITE);
    if (flags & PAL_GRAPH_CHECK_FINITE)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                if (!finite_d(get(st, a, i * lda + j)))
                    want |= BIT(PAL_E_NONFINITE);

    snap_take(s, &before);
    rc = pal_graph_add_dense(s->g, w, dt, a, lda, flags);
    if (rc == PAL_OK) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                s->t[i * n + j] = get(st, a, i * lda + j);
        /* Float products scale by the weight in float. */
        if (fabs(w) > 1e37)
            s->wide = true;
    }
    settle(s, &before, rc, want,
           BIT(PAL_E_NULL) | BIT(PAL_E_TYPE) | BIT(PAL_E_STRIDE) |
               BIT(PAL_E_NONFINITE) | BIT(PAL_E_RANGE) | BIT(PAL_E_NOMEM),
           w);
    snap_free(&before);
    if (rc == PAL_OK)
        keep(s, a);
    else
        free(a);
}

static int32_t *labels_from(state_t *s)
{
    int32_t *y = xcalloc((size_t)s->n, sizeof *y);

    for (int64_t i = 0; i < s->n; i++)
        y[i] = label_from(&s->in);
    return y;
}

static void op_labels(state_t *s)
{
    double w = weight_from(&s->in);
    int32_t *y = labels_from(s);
    unsigned want = 0;
    snap_t before;
    int rc;

    if (!finite_d(w))
        want |= BIT(PAL_E_NONFINITE);
    for (int64_t i = 0; i < s->n; i++)
        if (y[i] < -1)
            want |= BIT(PAL_E_INDEX);
    snap_take(s, &before);
    rc = pal_graph_add_labels(s->g, w, y);
    if (rc == PAL_OK)
        term_labels(s, y);
    /* The labels are copied: changing them now must change nothing. */
    for (int64_t i = 0; i < s->n; i++)
        y[i] = 0;
    settle(s, &before, rc, want,
           BIT(PAL_E_NULL) | BIT(PAL_E_INDEX) | BIT(PAL_E_NONFINITE) |
               BIT(PAL_E_NOMEM),
           w);
    snap_free(&before);
    free(y);
}

static int32_t class_from(fuzz_in_t *in, const int32_t *y, int64_t n)
{
    uint8_t b = fuzz_u8(in);

    if (b < 200)
        return y[b % n] >= 0 ? y[b % n] : 0;
    if (b < 240)
        return (int32_t)(b % 6);
    return b < 248 ? INT32_MAX : b < 252 ? -1 : (int32_t)fuzz_u32(in);
}

static void op_blocks(state_t *s)
{
    const int64_t n = s->n;
    double w = weight_from(&s->in);
    int32_t *y = labels_from(s);
    int64_t ne = fuzz_below(&s->in, 9);
    int32_t *a = xcalloc((size_t)ne, sizeof *a);
    int32_t *b = xcalloc((size_t)ne, sizeof *b);
    double *ew = xcalloc((size_t)ne, sizeof *ew);
    unsigned want = 0;
    snap_t before;
    int rc;

    for (int64_t e = 0; e < ne; e++) {
        a[e] = class_from(&s->in, y, n);
        b[e] = class_from(&s->in, y, n);
        ew[e] = weight_from(&s->in);
    }
    if (!finite_d(w))
        want |= BIT(PAL_E_NONFINITE);
    for (int64_t i = 0; i < n; i++)
        if (y[i] < -1 || y[i] == INT32_MAX)
            want |= BIT(PAL_E_INDEX);
    for (int64_t e = 0; e < ne; e++) {
        if (a[e] < 0 || b[e] < 0 || a[e] == INT32_MAX || b[e] == INT32_MAX)
            want |= BIT(PAL_E_INDEX);
        if (!finite_d(ew[e]))
            want |= BIT(PAL_E_NONFINITE);
    }

    snap_take(s, &before);
    rc = pal_graph_add_blocks(s->g, w, y, ne, ne ? a : NULL, ne ? b : NULL,
                              ne ? ew : NULL);
    if (rc == PAL_OK) {
        term_clear(s);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                for (int64_t e = 0; e < ne; e++)
                    if (y[i] >= 0 && y[j] >= 0 && a[e] == y[i] &&
                        b[e] == y[j])
                        s->t[i * n + j] += ew[e];
    }
    settle(s, &before, rc, want,
           BIT(PAL_E_NULL) | BIT(PAL_E_SIZE) | BIT(PAL_E_INDEX) |
               BIT(PAL_E_NONFINITE) | BIT(PAL_E_NOMEM),
           w);
    snap_free(&before);
    free(y);
    free(a);
    free(b);
    free(ew);
}

/* Constant (kind 0), identity (1) or diagonal (2). */
static void op_simple(state_t *s, int kind)
{
    const int64_t n = s->n;
    double w = weight_from(&s->in);
    double *d = xcalloc((size_t)n, sizeof *d);
    unsigned want = 0;
    snap_t before;
    int rc;

    if (kind == 2)
        for (int64_t i = 0; i < n; i++)
            d[i] = fuzz_u8(&s->in) < 128 ? -1.0 : fuzz_f64(&s->in);
    if (!finite_d(w))
        want |= BIT(PAL_E_NONFINITE);
    for (int64_t i = 0; kind == 2 && i < n; i++)
        if (!finite_d(d[i]))
            want |= BIT(PAL_E_NONFINITE);

    snap_take(s, &before);
    rc = kind == 0   ? pal_graph_add_constant(s->g, w)
         : kind == 1 ? pal_graph_add_identity(s->g, w)
                     : pal_graph_add_diagonal(s->g, w, d);
    if (rc == PAL_OK) {
        term_clear(s);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                s->t[i * n + j] = kind == 0 ? 1.0
                                  : i != j  ? 0.0
                                  : kind == 1 ? 1.0
                                              : d[i];
    }
    for (int64_t i = 0; i < n; i++)
        d[i] = 7.0;
    settle(s, &before, rc, want,
           BIT(PAL_E_NULL) | BIT(PAL_E_NONFINITE) | BIT(PAL_E_NOMEM), w);
    snap_free(&before);
    free(d);
}

/* ---- The graph to start from -------------------------------------------- */

static void model_init(state_t *s, int64_t n)
{
    s->n = n;
    s->e = xcalloc((size_t)(n * n), sizeof(double));
    s->m = xcalloc((size_t)(n * n), sizeof(double));
    s->t = xcalloc((size_t)(n * n), sizeof(double));
}

/* Build the starting graph; false when the builder failed (checked). */
static bool start(state_t *s)
{
    fuzz_in_t *in = &s->in;
    uint8_t kind = fuzz_u8(in) % 4;
    pal_graph_t *g = (pal_graph_t *)&s->fa; /* a sentinel, never used */
    int32_t *y = NULL;
    int64_t *src = NULL;
    int64_t n = 0, n0 = 0, views = 0, rep = 0;
    double alpha = 0.0;
    unsigned want = 0, allowed;
    long live = s->fa.live;
    int rc;

    if (kind == 0) {
        n = fuzz_range(in, 1, MAX_N);
        rc = pal_graph_create(&g, n, &s->alloc);
        FUZZ_CHECK(rc == PAL_OK || rc == PAL_E_NOMEM);
        if (rc == PAL_OK) {
            model_init(s, n);
            s->g = g;
            return true;
        }
        FUZZ_CHECK(g == (pal_graph_t *)&s->fa && s->fa.live == live);
        return false;
    }

    if (kind == 1) {
        uint8_t b = fuzz_u8(in);

        n0 = b < 250 ? fuzz_range(in, 1, 16) : (int64_t)(b % 3) - 1;
        rep = fuzz_u8(in) < 250 ? fuzz_range(in, 1, 4) : 0;
        y = xcalloc((size_t)(n0 > 0 ? n0 : 1), sizeof *y);
        for (int64_t i = 0; i < n0; i++)
            y[i] = label_from(in);
        if (n0 < 1 || rep < 1)
            want |= BIT(PAL_E_SIZE);
        for (int64_t i = 0; i < n0; i++)
            if (y[i] < -1)
                want |= BIT(PAL_E_INDEX);
        n = n0 * rep;
        rc = pal_graph_supervised(&g, n0, y, rep, &s->alloc);
        allowed = BIT(PAL_E_NULL) | BIT(PAL_E_SIZE) | BIT(PAL_E_INDEX) |
                  BIT(PAL_E_NOMEM);
    } else {
        uint8_t b = fuzz_u8(in);

        n = b < 250 ? fuzz_range(in, 1, MAX_N) : (int64_t)(b % 3) - 1;
        views = fuzz_u8(in) < 240 ? fuzz_range(in, 1, 4)
                                  : fuzz_range(in, -1, 0);
        if (fuzz_u8(in) < 128 && n > 0) {
            src = xcalloc((size_t)n, sizeof *src);
            for (int64_t i = 0; i < n; i++) {
                uint8_t v = fuzz_u8(in);

                src[i] = v < 250 ? (int64_t)(v % n)
                                 : v < 253 ? -1 : n;
            }
        }
        if (kind == 3) {
            static const double alphas[] = {0.0, 0.25, 0.5, 1.0, -0.1,
                                            1.5, NAN, 0.75};

            alpha = alphas[fuzz_u8(in) % 8];
            if (fuzz_u8(in) < 230 && n > 0) {
                y = xcalloc((size_t)n, sizeof *y);
                for (int64_t i = 0; i < n; i++)
                    y[i] = label_from(in);
            }
        }
        if (n < 1)
            want |= BIT(PAL_E_SIZE);
        if (!src && views < 1)
            want |= BIT(PAL_E_SIZE);
        if (!src && views >= 1 && n >= 1 && n % views != 0)
            want |= BIT(PAL_E_SHAPE);
        for (int64_t i = 0; src && i < n; i++)
            if (src[i] < 0 || src[i] >= n)
                want |= BIT(PAL_E_INDEX);
        if (kind == 3) {
            if (!(alpha >= 0.0 && alpha <= 1.0))
                want |= BIT(PAL_E_RANGE);
            else if (alpha > 0.0 && !y)
                want |= BIT(PAL_E_NULL);
            for (int64_t i = 0; y && n > 0 && i < n; i++)
                if (y[i] < -1)
                    want |= BIT(PAL_E_INDEX);
            rc = pal_graph_mixture(&g, n, alpha, views, src, y, &s->alloc);
        } else {
            rc = pal_graph_ssl(&g, n, views, src, &s->alloc);
        }
        allowed = BIT(PAL_E_NULL) | BIT(PAL_E_SIZE) | BIT(PAL_E_SHAPE) |
                  BIT(PAL_E_INDEX) | BIT(PAL_E_RANGE) | BIT(PAL_E_NOMEM);
    }

    FUZZ_CHECK(rc == PAL_OK || (rc < 0 && (allowed & BIT(rc))));
    if (want)
        FUZZ_CHECK(rc < 0 && (want & BIT(rc)));
    else
        FUZZ_CHECK(rc == PAL_OK || rc == PAL_E_NOMEM);
    if (rc != PAL_OK) {
        FUZZ_CHECK(g == (pal_graph_t *)&s->fa && s->fa.live == live);
        free(y);
        free(src);
        return false;
    }

    s->g = g;
    model_init(s, n);
    if (kind == 1) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                s->t[i * n + j] =
                    y[i / rep] >= 0 && y[i / rep] == y[j / rep];
        model_add(s, 1.0);
    } else {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                int64_t a = src ? src[i] : i / views;
                int64_t b = src ? src[j] : j / views;

                s->t[i * n + j] = a == b;
            }
        if (alpha < 1.0)
            model_add(s, 1.0 - alpha);
        if (alpha > 0.0) {
            term_labels(s, y);
            model_add(s, alpha);
        }
    }
    free(y);
    free(src);
    check_graph(s);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    state_t s;
    uint8_t fail;

    memset(&s, 0, sizeof s);
    fuzz_in_init(&s.in, data, size);
    s.alloc = fuzz_allocator(&s.fa);
    fail = fuzz_u8(&s.in);
    s.fa.fail_at = fail < 200 ? 0 : fail - 199;
    s.fa.sticky = fail >= 230;
    FUZZ_CHECK(pal_ctx_create(&s.ctx, NULL) == PAL_OK);
    FUZZ_CHECK(pal_ctx_set_threads(s.ctx, 1) == PAL_OK);

    if (start(&s)) {
        for (int op = 0; op < MAX_OPS && fuzz_left(&s.in); op++) {
            uint8_t k = fuzz_u8(&s.in);

            if (k < 110)
                op_csr(&s);
            else if (k < 140)
                op_dense(&s);
            else if (k < 170)
                op_labels(&s);
            else if (k < 205)
                op_blocks(&s);
            else
                op_simple(&s, k % 3);
        }
        pal_graph_destroy(s.g);
    }

    /* Every block the graph allocated came back. */
    FUZZ_CHECK(s.fa.live == 0);
    for (int i = 0; i < s.nkeep; i++)
        free(s.keep[i]);
    free(s.e);
    free(s.m);
    free(s.t);
    pal_ctx_destroy(s.ctx);
    return 0;
}
