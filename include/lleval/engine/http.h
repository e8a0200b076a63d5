/*
 * Blocking HTTP for engine probes (libcurl's easy interface), and the small
 * pieces the HTTP engine adapters (ollama, llamacpp, openai) share: URLs,
 * headers, reply classification, engine error text, tolerant JSON decoding
 * and the OpenAI chat request/reply mapping.
 *
 * Only probes block. During a run the scheduler moves the bytes; adapters
 * only build requests and read replies (engine.h).
 *
 * Secrets: the API key travels in the Authorization header only. No message
 * built here contains it (server error texts that echo it are redacted), and
 * URLs in messages lose any user:password@ part.
 */
#ifndef LLEVAL_HTTP_H
#define LLEVAL_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include "lleval/engine/engine.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* Default bound on a probe reply body (/props carries a chat template). */
#define LLEVAL_HTTP_PROBE_MAX_BODY ((size_t)8 << 20)

/*
 * Performs req (borrowed): GET when req->body is NULL, else POST of the body.
 * Waits at most timeout_s seconds in all (connect included; <= 0 means 10).
 * Returns 0 when the server answered, whatever the status: *status is the
 * HTTP status and the body is appended to body (at most max_body bytes;
 * 0 means LLEVAL_HTTP_PROBE_MAX_BODY). Returns LLEVAL_EENGINE when no
 * complete reply arrived (connection refused, name not resolved, timeout,
 * reset, body over the bound); the message names the URL and the reason.
 */
int lleval_http_fetch(const struct lleval_http_request *req, long timeout_s, size_t max_body,
                      long *status, struct lleval_sb *body, struct lleval_err *err);

/*
 * Readies libcurl's TLS library for a process that reaches only the given
 * addresses (borrowed), before libcurl's first handle sets itself up. When each
 * is plain http:// (and no proxy is named in the environment) and libcurl's TLS
 * library is OpenSSL, OpenSSL is set up without its error strings,
 * configuration file and legacy cipher and digest name tables, which libcurl's
 * own set-up would load (about 1.3 MB of resident memory) and which only TLS
 * uses, and without its clean-up at exit (about 0.3 MB more, for memory the
 * process's end frees anyway). Otherwise it does nothing. Call it before any
 * thread starts; after libcurl's first handle it changes nothing.
 */
void lleval_http_tls_setup(const char *const *urls, size_t n_urls);

/* The part of a lleval_http_fetch() message after "cannot reach URL: " (curl's
 * reason), or the whole message; borrowed from msg. */
const char *lleval_http_reason(const char *msg);

/* GET of e->base_url + path (borrowed) with the engine's headers; as above. */
int lleval_http_get(const struct lleval_engine *e, const char *path, long timeout_s, long *status,
                    struct lleval_sb *body, struct lleval_err *err);

/* The request lleval_http_get() sends (a GET of e->base_url + path, borrowed,
 * with the engine's headers) into req (owned: lleval_http_request_release()),
 * for a health check's transfer that the scheduler makes. */
void lleval_http_get_request(const struct lleval_engine *e, const char *path,
                             struct lleval_http_request *req);

/* Returns the owned URL e->base_url + path ("/api/chat"). */
char *lleval_http_url(const struct lleval_engine *e, const char *path);

/* Returns an owned copy of url without any "user:password@" part, for messages. */
char *lleval_http_url_redact(const char *url);

/*
 * Adds the headers every adapter sends: Content-Type and Accept JSON, an
 * empty Expect (no 100-continue round trip for long prompts) and, when
 * e->api_key is set and not empty, "Authorization: Bearer <key>".
 */
void lleval_http_add_headers(const struct lleval_engine *e, struct lleval_http_request *r);

/*
 * How a reply status is treated: 2xx OK; 0 (no reply), 408, 409, 425, 429
 * and every 5xx RETRY; any other status FAIL.
 */
enum lleval_reply lleval_http_classify(long status);

/*
 * The error text in a reply body (borrowed): Ollama's {"error": "..."},
 * OpenAI's {"error": {"message": "..."}}, {"message"} or {"detail"}, else
 * the start of the raw body. One line, valid UTF-8, at most about 300
 * bytes; every occurrence of key (when not NULL or empty) becomes "***".
 * Returns an owned string ("" for an empty body).
 */
char *lleval_http_error_text(const char *body, size_t len, const char *key);

/*
 * Decodes a reply body (borrowed) as one JSON value, tolerating what models
 * produce: invalid UTF-8 bytes and lone \u surrogate escapes become U+FFFD,
 * and \u0000 is allowed. Returns owned JSON, or NULL with a short reason in
 * why (size bytes).
 */
json_t *lleval_http_json_decode(const char *body, size_t len, char *why, size_t size);

/* What a JSON value is, for messages: "a number", "an object", "an array",
 * "true", "false", "null", "a string", or "missing" for NULL. Static. */
const char *lleval_http_json_kind(const json_t *v);

/* Returns an owned, valid UTF-8 copy of a JSON string value (NUL bytes become
 * U+FFFD), or NULL when v is not a string. */
char *lleval_http_json_text(const json_t *v);

/*
 * OpenAI chat helpers, shared by the llamacpp and openai adapters
 * (defined in lib/engine_openai.c).
 *
 * lleval_openai_chat_body: appends to sb the body to POST to
 * /chat/completions for a batch body (borrowed), written straight from it
 * (no copy of the tree): its fields are kept in order (model defaults to
 * e->cfg->model_id), nulls and an empty stop list are dropped (and top_k 0
 * when drop_top_k0: OpenAI's own API refuses the unknown field), and stream
 * is forced to false. Returns 0, or LLEVAL_EINVAL with err set (sb
 * unchanged) when the batch body is not an object with a messages array.
 *
 * lleval_openai_parse_chat: classifies and parses a chat.completion reply:
 * choices[0].message.content, finish_reason, usage, id, model, and
 * llama-server's timings (prompt_per_second, predicted_per_second) when
 * present. label names the engine in messages ("llama-server").
 */
int lleval_openai_chat_body(const struct lleval_engine *e, const json_t *body, bool drop_top_k0,
                            struct lleval_sb *sb, struct lleval_err *err);
/* The answer of a well-formed chat.completion reply (body[0..len), borrowed),
 * read without a tree (chatreply.c): 0 with out filled (owned, as
 * lleval_openai_parse_chat() fills it), or 1 (out untouched) for anything
 * else, which the tree path reads and words. */
int lleval_openai_scan_chat(const char *body, size_t len, struct lleval_answer *out);
/* lleval_openai_chat_body() for the batch body's JSON text (body[0..len),
 * borrowed): the same bytes or error, written by a scanner without a tree
 * (chatbody.c); the text is parsed and the tree path taken only where the
 * scanner cannot vouch for the same bytes. */
int lleval_openai_chat_body_text(const struct lleval_engine *e, const char *body, size_t len,
                                 bool drop_top_k0, struct lleval_sb *sb, struct lleval_err *err);
enum lleval_reply lleval_openai_parse_chat(const struct lleval_engine *e, const char *label,
                                           long status, const char *body, size_t len,
                                           struct lleval_answer *out, struct lleval_err *err);

/* Maps an OpenAI finish_reason ("stop", "length", "tool_calls", ...; NULL
 * when absent) to the normalized finish. */
enum lleval_finish lleval_openai_finish(const char *reason);

#endif
