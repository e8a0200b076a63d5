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
#include "lleval/run/scheduler.h"

enum lleval_step {
    LLEVAL_STEP_PREPARE = 0,
    LLEVAL_STEP_BUILD,
    LLEVAL_STEP_SUBMIT,
    LLEVAL_STEP_POLL,
    LLEVAL_STEP_PARSE,
    LLEVAL_STEP_SCORE,
    LLEVAL_STEP_REPORT,
    LLEVAL_N_STEPS,
};
const char *lleval_step_name(enum lleval_step s);
int lleval_step_parse(const char *s, enum lleval_step *out);

/* Progress of the poll step, for the tool's progress line. */
struct lleval_progress {
    const struct lleval_sched_stats *sched;
    size_t total;        /* requests of the whole run */
    size_t answered;     /* including those answered before a resume */
    size_t errors;
    double rps;          /* requests/s in this session */
    double gen_tps;      /* generated tokens/s in this session */
    double eta_s;        /* -1 unknown */
    size_t n_trials;
    const char *const *trial_names;  /* "nq_open/t0" */
    const size_t *trial_done;
    const size_t *trial_total;
};

struct lleval_run_opts {
    enum lleval_step to_step;    /* last step to run (default REPORT) */
    bool skip_prepare;
    bool skip_build;             /* use the batches in cfg->batches_dir */
    const char *run_id;          /* NULL: a new id; else create or resume this run */
    bool resume;                 /* the run must exist; its saved config is used */
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
    char *run_id;          /* owned */
    char *run_dir;         /* owned */
    enum lleval_step last_step; /* last step completed */
    size_t requests, answered, failed;
    struct lleval_parse_report parse;
    bool parsed;
    char *scores_path;     /* owned, when scored */
    char *summary;         /* owned: the scores table as text, when scored */
};
void lleval_run_result_release(struct lleval_run_result *r);

/*
 * Runs (or resumes) a run. cfg is used for a new run; a resumed run reloads
 * its config.resolved.yaml into cfg. Returns 0 when every step up to to_step
 * finished and every request succeeded; LLEVAL_EFAIL when some requests
 * failed or parse found a mismatch; LLEVAL_EINTR when stopped (resumable);
 * LLEVAL_EENGINE when the engine is unreachable (resumable).
 */
int lleval_run_execute(struct lleval_config *cfg, const struct lleval_run_opts *o,
                       struct lleval_run_result *res, struct lleval_err *err);

/* Validates a run id from the command line: [A-Za-z0-9_.-]{1,128}, no leading dot. */
bool lleval_run_id_valid(const char *id);
/* Returns an owned "<runs_dir>/<id>" after validating id. */
char *lleval_run_dir(const char *runs_dir, const char *id, struct lleval_err *err);
/* Asks the process running a run to stop gracefully (writes the stop file). */
int lleval_run_request_stop(const char *runs_dir, const char *id, long *pid_out,
                            struct lleval_err *err);

#endif
