/*
 * Text helpers, one of each for the whole tree: UTF-8 sequences (length,
 * decode, encode, a copy that turns bad bytes into U+FFFD), the terminal
 * display width of UTF-8 text (East Asian wide and fullwidth characters take
 * two columns, combining marks none), cuts that never split a sequence, and
 * the escapers for HTML, Markdown, CSV and the terminal.
 *
 * Every function takes borrowed input and never fails: bytes that are not
 * valid UTF-8 are measured and copied one at a time (as U+FFFD where text is
 * escaped), so untrusted text (model output, dataset strings) is safe here.
 * Whole-string validation, lleval_utf8_valid(), is declared in util.h (most
 * callers need only that) and defined in text.c beside the sequence check.
 */
#ifndef LLEVAL_TEXT_H
#define LLEVAL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/util.h"

/* U+FFFD REPLACEMENT CHARACTER, UTF-8 encoded. */
#define LLEVAL_UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* ---- UTF-8 ---- */

/*
 * Length of the valid UTF-8 sequence at p, which has `left` bytes (left >= 1):
 * 1 for ASCII (NUL included), 2 to 4 for a well-formed sequence, 0 when the
 * bytes at p are not one (a stray continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF, or a sequence cut short by left).
 */
size_t lleval_utf8_seq(const char *p, size_t left);

/*
 * Decodes the sequence at p (left >= 1 bytes) into *cp and returns the bytes
 * it used: the sequence's length, or 1 with *cp = U+FFFD for a byte that
 * starts no valid sequence. Returns 0 (cp untouched) only when left is 0.
 */
size_t lleval_utf8_decode(const char *p, size_t left, int32_t *cp);

/* Writes code point cp UTF-8 encoded into out (1 to 4 bytes, no NUL) and
 * returns the bytes written; a surrogate or a value outside 0..U+10FFFF
 * writes U+FFFD (3 bytes). */
size_t lleval_utf8_put(char out[4], int32_t cp);
/* Appends code point cp UTF-8 encoded, as lleval_utf8_put() writes it. */
void lleval_utf8_encode(struct lleval_sb *sb, int32_t cp);

/*
 * Copies the one character at s (len >= 1 bytes) to sb: the valid sequence
 * as it is, or U+FFFD for a bad byte. Returns the bytes consumed (>= 1).
 */
size_t lleval_utf8_copy(struct lleval_sb *sb, const char *s, size_t len);

/*
 * Columns s[0..len) takes on a terminal: utf8proc_charwidth() of each code
 * point (2 for East Asian wide and fullwidth, 0 for combining marks and
 * control characters, 1 otherwise); a byte that is not valid UTF-8 counts 1
 * (a terminal shows it as one replacement character).
 */
size_t lleval_utf8_width_n(const char *s, size_t len);
/* lleval_utf8_width_n() of a NUL-terminated string; NULL is 0 columns. */
size_t lleval_utf8_width(const char *s);

/*
 * Where to cut s (len bytes) to at most max bytes without splitting a UTF-8
 * sequence: len when it fits, else max moved back to the start of the
 * sequence it falls in. Bad bytes are single characters.
 */
size_t lleval_utf8_cut(const char *s, size_t len, size_t max);

/* The bytes of the first max characters (code points; a bad byte is one) of
 * s[0..len): len when s has no more than max characters. */
size_t lleval_utf8_cut_chars(const char *s, size_t len, size_t max);

/* The bytes of the longest prefix of s[0..len) that takes at most max_cols
 * columns (lleval_utf8_width_n()); zero-width marks stay with their base. */
size_t lleval_utf8_cut_width(const char *s, size_t len, size_t max_cols);

/* ---- escaping ---- */

/*
 * Appends s (borrowed; NULL appends nothing) HTML-escaped to sb: & < > " '
 * become entities, so the text is safe in element content and in quoted
 * attribute values; bytes that are not valid UTF-8 and control characters
 * other than tab, newline and carriage return become U+FFFD.
 */
void lleval_html_escape(struct lleval_sb *sb, const char *s);
/* lleval_html_escape() of s[0..len) (NUL bytes in it become U+FFFD). */
void lleval_html_escape_n(struct lleval_sb *sb, const char *s, size_t len);

/*
 * Appends s (borrowed; NULL appends nothing) escaped for one Markdown table
 * cell or list line, so that it renders as the same text and nothing else
 * in CommonMark and GitHub Flavored Markdown: no image, link, autolink (bare
 * www./http:/e-mail ones included), raw HTML, entity, emphasis, code span,
 * heading, list, quote, strikethrough, math or column break comes from data.
 * Every ASCII punctuation character with a Markdown meaning
 * (\ ` * _ [ ] ( ) { } > # + - . ! | ~ & : @ = $ ^) gets a backslash; < is
 * written as &lt;. Newlines, carriage returns and tabs become spaces (a cell
 * is one line); other control characters (C0, DEL, C1) are dropped; invalid
 * UTF-8 becomes U+FFFD. The other characters (letters, digits, space,
 * " ' % , / ; ? and all non-ASCII text) are kept as they are.
 */
void lleval_md_escape(struct lleval_sb *sb, const char *s);
/* lleval_md_escape() of s[0..len). */
void lleval_md_escape_n(struct lleval_sb *sb, const char *s, size_t len);

/*
 * Appends s (borrowed; NULL appends nothing) made safe to print on a
 * terminal: nothing in it can move the cursor, change colours, set the
 * window title or reorder the line. Printable text (UTF-8 included) and tabs
 * are kept; C0 control characters and DEL become visible "\xNN" (ESC is
 * "\x1b", so an escape sequence shows as text), a newline "\n" and a
 * carriage return "\r" unless keep_newlines (then a newline is kept and a
 * CR still shown); C1 controls, bidirectional overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069) and line/paragraph separators become
 * "\uNNNN"; a byte that is not valid UTF-8 becomes "\xNN". For engine and
 * model text (error messages, answers, ids) the tool prints.
 */
void lleval_term_sanitize(struct lleval_sb *sb, const char *s, bool keep_newlines);
/* lleval_term_sanitize() of s[0..len) (a NUL byte in it is "\x00"). */
void lleval_term_sanitize_n(struct lleval_sb *sb, const char *s, size_t len, bool keep_newlines);

/*
 * Appends s (borrowed) as one RFC 4180 CSV field: as it is, or in double
 * quotes with each quote doubled when it holds a comma, quote, CR or LF or
 * starts with a UTF-8 byte order mark (readers drop one at a file's start).
 * The bytes are not checked or changed otherwise. The one CSV quoting rule
 * of the tree: csv.h's lleval_csv_add_field() writes its fields with it.
 */
void lleval_csv_quote(struct lleval_sb *sb, const char *s);

#endif
