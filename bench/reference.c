/*
 * A plain float64 reference for the benchmark's losses, used to verify
 * libpal's results when PyTorch is not available (or cannot serve a row).
 *
 * It follows the definitions of bench/torch_ref.py, not libpal's code:
 *
 *   VIC^2       L = ||Z Z^T - G||_F^2
 *               = ||Z^T Z||_F^2 - 2 <Z, G Z> + ||G||_F^2,
 *               dL/dZ = 4 Z (Z^T Z) - 2 (G + G^T) Z
 *   BarlowTwins zt_k = z_k / ||z_k|| (columns), C = Zt^T G Zt,
 *               L = sum_k (C_kk - 1)^2 + lambda sum_{k != l} C_kl^2;
 *               with D = dL/dC, dL/dZt = (G Zt) D^T + (G^T Zt) D, then
 *               back through the column normalisation
 *   SimCLR      zt_i = z_i / ||z_i||, s = Zt Zt^T / tau, Gp = G without
 *               its diagonal, d_i = sum_j Gp_ij, P_ij = exp(s_ij - LSE_i)
 *               (LSE over j != i), L = sum_i (d_i LSE_i - sum_j Gp_ij s_ij);
 *               dL/ds_ij = -Gp_ij + d_i P_ij, dL/dZt = (A + A^T) Zt / tau,
 *               then back through the row normalisation
 *
 * Dense products go through BLIS in float64; SimCLR's n x n block is
 * formed a band of rows at a time (two passes: log-sum-exps, then the
 * gradient), so the reference needs O(n) rows of memory, not n^2.
 */
#define _POSIX_C_SOURCE 200809L

#include <blis.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench.h"

#define BAND 256

static double elem(pal_dtype_t dt, const void *p, size_t i)
{
    return dt == PAL_F32 ? (double)((const float *)p)[i]
                         : ((const double *)p)[i];
}

/* C (m x n) = alpha op(A) op(B) + beta C, all row-major float64; trans
 * bit 1 transposes A, bit 2 transposes B. */
static void gemm(rntm_t *rt, int trans, int64_t m, int64_t n, int64_t k,
                 double alpha, const double *a, int64_t lda, const double *b,
                 int64_t ldb, double beta, double *c, int64_t ldc)
{
    bli_dgemm_ex(trans & 1 ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                 trans & 2 ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n, k, &alpha, (double *)a, lda, 1,
                 (double *)b, ldb, 1, &beta, c, ldc, 1, NULL, rt);
}

/* Rows r0 .. r0 + rows of a dense graph, as float64. */
static void dense_band(const bench_refgraph_t *g, int64_t n, int64_t r0,
                       int64_t rows, double *out)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < n; j++)
            out[i * n + j] = elem(g->dt, g->dense, (size_t)(r0 + i) *
                                  (size_t)n + (size_t)j);
}

static int32_t label_count(const int32_t *y, int64_t n)
{
    int32_t c = 0;

    for (int64_t i = 0; i < n; i++)
        if (y[i] >= c)
            c = y[i] + 1;
    return c;
}

/* Y (n x m) = G X, or G^T X when trans. */
static void apply(rntm_t *rt, const bench_refgraph_t *g, int trans,
                  int64_t n, int64_t m, const double *x, double *y)
{
    memset(y, 0, (size_t)n * (size_t)m * sizeof *y);
    if (g->kind == BENCH_REF_DENSE) {
        double *band = bench_alloc((size_t)BAND * (size_t)n * sizeof *band);

        for (int64_t r0 = 0; r0 < n; r0 += BAND) {
            const int64_t rows = n - r0 < BAND ? n - r0 : BAND;

            dense_band(g, n, r0, rows, band);
            if (!trans)
                gemm(rt, 0, rows, m, n, 1.0, band, n, x, m, 0.0,
                     y + r0 * m, m);
            else
                gemm(rt, 1, n, m, rows, 1.0, band, n, x + r0 * m, m, 1.0,
                     y, m);
        }
        free(band);
    } else if (g->kind == BENCH_REF_LABELS) {
        /* Symmetric: the sum over the class of each row. */
        const int32_t c = label_count(g->labels, n);
        double *sum = calloc((size_t)c * (size_t)m + 1, sizeof *sum);

        if (!sum)
            bench_die("out of memory");
        for (int64_t i = 0; i < n; i++)
            if (g->labels[i] >= 0)
                for (int64_t q = 0; q < m; q++)
                    sum[(size_t)g->labels[i] * (size_t)m + (size_t)q] +=
                        x[i * m + q];
        for (int64_t i = 0; i < n; i++)
            if (g->labels[i] >= 0)
                memcpy(y + i * m, sum + (size_t)g->labels[i] * (size_t)m,
                       (size_t)m * sizeof *y);
        free(sum);
    } else {
        const bench_csr_t *c = g->csr;

        for (int64_t i = 0; i < n; i++)
            for (int64_t e = c->ptr[i]; e < c->ptr[i + 1]; e++) {
                const int64_t j = c->idx[e];
                const double v = elem(g->dt, c->val, (size_t)e);

                for (int64_t q = 0; q < m; q++) {
                    if (!trans)
                        y[i * m + q] += v * x[j * m + q];
                    else
                        y[j * m + q] += v * x[i * m + q];
                }
            }
    }
}

static double frob2(const bench_refgraph_t *g, int64_t n)
{
    double s = 0.0;

    if (g->kind == BENCH_REF_DENSE) {
        for (size_t i = 0; i < (size_t)n * (size_t)n; i++) {
            const double v = elem(g->dt, g->dense, i);

            s += v * v;
        }
    } else if (g->kind == BENCH_REF_LABELS) {
        const int32_t c = label_count(g->labels, n);
        double *cnt = calloc((size_t)c + 1, sizeof *cnt);

        if (!cnt)
            bench_die("out of memory");
        for (int64_t i = 0; i < n; i++)
            if (g->labels[i] >= 0)
                cnt[g->labels[i]] += 1.0;
        for (int32_t q = 0; q < c; q++)
            s += cnt[q] * cnt[q];
        free(cnt);
    } else {
        for (int64_t e = 0; e < g->csr->nnz; e++) {
            const double v = elem(g->dt, g->csr->val, (size_t)e);

            s += v * v;
        }
    }
    return s;
}

/* G_ij for SimCLR (dense and label graphs). */
static double entry(const bench_refgraph_t *g, int64_t n, int64_t i,
                    int64_t j)
{
    if (g->kind == BENCH_REF_DENSE)
        return elem(g->dt, g->dense, (size_t)i * (size_t)n + (size_t)j);
    return g->labels[i] >= 0 && g->labels[i] == g->labels[j] ? 1.0 : 0.0;
}

static double dot(const double *a, const double *b, int64_t m)
{
    double s = 0.0;

    for (int64_t q = 0; q < m; q++)
        s += a[q] * b[q];
    return s;
}

static void vic2(rntm_t *rt, const bench_refgraph_t *g, int64_t n, int64_t k,
                 const double *z, double *value, double *dz)
{
    double *m = bench_alloc((size_t)k * (size_t)k * sizeof *m);
    double *gz = bench_alloc((size_t)n * (size_t)k * sizeof *gz);
    double *gtz = bench_alloc((size_t)n * (size_t)k * sizeof *gtz);
    double v;

    gemm(rt, 1, k, k, n, 1.0, z, k, z, k, 0.0, m, k);
    apply(rt, g, 0, n, k, z, gz);
    apply(rt, g, 1, n, k, z, gtz);
    v = dot(m, m, k * k) - 2.0 * dot(z, gz, n * k) + frob2(g, n);
    gemm(rt, 0, n, k, k, 4.0, z, k, m, k, 0.0, dz, k);
    for (size_t i = 0; i < (size_t)n * (size_t)k; i++)
        dz[i] -= 2.0 * (gz[i] + gtz[i]);
    *value = v;
    free(m);
    free(gz);
    free(gtz);
}

static void bt(rntm_t *rt, const bench_refgraph_t *g, int64_t n, int64_t k,
               const double *z, double lambda, double *value, double *dz)
{
    const size_t nk = (size_t)n * (size_t)k;
    double *zt = bench_alloc(nk * sizeof *zt);
    double *h = bench_alloc(nk * sizeof *h);
    double *ht = bench_alloc(nk * sizeof *ht);
    double *c = bench_alloc((size_t)k * (size_t)k * sizeof *c);
    double *d = bench_alloc((size_t)k * (size_t)k * sizeof *d);
    double *gr = bench_alloc(nk * sizeof *gr);
    double *norm = bench_alloc((size_t)k * sizeof *norm);
    double v = 0.0;

    for (int64_t q = 0; q < k; q++) {
        double s = 0.0;

        for (int64_t i = 0; i < n; i++)
            s += z[i * k + q] * z[i * k + q];
        norm[q] = sqrt(s);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t q = 0; q < k; q++)
            zt[i * k + q] = z[i * k + q] / norm[q];
    apply(rt, g, 0, n, k, zt, h);
    apply(rt, g, 1, n, k, zt, ht);
    gemm(rt, 1, k, k, n, 1.0, zt, k, h, k, 0.0, c, k);
    for (int64_t a = 0; a < k; a++)
        for (int64_t b = 0; b < k; b++) {
            const double x = c[a * k + b];

            if (a == b) {
                v += (x - 1.0) * (x - 1.0);
                d[a * k + b] = 2.0 * (x - 1.0);
            } else {
                v += lambda * x * x;
                d[a * k + b] = 2.0 * lambda * x;
            }
        }
    /* dL/dZt = H D^T + H' D, with H = G Zt and H' = G^T Zt. */
    for (int64_t a = 0; a < k; a++)
        for (int64_t b = 0; b < a; b++) {
            const double t = d[a * k + b];

            d[a * k + b] = d[b * k + a];
            d[b * k + a] = t;
        }
    gemm(rt, 0, n, k, k, 1.0, h, k, d, k, 0.0, gr, k);
    for (int64_t a = 0; a < k; a++)
        for (int64_t b = 0; b < a; b++) {
            const double t = d[a * k + b];

            d[a * k + b] = d[b * k + a];
            d[b * k + a] = t;
        }
    gemm(rt, 0, n, k, k, 1.0, ht, k, d, k, 1.0, gr, k);
    for (int64_t q = 0; q < k; q++) {
        double s = 0.0;

        for (int64_t i = 0; i < n; i++)
            s += zt[i * k + q] * gr[i * k + q];
        for (int64_t i = 0; i < n; i++)
            dz[i * k + q] = (gr[i * k + q] - zt[i * k + q] * s) / norm[q];
    }
    *value = v;
    free(zt);
    free(h);
    free(ht);
    free(c);
    free(d);
    free(gr);
    free(norm);
}

/* SimCLR's pass 1 over all rows: Zt, the norms, log-sum-exps, degrees
 * and the value; each row's loop on its own (OpenMP over the rows). */
typedef struct simclr_state {
    double *zt, *norm, *lse, *deg;
    double value;
} simclr_state_t;

/* Pass 1 on a label graph: degrees and sum_j G_ij s_ij from class sums
 * of Zt; the exponentials over the lower triangle of S only, a band of
 * rows at a time (columns up to the band's end), each one serving row i
 * and, through per-thread column sums, row j. */
static void labels_pass1(rntm_t *rt, int threads, const bench_refgraph_t *g,
                         int64_t n, int64_t k, double tau,
                         struct simclr_state *st, double *s)
{
    const int32_t c = label_count(g->labels, n);
    const double mx = 1.0 / tau; /* |s_ij| <= 1 / tau: a fixed shift */
    double *cs = calloc((size_t)c * (size_t)k + 1, sizeof *cs);
    double *cnt = calloc((size_t)c + 1, sizeof *cnt);
    double *gs = calloc((size_t)n, sizeof *gs);
    double *row = calloc((size_t)n, sizeof *row);
    double *col = calloc((size_t)threads * (size_t)n, sizeof *col);
    double v = 0.0;

    if (!cs || !cnt || !gs || !row || !col)
        bench_die("out of memory");
    for (int64_t i = 0; i < n; i++)
        if (g->labels[i] >= 0) {
            cnt[g->labels[i]] += 1.0;
            for (int64_t q = 0; q < k; q++)
                cs[(size_t)g->labels[i] * (size_t)k + (size_t)q] +=
                    st->zt[i * k + q];
        }
    for (int64_t i = 0; i < n; i++) {
        const int32_t y = g->labels[i];
        const double *zi = st->zt + i * k;

        st->deg[i] = y >= 0 ? cnt[y] - 1.0 : 0.0;
        gs[i] = y >= 0 ? (dot(zi, cs + (size_t)y * (size_t)k, k) -
                          dot(zi, zi, k)) / tau
                       : 0.0;
    }
    for (int64_t r0 = 0; r0 < n; r0 += BAND) {
        const int64_t rows = n - r0 < BAND ? n - r0 : BAND;
        const int64_t cols = r0 + rows;

        gemm(rt, 2, rows, cols, k, 1.0 / tau, st->zt + r0 * k, k, st->zt, k,
             0.0, s, cols);
#pragma omp parallel for num_threads(threads)
        for (int64_t r = 0; r < rows; r++) {
            const int64_t i = r0 + r;
            const double *si = s + r * cols;
#ifdef _OPENMP
            double *mine = col + (size_t)omp_get_thread_num() * (size_t)n;
#else
            double *mine = col;
#endif
            double sum = 0.0;

            for (int64_t j = 0; j < r0; j++) {
                const double e = exp(si[j] - mx);

                sum += e;
                mine[j] += e;
            }
            /* The band's own block is computed whole: no mirror. */
            for (int64_t j = r0; j < cols; j++)
                if (j != i)
                    sum += exp(si[j] - mx);
            row[i] = sum;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        double sum = row[i];

        for (int t = 0; t < threads; t++)
            sum += col[(size_t)t * (size_t)n + (size_t)i];
        st->lse[i] = mx + log(sum);
        v += st->deg[i] * st->lse[i] - gs[i];
    }
    st->value = v;
    free(cs);
    free(cnt);
    free(gs);
    free(row);
    free(col);
}

static void simclr_pass1(rntm_t *rt, int threads, const bench_refgraph_t *g,
                         int64_t n, int64_t k, const double *z, double tau,
                         simclr_state_t *st)
{
    const size_t nk = (size_t)n * (size_t)k;
    double *s = bench_alloc((size_t)BAND * (size_t)n * sizeof *s);
    double v = 0.0;

    st->zt = bench_alloc(nk * sizeof *st->zt);
    st->norm = bench_alloc((size_t)n * sizeof *st->norm);
    st->lse = bench_alloc((size_t)n * sizeof *st->lse);
    st->deg = bench_alloc((size_t)n * sizeof *st->deg);
    for (int64_t i = 0; i < n; i++) {
        st->norm[i] = sqrt(dot(z + i * k, z + i * k, k));
        for (int64_t q = 0; q < k; q++)
            st->zt[i * k + q] = z[i * k + q] / st->norm[i];
    }
    if (g->kind == BENCH_REF_LABELS) {
        labels_pass1(rt, threads, g, n, k, tau, st, s);
        free(s);
        return;
    }
    for (int64_t r0 = 0; r0 < n; r0 += BAND) {
        const int64_t rows = n - r0 < BAND ? n - r0 : BAND;

        gemm(rt, 2, rows, n, k, 1.0 / tau, st->zt + r0 * k, k, st->zt, k,
             0.0, s, n);
#pragma omp parallel for num_threads(threads) reduction(+ : v)
        for (int64_t r = 0; r < rows; r++) {
            const int64_t i = r0 + r;
            const double *si = s + r * n;
            /* |s_ij| <= 1 / tau for unit rows: a fixed shift */
            const double mx = 1.0 / tau;
            double sum = 0.0, d = 0.0, gs = 0.0;

            for (int64_t j = 0; j < n; j++) {
                double w;

                if (j == i)
                    continue;
                sum += exp(si[j] - mx);
                w = entry(g, n, i, j);
                d += w;
                gs += w * si[j];
            }
            st->lse[i] = mx + log(sum);
            st->deg[i] = d;
            v += d * st->lse[i] - gs;
        }
    }
    st->value = v;
    free(s);
}

/* Pass 2 for rows[0 .. count) (count <= BAND): B = A + A^T on those rows,
 * dL/dZt = B Zt / tau, then back through the row normalisation; row r of
 * the result goes to dz + r k. */
static void simclr_rows(rntm_t *rt, const bench_refgraph_t *g, int64_t n,
                        int64_t k, double tau, const simclr_state_t *st,
                        const int64_t *rows, int64_t count, double *dz)
{
    double *s = bench_alloc((size_t)count * (size_t)n * sizeof *s);
    double *zb = bench_alloc((size_t)count * (size_t)k * sizeof *zb);
    double *gt = bench_alloc((size_t)count * (size_t)n * sizeof *gt);
    double *gr = bench_alloc((size_t)count * (size_t)k * sizeof *gr);

    for (int64_t r = 0; r < count; r++)
        memcpy(zb + r * k, st->zt + rows[r] * k, (size_t)k * sizeof *zb);
    gemm(rt, 2, count, n, k, 1.0 / tau, zb, k, st->zt, k, 0.0, s, n);
    /* G_ji for the rows, reading G one row at a time. */
    for (int64_t j = 0; j < n; j++)
        for (int64_t r = 0; r < count; r++)
            gt[r * n + j] = entry(g, n, j, rows[r]);
    for (int64_t r = 0; r < count; r++) {
        const int64_t i = rows[r];
        double *si = s + r * n;
        const double *gti = gt + r * n;

        for (int64_t j = 0; j < n; j++)
            si[j] = j == i ? 0.0
                           : -(entry(g, n, i, j) + gti[j]) +
                                 st->deg[i] * exp(si[j] - st->lse[i]) +
                                 st->deg[j] * exp(si[j] - st->lse[j]);
    }
    gemm(rt, 0, count, k, n, 1.0 / tau, s, n, st->zt, k, 0.0, gr, k);
    for (int64_t r = 0; r < count; r++) {
        const double *zi = st->zt + rows[r] * k;
        const double c = dot(zi, gr + r * k, k);

        for (int64_t q = 0; q < k; q++)
            dz[r * k + q] = (gr[r * k + q] - zi[q] * c) / st->norm[rows[r]];
    }
    free(s);
    free(zb);
    free(gt);
    free(gr);
}

static void simclr_free(simclr_state_t *st)
{
    free(st->zt);
    free(st->norm);
    free(st->lse);
    free(st->deg);
}

static void simclr(rntm_t *rt, int threads, const bench_refgraph_t *g,
                   int64_t n, int64_t k, const double *z, double tau,
                   double *value, double *dz)
{
    int64_t rows[BAND];
    simclr_state_t st;

    simclr_pass1(rt, threads, g, n, k, z, tau, &st);
    for (int64_t r0 = 0; r0 < n; r0 += BAND) {
        const int64_t count = n - r0 < BAND ? n - r0 : BAND;

        for (int64_t r = 0; r < count; r++)
            rows[r] = r0 + r;
        simclr_rows(rt, g, n, k, tau, &st, rows, count, dz + r0 * k);
    }
    *value = st.value;
    simclr_free(&st);
}

void bench_reference_simclr_rows(const bench_refgraph_t *g, pal_dtype_t dt,
                                 int64_t n, int64_t k, const void *z,
                                 int threads, const int64_t *rows,
                                 int64_t count, double *value, double *dz)
{
    const size_t nk = (size_t)n * (size_t)k;
    double *z64 = bench_alloc(nk * sizeof *z64);
    simclr_state_t st;
    rntm_t rt;

    bli_rntm_init(&rt);
    bli_rntm_set_num_threads(threads, &rt);
    for (size_t i = 0; i < nk; i++)
        z64[i] = elem(dt, z, i);
    simclr_pass1(&rt, threads, g, n, k, z64, 0.1, &st);
    free(z64);
    for (int64_t r0 = 0; r0 < count; r0 += BAND)
        simclr_rows(&rt, g, n, k, 0.1, &st, rows + r0,
                    count - r0 < BAND ? count - r0 : BAND, dz + r0 * k);
    *value = st.value;
    simclr_free(&st);
}

void bench_reference(const char *loss, const bench_refgraph_t *g,
                     pal_dtype_t dt, int64_t n, int64_t k, const void *z,
                     int threads, double *value, double *dz)
{
    const size_t nk = (size_t)n * (size_t)k;
    double *z64 = bench_alloc(nk * sizeof *z64);
    rntm_t rt;

    bli_rntm_init(&rt);
    bli_rntm_set_num_threads(threads, &rt);
    for (size_t i = 0; i < nk; i++)
        z64[i] = elem(dt, z, i);
    if (strcmp(loss, "vic2") == 0)
        vic2(&rt, g, n, k, z64, value, dz);
    else if (strcmp(loss, "bt") == 0)
        bt(&rt, g, n, k, z64, 1.0, value, dz);
    else
        simclr(&rt, threads, g, n, k, z64, 0.1, value, dz);
    free(z64);
}
