/*
 * The closed-form VIC^2 optimum (the paper's section 5): the top of the
 * spectrum of the symmetric part of G, or of G - lambda (K + delta I)^-1
 * for a kernel model with Tikhonov weight lambda.
 *
 * Three routes. A graph made only of block terms (labels, blocks,
 * constant) is G = Y W Y^T over the classes that refine every term's
 * partition, so its non-zero eigenpairs are those of the C x C matrix
 * D^1/2 W D^1/2 (D the class sizes), lifted back by Y D^-1/2; the other
 * n - C eigenvalues are zero. A large graph without dense terms goes to
 * the block Lanczos solver of lanczos.c, which only multiplies by G and
 * G^T. Any other graph, and every kernel problem, is expanded into one
 * n x n float64 matrix and handed to dsyevr. The options can force the
 * dense or the iterative route.
 */
#include <stdlib.h>

#include "spectral_internal.h"

void pal_embed_opts_init(pal_embed_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->kernel_dtype = PAL_F64;
    opts->delta = PAL_EMBED_DELTA_AUTO;
}

/* Everything the call validated, and where the answer goes. */
typedef struct embed {
    const pal_graph_t *g;
    pal_dtype_t dtype;
    int64_t n, k, ldz;
    void *z;
    double *eigenvalues;
    pal_embed_opts_t o;
    int64_t ldk;
} embed_t;

static bool finite(double x)
{
    return x - x == 0.0;
}

static int check_args(const pal_ctx_t *ctx, embed_t *e,
                      const pal_embed_opts_t *user)
{
    int rc;

    if (!ctx || !e->g)
        return PAL_E_NULL;
    pal_embed_opts_init(&e->o);
    if (user && (rc = pal__read_opts(&e->o, sizeof e->o, user)) != PAL_OK)
        return rc;
    rc = pal__check_matrix(e->dtype, e->n, e->k, e->z, e->ldz);
    if (rc != PAL_OK)
        return rc;
    if (e->n != e->g->n)
        return PAL_E_SHAPE;
    if (!finite(e->o.lambda) || e->o.lambda < 0.0)
        return PAL_E_RANGE;
    if (!finite(e->o.delta) ||
        (e->o.delta < 0.0 && e->o.delta != PAL_EMBED_DELTA_AUTO))
        return PAL_E_RANGE;
    if ((unsigned)e->o.method > (unsigned)PAL_EMBED_ITERATIVE ||
        !(e->o.tol >= 0.0 && e->o.tol < 1.0) || e->o.max_iter < 0 ||
        (e->o.method == PAL_EMBED_ITERATIVE && e->o.lambda > 0.0))
        return PAL_E_RANGE;
    e->ldk = e->o.ldk == 0 ? e->n : e->o.ldk;
    if (e->o.lambda > 0.0) {
        if (e->o.ldk < 0)
            return PAL_E_STRIDE;
        rc = pal__check_matrix(e->o.kernel_dtype, e->n, e->n, e->o.kernel,
                               e->ldk);
        if (rc != PAL_OK)
            return rc;
    }
    if (e->eigenvalues &&
        pal__overlap(e->eigenvalues, (size_t)e->k * sizeof(double), e->z,
                     pal__matrix_extent(e->dtype, e->n, e->k, e->ldz)))
        return PAL_E_ALIAS;
    if (!pal__graph_finite(e->g))
        return PAL_E_NONFINITE;
    if (e->o.lambda > 0.0 &&
        !pal__matrix_finite(e->o.kernel_dtype, e->n, e->n, e->o.kernel,
                            e->ldk))
        return PAL_E_NONFINITE;
    return PAL_OK;
}

/* The sign that makes the entry of largest magnitude of a vector
 * positive (the first such entry on ties); entries are v[q inc] / f[q],
 * or v[q inc] when f is NULL. */
static double sign_of(const double *v, int64_t inc, const double *f,
                      int64_t len)
{
    double best = -1.0, at = 0.0;

    for (int64_t q = 0; q < len; q++) {
        double x = f ? v[q * inc] / f[q] : v[q * inc];

        if (fabs(x) > best) {
            best = fabs(x);
            at = x;
        }
    }
    return at < 0.0 ? -1.0 : 1.0;
}

/* Write Z from the table rows: row i of Z is row row_of(i) of tab
 * (rows x k doubles), or row i when map is NULL. */
static void write_z(const embed_t *e, const double *tab, const int32_t *map)
{
    for (int64_t i = 0; i < e->n; i++) {
        const double *t = tab + (size_t)(map ? map[i] : i) * (size_t)e->k;
        size_t row = (size_t)i * (size_t)e->ldz;

        for (int64_t c = 0; c < e->k; c++)
            pal__sp_put(e->dtype, e->z, row + (size_t)c, t[c]);
    }
}

static size_t nn_bytes(int64_t a, int64_t b, size_t elem)
{
    size_t ab, bytes;

    if (!pal__mul_size((size_t)a, (size_t)b, &ab) ||
        !pal__mul_size(ab, elem, &bytes) || bytes > SIZE_MAX / 8)
        return 0;
    return bytes;
}

/* ---- Graphs of block terms: the class space ------------------------------ */

static bool all_blocks(const pal_graph_t *g)
{
    for (int64_t t = 0; t < g->nterms; t++)
        if (g->terms[t].kind != PAL__BLOCK)
            return false;
    return true;
}

/* A class and its diagonal entry, for the diagonal route's sort. */
typedef struct ranked {
    double v;
    int64_t a;
} ranked_t;

typedef struct cls_ws {
    int64_t *key, *sorted; /* n each */
    int32_t *cls;          /* n: the class of each item */
    int32_t *renum;        /* C: first-appearance numbering */
    int64_t *rep;          /* C: first item of each class */
    double *sz;            /* C: class sizes */
    double *f;             /* C: their square roots */
    double *m;             /* C x C: D^1/2 W_sym D^1/2 */
    double *w;             /* cnt eigenvalues */
    double *vec;           /* cnt class-space eigenvectors of length C */
    double *tab;           /* C x k: the rows of Z, per class */
    ranked_t *order;       /* C: the diagonal route's sort */
    double *nu;            /* k: G's top eigenvalues */
    int64_t *src;          /* k: where each comes from (see merge) */
    void *eig;
} cls_ws_t;

static void cls_layout(int64_t n, int64_t c, int64_t k, size_t eig,
                       pal__ws_t *ws, cls_ws_t *w)
{
    const int64_t cnt = k < c ? k : c;

    w->key = pal__ws_take(ws, (size_t)n * sizeof(int64_t));
    w->sorted = pal__ws_take(ws, (size_t)n * sizeof(int64_t));
    w->cls = pal__ws_take(ws, (size_t)n * sizeof(int32_t));
    if (c == 0)
        return;
    w->renum = pal__ws_take(ws, (size_t)c * sizeof(int32_t));
    w->rep = pal__ws_take(ws, (size_t)c * sizeof(int64_t));
    w->sz = pal__ws_take(ws, (size_t)c * sizeof(double));
    w->f = pal__ws_take(ws, (size_t)c * sizeof(double));
    w->m = pal__ws_take(ws, (size_t)c * (size_t)c * sizeof(double));
    w->w = pal__ws_take(ws, (size_t)cnt * sizeof(double));
    w->vec = pal__ws_take(ws, (size_t)cnt * (size_t)c * sizeof(double));
    w->tab = pal__ws_take(ws, (size_t)c * (size_t)k * sizeof(double));
    w->order = pal__ws_take(ws, (size_t)c * sizeof(ranked_t));
    w->nu = pal__ws_take(ws, (size_t)k * sizeof(double));
    w->src = pal__ws_take(ws, (size_t)k * sizeof(int64_t));
    w->eig = pal__ws_take(ws, eig);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Position of key in the sorted, duplicate-free s[0..len). */
static int32_t find_key(const int64_t *s, int64_t len, int64_t key)
{
    int64_t lo = 0, hi = len;

    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;

        if (s[mid] <= key)
            lo = mid;
        else
            hi = mid;
    }
    return (int32_t)lo;
}

/* The coarsest partition that refines every term's classes (an unknown
 * item, label -1, is a class of its own value), numbered by first
 * appearance. Returns the number of classes. */
static int64_t refine(const pal_graph_t *g, cls_ws_t *w)
{
    const int64_t n = g->n;
    int64_t c = 1;

    for (int64_t i = 0; i < n; i++)
        w->cls[i] = 0;
    for (int64_t t = 0; t < g->nterms; t++) {
        const pal__term_t *x = &g->terms[t];
        int64_t u = 0;

        if (!x->y)
            continue;   /* the constant term: one class */
        for (int64_t i = 0; i < n; i++)
            w->key[i] = (int64_t)w->cls[i] * ((int64_t)x->nc + 1) +
                        (int64_t)x->y[i] + 1;
        memcpy(w->sorted, w->key, (size_t)n * sizeof *w->key);
        qsort(w->sorted, (size_t)n, sizeof *w->sorted, cmp_i64);
        for (int64_t i = 0; i < n; i++)
            if (i == 0 || w->sorted[i] != w->sorted[i - 1])
                w->sorted[u++] = w->sorted[i];
        for (int64_t i = 0; i < n; i++)
            w->cls[i] = find_key(w->sorted, u, w->key[i]);
        c = u;
    }
    return c;
}

/* Number the classes by first appearance and record each one's first
 * item and size. */
static void classes(const pal_graph_t *g, int64_t c, cls_ws_t *w)
{
    int32_t next = 0;

    for (int64_t a = 0; a < c; a++) {
        w->renum[a] = -1;
        w->sz[a] = 0.0;
    }
    for (int64_t i = 0; i < g->n; i++) {
        int32_t a = w->cls[i];

        if (w->renum[a] < 0) {
            w->rep[next] = i;
            w->renum[a] = next++;
        }
        w->cls[i] = w->renum[a];
        w->sz[w->cls[i]] += 1.0;
    }
    for (int64_t a = 0; a < c; a++)
        w->f[a] = sqrt(w->sz[a]);
}

/* Descending values, then ascending classes: a total order, so the
 * result does not depend on qsort's algorithm. */
static int cmp_ranked(const void *pa, const void *pb)
{
    const ranked_t *x = pa, *y = pb;

    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return (x->a > y->a) - (x->a < y->a);
}

/* Merge the class-space eigenvalues w[0..cnt) (descending) with the
 * n - c zero eigenvalues of the complement: src[q] is the class-space
 * index of position q, or -1 for a zero outside it (and beyond n). */
static void merge(const embed_t *e, int64_t c, int64_t cnt, const double *w,
                  double *nu, int64_t *src)
{
    int64_t p = 0, zeros = e->n - c;

    for (int64_t q = 0; q < e->k; q++) {
        if (p < cnt && (w[p] > 0.0 || zeros == 0)) {
            nu[q] = w[p];
            src[q] = p++;
        } else {
            if (zeros > 0)
                zeros--;
            nu[q] = 0.0;
            src[q] = -1;
        }
    }
}

static int embed_classes(pal_ctx_t *ctx, embed_t *e)
{
    const int64_t n = e->n;
    pal__ws_t ws = {NULL, 0};
    cls_ws_t w;
    int64_t c, cnt;
    size_t eig = 0;
    double *nu;
    int64_t *src;
    char *first;
    bool diagonal = true;
    int rc;

    /* The partition first, in a workspace of its own size; the class
     * count then sizes the rest. */
    memset(&w, 0, sizeof w);
    cls_layout(n, 0, e->k, 0, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    cls_layout(n, 0, e->k, 0, &ws, &w);
    first = ws.base;
    c = refine(e->g, &w);
    cnt = e->k < c ? e->k : c;

    if (nn_bytes(c, c, sizeof(double)) == 0 ||
        nn_bytes(c, e->k, 2 * sizeof(double)) == 0)
        return PAL_E_SIZE;
    if (c > 1 && (eig = pal__eig_ws(c, cnt)) == 0)
        return PAL_E_SIZE;
    ws.base = NULL;
    ws.used = 0;
    cls_layout(n, c, e->k, eig, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    cls_layout(n, c, e->k, eig, &ws, &w);
    nu = w.nu;
    src = w.src;
    if (ws.base != first)
        refine(e->g, &w);   /* the workspace moved: its content went */
    classes(e->g, c, &w);

    /* M = D^1/2 W_sym D^1/2, lower triangle. */
    for (int64_t a = 0; a < c; a++) {
        for (int64_t b = 0; b <= a; b++) {
            const int64_t i = w.rep[a], j = w.rep[b];
            double v = 0.5 * pal__graph_entry(e->g, i, j) +
                       0.5 * pal__graph_entry(e->g, j, i);

            /* Exact on the diagonal, so that label graphs give their
             * class sizes exactly. */
            v *= a == b ? w.sz[a] : w.f[a] * w.f[b];
            if (!finite(v))
                return PAL_E_OVERFLOW;
            w.m[a * c + b] = v;
            if (a != b && v != 0.0)
                diagonal = false;
        }
    }

    if (diagonal) {
        /* Exact: the eigenvectors are the class indicators, ordered by
         * eigenvalue and then by first appearance. */
        for (int64_t a = 0; a < c; a++) {
            w.order[a].v = w.m[a * c + a];
            w.order[a].a = a;
        }
        qsort(w.order, (size_t)c, sizeof *w.order, cmp_ranked);
        for (int64_t q = 0; q < cnt; q++) {
            w.w[q] = w.order[q].v;
            memset(w.vec + q * c, 0, (size_t)c * sizeof *w.vec);
            w.vec[q * c + w.order[q].a] = 1.0;
        }
    } else if ((rc = pal__eig_top(c, cnt, w.m, w.w, w.vec, w.eig)) !=
               PAL_OK) {
        return rc;
    }

    /* Z = Y D^-1/2 V diag(sqrt(nu)), one table row per class. */
    merge(e, c, cnt, w.w, nu, src);
    for (int64_t q = 0; q < e->k; q++) {
        const double *v;
        double s;

        if (src[q] < 0 || !(nu[q] > 0.0)) {
            for (int64_t a = 0; a < c; a++)
                w.tab[a * e->k + q] = 0.0;
            continue;
        }
        v = w.vec + src[q] * c;
        s = sqrt(nu[q]) * sign_of(v, 1, w.f, c);
        for (int64_t a = 0; a < c; a++)
            w.tab[a * e->k + q] = s * v[a] / w.f[a];
    }
    write_z(e, w.tab, w.cls);
    if (e->eigenvalues)
        memcpy(e->eigenvalues, nu, (size_t)e->k * sizeof *nu);
    return PAL_OK;
}

/* ---- Any graph, and kernels: one dense n x n problem --------------------- */

typedef struct dense_ws {
    double *a;     /* n x n: G, then the matrix whose top is wanted */
    double *dg;    /* n: the diagonal of S (kernel problems) */
    double *w;     /* cnt eigenvalues */
    double *vec;   /* cnt eigenvectors of length n */
    double *tab;   /* n x k: Z in float64 */
    void *eig;
} dense_ws_t;

static void dense_layout(int64_t n, int64_t k, int64_t cnt, size_t eig,
                         pal__ws_t *ws, dense_ws_t *w)
{
    w->a = pal__ws_take(ws, (size_t)n * (size_t)n * sizeof(double));
    w->dg = pal__ws_take(ws, (size_t)n * sizeof(double));
    w->w = pal__ws_take(ws, (size_t)cnt * sizeof(double));
    w->vec = pal__ws_take(ws, (size_t)cnt * (size_t)n * sizeof(double));
    w->tab = pal__ws_take(ws, (size_t)n * (size_t)k * sizeof(double));
    w->eig = pal__ws_take(ws, eig);
}

/* The default delta: 1e-8 times the mean absolute diagonal of K. */
static double auto_delta(const embed_t *e)
{
    double s = 0.0;

    for (int64_t i = 0; i < e->n; i++)
        s += fabs(pal__sp_get(e->o.kernel_dtype, e->o.kernel,
                              (size_t)i * (size_t)e->ldk + (size_t)i));
    s /= (double)e->n;
    return s > 0.0 ? 1e-8 * s : 1e-8;
}

/* The lower triangle of a becomes S - lambda (K + delta I)^-1, with S
 * the symmetric part of the G it holds. S goes to the upper triangle and
 * dg, K + delta I to the lower one, where LAPACK factors and inverts it
 * in place. */
static int kernel_matrix(const embed_t *e, dense_ws_t *w)
{
    const int64_t n = e->n;
    const double delta =
        e->o.delta >= 0.0 ? e->o.delta : auto_delta(e);
    const pal__lint ln = (pal__lint)n;
    pal__lint info = 0;
    double *a = w->a;

    for (int64_t i = 0; i < n; i++) {
        w->dg[i] = a[i * n + i];
        for (int64_t j = i + 1; j < n; j++)
            a[i * n + j] = 0.5 * a[i * n + j] + 0.5 * a[j * n + i];
    }
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j <= i; j++) {
            const size_t p = (size_t)i * (size_t)e->ldk + (size_t)j;
            const size_t q = (size_t)j * (size_t)e->ldk + (size_t)i;

            a[i * n + j] = 0.5 * pal__sp_get(e->o.kernel_dtype,
                                             e->o.kernel, p) +
                           0.5 * pal__sp_get(e->o.kernel_dtype,
                                             e->o.kernel, q);
        }
        a[i * n + i] += delta;
    }
    dpotrf_("U", &ln, a, &ln, &info, 1);
    if (info != 0)
        return PAL_E_RANGE;
    dpotri_("U", &ln, a, &ln, &info, 1);
    if (info != 0)
        return PAL_E_RANGE;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < i; j++)
            a[i * n + j] = a[j * n + i] - e->o.lambda * a[i * n + j];
        a[i * n + i] = w->dg[i] - e->o.lambda * a[i * n + i];
    }
    return PAL_OK;
}

static bool lower_finite(const double *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++)
            if (!finite(a[i * n + j]))
                return false;
    return true;
}

static int embed_dense(pal_ctx_t *ctx, embed_t *e)
{
    const int64_t n = e->n, cnt = e->k < n ? e->k : n;
    pal__ws_t ws = {NULL, 0};
    dense_ws_t w;
    size_t eig;
    int rc;

    if (nn_bytes(n, n, sizeof(double)) == 0 ||
        nn_bytes(n, e->k, 2 * sizeof(double)) == 0)
        return PAL_E_SIZE;
    eig = n > 1 ? pal__eig_ws(n, cnt) : 0;
    if (n > 1 && eig == 0)
        return PAL_E_SIZE;
    dense_layout(n, e->k, cnt, eig, &ws, &w);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    dense_layout(n, e->k, cnt, eig, &ws, &w);

    rc = pal_graph_to_dense(e->g, PAL_F64, w.a, n);
    if (rc != PAL_OK)
        return rc;
    if (e->o.lambda > 0.0) {
        if ((rc = kernel_matrix(e, &w)) != PAL_OK)
            return rc;
    } else {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < i; j++)
                w.a[i * n + j] = 0.5 * w.a[i * n + j] + 0.5 * w.a[j * n + i];
    }
    if (!lower_finite(w.a, n))
        return PAL_E_OVERFLOW;

    if (n == 1) {
        w.w[0] = w.a[0];
        w.vec[0] = 1.0;
    } else if ((rc = pal__eig_top(n, cnt, w.a, w.w, w.vec, w.eig)) !=
               PAL_OK) {
        return rc;
    }

    for (int64_t q = 0; q < e->k; q++) {
        const double *v;
        double s;

        if (q >= cnt || !(w.w[q] > 0.0)) {
            for (int64_t i = 0; i < n; i++)
                w.tab[i * e->k + q] = 0.0;
            continue;
        }
        v = w.vec + q * n;
        s = sqrt(w.w[q]) * sign_of(v, 1, NULL, n);
        for (int64_t i = 0; i < n; i++)
            w.tab[i * e->k + q] = s * v[i];
    }
    write_z(e, w.tab, NULL);
    if (e->eigenvalues) {
        for (int64_t q = 0; q < e->k; q++)
            e->eigenvalues[q] = q < cnt ? w.w[q] : 0.0;
    }
    return PAL_OK;
}

/* ---- Large graphs without dense terms: block Lanczos -------------------- */

/* The defaults of the iterative solver's options. */
#define EMBED_TOL 1e-10
#define EMBED_MAX_ITER 1000

/* AUTO's choice: the iterative solver for a large graph whose products
 * cost O(nnz + n) per column, when its basis and blocks (m + 3 b
 * columns) take at most a quarter of the dense route's n^2 entries. */
static bool auto_iterative(const embed_t *e)
{
    const int64_t cnt = e->k < e->n ? e->k : e->n;
    int64_t b, m;
    bool whole;

    if (e->n < PAL_EMBED_ITERATIVE_MIN_N || pal__graph_has_dense(e->g))
        return false;
    if (pal__krylov_shape(e->n, cnt, &b, &m, &whole) != PAL_OK || whole)
        return false;
    return 4 * (m + 3 * b) <= e->n;
}

static int embed_iterative(pal_ctx_t *ctx, embed_t *e)
{
    const int64_t n = e->n, cnt = e->k < n ? e->k : n;
    pal__krylov_t kr;
    int rc;

    memset(&kr, 0, sizeof kr);
    kr.n = n;
    kr.cnt = cnt;
    kr.tol = e->o.tol > 0.0 ? e->o.tol : EMBED_TOL;
    kr.max_steps = e->o.max_iter > 0 ? e->o.max_iter : EMBED_MAX_ITER;
    if ((rc = pal__krylov_top(ctx, e->g, &kr)) != PAL_OK)
        return rc;

    /* Scale and sign each eigenvector in place, then write Z. */
    for (int64_t c = 0; c < cnt; c++) {
        double *u = kr.u + c * kr.cs;
        const double s =
            kr.nu[c] > 0.0 ? sqrt(kr.nu[c]) * sign_of(u, kr.rs, NULL, n)
                           : 0.0;

        for (int64_t i = 0; i < n; i++)
            u[i * kr.rs] *= s;
    }
    for (int64_t i = 0; i < n; i++) {
        const size_t row = (size_t)i * (size_t)e->ldz;

        for (int64_t c = 0; c < e->k; c++)
            pal__sp_put(e->dtype, e->z, row + (size_t)c,
                        c < cnt ? kr.u[i * kr.rs + c * kr.cs] : 0.0);
    }
    if (e->eigenvalues)
        for (int64_t c = 0; c < e->k; c++)
            e->eigenvalues[c] = c < cnt ? kr.nu[c] : 0.0;
    return PAL_OK;
}

int pal_spectral_embed(pal_ctx_t *ctx, const pal_graph_t *g,
                       pal_dtype_t dtype, int64_t n, int64_t k,
                       const pal_embed_opts_t *opts, void *z, int64_t ldz,
                       double *eigenvalues)
{
    embed_t e;
    int rc;

    memset(&e, 0, sizeof e);
    e.g = g;
    e.dtype = dtype;
    e.n = n;
    e.k = k;
    e.z = z;
    e.ldz = ldz;
    e.eigenvalues = eigenvalues;
    if ((rc = check_args(ctx, &e, opts)) != PAL_OK)
        return rc;
    if (e.o.method == PAL_EMBED_DENSE)
        return embed_dense(ctx, &e);
    if (e.o.method == PAL_EMBED_ITERATIVE)
        return embed_iterative(ctx, &e);
    if (e.o.lambda == 0.0 && all_blocks(g))
        return embed_classes(ctx, &e);
    if (e.o.lambda == 0.0 && auto_iterative(&e))
        return embed_iterative(ctx, &e);
    return embed_dense(ctx, &e);
}
