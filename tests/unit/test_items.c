/*
 * Unit tests for every item, scored (lib/score/items.c, items_query.c): the
 * writer against small prepared datasets (QA and multiple choice) with
 * hostile model text, both files read back (CSV cells byte for byte through
 * the spreadsheet guard, JSONL through the reader), n/a where a metric does
 * not apply, atomic replacement, the reader's errors, the filters and
 * orders, and the terminal cells, column widths and cuts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/score/items.h"
#include "lleval/score/stats.h"
#include "lleval/util/csv.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

#define HEADER                                                                                     \
    "custom_id,dataset,item_id,type,prompt_type,temperature,sample,status,finish_reason,"          \
    "prediction,latency_ms,prompt_tokens,completion_tokens,gen_tps,attempts,error\r\n"

/* The hostile answer: a formula, a quote, a comma, a newline, an escape sequence, a bell. */
#define HOSTILE "=HYPERLINK(\"x\"),\n\x1b[31mred\x07"

static void put(const char *dir, const char *name, const char *content)
{
    free(tu_write(dir, name, content));
}

static void write_prepared(const char *dir)
{
    put(dir, "qa.jsonl",
        "{\"id\":\"q1\",\"dataset\":\"qa\",\"type\":\"open_book\",\"question\":\"Who won?\","
        "\"context\":\"c\",\"answers\":[\"Denver Broncos\",\"Broncos\"],\"meta\":{}}\n"
        "{\"id\":\"q2\",\"dataset\":\"qa\",\"type\":\"open_book\",\"question\":\"Where, \\\"x\\\"?"
        "\\n\\u001b[2J\",\"context\":\"c\",\"answers\":[\"+Paris, \\\"France\\\"\"],\"meta\":{}}\n"
        "{\"id\":\"q3\",\"dataset\":\"qa\",\"type\":\"open_book\",\"question\":\"When?\","
        "\"context\":\"c\",\"answers\":[\"in 1990\"],\"meta\":{}}\n");
    put(dir, "qa.info.json",
        "{\"dataset\":\"qa\",\"format\":\"squad\",\"source\":\"x\",\"type\":\"open_book\","
        "\"scoring\":\"squad\",\"items\":3,\"skipped\":{},\"prepared_at\":\"now\"}\n");
    put(dir, "mc.jsonl",
        "{\"id\":\"m1\",\"dataset\":\"mc\",\"type\":\"multiple_choice\",\"question\":\"Prime?\","
        "\"choices\":[\"21\",\"27\",\"29\",\"33\"],\"answers\":[\"C\"],\"meta\":{}}\n"
        "{\"id\":\"m2\",\"dataset\":\"mc\",\"type\":\"multiple_choice\",\"question\":\"Capital?\","
        "\"choices\":[\"Paris\",\"Rome\"],\"answers\":[\"A\"],\"meta\":{}}\n");
    put(dir, "mc.info.json",
        "{\"dataset\":\"mc\",\"format\":\"mmlu\",\"source\":\"x\",\"type\":\"multiple_choice\","
        "\"scoring\":\"mc\",\"items\":2,\"skipped\":{},\"prepared_at\":\"now\"}\n");
}

/* 7 rows: 5 scored, an unknown item and a duplicate (both left out). The
 * hostile answer is row 2's, quoted as predictions.csv writes it. */
static const char predictions_csv[] =
    HEADER "qa:q1:direct:t0:s0,qa,q1,open_book,direct,0,0,ok,stop,The Denver Broncos!,100.5,5,3,"
           "20,1,\r\n"
           "qa:q2:direct:t0:s0,qa,q2,open_book,direct,0,0,ok,length,\"'=HYPERLINK(\"\"x\"\"),\n"
           "\x1b[31mred\x07\",900,5,64,30,1,\r\n"
           "qa:q3:direct:t0:s0,qa,q3,open_book,direct,0,0,error,error,,,,,,3,\"HTTP 500, "
           "\"\"boom\"\"\"\r\n"
           "qa:q9:direct:t0:s0,qa,q9,open_book,direct,0,0,ok,stop,ghost,1,5,3,20,1,\r\n"
           "qa:q1:direct:t0:s0,qa,q1,open_book,direct,0,0,ok,stop,again,1,5,3,20,1,\r\n"
           "mc:m1:direct:t0.7:s1,mc,m1,multiple_choice,direct,0.7,1,ok,stop,The answer is (C).,"
           "300,5,7,10,1,\r\n"
           "mc:m2:direct:t0.7:s1,mc,m2,multiple_choice,direct,0.7,1,ok,stop,I am not sure,,,,,1,"
           "\r\n";

struct fixture {
    char *dir, *prep, *csv, *out;
};

static void fixture_make(struct fixture *f)
{
    f->dir = tu_tmpdir();
    f->prep = lleval_path_join(f->dir, "prep");
    f->out = lleval_path_join(f->dir, "out");
    f->csv = tu_write(f->dir, "predictions.csv", predictions_csv);
    write_prepared(f->prep);
}

static void fixture_free(struct fixture *f)
{
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->prep);
    free(f->csv);
    free(f->out);
}

static char *items_path(const struct fixture *f, const char *name)
{
    return lleval_path_join(f->out, name);
}

static int write_items(struct fixture *f, size_t *rows)
{
    struct lleval_score_opts o;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc;
    lleval_score_opts_init(&o);
    rc = lleval_items_write(f->csv, f->prep, &o, f->out, rows, &err);
    if (rc)
        print_message("%s\n", err.msg);
    return rc;
}

/* A kept copy of the rows read back. */
struct got {
    size_t n;
    char *id[16], *prediction[16], *question[16], *gold0[16], *letter[16], *error[16];
    double em[16], f1[16], latency[16];
    long long ctok[16];
    bool mc[16], correct[16], ok[16];
    size_t n_choices[16];
    char *temp[16];
    long sample[16];
};

static int collect(const struct lleval_item_row *r, void *ud)
{
    struct got *g = ud;
    size_t i = g->n++;
    char l[2] = {r->mc_letter, 0};
    assert_true(i < 16);
    g->id[i] = lleval_xstrdup(r->custom_id);
    g->prediction[i] = lleval_xstrdup(r->prediction);
    g->question[i] = lleval_xstrdup(r->question);
    g->gold0[i] = lleval_xstrdup(r->n_gold ? r->gold[0] : "(none)");
    g->letter[i] = lleval_xstrdup(l);
    g->error[i] = lleval_xstrdup(r->error);
    g->temp[i] = lleval_xstrdup(r->temperature);
    g->em[i] = r->em;
    g->f1[i] = r->f1;
    g->latency[i] = r->latency_ms;
    g->ctok[i] = r->completion_tokens;
    g->mc[i] = r->mc;
    g->correct[i] = r->correct;
    g->ok[i] = r->ok;
    g->n_choices[i] = r->n_choices;
    g->sample[i] = r->sample;
    return 0;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->id[i]);
        free(g->prediction[i]);
        free(g->question[i]);
        free(g->gold0[i]);
        free(g->letter[i]);
        free(g->error[i]);
        free(g->temp[i]);
    }
    memset(g, 0, sizeof(*g));
}

static void test_write_and_read_jsonl(void **state)
{
    struct fixture f;
    struct got g = {0};
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t rows = 99;
    char *jsonl;
    (void)state;
    fixture_make(&f);
    assert_int_equal(write_items(&f, &rows), 0);
    assert_int_equal(rows, 5); /* the unknown and the duplicate row are left out */
    jsonl = items_path(&f, LLEVAL_ITEMS_JSONL);
    assert_int_equal(lleval_items_each(jsonl, collect, &g, &err), 0);
    assert_int_equal(g.n, 5);

    assert_string_equal(g.id[0], "qa:q1:direct:t0:s0");
    assert_true(g.em[0] == 1.0 && g.f1[0] == 1.0 && g.correct[0] && g.ok[0]);
    assert_true(g.latency[0] == 100.5);
    assert_int_equal(g.ctok[0], 3);
    assert_string_equal(g.question[0], "Who won?");
    assert_string_equal(g.gold0[0], "Denver Broncos");
    assert_false(g.mc[0]);
    assert_string_equal(g.letter[0], ""); /* n/a on a QA item */

    /* hostile text reads back byte for byte (predictions.csv's guard quote removed) */
    assert_string_equal(g.prediction[1], HOSTILE);
    assert_string_equal(g.question[1], "Where, \"x\"?\n\x1b[2J");
    assert_string_equal(g.gold0[1], "+Paris, \"France\"");
    assert_false(g.correct[1]);

    /* a failed request: scored 0, its error kept, latency and tokens unknown */
    assert_false(g.ok[2]);
    assert_true(g.em[2] == 0.0);
    assert_string_equal(g.error[2], "HTTP 500, \"boom\"");
    assert_true(isnan(g.latency[2]));
    assert_int_equal(g.ctok[2], -1);

    /* multiple choice: EM/F1 n/a (NaN), the letter, its choices */
    assert_true(g.mc[3] && g.correct[3]);
    assert_true(isnan(g.em[3]) && isnan(g.f1[3]));
    assert_string_equal(g.letter[3], "C");
    assert_int_equal(g.n_choices[3], 4);
    assert_string_equal(g.temp[3], "0.7");
    assert_int_equal(g.sample[3], 1);
    assert_true(g.mc[4] && !g.correct[4]);
    assert_string_equal(g.letter[4], ""); /* no letter could be read */
    assert_true(isnan(g.latency[4]));

    got_free(&g);
    free(jsonl);
    fixture_free(&f);
}

/* The raw JSON lines: n/a is null, and the lines parse one by one. */
static void test_jsonl_nulls(void **state)
{
    struct fixture f;
    char *jsonl, *text, *line, *next;
    int n = 0;
    (void)state;
    fixture_make(&f);
    assert_int_equal(write_items(&f, NULL), 0);
    jsonl = items_path(&f, LLEVAL_ITEMS_JSONL);
    text = tu_read(jsonl);
    assert_non_null(text);
    for (line = text; *line; line = next) {
        json_error_t jerr;
        json_t *o;
        next = strchr(line, '\n');
        assert_non_null(next); /* every line ends in a newline: none inside a value */
        *next++ = '\0';
        o = json_loads(line, 0, &jerr);
        assert_non_null(o);
        if (n == 3) { /* mc:m1 */
            assert_true(json_is_null(json_object_get(o, "em")));
            assert_true(json_is_null(json_object_get(o, "f1")));
            assert_true(json_is_null(json_object_get(o, "contains")));
            assert_string_equal(lleval_json_str(o, "mc_letter"), "C");
            assert_int_equal(json_array_size(json_object_get(o, "choices")), 4);
        }
        if (n == 0) {
            assert_true(json_is_null(json_object_get(o, "mc_letter")));
            assert_true(json_is_null(json_object_get(o, "choices")));
            assert_int_equal(json_integer_value(json_object_get(o, "em")), 1);
        }
        if (n == 2) {
            assert_true(json_is_null(json_object_get(o, "latency_ms")));
            assert_true(json_is_null(json_object_get(o, "completion_tokens")));
            assert_string_equal(lleval_json_str(o, "status"), "error");
        }
        json_decref(o);
        n++;
    }
    assert_int_equal(n, 5);
    /* no escape byte or bell left raw in the file */
    assert_null(strchr(text, '\x1b'));
    assert_null(strchr(text, '\x07'));
    free(text);
    free(jsonl);
    fixture_free(&f);
}

/* The CSV: RFC 4180 records, the spreadsheet guard on text cells, empty n/a cells. */
static void test_csv(void **state)
{
    struct fixture f;
    struct lleval_csv_reader r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *csv, *text;
    int col_pred = -1, col_em = -1, col_mc = -1, col_gold = -1, col_q = -1, col_lat = -1;
    long rows = 0;
    (void)state;
    fixture_make(&f);
    assert_int_equal(write_items(&f, NULL), 0);
    csv = items_path(&f, LLEVAL_ITEMS_CSV);
    text = tu_read(csv);
    assert_non_null(text);
    /* the formula is guarded: the cell starts with a quote inside the CSV quotes */
    assert_non_null(strstr(text, ",\"'=HYPERLINK(\"\"x\"\"),\n\x1b[31mred\x07\","));
    free(text);

    memset(&r, 0, sizeof(r));
    assert_int_equal(lleval_csv_open(&r, csv, &err), 0);
    assert_int_equal(lleval_csv_next(&r, &err), 1);
    assert_int_equal(r.n_fields, 23);
    for (size_t i = 0; i < r.n_fields; i++) {
        const char *h = r.fields[i];
        if (!strcmp(h, "prediction"))
            col_pred = (int)i;
        else if (!strcmp(h, "em"))
            col_em = (int)i;
        else if (!strcmp(h, "mc_letter"))
            col_mc = (int)i;
        else if (!strcmp(h, "gold_answers"))
            col_gold = (int)i;
        else if (!strcmp(h, "question"))
            col_q = (int)i;
        else if (!strcmp(h, "latency_ms"))
            col_lat = (int)i;
    }
    assert_true(col_pred >= 0 && col_em >= 0 && col_mc >= 0 && col_gold >= 0 && col_q >= 0 &&
                col_lat >= 0);
    while (lleval_csv_next(&r, &err) == 1) {
        assert_int_equal(r.n_fields, 23);
        if (rows == 1) {
            /* the guard quote before the formula, removed by the reader */
            assert_string_equal(r.fields[col_pred], "'" HOSTILE);
            assert_string_equal(lleval_csv_text_value(r.fields[col_pred]), HOSTILE);
            assert_string_equal(lleval_csv_text_value(r.fields[col_q]), "Where, \"x\"?\n\x1b[2J");
            assert_string_equal(lleval_csv_text_value(r.fields[col_gold]),
                                "[\"+Paris, \\\"France\\\"\"]");
            assert_string_equal(r.fields[col_em], "0");
            assert_string_equal(r.fields[col_mc], "");
            assert_string_equal(r.fields[col_lat], "900.0");
        }
        if (rows == 3) {
            assert_string_equal(r.fields[col_em], ""); /* n/a on multiple choice */
            assert_string_equal(r.fields[col_mc], "C");
        }
        rows++;
    }
    assert_int_equal(rows, 5);
    lleval_csv_close(&r);
    free(csv);
    fixture_free(&f);
}

/* A failed write leaves the files written before and no temp file. */
static void test_atomic(void **state)
{
    struct fixture f;
    struct lleval_score_opts o;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_dir_list dl;
    char *csv, *before, *after, *mcinfo;
    (void)state;
    fixture_make(&f);
    assert_int_equal(write_items(&f, NULL), 0);
    csv = items_path(&f, LLEVAL_ITEMS_CSV);
    before = tu_read(csv);
    mcinfo = lleval_path_join(f.prep, "mc.jsonl");
    assert_int_equal(remove(mcinfo), 0); /* scoring fails at the first mc row */
    lleval_score_opts_init(&o);
    assert_int_not_equal(lleval_items_write(f.csv, f.prep, &o, f.out, NULL, &err), 0);
    assert_non_null(strstr(err.msg, "mc"));
    after = tu_read(csv);
    assert_string_equal(before, after);
    assert_int_equal(lleval_list_dir(f.out, &dl, &err), 0);
    assert_int_equal(dl.n, 2); /* items.csv and items.jsonl, no *.tmp.<pid> */
    lleval_dir_list_release(&dl);
    free(before);
    free(after);
    free(mcinfo);
    free(csv);
    fixture_free(&f);
}

static int count_row(const struct lleval_item_row *r, void *ud)
{
    (void)r;
    (*(size_t *)ud)++;
    return 0;
}

static void test_reader_errors(void **state)
{
    char *dir = tu_tmpdir();
    char *bad = tu_write(dir, "items.jsonl",
                         "{\"custom_id\":\"a\",\"correct\":true}\n"
                         "{\"custom_id\":\"b\",\"correct\":false,\"em\":\"1\"}\n");
    char *garbage = tu_write(dir, "g.jsonl", "{\"custom_id\":\"a\",\"correct\":true}\nnot json\n");
    char *nocorrect = tu_write(dir, "c.jsonl", "{\"custom_id\":\"a\"}\n");
    char *missing = lleval_path_join(dir, "none.jsonl");
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t n = 0;
    (void)state;
    assert_int_equal(lleval_items_each(bad, count_row, &n, &err), LLEVAL_EINVAL);
    assert_int_equal(n, 1); /* the first line was read */
    assert_non_null(strstr(err.msg, "items.jsonl:2: 'em' must be a number or null"));
    assert_int_equal(lleval_items_each(garbage, count_row, &n, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "g.jsonl:2: "));
    assert_int_equal(lleval_items_each(nocorrect, count_row, &n, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "'correct' must be true or false"));
    assert_int_equal(lleval_items_each(missing, count_row, &n, &err), LLEVAL_EINVAL);
    assert_non_null(strstr(err.msg, "does not exist"));
    tu_rmtree(dir);
    free(dir);
    free(bad);
    free(garbage);
    free(nocorrect);
    free(missing);
}

/* ---- queries ---- */

struct ids {
    size_t n;
    char *id[64];
};

static int collect_id(const struct lleval_item_row *r, void *ud)
{
    struct ids *s = ud;
    assert_true(s->n < 64);
    s->id[s->n++] = lleval_xstrdup(r->custom_id);
    return 0;
}

static void ids_free(struct ids *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->id[i]);
    s->n = 0;
}

/* Runs q and returns how many rows came; *matched gets the matches. */
static size_t run_query(const char *path, const struct lleval_items_query *q, struct ids *out,
                        size_t *matched)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    ids_free(out);
    assert_int_equal(lleval_items_query_run(path, q, collect_id, out, matched, &err), 0);
    return out->n;
}

static void test_filters(void **state)
{
    struct fixture f;
    struct lleval_items_query q;
    struct ids got = {0};
    size_t matched;
    char *jsonl;
    (void)state;
    fixture_make(&f);
    assert_int_equal(write_items(&f, NULL), 0);
    jsonl = items_path(&f, LLEVAL_ITEMS_JSONL);

    memset(&q, 0, sizeof(q));
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 5);
    q.verdict = LLEVAL_ITEMS_WRONG;
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 3); /* q2, q3 (error), m2 */
    assert_string_equal(got.id[1], "qa:q3:direct:t0:s0");
    q.verdict = LLEVAL_ITEMS_RIGHT;
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 2);
    q.verdict = LLEVAL_ITEMS_ANY;
    q.dataset = "mc";
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 2);
    q.dataset = NULL;
    q.finish = "length";
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 1);
    assert_string_equal(got.id[0], "qa:q2:direct:t0:s0");
    q.finish = NULL;
    q.grep = "hyperLINK"; /* any case, in the raw answer */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 1);
    q.grep = "broncos"; /* in a gold answer and an answer */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 1);
    q.grep = "boom"; /* in an error */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 1);
    q.grep = "capital?"; /* in a question */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 1);
    assert_string_equal(got.id[0], "mc:m2:direct:t0.7:s1");
    q.grep = "no such text";
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 0);
    assert_int_equal(matched, 0);
    q.grep = NULL;
    q.limit = 2; /* file order: the first two, all five counted */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 2);
    assert_int_equal(matched, 5);
    assert_string_equal(got.id[0], "qa:q1:direct:t0:s0");
    ids_free(&got);
    free(jsonl);
    fixture_free(&f);
}

/* The nth line (from 1) of text with `from` replaced by `to` at its start, as a new file. */
static char *edit_line(const struct fixture *f, const char *text, int nth, const char *to,
                       const char *name)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const char *p = text;
    char *path;
    for (int line = 1; line < nth; line++)
        p = strchr(p, '\n') + 1;
    lleval_sb_add(&sb, text, (size_t)(p - text));
    lleval_sb_adds(&sb, to);
    lleval_sb_adds(&sb, p + 1); /* the line's '{' replaced */
    path = tu_write(f->out, name, sb.buf);
    lleval_sb_release(&sb);
    return path;
}

/* `runs items` reads with the fast reader: where it gives up on a line (a key
 * it does not know, which jansson ignores) the rows before are not handed over
 * again, in file order, with a limit and sorted; a damaged line still fails
 * after the rows before it, with jansson's message. */
static void test_query_fast_fallback(void **state)
{
    struct fixture f;
    struct lleval_items_query q;
    struct ids want = {0}, got = {0};
    struct lleval_err e1 = LLEVAL_ERR_INIT, e2 = LLEVAL_ERR_INIT;
    size_t m1, m2;
    char *jsonl, *text, *odd, *bad;
    (void)state;
    fixture_make(&f);
    assert_int_equal(write_items(&f, NULL), 0);
    jsonl = items_path(&f, LLEVAL_ITEMS_JSONL);
    text = tu_read(jsonl);
    odd = edit_line(&f, text, 3, "{\"zz\":1,", "odd.jsonl");
    bad = edit_line(&f, text, 4, "[", "bad.jsonl");

    memset(&q, 0, sizeof(q));
    for (int round = 0; round < 3; round++) {
        q.limit = round == 1 ? 4 : 0;
        q.sort = round == 2 ? LLEVAL_ITEMS_SORT_LATENCY : LLEVAL_ITEMS_SORT_FILE;
        assert_int_equal(run_query(jsonl, &q, &want, &m1), run_query(odd, &q, &got, &m2));
        assert_int_equal(m1, m2);
        for (size_t i = 0; i < want.n; i++)
            assert_string_equal(want.id[i], got.id[i]);
    }

    memset(&q, 0, sizeof(q));
    ids_free(&got);
    assert_int_not_equal(lleval_items_query_run(bad, &q, collect_id, &got, &m2, &e2), 0);
    assert_int_equal(got.n, 3); /* the three rows before the damaged line, once each */
    ids_free(&want);
    assert_int_not_equal(lleval_items_each(bad, collect_id, &want, &e1), 0);
    assert_string_equal(e1.msg, e2.msg);
    assert_int_equal(e1.code, e2.code);

    ids_free(&want);
    ids_free(&got);
    free(odd);
    free(bad);
    free(text);
    free(jsonl);
    fixture_free(&f);
}

static void test_sort(void **state)
{
    struct fixture f;
    struct lleval_items_query q;
    struct ids got = {0};
    size_t matched;
    enum lleval_items_sort s;
    char *jsonl;
    (void)state;
    fixture_make(&f);
    assert_int_equal(write_items(&f, NULL), 0);
    jsonl = items_path(&f, LLEVAL_ITEMS_JSONL);

    assert_int_equal(lleval_items_sort_parse("latency", &s), 0);
    assert_int_equal(s, LLEVAL_ITEMS_SORT_LATENCY);
    assert_int_equal(lleval_items_sort_parse("slowness", &s), LLEVAL_EINVAL);

    memset(&q, 0, sizeof(q));
    q.sort = LLEVAL_ITEMS_SORT_LATENCY; /* 100.5, 900, -, 300, -: unknown last, in file order */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 5);
    assert_string_equal(got.id[0], "qa:q2:direct:t0:s0");
    assert_string_equal(got.id[1], "mc:m1:direct:t0.7:s1");
    assert_string_equal(got.id[2], "qa:q1:direct:t0:s0");
    assert_string_equal(got.id[3], "qa:q3:direct:t0:s0");
    assert_string_equal(got.id[4], "mc:m2:direct:t0.7:s1");
    q.limit = 2; /* the best two only, in the same order */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 2);
    assert_int_equal(matched, 5);
    assert_string_equal(got.id[0], "qa:q2:direct:t0:s0");
    assert_string_equal(got.id[1], "mc:m1:direct:t0.7:s1");
    q.limit = 4; /* the unknown ones tie: file order */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 4);
    assert_string_equal(got.id[3], "qa:q3:direct:t0:s0");

    q.limit = 0;
    q.sort = LLEVAL_ITEMS_SORT_F1; /* lowest first, multiple choice (n/a) last */
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 5);
    assert_string_equal(got.id[0], "qa:q2:direct:t0:s0");
    assert_string_equal(got.id[1], "qa:q3:direct:t0:s0");
    assert_string_equal(got.id[2], "qa:q1:direct:t0:s0");
    assert_string_equal(got.id[3], "mc:m1:direct:t0.7:s1");

    q.sort = LLEVAL_ITEMS_SORT_TOKENS; /* 3, 64, -, 7, - */
    q.verdict = LLEVAL_ITEMS_WRONG;
    assert_int_equal(run_query(jsonl, &q, &got, &matched), 3);
    assert_string_equal(got.id[0], "qa:q2:direct:t0:s0");
    assert_string_equal(got.id[1], "qa:q3:direct:t0:s0");
    ids_free(&got);
    free(jsonl);
    fixture_free(&f);
}

/* The latency cell's fast path (row.latency_text) writes what printf writes. */
static void test_latency_text(void **state)
{
    static const char *odd[] = {"0.0",
                                "1.0",
                                "0.1",
                                "1.5",
                                "10.0",
                                "007.5",
                                "12.25",
                                "1e3",
                                "-4.0",
                                "",
                                "3.",
                                ".5",
                                "123456789012345.6",
                                "12345678901234.5"};
    struct lleval_item_row r;
    struct lleval_sb a = LLEVAL_SB_INIT, b = LLEVAL_SB_INIT;
    char text[64];
    (void)state;
    memset(&r, 0, sizeof(r));
    r.custom_id = r.question = r.prediction = r.answer = r.error = r.finish_reason = "";
    r.dataset = r.item_id = r.type = r.prompt_type = "";
    r.temperature = "0";
    for (long k = 0; k < 200000 + (long)(sizeof(odd) / sizeof(odd[0])); k++) {
        if (k < 200000) /* tenths from 0 to 20000, then larger ones */
            snprintf(text, sizeof(text), "%.1f",
                     k < 100000 ? k / 10.0 : (double)(k * 7919L * 104729L) / 10.0);
        else
            snprintf(text, sizeof(text), "%s", odd[k - 200000]);
        r.latency_ms = strtod(text, NULL);
        lleval_sb_reset(&a);
        lleval_sb_reset(&b);
        r.latency_text = NULL;
        lleval_items_json_row(&a, &r);
        lleval_items_csv_row(&a, &r);
        r.latency_text = text;
        lleval_items_json_row(&b, &r);
        lleval_items_csv_row(&b, &r);
        if (strcmp(a.buf, b.buf))
            fail_msg("latency '%s': %s != %s", text, b.buf, a.buf);
    }
    lleval_sb_release(&a);
    lleval_sb_release(&b);
}

/* ---- both rows in one pass ---- */

/* Strings that take each path of the writers: CSV quoting and its byte
 * order mark, the spreadsheet guard, JSON escapes, bad UTF-8, URL userinfo
 * and a registered secret (redacted), '@' alone. */
static const char *const tricky[] = {
    "", "plain", "a,b", "say \"hi\"", "\"", "line\nbreak", "cr\rlf\r\n",
    "\xEF\xBB\xBF"
    "bom",
    "\xEF\xBB\xBF", "\xEF\xBB", "=SUM(A1)", "+1", "-2,\"x\"", "@home", "\tTab", "\rcr", "'quoted",
    "back\\slash", "ctl \x01\x1f\x7f", "caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x98\x80",
    "bad \xff\xfe \xC3", "see https://user:pw@example.com/x, ok", "https://[redacted]@host",
    /* each special byte inside an 8-byte block */
    "abcdefg\x1fhijklmno", "abcdefgh\\ijklmnop", "abcdefgh\"ijklmnop", "abcdefgh\rijklmnop",
    "abcdefgh,ijklmnop", "abcdefgh\nijklmnop", "abcdefgh\x80ijklmnop", "abcdefgh\x20\x7e\x7f!\x01",
    "mail me@example.com", "key sk-secret-0123456789 here", "=sk-secret-0123456789,\"",
    "0123456789abcdef0123456789abcdef0123456789\"\"\"",
    "long text long text long text long text long text, long "
    "text long text long text \xC3\xA9 long text\n"};

static const char *pick(struct lleval_rng *g, char *buf, size_t cap)
{
    uint64_t k = lleval_rng_below(g, LLEVAL_ARRAY_SIZE(tricky) + 4);
    if (k < LLEVAL_ARRAY_SIZE(tricky))
        return tricky[k];
    /* random bytes (no NUL), mostly printable, up to cap - 1 */
    size_t n = (size_t)lleval_rng_below(g, cap);
    for (size_t i = 0; i < n; i++) {
        uint64_t c = lleval_rng_below(g, 10) < 7 ? 0x20 + lleval_rng_below(g, 0x5f)
                                                 : 1 + lleval_rng_below(g, 255);
        buf[i] = (char)c;
    }
    buf[n] = '\0';
    return buf;
}

static double pick_num(struct lleval_rng *g)
{
    static const double odd[] = {
        0.0, 1.0, -0.0, 0.5, 2.0 / 3.0, 1.0 / 3.0, 0.25, 1e-300, -7.5, 123456789.123456789, 1e21};
    uint64_t k = lleval_rng_below(g, 6);
    if (k == 0)
        return NAN;
    if (k == 1)
        return lleval_rng_below(g, 2) ? INFINITY : -INFINITY;
    if (k == 2)
        return odd[lleval_rng_below(g, LLEVAL_ARRAY_SIZE(odd))];
    if (k == 3) { /* an F1: 2pr / (p + r) of small counts */
        double c = (double)(1 + lleval_rng_below(g, 9)), np = c + (double)lleval_rng_below(g, 9),
               ng = c + (double)lleval_rng_below(g, 9), p = c / np, r = c / ng;
        return 2 * p * r / (p + r);
    }
    return lleval_rng_uniform(g) * (k == 4 ? 1.0 : 1e6);
}

/* The JSON text of a string byte by byte, as the writer wrote it before it
 * went 8 bytes at a time: the reference of items.jsonl's strings. */
static void ref_json_str(struct lleval_sb *sb, const char *s)
{
    char *red = lleval_redact_dup(s);
    const char *p = red ? red : s;
    size_t len = strlen(p);
    lleval_sb_addch(sb, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)p[i];
        size_t n;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            lleval_sb_addch(sb, (char)c);
            i++;
        } else if (c >= 0x80) {
            n = lleval_utf8_seq(p + i, len - i);
            if (n)
                lleval_sb_add(sb, p + i, n);
            else
                lleval_sb_adds(sb, LLEVAL_UTF8_REPLACEMENT);
            i += n ? n : 1;
        } else {
            if (c == '"')
                lleval_sb_adds(sb, "\\\"");
            else if (c == '\\')
                lleval_sb_adds(sb, "\\\\");
            else if (c == '\n')
                lleval_sb_adds(sb, "\\n");
            else if (c == '\t')
                lleval_sb_adds(sb, "\\t");
            else if (c == '\r')
                lleval_sb_adds(sb, "\\r");
            else
                lleval_sb_addf(sb, "\\u%04x", c);
            i++;
        }
    }
    lleval_sb_addch(sb, '"');
    free(red);
}

/* Every string of a JSON row is escaped as the byte-by-byte writer did: the
 * tricky strings, every byte at every position of a 24-byte string, and
 * random strings (the error field, last in the line, stands for all). */
static void test_json_strings_escaped(void **state)
{
    struct lleval_item_row r;
    struct lleval_sb base = LLEVAL_SB_INIT, got = LLEVAL_SB_INIT, want = LLEVAL_SB_INIT;
    struct lleval_rng g;
    char buf[64];
    (void)state;
    memset(&r, 0, sizeof(r));
    r.custom_id = r.dataset = r.item_id = r.type = r.prompt_type = "";
    r.question = r.prediction = r.answer = r.finish_reason = r.error = "";
    r.temperature = "0";
    lleval_items_json_row(&base, &r);
    assert_true(base.len > 4 && !strcmp(base.buf + base.len - 5, ":\"\"}\n"));
    lleval_rng_seed(&g, 99);
    for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(tricky) + 24 * 255 + 20000; k++) {
        const char *s;
        if (k < LLEVAL_ARRAY_SIZE(tricky)) {
            s = tricky[k];
        } else if (k < LLEVAL_ARRAY_SIZE(tricky) + 24 * 255) {
            size_t j = k - LLEVAL_ARRAY_SIZE(tricky);
            memset(buf, 'a', 24);
            buf[24] = '\0';
            buf[j / 255] = (char)(1 + j % 255);
            s = buf;
        } else {
            s = pick(&g, buf, 64);
        }
        r.error = s;
        lleval_sb_reset(&got);
        lleval_sb_reset(&want);
        lleval_items_json_row(&got, &r);
        lleval_sb_add(&want, base.buf, base.len - 4);
        ref_json_str(&want, s);
        lleval_sb_adds(&want, "}\n");
        if (got.len != want.len || memcmp(got.buf, want.buf, got.len))
            fail_msg("string %zu:\n%s\n!=\n%s", k, got.buf, want.buf);
    }
    lleval_sb_release(&base);
    lleval_sb_release(&got);
    lleval_sb_release(&want);
}

/* lleval_items_rows() writes what lleval_items_csv_row() and
 * lleval_items_json_row() write, on a table of tricky strings and random
 * mutations of every field, with a secret registered or not, the number memo
 * kept across rows (its collisions included) or absent. */
static void test_rows_one_pass(void **state)
{
    static const char *temps[] = {"0", "0.7", "1", "", "0.30000000000000004", "1e-3", "x,y"};
    static const char *lat[] = {"812.4", "1.0", "0.0", "", "1e3", "12345678901234.5", "-4.0"};
    struct lleval_items_memo memo;
    struct lleval_sb a = LLEVAL_SB_INIT, b = LLEVAL_SB_INIT, c = LLEVAL_SB_INIT, d = LLEVAL_SB_INIT;
    struct lleval_rng g;
    char bufs[12][64];
    const char *gold[4], *choices[5];
    (void)state;
    lleval_items_memo_init(&memo);
    lleval_rng_seed(&g, 2026);
    for (int k = 0; k < 60000; k++) {
        struct lleval_item_row r;
        if (k == 30000) { /* a memo lives while the secrets stay as they are */
            lleval_redact_add("sk-secret-0123456789");
            lleval_items_memo_release(&memo);
            lleval_items_memo_init(&memo);
        }
        memset(&r, 0, sizeof(r));
        r.custom_id = pick(&g, bufs[0], 64);
        r.dataset = pick(&g, bufs[1], 16);
        /* items come back (a few ids, questions and golds from small sets): the
         * memo's item text is found again, or its slot holds another item's */
        r.item_id =
            lleval_rng_below(&g, 2) ? tricky[lleval_rng_below(&g, 6)] : pick(&g, bufs[2], 16);
        r.type = pick(&g, bufs[3], 16);
        r.prompt_type = pick(&g, bufs[4], 16);
        r.temperature = temps[lleval_rng_below(&g, LLEVAL_ARRAY_SIZE(temps))];
        r.sample = (long)lleval_rng_below(&g, 5) - 1;
        r.ok = lleval_rng_below(&g, 8) != 0;
        r.question =
            lleval_rng_below(&g, 3) ? tricky[lleval_rng_below(&g, 4)] : pick(&g, bufs[5], 64);
        r.prediction = pick(&g, bufs[6], 64);
        r.answer = pick(&g, bufs[7], 64);
        r.finish_reason = pick(&g, bufs[8], 16);
        r.error = pick(&g, bufs[9], 32);
        r.n_gold = (size_t)lleval_rng_below(&g, 4);
        for (size_t i = 0; i < r.n_gold; i++)
            gold[i] = lleval_rng_below(&g, 3) ? tricky[lleval_rng_below(&g, 3) + i]
                      : i < 2                 ? pick(&g, bufs[10 + i], 32)
                                              : tricky[k % LLEVAL_ARRAY_SIZE(tricky)];
        r.gold = gold;
        r.mc = lleval_rng_below(&g, 4) == 0;
        if (r.mc) {
            r.n_choices = (size_t)lleval_rng_below(&g, 5);
            for (size_t i = 0; i < r.n_choices; i++)
                choices[i] = tricky[(k + i) % LLEVAL_ARRAY_SIZE(tricky)];
            r.choices = choices;
            r.mc_letter = (char)(lleval_rng_below(&g, 3) ? 'A' + lleval_rng_below(&g, 5) : 0);
            r.em = r.f1 = r.contains = NAN;
        } else {
            r.em = pick_num(&g);
            r.f1 = pick_num(&g);
            r.contains = pick_num(&g);
        }
        r.correct = lleval_rng_below(&g, 2);
        r.latency_text =
            lleval_rng_below(&g, 3) ? lat[lleval_rng_below(&g, LLEVAL_ARRAY_SIZE(lat))] : NULL;
        r.latency_ms =
            r.latency_text && *r.latency_text ? strtod(r.latency_text, NULL) : pick_num(&g);
        r.prompt_tokens = (long long)lleval_rng_below(&g, 1000) - 1;
        r.completion_tokens = lleval_rng_below(&g, 2) ? -1 : 7;
        lleval_sb_reset(&a);
        lleval_sb_reset(&b);
        lleval_sb_reset(&c);
        lleval_sb_reset(&d);
        lleval_items_csv_row(&a, &r);
        lleval_items_json_row(&b, &r);
        lleval_items_rows(&c, &d, &r, (k & 1) ? &memo : NULL);
        if (a.len != c.len || memcmp(a.buf, c.buf, a.len))
            fail_msg("row %d, csv:\n%s\n!=\n%s", k, c.buf, a.buf);
        if (b.len != d.len || memcmp(b.buf, d.buf, b.len))
            fail_msg("row %d, jsonl:\n%s\n!=\n%s", k, d.buf, b.buf);
    }
    {
        /* a secret that spans two gold answers: only the list's text holds it
         * (items.csv redacts the cell's JSON text as a whole) */
        static const char *two[] = {"a q1", "q2-secret b"};
        struct lleval_item_row r;
        memset(&r, 0, sizeof(r));
        r.custom_id = r.dataset = r.item_id = r.type = r.prompt_type = "";
        r.question = r.prediction = r.answer = r.finish_reason = r.error = "";
        r.temperature = "0";
        r.gold = two;
        r.n_gold = 2;
        r.em = r.f1 = r.contains = 0;
        lleval_redact_add("q1\",\"q2-secret");
        lleval_sb_reset(&a);
        lleval_sb_reset(&c);
        lleval_sb_reset(&d);
        lleval_items_csv_row(&a, &r);
        lleval_items_rows(&c, &d, &r, &memo);
        assert_non_null(strstr(a.buf, LLEVAL_REDACTED));
        assert_string_equal(c.buf, a.buf);
    }
    lleval_redact_clear();
    lleval_items_memo_release(&memo);
    lleval_sb_release(&a);
    lleval_sb_release(&b);
    lleval_sb_release(&c);
    lleval_sb_release(&d);
}

/* ---- showing ---- */

static void test_cells(void **state)
{
    const char *gold[] = {"eight", "8"};
    struct lleval_item_row r;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    (void)state;
    memset(&r, 0, sizeof(r));
    r.custom_id = "d:i:p:t0:s0";
    r.question = r.prediction = r.answer = r.error = r.finish_reason = "";
    r.ok = true;
    r.em = 0;
    r.f1 = 2.0 / 3.0;
    r.latency_ms = 812.4;
    r.completion_tokens = 7;
    r.gold = gold;
    r.n_gold = 2;
    static const struct {
        enum lleval_items_col c;
        const char *qa, *mc;
    } cases[] = {
        {LLEVAL_ITEMS_COL_VERDICT, "wrong", "right"},
        {LLEVAL_ITEMS_COL_EM, "0", "n/a"},
        {LLEVAL_ITEMS_COL_F1, "0.67", "n/a"},
        {LLEVAL_ITEMS_COL_MC, "n/a", "B"},
        {LLEVAL_ITEMS_COL_MS, "812", "-"},
        {LLEVAL_ITEMS_COL_TOKENS, "7", "-"},
        {LLEVAL_ITEMS_COL_GOLD, "eight | 8", "eight | 8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r.mc = false;
        r.correct = false;
        r.mc_letter = 0;
        r.latency_ms = 812.4;
        r.completion_tokens = 7;
        lleval_items_cell(&sb, &r, cases[i].c);
        assert_string_equal(sb.buf, cases[i].qa);
        r.mc = true;
        r.correct = true;
        r.mc_letter = 'B';
        r.latency_ms = NAN;
        r.completion_tokens = -1;
        lleval_items_cell(&sb, &r, cases[i].c);
        assert_string_equal(sb.buf, cases[i].mc);
    }
    r.mc_letter = 0;
    lleval_items_cell(&sb, &r, LLEVAL_ITEMS_COL_MC);
    assert_string_equal(sb.buf, "none");
    r.ok = false;
    r.error = "HTTP 500";
    lleval_items_cell(&sb, &r, LLEVAL_ITEMS_COL_VERDICT);
    assert_string_equal(sb.buf, "error");
    lleval_items_cell(&sb, &r, LLEVAL_ITEMS_COL_ANSWER);
    assert_string_equal(sb.buf, "error: HTTP 500");
    lleval_sb_release(&sb);
}

static void test_fit_columns(void **state)
{
    static const struct {
        size_t natural[4];
        bool flex[4];
        size_t width, min_flex;
        size_t want[4];
    } cases[] = {
        /* fits: natural widths */
        {{5, 10, 3, 20}, {false, true, false, true}, 100, 4, {5, 10, 3, 20}},
        /* no limit */
        {{5, 10, 3, 200}, {false, true, false, true}, 0, 4, {5, 10, 3, 200}},
        /* 40 - 8 fixed - 6 gaps = 26 for two flexible: 10 fits its share, 16 for the other */
        {{5, 10, 3, 200}, {false, true, false, true}, 40, 4, {5, 10, 3, 16}},
        /* both wide: an equal share each, the odd column to the first */
        {{5, 100, 3, 200}, {false, true, false, true}, 41, 4, {5, 14, 3, 13}},
        /* too narrow: the flexible ones keep min_flex (the line is then wider) */
        {{5, 100, 3, 200}, {false, true, false, true}, 10, 4, {5, 4, 3, 4}},
        /* a short flexible column keeps its width even under min_flex */
        {{5, 2, 3, 200}, {false, true, false, true}, 10, 4, {5, 2, 3, 4}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t out[4];
        lleval_fit_columns(cases[i].natural, cases[i].flex, 4, 2, cases[i].width, cases[i].min_flex,
                           out);
        for (size_t c = 0; c < 4; c++) {
            if (out[c] != cases[i].want[c])
                print_error("case %zu column %zu: %zu, want %zu\n", i, c, out[c], cases[i].want[c]);
            assert_int_equal(out[c], cases[i].want[c]);
        }
    }
}

static void test_fit_cell(void **state)
{
    static const struct {
        const char *s;
        size_t cols;
        bool pad;
        const char *want;
    } cases[] = {
        {"abc", 5, true, "abc  "},
        {"abc", 5, false, "abc"},
        {"abcdef", 4, true, "abc\xE2\x80\xA6"},
        {"abcdef", 1, true, "\xE2\x80\xA6"},
        {"abcdef", 0, true, ""},
        /* a wide character is never split: 2 columns each */
        {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", 4, true, "\xE6\x97\xA5\xE2\x80\xA6 "},
        {"caf\x65\xCC\x81s", 4, false, "caf\xE2\x80\xA6"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_fit_cell(&sb, cases[i].s, cases[i].cols, cases[i].pad);
        assert_string_equal(sb.buf, cases[i].want);
        if (cases[i].cols)
            assert_true(lleval_utf8_width(sb.buf) <= cases[i].cols);
        lleval_sb_release(&sb);
    }
}

static void test_fit_cell_tail(void **state)
{
    static const struct {
        const char *s;
        size_t cols;
        const char *want;
    } cases[] = {
        {"general_knowledge-test-17", 30, "general_knowledge-test-17     "},
        {"general_knowledge-test-17", 8,
         "\xE2\x80\xA6"
         "test-17"},
        {"abc", 1, "\xE2\x80\xA6"},
        {"abc", 0, ""},
        /* a wide character is dropped whole, a combining mark with its base */
        {"x\xE6\x97\xA5yz", 4, "\xE2\x80\xA6yz "},
        {"xe\xCC\x81\x62\x63\x64", 4, "\xE2\x80\xA6\x62\x63\x64"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_fit_cell_tail(&sb, cases[i].s, cases[i].cols, true);
        assert_string_equal(sb.buf, cases[i].want);
        lleval_sb_release(&sb);
    }
}

static void test_short_ids(void **state)
{
    struct lleval_items_id a = {"nq_open", "nq-00017", "direct", "0.7", 1};
    struct lleval_items_id b = {"nq_open", "nq-00018", "cot", "0.7", 1};
    struct lleval_sb sb = LLEVAL_SB_INIT;
    unsigned d = lleval_items_id_diff(&a, &b);
    (void)state;
    assert_int_equal(d, LLEVAL_ITEMS_ID_PROMPT);
    lleval_items_id_short(&sb, &a, d);
    assert_string_equal(sb.buf, "nq-00017:direct");
    lleval_sb_reset(&sb);
    lleval_items_id_short(&sb, &a, ~0u);
    assert_string_equal(sb.buf, "nq_open:nq-00017:direct:t0.7:s1"); /* the custom_id's order */
    lleval_sb_reset(&sb);
    lleval_items_id_common(&sb, &a, d);
    assert_string_equal(sb.buf, "dataset nq_open, temperature 0.7, sample 1");
    lleval_sb_reset(&sb);
    b.dataset = "squad";
    b.temperature = "0";
    b.sample = 0;
    d = lleval_items_id_diff(&a, &b);
    assert_int_equal(d, LLEVAL_ITEMS_ID_DATASET | LLEVAL_ITEMS_ID_PROMPT | LLEVAL_ITEMS_ID_TEMP |
                            LLEVAL_ITEMS_ID_SAMPLE);
    lleval_items_id_common(&sb, &a, d);
    assert_string_equal(sb.buf, "");
    lleval_sb_release(&sb);
}

/* One row written by hand-made JSON: every byte escaped as JSON wants it,
 * bad UTF-8 as U+FFFD, secrets redacted; the CSV redacts too. */
static void test_json_row_escaping(void **state)
{
    const char *gold[] = {"a\"b\\c", "\x01\x7f"};
    struct lleval_item_row r;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    json_error_t jerr;
    json_t *o;
    (void)state;
    memset(&r, 0, sizeof(r));
    r.custom_id = "d:i:p:t0.7:s2";
    r.dataset = "d";
    r.item_id = "i";
    r.type = "closed_book";
    r.prompt_type = "p";
    r.temperature = "0.7";
    r.sample = 2;
    r.ok = true;
    r.question = "q\n\t\r\x1b[2J\xE2\x80\xAE";
    r.gold = gold;
    r.n_gold = 2;
    r.prediction = "bad \xff\xfe utf-8, key sk-secret-0123456789";
    r.answer = "x";
    r.finish_reason = "stop";
    r.error = "";
    r.em = 0;
    r.f1 = 0.25;
    r.contains = 1;
    r.latency_ms = 812.4;
    r.prompt_tokens = 41;
    r.completion_tokens = -1;
    lleval_redact_add("sk-secret-0123456789");
    lleval_items_json_row(&sb, &r);
    assert_int_equal(sb.buf[sb.len - 1], '\n');
    assert_null(memchr(sb.buf, '\n', sb.len - 1)); /* one line */
    assert_null(strchr(sb.buf, '\x1b'));
    o = json_loads(sb.buf, 0, &jerr);
    if (!o)
        print_error("%s: %s\n", sb.buf, jerr.text);
    assert_non_null(o);
    assert_string_equal(lleval_json_str(o, "question"), "q\n\t\r\x1b[2J\xE2\x80\xAE");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "gold_answers"), 0)),
                        "a\"b\\c");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "gold_answers"), 1)),
                        "\x01\x7f");
    assert_string_equal(lleval_json_str(o, "prediction"),
                        "bad " LLEVAL_UTF8_REPLACEMENT LLEVAL_UTF8_REPLACEMENT
                        " utf-8, key " LLEVAL_REDACTED);
    assert_true(json_number_value(json_object_get(o, "temperature")) == 0.7);
    assert_int_equal(json_integer_value(json_object_get(o, "sample")), 2);
    assert_true(json_number_value(json_object_get(o, "f1")) == 0.25);
    assert_true(json_number_value(json_object_get(o, "latency_ms")) == 812.4);
    assert_true(json_is_null(json_object_get(o, "completion_tokens")));
    assert_true(json_is_null(json_object_get(o, "choices")));
    json_decref(o);
    lleval_sb_reset(&sb);
    lleval_items_csv_row(&sb, &r);
    assert_null(strstr(sb.buf, "sk-secret"));
    assert_non_null(strstr(sb.buf, LLEVAL_REDACTED));
    lleval_redact_clear();
    lleval_sb_release(&sb);
}

/* ---- the fast reader's numbers ---------------------------------------------- */

struct nums {
    double v[7]; /* em, f1, contains, latency_ms, sample, prompt_tokens, completion_tokens */
    int rows, resets;
};

static int keep_nums(const struct lleval_item_row *r, void *ud)
{
    struct nums *n = ud;
    n->v[0] = r->em;
    n->v[1] = r->f1;
    n->v[2] = r->contains;
    n->v[3] = r->latency_ms;
    n->v[4] = (double)r->sample;
    n->v[5] = (double)r->prompt_tokens;
    n->v[6] = (double)r->completion_tokens;
    n->rows++;
    return 0;
}

static void reset_nums(void *ud)
{
    struct nums *n = ud;
    memset(n->v, 0, sizeof(n->v));
    n->rows = 0;
    n->resets++;
}

/* The fast reader (items_scan.c) reads plain numbers without strtod: every
 * number field gives the double jansson's reader gives, bit for bit (the sign
 * of zero included), for plain forms, forms the scanner reads itself (an
 * exponent, 16 or more digits) and damaged ones (both fail alike). */
static void test_fast_numbers(void **state)
{
    static const struct {
        const char *num;
        bool plain; /* the fast reader reads the line without giving up */
        bool valid;
    } cases[] = {
        {"0", true, true},
        {"-0", true, true},
        {"-0.0", true, true},
        {"0.3", true, true},
        {"0.1", true, true},
        {"46.5", true, true},
        {"-1.25", true, true},
        {"0.6666666666666666", true, true},  /* 16 digits: the scanner's strtod */
        {"0.66666666666666663", true, true}, /* 17 */
        {"123456789012345", true, true},     /* 15 digits */
        {"1234567890123456", true, true},    /* 16 */
        {"99999999999999.9", true, true},
        {"9007199254740993", true, true},
        {"0.000000000000001", true, true},
        {"1e3", true, true},
        {"1.5E-7", true, true},
        {"2.5e+2", true, true},
        {"12345.678901234", true, true},
        {"01", false, false},
        {"-", false, false},
        {"1.", false, false},
        {".5", false, false},
        {"1.5e", false, false},
        {"-01.5", false, false},
        {"1.5x", false, false},
        {"--1", false, false},
    };
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        const char *x = cases[i].num;
        char *line = lleval_xasprintf(
            "{\"custom_id\":\"ds:q1:direct:t0:s0\",\"dataset\":\"ds\",\"item_id\":\"q1\","
            "\"sample\":%s,\"status\":\"ok\",\"em\":%s,\"f1\":%s,\"contains\":%s,"
            "\"correct\":true,\"latency_ms\":%s,\"prompt_tokens\":%s,\"completion_tokens\":%s}"
            "\n",
            x, x, x, x, x, x, x);
        char *path = tu_write(dir, "items.jsonl", line);
        struct nums slow, fast;
        struct lleval_err e1 = LLEVAL_ERR_INIT, e2 = LLEVAL_ERR_INIT;
        int rc1, rc2;
        print_message("number %s\n", x);
        memset(&slow, 0, sizeof(slow));
        memset(&fast, 0, sizeof(fast));
        rc1 = lleval_items_each(path, keep_nums, &slow, &e1);
        rc2 = lleval_items_each_fast(path, keep_nums, reset_nums, &fast, &e2);
        assert_int_equal(rc1 == 0, cases[i].valid);
        assert_int_equal(rc2, rc1);
        assert_int_equal(fast.rows, slow.rows);
        if (cases[i].plain)
            assert_int_equal(fast.resets, 0);
        for (int k = 0; k < 7; k++)
            assert_memory_equal(&fast.v[k], &slow.v[k], sizeof(double));
        free(path);
        free(line);
    }
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_read_jsonl),
        cmocka_unit_test(test_jsonl_nulls),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json_row_escaping),
        cmocka_unit_test(test_atomic),
        cmocka_unit_test(test_reader_errors),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_query_fast_fallback),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_fit_columns),
        cmocka_unit_test(test_fit_cell),
        cmocka_unit_test(test_fit_cell_tail),
        cmocka_unit_test(test_short_ids),
        cmocka_unit_test(test_latency_text),
        cmocka_unit_test(test_fast_numbers),
        cmocka_unit_test(test_rows_one_pass),
        cmocka_unit_test(test_json_strings_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
