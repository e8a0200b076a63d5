/* Unit tests for the runs module: listing a runs directory as `runs list`
 * does (which folders are runs, their order, effective status, progress,
 * times) and the headline metric from scores.json (its selection cases are
 * in test_scores.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/run/runs.h"
#include "lleval/util/util.h"

/* Writes <runs>/<id>/<rel> with content, creating the folders. */
static void put(const char *runs, const char *id, const char *rel, const char *content)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path = lleval_xasprintf("%s/%s/%s", runs, id, rel);
    char *dir = lleval_path_dirname(path);
    assert_int_equal(lleval_mkdirs(dir, &err), 0);
    free(tu_write(NULL, path, content));
    free(dir);
    free(path);
}

static char *manifest(const char *status, double created, double started, double updated,
                      long answered, long total)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_sb_addf(&sb, "{\"run_id\": \"x\", \"status\": \"%s\", \"model_id\": \"m-%s\", ", status,
                   status);
    lleval_sb_addf(&sb, "\"engine\": \"dry\", \"started_at\": %.1f, ", started);
    if (updated > 0)
        lleval_sb_addf(&sb, "\"updated_at\": %.1f, ", updated);
    if (created > 0)
        lleval_sb_addf(&sb, "\"created_at\": %.1f, ", created);
    lleval_sb_addf(&sb, "\"requests\": {\"total\": %ld, \"answered\": %ld, \"errors\": 1}}", total,
                   answered);
    return lleval_sb_detach(&sb, NULL);
}

static void test_list(void **state)
{
    char *runs = tu_tmpdir();
    struct lleval_run_info *r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char line[32], *m, *lock_path;
    struct lleval_lock *lock = NULL;
    long holder;
    size_t n;
    (void)state;

    /* b: done, created first; its scores give the headline */
    m = manifest("done", 1000, 1500, 1100, 4, 4);
    put(runs, "b", "manifest.json", m);
    free(m);
    put(runs, "b", "results/scores.json",
        "{\"groups\": [{\"n\": 3, \"exact_match\": {\"value\": 50.0}},"
        " {\"n\": 1, \"accuracy\": {\"value\": 100.0}},"
        " {\"n\": 4, \"overall\": true, \"exact_match\": {\"value\": 0.0}}]}");
    /* a: created at the same time as c: the ids break the tie */
    m = manifest("stopped", 2000, 0, 2600, 1, 4);
    put(runs, "a", "manifest.json", m);
    free(m);
    /* its scores are damaged (a group's n of the wrong type): no headline, still listed */
    put(runs, "a", "results/scores.json",
        "{\"groups\": [{\"n\": \"3\", \"exact_match\": {\"value\": 50.0}}]}");
    /* c: recorded running, but its process is dead: stopped */
    m = manifest("running", 2000, 0, 0, 2, 4);
    put(runs, "c", "manifest.json", m);
    free(m);
    snprintf(line, sizeof(line), "%ld\n", tu_dead_pid());
    put(runs, "c", "lock", line);
    /* d: no created_at: started_at orders it; recorded done, yet this process holds its lock */
    m = manifest("done", 0, 1200, 0, 0, 4);
    put(runs, "d", "manifest.json", m);
    free(m);
    lock_path = lleval_xasprintf("%s/d/lock", runs);
    assert_int_equal(lleval_lock_acquire(lock_path, &lock, &holder, &err), 0);
    /* e: a damaged manifest: listed, failed, nothing known */
    put(runs, "e", "manifest.json", "{\"status\": \"done\",");
    /* not runs: no manifest, a hidden folder, an invalid id */
    put(runs, "nomanifest", "config.resolved.yaml", "engine: dry\n");
    put(runs, ".hidden", "manifest.json", "{}");
    put(runs, "bad id", "manifest.json", "{}");

    assert_int_equal(lleval_runs_list(runs, &r, &n, &err), 0);
    assert_int_equal(n, 5);
    /* oldest first: e (0), b (1000), d (1200), a and c (2000, by id) */
    assert_string_equal(r[0].id, "e");
    assert_string_equal(r[1].id, "b");
    assert_string_equal(r[2].id, "d");
    assert_string_equal(r[3].id, "a");
    assert_string_equal(r[4].id, "c");

    assert_int_equal(r[0].status, LLEVAL_RUN_FAILED);
    assert_string_equal(r[0].model_id, "");
    assert_string_equal(r[0].engine, "");
    assert_int_equal(r[0].requests, 0);
    assert_false(r[0].headline.have);

    assert_int_equal(r[1].status, LLEVAL_RUN_DONE);
    assert_string_equal(r[1].model_id, "m-done");
    assert_string_equal(r[1].engine, "dry");
    assert_int_equal(r[1].answered, 4);
    assert_int_equal(r[1].errors, 1);
    assert_true(r[1].started_at == 1000);
    assert_true(r[1].updated_at == 1100);
    assert_true(r[1].headline.have);
    /* EM and accuracy apart, never averaged together; the overall row left out */
    assert_string_equal(r[1].headline.label, "EM");
    assert_true(r[1].headline.pct == 50.0);
    assert_true(r[1].headline.have_acc && r[1].headline.acc == 100.0);
    assert_int_equal(r[1].pid, 0);

    assert_int_equal(r[2].status, LLEVAL_RUN_RUNNING);
    assert_int_equal(r[2].pid, lleval_getpid());
    assert_true(r[2].started_at == 1200);
    assert_true(r[2].updated_at == 1200); /* no updated_at: the start */

    assert_int_equal(r[3].status, LLEVAL_RUN_STOPPED);
    assert_int_equal(r[3].answered, 1);
    assert_false(r[3].headline.have);
    assert_string_equal(r[3].headline.label, "-");
    assert_int_equal(r[4].status, LLEVAL_RUN_STOPPED);
    assert_true(r[4].pid > 0);

    lleval_runs_free(r, n);
    lleval_lock_release(lock);
    free(lock_path);
    tu_rmtree(runs);
    free(runs);
}

static void test_no_runs_dir(void **state)
{
    struct lleval_run_info *r = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t n = 7;
    (void)state;
    assert_int_equal(lleval_runs_list("/nonexistent/lleval-runs", &r, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_no_runs_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
