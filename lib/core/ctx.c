/*
 * The computation context: workspace, threads, checks.
 */
#include <blis.h>

#include "internal.h"

struct pal_ctx {
    pal_allocator_t alloc;
    void *ws;           /* workspace block, 64-byte aligned inside */
    void *ws_raw;       /* what the allocator returned */
    size_t ws_size;     /* usable bytes at ws */
    size_t ws_limit;    /* 0 = unlimited */
    int threads;        /* 0 = BLIS's own setting */
    unsigned checks;
};

int pal_ctx_create(pal_ctx_t **out, const pal_allocator_t *alloc)
{
    pal_allocator_t a;
    pal_ctx_t *ctx;

    if (!out)
        return PAL_E_NULL;
    pal__allocator_init(&a, alloc);
    ctx = pal__alloc(&a, sizeof *ctx);
    if (!ctx)
        return PAL_E_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    ctx->alloc = a;
    *out = ctx;
    return PAL_OK;
}

void pal_ctx_release_workspace(pal_ctx_t *ctx)
{
    if (!ctx)
        return;
    pal__free(&ctx->alloc, ctx->ws_raw);
    ctx->ws = ctx->ws_raw = NULL;
    ctx->ws_size = 0;
}

void pal_ctx_destroy(pal_ctx_t *ctx)
{
    if (!ctx)
        return;
    pal_ctx_release_workspace(ctx);
    pal__free(&ctx->alloc, ctx);
}

int pal_ctx_set_threads(pal_ctx_t *ctx, int threads)
{
    if (!ctx)
        return PAL_E_NULL;
    if (threads < 0 || threads > 1024)
        return PAL_E_RANGE;
    ctx->threads = threads;
    return PAL_OK;
}

int pal_ctx_threads(const pal_ctx_t *ctx)
{
    return ctx ? ctx->threads : 0;
}

int pal_ctx_set_checks(pal_ctx_t *ctx, unsigned flags)
{
    if (!ctx)
        return PAL_E_NULL;
    if (flags & ~(unsigned)PAL_CHECK_FINITE)
        return PAL_E_RANGE;
    ctx->checks = flags;
    return PAL_OK;
}

unsigned pal_ctx_checks(const pal_ctx_t *ctx)
{
    return ctx ? ctx->checks : 0;
}

int pal_ctx_set_workspace_limit(pal_ctx_t *ctx, size_t bytes)
{
    if (!ctx)
        return PAL_E_NULL;
    ctx->ws_limit = bytes;
    /* The limit bounds what the context holds, not only what it grows
     * to: a workspace already over it goes, and regrows on demand. */
    if (bytes && ctx->ws_size > bytes)
        pal_ctx_release_workspace(ctx);
    return PAL_OK;
}

size_t pal_ctx_workspace_size(const pal_ctx_t *ctx)
{
    return ctx ? ctx->ws_size : 0;
}

size_t pal__ctx_limit(const pal_ctx_t *ctx)
{
    return ctx->ws_limit ? ctx->ws_limit : SIZE_MAX;
}

int pal__ctx_reserve(pal_ctx_t *ctx, size_t bytes, pal__ws_t *ws)
{
    if (bytes > pal__ctx_limit(ctx))
        return PAL_E_NOMEM;
    if (bytes > ctx->ws_size) {
        /* Grow by half again, so that slowly growing problems do not
         * reallocate at every call, but never beyond the limit. */
        size_t want = bytes + bytes / 2;
        void *raw;

        if (want < bytes || want > pal__ctx_limit(ctx))
            want = bytes;
        if (want > SIZE_MAX - 64)
            return PAL_E_NOMEM;
        raw = pal__alloc(&ctx->alloc, want + 64);
        if (!raw)
            return PAL_E_NOMEM;
        pal__free(&ctx->alloc, ctx->ws_raw);
        ctx->ws_raw = raw;
        ctx->ws = (char *)raw + (64u - (uintptr_t)raw % 64u) % 64u;
        ctx->ws_size = want;
    }
    ws->base = ctx->ws;
    ws->used = 0;
    return PAL_OK;
}

int pal__ctx_nthreads(const pal_ctx_t *ctx)
{
    dim_t nt;

    if (ctx->threads > 0)
        return ctx->threads;
    nt = bli_thread_get_num_threads();
    return nt >= 1 ? (int)nt : 1;
}

void pal__ctx_rntm(const pal_ctx_t *ctx, struct rntm_s *rntm)
{
    bli_rntm_init(rntm);
    if (ctx->threads > 0)
        bli_rntm_set_num_threads(ctx->threads, rntm);
}
