/*
 * The knowledge store's rate over a stream of answers, made before the
 * clock starts, into a new store per repetition: either one
 * pal_store_answer_batch call for the whole stream (the batch path) or
 * one pal_store_answer call per answer (the single path).
 *
 * Stream 0 answers truthfully about items drawn from 1,000 hidden
 * classes (half the pairs inside a class, half anywhere), so every
 * deduction can be checked against the truth. Stream 1 answers "same" or
 * "different" at random, so that components grow large, known-different
 * links pile up and conflicts happen.
 *
 * Verification, before a rate is reported: the store's components must
 * equal those of a plain union-find over the "same" answers it accepted
 * (numbered by smallest member, as pal_store_labels numbers them), every
 * accepted "different" answer must be known different, every conflict
 * must contradict what the store knows, and, for stream 0, nothing may
 * conflict and every relation known about sampled pairs must match the
 * hidden classes. Later repetitions must end in the same counters.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define HIDDEN_CLASSES 1000
#define SAMPLED_PAIRS 200000

typedef struct stream {
    int64_t *i, *j;
    pal_answer_t *answer;
    int32_t *truth;     /* hidden class per item (stream 0) */
} stream_t;

static void make_stream(int kind, int64_t items, int64_t answers,
                        uint64_t seed, stream_t *s)
{
    int32_t *start = NULL, *member = NULL;

    s->i = bench_alloc((size_t)answers * sizeof *s->i);
    s->j = bench_alloc((size_t)answers * sizeof *s->j);
    s->answer = bench_alloc((size_t)answers * sizeof *s->answer);
    s->truth = NULL;
    if (kind == 0) {
        /* Members of each class, grouped, to draw pairs inside one. */
        int32_t *fill;

        s->truth = bench_alloc((size_t)items * sizeof *s->truth);
        bench_fill_labels(items, HIDDEN_CLASSES, seed, s->truth);
        start = calloc(HIDDEN_CLASSES + 1, sizeof *start);
        fill = calloc(HIDDEN_CLASSES, sizeof *fill);
        member = bench_alloc((size_t)items * sizeof *member);
        if (!start || !fill)
            bench_die("out of memory");
        for (int64_t x = 0; x < items; x++)
            start[s->truth[x] + 1]++;
        for (int c = 0; c < HIDDEN_CLASSES; c++)
            start[c + 1] += start[c];
        for (int64_t x = 0; x < items; x++) {
            int32_t c = s->truth[x];

            member[start[c] + fill[c]++] = (int32_t)x;
        }
        free(fill);
    }
    for (int64_t a = 0; a < answers; a++) {
        uint64_t h = bench_hash(seed + 1, (uint64_t)a);
        int32_t x = (int32_t)(h % (uint64_t)items);
        int32_t y = (int32_t)(bench_hash(seed + 2, (uint64_t)a) %
                              (uint64_t)items);

        if (kind == 0) {
            int32_t c = s->truth[x], size = start[c + 1] - start[c];

            if ((h >> 63) && size > 0)
                y = member[start[c] + (int32_t)((h >> 20) %
                                                (uint64_t)size)];
            s->answer[a] = s->truth[x] == s->truth[y] ? PAL_ANSWER_SAME
                                                      : PAL_ANSWER_DIFFERENT;
        } else {
            s->answer[a] = (h >> 63) ? PAL_ANSWER_SAME : PAL_ANSWER_DIFFERENT;
        }
        s->i[a] = x;
        s->j[a] = y;
    }
    free(start);
    free(member);
}

static void free_stream(stream_t *s)
{
    free(s->i);
    free(s->j);
    free(s->answer);
    free(s->truth);
}

/* CPU time of this thread, in seconds. */
static double cpu_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int32_t find(int32_t *parent, int32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Check the store against the answers and their effects; 0 if right. */
static int verify(const pal_store_t *st, int kind, int64_t items,
                  int64_t answers, const stream_t *s, const uint8_t *effect,
                  char *msg, size_t size)
{
    int32_t *parent = bench_alloc((size_t)items * sizeof *parent);
    int32_t *want = bench_alloc((size_t)items * sizeof *want);
    int32_t *got = bench_alloc((size_t)items * sizeof *got);
    int64_t conflicts = 0, classes = 0;
    int bad = 0;

    for (int64_t x = 0; x < items; x++)
        parent[x] = (int32_t)x;
    for (int64_t a = 0; a < answers; a++) {
        if (effect[a] == PAL_EFFECT_CONFLICT) {
            conflicts++;
            continue;
        }
        if (s->answer[a] == PAL_ANSWER_SAME) {
            int32_t x = find(parent, (int32_t)s->i[a]);
            int32_t y = find(parent, (int32_t)s->j[a]);

            if (x != y)
                parent[x < y ? y : x] = x < y ? x : y;
        }
    }
    for (int64_t x = 0; x < items; x++) {
        int32_t r = find(parent, (int32_t)x);

        want[x] = r == x ? (int32_t)classes++ : want[r];
    }
    if (pal_store_labels(st, 0, got, NULL) != PAL_OK ||
        memcmp(want, got, (size_t)items * sizeof *got) != 0) {
        snprintf(msg, size, "components differ from a union-find");
        bad = 1;
    }
    for (int64_t a = 0; a < answers && !bad; a++) {
        pal_relation_t rel;
        int want_rel;

        if (pal_store_relation(st, s->i[a], s->j[a], &rel) != PAL_OK) {
            snprintf(msg, size, "pal_store_relation failed");
            bad = 1;
            break;
        }
        want_rel = s->answer[a] == PAL_ANSWER_SAME ? PAL_REL_SAME
                                                   : PAL_REL_DIFFERENT;
        /* A conflict must contradict the store; any other answer must
         * now be known as given. */
        if ((effect[a] == PAL_EFFECT_CONFLICT) == ((int)rel == want_rel)) {
            snprintf(msg, size, "answer %lld (%lld, %lld) is not reflected",
                     (long long)a, (long long)s->i[a], (long long)s->j[a]);
            bad = 1;
        }
    }
    if (!bad && kind == 0 && conflicts > 0) {
        snprintf(msg, size, "%lld conflicts in a truthful stream",
                 (long long)conflicts);
        bad = 1;
    }
    for (int64_t p = 0; p < SAMPLED_PAIRS && !bad && kind == 0; p++) {
        int32_t x = (int32_t)(bench_hash(77, (uint64_t)p) % (uint64_t)items);
        int32_t y = (int32_t)(bench_hash(78, (uint64_t)p) % (uint64_t)items);
        int same = s->truth[x] == s->truth[y];
        pal_relation_t rel;

        pal_store_relation(st, x, y, &rel);
        if ((rel == PAL_REL_SAME && !same) ||
            (rel == PAL_REL_DIFFERENT && same)) {
            snprintf(msg, size, "pair (%d, %d) deduced wrongly", x, y);
            bad = 1;
        }
    }
    if (!bad)
        snprintf(msg, size,
                 "union-find components, %lld relations%s%s",
                 (long long)answers,
                 kind == 0 ? ", 200,000 sampled pairs vs hidden classes"
                           : "",
                 conflicts ? ", conflicts contradict" : "");
    free(parent);
    free(want);
    free(got);
    return bad;
}

void bench_store_run(int kind, int batch, int64_t items, int64_t answers,
                     int reps, uint64_t seed, bench_store_res_t *res)
{
    uint8_t *effect = bench_alloc((size_t)answers);
    int *eff = bench_alloc((size_t)answers * sizeof *eff);
    double *t = bench_alloc((size_t)reps * sizeof *t);
    double *tc = bench_alloc((size_t)reps * sizeof *tc);
    pal_store_stats_t first = {0}, now = {0};
    stream_t s;

    memset(res, 0, sizeof *res);
    res->name = kind == 0 ? "hidden classes" : "random answers";
    res->path = batch ? "batch" : "single";
    res->items = items;
    res->answers = answers;
    res->reps = reps;
    res->verified = 1;
    make_stream(kind, items, answers, seed, &s);
    for (int r = 0; r < reps && res->verified; r++) {
        pal_store_t *st;
        double t0, c0;
        int rc = PAL_OK;

        if (pal_store_create(&st, items, NULL) != PAL_OK)
            bench_die("pal_store_create failed");
        if (batch) {
            c0 = cpu_now();
            t0 = bench_now();
            rc = pal_store_answer_batch(st, answers, s.i, s.j, s.answer,
                                        eff);
            t[r] = bench_now() - t0;
            tc[r] = cpu_now() - c0;
            for (int64_t a = 0; a < answers; a++)
                effect[a] = (uint8_t)eff[a];
        } else {
            c0 = cpu_now();
            t0 = bench_now();
            for (int64_t a = 0; a < answers && rc == PAL_OK; a++) {
                int e;

                rc = pal_store_answer(st, s.i[a], s.j[a], s.answer[a], NULL,
                                      &e);
                effect[a] = (uint8_t)e;
            }
            t[r] = bench_now() - t0;
            tc[r] = cpu_now() - c0;
        }

        now.size = sizeof now;
        if (rc != PAL_OK || pal_store_stats(st, &now) != PAL_OK) {
            snprintf(res->check, sizeof res->check, "%s: %s",
                     batch ? "pal_store_answer_batch" : "pal_store_answer",
                     pal_status_name(rc));
            res->verified = 0;
        } else if (r == 0) {
            first = now;
            res->verified = !verify(st, kind, items, answers, &s, effect,
                                    res->check, sizeof res->check);
        } else if (now.answers != first.answers ||
                   now.conflicts != first.conflicts ||
                   now.components != first.components ||
                   now.known_pairs != first.known_pairs) {
            snprintf(res->check, sizeof res->check,
                     "repetition %d ended in another state", r);
            res->verified = 0;
        }
        pal_store_destroy(st);
    }
    res->seconds = bench_median(t, reps);
    res->cpu_seconds = bench_median(tc, reps);
    res->rate = (double)answers / res->seconds;
    free_stream(&s);
    free(effect);
    free(eff);
    free(t);
    free(tc);
}
