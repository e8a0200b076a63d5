/*
 * Concurrency tuning (max_concurrent_jobs: auto, `lleval tune`): the run's
 * first requests are sent at a rising series of concurrencies (1, 2, 4, ...,
 * the server's slots, a little above them, up to twice them), each for a
 * short sample of the run's own requests, whose answers are journaled like
 * any other (no work is wasted). Each sample gives a steady-state throughput
 * (lleval_tune_rate: the concurrency over the mean cycle of a job, so the
 * drain at the sample's end does not count); the series stops when
 * two concurrencies in a row gain less than LLEVAL_TUNE_GAIN_PCT over the
 * best so far, and the pick is the lowest concurrency within
 * LLEVAL_TUNE_TIE_PCT of the best throughput. The result (the choice, the
 * measured curve and, for a managed llama-server, the slots, per-slot
 * context and threads it was started with) goes into the manifest's "tune"
 * object (docs/formats.md) and the report.
 */
#ifndef LLEVAL_TUNE_H
#define LLEVAL_TUNE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/engine/engine.h"
#include "lleval/run/scheduler.h"
#include "lleval/util/error.h"

#define LLEVAL_TUNE_MAX_POINTS 16
/* The most concurrency tried when the engine does not say its slots. */
#define LLEVAL_TUNE_MAX_UNKNOWN 64
/* A point must beat the best by this much to count as a gain. */
#define LLEVAL_TUNE_GAIN_PCT 2.0
/* Points within this much of the best throughput tie; the lowest wins. */
#define LLEVAL_TUNE_TIE_PCT 2.0
/* A managed llama-server sized by auto has at most this many slots. */
#define LLEVAL_TUNE_MAX_SLOTS 16
/* Each point's sample is this many rounds of c requests (at least 2c + 4). */
#define LLEVAL_TUNE_ROUNDS 4

struct lleval_tune_point {
    long concurrency;
    size_t requests;     /* the sample's requests (all answered) */
    double seconds;      /* the sample's wall time, start to last answer */
    double rps;          /* steady-state requests per second */
    double tokens_per_s; /* completion tokens over the whole sample's time */
};

struct lleval_tune_result {
    bool done;   /* a tune ran (false: the fields below are empty) */
    long chosen; /* the concurrency picked */
    long slots;  /* the engine's slots (llama-server total_slots); 0: unknown */
    size_t n_points;
    struct lleval_tune_point points[LLEVAL_TUNE_MAX_POINTS];
    char stop_reason[96]; /* why the series ended ("no gain at 6 and 8", ...) */
    /* A managed llama-server: what it was started with (0: not chosen by auto). */
    long server_slots, server_slot_ctx, server_threads;
    char server_note[320]; /* how they were chosen (the planner's verdict) */
};

void lleval_tune_result_init(struct lleval_tune_result *t);

/*
 * The concurrencies to try, in order, into out (at most cap): with slots > 0
 * the powers of two below slots, slots, slots + 1, slots + 2, 1.5 x slots and
 * 2 x slots; with slots 0 the powers of two up to LLEVAL_TUNE_MAX_UNKNOWN.
 * None above max (max < 1: 256). Returns the count.
 */
size_t lleval_tune_candidates(long slots, long max, long *out, size_t cap);

/* The requests one point's sample takes at concurrency c. */
size_t lleval_tune_sample_size(long c);

/*
 * The steady-state throughput (requests/s) of a sample at concurrency c: n
 * jobs sent at pull[0..n) (seconds, ascending), answered[k] the index of the
 * job answered k-th (n_answered answers). The client keeps c jobs in flight:
 * the k-th answer frees the place the (c + k)-th job takes, so a job's cycle
 * runs from its sending to the sending of the job that took its place, which
 * counts the server's queueing and the client's own gap alike; by Little's
 * law the throughput is c over the mean cycle. It is immune to answers that
 * come in bursts; the first c jobs (sent to an idle engine, with no queue)
 * and the final drain (answers no job replaced) are left out.
 * Without a full cycle: the answers over the last sending time. 0 when n or
 * n_answered is 0.
 */
double lleval_tune_rate(const double *pull, size_t n, const size_t *answered, size_t n_answered,
                        long c);

/* True when the series should stop after its last point: the last two
 * points each gained less than LLEVAL_TUNE_GAIN_PCT over the best before them. */
bool lleval_tune_should_stop(const struct lleval_tune_result *t);

/* The lowest concurrency within LLEVAL_TUNE_TIE_PCT of the best rate; 0 without points. */
long lleval_tune_pick(const struct lleval_tune_result *t);

/*
 * Measures and picks: sends available jobs at most (from next(), through
 * lleval_sched_run with base's options at each candidate concurrency, results
 * to on_result, ticks to on_tick, all with ud) and fills t (its slots set by
 * the caller). *answered counts the results delivered. A candidate whose
 * sample is larger than the jobs left is not tried; without any point the
 * choice is the slots (else 1). Returns 0 or lleval_sched_run's error (the
 * answers delivered before it stay delivered).
 */
int lleval_tune_measure(struct lleval_engine *e, lleval_sched_next_fn next, size_t available,
                        const struct lleval_sched_opts *base, lleval_sched_result_fn on_result,
                        lleval_sched_tick_fn on_tick, void *ud, struct lleval_tune_result *t,
                        size_t *answered, struct lleval_err *err);

/* The manifest's "tune" object (owned). */
json_t *lleval_tune_to_json(const struct lleval_tune_result *t);
/* Reads a "tune" object (borrowed) into t; false when it is not one. */
bool lleval_tune_from_json(const json_t *j, struct lleval_tune_result *t);

/*
 * The curve as an aligned text table, one line per point with the chosen one
 * marked, then the choice (owned). Every line starts with indent (borrowed).
 */
char *lleval_tune_format_table(const struct lleval_tune_result *t, const char *indent);

#endif
