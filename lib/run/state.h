/*
 * The run's state model (library-internal; tests/unit/test_run_state.c
 * includes it too): the parts of a run and the trials (dataset,
 * temperature) they belong to, with their request counts, statuses, timings,
 * tokens, engine speeds and telemetry, and how they are written to each
 * part's state.json and to the manifest's trials (through rundir.h).
 */
#ifndef LLEVAL_RUN_STATE_H
#define LLEVAL_RUN_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/result/result.h"
#include "lleval/run/batch.h"
#include "lleval/run/journal.h"
#include "lleval/run/rundir.h"
#include "lleval/telemetry/telemetry.h"
#include "lleval/util/error.h"

/* One part file of the build and its result journal. */
struct lleval_rs_part {
    const struct lleval_part_info *info; /* borrowed from the build */
    size_t trial;                        /* index into the trials */
    char *name;                          /* dataset/t0/part-001, owned */
    char *state_path;                    /* owned */
    char *journal_path;                  /* owned */
    struct lleval_journal *journal;      /* owned; NULL until lleval_rs_load opens it */
    size_t requests;
    size_t answered, ok, errors;
    long prompt_tokens, completion_tokens;
    double started_at, finished_at; /* 0: not yet */
    /* active time: earlier sessions' (state.json's elapsed_s) and when this
     * session started it (0: it had nothing to do in this session) */
    double elapsed_before, session_start;
    enum lleval_run_status status; /* queued | running | done | stopped | failed */
    bool dirty;                    /* changed since its state.json was written */
    char *last_state;              /* the bytes this process last gave state.json, owned */
    size_t first_job;              /* index of its first job in this session's poll (telemetry) */
    struct lleval_telemetry_acc tel;
    json_t *remote; /* a cloud batch engine's job, as state.json's "remote" (owned), or NULL */
};

/* One (dataset, temperature) pair, of one model in a run of several. */
struct lleval_rs_trial {
    char *name;  /* dataset/t0 (several models: <model folder>/dataset/t0), owned */
    char *model; /* a run of several models: the model, owned; NULL for one model */
    char *dataset;
    double temp;
    size_t parts, requests, answered, errors;
    double started_at, finished_at;
    double elapsed_before, session_start; /* as for a part, from the manifest's trial */
    /* engine-reported speeds: sums and counts of the non-zero ones */
    double prompt_tps_sum, gen_tps_sum;
    long prompt_tps_n, gen_tps_n;
    struct lleval_telemetry_acc tel;
};

struct lleval_run_state {
    const char *run_dir; /* borrowed */
    const char *run_id;  /* borrowed */
    struct lleval_rs_part *parts;
    size_t n_parts;
    struct lleval_rs_trial *trials;
    size_t n_trials;
    /* the manifest's last_error: the last failed request or the run's error,
     * valid UTF-8 when what it was set from is (see lleval_rs_set_error) */
    char last_error[512];
    double session_start; /* when this session began (lleval_rs_init) */
};

/* Starts an empty state for the run (run_dir and run_id borrowed; they outlive st). */
void lleval_rs_init(struct lleval_run_state *st, const char *run_dir, const char *run_id);
/* Closes the journals and frees the parts and trials. */
void lleval_rs_release(struct lleval_run_state *st);

/* Adds the part (info borrowed) to its trial, creating the trial when new.
 * Returns the part's index. Opens nothing. */
size_t lleval_rs_add_part(struct lleval_run_state *st, const struct lleval_part_info *info);

/*
 * Sets up the parts of build (borrowed; it outlives st): creates their
 * folders, opens each journal (the answered requests are the journal's
 * lines: a torn tail is repaired, see lleval_journal_stats' repaired) and
 * keeps the timings, tokens and telemetry an earlier session wrote into the
 * part's state.json (a missing or damaged one is ignored). Counts go into
 * the trials. Writes nothing.
 */
int lleval_rs_load(struct lleval_run_state *st, const struct lleval_build_result *build,
                   struct lleval_err *err);

/* Keeps the telemetry, engine speeds and active time that earlier sessions
 * wrote into the manifest's trials (old borrowed; a speed mean counts as one
 * result for each of the trial's results answered before; a finished trial
 * keeps its finish time). */
void lleval_rs_restore(struct lleval_run_state *st, const struct lleval_manifest *old);

/* Marks the unfinished parts running, starting their clocks; returns the
 * number of requests left to send. */
size_t lleval_rs_start(struct lleval_run_state *st);

/* Counts one decoded result line (v borrowed) of part i: answered, ok or
 * error, tokens, engine speeds (the positive ones). Returns true when it
 * finished the part (then done, with its finish time). */
bool lleval_rs_count(struct lleval_run_state *st, size_t i, const struct lleval_result_view *v);

/* Sets st->last_error to the formatted text, cut to fit at a UTF-8
 * character boundary (manifest.json holds it, and JSON text must not end in
 * half a character). */
void lleval_rs_set_error(struct lleval_run_state *st, const char *fmt, ...) LLEVAL_PRINTF(2, 3);

/* After the poll: running parts become stopped; an unreachable engine
 * (rc LLEVAL_EENGINE) leaves no part failed either (all resumable). */
void lleval_rs_settle(struct lleval_run_state *st, int rc);

/* Fills out (initialized here; the caller releases it) with part i's
 * state.json; tel (borrowed, may be NULL) renders its telemetry. */
void lleval_rs_part_state(const struct lleval_run_state *st, size_t i,
                          const struct lleval_telemetry *tel, struct lleval_part_state *out);
/* Writes part i's state.json and clears its dirty flag. */
int lleval_rs_write_part(struct lleval_run_state *st, size_t i, const struct lleval_telemetry *tel,
                         struct lleval_err *err);

/* Adds the trials (job counts by part status, requests, tokens, timings,
 * telemetry, engine speeds) and their request totals to m. */
void lleval_rs_manifest_trials(const struct lleval_run_state *st,
                               const struct lleval_telemetry *tel, struct lleval_manifest *m);

/* Syncs every journal and writes the state.json of the dirty parts (all
 * when force). */
int lleval_rs_flush_parts(struct lleval_run_state *st, bool force,
                          const struct lleval_telemetry *tel, struct lleval_err *err);

/*
 * The run's active seconds for the manifest's active_s: the earlier sessions'
 * (old's active_s; for a manifest written before the field, its updated_at
 * minus its start) plus this session's, so the idle time between sessions
 * never counts. A session that resumes a run that had finished (old says
 * done after every step) adds nothing: it asks nothing and changes no number.
 */
double lleval_rs_active_s(const struct lleval_run_state *st, const struct lleval_manifest *old);

/* Seconds part i (or trial t) was active, summed over the sessions. */
double lleval_rs_part_elapsed(const struct lleval_run_state *st, size_t i);
double lleval_rs_trial_elapsed(const struct lleval_run_state *st, size_t t);

/* Answered requests and failed ones over all parts. */
void lleval_rs_totals(const struct lleval_run_state *st, size_t *answered, size_t *failed);

#endif
