/*
 * The performance benchmark of libpal (make bench): shared declarations.
 *
 * bench.c      the plan, the timing loops, the table, CSV and summary
 * inputs.c     inputs (Z, graphs) made from seeds, the unit product,
 *              files for the PyTorch side, comparisons, small helpers
 * procs.c      the PyTorch worker and the clean process that measures
 *              peak memory
 * reference.c  a float64 reference of the losses (when PyTorch is absent)
 * storebench.c the knowledge store's answer rate
 */
#ifndef PAL_BENCH_H
#define PAL_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <pal/pal.h>

/* ---- Helpers (inputs.c) -------------------------------------------------- */

double bench_now(void);
void bench_die(const char *fmt, ...);
void *bench_alloc(size_t bytes);
double bench_median(double *v, int n);

/* A counter-based generator: each value depends only on (seed, index),
 * so inputs can be filled in parallel and remade identically. */
uint64_t bench_hash(uint64_t seed, uint64_t index);
/* Uniform in [0, 1), with 24 bits so that it is exact in float32. */
double bench_unit24(uint64_t seed, uint64_t index);

/* Z (n x k): uniform in [-1, 1), the same values in both types. */
void bench_fill_z(pal_dtype_t dt, int64_t n, int64_t k, uint64_t seed,
                  void *z);
/* A dense n x n graph, uniform in [0, 1): symmetric (G_ij = G_ji) or not. */
void bench_fill_dense(pal_dtype_t dt, int64_t n, int sym, uint64_t seed,
                      void *g);
/* Labels in [0, classes). */
void bench_fill_labels(int64_t n, int32_t classes, uint64_t seed,
                       int32_t *y);

/* A symmetric sparse graph with 16 stored entries per row (a row where
 * two of its random edges coincide keeps their sum, so a few rows hold
 * fewer), CSR with sorted columns and values of type dt in (0, 1]. */
typedef struct bench_csr {
    int64_t n, nnz;
    int64_t *ptr;
    int32_t *idx;
    void *val;
} bench_csr_t;

void bench_csr_make(pal_dtype_t dt, int64_t n, uint64_t seed,
                    bench_csr_t *c);
void bench_csr_free(bench_csr_t *c);

/* The unit: C = A B with A n x n (row-major) and B n x k, by BLIS with
 * `threads` threads given in a local rntm_t. With rows_a < n, A holds
 * only rows_a rows and the product is done as n / rows_a products of a
 * block of rows, which is the same arithmetic on the same shapes (for
 * N = 65,536, where the whole A would need 16 GiB). Returns seconds. */
/* Keep `threads` OpenMP threads busy for `seconds` (nothing at one
 * thread): the cores are awake when the next timed call starts. */
void bench_wake(int threads, double seconds);
double bench_unit(pal_dtype_t dt, int threads, int64_t n, int64_t k,
                  const void *a, int64_t rows_a, const void *b, void *c);

/* Files for the PyTorch side. */
void bench_write(const char *path, const void *p, size_t bytes);
void *bench_read(const char *path, size_t bytes);

/* ||a - b||_F / ||b||_F over n x k of type dt (0 when both are zero). */
double bench_rel_diff(pal_dtype_t dt, int64_t n, int64_t k, const void *a,
                      const void *b);
/* A checksum of a matrix (sum of |x|, in double), for the check that a
 * timed repetition returned the same gradient as the verified one. */
double bench_checksum(pal_dtype_t dt, int64_t n, int64_t k, const void *a);
/* A float32 copy of a float64 matrix and the reverse. */
void bench_convert(pal_dtype_t to, pal_dtype_t from, size_t count,
                   const void *src, void *dst);

const char *bench_dtype_name(pal_dtype_t dt);

/* ---- Processes (procs.c) ------------------------------------------------- */

/* The PyTorch worker (bench/torch_ref.py), one per thread count. */
typedef struct bench_torch {
    pid_t pid;
    FILE *to, *from;
    int threads;
    char version[64];
} bench_torch_t;

/* Start the worker; 0 on success, -1 with a message on stderr. */
int bench_torch_start(bench_torch_t *w, const char *python,
                      const char *script, int threads);
/* Send one command line, read the reply into buf; 0 if it is "ok ...". */
int bench_torch_cmd(bench_torch_t *w, char *buf, size_t size,
                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void bench_torch_stop(bench_torch_t *w);

/* One streamed SimCLR measurement, run in a fresh child process. */
typedef struct bench_stream_req {
    int dtype, threads;
    int64_t n, k;
    uint64_t seed_z, seed_y;
    int32_t classes;
    size_t limit;          /* the context's workspace limit, bytes */
    double tau;
    char grad_path[512];   /* where the child writes dL/dZ */
} bench_stream_req_t;

typedef struct bench_stream_res {
    int rc;                /* the libpal status, or -1000 if the child died */
    double seconds;        /* the pal_grad_simclr call alone */
    double loss;
    long maxrss_kib;       /* the child's ru_maxrss, KiB */
    size_t workspace;      /* pal_ctx_workspace_size after the call */
} bench_stream_res_t;

/* Fork the process that will fork the measured children. Called first
 * thing in main, while the benchmark is still small, so that a child's
 * peak resident size starts from a small process and not from the
 * gigabytes the benchmark holds later. */
void bench_spawner_start(void);
void bench_spawner_run(const bench_stream_req_t *req,
                       bench_stream_res_t *res);
void bench_spawner_stop(void);

/* CPU seconds used so far by this process, its reaped children and the
 * live processes pids[0 .. n) and the spawner (with their children). */
double bench_cpu_own(const pid_t *pids, int n);
/* CPU seconds the whole machine has been busy since boot (all cores),
 * from /proc/stat; *steal: the time the hypervisor gave to others. */
double bench_cpu_machine(double *steal);

/* ---- The float64 reference (reference.c) -------------------------------- */

enum { BENCH_REF_DENSE, BENCH_REF_LABELS, BENCH_REF_CSR };

/* A graph as the reference sees it: a dense n x n matrix of type dt, a
 * label vector (G_ij = [y_i = y_j >= 0]; the SSL graph is the labels
 * i / 2), or a CSR matrix of type dt. */
typedef struct bench_refgraph {
    int kind;
    pal_dtype_t dt;
    const void *dense;
    const int32_t *labels;
    const bench_csr_t *csr;
} bench_refgraph_t;

/* The value and dL/dZ (n x k, float64) of "vic2", "bt" (lambda = 1) or
 * "simclr" (tau = 0.1; dense and label graphs), computed in float64 from
 * the definitions, with BLIS at `threads` threads. */
void bench_reference(const char *loss, const bench_refgraph_t *g,
                     pal_dtype_t dt, int64_t n, int64_t k, const void *z,
                     int threads, double *value, double *dz);

/* SimCLR's value in full, and its gradient on rows[0 .. count) only (row
 * r of dz is row rows[r]): the check of the streamed rows at N = 65,536,
 * where the full gradient would cost two N x N passes more. */
void bench_reference_simclr_rows(const bench_refgraph_t *g, pal_dtype_t dt,
                                 int64_t n, int64_t k, const void *z,
                                 int threads, const int64_t *rows,
                                 int64_t count, double *value, double *dz);

/* ---- The knowledge store (storebench.c) ---------------------------------- */

typedef struct bench_store_res {
    const char *name;
    const char *path;      /* "batch" or "single" */
    int64_t items, answers;
    int reps;
    double seconds;        /* median over reps for the whole stream */
    double cpu_seconds;    /* median CPU time of the timed calls: below
                              seconds when others share the machine */
    double rate;           /* answers per second */
    int verified;
    char check[160];       /* what was verified, or what failed */
} bench_store_res_t;

/* stream 0: answers from hidden classes; 1: random same / different.
 * batch: one pal_store_answer_batch call, otherwise one pal_store_answer
 * call per answer. */
void bench_store_run(int stream, int batch, int64_t items, int64_t answers,
                     int reps, uint64_t seed, bench_store_res_t *res);

#endif /* PAL_BENCH_H */
