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
#include "lleval/util/idset.h"
#include "lleval/score/metrics.h"
#include "lleval/util/util.h"

struct gold_item {
    const char *id; /* in set->strs (a view, set once loading is done) */
    size_t id_off;
    uint32_t first;  /* QA: first gold in set->refs; MC: first choice in set->choices */
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
 * One prepared dataset's gold answers. Strings and normalized answers live in
 * a few arenas (no allocation per answer); once loading is done, items[].id,
 * choices[] are read-only views into them; lleval_gold_views() gives an
 * item's normalized golds (no struct lleval_norm per gold is kept: at a
 * million items they were 190 MB).
 */
struct gold_set {
    char *name;
    char *type;
    enum lleval_scoring scoring;
    bool v2;       /* SQuAD 2.0 data: its items carry "unanswerable" (official v2.0 scoring) */
    size_t no_ans; /* items that are unanswerable */
    struct gold_item *items;
    size_t n_items, cap_items;
    struct lleval_sb strs;      /* ids and choice texts, NUL-terminated */
    struct lleval_sb gtext;     /* normalized gold texts */
    struct lleval_token *gtoks; /* their tokens (offsets relative to each text) */
    uint32_t *gsorted;          /* token order per gold (relative indexes) */
    size_t n_gtoks, cap_gtoks;
    struct gold_ref *refs;
    size_t n_golds, cap_golds;
    size_t *choice_offs;
    size_t n_choices, cap_choices;
    const char **choices;      /* views */
    struct lleval_idset index; /* id hash -> item index (exact: ids compared) */
};

/* Fills views[0..count) with the normalized golds first .. first + count - 1
 * of g: views (text.alloc 0) into g's arenas, valid while g lives. */
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
/* Index of the item with that id, or -1. */
long lleval_gold_find(const struct gold_set *g, const char *id);

/* Loads a predictions object {"question id": "answer"} (m is filled; release
 * it with lleval_pred_map_release). Errors name file:line:column. */
int lleval_pred_map_load(const char *path, struct pred_map *m, struct lleval_err *err);
/* The entry of key (borrowed), or NULL. */
const struct pred_entry *lleval_pred_map_get(const struct pred_map *m, const char *key);
void lleval_pred_map_release(struct pred_map *m);

#endif
