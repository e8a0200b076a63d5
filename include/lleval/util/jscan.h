/*
 * A validating one-pass JSON scanner without a tree (issue 13), for the hot
 * readers of lleval's own JSONL files (result lines, prepared items): a
 * caller walks an object with lleval_jscan_object(), reads the members it
 * wants and lets the rest be checked and skipped. It accepts exactly what
 * jansson accepts where it answers at all; on anything it cannot vouch for (a
 * huge integer, \u0000, nesting deeper than LLEVAL_JSCAN_MAX_DEPTH) it
 * returns false, and the caller falls back to jansson, which also words the
 * error.
 */
#ifndef LLEVAL_UTIL_JSCAN_H
#define LLEVAL_UTIL_JSCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "lleval/util/util.h"

#define LLEVAL_JSCAN_MAX_DEPTH 32
/* The bytes of the buffer a member callback's key is in: keys of up to 23
 * bytes, then a NUL and zeros to the end of the buffer. */
#define LLEVAL_JSCAN_KEY_SIZE 24

/* The text being scanned (borrowed) and a scratch buffer for keys and kept
 * strings (borrowed; the caller owns and releases it). */
struct lleval_jscan {
    const unsigned char *p, *end;
    struct lleval_sb *out;
    bool unique; /* a key twice in one object gives up (JSON_REJECT_DUPLICATES) */
};

/* Called for each member of an object: key is the unescaped key (keys longer
 * than 23 bytes are skipped without a call), in a buffer of
 * LLEVAL_JSCAN_KEY_SIZE bytes zeroed after its NUL, so LLEVAL_JSCAN_KEY_IS()
 * may compare it; the callback reads the value (or skips it with
 * lleval_jscan_skip) and returns false to give up. seen is zero at the start
 * of each object, for the callback's duplicate checks. */
typedef bool (*lleval_jscan_member_fn)(struct lleval_jscan *s, const char *key, unsigned *seen,
                                       int depth);

/* True when a member callback's key is the string literal lit: one
 * fixed-size compare of its bytes and NUL (which the compiler makes a few word
 * compares) instead of a strcmp; a literal too long to be a key is never it.
 * Only for the key a member callback is given (see above). */
#define LLEVAL_JSCAN_KEY_IS(key, lit)                                                              \
    (sizeof(lit) <= LLEVAL_JSCAN_KEY_SIZE && !memcmp((key), (lit), sizeof(lit)))

/* Skips white space (inline: called for every token; lleval's own files
 * have none, so a byte above ' ' ends it at the first test). */
static inline void lleval_jscan_ws(struct lleval_jscan *s)
{
    while (s->p < s->end && *s->p <= ' ' &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}
/* Skips white space and c: false when the next byte is not c. */
static inline bool lleval_jscan_eat(struct lleval_jscan *s, char c)
{
    lleval_jscan_ws(s);
    if (s->p < s->end && *s->p == (unsigned char)c) {
        s->p++;
        return true;
    }
    return false;
}
/* Skips white space; true when the next byte is c (not consumed). */
static inline bool lleval_jscan_peek(struct lleval_jscan *s, char c)
{
    lleval_jscan_ws(s);
    return s->p < s->end && *s->p == (unsigned char)c;
}
/* The end of the run of plain bytes at p (printable ASCII but '"' and '\\':
 * the bytes a JSON string holds as they stand), 16 bytes at a time where SSE2
 * is; end at most. */
const unsigned char *lleval_jscan_plain_end(const unsigned char *p, const unsigned char *end);
/* Reads `null`: false (nothing consumed but white space) when the value is not null. */
bool lleval_jscan_null(struct lleval_jscan *s);
/* A string; its unescaped bytes and a NUL are appended to out when out is
 * not NULL. False for anything jansson would refuse (or read differently). */
bool lleval_jscan_str(struct lleval_jscan *s, struct lleval_sb *out);
/* A number; *is_int as jansson tells integers (no '.', 'e', 'E') from reals. */
bool lleval_jscan_num(struct lleval_jscan *s, bool *is_int, long long *iv, double *dv);
/* Any value, validated and dropped. */
bool lleval_jscan_skip(struct lleval_jscan *s, int depth);
/* An object, each member through member(). */
bool lleval_jscan_object(struct lleval_jscan *s, int depth, lleval_jscan_member_fn member);
/* True when only white space is left. */
bool lleval_jscan_end(struct lleval_jscan *s);
/* Marks bit in *seen; false when it was marked already (a repeated key).
 * Inline: called for every member a reader keeps. */
static inline bool lleval_jscan_first(unsigned *seen, int bit)
{
    if (*seen & (1u << bit))
        return false;
    *seen |= 1u << bit;
    return true;
}
/* Reads `true`, `false` or `null` at the current byte: the word read (static),
 * or NULL (nothing consumed) when none is there. */
const char *lleval_jscan_literal(struct lleval_jscan *s);

#endif
