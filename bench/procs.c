/*
 * The benchmark's other processes.
 *
 * The PyTorch worker runs bench/torch_ref.py with pipes on its standard
 * input and output: the C program asks for one timed pass at a time, so
 * that libpal, the unit and PyTorch are measured in alternation, and the
 * machine is never shared between two measured computations.
 *
 * The spawner is a copy of the benchmark forked before anything large is
 * allocated. The peak resident size that getrusage reports for a child
 * starts from its parent's resident size at the fork (Linux copies the
 * high-water mark, and an exec keeps it too), so children forked from
 * the benchmark itself, which holds gigabytes of inputs, would report
 * those gigabytes. Children forked from the spawner start small.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* ---- PyTorch worker ------------------------------------------------------ */

static void cloexec(int fd)
{
    fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

int bench_torch_start(bench_torch_t *w, const char *python,
                      const char *script, int threads)
{
    int in[2], out[2];
    char buf[256], nt[16];

    memset(w, 0, sizeof *w);
    w->pid = -1;
    if (pipe(in) != 0 || pipe(out) != 0) {
        perror("bench: pipe");
        return -1;
    }
    snprintf(nt, sizeof nt, "%d", threads);
    fflush(NULL);
    w->pid = fork();
    if (w->pid < 0) {
        perror("bench: fork");
        return -1;
    }
    if (w->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        /* PyTorch's products go through the system BLAS (BLIS on
         * Debian), which reads its thread count from the environment. */
        setenv("OMP_NUM_THREADS", nt, 1);
        setenv("BLIS_NUM_THREADS", nt, 1);
        /* The worker waits between requests while libpal is timed: its
         * threads must sleep then, not spin on the two cores. */
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execl(python, python, script, "--threads", nt, (char *)NULL);
        fprintf(stderr, "bench: cannot run %s: %s\n", python,
                strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    cloexec(in[1]);
    cloexec(out[0]);
    w->to = fdopen(in[1], "w");
    w->from = fdopen(out[0], "r");
    w->threads = threads;
    buf[0] = '\0';
    if (!w->to || !w->from || !fgets(buf, sizeof buf, w->from) ||
        strncmp(buf, "ok torch ", 9) != 0) {
        buf[strcspn(buf, "\n")] = '\0';
        fprintf(stderr, "bench: the PyTorch worker (%s %s) did not start%s%s\n",
                python, script, buf[0] ? ": " : "", buf);
        bench_torch_stop(w);
        return -1;
    }
    sscanf(buf + 9, "%63s", w->version);
    return 0;
}

int bench_torch_cmd(bench_torch_t *w, char *buf, size_t size,
                    const char *fmt, ...)
{
    va_list ap;
    size_t len;

    va_start(ap, fmt);
    vfprintf(w->to, fmt, ap);
    va_end(ap);
    fputc('\n', w->to);
    if (fflush(w->to) != 0 || !fgets(buf, (int)size, w->from)) {
        snprintf(buf, size, "error: the PyTorch worker exited");
        return -1;
    }
    len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        buf[len - 1] = '\0';
    return strncmp(buf, "ok", 2) == 0 ? 0 : -1;
}

void bench_torch_stop(bench_torch_t *w)
{
    if (w->to) {
        fputs("quit\n", w->to);
        fclose(w->to);
    }
    if (w->from)
        fclose(w->from);
    if (w->pid > 0)
        waitpid(w->pid, NULL, 0);
    w->to = w->from = NULL;
    w->pid = -1;
}

/* ---- Spawner ------------------------------------------------------------- */

static pid_t spawner_pid = -1;
static int spawner_req = -1, spawner_res = -1;

/* Move n bytes through a pipe whatever the partial transfers and
 * interruptions: out writes p to fd, else reads fd into p. */
static int move_all(int fd, void *p, size_t n, int out)
{
    char *c = p;

    while (n > 0) {
        ssize_t r = out ? write(fd, c, n) : read(fd, c, n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    return move_all(fd, p, n, 0);
}

static int write_all(int fd, const void *p, size_t n)
{
    return move_all(fd, (void *)p, n, 1);
}

/* The measured child: what a training step on N = 65,536 items holds. */
static void stream_child(const bench_stream_req_t *q, int fd)
{
    const pal_dtype_t dt = (pal_dtype_t)q->dtype;
    const size_t bytes = (size_t)q->n * (size_t)q->k * pal_dtype_size(dt);
    bench_stream_res_t res = {0};
    pal_simclr_opts_t o;
    pal_graph_t *g = NULL;
    pal_ctx_t *ctx = NULL;
    int32_t *y = bench_alloc((size_t)q->n * sizeof *y);
    void *z = bench_alloc(bytes), *dz = bench_alloc(bytes);
    double t0;

    bench_fill_z(dt, q->n, q->k, q->seed_z, z);
    bench_fill_labels(q->n, q->classes, q->seed_y, y);
    res.rc = pal_graph_create(&g, q->n, NULL);
    if (res.rc == PAL_OK)
        res.rc = pal_graph_add_labels(g, 1.0, y);
    free(y);
    if (res.rc == PAL_OK)
        res.rc = pal_ctx_create(&ctx, NULL);
    if (res.rc == PAL_OK)
        res.rc = pal_ctx_set_threads(ctx, q->threads);
    if (res.rc == PAL_OK)
        res.rc = pal_ctx_set_workspace_limit(ctx, q->limit);
    pal_simclr_opts_init(&o);
    o.tau = q->tau;
    if (res.rc == PAL_OK) {
        t0 = bench_now();
        res.rc = pal_grad_simclr(ctx, g, dt, q->n, q->k, z, q->k, &o,
                                 &res.loss, dz, q->k);
        res.seconds = bench_now() - t0;
        res.workspace = pal_ctx_workspace_size(ctx);
    }
    if (res.rc == PAL_OK)
        bench_write(q->grad_path, dz, bytes);
    write_all(fd, &res, sizeof res);
    pal_ctx_destroy(ctx);
    pal_graph_destroy(g);
    free(z);
    free(dz);
}

static void spawner_loop(int req_fd, int res_fd)
{
    bench_stream_req_t q;

    while (read_all(req_fd, &q, sizeof q) == 0) {
        bench_stream_res_t res = {0};
        struct rusage ru;
        int p[2], status;
        pid_t pid;

        res.rc = -1000;
        if (pipe(p) != 0 || (pid = fork()) < 0) {
            write_all(res_fd, &res, sizeof res);
            continue;
        }
        if (pid == 0) {
            close(p[0]);
            stream_child(&q, p[1]);
            _exit(0);
        }
        close(p[1]);
        if (read_all(p[0], &res, sizeof res) != 0)
            res.rc = -1000;
        close(p[0]);
        memset(&ru, 0, sizeof ru);
        if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            res.rc = -1000;
        res.maxrss_kib = ru.ru_maxrss;
        write_all(res_fd, &res, sizeof res);
    }
    _exit(0);
}

void bench_spawner_start(void)
{
    int req[2], res[2];

    if (pipe(req) != 0 || pipe(res) != 0)
        bench_die("pipe: %s", strerror(errno));
    fflush(NULL);
    spawner_pid = fork();
    if (spawner_pid < 0)
        bench_die("fork: %s", strerror(errno));
    if (spawner_pid == 0) {
        close(req[1]);
        close(res[0]);
        spawner_loop(req[0], res[1]);
    }
    close(req[0]);
    close(res[1]);
    cloexec(req[1]);
    cloexec(res[0]);
    spawner_req = req[1];
    spawner_res = res[0];
}

void bench_spawner_run(const bench_stream_req_t *req,
                       bench_stream_res_t *res)
{
    if (write_all(spawner_req, req, sizeof *req) != 0 ||
        read_all(spawner_res, res, sizeof *res) != 0) {
        memset(res, 0, sizeof *res);
        res->rc = -1000;
    }
}

void bench_spawner_stop(void)
{
    if (spawner_pid <= 0)
        return;
    close(spawner_req);
    close(spawner_res);
    waitpid(spawner_pid, NULL, 0);
    spawner_pid = -1;
}

/* ---- CPU time: the benchmark's and the machine's ------------------------- */

/* utime + stime + cutime + cstime of a live process, in seconds. */
static double proc_cpu(pid_t pid)
{
    char f[64], buf[1024], *c;
    unsigned long long v[4] = {0, 0, 0, 0};
    FILE *in;
    size_t len;

    if (pid <= 0)
        return 0.0;
    snprintf(f, sizeof f, "/proc/%d/stat", (int)pid);
    if (!(in = fopen(f, "r")))
        return 0.0;
    len = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[len] = '\0';
    /* Fields 14 to 17, counted after the command name in parentheses. */
    if (!(c = strrchr(buf, ')')) ||
        sscanf(c + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                      "%llu %llu %llu %llu",
               &v[0], &v[1], &v[2], &v[3]) != 4)
        return 0.0;
    return (double)(v[0] + v[1] + v[2] + v[3]) /
           (double)sysconf(_SC_CLK_TCK);
}

double bench_cpu_own(const pid_t *pids, int n)
{
    struct rusage self, kids;
    double s;

    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    s = (double)self.ru_utime.tv_sec + 1e-6 * (double)self.ru_utime.tv_usec +
        (double)self.ru_stime.tv_sec + 1e-6 * (double)self.ru_stime.tv_usec +
        (double)kids.ru_utime.tv_sec + 1e-6 * (double)kids.ru_utime.tv_usec +
        (double)kids.ru_stime.tv_sec + 1e-6 * (double)kids.ru_stime.tv_usec;
    for (int i = 0; i < n; i++)
        s += proc_cpu(pids[i]);
    return s + proc_cpu(spawner_pid);
}

double bench_cpu_machine(double *steal)
{
    unsigned long long v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    FILE *in = fopen("/proc/stat", "r");
    double tick = (double)sysconf(_SC_CLK_TCK);

    *steal = 0.0;
    if (!in)
        return 0.0;
    /* user nice system idle iowait irq softirq steal */
    if (fscanf(in, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
               &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
        fclose(in);
        return 0.0;
    }
    fclose(in);
    *steal = (double)v[7] / tick;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / tick;
}
