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

static void simclr(rntm_t *rt, const bench_refgraph_t *g, int64_t n,
                   int64_t k, const double *z, double tau, double *value,
                   double *dz)
{
    const size_t nk = (size_t)n * (size_t)k;
    double *zt = bench_alloc(nk * sizeof *zt);
    double *norm = bench_alloc((size_t)n * sizeof *norm);
    double *lse = bench_alloc((size_t)n * sizeof *lse);
    double *deg = bench_alloc((size_t)n * sizeof *deg);
    double *s = bench_alloc((size_t)BAND * (size_t)n * sizeof *s);
    double *gt = bench_alloc((size_t)BAND * (size_t)n * sizeof *gt);
    double *gr = bench_alloc(nk * sizeof *gr);
    double v = 0.0;

    for (int64_t i = 0; i < n; i++) {
        norm[i] = sqrt(dot(z + i * k, z + i * k, k));
        for (int64_t q = 0; q < k; q++)
            zt[i * k + q] = z[i * k + q] / norm[i];
    }
    /* Pass 1: log-sum-exps, degrees and the value. */
    for (int64_t r0 = 0; r0 < n; r0 += BAND) {
        const int64_t rows = n - r0 < BAND ? n - r0 : BAND;

        gemm(rt, 2, rows, n, k, 1.0 / tau, zt + r0 * k, k, zt, k, 0.0, s,
             n);
        for (int64_t r = 0; r < rows; r++) {
            const int64_t i = r0 + r;
            const double *si = s + r * n;
            double mx = -INFINITY, sum = 0.0, d = 0.0, gs = 0.0;

            for (int64_t j = 0; j < n; j++)
                if (j != i && si[j] > mx)
                    mx = si[j];
            for (int64_t j = 0; j < n; j++) {
                double w;

                if (j == i)
                    continue;
                sum += exp(si[j] - mx);
                w = entry(g, n, i, j);
                d += w;
                gs += w * si[j];
            }
            lse[i] = mx + log(sum);
            deg[i] = d;
            v += d * lse[i] - gs;
        }
    }
    /* Pass 2: B = A + A^T a band at a time, then dL/dZt = B Zt / tau. */
    for (int64_t r0 = 0; r0 < n; r0 += BAND) {
        const int64_t rows = n - r0 < BAND ? n - r0 : BAND;

        gemm(rt, 2, rows, n, k, 1.0 / tau, zt + r0 * k, k, zt, k, 0.0, s,
             n);
        /* G_ij + G_ji for the band, reading G's columns r0 .. r0 + rows
         * one row of G at a time. */
        for (int64_t j = 0; j < n; j++)
            for (int64_t r = 0; r < rows; r++)
                gt[r * n + j] = entry(g, n, j, r0 + r);
        for (int64_t r = 0; r < rows; r++) {
            const int64_t i = r0 + r;
            double *si = s + r * n;
            const double *gti = gt + r * n;

            for (int64_t j = 0; j < n; j++)
                si[j] = j == i ? 0.0
                               : -(entry(g, n, i, j) + gti[j]) +
                                     deg[i] * exp(si[j] - lse[i]) +
                                     deg[j] * exp(si[j] - lse[j]);
        }
        gemm(rt, 0, rows, k, n, 1.0 / tau, s, n, zt, k, 0.0, gr + r0 * k, k);
    }
    for (int64_t i = 0; i < n; i++) {
        const double c = dot(zt + i * k, gr + i * k, k);

        for (int64_t q = 0; q < k; q++)
            dz[i * k + q] = (gr[i * k + q] - zt[i * k + q] * c) / norm[i];
    }
    *value = v;
    free(zt);
    free(norm);
    free(lse);
    free(deg);
    free(s);
    free(gt);
    free(gr);
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
        simclr(&rt, g, n, k, z64, 0.1, value, dz);
    free(z64);
}
