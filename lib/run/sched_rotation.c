/*
 * The scheduler's endpoints (see scheduler.h, lleval_sched_run_endpoints):
 * which endpoint a free slot serves next (the least loaded in rotation),
 * taking an endpoint out of rotation with its requests requeued, and the
 * health checks that bring it back: the engine's probe as steps
 * (lleval_engine_check_*), its requests sent here as transfers of the
 * loop's multi handle, so that a server that accepts and never answers
 * holds up no other endpoint. The scheduler's loop is scheduler.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/http.h"
#include "lleval/platform/platform.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "sched_int.h"

/* Queues a job taken back from an endpoint out of rotation, due now; its next
 * attempt is numbered attempts + 1. */
void lleval_sched_requeue(struct sched *s, size_t job, long attempts)
{
    if (s->nretries + 1 > s->capretries) {
        s->capretries = s->capretries ? s->capretries * 2 : 16;
        s->retries = lleval_xrealloc(s->retries, s->capretries * sizeof(*s->retries));
    }
    s->retries[s->nretries++] = (struct retry){job, attempts, lleval_monotonic()};
}

/* Takes endpoint k out of rotation (msg borrowed: why): its transfers leave
 * the multi handle (no reply of theirs can arrive any more) and their jobs
 * are queued again for the other endpoints. */
void lleval_sched_endpoint_out(struct sched *s, size_t k, const char *msg)
{
    struct lleval_sched_endpoint *ep = &s->eps[k];
    double now = lleval_monotonic();
    size_t n = lleval_utf8_cut(msg, strlen(msg), sizeof(ep->last_error) - 1);

    memcpy(ep->last_error, msg, n);
    ep->last_error[n] = '\0';
    ep->down = true;
    ep->outages++;
    ep->down_since = now;
    ep->failed_checks = 0;
    ep->next_check = now + CHECK_FIRST_S;
    for (size_t i = s->first[k]; i < s->first[k] + (size_t)ep->slots; i++) {
        struct slot *sl = &s->slots[i];
        size_t job;
        long attempts;
        if (!sl->active || sl->local)
            continue;
        job = sl->job;
        attempts = sl->attempts;
        lleval_sched_slot_clear(s, sl);
        ep->requeued++;
        lleval_sched_requeue(s, job, attempts - 1);
    }
}

/* The verdict of endpoint k's check: passed, it is back in rotation; failed,
 * its next check waits twice as long as the last (CHECK_MAX_S at most). */
static void check_verdict(struct sched *s, size_t k, bool pass)
{
    struct lleval_sched_endpoint *ep = &s->eps[k];
    double now = lleval_monotonic();
    double wait;
    if (pass) {
        ep->down = false;
        ep->out_of_rotation_s += now - ep->down_since;
        ep->failed_checks = 0;
        return;
    }
    ep->failed_checks++;
    wait = CHECK_FIRST_S * pow(2.0, (double)ep->failed_checks);
    ep->next_check = now + (wait < CHECK_MAX_S ? wait : CHECK_MAX_S);
}

static size_t check_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct hcheck *h = ud;
    size_t n = size * nmemb;
    if (lleval_sb_try_add(&h->reply, data, n)) {
        h->too_large = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR: no reply */
    }
    return n;
}

/* Puts check h's request (h->req) on the multi handle, as the probe sends
 * it: its own connection, closed after, bounded to h->c.timeout_ms. False
 * when it cannot go (no multi handle: the run's first engine is local). */
static bool check_send(struct sched *s, struct hcheck *h)
{
    if (!s->multi)
        return false;
    if (!h->easy) {
        h->easy = curl_easy_init();
        if (!h->easy)
            return false;
        curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, check_write);
        curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
        curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h->easy, CURLOPT_USERAGENT, "lleval");
        curl_easy_setopt(h->easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h->easy, CURLOPT_FORBID_REUSE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    }
    curl_slist_free_all(h->headers);
    h->headers = NULL;
    for (size_t i = 0; i < h->req.n_headers; i++)
        h->headers = curl_slist_append(h->headers, h->req.headers[i]);
    curl_easy_setopt(h->easy, CURLOPT_URL, h->req.url);
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
    if (h->req.body) {
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, h->req.body);
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(h->req.body));
    } else {
        curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, h->c.timeout_ms);
    curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, h->c.timeout_ms);
    lleval_sb_reset(&h->reply);
    h->too_large = false;
    if (curl_multi_add_handle(s->multi, h->easy) != CURLM_OK)
        return false;
    h->sending = true;
    s->check_transfers++;
    return true;
}

/* Goes on with endpoint k's check after the adapter's answer: its next
 * request now or after its wait, or its verdict. */
static void check_next(struct sched *s, size_t k, enum lleval_check_next next)
{
    struct hcheck *h = &s->checks[k];
    if (next == LLEVAL_CHECK_SEND) {
        h->running = true;
        h->send_at = lleval_monotonic() + (double)h->c.wait_ms / 1000.0;
        if (h->c.wait_ms > 0 || check_send(s, h))
            return;
        next = LLEVAL_CHECK_FAIL;
    }
    lleval_http_request_release(&h->req);
    h->running = false;
    check_verdict(s, k, next == LLEVAL_CHECK_PASS);
}

bool lleval_sched_check_finished(struct sched *s, CURL *easy, CURLcode result)
{
    struct lleval_check_reply reply = {0};
    struct lleval_err err = LLEVAL_ERR_INIT;
    enum lleval_check_next next;
    struct hcheck *h = NULL;
    size_t k;
    for (k = 0; s->checks && k < s->n_eps; k++)
        if (s->checks[k].sending && s->checks[k].easy == easy) {
            h = &s->checks[k];
            break;
        }
    if (!h)
        return false;
    curl_multi_remove_handle(s->multi, easy);
    h->sending = false;
    s->check_transfers--;
    reply.answered = result == CURLE_OK && !h->too_large;
    if (reply.answered)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.status);
    reply.body = h->reply.buf;
    reply.len = h->reply.len;
    reply.why = h->too_large ? "the reply is too large" : curl_easy_strerror(result);
    lleval_http_request_release(&h->req);
    /* the adapter reads the reply and builds the next request: no I/O of its own */
    next = lleval_engine_check_reply(s->eps[k].e, &h->c, lleval_monotonic(), &reply, &h->req, &err);
    lleval_sb_reset(&h->reply);
    check_next(s, k, next);
    return true;
}

double lleval_sched_check_due(const struct sched *s, size_t k)
{
    const struct hcheck *h = s->checks ? &s->checks[k] : NULL;
    if (h && h->sending)
        return HUGE_VAL;
    if (h && h->running)
        return h->send_at;
    return s->eps[k].next_check;
}

void lleval_sched_checks_release(struct sched *s)
{
    for (size_t k = 0; s->checks && k < s->n_eps; k++) {
        struct hcheck *h = &s->checks[k];
        if (h->sending)
            curl_multi_remove_handle(s->multi, h->easy);
        if (h->easy)
            curl_easy_cleanup(h->easy);
        curl_slist_free_all(h->headers);
        lleval_http_request_release(&h->req);
        lleval_sb_release(&h->reply);
    }
    free(s->checks);
    s->checks = NULL;
    s->check_transfers = 0;
}

/* Starts the checks of the endpoints out of rotation that are due (their
 * probe's requests as transfers of the loop, bounded) and sends a running
 * check's next request once its wait passed; a check that passes brings its
 * endpoint back (check_next). When every endpoint is out and has failed
 * max_connect_failures checks in a row, the run gives up (after asking
 * revive()). */
void lleval_sched_check_endpoints(struct sched *s)
{
    bool all_spent = true;
    if (!s->checks) {
        s->checks = lleval_xcalloc(s->n_eps, sizeof(*s->checks));
        for (size_t k = 0; k < s->n_eps; k++)
            lleval_sb_init_max(&s->checks[k].reply, 0, LLEVAL_HTTP_PROBE_MAX_BODY);
    }
    for (size_t k = 0; k < s->n_eps; k++) {
        struct lleval_sched_endpoint *ep = &s->eps[k];
        struct hcheck *h = &s->checks[k];
        double now = lleval_monotonic();
        if (!ep->down) {
            all_spent = false;
            continue;
        }
        if (h->running && !h->sending && now >= h->send_at) {
            if (!check_send(s, h))
                check_next(s, k, LLEVAL_CHECK_FAIL);
        } else if (!h->running && now >= ep->next_check) {
            struct lleval_err err = LLEVAL_ERR_INIT;
            check_next(
                s, k, lleval_engine_check_start(ep->e, &h->c, CHECK_TIMEOUT_S, now, &h->req, &err));
        }
        if (!ep->down || ep->failed_checks < s->o->max_connect_failures)
            all_spent = false;
    }
    if (!all_spent)
        return;
    if (s->o->revive && s->o->revive(s->ud)) {
        for (size_t k = 0; k < s->n_eps; k++) {
            s->eps[k].failed_checks = 0;
            s->eps[k].next_check = lleval_monotonic();
        }
        return;
    }
    s->unreachable = true;
}

/* The endpoint in rotation with a free slot and the fewest requests in flight
 * for its slots (the first of equals), or -1 when none has room. */
long lleval_sched_pick_endpoint(const struct sched *s)
{
    long best = -1;
    for (size_t k = 0; k < s->n_eps; k++) {
        const struct lleval_sched_endpoint *ep = &s->eps[k];
        if (ep->down || ep->in_flight >= (size_t)ep->slots)
            continue;
        if (best < 0 ||
            ep->in_flight * (size_t)s->eps[best].slots < s->eps[best].in_flight * (size_t)ep->slots)
            best = (long)k;
    }
    return best;
}

/* A free slot of endpoint k (it has room: pick_endpoint). */
struct slot *lleval_sched_free_slot(struct sched *s, size_t k)
{
    for (size_t i = s->first[k]; i < s->first[k] + (size_t)s->eps[k].slots; i++)
        if (!s->slots[i].active)
            return &s->slots[i];
    return NULL;
}
