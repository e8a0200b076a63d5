/*
 * The reply halves of the engine probes (lleval_engine_probe): pure functions
 * that turn one probe reply (HTTP status and body) into the probe's outcome,
 * with no I/O. Each adapter's probe only fetches the replies over HTTP and
 * hands them here, so the unit tests (tests/unit/test_probe_parse.c) and the
 * fuzz targets probe_llamacpp, probe_ollama, probe_openai (tests/fuzz) feed
 * them any bytes without a server.
 *
 * Common to all: e is the open engine (borrowed; its config, API key); where
 * (borrowed) is the server's address as messages show it, without userinfo
 * (lleval_http_url_redact()); body[0..len) is borrowed and need not end in a
 * NUL. Messages and info->detail hold no registered secret (the API key, a
 * URL password: see util/redact.h); server texts quoted in errors have the
 * key replaced by "***".
 */
#ifndef LLEVAL_PROBE_H
#define LLEVAL_PROBE_H

#include <stddef.h>
#include "lleval/engine/engine.h"
#include "lleval/util/error.h"

/* llama-server's GET /health, as the probe's wait sees it. */
enum lleval_health {
    LLEVAL_HEALTH_READY,   /* 200: the model is loaded */
    LLEVAL_HEALTH_LOADING, /* 503: still loading, ask again */
    LLEVAL_HEALTH_FAILED,  /* anything else: err says why (not llama-server, its error text) */
};

/* Classifies a GET /health reply of llama-server. err is set on FAILED only. */
enum lleval_health lleval_llamacpp_health_reply(const struct lleval_engine *e, const char *where,
                                                long status, const char *body, size_t len,
                                                struct lleval_err *err);

/*
 * Reads llama-server's GET /props reply into info (cleared first; its strings
 * are owned by the caller: lleval_probe_info_release()): total_slots -> slots,
 * default_generation_settings.n_ctx -> slot_ctx, model_alias (else
 * model_path) -> model, and a detail line (build_info, slots, the model, a
 * warning when the config's context_length exceeds one slot). A reply that is
 * not a usable JSON object still succeeds, with a warning as the detail.
 * Returns 0, or LLEVAL_EENGINE for 401/403 (the message says which API key
 * setting to fix).
 */
int lleval_llamacpp_props_reply(const struct lleval_engine *e, const char *where, long status,
                                const char *body, size_t len, struct lleval_probe_info *info,
                                struct lleval_err *err);

/*
 * Reads Ollama's GET /api/tags reply into info (cleared first; owned by the
 * caller): the entry of the "models" list that names the config's model_id
 * (case-insensitive, "name" = "name:latest") -> model, the config's
 * context_length -> slot_ctx, and a detail line "Ollama at WHERE: model
 * 'NAME' (parameter size, quantization, size), num_ctx N". Returns 0, or
 * LLEVAL_EENGINE when the status is not 200, the reply has no "models" list,
 * no model_id is set or the model is not pulled (the message then lists the
 * models the server has, up to 12, with a did-you-mean for a close one).
 */
int lleval_ollama_tags_reply(const struct lleval_engine *e, const char *where, long status,
                             const char *body, size_t len, struct lleval_probe_info *info,
                             struct lleval_err *err);

/*
 * Adds the version in Ollama's GET /api/version reply ({"version": "0.5.7"},
 * status 200) to the detail lleval_ollama_tags_reply() wrote ("Ollama 0.5.7
 * at ..."). Any other reply leaves info as it is: the version is optional.
 */
void lleval_ollama_version_reply(long status, const char *body, size_t len,
                                 struct lleval_probe_info *info);

/*
 * Reads the GET {base}/models reply of an OpenAI-compatible server into info
 * (cleared first; owned by the caller): the "data" entry whose id is the
 * config's model_id -> model, and a detail line (the model served, the models
 * listed, or a warning that the model is not among them, or that there is no
 * usable list). v1_status matters for a 404 only: the status of GET
 * {base}/v1/models (0 when not asked or unanswered), for the hint that
 * base_url lacks /v1. Returns 0, or LLEVAL_EENGINE for 401/403, another
 * non-2xx status, or a 404 whose /v1/models answers 2xx.
 */
int lleval_openai_models_reply(const struct lleval_engine *e, const char *where, long status,
                               const char *body, size_t len, long v1_status,
                               struct lleval_probe_info *info, struct lleval_err *err);

#endif
