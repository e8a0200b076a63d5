/* Unit tests for the streaming side of prepare and build (issue 13): the item
 * reader (lib/dataset/item_reader.c) gives what lleval_prepared_load() reads,
 * for lines the scanner reads and lines it leaves to jansson, and fails on
 * damaged files with the same messages; the streamed prepare (writer.c)
 * reports duplicate ids as before and leaves no file behind on failure;
 * lleval_dataset_prepare_run() never writes a prepared file cut short by its
 * limit; the atomic writer in pieces (lib/platform/atomic_file.c). */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/item_reader.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

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

static void assert_str_or_null(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static const char lines[] =
    "\xEF\xBB\xBF{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"who?\","
    "\"answers\":[\"A \\\"b\\\"\",\"caf\\u00e9\"],\"meta\":{\"line\":1}}\n"
    "{\"id\":\"q2\",\"dataset\":\"ds\",\"type\":\"multiple_choice\",\"question\":\"pick\","
    "\"choices\":[\"x\",\"y\\/\",\"z\\u00e9\"],\"answers\":[\"B\"]}\n"
    "\n"
    "{\"id\":\"q3\",\"dataset\":\"ds\",\"type\":\"open_book\",\"context\":\"ctx\\t\",\"question\":"
    "\"\",\"unanswerable\":false,"
    "\"answers\":[1,\"one\",null],\"meta\":{\"a\":[1,2,{\"b\":\"\\ud83d\\ude00\"}]}}\n"
    "{\"dataset\":\"ds\",\"id\":\"q4\",\"type\":\"closed_book\",\"question\":\"q\\n4\",\"answers\":"
    "[],\"context\":7,"
    "\"a_very_long_key_the_scanner_skips\":{\"x\":1e300}}\n"
    "{\"id\":\"q5\",\"dataset\":\"ds\",\"type\":\"multiple_choice\",\"question\":\"odd\","
    "\"choices\":[\"x\",3,\"z\"],\"answers\":[\"A\"]}\n"
    "{\"id\":\"q6\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"c\","
    "\"choices\":{\"not\":\"an array\"},\"answers\":[]}\n";

static void test_reader_matches_load(void **state)
{
    char *dir = tu_tmpdir();
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_item_reader rd;
    const struct lleval_item_view *v;
    json_t *items;
    size_t k = 0;
    int rc;
    (void)state;

    write_prepared(dir, "ds", lines, 6);
    items = lleval_prepared_load(dir, "ds", NULL, &err);
    assert_non_null(items);
    assert_int_equal(lleval_item_reader_open(&rd, dir, "ds", &err), 0);
    while ((rc = lleval_item_reader_next(&rd, &v, &err)) == 1) {
        struct lleval_item_view w;
        const char **cs;
        assert_true(k < json_array_size(items));
        lleval_item_view_from_json(json_array_get(items, k), &w, &cs);
        assert_string_equal(v->id, w.id);
        assert_string_equal(v->dataset, w.dataset);
        assert_int_equal(v->type, w.type);
        assert_str_or_null(v->question, w.question);
        assert_str_or_null(v->context, w.context);
        assert_int_equal(v->unanswerable, w.unanswerable);
        assert_int_equal(v->n_choices, w.n_choices);
        for (size_t i = 0; i < v->n_choices; i++)
            assert_string_equal(v->choices[i], w.choices[i]);
        free(cs);
        k++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(k, 6);
    lleval_item_reader_close(&rd);
    json_decref(items);
    tu_rmtree(dir);
    free(dir);
}

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
        {"{\"id\":\"q1\",\"dataset\":\"other\",\"type\":\"closed_book\",\"question\":\"a\","
         "\"answers\":[]}\n",
         1, "belongs to dataset 'other'"},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\","
         "\"answers\":[]}\n",
         2, "holds 1 items but its info file says 2"},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"open_book\",\"question\":\"a\","
         "\"answers\":[]}\n",
         1, "without a string \"context\""},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"multiple_choice\",\"question\":\"a\","
         "\"answers\":[]}\n",
         1, "without a \"choices\" array"},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"book\",\"question\":\"a\",\"answers\":[]}\n",
         1, "no valid \"type\""},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\xff\","
         "\"answers\":[]}\n",
         1, "invalid UTF-8"},
        {"{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"a\","
         "\"answers\":[]}",
         1, "cut off"},
    };
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lleval_err e1 = LLEVAL_ERR_INIT, e2 = LLEVAL_ERR_INIT;
        struct lleval_item_reader rd;
        const struct lleval_item_view *v;
        int rc;
        write_prepared(dir, "ds", cases[i].lines, cases[i].items);
        assert_null(lleval_prepared_load(dir, "ds", NULL, &e1));
        assert_int_equal(lleval_item_reader_open(&rd, dir, "ds", &e2), 0);
        while ((rc = lleval_item_reader_next(&rd, &v, &e2)) == 1)
            ;
        lleval_item_reader_close(&rd);
        assert_true(rc < 0);
        assert_int_equal(e1.code, e2.code);
        assert_string_equal(e1.msg, e2.msg);
        tu_assert_contains(e2.msg, cases[i].want);
    }
    tu_rmtree(dir);
    free(dir);
}

static struct lleval_dataset_cfg cfg_of(const char *name, const char *format, const char *path)
{
    struct lleval_dataset_cfg c;
    memset(&c, 0, sizeof(c));
    c.name = (char *)name;
    c.format = (char *)format;
    c.path = (char *)path;
    c.csv_header = true;
    return c;
}

/* Enough JSONL records that the prepared file is written in several blocks. */
static char *many_records(long n, const char *last)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (long i = 1; i <= n; i++)
        lleval_sb_addf(&sb,
                       "{\"id\":\"id-%ld\",\"question\":\"question number %ld, a little longer "
                       "so that the file grows\",\"answers\":[\"a%ld\"]}\n",
                       i, i, i);
    if (last)
        lleval_sb_adds(&sb, last);
    return lleval_sb_detach(&sb, NULL);
}

static void test_stream_duplicate_leaves_old_file(void **state)
{
    char *dir = tu_tmpdir(), *prep = lleval_path_join(dir, "prep");
    char *good = many_records(5000, NULL);
    char *bad =
        many_records(5000, "{\"id\":\"id-17\",\"question\":\"again\",\"answers\":[\"x\"]}\n");
    char *src = tu_write(dir, "src.jsonl", good), *out, *before, *after;
    struct lleval_dataset_cfg c = cfg_of("g", "jsonl", src);
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_dataset_cfg *cp = &c;
    struct lleval_dir_list list;
    (void)state;

    cp->has_type = true;
    cp->type = LLEVAL_CLOSED_BOOK;
    assert_int_equal(lleval_dataset_prepare(&c, prep, 0, NULL, &err), 0);
    out = lleval_prepared_path(prep, "g");
    before = tu_read(out);
    assert_true(strlen(before) > 512 * 1024);
    free(tu_write(dir, "src.jsonl", bad));
    assert_int_equal(lleval_dataset_prepare(&c, prep, 0, NULL, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "src.jsonl:5001: duplicate id 'id-17' (first used at ");
    tu_assert_contains(err.msg, "src.jsonl:17)");
    after = tu_read(out);
    assert_string_equal(before, after); /* the previous prepared file stays */
    assert_int_equal(lleval_list_dir(prep, &list, NULL), 0);
    assert_int_equal(list.n, 2); /* no temp file left */
    lleval_dir_list_release(&list);
    free(before);
    free(after);
    free(out);
    free(src);
    free(good);
    free(bad);
    free(prep);
    tu_rmtree(dir);
    free(dir);
}

static long info_long(const char *prep, const char *name, const char *key)
{
    json_t *info = lleval_prepared_info(prep, name, NULL);
    long v = (long)json_integer_value(json_object_get(info, key));
    json_decref(info);
    return v;
}

static void test_prepare_run_never_cut_short(void **state)
{
    char *dir = tu_tmpdir(), *prep = lleval_path_join(dir, "prep");
    char *recs = many_records(50, NULL), *src = tu_write(dir, "src.jsonl", recs);
    struct lleval_dataset_cfg c = cfg_of("g", "jsonl", src);
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_prepare_stats st;
    char *out = lleval_prepared_path(prep, "g"), *text;
    (void)state;

    c.has_type = true;
    c.type = LLEVAL_CLOSED_BOOK;
    lleval_prepare_stats_init(&st);
    /* nothing prepared yet: the whole source */
    assert_int_equal(lleval_dataset_prepare_run(&c, prep, 5, &st, &err), 0);
    assert_int_equal(st.items, 50);
    assert_int_equal(info_long(prep, "g", "items"), 50);
    assert_int_equal(info_long(prep, "g", "limit_items"), 0);
    /* a late record changed: the first 5 are the same, the whole file stays */
    free(recs);
    recs = many_records(50, NULL);
    recs[strlen(recs) - 6] = 'Z'; /* the last answer, "a50" -> "aZ0" */
    free(tu_write(dir, "src.jsonl", recs));
    assert_int_equal(lleval_dataset_prepare_run(&c, prep, 5, &st, &err), 0);
    assert_int_equal(st.items, 50);
    text = tu_read(out);
    assert_null(strstr(text, "Z"));
    free(text);
    /* an early record changed: the whole source again */
    recs[40] = 'Y';
    free(tu_write(dir, "src.jsonl", recs));
    assert_int_equal(lleval_dataset_prepare_run(&c, prep, 5, &st, &err), 0);
    text = tu_read(out);
    assert_non_null(strstr(text, "Y"));
    assert_non_null(strstr(text, "Z"));
    free(text);
    assert_int_equal(info_long(prep, "g", "items"), 50);
    /* a file cut short by `lleval prepare --limit_items` is never taken as whole */
    assert_int_equal(lleval_dataset_prepare(&c, prep, 3, &st, &err), 0);
    assert_int_equal(info_long(prep, "g", "items"), 3);
    assert_int_equal(lleval_dataset_prepare_run(&c, prep, 2, &st, &err), 0);
    assert_int_equal(info_long(prep, "g", "items"), 50);
    assert_int_equal(info_long(prep, "g", "limit_items"), 0);
    /* a limit above the source's size reads it all: a whole prepare */
    assert_int_equal(lleval_dataset_prepare_run(&c, prep, 500, &st, &err), 0);
    assert_int_equal(info_long(prep, "g", "items"), 50);
    assert_int_equal(info_long(prep, "g", "limit_items"), 0);
    lleval_prepare_stats_release(&st);
    free(out);
    free(src);
    free(recs);
    free(prep);
    tu_rmtree(dir);
    free(dir);
}

static void test_atomic_file(void **state)
{
    char *dir = tu_tmpdir(), *path = lleval_path_join(dir, "f.txt"), *text;
    struct lleval_atomic_file af;
    struct lleval_dir_list list;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    free(tu_write(dir, "f.txt", "old"));
    assert_int_equal(lleval_atomic_open(&af, path, &err), 0);
    assert_int_equal(lleval_atomic_write(&af, "new ", 4, &err), 0);
    text = tu_read(path);
    assert_string_equal(text, "old"); /* nothing in place before the commit */
    free(text);
    lleval_atomic_abort(&af);
    text = tu_read(path);
    assert_string_equal(text, "old");
    free(text);
    assert_int_equal(lleval_list_dir(dir, &list, NULL), 0);
    assert_int_equal(list.n, 1);
    lleval_dir_list_release(&list);

    assert_int_equal(lleval_atomic_open(&af, path, &err), 0);
    assert_int_equal(lleval_atomic_write(&af, "new ", 4, &err), 0);
    assert_int_equal(lleval_atomic_write(&af, "text", 4, &err), 0);
    assert_int_equal(lleval_atomic_finish(&af, &err), 0);
    assert_int_equal(lleval_atomic_commit(&af, &err), 0);
    text = tu_read(path);
    assert_string_equal(text, "new text");
    free(text);
    lleval_atomic_abort(&af); /* released: nothing to do */
    assert_int_equal(lleval_list_dir(dir, &list, NULL), 0);
    assert_int_equal(list.n, 1);
    lleval_dir_list_release(&list);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_matches_load),
        cmocka_unit_test(test_damaged_same_errors),
        cmocka_unit_test(test_stream_duplicate_leaves_old_file),
        cmocka_unit_test(test_prepare_run_never_cut_short),
        cmocka_unit_test(test_atomic_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
