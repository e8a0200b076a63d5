/* JSON text written straight into a string builder (see jwrite.h). */
#include "lleval/util/jwrite.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lleval/util/text.h"

static const char hex[] = "0123456789ABCDEF";

/* 1 for the bytes that end a run of plain bytes: ", \, control, non-ASCII. */
static bool plain(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\' && c < 0x80;
}

static void put_escape(struct lleval_sb *sb, unsigned char c)
{
    char seq[6] = {'\\', 'u', '0', '0', 0, 0};
    switch (c) {
    case '"':
        lleval_sb_add(sb, "\\\"", 2);
        return;
    case '\\':
        lleval_sb_add(sb, "\\\\", 2);
        return;
    case '\b':
        lleval_sb_add(sb, "\\b", 2);
        return;
    case '\f':
        lleval_sb_add(sb, "\\f", 2);
        return;
    case '\n':
        lleval_sb_add(sb, "\\n", 2);
        return;
    case '\r':
        lleval_sb_add(sb, "\\r", 2);
        return;
    case '\t':
        lleval_sb_add(sb, "\\t", 2);
        return;
    default:
        seq[4] = hex[c >> 4];
        seq[5] = hex[c & 15];
        lleval_sb_add(sb, seq, 6);
    }
}

void lleval_jw_strn(struct lleval_sb *sb, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    lleval_sb_grow(sb, len + 2);
    lleval_sb_addch(sb, '"');
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && plain(*p))
            p++;
        if (p > run)
            lleval_sb_add(sb, run, (size_t)(p - run));
        if (p == end)
            break;
        if (*p < 0x80) {
            put_escape(sb, *p++);
            continue;
        }
        size_t n = lleval_utf8_seq((const char *)p, (size_t)(end - p));
        if (n) {
            lleval_sb_add(sb, p, n);
            p += n;
        } else {
            lleval_sb_add(sb, "\xEF\xBF\xBD", 3);
            p++;
        }
    }
    lleval_sb_addch(sb, '"');
}

void lleval_jw_str(struct lleval_sb *sb, const char *s)
{
    if (!s)
        lleval_jw_null(sb);
    else
        lleval_jw_strn(sb, s, strlen(s));
}

void lleval_jw_key(struct lleval_sb *sb, bool *first, const char *key)
{
    if (!*first)
        lleval_sb_addch(sb, ',');
    *first = false;
    lleval_jw_str(sb, key);
    lleval_sb_addch(sb, ':');
}

void lleval_jw_int(struct lleval_sb *sb, long long v)
{
    char buf[24], *q = buf + sizeof buf;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    lleval_sb_add(sb, q, (size_t)(buf + sizeof buf - q));
}

void lleval_jw_real(struct lleval_sb *sb, double v)
{
    lleval_jw_real_prec(sb, v, 15);
}

void lleval_jw_bool(struct lleval_sb *sb, bool v)
{
    if (v)
        lleval_sb_add(sb, "true", 4);
    else
        lleval_sb_add(sb, "false", 5);
}

void lleval_jw_null(struct lleval_sb *sb)
{
    lleval_sb_add(sb, "null", 4);
}

void lleval_jw_real_prec(struct lleval_sb *sb, double v, int prec)
{
    char buf[48];
    if (!isfinite(v) || prec < 1 || prec > 17) {
        lleval_jw_null(sb);
        return;
    }
    int n = snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (n <= 0 || (size_t)n >= sizeof buf - 2) {
        lleval_jw_null(sb);
        return;
    }
    size_t len = (size_t)n;
    /* a locale's decimal comma: lleval runs in the C locale, jansson mends it too */
    for (size_t i = 0; i < len; i++)
        if (buf[i] == ',')
            buf[i] = '.';
    if (strspn(buf, "0123456789-") == len) {
        buf[len++] = '.';
        buf[len++] = '0';
        buf[len] = 0;
    }
    char *e = strchr(buf, 'e');
    if (e) {
        char *start = e + 1, *from = e + 2;
        if (*start == '-')
            start++;
        while (*from == '0')
            from++;
        if (from != start) {
            memmove(start, from, len + 1 - (size_t)(from - buf));
            len -= (size_t)(from - start);
        }
    }
    lleval_sb_add(sb, buf, len);
}
