/*
 * Bad arguments: every graph, batch and loss entry point, called with
 * each kind of invalid input, must return its documented code and leave
 * every output and every object as it was. Each case runs against one
 * fixture whose mutable state (output buffers with sentinels, the
 * graphs' summaries, the batches' lists, the inputs) is snapshotted
 * before the call and compared after it.
 */
#include "testutil.h"

#define N 6
#define K 3
#define LDZ 4
#define LDDZ 5
#define NG 13     /* graphs in the fixture */
#define SENT 0x5a /* byte pattern of untouched outputs */

enum { L_VIC2, L_SIMCLR, L_BT, L_PAIRS };

#define VIC2 (1u << L_VIC2)
#define SIMCLR (1u << L_SIMCLR)
#define BT (1u << L_BT)
#define PAIRS (1u << L_PAIRS)
#define GRAPH_LOSSES (VIC2 | SIMCLR | BT)
#define ALL_LOSSES (GRAPH_LOSSES | PAIRS)

#define VALUE 1u  /* pal_loss_* */
#define FUSED 2u  /* pal_grad_* */
#define BOTH (VALUE | FUSED)

enum fixture_graph {
    FG_LABELS,    /* the valid graph on N items */
    FG_NONE,      /* no term */
    FG_ZERO,      /* a dense term of zeros, and weight-0 terms */
    FG_UNKNOWN,   /* labels all -1 */
    FG_IDENT,     /* identity only */
    FG_SINGLE,    /* every item its own class */
    FG_NEG,       /* 2 Y Y^T - 1 */
    FG_NAN,       /* dense with a NaN, added unchecked */
    FG_INF,       /* dense with an infinity, added unchecked */
    FG_CSR_NAN,   /* CSR with a NaN value, added unchecked */
    FG_SMALL,     /* labels on N - 1 items */
    FG_ONE,       /* one item */
    FG_NEG_DENSE  /* dense with one negative entry */
};

/* Everything a call may touch. */
typedef struct fixture {
    pal_ctx_t *ctx, *checked, *tiny;
    pal_graph_t *g[NG];
    pal_batch_t *batch, *empty, *bad[4];  /* bad: one index >= N each */
    pal_batch_t *partial;                 /* rows 0 to 2 only */
    double z[N * LDZ];           /* valid Z, NaN padding */
    float zf[N * LDZ];
    double zrow[N * LDZ];        /* row 2 zero */
    double zcol[N * LDZ];        /* column 1 zero */
    double zconst[N * LDZ];      /* column 0 constant */
    double znan[N * LDZ], zinf[N * LDZ];
    double big[4 * N * LDDZ];    /* dz area (as bytes) */
    double value;
    /* Graph inputs the graph cases use. */
    double dense[N * N], dense_nan[N * N], dense_inf[N * N];
    float densef_nan[N * N];
    double gd_nan[N * N], gd_inf[N * N], gd_zero[N * N], gd_neg[N * N];
    float densef[N * N];
    int64_t rowptr[N + 1];
    int32_t colidx[N], labels[N], labels_bad[N], labels_max[N];
    double csr_vals[N], csr_nan_vals[N], diag[N], diag_nan[N];
    int64_t source_bad[N];
    double x[N * 4], y[N * 4], out[N * N], vec[N];
    pal_graph_t *gout;
    pal_batch_t *bout;
    /* A store with two answers, and batches of answers for it. */
    pal_store_t *store;
    int64_t si[4], sj[4], si_bad[4], sj_bad[4];
    pal_answer_t sa[4], sa_bad[4];
    int effects[4];
    /* Outputs of the stop and subset calls. */
    int64_t sub_items[N], sub_count;
    int32_t sub_labels[N];
    pal_stop_reason_t stop;
} fixture_t;

static fixture_t fx;

/* A pointer the library must never write into an out-parameter that
 * a failed call names. */
#define NOT_WRITTEN(type) ((type *)(uintptr_t)0x1234)

/* ---- Snapshots ----------------------------------------------------------- */

typedef struct gsum {
    int64_t terms;
    double frob, rows[N], cols[N], diag[N];
} gsum_t;

#define NB 7  /* batches in the fixture */

typedef struct snapshot {
    unsigned char fixture_bytes[sizeof(fixture_t)];
    gsum_t g[NG];
    int64_t counts[NB][4];
    int64_t lists[NB][4][64];
    double weights[NB][64];
    pal_store_stats_t store;
    int32_t store_labels[N];
    int64_t store_log[8][3];
} snapshot_t;

static void graph_summary(const pal_graph_t *g, gsum_t *s)
{
    int64_t n = pal_graph_n(g);

    memset(s, 0, sizeof *s);
    s->terms = pal_graph_n_terms(g);
    ck_status(pal_graph_frobenius2(g, &s->frob), PAL_OK);
    /* NaN compares unequal to itself: keep the bytes comparable. */
    if (isnan(s->frob))
        s->frob = 12345.0;
    if (n <= N) {
        ck_status(pal_graph_row_sums(g, s->rows), PAL_OK);
        ck_status(pal_graph_col_sums(g, s->cols), PAL_OK);
        ck_status(pal_graph_diagonal(g, s->diag), PAL_OK);
    }
}

static void take(snapshot_t *s)
{
    pal_batch_t *b[NB] = {fx.batch, fx.empty, fx.bad[0], fx.bad[1],
                          fx.bad[2], fx.bad[3], fx.partial};

    memset(s, 0, sizeof *s);
    memcpy(s->fixture_bytes, &fx, sizeof fx);
    for (int i = 0; i < NG; i++)
        graph_summary(fx.g[i], &s->g[i]);
    for (int i = 0; i < NB; i++) {
        const int64_t *pi, *pj, *ri, *rj;
        const double *pg;
        int64_t np, nr;

        s->counts[i][0] = pal_batch_n_pairs(b[i]);
        s->counts[i][1] = pal_batch_n_reg(b[i]);
        s->counts[i][2] = pal_batch_n_offered_pairs(b[i]);
        s->counts[i][3] = pal_batch_n_offered_reg(b[i]);
        ck_status(pal_batch_pairs(b[i], &pi, &pj, &pg, &np), PAL_OK);
        ck_status(pal_batch_regs(b[i], &ri, &rj, &nr), PAL_OK);
        ck_assert(np <= 64 && nr <= 64);
        for (int64_t q = 0; q < np; q++) {
            s->lists[i][0][q] = pi[q];
            s->lists[i][1][q] = pj[q];
            s->weights[i][q] = pg[q];
        }
        for (int64_t q = 0; q < nr; q++) {
            s->lists[i][2][q] = ri[q];
            s->lists[i][3][q] = rj[q];
        }
    }
    s->store.size = sizeof s->store;
    ck_status(pal_store_stats(fx.store, &s->store), PAL_OK);
    ck_status(pal_store_labels(fx.store, 0, s->store_labels, NULL), PAL_OK);
    ck_assert(s->store.answers <= 8);
    for (int64_t k = 0; k < s->store.answers; k++) {
        pal_answer_t a;

        ck_status(pal_store_log_entry(fx.store, k, &s->store_log[k][0],
                                      &s->store_log[k][1], &a),
                  PAL_OK);
        s->store_log[k][2] = a;
    }
}

static int cases_run;

/* Check that the fixture is as snapshotted. */
static void unchanged(const snapshot_t *before, const char *what)
{
    snapshot_t *after = xmalloc(sizeof *after);

    take(after);
    ck_assert_msg(memcmp(before->fixture_bytes, after->fixture_bytes,
                         sizeof fx) == 0,
                  "%s: an output or input buffer changed", what);
    ck_assert_msg(memcmp(before->g, after->g, sizeof before->g) == 0,
                  "%s: a graph changed", what);
    ck_assert_msg(memcmp(before->counts, after->counts,
                         sizeof before->counts) == 0 &&
                      memcmp(before->lists, after->lists,
                             sizeof before->lists) == 0 &&
                      memcmp(before->weights, after->weights,
                             sizeof before->weights) == 0,
                  "%s: a batch changed", what);
    ck_assert_msg(memcmp(&before->store, &after->store,
                         sizeof before->store) == 0 &&
                      memcmp(before->store_labels, after->store_labels,
                             sizeof before->store_labels) == 0 &&
                      memcmp(before->store_log, after->store_log,
                             sizeof before->store_log) == 0,
                  "%s: the store changed", what);
    free(after);
}

/* Run one expression as a case: its status must be want and, for an
 * error, nothing in the fixture may change. Errors are counted. */
#define EXPECT(expr, want)                                                  \
    do {                                                                    \
        snapshot_t *before_ = xmalloc(sizeof *before_);                     \
        int rc_, want_ = (want);                                            \
                                                                            \
        take(before_);                                                      \
        rc_ = (expr);                                                       \
        ck_assert_msg(rc_ == want_, "%s: %s, expected %s", #expr,           \
                      pal_status_name(rc_), pal_status_name(want_));        \
        if (want_ != PAL_OK) {                                              \
            unchanged(before_, #expr);                                      \
            cases_run++;                                                    \
        }                                                                   \
        free(before_);                                                      \
    } while (0)

/* ---- The fixture --------------------------------------------------------- */

static pal_graph_t *new_graph(int64_t n)
{
    pal_graph_t *g;

    ck_status(pal_graph_create(&g, n, NULL), PAL_OK);
    return g;
}

static void setup(void)
{
    trng_t r;
    pal_graph_t **g = fx.g;
    static const int32_t one[1] = {5};

    memset(&fx, 0, sizeof fx);
    trng_seed(&r, test_seed() + 30);
    for (int64_t q = 0; q < N * LDZ; q++)
        fx.z[q] = NAN;
    fill_normal(&r, fx.z, N, K, LDZ, 1.0);
    round_to_float(fx.z, N, K, LDZ);
    for (int64_t q = 0; q < N * LDZ; q++)
        fx.zf[q] = (float)fx.z[q];
    memcpy(fx.zrow, fx.z, sizeof fx.z);
    memcpy(fx.zcol, fx.z, sizeof fx.z);
    memcpy(fx.zconst, fx.z, sizeof fx.z);
    memcpy(fx.znan, fx.z, sizeof fx.z);
    memcpy(fx.zinf, fx.z, sizeof fx.z);
    for (int64_t c = 0; c < K; c++)
        fx.zrow[2 * LDZ + c] = 0.0;
    for (int64_t i = 0; i < N; i++) {
        fx.zcol[i * LDZ + 1] = 0.0;
        fx.zconst[i * LDZ] = 2.5;
    }
    fx.znan[3 * LDZ + 1] = NAN;
    fx.zinf[4 * LDZ + 2] = -INFINITY;
    memset(fx.big, SENT, sizeof fx.big);
    fx.value = -4242.0;

    for (int64_t q = 0; q < N * N; q++) {
        fx.dense[q] = trng_unit(&r);
        fx.gd_nan[q] = fx.gd_inf[q] = fx.dense[q];
        fx.densef_nan[q] = fx.densef[q] = (float)fx.dense[q];
        fx.gd_neg[q] = fx.dense[q];
    }
    fx.gd_neg[N + 4] = -0.25;
    memcpy(fx.dense_nan, fx.dense, sizeof fx.dense);
    memcpy(fx.dense_inf, fx.dense, sizeof fx.dense);
    fx.dense_nan[7] = NAN;
    fx.densef_nan[20] = NAN;
    fx.dense_inf[9] = INFINITY;
    fx.gd_nan[0] = NAN;   /* the first entry: the term's extremes start here */
    fx.gd_inf[14] = INFINITY;
    for (int64_t i = 0; i < N; i++) {
        fx.rowptr[i + 1] = i + 1;
        fx.colidx[i] = (int32_t)((i + 1) % N);
        fx.csr_vals[i] = 1.0 + (double)i;
        fx.csr_nan_vals[i] = fx.csr_vals[i];
        fx.diag[i] = 0.5 * (double)i - 1.0;
        fx.diag_nan[i] = fx.diag[i];
        fx.labels[i] = label_value((int)(i / 2));
        fx.labels_bad[i] = fx.labels[i];
        fx.labels_max[i] = fx.labels[i];
        fx.source_bad[i] = i / 2;
        fx.vec[i] = 99.0;
    }
    ck_status(pal_store_create(&fx.store, N, NULL), PAL_OK);
    ck_status(pal_store_answer(fx.store, 0, 1, PAL_ANSWER_SAME, NULL, NULL),
              PAL_OK);
    ck_status(pal_store_answer(fx.store, 1, 2, PAL_ANSWER_DIFFERENT, NULL,
                               NULL),
              PAL_OK);
    for (int k = 0; k < 4; k++) {
        fx.si[k] = fx.si_bad[k] = k;
        fx.sj[k] = fx.sj_bad[k] = k + 2;
        fx.sa[k] = fx.sa_bad[k] = k % 2 ? PAL_ANSWER_SAME
                                        : PAL_ANSWER_DIFFERENT;
        fx.effects[k] = SENT;
    }
    fx.si_bad[2] = N;     /* entry 2: an item past the end */
    fx.sj_bad[1] = -1;    /* entry 1: a negative item */
    fx.sa_bad[3] = (pal_answer_t)3;
    fx.csr_nan_vals[3] = NAN;
    fx.diag_nan[N - 1] = INFINITY;
    fx.labels_bad[4] = -2;
    fx.labels_max[1] = INT32_MAX;
    fx.source_bad[5] = N;
    for (int64_t q = 0; q < N * 4; q++) {
        fx.x[q] = trng_normal(&r);
        fx.y[q] = 7.0;
    }
    for (int64_t q = 0; q < N * N; q++)
        fx.out[q] = 8.0;
    fx.gout = NOT_WRITTEN(pal_graph_t);
    fx.bout = NOT_WRITTEN(pal_batch_t);

    ck_status(pal_ctx_create(&fx.ctx, NULL), PAL_OK);
    ck_status(pal_ctx_create(&fx.checked, NULL), PAL_OK);
    ck_status(pal_ctx_set_checks(fx.checked, PAL_CHECK_FINITE), PAL_OK);
    ck_status(pal_ctx_create(&fx.tiny, NULL), PAL_OK);
    ck_status(pal_ctx_set_workspace_limit(fx.tiny, 64), PAL_OK);

    for (int i = 0; i < NG; i++)
        g[i] = new_graph(i == FG_SMALL ? N - 1 : i == FG_ONE ? 1 : N);
    ck_status(pal_graph_add_labels(g[FG_LABELS], 1.0, fx.labels), PAL_OK);
    ck_status(pal_graph_add_dense(g[FG_ZERO], 0.0, PAL_F64, fx.dense, N, 0),
              PAL_OK);
    ck_status(pal_graph_add_labels(g[FG_ZERO], 0.0, fx.labels), PAL_OK);
    ck_status(pal_graph_add_dense(g[FG_ZERO], 1.0, PAL_F64, fx.gd_zero, N, 0),
              PAL_OK);
    {
        int32_t unknown[N], single[N];

        for (int i = 0; i < N; i++) {
            unknown[i] = -1;
            single[i] = 100 * i;
        }
        ck_status(pal_graph_add_labels(g[FG_UNKNOWN], 1.0, unknown), PAL_OK);
        ck_status(pal_graph_add_labels(g[FG_SINGLE], 1.0, single), PAL_OK);
    }
    ck_status(pal_graph_add_identity(g[FG_IDENT], 2.0), PAL_OK);
    ck_status(pal_graph_add_labels(g[FG_NEG], 2.0, fx.labels), PAL_OK);
    ck_status(pal_graph_add_constant(g[FG_NEG], -1.0), PAL_OK);
    ck_status(pal_graph_add_dense(g[FG_NAN], 1.0, PAL_F64, fx.gd_nan, N, 0),
              PAL_OK);
    ck_status(pal_graph_add_dense(g[FG_INF], 1.0, PAL_F64, fx.gd_inf, N, 0),
              PAL_OK);
    ck_status(pal_graph_add_csr(g[FG_CSR_NAN], 1.0, PAL_F64, N, fx.rowptr,
                                fx.colidx, fx.csr_nan_vals, 0),
              PAL_OK);
    ck_status(pal_graph_add_labels(g[FG_SMALL], 1.0, fx.labels), PAL_OK);
    ck_status(pal_graph_add_labels(g[FG_ONE], 1.0, one), PAL_OK);
    ck_status(pal_graph_add_dense(g[FG_NEG_DENSE], 1.0, PAL_F64, fx.gd_neg, N,
                                  0),
              PAL_OK);

    ck_status(pal_batch_create(&fx.batch, NULL), PAL_OK);
    ck_status(pal_batch_create(&fx.empty, NULL), PAL_OK);
    for (int i = 0; i < 4; i++)
        ck_status(pal_batch_create(&fx.bad[i], NULL), PAL_OK);
    ck_status(pal_batch_create(&fx.partial, NULL), PAL_OK);
    ck_status(pal_batch_add_pair(fx.partial, 0, 2, 1.0), PAL_OK);
    ck_status(pal_batch_add_reg(fx.partial, 1, 2), PAL_OK);
    for (int64_t q = 0; q < 5; q++) {
        ck_status(pal_batch_add_pair(fx.batch, q, q + 1, 0.5 + q), PAL_OK);
        ck_status(pal_batch_add_reg(fx.batch, q, N - 1 - q), PAL_OK);
        for (int i = 0; i < 4; i++) {
            ck_status(pal_batch_add_pair(fx.bad[i], q, q + 1, 1.0), PAL_OK);
            ck_status(pal_batch_add_reg(fx.bad[i], q, q), PAL_OK);
        }
    }
    /* The i, then the j of a weighted pair, then of a regulariser pair. */
    ck_status(pal_batch_add_pair(fx.bad[0], N, 0, 1.0), PAL_OK);
    ck_status(pal_batch_add_pair(fx.bad[1], 0, N + 3, 1.0), PAL_OK);
    ck_status(pal_batch_add_reg(fx.bad[2], N, 1), PAL_OK);
    ck_status(pal_batch_add_reg(fx.bad[3], 2, N + 7), PAL_OK);
}

static void teardown(void)
{
    pal_ctx_destroy(fx.ctx);
    pal_ctx_destroy(fx.checked);
    pal_ctx_destroy(fx.tiny);
    for (int i = 0; i < NG; i++)
        pal_graph_destroy(fx.g[i]);
    pal_batch_destroy(fx.batch);
    pal_batch_destroy(fx.empty);
    for (int i = 0; i < 4; i++)
        pal_batch_destroy(fx.bad[i]);
    pal_batch_destroy(fx.partial);
    pal_store_destroy(fx.store);
}

/* ---- Loss calls ---------------------------------------------------------- */

/* An options structure with room for a larger, future version. */
typedef union obuf {
    pal_vic2_opts_t vic2;
    pal_simclr_opts_t simclr;
    pal_bt_opts_t bt;
    unsigned char raw[128];
    max_align_t align;
} obuf_t;

typedef struct lcall {
    int loss;
    unsigned mode;
    pal_ctx_t *ctx;
    const pal_graph_t *g;
    const pal_batch_t *b;
    pal_dtype_t dtype;
    int64_t n, k, ldz, lddz;
    const void *z;
    void *dz;
    double *value;
    obuf_t *opts;   /* NULL for the defaults */
    obuf_t ob;
} lcall_t;

/* A valid call of loss in mode: it returns PAL_OK. */
static void valid_call(lcall_t *c, int loss, unsigned mode)
{
    memset(c, 0, sizeof *c);
    c->loss = loss;
    c->mode = mode;
    c->ctx = fx.ctx;
    c->g = fx.g[FG_LABELS];
    c->b = fx.batch;
    c->dtype = PAL_F64;
    c->n = N;
    c->k = K;
    c->ldz = LDZ;
    c->lddz = LDDZ;
    c->z = fx.z;
    c->dz = fx.big;
    c->value = &fx.value;
    c->opts = &c->ob;
    if (loss == L_VIC2)
        pal_vic2_opts_init(&c->ob.vic2);
    else if (loss == L_SIMCLR)
        pal_simclr_opts_init(&c->ob.simclr);
    else if (loss == L_BT)
        pal_bt_opts_init(&c->ob.bt);
}

static int run_call(const lcall_t *c)
{
    const void *o = c->opts;

    if (c->mode == VALUE) {
        switch (c->loss) {
        case L_VIC2:
            return pal_loss_vic2(c->ctx, c->g, c->dtype, c->n, c->k, c->z,
                                 c->ldz, o, c->value);
        case L_SIMCLR:
            return pal_loss_simclr(c->ctx, c->g, c->dtype, c->n, c->k, c->z,
                                   c->ldz, o, c->value);
        case L_BT:
            return pal_loss_bt(c->ctx, c->g, c->dtype, c->n, c->k, c->z,
                               c->ldz, o, c->value);
        default:
            return pal_loss_pairs(c->ctx, c->b, c->dtype, c->n, c->k, c->z,
                                  c->ldz, c->value);
        }
    }
    switch (c->loss) {
    case L_VIC2:
        return pal_grad_vic2(c->ctx, c->g, c->dtype, c->n, c->k, c->z, c->ldz,
                             o, c->value, c->dz, c->lddz);
    case L_SIMCLR:
        return pal_grad_simclr(c->ctx, c->g, c->dtype, c->n, c->k, c->z,
                               c->ldz, o, c->value, c->dz, c->lddz);
    case L_BT:
        return pal_grad_bt(c->ctx, c->g, c->dtype, c->n, c->k, c->z, c->ldz, o,
                           c->value, c->dz, c->lddz);
    default:
        return pal_grad_pairs(c->ctx, c->b, c->dtype, c->n, c->k, c->z,
                              c->ldz, c->value, c->dz, c->lddz);
    }
}

/* The modifications, one per case. */
static void m_none(lcall_t *c) { (void)c; }
static void m_ctx_null(lcall_t *c) { c->ctx = NULL; }
static void m_g_null(lcall_t *c) { c->g = NULL; c->b = NULL; }
static void m_z_null(lcall_t *c) { c->z = NULL; }
static void m_dz_null(lcall_t *c) { c->dz = NULL; }
static void m_value_null(lcall_t *c) { c->value = NULL; }
static void m_n_zero(lcall_t *c) { c->n = 0; }
static void m_n_neg(lcall_t *c) { c->n = -N; }
static void m_k_zero(lcall_t *c) { c->k = 0; }
static void m_k_neg(lcall_t *c) { c->k = -1; }
static void m_ldz_overflow(lcall_t *c) { c->ldz = INT64_MAX / 4; }
static void m_lddz_overflow(lcall_t *c) { c->lddz = INT64_MAX / 3; }
static void m_n_huge(lcall_t *c) { c->n = (int64_t)INT32_MAX + 1; }
static void m_ldz_short(lcall_t *c) { c->ldz = K - 1; }
static void m_lddz_short(lcall_t *c) { c->lddz = K - 1; }
static void m_dtype_zero(lcall_t *c) { c->dtype = (pal_dtype_t)0; }
static void m_dtype_three(lcall_t *c) { c->dtype = (pal_dtype_t)3; }
static void m_shape(lcall_t *c) { c->g = fx.g[FG_SMALL]; }
static void m_shape_rows(lcall_t *c) { c->n = N - 1; }
/* The aliasing cases place z and dz in the one output area, whose
 * contents (the sentinel bytes) are finite doubles and floats. */
static void m_alias_same(lcall_t *c) { c->z = c->dz = fx.big; }
static void m_alias_partial(lcall_t *c)
{
    c->z = fx.big;
    c->dz = fx.big + 1;
}
static void m_alias_tail(lcall_t *c)
{
    /* z's first element is dz's last one. */
    c->z = fx.big + (N - 1) * LDDZ + K - 1;
}
static void m_f32(lcall_t *c) { c->dtype = PAL_F32; c->z = fx.zf; }
static void m_alias_f32(lcall_t *c)
{
    c->dtype = PAL_F32;
    c->z = (float *)(void *)fx.big + 2;
}
static void m_nan_checked(lcall_t *c) { c->ctx = fx.checked; c->z = fx.znan; }
static void m_nan(lcall_t *c) { c->z = fx.znan; }
static void m_inf(lcall_t *c) { c->z = fx.zinf; }
static void m_checked_ok(lcall_t *c) { c->ctx = fx.checked; }
static void m_opts_size0(lcall_t *c) { c->ob.vic2.size = 0; }
static void m_opts_size3(lcall_t *c) { c->ob.vic2.size = 3; }
static void m_opts_size12(lcall_t *c) { c->ob.vic2.size = 12; }
static void m_opts_tail(lcall_t *c)
{
    size_t size;

    memcpy(&size, c->ob.raw, sizeof size);
    c->ob.raw[size + 5] = 1;
    size += 16;
    memcpy(c->ob.raw, &size, sizeof size);
}
static void m_opts_zero_tail(lcall_t *c)
{
    size_t size;

    memcpy(&size, c->ob.raw, sizeof size);
    size += 24;
    memcpy(c->ob.raw, &size, sizeof size);
}
static void m_opts_null(lcall_t *c) { c->opts = NULL; }
static void m_offdiag2(lcall_t *c) { c->ob.vic2.offdiag = 2; }
static void m_offdiag_neg(lcall_t *c) { c->ob.vic2.offdiag = -1; }
static void m_tau_zero(lcall_t *c) { c->ob.simclr.tau = 0.0; }
static void m_tau_neg(lcall_t *c) { c->ob.simclr.tau = -0.1; }
static void m_tau_nan(lcall_t *c) { c->ob.simclr.tau = NAN; }
static void m_tau_inf(lcall_t *c) { c->ob.simclr.tau = INFINITY; }
static void m_self2(lcall_t *c) { c->ob.simclr.include_self = 2; }
static void m_seps_neg(lcall_t *c) { c->ob.simclr.eps = -1e-3; }
static void m_seps_nan(lcall_t *c) { c->ob.simclr.eps = NAN; }
static void m_lambda_neg(lcall_t *c) { c->ob.bt.lambda = -0.5; }
static void m_lambda_nan(lcall_t *c) { c->ob.bt.lambda = NAN; }
static void m_lambda_inf(lcall_t *c) { c->ob.bt.lambda = INFINITY; }
static void m_center2(lcall_t *c) { c->ob.bt.center = 2; }
static void m_beps_neg(lcall_t *c) { c->ob.bt.eps = -1.0; }
static void m_beps_inf(lcall_t *c) { c->ob.bt.eps = INFINITY; }
static void m_negative_g(lcall_t *c) { c->g = fx.g[FG_NEG]; }
static void m_negative_dense(lcall_t *c) { c->g = fx.g[FG_NEG_DENSE]; }
static void m_zero_row(lcall_t *c) { c->z = fx.zrow; }
static void m_zero_row_f32(lcall_t *c)
{
    static float zf[N * LDZ];

    to_float(fx.zrow, N, LDZ, LDZ, zf, LDZ);
    c->dtype = PAL_F32;
    c->z = zf;
}
static void m_zero_col(lcall_t *c) { c->z = fx.zcol; }
static void m_const_col(lcall_t *c) { c->z = fx.zconst; c->ob.bt.center = 1; }
static void m_one_center(lcall_t *c)
{
    c->g = fx.g[FG_ONE];
    c->n = 1;
    c->ob.bt.center = 1;
}
static void m_empty_none(lcall_t *c) { c->g = fx.g[FG_NONE]; }
static void m_empty_zero(lcall_t *c) { c->g = fx.g[FG_ZERO]; }
static void m_empty_unknown(lcall_t *c) { c->g = fx.g[FG_UNKNOWN]; }
static void m_ident_offdiag(lcall_t *c)
{
    c->g = fx.g[FG_IDENT];
    c->ob.vic2.offdiag = 1;
}
static void m_one_offdiag(lcall_t *c)
{
    c->g = fx.g[FG_ONE];
    c->n = 1;
    c->ob.vic2.offdiag = 1;
}
static void m_ident_noself(lcall_t *c) { c->g = fx.g[FG_IDENT]; }
static void m_single_noself(lcall_t *c) { c->g = fx.g[FG_SINGLE]; }
static void m_one_noself(lcall_t *c) { c->g = fx.g[FG_ONE]; c->n = 1; }
static void m_one_self(lcall_t *c)
{
    m_one_noself(c);
    c->ob.simclr.include_self = 1;
}
static void m_g_nan(lcall_t *c) { c->g = fx.g[FG_NAN]; }
static void m_g_nan_f32(lcall_t *c) { m_g_nan(c); m_f32(c); }
static void m_g_inf(lcall_t *c) { c->g = fx.g[FG_INF]; }
static void m_csr_nan(lcall_t *c) { c->g = fx.g[FG_CSR_NAN]; }
static void m_tiny_ws(lcall_t *c) { c->ctx = fx.tiny; }
static void m_bad_pi(lcall_t *c) { c->b = fx.bad[0]; }
static void m_bad_pj(lcall_t *c) { c->b = fx.bad[1]; }
static void m_bad_ri(lcall_t *c) { c->b = fx.bad[2]; }
static void m_bad_rj(lcall_t *c) { c->b = fx.bad[3]; }
static void m_empty_batch(lcall_t *c) { c->b = fx.empty; }
/* The NaN of znan is in row 3, which this batch never reads: only the
 * context's check can see it. */
static void m_nan_unread(lcall_t *c) { c->b = fx.partial; c->z = fx.znan; }
static void m_nan_unread_checked(lcall_t *c)
{
    m_nan_unread(c);
    c->ctx = fx.checked;
}
static void m_pairs_n_small(lcall_t *c) { c->n = N - 2; }

typedef struct ecase {
    const char *name;
    unsigned losses, modes;
    int want;
    void (*mod)(lcall_t *c);
} ecase_t;

static const ecase_t loss_cases[] = {
    {"valid call", ALL_LOSSES, BOTH, PAL_OK, m_none},
    {"valid call, f32", ALL_LOSSES, BOTH, PAL_OK, m_f32},
    {"checks on, finite Z, NaN padding", ALL_LOSSES, BOTH, PAL_OK,
     m_checked_ok},
    {"ctx NULL", ALL_LOSSES, BOTH, PAL_E_NULL, m_ctx_null},
    {"graph or batch NULL", ALL_LOSSES, BOTH, PAL_E_NULL, m_g_null},
    {"z NULL", ALL_LOSSES, BOTH, PAL_E_NULL, m_z_null},
    {"dz NULL", ALL_LOSSES, FUSED, PAL_E_NULL, m_dz_null},
    {"value NULL", ALL_LOSSES, VALUE, PAL_E_NULL, m_value_null},
    {"n = 0", ALL_LOSSES, BOTH, PAL_E_SIZE, m_n_zero},
    {"n < 0", ALL_LOSSES, BOTH, PAL_E_SIZE, m_n_neg},
    {"k = 0", ALL_LOSSES, BOTH, PAL_E_SIZE, m_k_zero},
    {"k < 0", ALL_LOSSES, BOTH, PAL_E_SIZE, m_k_neg},
    {"n * ldz overflows", ALL_LOSSES, BOTH, PAL_E_SIZE, m_ldz_overflow},
    {"n * lddz overflows", ALL_LOSSES, FUSED, PAL_E_SIZE, m_lddz_overflow},
    {"n > INT32_MAX", ALL_LOSSES, BOTH, PAL_E_SIZE, m_n_huge},
    {"ldz < k", ALL_LOSSES, BOTH, PAL_E_STRIDE, m_ldz_short},
    {"lddz < k", ALL_LOSSES, FUSED, PAL_E_STRIDE, m_lddz_short},
    {"dtype 0", ALL_LOSSES, BOTH, PAL_E_TYPE, m_dtype_zero},
    {"dtype 3", ALL_LOSSES, BOTH, PAL_E_TYPE, m_dtype_three},
    {"graph n < rows of Z", GRAPH_LOSSES, BOTH, PAL_E_SHAPE, m_shape},
    {"graph n > rows of Z", GRAPH_LOSSES, BOTH, PAL_E_SHAPE, m_shape_rows},
    {"dz == z", ALL_LOSSES, FUSED, PAL_E_ALIAS, m_alias_same},
    {"dz overlaps z", ALL_LOSSES, FUSED, PAL_E_ALIAS, m_alias_partial},
    {"dz ends inside z", ALL_LOSSES, FUSED, PAL_E_ALIAS, m_alias_tail},
    {"dz overlaps z, f32", ALL_LOSSES, FUSED, PAL_E_ALIAS, m_alias_f32},
    {"NaN in Z, checked", ALL_LOSSES, BOTH, PAL_E_NONFINITE, m_nan_checked},
    {"NaN in Z, unchecked", ALL_LOSSES, BOTH, PAL_E_NONFINITE, m_nan},
    {"infinity in Z, unchecked", ALL_LOSSES, BOTH, PAL_E_NONFINITE, m_inf},
    {"opts size 0", GRAPH_LOSSES, BOTH, PAL_E_RANGE, m_opts_size0},
    {"opts size 3", GRAPH_LOSSES, BOTH, PAL_E_RANGE, m_opts_size3},
    {"opts size cutting a field", GRAPH_LOSSES, BOTH, PAL_E_RANGE,
     m_opts_size12},
    {"opts larger, non-zero tail", GRAPH_LOSSES, BOTH, PAL_E_RANGE,
     m_opts_tail},
    {"opts larger, zero tail", GRAPH_LOSSES, BOTH, PAL_OK, m_opts_zero_tail},
    {"opts NULL", GRAPH_LOSSES, BOTH, PAL_OK, m_opts_null},
    {"offdiag 2", VIC2, BOTH, PAL_E_RANGE, m_offdiag2},
    {"offdiag -1", VIC2, BOTH, PAL_E_RANGE, m_offdiag_neg},
    {"tau 0", SIMCLR, BOTH, PAL_E_RANGE, m_tau_zero},
    {"tau < 0", SIMCLR, BOTH, PAL_E_RANGE, m_tau_neg},
    {"tau NaN", SIMCLR, BOTH, PAL_E_RANGE, m_tau_nan},
    {"tau infinite", SIMCLR, BOTH, PAL_E_RANGE, m_tau_inf},
    {"include_self 2", SIMCLR, BOTH, PAL_E_RANGE, m_self2},
    {"simclr eps < 0", SIMCLR, BOTH, PAL_E_RANGE, m_seps_neg},
    {"simclr eps NaN", SIMCLR, BOTH, PAL_E_RANGE, m_seps_nan},
    {"lambda < 0", BT, BOTH, PAL_E_RANGE, m_lambda_neg},
    {"lambda NaN", BT, BOTH, PAL_E_RANGE, m_lambda_nan},
    {"lambda infinite", BT, BOTH, PAL_E_RANGE, m_lambda_inf},
    {"center 2", BT, BOTH, PAL_E_RANGE, m_center2},
    {"bt eps < 0", BT, BOTH, PAL_E_RANGE, m_beps_neg},
    {"bt eps infinite", BT, BOTH, PAL_E_RANGE, m_beps_inf},
    {"negative G (2 Y Y^T - 1)", SIMCLR, BOTH, PAL_E_NEGATIVE, m_negative_g},
    {"negative dense entry", SIMCLR, BOTH, PAL_E_NEGATIVE, m_negative_dense},
    {"zero row", SIMCLR, BOTH, PAL_E_ZERO_NORM, m_zero_row},
    {"zero row, f32", SIMCLR, BOTH, PAL_E_ZERO_NORM, m_zero_row_f32},
    {"zero column", BT, BOTH, PAL_E_ZERO_NORM, m_zero_col},
    {"constant column, centred", BT, BOTH, PAL_E_ZERO_NORM, m_const_col},
    {"n = 1, centred", BT, BOTH, PAL_E_ZERO_NORM, m_one_center},
    {"graph without terms", GRAPH_LOSSES, BOTH, PAL_E_EMPTY, m_empty_none},
    {"graph of zero terms", GRAPH_LOSSES, BOTH, PAL_E_EMPTY, m_empty_zero},
    {"labels all unknown", GRAPH_LOSSES, BOTH, PAL_E_EMPTY, m_empty_unknown},
    {"identity only, offdiag", VIC2, BOTH, PAL_E_EMPTY, m_ident_offdiag},
    {"n = 1, offdiag", VIC2, BOTH, PAL_E_EMPTY, m_one_offdiag},
    {"identity only, no self term", SIMCLR, BOTH, PAL_E_EMPTY,
     m_ident_noself},
    {"singleton classes, no self term", SIMCLR, BOTH, PAL_E_EMPTY,
     m_single_noself},
    {"n = 1, no self term", SIMCLR, BOTH, PAL_E_EMPTY, m_one_noself},
    {"n = 1, self term", SIMCLR, BOTH, PAL_OK, m_one_self},
    {"NaN in dense G", GRAPH_LOSSES, BOTH, PAL_E_NONFINITE, m_g_nan},
    {"NaN in dense G, f32", GRAPH_LOSSES, BOTH, PAL_E_NONFINITE,
     m_g_nan_f32},
    {"infinity in dense G", GRAPH_LOSSES, BOTH, PAL_E_NONFINITE, m_g_inf},
    {"NaN in CSR values", GRAPH_LOSSES, BOTH, PAL_E_NONFINITE, m_csr_nan},
    {"workspace limit too small", GRAPH_LOSSES, BOTH, PAL_E_NOMEM,
     m_tiny_ws},
    {"pair i >= n", PAIRS, BOTH, PAL_E_INDEX, m_bad_pi},
    {"pair j >= n", PAIRS, BOTH, PAL_E_INDEX, m_bad_pj},
    {"regulariser i >= n", PAIRS, BOTH, PAL_E_INDEX, m_bad_ri},
    {"regulariser j >= n", PAIRS, BOTH, PAL_E_INDEX, m_bad_rj},
    {"batch indices beyond a smaller n", PAIRS, BOTH, PAL_E_INDEX,
     m_pairs_n_small},
    {"empty batch", PAIRS, BOTH, PAL_E_EMPTY, m_empty_batch},
    {"NaN in a row the batch skips", PAIRS, BOTH, PAL_OK, m_nan_unread},
    {"NaN in a row the batch skips, checked", PAIRS, BOTH, PAL_E_NONFINITE,
     m_nan_unread_checked},
};

/* Every case of the table with every loss and mode it names. */
static void run_loss_table(void)
{
    for (size_t i = 0; i < sizeof loss_cases / sizeof loss_cases[0]; i++) {
        const ecase_t *e = &loss_cases[i];

        for (int loss = 0; loss < 4; loss++) {
            for (unsigned mode = VALUE; mode <= FUSED; mode <<= 1) {
                lcall_t c;
                snapshot_t *before;
                int rc;

                if (!(e->losses & (1u << loss)) || !(e->modes & mode))
                    continue;
                valid_call(&c, loss, mode);
                e->mod(&c);
                before = xmalloc(sizeof *before);
                take(before);
                rc = run_call(&c);
                ck_assert_msg(rc == e->want, "%s, %s %s: %s, expected %s",
                              e->name, (const char *[]){"vic2", "simclr",
                                                        "bt", "pairs"}[loss],
                              mode == VALUE ? "value" : "gradient",
                              pal_status_name(rc), pal_status_name(e->want));
                if (e->want != PAL_OK) {
                    char what[160];

                    snprintf(what, sizeof what, "%s, loss %d mode %u",
                             e->name, loss, mode);
                    unchanged(before, what);
                    cases_run++;
                } else {
                    /* Restore the outputs a successful call wrote. */
                    memset(fx.big, SENT, sizeof fx.big);
                    fx.value = -4242.0;
                }
                free(before);
            }
        }
    }
}

/* ---- Graph and batch calls ----------------------------------------------- */

/*
 * Guidance of an item oracle: each refused call leaves the guidance as it
 * was, so the oracle asks what a twin given only the valid calls asks.
 */
static void run_guidance_cases(void)
{
    pal_oracle_opts_t op;
    pal_oracle_t *o, *twin, *passive;
    static const double pri[2] = {1.0, -1.0};
    int64_t a1, m1, a2, m2;
    const int64_t *c1, *c2;

    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_ITEM;
    ck_status(pal_oracle_create(&o, N, &op, NULL), PAL_OK);
    ck_status(pal_oracle_create(&twin, N, &op, NULL), PAL_OK);
    op.sampler = PAL_SAMPLER_PASSIVE;
    ck_status(pal_oracle_create(&passive, N, &op, NULL), PAL_OK);
    ck_status(pal_oracle_set_embedding(o, PAL_F64, N, K, fx.z, LDZ), PAL_OK);
    ck_status(pal_oracle_set_embedding(twin, PAL_F64, N, K, fx.z, LDZ),
              PAL_OK);

    EXPECT(pal_oracle_set_embedding(NULL, PAL_F64, N, K, fx.z, LDZ),
           PAL_E_NULL);
    EXPECT(pal_oracle_set_embedding(o, PAL_F64, N, K, NULL, LDZ),
           PAL_E_NULL);
    EXPECT(pal_oracle_set_embedding(o, (pal_dtype_t)0, N, K, fx.z, LDZ),
           PAL_E_TYPE);
    EXPECT(pal_oracle_set_embedding(o, PAL_F64, N, 0, fx.z, LDZ),
           PAL_E_SIZE);
    EXPECT(pal_oracle_set_embedding(o, PAL_F64, -N, K, fx.z, LDZ),
           PAL_E_SIZE);
    EXPECT(pal_oracle_set_embedding(o, PAL_F64, N, K, fx.z, INT64_MAX / 2),
           PAL_E_SIZE);
    EXPECT(pal_oracle_set_embedding(o, PAL_F64, N, K, fx.z, K - 1),
           PAL_E_STRIDE);
    EXPECT(pal_oracle_set_embedding(o, PAL_F64, N - 1, K, fx.z, LDZ),
           PAL_E_SHAPE);
    EXPECT(pal_oracle_set_embedding(o, PAL_F32, N, K,
                                    (const char *)fx.zf + 1, LDZ),
           PAL_E_ALIGN);
    EXPECT(pal_oracle_set_embedding(o, PAL_F64, N, K, fx.znan, LDZ),
           PAL_E_NONFINITE);
    EXPECT(pal_oracle_set_embedding(passive, PAL_F64, N, K, fx.z, LDZ),
           PAL_E_STATE);
    EXPECT(pal_oracle_set_scores(o, PAL_F64, N, 2, fx.z, LDZ), PAL_E_SHAPE);
    EXPECT(pal_oracle_set_embedding(o, PAL_F64, N, K, fx.zinf, LDZ),
           PAL_E_NONFINITE);
    EXPECT(pal_oracle_set_scores(passive, PAL_F64, N, 1, fx.z, LDZ),
           PAL_E_STATE);
    EXPECT(pal_oracle_set_priors(NULL, 1, pri), PAL_E_NULL);
    EXPECT(pal_oracle_set_priors(o, 1, NULL), PAL_E_NULL);
    EXPECT(pal_oracle_set_priors(o, -1, pri), PAL_E_SIZE);
    EXPECT(pal_oracle_set_priors(o, 2, pri), PAL_E_SHAPE);
    EXPECT(pal_oracle_set_priors(o, 1, pri + 1), PAL_E_RANGE);
    EXPECT(pal_oracle_set_priors(passive, 1, pri), PAL_E_STATE);

    ck_status(pal_oracle_next(o, &a1, &m1, &c1), PAL_OK);
    ck_status(pal_oracle_next(twin, &a2, &m2, &c2), PAL_OK);
    ck_assert_int_eq(a1, a2);
    ck_assert_int_eq(c1[0], c2[0]);
    pal_oracle_destroy(o);
    pal_oracle_destroy(twin);
    pal_oracle_destroy(passive);
}

static int errors_labeler(void *user, int64_t anchor, int64_t m,
                          const int64_t *cand, pal_answer_t *ans)
{
    (void)user;
    (void)anchor;
    (void)cand;
    for (int64_t k = 0; k < m; k++)
        ans[k] = PAL_ANSWER_DIFFERENT;
    return 0;
}

static int errors_sampler(void *user, const pal_store_t *known,
                          int64_t capacity, int64_t *anchor, int64_t *m,
                          int64_t *cand)
{
    (void)known;
    (void)capacity;
    *anchor = 0;
    *m = 1;
    cand[0] = *(const int *)user ? 0 : 1;
    return 0;
}

/*
 * The NN and custom samplers and the oracle's graph: each refused call
 * leaves the oracle as it was, so that it goes on as a twin given only
 * the valid calls.
 */
static void run_sampler_cases(void)
{
    pal_oracle_opts_t op;
    pal_oracle_t *nn, *nn_twin, *cu, *cu_twin, *passive;
    pal_batch_t *b1, *b2;
    const int64_t *i1, *j1, *i2, *j2;
    int64_t n1, n2, a1, m1, a2, m2;
    const int64_t *c1, *c2;
    int self = 1, fine = 0;

    pal_oracle_opts_init(&op);
    op.sampler = PAL_SAMPLER_NN;
    op.nn_queue = 4;
    ck_status(pal_oracle_create(&nn, N, &op, NULL), PAL_OK);
    ck_status(pal_oracle_create(&nn_twin, N, &op, NULL), PAL_OK);
    op.sampler = PAL_SAMPLER_CUSTOM;
    ck_status(pal_oracle_create(&cu, N, &op, NULL), PAL_OK);
    ck_status(pal_oracle_create(&cu_twin, N, &op, NULL), PAL_OK);
    op.sampler = PAL_SAMPLER_PASSIVE;
    ck_status(pal_oracle_create(&passive, N, &op, NULL), PAL_OK);
    ck_status(pal_batch_create(&b1, NULL), PAL_OK);
    ck_status(pal_batch_create(&b2, NULL), PAL_OK);

    /* NN: the cold start refuses, then the embedding's own checks. */
    EXPECT(pal_oracle_step(nn, b1), PAL_E_STATE);
    EXPECT(pal_oracle_next(nn, &a1, &m1, &c1), PAL_E_STATE);
    EXPECT(pal_oracle_set_embedding(nn, PAL_F64, N, K, fx.znan, LDZ),
           PAL_E_NONFINITE);
    EXPECT(pal_oracle_set_scores(nn, PAL_F64, N, 1, fx.z, LDZ),
           PAL_E_STATE);
    EXPECT(pal_oracle_set_priors(nn, 0, NULL), PAL_E_STATE);
    ck_status(pal_oracle_set_embedding(nn, PAL_F64, N, K, fx.z, LDZ), PAL_OK);
    ck_status(pal_oracle_set_embedding(nn_twin, PAL_F64, N, K, fx.z, LDZ),
              PAL_OK);
    for (int s = 0; s < 6; s++) {
        ck_status(pal_oracle_step(nn, b1), PAL_OK);
        ck_status(pal_oracle_step(nn_twin, b2), PAL_OK);
    }
    ck_status(pal_batch_pairs(b1, &i1, &j1, NULL, &n1), PAL_OK);
    ck_status(pal_batch_pairs(b2, &i2, &j2, NULL, &n2), PAL_OK);
    ck_assert_int_eq(n1, n2);
    for (int64_t p = 0; p < n1; p++) {
        ck_assert_int_eq(i1[p], i2[p]);
        ck_assert_int_eq(j1[p], j2[p]);
    }

    /* Custom: no sampler, a wrong oracle, a refused question. */
    ck_status(pal_oracle_set_labeler(cu, errors_labeler, NULL), PAL_OK);
    ck_status(pal_oracle_set_labeler(cu_twin, errors_labeler, NULL), PAL_OK);
    EXPECT(pal_oracle_step(cu, NULL), PAL_E_STATE);
    EXPECT(pal_oracle_set_sampler(NULL, errors_sampler, &self), PAL_E_NULL);
    EXPECT(pal_oracle_set_sampler(passive, errors_sampler, &self),
           PAL_E_STATE);
    ck_status(pal_oracle_set_sampler(cu, errors_sampler, &self), PAL_OK);
    EXPECT(pal_oracle_step(cu, NULL), PAL_E_CALLBACK);
    EXPECT(pal_oracle_next(cu, &a1, &m1, &c1), PAL_E_CALLBACK);
    ck_status(pal_oracle_set_sampler(cu, errors_sampler, &fine), PAL_OK);
    ck_status(pal_oracle_set_sampler(cu_twin, errors_sampler, &fine),
              PAL_OK);
    ck_status(pal_oracle_next(cu, &a1, &m1, &c1), PAL_OK);
    ck_status(pal_oracle_next(cu_twin, &a2, &m2, &c2), PAL_OK);
    ck_assert_int_eq(a1, a2);
    ck_assert_int_eq(m1, m2);
    ck_assert_int_eq(c1[0], c2[0]);

    /* Stop reasons and the balanced subset. */
    fx.stop = (pal_stop_reason_t)-1;
    fx.sub_count = -1;
    EXPECT(pal_oracle_stop_reason(NULL, &fx.stop), PAL_E_NULL);
    EXPECT(pal_oracle_stop_reason(cu, NULL), PAL_E_NULL);
    EXPECT(pal_oracle_balanced_subset(NULL, 1, N, fx.sub_items,
                                      fx.sub_labels, &fx.sub_count),
           PAL_E_NULL);
    EXPECT(pal_oracle_balanced_subset(cu, 1, N, NULL, fx.sub_labels,
                                      &fx.sub_count),
           PAL_E_NULL);
    EXPECT(pal_oracle_balanced_subset(cu, 1, N, fx.sub_items, NULL,
                                      &fx.sub_count),
           PAL_E_NULL);
    EXPECT(pal_oracle_balanced_subset(cu, 0, N, fx.sub_items,
                                      fx.sub_labels, &fx.sub_count),
           PAL_E_RANGE);
    EXPECT(pal_oracle_balanced_subset(cu, -1, N, fx.sub_items,
                                      fx.sub_labels, &fx.sub_count),
           PAL_E_RANGE);
    EXPECT(pal_oracle_balanced_subset(cu, 1, -1, fx.sub_items,
                                      fx.sub_labels, &fx.sub_count),
           PAL_E_SIZE);
    EXPECT(pal_oracle_balanced_subset(cu, 1, N - 1,
                                      (int64_t *)((char *)fx.sub_items + 4),
                                      fx.sub_labels, &fx.sub_count),
           PAL_E_ALIGN);
    EXPECT(pal_oracle_balanced_subset(cu, 1, N - 1, fx.sub_items,
                                      (int32_t *)((char *)fx.sub_labels + 2),
                                      &fx.sub_count),
           PAL_E_ALIGN);
    ck_status(pal_oracle_stop_reason(cu, &fx.stop), PAL_OK);
    ck_assert_int_eq(fx.stop, PAL_STOP_NONE);
    ck_status(pal_oracle_balanced_subset(cu, 1, 0, NULL, NULL, NULL),
              PAL_OK);

    /* pal_oracle_graph. */
    EXPECT(pal_oracle_graph(NULL, 0, &fx.gout), PAL_E_NULL);
    EXPECT(pal_oracle_graph(cu, 0, NULL), PAL_E_NULL);
    EXPECT(pal_oracle_graph(cu, 1u << 9, &fx.gout), PAL_E_RANGE);

    pal_batch_destroy(b1);
    pal_batch_destroy(b2);
    pal_oracle_destroy(nn);
    pal_oracle_destroy(nn_twin);
    pal_oracle_destroy(cu);
    pal_oracle_destroy(cu_twin);
    pal_oracle_destroy(passive);
}

static void run_graph_cases(void)
{
    pal_graph_t *g = fx.g[FG_LABELS];
    pal_batch_t *b = fx.batch;
    const int64_t big = (int64_t)INT32_MAX + 1;
    static const int32_t ea[1] = {7}, eb[1] = {7};
    static const int32_t e_neg[1] = {-1}, e_max[1] = {INT32_MAX};
    static const double ew[1] = {1.0}, ew_nan[1] = {NAN};
    static const int32_t small[4] = {1, 2, 3, 4};
    double frob;

    /* pal_graph_create. */
    EXPECT(pal_graph_create(NULL, 5, NULL), PAL_E_NULL);
    EXPECT(pal_graph_create(&fx.gout, 0, NULL), PAL_E_SIZE);
    EXPECT(pal_graph_create(&fx.gout, -3, NULL), PAL_E_SIZE);
    EXPECT(pal_graph_create(&fx.gout, big, NULL), PAL_E_SIZE);

    /* pal_graph_add_dense. */
    EXPECT(pal_graph_add_dense(NULL, 1.0, PAL_F64, fx.dense, N, 0),
           PAL_E_NULL);
    EXPECT(pal_graph_add_dense(g, 1.0, PAL_F64, NULL, N, 0), PAL_E_NULL);
    EXPECT(pal_graph_add_dense(g, 1.0, (pal_dtype_t)0, fx.dense, N, 0),
           PAL_E_TYPE);
    EXPECT(pal_graph_add_dense(g, 1.0, (pal_dtype_t)9, fx.dense, N, 0),
           PAL_E_TYPE);
    EXPECT(pal_graph_add_dense(g, 1.0, PAL_F64, fx.dense, N - 1, 0),
           PAL_E_STRIDE);
    EXPECT(pal_graph_add_dense(g, 1.0, PAL_F64, fx.dense, INT64_MAX / 2, 0),
           PAL_E_SIZE);
    EXPECT(pal_graph_add_dense(g, 1.0, PAL_F64, fx.dense, N, 2u),
           PAL_E_RANGE);
    EXPECT(pal_graph_add_dense(g, NAN, PAL_F64, fx.dense, N, 0),
           PAL_E_NONFINITE);
    EXPECT(pal_graph_add_dense(g, -INFINITY, PAL_F64, fx.dense, N, 0),
           PAL_E_NONFINITE);
    EXPECT(pal_graph_add_dense(g, 1.0, PAL_F64, fx.dense_nan, N,
                               PAL_GRAPH_CHECK_FINITE),
           PAL_E_NONFINITE);
    EXPECT(pal_graph_add_dense(g, 1.0, PAL_F64, fx.dense_inf, N,
                               PAL_GRAPH_CHECK_FINITE),
           PAL_E_NONFINITE);
    EXPECT(pal_graph_add_dense(g, 1.0, PAL_F32, fx.densef_nan, N,
                               PAL_GRAPH_CHECK_FINITE),
           PAL_E_NONFINITE);

    /* pal_graph_add_csr (malformed structures: test_graph.c). */
    EXPECT(pal_graph_add_csr(NULL, 1.0, PAL_F64, N, fx.rowptr, fx.colidx,
                             fx.csr_vals, 0),
           PAL_E_NULL);
    EXPECT(pal_graph_add_csr(g, 1.0, PAL_F64, N, NULL, fx.colidx,
                             fx.csr_vals, 0),
           PAL_E_NULL);
    EXPECT(pal_graph_add_csr(g, 1.0, PAL_F64, N, fx.rowptr, NULL,
                             fx.csr_vals, 0),
           PAL_E_NULL);
    EXPECT(pal_graph_add_csr(g, 1.0, (pal_dtype_t)0, N, fx.rowptr,
                             fx.colidx, fx.csr_vals, 0),
           PAL_E_TYPE);
    EXPECT(pal_graph_add_csr(g, 1.0, PAL_F64, -1, fx.rowptr, fx.colidx,
                             fx.csr_vals, 0),
           PAL_E_SIZE);
    EXPECT(pal_graph_add_csr(g, 1.0, PAL_F64, N * N + 1, fx.rowptr,
                             fx.colidx, fx.csr_vals, 0),
           PAL_E_SIZE);
    EXPECT(pal_graph_add_csr(g, 1.0, PAL_F64, N, fx.rowptr, fx.colidx,
                             fx.csr_vals, 8u),
           PAL_E_RANGE);
    EXPECT(pal_graph_add_csr(g, INFINITY, PAL_F64, N, fx.rowptr, fx.colidx,
                             fx.csr_vals, 0),
           PAL_E_NONFINITE);
    EXPECT(pal_graph_add_csr(g, 1.0, PAL_F64, N, fx.rowptr, fx.colidx,
                             fx.csr_nan_vals, PAL_GRAPH_CHECK_FINITE),
           PAL_E_NONFINITE);

    /* pal_graph_add_labels. */
    EXPECT(pal_graph_add_labels(NULL, 1.0, fx.labels), PAL_E_NULL);
    EXPECT(pal_graph_add_labels(g, 1.0, NULL), PAL_E_NULL);
    EXPECT(pal_graph_add_labels(g, 1.0, fx.labels_bad), PAL_E_INDEX);
    EXPECT(pal_graph_add_labels(g, NAN, fx.labels), PAL_E_NONFINITE);
    EXPECT(pal_graph_add_labels(g, INFINITY, fx.labels), PAL_E_NONFINITE);

    /* pal_graph_add_blocks. */
    EXPECT(pal_graph_add_blocks(NULL, 1.0, fx.labels, 1, ea, eb, ew),
           PAL_E_NULL);
    EXPECT(pal_graph_add_blocks(g, 1.0, NULL, 1, ea, eb, ew), PAL_E_NULL);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, 1, NULL, eb, ew),
           PAL_E_NULL);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, 1, ea, NULL, ew),
           PAL_E_NULL);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, 1, ea, eb, NULL),
           PAL_E_NULL);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, -1, ea, eb, ew),
           PAL_E_SIZE);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, 1, e_neg, eb, ew),
           PAL_E_INDEX);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, 1, ea, e_neg, ew),
           PAL_E_INDEX);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, 1, e_max, eb, ew),
           PAL_E_INDEX);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, 1, ea, e_max, ew),
           PAL_E_INDEX);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels_bad, 1, ea, eb, ew),
           PAL_E_INDEX);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels_max, 1, ea, eb, ew),
           PAL_E_INDEX);
    EXPECT(pal_graph_add_blocks(g, 1.0, fx.labels, 1, ea, eb, ew_nan),
           PAL_E_NONFINITE);
    EXPECT(pal_graph_add_blocks(g, NAN, fx.labels, 1, ea, eb, ew),
           PAL_E_NONFINITE);

    /* pal_graph_add_constant and pal_graph_add_identity. */
    EXPECT(pal_graph_add_constant(NULL, 1.0), PAL_E_NULL);
    EXPECT(pal_graph_add_constant(g, NAN), PAL_E_NONFINITE);
    EXPECT(pal_graph_add_constant(g, -INFINITY), PAL_E_NONFINITE);
    EXPECT(pal_graph_add_identity(NULL, 1.0), PAL_E_NULL);
    EXPECT(pal_graph_add_identity(g, NAN), PAL_E_NONFINITE);
    EXPECT(pal_graph_add_identity(g, INFINITY), PAL_E_NONFINITE);
    EXPECT(pal_graph_add_diagonal(NULL, 1.0, fx.diag), PAL_E_NULL);
    EXPECT(pal_graph_add_diagonal(g, 1.0, NULL), PAL_E_NULL);
    EXPECT(pal_graph_add_diagonal(g, NAN, fx.diag), PAL_E_NONFINITE);
    EXPECT(pal_graph_add_diagonal(g, 1.0, fx.diag_nan), PAL_E_NONFINITE);

    /* Builders: out stays as it was. */
    EXPECT(pal_graph_supervised(NULL, N, fx.labels, 2, NULL), PAL_E_NULL);
    EXPECT(pal_graph_supervised(&fx.gout, N, NULL, 2, NULL), PAL_E_NULL);
    EXPECT(pal_graph_supervised(&fx.gout, 0, fx.labels, 2, NULL),
           PAL_E_SIZE);
    EXPECT(pal_graph_supervised(&fx.gout, N, fx.labels, 0, NULL),
           PAL_E_SIZE);
    EXPECT(pal_graph_supervised(&fx.gout, N, fx.labels, -2, NULL),
           PAL_E_SIZE);
    EXPECT(pal_graph_supervised(&fx.gout, N, fx.labels, INT32_MAX / 2,
                                NULL),
           PAL_E_SIZE);
    EXPECT(pal_graph_supervised(&fx.gout, N, fx.labels, INT64_MAX / 2,
                                NULL),
           PAL_E_SIZE);
    EXPECT(pal_graph_supervised(&fx.gout, N, fx.labels_bad, 2, NULL),
           PAL_E_INDEX);
    EXPECT(pal_graph_ssl(NULL, N, 2, NULL, NULL), PAL_E_NULL);
    EXPECT(pal_graph_ssl(&fx.gout, 0, 2, NULL, NULL), PAL_E_SIZE);
    EXPECT(pal_graph_ssl(&fx.gout, big, 1, NULL, NULL), PAL_E_SIZE);
    EXPECT(pal_graph_ssl(&fx.gout, N, 0, NULL, NULL), PAL_E_SIZE);
    EXPECT(pal_graph_ssl(&fx.gout, N, -2, NULL, NULL), PAL_E_SIZE);
    EXPECT(pal_graph_ssl(&fx.gout, N, 4, NULL, NULL), PAL_E_SHAPE);
    EXPECT(pal_graph_ssl(&fx.gout, N, 0, fx.source_bad, NULL), PAL_E_INDEX);
    EXPECT(pal_graph_mixture(NULL, N, 0.5, 2, NULL, fx.labels, NULL),
           PAL_E_NULL);
    EXPECT(pal_graph_mixture(&fx.gout, N, 0.5, 2, NULL, NULL, NULL),
           PAL_E_NULL);
    EXPECT(pal_graph_mixture(&fx.gout, N, -0.1, 2, NULL, fx.labels, NULL),
           PAL_E_RANGE);
    EXPECT(pal_graph_mixture(&fx.gout, N, 1.5, 2, NULL, fx.labels, NULL),
           PAL_E_RANGE);
    EXPECT(pal_graph_mixture(&fx.gout, N, NAN, 2, NULL, fx.labels, NULL),
           PAL_E_RANGE);
    EXPECT(pal_graph_mixture(&fx.gout, N, 0.5, 2, NULL, fx.labels_bad, NULL),
           PAL_E_INDEX);
    EXPECT(pal_graph_mixture(&fx.gout, N, 0.5, 0, NULL, fx.labels, NULL),
           PAL_E_SIZE);
    EXPECT(pal_graph_mixture(&fx.gout, N, 0.5, 4, NULL, fx.labels, NULL),
           PAL_E_SHAPE);
    EXPECT(pal_graph_mixture(&fx.gout, N, 0.5, 0, fx.source_bad, fx.labels,
                             NULL),
           PAL_E_INDEX);
    /* A size that cannot be valid is refused before any label is read
     * (the array has 4 entries). */
    EXPECT(pal_graph_mixture(&fx.gout, big, 0.5, 1, NULL, small, NULL),
           PAL_E_SIZE);
    EXPECT(pal_graph_mixture(&fx.gout, 0, 0.5, 1, NULL, small, NULL),
           PAL_E_SIZE);

    /* Queries. */
    EXPECT(pal_graph_frobenius2(NULL, &frob), PAL_E_NULL);
    EXPECT(pal_graph_frobenius2(g, NULL), PAL_E_NULL);
    EXPECT(pal_graph_row_sums(NULL, fx.vec), PAL_E_NULL);
    EXPECT(pal_graph_row_sums(g, NULL), PAL_E_NULL);
    EXPECT(pal_graph_col_sums(NULL, fx.vec), PAL_E_NULL);
    EXPECT(pal_graph_col_sums(g, NULL), PAL_E_NULL);
    EXPECT(pal_graph_diagonal(NULL, fx.vec), PAL_E_NULL);
    EXPECT(pal_graph_diagonal(g, NULL), PAL_E_NULL);
    ck_assert_int_eq(pal_graph_n(NULL), -1);
    ck_assert_int_eq(pal_graph_n_terms(NULL), -1);

    /* pal_graph_matmul: Y untouched. */
    EXPECT(pal_graph_matmul(NULL, g, 0, PAL_F64, 4, fx.x, 4, fx.y, 4),
           PAL_E_NULL);
    EXPECT(pal_graph_matmul(fx.ctx, NULL, 0, PAL_F64, 4, fx.x, 4, fx.y, 4),
           PAL_E_NULL);
    EXPECT(pal_graph_matmul(fx.ctx, g, 0, PAL_F64, 4, NULL, 4, fx.y, 4),
           PAL_E_NULL);
    EXPECT(pal_graph_matmul(fx.ctx, g, 0, PAL_F64, 4, fx.x, 4, NULL, 4),
           PAL_E_NULL);
    EXPECT(pal_graph_matmul(fx.ctx, g, 2, PAL_F64, 4, fx.x, 4, fx.y, 4),
           PAL_E_RANGE);
    EXPECT(pal_graph_matmul(fx.ctx, g, -1, PAL_F64, 4, fx.x, 4, fx.y, 4),
           PAL_E_RANGE);
    EXPECT(pal_graph_matmul(fx.ctx, g, 0, (pal_dtype_t)0, 4, fx.x, 4, fx.y,
                            4),
           PAL_E_TYPE);
    EXPECT(pal_graph_matmul(fx.ctx, g, 0, PAL_F64, 0, fx.x, 4, fx.y, 4),
           PAL_E_SIZE);
    EXPECT(pal_graph_matmul(fx.ctx, g, 0, PAL_F64, -4, fx.x, 4, fx.y, 4),
           PAL_E_SIZE);
    EXPECT(pal_graph_matmul(fx.ctx, g, 0, PAL_F64, 4, fx.x, INT64_MAX / 2,
                            fx.y, 4),
           PAL_E_SIZE);
    EXPECT(pal_graph_matmul(fx.ctx, g, 0, PAL_F64, 4, fx.x, 3, fx.y, 4),
           PAL_E_STRIDE);
    EXPECT(pal_graph_matmul(fx.ctx, g, 1, PAL_F64, 4, fx.x, 4, fx.y, 3),
           PAL_E_STRIDE);
    EXPECT(pal_graph_matmul(fx.ctx, g, 0, PAL_F64, 4, fx.x, 4, fx.x, 4),
           PAL_E_ALIAS);
    EXPECT(pal_graph_matmul(fx.ctx, g, 1, PAL_F64, 2, fx.x, 4, fx.x + 1, 4),
           PAL_E_ALIAS);
    EXPECT(pal_graph_matmul(fx.tiny, g, 0, PAL_F64, 4, fx.x, 4, fx.y, 4),
           PAL_E_NOMEM);

    /* pal_graph_to_dense: out untouched. */
    EXPECT(pal_graph_to_dense(NULL, PAL_F64, fx.out, N), PAL_E_NULL);
    EXPECT(pal_graph_to_dense(g, PAL_F64, NULL, N), PAL_E_NULL);
    EXPECT(pal_graph_to_dense(g, (pal_dtype_t)5, fx.out, N), PAL_E_TYPE);
    EXPECT(pal_graph_to_dense(g, PAL_F64, fx.out, N - 1), PAL_E_STRIDE);

    /* Batches. */
    EXPECT(pal_batch_create(NULL, NULL), PAL_E_NULL);
    EXPECT(pal_batch_set_limit(NULL, 4, 1), PAL_E_NULL);
    EXPECT(pal_batch_set_limit(b, -1, 1), PAL_E_SIZE);
    EXPECT(pal_batch_add_pair(NULL, 0, 1, 1.0), PAL_E_NULL);
    EXPECT(pal_batch_add_pair(b, -1, 1, 1.0), PAL_E_INDEX);
    EXPECT(pal_batch_add_pair(b, 0, -5, 1.0), PAL_E_INDEX);
    EXPECT(pal_batch_add_pair(b, 0, 1, NAN), PAL_E_NONFINITE);
    EXPECT(pal_batch_add_pair(b, 0, 1, -INFINITY), PAL_E_NONFINITE);
    EXPECT(pal_batch_add_reg(NULL, 0, 1), PAL_E_NULL);
    EXPECT(pal_batch_add_reg(b, -1, 1), PAL_E_INDEX);
    EXPECT(pal_batch_add_reg(b, 1, INT64_MIN), PAL_E_INDEX);
    EXPECT(pal_batch_reserve(NULL, 1, 1), PAL_E_NULL);
    EXPECT(pal_batch_reserve(b, -1, 0), PAL_E_SIZE);
    EXPECT(pal_batch_reserve(b, 0, -1), PAL_E_SIZE);
    EXPECT(pal_batch_reserve(b, INT64_MAX, 0), PAL_E_SIZE);
    EXPECT(pal_batch_pairs(NULL, NULL, NULL, NULL, NULL), PAL_E_NULL);
    EXPECT(pal_batch_regs(NULL, NULL, NULL, NULL), PAL_E_NULL);
    ck_assert_int_eq(pal_batch_n_pairs(NULL), -1);
    ck_assert_int_eq(pal_batch_n_reg(NULL), -1);
    ck_assert_int_eq(pal_batch_n_offered_pairs(NULL), -1);
    ck_assert_int_eq(pal_batch_n_offered_reg(NULL), -1);

    run_guidance_cases();
    /* pal_store_answer_batch: a bad entry anywhere records nothing. */
    EXPECT(pal_store_answer_batch(NULL, 4, fx.si, fx.sj, fx.sa, fx.effects),
           PAL_E_NULL);
    EXPECT(pal_store_answer_batch(fx.store, 4, NULL, fx.sj, fx.sa,
                                  fx.effects),
           PAL_E_NULL);
    EXPECT(pal_store_answer_batch(fx.store, 4, fx.si, NULL, fx.sa,
                                  fx.effects),
           PAL_E_NULL);
    EXPECT(pal_store_answer_batch(fx.store, 4, fx.si, fx.sj, NULL,
                                  fx.effects),
           PAL_E_NULL);
    EXPECT(pal_store_answer_batch(fx.store, -1, fx.si, fx.sj, fx.sa,
                                  fx.effects),
           PAL_E_SIZE);
    EXPECT(pal_store_answer_batch(fx.store, INT64_MIN, fx.si, fx.sj, fx.sa,
                                  fx.effects),
           PAL_E_SIZE);
    EXPECT(pal_store_answer_batch(fx.store, 4, fx.si_bad, fx.sj, fx.sa,
                                  fx.effects),
           PAL_E_INDEX);
    EXPECT(pal_store_answer_batch(fx.store, 4, fx.si, fx.sj_bad, fx.sa,
                                  fx.effects),
           PAL_E_INDEX);
    EXPECT(pal_store_answer_batch(fx.store, 4, fx.si, fx.sj, fx.sa_bad,
                                  fx.effects),
           PAL_E_RANGE);
    EXPECT(pal_store_answer_batch(fx.store, 4, fx.si, fx.sj_bad, fx.sa_bad,
                                  NULL),
           PAL_E_INDEX);
    EXPECT(pal_store_answer_batch(fx.store, 3,
                                  (const int64_t *)((char *)fx.si + 4),
                                  fx.sj, fx.sa, fx.effects),
           PAL_E_ALIGN);
    EXPECT(pal_store_answer_batch(fx.store, 3, fx.si, fx.sj, fx.sa,
                                  (int *)((char *)fx.effects + 1)),
           PAL_E_ALIGN);
    run_sampler_cases();
}

START_TEST(error_table)
{
    setup();
    cases_run = 0;
    run_graph_cases();
    run_loss_table();
    printf("errors: %d distinct error cases checked\n", cases_run);
    teardown();
}
END_TEST

/* The dense graphs with NaN were added unchecked; with the check the
 * same additions fail and the graph keeps no term. */
START_TEST(nonfinite_graph_input)
{
    pal_graph_t *g;
    double v = 1.0;

    setup();
    ck_status(pal_graph_create(&g, N, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(g, 1.0, PAL_F64, fx.gd_nan, N,
                                  PAL_GRAPH_CHECK_FINITE),
              PAL_E_NONFINITE);
    ck_status(pal_graph_add_csr(g, 1.0, PAL_F64, N, fx.rowptr, fx.colidx,
                                fx.csr_nan_vals, PAL_GRAPH_CHECK_FINITE),
              PAL_E_NONFINITE);
    ck_assert_int_eq(pal_graph_n_terms(g), 0);
    ck_assert_int_eq(pal_graph_is_empty(g), 1);
    /* A term holding a NaN is not a zero term. */
    ck_assert_int_eq(pal_graph_is_empty(fx.g[FG_NAN]), 0);
    ck_status(pal_loss_vic2(fx.ctx, g, PAL_F64, N, K, fx.z, LDZ, NULL, &v),
              PAL_E_EMPTY);
    ck_assert(v == 1.0);
    pal_graph_destroy(g);
    teardown();
}
END_TEST

/*
 * Allocation failures (fail the 1st, 2nd, ... allocation of a call until
 * it succeeds): each failure is PAL_E_NOMEM, leaves the graph, batch or
 * outputs as they were, and nothing leaks.
 */
START_TEST(allocation_failures)
{
    talloc_t t;
    pal_allocator_t a = talloc_make(&t);
    int32_t y[N];
    int64_t src[N];
    int failures = 0;

    for (int i = 0; i < N; i++) {
        y[i] = label_value(i % 3);
        src[i] = (N - 1 - i) / 2;
    }
    setup();
    for (int op = 0; op < 10; op++) {
        for (long fail = 1;; fail++) {
            pal_graph_t *g = NULL, *out = NOT_WRITTEN(pal_graph_t);
            gsum_t before, after;
            int rc;

            t.fail_at = 0;
            ck_status(pal_graph_create(&g, N, &a), PAL_OK);
            ck_status(pal_graph_add_labels(g, 0.5, y), PAL_OK);
            ck_status(pal_graph_add_dense(g, 0.25, PAL_F64, fx.dense, N, 0),
                      PAL_OK);
            graph_summary(g, &before);
            t.calls = 0;
            t.fail_at = fail;
            switch (op) {
            case 0:
                rc = pal_graph_add_labels(g, 1.0, fx.labels);
                break;
            case 1:
                rc = pal_graph_add_csr(g, 1.0, PAL_F64, N, fx.rowptr,
                                       fx.colidx, fx.csr_vals, 0);
                break;
            case 2:
                rc = pal_graph_add_blocks(g, 1.0, fx.labels, 1,
                                          (const int32_t[]){7},
                                          (const int32_t[]){1000000},
                                          (const double[]){2.0});
                break;
            case 3:
                rc = pal_graph_add_dense(g, 1.0, PAL_F32, fx.densef, N, 0);
                break;
            case 4:
                rc = pal_graph_add_identity(g, 1.0);
                break;
            case 5:
                rc = pal_graph_add_constant(g, 1.0);
                break;
            case 6:
                rc = pal_graph_supervised(&out, 3, y, 2, &a);
                break;
            case 7:
                rc = pal_graph_ssl(&out, N, 0, src, &a);
                break;
            case 9:
                rc = pal_graph_add_diagonal(g, -1.0, fx.diag);
                break;
            default:
                rc = pal_graph_mixture(&out, N, 0.4, 2, NULL, y, &a);
                break;
            }
            t.fail_at = 0;
            if (rc == PAL_OK) {
                if (op >= 6 && op <= 8)
                    pal_graph_destroy(out);
                pal_graph_destroy(g);
                ck_assert_int_eq(t.live_blocks, 0);
                break;
            }
            ck_assert_msg(rc == PAL_E_NOMEM, "op %d fail %ld: %s", op, fail,
                          pal_status_name(rc));
            ck_assert(out == NOT_WRITTEN(pal_graph_t));
            graph_summary(g, &after);
            ck_assert_msg(memcmp(&before, &after, sizeof before) == 0,
                          "op %d, allocation %ld failed: graph changed", op,
                          fail);
            pal_graph_destroy(g);
            ck_assert_int_eq(t.live_blocks, 0);
            failures++;
        }
    }

    /* Loss workspace: the context's first allocation fails. */
    for (int loss = 0; loss < 4; loss++) {
        pal_ctx_t *ctx;
        lcall_t c;
        snapshot_t *before = xmalloc(sizeof *before);

        ck_status(pal_ctx_create(&ctx, &a), PAL_OK);
        valid_call(&c, loss, FUSED);
        c.ctx = ctx;
        if (loss == L_PAIRS)
            ck_status(pal_ctx_set_checks(ctx, PAL_CHECK_FINITE), PAL_OK);
        take(before);
        t.calls = 0;
        t.fail_at = 1;
        ck_status(run_call(&c), PAL_E_NOMEM);
        t.fail_at = 0;
        unchanged(before, "workspace allocation failure");
        ck_status(run_call(&c), PAL_OK);
        pal_ctx_destroy(ctx);
        ck_assert_int_eq(t.live_blocks, 0);
        free(before);
        failures++;
    }
    ck_assert_int_gt(failures, 20);
    teardown();
}
END_TEST

/* ---- The two-view losses ------------------------------------------------
 * Their own table: two inputs and two outputs per call. Each case runs
 * in both modes it names and must return its code with every input and
 * output byte as it was.
 */

enum { TV_VICREG, TV_NTXENT, TV_BARLOW, TV_SPECTRAL, TV_N };

#define TV_ALL 15u

typedef struct tvfix {
    double z1[N * LDZ], z2[N * LDZ], zrow[N * LDZ], zcol[N * LDZ];
    double znan[N * LDZ], zinf[N * LDZ];
    float zf1[N * LDZ], zf2[N * LDZ];
    double out[4 * N * LDDZ];
    double value;
} tvfix_t;

static tvfix_t tvx;

typedef struct tvcall {
    int loss;
    unsigned mode;
    pal_ctx_t *ctx;
    pal_dtype_t dtype;
    int64_t n, k, ld1, ld2, ldd1, ldd2;
    const void *z1, *z2;
    void *d1, *d2;
    double *value;
    const void *opts;
    union {
        pal_vicreg_opts_t vic;
        pal_ntxent_opts_t ntx;
        pal_barlow_opts_t bar;
        pal_spectral_opts_t spe;
        unsigned char raw[128];
        max_align_t align;
    } ob;
} tvcall_t;

static void tv_valid(tvcall_t *c, int loss, unsigned mode)
{
    memset(c, 0, sizeof *c);
    c->loss = loss;
    c->mode = mode;
    c->ctx = fx.ctx;
    c->dtype = PAL_F64;
    c->n = N;
    c->k = K;
    c->ld1 = c->ld2 = LDZ;
    c->ldd1 = c->ldd2 = LDDZ;
    c->z1 = tvx.z1;
    c->z2 = tvx.z2;
    c->d1 = tvx.out;
    c->d2 = tvx.out + 2 * N * LDDZ;
    c->value = &tvx.value;
    c->opts = &c->ob;
    if (loss == TV_VICREG)
        pal_vicreg_opts_init(&c->ob.vic);
    else if (loss == TV_NTXENT)
        pal_ntxent_opts_init(&c->ob.ntx);
    else if (loss == TV_BARLOW)
        pal_barlow_opts_init(&c->ob.bar);
    else
        pal_spectral_opts_init(&c->ob.spe);
}

static int tv_run(const tvcall_t *c)
{
    if (c->mode == VALUE) {
        switch (c->loss) {
        case TV_VICREG:
            return pal_loss_vicreg(c->ctx, c->dtype, c->n, c->k, c->z1,
                                   c->ld1, c->z2, c->ld2, c->opts, c->value);
        case TV_NTXENT:
            return pal_loss_ntxent(c->ctx, c->dtype, c->n, c->k, c->z1,
                                   c->ld1, c->z2, c->ld2, c->opts, c->value);
        case TV_BARLOW:
            return pal_loss_barlow(c->ctx, c->dtype, c->n, c->k, c->z1,
                                   c->ld1, c->z2, c->ld2, c->opts, c->value);
        default:
            return pal_loss_spectral(c->ctx, c->dtype, c->n, c->k, c->z1,
                                     c->ld1, c->z2, c->ld2, c->opts,
                                     c->value);
        }
    }
    switch (c->loss) {
    case TV_VICREG:
        return pal_grad_vicreg(c->ctx, c->dtype, c->n, c->k, c->z1, c->ld1,
                               c->z2, c->ld2, c->opts, c->value, c->d1,
                               c->ldd1, c->d2, c->ldd2);
    case TV_NTXENT:
        return pal_grad_ntxent(c->ctx, c->dtype, c->n, c->k, c->z1, c->ld1,
                               c->z2, c->ld2, c->opts, c->value, c->d1,
                               c->ldd1, c->d2, c->ldd2);
    case TV_BARLOW:
        return pal_grad_barlow(c->ctx, c->dtype, c->n, c->k, c->z1, c->ld1,
                               c->z2, c->ld2, c->opts, c->value, c->d1,
                               c->ldd1, c->d2, c->ldd2);
    default:
        return pal_grad_spectral(c->ctx, c->dtype, c->n, c->k, c->z1, c->ld1,
                                 c->z2, c->ld2, c->opts, c->value, c->d1,
                                 c->ldd1, c->d2, c->ldd2);
    }
}

static void t_none(tvcall_t *c) { (void)c; }
static void t_f32(tvcall_t *c)
{
    c->dtype = PAL_F32;
    c->z1 = tvx.zf1;
    c->z2 = tvx.zf2;
}
static void t_same(tvcall_t *c) { c->z2 = c->z1; }
static void t_ctx(tvcall_t *c) { c->ctx = NULL; }
static void t_z1(tvcall_t *c) { c->z1 = NULL; }
static void t_z2(tvcall_t *c) { c->z2 = NULL; }
static void t_d1(tvcall_t *c) { c->d1 = NULL; }
static void t_d2(tvcall_t *c) { c->d2 = NULL; }
static void t_value(tvcall_t *c) { c->value = NULL; }
static void t_n0(tvcall_t *c) { c->n = 0; }
static void t_nneg(tvcall_t *c) { c->n = -2; }
static void t_k0(tvcall_t *c) { c->k = 0; }
static void t_nhuge(tvcall_t *c) { c->n = (int64_t)INT32_MAX + 1; }
static void t_ld1(tvcall_t *c) { c->ld1 = K - 1; }
static void t_ld2(tvcall_t *c) { c->ld2 = 0; }
static void t_ldd1(tvcall_t *c) { c->ldd1 = K - 1; }
static void t_ldd2(tvcall_t *c) { c->ldd2 = -1; }
static void t_ld2big(tvcall_t *c) { c->ld2 = INT64_MAX / 4; }
static void t_dtype(tvcall_t *c) { c->dtype = (pal_dtype_t)3; }
static void t_misaligned(tvcall_t *c)
{
    c->z2 = (const char *)(const void *)tvx.z2 + 1;
}
static void t_d1_z1(tvcall_t *c) { c->d1 = (void *)(uintptr_t)c->z1; }
static void t_d1_z2(tvcall_t *c)
{
    /* The output area holds both inputs and outputs: finite bytes. */
    c->z2 = tvx.out + 2 * N * LDDZ;
    c->d2 = tvx.out;
    c->d1 = tvx.out + 2 * N * LDDZ + 3;
}
static void t_d2_z1(tvcall_t *c)
{
    c->z1 = tvx.out + 3 * N * LDDZ;
    c->d2 = tvx.out + 3 * N * LDDZ - 2;
    c->d1 = tvx.out;
}
static void t_d1_d2(tvcall_t *c) { c->d2 = tvx.out + N * LDDZ - 4; }
static void t_nan1(tvcall_t *c) { c->z1 = tvx.znan; }
static void t_inf2(tvcall_t *c) { c->z2 = tvx.zinf; }
static void t_nan2_checked(tvcall_t *c)
{
    c->z2 = tvx.znan;
    c->ctx = fx.checked;
}
static void t_checked(tvcall_t *c) { c->ctx = fx.checked; }
static void t_tiny(tvcall_t *c) { c->ctx = fx.tiny; }
static void t_osize0(tvcall_t *c) { c->ob.vic.size = 0; }
static void t_otail(tvcall_t *c)
{
    size_t size;

    memcpy(&size, c->ob.raw, sizeof size);
    c->ob.raw[size + 3] = 1;
    size += 16;
    memcpy(c->ob.raw, &size, sizeof size);
}
static void t_onull(tvcall_t *c) { c->opts = NULL; }
static void t_one(tvcall_t *c) { c->n = 1; }
static void t_alpha(tvcall_t *c) { c->ob.vic.alpha = -1.0; }
static void t_beta(tvcall_t *c) { c->ob.vic.beta = NAN; }
static void t_gamma(tvcall_t *c) { c->ob.vic.gamma = INFINITY; }
static void t_veps(tvcall_t *c) { c->ob.vic.eps = -1e-4; }
static void t_tau0(tvcall_t *c) { c->ob.ntx.tau = 0.0; }
static void t_taunan(tvcall_t *c) { c->ob.ntx.tau = NAN; }
static void t_sym2(tvcall_t *c) { c->ob.ntx.symmetric = 2; }
static void t_neps(tvcall_t *c) { c->ob.ntx.eps = -1.0; }
static void t_lambda(tvcall_t *c) { c->ob.bar.lambda = -0.5; }
static void t_center(tvcall_t *c) { c->ob.bar.center = -1; }
static void t_beps(tvcall_t *c) { c->ob.bar.eps = NAN; }
static void t_diag(tvcall_t *c) { c->ob.spe.diag = 2; }
static void t_zrow(tvcall_t *c)
{
    c->z2 = tvx.zrow;
    c->ob.ntx.eps = 0.0;
}
static void t_zcol(tvcall_t *c)
{
    c->z1 = tvx.zcol;
    c->ob.bar.eps = 0.0;
}

#define TVV (1u << TV_VICREG)
#define TVN (1u << TV_NTXENT)
#define TVB (1u << TV_BARLOW)
#define TVS (1u << TV_SPECTRAL)

typedef struct tvcase {
    const char *name;
    unsigned losses, modes;
    int want;
    void (*mod)(tvcall_t *c);
} tvcase_t;

static const tvcase_t tv_cases[] = {
    {"valid call", TV_ALL, BOTH, PAL_OK, t_none},
    {"valid call, f32", TV_ALL, BOTH, PAL_OK, t_f32},
    {"z1 == z2", TV_ALL, BOTH, PAL_OK, t_same},
    {"opts NULL", TV_ALL, BOTH, PAL_OK, t_onull},
    {"checks on, NaN padding", TV_ALL, BOTH, PAL_OK, t_checked},
    {"n = 1", TVN | TVS, BOTH, PAL_OK, t_one},
    {"ctx NULL", TV_ALL, BOTH, PAL_E_NULL, t_ctx},
    {"z1 NULL", TV_ALL, BOTH, PAL_E_NULL, t_z1},
    {"z2 NULL", TV_ALL, BOTH, PAL_E_NULL, t_z2},
    {"dz1 NULL", TV_ALL, FUSED, PAL_E_NULL, t_d1},
    {"dz2 NULL", TV_ALL, FUSED, PAL_E_NULL, t_d2},
    {"value NULL", TV_ALL, VALUE, PAL_E_NULL, t_value},
    {"n = 0", TV_ALL, BOTH, PAL_E_SIZE, t_n0},
    {"n < 0", TV_ALL, BOTH, PAL_E_SIZE, t_nneg},
    {"k = 0", TV_ALL, BOTH, PAL_E_SIZE, t_k0},
    {"n > INT32_MAX", TV_ALL, BOTH, PAL_E_SIZE, t_nhuge},
    {"n = 1", TVV | TVB, BOTH, PAL_E_SIZE, t_one},
    {"n * ldz2 overflows", TV_ALL, BOTH, PAL_E_SIZE, t_ld2big},
    {"ldz1 < k", TV_ALL, BOTH, PAL_E_STRIDE, t_ld1},
    {"ldz2 < k", TV_ALL, BOTH, PAL_E_STRIDE, t_ld2},
    {"lddz1 < k", TV_ALL, FUSED, PAL_E_STRIDE, t_ldd1},
    {"lddz2 < k", TV_ALL, FUSED, PAL_E_STRIDE, t_ldd2},
    {"dtype 3", TV_ALL, BOTH, PAL_E_TYPE, t_dtype},
    {"z2 misaligned", TV_ALL, BOTH, PAL_E_ALIGN, t_misaligned},
    {"dz1 == z1", TV_ALL, FUSED, PAL_E_ALIAS, t_d1_z1},
    {"dz1 overlaps z2", TV_ALL, FUSED, PAL_E_ALIAS, t_d1_z2},
    {"dz2 overlaps z1", TV_ALL, FUSED, PAL_E_ALIAS, t_d2_z1},
    {"dz1 overlaps dz2", TV_ALL, FUSED, PAL_E_ALIAS, t_d1_d2},
    {"NaN in z1", TV_ALL, BOTH, PAL_E_NONFINITE, t_nan1},
    {"infinity in z2", TV_ALL, BOTH, PAL_E_NONFINITE, t_inf2},
    {"NaN in z2, checked", TV_ALL, BOTH, PAL_E_NONFINITE, t_nan2_checked},
    {"workspace limit too small", TV_ALL, BOTH, PAL_E_NOMEM, t_tiny},
    {"opts size 0", TV_ALL, BOTH, PAL_E_RANGE, t_osize0},
    {"opts larger, non-zero tail", TV_ALL, BOTH, PAL_E_RANGE, t_otail},
    {"alpha < 0", TVV, BOTH, PAL_E_RANGE, t_alpha},
    {"beta NaN", TVV, BOTH, PAL_E_RANGE, t_beta},
    {"gamma infinite", TVV, BOTH, PAL_E_RANGE, t_gamma},
    {"vicreg eps < 0", TVV, BOTH, PAL_E_RANGE, t_veps},
    {"tau 0", TVN, BOTH, PAL_E_RANGE, t_tau0},
    {"tau NaN", TVN, BOTH, PAL_E_RANGE, t_taunan},
    {"symmetric 2", TVN, BOTH, PAL_E_RANGE, t_sym2},
    {"ntxent eps < 0", TVN, BOTH, PAL_E_RANGE, t_neps},
    {"lambda < 0", TVB, BOTH, PAL_E_RANGE, t_lambda},
    {"center -1", TVB, BOTH, PAL_E_RANGE, t_center},
    {"barlow eps NaN", TVB, BOTH, PAL_E_RANGE, t_beps},
    {"diag 2", TVS, BOTH, PAL_E_RANGE, t_diag},
    {"zero row, eps = 0", TVN, BOTH, PAL_E_ZERO_NORM, t_zrow},
    {"zero column, eps = 0", TVB, BOTH, PAL_E_ZERO_NORM, t_zcol},
};

static void tv_fixture(void)
{
    trng_t r;

    memset(&tvx, 0, sizeof tvx);
    trng_seed(&r, test_seed() + 31);
    for (int64_t q = 0; q < N * LDZ; q++)
        tvx.z1[q] = tvx.z2[q] = NAN;
    fill_normal(&r, tvx.z1, N, K, LDZ, 1.0);
    fill_normal(&r, tvx.z2, N, K, LDZ, 1.0);
    round_to_float(tvx.z1, N, K, LDZ);
    round_to_float(tvx.z2, N, K, LDZ);
    for (int64_t q = 0; q < N * LDZ; q++) {
        tvx.zf1[q] = (float)tvx.z1[q];
        tvx.zf2[q] = (float)tvx.z2[q];
    }
    memcpy(tvx.zrow, tvx.z2, sizeof tvx.zrow);
    memcpy(tvx.zcol, tvx.z1, sizeof tvx.zcol);
    memcpy(tvx.znan, tvx.z1, sizeof tvx.znan);
    memcpy(tvx.zinf, tvx.z2, sizeof tvx.zinf);
    for (int64_t c = 0; c < K; c++)
        tvx.zrow[3 * LDZ + c] = 0.0;
    for (int64_t i = 0; i < N; i++)
        tvx.zcol[i * LDZ + 2] = 0.0;
    tvx.znan[2 * LDZ + 1] = NAN;
    tvx.zinf[5 * LDZ] = INFINITY;
    memset(tvx.out, SENT, sizeof tvx.out);
    tvx.value = -4242.0;
}

START_TEST(twoview_table)
{
    static const char *const names[TV_N] = {"vicreg", "ntxent", "barlow",
                                            "spectral"};
    tvfix_t *before = xmalloc(sizeof *before);
    int errors = 0;

    setup();
    tv_fixture();
    for (size_t i = 0; i < sizeof tv_cases / sizeof tv_cases[0]; i++) {
        const tvcase_t *e = &tv_cases[i];

        for (int loss = 0; loss < TV_N; loss++) {
            for (unsigned mode = VALUE; mode <= FUSED; mode <<= 1) {
                tvcall_t c;
                int rc;

                if (!(e->losses & (1u << loss)) || !(e->modes & mode))
                    continue;
                tv_valid(&c, loss, mode);
                e->mod(&c);
                memcpy(before, &tvx, sizeof tvx);
                rc = tv_run(&c);
                ck_assert_msg(rc == e->want, "%s, %s %s: %s, expected %s",
                              e->name, names[loss],
                              mode == VALUE ? "value" : "gradient",
                              pal_status_name(rc), pal_status_name(e->want));
                if (e->want != PAL_OK) {
                    ck_assert_msg(memcmp(before, &tvx, sizeof tvx) == 0,
                                  "%s, %s %s: an input or output changed",
                                  e->name, names[loss],
                                  mode == VALUE ? "value" : "gradient");
                    errors++;
                } else {
                    memset(tvx.out, SENT, sizeof tvx.out);
                    tvx.value = -4242.0;
                }
            }
        }
    }
    printf("errors: %d two-view error cases checked\n", errors);
    free(before);
    teardown();
}
END_TEST

/* ---- The closed form, the kernel and the probe ---------------------------
 * Each case changes one argument of a valid call; the outputs (filled
 * with a byte pattern) and the inputs must be as they were. */

typedef struct spfix {
    double z[N * 8], eig[8], kmat[N * N], w[K * 4], b[4];
    double kern[N * N], kern_nan[N * N], kern_neg[N * N], huge[N * N];
    double x[N * 2], x_nan[N * 2];
    int32_t labels[N], labels_bad[N], labels_big[N];
    unsigned char train[N], none[N];
    pal_probe_result_t res;
    pal_embed_opts_t eo;
    pal_probe_opts_t po;
} spfix_t;

static spfix_t spx;
static int sp_errors;

#define SP_EXPECT(expr, want)                                               \
    do {                                                                    \
        spfix_t *before_ = xmalloc(sizeof *before_);                        \
        int rc_, want_ = (want);                                            \
                                                                            \
        memcpy(before_, &spx, sizeof spx);                                  \
        rc_ = (expr);                                                       \
        ck_assert_msg(rc_ == want_, "%s: %s, expected %s", #expr,           \
                      pal_status_name(rc_), pal_status_name(want_));        \
        if (want_ != PAL_OK) {                                              \
            ck_assert_msg(memcmp(before_, &spx, sizeof spx) == 0,           \
                          "%s: an input or output changed", #expr);         \
            sp_errors++;                                                    \
        }                                                                   \
        free(before_);                                                      \
    } while (0)

static void sp_fixture(void)
{
    trng_t r;

    memset(&spx, SENT, sizeof spx);
    trng_seed(&r, test_seed() + 40);
    fill_normal(&r, spx.x, N, 2, 2, 1.0);
    memcpy(spx.x_nan, spx.x, sizeof spx.x);
    spx.x_nan[5] = NAN;
    for (int64_t i = 0; i < N; i++) {
        for (int64_t j = 0; j < N; j++) {
            spx.kern[i * N + j] = exp(-0.5 * (double)((i - j) * (i - j)));
            spx.kern_neg[i * N + j] = i == j ? -1.0 : 0.0;
            spx.huge[i * N + j] = 1e308;
        }
        spx.labels[i] = (int32_t)(i % 3);
        spx.labels_bad[i] = spx.labels[i];
        spx.labels_big[i] = spx.labels[i];
        spx.train[i] = i != 2;
        spx.none[i] = 0;
    }
    memcpy(spx.kern_nan, spx.kern, sizeof spx.kern);
    spx.kern_nan[7] = NAN;
    spx.labels_bad[3] = -2;
    spx.labels_big[4] = 3;
    spx.res.size = sizeof spx.res;
    pal_embed_opts_init(&spx.eo);
    pal_probe_opts_init(&spx.po);
}

static int sp_embed(pal_ctx_t *ctx, const pal_graph_t *g, int dtype,
                    int64_t n, int64_t k, const pal_embed_opts_t *o, void *z,
                    int64_t ldz, double *eig)
{
    return pal_spectral_embed(ctx, g, (pal_dtype_t)dtype, n, k, o, z, ldz,
                              eig);
}

static int sp_opts(double lambda, const void *kern, int kdtype, int64_t ldk,
                   double delta)
{
    pal_embed_opts_t o;

    pal_embed_opts_init(&o);
    o.lambda = lambda;
    o.kernel = kern;
    o.kernel_dtype = (pal_dtype_t)kdtype;
    o.ldk = ldk;
    o.delta = delta;
    return pal_spectral_embed(fx.ctx, fx.g[FG_LABELS], PAL_F64, N, 3, &o,
                              spx.z, 3, spx.eig);
}

/* The solver's options: method, tolerance, limit (lambda with a kernel
 * when > 0). */
static int sp_solver(int method, double tol, int64_t max_iter, double lambda)
{
    pal_embed_opts_t o;

    pal_embed_opts_init(&o);
    o.method = (pal_embed_method_t)method;
    o.tol = tol;
    o.max_iter = max_iter;
    o.lambda = lambda;
    o.kernel = lambda > 0.0 ? spx.kern : NULL;
    return pal_spectral_embed(fx.ctx, fx.g[FG_LABELS], PAL_F64, N, 3, &o,
                              spx.z, 3, spx.eig);
}

static int sp_probe(pal_ctx_t *ctx, int dtype, int64_t n, int64_t k,
                    const void *z, int64_t ldz, const int32_t *labels,
                    int64_t nc, const unsigned char *train,
                    const pal_probe_opts_t *o, pal_probe_result_t *res,
                    double *w, int64_t ldw, double *b)
{
    return pal_linear_probe(ctx, (pal_dtype_t)dtype, n, k, z, ldz, labels,
                            nc, train, o, res, w, ldw, b);
}

START_TEST(spectral_table)
{
    pal_graph_t *lab, *gh;
    const pal_graph_t *nan_graphs[3];
    pal_ctx_t *c;
    union {
        pal_embed_opts_t eo;
        pal_probe_opts_t po;
        unsigned char raw[128];
    } big;
    double *z = spx.z, *eig = spx.eig;

    setup();
    sp_fixture();
    lab = fx.g[FG_LABELS];
    c = fx.ctx;
    nan_graphs[0] = fx.g[FG_NAN];
    nan_graphs[1] = fx.g[FG_INF];
    nan_graphs[2] = fx.g[FG_CSR_NAN];
    ck_status(pal_graph_create(&gh, N, NULL), PAL_OK);
    ck_status(pal_graph_add_dense(gh, 10.0, PAL_F64, spx.huge, N, 0),
              PAL_OK);

    /* pal_spectral_embed */
    SP_EXPECT(sp_embed(NULL, lab, PAL_F64, N, 3, NULL, z, 3, eig),
              PAL_E_NULL);
    SP_EXPECT(sp_embed(c, NULL, PAL_F64, N, 3, NULL, z, 3, eig), PAL_E_NULL);
    SP_EXPECT(sp_embed(c, lab, PAL_F64, N, 3, NULL, NULL, 3, eig),
              PAL_E_NULL);
    SP_EXPECT(sp_embed(c, lab, 3, N, 3, NULL, z, 3, eig), PAL_E_TYPE);
    SP_EXPECT(sp_embed(c, lab, PAL_F64, N, 3, NULL, (char *)z + 4, 3, eig),
              PAL_E_ALIGN);
    SP_EXPECT(sp_embed(c, lab, PAL_F64, 0, 3, NULL, z, 3, eig), PAL_E_SIZE);
    SP_EXPECT(sp_embed(c, lab, PAL_F64, N, 0, NULL, z, 3, eig), PAL_E_SIZE);
    SP_EXPECT(sp_embed(c, lab, PAL_F64, N, (int64_t)INT32_MAX + 1, NULL, z,
                       (int64_t)INT32_MAX + 1, eig),
              PAL_E_SIZE);
    SP_EXPECT(sp_embed(c, lab, PAL_F64, N, 3, NULL, z, 2, eig),
              PAL_E_STRIDE);
    SP_EXPECT(sp_embed(c, fx.g[FG_SMALL], PAL_F64, N, 3, NULL, z, 3, eig),
              PAL_E_SHAPE);
    SP_EXPECT(sp_embed(c, lab, PAL_F64, N, 3, NULL, z, 3, z + 3 * N - 1),
              PAL_E_ALIAS);
    for (int i = 0; i < 3; i++)
        SP_EXPECT(sp_embed(c, nan_graphs[i], PAL_F64, N, 3, NULL, z, 3, eig),
                  PAL_E_NONFINITE);
    SP_EXPECT(sp_embed(c, gh, PAL_F64, N, 3, NULL, z, 3, eig),
              PAL_E_OVERFLOW);
    SP_EXPECT(sp_embed(fx.tiny, lab, PAL_F64, N, 3, NULL, z, 3, eig),
              PAL_E_NOMEM);
    SP_EXPECT(sp_embed(fx.tiny, fx.g[FG_NEG_DENSE], PAL_F64, N, 3, NULL, z,
                       3, eig),
              PAL_E_NOMEM);
    memset(&big, 0, sizeof big);
    pal_embed_opts_init(&big.eo);
    big.eo.size = 0;
    SP_EXPECT(sp_embed(c, lab, PAL_F64, N, 3, &big.eo, z, 3, eig),
              PAL_E_RANGE);
    big.eo.size = sizeof big;
    big.raw[sizeof big - 1] = 1;
    SP_EXPECT(sp_embed(c, lab, PAL_F64, N, 3, &big.eo, z, 3, eig),
              PAL_E_RANGE);
    SP_EXPECT(sp_opts(-1.0, NULL, PAL_F64, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_opts(NAN, spx.kern, PAL_F64, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_opts(INFINITY, spx.kern, PAL_F64, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_opts(1.0, spx.kern, PAL_F64, 0, -0.5), PAL_E_RANGE);
    SP_EXPECT(sp_opts(1.0, spx.kern, PAL_F64, 0, NAN), PAL_E_RANGE);
    SP_EXPECT(sp_opts(1.0, NULL, PAL_F64, 0, 0.0), PAL_E_NULL);
    SP_EXPECT(sp_opts(1.0, spx.kern, 7, 0, 0.0), PAL_E_TYPE);
    SP_EXPECT(sp_opts(1.0, spx.kern, PAL_F64, N - 1, 0.0), PAL_E_STRIDE);
    SP_EXPECT(sp_opts(1.0, spx.kern, PAL_F64, -1, 0.0), PAL_E_STRIDE);
    SP_EXPECT(sp_opts(1.0, spx.kern_nan, PAL_F64, 0, 0.0), PAL_E_NONFINITE);
    /* Not positive definite: LAPACK's Cholesky reports it. */
    SP_EXPECT(sp_opts(1.0, spx.kern_neg, PAL_F64, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_opts(1.0, spx.kern, PAL_F64, 0, PAL_EMBED_DELTA_AUTO),
              PAL_OK);
    SP_EXPECT(sp_opts(0.0, NULL, PAL_F64, 0, PAL_EMBED_DELTA_AUTO), PAL_OK);
    SP_EXPECT(sp_solver(3, 0.0, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_solver(-1, 0.0, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_solver(PAL_EMBED_ITERATIVE, -1e-12, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_solver(PAL_EMBED_ITERATIVE, 1.0, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_solver(PAL_EMBED_ITERATIVE, NAN, 0, 0.0), PAL_E_RANGE);
    SP_EXPECT(sp_solver(PAL_EMBED_ITERATIVE, 0.0, -1, 0.0), PAL_E_RANGE);
    /* The iterative solver has no kernel. */
    SP_EXPECT(sp_solver(PAL_EMBED_ITERATIVE, 0.0, 0, 0.5), PAL_E_RANGE);
    SP_EXPECT(sp_solver(PAL_EMBED_DENSE, 0.0, 0, 0.5), PAL_OK);
    SP_EXPECT(sp_solver(PAL_EMBED_ITERATIVE, 1e-8, 5, 0.0), PAL_OK);
    SP_EXPECT(sp_solver(PAL_EMBED_AUTO, 0.5, 7, 0.0), PAL_OK);
    memset(spx.z, SENT, sizeof spx.z);
    memset(spx.eig, SENT, sizeof spx.eig);

    /* pal_kernel_gaussian */
    SP_EXPECT(pal_kernel_gaussian(NULL, PAL_F64, N, 2, spx.x, 2, 1.0,
                                  spx.kmat, N),
              PAL_E_NULL);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, NULL, 2, 1.0, spx.kmat,
                                  N),
              PAL_E_NULL);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x, 2, 1.0, NULL, N),
              PAL_E_NULL);
    SP_EXPECT(pal_kernel_gaussian(c, (pal_dtype_t)0, N, 2, spx.x, 2, 1.0,
                                  spx.kmat, N),
              PAL_E_TYPE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, 0, 2, spx.x, 2, 1.0, spx.kmat,
                                  N),
              PAL_E_SIZE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 0, spx.x, 2, 1.0, spx.kmat,
                                  N),
              PAL_E_SIZE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x, 1, 1.0, spx.kmat,
                                  N),
              PAL_E_STRIDE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x, 2, 1.0, spx.kmat,
                                  N - 1),
              PAL_E_STRIDE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x, 2, 1.0,
                                  (char *)spx.kmat + 2, N),
              PAL_E_ALIGN);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x, 2, 0.0, spx.kmat,
                                  N),
              PAL_E_RANGE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x, 2, -1.0,
                                  spx.kmat, N),
              PAL_E_RANGE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x, 2, NAN, spx.kmat,
                                  N),
              PAL_E_RANGE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x, 2, INFINITY,
                                  spx.kmat, N),
              PAL_E_RANGE);
    SP_EXPECT(pal_kernel_gaussian(c, PAL_F64, N, 2, spx.x_nan, 2, 1.0,
                                  spx.kmat, N),
              PAL_E_NONFINITE);
    SP_EXPECT(pal_kernel_gaussian(fx.tiny, PAL_F64, N, 2, spx.x, 2, 1.0,
                                  spx.kmat, N),
              PAL_E_NOMEM);

    /* pal_linear_probe */
#define PROBE(ctx_, z_, ldz_, lab_, nc_, tr_, o_, res_, w_, ldw_, b_)       \
    sp_probe(ctx_, PAL_F64, N, 2, z_, ldz_, lab_, nc_, tr_, o_, res_, w_,   \
             ldw_, b_)
    SP_EXPECT(PROBE(NULL, spx.x, 2, spx.labels, 3, spx.train, NULL, &spx.res,
                    spx.w, 4, spx.b),
              PAL_E_NULL);
    SP_EXPECT(PROBE(c, NULL, 2, spx.labels, 3, spx.train, NULL, &spx.res,
                    spx.w, 4, spx.b),
              PAL_E_NULL);
    SP_EXPECT(PROBE(c, spx.x, 2, NULL, 3, spx.train, NULL, &spx.res, spx.w,
                    4, spx.b),
              PAL_E_NULL);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, NULL, NULL,
                    spx.w, 4, spx.b),
              PAL_E_NULL);
    SP_EXPECT(sp_probe(c, 9, N, 2, spx.x, 2, spx.labels, 3, NULL, NULL,
                       &spx.res, NULL, 0, NULL),
              PAL_E_TYPE);
    SP_EXPECT(sp_probe(c, PAL_F64, 0, 2, spx.x, 2, spx.labels, 3, NULL,
                       NULL, &spx.res, NULL, 0, NULL),
              PAL_E_SIZE);
    SP_EXPECT(sp_probe(c, PAL_F64, N, 0, spx.x, 2, spx.labels, 3, NULL,
                       NULL, &spx.res, NULL, 0, NULL),
              PAL_E_SIZE);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 0, spx.train, NULL, &spx.res,
                    spx.w, 4, spx.b),
              PAL_E_SIZE);
    spx.res.size = sizeof spx.res - 1;
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, NULL, &spx.res,
                    spx.w, 4, spx.b),
              PAL_E_SIZE);
    spx.res.size = sizeof spx.res;
    SP_EXPECT(PROBE(c, spx.x, 1, spx.labels, 3, spx.train, NULL, &spx.res,
                    spx.w, 4, spx.b),
              PAL_E_STRIDE);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, NULL, &spx.res,
                    spx.w, 2, spx.b),
              PAL_E_STRIDE);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, NULL, &spx.res,
                    spx.w, 4, spx.w + 5),
              PAL_E_ALIAS);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, NULL, &spx.res,
                    spx.w, 4, (double *)(void *)((char *)spx.b + 1)),
              PAL_E_ALIGN);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels_bad, 3, spx.train, NULL,
                    &spx.res, spx.w, 4, spx.b),
              PAL_E_INDEX);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels_big, 3, spx.train, NULL,
                    &spx.res, spx.w, 4, spx.b),
              PAL_E_INDEX);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.none, NULL, &spx.res,
                    spx.w, 4, spx.b),
              PAL_E_EMPTY);
    SP_EXPECT(PROBE(c, spx.x_nan, 2, spx.labels, 3, spx.train, NULL,
                    &spx.res, spx.w, 4, spx.b),
              PAL_E_NONFINITE);
    SP_EXPECT(PROBE(fx.tiny, spx.x, 2, spx.labels, 3, spx.train, NULL,
                    &spx.res, spx.w, 4, spx.b),
              PAL_E_NOMEM);
    spx.po.ridge = -1.0;
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, &spx.po,
                    &spx.res, spx.w, 4, spx.b),
              PAL_E_RANGE);
    spx.po.ridge = NAN;
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, &spx.po,
                    &spx.res, spx.w, 4, spx.b),
              PAL_E_RANGE);
    spx.po.ridge = 0.0;
    spx.po.bias = 2;
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, &spx.po,
                    &spx.res, spx.w, 4, spx.b),
              PAL_E_RANGE);
    spx.po.bias = 1;
    memset(&big, 0, sizeof big);
    pal_probe_opts_init(&big.po);
    big.po.size = 3;
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, &big.po,
                    &spx.res, spx.w, 4, spx.b),
              PAL_E_RANGE);
    SP_EXPECT(PROBE(c, spx.x, 2, spx.labels, 3, spx.train, &spx.po,
                    &spx.res, spx.w, 4, spx.b),
              PAL_OK);
#undef PROBE

    printf("errors: %d spectral error cases checked\n", sp_errors);
    pal_graph_destroy(gh);
    teardown();
}
END_TEST

Suite *suite_errors(void);
Suite *suite_errors(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("errors");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, error_table);
    tcase_add_test(tc, nonfinite_graph_input);
    tcase_add_test(tc, allocation_failures);
    tcase_add_test(tc, twoview_table);
    tcase_add_test(tc, spectral_table);
    suite_add_tcase(s, tc);
    return s;
}
