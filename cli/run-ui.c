/*
 * What the commands that run the pipeline share (run, smoke, runs resume):
 * the stop-signal handlers, the progress line during poll, the outcome of a
 * run (summary or JSON, how to resume), and parse's reconciliation report
 * (also printed by `lleval parse`). Commands call these, never each other.
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/platform/platform.h"
#include "lleval/run/parse.h"
#include "lleval/run/run.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* ---- parse's reconciliation report ---- */

static void print_list(FILE *f, const char *what, size_t total, char *const *ids, size_t n)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    if (!total)
        return;
    fprintf(f, "  %s: %zu", what, total);
    for (size_t i = 0; i < n && i < 5; i++)
        fprintf(f, "%s%s", i ? ", " : " (", cli_safe(&sb, ids[i]));
    lleval_sb_release(&sb);
    if (n)
        fprintf(f, "%s)", total > (n < 5 ? n : 5) ? ", ..." : "");
    fputc('\n', f);
}

void cli_print_parse_report(struct cli_ctx *ctx, const struct lleval_parse_report *rep, FILE *f)
{
    (void)ctx;
    fprintf(f, "reconciliation: %zu result lines, %zu rows", rep->lines, rep->rows);
    if (rep->reconciled)
        fprintf(f, ", %zu requests", rep->requests);
    fputc('\n', f);
    print_list(f, "missing custom_ids (requests without a result)", rep->missing, rep->missing_ids,
               rep->n_missing_ids);
    print_list(f, "duplicate custom_ids (first kept)", rep->duplicates, rep->duplicate_ids,
               rep->n_duplicate_ids);
    print_list(f, "unknown custom_ids (no such request)", rep->unknown, rep->unknown_ids,
               rep->n_unknown_ids);
    print_list(f, "non-200 responses", rep->non200, rep->non200_ids, rep->n_non200_ids);
    if (rep->malformed) {
        fprintf(f, "  malformed lines: %zu (line", rep->malformed);
        for (size_t i = 0; i < rep->n_malformed_lines && i < 5; i++)
            fprintf(f, "%s %ld", i ? "," : "", rep->malformed_lines[i]);
        fprintf(f, "%s)\n", rep->malformed > 5 ? ", ..." : "");
    }
    if (rep->reconciled && rep->n_parts) {
        bool header = false;
        for (size_t i = 0; i < rep->n_parts; i++) {
            if (rep->parts[i].requests == rep->parts[i].results)
                continue;
            if (!header)
                fprintf(f, "  parts whose counts differ:\n");
            header = true;
            fprintf(f, "    %s: %ld requests, %ld results\n", rep->parts[i].name,
                    rep->parts[i].requests, rep->parts[i].results);
        }
    }
    if (lleval_parse_mismatch(rep))
        fprintf(f, "fix: re-run with `lleval runs resume <run_id>` to ask the missing requests; "
                   "check that the engine echoes custom_id; test with --limit_items 10\n");
}

/* ---- running with progress ---- */

struct progress_ui {
    struct cli_ctx *ctx;
    bool live;         /* one updating line on a terminal */
    double last_plain; /* last periodic line otherwise */
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
    lleval_fmt_duration(eta, sizeof(eta), p->eta_s, 0);
    lleval_sb_addf(&line, "poll %zu/%zu", p->answered, p->total);
    if (p->total)
        lleval_sb_addf(&line, " (%.0f%%)", 100.0 * (double)p->answered / (double)p->total);
    lleval_sb_addf(&line,
                   "  %.1f req/s  %.1f tok/s  eta %s  retries %zu  errors %zu  in flight %zu",
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
                              "run_dir", res.run_dir, "last_step", lleval_step_name(res.last_step),
                              "exit_status", status, "requests", (json_int_t)res.requests,
                              "answered", (json_int_t)res.answered, "failed",
                              (json_int_t)res.failed, "scores", res.scores_path);
        if (rc)
            json_object_set_new(j, "error", json_string(err.msg));
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(j);
    } else if (res.summary) {
        cli_print_text(stdout, res.summary); /* holds dataset names and model text */
    }
    if (rc)
        cli_error_lib(ctx, &err);
    if (res.run_id && !json) {
        char took[32];
        lleval_fmt_duration(took, sizeof(took), lleval_monotonic() - t0, 0);
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
