/*
 * scores.json (docs/scoring.md, "scores.json"): the one module that writes
 * it (from the scorer's struct lleval_score_result) and the one that reads
 * it back, as the typed struct lleval_scores, for `runs list` (the headline)
 * and the report. Nobody else decodes the file by its key strings.
 *
 * Reading: every field is optional (an absent one keeps its default, as
 * each field says) but a field that is present must have the type lleval
 * writes; anything else is an error naming the file and the field. Entries
 * of "groups" that are not objects and of "warnings" that are not strings
 * are skipped and counted, so one odd entry does not hide the scores.
 * The file has no format_version: the format has not changed since it was
 * first written, and its bytes stay as they are.
 *
 * Ownership: struct lleval_scores owns every string and array in it
 * (lleval_scores_release); paths and documents passed in are borrowed.
 */
#ifndef LLEVAL_SCORES_H
#define LLEVAL_SCORES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"

/* The scorer's result (score.h); the writer only borrows it. */
struct lleval_score_result;

/* The file's name in the scorer's output folder (results/ of a run). */
#define LLEVAL_SCORES_FILE "scores.json"

/* ---- writing ------------------------------------------------------------------ */

/* The scores.json document of res (borrowed); a new reference: json_decref it.
 * "scored_at" is the current time. */
json_t *lleval_score_result_json(const struct lleval_score_result *res);

/* Writes <out_dir>/scores.json atomically (out_dir is created when missing). */
int lleval_score_write(const struct lleval_score_result *res, const char *out_dir,
                       struct lleval_err *err);

/* ---- reading ------------------------------------------------------------------ */

/* The bootstrap seed the scorer uses unless told otherwise (scoring.bootstrap_seed). */
#define LLEVAL_SCORES_SEED_DEFAULT 12345

/* One metric as the file holds it: a percentage (ms, tokens/s for the speeds). */
struct lleval_scores_metric {
    bool present;  /* an object (not null, not absent) */
    bool has;      /* present with a number as its value */
    double value;  /* 0 without one */
    double lo, hi; /* the 95% interval; NaN when ci95 is null or absent */
    long n;        /* values behind it; 0 when absent */
};

/* One row of "groups". Strings NULL when absent (or null where allowed). */
struct lleval_scores_group {
    char *model; /* a run of several models: the group's model; NULL: absent */
    char *dataset;
    char *prompt_type; /* NULL: null (an overall row) */
    bool has_temperature;
    double temperature; /* 0 when null (an overall row) */
    bool overall;
    char *type;    /* closed_book | open_book | multiple_choice */
    char *scoring; /* "squad", "nq" or "mc", kept as written */
    long n, missing, unknown, duplicates;
    long unparseable; /* -1: null (not multiple choice) or absent */
    long finish_stop, finish_length, finish_error, finish_other;
    struct lleval_scores_metric exact_match, f1, contains, accuracy;
    struct lleval_scores_metric latency_ms, tokens_per_s;
    double truncation_pct, error_pct, empty_pct; /* NaN: null or absent */
};

struct lleval_scores {
    bool squad_json; /* "mode": "squad_json" (else "csv") */
    char *predictions, *prepared_dir, *scored_at;
    /* "options" */
    char *answer_extraction;
    bool strip_think;
    long bootstrap_resamples; /* LLEVAL_BOOTSTRAP_DEFAULT when absent */
    uint64_t bootstrap_seed;  /* LLEVAL_SCORES_SEED_DEFAULT when absent */
    double ci_level;          /* NaN when absent */
    char *ci_method;
    /* squad_json mode: the official numbers; NaN and 0 when absent */
    double exact_match, f1;
    long total;
    /* "totals" */
    long rows, scored, unknown, duplicates, missing;
    struct lleval_scores_group *groups;
    size_t n_groups;
    size_t skipped_groups; /* entries of "groups" that are not objects */
    char **warnings;
    size_t n_warnings;
    size_t skipped_warnings; /* entries of "warnings" that are not strings */
};

/* Empties s with the defaults above (nothing to free). */
void lleval_scores_init(struct lleval_scores *s);
void lleval_scores_release(struct lleval_scores *s);

/*
 * Reads the scores.json at path into s (initialized here; release it even on
 * failure). Errors name the file: LLEVAL_EIO when it is missing or cannot be
 * read; LLEVAL_EINVAL for damaged JSON (path:line:column), a document that is
 * not an object, or a field of the wrong type ("'groups[2].n' must be an
 * integer").
 */
int lleval_scores_load(const char *path, struct lleval_scores *s, struct lleval_err *err);

/* The same from a parsed document (borrowed); name is the file in messages. */
int lleval_scores_read(const json_t *doc, const char *name, struct lleval_scores *s,
                       struct lleval_err *err);

/* ---- the headline --------------------------------------------------------------- */

/* A run's headline, per metric, never mixing two: the item-weighted mean of
 * exact match over the QA groups and, apart, of accuracy over the
 * multiple-choice groups (groups that are not an overall row and have n > 0
 * and a value). A run with both kinds has both numbers. */
struct lleval_headline {
    bool have; /* false: no scores, or no group with a value */
    /* the first metric: "EM" when there are QA groups, else "acc"; "-" without (static) */
    const char *label;
    double pct; /* its value */
    bool have_em, have_acc;
    double em, acc; /* each metric's mean, when have_* */
};

/* The headline of s (borrowed; NULL gives none). A group's metric is its
 * exact match when that is present (an object), else its accuracy. */
struct lleval_headline lleval_scores_headline(const struct lleval_scores *s);

/* The headline as text into buf: "EM 36.1", "acc 40.0", both as
 * "EM 36.1, acc 40.0", or "-" without; returns buf. */
const char *lleval_headline_text(const struct lleval_headline *h, char *buf, size_t size);

#endif
