/*
 * The flipping labeler: another labeler's answers, each "same" or
 * "different" turned into the other with probability p.
 */
#include "oracle_internal.h"

struct pal_flip {
    pal_allocator_t alloc;
    pal_labeler_fn inner;
    void *user;
    double p;
    pal__rng_t rng;
    int64_t answers, flipped;
};

int pal_flip_create(pal_flip_t **out, pal_labeler_fn inner, void *inner_user,
                    double p, uint64_t seed, const pal_allocator_t *alloc)
{
    pal_allocator_t a;
    pal_flip_t *f;

    if (!out || !inner)
        return PAL_E_NULL;
    if (!(p >= 0.0 && p <= 1.0))
        return PAL_E_RANGE;
    pal__allocator_init(&a, alloc);
    f = pal__alloc(&a, sizeof *f);
    if (!f)
        return PAL_E_NOMEM;
    memset(f, 0, sizeof *f);
    f->alloc = a;
    f->inner = inner;
    f->user = inner_user;
    f->p = p;
    pal__rng_seed(&f->rng, seed);
    *out = f;
    return PAL_OK;
}

void pal_flip_destroy(pal_flip_t *f)
{
    if (f)
        pal__free(&f->alloc, f);
}

int pal_flip_labeler(void *user, int64_t anchor, int64_t m,
                     const int64_t *candidates, pal_answer_t *answers)
{
    pal_flip_t *f = user;
    int rc;

    if (!f)
        return -1;
    rc = f->inner(f->user, anchor, m, candidates, answers);
    if (rc != 0)
        return rc;
    for (int64_t k = 0; k < m; k++) {
        /* One draw per answer, unsure included, so that the flips of
         * the other answers do not depend on where the unsure ones are. */
        bool flip = pal__rng_unit(&f->rng) < f->p;

        /* Unsure answers pass, and so do invalid ones, for the oracle
         * to refuse as the inner labeler's. */
        if (answers[k] != PAL_ANSWER_SAME &&
            answers[k] != PAL_ANSWER_DIFFERENT)
            continue;
        f->answers++;
        if (flip) {
            answers[k] = answers[k] == PAL_ANSWER_SAME ? PAL_ANSWER_DIFFERENT
                                                       : PAL_ANSWER_SAME;
            f->flipped++;
        }
    }
    return 0;
}

int pal_flip_counts(const pal_flip_t *f, int64_t *answers, int64_t *flipped)
{
    if (!f)
        return PAL_E_NULL;
    if (answers)
        *answers = f->answers;
    if (flipped)
        *flipped = f->flipped;
    return PAL_OK;
}
