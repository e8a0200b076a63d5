/*
 * Unit tests for the scanner's strings (lib/util/jscan.c): a string whose
 * special byte (an escape, a control character, a multibyte character, DEL,
 * a stray byte >= 0x80) stands at every offset of a run of plain bytes, so
 * both the 8-byte word test and the byte loop meet it, reads as jansson
 * reads it (the same bytes, or refused where jansson refuses).
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/jscan.h"
#include "lleval/util/util.h"

static void same_as_jansson(const char *text, size_t len)
{
    struct lleval_sb out = LLEVAL_SB_INIT;
    struct lleval_jscan s;
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    bool ok;
    memset(&s, 0, sizeof(s));
    s.p = (const unsigned char *)text;
    s.end = s.p + len;
    s.out = &out;
    ok = lleval_jscan_str(&s, &out) && lleval_jscan_end(&s);
    if (j && json_is_string(j)) {
        assert_true(ok);
        assert_int_equal(out.len - 1, json_string_length(j)); /* out holds a NUL too */
        assert_memory_equal(out.buf, json_string_value(j), json_string_length(j));
    } else {
        assert_false(ok);
    }
    json_decref(j);
    lleval_sb_release(&out);
}

static void test_special_at_every_offset(void **state)
{
    static const char *const specials[] = {"\\n",      "\\\"",     "\\\\",           "\\u00e9",
                                           "\xc3\xa9", "\x7f",     "\x01",           "\x1f",
                                           "\xff",     "\xe2\x82", "\\ud83d\\ude00", "\\x"};
    (void)state;
    for (size_t k = 0; k < sizeof specials / sizeof *specials; k++)
        for (size_t before = 0; before < 40; before++)
            for (size_t after = 0; after < 12; after++) {
                struct lleval_sb t = LLEVAL_SB_INIT;
                lleval_sb_addch(&t, '"');
                for (size_t i = 0; i < before; i++)
                    lleval_sb_addch(&t, (char)('a' + i % 26));
                lleval_sb_adds(&t, specials[k]);
                for (size_t i = 0; i < after; i++)
                    lleval_sb_addch(&t, (char)('A' + i % 26));
                lleval_sb_addch(&t, '"');
                same_as_jansson(t.buf, t.len);
                /* cut short: no closing quote */
                same_as_jansson(t.buf, t.len - 1);
                lleval_sb_release(&t);
            }
}

static void test_plain_bytes(void **state)
{
    /* every printable ASCII byte but the two specials, at every offset of a word */
    (void)state;
    for (int c = 0x20; c < 0x7f; c++) {
        if (c == '"' || c == '\\')
            continue;
        for (size_t at = 0; at < 37; at++) {
            char text[48];
            size_t n = 0;
            text[n++] = '"';
            for (size_t i = 0; i < 37; i++)
                text[n++] = i == at ? (char)c : 'x';
            text[n++] = '"';
            same_as_jansson(text, n);
        }
    }
}

/* The scanner's value of the number text (whole) against strtod/strtoll and
 * jansson: bit for bit, the same integer/real split. */
static void num_same(const char *text)
{
    struct lleval_sb out = LLEVAL_SB_INIT;
    struct lleval_jscan s;
    bool is_int = false;
    long long iv = 0;
    double dv = 0;
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    bool ok;
    memset(&s, 0, sizeof(s));
    s.p = (const unsigned char *)text;
    s.end = s.p + strlen(text);
    s.out = &out;
    ok = lleval_jscan_num(&s, &is_int, &iv, &dv) && lleval_jscan_end(&s);
    if (!ok) { /* the scanner may give up (jansson decides), never on a plain value */
        assert_true(!j || strlen(text) > 64 || json_is_integer(j));
    } else if (is_int) {
        assert_non_null(j);
        assert_true(json_is_integer(j));
        assert_int_equal(iv, json_integer_value(j));
        assert_int_equal(iv, strtoll(text, NULL, 10));
    } else {
        double want = strtod(text, NULL);
        assert_non_null(j);
        assert_true(json_is_real(j));
        if (memcmp(&dv, &want, sizeof dv) || json_real_value(j) != dv) {
            fprintf(stderr, "%s: scanner %.17g, strtod %.17g\n", text, dv, want);
            fail();
        }
    }
    json_decref(j);
    lleval_sb_release(&out);
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void test_numbers(void **state)
{
    static const char *const edge[] = {
        "0", "-0", "0.0", "-0.0", "0e5", "-0E-5", "1", "-1", "123456789012345678",
        "-123456789012345678", "1234567890123456789", "0.1", "0.5", "-2.5", "1e22", "1e23", "1e-22",
        "1e-23", "9007199254740992.0", "9007199254740993.0", "9007199254740994.5",
        "4503599627370497.5", "0.30000000000000004", "123.456e-3", "1.7976931348623157e308",
        "2.2250738585072014e-308", "4.9e-324", "1e400", "-1e400", "0.000000000000000000001",
        "12345678901234567890.5", "1.00000000000000000000000001", "3.14159", "100e-2", "1E+2",
        "1e+0022", "5e-324", "0.1e1", "1.5", "2.675", "1.005", "8.5e15",
        /* plain_int()'s ends: a leading zero, 18 and 19
         * digits, a point or exponent after the digits */
        "01", "00", "0e", "0.", "0E1", "7e", "7.", "999999999999999999", "1000000000000000000",
        "9999999999999999999", "123456789012345678.5", "123456789012345678e0"};
    char text[80];
    (void)state;
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        num_same(edge[i]);
    for (int i = 0; i < 200000; i++) {
        /* a random mantissa of 1..20 digits, a point somewhere, sometimes an exponent */
        int nd = 1 + (int)(rnd() % 20), point = (int)(rnd() % (unsigned)(nd + 1));
        size_t n = 0;
        if (rnd() & 1)
            text[n++] = '-';
        for (int d = 0; d < nd; d++) {
            if (d == point && d > 0)
                text[n++] = '.';
            text[n++] = (char)('0' + rnd() % 10);
        }
        if (rnd() % 3 == 0)
            n += (size_t)snprintf(text + n, sizeof text - n, "e%d", (int)(rnd() % 61) - 30);
        text[n] = '\0';
        if (text[0 + (text[0] == '-')] == '0' && text[1 + (text[0] == '-')] >= '0' &&
            text[1 + (text[0] == '-')] <= '9')
            continue; /* a leading zero: not JSON */
        num_same(text);
    }
    for (int i = 0; i < 100000; i++) { /* doubles printed at every precision */
        uint64_t bits = rnd();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        if (i % 2)
            v = (double)(rnd() % 100000000) / (double)(1 + rnd() % 100000);
        snprintf(text, sizeof text, "%.*g", 1 + (int)(rnd() % 17), v);
        if (!strpbrk(text, ".e"))
            strcat(text, ".0");
        num_same(text);
    }
    for (int i = 0; i < 100000; i++) {
        /* the midpoint of two neighbouring doubles written out exactly, which
         * rounds to the even one, and its last digit one up and one down
         * (the 128-bit path's ties, 17 to 19 digits): (2k+1) * 2^(j-1) */
        uint64_t k = (1ULL << 52) + rnd() % (1ULL << 52), odd = 2 * k + 1;
        int j = (int)(rnd() % 11) - 2;
        char *last;
        if (j >= 1) {
            snprintf(text, sizeof text, "%llu.0", (unsigned long long)(odd << (j - 1)));
        } else {
            unsigned fb = (unsigned)(1 - j); /* fraction bits: 1 to 3 */
            uint64_t frac = (odd & ((1ULL << fb) - 1)) * (fb == 1 ? 5 : fb == 2 ? 25 : 125);
            snprintf(text, sizeof text, "%llu.%0*llu", (unsigned long long)(odd >> fb), (int)fb,
                     (unsigned long long)frac);
        }
        num_same(text);
        last = text + strlen(text) - 1;
        if (*last < '9') {
            ++*last;
            num_same(text);
            --*last;
        }
        if (*last > '0') {
            --*last;
            num_same(text);
        }
    }
#if defined(__SIZEOF_INT128__)
    {
        /* 0.<19 digits>: the quotient of the digits, shifted to the top of 128
         * bits, by 10^19 made to end in exactly half of its last kept bit with
         * a remainder left (which rounds up, where a tie would go to even) */
        __extension__ typedef unsigned __int128 u128;
        const uint64_t d = 10000000000000000000ULL;
        int hits = 0;
        for (int i = 0; i < 20000; i++) {
            uint64_t n = (1ULL << 63) + rnd() % (d - (1ULL << 63)), hi;
            u128 q = ((u128)n << 64) / d, want, num;
            int len, cut;
            hi = (uint64_t)(q >> 64);
            len = hi ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll((uint64_t)q);
            cut = len - 53;
            want = (q >> cut << cut) | ((u128)1 << (cut - 1));
            num = want * d + d / 2; /* a remainder of about d / 2 */
            n = (uint64_t)(num >> 64) + 1;
            if (n < (1ULL << 63) || n >= d || ((u128)n << 64) / d != want ||
                ((u128)n << 64) % d == 0)
                continue;
            snprintf(text, sizeof text, "0.%019llu", (unsigned long long)n);
            num_same(text);
            hits++;
        }
        assert_true(hits > 100);
    }
#endif
    for (int i = 0; i < 100000; i++) { /* 17 to 19 digits, exponents about 10^-19 and 10^19 */
        unsigned long long m = 10000000000000000ULL + rnd() % 9990000000000000000ULL;
        int nd, point, e = (int)(rnd() % 51) - 25;
        char digits[24];
        size_t n = 0;
        nd = snprintf(digits, sizeof digits, "%llu", m);
        point = 1 + (int)(rnd() % (unsigned)nd);
        for (int d = 0; d < nd; d++) {
            if (d == point)
                text[n++] = '.';
            text[n++] = digits[d];
        }
        snprintf(text + n, sizeof text - n, "%s%d", point == nd ? ".0e" : "e", e);
        num_same(text);
    }
}

/* What the key callback saw: each key, and whether its padding was zero. */
struct key_log {
    struct lleval_jscan js;
    char keys[8][64];
    size_t n;
    bool padded;
};

static bool log_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct key_log *kl = (struct key_log *)j;
    size_t len = strlen(key);
    (void)seen;
    assert_true(len < LLEVAL_JSCAN_KEY_SIZE);
    for (size_t i = len; i < LLEVAL_JSCAN_KEY_SIZE; i++)
        kl->padded = kl->padded && key[i] == '\0';
    if (kl->n < 8)
        snprintf(kl->keys[kl->n++], sizeof kl->keys[0], "%s", key);
    assert_true(LLEVAL_JSCAN_KEY_IS(key, "content") == !strcmp(key, "content"));
    assert_true(LLEVAL_JSCAN_KEY_IS(key, "a") == !strcmp(key, "a"));
    return lleval_jscan_skip(j, depth);
}

/* An object of two members whose first key is key (as written in JSON), with
 * pad bytes of white space after the object: the callback sees what jansson
 * reads, or nothing for keys of 24 bytes and more; unique finds a repeat. */
static void key_same(const char *key, size_t pad, bool unique)
{
    struct lleval_sb out = LLEVAL_SB_INIT, t = LLEVAL_SB_INIT;
    struct key_log kl;
    json_t *j;
    const char *k;
    json_t *v;
    bool ok;
    lleval_sb_addf(&t, "{\"%s\":1,\"b\":[2]}", key);
    for (size_t i = 0; i < pad; i++)
        lleval_sb_addch(&t, ' ');
    j = json_loadb(t.buf, t.len, 0, NULL);
    memset(&kl, 0, sizeof(kl));
    kl.padded = true;
    kl.js.p = (const unsigned char *)t.buf;
    kl.js.end = kl.js.p + t.len;
    kl.js.out = &out;
    kl.js.unique = unique;
    ok = lleval_jscan_object(&kl.js, 0, log_member) && lleval_jscan_end(&kl.js);
    if (!j) {
        assert_false(ok);
    } else if (json_object_size(j) == 1) { /* the key was "b": a repeat */
        if (unique)
            assert_false(ok);
    } else {
        size_t seen = 0;
        assert_true(ok);
        assert_true(kl.padded);
        json_object_foreach(j, k, v) /* jansson keeps the members' order */
        {
            (void)v;
            if (strlen(k) < LLEVAL_JSCAN_KEY_SIZE)
                assert_string_equal(kl.keys[seen++], k);
        }
        assert_int_equal(seen, kl.n);
    }
    json_decref(j);
    lleval_sb_release(&t);
    lleval_sb_release(&out);
}

static void test_keys(void **state)
{
    char key[80];
    (void)state;
    for (size_t len = 0; len < 40; len++)
        for (size_t pad = 0; pad < 40; pad += 3) {
            for (size_t i = 0; i < len; i++)
                key[i] = (char)('a' + i % 26);
            key[len] = '\0';
            key_same(key, pad, false);
            key_same(key, pad, true);
            if (len) { /* an escape, a multibyte character, a control byte at the end */
                static const char *const tails[] = {"\\u0041", "\\n", "\xc3\xa9", "\x01", "\\\""};
                for (size_t t = 0; t < sizeof tails / sizeof *tails; t++) {
                    snprintf(key + len - 1, sizeof key - len + 1, "%s", tails[t]);
                    key_same(key, pad, false);
                    key_same(key, pad, true);
                }
            }
        }
    key_same("\\u0062", 40, true); /* "b" written another way: a repeat */
    key_same("\\u0062", 0, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_at_every_offset),
        cmocka_unit_test(test_plain_bytes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
