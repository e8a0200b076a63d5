/*
 * The fireworks_batch provider (batchapi.h): Fireworks AI's batch inference
 * jobs. A part file becomes a dataset (created, then uploaded), a batch
 * inference job reads it and writes an output dataset whose two files
 * (results and errors) are downloaded through signed URLs. The facts it
 * relies on, with the pages they come from, are in docs/engines.md
 * ("fireworks_batch").
 *
 * The remote names are lleval's own, derived from the job's upload_name, so
 * that a session that crashed between a request and the record of its reply
 * finds the object by name (a GET) instead of creating it again.
 */
#ifndef LLEVAL_FIREWORKS_BATCH_H
#define LLEVAL_FIREWORKS_BATCH_H

#include <stddef.h>
#include "lleval/engine/batchapi.h"

/* The provider; lleval_batch_provider_for(LLEVAL_ENGINE_FIREWORKS_BATCH). */
extern const struct lleval_batch_provider lleval_batch_fireworks;

/* Fireworks resource ids: 1-63 characters of a-z, 0-9 and '-', starting with
 * a letter. */
#define LLEVAL_FW_ID_MAX 63

/*
 * The ids of a job whose upload_name is name (borrowed): the input dataset
 * (also the job's id) and the output dataset, written into the caller's
 * buffers of at least LLEVAL_FW_ID_MAX + 1 bytes. The same name always gives
 * the same ids; two names give different ids (a hash of the whole name ends
 * them). Returns 0, or LLEVAL_EINVAL for an empty name.
 */
int lleval_fw_ids(const char *name, char *dataset, char *output);

/* The normalized status of a Fireworks job state ("JOB_STATE_RUNNING", ...;
 * borrowed), or LLEVAL_BJOB_S_NONE for a state lleval does not know. */
enum lleval_bjob_status lleval_fw_status(const char *state);

#endif
