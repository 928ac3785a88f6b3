/*
 * The top of the spectrum of S = (G + G^T) / 2 from products with G and
 * G^T alone: block Lanczos with full reorthogonalisation and thick
 * restarts.
 *
 * The basis V (n x m, orthonormal columns) grows by blocks of b columns.
 * Each new block is S times the last one, orthogonalised against the
 * blocks it is coupled to and then against all of V (classical
 * Gram-Schmidt by blocks, in BLIS), and within itself by Cholesky QR
 * twice (Householder's, from LAPACK, when the block is too
 * ill-conditioned for it). The coefficients of these steps
 * make H = V^T S V; with F the block that comes next and Fc its
 * coupling, S V = V H + F Fc, so the Ritz pair (theta, V y) of an
 * eigenpair (theta, y) of H has the residual ||Fc y||, known without
 * another product. When V is full the basis restarts from its top Ritz
 * vectors: H becomes their diagonal and Fc their coupling to F, so
 * nothing learned is lost. Rayleigh-Ritz orders the Ritz values
 * algebraically, so eigenvalues of large magnitude at the bottom of the
 * spectrum neither attract the iteration nor need a shift.
 *
 * A block of b >= cnt columns carries up to b copies of a repeated
 * eigenvalue (a Krylov space of fewer columns would find at most that
 * many), so every multiplicity that matters to the top cnt is found.
 * A convergence that the residual estimates claim is confirmed by one
 * more product before it is accepted.
 */
#include "spectral_internal.h"

/* A fixed seed for the start block: the same inputs give the same
 * bits, run after run (for a given thread count). */
#define KR_SEED UINT64_C(0x51a7c0de2b1e55ed)

/* The basis holds KR_BLOCKS blocks; a restart keeps KR_KEEP blocks of
 * Ritz vectors, so that a cycle between restarts is eight block steps.
 * (Measured on kNN graphs: fewer blocks cost more steps than they save
 * in orthogonalisation.) */
#define KR_BLOCKS 12
#define KR_KEEP 4

/* A block is orthogonalised a second time when its QR shows a column
 * below this fraction of the largest product column. */
#define KR_CANCEL 1e-3

/* The products with S = (G + G^T) / 2. */
typedef struct op {
    pal_ctx_t *ctx;
    const pal_graph_t *g;
    bool sym;
    void *mul;
} op_t;

/* Y = S X for cols columns (X and Y n x cols, strides ldx, ldy). */
static void apply_s(const op_t *o, int64_t cols, const double *x, int64_t ldx,
                    double *y, int64_t ldy)
{
    const pal_dtype_t none = (pal_dtype_t)0;

    if (o->sym) {
        pal__graph_mul(o->ctx, o->g, 0, PAL_F64, cols, x, ldx, y, ldy,
                       o->mul);
        return;
    }
    pal__graph_mul_ex(o->ctx, o->g, 0, PAL_F64, cols, x, ldx, y, ldy,
                      o->mul, none, 0.5, false);
    pal__graph_mul_ex(o->ctx, o->g, 1, PAL_F64, cols, x, ldx, y, ldy,
                      o->mul, none, 0.5, true);
}

static bool finite(double x)
{
    return x - x == 0.0;
}

int pal__krylov_shape(int64_t n, int64_t cnt, int64_t *b, int64_t *m,
                      bool *whole)
{
    const int64_t extra = cnt / 8 > 4 ? cnt / 8 : 4;
    int64_t bb = cnt > n - extra ? n : cnt + extra;
    size_t nm, mm;

    *b = bb;
    *m = KR_BLOCKS * bb;
    *whole = n < *m + bb;
    if (*whole)
        return pal__mul_size((size_t)n, (size_t)n, &nm) &&
                       nm <= SIZE_MAX / 64
                   ? PAL_OK
                   : PAL_E_SIZE;
    /* V and three blocks; H twice, Fc and the coefficients; LAPACK
     * addresses a block with its own integers. */
    if (!pal__mul_size((size_t)n, (size_t)(*m + 3 * bb), &nm) ||
        nm > SIZE_MAX / 64 ||
        !pal__mul_size((size_t)*m, (size_t)*m, &mm) || mm > SIZE_MAX / 64 ||
        (size_t)n * (size_t)bb > (size_t)PAL__LINT_MAX ||
        *m > PAL__LINT_MAX)
        return PAL_E_SIZE;
    return PAL_OK;
}

/* ---- Small dense helpers ------------------------------------------------- */

/* Euclidean norms of the columns of the n x cols matrix a (stride lda),
 * scaled so that no square overflows; mx is scratch (cols doubles). */
static void col_norms(int64_t n, int64_t cols, const double *a, int64_t lda,
                      double *out, double *mx)
{
    for (int64_t c = 0; c < cols; c++) {
        mx[c] = 0.0;
        out[c] = 0.0;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < cols; c++)
            mx[c] = fmax(mx[c], fabs(a[i * lda + c]));
    for (int64_t c = 0; c < cols; c++)
        mx[c] = mx[c] > 0.0 && finite(mx[c]) ? 1.0 / mx[c] : 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < cols; c++) {
            const double x = a[i * lda + c] * mx[c];

            out[c] += x * x;
        }
    for (int64_t c = 0; c < cols; c++) {
        if (mx[c] == 0.0) {
            /* A zero column, or one with a NaN or an infinity. */
            double s = 0.0;

            for (int64_t i = 0; i < n; i++)
                s += fabs(a[i * lda + c]);
            out[c] = s;
        } else {
            out[c] = sqrt(out[c]) / mx[c];
        }
    }
}

/* ---- The Krylov solver ----------------------------------------------------- */

typedef struct kr {
    op_t op;
    int64_t n, b, m, keep, cnt;
    int64_t lo;     /* F is coupled to V[:, lo:], not before */
    double *v;      /* n x m: the basis, stride m */
    double *w;      /* n x b: products, then the next block F */
    double *t;      /* n x b: scratch */
    double *h;      /* m x m: the coefficients, H = V^T S V */
    double *hs;     /* its symmetric part, for the eigensolver */
    double *fc;     /* b x m: F's coupling */
    double *c, *c2; /* m x b: projection coefficients */
    double *u;      /* n x b: the QR's copy */
    double *r, *r2, *r3, *p, *bm; /* b x b */
    double *nu, *mx; /* b: column norms and their scratch */
    double *theta;  /* keep Ritz values, descending */
    double *vec;    /* keep eigenvectors of H, one after the other */
    double *tau, *work;
    pal__lint lwork;
    void *eig;
    pal__rng_t rng;
    double scale;   /* the largest ||S q|| (q in V) or |theta| seen: a
                       lower estimate of ||S||_2 */
} kr_t;

/* LAPACK's work size for the QR of an n x b block (through the LQ
 * factorisation of its transpose). */
static bool qr_query(int64_t n, int64_t b, pal__lint *lwork)
{
    const pal__lint m = (pal__lint)b, nn = (pal__lint)n, query = -1;
    double a = 0.0, tau = 0.0, w1 = 0.0, w2 = 0.0;
    pal__lint info1 = 0, info2 = 0;

    dgelqf_(&m, &nn, &a, &m, &tau, &w1, &query, &info1);
    dorglq_(&m, &nn, &m, &a, &m, &tau, &w2, &query, &info2);
    if (info1 != 0 || info2 != 0 || !(w1 >= 0.0) || !(w2 >= 0.0) ||
        w1 > (double)PAL__LINT_MAX || w2 > (double)PAL__LINT_MAX)
        return false;
    *lwork = (pal__lint)fmax(fmax(w1, w2), (double)b);
    return true;
}

/* The largest eigensolver workspace over the problems the solver meets
 * (bases of b, 2b, ..., m columns; cnt or keep pairs); 0 when one is
 * too large. */
static size_t kr_eig_ws(int64_t b, int64_t m, int64_t cnt, int64_t keep)
{
    size_t most = 0;

    for (int64_t cur = b; cur <= m; cur += b)
        for (int pass = 0; pass < 2; pass++) {
            const int64_t want = pass ? keep : cnt;
            size_t e = pal__eig_ws(cur, want < cur ? want : cur);

            if (e == 0)
                return 0;
            most = e > most ? e : most;
        }
    return most;
}

static void kr_layout(kr_t *s, size_t eig, size_t mul, pal__ws_t *ws)
{
    const size_t n = (size_t)s->n, b = (size_t)s->b, m = (size_t)s->m;
    const size_t keep = (size_t)s->keep, d = sizeof(double);

    s->v = pal__ws_take(ws, n * m * d);
    s->w = pal__ws_take(ws, n * b * d);
    s->t = pal__ws_take(ws, n * b * d);
    s->u = pal__ws_take(ws, n * b * d);
    s->h = pal__ws_take(ws, m * m * d);
    s->hs = pal__ws_take(ws, m * m * d);
    s->fc = pal__ws_take(ws, b * m * d);
    s->c = pal__ws_take(ws, m * b * d);
    s->c2 = pal__ws_take(ws, m * b * d);
    s->r = pal__ws_take(ws, b * b * d);
    s->r2 = pal__ws_take(ws, b * b * d);
    s->r3 = pal__ws_take(ws, b * b * d);
    s->p = pal__ws_take(ws, b * b * d);
    s->bm = pal__ws_take(ws, b * b * d);
    s->nu = pal__ws_take(ws, b * d);
    s->mx = pal__ws_take(ws, b * d);
    s->theta = pal__ws_take(ws, keep * d);
    s->vec = pal__ws_take(ws, m * keep * d);
    s->tau = pal__ws_take(ws, b * d);
    s->work = pal__ws_take(ws, (size_t)s->lwork * d);
    s->eig = pal__ws_take(ws, eig);
    s->op.mul = pal__ws_take(ws, mul);
}

/*
 * a (n x b, stride b) -= V V^T a for the columns V[:, lo:cur], then for
 * all of V[:, 0:cur]; the coefficients, summed, into c (cur x b). The
 * first pass removes what the recurrence puts in a (S times a block has
 * components only along the blocks it is coupled to, from lo on), the
 * second what rounding left along the rest of the basis; with lo = 0
 * both passes are complete (once is not enough when a has large
 * components in V).
 */
static void project(kr_t *s, int64_t lo, int64_t cur, double *a, double *c)
{
    const int64_t n = s->n, b = s->b, m = s->m;
    pal_ctx_t *ctx = s->op.ctx;

    memset(c, 0, (size_t)(lo * b) * sizeof(double));
    pal__gemm(ctx, PAL_F64, cur - lo, b, n, 1.0, s->v + lo, 1, m, a, b, 1,
              0.0, c + lo * b, b, 1);
    pal__gemm(ctx, PAL_F64, n, b, cur - lo, -1.0, s->v + lo, m, 1, c + lo * b,
              b, 1, 1.0, a, b, 1);
    pal__gemm(ctx, PAL_F64, cur, b, n, 1.0, s->v, 1, m, a, b, 1, 0.0, s->c2,
              b, 1);
    pal__gemm(ctx, PAL_F64, n, b, cur, -1.0, s->v, m, 1, s->c2, b, 1, 1.0, a,
              b, 1);
    for (int64_t q = 0; q < cur * b; q++)
        c[q] += s->c2[q];
}

/* Householder QR of the n x b block a (row-major, stride b), as LAPACK's
 * LQ factorisation of its transpose (the same bytes read column-major):
 * a = Q R, Q (orthonormal columns) overwriting a, R (b x b, upper
 * triangular, row-major) into r. */
static int householder(kr_t *s, double *a, double *r)
{
    const pal__lint m = (pal__lint)s->b, nn = (pal__lint)s->n;
    const int64_t b = s->b;
    pal__lint info = 0;

    dgelqf_(&m, &nn, a, &m, s->tau, s->work, &s->lwork, &info);
    if (info != 0)
        return PAL_E_RANGE;
    /* The transpose's L sits in the first b rows, upper part. */
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < b; j++)
            r[i * b + j] = j >= i ? a[i * b + j] : 0.0;
    dorglq_(&m, &nn, &m, a, &m, s->tau, s->work, &s->lwork, &info);
    return info != 0 ? PAL_E_RANGE : PAL_OK;
}

/* One pass of Cholesky QR on a (n x b, stride b): R1 (into r1) the
 * Cholesky factor of a^T a, a = a R1^-1 by a triangular solve. False
 * when the factor does not exist or, for a second pass (check set),
 * when a^T a is not near the identity: the first pass met a block too
 * ill-conditioned for it. */
static bool chol_pass(kr_t *s, double *a, double *r1, bool check)
{
    const int64_t n = s->n, b = s->b;
    const pal__lint lb = (pal__lint)b;
    pal__lint info = 0;

    pal__syrk(s->op.ctx, PAL_F64, b, n, 1.0, a, 1, b, 0.0, r1, b);
    for (int64_t i = 0; i < b && check; i++)
        for (int64_t j = 0; j < b; j++)
            if (!(fabs(r1[i * b + j] - (i == j ? 1.0 : 0.0)) <= 0.1))
                return false;
    /* Row-major upper is column-major lower: a^T a = R1^T R1. */
    dpotrf_("L", &lb, r1, &lb, &info, 1);
    if (info != 0)
        return false;
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < i; j++)
            r1[i * b + j] = 0.0;
    pal__trsm_right_upper(s->op.ctx, n, b, r1, b, a, b);
    return true;
}

/*
 * a (n x b, row-major, stride b) = Q R: Q (orthonormal columns)
 * overwrites a, R (b x b, upper triangular, row-major) goes to r.
 * Cholesky QR twice, on a copy (BLAS-3 products; the second pass
 * restores the orthogonality the first lost, and its Gram matrix shows
 * whether the first went wrong), else Householder's QR: a block too
 * ill-conditioned for Cholesky.
 */
static int qr(kr_t *s, double *a, double *r)
{
    const int64_t b = s->b;
    const size_t block = (size_t)s->n * (size_t)b * sizeof(double);

    memcpy(s->u, a, block);
    if (!chol_pass(s, s->u, r, false) || !chol_pass(s, s->u, s->r2, true))
        return householder(s, a, r);
    /* R = R2 R1 (both upper triangular). */
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < b; j++) {
            double sum = 0.0;

            for (int64_t q = i; q <= j; q++)
                sum += s->r2[i * b + q] * r[q * b + j];
            s->p[i * b + j] = sum;
        }
    memcpy(r, s->p, (size_t)(b * b) * sizeof(double));
    memcpy(a, s->u, block);
    return PAL_OK;
}

static void fill_random(kr_t *s, double *a, int64_t col)
{
    for (int64_t i = 0; i < s->n; i++)
        a[i * s->b + col] = 2.0 * pal__rng_unit(&s->rng) - 1.0;
}

/*
 * The block w, already projected against V[:, 0:cur], becomes
 * orthonormal and orthogonal to V[:, 0:cur]; bm (b x b) receives its
 * coefficients in the new block. numax is the largest norm of its
 * columns before the projection. When the projection cancelled most of
 * a column (the Krylov space is nearly invariant, or S is zero on the
 * block), the QR's column is rounding noise that may lean into V: the
 * block is projected and factored again, and a column still lost is
 * replaced by a random direction (its coefficient is then zero up to
 * rounding: nothing of the Krylov space is dropped).
 */
static int orthonormalise(kr_t *s, int64_t cur, double numax)
{
    const int64_t n = s->n, b = s->b;
    const size_t block = (size_t)n * (size_t)b * sizeof(double);
    double dmin = INFINITY;
    int rc;

    if ((rc = qr(s, s->w, s->r)) != PAL_OK)
        return rc;
    for (int64_t j = 0; j < b; j++)
        dmin = fmin(dmin, fabs(s->r[j * b + j]));
    if (dmin > KR_CANCEL * numax) {
        memcpy(s->bm, s->r, (size_t)(b * b) * sizeof(double));
        return PAL_OK;
    }
    memcpy(s->t, s->w, block);
    for (int round = 0;; round++) {
        double worst = INFINITY;

        if (cur > 0)
            project(s, 0, cur, s->t, s->c);
        if ((rc = qr(s, s->t, s->r3)) != PAL_OK)
            return rc;
        for (int64_t j = 0; j < b; j++)
            worst = fmin(worst, fabs(s->r3[j * b + j]));
        if (worst >= 0.5)
            break;
        if (round == 8)
            return PAL_E_RANGE; /* n >= m + b: not expected */
        for (int64_t j = 0; j < b; j++)
            if (fabs(s->r3[j * b + j]) < 1e-8)
                fill_random(s, s->t, j);
    }
    /* The projected w was Q R: its coefficients in the new block are
     * (T^T Q) R. */
    pal__gemm(s->op.ctx, PAL_F64, b, b, n, 1.0, s->t, 1, b, s->w, b, 1, 0.0,
              s->r3, b, 1);
    pal__gemm(s->op.ctx, PAL_F64, b, b, b, 1.0, s->r3, b, 1, s->r, b, 1, 0.0,
              s->bm, b, 1);
    memcpy(s->w, s->t, block);
    return PAL_OK;
}

/* Move F into V as columns cur..cur + b - 1, multiply it, orthogonalise
 * the product into the next F. */
static int step(kr_t *s, int64_t *cur_io)
{
    const int64_t n = s->n, b = s->b, m = s->m, cur = *cur_io;
    const int64_t top = cur + b;
    double numax = 0.0;
    int rc;

    for (int64_t i = 0; i < n; i++)
        memcpy(s->v + i * m + cur, s->w + i * b,
               (size_t)b * sizeof(double));
    for (int64_t i = 0; i < b; i++)
        memcpy(s->h + (cur + i) * m, s->fc + i * m,
               (size_t)cur * sizeof(double));

    apply_s(&s->op, b, s->v + cur, m, s->w, b);
    col_norms(n, b, s->w, b, s->nu, s->mx);
    for (int64_t j = 0; j < b; j++) {
        if (!finite(s->nu[j]))
            return PAL_E_OVERFLOW;
        numax = fmax(numax, s->nu[j]);
    }
    s->scale = fmax(s->scale, numax);

    project(s, s->lo, top, s->w, s->c);
    for (int64_t i = 0; i < top; i++)
        memcpy(s->h + i * m + cur, s->c + i * b,
               (size_t)b * sizeof(double));
    if ((rc = orthonormalise(s, top, numax)) != PAL_OK)
        return rc;
    for (int64_t i = 0; i < b; i++) {
        memset(s->fc + i * m, 0, (size_t)top * sizeof(double));
        memcpy(s->fc + i * m + cur, s->bm + i * b,
               (size_t)b * sizeof(double));
    }
    s->lo = cur;
    *cur_io = top;
    return PAL_OK;
}

/* The top nr = min(want, cur) eigenpairs of H's symmetric part. */
static int ritz(kr_t *s, int64_t cur, int64_t want, int64_t *nr)
{
    const int64_t m = s->m;
    int rc;

    *nr = want < cur ? want : cur;
    for (int64_t i = 0; i < cur; i++)
        for (int64_t j = 0; j <= i; j++)
            s->hs[i * cur + j] = 0.5 * s->h[i * m + j] + 0.5 * s->h[j * m + i];
    rc = pal__eig_top(cur, *nr, s->hs, s->theta, s->vec, s->eig);
    if (rc != PAL_OK)
        return rc;
    s->scale = fmax(s->scale, fmax(fabs(s->theta[0]),
                                   fabs(s->theta[*nr - 1])));
    return PAL_OK;
}

/* True when the residual estimate ||Fc y_c|| of every wanted pair is
 * within thr. */
static bool estimates_met(const kr_t *s, int64_t cur, double thr)
{
    for (int64_t c = 0; c < s->cnt; c++) {
        const double *y = s->vec + c * cur;
        double sum = 0.0;

        for (int64_t i = 0; i < s->b; i++) {
            double d = 0.0;

            for (int64_t j = 0; j < cur; j++)
                d += s->fc[i * s->m + j] * y[j];
            sum += d * d;
        }
        if (!(sqrt(sum) <= thr))
            return false;
    }
    return true;
}

/* Restart from the top nr Ritz vectors: V[:, 0:nr] = V[:, 0:cur] Y, row
 * blocks at a time through t; Fc becomes Fc Y and H diag(theta). */
static void restart(kr_t *s, int64_t cur, int64_t nr)
{
    const int64_t n = s->n, b = s->b, m = s->m;
    const int64_t rows = n * b / nr > 0 ? n * b / nr : 1;
    pal_ctx_t *ctx = s->op.ctx;

    for (int64_t r0 = 0; r0 < n; r0 += rows) {
        const int64_t nrow = n - r0 < rows ? n - r0 : rows;

        pal__gemm(ctx, PAL_F64, nrow, nr, cur, 1.0, s->v + r0 * m, m, 1,
                  s->vec, 1, cur, 0.0, s->t, nr, 1);
        for (int64_t i = 0; i < nrow; i++)
            memcpy(s->v + (r0 + i) * m, s->t + i * nr,
                   (size_t)nr * sizeof(double));
    }
    pal__gemm(ctx, PAL_F64, b, nr, cur, 1.0, s->fc, m, 1, s->vec, 1, cur, 0.0,
              s->c2, nr, 1);
    for (int64_t i = 0; i < b; i++)
        memcpy(s->fc + i * m, s->c2 + i * nr, (size_t)nr * sizeof(double));
    for (int64_t i = 0; i < nr; i++) {
        memset(s->h + i * m, 0, (size_t)nr * sizeof(double));
        s->h[i * m + i] = s->theta[i];
    }
    s->lo = 0;
}

/* After a restart, the wanted pairs' true residuals ||S v - theta v||:
 * PAL_OK when all are within tol times the scale, 1 when not yet. */
static int verify(kr_t *s, double tol)
{
    const int64_t n = s->n, b = s->b, m = s->m, cnt = s->cnt;
    double worst = 0.0;

    apply_s(&s->op, cnt, s->v, m, s->t, b);
    col_norms(n, cnt, s->t, b, s->nu, s->mx);
    for (int64_t c = 0; c < cnt; c++) {
        if (!finite(s->nu[c]))
            return PAL_E_OVERFLOW;
        s->scale = fmax(s->scale, s->nu[c]);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < cnt; c++)
            s->t[i * b + c] -= s->theta[c] * s->v[i * m + c];
    col_norms(n, cnt, s->t, b, s->nu, s->mx);
    for (int64_t c = 0; c < cnt; c++)
        worst = fmax(worst, s->nu[c]);
    return worst <= tol * s->scale ? PAL_OK : 1;
}

/* ---- Small n: S formed whole ------------------------------------------- */

static int whole_space(pal_ctx_t *ctx, const pal_graph_t *g,
                       pal__krylov_t *kr, int64_t width)
{
    const int64_t n = kr->n, cnt = kr->cnt;
    const size_t d = sizeof(double);
    pal__ws_t ws = {NULL, 0};
    op_t o = {ctx, g, pal__graph_symmetric(g), NULL};
    size_t eig = 0, mul = pal__graph_mul_ws(g, PAL_F64, width);
    double *a = NULL, *x = NULL, *y = NULL, *theta = NULL, *vec = NULL;
    void *ew = NULL;
    int rc;

    if (n > 1 && (eig = pal__eig_ws(n, cnt)) == 0)
        return PAL_E_SIZE;
    for (int pass = 0; pass < 2; pass++) {
        a = pal__ws_take(&ws, (size_t)n * (size_t)n * d);
        x = pal__ws_take(&ws, (size_t)n * (size_t)width * d);
        y = pal__ws_take(&ws, (size_t)n * (size_t)width * d);
        theta = pal__ws_take(&ws, (size_t)cnt * d);
        vec = pal__ws_take(&ws, (size_t)n * (size_t)cnt * d);
        ew = pal__ws_take(&ws, eig);
        o.mul = pal__ws_take(&ws, mul);
        if (pass == 0 && (rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
            return rc;
    }

    for (int64_t c0 = 0; c0 < n; c0 += width) {
        const int64_t cols = n - c0 < width ? n - c0 : width;

        memset(x, 0, (size_t)n * (size_t)cols * d);
        for (int64_t j = 0; j < cols; j++)
            x[(c0 + j) * cols + j] = 1.0;
        apply_s(&o, cols, x, cols, y, cols);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < cols; j++) {
                if (!finite(y[i * cols + j]))
                    return PAL_E_OVERFLOW;
                a[i * n + c0 + j] = y[i * cols + j];
            }
        kr->steps++;
    }
    if (n == 1) {
        theta[0] = a[0];
        vec[0] = 1.0;
    } else if ((rc = pal__eig_top(n, cnt, a, theta, vec, ew)) != PAL_OK) {
        return rc;
    }
    kr->u = vec;
    kr->rs = 1;
    kr->cs = n;
    kr->nu = theta;
    return PAL_OK;
}

int pal__krylov_top(pal_ctx_t *ctx, const pal_graph_t *g, pal__krylov_t *kr)
{
    pal__ws_t ws = {NULL, 0};
    kr_t s;
    size_t eig, mul;
    int64_t cur = 0, nr = 0;
    double numax = 0.0;
    bool whole;
    int rc;

    memset(&s, 0, sizeof s);
    kr->steps = 0;
    rc = pal__krylov_shape(kr->n, kr->cnt, &s.b, &s.m, &whole);
    if (rc != PAL_OK)
        return rc;
    if (whole)
        return whole_space(ctx, g, kr, s.b);

    s.op.ctx = ctx;
    s.op.g = g;
    s.op.sym = pal__graph_symmetric(g);
    s.n = kr->n;
    s.cnt = kr->cnt;
    s.keep = KR_KEEP * s.b;
    if (!qr_query(s.n, s.b, &s.lwork) ||
        (eig = kr_eig_ws(s.b, s.m, s.cnt, s.keep)) == 0)
        return PAL_E_SIZE;
    mul = pal__graph_mul_ws(g, PAL_F64, s.b);
    kr_layout(&s, eig, mul, &ws);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    kr_layout(&s, eig, mul, &ws);

    /* The start: a random block, orthonormalised. */
    pal__rng_seed(&s.rng, KR_SEED);
    for (int64_t j = 0; j < s.b; j++)
        fill_random(&s, s.w, j);
    col_norms(s.n, s.b, s.w, s.b, s.nu, s.mx);
    for (int64_t j = 0; j < s.b; j++)
        numax = fmax(numax, s.nu[j]);
    if ((rc = orthonormalise(&s, 0, numax)) != PAL_OK)
        return rc;

    for (;;) {
        bool met, full;

        if ((rc = step(&s, &cur)) != PAL_OK)
            return rc;
        kr->steps++;
        full = cur + s.b > s.m;
        if ((rc = ritz(&s, cur, full ? s.keep : s.cnt, &nr)) != PAL_OK)
            return rc;
        met = estimates_met(&s, cur, kr->tol * s.scale);
        if (met && !full && (rc = ritz(&s, cur, s.keep, &nr)) != PAL_OK)
            return rc;
        if (met || full) {
            restart(&s, cur, nr);
            cur = nr;
        }
        if (met) {
            rc = verify(&s, kr->tol);
            if (rc < 0)
                return rc;
            if (rc == PAL_OK)
                break;
        }
        if (kr->steps >= kr->max_steps)
            return PAL_E_NOCONV;
    }
    kr->u = s.v;
    kr->rs = s.m;
    kr->cs = 1;
    kr->nu = s.theta;
    return PAL_OK;
}
