/*
 * The engine interface's shared parts: opening an adapter, the opaque
 * handle's accessors and calls into its adapter, answers, HTTP request
 * objects and UTF-8 sanitizing. Result lines are lib/result/result.c's.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "engine_int.h"

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
    size_t n = strlen(name), m = strlen(value);
    char *h = lleval_xmalloc(n + m + 3);
    memcpy(h, name, n);
    memcpy(h + n, ": ", 2);
    memcpy(h + n + 2, value, m + 1);
    r->headers = lleval_xrealloc(r->headers, (r->n_headers + 1) * sizeof(char *));
    r->headers[r->n_headers++] = h;
}

void lleval_probe_info_release(struct lleval_probe_info *p)
{
    free(p->model);
    free(p->detail);
    memset(p, 0, sizeof(*p));
}

int lleval_engine_open(struct lleval_engine **out, const struct lleval_config *cfg,
                       struct lleval_err *err)
{
    const char *url = lleval_config_base_url(cfg);
    const struct lleval_engine_ops *ops;
    struct lleval_engine *e;
    long probe_timeout_s = 10;

    *out = NULL;
    switch (cfg->engine) {
    case LLEVAL_ENGINE_DRY:
        ops = &lleval_engine_dry_ops;
        break;
    case LLEVAL_ENGINE_OLLAMA:
        ops = &lleval_engine_ollama_ops;
        break;
    case LLEVAL_ENGINE_LLAMACPP:
        ops = &lleval_engine_llamacpp_ops;
        probe_timeout_s = 120;
        break;
    case LLEVAL_ENGINE_OPENAI:
        ops = &lleval_engine_openai_ops;
        break;
    default:
        return lleval_err_set(err, LLEVAL_EINVAL, "unknown engine");
    }
    if (cfg->engine != LLEVAL_ENGINE_DRY && (!url || (!lleval_str_starts_with(url, "http://") &&
                                                      !lleval_str_starts_with(url, "https://"))))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "base_url '%s' must start with http:// or https://", url ? url : "");
    e = lleval_xcalloc(1, sizeof(*e));
    e->ops = ops;
    e->cfg = cfg;
    e->probe_timeout_s = probe_timeout_s;
    lleval_engine_set_base_url(e, url ? url : "");
    if (cfg->api_key_env && *cfg->api_key_env) {
        const char *key = getenv(cfg->api_key_env);
        if (key && *key) {
            e->api_key = lleval_xstrdup(key);
            lleval_redact_add(key); /* never in a message or a file from now on */
        }
    }
    *out = e;
    return 0;
}

void lleval_engine_close(struct lleval_engine *e)
{
    if (!e)
        return;
    if (e->ops && e->ops->release)
        e->ops->release(e);
    free(e->base_url);
    if (e->api_key) {
        memset(e->api_key, 0, strlen(e->api_key));
        free(e->api_key);
    }
    free(e);
}

const char *lleval_engine_name(const struct lleval_engine *e)
{
    return e->ops->name;
}

const char *lleval_engine_base_url(const struct lleval_engine *e)
{
    return e->base_url;
}

void lleval_engine_set_base_url(struct lleval_engine *e, const char *url)
{
    size_t n = strlen(url);
    char *copy;
    lleval_redact_add_url(url); /* its password never in a message or a file */
    while (n && url[n - 1] == '/')
        n--;
    copy = lleval_xstrndup(url, n); /* url may be e->base_url itself */
    free(e->base_url);
    e->base_url = copy;
}

const char *lleval_engine_api_key(const struct lleval_engine *e)
{
    return e->api_key;
}

long lleval_engine_probe_timeout_s(const struct lleval_engine *e)
{
    return e->probe_timeout_s;
}

void lleval_engine_set_probe_timeout_s(struct lleval_engine *e, long seconds)
{
    e->probe_timeout_s = seconds;
}

int lleval_engine_probe(struct lleval_engine *e, struct lleval_probe_info *info,
                        struct lleval_err *err)
{
    return e->ops->probe(e, info, err);
}

enum lleval_check_next lleval_engine_check_start(struct lleval_engine *e, struct lleval_check *c,
                                                 long timeout_s, double now,
                                                 struct lleval_http_request *req,
                                                 struct lleval_err *err)
{
    memset(c, 0, sizeof(*c));
    memset(req, 0, sizeof(*req));
    c->bound_s = timeout_s;
    if (!e->ops->check) {
        struct lleval_probe_info info = {0};
        long saved = e->probe_timeout_s;
        int rc;
        e->probe_timeout_s = timeout_s;
        rc = e->ops->probe(e, &info, err);
        e->probe_timeout_s = saved;
        lleval_probe_info_release(&info);
        return rc ? LLEVAL_CHECK_FAIL : LLEVAL_CHECK_PASS;
    }
    return e->ops->check(e, c, now, NULL, req, err);
}

enum lleval_check_next lleval_engine_check_reply(struct lleval_engine *e, struct lleval_check *c,
                                                 double now, const struct lleval_check_reply *reply,
                                                 struct lleval_http_request *req,
                                                 struct lleval_err *err)
{
    memset(req, 0, sizeof(*req));
    if (!e->ops->check)
        return LLEVAL_CHECK_FAIL;
    return e->ops->check(e, c, now, reply, req, err);
}

bool lleval_engine_is_local(const struct lleval_engine *e)
{
    return e->ops->answer_local != NULL;
}

long lleval_engine_local_delay_ms(const struct lleval_engine *e)
{
    return e->local_delay_ms;
}

int lleval_engine_answer_local(struct lleval_engine *e, const char *custom_id, const json_t *body,
                               struct lleval_answer *out, struct lleval_err *err)
{
    if (!e->ops->answer_local)
        return lleval_err_set(err, LLEVAL_EINVAL, "engine %s answers over HTTP, not locally",
                              e->ops->name);
    return e->ops->answer_local(e, custom_id, body, out, err);
}

int lleval_engine_make_request(struct lleval_engine *e, const json_t *body,
                               struct lleval_http_request *out, struct lleval_err *err)
{
    if (!e->ops->make_request) {
        memset(out, 0, sizeof(*out));
        return lleval_err_set(err, LLEVAL_EINVAL, "engine %s answers locally, not over HTTP",
                              e->ops->name);
    }
    return e->ops->make_request(e, body, out, err);
}

json_t *lleval_engine_body_json(const char *body, size_t len, struct lleval_err *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (!j)
        lleval_err_set(err, LLEVAL_EINVAL, "the batch request body is not JSON: %s",
                       lleval_json_error_text(&jerr));
    return j;
}

int lleval_engine_answer_local_text(struct lleval_engine *e, const char *custom_id,
                                    const char *body, size_t len, struct lleval_answer *out,
                                    struct lleval_err *err)
{
    json_t *j;
    int rc;
    if (e->ops->answer_local_text)
        return e->ops->answer_local_text(e, custom_id, body, len, out, err);
    if (!(j = lleval_engine_body_json(body, len, err)))
        return err ? err->code : LLEVAL_EINVAL;
    rc = lleval_engine_answer_local(e, custom_id, j, out, err);
    json_decref(j);
    return rc;
}

int lleval_engine_make_request_text(struct lleval_engine *e, const char *body, size_t len,
                                    struct lleval_http_request *out, struct lleval_err *err)
{
    json_t *j;
    int rc;
    if (e->ops->make_request_text)
        return e->ops->make_request_text(e, body, len, out, err);
    memset(out, 0, sizeof(*out));
    if (!(j = lleval_engine_body_json(body, len, err)))
        return err ? err->code : LLEVAL_EINVAL;
    rc = lleval_engine_make_request(e, j, out, err);
    json_decref(j);
    return rc;
}

enum lleval_reply lleval_engine_parse_reply(struct lleval_engine *e, long http_status,
                                            const char *body, size_t len, struct lleval_answer *out,
                                            struct lleval_err *err)
{
    if (!e->ops->parse_reply) {
        lleval_answer_init(out);
        lleval_err_set(err, LLEVAL_EINVAL, "engine %s answers locally, not over HTTP",
                       e->ops->name);
        return LLEVAL_REPLY_FAIL;
    }
    return e->ops->parse_reply(e, http_status, body, len, out, err);
}

/* One U+FFFD for each broken sequence: its first byte and the continuation
 * bytes after it. NUL bytes would cut C strings short: they become spaces. */
char *lleval_utf8_sanitize(const char *s, size_t len)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t i = 0;
    lleval_sb_grow(&sb, len);
    while (i < len) {
        size_t start = i, n;
        /* copy a run of valid characters other than NUL at once */
        while (i < len && s[i] && (n = lleval_utf8_seq(s + i, len - i)))
            i += n;
        lleval_sb_add(&sb, s + start, i - start);
        if (i == len)
            break;
        if (!s[i]) {
            lleval_sb_addch(&sb, ' ');
            i++;
            continue;
        }
        lleval_sb_adds(&sb, LLEVAL_UTF8_REPLACEMENT);
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return lleval_sb_detach(&sb, NULL);
}
