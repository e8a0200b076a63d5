/*
 * Engines: one interface, one adapter per kind of server (ollama, llamacpp,
 * openai) plus `dry`, which answers without a model.
 *
 * An adapter never does I/O on its own during a run: it turns a batch request
 * body (OpenAI chat format, see docs/formats.md) into an HTTP request, and an
 * HTTP reply into a normalized answer. The scheduler (scheduler.h) moves the
 * bytes with libcurl's multi interface. Only the probe does blocking HTTP,
 * before the run starts; the health checks during a run
 * (lleval_engine_check_*) are the probe's requests and verdict, sent by the
 * scheduler. The adapters' table and the handle's fields are
 * lib/engine/engine_int.h's.
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
    char *content; /* model text, valid UTF-8 (invalid bytes replaced by U+FFFD) */
    enum lleval_finish finish;
    long prompt_tokens;     /* -1 when the engine did not say */
    long completion_tokens; /* -1 when the engine did not say */
    double prompt_tps;      /* prompt processing tokens/s, 0 when unknown */
    double gen_tps;         /* generation tokens/s, 0 when unknown */
    double load_ms;         /* model load time the engine reported (ollama load_duration) */
    char *model;            /* model name the engine reported, or NULL */
    char *request_id;       /* engine's id of the reply, or NULL */
};
void lleval_answer_init(struct lleval_answer *a);
void lleval_answer_release(struct lleval_answer *a);

/* How the scheduler should treat a reply. */
enum lleval_reply {
    LLEVAL_REPLY_OK = 0, /* answer filled */
    LLEVAL_REPLY_RETRY,  /* transient (429, 5xx, malformed body from a busy server): retry with
                            backoff */
    LLEVAL_REPLY_FAIL,   /* final (other 4xx, a refused request): record the error, never retry */
};

/* One HTTP request, all owned; release with lleval_http_request_release(). */
struct lleval_http_request {
    char *url;
    char *body;     /* JSON; NULL for GET */
    char **headers; /* "Name: value" lines */
    size_t n_headers;
};
void lleval_http_request_release(struct lleval_http_request *r);
/* Appends an owned copy of "name: value". */
void lleval_http_request_add_header(struct lleval_http_request *r, const char *name,
                                    const char *value);

/* What a probe learned about the server. Strings owned. */
struct lleval_probe_info {
    long slots;    /* concurrent slots the server has (llama-server total_slots), 0 unknown */
    long slot_ctx; /* context per slot (llama-server n_ctx per slot), 0 unknown */
    char *model;   /* model the server serves, or NULL */
    char *detail;  /* one line for the log, or NULL */
};
void lleval_probe_info_release(struct lleval_probe_info *p);

/*
 * An open engine: the adapter for the config's engine, its base_url and API
 * key. Opaque outside lib/engine (its fields are lib/engine/engine_int.h's);
 * the functions below are the whole interface.
 */
struct lleval_engine;

/* Opens the adapter for cfg->engine: base_url from cfg (or the engine's
 * default, without trailing slashes), the API key from the variable
 * cfg->api_key_env names. cfg is borrowed and must outlive the engine. *out
 * receives the owned engine (lleval_engine_close()); NULL on failure. */
int lleval_engine_open(struct lleval_engine **out, const struct lleval_config *cfg,
                       struct lleval_err *err);
/* Releases the adapter's state and frees e (NULL is harmless). */
void lleval_engine_close(struct lleval_engine *e);

/* The adapter's name: "dry", "ollama", "llamacpp" or "openai" (static). */
const char *lleval_engine_name(const struct lleval_engine *e);
/* The base URL requests go to, without a trailing slash ("" for dry); borrowed
 * from e, valid until the next lleval_engine_set_base_url(). */
const char *lleval_engine_base_url(const struct lleval_engine *e);
/* Points the engine at another server (a managed llama-server's address);
 * url is copied, trailing slashes dropped. Never written to any file. */
void lleval_engine_set_base_url(struct lleval_engine *e, const char *url);
/* The API key read from the environment, or NULL; borrowed. A secret: never
 * log, print or write it. */
const char *lleval_engine_api_key(const struct lleval_engine *e);
/* The bound of lleval_engine_probe() in seconds: 10, or 120 for llamacpp (a model loading). */
long lleval_engine_probe_timeout_s(const struct lleval_engine *e);
void lleval_engine_set_probe_timeout_s(struct lleval_engine *e, long seconds);

/* Blocking health/model check before the run. LLEVAL_EENGINE when the server
 * is unreachable or the model is missing (the message says the fix). info is
 * filled (release it with lleval_probe_info_release(), even on failure). */
int lleval_engine_probe(struct lleval_engine *e, struct lleval_probe_info *info,
                        struct lleval_err *err);

/*
 * A health check whose requests the caller sends (the scheduler's, for an
 * endpoint out of rotation, on its own multi handle, so that its loop keeps
 * turning): the probe's requests and its pass or fail, bounded as
 * lleval_engine_set_probe_timeout_s() bounds the probe, built and read here
 * without I/O. The probe's details (info) and its requests for the log only
 * (Ollama's /api/version) are left out: they never change the verdict.
 */
enum lleval_check_next {
    LLEVAL_CHECK_PASS = 0, /* the probe would pass */
    LLEVAL_CHECK_FAIL,     /* it would fail: err says why */
    LLEVAL_CHECK_SEND,     /* send req after c->wait_ms, bounded to c->timeout_ms */
};
/* A check's place; the adapter's fields are set by the start. */
struct lleval_check {
    int step;        /* the adapter's: which request is out */
    long bound_s;    /* the probe's bound (its timeout_s) */
    double deadline; /* llamacpp: when a server still loading fails */
    long wait_ms;    /* LLEVAL_CHECK_SEND: wait this long before sending req */
    long timeout_ms; /* LLEVAL_CHECK_SEND: req's bound, connect included */
};
/* The reply to the check's last request: answered is false when no complete
 * reply arrived (no connection, timeout, reset, a body over
 * LLEVAL_HTTP_PROBE_MAX_BODY), and why then says curl's reason. Borrowed. */
struct lleval_check_reply {
    bool answered;
    long status;
    const char *body; /* body[0..len), need not end in a NUL */
    size_t len;
    const char *why;
};
/* Starts a check at now (lleval_monotonic()) bounded to timeout_s seconds as
 * the probe is: c is set, and the first request goes to req (owned by the
 * caller: lleval_http_request_release()) with LLEVAL_CHECK_SEND. A local
 * engine (dry), whose probe does no I/O, gives its verdict at once. */
enum lleval_check_next lleval_engine_check_start(struct lleval_engine *e, struct lleval_check *c,
                                                 long timeout_s, double now,
                                                 struct lleval_http_request *req,
                                                 struct lleval_err *err);
/* Reads the reply (borrowed) to the check's last request at now: the verdict,
 * or LLEVAL_CHECK_SEND with the next request in req (owned by the caller). */
enum lleval_check_next lleval_engine_check_reply(struct lleval_engine *e, struct lleval_check *c,
                                                 double now, const struct lleval_check_reply *reply,
                                                 struct lleval_http_request *req,
                                                 struct lleval_err *err);

/* True for an engine that answers without HTTP (dry): lleval_engine_answer_local()
 * instead of lleval_engine_make_request() / lleval_engine_parse_reply(). */
bool lleval_engine_is_local(const struct lleval_engine *e);
/* A local engine's simulated latency per answer in ms (dry: env
 * LLEVAL_DRY_DELAY_MS, read by the probe); 0 otherwise. */
long lleval_engine_local_delay_ms(const struct lleval_engine *e);
/* Answers one batch body (borrowed) at once; a local engine only (else
 * LLEVAL_EINVAL). out is owned by the caller (lleval_answer_release()). */
int lleval_engine_answer_local(struct lleval_engine *e, const char *custom_id, const json_t *body,
                               struct lleval_answer *out, struct lleval_err *err);
/* Builds the HTTP request for one batch body (borrowed) into out (owned:
 * lleval_http_request_release()); an HTTP engine only (else LLEVAL_EINVAL). */
int lleval_engine_make_request(struct lleval_engine *e, const json_t *body,
                               struct lleval_http_request *out, struct lleval_err *err);
/* The two calls above from the body's JSON text (body[0..len), borrowed,
 * NUL-terminated), as the scheduler makes them: read without a JSON tree
 * where the adapter can, with the same result as parsing the text and making
 * the call above (a text that is not JSON: LLEVAL_EINVAL). */
int lleval_engine_answer_local_text(struct lleval_engine *e, const char *custom_id,
                                    const char *body, size_t len, struct lleval_answer *out,
                                    struct lleval_err *err);
int lleval_engine_make_request_text(struct lleval_engine *e, const char *body, size_t len,
                                    struct lleval_http_request *out, struct lleval_err *err);
/* Classifies and parses a reply (body borrowed). On OK out is filled (owned by
 * the caller); on RETRY/FAIL err says why (status, engine error text). An HTTP
 * engine only (a local one FAILs). */
enum lleval_reply lleval_engine_parse_reply(struct lleval_engine *e, long http_status,
                                            const char *body, size_t len, struct lleval_answer *out,
                                            struct lleval_err *err);

/* Replaces each invalid UTF-8 sequence in s[0..len) by one U+FFFD and NUL bytes by
 * spaces; returns an owned string. */
char *lleval_utf8_sanitize(const char *s, size_t len);

#endif
