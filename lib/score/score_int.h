/*
 * Internal to the scorer (lib/score*.c): the gold answers of a prepared
 * dataset, read once into arenas, and a SQuAD-style predictions object as a
 * hash map. Not part of the public API.
 */
#ifndef LLEVAL_SCORE_INT_H
#define LLEVAL_SCORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"
#include "lleval/dataset/index.h"
#include "lleval/score/normalize.h"
#include "lleval/util/idset.h"
#include "lleval/score/metrics.h"
#include "lleval/util/util.h"

/* The item a gold set read last (see lleval_gold_item()). */
struct gold_item {
    const char *id;  /* borrowed from the set until its next find or item */
    uint32_t first;  /* QA: first gold in the set's refs; MC: first choice in set->choices */
    uint32_t count;  /* golds or choices */
    int gold_choice; /* MC: index of the right choice, -1 when the gold names none */
    bool v2;         /* a SQuAD 2.0 item (it has the "unanswerable" field) */
    bool no_ans;     /* SQuAD 2.0: unanswerable; its one gold is "" (no answer) */
};

/* Where one normalized gold answer lies in the set's arenas. */
struct gold_ref {
    size_t off;
    uint32_t len, tok, ntok;
};

/*
 * One prepared dataset's gold answers: its item index with file offsets (no
 * strings held per item: issue 13's flat memory), and the item read last
 * with its normalized golds in a few arenas that every item reuses.
 * Items are numbered by their line in the file (0-based).
 */
struct gold_set {
    char *name;
    char *type;
    enum lleval_scoring scoring;
    bool v2;       /* SQuAD 2.0 data: its items carry "unanswerable" (official v2.0 scoring) */
    size_t no_ans; /* items that are unanswerable */
    size_t n_items;
    struct lleval_item_index *ix; /* LLEVAL_INDEX_OFFSETS | LLEVAL_INDEX_QUESTIONS */
    long cur;                     /* the item in item / entry / the arenas, -1 none */
    struct gold_item item;
    struct lleval_item_entry entry; /* its strings (borrowed from ix) */
    const char *const *choices;     /* MC: its choices (entry.choices) */
    struct lleval_sb gtext;         /* its normalized gold texts */
    struct lleval_token *gtoks;     /* their tokens (offsets relative to each text) */
    uint32_t *gsorted;              /* token order per gold (relative indexes) */
    size_t n_gtoks, cap_gtoks;
    struct gold_ref *refs;
    size_t n_golds, cap_golds;
    struct lleval_norm work;
    /* items normalized before, kept (gold.c, norm_get()): a slot per line
     * modulo a fixed count, the first line to come keeps it; bounded bytes */
    uint32_t *kept_line, *kept_at;
    size_t kept_mask; /* the slots - 1 (gold.c) */
    struct lleval_sb kept;
};

/* The most answers and choices of an item the scorer reads (the first ones). */
#define GOLD_MAX_STRINGS 64

/* Fills views[0..count) with the normalized golds first .. first + count - 1
 * of g's current item: views (text.alloc 0) into g's arenas, valid until
 * g's next find or item. */
void lleval_gold_views(const struct gold_set *g, uint32_t first, uint32_t count,
                       struct lleval_norm *views);

/* The predictions object {"question id": "answer"} as a hash map. */
struct pred_entry {
    size_t key, val, val_len; /* offsets into strs */
};

struct pred_map {
    struct lleval_sb strs;
    struct pred_entry *e;
    size_t n, cap;
    uint8_t *used;             /* per entry: a gold question looked it up */
    struct lleval_idset index; /* key hash -> entry index (exact: keys compared) */
};

/*
 * The scorer's fast path through the metrics (lib/score/metrics.c): a prediction
 * normalized without its byte-order index (pred->sorted is not set; only
 * lleval_qa_score_unsorted() may score it), and the three QA metrics of such
 * a prediction, bit for bit those of lleval_qa_score(). Short answers pair
 * their tokens directly; a long one gets its tokens sorted first.
 */
void lleval_norm_set_unsorted(struct lleval_norm *a, const char *s, size_t len, bool nfd);
void lleval_qa_score_unsorted(struct lleval_norm *pred, const struct lleval_norm *golds,
                              size_t n_golds, struct lleval_qa_score *out);

/* Loads <prepared_dir>/<name>.jsonl and its info file into a new gold set
 * (*out, owned: lleval_gold_free). Errors name the file and line and say to
 * run `lleval prepare`. */
int lleval_gold_load(const char *prepared_dir, const char *name, struct gold_set **out,
                     struct lleval_err *err);
void lleval_gold_free(struct gold_set *g);
/* Sets *idx to the item with that id (the first line of a repeated id), or
 * -1; forgets g's current item. Errors: the file cannot be read again. */
int lleval_gold_find(struct gold_set *g, const char *id, long *idx, struct lleval_err *err);
/* Makes item k (< n_items) g's current item, its golds normalized (SQuAD 2.0
 * and multiple choice as the official scripts read them: the first 64
 * answers and choices), and sets *out to it (borrowed from g). */
int lleval_gold_item(struct gold_set *g, size_t k, const struct gold_item **out,
                     struct lleval_err *err);

/* Loads a predictions object {"question id": "answer"} (m is filled; release
 * it with lleval_pred_map_release). Errors name file:line:column. */
int lleval_pred_map_load(const char *path, struct pred_map *m, struct lleval_err *err);
/* The entry of key (borrowed), or NULL. */
const struct pred_entry *lleval_pred_map_get(const struct pred_map *m, const char *key);
void lleval_pred_map_release(struct pred_map *m);

#endif
