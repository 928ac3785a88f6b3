/*
 * The linear probe: the least-squares map from an embedding to one-hot
 * labels, fitted on training rows by LAPACK's dgelsd (minimum norm,
 * through the singular value decomposition), and its mean-square error
 * and accuracy on training and held-out rows, as the paper measures an
 * embedding (Fig. 3).
 */
#include "spectral_internal.h"

/* Singular values below this fraction of the largest count as zero. */
#define PROBE_RCOND 1e-12

void pal_probe_opts_init(pal_probe_opts_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->bias = 1;
}

/* The least-squares problem: rows m (training rows, plus k rows of
 * sqrt(ridge) I with a ridge), p unknowns per class, C classes. */
typedef struct lsq {
    pal__lint m, p, c, ldb, lwork, liwork;
} lsq_t;

typedef struct probe_ws {
    double *a;      /* m x p, column-major */
    double *b;      /* ldb x C, column-major: targets, then solution */
    double *s;      /* min(m, p) singular values */
    double *yhat;   /* C: one row's prediction */
    double *work;
    pal__lint *iwork;
} probe_ws_t;

static void probe_layout(const lsq_t *q, pal__ws_t *ws, probe_ws_t *w)
{
    const size_t mn = (size_t)(q->m < q->p ? q->m : q->p);

    w->a = pal__ws_take(ws, (size_t)q->m * (size_t)q->p * sizeof(double));
    w->b = pal__ws_take(ws, (size_t)q->ldb * (size_t)q->c * sizeof(double));
    w->s = pal__ws_take(ws, mn * sizeof(double));
    w->yhat = pal__ws_take(ws, (size_t)q->c * sizeof(double));
    w->work = pal__ws_take(ws, (size_t)q->lwork * sizeof(double));
    w->iwork = pal__ws_take(ws, (size_t)q->liwork * sizeof(pal__lint));
}

/* Sizes for LAPACK, from its workspace query; false when one does not
 * fit its integers. */
static bool lsq_plan(int64_t m, int64_t p, int64_t c, lsq_t *q)
{
    const double rcond = PROBE_RCOND;
    const pal__lint query = -1;
    double a = 0.0, b = 0.0, s = 0.0, work = 0.0;
    pal__lint rank = 0, iwork = 0, info = 0;
    size_t mp, bc;

    if (m > PAL__LINT_MAX || p > PAL__LINT_MAX || c > PAL__LINT_MAX ||
        !pal__mul_size((size_t)m, (size_t)p, &mp) ||
        !pal__mul_size((size_t)(m > p ? m : p), (size_t)c, &bc) ||
        mp > SIZE_MAX / 32 || bc > SIZE_MAX / 32)
        return false;
    q->m = (pal__lint)m;
    q->p = (pal__lint)p;
    q->c = (pal__lint)c;
    q->ldb = m > p ? q->m : q->p;
    dgelsd_(&q->m, &q->p, &q->c, &a, &q->m, &b, &q->ldb, &s, &rcond, &rank,
            &work, &query, &iwork, &info);
    if (info != 0 || !(work >= 1.0) || work > (double)PAL__LINT_MAX ||
        iwork < 1)
        return false;
    q->lwork = (pal__lint)work;
    q->liwork = iwork;
    return true;
}

static bool finite(double x)
{
    return x - x == 0.0;
}

int pal_linear_probe(pal_ctx_t *ctx, pal_dtype_t dtype, int64_t n,
                     int64_t k, const void *z, int64_t ldz,
                     const int32_t *labels, int64_t n_classes,
                     const unsigned char *train,
                     const pal_probe_opts_t *opts,
                     pal_probe_result_t *result, double *w, int64_t ldw,
                     double *b)
{
    pal_probe_opts_t o;
    pal_probe_result_t r;
    pal__ws_t ws = {NULL, 0};
    probe_ws_t pw;
    lsq_t q;
    int64_t m = 0, rows, p;
    double se[2] = {0.0, 0.0}, hit[2] = {0.0, 0.0};
    const double rcond = PROBE_RCOND;
    pal__lint rank = 0, info = 0;
    int rc;

    if (!ctx || !labels || !result)
        return PAL_E_NULL;
    pal_probe_opts_init(&o);
    if (opts && (rc = pal__read_opts(&o, sizeof o, opts)) != PAL_OK)
        return rc;
    if ((rc = pal__check_matrix(dtype, n, k, z, ldz)) != PAL_OK)
        return rc;
    if (n_classes < 1 || n_classes > PAL__LINT_MAX ||
        result->size < sizeof r)
        return PAL_E_SIZE;
    if (!finite(o.ridge) || o.ridge < 0.0 || (o.bias != 0 && o.bias != 1))
        return PAL_E_RANGE;
    if (w && (rc = pal__check_matrix(PAL_F64, k, n_classes, w, ldw)) !=
                 PAL_OK)
        return rc;
    if (w && b &&
        pal__overlap(b, (size_t)n_classes * sizeof *b, w,
                     pal__matrix_extent(PAL_F64, k, n_classes, ldw)))
        return PAL_E_ALIAS;
    if (b && PAL__MISALIGNED(b, double))
        return PAL_E_ALIGN;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < -1 || labels[i] >= n_classes)
            return PAL_E_INDEX;
        if (labels[i] >= 0 && (!train || train[i]))
            m++;
    }
    if (m == 0)
        return PAL_E_EMPTY;
    if (!pal__matrix_finite(dtype, n, k, z, ldz))
        return PAL_E_NONFINITE;

    p = k + o.bias;
    rows = m + (o.ridge > 0.0 ? k : 0);
    if (!lsq_plan(rows, p, n_classes, &q))
        return PAL_E_SIZE;
    probe_layout(&q, &ws, &pw);
    if ((rc = pal__ctx_reserve(ctx, ws.used, &ws)) != PAL_OK)
        return rc;
    probe_layout(&q, &ws, &pw);

    /* [Z 1] on the training rows, sqrt(ridge) I under the weights. */
    memset(pw.a, 0, (size_t)q.m * (size_t)q.p * sizeof *pw.a);
    memset(pw.b, 0, (size_t)q.ldb * (size_t)q.c * sizeof *pw.b);
    for (int64_t i = 0, t = 0; i < n; i++) {
        if (labels[i] < 0 || (train && !train[i]))
            continue;
        for (int64_t c = 0; c < k; c++)
            pw.a[t + c * rows] =
                pal__sp_get(dtype, z, (size_t)i * (size_t)ldz + (size_t)c);
        if (o.bias)
            pw.a[t + k * rows] = 1.0;
        pw.b[t + (int64_t)labels[i] * q.ldb] = 1.0;
        t++;
    }
    for (int64_t c = 0; rows > m && c < k; c++)
        pw.a[m + c + c * rows] = sqrt(o.ridge);

    dgelsd_(&q.m, &q.p, &q.c, pw.a, &q.m, pw.b, &q.ldb, pw.s, &rcond, &rank,
            pw.work, &q.lwork, pw.iwork, &info);
    if (info != 0)
        return PAL_E_RANGE;

    /* The solution is in the first p rows of b: weights, then bias. */
    memset(&r, 0, sizeof r);
    for (int64_t i = 0; i < n; i++) {
        const int set = !train || train[i] ? 0 : 1;
        int64_t best = 0;
        double err = 0.0;

        if (labels[i] < 0)
            continue;
        for (int64_t c = 0; c < n_classes; c++) {
            const double *col = pw.b + c * q.ldb;
            double v = o.bias ? col[k] : 0.0;

            for (int64_t j = 0; j < k; j++)
                v += pal__sp_get(dtype, z,
                                 (size_t)i * (size_t)ldz + (size_t)j) *
                     col[j];
            pw.yhat[c] = v;
            err += (v - (c == labels[i])) * (v - (c == labels[i]));
            if (v > pw.yhat[best])
                best = c;
        }
        se[set] += err;
        hit[set] += best == labels[i];
        if (set)
            r.n_test++;
        else
            r.n_train++;
    }
    if (!finite(se[0]) || !finite(se[1]))
        return PAL_E_OVERFLOW;

    r.size = result->size;
    r.rank = rank;
    r.train_mse = se[0] / (double)r.n_train;
    r.train_accuracy = hit[0] / (double)r.n_train;
    r.test_mse = r.n_test ? se[1] / (double)r.n_test : NAN;
    r.test_accuracy = r.n_test ? hit[1] / (double)r.n_test : NAN;
    memcpy(result, &r, sizeof r);
    for (int64_t j = 0; w && j < k; j++)
        for (int64_t c = 0; c < n_classes; c++)
            w[j * ldw + c] = pw.b[j + c * q.ldb];
    for (int64_t c = 0; b && c < n_classes; c++)
        b[c] = o.bias ? pw.b[k + c * q.ldb] : 0.0;
    return PAL_OK;
}
