/*
 * The openai adapter: any OpenAI-compatible server (vLLM, LM Studio,
 * llama-server, text-generation-webui, cloud APIs). base_url includes the
 * version prefix by convention ("http://127.0.0.1:8000/v1"): requests go to
 * {base}/chat/completions and the probe reads {base}/models.
 *
 * Also holds the OpenAI chat request/reply mapping that the llamacpp
 * adapter reuses (declared in http.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/engine/http.h"
#include "lleval/engine/probe.h"
#include "lleval/util/redact.h"
#include "lleval/util/json.h"
#include "engine_int.h"

enum lleval_finish lleval_openai_finish(const char *reason)
{
    static const char *const length[] = {"length", "max_tokens", "model_length"};
    static const char *const error[] = {"content_filter", "error"};
    if (!reason)
        return LLEVAL_FINISH_STOP;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(length); i++)
        if (!strcmp(reason, length[i]))
            return LLEVAL_FINISH_LENGTH;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(error); i++)
        if (!strcmp(reason, error[i]))
            return LLEVAL_FINISH_ERROR;
    /* stop, eos, tool_calls, function_call, end_turn, and anything new */
    return LLEVAL_FINISH_STOP;
}

/* Appends `"key":value` to sb, after a comma unless *first. */
static void add_member(struct lleval_sb *sb, bool *first, const char *key, const json_t *v)
{
    json_t *k = json_string(key);
    if (!*first)
        lleval_sb_addch(sb, ',');
    *first = false;
    lleval_json_dump_sb(k, sb);
    lleval_sb_addch(sb, ':');
    lleval_json_dump_sb(v, sb);
    json_decref(k);
}

/* True for the fields the chat body leaves out (see http.h). */
static bool dropped(const char *key, const json_t *v, bool drop_top_k0)
{
    return json_is_null(v) || !strcmp(key, "stream") || !strcmp(key, "stream_options") ||
           (!strcmp(key, "stop") && json_is_array(v) && !json_array_size(v)) ||
           (drop_top_k0 && !strcmp(key, "top_k") && json_is_integer(v) &&
            json_integer_value(v) == 0);
}

int lleval_openai_chat_body(const struct lleval_engine *e, const json_t *body, bool drop_top_k0,
                            struct lleval_sb *sb, struct lleval_err *err)
{
    const char *key, *model_id = e->cfg ? e->cfg->model_id : NULL;
    const json_t *v;
    json_t *tmp;
    bool first = true, have_model = false;
    if (!json_is_object(body))
        return lleval_err_set(err, LLEVAL_EINVAL, "the batch request body is not a JSON object");
    if (!json_is_array(json_object_get(body, "messages")) ||
        !json_array_size(json_object_get(body, "messages")))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "the batch request body has no \"messages\" list");
    lleval_sb_addch(sb, '{');
    json_object_foreach((json_t *)body, key, v)
    {
        if (dropped(key, v, drop_top_k0))
            continue;
        if (!strcmp(key, "model")) {
            have_model = true;
            if (!json_is_string(v) && model_id) { /* replaced where it stands */
                tmp = json_string(model_id);
                add_member(sb, &first, key, tmp);
                json_decref(tmp);
                continue;
            }
        }
        add_member(sb, &first, key, v);
    }
    if (!have_model && model_id) {
        tmp = json_string(model_id);
        add_member(sb, &first, "model", tmp);
        json_decref(tmp);
    }
    add_member(sb, &first, "stream", json_false());
    lleval_sb_addch(sb, '}');
    return 0;
}

static long usage_count(const json_t *usage, const char *key)
{
    long long v = lleval_json_int(usage, key, -1);
    return v < 0 ? -1 : (long)v;
}

/* A hint for 401/403: which variable holds the key. Returns a static string
 * or one written into buf. */
static const char *key_hint(const struct lleval_engine *e, char *buf, size_t size)
{
    const char *var = e->cfg ? e->cfg->api_key_env : NULL;
    if (!var || !*var)
        return "set api_key_env in the config to the name of an environment variable that "
               "holds the API key";
    if (!e->api_key || !*e->api_key)
        snprintf(buf, size, "the environment variable %s (api_key_env) is not set: export it", var);
    else
        snprintf(buf, size, "check the API key in the environment variable %s (api_key_env)", var);
    return buf;
}

/* A 2xx reply of the wrong shape: retried like a malformed body (a busy
 * server's fault), then recorded as invalid_reply. Returns RETRY. */
LLEVAL_PRINTF(3, 4)
static enum lleval_reply invalid(struct lleval_err *err, const char *label, const char *fmt, ...)
{
    char what[LLEVAL_ERR_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    lleval_err_set(err, LLEVAL_EENGINE, "invalid reply from %s: %s", label, what);
    return LLEVAL_REPLY_RETRY;
}

enum lleval_reply lleval_openai_parse_chat(const struct lleval_engine *e, const char *label,
                                           long status, const char *body, size_t len,
                                           struct lleval_answer *out, struct lleval_err *err)
{
    enum lleval_reply verdict = lleval_http_classify(status);
    json_t *root = NULL, *choices, *choice, *message, *content, *usage, *timings;
    char why[200];
    lleval_answer_init(out);

    if (verdict != LLEVAL_REPLY_OK) {
        char *text = lleval_http_error_text(body, len, e->api_key);
        char hint[300] = "";
        if (status == 401 || status == 403) {
            char buf[256];
            snprintf(hint, sizeof(hint), " (%s)", key_hint(e, buf, sizeof(buf)));
        }
        lleval_err_set(err, LLEVAL_EENGINE, "%s replied HTTP %ld%s%s%s", label, status,
                       *text ? ": " : "", text, hint);
        free(text);
        return verdict;
    }
    if (!lleval_openai_scan_chat(body, len, out))
        return LLEVAL_REPLY_OK; /* the usual reply, read without a tree */
    root = lleval_http_json_decode(body, len, why, sizeof(why));
    if (!json_is_object(root)) {
        lleval_err_set(err, LLEVAL_EENGINE, "malformed reply from %s: %s", label,
                       root ? "not a JSON object" : why);
        verdict = LLEVAL_REPLY_RETRY;
        goto out;
    }
    choices = json_object_get(root, "choices");
    choice = json_array_get(choices, 0);
    if (!json_is_array(choices) && json_object_get(root, "error")) {
        /* an error object in a 2xx reply: the engine's own text says why */
        char *text = lleval_http_error_text(body, len, e->api_key);
        lleval_err_set(err, LLEVAL_EENGINE, "malformed reply from %s: no choices in \"%s\"", label,
                       text);
        free(text);
        verdict = LLEVAL_REPLY_RETRY;
        goto out;
    }
    if (!json_is_array(choices) || !json_array_size(choices)) {
        verdict =
            invalid(err, label, "no choices (\"choices\" is %s)",
                    json_is_array(choices) ? "an empty list" : lleval_http_json_kind(choices));
        goto out;
    }
    if (!json_is_object(choice)) {
        verdict =
            invalid(err, label, "choices[0] is %s, not an object", lleval_http_json_kind(choice));
        goto out;
    }
    /* choices[0].message.content must be a string; null (OpenAI's refusals
     * and tool calls) is an empty answer; the completions API's
     * choices[0].text stands in when there is no message */
    message = json_object_get(choice, "message");
    content = json_object_get(message, "content");
    if (message && !json_is_object(message)) {
        verdict = invalid(err, label, "choices[0].message is %s, not an object",
                          lleval_http_json_kind(message));
        goto out;
    }
    if (!message) {
        content = json_object_get(choice, "text");
        if (!json_is_string(content)) {
            verdict = invalid(err, label, "choices[0] has no message (choices[0].text is %s)",
                              lleval_http_json_kind(content));
            goto out;
        }
    } else if (!json_is_string(content) && !json_is_null(content)) {
        verdict = invalid(err, label, "choices[0].message.content is %s, not a string",
                          lleval_http_json_kind(content));
        goto out;
    }
    out->content = json_is_string(content) ? lleval_http_json_text(content) : lleval_xstrdup("");
    out->finish = lleval_openai_finish(lleval_json_str(choice, "finish_reason"));

    usage = json_object_get(root, "usage");
    timings = json_object_get(root, "timings"); /* llama-server */
    out->prompt_tokens = usage_count(usage, "prompt_tokens");
    out->completion_tokens = usage_count(usage, "completion_tokens");
    if (out->prompt_tokens < 0 && json_is_object(timings)) {
        long long n = lleval_json_int(timings, "prompt_n", -1);
        long long cached = lleval_json_int(timings, "cache_n", 0);
        if (n >= 0)
            out->prompt_tokens = (long)(n + (cached > 0 ? cached : 0));
    }
    if (out->completion_tokens < 0 && json_is_object(timings))
        out->completion_tokens = usage_count(timings, "predicted_n");
    out->prompt_tps = lleval_json_num(timings, "prompt_per_second", 0);
    out->gen_tps = lleval_json_num(timings, "predicted_per_second", 0);
    if (out->prompt_tps < 0)
        out->prompt_tps = 0;
    if (out->gen_tps < 0)
        out->gen_tps = 0;
    out->model = lleval_http_json_text(json_object_get(root, "model"));
    out->request_id = lleval_http_json_text(json_object_get(root, "id"));

out:
    json_decref(root);
    return verdict;
}

#define OPENAI_LABEL "the OpenAI-compatible server"

/* The request of the chat body written to sb (taken), to {base_url}/chat/completions. */
static void chat_request(struct lleval_engine *e, struct lleval_sb *sb,
                         struct lleval_http_request *out)
{
    out->url = lleval_http_url(e, "/chat/completions");
    out->body = lleval_sb_detach(sb, NULL);
    lleval_http_add_headers(e, out);
}

static int openai_make_request(struct lleval_engine *e, const json_t *body,
                               struct lleval_http_request *out, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    int rc;
    memset(out, 0, sizeof(*out));
    /* top_k is not in OpenAI's own API, which refuses unknown fields: top_k 0
     * (disabled) is left out, so such servers can be used */
    if ((rc = lleval_openai_chat_body(e, body, true, &sb, err))) {
        lleval_sb_release(&sb);
        return rc;
    }
    chat_request(e, &sb, out);
    return 0;
}

static int openai_make_request_text(struct lleval_engine *e, const char *body, size_t len,
                                    struct lleval_http_request *out, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = lleval_openai_chat_body_text(e, body, len, true, &sb, err))) {
        lleval_sb_release(&sb);
        return rc;
    }
    chat_request(e, &sb, out);
    return 0;
}

static enum lleval_reply openai_parse_reply(struct lleval_engine *e, long http_status,
                                            const char *body, size_t len, struct lleval_answer *out,
                                            struct lleval_err *err)
{
    return lleval_openai_parse_chat(e, OPENAI_LABEL, http_status, body, len, out, err);
}

/* Fills info->model and info->detail from a /models list. */
static void openai_check_models(const struct lleval_engine *e, const json_t *root,
                                const char *where, struct lleval_probe_info *info)
{
    const char *want = e->cfg ? e->cfg->model_id : NULL;
    const json_t *data = json_object_get(root, "data");
    struct lleval_sb names = LLEVAL_SB_INIT;
    size_t i, n = 0; /* the entries with an id: the others are no model */
    json_t *m;
    json_array_foreach(data, i, m)
    {
        const char *id = lleval_json_str(m, "id");
        if (!id)
            continue;
        if (want && !strcmp(id, want)) {
            info->model = lleval_xstrdup(id);
            info->detail = lleval_xasprintf("%s at %s serves model '%s'", OPENAI_LABEL, where, id);
            lleval_sb_release(&names);
            return;
        }
        if (n++ < 5)
            lleval_sb_addf(&names, "%s'%s'", names.len ? ", " : "", id);
    }
    if (n > 5)
        lleval_sb_addf(&names, " and %zu more", n - 5);
    if (!want)
        info->detail = lleval_xasprintf("%s at %s lists %zu models", OPENAI_LABEL, where, n);
    else
        info->detail = lleval_xasprintf(
            "warning: model '%s' is not among the models %s at %s lists (%s); servers often "
            "alias names, so requests will ask for '%s' anyway",
            want, OPENAI_LABEL, where, names.len ? names.buf : "none", want);
    lleval_sb_release(&names);
}

int lleval_openai_models_reply(const struct lleval_engine *e, const char *where, long status,
                               const char *body, size_t len, long v1_status,
                               struct lleval_probe_info *info, struct lleval_err *err)
{
    json_t *root;
    int rc;

    memset(info, 0, sizeof(*info));
    if (status == 401 || status == 403) {
        char buf[256];
        return lleval_err_set(err, LLEVAL_EENGINE, "%s at %s refused the API key (HTTP %ld): %s",
                              OPENAI_LABEL, where, status, key_hint(e, buf, sizeof(buf)));
    }
    if (status == 404) {
        /* a base_url without /v1 is the usual mistake: say so when {base}/v1 answers */
        if (v1_status >= 200 && v1_status < 300)
            return lleval_err_set(err, LLEVAL_EENGINE,
                                  "%s has no /models but %s/v1/models answers: set base_url to "
                                  "%s/v1",
                                  where, where, where);
        info->detail = lleval_xasprintf("warning: %s at %s has no model list (HTTP 404 for GET "
                                        "/models); requests go to %s/chat/completions",
                                        OPENAI_LABEL, where, where);
        return 0;
    }
    if (status < 200 || status >= 300) {
        char *text = lleval_http_error_text(body, len, e->api_key);
        rc = lleval_err_set(err, LLEVAL_EENGINE, "%s at %s answered HTTP %ld to GET /models%s%s",
                            OPENAI_LABEL, where, status, *text ? ": " : "", text);
        free(text);
        return rc;
    }
    root = lleval_http_json_decode(body, len, NULL, 0);
    if (!json_is_object(root))
        info->detail = lleval_xasprintf("warning: the model list from %s is not a JSON object; "
                                        "the model name is not checked",
                                        where);
    else
        openai_check_models(e, root, where, info);
    json_decref(root);
    if (info->detail) {
        /* a server may echo the key as a model id */
        char *redacted = lleval_redact_dup(info->detail);
        if (redacted) {
            free(info->detail);
            info->detail = redacted;
        }
    }
    return 0;
}

static int openai_probe(struct lleval_engine *e, struct lleval_probe_info *info,
                        struct lleval_err *err)
{
    struct lleval_sb body = LLEVAL_SB_INIT;
    char *where = lleval_http_url_redact(e->base_url ? e->base_url : "");
    char reason[LLEVAL_ERR_MAX];
    long status = 0, status_v1 = 0;
    int rc;

    memset(info, 0, sizeof(*info));
    rc = lleval_http_get(e, "/models", e->probe_timeout_s, &status, &body, err);
    if (rc) {
        snprintf(reason, sizeof(reason), "%s", err ? lleval_http_reason(err->msg) : "no reply");
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "cannot reach %s at %s: is it running? check base_url too (it "
                            "includes the /v1 prefix, e.g. http://127.0.0.1:8000/v1) (%s)",
                            OPENAI_LABEL, where, reason);
        goto out;
    }
    if (status == 404) {
        struct lleval_sb ignored = LLEVAL_SB_INIT;
        if (lleval_http_get(e, "/v1/models", e->probe_timeout_s, &status_v1, &ignored, NULL))
            status_v1 = 0;
        lleval_sb_release(&ignored);
    }
    rc = lleval_openai_models_reply(e, where, status, body.buf, body.len, status_v1, info, err);

out:
    lleval_sb_release(&body);
    free(where);
    return rc;
}

/* The probe as steps (lleval_engine_check_*): GET {base}/models, and after a
 * 404 GET {base}/v1/models for the hint, with openai_probe's verdict. */
static enum lleval_check_next openai_check(struct lleval_engine *e, struct lleval_check *c,
                                           double now, const struct lleval_check_reply *reply,
                                           struct lleval_http_request *req, struct lleval_err *err)
{
    enum { MODELS = 0, V1_MODELS };
    char *where;
    struct lleval_probe_info info;
    enum lleval_check_next next = LLEVAL_CHECK_FAIL;
    int rc;

    (void)now;
    c->wait_ms = 0;
    c->timeout_ms = (c->bound_s > 0 ? c->bound_s : 10) * 1000L;
    if (!reply) {
        c->step = MODELS;
        lleval_http_get_request(e, "/models", req);
        return LLEVAL_CHECK_SEND;
    }
    if (c->step == MODELS && reply->answered && reply->status == 404) {
        c->step = V1_MODELS;
        lleval_http_get_request(e, "/v1/models", req);
        return LLEVAL_CHECK_SEND;
    }
    where = lleval_http_url_redact(e->base_url ? e->base_url : "");
    if (c->step == MODELS && !reply->answered) {
        lleval_err_set(err, LLEVAL_EENGINE,
                       "cannot reach %s at %s: is it running? check base_url too (it "
                       "includes the /v1 prefix, e.g. http://127.0.0.1:8000/v1) (%s)",
                       OPENAI_LABEL, where, reply->why ? reply->why : "no reply");
        free(where);
        return LLEVAL_CHECK_FAIL;
    }
    if (c->step == MODELS)
        rc = lleval_openai_models_reply(e, where, reply->status, reply->body, reply->len, 0, &info,
                                        err);
    else /* the 404's body is not read */
        rc = lleval_openai_models_reply(e, where, 404, "", 0, reply->answered ? reply->status : 0,
                                        &info, err);
    if (!rc)
        next = LLEVAL_CHECK_PASS;
    lleval_probe_info_release(&info);
    free(where);
    return next;
}

static void openai_release(struct lleval_engine *e)
{
    (void)e;
}

const struct lleval_engine_ops lleval_engine_openai_ops = {
    .name = "openai",
    .probe = openai_probe,
    .check = openai_check,
    .make_request = openai_make_request,
    .make_request_text = openai_make_request_text,
    .parse_reply = openai_parse_reply,
    .answer_local = NULL,
    .release = openai_release,
};
