/*
 * The run orchestrator's entry (see run.h): opens the run directory and
 * takes its lock, saves or reloads the config, writes the manifest from the
 * run's state, runs the steps (steps.c, whose poll step is poll.c) and
 * records how the run ended.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/doctor/doctor.h"
#include "lleval/platform/fs.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"
#include "endpoints_int.h"
#include "run_int.h"

void lleval_run_opts_init(struct lleval_run_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->to_step = LLEVAL_STEP_REPORT;
}

void lleval_run_result_release(struct lleval_run_result *r)
{
    free(r->run_id);
    free(r->run_dir);
    free(r->scores_path);
    free(r->summary);
    lleval_parse_report_release(&r->parse);
    memset(r, 0, sizeof(*r));
}

void lleval_run_event(struct run *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!r->o->on_event)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    {
        char *redacted = lleval_redact_dup(msg); /* a base_url may hold a password */
        r->o->on_event(r->o->ud, redacted ? redacted : msg);
        free(redacted);
    }
}

void lleval_run_warning(struct run *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!r->o->on_warning)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    {
        char *redacted = lleval_redact_dup(msg); /* a base_url may hold a password */
        r->o->on_warning(r->o->ud, redacted ? redacted : msg);
        free(redacted);
    }
}

int lleval_run_write_manifest(struct run *r, struct lleval_err *err)
{
    const struct lleval_config *cfg = r->cfg;
    struct lleval_manifest m;
    int rc;

    lleval_manifest_init(&m);
    m.run_id = lleval_xstrdup(r->id);
    m.status = r->status;
    m.pid = lleval_getpid();
    m.model_id = lleval_xstrdup(cfg->model_id ? cfg->model_id : "");
    m.engine = lleval_xstrdup(lleval_engine_kind_name(cfg->engine));
    m.base_url = cfg->base_url ? lleval_xstrdup(cfg->base_url) : NULL;
    m.prompt_set = lleval_xstrdup(cfg->prompt_set ? cfg->prompt_set : "");
    m.max_concurrent_jobs = r->jobs;
    m.started_at = r->started_at;
    m.updated_at = lleval_now();
    m.to_step = r->o->to_step;
    m.steps_done = r->steps_done;
    lleval_rs_manifest_trials(&r->st, r->tel, &m);
    m.engine_detail = lleval_xstrdup(r->engine_detail);
    m.last_error = lleval_xstrdup(r->st.last_error);
    /* kept from the manifest before this session */
    m.headline = r->old.headline ? json_incref(r->old.headline) : NULL;
    m.created_at = r->old.created_at > 0 ? r->old.created_at : r->started_at;
    m.active_s = lleval_rs_active_s(&r->st, &r->old);
    lleval_run_events_manifest(r, &m);
    m.tune = r->tune.done  ? lleval_tune_to_json(&r->tune)
             : r->old.tune ? json_incref(r->old.tune)
                           : NULL;
    rc = lleval_manifest_save(r->dir, &m, err);
    lleval_manifest_release(&m);
    return rc;
}

int lleval_run_flush(struct run *r, bool force, struct lleval_err *err)
{
    double now = lleval_monotonic();
    int rc;
    if (!force && now - r->last_flush < 1.0)
        return 0;
    r->last_flush = now;
    rc = lleval_rs_flush_parts(&r->st, force, r->tel, err);
    if (!rc)
        rc = lleval_run_write_manifest(r, err);
    return rc;
}

static void free_run(struct run *r)
{
    lleval_rs_release(&r->st);
    free(r->trial_names);
    free(r->trial_done);
    free(r->trial_total);
    lleval_build_result_release(&r->build);
    free(r->id);
    free(r->dir);
    free(r->batches_dir);
    free(r->combined_ends);
    lleval_doctor_lines_free(r->doctor_lines);
    free(r->lock_path);
    free(r->stop_path);
    lleval_telemetry_free(r->tel);
    lleval_manifest_release(&r->old);
    json_decref(r->engine_events);
    json_decref(r->retries);
    lleval_run_endpoints_free(r);
}

static int save_config(struct run *r, struct lleval_err *err)
{
    char *path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_CONFIG);
    char *yaml = lleval_config_to_yaml(r->cfg, false);
    int rc = lleval_write_file_atomic(path, yaml, strlen(yaml), err);
    free(yaml);
    free(path);
    return rc;
}

/* Whether the run directory holds a started run (a manifest or batches):
 * then its saved settings must be there; the config is saved before either. */
static bool run_started(const struct run *r)
{
    char *manifest = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_MANIFEST);
    bool started = lleval_path_exists(manifest) || lleval_path_exists(r->batches_dir);
    free(manifest);
    return started;
}

/* Reads the run's saved settings (rundir.h, lleval_run_config_load: exit 4
 * when the file is damaged, it is not a user's --config). */
static int load_saved_config(struct run *r, struct lleval_err *err)
{
    struct lleval_config saved;
    const char *scheme;
    int rc;
    lleval_config_init(&saved);
    rc = lleval_run_config_load(r->dir, &saved, err);
    scheme = !rc && saved.base_url ? strstr(saved.base_url, "://") : NULL;
    /* credentials are never saved: resuming would send "[redacted]" as them */
    if (scheme && !strncmp(scheme + 3, LLEVAL_REDACTED "@", strlen(LLEVAL_REDACTED) + 1))
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "run '%s': its base_url '%s' had credentials, which lleval never "
                            "saves, so it cannot be resumed as saved; put them back into "
                            "base_url in '%s/%s' (then keep that file private), or start a new "
                            "run with --base_url",
                            r->id, saved.base_url, r->dir,
                            lleval_run_file_rel(LLEVAL_RUN_FILE_CONFIG));
    if (!rc) {
        lleval_config_release(r->cfg);
        *r->cfg = saved;
    } else {
        lleval_config_release(&saved);
    }
    return rc;
}

/* Reads the manifest an earlier session wrote (a missing one: the run writes
 * a new one), refusing a damaged one (never silently replaced: exit 4, what
 * to do in the message) and one of a newer format (this lleval would rewrite
 * it in its own). */
static int load_old_manifest(struct run *r, struct lleval_err *err)
{
    char *path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_MANIFEST);
    bool exists = lleval_path_exists(path);
    int rc = 0;

    free(path);
    if (!exists)
        return 0;
    rc = lleval_manifest_load(r->dir, &r->old, err);
    if (rc)
        lleval_manifest_release(&r->old);
    return rc;
}

static int open_run_dir(struct run *r, struct lleval_lock **lock, struct lleval_err *err)
{
    const struct lleval_run_opts *o = r->o;
    long pid;
    int rc;
    if (o->run_id) {
        r->dir = lleval_run_dir(r->cfg->runs_dir, o->run_id, err);
        if (!r->dir)
            return err->code;
        r->id = lleval_xstrdup(o->run_id);
    } else {
        rc = lleval_mkdirs(r->cfg->runs_dir, err);
        if (rc)
            return rc;
        r->id = lleval_run_new_id(r->cfg->runs_dir);
        r->dir = lleval_path_join(r->cfg->runs_dir, r->id);
    }
    if (o->resume && !lleval_path_exists(r->dir))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "no run '%s' in '%s': see `lleval runs list` for the runs there",
                              r->id, r->cfg->runs_dir);
    rc = lleval_mkdirs(r->dir, err);
    if (rc)
        return rc;
    r->lock_path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_LOCK);
    r->stop_path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_STOP);
    r->batches_dir = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_BATCHES);
    rc = lleval_lock_acquire(r->lock_path, lock, &pid, err);
    if (rc == 1 && !pid)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "run '%s' is being run by another process; stop it with "
                              "`lleval runs stop %s` or wait for it to finish",
                              r->id, r->id);
    if (rc == 1)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "run '%s' is being run by process %ld; stop it with "
                              "`lleval runs stop %s` or wait for it to finish",
                              r->id, pid, r->id);
    if (rc)
        return rc;
    rc = load_old_manifest(r, err);
    if (rc) {
        lleval_lock_release(*lock);
        *lock = NULL;
        return rc;
    }
    remove(r->stop_path);                    /* an old stop request does not stop a resumed run */
    lleval_run_dir_remove_stale_tmp(r->dir); /* a killed session's temp files */
    return lleval_run_dir_create(r->dir, err);
}

/* A new run that failed before any answer came back, and holds no engine log worth
 * keeping: an empty "failed 0/0" run would only clutter `lleval runs list`. */
static bool empty_new_run(struct run *r)
{
    size_t answered = 0, failed = 0;
    char *logs;
    struct lleval_dir_list list = {0};
    struct lleval_err ignored = LLEVAL_ERR_INIT;
    bool empty;
    if (r->o->resume || r->old.created_at > 0)
        return false;
    lleval_rs_totals(&r->st, &answered, &failed);
    if (answered || failed)
        return false;
    logs = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_LOGS);
    empty = !lleval_is_dir(logs) || (!lleval_list_dir(logs, &list, &ignored) && list.n == 0);
    lleval_dir_list_release(&list);
    free(logs);
    return empty;
}

/* Removes such a run (the lock is released) and says so at the end of err. res->run_id
 * is cleared (no run to name or resume); res->run_dir stays, so a check of the
 * artifacts (`lleval smoke`) finds every one of them missing. */
static void forget_empty_run(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    struct lleval_err rm = LLEVAL_ERR_INIT;
    if (lleval_remove_tree(r->dir, &rm))
        return; /* kept: it is listed with its cause (the manifest's last_error) */
    lleval_err_set(err, err->code, "%s (run '%s' failed before its first request and was not kept)",
                   err->msg, r->id);
    free(res->run_id);
    res->run_id = NULL;
}

/* The status the run ends with, from the steps' return code. */
static enum lleval_run_status final_status(int rc)
{
    if (rc == LLEVAL_EINTR || rc == LLEVAL_EENGINE)
        return LLEVAL_RUN_STOPPED;                   /* resumable */
    return rc ? LLEVAL_RUN_FAILED : LLEVAL_RUN_DONE; /* done also after --to_step */
}

int lleval_run_execute(struct lleval_config *cfg, const struct lleval_run_opts *o,
                       struct lleval_run_result *res, struct lleval_err *err)
{
    struct run r;
    struct lleval_lock *lock = NULL;
    char *saved;
    int rc;

    memset(res, 0, sizeof(*res));
    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.o = o;
    r.status = LLEVAL_RUN_RUNNING;
    r.started_at = lleval_now();
    lleval_manifest_init(&r.old);
    rc = open_run_dir(&r, &lock, err);
    if (rc) {
        lleval_lock_release(lock);
        free_run(&r);
        return rc;
    }
    lleval_rs_init(&r.st, r.dir, r.id);
    res->run_id = lleval_xstrdup(r.id);
    res->run_dir = lleval_xstrdup(r.dir);
    saved = lleval_run_file_path(r.dir, LLEVAL_RUN_FILE_CONFIG);
    if (lleval_path_exists(saved) && (o->resume || o->run_id))
        rc = load_saved_config(&r, err);
    else if (run_started(&r))
        rc = lleval_err_set(err, LLEVAL_EIO,
                            "'%s' is missing: run '%s' has started, and its settings cannot be "
                            "made up again; restore the file from a backup, or start a new run",
                            saved, r.id);
    else
        rc = save_config(&r, err);
    free(saved);
    r.jobs = r.cfg->max_concurrent_jobs; /* the configured value until the probe clamps it */
    r.tel = lleval_telemetry_new(r.cfg->enable_local_telemetry, r.cfg->telemetry_interval_ms);
    if (!rc) {
        if (r.old.created_at > 0)
            r.started_at = r.old.created_at;
        rc = lleval_run_write_manifest(&r, err);
    }
    if (!rc)
        rc = lleval_run_steps(&r, res, err);

    r.status = final_status(rc);
    if (rc)
        lleval_rs_set_error(&r.st, "%s", err->msg);
    {
        struct lleval_err ferr = LLEVAL_ERR_INIT;
        int frc =
            r.st.n_parts ? lleval_run_flush(&r, true, &ferr) : lleval_run_write_manifest(&r, &ferr);
        if (frc && !rc) {
            *err = ferr;
            rc = frc;
        }
    }
    if (!rc && (res->failed || (res->parsed && lleval_parse_mismatch(&res->parse))))
        rc = lleval_err_set(err, LLEVAL_EFAIL,
                            res->failed ? "%zu of %zu requests failed: see the error column of "
                                          "predictions.csv"
                                        : "parse found results that do not match the requests",
                            res->failed, res->requests);
    lleval_lock_release(lock);
    if (r.status == LLEVAL_RUN_FAILED && empty_new_run(&r))
        forget_empty_run(&r, res, err);
    free_run(&r);
    return rc;
}
