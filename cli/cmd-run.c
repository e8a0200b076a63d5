/*
 * lleval run (the guide's run_all): the whole pipeline with the guide's flags,
 * a progress line during poll, and a summary at the end (cli/run-ui.c, shared
 * with `runs resume`).
 */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/json.h"
#include "lleval/run/run.h"
#include "lleval/util/util.h"

int cmd_run(int argc, char **argv, struct cli_ctx *ctx)
{
    struct cli_cfg_flags cf = CLI_CFG_FLAGS_INIT;
    struct lleval_config cfg;
    struct lleval_run_opts ro;
    const char *to_step = NULL, *run_id = NULL, *resume = NULL;
    bool skip_prepare = false, skip_build = false, json = false, quiet = false;
    int npos, rc;
    const struct cli_option opts[] = {
        CLI_CFG_OPTIONS(&cf),
        {"to-step", 0, CLI_OPT_STRING, &to_step, "STEP",
         "stop after STEP: prepare, build, submit, poll, parse, score, report", NULL, 0, 0},
        {"dry-run", 0, CLI_OPT_BOOL, &cf.dry_run, NULL,
         "use the dry engine: deterministic answers, no model loaded", NULL, 0, 0},
        {"skip-prepare", 0, CLI_OPT_BOOL, &skip_prepare, NULL,
         "use the datasets already in prepared_dir", NULL, 0, 0},
        {"skip-build", 0, CLI_OPT_BOOL, &skip_build, NULL,
         "use the batches from `lleval build` in batches_dir", NULL, 0, 0},
        {"run-id", 0, CLI_OPT_STRING, &run_id, "ID", "name the new run (default run_<utc time>)",
         NULL, 0, 0},
        {"resume", 0, CLI_OPT_STRING, &resume, "ID",
         "finish a stopped or crashed run with its saved config", NULL, 0, 0},
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the outcome as JSON", NULL, 0, 0},
        {"quiet", 'q', CLI_OPT_BOOL, &quiet, NULL, "no progress output", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval run [--config FILE] [options]";
    static const char desc[] =
        "Runs the pipeline: prepare -> build -> submit -> poll -> parse -> score -> report,\n"
        "in runs/<run_id>/. Every result is journaled as it arrives: after a crash or\n"
        "Ctrl-C, `lleval runs resume <run_id>` finishes the run without asking any\n"
        "request twice.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'; see 'lleval run --help'", argv[1]);
        return 2;
    }
    lleval_run_opts_init(&ro);
    if (to_step && lleval_step_parse(to_step, &ro.to_step)) {
        cli_error(ctx,
                  "unknown step '%s' for --to-step: use prepare, build, submit, poll, parse, "
                  "score or report",
                  to_step);
        return 2;
    }
    if (resume && run_id) {
        cli_error(ctx, "--resume and --run-id both name a run: give one");
        return 2;
    }
    /* a missing dataset is a config error before any run exists, not a failed run */
    cf.check_datasets = !skip_prepare && !resume;
    if ((rc = cli_cfg_resolve(ctx, &cf, &cfg)) != CLI_CONTINUE)
        return rc;
    ro.skip_prepare = skip_prepare;
    ro.skip_build = skip_build;
    ro.run_id = resume ? resume : run_id;
    ro.resume = resume != NULL;
    if (ro.run_id && !lleval_run_id_valid(ro.run_id)) {
        cli_error(ctx,
                  "invalid run id '%s': use letters, digits, '_', '-' and '.' only (like "
                  "run_20240909_123456)",
                  ro.run_id);
        lleval_config_release(&cfg);
        return 2;
    }
    rc = cli_run_and_report(ctx, &cfg, &ro, json, quiet);
    lleval_config_release(&cfg);
    return rc;
}
