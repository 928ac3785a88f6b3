/*
 * Elementwise kernels of the two-view losses, written once: twoview.c
 * includes this file with PAL_T = float and PAL_T = double. Every
 * reduction accumulates in double, and none depends on the thread count
 * (rows are reduced into per-row results, summed in order afterwards).
 */
#define TV_CAT_(a, b) a##b
#define TV_CAT(a, b) TV_CAT_(a, b)
#define TV_FN(name) TV_CAT(name, PAL_SFX)


/* sum_ij (x_ij - y_ij)^2, from the differences (no cancellation). */
static double TV_FN(tv_diff2_)(int64_t n, int64_t k, const PAL_T *x,
                               int64_t ldx, const PAL_T *y, int64_t ldy)
{
    double acc = 0.0;

    for (int64_t i = 0; i < n; i++) {
        double row = 0.0;

        for (int64_t c = 0; c < k; c++) {
            const double e = (double)x[i * ldx + c] - (double)y[i * ldy + c];

            row += e * e;
        }
        acc += row;
    }
    return acc;
}

/* out[i] = x_i . y_i. */
static void TV_FN(tv_row_dots_)(int64_t n, int64_t k, const PAL_T *x,
                                int64_t ldx, const PAL_T *y, int64_t ldy,
                                double *out)
{
    for (int64_t i = 0; i < n; i++) {
        double acc = 0.0;

        for (int64_t c = 0; c < k; c++)
            acc += (double)x[i * ldx + c] * (double)y[i * ldy + c];
        out[i] = acc;
    }
}

/* g_i += a x_i + (s ? s_i : b) y_i, in double; x or y may be NULL. */
static void TV_FN(tv_emit_)(int nt, int64_t n, int64_t k, PAL_T *g,
                            int64_t ldg, double a, const PAL_T *x,
                            int64_t ldx, const double *s, double b,
                            const PAL_T *y, int64_t ldy)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (n * k >= PAL__PAR_MIN)
#endif
    for (int64_t i = 0; i < n; i++) {
        const double f = s ? s[i] : b;

        for (int64_t c = 0; c < k; c++) {
            double v = (double)g[i * ldg + c];

            if (x)
                v += a * (double)x[i * ldx + c];
            if (y)
                v += f * (double)y[i * ldy + c];
            g[i * ldg + c] = (PAL_T)v;
        }
    }
}

/*
 * NT-Xent, one panel of anchor rows: p holds s for anchors a0 .. a0 +
 * rows - 1 against every candidate (cols of them, row stride ld). With
 * sym, anchor a is candidate a too (left out) and its positive is
 * candidate (a + half) mod 2 half; otherwise its positive is candidate
 * a. Writes each anchor's term, LSE - s_pos, to rowloss and replaces
 * the panel by A = softmax - 1[positive] (0 on the left-out entry).
 * One exponential per entry.
 */
static void TV_FN(tv_ntx_rows_)(int nt, PAL_T *p, int64_t rows, int64_t cols,
                                int64_t ld, int64_t a0, int64_t half,
                                bool sym, double *rowloss)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (rows * cols >= PAL__PAR_MIN)
#endif
    for (int64_t r = 0; r < rows; r++) {
        const int64_t a = a0 + r;
        const int64_t self = sym ? a : -1;
        const int64_t pos = sym ? (a + half) % (2 * half) : a;
        PAL_T *s = p + r * ld;
        const double spos = (double)s[pos];
        double top = -INFINITY, sum, lse, inv;

        for (int64_t c = 0; c < cols; c++)
            if (c != self && (double)s[c] > top)
                top = (double)s[c];
        /* A NaN never compares greater: keep it visible in the value. */
        if (top != top || spos != spos)
            top = NAN;
        /* The positive is always in the denominator: sum starts there. */
        sum = exp(spos - top);
        for (int64_t c = 0; c < cols; c++) {
            const double e = c == self ? 0.0 : exp((double)s[c] - top);

            s[c] = (PAL_T)e;
            if (c != pos)
                sum += e;
        }
        lse = top + log(sum);
        rowloss[r] = lse - spos;
        inv = 1.0 / sum;
        for (int64_t c = 0; c < cols; c++)
            s[c] = (PAL_T)((double)s[c] * inv - (c == pos ? 1.0 : 0.0));
    }
}

/*
 * Spectral loss, one panel of rows a0 .. a0 + rows - 1 of P = Z1 Z2^T
 * (cols = n columns, row stride ld): sq[r] gets the sum of the squares
 * the loss counts on the row (all, or all but the diagonal), pos[r] its
 * diagonal entry; the panel becomes scale P with the diagonal cleared
 * unless diag.
 */
static void TV_FN(tv_spec_rows_)(int nt, PAL_T *p, int64_t rows, int64_t cols,
                                 int64_t ld, int64_t a0, bool diag,
                                 double scale, double *sq, double *pos)
{
    (void)nt; /* unused when built without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (rows * cols >= PAL__PAR_MIN)
#endif
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = a0 + r;
        PAL_T *s = p + r * ld;
        double acc = 0.0;

        pos[r] = (double)s[i];
        for (int64_t c = 0; c < cols; c++) {
            const double v = (double)s[c];

            if (c != i || diag) {
                acc += v * v;
                s[c] = (PAL_T)(scale * v);
            } else {
                s[c] = 0;
            }
        }
        sq[r] = acc;
    }
}

#undef TV_FN
#undef TV_CAT
#undef TV_CAT_
