/* lleval doctor RUN_ID: the guide's decision tree applied to a real run. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/doctor/doctor.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/run/run.h"
#include "lleval/util/util.h"

int cmd_doctor(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *runs_dir = "runs", *gguf = NULL, *vram = NULL;
    bool json = false;
    struct lleval_doctor_opts o = {0};
    struct lleval_doctor_report rep;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb safe = LLEVAL_SB_INIT;
    char *dir;
    int npos, rc;
    const struct cli_option opts[] = {
        {"runs-dir", 0, CLI_OPT_STRING, &runs_dir, "DIR", "where the runs are (default runs)", NULL,
         0, 0},
        {"model-gguf", 0, CLI_OPT_STRING, &gguf, "FILE",
         "the model's GGUF file, for exact memory numbers (default: the run's launch.model)", NULL,
         0, 0},
        {"vram", 0, CLI_OPT_STRING, &vram, "SIZE",
         "the card's memory when telemetry did not record it, e.g. 16GiB", NULL, 0, 0},
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the diagnosis as JSON", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval doctor RUN_ID [--runs-dir DIR] [--json]";
    static const char desc[] =
        "Diagnoses a run with the guide's decision tree: out-of-memory errors (also those that\n"
        "retries absorbed), slow generation, low GPU utilization, length truncation, connection\n"
        "failures (with the engine's address and the commands to check it), a managed server's\n"
        "crashes and restarts, a wrong endpoint or model (HTTP 404), requests over the context\n"
        "window, empty answers whose tokens went to reasoning, unreadable multiple-choice\n"
        "letters, result/request mismatches, high temperature and memory near the limit. Each\n"
        "finding cites its evidence and lists the fixes in the guide's order of preference as\n"
        "config edits (docs/doctor.md lists the rules). Exits 0 when the run is healthy, 1 when\n"
        "there are findings.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 1) {
        cli_error(ctx, "give one run id; see 'lleval doctor --help'");
        return 2;
    }
    if (vram && lleval_parse_size(vram, &o.vram_bytes)) {
        cli_error(ctx, "--vram wants a size like 16GiB or 8000MiB, not '%s'", vram);
        return 2;
    }
    o.model_gguf = gguf;
    dir = lleval_run_dir(runs_dir, argv[1], &err);
    if (!dir)
        return cli_error_lib(ctx, &err);
    if (!lleval_is_dir(dir)) {
        cli_error(ctx, "no run '%s' in '%s': see `lleval runs list`", argv[1], runs_dir);
        free(dir);
        return 2;
    }
    rc = lleval_doctor_examine(dir, &o, &rep, &err);
    free(dir);
    if (rc)
        return cli_error_lib(ctx, &err);
    if (json) {
        json_t *j = lleval_doctor_report_json(&rep);
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(j);
    } else if (!rep.n_findings) {
        printf("%srun %s looks healthy%s: no finding of the guide's decision tree applies\n",
               cli_green(ctx), cli_safe(&safe, rep.run_id), cli_reset(ctx));
    } else {
        /* evidence quotes engine error texts: printed sanitized */
        printf("run %s: %zu finding%s\n", cli_safe(&safe, rep.run_id), rep.n_findings,
               rep.n_findings == 1 ? "" : "s");
        for (size_t i = 0; i < rep.n_findings; i++) {
            const struct lleval_finding *f = &rep.findings[i];
            printf("\n%s%zu. %s%s [%s]\n", cli_bold(ctx), i + 1, cli_safe(&safe, f->title),
                   cli_reset(ctx), lleval_finding_name(f->kind));
            for (size_t k = 0; k < f->n_evidence; k++)
                printf("   evidence: %s\n", cli_safe(&safe, f->evidence[k]));
            if (f->n_fixes)
                printf("   fixes, in order of preference:\n");
            for (size_t k = 0; k < f->n_fixes; k++)
                printf("     %zu) %s\n", k + 1, cli_safe(&safe, f->fixes[k]));
        }
    }
    lleval_sb_release(&safe);
    rc = rep.n_findings ? 1 : 0;
    lleval_doctor_report_release(&rep);
    return rc;
}
