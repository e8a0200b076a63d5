/*
 * lleval parse (the guide's parse_results): results JSONL -> predictions.csv,
 * reconciled against the batch request files.
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/run/parse.h"
#include "lleval/run/rundir.h"
#include "lleval/util/util.h"

static json_t *ids_json(char *const *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(ids[i]));
    return a;
}

int cmd_parse(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *results = NULL, *out_csv = NULL, *batches = NULL, *prepared = NULL;
    bool json = false, no_reconcile = false;
    struct lleval_parse_report rep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *auto_batches = NULL;
    int npos, rc;
    const struct cli_option opts[] = {
        {"results-jsonl", 0, CLI_OPT_STRING, &results, "FILE",
         "results file (e.g. runs/<id>/results/results_combined.jsonl)", NULL, 0, 0},
        {"out-csv", 0, CLI_OPT_STRING, &out_csv, "FILE", "predictions CSV to write", NULL, 0, 0},
        {"batches-dir", 0, CLI_OPT_STRING, &batches, "DIR",
         "batch files to reconcile against (default: the run's, when the results are in a run)",
         NULL, 0, 0},
        {"prepared-dir", 0, CLI_OPT_STRING, &prepared, "DIR",
         "prepared datasets, to fill the type column", NULL, 0, 0},
        {"no-reconcile", 0, CLI_OPT_BOOL, &no_reconcile, NULL,
         "do not compare with the batch files", NULL, 0, 0},
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the reconciliation report as JSON", NULL, 0,
         0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] =
        "lleval parse --results-jsonl FILE --out-csv FILE [--batches-dir DIR]";
    static const char desc[] =
        "Turns a results JSONL into predictions.csv and reconciles it with the requests:\n"
        "counts per part, missing / duplicate / unknown custom_ids, non-200 responses.\n"
        "Exits 1 when results and requests do not match one to one.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos || !results || !out_csv) {
        cli_error(ctx, "%s; see 'lleval parse --help'",
                  npos ? "unexpected argument" : "--results-jsonl and --out-csv are required");
        return 2;
    }
    if (!batches && !no_reconcile) {
        /* <run>/results/results_combined.jsonl -> <run>/batches */
        char *dir = lleval_path_dirname(results);
        char *run = lleval_path_dirname(dir);
        char *cand = lleval_run_file_path(run, LLEVAL_RUN_FILE_BATCHES);
        char *bj = lleval_run_file_path(run, LLEVAL_RUN_FILE_BUILD);
        if (lleval_path_exists(bj))
            batches = auto_batches = cand;
        else
            free(cand);
        free(bj);
        free(dir);
        free(run);
    }
    rc =
        lleval_parse_results(results, no_reconcile ? NULL : batches, prepared, out_csv, &rep, &err);
    free(auto_batches);
    if (rc)
        return cli_error_lib(ctx, &err);
    if (json) {
        json_t *j = json_pack(
            "{s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:b}", "lines",
            (json_int_t)rep.lines, "rows", (json_int_t)rep.rows, "reconciled", rep.reconciled,
            "requests", (json_int_t)rep.requests, "missing", (json_int_t)rep.missing, "duplicates",
            (json_int_t)rep.duplicates, "unknown", (json_int_t)rep.unknown, "malformed",
            (json_int_t)rep.malformed, "non200", (json_int_t)rep.non200, "missing_ids",
            ids_json(rep.missing_ids, rep.n_missing_ids), "duplicate_ids",
            ids_json(rep.duplicate_ids, rep.n_duplicate_ids), "unknown_ids",
            ids_json(rep.unknown_ids, rep.n_unknown_ids), "non200_ids",
            ids_json(rep.non200_ids, rep.n_non200_ids), "mismatch", lleval_parse_mismatch(&rep));
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        cli_print_parse_report(ctx, &rep, stdout);
        printf("wrote %zu rows to %s\n", rep.rows, out_csv);
    }
    rc = lleval_parse_mismatch(&rep) ? 1 : 0;
    if (rc && !json)
        cli_error(ctx, "results and requests do not match (see the report above)");
    lleval_parse_report_release(&rep);
    return rc;
}
