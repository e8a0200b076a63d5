/*
 * A prepared dataset's items as a compact index (issue 13): ids, types, gold
 * answers, choices and (on request) questions in one string arena with a hash
 * lookup by item id, instead of a JSON tree per item. Built in one pass over
 * <prepared_dir>/<dataset>.jsonl with a tree-less scanner (jansson only for a
 * line the scanner cannot vouch for), checked as lleval_prepared_load()
 * checks the file. parse and the report read gold answers through it; the
 * scorer's gold set and the dry engine keep only each line's offset
 * (LLEVAL_INDEX_OFFSETS) and read an item's line again when asked for it.
 */
#ifndef LLEVAL_DATASET_INDEX_H
#define LLEVAL_DATASET_INDEX_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "lleval/util/error.h"

struct lleval_item_index;

enum lleval_item_index_flags {
    LLEVAL_INDEX_QUESTIONS = 1u << 0, /* keep each item's question text */
    /* keep only each line's file offset (8 bytes a line plus the id hash,
     * whatever the items hold) and read an item's line again when it is
     * asked for: the file stays open while the index lives. Every line is
     * an entry (see lleval_item_index_find()), so count() counts lines. */
    LLEVAL_INDEX_OFFSETS = 1u << 1,
};

/* One item; every pointer is borrowed from the index, and answers / choices
 * only until the next lleval_item_index_get() on the same index. */
struct lleval_item_entry {
    const char *id;
    const char *type;           /* "closed_book", "open_book" or "multiple_choice" */
    const char *question;       /* NULL unless loaded with LLEVAL_INDEX_QUESTIONS */
    const char *const *answers; /* the string gold answers, in file order */
    size_t n_answers;
    const char *const *choices; /* the string choices (multiple choice), in order */
    size_t n_choices;
    int unanswerable; /* SQuAD 2.0's field: -1 absent, 1 true, 0 any other value */
};

/*
 * Builds the index of dataset in prepared_dir (both borrowed). Returns 0 and
 * an owned index in *out, or an error as lleval_prepared_load() words it (a
 * dataset never prepared, a damaged line, an item of another dataset, an item
 * count that differs from the info file); *out is NULL then.
 */
int lleval_item_index_load(const char *prepared_dir, const char *dataset, unsigned flags,
                           struct lleval_item_index **out, struct lleval_err *err);
/* Fills *e for the item with id (borrowed); false when there is none (or ix is NULL). */
bool lleval_item_index_get(struct lleval_item_index *ix, const char *id,
                           struct lleval_item_entry *e);
/* The number of items (LLEVAL_INDEX_OFFSETS: of lines). */
size_t lleval_item_index_count(const struct lleval_item_index *ix);

/*
 * LLEVAL_INDEX_OFFSETS only. find() sets *line to the 0-based line (in file
 * order) of the item with id (borrowed), the first such line when first,
 * else the last (as get() takes), or to -1 when there is none; at() fills *e
 * from line (< count), borrowed until the next find/at/get on ix. Both
 * return 0, or an error when the file cannot be read again or no longer
 * holds the item that was there (prepared again meanwhile).
 */
int lleval_item_index_find(struct lleval_item_index *ix, const char *id, bool first, long *line,
                           struct lleval_err *err);
int lleval_item_index_at(struct lleval_item_index *ix, size_t line, struct lleval_item_entry *e,
                         struct lleval_err *err);
/* The items that carry SQuAD 2.0's "unanswerable" field, and those of them
 * where it is true (LLEVAL_INDEX_OFFSETS: lines; otherwise 0). */
void lleval_item_index_v2(const struct lleval_item_index *ix, size_t *v2, size_t *no_ans);
void lleval_item_index_free(struct lleval_item_index *ix);

/*
 * The whole items (as lleval_prepared_load() gives them) of the ids that
 * want(ud, id) accepts, and no others: returns an owned object id -> item
 * (for a repeated id, the last), or NULL with err set. The file is checked as
 * lleval_prepared_load() checks it, but only the wanted lines are parsed into
 * JSON: the report's sampled answers need a few items of a large dataset.
 */
json_t *lleval_prepared_pick(const char *prepared_dir, const char *dataset,
                             bool (*want)(void *ud, const char *id), void *ud,
                             struct lleval_err *err);

#endif
