/*
 * The comparison page read from each run's results/items.jsonl
 * (lleval_compare_runs in lib/score/compare_items.c, the flipped items' rows in
 * lib/report/compare_flips.c): the same bytes as the page scored again from
 * predictions.csv (the path of a run without items.jsonl) on dry runs of two
 * models and of several temperatures (QA and multiple choice); the runs it falls back for (no
 * items.jsonl, a damaged one, a scores.json that does not match it, a
 * predictions.csv newer than it); the check that an F1 figure near a rounding
 * boundary is recomputed from the scorer's values; and `runs compare`'s
 * comparison (lleval_compare_runs, lib/score/compare_items.c), the same
 * figures read from items.jsonl as scored again, to one decimal and to the
 * last bit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/report/report.h"
#include "lleval/run/batch.h"
#include "lleval/run/run.h"
#include "lleval/score/compare.h"
#include "lleval/util/util.h"

struct fixture {
    char *tmp, *runs;
    char *nq, *xquad, *mmlu; /* the shared datasets, or NULL */
};

/* A dry run `id` to the score step of model `model` at temperatures `temps`:
 * over the examples' closed-book, multiple-choice and open-book data, or,
 * with `shared`, over 150 items each of NQ-open, XQuAD and MMLU. */
static void dry_run(struct fixture *fx, const char *id, const char *model, const char *temps,
                    bool shared)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_run_opts o;
    struct lleval_run_result res;
    struct lleval_config cfg;
    char *yaml, *config, *data;
    if (shared)
        data = lleval_xasprintf("limit_items: 150\n"
                                "datasets:\n"
                                "  - {name: nq, format: nq_open, path: %s}\n"
                                "  - {name: xquad, format: squad, path: %s}\n"
                                "  - {name: mmlu, format: mmlu, path: %s, split: test}\n",
                                fx->nq, fx->xquad, fx->mmlu);
    else
        data = lleval_xasprintf(
            "datasets:\n"
            "  - {name: closed, format: nq_open, path: %s/examples/data/closed_book.jsonl}\n"
            "  - {name: mc, format: mmlu, path: %s/examples/data/general_knowledge_test.csv, "
            "split: test}\n"
            "  - {name: open, format: squad, type: open_book, path: "
            "%s/examples/data/open_book.json}\n",
            LLEVAL_SOURCE_DIR, LLEVAL_SOURCE_DIR, LLEVAL_SOURCE_DIR);
    yaml = lleval_xasprintf("engine: dry\n"
                            "model_id: %s\n"
                            "temps: %s\n"
                            "%s"
                            "paths: {prepared_dir: %s/prepared, runs_dir: %s/runs, "
                            "batches_dir: %s/batches}\n"
                            "scoring: {bootstrap_samples: 200}\n",
                            model, temps, data, fx->tmp, fx->tmp, fx->tmp);
    free(data);
    config = tu_write(fx->tmp, "eval.yaml", yaml);
    free(yaml);
    lleval_config_init(&cfg);
    if (lleval_config_load_file(&cfg, config, &err) || lleval_config_validate(&cfg, &err))
        fail_msg("config: %s", err.msg);
    free(config);
    lleval_run_opts_init(&o);
    o.run_id = id;
    o.to_step = LLEVAL_STEP_SCORE;
    if (lleval_run_execute(&cfg, &o, &res, &err))
        fail_msg("run: %s", err.msg);
    lleval_run_result_release(&res);
    lleval_config_release(&cfg);
}

/* Runs a and b (two models) and c (a third, three temperatures). False when
 * `shared` asks for the shared datasets and they are not there. */
static bool fixture_init(struct fixture *fx, bool shared)
{
    memset(fx, 0, sizeof(*fx));
    if (shared) {
        fx->nq = tu_shared("datasets/nq_open/NQ-open.dev.jsonl");
        fx->xquad = tu_shared("datasets/xquad/xquad.en.json");
        fx->mmlu = tu_shared("datasets/mmlu");
        if (!fx->nq || !fx->xquad || !fx->mmlu) {
            free(fx->nq);
            free(fx->xquad);
            free(fx->mmlu);
            return false;
        }
    }
    fx->tmp = tu_tmpdir();
    fx->runs = lleval_path_join(fx->tmp, "runs");
    dry_run(fx, "a", "dry", "[0.0, 0.7]", shared);
    dry_run(fx, "b", "another dry model", "[0.0, 0.7]", shared);
    dry_run(fx, "c", "a third", "[0.0, 0.7, 1.0]", shared);
    return true;
}

static void fixture_release(struct fixture *fx)
{
    tu_rmtree(fx->tmp);
    free(fx->tmp);
    free(fx->runs);
    free(fx->nq);
    free(fx->xquad);
    free(fx->mmlu);
}

/* The page of a vs b, its footer's time cut out. */
static char *page(const struct fixture *fx, const char *a, const char *b)
{
    struct lleval_sb html = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *at, *end;
    if (lleval_report_compare_render(fx->runs, a, b, &html, &err))
        fail_msg("compare page: %s", err.msg);
    at = strstr(html.buf, "<footer>Generated by lleval at ");
    assert_non_null(at);
    end = strstr(at, " from <code>");
    assert_non_null(end);
    memmove(at, end, strlen(end) + 1);
    return lleval_sb_detach(&html, NULL);
}

static char *run_file(const struct fixture *fx, const char *id, const char *rel)
{
    char *dir = lleval_path_join(fx->runs, id), *path = lleval_path_join(dir, rel);
    free(dir);
    return path;
}

/* Moves run id's items.jsonl out of the way (back when `back`). */
static void hide_items(const struct fixture *fx, const char *id, bool back)
{
    char *items = run_file(fx, id, "results/items.jsonl");
    char *away = lleval_xasprintf("%s.away", items);
    assert_int_equal(rename(back ? away : items, back ? items : away), 0);
    free(away);
    free(items);
}

/* The page as scoring again gives it: both runs without items.jsonl. */
static char *page_rescored(const struct fixture *fx, const char *a, const char *b)
{
    char *html;
    hide_items(fx, a, false);
    if (strcmp(a, b))
        hide_items(fx, b, false);
    html = page(fx, a, b);
    hide_items(fx, a, true);
    if (strcmp(a, b))
        hide_items(fx, b, true);
    return html;
}

/* Whether the page of a vs b is read from items.jsonl. */
static bool from_items(const struct fixture *fx, const char *a, const char *b)
{
    struct lleval_compare_req q;
    struct lleval_comparison c;
    struct lleval_err err = LLEVAL_ERR_INIT;
    bool yes;
    lleval_compare_req_init(&q);
    q.a = a;
    q.b = b;
    assert_int_equal(lleval_compare_runs(fx->runs, &q, &c, &err), 0);
    yes = c.from_items;
    lleval_comparison_release(&c);
    return yes;
}

/* Every pair's page is read from items.jsonl and is the same bytes as scoring
 * again gives (the examples' small groups have F1 figures on a rounding
 * boundary: their F1s are computed again from items.jsonl, to the last bit). */
static void same_pages(const struct fixture *fx)
{
    static const char *const pairs[][2] = {{"a", "b"}, {"b", "a"}, {"a", "c"},
                                           {"c", "b"}, {"a", "a"}, {"c", "c"}};
    size_t flips = 0;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char *quick, *slow;
        assert_true(from_items(fx, pairs[i][0], pairs[i][1]));
        quick = page(fx, pairs[i][0], pairs[i][1]);
        slow = page_rescored(fx, pairs[i][0], pairs[i][1]);
        assert_string_equal(quick, slow);
        flips += strstr(quick, "<tr class=\"flip\">") != NULL;
        if (strcmp(pairs[i][0], pairs[i][1]))
            tu_assert_contains(quick, "read as "); /* a multiple-choice flip */
        free(quick);
        free(slow);
    }
    assert_true(flips >= 4); /* the pages list flipped items */
}

static void test_same_page(void **state)
{
    struct fixture fx;
    (void)state;
    fixture_init(&fx, false);
    same_pages(&fx);
    fixture_release(&fx);
}

static void test_same_page_shared(void **state)
{
    struct fixture fx;
    (void)state;
    if (!fixture_init(&fx, true))
        skip();
    same_pages(&fx);
    fixture_release(&fx);
}

/* Whether "%.1f" (or "%+.1f") prints 100 * x and 100 * y the same. */
static bool same_pct(const char *fmt, double x, double y)
{
    char a[64], b[64];
    if (isnan(x) || isnan(y))
        return isnan(x) && isnan(y);
    snprintf(a, sizeof(a), fmt, 100.0 * x);
    snprintf(b, sizeof(b), fmt, 100.0 * y);
    return !strcmp(a, b);
}

/* x (read from items.jsonl when it could be) and y (scored again) agree:
 * everything to the last bit, F1 too when `exact`, else to one decimal. */
static void assert_same_comparison(const struct lleval_comparison *x,
                                   const struct lleval_comparison *y, bool exact)
{
    const struct lleval_compare_result *a = &x->res, *b = &y->res;
    assert_int_equal(a->paired, b->paired);
    assert_int_equal(a->only_a, b->only_a);
    assert_int_equal(a->only_b, b->only_b);
    assert_int_equal(a->bootstrap, b->bootstrap);
    assert_int_equal(a->n_groups, b->n_groups);
    assert_int_equal(a->n_flips, b->n_flips);
    for (size_t k = 0; k < a->n_flips; k++) {
        assert_string_equal(a->flips[k].custom_id, b->flips[k].custom_id);
        assert_int_equal(a->flips[k].a_right, b->flips[k].a_right);
    }
    for (size_t k = 0; k < a->n_groups; k++) {
        const struct lleval_compare_group *g = &a->groups[k], *h = &b->groups[k];
        assert_string_equal(g->key, h->key);
        assert_int_equal(g->n, h->n);
        assert_int_equal(g->mc, h->mc);
        assert_memory_equal(&g->a_main, &h->a_main, sizeof(double));
        assert_memory_equal(&g->b_main, &h->b_main, sizeof(double));
        assert_memory_equal(&g->diff_main, &h->diff_main, sizeof(g->diff_main));
        assert_memory_equal(&g->mcnemar_p, &h->mcnemar_p, sizeof(double));
        assert_int_equal(g->a_only_right, h->a_only_right);
        assert_int_equal(g->b_only_right, h->b_only_right);
        if (g->mc)
            continue;
        if (exact) {
            assert_memory_equal(&g->a_f1, &h->a_f1, sizeof(double));
            assert_memory_equal(&g->b_f1, &h->b_f1, sizeof(double));
            assert_memory_equal(&g->diff_f1, &h->diff_f1, sizeof(g->diff_f1));
        } else {
            assert_true(same_pct("%.1f", g->a_f1, h->a_f1));
            assert_true(same_pct("%.1f", g->b_f1, h->b_f1));
            assert_true(same_pct("%+.1f", g->diff_f1.mean, h->diff_f1.mean));
            assert_true(same_pct("%+.1f", g->diff_f1.lo, h->diff_f1.lo));
            assert_true(same_pct("%+.1f", g->diff_f1.hi, h->diff_f1.hi));
        }
    }
}

/* `runs compare`'s comparison (lleval_compare_runs) read from items.jsonl is
 * the one scoring again gives: to one decimal (the table) and to the last
 * bit (--json: each F1 other than 0 and 1 computed again from the answer and
 * golds), with other resamples and seeds, both read from items.jsonl on the
 * shared data. */
static void test_runs_compare_agrees(void **state)
{
    static const char *const pairs[][2] = {{"a", "b"}, {"b", "a"}, {"a", "c"}, {"c", "c"}};
    struct fixture fx;
    (void)state;
    if (!fixture_init(&fx, true))
        skip();
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        for (int exact = 0; exact < 2; exact++) {
            struct lleval_compare_req q;
            struct lleval_comparison fast, slow;
            struct lleval_err err = LLEVAL_ERR_INIT;
            lleval_compare_req_init(&q);
            q.a = pairs[i][0];
            q.b = pairs[i][1];
            q.exact = exact;
            q.bootstrap = 100 + (long)i;
            q.seed = 7 * (long long)i;
            assert_int_equal(lleval_compare_runs(fx.runs, &q, &fast, &err), 0);
            q.rescore = true;
            assert_int_equal(lleval_compare_runs(fx.runs, &q, &slow, &err), 0);
            assert_false(slow.from_items);
            assert_null(slow.a.keys);
            assert_true(fast.from_items); /* --json: each F1 computed again */
            assert_int_equal(fast.a.f1_exact, exact);
            assert_same_comparison(&fast, &slow, exact);
            lleval_comparison_release(&fast);
            lleval_comparison_release(&slow);
        }
    fixture_release(&fx);
}

/* Replaces the first `from` in file path with `to`. */
static void edit_file(const char *path, const char *from, const char *to)
{
    char *text = tu_read(path), *at = strstr(text, from);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    assert_non_null(at);
    lleval_sb_add(&sb, text, (size_t)(at - text));
    lleval_sb_adds(&sb, to);
    lleval_sb_adds(&sb, at + strlen(from));
    assert_int_equal(lleval_write_file_atomic(path, sb.buf, sb.len, &err), 0);
    lleval_sb_release(&sb);
    free(text);
}

/* A run whose items.jsonl cannot be trusted is scored again: the same page. */
static void test_falls_back(void **state)
{
    struct fixture fx;
    char *want, *got, *items, *scores, *saved_items, *saved_scores;
    (void)state;
    if (!fixture_init(&fx, true))
        skip();
    want = page_rescored(&fx, "a", "b");
    items = run_file(&fx, "a", "results/items.jsonl");
    scores = run_file(&fx, "a", "results/scores.json");
    saved_items = tu_read(items);
    saved_scores = tu_read(scores);

    /* a damaged line (jansson refuses it too) */
    edit_file(items, "{\"custom_id\"", "{\"custom_id\":");
    assert_false(from_items(&fx, "a", "b"));
    got = page(&fx, "a", "b");
    assert_string_equal(got, want);
    free(got);
    free(tu_write(fx.tmp, "runs/a/results/items.jsonl", saved_items));

    /* scores.json: a row that was not scored, or other options */
    edit_file(scores, "\"unknown\": 0", "\"unknown\": 1");
    assert_false(from_items(&fx, "a", "b"));
    got = page(&fx, "a", "b");
    assert_string_equal(got, want);
    free(got);
    free(tu_write(fx.tmp, "runs/a/results/scores.json", saved_scores));
    edit_file(scores, "\"answer_extraction\": \"", "\"answer_extraction\": \"x");
    assert_false(from_items(&fx, "a", "b"));
    free(tu_write(fx.tmp, "runs/a/results/scores.json", saved_scores));
    assert_true(from_items(&fx, "a", "b"));

    /* an F1 that the answer and golds do not give: --json scores again */
    {
        struct lleval_compare_req q;
        struct lleval_comparison c;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *text = tu_read(items), *at, *end;
        struct lleval_sb sb = LLEVAL_SB_INIT;
        /* the first F1 other than 0 and 1 (QA), made 0.1234 (no F1 of these items) */
        at = strstr(text, "\"f1\":0.");
        assert_non_null(at);
        end = strchr(at + 5, ',');
        assert_non_null(end);
        lleval_sb_add(&sb, text, (size_t)(at - text) + 5);
        lleval_sb_adds(&sb, "0.1234");
        lleval_sb_adds(&sb, end);
        free(text);
        text = lleval_sb_detach(&sb, NULL);
        free(tu_write(fx.tmp, "runs/a/results/items.jsonl", text));
        lleval_compare_req_init(&q);
        q.a = "a";
        q.b = "b";
        q.exact = true;
        assert_int_equal(lleval_compare_runs(fx.runs, &q, &c, &err), 0);
        assert_false(c.from_items);
        lleval_comparison_release(&c);
        free(tu_write(fx.tmp, "runs/a/results/items.jsonl", saved_items));
        q.exact = true;
        assert_int_equal(lleval_compare_runs(fx.runs, &q, &c, &err), 0);
        assert_true(c.from_items);
        lleval_comparison_release(&c);
        free(text);
    }

    /* predictions.csv written after items.jsonl (here: run b's answers; the
     * runs after a took long enough for any file system's clock) */
    {
        char *b_pred = run_file(&fx, "b", "results/predictions.csv"), *text = tu_read(b_pred);
        char *want_b;
        free(tu_write(fx.tmp, "runs/a/results/predictions.csv", text));
        assert_false(from_items(&fx, "a", "b"));
        want_b = page_rescored(&fx, "a", "b");
        got = page(&fx, "a", "b");
        assert_string_equal(got, want_b);
        assert_true(strcmp(got, want) != 0); /* b's answers: other figures */
        free(got);
        free(want_b);
        free(text);
        free(b_pred);
    }

    /* an unknown run is the same error */
    {
        struct lleval_sb html = LLEVAL_SB_INIT;
        struct lleval_err err = LLEVAL_ERR_INIT;
        assert_int_equal(lleval_report_compare_render(fx.runs, "a", "nope", &html, &err),
                         LLEVAL_EINVAL);
        tu_assert_contains(err.msg, "no run 'nope'");
        lleval_sb_release(&html);
    }
    free(saved_items);
    free(saved_scores);
    free(items);
    free(scores);
    free(want);
    fixture_release(&fx);
}

/* A side of 8 QA items of one group with the F1 values f (keys: key + i). */
static void side(struct lleval_compare_run *r, const double *f, uint64_t key)
{
    memset(r, 0, sizeof(*r));
    r->items.items = lleval_xcalloc(8, sizeof(*r->items.items));
    r->keys = lleval_xcalloc(8, sizeof(*r->keys));
    for (size_t i = 0; i < 8; i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        char item[8];
        snprintf(item, sizeof(item), "q%zu", i);
        lleval_cid_encode(&sb, "ds", item, "direct", 0.0, 0);
        r->items.items[i].custom_id = lleval_sb_detach(&sb, NULL);
        r->items.items[i].ok = true;
        r->items.items[i].f1 = f[i];
        r->items.items[i].em = f[i] == 1.0;
        r->items.items[i].correct = f[i] == 1.0;
        r->keys[i] = key + i;
    }
    r->items.n = 8;
    r->cfg.prepared_dir = (char *)"prepared"; /* borrowed: cfg_loaded is false */
}

static bool same_figures(const double *fa, uint64_t ka, const double *fb, uint64_t kb, bool exact)
{
    struct lleval_compare_run a, b;
    struct lleval_compare_result res;
    struct lleval_err err = LLEVAL_ERR_INIT;
    bool same;
    side(&a, fa, ka);
    side(&b, fb, kb);
    assert_int_equal(lleval_compare_items(&a.items, &b.items, 0, 7, &res, &err), 0);
    assert_int_equal(res.n_groups, 1);
    same = lleval_compare_same_figures(&a, &b, &res, exact);
    lleval_compare_result_release(&res);
    lleval_compare_run_release(&a);
    lleval_compare_run_release(&b);
    return same;
}

/* To the last bit, multiple-choice groups are always exact (F1 is not shown). */
static void test_runs_compare_exact(void **state)
{
    struct lleval_compare_run a, b;
    struct lleval_compare_result res;
    struct lleval_err err = LLEVAL_ERR_INIT;
    static const double f[8] = {0, 1, 0.5, 0.25, 1.0 / 3, 0, 1, 0};
    (void)state;
    side(&a, f, 0);
    side(&b, f, 0);
    for (size_t i = 0; i < 8; i++)
        a.items.items[i].mc = b.items.items[i].mc = true;
    assert_int_equal(lleval_compare_items(&a.items, &b.items, 50, 7, &res, &err), 0);
    assert_true(res.groups[0].mc);
    assert_true(lleval_compare_same_figures(&a, &b, &res, true));
    lleval_compare_result_release(&res);
    lleval_compare_run_release(&a);
    lleval_compare_run_release(&b);
}

/* F1 figures near a rounding boundary, or a difference of unsure values at
 * zero, are recomputed; exact values (0, 1) and the same answers never are.
 * To the last bit (`runs compare --json`), any unsure value or difference is. */
static void test_f1_boundary(void **state)
{
    static const double zeros[8] = {0}, ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    static const double tenth[8] = {0.1}, fifth[8] = {0.2}, third[8] = {1.0 / 3, 1.0 / 3};
    (void)state;
    assert_true(same_figures(zeros, 0, ones, 100, false));
    assert_true(same_figures(zeros, 0, ones, 100, true));
    /* mean 0.0125: 1.25 is a boundary of "%.1f" */
    assert_false(same_figures(tenth, 0, zeros, 100, false));
    assert_false(same_figures(zeros, 0, tenth, 100, false));
    /* mean 0.025: 2.5 is not; but its last bits are unsure */
    assert_true(same_figures(fifth, 0, zeros, 100, false));
    assert_false(same_figures(fifth, 0, zeros, 100, true));
    assert_false(same_figures(zeros, 0, fifth, 100, true));
    /* the same answers: a difference of exactly zero either way, but the
     * means themselves are unsure to the last bit */
    assert_true(same_figures(third, 0, third, 0, false));
    assert_false(same_figures(third, 0, third, 0, true));
    /* other answers with the same 15 digits: the difference's sign is unsure */
    assert_false(same_figures(third, 0, third, 100, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_page),           cmocka_unit_test(test_same_page_shared),
        cmocka_unit_test(test_falls_back),          cmocka_unit_test(test_f1_boundary),
        cmocka_unit_test(test_runs_compare_agrees), cmocka_unit_test(test_runs_compare_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
