/*
 * Text helpers (see text.h): UTF-8 sequences, display width, cuts at
 * character boundaries, and the HTML, Markdown and CSV escapers.
 */
#include <string.h>
#include <utf8proc.h>
#include "lleval/util/text.h"
#include "lleval/util/util.h"

/* ---- UTF-8 ---- */

/* The one UTF-8 sequence check of the tree: the length (1..4) of the valid
 * sequence at s (left >= 1 bytes), or 0 for an invalid lead or continuation
 * byte, an overlong form, a surrogate, a code point above U+10FFFF or a
 * sequence cut short. */
static size_t seq_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > left)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

bool lleval_utf8_valid(const char *str, size_t len, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        size_t n = s[i] < 0x80 ? 1 : seq_len(s + i, len - i);
        if (!n) {
            if (bad_offset)
                *bad_offset = i;
            return false;
        }
        i += n;
    }
    return true;
}

size_t lleval_utf8_seq(const char *p, size_t left)
{
    return seq_len((const unsigned char *)p, left);
}

size_t lleval_utf8_decode(const char *p, size_t left, int32_t *cp)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t n;
    int32_t c;
    if (!left)
        return 0;
    n = lleval_utf8_seq(p, left);
    if (!n) {
        *cp = 0xFFFD;
        return 1;
    }
    if (n == 1)
        c = s[0];
    else if (n == 2)
        c = s[0] & 0x1F;
    else if (n == 3)
        c = s[0] & 0x0F;
    else
        c = s[0] & 0x07;
    for (size_t k = 1; k < n; k++)
        c = (c << 6) | (s[k] & 0x3F);
    *cp = c;
    return n;
}

size_t lleval_utf8_put(char out[4], int32_t cp)
{
    if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        memcpy(out, LLEVAL_UTF8_REPLACEMENT, 3);
        return 3;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

void lleval_utf8_encode(struct lleval_sb *sb, int32_t cp)
{
    char b[4];
    lleval_sb_add(sb, b, lleval_utf8_put(b, cp));
}

size_t lleval_utf8_copy(struct lleval_sb *sb, const char *s, size_t len)
{
    size_t n = lleval_utf8_seq(s, len);
    if (!n) {
        lleval_sb_adds(sb, LLEVAL_UTF8_REPLACEMENT);
        return 1;
    }
    lleval_sb_add(sb, s, n);
    return n;
}

/* Columns of code point c (bad bytes are decoded as U+FFFD: one column). */
static size_t cp_width(int32_t c)
{
    int w = utf8proc_charwidth(c);
    return w > 0 ? (size_t)w : 0;
}

size_t lleval_utf8_width_n(const char *s, size_t len)
{
    size_t i = 0, w = 0;
    while (i < len) {
        int32_t c;
        i += lleval_utf8_decode(s + i, len - i, &c);
        w += cp_width(c);
    }
    return w;
}

size_t lleval_utf8_width(const char *s)
{
    return s ? lleval_utf8_width_n(s, strlen(s)) : 0;
}

size_t lleval_utf8_cut(const char *s, size_t len, size_t max)
{
    size_t cut;
    if (len <= max)
        return len;
    cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

size_t lleval_utf8_cut_chars(const char *s, size_t len, size_t max)
{
    size_t i = 0, chars = 0;
    while (i < len && chars < max) {
        size_t n = lleval_utf8_seq(s + i, len - i);
        i += n ? n : 1;
        chars++;
    }
    return i;
}

size_t lleval_utf8_cut_width(const char *s, size_t len, size_t max_cols)
{
    size_t i = 0, w = 0;
    while (i < len) {
        int32_t c;
        size_t n = lleval_utf8_decode(s + i, len - i, &c);
        size_t cw = cp_width(c);
        if (w + cw > max_cols)
            break;
        w += cw;
        i += n;
    }
    return i;
}

/* ---- escaping ---- */

void lleval_html_escape_n(struct lleval_sb *sb, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            switch (c) {
            case '&':
                lleval_sb_adds(sb, "&amp;");
                break;
            case '<':
                lleval_sb_adds(sb, "&lt;");
                break;
            case '>':
                lleval_sb_adds(sb, "&gt;");
                break;
            case '"':
                lleval_sb_adds(sb, "&quot;");
                break;
            case '\'':
                lleval_sb_adds(sb, "&#39;");
                break;
            case '\t':
            case '\n':
            case '\r':
                lleval_sb_addch(sb, (char)c);
                break;
            default:
                if (c < 0x20 || c == 0x7F)
                    lleval_sb_adds(sb, LLEVAL_UTF8_REPLACEMENT);
                else
                    lleval_sb_addch(sb, (char)c);
            }
            i++;
            continue;
        }
        i += lleval_utf8_copy(sb, s + i, len - i);
    }
}

void lleval_html_escape(struct lleval_sb *sb, const char *s)
{
    if (s)
        lleval_html_escape_n(sb, s, strlen(s));
}

/* ASCII punctuation with a meaning somewhere in CommonMark or GFM: emphasis,
 * code spans, links and images, autolinks (also GFM's bare ones, which need
 * ':', '.' or '@'), raw HTML, entities, headings, block quotes, list
 * markers, thematic breaks, setext underlines, tables, strikethrough,
 * footnotes, math ($) and attribute braces. CommonMark lets a backslash
 * escape any ASCII punctuation, so each of these becomes literal text. */
static bool md_special(unsigned char c)
{
    return c && strchr("\\`*_[](){}<>#+-.!|~&:@=$^", c) != NULL;
}

/* C1 control characters (U+0080..U+009F), two bytes in UTF-8. */
static bool c1_control(int32_t cp)
{
    return cp >= 0x80 && cp <= 0x9F;
}

void lleval_md_escape_n(struct lleval_sb *sb, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (c == '<') {
                lleval_sb_adds(sb, "&lt;");
            } else if (md_special(c)) {
                lleval_sb_addch(sb, '\\');
                lleval_sb_addch(sb, (char)c);
            } else if (c == '\n' || c == '\r' || c == '\t') {
                lleval_sb_addch(sb, ' ');
            } else if (c >= 0x20 && c != 0x7F) {
                lleval_sb_addch(sb, (char)c);
            }
            i++;
            continue;
        }
        {
            int32_t cp;
            size_t n = lleval_utf8_decode(s + i, len - i, &cp);
            if (lleval_utf8_seq(s + i, len - i) && c1_control(cp))
                i += n; /* dropped, as C0 controls are */
            else
                i += lleval_utf8_copy(sb, s + i, len - i);
        }
    }
}

void lleval_md_escape(struct lleval_sb *sb, const char *s)
{
    if (s)
        lleval_md_escape_n(sb, s, strlen(s));
}

/* Invisible characters that reorder or break the text around them on a
 * terminal: bidirectional embeddings, overrides and isolates, line and
 * paragraph separators. */
static bool term_invisible(int32_t cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
           cp == 0x2029;
}

void lleval_term_sanitize_n(struct lleval_sb *sb, const char *s, size_t len, bool keep_newlines)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t n;
        int32_t cp;
        if (c < 0x80) {
            if (c == '\t' || (c == '\n' && keep_newlines) || (c >= 0x20 && c != 0x7F))
                lleval_sb_addch(sb, (char)c);
            else if (c == '\n')
                lleval_sb_adds(sb, "\\n");
            else if (c == '\r')
                lleval_sb_adds(sb, "\\r");
            else
                lleval_sb_addf(sb, "\\x%02x", c);
            i++;
            continue;
        }
        n = lleval_utf8_seq(s + i, len - i);
        if (!n) {
            lleval_sb_addf(sb, "\\x%02x", c); /* a byte that is not UTF-8, shown as such */
            i++;
            continue;
        }
        lleval_utf8_decode(s + i, len - i, &cp);
        if (c1_control(cp) || term_invisible(cp))
            lleval_sb_addf(sb, "\\u%04x", (unsigned)cp);
        else
            lleval_sb_add(sb, s + i, n);
        i += n;
    }
}

void lleval_term_sanitize(struct lleval_sb *sb, const char *s, bool keep_newlines)
{
    if (s)
        lleval_term_sanitize_n(sb, s, strlen(s), keep_newlines);
}

void lleval_csv_quote(struct lleval_sb *sb, const char *s)
{
    /* a leading byte order mark is quoted too: readers (lleval's among them)
     * drop one at the start of a file, which would eat it from a first field */
    if (!strpbrk(s, ",\"\r\n") && strncmp(s, "\xEF\xBB\xBF", 3)) {
        lleval_sb_adds(sb, s);
        return;
    }
    lleval_sb_addch(sb, '"');
    for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
        lleval_sb_add(sb, s, (size_t)(q - s) + 1); /* the text up to a quote, which doubles */
        lleval_sb_addch(sb, '"');
    }
    lleval_sb_adds(sb, s);
    lleval_sb_addch(sb, '"');
}
