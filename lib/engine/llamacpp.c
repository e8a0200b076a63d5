/*
 * The llamacpp adapter, for llama.cpp's llama-server (tools/server/README.md
 * in ggml-org/llama.cpp).
 *
 *   probe:   GET /health until 200 (503 "Loading model" while the model
 *            loads: waits up to e->probe_timeout_s), then GET /props:
 *            total_slots -> slots, default_generation_settings.n_ctx (the
 *            context of one slot: -c divided by -np) -> slot_ctx; the
 *            health check (llamacpp_check) is its requests as steps
 *   request: POST /v1/chat/completions with the OpenAI body (the server
 *            applies the model's chat template)
 *   reply:   choices[0].message.content, finish_reason, usage, and the
 *            server's timings (prompt_per_second, predicted_per_second)
 *
 * base_url is the server root ("http://127.0.0.1:8080"); a trailing "/v1"
 * is tolerated and ignored.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/platform/fs.h"
#include "lleval/engine/http.h"
#include "lleval/engine/probe.h"
#include "lleval/util/redact.h"
#include "lleval/util/json.h"
#include "engine_int.h"

#define LLAMACPP_LABEL       "llama-server"
#define LLAMACPP_LOAD_WAIT_S 120 /* when e->probe_timeout_s is not set */
#define LLAMACPP_POLL_MS     500

/* The server root: base_url without a trailing "/v1". Owned. */
static char *server_root(const struct lleval_engine *e)
{
    const char *base = e->base_url ? e->base_url : "";
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (n >= 3 && !strncmp(base + n - 3, "/v1", 3))
        n -= 3;
    return lleval_xstrndup(base, n);
}

/* A view of e whose base_url is the server root, for the http.h helpers. */
static void root_engine(const struct lleval_engine *e, struct lleval_engine *view)
{
    *view = *e;
    view->base_url = server_root(e);
}

/* The request of the chat body written to sb (taken), to the server root's
 * chat endpoint. */
static void chat_request(struct lleval_engine *e, struct lleval_sb *sb,
                         struct lleval_http_request *out)
{
    struct lleval_engine view;
    root_engine(e, &view);
    out->url = lleval_http_url(&view, "/v1/chat/completions");
    out->body = lleval_sb_detach(sb, NULL);
    lleval_http_add_headers(&view, out);
    free(view.base_url);
}

static int llamacpp_make_request(struct lleval_engine *e, const json_t *body,
                                 struct lleval_http_request *out, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = lleval_openai_chat_body(e, body, false, &sb, err))) {
        lleval_sb_release(&sb);
        return rc;
    }
    chat_request(e, &sb, out);
    return 0;
}

static int llamacpp_make_request_text(struct lleval_engine *e, const char *body, size_t len,
                                      struct lleval_http_request *out, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = lleval_openai_chat_body_text(e, body, len, false, &sb, err))) {
        lleval_sb_release(&sb);
        return rc;
    }
    chat_request(e, &sb, out);
    return 0;
}

static enum lleval_reply llamacpp_parse_reply(struct lleval_engine *e, long http_status,
                                              const char *body, size_t len,
                                              struct lleval_answer *out, struct lleval_err *err)
{
    return lleval_openai_parse_chat(e, LLAMACPP_LABEL, http_status, body, len, out, err);
}

enum lleval_health lleval_llamacpp_health_reply(const struct lleval_engine *e, const char *where,
                                                long status, const char *body, size_t len,
                                                struct lleval_err *err)
{
    char *text;
    if (status == 200)
        return LLEVAL_HEALTH_READY;
    if (status == 503)
        return LLEVAL_HEALTH_LOADING;
    if (status == 404) {
        lleval_err_set(err, LLEVAL_EENGINE,
                       "%s answered HTTP 404 to GET /health: is it llama-server? (for "
                       "Ollama use engine ollama, for other servers engine openai)",
                       where);
        return LLEVAL_HEALTH_FAILED;
    }
    text = lleval_http_error_text(body, len, e->api_key);
    lleval_err_set(err, LLEVAL_EENGINE, "llama-server at %s answered HTTP %ld to GET /health%s%s",
                   where, status, *text ? ": " : "", text);
    free(text);
    return LLEVAL_HEALTH_FAILED;
}

/* Waits for GET /health to answer 200. */
static int wait_healthy(struct lleval_engine *view, const char *where, struct lleval_err *err)
{
    long bound = view->probe_timeout_s > 0 ? view->probe_timeout_s : LLAMACPP_LOAD_WAIT_S;
    double deadline = lleval_monotonic() + (double)bound;
    struct lleval_sb body = LLEVAL_SB_INIT;
    char reason[LLEVAL_ERR_MAX];
    int rc = 0;

    for (;;) {
        long status = 0;
        double left = deadline - lleval_monotonic();
        long call_s = left > 10 ? 10 : left < 1 ? 1 : (long)left + 1;
        enum lleval_health health;
        lleval_sb_reset(&body);
        rc = lleval_http_get(view, "/health", call_s, &status, &body, err);
        if (rc) {
            snprintf(reason, sizeof(reason), "%s", err ? lleval_http_reason(err->msg) : "no reply");
            rc = lleval_err_set(err, LLEVAL_EENGINE,
                                "cannot reach llama-server at %s: is it running? start it with "
                                "`llama-server -m MODEL.gguf --port PORT` or check base_url (%s)",
                                where, reason);
            break;
        }
        health = lleval_llamacpp_health_reply(view, where, status, body.buf, body.len, err);
        if (health == LLEVAL_HEALTH_READY)
            break;
        if (health == LLEVAL_HEALTH_FAILED) {
            rc = LLEVAL_EENGINE;
            break;
        }
        if (lleval_monotonic() + LLAMACPP_POLL_MS / 1000.0 >= deadline) {
            rc = lleval_err_set(err, LLEVAL_EENGINE,
                                "llama-server at %s is still loading its model after %ld s: "
                                "wait for it, or give the probe longer",
                                where, bound);
            break;
        }
        lleval_sleep_ms(LLAMACPP_POLL_MS);
    }
    lleval_sb_release(&body);
    return rc;
}

/* The detail line for a usable /props object; owned, redacted. */
static char *props_detail(const struct lleval_engine *e, const json_t *props, const char *where,
                          const struct lleval_probe_info *info)
{
    const char *build = lleval_json_str(props, "build_info");
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_sb_addf(&sb, "llama-server%s%s at %s: ", build ? " " : "", build ? build : "", where);
    if (info->slots > 0)
        lleval_sb_addf(&sb, "%ld slot%s", info->slots, info->slots == 1 ? "" : "s");
    else
        lleval_sb_adds(&sb, "slots unknown");
    if (info->slot_ctx > 0)
        lleval_sb_addf(&sb, " of %ld tokens each", info->slot_ctx);
    if (info->model)
        lleval_sb_addf(&sb, ", model '%s'", info->model);
    if (e->cfg && info->slot_ctx > 0 && e->cfg->context_length > info->slot_ctx)
        lleval_sb_addf(&sb,
                       "; warning: context_length %ld is larger than the %ld tokens of one "
                       "llama-server slot (raise its -c; -np N splits -c into N slots unless the "
                       "KV cache is unified): longer requests will be refused",
                       e->cfg->context_length, info->slot_ctx);
    lleval_redact_sb(&sb); /* a server may echo the key in build_info or the alias */
    return lleval_sb_detach(&sb, NULL);
}

/* A count from /props: positive and within a long, else 0 (unknown). */
static long props_count(long long v)
{
    return v > 0 && v <= LONG_MAX ? (long)v : 0;
}

int lleval_llamacpp_props_reply(const struct lleval_engine *e, const char *where, long status,
                                const char *body, size_t len, struct lleval_probe_info *info,
                                struct lleval_err *err)
{
    json_t *props = NULL;

    memset(info, 0, sizeof(*info));
    if (status == 401 || status == 403) {
        const char *var = e->cfg && e->cfg->api_key_env ? e->cfg->api_key_env : NULL;
        if (var && *var && (!e->api_key || !*e->api_key))
            return lleval_err_set(err, LLEVAL_EENGINE,
                                  "llama-server at %s wants an API key (it runs with --api-key): "
                                  "the environment variable %s (api_key_env) is not set",
                                  where, var);
        if (var && *var)
            return lleval_err_set(err, LLEVAL_EENGINE,
                                  "llama-server at %s refused the API key in the environment "
                                  "variable %s (api_key_env): check its value",
                                  where, var);
        return lleval_err_set(err, LLEVAL_EENGINE,
                              "llama-server at %s wants an API key (it runs with --api-key): "
                              "set api_key_env in the config to the name of an environment "
                              "variable that holds it",
                              where);
    }
    if (status == 200)
        props = lleval_http_json_decode(body, len, NULL, 0);
    if (json_is_object(props)) {
        const json_t *dgs = json_object_get(props, "default_generation_settings");
        const char *alias = lleval_json_str(props, "model_alias");
        const char *path = lleval_json_str(props, "model_path");
        info->slots = props_count(lleval_json_int(props, "total_slots", 0));
        info->slot_ctx = props_count(lleval_json_int(dgs, "n_ctx", 0));
        info->model = lleval_xstrdup(alias && *alias ? alias : path && *path ? path : NULL);
        info->detail = props_detail(e, props, where, info);
    } else {
        info->detail = lleval_xasprintf("llama-server at %s: warning: no usable GET /props "
                                        "(HTTP %ld); slots and context unknown",
                                        where, status);
    }
    json_decref(props);
    return 0;
}

static int llamacpp_probe(struct lleval_engine *e, struct lleval_probe_info *info,
                          struct lleval_err *err)
{
    struct lleval_engine view;
    struct lleval_sb body = LLEVAL_SB_INIT;
    char *where;
    long status = 0;
    long call_s = e->probe_timeout_s > 0 && e->probe_timeout_s < 10 ? e->probe_timeout_s : 10;
    int rc;

    memset(info, 0, sizeof(*info));
    root_engine(e, &view);
    where = lleval_http_url_redact(view.base_url);
    rc = wait_healthy(&view, where, err);
    if (!rc)
        rc = lleval_http_get(&view, "/props", call_s, &status, &body, err);
    if (!rc)
        rc = lleval_llamacpp_props_reply(e, where, status, body.buf, body.len, info, err);
    lleval_sb_release(&body);
    free(view.base_url);
    free(where);
    return rc;
}

/* wait_healthy's bound on one GET /health sent at `at`, in ms. */
static long health_call_ms(const struct lleval_check *c, double at)
{
    double left = c->deadline - at;
    long call_s = left > 10 ? 10 : left < 1 ? 1 : (long)left + 1;
    return call_s * 1000L;
}

/* The probe as steps (lleval_engine_check_*): GET /health until 200, a 503
 * asked again every LLAMACPP_POLL_MS until the bound, then GET /props; the
 * same requests, bounds and verdict as llamacpp_probe. */
static enum lleval_check_next llamacpp_check(struct lleval_engine *e, struct lleval_check *c,
                                             double now, const struct lleval_check_reply *reply,
                                             struct lleval_http_request *req,
                                             struct lleval_err *err)
{
    enum { HEALTH = 0, PROPS };
    struct lleval_engine view;
    char *where;
    long bound = c->bound_s > 0 ? c->bound_s : LLAMACPP_LOAD_WAIT_S;
    enum lleval_check_next next = LLEVAL_CHECK_FAIL;

    root_engine(e, &view);
    where = lleval_http_url_redact(view.base_url);
    c->wait_ms = 0;
    if (!reply) {
        c->step = HEALTH;
        c->deadline = now + (double)bound;
        c->timeout_ms = health_call_ms(c, now);
        lleval_http_get_request(&view, "/health", req);
        next = LLEVAL_CHECK_SEND;
    } else if (!reply->answered && c->step == HEALTH) {
        lleval_err_set(err, LLEVAL_EENGINE,
                       "cannot reach llama-server at %s: is it running? start it with "
                       "`llama-server -m MODEL.gguf --port PORT` or check base_url (%s)",
                       where, reply->why ? reply->why : "no reply");
    } else if (!reply->answered) {
        lleval_err_set(err, LLEVAL_EENGINE, "cannot reach %s/props: %s", where,
                       reply->why ? reply->why : "no reply");
    } else if (c->step == HEALTH) {
        switch (lleval_llamacpp_health_reply(&view, where, reply->status, reply->body, reply->len,
                                             err)) {
        case LLEVAL_HEALTH_READY:
            c->step = PROPS;
            c->timeout_ms = (c->bound_s > 0 && c->bound_s < 10 ? c->bound_s : 10) * 1000L;
            lleval_http_get_request(&view, "/props", req);
            next = LLEVAL_CHECK_SEND;
            break;
        case LLEVAL_HEALTH_LOADING:
            if (now + LLAMACPP_POLL_MS / 1000.0 >= c->deadline) {
                lleval_err_set(err, LLEVAL_EENGINE,
                               "llama-server at %s is still loading its model after %ld s: "
                               "wait for it, or give the probe longer",
                               where, bound);
                break;
            }
            c->wait_ms = LLAMACPP_POLL_MS;
            c->timeout_ms = health_call_ms(c, now + LLAMACPP_POLL_MS / 1000.0);
            lleval_http_get_request(&view, "/health", req);
            next = LLEVAL_CHECK_SEND;
            break;
        case LLEVAL_HEALTH_FAILED:
            break;
        }
    } else {
        struct lleval_probe_info info;
        if (!lleval_llamacpp_props_reply(e, where, reply->status, reply->body, reply->len, &info,
                                         err))
            next = LLEVAL_CHECK_PASS;
        lleval_probe_info_release(&info);
    }
    free(view.base_url);
    free(where);
    return next;
}

static void llamacpp_release(struct lleval_engine *e)
{
    (void)e;
}

const struct lleval_engine_ops lleval_engine_llamacpp_ops = {
    .name = "llamacpp",
    .probe = llamacpp_probe,
    .check = llamacpp_check,
    .make_request = llamacpp_make_request,
    .make_request_text = llamacpp_make_request_text,
    .parse_reply = llamacpp_parse_reply,
    .answer_local = NULL,
    .release = llamacpp_release,
};
