/*
 * libFuzzer target for a prepared dataset (<prepared_dir>/<dataset>.jsonl),
 * a file users may edit or damage between `lleval prepare` and a run. The
 * input is that file; its info file says it holds as many items as the input
 * has non-empty lines, so the count check passes unless a line is not an
 * item. Three readers must agree with lleval_prepared_load() (jansson):
 * - the tree-less item reader (lleval_item_reader_next, the batch builder's):
 *   the same items, field for field, or the same error;
 * - the compact index (lleval_item_index_load, parse's, the report's, the
 *   scorer's and the dry engine's) in its three forms (plain, with the
 *   questions, line offsets, both): it loads exactly when the tree does, with the
 *   same error otherwise, and each entry holds the item's id, type,
 *   question, string gold answers, string choices and SQuAD 2.0 flag.
 */
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>
#include "fuzz_common.h"
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/index.h"
#include "lleval/dataset/item_reader.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

#define DS "fz"

static char prep[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_path(prep, sizeof(prep), "prep");
    if (mkdir(prep, 0700) && errno != EEXIST) {
        perror(prep);
        abort();
    }
    return 0;
}

/* Appends a view as one line of text (NULL context as "-"). */
static void view_text(struct lleval_sb *sb, const struct lleval_item_view *v)
{
    lleval_sb_addf(sb, "id=%s|ds=%s|type=%d|q=%s|ctx=%s|v2=%d|choices=", v->id, v->dataset,
                   (int)v->type, v->question, v->context ? v->context : "-", v->unanswerable);
    for (size_t k = 0; k < v->n_choices; k++)
        lleval_sb_addf(sb, "[%s]", v->choices[k]);
    lleval_sb_addf(sb, "\n");
}

static const char *str_or(const json_t *j, const char *alt)
{
    return json_is_string(j) ? json_string_value(j) : alt;
}

/* The index entry e must hold item's fields (questions: whether it kept them). */
static void same_entry(const struct lleval_item_entry *e, const json_t *item, bool questions,
                       const char *what)
{
    const json_t *answers = json_object_get(item, "answers");
    const json_t *choices = json_object_get(item, "choices");
    const json_t *v2 = json_object_get(item, "unanswerable");
    size_t k, n = 0;

    FUZZ_CHECK(!strcmp(e->id, str_or(json_object_get(item, "id"), "")), "%s: id %s", what, e->id);
    FUZZ_CHECK(!strcmp(e->type, str_or(json_object_get(item, "type"), "")), "%s: type %s of %s",
               what, e->type, e->id);
    if (questions)
        FUZZ_CHECK(e->question &&
                       !strcmp(e->question, str_or(json_object_get(item, "question"), "")),
                   "%s: question of %s", what, e->id);
    for (k = 0; k < json_array_size(answers); k++) {
        const json_t *a = json_array_get(answers, k);
        if (!json_is_string(a))
            continue;
        FUZZ_CHECK(n < e->n_answers && !strcmp(e->answers[n], json_string_value(a)),
                   "%s: gold answer %zu of %s", what, n, e->id);
        n++;
    }
    FUZZ_CHECK(n == e->n_answers, "%s: %zu gold answers of %s, the tree has %zu", what,
               e->n_answers, e->id, n);
    n = 0;
    for (k = 0; k < json_array_size(choices); k++) {
        const json_t *c = json_array_get(choices, k);
        if (!json_is_string(c))
            continue;
        FUZZ_CHECK(n < e->n_choices && !strcmp(e->choices[n], json_string_value(c)),
                   "%s: choice %zu of %s", what, n, e->id);
        n++;
    }
    FUZZ_CHECK(n == e->n_choices, "%s: %zu choices of %s, the tree has %zu", what, e->n_choices,
               e->id, n);
    FUZZ_CHECK(e->unanswerable == (!v2                ? -1
                                   : json_is_true(v2) ? 1
                                                      : 0),
               "%s: unanswerable %d of %s", what, e->unanswerable, e->id);
}

/* The last item of items with id (the one lleval_item_index_get() takes). */
static const json_t *last_with_id(const json_t *items, const char *id)
{
    for (size_t k = json_array_size(items); k-- > 0;)
        if (!strcmp(str_or(json_object_get(json_array_get(items, k), "id"), ""), id))
            return json_array_get(items, k);
    return NULL;
}

static void check_index(const json_t *items, const struct lleval_err *tree_err, unsigned flags)
{
    struct lleval_item_index *ix = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_item_entry e;
    char what[40];
    size_t distinct = 0;
    int rc = lleval_item_index_load(prep, DS, flags, &ix, &err);

    snprintf(what, sizeof(what), "index (flags %u)", flags);
    if (!items) {
        FUZZ_CHECK(rc && !ix, "%s loads what the tree refuses: %s", what, tree_err->msg);
        FUZZ_CHECK(!strcmp(err.msg, tree_err->msg), "%s: error '%s', the tree's '%s'", what,
                   err.msg, tree_err->msg);
        return;
    }
    FUZZ_CHECK(!rc && ix, "%s refuses what the tree loads: %s", what, err.msg);
    for (size_t k = 0; k < json_array_size(items); k++) /* an id given twice: one entry */
        distinct += last_with_id(items, str_or(json_object_get(json_array_get(items, k), "id"),
                                               "")) == json_array_get(items, k);
    FUZZ_CHECK(lleval_item_index_count(ix) ==
                   (flags & LLEVAL_INDEX_OFFSETS ? json_array_size(items) : distinct),
               "%s: %zu items, tree %zu (%zu ids)", what, lleval_item_index_count(ix),
               json_array_size(items), distinct);
    for (size_t k = 0; k < json_array_size(items); k++) {
        const json_t *item = json_array_get(items, k);
        const char *id = str_or(json_object_get(item, "id"), "");
        if (flags & LLEVAL_INDEX_OFFSETS) {
            long line = -2;
            FUZZ_CHECK(!lleval_item_index_at(ix, k, &e, &err), "%s: at(%zu): %s", what, k, err.msg);
            same_entry(&e, item, (flags & LLEVAL_INDEX_QUESTIONS) != 0, what);
            FUZZ_CHECK(!lleval_item_index_find(ix, id, false, &line, &err) && line >= 0,
                       "%s: find(%s): %s", what, id, err.msg);
            FUZZ_CHECK(!lleval_item_index_at(ix, (size_t)line, &e, &err), "%s: at(%ld): %s", what,
                       line, err.msg);
            same_entry(&e, last_with_id(items, id), (flags & LLEVAL_INDEX_QUESTIONS) != 0, what);
        } else {
            FUZZ_CHECK(lleval_item_index_get(ix, id, &e), "%s: no entry for %s", what, id);
            same_entry(&e, last_with_id(items, id), (flags & LLEVAL_INDEX_QUESTIONS) != 0, what);
        }
    }
    lleval_item_index_free(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[400], info[200];
    struct lleval_err e_tree = LLEVAL_ERR_INIT, e_rd = LLEVAL_ERR_INIT;
    struct lleval_sb tree_views = LLEVAL_SB_INIT, rd_views = LLEVAL_SB_INIT;
    struct lleval_item_reader rd;
    const struct lleval_item_view *v;
    json_t *items;
    size_t lines = 0;
    int rc;

    for (size_t i = 0; i < size;) { /* non-empty lines */
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t end = nl ? (size_t)(nl - data) : size;
        lines += end > i;
        i = end + 1;
    }
    snprintf(path, sizeof(path), "%s/" DS ".jsonl", prep);
    fuzz_write(path, data, size);
    snprintf(path, sizeof(path), "%s/" DS ".info.json", prep);
    snprintf(info, sizeof(info),
             "{\"dataset\":\"" DS "\",\"format\":\"jsonl\",\"type\":\"closed_book\","
             "\"scoring\":\"qa\",\"items\":%zu}\n",
             lines);
    fuzz_write(path, info, strlen(info));

    items = lleval_prepared_load(prep, DS, NULL, &e_tree);
    for (size_t k = 0; k < json_array_size(items); k++) {
        struct lleval_item_view tv;
        const char **choices = NULL;
        lleval_item_view_from_json(json_array_get(items, k), &tv, &choices);
        view_text(&tree_views, &tv);
        free(choices);
    }

    rc = lleval_item_reader_open(&rd, prep, DS, &e_rd);
    if (!rc) {
        while ((rc = lleval_item_reader_next(&rd, &v, &e_rd)) == 1)
            view_text(&rd_views, v);
        lleval_item_reader_close(&rd);
    }
    FUZZ_CHECK(!rc == !!items, "item reader rc %d (%s), the tree %s (%s)", rc, e_rd.msg,
               items ? "loads" : "fails", e_tree.msg);
    if (items)
        FUZZ_CHECK(tree_views.len == rd_views.len &&
                       !memcmp(tree_views.buf, rd_views.buf, tree_views.len),
                   "items differ:\n--- tree\n%.*s\n--- reader\n%.*s", (int)tree_views.len,
                   tree_views.buf, (int)rd_views.len, rd_views.buf);
    else
        FUZZ_CHECK(!strcmp(e_rd.msg, e_tree.msg), "errors differ: reader '%s', tree '%s'", e_rd.msg,
                   e_tree.msg);

    check_index(items, &e_tree, 0);
    check_index(items, &e_tree, LLEVAL_INDEX_QUESTIONS);
    check_index(items, &e_tree, LLEVAL_INDEX_OFFSETS);
    check_index(items, &e_tree, LLEVAL_INDEX_OFFSETS | LLEVAL_INDEX_QUESTIONS);
    json_decref(items);
    lleval_sb_release(&tree_views);
    lleval_sb_release(&rd_views);
    return 0;
}
