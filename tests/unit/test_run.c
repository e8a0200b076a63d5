/*
 * Unit tests for the run orchestrator (lleval_run_execute, lib/run/run.c and
 * steps.c) on the dry engine in a temporary directory, on two of the example
 * datasets: every step writes its artifacts, to_step stops after that step, a
 * run id run again resumes without asking any request twice (LLEVAL_DRY_LOG
 * records what the engine was asked) and without preparing again, a stop
 * request ends the run as stopped and resumable, and a run locked by a living
 * process is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "testutil.h"
#include "lleval/run/verify.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/run/run.h"
#include "lleval/run/rundir.h"
#include "lleval/util/util.h"

#define LIMIT      6 /* items per dataset: 2 datasets, 12 requests */
#define N_REQUESTS (2 * LIMIT)

struct fixture {
    char *dir;
    char *runs_dir;
    char *prepared_dir;
    char *dry_log;
    struct lleval_config cfg;
};

/* What the callbacks saw. */
struct seen {
    struct lleval_sb events; /* one line per event */
    size_t progress_calls;
    const char *stop_runs_dir; /* on_progress asks run stop_id to stop once */
    const char *stop_id;
    bool stop_asked;
    long stop_pid;
};

static void on_event(void *ud, const char *msg)
{
    struct seen *s = ud;
    lleval_sb_adds(&s->events, msg);
    lleval_sb_adds(&s->events, "\n");
}

static void on_progress(void *ud, const struct lleval_progress *p)
{
    struct seen *s = ud;
    s->progress_calls++;
    assert_true(p->answered <= p->total);
    if (s->stop_id && !s->stop_asked) {
        struct lleval_err err = LLEVAL_ERR_INIT;
        if (lleval_run_request_stop(s->stop_runs_dir, s->stop_id, &s->stop_pid, &err)) {
            print_error("lleval_run_request_stop: %s\n", err.msg);
            fail();
        }
        s->stop_asked = true;
    }
}

static void on_warning(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
}

static int setup(void **state)
{
    struct fixture *f = lleval_xcalloc(1, sizeof(*f));
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *yaml, *path;
    f->dir = tu_tmpdir();
    f->runs_dir = lleval_path_join(f->dir, "runs");
    f->prepared_dir = lleval_path_join(f->dir, "prepared");
    f->dry_log = lleval_path_join(f->dir, "dry.log");
    yaml = lleval_xasprintf(
        "engine: dry\n"
        "model_id: dry-model\n"
        "temps: [0.0]\n"
        "max_concurrent_jobs: 1\n"
        "limit_items: %d\n"
        "datasets:\n"
        "  - {name: sample_closed, format: nq_open, path: %s/examples/data/closed_book.jsonl}\n"
        "  - {name: sample_mc, format: mmlu, path: %s/examples/data/general_knowledge_test.csv,"
        " split: test}\n"
        "paths:\n"
        "  prepared_dir: %s\n"
        "  runs_dir: %s\n"
        "  batches_dir: %s/batches\n",
        LIMIT, LLEVAL_SOURCE_DIR, LLEVAL_SOURCE_DIR, f->prepared_dir, f->runs_dir, f->dir);
    path = tu_write(f->dir, "eval.yaml", yaml);
    lleval_config_init(&f->cfg);
    if (lleval_config_load_file(&f->cfg, path, &err) || lleval_config_validate(&f->cfg, &err)) {
        print_error("config: %s\n", err.msg);
        return -1;
    }
    free(yaml);
    free(path);
    tu_setenv("LLEVAL_DRY_LOG", f->dry_log);
    tu_unsetenv("LLEVAL_DRY_DELAY_MS");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_unsetenv("LLEVAL_DRY_LOG");
    tu_unsetenv("LLEVAL_DRY_DELAY_MS");
    lleval_config_release(&f->cfg);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->runs_dir);
    free(f->prepared_dir);
    free(f->dry_log);
    free(f);
    return 0;
}

/* Runs run id up to to_step; returns lleval_run_execute's code, res filled. */
static int run(struct fixture *f, const char *id, enum lleval_step to_step, bool resume,
               struct seen *seen, struct lleval_run_result *res, struct lleval_err *err)
{
    struct lleval_run_opts o;
    lleval_run_opts_init(&o);
    o.run_id = id;
    o.resume = resume;
    o.to_step = to_step;
    o.on_event = on_event;
    o.on_progress = on_progress;
    o.on_warning = on_warning;
    o.ud = seen;
    return lleval_run_execute(&f->cfg, &o, res, err);
}

static void run_ok(struct fixture *f, const char *id, enum lleval_step to_step, bool resume,
                   struct seen *seen, struct lleval_run_result *res)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc = run(f, id, to_step, resume, seen, res, &err);
    if (rc) {
        print_error("run '%s' to %s: rc %d: %s\n", id, lleval_step_name(to_step), rc, err.msg);
        fail();
    }
}

static bool run_has(struct fixture *f, const char *id, enum lleval_run_file file)
{
    char *dir = lleval_path_join(f->runs_dir, id);
    char *path = lleval_run_file_path(dir, file);
    bool ok = lleval_path_exists(path);
    free(path);
    free(dir);
    return ok;
}

/* Whether the run's lock is gone: POSIX removes the file on release; Windows empties it and
 * keeps it (platform.h, lleval_lock_release), so there: not held and nothing in it. */
static bool run_unlocked(struct fixture *f, const char *id)
{
#ifdef _WIN32
    char *dir = lleval_path_join(f->runs_dir, id);
    char *path = lleval_run_file_path(dir, LLEVAL_RUN_FILE_LOCK);
    bool ok = !lleval_lock_is_held(path) && lleval_file_size(path) <= 0;
    free(path);
    free(dir);
    return ok;
#else
    return !run_has(f, id, LLEVAL_RUN_FILE_LOCK);
#endif
}

static void load_manifest(struct fixture *f, const char *id, struct lleval_manifest *m)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *dir = lleval_path_join(f->runs_dir, id);
    if (lleval_manifest_load(dir, m, &err)) {
        print_error("manifest of '%s': %s\n", id, err.msg);
        fail();
    }
    free(dir);
}

/* Lines of the dry log: how many requests the engine was asked, and whether any twice. */
static size_t dry_asked(struct fixture *f, bool *twice)
{
    char *log = tu_read(f->dry_log);
    size_t n = 0;
    *twice = false;
    if (!log)
        return 0;
    for (char *line = log, *nl; *line; line = nl + 1) {
        char *other;
        nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        n++;
        for (other = nl + 1; *other;) {
            char *onl = strchr(other, '\n');
            size_t len = onl ? (size_t)(onl - other) : strlen(other);
            if (len == strlen(line) && !strncmp(other, line, len))
                *twice = true;
            if (!onl)
                break;
            other = onl + 1;
        }
    }
    free(log);
    return n;
}

static void seen_release(struct seen *s)
{
    lleval_sb_release(&s->events);
}

/* ---- tests -------------------------------------------------------------------------------- */

/* A whole run: every artifact, the lock released, the manifest done, each request asked once. */
struct verified {
    int checks;
    struct lleval_sb failures;
};

static void on_verify(void *ud, bool ok, const char *what, const char *detail)
{
    struct verified *v = ud;
    v->checks++;
    if (!ok)
        lleval_sb_addf(&v->failures, "%s: %s\n", what, detail);
}

static void test_full_run(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {.events = LLEVAL_SB_INIT};
    struct lleval_run_result res;
    struct lleval_manifest m;
    bool twice;
    static const enum lleval_run_file want[] = {
        LLEVAL_RUN_FILE_CONFIG, LLEVAL_RUN_FILE_MANIFEST,    LLEVAL_RUN_FILE_BUILD,
        LLEVAL_RUN_FILE_PARTS,  LLEVAL_RUN_FILE_COMBINED,    LLEVAL_RUN_FILE_PREDICTIONS,
        LLEVAL_RUN_FILE_SCORES, LLEVAL_RUN_FILE_REPORT_HTML, LLEVAL_RUN_FILE_REPORT_MD,
    };

    run_ok(f, "full", LLEVAL_STEP_REPORT, false, &seen, &res);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!run_has(f, "full", want[i])) {
            print_error("artifact %s missing\n", lleval_run_file_rel(want[i]));
            fail();
        }
    assert_true(run_unlocked(f, "full"));
    assert_false(run_has(f, "full", LLEVAL_RUN_FILE_STOP));
    assert_string_equal(res.run_id, "full");
    assert_int_equal(res.last_step, LLEVAL_STEP_REPORT);
    assert_int_equal(res.requests, N_REQUESTS);
    assert_int_equal(res.answered, N_REQUESTS);
    assert_int_equal(res.failed, 0);
    assert_true(res.parsed);
    assert_int_equal(res.parse.rows, N_REQUESTS);
    assert_non_null(res.scores_path);
    assert_non_null(res.summary);
    assert_int_equal(dry_asked(f, &twice), N_REQUESTS);
    assert_false(twice);
    tu_assert_contains(seen.events.buf, "prepare: sample_closed: ");
    tu_assert_contains(seen.events.buf, "prepare: sample_mc: ");
    tu_assert_contains(seen.events.buf, "report: ");
    assert_true(seen.progress_calls >= 1);

    {
        /* smoke's verification: every check passes, and a lost journal is named */
        struct verified v = {0, LLEVAL_SB_INIT};
        char *dir = lleval_path_join(f->runs_dir, "full");
        char *journal = lleval_run_journal_path(dir, "sample_closed", 0.0, 1);
        assert_int_equal(lleval_run_verify(dir, N_REQUESTS, on_verify, &v), 0);
        assert_true(v.checks >= 8);
        assert_int_equal(remove(journal), 0);
        assert_int_equal(lleval_run_verify(dir, N_REQUESTS + 1, on_verify, &v), 2);
        tu_assert_contains(v.failures.buf, "results/parts/sample_closed/t0/part-001.jsonl");
        tu_assert_contains(v.failures.buf, "batches");
        lleval_sb_release(&v.failures);
        free(journal);
        free(dir);
    }

    lleval_manifest_init(&m);
    load_manifest(f, "full", &m);
    assert_int_equal(m.status, LLEVAL_RUN_DONE);
    assert_int_equal(m.steps_done, LLEVAL_N_STEPS);
    assert_int_equal(m.requests, N_REQUESTS);
    assert_int_equal(m.answered, N_REQUESTS);
    assert_int_equal(m.errors, 0);
    assert_int_equal(m.n_trials, 2);
    lleval_manifest_release(&m);
    lleval_run_result_release(&res);
    seen_release(&seen);
}

/* to_step: the run stops after that step; its artifact is there, the next step's is not. */
static void test_to_step(void **state)
{
    static const struct {
        enum lleval_step step;
        enum lleval_run_file has;     /* written by this step (or an earlier one) */
        enum lleval_run_file has_not; /* written by the next step */
    } cases[] = {
        {LLEVAL_STEP_PREPARE, LLEVAL_RUN_FILE_MANIFEST, LLEVAL_RUN_FILE_BUILD},
        {LLEVAL_STEP_BUILD, LLEVAL_RUN_FILE_BUILD, LLEVAL_RUN_FILE_COMBINED},
        {LLEVAL_STEP_SUBMIT, LLEVAL_RUN_FILE_BUILD, LLEVAL_RUN_FILE_COMBINED},
        {LLEVAL_STEP_POLL, LLEVAL_RUN_FILE_COMBINED, LLEVAL_RUN_FILE_PREDICTIONS},
        {LLEVAL_STEP_PARSE, LLEVAL_RUN_FILE_PREDICTIONS, LLEVAL_RUN_FILE_SCORES},
        {LLEVAL_STEP_SCORE, LLEVAL_RUN_FILE_SCORES, LLEVAL_RUN_FILE_REPORT_HTML},
        {LLEVAL_STEP_REPORT, LLEVAL_RUN_FILE_REPORT_HTML, LLEVAL_RUN_FILE_STOP},
    };
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct seen seen = {.events = LLEVAL_SB_INIT};
        struct lleval_run_result res;
        struct lleval_manifest m;
        const char *id = lleval_step_name(cases[i].step);
        bool twice;
        size_t asked_before = dry_asked(f, &twice);

        run_ok(f, id, cases[i].step, false, &seen, &res);
        if (res.last_step != cases[i].step || !run_has(f, id, cases[i].has) ||
            run_has(f, id, cases[i].has_not)) {
            print_error("to_step %s: last step %s, %s %s, %s %s\n", id,
                        lleval_step_name(res.last_step), lleval_run_file_rel(cases[i].has),
                        run_has(f, id, cases[i].has) ? "present" : "MISSING",
                        lleval_run_file_rel(cases[i].has_not),
                        run_has(f, id, cases[i].has_not) ? "PRESENT" : "absent");
            fail();
        }
        /* the engine is asked in poll only */
        {
            size_t asked = dry_asked(f, &twice) - asked_before;
            size_t want = cases[i].step >= LLEVAL_STEP_POLL ? N_REQUESTS : 0;
            if (asked != want) {
                print_error("to_step %s: the engine was asked %zu requests, want %zu\n", id, asked,
                            want);
                fail();
            }
        }
        lleval_manifest_init(&m);
        load_manifest(f, id, &m);
        assert_int_equal(m.status, LLEVAL_RUN_DONE);
        assert_int_equal(m.to_step, cases[i].step);
        assert_int_equal(m.steps_done, (size_t)cases[i].step + 1);
        assert_true(run_unlocked(f, id));
        lleval_manifest_release(&m);
        lleval_run_result_release(&res);
        seen_release(&seen);
    }
}

/* The same run id again: the steps left are done, nothing is prepared or asked again. */
static void test_run_again_resumes(void **state)
{
    struct fixture *f = *state;
    struct seen s1 = {.events = LLEVAL_SB_INIT}, s2 = {.events = LLEVAL_SB_INIT},
                s3 = {.events = LLEVAL_SB_INIT};
    struct lleval_run_result res;
    struct stat before, after;
    char *prepared;
    bool twice;

    run_ok(f, "again", LLEVAL_STEP_POLL, false, &s1, &res);
    lleval_run_result_release(&res);
    assert_int_equal(dry_asked(f, &twice), N_REQUESTS);
    tu_assert_contains(s1.events.buf, "prepare: ");
    prepared = lleval_path_join(f->prepared_dir, "sample_closed.jsonl");
    if (stat(prepared, &before)) {
        /* the prepared file name is the format's business: find any file there */
        print_error("no prepared file '%s'\n", prepared);
        fail();
    }

    run_ok(f, "again", LLEVAL_STEP_REPORT, false, &s2, &res);
    assert_int_equal(res.last_step, LLEVAL_STEP_REPORT);
    assert_int_equal(res.answered, N_REQUESTS);
    assert_true(run_has(f, "again", LLEVAL_RUN_FILE_REPORT_HTML));
    lleval_run_result_release(&res);
    if (strstr(s2.events.buf, "prepare: ")) {
        print_error("the run prepared again:\n%s", s2.events.buf);
        fail();
    }
    assert_int_equal(stat(prepared, &after), 0);
#ifdef _WIN32
    /* mingw's struct stat has whole seconds only: no rewrite may change them (nor the size) */
    assert_true(before.st_mtime == after.st_mtime && before.st_size == after.st_size);
#else
    assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
#endif
    assert_int_equal(dry_asked(f, &twice), N_REQUESTS);
    assert_false(twice);

    /* and once more with resume: a done run asks nothing */
    run_ok(f, "again", LLEVAL_STEP_REPORT, true, &s3, &res);
    assert_int_equal(dry_asked(f, &twice), N_REQUESTS);
    lleval_run_result_release(&res);
    free(prepared);
    seen_release(&s1);
    seen_release(&s2);
    seen_release(&s3);
}

/* A stop request (the stop file `lleval runs stop` writes) ends the run as stopped, resumable;
 * the resume asks only the requests left, each once. */
static void test_stop_then_resume(void **state)
{
    struct fixture *f = *state;
    struct seen s1 = {.events = LLEVAL_SB_INIT}, s2 = {.events = LLEVAL_SB_INIT};
    struct lleval_run_result res;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_manifest m;
    size_t asked;
    bool twice;
    int rc;

    /* 100 ms per answer, one at a time: the run lasts over a second unless stopped, and the
     * scheduler ticks (on_progress) every 250 ms meanwhile */
    tu_setenv("LLEVAL_DRY_DELAY_MS", "100");
    s1.stop_runs_dir = f->runs_dir;
    s1.stop_id = "stopped";
    rc = run(f, "stopped", LLEVAL_STEP_REPORT, false, &s1, &res, &err);
    tu_unsetenv("LLEVAL_DRY_DELAY_MS");
    if (rc != LLEVAL_EINTR) {
        print_error("rc %d (%s), want LLEVAL_EINTR\n", rc, err.msg);
        fail();
    }
    assert_true(s1.stop_asked);
    assert_int_equal(s1.stop_pid, lleval_getpid());
    assert_true(res.answered < N_REQUESTS);
    assert_true(run_unlocked(f, "stopped"));
    assert_false(run_has(f, "stopped", LLEVAL_RUN_FILE_PREDICTIONS));
    asked = dry_asked(f, &twice);
    assert_int_equal(asked, res.answered);
    lleval_run_result_release(&res);
    lleval_manifest_init(&m);
    load_manifest(f, "stopped", &m);
    assert_int_equal(m.status, LLEVAL_RUN_STOPPED);
    assert_true(m.steps_done <= LLEVAL_STEP_POLL);
    assert_int_equal(m.answered, (long)asked);
    lleval_manifest_release(&m);

    run_ok(f, "stopped", LLEVAL_STEP_REPORT, true, &s2, &res);
    assert_int_equal(res.answered, N_REQUESTS);
    assert_int_equal(dry_asked(f, &twice), N_REQUESTS);
    assert_false(twice);
    assert_null(strstr(s2.events.buf, "prepare: "));
    assert_false(run_has(f, "stopped", LLEVAL_RUN_FILE_STOP));
    lleval_manifest_init(&m);
    load_manifest(f, "stopped", &m);
    assert_int_equal(m.status, LLEVAL_RUN_DONE);
    lleval_manifest_release(&m);
    lleval_run_result_release(&res);
    seen_release(&s1);
    seen_release(&s2);
}

/* A run whose lock a living process holds is refused and its lock left alone; once that
 * process is dead, its lock is free. */
static void test_lock(void **state)
{
    struct fixture *f = *state;
    char *dir = lleval_path_join(f->runs_dir, "locked");
    char *lock = lleval_path_join(dir, "lock"), *content, *before;
    char *log = lleval_path_join(f->dir, "lock-holder.log");
    char *argv[] = {"tu_child", "lock", lock, NULL};
    struct lleval_err spawn_err = LLEVAL_ERR_INIT;
    struct lleval_proc_exit ex;
    long child = 0;
    char *said = NULL;

    /* a living process holding the lock: tests/unit/tu_child.c, until we end it */
    assert_int_equal(lleval_mkdirs(dir, &(struct lleval_err)LLEVAL_ERR_INIT), 0);
    assert_int_equal(lleval_proc_spawn(TU_CHILD, argv, log, 0, &child, &spawn_err), 0);
    for (double until = lleval_monotonic() + 60.0; lleval_monotonic() < until;) {
        said = tu_read(log);
        if ((said && strchr(said, '\n')) || lleval_proc_poll(child, &ex) != 0)
            break;
        free(said);
        said = NULL;
        lleval_sleep_ms(10);
    }
    assert_non_null(said);
    tu_assert_contains(said, "locked");
    assert_null(strstr(said, "not locked"));
    free(said);
    content = tu_read(lock);
    {
        struct seen seen = {.events = LLEVAL_SB_INIT};
        struct lleval_run_result res;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char want[64];
        int rc = run(f, "locked", LLEVAL_STEP_REPORT, false, &seen, &res, &err);
        if (rc != LLEVAL_EINVAL) {
            print_error("rc %d (%s), want LLEVAL_EINVAL\n", rc, err.msg);
            fail();
        }
        snprintf(want, sizeof(want), "is being run by process %ld", child);
        tu_assert_contains(err.msg, want);
        tu_assert_contains(err.msg, "lleval runs stop locked");
        before = tu_read(lock);
        assert_non_null(before);
        assert_string_equal(before, content);
        free(before);
        assert_false(run_has(f, "locked", LLEVAL_RUN_FILE_MANIFEST));
        lleval_run_result_release(&res);
        seen_release(&seen);
    }
    lleval_proc_terminate(child, 30000);
    assert_false(lleval_pid_alive(child));

    /* a dead process: the child above, reaped */
    {
        struct seen seen = {.events = LLEVAL_SB_INIT};
        struct lleval_run_result res;
        run_ok(f, "locked", LLEVAL_STEP_BUILD, false, &seen, &res);
        assert_true(run_unlocked(f, "locked"));
        assert_true(run_has(f, "locked", LLEVAL_RUN_FILE_BUILD));
        lleval_run_result_release(&res);
        seen_release(&seen);
    }
    free(content);
    free(log);
    free(lock);
    free(dir);
}

/* resume of a run that does not exist is refused, and invalid run ids too. */
static void test_bad_ids(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *id;
        bool resume;
        const char *msg;
    } cases[] = {
        {"nosuch", true, "no run 'nosuch'"},
        {"../escape", false, ""},
        {".hidden", false, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct seen seen = {.events = LLEVAL_SB_INIT};
        struct lleval_run_result res;
        struct lleval_err err = LLEVAL_ERR_INIT;
        int rc = run(f, cases[i].id, LLEVAL_STEP_REPORT, cases[i].resume, &seen, &res, &err);
        if (rc != LLEVAL_EINVAL) {
            print_error("id '%s': rc %d (%s), want LLEVAL_EINVAL\n", cases[i].id, rc, err.msg);
            fail();
        }
        tu_assert_contains(err.msg, cases[i].msg);
        lleval_run_result_release(&res);
        seen_release(&seen);
    }
    assert_false(lleval_path_exists(f->dry_log));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_to_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_again_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_then_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
