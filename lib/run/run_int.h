/*
 * The run orchestrator's internals, shared by run.c (the public entry, the
 * run directory and lock, the final status), steps.c (the step table and
 * the steps) and poll.c (the poll loop: the job source, on_result,
 * on_tick). The state model is state.h; the files are rundir.h.
 */
#ifndef LLEVAL_RUN_INT_H
#define LLEVAL_RUN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/engine/engine.h"
#include "lleval/engine/launch.h"
#include "lleval/run/batch.h"
#include "lleval/run/run.h"
#include "lleval/run/tune.h"
#include "lleval/telemetry/telemetry.h"
#include "state.h"

struct run {
    struct lleval_config *cfg;
    const struct lleval_run_opts *o;
    char *id, *dir, *batches_dir, *lock_path, *stop_path;
    struct lleval_build_result build;
    struct lleval_run_state st; /* parts and trials */
    bool have_batches;          /* a resumed run: its prepared data and batches stay */
    enum lleval_run_status status;
    /* the effective concurrency: max_concurrent_jobs, clamped to the server's slots */
    long jobs;
    struct lleval_tune_result tune; /* max_concurrent_jobs auto: this session's (tune.c) */
    double started_at;
    double last_flush;
    size_t steps_done; /* number of steps completed */
    char engine_detail[256];
    bool stop_requested;
    struct lleval_telemetry *tel; /* the sampler (telemetry.h) */
    struct lleval_manifest old;   /* the manifest before this session (empty for a new run) */
    /* a managed llama-server (launch section), and the engine it serves */
    struct lleval_launch *launch;
    struct lleval_engine *engine; /* owned while open, else NULL */
    struct run_endpoints *eps;    /* several endpoints (endpoints_int.h), else NULL */
    long launch_restarts_seen;
    /* a run of several models: the model the managed server was started for
     * (borrowed from the parts; NULL: none yet), and cfg's settings for the
     * model being asked (lleval_config_for_model: a shallow copy, never released) */
    const char *server_model;
    struct lleval_config model_cfg;
    long slots;                      /* the server's slots, from the last probe (0: unknown) */
    struct lleval_err launch_err;    /* why the managed server could not be kept up */
    json_t *engine_events, *retries; /* events.h, the old manifest's and this session's */
    /* progress arrays */
    const char **trial_names;
    size_t *trial_done, *trial_total;
    size_t session_start_answered;
    /* results_combined.jsonl as this session's poll step wrote it: part i's
     * journal ends combined_ends[i] bytes into it (NULL: not written by this
     * session); the doctor's facts of its lines, gathered by the parse step
     * for the report's doctor (NULL: none; doctor.h) */
    uint64_t *combined_ends;
    struct lleval_doctor_lines *doctor_lines;
};

/* One-line messages through the caller's callbacks (run.c). */
void lleval_run_event(struct run *r, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
void lleval_run_warning(struct run *r, const char *fmt, ...) LLEVAL_PRINTF(2, 3);

/* Writes the manifest from the run's state (run.c). */
int lleval_run_write_manifest(struct run *r, struct lleval_err *err);
/* Syncs the journals and writes the dirty parts' state.json and the
 * manifest, at most once a second unless force (run.c). */
int lleval_run_flush(struct run *r, bool force, struct lleval_err *err);

/* Sets m's engine_events and retries: this session's, else the old manifest's (poll.c). */
void lleval_run_events_manifest(const struct run *r, struct lleval_manifest *m);

/* Points the engine at the managed server's current address (steps.c). */
void lleval_run_follow_server(struct run *r);

/* Before the requests of one model of a run of several (model borrowed from
 * the parts): sets the model's concurrency and, with a managed llama-server,
 * stops the previous model's server (waiting for it to exit) and starts and
 * probes this model's (steps.c). */
int lleval_run_model_begin(struct run *r, const char *model, struct lleval_err *err);
/* Names the model of the server on the last engine event of a run of several
 * models, when one was added since the events counted before (steps.c). */
void lleval_run_tag_event(struct run *r, size_t before);
/* Records that the managed server l (borrowed; the run's or an endpoint's) died:
 * restarted (kind "restart") or given up ("died"), with its exit and address. */
void lleval_run_note_server_exit(struct run *r, struct lleval_launch *l, const char *kind,
                                 const char *cause);

/* Runs the steps of the table up to o->to_step (steps.c). */
int lleval_run_steps(struct run *r, struct lleval_run_result *res, struct lleval_err *err);

/* The poll step: sends the unanswered requests and routes each result into
 * its part's journal (poll.c). */
int lleval_run_poll(struct run *r, struct lleval_err *err);
/* max_concurrent_jobs auto, once per session: measures concurrencies on the
 * first of the n requests next() supplies (tune.h), sets r->jobs and r->tune;
 * *answered counts the results delivered (tune.c). */
int lleval_run_tune(struct run *r, lleval_sched_next_fn next, lleval_sched_result_fn on_result,
                    lleval_sched_tick_fn on_tick, void *ud, const struct lleval_sched_opts *so,
                    size_t n, size_t *answered, struct lleval_err *err);
/* max_concurrent_jobs auto with a managed llama-server whose launch.parallel
 * and ctx_size are unset: sets them in r->cfg from the planner (the most
 * slots, up to LLEVAL_TUNE_MAX_SLOTS, whose context holds the run's largest
 * request, within 90% of the card, or of RAM on the CPU, where -t is the
 * number of cores) and records them in r->tune; a warning when it cannot
 * (tune.c). */
void lleval_run_plan_server(struct run *r);
/* Concatenates the part journals, in part order, into out_path (poll.c). */
int lleval_run_combine(struct run *r, const char *out_path, struct lleval_err *err);

#endif
