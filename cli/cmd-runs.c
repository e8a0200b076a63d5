/*
 * lleval runs: list (list_runs), compare (compare_runs), stop (stop_run) and
 * resume runs in a runs directory.
 */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/run/run.h"
#include "lleval/util/util.h"

int cli_runs_compare(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir);

/* A run as `runs list` shows it. */
struct run_row {
    char *id;
    json_t *manifest;
    json_t *scores;
    const char *status; /* effective: running only when its process lives */
    long pid;
    double started, updated;
};

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int cmp_rows(const void *a, const void *b)
{
    const struct run_row *x = a, *y = b;
    if (x->started != y->started)
        return x->started < y->started ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The pid in the run's lock file (0: none); it may be dead. */
static long lock_pid(const char *run_dir)
{
    char *lock = lleval_path_join(run_dir, "lock");
    long pid = lleval_lock_owner(lock);
    free(lock);
    return pid;
}

static void load_row(struct run_row *r, const char *runs_dir, const char *id)
{
    char *dir = lleval_path_join(runs_dir, id);
    char *mpath = lleval_path_join(dir, "manifest.json");
    char *spath = lleval_path_join(dir, "results/scores.json");
    const char *st;

    memset(r, 0, sizeof(*r));
    r->id = lleval_xstrdup(id);
    r->manifest = json_load_file(mpath, 0, NULL);
    r->scores = json_load_file(spath, 0, NULL);
    r->pid = lock_pid(dir);
    st = lleval_json_str(r->manifest, "status");
    if (!st)
        st = "failed";
    if (r->pid && lleval_pid_alive(r->pid))
        r->status = "running";
    else if (!strcmp(st, "running"))
        r->status = "stopped"; /* its process is gone: a crash or kill -9 */
    else
        r->status = st;
    r->started = lleval_json_num(r->manifest, "created_at",
                                 lleval_json_num(r->manifest, "started_at", 0));
    r->updated = lleval_json_num(r->manifest, "updated_at", r->started);
    free(mpath);
    free(spath);
    free(dir);
}

static void free_row(struct run_row *r)
{
    free(r->id);
    json_decref(r->manifest);
    json_decref(r->scores);
}

/*
 * The headline metric of a run, from its scores.json: the item-weighted mean
 * of exact match (QA groups) and accuracy (multiple-choice groups), labelled
 * EM, acc or EM/acc. Returns false when the run has no scores.
 */
static bool headline_value(const json_t *scores, const char **label, double *pct)
{
    const json_t *groups = json_object_get(scores, "groups"), *g;
    double sum = 0, n = 0;
    bool qa = false, mc = false;
    size_t i;
    json_array_foreach(groups, i, g)
    {
        const json_t *em = json_object_get(g, "exact_match"), *acc = json_object_get(g, "accuracy");
        const json_t *m = json_is_object(em) ? em : acc;
        double items = lleval_json_num(g, "n", 0);
        if (json_is_true(json_object_get(g, "overall")) || !json_is_object(m) || items <= 0 ||
            !json_is_number(json_object_get(m, "value")))
            continue;
        if (m == em)
            qa = true;
        else
            mc = true;
        sum += lleval_json_num(m, "value", 0) * items;
        n += items;
    }
    if (n <= 0)
        return false;
    *label = qa && mc ? "EM/acc" : qa ? "EM" : "acc";
    *pct = sum / n;
    return true;
}

static void headline(const struct run_row *r, char *buf, size_t size)
{
    const char *label;
    double pct;
    if (headline_value(r->scores, &label, &pct))
        snprintf(buf, size, "%s %.1f", label, pct);
    else
        snprintf(buf, size, "-");
}

static int list_runs(const char *runs_dir, struct run_row **out, size_t *n,
                     struct lleval_err *err)
{
    struct lleval_dir_list names;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (!lleval_path_exists(runs_dir))
        return 0; /* no runs yet */
    if (lleval_list_dir(runs_dir, &names, err))
        return lleval_err_prefix(err, "cannot list the runs");
    for (size_t i = 0; i < names.n; i++) {
        const char *name = names.names[i];
        char *dir, *m;
        bool is_run;
        if (name[0] == '.' || !lleval_run_id_valid(name))
            continue;
        dir = lleval_path_join(runs_dir, name);
        m = lleval_path_join(dir, "manifest.json");
        is_run = lleval_path_exists(m);
        free(m);
        free(dir);
        if (!is_run)
            continue;
        LLEVAL_GROW(*out, *n, cap);
        load_row(&(*out)[(*n)++], runs_dir, name);
    }
    lleval_dir_list_release(&names);
    if (*n)
        qsort(*out, *n, sizeof(**out), cmp_rows);
    return 0;
}

static int runs_list(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir)
{
    bool json = false;
    int npos, rc;
    struct run_row *rows;
    size_t n;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct cli_option opts[] = {
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the runs as JSON", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    if ((rc = cli_parse_options(argc, argv, opts, "lleval runs list [--runs-dir DIR] [--json]",
                                "Lists the runs, oldest first.", &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (list_runs(runs_dir, &rows, &n, &err))
        return cli_error_lib(ctx, &err);
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            const json_t *req = json_object_get(rows[i].manifest, "requests");
            json_t *o = json_pack(
                "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:f}", "run_id", rows[i].id, "model",
                nz(lleval_json_str(rows[i].manifest, "model_id")), "engine",
                nz(lleval_json_str(rows[i].manifest, "engine")), "status", rows[i].status,
                "requests", (json_int_t)lleval_json_int(req, "total", 0), "answered",
                (json_int_t)lleval_json_int(req, "answered", 0), "errors",
                (json_int_t)lleval_json_int(req, "errors", 0), "started_at", rows[i].started,
                "duration_s", rows[i].updated - rows[i].started);
            const char *label;
            double pct;
            if (headline_value(rows[i].scores, &label, &pct))
                json_object_set_new(o, "headline",
                                    json_pack("{s:s, s:f}", "metric", label, "value", pct));
            else
                json_object_set_new(o, "headline", json_null());
            json_array_append_new(a, o);
        }
        json_dumpf(a, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(a);
    } else if (!n) {
        printf("no runs in %s\n", runs_dir);
    } else {
        struct cli_table *t = cli_table_new(8);
        cli_table_header(t, "run", "model", "engine", "status", "progress", "headline",
                         "started (UTC)", "duration");
        for (size_t i = 0; i < n; i++) {
            const json_t *req = json_object_get(rows[i].manifest, "requests");
            char prog[64], head[64], start[40], dur[32];
            snprintf(prog, sizeof(prog), "%lld/%lld", lleval_json_int(req, "answered", 0),
                     lleval_json_int(req, "total", 0));
            headline(&rows[i], head, sizeof(head));
            lleval_fmt_utc(start, sizeof(start), rows[i].started);
            start[16] = '\0'; /* 2024-09-09T12:34 */
            start[10] = ' ';
            cli_fmt_duration(dur, sizeof(dur), rows[i].updated - rows[i].started);
            cli_table_row(t, rows[i].id, nz(lleval_json_str(rows[i].manifest, "model_id")),
                          nz(lleval_json_str(rows[i].manifest, "engine")), rows[i].status,
                          prog, head, start, dur);
        }
        cli_table_print(t, stdout, ctx);
        cli_table_free(t);
    }
    for (size_t i = 0; i < n; i++)
        free_row(&rows[i]);
    free(rows);
    return 0;
}

static int runs_stop(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir)
{
    bool wait = false;
    long timeout = 600, pid;
    int npos, rc;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct cli_option opts[] = {
        {"wait", 0, CLI_OPT_BOOL, &wait, NULL, "wait until the run has stopped", NULL, 0, 0},
        {"timeout", 0, CLI_OPT_LONG, &timeout, "SECONDS", "how long --wait waits (default 600)",
         NULL, 1, 86400},
        CLI_OPT_END_MARK,
    };
    if ((rc = cli_parse_options(argc, argv, opts, "lleval runs stop RUN_ID [--wait]",
                                "Asks the process running RUN_ID to stop gracefully: it sends no\n"
                                "new requests, settles those in flight and ends as 'stopped',\n"
                                "resumable with `lleval runs resume RUN_ID`.",
                                &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 1) {
        cli_error(ctx, "give one run id; see 'lleval runs stop --help'");
        return 2;
    }
    if (lleval_run_request_stop(runs_dir, argv[1], &pid, &err))
        return cli_error_lib(ctx, &err);
    printf("asked run %s (process %ld) to stop\n", argv[1], pid);
    if (wait) {
        double end = lleval_monotonic() + (double)timeout;
        char *dir = lleval_path_join(runs_dir, argv[1]);
        while (lleval_pid_alive(pid) && lock_pid(dir) == pid) {
            if (lleval_monotonic() > end) {
                cli_error(ctx, "run %s has not stopped after %ld s", argv[1], timeout);
                free(dir);
                return 1;
            }
            lleval_sleep_ms(100);
        }
        free(dir);
        printf("run %s stopped; resume it with `lleval runs resume %s`\n", argv[1], argv[1]);
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
    if ((rc = cli_parse_options(argc, argv, opts, "lleval runs resume RUN_ID",
                                "Finishes a stopped or crashed run with its saved config: answered\n"
                                "requests are never asked again, and no result is written twice.",
                                &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 1) {
        cli_error(ctx, "give one run id; see 'lleval runs resume --help'");
        return 2;
    }
    if (!lleval_run_id_valid(argv[1])) {
        cli_error(ctx, "invalid run id '%s': use letters, digits, '_', '-' and '.' only",
                  argv[1]);
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
        "usage: lleval runs [--runs-dir DIR] <list|compare|stop|resume> [<args>]\n\n"
        "  list              list runs: id, model, engine, status, progress, headline metric\n"
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
    cli_error(ctx, "unknown runs subcommand '%s': use list, compare, stop or resume", argv[i]);
    return 2;
}
