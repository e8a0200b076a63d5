/* Unit tests for parse: reconciliation of answers with requests (missing, unknown and
 * duplicate custom_ids, per part), damaged lines named by line number, the rows written, the
 * items' types. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/engine/engine.h"
#include "lleval/result/result.h"
#include "lleval/run/batch.h"
#include "lleval/run/parse.h"
#include "lleval/score/predictions.h"
#include "lleval/util/util.h"

/* Two parts of requests: ds/t0 part 1 asks q1..q3, part 2 asks q4..q5. */
static char *make_batches(const char *dir)
{
    char *batches = lleval_xasprintf("%s/batches", dir);
    char *p;
    p = tu_write(batches, "build.json",
                 "{\"total_requests\": 5, \"parts\": ["
                 "{\"dataset\": \"ds\", \"temperature\": 0, \"part\": 1, "
                 "\"path\": \"ds/t0/part-001.jsonl\", \"requests\": 3},"
                 "{\"dataset\": \"ds\", \"temperature\": 0, \"part\": 2, "
                 "\"path\": \"ds/t0/part-002.jsonl\", \"requests\": 2}]}\n");
    free(p);
    p = tu_write(batches, "ds/t0/part-001.jsonl",
                 "{\"custom_id\":\"ds:q1:direct:t0:s0\",\"body\":{\"max_tokens\":8}}\n"
                 "{\"custom_id\":\"ds:q2:direct:t0:s0\",\"body\":{\"max_tokens\":8}}\n"
                 "{\"custom_id\":\"ds:q3:direct:t0:s0\",\"body\":{\"max_tokens\":8}}\n");
    free(p);
    p = tu_write(batches, "ds/t0/part-002.jsonl",
                 "{\"custom_id\":\"ds:q4:direct:t0:s0\",\"body\":{\"max_tokens\":8}}\n"
                 "{\"custom_id\":\"ds:q5:direct:t0:s0\",\"body\":{\"max_tokens\":8}}\n");
    free(p);
    return batches;
}

/* A result line as the scheduler writes it: "ok:<cid>" answers, "err:<cid>" fails,
 * anything else is written verbatim. */
static void add_line(struct lleval_sb *sb, const char *spec)
{
    if (!strncmp(spec, "ok:", 3) || !strncmp(spec, "err:", 4)) {
        bool ok = spec[0] == 'o';
        const char *cid = spec + (ok ? 3 : 4);
        struct lleval_answer a;
        json_t *line;
        char *text;
        lleval_answer_init(&a);
        a.content = lleval_xasprintf("answer to %s", cid);
        a.prompt_tokens = 10;
        a.completion_tokens = 3;
        a.gen_tps = 30;
        line = lleval_result_line(cid, "dry", ok ? &a : NULL, ok ? 200 : 500, "http_error",
                                  "server said no", 12.5, 1);
        text = json_dumps(line, JSON_COMPACT);
        lleval_sb_adds(sb, text);
        free(text);
        json_decref(line);
        lleval_answer_release(&a);
    } else {
        lleval_sb_adds(sb, spec);
    }
    lleval_sb_addch(sb, '\n');
}

struct parse_case {
    const char *name;
    const char *lines[10];
    bool reconcile;
    size_t lines_read, rows, missing, duplicates, unknown, malformed, non200;
    const char *missing_ids[4], *duplicate_ids[2], *unknown_ids[3];
    long malformed_lines[4];
    long part_results[2];
};

static const struct parse_case cases[] = {
    {"all answered once",
     {"ok:ds:q1:direct:t0:s0", "ok:ds:q2:direct:t0:s0", "ok:ds:q3:direct:t0:s0",
      "ok:ds:q4:direct:t0:s0", "err:ds:q5:direct:t0:s0"},
     true,
     5,
     5,
     0,
     0,
     0,
     0,
     1,
     {NULL},
     {NULL},
     {NULL},
     {0},
     {3, 2}},
    {"missing in both parts, in batch order",
     {"ok:ds:q2:direct:t0:s0", "ok:ds:q5:direct:t0:s0"},
     true,
     2,
     2,
     3,
     0,
     0,
     0,
     0,
     {"ds:q1:direct:t0:s0", "ds:q3:direct:t0:s0", "ds:q4:direct:t0:s0"},
     {NULL},
     {NULL},
     {0},
     {1, 1}},
    {"duplicate: the first answer counts",
     {"ok:ds:q1:direct:t0:s0", "err:ds:q1:direct:t0:s0", "ok:ds:q2:direct:t0:s0",
      "ok:ds:q3:direct:t0:s0", "ok:ds:q4:direct:t0:s0", "ok:ds:q5:direct:t0:s0"},
     true,
     6,
     5,
     0,
     1,
     0,
     0,
     0,
     {NULL},
     {"ds:q1:direct:t0:s0"},
     {NULL},
     {0},
     {3, 2}},
    {"unknown: no such request, and an undecodable id",
     {"ok:ds:q1:direct:t0:s0", "ok:ds:q9:direct:t0:s0", "ok:not-a-custom-id",
      "ok:ds:q9:direct:t0:s0"},
     true,
     4,
     1,
     4,
     1,
     2,
     0,
     0,
     {"ds:q2:direct:t0:s0", "ds:q3:direct:t0:s0", "ds:q4:direct:t0:s0", "ds:q5:direct:t0:s0"},
     {"ds:q9:direct:t0:s0"},
     {"ds:q9:direct:t0:s0", "not-a-custom-id"},
     {0},
     {1, 0}},
    {"damaged lines are named by line number",
     {"ok:ds:q1:direct:t0:s0", "{\"custom_id\": 7}", "not json", "", "[\"ds:q2:direct:t0:s0\"]",
      "ok:ds:q2:direct:t0:s0", "{\"custom_id\":\"ds:q3:direct:t0:s0\""},
     true,
     7,
     2,
     3,
     0,
     0,
     4,
     0,
     {"ds:q3:direct:t0:s0", "ds:q4:direct:t0:s0", "ds:q5:direct:t0:s0"},
     {NULL},
     {NULL},
     {2, 3, 5, 7},
     {2, 0}},
    {"without batches only duplicates and undecodable ids count",
     {"ok:ds:q1:direct:t0:s0", "ok:ds:q9:direct:t0:s0", "ok:ds:q9:direct:t0:s0", "ok:bad"},
     false,
     4,
     2,
     0,
     1,
     1,
     0,
     0,
     {NULL},
     {"ds:q9:direct:t0:s0"},
     {"bad"},
     {0},
     {0, 0}},
};

static size_t count(const char *const *list, size_t max)
{
    size_t n = 0;
    while (n < max && list[n])
        n++;
    return n;
}

static void test_reconciliation_cases(void **state)
{
    char *dir = tu_tmpdir();
    char *batches = make_batches(dir);
    (void)state;

    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        const struct parse_case *c = &cases[i];
        struct lleval_sb sb = LLEVAL_SB_INIT;
        struct lleval_parse_report rep;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *results, *csv = lleval_xasprintf("%s/predictions-%zu.csv", dir, i);
        size_t n;

        print_message("case %s\n", c->name);
        for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(c->lines) && c->lines[k]; k++)
            add_line(&sb, c->lines[k]);
        results = tu_write(dir, "results.jsonl", sb.buf);
        assert_int_equal(
            lleval_parse_results(results, c->reconcile ? batches : NULL, NULL, csv, &rep, &err), 0);
        assert_int_equal(rep.reconciled, c->reconcile);
        assert_int_equal(rep.requests, c->reconcile ? 5 : 0);
        assert_int_equal(rep.lines, c->lines_read);
        assert_int_equal(rep.rows, c->rows);
        assert_int_equal(rep.missing, c->missing);
        assert_int_equal(rep.duplicates, c->duplicates);
        assert_int_equal(rep.unknown, c->unknown);
        assert_int_equal(rep.malformed, c->malformed);
        assert_int_equal(rep.non200, c->non200);
        assert_int_equal(lleval_parse_mismatch(&rep),
                         c->missing || c->duplicates || c->unknown || c->malformed);
        n = count(c->missing_ids, LLEVAL_ARRAY_SIZE(c->missing_ids));
        assert_int_equal(rep.n_missing_ids, n);
        for (size_t k = 0; k < n; k++)
            assert_string_equal(rep.missing_ids[k], c->missing_ids[k]);
        n = count(c->duplicate_ids, LLEVAL_ARRAY_SIZE(c->duplicate_ids));
        assert_int_equal(rep.n_duplicate_ids, n);
        for (size_t k = 0; k < n; k++)
            assert_string_equal(rep.duplicate_ids[k], c->duplicate_ids[k]);
        n = count(c->unknown_ids, LLEVAL_ARRAY_SIZE(c->unknown_ids));
        assert_int_equal(rep.n_unknown_ids, n);
        for (size_t k = 0; k < n; k++)
            assert_string_equal(rep.unknown_ids[k], c->unknown_ids[k]);
        assert_int_equal(rep.n_malformed_lines, c->malformed);
        for (size_t k = 0; k < rep.n_malformed_lines; k++)
            assert_int_equal(rep.malformed_lines[k], c->malformed_lines[k]);
        if (c->reconcile) {
            assert_int_equal(rep.n_parts, 2);
            assert_string_equal(rep.parts[0].name, "ds/t0/part-001");
            assert_int_equal(rep.parts[0].requests, 3);
            assert_int_equal(rep.parts[1].requests, 2);
            assert_int_equal(rep.parts[0].results, c->part_results[0]);
            assert_int_equal(rep.parts[1].results, c->part_results[1]);
        }
        lleval_parse_report_release(&rep);
        lleval_sb_release(&sb);
        free(results);
        free(csv);
    }
    tu_rmtree(dir);
    free(batches);
    free(dir);
}

/* The rows: one per first answer, in the results' order, errors with their message. */
static void test_rows_written(void **state)
{
    char *dir = tu_tmpdir();
    char *batches = make_batches(dir);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_parse_report rep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_pred_reader rd;
    struct lleval_pred_row row;
    char *results, *csv = lleval_xasprintf("%s/p.csv", dir);
    (void)state;

    add_line(&sb, "ok:ds:q2:direct:t0:s0");
    add_line(&sb, "err:ds:q1:direct:t0:s0");
    add_line(&sb, "ok:ds:q1:direct:t0:s0");
    /* a foreign line: no lleval facts, tokens from usage, no status means an error row */
    add_line(&sb, "{\"custom_id\":\"ds:q3:direct:t0:s0\",\"response\":{\"body\":{\"choices\":[{"
                  "\"message\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],\"usage\":{"
                  "\"prompt_tokens\":4,\"completion_tokens\":1}}}}");
    results = tu_write(dir, "results.jsonl", sb.buf);
    assert_int_equal(lleval_parse_results(results, batches, NULL, csv, &rep, &err), 0);
    assert_int_equal(rep.rows, 3);
    assert_int_equal(lleval_pred_open(&rd, csv, 0, 0, &err), 0);
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 1);
    assert_string_equal(row.custom_id, "ds:q2:direct:t0:s0");
    assert_string_equal(row.item_id, "q2");
    assert_string_equal(row.temperature, "0");
    assert_string_equal(row.status, "ok");
    assert_string_equal(row.prediction, "answer to ds:q2:direct:t0:s0");
    assert_string_equal(row.latency_ms, "12.5");
    assert_string_equal(row.prompt_tokens, "10");
    assert_string_equal(row.gen_tps, "30.0");
    assert_string_equal(row.error, "");
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 1);
    assert_string_equal(row.custom_id, "ds:q1:direct:t0:s0");
    assert_string_equal(row.status, "error");
    assert_string_equal(row.finish_reason, "error");
    assert_string_equal(row.prediction, "");
    assert_string_equal(row.error, "server said no");
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 1);
    assert_string_equal(row.custom_id, "ds:q3:direct:t0:s0");
    assert_string_equal(row.status, "error");
    assert_string_equal(row.error, "HTTP 0");
    assert_string_equal(row.prompt_tokens, "4");
    assert_string_equal(row.latency_ms, "");
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 0);
    lleval_pred_close(&rd);
    lleval_parse_report_release(&rep);
    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(results);
    free(batches);
    free(csv);
    free(dir);
}

/* The reconciliation on its own: strict for parse, lenient for doctor. */
/* The type column comes from the prepared items: the last item with an id
 * (an id given twice), none for an item the dataset lacks, none at all for a
 * dataset whose prepared file is damaged or missing. */
static void test_item_types(void **state)
{
    char *dir = tu_tmpdir();
    char *batches = make_batches(dir);
    char *prep = lleval_xasprintf("%s/prep", dir);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_parse_report rep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_pred_reader rd;
    struct lleval_pred_row row;
    const char *want[][2] = {
        {"ds:q1:direct:t0:s0", "open_book"}, {"ds:q2:direct:t0:s0", "multiple_choice"},
        {"ds:q3:direct:t0:s0", ""},          {"ds:q4:direct:t0:s0", "closed_book"},
        {"bad:q1:direct:t0:s0", ""},         {"gone:q1:direct:t0:s0", ""},
    };
    char *results, *csv = lleval_xasprintf("%s/p.csv", dir), *p;
    (void)state;

    p = tu_write(prep, "ds.jsonl",
                 "{\"id\":\"q1\",\"dataset\":\"ds\",\"type\":\"open_book\",\"question\":\"a?\","
                 "\"context\":\"c\",\"answers\":[\"x\"]}\n"
                 "{\"id\":\"q2\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"b?\","
                 "\"answers\":[\"y\"]}\n"
                 "{\"id\":\"q4\",\"dataset\":\"ds\",\"type\":\"closed_book\",\"question\":\"d?\","
                 "\"answers\":[\"z\"]}\n"
                 "{\"id\":\"q2\",\"dataset\":\"ds\",\"type\":\"multiple_choice\",\"question\":"
                 "\"b again?\",\"choices\":[\"1\",\"2\"],\"answers\":[\"A\"]}\n");
    free(p);
    p = tu_write(prep, "ds.info.json", "{\"dataset\":\"ds\",\"items\":4}\n");
    free(p);
    p = tu_write(prep, "bad.jsonl",
                 "{\"id\":\"q1\",\"dataset\":\"bad\",\"type\":\"closed_book\",\"question\":\"a?\","
                 "\"answers\":[\"x\"]}\n{\"id\":\n");
    free(p);
    p = tu_write(prep, "bad.info.json", "{\"dataset\":\"bad\",\"items\":2}\n");
    free(p);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char *spec = lleval_xasprintf("ok:%s", want[i][0]);
        add_line(&sb, spec);
        free(spec);
    }
    results = tu_write(dir, "results.jsonl", sb.buf);
    assert_int_equal(lleval_parse_results(results, NULL, prep, csv, &rep, &err), 0);
    assert_int_equal(rep.rows, 6);
    assert_int_equal(lleval_pred_open(&rd, csv, 0, 0, &err), 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(lleval_pred_next(&rd, &row, &err), 1);
        assert_string_equal(row.custom_id, want[i][0]);
        assert_string_equal(row.type, want[i][1]);
    }
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 0);
    lleval_pred_close(&rd);
    lleval_parse_report_release(&rep);
    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(results);
    free(batches);
    free(prep);
    free(csv);
    free(dir);
}

static void test_reconcile_strict_and_lenient(void **state)
{
    char *dir = tu_tmpdir();
    char *batches = make_batches(dir);
    char *bad = tu_write(batches, "ds/t0/part-001.jsonl",
                         "{\"custom_id\":\"ds:q1:direct:t0:s0\"}\n{\"body\":{}}\n");
    char *gone = lleval_xasprintf("%s/ds/t0/part-002.jsonl", batches);
    struct lleval_parse_report rep;
    struct lleval_reconcile *rc;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_cid cid;
    (void)state;

    memset(&rep, 0, sizeof(rep));
    assert_int_equal(lleval_reconcile_new(&rc, batches, 0, &rep, &err), LLEVAL_EIO);
    assert_null(rc);
    tu_assert_contains(err.msg, "part-001.jsonl:2: request line without a custom_id; restore");
    lleval_parse_report_release(&rep);

    /* a batch written by lleval and damaged since is exit 4 with the line: a
     * duplicated request, or fewer requests than build.json says */
    free(tu_write(batches, "ds/t0/part-001.jsonl",
                  "{\"custom_id\":\"ds:q1:direct:t0:s0\"}\n{\"custom_id\":\"ds:q2:direct:t0:s0\"}\n"
                  "{\"custom_id\":\"ds:q1:direct:t0:s0\"}\n"));
    memset(&rep, 0, sizeof(rep));
    assert_int_equal(lleval_reconcile_new(&rc, batches, 0, &rep, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "part-001.jsonl:3: custom_id 'ds:q1:direct:t0:s0' appears twice");
    lleval_parse_report_release(&rep);
    free(tu_write(batches, "ds/t0/part-001.jsonl", "{\"custom_id\":\"ds:q1:direct:t0:s0\"}\n"));
    memset(&rep, 0, sizeof(rep));
    assert_int_equal(lleval_reconcile_new(&rc, batches, 0, &rep, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "part-001.jsonl: 1 requests, build.json says 3; restore");
    lleval_parse_report_release(&rep);
    free(tu_write(batches, "ds/t0/part-001.jsonl",
                  "{\"custom_id\":\"ds:q1:direct:t0:s0\"}\n{\"body\":{}}\n"));

    remove(gone);
    assert_int_equal(lleval_reconcile_new(&rc, batches, LLEVAL_RECON_LENIENT, &rep, &err), 0);
    assert_int_equal(rep.requests, 1);
    assert_int_equal(lleval_reconcile_add(rc, "ds:q1:direct:t0:s0", &cid), LLEVAL_RECON_NEW);
    assert_string_equal(cid.item_id, "q1");
    assert_int_equal(cid.sample, 0); /* borrowed from rc: not released */
    assert_int_equal(lleval_reconcile_add(rc, "ds:q1:direct:t0:s0", &cid), LLEVAL_RECON_DUPLICATE);
    assert_int_equal(lleval_reconcile_add(rc, "ds:q4:direct:t0:s0", NULL), LLEVAL_RECON_UNKNOWN);
    lleval_reconcile_finish(rc);
    assert_int_equal(rep.missing, 0);
    assert_int_equal(rep.duplicates, 1);
    assert_int_equal(rep.unknown, 1);
    lleval_reconcile_free(rc);
    lleval_reconcile_free(NULL);
    lleval_parse_report_release(&rep);
    tu_rmtree(dir);
    free(bad);
    free(gone);
    free(batches);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconciliation_cases),
        cmocka_unit_test(test_rows_written),
        cmocka_unit_test(test_item_types),
        cmocka_unit_test(test_reconcile_strict_and_lenient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
