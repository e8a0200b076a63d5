/*
 * Official QA metrics: SQuAD v1.1 answer normalization, exact match, token F1,
 * "contains", the NQ-open variant (Unicode NFD first), multiple-choice letter
 * extraction, and answer extraction from raw model output (strip <think>
 * blocks, first line, text after the last "Answer:").
 *
 * The normalization reproduces the official Python script byte for byte:
 *     lower = str.lower() (full Unicode mapping, including U+0130 -> "i\u0307"
 *             and the final-sigma rule)
 *     delete every ASCII punctuation character (string.punctuation; curly
 *             quotes and other non-ASCII punctuation stay)
 *     re.sub(r'\b(a|an|the)\b', ' ', text) with Python's Unicode \b (word
 *             characters: letters, numbers, underscore; combining marks are
 *             NOT word characters)
 *     ' '.join(text.split()) with Python's Unicode whitespace
 * Invalid UTF-8 bytes are read as U+FFFD. docs/scoring.md has the details.
 *
 * Ownership: a struct lleval_norm owns its buffers; lleval_norm_release()
 * frees them. Every const char * parameter is borrowed.
 */
#ifndef LLEVAL_METRICS_H
#define LLEVAL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"
#include "lleval/util/util.h"

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

/*
 * Appends the normalized form of s[0..len) to out: tokens joined by single
 * spaces, no leading or trailing space. nfd applies Unicode canonical
 * decomposition first (the NQ-open variant).
 */
void lleval_normalize_answer(const char *s, size_t len, bool nfd, struct lleval_sb *out);

/* One token of a normalized answer: bytes [off, off + len) of text. */
struct lleval_token {
    uint32_t off;
    uint32_t len;
};

/* A normalized answer, tokenized once and reused against many golds. */
struct lleval_norm {
    struct lleval_sb text;     /* normalized text */
    struct lleval_token *toks; /* tokens in order */
    uint32_t *sorted;          /* token indexes in byte order (for F1) */
    size_t n_toks;
    size_t cap;
    /* scratch code point buffers, kept between calls to avoid allocations */
    int32_t *cp[2];
    size_t cp_cap[2];
};

/* clang-format off */
#define LLEVAL_NORM_INIT {LLEVAL_SB_INIT, NULL, NULL, 0, 0, {NULL, NULL}, {0, 0}}
/* clang-format on */

void lleval_norm_init(struct lleval_norm *a);
/* Normalizes s[0..len) into a (replacing what it held). */
void lleval_norm_set(struct lleval_norm *a, const char *s, size_t len, bool nfd);
void lleval_norm_release(struct lleval_norm *a);

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

/* Answer extraction before scoring (config scoring.answer_extraction). */
enum lleval_extract {
    LLEVAL_EXTRACT_NONE = 0,         /* the whole text */
    LLEVAL_EXTRACT_FIRST_LINE = 1,   /* the first non-blank line */
    LLEVAL_EXTRACT_AFTER_ANSWER = 2, /* the text after the last "Answer:" (any case) */
};

/* "none", "first_line", "after_answer". */
const char *lleval_extract_name(enum lleval_extract e);
/* Returns 0 and sets *out, or LLEVAL_EINVAL (err untouched). "first-line" and
 * "after-answer" are accepted too. */
int lleval_extract_parse(const char *s, enum lleval_extract *out);

/*
 * Appends the answer extracted from text[0..len) to out, trimmed of
 * surrounding whitespace. With strip_think, every <think>...</think> block is
 * removed first; an unterminated <think> removes everything after it, and a
 * </think> without an opening tag removes everything before it (templates
 * that open the block inside the prompt). after_answer without any "Answer:"
 * keeps the whole text.
 */
void lleval_extract_answer(const char *text, size_t len, enum lleval_extract mode, bool strip_think,
                           struct lleval_sb *out);

/* Largest number of choices a multiple-choice item may have (A..Z). */
#define LLEVAL_MC_MAX_CHOICES 26

/*
 * Multiple-choice letter extraction from an (already extracted) answer.
 * Returns the chosen index 0..n_choices-1, or -1 when no choice can be read
 * (counted as unparseable). Accepted, in this order:
 *   a lone letter, possibly wrapped: "B", "(B)", "B.", "B)", "[B]", "**B**",
 *     "b" (lowercase only when the whole answer is the letter);
 *   the last "answer/option/choice [is|:] X" phrase: "Answer: B",
 *     "The answer is (B).", "The correct option is **C**";
 *   a leading "B)", "B.", "B:", "(B)" before the choice text: "B) Paris";
 *   the text of exactly one choice (normalized comparison): "Paris";
 *   exactly one distinct wrapped letter anywhere: "... so (C) it is".
 * A lowercase letter counts only when it cannot be an English word
 * ("answer: b." yes, "the answer is a city" no). choices may be NULL when
 * n_choices letters are allowed but no texts are known.
 */
int lleval_mc_extract(const char *text, size_t len, const char *const *choices, size_t n_choices);

#endif
