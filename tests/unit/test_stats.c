/* Unit tests for the PRNG, bootstrap intervals, the bounded distribution and McNemar's test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/score/stats.h"
#include "lleval/util/util.h"

#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) {                                                           \
            print_error("%s = %.12g, expected %.12g (+- %g)\n", #a, a_, b_, (double)(tol));        \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

static void test_mcnemar_known(void **state)
{
    (void)state;
    /* 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 158 / 4096 */
    assert_near(lleval_mcnemar_exact(10, 2), 158.0 / 4096.0, 1e-12);
    assert_near(lleval_mcnemar_exact(2, 10), 158.0 / 4096.0, 1e-12);
    assert_near(lleval_mcnemar_exact(10, 2), 0.0386, 1e-4);
    assert_near(lleval_mcnemar_exact(0, 10), 2.0 / 1024.0, 1e-15);
    assert_near(lleval_mcnemar_exact(0, 0), 1.0, 0);
    assert_near(lleval_mcnemar_exact(5, 5), 1.0, 0);
    assert_near(lleval_mcnemar_exact(4, 5), 1.0, 0);
    assert_true(isnan(lleval_mcnemar_exact(-1, 3)));
    /* up to 60 discordant pairs in exact integers, beyond through lgamma,
     * both to the digits of 2 * sum C(n, 0..20) / 2^n */
    assert_near(lleval_mcnemar_exact(20, 40), 0.01348929373119186, 1e-15);
    assert_near(lleval_mcnemar_exact(20, 41), 0.009853448195259264, 1e-12);
    assert_true(lleval_mcnemar_exact(20, 41) < lleval_mcnemar_exact(20, 40));
    assert_near(lleval_mcnemar_exact(30, 30), 1.0, 0);
}

/* Log-space sums agree with exact integer arithmetic, and stay finite for large counts. */
static void test_mcnemar_exact_sums(void **state)
{
    (void)state;
    for (long b = 0; b <= 30; b++) {
        for (long c = 0; c + b <= 60; c += 7) {
            long n = b + c, k = b < c ? b : c;
            double sum = 0, binom = 1;
            for (long i = 0; i <= k; i++) {
                sum += binom;
                binom = binom * (double)(n - i) / (double)(i + 1);
            }
            double want = 2.0 * sum / pow(2.0, (double)n);
            if (want > 1)
                want = 1;
            if (n == 0)
                want = 1;
            assert_near(lleval_mcnemar_exact(b, c), want, 1e-12 * (want > 1e-300 ? 1 : 0) + 1e-15);
        }
    }
    double p = lleval_mcnemar_exact(100000, 101000);
    assert_true(p > 0 && p < 1);
    assert_near(lleval_mcnemar_exact(100000, 101000), lleval_mcnemar_exact(101000, 100000), 1e-12);
    assert_true(lleval_mcnemar_exact(0, 5000) >= 0.0);
}

static void test_rng(void **state)
{
    struct lleval_rng a, b;
    (void)state;
    lleval_rng_seed(&a, 42);
    lleval_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        assert_true(lleval_rng_next(&a) == lleval_rng_next(&b));
    lleval_rng_seed(&b, 43);
    assert_true(lleval_rng_next(&a) != lleval_rng_next(&b));
    lleval_rng_seed(&a, 0); /* seed 0 is valid */
    assert_true(lleval_rng_next(&a) != 0 || lleval_rng_next(&a) != 0);
    for (int i = 0; i < 10000; i++) {
        double u = lleval_rng_uniform(&a);
        assert_true(u >= 0.0 && u < 1.0);
        assert_true(lleval_rng_below(&a, 7) < 7);
    }
    assert_int_equal(lleval_rng_below(&a, 1), 0);
    assert_true(lleval_seed_derive(1, "a/f1") != lleval_seed_derive(1, "a/em"));
    assert_true(lleval_seed_derive(1, "a/f1") == lleval_seed_derive(1, "a/f1"));
    assert_true(lleval_seed_derive(1, "a/f1") != lleval_seed_derive(2, "a/f1"));
}

static void test_binomial(void **state)
{
    struct lleval_rng r;
    const struct {
        uint64_t n;
        double p;
    } cases[] = {{30, 0.1},
                 {1000, 0.5},
                 {50, 0.9},
                 {100000, 0.37},
                 {10, 0.999},
                 /* BTRS with the log-factorial table (m < 16) and Stirling's series */
                 {40, 0.3},
                 {25, 0.45},
                 {60, 0.75},
                 {1000000, 0.02},
                 {3000000, 0.5},
                 {200, 0.051},
                 {100000, 1e-4}};
    (void)state;
    lleval_rng_seed(&r, 7);
    assert_int_equal(lleval_rng_binomial(&r, 0, 0.5), 0);
    assert_int_equal(lleval_rng_binomial(&r, 10, 0.0), 0);
    assert_int_equal(lleval_rng_binomial(&r, 10, 1.0), 10);
    assert_int_equal(lleval_rng_binomial(&r, 10, 1.5), 10);
    for (size_t c = 0; c < LLEVAL_ARRAY_SIZE(cases); c++) {
        double n = (double)cases[c].n, p = cases[c].p, sum = 0, sq = 0;
        const int draws = 20000;
        for (int i = 0; i < draws; i++) {
            uint64_t k = lleval_rng_binomial(&r, cases[c].n, p);
            assert_true(k <= cases[c].n);
            sum += (double)k;
            sq += (double)k * (double)k;
        }
        double mean = sum / draws, var = sq / draws - mean * mean;
        /* the sample mean lies within 5 standard errors; the variance within 10% */
        assert_near(mean, n * p, 5 * sqrt(n * p * (1 - p) / draws) + 1e-9);
        assert_near(var, n * p * (1 - p), 0.1 * n * p * (1 - p) + 0.05);
    }
}

static void test_bootstrap_constant(void **state)
{
    double x[50];
    struct lleval_ci ci;
    struct lleval_dist d = LLEVAL_DIST_INIT;
    (void)state;
    for (int i = 0; i < 50; i++)
        x[i] = 0.7;
    assert_int_equal(lleval_bootstrap_mean(x, 50, 1000, 1, &ci, NULL), 0);
    assert_true(ci.lo == ci.hi);
    assert_near(ci.lo, 0.7, 1e-12);
    assert_near(ci.mean, 0.7, 1e-12);
    for (int i = 0; i < 50; i++)
        lleval_dist_add(&d, 0.7);
    assert_int_equal(lleval_bootstrap_dist(&d, 1000, 1, &ci, NULL), 0);
    assert_true(ci.lo == ci.hi);
    assert_near(ci.hi, 0.7, 1e-12);
    assert_int_equal(ci.n, 50);
    assert_int_equal(ci.resamples, 1000);
    lleval_dist_release(&d);
}

static void test_bootstrap_known(void **state)
{
    /* 1000 items, half correct: the 95% CI is about 0.5 +- 1.96 * sqrt(0.25 / 1000) = +- 0.031 */
    double *x = malloc(1000 * sizeof(double));
    struct lleval_ci ci, ci2, cd;
    struct lleval_dist d = LLEVAL_DIST_INIT;
    (void)state;
    for (int i = 0; i < 1000; i++) {
        x[i] = i % 2;
        lleval_dist_add(&d, x[i]);
    }
    assert_int_equal(lleval_bootstrap_mean(x, 1000, 2000, 11, &ci, NULL), 0);
    assert_near(ci.mean, 0.5, 1e-12);
    assert_near(ci.lo, 0.469, 0.006);
    assert_near(ci.hi, 0.531, 0.006);
    /* determinism */
    assert_int_equal(lleval_bootstrap_mean(x, 1000, 2000, 11, &ci2, NULL), 0);
    assert_true(ci.lo == ci2.lo && ci.hi == ci2.hi);
    assert_int_equal(lleval_bootstrap_mean(x, 1000, 2000, 12, &ci2, NULL), 0);
    assert_true(ci.lo != ci2.lo || ci.hi != ci2.hi);
    /* the distribution form resamples the same way */
    assert_int_equal(d.n_bins, 2);
    assert_int_equal(lleval_bootstrap_dist(&d, 2000, 11, &cd, NULL), 0);
    assert_near(cd.mean, 0.5, 1e-12);
    assert_near(cd.lo, ci.lo, 0.006);
    assert_near(cd.hi, ci.hi, 0.006);
    assert_int_equal(lleval_bootstrap_dist(&d, 2000, 11, &ci2, NULL), 0);
    assert_true(cd.lo == ci2.lo && cd.hi == ci2.hi);
    /* no resamples: the mean only */
    assert_int_equal(lleval_bootstrap_mean(x, 1000, 0, 11, &ci, NULL), 0);
    assert_true(isnan(ci.lo) && isnan(ci.hi));
    assert_near(ci.mean, 0.5, 1e-12);
    /* bad resample counts */
    {
        struct lleval_err err = LLEVAL_ERR_INIT;
        assert_int_equal(lleval_bootstrap_mean(x, 1000, -1, 11, &ci, &err), LLEVAL_EINVAL);
        tu_assert_contains(err.msg, "bootstrap resamples");
        assert_int_equal(lleval_bootstrap_dist(&d, LLEVAL_BOOTSTRAP_MAX + 1, 1, &ci, NULL),
                         LLEVAL_EINVAL);
    }
    /* no data */
    assert_int_equal(lleval_bootstrap_mean(x, 0, 100, 1, &ci, NULL), 0);
    assert_true(isnan(ci.mean) && isnan(ci.lo));
    free(x);
    lleval_dist_release(&d);
}

/* Continuous scores: the distribution form agrees with the vector form. */
static void test_dist_continuous(void **state)
{
    enum { N = 5000 };
    double *x = malloc(N * sizeof(double));
    struct lleval_dist d = LLEVAL_DIST_INIT, a = LLEVAL_DIST_INIT, b = LLEVAL_DIST_INIT;
    struct lleval_ci cv, cd, cm;
    struct lleval_rng r;
    double sum = 0;
    (void)state;
    lleval_rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        double u = lleval_rng_uniform(&r);
        x[i] = u < 0.3 ? 0.0 : (u < 0.6 ? 1.0 : 200.0 + 800.0 * lleval_rng_uniform(&r));
        sum += x[i];
        lleval_dist_add(&d, x[i]);
        lleval_dist_add(i % 2 ? &a : &b, x[i]);
    }
    /* bounded by the value range / bin width (200..1000: 28 + 64 + 61 bins, plus 0 and 1) */
    assert_true(d.n_bins <= 155);
    assert_near(lleval_dist_mean(&d), sum / N, 1e-9);
    assert_int_equal(lleval_bootstrap_mean(x, N, 1000, 3, &cv, NULL), 0);
    assert_int_equal(lleval_bootstrap_dist(&d, 1000, 3, &cd, NULL), 0);
    double width = cv.hi - cv.lo;
    assert_near(cd.lo, cv.lo, 0.1 * width);
    assert_near(cd.hi, cv.hi, 0.1 * width);
    /* merging two halves gives the same distribution */
    lleval_dist_merge(&a, &b);
    assert_int_equal(a.n, N);
    assert_int_equal(a.n_bins, d.n_bins);
    assert_int_equal(lleval_bootstrap_dist(&a, 1000, 3, &cm, NULL), 0);
    assert_near(cm.mean, cd.mean, 1e-9);
    assert_near(cm.lo, cd.lo, 1e-9);
    assert_near(cm.hi, cd.hi, 1e-9);
    /* non-finite values are ignored */
    lleval_dist_add(&d, NAN);
    lleval_dist_add(&d, INFINITY);
    assert_int_equal(d.n, N);
    free(x);
    lleval_dist_release(&d);
    lleval_dist_release(&a);
    lleval_dist_release(&b);
}

/* Many 0/1 values use two bins whatever their number. */
static void test_dist_bounded(void **state)
{
    struct lleval_dist d = LLEVAL_DIST_INIT;
    struct lleval_ci ci;
    (void)state;
    for (long i = 0; i < 2000000; i++)
        lleval_dist_add(&d, (double)(i % 3 == 0));
    assert_int_equal(d.n_bins, 2);
    assert_true(d.cap <= 16);
    assert_int_equal(lleval_bootstrap_dist(&d, 1000, 9, &ci, NULL), 0);
    assert_near(ci.mean, 1.0 / 3.0, 1e-6);
    assert_true(ci.lo < ci.mean && ci.mean < ci.hi);
    assert_near(ci.hi - ci.lo, 2 * 1.96 * sqrt((1.0 / 3) * (2.0 / 3) / 2000000), 0.0002);
    lleval_dist_release(&d);
}

static void test_paired(void **state)
{
    double a[200], b[200];
    struct lleval_ci ci;
    (void)state;
    for (int i = 0; i < 200; i++) {
        a[i] = (i % 4) != 0; /* 75% */
        b[i] = (i % 2) != 0; /* 50% */
    }
    assert_int_equal(lleval_bootstrap_paired_diff(a, a, 200, 500, 1, &ci, NULL), 0);
    assert_true(ci.lo == 0.0 && ci.hi == 0.0 && ci.mean == 0.0);
    assert_int_equal(lleval_bootstrap_paired_diff(a, b, 200, 2000, 1, &ci, NULL), 0);
    assert_near(ci.mean, 0.25, 1e-12);
    assert_true(ci.lo > 0.15 && ci.lo < 0.25);
    assert_true(ci.hi > 0.25 && ci.hi < 0.35);
    {
        struct lleval_ci again;
        assert_int_equal(lleval_bootstrap_paired_diff(a, b, 200, 2000, 1, &again, NULL), 0);
        assert_true(again.lo == ci.lo && again.hi == ci.hi);
    }
    for (int i = 0; i < 200; i++)
        b[i] = a[i] - 0.125;
    assert_int_equal(lleval_bootstrap_paired_diff(a, b, 200, 300, 1, &ci, NULL), 0);
    assert_true(ci.lo == ci.hi);
    assert_near(ci.lo, 0.125, 1e-12);
}

/* Values with one bin each (latencies): the bootstrap over coarse bins agrees
 * with the per-item bootstrap of the same values within Monte Carlo error. */
static void check_coarse(double (*gen)(struct lleval_rng *), int n, uint64_t seed)
{
    double *x = malloc((size_t)n * sizeof(double));
    struct lleval_dist d = LLEVAL_DIST_INIT;
    struct lleval_ci cv, cd, again;
    struct lleval_rng r;
    lleval_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        x[i] = gen(&r);
        lleval_dist_add(&d, x[i]);
    }
    assert_true(d.n_bins > 64); /* the coarse bins */
    assert_int_equal(lleval_bootstrap_mean(x, (size_t)n, 2000, seed, &cv, NULL), 0);
    assert_int_equal(lleval_bootstrap_dist(&d, 2000, seed, &cd, NULL), 0);
    assert_near(cd.mean, cv.mean, 1e-9 * fabs(cv.mean));
    /* each percentile of 2,000 resamples has a Monte Carlo error of about 2%
     * of the interval's width; the coarse bins shrink the width by < 0.2% */
    double width = cv.hi - cv.lo;
    assert_near(cd.lo, cv.lo, 0.08 * width);
    assert_near(cd.hi, cv.hi, 0.08 * width);
    assert_near(cd.hi - cd.lo, width, 0.08 * width);
    /* reproducible */
    assert_int_equal(lleval_bootstrap_dist(&d, 2000, seed, &again, NULL), 0);
    assert_true(again.lo == cd.lo && again.hi == cd.hi);
    free(x);
    lleval_dist_release(&d);
}

static double gen_latency(struct lleval_rng *r) /* log-normal-ish, ms */
{
    double s = 0;
    for (int i = 0; i < 4; i++)
        s += lleval_rng_uniform(r) - 0.5;
    return 800.0 * exp(0.9 * s);
}

static double gen_heavy(struct lleval_rng *r) /* Pareto tail: a few large values */
{
    return 20.0 / pow(1.0 - lleval_rng_uniform(r), 0.4);
}

static double gen_bimodal(struct lleval_rng *r) /* tokens/s of two speeds */
{
    double u = lleval_rng_uniform(r);
    return (u < 0.7 ? 40.0 : 200.0) + 60.0 * lleval_rng_uniform(r);
}

static void test_dist_coarse(void **state)
{
    (void)state;
    check_coarse(gen_latency, 4000, 21);
    check_coarse(gen_latency, 20000, 22);
    check_coarse(gen_heavy, 6000, 23);
    check_coarse(gen_bimodal, 3000, 24);
}

/* Few bins, or few items per bin, keep their exact draws: the same interval
 * as the per-item draws over the bins' values. */
static void test_dist_exact_paths(void **state)
{
    struct lleval_dist d = LLEVAL_DIST_INIT;
    struct lleval_ci a, b;
    double x[40];
    (void)state;
    for (int i = 0; i < 40; i++) { /* 40 bins of one item: drawn one by one */
        x[i] = 1.0 + i;
        lleval_dist_add(&d, x[i]);
    }
    assert_int_equal(lleval_bootstrap_dist(&d, 500, 4, &a, NULL), 0);
    assert_int_equal(lleval_bootstrap_mean(x, 40, 500, 4, &b, NULL), 0);
    assert_true(a.lo == b.lo && a.hi == b.hi);
    lleval_dist_release(&d);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The interval's ends are the sorted resampled means' linear percentiles:
 * replayed here with the same generator and a sort (ties included). */
static void test_percentile_reference(void **state)
{
    static const double x[] = {0, 1, 1, 0.5, 3, 0, 1};
    const size_t n = sizeof(x) / sizeof(x[0]);
    const long counts[] = {1, 2, 3, 39, 40, 999, 1000, 1001};
    (void)state;
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        long b = counts[c];
        double *st = malloc((size_t)b * sizeof(double)), want[2];
        struct lleval_rng r;
        struct lleval_ci ci;
        lleval_rng_seed(&r, 77);
        for (long k = 0; k < b; k++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++)
                sum += x[lleval_rng_below(&r, n)];
            st[k] = sum / (double)n;
        }
        qsort(st, (size_t)b, sizeof(double), cmp_dbl);
        for (int i = 0; i < 2; i++) {
            double tail = (1.0 - LLEVAL_CI_LEVEL) / 2.0; /* as stats.c computes it */
            double h = (i ? 1.0 - tail : tail) * (double)(b - 1);
            long j = (long)floor(h);
            double frac = h - (double)j;
            want[i] = j + 1 < b ? st[j] + frac * (st[j + 1] - st[j]) : st[j];
        }
        if (st[0] == st[b - 1])
            want[0] = want[1] = st[0];
        assert_int_equal(lleval_bootstrap_mean(x, n, b, 77, &ci, NULL), 0);
        assert_true(ci.lo == want[0]);
        assert_true(ci.hi == want[1]);
        free(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcnemar_known),
        cmocka_unit_test(test_mcnemar_exact_sums),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_binomial),
        cmocka_unit_test(test_bootstrap_constant),
        cmocka_unit_test(test_bootstrap_known),
        cmocka_unit_test(test_dist_continuous),
        cmocka_unit_test(test_dist_bounded),
        cmocka_unit_test(test_paired),
        cmocka_unit_test(test_dist_coarse),
        cmocka_unit_test(test_dist_exact_paths),
        cmocka_unit_test(test_percentile_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
