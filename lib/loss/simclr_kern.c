/*
 * The elementwise kernels of SimCLR, for float and double from one
 * source (simclr_tmpl.h), on the short vectors of simd.h.
 */
#include "loss_internal.h"
#include "simd.h"

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
#include "simclr_tmpl.h"

void pal__simclr_softmax(pal_dtype_t t, void *s, int64_t b, int64_t n,
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

void pal__simclr_p(pal_dtype_t t, void *s, int64_t b, int64_t n, int64_t lds,
                   int64_t row0, bool skip, const double *lse,
                   const double *c, int threads)
{
    if (t == PAL_F32)
        rows_p_f32(s, b, n, lds, row0, skip, lse, c, threads);
    else
        rows_p_f64(s, b, n, lds, row0, skip, lse, c, threads);
}

void pal__simclr_sym_b(pal_dtype_t t, void *e, int64_t n, int64_t ld,
                       const double *c, bool skip, const pal__fold_t *fold,
                       int threads)
{
    if (t == PAL_F32)
        sym_b_f32(e, n, ld, c, skip, fold, threads);
    else
        sym_b_f64(e, n, ld, c, skip, fold, threads);
}

void pal__simclr_mirror(pal_dtype_t t, void *s, int64_t n, int64_t ld,
                        int threads)
{
    if (t == PAL_F32)
        mirror_f32(s, n, ld, threads);
    else
        mirror_f64(s, n, ld, threads);
}
