/*
 * lleval smoke (the guide's smoke_orchestration): runs the whole pipeline on
 * n items per dataset in a temporary run, checks every artifact, and deletes
 * the run unless --keep.
 */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/run/run.h"
#include "lleval/run/verify.h"
#include "lleval/util/util.h"

struct checks {
    struct cli_table *t;
    int failed;
};

static void on_check(void *ud, bool ok, const char *what, const char *detail)
{
    struct checks *c = ud;
    cli_table_row(c->t, ok ? "ok" : "FAIL", what, detail);
    if (!ok)
        c->failed++;
}

int cmd_smoke(int argc, char **argv, struct cli_ctx *ctx)
{
    struct cli_cfg_flags cf = CLI_CFG_FLAGS_INIT;
    struct lleval_config cfg;
    struct lleval_run_opts ro;
    struct lleval_run_result res;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct checks c = {0};
    long n = 3;
    bool keep = false;
    char *tmp_root = NULL;
    int npos, rc, status;
    const struct cli_option opts[] = {
        {"n", 'n', CLI_OPT_LONG, &n, "N", "items per dataset (default 3)", NULL, 1, 100000},
        {"keep", 0, CLI_OPT_BOOL, &keep, NULL, "keep the smoke run's directory", NULL, 0, 0},
        {"dry-run", 0, CLI_OPT_BOOL, &cf.dry_run, NULL, "use the dry engine (no model)", NULL, 0,
         0},
        CLI_CFG_OPTIONS(&cf),
        CLI_OPT_END_MARK,
    };
    static const char usage[] =
        "lleval smoke [--n N] [--prompt_set NAME] [--keep] [--config FILE] [--dry-run]";
    static const char desc[] =
        "Runs the whole pipeline on N items per dataset in a temporary run (its own prepared\n"
        "data and runs directory under runs/.smoke-*), checks every artifact, and deletes it\n"
        "unless --keep. Exits 0 when every check passes.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'; see 'lleval smoke --help'", argv[1]);
        return 2;
    }
    cf.check_datasets = true; /* a missing dataset is the config's error, named before any run */
    if ((rc = cli_cfg_resolve(ctx, &cf, &cfg)) != CLI_CONTINUE)
        return rc;
    cfg.limit_items = n;
    if (!cfg.n_datasets) {
        cli_error(ctx, "no datasets configured: pass --config FILE with a 'datasets:' list "
                       "(see examples/eval_config.yaml)");
        lleval_config_release(&cfg);
        return 2;
    }
    /* a private prepared dir and runs dir, so the smoke test touches nothing of the user's */
    if (lleval_mkdirs(cfg.runs_dir, &err)) {
        lleval_config_release(&cfg);
        return cli_error_lib(ctx, &err);
    }
    {
        char stamp[64];
        snprintf(stamp, sizeof(stamp), ".smoke-%ld-%ld", lleval_getpid(), (long)lleval_now());
        tmp_root = lleval_path_join(cfg.runs_dir, stamp);
    }
    free(cfg.prepared_dir);
    cfg.prepared_dir = lleval_path_join(tmp_root, "prepared");
    free(cfg.runs_dir);
    cfg.runs_dir = lleval_path_join(tmp_root, "runs");

    lleval_run_opts_init(&ro);
    cli_install_stop_handlers();
    rc = lleval_run_execute(&cfg, &ro, &res, &err);
    c.t = cli_table_new(3);
    cli_table_header(c.t, "check", "artifact", "detail");
    on_check(&c, rc == 0 || rc == LLEVAL_EFAIL, "pipeline",
             rc == 0 ? "prepare -> report completed" : err.msg);
    if (res.run_dir)
        lleval_run_verify(res.run_dir, -1, on_check, &c);
    printf("smoke run %s (%ld items per dataset, prompt set %s, engine %s)\n",
           res.run_id ? res.run_id : "?", n, cfg.prompt_set, lleval_engine_kind_name(cfg.engine));
    cli_table_print(c.t, stdout, ctx);
    if (res.summary)
        fputs(res.summary, stdout);
    status = c.failed ? 1 : 0;
    if (rc && rc != LLEVAL_EFAIL)
        status = lleval_exit_code(rc);
    if (c.failed)
        cli_error(ctx, "%d smoke check%s failed", c.failed, c.failed == 1 ? "" : "s");
    else
        printf("all %s checks passed\n", "smoke");
    if (keep)
        printf("kept: %s\n", res.run_dir ? res.run_dir : tmp_root);
    else if (lleval_remove_tree(tmp_root, &err))
        cli_warn(ctx, "%s", err.msg);
    cli_table_free(c.t);
    lleval_run_result_release(&res);
    lleval_config_release(&cfg);
    free(tmp_root);
    return status;
}
