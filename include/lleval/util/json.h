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

/* Serializes compactly (one line, keys in insertion order) and appends to sb. */
int lleval_json_dump_sb(const json_t *j, struct lleval_sb *sb);

/* Writes j pretty-printed to path atomically. */
int lleval_json_write_atomic(const char *path, const json_t *j, struct lleval_err *err);
/* Loads a JSON file; the error names path:line:column. Returns owned json or NULL. */
json_t *lleval_json_load_file(const char *path, struct lleval_err *err);

#endif
