/*
 * Unit tests for concurrency tuning (lib/run/tune.c): the candidate series,
 * the steady-state rate on made-up send/answer orders (bursts, queueing, the
 * drain), the stop rule and the pick, the manifest object's round trip and
 * the table, and a measurement through the real scheduler on the dry engine
 * that delivers every job exactly once. No assertion depends on a timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/engine/engine.h"
#include "lleval/run/tune.h"
#include "lleval/util/util.h"

static void test_candidates(void **state)
{
    long c[LLEVAL_TUNE_MAX_POINTS];
    size_t n;
    (void)state;
    n = lleval_tune_candidates(4, 0, c, LLEVAL_TUNE_MAX_POINTS);
    assert_int_equal(n, 6);
    assert_int_equal(c[0], 1);
    assert_int_equal(c[1], 2);
    assert_int_equal(c[2], 4);
    assert_int_equal(c[3], 5);
    assert_int_equal(c[4], 6);
    assert_int_equal(c[5], 8);
    n = lleval_tune_candidates(16, 0, c, LLEVAL_TUNE_MAX_POINTS); /* 1 2 4 8 16 17 18 24 32 */
    assert_int_equal(n, 9);
    assert_int_equal(c[4], 16);
    assert_int_equal(c[8], 32);
    n = lleval_tune_candidates(1, 0, c, LLEVAL_TUNE_MAX_POINTS); /* 1 2 3 */
    assert_int_equal(n, 3);
    assert_int_equal(c[2], 3);
    n = lleval_tune_candidates(0, 0, c, LLEVAL_TUNE_MAX_POINTS); /* unknown: powers of two */
    assert_int_equal(n, 7);
    assert_int_equal(c[6], LLEVAL_TUNE_MAX_UNKNOWN);
    n = lleval_tune_candidates(200, 256, c, LLEVAL_TUNE_MAX_POINTS); /* bounded by max */
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i] <= 256);
        if (i)
            assert_true(c[i] > c[i - 1]);
    }
    assert_int_equal(c[n - 1], 202); /* 1.5x and 2x 200 are above 256 */
}

static void test_sample_size(void **state)
{
    (void)state;
    assert_int_equal(lleval_tune_sample_size(1), 8);
    assert_int_equal(lleval_tune_sample_size(16), 64);
    for (long c = 1; c <= 64; c++)
        assert_true(lleval_tune_sample_size(c) >= 2 * (size_t)c + 4);
}

/* A closed loop of c clients on a server of `slots` that answers in rounds of
 * d seconds (every request takes d, at most slots at once, first come first
 * served, the answers of a round come together): fills pull[] and order[]. */
static void simulate(long c, long slots, double d, size_t n, double *pull, size_t *order,
                     size_t *n_answered)
{
    size_t sent = 0, next_serve = 0, k = 0;
    double t = 0;
    while (sent < (size_t)c && sent < n)
        pull[sent++] = 0;
    while (next_serve < sent) {
        size_t batch = 0;
        t += d;
        while (batch < (size_t)slots && next_serve < sent) {
            order[k++] = next_serve++;
            batch++;
        }
        for (size_t b = 0; b < batch && sent < n; b++)
            pull[sent++] = t; /* each answer frees a place: the next job goes out */
    }
    *n_answered = k;
}

static void test_rate_closed_loop(void **state)
{
    double pull[256];
    size_t order[256], na;
    (void)state;
    /* one at a time, 0.1 s each: 10/s */
    simulate(1, 4, 0.1, 8, pull, order, &na);
    assert_int_equal(na, 8);
    assert_true(lleval_tune_rate(pull, 8, order, na, 1) > 9.99);
    assert_true(lleval_tune_rate(pull, 8, order, na, 1) < 10.01);
    /* 4 on 4 slots: 40/s */
    simulate(4, 4, 0.1, 12, pull, order, &na);
    assert_true(lleval_tune_rate(pull, 12, order, na, 4) > 39.9);
    assert_true(lleval_tune_rate(pull, 12, order, na, 4) < 40.1);
    /* more in flight than slots: still 40/s (the queue does not make it faster),
     * though the answers come in lockstep bursts that are not multiples of c,
     * the worst case for a short sample: within 5% */
    for (long c = 5; c <= 12; c++) {
        size_t n = lleval_tune_sample_size(c);
        double r;
        simulate(c, 4, 0.1, n, pull, order, &na);
        r = lleval_tune_rate(pull, n, order, na, c);
        assert_true(r > 38.0);
        assert_true(r < 42.0);
    }
    for (long c = 16; c <= 32; c++) { /* 16 slots: 160/s, at the candidates */
        size_t n = lleval_tune_sample_size(c);
        if (c > 18 && c != 24 && c != 32)
            continue;
        double r;
        simulate(c, 16, 0.1, n, pull, order, &na);
        r = lleval_tune_rate(pull, n, order, na, c);
        assert_true(r > 152.0);
        assert_true(r < 168.0);
    }
    /* nothing */
    assert_true(lleval_tune_rate(pull, 0, order, 0, 1) == 0);
}

static void add_point(struct lleval_tune_result *t, long c, double rps)
{
    struct lleval_tune_point *p = &t->points[t->n_points++];
    memset(p, 0, sizeof(*p));
    p->concurrency = c;
    p->requests = lleval_tune_sample_size(c);
    p->rps = rps;
}

static void test_stop_and_pick(void **state)
{
    struct lleval_tune_result t;
    (void)state;
    lleval_tune_result_init(&t);
    assert_int_equal(lleval_tune_pick(&t), 0);
    add_point(&t, 1, 10);
    add_point(&t, 2, 20);
    assert_false(lleval_tune_should_stop(&t));
    add_point(&t, 4, 40);
    assert_false(lleval_tune_should_stop(&t));
    add_point(&t, 5, 40.5); /* under the 2% gain */
    assert_false(lleval_tune_should_stop(&t));
    add_point(&t, 6, 39); /* a second point without gain: stop */
    assert_true(lleval_tune_should_stop(&t));
    assert_int_equal(lleval_tune_pick(&t), 4); /* 40 is within 2% of 40.5: the lower wins */

    lleval_tune_result_init(&t);
    add_point(&t, 1, 10);
    add_point(&t, 2, 20);
    add_point(&t, 4, 30);
    add_point(&t, 5, 36); /* a real gain past the slots */
    add_point(&t, 6, 36.1);
    assert_false(lleval_tune_should_stop(&t)); /* 5 gained: only one point without */
    add_point(&t, 8, 35);
    assert_true(lleval_tune_should_stop(&t));
    assert_int_equal(lleval_tune_pick(&t), 5);
}

static void test_json_and_table(void **state)
{
    struct lleval_tune_result t, back;
    json_t *j;
    char *table;
    (void)state;
    lleval_tune_result_init(&t);
    t.done = true;
    t.slots = 4;
    add_point(&t, 1, 9.5);
    add_point(&t, 4, 38.25);
    add_point(&t, 5, 38.5);
    t.points[1].seconds = 1.5;
    t.points[1].tokens_per_s = 612.5;
    t.chosen = 4;
    snprintf(t.stop_reason, sizeof(t.stop_reason), "no gain at 5 and 6");
    t.server_slots = 4;
    t.server_slot_ctx = 512;
    t.server_threads = 16;
    snprintf(t.server_note, sizeof(t.server_note), "CPU");
    j = lleval_tune_to_json(&t);
    assert_int_equal(json_integer_value(json_object_get(j, "chosen")), 4);
    assert_int_equal(json_array_size(json_object_get(j, "curve")), 3);
    assert_true(lleval_tune_from_json(j, &back));
    assert_int_equal(back.chosen, 4);
    assert_int_equal(back.slots, 4);
    assert_int_equal(back.n_points, 3);
    assert_int_equal(back.points[1].concurrency, 4);
    assert_true(back.points[1].rps == 38.25);
    assert_true(back.points[1].tokens_per_s == 612.5);
    assert_int_equal(back.server_threads, 16);
    assert_string_equal(back.stop_reason, "no gain at 5 and 6");
    json_decref(j);
    j = json_object();
    assert_false(lleval_tune_from_json(j, &back)); /* no curve: not a tune object */
    json_decref(j);

    table = lleval_tune_format_table(&t, "  ");
    /* every line of the curve has the same width up to the marker */
    {
        const char *l1 = strstr(table, "\n") + 1, *l2 = strstr(l1, "\n") + 1;
        assert_true(strstr(l2, "<- chosen") != NULL);
        assert_int_equal((int)(strstr(l1, "\n") - l1), (int)(strstr(l2, "  <- chosen") - l2));
    }
    assert_non_null(strstr(table, "  chosen: 4 (slots: 4; no gain at 5 and 6)"));
    assert_non_null(strstr(table, "-np 4, 512 tokens per slot, 16 threads"));
    free(table);
}

/* ---- measuring through the scheduler on the dry engine ---- */

struct jobs {
    size_t n, given;
    int seen[200];
    size_t results;
};

static int next_job(void *ud, struct lleval_job *job, struct lleval_err *err)
{
    struct jobs *j = ud;
    (void)err;
    if (j->given >= j->n)
        return 0;
    job->custom_id = lleval_xasprintf("nq_open|sample_closed|t0|q%zu", j->given);
    job->body = json_pack("{s:s, s:[{s:s, s:s}], s:i}", "model", "m", "messages", "role", "user",
                          "content", "question?", "max_tokens", 8);
    job->tag = j->given++;
    return 1;
}

static int got_result(void *ud, const struct lleval_job *job, const struct lleval_result_text *line)
{
    struct jobs *j = ud;
    (void)line;
    j->seen[job->tag]++;
    j->results++;
    return 0;
}

static void test_measure_dry_exactly_once(void **state)
{
    struct lleval_config cfg;
    struct lleval_engine *e = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sched_opts o;
    struct lleval_tune_result t;
    struct jobs j;
    size_t answered = 0, sum = 0;
    (void)state;

    lleval_config_init(&cfg);
    cfg.engine = LLEVAL_ENGINE_DRY;
    assert_int_equal(lleval_engine_open(&e, &cfg, &err), 0);
    lleval_sched_opts_default(&o);
    memset(&j, 0, sizeof(j));
    j.n = 130;
    lleval_tune_result_init(&t);
    t.slots = 4; /* series 1 2 4 5 6 8: samples 8 10 16 20 24 32 */
    assert_int_equal(
        lleval_tune_measure(e, next_job, j.n, &o, got_result, NULL, &j, &t, &answered, &err), 0);
    assert_true(t.done);
    assert_true(t.n_points >= 3);
    for (size_t i = 0; i < t.n_points; i++)
        sum += t.points[i].requests;
    assert_int_equal(sum, answered);
    assert_int_equal(j.results, answered);
    assert_int_equal(j.given, answered); /* nothing pulled and lost */
    for (size_t i = 0; i < j.given; i++)
        assert_int_equal(j.seen[i], 1);
    /* the pick is one of the points, and the series stayed within the jobs given */
    {
        bool found = false;
        for (size_t i = 0; i < t.n_points; i++)
            found |= t.points[i].concurrency == t.chosen;
        assert_true(found);
    }
    assert_true(answered <= j.n);
    /* a run too small for any sample: the slots */
    memset(&j, 0, sizeof(j));
    j.n = 3;
    lleval_tune_result_init(&t);
    t.slots = 4;
    assert_int_equal(
        lleval_tune_measure(e, next_job, j.n, &o, got_result, NULL, &j, &t, &answered, &err), 0);
    assert_int_equal(answered, 0);
    assert_int_equal(t.chosen, 4);
    assert_non_null(strstr(t.stop_reason, "too few requests"));
    lleval_engine_close(e);
    lleval_config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates),       cmocka_unit_test(test_sample_size),
        cmocka_unit_test(test_rate_closed_loop), cmocka_unit_test(test_stop_and_pick),
        cmocka_unit_test(test_json_and_table),   cmocka_unit_test(test_measure_dry_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
