/*
 * lleval run (the guide's run_all): the whole pipeline with the guide's flags,
 * a progress line during poll, and a summary at the end.
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

struct progress_ui {
    struct cli_ctx *ctx;
    bool live;            /* one updating line on a terminal */
    double last_plain;    /* last periodic line otherwise */
    size_t last_width;
    bool quiet;
};

void cli_install_stop_handlers(void)
{
    lleval_install_stop_handlers();
}

static void clear_live(struct progress_ui *ui)
{
    if (ui->live && ui->last_width) {
        fprintf(stderr, "\r%*s\r", (int)ui->last_width, "");
        ui->last_width = 0;
    }
}

static void on_event(void *ud, const char *msg)
{
    struct progress_ui *ui = ud;
    if (ui->quiet)
        return;
    clear_live(ui);
    cli_info(ui->ctx, "%s", msg);
}

static void on_warning(void *ud, const char *msg)
{
    struct progress_ui *ui = ud;
    clear_live(ui);
    cli_warn(ui->ctx, "%s", msg);
}

static void on_progress(void *ud, const struct lleval_progress *p)
{
    struct progress_ui *ui = ud;
    struct lleval_sb line = LLEVAL_SB_INIT;
    char eta[32];
    double now = lleval_monotonic();

    if (ui->quiet)
        return;
    if (!ui->live && now - ui->last_plain < 10.0 && p->answered < p->total)
        return;
    ui->last_plain = now;
    cli_fmt_duration(eta, sizeof(eta), p->eta_s);
    lleval_sb_addf(&line, "poll %zu/%zu", p->answered, p->total);
    if (p->total)
        lleval_sb_addf(&line, " (%.0f%%)", 100.0 * (double)p->answered / (double)p->total);
    lleval_sb_addf(&line, "  %.1f req/s  %.1f tok/s  eta %s  retries %zu  errors %zu  in flight %zu",
                   p->rps, p->gen_tps, eta, p->sched->retries, p->errors, p->sched->in_flight);
    if (p->n_trials > 1 && p->n_trials <= 4)
        for (size_t t = 0; t < p->n_trials; t++)
            lleval_sb_addf(&line, "  %s %zu/%zu", p->trial_names[t], p->trial_done[t],
                           p->trial_total[t]);
    if (ui->live) {
        size_t w = line.len;
        fprintf(stderr, "\r%s", line.buf);
        if (w < ui->last_width)
            fprintf(stderr, "%*s", (int)(ui->last_width - w), "");
        ui->last_width = w;
        fflush(stderr);
    } else {
        fprintf(stderr, "%s: %s\n", ui->ctx->prog, line.buf);
    }
    lleval_sb_release(&line);
}

int cli_run_and_report(struct cli_ctx *ctx, struct lleval_config *cfg,
                       const struct lleval_run_opts *ro_in, bool json, bool quiet)
{
    struct lleval_run_opts ro = *ro_in;
    struct progress_ui ui = {ctx, ctx->tty_err, 0, 0, quiet};
    struct lleval_run_result res;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc, status;
    double t0 = lleval_monotonic();

    ro.on_event = on_event;
    ro.on_progress = on_progress;
    ro.on_warning = on_warning;
    ro.ud = &ui;
    cli_install_stop_handlers();
    rc = lleval_run_execute(cfg, &ro, &res, &err);
    clear_live(&ui);
    status = lleval_exit_code(rc);

    if (res.parsed && lleval_parse_mismatch(&res.parse))
        cli_print_parse_report(ctx, &res.parse, stderr);
    if (json) {
        json_t *j = json_pack("{s:s?, s:s?, s:s, s:i, s:I, s:I, s:I, s:s?}", "run_id", res.run_id,
                              "run_dir", res.run_dir, "last_step",
                              lleval_step_name(res.last_step), "exit_status", status,
                              "requests", (json_int_t)res.requests, "answered",
                              (json_int_t)res.answered, "failed", (json_int_t)res.failed,
                              "scores", res.scores_path);
        if (rc)
            json_object_set_new(j, "error", json_string(err.msg));
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(j);
    } else if (res.summary) {
        fputs(res.summary, stdout);
    }
    if (rc)
        cli_error_lib(ctx, &err);
    if (res.run_id && !json) {
        char took[32];
        cli_fmt_duration(took, sizeof(took), lleval_monotonic() - t0);
        if (rc == LLEVAL_EINTR || rc == LLEVAL_EENGINE)
            cli_info(ctx, "run %s stopped after %s; resume with `lleval runs resume %s`",
                     res.run_id, took, res.run_id);
        else
            cli_info(ctx, "run %s: %s after %s (%zu requests, %zu failed) in %s", res.run_id,
                     rc && rc != LLEVAL_EFAIL ? "failed" : "finished", took, res.requests,
                     res.failed, res.run_dir);
    }
    lleval_run_result_release(&res);
    return status;
}

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
