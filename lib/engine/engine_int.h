/*
 * The engine handle's insides, for the adapters in lib/engine only: the
 * adapter table each adapter fills and the fields of struct lleval_engine.
 * Everything outside lib/engine goes through engine.h's functions.
 */
#ifndef LLEVAL_ENGINE_INT_H
#define LLEVAL_ENGINE_INT_H

#include "lleval/engine/engine.h"

/* One adapter. probe and release are required; an HTTP engine has
 * make_request and parse_reply, a local one (dry) answer_local. */
struct lleval_engine_ops {
    const char *name;
    /* Blocking health/model check before the run (lleval_engine_probe). */
    int (*probe)(struct lleval_engine *e, struct lleval_probe_info *info, struct lleval_err *err);
    /* The probe's health check as steps (lleval_engine_check_start and
     * _reply): reply NULL starts it (c->bound_s set). NULL for a local
     * engine, whose probe does no I/O. */
    enum lleval_check_next (*check)(struct lleval_engine *e, struct lleval_check *c, double now,
                                    const struct lleval_check_reply *reply,
                                    struct lleval_http_request *req, struct lleval_err *err);
    /* Builds the HTTP request for one batch body (borrowed). */
    int (*make_request)(struct lleval_engine *e, const json_t *body,
                        struct lleval_http_request *out, struct lleval_err *err);
    /* Classifies and parses a reply. On RETRY/FAIL, err says why (status, engine error text). */
    enum lleval_reply (*parse_reply)(struct lleval_engine *e, long http_status, const char *body,
                                     size_t len, struct lleval_answer *out, struct lleval_err *err);
    /* Engines without HTTP (dry) answer here at once; NULL for HTTP engines. */
    int (*answer_local)(struct lleval_engine *e, const char *custom_id, const json_t *body,
                        struct lleval_answer *out, struct lleval_err *err);
    /* The same two from the body's JSON text (borrowed, NUL-terminated), read
     * without a tree; NULL: the text is parsed and the calls above made. An
     * adapter's text call falls back to its tree call on anything its scanner
     * cannot vouch for, so both give the same request, answer or error. */
    int (*make_request_text)(struct lleval_engine *e, const char *body, size_t len,
                             struct lleval_http_request *out, struct lleval_err *err);
    int (*answer_local_text)(struct lleval_engine *e, const char *custom_id, const char *body,
                             size_t len, struct lleval_answer *out, struct lleval_err *err);
    /* Frees priv. */
    void (*release)(struct lleval_engine *e);
};

struct lleval_engine {
    const struct lleval_engine_ops *ops;
    const struct lleval_config *cfg; /* borrowed; outlives the engine */
    char *base_url;                  /* owned, without a trailing slash */
    char *api_key;                   /* owned, from the environment; never logged or written */
    long probe_timeout_s; /* bound for probe(), default 10; llamacpp waits longer for 503 */
    long local_delay_ms;  /* dry: simulated latency per answer (env LLEVAL_DRY_DELAY_MS) */
    void *priv;           /* adapter state */
};

/* body[0..len) parsed (any JSON value) for an adapter's tree calls: owned,
 * or NULL with err set ("the batch request body is not JSON: ..."). */
json_t *lleval_engine_body_json(const char *body, size_t len, struct lleval_err *err);

/* The adapters (lib/engine/<name>.c). */
extern const struct lleval_engine_ops lleval_engine_dry_ops;
extern const struct lleval_engine_ops lleval_engine_ollama_ops;
extern const struct lleval_engine_ops lleval_engine_llamacpp_ops;
extern const struct lleval_engine_ops lleval_engine_openai_ops;

#endif
