/*
 * `lleval import`: results produced elsewhere (a provider's batch console,
 * vLLM's run-batch), in the OpenAI batch output format, go into a run's
 * part journals as the same result lines the poll step writes, so a later
 * `lleval runs resume` asks only what is still missing and parses, scores
 * and reports the run as if it had polled every answer itself.
 */
#ifndef LLEVAL_RUN_IMPORT_H
#define LLEVAL_RUN_IMPORT_H

#include <jansson.h>
#include <stddef.h>
#include "lleval/util/error.h"

/* What an import did. Strings owned (lleval_import_stats_release). */
struct lleval_import_stats {
    size_t lines;      /* non-empty lines of the file */
    size_t imported;   /* result lines written: ok + failed */
    size_t ok, failed; /* answers, and failed requests (the batch service's errors) */
    size_t duplicates; /* custom_ids already journaled, or repeated in the file */
    size_t unknown;    /* custom_ids that are not requests of the run */
    char *first_duplicate, *first_unknown; /* an example of each, or NULL */
    size_t requests, answered;             /* the run's, after the import */
};

void lleval_import_stats_init(struct lleval_import_stats *s);
void lleval_import_stats_release(struct lleval_import_stats *s);

/*
 * Imports path, an OpenAI batch output file (one JSON object a line, any
 * order), into run run_id of runs_dir, holding the run's lock. The whole
 * file is checked first: a malformed line is LLEVAL_EINVAL naming
 * "path:line" and what is wrong, and then nothing is written. Each line of
 * a request of the run not answered yet becomes one result line in its
 * part's journal (an answer, or a failure with the service's error code and
 * message, redacted); the parts' state.json and the manifest's counts are
 * updated. Unknown and duplicate custom_ids are counted, never written.
 * Strings borrowed; st initialized by the caller (filled as far as the
 * import got, also on failure). Returns 0, LLEVAL_EINVAL (a bad run id, no
 * such run, a run without batches, a run being run, a malformed file) or
 * LLEVAL_EIO.
 */
int lleval_import_results(const char *runs_dir, const char *run_id, const char *path,
                          struct lleval_import_stats *st, struct lleval_err *err);

/*
 * Converts one parsed OpenAI batch output line (borrowed) into an owned
 * result line (result.h) for its custom_id, or returns NULL with err
 * (LLEVAL_EINVAL) saying what is wrong with the line.
 */
json_t *lleval_import_convert(const json_t *line, struct lleval_err *err);

#endif
