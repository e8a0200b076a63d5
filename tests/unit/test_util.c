/* Unit tests for the string buffer, number parsing, UTF-8 and file helpers. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static void test_sb(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    (void)state;
    assert_string_equal(sb.buf, "");
    lleval_sb_adds(&sb, "abc");
    lleval_sb_addf(&sb, "-%d-", 42);
    lleval_sb_addch(&sb, 'x');
    assert_string_equal(sb.buf, "abc-42-x");
    for (int i = 0; i < 1000; i++)
        lleval_sb_adds(&sb, "0123456789");
    assert_int_equal(sb.len, 8 + 10000);
    char *d = lleval_sb_detach(&sb, NULL);
    assert_string_equal(sb.buf, "");
    free(d);
    lleval_sb_release(&sb);
}

static void test_parse_numbers(void **state)
{
    long l;
    double d;
    uint64_t u;
    (void)state;
    assert_int_equal(lleval_parse_long("42", 0, 100, &l), 0);
    assert_int_equal(l, 42);
    assert_int_not_equal(lleval_parse_long("42x", 0, 100, &l), 0);
    assert_int_not_equal(lleval_parse_long("101", 0, 100, &l), 0);
    assert_int_not_equal(lleval_parse_long("", 0, 100, &l), 0);
    assert_int_not_equal(lleval_parse_long(" 1", 0, 100, &l), 0);
    assert_int_equal(lleval_parse_double("0.7", &d), 0);
    assert_true(d > 0.69 && d < 0.71);
    assert_int_not_equal(lleval_parse_double("nan", &d), 0);
    assert_int_equal(lleval_parse_size("16GiB", &u), 0);
    assert_true(u == 16ULL * 1024 * 1024 * 1024);
    assert_int_equal(lleval_parse_size("512 MiB", &u), 0);
    assert_true(u == 512ULL * 1024 * 1024);
    assert_int_not_equal(lleval_parse_size("12 parsecs", &u), 0);
}

static void test_utf8(void **state)
{
    size_t bad = 0;
    (void)state;
    assert_true(lleval_utf8_valid("h\xc3\xa9llo", 6, &bad));
    assert_true(lleval_utf8_valid("\xf0\x9f\x98\x80", 4, &bad));
    assert_false(lleval_utf8_valid("ab\xff", 3, &bad));
    assert_int_equal(bad, 2);
    assert_false(lleval_utf8_valid("a\xc3", 2, &bad)); /* truncated */
    assert_int_equal(bad, 1);
    assert_false(lleval_utf8_valid("\xc0\xaf", 2, &bad)); /* overlong */
    assert_false(lleval_utf8_valid("\xed\xa0\x80", 3, &bad)); /* surrogate */
}

/* Long messages are cut below LLEVAL_ERR_MAX at a character boundary, and a
 * prefix keeps the newest context first; a message may quote itself. */
static void test_err_long_messages(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t bad = 0;
    (void)state;

    for (int i = 0; i < 1500; i++)
        lleval_sb_adds(&sb, "\xc3\xa9"); /* U+00E9, two bytes */
    assert_int_equal(lleval_err_set(&err, LLEVAL_EINVAL, "%s", sb.buf), LLEVAL_EINVAL);
    assert_int_equal(err.code, LLEVAL_EINVAL);
    assert_int_equal(strlen(err.msg), LLEVAL_ERR_MAX - 2); /* 1023 would split a character */
    assert_true(lleval_utf8_valid(err.msg, strlen(err.msg), &bad));

    lleval_err_set(&err, LLEVAL_EIO, "disk full");
    assert_int_equal(lleval_err_prefix(&err, "'%s'", "out.csv"), LLEVAL_EIO);
    assert_string_equal(err.msg, "'out.csv': disk full");
    lleval_err_set(&err, LLEVAL_EIO, "%s (again)", err.msg);
    assert_string_equal(err.msg, "'out.csv': disk full (again)");

    lleval_err_set(&err, LLEVAL_EINVAL, "%s", sb.buf);
    lleval_err_prefix(&err, "\xe2\x82\xac");
    assert_int_equal(strncmp(err.msg, "\xe2\x82\xac: \xc3\xa9", 7), 0);
    assert_true(strlen(err.msg) < LLEVAL_ERR_MAX);
    assert_true(lleval_utf8_valid(err.msg, strlen(err.msg), &bad));
    lleval_sb_release(&sb);
}

static void test_did_you_mean(void **state)
{
    const char *keys[] = {"model_id", "temps", "max_new_tokens", "top_k"};
    (void)state;
    assert_string_equal(lleval_did_you_mean("modle_id", keys, 4), "model_id");
    assert_string_equal(lleval_did_you_mean("temp", keys, 4), "temps");
    assert_null(lleval_did_you_mean("zzzzzzzzzz", keys, 4));
}

static void test_atomic_write_and_lines(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "a/b/c.txt");
    char *parent = lleval_path_dirname(path);
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_lines lr;
    (void)state;
    assert_int_equal(lleval_mkdirs(parent, &err), 0);
    assert_int_equal(lleval_write_file_atomic(path, "one\ntwo\r\nthree", 14, &err), 0);
    assert_int_equal(lleval_lines_open(&lr, path, &err), 0);
    assert_int_equal(lleval_lines_next(&lr, &err), 1);
    assert_string_equal(lr.line, "one");
    assert_false(lr.torn);
    assert_int_equal(lleval_lines_next(&lr, &err), 1);
    assert_string_equal(lr.line, "two");
    assert_int_equal(lleval_lines_next(&lr, &err), 1);
    assert_string_equal(lr.line, "three");
    assert_true(lr.torn);
    assert_int_equal(lr.lineno, 3);
    assert_int_equal(lleval_lines_next(&lr, &err), 0);
    lleval_lines_close(&lr);
    tu_rmtree(dir);
    assert_false(lleval_path_exists(dir));
    free(parent);
    free(path);
    free(dir);
}

static void test_json_load_error_names_place(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "bad.json", "{\n  \"a\": 1,\n  \"b\": }\n");
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    assert_null(lleval_json_load_file(path, &err));
    assert_int_equal(err.code, LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "bad.json:3:");
    tu_rmtree(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sb),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_err_long_messages),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_atomic_write_and_lines),
        cmocka_unit_test(test_json_load_error_names_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
