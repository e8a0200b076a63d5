/*
 * The run directory (docs/formats.md, "Run directory"): the one place that
 * knows its layout, the run ids, the status words, the steps as the manifest
 * records them, and the typed manifest.json and per-part state.json.
 *
 *   <runs_dir>/<run_id>/config.resolved.yaml, manifest.json, lock, stop,
 *     batches/build.json, batches/<dataset>/t<temp>/part-NNN.jsonl,
 *     parts/<dataset>/t<temp>/part-NNN/state.json,
 *     results/parts/<dataset>/t<temp>/part-NNN.jsonl, results/results_combined.jsonl,
 *     results/predictions.csv, results/scores.json, results/items.csv,
 *     results/items.jsonl, report.html, report.md,
 *     logs/llama-server.log
 *
 * Path functions return owned strings (free them). Nothing here prints.
 */
#ifndef LLEVAL_RUNDIR_H
#define LLEVAL_RUNDIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/error.h"

/* ---- files ------------------------------------------------------------------ */

/* The files and folders of a run directory that do not depend on a part. */
enum lleval_run_file {
    LLEVAL_RUN_FILE_CONFIG = 0,  /* config.resolved.yaml */
    LLEVAL_RUN_FILE_MANIFEST,    /* manifest.json */
    LLEVAL_RUN_FILE_LOCK,        /* lock: locked by the process running the run (its pid inside) */
    LLEVAL_RUN_FILE_STOP,        /* stop: present when `lleval runs stop` asked to stop */
    LLEVAL_RUN_FILE_BATCHES,     /* batches/ (folder) */
    LLEVAL_RUN_FILE_BUILD,       /* batches/build.json */
    LLEVAL_RUN_FILE_PARTS,       /* parts/ (folder of the part states) */
    LLEVAL_RUN_FILE_RESULTS,     /* results/ (folder) */
    LLEVAL_RUN_FILE_COMBINED,    /* results/results_combined.jsonl */
    LLEVAL_RUN_FILE_PREDICTIONS, /* results/predictions.csv */
    LLEVAL_RUN_FILE_SCORES,      /* results/scores.json */
    LLEVAL_RUN_FILE_ITEMS_CSV,   /* results/items.csv (score/items.h) */
    LLEVAL_RUN_FILE_ITEMS_JSONL, /* results/items.jsonl (score/items.h) */
    LLEVAL_RUN_FILE_REPORT_HTML, /* report.html */
    LLEVAL_RUN_FILE_REPORT_MD,   /* report.md */
    LLEVAL_RUN_FILE_LOGS,        /* logs/ (folder) */
    LLEVAL_RUN_FILE_LLAMA_LOG,   /* logs/llama-server.log (a managed engine) */
    LLEVAL_N_RUN_FILES,
};

/* The path of f relative to the run directory ("results/scores.json"), static. */
const char *lleval_run_file_rel(enum lleval_run_file f);
/* Returns an owned "<run_dir>/<relative path of f>". */
char *lleval_run_file_path(const char *run_dir, enum lleval_run_file f);
/* path relative to run_dir as artifacts and tables name it ("parts/d1/t0/..."), with '/'
 * on every platform; path itself (with '/') when it is not under run_dir. Owned. */
char *lleval_run_rel_path(const char *run_dir, const char *path);

/* A trial's name, "<dataset>/t<temp>" ("nq_open/t0.7"); owned. */
char *lleval_run_trial_name(const char *dataset, double temp);
/* A part's name, "<dataset>/t<temp>/part-NNN" (index 1-based, 3 digits or more); owned. */
char *lleval_run_part_name(const char *dataset, double temp, long index);
/* Owned "<run_dir>/batches/<dataset>/t<temp>/part-NNN.jsonl": the part's requests. */
char *lleval_run_batch_path(const char *run_dir, const char *dataset, double temp, long index);
/* Owned "<run_dir>/results/parts/<dataset>/t<temp>/part-NNN.jsonl": the part's result journal. */
char *lleval_run_journal_path(const char *run_dir, const char *dataset, double temp, long index);
/* Owned "<run_dir>/parts/<dataset>/t<temp>/part-NNN/state.json": the part's state. */
char *lleval_run_state_path(const char *run_dir, const char *dataset, double temp, long index);

/* Creates the run directory with its logs/ and results/ folders (mkdir -p). */
int lleval_run_dir_create(const char *run_dir, struct lleval_err *err);

/* Removes the temp files a killed writer left in the run directory tree
 * ("<file>.tmp.<pid>", see lleval_write_file_atomic), each only when its pid
 * runs no process: never a live writer's (nor this process's). Links to
 * folders are not entered. Call it holding the run's lock. Returns how many
 * were removed; a file that cannot be removed is left (best effort). */
size_t lleval_run_dir_remove_stale_tmp(const char *run_dir);

/* ---- damaged files -------------------------------------------------------------- */

/* What to do about a damaged file of a run directory (the "; <what to do>"
 * of its error; docs/formats.md, "Damaged files"), one per kind of file. */
#define LLEVAL_RUN_FIX_JOURNAL                                                                     \
    "remove the line or restore the file from a backup; the run then asks that request again"
#define LLEVAL_RUN_FIX_BATCH                                                                       \
    "restore it from a backup, or remove the run's batches folder and resume: the run builds "     \
    "the batches again from its config"
#define LLEVAL_RUN_FIX_MANIFEST                                                                    \
    "restore it from a backup, or move it aside and resume: the run writes a new one from the "    \
    "journals (its timings and telemetry are lost)"
#define LLEVAL_RUN_FIX_STATE                                                                       \
    "restore it from a backup, or move it aside and resume: the run writes it again from the "     \
    "part's journal (the part's timings are lost)"
#define LLEVAL_RUN_FIX_OUTPUT "move aside the folder of that name: lleval writes the file there"
#define LLEVAL_RUN_FIX_CONFIG                                                                      \
    "lleval wrote this file: restore it from a backup, or start a new run (its settings cannot "   \
    "be made up again)"

/* Makes err, an error reading a file of a run directory, the error of a
 * damaged run: code LLEVAL_EIO (exit 4, whatever the parser's code was) and
 * "; <fix>" appended unless the message says it already. Returns LLEVAL_EIO.
 * Borrows fix. */
int lleval_run_err_damaged(struct lleval_err *err, const char *fix);

struct lleval_config;
/* Reads a run's saved config.resolved.yaml into cfg (initialized by the
 * caller, who releases it, also on failure). A missing, empty, unreadable or
 * damaged file is LLEVAL_EIO naming the file (and its line where the YAML
 * says one) with LLEVAL_RUN_FIX_CONFIG: lleval wrote the file, so unlike a
 * user's --config it is never exit 2. */
int lleval_run_config_load(const char *run_dir, struct lleval_config *cfg, struct lleval_err *err);

/* ---- run ids ------------------------------------------------------------------ */

/* Validates a run id from the command line: [A-Za-z0-9_.-]{1,128}, no leading dot. */
bool lleval_run_id_valid(const char *id);
/* Returns an owned "<runs_dir>/<id>" after validating id (LLEVAL_EINVAL, err says why). */
char *lleval_run_dir(const char *runs_dir, const char *id, struct lleval_err *err);
/* A new run id from the current UTC time, "run_20240909_123456", with "_2",
 * "_3", ... appended while "<runs_dir>/<id>" exists. Returns owned. */
char *lleval_run_new_id(const char *runs_dir);

/* ---- status ------------------------------------------------------------------- */

/* The status of a run (manifest.json) or of a part (state.json). */
enum lleval_run_status {
    LLEVAL_RUN_UNKNOWN = 0, /* "unknown": not recorded */
    LLEVAL_RUN_QUEUED,      /* "queued": a part not started yet */
    LLEVAL_RUN_RUNNING,     /* "running" */
    LLEVAL_RUN_DONE,        /* "done" */
    LLEVAL_RUN_STOPPED,     /* "stopped": resumable */
    LLEVAL_RUN_FAILED,      /* "failed" */
    LLEVAL_N_RUN_STATUS,
};
/* The word written to the files ("done"); static. */
const char *lleval_run_status_name(enum lleval_run_status s);
/* The status for a word; LLEVAL_EINVAL (out untouched) for any other word. */
int lleval_run_status_parse(const char *s, enum lleval_run_status *out);

/* The pid written in the run's lock file (0: none), information only: the
 * process may be dead (lleval_run_lock_held says whether it runs). */
long lleval_run_lock_pid(const char *run_dir);

/* True when a process holds the run's lock now (platform.h,
 * lleval_lock_is_held): the run is being run. */
bool lleval_run_lock_held(const char *run_dir);

/*
 * What a run's status really is: "running" while a process holds its lock
 * (lleval_run_lock_held, not a pid's liveness: a pid may be reused),
 * whatever the manifest says; a recorded "running" without a holder is
 * "stopped" (a crash or kill -9); a run without a recorded status counts as
 * "failed". *pid_out (may be NULL) gets the pid written in the lock file, 0
 * when none (it may name a dead process when the run is not running).
 */
enum lleval_run_status lleval_run_effective_status(const char *run_dir,
                                                   enum lleval_run_status recorded, long *pid_out);

/* Asks the process running run id to stop gracefully (writes the stop file).
 * *pid_out gets that process's pid. LLEVAL_EINVAL when there is no such run
 * or it is not running. */
int lleval_run_request_stop(const char *runs_dir, const char *id, long *pid_out,
                            struct lleval_err *err);

/* ---- steps -------------------------------------------------------------------- */

/* The steps of a run, in their order. */
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
/* "prepare", ...; "?" for anything else. Static. */
const char *lleval_step_name(enum lleval_step s);
/* The step for a name; LLEVAL_EINVAL for any other name. */
int lleval_step_parse(const char *s, enum lleval_step *out);

/* ---- manifest.json ------------------------------------------------------------ */

/* The manifest format this lleval writes; it reads this one and older ones
 * (a manifest without format_version is version 1). */
#define LLEVAL_MANIFEST_FORMAT 1

/* One trial (dataset, temperature) of the manifest. Times are seconds since
 * the epoch; 0 is written as null. */
struct lleval_manifest_trial {
    char *trial;   /* "nq_open/t0" (several models: "<model folder>/nq_open/t0"), owned */
    char *model;   /* a run of several models: the trial's model, owned; NULL: absent */
    char *dataset; /* owned */
    double temperature;
    /* parts by status */
    long jobs_total, jobs_queued, jobs_running, jobs_done, jobs_stopped, jobs_failed;
    long requests, answered, errors;
    long prompt_tokens, completion_tokens;
    double started_at, finished_at, elapsed_s;
    json_t *telemetry; /* owned; telemetry.h's format; NULL: none (written as null) */
    /* means of the engine-reported speeds (engine_speed); 0: unknown (null) */
    double prompt_tps, gen_tps;
};

struct lleval_manifest {
    long format_version; /* LLEVAL_MANIFEST_FORMAT when saved */
    char *run_id;        /* owned, as every string here; NULL is written as "" */
    enum lleval_run_status status;
    long pid;
    char *model_id;
    char *engine;
    char *base_url; /* NULL: null */
    char *prompt_set;
    long max_concurrent_jobs; /* the effective one (after a clamp to the server's slots) */
    double started_at;        /* started_at_utc is derived from it */
    double updated_at;
    enum lleval_step to_step;
    size_t steps_done; /* the first steps_done steps are done */
    long requests, answered, errors;
    char *engine_detail;
    char *last_error;
    struct lleval_manifest_trial *trials;
    size_t n_trials;
    json_t *headline;  /* owned, NULL: none; kept as found in older manifests */
    double created_at; /* when the run was first started; 0: absent */
    /* seconds the run was active, summed over its sessions (the idle time between
     * sessions left out); 0: absent (a manifest written before the field) */
    double active_s;
    /* engine events (events.h): an array, and the retries by error class, an
     * object; owned, NULL: none (absent, as in manifests written before them) */
    json_t *engine_events, *retries;
    /* max_concurrent_jobs auto: the choice and the measured curve (run/tune.h);
     * an object, owned; NULL: none (absent) */
    json_t *tune;
    /* a run of several endpoints: an array of their counters (docs/formats.md);
     * owned, NULL: none */
    json_t *endpoints;
};

void lleval_manifest_init(struct lleval_manifest *m);
void lleval_manifest_release(struct lleval_manifest *m);
/* Adds a zeroed trial (owned by m) and returns it. */
struct lleval_manifest_trial *lleval_manifest_add_trial(struct lleval_manifest *m);

/* Writes <run_dir>/manifest.json atomically (m borrowed). */
int lleval_manifest_save(const char *run_dir, const struct lleval_manifest *m,
                         struct lleval_err *err);
/*
 * Reads <run_dir>/manifest.json into m (initialized here; release it even on
 * failure). Absent fields keep their zero defaults. Errors name the file:
 * LLEVAL_EINVAL for a missing file ("no manifest.json in ...: not a run
 * directory"), damaged JSON, a field of the wrong type, or a format_version
 * newer than this lleval reads; LLEVAL_EIO when it cannot be read.
 */
int lleval_manifest_load(const char *run_dir, struct lleval_manifest *m, struct lleval_err *err);

/* ---- parts/.../state.json ----------------------------------------------------- */

struct lleval_part_state {
    char *run_id; /* owned, as every string here; NULL is written as "" */
    char *part;   /* "nq_open/t0/part-001" */
    char *dataset;
    double temperature;
    char *trial; /* "nq_open/t0" */
    long index;  /* 1-based */
    enum lleval_run_status status;
    long requests, answered, ok, errors;
    long prompt_tokens, completion_tokens;
    double started_at, finished_at; /* 0: null */
    double elapsed_s;
    char *batch_file;   /* relative to the run directory */
    char *results_file; /* relative to the run directory */
    json_t *telemetry;  /* owned; NULL: none (written as null) */
    json_t *remote;     /* a cloud batch engine's job (batchapi.h), owned; NULL: absent */
};

void lleval_part_state_init(struct lleval_part_state *s);
void lleval_part_state_release(struct lleval_part_state *s);
/* Writes the state to path (lleval_run_state_path) atomically; s borrowed. */
int lleval_part_state_save(const char *path, const struct lleval_part_state *s,
                           struct lleval_err *err);
/* The same, but when *last (owned by the caller; NULL: none yet) holds
 * exactly the bytes s renders to and path exists, nothing is written (a
 * rewrite would cost an fsync for the same bytes). *last then holds the bytes
 * path was given (freed and NULL after a failure); last NULL: always writes. */
int lleval_part_state_save_changed(const char *path, const struct lleval_part_state *s, char **last,
                                   struct lleval_err *err);
/* Reads path into s (initialized here; release it even on failure). Errors
 * name the file: LLEVAL_EIO when it is missing or unreadable, LLEVAL_EINVAL
 * for damaged JSON or a field of the wrong type. */
int lleval_part_state_load(const char *path, struct lleval_part_state *s, struct lleval_err *err);

#endif
