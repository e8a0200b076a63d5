/* Unit tests for the string buffer (and its cap), number parsing, UTF-8, the
 * hashes, the hash set and file helpers. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/util/idset.h"
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

/* A capped buffer takes exactly max bytes, refuses one more and stays as it
 * was; the cap survives reset, release and detach. */
static void test_sb_cap(void **state)
{
    struct lleval_sb sb;
    char *d;
    (void)state;
    lleval_sb_init_max(&sb, 0, 8);
    assert_int_equal(sb.max, 8);
    assert_int_equal(lleval_sb_try_add(&sb, "abcde", 5), 0);
    assert_int_equal(lleval_sb_try_add(&sb, "fgh", 3), 0); /* exactly at the cap */
    assert_int_equal(sb.len, 8);
    assert_string_equal(sb.buf, "abcdefgh");
    assert_int_equal(lleval_sb_try_add(&sb, "i", 1), LLEVAL_EINVAL); /* one byte over */
    assert_int_equal(sb.len, 8);
    assert_string_equal(sb.buf, "abcdefgh");
    assert_int_equal(lleval_sb_try_add(&sb, "", 0), 0); /* nothing fits at the cap */
    /* a chunk that would cross the cap is refused whole, not cut */
    lleval_sb_reset(&sb);
    assert_int_equal(sb.max, 8);
    assert_int_equal(lleval_sb_try_add(&sb, "0123456", 7), 0);
    assert_int_equal(lleval_sb_try_add(&sb, "78", 2), LLEVAL_EINVAL);
    assert_string_equal(sb.buf, "0123456");
    /* a huge length cannot wrap around the check */
    assert_int_equal(lleval_sb_try_add(&sb, "x", (size_t)-1), LLEVAL_EINVAL);
    assert_int_equal(lleval_sb_try_add(&sb, "7", 1), 0);
    d = lleval_sb_detach(&sb, NULL);
    assert_string_equal(d, "01234567");
    free(d);
    assert_int_equal(sb.max, 8);
    assert_int_equal(lleval_sb_try_add(&sb, "123456789", 9), LLEVAL_EINVAL);
    assert_int_equal(sb.len, 0);
    assert_string_equal(sb.buf, "");
    lleval_sb_release(&sb);
    assert_int_equal(sb.max, 8);
    assert_int_equal(lleval_sb_try_add(&sb, "12345678", 8), 0);
    lleval_sb_release(&sb);

    /* no cap: try_add always succeeds, and the plain adds still work */
    lleval_sb_init(&sb, 4);
    assert_int_equal(sb.max, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(lleval_sb_try_add(&sb, "0123456789", 10), 0);
    assert_int_equal(sb.len, 10000);
    lleval_sb_release(&sb);
    {
        struct lleval_sb z = LLEVAL_SB_INIT;
        assert_int_equal(z.max, 0);
        assert_int_equal(lleval_sb_try_add(&z, "abc", 3), 0);
        assert_string_equal(z.buf, "abc");
        lleval_sb_release(&z);
    }
}

/* FNV-1a's published vectors, and lleval_hash64's values, which ids and the
 * dry engine depend on: a change here changes artifacts. */
static void test_hashes(void **state)
{
    (void)state;
    assert_true(lleval_fnv1a64("") == 0xcbf29ce484222325ULL);
    assert_true(lleval_fnv1a64(NULL) == 0xcbf29ce484222325ULL);
    assert_true(lleval_fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(lleval_fnv1a64("foobar") == 0x85944171f73967e8ULL);
    assert_true(lleval_hash64("") == 0xe36f5519ee926a53ULL);
    assert_true(lleval_hash64("a") == 0x6cd53dd3a3028c95ULL);
    assert_true(lleval_hash64("custom-0001") == 0x9721068726adc259ULL);
    assert_true(lleval_idset_hash("a") == lleval_hash64("a"));
}

/* The set of hashes: insert, find, values, growth past many doublings. */
static void test_idset_set(void **state)
{
    struct lleval_idset s = LLEVAL_IDSET_INIT;
    char id[32];
    bool found;
    size_t at;
    (void)state;
    assert_int_equal(lleval_idset_find(&s, 42), -1); /* empty, nothing allocated */
    assert_false(lleval_idset_has(&s, "x"));
    at = lleval_idset_put(&s, lleval_idset_hash("x"), 7, &found);
    assert_false(found);
    assert_int_equal(s.vals[at], 7);
    at = lleval_idset_put(&s, lleval_idset_hash("x"), 9, &found);
    assert_true(found);
    assert_int_equal(s.vals[at], 7); /* the first value stays */
    assert_int_equal(s.n, 1);
    assert_true(lleval_idset_has(&s, "x"));
    assert_false(lleval_idset_has(&s, "y"));
    /* key 0 is usable (it is stored as 1) */
    lleval_idset_put(&s, 0, 5, &found);
    assert_false(found);
    assert_true(lleval_idset_find(&s, 0) >= 0);
    lleval_idset_release(&s);
    assert_int_equal(s.n, 0);

    /* 100000 ids: every one found with its value, the table at most 3/4 full */
    for (uint32_t i = 0; i < 100000; i++) {
        snprintf(id, sizeof(id), "id-%u", i);
        lleval_idset_put(&s, lleval_idset_hash(id), i, &found);
        assert_false(found);
    }
    assert_int_equal(s.n, 100000);
    assert_true(s.n * 4 < s.cap * 3);
    for (uint32_t i = 0; i < 100000; i++) {
        long slot;
        snprintf(id, sizeof(id), "id-%u", i);
        slot = lleval_idset_find(&s, lleval_idset_hash(id));
        if (slot < 0 || s.vals[slot] != i)
            fail_msg("\"%s\": slot %ld", id, slot);
    }
    for (uint32_t i = 100000; i < 101000; i++) {
        snprintf(id, sizeof(id), "id-%u", i);
        assert_false(lleval_idset_has(&s, id));
    }
    lleval_idset_release(&s);

    /* small integer keys (not hashes) spread too: all found */
    for (uint64_t k = 1; k <= 5000; k++)
        lleval_idset_put(&s, k, (uint32_t)k, &found);
    for (uint64_t k = 1; k <= 5000; k++)
        assert_int_equal(s.vals[lleval_idset_find(&s, k)], k);
    assert_int_equal(lleval_idset_find(&s, 5001), -1);
    lleval_idset_release(&s);
}

/* The exact index: equal hashes kept side by side, each yielded once, across
 * growth; reserve avoids growing. */
static void test_idset_index(void **state)
{
    struct lleval_idset s = LLEVAL_IDSET_INIT;
    size_t cap, pos;
    uint32_t v, seen;
    (void)state;
    assert_false(lleval_idset_next(&s, 1, &(size_t){0}, &v));
    /* three values under one hash (a collision), one under another */
    lleval_idset_add(&s, 77, 1);
    lleval_idset_add(&s, 77, 2);
    lleval_idset_add(&s, 78, 3);
    lleval_idset_add(&s, 77, 4);
    seen = 0;
    for (pos = 0; lleval_idset_next(&s, 77, &pos, &v);)
        seen |= 1u << v;
    assert_int_equal(seen, (1u << 1) | (1u << 2) | (1u << 4));
    pos = 0;
    assert_true(lleval_idset_next(&s, 78, &pos, &v));
    assert_int_equal(v, 3);
    assert_false(lleval_idset_next(&s, 78, &pos, &v));
    pos = 0;
    assert_false(lleval_idset_next(&s, 79, &pos, &v));
    /* many more keys, many under the same hash: the table grows and keeps all */
    for (uint32_t i = 0; i < 20000; i++)
        lleval_idset_add(&s, i % 10 == 0 ? 77 : 1000 + i, 100 + i);
    assert_int_equal(s.n, 4 + 20000);
    seen = 0;
    for (pos = 0; lleval_idset_next(&s, 77, &pos, &v);)
        seen++;
    assert_int_equal(seen, 3 + 2000);
    for (uint32_t i = 1; i < 20000; i += 997) {
        if (i % 10 == 0)
            continue;
        pos = 0;
        assert_true(lleval_idset_next(&s, 1000 + i, &pos, &v));
        assert_int_equal(v, 100 + i);
    }
    lleval_idset_release(&s);

    lleval_idset_reserve(&s, 5000);
    cap = s.cap;
    assert_true(5000 * 4 < cap * 3);
    for (uint32_t i = 0; i < 5000; i++)
        lleval_idset_add(&s, lleval_hash64("k") + i, i);
    assert_int_equal(s.cap, cap);
    lleval_idset_release(&s);
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
    assert_false(lleval_utf8_valid("\xc0\xaf", 2, &bad));     /* overlong */
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
        cmocka_unit_test(test_sb_cap),
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_idset_set),
        cmocka_unit_test(test_idset_index),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_err_long_messages),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_atomic_write_and_lines),
        cmocka_unit_test(test_json_load_error_names_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
