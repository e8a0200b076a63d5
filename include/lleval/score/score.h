/*
 * Scoring (the guide's score_predictions): predictions + prepared gold
 * answers -> per-item scores, a breakdown by dataset x prompt type x
 * temperature with 95% bootstrap intervals, and scores.json.
 *
 * Two inputs:
 *  - predictions.csv (docs/formats.md), streamed one row at a time: memory
 *    grows with the gold datasets and the number of groups, never with the
 *    number of rows;
 *  - a SQuAD-style JSON object {"question id": "answer"} against one prepared
 *    dataset, scored like the official SQuAD v1.1 script (questions without a
 *    prediction score 0; EM and F1 as percentages).
 *
 * Each row: the answer is extracted from the prediction (strip <think>
 * blocks, then none | first_line | after_answer), then scored with the
 * dataset's `scoring` (squad | nq | mc, from <dataset>.info.json). Rows with
 * status error score 0 and count. Rows whose item is not in the gold set are
 * counted as unknown; a repeated (dataset, item, prompt type, temperature,
 * sample) is counted as a duplicate (the first row is kept); gold items with
 * no row are counted as missing. docs/scoring.md defines every field.
 *
 * Ownership: the result structs own all their strings and arrays
 * (lleval_score_result_release / lleval_item_scores_release free them);
 * path parameters are borrowed. Functions that fail leave the result empty
 * (nothing to release, though releasing is harmless).
 */
#ifndef LLEVAL_SCORE_H
#define LLEVAL_SCORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/config/config.h"
#include "lleval/util/error.h"
#include "lleval/score/metrics.h"
#include "lleval/score/scores.h"
#include "lleval/score/stats.h"

/* Truncation rate above which a group gets a warning (the guide's 10%). */
#define LLEVAL_TRUNCATION_WARN 0.10

/* scoring.abstain_phrases: at most this many, each shorter than LLEVAL_ABSTAIN_LEN bytes. */
#define LLEVAL_ABSTAIN_MAX 8
#define LLEVAL_ABSTAIN_LEN 64

struct lleval_score_opts {
    enum lleval_extract extraction; /* scoring.answer_extraction (default none) */
    bool strip_think;               /* scoring.strip_think (default true) */
    long bootstrap;                 /* resamples per interval, 0: none (default 1000) */
    uint64_t seed;                  /* scoring.bootstrap_seed (default 12345) */
    double truncation_warn;         /* default LLEVAL_TRUNCATION_WARN */
    /* the items a run asked: the first limit_items of each dataset (a run's
     * --limit_items); missing counts only those. 0 (the default, and
     * `lleval score`): every gold item */
    long limit_items;
    /* the run's result lines (results_combined.jsonl; borrowed): tokens/s is
     * then the engine's unrounded gen_tps from them, else (NULL, the default,
     * and `lleval score`) predictions.csv's gen_tps, rounded to one decimal */
    const char *results_jsonl;
    /* SQuAD 2.0 datasets, predictions.csv: an extracted answer that is empty
     * or one of these phrases (compared after SQuAD normalization) abstains,
     * i.e. answers "no answer" (default: "unanswerable") */
    char abstain[LLEVAL_ABSTAIN_MAX][LLEVAL_ABSTAIN_LEN];
    size_t n_abstain;
};

/* SQuAD 2.0: the sums evaluate-v2.0 divides (exact and F1 per question, in
 * dataset order) over `total` questions; all, answerable and unanswerable. */
struct lleval_squad2_part {
    double exact_sum, f1_sum;
    long total;
};
struct lleval_squad2_eval {
    struct lleval_squad2_part all, has_ans, no_ans;
};

/* The defaults above (those of the config's scoring section). */
void lleval_score_opts_init(struct lleval_score_opts *o);
/* The defaults, then cfg's scoring.* values (cfg borrowed; an answer_extraction
 * the config validation let through is always known). */
void lleval_score_opts_from_config(struct lleval_score_opts *o, const struct lleval_config *cfg);

/* One row of the breakdown. Means are fractions (0..1) in the struct and
 * percentages in the table and in scores.json; an interval's lo/hi are NaN
 * when none was computed, its mean NaN when the metric does not apply. */
struct lleval_score_group {
    char *model; /* a run of several models: the group's model; NULL for one model */
    char *dataset;
    char *prompt_type; /* NULL in an overall row */
    char *temperature; /* short form ("0", "0.7"); NULL in an overall row */
    bool overall;      /* all prompt types and temperatures of the dataset */
    enum lleval_scoring scoring;
    char *type; /* closed_book | open_book | multiple_choice */
    long n;     /* rows scored (unknown and duplicate rows excluded) */
    long unknown, duplicates, missing;
    long errors;      /* status error */
    long empty;       /* status ok with an empty extracted answer */
    long unparseable; /* multiple choice: status ok, no letter could be read */
    long finish_stop, finish_length, finish_error, finish_other;
    struct lleval_ci em, f1, contains; /* QA datasets */
    struct lleval_ci accuracy;         /* multiple choice */
    struct lleval_ci latency_ms;       /* ok rows with a latency */
    struct lleval_ci tokens_per_s;     /* ok rows with gen_tps > 0 */
    bool v2;                           /* a SQuAD 2.0 dataset: v2 below applies */
    struct lleval_squad2_eval v2_eval; /* its HasAns / NoAns breakdown */
    long abstained;                    /* ok rows that abstained (scoring.abstain_phrases) */
};

struct lleval_leaderboard;

struct lleval_score_result {
    bool squad_json;   /* scored from a SQuAD-style JSON object */
    char *predictions; /* the input path */
    char *prepared_dir;
    struct lleval_score_opts opts;
    struct lleval_score_group *groups; /* each dataset's groups, then its overall row */
    size_t n_groups;
    long rows;       /* CSV data rows, or JSON predictions */
    long scored;     /* rows scored */
    long unknown;    /* rows whose dataset or item is not in the gold set */
    long duplicates; /* repeated rows (not scored) */
    long missing;    /* gold items without a prediction (summed over groups and samples) */
    /* SQuAD-JSON mode: the official numbers (percentages) over `total` questions */
    double exact_match, f1;
    long total;
    /* SQuAD-JSON mode on a SQuAD 2.0 dataset: evaluate-v2.0's numbers; the
     * questions without a prediction are left out of them (as the script's
     * overall numbers leave them out) and listed, in dataset order */
    bool squad_v2;
    struct lleval_squad2_eval v2;
    char **missing_ids; /* owned */
    size_t n_missing_ids;
    char **warnings; /* one line each, owned */
    size_t n_warnings;
    /* a run of several models: their leaderboard (leaderboard.h), owned; NULL otherwise */
    struct lleval_leaderboard *leaderboard;
};

/* Scores a predictions.csv against the prepared datasets its rows name.
 * Errors: malformed CSV (file:line), a missing column, a dataset that was
 * never prepared (LLEVAL_EINVAL); unreadable files (LLEVAL_EIO). */
int lleval_score_csv(const char *pred_csv, const char *prepared_dir,
                     const struct lleval_score_opts *o, struct lleval_score_result *res,
                     struct lleval_err *err);

/* Scores a SQuAD-style predictions JSON object against prepared dataset
 * `dataset`, as the official v1.1 script does (res->exact_match, res->f1),
 * or, for a SQuAD 2.0 dataset, as evaluate-v2.0 does (res->squad_v2, res->v2;
 * an empty answer is the abstention; fails when no prediction answers a
 * question of the dataset, where the script divides by zero). */
int lleval_score_squad_json(const char *pred_json, const char *prepared_dir, const char *dataset,
                            const struct lleval_score_opts *o, struct lleval_score_result *res,
                            struct lleval_err *err);

/* scores.json is written by lleval_score_write() (scores.h, included above). */

/*
 * What cmd-run and `lleval score` call: lleval_score_csv() then
 * lleval_score_write(). On failure res is left empty.
 */
int lleval_score_run(const char *pred_csv, const char *prepared_dir, const char *out_dir,
                     const struct lleval_score_opts *o, struct lleval_score_result *res,
                     struct lleval_err *err);

void lleval_score_result_release(struct lleval_score_result *res);

/* The summary table as cells: row 0 is the header; columns dataset, prompt,
 * temp, n, EM [CI], F1 [CI], contains, acc, trunc%, err%, lat ms, tok/s. */
struct lleval_score_table {
    size_t ncols, nrows;
    char **cells; /* row-major, owned */
};
void lleval_score_table(const struct lleval_score_result *res, struct lleval_score_table *t);
void lleval_score_table_release(struct lleval_score_table *t);
/* Appends the notes under the table (SQuAD-JSON official line, or
 * evaluate-v2.0's output as it prints it; SQuAD 2.0 HasAns / NoAns lines;
 * missing, unknown and duplicate counts), one line each, to out. */
void lleval_score_notes(const struct lleval_score_result *res, struct lleval_sb *out);
/* The table as aligned plain text followed by the notes, owned. */
char *lleval_score_format_table(const struct lleval_score_result *res);
/* Owned copies of the warnings: an owned array of *n owned strings. */
char **lleval_score_warnings(const struct lleval_score_result *res, size_t *n);

/* ---- per-item scores (paired comparisons: `runs compare`) ---- */

enum lleval_item_state {
    LLEVAL_ITEM_SCORED = 0,
    LLEVAL_ITEM_UNKNOWN,   /* dataset or item not in the gold set */
    LLEVAL_ITEM_DUPLICATE, /* a repeated row; the first one was scored */
};

struct lleval_pred_row;

/* One row's outcome; strings are borrowed and valid during the callback only. */
struct lleval_item_entry;

struct lleval_item_score {
    const char *custom_id, *dataset, *item_id, *prompt_type, *temperature;
    long sample;
    long line; /* CSV line where the row starts */
    /* the whole predictions.csv row (borrowed, predictions.h); NULL in SQuAD-JSON mode */
    const struct lleval_pred_row *row;
    enum lleval_item_state state;
    bool ok; /* status ok */
    enum lleval_scoring scoring;
    const char *answer;      /* the extracted answer */
    double em, f1, contains; /* QA (0 for multiple choice) */
    int choice;              /* multiple choice: the chosen index, -1 unparseable */
    bool correct;            /* QA: em == 1; multiple choice: the gold letter */
    bool v2, no_ans;         /* a SQuAD 2.0 item; it is unanswerable */
    bool abstained;          /* SQuAD 2.0: the answer abstained (scored as "no answer") */
    /* a scored row's prepared item: question, golds, choices, type (borrowed
     * for the call; dataset/index.h); NULL for other rows */
    const struct lleval_item_entry *item;
};

/* Called for every data row; a nonzero return stops the scan and is returned. */
typedef int (*lleval_item_score_fn)(const struct lleval_item_score *s, void *ud);

/* Streams pred_csv and calls fn for each row, in file order. */
int lleval_score_each(const char *pred_csv, const char *prepared_dir,
                      const struct lleval_score_opts *o, lleval_item_score_fn fn, void *ud,
                      struct lleval_err *err);

/* lleval_score_csv() that also calls fn (may be NULL) for each row, in file
 * order, as lleval_score_each() does: one pass for the scores and the rows. */
int lleval_score_csv_each(const char *pred_csv, const char *prepared_dir,
                          const struct lleval_score_opts *o, lleval_item_score_fn fn, void *ud,
                          struct lleval_score_result *res, struct lleval_err *err);

/* A kept copy of one scored row. */
struct lleval_item_rec {
    char *custom_id; /* owned */
    long sample;
    bool ok, mc;
    double em, f1, contains;
    bool correct;
};

struct lleval_item_scores {
    struct lleval_item_rec *items; /* sorted by custom_id */
    size_t n;
};

/* Loads the scored rows of pred_csv (unknown and duplicate rows left out),
 * sorted by custom_id for lookups. */
int lleval_item_scores_load(const char *pred_csv, const char *prepared_dir,
                            const struct lleval_score_opts *o, struct lleval_item_scores *out,
                            struct lleval_err *err);
/* The row with that custom_id (borrowed), or NULL. */
const struct lleval_item_rec *lleval_item_scores_find(const struct lleval_item_scores *s,
                                                      const char *custom_id);
void lleval_item_scores_release(struct lleval_item_scores *s);

/* ---- SQuAD 2.0 (lib/score/squad2.c) ---- */

/* Appends v as Python's repr() writes a float (shortest round trip: 50.0,
 * 53.84615384615385, 1e-05). */
void lleval_fmt_pyfloat(double v, struct lleval_sb *out);
/* Appends what evaluate-v2.0 prints for e (json.dumps(out_eval, indent=2) and
 * a newline); a breakdown without questions is left out, as the script does. */
void lleval_squad2_format(const struct lleval_squad2_eval *e, struct lleval_sb *out);
/* Adds one question's exact (0/1) and F1 (0..1) to p. */
void lleval_squad2_add(struct lleval_squad2_part *p, double exact, double f1);
/* True when answer (borrowed) abstains: empty after SQuAD normalization, or
 * one of o->abstain. */
bool lleval_squad2_abstains(const char *answer, size_t len, const struct lleval_score_opts *o);

#endif
