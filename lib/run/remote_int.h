/*
 * The cloud batch driver (remote.c, remote_http.c): the submit and poll
 * steps of a run whose engine is a batch provider (batchapi.h), and the
 * blocking HTTP they use. Library-internal.
 */
#ifndef LLEVAL_RUN_REMOTE_INT_H
#define LLEVAL_RUN_REMOTE_INT_H

#include <stddef.h>
#include "lleval/engine/batchapi.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

struct run;

/*
 * Performs req (borrowed), waiting at most timeout_s seconds. Returns 0 when
 * a complete reply arrived (whatever its status): *status and the body,
 * appended to body (at most max_body bytes). LLEVAL_EENGINE when none did
 * (refused, timed out, reset, a body cut short, or over max_body), or
 * LLEVAL_EIO when the file to upload cannot be read; err says why.
 */
int lleval_remote_fetch(const struct lleval_batch_request *req, long timeout_s, size_t max_body,
                        long *status, struct lleval_sb *body, struct lleval_err *err);

/*
 * The submit step of a batch engine: for every part with requests left,
 * uploads its input and creates its job, recording each remote id in the
 * part's state.json before the next request goes out; a part whose job was
 * submitted before (a resumed run) is left as it is. Returns 0,
 * LLEVAL_EINVAL (config: base_url, the key's variable), LLEVAL_EENGINE (the
 * service refused or could not be reached: resumable), LLEVAL_EINTR or
 * LLEVAL_EIO.
 */
int lleval_remote_submit(struct run *r, struct lleval_err *err);

/*
 * The poll step of a batch engine: follows every job's status (progress
 * through the run's on_progress), collects the output and error files of the
 * jobs that ended into the part journals exactly once, and resubmits the
 * requests a job left unanswered, at most batch.max_attempts jobs per part
 * (then those requests are journaled as failed). A stop request leaves the
 * jobs running (LLEVAL_EINTR, resumable), unless the run's cancel file asks
 * to cancel them (`lleval runs stop --cancel`).
 */
int lleval_remote_poll(struct run *r, struct lleval_err *err);

/* The file in a run directory that asks the running process to cancel its
 * jobs as it stops (written by `lleval runs stop --cancel`). */
#define LLEVAL_REMOTE_CANCEL_FILE "cancel.request"

#endif
