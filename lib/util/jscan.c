/* The validating one-pass JSON scanner (see jscan.h). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/util/jscan.h"
#include "lleval/util/util.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { NUM_MAX = 64 };

/* The next byte after white space (not consumed), or -1 at the end. */
static inline int next_byte(struct lleval_jscan *s)
{
    lleval_jscan_ws(s);
    return s->p < s->end ? *s->p : -1;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void put_utf8(struct lleval_sb *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    lleval_sb_add(out, b, n);
}

/* Length of the valid UTF-8 sequence at p (jansson's rules: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned long cp;
    size_t n;
    if (*p >= 0xC2 && *p <= 0xDF) {
        n = 2;
        cp = *p & 0x1F;
    } else if (*p >= 0xE0 && *p <= 0xEF) {
        n = 3;
        cp = *p & 0x0F;
    } else if (*p >= 0xF0 && *p <= 0xF4) {
        n = 4;
        cp = *p & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* True when none of the 8 bytes of x ends a plain run: no control character,
 * no byte >= 0x80, no '"' and no '\\' (the "has a byte less than n" and "has a
 * zero byte" word tests: they never report a byte that is not there). */
static bool plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
    uint64_t hits = (x & high) | ((x - ones * 0x20) & ~x & high) |
                    ((quote - ones) & ~quote & high) | ((bslash - ones) & ~bslash & high);
    return hits == 0;
}

#if defined(__SSE2__)
/* One bit for each of the 16 bytes at p that ends a plain run (a control
 * character, a byte >= 0x80: both below 0x20 as signed bytes; '"', '\\'). */
static inline unsigned stops16(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                             _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* The end of the run of plain bytes (printable ASCII but '"' and '\\') at p:
 * 16 bytes at a time with SSE2, then 8 (a word), then one. */
static inline const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    while (end - p >= 16) {
        unsigned bits = stops16(p);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    for (uint64_t x; end - p >= 8 && (memcpy(&x, p, 8), plain8(x));)
        p += 8;
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

const unsigned char *lleval_jscan_plain_end(const unsigned char *p, const unsigned char *end)
{
    return plain_run(p, end);
}

/* n bytes at p and a NUL appended to out (the NUL counted in out->len, as
 * lleval_sb_addch(out, '\0') would). */
static inline void add_with_nul(struct lleval_sb *out, const unsigned char *p, size_t n)
{
    lleval_sb_grow(out, n + 1);
    memcpy(out->buf + out->len, p, n);
    out->len += n + 1;
    out->buf[out->len - 1] = '\0';
    out->buf[out->len] = '\0';
}

/* A string; its unescaped bytes go to out (NUL-terminated) when out is not
 * NULL. False for anything jansson would refuse or read differently. */
bool lleval_jscan_str(struct lleval_jscan *s, struct lleval_sb *out)
{
    const unsigned char *p;
    lleval_jscan_ws(s);
    if (s->p >= s->end || *s->p != '"')
        return false;
    p = ++s->p;
    for (;;) {
        const unsigned char *run = p;
        p = plain_run(p, s->end);
        if (p >= s->end || *p < 0x20)
            return false;
        if (*p == '"') {
            if (out) /* the last run and the NUL in one append */
                add_with_nul(out, run, (size_t)(p - run));
            s->p = p + 1;
            return true;
        }
        if (out && p > run)
            lleval_sb_add(out, run, (size_t)(p - run));
        if (*p >= 0x80) {
            size_t n = utf8_len(p, s->end);
            if (!n)
                return false;
            if (out)
                lleval_sb_add(out, p, n);
            p += n;
            continue;
        }
        /* an escape */
        if (s->end - p < 2)
            return false;
        switch (p[1]) {
        case '"':
        case '\\':
        case '/':
            if (out)
                lleval_sb_addch(out, (char)p[1]);
            p += 2;
            break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            if (out)
                lleval_sb_addch(out, p[1] == 'b'   ? '\b'
                                     : p[1] == 'f' ? '\f'
                                     : p[1] == 'n' ? '\n'
                                     : p[1] == 'r' ? '\r'
                                                   : '\t');
            p += 2;
            break;
        case 'u': {
            int hi, lo;
            unsigned long cp;
            if (s->end - p < 6 || (hi = hex4(p + 2)) < 0 || hi == 0 ||
                (hi >= 0xDC00 && hi <= 0xDFFF))
                return false;
            cp = (unsigned long)hi;
            p += 6;
            if (hi >= 0xD800 && hi <= 0xDBFF) {
                if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u' || (lo = hex4(p + 2)) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
                p += 6;
            }
            if (out)
                put_utf8(out, cp);
            break;
        }
        default:
            return false;
        }
    }
}

/* m * 10^e10 where that is one correctly rounded operation on exact values
 * (m <= 2^53, |e10| <= 22: Clinger's fast path), as strtod would read it;
 * false when it is not (then strtod decides). Only where doubles are
 * evaluated in their own precision (no x87 double rounding). */
static bool exact_decimal(uint64_t m, int e10, bool neg, double *out)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    double v;
    if (m > (1ULL << 53) || e10 < -22 || e10 > 22)
        return false;
    v = (double)m;
    v = e10 < 0 ? v / lleval_pow10_exact[-e10] : v * lleval_pow10_exact[e10];
    *out = neg ? -v : v;
    return true;
#else
    (void)m;
    (void)e10;
    (void)neg;
    (void)out;
    return false;
#endif
}

/* m * 10^e10 rounded once to the nearest double, ties to even, as strtod
 * reads it, for the decimals exact_decimal() leaves (more than 53 bits of
 * digits: a latency printed with 17 digits), 1 <= m < 2^64, |e10| <= 19:
 * in 128-bit integers the exact product, or for e10 < 0 the quotient of m
 * shifted to the top of 128 bits by 10^-e10 (at least 64 bits) and whether a
 * remainder is left; then its leading 53 bits, rounded by the bits below
 * them and that remainder. No floating-point rounding happens: the rounded
 * 53 bits and their power of two are the double's bits (the value is far
 * from both ends of the double range, so normal). False where there is no
 * 128-bit integer type (then strtod decides). */
static bool exact_wide(uint64_t m, int e10, bool neg, double *out)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128; /* -Wpedantic: a GCC/Clang type */
    u128 x;
    uint64_t hi, mant;
    int shift = 0, len, lz;
    bool rem = false; /* a remainder below the quotient's last bit */
    if (!m || e10 < -19 || e10 > 19)
        return false;
    if (e10 >= 0) {
        x = (u128)m * lleval_pow10_u64[e10];
    } else {
        uint64_t d = lleval_pow10_u64[-e10];
        u128 num;
        lz = __builtin_clzll(m);
        num = (u128)(m << lz) << 64;
        x = num / d;
        rem = num - x * d != 0;
        shift = -64 - lz;
    }
    hi = (uint64_t)(x >> 64);
    len = hi ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll((uint64_t)x);
    if (len <= 53) { /* exact (a product of at most 53 bits) */
        mant = (uint64_t)x;
    } else {
        int cut = len - 53;
        u128 rest = x & (((u128)1 << cut) - 1), half = (u128)1 << (cut - 1);
        mant = (uint64_t)(x >> cut);
        if (rest > half || (rest == half && (rem || (mant & 1))))
            mant++; /* 2^53 at most: still exact */
        shift += cut;
    }
    if (len <= 53) {
        *out = neg ? -(double)mant : (double)mant;
    } else { /* a normal double's bits: mant is 2^52 to 2^53 */
        uint64_t bits;
        if (mant >> 53) {
            mant >>= 1;
            shift++;
        }
        bits =
            (uint64_t)neg << 63 | (uint64_t)(shift + 52 + 1023) << 52 | (mant & ((1ULL << 52) - 1));
        memcpy(out, &bits, sizeof(bits));
    }
    return true;
#else
    (void)m;
    (void)e10;
    (void)neg;
    (void)out;
    return false;
#endif
}

/* A number: *is_int as jansson tells integers from reals (no '.', 'e', 'E').
 * need: its value too (else only checked: a real is converted only when it
 * might overflow, which jansson refuses). The value is that of strtoll (at
 * most 18 digits) or strtod, which read a simple decimal as exact_decimal()
 * does and one of at most 19 digits and a small exponent as exact_wide()
 * does; strtod reads the others. */
static bool number(struct lleval_jscan *s, bool *is_int, long long *iv, double *dv, bool need)
{
    bool expo = false, neg = false;
    const unsigned char *p, *start;
    char buf[NUM_MAX + 1];
    size_t digits = 0, sig = 0, n;
    uint64_t m = 0; /* the significant digits (while sig <= 19) */
    int frac = 0, x10 = 0;
    char *e;
    lleval_jscan_ws(s);
    p = start = s->p;
    *is_int = true;
    if (p < s->end && *p == '-') {
        neg = true;
        p++;
    }
    if (p < s->end && *p == '0') {
        p++;
        digits = 1;
    } else {
        while (p < s->end && *p >= '0' && *p <= '9') {
            m = m * 10 + (uint64_t)(*p - '0');
            p++;
            digits++;
        }
        sig = digits;
    }
    if (!digits)
        return false;
    if (p < s->end && *p == '.') {
        size_t f = 0;
        *is_int = false;
        p++;
        if (!sig) /* zeros before the first significant digit (m is 0) */
            for (; p < s->end && *p == '0'; p++)
                f++;
        {
            /* the digits that fit m, then the rest (counted, not kept) */
            const unsigned char *first = p, *fit = s->end;
            if (sig >= 19)
                fit = p;
            else if ((size_t)(s->end - p) > 19 - sig)
                fit = p + (19 - sig);
            for (; p < fit && *p >= '0' && *p <= '9'; p++)
                m = m * 10 + (uint64_t)(*p - '0');
            while (p < s->end && *p >= '0' && *p <= '9')
                p++;
            sig += (size_t)(p - first);
            f += (size_t)(p - first);
        }
        if (!f)
            return false;
        frac = f > 64 ? 64 : (int)f;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        size_t x = 0;
        bool xneg = false;
        *is_int = false;
        expo = true;
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            xneg = *p++ == '-';
        for (; p < s->end && *p >= '0' && *p <= '9'; p++, x++)
            if (x10 < 1000)
                x10 = x10 * 10 + (*p - '0');
        if (!x)
            return false;
        if (xneg)
            x10 = -x10;
    }
    n = (size_t)(p - start);
    if (n > NUM_MAX || (*is_int && digits > 18))
        return false; /* jansson may refuse a huge integer: let it say so */
    if (!need && (*is_int || (!expo && n < 300))) {
        s->p = p;
        return true;
    }
    if (*is_int) { /* at most 18 digits: strtoll's value */
        s->p = p;
        *iv = neg ? -(long long)m : (long long)m;
        *dv = (double)*iv;
        return true;
    }
    if (sig <= 19 &&
        (exact_decimal(m, x10 - frac, neg, dv) || exact_wide(m, x10 - frac, neg, dv))) {
        s->p = p;
        return true;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    s->p = p;
    *dv = strtod(buf, &e);
    if (isinf(*dv))
        return false;
    return e == buf + n;
}

/* The common number, a non-negative integer of at most 18 digits (a count, a
 * status, an index), read as number() reads it: its value in *iv; false,
 * nothing consumed, for any other number (number() reads it). Inline, with
 * no frame of its own: most numbers of a result line are such. */
static inline bool plain_int(struct lleval_jscan *s, long long *iv)
{
    const unsigned char *p = s->p, *end = s->end;
    uint64_t m;
    if (p >= end || *p < '0' || *p > '9')
        return false;
    m = (uint64_t)(*p++ - '0');
    if (m) { /* a leading '0' is the whole integer part */
        const unsigned char *stop = end - p > 17 ? p + 17 : end;
        for (; p < stop && *p >= '0' && *p <= '9'; p++)
            m = m * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E'))
        return false; /* a 19th digit, a fraction, an exponent */
    s->p = p;
    *iv = (long long)m;
    return true;
}

bool lleval_jscan_num(struct lleval_jscan *s, bool *is_int, long long *iv, double *dv)
{
    lleval_jscan_ws(s);
    if (plain_int(s, iv)) {
        *is_int = true;
        *dv = (double)*iv;
        return true;
    }
    return number(s, is_int, iv, dv, true);
}

/* The keys of one object, for the duplicate check: each key's bytes in keys,
 * found again by a hash of them (so a long object costs a compare per key, not
 * one per pair). */
struct key_seen {
    char keys[512];
    size_t used, n;
    uint32_t hash[64];
    uint16_t at[64];
};

/* A hash of key (n bytes with its NUL): of its three words when it is in a
 * zero-padded buffer of LLEVAL_JSCAN_KEY_SIZE bytes (n <= that), else FNV-1a
 * of its bytes. Equal keys have equal n, so they hash alike. */
static uint32_t key_hash(const char *key, size_t n)
{
    uint64_t w[3];
    uint32_t h = 2166136261u;
    if (n <= LLEVAL_JSCAN_KEY_SIZE) {
        memcpy(w, key, sizeof(w));
        w[0] = w[0] * 0x9E3779B97F4A7C15ULL ^ w[1] * 0xC2B2AE3D27D4EB4FULL ^
               w[2] * 0x165667B19E3779F9ULL;
        return (uint32_t)(w[0] >> 32) ^ (uint32_t)w[0];
    }
    for (size_t i = 0; i < n - 1; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return h;
}

/* Records key (n bytes with its NUL; zero-padded as key_hash() says); false
 * when it was seen in this object, or when the object has more keys than the
 * check holds (the caller gives up). */
static bool new_key(struct key_seen *ks, const char *key, size_t n)
{
    uint32_t h = key_hash(key, n);
    for (size_t i = 0; i < ks->n; i++)
        if (ks->hash[i] == h && !memcmp(ks->keys + ks->at[i], key, n))
            return false;
    if (ks->n == sizeof(ks->hash) / sizeof(*ks->hash) || sizeof(ks->keys) - ks->used < n)
        return false;
    memcpy(ks->keys + ks->used, key, n);
    ks->hash[ks->n] = h;
    ks->at[ks->n++] = (uint16_t)ks->used;
    ks->used += n;
    return true;
}

/* A short plain key (printable ASCII, no escapes) copied into key with its
 * NUL and zeros to LLEVAL_JSCAN_KEY_SIZE bytes (*n bytes with the NUL); false,
 * nothing consumed but white space, otherwise (key then all zeros). */
static bool fast_key(struct lleval_jscan *s, char key[LLEVAL_JSCAN_KEY_SIZE], size_t *n)
{
    const unsigned char *q;
    lleval_jscan_ws(s);
    if (s->p >= s->end || *s->p != '"')
        return false;
    q = s->p + 1;
#if defined(__SSE2__) && LLEVAL_JSCAN_KEY_SIZE == 24
    if (s->end - q >= 32) { /* the key and its closing quote lie in 24 bytes */
        unsigned bits = stops16(q) | stops16(q + 16) << 16;
        size_t k = bits ? (size_t)__builtin_ctz(bits) : 32;
        __m128i kk, lo, hi;
        if (k >= LLEVAL_JSCAN_KEY_SIZE || q[k] != '"') {
            memset(key, 0, LLEVAL_JSCAN_KEY_SIZE);
            return false;
        }
        /* the key's k bytes, zeros after them: each byte kept where its
         * index is below k */
        kk = _mm_set1_epi8((char)k);
        lo = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)q),
                           _mm_cmpgt_epi8(kk, _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                            12, 13, 14, 15)));
        hi = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(q + 16)),
                           _mm_cmpgt_epi8(kk, _mm_setr_epi8(16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
                                                            26, 27, 28, 29, 30, 31)));
        _mm_storeu_si128((__m128i *)(void *)key, lo);
        _mm_storel_epi64((__m128i *)(void *)(key + 16), hi);
        *n = k + 1;
        s->p = q + k + 1;
        return true;
    }
#endif
    memset(key, 0, LLEVAL_JSCAN_KEY_SIZE);
    for (; q < s->end && (size_t)(q - s->p) < LLEVAL_JSCAN_KEY_SIZE; q++) {
        if (*q == '"') {
            *n = (size_t)(q - s->p); /* the key's bytes + its NUL */
            memcpy(key, s->p + 1, *n - 1);
            s->p = q + 1;
            return true;
        }
        if (*q < 0x20 || *q >= 0x80 || *q == '\\')
            return false;
    }
    return false;
}

bool lleval_jscan_object(struct lleval_jscan *s, int depth, lleval_jscan_member_fn member)
{
    unsigned seen = 0;
    struct key_seen ks;
    ks.used = ks.n = 0;
    if (depth > LLEVAL_JSCAN_MAX_DEPTH || !lleval_jscan_eat(s, '{'))
        return false;
    if (lleval_jscan_eat(s, '}'))
        return true;
    for (;;) {
        char key[LLEVAL_JSCAN_KEY_SIZE];
        size_t at = s->out->len, n;
        bool ok;
        if (fast_key(s, key, &n)) {
            ok = true;
            if (s->unique && !new_key(&ks, key, n))
                return false;
        } else { /* key is all zeros */
            if (!lleval_jscan_str(s, s->out))
                return false;
            n = s->out->len - at;
            ok = n <= sizeof(key);
            if (ok)
                memcpy(key, s->out->buf + at, n);
            if (s->unique && !new_key(&ks, ok ? key : s->out->buf + at, n))
                return false;
            lleval_sb_setlen(s->out, at);
        }
        if (!lleval_jscan_eat(s, ':'))
            return false;
        if (!(ok ? member(s, key, &seen, depth + 1) : lleval_jscan_skip(s, depth + 1)))
            return false;
        switch (next_byte(s)) { /* one white-space skip for '}' or ',' */
        case '}':
            s->p++;
            return true;
        case ',':
            s->p++;
            break;
        default:
            return false;
        }
    }
}

static bool skip_member(struct lleval_jscan *s, const char *key, unsigned *seen, int depth)
{
    (void)key;
    (void)seen;
    return lleval_jscan_skip(s, depth);
}

/* Any JSON value, validated and dropped. */
bool lleval_jscan_skip(struct lleval_jscan *s, int depth)
{
    bool is_int;
    long long iv;
    double dv;
    lleval_jscan_ws(s);
    if (s->p >= s->end || depth > LLEVAL_JSCAN_MAX_DEPTH)
        return false;
    switch (*s->p) {
    case '{':
        return lleval_jscan_object(s, depth, skip_member);
    case '[':
        s->p++;
        if (lleval_jscan_eat(s, ']'))
            return true;
        for (;;) {
            if (!lleval_jscan_skip(s, depth + 1))
                return false;
            switch (next_byte(s)) {
            case ']':
                s->p++;
                return true;
            case ',':
                s->p++;
                break;
            default:
                return false;
            }
        }
    case '"':
        return lleval_jscan_str(s, NULL);
    case 't':
    case 'f':
    case 'n':
        return lleval_jscan_literal(s) != NULL;
    default:
        return plain_int(s, &iv) || number(s, &is_int, &iv, &dv, false);
    }
}

bool lleval_jscan_null(struct lleval_jscan *s)
{
    lleval_jscan_ws(s);
    if (s->end - s->p >= 4 && !memcmp(s->p, "null", 4)) {
        s->p += 4;
        return true;
    }
    return false;
}

bool lleval_jscan_end(struct lleval_jscan *s)
{
    lleval_jscan_ws(s);
    return s->p == s->end;
}

const char *lleval_jscan_literal(struct lleval_jscan *s)
{
    const char *w;
    size_t n;
    if (s->p >= s->end)
        return NULL;
    w = *s->p == 't' ? "true" : *s->p == 'f' ? "false" : *s->p == 'n' ? "null" : NULL;
    if (!w)
        return NULL;
    n = strlen(w);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
        return NULL;
    s->p += n;
    return w;
}
