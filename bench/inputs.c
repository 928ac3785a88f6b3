/*
 * Inputs of the benchmark, the unit product and small helpers.
 *
 * Every input is a function of a seed and an index, never of the order in
 * which it is filled: the float32 and float64 runs see the same values
 * (drawn with 24 bits, so exact in both types), and an input can be made
 * again, in parallel, in a child process, to the same bits.
 */
#define _POSIX_C_SOURCE 200809L

#include <blis.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

void *bench_alloc(size_t bytes)
{
    void *p = NULL;

    /* Cache-line alignment keeps BLIS and the vector kernels on their
     * fast paths, as a real caller's buffers would. */
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        bench_die("out of memory (%zu bytes)", bytes);
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

uint64_t bench_hash(uint64_t seed, uint64_t index)
{
    /* The splitmix64 output function on a Weyl sequence offset by the
     * seed: cheap, and every bit of the index reaches every output bit. */
    uint64_t x = seed + (index + 1) * UINT64_C(0x9e3779b97f4a7c15);

    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

double bench_unit24(uint64_t seed, uint64_t index)
{
    return (double)(bench_hash(seed, index) >> 40) * 0x1p-24;
}

static void put(pal_dtype_t dt, void *p, size_t i, double v)
{
    if (dt == PAL_F32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

static double get(pal_dtype_t dt, const void *p, size_t i)
{
    return dt == PAL_F32 ? (double)((const float *)p)[i]
                         : ((const double *)p)[i];
}

void bench_fill_z(pal_dtype_t dt, int64_t n, int64_t k, uint64_t seed,
                  void *z)
{
    const size_t count = (size_t)n * (size_t)k;

#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        put(dt, z, i, 2.0 * bench_unit24(seed, i) - 1.0);
}

void bench_fill_dense(pal_dtype_t dt, int64_t n, int sym, uint64_t seed,
                      void *g)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            /* Symmetric: the pair's value, whichever end asks. */
            uint64_t lo = sym && j < i ? (uint64_t)j : (uint64_t)i;
            uint64_t hi = sym && j < i ? (uint64_t)i : (uint64_t)j;

            put(dt, g, (size_t)i * (size_t)n + (size_t)j,
                bench_unit24(seed, lo * (uint64_t)n + hi));
        }
    }
}

void bench_fill_labels(int64_t n, int32_t classes, uint64_t seed,
                       int32_t *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(bench_hash(seed, (uint64_t)i) % (uint64_t)classes);
}

/* A random permutation of [0, n) (Fisher-Yates on the hash stream). */
static void permutation(int64_t n, uint64_t seed, int32_t *p)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = (int32_t)i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(bench_hash(seed, (uint64_t)i) %
                              (uint64_t)(i + 1));
        int32_t t = p[i];

        p[i] = p[j];
        p[j] = t;
    }
}

typedef struct entry {
    int32_t col;
    double val;
} entry_t;

static int cmp_entry(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;

    return (x->col > y->col) - (x->col < y->col);
}

#define CSR_PERMS 8

void bench_csr_make(pal_dtype_t dt, int64_t n, uint64_t seed,
                    bench_csr_t *c)
{
    /* Row i meets p_m(i) and p_m^-1(i) for eight random permutations
     * p_m: sixteen entries, and the edge (i, p_m(i)) is stored at both
     * ends with one value, so the graph is symmetric. */
    int32_t *p = bench_alloc((size_t)CSR_PERMS * (size_t)n * sizeof *p);
    int32_t *inv = bench_alloc((size_t)CSR_PERMS * (size_t)n * sizeof *inv);
    entry_t row[2 * CSR_PERMS];

    for (int m = 0; m < CSR_PERMS; m++) {
        int32_t *pm = p + (size_t)m * (size_t)n;

        permutation(n, bench_hash(seed, (uint64_t)m), pm);
        for (int64_t i = 0; i < n; i++)
            inv[(size_t)m * (size_t)n + (size_t)pm[i]] = (int32_t)i;
    }

    c->n = n;
    c->ptr = bench_alloc((size_t)(n + 1) * sizeof *c->ptr);
    c->idx = bench_alloc((size_t)n * 2 * CSR_PERMS * sizeof *c->idx);
    c->val = bench_alloc((size_t)n * 2 * CSR_PERMS * pal_dtype_size(dt));
    c->nnz = 0;
    for (int64_t i = 0; i < n; i++) {
        int cnt = 0;

        for (int m = 0; m < CSR_PERMS; m++) {
            const size_t off = (size_t)m * (size_t)n;
            int32_t ends[2] = {p[off + (size_t)i], inv[off + (size_t)i]};

            for (int e = 0; e < 2; e++) {
                /* Edge (a, p_m(a)) is named by its source a; the value
                 * is in (0, 1]. */
                uint64_t src = e == 0 ? (uint64_t)i : (uint64_t)ends[1];

                row[cnt].col = ends[e];
                row[cnt++].val = 1.0 - bench_unit24(
                                           seed ^ UINT64_C(0x5bd1e995),
                                           src * CSR_PERMS + (uint64_t)m);
            }
        }
        qsort(row, (size_t)cnt, sizeof row[0], cmp_entry);
        c->ptr[i] = c->nnz;
        for (int e = 0; e < cnt; e++) {
            if (e > 0 && row[e].col == row[e - 1].col) {
                size_t q = (size_t)c->nnz - 1;

                put(dt, c->val, q, get(dt, c->val, q) + row[e].val);
                continue;
            }
            c->idx[c->nnz] = row[e].col;
            put(dt, c->val, (size_t)c->nnz++, row[e].val);
        }
    }
    c->ptr[n] = c->nnz;
    free(p);
    free(inv);
}

void bench_csr_free(bench_csr_t *c)
{
    free(c->ptr);
    free(c->idx);
    free(c->val);
    memset(c, 0, sizeof *c);
}

double bench_unit(pal_dtype_t dt, int threads, int64_t n, int64_t k,
                  const void *a, int64_t rows_a, const void *b, void *c)
{
    const size_t elem = pal_dtype_size(dt);
    rntm_t rntm;
    double t0;

    /* The thread count travels with the call: BLIS's global setting is
     * never changed. */
    bli_rntm_init(&rntm);
    bli_rntm_set_num_threads(threads, &rntm);
    t0 = bench_now();
    for (int64_t r0 = 0; r0 < n; r0 += rows_a) {
        void *c0 = (char *)c + (size_t)r0 * (size_t)k * elem;

        if (dt == PAL_F32) {
            float one = 1.0f, zero = 0.0f;

            bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, rows_a, k, n,
                         &one, (float *)a, n, 1, (float *)b, k, 1, &zero,
                         (float *)c0, k, 1, NULL, &rntm);
        } else {
            double one = 1.0, zero = 0.0;

            bli_dgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, rows_a, k, n,
                         &one, (double *)a, n, 1, (double *)b, k, 1, &zero,
                         (double *)c0, k, 1, NULL, &rntm);
        }
    }
    return bench_now() - t0;
}

void bench_write(const char *path, const void *p, size_t bytes)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0)
        bench_die("cannot write %s: %s", path, strerror(errno));
}

void *bench_read(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    void *p;

    if (!f)
        bench_die("cannot read %s: %s", path, strerror(errno));
    p = bench_alloc(bytes);
    if (fread(p, 1, bytes, f) != bytes)
        bench_die("%s is shorter than %zu bytes", path, bytes);
    fclose(f);
    return p;
}

double bench_rel_diff(pal_dtype_t dt, int64_t n, int64_t k, const void *a,
                      const void *b)
{
    const size_t count = (size_t)n * (size_t)k;
    double num = 0.0, den = 0.0;

    for (size_t i = 0; i < count; i++) {
        double x = get(dt, a, i), y = get(dt, b, i);

        num += (x - y) * (x - y);
        den += y * y;
    }
    if (den == 0.0)
        return num == 0.0 ? 0.0 : INFINITY;
    /* A NaN anywhere must fail the comparison, not pass it. */
    return isnan(num) ? INFINITY : sqrt(num / den);
}

double bench_checksum(pal_dtype_t dt, int64_t n, int64_t k, const void *a)
{
    const size_t count = (size_t)n * (size_t)k;
    double s = 0.0;

    for (size_t i = 0; i < count; i++)
        s += fabs(get(dt, a, i));
    return s;
}

void bench_convert(pal_dtype_t to, pal_dtype_t from, size_t count,
                   const void *src, void *dst)
{
    for (size_t i = 0; i < count; i++)
        put(to, dst, i, get(from, src, i));
}

const char *bench_dtype_name(pal_dtype_t dt)
{
    return dt == PAL_F32 ? "f32" : "f64";
}

void bench_wake(int threads, double seconds)
{
    if (threads < 2)
        return;
#pragma omp parallel num_threads(threads)
    {
        const double end = bench_now() + seconds;

        while (bench_now() < end)
            ;
    }
}
