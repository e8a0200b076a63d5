/*
 * lleval import RUN_ID FILE: puts the results of a batch service (an OpenAI
 * batch output file) into a run's journals (lib/run/import.c) and prints
 * what it did: imported (ok, failed), duplicates, unknown custom_ids.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
#include "lleval/run/import.h"
#include "lleval/run/rundir.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static void print_json(const char *id, const char *file, const struct lleval_import_stats *s)
{
    json_t *j =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:b}", "run_id", id,
                  "file", file, "lines", (json_int_t)s->lines, "imported", (json_int_t)s->imported,
                  "ok", (json_int_t)s->ok, "failed", (json_int_t)s->failed, "duplicates",
                  (json_int_t)s->duplicates, "unknown", (json_int_t)s->unknown, "first_duplicate",
                  s->first_duplicate ? json_string(s->first_duplicate) : json_null(),
                  "first_unknown", s->first_unknown ? json_string(s->first_unknown) : json_null(),
                  "requests", (json_int_t)s->requests, "answered", (json_int_t)s->answered,
                  "complete", s->requests && s->answered >= s->requests);
    char *text = json_dumps(j, JSON_COMPACT);
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(j);
}

static void print_text(const char *id, const struct lleval_import_stats *s)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    printf("imported %zu (%zu ok, %zu failed), duplicates %zu, unknown %zu\n", s->imported, s->ok,
           s->failed, s->duplicates, s->unknown);
    if (s->first_duplicate)
        printf("  duplicate: %s (already answered or repeated in the file: not written again)\n",
               cli_safe(&sb, s->first_duplicate));
    if (s->first_unknown)
        printf("  unknown: %s (not a request of run %s: not written)\n",
               cli_safe(&sb, s->first_unknown), id);
    printf("run %s: %zu of %zu requests answered; ", id, s->answered, s->requests);
    if (s->requests && s->answered >= s->requests)
        printf("parse, score and report it with `lleval runs resume %s`\n", id);
    else
        printf("`lleval runs resume %s` asks the %zu left and scores the run\n", id,
               s->requests - s->answered);
    lleval_sb_release(&sb);
}

int cmd_import(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *runs_dir = "runs";
    bool json = false;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_import_stats st;
    int npos, rc;
    const struct cli_option opts[] = {
        {"runs-dir", 0, CLI_OPT_STRING, &runs_dir, "DIR", "where the runs are (default runs)", NULL,
         0, 0},
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the counts as one JSON object", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval import RUN_ID FILE [--runs-dir DIR] [--json]";
    static const char desc[] =
        "Imports FILE, results a batch service produced from the run's batch files\n"
        "(<run>/batches/<dataset>/t<temp>/part-NNN.jsonl: a provider's batch console,\n"
        "vLLM's run-batch), in the OpenAI batch output format (one JSON object a line, in\n"
        "any order), into the run's result journals, as the poll step would have written\n"
        "them. The whole file is checked first: a malformed line is an error naming\n"
        "FILE:LINE, and then nothing is imported. A custom_id the run already has a result\n"
        "for, or one repeated in the file, is a duplicate; one that is not a request of\n"
        "the run is unknown: both are counted and never written. A line with an error\n"
        "(or a non-2xx status) is recorded as a failed request, like the poll step's.\n"
        "Then `lleval runs resume RUN_ID` asks only the requests still missing, and\n"
        "parses, scores and reports the run. The run must not be running (its lock).\n"
        "Exit status: 0 when every line was imported or a duplicate, 1 when some\n"
        "custom_ids were unknown (the others are imported), 2 on a malformed file.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 2) {
        cli_error(ctx, "give a run id and a file; see 'lleval import --help'");
        return 2;
    }
    if (!lleval_run_id_valid(argv[1])) {
        cli_error(ctx, "invalid run id '%s': use letters, digits, '_', '-' and '.' only", argv[1]);
        return 2;
    }
    lleval_import_stats_init(&st);
    rc = lleval_import_results(runs_dir, argv[1], argv[2], &st, &err);
    if (rc) {
        lleval_import_stats_release(&st);
        return cli_error_lib(ctx, &err);
    }
    if (json)
        print_json(argv[1], argv[2], &st);
    else
        print_text(argv[1], &st);
    if (st.unknown)
        cli_warn(ctx, "%zu line%s of '%s' had custom_ids that are not requests of run %s",
                 st.unknown, st.unknown == 1 ? "" : "s", argv[2], argv[1]);
    rc = st.unknown ? 1 : 0;
    lleval_import_stats_release(&st);
    return rc;
}
