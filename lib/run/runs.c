/* The runs of a runs directory with their effective status and headline (see runs.h). */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/util/idset.h"
#include "lleval/run/batch.h"
#include "lleval/run/runs.h"
#include "lleval/util/util.h"
#include "remote_int.h"

/* Counts the complete result lines of one journal (read only: a torn last
 * line is skipped, not cut; a custom_id seen before counts once). */
static void count_journal(const char *path, struct lleval_idset *seen, long *answered, long *errors)
{
    struct lleval_lines lr;
    if (lleval_lines_open(&lr, path, NULL))
        return; /* no journal yet: nothing answered */
    while (lleval_lines_next(&lr, NULL) > 0 && !lr.torn) {
        json_t *line = json_loadb(lr.line, lr.len, 0, NULL);
        const char *cid = lleval_result_custom_id(line);
        bool found = false;
        if (cid)
            lleval_idset_put(seen, lleval_idset_hash(cid), 0, &found);
        if (cid && !found) {
            (*answered)++;
            if (lleval_result_failed(line))
                (*errors)++;
        }
        json_decref(line);
    }
    lleval_lines_close(&lr);
}

/* The answered and failed requests of every part the manifest's trials name,
 * from their journals. */
static void recount(const char *run_dir, const struct lleval_manifest *m, long *answered,
                    long *errors)
{
    struct lleval_idset seen = LLEVAL_IDSET_INIT;
    *answered = *errors = 0;
    for (size_t t = 0; t < m->n_trials; t++) {
        const struct lleval_manifest_trial *tr = &m->trials[t];
        for (long i = 1; tr->dataset && i <= tr->jobs_total; i++) {
            char *folder = lleval_trial_folder(tr->model, tr->dataset);
            char *path = lleval_run_journal_path(run_dir, folder, tr->temperature, i);
            free(folder);
            count_journal(path, &seen, answered, errors);
            free(path);
        }
    }
    lleval_idset_release(&seen);
}

void lleval_run_info_load(const char *run_dir, const char *id, struct lleval_run_info *out)
{
    struct lleval_manifest m;
    struct lleval_err err = LLEVAL_ERR_INIT, serr = LLEVAL_ERR_INIT;
    struct lleval_scores scores;
    char *spath = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_SCORES);
    /* missing or damaged scores: no headline */
    bool have_scores = !lleval_scores_load(spath, &scores, &serr);

    memset(out, 0, sizeof(*out));
    out->id = lleval_xstrdup(id);
    if (lleval_manifest_load(run_dir, &m, &err)) {
        lleval_manifest_release(&m); /* shown with what is known: nothing */
    }
    out->model_id = lleval_xstrdup(m.model_id ? m.model_id : "");
    for (size_t i = 0; i < m.n_trials; i++) { /* trials are model-major: count the changes */
        const char *tm = m.trials[i].model;
        if (tm && (!i || !m.trials[i - 1].model || strcmp(m.trials[i - 1].model, tm))) {
            out->models = lleval_xrealloc(out->models, (out->n_models + 1) * sizeof(char *));
            out->models[out->n_models++] = lleval_xstrdup(tm);
        }
    }
    out->engine = lleval_xstrdup(m.engine ? m.engine : "");
    out->status = lleval_run_effective_status(run_dir, m.status, &out->pid);
    out->requests = m.requests;
    out->answered = m.answered;
    out->errors = m.errors;
    /* a run whose manifest says running but whose process is gone (kill -9, a
     * crash) stopped between two manifest writes: its journals hold the truth */
    if (m.status == LLEVAL_RUN_RUNNING && out->status != LLEVAL_RUN_RUNNING)
        recount(run_dir, &m, &out->answered, &out->errors);
    out->started_at = m.created_at > 0 ? m.created_at : m.started_at;
    out->updated_at = m.updated_at > 0 ? m.updated_at : out->started_at;
    out->duration_s = m.active_s > 0 ? m.active_s : out->updated_at - out->started_at;
    out->headline = lleval_scores_headline(have_scores ? &scores : NULL);
    if ((out->status == LLEVAL_RUN_FAILED || out->status == LLEVAL_RUN_STOPPED) && m.last_error &&
        m.last_error[0])
        out->cause = lleval_xstrdup(m.last_error);
    lleval_manifest_release(&m);
    lleval_scores_release(&scores);
    free(spath);
}

void lleval_run_info_release(struct lleval_run_info *r)
{
    free(r->id);
    free(r->model_id);
    for (size_t i = 0; i < r->n_models; i++)
        free(r->models[i]);
    free(r->models);
    free(r->engine);
    free(r->cause);
    memset(r, 0, sizeof(*r));
}

static int cmp_runs(const void *a, const void *b)
{
    const struct lleval_run_info *x = a, *y = b;
    if (x->started_at != y->started_at)
        return x->started_at < y->started_at ? -1 : 1;
    return strcmp(x->id, y->id);
}

int lleval_runs_list(const char *runs_dir, struct lleval_run_info **out, size_t *n,
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
        m = lleval_run_file_path(dir, LLEVAL_RUN_FILE_MANIFEST);
        is_run = lleval_path_exists(m);
        free(m);
        if (is_run) {
            LLEVAL_GROW(*out, *n, cap);
            lleval_run_info_load(dir, name, &(*out)[(*n)++]);
        }
        free(dir);
    }
    lleval_dir_list_release(&names);
    if (*n)
        qsort(*out, *n, sizeof(**out), cmp_runs);
    return 0;
}

void lleval_runs_free(struct lleval_run_info *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lleval_run_info_release(&runs[i]);
    free(runs);
}

int lleval_run_request_cancel(const char *runs_dir, const char *id, long *pid_out,
                              struct lleval_err *err)
{
    char *dir = lleval_run_dir(runs_dir, id, err), *cancel;
    int rc;
    *pid_out = 0;
    if (!dir)
        return err->code;
    if (!lleval_is_dir(dir) || !lleval_run_lock_held(dir)) {
        free(dir);
        return lleval_run_request_stop(runs_dir, id, pid_out, err); /* says why not */
    }
    cancel = lleval_path_join(dir, LLEVAL_REMOTE_CANCEL_FILE);
    rc = lleval_write_file_atomic(cancel, "cancel\n", 7, err);
    if (!rc)
        rc = lleval_run_request_stop(runs_dir, id, pid_out, err);
    if (rc)
        remove(cancel);
    free(cancel);
    free(dir);
    return rc;
}

int lleval_run_mark_cancel(const char *runs_dir, const char *id, bool *running,
                           struct lleval_err *err)
{
    char *dir = lleval_run_dir(runs_dir, id, err), *cancel;
    struct lleval_manifest m;
    enum lleval_engine_kind kind;
    int rc = 0;
    *running = false;
    if (!dir)
        return err->code;
    lleval_manifest_init(&m);
    if (!lleval_is_dir(dir) || lleval_manifest_load(dir, &m, err)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL, "no run '%s' in '%s' (see `lleval runs list`)", id,
                            runs_dir);
    } else if (lleval_run_lock_held(dir)) {
        *running = true;
    } else if (m.status == LLEVAL_RUN_DONE) {
        rc = lleval_err_set(err, LLEVAL_EINVAL, "run '%s' is done: it has no batch job to cancel",
                            id);
    } else if (!m.engine || lleval_engine_kind_parse(m.engine, &kind) ||
               (kind != LLEVAL_ENGINE_OPENAI_BATCH && kind != LLEVAL_ENGINE_FIREWORKS_BATCH)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "run '%s' (engine %s) has no cloud batch jobs to cancel, and it is not "
                            "running",
                            id, m.engine ? m.engine : "unknown");
    } else {
        cancel = lleval_path_join(dir, LLEVAL_REMOTE_CANCEL_FILE);
        rc = lleval_write_file_atomic(cancel, "cancel\n", 7, err);
        free(cancel);
    }
    lleval_manifest_release(&m);
    free(dir);
    return rc;
}
