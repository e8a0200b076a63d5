/* JSON text written straight into a string builder (see jwrite.h). */
#include "lleval/util/jwrite.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lleval/util/jscan.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

static const char hex[] = "0123456789ABCDEF";

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
        p = lleval_jscan_plain_end(p, end);
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

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;

/* 10^k as a 128-bit integer, k <= 38. */
static u128 pow10_u128(int k)
{
    return k < 20 ? (u128)lleval_pow10_u64[k]
                  : (u128)lleval_pow10_u64[19] * lleval_pow10_u64[k - 19];
}

/* The prec significant digits of |v| (a normal double), correctly rounded from
 * its exact value, in *digits, and the decimal exponent of the first in *x10
 * (as %e shows them); false when this exact arithmetic cannot tell (the value
 * too large or small for 128 bits, or exactly halfway between two results,
 * where the C library's rounding rule decides). */
static bool exact_digits(double v, int prec, uint64_t *digits, int *x10)
{
    uint64_t bits, f, lo = 1, hi;
    int e, x;
    memcpy(&bits, &v, sizeof bits);
    e = (int)((bits >> 52) & 0x7FF);
    if (e == 0 || e == 0x7FF)
        return false; /* zero, subnormal, not finite */
    f = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    e -= 1075; /* |v| = f * 2^e */
    for (int i = 1; i < prec; i++)
        lo *= 10;
    hi = lo * 10; /* prec digits: lo <= q < hi */
    /* floor(log10 |v|) or one less: log10(2) ~ 78913 / 2^18 */
    x = ((e + 52) * 78913) >> 18;
    for (int tries = 0; tries < 3; tries++) {
        int k = prec - 1 - x; /* q = |v| * 10^k */
        u128 q, rem, half;
        bool above, tie;
        if (k >= 0) {
            if (k > 22 || e >= 0 || e < -127)
                return false;
            u128 n = (u128)f * pow10_u128(k);
            q = n >> -e;
            rem = n & (((u128)1 << -e) - 1);
            half = (u128)1 << (-e - 1);
        } else {
            u128 d;
            if (-k > 38 || e > 74 || e < 0)
                return false;
            d = pow10_u128(-k);
            u128 n = (u128)f << e;
            q = n / d;
            rem = n % d;
            half = d / 2; /* d is even */
        }
        if (q >= hi) {
            x++;
            continue;
        }
        if (q < lo) {
            x--;
            continue;
        }
        tie = rem == half;
        above = rem > half;
        if (tie)
            return false;
        if (above && ++q == hi) { /* rounded up to the next power of ten */
            q = lo;
            x++;
        }
        *digits = (uint64_t)q;
        *x10 = x;
        return true;
    }
    return false;
}

/* v as jansson writes it with JSON_REAL_PRECISION(prec): snprintf's "%.*g"
 * (C locale), ".0" after an integer, the exponent without '+' or leading
 * zeros; from exact_digits(), -1 when those cannot tell. */
static int fast_g(char *buf, double v, int prec)
{
    uint64_t q;
    int x, n = 0, nd;
    char d[20];
    if (!exact_digits(v, prec, &q, &x))
        return -1;
    for (int i = prec - 1; i >= 0; i--, q /= 10)
        d[i] = (char)('0' + q % 10);
    nd = prec;
    if (v < 0)
        buf[n++] = '-';
    if (x < -4 || x >= prec) { /* d.ddde-XX, trailing zeros dropped */
        while (nd > 1 && d[nd - 1] == '0')
            nd--;
        buf[n++] = d[0];
        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, d + 1, (size_t)nd - 1);
            n += nd - 1;
        }
        buf[n++] = 'e';
        if (x < 0) {
            buf[n++] = '-';
            x = -x;
        }
        if (x >= 100)
            buf[n++] = (char)('0' + x / 100);
        if (x >= 10)
            buf[n++] = (char)('0' + x / 10 % 10);
        buf[n++] = (char)('0' + x % 10);
    } else if (x >= 0) { /* x + 1 integer digits, then the rest, trailing zeros dropped */
        while (nd > x + 1 && d[nd - 1] == '0')
            nd--;
        memcpy(buf + n, d, (size_t)x + 1);
        n += x + 1;
        buf[n++] = '.';
        if (nd > x + 1) {
            memcpy(buf + n, d + x + 1, (size_t)(nd - x - 1));
            n += nd - x - 1;
        } else {
            buf[n++] = '0'; /* an integer: jansson adds ".0" */
        }
    } else { /* 0.000ddd */
        while (nd > 1 && d[nd - 1] == '0')
            nd--;
        buf[n++] = '0';
        buf[n++] = '.';
        for (int i = 0; i < -x - 1; i++)
            buf[n++] = '0';
        memcpy(buf + n, d, (size_t)nd);
        n += nd;
    }
    buf[n] = '\0';
    return n;
}
#else
static int fast_g(char *buf, double v, int prec)
{
    (void)buf;
    (void)v;
    (void)prec;
    return -1;
}
#endif

void lleval_jw_real_prec(struct lleval_sb *sb, double v, int prec)
{
    char buf[48];
    if (!isfinite(v) || prec < 1 || prec > 17) {
        lleval_jw_null(sb);
        return;
    }
    int n = fast_g(buf, v, prec);
    if (n > 0) {
        lleval_sb_add(sb, buf, (size_t)n);
        return;
    }
    n = snprintf(buf, sizeof buf, "%.*g", prec, v);
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
