/*
 * The scheduler's internals, shared by scheduler.c (the loop on libcurl's
 * multi interface) and sched_rotation.c (several endpoints: rotation and
 * health checks). Internal to lib/run.
 */
#ifndef LLEVAL_SCHED_INT_H
#define LLEVAL_SCHED_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/run/scheduler.h"
#include "lleval/util/util.h"

/* A reply buffer that grew past this is freed once its reply is parsed, so
 * idle slots do not keep big buffers. */
#define KEEP_REPLY_ALLOC ((size_t)1 << 20)

/* Health checks of an endpoint out of rotation: the first this long after it
 * went out, then at doubling intervals up to CHECK_MAX_S; each is its probe
 * bounded to CHECK_TIMEOUT_S, whose requests are transfers on the loop's
 * multi handle beside the others (the loop never waits on a check). */
#define CHECK_FIRST_S   0.5
#define CHECK_MAX_S     5.0
#define CHECK_TIMEOUT_S 3

struct sched;

struct slot {
    struct sched *s;
    size_t ep; /* the endpoint this slot sends to */
    bool active;
    bool local;
    size_t job;
    long attempts;
    double started; /* this attempt */
    double due;     /* local answers: when to deliver */
    CURL *easy;
    struct curl_slist *headers;
    struct lleval_http_request req;
    struct lleval_sb reply;      /* capped at the options' max_reply_bytes */
    bool too_large;              /* the reply went past its buffer's cap */
    bool over_budget;            /* the reply would take all replies past reply_budget_bytes */
    long retry_after;            /* a finished transfer: its Retry-After in seconds, 0 none */
    CURLcode result;             /* a finished transfer (in s->done): curl's result */
    long status;                 /* and the HTTP status */
    struct lleval_answer answer; /* local answers */
};

/* An endpoint's health check while it runs (sched_rotation.c): its request
 * on the multi handle, or the wait before its next one (llama-server still
 * loading). The easy handle is kept for the endpoint's next checks. */
struct hcheck {
    bool running;   /* started, no verdict yet */
    bool sending;   /* its request is on the multi handle */
    double send_at; /* running, not sending: when its next request goes */
    CURL *easy;
    struct curl_slist *headers;
    struct lleval_http_request req;
    struct lleval_sb reply; /* capped at LLEVAL_HTTP_PROBE_MAX_BODY */
    bool too_large;
    struct lleval_check c;
};

struct retry {
    size_t job;
    long attempts;
    double at;
};

struct sched {
    struct lleval_engine *e; /* the first endpoint's (local engines have one) */
    struct lleval_sched_endpoint *eps;
    size_t n_eps;
    bool several; /* n_eps > 1: endpoints go out of rotation and back */
    lleval_sched_next_fn next;
    struct lleval_err *err;
    /* live jobs (in a slot, finished but not parsed, or waiting to retry),
     * addressed by index; freed entries are reused */
    struct lleval_job *pool;
    size_t pool_cap;
    size_t *free_idx;
    size_t n_free;
    bool source_done;
    const struct lleval_sched_opts *o;
    lleval_sched_result_fn on_result;
    void *ud;
    struct lleval_sched_stats *st;
    CURLM *multi;
    struct slot *slots; /* endpoint k's are slots[first[k] .. first[k] + eps[k].slots) */
    size_t nslots;
    size_t *first;
    struct slot *done; /* finished transfers waiting to be parsed, nslots at most */
    struct retry *retries;
    size_t nretries, capretries;
    struct hcheck *checks;  /* one per endpoint, when several */
    size_t check_transfers; /* checks whose request is on the multi handle */
    uint64_t rng;
    int abort_rc;
    bool unreachable;
    size_t delivered;              /* results handed to on_result since after_results last ran */
    struct lleval_result_text res; /* the result being delivered */
    size_t reply_cap;              /* per reply: max_reply_bytes, at most the budget */
    size_t reply_budget;           /* all reply buffers together */
};

/* Ends the attempt in sl (its transfer leaves the multi handle, its buffers
 * are emptied) and frees the slot; the job is not delivered (scheduler.c). */
void lleval_sched_slot_clear(struct sched *s, struct slot *sl);

/* Queues a job taken back from an endpoint out of rotation, due now; its next
 * attempt is numbered attempts + 1. */
void lleval_sched_requeue(struct sched *s, size_t job, long attempts);
/* Takes endpoint k out of rotation (msg borrowed: why): its transfers leave
 * the multi handle (no reply of theirs can arrive any more) and their jobs
 * are queued again for the other endpoints. */
void lleval_sched_endpoint_out(struct sched *s, size_t k, const char *msg);
/* Starts the health checks of the endpoints out of rotation that are due
 * (and sends a running check's next request once its wait passed); sets
 * s->unreachable when every one is out for good. */
void lleval_sched_check_endpoints(struct sched *s);
/* A finished transfer (easy, with curl's result) that is a health check's:
 * its reply is read, and the check goes on or has its verdict (true); false
 * when easy is not a check's. */
bool lleval_sched_check_finished(struct sched *s, CURL *easy, CURLcode result);
/* When the loop must next look at endpoint k out of rotation: its check's
 * due time or the send time of its next request (HUGE_VAL while its request
 * is on the multi handle: curl wakes the loop). */
double lleval_sched_check_due(const struct sched *s, size_t k);
/* Ends the checks still running (their transfers leave the multi handle)
 * and frees what they hold. */
void lleval_sched_checks_release(struct sched *s);
/* The endpoint in rotation with a free slot and the fewest requests in flight
 * for its slots (the first of equals), or -1 when none has room. */
long lleval_sched_pick_endpoint(const struct sched *s);
/* A free slot of endpoint k, or NULL. */
struct slot *lleval_sched_free_slot(struct sched *s, size_t k);

#endif
