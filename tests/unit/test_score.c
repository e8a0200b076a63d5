/*
 * Unit tests for the scorer: predictions.csv against small prepared datasets
 * written here (QA, NQ with NFD, multiple choice), the breakdown and its
 * counts, warnings, errors that name file:line, the SQuAD-JSON mode, scores.json,
 * and the per-item API.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/score/score.h"
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
        "\"context\":\"c\",\"answers\":[\"in 1990\"],\"meta\":{}}\n"
        "{\"id\":\"q4\",\"dataset\":\"qa\",\"type\":\"open_book\",\"question\":\"What?\","
        "\"context\":\"c\",\"answers\":[\"a red apple\"],\"meta\":{}}\n");
    put(dir, "qa.info.json",
        "{\"dataset\":\"qa\",\"format\":\"squad\",\"source\":\"x\",\"type\":\"open_book\","
        "\"scoring\":\"squad\",\"items\":4,\"skipped\":{},\"prepared_at\":\"now\"}\n");
    put(dir, "nq.jsonl",
        "{\"id\":\"nq-00001\",\"dataset\":\"nq\",\"type\":\"closed_book\",\"question\":\"?\","
        "\"answers\":[\"Cafe\\u0301 Society\"],\"meta\":{}}\n");
    put(dir, "nq.info.json",
        "{\"dataset\":\"nq\",\"format\":\"nq_open\",\"source\":\"x\",\"type\":\"closed_book\","
        "\"scoring\":\"nq\",\"items\":1,\"skipped\":{},\"prepared_at\":\"now\"}\n");
    put(dir, "mc.jsonl",
        "{\"id\":\"m1\",\"dataset\":\"mc\",\"type\":\"multiple_choice\",\"question\":\"?\","
        "\"choices\":[\"21\",\"27\",\"29\",\"33\"],\"answers\":[\"C\"],\"meta\":{}}\n"
        "{\"id\":\"m2\",\"dataset\":\"mc\",\"type\":\"multiple_choice\",\"question\":\"?\","
        "\"choices\":[\"Paris\",\"Rome\"],\"answers\":[\"A\"],\"meta\":{}}\n");
    put(dir, "mc.info.json",
        "{\"dataset\":\"mc\",\"format\":\"mmlu\",\"source\":\"x\",\"type\":\"multiple_choice\","
        "\"scoring\":\"mc\",\"items\":2,\"skipped\":{},\"prepared_at\":\"now\"}\n");
}

/* A predictions.csv with two prompt types, two temperatures, a think block, an
 * error, a truncation, an unknown item, a duplicate and a missing item. */
static const char predictions_csv[] = HEADER
    "qa:q1:direct:t0:s0,qa,q1,open_book,direct,0,0,ok,stop,The Denver Broncos!,100,5,3,20,1,\r\n"
    "qa:q2:direct:t0:s0,qa,q2,open_book,direct,0,0,ok,stop,\"paris, france\",200,5,3,30,1,\r\n"
    "qa:q3:direct:t0:s0,qa,q3,open_book,direct,0,0,ok,length,\"It was in 1990, I think\",300,5,"
    "3,40,1,\r\n"
    "qa:q4:direct:t0:s0,qa,q4,open_book,direct,0,0,error,error,,,,,,3,HTTP 500\r\n"
    "qa:q1:cot:t0.7:s0,qa,q1,open_book,cot,0.70,0,ok,stop,\"<think>Broncos? Panthers?</think>"
    "\nPanthers\",100,5,3,20,1,\r\n"
    "qa:q2:cot:t0.7:s0,qa,q2,open_book,cot,0.7,0,ok,stop,<think>never ends,100,5,3,20,1,\r\n"
    "qa:q9:cot:t0.7:s0,qa,q9,open_book,cot,0.7,0,ok,stop,ghost,100,5,3,20,1,\r\n"
    "qa:q1:cot:t0.7:s0,qa,q1,open_book,cot,0.7,0,ok,stop,Denver Broncos,100,5,3,20,1,\r\n"
    "nq:nq-00001:direct:t0:s0,nq,nq-00001,closed_book,direct,0,0,ok,stop,café society,50,5,3,"
    "10,1,\r\n"
    "mc:m1:direct:t0:s0,mc,m1,multiple_choice,direct,0,0,ok,stop,The answer is "
    "(C).,10,5,3,10,1,\r\n"
    "mc:m2:direct:t0:s0,mc,m2,multiple_choice,direct,0,0,ok,stop,I am not sure,10,5,3,10,1,\r\n";

static const struct lleval_score_group *find_group(const struct lleval_score_result *r,
                                                   const char *ds, const char *prompt,
                                                   const char *temp)
{
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct lleval_score_group *g = &r->groups[i];
        if (strcmp(g->dataset, ds))
            continue;
        if (!prompt && g->overall)
            return g;
        if (prompt && !g->overall && !strcmp(g->prompt_type, prompt) &&
            !strcmp(g->temperature, temp))
            return g;
    }
    print_error("no group %s/%s/%s\n", ds, prompt ? prompt : "*", temp ? temp : "*");
    fail();
    return NULL;
}

static bool has_warning(const struct lleval_score_result *r, const char *needle)
{
    for (size_t i = 0; i < r->n_warnings; i++)
        if (strstr(r->warnings[i], needle))
            return true;
    return false;
}

static void test_csv_breakdown(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *csv = tu_write(dir, "predictions.csv", predictions_csv);
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct lleval_score_group *g;
    (void)state;
    write_prepared(prep);
    lleval_score_opts_init(&o);
    o.bootstrap = 200;
    assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), 0);
    assert_int_equal(r.rows, 11);
    assert_int_equal(r.scored, 9);
    assert_int_equal(r.unknown, 1);
    assert_int_equal(r.duplicates, 1);

    /* qa/direct/t0: EM 1, 0, 0, 0(error); F1 1, 2/3, 2/3... */
    g = find_group(&r, "qa", "direct", "0");
    assert_int_equal(g->n, 4);
    assert_int_equal(g->errors, 1);
    assert_int_equal(g->finish_length, 1);
    assert_int_equal(g->finish_stop, 2);
    assert_int_equal(g->finish_error, 1);
    assert_int_equal(g->missing, 0);
    assert_true(fabs(g->em.mean - 0.25) < 1e-12);
    /* f1: q1 1; q2 "paris france" vs "paris" 2/3; q3 "it was in 1990 i think" vs "in 1990":
     * p 2/6 r 1 -> 0.5; q4 0 */
    assert_true(fabs(g->f1.mean - (1.0 + 2.0 / 3.0 + 0.5) / 4.0) < 1e-12);
    assert_true(fabs(g->contains.mean - 0.75) < 1e-12);
    assert_true(g->em.lo <= g->em.mean && g->em.mean <= g->em.hi);
    assert_int_equal(g->latency_ms.n, 3);
    assert_true(fabs(g->latency_ms.mean - 200.0) < 1e-9);
    assert_true(fabs(g->tokens_per_s.mean - 30.0) < 1e-9);
    assert_string_equal(g->type, "open_book");

    /* qa/cot/t0.7 ("0.70" and "0.7" are one temperature): the think block is
     * stripped; an unterminated one leaves an empty answer; one unknown, one
     * duplicate, two items missing */
    g = find_group(&r, "qa", "cot", "0.7");
    assert_int_equal(g->n, 2);
    assert_int_equal(g->unknown, 1);
    assert_int_equal(g->duplicates, 1);
    assert_int_equal(g->missing, 2);
    assert_int_equal(g->empty, 1);
    assert_true(g->em.mean == 0.0);
    assert_true(g->em.lo == 0.0 && g->em.hi == 0.0);

    /* overall row of qa */
    g = find_group(&r, "qa", NULL, NULL);
    assert_int_equal(g->n, 6);
    assert_int_equal(g->missing, 2);
    assert_true(fabs(g->em.mean - 1.0 / 6.0) < 1e-12);
    assert_null(g->prompt_type);

    /* NQ scoring: NFD first, so composed and decomposed letters match */
    g = find_group(&r, "nq", "direct", "0");
    assert_int_equal(g->scoring, LLEVAL_SCORING_NQ);
    assert_true(g->em.mean == 1.0);

    /* multiple choice */
    g = find_group(&r, "mc", "direct", "0");
    assert_int_equal(g->n, 2);
    assert_int_equal(g->unparseable, 1);
    assert_true(fabs(g->accuracy.mean - 0.5) < 1e-12);
    assert_true(isnan(g->em.mean));

    /* warnings: truncation 25% > 10%, an error, unparseable MC, unknown, duplicate */
    assert_true(has_warning(&r, "qa/direct/t0: 25.0% of the answers stopped at max_new_tokens"));
    assert_true(has_warning(&r, "1 of 4 requests failed"));
    assert_true(has_warning(&r, "no answer letter could be read from 1 of 2"));
    assert_true(has_warning(&r, "qa:q9:cot:t0.7:s0"));
    assert_true(has_warning(&r, "repeated prediction rows"));
    assert_false(has_warning(&r, "qa/cot/t0.7: 0.0%"));

    /* the text table */
    {
        char *text = lleval_score_format_table(&r);
        tu_assert_contains(text, "dataset");
        tu_assert_contains(text, "EM");
        tu_assert_contains(text, "25.0 [");
        tu_assert_contains(text, "missing: 2 gold items have no prediction: qa/cot/t0.7 2");
        tu_assert_contains(text, "unknown: 1");
        free(text);
    }
    {
        size_t n = 0;
        char **w = lleval_score_warnings(&r, &n);
        assert_int_equal(n, r.n_warnings);
        for (size_t i = 0; i < n; i++)
            free(w[i]);
        free(w);
    }
    lleval_score_result_release(&r);
    lleval_score_result_release(&r); /* harmless */
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(csv);
}

static void test_extraction_options(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *csv =
        tu_write(dir, "p.csv",
                 HEADER "qa:q2:d:t0:s0,qa,q2,open_book,d,0,0,ok,stop,\"Let me see.\nAnswer: "
                        "Paris\",1,1,1,1,1,\r\n");
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    write_prepared(prep);
    lleval_score_opts_init(&o);
    assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), 0);
    assert_true(r.groups[0].em.mean == 0.0);
    lleval_score_result_release(&r);
    o.extraction = LLEVAL_EXTRACT_AFTER_ANSWER;
    assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), 0);
    assert_true(r.groups[0].em.mean == 1.0);
    lleval_score_result_release(&r);
    o.extraction = LLEVAL_EXTRACT_FIRST_LINE;
    assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), 0);
    assert_true(r.groups[0].em.mean == 0.0);
    lleval_score_result_release(&r);
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(csv);
}

static void expect_error(const char *dir, const char *prep, const char *content, int code,
                         const char *needle)
{
    char *csv = tu_write(dir, "bad.csv", content);
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    lleval_score_opts_init(&o);
    assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), code);
    tu_assert_contains(err.msg, needle);
    assert_int_equal(r.n_groups, 0);
    lleval_score_result_release(&r);
    free(csv);
}

static void test_csv_errors(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    write_prepared(prep);
    expect_error(dir, prep, HEADER "a,qa,q1,open_book,d,0,0,ok,stop,\"unterminated\r\n",
                 LLEVAL_EINVAL, "bad.csv:2");
    expect_error(dir, prep, HEADER "a,qa,q1,open_book,d,0,0,ok,stop,x,1,1,1,1,1\r\n", LLEVAL_EINVAL,
                 "bad.csv:2: the row has 15 fields but the header has 16");
    expect_error(dir, prep, "custom_id,dataset,item_id\r\na,qa,q1\r\n", LLEVAL_EINVAL,
                 "bad.csv:1: not a predictions.csv header: no column 'prediction'");
    expect_error(dir, prep, "", LLEVAL_EINVAL, "empty file");
    expect_error(dir, prep,
                 HEADER "a,qa,q1,open_book,d,warm,0,ok,stop,x,1,1,1,1,1,\r\n"
                        "b,qa,q1,open_book,d,0,0,ok,stop,x,1,1,1,1,1,\r\n",
                 LLEVAL_EINVAL, "bad.csv:2: column 'temperature': 'warm' is not a finite number");
    /* every numeric cell is a finite number or empty (unknown), every cell UTF-8 */
    expect_error(dir, prep, HEADER "a,qa,q1,open_book,d,0,0,ok,stop,x,12x,1,1,1,1,\r\n",
                 LLEVAL_EINVAL, "bad.csv:2: column 'latency_ms': '12x' is not a finite number");
    expect_error(dir, prep, HEADER "a,qa,q1,open_book,d,0,0,ok,stop,x,1,1,1e999,1,1,\r\n",
                 LLEVAL_EINVAL, "bad.csv:2: column 'completion_tokens': '1e999'");
    expect_error(dir, prep, HEADER "a,qa,q1,open_book,d,0,0,ok,stop,x,1,1,1,nan,1,\r\n",
                 LLEVAL_EINVAL, "bad.csv:2: column 'gen_tps': 'nan'");
    expect_error(dir, prep, HEADER "a,qa,q1,open_book,d,0,0,ok,stop,x\xe2\x82,1,1,1,1,1,\r\n",
                 LLEVAL_EINVAL, "bad.csv:2: column 'prediction': invalid UTF-8 at byte 2");
    expect_error(dir, prep, HEADER "a,qa,q1,open_book,d,0,-1,ok,stop,x,1,1,1,1,1,\r\n",
                 LLEVAL_EINVAL, "column 'sample'");
    expect_error(dir, prep, HEADER "a,other,q1,open_book,d,0,0,ok,stop,x,1,1,1,1,1,\r\n",
                 LLEVAL_EINVAL, "lleval prepare");
    /* a row the parser could not decode (no dataset) is unknown, not an error */
    {
        char *csv = tu_write(dir, "undecoded.csv",
                             HEADER "???,,,,,,0,ok,stop,x,,,,,,\r\n"
                                    "\r\n"
                                    "a,qa,q1,open_book,d,0,0,ok,stop,Broncos,1,1,1,1,1,\r\n");
        lleval_score_opts_init(&o);
        assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), 0);
        assert_int_equal(r.unknown, 1);
        assert_int_equal(r.scored, 1);
        lleval_score_result_release(&r);
        free(csv);
    }
    /* a missing file is an I/O error */
    lleval_score_opts_init(&o);
    assert_int_equal(lleval_score_csv("/nonexistent/p.csv", prep, &o, &r, &err), LLEVAL_EIO);
    /* bad options */
    o.bootstrap = -5;
    assert_int_equal(lleval_score_csv("/nonexistent/p.csv", prep, &o, &r, &err), LLEVAL_EINVAL);
    tu_rmtree(dir);
    free(dir);
    free(prep);
}

static void test_squad_json(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *pj = tu_write(dir, "preds.json",
                        "{\"q1\": \"the Broncos\", \"q2\": \"Paris, France\", \"q3\": \"\", "
                        "\"zz\": \"ghost\"}");
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    write_prepared(prep);
    lleval_score_opts_init(&o);
    assert_int_equal(lleval_score_squad_json(pj, prep, "qa", &o, &r, &err), 0);
    /* q1 EM 1 F1 1; q2 EM 0 F1 2/3; q3 0; q4 missing 0: over 4 questions */
    assert_int_equal(r.total, 4);
    assert_int_equal(r.missing, 1);
    assert_int_equal(r.unknown, 1);
    assert_true(fabs(r.exact_match - 25.0) < 1e-12);
    assert_true(r.f1 == 100.0 * (1.0 + 2.0 / 3.0) / 4.0);
    assert_int_equal(r.n_groups, 1);
    assert_int_equal(r.groups[0].n, 4);
    assert_true(has_warning(&r, "'zz'"));
    {
        json_t *doc = lleval_score_result_json(&r);
        assert_true(json_real_value(json_object_get(doc, "exact_match")) == 25.0);
        assert_true(fabs(json_real_value(json_object_get(doc, "f1")) - 41.667) < 1e-9);
        assert_string_equal(lleval_json_str(doc, "mode"), "squad_json");
        json_decref(doc);
    }
    {
        char *text = lleval_score_format_table(&r);
        tu_assert_contains(text, "{\"exact_match\": 25.000, \"f1\": 41.667}");
        free(text);
    }
    lleval_score_result_release(&r);

    /* errors */
    free(pj);
    pj = tu_write(dir, "preds.json", "[\"q1\"]");
    assert_int_equal(lleval_score_squad_json(pj, prep, "qa", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "one JSON object");
    free(pj);
    pj = tu_write(dir, "preds.json", "{\"q1\": 3}");
    assert_int_equal(lleval_score_squad_json(pj, prep, "qa", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "'q1' is not a string");
    free(pj);
    pj = tu_write(dir, "preds.json", "{\"q1\": \"x\",\n \"q2\" \"y\"}");
    assert_int_equal(lleval_score_squad_json(pj, prep, "qa", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "preds.json:2:");
    free(pj);
    pj = tu_write(dir, "preds.json", "{}");
    assert_int_equal(lleval_score_squad_json(pj, prep, "nope", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "lleval prepare");
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(pj);
}

static void test_run_writes_scores_json(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *csv = tu_write(dir, "predictions.csv", predictions_csv);
    char *out = lleval_path_join(dir, "results/deep");
    char *path = lleval_path_join(out, "scores.json");
    struct lleval_score_opts o;
    struct lleval_score_result r, r2;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *doc, *groups, *g0;
    char *text1, *text2;
    (void)state;
    write_prepared(prep);
    lleval_score_opts_init(&o);
    assert_int_equal(lleval_score_run(csv, prep, out, &o, &r, &err), 0);
    doc = lleval_json_load_file(path, &err);
    assert_non_null(doc);
    assert_string_equal(lleval_json_str(doc, "mode"), "csv");
    assert_int_equal(lleval_json_int(json_object_get(doc, "totals"), "rows", -1), 11);
    assert_int_equal(lleval_json_int(json_object_get(doc, "totals"), "missing", -1), 2);
    assert_int_equal(lleval_json_int(json_object_get(doc, "options"), "bootstrap_seed", -1), 12345);
    groups = json_object_get(doc, "groups");
    assert_int_equal(json_array_size(groups), r.n_groups);
    g0 = json_array_get(groups, 0);
    assert_string_equal(lleval_json_str(g0, "dataset"), "qa");
    assert_true(json_is_object(json_object_get(g0, "exact_match")));
    assert_int_equal(json_array_size(lleval_json_path(g0, "exact_match.ci95")), 2);
    assert_true(json_is_null(json_object_get(g0, "accuracy")));
    assert_true(json_is_array(json_object_get(doc, "warnings")));
    /* reals are written the short way */
    text1 = tu_read(path);
    assert_null(strstr(text1, "99999999"));
    json_decref(doc);

    /* deterministic: the same seed gives the same file except the time stamp */
    assert_int_equal(lleval_score_run(csv, prep, out, &o, &r2, &err), 0);
    for (size_t i = 0; i < r.n_groups; i++) {
        assert_true(r.groups[i].f1.lo == r2.groups[i].f1.lo || isnan(r.groups[i].f1.lo));
        assert_true(r.groups[i].latency_ms.hi == r2.groups[i].latency_ms.hi ||
                    isnan(r.groups[i].latency_ms.hi));
    }
    lleval_score_result_release(&r2);
    o.seed = 99;
    assert_int_equal(lleval_score_run(csv, prep, out, &o, &r2, &err), 0);
    {
        const struct lleval_score_group *a = find_group(&r, "qa", NULL, NULL);
        const struct lleval_score_group *b = find_group(&r2, "qa", NULL, NULL);
        assert_true(a->f1.lo != b->f1.lo || a->f1.hi != b->f1.hi);
    }
    text2 = tu_read(path);
    assert_non_null(text2);
    lleval_score_result_release(&r2);

    /* an unwritable out dir fails and leaves the result empty */
    {
        char *blocker = tu_write(dir, "file", "x");
        char *bad = lleval_path_join(blocker, "sub");
        assert_int_not_equal(lleval_score_run(csv, prep, bad, &o, &r2, &err), 0);
        assert_int_equal(r2.n_groups, 0);
        free(bad);
        free(blocker);
    }
    lleval_score_result_release(&r);
    free(text1);
    free(text2);
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(csv);
    free(out);
    free(path);
}

struct seen_rows {
    int scored, unknown, duplicate, calls;
};

static int count_rows(const struct lleval_item_score *s, void *ud)
{
    struct seen_rows *c = ud;
    c->calls++;
    if (s->state == LLEVAL_ITEM_SCORED)
        c->scored++;
    else if (s->state == LLEVAL_ITEM_UNKNOWN)
        c->unknown++;
    else
        c->duplicate++;
    if (!strcmp(s->custom_id, "mc:m1:direct:t0:s0")) {
        assert_int_equal(s->choice, 2);
        assert_true(s->correct);
        assert_int_equal(s->scoring, LLEVAL_SCORING_MC);
    }
    if (!strcmp(s->custom_id, "qa:q1:cot:t0.7:s0") && s->state == LLEVAL_ITEM_SCORED)
        assert_string_equal(s->answer, "Panthers");
    return 0;
}

static int stop_at_third(const struct lleval_item_score *s, void *ud)
{
    int *n = ud;
    (void)s;
    return ++*n == 3 ? 42 : 0;
}

/*
 * A group whose every request failed has no metric: null in scores.json and
 * "n/a" in the table, not 0.0 with an interval; a group with one success
 * among failures keeps its scores (the failures count 0).
 */
static void test_all_failed_group(void **state)
{
    static const char csv_text[] =
        HEADER "qa:q1:direct:t0:s0,qa,q1,open_book,direct,0,0,error,error,,,,,,3,HTTP 404\r\n"
               "qa:q2:direct:t0:s0,qa,q2,open_book,direct,0,0,error,error,,,,,,3,HTTP 404\r\n"
               "mc:m1:direct:t0:s0,mc,m1,multiple_choice,direct,0,0,error,error,,,,,,3,HTTP 404\r\n"
               "qa:q1:cot:t0:s0,qa,q1,open_book,cot,0,0,ok,stop,Broncos,10,5,3,20,1,\r\n"
               "qa:q2:cot:t0:s0,qa,q2,open_book,cot,0,0,error,error,,,,,,3,HTTP 404\r\n";
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *csv = tu_write(dir, "predictions.csv", csv_text);
    char *path = lleval_path_join(dir, "scores.json");
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *doc, *g;
    char *table;
    (void)state;
    write_prepared(prep);
    lleval_score_opts_init(&o);
    assert_int_equal(lleval_score_run(csv, prep, dir, &o, &r, &err), 0);
    doc = lleval_json_load_file(path, &err);
    assert_non_null(doc);
    /* groups: qa cot, qa direct, qa overall, mc direct, mc overall */
    g = json_array_get(json_object_get(doc, "groups"), 1);
    assert_string_equal(lleval_json_str(g, "prompt_type"), "direct");
    assert_true(json_is_null(json_object_get(g, "exact_match")));
    assert_true(json_is_null(json_object_get(g, "f1")));
    assert_true(json_is_null(json_object_get(g, "contains")));
    g = json_array_get(json_object_get(doc, "groups"), 3);
    assert_string_equal(lleval_json_str(g, "dataset"), "mc");
    assert_true(json_is_null(json_object_get(g, "accuracy")));
    /* one success among the cot rows: scored, the failure counting 0 */
    g = json_array_get(json_object_get(doc, "groups"), 0);
    assert_string_equal(lleval_json_str(g, "prompt_type"), "cot");
    assert_true(fabs(lleval_json_num(json_object_get(g, "exact_match"), "value", -1) - 50.0) <
                1e-9);
    table = lleval_score_format_table(&r);
    tu_assert_contains(table, "n/a");
    assert_null(strstr(table, "0.0 [0.0, 0.0]"));
    free(table);
    json_decref(doc);
    lleval_score_result_release(&r);
    tu_rmtree(dir);
    free(path);
    free(csv);
    free(prep);
    free(dir);
}

/* limit_items (a run's --limit_items): missing counts only the first N gold
 * items of each dataset, the ones the run asked; 0 counts them all. */
static void test_missing_among_asked(void **state)
{
    static const char csv_text[] =
        HEADER "qa:q1:direct:t0:s0,qa,q1,open_book,direct,0,0,ok,stop,Broncos,10,5,3,20,1,\r\n"
               "mc:m1:direct:t0:s0,mc,m1,multiple_choice,direct,0,0,ok,stop,C,10,5,3,20,1,\r\n";
    static const struct {
        long limit, missing, qa_missing;
    } cases[] = {{0, 4, 3}, {1, 0, 0}, {2, 2, 1}, {100, 4, 3}};
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *csv = tu_write(dir, "predictions.csv", csv_text);
    (void)state;
    write_prepared(prep);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lleval_score_opts o;
        struct lleval_score_result r;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *table;
        lleval_score_opts_init(&o);
        o.limit_items = cases[i].limit;
        assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), 0);
        if (r.missing != cases[i].missing || r.groups[0].missing != cases[i].qa_missing)
            fail_msg("limit %ld: missing %ld (qa %ld), want %ld (qa %ld)", cases[i].limit,
                     r.missing, r.groups[0].missing, cases[i].missing, cases[i].qa_missing);
        table = lleval_score_format_table(&r);
        assert_true((strstr(table, "missing:") != NULL) == (cases[i].missing > 0));
        free(table);
        lleval_score_result_release(&r);
    }
    tu_rmtree(dir);
    free(csv);
    free(prep);
    free(dir);
}

/* tokens/s from the run's result lines: the mean of the unrounded gen_tps
 * (10.04 three times is 10.04, not the CSV's rounded 10.0; a repeated line
 * does not count); a row the lines do not have, and `lleval score` without
 * them, take the CSV's value. */
static void test_tps_unrounded(void **state)
{
    static const char csv_text[] =
        HEADER "qa:q1:direct:t0:s0,qa,q1,open_book,direct,0,0,ok,stop,Broncos,10,5,3,10.0,1,\r\n"
               "qa:q2:direct:t0:s0,qa,q2,open_book,direct,0,0,ok,stop,Paris,10,5,3,10.0,1,\r\n"
               "qa:q3:direct:t0:s0,qa,q3,open_book,direct,0,0,ok,stop,1990,10,5,3,10.0,1,\r\n"
               "mc:m1:direct:t0:s0,mc,m1,multiple_choice,direct,0,0,ok,stop,C,10,5,3,7.0,1,\r\n";
    static const char lines[] = "{\"custom_id\": \"qa:q1:direct:t0:s0\", \"error\": null, "
                                "\"lleval\": {\"gen_tps\": 10.04}}\n"
                                "{\"custom_id\": \"qa:q2:direct:t0:s0\", \"error\": null, "
                                "\"lleval\": {\"gen_tps\": 10.04}}\n"
                                "{\"custom_id\": \"qa:q3:direct:t0:s0\", \"error\": null, "
                                "\"lleval\": {\"gen_tps\": 10.04}}\n"
                                "{\"custom_id\": \"qa:q1:direct:t0:s0\", \"error\": null, "
                                "\"lleval\": {\"gen_tps\": 99}}\n" /* repeated: the first counts */
                                "not json\n";
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *csv = tu_write(dir, "predictions.csv", csv_text);
    char *jsonl = tu_write(dir, "results_combined.jsonl", lines);
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    write_prepared(prep);
    lleval_score_opts_init(&o);
    o.results_jsonl = jsonl;
    assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), 0);
    assert_string_equal(r.groups[0].dataset, "qa");
    assert_true(fabs(r.groups[0].tokens_per_s.mean - 10.04) < 1e-9);
    assert_string_equal(r.groups[2].dataset, "mc");
    assert_true(fabs(r.groups[2].tokens_per_s.mean - 7.0) < 1e-9); /* not in the lines */
    assert_null(r.opts.results_jsonl);
    lleval_score_result_release(&r);
    o.results_jsonl = NULL;
    assert_int_equal(lleval_score_csv(csv, prep, &o, &r, &err), 0);
    assert_true(fabs(r.groups[0].tokens_per_s.mean - 10.0) < 1e-9);
    lleval_score_result_release(&r);
    tu_rmtree(dir);
    free(jsonl);
    free(csv);
    free(prep);
    free(dir);
}

static void test_per_item(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *csv = tu_write(dir, "predictions.csv", predictions_csv);
    struct lleval_score_opts o;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct seen_rows c = {0, 0, 0, 0};
    struct lleval_item_scores items;
    const struct lleval_item_rec *rec;
    int n = 0;
    (void)state;
    write_prepared(prep);
    lleval_score_opts_init(&o);
    assert_int_equal(lleval_score_each(csv, prep, &o, count_rows, &c, &err), 0);
    assert_int_equal(c.calls, 11);
    assert_int_equal(c.scored, 9);
    assert_int_equal(c.unknown, 1);
    assert_int_equal(c.duplicate, 1);
    assert_int_equal(lleval_score_each(csv, prep, &o, stop_at_third, &n, &err), 42);

    assert_int_equal(lleval_item_scores_load(csv, prep, &o, &items, &err), 0);
    assert_int_equal(items.n, 9);
    rec = lleval_item_scores_find(&items, "qa:q2:direct:t0:s0");
    assert_non_null(rec);
    assert_true(rec->em == 0.0 && fabs(rec->f1 - 2.0 / 3.0) < 1e-12 && rec->contains == 1.0);
    rec = lleval_item_scores_find(&items, "qa:q1:cot:t0.7:s0");
    assert_non_null(rec); /* the first of the duplicates was kept */
    assert_true(rec->em == 0.0);
    rec = lleval_item_scores_find(&items, "mc:m2:direct:t0:s0");
    assert_non_null(rec);
    assert_true(rec->mc && !rec->correct);
    rec = lleval_item_scores_find(&items, "qa:q4:direct:t0:s0");
    assert_non_null(rec);
    assert_false(rec->ok);
    assert_null(lleval_item_scores_find(&items, "qa:q9:cot:t0.7:s0"));
    assert_null(lleval_item_scores_find(&items, "zzz"));
    lleval_item_scores_release(&items);
    lleval_item_scores_release(&items);
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(csv);
}

static void test_opts(void **state)
{
    struct lleval_score_opts o;
    struct lleval_config cfg;
    (void)state;
    lleval_score_opts_init(&o);
    assert_int_equal(o.extraction, LLEVAL_EXTRACT_NONE);
    assert_true(o.strip_think);
    assert_int_equal(o.bootstrap, 1000);
    assert_true(o.truncation_warn == 0.10);
    memset(&cfg, 0, sizeof(cfg));
    cfg.answer_extraction = (char *)"after_answer";
    cfg.strip_think = false;
    cfg.bootstrap_samples = 250;
    cfg.bootstrap_seed = 7;
    lleval_score_opts_from_config(&o, &cfg);
    assert_int_equal(o.extraction, LLEVAL_EXTRACT_AFTER_ANSWER);
    assert_false(o.strip_think);
    assert_int_equal(o.bootstrap, 250);
    assert_true(o.seed == 7);
}

/* Rows stream: many rows, few groups, bounded accumulators. */
static void test_many_rows(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *path = lleval_path_join(dir, "big.csv");
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *ids[] = {"q1", "q2", "q3", "q4"};
    const char *answers[] = {"Broncos", "Paris", "1990", "wrong"};
    (void)state;
    write_prepared(prep);
    lleval_sb_adds(&sb, HEADER);
    for (int i = 0; i < 20000; i++)
        lleval_sb_addf(&sb, "qa:%s:d:t0:s%d,qa,%s,open_book,d,0,%d,ok,stop,%s,%d.5,1,1,%d,1,\r\n",
                       ids[i % 4], i / 4, ids[i % 4], i / 4, answers[i % 4], 100 + i % 977,
                       10 + i % 13);
    assert_int_equal(lleval_write_file_atomic(path, sb.buf, sb.len, &err), 0);
    lleval_score_opts_init(&o);
    assert_int_equal(lleval_score_csv(path, prep, &o, &r, &err), 0);
    assert_int_equal(r.scored, 20000);
    assert_int_equal(r.duplicates, 0);
    assert_int_equal(r.missing, 0);
    assert_true(fabs(r.groups[0].em.mean - 0.5) < 1e-12); /* q1 "Broncos" is a gold */
    assert_true(r.groups[0].em.lo < 0.5 && r.groups[0].em.hi > 0.5);
    lleval_score_result_release(&r);
    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(path);
}

/* The prepared-file scanner: escapes, nested values, key order; lines it does
 * not expect go to the dataset module's reader, which accepts or explains. */
static void test_prepared_scanner(void **state)
{
    char *dir = tu_tmpdir();
    char *prep = lleval_path_join(dir, "prep");
    char *pj;
    struct lleval_score_opts o;
    struct lleval_score_result r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    put(prep, "esc.jsonl",
        "{\"meta\":{\"a\":[1,2.5e-3,{\"b\":null}],\"c\":true,\"d\":false,\"e\":\"x\\\"}\"},"
        "\"answers\":[\"caf\\u00e9\",\"emoji \\ud83d\\ude00\",\"tab\\there\"],"
        "\"context\":\"He said \\\"hi\\\" \\\\\\\\ and left\",\"id\":\"q\\\"1\","
        "\"question\":\"?\",\"type\":\"open_book\",\"dataset\":\"esc\"}\n"
        "{\"id\":\"q2\",\"dataset\":\"esc\",\"type\":\"open_book\",\"question\":\"q\","
        "\"context\":\"\\\\\",\"answers\":[\"two\"],\"meta\":{}}\n");
    put(prep, "esc.info.json",
        "{\"dataset\":\"esc\",\"type\":\"open_book\",\"scoring\":\"squad\",\"items\":2}\n");
    pj = tu_write(dir, "p.json", "{\"q\\\"1\": \"emoji \\ud83d\\ude00\", \"q2\": \"Two.\"}");
    lleval_score_opts_init(&o);
    o.bootstrap = 0;
    assert_int_equal(lleval_score_squad_json(pj, prep, "esc", &o, &r, &err), 0);
    assert_int_equal(r.total, 2);
    assert_int_equal(r.missing, 0);
    assert_int_equal(r.unknown, 0);
    assert_true(r.exact_match == 100.0);
    lleval_score_result_release(&r);

    /* a number among the answers: the full reader keeps the strings */
    put(prep, "odd.jsonl",
        "{\"id\":\"o1\",\"dataset\":\"odd\",\"type\":\"closed_book\",\"question\":\"q\","
        "\"answers\":[7,\"seven\"],\"meta\":{}}\n");
    put(prep, "odd.info.json",
        "{\"dataset\":\"odd\",\"type\":\"closed_book\",\"scoring\":\"squad\",\"items\":1}\n");
    free(pj);
    pj = tu_write(dir, "p.json", "{\"o1\": \"Seven\"}");
    assert_int_equal(lleval_score_squad_json(pj, prep, "odd", &o, &r, &err), 0);
    assert_true(r.exact_match == 100.0);
    lleval_score_result_release(&r);

    /* a broken line: the dataset module's error names file:line */
    put(prep, "bad.jsonl",
        "{\"id\":\"b1\",\"dataset\":\"bad\",\"type\":\"closed_book\",\"question\":\"q\","
        "\"answers\":[\"x\"],\"meta\":{}}\n{\"id\":\"b2\",\"dataset\":\n");
    put(prep, "bad.info.json",
        "{\"dataset\":\"bad\",\"type\":\"closed_book\",\"scoring\":\"squad\",\"items\":2}\n");
    assert_int_equal(lleval_score_squad_json(pj, prep, "bad", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "bad.jsonl:2");
    /* an item of another dataset */
    put(prep, "mix.jsonl",
        "{\"id\":\"m1\",\"dataset\":\"other\",\"type\":\"closed_book\",\"question\":\"q\","
        "\"answers\":[\"x\"],\"meta\":{}}\n");
    put(prep, "mix.info.json",
        "{\"dataset\":\"mix\",\"type\":\"closed_book\",\"scoring\":\"squad\",\"items\":1}\n");
    assert_int_equal(lleval_score_squad_json(pj, prep, "mix", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "belongs to dataset 'other'");
    /* the info file's count must match */
    put(prep, "odd.info.json",
        "{\"dataset\":\"odd\",\"type\":\"closed_book\",\"scoring\":\"squad\",\"items\":3}\n");
    assert_int_equal(lleval_score_squad_json(pj, prep, "odd", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "info file says 3");
    /* an unknown scoring */
    put(prep, "odd.info.json",
        "{\"dataset\":\"odd\",\"type\":\"closed_book\",\"scoring\":\"bleu\",\"items\":1}\n");
    assert_int_equal(lleval_score_squad_json(pj, prep, "odd", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "unknown scoring 'bleu'");

    /* predictions: a repeated key is refused, escapes are read */
    free(pj);
    pj = tu_write(dir, "p.json", "{\"q2\": \"a\", \"q2\": \"b\"}");
    assert_int_equal(lleval_score_squad_json(pj, prep, "esc", &o, &r, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "p.json");
    free(pj);
    pj = tu_write(dir, "p.json", " {\"q2\" : \"\\u0054wo\\n\" } \n");
    assert_int_equal(lleval_score_squad_json(pj, prep, "esc", &o, &r, &err), 0);
    assert_true(r.exact_match == 50.0);
    lleval_score_result_release(&r);
    free(pj);
    pj = tu_write(dir, "p.json", "{\"q2\": \"x\\u0000y\"}");
    assert_int_equal(lleval_score_squad_json(pj, prep, "esc", &o, &r, &err), LLEVAL_EINVAL);
    free(pj);
    pj = tu_write_bytes(dir, "p.json", "{\"q2\": \"\xff\"}", 10);
    assert_int_equal(lleval_score_squad_json(pj, prep, "esc", &o, &r, &err), LLEVAL_EINVAL);
    tu_rmtree(dir);
    free(dir);
    free(prep);
    free(pj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_breakdown),
        cmocka_unit_test(test_extraction_options),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_squad_json),
        cmocka_unit_test(test_run_writes_scores_json),
        cmocka_unit_test(test_all_failed_group),
        cmocka_unit_test(test_missing_among_asked),
        cmocka_unit_test(test_tps_unrounded),
        cmocka_unit_test(test_per_item),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_many_rows),
        cmocka_unit_test(test_prepared_scanner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
