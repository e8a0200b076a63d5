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

/* The group of an item for the flip tables: "dataset/prompt type/t<temp>" from
 * its custom_id (borrowed), or "(other)" for an id lleval did not make;
 * written into key (size bytes, truncated to fit). */
void lleval_compare_group_key(const char *custom_id, char *key, size_t size);

#endif
