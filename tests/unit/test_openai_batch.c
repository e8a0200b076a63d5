/*
 * Unit tests for the openai_batch provider (lib/engine/openai_batch.c) and
 * the shared batch pieces (lib/engine/batchapi.c): the requests built from a
 * job's state (upload, create, status, downloads, cancel, the lookups after
 * a crash), the replies read back into the job (ids, statuses, counts,
 * files, errors), reply classification, error-file lines of requests never
 * run, and the job's JSON form in state.json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/engine/batchapi.h"
#include "lleval/util/util.h"

static const struct lleval_batch_provider *pv(void)
{
    return lleval_batch_provider_for(LLEVAL_ENGINE_OPENAI_BATCH);
}

struct fixture {
    struct lleval_config cfg;
    struct lleval_batch_ctx c;
    struct lleval_bjob j;
};

static int setup(void **state)
{
    struct fixture *f = lleval_xcalloc(1, sizeof(*f));
    lleval_config_init(&f->cfg);
    f->c.cfg = &f->cfg;
    f->c.base_url = "http://127.0.0.1:9/v1";
    f->c.api_key = "sk-unit";
    f->c.run_id = "r1";
    f->c.part = "ds/t0/part-001";
    f->c.model = "gpt-4o-mini";
    f->c.run_dir = "/runs/r1";
    lleval_bjob_init(&f->j);
    f->j.provider = lleval_xstrdup("openai_batch");
    f->j.input = lleval_xstrdup("batches/ds/t0/part-001.jsonl");
    f->j.upload_name = lleval_xstrdup("lleval-r1-ds-t0-part-001-a1.jsonl");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    lleval_bjob_release(&f->j);
    lleval_config_release(&f->cfg);
    free(f);
    return 0;
}

/* next() on the fixture's job: the action, with the request in *r (init here). */
static int next(struct fixture *f, struct lleval_batch_request *r)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    lleval_batch_request_init(r);
    return pv()->next(&f->c, &f->j, r, &err);
}

static enum lleval_batch_verdict reply(struct fixture *f, const struct lleval_batch_request *r,
                                       long status, const char *body)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    return pv()->reply(&f->c, &f->j, r, status, body, body ? strlen(body) : 0, &err);
}

static bool has_header(const struct lleval_batch_request *r, const char *line)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcmp(r->headers[i], line))
            return true;
    return false;
}

#define BATCH(id, status, extra)                                                                   \
    "{\"id\":\"" id "\",\"object\":\"batch\",\"endpoint\":\"/v1/chat/completions\","               \
    "\"input_file_id\":\"file-in\",\"completion_window\":\"24h\",\"status\":\"" status "\"" extra  \
    "}"

static void test_whole_life(void **state)
{
    struct fixture *f = *state;
    struct lleval_batch_request r;
    json_t *body;

    /* upload: multipart purpose=batch + the part file, recorded as uploading first */
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_HTTP);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_UPLOADING);
    assert_string_equal(r.step, "upload");
    assert_int_equal(r.method, LLEVAL_BATCH_POST);
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/files");
    assert_int_equal(r.n_form, 1);
    assert_string_equal(r.form_names[0], "purpose");
    assert_string_equal(r.form_values[0], "batch");
    assert_string_equal(r.upload_path, "/runs/r1/batches/ds/t0/part-001.jsonl");
    assert_string_equal(r.upload_field, "file");
    assert_string_equal(r.upload_name, "lleval-r1-ds-t0-part-001-a1.jsonl");
    assert_true(has_header(&r, "Authorization: Bearer sk-unit"));
    assert_int_equal(reply(f, &r, 200,
                           "{\"id\":\"file-in\",\"object\":\"file\",\"purpose\":"
                           "\"batch\",\"filename\":\"x\",\"bytes\":10}"),
                     LLEVAL_BATCH_OK);
    assert_string_equal(f->j.input_id, "file-in");
    assert_int_equal(f->j.phase, LLEVAL_BJOB_UPLOADED);
    lleval_batch_request_release(&r);

    /* create: the reference's fields, recorded as creating first */
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_HTTP);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_CREATING);
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/batches");
    body = json_loads(r.body, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "input_file_id")), "file-in");
    assert_string_equal(json_string_value(json_object_get(body, "endpoint")),
                        "/v1/chat/completions");
    assert_string_equal(json_string_value(json_object_get(body, "completion_window")), "24h");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(body, "metadata"), "lleval_part")),
        "ds/t0/part-001");
    json_decref(body);
    assert_true(has_header(&r, "Content-Type: application/json"));
    assert_int_equal(reply(f, &r, 200, BATCH("batch_1", "validating", "")), LLEVAL_BATCH_OK);
    assert_string_equal(f->j.job_id, "batch_1");
    assert_int_equal(f->j.phase, LLEVAL_BJOB_SUBMITTED);
    assert_int_equal(f->j.status, LLEVAL_BJOB_S_VALIDATING);
    lleval_batch_request_release(&r);

    /* status: a poll; in progress with counts */
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_POLL);
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/batches/batch_1");
    assert_int_equal(r.method, LLEVAL_BATCH_GET);
    assert_int_equal(
        reply(f, &r, 200,
              BATCH("batch_1", "in_progress",
                    ",\"request_counts\":{\"total\":10,\"completed\":4,\"failed\":1}")),
        LLEVAL_BATCH_OK);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_SUBMITTED);
    assert_int_equal(f->j.total, 10);
    assert_int_equal(f->j.completed, 4);
    assert_int_equal(f->j.failed, 1);
    assert_int_equal(reply(f, &r, 200,
                           BATCH("batch_1", "completed",
                                 ",\"output_file_id\":\"file-out\",\"error_file_id\":\"file-err\","
                                 "\"request_counts\":{\"total\":10,\"completed\":9,\"failed\":1}")),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_ENDED);
    assert_int_equal(f->j.status, LLEVAL_BJOB_S_COMPLETED);
    assert_string_equal(f->j.output_id, "file-out");
    assert_string_equal(f->j.error_id, "file-err");
    lleval_batch_request_release(&r);

    /* downloads: output, then errors, then done */
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_HTTP);
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/files/file-out/content");
    assert_int_equal(r.sink, LLEVAL_BATCH_SINK_OUTPUT);
    assert_int_equal(reply(f, &r, 0, NULL), LLEVAL_BATCH_RETRY); /* cut short */
    assert_false(f->j.output_done);
    assert_int_equal(reply(f, &r, 200, NULL), LLEVAL_BATCH_OK);
    assert_true(f->j.output_done);
    lleval_batch_request_release(&r);
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_HTTP);
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/files/file-err/content");
    assert_int_equal(r.sink, LLEVAL_BATCH_SINK_ERRORS);
    assert_int_equal(reply(f, &r, 200, NULL), LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_DONE);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_COLLECTED);
    lleval_batch_request_release(&r);
}

static void test_lookups_after_a_crash(void **state)
{
    struct fixture *f = *state;
    struct lleval_batch_request r;

    /* an upload whose reply was lost: found by its name */
    f->j.phase = LLEVAL_BJOB_UPLOADING;
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_HTTP);
    assert_string_equal(r.step, "find_file");
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/files?purpose=batch");
    assert_int_equal(reply(f, &r, 200,
                           "{\"object\":\"list\",\"data\":[{\"id\":\"file-x\","
                           "\"filename\":\"other.jsonl\"}],\"has_more\":false}"),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_NEW); /* not there: upload again */
    f->j.phase = LLEVAL_BJOB_UPLOADING;
    assert_int_equal(reply(f, &r, 200,
                           "{\"object\":\"list\",\"data\":[{\"id\":\"file-x\",\"filename\":"
                           "\"other.jsonl\"},{\"id\":\"file-in\",\"filename\":"
                           "\"lleval-r1-ds-t0-part-001-a1.jsonl\"}],\"has_more\":false}"),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_UPLOADED);
    assert_string_equal(f->j.input_id, "file-in");
    lleval_batch_request_release(&r);

    /* a create whose reply was lost: found by its input file, across pages */
    f->j.phase = LLEVAL_BJOB_CREATING;
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_HTTP);
    assert_string_equal(r.step, "find_batch");
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/batches?limit=100");
    assert_int_equal(reply(f, &r, 200,
                           "{\"object\":\"list\",\"data\":[{\"id\":\"batch_0\",\"input_file_id\":"
                           "\"file-zzz\",\"status\":\"completed\"}],\"has_more\":true,"
                           "\"last_id\":\"batch_0\"}"),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_CREATING);
    lleval_batch_request_release(&r);
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_HTTP);
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/batches?limit=100&after=batch_0");
    assert_int_equal(reply(f, &r, 200,
                           "{\"object\":\"list\",\"data\":[" BATCH("batch_7", "in_progress",
                                                                   "") "],\"has_more\":false}"),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_SUBMITTED);
    assert_string_equal(f->j.job_id, "batch_7");
    lleval_batch_request_release(&r);

    /* never created: create it */
    f->j.phase = LLEVAL_BJOB_CREATING;
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_HTTP);
    assert_int_equal(reply(f, &r, 200, "{\"object\":\"list\",\"data\":[],\"has_more\":false}"),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_UPLOADED);
    lleval_batch_request_release(&r);
}

static void test_classify(void **state)
{
    static const struct {
        long status;
        enum lleval_batch_verdict want;
    } cases[] = {
        {200, LLEVAL_BATCH_OK},    {0, LLEVAL_BATCH_RETRY},   {429, LLEVAL_BATCH_RETRY},
        {500, LLEVAL_BATCH_RETRY}, {503, LLEVAL_BATCH_RETRY}, {400, LLEVAL_BATCH_FAIL},
        {401, LLEVAL_BATCH_FAIL},  {404, LLEVAL_BATCH_FAIL},
    };
    const char *body = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"x\"}}";
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_err err = LLEVAL_ERR_INIT;
        enum lleval_batch_verdict v =
            lleval_batch_classify(cases[i].status, "svc", body, strlen(body), &err);
        if (v != cases[i].want) {
            print_error("status %ld: verdict %d, want %d\n", cases[i].status, v, cases[i].want);
            fail();
        }
        if (cases[i].status >= 400)
            assert_non_null(strstr(err.msg, "Rate limit reached"));
    }
}

static void test_failed_and_unknown_status(void **state)
{
    struct fixture *f = *state;
    struct lleval_batch_request r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *bad = BATCH("batch_1", "exploded", "");

    f->j.phase = LLEVAL_BJOB_SUBMITTED;
    f->j.job_id = lleval_xstrdup("batch_1");
    assert_int_equal(next(f, &r), LLEVAL_BATCH_NEXT_POLL);
    assert_int_equal(reply(f, &r, 200,
                           BATCH("batch_1", "failed",
                                 ",\"errors\":{\"object\":\"list\",\"data\":[{\"code\":"
                                 "\"invalid_file\",\"message\":\"too many requests\"}]}")),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_ENDED);
    assert_int_equal(f->j.status, LLEVAL_BJOB_S_FAILED);
    assert_string_equal(f->j.message, "invalid_file: too many requests");
    f->j.phase = LLEVAL_BJOB_SUBMITTED;
    assert_int_equal(pv()->reply(&f->c, &f->j, &r, 200, bad, strlen(bad), &err), LLEVAL_BATCH_FAIL);
    assert_non_null(strstr(err.msg, "exploded"));
    assert_int_equal(reply(f, &r, 200, "<html>busy</html>"), LLEVAL_BATCH_RETRY);
    lleval_batch_request_release(&r);
}

static void test_cancel(void **state)
{
    struct fixture *f = *state;
    struct lleval_batch_request r;
    struct lleval_err err = LLEVAL_ERR_INIT;

    lleval_batch_request_init(&r);
    assert_int_equal(pv()->cancel(&f->c, &f->j, &r, &err), 0); /* nothing submitted yet */
    f->j.phase = LLEVAL_BJOB_SUBMITTED;
    f->j.job_id = lleval_xstrdup("batch_9");
    assert_int_equal(pv()->cancel(&f->c, &f->j, &r, &err), 1);
    assert_int_equal(r.method, LLEVAL_BATCH_POST);
    assert_string_equal(r.url, "http://127.0.0.1:9/v1/batches/batch_9/cancel");
    assert_int_equal(reply(f, &r, 200, BATCH("batch_9", "cancelling", "")), LLEVAL_BATCH_OK);
    assert_true(f->j.cancel_sent);
    assert_int_equal(f->j.status, LLEVAL_BJOB_S_CANCELLING);
    assert_int_equal(f->j.phase, LLEVAL_BJOB_SUBMITTED);
    lleval_batch_request_release(&r);
}

static void test_result_lines(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *line;
        int want; /* 1 kept, 0 skipped (never run), -1 malformed */
    } cases[] = {
        {"{\"custom_id\":\"a\",\"response\":null,\"error\":{\"code\":\"batch_expired\","
         "\"message\":\"expired\"}}",
         0},
        {"{\"custom_id\":\"a\",\"response\":null,\"error\":{\"code\":\"batch_cancelled\","
         "\"message\":\"cancelled\"}}",
         0},
        {"{\"custom_id\":\"a\",\"response\":{\"status_code\":400,\"body\":{\"error\":{"
         "\"message\":\"bad\"}}},\"error\":null}",
         1},
        {"{\"custom_id\":\"a\",\"response\":null,\"error\":{\"code\":\"server_error\"}}", 1},
        {"[1,2]", -1},
    };
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_err err = LLEVAL_ERR_INIT;
        json_t *in = json_loads(cases[i].line, 0, NULL), *out;
        assert_non_null(in);
        out = pv()->result_line(&f->c, in, &err);
        int got = out ? 1 : err.code ? -1 : 0;
        if (got != cases[i].want) {
            print_error("case %zu: got %d, want %d\n", i, got, cases[i].want);
            fail();
        }
        json_decref(out);
        json_decref(in);
    }
}

static void test_job_json(void **state)
{
    struct fixture *f = *state;
    struct lleval_bjob back;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j, *again;

    f->j.attempt = 2;
    f->j.phase = LLEVAL_BJOB_ENDED;
    f->j.status = LLEVAL_BJOB_S_EXPIRED;
    f->j.input_id = lleval_xstrdup("file-in");
    f->j.job_id = lleval_xstrdup("batch_1");
    f->j.total = 10;
    f->j.completed = 5;
    f->j.failed = 0;
    f->j.output_done = true;
    json_object_set_new(f->j.extra, "k", json_string("v"));
    j = lleval_bjob_to_json(&f->j);
    assert_int_equal(lleval_bjob_from_json(j, &back, &err), 0);
    again = lleval_bjob_to_json(&back);
    assert_true(json_equal(j, again));
    assert_int_equal(back.attempt, 2);
    assert_int_equal(back.phase, LLEVAL_BJOB_ENDED);
    assert_int_equal(back.status, LLEVAL_BJOB_S_EXPIRED);
    assert_string_equal(back.job_id, "batch_1");
    lleval_bjob_release(&back);
    json_decref(again);

    json_object_set_new(j, "phase", json_string("flying"));
    assert_int_equal(lleval_bjob_from_json(j, &back, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "phase"));
    lleval_bjob_release(&back);
    json_object_set_new(j, "phase", json_string("ended"));
    json_object_set_new(j, "job_id", json_integer(3));
    assert_int_equal(lleval_bjob_from_json(j, &back, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "job_id"));
    lleval_bjob_release(&back);
    json_decref(j);
}

static void test_names_and_providers(void **state)
{
    (void)state;
    assert_non_null(pv());
    assert_string_equal(pv()->name, "openai_batch");
    assert_int_equal(pv()->max_requests, 50000);
    assert_true(lleval_engine_is_batch(LLEVAL_ENGINE_OPENAI_BATCH));
    assert_false(lleval_engine_is_batch(LLEVAL_ENGINE_OPENAI));
    assert_null(lleval_batch_provider_for(LLEVAL_ENGINE_DRY));
    for (int s = LLEVAL_BJOB_S_NONE; s <= LLEVAL_BJOB_S_CANCELLED; s++) {
        enum lleval_bjob_status back;
        assert_int_equal(lleval_bjob_status_parse(lleval_bjob_status_name(s), &back), 0);
        assert_int_equal(back, s);
    }
    assert_true(lleval_bjob_status_final(LLEVAL_BJOB_S_EXPIRED));
    assert_false(lleval_bjob_status_final(LLEVAL_BJOB_S_CANCELLING));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_life, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookups_after_a_crash, setup, teardown),
        cmocka_unit_test(test_classify),
        cmocka_unit_test_setup_teardown(test_failed_and_unknown_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_json, setup, teardown),
        cmocka_unit_test(test_names_and_providers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
