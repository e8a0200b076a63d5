/*
 * Library-internal interface between the prepare driver (dataset.c) and the
 * per-format importers (dataset_squad.c, dataset_nq.c, dataset_mmlu.c,
 * dataset_generic.c). Not installed, not public.
 *
 * An importer reads ds->path, builds item objects with lleval_ds_item() and
 * hands each to lleval_ds_add(), which checks id uniqueness and appends the
 * JSONL line to the builder's buffer. It stops as soon as lleval_ds_full()
 * says the item limit is reached. Nothing is written to disk by importers.
 */
#ifndef LLEVAL_DATASET_INT_H
#define LLEVAL_DATASET_INT_H

#include <jansson.h>
#include <stdbool.h>
#include "lleval/config/config.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

struct lleval_ds_builder {
    const struct lleval_dataset_cfg *ds; /* borrowed */
    enum lleval_item_type type;
    long limit;           /* 0: all */
    struct lleval_sb out; /* the JSONL being built */
    json_t *ids;          /* id -> "where" string, for duplicate reports */
    json_t *skipped;      /* reason -> count */
    long items;
    long skipped_total;
    long records; /* raw records seen (for the "no items" message) */
    char *split;  /* mmlu: the split used (owned), else NULL */
};

/* Returns a new item object (owned). Borrows the strings; takes the
 * references of choices, answers and meta (each may be NULL). context is
 * included for open book only, choices for multiple choice only. */
json_t *lleval_ds_item(const struct lleval_ds_builder *b, const char *id, const char *question,
                       const char *context, json_t *choices, json_t *answers, json_t *meta);

/* Adds item (taken, freed in every case) whose source is `where` ("path:line"
 * or a JSON path). Fails on a duplicate id, naming both places. */
int lleval_ds_add(struct lleval_ds_builder *b, json_t *item, const char *where,
                  struct lleval_err *err);

/* Counts one skipped item under reason (e.g. "unanswerable", "no_answers"). */
void lleval_ds_skip(struct lleval_ds_builder *b, const char *reason);

/* True once limit items were added. */
bool lleval_ds_full(const struct lleval_ds_builder *b);

/* Appends s to the answers array unless it is empty, blank or already there. */
void lleval_ds_answer_add(json_t *answers, const char *s);

/* "object", "array", "string", "number", "boolean" or "null", for messages. */
const char *lleval_ds_json_type(const json_t *v);

/* "path:line: field 'name' is missing; ..." or "... must be <expected>, found
 * <type>". cfg_key names the config key that maps the field (generic
 * formats: "fields.question"), or NULL. Returns LLEVAL_EINVAL. */
int lleval_ds_field_error(const char *path, long line, const char *field, const json_t *v,
                          const char *expected, const char *cfg_key, struct lleval_err *err);

/* True when s is empty or only whitespace. */
bool lleval_ds_blank(const char *s, size_t len);

/* Checks a line of JSONL input for NUL bytes and UTF-8 and parses it as a
 * JSON object (a UTF-8 byte order mark on line 1 is dropped). Returns an owned object, or NULL with
 * "path:line[:col]: ..." */
json_t *lleval_ds_parse_line(const char *path, long line, const char *text, size_t len,
                             struct lleval_err *err);

/* Checks one string (a CSV field) for UTF-8; the error names path:line and
 * what (e.g. "field 3"). */
int lleval_ds_check_utf8(const char *s, const char *path, long line, const char *what,
                         struct lleval_err *err);

/* Multiple choice: turns an answer given as a letter ("b", " B "), as the
 * exact text of a choice, or (index >= 0) as a 0-based index into the letter
 * ("B"). Returns 0, or LLEVAL_EINVAL with a message saying what was wrong
 * (without a location: callers prefix it). */
int lleval_ds_mc_letter(const json_t *choices, const char *answer, long index, char *letter,
                        struct lleval_err *err);

int lleval_ds_import_squad(struct lleval_ds_builder *b, struct lleval_err *err);
int lleval_ds_import_nq(struct lleval_ds_builder *b, struct lleval_err *err);
int lleval_ds_import_mmlu(struct lleval_ds_builder *b, struct lleval_err *err);
int lleval_ds_import_jsonl(struct lleval_ds_builder *b, struct lleval_err *err);
int lleval_ds_import_csv(struct lleval_ds_builder *b, struct lleval_err *err);

#endif
