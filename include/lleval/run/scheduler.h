/*
 * The request scheduler: one thread drives libcurl's multi interface with at
 * most N requests in flight, connection reuse, a per-request timeout, retries
 * with exponential backoff and jitter (connection errors, timeouts, 429, 5xx;
 * never other 4xx; a Retry-After is honored, bounded), a memory budget for
 * the replies in flight, and a tick callback for progress, telemetry and stop
 * checks. Engines without HTTP (dry) go through the same loop.
 *
 * One scheduler can drive several endpoints (servers) at once
 * (lleval_sched_run_endpoints): each has its own slots, a free slot takes the
 * next job on the least-loaded endpoint in rotation, and an endpoint whose
 * request cannot connect goes out of rotation: its requests in flight are
 * taken back and queued again (without using their retries; each job still
 * gets exactly one result), and it is health-checked (its engine's probe,
 * bounded: its requests are transfers of the scheduler's loop, so a server
 * that accepts and never answers holds up no other endpoint) until it
 * answers, then brought back.
 */
#ifndef LLEVAL_SCHEDULER_H
#define LLEVAL_SCHEDULER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/engine/engine.h"
#include "lleval/result/result.h"
#include "lleval/util/error.h"

struct lleval_job {
    char *custom_id; /* owned by the scheduler once a source hands it over */
    /* the batch line's body as JSON text (owned likewise; NUL-terminated):
     * requests are built from it without a tree (issue 13) */
    char *text;
    size_t text_len;
    /* or the body parsed (one reference owned likewise), when text is NULL:
     * the scheduler turns it into text when it takes the job */
    json_t *body;
    size_t tag; /* caller's index (e.g. the part) */
};

/*
 * A job source: returns 1 with the next job in *job (its custom_id and body
 * reference now belong to the scheduler, which frees them once the job's
 * result is delivered or the run ends), 0 when no job is left, or a negative
 * code with err set, which ends the run with that error. Jobs are pulled only
 * when a slot is free, so memory does not grow with the number of requests.
 */
typedef int (*lleval_sched_next_fn)(void *ud, struct lleval_job *job, struct lleval_err *err);

struct lleval_sched_opts {
    long max_in_flight;        /* >= 1 */
    double timeout_s;          /* per attempt */
    long max_retries;          /* retries after the first attempt */
    long max_connect_failures; /* consecutive connection failures before "engine unreachable" */
    double backoff_base_s;     /* first retry delay, doubled per attempt */
    double backoff_max_s;      /* cap of the delay */
    long tick_ms;              /* how often tick() runs */
    uint64_t seed;             /* jitter */
    /* Called (with lleval_sched_run's ud) when max_connect_failures consecutive
     * connection failures would end the run: returning true says the engine
     * is back (a managed llama-server was restarted), so the count starts
     * again. NULL: give up as "engine unreachable". */
    bool (*revive)(void *ud);
    /* Called (with lleval_sched_run's ud; all borrowed) for each failed attempt
     * that is tried again: its HTTP status (0: none), error code
     * ("http_500", "timeout", "connection_error", ...) and message. NULL: none. */
    void (*on_retry)(void *ud, long status, const char *code, const char *msg);
    /* Called (with lleval_sched_run's ud) once the results that finished
     * together have each been handed to on_result, before the scheduler
     * waits again or ticks, and once more before it returns: a caller that
     * holds their effects back to write them at once (the journal's lines)
     * writes them here. Returns 0, or an error code that ends the run as
     * on_result's would. NULL: none. */
    int (*after_results)(void *ud);
    /* Reply memory. One reply may hold at most max_reply_bytes (64 MiB; a
     * bigger one fails its request as reply_too_large, never retried); all
     * the replies being received or waiting to be parsed together hold at most
     * reply_budget_bytes (256 MiB, whatever max_in_flight is): a reply that
     * would pass it stops that attempt, which is retried like a transient
     * failure (its retries used up: reply_too_large). max_reply_bytes is
     * lowered to the budget when above it. 0: the default. */
    size_t max_reply_bytes;
    size_t reply_budget_bytes;
    /* A 429 or 503 reply's Retry-After (seconds or an HTTP-date) delays that
     * job's retry to at least that long, at most retry_after_max_s (60), and
     * never less than the backoff. */
    double retry_after_max_s;
};
void lleval_sched_opts_default(struct lleval_sched_opts *o);

/*
 * One endpoint of a run of several: an open engine (its adapter and base URL)
 * and its slots. The caller owns the array; the scheduler fills the counters.
 */
struct lleval_sched_endpoint {
    struct lleval_engine *e; /* borrowed; outlives the run */
    long slots;              /* requests in flight on it at once, >= 1 */
    /* counters: added to (zero them before the first run); in_flight starts over; an
     * endpoint down at the start starts out of rotation (an outage) */
    size_t ok, failed; /* results of the requests it answered */
    size_t requeued;   /* requests taken back when it went out of rotation */
    size_t outages;    /* times it went out of rotation */
    size_t in_flight;  /* now */
    long prompt_tokens, completion_tokens;
    double out_of_rotation_s; /* time out of rotation, up to now */
    bool down;                /* out of rotation now */
    double down_since;        /* lleval_monotonic() it went out */
    double next_check;        /* when its next health check is due */
    long failed_checks;       /* consecutive health checks that failed */
    char last_error[256];     /* why it went out last */
};

struct lleval_sched_stats {
    size_t total; /* jobs given */
    size_t done;  /* results delivered (ok + failed) */
    size_t ok, failed;
    size_t retries; /* attempts beyond the first */
    size_t in_flight;
    size_t max_in_flight_seen;
    long prompt_tokens, completion_tokens;
    long consecutive_connect_failures;
    size_t reply_bytes;      /* reply bytes held now (received, not yet parsed) */
    size_t reply_bytes_peak; /* the most held at once: at most reply_budget_bytes */
    double started;          /* lleval_monotonic() at start */
    double elapsed;
    char last_error[256];
};

/* Receives each finished job's result: its line as text and the view of what
 * it says (lleval_result_text_build(); borrowed until the callback returns).
 * A non-zero return aborts the run with that code. */
typedef int (*lleval_sched_result_fn)(void *ud, const struct lleval_job *job,
                                      const struct lleval_result_text *res);
/* Runs every tick_ms; returning true asks for a graceful stop. */
typedef bool (*lleval_sched_tick_fn)(void *ud, const struct lleval_sched_stats *st);

/*
 * Runs the jobs that next() supplies against the engine (total: how many are
 * expected, for the statistics). Returns 0 when every job has a result,
 * LLEVAL_EENGINE when the engine became unreachable (unanswered jobs have no
 * result: the run stays resumable), LLEVAL_EINTR after a stop request, or the
 * source's or the result callback's error.
 */
int lleval_sched_run(struct lleval_engine *e, lleval_sched_next_fn next, size_t total,
                     const struct lleval_sched_opts *o, lleval_sched_result_fn on_result,
                     lleval_sched_tick_fn on_tick, void *ud, struct lleval_sched_stats *st,
                     struct lleval_err *err);

/*
 * lleval_sched_run over n endpoints (eps borrowed, its counters written;
 * o->max_in_flight is ignored: each endpoint has its slots). With one
 * endpoint it is lleval_sched_run. With several, connection failures take an
 * endpoint out of rotation rather than counting toward max_connect_failures;
 * the run ends as LLEVAL_EENGINE (resumable) only when every endpoint is out
 * and each has failed max_connect_failures health checks in a row (revive(),
 * when set, is asked first). Health checks are due 0.5 s after an endpoint
 * goes out, then at doubling intervals up to 5 s, each bounded to 3 s (as
 * the probe with lleval_engine_set_probe_timeout_s(3)); the loop never waits
 * on one.
 */
int lleval_sched_run_endpoints(struct lleval_sched_endpoint *eps, size_t n,
                               lleval_sched_next_fn next, size_t total,
                               const struct lleval_sched_opts *o, lleval_sched_result_fn on_result,
                               lleval_sched_tick_fn on_tick, void *ud,
                               struct lleval_sched_stats *st, struct lleval_err *err);

#endif
