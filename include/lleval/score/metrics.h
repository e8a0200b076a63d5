/*
 * Official QA metrics over normalized answers: exact match, token F1,
 * "contains" and their max over the golds, and the scoring schemes (SQuAD,
 * NQ-open with NFD first, multiple choice). The normalization itself is
 * normalize.h, answer and multiple-choice letter extraction extract.h; both
 * are included here, so this header still declares the whole scoring API.
 *
 * Every const char * parameter is borrowed.
 */
#ifndef LLEVAL_METRICS_H
#define LLEVAL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"
#include "lleval/util/util.h"
#include "lleval/score/extract.h"
#include "lleval/score/normalize.h"

/* How a dataset is scored (`scoring` in <dataset>.info.json). */
enum lleval_scoring {
    LLEVAL_SCORING_SQUAD = 0, /* SQuAD v1.1 normalization */
    LLEVAL_SCORING_NQ = 1,    /* Unicode NFD, then the SQuAD normalization */
    LLEVAL_SCORING_MC = 2,    /* multiple choice: letter accuracy */
};

/* "squad", "nq", "mc". */
const char *lleval_scoring_name(enum lleval_scoring s);
/* Returns 0 and sets *out, or LLEVAL_EINVAL for an unknown name (err untouched). */
int lleval_scoring_parse(const char *s, enum lleval_scoring *out);

/* Exact match: the normalized texts are equal. */
bool lleval_norm_em(const struct lleval_norm *pred, const struct lleval_norm *gold);
/* Token F1 as the official script computes it (bag-of-tokens overlap; 0 when
 * nothing overlaps, so also 0 when either side is empty). */
double lleval_norm_f1(const struct lleval_norm *pred, const struct lleval_norm *gold);
/* The gold's token sequence appears contiguously in the prediction's. An
 * empty gold is contained only in an empty prediction. */
bool lleval_norm_contains(const struct lleval_norm *pred, const struct lleval_norm *gold);

/* The three QA metrics of one prediction, each the max over the golds. */
struct lleval_qa_score {
    double em;       /* 0 or 1 */
    double f1;       /* 0 .. 1 */
    double contains; /* 0 or 1 */
};

/* Scores pred against golds[0..n_golds) (max over the golds; all zero when
 * n_golds is 0). */
void lleval_qa_score(const struct lleval_norm *pred, const struct lleval_norm *golds,
                     size_t n_golds, struct lleval_qa_score *out);

/* Convenience for one-off use (tests, tools): normalizes both sides. */
bool lleval_exact_match(const char *pred, const char *gold, bool nfd);
double lleval_f1(const char *pred, const char *gold, bool nfd);

#endif
