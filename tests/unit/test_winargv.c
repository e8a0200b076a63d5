/*
 * Tests for lib/util/winargv.c: the quoting of CreateProcessW command lines
 * (spaces, embedded quotes, trailing backslashes, backslashes before quotes,
 * empty arguments, non-ASCII) against fixed expected strings, the splitter
 * against known CommandLineToArgvW results, and the round trip join then
 * split. tests/win32/ checks the same through a real Windows child.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/util.h"
#include "lleval/util/winargv.h"

struct quote_case {
    const char *arg, *want;
};

static void test_quote(void **state)
{
    static const struct quote_case cases[] = {
        {"plain", "plain"},
        {"", "\"\""},
        {"a b", "\"a b\""},
        {"tab\there", "\"tab\there\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"\"", "\"\\\"\""},
        {"C:\\dir\\", "C:\\dir\\"},             /* no quoting: backslashes literal */
        {"C:\\my dir\\", "\"C:\\my dir\\\\\""}, /* trailing backslash doubled */
        {"a\\\"b", "\"a\\\\\\\"b\""},           /* a\"b: 1 backslash + quote -> 3 + quote */
        {"a\\\\\"b", "\"a\\\\\\\\\\\"b\""},     /* a\\"b: 2 -> 5 */
        {"a\\\\b", "a\\\\b"},                   /* not before a quote: as is */
        {"C:\\Users\\Zo\xC3\xAB", "C:\\Users\\Zo\xC3\xAB"},
        {"Zo\xC3\xAB \xE2\x82\xAC", "\"Zo\xC3\xAB \xE2\x82\xAC\""},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_winargv_quote(&sb, cases[i].arg);
        assert_string_equal(sb.buf, cases[i].want);
        lleval_sb_release(&sb);
    }
}

struct split_case {
    const char *line;
    const char *want[5];
};

/* Examples from Microsoft's "Parsing C command-line arguments" table. */
static void test_split_known(void **state)
{
    static const struct split_case cases[] = {
        {"prog \"a b c\" d e", {"prog", "a b c", "d", "e", NULL}},
        {"prog \"ab\\\"c\" \"\\\\\" d", {"prog", "ab\"c", "\\", "d", NULL}},
        {"prog a\\\\\\b d\"e f\"g h", {"prog", "a\\\\\\b", "de fg", "h", NULL}},
        {"prog a\\\\\\\"b c d", {"prog", "a\\\"b", "c", "d", NULL}},
        {"prog a\\\\\\\\\"b c\" d e", {"prog", "a\\\\b c", "d", "e", NULL}},
        {"\"C:\\Program Files\\x.exe\" \"\"", {"C:\\Program Files\\x.exe", "", NULL}},
        {"C:\\dir\\x.exe\\ a", {"C:\\dir\\x.exe\\", "a", NULL}},
        {" lead", {"", "lead", NULL}},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        int argc = -1, want = 0;
        char **v = lleval_winargv_split(cases[i].line, &argc);
        while (cases[i].want[want])
            want++;
        assert_int_equal(argc, want);
        for (int k = 0; k < want; k++)
            assert_string_equal(v[k], cases[i].want[k]);
        assert_null(v[argc]);
        lleval_winargv_free(v);
    }
}

static void test_round_trip(void **state)
{
    char *args[] = {
        "C:\\Program Files\\llama\\llama-server.exe",
        "",
        "plain",
        "two words",
        "\"quoted\"",
        "trailing\\",
        "trailing space\\",
        "\\\\server\\share\\",
        "back\\\"quote",
        "back\\\\\"quotes\\\\",
        "C:\\Users\\Zo\xC3\xAB\\evals",
        "\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",
        "\t",
        "\"",
        "\\",
        "a=\"b c\"",
        NULL,
    };
    int argc = 0;
    char *line = lleval_winargv_join(args);
    char **v = lleval_winargv_split(line, &argc);
    (void)state;
    assert_int_equal(argc, (int)LLEVAL_ARRAY_SIZE(args) - 1);
    for (int i = 0; i < argc; i++)
        assert_string_equal(v[i], args[i]);
    lleval_winargv_free(v);
    free(line);
}

static void test_join_program(void **state)
{
    char *a[] = {"C:\\bin\\x.exe", "1", NULL};
    char *b[] = {"C:\\my bin\\x.exe", "a b", NULL};
    char *line;
    (void)state;
    line = lleval_winargv_join(a);
    assert_string_equal(line, "C:\\bin\\x.exe 1");
    free(line);
    line = lleval_winargv_join(b);
    assert_string_equal(line, "\"C:\\my bin\\x.exe\" \"a b\"");
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_split_known),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_join_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
