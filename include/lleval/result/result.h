/*
 * Result lines (docs/formats.md "Result lines"): the one writer of the line
 * that the scheduler journals for every answered or failed request, and the
 * one typed decoder that every reader (parse, doctor, report, run) goes
 * through instead of looking up keys in the JSON by hand.
 *
 * The decoder is lenient by design: a result line may come from another tool
 * (an OpenAI batch output without the `lleval` object) or be damaged. Every
 * field it can read lands in the view; a field that is absent reads as
 * absent (NULL, -1 or NAN); a field of the wrong type reads as absent too and
 * the decoder says which field it was. It never crashes on any JSON value.
 */
#ifndef LLEVAL_RESULT_H
#define LLEVAL_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/error.h"
#include "lleval/util/util.h"

struct lleval_answer;

/*
 * Builds a result line for an answer, or for a failure when a is NULL (then
 * error_code / error_message say why; http_status is the reply's status or
 * 0). a, custom_id, engine_name and the error strings are borrowed. Returns
 * owned JSON: lleval_result_text_build()'s line, parsed (for the writers of
 * foreign results; the scheduler writes the text itself).
 */
json_t *lleval_result_line(const char *custom_id, const char *engine_name,
                           const struct lleval_answer *a, long http_status, const char *error_code,
                           const char *error_message, double latency_ms, long attempts);

/* A count the line does not hold (tokens, attempts). */
#define LLEVAL_RESULT_NO_COUNT (-1LL)

/*
 * What one result line says. Strings are borrowed from the decoded json_t and
 * live as long as it does. Absent (or damaged) strings are NULL, counts
 * LLEVAL_RESULT_NO_COUNT, reals NAN (JSON has no NaN, so NAN is never a value).
 */
struct lleval_result_view {
    const char *custom_id;     /* NULL: the line cannot be attributed to a request */
    long http_status;          /* response.status_code; 0 when absent */
    bool failed;               /* "error" is present and not null: the request failed */
    const char *error_code;    /* error.code */
    const char *error_message; /* error.message */
    const char *content;       /* response.body.choices[0].message.content */
    /* response.body.choices[0].finish_reason as the engine (or the batch API)
     * wrote it: any string ("stop", "length", "content_filter", ...) */
    const char *body_finish;
    /* lleval.finish_reason: lleval's normalized "stop", "length" or "error" */
    const char *finish_reason;
    bool ok;            /* http_status 200, not failed, and content present */
    bool has_facts;     /* the line has an `lleval` object (lleval wrote it) */
    const char *engine; /* lleval.engine */
    /* lleval.prompt_tokens / completion_tokens; when lleval has no
     * prompt_tokens key (a foreign line), response.body.usage's */
    long long prompt_tokens;
    long long completion_tokens;
    long long attempts; /* lleval.attempts */
    double latency_ms;  /* lleval.latency_ms */
    double prompt_tps;  /* lleval.prompt_tps: prompt processing tokens/s */
    double gen_tps;     /* lleval.gen_tps: generation tokens/s */
    double load_ms;     /* lleval.load_ms */
    double finished_at; /* lleval.finished_at, seconds since the epoch */
};

/* Sets every field of v to absent (NULL, LLEVAL_RESULT_NO_COUNT, NAN, false):
 * where every reader of result lines starts. */
void lleval_result_view_init(struct lleval_result_view *v);

/*
 * The one writer of result lines (issue 13): the line as JSON text, written
 * with jwrite (no tree), and the view of what it says, without decoding it.
 * The key order and bytes are the journals' layout (docs/formats.md); every
 * string is redacted (no secret in a journal: an answer or an error text may
 * echo the key) and the error message made valid UTF-8. Strings given must
 * be valid UTF-8 (the engines' answers are).
 */
struct lleval_result_text {
    struct lleval_sb line; /* the line and its '\n' */
    /* what the line says, as lleval_result_decode() would read it; its
     * strings are borrowed from this struct or the build's arguments, until
     * the next build */
    struct lleval_result_view view;
    char *owned[8]; /* redacted and sanitized copies the view points to */
    size_t n_owned;
};
void lleval_result_text_init(struct lleval_result_text *rt);
void lleval_result_text_release(struct lleval_result_text *rt);
/* Replaces rt's line and view with those of a result, with the arguments of
 * lleval_result_line() (borrowed; finished_at is now). */
void lleval_result_text_build(struct lleval_result_text *rt, const char *custom_id,
                              const char *engine_name, const struct lleval_answer *a,
                              long http_status, const char *error_code, const char *error_message,
                              double latency_ms, long attempts);

/*
 * Decodes line (borrowed) into v. Returns 0 when the line is an object with a
 * custom_id and every field present has its documented type. Otherwise
 * returns LLEVAL_EINVAL with err naming the first damaged field ("result
 * line: 'lleval.gen_tps' is a string, not a number"), and v still holds every
 * other field. A line that is not an object leaves v all absent.
 */
int lleval_result_decode(const json_t *line, struct lleval_result_view *v, struct lleval_err *err);

/*
 * The custom_id of line (borrowed; the string lives as long as line), or NULL
 * when line is not an object or its custom_id is absent or not a string. A
 * quick look at one key, for the journal, which needs nothing else.
 */
const char *lleval_result_custom_id(const json_t *line);

/* True when line (borrowed) says its request failed: "error" is present and
 * not null, as the view's failed. */
bool lleval_result_failed(const json_t *line);

/*
 * Parses text[0..len) as JSON and decodes it. *json receives the owned parsed
 * value (NULL when the text is not JSON), which the view borrows from: the
 * caller json_decref()s it after the view's last use. Returns as
 * lleval_result_decode(), or LLEVAL_EINVAL ("result line: not JSON: ...").
 */
int lleval_result_decode_text(const char *text, size_t len, json_t **json,
                              struct lleval_result_view *v, struct lleval_err *err);

#endif
