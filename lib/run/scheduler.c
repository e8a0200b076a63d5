/*
 * The request scheduler on libcurl's multi interface (see scheduler.h).
 * One thread, no locks: slots hold the requests in flight, a small queue
 * holds the retries waiting for their backoff to pass.
 *
 * A finished transfer is moved out of its slot (into s->done) and the freed
 * slots take their next jobs, which go on the wire, before the replies are
 * parsed and journaled: the engine works on the next requests while lleval
 * does its per-reply work (docs/benchmarks.md has the measurements).
 *
 * Several endpoints: every slot belongs to one endpoint; a job goes to the
 * least-loaded endpoint in rotation. An endpoint whose request cannot connect
 * is taken out (endpoint_out): its transfers are removed from the multi
 * handle, so no late reply of it can arrive, and their jobs are queued again;
 * a job lives in exactly one place (a slot, s->done or the retry queue) until
 * its one result is delivered.
 */
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/run/scheduler.h"
#include "lleval/util/json.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "sched_int.h"

void lleval_sched_opts_default(struct lleval_sched_opts *o)
{
    o->max_in_flight = 1;
    o->timeout_s = 600;
    o->max_retries = 3;
    o->max_connect_failures = 5;
    o->backoff_base_s = 0.5;
    o->backoff_max_s = 30;
    o->tick_ms = 250;
    o->seed = 0x9E3779B97F4A7C15ULL;
    o->revive = NULL;
    o->on_retry = NULL;
    o->after_results = NULL;
    o->max_reply_bytes = (size_t)64 << 20;
    o->reply_budget_bytes = (size_t)256 << 20;
    o->retry_after_max_s = 60;
}

static double rand01(struct sched *s)
{
    /* splitmix64 */
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct slot *sl = ud;
    struct sched *s = sl->s;
    size_t n = size * nmemb;
    if (n > s->reply_budget - s->st->reply_bytes) {
        sl->over_budget = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (lleval_sb_try_add(&sl->reply, data, n)) {
        sl->too_large = true;
        return 0;
    }
    s->st->reply_bytes += n;
    if (s->st->reply_bytes > s->st->reply_bytes_peak)
        s->st->reply_bytes_peak = s->st->reply_bytes;
    return n;
}

/* Empties a reply buffer that no longer holds a live reply: its bytes leave
 * the budget, and a big buffer is freed rather than kept. */
static void reply_drop(struct sched *s, struct lleval_sb *reply)
{
    s->st->reply_bytes -= reply->len;
    if (reply->alloc > KEEP_REPLY_ALLOC)
        lleval_sb_release(reply);
    else
        lleval_sb_reset(reply);
}

/* Keeps msg (borrowed) as the last error, cut to fit at a UTF-8 character
 * boundary (the run's error message, and so manifest.json, quotes it). */
static void set_last_error(struct sched *s, const char *msg)
{
    size_t n = lleval_utf8_cut(msg, strlen(msg), sizeof(s->st->last_error) - 1);
    memcpy(s->st->last_error, msg, n);
    s->st->last_error[n] = '\0';
}

static void job_free(struct sched *s, size_t job)
{
    free(s->pool[job].custom_id);
    free(s->pool[job].text);
    json_decref(s->pool[job].body);
    memset(&s->pool[job], 0, sizeof(s->pool[job]));
    s->free_idx[s->n_free++] = job;
}

/* Pulls the next job into the pool: 1 with its index, 0 at the end, or the source's error. */
static int take_next(struct sched *s, size_t *job)
{
    struct lleval_job j = {0};
    int rc = s->next(s->ud, &j, s->err);
    if (rc <= 0)
        return rc;
    if (!j.text) { /* a parsed body: its text, once */
        struct lleval_sb sb = LLEVAL_SB_INIT;
        if (j.body)
            lleval_json_dump_sb(j.body, &sb);
        else
            lleval_sb_adds(&sb, "null");
        j.text = lleval_sb_detach(&sb, &j.text_len);
    }
    json_decref(j.body);
    j.body = NULL;
    if (!s->n_free) {
        size_t cap = s->pool_cap ? s->pool_cap * 2 : 16;
        s->pool = lleval_xrealloc(s->pool, cap * sizeof(*s->pool));
        memset(s->pool + s->pool_cap, 0, (cap - s->pool_cap) * sizeof(*s->pool));
        s->free_idx = lleval_xrealloc(s->free_idx, cap * sizeof(*s->free_idx));
        for (size_t i = cap; i > s->pool_cap; i--)
            s->free_idx[s->n_free++] = i - 1;
        s->pool_cap = cap;
    }
    *job = s->free_idx[--s->n_free];
    s->pool[*job] = j;
    return 1;
}

/* Runs after_results once results were delivered since it last ran. */
static void results_done(struct sched *s)
{
    int rc;
    if (!s->delivered || !s->o->after_results)
        return;
    s->delivered = 0;
    rc = s->o->after_results(s->ud);
    if (rc && !s->abort_rc)
        s->abort_rc = rc;
}

/* Hands the result in s->res to on_result and frees the job. */
static int deliver(struct sched *s, size_t job)
{
    int rc = s->on_result(s->ud, &s->pool[job], &s->res);
    job_free(s, job);
    s->st->done++;
    s->delivered++;
    if (rc && !s->abort_rc)
        s->abort_rc = rc;
    return rc;
}

static void deliver_ok(struct sched *s, struct slot *sl, const struct lleval_answer *a, long status)
{
    double latency = (lleval_monotonic() - sl->started) * 1000.0;
    struct lleval_sched_endpoint *ep = &s->eps[sl->ep];
    s->st->ok++;
    ep->ok++;
    if (a->prompt_tokens > 0) {
        s->st->prompt_tokens += a->prompt_tokens;
        ep->prompt_tokens += a->prompt_tokens;
    }
    if (a->completion_tokens > 0) {
        s->st->completion_tokens += a->completion_tokens;
        ep->completion_tokens += a->completion_tokens;
    }
    lleval_result_text_build(&s->res, s->pool[sl->job].custom_id, lleval_engine_name(ep->e), a,
                             status, NULL, NULL, latency, sl->attempts);
    deliver(s, sl->job);
}

static void deliver_fail(struct sched *s, struct slot *sl, long status, const char *code,
                         const char *msg)
{
    double latency = (lleval_monotonic() - sl->started) * 1000.0;
    struct lleval_sched_endpoint *ep = &s->eps[sl->ep];
    s->st->failed++;
    ep->failed++;
    set_last_error(s, msg);
    lleval_result_text_build(&s->res, s->pool[sl->job].custom_id, lleval_engine_name(ep->e), NULL,
                             status, code, msg, latency, sl->attempts);
    deliver(s, sl->job);
}

/* Queues the job's next attempt after the backoff, or after at_least seconds
 * (a Retry-After, bounded by retry_after_max_s) when that is longer. */
static void queue_retry(struct sched *s, size_t job, long attempts, double at_least)
{
    double delay = s->o->backoff_base_s * pow(2.0, (double)(attempts - 1));
    if (delay > s->o->backoff_max_s)
        delay = s->o->backoff_max_s;
    delay *= 0.5 + rand01(s); /* jitter: 50% .. 150% */
    if (at_least > s->o->retry_after_max_s)
        at_least = s->o->retry_after_max_s;
    if (delay < at_least)
        delay = at_least;
    if (s->nretries + 1 > s->capretries) {
        s->capretries = s->capretries ? s->capretries * 2 : 16;
        s->retries = lleval_xrealloc(s->retries, s->capretries * sizeof(*s->retries));
    }
    s->retries[s->nretries++] = (struct retry){job, attempts, lleval_monotonic() + delay};
    s->st->retries++;
}

/* Retry or give up after a transient failure of the attempt in sl. */
static void transient(struct sched *s, struct slot *sl, long status, const char *code,
                      const char *msg)
{
    set_last_error(s, msg);
    if (sl->attempts <= s->o->max_retries && s->o->on_retry)
        s->o->on_retry(s->ud, status, code, msg);
    if (sl->attempts <= s->o->max_retries)
        queue_retry(s, sl->job, sl->attempts,
                    status == 429 || status == 503 ? (double)sl->retry_after : 0);
    else
        deliver_fail(s, sl, status, code, msg);
}

void lleval_sched_slot_clear(struct sched *s, struct slot *sl)
{
    if (sl->easy && !sl->local)
        curl_multi_remove_handle(s->multi, sl->easy);
    curl_slist_free_all(sl->headers);
    sl->headers = NULL;
    lleval_http_request_release(&sl->req);
    reply_drop(s, &sl->reply);
    lleval_answer_release(&sl->answer);
    sl->active = false;
    sl->local = false;
    sl->too_large = false;
    sl->over_budget = false;
    s->st->in_flight--;
    s->eps[sl->ep].in_flight--;
}

/* True when the slot's header list (its last request's) is req's: then it
 * is kept for the next request rather than built again. */
static bool same_headers(const struct curl_slist *h, const struct lleval_http_request *req)
{
    for (size_t i = 0; i < req->n_headers; i++, h = h->next)
        if (!h || strcmp(h->data, req->headers[i]))
            return false;
    return h && !strcmp(h->data, "Expect:") && !h->next;
}

static void start_job(struct sched *s, struct slot *sl, size_t job, long attempts)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct lleval_job *j = &s->pool[job];
    struct lleval_engine *e = s->eps[sl->ep].e;

    sl->active = true;
    sl->job = job;
    sl->attempts = attempts;
    sl->started = lleval_monotonic();
    s->st->in_flight++;
    s->eps[sl->ep].in_flight++;
    if (s->st->in_flight > s->st->max_in_flight_seen)
        s->st->max_in_flight_seen = s->st->in_flight;

    if (lleval_engine_is_local(e)) {
        sl->local = true;
        lleval_answer_init(&sl->answer);
        if (lleval_engine_answer_local_text(e, j->custom_id, j->text, j->text_len, &sl->answer,
                                            &err)) {
            deliver_fail(s, sl, 0, "engine_error", err.msg);
            lleval_sched_slot_clear(s, sl);
            return;
        }
        sl->due = sl->started + (double)lleval_engine_local_delay_ms(e) / 1000.0;
        return;
    }
    if (lleval_engine_make_request_text(e, j->text, j->text_len, &sl->req, &err)) {
        deliver_fail(s, sl, 0, "bad_request", err.msg);
        lleval_sched_slot_clear(s, sl);
        return;
    }
    if (!sl->easy) {
        /* the options every request of this slot shares, set once (the
         * handle, and its connection, is reused for the slot's requests) */
        sl->easy = curl_easy_init();
        curl_easy_setopt(sl->easy, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(sl->easy, CURLOPT_WRITEDATA, sl);
        curl_easy_setopt(sl->easy, CURLOPT_PRIVATE, sl);
        curl_easy_setopt(sl->easy, CURLOPT_TIMEOUT_MS, (long)(s->o->timeout_s * 1000.0));
        curl_easy_setopt(sl->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(sl->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(sl->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    }
    if (!same_headers(sl->headers, &sl->req)) {
        curl_slist_free_all(sl->headers);
        sl->headers = NULL;
        for (size_t i = 0; i < sl->req.n_headers; i++)
            sl->headers = curl_slist_append(sl->headers, sl->req.headers[i]);
        sl->headers = curl_slist_append(sl->headers, "Expect:");
    }
    curl_easy_setopt(sl->easy, CURLOPT_URL, sl->req.url);
    curl_easy_setopt(sl->easy, CURLOPT_HTTPHEADER, sl->headers);
    if (sl->req.body) {
        curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, sl->req.body);
        curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(sl->req.body));
    } else {
        curl_easy_setopt(sl->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_multi_add_handle(s->multi, sl->easy);
}

static bool is_connect_error(CURLcode c)
{
    return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
           c == CURLE_GOT_NOTHING || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR;
}

/* The failed transfer's message, "<url>: <curl's reason>", into msg[size],
 * cut at a UTF-8 character boundary when the URL is very long. */
static void transfer_error(const struct slot *sl, CURLcode code, char *msg, size_t size)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t n;
    lleval_sb_addf(&sb, "%s: %s", sl->req.url, curl_easy_strerror(code));
    n = lleval_utf8_cut(sb.buf, sb.len, size - 1);
    memcpy(msg, sb.buf, n);
    msg[n] = '\0';
    lleval_sb_release(&sb);
}

static void finish_http(struct sched *s, struct slot *sl, CURLcode code)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    long status = 0;
    char msg[512];

    if (code != CURLE_OK) {
        if (sl->too_large) {
            snprintf(msg, sizeof(msg), "the engine's reply exceeded %zu MiB", s->reply_cap >> 20);
            deliver_fail(s, sl, 0, "reply_too_large", msg);
            return;
        }
        if (sl->over_budget) {
            /* the other replies in flight hold the budget: try again once
             * they are parsed (their buffers are then free) */
            snprintf(msg, sizeof(msg),
                     "the engine's replies in flight exceeded their memory budget of %zu MiB "
                     "(reply_budget_bytes)",
                     s->reply_budget >> 20);
            transient(s, sl, 0, "reply_too_large", msg);
            return;
        }
        if (is_connect_error(code) && s->unreachable) {
            /* the run already gave up on the engine (revive() said no): the
             * transfers still in flight fail the same way and stay unanswered,
             * without counting or asking revive() again */
            return;
        }
        transfer_error(sl, code, msg, sizeof(msg));
        if (is_connect_error(code) && s->several) {
            /* that server is away: the others take its work */
            set_last_error(s, msg);
            if (!s->eps[sl->ep].down) {
                if (s->o->on_retry)
                    s->o->on_retry(s->ud, 0, "connection_error", msg);
                lleval_sched_endpoint_out(s, sl->ep, msg);
            }
            s->eps[sl->ep].requeued++;
            lleval_sched_requeue(s, sl->job, sl->attempts - 1);
            return;
        }
        if (is_connect_error(code)) {
            s->st->consecutive_connect_failures++;
            set_last_error(s, msg);
            if (s->st->consecutive_connect_failures >= s->o->max_connect_failures) {
                if (s->o->revive && s->o->revive(s->ud)) {
                    s->st->consecutive_connect_failures = 0;
                    queue_retry(s, sl->job, sl->attempts, 0);
                    return;
                }
                /* leave this job unanswered: resume asks it again */
                s->unreachable = true;
                return;
            }
            /* the engine is away, the request is not at fault: this does not
             * use up its retries (max_connect_failures ends the run instead,
             * resumable, rather than recording a failed answer) */
            if (s->o->on_retry)
                s->o->on_retry(s->ud, 0, "connection_error", msg);
            queue_retry(s, sl->job, sl->attempts, 0);
        } else if (code == CURLE_OPERATION_TIMEDOUT) {
            transient(s, sl, 0, "timeout", msg);
        } else {
            transient(s, sl, 0, "transport_error", msg);
        }
        return;
    }
    s->st->consecutive_connect_failures = 0;
    status = sl->status;
    {
        struct lleval_answer a;
        enum lleval_reply r;
        lleval_answer_init(&a);
        r = lleval_engine_parse_reply(s->eps[sl->ep].e, status, sl->reply.buf, sl->reply.len, &a,
                                      &err);
        if (r == LLEVAL_REPLY_OK) {
            deliver_ok(s, sl, &a, status);
        } else {
            char codebuf[32];
            /* a 2xx whose body is not a reply (malformed, or of the wrong shape) */
            if (status >= 200 && status < 300)
                snprintf(codebuf, sizeof(codebuf), "invalid_reply");
            else
                snprintf(codebuf, sizeof(codebuf), status ? "http_%ld" : "bad_reply", status);
            if (!err.msg[0])
                snprintf(err.msg, sizeof(err.msg), "HTTP %ld from %s", status, sl->req.url);
            if (r == LLEVAL_REPLY_RETRY)
                transient(s, sl, status, codebuf, err.msg);
            else
                deliver_fail(s, sl, status, codebuf, err.msg);
        }
        lleval_answer_release(&a);
    }
}

/* Moves the finished transfer in sl into d (an idle s->done entry) and frees
 * sl for the next job: d takes the request, the reply and the attempt's facts,
 * sl gets d's empty reply buffer (the two are swapped, not reallocated). */
static void take_finished(struct sched *s, struct slot *sl, CURLcode result, struct slot *d)
{
    struct lleval_sb spare = d->reply;
    d->result = result;
    d->status = 0;
    d->retry_after = 0;
    curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &d->status);
#if LIBCURL_VERSION_NUM >= 0x074200
    {
        /* curl parses both forms: delta-seconds and an HTTP-date */
        curl_off_t ra = 0;
        if (curl_easy_getinfo(sl->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            d->retry_after = ra > 86400 ? 86400 : (long)ra;
    }
#endif
    curl_multi_remove_handle(s->multi, sl->easy); /* its header list stays for the next */
    d->active = true;
    d->ep = sl->ep;
    d->job = sl->job;
    d->attempts = sl->attempts;
    d->started = sl->started;
    d->too_large = sl->too_large;
    d->over_budget = sl->over_budget;
    d->req = sl->req;
    memset(&sl->req, 0, sizeof(sl->req));
    d->reply = sl->reply;
    sl->reply = spare;
    lleval_sb_reset(&sl->reply);
    sl->active = false;
    sl->too_large = false;
    sl->over_budget = false;
    s->st->in_flight--;
    s->eps[sl->ep].in_flight--;
}

/* Parses and delivers a finished transfer taken out of its slot, then empties d. */
static void settle(struct sched *s, struct slot *d)
{
    finish_http(s, d, d->result);
    lleval_http_request_release(&d->req);
    reply_drop(s, &d->reply);
    d->active = false;
    d->too_large = false;
    d->over_budget = false;
}

/* Index of a retry that is due now, or -1. */
static long due_retry(struct sched *s, double now)
{
    long best = -1;
    for (size_t i = 0; i < s->nretries; i++)
        if (s->retries[i].at <= now && (best < 0 || s->retries[i].at < s->retries[best].at))
            best = (long)i;
    return best;
}

/* Starts jobs (due retries first) in the free slots, each on the least-loaded
 * endpoint; returns how many. */
static size_t fill_slots(struct sched *s)
{
    double now = lleval_monotonic();
    size_t started = 0;
    while (!s->abort_rc) {
        long k = lleval_sched_pick_endpoint(s), r;
        struct slot *sl = k >= 0 ? lleval_sched_free_slot(s, (size_t)k) : NULL;
        if (!sl)
            break;
        r = due_retry(s, now);
        if (r >= 0) {
            struct retry rt = s->retries[r];
            s->retries[r] = s->retries[--s->nretries];
            start_job(s, sl, rt.job, rt.attempts + 1);
        } else if (!s->source_done) {
            size_t job;
            int rc = take_next(s, &job);
            if (rc < 0) {
                s->abort_rc = rc;
                break;
            }
            if (!rc) {
                s->source_done = true;
                break;
            }
            start_job(s, sl, job, 1);
        } else {
            break;
        }
        started++;
    }
    return started;
}

static void finish_local(struct sched *s, double now, bool all)
{
    for (size_t i = 0; i < s->nslots; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->active && sl->local && (all || sl->due <= now)) {
            deliver_ok(s, sl, &sl->answer, 200);
            lleval_sched_slot_clear(s, sl);
        }
    }
}

static long wait_ms(struct sched *s, double now, long tick_ms)
{
    double next = now + (double)tick_ms / 1000.0;
    /* a retry due with no slot free to take it waits for a transfer, not a spin */
    bool room = lleval_sched_pick_endpoint(s) >= 0;
    for (size_t i = 0; i < s->nslots; i++)
        if (s->slots[i].active && s->slots[i].local && s->slots[i].due < next)
            next = s->slots[i].due;
    for (size_t i = 0; room && i < s->nretries; i++)
        if (s->retries[i].at < next)
            next = s->retries[i].at;
    for (size_t k = 0; s->several && k < s->n_eps; k++)
        if (s->eps[k].down && lleval_sched_check_due(s, k) < next)
            next = lleval_sched_check_due(s, k);
    if (next <= now)
        return 0;
    return (long)((next - now) * 1000.0) + 1;
}

int lleval_sched_run(struct lleval_engine *e, lleval_sched_next_fn next, size_t total,
                     const struct lleval_sched_opts *o, lleval_sched_result_fn on_result,
                     lleval_sched_tick_fn on_tick, void *ud, struct lleval_sched_stats *st,
                     struct lleval_err *err)
{
    struct lleval_sched_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    ep.e = e;
    ep.slots = o->max_in_flight > 0 ? o->max_in_flight : 1;
    return lleval_sched_run_endpoints(&ep, 1, next, total, o, on_result, on_tick, ud, st, err);
}

int lleval_sched_run_endpoints(struct lleval_sched_endpoint *eps, size_t n,
                               lleval_sched_next_fn next, size_t total,
                               const struct lleval_sched_opts *o, lleval_sched_result_fn on_result,
                               lleval_sched_tick_fn on_tick, void *ud,
                               struct lleval_sched_stats *st, struct lleval_err *err)
{
    struct sched s;
    bool stopping = false;
    double last_tick;
    long most = 1;
    int rc = 0;

    memset(st, 0, sizeof(*st));
    memset(&s, 0, sizeof(s));
    s.e = eps[0].e;
    s.eps = eps;
    s.n_eps = n;
    s.several = n > 1;
    s.next = next;
    s.err = err;
    s.o = o;
    s.on_result = on_result;
    s.ud = ud;
    s.st = st;
    s.rng = o->seed;
    lleval_result_text_init(&s.res);
    s.first = lleval_xcalloc(n, sizeof(*s.first));
    for (size_t k = 0; k < n; k++) {
        long slots = eps[k].slots > 0 ? eps[k].slots : 1;
        /* the counters go on from the caller's (one run per model adds up) */
        eps[k].slots = slots;
        eps[k].in_flight = 0;
        eps[k].failed_checks = 0;
        if (eps[k].down) { /* out from the start (its probe failed): checked soon */
            eps[k].outages++;
            eps[k].down_since = lleval_monotonic();
            eps[k].next_check = eps[k].down_since + CHECK_FIRST_S;
        }
        s.first[k] = s.nslots;
        s.nslots += (size_t)slots;
        if (slots > most)
            most = slots;
    }
    s.slots = lleval_xcalloc(s.nslots, sizeof(*s.slots));
    s.done = lleval_xcalloc(s.nslots, sizeof(*s.done));
    s.reply_budget = o->reply_budget_bytes ? o->reply_budget_bytes : (size_t)256 << 20;
    s.reply_cap = o->max_reply_bytes ? o->max_reply_bytes : (size_t)64 << 20;
    if (s.reply_cap > s.reply_budget)
        s.reply_cap = s.reply_budget;
    for (size_t k = 0; k < n; k++)
        for (size_t i = s.first[k]; i < s.first[k] + (size_t)eps[k].slots; i++)
            s.slots[i].ep = k;
    for (size_t i = 0; i < s.nslots; i++) {
        s.slots[i].s = &s;
        s.done[i].s = &s;
        lleval_sb_init_max(&s.slots[i].reply, 0, s.reply_cap);
        lleval_sb_init_max(&s.done[i].reply, 0, s.reply_cap);
    }
    st->total = total;
    st->started = lleval_monotonic();
    last_tick = st->started;
    if (!lleval_engine_is_local(s.e)) {
        s.multi = curl_multi_init();
        curl_multi_setopt(s.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          s.several ? (long)s.nslots : most);
        curl_multi_setopt(s.multi, CURLMOPT_MAXCONNECTS, (long)s.nslots + 1);
    }

    for (;;) {
        double now = lleval_monotonic();
        if (lleval_stop_signal())
            stopping = true;
        if (s.unreachable || s.abort_rc)
            stopping = true;
        if (lleval_stop_signal() >= 2 || s.abort_rc)
            break; /* abandon what is in flight */
        if (s.several && !stopping) {
            lleval_sched_check_endpoints(&s);
            if (s.unreachable)
                stopping = true;
        }
        if (!stopping)
            fill_slots(&s);
        if (!st->in_flight && (stopping || (s.source_done && !s.nretries)))
            break;
        if (s.multi && (st->in_flight || s.check_transfers)) {
            int running, msgs;
            size_t refilled = 0;
            CURLMsg *m;
            size_t ndone = 0;
            curl_multi_perform(s.multi, &running);
            /* at most nslots messages: one per transfer in flight */
            while ((m = curl_multi_info_read(s.multi, &msgs))) {
                struct slot *sl = NULL;
                if (m->msg != CURLMSG_DONE)
                    continue;
                /* a health check's request: read now (small, and its verdict
                 * may bring an endpoint back for the refill below) */
                if (lleval_sched_check_finished(&s, m->easy_handle, m->data.result))
                    continue;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
                take_finished(&s, sl, m->data.result, &s.done[ndone++]);
            }
            /* refill the freed slots and send the new requests before parsing
             * the replies (and never wait first: a poll would leave the slots
             * idle until another request finishes or tick_ms passes) */
            if (!stopping && !lleval_stop_signal() && !s.unreachable)
                refilled = fill_slots(&s);
            if (refilled)
                curl_multi_perform(s.multi, &running);
            for (size_t i = 0; i < ndone; i++)
                settle(&s, &s.done[i]);
            if (refilled) {
                /* no wait: the new transfers may have finished already, and
                 * their messages wait for the next curl_multi_info_read */
            } else if (!s.abort_rc && !s.unreachable && (st->in_flight || s.check_transfers)) {
                curl_multi_poll(s.multi, NULL, 0, (int)wait_ms(&s, lleval_monotonic(), o->tick_ms),
                                NULL);
            } else if (!st->in_flight && s.nretries && !stopping) {
                lleval_sleep_ms(wait_ms(&s, lleval_monotonic(), o->tick_ms));
            }
        } else if (st->in_flight) {
            /* the clock now, not the loop's start: the jobs just started are due from now */
            long w = wait_ms(&s, lleval_monotonic(), o->tick_ms);
            if (w > 0)
                lleval_sleep_ms(w);
            finish_local(&s, lleval_monotonic(), false);
        } else if ((s.nretries || s.several) && !stopping) {
            /* nothing in flight: a retry's backoff, or an endpoint's check
             * (all out of rotation), is what the loop waits for */
            lleval_sleep_ms(wait_ms(&s, now, o->tick_ms));
        }
        results_done(&s);
        now = lleval_monotonic();
        st->elapsed = now - st->started;
        if (on_tick && (now - last_tick) * 1000.0 >= (double)o->tick_ms) {
            last_tick = now;
            if (on_tick(ud, st))
                stopping = true;
        }
    }
    results_done(&s);
    st->elapsed = lleval_monotonic() - st->started;
    if (on_tick)
        on_tick(ud, st);

    for (size_t i = 0; i < s.nslots; i++) {
        if (s.slots[i].active)
            lleval_sched_slot_clear(&s, &s.slots[i]);
        if (s.slots[i].easy)
            curl_easy_cleanup(s.slots[i].easy);
        curl_slist_free_all(s.slots[i].headers);
        lleval_sb_release(&s.slots[i].reply);
        lleval_http_request_release(&s.done[i].req);
        lleval_sb_release(&s.done[i].reply);
    }
    lleval_sched_checks_release(&s); /* a check still running is abandoned */
    if (s.multi)
        curl_multi_cleanup(s.multi);
    /* jobs still live were abandoned (stop, unreachable, abort): resume asks them again */
    for (size_t i = 0; i < s.pool_cap; i++) {
        free(s.pool[i].custom_id);
        free(s.pool[i].text);
        json_decref(s.pool[i].body);
    }
    free(s.pool);
    free(s.free_idx);
    lleval_result_text_release(&s.res);
    free(s.slots);
    free(s.done);
    free(s.retries);
    free(s.first);
    for (size_t k = 0; k < n; k++) {
        if (eps[k].down) { /* counted up to now; down_since moves on with it */
            double now = lleval_monotonic();
            eps[k].out_of_rotation_s += now - eps[k].down_since;
            eps[k].down_since = now;
        }
    }

    if (s.abort_rc)
        rc = s.abort_rc;
    else if (s.unreachable && s.several)
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "every one of the %zu endpoints is unreachable (the last: %s); the "
                            "run is resumable: start the engines and run it again",
                            n, st->last_error);
    else if (s.unreachable)
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "engine unreachable after %ld consecutive connection failures (%s); "
                            "the run is resumable: start the engine and run it again",
                            st->consecutive_connect_failures, st->last_error);
    else if (!s.source_done || s.nretries || s.n_free != s.pool_cap)
        rc = lleval_err_set(err, LLEVAL_EINTR,
                            "stopped with %zu of %zu requests answered; the run is resumable",
                            st->done, total);
    return rc;
}
