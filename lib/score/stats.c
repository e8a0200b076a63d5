/*
 * Statistics: xoshiro256** PRNG, binomial variates, percentile bootstrap
 * (vector, paired and bounded-memory distribution forms) and McNemar's exact
 * test. See include/lleval/score/stats.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/score/stats.h"
#include "lleval/util/util.h"

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void lleval_rng_seed(struct lleval_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t lleval_rng_next(struct lleval_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double lleval_rng_uniform(struct lleval_rng *r)
{
    return (double)(lleval_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t lleval_rng_below(struct lleval_rng *r, uint64_t n)
{
    uint64_t x;
    if (n <= UINT32_MAX) {
        /* Lemire's multiply-shift with rejection: unbiased, no division usually */
        uint32_t n32 = (uint32_t)n;
        uint64_t m = (lleval_rng_next(r) >> 32) * n32;
        uint32_t low = (uint32_t)m;
        if (low < n32) {
            uint32_t t = (uint32_t)(-n32) % n32;
            while (low < t) {
                m = (lleval_rng_next(r) >> 32) * n32;
                low = (uint32_t)m;
            }
        }
        return m >> 32;
    }
    /* rejection on the top of the range: unbiased, rarely loops */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    do {
        x = lleval_rng_next(r);
    } while (x >= limit);
    return x % n;
}

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

/*
 * Values of log_factorial() already computed, for the many draws of one
 * bootstrap: direct-mapped by the integer argument. A hit returns the very
 * bits log_factorial() returned for that argument, so the draws do not
 * change; it saves a log() and the series (the draws of a resample ask for
 * the same few arguments again and again).
 */
#define LF_CACHE 4096

struct lf_cache {
    double k[LF_CACHE], v[LF_CACHE];
};

static void lf_cache_init(struct lf_cache *c)
{
    for (size_t i = 0; i < LF_CACHE; i++)
        c->k[i] = -1; /* never an argument */
}

static double log_factorial_c(struct lf_cache *c, double k)
{
    size_t i;
    if (k < 16 || !c)
        return log_factorial(k);
    i = (size_t)(uint64_t)k % LF_CACHE;
    if (c->k[i] != k) {
        c->k[i] = k;
        c->v[i] = log_factorial(k);
    }
    return c->v[i];
}

/* What BTRS computes from n and p before drawing: the same for every draw of
 * one (n, p), so a bootstrap that draws one bin's count again with the same
 * n (a resample's first bin always) computes it once. h is computed when
 * first needed (h_set). */
struct btrs_setup {
    uint64_t n;
    double p, lpq;
    double dn, spq, b, a, c, vr, alpha, m, h;
    bool h_set;
};

static void btrs_setup(struct btrs_setup *s, uint64_t n, double p, double lpq)
{
    double dn = (double)n, q = 1.0 - p;
    s->n = n;
    s->p = p;
    s->lpq = lpq;
    s->dn = dn;
    s->spq = sqrt(dn * p * q);
    s->b = 1.15 + 2.53 * s->spq;
    s->a = -0.0873 + 0.0248 * s->b + 0.01 * p;
    s->c = dn * p + 0.5;
    s->vr = 0.92 - 4.2 / s->b;
    s->alpha = (2.83 + 5.1 / s->b) * s->spq;
    s->m = floor((dn + 1) * p);
    s->h_set = false;
}

/* Hormann (1993) BTRS, for p <= 0.5 and n * p >= 10, with s set up for
 * (n, p) by btrs_setup(); the acceptance test with log-factorials
 * (log_factorial, through the cache c when not NULL). */
static uint64_t btrs_draw(struct lleval_rng *r, struct btrs_setup *s, struct lf_cache *c)
{
    const double a = s->a, b = s->b, dn = s->dn, m = s->m;
    for (;;) {
        double u = lleval_rng_uniform(r) - 0.5;
        double v = lleval_rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + s->c);
        if (k < 0 || k > dn)
            continue;
        if (us >= 0.07 && v <= s->vr)
            return (uint64_t)k;
        if (us <= 0) /* u was exactly +-0.5 */
            continue;
        if (!s->h_set) {
            s->h = log_factorial_c(c, m) + log_factorial_c(c, dn - m);
            s->h_set = true;
        }
        v = log(v * s->alpha / (a / (us * us) + b));
        if (v <= s->h - log_factorial_c(c, k) - log_factorial_c(c, dn - k) + (k - m) * s->lpq)
            return (uint64_t)k;
    }
}

/* Hormann (1993) BTRS, for p <= 0.5 and n * p >= 10. lpq = log(p / q),
 * computed by callers that reuse p. */
static uint64_t binomial_btrs(struct lleval_rng *r, uint64_t n, double p, double lpq)
{
    struct btrs_setup s;
    btrs_setup(&s, n, p, lpq);
    return btrs_draw(r, &s, NULL);
}

uint64_t lleval_rng_binomial(struct lleval_rng *r, uint64_t n, double p)
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

uint64_t lleval_seed_derive(uint64_t seed, const char *label)
{
    /* plain FNV-1a, not lleval_hash64(): the seeds, and so every interval
     * already published, stay as they were */
    uint64_t x = seed ^ lleval_fnv1a64(label);
    return splitmix64(&x);
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

int lleval_bootstrap_mean(const double *x, size_t n, long resamples, uint64_t seed,
                          struct lleval_ci *out, struct lleval_err *err)
{
    int rc = check_resamples(resamples, err);
    double sum = 0;
    if (rc)
        return rc;
    ci_empty(out, n, 0);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    out->mean = sum / (double)n;
    if (resamples == 0)
        return 0;
    struct lleval_rng r;
    double *stats = lleval_xmalloc((size_t)resamples * sizeof(double));
    lleval_rng_seed(&r, seed);
    for (long b = 0; b < resamples; b++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += x[lleval_rng_below(&r, n)];
        stats[b] = s / (double)n;
    }
    percentile_ci(stats, resamples, out);
    out->resamples = resamples;
    free(stats);
    return 0;
}

int lleval_bootstrap_paired_diff(const double *a, const double *b, size_t n, long resamples,
                                 uint64_t seed, struct lleval_ci *out, struct lleval_err *err)
{
    int rc = check_resamples(resamples, err);
    double sum = 0;
    if (rc)
        return rc;
    ci_empty(out, n, 0);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] - b[i];
    out->mean = sum / (double)n;
    if (resamples == 0)
        return 0;
    struct lleval_rng r;
    double *stats = lleval_xmalloc((size_t)resamples * sizeof(double));
    lleval_rng_seed(&r, seed);
    for (long k = 0; k < resamples; k++) {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            size_t j = (size_t)lleval_rng_below(&r, n);
            s += a[j] - b[j];
        }
        stats[k] = s / (double)n;
    }
    percentile_ci(stats, resamples, out);
    out->resamples = resamples;
    free(stats);
    return 0;
}

/* ---- McNemar ---- */

double lleval_mcnemar_exact(long b, long c)
{
    long n, k;
    double ln2, logsum = -INFINITY, p;
    if (b < 0 || c < 0)
        return NAN;
    n = b + c;
    if (n == 0)
        return 1.0;
    k = b < c ? b : c;
    if (n <= 60) {
        /* exactly, in integers (C(60, 30) * 60 fits in 64 bits): a libm's
         * lgamma rounding never turns a p of 1 into 0.9999999999999998 */
        uint64_t term = 1, sum = 0;
        for (long i = 0; i <= k; i++) {
            sum += term;
            term = term * (uint64_t)(n - i) / (uint64_t)(i + 1);
        }
        p = ldexp((double)sum, (int)(1 - n));
        return p > 1.0 ? 1.0 : p;
    }
    ln2 = log(2.0);
    for (long i = 0; i <= k; i++) {
        double t = lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                   (double)n * ln2;
        /* log(exp(logsum) + exp(t)) without overflow */
        if (logsum == -INFINITY)
            logsum = t;
        else if (t > logsum)
            logsum = t + log1p(exp(logsum - t));
        else
            logsum = logsum + log1p(exp(t - logsum));
    }
    p = 2.0 * exp(logsum);
    return p > 1.0 ? 1.0 : p;
}

/* ---- distribution ---- */

/* Up to this many items per bin, a resample draws the items one by one
 * (a draw costs about a sixteenth of a binomial variate). */
#define DIRECT_FACTOR 16
/* Up to this many bins, the bootstrap draws over the bins as they are; above,
 * over coarse bins COARSE_STEPS to a standard deviation (see stats.h). */
#define EXACT_BINS   64
#define COARSE_STEPS 8

#define ZERO_KEY (UINT64_MAX - 1)

/* Sign, exponent and the top 6 mantissa bits: bins one part in 64 wide. */
static uint64_t bin_key(double v)
{
    uint64_t bits;
    if (v == 0.0)
        return ZERO_KEY;
    memcpy(&bits, &v, sizeof(bits));
    return bits >> 46;
}

void lleval_dist_init(struct lleval_dist *d)
{
    struct lleval_dist z = LLEVAL_DIST_INIT;
    *d = z;
}

void lleval_dist_release(struct lleval_dist *d)
{
    free(d->bins);
    lleval_idset_release(&d->index);
    lleval_dist_init(d);
}

/* Finds or creates the bin of key. */
static struct lleval_dist_bin *find_bin(struct lleval_dist *d, uint64_t key)
{
    bool found;
    size_t at = lleval_idset_put(&d->index, key, (uint32_t)d->n_bins, &found);
    struct lleval_dist_bin *b;
    if (found)
        return &d->bins[d->index.vals[at]];
    LLEVAL_GROW(d->bins, d->n_bins, d->cap);
    b = &d->bins[d->n_bins++];
    b->key = key;
    b->count = 0;
    b->sum = 0;
    return b;
}

void lleval_dist_add(struct lleval_dist *d, double v)
{
    struct lleval_dist_bin *b;
    if (!isfinite(v))
        return;
    b = find_bin(d, bin_key(v));
    b->count++;
    b->sum += v;
    d->n++;
    d->sum += v;
}

void lleval_dist_merge(struct lleval_dist *into, const struct lleval_dist *from)
{
    for (size_t i = 0; i < from->n_bins; i++) {
        const struct lleval_dist_bin *s = &from->bins[i];
        struct lleval_dist_bin *b = find_bin(into, s->key);
        b->count += s->count;
        b->sum += s->sum;
    }
    into->n += from->n;
    into->sum += from->sum;
}

double lleval_dist_mean(const struct lleval_dist *d)
{
    return d->n ? d->sum / (double)d->n : NAN;
}

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
 * are computed once, and its BTRS set-up kept for the next resample that
 * draws it from as many items): the resample's sum. */
struct multi {
    double *prob, *logq;       /* p and log(1 - p) for the inversion */
    double *pf, *logqf, *lpqf; /* as lleval_rng_binomial flips p: min(p, 1 - p) and its logs */
    struct btrs_setup *bs;     /* per bin: the last BTRS set-up (n 0: none) */
    struct lf_cache *lf;
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
            if ((double)left * pf < 10.0) {
                x = binomial_inversion(r, left, pf, mp->logqf[i]);
            } else {
                struct btrs_setup *bs = &mp->bs[i];
                if (bs->n != left)
                    btrs_setup(bs, left, pf, mp->lpqf[i]);
                x = btrs_draw(r, bs, mp->lf);
            }
            if (pf != p)
                x = left - x;
        }
        s += (double)x * bins[i].value;
        left -= x;
    }
    return s;
}

int lleval_bootstrap_dist(const struct lleval_dist *d, long resamples, uint64_t seed,
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
        mp.bs = lleval_xcalloc(kd, sizeof(*mp.bs));
        mp.lf = lleval_xmalloc(sizeof(*mp.lf));
        lf_cache_init(mp.lf);
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
        free(mp.bs);
        free(mp.lf);
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
