/*
 * Tests for the run report (lib/report/): whole runs on
 * the dry engine (examples/data plus a generated dataset full of markup)
 * rendered to HTML and Markdown: sections, escaping of model output, dataset
 * text, ids, errors and config values, runs without scores, prepared data
 * deleted, telemetry recorded or not. The escaping tables are in test_text.c,
 * the facts of synthetic run directories in test_report_facts.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/run/parse.h"
#include "lleval/report/report.h"
#include "lleval/run/run.h"
#include "lleval/score/compare.h"
#include "lleval/score/items.h"
#include "lleval/score/score.h"
#include "lleval/util/util.h"
#include "../../lib/report/report_int.h"

#define ATTACK "<script>alert(1)</script>\"><img src=x onerror=alert(1)>"
#define ATTACK_HTML                                                                                \
    "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"

/* ---- run fixtures ------------------------------------------------------- */

struct fixture {
    char *tmp;
    char *config;
    char *run_dir;
    struct lleval_config cfg;
};

/* Writes a config over examples/data plus a dataset whose every string is markup. */
static void fixture_init(struct fixture *fx)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *yaml;
    memset(fx, 0, sizeof(*fx));
    fx->tmp = tu_tmpdir();
    free(tu_write(fx->tmp, "evil.jsonl",
                  "{\"id\": \"q<1>&\\\"'\", \"question\": \"What is <script>alert(2)</script>?\", "
                  "\"answers\": [\"<i>gold</i>\", \"a|b\"]}\n"
                  "{\"id\": \"q2\", \"question\": \"Plain question?\\u2028</script>\\u0007\", "
                  "\"answers\": [\"x\"]}\n"));
    yaml = lleval_xasprintf(
        "engine: dry\n"
        "model_id: \"dry <b>model</b> & 'co'\"\n"
        "temps: [0.0]\n"
        "parts_per_dataset: 1\n"
        "max_concurrent_jobs: 2\n"
        "datasets:\n"
        "  - {name: sample_closed, format: nq_open, path: %s/examples/data/closed_book.jsonl}\n"
        "  - {name: sample_mc, format: mmlu, path: %s/examples/data/general_knowledge_test.csv, "
        "split: test}\n"
        "  - {name: evil, format: jsonl, type: closed_book, path: %s/evil.jsonl}\n"
        "paths: {prepared_dir: %s/prepared, runs_dir: %s/runs, batches_dir: %s/batches}\n"
        "scoring: {bootstrap_samples: 200}\n",
        LLEVAL_SOURCE_DIR, LLEVAL_SOURCE_DIR, fx->tmp, fx->tmp, fx->tmp, fx->tmp);
    fx->config = tu_write(fx->tmp, "eval.yaml", yaml);
    free(yaml);
    lleval_config_init(&fx->cfg);
    if (lleval_config_load_file(&fx->cfg, fx->config, &err) ||
        lleval_config_validate(&fx->cfg, &err))
        fail_msg("config: %s", err.msg);
}

static void fixture_release(struct fixture *fx)
{
    lleval_config_release(&fx->cfg);
    tu_rmtree(fx->tmp);
    free(fx->tmp);
    free(fx->config);
    free(fx->run_dir);
}

/* Runs the pipeline up to to_step as run id `id`. */
static void fixture_run(struct fixture *fx, const char *id, enum lleval_step to_step)
{
    struct lleval_run_opts o;
    struct lleval_run_result res;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc;
    lleval_run_opts_init(&o);
    o.run_id = id;
    o.to_step = to_step;
    rc = lleval_run_execute(&fx->cfg, &o, &res, &err);
    if (rc)
        fail_msg("run: %s", err.msg);
    free(fx->run_dir);
    fx->run_dir = lleval_xstrdup(res.run_dir);
    lleval_run_result_release(&res);
}

static char *run_file(const struct fixture *fx, const char *rel)
{
    return lleval_path_join(fx->run_dir, rel);
}

/*
 * Rewrites results_combined.jsonl: the first answer's content becomes the
 * attack string and the evil dataset's first answer a failed request whose
 * error message is markup; then parses and scores again, as the run does.
 */
static void inject_attack(struct fixture *fx)
{
    char *combined = run_file(fx, "results/results_combined.jsonl");
    char *batches = run_file(fx, "batches");
    char *pred = run_file(fx, "results/predictions.csv");
    char *results = run_file(fx, "results");
    struct lleval_lines lr;
    struct lleval_sb out = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_parse_report prep;
    struct lleval_score_opts so;
    struct lleval_score_result sr;
    bool first = true;
    int rc;

    assert_int_equal(lleval_lines_open(&lr, combined, &err), 0);
    while ((rc = lleval_lines_next(&lr, &err)) == 1) {
        json_t *j = json_loadb(lr.line, lr.len, 0, NULL);
        const char *cid;
        assert_non_null(j);
        cid = lleval_json_str(j, "custom_id");
        if (first) {
            json_t *msg = lleval_json_path(j, "response.body.choices.0.message");
            assert_non_null(msg);
            json_object_set_new(msg, "content", json_string(ATTACK));
            first = false;
        } else if (!strncmp(cid, "evil:q%3C1%3E", 13)) {
            json_object_set_new(json_object_get(j, "response"), "body", json_null());
            json_integer_set(json_object_get(json_object_get(j, "response"), "status_code"), 500);
            json_object_set_new(
                j, "error",
                json_pack("{s:s, s:s}", "code", "http_500", "message", "<b>boom</b> & \"quotes\""));
            json_object_set_new(json_object_get(j, "lleval"), "finish_reason",
                                json_string("error"));
        }
        lleval_json_dump_sb(j, &out);
        lleval_sb_addch(&out, '\n');
        json_decref(j);
    }
    assert_int_equal(rc, 0);
    lleval_lines_close(&lr);
    assert_false(first);
    assert_int_equal(lleval_write_file_atomic(combined, out.buf, out.len, &err), 0);
    rc = lleval_parse_results(combined, batches, fx->cfg.prepared_dir, pred, &prep, &err);
    if (rc)
        fail_msg("parse: %s", err.msg);
    lleval_parse_report_release(&prep);
    lleval_score_opts_from_config(&so, &fx->cfg);
    rc = lleval_score_run(pred, fx->cfg.prepared_dir, results, &so, &sr, &err);
    if (rc)
        fail_msg("score: %s", err.msg);
    lleval_score_result_release(&sr);
    /* items.jsonl too, as the run's score step writes it: the report reads it */
    rc = lleval_items_write(pred, fx->cfg.prepared_dir, &so, results, NULL, &err);
    if (rc)
        fail_msg("items: %s", err.msg);
    lleval_sb_release(&out);
    free(combined);
    free(batches);
    free(pred);
    free(results);
}

static void render(const struct fixture *fx, struct lleval_sb *html, struct lleval_sb *md)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (lleval_report_render(fx->run_dir, NULL, html, md, &err))
        fail_msg("report: %s", err.msg);
}

static void assert_not_contains_ci(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = haystack; *p; p++)
        if (!strncasecmp(p, needle, n))
            fail_msg("found \"%s\" at \"%.80s\"", needle, p);
}

#define X_DATA_OPEN "<script type=\"application/json\" id=\"x-data\">"

/* The item explorer's JSON text in html (owned), checked to hold nothing that
 * could end its element: no '<', '>', '&' and no raw U+2028/U+2029. */
static char *explorer_json(const char *html)
{
    const char *at = strstr(html, X_DATA_OPEN), *end;
    char *json;
    assert_non_null(at);
    at += strlen(X_DATA_OPEN);
    end = strstr(at, "</script>");
    assert_non_null(end);
    json = lleval_xstrndup(at, (size_t)(end - at));
    assert_null(strpbrk(json, "<>&"));
    assert_null(strstr(json, "\xE2\x80\xA8"));
    assert_null(strstr(json, "\xE2\x80\xA9"));
    return json;
}

/*
 * html without the item explorer's two script elements, owned: the inline
 * JSON (checked by explorer_json()) and the explorer's own script, which must
 * be exactly lleval_explorer_js. Any other script is left in place.
 */
static char *without_explorer(const char *html)
{
    struct lleval_sb js = LLEVAL_SB_INIT, out = LLEVAL_SB_INIT;
    const char *at = strstr(html, X_DATA_OPEN), *end;
    char *json;
    if (!at)
        return lleval_xstrdup(html);
    assert_null(strstr(at + 1, X_DATA_OPEN));
    json = explorer_json(html);
    free(json);
    for (size_t i = 0; lleval_explorer_js[i]; i++)
        lleval_sb_adds(&js, lleval_explorer_js[i]);
    lleval_sb_add(&out, html, (size_t)(at - html));
    end = strstr(at, "</script>\n<script>");
    assert_non_null(end);
    end += strlen("</script>\n<script>");
    assert_int_equal(strncmp(end, js.buf, js.len), 0);
    end += js.len;
    assert_int_equal(strncmp(end, "</script>", 9), 0);
    lleval_sb_adds(&out, end + 9);
    lleval_sb_release(&js);
    return lleval_sb_detach(&out, NULL);
}

/* Nothing active or fetched: no scripts but the explorer's, handlers as
 * markup, external resources. */
static void assert_inert(const char *page)
{
    char *html = without_explorer(page);
    assert_not_contains_ci(html, "<script");
    assert_not_contains_ci(html, "<img");
    assert_not_contains_ci(html, "<link");
    assert_not_contains_ci(html, "<iframe");
    assert_not_contains_ci(html, "src=\"");
    assert_not_contains_ci(html, "url(");
    assert_not_contains_ci(html, "@import");
    assert_not_contains_ci(html, "http://");
    assert_not_contains_ci(html, "https://");
    free(html);
}

/* ---- whole runs --------------------------------------------------------- */

static void test_run_writes_report(void **state)
{
    struct fixture fx;
    char *html_path, *md_path, *html, *md;
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "full", LLEVAL_STEP_REPORT);
    html_path = lleval_report_html_path(fx.run_dir);
    md_path = lleval_report_md_path(fx.run_dir);
    html = tu_read(html_path);
    md = tu_read(md_path);
    assert_non_null(html);
    assert_non_null(md);
    tu_assert_contains(html, "<!DOCTYPE html>");
    /* the run's own report shows the final status, not "running" */
    tu_assert_contains(html, "<span class=\"badge s-ok\">done</span>");
    tu_assert_contains(md, "status **done**");
    tu_assert_contains(html, "</html>\n");
    assert_inert(html);
    free(html);
    free(md);
    free(html_path);
    free(md_path);
    fixture_release(&fx);
}

static void test_sections_and_escaping(void **state)
{
    struct fixture fx;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    static const char *const sections[] = {
        "id=\"headline\"", "id=\"scores\"",  "id=\"finish\"",   "id=\"speed\"",
        "id=\"doctor\"",   "id=\"samples\"", "id=\"settings\"",
    };
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "attack", LLEVAL_STEP_SCORE);
    inject_attack(&fx);
    render(&fx, &html, &md);

    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(sections); i++)
        tu_assert_contains(html.buf, sections[i]);
    tu_assert_contains(html.buf, "@media (prefers-color-scheme:dark)");
    tu_assert_contains(html.buf, "@media print");
    tu_assert_contains(html.buf, "<meta name=\"viewport\"");
    /* charts: score bars with CI whiskers, stacked finish reasons */
    tu_assert_contains(html.buf, "aria-label=\"scores per group with 95% confidence intervals\"");
    tu_assert_contains(html.buf, "<line class=\"wh\"");
    tu_assert_contains(html.buf, "aria-label=\"finish reasons per group\"");
    tu_assert_contains(html.buf, "<rect class=\"f-stop\"");
    /* the scores table: value and interval */
    tu_assert_contains(html.buf, "<td>sample_closed</td><td>direct</td><td class=\"n\">0</td>"
                                 "<td class=\"n\">16</td>");
    tu_assert_contains(html.buf, "<span class=\"ci\">[");
    /* telemetry was not enabled */
    tu_assert_contains(html.buf, "Telemetry disabled");

    /* model output, dataset text, ids, errors and config values are escaped */
    assert_inert(html.buf);
    tu_assert_contains(html.buf, ATTACK_HTML);
    tu_assert_contains(html.buf, "What is &lt;script&gt;alert(2)&lt;/script&gt;?");
    tu_assert_contains(html.buf, "<code>q&lt;1&gt;&amp;&quot;&#39;</code>");
    tu_assert_contains(html.buf, "&lt;i&gt;gold&lt;/i&gt;");
    tu_assert_contains(html.buf, "error: &lt;b&gt;boom&lt;/b&gt; &amp; &quot;quotes&quot;");
    tu_assert_contains(html.buf, "dry &lt;b&gt;model&lt;/b&gt; &amp; &#39;co&#39;");
    assert_null(strstr(html.buf, "<b>boom"));
    assert_null(strstr(html.buf, "<b>model"));
    assert_null(strstr(html.buf, "<i>gold"));

    /* samples: wrong answers with the gold, the scored answer, the verdict */
    tu_assert_contains(html.buf, "<h3>sample_closed &middot; direct &middot; t0</h3>");
    tu_assert_contains(html.buf, "<span class=\"tag s-bad\">wrong</span>");
    tu_assert_contains(html.buf, "<span class=\"tag s-ok\">right</span>");

    /* Markdown: the same facts as tables, nothing raw */
    tu_assert_contains(md.buf, "# lleval report: attack\n");
    tu_assert_contains(md.buf, "| dataset | prompt | temp | n | EM % | F1 % | contains % | "
                               "acc % | trunc % | err % | latency ms | tok/s |\n");
    tu_assert_contains(md.buf, "| sample\\_closed | direct | 0 | 16 | ");
    tu_assert_contains(md.buf, "| sample\\_mc | direct | 0 | 10 | - | - | - | ");
    tu_assert_contains(md.buf, "| evil | direct | 0 | 2 | ");
    tu_assert_contains(md.buf, "| sample\\_closed / direct / t0 | 16 |");
    tu_assert_contains(md.buf, "## Doctor\n");
    tu_assert_contains(md.buf, "dry &lt;b\\>model&lt;/b\\> \\& 'co'");
    /* no HTML: every < from data is written &lt; */
    assert_null(strchr(md.buf, '<'));
    /* the failed request: one of evil's two answers */
    tu_assert_contains(md.buf, "| evil / direct / t0 | 2 | 1 (50.0%) | 0 (0.0%) | 1 (50.0%) |");
    /* the scores rows have as many cells as the header (12, so 13 unescaped pipes) */
    for (const char *line = md.buf; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (!strncmp(line, "| dataset |", 11) || !strncmp(line, "| sample\\_closed | direct", 25) ||
            !strncmp(line, "| evil | direct", 15)) {
            size_t pipes = 0;
            for (size_t k = 0; k < len; k++)
                if (line[k] == '|' && (k == 0 || line[k - 1] != '\\'))
                    pipes++;
            assert_int_equal(pipes, 13);
        }
        line += len + (end ? 1 : 0);
    }
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    fixture_release(&fx);
}

/* ---- the item explorer and the comparison page -------------------------- */

/* The row of rows whose custom_id starts with prefix (borrowed), or NULL. */
static const json_t *row_with_cid(const json_t *rows, const char *prefix)
{
    const json_t *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        const char *cid = json_string_value(json_array_get(row, 0));
        if (cid && !strncmp(cid, prefix, strlen(prefix)))
            return row;
    }
    return NULL;
}

/* A row's field k that refers to the string table t (borrowed). */
static const json_t *tab(const json_t *t, const json_t *row, size_t k)
{
    return json_array_get(t, (size_t)json_integer_value(json_array_get(row, k)));
}

static void test_explorer_data(void **state)
{
    struct fixture fx;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    const json_t *rows, *t, *row, *prompt;
    json_t *data;
    char *text;
    size_t i, attacks = 0, right = 0, wrong = 0;
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "explore", LLEVAL_STEP_SCORE);
    inject_attack(&fx);
    render(&fx, &html, &md);
    assert_inert(html.buf);
    tu_assert_contains(html.buf, "<section id=\"explorer\">");
    tu_assert_contains(html.buf, "<a href=\"#explorer\">Items</a>"); /* in the header's nav */
    tu_assert_contains(html.buf, "Content-Security-Policy\" content=\"default-src 'none'");

    text = explorer_json(html.buf);
    data = json_loads(text, 0, NULL);
    assert_non_null(data);
    rows = json_object_get(data, "rows");
    t = json_object_get(data, "t");
    /* every answer: 16 closed-book, 10 multiple choice, 2 evil */
    assert_int_equal(json_array_size(rows), 28);
    json_array_foreach(rows, i, row)
    {
        const char *v = json_string_value(tab(t, row, 6));
        attacks += !strcmp(json_string_value(json_array_get(row, 9)), ATTACK);
        right += !strcmp(v, "right");
        wrong += !strcmp(v, "wrong");
    }
    assert_int_equal(attacks, 1); /* the model's markup, as it was written */
    assert_true(right > 0 && wrong > 0);

    /* the failed request: verdict error with its message */
    row = row_with_cid(rows, "evil:q%3C1%3E");
    assert_non_null(row);
    assert_string_equal(json_string_value(tab(t, row, 6)), "error");
    tu_assert_contains(json_string_value(json_array_get(row, 11)), "<b>boom</b>");
    assert_string_equal(json_string_value(json_array_get(tab(t, row, 14), 0)), "<i>gold</i>");
    assert_string_equal(json_string_value(json_array_get(row, 2)), "q<1>&\"'");
    /* the prompt as the build rendered it: [system, before, after] around the question */
    prompt = tab(t, row, 12);
    assert_int_equal(json_array_size(prompt), 3);
    tu_assert_contains(json_string_value(tab(t, prompt, 1)), "Question: ");
    assert_string_equal(json_string_value(tab(t, row, 13)), "What is <script>alert(2)</script>?");
    tu_assert_contains(json_string_value(tab(t, prompt, 2)), "Answer:");
    /* U+2028 and a closing tag in a question travel as JSON escapes */
    row = row_with_cid(rows, "evil:q2:");
    assert_non_null(row);
    /* and a control character shows as U+FFFD, as in the rest of the page */
    assert_string_equal(json_string_value(tab(t, row, 13)),
                        "Plain question?\xE2\x80\xA8</script>" LLEVAL_UTF8_REPLACEMENT);
    tu_assert_contains(text, "Plain question?\\u2028\\u003c/script\\u003e");
    /* multiple choice: the letter read, no F1 */
    row = row_with_cid(rows, "sample_mc:");
    assert_non_null(row);
    assert_true(json_is_integer(json_array_get(row, 17)));
    assert_true(json_is_null(json_array_get(row, 8)));

    json_decref(data);
    free(text);
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    fixture_release(&fx);
}

static void test_compare_page(void **state)
{
    struct fixture fx;
    struct lleval_sb html = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_compare_run a, b;
    struct lleval_compare_result res;
    char *runs = NULL, *want;
    size_t a_right = 0;
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "one", LLEVAL_STEP_SCORE);
    inject_attack(&fx);
    /* the dry engine answers differently for another model id */
    free(fx.cfg.model_id);
    fx.cfg.model_id = lleval_xstrdup("another dry model");
    fixture_run(&fx, "two", LLEVAL_STEP_SCORE);
    runs = lleval_path_join(fx.tmp, "runs");

    assert_int_equal(lleval_report_compare_render(runs, "one", "two", &html, &err), 0);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&res, 0, sizeof(res));
    assert_int_equal(lleval_compare_run_load(&a, runs, "one", &err), 0);
    assert_int_equal(lleval_compare_run_load(&b, runs, "two", &err), 0);
    assert_int_equal(lleval_compare_items(&a.items, &b.items, 0, 1, &res, &err), 0);
    assert_true(res.n_flips > 0);
    for (size_t k = 0; k < res.n_flips; k++)
        a_right += res.flips[k].a_right;

    /* a static page: no script at all, the runs' text escaped */
    assert_inert(html.buf);
    assert_null(strstr(html.buf, "<script"));
    tu_assert_contains(html.buf, "<title>lleval comparison: one vs two</title>");
    want = lleval_xasprintf("<dd id=\"flipped\">%zu</dd>", res.n_flips);
    tu_assert_contains(html.buf, want);
    free(want);
    want = lleval_xasprintf("Right in A, wrong in B <span class=\"muted\">(%zu)</span>", a_right);
    tu_assert_contains(html.buf, want);
    free(want);
    want = lleval_xasprintf("data-flips=\"%zu\"", res.n_flips - a_right);
    if (res.n_flips > a_right)
        tu_assert_contains(html.buf, want);
    free(want);
    tu_assert_contains(html.buf, "dry &lt;b&gt;model&lt;/b&gt; &amp; &#39;co&#39;");
    /* an unknown run is an error */
    lleval_sb_reset(&html);
    assert_int_equal(lleval_report_compare_render(runs, "one", "nope", &html, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "no run 'nope'");

    lleval_compare_result_release(&res);
    lleval_compare_run_release(&a);
    lleval_compare_run_release(&b);
    lleval_sb_release(&html);
    free(runs);
    fixture_release(&fx);
}

static void test_report_without_scores(void **state)
{
    struct fixture fx;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path;
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "polled", LLEVAL_STEP_POLL);
    path = run_file(&fx, "results/scores.json");
    assert_false(lleval_path_exists(path));
    free(path);
    render(&fx, &html, &md);
    tu_assert_contains(html.buf, "scores are missing: results/scores.json was not written "
                                 "(steps done: prepare, build, submit, poll)");
    tu_assert_contains(md.buf, "scores are missing");
    /* finish reasons come from the results instead */
    tu_assert_contains(html.buf, "Counted from results/results_combined.jsonl");
    tu_assert_contains(html.buf, "sample_closed &middot; direct &middot; t0");
    tu_assert_contains(md.buf, "| sample\\_closed / direct / t0 | 16 |");
    tu_assert_contains(html.buf, "no answers to show: results/predictions.csv was not written");
    assert_inert(html.buf);
    /* writing works too */
    assert_int_equal(lleval_report_write(fx.run_dir, &err), 0);
    path = lleval_report_html_path(fx.run_dir);
    assert_true(lleval_path_exists(path));
    free(path);
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    fixture_release(&fx);
}

static void test_prepared_data_gone(void **state)
{
    struct fixture fx;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "gone", LLEVAL_STEP_SCORE);
    inject_attack(&fx);
    tu_rmtree(fx.cfg.prepared_dir);
    render(&fx, &html, &md);
    tu_assert_contains(html.buf, "is gone");
    tu_assert_contains(html.buf, "showing predictions only");
    tu_assert_contains(html.buf, "The first 8 answers per group.");
    /* predictions still shown, still escaped; no question or gold column */
    tu_assert_contains(html.buf, ATTACK_HTML);
    assert_null(strstr(html.buf, "<th>gold</th>"));
    assert_inert(html.buf);
    /* the scores themselves are still there */
    tu_assert_contains(md.buf, "| sample\\_closed | direct | 0 | 16 | ");
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    fixture_release(&fx);
}

static void test_telemetry(void **state)
{
    struct fixture fx;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *m, *trials;
    char *path;
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "tel", LLEVAL_STEP_REPORT);
    path = run_file(&fx, "manifest.json");
    m = lleval_json_load_file(path, &err);
    assert_non_null(m);
    trials = json_object_get(m, "trials");
    assert_true(json_array_size(trials) >= 2);
    json_object_set_new(
        json_array_get(trials, 0), "telemetry",
        json_pack("{s:s, s:i, s:i, s:{s:s, s:i, s:i, s:f, s:i, s:i, s:f, s:f, s:f}, "
                  "s:{s:f, s:f, s:n}}",
                  "status", "ok", "interval_ms", 1000, "samples", 312, "gpu", "name",
                  "NVIDIA GeForce <RTX> 5080", "memory_total_mib", 16303, "memory_used_peak_mib",
                  15800, "utilization_mean_pct", 42.5, "utilization_peak_pct", 99,
                  "temperature_peak_c", 87, "power_mean_w", 291.4, "energy_j", 90811.0,
                  "energy_per_token_j", 0.41, "host", "cpu_mean_pct", 12.1, "cpu_peak_pct", 48.0,
                  "engine_rss_peak_mib"));
    json_object_set_new(json_array_get(trials, 1), "telemetry",
                        json_pack("{s:s}", "status",
                                  "unavailable: libnvidia-ml.so.1 not found (no NVIDIA driver)"));
    assert_int_equal(lleval_json_write_atomic(path, m, &err), 0);
    json_decref(m);
    free(path);
    render(&fx, &html, &md);
    tu_assert_contains(html.buf, "NVIDIA GeForce &lt;RTX&gt; 5080");
    tu_assert_contains(html.buf, "15800 / 16303 MiB (96.9%)");
    tu_assert_contains(html.buf, "<rect class=\"fill s-bad\"");
    tu_assert_contains(html.buf, "<span class=\"s-warn\">42.5%</span> / 99%");
    tu_assert_contains(html.buf, "<span class=\"s-bad\">87 &deg;C</span>");
    tu_assert_contains(html.buf, "291.4 W");
    tu_assert_contains(html.buf, "90.8 kJ");
    tu_assert_contains(html.buf, "0.410 J");
    tu_assert_contains(html.buf, "12.1% / 48%");
    tu_assert_contains(html.buf,
                       "Telemetry unavailable: libnvidia-ml.so.1 not found (no NVIDIA driver).");
    tu_assert_contains(md.buf, "| NVIDIA GeForce &lt;RTX\\> 5080 | 15800 / 16303 | 42.5 / 99 | "
                               "87 | 291.4 | 0.410 |");
    assert_inert(html.buf);
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    fixture_release(&fx);
}

/* Engine error text with every kind of Markdown: in report.md it is text,
 * nothing renders (no image fetched, no link, no emphasis, no new line). */
static void test_markdown_attack(void **state)
{
    static const char attack[] =
        "![x](http://evil/x.png) [a](javascript:alert(1)) <http://evil> <img src=x> **b** _i_ "
        "# h `c` ~~s~~ www.evil.com a@evil.com &lt; \\| x\n# line | cell";
    static const char want[] =
        "- last error: \\!\\[x\\]\\(http\\://evil/x\\.png\\) "
        "\\[a\\]\\(javascript\\:alert\\(1\\)\\) "
        "&lt;http\\://evil\\> &lt;img src\\=x\\> \\*\\*b\\*\\* \\_i\\_ \\# h \\`c\\` \\~\\~s\\~\\~ "
        "www\\.evil\\.com a\\@evil\\.com \\&lt; \\\\\\| x \\# line \\| cell\n";
    struct fixture fx;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path;
    json_t *m;
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "mdx", LLEVAL_STEP_REPORT);
    path = run_file(&fx, "manifest.json");
    m = lleval_json_load_file(path, &err);
    assert_non_null(m);
    json_object_set_new(m, "last_error", json_string(attack));
    assert_int_equal(lleval_json_write_atomic(path, m, &err), 0);
    json_decref(m);
    free(path);
    render(&fx, &html, &md);
    tu_assert_contains(md.buf, want);
    assert_null(strchr(md.buf, '<'));
    assert_null(strstr(md.buf, "!["));
    assert_null(strstr(md.buf, "]("));
    assert_null(strstr(md.buf, "\n# line"));
    /* the HTML shows the URLs as text, never as a link or a fetch */
    assert_not_contains_ci(html.buf, "<img");
    assert_not_contains_ci(html.buf, "href=\"http");
    assert_not_contains_ci(html.buf, "href=\"javascript");
    assert_not_contains_ci(html.buf, "src=\"");
    tu_assert_contains(html.buf, "![x](http://evil/x.png) [a](javascript:alert(1)) "
                                 "&lt;http://evil&gt; &lt;img src=x&gt;");
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    fixture_release(&fx);
}

static void test_not_a_run(void **state)
{
    char *tmp = tu_tmpdir();
    struct lleval_sb html = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *html_path;
    (void)state;
    assert_int_equal(lleval_report_render(tmp, NULL, &html, NULL, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "no manifest.json in");
    assert_int_equal(html.len, 0);
    free(tu_write(tmp, "manifest.json", "{\"run_id\": \"x\", "));
    assert_int_not_equal(lleval_report_write(tmp, &err), 0);
    html_path = lleval_report_html_path(tmp);
    assert_false(lleval_path_exists(html_path));
    free(html_path);
    lleval_sb_release(&html);
    tu_rmtree(tmp);
    free(tmp);
}

/* A run over several endpoints: the manifest's endpoints array is a table in
 * both formats, every string escaped; a run of one server has no such section. */
static void test_endpoints(void **state)
{
    struct fixture fx;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path;
    json_t *m;
    (void)state;
    fixture_init(&fx);
    fixture_run(&fx, "eps", LLEVAL_STEP_REPORT);
    render(&fx, &html, &md);
    assert_null(strstr(html.buf, "id=\"endpoints\""));
    assert_null(strstr(md.buf, "## Endpoints"));
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    path = run_file(&fx, "manifest.json");
    m = lleval_json_load_file(path, &err);
    assert_non_null(m);
    json_object_set_new(
        m, "endpoints",
        json_pack("[{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:b, s:s}, {s:s, s:s, s:i, "
                  "s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:b}]",
                  "base_url", "http://gpu<0>:8080", "engine", "llamacpp", "slots", 4, "ok", 37,
                  "failed", 1, "requeued", 3, "outages", 1, "out_of_rotation_s", 12.5,
                  "requests_per_s", 0.92, "gen_tps", 23.6, "in_rotation", 0, "last_error",
                  "<img src=x> | **down**", "base_url", "http://gpu1:8080", "engine", "llamacpp",
                  "slots", 4, "ok", 80, "failed", 0, "requeued", 0, "outages", 0,
                  "out_of_rotation_s", 0.0, "requests_per_s", 2.0, "gen_tps", 50.0, "in_rotation",
                  1));
    assert_int_equal(lleval_json_write_atomic(path, m, &err), 0);
    json_decref(m);
    free(path);
    html = (struct lleval_sb)LLEVAL_SB_INIT;
    md = (struct lleval_sb)LLEVAL_SB_INIT;
    render(&fx, &html, &md);
    tu_assert_contains(html.buf, "<section id=\"endpoints\">");
    tu_assert_contains(html.buf, "<td>http://gpu&lt;0&gt;:8080</td><td>llamacpp</td><td "
                                 "class=\"num\">4</td><td class=\"num\">37</td>");
    tu_assert_contains(html.buf, "<td>no</td><td>&lt;img src=x&gt; | **down**</td>");
    tu_assert_contains(md.buf, "## Endpoints");
    tu_assert_contains(md.buf, "| 4 | 37 | 1 | 3 | 1 | 12.5 | 0.92 | 23.6 | no | &lt;img "
                               "src\\=x\\> \\| \\*\\*down\\*\\* |");
    tu_assert_contains(md.buf, "| http\\://gpu1\\:8080 | llamacpp | 4 | 80 | 0 | 0 | 0 | 0.0 | "
                               "2.00 | 50.0 | yes |  |");
    assert_not_contains_ci(html.buf, "<img"); /* the addresses are text, never links */
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    fixture_release(&fx);
}

/* The script text's escapes one byte at a time (the writer's former loop). */
static void script_json_ref(struct lleval_sb *sb, const char *s, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc;
        if (c == '<')
            esc = "\\u003c";
        else if (c == '>')
            esc = "\\u003e";
        else if (c == '&')
            esc = "\\u0026";
        else if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                 ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
            esc = (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
        else
            continue;
        lleval_sb_add(sb, s + run, i - run);
        lleval_sb_adds(sb, esc);
        if (c == 0xE2)
            i += 2;
        run = i + 1;
    }
    lleval_sb_add(sb, s + run, len - run);
}

/* The script text's writer (eight bytes at a time where none needs an
 * escape) writes what the byte loop writes: a table, then random texts over
 * the escaped bytes, U+2028/U+2029's bytes and plain ones, every length to 40. */
static void test_script_json(void **state)
{
    static const char *const table[] = {
        "",
        "<",
        "abcdefgh",
        "abcdefg<",
        "<bcdefgh",
        "abcdefghi&",
        "\xe2\x80\xa8",
        "1234567\xe2\x80\xa9",
        "123456\xe2\x80\xa8x",
        "1234567\xe2\x80",
        "\xe2\x80",
        "\xe2\x80\xaa",
        "a>b<c&d\xe2\x80\xa9"
        "e",
    };
    static const char alphabet[] = "<>&\xe2\x80\xa8\xa9"
                                   "ab\"\\";
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    char buf[64];
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(table) + 20000; i++) {
        struct lleval_sb a = LLEVAL_SB_INIT, b = LLEVAL_SB_INIT;
        const char *text = buf;
        size_t len;
        if (i < LLEVAL_ARRAY_SIZE(table)) {
            text = table[i];
            len = strlen(text);
        } else {
            len = i % 41;
            for (size_t k = 0; k < len; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                /* mostly plain bytes, so that whole words pass */
                buf[k] = x % 8 ? 'a' + (char)(x % 26) : alphabet[(x >> 8) % (sizeof(alphabet) - 1)];
            }
        }
        lleval_report_script_json(&a, text, len);
        script_json_ref(&b, text, len);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.buf ? a.buf : "", b.buf ? b.buf : "", a.len);
        lleval_sb_release(&a);
        lleval_sb_release(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_writes_report),
        cmocka_unit_test(test_sections_and_escaping),
        cmocka_unit_test(test_explorer_data),
        cmocka_unit_test(test_compare_page),
        cmocka_unit_test(test_report_without_scores),
        cmocka_unit_test(test_prepared_data_gone),
        cmocka_unit_test(test_telemetry),
        cmocka_unit_test(test_markdown_attack),
        cmocka_unit_test(test_not_a_run),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_script_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
