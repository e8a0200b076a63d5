/*
 * Unit tests for the dataset importers and prepared files: the real shared
 * datasets (NQ-open, XQuAD, MMLU) when present, and broken inputs generated
 * here (bad JSON, missing and mistyped fields, invalid UTF-8, duplicate ids,
 * empty files), skips, field mappings, limits, and atomicity on failure.
 */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static struct lleval_dataset_cfg mkcfg(const char *name, const char *format, const char *path)
{
    struct lleval_dataset_cfg c;
    memset(&c, 0, sizeof(c));
    c.name = (char *)name;
    c.format = (char *)format;
    c.path = (char *)path;
    c.csv_header = true;
    return c;
}

static void set_type(struct lleval_dataset_cfg *c, enum lleval_item_type t)
{
    c->has_type = true;
    c->type = t;
}

/* Prepares and expects success; returns the loaded items (owned). */
static json_t *prepare_ok(const struct lleval_dataset_cfg *c, const char *dir, long limit,
                          struct lleval_prepare_stats *st)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *items;
    int rc = lleval_dataset_prepare(c, dir, limit, st, &err);
    if (rc) {
        print_error("prepare '%s' failed (%d): %s\n", c->name, rc, err.msg);
        fail();
    }
    items = lleval_prepared_load(dir, c->name, NULL, &err);
    if (!items) {
        print_error("load '%s' failed: %s\n", c->name, err.msg);
        fail();
    }
    return items;
}

/* Prepares, expects LLEVAL_EINVAL, and checks the message for each needle (NULL-terminated). */
static void prepare_fails(const struct lleval_dataset_cfg *c, const char *dir, ...)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_prepare_stats st;
    const char *needle;
    va_list ap;
    int rc;

    lleval_prepare_stats_init(&st);
    rc = lleval_dataset_prepare(c, dir, 0, &st, &err);
    lleval_prepare_stats_release(&st);
    if (rc != LLEVAL_EINVAL) {
        print_error("prepare '%s': expected LLEVAL_EINVAL, got %d (%s)\n", c->name, rc, err.msg);
        fail();
    }
    va_start(ap, dir);
    while ((needle = va_arg(ap, const char *)))
        tu_assert_contains(err.msg, needle);
    va_end(ap);
}

static json_t *find_item(const json_t *items, const char *id)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!strcmp(lleval_json_str(it, "id"), id))
            return it;
    }
    print_error("item '%s' not found\n", id);
    fail();
    return NULL;
}

static void assert_answers(const json_t *item, const char *const *want, size_t n)
{
    const json_t *a = json_object_get(item, "answers");
    assert_int_equal(json_array_size(a), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_array_get(a, i)), want[i]);
}

/* ---- real datasets -------------------------------------------------------- */

static void test_nq_open_real(void **state)
{
    char *src = tu_shared("datasets/nq_open/NQ-open.dev.jsonl");
    char *dir;
    struct lleval_dataset_cfg c;
    struct lleval_prepare_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *items, *info = NULL, *it;
    static const char *const first[] = {"14 December 1972 UTC", "December 1972"};
    (void)state;
    if (!src)
        skip();
    dir = tu_tmpdir();
    c = mkcfg("nq_open", "nq_open", src);
    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 0, &st);
    assert_int_equal(st.items, 3610);
    assert_int_equal(st.skipped_total, 0);
    assert_false(st.limited);
    assert_string_equal(st.type, "closed_book");
    assert_string_equal(st.scoring, "nq");
    tu_assert_contains(st.output_path, "nq_open.jsonl");
    assert_int_equal(json_array_size(items), 3610);

    it = json_array_get(items, 0);
    assert_string_equal(lleval_json_str(it, "id"), "nq-00001");
    assert_string_equal(lleval_json_str(it, "dataset"), "nq_open");
    assert_string_equal(lleval_json_str(it, "type"), "closed_book");
    assert_string_equal(lleval_json_str(it, "question"),
                        "when was the last time anyone was on the moon");
    assert_null(json_object_get(it, "context"));
    assert_null(json_object_get(it, "choices"));
    assert_answers(it, first, 2);
    assert_int_equal(lleval_json_int(json_object_get(it, "meta"), "line", 0), 1);
    assert_string_equal(lleval_json_str(json_array_get(items, 3609), "id"), "nq-03610");

    json_decref(items);
    items = lleval_prepared_load(dir, "nq_open", &info, &err);
    assert_non_null(items);
    assert_int_equal(lleval_json_int(info, "items", 0), 3610);
    assert_string_equal(lleval_json_str(info, "format"), "nq_open");
    assert_string_equal(lleval_json_str(info, "scoring"), "nq");
    assert_string_equal(lleval_json_str(info, "type"), "closed_book");
    assert_string_equal(lleval_json_str(info, "source"), src);
    assert_non_null(lleval_json_str(info, "prepared_at"));
    assert_true(json_is_object(json_object_get(info, "skipped")));
    json_decref(info);
    json_decref(items);
    lleval_prepare_stats_release(&st);
    tu_rmtree(dir);
    free(dir);
    free(src);
}

static void test_xquad_real(void **state)
{
    char *src = tu_shared("datasets/xquad/xquad.en.json");
    char *dir;
    struct lleval_dataset_cfg c;
    struct lleval_prepare_stats st;
    json_t *items, *it;
    static const char *const gold[] = {"308"};
    (void)state;
    if (!src)
        skip();
    dir = tu_tmpdir();
    c = mkcfg("xquad", "squad", src);
    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 0, &st);
    assert_int_equal(st.items, 1190);
    assert_string_equal(st.type, "open_book");
    assert_string_equal(st.scoring, "squad");
    assert_int_equal(json_array_size(items), 1190);
    it = find_item(items, "56beb4343aeaaa14008c925b");
    assert_ptr_equal(it, json_array_get(items, 0));
    assert_string_equal(lleval_json_str(it, "question"),
                        "How many points did the Panthers defense surrender?");
    assert_answers(it, gold, 1);
    assert_true(lleval_str_starts_with(lleval_json_str(it, "context"),
                                       "The Panthers defense gave up just 308 points"));
    assert_string_equal(lleval_json_str(json_object_get(it, "meta"), "title"), "Super_Bowl_50");
    json_decref(items);
    lleval_prepare_stats_release(&st);

    /* The same file closed book: no passages. */
    set_type(&c, LLEVAL_CLOSED_BOOK);
    c.name = "xquad_cb";
    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 5, &st);
    assert_int_equal(json_array_size(items), 5);
    assert_true(st.limited);
    assert_string_equal(st.scoring, "squad");
    assert_null(json_object_get(json_array_get(items, 0), "context"));
    assert_string_equal(lleval_json_str(json_array_get(items, 0), "type"), "closed_book");
    json_decref(items);
    lleval_prepare_stats_release(&st);
    tu_rmtree(dir);
    free(dir);
    free(src);
}

static void test_mmlu_real(void **state)
{
    char *src = tu_shared("datasets/mmlu");
    char *dir, *one;
    struct lleval_dataset_cfg c;
    struct lleval_prepare_stats st;
    json_t *items, *it, *meta;
    static const char *const gold[] = {"B"};
    (void)state;
    if (!src)
        skip();
    dir = tu_tmpdir();
    c = mkcfg("mmlu", "mmlu", src);
    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 0, &st);
    assert_int_equal(st.items, 14079);
    assert_string_equal(st.type, "multiple_choice");
    assert_string_equal(st.scoring, "mc");
    assert_int_equal(json_array_size(items), 14079);
    it = json_array_get(items, 0);
    assert_string_equal(lleval_json_str(it, "id"), "abstract_algebra-test-1");
    assert_string_equal(lleval_json_str(it, "question"),
                        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), "
                        "sqrt(18)) over Q.");
    assert_int_equal(json_array_size(json_object_get(it, "choices")), 4);
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "choices"), 1)), "4");
    assert_answers(it, gold, 1);
    meta = json_object_get(it, "meta");
    assert_string_equal(lleval_json_str(meta, "subject"), "abstract_algebra");
    assert_string_equal(lleval_json_str(meta, "split"), "test");
    /* A row with quoted commas: "0,1" and "0,4" are single choices. */
    it = find_item(items, "abstract_algebra-test-3");
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "choices"), 2)),
                        "0,1");
    /* The last file in sorted order. */
    assert_true(lleval_str_starts_with(lleval_json_str(json_array_get(items, 14078), "id"),
                                       "world_religions-test-"));
    json_decref(items);
    lleval_prepare_stats_release(&st);

    /* Other splits from the same folder. */
    c.name = "mmlu_dev";
    c.split = "dev";
    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 0, &st);
    assert_int_equal(st.items, 285);
    assert_string_equal(lleval_json_str(json_array_get(items, 0), "id"), "abstract_algebra-dev-1");
    json_decref(items);
    lleval_prepare_stats_release(&st);

    /* One CSV file: the split comes from its name (over the config's default). */
    one = lleval_path_join(src, "val/anatomy_val.csv");
    c = mkcfg("anatomy", "mmlu", one);
    c.split = "test";
    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 0, &st);
    assert_int_equal(st.items, 14);
    assert_string_equal(lleval_json_str(json_array_get(items, 0), "id"), "anatomy-val-1");
    json_decref(items);
    lleval_prepare_stats_release(&st);

    free(one);
    tu_rmtree(dir);
    free(dir);
    free(src);
}

/* ---- limits and prepared files -------------------------------------------- */

static void test_limit_items(void **state)
{
    char *dir = tu_tmpdir();
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char *src, *raw;
    struct lleval_dataset_cfg c;
    struct lleval_prepare_stats st;
    json_t *items, *info = NULL, *stats_json;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    for (int i = 1; i <= 30; i++)
        lleval_sb_addf(&sb, "{\"question\": \"q%d\", \"answer\": [\"a%d\"]}\n", i, i);
    src = tu_write(dir, "raw/nq.jsonl", sb.buf);
    c = mkcfg("nq", "nq_open", src);
    lleval_prepare_stats_init(&st);
    raw = lleval_path_dirname(src);
    prepare_fails(&c, raw, "would overwrite its own source", NULL);
    free(raw);
    items = prepare_ok(&c, dir, 7, &st);
    assert_int_equal(json_array_size(items), 7);
    assert_int_equal(st.items, 7);
    assert_true(st.limited);
    assert_string_equal(lleval_json_str(json_array_get(items, 6), "id"), "nq-00007");
    stats_json = lleval_prepare_stats_json(&st);
    assert_int_equal(lleval_json_int(stats_json, "items", 0), 7);
    assert_true(json_is_true(json_object_get(stats_json, "limited")));
    json_decref(stats_json);
    json_decref(items);
    items = lleval_prepared_load(dir, "nq", &info, &err);
    assert_non_null(items);
    assert_int_equal(lleval_json_int(info, "limit_items", -1), 7);
    json_decref(info);
    json_decref(items);
    lleval_prepare_stats_release(&st);
    /* A limit above the size takes everything and is not "limited". */
    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 100, &st);
    assert_int_equal(st.items, 30);
    assert_false(st.limited);
    json_decref(items);
    lleval_prepare_stats_release(&st);
    lleval_sb_release(&sb);
    free(src);
    tu_rmtree(dir);
    free(dir);
}

static void test_prepared_load_errors(void **state)
{
    char *dir = tu_tmpdir();
    char *src = tu_write(dir, "raw/nq.jsonl",
                         "{\"question\": \"q1\", \"answer\": [\"a\"]}\n"
                         "{\"question\": \"q2\", \"answer\": [\"b\"]}\n");
    char *out;
    struct lleval_dataset_cfg c = mkcfg("nq", "nq_open", src);
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *items, *index;
    (void)state;

    assert_null(lleval_prepared_load(dir, "missing", NULL, &err));
    assert_int_equal(err.code, LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "run `lleval prepare");
    tu_assert_contains(err.msg, "missing.jsonl");
    assert_null(lleval_prepared_load(dir, "../etc", NULL, &err));

    items = prepare_ok(&c, dir, 0, NULL);
    index = lleval_prepared_index(items);
    assert_ptr_equal(json_object_get(index, "nq-00002"), json_array_get(items, 1));
    json_decref(index);
    json_decref(items);

    /* A prepared file that lost a line no longer matches its info file. */
    out = lleval_prepared_path(dir, "nq");
    free(tu_write(NULL, out,
                  "{\"id\":\"nq-00001\",\"dataset\":\"nq\",\"type\":\"closed_book\","
                  "\"question\":\"q1\",\"answers\":[\"a\"],\"meta\":{}}\n"));
    assert_null(lleval_prepared_load(dir, "nq", NULL, &err));
    tu_assert_contains(err.msg, "holds 1 items but its info file says 2");
    /* A hand-edited item without answers. */
    free(tu_write(NULL, out,
                  "{\"id\":\"nq-00001\",\"dataset\":\"nq\",\"type\":\"closed_book\","
                  "\"question\":\"q1\"}\n"));
    assert_null(lleval_prepared_load(dir, "nq", NULL, &err));
    tu_assert_contains(err.msg, ":1: not a prepared item");
    free(out);
    free(src);
    tu_rmtree(dir);
    free(dir);
}

static void test_failed_prepare_keeps_old_files(void **state)
{
    char *dir = tu_tmpdir();
    char *prepared = lleval_path_join(dir, "prepared");
    char *src = tu_write(dir, "nq.jsonl", "{\"question\": \"q1\", \"answer\": [\"a\"]}\n");
    struct lleval_dataset_cfg c = mkcfg("nq", "nq_open", src);
    char *out = lleval_prepared_path(prepared, "nq");
    char *info = lleval_prepared_info_path(prepared, "nq");
    char *before, *before_info, *after, *after_info;
    (void)state;

    json_decref(prepare_ok(&c, prepared, 0, NULL));
    before = tu_read(out);
    before_info = tu_read(info);
    assert_non_null(before);
    assert_non_null(before_info);

    free(tu_write(NULL, src,
                  "{\"question\": \"q1\", \"answer\": [\"a\"]}\n"
                  "{\"question\": \"q2\", \"answer\": [\"b\"]}\n"
                  "{\"question\": \"q3\", \"answer\": [\"c\"\n"));
    prepare_fails(&c, prepared, ":3:", NULL);
    after = tu_read(out);
    after_info = tu_read(info);
    assert_string_equal(before, after);
    assert_string_equal(before_info, after_info);

    free(before);
    free(before_info);
    free(after);
    free(after_info);
    free(out);
    free(info);
    free(src);
    free(prepared);
    tu_rmtree(dir);
    free(dir);
}

/* ---- broken inputs -------------------------------------------------------- */

struct bad_case {
    const char *name;
    const char *format;
    const char *content;
    size_t len; /* 0: strlen */
    int type;   /* -1: none */
    const char *needle1, *needle2;
};

static const struct bad_case bad_cases[] = {
    {"nq bad json line 3", "nq_open",
     "{\"question\": \"a\", \"answer\": [\"x\"]}\n{\"question\": \"b\", \"answer\": [\"y\"]}\n"
     "{\"question\": \"c\", \"answer\": [\"z\"]\n",
     0, -1, ":3:", "invalid JSON"},
    {"nq missing question", "nq_open", "{\"answer\": [\"x\"]}\n", 0, -1,
     ":1: field 'question' is missing", NULL},
    {"nq answer wrong type", "nq_open", "{\"question\": \"q\", \"answer\": 42}\n", 0, -1,
     ":1: field 'answer' must be a list of strings, found number", NULL},
    {"nq answer element wrong type", "nq_open",
     "{\"question\": \"q\", \"answer\": [\"ok\"]}\n{\"question\": \"q\", \"answer\": [\"ok\", "
     "3]}\n",
     0, -1, ":2: field 'answer' must be a list of strings, but element 2 is a number", NULL},
    {"nq not an object", "nq_open", "[1, 2]\n", 0, -1, ":1: expected a JSON object, found array",
     NULL},
    {"nq invalid utf-8", "nq_open",
     "{\"question\": \"ok\", \"answer\": [\"x\"]}\n{\"question\": \"caf\xe9\", \"answer\": "
     "[\"x\"]}\n",
     0, -1, ":2: invalid UTF-8 at byte offset 17", NULL},
    {"nq nul byte", "nq_open", "{\"question\": \"a\0b\", \"answer\": [\"x\"]}\n",
     sizeof("{\"question\": \"a\0b\", \"answer\": [\"x\"]}\n") - 1, -1, ":1: NUL byte", NULL},
    {"nq empty file", "nq_open", "", 0, -1, "no items", "holds no records"},
    {"nq blank lines only", "nq_open", "\n\n  \n", 0, -1, "no items", NULL},
    {"nq all without answers", "nq_open", "{\"question\": \"q\", \"answer\": []}\n", 0, -1,
     "no items: all 1 records were skipped (no_answers: 1)", NULL},
    {"squad invalid json", "squad", "{\"data\": [\n  {\"title\": \"x\",}\n]}\n", 0, -1,
     ":2:", "invalid JSON"},
    {"squad no data", "squad", "{\"version\": \"1.1\"}", 0, -1, "no \"data\" list", NULL},
    {"squad missing question", "squad",
     "{\"data\": [{\"title\": \"T\", \"paragraphs\": [{\"context\": \"c\", \"qas\": [\n"
     "  {\"id\": \"q1\", \"answers\": [{\"text\": \"a\"}]}]}]}]}\n",
     0, -1, ":2: data[0].paragraphs[0].qas[0]: field 'question' is missing", NULL},
    {"squad context wrong type", "squad",
     "{\"data\": [{\"title\": \"T\", \"paragraphs\": [{\"context\": 5, \"qas\": []}]}]}", 0, -1,
     "data[0].paragraphs[0]: field 'context' must be a string, found number", NULL},
    {"squad duplicate id", "squad",
     "{\"data\": [{\"title\": \"T\", \"paragraphs\": [{\"context\": \"c\", \"qas\": [\n"
     "  {\"id\": \"q1\", \"question\": \"a?\", \"answers\": [{\"text\": \"a\"}]},\n"
     "  {\"id\": \"q1\", \"question\": \"b?\", \"answers\": [{\"text\": \"b\"}]}]}]}]}\n",
     0, -1, ":3 (data[0].paragraphs[0].qas[1]): duplicate id 'q1'",
     ":2 (data[0].paragraphs[0].qas[0])"},
    {"squad invalid utf-8", "squad", "{\"data\": [\n{\"title\": \"\xff\"}]}", 0, -1,
     ":2:12: invalid UTF-8", NULL},
    {"mmlu wrong field count", "mmlu", "q,a,b,c,d,A\nq2,a,b,c,A\n", 0, -1, ":2: expected 6 fields",
     "found 5"},
    {"mmlu bad letter", "mmlu", "q,a,b,c,d,E\n", 0, -1,
     ":1: the answer (field 6) must be one of the letters", NULL},
    {"mmlu stray quote", "mmlu", "q,a,b,c,d,A\nq\"x,a,b,c,d,A\n", 0, -1, ":2: stray double quote",
     NULL},
    {"mmlu unterminated quote", "mmlu", "q,a,b,c,d,A\n\"open,a,b,c,d,A\n", 0, -1,
     ":2: unterminated quoted field", NULL},
    {"mmlu invalid utf-8", "mmlu", "q,a,b\xc3,c,d,A\n", 0, -1,
     ":1: invalid UTF-8 in choice B (field 3) at byte offset 1", NULL},
    {"jsonl needs type", "jsonl", "{\"question\": \"q\", \"answers\": \"a\"}\n", 0, -1,
     "needs 'type'", NULL},
    {"jsonl missing answers", "jsonl", "{\"question\": \"q\"}\n", 0, LLEVAL_CLOSED_BOOK,
     ":1: field 'answers' is missing", "fields.answers"},
    {"jsonl duplicate id", "jsonl",
     "{\"id\": \"x\", \"question\": \"q\", \"answers\": \"a\"}\n\n"
     "{\"id\": \"x\", \"question\": \"q2\", \"answers\": \"b\"}\n",
     0, LLEVAL_CLOSED_BOOK, ":3: duplicate id 'x'", ":1)"},
    {"jsonl open book without context", "jsonl", "{\"question\": \"q\", \"answers\": \"a\"}\n", 0,
     LLEVAL_OPEN_BOOK, ":1: field 'context' is missing", "fields.context"},
    {"jsonl mc bad answer", "jsonl",
     "{\"question\": \"q\", \"choices\": [\"x\", \"y\"], \"answers\": \"C\"}\n", 0,
     LLEVAL_MULTIPLE_CHOICE, ":1: field 'answers': answer 'C' is neither a choice letter (A-B)",
     NULL},
    {"jsonl id wrong type", "jsonl", "{\"id\": [1], \"question\": \"q\", \"answers\": \"a\"}\n", 0,
     LLEVAL_CLOSED_BOOK, ":1: field 'id' must be a string or an integer, found array", NULL},
    {"csv missing column", "csv", "q,answers\nwhat,that\n", 0, LLEVAL_CLOSED_BOOK,
     ":1: no column 'question' in the header (columns: 'q', 'answers')", "fields.question"},
    {"csv short row", "csv", "question,answers\nwhat,that\nonly\n", 0, LLEVAL_CLOSED_BOOK,
     ":3: row has 1 fields but the header has 2", NULL},
    {"csv bad json array", "csv", "question,answers\nwhat,\"[\"\"a\"\", \"\n", 0,
     LLEVAL_CLOSED_BOOK, ":2: column 'answers' starts with '[' but is not a JSON array", NULL},
    {"csv header only", "csv", "question,answers\n", 0, LLEVAL_CLOSED_BOOK, "no items", NULL},
    {"unknown format", "sqad", "{}", 0, -1, "unknown format 'sqad'; did you mean 'squad'?", NULL},
    {"type does not fit", "nq_open", "{}", 0, LLEVAL_MULTIPLE_CHOICE,
     "type 'multiple_choice' does not fit format 'nq_open'", NULL},
};

static void test_bad_inputs(void **state)
{
    char *dir = tu_tmpdir();
    char *prepared = lleval_path_join(dir, "prepared");
    char *out = lleval_prepared_path(prepared, "broken");
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *bc = &bad_cases[i];
        size_t len = bc->len ? bc->len : strlen(bc->content);
        const char *ext = !strcmp(bc->format, "squad")                                ? "json"
                          : !strcmp(bc->format, "mmlu") || !strcmp(bc->format, "csv") ? "csv"
                                                                                      : "jsonl";
        char *name = lleval_xasprintf("case%zu_test.%s", i, ext);
        char *src = tu_write_bytes(dir, name, bc->content, len);
        struct lleval_dataset_cfg c = mkcfg("broken", bc->format, src);
        struct lleval_err err = LLEVAL_ERR_INIT;
        int rc;
        if (bc->type >= 0)
            set_type(&c, (enum lleval_item_type)bc->type);
        rc = lleval_dataset_prepare(&c, prepared, 0, NULL, &err);
        if (rc != LLEVAL_EINVAL || !strstr(err.msg, bc->needle1) ||
            (bc->needle2 && !strstr(err.msg, bc->needle2))) {
            print_error("case '%s': rc %d, message \"%s\"\n  expected \"%s\"%s%s\n", bc->name, rc,
                        err.msg, bc->needle1, bc->needle2 ? " and " : "",
                        bc->needle2 ? bc->needle2 : "");
            fail();
        }
        /* Input errors name the file (config errors name the dataset). */
        if (strstr(bc->needle1, ":"))
            tu_assert_contains(err.msg, src);
        assert_false(lleval_path_exists(out));
        free(src);
        free(name);
    }
    free(out);
    free(prepared);
    tu_rmtree(dir);
    free(dir);
}

/* ---- skips and mappings --------------------------------------------------- */

static void test_squad_v2_skips(void **state)
{
    char *dir = tu_tmpdir();
    char *src = tu_write(
        dir, "v2.json",
        "\xef\xbb\xbf{\"version\": \"v2.0\", \"data\": [{\"title\": \"T\", \"paragraphs\": [\n"
        " {\"context\": \"The sky is blue.\", \"qas\": [\n"
        "  {\"id\": \"a1\", \"question\": \"Colour?\", \"answers\": [{\"text\": \"blue\", "
        "\"answer_start\": 11}, {\"text\": \"blue\", \"answer_start\": 11}, {\"text\": \"Blue\"}], "
        "\"is_impossible\": false},\n"
        "  {\"id\": \"a2\", \"question\": \"Who?\", \"answers\": [], \"plausible_answers\": "
        "[{\"text\": \"sky\"}], \"is_impossible\": true},\n"
        "  {\"id\": \"a3\", \"question\": \"When?\", \"answers\": [], \"is_impossible\": true},\n"
        "  {\"id\": \"a4\", \"question\": \"Why?\", \"answers\": [{\"text\": \"  \"}]}\n"
        " ]}]}]}\n");
    struct lleval_dataset_cfg c = mkcfg("sq2", "squad", src);
    struct lleval_prepare_stats st;
    json_t *items, *info = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    static const char *const gold[] = {"blue", "Blue"};
    (void)state;

    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 0, &st);
    /* unanswerable questions are kept with no gold answer (issue 11): only a4 is skipped */
    assert_int_equal(st.items, 3);
    assert_int_equal(st.skipped_total, 1);
    assert_int_equal(lleval_json_int(st.skipped, "unanswerable", 0), 0);
    assert_int_equal(lleval_json_int(st.skipped, "no_answers", 0), 1);
    assert_answers(json_array_get(items, 0), gold, 2);
    assert_true(json_is_false(json_object_get(json_array_get(items, 0), "unanswerable")));
    for (size_t i = 1; i < 3; i++) {
        assert_true(json_is_true(json_object_get(json_array_get(items, i), "unanswerable")));
        assert_int_equal(json_array_size(json_object_get(json_array_get(items, i), "answers")), 0);
    }
    assert_string_equal(lleval_json_str(json_array_get(items, 0), "context"), "The sky is blue.");
    assert_int_equal(lleval_json_int(json_object_get(json_array_get(items, 0), "meta"), "line", 0),
                     3);
    json_decref(items);
    items = lleval_prepared_load(dir, "sq2", &info, &err);
    assert_int_equal(json_array_size(items), 3);
    assert_int_equal(lleval_json_int(json_object_get(info, "skipped"), "no_answers", 0), 1);
    json_decref(info);
    json_decref(items);
    lleval_prepare_stats_release(&st);
    free(src);
    tu_rmtree(dir);
    free(dir);
}

static void test_generic_jsonl_mapping(void **state)
{
    char *dir = tu_tmpdir();
    char *src = tu_write(
        dir, "g.jsonl",
        "\xef\xbb\xbf{\"qid\": \"first\", \"prompt\": \"Capital of France?\", \"gold\": "
        "\"Paris\"}\n"
        "{\"prompt\": \"2+2?\", \"gold\": [\"4\", \"four\"]}\n"
        "\n"
        "{\"qid\": 17, \"prompt\": \"Nothing?\", \"gold\": []}\n"
        "{\"qid\": 18, \"prompt\": \"Colour of snow?\", \"gold\": [\"white\"], \"x\": 1}\n");
    struct lleval_dataset_cfg c = mkcfg("gen", "jsonl", src);
    struct lleval_prepare_stats st;
    json_t *items;
    static const char *const g1[] = {"Paris"};
    static const char *const g2[] = {"4", "four"};
    (void)state;
    set_type(&c, LLEVAL_CLOSED_BOOK);
    c.field_id = "qid";
    c.field_question = "prompt";
    c.field_answers = "gold";
    lleval_prepare_stats_init(&st);
    items = prepare_ok(&c, dir, 0, &st);
    assert_int_equal(json_array_size(items), 3);
    assert_int_equal(lleval_json_int(st.skipped, "no_answers", 0), 1);
    assert_string_equal(st.scoring, "nq");
    assert_string_equal(lleval_json_str(json_array_get(items, 0), "id"), "first");
    assert_answers(json_array_get(items, 0), g1, 1);
    assert_string_equal(lleval_json_str(json_array_get(items, 1), "id"), "gen-2");
    assert_answers(json_array_get(items, 1), g2, 2);
    assert_string_equal(lleval_json_str(json_array_get(items, 2), "id"), "18");
    assert_int_equal(lleval_json_int(json_object_get(json_array_get(items, 2), "meta"), "line", 0),
                     5);
    json_decref(items);
    lleval_prepare_stats_release(&st);
    free(src);
    tu_rmtree(dir);
    free(dir);
}

static void test_generic_multiple_choice(void **state)
{
    char *dir = tu_tmpdir();
    char *src = tu_write(
        dir, "raw/mc.jsonl",
        "{\"question\": \"q1\", \"choices\": [\"red\", \"green\", \"blue\"], \"answers\": \"b\"}\n"
        "{\"question\": \"q2\", \"choices\": [\"red\", \"green\", \"blue\"], \"answers\": "
        "\"blue\"}\n"
        "{\"question\": \"q3\", \"choices\": [\"red\", \"green\", \"blue\"], \"answers\": 0}\n"
        "{\"question\": \"q4\", \"choices\": [\"red\", \"green\", \"blue\"], \"answers\": "
        "[\"C\"]}\n");
    struct lleval_dataset_cfg c = mkcfg("mc", "jsonl", src);
    json_t *items;
    static const char *const want[] = {"B", "C", "A", "C"};
    (void)state;
    set_type(&c, LLEVAL_MULTIPLE_CHOICE);
    items = prepare_ok(&c, dir, 0, NULL);
    assert_int_equal(json_array_size(items), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *it = json_array_get(items, i);
        assert_answers(it, &want[i], 1);
        assert_int_equal(json_array_size(json_object_get(it, "choices")), 3);
        assert_string_equal(lleval_json_str(it, "type"), "multiple_choice");
    }
    json_decref(items);
    free(src);
    tu_rmtree(dir);
    free(dir);
}

static void test_generic_csv(void **state)
{
    char *dir = tu_tmpdir();
    char *src =
        tu_write(dir, "g.csv",
                 "\xef\xbb\xbfkey,passage,ask,gold\r\n"
                 "k1,\"Line one,\r\nline two\",\"What is \"\"two\"\"?\",line two\r\n"
                 "\r\n"
                 ",\"Caf\xc3\xa9 au lait\",Drink?,\"[\"\"caf\xc3\xa9\"\", \"\"coffee\"\"]\"\r\n");
    char *nohdr = tu_write(dir, "n.csv", "What?,that\nWho?,\"me, myself\"\n");
    struct lleval_dataset_cfg c = mkcfg("gcsv", "csv", src);
    json_t *items, *it;
    static const char *const g1[] = {"line two"};
    static const char *const g2[] = {"caf\xc3\xa9", "coffee"};
    static const char *const g3[] = {"me, myself"};
    (void)state;
    set_type(&c, LLEVAL_OPEN_BOOK);
    c.field_id = "key";
    c.field_context = "passage";
    c.field_question = "ask";
    c.field_answers = "gold";
    items = prepare_ok(&c, dir, 0, NULL);
    assert_int_equal(json_array_size(items), 2);
    it = json_array_get(items, 0);
    assert_string_equal(lleval_json_str(it, "id"), "k1");
    assert_string_equal(lleval_json_str(it, "context"), "Line one,\r\nline two");
    assert_string_equal(lleval_json_str(it, "question"), "What is \"two\"?");
    assert_answers(it, g1, 1);
    assert_int_equal(lleval_json_int(json_object_get(it, "meta"), "line", 0), 2);
    it = json_array_get(items, 1);
    assert_string_equal(lleval_json_str(it, "id"), "gcsv-2"); /* empty id cell */
    assert_answers(it, g2, 2);
    assert_int_equal(lleval_json_int(json_object_get(it, "meta"), "line", 0), 5);
    json_decref(items);

    /* Without a header, fields are mapped by column number. */
    c = mkcfg("gcsv2", "csv", nohdr);
    set_type(&c, LLEVAL_CLOSED_BOOK);
    c.csv_header = false;
    prepare_fails(&c, dir, "so fields.question must be a column number", NULL);
    c.field_question = "1";
    c.field_answers = "2";
    items = prepare_ok(&c, dir, 0, NULL);
    assert_int_equal(json_array_size(items), 2);
    assert_answers(json_array_get(items, 1), g3, 1);
    assert_string_equal(lleval_json_str(json_array_get(items, 1), "id"), "gcsv2-2");
    json_decref(items);
    free(nohdr);
    free(src);
    tu_rmtree(dir);
    free(dir);
}

static void test_mmlu_layouts(void **state)
{
    char *dir = tu_tmpdir();
    char *flat = lleval_path_join(dir, "flat");
    char *prepared = lleval_path_join(dir, "prepared");
    struct lleval_dataset_cfg c = mkcfg("m", "mmlu", flat);
    json_t *items;
    (void)state;
    free(tu_write(flat, "zoology_test.csv", "Z1?,a,b,c,d,a\n"));
    free(tu_write(flat, "astronomy_test.csv", "A1?,a,b,c,d,B\n\n\"A2,\nmore?\",a,b,c,d, C \n"));
    free(tu_write(flat, "astronomy_dev.csv", "D1?,a,b,c,d,D\n"));
    free(tu_write(flat, "notes.txt", "not a csv\n"));
    items = prepare_ok(&c, prepared, 0, NULL);
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(lleval_json_str(json_array_get(items, 0), "id"), "astronomy-test-1");
    assert_string_equal(lleval_json_str(json_array_get(items, 1), "id"), "astronomy-test-2");
    assert_string_equal(lleval_json_str(json_array_get(items, 1), "question"), "A2,\nmore?");
    assert_int_equal(lleval_json_int(json_object_get(json_array_get(items, 1), "meta"), "line", 0),
                     3);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(items, 1), "answers"), 0)),
        "C");
    assert_string_equal(lleval_json_str(json_array_get(items, 2), "id"), "zoology-test-1");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(items, 2), "answers"), 0)),
        "A");
    json_decref(items);
    {
        /* the item line is written without a tree: the bytes jansson wrote */
        char *odd = lleval_path_join(dir, "odd");
        struct lleval_dataset_cfg c2 = mkcfg("m2", "mmlu", odd);
        char *out, *file;
        free(tu_write(odd, "odd_test.csv",
                      "\"Q \"\"x\"\" \\ \t\xc3\xa9 \xf0\x9f\x98\x80\",a\x01\x1f,b/,c\x7f,d,b\n"));
        json_decref(prepare_ok(&c2, prepared, 0, NULL));
        file = lleval_prepared_path(prepared, "m2");
        out = tu_read(file);
        assert_string_equal(out,
                            "{\"id\":\"odd-test-1\",\"dataset\":\"m2\",\"type\":"
                            "\"multiple_choice\",\"question\":\"Q \\\"x\\\" \\\\ \\t\xc3\xa9 "
                            "\xf0\x9f\x98\x80\",\"choices\":[\"a\\u0001\\u001F\",\"b/\",\"c\x7f\","
                            "\"d\"],\"answers\":[\"B\"],\"meta\":{\"subject\":\"odd\",\"split\":"
                            "\"test\",\"line\":1}}\n");
        free(out);
        free(file);
#ifndef _WIN32
        /* a file name that is not UTF-8 gives no item (as when jansson built it) */
        free(tu_write(odd, "bad\xff_test.csv", "Q?,a,b,c,d,a\n"));
        prepare_fails(&c2, prepared, "bad\xff_test.csv:1: cannot build the item (invalid text)",
                      NULL);
#endif
        free(odd);
    }
    c.split = "val";
    prepare_fails(&c, prepared, "no MMLU files for split 'val'", NULL);
    c.split = "../x";
    prepare_fails(&c, prepared, "split '../x' is not valid", NULL);
    free(prepared);
    free(flat);
    tu_rmtree(dir);
    free(dir);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(lleval_dataset_name_valid("nq_open"));
    assert_true(lleval_dataset_name_valid("mmlu-test.v2"));
    assert_false(lleval_dataset_name_valid(""));
    assert_false(lleval_dataset_name_valid(".hidden"));
    assert_false(lleval_dataset_name_valid("a/b"));
    assert_false(lleval_dataset_name_valid("a b"));
    assert_false(lleval_dataset_name_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nq_open_real),
        cmocka_unit_test(test_xquad_real),
        cmocka_unit_test(test_mmlu_real),
        cmocka_unit_test(test_limit_items),
        cmocka_unit_test(test_prepared_load_errors),
        cmocka_unit_test(test_failed_prepare_keeps_old_files),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_squad_v2_skips),
        cmocka_unit_test(test_generic_jsonl_mapping),
        cmocka_unit_test(test_generic_multiple_choice),
        cmocka_unit_test(test_generic_csv),
        cmocka_unit_test(test_mmlu_layouts),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
