/* Unit tests for the run directory: paths, run ids, status words, steps,
 * typed manifest.json and state.json (round trip, versions, damage), and the
 * effective status from whether the run's lock is held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/run/rundir.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static void test_paths(void **state)
{
    static const struct {
        enum lleval_run_file f;
        const char *want;
    } cases[] = {
        {LLEVAL_RUN_FILE_CONFIG, "runs/r1/config.resolved.yaml"},
        {LLEVAL_RUN_FILE_MANIFEST, "runs/r1/manifest.json"},
        {LLEVAL_RUN_FILE_LOCK, "runs/r1/lock"},
        {LLEVAL_RUN_FILE_STOP, "runs/r1/stop"},
        {LLEVAL_RUN_FILE_BATCHES, "runs/r1/batches"},
        {LLEVAL_RUN_FILE_BUILD, "runs/r1/batches/build.json"},
        {LLEVAL_RUN_FILE_PARTS, "runs/r1/parts"},
        {LLEVAL_RUN_FILE_RESULTS, "runs/r1/results"},
        {LLEVAL_RUN_FILE_COMBINED, "runs/r1/results/results_combined.jsonl"},
        {LLEVAL_RUN_FILE_PREDICTIONS, "runs/r1/results/predictions.csv"},
        {LLEVAL_RUN_FILE_SCORES, "runs/r1/results/scores.json"},
        {LLEVAL_RUN_FILE_ITEMS_CSV, "runs/r1/results/items.csv"},
        {LLEVAL_RUN_FILE_ITEMS_JSONL, "runs/r1/results/items.jsonl"},
        {LLEVAL_RUN_FILE_REPORT_HTML, "runs/r1/report.html"},
        {LLEVAL_RUN_FILE_REPORT_MD, "runs/r1/report.md"},
        {LLEVAL_RUN_FILE_LOGS, "runs/r1/logs"},
        {LLEVAL_RUN_FILE_LLAMA_LOG, "runs/r1/logs/llama-server.log"},
    };
    char *p;
    (void)state;
    assert_int_equal(sizeof(cases) / sizeof(cases[0]), LLEVAL_N_RUN_FILES);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p = lleval_run_file_path("runs/r1", cases[i].f);
        assert_string_equal(p, cases[i].want);
        free(p);
        assert_string_equal(lleval_run_file_rel(cases[i].f), cases[i].want + strlen("runs/r1/"));
    }
    p = lleval_run_file_path("runs/r1/", LLEVAL_RUN_FILE_LOCK); /* no double slash */
    assert_string_equal(p, "runs/r1/lock");
    free(p);

    p = lleval_run_trial_name("nq_open", 0);
    assert_string_equal(p, "nq_open/t0");
    free(p);
    p = lleval_run_trial_name("nq_open", 0.7);
    assert_string_equal(p, "nq_open/t0.7");
    free(p);
    p = lleval_run_part_name("mmlu", 0.7, 3);
    assert_string_equal(p, "mmlu/t0.7/part-003");
    free(p);
    p = lleval_run_part_name("mmlu", 0, 1234);
    assert_string_equal(p, "mmlu/t0/part-1234");
    free(p);
    p = lleval_run_batch_path("runs/r1", "nq_open", 0, 1);
    assert_string_equal(p, "runs/r1/batches/nq_open/t0/part-001.jsonl");
    free(p);
    p = lleval_run_journal_path("runs/r1", "nq_open", 0.7, 2);
    assert_string_equal(p, "runs/r1/results/parts/nq_open/t0.7/part-002.jsonl");
    free(p);
    p = lleval_run_state_path("runs/r1", "nq_open", 1, 12);
    assert_string_equal(p, "runs/r1/parts/nq_open/t1/part-012/state.json");
    free(p);
}

static void test_run_dir_create(void **state)
{
    char *tmp = tu_tmpdir();
    char *dir = lleval_path_join(tmp, "a/r1");
    char *logs = lleval_path_join(dir, "logs"), *results = lleval_path_join(dir, "results");
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    assert_int_equal(lleval_run_dir_create(dir, &err), 0);
    assert_true(lleval_is_dir(logs));
    assert_true(lleval_is_dir(results));
    tu_rmtree(tmp);
    free(logs);
    free(results);
    free(dir);
    free(tmp);
}

static void test_run_ids(void **state)
{
    static const struct {
        const char *id;
        bool valid;
    } cases[] = {
        {"run_20240909_123456", true},
        {"a", true},
        {"A-b_c.d", true},
        {"r.1", true},
        {"", false},
        {".hidden", false},
        {"..", false},
        {"a/b", false},
        {"../x", false},
        {"a b", false},
        {"caf\xc3\xa9", false},
        {"a\\b", false},
    };
    char long_id[130];
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *dir;
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (lleval_run_id_valid(cases[i].id) != cases[i].valid)
            fail_msg("run id '%s': want %s", cases[i].id, cases[i].valid ? "valid" : "invalid");
    }
    memset(long_id, 'x', 128);
    long_id[128] = '\0';
    assert_true(lleval_run_id_valid(long_id)); /* 128 is the most */
    long_id[128] = 'x';
    long_id[129] = '\0';
    assert_false(lleval_run_id_valid(long_id));

    dir = lleval_run_dir("runs", "r1", &err);
    assert_string_equal(dir, "runs/r1");
    free(dir);
    assert_null(lleval_run_dir("runs", "../etc", &err));
    assert_int_equal(err.code, LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "invalid run id '../etc'");
}

static void test_new_id(void **state)
{
    char *tmp = tu_tmpdir();
    char *id1 = lleval_run_new_id(tmp), *id2, *dir;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    /* run_YYYYMMDD_HHMMSS */
    assert_int_equal(strlen(id1), strlen("run_20240909_123456"));
    assert_memory_equal(id1, "run_", 4);
    assert_int_equal(id1[12], '_');
    assert_true(lleval_run_id_valid(id1));
    dir = lleval_path_join(tmp, id1);
    assert_int_equal(lleval_mkdirs(dir, &err), 0);
    id2 = lleval_run_new_id(tmp);
    /* taken: the next one gets a suffix (or the clock moved on a second) */
    assert_string_not_equal(id1, id2);
    if (!strncmp(id1, id2, strlen(id1)))
        assert_string_equal(id2 + strlen(id1), "_2");
    tu_rmtree(tmp);
    free(dir);
    free(id1);
    free(id2);
    free(tmp);
}

static void test_status_round_trip(void **state)
{
    static const char *const words[] = {"unknown", "queued",  "running",
                                        "done",    "stopped", "failed"};
    enum lleval_run_status s = LLEVAL_RUN_DONE;
    (void)state;
    assert_int_equal(sizeof(words) / sizeof(words[0]), LLEVAL_N_RUN_STATUS);
    for (int i = 0; i < LLEVAL_N_RUN_STATUS; i++) {
        assert_string_equal(lleval_run_status_name((enum lleval_run_status)i), words[i]);
        assert_int_equal(lleval_run_status_parse(words[i], &s), 0);
        assert_int_equal(s, i);
    }
    s = LLEVAL_RUN_DONE;
    assert_int_equal(lleval_run_status_parse("Done", &s), LLEVAL_EINVAL);
    assert_int_equal(lleval_run_status_parse("", &s), LLEVAL_EINVAL);
    assert_int_equal(s, LLEVAL_RUN_DONE); /* untouched */
    assert_string_equal(lleval_run_status_name((enum lleval_run_status)99), "unknown");
}

static void test_steps(void **state)
{
    static const char *const names[] = {"prepare", "build", "submit", "poll",
                                        "parse",   "score", "report"};
    enum lleval_step s;
    (void)state;
    assert_int_equal(sizeof(names) / sizeof(names[0]), LLEVAL_N_STEPS);
    for (int i = 0; i < LLEVAL_N_STEPS; i++) {
        assert_string_equal(lleval_step_name((enum lleval_step)i), names[i]);
        assert_int_equal(lleval_step_parse(names[i], &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(lleval_step_parse("run", &s), LLEVAL_EINVAL);
    assert_string_equal(lleval_step_name(LLEVAL_N_STEPS), "?");
}

/* A manifest with every field set, as a run writes it. */
static void fill_manifest(struct lleval_manifest *m)
{
    struct lleval_manifest_trial *t;
    lleval_manifest_init(m);
    m->run_id = lleval_xstrdup("r1");
    m->status = LLEVAL_RUN_STOPPED;
    m->pid = 4242;
    m->model_id = lleval_xstrdup("llama3.2:1b");
    m->engine = lleval_xstrdup("ollama");
    m->base_url = lleval_xstrdup("http://127.0.0.1:11434");
    m->prompt_set = lleval_xstrdup("default");
    m->max_concurrent_jobs = 3;
    m->started_at = 1725885296.125;
    m->updated_at = 1725885396.5;
    m->to_step = LLEVAL_STEP_SCORE;
    m->steps_done = 4;
    m->requests = 30;
    m->answered = 20;
    m->errors = 2;
    m->engine_detail = lleval_xstrdup("ollama 0.3.9");
    m->last_error = lleval_xstrdup("nq-1: \"timeout\"");
    m->created_at = 1725885000.25;
    t = lleval_manifest_add_trial(m);
    t->trial = lleval_xstrdup("nq_open/t0");
    t->dataset = lleval_xstrdup("nq_open");
    t->temperature = 0;
    t->jobs_total = 3;
    t->jobs_queued = 1;
    t->jobs_done = 1;
    t->jobs_stopped = 1;
    t->requests = 30;
    t->answered = 20;
    t->errors = 2;
    t->prompt_tokens = 1234;
    t->completion_tokens = 567;
    t->started_at = 1725885300.5;
    t->elapsed_s = 96;
    t->telemetry = json_pack("{s:s, s:i}", "status", "disabled", "samples", 0);
    t->prompt_tps = 812.5;
    t = lleval_manifest_add_trial(m);
    t->trial = lleval_xstrdup("mmlu/t0.7");
    t->dataset = lleval_xstrdup("mmlu");
    t->temperature = 0.7;
    t->jobs_total = 1;
    t->jobs_failed = 1;
    t->finished_at = 1725885390.75;
    t->gen_tps = 41.25;
}

/* The run's own manifest, as lleval before format_version wrote it. */
static const char old_manifest[] =
    "{\n"
    "  \"run_id\": \"old\",\n"
    "  \"status\": \"done\",\n"
    "  \"pid\": 77,\n"
    "  \"model_id\": \"m\",\n"
    "  \"engine\": \"dry\",\n"
    "  \"base_url\": null,\n"
    "  \"prompt_set\": \"default\",\n"
    "  \"max_concurrent_jobs\": 2,\n"
    "  \"started_at\": 1725885296.5,\n"
    "  \"started_at_utc\": \"2024-09-09T12:34:56Z\",\n"
    "  \"updated_at\": 1725885300.0,\n"
    "  \"to_step\": \"report\",\n"
    "  \"steps_done\": [\"prepare\", \"build\", \"submit\", \"poll\", \"parse\", \"score\", "
    "\"report\"],\n"
    "  \"requests\": {\"total\": 4, \"answered\": 4, \"errors\": 0},\n"
    "  \"engine_detail\": \"\",\n"
    "  \"last_error\": \"\",\n"
    "  \"trials\": [{\"trial\": \"d/t0\", \"dataset\": \"d\", \"temperature\": 0.0,\n"
    "    \"job_counts\": {\"total\": 1, \"queued\": 0, \"running\": 0, \"done\": 1, \"stopped\": 0,"
    " \"failed\": 0},\n"
    "    \"requests\": {\"total\": 4, \"answered\": 4, \"errors\": 0},\n"
    "    \"tokens\": {\"prompt\": 40, \"completion\": 8}, \"started_at\": 1725885297.0,\n"
    "    \"finished_at\": 1725885299.0, \"elapsed_s\": 2.0, \"telemetry\": {\"status\": "
    "\"disabled\"},\n"
    "    \"engine_speed\": {\"prompt_tps\": null, \"gen_tps\": 12.5}}],\n"
    "  \"headline\": {\"metric\": \"EM\", \"value\": 50.0},\n"
    "  \"created_at\": 1725885296.5\n"
    "}\n";

static void test_manifest_round_trip(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "manifest.json");
    struct lleval_manifest m, back;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *first, *second;
    json_t *j;
    (void)state;

    fill_manifest(&m);
    assert_int_equal(lleval_manifest_save(dir, &m, &err), 0);
    first = tu_read(path);
    /* format_version leads; the rest is the old layout */
    assert_memory_equal(first, "{\n  \"format_version\": 1,\n  \"run_id\": \"r1\",",
                        strlen("{\n  \"format_version\": 1,\n  \"run_id\": \"r1\","));
    tu_assert_contains(first, "\"started_at_utc\": \"2024-09-09T12:34:56Z\"");
    tu_assert_contains(first, "\"steps_done\": [\n    \"prepare\",\n    \"build\",\n    "
                              "\"submit\",\n    \"poll\"\n  ]");
    tu_assert_contains(first, "\"finished_at\": null");
    tu_assert_contains(first, "\"gen_tps\": null");

    assert_int_equal(lleval_manifest_load(dir, &back, &err), 0);
    assert_int_equal(back.format_version, 1);
    assert_string_equal(back.run_id, "r1");
    assert_int_equal(back.status, LLEVAL_RUN_STOPPED);
    assert_int_equal(back.pid, 4242);
    assert_string_equal(back.base_url, "http://127.0.0.1:11434");
    assert_int_equal(back.max_concurrent_jobs, 3);
    assert_int_equal(back.to_step, LLEVAL_STEP_SCORE);
    assert_int_equal(back.steps_done, 4);
    assert_int_equal(back.answered, 20);
    assert_string_equal(back.last_error, "nq-1: \"timeout\"");
    assert_true(back.created_at == 1725885000.25);
    assert_int_equal(back.n_trials, 2);
    assert_string_equal(back.trials[1].trial, "mmlu/t0.7");
    assert_true(back.trials[1].temperature == 0.7);
    assert_int_equal(back.trials[0].jobs_stopped, 1);
    assert_int_equal(back.trials[1].jobs_failed, 1);
    assert_int_equal(back.trials[0].completion_tokens, 567);
    assert_true(back.trials[0].prompt_tps == 812.5);
    assert_true(back.trials[0].gen_tps == 0);
    assert_true(back.trials[1].gen_tps == 41.25);
    assert_true(back.trials[1].started_at == 0);
    assert_string_equal(lleval_json_str(back.trials[0].telemetry, "status"), "disabled");
    assert_null(back.trials[1].telemetry);
    assert_null(back.headline);

    /* saving what was read gives the same bytes */
    assert_int_equal(lleval_manifest_save(dir, &back, &err), 0);
    second = tu_read(path);
    assert_string_equal(first, second);

    /* started_at_utc names the second of started_at as the file keeps it (15
     * digits): 1725885296.9999996 is kept as 1725885297, so ...:57, not :56,
     * and the file saves again to the same bytes */
    back.started_at = 1725885296.9999996;
    assert_int_equal(lleval_manifest_save(dir, &back, &err), 0);
    free(second);
    second = tu_read(path);
    tu_assert_contains(second, "\"started_at_utc\": \"2024-09-09T12:34:57Z\"");
    lleval_manifest_release(&back);
    assert_int_equal(lleval_manifest_load(dir, &back, &err), 0);
    assert_true(back.started_at == 1725885297.0);
    assert_int_equal(lleval_manifest_save(dir, &back, &err), 0);
    free(first);
    first = tu_read(path);
    assert_string_equal(first, second);

    /* NULL strings are written as "", a NULL base_url as null */
    free(back.base_url);
    back.base_url = NULL;
    free(back.model_id);
    back.model_id = NULL;
    assert_int_equal(lleval_manifest_save(dir, &back, &err), 0);
    j = json_load_file(path, 0, NULL);
    assert_true(json_is_null(json_object_get(j, "base_url")));
    assert_string_equal(json_string_value(json_object_get(j, "model_id")), "");
    json_decref(j);

    lleval_manifest_release(&m);
    lleval_manifest_release(&back);
    tu_rmtree(dir);
    free(first);
    free(second);
    free(path);
    free(dir);
}

static void test_manifest_without_version_is_v1(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "manifest.json", old_manifest);
    struct lleval_manifest m;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *saved;
    (void)state;

    assert_int_equal(lleval_manifest_load(dir, &m, &err), 0);
    assert_int_equal(m.format_version, 1);
    assert_string_equal(m.run_id, "old");
    assert_int_equal(m.status, LLEVAL_RUN_DONE);
    assert_null(m.base_url);
    assert_int_equal(m.steps_done, LLEVAL_N_STEPS);
    assert_int_equal(m.n_trials, 1);
    assert_true(m.trials[0].prompt_tps == 0);
    assert_true(m.trials[0].gen_tps == 12.5);
    assert_non_null(m.headline); /* kept as found */
    assert_true(m.created_at == 1725885296.5);
    /* written back with format_version and the headline kept before created_at */
    assert_int_equal(lleval_manifest_save(dir, &m, &err), 0);
    saved = tu_read(path);
    tu_assert_contains(saved, "\"format_version\": 1");
    tu_assert_contains(saved,
                       "\"headline\": {\n    \"metric\": \"EM\",\n    \"value\": 50.0\n  },\n"
                       "  \"created_at\": 1725885296.5\n}\n");
    lleval_manifest_release(&m);
    tu_rmtree(dir);
    free(saved);
    free(path);
    free(dir);
}

static void test_manifest_errors(void **state)
{
    static const struct {
        const char *content; /* NULL: no file */
        int code;
        const char *msg;
    } cases[] = {
        {NULL, LLEVAL_EINVAL, "no manifest.json in"},
        {"{\"run_id\": \"x\",", LLEVAL_EIO, "manifest.json:1:"},
        {"", LLEVAL_EIO, "manifest.json"},
        {"[1, 2]", LLEVAL_EIO, "manifest.json' is not a JSON object"},
        {"{\"format_version\": 2}", LLEVAL_EIO, "format_version 2 is newer than this lleval"},
        {"{\"format_version\": \"1\"}", LLEVAL_EIO, "'format_version' must be an integer"},
        {"{\"format_version\": 0}", LLEVAL_EIO, "'format_version' must be 1 or more"},
        {"{\"run_id\": 5}", LLEVAL_EIO, "'run_id' must be a string"},
        {"{\"status\": \"sleeping\"}", LLEVAL_EIO, "'status' must be queued, running"},
        {"{\"pid\": 1.5}", LLEVAL_EIO, "'pid' must be an integer"},
        {"{\"base_url\": 3}", LLEVAL_EIO, "'base_url' must be a string"},
        {"{\"started_at\": null}", LLEVAL_EIO, "'started_at' must be a number"},
        {"{\"to_step\": \"run\"}", LLEVAL_EIO, "'to_step' must be a step"},
        {"{\"steps_done\": [\"build\"]}", LLEVAL_EIO, "'steps_done' must be the steps done"},
        {"{\"steps_done\": \"prepare\"}", LLEVAL_EIO, "'steps_done' must be an array"},
        {"{\"requests\": []}", LLEVAL_EIO, "'requests' must be an object"},
        {"{\"requests\": {\"total\": \"4\"}}", LLEVAL_EIO, "'requests.total' must be an integer"},
        {"{\"trials\": {}}", LLEVAL_EIO, "'trials' must be an array"},
        {"{\"trials\": [7]}", LLEVAL_EIO, "'trials[0]' must be an object"},
        {"{\"trials\": [{}, {\"job_counts\": {\"done\": true}}]}", LLEVAL_EIO,
         "'trials[1].job_counts.done' must be an integer"},
        {"{\"trials\": [{\"engine_speed\": {\"gen_tps\": \"fast\"}}]}", LLEVAL_EIO,
         "'trials[0].engine_speed.gen_tps' must be a number or null"},
        {"{\"trials\": [{\"telemetry\": [1]}]}", LLEVAL_EIO,
         "'trials[0].telemetry' must be an object or null"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *dir = tu_tmpdir();
        char *path = NULL;
        struct lleval_manifest m;
        struct lleval_err err = LLEVAL_ERR_INIT;
        int rc;
        if (cases[i].content)
            path = tu_write(dir, "manifest.json", cases[i].content);
        rc = lleval_manifest_load(dir, &m, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu: rc %d, want %d (%s)", i, rc, cases[i].code, err.msg);
        tu_assert_contains(err.msg, cases[i].msg);
        tu_assert_contains(err.msg, dir);                                  /* names the file */
        if (cases[i].code == LLEVAL_EIO && !strstr(cases[i].msg, "newer")) /* what to do */
            tu_assert_contains(err.msg, LLEVAL_RUN_FIX_MANIFEST);
        lleval_manifest_release(&m);
        tu_rmtree(dir);
        free(path);
        free(dir);
    }
}

static void test_part_state(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "state.json");
    struct lleval_part_state s, back;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *first, *second, *bad;
    static const char want_head[] = "{\n  \"run_id\": \"r1\",\n  \"part\": \"d/t0/part-001\",\n"
                                    "  \"dataset\": \"d\",\n  \"temperature\": 0.0,\n"
                                    "  \"trial\": \"d/t0\",\n  \"index\": 1,\n"
                                    "  \"status\": \"running\",\n";
    (void)state;

    lleval_part_state_init(&s);
    s.run_id = lleval_xstrdup("r1");
    s.part = lleval_xstrdup("d/t0/part-001");
    s.dataset = lleval_xstrdup("d");
    s.trial = lleval_xstrdup("d/t0");
    s.index = 1;
    s.status = LLEVAL_RUN_RUNNING;
    s.requests = 10;
    s.answered = 4;
    s.ok = 3;
    s.errors = 1;
    s.prompt_tokens = 100;
    s.completion_tokens = 20;
    s.started_at = 1725885296.5;
    s.elapsed_s = 3.25;
    s.batch_file = lleval_xstrdup("batches/d/t0/part-001.jsonl");
    s.results_file = lleval_xstrdup("results/parts/d/t0/part-001.jsonl");
    s.telemetry = json_pack("{s:s}", "status", "disabled");
    assert_int_equal(lleval_part_state_save(path, &s, &err), 0);
    first = tu_read(path);
    assert_memory_equal(first, want_head, strlen(want_head));
    tu_assert_contains(first, "\"finished_at\": null,\n  \"elapsed_s\": 3.25,");

    assert_int_equal(lleval_part_state_load(path, &back, &err), 0);
    assert_string_equal(back.part, "d/t0/part-001");
    assert_int_equal(back.status, LLEVAL_RUN_RUNNING);
    assert_int_equal(back.answered, 4);
    assert_int_equal(back.errors, 1);
    assert_true(back.started_at == 1725885296.5);
    assert_true(back.finished_at == 0);
    assert_string_equal(back.results_file, "results/parts/d/t0/part-001.jsonl");
    assert_int_equal(lleval_part_state_save(path, &back, &err), 0);
    second = tu_read(path);
    assert_string_equal(first, second);

    /* damage: wrong type, broken JSON, missing file */
    lleval_part_state_release(&back);
    bad = tu_write(dir, "bad.json", "{\"answered\": \"4\"}");
    assert_int_equal(lleval_part_state_load(bad, &back, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, bad);
    tu_assert_contains(err.msg, "'answered' must be an integer");
    tu_assert_contains(err.msg, LLEVAL_RUN_FIX_STATE);
    lleval_part_state_release(&back);
    free(bad);
    bad = tu_write(dir, "torn.json", "{\"answered\": 4");
    assert_int_equal(lleval_part_state_load(bad, &back, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, bad);
    lleval_part_state_release(&back);
    free(bad);
    bad = lleval_path_join(dir, "none.json");
    assert_int_equal(lleval_part_state_load(bad, &back, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, bad);
    lleval_part_state_release(&back);

    lleval_part_state_release(&s);
    tu_rmtree(dir);
    free(bad);
    free(first);
    free(second);
    free(path);
    free(dir);
}

/* lleval_part_state_save_changed writes only when the bytes differ from the
 * last ones it gave the file (or the file is gone): a flush of an unchanged
 * part costs no write and no fsync. */
static void test_part_state_save_changed(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "state.json");
    struct lleval_part_state s;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *last = NULL, *text, *other;
    (void)state;

    lleval_part_state_init(&s);
    s.run_id = lleval_xstrdup("r1");
    s.part = lleval_xstrdup("d/t0/part-001");
    s.status = LLEVAL_RUN_RUNNING;
    s.requests = 10;
    s.answered = 4;
    /* the first save writes what lleval_part_state_save writes, and keeps it */
    assert_int_equal(lleval_part_state_save_changed(path, &s, &last, &err), 0);
    text = tu_read(path);
    assert_non_null(last);
    assert_string_equal(last, text);
    free(text);
    other = lleval_path_join(dir, "other.json");
    assert_int_equal(lleval_part_state_save(other, &s, &err), 0);
    text = tu_read(other);
    assert_string_equal(last, text);
    free(text);

    /* the same bytes again: the file is left alone (a marker shows it) */
    free(tu_write(dir, "state.json", "marker"));
    assert_int_equal(lleval_part_state_save_changed(path, &s, &last, &err), 0);
    text = tu_read(path);
    assert_string_equal(text, "marker");
    free(text);

    /* changed bytes: written */
    s.answered = 5;
    assert_int_equal(lleval_part_state_save_changed(path, &s, &last, &err), 0);
    text = tu_read(path);
    assert_string_equal(text, last);
    tu_assert_contains(text, "\"answered\": 5,");
    free(text);

    /* the same bytes, but the file is gone: written again */
    assert_int_equal(remove(path), 0);
    assert_int_equal(lleval_part_state_save_changed(path, &s, &last, &err), 0);
    text = tu_read(path);
    assert_string_equal(text, last);
    free(text);

    /* a failed write forgets the bytes, so the next save writes */
    {
        char *bad = lleval_path_join(dir, "no/such/dir/state.json");
        assert_int_equal(lleval_part_state_save_changed(bad, &s, &last, &err), LLEVAL_EIO);
        assert_null(last);
        free(bad);
    }

    lleval_part_state_release(&s);
    tu_rmtree(dir);
    free(other);
    free(path);
    free(dir);
}

static void test_effective_status(void **state)
{
    /* what the lock file holds: nothing, a pid whose process is dead or
     * alive (neither holds the lock), or the lock really held (this process) */
    enum lock { NONE, DEAD_PID, LIVE_PID, HELD };
    static const struct {
        enum lleval_run_status recorded;
        enum lock lock;
        enum lleval_run_status want;
    } cases[] = {
        {LLEVAL_RUN_RUNNING, HELD, LLEVAL_RUN_RUNNING},
        {LLEVAL_RUN_DONE, HELD, LLEVAL_RUN_RUNNING},        /* the holder wins */
        {LLEVAL_RUN_RUNNING, DEAD_PID, LLEVAL_RUN_STOPPED}, /* crashed: kill -9 */
        {LLEVAL_RUN_RUNNING, LIVE_PID, LLEVAL_RUN_STOPPED}, /* a live pid is not a lock */
        {LLEVAL_RUN_RUNNING, NONE, LLEVAL_RUN_STOPPED},
        {LLEVAL_RUN_DONE, DEAD_PID, LLEVAL_RUN_DONE},
        {LLEVAL_RUN_DONE, LIVE_PID, LLEVAL_RUN_DONE},
        {LLEVAL_RUN_STOPPED, NONE, LLEVAL_RUN_STOPPED},
        {LLEVAL_RUN_FAILED, DEAD_PID, LLEVAL_RUN_FAILED},
        {LLEVAL_RUN_UNKNOWN, NONE, LLEVAL_RUN_FAILED}, /* no status recorded */
        {LLEVAL_RUN_UNKNOWN, HELD, LLEVAL_RUN_RUNNING},
    };
    long dead = tu_dead_pid();
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *dir = tu_tmpdir();
        char *path = lleval_path_join(dir, "lock");
        struct lleval_lock *lock = NULL;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char line[32];
        long pid = cases[i].lock == DEAD_PID ? dead : lleval_getpid(), got_pid = -1, holder;
        enum lleval_run_status got;
        snprintf(line, sizeof(line), "%ld\n", pid);
        if (cases[i].lock == HELD)
            assert_int_equal(lleval_lock_acquire(path, &lock, &holder, &err), 0);
        else if (cases[i].lock != NONE)
            free(tu_write(dir, "lock", line));
        got = lleval_run_effective_status(dir, cases[i].recorded, &got_pid);
        if (got != cases[i].want)
            fail_msg("case %zu: %s, want %s", i, lleval_run_status_name(got),
                     lleval_run_status_name(cases[i].want));
        assert_int_equal(lleval_run_lock_held(dir), cases[i].lock == HELD);
        assert_int_equal(got_pid, cases[i].lock != NONE ? pid : 0);
        assert_int_equal(lleval_run_lock_pid(dir), cases[i].lock != NONE ? pid : 0);
        lleval_lock_release(lock);
        tu_rmtree(dir);
        free(path);
        free(dir);
    }
}

static void test_request_stop(void **state)
{
    char *tmp = tu_tmpdir();
    char *dir = lleval_path_join(tmp, "r1"), *stop = lleval_path_join(dir, "stop"), *lock_path;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_lock *lock = NULL;
    char line[32];
    long pid = -1, holder;
    (void)state;

    assert_int_equal(lleval_run_request_stop(tmp, "r1", &pid, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "no run 'r1' in");
    assert_int_equal(lleval_run_request_stop(tmp, "../r1", &pid, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "invalid run id");
    assert_int_equal(lleval_run_dir_create(dir, &err), 0);
    snprintf(line, sizeof(line), "%ld\n", tu_dead_pid());
    free(tu_write(dir, "lock", line));
    assert_int_equal(lleval_run_request_stop(tmp, "r1", &pid, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "run 'r1' is not running; resume it with `lleval runs resume r1`");
    assert_false(lleval_path_exists(stop));
    snprintf(line, sizeof(line), "%ld\n", lleval_getpid());
    free(tu_write(dir, "lock", line)); /* a live pid, but nobody holds the lock */
    assert_int_equal(lleval_run_request_stop(tmp, "r1", &pid, &err), LLEVAL_EINVAL);
    assert_false(lleval_path_exists(stop));
    lock_path = lleval_path_join(dir, "lock");
    assert_int_equal(lleval_lock_acquire(lock_path, &lock, &holder, &err), 0);
    assert_int_equal(lleval_run_request_stop(tmp, "r1", &pid, &err), 0);
    assert_int_equal(pid, lleval_getpid());
    assert_true(lleval_path_exists(stop));
    lleval_lock_release(lock);
    free(lock_path);
    tu_rmtree(tmp);
    free(stop);
    free(dir);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_run_dir_create),
        cmocka_unit_test(test_run_ids),
        cmocka_unit_test(test_new_id),
        cmocka_unit_test(test_status_round_trip),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_manifest_round_trip),
        cmocka_unit_test(test_manifest_without_version_is_v1),
        cmocka_unit_test(test_manifest_errors),
        cmocka_unit_test(test_part_state),
        cmocka_unit_test(test_part_state_save_changed),
        cmocka_unit_test(test_effective_status),
        cmocka_unit_test(test_request_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
