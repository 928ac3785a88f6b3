/*
 * Argument checks shared by every entry point.
 */
#include "internal.h"

size_t pal__matrix_extent(pal_dtype_t dtype, int64_t n, int64_t k,
                          int64_t ld)
{
    /* Callers have validated the sizes, so this cannot overflow. */
    return ((size_t)(n - 1) * (size_t)ld + (size_t)k) * pal_dtype_size(dtype);
}

int pal__check_matrix(pal_dtype_t dtype, int64_t n, int64_t k,
                      const void *p, int64_t ld)
{
    int64_t elems, bytes;

    if (!p)
        return PAL_E_NULL;
    if (pal_dtype_size(dtype) == 0)
        return PAL_E_TYPE;
    if ((uintptr_t)p % pal_dtype_size(dtype) != 0)
        return PAL_E_ALIGN;
    if (n < 1 || k < 1 || n > PAL__MAX_N || k > PAL__MAX_N)
        return PAL_E_SIZE;
    if (ld < k)
        return PAL_E_STRIDE;
    if (!pal__mul_i64(n - 1, ld, &elems) || elems > INT64_MAX - k)
        return PAL_E_SIZE;
    elems += k;
    if (!pal__mul_i64(elems, (int64_t)pal_dtype_size(dtype), &bytes) ||
        (uint64_t)bytes > (uint64_t)(SIZE_MAX / 2))
        return PAL_E_SIZE;
    return PAL_OK;
}

bool pal__overlap(const void *a, size_t na, const void *b, size_t nb)
{
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;

    return pa < pb + nb && pb < pa + na;
}

bool pal__matrix_finite(pal_dtype_t dtype, int64_t n, int64_t k,
                        const void *p, int64_t ld)
{
    for (int64_t i = 0; i < n; i++) {
        if (dtype == PAL_F32) {
            const float *r = (const float *)p + i * ld;
            float acc = 0.0f;

            /* x * 0 is NaN exactly when x is NaN or infinite. */
            for (int64_t j = 0; j < k; j++)
                acc += r[j] * 0.0f;
            if (acc != 0.0f)
                return false;
        } else {
            const double *r = (const double *)p + i * ld;
            double acc = 0.0;

            for (int64_t j = 0; j < k; j++)
                acc += r[j] * 0.0;
            if (acc != 0.0)
                return false;
        }
    }
    return true;
}

int pal__read_opts(void *dst, size_t known, const void *src)
{
    size_t given;

    memcpy(&given, src, sizeof given);
    /* No options structure will ever be near 4 KiB: a larger size is a
     * stray value, and reading that far could leave the caller's memory. */
    if (given < sizeof(size_t) || given > 4096)
        return PAL_E_RANGE;
    /* Every options structure holds a size_t, so its size (of any
     * version) is a multiple of 8, and new fields start 8-aligned: any
     * other size would cut a field in two. */
    if (given % _Alignof(size_t) != 0)
        return PAL_E_RANGE;
    if (given > known) {
        const unsigned char *tail = (const unsigned char *)src + known;

        for (size_t i = 0; i < given - known; i++)
            if (tail[i])
                return PAL_E_RANGE;
        given = known;
    }
    memcpy(dst, src, given);
    memcpy(dst, &known, sizeof known);
    return PAL_OK;
}
