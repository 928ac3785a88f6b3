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

/* sum_j a_j b_j, in double. */
static inline double FN(row_dot_)(const PAL_T *a, const PAL_T *b, int64_t n)
{
    pal__v4d acc[PAL_VL / 4];
    double s = 0.0;
    int64_t j = 0;

    for (int64_t l = 0; l < PAL_VL / 4; l++)
        acc[l] = pal__v4d_set(0.0);
    for (; j + PAL_VL <= n; j += PAL_VL)
        PAL_VACC(acc, PAL_VLOAD(a + j) * PAL_VLOAD(b + j));
    for (int64_t l = 0; l < PAL_VL / 4; l++)
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
            const PAL_V sv = PAL_VSET(sh);
            pal__v4d acc[PAL_VL / 4];
            double add = 0.0;
            int64_t c = 0;

            for (int64_t l = 0; l < PAL_VL / 4; l++)
                acc[l] = pal__v4d_set(0.0);
            for (; c + PAL_VL <= bj; c += PAL_VL)
                PAL_VACC(acc, PAL_VEXP(PAL_VLOAD(row + c) - sv));
            for (int64_t l = 0; l < PAL_VL / 4; l++)
                add += (acc[l][0] + acc[l][1]) + (acc[l][2] + acc[l][3]);
            for (; c < bj; c++)
                add += (double)PAL_SEXP(row[c] - sh);
            FN(stats_update_)(&m[i0 + a], &sum[i0 + a], (double)sh, add);
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
 * The whole n x n matrix, in place, from e (rows_softmax_ output):
 *   B_ij = c_i e_ij + c_j e_ji - sum_f w_f (A_f[i][j] + A_f[j][i]),
 * symmetric. Square tiles of PAL_VL x PAL_VL below the diagonal are
 * combined in registers with their mirror tiles (transposed there), in
 * double: near the optimum the attraction and the repulsion nearly
 * cancel, entry by entry. With skip the diagonal is 0 (G' has none, and
 * e_ii = 0).
 */

/* One entry, for the diagonal tiles and the edges. */
static inline void FN(b_entry_)(PAL_T *e, int64_t ld, int64_t i, int64_t j,
                                const double *c, bool skip,
                                const pal__fold_t *fold)
{
    double v;

    if (i == j) {
        v = 0.0;
        if (!skip) {
            v = 2.0 * c[i] * (double)e[i * ld + i];
            for (int f = 0; f < fold->n; f++)
                v -= 2.0 * fold->w[f] *
                     (double)((const PAL_T *)fold->a[f])[i * fold->lda[f] + i];
        }
        e[i * ld + i] = (PAL_T)v;
        return;
    }
    v = c[i] * (double)e[i * ld + j] + c[j] * (double)e[j * ld + i];
    for (int f = 0; f < fold->n; f++) {
        const PAL_T *a = fold->a[f];
        const int64_t la = fold->lda[f];

        v -= fold->w[f] * ((double)a[i * la + j] + (double)a[j * la + i]);
    }
    e[i * ld + j] = (PAL_T)v;
    e[j * ld + i] = (PAL_T)v;
}

/* The tile at rows i0.., columns j0.. (i0 > j0, full tiles), and its
 * mirror. */
static inline void FN(b_tile_)(PAL_T *e, int64_t ld, int64_t i0, int64_t j0,
                               const double *c, const pal__fold_t *fold)
{
    enum { H = PAL_VL / 4 }; /* vectors of 4 doubles per row of the tile */
    PAL_V r[PAL_VL], q[PAL_VL];
    pal__v4d cj[H];

    for (int64_t h = 0; h < H; h++)
        cj[h] = pal__v4d_load(c + j0 + 4 * h);
    for (int a = 0; a < PAL_VL; a++) {
        r[a] = PAL_VLOAD(e + (i0 + a) * ld + j0);
        q[a] = PAL_VLOAD(e + (j0 + a) * ld + i0);
    }
    PAL_VTRANSPOSE(q);
    for (int a = 0; a < PAL_VL; a++) {
        pal__v4d x[H], y[H];

        PAL_VWIDEN(r[a], x);
        PAL_VWIDEN(q[a], y);
        for (int64_t h = 0; h < H; h++)
            x[h] = c[i0 + a] * x[h] + cj[h] * y[h];
        for (int f = 0; f < fold->n; f++) {
            const PAL_T *af = fold->a[f];
            const int64_t la = fold->lda[f];
            PAL_V g[PAL_VL];
            pal__v4d gx[H], gy[H];

            /* The mirror rows of A, transposed like e's. */
            for (int b = 0; b < PAL_VL; b++)
                g[b] = PAL_VLOAD(af + (j0 + b) * la + i0);
            PAL_VTRANSPOSE(g);
            PAL_VWIDEN(PAL_VLOAD(af + (i0 + a) * la + j0), gx);
            PAL_VWIDEN(g[a], gy);
            for (int64_t h = 0; h < H; h++)
                x[h] -= fold->w[f] * (gx[h] + gy[h]);
        }
        r[a] = PAL_VNARROW(x);
    }
    for (int a = 0; a < PAL_VL; a++)
        PAL_VSTORE(e + (i0 + a) * ld + j0, r[a]);
    PAL_VTRANSPOSE(r);
    for (int a = 0; a < PAL_VL; a++)
        PAL_VSTORE(e + (j0 + a) * ld + i0, r[a]);
}

/* Tiles are visited by blocks of BLK x BLK entries, so that the rows a
 * block writes through its mirror stay in cache while it is done. */
#define BLK 64

static void FN(sym_b_)(PAL_T *e, int64_t n, int64_t ld, const double *c,
                       bool skip, const pal__fold_t *fold, int threads)
{
    const int64_t nb = n / BLK; /* full blocks per side */

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
#endif
    for (int64_t bi = 0; bi < nb; bi++) {
        for (int64_t bj = 0; bj <= bi; bj++) {
            for (int64_t i0 = bi * BLK; i0 < (bi + 1) * BLK; i0 += PAL_VL) {
                const int64_t jend = bj == bi ? i0 : (bj + 1) * BLK;

                for (int64_t j0 = bj * BLK; j0 < jend; j0 += PAL_VL)
                    FN(b_tile_)(e, ld, i0, j0, c, fold);
                if (bj == bi)
                    for (int64_t i = i0; i < i0 + PAL_VL; i++)
                        for (int64_t j = i0; j <= i; j++)
                            FN(b_entry_)(e, ld, i, j, c, skip, fold);
            }
        }
    }
    /* The rows past the last full block, against every column. */
    for (int64_t i = nb * BLK; i < n; i++)
        for (int64_t j = 0; j <= i; j++)
            FN(b_entry_)(e, ld, i, j, c, skip, fold);
    (void)threads;
}

/* The upper triangle of an n x n matrix from its lower one (a product
 * that filled only the lower triangle), tile by tile. */
static void FN(mirror_)(PAL_T *s, int64_t n, int64_t ld, int threads)
{
    const int64_t nb = n / BLK;

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
#endif
    for (int64_t bi = 0; bi < nb; bi++) {
        for (int64_t bj = 0; bj <= bi; bj++) {
            for (int64_t i0 = bi * BLK; i0 < (bi + 1) * BLK; i0 += PAL_VL) {
                const int64_t jend = bj == bi ? i0 : (bj + 1) * BLK;

                for (int64_t j0 = bj * BLK; j0 < jend; j0 += PAL_VL) {
                    PAL_V r[PAL_VL];

                    for (int a = 0; a < PAL_VL; a++)
                        r[a] = PAL_VLOAD(s + (i0 + a) * ld + j0);
                    PAL_VTRANSPOSE(r);
                    for (int a = 0; a < PAL_VL; a++)
                        PAL_VSTORE(s + (j0 + a) * ld + i0, r[a]);
                }
                if (bj == bi)
                    for (int64_t i = i0; i < i0 + PAL_VL; i++)
                        for (int64_t j = i0; j < i; j++)
                            s[j * ld + i] = s[i * ld + j];
            }
        }
    }
    for (int64_t i = nb * BLK; i < n; i++)
        for (int64_t j = 0; j < i; j++)
            s[j * ld + i] = s[i * ld + j];
    (void)threads;
}

#undef BLK
#undef FN
#undef PAL_CAT
#undef PAL_CAT_
