/*
 * Dispatch of the elementwise kernels on the element type. The kernels
 * themselves are in typed_tmpl.h, one source for float and double.
 */
#include "loss_internal.h"

#define PAL_T float
#define PAL_SFX f32
#include "typed_tmpl.h"
#undef PAL_T
#undef PAL_SFX

#define PAL_T double
#define PAL_SFX f64
#include "typed_tmpl.h"
#undef PAL_T
#undef PAL_SFX

/* Call the float or double kernel with the same arguments. */
#define DISPATCH(t, name, ...)                  \
    ((t) == PAL_F32 ? name##f32(__VA_ARGS__) \
                    : name##f64(__VA_ARGS__))

void pal__row_norm2(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                    int64_t ldx, double *out)
{
    DISPATCH(t, row_norm2_, nt, n, k, x, ldx, out);
}

double pal__mat_dot(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                    int64_t ldx, const void *y, int64_t ldy)
{
    return DISPATCH(t, mat_dot_, nt, n, k, x, ldx, y, ldy);
}

void pal__row_scale(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                    int64_t ldx, const double *s, double c, void *y,
                    int64_t ldy)
{
    DISPATCH(t, row_scale_, nt, n, k, x, ldx, s, c, y, ldy);
}

void pal__mat_axpby(pal_dtype_t t, int nt, int64_t n, int64_t k, double a,
                    const void *x, int64_t ldx, double b, void *y,
                    int64_t ldy)
{
    DISPATCH(t, mat_axpby_, nt, n, k, a, x, ldx, b, y, ldy);
}

void pal__row_axpy(pal_dtype_t t, int nt, int64_t n, int64_t k, const double *s,
                   const void *x, int64_t ldx, void *y, int64_t ldy)
{
    DISPATCH(t, row_axpy_, nt, n, k, s, x, ldx, y, ldy);
}

void pal__col_sums(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                   int64_t ldx, double *out)
{
    DISPATCH(t, col_sums_, nt, n, k, x, ldx, out);
}

void pal__col_norm2(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                    int64_t ldx, double *out)
{
    DISPATCH(t, col_norm2_, nt, n, k, x, ldx, out);
}

void pal__norms(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                int64_t ldx, bool cols, double *out)
{
    DISPATCH(t, norms_, nt, n, k, x, ldx, cols, out);
}

void pal__col_affine(pal_dtype_t t, int nt, int64_t n, int64_t k, const void *x,
                     int64_t ldx, const double *mu, const double *s, void *y,
                     int64_t ldy)
{
    DISPATCH(t, col_affine_, nt, n, k, x, ldx, mu, s, y, ldy);
}

double pal__at(pal_dtype_t t, const void *x, int64_t ld, int64_t i,
               int64_t j)
{
    return t == PAL_F32 ? (double)((const float *)x)[i * ld + j]
                        : ((const double *)x)[i * ld + j];
}

void pal__set(pal_dtype_t t, void *x, int64_t ld, int64_t i, int64_t j,
              double v)
{
    if (t == PAL_F32)
        ((float *)x)[i * ld + j] = (float)v;
    else
        ((double *)x)[i * ld + j] = v;
}

void pal__unnormalise(pal_dtype_t t, int nt, int64_t n, int64_t k, bool cols,
                      const void *zt, int64_t ldzt, const double *r,
                      double eps, void *g, int64_t ldg, double *tmp)
{
    if (cols) {
        if (t == PAL_F32)
            unnormalise_cols_f32(nt, n, k, zt, ldzt, r, eps, g, ldg, tmp);
        else
            unnormalise_cols_f64(nt, n, k, zt, ldzt, r, eps, g, ldg, tmp);
    } else if (t == PAL_F32) {
        unnormalise_rows_f32(nt, n, k, zt, ldzt, r, eps, g, ldg);
    } else {
        unnormalise_rows_f64(nt, n, k, zt, ldzt, r, eps, g, ldg);
    }
}
