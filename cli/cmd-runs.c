/*
 * lleval runs: list (list_runs), compare (compare_runs), stop (stop_run) and
 * resume runs in a runs directory.
 */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/json.h"
#include "lleval/run/run.h"
#include "lleval/run/runs.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

int cli_runs_compare(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir);

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Under the table: why each failed or stopped run ended, one line each, cut to the terminal. */
/* cols: the terminal's width, 0 when not a terminal (asked before printing anything: the
 * ioctl's errno must not mask a write error's). */
static void print_causes(const struct lleval_run_info *rows, size_t n, int cols,
                         const struct cli_ctx *ctx)
{
    struct lleval_sb sb;
    bool first = true;
    lleval_sb_init(&sb, 0);
    for (size_t i = 0; i < n; i++) {
        const char *cause;
        size_t len, room;
        if (!rows[i].cause)
            continue;
        if (first)
            printf("\n%swhy runs ended early:%s\n", cli_bold(ctx), cli_reset(ctx));
        first = false;
        cause = cli_safe(&sb, rows[i].cause);
        len = strlen(cause);
        /* "  ID: " before it; "..." when cut; no cut when not a terminal */
        room =
            cols > 0 && (size_t)cols > strlen(rows[i].id) + 7 ? cols - strlen(rows[i].id) - 7 : 0;
        if (room && lleval_utf8_cut_width(cause, len, room) < len)
            len = lleval_utf8_cut_width(cause, len, room - 3);
        printf("  %s: %.*s%s\n", rows[i].id, (int)len, cause, len < strlen(cause) ? "..." : "");
    }
    lleval_sb_release(&sb);
}

static int runs_list(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir)
{
    bool json = false;
    int npos, rc;
    struct lleval_run_info *rows;
    size_t n;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct cli_option opts[] = {
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the runs as JSON", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    if ((rc = cli_parse_options(argc, argv, opts, "lleval runs list [--runs-dir DIR] [--json]",
                                "Lists the runs, oldest first.", &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (lleval_runs_list(runs_dir, &rows, &n, &err))
        return cli_error_lib(ctx, &err);
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            const struct lleval_run_info *r = &rows[i];
            json_t *o =
                json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:f}", "run_id", r->id, "model",
                          nz(r->model_id), "engine", nz(r->engine), "status",
                          lleval_run_status_name(r->status), "requests", (json_int_t)r->requests,
                          "answered", (json_int_t)r->answered, "errors", (json_int_t)r->errors,
                          "started_at", r->started_at, "duration_s", r->duration_s);
            json_t *heads = json_array();
            /* "headline": the first metric (EM, else accuracy); "headlines": each
             * metric apart (EM over the QA groups, accuracy over multiple choice) */
            if (r->headline.have)
                json_object_set_new(
                    o, "headline",
                    json_pack("{s:s, s:f}", "metric", r->headline.label, "value", r->headline.pct));
            else
                json_object_set_new(o, "headline", json_null());
            if (r->headline.have_em)
                json_array_append_new(
                    heads, json_pack("{s:s, s:f}", "metric", "EM", "value", r->headline.em));
            if (r->headline.have_acc)
                json_array_append_new(
                    heads, json_pack("{s:s, s:f}", "metric", "acc", "value", r->headline.acc));
            json_object_set_new(o, "headlines", heads);
            if (r->n_models > 1) { /* a run of several models: each ("model" is the first) */
                json_t *models = json_array();
                for (size_t k = 0; k < r->n_models; k++)
                    json_array_append_new(models, json_string(r->models[k]));
                json_object_set_new(o, "models", models);
            }
            json_object_set_new(o, "cause", r->cause ? json_string(r->cause) : json_null());
            json_array_append_new(a, o);
        }
        json_dumpf(a, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(a);
    } else if (!n) {
        printf("no runs in %s\n", runs_dir);
    } else {
        struct cli_table *t = cli_table_new(8);
        int cols = lleval_term_columns();
        cli_table_header(t, "run", "model", "engine", "status", "progress", "headline",
                         "started (UTC)", "duration");
        for (size_t i = 0; i < n; i++) {
            const struct lleval_run_info *r = &rows[i];
            char prog[64], head[64], start[40], dur[32], model[160];
            snprintf(prog, sizeof(prog), "%ld/%ld", r->answered, r->requests);
            lleval_headline_text(&r->headline, head, sizeof(head));
            lleval_fmt_utc(start, sizeof(start), r->started_at);
            start[16] = '\0'; /* 2024-09-09T12:34 */
            start[10] = ' ';
            lleval_fmt_duration(dur, sizeof(dur), r->duration_s, 0);
            /* a run of several models: the first and how many more */
            if (r->n_models > 1)
                snprintf(model, sizeof(model), "%s +%zu", nz(r->model_id), r->n_models - 1);
            else
                snprintf(model, sizeof(model), "%s", nz(r->model_id));
            cli_table_row(t, r->id, model, nz(r->engine), lleval_run_status_name(r->status), prog,
                          head, start, dur);
        }
        cli_table_print(t, stdout, ctx);
        cli_table_free(t);
        print_causes(rows, n, cols, ctx);
    }
    lleval_runs_free(rows, n);
    return 0;
}

/* runs stop --cancel of a batch run no process runs: a session of its own (the
 * cancel request written) loads the jobs, cancels them and stops, submitting nothing. */
static int cancel_stopped(struct cli_ctx *ctx, const char *runs_dir, const char *id)
{
    struct lleval_config cfg;
    struct lleval_run_opts ro;
    int rc;
    lleval_config_init(&cfg);
    free(cfg.runs_dir);
    cfg.runs_dir = lleval_xstrdup(runs_dir);
    lleval_run_opts_init(&ro);
    ro.run_id = id;
    ro.resume = true;
    ro.to_step = LLEVAL_STEP_POLL;
    rc = cli_run_and_report(ctx, &cfg, &ro, false, true);
    lleval_config_release(&cfg);
    if (rc != 130) /* a stop is how the cancelling session ends */
        return rc;
    printf("run %s: its batch jobs were cancelled; `lleval runs resume %s` submits the missing "
           "requests again\n",
           id, id);
    return 0;
}

static int runs_stop(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir)
{
    bool wait = false, cancel = false;
    long timeout = 600, pid;
    const char *id = NULL;
    int npos, rc;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct cli_option opts[] = {
        {"wait", 0, CLI_OPT_BOOL, &wait, NULL, "wait until the run has stopped", NULL, 0, 0},
        {"cancel", 0, CLI_OPT_BOOL, &cancel, NULL,
         "a cloud batch engine: cancel the run's jobs too (else they keep running)", NULL, 0, 0},
        {"run-id", 0, CLI_OPT_STRING, &id, "ID", "the run to stop (the guide's stop_run --run_id)",
         NULL, 0, 0},
        {"timeout", 0, CLI_OPT_LONG, &timeout, "SECONDS", "how long --wait waits (default 600)",
         NULL, 1, 86400},
        CLI_OPT_END_MARK,
    };
    if ((rc = cli_parse_options(argc, argv, opts,
                                "lleval runs stop RUN_ID [--wait] [--cancel] (or --run_id RUN_ID)",
                                "Asks the process running RUN_ID to stop gracefully: it sends no\n"
                                "new requests, settles those in flight and ends as 'stopped',\n"
                                "resumable with `lleval runs resume RUN_ID`. With a cloud batch\n"
                                "engine the jobs already submitted keep running at the provider\n"
                                "(a resume collects them) unless --cancel cancels them; on a run\n"
                                "no process runs any more, --cancel cancels its jobs itself.",
                                &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != (id ? 0 : 1)) {
        cli_error(ctx, "give one run id; see 'lleval runs stop --help'");
        return 2;
    }
    if (!id)
        id = argv[1];
    if (cancel) {
        bool running;
        if (lleval_run_mark_cancel(runs_dir, id, &running, &err))
            return cli_error_lib(ctx, &err);
        if (!running)
            return cancel_stopped(ctx, runs_dir, id);
    }
    if ((cancel ? lleval_run_request_cancel : lleval_run_request_stop)(runs_dir, id, &pid, &err))
        return cli_error_lib(ctx, &err);
    printf("asked run %s (process %ld) to stop%s\n", id, pid,
           cancel ? " and cancel its batch jobs" : "");
    if (wait) {
        double end = lleval_monotonic() + (double)timeout;
        char *dir = lleval_path_join(runs_dir, id);
        while (lleval_pid_alive(pid) && lleval_run_lock_pid(dir) == pid) {
            if (lleval_monotonic() > end) {
                cli_error(ctx, "run %s has not stopped after %ld s", id, timeout);
                free(dir);
                return 1;
            }
            lleval_sleep_ms(100);
        }
        free(dir);
        printf("run %s stopped; resume it with `lleval runs resume %s`\n", id, id);
    }
    return 0;
}

static int runs_resume(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir)
{
    struct lleval_config cfg;
    struct lleval_run_opts ro;
    bool json = false, quiet = false;
    int npos, rc;
    const struct cli_option opts[] = {
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the outcome as JSON", NULL, 0, 0},
        {"quiet", 'q', CLI_OPT_BOOL, &quiet, NULL, "no progress output", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    if ((rc =
             cli_parse_options(argc, argv, opts, "lleval runs resume RUN_ID",
                               "Finishes a stopped or crashed run with its saved config: answered\n"
                               "requests are never asked again, and no result is written twice.",
                               &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 1) {
        cli_error(ctx, "give one run id; see 'lleval runs resume --help'");
        return 2;
    }
    if (!lleval_run_id_valid(argv[1])) {
        cli_error(ctx, "invalid run id '%s': use letters, digits, '_', '-' and '.' only", argv[1]);
        return 2;
    }
    lleval_config_init(&cfg);
    free(cfg.runs_dir);
    cfg.runs_dir = lleval_xstrdup(runs_dir);
    lleval_run_opts_init(&ro);
    ro.run_id = argv[1];
    ro.resume = true;
    rc = cli_run_and_report(ctx, &cfg, &ro, json, quiet);
    lleval_config_release(&cfg);
    return rc;
}

int cmd_runs(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *runs_dir = "runs";
    int i = 1;
    static const char usage[] =
        "usage: lleval runs [--runs-dir DIR] <list|items|compare|stop|resume> [<args>]\n\n"
        "  list              list runs: id, model, engine, status, progress, headline metric\n"
        "  items RUN_ID      every item scored: filter the wrong ones, see why (--help)\n"
        "  compare A B       per-group deltas with paired confidence intervals, McNemar's test\n"
        "  stop RUN_ID       ask a running run to stop gracefully (resumable)\n"
        "  resume RUN_ID     finish a stopped or crashed run exactly once\n\n"
        "--runs-dir DIR defaults to ./runs (the config's paths.runs_dir default).\n";

    while (i < argc && argv[i][0] == '-') {
        if ((!strcmp(argv[i], "--runs-dir") || !strcmp(argv[i], "--runs_dir")) && i + 1 < argc) {
            runs_dir = argv[i + 1];
            i += 2;
        } else if (!strncmp(argv[i], "--runs-dir=", 11) || !strncmp(argv[i], "--runs_dir=", 11)) {
            runs_dir = argv[i] + 11;
            i++;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        } else {
            cli_error(ctx, "unknown option '%s'; see 'lleval runs --help'", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    if (!strcmp(argv[i], "list") || !strcmp(argv[i], "ls"))
        return runs_list(argc - i, argv + i, ctx, runs_dir);
    if (!strcmp(argv[i], "stop"))
        return runs_stop(argc - i, argv + i, ctx, runs_dir);
    if (!strcmp(argv[i], "resume"))
        return runs_resume(argc - i, argv + i, ctx, runs_dir);
    if (!strcmp(argv[i], "compare"))
        return cli_runs_compare(argc - i, argv + i, ctx, runs_dir);
    if (!strcmp(argv[i], "items"))
        return cli_runs_items(argc - i, argv + i, ctx, runs_dir);
    cli_error(ctx, "unknown runs subcommand '%s': use list, items, compare, stop or resume",
              argv[i]);
    return 2;
}
