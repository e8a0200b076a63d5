/* Unit tests for the result journal: append, lines added and written at a
 * flush, a sealed journal, reopen, torn-tail repair, damage, a journal
 * replaced by a link. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/run/journal.h"
#include "lleval/util/util.h"

static json_t *result(const char *cid, bool ok)
{
    return ok ? json_pack("{s:s, s:n}", "custom_id", cid, "error")
              : json_pack("{s:s, s:{s:s}}", "custom_id", cid, "error", "message", "x");
}

static void test_append_and_reopen(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_xasprintf("%s/j.jsonl", dir);
    struct lleval_journal *j;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *r;
    (void)state;

    assert_int_equal(lleval_journal_open(path, &j, &err), 0);
    r = result("a", true);
    assert_int_equal(lleval_journal_append(j, r, &err), 0);
    /* the same custom_id twice is refused */
    assert_int_not_equal(lleval_journal_append(j, r, &err), 0);
    tu_assert_contains(err.msg, "already has a result");
    json_decref(r);
    r = result("b", false);
    assert_int_equal(lleval_journal_append(j, r, &err), 0);
    json_decref(r);
    assert_int_equal(lleval_journal_close(j, &err), 0);

    assert_int_equal(lleval_journal_open(path, &j, &err), 0);
    assert_true(lleval_journal_has(j, "a"));
    assert_true(lleval_journal_has(j, "b"));
    assert_false(lleval_journal_has(j, "c"));
    assert_int_equal(lleval_journal_stats(j)->lines, 2);
    assert_int_equal(lleval_journal_stats(j)->ok, 1);
    assert_int_equal(lleval_journal_stats(j)->repaired, 0);
    lleval_journal_close(j, NULL);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

/* Added lines wait for a flush (one write), are counted and refused twice at
 * once, go before a line appended after them, and are written by a sync or a
 * close; a line too long to wait is written at once, after those waiting. */
static void test_added_lines_wait_for_flush(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_xasprintf("%s/j.jsonl", dir);
    const char *a = "{\"custom_id\":\"a\",\"error\":null}\n";
    const char *b = "{\"custom_id\":\"b\",\"error\":{\"message\":\"x\"}}\n";
    const char *c = "{\"custom_id\":\"c\",\"error\":null}\n";
    struct lleval_sb big = LLEVAL_SB_INIT;
    struct lleval_journal *j;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *text, *want;
    (void)state;

    assert_int_equal(lleval_journal_open(path, &j, &err), 0);
    assert_false(lleval_journal_pending(j));
    assert_int_equal(lleval_journal_add_text(j, "a", false, a, strlen(a), &err), 0);
    assert_int_equal(lleval_journal_add_text(j, "b", true, b, strlen(b), &err), 0);
    assert_true(lleval_journal_pending(j));
    assert_true(lleval_journal_has(j, "a"));
    assert_int_equal(lleval_journal_stats(j)->lines, 2);
    assert_int_equal(lleval_journal_stats(j)->ok, 1);
    assert_int_not_equal(lleval_journal_add_text(j, "a", false, a, strlen(a), &err), 0);
    tu_assert_contains(err.msg, "already has a result");
    text = tu_read(path);
    assert_string_equal(text, ""); /* nothing written yet */
    free(text);
    assert_int_equal(lleval_journal_flush(j, &err), 0);
    assert_false(lleval_journal_pending(j));
    text = tu_read(path);
    want = lleval_xasprintf("%s%s", a, b);
    assert_string_equal(text, want);
    free(text);
    free(want);

    /* pending, then an append: the pending line first */
    assert_int_equal(lleval_journal_add_text(j, "c", false, c, strlen(c), &err), 0);
    lleval_sb_adds(&big, "{\"custom_id\":\"d\",\"content\":\"");
    for (int i = 0; i < 300000; i++)
        lleval_sb_addch(&big, 'x');
    lleval_sb_adds(&big, "\",\"error\":null}\n");
    assert_int_equal(lleval_journal_add_text(j, "d", false, big.buf, big.len, &err), 0);
    assert_false(lleval_journal_pending(j)); /* too long to wait: written with c before it */
    text = tu_read(path);
    want = lleval_xasprintf("%s%s%s%s", a, b, c, big.buf);
    assert_string_equal(text, want);
    free(text);
    free(want);
    assert_int_equal(lleval_journal_add_text(j, "e", false, "{\"custom_id\":\"e\"}\n", 18, &err),
                     0);
    assert_int_equal(lleval_journal_close(j, &err), 0); /* writes e */

    assert_int_equal(lleval_journal_open(path, &j, &err), 0);
    assert_int_equal(lleval_journal_stats(j)->lines, 5);
    assert_true(lleval_journal_has(j, "e"));
    assert_int_equal(lleval_journal_stats(j)->repaired, 0);
    lleval_journal_close(j, NULL);
    lleval_sb_release(&big);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

/* A sealed journal: its pending lines written, its stats kept, no line taken
 * after it (with or without a write waiting), and it reopens whole. */
static void test_sealed_journal_takes_no_line(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_xasprintf("%s/j.jsonl", dir);
    const char *a = "{\"custom_id\":\"a\",\"error\":null}\n";
    const char *b = "{\"custom_id\":\"b\",\"error\":{\"message\":\"x\"}}\n";
    struct lleval_journal *j;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *r;
    char *text, *want;
    (void)state;

    assert_int_equal(lleval_journal_seal(NULL, &err), 0);
    assert_int_equal(lleval_journal_open(path, &j, &err), 0);
    assert_int_equal(lleval_journal_add_text(j, "a", false, a, strlen(a), &err), 0);
    assert_int_equal(lleval_journal_add_text(j, "b", true, b, strlen(b), &err), 0);
    assert_true(lleval_journal_pending(j));
    assert_int_equal(lleval_journal_seal(j, &err), 0);
    assert_false(lleval_journal_pending(j));
    text = tu_read(path);
    want = lleval_xasprintf("%s%s", a, b);
    assert_string_equal(text, want); /* written before the seal returned */
    free(text);
    free(want);
    assert_int_equal(lleval_journal_stats(j)->lines, 2);
    assert_int_equal(lleval_journal_stats(j)->ok, 1);
    assert_false(lleval_journal_has(j, "a")); /* the id set is given back */

    assert_int_equal(lleval_journal_add_text(j, "c", false, "{\"custom_id\":\"c\"}\n", 18, &err),
                     LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "came after the results were combined");
    r = result("d", true);
    assert_int_equal(lleval_journal_append(j, r, &err), LLEVAL_EINVAL);
    json_decref(r);
    assert_int_equal(lleval_journal_seal(j, &err), 0); /* twice is fine */
    assert_int_equal(lleval_journal_close(j, &err), 0);

    assert_int_equal(lleval_journal_open(path, &j, &err), 0);
    assert_int_equal(lleval_journal_stats(j)->lines, 2);
    assert_true(lleval_journal_has(j, "a"));
    assert_false(lleval_journal_has(j, "c"));
    lleval_journal_close(j, NULL);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

static void test_torn_tail_is_cut(void **state)
{
    char *dir = tu_tmpdir();
    const char *good = "{\"custom_id\":\"a\",\"error\":null}\n";
    char *content = lleval_xasprintf("%s{\"custom_id\":\"b\",\"err", good);
    char *path = tu_write(dir, "j.jsonl", content);
    struct lleval_journal *j;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *r;
    char *after;
    (void)state;

    assert_int_equal(lleval_journal_open(path, &j, &err), 0);
    assert_true(lleval_journal_has(j, "a"));
    assert_false(lleval_journal_has(j, "b")); /* torn: asked again */
    assert_int_equal(lleval_journal_stats(j)->repaired, strlen(content) - strlen(good));
    r = result("b", true);
    assert_int_equal(lleval_journal_append(j, r, &err), 0);
    json_decref(r);
    lleval_journal_close(j, NULL);
    after = tu_read(path);
    assert_string_equal(after, "{\"custom_id\":\"a\",\"error\":null}\n"
                               "{\"custom_id\":\"b\",\"error\":null}\n");
    free(after);
    free(content);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

static void test_damaged_middle_line_is_an_error(void **state)
{
    char *dir = tu_tmpdir();
    char *path =
        tu_write(dir, "j.jsonl", "{\"custom_id\":\"a\"}\nnot json\n{\"custom_id\":\"c\"}\n");
    struct lleval_journal *j;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *before = tu_read(path), *after;
    (void)state;
    assert_int_not_equal(lleval_journal_open(path, &j, &err), 0);
    tu_assert_contains(err.msg, "j.jsonl:2: damaged result line");
    after = tu_read(path);
    assert_string_equal(before, after); /* nothing was cut or lost */
    free(before);
    free(after);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

static void test_duplicate_in_file_is_an_error(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "j.jsonl", "{\"custom_id\":\"a\"}\n{\"custom_id\":\"a\"}\n");
    struct lleval_journal *j;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    assert_int_not_equal(lleval_journal_open(path, &j, &err), 0);
    tu_assert_contains(err.msg, "j.jsonl:2: custom_id 'a' appears twice");
    tu_rmtree(dir);
    free(path);
    free(dir);
}

/* A journal replaced by a link to a file outside the run is refused, not
 * "repaired": the victim's last line (no result line) would be cut. */
static void test_symlinked_journal_is_refused(void **state)
{
    char *dir = tu_tmpdir();
    char *run = lleval_xasprintf("%s/run", dir);
    char *path = lleval_xasprintf("%s/run/j.jsonl", dir);
    char *victim = tu_write(dir, "victim.txt", "{\"custom_id\":\"a\"}\nnot a result line\n");
    struct lleval_journal *j = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *text;
    (void)state;

    assert_int_equal(lleval_mkdirs(run, NULL), 0);
    free(tu_write(run, "config.resolved.yaml", "x: 1\n"));
    free(tu_write(run, "lock", ""));
    tu_symlink_or_skip(victim, path);
    assert_int_equal(lleval_journal_open(path, &j, &err), LLEVAL_EIO);
    assert_null(j);
    tu_assert_contains(err.msg, path);
    tu_assert_contains(err.msg, "is a symbolic link");
    text = tu_read(victim);
    assert_string_equal(text, "{\"custom_id\":\"a\"}\nnot a result line\n");
    free(text);
    tu_rmtree(dir);
    free(victim);
    free(path);
    free(run);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_reopen),
        cmocka_unit_test(test_added_lines_wait_for_flush),
        cmocka_unit_test(test_sealed_journal_takes_no_line),
        cmocka_unit_test(test_torn_tail_is_cut),
        cmocka_unit_test(test_damaged_middle_line_is_an_error),
        cmocka_unit_test(test_duplicate_in_file_is_an_error),
        cmocka_unit_test(test_symlinked_journal_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
