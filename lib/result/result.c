/*
 * Result lines: the writer (the scheduler's journal line for every request)
 * and the typed decoder every reader uses (see result.h, docs/formats.md).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/platform/platform.h"
#include "lleval/result/result.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"

json_t *lleval_result_line(const char *custom_id, const char *engine_name,
                           const struct lleval_answer *a, long http_status, const char *error_code,
                           const char *error_message, double latency_ms, long attempts)
{
    char id[64];
    json_t *line = json_object();
    json_t *facts = json_object();
    const char *finish = a ? lleval_finish_name(a->finish) : "error";

    snprintf(id, sizeof(id), "batch_req_%016llx", (unsigned long long)lleval_hash64(custom_id));
    json_object_set_new(line, "id", json_string(id));
    json_object_set_new(line, "custom_id", json_string(custom_id));
    if (a) {
        json_t *resp = json_object();
        json_t *body = json_object();
        json_t *choice = json_object();
        json_t *usage = json_object();
        long pt = a->prompt_tokens < 0 ? 0 : a->prompt_tokens;
        long ct = a->completion_tokens < 0 ? 0 : a->completion_tokens;

        json_object_set_new(resp, "status_code", json_integer(http_status ? http_status : 200));
        json_object_set_new(resp, "request_id",
                            a->request_id ? json_string(a->request_id) : json_string(id));
        json_object_set_new(body, "object", json_string("chat.completion"));
        if (a->model)
            json_object_set_new(body, "model", json_string(a->model));
        json_object_set_new(choice, "index", json_integer(0));
        json_object_set_new(
            choice, "message",
            json_pack("{s:s, s:s}", "role", "assistant", "content", a->content ? a->content : ""));
        json_object_set_new(choice, "finish_reason", json_string(finish));
        json_object_set_new(body, "choices", json_pack("[o]", choice));
        json_object_set_new(usage, "prompt_tokens", json_integer(pt));
        json_object_set_new(usage, "completion_tokens", json_integer(ct));
        json_object_set_new(usage, "total_tokens", json_integer(pt + ct));
        json_object_set_new(body, "usage", usage);
        json_object_set_new(resp, "body", body);
        json_object_set_new(line, "response", resp);
        json_object_set_new(line, "error", json_null());
    } else {
        char *msg = lleval_utf8_sanitize(error_message ? error_message : "",
                                         error_message ? strlen(error_message) : 0);
        json_object_set_new(
            line, "response",
            json_pack("{s:I, s:n}", "status_code", (json_int_t)http_status, "body"));
        json_object_set_new(
            line, "error",
            json_pack("{s:s, s:s}", "code", error_code ? error_code : "error", "message", msg));
        free(msg);
    }
    json_object_set_new(facts, "engine", json_string(engine_name));
    json_object_set_new(facts, "finish_reason", json_string(finish));
    json_object_set_new(facts, "latency_ms", json_real(latency_ms));
    json_object_set_new(facts, "prompt_tokens",
                        json_integer(a && a->prompt_tokens >= 0 ? a->prompt_tokens : 0));
    json_object_set_new(facts, "completion_tokens",
                        json_integer(a && a->completion_tokens >= 0 ? a->completion_tokens : 0));
    json_object_set_new(facts, "prompt_tps", json_real(a ? a->prompt_tps : 0));
    json_object_set_new(facts, "gen_tps", json_real(a ? a->gen_tps : 0));
    json_object_set_new(facts, "load_ms", json_real(a ? a->load_ms : 0));
    json_object_set_new(facts, "attempts", json_integer(attempts));
    json_object_set_new(facts, "finished_at", json_real(lleval_now()));
    json_object_set_new(line, "lleval", facts);
    {
        /* no secret in a journal: an answer or error text may echo the key */
        json_t *redacted = lleval_redact_json(line);
        if (redacted) {
            json_decref(line);
            line = redacted;
        }
    }
    return line;
}

/* ---- decoding ------------------------------------------------------------ */

/* The decoding state: the view and the first damaged field. */
struct dec {
    struct lleval_result_view *v;
    struct lleval_err *err;
    int rc;
};

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Records the first damaged field; the field then reads as absent. */
static void damaged(struct dec *d, const char *field, const json_t *j, const char *want)
{
    if (d->rc)
        return;
    d->rc = lleval_err_set(d->err, LLEVAL_EINVAL, "result line: '%s' is %s, not %s", field,
                           type_name(j), want);
}

/* A member that must be an object when present: NULL when absent or damaged. */
static const json_t *get_obj(struct dec *d, const json_t *obj, const char *key, const char *field,
                             bool null_ok)
{
    const json_t *j = json_object_get(obj, key);
    if (!j || json_is_object(j) || (null_ok && json_is_null(j)))
        return json_is_object(j) ? j : NULL;
    damaged(d, field, j, "an object");
    return NULL;
}

static const char *get_str(struct dec *d, const json_t *obj, const char *key, const char *field)
{
    const json_t *j = json_object_get(obj, key);
    if (!j)
        return NULL;
    if (json_is_string(j))
        return json_string_value(j);
    damaged(d, field, j, "a string");
    return NULL;
}

static double get_real(struct dec *d, const json_t *obj, const char *key, const char *field)
{
    const json_t *j = json_object_get(obj, key);
    if (!j)
        return NAN;
    if (json_is_number(j))
        return json_number_value(j);
    damaged(d, field, j, "a number");
    return NAN;
}

/* A count: a non-negative integer (a real is cut to its integer part, as the
 * readers always did); LLEVAL_RESULT_NO_COUNT when absent or damaged. */
static long long get_count(struct dec *d, const json_t *obj, const char *key, const char *field)
{
    const json_t *j = json_object_get(obj, key);
    if (!j)
        return LLEVAL_RESULT_NO_COUNT;
    if (json_is_integer(j) && json_integer_value(j) >= 0)
        return (long long)json_integer_value(j);
    if (json_is_real(j) && json_real_value(j) >= 0 && json_real_value(j) < 9.2e18)
        return (long long)json_real_value(j);
    damaged(d, field, j, "a count from 0 to 9.2e18");
    return LLEVAL_RESULT_NO_COUNT;
}

void lleval_result_view_init(struct lleval_result_view *v)
{
    memset(v, 0, sizeof(*v));
    v->prompt_tokens = LLEVAL_RESULT_NO_COUNT;
    v->completion_tokens = LLEVAL_RESULT_NO_COUNT;
    v->attempts = LLEVAL_RESULT_NO_COUNT;
    v->latency_ms = NAN;
    v->prompt_tps = NAN;
    v->gen_tps = NAN;
    v->load_ms = NAN;
    v->finished_at = NAN;
}

/* response: status, content, the engine's finish reason; returns the body. */
static const json_t *decode_response(struct dec *d, const json_t *line)
{
    struct lleval_result_view *v = d->v;
    const json_t *resp = get_obj(d, line, "response", "response", false);
    const json_t *status = json_object_get(resp, "status_code");
    const json_t *body = get_obj(d, resp, "body", "response.body", true);
    const json_t *choices = json_object_get(body, "choices");
    const json_t *choice = NULL, *msg;

    if (json_is_integer(status) && json_integer_value(status) >= 0 &&
        json_integer_value(status) <= 999)
        v->http_status = (long)json_integer_value(status);
    else if (status)
        damaged(d, "response.status_code", status, "an HTTP status");
    if (choices && !json_is_array(choices))
        damaged(d, "response.body.choices", choices, "an array");
    else if (json_array_size(choices))
        choice = json_array_get(choices, 0);
    if (choice && !json_is_object(choice)) {
        damaged(d, "response.body.choices[0]", choice, "an object");
        choice = NULL;
    }
    msg = get_obj(d, choice, "message", "response.body.choices[0].message", false);
    v->content = get_str(d, msg, "content", "response.body.choices[0].message.content");
    v->body_finish = get_str(d, choice, "finish_reason", "response.body.choices[0].finish_reason");
    return body;
}

const char *lleval_result_custom_id(const json_t *line)
{
    const json_t *j = json_object_get(line, "custom_id");
    return json_is_string(j) ? json_string_value(j) : NULL;
}

bool lleval_result_failed(const json_t *line)
{
    const json_t *error = json_object_get(line, "error");
    return error && !json_is_null(error);
}

int lleval_result_decode(const json_t *line, struct lleval_result_view *v, struct lleval_err *err)
{
    struct dec d = {v, err, 0};
    const json_t *error, *facts, *tokens, *body;

    lleval_result_view_init(v);
    if (!json_is_object(line))
        return lleval_err_set(err, LLEVAL_EINVAL, "result line: %s, not an object",
                              line ? type_name(line) : "nothing");
    v->custom_id = get_str(&d, line, "custom_id", "custom_id");
    if (!v->custom_id && !d.rc)
        d.rc = lleval_err_set(err, LLEVAL_EINVAL, "result line: no 'custom_id'");
    body = decode_response(&d, line);

    error = json_object_get(line, "error");
    v->failed = lleval_result_failed(line);
    if (json_is_object(error)) {
        v->error_code = get_str(&d, error, "code", "error.code");
        v->error_message = get_str(&d, error, "message", "error.message");
    } else if (v->failed) {
        damaged(&d, "error", error, "an object or null");
    }
    v->ok = v->http_status == 200 && !v->failed && v->content;

    facts = get_obj(&d, line, "lleval", "lleval", false);
    v->has_facts = facts != NULL;
    v->engine = get_str(&d, facts, "engine", "lleval.engine");
    v->finish_reason = get_str(&d, facts, "finish_reason", "lleval.finish_reason");
    v->latency_ms = get_real(&d, facts, "latency_ms", "lleval.latency_ms");
    v->prompt_tps = get_real(&d, facts, "prompt_tps", "lleval.prompt_tps");
    v->gen_tps = get_real(&d, facts, "gen_tps", "lleval.gen_tps");
    v->load_ms = get_real(&d, facts, "load_ms", "lleval.load_ms");
    v->finished_at = get_real(&d, facts, "finished_at", "lleval.finished_at");
    v->attempts = get_count(&d, facts, "attempts", "lleval.attempts");
    if (json_object_get(facts, "prompt_tokens")) {
        v->prompt_tokens = get_count(&d, facts, "prompt_tokens", "lleval.prompt_tokens");
        v->completion_tokens =
            get_count(&d, facts, "completion_tokens", "lleval.completion_tokens");
    } else {
        tokens = get_obj(&d, body, "usage", "response.body.usage", false);
        v->prompt_tokens =
            get_count(&d, tokens, "prompt_tokens", "response.body.usage.prompt_tokens");
        v->completion_tokens =
            get_count(&d, tokens, "completion_tokens", "response.body.usage.completion_tokens");
    }
    return d.rc;
}

int lleval_result_decode_text(const char *text, size_t len, json_t **json,
                              struct lleval_result_view *v, struct lleval_err *err)
{
    json_error_t je;
    *json = json_loadb(text, len, 0, &je);
    if (!*json) {
        lleval_result_view_init(v);
        return lleval_err_set(err, LLEVAL_EINVAL, "result line: not JSON: %s",
                              lleval_json_error_text(&je));
    }
    return lleval_result_decode(*json, v, err);
}
