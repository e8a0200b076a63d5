/*
 * libFuzzer target for result lines and what reads journals: every line of
 * the input goes through the typed decoder (lleval_result_decode_text) and its
 * custom_id through the id decoder (a decoded id must encode back to itself);
 * then the whole input, as a file, is opened as a journal (torn-tail repair,
 * id loading) and parsed into predictions.csv (lleval_parse_results), which
 * the predictions reader must read back row for row.
 */
#include <jansson.h>
#include "fuzz_common.h"
#include "lleval/result/result.h"
#include "lleval/run/batch.h"
#include "lleval/run/journal.h"
#include "lleval/run/parse.h"
#include "lleval/score/predictions.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_dir();
    return 0;
}

static void decode_line(const char *line, size_t len)
{
    struct lleval_result_view v;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_cid cid;
    json_t *json = NULL;
    char *copy = fuzz_dup((const uint8_t *)line, len);

    lleval_result_decode_text(copy, len, &json, &v, &err);
    fuzz_use(v.custom_id);
    fuzz_use(v.error_code);
    fuzz_use(v.error_message);
    fuzz_use(v.content);
    fuzz_use(v.body_finish);
    fuzz_use(v.finish_reason);
    fuzz_use(v.engine);
    fuzz_use(err.msg);
    FUZZ_CHECK(!v.ok || v.content, "ok without content");
    fuzz_use(lleval_result_custom_id(json));
    (void)lleval_result_failed(json);
    if (v.custom_id && !lleval_cid_decode(v.custom_id, &cid, &err)) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_cid_encode(&sb, cid.dataset, cid.item_id, cid.prompt_type, strtod(cid.temp, NULL),
                          cid.sample);
        FUZZ_CHECK(!strcmp(sb.buf, v.custom_id), "custom_id '%s' encodes back as '%s'", v.custom_id,
                   sb.buf);
        lleval_sb_release(&sb);
        lleval_cid_release(&cid);
    }
    json_decref(json);
    free(copy);
}

static void journal(const char *path)
{
    struct lleval_journal *j = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (!lleval_journal_open(path, &j, &err)) {
        const struct lleval_journal_stats *st = lleval_journal_stats(j);
        FUZZ_CHECK(st->ok <= st->lines, "%zu ok of %zu lines", st->ok, st->lines);
        (void)lleval_journal_has(j, "fuzz-t0-s0-1");
    }
    fuzz_use(err.msg);
    lleval_journal_close(j, NULL);
}

static void parse(const char *path, const char *csv)
{
    struct lleval_parse_report rep;
    struct lleval_pred_reader r;
    struct lleval_pred_row row;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t rows = 0;
    int rc;

    memset(&rep, 0, sizeof(rep));
    if (lleval_parse_results(path, NULL, NULL, csv, &rep, &err)) {
        fuzz_use(err.msg);
        lleval_parse_report_release(&rep);
        return;
    }
    rc = lleval_pred_open(&r, csv, 0, 0, &err);
    FUZZ_CHECK(rc == 0, "predictions.csv from parse does not open: %s", err.msg);
    while ((rc = lleval_pred_next(&r, &row, &err)) == 1) {
        fuzz_use(row.custom_id);
        fuzz_use(row.prediction);
        fuzz_use(row.error);
        rows++;
    }
    FUZZ_CHECK(rc == 0, "predictions.csv from parse does not read: %s", err.msg);
    FUZZ_CHECK(rows == rep.rows, "parse wrote %zu rows, the reader read %zu", rep.rows, rows);
    lleval_pred_close(&r);
    lleval_parse_report_release(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[300], csv[300];
    size_t pos = 0;

    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
        decode_line((const char *)data + pos, n);
        pos += n + 1;
    }
    fuzz_path(path, sizeof(path), "results.jsonl");
    fuzz_path(csv, sizeof(csv), "predictions.csv");
    fuzz_write(path, data, size);
    parse(path, csv);
    journal(path); /* last: it may cut a torn tail */
    return 0;
}
