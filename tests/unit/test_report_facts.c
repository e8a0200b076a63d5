/*
 * Tests for the report's facts (lib/report/facts.c, samples.c): synthetic
 * run directories written by the test (manifest, scores, combined results,
 * config) gathered into struct report: header facts, trials, groups, the
 * headline, finish-reason rows from the scores or from the results; a missing
 * or damaged artifact leaves a note (n/a facts), never a crash; a directory
 * that is not a run, or a damaged or newer manifest, is a clear error; a
 * damaged result line counts with what it still says.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/util/util.h"
#include "../../lib/report/report_int.h"

static const char manifest_json[] =
    "{\"run_id\": \"syn\", \"status\": \"running\", \"model_id\": \"m<1>\", \"engine\": \"dry\","
    " \"base_url\": \"http://x\", \"created_at\": 1000, \"updated_at\": 1100,"
    " \"max_concurrent_jobs\": 4, \"steps_done\": [\"prepare\", \"build\"],"
    " \"requests\": {\"total\": 40, \"answered\": 38, \"errors\": 2},"
    " \"trials\": ["
    "  {\"trial\": \"t0\", \"finished_at\": 1250, \"elapsed_s\": 20,"
    "   \"job_counts\": {\"done\": 2, \"total\": 2},"
    "   \"requests\": {\"total\": 20, \"answered\": 19, \"errors\": 1},"
    "   \"tokens\": {\"prompt\": 900, \"completion\": 400},"
    "   \"engine_speed\": {\"prompt_tps\": 500.5, \"gen_tps\": null},"
    "   \"telemetry\": {\"status\": \"ok\", \"gpu\": {\"name\": \"G1\", \"memory_total_mib\": 100,"
    "    \"memory_used_peak_mib\": 50}, \"host\": {\"cpu_mean_pct\": 10}}},"
    "  {\"trial\": \"t1\", \"elapsed_s\": 0, \"telemetry\": {\"status\": \"ok\","
    "   \"gpu\": {\"name\": \"G2\"}}},"
    "  {\"trial\": \"t2\"}]}";

/* Two QA groups and their overall row, one multiple-choice group. */
static const char scores_json[] =
    "{\"options\": {\"bootstrap_resamples\": 0},"
    " \"totals\": {\"rows\": 30, \"scored\": 28, \"missing\": 1, \"unknown\": 2,"
    "  \"duplicates\": 3},"
    " \"warnings\": [\"w1\", 5, \"w2\"],"
    " \"groups\": ["
    "  {\"dataset\": \"qa\", \"prompt_type\": \"direct\", \"temperature\": 0, \"n\": 10,"
    "   \"scoring\": \"qa\", \"exact_match\": {\"value\": 40, \"ci95\": [20, 60]},"
    "   \"f1\": {\"value\": 50}, \"tokens_per_s\": {\"value\": 10}, \"latency_ms\": {\"value\": "
    "100},"
    "   \"finish_reason\": {\"stop\": 7, \"length\": 2, \"error\": 1, \"other\": 0},"
    "   \"error_pct\": 10},"
    "  {\"dataset\": \"qa\", \"prompt_type\": \"cot\", \"temperature\": 0.7, \"n\": 10,"
    "   \"exact_match\": {\"value\": 60}, \"f1\": {\"value\": 70},"
    "   \"tokens_per_s\": {\"value\": 20},"
    "   \"finish_reason\": {\"stop\": 10, \"length\": 0, \"error\": 0, \"other\": 0}},"
    "  {\"dataset\": \"qa\", \"prompt_type\": null, \"temperature\": null, \"overall\": true,"
    "   \"n\": 20, \"exact_match\": {\"value\": 50}},"
    "  {\"dataset\": \"mc\", \"prompt_type\": \"direct\", \"temperature\": 0, \"n\": 20,"
    "   \"scoring\": \"mc\", \"accuracy\": {\"value\": 25},"
    "   \"finish_reason\": {\"stop\": 20}},"
    "  {\"dataset\": \"mc\", \"prompt_type\": null, \"temperature\": null, \"overall\": true,"
    "   \"n\": 20, \"accuracy\": {\"value\": 25}},"
    "  \"not a group\"]}";

struct run {
    char *dir;
};

static void mkrun(struct run *run, const char *manifest)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *results;
    run->dir = tu_tmpdir();
    results = lleval_path_join(run->dir, "results");
    assert_int_equal(lleval_mkdirs(results, &err), 0);
    free(results);
    if (manifest)
        free(tu_write(run->dir, "manifest.json", manifest));
}

static void rmrun(struct run *run)
{
    tu_rmtree(run->dir);
    free(run->dir);
}

static void load(struct report *r, const struct run *run)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (lleval_report_facts_load(r, run->dir, NULL, &err))
        fail_msg("facts: %s", err.msg);
}

static void test_header_and_trials(void **state)
{
    struct run run;
    struct report r;
    (void)state;
    mkrun(&run, manifest_json);
    load(&r, &run);
    assert_string_equal(r.run_id, "syn");
    assert_int_equal(r.status, LLEVAL_RUN_RUNNING);
    assert_string_equal(r.model, "m<1>");
    assert_string_equal(r.engine, "dry");
    assert_string_equal(r.engine_detail, "");
    assert_string_equal(r.base_url, "http://x");
    assert_string_equal(r.steps_done, "prepare, build");
    assert_true(r.started == 1000);
    assert_true(r.last == 1250); /* a trial ended after the manifest's update */
    assert_true(r.duration == 250);
    assert_int_equal(r.total, 40);
    assert_int_equal(r.answered, 38);
    assert_int_equal(r.errors, 2);
    assert_true(r.err_pct == 5.0);
    assert_int_equal(r.concurrency, 4);
    /* trials */
    assert_int_equal(r.n_trials, 3);
    assert_string_equal(r.trials[0].name, "t0");
    assert_int_equal(r.trials[0].parts_done, 2);
    assert_int_equal(r.trials[0].answered, 19);
    assert_int_equal(r.trials[0].completion_tokens, 400);
    assert_true(r.trials[0].rps.has && r.trials[0].rps.v == 19.0 / 20.0);
    assert_true(r.trials[0].wall_tps.has && r.trials[0].wall_tps.v == 20.0);
    assert_true(r.trials[0].prompt_tps.has && r.trials[0].prompt_tps.v == 500.5);
    assert_false(r.trials[0].gen_tps.has); /* null */
    assert_true(r.trials[0].has_gpu);
    assert_true(r.trials[0].mem_peak.has && r.trials[0].mem_peak.v == 50);
    assert_true(r.trials[0].cpu_mean.has);
    assert_false(r.trials[0].cpu_peak.has);
    assert_false(r.trials[1].rps.has); /* no elapsed time: no rate */
    assert_string_equal(r.trials[2].tstatus, "disabled");
    assert_false(r.trials[2].has_gpu);
    assert_true(r.any_gpu);
    assert_false(r.one_gpu); /* G1 and G2 */
    /* no scores, no results, no config: notes, not failures */
    assert_null(r.scores);
    tu_assert_contains(r.scores_note, "scores are missing: results/scores.json was not written "
                                      "(steps done: prepare, build)");
    tu_assert_contains(r.finish_note, "no finish reasons yet");
    assert_int_equal(r.n_frows, 0);
    assert_false(r.have_cfg);
    tu_assert_contains(r.cfg_note, "config.resolved.yaml is missing");
    tu_assert_contains(r.samples_note, "no answers to show");
    assert_int_equal(r.n_sg, 0);
    assert_false(r.h.have_main);
    assert_false(r.h.have_trunc);
    lleval_report_facts_release(&r);
    rmrun(&run);
}

static void test_scores_and_headline(void **state)
{
    struct run run;
    struct report r;
    (void)state;
    mkrun(&run, manifest_json);
    free(tu_write(run.dir, "results/scores.json", scores_json));
    load(&r, &run);
    assert_non_null(r.scores);
    assert_null(r.scores_note);
    assert_int_equal(r.n_grps, 5); /* the string is no group */
    assert_string_equal(r.grps[0].temp, "0");
    assert_string_equal(r.grps[1].temp, "0.7");
    assert_true(r.grps[0].shown && r.grps[1].shown);
    assert_true(r.grps[2].overall && r.grps[2].shown);  /* over two groups */
    assert_true(r.grps[4].overall && !r.grps[4].shown); /* over one group */
    assert_false(r.grps[0].mc);
    assert_true(r.grps[3].mc);
    assert_true(r.grps[0].em.has && r.grps[0].em.lo == 20 && r.grps[0].em.hi == 60);
    assert_true(isnan(r.grps[1].em.lo));
    assert_false(r.grps[0].acc.has);
    /* the report's own proportions: truncation 2 of 10, errors 10% of 10 */
    assert_true(r.grps[0].trunc.has && r.grps[0].trunc.v == 20.0);
    assert_true(r.grps[0].err.has && r.grps[0].err.v == 10.0);
    assert_true(isnan(r.grps[0].trunc.lo)); /* bootstrap_resamples 0: no interval */
    /* totals and warnings (strings only; the list was not empty) */
    assert_int_equal(r.scored, 28);
    assert_int_equal(r.rows, 30);
    assert_int_equal(r.duplicates, 3);
    assert_int_equal(r.n_warnings, 2);
    assert_string_equal(r.warnings[1], "w2");
    assert_true(r.warnings_listed);
    /* finish rows from the scores, overall rows left out */
    assert_int_equal(r.n_frows, 3);
    assert_string_equal(r.frows[0].dataset, "qa");
    assert_string_equal(r.frows[1].prompt, "cot");
    assert_int_equal(r.frows[0].length, 2);
    assert_int_equal(r.frows[2].stop, 20);
    assert_null(r.finish_note); /* not counted from the results */
    /* headline: item-weighted over the three groups */
    assert_true(r.h.have_main);
    /* EM over the QA groups and accuracy over multiple choice, never one mix */
    assert_string_equal(r.h.main_label, "EM");
    assert_true(fabs(r.h.main - (40 * 10 + 60 * 10) / 20.0) < 1e-9);
    assert_true(r.h.have_acc);
    assert_true(fabs(r.h.acc - 25.0) < 1e-9);
    assert_true(r.h.have_f1 && fabs(r.h.f1 - 60.0) < 1e-9);
    assert_true(r.h.have_trunc && fabs(r.h.trunc - 100.0 * 2 / 40) < 1e-9);
    assert_true(r.h.have_tps && fabs(r.h.tps - 15.0) < 1e-9);
    assert_true(r.h.have_lat && r.h.lat == 100);
    lleval_report_facts_release(&r);
    rmrun(&run);
}

/*
 * A done run whose every request failed: its groups' metrics are n/a (null in
 * scores.json), and its status shows as done with every request failed (red),
 * never as a plain green done; some failures: done with errors (amber).
 */
static void test_all_failed_run(void **state)
{
    static const char manifest[] =
        "{\"run_id\": \"f\", \"status\": \"done\", \"requests\": {\"total\": 4,"
        " \"answered\": 4, \"errors\": 4}, \"trials\": []}";
    static const char scores[] =
        "{\"groups\": ["
        "  {\"dataset\": \"qa\", \"prompt_type\": \"direct\", \"temperature\": 0, \"n\": 2,"
        "   \"scoring\": \"squad\", \"exact_match\": null, \"f1\": null, \"contains\": null,"
        "   \"accuracy\": null, \"latency_ms\": null, \"tokens_per_s\": null,"
        "   \"error_pct\": 100},"
        "  {\"dataset\": \"mc\", \"prompt_type\": \"direct\", \"temperature\": 0, \"n\": 2,"
        "   \"scoring\": \"mc\", \"exact_match\": null, \"accuracy\": null,"
        "   \"error_pct\": 100}]}";
    struct run run;
    struct report r;
    (void)state;
    mkrun(&run, manifest);
    free(tu_write(run.dir, "results/scores.json", scores));
    load(&r, &run);
    assert_int_equal(r.n_grps, 2);
    assert_true(r.grps[0].em.na && r.grps[0].f1.na && r.grps[0].contains.na);
    assert_false(r.grps[0].acc.na); /* does not apply to QA */
    assert_true(r.grps[0].lat.na && r.grps[0].tps.na);
    assert_true(r.grps[1].acc.na);
    assert_false(r.grps[1].em.na);
    assert_false(r.h.have_main);
    assert_string_equal(r.status_word, "done, every request failed");
    assert_string_equal(r.status_class, "s-bad");
    {
        struct lleval_sb md = LLEVAL_SB_INIT, html = LLEVAL_SB_INIT;
        lleval_report_render_md(&md, &r);
        lleval_report_render_html(&html, &r);
        tu_assert_contains(md.buf, "status **done, every request failed**");
        tu_assert_contains(md.buf, "| n/a |");
        tu_assert_contains(html.buf, "<span class=\"badge s-bad\">done, every request failed");
        tu_assert_contains(html.buf, "<td class=\"n\">n/a</td>");
        assert_null(strstr(html.buf, "badge s-ok"));
        lleval_sb_release(&md);
        lleval_sb_release(&html);
    }
    lleval_report_facts_release(&r);
    rmrun(&run);

    mkrun(&run, "{\"run_id\": \"g\", \"status\": \"done\", \"requests\": {\"total\": 4,"
                " \"answered\": 4, \"errors\": 1}}");
    load(&r, &run);
    assert_string_equal(r.status_word, "done with errors");
    assert_string_equal(r.status_class, "s-warn");
    lleval_report_facts_release(&r);
    rmrun(&run);

    mkrun(&run, "{\"run_id\": \"h\", \"status\": \"done\", \"requests\": {\"total\": 4,"
                " \"answered\": 4, \"errors\": 0}}");
    load(&r, &run);
    assert_string_equal(r.status_word, "done");
    assert_string_equal(r.status_class, "s-ok");
    lleval_report_facts_release(&r);
    rmrun(&run);
}

static void test_finish_from_results(void **state)
{
    struct run run;
    struct report r;
    (void)state;
    mkrun(&run, "{\"run_id\": \"p\"}");
    free(tu_write(run.dir, "results/results_combined.jsonl",
                  "{\"custom_id\": \"qa:i1:direct:t0:s0\", \"lleval\": {\"finish_reason\": "
                  "\"stop\"}}\n"
                  "{\"custom_id\": \"qa:i2:direct:t0:s0\", \"response\": {\"body\": {\"choices\": "
                  "[{\"finish_reason\": \"length\"}]}}}\n"
                  "{\"custom_id\": \"qa:i3:direct:t0:s0\", \"error\": {\"code\": \"x\"}}\n"
                  "{\"custom_id\": \"qa:i4:cot:t0.7:s0\"}\n"
                  "not json at all\n"
                  "{\"custom_id\": \"no-colons\"}\n"));
    load(&r, &run);
    assert_int_equal(r.status, LLEVAL_RUN_UNKNOWN);
    assert_true(r.duration == -1);
    assert_string_equal(r.steps_done, "none");
    assert_null(r.base_url);
    assert_int_equal(r.n_trials, 0);
    assert_false(r.any_gpu);
    assert_null(r.finish_note);
    assert_int_equal(r.n_fc, 2);
    assert_int_equal(r.n_frows, 2);
    assert_string_equal(r.frows[0].prompt, "direct");
    assert_int_equal(r.frows[0].stop, 1);
    assert_int_equal(r.frows[0].length, 1);
    assert_int_equal(r.frows[0].error, 1);
    assert_int_equal(r.frows[0].other, 0);
    assert_string_equal(r.frows[1].temp, "0.7");
    assert_int_equal(r.frows[1].other, 1);
    lleval_report_facts_release(&r);
    rmrun(&run);
}

static void test_damaged_artifacts(void **state)
{
    struct run run;
    struct report r;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    mkrun(&run, "{\"run_id\": \"d\"}");
    free(tu_write(run.dir, "results/scores.json", "{\"groups\": ["));
    free(tu_write(run.dir, "config.resolved.yaml", "temps: [\n"));
    free(tu_write(run.dir, "results/predictions.csv", ""));
    load(&r, &run);
    assert_null(r.scores);
    tu_assert_contains(r.scores_note, "scores are missing: ");
    assert_false(r.have_cfg);
    tu_assert_contains(r.cfg_note, "config.resolved.yaml could not be read");
    assert_int_equal(r.n_trials, 0);
    assert_int_equal(r.total, 0);
    assert_non_null(r.samples_note);
    assert_int_equal(r.n_sg, 0);
    assert_false(r.h.have_main);
    lleval_report_facts_release(&r);
    /* and the renderers print the notes */
    assert_int_equal(lleval_report_render(run.dir, NULL, &html, &md, &err), 0);
    tu_assert_contains(html.buf, "config.resolved.yaml could not be read");
    tu_assert_contains(md.buf, "scores are missing");
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    rmrun(&run);
}

/* scores.json with a field of the wrong type: no scores, a note naming the
 * file and the field (from the scores reader), and the page still renders. */
static void test_damaged_scores_field(void **state)
{
    struct run run;
    struct report r;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    mkrun(&run, "{\"run_id\": \"d\"}");
    free(tu_write(run.dir, "results/scores.json",
                  "{\"groups\": [{\"dataset\": \"qa\", \"n\": \"ten\","
                  " \"exact_match\": {\"value\": 40}}], \"warnings\": [\"w1\"]}"));
    load(&r, &run);
    assert_null(r.scores);
    tu_assert_contains(r.scores_note, "scores are missing: ");
    tu_assert_path_contains(r.scores_note, "results/scores.json: 'groups[0].n' must be an integer");
    assert_int_equal(r.n_grps, 0);
    assert_int_equal(r.n_warnings, 0);
    assert_false(r.warnings_listed);
    assert_false(r.h.have_main);
    tu_assert_contains(r.finish_note, "no finish reasons yet"); /* counted from the results */
    lleval_report_facts_release(&r);
    assert_int_equal(lleval_report_render(run.dir, NULL, &html, &md, &err), 0);
    tu_assert_contains(html.buf, "&#39;groups[0].n&#39; must be an integer");
    tu_assert_contains(md.buf, "'groups\\[0\\]\\.n' must be an integer"); /* Markdown-escaped */
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    rmrun(&run);
}

static void test_not_a_run(void **state)
{
    struct run run;
    struct report r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    mkrun(&run, NULL);
    assert_int_equal(lleval_report_facts_load(&r, run.dir, NULL, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "no manifest.json in");
    lleval_report_facts_release(&r);
    free(tu_write(run.dir, "manifest.json", "[1, 2]"));
    err = (struct lleval_err)LLEVAL_ERR_INIT;
    assert_int_equal(lleval_report_facts_load(&r, run.dir, NULL, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "is not a JSON object");
    lleval_report_facts_release(&r);
    free(tu_write(run.dir, "manifest.json", "{\"run_id\": "));
    err = (struct lleval_err)LLEVAL_ERR_INIT;
    assert_int_not_equal(lleval_report_facts_load(&r, run.dir, NULL, &err), 0);
    assert_true(err.msg[0] != '\0');
    lleval_report_facts_release(&r);
    rmrun(&run);
}

static void test_opts(void **state)
{
    struct run run;
    struct report r;
    struct lleval_report_opts o;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    mkrun(&run, "{\"status\": \"failed\"}");
    assert_int_equal(lleval_report_facts_load(&r, run.dir, NULL, &err), 0);
    assert_int_equal(r.status, LLEVAL_RUN_FAILED); /* the manifest's */
    lleval_report_facts_release(&r);
    lleval_report_opts_init(&o);
    o.status = LLEVAL_RUN_DONE;
    o.generated_at = 12345;
    assert_int_equal(lleval_report_facts_load(&r, run.dir, &o, &err), 0);
    assert_int_equal(r.status, LLEVAL_RUN_DONE);
    assert_true(r.generated == 12345);
    /* no run_id in the manifest: the directory's name */
    assert_string_equal(r.run_id, lleval_path_basename(run.dir));
    lleval_report_facts_release(&r);
    rmrun(&run);
}

/* A damaged manifest (a field of the wrong type, an unknown status or step,
 * a newer format) is a clear error (exit 4) naming the file and the field, never a
 * crash nor a half-true report. */
static void test_damaged_manifest(void **state)
{
    static const struct {
        const char *manifest;
        const char *want; /* in the error */
    } cases[] = {
        {"{\"run_id\": \"d\", \"trials\": {\"not\": \"an array\"}}", "'trials' must be an array"},
        {"{\"requests\": 7}", "'requests' must be an object"},
        {"{\"requests\": {\"total\": \"40\"}}", "'requests.total' must be an integer"},
        {"{\"model_id\": 5}", "'model_id' must be a string"},
        {"{\"status\": \"\"}", "'status' must be queued, running"},
        {"{\"status\": \"finished\"}", "'status' must be queued, running"},
        {"{\"steps_done\": [\"prepare\", \"build\", 7]}", "'steps_done' must be the steps done"},
        {"{\"steps_done\": [\"build\"]}", "'steps_done' must be the steps done"},
        {"{\"created_at\": null}", "'created_at' must be a number"},
        {"{\"trials\": [7]}", "'trials[0]' must be an object"},
        {"{\"trials\": [{\"elapsed_s\": \"20\"}]}", "'trials[0].elapsed_s' must be a number"},
        {"{\"trials\": [{}, {\"telemetry\": \"ok\"}]}",
         "'trials[1].telemetry' must be an object or null"},
        {"{\"trials\": [{\"job_counts\": {\"done\": 1.5}}]}",
         "'trials[0].job_counts.done' must be an integer"},
        {"{\"format_version\": 2, \"run_id\": \"future\"}", "format_version 2 is newer"},
        {"{\"format_version\": \"1\"}", "'format_version' must be an integer"},
        {"{\"format_version\": 0}", "'format_version' must be 1 or more"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run run;
        struct report r;
        struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
        struct lleval_err err = LLEVAL_ERR_INIT;
        mkrun(&run, cases[i].manifest);
        free(tu_write(run.dir, "results/scores.json", scores_json));
        assert_int_equal(lleval_report_facts_load(&r, run.dir, NULL, &err), LLEVAL_EIO);
        tu_assert_contains(err.msg, "manifest.json");
        tu_assert_contains(err.msg, cases[i].want);
        lleval_report_facts_release(&r);
        /* the entry points say the same and render nothing */
        err = (struct lleval_err)LLEVAL_ERR_INIT;
        assert_int_equal(lleval_report_render(run.dir, NULL, &html, &md, &err), LLEVAL_EIO);
        tu_assert_contains(err.msg, cases[i].want);
        assert_int_equal(html.len, 0);
        assert_int_equal(md.len, 0);
        err = (struct lleval_err)LLEVAL_ERR_INIT;
        assert_int_equal(lleval_report_write(run.dir, &err), LLEVAL_EIO);
        tu_assert_contains(err.msg, cases[i].want);
        lleval_sb_release(&html);
        lleval_sb_release(&md);
        rmrun(&run);
    }
}

/* A damaged result line in the journal counts with what it still says: a
 * field of the wrong type reads as absent, a line without a usable custom_id
 * is skipped. */
static void test_damaged_result_lines(void **state)
{
    struct run run;
    struct report r;
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    mkrun(&run, "{\"run_id\": \"p\", \"steps_done\": [\"prepare\", \"build\", \"submit\"]}");
    free(tu_write(
        run.dir, "results/results_combined.jsonl",
        /* lleval's reason damaged: the engine's counts */
        "{\"custom_id\": \"qa:i1:direct:t0:s0\", \"lleval\": {\"finish_reason\": 5},"
        " \"response\": {\"body\": {\"choices\": [{\"finish_reason\": \"length\"}]}}}\n"
        /* lleval not an object, choices not an array, error present: "error" */
        "{\"custom_id\": \"qa:i2:direct:t0:s0\", \"lleval\": \"x\","
        " \"response\": {\"body\": {\"choices\": {\"0\": 1}}}, \"error\": \"boom\"}\n"
        /* an error of null is no failure; no reason at all: other */
        "{\"custom_id\": \"qa:i3:direct:t0:s0\", \"error\": null, \"response\": 7}\n"
        /* both reasons damaged, response.status_code a string: other */
        "{\"custom_id\": \"qa:i4:direct:t0:s0\", \"lleval\": {\"finish_reason\": [\"stop\"]},"
        " \"response\": {\"status_code\": \"200\", \"body\": {\"choices\": [{\"finish_reason\":"
        " null}]}}}\n"
        /* lleval's reason wins over the engine's */
        "{\"custom_id\": \"qa:i5:direct:t0:s0\", \"lleval\": {\"finish_reason\": \"stop\","
        " \"gen_tps\": \"fast\"}, \"response\": {\"body\": {\"choices\": [{\"finish_reason\":"
        " \"length\"}]}}}\n"
        /* skipped: custom_id of the wrong type, absent, not a custom_id, not an object,
         * cut short */
        "{\"custom_id\": 7, \"lleval\": {\"finish_reason\": \"stop\"}}\n"
        "{\"lleval\": {\"finish_reason\": \"stop\"}}\n"
        "{\"custom_id\": \"qa-i6\", \"lleval\": {\"finish_reason\": \"stop\"}}\n"
        "[\"qa:i7:direct:t0:s0\"]\n"
        "null\n"
        "{\"custom_id\": \"qa:i8:direct:t0:s0\", \"lleval\": {\"fini\n"));
    load(&r, &run);
    assert_null(r.scores);
    assert_null(r.finish_note);
    assert_int_equal(r.n_fc, 1);
    assert_int_equal(r.n_frows, 1);
    assert_string_equal(r.frows[0].dataset, "qa");
    assert_int_equal(r.frows[0].stop, 1);
    assert_int_equal(r.frows[0].length, 1);
    assert_int_equal(r.frows[0].error, 1);
    assert_int_equal(r.frows[0].other, 2);
    tu_assert_contains(r.scores_note, "steps done: prepare, build, submit");
    lleval_report_facts_release(&r);
    assert_int_equal(lleval_report_render(run.dir, NULL, &html, &md, &err), 0);
    tu_assert_contains(html.buf, "Counted from results/results_combined.jsonl");
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    rmrun(&run);
}

/* predictions.csv through the predictions reader, with the report's own words
 * for an empty file or a missing column, and damaged rows skipped. */
static void test_predictions_notes(void **state)
{
    static const char header[] = "custom_id,dataset,item_id,type,prompt_type,temperature,sample,"
                                 "status,finish_reason,prediction,error\n";
    struct run run;
    struct report r;
    struct lleval_sb csv = LLEVAL_SB_INIT;
    (void)state;
    mkrun(&run, "{\"run_id\": \"p\"}");
    free(tu_write(run.dir, "results/predictions.csv", ""));
    load(&r, &run);
    tu_assert_contains(r.samples_note, "no answers to show: '");
    tu_assert_contains(r.samples_note, "predictions.csv' is empty");
    lleval_report_facts_release(&r);
    /* no prediction column (item_id also gone: the first in the table's order is named) */
    free(tu_write(run.dir, "results/predictions.csv",
                  "custom_id,dataset,status,prompt_type,temperature,finish_reason,error\n"));
    load(&r, &run);
    tu_assert_contains(r.samples_note, "predictions.csv': column 'item_id' is missing");
    lleval_report_facts_release(&r);
    /* a malformed file keeps the reader's message */
    free(tu_write(run.dir, "results/predictions.csv", "\"custom_id,dataset\n"));
    load(&r, &run);
    tu_assert_contains(r.samples_note, "no answers to show: ");
    assert_int_equal(r.n_sg, 0);
    lleval_report_facts_release(&r);
    /* ragged and blank rows are skipped; the first rows of a group are sampled */
    lleval_sb_adds(&csv, header);
    lleval_sb_adds(&csv, "qa:i1:direct:t0:s0,qa,i1,closed_book,direct,0,0,ok,stop,Paris,\n");
    lleval_sb_adds(&csv, "qa:i2:direct:t0:s0,qa,i2,closed_book,direct,0,0,ok,stop\n");
    lleval_sb_adds(&csv, "\n");
    lleval_sb_adds(&csv, "qa:i3:direct:t0:s0,qa,i3,closed_book,direct,0,0,error,error,,boom\n");
    free(tu_write(run.dir, "results/predictions.csv", csv.buf));
    load(&r, &run);
    assert_false(r.gold);
    assert_int_equal(r.n_sg, 1);
    assert_int_equal(r.sg[0].n, 2);
    assert_int_equal(r.sg[0].rows, 2);
    assert_string_equal(r.sg[0].s[0].item_id, "i1");
    assert_true(r.sg[0].s[0].ok);
    assert_string_equal(r.sg[0].s[0].prediction, "Paris");
    assert_string_equal(r.sg[0].s[1].item_id, "i3");
    assert_false(r.sg[0].s[1].ok);
    assert_string_equal(r.sg[0].s[1].error, "boom");
    lleval_report_facts_release(&r);
    lleval_sb_release(&csv);
    rmrun(&run);
}

/* The page policy's SHA-256 (explorer_csp.c): the vectors of FIPS 180-4 and
 * one across several blocks. */
static void test_sha256(void **state)
{
    static const struct {
        const char *in;
        const char *hex;
    } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopq"
         "rlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        unsigned char d[32];
        char hex[65];
        lleval_report_sha256(cases[i].in, strlen(cases[i].in), d);
        for (size_t k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", d[k]);
        assert_string_equal(hex, cases[i].hex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_trials),   cmocka_unit_test(test_scores_and_headline),
        cmocka_unit_test(test_finish_from_results), cmocka_unit_test(test_damaged_artifacts),
        cmocka_unit_test(test_not_a_run),           cmocka_unit_test(test_opts),
        cmocka_unit_test(test_damaged_manifest),    cmocka_unit_test(test_damaged_result_lines),
        cmocka_unit_test(test_predictions_notes),   cmocka_unit_test(test_damaged_scores_field),
        cmocka_unit_test(test_all_failed_run),      cmocka_unit_test(test_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
