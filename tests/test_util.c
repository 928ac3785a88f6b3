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
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            worst = fmax(worst, fabs(a[i * lda + j] - b[i * ldb + j]) /
                                    (atol + rtol * scale));
    return worst;
}
