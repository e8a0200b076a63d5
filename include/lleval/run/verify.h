/*
 * Verifying a finished run's artifacts against each other (lleval smoke).
 */
#ifndef LLEVAL_RUN_VERIFY_H
#define LLEVAL_RUN_VERIFY_H

#include <stdbool.h>

/* Called once per check: ok, the artifact checked (relative to the run
 * directory), a detail line (borrowed, valid during the call). */
typedef void (*lleval_verify_fn)(void *ud, bool ok, const char *what, const char *detail);

/* Checks the artifacts of the run in run_dir: the saved config, a done
 * manifest with job counts, each part's state.json (done) and journal (one
 * result per request), results_combined.jsonl, predictions.csv (one record
 * per request), scores.json and a released lock. expected_rows < 0: any
 * number of requests. Returns how many checks failed. */
int lleval_run_verify(const char *run_dir, long expected_rows, lleval_verify_fn fn, void *ud);

#endif
