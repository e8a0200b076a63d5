/*
 * The ollama adapter, on Ollama's native API (docs/api.md in ollama/ollama)
 * rather than its OpenAI layer, so that num_ctx (context_length) and
 * keep_alive really apply.
 *
 *   probe:   GET /api/tags (is the server up, is the model pulled; if not, the
 *            models it has),
 *            GET /api/version (for the log; optional)
 *   request: POST /api/chat {model, messages, stream:false, options{num_ctx,
 *            num_predict, temperature, top_k, top_p, stop, seed}, keep_alive}
 *   reply:   message.content, done_reason, eval_count/eval_duration,
 *            prompt_eval_count/prompt_eval_duration, load_duration (ns)
 *
 * and, for the VRAM planner (include/lleval/engine/ollama.h):
 *   show:    POST /api/show {model}: model_info and details of a pulled model
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/engine/http.h"
#include "lleval/engine/ollama.h"
#include "lleval/engine/probe.h"
#include "lleval/util/redact.h"
#include "lleval/util/json.h"
#include "lleval/util/text.h"
#include "engine_int.h"

static const char *model_name(const struct lleval_engine *e, const json_t *body)
{
    const char *m = lleval_json_str(body, "model");
    if (m && *m)
        return m;
    return e->cfg ? e->cfg->model_id : NULL;
}

/* OpenAI content may be a list of parts; Ollama wants one string. */
static json_t *ollama_messages(const json_t *messages)
{
    json_t *out = json_array();
    size_t i, j;
    json_t *msg, *part;
    json_array_foreach(messages, i, msg)
    {
        json_t *copy = json_deep_copy(msg);
        json_t *content = json_object_get(msg, "content");
        if (json_is_array(content)) {
            struct lleval_sb text = LLEVAL_SB_INIT;
            json_array_foreach(content, j, part)
            {
                const char *t = lleval_json_str(part, "text");
                if (t)
                    lleval_sb_adds(&text, t);
            }
            json_object_set_new(copy, "content", json_stringn(text.buf, text.len));
            lleval_sb_release(&text);
        }
        json_array_append_new(out, copy);
    }
    return out;
}

static void copy_number(json_t *dst, const char *dst_key, const json_t *src, const char *src_key)
{
    json_t *v = json_object_get(src, src_key);
    if (json_is_number(v))
        json_object_set_new(dst, dst_key, json_deep_copy(v));
}

static json_t *ollama_options(const struct lleval_engine *e, const json_t *body)
{
    json_t *options = json_object();
    json_t *stop = json_object_get(body, "stop");
    if (e->cfg && e->cfg->context_length > 0)
        json_object_set_new(options, "num_ctx", json_integer(e->cfg->context_length));
    if (json_is_number(json_object_get(body, "max_tokens")))
        copy_number(options, "num_predict", body, "max_tokens");
    else
        copy_number(options, "num_predict", body, "max_completion_tokens");
    copy_number(options, "temperature", body, "temperature");
    copy_number(options, "top_k", body, "top_k");
    copy_number(options, "top_p", body, "top_p");
    copy_number(options, "seed", body, "seed");
    if (json_is_array(stop) && json_array_size(stop))
        json_object_set_new(options, "stop", json_deep_copy(stop));
    else if (json_is_string(stop))
        json_object_set_new(options, "stop", json_pack("[O]", stop));
    return options;
}

/* keep_alive: a duration string ("5m", "1h") or a number of seconds ("0", "-1"). */
static json_t *keep_alive_value(const char *s)
{
    long n;
    if (!lleval_parse_long(s, -1, 1L << 30, &n))
        return json_integer(n);
    return json_string(s);
}

static int ollama_make_request(struct lleval_engine *e, const json_t *body,
                               struct lleval_http_request *out, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const json_t *messages = json_object_get(body, "messages");
    const char *model = model_name(e, body);
    json_t *req;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(body))
        return lleval_err_set(err, LLEVAL_EINVAL, "the batch request body is not a JSON object");
    if (!json_is_array(messages) || !json_array_size(messages))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "the batch request body has no \"messages\" list");
    if (!model || !*model)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "the batch request body names no model: set model_id");

    req = json_object();
    json_object_set_new(req, "model", json_string(model));
    json_object_set_new(req, "messages", ollama_messages(messages));
    json_object_set_new(req, "stream", json_false());
    json_object_set_new(req, "options", ollama_options(e, body));
    if (e->cfg && e->cfg->keep_alive && *e->cfg->keep_alive)
        json_object_set_new(req, "keep_alive", keep_alive_value(e->cfg->keep_alive));
    lleval_json_dump_sb(req, &sb);
    json_decref(req);

    out->url = lleval_http_url(e, "/api/chat");
    out->body = lleval_sb_detach(&sb, NULL);
    lleval_http_add_headers(e, out);
    return 0;
}

static enum lleval_finish ollama_finish(const char *reason)
{
    if (!reason || !strcmp(reason, "stop"))
        return LLEVAL_FINISH_STOP;
    if (!strcmp(reason, "length"))
        return LLEVAL_FINISH_LENGTH;
    /* "load" and "unload" answer a request without messages: nothing was generated */
    if (!strcmp(reason, "load") || !strcmp(reason, "unload"))
        return LLEVAL_FINISH_ERROR;
    return LLEVAL_FINISH_STOP;
}

static double per_second(long long count, long long duration_ns)
{
    if (count <= 0 || duration_ns <= 0)
        return 0;
    return (double)count * 1e9 / (double)duration_ns;
}

/* Reads the final object's statistics into out. */
static void ollama_stats(const json_t *last, struct lleval_answer *out)
{
    long long eval_count = lleval_json_int(last, "eval_count", -1);
    long long eval_ns = lleval_json_int(last, "eval_duration", -1);
    long long prompt_count = lleval_json_int(last, "prompt_eval_count", -1);
    long long prompt_ns = lleval_json_int(last, "prompt_eval_duration", -1);
    long long load_ns = lleval_json_int(last, "load_duration", -1);
    out->finish = ollama_finish(lleval_json_str(last, "done_reason"));
    out->completion_tokens = eval_count >= 0 ? (long)eval_count : -1;
    out->prompt_tokens = prompt_count >= 0 ? (long)prompt_count : -1;
    out->gen_tps = per_second(eval_count, eval_ns);
    out->prompt_tps = per_second(prompt_count, prompt_ns);
    out->load_ms = load_ns > 0 ? (double)load_ns / 1e6 : 0;
    out->model = lleval_http_json_text(json_object_get(last, "model"));
}

/* The reply to an unsuccessful status: 404 names the pull command. */
static enum lleval_reply ollama_http_error(const struct lleval_engine *e, long status,
                                           const char *body, size_t len, struct lleval_err *err)
{
    enum lleval_reply verdict = lleval_http_classify(status);
    char *text = lleval_http_error_text(body, len, e->api_key);
    const char *model = e->cfg && e->cfg->model_id ? e->cfg->model_id : "MODEL";
    if (status == 404 && strstr(text, "model"))
        lleval_err_set(err, LLEVAL_EENGINE, "ollama replied HTTP 404: %s: run `ollama pull %s`",
                       text, model);
    else if (status == 404)
        lleval_err_set(err, LLEVAL_EENGINE,
                       "ollama replied HTTP 404%s%s: check base_url (Ollama's native API, "
                       "e.g. http://127.0.0.1:11434, without /v1)",
                       *text ? ": " : "", text);
    else
        lleval_err_set(err, LLEVAL_EENGINE, "ollama replied HTTP %ld%s%s", status,
                       *text ? ": " : "", text);
    free(text);
    return verdict;
}

/*
 * A 200 reply is one JSON object (stream false) or, if a server streamed
 * anyway, NDJSON: the content is the concatenation of every object's
 * message.content (or /api/generate's response) and the statistics come
 * from the last object, which has "done": true.
 */
static enum lleval_reply ollama_parse_reply(struct lleval_engine *e, long http_status,
                                            const char *body, size_t len, struct lleval_answer *out,
                                            struct lleval_err *err)
{
    struct lleval_sb content = LLEVAL_SB_INIT;
    json_t *last = NULL;
    size_t pos = 0, objects = 0;
    enum lleval_reply verdict = LLEVAL_REPLY_OK;
    char why[200];

    lleval_answer_init(out);
    if (lleval_http_classify(http_status) != LLEVAL_REPLY_OK)
        return ollama_http_error(e, http_status, body, len, err);

    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (body + pos)) : len - pos;
        const char *line = body + pos;
        json_t *obj, *piece, *message;
        const char *bad;
        pos += n + (nl ? 1 : 0);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        while (n && (*line == ' ' || *line == '\t')) {
            line++;
            n--;
        }
        if (!n)
            continue;
        obj = lleval_http_json_decode(line, n, why, sizeof(why));
        if (!json_is_object(obj)) {
            lleval_err_set(err, LLEVAL_EENGINE, "malformed reply from ollama: %s",
                           obj ? "not a JSON object" : why);
            json_decref(obj);
            verdict = LLEVAL_REPLY_RETRY;
            goto out;
        }
        if (json_object_get(obj, "error")) {
            char *text = lleval_http_error_text(line, n, e->api_key);
            lleval_err_set(err, LLEVAL_EENGINE, "ollama reported an error: %s", text);
            free(text);
            json_decref(obj);
            verdict = LLEVAL_REPLY_RETRY;
            goto out;
        }
        /* message.content (or /api/generate's response) must be a string;
         * null or absent is an empty piece */
        message = json_object_get(obj, "message");
        piece = message ? json_object_get(message, "content") : json_object_get(obj, "response");
        bad = message && !json_is_object(message) ? "message"
              : piece && !json_is_string(piece) && !json_is_null(piece)
                  ? (message ? "message.content" : "response")
                  : NULL;
        if (bad) {
            lleval_err_set(
                err, LLEVAL_EENGINE, "invalid reply from ollama: %s is %s, not %s", bad,
                lleval_http_json_kind(message && !json_is_object(message) ? message : piece),
                !strcmp(bad, "message") ? "an object" : "a string");
            json_decref(obj);
            verdict = LLEVAL_REPLY_RETRY;
            goto out;
        }
        if (json_is_string(piece)) {
            char *text = lleval_http_json_text(piece);
            lleval_sb_adds(&content, text);
            free(text);
        }
        json_decref(last);
        last = obj;
        objects++;
    }

    if (!last) {
        lleval_err_set(err, LLEVAL_EENGINE, "malformed reply from ollama: empty body");
        verdict = LLEVAL_REPLY_RETRY;
        goto out;
    }
    if (json_is_false(json_object_get(last, "done"))) {
        lleval_err_set(err, LLEVAL_EENGINE,
                       "incomplete reply from ollama: the last of %zu objects is not \"done\"",
                       objects);
        verdict = LLEVAL_REPLY_RETRY;
        goto out;
    }
    if (objects == 1 && !json_object_get(last, "message") && !json_object_get(last, "response") &&
        !json_object_get(last, "done")) {
        char *text = lleval_http_error_text(body, len, e->api_key);
        lleval_err_set(err, LLEVAL_EENGINE, "malformed reply from ollama: no message in \"%s\"",
                       text);
        free(text);
        verdict = LLEVAL_REPLY_RETRY;
        goto out;
    }
    ollama_stats(last, out);
    out->content = lleval_sb_detach(&content, NULL);

out:
    json_decref(last);
    lleval_sb_release(&content);
    return verdict;
}

/* Ollama model names: case-insensitive, and "name" means "name:latest". */
static char *normalize_name(const char *s)
{
    const char *slash = strrchr(s, '/');
    bool tagged = strchr(slash ? slash : s, ':') != NULL;
    char *out = lleval_xasprintf("%s%s", s, tagged ? "" : ":latest");
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

static bool same_model(const char *a, const char *b)
{
    char *na = normalize_name(a), *nb = normalize_name(b);
    bool same = !strcmp(na, nb);
    free(na);
    free(nb);
    return same;
}

static const json_t *find_model(const json_t *models, const char *want)
{
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m)
    {
        const char *name = lleval_json_str(m, "name");
        const char *model = lleval_json_str(m, "model");
        if ((name && same_model(name, want)) || (model && same_model(model, want)))
            return m;
    }
    return NULL;
}

/* At most this many names of pulled models in a message, each at most NAME_MAX_SHOWN bytes. */
#define PULLED_MAX_SHOWN 12
#define NAME_MAX_SHOWN   80

/* "Ollama at WHERE has: a, b (and N more)" (did-you-mean first when one is close to
 * want), or "... has no models pulled": the models of /api/tags, for the "not pulled"
 * message. Names are server text: cut, made safe for a terminal and redacted. Owned. */
static char *pulled_models(const json_t *models, const char *where, const char *want)
{
    const char *names[PULLED_MAX_SHOWN];
    const char *close;
    size_t n = 0, total = 0, i;
    json_t *m;
    struct lleval_sb sb = LLEVAL_SB_INIT;

    json_array_foreach(models, i, m)
    {
        const char *name = lleval_json_str(m, "name");
        if (!name)
            name = lleval_json_str(m, "model");
        if (!name || !*name)
            continue;
        total++;
        if (n < PULLED_MAX_SHOWN)
            names[n++] = name;
    }
    if (!total) {
        lleval_sb_addf(&sb, "Ollama at %s has no models pulled", where);
        return lleval_sb_detach(&sb, NULL);
    }
    close = lleval_did_you_mean(want, names, n);
    if (close) {
        lleval_sb_adds(&sb, "did you mean '");
        lleval_term_sanitize_n(&sb, close, strnlen(close, NAME_MAX_SHOWN), false);
        lleval_sb_adds(&sb, "'? ");
    }
    lleval_sb_addf(&sb, "Ollama at %s has: ", where);
    for (i = 0; i < n; i++) {
        lleval_sb_adds(&sb, i ? ", " : "");
        lleval_term_sanitize_n(&sb, names[i], strnlen(names[i], NAME_MAX_SHOWN), false);
    }
    if (total > n)
        lleval_sb_addf(&sb, " (and %zu more)", total - n);
    lleval_redact_sb(&sb); /* a server may echo the key in a name */
    return lleval_sb_detach(&sb, NULL);
}

/* The detail line for the model entry m of /api/tags; owned, redacted. */
static char *model_detail(const struct lleval_engine *e, const json_t *m, const char *where,
                          const struct lleval_probe_info *info)
{
    const json_t *details = json_object_get(m, "details");
    const char *params = lleval_json_str(details, "parameter_size");
    const char *quant = lleval_json_str(details, "quantization_level");
    double size = lleval_json_num(m, "size", 0);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_sb_addf(&sb, "Ollama at %s: model '%s'", where, info->model);
    if (params || quant || size > 0) {
        lleval_sb_adds(&sb, " (");
        if (params)
            lleval_sb_addf(&sb, "%s", params);
        if (quant)
            lleval_sb_addf(&sb, "%s%s", params ? ", " : "", quant);
        if (size > 0)
            lleval_sb_addf(&sb, "%s%.1f GB", params || quant ? ", " : "", size / 1e9);
        lleval_sb_addch(&sb, ')');
    }
    if (e->cfg && e->cfg->context_length > 0)
        lleval_sb_addf(&sb, ", num_ctx %ld", e->cfg->context_length);
    lleval_redact_sb(&sb); /* a server may echo the key in a name or a detail */
    return lleval_sb_detach(&sb, NULL);
}

int lleval_ollama_tags_reply(const struct lleval_engine *e, const char *where, long status,
                             const char *body, size_t len, struct lleval_probe_info *info,
                             struct lleval_err *err)
{
    const char *want = e->cfg ? e->cfg->model_id : NULL;
    json_t *root = NULL;
    const json_t *models, *found;
    const char *name;
    int rc = 0;

    memset(info, 0, sizeof(*info));
    if (status == 404)
        return lleval_err_set(err, LLEVAL_EENGINE,
                              "%s answered HTTP 404 to GET /api/tags: it is not Ollama's native "
                              "API (base_url is like http://127.0.0.1:11434, without /v1; for "
                              "llama-server use engine llamacpp, for other servers engine openai)",
                              where);
    if (status != 200) {
        char *text = lleval_http_error_text(body, len, e->api_key);
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "Ollama at %s answered HTTP %ld to GET /api/tags%s%s", where, status,
                            *text ? ": " : "", text);
        free(text);
        return rc;
    }
    root = lleval_http_json_decode(body, len, NULL, 0);
    models = json_object_get(root, "models");
    if (!json_is_array(models)) {
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "%s answered GET /api/tags without a \"models\" list: is it Ollama?",
                            where);
        goto out;
    }
    if (!want || !*want) {
        rc = lleval_err_set(err, LLEVAL_EENGINE, "no model to ask Ollama for: set model_id");
        goto out;
    }
    found = find_model(models, want);
    if (!found) {
        char *have = pulled_models(models, where, want);
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "model %s is not pulled: run `ollama pull %s`, or set model_id to one "
                            "the server has; %s",
                            want, want, have);
        free(have);
        goto out;
    }
    name = lleval_json_str(found, "name");
    info->model = lleval_xstrdup(name ? name : lleval_json_str(found, "model"));
    info->slot_ctx = e->cfg && e->cfg->context_length > 0 ? e->cfg->context_length : 0;
    info->detail = model_detail(e, found, where, info);

out:
    json_decref(root);
    return rc;
}

void lleval_ollama_version_reply(long status, const char *body, size_t len,
                                 struct lleval_probe_info *info)
{
    static const char prefix[] = "Ollama";
    json_t *root;
    char *version;
    if (status != 200 || !info->detail || strncmp(info->detail, prefix, strlen(prefix)))
        return;
    root = lleval_http_json_decode(body, len, NULL, 0);
    version = lleval_http_json_text(json_object_get(root, "version"));
    if (version) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_sb_addf(&sb, "%s %s%s", prefix, version, info->detail + strlen(prefix));
        lleval_redact_sb(&sb);
        free(info->detail);
        info->detail = lleval_sb_detach(&sb, NULL);
    }
    free(version);
    json_decref(root);
}

static int ollama_probe(struct lleval_engine *e, struct lleval_probe_info *info,
                        struct lleval_err *err)
{
    struct lleval_sb body = LLEVAL_SB_INIT;
    char *where = lleval_http_url_redact(e->base_url ? e->base_url : "");
    char reason[LLEVAL_ERR_MAX];
    long status = 0;
    int rc;

    memset(info, 0, sizeof(*info));
    rc = lleval_http_get(e, "/api/tags", e->probe_timeout_s, &status, &body, err);
    if (rc) {
        snprintf(reason, sizeof(reason), "%s", err ? lleval_http_reason(err->msg) : "no reply");
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "cannot reach Ollama at %s: is `ollama serve` running? (%s)", where,
                            reason);
        goto out;
    }
    rc = lleval_ollama_tags_reply(e, where, status, body.buf, body.len, info, err);
    if (rc)
        goto out;
    /* the version, for the log only: no reply is no version */
    lleval_sb_reset(&body);
    if (!lleval_http_get(e, "/api/version", e->probe_timeout_s, &status, &body, NULL))
        lleval_ollama_version_reply(status, body.buf, body.len, info);

out:
    lleval_sb_release(&body);
    free(where);
    return rc;
}

/* The probe as steps (lleval_engine_check_*): GET /api/tags and its verdict,
 * as ollama_probe; /api/version is for the log only and is not asked. */
static enum lleval_check_next ollama_check(struct lleval_engine *e, struct lleval_check *c,
                                           double now, const struct lleval_check_reply *reply,
                                           struct lleval_http_request *req, struct lleval_err *err)
{
    char *where;
    struct lleval_probe_info info = {0};
    enum lleval_check_next next = LLEVAL_CHECK_FAIL;

    (void)now;
    c->wait_ms = 0;
    if (!reply) {
        c->timeout_ms = (c->bound_s > 0 ? c->bound_s : 10) * 1000L;
        lleval_http_get_request(e, "/api/tags", req);
        return LLEVAL_CHECK_SEND;
    }
    where = lleval_http_url_redact(e->base_url ? e->base_url : "");
    if (!reply->answered)
        lleval_err_set(err, LLEVAL_EENGINE,
                       "cannot reach Ollama at %s: is `ollama serve` running? (%s)", where,
                       reply->why ? reply->why : "no reply");
    else if (!lleval_ollama_tags_reply(e, where, reply->status, reply->body, reply->len, &info,
                                       err))
        next = LLEVAL_CHECK_PASS;
    lleval_probe_info_release(&info);
    free(where);
    return next;
}

static void ollama_release(struct lleval_engine *e)
{
    (void)e;
}

const struct lleval_engine_ops lleval_engine_ollama_ops = {
    .name = "ollama",
    .probe = ollama_probe,
    .check = ollama_check,
    .make_request = ollama_make_request,
    .parse_reply = ollama_parse_reply,
    .answer_local = NULL,
    .release = ollama_release,
};

/* ---- /api/show, for the planner ------------------------------------------------- */

static char *show_url(const char *base)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_sb_adds(&sb, base);
    while (sb.len && sb.buf[sb.len - 1] == '/')
        lleval_sb_setlen(&sb, sb.len - 1);
    lleval_sb_adds(&sb, "/api/show");
    return lleval_sb_detach(&sb, NULL);
}

int lleval_ollama_show(const char *base, const char *tag, json_t **out, struct lleval_err *err)
{
    struct lleval_http_request req = {0};
    struct lleval_sb body = LLEVAL_SB_INIT;
    json_t *reqj, *show = NULL;
    char why[160] = "";
    long status = 0;
    int rc;

    *out = NULL;
    if (!lleval_str_starts_with(base, "http://") && !lleval_str_starts_with(base, "https://"))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "Ollama's address wants an http:// or https:// URL, not '%s'", base);
    req.url = show_url(base);
    reqj = json_pack("{s:s}", "model", tag);
    req.body = json_dumps(reqj, JSON_COMPACT);
    json_decref(reqj);
    lleval_http_request_add_header(&req, "Content-Type", "application/json");
    rc = lleval_http_fetch(&req, 30, LLEVAL_OLLAMA_SHOW_MAX_BODY, &status, &body, err);
    if (rc) {
        lleval_err_prefix(err, "cannot ask Ollama about '%s' (is `ollama serve` running?)", tag);
        goto out;
    }
    if (status == 404) {
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "Ollama at %s has no model '%s': pull it first (ollama pull %s)", base,
                            tag, tag);
        goto out;
    }
    if (status != 200) {
        char *text = lleval_http_error_text(body.buf, body.len, NULL);
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "Ollama's /api/show for '%s' answered HTTP %ld: %s", tag, status, text);
        free(text);
        goto out;
    }
    show = lleval_http_json_decode(body.buf, body.len, why, sizeof(why));
    if (!show || !json_is_object(show)) {
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "Ollama's /api/show reply for '%s' is not a JSON object: %s", tag,
                            why[0] ? why : "not an object");
        goto out;
    }
    *out = show;
    show = NULL;
out:
    json_decref(show);
    lleval_http_request_release(&req);
    lleval_sb_release(&body);
    return rc;
}

int lleval_ollama_vram_model(const char *base, const char *tag, double bpw,
                             struct lleval_vram_model *m, struct lleval_err *err)
{
    json_t *show;
    int rc = lleval_ollama_show(base, tag, &show, err);
    if (rc)
        return rc;
    rc = lleval_vram_model_from_ollama(m, show, tag, bpw, err);
    json_decref(show);
    return rc;
}

int lleval_ollama_unload(const struct lleval_engine *e, const char *model, struct lleval_err *err)
{
    struct lleval_http_request req = {0};
    struct lleval_sb body = LLEVAL_SB_INIT;
    json_t *reqj = json_pack("{s:s, s:i, s:b}", "model", model, "keep_alive", 0, "stream", 0);
    long status = 0;
    int rc;

    req.url = lleval_http_url(e, "/api/generate");
    req.body = json_dumps(reqj, JSON_COMPACT);
    json_decref(reqj);
    lleval_http_add_headers(e, &req);
    rc = lleval_http_fetch(&req, 30, 0, &status, &body, err);
    if (!rc && lleval_http_classify(status) != LLEVAL_REPLY_OK) {
        char *text = lleval_http_error_text(body.buf, body.len, e->api_key);
        rc = lleval_err_set(err, LLEVAL_EENGINE, "Ollama did not unload '%s': HTTP %ld: %s", model,
                            status, text);
        free(text);
    }
    lleval_http_request_release(&req);
    lleval_sb_release(&body);
    return rc;
}
