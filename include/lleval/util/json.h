/*
 * jansson helpers: typed getters that name the field and place on error,
 * atomic JSON file writes, and JSONL append.
 */
#ifndef LLEVAL_JSON_H
#define LLEVAL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* Borrowed string value of key, or NULL when absent or not a string. */
const char *lleval_json_str(const json_t *obj, const char *key);
/* Number (integer or real) of key, or dflt. */
double lleval_json_num(const json_t *obj, const char *key, double dflt);
long long lleval_json_int(const json_t *obj, const char *key, long long dflt);
/* Follows a dotted path like "response.body.choices" (array indexes as numbers). */
json_t *lleval_json_path(const json_t *root, const char *path);

/* Serializes j (any value, not only an object or array) compactly (one line, keys in
 * insertion order) and appends it to sb. */
int lleval_json_dump_sb(const json_t *j, struct lleval_sb *sb);

/* Appends the bytes lleval_json_write_atomic writes for j to sb: secrets
 * redacted, indented by 2, a final newline. Returns 0 or LLEVAL_EFAIL. */
int lleval_json_render_file(const json_t *j, struct lleval_sb *sb);
/* Writes j pretty-printed to path atomically. */
int lleval_json_write_atomic(const char *path, const json_t *j, struct lleval_err *err);
/* Loads a JSON file; the error names path:line:column and says what is wrong
 * in plain words (lleval_json_error_text()). Returns owned json or NULL. */
json_t *lleval_json_load_file(const char *path, struct lleval_err *err);
/* What a jansson parse error means, in plain words without jansson's own
 * texts (flags, the bytes quoted near the error: they may be secrets):
 * "contains a NUL character (\\u0000)", "is not JSON: expected an object or a
 * list", "has text after the JSON value", ... Returns a static string. */
const char *lleval_json_error_text(const json_error_t *jerr);
json_t *lleval_json_load_file(const char *path, struct lleval_err *err);

/*
 * Typed reading of the fields of an artifact lleval writes itself (manifest,
 * state, scores): a field of the wrong type is an error naming the document
 * and the field ("'trials[0].n' must be an integer"), the first one is kept
 * and the later ones are ignored, so a reader reads every field and checks
 * rc once at the end. An absent field leaves *out as it was (the default).
 */
struct lleval_json_reader {
    const char *name; /* the document, for messages (a path); borrowed */
    const char *fix;  /* what to do about a damaged one, ends every message; borrowed */
    struct lleval_err *err;
    int rc; /* 0, or the first error's code */
};

/* Records "<name>: '<prefix><key>' must be <want>: the file is damaged (<fix>)". */
void lleval_jr_wrong(struct lleval_json_reader *rd, const char *prefix, const char *key,
                     const char *want);
/* A string into owned *out (replaced); null too where nullable (then NULL). */
void lleval_jr_str(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                   const char *key, bool nullable, char **out);
/* An integer. */
void lleval_jr_long(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                    const char *key, long *out);
/* A number; null too where nullable (then null_value). */
void lleval_jr_num(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                   const char *key, bool nullable, double null_value, double *out);
/* true or false. */
void lleval_jr_bool(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                    const char *key, bool *out);
/* An object member, borrowed from o; NULL when absent or of another type (an error). */
const json_t *lleval_jr_obj(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                            const char *key);

#endif
