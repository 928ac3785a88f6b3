/*
 * Allocation-failure injection over every public call that allocates.
 *
 * For each call, the 1st, 2nd, ... allocation made through the objects'
 * allocator fails in turn until the call succeeds. Each failure must
 * return PAL_E_NOMEM, leave every object and output exactly as it was
 * (compared through a snapshot of everything observable), leak nothing,
 * and leave the objects usable: the same call then succeeds. The suite
 * prints how many failure points it exercised.
 */
#include <stdbool.h>
#include <unistd.h>

#include "testutil.h"

#define N 12
#define K 3

/* Everything a call may touch. Objects are built with the test allocator
 * before the failures start. */
typedef struct world {
    talloc_t t;
    pal_allocator_t a;
    pal_ctx_t *ctx;
    pal_graph_t *g, *gout;
    pal_batch_t *b;
    pal_store_t *s;
    pal_oracle_t *o;
    double z[N * K], dz[N * K], y[N * K], loss;
    double z2[N * K], pri[2];
    bool peek;              /* snapshots include the next question */
    int64_t votes;          /* the world oracle's votes option */
    double dense[N * N], diag[N];
    int64_t rowptr[N + 1], source[N];
    int32_t colidx[N], labels[N], ea[2], eb[2];
    double ew[2];
    char dir[64], path[96];
    /* The spectral calls' outputs and kernel. */
    double zs[N * 4], eig[4], kmat[N * N], kern[N * N], pw[K * 3], pb[3];
    double zi[96];          /* the iterative route's output (96 items) */
    pal_probe_result_t res;
    /* pal_oracle_balanced_subset's outputs. */
    int64_t sub_items[N], sub_count;
    int32_t sub_labels[N];
} world_t;

/* ---- Snapshots: all that a call could change, as bytes ------------------ */

typedef struct snap {
    unsigned char *p;
    size_t len, cap;
} snap_t;

static void put(snap_t *s, const void *p, size_t len)
{
    if (s->len + len > s->cap) {
        s->cap = 2 * (s->len + len) + 256;
        s->p = realloc(s->p, s->cap);
        ck_assert_ptr_nonnull(s->p);
    }
    memcpy(s->p + s->len, p, len);
    s->len += len;
}

static void snap_graph(snap_t *s, const pal_graph_t *g)
{
    static double dense[N * N];
    double v[N];
    int64_t nt = pal_graph_n_terms(g);

    put(s, &nt, sizeof nt);
    if (!g)
        return;
    nt = pal_graph_n(g);
    put(s, &nt, sizeof nt);
    pal_graph_frobenius2(g, &v[0]);
    put(s, v, sizeof(double));
    pal_graph_row_sums(g, v);
    put(s, v, sizeof v);
    pal_graph_diagonal(g, v);
    put(s, v, sizeof v);
    pal_graph_to_dense(g, PAL_F64, dense, N);
    put(s, dense, sizeof dense);
}

static void snap_batch(snap_t *s, const pal_batch_t *b)
{
    const int64_t *i, *j;
    const double *g;
    int64_t n;

    if (!b)
        return;
    pal_batch_pairs(b, &i, &j, &g, &n);
    put(s, &n, sizeof n);
    if (n > 0) {
        put(s, i, (size_t)n * sizeof *i);
        put(s, j, (size_t)n * sizeof *j);
        put(s, g, (size_t)n * sizeof *g);
    }
    pal_batch_regs(b, &i, &j, &n);
    put(s, &n, sizeof n);
    if (n > 0) {
        put(s, i, (size_t)n * sizeof *i);
        put(s, j, (size_t)n * sizeof *j);
    }
    n = pal_batch_n_offered_pairs(b);
    put(s, &n, sizeof n);
}

static void snap_store(snap_t *s, const pal_store_t *st)
{
    pal_store_stats_t stats = {.size = sizeof stats};
    int32_t lab[N];

    if (!st)
        return;
    pal_store_stats(st, &stats);
    put(s, &stats, sizeof stats);
    pal_store_labels(st, 0, lab, NULL);
    put(s, lab, sizeof lab);
    for (int64_t k = 0; k < stats.answers; k++) {
        int64_t i, j;
        pal_answer_t a;

        pal_store_log_entry(st, k, &i, &j, &a);
        put(s, &i, sizeof i);
        put(s, &j, sizeof j);
        put(s, &a, sizeof a);
    }
}

static void take(world_t *w, snap_t *s)
{
    s->len = 0;
    put(s, w->dz, sizeof w->dz);
    put(s, w->y, sizeof w->y);
    put(s, &w->loss, sizeof w->loss);
    snap_graph(s, w->gout);
    snap_graph(s, w->g);
    snap_batch(s, w->b);
    snap_store(s, w->s);
    put(s, w->zs, sizeof w->zs);
    put(s, w->eig, sizeof w->eig);
    put(s, w->zi, sizeof w->zi);
    put(s, w->kmat, sizeof w->kmat);
    put(s, w->pw, sizeof w->pw);
    put(s, w->pb, sizeof w->pb);
    put(s, &w->res, sizeof w->res);
    put(s, w->sub_items, sizeof w->sub_items);
    put(s, w->sub_labels, sizeof w->sub_labels);
    put(s, &w->sub_count, sizeof w->sub_count);
    if (w->o) {
        pal_oracle_costs_t c = {.size = sizeof c};
        int64_t tpl[N], count = 0;

        pal_oracle_costs(w->o, &c);
        put(s, &c, sizeof c);
        if (pal_oracle_templates(w->o, tpl, N, &count) == PAL_OK)
            put(s, tpl, (size_t)count * sizeof *tpl);
        snap_store(s, pal_oracle_store(w->o));
        if (w->peek) {
            /* A guided question depends on the guidance and draws
             * nothing at random: peeking at it changes nothing. */
            int64_t anchor, m;
            const int64_t *cand;

            ck_status(pal_oracle_next(w->o, &anchor, &m, &cand), PAL_OK);
            put(s, &anchor, sizeof anchor);
            put(s, cand, (size_t)m * sizeof *cand);
            pal_oracle_cancel(w->o);
        }
    }
}

/* ---- The calls ---------------------------------------------------------- */

static int truth(void *user, int64_t anchor, int64_t m, const int64_t *cand,
                 pal_answer_t *ans)
{
    const int32_t *y = user;

    for (int64_t k = 0; k < m; k++)
        ans[k] = y[cand[k]] == y[anchor] ? PAL_ANSWER_SAME
                                         : PAL_ANSWER_DIFFERENT;
    return 0;
}

/* The host's sampler of a custom oracle: the first item with open pairs,
 * against the first of them. */
static int first_open(void *user, const pal_store_t *known, int64_t cap,
                      int64_t *anchor, int64_t *m, int64_t *cand)
{
    int64_t n = pal_store_n(known);

    (void)user;
    for (int64_t a = 0; a < n; a++) {
        int64_t k = 0;

        for (int64_t c = 0; c < n && k < cap; c++) {
            pal_relation_t r;

            ck_status(pal_store_relation(known, a, c, &r), PAL_OK);
            if (r == PAL_REL_UNKNOWN)
                cand[k++] = c;
        }
        if (k > 0) {
            *anchor = a;
            *m = k;
            return 0;
        }
    }
    return 1;
}

/* A world with a context, a two-term graph, a batch holding a few pairs,
 * a store with some answers and a captcha oracle a few screens in. */
static void world_init(world_t *w, pal_sampler_t sampler)
{
    pal_oracle_opts_t op;
    trng_t r;

    w->t.fail_at = 0;
    trng_seed(&r, test_seed() + 17);
    fill_normal(&r, w->z, N, K, K, 1.0);
    fill_normal(&r, w->z2, N, K, K, 1.0);
    w->pri[0] = 2.0;
    w->pri[1] = 0.5;
    w->peek = false;
    for (int i = 0; i < N; i++) {
        w->labels[i] = i % 3;
        w->diag[i] = 0.5;
        w->source[i] = i / 2;
        w->rowptr[i] = i;
        w->colidx[i] = (int32_t)((i + 1) % N);
        for (int j = 0; j < N; j++)
            w->dense[i * N + j] = (i + j) % 4 == 0;
    }
    w->rowptr[N] = N;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            w->kern[i * N + j] = exp(-0.5 * fabs((double)(i - j)));
    memset(w->zs, 0, sizeof w->zs);
    memset(w->eig, 0, sizeof w->eig);
    memset(w->zi, 0, sizeof w->zi);
    memset(w->kmat, 0, sizeof w->kmat);
    memset(w->pw, 0, sizeof w->pw);
    memset(w->pb, 0, sizeof w->pb);
    memset(&w->res, 0, sizeof w->res);
    memset(w->sub_items, 0, sizeof w->sub_items);
    memset(w->sub_labels, 0, sizeof w->sub_labels);
    w->sub_count = 0;
    w->res.size = sizeof w->res;
    w->ea[0] = 0;
    w->eb[0] = 1;
    w->ea[1] = 2;
    w->eb[1] = 2;
    w->ew[0] = -1.0;
    w->ew[1] = 0.5;
    memset(w->dz, 0, sizeof w->dz);
    memset(w->y, 0, sizeof w->y);
    w->loss = -1.0;
    w->gout = NULL;

    ck_status(pal_ctx_create(&w->ctx, &w->a), PAL_OK);
    ck_status(pal_graph_create(&w->g, N, &w->a), PAL_OK);
    ck_status(pal_graph_add_labels(w->g, 1.0, w->labels), PAL_OK);
    ck_status(pal_graph_add_dense(w->g, 0.5, PAL_F64, w->dense, N, 0),
              PAL_OK);
    ck_status(pal_batch_create(&w->b, &w->a), PAL_OK);
    for (int i = 0; i < 5; i++)
        ck_status(pal_batch_add_pair(w->b, i, i + 1, 1.0), PAL_OK);
    ck_status(pal_store_create(&w->s, N, &w->a), PAL_OK);
    ck_status(pal_store_answer(w->s, 0, 3, PAL_ANSWER_SAME, NULL, NULL),
              PAL_OK);
    ck_status(pal_store_answer(w->s, 1, 4, PAL_ANSWER_SAME, NULL, NULL),
              PAL_OK);
    ck_status(pal_store_answer(w->s, 2, 5, PAL_ANSWER_DIFFERENT, NULL,
                               NULL),
              PAL_OK);
    pal_oracle_opts_init(&op);
    op.sampler = sampler;
    op.screen_size = 4;
    op.seed = test_seed();
    op.reg_mode = sampler == PAL_SAMPLER_SSL ? PAL_REG_RANDOM : PAL_REG_SAME;
    op.reg_pairs = 3;
    op.votes = w->votes > 0 ? w->votes : 1;
    ck_status(pal_oracle_create(&w->o, N, &op, &w->a), PAL_OK);
    ck_status(pal_oracle_set_labeler(w->o, truth, w->labels), PAL_OK);
    if (sampler == PAL_SAMPLER_NN)
        ck_status(pal_oracle_set_embedding(w->o, PAL_F64, N, K, w->z, K),
                  PAL_OK);
    if (sampler == PAL_SAMPLER_CUSTOM)
        ck_status(pal_oracle_set_sampler(w->o, first_open, NULL), PAL_OK);
    for (int s = 0; s < 2; s++)
        ck_status(pal_oracle_step(w->o, NULL), PAL_OK);
}

static void world_free(world_t *w)
{
    pal_ctx_destroy(w->ctx);
    pal_graph_destroy(w->g);
    pal_graph_destroy(w->gout);
    pal_batch_destroy(w->b);
    pal_store_destroy(w->s);
    pal_oracle_destroy(w->o);
    w->ctx = NULL;
    w->g = w->gout = NULL;
    w->b = NULL;
    w->s = NULL;
    w->o = NULL;
}

enum {
    C_CTX, C_GRAPH, C_DENSE, C_CSR, C_LABELS, C_BLOCKS, C_CONST, C_IDENT,
    C_DIAG, C_SUPERVISED, C_SSL, C_MIXTURE, C_MATMUL, C_VIC2, C_SIMCLR,
    C_BT, C_PAIRS, C_VIC2_CHECKED, C_BATCH, C_BATCH_ADD, C_BATCH_RESERVE,
    C_STORE, C_ANSWER, C_ANSWER_BATCH, C_STORE_GRAPH, C_STORE_JOURNAL,
    C_STORE_REPLAY, C_ORACLE, C_STEP, C_STEP_BATCH, C_NEXT_ANSWER,
    C_PASSIVE_STEP, C_SSL_STEP, C_ORACLE_JOURNAL, C_ORACLE_REPLAY,
    C_ANSWER_JOURNALED, C_STEP_JOURNALED, C_VICREG, C_NTXENT, C_BARLOW,
    C_SPECTRAL, C_SET_EMBEDDING, C_SET_SCORES, C_SET_PRIORS,
    C_ITEM_STEP, C_GUIDED_STEP, C_ANSWER_MANY, C_ANSWER_MANY_JOURNALED,
    C_EMBED, C_EMBED_LABELS, C_EMBED_KERNEL, C_KERNEL, C_PROBE,
    C_NN_STEP, C_CUSTOM_STEP, C_ORACLE_GRAPH, C_BALANCED,
    C_BALANCED_PASSIVE, C_FLIP, C_VOTE_ANSWER, C_UNDO, C_UNDO_JOURNALED,
    C_ORACLE_UNDO, C_EST_PRIORS, C_EMBED_ITERATIVE,
    N_CALLS
};

static const char *const call_name[N_CALLS] = {
    "pal_ctx_create", "pal_graph_create", "pal_graph_add_dense",
    "pal_graph_add_csr", "pal_graph_add_labels", "pal_graph_add_blocks",
    "pal_graph_add_constant", "pal_graph_add_identity",
    "pal_graph_add_diagonal", "pal_graph_supervised", "pal_graph_ssl",
    "pal_graph_mixture", "pal_graph_matmul", "pal_grad_vic2",
    "pal_grad_simclr", "pal_grad_bt", "pal_grad_pairs",
    "pal_grad_vic2 (checked)", "pal_batch_create", "pal_batch_add_pair",
    "pal_batch_reserve", "pal_store_create", "pal_store_answer",
    "pal_store_answer (batch)", "pal_store_graph", "pal_store_journal_open",
    "pal_store_journal_open (replay)", "pal_oracle_create",
    "pal_oracle_step", "pal_oracle_step (batch)",
    "pal_oracle_next + answer", "pal_oracle_step (passive)",
    "pal_oracle_step (ssl)", "pal_oracle_journal_open",
    "pal_oracle_journal_open (replay)", "pal_store_answer (journal)",
    "pal_oracle_step (journal)", "pal_grad_vicreg", "pal_grad_ntxent",
    "pal_grad_barlow", "pal_grad_spectral", "pal_oracle_set_embedding",
    "pal_oracle_set_scores", "pal_oracle_set_priors",
    "pal_oracle_step (item, guided)", "pal_oracle_step (captcha, guided)",
    "pal_store_answer_batch", "pal_store_answer_batch (journal)",
    "pal_spectral_embed", "pal_spectral_embed (labels)",
    "pal_spectral_embed (kernel)", "pal_kernel_gaussian", "pal_linear_probe",
    "pal_oracle_step (nn)", "pal_oracle_step (custom)", "pal_oracle_graph",
    "pal_oracle_balanced_subset", "pal_oracle_balanced_subset (passive)",
    "pal_flip_create", "pal_oracle_answer (votes)", "pal_store_undo",
    "pal_store_undo (journal)", "pal_oracle_undo",
    "pal_oracle_estimate_priors", "pal_spectral_embed (iterative)"};

/* Work that must happen before the failures: a journal on disk to
 * replay. */
static void prepare(world_t *w, int call)
{
    if (call == C_VOTE_ANSWER) {
        /* The first round of a vote: the next answer decides it. */
        int64_t anchor, m;
        const int64_t *cand;
        pal_answer_t ans[8];

        ck_status(pal_oracle_next(w->o, &anchor, &m, &cand), PAL_OK);
        truth(w->labels, anchor, m, cand, ans);
        ck_status(pal_oracle_answer(w->o, ans, NULL), PAL_OK);
        return;
    }
    if (call == C_BATCH_ADD || call == C_NN_STEP || call == C_CUSTOM_STEP) {
        /* Fill the batch's first block (64 pairs): the next addition
         * must grow it. */
        while (pal_batch_n_pairs(w->b) < 64)
            ck_status(pal_batch_add_pair(w->b, 1, 2, 0.25), PAL_OK);
    } else if (call == C_STORE_REPLAY) {
        pal_store_t *s;

        unlink(w->path);
        ck_status(pal_store_create(&s, N, NULL), PAL_OK);
        ck_status(pal_store_journal_open(s, w->path, 0, NULL), PAL_OK);
        ck_status(pal_store_answer(s, 6, 7, PAL_ANSWER_SAME, NULL, NULL),
                  PAL_OK);
        ck_status(pal_store_answer(s, 8, 7, PAL_ANSWER_DIFFERENT, NULL,
                                   NULL),
                  PAL_OK);
        pal_store_destroy(s);
        /* The world's store must be fresh to open a journal. */
        pal_store_destroy(w->s);
        ck_status(pal_store_create(&w->s, N, &w->a), PAL_OK);
    } else if (call == C_UNDO_JOURNALED) {
        unlink(w->path);
        pal_store_destroy(w->s);
        ck_status(pal_store_create(&w->s, N, &w->a), PAL_OK);
        ck_status(pal_store_journal_open(w->s, w->path, 0, NULL), PAL_OK);
        ck_status(pal_store_answer(w->s, 0, 3, PAL_ANSWER_SAME, NULL, NULL),
                  PAL_OK);
        ck_status(pal_store_answer(w->s, 3, 5, PAL_ANSWER_DIFFERENT, NULL,
                                   NULL),
                  PAL_OK);
    } else if (call == C_STORE_JOURNAL || call == C_ANSWER_JOURNALED ||
               call == C_ANSWER_MANY_JOURNALED) {
        unlink(w->path);
        pal_store_destroy(w->s);
        ck_status(pal_store_create(&w->s, N, &w->a), PAL_OK);
        if (call != C_STORE_JOURNAL)
            ck_status(pal_store_journal_open(w->s, w->path, 0, NULL),
                      PAL_OK);
    } else if (call >= C_SET_EMBEDDING && call <= C_GUIDED_STEP) {
        ck_status(pal_oracle_set_embedding(w->o, PAL_F64, N, K, w->z, K),
                  PAL_OK);
        w->peek = call != C_ITEM_STEP && call != C_GUIDED_STEP;
    } else if (call == C_ORACLE_JOURNAL || call == C_ORACLE_REPLAY ||
               call == C_STEP_JOURNALED) {
        pal_oracle_opts_t op;

        unlink(w->path);
        pal_oracle_opts_init(&op);
        op.screen_size = 4;
        op.seed = test_seed();
        if (call == C_ORACLE_REPLAY) {
            pal_oracle_t *o;

            ck_status(pal_oracle_create(&o, N, &op, NULL), PAL_OK);
            ck_status(pal_oracle_journal_open(o, w->path, 0, NULL), PAL_OK);
            ck_status(pal_oracle_set_labeler(o, truth, w->labels), PAL_OK);
            for (int s = 0; s < 3; s++)
                ck_status(pal_oracle_step(o, NULL), PAL_OK);
            pal_oracle_destroy(o);
        }
        pal_oracle_destroy(w->o);
        ck_status(pal_oracle_create(&w->o, N, &op, &w->a), PAL_OK);
        ck_status(pal_oracle_set_labeler(w->o, truth, w->labels), PAL_OK);
        if (call == C_STEP_JOURNALED)
            ck_status(pal_oracle_journal_open(w->o, w->path, 0, NULL),
                      PAL_OK);
    }
}

static int run(world_t *w, int call)
{
    pal_oracle_opts_t op;
    pal_ctx_t *ctx = NULL;
    pal_batch_t *b = NULL;
    pal_store_t *s = NULL;
    pal_oracle_t *o = NULL;
    int rc;

    switch (call) {
    case C_CTX:
        rc = pal_ctx_create(&ctx, &w->a);
        pal_ctx_destroy(ctx);
        return rc;
    case C_GRAPH:
        return pal_graph_create(&w->gout, N, &w->a);
    case C_DENSE:
        return pal_graph_add_dense(w->g, -0.25, PAL_F64, w->dense, N, 0);
    case C_CSR:
        return pal_graph_add_csr(w->g, 1.0, PAL_F64, N, w->rowptr, w->colidx,
                                 NULL, 0);
    case C_LABELS:
        return pal_graph_add_labels(w->g, 2.0, w->labels);
    case C_BLOCKS:
        return pal_graph_add_blocks(w->g, 1.0, w->labels, 2, w->ea, w->eb,
                                    w->ew);
    case C_CONST:
        return pal_graph_add_constant(w->g, -1.0);
    case C_IDENT:
        return pal_graph_add_identity(w->g, 1.0);
    case C_DIAG:
        return pal_graph_add_diagonal(w->g, -1.0, w->diag);
    case C_SUPERVISED:
        return pal_graph_supervised(&w->gout, N / 2, w->labels, 2, &w->a);
    case C_SSL:
        return pal_graph_ssl(&w->gout, N, 0, w->source, &w->a);
    case C_MIXTURE:
        return pal_graph_mixture(&w->gout, N, 0.3, 2, NULL, w->labels,
                                 &w->a);
    case C_MATMUL:
        return pal_graph_matmul(w->ctx, w->g, 1, PAL_F64, K, w->z, K, w->y,
                                K);
    case C_VIC2:
        return pal_grad_vic2(w->ctx, w->g, PAL_F64, N, K, w->z, K, NULL,
                             &w->loss, w->dz, K);
    case C_VIC2_CHECKED:
        pal_ctx_set_checks(w->ctx, PAL_CHECK_FINITE);
        rc = pal_grad_vic2(w->ctx, w->g, PAL_F64, N, K, w->z, K, NULL,
                           &w->loss, w->dz, K);
        pal_ctx_set_checks(w->ctx, 0);
        return rc;
    case C_SIMCLR:
        return pal_grad_simclr(w->ctx, w->g, PAL_F64, N, K, w->z, K, NULL,
                               &w->loss, w->dz, K);
    case C_BT:
        return pal_grad_bt(w->ctx, w->g, PAL_F64, N, K, w->z, K, NULL,
                           &w->loss, w->dz, K);
    case C_PAIRS:
        pal_ctx_set_checks(w->ctx, PAL_CHECK_FINITE);
        rc = pal_grad_pairs(w->ctx, w->b, PAL_F64, N, K, w->z, K, &w->loss,
                            w->dz, K);
        pal_ctx_set_checks(w->ctx, 0);
        return rc;
    case C_BATCH:
        rc = pal_batch_create(&b, &w->a);
        pal_batch_destroy(b);
        return rc;
    case C_BATCH_ADD:
        return pal_batch_add_pair(w->b, 7, 8, 0.5);
    case C_BATCH_RESERVE:
        return pal_batch_reserve(w->b, 500, 300);
    case C_STORE:
        rc = pal_store_create(&s, N, &w->a);
        pal_store_destroy(s);
        return rc;
    case C_ANSWER:
        return pal_store_answer(w->s, 3, 4, PAL_ANSWER_SAME, NULL, NULL);
    case C_ANSWER_BATCH:
        return pal_store_answer(w->s, 3, 5, PAL_ANSWER_SAME, w->b, NULL);
    case C_STORE_GRAPH:
        return pal_store_graph(w->s, PAL_STORE_CONTRASTIVE, &w->gout, &w->a);
    case C_STORE_JOURNAL:
    case C_STORE_REPLAY:
        return pal_store_journal_open(w->s, w->path, 0, NULL);
    case C_ANSWER_JOURNALED:
        return pal_store_answer(w->s, 9, 10, PAL_ANSWER_SAME, w->b, NULL);
    case C_STEP_JOURNALED:
        return pal_oracle_step(w->o, w->b);
    case C_ANSWER_MANY:
    case C_ANSWER_MANY_JOURNALED: {
        /* Merges, links, a conflict and an unsure answer: every kind of
         * memory the batch reserves. */
        static const int64_t bi[6] = {3, 6, 9, 4, 3, 2};
        static const int64_t bj[6] = {4, 7, 10, 6, 7, 11};
        static const pal_answer_t ba[6] = {
            PAL_ANSWER_SAME, PAL_ANSWER_DIFFERENT, PAL_ANSWER_SAME,
            PAL_ANSWER_SAME, PAL_ANSWER_SAME, PAL_ANSWER_UNSURE};

        return pal_store_answer_batch(w->s, 6, bi, bj, ba, NULL);
    }
    case C_ORACLE:
        for (int smp = PAL_SAMPLER_SSL; smp <= PAL_SAMPLER_CUSTOM; smp++) {
            pal_oracle_opts_init(&op);
            op.sampler = (pal_sampler_t)smp;
            op.reg_mode = PAL_REG_HALVES;
            rc = pal_oracle_create(&o, N, &op, &w->a);
            pal_oracle_destroy(o);
            o = NULL;
            if (rc != PAL_OK)
                return rc;
        }
        return PAL_OK;
    case C_STEP:
    case C_PASSIVE_STEP:
    case C_SSL_STEP:
        return pal_oracle_step(w->o, call == C_STEP ? NULL : w->b);
    case C_STEP_BATCH:
    case C_ITEM_STEP:
    case C_GUIDED_STEP:
    case C_NN_STEP:
    case C_CUSTOM_STEP:
        return pal_oracle_step(w->o, w->b);
    case C_ORACLE_GRAPH:
        return pal_oracle_graph(w->o, PAL_STORE_CONTRASTIVE, &w->gout);
    case C_BALANCED:
    case C_BALANCED_PASSIVE:
        return pal_oracle_balanced_subset(w->o, 2, N, w->sub_items,
                                          w->sub_labels, &w->sub_count);
    case C_UNDO:
    case C_UNDO_JOURNALED:
        return pal_store_undo(w->s, 1);
    case C_ORACLE_UNDO:
        return pal_oracle_undo(w->o);
    case C_EST_PRIORS:
        return pal_oracle_estimate_priors(w->o, 2, w->pri, NULL);
    case C_FLIP: {
        pal_flip_t *f = NULL;

        rc = pal_flip_create(&f, truth, w->labels, 0.25, 3, &w->a);
        pal_flip_destroy(f);
        return rc;
    }
    case C_VOTE_ANSWER: {
        int64_t anchor, m;
        const int64_t *cand;
        pal_answer_t ans[8];

        rc = pal_oracle_next(w->o, &anchor, &m, &cand);
        if (rc != PAL_OK)
            return rc;
        truth(w->labels, anchor, m, cand, ans);
        return pal_oracle_answer(w->o, ans, w->b);
    }
    case C_SET_EMBEDDING:
        return pal_oracle_set_embedding(w->o, PAL_F64, N, K - 1, w->z2, K);
    case C_SET_SCORES:
        return pal_oracle_set_scores(w->o, PAL_F64, N, 1, w->z2, K);
    case C_SET_PRIORS:
        return pal_oracle_set_priors(w->o, 1, w->pri);
    case C_NEXT_ANSWER: {
        int64_t anchor, m;
        const int64_t *cand;
        pal_answer_t ans[8];

        rc = pal_oracle_next(w->o, &anchor, &m, &cand);
        if (rc != PAL_OK)
            return rc;
        truth(w->labels, anchor, m, cand, ans);
        /* On failure the question stays pending: the retry gets it
         * again from pal_oracle_next. */
        return pal_oracle_answer(w->o, ans, w->b);
    }
    /* The two-view losses: view 2 is the first N x K entries of the
     * dense array, its gradient goes to y. */
    case C_VICREG:
        return pal_grad_vicreg(w->ctx, PAL_F64, N, K, w->z, K, w->dense, K,
                               NULL, &w->loss, w->dz, K, w->y, K);
    case C_NTXENT:
        return pal_grad_ntxent(w->ctx, PAL_F64, N, K, w->z, K, w->dense, K,
                               NULL, &w->loss, w->dz, K, w->y, K);
    case C_BARLOW:
        return pal_grad_barlow(w->ctx, PAL_F64, N, K, w->z, K, w->dense, K,
                               NULL, &w->loss, w->dz, K, w->y, K);
    case C_SPECTRAL:
        return pal_grad_spectral(w->ctx, PAL_F64, N, K, w->z, K, w->dense, K,
                                 NULL, &w->loss, w->dz, K, w->y, K);
    case C_EMBED:
        return pal_spectral_embed(w->ctx, w->g, PAL_F64, N, 4, NULL, w->zs,
                                  4, w->eig);
    case C_EMBED_LABELS: {
        /* A graph of labels only (the class-space route); the graph's
         * own allocations are not the call's. */
        pal_graph_t *g;

        ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
        ck_status(pal_graph_add_labels(g, 1.0, w->labels), PAL_OK);
        ck_status(pal_graph_add_constant(g, -0.25), PAL_OK);
        rc = pal_spectral_embed(w->ctx, g, PAL_F64, N, 4, NULL, w->zs, 4,
                                w->eig);
        pal_graph_destroy(g);
        return rc;
    }
    case C_EMBED_KERNEL: {
        pal_embed_opts_t eo;

        pal_embed_opts_init(&eo);
        eo.lambda = 0.5;
        eo.kernel = w->kern;
        return pal_spectral_embed(w->ctx, w->g, PAL_F32, N, 4, &eo, w->zs, 8,
                                  w->eig);
    }
    case C_EMBED_ITERATIVE: {
        /* A ring of 96 items (large enough for the Krylov basis, not
         * the whole space) plus labels, solved by block Lanczos; the
         * graph's own allocations are not the call's. */
        int64_t ptr[97];
        int32_t idx[192], y[96];
        pal_graph_t *g;
        pal_embed_opts_t eo;

        for (int i = 0; i < 96; i++) {
            const int32_t left = (i + 95) % 96, right = (i + 1) % 96;

            ptr[i] = 2 * i;
            idx[2 * i] = left < right ? left : right;
            idx[2 * i + 1] = left < right ? right : left;
            y[i] = i % 4;
        }
        ptr[96] = 192;
        ck_status(pal_graph_create(&g, 96, NULL), PAL_OK);
        ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, 192, ptr, idx, NULL,
                                    0),
                  PAL_OK);
        ck_status(pal_graph_add_labels(g, 0.1, y), PAL_OK);
        pal_embed_opts_init(&eo);
        eo.method = PAL_EMBED_ITERATIVE;
        rc = pal_spectral_embed(w->ctx, g, PAL_F64, 96, 1, &eo, w->zi, 1,
                                w->eig);
        pal_graph_destroy(g);
        return rc;
    }
    case C_KERNEL:
        return pal_kernel_gaussian(w->ctx, PAL_F64, N, K, w->z, K, 1.5,
                                   w->kmat, N);
    case C_PROBE:
        return pal_linear_probe(w->ctx, PAL_F64, N, K, w->z, K, w->labels, 3,
                                NULL, NULL, &w->res, w->pw, 3, w->pb);
    default:
        return pal_oracle_journal_open(w->o, w->path, 0, NULL);
    }
}

static pal_sampler_t sampler_for(int call)
{
    if (call == C_SET_EMBEDDING || call == C_SET_SCORES ||
        call == C_SET_PRIORS || call == C_ITEM_STEP || call == C_EST_PRIORS)
        return PAL_SAMPLER_ITEM;
    if (call == C_NN_STEP)
        return PAL_SAMPLER_NN;
    if (call == C_CUSTOM_STEP)
        return PAL_SAMPLER_CUSTOM;
    return call == C_PASSIVE_STEP || call == C_BALANCED_PASSIVE
               ? PAL_SAMPLER_PASSIVE
           : call == C_SSL_STEP   ? PAL_SAMPLER_SSL
                                  : PAL_SAMPLER_CAPTCHA;
}

START_TEST(every_call_survives_allocation_failures)
{
    world_t *w = calloc(1, sizeof *w);
    snap_t before = {0}, after = {0}, clean = {0};
    long points = 0, calls = 0;

    ck_assert_ptr_nonnull(w);
    w->a = talloc_make(&w->t);
    strcpy(w->dir, "/tmp/pal-alloc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(w->dir));
    snprintf(w->path, sizeof w->path, "%s/journal", w->dir);

    for (int call = 0; call < N_CALLS; call++) {
        /* The reference: the call with no failure. */
        w->votes = call == C_VOTE_ANSWER ? 3 : 1;
        world_init(w, sampler_for(call));
        prepare(w, call);
        ck_status(run(w, call), PAL_OK);
        take(w, &clean);
        world_free(w);
        ck_assert_int_eq(w->t.live_blocks, 0);

        for (long fail = 1;; fail++) {
            int rc;

            world_init(w, sampler_for(call));
            prepare(w, call);
            take(w, &before);
            w->t.calls = 0;
            w->t.fail_at = fail;
            rc = run(w, call);
            w->t.fail_at = 0;
            if (rc == PAL_OK) {
                /* The failure point is past the call's last allocation:
                 * it made the same changes as the reference. */
                take(w, &after);
                ck_assert_msg(after.len == clean.len &&
                                  memcmp(after.p, clean.p, clean.len) == 0,
                              "%s: success differs from the reference",
                              call_name[call]);
                world_free(w);
                ck_assert_int_eq(w->t.live_blocks, 0);
                break;
            }
            ck_assert_msg(rc == PAL_E_NOMEM, "%s, allocation %ld: %s",
                          call_name[call], fail, pal_status_name(rc));
            take(w, &after);
            ck_assert_msg(after.len == before.len &&
                              memcmp(after.p, before.p, before.len) == 0,
                          "%s, allocation %ld failed: state changed",
                          call_name[call], fail);
            /* Still usable: the same call now succeeds, as the reference
             * did (a journal may have been created by the failed open:
             * the snapshot of objects is what must match). */
            rc = run(w, call);
            ck_assert_msg(rc == PAL_OK, "%s, allocation %ld: retry gave %s",
                          call_name[call], fail, pal_status_name(rc));
            take(w, &after);
            ck_assert_msg(after.len == clean.len &&
                              memcmp(after.p, clean.p, clean.len) == 0,
                          "%s, allocation %ld: retry differs",
                          call_name[call], fail);
            world_free(w);
            ck_assert_msg(w->t.live_blocks == 0, "%s, allocation %ld: leak",
                          call_name[call], fail);
            points++;
        }
        calls++;
    }
    unlink(w->path);
    rmdir(w->dir);
    printf("allocation failures: %ld injected over %ld public calls, each "
           "PAL_E_NOMEM with nothing changed or leaked\n",
           points, calls);
    free(before.p);
    free(after.p);
    free(clean.p);
    free(w);
}
END_TEST

Suite *suite_alloc(void);
Suite *suite_alloc(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_call_survives_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
