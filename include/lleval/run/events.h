/*
 * Engine events: what happened to the engine during a run, beyond the
 * answers themselves. A managed llama-server that died (and was restarted,
 * or not), and the failed attempts that were tried again, counted by the
 * class of their error. The run keeps them in manifest.json ("engine_events",
 * "retries": docs/formats.md); doctor and the report read them from there.
 * The classification of engine error texts (out of memory, context window
 * exceeded) lives here too, so the run, doctor and the report agree.
 */
#ifndef LLEVAL_RUN_EVENTS_H
#define LLEVAL_RUN_EVENTS_H

#include <jansson.h>
#include <stdbool.h>

/* At most this many engine events are kept (later ones are counted only). */
#define LLEVAL_ENGINE_EVENTS_MAX 100

/* True when msg (borrowed; NULL is false) is an engine's out-of-memory error
 * text: CUDA's, llama.cpp's, Ollama's or Vulkan's wording. */
bool lleval_error_is_oom(const char *msg);

/* True when msg (borrowed; NULL is false) says the request does not fit the
 * context window: llama-server's exceed_context_size_error, OpenAI's
 * context_length_exceeded, Ollama's and vLLM's wordings. */
bool lleval_error_is_context(const char *msg);

/* The class of a failed attempt, a static string: "oom", "context_exceeded",
 * "connection", "timeout", "http_429", "http_5xx", "http_4xx",
 * "reply_too_large", "invalid_reply" or "other". status: HTTP status (0:
 * none); code and msg borrowed, may be NULL. */
const char *lleval_error_class(long status, const char *code, const char *msg);

/*
 * Counts one retried attempt into *retries (an object {"total": n,
 * "by_class": {class: {"count": n, "sample": first message}}}; created when
 * NULL, owned by the caller). The sample is redacted and cut to 200 bytes.
 */
void lleval_events_count_retry(json_t **retries, long status, const char *code, const char *msg);

/*
 * Appends one event to *events (an array, created when NULL, owned by the
 * caller): {"kind": kind, "at": now, "cause": cause, "exit_status": n|null,
 * "signal": n|null, "address": address|null, "restarts": restarts}. kind:
 * "restart" (the managed server died and was restarted) or "died" (it died
 * and could not be kept up). exit_status / signal: -1 when unknown. Strings
 * borrowed (redacted here). Past LLEVAL_ENGINE_EVENTS_MAX events, nothing is
 * added.
 */
void lleval_events_add(json_t **events, const char *kind, const char *cause, int exit_status,
                       int signal, const char *address, long restarts);

/* The count of class in retries (borrowed; NULL: 0), and its sample message
 * (borrowed from retries; NULL when none). */
long lleval_events_retry_count(const json_t *retries, const char *cls, const char **sample);

#endif
