/*
 * Result lines: the writer (the scheduler's journal line for every request,
 * written as text with jwrite, no json_t built to be dumped) and the typed
 * decoder every reader uses (see result.h, docs/formats.md).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/platform/platform.h"
#include "lleval/result/result.h"
#include "lleval/util/json.h"
#include "lleval/util/jscan.h"
#include "lleval/util/jwrite.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"

/* ---- writing ------------------------------------------------------------- */

void lleval_result_text_init(struct lleval_result_text *rt)
{
    memset(rt, 0, sizeof(*rt));
    lleval_sb_init(&rt->line, 0);
    lleval_result_view_init(&rt->view);
}

static void drop_owned(struct lleval_result_text *rt)
{
    for (size_t i = 0; i < rt->n_owned; i++)
        free(rt->owned[i]);
    rt->n_owned = 0;
}

void lleval_result_text_release(struct lleval_result_text *rt)
{
    drop_owned(rt);
    lleval_sb_release(&rt->line);
    lleval_result_view_init(&rt->view);
}

/* s with its secrets replaced (no secret in a journal: an answer or an error
 * text may echo the key), kept by rt when a copy was needed. */
static const char *clean(struct lleval_result_text *rt, const char *s)
{
    char *r = lleval_redact_dup(s);
    if (!r)
        return s;
    rt->owned[rt->n_owned++] = r;
    return r;
}

/* `,"key":` (key is a literal: `,\"key\":` written as it stands) then the value. */
static void str_member(struct lleval_sb *sb, const char *key, const char *s)
{
    lleval_sb_adds(sb, key);
    lleval_jw_str(sb, s);
}

static void int_member(struct lleval_sb *sb, const char *key, long long v)
{
    lleval_sb_adds(sb, key);
    lleval_jw_int(sb, v);
}

/* A real member; jansson has no real for an infinity or NaN, and the line
 * built as a json_t left such a member out: so does this. Returns the value
 * as written (15 digits), as the decoder reads it, or NAN when left out. */
static double real_member(struct lleval_sb *sb, const char *key, double v)
{
    size_t at;
    if (!isfinite(v))
        return NAN;
    lleval_sb_adds(sb, key);
    if (v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
        /* an integral value: "%.15g" writes its digits, jansson adds ".0" */
        lleval_jw_int(sb, (long long)v);
        lleval_sb_add(sb, ".0", 2);
        return v;
    }
    at = sb->len;
    lleval_jw_real(sb, v);
    /* read back as strtod reads it (the scanner's exact decimal path, else strtod) */
    struct lleval_jscan js = {(const unsigned char *)sb->buf + at,
                              (const unsigned char *)sb->buf + sb->len, NULL, false};
    bool is_int;
    long long iv;
    double dv;
    if (lleval_jscan_num(&js, &is_int, &iv, &dv) && js.p == js.end)
        return dv;
    return strtod(sb->buf + at, NULL);
}

/* "batch_req_" and the custom_id's hash in 16 hex digits, into id[27]. */
static void request_id(char id[27], const char *custom_id)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t h = lleval_hash64(custom_id);
    memcpy(id, "batch_req_", 10);
    for (int i = 15; i >= 0; i--, h >>= 4)
        id[10 + i] = hex[h & 15];
    id[26] = '\0';
}

void lleval_result_text_build(struct lleval_result_text *rt, const char *custom_id,
                              const char *engine_name, const struct lleval_answer *a,
                              long http_status, const char *error_code, const char *error_message,
                              double latency_ms, long attempts)
{
    struct lleval_result_view *v = &rt->view;
    struct lleval_sb *sb = &rt->line;
    char id[27];
    const char *finish = a ? lleval_finish_name(a->finish) : "error";

    drop_owned(rt);
    lleval_sb_reset(sb);
    lleval_result_view_init(v);
    request_id(id, custom_id);
    v->custom_id = clean(rt, custom_id);
    v->engine = clean(rt, engine_name);
    v->finish_reason = finish;
    v->has_facts = true;
    lleval_sb_adds(sb, "{\"id\":");
    lleval_jw_str(sb, id);
    str_member(sb, ",\"custom_id\":", v->custom_id);
    lleval_sb_adds(sb, ",\"response\":");
    if (a) {
        long pt = a->prompt_tokens < 0 ? 0 : a->prompt_tokens;
        long ct = a->completion_tokens < 0 ? 0 : a->completion_tokens;
        long status = http_status ? http_status : 200;
        const char *model = a->model ? clean(rt, a->model) : NULL;

        v->http_status = status >= 0 && status <= 999 ? status : 0;
        v->content = clean(rt, a->content ? a->content : "");
        v->body_finish = finish;
        int_member(sb, "{\"status_code\":", status);
        str_member(sb, ",\"request_id\":", a->request_id ? clean(rt, a->request_id) : id);
        lleval_sb_adds(sb, ",\"body\":{\"object\":\"chat.completion\"");
        if (model)
            str_member(sb, ",\"model\":", model);
        str_member(sb,
                   ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":",
                   v->content);
        str_member(sb, "},\"finish_reason\":", finish);
        int_member(sb, "}],\"usage\":{\"prompt_tokens\":", pt);
        int_member(sb, ",\"completion_tokens\":", ct);
        int_member(sb, ",\"total_tokens\":", (long long)pt + ct);
        lleval_sb_adds(sb, "}}},\"error\":null");
    } else {
        char *msg = lleval_utf8_sanitize(error_message ? error_message : "",
                                         error_message ? strlen(error_message) : 0);
        rt->owned[rt->n_owned++] = msg;
        v->http_status = http_status >= 0 && http_status <= 999 ? http_status : 0;
        v->failed = true;
        v->error_code = clean(rt, error_code ? error_code : "error");
        v->error_message = clean(rt, msg);
        int_member(sb, "{\"status_code\":", http_status);
        str_member(sb, ",\"body\":null},\"error\":{\"code\":", v->error_code);
        str_member(sb, ",\"message\":", v->error_message);
        lleval_sb_addch(sb, '}');
    }
    v->ok = v->http_status == 200 && !v->failed && v->content;
    v->prompt_tokens = a && a->prompt_tokens >= 0 ? a->prompt_tokens : 0;
    v->completion_tokens = a && a->completion_tokens >= 0 ? a->completion_tokens : 0;
    v->attempts = attempts >= 0 ? attempts : LLEVAL_RESULT_NO_COUNT;
    str_member(sb, ",\"lleval\":{\"engine\":", v->engine);
    str_member(sb, ",\"finish_reason\":", finish);
    /* a member left out (not finite) is never the first: the commas hold */
    v->latency_ms = real_member(sb, ",\"latency_ms\":", latency_ms);
    int_member(sb, ",\"prompt_tokens\":", v->prompt_tokens);
    int_member(sb, ",\"completion_tokens\":", v->completion_tokens);
    v->prompt_tps = real_member(sb, ",\"prompt_tps\":", a ? a->prompt_tps : 0);
    v->gen_tps = real_member(sb, ",\"gen_tps\":", a ? a->gen_tps : 0);
    v->load_ms = real_member(sb, ",\"load_ms\":", a ? a->load_ms : 0);
    int_member(sb, ",\"attempts\":", attempts);
    v->finished_at = real_member(sb, ",\"finished_at\":", lleval_now());
    lleval_sb_adds(sb, "}}\n");
}

json_t *lleval_result_line(const char *custom_id, const char *engine_name,
                           const struct lleval_answer *a, long http_status, const char *error_code,
                           const char *error_message, double latency_ms, long attempts)
{
    struct lleval_result_text rt;
    json_t *line;
    lleval_result_text_init(&rt);
    lleval_result_text_build(&rt, custom_id, engine_name, a, http_status, error_code, error_message,
                             latency_ms, attempts);
    line = json_loadb(rt.line.buf, rt.line.len, 0, NULL);
    lleval_result_text_release(&rt);
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
