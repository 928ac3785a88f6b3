/*
 * xoshiro256** with splitmix64 seeding (Blackman and Vigna): a small,
 * fast generator whose stream depends on the seed only.
 */
#include "internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void pal__rng_seed(pal__rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t pal__rng_next(pal__rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t pal__rng_below(pal__rng_t *r, uint64_t bound)
{
    /* Lemire's multiply-and-reject method. */
    __uint128_t m = (__uint128_t)pal__rng_next(r) * bound;
    uint64_t low = (uint64_t)m;

    if (low < bound) {
        /* 2^64 mod bound, in unsigned arithmetic. */
        uint64_t floor = (0 - bound) % bound;

        while (low < floor) {
            m = (__uint128_t)pal__rng_next(r) * bound;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double pal__rng_unit(pal__rng_t *r)
{
    return (double)(pal__rng_next(r) >> 11) * 0x1.0p-53;
}
