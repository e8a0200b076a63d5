/*
 * doctor: the guide's decision tree and "Common Symptoms & Fixes" as rules
 * over a run's evidence (results, errors, telemetry, counts). Each finding
 * cites its evidence and lists the guide's fixes in its order of preference
 * as concrete config edits.
 */
#ifndef LLEVAL_DOCTOR_H
#define LLEVAL_DOCTOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"

enum lleval_finding_kind {
    LLEVAL_FIND_OOM = 0,           /* out-of-memory errors from the engine */
    LLEVAL_FIND_MEMORY_NEAR_LIMIT, /* GPU memory peak near the card's total */
    LLEVAL_FIND_SLOW,              /* generation slower than the guide expects */
    LLEVAL_FIND_LOW_UTILIZATION,   /* GPU utilization under 50% */
    LLEVAL_FIND_TRUNCATION,        /* finish_reason length above 10% */
    LLEVAL_FIND_CONNECTION,        /* connection failures, timeouts, engine unreachable */
    LLEVAL_FIND_PARSE_MISMATCH,    /* missing / duplicate / unknown custom_ids */
    LLEVAL_FIND_REQUEST_ERRORS,    /* other failed requests (HTTP 4xx, bad replies) */
    LLEVAL_FIND_HIGH_TEMPERATURE,
    LLEVAL_FIND_INCOMPLETE,       /* the run is not finished */
    LLEVAL_FIND_ENGINE_RESTART,   /* the managed llama-server died (restarted or not) */
    LLEVAL_FIND_NOT_FOUND,        /* HTTP 404: a wrong base_url or model_id */
    LLEVAL_FIND_CONTEXT_EXCEEDED, /* requests over the context window (HTTP 400) */
    LLEVAL_FIND_REASONING_EMPTY,  /* empty answers: the tokens went to reasoning */
    LLEVAL_FIND_MC_UNREADABLE,    /* multiple-choice answers without a readable letter */
};
/* A short stable name: "oom", "slow_generation", ... */
const char *lleval_finding_name(enum lleval_finding_kind k);

struct lleval_finding {
    enum lleval_finding_kind kind;
    char *title;     /* one line */
    char **evidence; /* lines citing counts, values, custom_ids */
    size_t n_evidence;
    char **fixes; /* in the guide's order of preference */
    size_t n_fixes;
};

struct lleval_doctor_opts {
    const char *model_gguf; /* the model file, for the planner's numbers (else launch.model) */
    uint64_t vram_bytes;    /* the card's memory when telemetry did not record it (0: unknown) */
};

struct lleval_doctor_report {
    char *run_id;
    struct lleval_finding *findings;
    size_t n_findings;
    json_t *facts; /* what was measured: counts, rates, speeds, telemetry peaks */
};

/* Examines the run in run_dir (read-only). Returns 0 with rep filled (no
 * findings for a healthy run), or an error when the run cannot be read. */
int lleval_doctor_examine(const char *run_dir, const struct lleval_doctor_opts *o,
                          struct lleval_doctor_report *rep, struct lleval_err *err);
json_t *lleval_doctor_report_json(const struct lleval_doctor_report *rep);
void lleval_doctor_report_release(struct lleval_doctor_report *rep);

#endif
