/*
 * doctor: the guide's decision tree and "Common Symptoms & Fixes" as rules
 * over a run's evidence (results, errors, telemetry, counts). Each finding
 * cites its evidence and lists the guide's fixes in its order of preference
 * as concrete config edits.
 */
#ifndef LLEVAL_DOCTOR_H
#define LLEVAL_DOCTOR_H

#include <jansson.h>
#include <stdbool.h>
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
    char *model;     /* a run of several models: the model it is about (owned); NULL: the
                        run's only model, or the run as a whole */
    char *title;     /* one line (names the model, when it has one) */
    char **evidence; /* lines citing counts, values, custom_ids */
    size_t n_evidence;
    char **fixes; /* in the guide's order of preference */
    size_t n_fixes;
};

struct lleval_doctor_lines;

struct lleval_doctor_opts {
    const char *model_gguf; /* the model file, for the planner's numbers (else launch.model) */
    uint64_t vram_bytes;    /* the card's memory when telemetry did not record it (0: unknown) */
    /* The facts of the result lines, gathered by an earlier step of the same
     * process (a whole run's parse), or NULL: the doctor reads the journals.
     * Ignored when not usable (lleval_doctor_lines_usable). */
    const struct lleval_doctor_lines *lines;
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
/*
 * The doctor's facts from the result lines, gathered while another step reads
 * them anyway (issue 13: a whole `lleval run` reads each line once, in parse,
 * and its report's doctor takes these instead of reading every journal
 * again). The lines are those of results_combined.jsonl, the journals in
 * order: the gatherer is told each journal's path and where it ends in that
 * file, and is given every line with its byte span, its view and its
 * reconciliation verdict. It counts each line into the journal it came from,
 * as the doctor reading that journal would; a line that does not lie inside
 * one journal (a journal without its last newline), or journals that are not
 * the run's parts in build.json's order, make it unusable, and the doctor
 * then reads the journals itself. The result is the same either way.
 */
/* A gatherer for the run in run_dir whose n journals (paths borrowed) end at
 * ends[i] bytes into the combined file (each copied). Never NULL. */
struct lleval_doctor_lines *lleval_doctor_lines_new(const char *run_dir, char *const *journals,
                                                    const uint64_t *ends, size_t n);
struct lleval_result_view;
/* Counts the line at bytes [start, end) of the combined file (end: past its
 * newline). v: its view (NULL for an empty line); repeated: the
 * reconciliation called its custom_id a repeated answer. */
void lleval_doctor_lines_add(struct lleval_doctor_lines *dl, uint64_t start, uint64_t end,
                             const struct lleval_result_view *v, bool repeated);
struct lleval_parse_report;
/* After the last line: the reconciliation's counts and id lists (copied). */
void lleval_doctor_lines_reconciled(struct lleval_doctor_lines *dl,
                                    const struct lleval_parse_report *rep);
/* True when every line was counted into its journal and the reconciliation given. */
bool lleval_doctor_lines_usable(const struct lleval_doctor_lines *dl);
void lleval_doctor_lines_free(struct lleval_doctor_lines *dl);

json_t *lleval_doctor_report_json(const struct lleval_doctor_report *rep);
void lleval_doctor_report_release(struct lleval_doctor_report *rep);

#endif
