/*
 * Unit tests for the JSON writer (lib/util/jwrite.c): strings, numbers,
 * booleans and objects come out byte for byte as lleval_json_dump_sb()
 * (jansson) writes the same values, over fixed cases and 20,000 random
 * strings and reals; bytes that are not UTF-8 become U+FFFD and the line
 * still parses. Reals are written without printf where their digits can be
 * computed exactly: that path is checked against jansson (printf) at every
 * precision on random bits, measured-time-like values, powers of ten and
 * their neighbours, and exact ties (which it leaves to printf).
 */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/json.h"
#include "lleval/util/jwrite.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

/* jansson's text of j, owned by the caller */
static char *dumped(json_t *j)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    assert_int_equal(lleval_json_dump_sb(j, &sb), 0);
    json_decref(j);
    return lleval_sb_detach(&sb, NULL);
}

static void same_string(const char *s, size_t len)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char *want = dumped(json_stringn(s, len));
    lleval_jw_strn(&sb, s, len);
    assert_string_equal(sb.buf, want);
    free(want);
    lleval_sb_release(&sb);
}

/* The same text as jansson's, or (on Windows, where jansson and lleval are
 * built with two C runtimes' printf) the other rounding of an exact tie at
 * the 15th digit: both then lie exactly as far from v, on either side. */
/*
 * True when v lies exactly halfway between two numbers of prec significant
 * digits: its exact decimal value has prec + 1 significant digits, the last
 * a 5. Two C runtimes may round such a tie apart (Windows: jansson's DLL and
 * lleval print through different ones), and only such a tie. Computed from
 * the double's bits (v = m * 2^e = m * 5^-e / 10^-e), not with printf;
 * values whose exact decimal does not fit 128 bits have far more digits than
 * any tie at 17 and are not ties.
 */
__extension__ typedef unsigned __int128 u128;

static bool exact_tie(double v, int prec)
{
    char d[48];
    int e, len = 0, lo = 0;
    uint64_t m;
    u128 n;
    if (!isfinite(v) || v == 0)
        return false;
    m = (uint64_t)ldexp(frexp(fabs(v), &e), 53);
    e -= 53;
    while (!(m & 1)) {
        m >>= 1;
        e++;
    }
    if (e >= 0) {
        if (e > 74)
            return false;
        n = (u128)m << e;
    } else {
        if (e < -25)
            return false;
        n = m;
        for (int i = 0; i < -e; i++)
            n *= 5;
    }
    while (n) {
        d[len++] = (char)('0' + (int)(n % 10));
        n /= 10;
    }
    while (lo < len && d[lo] == '0')
        lo++;
    return len - lo == prec + 1 && d[lo] == '5';
}

static void same_real(double v)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char *want = dumped(json_real(v));
    lleval_jw_real(&sb, v);
    if (strcmp(sb.buf, want) &&
        !exact_tie(v, 15)) /* lleval_json_dump_sb: JSON_REAL_PRECISION(15) */
        assert_string_equal(sb.buf, want);
    free(want);
    lleval_sb_release(&sb);
}

static void test_strings(void **state)
{
    static const char *const cases[] = {
        "",
        "plain",
        "quote\" back\\slash /slash",
        "\b\f\n\r\t",
        "\x01\x1f\x7f",
        "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80",
        "<script>&amp;</script>",
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        same_string(cases[i], strlen(cases[i]));
    same_string("nul\0inside", 10);
}

static void test_random_strings(void **state)
{
    /* random text from a small alphabet of plain, escaped and multibyte pieces */
    static const char *const pieces[] = {"a",
                                         "Z",
                                         " ",
                                         "\"",
                                         "\\",
                                         "\n",
                                         "\x02",
                                         "\x1f",
                                         "\xc3\xa9",
                                         "\xe4\xb8\xad",
                                         "\xf0\x9f\x98\x80",
                                         "/",
                                         "\x7f"};
    unsigned seed = 12345;
    (void)state;
    for (int n = 0; n < 10000; n++) {
        struct lleval_sb s = LLEVAL_SB_INIT;
        int k = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;
        for (int i = 0; i < k; i++) {
            seed = seed * 1103515245u + 12345u;
            lleval_sb_adds(&s, pieces[(seed >> 16) % (sizeof pieces / sizeof *pieces)]);
        }
        same_string(s.buf, s.len);
        lleval_sb_release(&s);
    }
}

static void test_not_utf8(void **state)
{
    static const char bad[] = "a\xff"
                              "b\xc3"
                              "\xe2\x80"
                              "c\xed\xa0\x80";
    struct lleval_sb sb = LLEVAL_SB_INIT;
    json_error_t jerr;
    (void)state;
    lleval_jw_strn(&sb, bad, sizeof bad - 1);
    json_t *j = json_loadb(sb.buf, sb.len, JSON_DECODE_ANY, &jerr);
    assert_non_null(j);
    const char *got = json_string_value(j);
    assert_non_null(got);
    assert_int_equal(strncmp(got,
                             "a\xEF\xBF\xBD"
                             "b",
                             5),
                     0);
    for (const char *p = got; *p; p += lleval_utf8_seq(p, strlen(p)))
        assert_true(lleval_utf8_seq(p, strlen(p)) > 0);
    json_decref(j);
    lleval_sb_release(&sb);
}

static void test_reals(void **state)
{
    static const double cases[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   0.1,
                                   0.5,
                                   2.5,
                                   100.0,
                                   1e15,
                                   1e16,
                                   1e20,
                                   1e-5,
                                   1e-7,
                                   1.5e-300,
                                   1e300,
                                   123456789012345678.0,
                                   3.14159265358979,
                                   DBL_MAX,
                                   DBL_MIN,
                                   4.9e-324,
                                   0.30000000000000004};
    uint64_t seed = 99;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        same_real(cases[i]);
    for (int n = 0; n < 10000; n++) {
        double v;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        memcpy(&v, &seed, sizeof v);
        if (isfinite(v))
            same_real(v);
        same_real((double)(seed >> 40) / 1000.0);
    }
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_jw_real(&sb, NAN);
    lleval_jw_real(&sb, INFINITY);
    assert_string_equal(sb.buf, "nullnull");
    lleval_sb_release(&sb);
}

static void test_object(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    bool first = true;
    json_t *o = json_object();
    (void)state;
    json_object_set_new(o, "id", json_string("q-1"));
    json_object_set_new(o, "n", json_integer(-9223372036854775807LL - 1));
    json_object_set_new(o, "m", json_integer(42));
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "no", json_false());
    json_object_set_new(o, "x", json_null());
    json_object_set_new(o, "t", json_real(0.25));
    json_object_set_new(o, "k\"ey", json_string(""));
    char *want = dumped(o);
    lleval_sb_addch(&sb, '{');
    lleval_jw_key(&sb, &first, "id");
    lleval_jw_str(&sb, "q-1");
    lleval_jw_key(&sb, &first, "n");
    lleval_jw_int(&sb, -9223372036854775807LL - 1);
    lleval_jw_key(&sb, &first, "m");
    lleval_jw_int(&sb, 42);
    lleval_jw_key(&sb, &first, "ok");
    lleval_jw_bool(&sb, true);
    lleval_jw_key(&sb, &first, "no");
    lleval_jw_bool(&sb, false);
    lleval_jw_key(&sb, &first, "x");
    lleval_jw_str(&sb, NULL);
    lleval_jw_key(&sb, &first, "t");
    lleval_jw_real(&sb, 0.25);
    lleval_jw_key(&sb, &first, "k\"ey");
    lleval_jw_str(&sb, "");
    lleval_sb_addch(&sb, '}');
    assert_string_equal(sb.buf, want);
    free(want);
    lleval_sb_release(&sb);
}

/* lleval_jw_real_prec(17) writes what json_dumps() writes without a precision
 * (the report's explorer kept that text). */
static void test_real_prec(void **state)
{
    static const double cases[] = {0.0,  -0.0, 1.0,  0.3,     0.75 - 1e-16, 2.0 / 3.0, 128.0,
                                   1e20, 1e-7, -2.5, 123.456, 1e300,        5e-324,    0.1};
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        json_t *j = json_real(cases[i]);
        char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        lleval_jw_real_prec(&sb, cases[i], 17);
        assert_string_equal(sb.buf, want);
        free(want);
        json_decref(j);
        lleval_sb_release(&sb);
    }
}

/* lleval_jw_real_prec(v, prec) against jansson's JSON_REAL_PRECISION(prec),
 * with same_real()'s allowance for an exact tie on Windows. */
static void same_real_prec(double v, int prec)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    json_t *j = json_real(v);
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(prec));
    lleval_jw_real_prec(&sb, v, prec);
    if (strcmp(sb.buf, want) && !exact_tie(v, prec)) {
        fprintf(stderr, "%.17g at %d: %s, jansson %s\n", v, prec, sb.buf, want);
        assert_string_equal(sb.buf, want);
    }
    free(want);
    json_decref(j);
    lleval_sb_release(&sb);
}

/* The tie test above, on known ties and their neighbours (so the allowance
 * cannot hide a real difference). */
static void test_exact_tie(void **state)
{
    (void)state;
    assert_true(exact_tie(743673698816501.25, 16));  /* met under Wine: ...501.2 / .3 */
    assert_false(exact_tie(743673698816501.25, 17)); /* exact at 17 digits */
    assert_false(exact_tie(743673698816501.25, 15));
    assert_false(exact_tie(nextafter(743673698816501.25, 0), 16));
    assert_true(exact_tie(0.125, 2));
    assert_true(exact_tie(-2.5, 1));
    assert_true(exact_tie(125.0, 2));
    assert_false(exact_tie(125.0, 3));
    assert_false(exact_tie(0.1, 1)); /* 0.1000000000000000055...: not a tie */
    assert_false(exact_tie(2.675, 3));
    assert_false(exact_tie(0.0, 1));
    assert_false(exact_tie(NAN, 1));
    assert_false(exact_tie(1e300, 17));
}

static void test_real_exact_digits(void **state)
{
    static const double cases[] = {0.125,
                                   0.375,
                                   2.5,
                                   1.5,
                                   0.5,
                                   1e15,
                                   999999999999999.5,
                                   9.9999999999999995,
                                   99.5,
                                   0.95,
                                   9.5,
                                   1234567.125,
                                   0.0001,
                                   0.00001,
                                   1e-4,
                                   9.99999999999999e-5,
                                   1e14,
                                   1e16,
                                   1e17,
                                   1e21,
                                   1e22,
                                   1e23,
                                   1e38,
                                   1e39,
                                   5e-5,
                                   1765150000.123456,
                                   1765150000.5,
                                   0.1,
                                   0.2,
                                   0.7,
                                   1.0 / 3,
                                   2.0 / 3,
                                   123.456,
                                   4503599627370496.5,
                                   9007199254740992.0,
                                   9007199254740993.0,
                                   1e-7,
                                   1.0000000000000002,
                                   0.9999999999999999,
                                   2.675,
                                   1.005,
                                   65536.0,
                                   1e-22,
                                   1.7e-23};
    uint64_t seed = 7;
    (void)state;
    for (int prec = 1; prec <= 17; prec++) {
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            same_real_prec(cases[i], prec);
            same_real_prec(-cases[i], prec);
            same_real_prec(nextafter(cases[i], 0), prec);
            same_real_prec(nextafter(cases[i], INFINITY), prec);
        }
        for (int p10 = -30; p10 <= 40; p10++) { /* around every power of ten */
            double t = pow(10, p10);
            same_real_prec(t, prec);
            same_real_prec(nextafter(t, 0), prec);
            same_real_prec(nextafter(t, INFINITY), prec);
            same_real_prec(t * (1 - 5e-16), prec);
        }
        for (int n = 0; n < 6000; n++) {
            double v;
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            memcpy(&v, &seed, sizeof v);
            if (isfinite(v))
                same_real_prec(v, prec);
            /* times in ms (ns / 1e6), rates, epoch seconds, exact halves */
            same_real_prec((double)(seed >> 30) / 1e6, prec);
            same_real_prec((double)(seed >> 50) / ((double)(seed >> 54) + 0.001), prec);
            same_real_prec(1.7e9 + (double)(seed >> 44) / 1e6, prec);
            same_real_prec((double)(seed >> 20) / 1024.0, prec);
            same_real_prec(ldexp((double)(seed >> 11), (int)(seed % 200) - 150), prec);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),   cmocka_unit_test(test_random_strings),
        cmocka_unit_test(test_not_utf8),  cmocka_unit_test(test_reals),
        cmocka_unit_test(test_object),    cmocka_unit_test(test_real_prec),
        cmocka_unit_test(test_exact_tie), cmocka_unit_test(test_real_exact_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
