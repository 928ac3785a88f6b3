/*
 * Tutorial 2: discover a similarity graph by asking, and train on it.
 *
 * 120 items in 6 hidden classes. A captcha oracle shows a person (here a
 * function that knows the classes) an anchor item and 10 candidates and
 * asks which are the same; the knowledge store deduces everything that
 * follows. Between screens, an embedding takes gradient steps on the
 * pairs the last screen made known (the paper's Algorithm 1, with the
 * pairwise loss of eqs. 9-10). A second loop shows the pull interface, for
 * hosts whose person answers asynchronously. Run with --check to exit
 * non-zero if the classes are not recovered.
 */
#include <stdio.h>
#include <string.h>

#include <pal/pal.h>

#define N 120
#define K 8
#define CLASSES 6

#define TRY(call)                                                         \
    do {                                                                  \
        int rc_ = (call);                                                 \
        if (PAL_IS_ERROR(rc_)) {                                          \
            fprintf(stderr, "%s failed: %s\n", #call,                     \
                    pal_status_message(rc_));                             \
            return 1;                                                     \
        }                                                                 \
    } while (0)

/* The person: answers from the hidden classes. user is the class array.
 * A real labeler would show the images and wait for the clicks. */
static int person(void *user, int64_t anchor, int64_t m,
                  const int64_t *candidates, pal_answer_t *answers)
{
    const int *cls = user;

    for (int64_t k = 0; k < m; k++)
        answers[k] = cls[candidates[k]] == cls[anchor] ? PAL_ANSWER_SAME
                                                       : PAL_ANSWER_DIFFERENT;
    return 0;
}

/* Are the store's components exactly the hidden classes? */
static int recovered(const pal_store_t *s, const int *cls)
{
    int32_t lab[N];
    int64_t classes;

    if (pal_store_labels(s, 0, lab, &classes) != PAL_OK ||
        classes != CLASSES)
        return 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if ((lab[i] == lab[j]) != (cls[i] == cls[j]))
                return 0;
    return 1;
}

int main(int argc, char **argv)
{
    const int check = argc > 1 && strcmp(argv[1], "--check") == 0;
    int cls[N];
    double z[N * K], dz[N * K], loss = 0.0;
    pal_oracle_opts_t opts;
    pal_oracle_t *oracle;
    pal_oracle_costs_t costs = {.size = sizeof costs};
    pal_batch_t *batch;
    pal_ctx_t *ctx;
    int rc, ok;

    for (int i = 0; i < N; i++) {
        cls[i] = (i * 7) % CLASSES;
        for (int c = 0; c < K; c++)
            z[i * K + c] = 0.1 * (((i * 31 + c * 17) % 23) - 11) / 11.0;
    }

    /* A captcha oracle: screens of 10, reproducible from its seed. */
    pal_oracle_opts_init(&opts);
    opts.sampler = PAL_SAMPLER_CAPTCHA;
    opts.screen_size = 10;
    opts.seed = 2024;
    TRY(pal_oracle_create(&oracle, N, &opts, NULL));
    TRY(pal_oracle_set_labeler(oracle, person, cls));
    TRY(pal_batch_create(&batch, NULL));
    TRY(pal_batch_set_limit(batch, 256, 7));  /* at most 256 pairs a step */
    TRY(pal_ctx_create(&ctx, NULL));

    /* Algorithm 1: ask, deduce, take a gradient step on what is new. */
    while ((rc = pal_oracle_step(oracle, batch)) == PAL_OK) {
        if (pal_batch_n_pairs(batch) > 0) {
            TRY(pal_grad_pairs(ctx, batch, PAL_F64, N, K, z, K, &loss, dz,
                               K));
            for (int i = 0; i < N * K; i++)
                z[i] -= 0.01 * dz[i];
        }
        pal_batch_clear(batch);
    }
    TRY(rc);
    TRY(pal_oracle_costs(oracle, &costs));
    ok = recovered(pal_oracle_store(oracle), cls);
    printf("callback: %lld screens, %lld pairwise answers (%lld same), "
           "%lld classes; recovered: %s; last loss %.3f\n",
           (long long)costs.screens, (long long)costs.answers,
           (long long)costs.same, (long long)costs.classes,
           ok ? "yes" : "no", loss);
    pal_oracle_destroy(oracle);

    /* The same with the pull interface: the host fetches the question,
     * gets the answers however it likes, and hands them back. */
    TRY(pal_oracle_create(&oracle, N, &opts, NULL));
    for (;;) {
        int64_t anchor, m;
        const int64_t *candidates;
        pal_answer_t answers[10];

        rc = pal_oracle_next(oracle, &anchor, &m, &candidates);
        if (rc == PAL_DONE)
            break;
        TRY(rc);
        person(cls, anchor, m, candidates, answers);
        TRY(pal_oracle_answer(oracle, answers, NULL));
    }
    TRY(pal_oracle_costs(oracle, &costs));
    ok = ok && recovered(pal_oracle_store(oracle), cls);
    printf("pull:     %lld screens, %lld pairwise answers, recovered: %s\n",
           (long long)costs.screens, (long long)costs.answers,
           recovered(pal_oracle_store(oracle), cls) ? "yes" : "no");

    pal_oracle_destroy(oracle);
    pal_batch_destroy(batch);
    pal_ctx_destroy(ctx);
    return check && !ok ? 1 : 0;
}
