/*
 * Several endpoints in one run (endpoints.c): opening and probing them in the
 * submit step, their managed servers, and their counters for the manifest.
 * Internal to lib/run.
 */
#ifndef LLEVAL_RUN_ENDPOINTS_INT_H
#define LLEVAL_RUN_ENDPOINTS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/config/config.h"
#include "lleval/run/scheduler.h"

struct run;

/* True when cfg (borrowed) names several servers (endpoints, a list of
 * base_url, launch.instances > 1) or managed servers with launch.devices. */
bool lleval_run_several_endpoints(const struct lleval_config *cfg);
/* The submit step of such a run: starts the managed servers (if any), opens
 * and probes every endpoint and sets each one's slots; r->engine becomes the
 * first endpoint's engine and r->jobs the sum of the slots. On failure what
 * was opened stays for lleval_run_endpoints_close. */
int lleval_run_endpoints_submit(struct run *r, struct lleval_err *err);
/* Closes the endpoints' engines (not r->engine) and stops their managed
 * servers, keeping their counters for the manifest (r->engine must still be
 * open: its address is the first endpoint's). */
void lleval_run_endpoints_close(struct run *r);
/* Closes them if open and frees r->eps (NULL is fine). */
void lleval_run_endpoints_free(struct run *r);
/* How many endpoints the run has (0: one server, the usual way). */
size_t lleval_run_endpoints_count(const struct run *r);
/* The scheduler's endpoint array (borrowed from r; counters live there). */
struct lleval_sched_endpoint *lleval_run_endpoints_sched(struct run *r);
/* Checks the managed servers, restarting the dead ones (waiting up to
 * wait_ms for a dying one); *restarted says whether one was. Returns -1 when
 * one could not be kept up (it stays out of rotation; a warning says why). */
int lleval_run_endpoints_check(struct run *r, long wait_ms, bool *restarted);
/* Adds seconds of this session's poll step (for the speeds). */
void lleval_run_endpoints_add_time(struct run *r, double seconds);
/* The manifest's `endpoints` array: this session's counters added to old's
 * (borrowed; the same base_url's), as a new reference; NULL when the run has
 * no endpoints and old is NULL. */
json_t *lleval_run_endpoints_json(const struct run *r, const json_t *old);

#endif
