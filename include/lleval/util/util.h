/*
 * Small utilities shared by the whole library: checked allocation, a growable
 * string buffer (git's strbuf, curl's dynbuf), number parsing, UTF-8 checks.
 *
 * Allocation failure aborts the process (like git's xmalloc): every caller
 * would otherwise need a path it can never test, and an evaluation without
 * memory cannot continue anyway.
 */
#ifndef LLEVAL_UTIL_H
#define LLEVAL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "lleval/util/error.h"

#define LLEVAL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *lleval_xmalloc(size_t n);
void *lleval_xcalloc(size_t nmemb, size_t size);
void *lleval_xrealloc(void *p, size_t n);
/* Returns an owned copy; NULL stays NULL. */
char *lleval_xstrdup(const char *s);
char *lleval_xstrndup(const char *s, size_t n);
/* Returns an owned, formatted string. */
char *lleval_xasprintf(const char *fmt, ...) LLEVAL_PRINTF(1, 2);

/* Grows an array `p` of `n` elements with capacity `cap` so one more fits. */
#define LLEVAL_GROW(p, n, cap)                                                                     \
    do {                                                                                           \
        if ((n) + 1 > (cap)) {                                                                     \
            (cap) = (cap) ? (cap)*2 : 8;                                                           \
            (p) = lleval_xrealloc((p), (cap) * sizeof(*(p)));                                      \
        }                                                                                          \
    } while (0)

/*
 * String buffer: buf is never NULL and always NUL-terminated.
 * struct lleval_sb sb = LLEVAL_SB_INIT; ... lleval_sb_release(&sb);
 *
 * A buffer may carry a size cap (max, as curl's dynbuf `toobig`), for
 * anything that comes off the network or from a file of unknown size:
 * lleval_sb_try_add() refuses to make len exceed max and leaves the buffer
 * as it was. The other adds never fail (they abort on out of memory) and do
 * not look at the cap: feed a capped buffer through lleval_sb_try_add().
 */
struct lleval_sb {
    size_t len;
    size_t alloc;
    char *buf;
    size_t max; /* the most bytes len may reach through try_add; 0: no cap */
};

extern char lleval_sb_empty[];
#define LLEVAL_SB_INIT                                                                             \
    {                                                                                              \
        0, 0, lleval_sb_empty, 0                                                                   \
    }

/* Initializes sb (nothing to free before), empty and without a cap; hint
 * bytes are allocated at once when not 0. */
void lleval_sb_init(struct lleval_sb *sb, size_t hint);
/* As lleval_sb_init(), with a cap of max bytes (0: none). */
void lleval_sb_init_max(struct lleval_sb *sb, size_t hint, size_t max);
/* Frees the buffer and empties sb; the cap stays, so sb can be reused. */
void lleval_sb_release(struct lleval_sb *sb);
/* Empties sb, keeping its memory and its cap. */
void lleval_sb_reset(struct lleval_sb *sb);
void lleval_sb_grow(struct lleval_sb *sb, size_t extra);
/* The appends are inline up to the room check (they run for every few bytes
 * written); lleval_sb_add_grow() appends where the buffer must grow first. */
void lleval_sb_add_grow(struct lleval_sb *sb, const void *data, size_t len);
inline void lleval_sb_add(struct lleval_sb *sb, const void *data, size_t len)
{
    if (len && sb->len + len < sb->alloc) {
        memcpy(sb->buf + sb->len, data, len);
        sb->len += len;
        sb->buf[sb->len] = '\0';
    } else {
        lleval_sb_add_grow(sb, data, len);
    }
}
/* Appends data (borrowed) unless that makes len exceed sb->max (when not 0):
 * returns 0, or LLEVAL_EINVAL with sb unchanged. */
int lleval_sb_try_add(struct lleval_sb *sb, const void *data, size_t len);
inline void lleval_sb_adds(struct lleval_sb *sb, const char *s)
{
    lleval_sb_add(sb, s, strlen(s));
}
inline void lleval_sb_addch(struct lleval_sb *sb, char c)
{
    if (sb->len + 1 < sb->alloc) {
        sb->buf[sb->len++] = c;
        sb->buf[sb->len] = '\0';
    } else {
        lleval_sb_add_grow(sb, &c, 1);
    }
}
void lleval_sb_addf(struct lleval_sb *sb, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
void lleval_sb_vaddf(struct lleval_sb *sb, const char *fmt, va_list ap);
void lleval_sb_setlen(struct lleval_sb *sb, size_t len);
/* Hands over the buffer (caller frees) and empties sb, keeping its cap. */
char *lleval_sb_detach(struct lleval_sb *sb, size_t *len);
/* Removes trailing whitespace. */
void lleval_sb_rtrim(struct lleval_sb *sb);

/* Strict number parsing: the whole string must be the number, in range.
 * Return 0 or LLEVAL_EINVAL (err is not touched: callers say where). */
int lleval_parse_long(const char *s, long min, long max, long *out);
int lleval_parse_double(const char *s, double *out);
/* Parses a size like "16GiB", "512MiB", "8G", "1024" (bytes). */
int lleval_parse_size(const char *s, uint64_t *out);

/* The powers of ten a double holds exactly, 10^0 to 10^22 (for exact
 * decimal reading: a mantissa below 2^53 times or over one of them is one
 * correctly rounded operation), and those a uint64_t holds, 10^0 to 10^19. */
extern const double lleval_pow10_exact[23];
extern const uint64_t lleval_pow10_u64[20];

/* Returns true when s[0..len) is valid UTF-8 (no overlong forms, surrogates
 * or code points above U+10FFFF); else sets *bad_offset (when not NULL) to
 * the first bad byte. Defined in text.c with the other UTF-8 helpers. */
bool lleval_utf8_valid(const char *s, size_t len, size_t *bad_offset);

bool lleval_str_starts_with(const char *s, const char *prefix);
bool lleval_str_ends_with(const char *s, const char *suffix);

/* Levenshtein distance, for did-you-mean suggestions. */
size_t lleval_edit_distance(const char *a, const char *b);
/* Returns the candidate closest to word (distance <= max(2, len/3)), or NULL. */
const char *lleval_did_you_mean(const char *word, const char *const *candidates, size_t n);

/* A well-mixed 64-bit hash of a string (FNV-1a with a final avalanche); stable
 * across platforms and runs: ids, custom_id hashes, hash sets and the dry
 * engine use it. */
uint64_t lleval_hash64(const char *s);
/* Standard 64-bit FNV-1a of a string (NULL hashes as ""), no avalanche:
 * its low bits are weak, so hash tables use lleval_hash64(). Kept for values
 * that must stay stable, such as the bootstrap seeds derived from labels. */
uint64_t lleval_fnv1a64(const char *s);

/* Formats a double the short way ("0", "0.7", "1.25") into buf. */
const char *lleval_fmt_num(char *buf, size_t size, double v);

#endif
