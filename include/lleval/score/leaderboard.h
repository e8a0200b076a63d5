/*
 * The leaderboard of a run of several models (issue 11, point 3): per model,
 * the share of items answered correctly (exact match on QA, the gold letter on
 * multiple choice; a failed request is wrong) and, over its QA items, mean F1
 * and the contains rate, each with its 95% bootstrap interval,
 * and for every pair of models McNemar's exact test on the items both answered
 * (paired by custom_id without its model component, as `runs compare` pairs
 * two runs). Rows of a single-model run (custom_ids without a model) are left
 * out, so such a run has no leaderboard.
 *
 * Ownership: struct lleval_leaderboard owns its strings and arrays
 * (lleval_leaderboard_release frees them); parameters are borrowed.
 */
#ifndef LLEVAL_LEADERBOARD_H
#define LLEVAL_LEADERBOARD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/score/score.h"
#include "lleval/score/stats.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

struct lleval_lb_model {
    char *model;              /* owned */
    struct lleval_ci correct; /* fraction correct (0..1) over n = correct.n items */
    /* over the model's QA items only (n 0 and mean NaN: it has none): mean F1 and the
     * share of answers that contain a gold answer, 0..1 */
    struct lleval_ci f1, contains;
};

struct lleval_lb_pair {
    size_t a, b;         /* indexes into models, a < b */
    size_t n;            /* items both answered */
    long a_only, b_only; /* discordant pairs: right for a only, for b only */
    double mcnemar_p;    /* exact two-sided p-value */
};

struct lleval_leaderboard {
    struct lleval_lb_model *models; /* in the order the models first appear */
    size_t n_models;
    struct lleval_lb_pair *pairs; /* (0,1), (0,2), ..., (1,2), ... */
    size_t n_pairs;
};

/*
 * Builds the leaderboard of the scored items s (sorted by custom_id, as
 * lleval_item_scores_load leaves them): intervals with `bootstrap` resamples
 * and a seed derived from seed and the model. Fills out (zeroed first; no
 * models when no custom_id names one). Returns 0, or LLEVAL_EINVAL for a
 * resample count the bootstrap refuses.
 */
int lleval_leaderboard_build(const struct lleval_item_scores *s, long bootstrap, uint64_t seed,
                             struct lleval_leaderboard *out, struct lleval_err *err);
void lleval_leaderboard_release(struct lleval_leaderboard *lb);

/* Reads the "leaderboard" object of a scores.json document (borrowed) into
 * out (zeroed first): correct as a fraction again, lo/hi NaN without an
 * interval. Entries that are not a model, and pairs naming no listed model,
 * are left out; a document without one leaves out empty. */
void lleval_leaderboard_read(const json_t *doc, struct lleval_leaderboard *out);

/* Appends the leaderboard as text (a ranked table, then the pairwise tests)
 * to out; nothing when it has fewer than two models. */
void lleval_leaderboard_format(const struct lleval_leaderboard *lb, struct lleval_sb *out);

#endif
