/*
 * The engine interface's shared parts: opening an adapter, answers, HTTP
 * request objects, UTF-8 sanitizing and result lines (docs/formats.md).
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/platform/fs.h"
#include "lleval/util/util.h"

const char *lleval_finish_name(enum lleval_finish f)
{
    switch (f) {
    case LLEVAL_FINISH_STOP:
        return "stop";
    case LLEVAL_FINISH_LENGTH:
        return "length";
    default:
        return "error";
    }
}

void lleval_answer_init(struct lleval_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->prompt_tokens = -1;
    a->completion_tokens = -1;
}

void lleval_answer_release(struct lleval_answer *a)
{
    free(a->content);
    free(a->model);
    free(a->request_id);
    lleval_answer_init(a);
}

void lleval_http_request_release(struct lleval_http_request *r)
{
    free(r->url);
    free(r->body);
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->headers[i]);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

void lleval_http_request_add_header(struct lleval_http_request *r, const char *name,
                                    const char *value)
{
    r->headers = lleval_xrealloc(r->headers, (r->n_headers + 1) * sizeof(char *));
    r->headers[r->n_headers++] = lleval_xasprintf("%s: %s", name, value);
}

void lleval_probe_info_release(struct lleval_probe_info *p)
{
    free(p->model);
    free(p->detail);
    memset(p, 0, sizeof(*p));
}

int lleval_engine_open(struct lleval_engine *e, const struct lleval_config *cfg,
                       struct lleval_err *err)
{
    const char *url = lleval_config_base_url(cfg);
    size_t n;

    memset(e, 0, sizeof(*e));
    e->cfg = cfg;
    e->probe_timeout_s = 10;
    switch (cfg->engine) {
    case LLEVAL_ENGINE_DRY:
        e->ops = &lleval_engine_dry_ops;
        break;
    case LLEVAL_ENGINE_OLLAMA:
        e->ops = &lleval_engine_ollama_ops;
        break;
    case LLEVAL_ENGINE_LLAMACPP:
        e->ops = &lleval_engine_llamacpp_ops;
        e->probe_timeout_s = 120;
        break;
    case LLEVAL_ENGINE_OPENAI:
        e->ops = &lleval_engine_openai_ops;
        break;
    default:
        return lleval_err_set(err, LLEVAL_EINVAL, "unknown engine");
    }
    if (cfg->engine != LLEVAL_ENGINE_DRY &&
        (!url || (!lleval_str_starts_with(url, "http://") &&
                  !lleval_str_starts_with(url, "https://"))))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "base_url '%s' must start with http:// or https://", url ? url : "");
    e->base_url = lleval_xstrdup(url ? url : "");
    n = strlen(e->base_url);
    while (n && e->base_url[n - 1] == '/')
        e->base_url[--n] = '\0';
    if (cfg->api_key_env && *cfg->api_key_env) {
        const char *key = getenv(cfg->api_key_env);
        if (key && *key)
            e->api_key = lleval_xstrdup(key);
    }
    return 0;
}

void lleval_engine_close(struct lleval_engine *e)
{
    if (e->ops && e->ops->release)
        e->ops->release(e);
    free(e->base_url);
    if (e->api_key) {
        memset(e->api_key, 0, strlen(e->api_key));
        free(e->api_key);
    }
    memset(e, 0, sizeof(*e));
}

char *lleval_utf8_sanitize(const char *s, size_t len)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t i = 0;
    lleval_sb_grow(&sb, len);
    while (i < len) {
        size_t bad;
        if (lleval_utf8_valid(s + i, len - i, &bad)) {
            lleval_sb_add(&sb, s + i, len - i);
            break;
        }
        lleval_sb_add(&sb, s + i, bad);
        lleval_sb_adds(&sb, "\xEF\xBF\xBD");
        i += bad + 1;
        /* skip continuation bytes of the broken sequence */
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    /* NUL bytes would cut C strings short: replace them too */
    for (size_t k = 0; k < sb.len; k++)
        if (!sb.buf[k])
            sb.buf[k] = ' ';
    return lleval_sb_detach(&sb, NULL);
}

json_t *lleval_result_line(const char *custom_id, const char *engine_name,
                           const struct lleval_answer *a, long http_status,
                           const char *error_code, const char *error_message,
                           double latency_ms, long attempts)
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
        json_object_set_new(resp, "request_id", a->request_id ? json_string(a->request_id)
                                                              : json_string(id));
        json_object_set_new(body, "object", json_string("chat.completion"));
        if (a->model)
            json_object_set_new(body, "model", json_string(a->model));
        json_object_set_new(choice, "index", json_integer(0));
        json_object_set_new(choice, "message",
                            json_pack("{s:s, s:s}", "role", "assistant", "content",
                                      a->content ? a->content : ""));
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
        json_object_set_new(line, "response",
                            json_pack("{s:I, s:n}", "status_code", (json_int_t)http_status,
                                      "body"));
        json_object_set_new(line, "error",
                            json_pack("{s:s, s:s}", "code", error_code ? error_code : "error",
                                      "message", msg));
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
    return line;
}
