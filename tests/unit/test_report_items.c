/*
 * The report's item explorer read from results/items.jsonl (explorer_rows.c,
 * score/items_scan.c): the same rows as the explorer scored again from
 * predictions.csv (the path of runs without items.jsonl), the scanner's
 * fallback to jansson, and the sample of a run above the explorer's limit:
 * chosen by the custom_id's hash, the same on every rendering, and said on
 * the page.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/report/report.h"
#include "lleval/run/run.h"
#include "lleval/score/items.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "../../lib/report/report_int.h"

struct fixture {
    char *tmp, *run_dir, *items;
    struct lleval_config cfg;
};

/* A dry run to the score step over closed-book, multiple-choice and open-book
 * (a {context} prompt: the prepared items are read for those rows) data. */
static void fixture_init(struct fixture *fx)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_run_opts o;
    struct lleval_run_result res;
    char *yaml, *config;
    memset(fx, 0, sizeof(*fx));
    fx->tmp = tu_tmpdir();
    yaml = lleval_xasprintf(
        "engine: dry\n"
        "model_id: dry\n"
        "temps: [0.0, 0.7]\n"
        "parts_per_dataset: 1\n"
        "datasets:\n"
        "  - {name: closed, format: nq_open, path: %s/examples/data/closed_book.jsonl}\n"
        "  - {name: mc, format: mmlu, path: %s/examples/data/general_knowledge_test.csv, "
        "split: test}\n"
        "  - {name: open, format: squad, type: open_book, path: "
        "%s/examples/data/open_book.json}\n"
        "paths: {prepared_dir: %s/prepared, runs_dir: %s/runs, batches_dir: %s/batches}\n"
        "scoring: {bootstrap_samples: 0}\n",
        LLEVAL_SOURCE_DIR, LLEVAL_SOURCE_DIR, LLEVAL_SOURCE_DIR, fx->tmp, fx->tmp, fx->tmp);
    config = tu_write(fx->tmp, "eval.yaml", yaml);
    free(yaml);
    lleval_config_init(&fx->cfg);
    if (lleval_config_load_file(&fx->cfg, config, &err) || lleval_config_validate(&fx->cfg, &err))
        fail_msg("config: %s", err.msg);
    free(config);
    lleval_run_opts_init(&o);
    o.run_id = "r";
    o.to_step = LLEVAL_STEP_SCORE;
    if (lleval_run_execute(&fx->cfg, &o, &res, &err))
        fail_msg("run: %s", err.msg);
    fx->run_dir = lleval_xstrdup(res.run_dir);
    lleval_run_result_release(&res);
    fx->items = lleval_run_file_path(fx->run_dir, LLEVAL_RUN_FILE_ITEMS_JSONL);
}

static void fixture_release(struct fixture *fx)
{
    lleval_config_release(&fx->cfg);
    tu_rmtree(fx->tmp);
    free(fx->tmp);
    free(fx->run_dir);
    free(fx->items);
}

/* The page with the explorer limited to max items (0: the default). */
static char *render(const struct fixture *fx, size_t max)
{
    struct lleval_report_opts o;
    struct lleval_sb html = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    lleval_report_opts_init(&o);
    o.generated_at = 1e9; /* the same page each time */
    o.explorer_max = max;
    if (lleval_report_render(fx->run_dir, &o, &html, NULL, &err))
        fail_msg("report: %s", err.msg);
    return lleval_sb_detach(&html, NULL);
}

#define X_DATA_OPEN "<script type=\"application/json\" id=\"x-data\">"

/* The explorer's data of a page, parsed. */
static json_t *explorer_data(const char *html)
{
    const char *at = strstr(html, X_DATA_OPEN), *end;
    json_t *j;
    assert_non_null(at);
    at += strlen(X_DATA_OPEN);
    end = strstr(at, "</script>");
    assert_non_null(end);
    j = json_loadb(at, (size_t)(end - at), 0, NULL);
    assert_non_null(j);
    return j;
}

/* Equal rows and tables; F1 (column 8) to 15 digits: items.jsonl's precision. */
static void assert_same_data(const json_t *a, const json_t *b)
{
    const json_t *ra = json_object_get(a, "rows"), *rb = json_object_get(b, "rows"), *row;
    size_t i;
    assert_true(json_equal(json_object_get(a, "t"), json_object_get(b, "t")));
    assert_int_equal(json_array_size(ra), json_array_size(rb));
    json_array_foreach(ra, i, row)
    {
        const json_t *other = json_array_get(rb, i);
        assert_int_equal(json_array_size(row), json_array_size(other));
        for (size_t k = 0; k < json_array_size(row); k++) {
            const json_t *x = json_array_get(row, k), *y = json_array_get(other, k);
            if (k == 8 && json_is_number(x) && json_is_number(y))
                assert_true(fabs(json_number_value(x) - json_number_value(y)) < 1e-14);
            else if (!json_equal(x, y))
                fail_msg("row %zu, field %zu differs", i, k);
        }
    }
}

/* items.jsonl gives the rows predictions.csv scored again gave (the path of a
 * run without items.jsonl), in the same order, with the same prompts. */
static void test_same_rows_as_rescoring(void **state)
{
    struct fixture fx;
    char *with, *without, *moved;
    json_t *a, *b;
    (void)state;
    fixture_init(&fx);
    with = render(&fx, 0);
    moved = lleval_xasprintf("%s.away", fx.items);
    assert_int_equal(rename(fx.items, moved), 0);
    without = render(&fx, 0);
    assert_int_equal(rename(moved, fx.items), 0);
    a = explorer_data(with);
    b = explorer_data(without);
    assert_true(json_array_size(json_object_get(a, "rows")) > 20);
    assert_same_data(a, b);
    /* the open-book rows' prompts hold the passage: [system, before, after] */
    tu_assert_contains(with, "Every answered item (");
    /* each page says where its rows come from */
    tu_assert_contains(with, "items.jsonl (the score step's verdicts)");
    tu_assert_contains(without, "predictions.csv, scored again against the prepared data");
    assert_null(strstr(with, "x-sampled"));
    json_decref(a);
    json_decref(b);
    free(with);
    free(without);
    free(moved);
    fixture_release(&fx);
}

/* Appends text to every line of path (before its newline). */
static void rewrite_lines(const char *path, const char *from, const char *to)
{
    char *text = tu_read(path);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *p = text, *at;
    assert_non_null(text);
    while ((at = strstr(p, from))) {
        lleval_sb_add(&sb, p, (size_t)(at - p));
        lleval_sb_adds(&sb, to);
        p = at + strlen(from);
    }
    lleval_sb_adds(&sb, p);
    assert_int_equal(lleval_write_file_atomic(path, sb.buf, sb.len, &err), 0);
    lleval_sb_release(&sb);
    free(text);
}

/* Lines the scanner does not vouch for (an escaped key, an unknown key) are
 * read by jansson: the same rows. A damaged file: the rows of predictions.csv
 * scored again. */
static void test_scanner_fallback(void **state)
{
    struct fixture fx;
    char *clean, *odd, *damaged;
    json_t *a, *b, *c;
    (void)state;
    fixture_init(&fx);
    clean = render(&fx, 0);
    rewrite_lines(fx.items, "{\"custom_id\":", "{\"\\u0063ustom_id\":");
    rewrite_lines(fx.items, ",\"error\":", ",\"extra\":[1,{\"a\":null}],\"error\":");
    odd = render(&fx, 0);
    rewrite_lines(fx.items, "\"correct\":", "\"correct\":\"yes\",\"x\":");
    damaged = render(&fx, 0);
    a = explorer_data(clean);
    b = explorer_data(odd);
    c = explorer_data(damaged);
    assert_same_data(a, b);
    assert_same_data(a, c);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    free(clean);
    free(odd);
    free(damaged);
    fixture_release(&fx);
}

/* Above the limit: the rows whose hash is under the cut, in file order, the
 * same on every rendering, and the page says how many of how many. */
static void test_sample(void **state)
{
    struct fixture fx;
    char *page, *again, *line;
    json_t *data, *all;
    const json_t *rows, *row;
    size_t i, total, shown, expect = 0, k = 0;
    uint64_t cut;
    (void)state;
    fixture_init(&fx);
    all = explorer_data(page = render(&fx, 0));
    free(page);
    total = json_array_size(json_object_get(all, "rows"));
    page = render(&fx, 10);
    again = render(&fx, 10);
    assert_string_equal(page, again);
    data = explorer_data(page);
    rows = json_object_get(data, "rows");
    shown = json_array_size(rows);
    cut = lleval_report_sample_cut(total, 10);
    assert_true(cut < UINT64_MAX);
    json_array_foreach(json_object_get(all, "rows"), i, row)
    {
        const char *cid = json_string_value(json_array_get(row, 0));
        if (lleval_report_sample_hash(cid) >= cut)
            continue;
        expect++;
        /* in file order, each the same row as the whole explorer's (but its table indexes) */
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, k++), 0)), cid);
    }
    assert_int_equal(shown, expect);
    assert_true(shown > 0 && shown < total);
    line = lleval_xasprintf("id=\"x-sampled\">%zu of %zu items shown; the full list is in "
                            "results/items.jsonl / items.csv.",
                            shown, total);
    tu_assert_contains(page, line);
    tu_assert_contains(page, "A sample of the answered items");
    /* the table holds only what the shown rows use */
    assert_true(json_array_size(json_object_get(data, "t")) <
                json_array_size(json_object_get(all, "t")));
    free(line);
    json_decref(data);
    json_decref(all);
    free(page);
    free(again);
    fixture_release(&fx);
}

static void test_sample_cut(void **state)
{
    (void)state;
    assert_true(lleval_report_sample_cut(10, 10) == UINT64_MAX);
    assert_true(lleval_report_sample_cut(0, 10) == UINT64_MAX);
    /* more items: a lower cut, so a bigger run keeps a subset of a smaller one's sample */
    assert_true(lleval_report_sample_cut(1000, 10) < lleval_report_sample_cut(100, 10));
    assert_true(lleval_report_sample_hash("a:b:c:t0:s0") ==
                lleval_report_sample_hash("a:b:c:t0:s0"));
    assert_true(lleval_report_sample_hash("a:b:c:t0:s0") !=
                lleval_report_sample_hash("a:b:c:t0:s1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_rows_as_rescoring),
        cmocka_unit_test(test_scanner_fallback),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_sample_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
