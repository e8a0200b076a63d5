/*
 * Comparing two runs (the guide's compare_runs, `lleval runs compare`): the
 * items both runs answered are paired by custom_id and grouped by dataset x
 * prompt type x temperature; per group, the mean of each run, the paired
 * bootstrap interval of B - A (EM or accuracy, and F1 for QA), McNemar's
 * exact test on the discordant pairs, and the items whose outcome flipped.
 *
 * Ownership: the result structs own their strings and arrays
 * (lleval_compare_result_release / lleval_compare_run_release free them);
 * every other pointer parameter is borrowed. A function that fails leaves
 * its output empty (releasing it is harmless).
 */
#ifndef LLEVAL_COMPARE_H
#define LLEVAL_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/config/config.h"
#include "lleval/score/score.h"
#include "lleval/score/stats.h"
#include "lleval/util/error.h"

/* One comparison group. Means are fractions (0..1). */
struct lleval_compare_group {
    char *key; /* "<dataset>/<prompt type>/t<temperature>", or "(other)" for an undecodable id */
    bool mc;   /* multiple choice: the main metric is accuracy, else EM (and F1 is kept) */
    size_t n;  /* paired items */
    double a_main, b_main;               /* mean EM (QA) or accuracy (MC) of A and B */
    double a_f1, b_f1;                   /* mean F1 (meaningful for QA only) */
    struct lleval_ci diff_main, diff_f1; /* B - A, 95% paired bootstrap interval */
    long a_only_right, b_only_right;     /* McNemar's discordant pairs */
    double mcnemar_p;                    /* exact two-sided p-value */
};

/* An item right in one run and wrong in the other. */
struct lleval_compare_flip {
    char *custom_id; /* owned */
    bool a_right;    /* true: A right, B wrong; false: the reverse */
};

struct lleval_compare_result {
    size_t paired;                       /* items paired by custom_id */
    size_t only_a, only_b;               /* items left out: answered by one run only */
    long bootstrap;                      /* resamples used for each interval */
    struct lleval_compare_group *groups; /* in the order they are first met (custom_id order) */
    size_t n_groups;
    struct lleval_compare_flip *flips; /* in custom_id order */
    size_t n_flips;
};

/*
 * Pairs a and b (each sorted by custom_id, as lleval_item_scores_load()
 * leaves them) by custom_id and fills out. An id present on one side only
 * counts in only_a/only_b; an id repeated on one side pairs once, the extra
 * copies count as present on that side only. Each group's intervals use
 * `bootstrap` resamples and a seed derived from seed and the group's key
 * (seed + 1 for F1), so a result is reproducible. Returns 0, or
 * LLEVAL_EINVAL for a resample count the bootstrap refuses.
 */
int lleval_compare_items(const struct lleval_item_scores *a, const struct lleval_item_scores *b,
                         long bootstrap, uint64_t seed, struct lleval_compare_result *out,
                         struct lleval_err *err);
void lleval_compare_result_release(struct lleval_compare_result *r);

/*
 * The items of one model of a run of several models (all borrowed, sorted by
 * custom_id): each one whose custom_id starts with the model (escaped as in a
 * custom_id) and ':', copied into out (owned, zeroed first; release with
 * lleval_item_scores_release) with that prefix removed, so two models pair by
 * the rest of the id. LLEVAL_EINVAL (err names the model) when none has it.
 */
int lleval_item_scores_of_model(const struct lleval_item_scores *all, const char *model,
                                struct lleval_item_scores *out, struct lleval_err *err);

/* One side of a comparison: a run's saved config and its scored items. */
struct lleval_compare_run {
    char *dir; /* the run's directory */
    struct lleval_config cfg;
    bool cfg_loaded;
    struct lleval_item_scores items;
    /* Read from results/items.jsonl (lleval_compare_run_load_items) only,
     * else NULL: per item of items, a hash of what its F1 came from (its
     * type, answer and golds) and its line in items.jsonl; the file's path. */
    uint64_t *keys;
    long *lines;
    char *items_path;
    bool f1_exact; /* read with `exact`: every F1 of items is the scorer's to the last bit */
};

/*
 * Loads run `id` of runs_dir: its config.resolved.yaml and the items of its
 * results/predictions.csv, scored with the run's own scoring options.
 * Returns 0, or LLEVAL_EINVAL for an invalid id, an unknown run or a run
 * without predictions yet (the message says what to do), or the error of
 * loading the config or the predictions (prefixed with the run's id).
 * Release r in either case.
 */
int lleval_compare_run_load(struct lleval_compare_run *r, const char *runs_dir, const char *id,
                            struct lleval_err *err);
void lleval_compare_run_release(struct lleval_compare_run *r);

/*
 * Loads run `id` of runs_dir from its results/items.jsonl (the score step's
 * verdicts, lib/score/compare_items.c) instead of scoring predictions.csv
 * again: the same items, with keys, lines and items_path set. Only a file
 * that scoring again would agree with is used: one that reads whole, holds
 * every row of predictions.csv once (its scores.json: no unknown or repeated
 * custom_id, the run's options and prepared_dir) and is not older than
 * predictions.csv. exact: each QA item's F1 other than 0 and 1 (items.jsonl
 * has 15 digits) is computed again from its answer and golds, normalized as
 * its dataset's prepared info says, and the file is given up at the first
 * that does not print as items.jsonl has it; f1_exact is then set. Returns 0, or
 * 1 when the run cannot be read that way (any reason, r left empty): the
 * caller scores it again, which words any error.
 */
int lleval_compare_run_load_items(struct lleval_compare_run *r, const char *runs_dir,
                                  const char *id, bool exact);

/*
 * Keeps only model's items of r (a run of several models), their custom_ids
 * without the model (lleval_item_scores_of_model; keys and lines kept in
 * step). LLEVAL_EINVAL, prefixed with the run's directory, when none is the
 * model's (r is then unchanged).
 */
int lleval_compare_run_of_model(struct lleval_compare_run *r, const char *model,
                                struct lleval_err *err);

/*
 * Whether res (the comparison of a and b, read from items.jsonl) shows what
 * scoring again gives. items.jsonl keeps F1 to 15 digits, so an F1 other than
 * 0 or 1 may differ from the scorer's in its last bits (unless the side is
 * f1_exact). exact: every F1
 * figure to the last bit (`runs compare --json`), which holds only when a
 * group has no such value or its pairs' differences are exactly zero (the
 * same answer to the same golds of the same prepared data); else as a
 * percentage to one decimal (the table and the page), which holds unless a
 * mean or an interval's end is within that error of a rounding boundary.
 * Multiple-choice groups and EM (0 or 1 per item) are always exact.
 */
bool lleval_compare_same_figures(const struct lleval_compare_run *a,
                                 const struct lleval_compare_run *b,
                                 const struct lleval_compare_result *res, bool exact);

/* What to compare (lleval_compare_runs); lleval_compare_req_init sets the defaults. */
struct lleval_compare_req {
    const char *a, *b;             /* run ids (borrowed; the same id twice is allowed) */
    const char *model_a, *model_b; /* NULL: every item; else that model of a run of several */
    long bootstrap;                /* resamples; < 0 (the default): run A's scoring options */
    long long seed;                /* bootstrap seed; < 0 (the default): run A's */
    bool exact;   /* F1 figures are shown to the last bit (JSON), not to one decimal */
    bool rescore; /* never read items.jsonl: score both runs' predictions.csv again */
};
void lleval_compare_req_init(struct lleval_compare_req *q);

/* Two runs compared, and where their items came from. */
struct lleval_comparison {
    struct lleval_compare_run a, b;
    struct lleval_compare_result res;
    bool from_items; /* both runs read from items.jsonl (else both scored again) */
};

/*
 * Compares runs q->a and q->b (`lleval runs compare`, the page of `lleval
 * report A B`): both read from items.jsonl (lleval_compare_run_load_items)
 * when both can be and lleval_compare_same_figures() says the figures are
 * what scoring again gives (to one decimal, where they might not, items.jsonl
 * is read again with each F1 computed to the last bit), else both scored
 * again (lleval_compare_run_load). c is filled either way (owned; release it with
 * lleval_comparison_release, also on failure). Returns 0, or the error of
 * scoring again: loading a run, then B, then a model of A, of B, then the
 * bootstrap (lleval_compare_items).
 */
int lleval_compare_runs(const char *runs_dir, const struct lleval_compare_req *q,
                        struct lleval_comparison *c, struct lleval_err *err);
void lleval_comparison_release(struct lleval_comparison *c);

/* The group of an item for the flip tables: "dataset/prompt type/t<temp>" from
 * its custom_id (borrowed), or "(other)" for an id lleval did not make;
 * written into key (size bytes, truncated to fit). */
void lleval_compare_group_key(const char *custom_id, char *key, size_t size);

#endif
