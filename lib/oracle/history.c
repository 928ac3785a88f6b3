/*
 * An oracle's history: every record its calls committed (the records a
 * journal holds), kept in memory whether or not a journal is open, so
 * that pal_oracle_undo can replay all but the last question into a blank
 * oracle. Records are packed in one growing array of 64-bit words:
 *
 *   word 0: type | flags << 8 | m << 16, and bits saying which of the
 *           parts below follow
 *   word 1: a;  word 2: b
 *   then m candidates, then the answers (one byte each, packed 8 per
 *   word), or the m priors (as the bits of doubles)
 */
#include "oracle_internal.h"

/* Bits of word 0 beyond type, flags and m: which parts follow. */
#define HAS_CAND (1ull << 60)
#define HAS_ANS (1ull << 61)
#define HAS_PRIORS (1ull << 62)

static uint64_t head_of(const pal__jn_rec_t *rec, bool answers)
{
    return (uint64_t)rec->type | (uint64_t)(rec->flags & 0xffu) << 8 |
           (uint64_t)rec->m << 16 | (rec->cand ? HAS_CAND : 0) |
           (answers ? HAS_ANS : 0) | (rec->priors ? HAS_PRIORS : 0);
}

/* The length in words of the record that head begins. */
static size_t head_words(uint64_t head)
{
    const size_t m = (size_t)(head >> 16 & 0xffffffffu);

    if (head & HAS_PRIORS)
        return 3 + m;
    return 3 + ((head & HAS_CAND) ? m : 0) +
           ((head & HAS_ANS) ? (m + 7) / 8 : 0);
}

int pal__hist_reserve(pal_oracle_t *o, const pal__jn_rec_t *rec,
                      bool answers)
{
    pal__hist_t *h = &o->hist;
    size_t need = h->used + head_words(head_of(rec, answers)), cap;
    uint64_t *w;

    if (need <= h->cap)
        return PAL_OK;
    cap = h->cap ? 2 * h->cap : 1024;
    while (cap < need)
        cap *= 2;
    w = pal__alloc_array(&o->alloc, cap, sizeof *w);
    if (!w)
        return PAL_E_NOMEM;
    if (h->used)
        memcpy(w, h->w, h->used * sizeof *w);
    pal__free(&o->alloc, h->w);
    h->w = w;
    h->cap = cap;
    return PAL_OK;
}

void pal__hist_push(pal_oracle_t *o, const pal__jn_rec_t *rec,
                    const pal_answer_t *answers)
{
    pal__hist_t *h = &o->hist;
    uint64_t *w = h->w + h->used;
    size_t m = (size_t)rec->m;

    w[0] = head_of(rec, answers != NULL);
    w[1] = (uint64_t)rec->a;
    w[2] = (uint64_t)rec->b;
    w += 3;
    if (rec->priors) {
        memcpy(w, rec->priors, m * sizeof *rec->priors);
    } else {
        if (rec->cand) {
            for (size_t k = 0; k < m; k++)
                w[k] = (uint64_t)rec->cand[k];
            w += m;
        }
        if (answers) {
            unsigned char *b = (unsigned char *)w;

            memset(w, 0, (m + 7) / 8 * sizeof *w);
            for (size_t k = 0; k < m; k++)
                b[k] = (unsigned char)answers[k];
        }
    }
    h->used += head_words(h->w[h->used]);
    h->count++;
}

size_t pal__hist_decode(const pal_oracle_t *o, size_t at, pal__jn_rec_t *rec,
                        int64_t *cand, unsigned char *ans, double *priors)
{
    const uint64_t *w = o->hist.w + at;
    const uint64_t head = w[0];
    size_t m = (size_t)(head >> 16 & 0xffffffffu);

    memset(rec, 0, sizeof *rec);
    rec->type = (int)(head & 0xffu);
    rec->flags = (unsigned)(head >> 8 & 0xffu);
    rec->m = (int64_t)m;
    rec->a = (int64_t)w[1];
    rec->b = (int64_t)w[2];
    w += 3;
    if (head & HAS_PRIORS) {
        memcpy(priors, w, m * sizeof *priors);
        rec->priors = priors;
    } else {
        if (head & HAS_CAND) {
            for (size_t k = 0; k < m; k++)
                cand[k] = (int64_t)w[k];
            rec->cand = cand;
            w += m;
        }
        if (head & HAS_ANS) {
            memcpy(ans, w, m);
            rec->ans = ans;
        }
    }
    return head_words(head);
}

size_t pal__hist_words(const pal_oracle_t *o, size_t at)
{
    return head_words(o->hist.w[at]);
}

void pal__hist_free(pal_oracle_t *o)
{
    pal__free(&o->alloc, o->hist.w);
    memset(&o->hist, 0, sizeof o->hist);
}
