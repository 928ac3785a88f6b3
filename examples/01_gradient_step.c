/*
 * Tutorial 1: gradient descent on a similarity graph.
 *
 * Twelve items in three classes; the graph says which items are the same
 * (G = Y Y^T, a labels term that costs O(N K), never N^2). We learn a
 * free embedding Z (12 x 3) by plain gradient descent on VIC^2, then on
 * SimCLR, and watch the loss fall. Run with --check to exit non-zero if
 * it does not.
 */
#include <stdio.h>
#include <string.h>

#include <pal/pal.h>

#define N 12
#define K 3

/* Stop with a message if a libpal call fails. */
#define TRY(call)                                                         \
    do {                                                                  \
        int rc_ = (call);                                                 \
        if (PAL_IS_ERROR(rc_)) {                                          \
            fprintf(stderr, "%s failed: %s\n", #call,                     \
                    pal_status_message(rc_));                             \
            return 1;                                                     \
        }                                                                 \
    } while (0)

int main(int argc, char **argv)
{
    const int check = argc > 1 && strcmp(argv[1], "--check") == 0;
    const int32_t labels[N] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};
    double z[N * K], dz[N * K], first = 0.0, loss = 0.0;
    pal_ctx_t *ctx;
    pal_graph_t *g;
    pal_simclr_opts_t simclr;

    /* A deterministic, slightly random start. */
    for (int i = 0; i < N * K; i++)
        z[i] = 0.1 * ((i * 7919) % 17 - 8) / 8.0;

    TRY(pal_ctx_create(&ctx, NULL));
    TRY(pal_graph_create(&g, N, NULL));
    TRY(pal_graph_add_labels(g, 1.0, labels));

    /* VIC^2: L = ||Z Z^T - G||_F^2; its optimum puts each class on its
     * own axis with norm 1 (up to a rotation). */
    for (int step = 0; step < 200; step++) {
        TRY(pal_grad_vic2(ctx, g, PAL_F64, N, K, z, K, NULL, &loss, dz, K));
        if (step == 0)
            first = loss;
        for (int i = 0; i < N * K; i++)
            z[i] -= 0.01 * dz[i];
    }
    printf("VIC^2:  loss %8.4f -> %8.4f\n", first, loss);
    if (check && !(loss < 0.01 * first))
        return 1;

    /* SimCLR with temperature 0.5 on the same graph and embedding. */
    pal_simclr_opts_init(&simclr);
    simclr.tau = 0.5;
    for (int step = 0; step < 200; step++) {
        TRY(pal_grad_simclr(ctx, g, PAL_F64, N, K, z, K, &simclr, &loss, dz,
                            K));
        if (step == 0)
            first = loss;
        for (int i = 0; i < N * K; i++)
            z[i] -= 0.05 * dz[i];
    }
    printf("SimCLR: loss %8.4f -> %8.4f\n", first, loss);

    pal_graph_destroy(g);
    pal_ctx_destroy(ctx);
    return check && !(loss <= first) ? 1 : 0;
}
