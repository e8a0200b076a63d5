/*
 * Library-internal interface between the prepare driver (dataset.c) and the
 * per-format importers (dataset_squad.c, dataset_nq.c, dataset_mmlu.c,
 * dataset_generic.c). Not installed, not public.
 *
 * An importer reads ds->path, builds item objects with lleval_ds_item() and
 * hands each to lleval_ds_add(), which checks id uniqueness and appends the
 * JSONL line to the builder's buffer; a fast importer writes the line itself
 * (lleval_ds_write_item()). The buffer goes to the temp file of the prepared
 * file as it fills (issue 13: memory does not grow with the dataset but by
 * the ids); the driver puts the file in place only when the whole import
 * succeeded. An importer stops as soon as lleval_ds_full() says the item
 * limit is reached.
 */
#ifndef LLEVAL_DATASET_INT_H
#define LLEVAL_DATASET_INT_H

#include <jansson.h>
#include <stdbool.h>
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/util/error.h"
#include "lleval/util/idset.h"
#include "lleval/util/util.h"

struct lleval_ds_builder {
    const struct lleval_dataset_cfg *ds; /* borrowed */
    enum lleval_item_type type;
    long limit;                   /* 0: all */
    const char *prepared_dir;     /* borrowed: made when the first items are written */
    const char *out_path;         /* borrowed: <prepared_dir>/<dataset>.jsonl */
    struct lleval_atomic_file af; /* out_path's temp file, once items were written */
    struct lleval_sb out;         /* items not yet written to af */
    struct lleval_sb seen;        /* each id and where it was met: "id\0where\0" */
    struct lleval_idset ids;      /* id hash -> offset in seen (exact: ids compared) */
    struct lleval_sb where;       /* scratch for the fast importers */
    json_t *skipped;              /* reason -> count */
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

/* The fast importers' way (no item object): checks that id is new (as
 * lleval_ds_add() does), then appends the item's line as lleval_ds_item() and
 * lleval_ds_add() would write it, with meta {"line": line}; context
 * (context_len bytes; NULL: "") is written for open book only. answers are n
 * strings of lens bytes (already without blank and repeated ones), choices
 * (multiple choice only) m strings. */
int lleval_ds_write_item(struct lleval_ds_builder *b, const char *id, const char *question,
                         size_t question_len, const char *context, size_t context_len,
                         const char *const *choices, const size_t *choice_lens, size_t m,
                         const char *const *answers, const size_t *answer_lens, size_t n, long line,
                         const char *where, struct lleval_err *err);

/* For an importer that writes its own item line (SQuAD's fast path): checks
 * that id is new and records it as met at where, as lleval_ds_add() does;
 * then the caller appends the line (with its '\n') to b->out and calls
 * lleval_ds_line_done(), which counts the item and writes the buffer out
 * when it is full. */
int lleval_ds_claim_id(struct lleval_ds_builder *b, const char *id, const char *where,
                       struct lleval_err *err);
int lleval_ds_line_done(struct lleval_ds_builder *b, struct lleval_err *err);
/* The start of an item line in lleval_ds_item()'s member order, appended to
 * b->out: {"id", "dataset", "type", "question" (question_len bytes) and, for
 * open book only, "context" (context_len bytes; NULL: ""). The caller adds
 * the type's other members, the closing brace and the '\n'. */
void lleval_ds_item_head(struct lleval_ds_builder *b, const char *id, const char *question,
                         size_t question_len, const char *context, size_t context_len);
/* A JSON array of the n strings s (lens bytes each), appended to sb. */
void lleval_ds_str_list(struct lleval_sb *sb, const char *const *s, const size_t *lens, size_t n);

/* Writes the buffered lines to the prepared file's temp file (made, with
 * prepared_dir, at the first call). */
int lleval_ds_flush(struct lleval_ds_builder *b, struct lleval_err *err);

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
/* The SQuAD importer's tree path alone (the whole document in jansson), which
 * lleval_ds_import_squad() falls back to; for the tests that hold the two
 * against each other. */
int lleval_ds_import_squad_tree(struct lleval_ds_builder *b, struct lleval_err *err);
int lleval_ds_import_nq(struct lleval_ds_builder *b, struct lleval_err *err);
int lleval_ds_import_mmlu(struct lleval_ds_builder *b, struct lleval_err *err);
int lleval_ds_import_jsonl(struct lleval_ds_builder *b, struct lleval_err *err);
int lleval_ds_import_csv(struct lleval_ds_builder *b, struct lleval_err *err);
/* The JSONL importer with every record through jansson (the path its fast
 * path falls back to), for the tests that hold the two against each other. */
int lleval_ds_import_jsonl_tree(struct lleval_ds_builder *b, struct lleval_err *err);
/* The same for CSV: every row made a jansson object for generic_record(). */
int lleval_ds_import_csv_tree(struct lleval_ds_builder *b, struct lleval_err *err);

#endif
