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
    tcase_add_test(tc, oracles_in_parallel_equal_serial);
    suite_add_tcase(s, tc);
    return s;
}
