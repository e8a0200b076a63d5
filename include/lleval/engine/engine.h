/*
 * Engines: one interface, one adapter per kind of server (ollama, llamacpp,
 * openai) plus `dry`, which answers without a model.
 *
 * An adapter never does I/O on its own during a run: it turns a batch request
 * body (OpenAI chat format, see docs/formats.md) into an HTTP request, and an
 * HTTP reply into a normalized answer. The scheduler (scheduler.h) moves the
 * bytes with libcurl's multi interface. Only probe() does blocking HTTP,
 * before the run starts.
 */
#ifndef LLEVAL_ENGINE_H
#define LLEVAL_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/config/config.h"
#include "lleval/util/error.h"

enum lleval_finish {
    LLEVAL_FINISH_STOP = 0,
    LLEVAL_FINISH_LENGTH,
    LLEVAL_FINISH_ERROR,
};
const char *lleval_finish_name(enum lleval_finish f); /* "stop" | "length" | "error" */

/* A normalized answer. All strings owned; release with lleval_answer_release(). */
struct lleval_answer {
    char *content;            /* model text, valid UTF-8 (invalid bytes replaced by U+FFFD) */
    enum lleval_finish finish;
    long prompt_tokens;       /* -1 when the engine did not say */
    long completion_tokens;   /* -1 when the engine did not say */
    double prompt_tps;        /* prompt processing tokens/s, 0 when unknown */
    double gen_tps;           /* generation tokens/s, 0 when unknown */
    double load_ms;           /* model load time the engine reported (ollama load_duration) */
    char *model;              /* model name the engine reported, or NULL */
    char *request_id;         /* engine's id of the reply, or NULL */
};
void lleval_answer_init(struct lleval_answer *a);
void lleval_answer_release(struct lleval_answer *a);

/* How the scheduler should treat a reply. */
enum lleval_reply {
    LLEVAL_REPLY_OK = 0, /* answer filled */
    LLEVAL_REPLY_RETRY,  /* transient (429, 5xx, malformed body from a busy server): retry with backoff */
    LLEVAL_REPLY_FAIL,   /* final (other 4xx, a refused request): record the error, never retry */
};

/* One HTTP request, all owned; release with lleval_http_request_release(). */
struct lleval_http_request {
    char *url;
    char *body;      /* JSON; NULL for GET */
    char **headers;  /* "Name: value" lines */
    size_t n_headers;
};
void lleval_http_request_release(struct lleval_http_request *r);
/* Appends an owned copy of "name: value". */
void lleval_http_request_add_header(struct lleval_http_request *r, const char *name,
                                    const char *value);

/* What a probe learned about the server. Strings owned. */
struct lleval_probe_info {
    long slots;        /* concurrent slots the server has (llama-server total_slots), 0 unknown */
    long slot_ctx;     /* context per slot (llama-server n_ctx per slot), 0 unknown */
    char *model;       /* model the server serves, or NULL */
    char *detail;      /* one line for the log, or NULL */
};
void lleval_probe_info_release(struct lleval_probe_info *p);

struct lleval_engine;

struct lleval_engine_ops {
    const char *name;
    /* Blocking health/model check before the run. LLEVAL_EENGINE when the
     * server is unreachable or the model is missing (message says the fix). */
    int (*probe)(struct lleval_engine *e, struct lleval_probe_info *info, struct lleval_err *err);
    /* Builds the HTTP request for one batch body (borrowed). */
    int (*make_request)(struct lleval_engine *e, const json_t *body,
                        struct lleval_http_request *out, struct lleval_err *err);
    /* Classifies and parses a reply. On RETRY/FAIL, err says why (status, engine error text). */
    enum lleval_reply (*parse_reply)(struct lleval_engine *e, long http_status, const char *body,
                                     size_t len, struct lleval_answer *out,
                                     struct lleval_err *err);
    /* Engines without HTTP (dry) answer here at once; NULL for HTTP engines. */
    int (*answer_local)(struct lleval_engine *e, const char *custom_id, const json_t *body,
                        struct lleval_answer *out, struct lleval_err *err);
    /* Frees priv. */
    void (*release)(struct lleval_engine *e);
};

struct lleval_engine {
    const struct lleval_engine_ops *ops;
    const struct lleval_config *cfg; /* borrowed; outlives the engine */
    char *base_url;                  /* owned, without a trailing slash */
    char *api_key;                   /* owned, from the environment; never logged or written */
    long probe_timeout_s;            /* bound for probe(), default 10; llamacpp waits longer for 503 */
    long local_delay_ms;             /* dry: simulated latency per answer (env LLEVAL_DRY_DELAY_MS) */
    void *priv;                      /* adapter state */
};

/* Opens the adapter for cfg->engine: base_url from cfg (or the engine's
 * default), the API key from the variable cfg->api_key_env names. */
int lleval_engine_open(struct lleval_engine *e, const struct lleval_config *cfg,
                       struct lleval_err *err);
void lleval_engine_close(struct lleval_engine *e);

/* Adapters (each in lib/engine_<name>.c). */
extern const struct lleval_engine_ops lleval_engine_dry_ops;
extern const struct lleval_engine_ops lleval_engine_ollama_ops;
extern const struct lleval_engine_ops lleval_engine_llamacpp_ops;
extern const struct lleval_engine_ops lleval_engine_openai_ops;

/* Replaces invalid UTF-8 in s[0..len) by U+FFFD; returns an owned string. */
char *lleval_utf8_sanitize(const char *s, size_t len);

#endif
