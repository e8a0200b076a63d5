/*
 * parse (the guide's parse_results): a results JSONL -> predictions.csv, with
 * reconciliation against the batch request files: counts per part, missing,
 * duplicate and unknown custom_ids, non-200 responses, malformed lines.
 */
#ifndef LLEVAL_PARSE_H
#define LLEVAL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"

struct lleval_cid;

#define LLEVAL_PARSE_LIST_MAX 50

struct lleval_parse_part {
    char *name; /* "<dataset>/t<temp>/part-NNN" */
    long requests;
    long results;
};

struct lleval_parse_report {
    size_t lines;      /* lines read from the results file */
    size_t rows;       /* rows written to the CSV */
    size_t requests;   /* requests in the batch files (0 when not reconciled) */
    size_t missing;    /* requests without a result */
    size_t duplicates; /* repeated custom_ids (the first one is kept) */
    size_t unknown;    /* results whose custom_id no request has (or undecodable) */
    size_t malformed;  /* lines that are not a JSON object with a custom_id */
    size_t non200;     /* results whose status_code is not 200 */
    bool reconciled;   /* batch files were available */
    /* first few ids / line numbers of each problem, owned */
    char *missing_ids[LLEVAL_PARSE_LIST_MAX];
    size_t n_missing_ids;
    char *duplicate_ids[LLEVAL_PARSE_LIST_MAX];
    size_t n_duplicate_ids;
    char *unknown_ids[LLEVAL_PARSE_LIST_MAX];
    size_t n_unknown_ids;
    long malformed_lines[LLEVAL_PARSE_LIST_MAX];
    size_t n_malformed_lines;
    char *non200_ids[LLEVAL_PARSE_LIST_MAX];
    size_t n_non200_ids;
    struct lleval_parse_part *parts;
    size_t n_parts;
};
void lleval_parse_report_release(struct lleval_parse_report *r);
/* True when the results and the requests do not match one to one. */
bool lleval_parse_mismatch(const struct lleval_parse_report *r);

/*
 * Reconciliation of answers with requests, shared by parse and doctor: the
 * request custom_ids come from the batch files, each answer's custom_id is
 * checked as it is read, and the requests never answered are listed at the
 * end. The counts and the first ids of each problem go into a parse report
 * (requests, missing, duplicates, unknown, their id lists, parts[].requests
 * and parts[].results, reconciled).
 */
enum lleval_recon_verdict {
    LLEVAL_RECON_NEW = 0,   /* the first answer to a request */
    LLEVAL_RECON_DUPLICATE, /* the custom_id was answered before (the first one counts) */
    LLEVAL_RECON_UNKNOWN,   /* no request has the custom_id, or it does not decode */
};

enum lleval_recon_flags {
    /* skip batch files that cannot be read and request lines without a
     * custom_id (doctor examines damaged runs); else they are errors */
    LLEVAL_RECON_LENIENT = 1u << 0,
};

struct lleval_reconcile;

/*
 * Starts a reconciliation into rep (borrowed; it must outlive the
 * reconciliation; the caller zeroes or fills it before and releases it with
 * lleval_parse_report_release()). batches_dir (with build.json) names the
 * requests; NULL only checks for duplicates and undecodable ids. *out
 * receives an owned reconciliation for lleval_reconcile_free().
 */
int lleval_reconcile_new(struct lleval_reconcile **out, const char *batches_dir, unsigned flags,
                         struct lleval_parse_report *rep, struct lleval_err *err);
/*
 * Checks one answer's custom_id (borrowed) and counts it. When cid is not
 * NULL and the verdict is LLEVAL_RECON_NEW, *cid receives the decoded id,
 * its strings borrowed from rc until the next lleval_reconcile_add() or
 * lleval_reconcile_free() (never lleval_cid_release() it).
 */
enum lleval_recon_verdict lleval_reconcile_add(struct lleval_reconcile *rc, const char *custom_id,
                                               struct lleval_cid *cid);
/* After the last answer: counts (and lists) the requests never answered,
 * walking the batch files again. A batch file that cannot be read now is
 * skipped. */
void lleval_reconcile_finish(struct lleval_reconcile *rc);
void lleval_reconcile_free(struct lleval_reconcile *rc);

/*
 * Reads results_jsonl and writes out_csv (atomically). batches_dir (with
 * build.json) enables reconciliation; prepared_dir fills the `type` column.
 * Both may be NULL. Returns 0 even on a mismatch (see the report); errors are
 * for unreadable input or unwritable output.
 */
int lleval_parse_results(const char *results_jsonl, const char *batches_dir,
                         const char *prepared_dir, const char *out_csv,
                         struct lleval_parse_report *rep, struct lleval_err *err);

struct lleval_result_view;
/* Another reader of the lines parse reads (a whole run's doctor facts): shown
 * every line of the results file in order, with its bytes [start, end) in the
 * file (end past its newline), its view (NULL for an empty line; custom_id
 * NULL for a malformed one) and whether the reconciliation called it a
 * repeated answer. The view is borrowed for the call. */
struct lleval_parse_watch {
    void (*line)(void *ud, uint64_t start, uint64_t end, const struct lleval_result_view *v,
                 bool repeated);
    void *ud;
};
/* lleval_parse_results() with a watcher (NULL: none). */
int lleval_parse_results_watched(const char *results_jsonl, const char *batches_dir,
                                 const char *prepared_dir, const char *out_csv,
                                 const struct lleval_parse_watch *watch,
                                 struct lleval_parse_report *rep, struct lleval_err *err);

#endif
