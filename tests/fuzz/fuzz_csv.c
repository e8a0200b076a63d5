/*
 * libFuzzer target for the CSV reader (lib/util/csv.c) and the
 * predictions.csv reader on top of it (lib/score/predictions.c). Every record
 * read is written again with the CSV writer and must read back field for
 * field (a record the reader accepts survives a round trip); text fields are
 * also read without their spreadsheet guard.
 */
#include "fuzz_common.h"
#include "lleval/score/predictions.h"
#include "lleval/util/csv.h"
#include "lleval/util/redact.h"

#define MAX_RECORDS 4096

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_dir();
    return 0;
}

/* Reads path; appends each record (written again) to out when it is not NULL,
 * or compares each with the records in want. Returns the records read. */
static size_t read_all(const char *path, struct lleval_sb *out, char ***want, size_t *n_want)
{
    struct lleval_csv_reader r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t records = 0, k = 0;
    int rc;

    if (lleval_csv_open(&r, path, &err))
        return 0;
    while (records < MAX_RECORDS && (rc = lleval_csv_next(&r, &err)) == 1) {
        FUZZ_CHECK(r.n_fields >= 1, "a record without fields");
        if (out && !lleval_csv_blank(&r)) {
            for (size_t i = 0; i < r.n_fields; i++) {
                lleval_csv_add_field(out, r.fields[i], i == 0);
                /* the writer redacts (a URL's userinfo, "scheme://[redacted]@"):
                 * the round trip reads back what it wrote */
                char *redacted = lleval_redact_dup(r.fields[i]);
                *want = realloc(*want, (*n_want + 1) * sizeof(char *));
                (*want)[(*n_want)++] = redacted ? redacted : strdup(r.fields[i]);
            }
            lleval_csv_end_record(out);
        } else if (!out) {
            for (size_t i = 0; i < r.n_fields; i++, k++) {
                FUZZ_CHECK(k < *n_want, "the round trip has more fields");
                FUZZ_CHECK(!strcmp(r.fields[i], (*want)[k]),
                           "field %zu of line %ld reads '%s' after a round trip, not '%s'", i,
                           r.line, r.fields[i], (*want)[k]);
            }
        }
        for (size_t i = 0; i < r.n_fields; i++)
            fuzz_use(lleval_csv_text_value(r.fields[i]));
        records++;
    }
    if (!out && records < MAX_RECORDS)
        FUZZ_CHECK(k == *n_want, "the round trip has %zu fields, not %zu", k, *n_want);
    fuzz_use(err.msg);
    lleval_csv_close(&r);
    return records;
}

static void predictions(const char *path)
{
    struct lleval_pred_reader r;
    struct lleval_pred_row row;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t rows = 0;
    if (lleval_pred_open(&r, path, 0, LLEVAL_PRED_SKIP_RAGGED, &err)) {
        fuzz_use(err.msg);
        return;
    }
    while (rows++ < MAX_RECORDS && lleval_pred_next(&r, &row, &err) == 1) {
        const char *cols[] = {
            row.custom_id,         row.dataset,     row.item_id,    row.type,
            row.prompt_type,       row.temperature, row.sample,     row.status,
            row.finish_reason,     row.prediction,  row.latency_ms, row.prompt_tokens,
            row.completion_tokens, row.gen_tps,     row.attempts,   row.error};
        for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
            fuzz_use(cols[c]);
    }
    fuzz_use(err.msg);
    lleval_pred_close(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[300], again[300];
    struct lleval_sb out = LLEVAL_SB_INIT;
    char **want = NULL;
    size_t n_want = 0;

    fuzz_path(path, sizeof(path), "in.csv");
    fuzz_path(again, sizeof(again), "again.csv");
    fuzz_write(path, data, size);
    if (read_all(path, &out, &want, &n_want) < MAX_RECORDS) {
        fuzz_write(again, out.buf, out.len);
        read_all(again, NULL, &want, &n_want);
    }
    for (size_t i = 0; i < n_want; i++)
        free(want[i]);
    free(want);
    lleval_sb_release(&out);
    predictions(path);
    return 0;
}
