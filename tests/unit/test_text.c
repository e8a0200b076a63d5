/*
 * Tests for lib/util/text.c: UTF-8 sequence lengths (valid, invalid,
 * truncated), decode and encode, display width (ASCII, CJK, combining marks,
 * bad bytes), cuts that never split a sequence, and the HTML, Markdown and
 * CSV escapers (the HTML and Markdown tables moved here from test_report.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

#define ATTACK "<script>alert(1)</script>\"><img src=x onerror=alert(1)>"
#define ATTACK_HTML                                                                                \
    "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"

/* ---- UTF-8 ---- */

struct seq_case {
    const char *in;
    size_t left, want;
};

static void test_utf8_seq(void **state)
{
    static const struct seq_case cases[] = {
        {"a", 1, 1},
        {"", 1, 1}, /* NUL is ASCII */
        {"\xC3\xA9", 2, 2},
        {"\xE2\x82\xAC", 3, 3},
        {"\xF0\x9F\x98\x80", 4, 4},
        {"\xE2\x82\xACzz", 5, 3},   /* only the first sequence */
        {"\xFF", 1, 0},             /* never a lead byte */
        {"\x80", 1, 0},             /* a stray continuation byte */
        {"\xC0\xAF", 2, 0},         /* overlong */
        {"\xC3", 1, 0},             /* truncated by the end of the buffer */
        {"\xE2\x82", 2, 0},         /* truncated */
        {"\xF0\x9F\x98\x80", 3, 0}, /* left says the sequence is cut */
        {"\xE2\x28\xA1", 3, 0},     /* a bad continuation byte */
        {"\xED\xA0\x80", 3, 0},     /* a surrogate */
        {"\xF4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"\xF5\x80\x80\x80", 4, 0},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        size_t got = lleval_utf8_seq(cases[i].in, cases[i].left);
        if (got != cases[i].want)
            fail_msg("case %zu: lleval_utf8_seq = %zu, want %zu", i, got, cases[i].want);
    }
}

static void test_utf8_decode_encode(void **state)
{
    static const int32_t cps[] = {0x41,   0x7F,   0x80,   0xE9,    0x7FF,   0x800,
                                  0x20AC, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF};
    int32_t cp = -1;
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cps); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        size_t n;
        lleval_utf8_encode(&sb, cps[i]);
        assert_true(lleval_utf8_valid(sb.buf, sb.len, NULL));
        assert_int_equal(sb.len, cps[i] < 0x80 ? 1 : cps[i] < 0x800 ? 2 : cps[i] < 0x10000 ? 3 : 4);
        n = lleval_utf8_decode(sb.buf, sb.len, &cp);
        assert_int_equal(n, sb.len);
        assert_int_equal(cp, cps[i]);
        lleval_sb_release(&sb);
    }
    /* bad code points encode as U+FFFD */
    {
        static const int32_t bad[] = {-1, 0xD800, 0xDFFF, 0x110000};
        for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bad); i++) {
            struct lleval_sb sb = LLEVAL_SB_INIT;
            lleval_utf8_encode(&sb, bad[i]);
            assert_string_equal(sb.buf, LLEVAL_UTF8_REPLACEMENT);
            lleval_sb_release(&sb);
        }
    }
    /* a bad byte decodes as U+FFFD and uses one byte; nothing is read past left */
    assert_int_equal(lleval_utf8_decode("\xFF"
                                        "a",
                                        2, &cp),
                     1);
    assert_int_equal(cp, 0xFFFD);
    assert_int_equal(lleval_utf8_decode("\xE2\x82\xAC", 2, &cp), 1);
    assert_int_equal(cp, 0xFFFD);
    cp = 7;
    assert_int_equal(lleval_utf8_decode("a", 0, &cp), 0);
    assert_int_equal(cp, 7);
}

static void test_utf8_copy(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    (void)state;
    assert_int_equal(lleval_utf8_copy(&sb, "\xE2\x82\xAC!", 4), 3);
    assert_int_equal(lleval_utf8_copy(&sb, "\xC3", 1), 1);
    assert_int_equal(lleval_utf8_copy(&sb, "x", 1), 1);
    assert_string_equal(sb.buf, "\xE2\x82\xAC" LLEVAL_UTF8_REPLACEMENT "x");
    lleval_sb_release(&sb);
}

struct width_case {
    const char *in;
    size_t want;
};

static void test_utf8_width(void **state)
{
    static const struct width_case cases[] = {
        {"", 0},
        {"abc", 3},
        {"caf\xC3\xA9", 4},              /* precomposed e acute */
        {"cafe\xCC\x81", 4},             /* e + combining acute: 0 columns */
        {"\xE6\xBC\xA2\xE5\xAD\x97", 4}, /* two CJK ideographs, 2 each */
        {"a\xE6\xBC\xA2"
         "b",
         4},
        {"\xEF\xBC\xA1", 2}, /* FULLWIDTH LATIN CAPITAL LETTER A */
        {"\xEF\xBD\xB1", 1}, /* HALFWIDTH KATAKANA LETTER A */
        {"\xFF"
         "ab",
         3},                 /* a bad byte shows as one U+FFFD */
        {"\xE2\x82", 2},     /* a cut sequence: two bad bytes */
        {"\xE2\x82\xAC", 1}, /* euro sign */
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        size_t got = lleval_utf8_width(cases[i].in);
        if (got != cases[i].want)
            fail_msg("case %zu \"%s\": width %zu, want %zu", i, cases[i].in, got, cases[i].want);
    }
    assert_int_equal(lleval_utf8_width(NULL), 0);
    assert_int_equal(lleval_utf8_width_n("abcdef", 2), 2);
}

/* Every prefix a cut returns is whole characters: never a split sequence. */
static void assert_cut_ok(const char *s, size_t len, size_t cut, size_t max)
{
    if (cut > len || (cut < len && cut > max))
        fail_msg("cut %zu of %zu bytes (max %zu)", cut, len, max);
    if (cut < len && ((unsigned char)s[cut] & 0xC0) == 0x80)
        fail_msg("cut %zu splits a sequence (max %zu)", cut, max);
}

static void test_utf8_cut(void **state)
{
    /* ASCII, 2-, 3- and 4-byte sequences, a bad byte */
    static const char s[] = "ab\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xFF"
                            "z";
    size_t len = strlen(s);
    (void)state;
    assert_int_equal(lleval_utf8_cut("ab\xE2\x82\xAC", 5, 3), 2);
    assert_int_equal(lleval_utf8_cut("ab\xE2\x82\xAC", 5, 4), 2);
    assert_int_equal(lleval_utf8_cut("ab\xE2\x82\xAC", 5, 5), 5);
    assert_int_equal(lleval_utf8_cut("ab\xE2\x82\xAC", 5, 99), 5);
    assert_int_equal(lleval_utf8_cut("abc", 3, 0), 0);
    for (size_t max = 0; max <= len + 1; max++) {
        size_t cut = lleval_utf8_cut(s, len, max);
        assert_cut_ok(s, len, cut, max);
        assert_true(lleval_utf8_valid(s, cut < 11 ? cut : 11, NULL) || cut > 11);
        /* as much as fits: one more character would pass max */
        if (cut < len)
            assert_true(cut + lleval_utf8_seq(s + cut, len - cut) > max ||
                        !lleval_utf8_seq(s + cut, len - cut));
    }
    /* by characters */
    assert_int_equal(lleval_utf8_cut_chars(s, len, 0), 0);
    assert_int_equal(lleval_utf8_cut_chars(s, len, 3), 4);  /* a b e-acute */
    assert_int_equal(lleval_utf8_cut_chars(s, len, 4), 7);  /* + euro */
    assert_int_equal(lleval_utf8_cut_chars(s, len, 5), 11); /* + emoji */
    assert_int_equal(lleval_utf8_cut_chars(s, len, 6), 12); /* + the bad byte */
    assert_int_equal(lleval_utf8_cut_chars(s, len, 99), len);
    for (size_t max = 0; max <= 8; max++)
        assert_cut_ok(s, len, lleval_utf8_cut_chars(s, len, max), len);
    /* by display width: a wide character that does not fit stays out */
    {
        static const char cjk[] = "\xE6\xBC\xA2\xE5\xAD\x97"
                                  "a";           /* 2 + 2 + 1 columns */
        static const char comb[] = "e\xCC\x81x"; /* 1 + 0 + 1 */
        assert_int_equal(lleval_utf8_cut_width(cjk, 7, 0), 0);
        assert_int_equal(lleval_utf8_cut_width(cjk, 7, 1), 0);
        assert_int_equal(lleval_utf8_cut_width(cjk, 7, 2), 3);
        assert_int_equal(lleval_utf8_cut_width(cjk, 7, 3), 3);
        assert_int_equal(lleval_utf8_cut_width(cjk, 7, 4), 6);
        assert_int_equal(lleval_utf8_cut_width(cjk, 7, 5), 7);
        assert_int_equal(lleval_utf8_cut_width(comb, 4, 1), 3); /* the mark stays with its e */
        for (size_t max = 0; max <= 6; max++) {
            size_t cut = lleval_utf8_cut_width(cjk, 7, max);
            assert_cut_ok(cjk, 7, cut, 7);
            assert_true(lleval_utf8_width_n(cjk, cut) <= max);
        }
    }
}

/* ---- escaping ---- */

struct esc_case {
    const char *in, *want;
};

static void test_html_escape(void **state)
{
    static const struct esc_case cases[] = {
        {"plain text", "plain text"},
        {"a&b<c>\"d'e", "a&amp;b&lt;c&gt;&quot;d&#39;e"},
        {ATTACK, ATTACK_HTML},
        {"&amp;", "&amp;amp;"},
        {"line1\nline2\ttab", "line1\nline2\ttab"},
        {"caf\xC3\xA9 \xE2\x82\xAC", "caf\xC3\xA9 \xE2\x82\xAC"},
        {"bad \xFF byte", "bad \xEF\xBF\xBD byte"},
        {"cut \xE2\x82", "cut \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"overlong \xC0\xAF", "overlong \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"ctl \x01\x7F", "ctl \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"", ""},
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate: three bad bytes */
        {"\xE6\xBC\xA2<\xE5\xAD\x97>", "\xE6\xBC\xA2&lt;\xE5\xAD\x97&gt;"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_html_escape(&sb, cases[i].in);
        assert_string_equal(sb.buf, cases[i].want);
        lleval_sb_release(&sb);
    }
    {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_html_escape(&sb, NULL);
        assert_int_equal(sb.len, 0);
        /* the _n form stops at len and turns a NUL inside it into U+FFFD */
        lleval_html_escape_n(&sb, "a\0<b", 3);
        assert_string_equal(sb.buf, "a\xEF\xBF\xBD&lt;");
        lleval_sb_release(&sb);
    }
}

static void test_md_escape(void **state)
{
    /* Every Markdown construct in data renders as its own text: escaped with
     * a backslash (CommonMark allows it before any ASCII punctuation), < as
     * &lt;. Before issue 9 only ` | < were escaped and * _ [ ] ( ) ! passed
     * through, so images, links and emphasis from model output rendered. */
    static const struct esc_case cases[] = {
        {"plain", "plain"},
        {"a|b", "a\\|b"},
        {"two\nlines\r\nand\ttab", "two lines  and tab"},
        {"<script>x</script>", "&lt;script\\>x&lt;/script\\>"},
        {"`code`", "\\`code\\`"},
        {"keep \\n as written", "keep \\\\n as written"},
        {"escaped \\| pipe", "escaped \\\\\\| pipe"},
        {"ctl\x01\x1b[31m", "ctl\\[31m"},
        {"c1 \xC2\x9B"
         "31m",
         "c1 31m"},
        {"bad \xFF", "bad \xEF\xBF\xBD"},
        {"sample_closed -> 1024", "sample\\_closed \\-\\> 1024"},
        {"*a* _b_ [c](d)", "\\*a\\* \\_b\\_ \\[c\\]\\(d\\)"},
        {"![x](http://evil/x.png)", "\\!\\[x\\]\\(http\\://evil/x\\.png\\)"},
        {"[a](javascript:alert(1))", "\\[a\\]\\(javascript\\:alert\\(1\\)\\)"},
        {"<http://evil>", "&lt;http\\://evil\\>"},
        {"www.evil.com a@b.c", "www\\.evil\\.com a\\@b\\.c"},
        {"# h1", "\\# h1"},
        {"- item", "\\- item"},
        {"1. x", "1\\. x"},
        {"> quote", "\\> quote"},
        {"~~del~~ $x$ ==m== {.c} ^1 +",
         "\\~\\~del\\~\\~ \\$x\\$ \\=\\=m\\=\\= \\{\\.c\\} \\^1 \\+"},
        {"&lt; &amp;", "\\&lt; \\&amp;"},
        {"\\*not\\_", "\\\\\\*not\\\\\\_"},
        {"a\\", "a\\\\"},
        {"|\n|", "\\| \\|"},
        {"it's \"q\" 50% a,b;c/d?", "it's \"q\" 50% a,b;c/d?"},
        {"\xE6\xBC\xA2|\xE5\xAD\x97", "\xE6\xBC\xA2\\|\xE5\xAD\x97"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_md_escape(&sb, cases[i].in);
        assert_string_equal(sb.buf, cases[i].want);
        lleval_sb_release(&sb);
    }
    {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_md_escape(&sb, NULL);
        assert_int_equal(sb.len, 0);
        lleval_md_escape_n(&sb, "a|bc", 2);
        assert_string_equal(sb.buf, "a\\|");
        lleval_sb_release(&sb);
    }
    /* every ASCII character: punctuation with a Markdown meaning is escaped,
     * the rest kept or (controls) dropped; no byte of it is ever unescaped */
    for (int c = 1; c < 0x80; c++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        char in[2] = {(char)c, 0};
        lleval_md_escape(&sb, in);
        if (c == '<')
            assert_string_equal(sb.buf, "&lt;");
        else if (strchr("\\`*_[](){}>#+-.!|~&:@=$^", c)) {
            assert_int_equal(sb.len, 2);
            assert_int_equal(sb.buf[0], '\\');
            assert_int_equal(sb.buf[1], c);
        } else if (c == '\n' || c == '\r' || c == '\t')
            assert_string_equal(sb.buf, " ");
        else if (c < 0x20 || c == 0x7F)
            assert_int_equal(sb.len, 0);
        else
            assert_string_equal(sb.buf, in);
        lleval_sb_release(&sb);
    }
}

static void test_term_sanitize(void **state)
{
    static const struct esc_case cases[] = {
        {"plain text", "plain text"},
        {"tab\there", "tab\there"},
        {"red \x1b[31mX\x1b[0m", "red \\x1b[31mX\\x1b[0m"},
        {"title \x1b]0;pwned\x07", "title \\x1b]0;pwned\\x07"},
        {"two\nlines\r", "two\\nlines\\r"},
        {"nul-free \x01\x7f", "nul-free \\x01\\x7f"},
        {"csi \xC2\x9B"
         "2J",
         "csi \\u009b2J"},
        {"rtl \xE2\x80\xAE"
         "gnp.exe",
         "rtl \\u202egnp.exe"},
        {"iso \xE2\x81\xA6x\xE2\x81\xA9", "iso \\u2066x\\u2069"},
        {"bad \xFF\xC0\xAF", "bad \\xff\\xc0\\xaf"},
        {"caf\xC3\xA9 \xE6\xBC\xA2 \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE6\xBC\xA2 \xF0\x9F\x98\x80"},
        {"", ""},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_term_sanitize(&sb, cases[i].in, false);
        assert_string_equal(sb.buf, cases[i].want);
        lleval_sb_release(&sb);
    }
    {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_term_sanitize(&sb, NULL, false);
        assert_int_equal(sb.len, 0);
        lleval_term_sanitize(&sb, "a\nb\r\n", true);
        assert_string_equal(sb.buf, "a\nb\\r\n");
        lleval_sb_reset(&sb);
        lleval_term_sanitize_n(&sb, "a\0b", 3, false);
        assert_string_equal(sb.buf, "a\\x00b");
        lleval_sb_release(&sb);
    }
}

static void test_csv_quote(void **state)
{
    static const struct esc_case cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"l1\nl2", "\"l1\nl2\""},
        {"cr\r", "\"cr\r\""},
        {"caf\xC3\xA9 ;'", "caf\xC3\xA9 ;'"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_csv_quote(&sb, cases[i].in);
        assert_string_equal(sb.buf, cases[i].want);
        lleval_sb_release(&sb);
    }
}

/* lleval_utf8_put writes what utf8proc (the encoder it replaced) wrote for
 * every valid code point, and U+FFFD for the rest. */
static void test_utf8_put(void **state)
{
    static const struct {
        int32_t cp;
        const char *want;
    } cases[] = {
        {0x41, "A"},
        {0x7F, "\x7F"},
        {0x80, "\xC2\x80"},
        {0xE9, "\xC3\xA9"},
        {0x7FF, "\xDF\xBF"},
        {0x800, "\xE0\xA0\x80"},
        {0x6F22, "\xE6\xBC\xA2"},
        {0xFFFF, "\xEF\xBF\xBF"},
        {0x10000, "\xF0\x90\x80\x80"},
        {0x1F600, "\xF0\x9F\x98\x80"},
        {0x10FFFF, "\xF4\x8F\xBF\xBF"},
        {0xD800, LLEVAL_UTF8_REPLACEMENT},
        {0xDFFF, LLEVAL_UTF8_REPLACEMENT},
        {0x110000, LLEVAL_UTF8_REPLACEMENT},
        {-1, LLEVAL_UTF8_REPLACEMENT},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        char b[4];
        size_t n = lleval_utf8_put(b, cases[i].cp);
        if (n != strlen(cases[i].want) || memcmp(b, cases[i].want, n))
            fail_msg("U+%04X: %zu bytes, want \"%s\"", (unsigned)cases[i].cp, n, cases[i].want);
    }
    /* every code point round-trips through put and decode, or becomes U+FFFD */
    for (int32_t cp = 0; cp <= 0x10FFFF; cp += cp < 0x11000 ? 1 : 97) {
        char b[4];
        int32_t back = -1;
        size_t n = lleval_utf8_put(b, cp);
        bool sur = cp >= 0xD800 && cp <= 0xDFFF;
        if (lleval_utf8_decode(b, n, &back) != n || back != (sur ? 0xFFFD : cp) ||
            !lleval_utf8_valid(b, n, NULL))
            fail_msg("U+%04X does not round-trip (got U+%04X)", (unsigned)cp, (unsigned)back);
    }
}

/* The whole-string check and the sequence check are one rule: every
 * two-byte string, and every lead byte with each continuation class. */
static void test_utf8_valid_agrees(void **state)
{
    static const unsigned char conts[] = {0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0x41, 0xC0};
    (void)state;
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            char s[2] = {(char)a, (char)b};
            size_t n = lleval_utf8_seq(s, 2), bad = 99;
            bool want = n == 2 || (n == 1 && lleval_utf8_seq(s + 1, 1) == 1);
            if (lleval_utf8_valid(s, 2, &bad) != want)
                fail_msg("%02X %02X: valid disagrees with seq", a, b);
        }
        for (size_t i = 0; i < sizeof(conts); i++)
            for (size_t j = 0; j < sizeof(conts); j++)
                for (size_t k = 0; k < sizeof(conts); k++) {
                    char s[4] = {(char)a, (char)conts[i], (char)conts[j], (char)conts[k]};
                    size_t n = lleval_utf8_seq(s, 4);
                    if (n == 4 || n == 3)
                        assert_true(lleval_utf8_valid(s, n, NULL));
                    if (n == 0) {
                        size_t bad = 99;
                        assert_false(lleval_utf8_valid(s, 4, &bad));
                        assert_int_equal(bad, 0);
                    }
                }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_seq),          cmocka_unit_test(test_utf8_decode_encode),
        cmocka_unit_test(test_utf8_copy),         cmocka_unit_test(test_utf8_width),
        cmocka_unit_test(test_utf8_cut),          cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_md_escape),         cmocka_unit_test(test_csv_quote),
        cmocka_unit_test(test_term_sanitize),     cmocka_unit_test(test_utf8_put),
        cmocka_unit_test(test_utf8_valid_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
