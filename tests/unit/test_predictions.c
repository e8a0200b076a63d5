/* Unit tests for predictions.csv: the column table, writer -> reader round trips with
 * commas, quotes, newlines and UTF-8, the writer's bytes, and the reader's header rules. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/score/predictions.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"

/* docs/formats.md's header, in order. */
static const char *const doc_header[] = {
    "custom_id",         "dataset",     "item_id",    "type",
    "prompt_type",       "temperature", "sample",     "status",
    "finish_reason",     "prediction",  "latency_ms", "prompt_tokens",
    "completion_tokens", "gen_tps",     "attempts",   "error",
};

static void test_column_table(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    (void)state;
    assert_int_equal(LLEVAL_PRED_NCOLS, LLEVAL_ARRAY_SIZE(doc_header));
    for (int c = 0; c < LLEVAL_PRED_NCOLS; c++)
        assert_string_equal(lleval_pred_col_name(c), doc_header[c]);
    assert_null(lleval_pred_col_name(LLEVAL_PRED_NCOLS));
    assert_null(lleval_pred_col_name((enum lleval_pred_col) - 1));
    lleval_pred_write_header(&sb);
    assert_string_equal(sb.buf, "custom_id,dataset,item_id,type,prompt_type,temperature,sample,"
                                "status,finish_reason,prediction,latency_ms,prompt_tokens,"
                                "completion_tokens,gen_tps,attempts,error\r\n");
    lleval_sb_release(&sb);
}

static struct lleval_pred_record record(const char *cid, const char *pred, const char *err)
{
    struct lleval_pred_record r = {
        .custom_id = cid,
        .dataset = "ds",
        .item_id = "it-1",
        .type = "closed_book",
        .prompt_type = "direct",
        .temperature = "0.7",
        .sample = 2,
        .ok = err == NULL,
        .finish_reason = err ? "error" : "stop",
        .prediction = pred,
        .latency_ms = 812.44,
        .prompt_tokens = 41,
        .completion_tokens = 7,
        .gen_tps = 21.25,
        .attempts = 1,
        .error = err,
    };
    return r;
}

/* The bytes parse has always written for one row. */
static void test_writer_bytes(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_pred_record r = record("ds:it-1:direct:t0.7:s2", "Paris, \"France\"", NULL);
    (void)state;

    lleval_pred_write_row(&sb, &r);
    assert_string_equal(sb.buf, "ds:it-1:direct:t0.7:s2,ds,it-1,closed_book,direct,0.7,2,ok,stop,"
                                "\"Paris, \"\"France\"\"\",812.4,41,7,21.2,1,\r\n");
    lleval_sb_reset(&sb);
    /* absent facts are empty cells; NULL strings too */
    r = record("c", NULL, "HTTP 500");
    r.type = NULL;
    r.latency_ms = NAN;
    r.prompt_tokens = -1;
    r.completion_tokens = -1;
    r.gen_tps = NAN;
    r.attempts = -1;
    r.sample = 0;
    lleval_pred_write_row(&sb, &r);
    assert_string_equal(sb.buf, "c,ds,it-1,,direct,0.7,0,error,error,,,,,,,HTTP 500\r\n");
    lleval_sb_release(&sb);
}

/* The integer cells (sample, the token counts, attempts) hold what
 * snprintf's "%ld"/"%lld" writes, at the ends of their ranges too. */
static void test_writer_integers(void **state)
{
    static const long long vals[] = {0,        1,         9,         10,           99,
                                     100,      -1,        -9,        -10,          123456789,
                                     1L << 30, LLONG_MAX, LLONG_MIN, LLONG_MIN + 1};
    (void)state;
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        struct lleval_pred_record r = record("c", "p", NULL);
        char want[256], n[32];
        long long v = vals[i];
        r.sample = v >= LONG_MIN && v <= LONG_MAX ? (long)v : 0;
        r.prompt_tokens = v;
        r.completion_tokens = v;
        r.attempts = v;
        snprintf(n, sizeof n, "%lld", v >= 0 ? v : 0);
        snprintf(want, sizeof want,
                 "c,ds,it-1,closed_book,direct,0.7,%ld,ok,stop,p,812.4,%s,%s,21.2,%s,\r\n",
                 r.sample, v >= 0 ? n : "", v >= 0 ? n : "", v >= 0 ? n : "");
        lleval_pred_write_row(&sb, &r);
        assert_string_equal(sb.buf, want);
        lleval_sb_release(&sb);
    }
    { /* a registered secret that a number spells is redacted there too */
        struct lleval_sb sb = LLEVAL_SB_INIT;
        struct lleval_pred_record r = record("c", "p", NULL);
        r.sample = 123456789;
        r.prompt_tokens = 123456789;
        r.latency_ms = 123456789.04;
        lleval_redact_add("123456789");
        lleval_pred_write_row(&sb, &r);
        lleval_redact_clear();
        assert_string_equal(sb.buf, "c,ds,it-1,closed_book,direct,0.7,[redacted],ok,stop,p,"
                                    "[redacted].0,[redacted],7,21.2,1,\r\n");
        lleval_sb_release(&sb);
    }
}

struct trip_case {
    const char *name;
    const char *prediction;
    const char *error;
};

static const struct trip_case trip_cases[] = {
    {"plain", "Paris", NULL},
    {"comma", "Paris, France", NULL},
    {"quotes", "he said \"yes\"", NULL},
    {"newlines", "line one\nline two\r\nline three\r", NULL},
    {"utf-8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac", NULL},
    {"formula-looking", "=SUM(A1:A2)", NULL},
    {"empty", "", NULL},
    {"error with all of it", "", "engine said: \"out of memory\",\nretry, \xc3\xa9"},
};

static void test_round_trip(void **state)
{
    char *dir = tu_tmpdir();
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_pred_reader rd;
    struct lleval_pred_row row;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path;
    char cids[LLEVAL_ARRAY_SIZE(trip_cases)][32];
    (void)state;

    lleval_pred_write_header(&sb);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(trip_cases); i++) {
        struct lleval_pred_record r;
        snprintf(cids[i], sizeof(cids[i]), "ds:it-%zu:direct:t0.7:s2", i);
        r = record(cids[i], trip_cases[i].prediction, trip_cases[i].error);
        lleval_pred_write_row(&sb, &r);
    }
    path = tu_write(dir, "predictions.csv", sb.buf);
    assert_int_equal(lleval_pred_open(&rd, path, LLEVAL_PRED_BIT(LLEVAL_PRED_CUSTOM_ID), 0, &err),
                     0);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(trip_cases); i++) {
        const struct trip_case *c = &trip_cases[i];
        print_message("case %s\n", c->name);
        assert_int_equal(lleval_pred_next(&rd, &row, &err), 1);
        assert_string_equal(row.custom_id, cids[i]);
        assert_string_equal(row.dataset, "ds");
        assert_string_equal(row.item_id, "it-1");
        assert_string_equal(row.type, "closed_book");
        assert_string_equal(row.prompt_type, "direct");
        assert_string_equal(row.temperature, "0.7");
        assert_string_equal(row.sample, "2");
        assert_string_equal(row.status, c->error ? "error" : "ok");
        assert_string_equal(row.finish_reason, c->error ? "error" : "stop");
        assert_string_equal(row.prediction, c->prediction);
        assert_string_equal(row.latency_ms, "812.4");
        assert_string_equal(row.prompt_tokens, "41");
        assert_string_equal(row.completion_tokens, "7");
        assert_string_equal(row.gen_tps, "21.2");
        assert_string_equal(row.attempts, "1");
        assert_string_equal(row.error, c->error ? c->error : "");
    }
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 0);
    lleval_pred_close(&rd);
    lleval_pred_close(&rd); /* twice is harmless */
    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

/* The spreadsheet guard: text cells that a spreadsheet would run as a
 * formula get one leading quote, and so do cells that start with a quote;
 * numeric cells never do. */
static void test_writer_guard_bytes(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_pred_record r = record("+cid", "=cmd|' /C calc'!A0", "-1 @x");
    (void)state;
    r.dataset = "@ds";
    r.item_id = "'quoted";
    r.type = "\tt";
    r.prompt_type = "\rp";
    r.finish_reason = "=HYPERLINK(\"http://evil\")";
    lleval_pred_write_row(&sb, &r);
    assert_string_equal(sb.buf, "'+cid,'@ds,''quoted,'\tt,\"'\rp\",0.7,2,error,"
                                "\"'=HYPERLINK(\"\"http://evil\"\")\",'=cmd|' /C calc'!A0,812.4,"
                                "41,7,21.2,1,'-1 @x\r\n");
    lleval_sb_release(&sb);
}

/* Any value, whatever its first character, reads back exactly from every
 * text column, and no text cell in the file starts as a formula would. */
static void test_guard_round_trip(void **state)
{
    static const char *const tails[] = {"", "x", "=1+1", ",\"q\"\r\n'", "\xc3\xa9"};
    static const char *const extra[] = {
        "",
        "'",
        "''",
        "'=1",
        "=",
        "-",
        "+",
        "@",
        "\t",
        "\r",
        "\n",
        "\r\n=1",
        "\"",
        "\"=1\"",
        " =1",
        "\xef\xbb\xbf=1",
        "\xe2\x80\xae=1",
        "\xef\xbc\x9d"
        "1",
        "-1",
        "-0.5e3",
        "=cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
    };
    enum { N_LEAD = 255, N_TAIL = LLEVAL_ARRAY_SIZE(tails), N_EXTRA = LLEVAL_ARRAY_SIZE(extra) };
    char *dir = tu_tmpdir();
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char **vals = lleval_xcalloc(N_LEAD * N_TAIL + N_EXTRA, sizeof(*vals));
    size_t n = 0;
    struct lleval_pred_reader rd;
    struct lleval_csv_reader raw;
    struct lleval_pred_row row;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path;
    (void)state;

    for (int b = 1; b <= N_LEAD; b++)
        for (size_t t = 0; t < N_TAIL; t++)
            vals[n++] = lleval_xasprintf("%c%s", b, tails[t]);
    for (size_t e = 0; e < N_EXTRA; e++)
        vals[n++] = lleval_xstrdup(extra[e]);

    lleval_pred_write_header(&sb);
    for (size_t i = 0; i < n; i++) {
        struct lleval_pred_record r = record(vals[i], vals[i], vals[i]);
        r.dataset = r.item_id = r.type = r.prompt_type = r.finish_reason = vals[i];
        lleval_pred_write_row(&sb, &r);
    }
    path = tu_write(dir, "predictions.csv", sb.buf);

    assert_int_equal(lleval_pred_open(&rd, path, 0, 0, &err), 0);
    for (size_t i = 0; i < n; i++) {
        const char *v = vals[i];
        const char *got[8];
        if (lleval_pred_next(&rd, &row, &err) != 1)
            fail_msg("value %zu: %s", i, err.msg);
        got[0] = row.custom_id, got[1] = row.dataset, got[2] = row.item_id, got[3] = row.type;
        got[4] = row.prompt_type, got[5] = row.finish_reason, got[6] = row.prediction;
        got[7] = row.error;
        for (size_t c = 0; c < LLEVAL_ARRAY_SIZE(got); c++)
            if (strcmp(got[c], v))
                fail_msg("value %zu column %zu: wrote \"%s\", read \"%s\"", i, c, v, got[c]);
        assert_string_equal(row.status, "error");
        assert_string_equal(row.temperature, "0.7");
        assert_string_equal(row.latency_ms, "812.4");
    }
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 0);
    lleval_pred_close(&rd);

    /* the file as a spreadsheet sees it: no text cell starts a formula */
    assert_int_equal(lleval_csv_open(&raw, path, &err), 0);
    assert_int_equal(lleval_csv_next(&raw, &err), 1); /* the header */
    while (lleval_csv_next(&raw, &err) == 1)
        for (size_t f = 0; f < raw.n_fields; f++)
            if (raw.fields[f][0] && strchr("=+-@\t\r", raw.fields[f][0]))
                fail_msg("line %ld field %zu starts a formula: \"%s\"", raw.line, f, raw.fields[f]);
    lleval_csv_close(&raw);

    for (size_t i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

/* Columns are found by name: another order, fewer columns, blank lines. */
static void test_reader_by_name(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "p.csv",
                          "prediction,custom_id,extra,dataset,item_id\r\n"
                          "\"a,b\",id1,x,ds,i1\r\n"
                          "\r\n"
                          "c,id2,y,ds,i2\n");
    struct lleval_pred_reader rd;
    struct lleval_pred_row row;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    assert_int_equal(lleval_pred_open(&rd, path,
                                      LLEVAL_PRED_BIT(LLEVAL_PRED_CUSTOM_ID) |
                                          LLEVAL_PRED_BIT(LLEVAL_PRED_PREDICTION),
                                      0, &err),
                     0);
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 1);
    assert_string_equal(row.custom_id, "id1");
    assert_string_equal(row.prediction, "a,b");
    assert_string_equal(row.dataset, "ds");
    assert_string_equal(row.status, "");
    assert_string_equal(row.gen_tps, "");
    assert_int_equal(row.line, 2);
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 1);
    assert_string_equal(row.custom_id, "id2");
    assert_int_equal(row.line, 4);
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 0);
    lleval_pred_close(&rd);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

struct bad_case {
    const char *name;
    const char *content;
    unsigned flags;
    int open_rc;
    const char *want; /* in the message of open, or of the first failing next */
    int rows;         /* rows read before the end (when open and next succeed) */
};

static const struct bad_case bad_cases[] = {
    {"empty file", "", 0, LLEVAL_EINVAL, "empty file: a predictions.csv starts with a header row",
     0},
    {"missing required column", "custom_id,dataset,prediction\r\n", 0, LLEVAL_EINVAL,
     ":1: not a predictions.csv header: no column 'item_id'", 0},
    {"ragged row", "custom_id,dataset,item_id,prediction\r\na,b,c,d\r\na,b,c\r\n", 0, 0,
     ":3: the row has 3 fields but the header has 4; the file is damaged", 1},
    {"ragged row skipped", "custom_id,dataset,item_id,prediction\r\na,b,c\r\na,b,c,d\r\n",
     LLEVAL_PRED_SKIP_RAGGED, 0, NULL, 1},
    {"bad quoting", "custom_id,dataset,item_id,prediction\r\na,b,c,\"d\r\n", 0, 0, "", 0},
#define CELLS(row) "custom_id,dataset,item_id,prediction,latency_ms,gen_tps,sample\r\n" row
    /* LLEVAL_PRED_CHECK_CELLS (the scorer): numbers in numeric columns, UTF-8 everywhere */
    {"empty numeric cells (unknown)", CELLS("a,b,c,d,,,\r\na,b,c,d,12.5,3,0\r\n"),
     LLEVAL_PRED_CHECK_CELLS, 0, NULL, 2},
    {"12x", CELLS("a,b,c,d,1,2,0\r\na,b,c,d,12x,2,0\r\n"), LLEVAL_PRED_CHECK_CELLS, 0,
     ":3: column 'latency_ms': '12x' is not a finite number", 1},
    {"nan", CELLS("a,b,c,d,1,nan,0\r\n"), LLEVAL_PRED_CHECK_CELLS, 0,
     ":2: column 'gen_tps': 'nan' is not a finite number", 0},
    {"1e999", CELLS("a,b,c,d,1e999,1,0\r\n"), LLEVAL_PRED_CHECK_CELLS, 0,
     ":2: column 'latency_ms': '1e999' is not a finite number", 0},
    {"inf", CELLS("a,b,c,d,1,1,-inf\r\n"), LLEVAL_PRED_CHECK_CELLS, 0,
     ":2: column 'sample': '-inf' is not a finite number", 0},
    {"space", CELLS("a,b,c,d, 5,1,0\r\n"), LLEVAL_PRED_CHECK_CELLS, 0,
     ":2: column 'latency_ms': ' 5' is not a finite number", 0},
    {"invalid UTF-8 in a text cell", CELLS("a,b,c,ok\xc3\x28,1,1,0\r\n"), LLEVAL_PRED_CHECK_CELLS,
     0, ":2: column 'prediction': invalid UTF-8 at byte 3 of the cell", 0},
    {"invalid UTF-8 in an id", CELLS("a,b\xff,c,d,1,1,0\r\n"), LLEVAL_PRED_CHECK_CELLS, 0,
     ":2: column 'dataset': invalid UTF-8 at byte 2", 0},
    /* the ASCII test goes 8 bytes at a time: a bad byte in a block and after whole blocks */
    {"invalid UTF-8 after 16 ASCII bytes", CELLS("a,b,c,0123456789abcdef\xc3\x28,1,1,0\r\n"),
     LLEVAL_PRED_CHECK_CELLS, 0, ":2: column 'prediction': invalid UTF-8 at byte 17 of the cell",
     0},
    {"invalid UTF-8 inside an 8-byte block",
     CELLS("a,b,c,0123456789\x80"
           "abcdef,1,1,0\r\n"),
     LLEVAL_PRED_CHECK_CELLS, 0, ":2: column 'prediction': invalid UTF-8 at byte 11 of the cell",
     0},
    {"valid UTF-8 in a long cell",
     CELLS("a,b,c,caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xf0\x9f\x98\x80 ok,1,1,0\r\n"),
     LLEVAL_PRED_CHECK_CELLS, 0, NULL, 1},
    {"not checked without the flag", CELLS("a,b\xff,c,d,12x,nan,0\r\n"), 0, 0, NULL, 1},
#undef CELLS
};

static void test_reader_errors(void **state)
{
    unsigned req = LLEVAL_PRED_BIT(LLEVAL_PRED_CUSTOM_ID) | LLEVAL_PRED_BIT(LLEVAL_PRED_DATASET) |
                   LLEVAL_PRED_BIT(LLEVAL_PRED_ITEM_ID) | LLEVAL_PRED_BIT(LLEVAL_PRED_PREDICTION);
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        char *path = tu_write(dir, "p.csv", c->content);
        struct lleval_pred_reader rd;
        struct lleval_pred_row row;
        struct lleval_err err = LLEVAL_ERR_INIT;
        int rc, rows = 0;

        print_message("case %s\n", c->name);
        rc = lleval_pred_open(&rd, path, req, c->flags, &err);
        assert_int_equal(rc, c->open_rc);
        if (!rc) {
            while ((rc = lleval_pred_next(&rd, &row, &err)) == 1)
                rows++;
            assert_int_equal(rows, c->rows);
            if (c->want)
                assert_int_equal(rc, LLEVAL_EINVAL);
            else
                assert_int_equal(rc, 0);
        }
        if (c->want)
            tu_assert_contains(err.msg, c->want);
        lleval_pred_close(&rd);
        free(path);
    }
    tu_rmtree(dir);
    free(dir);
}

/* Inside a run directory lleval wrote the file: a bad cell there is exit 4
 * (a damaged run), in a user's file exit 2. */
static void test_cell_error_in_run_dir(void **state)
{
    char *dir = tu_tmpdir();
    char *path;
    struct lleval_pred_reader rd;
    struct lleval_pred_row row;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    free(tu_write(dir, "config.resolved.yaml", "engine: dry\n"));
    free(tu_write(dir, "manifest.json", "{}"));
    path = tu_write(dir, "results/predictions.csv",
                    "custom_id,dataset,item_id,prediction,latency_ms\r\na,b,c,d,12x\r\n");
    assert_int_equal(lleval_pred_open(&rd, path, 0, LLEVAL_PRED_CHECK_CELLS, &err), 0);
    assert_int_equal(lleval_pred_next(&rd, &row, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "predictions.csv:2: column 'latency_ms': '12x'");
    lleval_pred_close(&rd);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

/* lleval_pred_fmt_tenths writes what printf's "%.1f" writes. */
static void test_fmt_tenths(void **state)
{
    static const double odd[] = {0.05,
                                 0.25,
                                 0.75,
                                 2.25,
                                 2.35,
                                 0.15,
                                 1e13 + 0.25,
                                 1e13 + 0.75,
                                 99999999999999.95,
                                 1e-300,
                                 4.9406564584124654e-324,
                                 0.95,
                                 9.95,
                                 1234.45,
                                 0.04999999999999999,
                                 123.0,
                                 8.5e13};
    char a[64], b[64];
    uint64_t x = 88172645463325252ULL;
    (void)state;
    for (long k = 0; k < 3000000; k++) {
        double v;
        if (k < (long)(sizeof(odd) / sizeof(odd[0]))) {
            v = odd[k];
        } else if (k % 3 == 0) { /* ties and near-ties: quarters and eighths */
            v = (double)(k / 3) / 8.0;
        } else { /* random doubles of every magnitude below 1e14 */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v = (double)(x >> 11) * 0x1.0p-53 * pow(10.0, (double)(k % 19) - 4);
        }
        snprintf(a, sizeof(a), "%.1f", v);
        size_t n = lleval_pred_fmt_tenths(b, v);
        if (!n)
            continue;
        assert_int_equal(n, strlen(b));
        if (strcmp(a, b))
            fail_msg("%.17g: %s, printf %s", v, b, a);
    }
    assert_int_equal(lleval_pred_fmt_tenths(b, 0.0), 0);
    assert_int_equal(lleval_pred_fmt_tenths(b, -1.5), 0);
    assert_int_equal(lleval_pred_fmt_tenths(b, 1e14), 0);
    assert_int_equal(lleval_pred_fmt_tenths(b, NAN), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_column_table),     cmocka_unit_test(test_writer_bytes),
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_reader_by_name),
        cmocka_unit_test(test_reader_errors),    cmocka_unit_test(test_writer_guard_bytes),
        cmocka_unit_test(test_guard_round_trip), cmocka_unit_test(test_cell_error_in_run_dir),
        cmocka_unit_test(test_fmt_tenths),       cmocka_unit_test(test_writer_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
