/*
 * SQuAD v1.1 answer normalization, as the official SQuAD and NQ-open scripts
 * do it, reproduced byte for byte with Python's Unicode semantics:
 *     lower = str.lower() (full Unicode mapping, including U+0130 -> "i\u0307"
 *             and the final-sigma rule)
 *     delete every ASCII punctuation character (string.punctuation; curly
 *             quotes and other non-ASCII punctuation stay)
 *     re.sub(r'\b(a|an|the)\b', ' ', text) with Python's Unicode \b (word
 *             characters: letters, numbers, underscore; combining marks are
 *             NOT word characters)
 *     ' '.join(text.split()) with Python's Unicode whitespace
 * The NQ-open variant applies Unicode NFD first. Invalid UTF-8 bytes are read
 * as U+FFFD. docs/scoring.md has the details; the metrics over normalized
 * answers are in metrics.h.
 *
 * Ownership: a struct lleval_norm owns its buffers; lleval_norm_release()
 * frees them. Every const char * parameter is borrowed.
 */
#ifndef LLEVAL_NORMALIZE_H
#define LLEVAL_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/util.h"

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

#endif
