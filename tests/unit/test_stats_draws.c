/*
 * The bootstrap's draws are artifacts (the intervals in scores.json): this
 * test holds lleval_rng_binomial() and lleval_bootstrap_dist() to the draws
 * of the implementation before the BTRS set-up was kept across resamples and
 * the log-factorials cached (commit 2bcf51a, copied below verbatim as ref_*),
 * bit for bit, on many seeds, arguments and distributions.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/score/stats.h"
#include "lleval/util/util.h"
#include "testutil.h"

/* ---- the reference: lib/score/stats.c as of 2bcf51a ---- */

/* Sequential-search inversion of the CDF (used for n * p < 10): one exp per
 * call (logq = log1p(-p), precomputed by callers that reuse p) plus about
 * n * p multiply-divides. */
static uint64_t binomial_inversion(struct lleval_rng *r, uint64_t n, double p, double logq)
{
    double q = 1.0 - p, dn = (double)n;
    double qn = exp(dn * logq);
    double np = dn * p;
    double bound = fmin(dn, np + 10.0 * sqrt(np * q + 1.0));
    double u = lleval_rng_uniform(r), px = qn;
    uint64_t x = 0;
    while (u > px) {
        x++;
        if ((double)x > bound) { /* lost in the far tail by rounding: start over */
            x = 0;
            px = qn;
            u = lleval_rng_uniform(r);
        } else {
            u -= px;
            px = ((dn - (double)x + 1.0) * p * px) / ((double)x * q);
        }
    }
    return x;
}

/* ln k! : a table below 16, Stirling's series (five terms, relative error
 * under 5e-16) above; what BTRS's acceptance test needs, without lgamma's
 * cost (about a tenth of it). */
static double log_factorial(double k)
{
    static const double table[16] = {0,
                                     0,
                                     0.69314718055994495,
                                     1.7917594692280554,
                                     3.1780538303479449,
                                     4.7874917427820467,
                                     6.5792512120101021,
                                     8.5251613610654147,
                                     10.604602902745249,
                                     12.801827480081467,
                                     15.104412573075514,
                                     17.502307845873887,
                                     19.987214495661885,
                                     22.552163853123421,
                                     25.191221182738683,
                                     27.89927138384089};
    double x, r, r2;
    if (k < 16)
        return table[(int)k];
    x = k + 1.0;
    r = 1.0 / x;
    r2 = r * r;
    return (x - 0.5) * log(x) - x + 0.91893853320467274178 +
           r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680))));
}

/* Hormann (1993) BTRS, for p <= 0.5 and n * p >= 10; the acceptance test
 * with log-factorials (log_factorial). lpq = log(p / q), computed by callers
 * that reuse p. */
static uint64_t binomial_btrs(struct lleval_rng *r, uint64_t n, double p, double lpq)
{
    double dn = (double)n, q = 1.0 - p;
    double spq = sqrt(dn * p * q);
    double b = 1.15 + 2.53 * spq;
    double a = -0.0873 + 0.0248 * b + 0.01 * p;
    double c = dn * p + 0.5;
    double vr = 0.92 - 4.2 / b;
    double alpha = (2.83 + 5.1 / b) * spq;
    double m = floor((dn + 1) * p);
    double h = -1; /* log_factorial(m) + log_factorial(n - m), when first needed */
    for (;;) {
        double u = lleval_rng_uniform(r) - 0.5;
        double v = lleval_rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + c);
        if (k < 0 || k > dn)
            continue;
        if (us >= 0.07 && v <= vr)
            return (uint64_t)k;
        if (us <= 0) /* u was exactly +-0.5 */
            continue;
        if (h < 0)
            h = log_factorial(m) + log_factorial(dn - m);
        v = log(v * alpha / (a / (us * us) + b));
        if (v <= h - log_factorial(k) - log_factorial(dn - k) + (k - m) * lpq)
            return (uint64_t)k;
    }
}

static uint64_t ref_rng_binomial(struct lleval_rng *r, uint64_t n, double p)
{
    bool flip = false;
    uint64_t k;
    if (n == 0 || !(p > 0.0))
        return 0;
    if (p >= 1.0)
        return n;
    if (p > 0.5) {
        p = 1.0 - p;
        flip = true;
    }
    k = (double)n * p < 10.0 ? binomial_inversion(r, n, p, log1p(-p))
                             : binomial_btrs(r, n, p, log(p / (1.0 - p)));
    return flip ? n - k : k;
}

/* ---- percentile intervals ---- */

/* Moves the k-th smallest of a[0..n) to a[k], with none larger before it and
 * none smaller after it (Hoare's selection, median of three pivots). */
static void select_kth(double *a, long n, long k)
{
    long lo = 0, hi = n - 1;
    while (hi > lo) {
        long mid = lo + (hi - lo) / 2, i = lo, j = hi;
        double t, pivot;
        if (a[mid] < a[lo])
            t = a[mid], a[mid] = a[lo], a[lo] = t;
        if (a[hi] < a[lo])
            t = a[hi], a[hi] = a[lo], a[lo] = t;
        if (a[hi] < a[mid])
            t = a[hi], a[hi] = a[mid], a[mid] = t;
        pivot = a[mid];
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                t = a[i], a[i] = a[j], a[j] = t;
                i++;
                j--;
            }
        }
        /* a[lo..j] <= pivot <= a[i..hi]; between them, values equal to pivot */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* The smallest of a[from..n). */
static double min_from(const double *a, long n, long from)
{
    double m = a[from];
    for (long i = from + 1; i < n; i++)
        if (a[i] < m)
            m = a[i];
    return m;
}

/* Sets out->lo / out->hi from the resampled statistics (reordered): the
 * order statistics a sort would give, found by selection (no sort). */
static void percentile_ci(double *stats, long b, struct lleval_ci *out)
{
    double tail = (1.0 - LLEVAL_CI_LEVEL) / 2.0;
    double qs[2] = {tail, 1.0 - tail};
    double *dst[2] = {&out->lo, &out->hi};
    double lo = stats[0], hi = stats[0];
    for (long i = 1; i < b; i++) {
        if (stats[i] < lo)
            lo = stats[i];
        if (stats[i] > hi)
            hi = stats[i];
    }
    for (int i = 0; i < 2; i++) {
        double h = qs[i] * (double)(b - 1);
        long j = (long)floor(h);
        double frac = h - (double)j, sj, sj1;
        select_kth(stats, b, j);
        sj = stats[j];
        if (j + 1 < b) {
            sj1 = min_from(stats, b, j + 1);
            *dst[i] = sj + frac * (sj1 - sj);
        } else {
            *dst[i] = sj;
        }
    }
    /* all resamples equal: an interval of width exactly 0 */
    if (lo == hi)
        *dst[0] = *dst[1] = lo;
}

static int check_resamples(long resamples, struct lleval_err *err)
{
    if (resamples < 0 || resamples > LLEVAL_BOOTSTRAP_MAX)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "bootstrap resamples must be from 0 to %d, not %ld",
                              LLEVAL_BOOTSTRAP_MAX, resamples);
    return 0;
}

static void ci_empty(struct lleval_ci *out, size_t n, long resamples)
{
    out->mean = NAN;
    out->lo = out->hi = NAN;
    out->n = n;
    out->resamples = resamples;
}

/* Up to this many items per bin, a resample draws the items one by one
 * (a draw costs about a sixteenth of a binomial variate). */
#define DIRECT_FACTOR 16
/* Up to this many bins, the bootstrap draws over the bins as they are; above,
 * over coarse bins COARSE_STEPS to a standard deviation (see stats.h). */
#define EXACT_BINS   64
#define COARSE_STEPS 8

static int cmp_bin(const void *a, const void *b)
{
    uint64_t x = ((const struct lleval_dist_bin *)a)->key;
    uint64_t y = ((const struct lleval_dist_bin *)b)->key;
    return x < y ? -1 : x > y;
}

/* A bin being drawn: its value (mean), count and, for the coarse bins, the
 * coarse index; then the sort order is (coarse index, fine key). */
struct draw_bin {
    double value;
    double coarse;
    uint64_t key;
    uint64_t count;
    double sum;
};

static int cmp_coarse(const void *a, const void *b)
{
    const struct draw_bin *x = a, *y = b;
    if (x->coarse != y->coarse)
        return x->coarse < y->coarse ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * Merges the k bins (in key order) into bins sd / COARSE_STEPS wide, sd being
 * the standard deviation of the bins' means around the mean; each keeps its
 * count and exact sum. Returns the new count of bins (k when sd is 0).
 */
static size_t coarsen(struct draw_bin *bins, size_t k, uint64_t n, double mean)
{
    double ss = 0, lo = bins[0].value, h;
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        double dv = bins[i].value - mean;
        ss += (double)bins[i].count * dv * dv;
        if (bins[i].value < lo)
            lo = bins[i].value;
    }
    h = sqrt(ss / (double)n) / COARSE_STEPS;
    if (!(h > 0) || !isfinite(h))
        return k;
    for (size_t i = 0; i < k; i++)
        bins[i].coarse = floor((bins[i].value - lo) / h);
    qsort(bins, k, sizeof(*bins), cmp_coarse);
    for (size_t i = 0; i < k; i++) {
        if (m && bins[m - 1].coarse == bins[i].coarse) {
            bins[m - 1].count += bins[i].count;
            bins[m - 1].sum += bins[i].sum;
        } else {
            bins[m++] = bins[i];
        }
    }
    for (size_t i = 0; i < m; i++)
        bins[i].value = bins[i].sum / (double)bins[i].count;
    return m;
}

/* One multinomial draw of n items over the k bins (sequential conditional
 * binomials; bin i's conditional probability is fixed, so its logarithms
 * are computed once): the resample's sum. */
struct multi {
    double *prob, *logq;       /* p and log(1 - p) for the inversion */
    double *pf, *logqf, *lpqf; /* as lleval_rng_binomial flips p: min(p, 1 - p) and its logs */
};

static double multinomial_sum(struct lleval_rng *r, const struct draw_bin *bins, size_t k,
                              uint64_t n, const struct multi *mp)
{
    uint64_t left = n;
    double s = 0;
    for (size_t i = 0; i < k && left; i++) {
        uint64_t x;
        double p = mp->prob[i], pf = mp->pf[i];
        if (i + 1 == k || p >= 1.0) {
            x = left;
        } else if ((double)left * p < 10.0) {
            x = binomial_inversion(r, left, p, mp->logq[i]);
        } else {
            /* lleval_rng_binomial(r, left, p), with its logarithms precomputed */
            x = (double)left * pf < 10.0 ? binomial_inversion(r, left, pf, mp->logqf[i])
                                         : binomial_btrs(r, left, pf, mp->lpqf[i]);
            if (pf != p)
                x = left - x;
        }
        s += (double)x * bins[i].value;
        left -= x;
    }
    return s;
}

static int ref_bootstrap_dist(const struct lleval_dist *d, long resamples, uint64_t seed,
                              struct lleval_ci *out, struct lleval_err *err)
{
    int rc = check_resamples(resamples, err);
    if (rc)
        return rc;
    ci_empty(out, d->n, 0);
    if (d->n == 0)
        return 0;
    out->mean = lleval_dist_mean(d);
    if (resamples == 0)
        return 0;

    /* the bins in key order, so the result does not depend on the order of adds */
    size_t k = d->n_bins, kd;
    struct lleval_dist_bin *sorted = lleval_xmalloc(k * sizeof(*sorted));
    struct draw_bin *bins = lleval_xmalloc(k * sizeof(*bins)), *coarse = NULL;
    double *stats = lleval_xmalloc((size_t)resamples * sizeof(double));
    struct lleval_rng r;
    memcpy(sorted, d->bins, k * sizeof(*sorted));
    qsort(sorted, k, sizeof(*sorted), cmp_bin);
    for (size_t i = 0; i < k; i++) {
        bins[i].key = sorted[i].key;
        bins[i].count = sorted[i].count;
        bins[i].sum = sorted[i].sum;
        bins[i].value = sorted[i].sum / (double)sorted[i].count;
        bins[i].coarse = 0;
    }
    free(sorted);
    kd = k;

    lleval_rng_seed(&r, seed);
    if (k > EXACT_BINS) {
        /* many bins: coarse ones (unless even they hold few items each) */
        coarse = lleval_xmalloc(k * sizeof(*coarse));
        memcpy(coarse, bins, k * sizeof(*coarse));
        kd = coarsen(coarse, k, d->n, out->mean);
    }
    if (d->n > DIRECT_FACTOR * (uint64_t)kd) {
        /* one multinomial draw over the (fine or coarse) bins per resample */
        const struct draw_bin *db = coarse ? coarse : bins;
        struct multi mp;
        uint64_t pool = d->n;
        double *buf = lleval_xmalloc(5 * kd * sizeof(double));
        mp.prob = buf;
        mp.logq = buf + kd;
        mp.pf = buf + 2 * kd;
        mp.logqf = buf + 3 * kd;
        mp.lpqf = buf + 4 * kd;
        for (size_t i = 0; i < kd; i++) {
            double p = (double)db[i].count / (double)pool, pf = p > 0.5 ? 1.0 - p : p;
            mp.prob[i] = p;
            mp.logq[i] = p < 1.0 ? log1p(-p) : -INFINITY;
            mp.pf[i] = pf;
            mp.logqf[i] = log1p(-pf);
            mp.lpqf[i] = pf > 0.0 ? log(pf / (1.0 - pf)) : 0.0;
            pool -= db[i].count;
        }
        for (long b = 0; b < resamples; b++)
            stats[b] = multinomial_sum(&r, db, kd, d->n, &mp) / (double)d->n;
        free(buf);
    } else {
        /* few items per bin: draw items one by one over the fine bins
         * (cheaper than the bins' binomials) */
        double *item = lleval_xmalloc((size_t)d->n * sizeof(double));
        size_t m = 0;
        for (size_t i = 0; i < k; i++)
            for (uint64_t c = 0; c < bins[i].count; c++)
                item[m++] = bins[i].value;
        for (long b = 0; b < resamples; b++) {
            double s = 0;
            for (size_t j = 0; j < m; j++)
                s += item[lleval_rng_below(&r, m)];
            stats[b] = s / (double)m;
        }
        free(item);
    }
    percentile_ci(stats, resamples, out);
    out->resamples = resamples;
    free(stats);
    free(coarse);
    free(bins);
    return 0;
}

/* ---- the tests ---- */

/* The same variates and the same generator state after them. */
static void test_binomial_same(void **state)
{
    static const double ps[] = {1e-4, 0.003, 0.02, 0.051, 0.1,  0.25,  0.37,    0.45,
                                0.5,  0.55,  0.75, 0.9,   0.98, 0.999, 1.0 / 3, 2.0 / 3};
    static const uint64_t ns[] = {1,   2,   10,   19,   20,    21,     25,      40,     60,
                                  100, 200, 1000, 4095, 12345, 100000, 1000000, 3000000};
    (void)state;
    for (uint64_t seed = 0; seed < 40; seed++) {
        for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(ns); i++) {
            for (size_t j = 0; j < LLEVAL_ARRAY_SIZE(ps); j++) {
                struct lleval_rng a, b;
                lleval_rng_seed(&a, seed * 7919 + i * 31 + j);
                b = a;
                for (int d = 0; d < 20; d++) {
                    uint64_t x = ref_rng_binomial(&a, ns[i], ps[j]);
                    uint64_t y = lleval_rng_binomial(&b, ns[i], ps[j]);
                    if (x != y)
                        fail_msg("seed %llu n %llu p %.17g draw %d: %llu != %llu",
                                 (unsigned long long)seed, (unsigned long long)ns[i], ps[j], d,
                                 (unsigned long long)y, (unsigned long long)x);
                }
                assert_memory_equal(a.s, b.s, sizeof(a.s));
            }
        }
    }
}

/* A value of kind k for draw i (r: the test's own generator). */
static double value_of(int kind, struct lleval_rng *r)
{
    double u = lleval_rng_uniform(r);
    switch (kind) {
    case 0: /* 0/1 scores (EM, contains): two bins */
        return u < 0.43 ? 1.0 : 0.0;
    case 1: /* mostly 1: the flipped probability */
        return u < 0.97 ? 1.0 : 0.0;
    case 2: { /* F1-like fractions: tens of bins */
        uint64_t m = 1 + lleval_rng_below(r, 12), c = lleval_rng_below(r, m + 1);
        return u < 0.4 ? 0.0 : u < 0.8 ? 1.0 : 2.0 * (double)c / (double)(m + c + 1);
    }
    case 3: /* latency-like, continuous: many bins, coarse draws */
        return 200.0 + 3000.0 * u * u + 10.0 * lleval_rng_uniform(r);
    case 4: /* tokens/s with one cell rounded to tenths: a few hundred bins */
        return floor((12.0 + 10.0 * u) * 10.0) / 10.0;
    default: /* rare values: the inversion for the small bins, BTRS for the big one */
        return u < 0.999 ? 5.0 : u < 0.9995 ? 7.0 : 9.0;
    }
}

/* The same interval, bit for bit, on distributions of every shape and size. */
static void test_bootstrap_same(void **state)
{
    static const size_t sizes[] = {1, 5, 30, 200, 1000, 4000, 20000, 100000};
    (void)state;
    for (int kind = 0; kind < 6; kind++) {
        for (size_t si = 0; si < LLEVAL_ARRAY_SIZE(sizes); si++) {
            struct lleval_dist d = LLEVAL_DIST_INIT;
            struct lleval_rng g;
            lleval_rng_seed(&g, (uint64_t)kind * 100 + si);
            for (size_t i = 0; i < sizes[si]; i++)
                lleval_dist_add(&d, value_of(kind, &g));
            for (uint64_t seed = 0; seed < 3; seed++) {
                struct lleval_ci a, b;
                long resamples = seed == 2 ? 57 : 1000;
                uint64_t s = lleval_seed_derive(seed, "xquad/direct/t0/f1");
                assert_int_equal(ref_bootstrap_dist(&d, resamples, s, &a, NULL), 0);
                assert_int_equal(lleval_bootstrap_dist(&d, resamples, s, &b, NULL), 0);
                if (memcmp(&a.lo, &b.lo, sizeof(a.lo)) || memcmp(&a.hi, &b.hi, sizeof(a.hi)) ||
                    memcmp(&a.mean, &b.mean, sizeof(a.mean)) || a.n != b.n ||
                    a.resamples != b.resamples)
                    fail_msg("kind %d n %zu seed %llu: [%.17g, %.17g] mean %.17g != "
                             "[%.17g, %.17g] mean %.17g",
                             kind, sizes[si], (unsigned long long)seed, b.lo, b.hi, b.mean, a.lo,
                             a.hi, a.mean);
            }
            lleval_dist_release(&d);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binomial_same),
        cmocka_unit_test(test_bootstrap_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
