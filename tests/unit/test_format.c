/*
 * Tests for lib/util/format.c: durations at their boundaries (with and
 * without tenths), fixed decimals and percentages, values with intervals,
 * and aligned tables measured in display columns (CJK and combining marks).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/format.h"
#include "lleval/util/util.h"

struct dur_case {
    double s;
    unsigned flags;
    const char *want;
};

static void test_duration(void **state)
{
    static const struct dur_case cases[] = {
        {0, 0, "0s"},
        {0, LLEVAL_DUR_TENTHS, "0.0s"},
        {0.4, 0, "0s"},
        {9.5, LLEVAL_DUR_TENTHS, "9.5s"},
        {9.5, 0, "10s"}, /* whole seconds round half to even: 9.5 -> "10" */
        {9.94, LLEVAL_DUR_TENTHS, "9.9s"},
        {10, LLEVAL_DUR_TENTHS, "10s"},
        {10, 0, "10s"},
        {42.4, LLEVAL_DUR_TENTHS, "42s"},
        {59.4, 0, "59s"},
        /* under a minute the seconds round: 59.9 s reads "60s", not "1m00s" (kept as it was) */
        {59.9, 0, "60s"},
        {59.9, LLEVAL_DUR_TENTHS, "60s"},
        {60, 0, "1m00s"},
        {60, LLEVAL_DUR_TENTHS, "1m00s"},
        {61.9, 0, "1m01s"}, /* minutes and seconds truncate */
        {245, 0, "4m05s"},
        {3599.9, 0, "59m59s"},
        {3600, 0, "1h00m"},
        {3661, 0, "1h01m"},
        {7199, 0, "1h59m"},
        {86399, 0, "23h59m"},
        {86400, 0, "24h00m"}, /* a day stays in hours */
        {2 * 86400 + 3 * 3600 + 7 * 60, 0, "51h07m"},
        {-1, 0, "?"},
        {-0.001, LLEVAL_DUR_TENTHS, "?"},
    };
    char buf[32];
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        const char *got = lleval_fmt_duration(buf, sizeof(buf), cases[i].s, cases[i].flags);
        assert_ptr_equal(got, buf);
        if (strcmp(got, cases[i].want))
            fail_msg("case %zu (%g s, flags %u): \"%s\", want \"%s\"", i, cases[i].s,
                     cases[i].flags, got, cases[i].want);
    }
    assert_string_equal(lleval_fmt_duration(buf, sizeof(buf), NAN, 0), "?");
    assert_string_equal(lleval_fmt_duration(buf, sizeof(buf), NAN, LLEVAL_DUR_TENTHS), "?");
    /* absurd values neither overflow nor lose their hours */
    assert_string_equal(lleval_fmt_duration(buf, sizeof(buf), 3600.0 * 3e9, 0), "3000000000h");
    /* a small buffer truncates, NUL-terminated */
    assert_string_equal(lleval_fmt_duration(buf, 4, 245, 0), "4m0");
}

static void test_numbers(void **state)
{
    char buf[32];
    (void)state;
    assert_true(lleval_pct(1, 4) == 25.0);
    assert_true(lleval_pct(3, 3) == 100.0);
    assert_true(lleval_pct(0, 7) == 0.0);
    assert_true(isnan(lleval_pct(1, 0)));
    assert_true(isnan(lleval_pct(1, -2)));
    assert_string_equal(lleval_fmt_fixed(buf, sizeof(buf), 12.345, 1, "-"), "12.3");
    assert_string_equal(lleval_fmt_fixed(buf, sizeof(buf), 12.345, 0, "-"), "12");
    assert_string_equal(lleval_fmt_fixed(buf, sizeof(buf), 0.4105, 3, "-"), "0.410");
    assert_string_equal(lleval_fmt_fixed(buf, sizeof(buf), lleval_pct(1, 3), 1, "-"), "33.3");
    assert_string_equal(lleval_fmt_fixed(buf, sizeof(buf), lleval_pct(1, 0), 1, "-"), "-");
    assert_string_equal(lleval_fmt_fixed(buf, sizeof(buf), INFINITY, 1, "n/a"), "n/a");
    assert_string_equal(lleval_fmt_fixed(buf, sizeof(buf), NAN, 1, NULL), "");
    assert_int_equal(lleval_ms_decimals(0), 1);
    assert_int_equal(lleval_ms_decimals(99.9), 1);
    assert_int_equal(lleval_ms_decimals(100), 0);
    assert_int_equal(lleval_ms_decimals(-150), 0);
}

struct ci_case {
    double v, lo, hi;
    int decimals;
    const char *open, *close, *want;
};

static void test_ci(void **state)
{
    static const struct ci_case cases[] = {
        {31.2, 12.5, 56.2, 1, " [", "]", "31.2 [12.5, 56.2]"},
        {31.2, NAN, 56.2, 1, " [", "]", "31.2"},
        {31.2, 12.5, NAN, 1, " [", "]", "31.2"},
        {31.2, 12.5, INFINITY, 1, " [", "]", "31.2"},
        {412.6, 390.2, 440.9, 0, " [", "]", "413 [390, 441]"},
        {0.5, 0.25, 0.75, 3, "<span class=\"ci\">[", "]</span>",
         "0.500<span class=\"ci\">[0.250, 0.750]</span>"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_sb_add_ci(&sb, cases[i].v, cases[i].lo, cases[i].hi, cases[i].decimals,
                         cases[i].open, cases[i].close);
        assert_string_equal(sb.buf, cases[i].want);
        lleval_sb_release(&sb);
    }
}

static void test_numeric_cell(void **state)
{
    static const char *const yes[] = {"",      "-",    "12",    "12.5 [10.1, 14.9]",
                                      "4m05s", "3/10", "50.0%", "+1",
                                      "1h02m", "(3)",  "1,024", "12 \xC2\xB1 3"};
    static const char *const no[] = {"abc", "run_1", "12 apples", "--", "n/a", "x"};
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(yes); i++)
        if (!lleval_numeric_cell(yes[i]))
            fail_msg("\"%s\" should read as a number", yes[i]);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(no); i++)
        if (lleval_numeric_cell(no[i]))
            fail_msg("\"%s\" should read as text", no[i]);
}

static char *render(const struct lleval_table *t, const struct lleval_table_style *st)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_table_render(t, st, &sb);
    return lleval_sb_detach(&sb, NULL);
}

static void test_table_wide(void **state)
{
    /* a CJK name (4 columns in 6 bytes) and a combining mark (1 column in 3 bytes) */
    static const char *const head[] = {"name", "n"};
    static const char *const r1[] = {"\xE6\xBC\xA2\xE5\xAD\x97", "5"};
    static const char *const r2[] = {"ab", "10"};
    static const char *const r3[] = {"e\xCC\x81", "7"};
    struct lleval_table *t = lleval_table_new(2);
    char *out;
    (void)state;
    lleval_table_header(t, head);
    lleval_table_row(t, r1);
    lleval_table_row(t, r2);
    lleval_table_row(t, r3);
    assert_int_equal(lleval_table_rows(t), 3);
    out = render(t, NULL);
    assert_string_equal(out, "name   n\n"
                             "\xE6\xBC\xA2\xE5\xAD\x97   5\n"
                             "ab    10\n"
                             "e\xCC\x81      7\n");
    free(out);
    /* the tool's bold header */
    {
        struct lleval_table_style st = LLEVAL_TABLE_STYLE_INIT;
        st.head_on = "<b>";
        st.head_off = "</b>";
        out = render(t, &st);
        assert_string_equal(out, "<b>name   n</b>\n"
                                 "\xE6\xBC\xA2\xE5\xAD\x97   5\n"
                                 "ab    10\n"
                                 "e\xCC\x81      7\n");
        free(out);
    }
    /* forced alignment: numbers left, names right */
    lleval_table_align(t, 0, LLEVAL_ALIGN_RIGHT);
    lleval_table_align(t, 1, LLEVAL_ALIGN_LEFT);
    out = render(t, NULL);
    assert_string_equal(out, "name  n\n"
                             "\xE6\xBC\xA2\xE5\xAD\x97  5\n"
                             "  ab  10\n"
                             "   e\xCC\x81  7\n");
    free(out);
    lleval_table_free(t);
}

static void test_table_styles(void **state)
{
    /* score/output.c's layout: text columns left, the rest right, no rtrim; the
     * last column is never padded, so a left-aligned last column has no trailing
     * spaces either way, while a cell's own trailing spaces go only with rtrim */
    static const char *const head[] = {"dataset", "EM", "note"};
    static const char *const r1[] = {"nq", "31.2 [12.5, 56.2]", "ok "};
    static const char *const r2[] = {"squad_v2", "-", "long note"};
    struct lleval_table_style keep = {" | ", "", "", false};
    struct lleval_table *t = lleval_table_new(3);
    char *out;
    (void)state;
    lleval_table_header(t, head);
    lleval_table_row(t, r1);
    lleval_table_row(t, r2);
    out = render(t, &keep);
    assert_string_equal(out, "dataset  |                EM | note\n"
                             "nq       | 31.2 [12.5, 56.2] | ok \n"
                             "squad_v2 |                 - | long note\n");
    free(out);
    out = render(t, NULL);
    assert_string_equal(out, "dataset                  EM  note\n"
                             "nq        31.2 [12.5, 56.2]  ok\n"
                             "squad_v2                  -  long note\n");
    free(out);
    lleval_table_free(t);

    /* no body rows: AUTO columns are left-aligned; no header: only rows */
    t = lleval_table_new(2);
    lleval_table_header(t, head);
    out = render(t, NULL);
    assert_string_equal(out, "dataset  EM\n");
    free(out);
    lleval_table_free(t);
    t = lleval_table_new(2);
    {
        static const char *const a[] = {"1", NULL};
        static const char *const b[] = {"100", "x"};
        lleval_table_row(t, a);
        lleval_table_row(t, b);
    }
    out = render(t, NULL);
    assert_string_equal(out, "  1\n100  x\n");
    free(out);
    lleval_table_free(t);
    lleval_table_free(NULL);
}

/* The tool's tables (cli_table is this table): a number column with "±" is
 * right-aligned, a CJK cell in the last column pads nothing after it, and the
 * wide cell sets its column's width in columns, not bytes or code points. */
static void test_table_numeric_cjk(void **state)
{
    static const char *const head[] = {"model", "score", "note"};
    static const char *const r1[] = {"\xE5\xA4\xA7\xE5\x9E\x8B", "12.5 \xC2\xB1 1.2", "ok"};
    static const char *const r2[] = {"tiny", "7", "\xE5\xA5\xBD"};
    struct lleval_table_style st = LLEVAL_TABLE_STYLE_INIT;
    struct lleval_table *t = lleval_table_new(3);
    char *out;
    (void)state;
    lleval_table_header(t, head);
    lleval_table_row(t, r1);
    lleval_table_row(t, r2);
    st.head_on = "\033[1m";
    st.head_off = "\033[0m";
    out = render(t, &st);
    assert_string_equal(out, "\033[1mmodel       score  note\033[0m\n"
                             "\xE5\xA4\xA7\xE5\x9E\x8B   12.5 \xC2\xB1 1.2  ok\n"
                             "tiny            7  \xE5\xA5\xBD\n");
    free(out);
    lleval_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_ci),
        cmocka_unit_test(test_numeric_cell),
        cmocka_unit_test(test_table_wide),
        cmocka_unit_test(test_table_styles),
        cmocka_unit_test(test_table_numeric_cjk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
