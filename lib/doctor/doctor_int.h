/*
 * doctor's internals, shared by doctor.c (the evidence, the resource and
 * speed rules, the report) and rules_engine.c (the rules over the engine's
 * behavior: events, retries, connection, endpoint, context, reasoning,
 * unreadable multiple-choice answers).
 */
#ifndef LLEVAL_DOCTOR_INT_H
#define LLEVAL_DOCTOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include "lleval/config/config.h"
#include "lleval/doctor/doctor.h"
#include "lleval/run/parse.h"
#include "lleval/run/rundir.h"
#include "lleval/util/util.h"

/* custom_ids cited per finding */
#define MAX_IDS 3

/* A class of failed results: how many, the first custom_ids, one message. */
struct err_class {
    long count;
    char *ids[MAX_IDS];
    size_t n_ids;
    char *sample;
};

struct trial_ev {
    char *name; /* dataset/t<temp>; a run of several models: <model id>/<dataset>/t<temp> */
    char *dataset;
    size_t model; /* its model: an index into evidence.models */
    char *type;   /* item type from the prepared info, or NULL */
    long results, length, max_tokens;
    double prompt_tokens;
};

/*
 * What one model of the run did: its answers and failures, speed, telemetry
 * and multiple-choice letters, and its settings the fixes name. A run of one
 * model has one, with id NULL: its findings read as they always have; in a run
 * of several models (models:, a model_id list) each model has its own, in the
 * run's order, and each finding about one model names it.
 */
struct model_ev {
    char *id;         /* the model id (owned); NULL: the run's only model */
    char *jobs_key;   /* the key its concurrency is set by: "max_concurrent_jobs" or
                         "models[i].max_concurrent_jobs" (owned) */
    long jobs;        /* its max_concurrent_jobs */
    const char *gguf; /* its model file (--model-gguf, else its launch.model), or NULL */
    long requests, answered, results_ok;
    struct err_class oom, conn, other;
    struct err_class ctx;       /* failed: the request exceeds the context window */
    struct err_class not_found; /* failed: HTTP 404 (wrong address or model) */
    struct err_class reasoning; /* ok, empty answer, finish length, tokens generated */
    double gen_tps_sum;
    long gen_tps_n;
    long mc_rows, mc_unreadable; /* scores.json's multiple-choice rows, and unreadable ones */
    char *mc_groups;             /* "dataset: bad of n" of the worst group, owned */
    /* telemetry peaks over the model's parts */
    bool have_gpu;
    double mem_peak_mib, mem_total_mib, util_mean_sum, temp_peak;
    long util_n;
};

struct evidence {
    struct lleval_config cfg;
    bool have_cfg;
    struct lleval_manifest manifest;
    const char *status; /* the manifest's status word; NULL when it has none */
    const char *engine; /* borrowed from the manifest, as model_id */
    const char *model_id;
    long requests, answered;
    struct lleval_parse_report recon; /* parse's reconciliation of answers and requests */
    struct err_class oom, conn, other;
    struct err_class ctx;       /* failed: the request exceeds the context window */
    struct err_class not_found; /* failed: HTTP 404 (wrong address or model) */
    struct err_class reasoning; /* ok, empty answer, finish length, tokens generated */
    long results_ok;
    double gen_tps_sum;
    long gen_tps_n;
    struct trial_ev *trials;
    size_t n_trials;
    /* each model's facts (one with id NULL for a run of one model); the
     * run-wide counts above are their sums (sum_models in doctor.c) */
    struct model_ev *models;
    size_t n_models;
    long missing, duplicates, unknown; /* the reconciliation's counts */
    /* telemetry peaks over the parts */
    bool have_gpu;
    double mem_peak_mib, mem_total_mib, util_mean_sum, temp_peak;
    long util_n;
};

/* Adds id (borrowed, copied) to ids while fewer than MAX_IDS. */
void lleval_dr_add_id(char **ids, size_t *n, const char *id);
/* Counts one result into c (cid and msg borrowed; the first msg is kept). */
void lleval_dr_class_add(struct err_class *c, const char *cid, const char *msg);
void lleval_dr_class_free(struct err_class *c);
/* Case-insensitive substring search (both borrowed). */
bool lleval_dr_contains_ci(const char *hay, const char *needle);

/* Adds a finding to rep and returns it (owned by rep); the title is formatted. */
struct lleval_finding *lleval_dr_finding(struct lleval_doctor_report *rep,
                                         enum lleval_finding_kind kind, const char *fmt, ...)
    LLEVAL_PRINTF(3, 4);
/* Adds an evidence line / a fix (formatted) to f. */
void lleval_dr_evidence(struct lleval_finding *f, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
void lleval_dr_fix(struct lleval_finding *f, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
/* Adds "what: id1, id2, ..." (ids borrowed; total: how many there are). */
void lleval_dr_ids(struct lleval_finding *f, const char *what, char *const *ids, size_t n,
                   long total);
/* In a run of several models, names the model m a finding is about: its title
 * gets "model <id>: " in front and f->model the id (m NULL or of the run's only
 * model: nothing changes). */
void lleval_dr_name_model(struct lleval_finding *f, const struct model_ev *m);
/* The guide's out-of-memory fixes in their order, for model m (its model_id,
 * file and concurrency); m NULL: the run's as a whole, naming no model. */
void lleval_dr_memory_fixes(struct lleval_finding *f, const struct evidence *ev,
                            const struct model_ev *m);

/* Reads results/scores.json's multiple-choice counts into ev's models (absent: none). */
void lleval_dr_read_scores(struct evidence *ev, const char *run_dir);
/* The model of ev called id (borrowed; NULL: the run's only model), or NULL. */
const struct model_ev *lleval_dr_model(const struct evidence *ev, const char *id);
/* The rules over the engine's behavior (rules_engine.c). */
void lleval_dr_engine_rules(const struct evidence *ev, struct lleval_doctor_report *rep);

#endif
