/* Unit tests for several models in one run (issue 11, point 3): custom_ids with
 * the model first (lib/run/batch.c) and the leaderboard (lib/score/leaderboard.c):
 * per-model correctness, pairing by the id without its model, McNemar. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/run/batch.h"
#include "lleval/score/leaderboard.h"
#include "lleval/score/stats.h"
#include "lleval/util/util.h"

static void test_cid_with_model(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_cid c;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *folder;
    (void)state;
    lleval_cid_encode_model(&sb, "llama3.1:8b q4", "nq", "id:1", "direct", 0.7, 2);
    assert_string_equal(sb.buf, "llama3.1%3A8b%20q4:nq:id%3A1:direct:t0.7:s2");
    assert_int_equal(lleval_cid_decode(sb.buf, &c, &err), 0);
    assert_string_equal(c.model, "llama3.1:8b q4");
    assert_string_equal(c.dataset, "nq");
    assert_string_equal(c.item_id, "id:1");
    assert_string_equal(c.temp, "0.7");
    assert_int_equal(c.sample, 2);
    lleval_cid_release(&c);
    /* without a model: today's id, and no model decoded */
    lleval_sb_reset(&sb);
    lleval_cid_encode_model(&sb, NULL, "nq", "x", "direct", 0, 0);
    assert_string_equal(sb.buf, "nq:x:direct:t0:s0");
    assert_int_equal(lleval_cid_decode(sb.buf, &c, &err), 0);
    assert_null(c.model);
    lleval_cid_release(&c);
    /* six components need t and s in the last two; seven are refused */
    assert_int_not_equal(lleval_cid_decode("m:a:b:c:t0:s0:x", &c, &err), 0);
    assert_int_not_equal(lleval_cid_decode("a:b:c:t0:s0:x", &c, &err), 0);
    assert_int_not_equal(lleval_cid_decode(":a:b:c:t0:s0", &c, &err), 0);
    assert_int_not_equal(lleval_cid_decode("m%3:a:b:c:t0:s0", &c, &err), 0);
    folder = lleval_model_folder("a/b:c");
    assert_string_equal(folder, "a%2Fb%3Ac"); /* one folder, never two */
    free(folder);
    folder = lleval_trial_folder("m:1", "nq");
    assert_string_equal(folder, "m%3A1/nq");
    free(folder);
    folder = lleval_trial_folder(NULL, "nq");
    assert_string_equal(folder, "nq");
    free(folder);
    lleval_sb_release(&sb);
}

static int cmp_rec(const void *x, const void *y)
{
    return strcmp(((const struct lleval_item_rec *)x)->custom_id,
                  ((const struct lleval_item_rec *)y)->custom_id);
}

/* Items 0..n-1 of models a and b (and of c on the first half), right as the masks say. */
static void make_items(struct lleval_item_scores *s, size_t n, const bool *ra, const bool *rb)
{
    s->items = lleval_xcalloc(3 * n, sizeof(*s->items));
    s->n = 0;
    for (size_t i = 0; i < n; i++) {
        s->items[s->n].custom_id = lleval_xasprintf("a:nq:q%03zu:direct:t0:s0", i);
        s->items[s->n].f1 = ra[i] ? 1.0 : 0.4; /* a wrong answer with some overlap */
        s->items[s->n].contains = ra[i] ? 1.0 : 0.0;
        s->items[s->n++].correct = ra[i];
        s->items[s->n].custom_id = lleval_xasprintf("b%%3Ax:nq:q%03zu:direct:t0:s0", i);
        s->items[s->n++].correct = rb[i];
        if (i < n / 2) {
            s->items[s->n].custom_id = lleval_xasprintf("c:nq:q%03zu:direct:t0:s0", i);
            s->items[s->n].mc = true; /* multiple choice only: no F1 */
            s->items[s->n++].correct = true;
        }
    }
    /* a single-model row in the same file has no model: left out */
    s->items[s->n].custom_id = lleval_xstrdup("nq:q000:direct:t0:s0");
    s->items[s->n++].correct = true;
    qsort(s->items, s->n, sizeof(*s->items), cmp_rec);
}

static void test_leaderboard(void **state)
{
    enum { N = 20 };
    bool ra[N], rb[N];
    struct lleval_item_scores s;
    struct lleval_leaderboard lb;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb text = LLEVAL_SB_INIT;
    long a_only = 0, b_only = 0;
    (void)state;
    for (int i = 0; i < N; i++) {
        ra[i] = i % 2 == 0; /* 10 right */
        rb[i] = i % 4 != 3; /* 15 right */
        a_only += ra[i] && !rb[i];
        b_only += !ra[i] && rb[i];
    }
    make_items(&s, N, ra, rb);
    assert_int_equal(lleval_leaderboard_build(&s, 200, 7, &lb, &err), 0);
    assert_int_equal(lb.n_models, 3);
    assert_string_equal(lb.models[0].model, "a"); /* custom_id order: a, b%3Ax, c */
    assert_string_equal(lb.models[1].model, "b:x");
    assert_string_equal(lb.models[2].model, "c");
    assert_int_equal(lb.models[0].correct.n, N);
    assert_true(fabs(lb.models[0].correct.mean - 0.5) < 1e-12);
    assert_true(fabs(lb.models[1].correct.mean - 0.75) < 1e-12);
    assert_true(lb.models[1].correct.lo <= 0.75 && lb.models[1].correct.hi >= 0.75);
    assert_int_equal(lb.models[2].correct.n, N / 2);
    /* F1 and contains over QA items: a's mean F1 (10 x 1.0 + 10 x 0.4) / 20 */
    assert_int_equal(lb.models[0].f1.n, N);
    assert_true(fabs(lb.models[0].f1.mean - 0.7) < 1e-12);
    assert_true(lb.models[0].f1.lo <= 0.7 && lb.models[0].f1.hi >= 0.7 && lb.models[0].f1.lo < 0.7);
    assert_true(fabs(lb.models[0].contains.mean - 0.5) < 1e-12);
    assert_int_equal(lb.models[2].f1.n, 0); /* c has no QA item */
    assert_true(isnan(lb.models[2].f1.mean));
    assert_int_equal(lb.n_pairs, 3);
    assert_int_equal(lb.pairs[0].a, 0);
    assert_int_equal(lb.pairs[0].b, 1);
    assert_int_equal(lb.pairs[0].n, N);
    assert_int_equal(lb.pairs[0].a_only, a_only);
    assert_int_equal(lb.pairs[0].b_only, b_only);
    assert_true(fabs(lb.pairs[0].mcnemar_p - lleval_mcnemar_exact(a_only, b_only)) < 1e-12);
    assert_int_equal(lb.pairs[1].n, N / 2); /* a and c share the first half only */
    assert_int_equal(lb.pairs[2].n, N / 2);
    lleval_leaderboard_format(&lb, &text);
    tu_assert_contains(text.buf, "   1  c ");   /* 100% ranks first */
    tu_assert_contains(text.buf, "   2  b:x "); /* then 75% */
    tu_assert_contains(text.buf, "a vs b:x: 20 paired items");
    tu_assert_contains(text.buf, "70.0 ["); /* a's F1 */
    tu_assert_contains(text.buf, "n/a");    /* c's F1 */
    lleval_sb_release(&text);
    lleval_leaderboard_release(&lb);
    lleval_item_scores_release(&s);
}

/* scores.json's leaderboard read back: each metric as a fraction, null as none. */
static void test_leaderboard_read(void **state)
{
    struct lleval_leaderboard lb;
    json_t *doc = json_loads(
        "{\"leaderboard\": {\"models\": [{\"model\": \"a\", \"correct\": {\"value\": 50.0, "
        "\"ci95\": [30.0, 70.0], \"n\": 20}, \"f1\": {\"value\": 70.0, \"ci95\": [60.0, 80.0], "
        "\"n\": 20}, \"contains\": null}, {\"model\": \"b\", \"correct\": {\"value\": 75.0, "
        "\"ci95\": null, \"n\": 20}}], \"pairs\": []}}",
        0, NULL);
    (void)state;
    assert_non_null(doc);
    lleval_leaderboard_read(doc, &lb);
    assert_int_equal(lb.n_models, 2);
    assert_true(fabs(lb.models[0].f1.mean - 0.7) < 1e-12);
    assert_true(fabs(lb.models[0].f1.hi - 0.8) < 1e-12);
    assert_int_equal(lb.models[0].f1.n, 20);
    assert_int_equal(lb.models[0].contains.n, 0);
    assert_true(isnan(lb.models[0].contains.mean));
    assert_true(isnan(lb.models[1].f1.mean)); /* absent: a scores.json from before */
    assert_true(isnan(lb.models[1].correct.lo));
    lleval_leaderboard_release(&lb);
    json_decref(doc);
}

static void test_no_models_no_board(void **state)
{
    struct lleval_item_scores s = {0};
    struct lleval_leaderboard lb;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb text = LLEVAL_SB_INIT;
    (void)state;
    s.items = lleval_xcalloc(1, sizeof(*s.items));
    s.items[0].custom_id = lleval_xstrdup("nq:q:direct:t0:s0");
    s.n = 1;
    assert_int_equal(lleval_leaderboard_build(&s, 100, 1, &lb, &err), 0);
    assert_int_equal(lb.n_models, 0);
    lleval_leaderboard_format(&lb, &text);
    assert_int_equal(text.len, 0);
    lleval_leaderboard_release(&lb);
    lleval_item_scores_release(&s);
    lleval_sb_release(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cid_with_model),
        cmocka_unit_test(test_leaderboard),
        cmocka_unit_test(test_leaderboard_read),
        cmocka_unit_test(test_no_models_no_board),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
