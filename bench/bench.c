/*
 * make bench: libpal's losses and store against the unit of issue 4 and
 * against PyTorch autograd, on the same inputs, in one run.
 *
 * The unit U is one BLIS gemm of an N x N matrix by an N x K one, at the
 * same N, K, type and thread count as the row, measured in the same run.
 * For every configuration (N, K, type, threads) the repetitions alternate:
 * U, then each workload's libpal call, then its PyTorch pass, so that a
 * drift of the machine touches all three alike; each column is a median.
 *
 * Nothing is timed before it is verified: each workload's value and
 * gradient are first compared with PyTorch's on the same inputs, or, where
 * PyTorch is skipped, with a libpal result that was (the same problem at
 * one thread, or in the other type), and every timed repetition must
 * return the verified value and gradient again.
 *
 * Usage: bench [--quick] [--only grid|large|store] [--stream-f64]
 *              [--no-torch] [--budget SECONDS] [--dir DIR]
 *              [--grid N,K]
 *              [--python PATH] [--script PATH]
 *        bench --plot-from CSV [--dir DIR]
 *
 * --quick          small sizes, for CI (about a minute)
 * --only PART      the grid of N and K, the N = 65,536 rows, or the store
 * --stream-f64     run the streamed float64 SimCLR at every thread count
 *                  (by default each runs only if the time budget allows)
 * --no-torch       leave PyTorch out (as when it cannot be started):
 *                  every result is then verified against reference.c
 * --budget SECONDS the full run's time budget (840 s; 0: none)
 * --grid N,K       the grid holds only this one configuration
 * --torch-max-n N  largest N for PyTorch on dense graphs and for the
 *                  streamed rows' full check (4,096; give it after --quick)
 * --plot-from CSV  only write the plot data of an earlier run's CSV
 */
#define _POSIX_C_SOURCE 200809L

#include <blis.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_REPS 9
#define WAKE_S 0.002
#define MAX_WORK 12
#define MAX_ROWS 512
#define MIB (1024.0 * 1024.0)

/* ---- The plan ------------------------------------------------------------ */

typedef struct plan {
    int quick;
    int64_t grid[8][2];         /* (N, K) configurations */
    int n_grid;
    int64_t big_n, big_k;       /* streamed SimCLR and the large CSR */
    int64_t csr_n;              /* the small CSR size: big_n / 4 */
    int threads[2];
    int n_threads;
    /* The streamed float64 runs take minutes each: 0 leaves them out,
     * 1 runs them, 2 runs each if the time budget still allows it. */
    int stream_f64;
    double budget;              /* seconds for the whole run, 0: none */
    double start;               /* bench_now() at start */
    int64_t store_items, store_answers;
    double rep_budget;          /* seconds of libpal + U per configuration */
    double long_round;          /* a round longer than this: 2 repetitions */
    double torch_budget;        /* seconds of PyTorch per workload */
    int64_t torch_max_n;        /* largest N for PyTorch on dense graphs */
    int64_t torch_once_n;       /* up to this N, one pass (f32, 1 thread) */
    int torch_ok;               /* the PyTorch workers started */
    int64_t ref_max_n;          /* largest N for reference.c's SimCLR */
    const char *dir, *python, *script;
    unsigned parts;             /* 1 grid, 2 large, 4 store */
} plan_t;

static void plan_init(plan_t *p, int quick)
{
    static const int64_t full[][2] = {
        {1024, 128}, {4096, 128}, {16384, 128}, {4096, 32}, {4096, 512}};
    static const int64_t small[][2] = {
        {256, 32}, {512, 32}, {512, 8}, {512, 64}};
    const int64_t(*g)[2] = quick ? small : full;

    memset(p, 0, sizeof *p);
    p->quick = quick;
    p->n_grid = quick ? 4 : 5;
    for (int i = 0; i < p->n_grid; i++) {
        p->grid[i][0] = g[i][0];
        p->grid[i][1] = g[i][1];
    }
    p->big_n = quick ? 2048 : 65536;
    p->big_k = quick ? 32 : 128;
    p->csr_n = p->big_n / 4;
    p->threads[0] = 1;
    p->threads[1] = 2;
    p->n_threads = 2;
    p->stream_f64 = quick ? 1 : 2;
    p->budget = quick ? 0.0 : 840.0;
    p->parts = 7;
    p->store_items = quick ? 100000 : 1000000;
    p->store_answers = quick ? 100000 : 1000000;
    p->rep_budget = quick ? 0.2 : 1.5;
    p->long_round = 10.0;
    p->torch_budget = quick ? 0.2 : 0.5;
    p->torch_max_n = 4096;
    p->torch_once_n = quick ? 4096 : 16384;
    p->torch_ok = 1;
    p->ref_max_n = 16384;
    p->dir = "build/bench";
    p->python = "/usr/bin/python3";
    p->script = "bench/torch_ref.py";
}

/* ---- Results ------------------------------------------------------------- */

typedef struct row {
    const char *section;        /* "grid", "stream", "csr" */
    const char *loss, *graph;
    pal_dtype_t dt;
    int threads;
    int64_t n, k;
    int reps, torch_reps;
    double unit, pal, torch;    /* medians in seconds; torch < 0: none */
    double target;              /* in U; 0: no target on this row */
    double rss_mib, rss_limit_mib;
    int verified;
    char against[48];           /* what the result was verified against */
    double err_value, err_grad;
    double other, steal;        /* cores used by other processes, and
                                   stolen by the hypervisor, meanwhile */
    char note[96];
} row_t;

/*
 * The machine is shared: a meter measures how many cores the rest of it
 * (other processes; the hypervisor's steal) took during a measurement, as
 * the machine's busy time from /proc/stat minus the benchmark's own.
 */
typedef struct meter {
    double wall, own, busy, steal;
} meter_t;

static pid_t watched[2];        /* the PyTorch workers */
static int n_watched;

static void meter_start(meter_t *m)
{
    m->wall = bench_now();
    m->own = bench_cpu_own(watched, n_watched);
    m->busy = bench_cpu_machine(&m->steal);
}

/* Cores used by others since meter_start; *steal: cores stolen. */
static double meter_other(const meter_t *m, double *steal)
{
    meter_t e;
    double t, o;

    meter_start(&e);
    t = e.wall - m->wall;
    if (t <= 0.0) {
        *steal = 0.0;
        return 0.0;
    }
    *steal = (e.steal - m->steal) / t;
    o = ((e.busy - m->busy) - (e.own - m->own)) / t;
    return o > 0.0 ? o : 0.0;
}

static meter_t run_meter;      /* the whole run */

static row_t rows[MAX_ROWS];
static int n_rows;
static FILE *csv;

static row_t *new_row(void)
{
    if (n_rows == MAX_ROWS)
        bench_die("too many rows");
    memset(&rows[n_rows], 0, sizeof rows[n_rows]);
    rows[n_rows].torch = -1.0;
    return &rows[n_rows++];
}

/* The target for a row, in units of U (0: none). */
static double row_target(const char *loss, const char *graph)
{
    double base = strcmp(loss, "simclr") == 0 ? 2.5 : 1.15;

    if (strcmp(graph, "dense-sym") == 0)
        return base;
    if (strcmp(graph, "dense-ns") == 0)
        return base + 1.0;
    if (strcmp(graph, "labels10") == 0 || strcmp(graph, "ssl") == 0)
        return 0.05;
    if (strcmp(graph, "labels10-streamed") == 0)
        return 3.0;
    return 0.0;
}

static void print_header(void)
{
    printf("%-7s %-17s %-4s %3s %6s %4s %3s %10s %10s %7s %-11s "
           "%10s %8s %5s  %s\n",
           "loss", "graph", "type", "thr", "N", "K", "rep", "U (s)",
           "libpal (s)", "ratio", "target", "torch (s)", "speedup", "other",
           "verified against (value, gradient error)");
}

static void print_row(const row_t *r)
{
    char target[24] = "", torch[24] = "-", speed[16] = "-";
    char unit[16] = "-", ratio_s[16] = "-";
    double ratio = r->pal / r->unit;

    if (!r->verified) {
        printf("%-7s %-17s %-4s %3d %6lld %4lld  NOT VERIFIED: %s "
               "(no time reported)\n",
               r->loss, r->graph, bench_dtype_name(r->dt), r->threads,
               (long long)r->n, (long long)r->k, r->note);
        return;
    }
    if (r->unit > 0.0) {
        snprintf(unit, sizeof unit, "%10.4g", r->unit);
        snprintf(ratio_s, sizeof ratio_s, "%7.3f", ratio);
    }
    if (r->target > 0.0)
        snprintf(target, sizeof target, "%-4g %s", r->target,
                 ratio <= r->target ? "pass" : "MISS");
    if (r->torch >= 0.0) {
        snprintf(torch, sizeof torch, "%10.4g", r->torch);
        snprintf(speed, sizeof speed, "%7.1fx", r->torch / r->pal);
    }
    printf("%-7s %-17s %-4s %3d %6lld %4lld %3d %10s %10.4g %7s %-11s "
           "%10s %8s %5.2f  %s (%.1e, %.1e)%s%s\n",
           r->loss, r->graph, bench_dtype_name(r->dt), r->threads,
           (long long)r->n, (long long)r->k, r->reps, unit, r->pal, ratio_s,
           target, torch, speed, r->other, r->against, r->err_value,
           r->err_grad, r->note[0] ? "; " : "", r->note);
    if (r->rss_limit_mib > 0.0)
        printf("%-7s %-17s peak resident %.1f MiB, target 3 x size(Z) + "
               "64 MiB = %.1f MiB: %s\n",
               "", "", r->rss_mib, r->rss_limit_mib,
               r->rss_mib <= r->rss_limit_mib ? "pass" : "MISS");
    fflush(stdout);
}

static void csv_row(const row_t *r)
{
    fprintf(csv,
            "%s,%s,%s,%s,%d,%lld,%lld,%d,%.6g,%.6g,%.6g,%g,%s,%d,",
            r->section, r->loss, r->graph, bench_dtype_name(r->dt),
            r->threads, (long long)r->n, (long long)r->k, r->reps,
            r->verified && r->unit > 0.0 ? r->unit : NAN,
            r->verified ? r->pal : NAN,
            r->verified ? r->pal / r->unit : NAN, r->target,
            r->target <= 0.0  ? ""
            : !r->verified    ? "unverified"
            : r->pal / r->unit <= r->target ? "pass"
                                            : "miss",
            r->torch_reps);
    if (r->torch >= 0.0 && r->verified)
        fprintf(csv, "%.6g,%.6g,", r->torch, r->torch / r->pal);
    else
        fprintf(csv, ",,");
    if (r->rss_limit_mib > 0.0)
        fprintf(csv, "%.1f,%.1f,", r->rss_mib, r->rss_limit_mib);
    else
        fprintf(csv, ",,");
    fprintf(csv, "\"%s\",%.3g,%.3g,%.2f,%.2f,\"%s\"\n",
            r->verified ? r->against : "none", r->err_value, r->err_grad,
            r->other, r->steal, r->note);
    fflush(csv);
}

static void emit(row_t *r)
{
    print_row(r);
    csv_row(r);
}

/* ---- Workloads ----------------------------------------------------------- */

/* One loss on one graph. Its verified results live across the runs of a
 * configuration (both types, both thread counts): later runs that
 * PyTorch skips are checked against them. */
typedef struct work {
    const char *loss, *graph;
    const char *tgraph;         /* the graph's name in the PyTorch worker */
    pal_graph_t *g;
    void *dz;                   /* the gradient of the current run */
    double value, check;        /* its value and checksum */
    void *ref[3];               /* first verified gradient, per type */
    double ref_value[3];
    int ref_threads[3];
    double t_pal[MAX_REPS + 1], t_torch[MAX_REPS];
    double t_first;             /* the first call, which is verified */
    int warm_first;             /* it did not grow the workspace */
    int n_pal, n_torch, torch_reps;
    int verified;
    const char *skip;           /* why PyTorch is not run, or NULL */
    char against[48], note[96];
    double err_value, err_grad;
} work_t;

static double tol_value(pal_dtype_t dt)
{
    return dt == PAL_F32 ? 1e-4 : 1e-10;
}

static double tol_grad(pal_dtype_t dt)
{
    return dt == PAL_F32 ? 2e-3 : 1e-8;
}

static int call_pal(pal_ctx_t *ctx, const work_t *w, pal_dtype_t dt,
                    int64_t n, int64_t k, const void *z, double *value,
                    void *dz)
{
    if (strcmp(w->loss, "vic2") == 0)
        return pal_grad_vic2(ctx, w->g, dt, n, k, z, k, NULL, value, dz, k);
    if (strcmp(w->loss, "bt") == 0)
        return pal_grad_bt(ctx, w->g, dt, n, k, z, k, NULL, value, dz, k);
    return pal_grad_simclr(ctx, w->g, dt, n, k, z, k, NULL, value, dz, k);
}

/* Inputs of one configuration in one type. */
typedef struct inputs {
    pal_dtype_t dt;
    int64_t n, k;
    void *z, *gsym, *gns, *out;
    int32_t *labels, *ssl;
    bench_csr_t csr;            /* csr.n == 0 when there is none */
} inputs_t;

static void path(char *buf, size_t size, const plan_t *p, const char *name)
{
    snprintf(buf, size, "%s/%s", p->dir, name);
}

static int is_dense_torch(const work_t *w)
{
    /* PyTorch takes every graph but the CSR one as a dense tensor. */
    return strcmp(w->graph, "csr16") != 0;
}

/* Why PyTorch does not run this workload, or NULL if it does. */
static const char *torch_skip(const plan_t *p, const inputs_t *in,
                              int threads, const bench_torch_t *t,
                              const work_t *w)
{
    if (!t || t->pid <= 0)
        return "PyTorch not run";
    if (!is_dense_torch(w) || in->n <= p->torch_max_n)
        return NULL;
    /* For PyTorch the SSL graph is a dense tensor like the label graph:
     * one of them shows its cost; reference.c verifies the other. */
    if (strcmp(w->graph, "ssl") == 0)
        return "PyTorch left out at this N (see labels10)";
    if (in->n <= p->torch_once_n && in->dt == PAL_F32 &&
        threads == p->threads[0])
        return NULL;
    /* Ten dense N x N passes of PyTorch take about a minute per type and
     * thread count at N = 16,384, and float64 would need over 16 GiB. */
    return in->dt == PAL_F64 ? "PyTorch skipped (float64 at this N)"
                             : "PyTorch run at 1 thread only at this N";
}

static void write_inputs(const plan_t *p, const inputs_t *in, int dense)
{
    const size_t elem = pal_dtype_size(in->dt);
    const size_t nn = (size_t)in->n * (size_t)in->n * elem;
    char f[600];

    path(f, sizeof f, p, "z.bin");
    bench_write(f, in->z, (size_t)in->n * (size_t)in->k * elem);
    if (dense) {
        path(f, sizeof f, p, "gsym.bin");
        bench_write(f, in->gsym, nn);
        path(f, sizeof f, p, "gns.bin");
        bench_write(f, in->gns, nn);
    }
    if (in->labels) {
        path(f, sizeof f, p, "labels.bin");
        bench_write(f, in->labels, (size_t)in->n * sizeof(int32_t));
    }
    if (in->ssl) {
        path(f, sizeof f, p, "ssl.bin");
        bench_write(f, in->ssl, (size_t)in->n * sizeof(int32_t));
    }
    if (in->csr.n > 0) {
        path(f, sizeof f, p, "csr_ptr.bin");
        bench_write(f, in->csr.ptr, (size_t)(in->n + 1) * sizeof(int64_t));
        path(f, sizeof f, p, "csr_idx.bin");
        bench_write(f, in->csr.idx, (size_t)in->csr.nnz * sizeof(int32_t));
        path(f, sizeof f, p, "csr_val.bin");
        bench_write(f, in->csr.val, (size_t)in->csr.nnz * elem);
    }
}

static void remove_inputs(const plan_t *p)
{
    static const char *names[] = {"z.bin",       "gsym.bin",    "gns.bin",
                                  "labels.bin",  "ssl.bin",     "grad.bin",
                                  "csr_ptr.bin", "csr_idx.bin", "csr_val.bin"};
    char f[600];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        path(f, sizeof f, p, names[i]);
        unlink(f);
    }
}

/* Hand the written inputs to a PyTorch worker: Z always, the dense and
 * label graphs if `dense`, the CSR graph if there is one. */
static int torch_load(bench_torch_t *t, const plan_t *p, const inputs_t *in,
                      int dense)
{
    const char *dt = bench_dtype_name(in->dt);
    const long long n = (long long)in->n, k = (long long)in->k;
    char reply[512], f[3][600];
    int rc;

    rc = bench_torch_cmd(t, reply, sizeof reply, "clear");
    path(f[0], sizeof f[0], p, "z.bin");
    rc |= bench_torch_cmd(t, reply, sizeof reply, "load z z %s %lld %lld %s",
                          dt, n, k, f[0]);
    if (dense) {
        path(f[0], sizeof f[0], p, "gsym.bin");
        path(f[1], sizeof f[1], p, "gns.bin");
        rc |= bench_torch_cmd(t, reply, sizeof reply,
                              "load gsym dense %s %lld %lld %s", dt, n, k,
                              f[0]);
        rc |= bench_torch_cmd(t, reply, sizeof reply,
                              "load gns dense %s %lld %lld %s", dt, n, k,
                              f[1]);
    }
    if (dense) {
        path(f[0], sizeof f[0], p, "labels.bin");
        path(f[1], sizeof f[1], p, "ssl.bin");
        rc |= bench_torch_cmd(t, reply, sizeof reply,
                              "load labels10 labels %s %lld %lld %s", dt, n,
                              k, f[0]);
        if (in->ssl)
            rc |= bench_torch_cmd(t, reply, sizeof reply,
                                  "load ssl labels %s %lld %lld %s", dt, n,
                                  k, f[1]);
    }
    if (in->csr.n > 0) {
        path(f[0], sizeof f[0], p, "csr_ptr.bin");
        path(f[1], sizeof f[1], p, "csr_idx.bin");
        path(f[2], sizeof f[2], p, "csr_val.bin");
        rc |= bench_torch_cmd(t, reply, sizeof reply,
                              "load csr16 csr %s %lld %lld %s %s %s", dt, n,
                              k, f[0], f[1], f[2]);
    }
    if (rc != 0)
        fprintf(stderr, "bench: PyTorch could not load the inputs: %s\n",
                reply);
    return rc;
}

/*
 * A pause when the machine passes from one process to the other at more
 * than one thread: the OpenMP threads of the process that just worked
 * spin for a few milliseconds before they sleep (libgomp's default), and
 * would take a core from the first milliseconds of the next measurement.
 */
static void settle(int threads)
{
    struct timespec ts = {0, 15000000};

    if (threads > 1)
        nanosleep(&ts, NULL);
}

/* One PyTorch pass; its gradient goes to grad.bin when asked. */
static int torch_pass(bench_torch_t *t, const plan_t *p, const work_t *w,
                      int want_grad, double *seconds, double *value,
                      char *err, size_t size)
{
    char reply[512], f[600];
    int rc;

    path(f, sizeof f, p, "grad.bin");
    settle(t->threads);
    rc = bench_torch_cmd(t, reply, sizeof reply,
                         "run %s %s z tau=0.1 lambda=1%s%s", w->loss,
                         w->tgraph, want_grad ? " grad=" : "",
                         want_grad ? f : "");
    if (rc != 0 || sscanf(reply, "ok %lf %lf", seconds, value) != 2) {
        snprintf(err, size, "PyTorch: %.80s", reply);
        return -1;
    }
    return 0;
}

/* Compare the current result of w with PyTorch's (fills t_torch[0]) or,
 * when PyTorch is skipped, with an earlier verified libpal result on the
 * same inputs: the same type at the first thread count, or else the
 * other type at the float32 tolerance. */
static void refgraph(const inputs_t *in, const work_t *w,
                     bench_refgraph_t *g)
{
    memset(g, 0, sizeof *g);
    g->dt = in->dt;
    if (strcmp(w->graph, "dense-sym") == 0 ||
        strcmp(w->graph, "dense-ns") == 0) {
        g->kind = BENCH_REF_DENSE;
        g->dense = strcmp(w->graph, "dense-sym") == 0 ? in->gsym : in->gns;
    } else if (strcmp(w->graph, "csr16") == 0) {
        g->kind = BENCH_REF_CSR;
        g->csr = &in->csr;
    } else {
        g->kind = BENCH_REF_LABELS;
        g->labels = strcmp(w->graph, "ssl") == 0 ? in->ssl : in->labels;
    }
}

/* Compare the current result of w with reference.c's. */
static void verify_reference(const inputs_t *in, const plan_t *p,
                             work_t *w)
{
    const size_t count = (size_t)in->n * (size_t)in->k;
    double *mine = bench_alloc(count * sizeof *mine);
    double *ref = bench_alloc(count * sizeof *ref);
    bench_refgraph_t g;
    double rv;

    refgraph(in, w, &g);
    bench_reference(w->loss, &g, in->dt, in->n, in->k, in->z,
                    p->threads[p->n_threads - 1], &rv, ref);
    bench_convert(PAL_F64, in->dt, count, w->dz, mine);
    w->err_grad = bench_rel_diff(PAL_F64, in->n, in->k, mine, ref);
    w->err_value = fabs(w->value - rv) / fmax(fabs(rv), 1e-300);
    snprintf(w->against, sizeof w->against, "float64 reference");
    free(mine);
    free(ref);
}

static void verify(const plan_t *p, const inputs_t *in, int threads,
                   bench_torch_t *t, work_t *w)
{
    const int64_t n = in->n, k = in->k;
    const size_t count = (size_t)n * (size_t)k;
    const int other = in->dt == PAL_F32 ? PAL_F64 : PAL_F32;
    int use = in->dt;
    pal_dtype_t tol = in->dt;

    w->verified = 0;
    w->note[0] = '\0';
    if (!w->skip) {
        double tv, secs;
        char f[600];
        void *tg;

        if (torch_pass(t, p, w, 1, &secs, &tv, w->note, sizeof w->note))
            return;
        path(f, sizeof f, p, "grad.bin");
        tg = bench_read(f, count * pal_dtype_size(in->dt));
        w->err_value = fabs(w->value - tv) / fmax(fabs(tv), 1e-300);
        w->err_grad = bench_rel_diff(in->dt, n, k, w->dz, tg);
        free(tg);
        w->t_torch[0] = secs;
        snprintf(w->against, sizeof w->against, "PyTorch");
    } else if (!w->ref[use] &&
               (!p->torch_ok || !w->ref[other]) &&
               (strcmp(w->loss, "simclr") != 0 || in->n <= p->ref_max_n)) {
        /* No PyTorch, or nothing verified on these inputs yet: the
         * float64 reference. */
        verify_reference(in, p, w);
    } else {
        double *mine, *ref;

        if (!w->ref[use]) {
            use = other;
            tol = PAL_F32;
        }
        if (!w->ref[use]) {
            snprintf(w->note, sizeof w->note, "no reference (%s)", w->skip);
            return;
        }
        /* Both sides in float64, so that the types can meet. */
        mine = bench_alloc(count * sizeof *mine);
        ref = bench_alloc(count * sizeof *ref);
        bench_convert(PAL_F64, in->dt, count, w->dz, mine);
        bench_convert(PAL_F64, (pal_dtype_t)use, count, w->ref[use], ref);
        w->err_grad = bench_rel_diff(PAL_F64, n, k, mine, ref);
        w->err_value = fabs(w->value - w->ref_value[use]) /
                       fmax(fabs(w->ref_value[use]), 1e-300);
        free(mine);
        free(ref);
        snprintf(w->against, sizeof w->against, "libpal %s %d thr",
                 bench_dtype_name((pal_dtype_t)use), w->ref_threads[use]);
    }
    w->verified = w->err_value <= tol_value(tol) &&
                  w->err_grad <= tol_grad(tol);
    if (!w->verified)
        snprintf(w->note, sizeof w->note,
                 "differs from %s: value %.3g, gradient %.3g", w->against,
                 w->err_value, w->err_grad);
    else if (!w->ref[in->dt]) {
        w->ref[in->dt] = bench_alloc(count * pal_dtype_size(in->dt));
        memcpy(w->ref[in->dt], w->dz, count * pal_dtype_size(in->dt));
        w->ref_value[in->dt] = w->value;
        w->ref_threads[in->dt] = threads;
    }
}

static int clamp_int(double x, int lo, int hi)
{
    return x < lo ? lo : x > hi ? hi : (int)x;
}

/*
 * One configuration (N, K, type) at one thread count: verify every
 * workload, then alternate U, libpal and PyTorch for the repetitions.
 */
static void run_config(const plan_t *p, const inputs_t *in, work_t *works,
                       int n_works, pal_ctx_t *ctx, int threads,
                       bench_torch_t *t, double given_unit)
{
    const int64_t n = in->n, k = in->k;
    double unit[MAX_REPS + 1], est, t0, other, steal, first_unit = 0.0;
    int reps, n_unit = 0, long_run, any_dense = 0, any_torch = 0;
    meter_t meter;

    meter_start(&meter);

    for (int i = 0; i < n_works; i++) {
        works[i].skip = torch_skip(p, in, threads, t, &works[i]);
        any_torch |= !works[i].skip;
        any_dense |= !works[i].skip && is_dense_torch(&works[i]);
    }
    if (any_torch && torch_load(t, p, in, any_dense) != 0)
        bench_die("the PyTorch worker failed");

    /* The first call of each workload: its result is verified; its time
     * (with the workspace growing) only sizes the repetitions. */
    est = 0.0;
    if (given_unit == 0.0) {
        t0 = bench_now();
        bench_unit(in->dt, threads, n, k, in->gsym, n, in->z, in->out);
        est = first_unit = bench_now() - t0;
    }
    for (int i = 0; i < n_works; i++) {
        work_t *w = &works[i];
        const size_t ws = pal_ctx_workspace_size(ctx);
        int rc;

        w->n_pal = w->n_torch = 0;
        w->torch_reps = 0;
        t0 = bench_now();
        rc = call_pal(ctx, w, in->dt, n, k, in->z, &w->value, w->dz);
        w->t_first = bench_now() - t0;
        w->warm_first = pal_ctx_workspace_size(ctx) == ws;
        est += w->t_first;
        if (rc != PAL_OK) {
            w->verified = 0;
            snprintf(w->note, sizeof w->note, "libpal: %s",
                     pal_status_name(rc));
            continue;
        }
        w->check = bench_checksum(in->dt, n, k, w->dz);
        verify(p, in, threads, t, w);
    }
    /* 3 to 9 rounds within the budget. Where one round is long (N =
     * 16,384), one round, to keep the whole run near 15 minutes; there
     * the first calls count too, U's always and libpal's when the
     * workspace did not grow during it (a warm call like the others). */
    long_run = est > p->long_round;
    reps = long_run ? 1 : clamp_int(p->rep_budget / est, 3, MAX_REPS);
    if (long_run && given_unit == 0.0)
        unit[n_unit++] = first_unit;
    for (int i = 0; i < n_works && long_run; i++)
        if (works[i].verified && works[i].warm_first)
            works[i].t_pal[works[i].n_pal++] = works[i].t_first;
    for (int i = 0; i < n_works; i++) {
        work_t *w = &works[i];

        if (!w->verified || w->skip)
            continue;
        /* A pass that alone exceeds the budget is timed once: the
         * verification pass is that sample (PyTorch on the CPU keeps no
         * warm state across passes at these sizes). */
        if (w->t_torch[0] > p->torch_budget) {
            w->n_torch = 1;
            w->torch_reps = 1;
        } else {
            w->torch_reps = clamp_int(p->torch_budget / w->t_torch[0], 1,
                                      reps);
        }
    }

    for (int r = 0; r < reps; r++) {
        /* Where the unit takes long (N = 65,536), the caller measured
         * it once in this run and passes it in, or passes -1 for none. */
        bench_wake(threads, WAKE_S);
        unit[n_unit++] = given_unit > 0.0   ? given_unit
                         : given_unit < 0.0 ? NAN
                                            : bench_unit(in->dt, threads, n,
                                                         k, in->gsym, n,
                                                         in->z, in->out);
        for (int i = 0; i < n_works; i++) {
            work_t *w = &works[i];
            double v, secs;
            int rc;

            if (!w->verified)
                continue;
            bench_wake(threads, WAKE_S);
            t0 = bench_now();
            rc = call_pal(ctx, w, in->dt, n, k, in->z, &v, w->dz);
            w->t_pal[w->n_pal++] = bench_now() - t0;
            /* Every timed result must be the verified one again. */
            if (rc != PAL_OK || v != w->value ||
                bench_checksum(in->dt, n, k, w->dz) != w->check) {
                w->verified = 0;
                snprintf(w->note, sizeof w->note,
                         "repetition %d returned another result", r);
                continue;
            }
            if (w->n_torch < w->torch_reps) {
                if (torch_pass(t, p, w, 0, &secs, &v, w->note,
                               sizeof w->note) != 0)
                    bench_die("%s", w->note);
                w->t_torch[w->n_torch++] = secs;
            }
        }
    }

    other = meter_other(&meter, &steal);
    for (int i = 0; i < n_works; i++) {
        work_t *w = &works[i];
        row_t *row = new_row();
        double u[MAX_REPS + 1];

        memcpy(u, unit, sizeof u);
        row->section = given_unit != 0.0 ? "large" : "grid";
        row->loss = w->loss;
        row->graph = w->graph;
        row->dt = in->dt;
        row->threads = threads;
        row->n = n;
        row->k = k;
        row->reps = w->verified ? w->n_pal : reps;
        row->unit = bench_median(u, n_unit);
        row->verified = w->verified;
        row->target = row_target(w->loss, w->graph);
        row->other = other;
        row->steal = steal;
        if (w->verified) {
            row->pal = bench_median(w->t_pal, w->n_pal);
            if (w->n_torch > 0)
                row->torch = bench_median(w->t_torch, w->n_torch);
            row->torch_reps = w->n_torch;
            snprintf(row->against, sizeof row->against, "%s", w->against);
            row->err_value = w->err_value;
            row->err_grad = w->err_grad;
        }
        snprintf(row->note, sizeof row->note, "%s",
                 w->verified && w->skip && strcmp(w->skip, "PyTorch not run")
                     ? w->skip
                     : w->note);
        emit(row);
    }
    pal_ctx_release_workspace(ctx);
}

static void add_work(work_t *works, int *n, const char *loss,
                     const char *graph, const char *tgraph)
{
    work_t *w = &works[(*n)++];

    memset(w, 0, sizeof *w);
    w->loss = loss;
    w->graph = graph;
    w->tgraph = tgraph;
}

static void check_pal(int rc, const char *what)
{
    if (rc != PAL_OK)
        bench_die("%s: %s", what, pal_status_message(rc));
}

/* Make the inputs of (N, K) in one type and the graphs over them. */
static void make_inputs(const plan_t *p, pal_dtype_t dt, int64_t n,
                        int64_t k, inputs_t *in, work_t *works, int n_works)
{
    const size_t elem = pal_dtype_size(dt);

    memset(in, 0, sizeof *in);
    in->dt = dt;
    in->n = n;
    in->k = k;
    in->z = bench_alloc((size_t)n * (size_t)k * elem);
    in->out = bench_alloc((size_t)n * (size_t)k * elem);
    in->gsym = bench_alloc((size_t)n * (size_t)n * elem);
    in->gns = bench_alloc((size_t)n * (size_t)n * elem);
    in->labels = bench_alloc((size_t)n * sizeof *in->labels);
    in->ssl = bench_alloc((size_t)n * sizeof *in->ssl);
    bench_fill_z(dt, n, k, 11, in->z);
    bench_fill_dense(dt, n, 1, 12, in->gsym);
    bench_fill_dense(dt, n, 0, 13, in->gns);
    bench_fill_labels(n, 10, 14, in->labels);
    for (int64_t i = 0; i < n; i++)
        in->ssl[i] = (int32_t)(i / 2);
    if (n == p->csr_n && k == p->big_k)
        bench_csr_make(dt, n, 15, &in->csr);

    for (int i = 0; i < n_works; i++) {
        work_t *w = &works[i];
        pal_graph_t *g;

        w->dz = bench_alloc((size_t)n * (size_t)k * elem);
        if (strcmp(w->graph, "ssl") == 0) {
            check_pal(pal_graph_ssl(&g, n, 2, NULL, NULL), "ssl graph");
        } else {
            check_pal(pal_graph_create(&g, n, NULL), "graph");
            if (strcmp(w->graph, "dense-sym") == 0)
                check_pal(pal_graph_add_dense(g, 1.0, dt, in->gsym, n, 0),
                          "dense graph");
            else if (strcmp(w->graph, "dense-ns") == 0)
                check_pal(pal_graph_add_dense(g, 1.0, dt, in->gns, n, 0),
                          "dense graph");
            else if (strcmp(w->graph, "labels10") == 0)
                check_pal(pal_graph_add_labels(g, 1.0, in->labels),
                          "label graph");
            else
                check_pal(pal_graph_add_csr(g, 1.0, dt, in->csr.nnz,
                                            in->csr.ptr, in->csr.idx,
                                            in->csr.val, 0),
                          "CSR graph");
        }
        w->g = g;
    }
}

static void free_inputs(inputs_t *in, work_t *works, int n_works)
{
    for (int i = 0; i < n_works; i++) {
        pal_graph_destroy(works[i].g);
        free(works[i].dz);
        works[i].g = NULL;
        works[i].dz = NULL;
    }
    free(in->z);
    free(in->out);
    free(in->gsym);
    free(in->gns);
    free(in->labels);
    free(in->ssl);
    if (in->csr.n > 0)
        bench_csr_free(&in->csr);
    memset(in, 0, sizeof *in);
}

static void run_grid(const plan_t *p, pal_ctx_t **ctx, bench_torch_t *torch)
{
    for (int c = 0; c < p->n_grid; c++) {
        const int64_t n = p->grid[c][0], k = p->grid[c][1];
        work_t works[MAX_WORK];
        int nw = 0;

        add_work(works, &nw, "vic2", "dense-sym", "gsym");
        add_work(works, &nw, "bt", "dense-sym", "gsym");
        add_work(works, &nw, "simclr", "dense-sym", "gsym");
        add_work(works, &nw, "vic2", "dense-ns", "gns");
        add_work(works, &nw, "bt", "dense-ns", "gns");
        add_work(works, &nw, "simclr", "dense-ns", "gns");
        add_work(works, &nw, "vic2", "labels10", "labels10");
        add_work(works, &nw, "bt", "labels10", "labels10");
        add_work(works, &nw, "vic2", "ssl", "ssl");
        add_work(works, &nw, "bt", "ssl", "ssl");
        if (n == p->csr_n && k == p->big_k) {
            add_work(works, &nw, "vic2", "csr16", "csr16");
            add_work(works, &nw, "bt", "csr16", "csr16");
        }
        for (int d = 0; d < 2; d++) {
            const pal_dtype_t dt = d == 0 ? PAL_F32 : PAL_F64;
            inputs_t in;
            int dense = 0, any = 0;

            make_inputs(p, dt, n, k, &in, works, nw);
            for (int ti = 0; ti < p->n_threads; ti++) {
                for (int i = 0; i < nw; i++) {
                    const char *s = torch_skip(p, &in, p->threads[ti],
                                               &torch[ti], &works[i]);

                    any |= !s;
                    dense |= !s && is_dense_torch(&works[i]);
                }
            }
            if (any)
                write_inputs(p, &in, dense);
            for (int ti = 0; ti < p->n_threads; ti++)
                run_config(p, &in, works, nw, ctx[ti], p->threads[ti],
                           &torch[ti], 0.0);
            for (int ti = 0; ti < p->n_threads; ti++)
                if (torch[ti].pid > 0)
                    bench_torch_cmd(&torch[ti], (char[64]){0}, 64, "clear");
            free_inputs(&in, works, nw);
            remove_inputs(p);
        }
        for (int i = 0; i < nw; i++)
            for (int d = 0; d < 3; d++)
                free(works[i].ref[d]);
    }
}

/* ---- N = 65,536: streamed SimCLR, peak memory, the large CSR graph ------- */

typedef struct stream_run {
    pal_dtype_t dt;
    int threads, reps;
    double unit[MAX_REPS], secs[MAX_REPS];
    bench_stream_res_t res;     /* of the last repetition */
    long maxrss_kib;            /* over the repetitions */
    char grad[600];
    row_t row;
} stream_run_t;

#define STREAM_SEED_Z 21
#define STREAM_SEED_Y 24
#define SAMPLED_ROWS 256

/* reference.c's value and gradient rows for the streamed rows at N =
 * 65,536, computed once (Z holds the same numbers in both types). */
static struct {
    int done;
    double value;
    int64_t rows[SAMPLED_ROWS];
    double *dz;                 /* SAMPLED_ROWS x K */
} big_ref;

static void big_ref_make(const plan_t *p, const inputs_t *in)
{
    const int64_t n = in->n, k = in->k;
    bench_refgraph_t g = {BENCH_REF_LABELS, in->dt, NULL, in->labels, NULL};
    double t0 = bench_now();

    for (int r = 0; r < SAMPLED_ROWS; r++)
        big_ref.rows[r] = (int64_t)r * (n / SAMPLED_ROWS) +
                          (int64_t)(bench_hash(51, (uint64_t)r) %
                                    (uint64_t)(n / SAMPLED_ROWS));
    big_ref.dz = bench_alloc((size_t)SAMPLED_ROWS * (size_t)k *
                             sizeof *big_ref.dz);
    bench_reference_simclr_rows(&g, in->dt, n, k, in->z,
                                p->threads[p->n_threads - 1], big_ref.rows,
                                SAMPLED_ROWS, &big_ref.value, big_ref.dz);
    big_ref.done = 1;
    printf("(reference for the streamed rows: the value and %d gradient "
           "rows in float64, %.0f s)\n", SAMPLED_ROWS, bench_now() - t0);
    fflush(stdout);
}

/* Verify streamed run s against PyTorch (t) or reference.c (in), when N
 * allows it, or else against the run of the other type (at the float32
 * tolerance). */
static void verify_stream(const plan_t *p, stream_run_t *runs, int n_runs,
                          stream_run_t *s, bench_torch_t *t,
                          const inputs_t *in)
{
    const int64_t n = p->big_n, k = p->big_k;
    const size_t count = (size_t)n * (size_t)k;
    row_t *r = &s->row;
    double *mine = bench_alloc(count * sizeof *mine);
    void *a = bench_read(s->grad, count * pal_dtype_size(s->dt));
    stream_run_t *o = NULL;

    r->verified = 0;
    bench_convert(PAL_F64, s->dt, count, a, mine);
    free(a);
    if (t) {
        double tv, secs;
        char f[600], reply[512];
        void *tg;

        path(f, sizeof f, p, "grad.bin");
        if (bench_torch_cmd(t, reply, sizeof reply,
                            "run simclr labels10 z tau=0.1 grad=%s", f) ||
            sscanf(reply, "ok %lf %lf", &secs, &tv) != 2) {
            snprintf(r->note, sizeof r->note, "PyTorch: %.80s", reply);
            free(mine);
            return;
        }
        tg = bench_read(f, count * pal_dtype_size(s->dt));
        a = bench_alloc(count * sizeof(double));
        bench_convert(PAL_F64, s->dt, count, tg, a);
        free(tg);
        r->err_grad = bench_rel_diff(PAL_F64, n, k, mine, a);
        r->err_value = fabs(s->res.loss - tv) / fabs(tv);
        snprintf(r->against, sizeof r->against, "PyTorch");
        r->torch = secs;
        r->torch_reps = 1;
        free(a);
        r->verified = r->err_value <= tol_value(s->dt) &&
                      r->err_grad <= tol_grad(s->dt);
    } else if (in) {
        bench_refgraph_t g = {BENCH_REF_LABELS, s->dt, NULL, in->labels,
                              NULL};
        double rv;

        a = bench_alloc(count * sizeof(double));
        bench_reference("simclr", &g, s->dt, n, k, in->z,
                        p->threads[p->n_threads - 1], &rv, a);
        r->err_grad = bench_rel_diff(PAL_F64, n, k, mine, a);
        r->err_value = fabs(s->res.loss - rv) / fabs(rv);
        snprintf(r->against, sizeof r->against, "float64 reference");
        free(a);
        r->verified = r->err_value <= tol_value(s->dt) &&
                      r->err_grad <= tol_grad(s->dt);
    } else if (big_ref.done) {
        /* The value in full and the sampled rows of the gradient. */
        double *mr = bench_alloc((size_t)SAMPLED_ROWS * (size_t)k *
                                 sizeof *mr);

        for (int j = 0; j < SAMPLED_ROWS; j++)
            memcpy(mr + (size_t)j * (size_t)k,
                   mine + (size_t)big_ref.rows[j] * (size_t)k,
                   (size_t)k * sizeof *mr);
        r->err_grad = bench_rel_diff(PAL_F64, SAMPLED_ROWS, k, mr,
                                     big_ref.dz);
        r->err_value = fabs(s->res.loss - big_ref.value) /
                       fabs(big_ref.value);
        snprintf(r->against, sizeof r->against,
                 "float64 reference, %d rows", SAMPLED_ROWS);
        free(mr);
        r->verified = r->err_value <= tol_value(s->dt) &&
                      r->err_grad <= tol_grad(s->dt);
    } else {
        for (int i = 0; i < n_runs && !o; i++)
            if (runs[i].dt != s->dt && runs[i].res.rc == PAL_OK)
                o = &runs[i];
        if (o) {
            double *ref = bench_alloc(count * sizeof *ref);

            a = bench_read(o->grad, count * pal_dtype_size(o->dt));
            bench_convert(PAL_F64, o->dt, count, a, ref);
            free(a);
            r->err_grad = bench_rel_diff(PAL_F64, n, k, mine, ref);
            r->err_value = fabs(s->res.loss - o->res.loss) /
                           fabs(o->res.loss);
            snprintf(r->against, sizeof r->against,
                     "libpal %s %d thr streamed", bench_dtype_name(o->dt),
                     o->threads);
            free(ref);
            r->verified = r->err_value <= tol_value(PAL_F32) &&
                          r->err_grad <= tol_grad(PAL_F32);
        }
    }
    if (!r->verified && !r->note[0])
        snprintf(r->note, sizeof r->note,
                 o || t || in || big_ref.done ? "differs: value %.3g, gradient %.3g"
                        : "no reference",
                 r->err_value, r->err_grad);
    free(mine);
}

/* Is the streamed float64 run at `threads` in the plan? NULL if it is,
 * else why not. The projection doubles the float32 run's unit and
 * SimCLR times at the same thread count. */
static const char *stream_f64_skip(const plan_t *p, const stream_run_t *runs,
                                   int n_runs, int threads, char *buf,
                                   size_t size)
{
    double need = -1.0, left;

    if (p->stream_f64 == 1)
        return NULL;
    if (p->stream_f64 == 0)
        return "left out of the plan";
    for (int i = 0; i < n_runs; i++)
        if (runs[i].dt == PAL_F32 && runs[i].threads == threads &&
            runs[i].res.rc == PAL_OK)
            need = 2.0 * (runs[i].row.unit + runs[i].row.pal);
    left = p->budget - (bench_now() - p->start);
    if (p->budget <= 0.0 || (need >= 0.0 && need + 30.0 < left))
        return NULL;
    snprintf(buf, size,
             "left out: about %.0f s, %.0f s left of the %.0f s budget "
             "(--stream-f64 forces it)",
             need, left, p->budget);
    return buf;
}

/* A streamed SimCLR measurement: U (by row blocks) and the child, in
 * alternation, `reps` times. */
static void stream_measure(const plan_t *p, stream_run_t *s, pal_dtype_t dt,
                           int threads, const void *a, int64_t rows_a,
                           const inputs_t *in)
{
    const int64_t n = p->big_n, k = p->big_k;
    const size_t elem = pal_dtype_size(dt);
    const size_t zbytes = (size_t)n * (size_t)k * elem;
    bench_stream_req_t q;
    double u[MAX_REPS];
    meter_t meter;

    memset(s, 0, sizeof *s);
    meter_start(&meter);
    s->dt = dt;
    s->threads = threads;
    s->reps = p->quick ? 3 : 1;
    memset(&q, 0, sizeof q);
    q.dtype = dt;
    q.threads = threads;
    q.n = n;
    q.k = k;
    q.seed_z = STREAM_SEED_Z;
    q.seed_y = STREAM_SEED_Y;
    q.classes = 10;
    q.tau = 0.1;
    /* Room for libpal's two n x k working copies and its per-row
     * vectors, and about 64 MiB for the tiles of S (a quarter of S at
     * the quick sizes, so that S is streamed there too). */
    q.limit = (size_t)n * (size_t)n * elem / 4;
    if (q.limit > ((size_t)64 << 20))
        q.limit = (size_t)64 << 20;
    q.limit += 2 * zbytes + (size_t)n * 64;
    snprintf(q.grad_path, sizeof q.grad_path, "%s/stream_%s_%d.bin", p->dir,
             bench_dtype_name(dt), threads);
    snprintf(s->grad, sizeof s->grad, "%s", q.grad_path);
    for (int r = 0; r < s->reps; r++) {
        s->unit[r] = bench_unit(dt, threads, n, k, a, rows_a, in->z,
                                in->out);
        bench_spawner_run(&q, &s->res);
        if (s->res.rc != PAL_OK)
            break;
        s->secs[r] = s->res.seconds;
        if (s->res.maxrss_kib > s->maxrss_kib)
            s->maxrss_kib = s->res.maxrss_kib;
    }

    s->row.section = "stream";
    s->row.loss = "simclr";
    s->row.graph = "labels10-streamed";
    s->row.dt = dt;
    s->row.threads = threads;
    s->row.n = n;
    s->row.k = k;
    s->row.reps = s->reps;
    s->row.torch = -1.0;
    s->row.target = row_target("simclr", "labels10-streamed");
    s->row.other = meter_other(&meter, &s->row.steal);
    memcpy(u, s->unit, sizeof u);
    s->row.unit = bench_median(u, s->reps);
    if (s->res.rc != PAL_OK) {
        snprintf(s->row.note, sizeof s->row.note, "streamed child: %s",
                 s->res.rc == -1000 ? "died" : pal_status_name(s->res.rc));
        return;
    }
    if (s->res.workspace >= (size_t)n * (size_t)n * elem)
        bench_die("the streamed run held S whole (workspace %zu)",
                  s->res.workspace);
    s->row.pal = bench_median(s->secs, s->reps);
    s->row.rss_mib = (double)s->maxrss_kib / 1024.0;
    s->row.rss_limit_mib = 3.0 * (double)zbytes / MIB + 64.0;
    snprintf(s->row.note, sizeof s->row.note, "workspace %.1f MiB",
             (double)s->res.workspace / MIB);
}

static void run_big(const plan_t *p, pal_ctx_t **ctx, bench_torch_t *torch)
{
    const int64_t n = p->big_n, k = p->big_k;
    const int64_t rows_a = n > 16384 ? 1024 : n;
    /* Up to this N the streamed rows are checked against PyTorch, or
     * reference.c without it; above, the two types against each other. */
    const int small_stream = n <= p->torch_max_n;
    const int torch_stream = small_stream && p->torch_ok;
    stream_run_t runs[4];
    int n_runs = 0;

    for (int d = 0; d < 2; d++) {
        const pal_dtype_t dt = d == 0 ? PAL_F32 : PAL_F64;
        const size_t elem = pal_dtype_size(dt);
        const size_t zbytes = (size_t)n * (size_t)k * elem;
        void *a = NULL;
        inputs_t in;
        work_t works[2];
        int nw = 0;
        char f[600];

        memset(&in, 0, sizeof in);
        in.dt = dt;
        in.n = n;
        in.k = k;
        in.z = bench_alloc(zbytes);
        in.out = bench_alloc(zbytes);
        bench_fill_z(dt, n, k, STREAM_SEED_Z, in.z);
        bench_csr_make(dt, n, 15, &in.csr);
        add_work(works, &nw, "vic2", "csr16", "csr16");
        add_work(works, &nw, "bt", "csr16", "csr16");
        for (int i = 0; i < nw; i++) {
            works[i].dz = bench_alloc(zbytes);
            check_pal(pal_graph_create(&works[i].g, n, NULL), "graph");
            check_pal(pal_graph_add_csr(works[i].g, 1.0, dt, in.csr.nnz,
                                        in.csr.ptr, in.csr.idx, in.csr.val,
                                        0),
                      "CSR graph");
        }
        in.labels = bench_alloc((size_t)n * sizeof *in.labels);
        bench_fill_labels(n, 10, STREAM_SEED_Y, in.labels);
        write_inputs(p, &in, 0);

        for (int ti = 0; ti < p->n_threads; ti++) {
            const int threads = p->threads[ti];
            const char *skip = NULL;
            double unit = -1.0;
            char why[160];

            if (dt == PAL_F64)
                skip = stream_f64_skip(p, runs, n_runs, threads, why,
                                       sizeof why);
            if (skip) {
                printf("%-7s %-17s %-4s %3d %6lld %4lld      %s\n",
                       "simclr", "labels10-streamed", "f64", threads,
                       (long long)n, (long long)k, skip);
                fprintf(csv, "stream,simclr,labels10-streamed,f64,%d,%lld,"
                        "%lld,0,,,,3,skipped,,,,,,none,,,,,\"%s\"\n",
                        threads, (long long)n, (long long)k, skip);
            } else {
                stream_run_t *s = &runs[n_runs++];

                if (!a) {
                    /* The unit's A: a block of rows, reused. */
                    a = bench_alloc((size_t)rows_a * (size_t)n * elem);
                    bench_fill_z(dt, rows_a, n, 31, a);
                }
                stream_measure(p, s, dt, threads, a, rows_a, &in);
                unit = s->res.rc == PAL_OK ? s->row.unit : -1.0;
                if (torch_stream && s->res.rc == PAL_OK) {
                    char reply[64];

                    path(f, sizeof f, p, "labels.bin");
                    bench_torch_cmd(&torch[ti], reply, sizeof reply,
                                    "clear");
                    bench_torch_cmd(&torch[ti], reply, sizeof reply,
                                    "load z z %s %lld %lld %s/z.bin",
                                    bench_dtype_name(dt), (long long)n,
                                    (long long)k, p->dir);
                    bench_torch_cmd(&torch[ti], reply, sizeof reply,
                                    "load labels10 labels %s %lld %lld %s",
                                    bench_dtype_name(dt), (long long)n,
                                    (long long)k, f);
                    verify_stream(p, runs, n_runs, s, &torch[ti], NULL);
                } else if (small_stream && s->res.rc == PAL_OK) {
                    verify_stream(p, runs, n_runs, s, NULL, &in);
                }
            }

            /* The large CSR rows, against the unit just measured (none
             * when the streamed run was left out). */
            run_config(p, &in, works, nw, ctx[ti], threads, &torch[ti],
                       unit);
        }
        if (!small_stream && !big_ref.done && n_runs > 0)
            big_ref_make(p, &in);
        for (int i = 0; i < nw; i++) {
            pal_graph_destroy(works[i].g);
            free(works[i].dz);
            for (int r = 0; r < 3; r++)
                free(works[i].ref[r]);
        }
        for (int ti = 0; ti < p->n_threads; ti++)
            if (torch[ti].pid > 0)
                bench_torch_cmd(&torch[ti], (char[64]){0}, 64, "clear");
        bench_csr_free(&in.csr);
        free(in.labels);
        free(in.z);
        free(in.out);
        free(a);
        remove_inputs(p);
    }

    /* The streamed rows, once every run can serve as the others'
     * reference. */
    for (int i = 0; i < n_runs; i++)
        if (!small_stream && runs[i].res.rc == PAL_OK)
            verify_stream(p, runs, n_runs, &runs[i], NULL, NULL);
    for (int i = 0; i < n_runs; i++) {
        *new_row() = runs[i].row;
        emit(&rows[n_rows - 1]);
        unlink(runs[i].grad);
    }
    free(big_ref.dz);
    big_ref.dz = NULL;
}

/* ---- The knowledge store ------------------------------------------------- */

/* store_res[2 * stream + path]: path 0 the batch call, 1 single calls. */
static bench_store_res_t store_res[4];

static void run_store(const plan_t *p)
{
    for (int q = 0; q < 4; q++) {
        bench_store_res_t *r = &store_res[q];
        const char *calls = q % 2 == 0 ? "batch" : "answer";

        bench_store_run(q / 2, q % 2 == 0, p->store_items, p->store_answers,
                        5, 41 + q / 2, r);
        if (!r->verified) {
            printf("store   %-17s %-6s NOT VERIFIED: %s (no rate reported)\n",
                   r->name, r->path, r->check);
            fprintf(csv, "store,%s,%s,,1,%lld,,%d,,,,,unverified,,,,,,"
                    "none,,,,,\"%s\"\n", calls, r->name,
                    (long long)r->items, r->reps, r->check);
            continue;
        }
        printf("store   %-17s %-6s %lld answers on %lld items: median "
               "%.4g s (%.4g s of CPU), %.3g answers/s (target 5e6: %s); "
               "verified: %s\n",
               r->name, r->path, (long long)r->answers, (long long)r->items,
               r->seconds, r->cpu_seconds, r->rate,
               r->rate >= 5e6 ? "pass" : "MISS", r->check);
        fprintf(csv, "store,%s,%s,,1,%lld,,%d,,%.6g,,,%s,,,,,,"
                "invariants,,,,,\"%.6g answers/s (%.4g s of CPU)\"\n",
                calls, r->name, (long long)r->items, r->reps, r->seconds,
                r->rate >= 5e6 ? "pass" : "miss", r->rate,
                r->cpu_seconds);
    }
}

/* ---- Summary ------------------------------------------------------------- */

typedef struct target {
    const char *title, *loss, *graph;
    double bound;
} target_t;

static const target_t targets[] = {
    {"VIC^2, dense symmetric G", "vic2", "dense-sym", 1.15},
    {"BarlowTwins, dense symmetric G", "bt", "dense-sym", 1.15},
    {"SimCLR, dense symmetric G, all in memory", "simclr", "dense-sym", 2.5},
    {"SimCLR, streamed tiles, N = 65,536, K = 128", "simclr",
     "labels10-streamed", 3.0},
    {"VIC^2, non-symmetric dense G (+1 U)", "vic2", "dense-ns", 2.15},
    {"BarlowTwins, non-symmetric dense G (+1 U)", "bt", "dense-ns", 2.15},
    {"SimCLR, non-symmetric dense G (+1 U)", "simclr", "dense-ns", 3.5},
    {"VIC^2, label graph C = 10", "vic2", "labels10", 0.05},
    {"BarlowTwins, label graph C = 10", "bt", "labels10", 0.05},
    {"VIC^2, SSL graph", "vic2", "ssl", 0.05},
    {"BarlowTwins, SSL graph", "bt", "ssl", 0.05},
};

static int row_is(const row_t *r, const char *loss, const char *graph,
                  pal_dtype_t dt)
{
    return r->dt == dt && strcmp(r->loss, loss) == 0 &&
           strcmp(r->graph, graph) == 0;
}

/* The summary goes to the terminal and to summary.txt beside the CSV. */
static FILE *summary_file;

static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (summary_file) {
        va_start(ap, fmt);
        vfprintf(summary_file, fmt, ap);
        va_end(ap);
    }
}

static void verdict(int pass, int any)
{
    say("%s\n", !any ? "NO DATA" : pass ? "pass" : "MISS");
}

static void summary(const plan_t *p)
{
    char f[600];

    double other, steal;

    path(f, sizeof f, p, p->quick ? "summary_quick.txt" : "summary.txt");
    summary_file = fopen(f, "w");
    other = meter_other(&run_meter, &steal);
    say("\nSummary (the worst row decides; 'rows pass' counts rows "
        "within the target)\n");
    say("run: %.0f s on %ld cores; other processes used %.2f cores on "
        "average meanwhile, the hypervisor stole %.2f\n",
        bench_now() - p->start, sysconf(_SC_NPROCESSORS_ONLN), other, steal);
    if (p->quick)
        say("quick mode: small sizes (N <= %lld, %lld store items); the "
            "targets are set for the full sizes, so these verdicts are "
            "indicative only\n",
            (long long)p->big_n, (long long)p->store_items);
    for (int d = 0; d < 2; d++) {
        const pal_dtype_t dt = d == 0 ? PAL_F32 : PAL_F64;

        for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
            const target_t *g = &targets[t];
            const row_t *worst = NULL;
            int total = 0, ok = 0;

            for (int i = 0; i < n_rows; i++) {
                const row_t *r = &rows[i];

                if (!row_is(r, g->loss, g->graph, dt) || !r->verified)
                    continue;
                total++;
                ok += r->pal / r->unit <= g->bound;
                if (!worst || r->pal / r->unit > worst->pal / worst->unit)
                    worst = r;
            }
            char title[64];

            /* The streamed target names its size: the plan's, in quick
             * mode a smaller one. */
            if (strcmp(g->graph, "labels10-streamed") == 0)
                snprintf(title, sizeof title,
                         "SimCLR, streamed tiles, N = %lld, K = %lld",
                         (long long)p->big_n, (long long)p->big_k);
            else
                snprintf(title, sizeof title, "%s", g->title);
            say("target %-45s %s <= %-4g U : ", title, bench_dtype_name(dt),
                g->bound);
            if (worst)
                say("measured %.3f U (worst: N=%lld K=%lld %d thr; "
                    "%d/%d rows pass) ",
                    worst->pal / worst->unit, (long long)worst->n,
                    (long long)worst->k, worst->threads, ok, total);
            verdict(worst && ok == total, worst != NULL);
        }

        /* Peak memory of the streamed runs. */
        {
            const row_t *worst = NULL;

            for (int i = 0; i < n_rows; i++) {
                const row_t *r = &rows[i];

                if (row_is(r, "simclr", "labels10-streamed", dt) &&
                    r->rss_limit_mib > 0.0 &&
                    (!worst || r->rss_mib > worst->rss_mib))
                    worst = r;
            }
            say("target %-45s %s <= 3 size(Z) + 64 MiB : ",
                "SimCLR, streamed tiles, peak resident memory",
                bench_dtype_name(dt));
            if (worst)
                say("measured %.1f MiB, limit %.1f MiB ", worst->rss_mib,
                    worst->rss_limit_mib);
            verdict(worst && worst->rss_mib <= worst->rss_limit_mib,
                    worst != NULL);
        }

        /* Structured graphs against PyTorch on the dense G. */
        {
            const row_t *worst = NULL;

            for (int i = 0; i < n_rows; i++) {
                const row_t *r = &rows[i];

                if (r->dt == dt && r->verified && r->torch > 0.0 &&
                    (strcmp(r->graph, "labels10") == 0 ||
                     strcmp(r->graph, "ssl") == 0) &&
                    (!worst ||
                     r->torch / r->pal < worst->torch / worst->pal))
                    worst = r;
            }
            say("target %-45s %s >= 100x    : ",
                "label and SSL graphs vs PyTorch with dense G",
                bench_dtype_name(dt));
            if (worst)
                say("measured %.3gx (worst: %s %s N=%lld K=%lld %d thr) ",
                    worst->torch / worst->pal, worst->loss, worst->graph,
                    (long long)worst->n, (long long)worst->k,
                    worst->threads);
            verdict(worst && worst->torch / worst->pal >= 100.0,
                    worst != NULL);
        }

        /* Sparse graphs: time from N = big / 4 to N = big. */
        for (int l = 0; l < 2; l++) {
            const char *loss = l == 0 ? "vic2" : "bt";
            double worst = 0.0;
            int worst_t = 0, any = 0;

            for (int i = 0; i < n_rows; i++) {
                const row_t *big = &rows[i];

                if (!row_is(big, loss, "csr16", dt) || !big->verified ||
                    big->n != p->big_n)
                    continue;
                for (int j = 0; j < n_rows; j++) {
                    const row_t *sm = &rows[j];

                    if (row_is(sm, loss, "csr16", dt) && sm->verified &&
                        sm->n == p->csr_n && sm->threads == big->threads &&
                        big->pal / sm->pal > worst) {
                        worst = big->pal / sm->pal;
                        worst_t = big->threads;
                        any = 1;
                    }
                }
            }
            say("target %-45s %s <= 4.4x    : ",
                l == 0 ? "VIC^2, CSR 16/row, N x4 costs"
                       : "BarlowTwins, CSR 16/row, N x4 costs",
                bench_dtype_name(dt));
            if (any)
                say("measured %.2fx (worst: %d thr, N %lld -> %lld) ",
                    worst, worst_t, (long long)p->csr_n,
                    (long long)p->big_n);
            verdict(any && worst <= 4.4, any);
        }
    }
    if (p->parts & 4) {
        double rate = INFINITY;
        int any = 1;

        double single = INFINITY;

        /* Judged on the batch call; single calls reported beside it. */
        for (int s = 0; s < 2; s++) {
            any &= store_res[2 * s].verified && store_res[2 * s + 1].verified;
            if (store_res[2 * s].rate < rate)
                rate = store_res[2 * s].rate;
            if (store_res[2 * s + 1].rate < single)
                single = store_res[2 * s + 1].rate;
        }
        say("target %-45s     >= 5e6/s   : ", "knowledge store answers");
        if (any)
            say("measured %.3g answers/s with pal_store_answer_batch, "
                "slower stream (single calls %.3g) ", rate, single);
        verdict(any && rate >= 5e6, any);
    }
    if (summary_file)
        fclose(summary_file);
    summary_file = NULL;
}

/* ---- Plot data ----------------------------------------------------------- */

/*
 * One file per type for bench/plot.gp: gnuplot `index` blocks of "N
 * seconds" lines (1 thread, the large K), each starting with its title,
 * at fixed positions: block 0 is the unit, then for each loss (VIC^2,
 * BarlowTwins, SimCLR) and each graph, libpal's block and PyTorch's. A
 * series without data holds one NaN point, so the positions never move.
 */
static const char *plot_losses[] = {"vic2", "bt", "simclr"};
static const char *plot_graphs[] = {"dense-sym", "dense-ns", "labels10",
                                    "ssl",       "csr16",
                                    "labels10-streamed"};

static int plot_point(const row_t *r, const plan_t *p, pal_dtype_t dt,
                      const char *loss, const char *graph, int torch,
                      double *v)
{
    if (r->dt != dt || r->threads != 1 || r->k != p->big_k || !r->verified)
        return 0;
    if (!loss) {
        /* The unit, from one row per N. */
        *v = r->unit;
        return row_is(r, "vic2", "dense-sym", dt) ||
               row_is(r, "simclr", "labels10-streamed", dt);
    }
    *v = torch ? r->torch : r->pal;
    return row_is(r, loss, graph, dt) && *v > 0.0;
}

/* Write one block; 1 if it holds data. */
static int plot_block(FILE *out, const plan_t *p, pal_dtype_t dt,
                      const char *title, const char *loss, const char *graph,
                      int torch)
{
    int any = 0;
    double v;

    for (int i = 0; i < n_rows; i++)
        any |= plot_point(&rows[i], p, dt, loss, graph, torch, &v);
    fprintf(out, "\"%s\" NaN\n", title);
    for (int i = 0; i < n_rows; i++)
        if (plot_point(&rows[i], p, dt, loss, graph, torch, &v))
            fprintf(out, "%lld %.6g\n", (long long)rows[i].n, v);
    if (!any)
        fprintf(out, "NaN NaN\n");
    fprintf(out, "\n\n");
    return any;
}

/* The data, and beside it the list of blocks that hold some, per loss
 * and side, as gnuplot variables (pal_L and torch_L), so that the plot
 * draws no empty series. */
static void plot_data(const plan_t *p, pal_dtype_t dt)
{
    const size_t nl = sizeof plot_losses / sizeof plot_losses[0];
    const size_t ng = sizeof plot_graphs / sizeof plot_graphs[0];
    char f[600], name[64];
    FILE *out, *vars;
    int block = 1;

    snprintf(name, sizeof name, "plot_%s%s.dat", p->quick ? "quick_" : "",
             bench_dtype_name(dt));
    path(f, sizeof f, p, name);
    if (!(out = fopen(f, "w")))
        bench_die("cannot write %s", f);
    f[strlen(f) - 3] = '\0';
    strcat(f, "gp");
    if (!(vars = fopen(f, "w")))
        bench_die("cannot write %s", f);
    plot_block(out, p, dt, "unit U", NULL, NULL, 0);
    for (size_t l = 0; l < nl; l++) {
        char have[2][128] = {"", ""};

        for (size_t g = 0; g < ng; g++) {
            for (int m = 0; m < 2; m++, block++) {
                if (plot_block(out, p, dt, plot_graphs[g], plot_losses[l],
                               plot_graphs[g], m))
                    snprintf(have[m] + strlen(have[m]),
                             sizeof have[m] - strlen(have[m]), " %d",
                             block);
            }
        }
        fprintf(vars, "pal_%zu = \"%s\"\ntorch_%zu = \"%s\"\n", l, have[0],
                l, have[1]);
    }
    fclose(out);
    fclose(vars);
}

/*
 * The rows of an earlier run's CSV, for its plot (make bench-plot): the
 * columns plot_point reads. The plan's sizes follow the CSV: a run with
 * N = 65,536 rows was a full one.
 */
static void load_csv(plan_t *p, const char *file)
{
    FILE *f = fopen(file, "r");
    char line[1024];
    int quick = 1;

    if (!f)
        bench_die("cannot read %s: %s", file, strerror(errno));
    if (!fgets(line, sizeof line, f) || strncmp(line, "section,", 8) != 0)
        bench_die("%s is not a results CSV of the benchmark", file);
    while (fgets(line, sizeof line, f)) {
        char *field[24], *c = line;
        int nf = 0;
        row_t *r;

        /* Split on commas up to the note, the last (quoted) column. */
        while (nf < 24) {
            field[nf++] = c;
            c = strchr(c, ',');
            if (!c || nf == 23)
                break;
            *c++ = '\0';
        }
        if (nf < 23 || strcmp(field[0], "store") == 0)
            continue;
        r = new_row();
        r->section = strdup(field[0]);
        r->loss = strdup(field[1]);
        r->graph = strdup(field[2]);
        if (!r->section || !r->loss || !r->graph)
            bench_die("out of memory");
        r->dt = strcmp(field[3], "f64") == 0 ? PAL_F64 : PAL_F32;
        r->threads = atoi(field[4]);
        r->n = atoll(field[5]);
        r->k = atoll(field[6]);
        r->reps = atoi(field[7]);
        r->unit = field[8][0] ? atof(field[8]) : NAN;
        r->pal = field[9][0] ? atof(field[9]) : NAN;
        r->torch = field[14][0] ? atof(field[14]) : -1.0;
        r->verified = !isnan(r->pal) && r->pal > 0.0;
        if (r->n >= 65536)
            quick = 0;
    }
    fclose(f);
    if (!quick) {
        const char *d = p->dir;

        plan_init(p, 0);
        p->dir = d;
    }
}

/* ---- Main ---------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench [--quick] [--only grid|large|store] "
            "[--stream-f64] [--no-torch]\n"
            "             [--budget SECONDS] [--dir DIR] [--python PATH] "
            "[--script PATH]\n"
            "             [--grid N,K] [--torch-max-n N]\n"
            "       bench --plot-from CSV [--dir DIR]\n");
    exit(2);
}

static void cpu_model(char *buf, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];

    snprintf(buf, size, "unknown processor");
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');

        if (strncmp(line, "model name", 10) == 0 && c) {
            snprintf(buf, size, "%s", c + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
}

static double load_average(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l = NAN;

    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f);
    }
    return l;
}

int main(int argc, char **argv)
{
    bench_torch_t torch[2];
    pal_ctx_t *ctx[2];
    plan_t p;
    char f[600], cpu[128];
    const char *from = NULL;
    double start;
    int bad = 0;

    /* Before anything else: the spawner must be forked while small. */
    bench_spawner_start();
    start = bench_now();

    plan_init(&p, 0);
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--plot-from") == 0) {
            from = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--quick") == 0) {
            const char *d = p.dir, *py = p.python, *sc = p.script;
            unsigned parts = p.parts;
            int f64 = p.stream_f64, tok = p.torch_ok;

            plan_init(&p, 1);
            p.dir = d;
            p.python = py;
            p.script = sc;
            p.parts = parts;
            p.torch_ok = tok;
            p.stream_f64 = f64 == 1 ? 1 : p.stream_f64;
        } else if (i + 1 < argc && strcmp(argv[i], "--grid") == 0) {
            long long gn, gk;

            if (sscanf(argv[++i], "%lld,%lld", &gn, &gk) != 2 || gn < 2 ||
                gk < 1)
                usage();
            p.grid[0][0] = gn;
            p.grid[0][1] = gk;
            p.n_grid = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--torch-max-n") == 0) {
            p.torch_max_n = atoll(argv[++i]);
        } else if (strcmp(argv[i], "--no-torch") == 0) {
            p.torch_ok = 0;
        } else if (strcmp(argv[i], "--stream-f64") == 0) {
            p.stream_f64 = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--budget") == 0) {
            p.budget = atof(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--only") == 0) {
            const char *o = argv[++i];

            p.parts = strcmp(o, "grid") == 0    ? 1
                      : strcmp(o, "large") == 0 ? 2
                      : strcmp(o, "store") == 0 ? 4
                                                : 0;
            if (!p.parts)
                usage();
        } else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0) {
            p.dir = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--python") == 0) {
            p.python = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--script") == 0) {
            p.script = argv[++i];
        } else {
            usage();
        }
    }
    p.start = start;
    if (mkdir(p.dir, 0777) != 0 && errno != EEXIST)
        bench_die("cannot create %s: %s", p.dir, strerror(errno));
    if (from) {
        /* Only the plot data of an earlier run, in the plan of its size
         * (plan_init(1) for a quick run: the sizes of the quick plan). */
        const char *d = p.dir;

        plan_init(&p, 1);
        p.dir = d;
        load_csv(&p, from);
        p.quick = 0;
        plot_data(&p, PAL_F32);
        plot_data(&p, PAL_F64);
        bench_spawner_stop();
        return 0;
    }
    path(f, sizeof f, &p, p.quick ? "results_quick.csv" : "results.csv");
    if (!(csv = fopen(f, "w")))
        bench_die("cannot write %s", f);
    fprintf(csv, "section,loss,graph,type,threads,n,k,reps,unit_s,libpal_s,"
                 "ratio_u,target_u,verdict,torch_reps,torch_s,speedup,"
                 "peak_rss_mib,rss_limit_mib,verified_against,err_value,"
                 "err_grad,other_cores,steal_cores,note\n");

    signal(SIGPIPE, SIG_IGN);
    for (int t = 0; t < p.n_threads; t++) {
        memset(&torch[t], 0, sizeof torch[t]);
        torch[t].pid = -1;
        if (p.torch_ok &&
            bench_torch_start(&torch[t], p.python, p.script, p.threads[t])) {
            for (int u = 0; u < t; u++)
                bench_torch_stop(&torch[u]);
            p.torch_ok = 0;
            printf("PyTorch is not available (make bench installs "
                   "python3-torch as root): the PyTorch comparison is "
                   "skipped, results are verified against "
                   "bench/reference.c.\n");
        }
        check_pal(pal_ctx_create(&ctx[t], NULL), "context");
        check_pal(pal_ctx_set_threads(ctx[t], p.threads[t]), "threads");
        /* Large enough that SimCLR keeps the whole N x N block in memory
         * (the "all in memory" rows); it only caps, never reserves. */
        check_pal(pal_ctx_set_workspace_limit(ctx[t], (size_t)1 << 40),
                  "workspace limit");
        if (torch[t].pid > 0)
            watched[n_watched++] = torch[t].pid;
    }
    meter_start(&run_meter);

    cpu_model(cpu, sizeof cpu);
    printf("libpal %s benchmark (%s mode): %s, %ld cores, load average "
           "%.2f at start\n",
           pal_version_string(), p.quick ? "quick" : "full", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), load_average());
    printf("BLIS %s; PyTorch %s%s; threads", bli_info_get_version_str(),
           p.torch_ok ? torch[0].version : "not run",
           p.torch_ok ? " (autograd, BLAS through BLIS)" : "");
    for (int t = 0; t < p.n_threads; t++)
        printf(" %d", p.threads[t]);
    printf("\nU = one BLIS gemm of (N x N) by (N x K), same N, K, type and "
           "threads, in this run; times are medians over 'rep' rounds of "
           "U, libpal, PyTorch.\nratio = libpal / U; speedup = PyTorch / "
           "libpal; every time is printed only after its result was "
           "verified.\n\n");
    print_header();

    if (p.parts & 1)
        run_grid(&p, ctx, torch);
    /* The store before the large rows: the optional streamed float64
     * runs come last, when the time left is known. */
    if (p.parts & 4)
        run_store(&p);
    if (p.parts & 2)
        run_big(&p, ctx, torch);
    summary(&p);
    plot_data(&p, PAL_F32);
    plot_data(&p, PAL_F64);

    for (int i = 0; i < n_rows; i++)
        bad |= !rows[i].verified;
    if (p.parts & 4)
        for (int q = 0; q < 4; q++)
            bad |= !store_res[q].verified;
    printf("\n%s; total %.0f s; results in %s\n",
           bad ? "SOME RESULTS FAILED VERIFICATION" : "all results verified",
           bench_now() - start, f);
    fclose(csv);
    for (int t = 0; t < p.n_threads; t++) {
        bench_torch_stop(&torch[t]);
        pal_ctx_destroy(ctx[t]);
    }
    bench_spawner_stop();
    return bad ? 1 : 0;
}
