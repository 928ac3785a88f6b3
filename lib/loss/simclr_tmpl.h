/*
 * SimCLR tile kernels, written once: simclr.c includes this file with
 * PAL_T = float and PAL_T = double. A tile is rows [row0, row0 + b) of
 * S = Zt Zt^T / tau, row stride lds. Sums accumulate in double; the
 * exponentials are taken of s - max <= 0, so they never overflow.
 */
#define PAL_CAT_(a, b) a##b
#define PAL_CAT(a, b) PAL_CAT_(a, b)
#define FN(name) PAL_CAT(name, PAL_SFX)

/* lse[r] = log sum_{j in D_i} exp(s_ij) for each row of the tile;
 * -infinity for a row whose D_i is empty (n = 1 without the self term). */
static void FN(tile_lse_)(const PAL_T *s, int64_t b, int64_t n, int64_t lds,
                          int64_t row0, bool skip_self, double *lse)
{
    for (int64_t r = 0; r < b; r++) {
        const PAL_T *row = s + r * lds;
        const int64_t self = skip_self ? row0 + r : -1;
        PAL_T m = -(PAL_T)INFINITY;
        double sum = 0.0;

        for (int64_t j = 0; j < n; j++)
            if (j != self && row[j] > m)
                m = row[j];
        if (m == -(PAL_T)INFINITY) {
            lse[r] = -INFINITY;
            continue;
        }
        for (int64_t j = 0; j < n; j++)
            if (j != self)
                sum += (double)PAL_EXP(row[j] - m);
        lse[r] = (double)m + log(sum);
    }
}

/* In place: s_ij <- d_i exp(s_ij - lse_i) = d_i P_ij, with P_ii = 0
 * without the self term, and a zero row where d_i = 0. */
static void FN(tile_p_)(PAL_T *s, int64_t b, int64_t n, int64_t lds,
                        int64_t row0, bool skip_self, const double *lse,
                        const double *d)
{
    for (int64_t r = 0; r < b; r++) {
        PAL_T *row = s + r * lds;
        const double di = d[row0 + r];
        const PAL_T shift = (PAL_T)lse[row0 + r];

        if (di == 0.0) {
            memset(row, 0, (size_t)n * sizeof *row);
            continue;
        }
        for (int64_t j = 0; j < n; j++)
            row[j] = (PAL_T)(di * (double)PAL_EXP(row[j] - shift));
        if (skip_self)
            row[row0 + r] = 0;
    }
}

/* In place on an n x n matrix: B = P + P^T, by blocks for the cache. */
static void FN(sym_sum_)(PAL_T *p, int64_t n, int64_t ld)
{
    const int64_t bs = 64;

    for (int64_t i0 = 0; i0 < n; i0 += bs) {
        for (int64_t j0 = 0; j0 <= i0; j0 += bs) {
            int64_t i1 = i0 + bs < n ? i0 + bs : n;
            int64_t j1 = j0 + bs < n ? j0 + bs : n;

            for (int64_t i = i0; i < i1; i++) {
                int64_t jend = j0 == i0 ? i : j1;

                for (int64_t j = j0; j < jend; j++) {
                    PAL_T v = p[i * ld + j] + p[j * ld + i];

                    p[i * ld + j] = v;
                    p[j * ld + i] = v;
                }
                if (j0 == i0)
                    p[i * ld + i] *= 2;
            }
        }
    }
}

#undef FN
#undef PAL_CAT
#undef PAL_CAT_
