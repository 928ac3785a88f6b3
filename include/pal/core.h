/*
 * libpal: learning representations from a similarity graph.
 *
 * core.h: status codes, version, element types, allocators and the
 * computation context. Every other header of libpal includes this one.
 *
 * Conventions used by the whole API
 * ---------------------------------
 * - Every fallible call returns an int status: PAL_OK (0), a positive
 *   informational code (PAL_DONE), or a negative error code. Results come
 *   back through out-parameters. On error, outputs and objects are left
 *   exactly as they were before the call.
 * - Sizes and indices are int64_t. A size that is zero or negative where
 *   at least one element is needed, or whose products overflow, is
 *   rejected with PAL_E_SIZE.
 * - Dense matrices are a pointer, a row count, a column count and a row
 *   stride (leading dimension, in elements, >= the column count), stored
 *   row-major, in float32 or float64 as given by a pal_dtype_t.
 * - Objects are opaque handles created by pal_*_create and released by
 *   pal_*_destroy, which accepts NULL. Each object may carry its own
 *   allocator; no global state is read or written.
 * - The library never prints, never aborts and never exits.
 */
#ifndef PAL_CORE_H
#define PAL_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Symbol visibility ------------------------------------------------ */

#if defined(PAL_BUILDING) && defined(__GNUC__)
#define PAL_API __attribute__((visibility("default")))
#else
#define PAL_API
#endif

/* ---- Version ----------------------------------------------------------- */

#define PAL_VERSION_MAJOR 0
#define PAL_VERSION_MINOR 1
#define PAL_VERSION_PATCH 0

/* 10000 * major + 100 * minor + patch, for compile-time comparisons. */
#define PAL_VERSION_NUMBER \
    (PAL_VERSION_MAJOR * 10000 + PAL_VERSION_MINOR * 100 + PAL_VERSION_PATCH)

#define PAL_STRINGIFY_(x) #x
#define PAL_STRINGIFY(x) PAL_STRINGIFY_(x)
#define PAL_VERSION_STRING                                      \
    PAL_STRINGIFY(PAL_VERSION_MAJOR) "." PAL_STRINGIFY(         \
        PAL_VERSION_MINOR) "." PAL_STRINGIFY(PAL_VERSION_PATCH)

/**
 * The version of the library actually linked, as PAL_VERSION_NUMBER.
 * Compare with PAL_VERSION_NUMBER to detect a header/library mismatch.
 * Thread-safe. Since 0.1.0.
 */
PAL_API unsigned pal_version_number(void);

/** The linked library's version as "major.minor.patch". Static string. */
PAL_API const char *pal_version_string(void);

/* ---- Status codes ------------------------------------------------------ */

/*
 * One list makes the enumeration and the messages. Numbers are stable:
 * new codes are appended, existing ones never change meaning.
 */
#define PAL_STATUS_LIST(X)                                                  \
    X(PAL_OK, 0, "success")                                                 \
    X(PAL_DONE, 1, "nothing left to ask")                                  \
    X(PAL_E_NULL, -1, "a required pointer argument is NULL")                \
    X(PAL_E_SIZE, -2, "a size is zero, negative or too large")              \
    X(PAL_E_STRIDE, -3, "a row stride is smaller than the row length")      \
    X(PAL_E_TYPE, -4, "unknown element type")                               \
    X(PAL_E_SHAPE, -5, "dimensions of the arguments do not agree")          \
    X(PAL_E_RANGE, -6, "an option or parameter is out of its valid range")  \
    X(PAL_E_INDEX, -7, "an index or label is out of range")                 \
    X(PAL_E_CSR, -8, "malformed CSR structure")                             \
    X(PAL_E_NONFINITE, -9, "NaN or infinite value in the input")            \
    X(PAL_E_NEGATIVE, -10, "the graph has negative weights where the "      \
                           "loss needs non-negative ones")                  \
    X(PAL_E_ZERO_NORM, -11, "a row or column to normalise has zero norm "   \
                            "(set an epsilon to allow it)")                 \
    X(PAL_E_EMPTY, -12, "the graph or batch has no positive pair: "         \
                        "nothing would be learned")                         \
    X(PAL_E_NOMEM, -13, "out of memory")                                    \
    X(PAL_E_CALLBACK, -14, "a host callback reported failure")              \
    X(PAL_E_STATE, -15, "the call is not valid in the object's state")      \
    X(PAL_E_OVERFLOW, -16, "the result overflowed the floating-point "      \
                           "range")                                         \
    X(PAL_E_ALIAS, -17, "an output overlaps an input")                      \
    X(PAL_E_IO, -18, "reading or writing a file failed")                    \
    X(PAL_E_FORMAT, -19, "the file is not a libpal journal, or it was "     \
                         "written for other items or another oracle")       \
    X(PAL_E_VERSION, -20, "the journal was written by an unsupported "      \
                          "format version")                                 \
    X(PAL_E_ALIGN, -21, "a pointer is not aligned to its element type")     \
    X(PAL_E_NOCONV, -22, "an iterative method did not reach its "           \
                         "tolerance within its iteration limit")

typedef enum pal_status {
#define PAL_STATUS_ENUM_(name, value, msg) name = (value),
    PAL_STATUS_LIST(PAL_STATUS_ENUM_)
#undef PAL_STATUS_ENUM_
} pal_status_t;

/** Non-zero when status is an error code (negative). */
#define PAL_IS_ERROR(status) ((status) < 0)

/**
 * A one-line English description of a status code, never NULL; unknown
 * codes give "unknown status code". Static storage, thread-safe.
 */
PAL_API const char *pal_status_message(int status);

/** The code's symbolic name, e.g. "PAL_E_SIZE"; "PAL_UNKNOWN" if unknown. */
PAL_API const char *pal_status_name(int status);

/* ---- Element types ----------------------------------------------------- */

typedef enum pal_dtype {
    PAL_F32 = 1, /* IEEE float (4 bytes) */
    PAL_F64 = 2  /* IEEE double (8 bytes) */
} pal_dtype_t;

/** Bytes per element of a dtype, 0 for an unknown one. */
PAL_API size_t pal_dtype_size(pal_dtype_t dtype);

/* ---- Allocator --------------------------------------------------------- */

/**
 * A per-object allocator. alloc returns memory aligned for any standard
 * type (like malloc) or NULL; free releases what alloc returned (it is
 * never called with NULL). Both receive the user pointer. A NULL
 * allocator pointer, or one whose alloc or free is NULL, means malloc and
 * free. The structure is copied at object creation; the callbacks must
 * stay valid, and be safe to call from the thread using the object, until
 * the object is destroyed.
 *
 * The BLIS library used for dense products keeps its own internal packing
 * buffers, which do not go through this allocator.
 */
typedef struct pal_allocator {
    void *(*alloc)(void *user, size_t size);
    void (*free)(void *user, void *ptr);
    void *user;
} pal_allocator_t;

/* ---- Context ----------------------------------------------------------- */

/**
 * A computation context: the workspace that losses and graph products
 * reuse from call to call (so that a training loop allocates nothing once
 * warm), a thread count, an allocator and numerical checks.
 *
 * Thread safety: one context serves one thread at a time; use one context
 * per thread. Graphs and other read-only inputs may be shared between
 * contexts used concurrently.
 */
typedef struct pal_ctx pal_ctx_t;

/**
 * Create a context.
 * @param out    receives the new context; untouched on error.
 * @param alloc  allocator for the context and its workspace, or NULL.
 * @return PAL_OK, PAL_E_NULL (out is NULL), PAL_E_NOMEM.
 * Cost: O(1), one small allocation. Since 0.1.0.
 */
PAL_API int pal_ctx_create(pal_ctx_t **out, const pal_allocator_t *alloc);

/** Destroy a context and its workspace. Accepts NULL. */
PAL_API void pal_ctx_destroy(pal_ctx_t *ctx);

/**
 * Number of threads for the dense products (BLIS) of later calls on this
 * context. 0 (the default) uses BLIS's own setting (its environment
 * variables, such as BLIS_NUM_THREADS). More threads than cores only
 * slows the products down, and on a machine whose cores are busy with
 * other work a second thread can make a call many times slower (the
 * threads wait for each other). The elementwise passes of the losses run on
 * the same number of OpenMP threads. Results for a fixed thread count
 * are bitwise reproducible run to run; different thread counts agree to
 * rounding (BLIS may round an accumulating product differently where it
 * splits it at another place).
 * @return PAL_OK, PAL_E_NULL, PAL_E_RANGE (threads < 0 or > 1024).
 */
PAL_API int pal_ctx_set_threads(pal_ctx_t *ctx, int threads);

/** The thread count set by pal_ctx_set_threads (0 = BLIS's setting). */
PAL_API int pal_ctx_threads(const pal_ctx_t *ctx);

/** Check flags for pal_ctx_set_checks. */
enum {
    /* Scan Z for NaN and infinities before computing and fail with
     * PAL_E_NONFINITE if any is found (O(N K)). Gradients are then also
     * scanned before being returned. */
    PAL_CHECK_FINITE = 1u << 0
};

/**
 * Select input checks (a bitwise or of PAL_CHECK_* flags; 0 = none, the
 * default). Whatever the flags, a loss whose value comes out NaN or
 * infinite is never returned as valid: the call fails with
 * PAL_E_NONFINITE when the input contains NaN or infinity, or with
 * PAL_E_OVERFLOW when finite input overflowed, and outputs stay untouched.
 * @return PAL_OK, PAL_E_NULL, PAL_E_RANGE (unknown flag).
 */
PAL_API int pal_ctx_set_checks(pal_ctx_t *ctx, unsigned flags);

/** The flags set by pal_ctx_set_checks. */
PAL_API unsigned pal_ctx_checks(const pal_ctx_t *ctx);

/**
 * Largest workspace, in bytes, the context may hold (0 = no limit, the
 * default). SimCLR holds its n x n similarities whole when they fit in
 * the limit (without a limit: when they take at most 256 MiB), and
 * otherwise streams them in square tiles of at most 32 MiB, as large as
 * the limit allows; it needs at least about n k elements (Zt), a few
 * vectors of n doubles and one small tile, and fails with PAL_E_NOMEM
 * below that. Other losses fail with PAL_E_NOMEM if they would need more
 * than the limit.
 * @return PAL_OK, PAL_E_NULL.
 */
PAL_API int pal_ctx_set_workspace_limit(pal_ctx_t *ctx, size_t bytes);

/** Bytes of workspace the context currently holds. When a call needs
 * more than the context holds, the workspace grows to half again what
 * the call needs (never past the limit), so this can exceed the need of
 * the largest call so far by up to a half. */
PAL_API size_t pal_ctx_workspace_size(const pal_ctx_t *ctx);

/** Release the context's workspace now (it grows again on demand). */
PAL_API void pal_ctx_release_workspace(pal_ctx_t *ctx);

#ifdef __cplusplus
}
#endif

#endif /* PAL_CORE_H */
