/*
 * SimCLR kernels, written once: simclr_kern.c includes this file with
 * PAL_T = float (8 lanes) and PAL_T = double (4 lanes). They work on rows
 * of S = Zt Zt^T / tau (row stride lds, n columns), vector by vector, with
 * one exponential per entry. Sums accumulate in double in fixed lanes, so
 * the results do not depend on the vector width the machine offers.
 */
#define PAL_CAT_(a, b) a##b
#define PAL_CAT(a, b) PAL_CAT_(a, b)
#define FN(name) PAL_CAT(name, PAL_SFX)

/* sum_j x_j and max_j x_j of a row, lane by lane then across lanes. */
static inline double FN(row_sum_)(const PAL_T *x, int64_t n)
{
    pal__v4d acc[PAL_VL / 4];
    double s = 0.0;
    int64_t j = 0;

    for (int l = 0; l < PAL_VL / 4; l++)
        acc[l] = pal__v4d_set(0.0);
    for (; j + PAL_VL <= n; j += PAL_VL)
        PAL_VACC(acc, PAL_VLOAD(x + j));
    for (int l = 0; l < PAL_VL / 4; l++)
        s += (acc[l][0] + acc[l][1]) + (acc[l][2] + acc[l][3]);
    for (; j < n; j++)
        s += (double)x[j];
    return s;
}

static inline PAL_T FN(row_max_)(const PAL_T *x, int64_t n)
{
    PAL_V m = PAL_VSET(-(PAL_T)INFINITY);
    PAL_T best = -(PAL_T)INFINITY;
    int64_t j = 0;

    for (; j + PAL_VL <= n; j += PAL_VL)
        m = PAL_VMAX(m, PAL_VLOAD(x + j));
    for (int l = 0; l < PAL_VL; l++)
        best = m[l] > best ? m[l] : best;
    for (; j < n; j++)
        best = x[j] > best ? x[j] : best;
    return best;
}

/* sum_j a_j b_j, in double. */
static inline double FN(row_dot_)(const PAL_T *a, const PAL_T *b, int64_t n)
{
    pal__v4d acc[PAL_VL / 4];
    double s = 0.0;
    int64_t j = 0;

    for (int l = 0; l < PAL_VL / 4; l++)
        acc[l] = pal__v4d_set(0.0);
    for (; j + PAL_VL <= n; j += PAL_VL)
        PAL_VACC(acc, PAL_VLOAD(a + j) * PAL_VLOAD(b + j));
    for (int l = 0; l < PAL_VL / 4; l++)
        s += (acc[l][0] + acc[l][1]) + (acc[l][2] + acc[l][3]);
    for (; j < n; j++)
        s += (double)a[j] * (double)b[j];
    return s;
}

/*
 * Rows [row0, row0 + b) of S, in place. For each row i, over D_i (every
 * column, or every column but i when skip):
 *   pos[r] = sum_j sum_f w_f A_f[i][j] s_ij   (when nf > 0; folded terms)
 *   e_ij = exp(s_ij - max_j s_ij), e_ii = 0 when skip
 *   lse[r] = max + log sum_j e_ij   (-infinity when D_i is empty)
 *   sum[r] = sum_j e_ij
 */
static void FN(rows_softmax_)(PAL_T *s, int64_t b, int64_t n, int64_t lds,
                              int64_t row0, bool skip,
                              const pal__fold_t *fold, double *pos,
                              double *lse, double *sum, int threads)
{
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int64_t r = 0; r < b; r++) {
        PAL_T *row = s + r * lds;
        const int64_t i = row0 + r;
        PAL_V m;
        PAL_T mx;
        double p = 0.0, acc;

        for (int f = 0; f < fold->n; f++) {
            const PAL_T *a = (const PAL_T *)fold->a[f] + i * fold->lda[f];
            double d = FN(row_dot_)(a, row, n);

            if (skip)
                d -= (double)a[i] * (double)row[i];
            p += fold->w[f] * d;
        }
        if (pos)
            pos[r] = p;
        if (skip)
            row[i] = -(PAL_T)INFINITY;
        mx = FN(row_max_)(row, n);
        if (mx == -(PAL_T)INFINITY) {
            memset(row, 0, (size_t)n * sizeof *row);
            lse[r] = -INFINITY;
            sum[r] = 0.0;
            continue;
        }
        m = PAL_VSET(mx);
        {
            int64_t j = 0;

            for (; j + PAL_VL <= n; j += PAL_VL)
                PAL_VSTORE(row + j, PAL_VEXP(PAL_VLOAD(row + j) - m));
            for (; j < n; j++)
                row[j] = PAL_SEXP(row[j] - mx);
        }
        acc = FN(row_sum_)(row, n);
        lse[r] = (double)mx + log(acc);
        sum[r] = acc;
        (void)threads;
    }
}

/*
 * Rows [row0, row0 + b) of S, in place: s_ij <- c_i exp(s_ij - lse_i),
 * that is d_i P_ij with c_i = d_i; 0 on the diagonal when skip and on
 * rows whose c_i is 0. For the streamed mode, where each tile of S is
 * computed a second time.
 */
static void FN(rows_p_)(PAL_T *s, int64_t b, int64_t n, int64_t lds,
                        int64_t row0, bool skip, const double *lse,
                        const double *c, int threads)
{
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int64_t r = 0; r < b; r++) {
        PAL_T *row = s + r * lds;
        const int64_t i = row0 + r;
        const PAL_T shift = (PAL_T)lse[i];
        const PAL_V sv = PAL_VSET(shift), cv = PAL_VSET((PAL_T)c[i]);
        int64_t j = 0;

        if (c[i] == 0.0) {
            memset(row, 0, (size_t)n * sizeof *row);
            continue;
        }
        for (; j + PAL_VL <= n; j += PAL_VL)
            PAL_VSTORE(row + j, cv * PAL_VEXP(PAL_VLOAD(row + j) - sv));
        for (; j < n; j++)
            row[j] = (PAL_T)c[i] * PAL_SEXP(row[j] - shift);
        if (skip)
            row[i] = 0;
        (void)threads;
    }
}

/*
 * The whole n x n matrix, in place, from e (rows_softmax_ output):
 *   B_ij = c_i e_ij + c_j e_ji - sum_f w_f (A_f[i][j] + A_f[j][i]),
 * symmetric, by square blocks so that both (i, j) and (j, i) stay in
 * cache. With skip the diagonal is 0 (G' has none, and e_ii = 0).
 */
static void FN(sym_b_)(PAL_T *e, int64_t n, int64_t ld, const double *c,
                       bool skip, const pal__fold_t *fold, int threads)
{
    const int64_t bs = 64, nb = (n + bs - 1) / bs;

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
#endif
    for (int64_t bi = 0; bi < nb; bi++) {
        const int64_t i0 = bi * bs, i1 = i0 + bs < n ? i0 + bs : n;

        for (int64_t j0 = 0; j0 <= i0; j0 += bs) {
            const int64_t j1 = j0 + bs < n ? j0 + bs : n;

            for (int64_t i = i0; i < i1; i++) {
                const int64_t jend = j0 == i0 ? i : j1;
                const double ci = c[i];

                /* In double: near the optimum the attraction and the
                 * repulsion nearly cancel, entry by entry. */
                for (int64_t j = j0; j < jend; j++) {
                    double v = ci * (double)e[i * ld + j] +
                               c[j] * (double)e[j * ld + i];

                    for (int f = 0; f < fold->n; f++) {
                        const PAL_T *a = fold->a[f];
                        const int64_t la = fold->lda[f];

                        v -= fold->w[f] * ((double)a[i * la + j] +
                                           (double)a[j * la + i]);
                    }
                    e[i * ld + j] = (PAL_T)v;
                    e[j * ld + i] = (PAL_T)v;
                }
                if (j0 == i0) {
                    double v = 0.0;

                    if (!skip) {
                        v = 2.0 * ci * (double)e[i * ld + i];
                        for (int f = 0; f < fold->n; f++) {
                            const PAL_T *a = fold->a[f];

                            v -= 2.0 * fold->w[f] *
                                 (double)a[i * fold->lda[f] + i];
                        }
                    }
                    e[i * ld + i] = (PAL_T)v;
                }
            }
        }
    }
    (void)threads;
}

/* The upper triangle of an n x n matrix from its lower one (a product
 * that filled only the lower triangle), by blocks. */
static void FN(mirror_)(PAL_T *s, int64_t n, int64_t ld, int threads)
{
    const int64_t bs = 64, nb = (n + bs - 1) / bs;

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
#endif
    for (int64_t bi = 0; bi < nb; bi++) {
        const int64_t i0 = bi * bs, i1 = i0 + bs < n ? i0 + bs : n;

        for (int64_t j0 = i0; j0 < n; j0 += bs) {
            const int64_t j1 = j0 + bs < n ? j0 + bs : n;

            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = j0 > i + 1 ? j0 : i + 1; j < j1; j++)
                    s[i * ld + j] = s[j * ld + i];
        }
    }
    (void)threads;
}

#undef FN
#undef PAL_CAT
#undef PAL_CAT_
