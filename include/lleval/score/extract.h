/*
 * Answer extraction from raw model output before scoring (strip <think>
 * blocks, first line, text after the last "Answer:") and multiple-choice
 * letter extraction. Every const char * parameter is borrowed.
 */
#ifndef LLEVAL_EXTRACT_H
#define LLEVAL_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/util.h"

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
