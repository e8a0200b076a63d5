/*
 * Unit tests for the fireworks_batch provider (lib/engine/fireworks_batch.c):
 * the remote ids, the state mapping, the requests of a whole job (dataset,
 * upload, job, polls, download endpoint, signed-URL downloads without the
 * key), the lookups of a session that resumes after a crash, cancel by
 * DELETE, hostile and malformed replies (an error naming the field, never a
 * crash), and the conversion of results and error lines into OpenAI batch
 * output lines that `lleval import` reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/engine/fireworks_batch.h"
#include "lleval/result/result.h"
#include "lleval/run/import.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

#define MODEL "accounts/fireworks/models/llama-v3p1-8b-instruct"
#define BASE  "https://api.fireworks.ai/v1"

struct fx {
    struct lleval_config cfg;
    struct lleval_batch_ctx ctx;
    struct lleval_bjob job;
    char ds[LLEVAL_FW_ID_MAX + 1], out[LLEVAL_FW_ID_MAX + 1];
};

static int setup(void **state)
{
    struct fx *f = lleval_xcalloc(1, sizeof(*f));
    lleval_config_init(&f->cfg);
    f->cfg.batch.account_id = lleval_xstrdup("my-acct");
    f->ctx.cfg = &f->cfg;
    f->ctx.base_url = BASE;
    f->ctx.api_key = "fw-secret";
    f->ctx.run_id = "run1";
    f->ctx.part = "nq_open/t0/part-001";
    f->ctx.model = MODEL;
    f->ctx.run_dir = "/runs/run1";
    lleval_bjob_init(&f->job);
    f->job.provider = lleval_xstrdup("fireworks_batch");
    f->job.attempt = 1;
    f->job.input = lleval_xstrdup("batches/nq_open/t0/part-001.jsonl");
    f->job.input_requests = 3;
    f->job.upload_name = lleval_xstrdup("run1-nq_open-t0-part-001-a1.jsonl");
    assert_int_equal(lleval_fw_ids(f->job.upload_name, f->ds, f->out), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lleval_bjob_release(&f->job);
    lleval_config_release(&f->cfg);
    free(f);
    return 0;
}

/* next() into a fresh request, checked to be action want. */
static void next_is(struct fx *f, struct lleval_batch_request *r, int want, const char *step)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    lleval_batch_request_init(r);
    assert_int_equal(lleval_batch_fireworks.next(&f->ctx, &f->job, r, &err), want);
    if (want != LLEVAL_BATCH_NEXT_DONE)
        assert_string_equal(r->step, step);
}

static enum lleval_batch_verdict reply(struct fx *f, struct lleval_batch_request *r, long status,
                                       const char *body, struct lleval_err *err)
{
    return lleval_batch_fireworks.reply(&f->ctx, &f->job, r, status, body, body ? strlen(body) : 0,
                                        err);
}

static const char *header(const struct lleval_batch_request *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strncmp(r->headers[i], name, n) && r->headers[i][n] == ':')
            return r->headers[i] + n + 2;
    return NULL;
}

static char *job_json(const char *id, const char *state, const char *progress, const char *extra)
{
    return lleval_xasprintf("{\"name\":\"accounts/my-acct/batchInferenceJobs/%s\",\"state\":\"%s\","
                            "\"status\":{\"code\":\"OK\",\"message\":\"\"},\"model\":\"" MODEL
                            "\",\"outputDatasetId\":\"accounts/my-acct/datasets/%s-out\""
                            "%s%s%s}",
                            id, state, id, progress ? ",\"jobProgress\":" : "",
                            progress ? progress : "", extra ? extra : "");
}

static void test_ids(void **state)
{
    char a[LLEVAL_FW_ID_MAX + 1], ao[LLEVAL_FW_ID_MAX + 1];
    char b[LLEVAL_FW_ID_MAX + 1], bo[LLEVAL_FW_ID_MAX + 1];
    char longname[300];
    (void)state;

    assert_int_equal(lleval_fw_ids("Run_1/NQ open.part-001.jsonl", a, ao), 0);
    assert_int_equal(strncmp(a, "run-1-nq-open-part-001-", 23), 0);
    assert_int_equal(strlen(a), 23 + 8);
    /* a name that does not start with a letter gets lleval's prefix */
    assert_int_equal(lleval_fw_ids("_1-x.jsonl", b, bo), 0);
    assert_int_equal(strncmp(b, "lleval-1-x-", 11), 0);
    assert_string_equal(ao + strlen(a), "-out");
    /* the same name, the same ids; another name, other ids */
    assert_int_equal(lleval_fw_ids("Run_1/NQ open.part-001.jsonl", b, bo), 0);
    assert_string_equal(a, b);
    assert_int_equal(lleval_fw_ids("Run_1/NQ open.part-002.jsonl", b, bo), 0);
    assert_string_not_equal(a, b);
    /* a long name is cut, and the hash keeps two long names apart */
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(lleval_fw_ids(longname, a, ao), 0);
    longname[5] = 'y';
    assert_int_equal(lleval_fw_ids(longname, b, bo), 0);
    assert_string_not_equal(a, b);
    assert_true(strlen(ao) <= LLEVAL_FW_ID_MAX);
    for (const char *p = ao; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
    assert_true(a[0] >= 'a' && a[0] <= 'z');
    assert_int_equal(lleval_fw_ids("", a, ao), LLEVAL_EINVAL);
    assert_int_equal(lleval_fw_ids(NULL, a, ao), LLEVAL_EINVAL);
}

static void test_states(void **state)
{
    static const struct {
        const char *state;
        enum lleval_bjob_status want;
    } cases[] = {
        {"JOB_STATE_VALIDATING", LLEVAL_BJOB_S_VALIDATING},
        {"JOB_STATE_PENDING", LLEVAL_BJOB_S_IN_PROGRESS},
        {"JOB_STATE_RUNNING", LLEVAL_BJOB_S_IN_PROGRESS},
        {"JOB_STATE_WRITING_RESULTS", LLEVAL_BJOB_S_FINALIZING},
        {"JOB_STATE_COMPLETED", LLEVAL_BJOB_S_COMPLETED},
        {"JOB_STATE_FAILED", LLEVAL_BJOB_S_FAILED},
        {"JOB_STATE_EXPIRED", LLEVAL_BJOB_S_EXPIRED},
        {"JOB_STATE_DELETING_CLEANING_UP", LLEVAL_BJOB_S_CANCELLING},
        {"JOB_STATE_CANCELLED", LLEVAL_BJOB_S_CANCELLED},
        {"COMPLETED", LLEVAL_BJOB_S_NONE},
        {"job_state_completed", LLEVAL_BJOB_S_NONE},
        {"", LLEVAL_BJOB_S_NONE},
        {NULL, LLEVAL_BJOB_S_NONE},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        print_message("%s\n", cases[i].state ? cases[i].state : "(null)");
        assert_int_equal(lleval_fw_status(cases[i].state), cases[i].want);
    }
}

/* A whole job, the way the driver walks it, with a 429, a cut download and an expired URL. */
static void test_job(void **state)
{
    struct fx *f = *state;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_batch_request r;
    json_t *body;
    char *url, *s;

    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "create_dataset");
    assert_int_equal(f->job.phase, LLEVAL_BJOB_UPLOADING);
    assert_int_equal(r.method, LLEVAL_BATCH_POST);
    assert_string_equal(r.url, BASE "/accounts/my-acct/datasets");
    assert_string_equal(header(&r, "Authorization"), "Bearer fw-secret");
    body = json_loads(r.body, 0, NULL);
    assert_string_equal(lleval_json_str(body, "datasetId"), f->ds);
    assert_string_equal(lleval_json_str(json_object_get(body, "dataset"), "exampleCount"), "3");
    assert_true(json_is_object(json_object_get(json_object_get(body, "dataset"), "userUploaded")));
    json_decref(body);
    assert_int_equal(reply(f, &r, 200, "{\"name\":\"x\",\"state\":\"UPLOADING\"}", &err),
                     LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);

    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "upload");
    url = lleval_xasprintf(BASE "/accounts/my-acct/datasets/%s:upload", f->ds);
    assert_string_equal(r.url, url);
    free(url);
    assert_string_equal(r.upload_path, "/runs/run1/batches/nq_open/t0/part-001.jsonl");
    assert_string_equal(r.upload_field, "file");
    assert_string_equal(r.upload_name, f->job.upload_name);
    assert_int_equal(reply(f, &r, 200, "{\"id\":\"x\",\"object\":\"file\",\"bytes\":10}", &err),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->job.phase, LLEVAL_BJOB_UPLOADED);
    assert_string_equal(f->job.input_id, f->ds);
    lleval_batch_request_release(&r);

    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "create_job");
    assert_int_equal(f->job.phase, LLEVAL_BJOB_CREATING);
    url =
        lleval_xasprintf(BASE "/accounts/my-acct/batchInferenceJobs?batchInferenceJobId=%s", f->ds);
    assert_string_equal(r.url, url);
    free(url);
    body = json_loads(r.body, 0, NULL);
    assert_string_equal(lleval_json_str(body, "model"), MODEL);
    s = lleval_xasprintf("accounts/my-acct/datasets/%s", f->ds);
    assert_string_equal(lleval_json_str(body, "inputDatasetId"), s);
    free(s);
    s = lleval_xasprintf("accounts/my-acct/datasets/%s", f->out);
    assert_string_equal(lleval_json_str(body, "outputDatasetId"), s);
    free(s);
    assert_true(json_is_object(json_object_get(body, "inferenceParameters")));
    json_decref(body);
    /* a 429 on create: the driver asks again after a backoff */
    assert_int_equal(reply(f, &r, 429, "{\"code\":8,\"message\":\"too many requests\"}", &err),
                     LLEVAL_BATCH_RETRY);
    assert_non_null(strstr(err.msg, "HTTP 429"));
    s = job_json(f->ds, "JOB_STATE_VALIDATING", NULL, NULL);
    assert_int_equal(reply(f, &r, 200, s, &err), LLEVAL_BATCH_OK);
    free(s);
    assert_int_equal(f->job.phase, LLEVAL_BJOB_SUBMITTED);
    assert_string_equal(f->job.job_id, f->ds);
    lleval_batch_request_release(&r);

    next_is(f, &r, LLEVAL_BATCH_NEXT_POLL, "status");
    assert_int_equal(r.method, LLEVAL_BATCH_GET);
    s = job_json(f->ds, "JOB_STATE_RUNNING",
                 "{\"totalInputRequests\":3,\"totalProcessedRequests\":2,"
                 "\"successfullyProcessedRequests\":1,\"failedRequests\":1}",
                 NULL);
    assert_int_equal(reply(f, &r, 200, s, &err), LLEVAL_BATCH_OK);
    free(s);
    assert_int_equal(f->job.status, LLEVAL_BJOB_S_IN_PROGRESS);
    assert_int_equal(f->job.total, 3);
    assert_int_equal(f->job.completed, 1);
    assert_int_equal(f->job.failed, 1);
    s = job_json(f->ds, "JOB_STATE_COMPLETED", NULL, NULL);
    assert_int_equal(reply(f, &r, 200, s, &err), LLEVAL_BATCH_OK);
    free(s);
    assert_int_equal(f->job.phase, LLEVAL_BJOB_ENDED);
    assert_string_equal(f->job.output_id, f->out);
    lleval_batch_request_release(&r);

    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "endpoint");
    url = lleval_xasprintf(BASE "/accounts/my-acct/datasets/%s:getDownloadEndpoint", f->out);
    assert_string_equal(r.url, url);
    assert_null(r.body);
    free(url);
    assert_int_equal(
        reply(f, &r, 200,
              "{\"filenameToSignedUrls\":{"
              "\"dataset/x-out/BIJOutputSet.jsonl\":\"https://storage.example/r?sig=1\","
              "\"dataset/x-out/error-data\":\"https://storage.example/e?sig=2\"}}",
              &err),
        LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);
    /* the signed URLs are secrets while they last: never in state.json */
    {
        json_t *saved = lleval_bjob_to_json(&f->job);
        char *text = json_dumps(saved, JSON_COMPACT);
        assert_null(strstr(text, "sig="));
        assert_null(strstr(text, "storage.example"));
        free(text);
        json_decref(saved);
    }
    /* a later session (state.json read back) asks for new URLs */
    {
        struct lleval_bjob again;
        json_t *saved = lleval_bjob_to_json(&f->job);
        assert_int_equal(lleval_bjob_from_json(saved, &again, &err), 0);
        json_decref(saved);
        assert_null(json_object_get(again.transient, "results_url"));
        lleval_bjob_release(&again);
    }

    /* signed URLs: fetched without the API key */
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "output");
    assert_string_equal(r.url, "https://storage.example/r?sig=1");
    assert_null(header(&r, "Authorization"));
    assert_int_equal(r.sink, LLEVAL_BATCH_SINK_OUTPUT);
    assert_int_equal(reply(f, &r, 0, NULL, &err), LLEVAL_BATCH_RETRY); /* cut short */
    assert_false(f->job.output_done);
    assert_int_equal(reply(f, &r, 200, NULL, &err), LLEVAL_BATCH_OK);
    assert_true(f->job.output_done);
    lleval_batch_request_release(&r);

    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "errors");
    assert_null(header(&r, "Authorization"));
    assert_int_equal(r.sink, LLEVAL_BATCH_SINK_ERRORS);
    /* the URL expired: new URLs are asked for */
    assert_int_equal(reply(f, &r, 400, "<Error><Code>ExpiredToken</Code></Error>", &err),
                     LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "endpoint");
    assert_int_equal(reply(f, &r, 200,
                           "{\"filenameToSignedUrls\":{\"BIJOutputSet.jsonl\":\"https://s/r2\","
                           "\"error-data\":\"https://s/e2\"}}",
                           &err),
                     LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "errors");
    assert_string_equal(r.url, "https://s/e2");
    assert_int_equal(reply(f, &r, 200, NULL, &err), LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);

    next_is(f, &r, LLEVAL_BATCH_NEXT_DONE, NULL);
    assert_int_equal(f->job.phase, LLEVAL_BJOB_COLLECTED);
    assert_null(json_object_get(f->job.extra, "results_url")); /* not kept in state.json */
    lleval_batch_request_release(&r);
}

/* A session that finds a request sent but its reply unrecorded looks the object up. */
static void test_resume(void **state)
{
    struct fx *f = *state;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_batch_request r;
    char *s;

    f->job.phase = LLEVAL_BJOB_UPLOADING;
    json_object_set_new(f->job.extra, "fw_step", json_string("create_dataset"));
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "find_dataset");
    assert_true(r.expect_404);
    assert_int_equal(r.method, LLEVAL_BATCH_GET);
    assert_int_equal(reply(f, &r, 404, "{\"code\":5,\"message\":\"resource not found\"}", &err),
                     LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "create_dataset"); /* never made: made now */
    /* made by the lost session after all: 409, then looked up */
    assert_int_equal(reply(f, &r, 409, "{\"code\":6,\"message\":\"already exists\"}", &err),
                     LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "find_dataset");
    assert_int_equal(reply(f, &r, 200, "{\"name\":\"d\",\"state\":\"UPLOADING\"}", &err),
                     LLEVAL_BATCH_OK);
    lleval_batch_request_release(&r);
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "upload"); /* made, empty: filled */
    lleval_batch_request_release(&r);
    /* the upload went out, then the crash: the dataset is READY, adopted */
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "find_dataset");
    assert_int_equal(reply(f, &r, 200, "{\"name\":\"d\",\"state\":\"READY\"}", &err),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->job.phase, LLEVAL_BJOB_UPLOADED);
    lleval_batch_request_release(&r);

    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "create_job");
    lleval_batch_request_release(&r);
    /* crash after the create went out: the job is looked for, not created again */
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "find_job");
    assert_true(r.expect_404);
    s = job_json(f->ds, "JOB_STATE_RUNNING", NULL, NULL);
    assert_int_equal(reply(f, &r, 200, s, &err), LLEVAL_BATCH_OK);
    free(s);
    assert_int_equal(f->job.phase, LLEVAL_BJOB_SUBMITTED);
    assert_string_equal(f->job.job_id, f->ds);
    assert_null(json_object_get(f->job.extra, "fw_step"));
    lleval_batch_request_release(&r);
}

static void test_cancel(void **state)
{
    struct fx *f = *state;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_batch_request r;
    char *url;

    lleval_batch_request_init(&r);
    assert_int_equal(lleval_batch_fireworks.cancel(&f->ctx, &f->job, &r, &err), 0); /* no job */
    lleval_batch_request_release(&r);
    f->job.phase = LLEVAL_BJOB_SUBMITTED;
    f->job.job_id = lleval_xstrdup(f->ds);
    f->job.status = LLEVAL_BJOB_S_IN_PROGRESS;
    lleval_batch_request_init(&r);
    assert_int_equal(lleval_batch_fireworks.cancel(&f->ctx, &f->job, &r, &err), 1);
    assert_int_equal(r.method, LLEVAL_BATCH_DELETE);
    url = lleval_xasprintf(BASE "/accounts/my-acct/batchInferenceJobs/%s", f->ds);
    assert_string_equal(r.url, url);
    free(url);
    assert_int_equal(reply(f, &r, 200, "{}", &err), LLEVAL_BATCH_OK);
    assert_true(f->job.cancel_sent);
    assert_int_equal(f->job.status, LLEVAL_BJOB_S_CANCELLING);
    lleval_batch_request_release(&r);
    /* the deleted job is gone: cancelled; its output dataset keeps the rows done */
    next_is(f, &r, LLEVAL_BATCH_NEXT_POLL, "status");
    assert_int_equal(reply(f, &r, 404, "{\"code\":5,\"message\":\"resource not found\"}", &err),
                     LLEVAL_BATCH_OK);
    assert_int_equal(f->job.status, LLEVAL_BJOB_S_CANCELLED);
    assert_int_equal(f->job.phase, LLEVAL_BJOB_ENDED);
    assert_string_equal(f->job.output_id, f->out);
    lleval_batch_request_release(&r);
    next_is(f, &r, LLEVAL_BATCH_NEXT_HTTP, "endpoint");
    assert_int_equal(reply(f, &r, 404, "{\"code\":5}", &err), LLEVAL_BATCH_OK); /* none made */
    lleval_batch_request_release(&r);
    next_is(f, &r, LLEVAL_BATCH_NEXT_DONE, NULL);
    lleval_batch_request_init(&r);
    assert_int_equal(lleval_batch_fireworks.cancel(&f->ctx, &f->job, &r, &err), 0); /* ended */
    lleval_batch_request_release(&r);
}

/* A failed job: the message kept on one line, nothing to download. */
static void test_failed_job(void **state)
{
    struct fx *f = *state;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_batch_request r;
    char *s = lleval_xasprintf(
        "{\"name\":\"accounts/my-acct/batchInferenceJobs/%s\",\"state\":\"JOB_STATE_FAILED\","
        "\"status\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"Dataset has a syntax error:\\n"
        "line 2\\u001b[31m\"},\"outputDatasetId\":\"\"}",
        f->ds);

    f->job.phase = LLEVAL_BJOB_SUBMITTED;
    f->job.job_id = lleval_xstrdup(f->ds);
    next_is(f, &r, LLEVAL_BATCH_NEXT_POLL, "status");
    assert_int_equal(reply(f, &r, 200, s, &err), LLEVAL_BATCH_OK);
    assert_int_equal(f->job.status, LLEVAL_BJOB_S_FAILED);
    assert_non_null(strstr(f->job.message, "syntax error"));
    assert_null(strchr(f->job.message, '\n'));
    assert_null(strchr(f->job.message, 0x1b));
    lleval_batch_request_release(&r);
    next_is(f, &r, LLEVAL_BATCH_NEXT_DONE, NULL);
    free(s);
}

/* Hostile and malformed replies: a verdict and an error naming the field, never a crash. */
static void test_hostile(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *step_phase; /* "status" or "endpoint" */
        long status;
        const char *body;
        enum lleval_batch_verdict want;
        const char *want_msg;
    } cases[] = {
        {"status", 200, "<html>busy</html>", LLEVAL_BATCH_RETRY, "no JSON object"},
        {"status", 200, "[1,2]", LLEVAL_BATCH_RETRY, "not an object"},
        {"status", 200, "", LLEVAL_BATCH_RETRY, "no JSON object"},
        {"status", 200, "{\"state\":\"JOB_STATE_RUNNING\"}", LLEVAL_BATCH_FAIL, "'name'"},
        {"status", 200, "{\"name\":\"a/b\",\"state\":7}", LLEVAL_BATCH_FAIL, "'state'"},
        {"status", 200, "{\"name\":\"a/b\",\"state\":\"JOB_STATE_\\u0007NEW\"}", LLEVAL_BATCH_FAIL,
         "unknown 'state'"},
        {"status", 200,
         "{\"name\":\"a/b\",\"state\":\"JOB_STATE_RUNNING\",\"jobProgress\":\"50%\"}",
         LLEVAL_BATCH_FAIL, "'jobProgress' is a string"},
        {"status", 200,
         "{\"name\":\"a/b\",\"state\":\"JOB_STATE_RUNNING\",\"jobProgress\":{\"failedRequests\":"
         "\"3\"}}",
         LLEVAL_BATCH_FAIL, "'jobProgress.failedRequests' is a string"},
        {"status", 200,
         "{\"name\":\"a/b\",\"state\":\"JOB_STATE_RUNNING\",\"jobProgress\":{"
         "\"totalProcessedRequests\":-4}}",
         LLEVAL_BATCH_FAIL, "'jobProgress.totalProcessedRequests' is negative"},
        {"status", 401, "{\"error\":{\"message\":\"The API key you provided is invalid.\"}}",
         LLEVAL_BATCH_FAIL, "HTTP 401: The API key you provided is invalid."},
        {"status", 503, "upstream busy", LLEVAL_BATCH_RETRY, "HTTP 503"},
        {"endpoint", 200, "{\"filenameToSignedUrls\":[]}", LLEVAL_BATCH_FAIL,
         "'filenameToSignedUrls' is an array"},
        {"endpoint", 200, "{}", LLEVAL_BATCH_FAIL, "'filenameToSignedUrls'"},
        {"endpoint", 200, "{\"filenameToSignedUrls\":{\"BIJOutputSet.jsonl\":\"file:///etc/pa\"}}",
         LLEVAL_BATCH_FAIL, "'filenameToSignedUrls.BIJOutputSet.jsonl'"},
        {"endpoint", 200, "{\"filenameToSignedUrls\":{\"error-data\":\"https://a b\"}}",
         LLEVAL_BATCH_FAIL, "'filenameToSignedUrls.error-data'"},
        {"endpoint", 200, "{\"filenameToSignedUrls\":{\"error-data\":42}}", LLEVAL_BATCH_FAIL,
         "'filenameToSignedUrls.error-data'"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct lleval_err err = LLEVAL_ERR_INIT;
        struct lleval_batch_request r;
        bool endpoint = !strcmp(cases[i].step_phase, "endpoint");
        print_message("case %zu: %s\n", i, cases[i].body);
        lleval_bjob_release(&f->job);
        lleval_bjob_init(&f->job);
        f->job.input = lleval_xstrdup("batches/p.jsonl");
        f->job.upload_name = lleval_xstrdup("run1-p-a1.jsonl");
        f->job.job_id = lleval_xstrdup("j");
        f->job.phase = endpoint ? LLEVAL_BJOB_ENDED : LLEVAL_BJOB_SUBMITTED;
        f->job.output_id = endpoint ? lleval_xstrdup("j-out") : NULL;
        next_is(f, &r, endpoint ? LLEVAL_BATCH_NEXT_HTTP : LLEVAL_BATCH_NEXT_POLL,
                cases[i].step_phase);
        assert_int_equal(reply(f, &r, cases[i].status, cases[i].body, &err), cases[i].want);
        print_message("  -> %s\n", err.msg);
        assert_non_null(strstr(err.msg, cases[i].want_msg));
        assert_null(strstr(err.msg, "fw-secret"));
        lleval_batch_request_release(&r);
    }
}

static void test_no_account(void **state)
{
    struct fx *f = *state;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_batch_request r;

    free(f->cfg.batch.account_id);
    f->cfg.batch.account_id = NULL;
    lleval_batch_request_init(&r);
    assert_int_equal(lleval_batch_fireworks.next(&f->ctx, &f->job, &r, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "batch.account_id"));
    lleval_batch_request_release(&r);
    f->cfg.batch.account_id = lleval_xstrdup("../other");
    lleval_batch_request_init(&r);
    assert_int_equal(lleval_batch_fireworks.next(&f->ctx, &f->job, &r, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "batch.account_id"));
    assert_int_equal(f->job.phase, LLEVAL_BJOB_NEW); /* nothing moved */
    lleval_batch_request_release(&r);
}

/* Results and error lines into OpenAI batch output lines, which `lleval import` reads. */
static void test_result_lines(void **state)
{
    static const struct {
        const char *line;
        const char *want_err; /* NULL: a line */
        bool failed;
        const char *want; /* a fragment of the converted result line */
    } cases[] = {
        {"{\"custom_id\":\"q1\",\"response\":{\"id\":\"c\",\"object\":\"chat.completion\","
         "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Paris\"},"
         "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}}",
         NULL, false, "Paris"},
        {"{\"custom_id\":\"q2\",\"error\":{\"code\":400,\"message\":\"the model refused\"}}", NULL,
         true, "fireworks_400"},
        {"{\"custom_id\":\"q3\",\"error\":\"context too long\"}", NULL, true, "context too long"},
        {"{\"custom_id\":\"q4\",\"response\":{\"choices\":\"no\"}}", NULL, true, "invalid_reply"},
        {"[1]", "not a JSON object", false, NULL},
        {"{\"response\":{}}", "'custom_id'", false, NULL},
        {"{\"custom_id\":5,\"response\":{}}", "'custom_id'", false, NULL},
        {"{\"custom_id\":\"q5\",\"response\":\"Paris\"}", "'response' is a string", false, NULL},
        {"{\"custom_id\":\"q6\"}", "neither", false, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct lleval_err err = LLEVAL_ERR_INIT;
        json_t *in = json_loads(cases[i].line, 0, NULL), *out, *res;
        char *text;
        print_message("case %zu: %s\n", i, cases[i].line);
        assert_non_null(in);
        out = lleval_batch_fireworks.result_line(NULL, in, &err);
        if (cases[i].want_err) {
            assert_null(out);
            assert_int_not_equal(err.code, 0);
            assert_non_null(strstr(err.msg, cases[i].want_err));
            json_decref(in);
            continue;
        }
        assert_non_null(out);
        res = lleval_import_convert(out, &err);
        assert_non_null(res);
        assert_string_equal(lleval_result_custom_id(res),
                            json_string_value(json_object_get(in, "custom_id")));
        assert_int_equal(lleval_result_failed(res), cases[i].failed);
        text = json_dumps(res, JSON_COMPACT);
        print_message("  -> %s\n", text);
        assert_non_null(strstr(text, cases[i].want));
        free(text);
        json_decref(res);
        json_decref(out);
        json_decref(in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_states),
        cmocka_unit_test_setup_teardown(test_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_account, setup, teardown),
        cmocka_unit_test(test_result_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
