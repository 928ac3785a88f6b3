/*
 * Concurrency and determinism: libpal keeps no global mutable state, so
 * separate objects used from several threads at once give exactly the
 * results of serial use, and a fixed thread count gives bitwise the same
 * results run after run. `make check-tsan` runs this suite under
 * ThreadSanitizer.
 */
#include <pthread.h>

#include "testutil.h"

#define NT 4        /* host threads */
#define N 96
#define K 12

typedef struct job {
    const pal_graph_t *g;   /* shared by every thread */
    const float *z;         /* shared input */
    int loss;
    int blis_threads;
    double value;
    float dz[N * K];
    int rc;
} job_t;

static void run_job(job_t *j)
{
    pal_ctx_t *ctx;
    pal_simclr_opts_t so;
    pal_bt_opts_t bo;

    j->rc = pal_ctx_create(&ctx, NULL);
    if (j->rc != PAL_OK)
        return;
    pal_ctx_set_threads(ctx, j->blis_threads);
    pal_simclr_opts_init(&so);
    so.tau = 0.2;
    pal_bt_opts_init(&bo);
    bo.center = 1;
    /* Several calls on one context: the workspace is reused. */
    for (int rep = 0; rep < 3 && j->rc == PAL_OK; rep++) {
        if (j->loss == 0)
            j->rc = pal_grad_vic2(ctx, j->g, PAL_F32, N, K, j->z, K, NULL,
                                  &j->value, j->dz, K);
        else if (j->loss == 1)
            j->rc = pal_grad_simclr(ctx, j->g, PAL_F32, N, K, j->z, K, &so,
                                    &j->value, j->dz, K);
        else
            j->rc = pal_grad_bt(ctx, j->g, PAL_F32, N, K, j->z, K, &bo,
                                &j->value, j->dz, K);
    }
    pal_ctx_destroy(ctx);
}

static void *loss_thread(void *arg)
{
    job_t *jobs = arg;

    for (int l = 0; l < 3; l++)
        run_job(&jobs[l]);
    return NULL;
}

/* One shared graph (dense + labels + diagonal), one shared Z; every
 * thread runs the three losses on its own contexts. */
START_TEST(losses_in_parallel_equal_serial)
{
    float z[N * K];
    double dense[N * N], d[N];
    int32_t y[N];
    pal_graph_t *g;
    job_t serial[3], par[NT][3];
    pthread_t th[NT];
    trng_t r;

    trng_seed(&r, test_seed());
    for (int i = 0; i < N * K; i++)
        z[i] = (float)trng_normal(&r);
    for (int i = 0; i < N; i++) {
        y[i] = (int32_t)(i % 7);
        d[i] = 0.25;
        for (int j = 0; j <= i; j++)
            dense[i * N + j] = dense[j * N + i] = trng_unit(&r) < 0.1;
    }
    ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(g, 0.5, PAL_F64, dense, N, 0), PAL_OK);
    ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
    ck_status(pal_graph_add_diagonal(g, 1.0, d), PAL_OK);

    for (int l = 0; l < 3; l++) {
        serial[l] = (job_t){.g = g, .z = z, .loss = l, .blis_threads = 1};
        run_job(&serial[l]);
        ck_status(serial[l].rc, PAL_OK);
    }
    for (int t = 0; t < NT; t++) {
        for (int l = 0; l < 3; l++)
            par[t][l] = (job_t){.g = g, .z = z, .loss = l,
                                .blis_threads = 1};
        ck_assert_int_eq(pthread_create(&th[t], NULL, loss_thread, par[t]),
                         0);
    }
    for (int t = 0; t < NT; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < NT; t++) {
        for (int l = 0; l < 3; l++) {
            ck_status(par[t][l].rc, PAL_OK);
            ck_assert(memcmp(&par[t][l].value, &serial[l].value,
                             sizeof(double)) == 0);
            ck_assert(memcmp(par[t][l].dz, serial[l].dz,
                             sizeof serial[l].dz) == 0);
        }
    }
    pal_graph_destroy(g);
}
END_TEST

/* The same computation with 1 and 2 BLIS threads, each twice: equal
 * bits for a fixed count (and, with this BLIS, across counts too: it
 * never splits the inner dimension of a product between threads). */
START_TEST(fixed_thread_count_is_reproducible)
{
    float z[N * K];
    int32_t y[N];
    pal_graph_t *g;
    job_t runs[2][2];
    trng_t r;

    trng_seed(&r, test_seed() + 3);
    for (int i = 0; i < N * K; i++)
        z[i] = (float)trng_normal(&r);
    for (int i = 0; i < N; i++)
        y[i] = (int32_t)(i % 5);
    ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
    ck_status(pal_graph_add_labels(g, 1.0, y), PAL_OK);
    for (int t = 0; t < 2; t++) {
        for (int rep = 0; rep < 2; rep++) {
            runs[t][rep] = (job_t){.g = g, .z = z, .loss = 1,
                                   .blis_threads = t + 1};
            run_job(&runs[t][rep]);
            ck_status(runs[t][rep].rc, PAL_OK);
        }
        ck_assert(memcmp(runs[t][0].dz, runs[t][1].dz,
                         sizeof runs[t][0].dz) == 0);
        ck_assert(runs[t][0].value == runs[t][1].value);
    }
    ck_assert(memcmp(runs[0][0].dz, runs[1][0].dz, sizeof runs[0][0].dz) ==
              0);
    pal_graph_destroy(g);
}
END_TEST

#ifndef PAL_TEST_TSAN
/*
 * At sizes where every kernel splits its work (n = 1100, past every
 * threshold, with edges left by odd sizes) a fixed thread count gives the
 * same bits run after run, and 1 and 2 threads agree to rounding (BLIS
 * may round an accumulating product differently when it splits it): the
 * three losses on dense (symmetric or not), label, SSL and sparse graphs,
 * float32 and float64, and SimCLR whole and streamed, at a temperature
 * that takes the fixed shift and one that takes row maxima.
 */
#define BN 1100
#define BK 13
/* Entries per row of the sparse graph: BN * BNZ * BK passes the size at
 * which sparse products split their rows. */
#define BNZ 24

static void big_run(pal_ctx_t *ctx, const pal_graph_t *g, pal_dtype_t t,
                    int loss, double tau, const void *z, double *value,
                    void *dz)
{
    pal_simclr_opts_t so;
    pal_bt_opts_t bo;

    pal_simclr_opts_init(&so);
    so.tau = tau;
    pal_bt_opts_init(&bo);
    bo.center = 1;
    if (loss == 0)
        ck_status(pal_grad_vic2(ctx, g, t, BN, BK, z, BK, NULL, value, dz,
                                BK),
                  PAL_OK);
    else if (loss == 1)
        ck_status(pal_grad_simclr(ctx, g, t, BN, BK, z, BK, &so, value, dz,
                                  BK),
                  PAL_OK);
    else
        ck_status(pal_grad_bt(ctx, g, t, BN, BK, z, BK, &bo, value, dz, BK),
                  PAL_OK);
}

START_TEST(thread_counts_large)
{
    double *zd = malloc(sizeof(double) * BN * BK);
    float *zf = malloc(sizeof(float) * BN * BK);
    double *gd = malloc(sizeof(double) * BN * BN);
    float *gf = malloc(sizeof(float) * BN * BN);
    double *dz[3];
    int32_t *y = malloc(sizeof(int32_t) * BN);
    int64_t *rowptr = malloc(sizeof(int64_t) * (BN + 1));
    int32_t *col = malloc(sizeof(int32_t) * BN * BNZ);
    double *val = malloc(sizeof(double) * BN * BNZ);
    pal_graph_t *g[5];
    pal_ctx_t *ctx[2], *lim[2];
    trng_t r;

    for (int q = 0; q < 3; q++)
        dz[q] = malloc(sizeof(double) * BN * BK);
    ck_assert(zd && zf && gd && gf && dz[0] && dz[1] && dz[2] && y && rowptr &&
              col && val);
    trng_seed(&r, test_seed() + 11);
    for (int64_t i = 0; i < BN * BK; i++) {
        zd[i] = trng_normal(&r);
        zf[i] = (float)zd[i];
    }
    for (int64_t i = 0; i < BN; i++) {
        y[i] = (int32_t)(trng_unit(&r) * 10.0);
        for (int64_t j = 0; j < BN; j++) {
            gd[i * BN + j] = trng_unit(&r) < 0.02 ? trng_unit(&r) : 0.0;
            gf[i * BN + j] = (float)(trng_unit(&r) < 0.02);
        }
    }
    for (int64_t i = 0; i < BN; i++)
        for (int64_t j = 0; j < i; j++)
            gf[j * BN + i] = gf[i * BN + j];
    rowptr[0] = 0;
    for (int64_t i = 0; i < BN; i++) {
        for (int64_t q = 0; q < BNZ; q++) {
            col[i * BNZ + q] = (int32_t)((i * 7 + q * 131 + 1) % BN);
            val[i * BNZ + q] = 0.25 + 0.01 * (double)q;
        }
        /* Strictly increasing columns within a row. */
        for (int64_t q = 1; q < BNZ; q++) {
            int32_t *c = col + i * BNZ;

            for (int64_t p = q; p > 0 && c[p] < c[p - 1]; p--) {
                int32_t t = c[p];

                c[p] = c[p - 1];
                c[p - 1] = t;
            }
        }
        rowptr[i + 1] = (i + 1) * BNZ;
    }
    for (int q = 0; q < 5; q++)
        ck_status(pal_graph_create(&g[q], BN, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(g[0], 1.0, PAL_F64, gd, BN, 0), PAL_OK);
    ck_status(pal_graph_add_dense(g[1], 1.0, PAL_F32, gf, BN, 0), PAL_OK);
    ck_status(pal_graph_add_labels(g[2], 1.0, y), PAL_OK);
    ck_status(pal_graph_add_csr(g[3], 1.0, PAL_F64, BN * BNZ, rowptr, col,
                                val, 0),
              PAL_OK);
    ck_status(pal_graph_add_labels(g[4], 0.5, y), PAL_OK);
    ck_status(pal_graph_add_dense(g[4], 0.5, PAL_F32, gf, BN, 0), PAL_OK);
    for (int t = 0; t < 2; t++) {
        ck_status(pal_ctx_create(&ctx[t], NULL), PAL_OK);
        ck_status(pal_ctx_set_threads(ctx[t], t + 1), PAL_OK);
        ck_status(pal_ctx_create(&lim[t], NULL), PAL_OK);
        ck_status(pal_ctx_set_threads(lim[t], t + 1), PAL_OK);
    }
    for (int q = 0; q < 5; q++)
        for (int loss = 0; loss < 3; loss++)
            for (int type = 0; type < 2; type++)
                for (int mode = 0; mode < (loss == 1 ? 4 : 1); mode++) {
                    const pal_dtype_t t = type ? PAL_F32 : PAL_F64;
                    const double tau = mode & 1 ? 0.01 : 0.2;
                    const size_t bytes =
                        (size_t)(BN * BK) * (type ? sizeof(float)
                                                  : sizeof(double));
                    double v[3];

                    /* Streamed: the smallest limit, by MiB, that lets
                     * SimCLR run, far below what S whole needs. */
                    for (size_t mib = 1; mode & 2; mib++) {
                        pal_simclr_opts_t so;
                        int rc;

                        pal_simclr_opts_init(&so);
                        for (int th = 0; th < 2; th++)
                            ck_status(pal_ctx_set_workspace_limit(
                                          lim[th], mib << 20),
                                      PAL_OK);
                        rc = pal_grad_simclr(lim[0], g[q], t, BN, BK,
                                             type ? (const void *)zf : zd,
                                             BK, &so, &v[0], dz[0], BK);
                        if (rc == PAL_OK)
                            break;
                        ck_status(rc, PAL_E_NOMEM);
                        ck_assert(mib < 16);
                    }
                    /* dz[0]: 1 thread; dz[1], dz[2]: 2 threads, twice. */
                    for (int run = 0; run < 3; run++)
                        big_run(mode & 2 ? lim[run > 0] : ctx[run > 0], g[q],
                                t, loss, tau, type ? (const void *)zf : zd,
                                &v[run], dz[run]);
                    ck_assert_msg(v[1] == v[2] &&
                                      memcmp(dz[1], dz[2], bytes) == 0,
                                  "graph %d loss %d type %d mode %d: 2 "
                                  "threads not reproducible",
                                  q, loss, type, mode);
                    for (int run = 0; run < 2 && type; run++)
                        for (int64_t i = BN * BK - 1; i >= 0; i--)
                            dz[run][i] = ((const float *)dz[run])[i];
                    {
                        const double tol = type ? 2e-5 : 1e-11;
                        const double e = mat_err(dz[0], BK, dz[1], BK, BN,
                                                 BK, tol, tol);

                        ck_assert_msg(fabs(v[0] - v[1]) <=
                                              tol * (1.0 + fabs(v[1])) &&
                                          e <= 1.0,
                                      "graph %d loss %d type %d mode %d: 1 "
                                      "and 2 threads differ (%g)",
                                      q, loss, type, mode, e);
                    }
                }
    for (int q = 0; q < 5; q++)
        pal_graph_destroy(g[q]);
    for (int t = 0; t < 2; t++) {
        pal_ctx_destroy(ctx[t]);
        pal_ctx_destroy(lim[t]);
    }
    free(zd);
    free(zf);
    free(gd);
    free(gf);
    for (int q = 0; q < 3; q++)
        free(dz[q]);
    free(y);
    free(rowptr);
    free(col);
    free(val);
}
END_TEST
#endif

/* Oracles, each with its own store, run to the end in parallel: each
 * asks exactly what the same oracle asks alone. */
typedef struct ojob {
    uint64_t seed;
    const int32_t *y;
    int64_t answers, screens;
    int32_t labels[200];
    int rc;
} ojob_t;

static int truth(void *user, int64_t anchor, int64_t m, const int64_t *cand,
                 pal_answer_t *ans)
{
    const int32_t *y = user;

    for (int64_t k = 0; k < m; k++)
        ans[k] = y[cand[k]] == y[anchor] ? PAL_ANSWER_SAME
                                         : PAL_ANSWER_DIFFERENT;
    return 0;
}

static void *oracle_thread(void *arg)
{
    ojob_t *j = arg;
    pal_oracle_opts_t o;
    pal_oracle_t *oracle;
    pal_oracle_costs_t c = {.size = sizeof c};

    pal_oracle_opts_init(&o);
    o.seed = j->seed;
    o.screen_size = 7;
    j->rc = pal_oracle_create(&oracle, 200, &o, NULL);
    if (j->rc != PAL_OK)
        return NULL;
    pal_oracle_set_labeler(oracle, truth, (void *)j->y);
    while ((j->rc = pal_oracle_step(oracle, NULL)) == PAL_OK)
        ;
    pal_oracle_costs(oracle, &c);
    j->answers = c.answers;
    j->screens = c.screens;
    pal_store_labels(pal_oracle_store(oracle), 0, j->labels, NULL);
    pal_oracle_destroy(oracle);
    return NULL;
}

START_TEST(oracles_in_parallel_equal_serial)
{
    int32_t y[200];
    ojob_t serial[NT], par[NT];
    pthread_t th[NT];

    for (int i = 0; i < 200; i++)
        y[i] = (int32_t)((i * 13) % 9);
    for (int t = 0; t < NT; t++) {
        serial[t] = (ojob_t){.seed = test_seed() + (uint64_t)t, .y = y};
        oracle_thread(&serial[t]);
        ck_status(serial[t].rc, PAL_DONE);
        par[t] = (ojob_t){.seed = serial[t].seed, .y = y};
        ck_assert_int_eq(pthread_create(&th[t], NULL, oracle_thread,
                                        &par[t]),
                         0);
    }
    for (int t = 0; t < NT; t++) {
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
        ck_status(par[t].rc, PAL_DONE);
        ck_assert_int_eq(par[t].answers, serial[t].answers);
        ck_assert_int_eq(par[t].screens, serial[t].screens);
        ck_assert(memcmp(par[t].labels, serial[t].labels, sizeof y) == 0);
    }
}
END_TEST

Suite *suite_threads(void);
Suite *suite_threads(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, losses_in_parallel_equal_serial);
    tcase_add_test(tc, fixed_thread_count_is_reproducible);
#ifndef PAL_TEST_TSAN
    /* Thread teams of the OpenMP runtime, whose synchronisation
     * ThreadSanitizer cannot see (see check-tsan in the Makefile), and
     * which valgrind runs far too slowly (see check-valgrind). */
    if (!getenv("PAL_TEST_NO_TEAMS"))
        tcase_add_test(tc, thread_counts_large);
#endif
    tcase_add_test(tc, oracles_in_parallel_equal_serial);
    suite_add_tcase(s, tc);
    return s;
}
