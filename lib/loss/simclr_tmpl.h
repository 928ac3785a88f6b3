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

    for (int64_t l = 0; l < PAL_VL / 4; l++)
        acc[l] = pal__v4d_set(0.0);
    for (; j + PAL_VL <= n; j += PAL_VL)
        PAL_VACC(acc, PAL_VLOAD(x + j));
    for (int64_t l = 0; l < PAL_VL / 4; l++)
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

/* sum_j exp(x_j - sh), in double. */
static inline double FN(row_expsum_)(const PAL_T *x, int64_t n, PAL_T sh)
{
    const PAL_V sv = PAL_VSET(sh);
    pal__v4d acc[PAL_VL / 4];
    double s = 0.0;
    int64_t j = 0;

    for (int64_t l = 0; l < PAL_VL / 4; l++)
        acc[l] = pal__v4d_set(0.0);
    for (; j + PAL_VL <= n; j += PAL_VL)
        PAL_VACC(acc, PAL_VEXP(PAL_VLOAD(x + j) - sv));
    for (int64_t l = 0; l < PAL_VL / 4; l++)
        s += (acc[l][0] + acc[l][1]) + (acc[l][2] + acc[l][3]);
    for (; j < n; j++)
        s += (double)PAL_SEXP(x[j] - sh);
    return s;
}

/*
 * Streamed mode: S is visited in square tiles S_IJ = Zt_I Zt_J^T / tau
 * (rows I, columns J, bi x bj entries, row stride ld) of its lower block
 * triangle, so each entry is computed once per pass (S is symmetric).
 *
 * tile_stats_ folds a tile into running log-sum-exps: the rows of I
 * (m, sum over the tile's rows), and, for a tile off the diagonal, the
 * rows of J (over its columns, since S_JI = S_IJ^T). A running pair
 * (m, sum) stands for sum exp(s - m); a larger maximum rescales the sum
 * first. Entries (i, i) are left out when skip.
 */
static void FN(stats_update_)(double *m, double *sum, double mx, double add)
{
    if (mx > *m) {
        *sum = *sum * exp(*m - mx);
        *m = mx;
    }
    *sum += add;
}

static void FN(tile_stats_)(PAL_T *s, int64_t bi, int64_t bj, int64_t ld,
                            int64_t i0, int64_t j0, bool skip, double *m,
                            double *sum, PAL_T *colmax, double *colacc)
{
    const bool diag = i0 == j0;

    if (diag && skip)
        for (int64_t a = 0; a < bi; a++)
            s[a * ld + a] = -(PAL_T)INFINITY;

    /* The maxima: of each row, and (off the diagonal) of each column. */
    for (int64_t c = 0; c < bj && !diag; c++)
        colmax[c] = -(PAL_T)INFINITY;
    for (int64_t a = 0; a < bi; a++) {
        const PAL_T *row = s + a * ld;
        PAL_T rmx = FN(row_max_)(row, bj);
        double mi = m[i0 + a] > (double)rmx ? m[i0 + a] : (double)rmx;

        if (!diag) {
            int64_t c = 0;

            for (; c + PAL_VL <= bj; c += PAL_VL)
                PAL_VSTORE(colmax + c, PAL_VMAX(PAL_VLOAD(colmax + c),
                                                PAL_VLOAD(row + c)));
            for (; c < bj; c++)
                colmax[c] = row[c] > colmax[c] ? row[c] : colmax[c];
        }
        /* The rows of I: the sum of the tile's row, shifted by the row's
         * new running maximum. */
        if (mi > -INFINITY) {
            const PAL_T sh = (PAL_T)mi;

            FN(stats_update_)(&m[i0 + a], &sum[i0 + a], (double)sh,
                              FN(row_expsum_)(row, bj, sh));
        }
    }
    if (diag)
        return;

    /* The rows of J, column by column of the tile: rescale the running
     * sums to the new maxima, then add the exponentials row by row (in
     * the tile's memory order, with the column sums kept in colacc). */
    for (int64_t c = 0; c < bj; c++) {
        double mx = (double)colmax[c] > m[j0 + c] ? (double)colmax[c]
                                                  : m[j0 + c];

        colacc[c] = mx > -INFINITY && m[j0 + c] > -INFINITY
                        ? sum[j0 + c] * exp(m[j0 + c] - mx)
                        : sum[j0 + c];
        m[j0 + c] = mx;
        colmax[c] = (PAL_T)mx;
    }
    for (int64_t a = 0; a < bi; a++) {
        const PAL_T *row = s + a * ld;
        int64_t c = 0;

        for (; c + PAL_VL <= bj; c += PAL_VL) {
            pal__v4d add[PAL_VL / 4];

            for (int64_t l = 0; l < PAL_VL / 4; l++)
                add[l] = pal__v4d_load(colacc + c + 4 * l);
            PAL_VACC(add, PAL_VEXP(PAL_VLOAD(row + c) -
                                   PAL_VLOAD(colmax + c)));
            for (int64_t l = 0; l < PAL_VL / 4; l++)
                pal__v4d_store(colacc + c + 4 * l, add[l]);
        }
        for (; c < bj; c++)
            colacc[c] += (double)PAL_SEXP(row[c] - colmax[c]);
    }
    for (int64_t c = 0; c < bj; c++)
        sum[j0 + c] = colacc[c];
}

/*
 * Streamed mode, second pass, in place on a tile: B_IJ with
 *   B_ab = c_a exp(s_ab - lse_a) + c_b exp(s_ab - lse_b),
 * (rows a of I, columns b of J), c = d: the tile of P' + P'^T. On a
 * diagonal tile with skip, B_aa = 0.
 */
static void FN(tile_b_)(PAL_T *s, int64_t bi, int64_t bj, int64_t ld,
                        int64_t i0, int64_t j0, bool skip, const double *lse,
                        const double *c, PAL_T *lsej, PAL_T *cj)
{
    for (int64_t b = 0; b < bj; b++) {
        lsej[b] = (PAL_T)lse[j0 + b];
        cj[b] = (PAL_T)c[j0 + b];
    }
    for (int64_t a = 0; a < bi; a++) {
        PAL_T *row = s + a * ld;
        const PAL_T li = (PAL_T)lse[i0 + a], ci = (PAL_T)c[i0 + a];
        const PAL_V lv = PAL_VSET(li), cv = PAL_VSET(ci);
        int64_t b = 0;

        for (; b + PAL_VL <= bj; b += PAL_VL) {
            PAL_V x = PAL_VLOAD(row + b);

            PAL_VSTORE(row + b,
                       cv * PAL_VEXP(x - lv) +
                           PAL_VLOAD(cj + b) *
                               PAL_VEXP(x - PAL_VLOAD(lsej + b)));
        }
        for (; b < bj; b++)
            row[b] = ci * PAL_SEXP(row[b] - li) +
                     cj[b] * PAL_SEXP(row[b] - lsej[b]);
        if (skip && i0 == j0)
            row[a] = 0;
    }
}

/*
 * Streamed mode with the fixed shift M >= every s_ij (see lower_exp_):
 * tile_expsum_ adds to the running row sums (sum, starting at 0) the
 * tile's exp(s_ab - M): along its rows for the rows of I and, off the
 * diagonal, down its columns for the rows of J. The rows go by chunks of
 * PAL__SIMCLR_TROWS to the threads; each chunk keeps its own column sums
 * in cpart, added in chunk order, so that nothing depends on the thread
 * count. A diagonal tile with skip gets -infinity on its diagonal.
 */
static void FN(tile_expsum_)(PAL_T *s, int64_t bi, int64_t bj, int64_t ld,
                             int64_t i0, int64_t j0, bool skip, PAL_T shift,
                             double *sum, double *cpart, int threads)
{
    enum { H = PAL_VL / 4 };
    const int64_t tr = PAL__SIMCLR_TROWS;
    const int64_t nc = (bi + tr - 1) / tr;
    const int64_t bv = bj - bj % PAL_VL;
    const bool diag = i0 == j0;
    const PAL_V sh = PAL_VSET(shift);

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1) \
    if (bi * bj >= 65536)
#endif
    for (int64_t q = 0; q < nc; q++) {
        const int64_t a1 = bi - q * tr < tr ? bi : q * tr + tr;
        double *cp = cpart + q * bj;

        if (!diag)
            memset(cp, 0, (size_t)bj * sizeof *cp);
        for (int64_t a = q * tr; a < a1; a++) {
            PAL_T *row = s + a * ld;
            pal__v4d racc[H];
            double t = 0.0;

            if (diag && skip)
                row[a] = -(PAL_T)INFINITY;
            for (int64_t h = 0; h < H; h++)
                racc[h] = pal__v4d_set(0.0);
            for (int64_t c = 0; c < bv; c += PAL_VL) {
                const PAL_V e = PAL_VEXP(PAL_VLOAD(row + c) - sh);

                PAL_VACC(racc, e);
                if (!diag) {
                    pal__v4d col[H];

                    for (int64_t h = 0; h < H; h++)
                        col[h] = pal__v4d_load(cp + c + 4 * h);
                    PAL_VACC(col, e);
                    for (int64_t h = 0; h < H; h++)
                        pal__v4d_store(cp + c + 4 * h, col[h]);
                }
            }
            for (int64_t h = 0; h < H; h++)
                t += (racc[h][0] + racc[h][1]) + (racc[h][2] + racc[h][3]);
            for (int64_t c = bv; c < bj; c++) {
                const double e = (double)PAL_SEXP(row[c] - shift);

                t += e;
                if (!diag)
                    cp[c] += e;
            }
            sum[i0 + a] += t;
        }
    }
    if (diag)
        return;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (bi * bj >= 65536)
#endif
    for (int64_t b = 0; b < bj; b++) {
        double t = 0.0;

        for (int64_t q = 0; q < nc; q++)
            t += cpart[q * bj + b];
        sum[j0 + b] += t;
    }
    (void)threads;
}

/*
 * Streamed mode, second pass with the fixed shift, in place on a tile:
 *   B_ab = exp(s_ab - M) (c_a + c_b),  c = d / (row sum), in Z's type
 * (B_aa = 0 on a diagonal tile with skip).
 */
static void FN(tile_bs_)(PAL_T *s, int64_t bi, int64_t bj, int64_t ld,
                         int64_t i0, int64_t j0, bool skip, PAL_T shift,
                         const PAL_T *cv, int threads)
{
    const int64_t bv = bj - bj % PAL_VL;
    const PAL_V sh = PAL_VSET(shift);

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (bi * bj >= 65536)
#endif
    for (int64_t a = 0; a < bi; a++) {
        PAL_T *row = s + a * ld;
        const PAL_T ci = cv[i0 + a];
        const PAL_V civ = PAL_VSET(ci);

        for (int64_t c = 0; c < bv; c += PAL_VL)
            PAL_VSTORE(row + c, PAL_VEXP(PAL_VLOAD(row + c) - sh) *
                                    (civ + PAL_VLOAD(cv + j0 + c)));
        for (int64_t c = bv; c < bj; c++)
            row[c] = PAL_SEXP(row[c] - shift) * (ci + cv[j0 + c]);
        if (skip && i0 == j0)
            row[a] = 0;
    }
    (void)threads;
}


/*
 * Whole mode: S is held as its lower triangle (s_ij for j <= i, one
 * symmetric rank-k update), row stride ld. Row i of S lies along row i
 * up to the diagonal, then down column i below it; each part gives a
 * pair (m, sum) standing for sum exp(s - m), which the caller combines.
 * Every pair is summed in an order fixed by n alone, so the results do
 * not depend on the thread count.
 *
 * lower_rows_: the part along the rows, j <= i (j < i when skip).
 */
static void FN(lower_rows_)(const PAL_T *s, int64_t n, int64_t ld,
                            bool skip, double *m, double *sum, int threads)
{
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 16) \
    if (n >= 256)
#endif
    for (int64_t i = 0; i < n; i++) {
        const PAL_T *row = s + i * ld;
        const int64_t len = skip ? i : i + 1;
        const PAL_T mx = len > 0 ? FN(row_max_)(row, len) : -(PAL_T)INFINITY;

        m[i] = (double)mx;
        sum[i] = mx > -(PAL_T)INFINITY ? FN(row_expsum_)(row, len, mx) : 0.0;
    }
    (void)threads;
}

/* Columns per block of lower_cols_, and rows per chunk of a block. */
#define CB ((int64_t)8 * PAL_VL)
#define CR ((int64_t)64)

/* Rows [0, rows) of a chunk (stride ld, bj <= CB columns) into the
 * running column pairs (cm, ca): the chunk's column maxima first, then
 * the exponentials. -infinity entries add nothing. */
static void FN(cols_chunk_)(const PAL_T *x, int64_t rows, int64_t ld,
                            int64_t bj, double *cm, double *ca)
{
    PAL_T mx[CB], sh[CB];
    const int64_t bv = bj - bj % PAL_VL;

    for (int64_t c = 0; c < bj; c++)
        mx[c] = -(PAL_T)INFINITY;
    for (int64_t r = 0; r < rows; r++) {
        const PAL_T *row = x + r * ld;

        for (int64_t c = 0; c < bv; c += PAL_VL)
            PAL_VSTORE(mx + c,
                       PAL_VMAX(PAL_VLOAD(mx + c), PAL_VLOAD(row + c)));
        for (int64_t c = bv; c < bj; c++)
            mx[c] = row[c] > mx[c] ? row[c] : mx[c];
    }
    for (int64_t c = 0; c < bj; c++) {
        if ((double)mx[c] > cm[c]) {
            ca[c] = cm[c] > -INFINITY ? ca[c] * exp(cm[c] - (double)mx[c])
                                      : 0.0;
            cm[c] = (double)mx[c];
        }
        /* A column with nothing yet has only -infinity entries here. */
        sh[c] = cm[c] > -INFINITY ? (PAL_T)cm[c] : 0;
    }
    for (int64_t r = 0; r < rows; r++) {
        const PAL_T *row = x + r * ld;

        for (int64_t c = 0; c < bv; c += PAL_VL) {
            pal__v4d add[PAL_VL / 4];

            for (int64_t l = 0; l < PAL_VL / 4; l++)
                add[l] = pal__v4d_load(ca + c + 4 * l);
            PAL_VACC(add, PAL_VEXP(PAL_VLOAD(row + c) - PAL_VLOAD(sh + c)));
            for (int64_t l = 0; l < PAL_VL / 4; l++)
                pal__v4d_store(ca + c + 4 * l, add[l]);
        }
        for (int64_t c = bv; c < bj; c++)
            ca[c] += (double)PAL_SEXP(row[c] - sh[c]);
    }
}

/* lower_cols_: the part down the columns, l > j, by blocks of CB
 * columns: first the block's own triangle (copied out, the entries on
 * and above the diagonal masked), then the rows below it, CR at a time. */
static void FN(lower_cols_)(const PAL_T *s, int64_t n, int64_t ld,
                            double *m, double *sum, int threads)
{
    const int64_t nb = (n + CB - 1) / CB;

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) \
    if (n >= 256)
#endif
    for (int64_t b = 0; b < nb; b++) {
        const int64_t j0 = b * CB, bj = n - j0 < CB ? n - j0 : CB;
        PAL_T tri[CB * CB];
        double cm[CB], ca[CB];

        for (int64_t c = 0; c < CB; c++) {
            cm[c] = -INFINITY;
            ca[c] = 0.0;
        }
        for (int64_t r = 0; r < bj; r++)
            for (int64_t c = 0; c < bj; c++)
                tri[r * CB + c] =
                    c < r ? s[(j0 + r) * ld + j0 + c] : -(PAL_T)INFINITY;
        FN(cols_chunk_)(tri, bj, CB, bj, cm, ca);
        for (int64_t l0 = j0 + bj; l0 < n; l0 += CR)
            FN(cols_chunk_)(s + l0 * ld + j0, n - l0 < CR ? n - l0 : CR, ld,
                            bj, cm, ca);
        for (int64_t c = 0; c < bj; c++) {
            m[j0 + c] = cm[c];
            sum[j0 + c] = ca[c];
        }
    }
    (void)threads;
}

#undef CB
#undef CR

/*
 * The folded dense terms G_f, summed and symmetrised:
 *   g_ij = sum_f w_f (A_f[i][j] + A_f[j][i]),
 * for one entry, and for a PAL_VL x PAL_VL tile (rows i0.., columns j0..,
 * below the diagonal) in double, A_f[j][i] coming from tiles transposed
 * in registers (not for symmetric terms).
 */
static inline double FN(fold_entry_)(const pal__fold_t *fold, int64_t i,
                                     int64_t j)
{
    double g = 0.0;

    for (int f = 0; f < fold->n; f++) {
        const PAL_T *a = fold->a[f];
        const int64_t la = fold->lda[f];

        g += fold->w[f] * ((double)a[i * la + j] + (double)a[j * la + i]);
    }
    return g;
}

static inline __attribute__((always_inline)) void
FN(fold_tile_)(const pal__fold_t *fold, int64_t i0, int64_t j0,
               pal__v4d g[PAL_VL][PAL_VL / 4])
{
    enum { H = PAL_VL / 4 };
    PAL_V gt[PAL_VL];

    for (int64_t a = 0; a < PAL_VL; a++)
        for (int64_t h = 0; h < H; h++)
            g[a][h] = pal__v4d_set(0.0);
    for (int f = 0; f < fold->n; f++) {
        const PAL_T *af = fold->a[f];
        const int64_t la = fold->lda[f];
        const double wf = fold->w[f];

        if (!fold->sym[f]) {
            for (int64_t b = 0; b < PAL_VL; b++)
                gt[b] = PAL_VLOAD(af + (j0 + b) * la + i0);
            PAL_VTRANSPOSE(gt);
        }
        for (int64_t a = 0; a < PAL_VL; a++) {
            pal__v4d u[H];

            PAL_VWIDEN(PAL_VLOAD(af + (i0 + a) * la + j0), u);
            if (fold->sym[f]) {
                for (int64_t h = 0; h < H; h++)
                    g[a][h] += (2.0 * wf) * u[h];
            } else {
                pal__v4d t[H];

                PAL_VWIDEN(gt[a], t);
                for (int64_t h = 0; h < H; h++)
                    g[a][h] += wf * (u[h] + t[h]);
            }
        }
    }
}

/* sum_h g[h] . x (x widened), in double. */
static inline __attribute__((always_inline)) double
FN(gdot_)(const pal__v4d *g, PAL_V x)
{
    pal__v4d xs[PAL_VL / 4], acc = pal__v4d_set(0.0);

    PAL_VWIDEN(x, xs);
    for (int64_t h = 0; h < PAL_VL / 4; h++)
        acc += g[h] * xs[h];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/*
 * Whole mode with a fixed shift M >= every s_ij (the rows of Zt have norm
 * at most 1, so M = 1/tau), used when exp(-2M) is still a normal number:
 * then no entry needs its row's maximum, and each is exponentiated once.
 * In place on the lower triangle:
 *   e_ij = exp(s_ij - M)  (j <= i; e_ii = 0 when skip),
 *   rsum[i] = sum_{j <= i} e_ij                       (along the rows),
 *   cpart[p n + j] = sum_{i > j, i in panel p} e_ij   (down the columns,
 *                    by panels of PAL__SIMCLR_PANEL rows, for j < the panel's end),
 *   pos[i] = sum_{j < i} g_ij s_ij + (not skip) g_ii s_ii / 2
 *            (folded terms only; pos may be NULL without them),
 * so that row i's sum is rsum[i] plus the panels' cpart at column i, and
 * sum_i pos[i] = sum_i sum_{j in D_i} G_ij s_ij over the folded terms.
 * Panels go to the threads whole and every sum runs in an order fixed by
 * n, so the results do not depend on the thread count.
 */
static inline void FN(le_entry_)(PAL_T *s, int64_t ld, int64_t i, int64_t j,
                                 PAL_T shift, bool skip,
                                 const pal__fold_t *fold, double *racc,
                                 double *cp, double *pos)
{
    PAL_T *x = s + i * ld + j, e;

    if (i == j && skip) {
        *x = 0;
        return;
    }
    if (fold->n > 0)
        *pos += (i == j ? 0.5 : 1.0) * FN(fold_entry_)(fold, i, j) *
                (double)*x;
    e = PAL_SEXP(*x - shift);
    *x = e;
    *racc += (double)e;
    if (j < i)
        cp[j] += (double)e;
}

static void FN(lower_exp_)(PAL_T *s, int64_t n, int64_t ld, PAL_T shift,
                           bool skip, const pal__fold_t *fold, double *rsum,
                           double *cpart, double *pos, int threads)
{
    enum { H = PAL_VL / 4 };
    const int64_t np = (n + PAL__SIMCLR_PANEL - 1) / PAL__SIMCLR_PANEL;
    const PAL_V sh = PAL_VSET(shift);

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) \
    if (n >= 256)
#endif
    for (int64_t pnl = 0; pnl < np; pnl++) {
        const int64_t p0 = pnl * PAL__SIMCLR_PANEL;
        const int64_t p1 = n - p0 < PAL__SIMCLR_PANEL ? n : p0 + PAL__SIMCLR_PANEL;
        double *cp = cpart + pnl * n;

        memset(cp, 0, (size_t)p1 * sizeof *cp);
        for (int64_t i0 = p0; i0 < p1; i0 += PAL_VL) {
            const int64_t rows = p1 - i0 < PAL_VL ? p1 - i0 : PAL_VL;
            pal__v4d racc[PAL_VL][H];
            double p[PAL_VL], rs[PAL_VL];

            for (int64_t a = 0; a < PAL_VL; a++) {
                p[a] = 0.0;
                rs[a] = 0.0;
                for (int64_t h = 0; h < H; h++)
                    racc[a][h] = pal__v4d_set(0.0);
            }
            /* Full tiles left of the block's diagonal tile. */
            for (int64_t j0 = 0; rows == PAL_VL && j0 < i0; j0 += PAL_VL) {
                PAL_V x[PAL_VL];
                pal__v4d col[H];

                for (int64_t a = 0; a < PAL_VL; a++)
                    x[a] = PAL_VLOAD(s + (i0 + a) * ld + j0);
                if (fold->n > 0) {
                    pal__v4d g[PAL_VL][H];

                    FN(fold_tile_)(fold, i0, j0, g);
                    for (int64_t a = 0; a < PAL_VL; a++)
                        p[a] += FN(gdot_)(g[a], x[a]);
                }
                for (int64_t h = 0; h < H; h++)
                    col[h] = pal__v4d_load(cp + j0 + 4 * h);
                for (int64_t a = 0; a < PAL_VL; a++) {
                    const PAL_V e = PAL_VEXP(x[a] - sh);

                    PAL_VSTORE(s + (i0 + a) * ld + j0, e);
                    PAL_VACC(racc[a], e);
                    PAL_VACC(col, e);
                }
                for (int64_t h = 0; h < H; h++)
                    pal__v4d_store(cp + j0 + 4 * h, col[h]);
            }
            /* The diagonal tile, or the last rows against every column. */
            for (int64_t a = 0; a < rows; a++) {
                const int64_t i = i0 + a;

                for (int64_t j = rows == PAL_VL ? i0 : 0; j <= i; j++)
                    FN(le_entry_)(s, ld, i, j, shift, skip, fold, &rs[a],
                                  cp, &p[a]);
            }
            for (int64_t a = 0; a < rows; a++) {
                double t = 0.0;

                for (int64_t h = 0; h < H; h++)
                    t += (racc[a][h][0] + racc[a][h][1]) +
                         (racc[a][h][2] + racc[a][h][3]);
                rsum[i0 + a] = t + rs[a];
                if (pos)
                    pos[i0 + a] = p[a];
            }
        }
    }
    (void)threads;
}

/* Row i's sum from lower_exp_'s parts: rsum[i] plus the column parts of
 * the panels that reach below row i, in panel order. */
static void FN(lower_exp_sum_)(int64_t n, const double *rsum,
                               const double *cpart, double *sum, int threads)
{
    const int64_t np = (n + PAL__SIMCLR_PANEL - 1) / PAL__SIMCLR_PANEL;

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (n >= 4096)
#endif
    for (int64_t i = 0; i < n; i++) {
        double t = rsum[i];

        for (int64_t pnl = i / PAL__SIMCLR_PANEL; pnl < np; pnl++)
            t += cpart[pnl * n + i];
        sum[i] = t;
    }
    (void)threads;
}

/*
 * Whole mode, second pass, in place on the lower triangle: the lower
 * triangle of B = P' + P'^T - (G_f + G_f^T) (G_f the folded terms), from
 *   exps (lower_rows_/lower_cols_ before, S in place, l = lse):
 *     B_ij = c_i exp(s_ij - l_i) + c_j exp(s_ij - l_j) - g_ij,
 *     with pos[i] as lower_exp_'s (pos may be NULL);
 *   or scaled (lower_exp_ before, e in place, c_i = d_i / row sum):
 *     B_ij = e_ij (c_i + c_j) - g_ij;
 * for j < i, B_ii the same with j = i (0 when skip). cv and lv are c and
 * l in Z's type. With write false, only pos (S is left as it is). With
 * folded terms B is formed in double: near the optimum attraction and
 * repulsion nearly cancel, entry by entry.
 */
static inline void FN(lb_entry_)(PAL_T *s, int64_t ld, int64_t i, int64_t j,
                                 bool scaled, const double *c,
                                 const PAL_T *cv, const PAL_T *lv, bool skip,
                                 const pal__fold_t *fold, bool write,
                                 double *pos)
{
    PAL_T *x = s + i * ld + j;
    double g = 0.0, v;

    if (i == j && skip) {
        if (write)
            *x = 0;
        return;
    }
    if (fold->n > 0)
        g = FN(fold_entry_)(fold, i, j);
    if (!scaled && pos)
        *pos += (i == j ? 0.5 : 1.0) * g * (double)*x;
    if (!write)
        return;
    if (scaled) {
        v = fold->n > 0 ? (double)*x * (c[i] + c[j]) - g
                        : (double)(*x * (cv[i] + cv[j]));
    } else {
        const PAL_T e1 = PAL_SEXP(*x - lv[i]), e2 = PAL_SEXP(*x - lv[j]);

        v = fold->n > 0 ? c[i] * (double)e1 + c[j] * (double)e2 - g
                        : (double)(cv[i] * e1 + cv[j] * e2);
    }
    *x = (PAL_T)v;
}

static void FN(lower_b_)(PAL_T *s, int64_t n, int64_t ld, bool scaled,
                         const double *c, const PAL_T *cv, const PAL_T *lv,
                         bool skip, const pal__fold_t *fold, bool write,
                         double *pos, int threads)
{
    enum { H = PAL_VL / 4 };
    const int64_t nrb = n / PAL_VL; /* full blocks of rows */

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 2) \
    if (n >= 256)
#endif
    for (int64_t rb = 0; rb <= nrb; rb++) {
        const int64_t i0 = rb * PAL_VL;
        const int64_t rows = rb < nrb ? PAL_VL : n - i0;
        double p[PAL_VL];

        for (int64_t a = 0; a < PAL_VL; a++)
            p[a] = 0.0;
        /* Full tiles left of the block's diagonal tile. */
        for (int64_t j0 = 0; rows == PAL_VL && j0 < i0; j0 += PAL_VL) {
            PAL_V x[PAL_VL];
            pal__v4d g[PAL_VL][H], cj[H];

            for (int64_t a = 0; a < PAL_VL; a++)
                x[a] = PAL_VLOAD(s + (i0 + a) * ld + j0);
            if (fold->n == 0) {
                const PAL_V cjv = PAL_VLOAD(cv + j0);

                for (int64_t a = 0; a < PAL_VL && write; a++) {
                    const PAL_V ci = PAL_VSET(cv[i0 + a]);
                    PAL_V v;

                    if (scaled)
                        v = x[a] * (ci + cjv);
                    else
                        v = ci * PAL_VEXP(x[a] - PAL_VSET(lv[i0 + a])) +
                            cjv * PAL_VEXP(x[a] - PAL_VLOAD(lv + j0));
                    PAL_VSTORE(s + (i0 + a) * ld + j0, v);
                }
                continue;
            }
            FN(fold_tile_)(fold, i0, j0, g);
            for (int64_t h = 0; h < H; h++)
                cj[h] = pal__v4d_load(c + j0 + 4 * h);
            for (int64_t a = 0; a < PAL_VL; a++) {
                pal__v4d e1[H], e2[H];

                if (!scaled && pos)
                    p[a] += FN(gdot_)(g[a], x[a]);
                if (!write)
                    continue;
                if (scaled) {
                    PAL_VWIDEN(x[a], e1);
                    for (int64_t h = 0; h < H; h++)
                        e1[h] = e1[h] * (c[i0 + a] + cj[h]) - g[a][h];
                } else {
                    PAL_VWIDEN(PAL_VEXP(x[a] - PAL_VSET(lv[i0 + a])), e1);
                    PAL_VWIDEN(PAL_VEXP(x[a] - PAL_VLOAD(lv + j0)), e2);
                    for (int64_t h = 0; h < H; h++)
                        e1[h] = c[i0 + a] * e1[h] + cj[h] * e2[h] - g[a][h];
                }
                PAL_VSTORE(s + (i0 + a) * ld + j0, PAL_VNARROW(e1));
            }
        }
        /* The diagonal tile, or the last rows against every column. */
        for (int64_t a = 0; a < rows; a++) {
            const int64_t i = i0 + a;

            for (int64_t j = rows == PAL_VL ? i0 : 0; j <= i; j++)
                FN(lb_entry_)(s, ld, i, j, scaled, c, cv, lv, skip, fold,
                              write, &p[a]);
        }
        for (int64_t a = 0; a < rows && pos; a++)
            pos[i0 + a] = p[a];
    }
    (void)threads;
}

#undef FN
#undef PAL_CAT
#undef PAL_CAT_
