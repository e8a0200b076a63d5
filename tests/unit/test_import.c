/*
 * Unit tests for `lleval import` (lib/run/import.c): the conversion of
 * OpenAI batch output lines into result lines (answers, the service's
 * errors, non-2xx replies, bodies that are no reply, malformed lines, a
 * secret redacted), and lleval_import_results on a dry run built to its
 * batches: counts, duplicates in the file and in the journals, unknown ids,
 * a malformed file that writes nothing, a run without batches and no run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/run/import.h"
#include "lleval/run/run.h"
#include "lleval/run/rundir.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"

/* ---- conversion ------------------------------------------------------------ */

#define OKBODY(content, finish)                                                                    \
    "{\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":"             \
    "\"assistant\",\"content\":" content "},\"finish_reason\":\"" finish "\"}],\"usage\":"         \
    "{\"prompt_tokens\":11,\"completion_tokens\":3}}"

struct conv_case {
    const char *name;
    const char *line;
    /* expected: NULL want_err means a result line */
    const char *want_err;
    bool want_ok;
    const char *want_content;
    const char *want_finish; /* lleval.finish_reason */
    long want_status;
    const char *want_code, *want_msg; /* fragments of the error */
};

static const struct conv_case conv_cases[] = {
    {"an answer",
     "{\"id\":\"b1\",\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"request_id\":\"r\","
     "\"body\":" OKBODY("\"Paris\"", "stop") "},\"error\":null}",
     NULL, true, "Paris", "stop", 200, NULL, NULL},
    {"a truncated answer",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":" OKBODY("\"Par\"",
                                                                               "length") "}}",
     NULL, true, "Par", "length", 200, NULL, NULL},
    {"a null content is an empty answer",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":" OKBODY("null", "stop") "}}",
     NULL, true, "", "stop", 200, NULL, NULL},
    {"the service's error, no response",
     "{\"custom_id\":\"a\",\"response\":null,\"error\":{\"code\":\"batch_expired\",\"message\":"
     "\"This request could not be executed before the completion window expired.\"}}",
     NULL, false, NULL, "error", 0, "batch_expired", "completion window expired"},
    {"lleval's own failed line (status 0, body null)",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":0,\"body\":null},\"error\":"
     "{\"code\":\"timeout\",\"message\":\"no reply in 600 s\"},\"lleval\":{}}",
     NULL, false, NULL, "error", 0, "timeout", "no reply in 600 s"},
    {"an error without code or message", "{\"custom_id\":\"a\",\"response\":null,\"error\":{}}",
     NULL, false, NULL, "error", 0, "batch_error", "reported an error"},
    {"a 400 with its error in the body",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":400,\"body\":{\"error\":{\"message\":"
     "\"maximum context length is 8192 tokens\",\"type\":\"invalid_request_error\",\"code\":"
     "\"context_length_exceeded\"}}},\"error\":null}",
     NULL, false, NULL, "error", 400, "context_length_exceeded", "HTTP 400: maximum context"},
    {"a 500 without an error object",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":500,\"body\":{\"detail\":\"boom\"}},"
     "\"error\":null}",
     NULL, false, NULL, "error", 500, "http_500", "HTTP 500"},
    {"a 200 whose body has no choices",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{\"object\":\"x\"}}}", NULL,
     false, NULL, "error", 200, "invalid_reply", "no choices"},
    {"not an object", "[1,2]", "not a JSON object", false, NULL, NULL, 0, NULL, NULL},
    {"no custom_id", "{\"response\":null,\"error\":{\"code\":\"x\"}}", "no custom_id", false, NULL,
     NULL, 0, NULL, NULL},
    {"an empty custom_id", "{\"custom_id\":\"\",\"error\":{}}", "no custom_id", false, NULL, NULL,
     0, NULL, NULL},
    {"a custom_id that is a number", "{\"custom_id\":7,\"error\":{}}", "no custom_id", false, NULL,
     NULL, 0, NULL, NULL},
    {"a response that is a string", "{\"custom_id\":\"a\",\"response\":\"ok\"}",
     "'response' is a string", false, NULL, NULL, 0, NULL, NULL},
    {"an error that is a string", "{\"custom_id\":\"a\",\"response\":null,\"error\":\"bad\"}",
     "'error' is a string", false, NULL, NULL, 0, NULL, NULL},
    {"neither response nor error", "{\"custom_id\":\"a\",\"response\":null,\"error\":null}",
     "neither a 'response' nor an 'error'", false, NULL, NULL, 0, NULL, NULL},
    {"a status_code that is a string",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":\"200\",\"body\":{}}}",
     "'response.status_code' is a string", false, NULL, NULL, 0, NULL, NULL},
    {"a status_code out of range", "{\"custom_id\":\"a\",\"response\":{\"status_code\":7}}",
     "not an HTTP status", false, NULL, NULL, 0, NULL, NULL},
    {"a 200 without a body", "{\"custom_id\":\"a\",\"response\":{\"status_code\":200}}",
     "'response.body' is", false, NULL, NULL, 0, NULL, NULL},
};

static void test_convert(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(conv_cases) / sizeof(conv_cases[0]); i++) {
        const struct conv_case *c = &conv_cases[i];
        struct lleval_err err = LLEVAL_ERR_INIT;
        struct lleval_result_view v;
        json_error_t jerr;
        json_t *in = json_loads(c->line, 0, &jerr), *out;

        print_message("case: %s\n", c->name);
        assert_non_null(in);
        out = lleval_import_convert(in, &err);
        if (c->want_err) {
            assert_null(out);
            assert_int_equal(err.code, LLEVAL_EINVAL);
            if (!strstr(err.msg, c->want_err))
                print_error("'%s' not in '%s'\n", c->want_err, err.msg);
            assert_non_null(strstr(err.msg, c->want_err));
            json_decref(in);
            continue;
        }
        assert_non_null(out);
        assert_int_equal(lleval_result_decode(out, &v, NULL), 0);
        assert_string_equal(v.custom_id, "a");
        assert_int_equal(v.ok, c->want_ok);
        assert_int_equal(v.failed, !c->want_ok);
        assert_int_equal(v.http_status, c->want_status);
        assert_string_equal(v.finish_reason, c->want_finish);
        assert_string_equal(v.engine, "import");
        if (c->want_ok) {
            assert_string_equal(v.content, c->want_content);
            assert_int_equal(v.prompt_tokens, 11);
            assert_int_equal(v.completion_tokens, 3);
        } else {
            assert_string_equal(v.error_code, c->want_code);
            if (!strstr(v.error_message, c->want_msg))
                print_error("'%s' not in '%s'\n", c->want_msg, v.error_message);
            assert_non_null(strstr(v.error_message, c->want_msg));
        }
        json_decref(out);
        json_decref(in);
    }
}

/* An answer or an error text that echoes a secret is written redacted. */
static void test_convert_redacts(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *secret = "sk-import-secret-0123456789";
    char *line = lleval_xasprintf("{\"custom_id\":\"a\",\"response\":null,\"error\":{\"code\":"
                                  "\"invalid_api_key\",\"message\":\"bad key %s\"}}",
                                  secret);
    json_t *in = json_loads(line, 0, NULL), *out;
    char *text;
    (void)state;
    lleval_redact_add(secret);
    out = lleval_import_convert(in, &err);
    assert_non_null(out);
    text = json_dumps(out, 0);
    assert_null(strstr(text, secret));
    assert_non_null(strstr(text, "bad key"));
    lleval_redact_clear();
    free(text);
    free(line);
    json_decref(in);
    json_decref(out);
}

/* ---- lleval_import_results on a dry run --------------------------------------- */

struct fixture {
    char *dir, *runs_dir;
    struct lleval_config cfg;
};

static int setup(void **state)
{
    struct fixture *f = lleval_xcalloc(1, sizeof(*f));
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_run_opts o;
    struct lleval_run_result res;
    char *yaml, *path;

    f->dir = tu_tmpdir();
    f->runs_dir = lleval_path_join(f->dir, "runs");
    yaml = lleval_xasprintf(
        "engine: dry\nmodel_id: dry-model\ntemps: [0.0]\nlimit_items: 3\n"
        "datasets:\n"
        "  - {name: sample_closed, format: nq_open, path: %s/examples/data/closed_book.jsonl}\n"
        "paths:\n  prepared_dir: %s/prepared\n  runs_dir: %s\n  batches_dir: %s/batches\n",
        LLEVAL_SOURCE_DIR, f->dir, f->runs_dir, f->dir);
    path = tu_write(f->dir, "eval.yaml", yaml);
    lleval_config_init(&f->cfg);
    if (lleval_config_load_file(&f->cfg, path, &err) || lleval_config_validate(&f->cfg, &err)) {
        print_error("config: %s\n", err.msg);
        return -1;
    }
    lleval_run_opts_init(&o);
    o.run_id = "r";
    o.to_step = LLEVAL_STEP_BUILD;
    if (lleval_run_execute(&f->cfg, &o, &res, &err)) {
        print_error("build: %s\n", err.msg);
        return -1;
    }
    lleval_run_result_release(&res);
    free(yaml);
    free(path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    lleval_config_release(&f->cfg);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->runs_dir);
    free(f);
    return 0;
}

/* One OpenAI batch output line answering id with text. */
static char *answer_line(const char *id, const char *text)
{
    return lleval_xasprintf("{\"custom_id\":\"%s\",\"response\":{\"status_code\":200,\"body\":"
                            "{\"choices\":[{\"message\":{\"content\":\"%s\"},\"finish_reason\":"
                            "\"stop\"}]}},\"error\":null}\n",
                            id, text);
}

/* The run's journal text (the one part of sample_closed). */
static char *journal(const struct fixture *f)
{
    char *p = lleval_path_join(f->runs_dir, "r/results/parts/sample_closed/t0/part-001.jsonl");
    char *text = lleval_path_exists(p) ? tu_read(p) : lleval_xstrdup("");
    free(p);
    return text;
}

static char *write_file(const struct fixture *f, const char *name, const char *const *lines)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char *path;
    for (size_t i = 0; lines[i]; i++)
        lleval_sb_adds(&sb, lines[i]);
    path = tu_write(f->dir, name, sb.buf);
    lleval_sb_release(&sb);
    return path;
}

#define ID(n) "sample_closed:nq-0000" #n ":direct:t0:s0"

static void test_import(void **state)
{
    struct fixture *f = *state;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_import_stats st;
    char *a3 = answer_line(ID(3), "three"), *a1 = answer_line(ID(1), "one");
    char *a1b = answer_line(ID(1), "other"), *ux = answer_line("nope", "x");
    const char *const lines[] = {a3, "\n", a1, a1b, ux, NULL};
    char *path = write_file(f, "out.jsonl", lines), *j;

    lleval_import_stats_init(&st);
    assert_int_equal(lleval_import_results(f->runs_dir, "r", path, &st, &err), 0);
    assert_int_equal(st.lines, 4);
    assert_int_equal(st.imported, 2);
    assert_int_equal(st.ok, 2);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.duplicates, 1); /* the second line of ID(1) */
    assert_string_equal(st.first_duplicate, ID(1));
    assert_int_equal(st.unknown, 1);
    assert_string_equal(st.first_unknown, "nope");
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.answered, 2);
    lleval_import_stats_release(&st);
    j = journal(f);
    assert_non_null(strstr(j, "\"three\""));
    assert_non_null(strstr(j, "\"one\""));
    assert_null(strstr(j, "\"other\"")); /* the first line of an id wins */

    /* again: every known line is a duplicate, nothing is written */
    lleval_import_stats_init(&st);
    assert_int_equal(lleval_import_results(f->runs_dir, "r", path, &st, &err), 0);
    assert_int_equal(st.imported, 0);
    assert_int_equal(st.duplicates, 3);
    assert_int_equal(st.answered, 2);
    lleval_import_stats_release(&st);
    {
        char *again = journal(f);
        assert_string_equal(again, j);
        free(again);
    }
    free(j);
    free(path);
    free(a3);
    free(a1);
    free(a1b);
    free(ux);
}

/* A malformed line anywhere: LLEVAL_EINVAL naming file:line, nothing written. */
static void test_import_malformed(void **state)
{
    struct fixture *f = *state;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_import_stats st;
    char *a2 = answer_line(ID(2), "two");
    const char *const lines[] = {a2, "{\"custom_id\":\"" ID(1) "\",\"response\":5}\n", NULL};
    char *path = write_file(f, "bad.jsonl", lines), *want, *j;

    lleval_import_stats_init(&st);
    assert_int_equal(lleval_import_results(f->runs_dir, "r", path, &st, &err), LLEVAL_EINVAL);
    want = lleval_xasprintf("%s:2: 'response' is a number", path);
    if (!strstr(err.msg, want))
        print_error("'%s' not in '%s'\n", want, err.msg);
    assert_non_null(strstr(err.msg, want));
    assert_int_equal(st.imported, 0);
    lleval_import_stats_release(&st);
    j = journal(f);
    assert_string_equal(j, "");
    free(j);
    free(want);
    free(path);
    free(a2);
}

static void test_import_no_run(void **state)
{
    struct fixture *f = *state;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_import_stats st;
    char *empty = lleval_path_join(f->runs_dir, "empty");
    char *path = tu_write(f->dir, "x.jsonl", "");

    lleval_import_stats_init(&st);
    assert_int_equal(lleval_import_results(f->runs_dir, "nope", path, &st, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "no run 'nope'"));
    assert_int_equal(lleval_import_results(f->runs_dir, "../r", path, &st, &err), LLEVAL_EINVAL);
    assert_int_equal(lleval_mkdirs(empty, &err), 0);
    assert_int_equal(lleval_import_results(f->runs_dir, "empty", path, &st, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "has no batches yet"));
    lleval_import_stats_release(&st);
    free(empty);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert),
        cmocka_unit_test(test_convert_redacts),
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_no_run, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
