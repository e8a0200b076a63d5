/*
 * The run orchestrator (the guide's run_all): prepare -> build -> submit ->
 * poll -> parse -> score -> report in a run directory (docs/formats.md), with
 * a lock per run, resumable state, per-part state.json and a manifest with
 * job_counts per trial. The library reports progress through callbacks; it
 * never prints.
 */
#ifndef LLEVAL_RUN_H
#define LLEVAL_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include "lleval/config/config.h"
#include "lleval/util/error.h"
#include "lleval/run/parse.h"
#include "lleval/run/rundir.h"
#include "lleval/run/scheduler.h"

/* Progress of the poll step, for the tool's progress line. */
struct lleval_progress {
    const struct lleval_sched_stats *sched;
    size_t total;    /* requests of the whole run */
    size_t answered; /* including those answered before a resume */
    size_t errors;
    double rps;     /* requests/s in this session */
    double gen_tps; /* generated tokens/s in this session */
    double eta_s;   /* -1 unknown */
    size_t n_trials;
    const char *const *trial_names; /* "nq_open/t0" */
    const size_t *trial_done;
    const size_t *trial_total;
};

struct lleval_run_opts {
    enum lleval_step to_step; /* last step to run (default REPORT) */
    bool skip_prepare;
    bool skip_build;    /* use the batches in cfg->batches_dir */
    const char *run_id; /* NULL: a new id; else create or resume this run */
    bool resume;        /* the run must exist; its saved config is used */
    /* max_concurrent_jobs auto: stop (resumable) once the concurrency is
     * measured (`lleval tune`) */
    bool tune_only;
    /* Called with one-line messages ("prepare: nq_open 3610 items"). */
    void (*on_event)(void *ud, const char *msg);
    /* Called on the scheduler's ticks during poll. */
    void (*on_progress)(void *ud, const struct lleval_progress *p);
    /* Called for every warning (truncation rate, clamps, context overflow). */
    void (*on_warning)(void *ud, const char *msg);
    void *ud;
};
void lleval_run_opts_init(struct lleval_run_opts *o);

struct lleval_run_result {
    char *run_id;               /* owned */
    char *run_dir;              /* owned */
    enum lleval_step last_step; /* last step completed */
    size_t requests, answered, failed;
    struct lleval_parse_report parse;
    bool parsed;
    char *scores_path; /* owned, when scored */
    char *summary;     /* owned: the scores table as text, when scored */
};
void lleval_run_result_release(struct lleval_run_result *r);

/*
 * Runs (or resumes) a run. cfg is used for a new run; a resumed run reloads
 * its config.resolved.yaml into cfg. Returns 0 when every step up to to_step
 * finished and every request succeeded; LLEVAL_EFAIL when some requests
 * failed or parse found a mismatch; LLEVAL_EINTR when stopped (resumable);
 * LLEVAL_EENGINE when the engine is unreachable (resumable). cfg's
 * max_concurrent_jobs is not changed: a clamp to the server's slots is the
 * run's own (the manifest's max_concurrent_jobs).
 */
int lleval_run_execute(struct lleval_config *cfg, const struct lleval_run_opts *o,
                       struct lleval_run_result *res, struct lleval_err *err);

/* The run ids, lleval_run_dir and lleval_run_request_stop are in rundir.h. */

#endif
