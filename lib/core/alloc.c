/*
 * Allocation through the per-object allocator hook.
 */
#include <stdlib.h>

#include "internal.h"

static void *default_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void default_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

void pal__allocator_init(pal_allocator_t *dst, const pal_allocator_t *src)
{
    if (src && src->alloc && src->free) {
        *dst = *src;
    } else {
        dst->alloc = default_alloc;
        dst->free = default_free;
        dst->user = NULL;
    }
}

void *pal__alloc(const pal_allocator_t *a, size_t size)
{
    return a->alloc(a->user, size ? size : 1);
}

void *pal__alloc_array(const pal_allocator_t *a, size_t count, size_t elem)
{
    size_t bytes;

    if (!pal__mul_size(count, elem, &bytes))
        return NULL;
    return pal__alloc(a, bytes);
}

void *pal__calloc_array(const pal_allocator_t *a, size_t count, size_t elem)
{
    size_t bytes;
    void *p;

    if (!pal__mul_size(count, elem, &bytes))
        return NULL;
    p = pal__alloc(a, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void pal__free(const pal_allocator_t *a, void *p)
{
    if (p)
        a->free(a->user, p);
}
