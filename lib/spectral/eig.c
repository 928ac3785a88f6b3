/*
 * The top of the spectrum of a dense symmetric matrix, through LAPACK's
 * dsyevr with a range of indices: only the wanted eigenvectors are
 * computed after the reduction to tridiagonal form.
 */
#include "spectral_internal.h"

/* LAPACK's preferred work sizes for an m x m problem, from its own
 * workspace query (which reads only the sizes). */
static bool eig_query(pal__lint m, pal__lint cnt, pal__lint *lwork,
                      pal__lint *liwork)
{
    const pal__lint il = m - cnt + 1, iu = m, ldz = m, query = -1;
    const double zero = 0.0;
    double a = 0.0, w = 0.0, z = 0.0, work = 0.0;
    pal__lint got = 0, isuppz[2] = {0, 0}, iwork = 0, info = 0;

    dsyevr_("V", "I", "U", &m, &a, &m, &zero, &zero, &il, &iu, &zero, &got,
            &w, &z, &ldz, isuppz, &work, &query, &iwork, &query, &info, 1, 1,
            1);
    if (info != 0 || !(work >= 1.0) || work > (double)PAL__LINT_MAX ||
        iwork < 1)
        return false;
    *lwork = (pal__lint)work;
    *liwork = iwork;
    return true;
}

/* The byte layout of the workspace: LAPACK's eigenvalues (m), its
 * eigenvectors (m x cnt), isuppz (2 cnt), work, iwork. */
typedef struct eig_plan {
    pal__lint lwork, liwork;
    size_t off_z, off_isuppz, off_work, off_iwork, bytes;
} eig_plan_t;

static bool eig_plan(int64_t m, int64_t cnt, eig_plan_t *p)
{
    size_t mz;

    if (m < 1 || cnt < 1 || cnt > m || m > PAL__LINT_MAX ||
        !pal__mul_size((size_t)m, (size_t)cnt, &mz) ||
        mz > SIZE_MAX / 64 ||
        !eig_query((pal__lint)m, (pal__lint)cnt, &p->lwork, &p->liwork))
        return false;
    p->off_z = (size_t)m * sizeof(double);
    p->off_isuppz = p->off_z + mz * sizeof(double);
    p->off_work = p->off_isuppz + 2 * (size_t)cnt * sizeof(pal__lint);
    p->off_work = (p->off_work + 7u) & ~(size_t)7u;
    p->off_iwork = p->off_work + (size_t)p->lwork * sizeof(double);
    p->bytes = p->off_iwork + (size_t)p->liwork * sizeof(pal__lint);
    return true;
}

size_t pal__eig_ws(int64_t m, int64_t cnt)
{
    eig_plan_t p;

    return eig_plan(m, cnt, &p) ? p.bytes : 0;
}

int pal__eig_top(int64_t m, int64_t cnt, double *a, double *w, double *vec,
                 void *ws)
{
    const double zero = 0.0;
    eig_plan_t p;
    pal__lint n, il, iu, got = 0, info = 0;
    char *base = ws;
    double *wl, *zl;

    if (!eig_plan(m, cnt, &p))
        return PAL_E_RANGE;
    n = (pal__lint)m;
    il = (pal__lint)(m - cnt + 1);
    iu = n;
    wl = (double *)(void *)base;
    zl = (double *)(void *)(base + p.off_z);

    /* Row-major lower is column-major upper: LAPACK reads "U". An
     * absolute tolerance of 0 lets LAPACK choose its own. */
    dsyevr_("V", "I", "U", &n, a, &n, &zero, &zero, &il, &iu, &zero, &got,
            wl, zl, &n, (pal__lint *)(void *)(base + p.off_isuppz),
            (double *)(void *)(base + p.off_work), &p.lwork,
            (pal__lint *)(void *)(base + p.off_iwork), &p.liwork, &info, 1,
            1, 1);
    if (info != 0 || got != (pal__lint)cnt)
        return PAL_E_RANGE;

    /* LAPACK lists them in ascending order. */
    for (int64_t c = 0; c < cnt; c++) {
        w[c] = wl[cnt - 1 - c];
        memcpy(vec + c * m, zl + (cnt - 1 - c) * m,
               (size_t)m * sizeof *vec);
    }
    return PAL_OK;
}
