/*
 * Engine events and retry counts (see events.h): the classification of the
 * engines' error texts and the JSON the manifest keeps for them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/platform.h"
#include "lleval/run/events.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

#define SAMPLE_MAX 200

/* Case-insensitive substring search. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static bool matches_any(const char *msg, const char *const *pats, size_t n)
{
    if (!msg)
        return false;
    for (size_t i = 0; i < n; i++)
        if (contains_ci(msg, pats[i]))
            return true;
    return false;
}

bool lleval_error_is_oom(const char *msg)
{
    static const char *const pats[] = {
        "out of memory",      "cudaMalloc failed",      "CUDA error: out",
        "failed to allocate", "insufficient memory",    "not enough memory",
        "unable to allocate", "ErrorOutOfDeviceMemory", "requires more system memory",
    };
    return matches_any(msg, pats, LLEVAL_ARRAY_SIZE(pats));
}

bool lleval_error_is_context(const char *msg)
{
    static const char *const pats[] = {
        "exceed_context_size_error",     /* llama-server's error type */
        "exceeds the available context", /* llama-server's message */
        "context_length_exceeded",       /* OpenAI's error code */
        "maximum context length",        /* OpenAI's and vLLM's message */
        "exceeds the context length",    /* Ollama */
        "input length exceeds",
    };
    return matches_any(msg, pats, LLEVAL_ARRAY_SIZE(pats));
}

const char *lleval_error_class(long status, const char *code, const char *msg)
{
    if (lleval_error_is_oom(msg))
        return "oom";
    if (lleval_error_is_context(msg))
        return "context_exceeded";
    if (code && !strcmp(code, "connection_error"))
        return "connection";
    if (code && !strcmp(code, "timeout"))
        return "timeout";
    if (code && !strcmp(code, "reply_too_large"))
        return "reply_too_large";
    if (code && !strcmp(code, "invalid_reply"))
        return "invalid_reply";
    if (status == 429)
        return "http_429";
    if (status >= 500)
        return "http_5xx";
    if (status >= 400)
        return "http_4xx";
    return "other";
}

/* An owned copy of msg for the manifest: redacted, cut to SAMPLE_MAX bytes. */
static json_t *sample_json(const char *msg)
{
    char *red = lleval_redact_dup(msg ? msg : "");
    const char *s = red ? red : (msg ? msg : "");
    json_t *j = json_stringn(s, lleval_utf8_cut(s, strlen(s), SAMPLE_MAX));
    free(red);
    return j ? j : json_string("");
}

void lleval_events_count_retry(json_t **retries, long status, const char *code, const char *msg)
{
    const char *cls = lleval_error_class(status, code, msg);
    json_t *by, *c;
    if (!*retries)
        *retries = json_pack("{s:I, s:{}}", "total", (json_int_t)0, "by_class");
    by = json_object_get(*retries, "by_class");
    json_object_set_new(*retries, "total",
                        json_integer(json_integer_value(json_object_get(*retries, "total")) + 1));
    c = json_object_get(by, cls);
    if (!c) {
        c = json_pack("{s:I, s:o}", "count", (json_int_t)0, "sample", sample_json(msg));
        json_object_set_new(by, cls, c);
    }
    json_object_set_new(c, "count",
                        json_integer(json_integer_value(json_object_get(c, "count")) + 1));
}

static json_t *int_or_null(int v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *redacted_or_null(const char *s)
{
    char *red;
    json_t *j;
    if (!s)
        return json_null();
    red = lleval_redact_dup(s);
    j = json_string(red ? red : s);
    free(red);
    return j ? j : json_null();
}

void lleval_events_add(json_t **events, const char *kind, const char *cause, int exit_status,
                       int signal, const char *address, long restarts)
{
    double now = lleval_now();
    char when[40];
    if (!*events)
        *events = json_array();
    if (json_array_size(*events) >= LLEVAL_ENGINE_EVENTS_MAX)
        return;
    json_array_append_new(
        *events,
        json_pack("{s:s, s:f, s:s, s:o, s:o, s:o, s:o, s:I}", "kind", kind, "at", now, "at_utc",
                  lleval_fmt_utc(when, sizeof(when), now), "cause", redacted_or_null(cause),
                  "exit_status", int_or_null(exit_status), "signal", int_or_null(signal), "address",
                  redacted_or_null(address), "restarts", (json_int_t)restarts));
}

long lleval_events_retry_count(const json_t *retries, const char *cls, const char **sample)
{
    const json_t *c = json_object_get(json_object_get(retries, "by_class"), cls);
    if (sample)
        *sample = json_string_value(json_object_get(c, "sample"));
    return c ? (long)json_integer_value(json_object_get(c, "count")) : 0;
}
