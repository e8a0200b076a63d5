/*
 * What the ollama engine module offers besides the engine adapter (which
 * engine.h's registry reaches): asking a running Ollama about a pulled
 * model through POST /api/show, for the VRAM planner (`lleval plan
 * --ollama`). Every const char * parameter is borrowed.
 */
#ifndef LLEVAL_OLLAMA_H
#define LLEVAL_OLLAMA_H

#include <jansson.h>
#include "lleval/engine/engine.h"
#include "lleval/model/vram.h"
#include "lleval/util/error.h"

/* Where `ollama serve` listens by default. */
#define LLEVAL_OLLAMA_DEFAULT_URL "http://127.0.0.1:11434"
/* The largest /api/show reply accepted (the tokenizer lists make it large). */
#define LLEVAL_OLLAMA_SHOW_MAX_BODY ((size_t)32 << 20)

/*
 * POSTs {"model": tag} to base_url's /api/show (trailing slashes of base_url
 * ignored) and sets *out to the reply, a JSON object (a new reference:
 * json_decref it). Returns 0; LLEVAL_EINVAL when base_url is not an http://
 * or https:// URL; the transport error prefixed with what to check when
 * Ollama cannot be reached; LLEVAL_EENGINE when Ollama lacks the model
 * (HTTP 404: the message says to pull it), answers another HTTP error, or
 * replies with something other than a JSON object. *out is NULL on failure.
 */
int lleval_ollama_show(const char *base_url, const char *tag, json_t **out, struct lleval_err *err);

/*
 * Asks the Ollama server of e (borrowed) to unload model (borrowed) now: POST
 * /api/generate {"model", "keep_alive": 0} with no prompt, as Ollama's API
 * documents ("Unload a model"), so the next model of a run does not share the
 * card with it. Returns 0, or LLEVAL_EENGINE when the server did not answer 2xx.
 */
int lleval_ollama_unload(const struct lleval_engine *e, const char *model, struct lleval_err *err);

/*
 * Describes tag for the planner: lleval_ollama_show(), then
 * lleval_vram_model_from_ollama() on the reply (weights estimated from the
 * parameter count and the quantization; bpw > 0 overrides its bits per
 * weight). Fills m (borrowed; nothing to release) and returns 0, or the
 * error of either step.
 */
int lleval_ollama_vram_model(const char *base_url, const char *tag, double bpw,
                             struct lleval_vram_model *m, struct lleval_err *err);

#endif
