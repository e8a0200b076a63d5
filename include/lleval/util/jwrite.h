/*
 * A JSON writer without a tree (issue 13): appends JSON text to a string
 * builder, byte for byte what lleval_json_dump_sb() (jansson, JSON_COMPACT,
 * JSON_REAL_PRECISION(15)) writes for the same values, so artifacts do not
 * change when a writer replaces a json_t that was built only to be dumped.
 *
 * Objects are written member by member: lleval_jw_key() puts the comma
 * before every member but the first of an object (the caller's `first`).
 */
#ifndef LLEVAL_UTIL_JWRITE_H
#define LLEVAL_UTIL_JWRITE_H
#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/util.h"

/* A JSON string of len bytes of s, quoted and escaped as jansson does (", \
 * and control characters; nothing else). Bytes that are not valid UTF-8
 * (which jansson refuses to dump) are written as U+FFFD, so the output is
 * always valid JSON. */
void lleval_jw_strn(struct lleval_sb *sb, const char *s, size_t len);
/* As lleval_jw_strn() for a NUL-terminated s; NULL writes null. */
void lleval_jw_str(struct lleval_sb *sb, const char *s);
/* `"key":`, after a comma unless *first (which is then cleared). key is
 * escaped like any string. */
void lleval_jw_key(struct lleval_sb *sb, bool *first, const char *key);
void lleval_jw_int(struct lleval_sb *sb, long long v);
/* A real as jansson writes it ("%.15g", ".0" added to integral values,
 * exponent without '+' or leading zeros). Not finite: null (jansson has no
 * such real). Where jansson and lleval link two C runtimes (Windows), a value
 * exactly halfway at the 15th digit may be rounded the other way. */
void lleval_jw_real(struct lleval_sb *sb, double v);
void lleval_jw_bool(struct lleval_sb *sb, bool v);
void lleval_jw_null(struct lleval_sb *sb);
/* A real as jansson writes it with JSON_REAL_PRECISION(prec) (1..17; 17 is
 * jansson's default, used by json_dumps() without a precision). */
void lleval_jw_real_prec(struct lleval_sb *sb, double v, int prec);

#endif
