/*
 * The comparison page's reading of each run's results/items.jsonl
 * (compare_items.c), inside lib/report. A run's items come from that file
 * when it is there and readable, and its scores.json says it holds every row
 * of predictions.csv once (no unknown or repeated custom_id), scored with
 * the run's saved options against its prepared_dir; otherwise the page
 * scores predictions.csv again as it always did (lleval_compare_run_load and
 * lleval_report_xrows_load). Scoring again is also what happens when an F1
 * figure of the page could print differently: items.jsonl keeps F1 to 15
 * digits, so a mean within a few 1e-13 of a rounding boundary (or a
 * difference at zero) is recomputed from the scorer's own values and the page
 * is the same bytes either way.
 */
#ifndef LLEVAL_REPORT_COMPARE_INT_H
#define LLEVAL_REPORT_COMPARE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "lleval/score/compare.h"
#include "report_int.h"

/* One side of the comparison, read from items.jsonl. */
struct lleval_report_cmp_run {
    struct lleval_compare_run run; /* dir, cfg and the items, as lleval_compare_run_load fills */
    uint64_t *keys;                /* per item of run.items: a hash of its type, answer and golds */
    long *lines;                   /* per item of run.items: its line in items.jsonl */
    char *items_path;              /* results/items.jsonl */
};

/*
 * Loads run `id` of runs_dir from its items.jsonl. Returns 0, or 1 when the
 * run cannot be read that way (any reason: the caller scores it again, which
 * words any error). Release r in either case.
 */
int lleval_report_cmp_load(struct lleval_report_cmp_run *r, const char *runs_dir, const char *id);
void lleval_report_cmp_release(struct lleval_report_cmp_run *r);

/* Whether every F1 figure of res (the comparison of a and b) prints as it
 * would from the scorer's unrounded values. */
bool lleval_report_cmp_same_bytes(const struct lleval_report_cmp_run *a,
                                  const struct lleval_report_cmp_run *b,
                                  const struct lleval_compare_result *res);

/* The rows of res's flipped items of run r that the page shows (the first
 * `shown` each way) into x (initialised here; release it), their questions
 * and golds as items (x->golds). 0, or 1 when items.jsonl could not be read
 * again. */
int lleval_report_cmp_flips(const struct lleval_report_cmp_run *r,
                            const struct lleval_compare_result *res, size_t shown, struct xrows *x);

#endif
