/*
 * The spectral part's internals: the LAPACK routines it calls, declared
 * here for the Fortran calling convention of the reference LAPACK that
 * Debian ships (liblapack3, built by gfortran), and helpers shared by
 * the embedding, the kernel and the probe.
 *
 * Fortran passes every argument by reference; integers are the default
 * 32-bit INTEGER (an LP64 build, not ILP64); each CHARACTER argument
 * adds a hidden length argument at the end of the list, a size_t since
 * gfortran 8. The prototypes are ours rather than LAPACKE's so that
 * libpal needs only liblapack-dev.
 */
#ifndef PAL_SPECTRAL_INTERNAL_H
#define PAL_SPECTRAL_INTERNAL_H

#include "core/internal.h"
#include "graph/graph_internal.h"
#include "pal/spectral.h"

typedef int pal__lint;    /* LAPACK's INTEGER */
typedef size_t pal__flen; /* gfortran's hidden CHARACTER length */

/* Selected eigenpairs of a symmetric matrix (MRRR). */
void dsyevr_(const char *jobz, const char *range, const char *uplo,
             const pal__lint *n, double *a, const pal__lint *lda,
             const double *vl, const double *vu, const pal__lint *il,
             const pal__lint *iu, const double *abstol, pal__lint *m,
             double *w, double *z, const pal__lint *ldz, pal__lint *isuppz,
             double *work, const pal__lint *lwork, pal__lint *iwork,
             const pal__lint *liwork, pal__lint *info, pal__flen jobz_len,
             pal__flen range_len, pal__flen uplo_len);

/* Cholesky factor of a symmetric positive definite matrix, and the
 * inverse from that factor. */
void dpotrf_(const char *uplo, const pal__lint *n, double *a,
             const pal__lint *lda, pal__lint *info, pal__flen uplo_len);
void dpotri_(const char *uplo, const pal__lint *n, double *a,
             const pal__lint *lda, pal__lint *info, pal__flen uplo_len);

/* Minimum-norm least squares through the singular value decomposition. */
void dgelsd_(const pal__lint *m, const pal__lint *n, const pal__lint *nrhs,
             double *a, const pal__lint *lda, double *b,
             const pal__lint *ldb, double *s, const double *rcond,
             pal__lint *rank, double *work, const pal__lint *lwork,
             pal__lint *iwork, pal__lint *info);

/* LQ factorisation of a general matrix (Householder), and the matrix Q
 * with orthonormal rows formed from its reflectors. */
void dgelqf_(const pal__lint *m, const pal__lint *n, double *a,
             const pal__lint *lda, double *tau, double *work,
             const pal__lint *lwork, pal__lint *info);
void dorglq_(const pal__lint *m, const pal__lint *n, const pal__lint *k,
             double *a, const pal__lint *lda, const double *tau,
             double *work, const pal__lint *lwork, pal__lint *info);

/* Largest INTEGER a size handed to LAPACK may take. */
#define PAL__LINT_MAX INT32_MAX

/*
 * The cnt largest eigenvalues (1 <= cnt <= m) of the symmetric m x m
 * float64 matrix a (row-major, stride m; only its lower triangle is
 * read, and it is destroyed) into w, in descending order, and their
 * unit eigenvectors into vec, one after the other (vector c at vec + c
 * m). The workspace ws holds pal__eig_ws(m, cnt) bytes, 8-byte aligned;
 * pal__eig_ws returns 0 when a size exceeds LAPACK's integers. Returns
 * PAL_OK or PAL_E_RANGE (LAPACK's info != 0).
 */
size_t pal__eig_ws(int64_t m, int64_t cnt);
int pal__eig_top(int64_t m, int64_t cnt, double *a, double *w, double *vec,
                 void *ws);

/*
 * The iterative route: the cnt largest eigenpairs of S = (G + G^T) / 2
 * from products with G and G^T only (lanczos.c). The answer lives in
 * the context's workspace until its next use: eigenvalue c (descending)
 * at nu[c], entry i of its unit eigenvector at u[i * rs + c * cs].
 */
typedef struct pal__krylov {
    int64_t n, cnt;      /* items, and eigenpairs wanted (1..n) */
    double tol;          /* relative residual wanted, in (0, 1) */
    int64_t max_steps;   /* block products allowed, >= 1 */
    double *u;           /* the answer (see above) */
    int64_t rs, cs;
    double *nu;
    int64_t steps;       /* block products used */
} pal__krylov_t;

/* Sizes of the iterative route for n items and cnt pairs: the block b,
 * the basis m (a multiple of b; the workspace holds about m + 3 b
 * vectors of n doubles), and whether n is too small for them, so that S
 * is formed whole from n / b products instead. PAL_E_SIZE when its
 * workspace would not be addressable. */
int pal__krylov_shape(int64_t n, int64_t cnt, int64_t *b, int64_t *m,
                      bool *whole);

/* Returns PAL_OK; PAL_E_NOCONV (tol not reached within max_steps);
 * PAL_E_RANGE (LAPACK failing); PAL_E_OVERFLOW (a product not finite), PAL_E_SIZE,
 * PAL_E_NOMEM. */
int pal__krylov_top(pal_ctx_t *ctx, const pal_graph_t *g, pal__krylov_t *kr);

/* Read entry q of a float or double array as double. */
static inline double pal__sp_get(pal_dtype_t t, const void *p, size_t q)
{
    return t == PAL_F32 ? (double)((const float *)p)[q]
                        : ((const double *)p)[q];
}

/* Write v to entry q of a float or double array. */
static inline void pal__sp_put(pal_dtype_t t, void *p, size_t q, double v)
{
    if (t == PAL_F32)
        ((float *)p)[q] = (float)v;
    else
        ((double *)p)[q] = v;
}

#endif /* PAL_SPECTRAL_INTERNAL_H */
