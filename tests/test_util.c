/*
 * Implementation of the shared test helpers (testutil.h).
 */
#include "testutil.h"

uint64_t test_seed(void)
{
    const char *s = getenv("PAL_TEST_SEED");

    return s && *s ? strtoull(s, NULL, 0) : 20260101u;
}

void trng_seed(trng_t *r, uint64_t seed)
{
    r->s = seed ^ 0x9e3779b97f4a7c15u;
}

uint64_t trng_next(trng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double trng_unit(trng_t *r)
{
    return (double)(trng_next(r) >> 11) * 0x1.0p-53;
}

double trng_normal(trng_t *r)
{
    double u = trng_unit(r), v = trng_unit(r);

    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

int64_t trng_below(trng_t *r, int64_t n)
{
    return (int64_t)(trng_next(r) % (uint64_t)n);
}

void fill_normal(trng_t *r, double *z, int64_t n, int64_t k, int64_t ld,
                 double s)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            z[i * ld + j] = s * trng_normal(r);
}

void to_float(const double *z, int64_t n, int64_t k, int64_t ld, float *f,
              int64_t ldf)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            f[i * ldf + j] = (float)z[i * ld + j];
}

int close_enough(double a, double b, double rtol, double atol)
{
    return fabs(a - b) <= atol + rtol * fabs(b);
}

double mat_err(const double *a, int64_t lda, const double *b, int64_t ldb,
               int64_t n, int64_t k, double rtol, double atol)
{
    double scale = 0.0, worst = 0.0;

    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            scale = fmax(scale, fabs(b[i * ldb + j]));
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < k; j++) {
            /* fmax would skip a NaN: report it as the worst error. */
            if (isnan(a[i * lda + j]) || isnan(b[i * ldb + j]))
                return INFINITY;
            worst = fmax(worst, fabs(a[i * lda + j] - b[i * ldb + j]) /
                                    (atol + rtol * scale));
        }
    }
    return worst;
}

void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);

    ck_assert_msg(p != NULL, "out of memory (%zu bytes)", bytes);
    return p;
}

void to_double(const float *f, int64_t n, int64_t k, int64_t ldf, double *z,
               int64_t ld)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            z[i * ld + j] = f[i * ldf + j];
}

void round_to_float(double *z, int64_t n, int64_t k, int64_t ld)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            z[i * ld + j] = (float)z[i * ld + j];
}

/* ---- Counting allocator ------------------------------------------------ */

/* Each block carries its size in a header as large as the strictest
 * alignment, so that the memory handed out stays aligned like malloc's. */
typedef union theader {
    size_t size;
    max_align_t align;
} theader_t;

static void *talloc_alloc(void *user, size_t size)
{
    talloc_t *t = user;
    theader_t *h;

    if (++t->calls == t->fail_at || size > SIZE_MAX - sizeof *h)
        return NULL;
    h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    t->live += size;
    t->live_blocks++;
    if (t->live > t->peak)
        t->peak = t->live;
    return h + 1;
}

static void talloc_free(void *user, void *p)
{
    talloc_t *t = user;
    theader_t *h = (theader_t *)p - 1;

    t->live -= h->size;
    t->live_blocks--;
    free(h);
}

pal_allocator_t talloc_make(talloc_t *t)
{
    pal_allocator_t a = {talloc_alloc, talloc_free, t};

    memset(t, 0, sizeof *t);
    return a;
}

/* ---- Graphs known to the test ------------------------------------------ */

static const int32_t label_values[16] = {
    7, 1000000, 3, 2147483646, 0, 42, 12345, 99,
    5, 31337, 1, 800, 65536, 2, 777777, 13};

int32_t label_value(int c)
{
    return label_values[c];
}

void random_labels(trng_t *r, int32_t *y, int64_t n, int classes,
                   double unknown)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = trng_unit(r) < unknown
                   ? -1
                   : label_values[trng_below(r, classes)];
}

void tg_init(tgraph_t *tg, int64_t n)
{
    memset(tg, 0, sizeof *tg);
    tg->n = n;
}

void tg_free(tgraph_t *tg)
{
    for (int t = 0; t < tg->nterms; t++) {
        tg_term_t *x = &tg->t[t];

        free(x->a);
        free(x->rowptr);
        free(x->colidx);
        free(x->vals);
        free(x->y);
        free(x->ea);
        free(x->eb);
        free(x->ew);
        free(x->d);
        free(x->source);
    }
    memset(tg, 0, sizeof *tg);
}

static tg_term_t *tg_new(tgraph_t *tg, int kind, double w)
{
    tg_term_t *x;

    ck_assert_int_lt(tg->nterms, TG_MAX_TERMS);
    if (kind >= TG_SSL)
        ck_assert_int_eq(tg->nterms, 0);
    x = &tg->t[tg->nterms++];
    x->kind = kind;
    x->w = w;
    return x;
}

static void put(pal_dtype_t dtype, void *p, int64_t at, double v)
{
    if (dtype == PAL_F32)
        ((float *)p)[at] = (float)v;
    else
        ((double *)p)[at] = v;
}

static double get(pal_dtype_t dtype, const void *p, int64_t at)
{
    return dtype == PAL_F32 ? ((const float *)p)[at]
                            : ((const double *)p)[at];
}

static double draw(trng_t *r, int nonneg)
{
    return nonneg ? trng_unit(r) : trng_normal(r);
}

void tg_dense(tgraph_t *tg, trng_t *r, double w, pal_dtype_t dtype, int sym,
              int nonneg)
{
    const int64_t n = tg->n, lda = n + 3;
    tg_term_t *x = tg_new(tg, TG_DENSE, w);

    x->dtype = dtype;
    x->lda = lda;
    x->a = xmalloc((size_t)(n * lda) * pal_dtype_size(dtype));
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < lda; j++)
            put(dtype, x->a, i * lda + j, j < n ? draw(r, nonneg) : NAN);
        for (int64_t j = 0; sym && j < i; j++)
            put(dtype, x->a, i * lda + j, get(dtype, x->a, j * lda + i));
    }
}

void tg_csr(tgraph_t *tg, trng_t *r, double w, pal_dtype_t dtype,
            double density, int sym, int nonneg)
{
    const int64_t n = tg->n;
    tg_term_t *x = tg_new(tg, TG_CSR, w);
    double *full = calloc((size_t)(n * n), sizeof *full);
    char *has = calloc((size_t)(n * n), 1);
    int64_t q = 0;

    ck_assert(full && has);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = sym ? i : 0; j < n; j++) {
            if (trng_unit(r) >= density)
                continue;
            full[i * n + j] = draw(r, nonneg);
            if (dtype == PAL_F32)
                full[i * n + j] = (float)full[i * n + j];
            has[i * n + j] = 1;
            if (sym) {
                full[j * n + i] = full[i * n + j];
                has[j * n + i] = 1;
            }
        }
    }
    for (int64_t i = 0; i < n * n; i++)
        x->nnz += has[i];
    x->dtype = dtype ? dtype : PAL_F64;
    x->rowptr = xmalloc((size_t)(n + 1) * sizeof *x->rowptr);
    x->colidx = xmalloc((size_t)x->nnz * sizeof *x->colidx);
    x->vals = dtype ? xmalloc((size_t)x->nnz * pal_dtype_size(dtype)) : NULL;
    x->rowptr[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            if (!has[i * n + j])
                continue;
            x->colidx[q] = (int32_t)j;
            if (x->vals)
                put(dtype, x->vals, q, full[i * n + j]);
            q++;
        }
        x->rowptr[i + 1] = q;
    }
    free(full);
    free(has);
}

static int32_t *copy_i32(const int32_t *v, int64_t m)
{
    int32_t *c = xmalloc((size_t)m * sizeof *c);

    memcpy(c, v, (size_t)m * sizeof *c);
    return c;
}

void tg_labels(tgraph_t *tg, double w, const int32_t *y)
{
    tg_new(tg, TG_LABELS, w)->y = copy_i32(y, tg->n);
}

void tg_blocks(tgraph_t *tg, double w, const int32_t *y, int64_t ne,
               const int32_t *a, const int32_t *b, const double *wv)
{
    tg_term_t *x = tg_new(tg, TG_BLOCKS, w);

    x->y = copy_i32(y, tg->n);
    x->ne = ne;
    x->ea = copy_i32(a, ne);
    x->eb = copy_i32(b, ne);
    x->ew = xmalloc((size_t)ne * sizeof *x->ew);
    memcpy(x->ew, wv, (size_t)ne * sizeof *x->ew);
}

void tg_constant(tgraph_t *tg, double c)
{
    tg_new(tg, TG_CONST, c);
}

void tg_identity(tgraph_t *tg, double c)
{
    tg_new(tg, TG_IDENT, c);
}

void tg_diagonal(tgraph_t *tg, double w, const double *d)
{
    tg_term_t *x = tg_new(tg, TG_DIAG, w);

    x->d = xmalloc((size_t)tg->n * sizeof *x->d);
    memcpy(x->d, d, (size_t)tg->n * sizeof *x->d);
}

static int64_t *copy_source(const int64_t *s, int64_t n)
{
    int64_t *c;

    if (!s)
        return NULL;
    c = xmalloc((size_t)n * sizeof *c);
    memcpy(c, s, (size_t)n * sizeof *c);
    return c;
}

void tg_ssl(tgraph_t *tg, int64_t views, const int64_t *source)
{
    tg_term_t *x = tg_new(tg, TG_SSL, 1.0);

    x->views = views;
    x->source = copy_source(source, tg->n);
}

void tg_mixture(tgraph_t *tg, double alpha, int64_t views,
                const int64_t *source, const int32_t *y)
{
    tg_term_t *x = tg_new(tg, TG_MIXTURE, 1.0);

    x->alpha = alpha;
    x->views = views;
    x->source = copy_source(source, tg->n);
    x->y = copy_i32(y, tg->n);
}

void tg_supervised(tgraph_t *tg, const int32_t *y, int64_t repeats)
{
    tg_term_t *x = tg_new(tg, TG_SUPERVISED, 1.0);

    ck_assert_int_eq(tg->n % repeats, 0);
    x->repeats = repeats;
    x->y = copy_i32(y, tg->n / repeats);
}

pal_graph_t *tg_build(const tgraph_t *tg)
{
    pal_graph_t *g = NULL;
    int t0 = 0;

    if (tg->nterms > 0 && tg->t[0].kind >= TG_SSL) {
        const tg_term_t *x = &tg->t[0];

        if (x->kind == TG_SSL)
            ck_status(pal_graph_ssl(&g, tg->n, x->views, x->source, NULL),
                      PAL_OK);
        else if (x->kind == TG_MIXTURE)
            ck_status(pal_graph_mixture(&g, tg->n, x->alpha, x->views,
                                        x->source, x->y, NULL),
                      PAL_OK);
        else
            ck_status(pal_graph_supervised(&g, tg->n / x->repeats, x->y,
                                           x->repeats, NULL),
                      PAL_OK);
        t0 = 1;
    } else {
        ck_status(pal_graph_create(&g, tg->n, NULL), PAL_OK);
    }
    for (int t = t0; t < tg->nterms; t++) {
        const tg_term_t *x = &tg->t[t];
        int rc = PAL_OK;

        switch (x->kind) {
        case TG_DENSE:
            rc = pal_graph_add_dense(g, x->w, x->dtype, x->a, x->lda, 0);
            break;
        case TG_CSR:
            rc = pal_graph_add_csr(g, x->w, x->dtype, x->nnz, x->rowptr,
                                   x->colidx, x->vals, 0);
            break;
        case TG_LABELS:
            rc = pal_graph_add_labels(g, x->w, x->y);
            break;
        case TG_BLOCKS:
            rc = pal_graph_add_blocks(g, x->w, x->y, x->ne, x->ea, x->eb,
                                      x->ew);
            break;
        case TG_CONST:
            rc = pal_graph_add_constant(g, x->w);
            break;
        case TG_IDENT:
            rc = pal_graph_add_identity(g, x->w);
            break;
        case TG_DIAG:
            rc = pal_graph_add_diagonal(g, x->w, x->d);
            break;
        default:
            ck_abort_msg("builder kind %d after the first term", x->kind);
        }
        ck_status(rc, PAL_OK);
    }
    return g;
}

/* The source sample of row i in an SSL description. */
static int64_t ssl_source(const tg_term_t *x, int64_t i)
{
    return x->source ? x->source[i] : i / x->views;
}

/* Entry (i, j) of term x without its weight, from the definitions. */
static double term_entry(const tg_term_t *x, int64_t i, int64_t j)
{
    double v = 0.0;

    switch (x->kind) {
    case TG_DENSE:
        return get(x->dtype, x->a, i * x->lda + j);
    case TG_CSR:
        for (int64_t q = x->rowptr[i]; q < x->rowptr[i + 1]; q++)
            if (x->colidx[q] == j)
                v += x->vals ? get(x->dtype, x->vals, q) : 1.0;
        return v;
    case TG_LABELS:
        return x->y[i] >= 0 && x->y[i] == x->y[j];
    case TG_BLOCKS:
        /* Every triple naming (y_i, y_j) counts: repeats are summed. */
        if (x->y[i] < 0 || x->y[j] < 0)
            return 0.0;
        for (int64_t e = 0; e < x->ne; e++)
            if (x->ea[e] == x->y[i] && x->eb[e] == x->y[j])
                v += x->ew[e];
        return v;
    case TG_CONST:
        return 1.0;
    case TG_IDENT:
        return i == j;
    case TG_DIAG:
        return i == j ? x->d[i] : 0.0;
    case TG_SSL:
        return ssl_source(x, i) == ssl_source(x, j);
    case TG_MIXTURE:
        return (1.0 - x->alpha) * (ssl_source(x, i) == ssl_source(x, j)) +
               x->alpha * (x->y[i] >= 0 && x->y[i] == x->y[j]);
    default: {
        int32_t a = x->y[i / x->repeats], b = x->y[j / x->repeats];

        return a >= 0 && a == b;
    }
    }
}

void tg_expand_term(const tgraph_t *tg, int t, double *g)
{
    const int64_t n = tg->n;

    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            g[i * n + j] = tg->t[t].w * term_entry(&tg->t[t], i, j);
}

void tg_expand(const tgraph_t *tg, double *g)
{
    const int64_t n = tg->n;

    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            double v = 0.0;

            for (int t = 0; t < tg->nterms; t++)
                v += tg->t[t].w * term_entry(&tg->t[t], i, j);
            g[i * n + j] = v;
        }
    }
}
