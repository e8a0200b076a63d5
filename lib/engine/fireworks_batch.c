/*
 * The fireworks_batch provider (batchapi.h, fireworks_batch.h): Fireworks
 * AI's batch inference jobs, from the public API reference. Pure functions
 * of the job's state; every path is under {base_url}/accounts/{account_id}:
 *   create_dataset  POST /datasets {datasetId, dataset{displayName, userUploaded, exampleCount}}
 *   upload          POST /datasets/{id}:upload (multipart, field "file"; files up to 150 MB)
 *   create_job      POST /batchInferenceJobs?batchInferenceJobId={id}
 *                   {displayName, model, inputDatasetId, outputDatasetId, inferenceParameters}
 *   status          GET /batchInferenceJobs/{id} -> state, status, jobProgress, outputDatasetId
 *   endpoint        GET /datasets/{out}:getDownloadEndpoint -> filenameToSignedUrls
 *   output, errors  GET <signed URL> of BIJOutputSet.jsonl and error-data, without the key
 *   cancel          DELETE /batchInferenceJobs/{id} (Fireworks stops a job by deleting it)
 * The dataset and job ids are derived from the job's upload_name
 * (lleval_fw_ids), so a request sent before a crash is found again by a GET
 * (find_dataset, find_job) rather than repeated; a create answered 409 (the
 * name exists) is looked up the same way.
 *
 * The step whose reply is awaited is kept in the job's extra.fw_step: a
 * session that finds it set (the reply was never recorded) looks first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/fireworks_batch.h"
#include "lleval/engine/http.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* Fireworks documents no request count per job; lleval keeps OpenAI's. */
#define FW_MAX_REQUESTS 50000L
#define FW_MAX_BYTES    (150LL * 1000 * 1000) /* the :upload endpoint's limit */
#define RESULTS_FILE    "BIJOutputSet.jsonl"
#define ERRORS_FILE     "error-data"
#define MAX_URL_ASKS    5 /* signed URLs asked for per job before giving up */
#define WHAT            "Fireworks"

/* Step names (extra.fw_step): a request sent whose reply is not recorded yet. */
#define STEP_NONE    "none"    /* looked up: it does not exist, create it */
#define STEP_CREATED "created" /* the dataset exists, empty: upload */

static const struct {
    const char *state;
    enum lleval_bjob_status status;
} states[] = {
    {"JOB_STATE_UNSPECIFIED", LLEVAL_BJOB_S_VALIDATING},
    {"JOB_STATE_VALIDATING", LLEVAL_BJOB_S_VALIDATING},
    {"JOB_STATE_CREATING_INPUT_DATASET", LLEVAL_BJOB_S_VALIDATING},
    {"JOB_STATE_CREATING", LLEVAL_BJOB_S_IN_PROGRESS},
    {"JOB_STATE_PENDING", LLEVAL_BJOB_S_IN_PROGRESS},
    {"JOB_STATE_RUNNING", LLEVAL_BJOB_S_IN_PROGRESS},
    {"JOB_STATE_RE_QUEUEING", LLEVAL_BJOB_S_IN_PROGRESS},
    {"JOB_STATE_IDLE", LLEVAL_BJOB_S_IN_PROGRESS},
    {"JOB_STATE_PAUSED", LLEVAL_BJOB_S_IN_PROGRESS},
    {"JOB_STATE_WRITING_RESULTS", LLEVAL_BJOB_S_FINALIZING},
    {"JOB_STATE_COMPLETED", LLEVAL_BJOB_S_COMPLETED},
    {"JOB_STATE_FAILED", LLEVAL_BJOB_S_FAILED},
    {"JOB_STATE_EXPIRED", LLEVAL_BJOB_S_EXPIRED},
    {"JOB_STATE_EARLY_STOPPED", LLEVAL_BJOB_S_EXPIRED},
    {"JOB_STATE_CANCELLING", LLEVAL_BJOB_S_CANCELLING},
    {"JOB_STATE_DELETING", LLEVAL_BJOB_S_CANCELLING},
    {"JOB_STATE_DELETING_CLEANING_UP", LLEVAL_BJOB_S_CANCELLING},
    {"JOB_STATE_CANCELLED", LLEVAL_BJOB_S_CANCELLED},
    {"JOB_STATE_DELETED", LLEVAL_BJOB_S_CANCELLED},
    {"JOB_STATE_ARCHIVED", LLEVAL_BJOB_S_CANCELLED},
};

enum lleval_bjob_status lleval_fw_status(const char *state)
{
    for (size_t i = 0; state && i < sizeof(states) / sizeof(*states); i++)
        if (!strcmp(state, states[i].state))
            return states[i].status;
    return LLEVAL_BJOB_S_NONE;
}

int lleval_fw_ids(const char *name, char *dataset, char *output)
{
    /* 8 hex digits of FNV-1a over the whole name keep truncated names apart */
    unsigned long h = 2166136261UL;
    char base[LLEVAL_FW_ID_MAX + 1];
    size_t n = 0;
    const char *end;

    if (!name || !*name)
        return LLEVAL_EINVAL;
    for (const char *p = name; *p; p++)
        h = ((h ^ (unsigned char)*p) * 16777619UL) & 0xffffffffUL;
    end = strrchr(name, '.');
    if (!end || strcmp(end, ".jsonl"))
        end = name + strlen(name);
    /* an id starts with a letter: lleval's prefix before a name that does not */
    if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z'))) {
        memcpy(base, "lleval-", 7);
        n = 7;
    }
    for (const char *p = name; p < end && n < 50; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
            ch = '-';
        if (ch == '-' && (n == 0 || base[n - 1] == '-'))
            continue;
        base[n++] = ch;
    }
    if (n && base[n - 1] != '-')
        base[n++] = '-';
    snprintf(base + n, sizeof(base) - n, "%08lx", h);
    /* dataset and job: at most 51 + 8 characters; the output dataset adds "-out" */
    n = strlen(base);
    memcpy(dataset, base, n + 1);
    memcpy(output, base, n);
    memcpy(output + n, "-out", 5);
    return 0;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? lleval_xstrdup(s) : NULL;
}

static const char *step_of(const struct lleval_bjob *j)
{
    return lleval_json_str(j->extra, "fw_step");
}

static void set_step(struct lleval_bjob *j, const char *step)
{
    if (step)
        json_object_set_new(j->extra, "fw_step", json_string(step));
    else
        json_object_del(j->extra, "fw_step");
}

/* The account id of the config, checked to be a plain path segment. */
static const char *account_of(const struct lleval_batch_ctx *c, struct lleval_err *err)
{
    const char *a = c->cfg ? c->cfg->batch.account_id : NULL;
    if (!a || !*a) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "fireworks_batch needs your Fireworks account id: set batch.account_id "
                       "in the config (the account in https://app.fireworks.ai, or "
                       "`firectl whoami`)");
        return NULL;
    }
    for (const char *p = a; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_')) {
            lleval_err_set(err, LLEVAL_EINVAL,
                           "batch.account_id may hold only letters, digits, '-' and '_'");
            return NULL;
        }
    }
    return a;
}

/* A request to {base_url}/accounts/{account}{path} with the key. */
static void start(const struct lleval_batch_ctx *c, const char *acct,
                  struct lleval_batch_request *out, const char *step, enum lleval_batch_method m,
                  const char *path)
{
    out->step = step;
    out->method = m;
    out->url = lleval_xasprintf("%s/accounts/%s%s", c->base_url, acct, path);
    lleval_batch_request_auth(out, c->api_key);
}

static void json_body(struct lleval_batch_request *out, json_t *body)
{
    lleval_batch_request_header(out, "Content-Type", "application/json");
    out->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
}

static json_t *create_dataset_body(const struct lleval_bjob *j, const char *ds)
{
    char count[24];
    snprintf(count, sizeof(count), "%ld", j->input_requests > 0 ? j->input_requests : 0);
    /* exampleCount is an int64 written as a string; Fireworks requires it for an uploaded
     * dataset */
    return json_pack("{s:s, s:{s:s, s:{}, s:s}}", "datasetId", ds, "dataset", "displayName",
                     j->upload_name, "userUploaded", "exampleCount", count);
}

static json_t *create_job_body(const struct lleval_batch_ctx *c, const struct lleval_bjob *j,
                               const char *acct, const char *ds, const char *outds)
{
    json_t *ip = json_object();
    char *in = lleval_xasprintf("accounts/%s/datasets/%s", acct, ds);
    char *out = lleval_xasprintf("accounts/%s/datasets/%s", acct, outds);
    json_t *body;

    /* every request line carries its own max_tokens, temperature, top_p, top_k and
     * seed; the job's defaults repeat the ones the config holds for the whole run */
    if (c->cfg) {
        json_object_set_new(ip, "topP", json_real(c->cfg->top_p));
        if (c->cfg->top_k > 0)
            json_object_set_new(ip, "topK", json_integer(c->cfg->top_k));
    }
    body = json_pack("{s:s, s:s, s:s, s:s, s:o}", "displayName", j->upload_name, "model", c->model,
                     "inputDatasetId", in, "outputDatasetId", out, "inferenceParameters", ip);
    free(in);
    free(out);
    return body;
}

/* The next request while the results and error files are collected. */
static int next_collect(const struct lleval_batch_ctx *c, const char *acct, struct lleval_bjob *j,
                        struct lleval_batch_request *out)
{
    const char *results = lleval_json_str(j->transient, "results_url");
    const char *errors = lleval_json_str(j->transient, "errors_url");
    char *path;

    if (j->output_done && j->error_done) {
        json_object_del(j->transient, "results_url");
        json_object_del(j->transient, "errors_url");
        j->phase = LLEVAL_BJOB_COLLECTED;
        return LLEVAL_BATCH_NEXT_DONE;
    }
    if ((!j->output_done && !results) || (!j->error_done && !errors)) {
        path = lleval_xasprintf("/datasets/%s:getDownloadEndpoint", j->output_id);
        start(c, acct, out, "endpoint", LLEVAL_BATCH_GET, path);
        out->expect_404 = true; /* a failed job never made its output dataset */
        free(path);
        return LLEVAL_BATCH_NEXT_HTTP;
    }
    /* a signed URL: it carries its own authorization, the API key stays home */
    out->method = LLEVAL_BATCH_GET;
    if (!j->output_done) {
        out->step = "output";
        out->url = lleval_xstrdup(results);
        out->sink = LLEVAL_BATCH_SINK_OUTPUT;
    } else {
        out->step = "errors";
        out->url = lleval_xstrdup(errors);
        out->sink = LLEVAL_BATCH_SINK_ERRORS;
    }
    return LLEVAL_BATCH_NEXT_HTTP;
}

static int fw_next(const struct lleval_batch_ctx *c, struct lleval_bjob *j,
                   struct lleval_batch_request *out, struct lleval_err *err)
{
    char ds[LLEVAL_FW_ID_MAX + 1], outds[LLEVAL_FW_ID_MAX + 1];
    const char *acct = account_of(c, err), *step = step_of(j);
    char *path = NULL;
    int rc = LLEVAL_BATCH_NEXT_HTTP;

    if (!acct)
        return err->code;
    if (j->phase == LLEVAL_BJOB_COLLECTED)
        return LLEVAL_BATCH_NEXT_DONE;
    if (j->phase == LLEVAL_BJOB_ENDED) {
        if (!j->output_id) /* nothing was written */
            j->output_done = j->error_done = true;
        return next_collect(c, acct, j, out);
    }
    if (!j->input || lleval_fw_ids(j->upload_name, ds, outds))
        return lleval_err_set(err, LLEVAL_EINVAL, "%s: the job has no input file", c->part);

    switch (j->phase) {
    case LLEVAL_BJOB_NEW:
        step = NULL;
        j->phase = LLEVAL_BJOB_UPLOADING;
        /* fall through */
    case LLEVAL_BJOB_UPLOADING:
        if (step && !strcmp(step, STEP_CREATED)) {
            set_step(j, "upload");
            path = lleval_xasprintf("/datasets/%s:upload", ds);
            start(c, acct, out, "upload", LLEVAL_BATCH_POST, path);
            out->upload_path = lleval_path_join(c->run_dir, j->input);
            out->upload_field = lleval_xstrdup("file");
            out->upload_name = lleval_xstrdup(j->upload_name);
        } else if (!step || !strcmp(step, STEP_NONE)) {
            set_step(j, "create_dataset");
            start(c, acct, out, "create_dataset", LLEVAL_BATCH_POST, "/datasets");
            json_body(out, create_dataset_body(j, ds));
        } else { /* sent before a crash, or answered "exists": where is it? */
            path = lleval_xasprintf("/datasets/%s", ds);
            start(c, acct, out, "find_dataset", LLEVAL_BATCH_GET, path);
            out->expect_404 = true;
        }
        break;
    case LLEVAL_BJOB_UPLOADED:
        step = NULL;
        j->phase = LLEVAL_BJOB_CREATING;
        /* fall through */
    case LLEVAL_BJOB_CREATING:
        if (!step || !strcmp(step, STEP_NONE)) {
            if (!c->model || !*c->model)
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "%s: no model to run (model_id, e.g. "
                                      "accounts/fireworks/models/llama-v3p1-8b-instruct)",
                                      c->part);
            set_step(j, "create_job");
            path = lleval_xasprintf("/batchInferenceJobs?batchInferenceJobId=%s", ds);
            start(c, acct, out, "create_job", LLEVAL_BATCH_POST, path);
            json_body(out, create_job_body(c, j, acct, ds, outds));
        } else {
            path = lleval_xasprintf("/batchInferenceJobs/%s", ds);
            start(c, acct, out, "find_job", LLEVAL_BATCH_GET, path);
            out->expect_404 = true;
        }
        break;
    case LLEVAL_BJOB_SUBMITTED:
        path = lleval_xasprintf("/batchInferenceJobs/%s", j->job_id);
        start(c, acct, out, "status", LLEVAL_BATCH_GET, path);
        out->expect_404 = true; /* a deleted (cancelled) job is gone */
        rc = LLEVAL_BATCH_NEXT_POLL;
        break;
    default:
        return lleval_err_set(err, LLEVAL_EINVAL, "%s: unknown job phase", c->part);
    }
    free(path);
    return rc;
}

/* A string member, or NULL (null, absent, empty, another type). */
static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

/* A count of jobProgress: -1 when absent; LLEVAL_EINVAL naming it when of the wrong type. */
static int count_of(const json_t *o, const char *key, long *out, struct lleval_err *err)
{
    const json_t *v = json_object_get(o, key);
    *out = -1;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return lleval_err_set(err, LLEVAL_EENGINE,
                              WHAT " replied a job whose 'jobProgress.%s' is %s, not a count", key,
                              json_is_integer(v) ? "negative" : lleval_http_json_kind(v));
    *out = (long)json_integer_value(v);
    return 0;
}

/* The id at the end of a resource name ("accounts/a/datasets/x" -> "x"). */
static const char *last_segment(const char *name)
{
    const char *slash = name ? strrchr(name, '/') : NULL;
    return slash ? slash + 1 : name;
}

/* A text from the service as one printable line (owned): valid UTF-8, control characters
 * (a terminal's escapes among them) made spaces. */
static char *one_line(const char *s)
{
    char *safe = lleval_utf8_sanitize(s, strlen(s));
    for (char *p = safe; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return safe;
}

static void set_message(struct lleval_bjob *j, const char *msg)
{
    free(j->message);
    j->message = one_line(msg);
}

/* Reads a batch inference job into j: id, state, counts, output dataset, message. */
static enum lleval_batch_verdict read_job(const json_t *o, struct lleval_bjob *j,
                                          struct lleval_err *err)
{
    const char *name = str_of(o, "name"), *state = str_of(o, "state");
    const json_t *prog = json_object_get(o, "jobProgress");
    const json_t *status = json_object_get(o, "status");
    const char *outds = str_of(o, "outputDatasetId");
    enum lleval_bjob_status st;
    long total, done, ok, failed;

    if (!name || !state) {
        lleval_err_set(err, LLEVAL_EENGINE, WHAT " replied with no batch inference job (no '%s')",
                       name ? "state" : "name");
        return LLEVAL_BATCH_FAIL;
    }
    st = lleval_fw_status(state);
    if (st == LLEVAL_BJOB_S_NONE) {
        char *safe = one_line(state);
        lleval_err_set(err, LLEVAL_EENGINE, WHAT " job %s has an unknown 'state' '%.64s'",
                       last_segment(name), safe);
        free(safe);
        return LLEVAL_BATCH_FAIL;
    }
    if (prog && !json_is_null(prog) && !json_is_object(prog)) {
        lleval_err_set(err, LLEVAL_EENGINE, WHAT " replied a job whose 'jobProgress' is %s",
                       lleval_http_json_kind(prog));
        return LLEVAL_BATCH_FAIL;
    }
    if (count_of(prog, "totalInputRequests", &total, err) ||
        count_of(prog, "totalProcessedRequests", &done, err) ||
        count_of(prog, "successfullyProcessedRequests", &ok, err) ||
        count_of(prog, "failedRequests", &failed, err))
        return LLEVAL_BATCH_FAIL;
    set_str(&j->job_id, last_segment(name));
    set_str(&j->remote_status, state);
    j->status = st;
    if (json_is_object(prog)) {
        j->total = total > done ? total : done;
        j->completed = ok;
        j->failed = failed;
    }
    if (outds)
        set_str(&j->output_id, last_segment(outds));
    if ((st == LLEVAL_BJOB_S_FAILED || st == LLEVAL_BJOB_S_EXPIRED) && str_of(status, "message"))
        set_message(j, str_of(status, "message"));
    if (lleval_bjob_status_final(st)) {
        j->phase = LLEVAL_BJOB_ENDED;
        /* both files are in the output dataset */
        set_str(&j->error_id, j->output_id);
        if (!j->output_id) /* a failed job has no output */
            j->output_done = j->error_done = true;
    } else if (j->phase < LLEVAL_BJOB_SUBMITTED) {
        j->phase = LLEVAL_BJOB_SUBMITTED;
    }
    return LLEVAL_BATCH_OK;
}

/* A signed URL lleval will fetch: http(s), printable, no spaces. */
static bool url_ok(const char *u)
{
    if (!u || (strncmp(u, "https://", 8) && strncmp(u, "http://", 7)))
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

/* filenameToSignedUrls: the URLs of the results and error files, by base name. */
static enum lleval_batch_verdict read_urls(const json_t *o, struct lleval_bjob *j,
                                           struct lleval_err *err)
{
    const json_t *urls = json_object_get(o, "filenameToSignedUrls"), *v;
    const char *key;
    bool results = false, errors = false;

    if (!json_is_object(urls)) {
        lleval_err_set(err, LLEVAL_EENGINE,
                       WHAT " replied a download endpoint whose 'filenameToSignedUrls' is %s, not "
                            "an object",
                       lleval_http_json_kind(urls));
        return LLEVAL_BATCH_FAIL;
    }
    json_object_foreach((json_t *)urls, key, v)
    {
        const char *base = last_segment(key);
        bool is_results = !strcmp(base, RESULTS_FILE), is_errors = !strcmp(base, ERRORS_FILE);
        if (!is_results && !is_errors)
            continue;
        if (!json_is_string(v) || !url_ok(json_string_value(v))) {
            lleval_err_set(err, LLEVAL_EENGINE,
                           WHAT " replied no usable URL for 'filenameToSignedUrls.%s'", base);
            return LLEVAL_BATCH_FAIL;
        }
        json_object_set_new(j->transient, is_results ? "results_url" : "errors_url",
                            json_string(json_string_value(v)));
        results |= is_results;
        errors |= is_errors;
    }
    /* a file the dataset does not have holds nothing to collect */
    j->output_done |= !results;
    j->error_done |= !errors;
    return LLEVAL_BATCH_OK;
}

/* A signed URL refused (expired, 10 minutes after it was made): ask for new ones, a few
 * times. */
static enum lleval_batch_verdict url_refused(struct lleval_bjob *j, const char *step, long status,
                                             struct lleval_err *err)
{
    long asks = (long)lleval_json_int(j->extra, "url_asks", 0) + 1;
    json_object_del(j->transient, "results_url");
    json_object_del(j->transient, "errors_url");
    json_object_set_new(j->extra, "url_asks", json_integer(asks));
    if (asks > MAX_URL_ASKS) {
        lleval_err_set(err, LLEVAL_EENGINE,
                       WHAT " storage refused the %s file %ld times (HTTP %ld): its signed URLs "
                            "do not work",
                       step, asks, status);
        return LLEVAL_BATCH_FAIL;
    }
    return LLEVAL_BATCH_OK;
}

static enum lleval_batch_verdict fw_reply(const struct lleval_batch_ctx *c, struct lleval_bjob *j,
                                          const struct lleval_batch_request *req, long status,
                                          const char *body, size_t len, struct lleval_err *err)
{
    const char *step = req->step;
    enum lleval_batch_verdict v;
    char ds[LLEVAL_FW_ID_MAX + 1], outds[LLEVAL_FW_ID_MAX + 1];
    char why[128];
    json_t *o;

    if (req->sink != LLEVAL_BATCH_SINK_MEMORY) {
        if (status >= 400 && status < 500 && status != 408 && status != 429)
            return url_refused(j, step, status, err);
        v = lleval_batch_classify(status, WHAT " storage", body, len, err);
        if (v != LLEVAL_BATCH_OK)
            return v;
        if (req->sink == LLEVAL_BATCH_SINK_OUTPUT)
            j->output_done = true;
        else
            j->error_done = true;
        return LLEVAL_BATCH_OK;
    }
    if (status == 404 && req->expect_404) {
        if (!strcmp(step, "find_dataset") || !strcmp(step, "find_job")) {
            set_step(j, STEP_NONE); /* never made: make it */
        } else if (!strcmp(step, "endpoint")) {
            j->output_done = j->error_done = true;
        } else { /* status, cancel: the job was deleted */
            set_str(&j->remote_status, "deleted");
            j->status = LLEVAL_BJOB_S_CANCELLED;
            j->cancel_sent |= !strcmp(step, "cancel");
            j->phase = LLEVAL_BJOB_ENDED;
            if (!j->output_id && !lleval_fw_ids(j->upload_name, ds, outds))
                set_str(&j->output_id, outds); /* the rows done before, if any */
            set_str(&j->error_id, j->output_id);
        }
        return LLEVAL_BATCH_OK;
    }
    if (status == 409 && (!strcmp(step, "create_dataset") || !strcmp(step, "create_job"))) {
        set_step(j, "exists"); /* made by an earlier session: look it up */
        return LLEVAL_BATCH_OK;
    }
    v = lleval_batch_classify(status, WHAT, body, len, err);
    if (v != LLEVAL_BATCH_OK)
        return v;
    if (!strcmp(step, "cancel")) { /* DELETE answers {} */
        j->cancel_sent = true;
        j->status = LLEVAL_BJOB_S_CANCELLING;
        return LLEVAL_BATCH_OK;
    }
    o = lleval_http_json_decode(body ? body : "", body ? len : 0, why, sizeof(why));
    if (!json_is_object(o)) {
        lleval_err_set(err, LLEVAL_EENGINE, WHAT " replied with no JSON object to '%s' (%s)", step,
                       o ? "not an object" : why);
        json_decref(o);
        return LLEVAL_BATCH_RETRY; /* a busy proxy's page: ask again */
    }
    v = LLEVAL_BATCH_OK;
    if (!strcmp(step, "create_dataset")) {
        set_step(j, STEP_CREATED);
    } else if (!strcmp(step, "upload") || !strcmp(step, "find_dataset")) {
        const char *state = str_of(o, "state");
        if (!strcmp(step, "find_dataset") && (!state || strcmp(state, "READY"))) {
            set_step(j, STEP_CREATED); /* made, not filled */
        } else if (lleval_fw_ids(j->upload_name, ds, outds)) {
            v = LLEVAL_BATCH_FAIL;
            lleval_err_set(err, LLEVAL_EINVAL, "%s: the job has no upload name", c->part);
        } else {
            set_str(&j->input_id, ds);
            set_step(j, NULL);
            j->phase = LLEVAL_BJOB_UPLOADED;
        }
    } else if (!strcmp(step, "endpoint")) {
        v = read_urls(o, j, err);
    } else { /* create_job, find_job, status: a job */
        v = read_job(o, j, err);
        if (v == LLEVAL_BATCH_OK)
            set_step(j, NULL);
    }
    json_decref(o);
    return v;
}

static int fw_cancel(const struct lleval_batch_ctx *c, const struct lleval_bjob *j,
                     struct lleval_batch_request *out, struct lleval_err *err)
{
    const char *acct;
    char *path;
    if (j->phase != LLEVAL_BJOB_SUBMITTED || !j->job_id || lleval_bjob_status_final(j->status))
        return 0;
    if (!(acct = account_of(c, err)))
        return err->code;
    path = lleval_xasprintf("/batchInferenceJobs/%s", j->job_id);
    start(c, acct, out, "cancel", LLEVAL_BATCH_DELETE, path);
    out->expect_404 = true;
    free(path);
    return 1;
}

/* A code of an error object as a string: Fireworks may write a number. */
static char *code_text(const json_t *code)
{
    if (json_is_string(code) && *json_string_value(code))
        return lleval_xstrdup(json_string_value(code));
    if (json_is_integer(code))
        return lleval_xasprintf("fireworks_%lld", (long long)json_integer_value(code));
    return lleval_xstrdup("fireworks_error");
}

/* A results line {custom_id, response: <chat.completion>} or an error line
 * {custom_id, error: {code, message}} into OpenAI's batch output line. */
static json_t *fw_result_line(const struct lleval_batch_ctx *c, const json_t *line,
                              struct lleval_err *err)
{
    const json_t *cid = json_object_get(line, "custom_id");
    const json_t *resp = json_object_get(line, "response"), *e = json_object_get(line, "error");
    json_t *out;
    (void)c;

    if (!json_is_object(line)) {
        lleval_err_set(err, LLEVAL_EINVAL, "not a JSON object");
        return NULL;
    }
    if (!json_is_string(cid) || !*json_string_value(cid)) {
        lleval_err_set(err, LLEVAL_EINVAL, "no 'custom_id' (a non-empty string is needed)");
        return NULL;
    }
    if (json_is_object(resp)) {
        return json_pack("{s:O, s:{s:i, s:O}, s:n}", "custom_id", cid, "response", "status_code",
                         200, "body", resp, "error");
    }
    if (resp && !json_is_null(resp)) {
        lleval_err_set(err, LLEVAL_EINVAL, "'response' is %s, not an object (a chat completion)",
                       lleval_http_json_kind(resp));
        return NULL;
    }
    if (json_is_object(e) || json_is_string(e)) {
        const json_t *msg = json_is_object(e) ? json_object_get(e, "message") : e;
        char *code = code_text(json_is_object(e) ? json_object_get(e, "code") : NULL);
        out = json_pack("{s:O, s:n, s:{s:s, s:s}}", "custom_id", cid, "response", "error", "code",
                        code, "message",
                        json_is_string(msg) && *json_string_value(msg)
                            ? json_string_value(msg)
                            : "Fireworks reported an error for this request");
        free(code);
        return out;
    }
    lleval_err_set(err, LLEVAL_EINVAL, "neither a 'response' nor an 'error' object");
    return NULL;
}

const struct lleval_batch_provider lleval_batch_fireworks = {
    .name = "fireworks_batch",
    .max_requests = FW_MAX_REQUESTS,
    .max_bytes = FW_MAX_BYTES,
    .next = fw_next,
    .reply = fw_reply,
    .cancel = fw_cancel,
    .result_line = fw_result_line,
};
