/*
 * Unit tests for scores.json (lib/score/scores.c): a scored predictions set
 * written and read back field by field (CSV and SQuAD-JSON modes), damaged
 * files (missing, truncated, not an object, a field of the wrong type) as
 * errors that name the file and the field, absent fields as defaults, odd
 * list entries skipped, and the headline metric chosen from the groups.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/score/score.h"
#include "lleval/score/scores.h"
#include "lleval/util/util.h"

#define HEADER                                                                                     \
    "custom_id,dataset,item_id,type,prompt_type,temperature,sample,status,finish_reason,"          \
    "prediction,latency_ms,prompt_tokens,completion_tokens,gen_tps,attempts,error\r\n"

static void put(const char *dir, const char *name, const char *content)
{
    free(tu_write(dir, name, content));
}

static void write_prepared(const char *dir)
{
    put(dir, "qa.jsonl",
        "{\"id\":\"q1\",\"dataset\":\"qa\",\"type\":\"open_book\",\"question\":\"Who?\","
        "\"context\":\"c\",\"answers\":[\"Denver Broncos\",\"Broncos\"],\"meta\":{}}\n"
        "{\"id\":\"q2\",\"dataset\":\"qa\",\"type\":\"open_book\",\"question\":\"Where?\","
        "\"context\":\"c\",\"answers\":[\"Paris\"],\"meta\":{}}\n"
        "{\"id\":\"q3\",\"dataset\":\"qa\",\"type\":\"open_book\",\"question\":\"When?\","
        "\"context\":\"c\",\"answers\":[\"in 1990\"],\"meta\":{}}\n");
    put(dir, "qa.info.json",
        "{\"dataset\":\"qa\",\"format\":\"squad\",\"source\":\"x\",\"type\":\"open_book\","
        "\"scoring\":\"squad\",\"items\":3,\"skipped\":{},\"prepared_at\":\"now\"}\n");
    put(dir, "mc.jsonl",
        "{\"id\":\"m1\",\"dataset\":\"mc\",\"type\":\"multiple_choice\",\"question\":\"?\","
        "\"choices\":[\"21\",\"27\",\"29\",\"33\"],\"answers\":[\"C\"],\"meta\":{}}\n"
        "{\"id\":\"m2\",\"dataset\":\"mc\",\"type\":\"multiple_choice\",\"question\":\"?\","
        "\"choices\":[\"Paris\",\"Rome\"],\"answers\":[\"A\"],\"meta\":{}}\n");
    put(dir, "mc.info.json",
        "{\"dataset\":\"mc\",\"format\":\"mmlu\",\"source\":\"x\",\"type\":\"multiple_choice\","
        "\"scoring\":\"mc\",\"items\":2,\"skipped\":{},\"prepared_at\":\"now\"}\n");
}

/* Two QA groups (one with an error, a truncation, a missing item), a
 * multiple-choice group with an unparseable answer, an unknown item and a
 * duplicate row: every field of the file gets a value. */
static const char predictions_csv[] = HEADER
    "qa:q1:direct:t0:s0,qa,q1,open_book,direct,0,0,ok,stop,The Denver Broncos!,100,5,3,20,1,\r\n"
    "qa:q2:direct:t0:s0,qa,q2,open_book,direct,0,0,ok,stop,\"paris, france\",200,5,3,30,1,\r\n"
    "qa:q3:direct:t0:s0,qa,q3,open_book,direct,0,0,ok,length,in 1990,300,5,3,40,1,\r\n"
    "qa:q1:cot:t0.7:s0,qa,q1,open_book,cot,0.7,0,ok,stop,Broncos,120,5,3,25,1,\r\n"
    "qa:q2:cot:t0.7:s0,qa,q2,open_book,cot,0.7,0,error,error,,,,,,3,HTTP 500\r\n"
    "qa:q9:cot:t0.7:s0,qa,q9,open_book,cot,0.7,0,ok,stop,ghost,100,5,3,20,1,\r\n"
    "qa:q1:cot:t0.7:s0,qa,q1,open_book,cot,0.7,0,ok,stop,Denver Broncos,100,5,3,20,1,\r\n"
    "mc:m1:direct:t0:s0,mc,m1,multiple_choice,direct,0,0,ok,stop,The answer is "
    "(C).,10,5,3,10,1,\r\n"
    "mc:m2:direct:t0:s0,mc,m2,multiple_choice,direct,0,0,ok,stop,I am not sure,10,5,3,10,1,\r\n";

/* Equal up to the 15 significant digits the file keeps. */
static void assert_close(double got, double want, const char *what)
{
    if (isnan(want) && isnan(got))
        return;
    if (!(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want))))
        fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

/* A metric read back against the scorer's interval (a fraction, scaled). */
static void check_metric(const struct lleval_scores_metric *m, const struct lleval_ci *ci,
                         bool applies, double scale, const char *what)
{
    bool data = applies && ci->n > 0 && isfinite(ci->mean);
    if (m->present != data || m->has != data)
        fail_msg("%s: present %d has %d, want %d", what, m->present, m->has, data);
    if (!data) {
        assert_true(isnan(m->lo) && isnan(m->hi));
        return;
    }
    assert_close(m->value, ci->mean * scale, what);
    assert_int_equal(m->n, ci->n);
    if (isfinite(ci->lo) && isfinite(ci->hi)) {
        assert_close(m->lo, ci->lo * scale, what);
        assert_close(m->hi, ci->hi * scale, what);
    } else {
        assert_true(isnan(m->lo) && isnan(m->hi));
    }
}

static void check_group(const struct lleval_scores_group *g, const struct lleval_score_group *w)
{
    bool mc = w->scoring == LLEVAL_SCORING_MC;
    double t;
    assert_string_equal(g->dataset, w->dataset);
    if (w->overall) {
        assert_true(g->overall);
        assert_null(g->prompt_type);
        assert_false(g->has_temperature);
    } else {
        assert_false(g->overall);
        assert_string_equal(g->prompt_type, w->prompt_type);
        assert_int_equal(lleval_parse_double(w->temperature, &t), 0);
        assert_true(g->has_temperature);
        assert_true(g->temperature == t);
    }
    assert_string_equal(g->type, w->type);
    assert_string_equal(g->scoring, lleval_scoring_name(w->scoring));
    assert_int_equal(g->n, w->n);
    assert_int_equal(g->missing, w->missing);
    assert_int_equal(g->unknown, w->unknown);
    assert_int_equal(g->duplicates, w->duplicates);
    assert_int_equal(g->unparseable, mc ? w->unparseable : -1);
    assert_int_equal(g->finish_stop, w->finish_stop);
    assert_int_equal(g->finish_length, w->finish_length);
    assert_int_equal(g->finish_error, w->finish_error);
    assert_int_equal(g->finish_other, w->finish_other);
    check_metric(&g->exact_match, &w->em, !mc, 100.0, "exact_match");
    check_metric(&g->f1, &w->f1, !mc, 100.0, "f1");
    check_metric(&g->contains, &w->contains, !mc, 100.0, "contains");
    check_metric(&g->accuracy, &w->accuracy, mc, 100.0, "accuracy");
    check_metric(&g->latency_ms, &w->latency_ms, true, 1.0, "latency_ms");
    check_metric(&g->tokens_per_s, &w->tokens_per_s, true, 1.0, "tokens_per_s");
    assert_close(g->truncation_pct, 100.0 * (double)w->finish_length / (double)w->n, "trunc");
    assert_close(g->error_pct, 100.0 * (double)w->errors / (double)w->n, "error_pct");
    assert_close(g->empty_pct, 100.0 * (double)w->empty / (double)w->n, "empty_pct");
}

static void test_round_trip_csv(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *csv = tu_write(dir, "predictions.csv", predictions_csv);
    char *out = lleval_path_join(dir, "results");
    char *path = lleval_path_join(out, LLEVAL_SCORES_FILE);
    struct lleval_score_opts o;
    struct lleval_score_result res;
    struct lleval_scores s;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_headline h;
    double em_sum = 0, em_n = 0, acc_sum = 0, acc_n = 0;
    bool seen_mc = false, seen_unparseable = false, seen_interval = false;
    (void)state;

    write_prepared(prep);
    lleval_score_opts_init(&o);
    o.bootstrap = 200;
    o.seed = 0xfedcba9876543210ULL; /* above INT64_MAX: written as a negative integer */
    o.extraction = LLEVAL_EXTRACT_FIRST_LINE;
    assert_int_equal(lleval_score_run(csv, prep, out, &o, &res, &err), 0);
    assert_true(res.n_groups >= 4);
    assert_true(res.n_warnings > 0);

    if (lleval_scores_load(path, &s, &err))
        fail_msg("load: %s", err.msg);
    assert_false(s.squad_json);
    assert_string_equal(s.predictions, csv);
    assert_string_equal(s.prepared_dir, prep);
    assert_non_null(s.scored_at);
    assert_int_equal(strlen(s.scored_at), strlen("2024-09-09T12:34:56Z"));
    assert_string_equal(s.answer_extraction, "first_line");
    assert_true(s.strip_think);
    assert_int_equal(s.bootstrap_resamples, 200);
    assert_true(s.bootstrap_seed == 0xfedcba9876543210ULL);
    assert_true(s.ci_level == 0.95);
    assert_string_equal(s.ci_method, "percentile bootstrap");
    assert_true(isnan(s.exact_match) && isnan(s.f1)); /* squad_json mode only */
    assert_int_equal(s.total, 0);
    assert_int_equal(s.rows, res.rows);
    assert_int_equal(s.scored, res.scored);
    assert_int_equal(s.unknown, 1);
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(s.missing, res.missing);
    assert_true(s.missing > 0);
    assert_int_equal(s.n_groups, res.n_groups);
    for (size_t i = 0; i < res.n_groups; i++) {
        const struct lleval_score_group *w = &res.groups[i];
        check_group(&s.groups[i], w);
        seen_mc |= w->scoring == LLEVAL_SCORING_MC;
        seen_unparseable |= w->unparseable > 0;
        seen_interval |= isfinite(s.groups[i].exact_match.lo);
        if (!w->overall && w->n > 0) {
            const struct lleval_scores_metric *m =
                w->scoring == LLEVAL_SCORING_MC ? &s.groups[i].accuracy : &s.groups[i].exact_match;
            bool mc = w->scoring == LLEVAL_SCORING_MC;
            *(mc ? &acc_sum : &em_sum) += m->value * (double)w->n;
            *(mc ? &acc_n : &em_n) += (double)w->n;
        }
    }
    assert_true(seen_mc && seen_unparseable && seen_interval);
    assert_int_equal(s.skipped_groups, 0);
    assert_int_equal(s.n_warnings, res.n_warnings);
    assert_int_equal(s.skipped_warnings, 0);
    for (size_t i = 0; i < res.n_warnings; i++)
        assert_string_equal(s.warnings[i], res.warnings[i]);
    /* the headline of the file: QA and MC groups weighted by their items */
    h = lleval_scores_headline(&s);
    assert_true(h.have);
    assert_string_equal(h.label, "EM");
    assert_true(h.have_em && h.have_acc);
    assert_close(h.em, em_sum / em_n, "headline EM");
    assert_close(h.acc, acc_sum / acc_n, "headline accuracy");
    assert_close(h.pct, h.em, "headline");

    lleval_scores_release(&s);
    assert_int_equal(s.n_groups, 0);
    assert_null(s.groups);
    lleval_score_result_release(&res);
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(csv);
    free(out);
    free(path);
}

static void test_round_trip_squad_json(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *pj = tu_write(dir, "preds.json", "{\"q1\": \"the Broncos\", \"q2\": \"Paris, France\"}");
    char *path = lleval_path_join(dir, LLEVAL_SCORES_FILE);
    struct lleval_score_opts o;
    struct lleval_score_result res;
    struct lleval_scores s;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    write_prepared(prep);
    lleval_score_opts_init(&o);
    o.bootstrap = 0;
    assert_int_equal(lleval_score_squad_json(pj, prep, "qa", &o, &res, &err), 0);
    assert_int_equal(lleval_score_write(&res, dir, &err), 0);
    if (lleval_scores_load(path, &s, &err))
        fail_msg("load: %s", err.msg);
    assert_true(s.squad_json);
    /* the official numbers with three decimals: EM 1 of 3, F1 (1 + 2/3) / 3 */
    assert_true(s.exact_match == 33.333);
    assert_true(s.f1 == 55.556);
    assert_int_equal(s.total, 3);
    assert_int_equal(s.bootstrap_resamples, 0);
    assert_true(s.bootstrap_seed == LLEVAL_SCORES_SEED_DEFAULT);
    assert_int_equal(s.n_groups, res.n_groups);
    for (size_t i = 0; i < res.n_groups; i++) {
        check_group(&s.groups[i], &res.groups[i]);
        /* --bootstrap 0: no intervals */
        assert_true(isnan(s.groups[i].exact_match.lo));
    }
    lleval_scores_release(&s);
    lleval_score_result_release(&res);
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(pj);
    free(path);
}

/* A file with only some fields: the others keep their defaults; entries of
 * the lists that are not objects or strings are skipped and counted. */
static void test_defaults_and_skipped_entries(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "scores.json",
                          "{\"groups\": [7, {}, \"x\", {\"dataset\": \"qa\", \"prompt_type\": null,"
                          " \"temperature\": null, \"unparseable\": null,"
                          " \"exact_match\": {\"value\": null}, \"accuracy\": null,"
                          " \"error_pct\": null, \"f1\": {\"value\": 5, \"ci95\": null}}],"
                          " \"warnings\": [\"w1\", null, {\"w\": 2}, \"w2\"]}");
    struct lleval_scores s;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct lleval_scores_group *g;
    (void)state;

    if (lleval_scores_load(path, &s, &err))
        fail_msg("load: %s", err.msg);
    assert_false(s.squad_json);
    assert_null(s.predictions);
    assert_null(s.prepared_dir);
    assert_int_equal(s.bootstrap_resamples, LLEVAL_BOOTSTRAP_DEFAULT);
    assert_true(s.bootstrap_seed == LLEVAL_SCORES_SEED_DEFAULT);
    assert_false(s.strip_think);
    assert_true(isnan(s.ci_level));
    assert_int_equal(s.rows, 0);
    assert_int_equal(s.n_groups, 2);
    assert_int_equal(s.skipped_groups, 2);
    g = &s.groups[0]; /* {} */
    assert_null(g->dataset);
    assert_null(g->prompt_type);
    assert_null(g->type);
    assert_null(g->scoring);
    assert_false(g->has_temperature);
    assert_false(g->overall);
    assert_int_equal(g->n, 0);
    assert_int_equal(g->unparseable, -1);
    assert_false(g->exact_match.present);
    assert_true(isnan(g->exact_match.lo));
    assert_true(isnan(g->truncation_pct) && isnan(g->error_pct) && isnan(g->empty_pct));
    g = &s.groups[1];
    assert_string_equal(g->dataset, "qa");
    assert_null(g->prompt_type);
    assert_false(g->has_temperature);
    assert_int_equal(g->unparseable, -1);
    assert_true(g->exact_match.present); /* an object without a value */
    assert_false(g->exact_match.has);
    assert_false(g->accuracy.present);
    assert_true(g->f1.has && g->f1.value == 5);
    assert_true(isnan(g->f1.lo) && isnan(g->f1.hi));
    assert_true(isnan(g->error_pct));
    assert_int_equal(s.n_warnings, 2);
    assert_int_equal(s.skipped_warnings, 2);
    assert_string_equal(s.warnings[0], "w1");
    assert_string_equal(s.warnings[1], "w2");
    lleval_scores_release(&s);

    free(path);
    path = tu_write(dir, "scores.json", "{}");
    assert_int_equal(lleval_scores_load(path, &s, &err), 0);
    assert_int_equal(s.n_groups, 0);
    assert_int_equal(s.n_warnings, 0);
    assert_false(lleval_scores_headline(&s).have);
    lleval_scores_release(&s);
    tu_rmtree(dir);
    free(dir);
    free(path);
}

/* A damaged file is an error naming the file and the field, never a crash. */
static void test_damaged(void **state)
{
    static const struct {
        const char *text; /* NULL: no file at all */
        int code;
        const char *want; /* in the error */
    } cases[] = {
        {NULL, LLEVAL_EIO, "cannot read"},
        {"", LLEVAL_EINVAL, "invalid JSON"},
        {"{\"groups\": [", LLEVAL_EINVAL, "invalid JSON"},
        {"{\"groups\": [{\"dataset\": \"qa\", \"n\": 1", LLEVAL_EINVAL, "invalid JSON"},
        {"[1, 2]", LLEVAL_EINVAL, "is not a JSON object"},
        {"{\"mode\": 5}", LLEVAL_EINVAL, "'mode' must be a string"},
        {"{\"mode\": \"xml\"}", LLEVAL_EINVAL, "'mode' must be \"csv\" or \"squad_json\""},
        {"{\"predictions\": [\"p\"]}", LLEVAL_EINVAL, "'predictions' must be a string"},
        {"{\"prepared_dir\": null}", LLEVAL_EINVAL, "'prepared_dir' must be a string"},
        {"{\"scored_at\": 1}", LLEVAL_EINVAL, "'scored_at' must be a string"},
        {"{\"options\": []}", LLEVAL_EINVAL, "'options' must be an object"},
        {"{\"options\": {\"answer_extraction\": 1}}", LLEVAL_EINVAL,
         "'options.answer_extraction' must be a string"},
        {"{\"options\": {\"strip_think\": \"yes\"}}", LLEVAL_EINVAL,
         "'options.strip_think' must be true or false"},
        {"{\"options\": {\"bootstrap_resamples\": \"1000\"}}", LLEVAL_EINVAL,
         "'options.bootstrap_resamples' must be an integer"},
        {"{\"options\": {\"bootstrap_seed\": 1.5}}", LLEVAL_EINVAL,
         "'options.bootstrap_seed' must be an integer"},
        {"{\"options\": {\"ci_level\": null}}", LLEVAL_EINVAL,
         "'options.ci_level' must be a number"},
        {"{\"exact_match\": \"25\"}", LLEVAL_EINVAL, "'exact_match' must be a number"},
        {"{\"f1\": {}}", LLEVAL_EINVAL, "'f1' must be a number"},
        {"{\"total\": 4.5}", LLEVAL_EINVAL, "'total' must be an integer"},
        {"{\"totals\": 7}", LLEVAL_EINVAL, "'totals' must be an object"},
        {"{\"totals\": {\"rows\": \"3\"}}", LLEVAL_EINVAL, "'totals.rows' must be an integer"},
        {"{\"totals\": {\"missing\": null}}", LLEVAL_EINVAL, "'totals.missing' must be an integer"},
        {"{\"groups\": {}}", LLEVAL_EINVAL, "'groups' must be an array"},
        {"{\"warnings\": \"w\"}", LLEVAL_EINVAL, "'warnings' must be an array"},
        {"{\"groups\": [{\"dataset\": 5}]}", LLEVAL_EINVAL, "'groups[0].dataset' must be a string"},
        {"{\"groups\": [{\"dataset\": null}]}", LLEVAL_EINVAL,
         "'groups[0].dataset' must be a string"},
        {"{\"groups\": [{\"prompt_type\": 5}]}", LLEVAL_EINVAL,
         "'groups[0].prompt_type' must be a string or null"},
        {"{\"groups\": [{\"temperature\": \"0.7\"}]}", LLEVAL_EINVAL,
         "'groups[0].temperature' must be a number or null"},
        {"{\"groups\": [{\"overall\": 1}]}", LLEVAL_EINVAL,
         "'groups[0].overall' must be true or false"},
        {"{\"groups\": [{\"type\": false}]}", LLEVAL_EINVAL, "'groups[0].type' must be a string"},
        {"{\"groups\": [{\"scoring\": null}]}", LLEVAL_EINVAL,
         "'groups[0].scoring' must be a string"},
        {"{\"groups\": [{\"n\": 2.5}]}", LLEVAL_EINVAL, "'groups[0].n' must be an integer"},
        {"{\"groups\": [{\"n\": \"2\"}]}", LLEVAL_EINVAL, "'groups[0].n' must be an integer"},
        {"{\"groups\": [{\"missing\": true}]}", LLEVAL_EINVAL,
         "'groups[0].missing' must be an integer"},
        {"{\"groups\": [{\"unknown\": []}]}", LLEVAL_EINVAL,
         "'groups[0].unknown' must be an integer"},
        {"{\"groups\": [{\"duplicates\": -0.5}]}", LLEVAL_EINVAL,
         "'groups[0].duplicates' must be an integer"},
        {"{\"groups\": [{\"exact_match\": 40}]}", LLEVAL_EINVAL,
         "'groups[0].exact_match' must be an object or null"},
        {"{\"groups\": [{\"f1\": {\"value\": \"40\"}}]}", LLEVAL_EINVAL,
         "'groups[0].f1.value' must be a number or null"},
        {"{\"groups\": [{\"contains\": {\"value\": 1, \"ci95\": [1]}}]}", LLEVAL_EINVAL,
         "'groups[0].contains.ci95' must be an array of two numbers or null"},
        {"{\"groups\": [{\"accuracy\": {\"value\": 1, \"ci95\": [1, \"2\"]}}]}", LLEVAL_EINVAL,
         "'groups[0].accuracy.ci95' must be an array of two numbers or null"},
        {"{\"groups\": [{\"accuracy\": {\"value\": 1, \"ci95\": {\"lo\": 1}}}]}", LLEVAL_EINVAL,
         "'groups[0].accuracy.ci95' must be an array of two numbers or null"},
        {"{\"groups\": [{\"exact_match\": {\"value\": 1, \"n\": \"3\"}}]}", LLEVAL_EINVAL,
         "'groups[0].exact_match.n' must be an integer"},
        {"{\"groups\": [{\"unparseable\": \"x\"}]}", LLEVAL_EINVAL,
         "'groups[0].unparseable' must be an integer"},
        {"{\"groups\": [{\"finish_reason\": []}]}", LLEVAL_EINVAL,
         "'groups[0].finish_reason' must be an object"},
        {"{\"groups\": [{\"finish_reason\": {\"length\": 1.5}}]}", LLEVAL_EINVAL,
         "'groups[0].finish_reason.length' must be an integer"},
        {"{\"groups\": [{\"truncation_pct\": \"1\"}]}", LLEVAL_EINVAL,
         "'groups[0].truncation_pct' must be a number or null"},
        {"{\"groups\": [{\"error_pct\": [1]}]}", LLEVAL_EINVAL,
         "'groups[0].error_pct' must be a number or null"},
        {"{\"groups\": [{\"empty_pct\": true}]}", LLEVAL_EINVAL,
         "'groups[0].empty_pct' must be a number or null"},
        /* the index is the file's, skipped entries counted */
        {"{\"groups\": [\"x\", {\"dataset\": \"qa\"}, {\"latency_ms\": \"fast\"}]}", LLEVAL_EINVAL,
         "'groups[2].latency_ms' must be an object or null"},
        {"{\"groups\": [{}, {\"tokens_per_s\": {\"value\": 1, \"ci95\": [1, 2, 3]}}]}",
         LLEVAL_EINVAL, "'groups[1].tokens_per_s.ci95' must be an array of two numbers or null"},
    };
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = cases[i].text ? tu_write(dir, "scores.json", cases[i].text)
                                   : lleval_path_join(dir, "absent.json");
        struct lleval_scores s;
        struct lleval_err err = LLEVAL_ERR_INIT;
        int rc = lleval_scores_load(path, &s, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].want) || !strstr(err.msg, path))
            fail_msg("case %zu: rc %d, error '%s'; want %d with '%s' and the path", i, rc, err.msg,
                     cases[i].code, cases[i].want);
        /* nothing usable is left behind, and releasing is safe */
        assert_false(lleval_scores_headline(rc ? NULL : &s).have);
        lleval_scores_release(&s);
        free(path);
    }
    tu_rmtree(dir);
    free(dir);
}

/* The headline: which groups count and under which label (moved here from
 * test_runs.c with the function; read through lleval_scores_read). */
static void test_headline(void **state)
{
    static const struct {
        const char *scores;
        bool have;
        const char *label;
        double pct;
    } cases[] = {
        {"{\"groups\": [{\"n\": 2, \"exact_match\": {\"value\": 40.0}}]}", true, "EM", 40.0},
        {"{\"groups\": [{\"n\": 1, \"accuracy\": {\"value\": 10.0}},"
         " {\"n\": 3, \"accuracy\": {\"value\": 50.0}}]}",
         true, "acc", 40.0},
        {"{\"groups\": [{\"n\": 1, \"exact_match\": {\"value\": 0.0}},"
         " {\"n\": 1, \"accuracy\": {\"value\": 100.0}}]}",
         true, "EM", 0.0}, /* EM first; accuracy apart, never averaged with it */
        /* no usable group: n 0, a value that is not a number, only overall rows */
        {"{\"groups\": [{\"n\": 0, \"exact_match\": {\"value\": 40.0}},"
         " {\"n\": 2, \"exact_match\": {\"value\": null}},"
         " {\"n\": 2, \"overall\": true, \"accuracy\": {\"value\": 1.0}}]}",
         false, "-", 0},
        {"{}", false, "-", 0},
        /* an exact match without a value hides the accuracy beside it; a null
         * exact match does not */
        {"{\"groups\": [{\"n\": 2, \"exact_match\": {\"value\": null},"
         " \"accuracy\": {\"value\": 90.0}},"
         " {\"n\": 2, \"exact_match\": null, \"accuracy\": {\"value\": 30.0}}]}",
         true, "acc", 30.0},
        /* the overall row of the file's own shape is left out, EM weighted by n */
        {"{\"groups\": [{\"dataset\": \"a\", \"n\": 3, \"exact_match\": {\"value\": 50.0}},"
         " {\"dataset\": \"a\", \"n\": 1, \"exact_match\": {\"value\": 10.0}},"
         " {\"dataset\": \"a\", \"n\": 4, \"overall\": true, \"exact_match\": {\"value\": 0.0}},"
         " {\"dataset\": \"m\", \"n\": 0, \"accuracy\": {\"value\": 99.0}}]}",
         true, "EM", 40.0},
        /* entries that are not groups are skipped */
        {"{\"groups\": [\"x\", 3, {\"n\": 5, \"accuracy\": {\"value\": 20.0}}]}", true, "acc",
         20.0},
    };
    struct lleval_headline h;
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = json_loads(cases[i].scores, 0, NULL);
        struct lleval_scores s;
        struct lleval_err err = LLEVAL_ERR_INIT;
        assert_non_null(j);
        if (lleval_scores_read(j, "case.json", &s, &err))
            fail_msg("case %zu: %s", i, err.msg);
        h = lleval_scores_headline(&s);
        if (h.have != cases[i].have || strcmp(h.label, cases[i].label) || h.pct != cases[i].pct)
            fail_msg("case %zu: have %d label %s pct %g, want %d %s %g", i, h.have, h.label, h.pct,
                     cases[i].have, cases[i].label, cases[i].pct);
        lleval_scores_release(&s);
        json_decref(j);
    }
    h = lleval_scores_headline(NULL);
    assert_false(h.have);
    assert_string_equal(h.label, "-");
    {
        /* both kinds: each apart, as text too */
        json_t *j = json_loads("{\"groups\": [{\"n\": 3, \"exact_match\": {\"value\": 20.0}},"
                               " {\"n\": 1, \"accuracy\": {\"value\": 100.0}}]}",
                               0, NULL);
        struct lleval_scores s;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char buf[64];
        assert_int_equal(lleval_scores_read(j, "mixed.json", &s, &err), 0);
        h = lleval_scores_headline(&s);
        assert_true(h.have_em && h.have_acc);
        assert_true(h.em == 20.0 && h.acc == 100.0);
        assert_string_equal(lleval_headline_text(&h, buf, sizeof(buf)), "EM 20.0, acc 100.0");
        lleval_scores_release(&s);
        json_decref(j);
        h = lleval_scores_headline(NULL);
        assert_string_equal(lleval_headline_text(&h, buf, sizeof(buf)), "-");
    }
}

/* A document that is not an object, through the parsed-document entry. */
static void test_read_not_object(void **state)
{
    struct lleval_scores s;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j = json_array();
    (void)state;
    assert_int_equal(lleval_scores_read(j, "x/scores.json", &s, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "'x/scores.json' is not a JSON object");
    lleval_scores_release(&s);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_csv),
        cmocka_unit_test(test_round_trip_squad_json),
        cmocka_unit_test(test_defaults_and_skipped_entries),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_headline),
        cmocka_unit_test(test_read_not_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
