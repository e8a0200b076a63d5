/* Unit tests for the compact item index (lib/dataset/index.c): it holds what
 * lleval_prepared_load() reads, item by item, for lines the scanner reads and
 * lines it leaves to jansson, and fails on damaged files with the same
 * messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/index.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* Writes <dir>/<name>.jsonl and an info file saying it holds items items. */
static void write_prepared(const char *dir, const char *name, const char *lines, long items)
{
    char *p = lleval_xasprintf("%s.jsonl", name);
    char *info = lleval_xasprintf("{\"dataset\":\"%s\",\"items\":%ld}\n", name, items);
    char *q = lleval_xasprintf("%s.info.json", name);
    free(tu_write(dir, p, lines));
    free(tu_write(dir, q, info));
    free(p);
    free(q);
    free(info);
}

/* Every string of a JSON array, as the index keeps them. */
static void assert_strings(const json_t *arr, const char *const *v, size_t n)
{
    size_t i, k = 0;
    const json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (!json_is_string(x))
            continue;
        assert_true(k < n);
        assert_string_equal(json_string_value(x), v[k]);
        k++;
    }
    assert_int_equal(k, n);
}

static const char lines[] =
    "\xEF\xBB\xBF{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"who?\","
    "\"answers\":[\"A \\\"b\\\"\",\"caf\\u00e9\"],\"meta\":{\"line\":1}}\n"
    "{\"id\":\"q2\",\"dataset\":\"ds\",\"type\":\"multiple_choice\",\"question\":\"pick\","
    "\"choices\":[\"x\",\"y\",\"z\"],\"answers\":[\"B\"]}\n"
    "\n"
    "{\"id\":\"q3\",\"dataset\":\"ds\",\"type\":\"open_book\",\"context\":\"ctx\",\"question\":"
    "\"\","
    "\"answers\":[1,\"one\",null],\"meta\":{\"a\":[1,2,{\"b\":\"\\ud83d\\ude00\"}]}}\n"
    "{\"dataset\":\"ds\",\"id\":\"q4\",\"type\":\"closed_book\",\"question\":\"q\\n4\",\"answers\":"
    "[],"
    "\"a_very_long_key_the_scanner_skips\":{\"x\":1e300}}\n";

static void test_index_matches_load(void **state)
{
    char *dir = tu_tmpdir();
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_item_index *ix, *bare;
    json_t *items, *it;
    size_t i;
    (void)state;

    write_prepared(dir, "ds", lines, 4);
    items = lleval_prepared_load(dir, "ds", NULL, &err);
    assert_non_null(items);
    assert_int_equal(lleval_item_index_load(dir, "ds", LLEVAL_INDEX_QUESTIONS, &ix, &err), 0);
    assert_int_equal(lleval_item_index_load(dir, "ds", 0, &bare, &err), 0);
    assert_int_equal(lleval_item_index_count(ix), json_array_size(items));
    json_array_foreach(items, i, it)
    {
        struct lleval_item_entry e;
        assert_true(lleval_item_index_get(ix, lleval_json_str(it, "id"), &e));
        assert_string_equal(e.id, lleval_json_str(it, "id"));
        assert_string_equal(e.type, lleval_json_str(it, "type"));
        assert_string_equal(e.question, lleval_json_str(it, "question"));
        assert_strings(json_object_get(it, "answers"), e.answers, e.n_answers);
        assert_strings(json_object_get(it, "choices"), e.choices, e.n_choices);
        assert_true(lleval_item_index_get(bare, lleval_json_str(it, "id"), &e));
        assert_null(e.question);
        assert_string_equal(e.type, lleval_json_str(it, "type"));
    }
    {
        struct lleval_item_entry e;
        assert_false(lleval_item_index_get(ix, "q9", &e));
        assert_false(lleval_item_index_get(NULL, "q1", &e));
    }
    lleval_item_index_free(ix);
    lleval_item_index_free(bare);
    json_decref(items);
    tu_rmtree(dir);
    free(dir);
}

/* A repeated id: the last item wins, as in the id -> item JSON maps. */
static void test_repeated_id_last_wins(void **state)
{
    char *dir = tu_tmpdir();
    struct lleval_item_index *ix;
    struct lleval_item_entry e;
    (void)state;
    write_prepared(dir, "ds",
                   "{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\","
                   "\"answers\":[\"first\"]}\n"
                   "{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"b\","
                   "\"answers\":[\"second\"]}\n",
                   2);
    assert_int_equal(lleval_item_index_load(dir, "ds", 0, &ix, NULL), 0);
    assert_int_equal(lleval_item_index_count(ix), 1);
    assert_true(lleval_item_index_get(ix, "q1", &e));
    assert_int_equal(e.n_answers, 1);
    assert_string_equal(e.answers[0], "second");
    lleval_item_index_free(ix);
    tu_rmtree(dir);
    free(dir);
}

/* LLEVAL_INDEX_OFFSETS: every item read again from its line gives what the
 * whole index holds (a BOM line and a line left to jansson included); a
 * repeated id is found first or last; "unanswerable" is told; a file
 * changed under the index is an error that says so. */
static void test_offsets_match_index(void **state)
{
    char *dir = tu_tmpdir();
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_item_index *ix, *off;
    static const char *const ids[] = {"q1", "q2", "q3", "q4"};
    size_t v2, no_ans;
    long line;
    (void)state;

    write_prepared(dir, "ds", lines, 4);
    assert_int_equal(lleval_item_index_load(dir, "ds", LLEVAL_INDEX_QUESTIONS, &ix, &err), 0);
    assert_int_equal(lleval_item_index_load(
                         dir, "ds", LLEVAL_INDEX_OFFSETS | LLEVAL_INDEX_QUESTIONS, &off, &err),
                     0);
    assert_int_equal(lleval_item_index_count(off), 4);
    for (size_t pass = 0; pass < 2; pass++) { /* in order, then backwards (seeks) */
        for (size_t k = 0; k < 4; k++) {
            size_t i = pass ? 3 - k : k;
            struct lleval_item_entry a, b;
            assert_int_equal(lleval_item_index_find(off, ids[i], true, &line, &err), 0);
            assert_int_equal(line, (long)i);
            assert_int_equal(lleval_item_index_at(off, (size_t)line, &b, &err), 0);
            assert_true(lleval_item_index_get(ix, ids[i], &a));
            assert_string_equal(a.id, b.id);
            assert_string_equal(a.type, b.type);
            assert_string_equal(a.question, b.question);
            assert_int_equal(a.n_answers, b.n_answers);
            assert_int_equal(a.n_choices, b.n_choices);
            for (size_t n = 0; n < a.n_answers; n++)
                assert_string_equal(a.answers[n], b.answers[n]);
            for (size_t n = 0; n < a.n_choices; n++)
                assert_string_equal(a.choices[n], b.choices[n]);
            assert_int_equal(b.unanswerable, -1);
            assert_true(lleval_item_index_get(off, ids[i], &b));
            assert_string_equal(a.id, b.id);
        }
    }
    assert_int_equal(lleval_item_index_find(off, "q9", true, &line, &err), 0);
    assert_int_equal(line, -1);
    lleval_item_index_free(off);
    lleval_item_index_free(ix);

    write_prepared(dir, "ds",
                   "{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\","
                   "\"answers\":[\"first\"],\"unanswerable\":false}\n"
                   "{\"id\":\"q2\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"c\","
                   "\"answers\":[],\"unanswerable\":true}\n"
                   "{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"b\","
                   "\"answers\":[\"second\"]}\n",
                   3);
    assert_int_equal(lleval_item_index_load(dir, "ds", LLEVAL_INDEX_OFFSETS, &off, &err), 0);
    assert_int_equal(lleval_item_index_count(off), 3);
    lleval_item_index_v2(off, &v2, &no_ans);
    assert_int_equal(v2, 2);
    assert_int_equal(no_ans, 1);
    assert_int_equal(lleval_item_index_find(off, "q1", true, &line, &err), 0);
    assert_int_equal(line, 0);
    {
        struct lleval_item_entry e;
        assert_int_equal(lleval_item_index_at(off, 0, &e, &err), 0);
        assert_int_equal(e.unanswerable, 0);
        assert_null(e.question);
        assert_int_equal(lleval_item_index_at(off, 1, &e, &err), 0);
        assert_int_equal(e.unanswerable, 1);
        assert_int_equal(lleval_item_index_find(off, "q1", false, &line, &err), 0);
        assert_int_equal(line, 2);
        assert_true(lleval_item_index_get(off, "q1", &e));
        assert_string_equal(e.answers[0], "second");
    }
    lleval_item_index_free(off);
#ifndef _WIN32 /* (rewriting a file another handle holds: POSIX only) */
    /* rewritten in place under a new index, shorter, before it read a line: the
     * third line is gone (prepare's atomic replace is never seen: the index reads
     * the file it opened) */
    assert_int_equal(lleval_item_index_load(dir, "ds", LLEVAL_INDEX_OFFSETS, &off, &err), 0);
    {
        struct lleval_item_entry e;
        char *path = lleval_path_join(dir, "ds.jsonl");
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs("{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\","
              "\"question\":\"a\",\"answers\":[]}\n",
              f);
        assert_int_equal(fclose(f), 0);
        free(path);
        assert_int_equal(lleval_item_index_at(off, 2, &e, &err), LLEVAL_EIO);
        tu_assert_contains(err.msg, "changed while lleval read it");
    }
    lleval_item_index_free(off);
#endif
    tu_rmtree(dir);
    free(dir);
}

static void assert_same_entry(const struct lleval_item_entry *a, const struct lleval_item_entry *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->type, b->type);
    assert_string_equal(a->question ? a->question : "(null)", b->question ? b->question : "(null)");
    assert_int_equal(a->n_answers, b->n_answers);
    assert_int_equal(a->n_choices, b->n_choices);
    for (size_t n = 0; n < a->n_answers; n++)
        assert_string_equal(a->answers[n], b->answers[n]);
    for (size_t n = 0; n < a->n_choices; n++)
        assert_string_equal(a->choices[n], b->choices[n]);
    assert_int_equal(a->unanswerable, b->unanswerable);
}

/* Lines read again are kept (a slot per line modulo 8192, the first line to
 * come keeps it, a bounded store): more lines than slots, read in order,
 * backwards, in a random order and in order again, every entry the whole
 * index's, for lines the scanner reads and lines it leaves to jansson. */
static void test_offsets_kept_lines(void **state)
{
    enum { N = 8192 + 700 };
    char *dir = tu_tmpdir();
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_item_index *ix, *off;
    struct lleval_sb text = LLEVAL_SB_INIT;
    uint64_t x = 88172645463325252ULL;
    (void)state;
    lleval_sb_adds(&text, "\xEF\xBB\xBF"); /* line 1's byte order mark: left to jansson too */
    for (long k = 0; k < N; k++) {
        lleval_sb_addf(&text, "{\"id\":\"q%ld\",\"dataset\":\"ds\",", k);
        if (k % 7 == 0)
            lleval_sb_addf(&text,
                           "\"type\":\"multiple_choice\",\"question\":\"pick %ld\","
                           "\"choices\":[\"x%ld\",\"y\",\"z\\u00e9\"],\"answers\":[\"B\"]",
                           k, k);
        else
            lleval_sb_addf(&text,
                           "\"type\":\"open_book\",\"context\":\"%0*d\",\"question\":"
                           "\"q\\n%ld\",\"answers\":[\"a%ld\",%s\"caf\\u00e9\"]",
                           (int)(k % 300), 0, k, k, k % 3 ? "1," : "");
        if (k % 5 == 0)
            lleval_sb_addf(&text, ",\"unanswerable\":%s", k % 10 ? "true" : "false");
        if (k % 11 == 0) /* a line the scanner leaves to jansson */
            lleval_sb_adds(&text, ",\"meta\":{\"n\":1234567890123456789}");
        lleval_sb_adds(&text, "}\n");
    }
    write_prepared(dir, "ds", text.buf, N);
    assert_int_equal(lleval_item_index_load(dir, "ds", LLEVAL_INDEX_QUESTIONS, &ix, &err), 0);
    assert_int_equal(lleval_item_index_load(
                         dir, "ds", LLEVAL_INDEX_OFFSETS | LLEVAL_INDEX_QUESTIONS, &off, &err),
                     0);
    assert_int_equal(lleval_item_index_count(off), N);
    for (int pass = 0; pass < 4; pass++) {
        for (long i = 0; i < N; i++) {
            struct lleval_item_entry a, b;
            char id[32];
            long k = pass == 1 ? N - 1 - i : i, line;
            if (pass == 2) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                k = (long)(x % N);
            }
            snprintf(id, sizeof(id), "q%ld", k);
            assert_int_equal(lleval_item_index_find(off, id, true, &line, &err), 0);
            assert_int_equal(line, k);
            assert_int_equal(lleval_item_index_at(off, (size_t)line, &b, &err), 0);
            assert_true(lleval_item_index_get(ix, id, &a));
            assert_same_entry(&a, &b);
        }
    }
    lleval_item_index_free(off);
    lleval_item_index_free(ix);
    lleval_sb_release(&text);
    tu_rmtree(dir);
    free(dir);
}

/* Damaged files: the index fails with lleval_prepared_load()'s message. */
static void test_damaged_same_errors(void **state)
{
    static const struct {
        const char *lines;
        long items;
        const char *want;
    } cases[] = {
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\"}\n", 1,
         ":1: not a prepared item"},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\","
         "\"answers\":[],\"answers\":[]}\n",
         1, ":1:"},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\","
         "\"answers\":[],\"meta\":{\"x\":1,\"x\":2}}\n",
         1, ":1:"},
        {"{\"id\":\"q1\",\"dataset\":\"other\",\"type\":\"closed_book\",\"question\":\"a\","
         "\"answers\":[]}\n",
         1, "belongs to dataset 'other'"},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\","
         "\"answers\":[]}\n",
         2, "holds 1 items but its info file says 2"},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"open_book\",\"question\":\"a\","
         "\"answers\":[]}\n",
         1, "without a string \"context\""},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"book\",\"question\":\"a\",\"answers\":[]}\n",
         1, "no valid \"type\""},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\xff\","
         "\"answers\":[]}\n",
         1, "invalid UTF-8"},
    };
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lleval_err e1 = LLEVAL_ERR_INIT, e2 = LLEVAL_ERR_INIT;
        struct lleval_item_index *ix = (struct lleval_item_index *)dir;
        write_prepared(dir, "ds", cases[i].lines, cases[i].items);
        assert_null(lleval_prepared_load(dir, "ds", NULL, &e1));
        assert_int_not_equal(lleval_item_index_load(dir, "ds", 0, &ix, &e2), 0);
        assert_null(ix);
        assert_int_equal(e1.code, e2.code);
        assert_string_equal(e1.msg, e2.msg);
        tu_assert_contains(e2.msg, cases[i].want);
        ix = (struct lleval_item_index *)dir;
        assert_int_not_equal(lleval_item_index_load(dir, "ds", LLEVAL_INDEX_OFFSETS, &ix, &e2), 0);
        assert_null(ix);
        assert_string_equal(e1.msg, e2.msg);
    }
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_matches_load),  cmocka_unit_test(test_repeated_id_last_wins),
        cmocka_unit_test(test_offsets_match_index), cmocka_unit_test(test_offsets_kept_lines),
        cmocka_unit_test(test_damaged_same_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
