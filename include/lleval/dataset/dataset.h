/*
 * Dataset importers and the prepared dataset format.
 *
 * `lleval_dataset_prepare()` reads one raw dataset (SQuAD v1.1/v2.0 JSON,
 * NQ-open JSONL, MMLU CSV, or generic JSONL/CSV with a field mapping) and
 * writes `<prepared_dir>/<dataset>.jsonl` (one normalized item per line) and
 * `<prepared_dir>/<dataset>.info.json`, as docs/formats.md ("Prepared
 * dataset") describes. Both files are written atomically and only after the
 * whole input was read without error: a failed prepare leaves the previous
 * prepared files untouched. docs/datasets.md lists which input problems are
 * errors and which are documented skips (counted per reason).
 *
 * `lleval_prepared_load()` and the streaming reader read prepared files back
 * for the batch builder and the scorer.
 */
#ifndef LLEVAL_DATASET_H
#define LLEVAL_DATASET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/config/config.h"
#include "lleval/util/error.h"
#include "lleval/platform/fs.h"

/* Facts about one prepare. Every pointer is owned by the struct. */
struct lleval_prepare_stats {
    char *dataset;     /* dataset name */
    char *format;      /* squad | nq_open | mmlu | jsonl | csv */
    char *source;      /* the raw path read */
    char *type;        /* closed_book | open_book | multiple_choice */
    char *scoring;     /* squad | nq | mc */
    char *output_path; /* <prepared_dir>/<dataset>.jsonl */
    char *info_path;   /* <prepared_dir>/<dataset>.info.json */
    long items;        /* items written */
    long skipped_total;
    json_t *skipped; /* object: reason -> count (only reasons that occurred) */
    bool limited;    /* stopped early because of limit_items */
};

/* Zeroes st; lleval_prepare_stats_release() frees what a prepare filled in. */
void lleval_prepare_stats_init(struct lleval_prepare_stats *st);
void lleval_prepare_stats_release(struct lleval_prepare_stats *st);
/* Returns an owned JSON object with the stats (the CLI's --json output). */
json_t *lleval_prepare_stats_json(const struct lleval_prepare_stats *st);

/*
 * Imports ds (borrowed) into prepared_dir (created when missing). limit_items
 * 0 means all items, N > 0 stops after N items. st (may be NULL) must have
 * been initialized; it is filled in on success and partly on failure
 * (dataset, format, source). Returns 0, LLEVAL_EINVAL for bad config or bad
 * input data (the message names file:line and the fix), LLEVAL_EIO for I/O.
 */
int lleval_dataset_prepare(const struct lleval_dataset_cfg *ds, const char *prepared_dir,
                           long limit_items, struct lleval_prepare_stats *st,
                           struct lleval_err *err);

/*
 * Prepares ds for a run that asks only for its first limit_items items (0:
 * all; then it is lleval_dataset_prepare() of the whole source). With a limit,
 * the source is read only as far as the limit, and when the prepared file is
 * already a whole prepare of the same source and settings whose first items
 * are exactly these, it is left as it is. Otherwise the whole source is
 * prepared as without a limit: a run never writes a prepared file cut short
 * by its limit, so a later run (or `lleval score` of an earlier one) never
 * finds fewer items than the source has. st then tells the prepared file's
 * items and skips (those of the whole prepare that stays).
 */
int lleval_dataset_prepare_run(const struct lleval_dataset_cfg *ds, const char *prepared_dir,
                               long limit_items, struct lleval_prepare_stats *st,
                               struct lleval_err *err);

/* True for a valid dataset name: [A-Za-z0-9_.-]{1,128}, not starting with a dot. */
bool lleval_dataset_name_valid(const char *name);

/* Returns the owned paths "<prepared_dir>/<dataset>.jsonl" and ".info.json". */
char *lleval_prepared_path(const char *prepared_dir, const char *dataset);
char *lleval_prepared_info_path(const char *prepared_dir, const char *dataset);

/*
 * Loads a prepared dataset: returns an owned JSON array of item objects in
 * file order, or NULL with err set (a dataset that was never prepared fails
 * with "... run `lleval prepare` first"). When info_out is not NULL it
 * receives the owned info object. Each item is checked for the required
 * fields (id, dataset, type, question, answers; context / choices by type),
 * and the item count must match the info file.
 */
json_t *lleval_prepared_load(const char *prepared_dir, const char *dataset, json_t **info_out,
                             struct lleval_err *err);

/* Loads only <dataset>.info.json. Returns an owned object or NULL with err set. */
json_t *lleval_prepared_info(const char *prepared_dir, const char *dataset, struct lleval_err *err);

/*
 * Streaming reader over a prepared file, one item at a time (constant
 * memory). The struct owns its path and line buffer.
 *     struct lleval_prepared_reader r;
 *     if (lleval_prepared_open(&r, dir, name, err)) ...
 *     while ((rc = lleval_prepared_next(&r, &item, err)) == 1) { ...; json_decref(item); }
 *     lleval_prepared_close(&r);
 */
struct lleval_prepared_reader {
    struct lleval_lines lines;
    char *path;
    long items;
};
int lleval_prepared_open(struct lleval_prepared_reader *r, const char *prepared_dir,
                         const char *dataset, struct lleval_err *err);
/* Returns 1 and an owned item in *item, 0 at the end, negative on error. */
int lleval_prepared_next(struct lleval_prepared_reader *r, json_t **item, struct lleval_err *err);
/* lleval_prepared_next() in two halves, for a reader that scans lines itself
 * (lib/dataset/index.c): next_line moves to the next non-empty line (1; it is
 * r->lines.line / len), 0 at the end, negative for a torn or huge line; item
 * parses and checks that line as lleval_prepared_next() does (1 and an owned
 * *item, or negative). */
int lleval_prepared_next_line(struct lleval_prepared_reader *r, struct lleval_err *err);
int lleval_prepared_item(struct lleval_prepared_reader *r, json_t **item, struct lleval_err *err);
void lleval_prepared_close(struct lleval_prepared_reader *r);

/* Returns an owned object mapping item id -> item (items borrowed from the
 * array, their reference counts raised), for lookups by id. */
json_t *lleval_prepared_index(const json_t *items);

#endif
