/*
 * Statistics for scores: a seeded PRNG (xoshiro256** seeded through
 * splitmix64; never rand()), 95% percentile bootstrap confidence intervals
 * for a mean and for a paired difference of means, McNemar's exact test, and
 * a bounded-memory empirical distribution that bootstraps any number of
 * per-item scores exactly (multinomial resampling over distinct values).
 *
 * Percentile intervals: the 2.5% and 97.5% quantiles of the resampled means,
 * with linear interpolation between order statistics (numpy's default
 * "linear" method). Results depend only on the data and the seed.
 *
 * Ownership: struct lleval_dist owns its bins (lleval_dist_release frees
 * them); every array parameter is borrowed.
 */
#ifndef LLEVAL_STATS_H
#define LLEVAL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"
#include "lleval/util/idset.h"

/* Default number of bootstrap resamples and the largest accepted. */
#define LLEVAL_BOOTSTRAP_DEFAULT 1000
#define LLEVAL_BOOTSTRAP_MAX     1000000
/* Confidence level of every interval. */
#define LLEVAL_CI_LEVEL 0.95

/* ---- pseudo-random numbers ---- */

struct lleval_rng {
    uint64_t s[4];
};

/* Seeds the generator (any seed, 0 included, gives a valid state). */
void lleval_rng_seed(struct lleval_rng *r, uint64_t seed);
/* Next 64 random bits (xoshiro256**). */
uint64_t lleval_rng_next(struct lleval_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double lleval_rng_uniform(struct lleval_rng *r);
/* Uniform integer in [0, n), without modulo bias; n must be > 0. */
uint64_t lleval_rng_below(struct lleval_rng *r, uint64_t n);
/* Binomial(n, p) variate: exact inversion for small means, Hormann's BTRS
 * transformed rejection otherwise. p outside [0, 1] is clamped. */
uint64_t lleval_rng_binomial(struct lleval_rng *r, uint64_t n, double p);
/* A seed for one named stream (e.g. "xquad/direct/t0/f1") derived from a base
 * seed, so that each result is reproducible on its own. label is borrowed. */
uint64_t lleval_seed_derive(uint64_t seed, const char *label);

/* ---- confidence intervals ---- */

/* A mean with its interval; lo and hi are NaN when no interval was computed
 * (no resamples asked for, or no data); mean is NaN when n is 0. */
struct lleval_ci {
    double mean;
    double lo;
    double hi;
    uint64_t n;     /* items */
    long resamples; /* bootstrap resamples used (0: none) */
};

/*
 * 95% percentile bootstrap CI of the mean of x[0..n), resampling n items
 * with replacement `resamples` times (0: mean only). Returns 0, or
 * LLEVAL_EINVAL for resamples outside 0..LLEVAL_BOOTSTRAP_MAX.
 */
int lleval_bootstrap_mean(const double *x, size_t n, long resamples, uint64_t seed,
                          struct lleval_ci *out, struct lleval_err *err);

/*
 * Paired bootstrap: 95% CI of mean(a) - mean(b) over n paired items,
 * resampling item indexes (the same index for both vectors). out->mean is the
 * observed difference. Returns 0 or LLEVAL_EINVAL.
 */
int lleval_bootstrap_paired_diff(const double *a, const double *b, size_t n, long resamples,
                                 uint64_t seed, struct lleval_ci *out, struct lleval_err *err);

/*
 * McNemar's exact test for paired 0/1 outcomes: b and c are the discordant
 * counts (first right and second wrong, and the reverse). Returns the
 * two-sided p-value, min(1, 2 * P(X <= min(b, c))) with X ~ Binomial(b + c,
 * 1/2), summed in log space (exact for any count). 1 when b + c is 0.
 */
double lleval_mcnemar_exact(long b, long c);

/* ---- bounded-memory distribution of per-item scores ---- */

/*
 * Values are kept as bins: exactly for 0/1 scores and any value that repeats;
 * values closer than one part in 64 share a bin, which keeps its count and
 * exact sum (so the mean stays exact and the bootstrap uses the bin's mean).
 * Memory grows with the number of distinct bins, never with the item count.
 */
struct lleval_dist_bin {
    uint64_t key;
    uint64_t count;
    double sum;
};

struct lleval_dist {
    struct lleval_dist_bin *bins; /* n_bins bins in the order first seen, cap allocated */
    size_t n_bins;
    size_t cap;
    uint64_t n;                /* values added */
    double sum;                /* their exact sum, in the order added */
    struct lleval_idset index; /* bin key -> its index in bins */
};

/* clang-format off */
#define LLEVAL_DIST_INIT {NULL, 0, 0, 0, 0.0, LLEVAL_IDSET_INIT}
/* clang-format on */

void lleval_dist_init(struct lleval_dist *d);
void lleval_dist_release(struct lleval_dist *d);
/* Adds one value; NaN and infinities are ignored. */
void lleval_dist_add(struct lleval_dist *d, double v);
/* Adds every value of from (borrowed) to into. */
void lleval_dist_merge(struct lleval_dist *into, const struct lleval_dist *from);
/* The mean (NaN when empty). */
double lleval_dist_mean(const struct lleval_dist *d);

/*
 * 95% percentile bootstrap CI of the mean of the values in d. Each resample
 * draws d->n items with replacement. Resampling n items is, in distribution,
 * one multinomial draw of n over the distinct values with their counts, so:
 *  - up to 64 bins (0/1 metrics: one binomial per resample, exact; F1: a
 *    multinomial over its distinct values): the bins as they are, one
 *    multinomial per resample as sequential conditional binomials, or, with
 *    at most 16 items per bin, the items drawn one by one;
 *  - more bins (latency, tokens/s: a value per item): the bins are merged
 *    into coarse bins h = sd / 8 wide (sd: the standard deviation of the
 *    bins' means), each drawn at its mean, one multinomial over those per
 *    resample: cost resamples x (range / h) binomials, never resamples x
 *    items; unless the coarse bins hold at most 16 items each, and then the
 *    items are drawn one by one as they are (exact, and as cheap).
 * What the coarse bins cost in honesty, exactly: the per-item resampled mean
 * M and the binned one M_b satisfy E[M | bin counts] = M_b, so (law of total
 * variance) Var(M) = Var(M_b) + s_w^2 / n, s_w^2 being the count-weighted
 * variance of the values within their bins: at most h^2 / 4 = sd^2 / 256
 * for the coarse bins' means (the values themselves sit up to one part in
 * 64 from their fine bin's mean, as without coarse bins).
 * The centre (the mean) is exact; the resampled means' spread shrinks by a
 * factor of at least sqrt(1 - 1/256) (0.2%; about 0.07% for values spread
 * evenly in a bin), ten times below the Monte Carlo error of a percentile of
 * 1,000 resamples (about 2% of the interval's width).
 * Binomial variates: inversion for a mean under 10, else Hormann's BTRS with
 * log-factorials from a table and Stirling's series; xoshiro256** seeded from
 * `seed`, so an interval depends only on the values and the seed.
 * Returns 0 or LLEVAL_EINVAL.
 */
int lleval_bootstrap_dist(const struct lleval_dist *d, long resamples, uint64_t seed,
                          struct lleval_ci *out, struct lleval_err *err);

#endif
