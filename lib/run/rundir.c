/*
 * The run directory's layout, run ids, status words, steps, the effective
 * status (whether the run's lock is held) and the stop request (see rundir.h).
 * The typed manifest.json and state.json are in manifest.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/run/batch.h"
#include "lleval/run/rundir.h"
#include "lleval/util/util.h"

static const char *const file_rel[LLEVAL_N_RUN_FILES] = {
    [LLEVAL_RUN_FILE_CONFIG] = "config.resolved.yaml",
    [LLEVAL_RUN_FILE_MANIFEST] = "manifest.json",
    [LLEVAL_RUN_FILE_LOCK] = "lock",
    [LLEVAL_RUN_FILE_STOP] = "stop",
    [LLEVAL_RUN_FILE_BATCHES] = "batches",
    [LLEVAL_RUN_FILE_BUILD] = "batches/build.json",
    [LLEVAL_RUN_FILE_PARTS] = "parts",
    [LLEVAL_RUN_FILE_RESULTS] = "results",
    [LLEVAL_RUN_FILE_COMBINED] = "results/results_combined.jsonl",
    [LLEVAL_RUN_FILE_PREDICTIONS] = "results/predictions.csv",
    [LLEVAL_RUN_FILE_SCORES] = "results/scores.json",
    [LLEVAL_RUN_FILE_ITEMS_CSV] = "results/items.csv",
    [LLEVAL_RUN_FILE_ITEMS_JSONL] = "results/items.jsonl",
    [LLEVAL_RUN_FILE_REPORT_HTML] = "report.html",
    [LLEVAL_RUN_FILE_REPORT_MD] = "report.md",
    [LLEVAL_RUN_FILE_LOGS] = "logs",
    [LLEVAL_RUN_FILE_LLAMA_LOG] = "logs/llama-server.log",
};

const char *lleval_run_file_rel(enum lleval_run_file f)
{
    return (unsigned)f < LLEVAL_N_RUN_FILES ? file_rel[f] : "";
}

char *lleval_run_file_path(const char *run_dir, enum lleval_run_file f)
{
    return lleval_path_join(run_dir, lleval_run_file_rel(f));
}

char *lleval_run_rel_path(const char *run_dir, const char *path)
{
    const char *rel = lleval_path_under(run_dir, path);
    return lleval_path_portable(rel ? rel : path);
}

char *lleval_run_trial_name(const char *dataset, double temp)
{
    char tdir[40];
    return lleval_xasprintf("%s/%s", dataset, lleval_temp_dir(tdir, sizeof(tdir), temp));
}

char *lleval_run_part_name(const char *dataset, double temp, long index)
{
    char tdir[40];
    return lleval_xasprintf("%s/%s/part-%03ld", dataset, lleval_temp_dir(tdir, sizeof(tdir), temp),
                            index);
}

/* "<run_dir>/<folder>/<dataset>/t<temp>/part-NNN<suffix>" */
static char *part_path(const char *run_dir, const char *folder, const char *dataset, double temp,
                       long index, const char *suffix)
{
    char *name = lleval_run_part_name(dataset, temp, index);
    char *rel = lleval_xasprintf("%s/%s%s", folder, name, suffix);
    char *path = lleval_path_join(run_dir, rel);
    free(rel);
    free(name);
    return path;
}

char *lleval_run_batch_path(const char *run_dir, const char *dataset, double temp, long index)
{
    return part_path(run_dir, "batches", dataset, temp, index, ".jsonl");
}

char *lleval_run_journal_path(const char *run_dir, const char *dataset, double temp, long index)
{
    return part_path(run_dir, "results/parts", dataset, temp, index, ".jsonl");
}

char *lleval_run_state_path(const char *run_dir, const char *dataset, double temp, long index)
{
    return part_path(run_dir, "parts", dataset, temp, index, "/state.json");
}

int lleval_run_dir_create(const char *run_dir, struct lleval_err *err)
{
    static const enum lleval_run_file dirs[] = {LLEVAL_RUN_FILE_LOGS, LLEVAL_RUN_FILE_RESULTS};
    int rc = lleval_mkdirs(run_dir, err);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !rc; i++) {
        char *path = lleval_run_file_path(run_dir, dirs[i]);
        rc = lleval_mkdirs(path, err);
        free(path);
    }
    return rc;
}

/* ---- damaged files -------------------------------------------------------------- */

int lleval_run_err_damaged(struct lleval_err *err, const char *fix)
{
    if (!err)
        return LLEVAL_EIO;
    err->code = LLEVAL_EIO;
    if (!strstr(err->msg, fix))
        lleval_err_set(err, LLEVAL_EIO, "%s; %s", err->msg, fix);
    return LLEVAL_EIO;
}

/* The suffix the config reader gives a --config file it cannot read: wrong
 * advice for a file lleval wrote. */
static void drop_suffix(char *msg, const char *suffix)
{
    size_t n = strlen(msg), k = strlen(suffix);
    if (n >= k && !strcmp(msg + n - k, suffix))
        msg[n - k] = '\0';
}

int lleval_run_config_load(const char *run_dir, struct lleval_config *cfg, struct lleval_err *err)
{
    char *path = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_CONFIG);
    struct lleval_sb buf = LLEVAL_SB_INIT;
    int rc;

    if (!lleval_path_exists(path)) {
        rc = lleval_err_set(err, LLEVAL_EIO, "'%s' is missing; %s", path, LLEVAL_RUN_FIX_CONFIG);
        goto out;
    }
    rc = lleval_read_file(path, &buf, 0, err); /* a folder, a link, a FIFO: named as such */
    if (!rc && !buf.len)                       /* lleval never saves an empty one */
        rc = lleval_err_set(err, LLEVAL_EIO, "'%s' is empty: the run's settings are lost", path);
    if (!rc)
        rc = lleval_config_load_file(cfg, path, err);
    if (rc) {
        if (err) {
            drop_suffix(err->msg, "; check the path given to --config");
        }
        rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_CONFIG);
    }
out:
    lleval_sb_release(&buf);
    free(path);
    return rc;
}

/* ---- run ids ------------------------------------------------------------------ */

bool lleval_run_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (!n || n > 128 || id[0] == '.')
        return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

char *lleval_run_dir(const char *runs_dir, const char *id, struct lleval_err *err)
{
    if (!lleval_run_id_valid(id)) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "invalid run id '%.100s': use letters, digits, '_', '-' and '.' only "
                       "(like run_20240909_123456)",
                       id);
        return NULL;
    }
    return lleval_path_join(runs_dir, id);
}

char *lleval_run_new_id(const char *runs_dir)
{
    char utc[40], base[64];
    /* "2024-09-09T12:34:56Z" -> "run_20240909_123456", the guide's form */
    lleval_fmt_utc(utc, sizeof(utc), lleval_now());
    snprintf(base, sizeof(base), "run_%.4s%.2s%.2s_%.2s%.2s%.2s", utc, utc + 5, utc + 8, utc + 11,
             utc + 14, utc + 17);
    for (int i = 1;; i++) {
        char *id = i == 1 ? lleval_xstrdup(base) : lleval_xasprintf("%s_%d", base, i);
        char *dir = lleval_path_join(runs_dir, id);
        bool taken = lleval_path_exists(dir);
        free(dir);
        if (!taken)
            return id;
        free(id);
    }
}

/* ---- status ------------------------------------------------------------------- */

static const char *const status_names[LLEVAL_N_RUN_STATUS] = {
    [LLEVAL_RUN_UNKNOWN] = "unknown", [LLEVAL_RUN_QUEUED] = "queued",
    [LLEVAL_RUN_RUNNING] = "running", [LLEVAL_RUN_DONE] = "done",
    [LLEVAL_RUN_STOPPED] = "stopped", [LLEVAL_RUN_FAILED] = "failed",
};

const char *lleval_run_status_name(enum lleval_run_status s)
{
    return (unsigned)s < LLEVAL_N_RUN_STATUS ? status_names[s] : "unknown";
}

int lleval_run_status_parse(const char *s, enum lleval_run_status *out)
{
    for (int i = 0; s && i < LLEVAL_N_RUN_STATUS; i++) {
        if (!strcmp(s, status_names[i])) {
            *out = (enum lleval_run_status)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

long lleval_run_lock_pid(const char *run_dir)
{
    char *lock = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_LOCK);
    long pid = lleval_lock_owner(lock);
    free(lock);
    return pid;
}

bool lleval_run_lock_held(const char *run_dir)
{
    char *lock = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_LOCK);
    bool held = lleval_lock_is_held(lock);
    free(lock);
    return held;
}

/* True when name ends in ".tmp.<pid>" (the temp files of the atomic writers); *pid gets it. */
static bool tmp_file_pid(const char *name, long *pid)
{
    const char *p = NULL, *q = name;
    char *end;

    while ((q = strstr(q, ".tmp."))) /* the last one */
        p = q++;
    if (!p || p[5] < '0' || p[5] > '9')
        return false;
    *pid = strtol(p + 5, &end, 10);
    return !*end && *pid > 0;
}

static void remove_stale_tmp(const char *dir, int depth, size_t *removed)
{
    struct lleval_dir_list list;

    if (depth > 16 || lleval_list_dir(dir, &list, NULL))
        return;
    for (size_t i = 0; i < list.n; i++) {
        char *child = lleval_path_join(dir, list.names[i]);
        long pid;
        if (lleval_is_real_dir(child))
            remove_stale_tmp(child, depth + 1, removed);
        else if (tmp_file_pid(list.names[i], &pid) && pid != lleval_getpid() &&
                 !lleval_pid_alive(pid) && !remove(child))
            (*removed)++;
        free(child);
    }
    lleval_dir_list_release(&list);
}

size_t lleval_run_dir_remove_stale_tmp(const char *run_dir)
{
    size_t removed = 0;
    remove_stale_tmp(run_dir, 0, &removed);
    return removed;
}

enum lleval_run_status lleval_run_effective_status(const char *run_dir,
                                                   enum lleval_run_status recorded, long *pid_out)
{
    long pid = lleval_run_lock_pid(run_dir);
    if (pid_out)
        *pid_out = pid;
    if (lleval_run_lock_held(run_dir))
        return LLEVAL_RUN_RUNNING;
    if (recorded == LLEVAL_RUN_RUNNING)
        return LLEVAL_RUN_STOPPED; /* its process is gone: a crash or kill -9 */
    if (recorded == LLEVAL_RUN_UNKNOWN)
        return LLEVAL_RUN_FAILED;
    return recorded;
}

int lleval_run_request_stop(const char *runs_dir, const char *id, long *pid_out,
                            struct lleval_err *err)
{
    char *dir = lleval_run_dir(runs_dir, id, err);
    char *stop;
    long pid;
    int rc = 0;

    if (!dir)
        return err->code;
    *pid_out = 0;
    if (!lleval_is_dir(dir)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL, "no run '%s' in '%s'", id, runs_dir);
        free(dir);
        return rc;
    }
    stop = lleval_run_file_path(dir, LLEVAL_RUN_FILE_STOP);
    pid = lleval_run_lock_pid(dir);
    if (!lleval_run_lock_held(dir)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "run '%s' is not running; resume it with `lleval runs resume %s`", id,
                            id);
    } else {
        char line[32];
        int n = snprintf(line, sizeof(line), "%ld\n", lleval_getpid());
        rc = lleval_write_file_atomic(stop, line, (size_t)n, err);
        *pid_out = pid;
    }
    free(stop);
    free(dir);
    return rc;
}

/* ---- steps -------------------------------------------------------------------- */

static const char *const step_names[LLEVAL_N_STEPS] = {
    "prepare", "build", "submit", "poll", "parse", "score", "report",
};

const char *lleval_step_name(enum lleval_step s)
{
    return (unsigned)s < LLEVAL_N_STEPS ? step_names[s] : "?";
}

int lleval_step_parse(const char *s, enum lleval_step *out)
{
    for (int i = 0; i < LLEVAL_N_STEPS; i++) {
        if (!strcmp(s, step_names[i])) {
            *out = (enum lleval_step)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}
