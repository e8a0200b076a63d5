/* Unit tests for doctor: its rules over synthetic evidence. Each case builds a run
 * directory (manifest, config, batches, a result journal, telemetry) and checks the exact
 * set of findings and a line of their text. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/platform.h"
#include "lleval/doctor/doctor.h"
#include "lleval/engine/engine.h"
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/run/batch.h"
#include "lleval/run/parse.h"
#include "lleval/run/rundir.h"
#include "lleval/util/util.h"

#define BIT(k) (1u << (k))

struct doc_case {
    const char *name;
    const char *status; /* the manifest's */
    const char *model_id;
    int requests;         /* in the batch file */
    int ok, length;       /* answers; the first `length` of them hit max_tokens */
    double gen_tps;       /* of each answer */
    int oom, conn, other; /* failed requests, after the answers */
    const char *oom_text, *conn_code;
    int dups;              /* the first answer repeated */
    bool unknown;          /* an answer to a request that does not exist */
    const char *gpu;       /* the part's telemetry.gpu object, or NULL */
    unsigned want;         /* the set of finding kinds */
    const char *want_text; /* in some finding's title, evidence or fixes */
};

#define M8B "llama3.1:8b-instruct-q4_K_M"

static const struct doc_case cases[] = {
    {"healthy", "done", M8B, 10, 10, 0, 30, 0, 0, 0, NULL, NULL, 0, false, NULL, 0, NULL},
    {"truncation above 10%", "done", M8B, 10, 10, 2, 30, 0, 0, 0, NULL, NULL, 0, false, NULL,
     BIT(LLEVAL_FIND_TRUNCATION), "frequent length truncation in ds/t0: 20.0% of answers"},
    {"truncation fix doubles max_tokens", "done", M8B, 10, 10, 3, 30, 0, 0, 0, NULL, NULL, 0, false,
     NULL, BIT(LLEVAL_FIND_TRUNCATION), "max_new_tokens.closed_book 64 -> 128"},
    {"truncation at exactly 10% is fine", "done", M8B, 10, 10, 1, 30, 0, 0, 0, NULL, NULL, 0, false,
     NULL, 0, NULL},
    {"slow generation for an 8B model", "done", M8B, 4, 4, 0, 12, 0, 0, 0, NULL, NULL, 0, false,
     NULL, BIT(LLEVAL_FIND_SLOW), "12.0 tokens/s on average, under the guide's 15-25 tokens/s"},
    {"6 tokens/s is fine for an unknown size", "done", "tiny", 4, 4, 0, 6, 0, 0, 0, NULL, NULL, 0,
     false, NULL, 0, NULL},
    {"slow for an unknown size", "done", "tiny", 4, 4, 0, 3, 0, 0, 0, NULL, NULL, 0, false, NULL,
     BIT(LLEVAL_FIND_SLOW), "3.0 tokens/s on average, under the guide's symptom threshold"},
    {"OOM: CUDA's text", "done", M8B, 10, 8, 0, 30, 2, 0, 0, "CUDA error: out of memory", NULL, 0,
     false, NULL, BIT(LLEVAL_FIND_OOM), "out of memory: 2 requests failed"},
    {"OOM: llama.cpp's text", "done", M8B, 5, 4, 0, 30, 1, 0, 0,
     "ggml_backend_cuda_buffer_type_alloc_buffer: cudaMalloc failed", NULL, 0, false, NULL,
     BIT(LLEVAL_FIND_OOM), "engine said: ggml_backend_cuda_buffer_type_alloc_buffer"},
    {"OOM: Ollama's text", "done", M8B, 5, 4, 0, 30, 1, 0, 0,
     "model requires more system memory (9.1 GiB) than is available", NULL, 0, false, NULL,
     BIT(LLEVAL_FIND_OOM), "lower the quantization: model_id " M8B " (q4_k_m) -> the Q4_K_S"},
    {"connection errors", "done", M8B, 5, 4, 0, 30, 0, 1, 0, NULL, "connection_error", 0, false,
     NULL, BIT(LLEVAL_FIND_CONNECTION), "connection failures: 1 request failed to reach the"},
    {"timeouts count as connection errors", "done", M8B, 5, 3, 0, 30, 0, 2, 0, NULL, "timeout", 0,
     false, NULL, BIT(LLEVAL_FIND_CONNECTION), "custom_ids: ds:q4:direct:t0:s0, ds:q5:direct"},
    {"other request errors", "done", M8B, 5, 4, 0, 30, 0, 0, 1, NULL, NULL, 0, false, NULL,
     BIT(LLEVAL_FIND_REQUEST_ERRORS), "1 request failed"},
    {"a finished run with a missing answer", "done", M8B, 10, 9, 0, 30, 0, 0, 0, NULL, NULL, 0,
     false, NULL, BIT(LLEVAL_FIND_PARSE_MISMATCH),
     "results do not match the requests: 1 missing, 0 duplicate, 0 unknown"},
    {"an unfinished run", "stopped", M8B, 10, 9, 0, 30, 0, 0, 0, NULL, NULL, 0, false, NULL,
     BIT(LLEVAL_FIND_INCOMPLETE), "the run is stopped: 9 of 10 requests answered"},
    {"duplicate and unknown answers", "done", M8B, 5, 5, 0, 30, 0, 0, 0, NULL, NULL, 2, true, NULL,
     BIT(LLEVAL_FIND_PARSE_MISMATCH), "duplicate: ds:q1:direct:t0:s0"},
    {"unknown answers are cited", "done", M8B, 5, 5, 0, 30, 0, 0, 0, NULL, NULL, 0, true, NULL,
     BIT(LLEVAL_FIND_PARSE_MISMATCH), "unknown: ds:q999:direct:t0:s0"},
    {"a hot GPU near its memory limit", "done", M8B, 4, 4, 0, 30, 0, 0, 0, NULL, NULL, 0, false,
     "{\"memory_used_peak_mib\": 15950, \"memory_total_mib\": 16303, "
     "\"utilization_mean_pct\": 90, \"temperature_peak_c\": 91}",
     BIT(LLEVAL_FIND_MEMORY_NEAR_LIMIT) | BIT(LLEVAL_FIND_HIGH_TEMPERATURE),
     "peak 15950 of 16303 MiB"},
    {"an underused GPU", "done", M8B, 4, 4, 0, 30, 0, 0, 0, NULL, NULL, 0, false,
     "{\"memory_used_peak_mib\": 9000, \"memory_total_mib\": 16303, "
     "\"utilization_mean_pct\": 30, \"temperature_peak_c\": 60}",
     BIT(LLEVAL_FIND_LOW_UTILIZATION), "low GPU utilization: 30% on average"},
};

static void add_result(struct lleval_sb *sb, const char *cid, const struct lleval_answer *a,
                       long status, const char *code, const char *msg)
{
    json_t *line = lleval_result_line(cid, "ollama", a, status, code, msg, 100, 1);
    char *text = json_dumps(line, JSON_COMPACT);
    lleval_sb_adds(sb, text);
    lleval_sb_addch(sb, '\n');
    free(text);
    json_decref(line);
}

/* The run directory of one case under root; returns the owned run dir. */
static char *make_run(const char *root, const struct doc_case *c)
{
    char *run = lleval_xasprintf("%s/%s", root, "run");
    struct lleval_sb sb = LLEVAL_SB_INIT, res = LLEVAL_SB_INIT;
    int n = 0;

    tu_rmtree(run);
    lleval_sb_addf(&sb,
                   "{\"run_id\": \"run\", \"status\": \"%s\", \"engine\": \"ollama\", "
                   "\"model_id\": \"%s\", \"last_error\": \"\"}\n",
                   c->status, c->model_id);
    free(tu_write(run, "manifest.json", sb.buf));
    free(tu_write(run, "config.resolved.yaml",
                  "engine: ollama\nmodel_id: m\ncontext_length: 4096\ntemps: [0.0]\n"
                  "top_k: 40\ntop_p: 0.9\nmax_concurrent_jobs: 2\n"));
    lleval_sb_reset(&sb);
    lleval_sb_addf(&sb,
                   "{\"total_requests\": %d, \"parts\": [{\"dataset\": \"ds\", \"temperature\": "
                   "0, \"part\": 1, \"path\": \"ds/t0/part-001.jsonl\", \"requests\": %d}]}\n",
                   c->requests, c->requests);
    free(tu_write(run, "batches/build.json", sb.buf));
    lleval_sb_reset(&sb);
    for (int i = 1; i <= c->requests; i++)
        lleval_sb_addf(&sb,
                       "{\"custom_id\":\"ds:q%d:direct:t0:s0\",\"body\":{\"max_tokens\":64}}\n", i);
    free(tu_write(run, "batches/ds/t0/part-001.jsonl", sb.buf));

    for (int i = 0; i < c->ok; i++, n++) {
        struct lleval_answer a;
        char *cid = lleval_xasprintf("ds:q%d:direct:t0:s0", n + 1);
        lleval_answer_init(&a);
        a.content = lleval_xstrdup("an answer");
        a.finish = i < c->length ? LLEVAL_FINISH_LENGTH : LLEVAL_FINISH_STOP;
        a.prompt_tokens = 40;
        a.completion_tokens = 8;
        a.gen_tps = c->gen_tps;
        add_result(&res, cid, &a, 200, NULL, NULL);
        lleval_answer_release(&a);
        free(cid);
    }
    for (int i = 0; i < c->oom + c->conn + c->other; i++, n++) {
        char *cid = lleval_xasprintf("ds:q%d:direct:t0:s0", n + 1);
        if (i < c->oom)
            add_result(&res, cid, NULL, 500, "http_error", c->oom_text);
        else if (i < c->oom + c->conn)
            add_result(&res, cid, NULL, 0, c->conn_code, "connection refused");
        else
            add_result(&res, cid, NULL, 400, "http_error", "HTTP 400: bad request");
        free(cid);
    }
    for (int i = 0; i < c->dups; i++)
        add_result(&res, "ds:q1:direct:t0:s0", NULL, 500, "http_error", "again");
    if (c->unknown) {
        struct lleval_answer a;
        lleval_answer_init(&a);
        a.content = lleval_xstrdup("an answer to nothing");
        a.gen_tps = c->gen_tps;
        add_result(&res, "ds:q999:direct:t0:s0", &a, 200, NULL, NULL);
        lleval_answer_release(&a);
    }
    free(tu_write(run, "results/parts/ds/t0/part-001.jsonl", res.buf));
    if (c->gpu) {
        lleval_sb_reset(&sb);
        lleval_sb_addf(&sb, "{\"telemetry\": {\"gpu\": %s}}\n", c->gpu);
        free(tu_write(run, "parts/ds/t0/part-001/state.json", sb.buf));
    }
    lleval_sb_release(&sb);
    lleval_sb_release(&res);
    return run;
}

static bool finding_says(const struct lleval_finding *f, const char *text)
{
    if (strstr(f->title, text))
        return true;
    for (size_t i = 0; i < f->n_evidence; i++)
        if (strstr(f->evidence[i], text))
            return true;
    for (size_t i = 0; i < f->n_fixes; i++)
        if (strstr(f->fixes[i], text))
            return true;
    return false;
}

static void test_rules(void **state)
{
    char *root = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        const struct doc_case *c = &cases[i];
        struct lleval_doctor_opts o = {NULL, 0, NULL};
        struct lleval_doctor_report rep;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *run = make_run(root, c);
        unsigned got = 0;
        bool said = c->want_text == NULL;

        print_message("case %s\n", c->name);
        assert_int_equal(lleval_doctor_examine(run, &o, &rep, &err), 0);
        for (size_t k = 0; k < rep.n_findings; k++) {
            print_message("  [%s] %s\n", lleval_finding_name(rep.findings[k].kind),
                          rep.findings[k].title);
            got |= BIT(rep.findings[k].kind);
            if (c->want_text && finding_says(&rep.findings[k], c->want_text))
                said = true;
        }
        assert_int_equal(got, c->want);
        if (!said)
            fail_msg("no finding says \"%s\"", c->want_text);
        assert_string_equal(rep.run_id, "run");
        lleval_doctor_report_release(&rep);
        free(run);
    }
    tu_rmtree(root);
    free(root);
}

/* The facts doctor measured, with the reconciliation's counts. */
static void test_facts(void **state)
{
    static const struct doc_case c = {
        "facts", "done", M8B,  6, 3,   1, 20, 1, 1, 0, "out of memory", "connection_error",
        1,       true,   NULL, 0, NULL};
    char *root = tu_tmpdir();
    char *run = make_run(root, &c);
    struct lleval_doctor_opts o = {NULL, 0, NULL};
    struct lleval_doctor_report rep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *facts, *j;
    (void)state;

    assert_int_equal(lleval_doctor_examine(run, &o, &rep, &err), 0);
    facts = rep.facts;
    assert_int_equal(json_integer_value(json_object_get(facts, "requests")), 6);
    /* 3 answers, 2 failures and the unknown answer; the duplicate does not count */
    assert_int_equal(json_integer_value(json_object_get(facts, "answered")), 6);
    assert_int_equal(json_integer_value(json_object_get(facts, "ok")), 4);
    assert_int_equal(json_integer_value(json_object_get(facts, "oom_errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(facts, "connection_errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(facts, "other_errors")), 0);
    assert_int_equal(json_integer_value(json_object_get(facts, "missing")), 1);
    assert_int_equal(json_integer_value(json_object_get(facts, "duplicates")), 1);
    assert_int_equal(json_integer_value(json_object_get(facts, "unknown")), 1);
    assert_true(json_real_value(json_object_get(facts, "gen_tps_mean")) == 20.0);
    j = json_array_get(json_object_get(facts, "trials"), 0);
    assert_string_equal(json_string_value(json_object_get(j, "trial")), "ds/t0");
    assert_int_equal(json_integer_value(json_object_get(j, "length")), 1);
    j = lleval_doctor_report_json(&rep);
    assert_false(json_is_true(json_object_get(j, "healthy")));
    json_decref(j);
    lleval_doctor_report_release(&rep);
    tu_rmtree(root);
    free(run);
    free(root);
}

/* ---- the engine rules: manifest events and retries, failure texts, reasoning, MC ---- */

struct eng_case {
    const char *name;
    const char *status;
    const char *manifest_extra; /* more manifest members: ", \"retries\": {...}" */
    int answered;               /* of 5 requests (the rest missing) */
    int fail;                   /* of the answered: failed with fail_status / fail_msg */
    long fail_status;
    const char *fail_msg;
    int think; /* of the answered: finish length with think_content */
    const char *think_content;
    const char *scores; /* results/scores.json, or NULL */
    unsigned want;
    const char *want_text;
};

#define SIG9                                                                                       \
    "{\"kind\": \"restart\", \"at_utc\": \"2026-12-07T10:00:00Z\", \"signal\": 9, "                \
    "\"exit_status\": null, \"address\": \"http://127.0.0.1:8091\", \"restarts\": 1, "             \
    "\"cause\": \"llama-server died (killed by signal 9); restarted (1 of 3)\"}"
#define CONN_RETRIES                                                                               \
    ", \"retries\": {\"total\": 4, \"by_class\": {\"connection\": {\"count\": 4, \"sample\": "     \
    "\"http://127.0.0.1:8091/v1/chat/completions: Couldn't connect to server\"}}}"

static const struct eng_case eng_cases[] = {
    {"healthy", "done", "", 5, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
    {"OOM seen only in retries", "done",
     ", \"retries\": {\"total\": 9, \"by_class\": {\"oom\": {\"count\": 9, \"sample\": \"CUDA "
     "error: out of memory\"}}}",
     5, 0, 0, NULL, 0, NULL, NULL, BIT(LLEVAL_FIND_OOM),
     "9 attempts got the engine's out-of-memory error and were retried"},
    {"5xx retries that are not OOM are not OOM", "done",
     ", \"retries\": {\"total\": 2, \"by_class\": {\"http_5xx\": {\"count\": 2, \"sample\": "
     "\"busy\"}}}",
     5, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
    {"a managed server killed and restarted", "done",
     ", \"engine_events\": [" SIG9 "]" CONN_RETRIES, 5, 0, 0, NULL, 0, NULL, NULL,
     BIT(LLEVAL_FIND_ENGINE_RESTART),
     "restart: killed by signal 9 (restarts 1) at http://127.0.0.1:8091"},
    {"a managed server given up", "stopped",
     ", \"engine_events\": [{\"kind\": \"died\", \"exit_status\": 1, \"signal\": null, "
     "\"restarts\": 3}]",
     5, 0, 0, NULL, 0, NULL, NULL, BIT(LLEVAL_FIND_ENGINE_RESTART), "launch.max_restarts"},
    {"connection refused stops the run", "stopped",
     ", \"base_url\": \"http://127.0.0.1:11434\", \"last_error\": \"engine unreachable after 5 "
     "consecutive connection failures (http://127.0.0.1:11434/api/chat: Couldn't connect to "
     "server)\"",
     3, 0, 0, NULL, 0, NULL, NULL, BIT(LLEVAL_FIND_CONNECTION) | BIT(LLEVAL_FIND_INCOMPLETE),
     "curl -sS http://127.0.0.1:11434/api/tags\nInvoke-WebRequest http://127.0.0.1:11434/api/tags"},
    {"connection retries alone", "done", CONN_RETRIES, 5, 0, 0, NULL, 0, NULL, NULL,
     BIT(LLEVAL_FIND_CONNECTION),
     "ss -ltnp | grep ':11434'\nTest-NetConnection 127.0.0.1 -Port 11434"},
    {"HTTP 404: wrong endpoint or model", "done", "", 5, 5, 404,
     "the Ollama server replied HTTP 404: model 'm' not found", 0, NULL, NULL,
     BIT(LLEVAL_FIND_NOT_FOUND), "ollama pull m"},
    {"a 404 stop recorded in last_error", "stopped",
     ", \"last_error\": \"engine not found: the first 5 requests got HTTP 404 from 'x'\"", 0, 0, 0,
     NULL, 0, NULL, NULL, BIT(LLEVAL_FIND_NOT_FOUND) | BIT(LLEVAL_FIND_INCOMPLETE),
     "wrong endpoint or model"},
    {"llama-server's context error", "done", "", 5, 2, 400,
     "request (50 tokens) exceeds the available context size (30 tokens), try increasing it", 0,
     NULL, NULL, BIT(LLEVAL_FIND_CONTEXT_EXCEEDED), "context_length 4096 -> 8192"},
    {"OpenAI's context error", "done", "", 5, 1, 400,
     "This model's maximum context length is 8192 tokens (context_length_exceeded)", 0, NULL, NULL,
     BIT(LLEVAL_FIND_CONTEXT_EXCEEDED), "1 request did not fit"},
    {"empty answers: reasoning_content took the tokens", "done", "", 5, 0, 0, NULL, 2, "", NULL,
     BIT(LLEVAL_FIND_REASONING_EMPTY) | BIT(LLEVAL_FIND_TRUNCATION),
     "2 answers spent max_new_tokens on reasoning"},
    {"an unclosed <think> block", "done", "", 5, 0, 0, NULL, 1, "<think>first, step 1", NULL,
     BIT(LLEVAL_FIND_REASONING_EMPTY) | BIT(LLEVAL_FIND_TRUNCATION), "unclosed <think>"},
    {"a closed <think> with an answer is truncation only", "done", "", 5, 0, 0, NULL, 1,
     "<think>a</think>The answer is", NULL, BIT(LLEVAL_FIND_TRUNCATION), NULL},
    {"10 of 10 unreadable MC letters", "done", "", 5, 0, 0, NULL, 0, NULL,
     "{\"groups\": [{\"dataset\": \"mc\", \"overall\": true, \"n\": 10, \"unparseable\": 10}, "
     "{\"dataset\": \"mc\", \"overall\": false, \"n\": 10, \"unparseable\": 10}]}",
     BIT(LLEVAL_FIND_MC_UNREADABLE), "10 of 10 have no letter"},
    {"1 of 10 unreadable MC letters is fine", "done", "", 5, 0, 0, NULL, 0, NULL,
     "{\"groups\": [{\"dataset\": \"mc\", \"overall\": true, \"n\": 10, \"unparseable\": 1}]}", 0,
     NULL},
    {"QA groups have no letters to read", "done", "", 5, 0, 0, NULL, 0, NULL,
     "{\"groups\": [{\"dataset\": \"qa\", \"overall\": true, \"n\": 10, \"unparseable\": null}]}",
     0, NULL},
};

static char *make_engine_run(const char *root, const struct eng_case *c)
{
    char *run = lleval_xasprintf("%s/%s", root, "run");
    struct lleval_sb sb = LLEVAL_SB_INIT, res = LLEVAL_SB_INIT;

    tu_rmtree(run);
    lleval_sb_addf(&sb,
                   "{\"run_id\": \"run\", \"status\": \"%s\", \"engine\": \"ollama\", "
                   "\"model_id\": \"m\", \"max_concurrent_jobs\": 1%s}\n",
                   c->status, c->manifest_extra);
    free(tu_write(run, "manifest.json", sb.buf));
    free(tu_write(run, "config.resolved.yaml",
                  "engine: ollama\nmodel_id: m\ncontext_length: 4096\ntemps: [0.0]\n"
                  "top_k: 40\ntop_p: 0.9\nmax_concurrent_jobs: 1\n"));
    free(tu_write(run, "batches/build.json",
                  "{\"total_requests\": 5, \"parts\": [{\"dataset\": \"ds\", \"temperature\": "
                  "0, \"part\": 1, \"path\": \"ds/t0/part-001.jsonl\", \"requests\": 5}]}\n"));
    lleval_sb_reset(&sb);
    for (int i = 1; i <= 5; i++)
        lleval_sb_addf(&sb,
                       "{\"custom_id\":\"ds:q%d:direct:t0:s0\",\"body\":{\"max_tokens\":64}}\n", i);
    free(tu_write(run, "batches/ds/t0/part-001.jsonl", sb.buf));
    for (int i = 0; i < c->answered; i++) {
        char *cid = lleval_xasprintf("ds:q%d:direct:t0:s0", i + 1);
        if (i < c->fail) {
            add_result(&res, cid, NULL, c->fail_status, "http_error", c->fail_msg);
        } else {
            struct lleval_answer a;
            bool think = i < c->fail + c->think;
            lleval_answer_init(&a);
            a.content = lleval_xstrdup(think ? c->think_content : "an answer");
            a.finish = think ? LLEVAL_FINISH_LENGTH : LLEVAL_FINISH_STOP;
            a.prompt_tokens = 40;
            a.completion_tokens = think ? 64 : 8;
            a.gen_tps = 30;
            add_result(&res, cid, &a, 200, NULL, NULL);
            lleval_answer_release(&a);
        }
        free(cid);
    }
    free(tu_write(run, "results/parts/ds/t0/part-001.jsonl", res.buf));
    if (c->scores)
        free(tu_write(run, "results/scores.json", c->scores));
    lleval_sb_release(&sb);
    lleval_sb_release(&res);
    return run;
}

/* "POSIX\nWINDOWS": the part for this platform (the commands a finding tells a
 * user to type differ); a text without a newline is the same on both. Owned. */
static char *platform_text(const char *text)
{
    const char *nl = text ? strchr(text, '\n') : NULL;
    if (!nl)
        return text ? lleval_xstrdup(text) : NULL;
    return lleval_platform_is_windows() ? lleval_xstrdup(nl + 1)
                                        : lleval_xstrndup(text, (size_t)(nl - text));
}

static void test_engine_rules(void **state)
{
    char *root = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(eng_cases); i++) {
        const struct eng_case *c = &eng_cases[i];
        struct lleval_doctor_opts o = {NULL, 0, NULL};
        struct lleval_doctor_report rep;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *run = make_engine_run(root, c);
        unsigned got = 0;
        char *want_text = platform_text(c->want_text);
        bool said = want_text == NULL;

        print_message("case %s\n", c->name);
        if (lleval_doctor_examine(run, &o, &rep, &err))
            fail_msg("%s: %s", c->name, err.msg);
        for (size_t k = 0; k < rep.n_findings; k++) {
            print_message("  [%s] %s\n", lleval_finding_name(rep.findings[k].kind),
                          rep.findings[k].title);
            got |= BIT(rep.findings[k].kind);
            if (want_text && finding_says(&rep.findings[k], want_text))
                said = true;
        }
        assert_int_equal(got, c->want);
        if (!said)
            fail_msg("no finding says \"%s\"", want_text);
        free(want_text);
        lleval_doctor_report_release(&rep);
        free(run);
    }
    tu_rmtree(root);
    free(root);
}

/* Every finding kind has its own name. */
static void test_names(void **state)
{
    (void)state;
    for (int k = 0; k <= LLEVAL_FIND_MC_UNREADABLE; k++) {
        assert_string_not_equal(lleval_finding_name((enum lleval_finding_kind)k), "?");
        for (int j = 0; j < k; j++)
            assert_string_not_equal(lleval_finding_name((enum lleval_finding_kind)k),
                                    lleval_finding_name((enum lleval_finding_kind)j));
    }
    assert_string_equal(lleval_finding_name(LLEVAL_FIND_NOT_FOUND), "wrong_endpoint");
}

/* A run without its manifest cannot be examined; the error says what is
 * missing. A damaged or newer manifest is an unusable run file: exit 4. */
static void test_unreadable_run(void **state)
{
    static const struct {
        const char *manifest; /* NULL: none */
        int code;
        const char *msg_has;
    } bad[] = {
        {NULL, LLEVAL_EIO, "manifest.json"},
        {"{\"run_id\": \"run\", \"status\": ", LLEVAL_EIO, "invalid JSON"},
        {"{\"run_id\": \"run\", \"status\": \"finished\"}", LLEVAL_EIO, "'status'"},
        {"{\"format_version\": 99}", LLEVAL_EIO, "format_version 99"},
    };
    (void)state;

    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bad); i++) {
        char *root = tu_tmpdir();
        struct lleval_doctor_opts o = {NULL, 0, NULL};
        struct lleval_doctor_report rep;
        struct lleval_err err = LLEVAL_ERR_INIT;
        if (bad[i].manifest)
            free(tu_write(root, "manifest.json", bad[i].manifest));
        assert_int_equal(lleval_doctor_examine(root, &o, &rep, &err), bad[i].code);
        assert_int_equal(err.code, bad[i].code);
        tu_assert_contains(err.msg, bad[i].msg_has);
        assert_null(rep.run_id);
        assert_int_equal(rep.n_findings, 0);
        tu_rmtree(root);
        free(root);
    }
}

/* ---- the facts of the result lines, handed over by parse ---------------------------- */

static void gather_line(void *ud, uint64_t start, uint64_t end, const struct lleval_result_view *v,
                        bool repeated)
{
    lleval_doctor_lines_add(ud, start, end, v, repeated);
}

/* The doctor's report of run as compact JSON text (owned), with lines or without. */
static char *doctor_text(const char *run, const struct lleval_doctor_lines *lines)
{
    struct lleval_doctor_opts o = {NULL, 0, lines};
    struct lleval_doctor_report rep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j;
    char *text;
    if (lleval_doctor_examine(run, &o, &rep, &err))
        fail_msg("%s", err.msg);
    j = lleval_doctor_report_json(&rep);
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    lleval_doctor_report_release(&rep);
    return text;
}

/* Combines run's journals (build.json's parts in order) into
 * results_combined.jsonl as the poll step does, parses it with the doctor's
 * gatherer watching, and checks that the doctor says the same with the
 * gathered facts as by reading the journals itself; usable: whether the facts
 * could be used (else the doctor reads the journals). */
static void check_handover(const char *run, bool usable)
{
    struct lleval_build_result br;
    struct lleval_parse_report prep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb all = LLEVAL_SB_INIT;
    struct lleval_doctor_lines *dl;
    struct lleval_parse_watch watch = {gather_line, NULL};
    char *batches = lleval_xasprintf("%s/batches", run), **journals, *combined, *pred, *alone,
         *handed;
    uint64_t *ends;

    assert_int_equal(lleval_build_load(batches, &br, &err), 0);
    journals = lleval_xcalloc(br.n_parts + 1, sizeof(char *));
    ends = lleval_xcalloc(br.n_parts + 1, sizeof(uint64_t));
    for (size_t i = 0; i < br.n_parts; i++) {
        journals[i] =
            lleval_run_journal_path(run, br.parts[i].folder, br.parts[i].temp, br.parts[i].index);
        if (lleval_path_exists(journals[i])) {
            char *text = tu_read(journals[i]);
            lleval_sb_adds(&all, text);
            free(text);
        }
        ends[i] = all.len;
    }
    combined = tu_write(run, "results/results_combined.jsonl", all.len ? all.buf : "");
    pred = lleval_xasprintf("%s/results/predictions.csv", run);
    dl = lleval_doctor_lines_new(run, journals, ends, br.n_parts);
    watch.ud = dl;
    memset(&prep, 0, sizeof(prep));
    assert_int_equal(
        lleval_parse_results_watched(combined, batches, NULL, pred, &watch, &prep, &err), 0);
    lleval_doctor_lines_reconciled(dl, &prep);
    assert_int_equal(lleval_doctor_lines_usable(dl), usable);
    alone = doctor_text(run, NULL);
    handed = doctor_text(run, dl);
    assert_string_equal(handed, alone);
    free(alone);
    free(handed);
    lleval_doctor_lines_free(dl);
    lleval_parse_report_release(&prep);
    for (size_t i = 0; i < br.n_parts; i++)
        free(journals[i]);
    free(journals);
    free(ends);
    free(combined);
    free(pred);
    free(batches);
    lleval_sb_release(&all);
    lleval_build_result_release(&br);
}

/* A run of two trials (ds at 0 in two parts, ds at 0.5 in one), with
 * failures of every class, an answer repeated across parts, an unknown
 * answer, an empty and a malformed line; torn: part 1's journal lacks its
 * last newline, so its last line runs into part 2's first in the combined
 * file (the facts cannot be used). */
static char *make_multi_run(const char *root, bool torn)
{
    char *run = lleval_xasprintf("%s/%s", root, "run");
    struct lleval_sb sb = LLEVAL_SB_INIT, res = LLEVAL_SB_INIT;
    char t5[16];
    static const struct {
        double temp;
        long index;
        int first, n; /* requests q<first> .. q<first + n - 1> */
    } parts[] = {{0, 1, 1, 3}, {0, 2, 4, 3}, {0.5, 1, 1, 3}};

    lleval_temp_dir(t5, sizeof(t5), 0.5);
    tu_rmtree(run);
    free(tu_write(run, "manifest.json",
                  "{\"run_id\": \"run\", \"status\": \"done\", \"engine\": \"ollama\", "
                  "\"model_id\": \"" M8B "\", \"last_error\": \"\"}\n"));
    free(tu_write(run, "config.resolved.yaml",
                  "engine: ollama\nmodel_id: m\ncontext_length: 4096\ntemps: [0.0, 0.5]\n"
                  "top_k: 40\ntop_p: 0.9\nmax_concurrent_jobs: 2\n"));
    lleval_sb_addf(&sb,
                   "{\"total_requests\": 9, \"parts\": ["
                   "{\"dataset\": \"ds\", \"temperature\": 0, \"part\": 1, \"path\": "
                   "\"ds/t0/part-001.jsonl\", \"requests\": 3}, "
                   "{\"dataset\": \"ds\", \"temperature\": 0, \"part\": 2, \"path\": "
                   "\"ds/t0/part-002.jsonl\", \"requests\": 3}, "
                   "{\"dataset\": \"ds\", \"temperature\": 0.5, \"part\": 1, \"path\": "
                   "\"ds/%s/part-001.jsonl\", \"requests\": 3}]}\n",
                   t5);
    free(tu_write(run, "batches/build.json", sb.buf));
    for (size_t p = 0; p < LLEVAL_ARRAY_SIZE(parts); p++) {
        char *name, *journal, *dir;
        lleval_temp_dir(t5, sizeof(t5), parts[p].temp);
        lleval_sb_reset(&sb);
        for (int i = parts[p].first; i < parts[p].first + parts[p].n; i++)
            lleval_sb_addf(&sb,
                           "{\"custom_id\":\"ds:q%d:direct:%s:s0\",\"body\":{\"max_tokens\":"
                           "64}}\n",
                           i, t5);
        name = lleval_xasprintf("batches/ds/%s/part-%03ld.jsonl", t5, parts[p].index);
        free(tu_write(run, name, sb.buf));
        free(name);
        lleval_sb_reset(&res);
        for (int i = parts[p].first; i < parts[p].first + parts[p].n; i++) {
            char *cid = lleval_xasprintf("ds:q%d:direct:%s:s0", i, t5);
            struct lleval_answer a;
            lleval_answer_init(&a);
            if (i == 2 && p == 0) {
                add_result(&res, cid, NULL, 500, "http_error", "CUDA error: out of memory");
            } else if (i == 5) {
                add_result(&res, cid, NULL, 0, "timeout", "timed out");
            } else if (i == 6) {
                add_result(&res, cid, NULL, 404, "http_error", "model 'm' not found");
            } else if (i == 3 && p == 2) {
                add_result(&res, cid, NULL, 400, "http_error",
                           "request (50 tokens) exceeds the available context size");
            } else {
                a.content = lleval_xstrdup(i == 2 ? "<think>step 1" : "an answer");
                a.finish = i == 1 || i == 2 ? LLEVAL_FINISH_LENGTH : LLEVAL_FINISH_STOP;
                a.prompt_tokens = 30 + i;
                a.completion_tokens = 8;
                a.gen_tps = 10.0 / (double)(i + p);
                add_result(&res, cid, &a, 200, NULL, NULL);
            }
            lleval_answer_release(&a);
            free(cid);
        }
        if (p == 1) { /* a repeated answer, an unknown one, an empty and a malformed line */
            add_result(&res, "ds:q1:direct:t0:s0", NULL, 500, "http_error", "again");
            add_result(&res, "ds:q77:direct:t0:s0", NULL, 400, "http_error", "HTTP 400");
            lleval_sb_adds(&res, "\n{\"custom_id\": \"ds:q4:direct:t0:s0\", \"response\":\n");
        }
        if (torn && p == 0)
            res.buf[--res.len] = '\0';
        journal = lleval_run_journal_path(run, "ds", parts[p].temp, parts[p].index);
        dir = lleval_path_dirname(journal);
        assert_int_equal(lleval_mkdirs(dir, NULL), 0);
        free(tu_write(dir, lleval_path_basename(journal), res.buf));
        free(dir);
        free(journal);
    }
    lleval_sb_release(&sb);
    lleval_sb_release(&res);
    return run;
}

/* The doctor says the same with parse's facts of the lines as by reading the
 * journals itself: every case above, a run of several parts and trials, and
 * one whose facts cannot be used. */
static void test_lines_handover(void **state)
{
    char *root = tu_tmpdir();
    char *run;
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        print_message("case %s\n", cases[i].name);
        run = make_run(root, &cases[i]);
        check_handover(run, true);
        free(run);
    }
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(eng_cases); i++) {
        print_message("case %s\n", eng_cases[i].name);
        run = make_engine_run(root, &eng_cases[i]);
        check_handover(run, true);
        free(run);
    }
    run = make_multi_run(root, false);
    check_handover(run, true);
    free(run);
    run = make_multi_run(root, true);
    check_handover(run, false);
    free(run);
    tu_rmtree(root);
    free(root);
}

/* ---- a run of two models, each with its own problems --------------------------- */

#define MODEL_A "big-13b-q8_0"
#define MODEL_B "small:8b-q4_K_M"

/* One model's journal lines (answers and failures) for requests q1..q<n>:
 * kinds[i] says what request q<i+1> got. */
static void add_model_results(struct lleval_sb *res, const char *model, const char *kinds,
                              double gen_tps)
{
    for (size_t i = 0; kinds[i]; i++) {
        struct lleval_sb cid = LLEVAL_SB_INIT;
        char item[32];
        struct lleval_answer a;
        snprintf(item, sizeof(item), "q%zu", i + 1);
        lleval_cid_encode_model(&cid, model, "ds", item, "direct", 0, 0);
        lleval_answer_init(&a);
        switch (kinds[i]) {
        case 'o': /* out of memory */
            add_result(res, cid.buf, NULL, 500, "http_error", "CUDA error: out of memory");
            break;
        case 'c': /* over the context window */
            add_result(res, cid.buf, NULL, 400, "http_error",
                       "request (9000 tokens) exceeds the available context size");
            break;
        case 'n': /* HTTP 404 */
            add_result(res, cid.buf, NULL, 404, "http_error", "model not found");
            break;
        case 't': /* connection */
            add_result(res, cid.buf, NULL, 0, "connection_error", "connection refused");
            break;
        default: /* 'a' an answer, 'r' reasoning that ran into max_tokens */
            a.content = lleval_xstrdup(kinds[i] == 'r' ? "" : "an answer");
            a.finish = kinds[i] == 'r' ? LLEVAL_FINISH_LENGTH : LLEVAL_FINISH_STOP;
            a.prompt_tokens = 40;
            a.completion_tokens = 8;
            a.gen_tps = gen_tps;
            add_result(res, cid.buf, &a, 200, NULL, NULL);
        }
        lleval_answer_release(&a);
        lleval_sb_release(&cid);
    }
}

/* A run of models A (a 13B q8_0: out of memory, over the context, a GPU near
 * its memory and hot, its managed server restarted) and B (an 8B on its own
 * concurrency: slow, an HTTP 404, a connection failure, answers spent on
 * reasoning, unreadable letters, an underused GPU); every request answered. */
static char *make_two_model_run(const char *root)
{
    static const struct {
        const char *model, *kinds, *gpu;
        double gen_tps;
    } models[] = {
        {MODEL_A, "aoaocaa",
         "{\"memory_used_peak_mib\": 15950, \"memory_total_mib\": 16303, "
         "\"utilization_mean_pct\": 90, \"temperature_peak_c\": 91}",
         30},
        {MODEL_B, "aarnatraaa",
         "{\"memory_used_peak_mib\": 9000, \"memory_total_mib\": 16303, "
         "\"utilization_mean_pct\": 30, \"temperature_peak_c\": 60}",
         3},
    };
    char *run = lleval_xasprintf("%s/%s", root, "run");
    char *batches = lleval_xasprintf("%s/batches", run);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_build_result br;
    struct lleval_err err = LLEVAL_ERR_INIT;

    tu_rmtree(run);
    free(tu_write(run, "manifest.json",
                  "{\"run_id\": \"run\", \"status\": \"done\", \"engine\": \"ollama\", "
                  "\"model_id\": \"" MODEL_A "\", \"last_error\": \"\", \"engine_events\": "
                  "[{\"kind\": \"restart\", \"at_utc\": \"2026-12-07T10:00:00Z\", \"signal\": 9, "
                  "\"exit_status\": null, \"address\": \"http://127.0.0.1:8091\", "
                  "\"restarts\": 1, \"cause\": \"killed\", \"model\": \"" MODEL_A "\"}]}\n"));
    free(tu_write(run, "config.resolved.yaml",
                  "engine: ollama\nmodels:\n  - id: " MODEL_A "\n  - id: \"" MODEL_B "\"\n"
                  "    max_concurrent_jobs: 4\ncontext_length: 8192\ntemps: [0.0]\n"
                  "top_k: 40\ntop_p: 0.9\nmax_concurrent_jobs: 2\n"));
    free(tu_write(run, "results/scores.json",
                  "{\"groups\": [{\"model\": \"" MODEL_A "\", \"dataset\": \"mc\", \"overall\": "
                  "true, \"n\": 10, \"unparseable\": 0}, {\"model\": \"" MODEL_B "\", "
                  "\"dataset\": \"mc\", \"overall\": true, \"n\": 10, \"unparseable\": 5}]}\n"));
    lleval_sb_adds(&sb, "{\"total_requests\": 17, \"parts\": [");
    for (size_t m = 0; m < LLEVAL_ARRAY_SIZE(models); m++) {
        char *folder = lleval_trial_folder(models[m].model, "ds");
        lleval_sb_addf(&sb,
                       "%s{\"model\": \"%s\", \"dataset\": \"ds\", \"temperature\": 0, \"part\": "
                       "1, \"path\": \"%s/t0/part-001.jsonl\", \"requests\": %zu}",
                       m ? ", " : "", models[m].model, folder, strlen(models[m].kinds));
        free(folder);
    }
    lleval_sb_adds(&sb, "]}\n");
    free(tu_write(run, "batches/build.json", sb.buf));
    assert_int_equal(lleval_build_load(batches, &br, &err), 0);
    assert_int_equal(br.n_parts, 2);
    for (size_t m = 0; m < br.n_parts; m++) {
        const struct lleval_part_info *pi = &br.parts[m];
        char *journal = lleval_run_journal_path(run, pi->folder, pi->temp, pi->index);
        char *state = lleval_run_state_path(run, pi->folder, pi->temp, pi->index);
        char *dir;
        lleval_sb_reset(&sb);
        for (size_t i = 0; models[m].kinds[i]; i++) {
            struct lleval_sb cid = LLEVAL_SB_INIT;
            char item[32];
            snprintf(item, sizeof(item), "q%zu", i + 1);
            lleval_cid_encode_model(&cid, pi->model, "ds", item, "direct", 0, 0);
            lleval_sb_addf(&sb, "{\"custom_id\":\"%s\",\"body\":{\"max_tokens\":64}}\n", cid.buf);
            lleval_sb_release(&cid);
        }
        dir = lleval_path_dirname(pi->batch_path);
        assert_int_equal(lleval_mkdirs(dir, NULL), 0);
        free(tu_write(dir, lleval_path_basename(pi->batch_path), sb.buf));
        free(dir);
        lleval_sb_reset(&sb);
        add_model_results(&sb, pi->model, models[m].kinds, models[m].gen_tps);
        dir = lleval_path_dirname(journal);
        assert_int_equal(lleval_mkdirs(dir, NULL), 0);
        free(tu_write(dir, lleval_path_basename(journal), sb.buf));
        free(dir);
        lleval_sb_reset(&sb);
        lleval_sb_addf(&sb, "{\"telemetry\": {\"gpu\": %s}}\n", models[m].gpu);
        dir = lleval_path_dirname(state);
        assert_int_equal(lleval_mkdirs(dir, NULL), 0);
        free(tu_write(dir, lleval_path_basename(state), sb.buf));
        free(dir);
        free(journal);
        free(state);
    }
    lleval_build_result_release(&br);
    lleval_sb_release(&sb);
    free(batches);
    return run;
}

/* The finding of kind about model (NULL: none of that kind and model is wanted). */
static const struct lleval_finding *finding_of(const struct lleval_doctor_report *rep,
                                               enum lleval_finding_kind kind, const char *model)
{
    for (size_t i = 0; i < rep->n_findings; i++)
        if (rep->findings[i].kind == kind && rep->findings[i].model &&
            !strcmp(rep->findings[i].model, model))
            return &rep->findings[i];
    return NULL;
}

static bool fix_says(const struct lleval_finding *f, const char *text)
{
    for (size_t i = 0; i < f->n_fixes; i++)
        if (strstr(f->fixes[i], text))
            return true;
    return false;
}

/* Each finding of a run of two models names the model it is about, and its
 * fixes that name a model (quantization, a smaller model, ollama pull, the
 * concurrency) are that model's; the facts list both models. */
static void test_two_models(void **state)
{
    static const struct {
        enum lleval_finding_kind kind;
        const char *model;
        const char *text; /* in its fixes, or NULL */
    } want[] = {
        {LLEVAL_FIND_OOM, MODEL_A,
         "lower the quantization: model_id " MODEL_A " (q8_0) -> the Q6_K build"},
        {LLEVAL_FIND_OOM, MODEL_A, "switch to an 8B model"},
        {LLEVAL_FIND_OOM, MODEL_A, "max_concurrent_jobs 2 -> 1"},
        {LLEVAL_FIND_MEMORY_NEAR_LIMIT, MODEL_A, "(q8_0) -> the Q6_K build"},
        {LLEVAL_FIND_HIGH_TEMPERATURE, MODEL_A, "max_concurrent_jobs 2 -> 1 to lower the load"},
        {LLEVAL_FIND_ENGINE_RESTART, MODEL_A, "journalctl"},
        {LLEVAL_FIND_CONTEXT_EXCEEDED, MODEL_A, "context_length 8192 -> 16384"},
        {LLEVAL_FIND_SLOW, MODEL_B, NULL},
        {LLEVAL_FIND_LOW_UTILIZATION, MODEL_B, NULL},
        {LLEVAL_FIND_TRUNCATION, MODEL_B, NULL},
        {LLEVAL_FIND_CONNECTION, MODEL_B, "ollama pull " MODEL_B},
        {LLEVAL_FIND_NOT_FOUND, MODEL_B, "ollama pull " MODEL_B},
        {LLEVAL_FIND_REASONING_EMPTY, MODEL_B, NULL},
        {LLEVAL_FIND_MC_UNREADABLE, MODEL_B, NULL},
    };
    char *root = tu_tmpdir();
    char *run = make_two_model_run(root);
    struct lleval_doctor_opts o = {NULL, 0, NULL};
    struct lleval_doctor_report rep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *facts, *ms, *j;
    size_t n_kinds = 0;
    (void)state;

    assert_int_equal(lleval_doctor_examine(run, &o, &rep, &err), 0);
    for (size_t k = 0; k < rep.n_findings; k++)
        print_message("  [%s] %s\n", lleval_finding_name(rep.findings[k].kind),
                      rep.findings[k].title);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(want); i++) {
        const struct lleval_finding *f = finding_of(&rep, want[i].kind, want[i].model);
        char *named;
        if (!f)
            fail_msg("no %s finding about %s", lleval_finding_name(want[i].kind), want[i].model);
        /* the title names the model: "model <id>: ...", or a trial "<id>/ds/t0" */
        named = lleval_xasprintf(
            want[i].kind == LLEVAL_FIND_TRUNCATION ? "in %s/ds/t0:" : "model %s: ", want[i].model);
        if (want[i].kind == LLEVAL_FIND_TRUNCATION ? !strstr(f->title, named)
                                                   : strncmp(f->title, named, strlen(named)))
            fail_msg("%s does not name %s: %s", lleval_finding_name(want[i].kind), want[i].model,
                     f->title);
        free(named);
        if (want[i].text && !fix_says(f, want[i].text))
            fail_msg("%s of %s: no fix says \"%s\"", lleval_finding_name(want[i].kind),
                     want[i].model, want[i].text);
    }
    /* every finding is one of those: none about the other model, none without a model */
    for (size_t k = 0; k < rep.n_findings; k++) {
        const struct lleval_finding *f = &rep.findings[k];
        bool wanted = false;
        for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(want); i++)
            wanted |= f->kind == want[i].kind && f->model && !strcmp(f->model, want[i].model);
        if (!wanted)
            fail_msg("unexpected finding [%s] %s", lleval_finding_name(f->kind), f->title);
        /* a fix of A names no B and the other way round */
        for (size_t i = 0; i < f->n_fixes; i++)
            if (strstr(f->fixes[i], strcmp(f->model, MODEL_A) ? MODEL_A : MODEL_B))
                fail_msg("a fix of %s names the other model: %s", f->model, f->fixes[i]);
        n_kinds++;
    }
    assert_int_equal(n_kinds, 12);
    /* the slow model is B at 3 tokens/s, by the 8B figure; A's 30 is fine */
    assert_non_null(strstr(finding_of(&rep, LLEVAL_FIND_SLOW, MODEL_B)->title,
                           "3.0 tokens/s on average, under the guide's 15-25 tokens/s"));
    /* the counts are each model's own */
    assert_non_null(strstr(finding_of(&rep, LLEVAL_FIND_OOM, MODEL_A)->title,
                           "out of memory: 2 requests failed"));
    assert_non_null(strstr(finding_of(&rep, LLEVAL_FIND_MC_UNREADABLE, MODEL_B)->title,
                           "5 of 10 have no letter"));

    /* the facts: the run-wide counts as before, model_id the first model, and each model's */
    facts = rep.facts;
    assert_string_equal(json_string_value(json_object_get(facts, "model_id")), MODEL_A);
    assert_int_equal(json_integer_value(json_object_get(facts, "requests")), 17);
    assert_int_equal(json_integer_value(json_object_get(facts, "oom_errors")), 2);
    assert_int_equal(json_integer_value(json_object_get(facts, "not_found_errors")), 1);
    ms = json_object_get(facts, "models");
    assert_int_equal(json_array_size(ms), 2);
    j = json_array_get(ms, 0);
    assert_string_equal(json_string_value(json_object_get(j, "model_id")), MODEL_A);
    assert_int_equal(json_integer_value(json_object_get(j, "requests")), 7);
    assert_int_equal(json_integer_value(json_object_get(j, "oom_errors")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "context_errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "not_found_errors")), 0);
    assert_true(json_real_value(json_object_get(j, "gen_tps_mean")) == 30.0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "trials"), 0)),
                        MODEL_A "/ds/t0");
    j = json_array_get(ms, 1);
    assert_string_equal(json_string_value(json_object_get(j, "model_id")), MODEL_B);
    assert_int_equal(json_integer_value(json_object_get(j, "requests")), 10);
    assert_int_equal(json_integer_value(json_object_get(j, "answered")), 10);
    assert_int_equal(json_integer_value(json_object_get(j, "ok")), 8);
    assert_int_equal(json_integer_value(json_object_get(j, "oom_errors")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "connection_errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "reasoning_only")), 2);
    assert_true(json_real_value(
                    json_object_get(json_object_get(j, "gpu"), "utilization_mean_pct")) == 30.0);
    /* --json: each finding carries its model */
    j = lleval_doctor_report_json(&rep);
    for (size_t k = 0; k < rep.n_findings; k++)
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(j, "findings"), k), "model")),
                            rep.findings[k].model);
    json_decref(j);
    lleval_doctor_report_release(&rep);
    /* the same with the parse step's facts of the lines */
    check_handover(run, true);
    tu_rmtree(root);
    free(run);
    free(root);
}

/* A run of two models that stopped on HTTP 404s: the stop is the model its
 * message names (the poll's "model_id '<id>'", the probe's "('<id>'): "). */
static void test_two_models_404_stop(void **state)
{
    static const struct {
        const char *last_error;
        const char *model; /* the wrong_endpoint finding with the stop's evidence */
        int findings;      /* wrong_endpoint findings */
    } stops[] = {
        {"engine not found: the first 3 requests got HTTP 404 from 'http://127.0.0.1:11434' "
         "(model not found); the model_id '" MODEL_B "' or the base_url is wrong",
         MODEL_B, 1},
        {"model 1 of 2 ('" MODEL_A "'): engine not found: HTTP 404 from the server", MODEL_A, 2},
        {"engine not found: HTTP 404 for the model_id 'another'", NULL, 2},
    };
    char *root = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(stops); i++) {
        char *run = make_two_model_run(root);
        char *manifest = lleval_xasprintf("{\"run_id\": \"run\", \"status\": \"stopped\", "
                                          "\"engine\": \"ollama\", \"model_id\": \"" MODEL_A
                                          "\", \"last_error\": \"%s\"}\n",
                                          stops[i].last_error);
        struct lleval_doctor_opts o = {NULL, 0, NULL};
        struct lleval_doctor_report rep;
        struct lleval_err err = LLEVAL_ERR_INIT;
        int n = 0;
        const struct lleval_finding *told = NULL;

        free(tu_write(run, "manifest.json", manifest));
        assert_int_equal(lleval_doctor_examine(run, &o, &rep, &err), 0);
        for (size_t k = 0; k < rep.n_findings; k++) {
            const struct lleval_finding *f = &rep.findings[k];
            if (f->kind != LLEVAL_FIND_NOT_FOUND)
                continue;
            n++;
            print_message("  [%s] %s\n", lleval_finding_name(f->kind), f->title);
            if (finding_says(f, "manifest last_error"))
                told = f;
        }
        assert_int_equal(n, stops[i].findings);
        assert_non_null(told);
        if (stops[i].model) {
            char *pull = lleval_xasprintf("ollama pull %s", stops[i].model);
            assert_string_equal(told->model, stops[i].model);
            assert_true(fix_says(told, pull));
            free(pull);
        } else { /* a model the run does not have: the run's finding, naming none */
            assert_null(told->model);
            assert_true(fix_says(told, "ollama pull <model_id>"));
        }
        lleval_doctor_report_release(&rep);
        free(manifest);
        free(run);
    }
    tu_rmtree(root);
    free(root);
}

/* A run of one model: no finding carries a model, the facts no "models". */
static void test_one_model_unnamed(void **state)
{
    char *root = tu_tmpdir();
    char *run = make_run(root, &cases[7]); /* OOM */
    struct lleval_doctor_opts o = {NULL, 0, NULL};
    struct lleval_doctor_report rep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j;
    (void)state;

    assert_int_equal(lleval_doctor_examine(run, &o, &rep, &err), 0);
    assert_true(rep.n_findings > 0);
    for (size_t k = 0; k < rep.n_findings; k++) {
        assert_null(rep.findings[k].model);
        assert_null(strstr(rep.findings[k].title, "model "));
    }
    assert_null(json_object_get(rep.facts, "models"));
    j = lleval_doctor_report_json(&rep);
    assert_null(json_object_get(json_array_get(json_object_get(j, "findings"), 0), "model"));
    json_decref(j);
    lleval_doctor_report_release(&rep);
    tu_rmtree(root);
    free(run);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_facts),
        cmocka_unit_test(test_engine_rules),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_unreadable_run),
        cmocka_unit_test(test_lines_handover),
        cmocka_unit_test(test_two_models),
        cmocka_unit_test(test_two_models_404_stop),
        cmocka_unit_test(test_one_model_unnamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
