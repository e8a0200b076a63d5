/*
 * The openai_batch provider (batchapi.h): OpenAI's Batch API, which other
 * providers implement too. Pure functions of the job's state:
 *   upload   POST /files (multipart: purpose=batch, file) -> file object (id)
 *   create   POST /batches {input_file_id, endpoint, completion_window, metadata}
 *   status   GET /batches/{id} -> status, request_counts, output_file_id,
 *            error_file_id, errors
 *   output / errors   GET /files/{id}/content (JSONL, journaled by the driver)
 *   cancel   POST /batches/{id}/cancel
 * and two lookups for a session that finds a request sent but its reply
 * unrecorded (a crash): find_file lists GET /files?purpose=batch for the
 * job's upload_name, find_batch lists GET /batches for a batch of the job's
 * input_file_id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/batchapi.h"
#include "lleval/engine/http.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

#define OPENAI_MAX_REQUESTS 50000L
#define OPENAI_MAX_BYTES    (200LL * 1000 * 1000) /* 200 MB */
#define OPENAI_ENDPOINT     "/v1/chat/completions"
#define LIST_LIMIT          "100"

/* The statuses of the batch object, in the API's words. */
static const struct {
    const char *word;
    enum lleval_bjob_status status;
} statuses[] = {
    {"validating", LLEVAL_BJOB_S_VALIDATING}, {"in_progress", LLEVAL_BJOB_S_IN_PROGRESS},
    {"finalizing", LLEVAL_BJOB_S_FINALIZING}, {"completed", LLEVAL_BJOB_S_COMPLETED},
    {"failed", LLEVAL_BJOB_S_FAILED},         {"expired", LLEVAL_BJOB_S_EXPIRED},
    {"cancelling", LLEVAL_BJOB_S_CANCELLING}, {"cancelled", LLEVAL_BJOB_S_CANCELLED},
};

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? lleval_xstrdup(s) : NULL;
}

static void start(const struct lleval_batch_ctx *c, struct lleval_batch_request *out,
                  const char *step, enum lleval_batch_method m, const char *path)
{
    out->step = step;
    out->method = m;
    out->url = lleval_xasprintf("%s%s", c->base_url, path);
    lleval_batch_request_auth(out, c->api_key);
}

static void json_body(struct lleval_batch_request *out, json_t *body)
{
    lleval_batch_request_header(out, "Content-Type", "application/json");
    out->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
}

static int ob_next(const struct lleval_batch_ctx *c, struct lleval_bjob *j,
                   struct lleval_batch_request *out, struct lleval_err *err)
{
    char *path;
    switch (j->phase) {
    case LLEVAL_BJOB_NEW:
        if (!j->input || !j->upload_name)
            return lleval_err_set(err, LLEVAL_EINVAL, "%s: the job has no input file", c->part);
        j->phase = LLEVAL_BJOB_UPLOADING; /* recorded before the upload goes out */
        start(c, out, "upload", LLEVAL_BATCH_POST, "/files");
        lleval_batch_request_form(out, "purpose", "batch");
        out->upload_path = lleval_path_join(c->run_dir, j->input);
        out->upload_field = lleval_xstrdup("file");
        out->upload_name = lleval_xstrdup(j->upload_name);
        return LLEVAL_BATCH_NEXT_HTTP;
    case LLEVAL_BJOB_UPLOADING: /* an upload whose reply was never recorded */
        start(c, out, "find_file", LLEVAL_BATCH_GET, "/files?purpose=batch");
        return LLEVAL_BATCH_NEXT_HTTP;
    case LLEVAL_BJOB_UPLOADED: {
        json_t *md = json_object(), *body;
        char attempt[24];
        snprintf(attempt, sizeof(attempt), "%ld", j->attempt);
        json_object_set_new(md, "lleval_run", json_string(c->run_id ? c->run_id : ""));
        json_object_set_new(md, "lleval_part", json_string(c->part ? c->part : ""));
        json_object_set_new(md, "lleval_attempt", json_string(attempt));
        body = json_pack("{s:s, s:s, s:s, s:o}", "input_file_id", j->input_id, "endpoint",
                         OPENAI_ENDPOINT, "completion_window",
                         c->cfg && c->cfg->batch.completion_window ? c->cfg->batch.completion_window
                                                                   : "24h",
                         "metadata", md);
        j->phase = LLEVAL_BJOB_CREATING; /* recorded before the create goes out */
        start(c, out, "create", LLEVAL_BATCH_POST, "/batches");
        json_body(out, body);
        return LLEVAL_BATCH_NEXT_HTTP;
    }
    case LLEVAL_BJOB_CREATING: { /* a create whose reply was never recorded */
        const char *after = lleval_json_str(j->extra, "list_after");
        path = after ? lleval_xasprintf("/batches?limit=" LIST_LIMIT "&after=%s", after)
                     : lleval_xstrdup("/batches?limit=" LIST_LIMIT);
        start(c, out, "find_batch", LLEVAL_BATCH_GET, path);
        free(path);
        return LLEVAL_BATCH_NEXT_HTTP;
    }
    case LLEVAL_BJOB_SUBMITTED:
        path = lleval_xasprintf("/batches/%s", j->job_id);
        start(c, out, "status", LLEVAL_BATCH_GET, path);
        free(path);
        return LLEVAL_BATCH_NEXT_POLL;
    case LLEVAL_BJOB_ENDED:
        if (j->output_id && !j->output_done) {
            path = lleval_xasprintf("/files/%s/content", j->output_id);
            start(c, out, "output", LLEVAL_BATCH_GET, path);
            out->sink = LLEVAL_BATCH_SINK_OUTPUT;
            free(path);
            return LLEVAL_BATCH_NEXT_HTTP;
        }
        if (j->error_id && !j->error_done) {
            path = lleval_xasprintf("/files/%s/content", j->error_id);
            start(c, out, "errors", LLEVAL_BATCH_GET, path);
            out->sink = LLEVAL_BATCH_SINK_ERRORS;
            free(path);
            return LLEVAL_BATCH_NEXT_HTTP;
        }
        j->phase = LLEVAL_BJOB_COLLECTED;
        return LLEVAL_BATCH_NEXT_DONE;
    case LLEVAL_BJOB_COLLECTED:
        return LLEVAL_BATCH_NEXT_DONE;
    }
    return lleval_err_set(err, LLEVAL_EINVAL, "%s: unknown job phase", c->part);
}

/* A string member, or NULL (null, absent, another type). */
static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

static long count_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

/* Reads a batch object into j: id, status, counts, files, errors. */
static enum lleval_batch_verdict read_batch(const json_t *b, struct lleval_bjob *j,
                                            struct lleval_err *err)
{
    const char *id = str_of(b, "id"), *word = str_of(b, "status");
    const json_t *rc = json_object_get(b, "request_counts");
    const json_t *errors = json_object_get(b, "errors");
    enum lleval_bjob_status st = LLEVAL_BJOB_S_NONE;

    if (!id || !word) {
        lleval_err_set(err, LLEVAL_EENGINE,
                       "the batch service replied with no batch object (no 'id' or 'status')");
        return LLEVAL_BATCH_FAIL;
    }
    for (size_t i = 0; i < sizeof(statuses) / sizeof(*statuses); i++)
        if (!strcmp(word, statuses[i].word))
            st = statuses[i].status;
    if (st == LLEVAL_BJOB_S_NONE) {
        lleval_err_set(err, LLEVAL_EENGINE, "batch %s has an unknown status '%s'", id, word);
        return LLEVAL_BATCH_FAIL;
    }
    set_str(&j->job_id, id);
    set_str(&j->remote_status, word);
    j->status = st;
    if (json_is_object(rc)) {
        j->total = count_of(rc, "total");
        j->completed = count_of(rc, "completed");
        j->failed = count_of(rc, "failed");
    }
    if (str_of(b, "output_file_id"))
        set_str(&j->output_id, str_of(b, "output_file_id"));
    if (str_of(b, "error_file_id"))
        set_str(&j->error_id, str_of(b, "error_file_id"));
    if (json_is_object(errors)) { /* {object: list, data: [{code, message, param, line}]} */
        const json_t *first = json_array_get(json_object_get(errors, "data"), 0);
        const char *code = str_of(first, "code"), *msg = str_of(first, "message");
        if (code || msg) {
            char *m = lleval_xasprintf("%s%s%s", code ? code : "", code && msg ? ": " : "",
                                       msg ? msg : "");
            char *safe = lleval_utf8_sanitize(m, strlen(m));
            set_str(&j->message, safe);
            free(safe);
            free(m);
        }
    }
    if (lleval_bjob_status_final(st))
        j->phase = LLEVAL_BJOB_ENDED;
    else if (j->phase < LLEVAL_BJOB_SUBMITTED)
        j->phase = LLEVAL_BJOB_SUBMITTED;
    return LLEVAL_BATCH_OK;
}

/* The list's data array, or NULL with err. */
static const json_t *list_data(const json_t *o, struct lleval_err *err)
{
    const json_t *d = json_object_get(o, "data");
    if (!json_is_array(d))
        lleval_err_set(err, LLEVAL_EENGINE, "the batch service replied with no list ('data')");
    return json_is_array(d) ? d : NULL;
}

static enum lleval_batch_verdict ob_reply(const struct lleval_batch_ctx *c, struct lleval_bjob *j,
                                          const struct lleval_batch_request *req, long status,
                                          const char *body, size_t len, struct lleval_err *err)
{
    enum lleval_batch_verdict v;
    const json_t *data, *it;
    json_t *o = NULL;
    char why[128];
    size_t i;
    (void)c;

    v = lleval_batch_classify(status, "the batch service", body, len, err);
    if (v != LLEVAL_BATCH_OK)
        return v;
    if (req->sink != LLEVAL_BATCH_SINK_MEMORY) { /* the driver journaled the file */
        if (req->sink == LLEVAL_BATCH_SINK_OUTPUT)
            j->output_done = true;
        else
            j->error_done = true;
        return LLEVAL_BATCH_OK;
    }
    o = lleval_http_json_decode(body ? body : "", body ? len : 0, why, sizeof(why));
    if (!json_is_object(o)) {
        json_decref(o);
        lleval_err_set(err, LLEVAL_EENGINE, "the batch service replied with no JSON object (%s)",
                       o ? "not an object" : why);
        return LLEVAL_BATCH_RETRY; /* a busy proxy's page: ask again */
    }
    v = LLEVAL_BATCH_OK;
    if (!strcmp(req->step, "upload")) {
        const char *id = str_of(o, "id");
        if (!id) {
            lleval_err_set(err, LLEVAL_EENGINE, "the file upload replied with no file 'id'");
            v = LLEVAL_BATCH_FAIL;
        } else {
            set_str(&j->input_id, id);
            j->phase = LLEVAL_BJOB_UPLOADED;
        }
    } else if (!strcmp(req->step, "find_file")) {
        if (!(data = list_data(o, err))) {
            v = LLEVAL_BATCH_FAIL;
        } else {
            j->phase = LLEVAL_BJOB_NEW; /* not found: upload it */
            json_array_foreach(data, i, it)
            {
                const char *name = str_of(it, "filename"), *id = str_of(it, "id");
                if (id && name && j->upload_name && !strcmp(name, j->upload_name)) {
                    set_str(&j->input_id, id);
                    j->phase = LLEVAL_BJOB_UPLOADED;
                    break;
                }
            }
        }
    } else if (!strcmp(req->step, "find_batch")) {
        if (!(data = list_data(o, err))) {
            v = LLEVAL_BATCH_FAIL;
        } else {
            const json_t *found = NULL;
            json_array_foreach(data, i, it)
            {
                const char *in = str_of(it, "input_file_id");
                if (in && j->input_id && !strcmp(in, j->input_id)) {
                    found = it;
                    break;
                }
            }
            json_object_del(j->extra, "list_after");
            if (found) {
                v = read_batch(found, j, err);
            } else if (json_is_true(json_object_get(o, "has_more")) && str_of(o, "last_id")) {
                json_object_set_new(j->extra, "list_after", json_string(str_of(o, "last_id")));
            } else {
                j->phase = LLEVAL_BJOB_UPLOADED; /* never created: create it */
            }
        }
    } else { /* create, status, cancel: a batch object */
        v = read_batch(o, j, err);
        if (v == LLEVAL_BATCH_OK && !strcmp(req->step, "cancel"))
            j->cancel_sent = true;
    }
    json_decref(o);
    return v;
}

static int ob_cancel(const struct lleval_batch_ctx *c, const struct lleval_bjob *j,
                     struct lleval_batch_request *out, struct lleval_err *err)
{
    char *path;
    (void)err;
    if (j->phase != LLEVAL_BJOB_SUBMITTED || !j->job_id)
        return 0;
    path = lleval_xasprintf("/batches/%s/cancel", j->job_id);
    start(c, out, "cancel", LLEVAL_BATCH_POST, path);
    free(path);
    return 1;
}

/* An error-file line of a request the batch never ran (it expired or was
 * cancelled first) is no result: the request stays missing. */
static json_t *ob_result_line(const struct lleval_batch_ctx *c, const json_t *line,
                              struct lleval_err *err)
{
    const json_t *e = json_object_get(line, "error");
    const char *code = str_of(e, "code");
    (void)c;
    if (!json_is_object(line)) {
        lleval_err_set(err, LLEVAL_EINVAL, "not a JSON object");
        return NULL;
    }
    if (!json_object_get(line, "response") || json_is_null(json_object_get(line, "response"))) {
        if (code && (!strcmp(code, "batch_expired") || !strcmp(code, "batch_cancelled"))) {
            err->code = 0;
            return NULL;
        }
    }
    return json_incref((json_t *)line);
}

const struct lleval_batch_provider lleval_batch_openai = {
    .name = "openai_batch",
    .max_requests = OPENAI_MAX_REQUESTS,
    .max_bytes = OPENAI_MAX_BYTES,
    .next = ob_next,
    .reply = ob_reply,
    .cancel = ob_cancel,
    .result_line = ob_result_line,
};
