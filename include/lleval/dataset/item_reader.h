/*
 * A prepared dataset read item by item without a JSON tree (issue 13): the
 * fields the batch builder renders (id, dataset, type, question, context,
 * choices, whether the item is a SQuAD 2.0 one) as borrowed strings, read
 * with the one-pass scanner (lib/util/jscan.c). A line the scanner cannot
 * vouch for is parsed by the prepared reader (jansson) as before, so a damaged
 * file fails with lleval_prepared_load()'s messages: the item checks, an item
 * of another dataset, an item count that differs from the info file (told at
 * the end of the file). Memory stays that of one line.
 *
 *     struct lleval_item_reader rd;
 *     const struct lleval_item_view *v;
 *     if (lleval_item_reader_open(&rd, dir, name, err)) ...
 *     while ((rc = lleval_item_reader_next(&rd, &v, err)) == 1) ...
 *     lleval_item_reader_close(&rd);
 */
#ifndef LLEVAL_DATASET_ITEM_READER_H
#define LLEVAL_DATASET_ITEM_READER_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/config/config.h"
#include "lleval/dataset/dataset.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* One item; every pointer is borrowed until the next call on its reader
 * (or, from lleval_item_view_from_json(), while the item lives). */
struct lleval_item_view {
    const char *id;
    const char *dataset;
    enum lleval_item_type type;
    const char *question;
    const char *context;        /* NULL when absent or not a string */
    const char *const *choices; /* n_choices strings ("" for an element that is not one) */
    size_t n_choices;           /* 0 also when "choices" is not an array */
    bool unanswerable;          /* the item has an "unanswerable" member (SQuAD 2.0) */
};

struct lleval_item_reader {
    struct lleval_prepared_reader r;
    long want;             /* the info file's item count */
    long n;                /* items read */
    const char *dataset;   /* borrowed */
    struct lleval_sb text; /* the scanned strings */
    size_t *offs;          /* the choices' offsets in text */
    size_t n_offs, cap_offs;
    const char **choices;
    size_t cap_choices;
    json_t *item; /* the current item when the scanner gave up on its line */
    struct lleval_item_view view;
};

/* Opens dataset's prepared file and reads its info file (both as
 * lleval_prepared_load() does). dataset is borrowed: it must outlive rd. */
int lleval_item_reader_open(struct lleval_item_reader *rd, const char *prepared_dir,
                            const char *dataset, struct lleval_err *err);
/* Returns 1 with *v (borrowed until the next call), 0 at the end (the count
 * agreed with the info file), negative with err set. */
int lleval_item_reader_next(struct lleval_item_reader *rd, const struct lleval_item_view **v,
                            struct lleval_err *err);
void lleval_item_reader_close(struct lleval_item_reader *rd);

/* Fills *v from a prepared item (borrowed: v's strings point into it);
 * *choices (owned by the caller, free() it) holds the choices' pointers. */
void lleval_item_view_from_json(const json_t *item, struct lleval_item_view *v,
                                const char ***choices);

#endif
