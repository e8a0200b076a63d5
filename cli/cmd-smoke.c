/*
 * lleval smoke (the guide's smoke_orchestration): runs the whole pipeline on
 * n items per dataset in a temporary run, checks every artifact, and deletes
 * the run unless --keep.
 */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/run/batch.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/run/run.h"
#include "lleval/run/rundir.h"
#include "lleval/score/predictions.h"
#include "lleval/util/util.h"

struct checks {
    struct cli_table *t;
    int failed;
};

static void check(struct checks *c, bool ok, const char *what, const char *fmt, ...)
    LLEVAL_PRINTF(4, 5);
static void check(struct checks *c, bool ok, const char *what, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    cli_table_row(c->t, ok ? "ok" : "FAIL", what, detail);
    if (!ok)
        c->failed++;
}

static long count_lines(const char *path)
{
    struct lleval_lines lr;
    long n = 0;
    if (lleval_lines_open(&lr, path, NULL))
        return -1;
    while (lleval_lines_next(&lr, NULL) > 0)
        n++;
    lleval_lines_close(&lr);
    return n;
}

/* predictions.csv's records: its rows + the header (a prediction may span
 * lines), -1 when it cannot be read. */
static long count_records(const char *path)
{
    struct lleval_pred_reader rd;
    struct lleval_pred_row row;
    long n = 1;
    int more;
    if (lleval_pred_open(&rd, path, 0, 0, NULL))
        return -1;
    while ((more = lleval_pred_next(&rd, &row, NULL)) > 0)
        n++;
    lleval_pred_close(&rd);
    return more < 0 ? -1 : n;
}

/* path relative to the run directory, for the table */
static const char *rel_to(const char *run_dir, const char *path)
{
    size_t n = strlen(run_dir);
    return !strncmp(path, run_dir, n) && path[n] == '/' ? path + n + 1 : path;
}

static void check_json(struct checks *c, const char *dir, enum lleval_run_file f)
{
    char *path = lleval_run_file_path(dir, f);
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j = lleval_json_load_file(path, &err);
    check(c, j != NULL, lleval_run_file_rel(f), "%s", j ? "valid JSON" : err.msg);
    json_decref(j);
    free(path);
}

static void check_manifest(struct checks *c, const char *run_dir)
{
    struct lleval_manifest m;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc = lleval_manifest_load(run_dir, &m, &err);
    check(c, rc == 0, lleval_run_file_rel(LLEVAL_RUN_FILE_MANIFEST), "%s",
          rc == 0 ? "valid JSON" : err.msg);
    if (rc == 0) {
        check(c, m.status == LLEVAL_RUN_DONE, "manifest status", "%s",
              m.status != LLEVAL_RUN_UNKNOWN ? lleval_run_status_name(m.status) : "(none)");
        check(c, m.n_trials > 0 && m.trials[0].jobs_total > 0, "manifest job_counts", "%zu trials",
              m.n_trials);
    }
    lleval_manifest_release(&m);
}

static void check_part(struct checks *c, const char *run_dir, const struct lleval_part_info *pi)
{
    char *state = lleval_run_state_path(run_dir, pi->dataset, pi->temp, pi->index);
    char *journal = lleval_run_journal_path(run_dir, pi->dataset, pi->temp, pi->index);
    struct lleval_part_state st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    bool read = lleval_part_state_load(state, &st, &err) == 0;
    long n = count_lines(journal);

    check(c, read && st.status == LLEVAL_RUN_DONE, rel_to(run_dir, state), "status %s",
          read && st.status != LLEVAL_RUN_UNKNOWN ? lleval_run_status_name(st.status)
                                                  : "(missing)");
    check(c, n == pi->requests, rel_to(run_dir, journal), "%ld results for %ld requests", n,
          pi->requests);
    lleval_part_state_release(&st);
    free(state);
    free(journal);
}

static void check_artifacts(struct checks *c, const char *run_dir, long expected_rows)
{
    struct lleval_build_result br;
    char *batches = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_BATCHES);
    char *p;
    long total = 0;

    p = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_CONFIG);
    check(c, lleval_path_exists(p), lleval_run_file_rel(LLEVAL_RUN_FILE_CONFIG), "%s", p);
    free(p);
    check_manifest(c, run_dir);
    if (lleval_build_load(batches, &br, NULL) == 0) {
        for (size_t i = 0; i < br.n_parts; i++) {
            check_part(c, run_dir, &br.parts[i]);
            total += br.parts[i].requests;
        }
        check(c, total == expected_rows || expected_rows < 0, "batches",
              "%ld requests in %zu parts", total, br.n_parts);
        lleval_build_result_release(&br);
    } else {
        check(c, false, lleval_run_file_rel(LLEVAL_RUN_FILE_BUILD), "missing");
    }
    p = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_COMBINED);
    {
        long n = count_lines(p);
        check(c, n == total, "results_combined.jsonl", "%ld lines", n);
    }
    free(p);
    p = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_PREDICTIONS);
    {
        long n = count_records(p);
        check(c, n == total + 1, "predictions.csv", "%ld rows + header", n - 1);
    }
    free(p);
    check_json(c, run_dir, LLEVAL_RUN_FILE_SCORES);
    p = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_LOCK);
    check(c, !lleval_path_exists(p), "lock released", "%s", lleval_path_exists(p) ? p : "no lock");
    free(p);
    free(batches);
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
    check(&c, rc == 0 || rc == LLEVAL_EFAIL, "pipeline", "%s",
          rc == 0 ? "prepare -> report completed" : err.msg);
    if (res.run_dir)
        check_artifacts(&c, res.run_dir, -1);
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
