/*
 * What every cloud batch provider shares (see batchapi.h): the job's phase
 * and status names, the job's JSON form in state.json, the request object,
 * reply classification and the provider table.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/batchapi.h"
#include "lleval/engine/fireworks_batch.h"
#include "lleval/engine/http.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static const char *const phase_names[] = {
    "new", "uploading", "uploaded", "creating", "submitted", "ended", "collected",
};
static const char *const status_names[] = {
    "none",   "validating", "in_progress", "finalizing", "completed",
    "failed", "expired",    "cancelling",  "cancelled",
};

static int name_index(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, names[i]))
            return (int)i;
    return -1;
}

const char *lleval_bjob_phase_name(enum lleval_bjob_phase p)
{
    return (unsigned)p < sizeof(phase_names) / sizeof(*phase_names) ? phase_names[p] : "unknown";
}

int lleval_bjob_phase_parse(const char *s, enum lleval_bjob_phase *out)
{
    int i = name_index(s, phase_names, sizeof(phase_names) / sizeof(*phase_names));
    if (i < 0)
        return LLEVAL_EINVAL;
    *out = (enum lleval_bjob_phase)i;
    return 0;
}

const char *lleval_bjob_status_name(enum lleval_bjob_status s)
{
    return (unsigned)s < sizeof(status_names) / sizeof(*status_names) ? status_names[s] : "unknown";
}

int lleval_bjob_status_parse(const char *s, enum lleval_bjob_status *out)
{
    int i = name_index(s, status_names, sizeof(status_names) / sizeof(*status_names));
    if (i < 0)
        return LLEVAL_EINVAL;
    *out = (enum lleval_bjob_status)i;
    return 0;
}

bool lleval_bjob_status_final(enum lleval_bjob_status s)
{
    return s == LLEVAL_BJOB_S_COMPLETED || s == LLEVAL_BJOB_S_FAILED ||
           s == LLEVAL_BJOB_S_EXPIRED || s == LLEVAL_BJOB_S_CANCELLED;
}

void lleval_bjob_init(struct lleval_bjob *j)
{
    memset(j, 0, sizeof(*j));
    j->attempt = 1;
    j->total = j->completed = j->failed = -1;
    j->extra = json_object();
    j->transient = json_object();
}

void lleval_bjob_release(struct lleval_bjob *j)
{
    free(j->provider);
    free(j->input);
    free(j->upload_name);
    free(j->input_id);
    free(j->job_id);
    free(j->remote_status);
    free(j->output_id);
    free(j->error_id);
    free(j->message);
    json_decref(j->extra);
    json_decref(j->transient);
    memset(j, 0, sizeof(*j));
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *lleval_bjob_to_json(const struct lleval_bjob *j)
{
    json_t *o = json_object();
    json_object_set_new(o, "provider", str_or_null(j->provider));
    json_object_set_new(o, "attempt", json_integer(j->attempt));
    json_object_set_new(o, "input", str_or_null(j->input));
    json_object_set_new(o, "input_requests", json_integer(j->input_requests));
    json_object_set_new(o, "upload_name", str_or_null(j->upload_name));
    json_object_set_new(o, "phase", json_string(lleval_bjob_phase_name(j->phase)));
    json_object_set_new(o, "input_id", str_or_null(j->input_id));
    json_object_set_new(o, "job_id", str_or_null(j->job_id));
    json_object_set_new(o, "status", json_string(lleval_bjob_status_name(j->status)));
    json_object_set_new(o, "remote_status", str_or_null(j->remote_status));
    json_object_set_new(o, "total", json_integer(j->total));
    json_object_set_new(o, "completed", json_integer(j->completed));
    json_object_set_new(o, "failed", json_integer(j->failed));
    json_object_set_new(o, "output_id", str_or_null(j->output_id));
    json_object_set_new(o, "error_id", str_or_null(j->error_id));
    json_object_set_new(o, "output_done", json_boolean(j->output_done));
    json_object_set_new(o, "error_done", json_boolean(j->error_done));
    json_object_set_new(o, "message", str_or_null(j->message));
    json_object_set_new(o, "cancel_sent", json_boolean(j->cancel_sent));
    json_object_set_new(o, "extra", j->extra ? json_deep_copy(j->extra) : json_object());
    return o;
}

int lleval_bjob_from_json(const json_t *o, struct lleval_bjob *j, struct lleval_err *err)
{
    struct lleval_json_reader rd = {"state.json", "lleval wrote it", err, 0};
    const json_t *extra;
    char *phase = NULL, *status = NULL;

    lleval_bjob_init(j);
    if (!json_is_object(o))
        return lleval_err_set(err, LLEVAL_EINVAL, "state.json: 'remote' must be an object");
    lleval_jr_str(&rd, o, "remote.", "provider", true, &j->provider);
    lleval_jr_long(&rd, o, "remote.", "attempt", &j->attempt);
    lleval_jr_str(&rd, o, "remote.", "input", true, &j->input);
    lleval_jr_long(&rd, o, "remote.", "input_requests", &j->input_requests);
    lleval_jr_str(&rd, o, "remote.", "upload_name", true, &j->upload_name);
    lleval_jr_str(&rd, o, "remote.", "phase", false, &phase);
    lleval_jr_str(&rd, o, "remote.", "input_id", true, &j->input_id);
    lleval_jr_str(&rd, o, "remote.", "job_id", true, &j->job_id);
    lleval_jr_str(&rd, o, "remote.", "status", false, &status);
    lleval_jr_str(&rd, o, "remote.", "remote_status", true, &j->remote_status);
    lleval_jr_long(&rd, o, "remote.", "total", &j->total);
    lleval_jr_long(&rd, o, "remote.", "completed", &j->completed);
    lleval_jr_long(&rd, o, "remote.", "failed", &j->failed);
    lleval_jr_str(&rd, o, "remote.", "output_id", true, &j->output_id);
    lleval_jr_str(&rd, o, "remote.", "error_id", true, &j->error_id);
    lleval_jr_bool(&rd, o, "remote.", "output_done", &j->output_done);
    lleval_jr_bool(&rd, o, "remote.", "error_done", &j->error_done);
    lleval_jr_str(&rd, o, "remote.", "message", true, &j->message);
    lleval_jr_bool(&rd, o, "remote.", "cancel_sent", &j->cancel_sent);
    extra = lleval_jr_obj(&rd, o, "remote.", "extra");
    if (extra) {
        json_decref(j->extra);
        j->extra = json_deep_copy(extra);
    }
    if (!rd.rc && phase && lleval_bjob_phase_parse(phase, &j->phase))
        lleval_jr_wrong(&rd, "remote.", "phase", "a job phase (new, uploading, ...)");
    if (!rd.rc && status && lleval_bjob_status_parse(status, &j->status))
        lleval_jr_wrong(&rd, "remote.", "status", "a job status (none, validating, ...)");
    if (!rd.rc && j->attempt < 1)
        lleval_jr_wrong(&rd, "remote.", "attempt", "a positive integer");
    free(phase);
    free(status);
    return rd.rc;
}

void lleval_batch_request_init(struct lleval_batch_request *r)
{
    memset(r, 0, sizeof(*r));
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void lleval_batch_request_release(struct lleval_batch_request *r)
{
    free(r->url);
    free_strv(r->headers, r->n_headers);
    free(r->body);
    free_strv(r->form_names, r->n_form);
    free_strv(r->form_values, r->n_form);
    free(r->upload_path);
    free(r->upload_field);
    free(r->upload_name);
    lleval_batch_request_init(r);
}

void lleval_batch_request_header(struct lleval_batch_request *r, const char *name,
                                 const char *value)
{
    r->headers = lleval_xrealloc(r->headers, (r->n_headers + 1) * sizeof(*r->headers));
    r->headers[r->n_headers++] = lleval_xasprintf("%s: %s", name, value);
}

void lleval_batch_request_form(struct lleval_batch_request *r, const char *name, const char *value)
{
    r->form_names = lleval_xrealloc(r->form_names, (r->n_form + 1) * sizeof(*r->form_names));
    r->form_values = lleval_xrealloc(r->form_values, (r->n_form + 1) * sizeof(*r->form_values));
    r->form_names[r->n_form] = lleval_xstrdup(name);
    r->form_values[r->n_form++] = lleval_xstrdup(value);
}

void lleval_batch_request_auth(struct lleval_batch_request *r, const char *key)
{
    if (key && *key) {
        char *v = lleval_xasprintf("Bearer %s", key);
        lleval_batch_request_header(r, "Authorization", v);
        free(v);
    }
}

enum lleval_batch_verdict lleval_batch_classify(long status, const char *what, const char *body,
                                                size_t len, struct lleval_err *err)
{
    char *text;
    enum lleval_batch_verdict v;

    if (status >= 200 && status < 300)
        return LLEVAL_BATCH_OK;
    if (status == 0) {
        lleval_err_set(err, LLEVAL_EENGINE, "%s: no complete reply", what);
        return LLEVAL_BATCH_RETRY;
    }
    v = lleval_http_classify(status) == LLEVAL_REPLY_RETRY ? LLEVAL_BATCH_RETRY : LLEVAL_BATCH_FAIL;
    text = lleval_http_error_text(body ? body : "", body ? len : 0, NULL);
    lleval_err_set(err, LLEVAL_EENGINE, "%s replied HTTP %ld%s%s", what, status, *text ? ": " : "",
                   text);
    free(text);
    return v;
}

const struct lleval_batch_provider *lleval_batch_provider_for(enum lleval_engine_kind k)
{
    switch (k) {
    case LLEVAL_ENGINE_OPENAI_BATCH:
        return &lleval_batch_openai;
    case LLEVAL_ENGINE_FIREWORKS_BATCH:
        return &lleval_batch_fireworks;
    default:
        return NULL;
    }
}

bool lleval_engine_is_batch(enum lleval_engine_kind k)
{
    return lleval_batch_provider_for(k) != NULL;
}
