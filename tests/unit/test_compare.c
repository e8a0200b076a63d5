/* Unit tests for comparing two runs: pairing by custom_id, groups, McNemar, bootstrap, flips. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/run/batch.h"
#include "lleval/score/compare.h"
#include "lleval/util/util.h"

#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) {                                                           \
            print_error("%s = %.17g, expected %.17g (+- %g)\n", #a, a_, b_, (double)(tol));        \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* An item of a prediction set, before it is sorted. */
struct it {
    const char *dataset;
    int item;
    double temp;
    bool correct;
    double f1;
    bool mc;
};

static int cmp_rec(const void *x, const void *y)
{
    return strcmp(((const struct lleval_item_rec *)x)->custom_id,
                  ((const struct lleval_item_rec *)y)->custom_id);
}

/* A prediction set as lleval_item_scores_load() leaves it: sorted by custom_id. */
static void make_set(struct lleval_item_scores *s, const struct it *its, size_t n)
{
    s->items = lleval_xcalloc(n ? n : 1, sizeof(*s->items));
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        char id[32];
        snprintf(id, sizeof(id), "q-%03d", its[i].item);
        if (its[i].dataset)
            lleval_cid_encode(&sb, its[i].dataset, id, "direct", its[i].temp, 0);
        else
            lleval_sb_adds(&sb, "not a custom id");
        s->items[i].custom_id = lleval_sb_detach(&sb, NULL);
        s->items[i].ok = true;
        s->items[i].mc = its[i].mc;
        s->items[i].correct = its[i].correct;
        s->items[i].em = its[i].correct;
        s->items[i].f1 = its[i].f1;
    }
    qsort(s->items, n, sizeof(*s->items), cmp_rec);
}

static const struct lleval_compare_group *group(const struct lleval_compare_result *r,
                                                const char *key)
{
    for (size_t k = 0; k < r->n_groups; k++)
        if (!strcmp(r->groups[k].key, key))
            return &r->groups[k];
    print_error("no group '%s' among %zu\n", key, r->n_groups);
    fail();
    return NULL;
}

/* Items on one side only are counted and left out; the groups come from the custom_ids. */
static void test_pairing(void **state)
{
    static const struct it A[] = {
        {"nq", 1, 0, true, 1, false},    {"nq", 2, 0, false, 0.5, false},
        {"nq", 3, 0, true, 1, false},    {"nq", 5, 0, false, 0, false},
        {"mmlu", 1, 0.7, true, 1, true}, {NULL, 9, 0, true, 1, false},
    };
    static const struct it B[] = {
        {"nq", 2, 0, true, 1, false},     {"nq", 3, 0, true, 1, false},
        {"nq", 4, 0, true, 1, false},     {"nq", 5, 0, false, 0.25, false},
        {"mmlu", 1, 0.7, false, 0, true}, {"mmlu", 2, 0.7, true, 1, true},
        {NULL, 9, 0, false, 0, false},
    };
    struct lleval_item_scores a, b;
    struct lleval_compare_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct lleval_compare_group *g;
    (void)state;

    make_set(&a, A, LLEVAL_ARRAY_SIZE(A));
    make_set(&b, B, LLEVAL_ARRAY_SIZE(B));
    assert_int_equal(lleval_compare_items(&a, &b, 200, 7, &r, &err), 0);
    assert_int_equal(r.paired, 5); /* nq 2, 3, 5, mmlu 1, the undecodable id */
    assert_int_equal(r.only_a, 1); /* nq 1 */
    assert_int_equal(r.only_b, 2); /* nq 4, mmlu 2 */
    assert_int_equal(r.bootstrap, 200);
    assert_int_equal(r.n_groups, 3);

    g = group(&r, "nq/direct/t0");
    assert_int_equal(g->n, 3);
    assert_false(g->mc);
    assert_near(g->a_main, 1.0 / 3.0, 0);
    assert_near(g->b_main, 2.0 / 3.0, 0);
    assert_near(g->a_f1, 1.5 / 3.0, 1e-15);
    assert_near(g->b_f1, 2.25 / 3.0, 1e-15);
    assert_near(g->diff_f1.mean, 0.75 / 3.0, 1e-15);
    assert_int_equal(g->a_only_right, 0);
    assert_int_equal(g->b_only_right, 1); /* nq 2 */

    g = group(&r, "mmlu/direct/t0.7");
    assert_int_equal(g->n, 1);
    assert_true(g->mc);
    assert_int_equal(g->a_only_right, 1);
    assert_near(g->diff_main.mean, -1.0, 0);

    g = group(&r, "(other)");
    assert_int_equal(g->n, 1);
    assert_int_equal(g->a_only_right, 1);

    lleval_compare_result_release(&r);
    assert_null(r.groups);
    lleval_item_scores_release(&a);
    lleval_item_scores_release(&b);
}

/* An id repeated on one side pairs once; the extra copy counts as present on that side only. */
static void test_duplicates(void **state)
{
    static const struct it A[] = {
        {"nq", 1, 0, true, 1, false},
        {"nq", 1, 0, false, 0, false},
        {"nq", 2, 0, true, 1, false},
    };
    static const struct it B[] = {
        {"nq", 1, 0, true, 1, false},
        {"nq", 2, 0, true, 1, false},
        {"nq", 2, 0, true, 1, false},
        {"nq", 2, 0, true, 1, false},
    };
    struct lleval_item_scores a, b;
    struct lleval_compare_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    make_set(&a, A, LLEVAL_ARRAY_SIZE(A));
    make_set(&b, B, LLEVAL_ARRAY_SIZE(B));
    assert_int_equal(lleval_compare_items(&a, &b, 0, 1, &r, &err), 0);
    assert_int_equal(r.paired, 2);
    assert_int_equal(r.only_a, 1);
    assert_int_equal(r.only_b, 2);
    assert_int_equal(r.n_groups, 1);
    assert_int_equal(r.groups[0].n, 2);
    /* no resamples: the observed difference without an interval */
    assert_true(isnan(r.groups[0].diff_main.lo) && isnan(r.groups[0].diff_main.hi));
    lleval_compare_result_release(&r);
    lleval_item_scores_release(&a);
    lleval_item_scores_release(&b);
}

/* Disjoint sets: nothing paired, no group. */
static void test_nothing_in_common(void **state)
{
    static const struct it A[] = {{"nq", 1, 0, true, 1, false}};
    static const struct it B[] = {{"nq", 2, 0, true, 1, false}};
    struct lleval_item_scores a, b, none = {NULL, 0};
    struct lleval_compare_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    make_set(&a, A, 1);
    make_set(&b, B, 1);
    assert_int_equal(lleval_compare_items(&a, &b, 100, 1, &r, &err), 0);
    assert_int_equal(r.paired, 0);
    assert_int_equal(r.only_a, 1);
    assert_int_equal(r.only_b, 1);
    assert_int_equal(r.n_groups, 0);
    assert_int_equal(r.n_flips, 0);
    lleval_compare_result_release(&r);
    assert_int_equal(lleval_compare_items(&a, &none, 100, 1, &r, &err), 0);
    assert_int_equal(r.only_a, 1);
    assert_int_equal(r.only_b, 0);
    lleval_compare_result_release(&r);
    lleval_item_scores_release(&a);
    lleval_item_scores_release(&b);
}

/*
 * A known 2x2 table over 20 items: both right 5, both wrong 3, A only 2, B only
 * 10. McNemar's exact p = 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 158 / 4096;
 * the flips are the 12 discordant items, in custom_id order.
 */
static void test_mcnemar_and_flips(void **state)
{
    struct it A[20], B[20];
    struct lleval_item_scores a, b;
    struct lleval_compare_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t a_right_flips = 0;
    (void)state;

    for (int i = 0; i < 20; i++) {
        bool ar = i < 5 || (i >= 8 && i < 10), br = i < 5 || i >= 10;
        A[i] = (struct it){"nq", i, 0, ar, ar ? 1 : 0, false};
        B[i] = (struct it){"nq", i, 0, br, br ? 1 : 0, false};
    }
    make_set(&a, A, 20);
    make_set(&b, B, 20);
    assert_int_equal(lleval_compare_items(&a, &b, 500, 3, &r, &err), 0);
    assert_int_equal(r.n_groups, 1);
    assert_int_equal(r.groups[0].a_only_right, 2);
    assert_int_equal(r.groups[0].b_only_right, 10);
    assert_near(r.groups[0].mcnemar_p, 158.0 / 4096.0, 1e-12);
    assert_near(r.groups[0].a_main, 7.0 / 20.0, 1e-15);
    assert_near(r.groups[0].b_main, 15.0 / 20.0, 1e-15);

    assert_int_equal(r.n_flips, 12);
    for (size_t k = 0; k < r.n_flips; k++) {
        if (r.flips[k].a_right)
            a_right_flips++;
        if (k)
            assert_true(strcmp(r.flips[k - 1].custom_id, r.flips[k].custom_id) < 0);
    }
    assert_int_equal(a_right_flips, 2);
    tu_assert_contains(r.flips[0].custom_id, "q-008");
    assert_true(r.flips[0].a_right);
    tu_assert_contains(r.flips[2].custom_id, "q-010");
    assert_false(r.flips[2].a_right);
    lleval_compare_result_release(&r);
    lleval_item_scores_release(&a);
    lleval_item_scores_release(&b);
}

/* The intervals are reproducible from the seed, contain the true delta, and depend on it. */
static void test_bootstrap(void **state)
{
    struct it A[40], B[40];
    struct lleval_item_scores a, b;
    struct lleval_compare_result r1, r2, r3;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct lleval_ci *c;
    (void)state;

    for (int i = 0; i < 40; i++) {
        bool ar = i % 2 == 0, br = i % 4 != 3; /* A 50%, B 75%: delta +0.25 */
        A[i] = (struct it){"squad", i, 0, ar, ar ? 1 : 0.25, false};
        B[i] = (struct it){"squad", i, 0, br, br ? 1 : 0.5, false};
    }
    make_set(&a, A, 40);
    make_set(&b, B, 40);
    assert_int_equal(lleval_compare_items(&a, &b, 1000, 12345, &r1, &err), 0);
    assert_int_equal(lleval_compare_items(&a, &b, 1000, 12345, &r2, &err), 0);
    assert_int_equal(lleval_compare_items(&a, &b, 1000, 99, &r3, &err), 0);

    c = &r1.groups[0].diff_main;
    assert_near(c->mean, 0.25, 1e-15);
    assert_true(c->lo < 0.25 && 0.25 < c->hi);
    assert_true(c->lo >= 0.075 && c->hi <= 0.425); /* about 2 standard errors (0.068) */
    assert_int_equal(c->resamples, 1000);
    assert_true(r1.groups[0].diff_f1.lo <= r1.groups[0].diff_f1.mean &&
                r1.groups[0].diff_f1.mean <= r1.groups[0].diff_f1.hi);
    /* the same seed: the very same bounds */
    assert_true(c->lo == r2.groups[0].diff_main.lo && c->hi == r2.groups[0].diff_main.hi);
    assert_true(r1.groups[0].diff_f1.lo == r2.groups[0].diff_f1.lo &&
                r1.groups[0].diff_f1.hi == r2.groups[0].diff_f1.hi);
    /* another seed: other resamples (the observed delta is the same) */
    assert_near(r3.groups[0].diff_main.mean, 0.25, 1e-15);
    assert_true(c->lo != r3.groups[0].diff_main.lo || c->hi != r3.groups[0].diff_main.hi ||
                r1.groups[0].diff_f1.lo != r3.groups[0].diff_f1.lo ||
                r1.groups[0].diff_f1.hi != r3.groups[0].diff_f1.hi);
    lleval_compare_result_release(&r1);
    lleval_compare_result_release(&r2);
    lleval_compare_result_release(&r3);

    /* a resample count the bootstrap refuses: an error and an empty result */
    assert_int_equal(lleval_compare_items(&a, &b, LLEVAL_BOOTSTRAP_MAX + 1, 1, &r1, &err),
                     LLEVAL_EINVAL);
    assert_int_equal(r1.n_groups, 0);
    assert_null(r1.groups);
    assert_null(r1.flips);
    lleval_item_scores_release(&a);
    lleval_item_scores_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairing),           cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_nothing_in_common), cmocka_unit_test(test_mcnemar_and_flips),
        cmocka_unit_test(test_bootstrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
