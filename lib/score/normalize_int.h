/*
 * Internal to the scorer (lib/score/): what the normalizer shares with the
 * metrics, the token byte order of F1. Not part of the public API.
 */
#ifndef LLEVAL_NORMALIZE_INT_H
#define LLEVAL_NORMALIZE_INT_H

#include <stdint.h>
#include <string.h>
#include "lleval/score/normalize.h"

/* Byte order of two tokens (memcmp, then the shorter first); most pairs differ
 * in their first byte, which is compared without a call. */
static inline int bytes_cmp(const char *x, uint32_t xl, const char *y, uint32_t yl)
{
    uint32_t n = xl < yl ? xl : yl;
    int c;
    if (n && x[0] != y[0])
        return (unsigned char)x[0] < (unsigned char)y[0] ? -1 : 1;
    c = memcmp(x, y, n);
    if (c)
        return c;
    return xl < yl ? -1 : xl > yl;
}

/* Fills a->sorted with a's token indexes in byte order (bytes_cmp). */
void lleval_norm_sort_tokens(struct lleval_norm *a);

#endif
