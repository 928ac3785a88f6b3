/*
 * The elementwise kernels of SimCLR, for float and double from one
 * source (simclr_tmpl.h), on the short vectors of simd.h.
 *
 * On x86-64 this file is compiled twice: for the baseline instruction
 * set, and with PAL_KERN_V3 for AVX2 (which doubles the vector width).
 * The baseline build holds the entry points, which take the AVX2 build
 * when the processor has it. Both do the same operations in the same
 * order (no fused multiply-add contraction), so they give the same bits.
 */
#include "loss_internal.h"
#include "simd.h"

#ifdef PAL_KERN_V3
#define KN(name) name##_v3
#else
#define KN(name) name##_base
#endif

#define PAL_T float
#define PAL_SFX f32
#define PAL_V pal__v8f
#define PAL_VL 8
#define PAL_VSET pal__v8f_set
#define PAL_VLOAD pal__v8f_load
#define PAL_VSTORE pal__v8f_store
#define PAL_VMAX pal__v8f_max
#define PAL_VEXP pal__v8f_exp
#define PAL_SEXP pal__expf
#define PAL_VACC pal__v8f_acc
#define PAL_VTRANSPOSE pal__v8f_transpose
#define PAL_VWIDEN pal__v8f_widen
#define PAL_VNARROW pal__v8f_narrow
#include "simclr_tmpl.h"
#undef PAL_T
#undef PAL_SFX
#undef PAL_V
#undef PAL_VL
#undef PAL_VSET
#undef PAL_VLOAD
#undef PAL_VSTORE
#undef PAL_VMAX
#undef PAL_VEXP
#undef PAL_SEXP
#undef PAL_VACC
#undef PAL_VTRANSPOSE
#undef PAL_VWIDEN
#undef PAL_VNARROW

#define PAL_T double
#define PAL_SFX f64
#define PAL_V pal__v4d
#define PAL_VL 4
#define PAL_VSET pal__v4d_set
#define PAL_VLOAD pal__v4d_load
#define PAL_VSTORE pal__v4d_store
#define PAL_VMAX pal__v4d_max
#define PAL_VEXP pal__v4d_exp
#define PAL_SEXP pal__exp
#define PAL_VACC pal__v4d_acc
#define PAL_VTRANSPOSE pal__v4d_transpose
#define PAL_VWIDEN pal__v4d_widen
#define PAL_VNARROW pal__v4d_narrow
#include "simclr_tmpl.h"

/* The entries of the table, dispatching on the element type. */
static void softmax(pal_dtype_t t, void *s, int64_t b, int64_t n,
                    int64_t lds, int64_t row0, bool skip,
                    const pal__fold_t *fold, double *pos, double *lse,
                    double *sum, int threads)
{
    if (t == PAL_F32)
        rows_softmax_f32(s, b, n, lds, row0, skip, fold, pos, lse, sum,
                         threads);
    else
        rows_softmax_f64(s, b, n, lds, row0, skip, fold, pos, lse, sum,
                         threads);
}

static void sym_b(pal_dtype_t t, void *e, int64_t n, int64_t ld,
                  const double *c, bool skip, const pal__fold_t *fold,
                  int threads)
{
    if (t == PAL_F32)
        sym_b_f32(e, n, ld, c, skip, fold, threads);
    else
        sym_b_f64(e, n, ld, c, skip, fold, threads);
}

static void mirror(pal_dtype_t t, void *s, int64_t n, int64_t ld,
                   int threads)
{
    if (t == PAL_F32)
        mirror_f32(s, n, ld, threads);
    else
        mirror_f64(s, n, ld, threads);
}

static void tile_stats(pal_dtype_t t, void *s, int64_t bi, int64_t bj,
                       int64_t ld, int64_t i0, int64_t j0, bool skip,
                       double *m, double *sum, void *colmax, double *colacc)
{
    if (t == PAL_F32)
        tile_stats_f32(s, bi, bj, ld, i0, j0, skip, m, sum, colmax, colacc);
    else
        tile_stats_f64(s, bi, bj, ld, i0, j0, skip, m, sum, colmax, colacc);
}

static void tile_b(pal_dtype_t t, void *s, int64_t bi, int64_t bj,
                   int64_t ld, int64_t i0, int64_t j0, bool skip,
                   const double *lse, const double *c, void *lsej, void *cj)
{
    if (t == PAL_F32)
        tile_b_f32(s, bi, bj, ld, i0, j0, skip, lse, c, lsej, cj);
    else
        tile_b_f64(s, bi, bj, ld, i0, j0, skip, lse, c, lsej, cj);
}

const pal__simclr_kern_t KN(pal__simclr_kern) = {softmax, sym_b, mirror,
                                                 tile_stats, tile_b};

#ifndef PAL_KERN_V3
#ifdef PAL_HAVE_V3
extern const pal__simclr_kern_t pal__simclr_kern_v3;
#endif

const pal__simclr_kern_t *pal__simclr_kernels(void)
{
#ifdef PAL_HAVE_V3
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &pal__simclr_kern_v3;
#endif
    return &pal__simclr_kern_base;
}
#endif
