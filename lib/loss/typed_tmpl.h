/*
 * Elementwise kernels, written once: typed.c includes this file with
 * PAL_T = float and PAL_T = double. Every reduction accumulates in
 * double. The functions are static; typed.c dispatches to them.
 */
#define PAL_CAT_(a, b) a##b
#define PAL_CAT(a, b) PAL_CAT_(a, b)
#define FN(name) PAL_CAT(name, PAL_SFX)

/*
 * Threads: loops over rows split the rows, loops that reduce down the
 * columns split the columns (each column's sum runs over the rows in
 * order), and the one full reduction, mat_dot, sums fixed row ranges
 * then the range sums in order. So no result depends on the thread
 * count. Matrices under 2^18 entries stay on one thread: a parallel
 * region costs a few microseconds, and far more when another process
 * holds a core and a thread of the team has to wait for it.
 */
#ifndef PAL__COLS
#define PAL__COLS 16   /* columns per parallel block */
#define PAL__RANGES 64 /* row ranges of mat_dot */
#endif

static void FN(row_norm2_)(int nt, int64_t n, int64_t k, const PAL_T *x,
                           int64_t ldx, double *out)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++) {
        const PAL_T *r = x + i * ldx;
        double acc = 0.0;

        for (int64_t c = 0; c < k; c++)
            acc += (double)r[c] * (double)r[c];
        out[i] = acc;
    }
}

static double FN(mat_dot_)(int nt, int64_t n, int64_t k, const PAL_T *x,
                           int64_t ldx, const PAL_T *y, int64_t ldy)
{
    (void)nt; /* unused when built without OpenMP */
    double part[PAL__RANGES], acc = 0.0;

#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int r = 0; r < PAL__RANGES; r++) {
        double sum = 0.0;

        for (int64_t i = n * r / PAL__RANGES; i < n * (r + 1) / PAL__RANGES;
             i++) {
            const PAL_T *a = x + i * ldx, *b = y + i * ldy;
            double row = 0.0;

            for (int64_t c = 0; c < k; c++)
                row += (double)a[c] * (double)b[c];
            sum += row;
        }
        part[r] = sum;
    }
    for (int r = 0; r < PAL__RANGES; r++)
        acc += part[r];
    return acc;
}

static void FN(row_scale_)(int nt, int64_t n, int64_t k, const PAL_T *x,
                           int64_t ldx, const double *s, double c, PAL_T *y,
                           int64_t ldy)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++) {
        const double f = s ? s[i] : c;

        for (int64_t j = 0; j < k; j++)
            y[i * ldy + j] = (PAL_T)((double)x[i * ldx + j] * f);
    }
}

static void FN(mat_axpby_)(int nt, int64_t n, int64_t k, double a, const PAL_T *x,
                           int64_t ldx, double b, PAL_T *y, int64_t ldy)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++) {
        PAL_T *r = y + i * ldy;

        if (!x && b == 0.0) {
            /* Store zeros, as BLAS does for beta = 0: 0 * y would keep a
             * NaN or infinity that y held before. */
            for (int64_t j = 0; j < k; j++)
                r[j] = 0;
        } else if (!x) {
            for (int64_t j = 0; j < k; j++)
                r[j] = (PAL_T)(b * (double)r[j]);
        } else if (b == 0.0) {
            for (int64_t j = 0; j < k; j++)
                r[j] = (PAL_T)(a * (double)x[i * ldx + j]);
        } else {
            for (int64_t j = 0; j < k; j++)
                r[j] = (PAL_T)(a * (double)x[i * ldx + j] + b * (double)r[j]);
        }
    }
}

static void FN(row_axpy_)(int nt, int64_t n, int64_t k, const double *s,
                          const PAL_T *x, int64_t ldx, PAL_T *y, int64_t ldy)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++) {
        if (s[i] == 0.0)
            continue;
        for (int64_t j = 0; j < k; j++)
            y[i * ldy + j] = (PAL_T)((double)y[i * ldy + j] +
                                     s[i] * (double)x[i * ldx + j]);
    }
}

/* Column sums of x, or of its squares. */
static void FN(col_reduce_)(int nt, int64_t n, int64_t k, const PAL_T *x,
                            int64_t ldx, bool square, double *out)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t c0 = 0; c0 < k; c0 += PAL__COLS) {
        const int64_t c1 = c0 + PAL__COLS < k ? c0 + PAL__COLS : k;

        for (int64_t j = c0; j < c1; j++)
            out[j] = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = c0; j < c1; j++) {
                const double v = (double)x[i * ldx + j];

                out[j] += square ? v * v : v;
            }
    }
}

static void FN(col_sums_)(int nt, int64_t n, int64_t k, const PAL_T *x,
                          int64_t ldx, double *out)
{
    FN(col_reduce_)(nt, n, k, x, ldx, false, out);
}

static void FN(col_norm2_)(int nt, int64_t n, int64_t k, const PAL_T *x,
                           int64_t ldx, double *out)
{
    FN(col_reduce_)(nt, n, k, x, ldx, true, out);
}

/*
 * Norms of the rows (cols = false) or columns (cols = true), safe from
 * overflow and underflow: the squares of doubles beyond about 1e154 (or
 * below 1e-154) leave the double range, so such a norm is measured again
 * on values scaled by their largest magnitude. Floats never need it.
 */
static double FN(scaled_norm_)(const PAL_T *x, int64_t count, int64_t step,
                               double plain)
{
    double big = 0.0, acc = 0.0;

    /* NaN stays NaN, for the caller's finiteness check. */
    if (plain != plain || (plain < INFINITY && plain > 1e-290))
        return sqrt(plain);
    for (int64_t c = 0; c < count; c++)
        big = fmax(big, fabs((double)x[c * step]));
    if (big == 0.0 || !(big < INFINITY))
        return big;
    for (int64_t c = 0; c < count; c++) {
        double v = (double)x[c * step] / big;

        acc += v * v;
    }
    return big * sqrt(acc);
}

static void FN(norms_)(int nt, int64_t n, int64_t k, const PAL_T *x,
                       int64_t ldx, bool cols, double *out)
{
    (void)nt; /* unused when built without OpenMP */
    if (cols) {
        FN(col_norm2_)(nt, n, k, x, ldx, out);
        for (int64_t j = 0; j < k; j++)
            out[j] = FN(scaled_norm_)(x + j, n, ldx, out[j]);
    } else {
        FN(row_norm2_)(nt, n, k, x, ldx, out);
        for (int64_t i = 0; i < n; i++)
            out[i] = FN(scaled_norm_)(x + i * ldx, k, 1, out[i]);
    }
}

static void FN(col_affine_)(int nt, int64_t n, int64_t k, const PAL_T *x,
                            int64_t ldx, const double *mu, const double *s,
                            PAL_T *y, int64_t ldy)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            y[i * ldy + j] =
                (PAL_T)(((double)x[i * ldx + j] - (mu ? mu[j] : 0.0)) * s[j]);
}

static void FN(unnormalise_rows_)(int nt, int64_t n, int64_t k, const PAL_T *zt,
                                  int64_t ldzt, const double *r, double eps,
                                  PAL_T *g, int64_t ldg)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++) {
        const PAL_T *u = zt + i * ldzt;
        PAL_T *v = g + i * ldg;
        double dot = 0.0;

        if (!(r[i] > eps)) {
            for (int64_t c = 0; c < k; c++)
                v[c] = (PAL_T)((double)v[c] / eps);
            continue;
        }
        for (int64_t c = 0; c < k; c++)
            dot += (double)u[c] * (double)v[c];
        for (int64_t c = 0; c < k; c++)
            v[c] = (PAL_T)(((double)v[c] - (double)u[c] * dot) / r[i]);
    }
}

static void FN(unnormalise_cols_)(int nt, int64_t n, int64_t k,
                                  const PAL_T *zt, int64_t ldzt,
                                  const double *r, double eps, PAL_T *g,
                                  int64_t ldg, double *dot)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t c0 = 0; c0 < k; c0 += PAL__COLS) {
        const int64_t c1 = c0 + PAL__COLS < k ? c0 + PAL__COLS : k;

        for (int64_t c = c0; c < c1; c++)
            dot[c] = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = c0; c < c1; c++)
                dot[c] += (double)zt[i * ldzt + c] * (double)g[i * ldg + c];
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < k; c++) {
            double v = (double)g[i * ldg + c];

            if (r[c] > eps)
                v = (v - (double)zt[i * ldzt + c] * dot[c]) / r[c];
            else
                v /= eps;
            g[i * ldg + c] = (PAL_T)v;
        }
    }
}

#undef FN
#undef PAL_CAT
#undef PAL_CAT_
