/*
 * The runs of a runs directory, as `lleval runs list` shows them: id,
 * model, engine, effective status (rundir.h), progress, headline metric
 * (lleval_scores_headline() of results/scores.json, read through scores.h)
 * and times. Reads only; never prints.
 */
#ifndef LLEVAL_RUNS_H
#define LLEVAL_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include "lleval/run/rundir.h"
#include "lleval/score/scores.h"
#include "lleval/util/error.h"

/* One run. Strings owned; empty when the manifest does not say (or cannot
 * be read: the run then shows as failed, or running while its process lives). */
struct lleval_run_info {
    char *id;
    char *model_id;  /* of a run of several models, the first */
    size_t n_models; /* the models its trials name: 0 for a run of one model */
    char **models;   /* those models in the trials' order (n_models, owned); NULL: none */
    char *engine;
    enum lleval_run_status status; /* effective (lleval_run_effective_status) */
    long pid;                      /* the lock file's pid, 0: none; may be dead */
    /* answered and errors: the manifest's, except for a run that says running
     * but whose process is gone (killed between two manifest writes, which come
     * once a second): then counted from its journals, the truth after a crash */
    long requests, answered, errors;
    double started_at; /* created_at, else started_at (seconds since the epoch; 0: unknown) */
    double updated_at; /* updated_at, else started_at */
    /* seconds active, summed over the sessions (the manifest's active_s; for a
     * manifest without it, updated_at - started_at) */
    double duration_s;
    struct lleval_headline headline;
    /* why a failed or stopped run ended (the manifest's last_error), NULL when
     * it says nothing or the run did not fail or stop; engine text, unsanitized */
    char *cause;
};

/* Reads one run (run_dir borrowed) into out (owned: lleval_run_info_release). */
void lleval_run_info_load(const char *run_dir, const char *id, struct lleval_run_info *out);
void lleval_run_info_release(struct lleval_run_info *r);

/*
 * Lists the runs in runs_dir, oldest first (ties by id): every folder with a
 * valid run id that holds a manifest.json. A missing runs_dir has no runs.
 * *out is owned (lleval_runs_free); LLEVAL_EIO when runs_dir cannot be read.
 */
int lleval_runs_list(const char *runs_dir, struct lleval_run_info **out, size_t *n,
                     struct lleval_err *err);
void lleval_runs_free(struct lleval_run_info *runs, size_t n);

/*
 * For a run of a cloud batch engine that no process runs (stopped, its jobs
 * left running at the provider): writes the run's cancel.request, so that the
 * next session (a resume) submits nothing and cancels the jobs it follows.
 * *running is set when a process runs it (then nothing is written: use
 * lleval_run_request_cancel). LLEVAL_EINVAL for a run of another engine or an
 * unknown run (err says which), LLEVAL_EIO when the file cannot be written.
 */
int lleval_run_mark_cancel(const char *runs_dir, const char *id, bool *running,
                           struct lleval_err *err);

/*
 * As lleval_run_request_stop (rundir.h), and asks the process to cancel the
 * run's cloud batch jobs as it stops (`lleval runs stop --cancel`): the run
 * directory gets a cancel.request file that the poll step reads when it
 * stops. Without a running process nothing is written (LLEVAL_EINVAL).
 */
int lleval_run_request_cancel(const char *runs_dir, const char *id, long *pid_out,
                              struct lleval_err *err);

#endif
