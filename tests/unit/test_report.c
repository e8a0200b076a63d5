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
#include "lleval/score/score.h"
#include "lleval/util/util.h"

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
                  "{\"id\": \"q2\", \"question\": \"Plain question?\", \"answers\": [\"x\"]}\n"));
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

/* Nothing active or fetched: no scripts, handlers as markup, external resources. */
static void assert_inert(const char *html)
{
    assert_not_contains_ci(html, "<script");
    assert_not_contains_ci(html, "<img");
    assert_not_contains_ci(html, "<link");
    assert_not_contains_ci(html, "<iframe");
    assert_not_contains_ci(html, "src=\"");
    assert_not_contains_ci(html, "url(");
    assert_not_contains_ci(html, "@import");
    assert_not_contains_ci(html, "http://");
    assert_not_contains_ci(html, "https://");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_writes_report),
        cmocka_unit_test(test_sections_and_escaping),
        cmocka_unit_test(test_report_without_scores),
        cmocka_unit_test(test_prepared_data_gone),
        cmocka_unit_test(test_telemetry),
        cmocka_unit_test(test_markdown_attack),
        cmocka_unit_test(test_not_a_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
