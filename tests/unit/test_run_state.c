/* Unit tests for the run's state model (lib/run/state.h): parts grouped into
 * trials, counts taken from the journals and earlier state.json files,
 * statuses through a poll, and what goes into state.json and the manifest
 * (the last error included). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "../../lib/run/state.h"

struct fixture {
    char *dir;
    struct lleval_build_result build;
    struct lleval_run_state st;
};

static void add_info(struct fixture *f, const char *dataset, double temp, long index, long requests)
{
    struct lleval_part_info *p;
    f->build.parts =
        lleval_xrealloc(f->build.parts, (f->build.n_parts + 1) * sizeof(*f->build.parts));
    p = &f->build.parts[f->build.n_parts++];
    memset(p, 0, sizeof(*p));
    p->dataset = lleval_xstrdup(dataset);
    p->temp = temp;
    p->index = index;
    p->requests = requests;
    p->batch_path = lleval_run_batch_path(f->dir, dataset, temp, index);
    f->build.total_requests += requests;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir();
    /* d1/t0 has two parts; d1/t0.7 and d2/t0 one each */
    add_info(f, "d1", 0, 1, 3);
    add_info(f, "d1", 0, 2, 2);
    add_info(f, "d1", 0.7, 1, 2);
    add_info(f, "d2", 0, 1, 1);
    lleval_rs_init(&f->st, f->dir, "r1");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    lleval_rs_release(&f->st);
    lleval_build_result_release(&f->build);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static json_t *result(const char *cid, bool ok, long prompt, long completion, double gen_tps)
{
    json_t *line = ok ? json_pack("{s:s, s:n}", "custom_id", cid, "error")
                      : json_pack("{s:s, s:{s:s}}", "custom_id", cid, "error", "message", "x");
    json_object_set_new(line, "lleval",
                        json_pack("{s:I, s:I, s:f}", "prompt_tokens", (json_int_t)prompt,
                                  "completion_tokens", (json_int_t)completion, "gen_tps", gen_tps));
    return line;
}

/* Counts line (borrowed) of part i as the poll does: through its decoded view. */
static bool count(struct lleval_run_state *st, size_t i, const json_t *line)
{
    struct lleval_result_view v;
    lleval_result_decode(line, &v, NULL);
    return lleval_rs_count(st, i, &v);
}

static void test_parts_and_trials(void **state)
{
    struct fixture *f = *state;
    struct lleval_run_state *st = &f->st;
    for (size_t i = 0; i < f->build.n_parts; i++)
        assert_int_equal(lleval_rs_add_part(st, &f->build.parts[i]), i);
    assert_int_equal(st->n_parts, 4);
    assert_int_equal(st->n_trials, 3);
    assert_string_equal(st->trials[0].name, "d1/t0");
    assert_string_equal(st->trials[1].name, "d1/t0.7");
    assert_string_equal(st->trials[2].name, "d2/t0");
    assert_int_equal(st->trials[0].parts, 2);
    assert_int_equal(st->trials[0].requests, 5);
    assert_int_equal(st->trials[1].requests, 2);
    assert_int_equal(st->parts[1].trial, 0);
    assert_int_equal(st->parts[2].trial, 1);
    assert_int_equal(st->parts[3].trial, 2);
    assert_string_equal(st->parts[1].name, "d1/t0/part-002");
    assert_int_equal(st->parts[0].status, LLEVAL_RUN_QUEUED);
    tu_assert_path_contains(st->parts[2].state_path, "/parts/d1/t0.7/part-001/state.json");
    tu_assert_path_contains(st->parts[2].journal_path, "/results/parts/d1/t0.7/part-001.jsonl");
}

static void test_load_poll_settle(void **state)
{
    struct fixture *f = *state;
    struct lleval_run_state *st = &f->st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_manifest m;
    struct lleval_part_state ps;
    json_t *line;
    char *journal = lleval_run_journal_path(f->dir, "d1", 0, 1);
    char *jdir = lleval_path_dirname(journal);
    char *spath = lleval_run_state_path(f->dir, "d1", 0, 1);
    char *sdir = lleval_path_dirname(spath);
    char *bad = lleval_run_state_path(f->dir, "d1", 0, 2), *bdir = lleval_path_dirname(bad);
    char *done = lleval_run_journal_path(f->dir, "d2", 0, 1);

    /* an earlier session answered 2 of part 1 (one error) and all of d2's part */
    assert_int_equal(lleval_mkdirs(jdir, &err), 0);
    free(tu_write(NULL, journal,
                  "{\"custom_id\":\"a\",\"error\":null}\n"
                  "{\"custom_id\":\"b\",\"error\":{\"message\":\"x\"}}\n"));
    {
        char *ddir = lleval_path_dirname(done);
        assert_int_equal(lleval_mkdirs(ddir, &err), 0);
        free(ddir);
    }
    free(tu_write(NULL, done, "{\"custom_id\":\"z\",\"error\":null}\n"));
    /* and wrote part 1's state; part 2's is damaged: an error (exit 4) naming
     * it and what to do, the file left as it was; moved aside, the part is
     * counted from its journal alone */
    assert_int_equal(lleval_mkdirs(sdir, &err), 0);
    free(tu_write(NULL, spath,
                  "{\"started_at\": 100.5, \"finished_at\": 200.0, \"prompt_tokens\": 70, "
                  "\"completion_tokens\": 9, \"telemetry\": null}"));
    assert_int_equal(lleval_mkdirs(bdir, &err), 0);
    free(tu_write(NULL, bad, "{\"started_at\": "));
    {
        struct lleval_run_state st2;
        struct lleval_sb kept = LLEVAL_SB_INIT;
        lleval_rs_init(&st2, f->dir, "r1");
        assert_int_equal(lleval_rs_load(&st2, &f->build, &err), LLEVAL_EIO);
        tu_assert_path_contains(err.msg, "part-002/state.json:1:");
        tu_assert_contains(err.msg, "move it aside and resume");
        assert_int_equal(lleval_rs_flush_parts(&st2, true, NULL, &err), 0);
        lleval_rs_release(&st2);
        assert_int_equal(lleval_read_file(bad, &kept, 0, &err), 0);
        assert_string_equal(kept.buf, "{\"started_at\": ");
        lleval_sb_release(&kept);
        assert_int_equal(remove(bad), 0);
        err = (struct lleval_err)LLEVAL_ERR_INIT;
    }

    assert_int_equal(lleval_rs_load(st, &f->build, &err), 0);
    assert_int_equal(st->parts[0].answered, 2);
    assert_int_equal(st->parts[0].ok, 1);
    assert_int_equal(st->parts[0].errors, 1);
    assert_int_equal(st->parts[0].status, LLEVAL_RUN_QUEUED);
    assert_true(st->parts[0].started_at == 100.5);
    assert_true(st->parts[0].finished_at == 0); /* not finished: its old end is dropped */
    assert_int_equal(st->parts[0].prompt_tokens, 70);
    assert_true(st->parts[1].started_at == 0);
    assert_int_equal(st->parts[3].status, LLEVAL_RUN_DONE);
    assert_int_equal(st->trials[0].answered, 2);
    assert_int_equal(st->trials[0].errors, 1);
    assert_true(st->trials[0].started_at == 100.5);
    assert_int_equal(st->trials[2].answered, 1);

    /* the poll starts: 1 + 2 + 2 requests left, the unfinished parts run */
    assert_int_equal(lleval_rs_start(st), 5);
    assert_int_equal(st->parts[0].status, LLEVAL_RUN_RUNNING);
    assert_int_equal(st->parts[0].first_job, 0);
    assert_int_equal(st->parts[1].first_job, 1);
    assert_int_equal(st->parts[2].first_job, 3);
    assert_int_equal(st->parts[3].status, LLEVAL_RUN_DONE);
    assert_true(st->parts[0].started_at == 100.5); /* kept */
    assert_true(st->parts[1].started_at > 0);

    /* part 1's last request: the part is done, and so is nothing else yet */
    line = result("c", true, 30, 4, 25.0);
    assert_true(count(st, 0, line));
    json_decref(line);
    assert_int_equal(st->parts[0].status, LLEVAL_RUN_DONE);
    assert_true(st->parts[0].finished_at > 0);
    assert_int_equal(st->parts[0].prompt_tokens, 100);
    assert_int_equal(st->trials[0].gen_tps_n, 1);
    assert_true(st->trials[0].finished_at == 0);
    /* one error in part 2 */
    line = result("d", false, 0, 0, 0);
    assert_false(count(st, 1, line));
    json_decref(line);
    assert_int_equal(st->parts[1].errors, 1);
    assert_int_equal(st->trials[0].errors, 2);
    assert_int_equal(st->trials[0].gen_tps_n, 1); /* a zero speed is unknown, left out */

    /* stopped here: the running parts become stopped */
    lleval_rs_settle(st, LLEVAL_EINTR);
    assert_int_equal(st->parts[0].status, LLEVAL_RUN_DONE);
    assert_int_equal(st->parts[1].status, LLEVAL_RUN_STOPPED);
    assert_int_equal(st->parts[2].status, LLEVAL_RUN_STOPPED);
    st->parts[2].status = LLEVAL_RUN_FAILED;
    lleval_rs_settle(st, LLEVAL_EENGINE); /* an unreachable engine fails no part */
    assert_int_equal(st->parts[2].status, LLEVAL_RUN_STOPPED);
    st->parts[2].status = LLEVAL_RUN_FAILED;
    lleval_rs_settle(st, LLEVAL_EINTR);
    assert_int_equal(st->parts[2].status, LLEVAL_RUN_FAILED);

    /* the manifest's trials */
    lleval_manifest_init(&m);
    lleval_rs_manifest_trials(st, NULL, &m);
    assert_int_equal(m.n_trials, 3);
    assert_string_equal(m.trials[0].trial, "d1/t0");
    assert_int_equal(m.trials[0].jobs_total, 2);
    assert_int_equal(m.trials[0].jobs_done, 1);
    assert_int_equal(m.trials[0].jobs_stopped, 1);
    assert_int_equal(m.trials[0].requests, 5);
    assert_int_equal(m.trials[0].answered, 4);
    assert_int_equal(m.trials[0].errors, 2);
    assert_int_equal(m.trials[0].prompt_tokens, 100);
    assert_int_equal(m.trials[0].completion_tokens, 13);
    assert_true(m.trials[0].gen_tps == 25.0);
    assert_true(m.trials[0].prompt_tps == 0);
    assert_true(m.trials[0].elapsed_s > 0);
    assert_int_equal(m.trials[1].jobs_failed, 1);
    assert_int_equal(m.trials[2].jobs_done, 1);
    assert_true(m.trials[2].started_at == 0);
    assert_true(m.trials[2].elapsed_s == 0);
    assert_int_equal(m.requests, 8);
    assert_int_equal(m.answered, 5);
    assert_int_equal(m.errors, 2);
    assert_string_equal(lleval_json_str(m.trials[0].telemetry, "status"), "disabled");

    /* a resumed run keeps the speeds of the earlier sessions */
    m.trials[2].gen_tps = 40.0;
    lleval_rs_restore(st, &m);
    assert_int_equal(st->trials[2].gen_tps_n, 1);
    assert_true(st->trials[2].gen_tps_sum == 40.0);
    lleval_manifest_release(&m);

    /* a part's state.json */
    lleval_rs_part_state(st, 0, NULL, &ps);
    assert_string_equal(ps.run_id, "r1");
    assert_string_equal(ps.part, "d1/t0/part-001");
    assert_string_equal(ps.trial, "d1/t0");
    assert_int_equal(ps.status, LLEVAL_RUN_DONE);
    assert_int_equal(ps.requests, 3);
    assert_int_equal(ps.answered, 3);
    assert_int_equal(ps.ok, 2);
    assert_string_equal(ps.batch_file, "batches/d1/t0/part-001.jsonl");
    assert_string_equal(ps.results_file, "results/parts/d1/t0/part-001.jsonl");
    /* active time: this session's only (started at 100.5 in an earlier session
     * whose state.json recorded no elapsed_s), never the idle time since then */
    assert_true(ps.elapsed_s == ps.finished_at - st->parts[0].session_start);
    assert_true(ps.elapsed_s >= 0 && ps.elapsed_s < 60);
    lleval_part_state_release(&ps);
    st->parts[1].dirty = true;
    assert_int_equal(lleval_rs_flush_parts(st, false, NULL, &err), 0);
    assert_false(st->parts[1].dirty);
    assert_int_equal(lleval_part_state_load(bad, &ps, &err), 0); /* rewritten whole */
    assert_int_equal(ps.status, LLEVAL_RUN_STOPPED);
    assert_int_equal(ps.errors, 1);
    lleval_part_state_release(&ps);

    free(journal);
    free(jdir);
    free(spath);
    free(sdir);
    free(bad);
    free(bdir);
    free(done);
}

/*
 * The run's last error is cut to its field at a UTF-8 character boundary, so
 * manifest.json (which quotes it, and which jansson writes and reads only as
 * valid UTF-8) keeps it: an error longer than the field, with 0, 1 or 2 ASCII
 * bytes before a run of 3-byte characters, so that a byte cut would split
 * one of them in at least one case.
 */
static void test_last_error_in_manifest(void **state)
{
    struct fixture *f = *state;
    struct lleval_run_state *st = &f->st;
    bool moved_back = false;
    for (int pad = 0; pad < 3; pad++) {
        struct lleval_sb msg = LLEVAL_SB_INIT;
        struct lleval_manifest m, back;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *path, *text;
        json_t *j;
        size_t n;

        lleval_sb_adds(&msg, "nq-1: ");
        for (int i = 0; i < pad; i++)
            lleval_sb_addch(&msg, 'x');
        for (int i = 0; i < 400; i++)
            lleval_sb_adds(&msg, "\xe2\x82\xac"); /* U+20AC, 3 bytes */
        lleval_rs_set_error(st, "%s", msg.buf);
        n = strlen(st->last_error);
        assert_true(n < sizeof(st->last_error) && n + 3 >= sizeof(st->last_error));
        assert_memory_equal(st->last_error, msg.buf, n);
        assert_true(lleval_utf8_valid(st->last_error, n, NULL));
        if (n + 1 < sizeof(st->last_error))
            moved_back = true;

        /* through manifest.json and back, as run.c writes it */
        lleval_manifest_init(&m);
        m.run_id = lleval_xstrdup("r1");
        m.status = LLEVAL_RUN_FAILED;
        m.last_error = lleval_xstrdup(st->last_error);
        assert_int_equal(lleval_manifest_save(f->dir, &m, &err), 0);
        lleval_manifest_release(&m);
        path = lleval_run_file_path(f->dir, LLEVAL_RUN_FILE_MANIFEST);
        text = tu_read(path);
        j = json_loads(text, 0, NULL);
        assert_non_null(j);
        assert_string_equal(lleval_json_str(j, "last_error"), st->last_error);
        json_decref(j);
        assert_int_equal(lleval_manifest_load(f->dir, &back, &err), 0);
        assert_string_equal(back.last_error, st->last_error);
        lleval_manifest_release(&back);
        free(text);
        free(path);
        lleval_sb_release(&msg);
    }
    assert_true(moved_back);
    /* a short message is kept whole */
    lleval_rs_set_error(st, "%s: %s", "nq-2", "timeout");
    assert_string_equal(st->last_error, "nq-2: timeout");
}

/*
 * Active time: a session adds its own time to what earlier sessions recorded,
 * never the idle time between them; a session resuming a finished run adds
 * nothing; a manifest written before active_s counts its start to its update.
 */
static void test_active_time(void **state)
{
    struct fixture *f = *state;
    struct lleval_run_state *st = &f->st;
    struct lleval_manifest old;
    double now = lleval_now(), a;

    lleval_manifest_init(&old);
    st->session_start = now - 2.0; /* this session has run for 2 s */
    old.created_at = now - 3600;   /* first started an hour ago */
    old.updated_at = now - 3000;
    old.active_s = 5.0; /* active 5 s then */
    old.status = LLEVAL_RUN_STOPPED;
    old.steps_done = 3;
    a = lleval_rs_active_s(st, &old);
    assert_true(a >= 7.0 && a < 8.0);
    /* a finished run resumed: nothing changes */
    old.status = LLEVAL_RUN_DONE;
    old.steps_done = LLEVAL_N_STEPS;
    assert_true(lleval_rs_active_s(st, &old) == 5.0);
    /* a new run: this session only */
    lleval_manifest_release(&old);
    lleval_manifest_init(&old);
    a = lleval_rs_active_s(st, &old);
    assert_true(a >= 2.0 && a < 3.0);
    /* a manifest without active_s: its start to its last update */
    old.created_at = now - 3600;
    old.updated_at = now - 3590;
    old.status = LLEVAL_RUN_DONE;
    old.steps_done = LLEVAL_N_STEPS;
    assert_true(fabs(lleval_rs_active_s(st, &old) - 10.0) < 1e-6);
    lleval_manifest_release(&old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parts_and_trials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_poll_settle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_error_in_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_active_time, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
