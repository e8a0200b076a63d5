/*
 * lleval tune: measures the engine's throughput at a rising series of
 * concurrencies on the first requests of a run (max_concurrent_jobs auto,
 * run/tune.h), then stops the run, resumable: the measured requests are
 * journaled results, and `lleval runs resume <id>` finishes the run. Prints
 * the measured curve as an aligned table (or JSON with --json).
 */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/run/rundir.h"
#include "lleval/run/run.h"
#include "lleval/run/tune.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

struct tune_ui {
    struct cli_ctx *ctx;
    bool quiet;
};

static void on_event(void *ud, const char *msg)
{
    struct tune_ui *ui = ud;
    if (!ui->quiet)
        cli_info(ui->ctx, "%s", msg);
}

static void on_warning(void *ud, const char *msg)
{
    struct tune_ui *ui = ud;
    cli_warn(ui->ctx, "%s", msg);
}

/* Reads the run's tune result from its manifest; false when it has none. */
static bool load_tune(const char *run_dir, struct lleval_tune_result *t)
{
    struct lleval_manifest m;
    struct lleval_err err = LLEVAL_ERR_INIT;
    bool ok = false;
    lleval_manifest_init(&m);
    if (!lleval_manifest_load(run_dir, &m, &err) && m.tune)
        ok = lleval_tune_from_json(m.tune, t);
    lleval_manifest_release(&m);
    return ok;
}

static void print_json(const struct lleval_run_result *res, const struct lleval_tune_result *t,
                       bool have, int status, const struct lleval_err *err, int rc)
{
    json_t *j = json_pack("{s:s?, s:s?, s:i, s:I}", "run_id", res->run_id, "run_dir", res->run_dir,
                          "exit_status", status, "answered", (json_int_t)res->answered);
    json_object_set_new(j, "tune", have ? lleval_tune_to_json(t) : json_null());
    if (rc)
        json_object_set_new(j, "error", json_string(err->msg));
    json_dumpf(j, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(j);
}

int cmd_tune(int argc, char **argv, struct cli_ctx *ctx)
{
    struct cli_cfg_flags cf = CLI_CFG_FLAGS_INIT;
    struct lleval_config cfg;
    struct lleval_run_opts ro;
    struct lleval_run_result res;
    struct lleval_tune_result t;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct tune_ui ui = {ctx, false};
    const char *run_id = NULL;
    bool json = false, have;
    int npos, rc, status;
    const struct cli_option opts[] = {
        CLI_CFG_OPTIONS(&cf),
        {"run-id", 0, CLI_OPT_STRING, &run_id, "ID", "name the new run (default run_<utc time>)",
         NULL, 0, 0},
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the run and the measured curve as JSON", NULL,
         0, 0},
        {"quiet", 'q', CLI_OPT_BOOL, &ui.quiet, NULL, "no progress output", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval tune [--config FILE] [options]";
    static const char desc[] =
        "Measures which concurrency serves the configured engine fastest: starts a run\n"
        "(and a managed llama-server, sized by the planner), sends its first requests\n"
        "at 1, 2, 4, ... up to a little above the server's slots, stops when the\n"
        "throughput stops improving, and prints the curve and the pick (the lowest\n"
        "concurrency within 2% of the best). The run then stops, resumable: its\n"
        "measured requests are real results, and `lleval runs resume <id>` finishes it.\n"
        "`max_concurrent_jobs: auto` does the same at the start of every run.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'; see 'lleval tune --help'", argv[1]);
        return 2;
    }
    if (run_id && !lleval_run_id_valid(run_id)) {
        cli_error(ctx,
                  "invalid run id '%s': use letters, digits, '_', '-' and '.' only (like "
                  "run_20240909_123456)",
                  run_id);
        return 2;
    }
    cf.check_datasets = true;
    if ((rc = cli_cfg_resolve(ctx, &cf, &cfg)) != CLI_CONTINUE)
        return rc;
    cfg.max_concurrent_jobs = LLEVAL_JOBS_AUTO; /* whatever the config says: measure */
    lleval_run_opts_init(&ro);
    ro.to_step = LLEVAL_STEP_POLL;
    ro.tune_only = true;
    ro.run_id = run_id;
    ro.on_event = on_event;
    ro.on_warning = on_warning;
    ro.ud = &ui;
    cli_install_stop_handlers();
    rc = lleval_run_execute(&cfg, &ro, &res, &err);
    lleval_tune_result_init(&t);
    have = res.run_dir && load_tune(res.run_dir, &t);
    if (rc == LLEVAL_EINTR && have && t.n_points)
        rc = 0; /* stopped after the measurement, as asked */
    else if (!rc && !have)
        rc = lleval_err_set(&err, LLEVAL_EINVAL,
                            "nothing was measured: every request of the run has a result");
    status = lleval_exit_code(rc);
    if (json) {
        print_json(&res, &t, have, status, &err, rc);
    } else if (have) {
        char *table = lleval_tune_format_table(&t, "");
        cli_print_text(stdout, table);
        free(table);
    }
    if (rc)
        cli_error_lib(ctx, &err);
    else if (!json && res.run_id)
        cli_info(ctx,
                 "run %s holds the %zu measured answers; finish it with `lleval runs resume %s` "
                 "(it measures again), or set max_concurrent_jobs: %ld",
                 res.run_id, res.answered, res.run_id, t.chosen);
    lleval_run_result_release(&res);
    lleval_config_release(&cfg);
    return status;
}
