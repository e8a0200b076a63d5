/*
 * Unit tests for the request scheduler (lib/run/scheduler.c), driven
 * in-process through the openai adapter against a small HTTP/1.1 server that
 * runs on a loopback port in threads of this test. Each request's user
 * message says how the server answers it ("<key> <mode>": ok, a status for
 * the first N attempts, a malformed body, or a hang until the client gives
 * up), and the server counts the requests it has in flight, so the tests see
 * from outside that the scheduler never exceeds its slots, delivers every job
 * exactly once, retries only what is transient, and stops when asked. With
 * two endpoints, the health checks of one out of rotation (GET /v1/models,
 * answered, held or never answered) run beside the other's requests.
 * Nothing sleeps a fixed time: the server waits on conditions with deadlines.
 * Over 800 lines because the server (about 300) lives here with its only user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include "testutil.h"
#include "lleval/engine/engine.h"
#include "lleval/platform/platform.h"
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/run/scheduler.h"
#include "lleval/util/util.h"

#define MAX_CONNS  512
#define MAX_KEYS   256
#define HANG_MAX_S 20.0 /* a hanging request gives up by itself after this */

/* ---- the loopback server -------------------------------------------------------------------- */

struct srv {
    tu_socket lfd;
    int port;
    char url[64];
    tu_thread accept_thr;
    tu_thread conns[MAX_CONNS];
    int nconns;
    tu_mutex mu;
    tu_cond cv;
    bool stopping;
    int gate;       /* hold requests until this many are in flight at once (0: no gate) */
    bool gate_open; /* the gate opens once for good */
    int in_flight, max_in_flight;
    long requests; /* chat requests read */
    long answered; /* replies written */
    long per_key[MAX_KEYS];
    double first_at[MAX_KEYS], second_at[MAX_KEYS]; /* when attempts 1 and 2 arrived */
    long lock_round[MAX_KEYS]; /* "lock:" replies: chunks sent (LOCK_DONE once finished) */
    int lock_n;                /* how many "lock:" replies take part */
    /* health checks (GET /v1/models): answered at once (CHECK_ANSWER), the
     * first held until check_release (CHECK_HOLD_FIRST), or each held until
     * the client gives up (CHECK_HANG) */
    enum { CHECK_ANSWER = 0, CHECK_HOLD_FIRST, CHECK_HANG } check_mode;
    long checks;         /* checks that arrived */
    long checks_closed;  /* checks the client gave up on (no reply sent) */
    long checks_pending; /* arrived, neither answered nor given up */
    bool check_release;
    bool check_sigint; /* a check's arrival raises SIGINT (Ctrl-C pressed meanwhile) */
    /* chat replies wait until peer has seen hold_checks checks; those of keys
     * >= hold_key until it has seen hold_key_checks and read hold_requests
     * chat requests */
    struct srv *peer;
    long hold_checks;
    long hold_key;
    long hold_key_checks;
    long hold_requests;
};

#define LOCK_DONE  (1L << 30)
#define LOCK_CHUNK (64 * 1024)

static double now_s(void)
{
    return lleval_monotonic();
}

/* Waits on s->cv (s->mu held) until woken or the monotonic deadline; false once it passed. */
static bool wait_until(struct srv *s, double deadline)
{
    double left = deadline - now_s();
    if (left <= 0)
        return false;
    return tu_cond_wait_ms(&s->cv, &s->mu, (long)(left * 1000.0) + 1) || now_s() < deadline;
}

static bool send_all(tu_socket fd, const char *p, size_t n)
{
    while (n) {
        long w = tu_send(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void send_reply_h(tu_socket fd, int status, const char *extra, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s"
                     "Content-Length: %zu\r\n\r\n",
                     status, extra, strlen(body));
    if (send_all(fd, head, (size_t)n))
        send_all(fd, body, strlen(body));
}

static void send_reply(tu_socket fd, int status, const char *body)
{
    send_reply_h(fd, status, "", body);
}

/* Whether every "lock:" reply has sent at least round chunks (or finished);
 * waits for that up to 10 s. Called with s->mu held. */
static void lock_wait(struct srv *s, long round)
{
    double deadline = now_s() + 10.0;
    for (;;) {
        int behind = 0;
        for (int k = 0; k < MAX_KEYS; k++)
            if (k < s->lock_n && s->lock_round[k] < round)
                behind++;
        if (!behind || s->stopping || !wait_until(s, deadline))
            return;
    }
}

/* A valid chat reply whose content is <size> 'a's, its first attempt sent in
 * 64 KiB chunks in lock step with the other "lock:" replies (keys 0 ..
 * lock_n-1): no reply ends before every one has sent all but its last chunk,
 * so the client holds all of them at once. Later attempts go at once. */
static void send_lock_reply(struct srv *s, tu_socket fd, long key, long attempt, size_t size)
{
    struct lleval_sb b = LLEVAL_SB_INIT;
    char head[256];
    size_t off = 0;
    long round = 0;
    bool ok;
    lleval_sb_adds(&b, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                       "\"content\":\"");
    for (size_t i = 0; i < size; i++)
        lleval_sb_addch(&b, 'a');
    lleval_sb_adds(&b, "\"},\"finish_reason\":\"stop\"}]}");
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
             b.len);
    ok = send_all(fd, head, strlen(head));
    while (ok && off < b.len) {
        size_t k = b.len - off < LOCK_CHUNK ? b.len - off : LOCK_CHUNK;
        if (attempt == 1 && key < s->lock_n) {
            tu_mutex_lock(&s->mu);
            lock_wait(s, round);
            tu_mutex_unlock(&s->mu);
        }
        ok = send_all(fd, b.buf + off, k);
        off += k;
        round++;
        if (attempt == 1 && key < s->lock_n) {
            tu_mutex_lock(&s->mu);
            s->lock_round[key] = ok && off < b.len ? round : LOCK_DONE;
            tu_cond_broadcast(&s->cv);
            tu_mutex_unlock(&s->mu);
        }
    }
    if (attempt == 1 && key >= 0 && key < s->lock_n) {
        tu_mutex_lock(&s->mu);
        s->lock_round[key] = LOCK_DONE;
        tu_cond_broadcast(&s->cv);
        tu_mutex_unlock(&s->mu);
    }
    lleval_sb_release(&b);
}

/* Waits (polling in 20 ms steps) until fd is readable; false once the server stops. */
static bool wait_readable(struct srv *s, tu_socket fd)
{
    for (;;) {
        bool stop;
        int r = tu_poll_readable(fd, 20);
        if (r > 0)
            return true;
        tu_mutex_lock(&s->mu);
        stop = s->stopping;
        tu_mutex_unlock(&s->mu);
        if (stop)
            return false;
    }
}

/* Reads one request's body into *body (owned), and whether it is a GET; false at the end of
 * the connection. */
static bool read_request(struct srv *s, tu_socket fd, struct lleval_sb *in, char **body, bool *get)
{
    for (;;) {
        char *end = strstr(in->buf, "\r\n\r\n");
        if (end) {
            size_t head = (size_t)(end - in->buf) + 4;
            *get = !strncmp(in->buf, "GET ", 4);
            const char *cl = strstr(in->buf, "Content-Length:");
            long len = 0;
            if (!cl)
                cl = strstr(in->buf, "content-length:");
            if (cl && cl < end)
                len = strtol(cl + 15, NULL, 10);
            if (in->len >= head + (size_t)len) {
                *body = lleval_xstrndup(in->buf + head, (size_t)len);
                memmove(in->buf, in->buf + head + len, in->len - head - (size_t)len);
                in->len -= head + (size_t)len;
                in->buf[in->len] = '\0';
                return true;
            }
        }
        {
            char buf[4096];
            long r;
            if (!wait_readable(s, fd))
                return false;
            r = tu_recv(fd, buf, sizeof(buf), false);
            if (r <= 0)
                return false;
            lleval_sb_add(in, buf, (size_t)r);
        }
    }
}

/* Waits until the client closes fd (a timed-out request), the server stops or HANG_MAX_S. */
static void hang(struct srv *s, tu_socket fd)
{
    double until = now_s() + HANG_MAX_S;
    while (now_s() < until) {
        char c;
        if (!wait_readable(s, fd))
            return;
        if (tu_recv(fd, &c, 1, true) <= 0)
            return;
    }
}

/* The user message "<key> <mode>" of a chat request body; key -1 when absent. */
static void request_mode(const char *body, long *key, char *mode, size_t size)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *msgs = json_object_get(j, "messages");
    const char *text = json_string_value(
        json_object_get(json_array_get(msgs, json_array_size(msgs) - 1), "content"));
    char *end = NULL;
    *key = -1;
    snprintf(mode, size, "ok");
    if (text) {
        *key = strtol(text, &end, 10);
        if (end && *end == ' ')
            snprintf(mode, size, "%s", end + 1);
    }
    json_decref(j);
}

/* A health check's GET /v1/models, as check_mode says; true when it was answered. */
static bool serve_check(struct srv *s, tu_socket fd)
{
    static const char models[] = "{\"object\":\"list\",\"data\":[{\"id\":\"m\"}]}";
    bool hold;
    tu_mutex_lock(&s->mu);
    s->checks++;
    s->checks_pending++;
    hold = s->check_mode == CHECK_HANG || (s->check_mode == CHECK_HOLD_FIRST && s->checks == 1);
    tu_cond_broadcast(&s->cv);
    tu_mutex_unlock(&s->mu);
#ifndef _WIN32
    if (s->check_sigint)
        raise(SIGINT);
#endif
    if (hold) {
        /* until released, or the client closes the connection (it gave up) */
        for (;;) {
            char c;
            bool go;
            int r = tu_poll_readable(fd, 20);
            if (r > 0 && tu_recv(fd, &c, 1, true) <= 0) {
                tu_mutex_lock(&s->mu);
                s->checks_pending--;
                s->checks_closed++;
                tu_cond_broadcast(&s->cv);
                tu_mutex_unlock(&s->mu);
                return false;
            }
            tu_mutex_lock(&s->mu);
            go = s->stopping || (s->check_mode != CHECK_HANG && s->check_release);
            tu_mutex_unlock(&s->mu);
            if (go)
                break;
        }
    }
    send_reply(fd, 200, models);
    tu_mutex_lock(&s->mu);
    s->checks_pending--;
    tu_cond_broadcast(&s->cv);
    tu_mutex_unlock(&s->mu);
    return true;
}

/* Holds a chat reply (key) while the peer's conditions (hold_*) are not met, at most 10 s. */
static void hold_for_peer(struct srv *s, long key)
{
    struct srv *p = s->peer;
    double deadline = now_s() + 10.0;
    long checks = key >= s->hold_key ? s->hold_key_checks : s->hold_checks;
    long requests = key >= s->hold_key ? s->hold_requests : 0;
    if (!p)
        return;
    tu_mutex_lock(&p->mu);
    while (!p->stopping && (p->checks < checks || p->requests < requests))
        if (!wait_until(p, deadline))
            break;
    tu_mutex_unlock(&p->mu);
}

static void serve_chat(struct srv *s, tu_socket fd, const char *body, bool *close_conn)
{
    char mode[64], reply[512];
    long key, attempt = 0;
    int n = 0;
    request_mode(body, &key, mode, sizeof(mode));

    tu_mutex_lock(&s->mu);
    s->requests++;
    if (key >= 0 && key < MAX_KEYS) {
        attempt = ++s->per_key[key];
        if (attempt == 1)
            s->first_at[key] = now_s();
        else if (attempt == 2)
            s->second_at[key] = now_s();
    }
    s->in_flight++;
    if (s->in_flight > s->max_in_flight)
        s->max_in_flight = s->in_flight;
    tu_cond_broadcast(&s->cv);
    if (s->gate && !s->gate_open) {
        double deadline = now_s() + 10.0;
        while (!s->stopping && s->in_flight < s->gate && !s->gate_open)
            if (!wait_until(s, deadline))
                break;
        s->gate_open = true;
        tu_cond_broadcast(&s->cv);
    }
    tu_mutex_unlock(&s->mu);
    hold_for_peer(s, key);

    if (!strcmp(mode, "hang")) {
        hang(s, fd);
        *close_conn = true;
        tu_mutex_lock(&s->mu);
        s->in_flight--;
        tu_mutex_unlock(&s->mu);
        return;
    }

    /* in flight ends before the reply leaves: the client may send its next
     * request on another connection as soon as it has this reply */
    tu_mutex_lock(&s->mu);
    s->in_flight--;
    s->answered++;
    tu_mutex_unlock(&s->mu);

    if (!strncmp(mode, "longerr:", 8)) {
        /* a 400 whose message is <pad> ASCII bytes and then 3-byte characters
         * only, longer than any field it is kept in */
        struct lleval_sb b = LLEVAL_SB_INIT;
        long pad = strtol(mode + 8, NULL, 10);
        lleval_sb_adds(&b, "{\"error\":{\"message\":\"");
        for (long i = 0; i < pad; i++)
            lleval_sb_addch(&b, 'x');
        for (int i = 0; i < 150; i++)
            lleval_sb_adds(&b, "\xe2\x82\xac"); /* U+20AC */
        lleval_sb_adds(&b, "\",\"type\":\"x\",\"code\":null}}");
        send_reply(fd, 400, b.buf);
        lleval_sb_release(&b);
        return;
    }
    if (!strncmp(mode, "lock:", 5)) {
        send_lock_reply(s, fd, key, attempt, (size_t)strtol(mode + 5, NULL, 10));
        *close_conn = true;
        return;
    }
    if (!strncmp(mode, "ra:", 3) && attempt == 1) {
        /* "ra:<seconds>" or "ra:date+<seconds>": a 429 with that Retry-After
         * to the first attempt */
        char extra[128];
        if (!strncmp(mode + 3, "date+", 5)) {
            time_t t = time(NULL) + strtol(mode + 8, NULL, 10);
            struct tm tm;
            char date[64];
#ifdef _WIN32
            gmtime_s(&tm, &t);
#else
            gmtime_r(&t, &tm);
#endif
            strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
            snprintf(extra, sizeof(extra), "Retry-After: %s\r\n", date);
        } else {
            snprintf(extra, sizeof(extra), "Retry-After: %s\r\n", mode + 3);
        }
        send_reply_h(fd, 429, extra, "{\"error\":{\"message\":\"slow down\"}}");
        return;
    }
    if (!strncmp(mode, "huge:", 5)) {
        /* a body of 64 MiB plus <extra> spaces (not JSON) */
        static char chunk[1 << 16];
        size_t left = ((size_t)64 << 20) + (size_t)strtol(mode + 5, NULL, 10);
        char head[256];
        int hn = snprintf(head, sizeof(head),
                          "HTTP/1.1 200 X\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          left);
        memset(chunk, ' ', sizeof(chunk));
        if (send_all(fd, head, (size_t)hn)) {
            while (left) {
                size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
                if (!send_all(fd, chunk, k))
                    break; /* the client stopped reading */
                left -= k;
            }
        }
        *close_conn = true;
        return;
    }
    /* "<status>:<n>": that status for the first n attempts; "<status>": always */
    {
        char *end;
        long status = strtol(mode, &end, 10);
        long times = *end == ':' ? strtol(end + 1, NULL, 10) : 1000000;
        if (status >= 100 && attempt <= times) {
            snprintf(reply, sizeof(reply),
                     "{\"error\":{\"message\":\"scripted %ld\",\"type\":\"x\",\"code\":null}}",
                     status);
            send_reply(fd, (int)status, reply);
            return;
        }
        if (!strncmp(mode, "malformed:", 10) && attempt <= strtol(mode + 10, NULL, 10)) {
            send_reply(fd, 200, "{\"choices\": [{\"message\": ");
            return;
        }
    }
    n = snprintf(reply, sizeof(reply),
                 "{\"id\":\"r%ld\",\"object\":\"chat.completion\",\"model\":\"m\","
                 "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                 "\"content\":\"answer %ld\"},\"finish_reason\":\"stop\"}],"
                 "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}",
                 key, key);
    (void)n;
    send_reply(fd, 200, reply);
}

static void *conn_main(void *arg)
{
    struct srv *s = ((void **)arg)[0];
    tu_socket fd = (tu_socket)(uintptr_t)((void **)arg)[1];
    struct lleval_sb in = LLEVAL_SB_INIT;
    char *body = NULL;
    bool get = false;
    free(arg);
    while (read_request(s, fd, &in, &body, &get)) {
        bool close_conn = false;
        if (get) {
            free(body);
            body = NULL;
            if (!serve_check(s, fd))
                break;
            continue;
        }
        serve_chat(s, fd, body, &close_conn);
        free(body);
        body = NULL;
        if (close_conn)
            break;
    }
    lleval_sb_release(&in);
    tu_close_socket(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct srv *s = arg;
    for (;;) {
        tu_socket fd;
        void **pair;
        if (!wait_readable(s, s->lfd))
            return NULL;
        fd = tu_accept(s->lfd);
        if (fd == TU_BAD_SOCKET)
            continue;
        pair = lleval_xcalloc(2, sizeof(void *));
        pair[0] = s;
        pair[1] = (void *)(uintptr_t)fd;
        tu_mutex_lock(&s->mu);
        if (s->nconns == MAX_CONNS || tu_thread_start(&s->conns[s->nconns], conn_main, pair)) {
            tu_mutex_unlock(&s->mu);
            free(pair);
            tu_close_socket(fd);
            continue;
        }
        s->nconns++;
        tu_mutex_unlock(&s->mu);
    }
}

static void srv_start(struct srv *s, int gate)
{
    memset(s, 0, sizeof(*s));
    tu_mutex_init(&s->mu);
    tu_cond_init(&s->cv);
    s->gate = gate;
    s->lfd = tu_listen_loopback(&s->port, 128);
    assert_true(s->lfd != TU_BAD_SOCKET);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/v1", s->port);
    assert_int_equal(tu_thread_start(&s->accept_thr, accept_main, s), 0);
}

static void srv_stop(struct srv *s)
{
    tu_mutex_lock(&s->mu);
    s->stopping = true;
    tu_cond_broadcast(&s->cv);
    tu_mutex_unlock(&s->mu);
    tu_thread_join(s->accept_thr);
    for (int i = 0; i < s->nconns; i++)
        tu_thread_join(s->conns[i]);
    tu_close_socket(s->lfd);
    tu_cond_destroy(&s->cv);
    tu_mutex_destroy(&s->mu);
}

/* A loopback port nobody listens on (bound, never listened, then closed). */
static int dead_port(void)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    int port = lleval_free_loopback_port("the test", &err);
    assert_true(port > 0);
    return port;
}

/* ---- the scheduler's side: engine, job source, result sink ------------------------------- */

static struct lleval_engine *open_engine(struct lleval_config *cfg, const char *url)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_engine *e = NULL;
    memset(cfg, 0, sizeof(*cfg));
    cfg->engine = LLEVAL_ENGINE_OPENAI;
    cfg->base_url = (char *)url;
    cfg->model_id = (char *)"m";
    cfg->context_length = 4096;
    cfg->max_concurrent_jobs = 1;
    if (lleval_engine_open(&e, cfg, &err)) {
        print_error("lleval_engine_open: %s\n", err.msg);
        fail();
    }
    return e;
}

#define MAX_JOBS 4096

struct run {
    const char *const *modes; /* per job; NULL: every job "ok" */
    size_t n_modes;
    size_t njobs;
    size_t pulled;
    size_t delivered[MAX_JOBS];
    size_t ndelivered;
    json_t *lines[MAX_JOBS]; /* each job's result line (a reference) */
    size_t max_live;         /* most jobs pulled but not yet delivered */
    /* faults of the source and sink */
    size_t fail_source_at; /* next() fails when this many were pulled (0: never) */
    size_t fail_result_at; /* on_result fails at this delivery (0: never) */
    size_t stop_tick_at;   /* on_tick asks to stop once this many were delivered (0: never) */
    size_t signal_at;      /* on_result sets lleval_stop_signal at this delivery (0: never) */
    int signal_level;
    int revive_true; /* revive() answers true this many times, then false */
    int revive_calls;
    long ticks;
    /* an endpoint's server whose health checks are watched: results delivered while one of
     * them was pending, and the held check released after release_after of them */
    struct srv *watch;
    size_t during_check;
    size_t release_after;
};

static int next_job(void *ud, struct lleval_job *job, struct lleval_err *err)
{
    struct run *r = ud;
    const char *mode;
    char *text;
    if (r->fail_source_at && r->pulled == r->fail_source_at)
        return lleval_err_set(err, LLEVAL_EIO, "test source: cannot read job %zu", r->pulled);
    if (r->pulled == r->njobs)
        return 0;
    mode = r->modes ? r->modes[r->pulled % r->n_modes] : "ok";
    text = lleval_xasprintf("%zu %s", r->pulled % MAX_KEYS, mode);
    job->custom_id = lleval_xasprintf("job-%zu", r->pulled);
    job->body = json_pack("{s:s, s:[{s:s, s:s}], s:i}", "model", "m", "messages", "role", "user",
                          "content", text, "max_tokens", 8);
    free(text);
    assert_non_null(job->body);
    job->tag = r->pulled++;
    if (r->pulled - r->ndelivered > r->max_live)
        r->max_live = r->pulled - r->ndelivered;
    return 1;
}

static int on_result(void *ud, const struct lleval_job *job, const struct lleval_result_text *res)
{
    struct run *r = ud;
    char want[32];
    json_t *line = json_loadb(res->line.buf, res->line.len, 0, NULL);
    struct lleval_result_view v;

    /* the view handed over says what the line says */
    assert_non_null(line);
    assert_int_equal(lleval_result_decode(line, &v, NULL), 0);
    assert_string_equal(v.custom_id, res->view.custom_id);
    assert_int_equal(v.failed, res->view.failed);
    assert_int_equal(v.ok, res->view.ok);
    assert_int_equal(v.http_status, res->view.http_status);
    assert_int_equal(v.prompt_tokens, res->view.prompt_tokens);
    assert_int_equal(v.completion_tokens, res->view.completion_tokens);
    if (v.failed)
        assert_string_equal(v.error_message, res->view.error_message);
    snprintf(want, sizeof(want), "job-%zu", job->tag);
    if (strcmp(job->custom_id, want)) {
        print_error("job %zu delivered as '%s'\n", job->tag, job->custom_id);
        fail();
    }
    assert_true(job->tag < MAX_JOBS);
    r->delivered[job->tag]++;
    r->ndelivered++;
    if (!r->lines[job->tag])
        r->lines[job->tag] = json_incref(line);
    json_decref(line);
    if (r->watch) {
        tu_mutex_lock(&r->watch->mu);
        if (r->watch->checks_pending > 0)
            r->during_check++;
        if (r->release_after && r->during_check >= r->release_after) {
            r->watch->check_release = true;
            tu_cond_broadcast(&r->watch->cv);
        }
        tu_mutex_unlock(&r->watch->mu);
    }
    if (r->signal_at && r->ndelivered == r->signal_at)
        for (int i = 0; i < r->signal_level; i++)
            raise(SIGINT); /* as Ctrl-C pressed signal_level times */
    if (r->fail_result_at && r->ndelivered == r->fail_result_at)
        return LLEVAL_EIO;
    return 0;
}

static bool on_tick(void *ud, const struct lleval_sched_stats *st)
{
    struct run *r = ud;
    r->ticks++;
    return r->stop_tick_at && st->done >= r->stop_tick_at;
}

static bool revive(void *ud)
{
    struct run *r = ud;
    r->revive_calls++;
    return r->revive_calls <= r->revive_true;
}

static void run_release(struct run *r)
{
    for (size_t i = 0; i < MAX_JOBS; i++)
        json_decref(r->lines[i]);
}

static void fast_opts(struct lleval_sched_opts *o, long slots)
{
    lleval_sched_opts_default(o);
    o->max_in_flight = slots;
    o->timeout_s = 30;
    o->backoff_base_s = 0.005;
    o->backoff_max_s = 0.02;
    o->tick_ms = 5;
}

static int sched(const char *url, struct run *r, const struct lleval_sched_opts *o,
                 struct lleval_sched_stats *st, struct lleval_err *err)
{
    struct lleval_engine *e;
    struct lleval_config cfg;
    int rc;
    e = open_engine(&cfg, url);
    rc = lleval_sched_run(e, next_job, r->njobs, o, on_result, on_tick, r, st, err);
    lleval_engine_close(e);
    return rc;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* N in flight: the server sees exactly `slots` requests at once (its gate holds the first ones
 * until that many arrive, so the bound is reached, not only respected), never more; every job is
 * delivered exactly once with its own answer, and jobs are pulled only as slots free up. */
static void test_in_flight_bound_and_exactly_once(void **state)
{
    static const struct {
        long slots;
        size_t jobs;
    } cases[] = {{1, 5}, {2, 40}, {3, 31}, {8, 200}, {16, 600}};
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct srv s;
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        int rc;

        srv_start(&s, (int)cases[c].slots);
        r->njobs = cases[c].jobs;
        fast_opts(&o, cases[c].slots);
        rc = sched(s.url, r, &o, &st, &err);
        srv_stop(&s);
        if (rc) {
            print_error("slots %ld: rc %d: %s\n", cases[c].slots, rc, err.msg);
            fail();
        }
        if (s.max_in_flight != (int)cases[c].slots ||
            st.max_in_flight_seen != (size_t)cases[c].slots) {
            print_error("slots %ld: server saw %d at once, scheduler %zu\n", cases[c].slots,
                        s.max_in_flight, st.max_in_flight_seen);
            fail();
        }
        assert_int_equal(s.requests, (long)cases[c].jobs);
        assert_int_equal(st.total, cases[c].jobs);
        assert_int_equal(st.done, cases[c].jobs);
        assert_int_equal(st.ok, cases[c].jobs);
        assert_int_equal(st.failed, 0);
        assert_int_equal(st.retries, 0);
        assert_int_equal(st.in_flight, 0);
        assert_int_equal(st.prompt_tokens, 3 * (long)cases[c].jobs);
        assert_int_equal(st.completion_tokens, 2 * (long)cases[c].jobs);
        /* a finished transfer waits to be parsed while its slot takes the next job */
        if (r->max_live > 2 * (size_t)cases[c].slots) {
            print_error("slots %ld: %zu jobs pulled ahead of their results\n", cases[c].slots,
                        r->max_live);
            fail();
        }
        for (size_t i = 0; i < cases[c].jobs; i++) {
            struct lleval_result_view v;
            char want[32];
            if (r->delivered[i] != 1) {
                print_error("slots %ld: job %zu delivered %zu times\n", cases[c].slots, i,
                            r->delivered[i]);
                fail();
            }
            assert_int_equal(lleval_result_decode(r->lines[i], &v, &err), 0);
            assert_true(v.ok);
            assert_int_equal(v.attempts, 1);
            snprintf(want, sizeof(want), "answer %zu", i % MAX_KEYS);
            assert_string_equal(v.content, want);
            assert_string_equal(v.engine, "openai");
        }
        run_release(r);
        free(r);
    }
}

/* Retries: timeouts, 429 and 5xx (and a malformed 200) are retried with backoff up to
 * max_retries and the attempts are recorded; other 4xx are never retried. */
static void test_retries(void **state)
{
    static const struct {
        const char *mode;
        bool ok;
        long attempts;    /* recorded, and requests the server saw for that job */
        const char *code; /* error.code when failed */
        long status;      /* response.status_code */
    } cases[] = {
        {"ok", true, 1, NULL, 200},
        {"500:2", true, 3, NULL, 200},
        {"503:1", true, 2, NULL, 200},
        {"429:3", true, 4, NULL, 200},
        {"502", false, 4, "http_502", 502},
        {"malformed:1", true, 2, NULL, 200},
        {"malformed:9", false, 4, "invalid_reply", 200},
        {"400", false, 1, "http_400", 400},
        {"401", false, 1, "http_401", 401},
        {"404", false, 1, "http_404", 404},
        {"422", false, 1, "http_422", 422},
    };
    const size_t n = sizeof(cases) / sizeof(cases[0]);
    const char *modes[sizeof(cases) / sizeof(cases[0])];
    struct srv s;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_opts o;
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t want_retries = 0, want_failed = 0;
    int rc;
    (void)state;

    for (size_t i = 0; i < n; i++)
        modes[i] = cases[i].mode;
    srv_start(&s, 0);
    r->modes = modes;
    r->n_modes = n;
    r->njobs = n;
    fast_opts(&o, 4);
    o.max_retries = 3;
    rc = sched(s.url, r, &o, &st, &err);
    srv_stop(&s);
    if (rc != 0) {
        print_error("rc %d: %s\n", rc, err.msg);
        fail();
    }
    for (size_t i = 0; i < n; i++) {
        struct lleval_result_view v;
        assert_int_equal(r->delivered[i], 1);
        assert_int_equal(lleval_result_decode(r->lines[i], &v, &err), 0);
        if (v.ok != cases[i].ok || v.attempts != cases[i].attempts ||
            s.per_key[i] != cases[i].attempts || v.http_status != cases[i].status ||
            (cases[i].code && (!v.error_code || strcmp(v.error_code, cases[i].code)))) {
            print_error("mode '%s': ok %d attempts %lld (server saw %ld) status %ld code %s; "
                        "want ok %d attempts %ld status %ld code %s\n",
                        cases[i].mode, v.ok, v.attempts, s.per_key[i], v.http_status,
                        v.error_code ? v.error_code : "(none)", cases[i].ok, cases[i].attempts,
                        cases[i].status, cases[i].code ? cases[i].code : "(none)");
            fail();
        }
        if (!cases[i].ok) {
            assert_true(v.failed);
            assert_string_equal(v.finish_reason, "error");
            assert_non_null(v.error_message);
            want_failed++;
        }
        want_retries += (size_t)(cases[i].attempts - 1);
    }
    assert_int_equal(st.retries, want_retries);
    assert_int_equal(st.failed, want_failed);
    assert_int_equal(st.ok, n - want_failed);
    assert_int_equal(st.done, n);
    assert_true(st.last_error[0] != '\0');
    run_release(r);
    free(r);
}

/* A request the engine never answers times out after timeout_s and is retried like a 5xx;
 * its result says "timeout" with every attempt counted. */
static void test_timeouts(void **state)
{
    static const char *const modes[] = {"hang"};
    struct srv s;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_opts o;
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    srv_start(&s, 0);
    r->modes = modes;
    r->n_modes = 1;
    r->njobs = 2;
    fast_opts(&o, 2);
    o.max_retries = 2;
    o.timeout_s = 0.4;
    assert_int_equal(sched(s.url, r, &o, &st, &err), 0);
    srv_stop(&s);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.retries, 4);
    for (size_t i = 0; i < 2; i++) {
        struct lleval_result_view v;
        assert_int_equal(lleval_result_decode(r->lines[i], &v, &err), 0);
        assert_false(v.ok);
        assert_string_equal(v.error_code, "timeout");
        assert_int_equal(v.attempts, 3);
        assert_int_equal(s.per_key[i], 3);
        assert_true(v.latency_ms >= 300.0);
    }
    tu_assert_contains(st.last_error, "imeout");
    run_release(r);
    free(r);
}

/* max_retries 0: a transient failure is recorded at once, after one attempt. */
static void test_no_retries(void **state)
{
    static const char *const modes[] = {"500", "hang", "ok"};
    struct srv s;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_opts o;
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    srv_start(&s, 0);
    r->modes = modes;
    r->n_modes = 3;
    r->njobs = 3;
    fast_opts(&o, 3);
    o.max_retries = 0;
    o.timeout_s = 0.3;
    assert_int_equal(sched(s.url, r, &o, &st, &err), 0);
    srv_stop(&s);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.ok, 1);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(s.per_key[i], 1);
    run_release(r);
    free(r);
}

/* A stop asked by on_tick: no new job is sent, the requests in flight are settled (each with
 * its result), and the run ends resumable with jobs unanswered. */
static void test_stop_by_tick(void **state)
{
    struct srv s;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_opts o;
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc;
    (void)state;
    srv_start(&s, 0);
    r->njobs = 500;
    r->stop_tick_at = 3;
    fast_opts(&o, 2);
    rc = sched(s.url, r, &o, &st, &err);
    srv_stop(&s);
    assert_int_equal(rc, LLEVAL_EINTR);
    tu_assert_contains(err.msg, "resumable");
    assert_true(st.done >= 3);
    assert_true(st.done < r->njobs);
    /* graceful: every request that reached the server got its result */
    assert_int_equal((long)st.done, s.answered);
    assert_int_equal(st.done, r->ndelivered);
    for (size_t i = 0; i < r->njobs; i++)
        assert_true(r->delivered[i] <= 1);
    assert_true(r->ticks >= 1);
    run_release(r);
    free(r);
}

/* POSIX only: on Windows the stop count comes from a console control handler (Ctrl-C), which
 * raise(SIGINT) does not reach and a test cannot call. */
#ifndef _WIN32
/* The stop signal: level 1 settles what is in flight; level 2 abandons it at once (a hanging
 * request does not hold the run), both leave the run resumable with jobs unanswered. */
static void test_stop_signal(void **state)
{
    static const char *const modes[] = {"ok", "hang", "hang", "hang"};
    static const struct {
        int level;
        long slots;
        const char *const *modes;
        size_t n_modes;
    } cases[] = {
        {1, 2, NULL, 0},
        {2, 4, modes, 4},
    };
    (void)state;
    lleval_install_stop_handlers(); /* SIGINT counts as a stop request, as in lleval */
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct srv s;
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        double t0 = now_s();
        int rc;
        srv_start(&s, cases[c].level == 2 ? 4 : 0);
        r->njobs = 100;
        r->modes = cases[c].modes;
        r->n_modes = cases[c].n_modes;
        r->signal_at = 1;
        r->signal_level = cases[c].level;
        fast_opts(&o, cases[c].slots);
        rc = sched(s.url, r, &o, &st, &err);
        lleval_stop_signal_reset();
        srv_stop(&s);
        if (rc != LLEVAL_EINTR) {
            print_error("level %d: rc %d (%s), want LLEVAL_EINTR\n", cases[c].level, rc, err.msg);
            fail();
        }
        tu_assert_contains(err.msg, "resumable");
        assert_true(st.done >= 1);
        assert_true(st.done < r->njobs);
        for (size_t i = 0; i < r->njobs; i++)
            assert_true(r->delivered[i] <= 1);
        if (cases[c].level == 1) {
            assert_int_equal((long)st.done, s.answered);
        } else {
            /* the three hanging requests were abandoned, not waited for */
            assert_int_equal(st.done, 1);
            /* the slot freed by the answered job may have taken job 4 before the signal */
            assert_true(s.requests >= 4 && s.requests <= 5);
            if (now_s() - t0 > HANG_MAX_S / 2) {
                print_error("level 2 took %.1f s: the hanging requests were waited for\n",
                            now_s() - t0);
                fail();
            }
        }
        run_release(r);
        free(r);
    }
}
#endif

/* An engine nobody listens on: max_connect_failures consecutive connection failures end the
 * run as LLEVAL_EENGINE with no result recorded (the jobs stay unanswered: resumable), unless
 * revive() says the engine is back, which starts the count again. Once revive() has said no
 * (or there is none), the transfers still in flight (up to one per slot, including the one a
 * freed slot took before the failure was parsed) end unanswered: revive() is not asked again
 * and the message counts the failures that ended the run. */
static void test_unreachable(void **state)
{
    static const struct {
        long slots;
        int revive_true; /* -1: no revive callback */
        int want_revive_calls;
    } cases[] = {{1, -1, 0}, {1, 0, 1}, {1, 2, 3}, {4, -1, 0}, {4, 1, 2}};
    char url[64];
    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", dead_port());
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        struct lleval_engine *e;
        struct lleval_config cfg;
        int rc;
        r->njobs = 5;
        r->revive_true = cases[c].revive_true;
        fast_opts(&o, cases[c].slots);
        o.max_connect_failures = 3;
        o.max_retries = 1;
        if (cases[c].revive_true >= 0)
            o.revive = revive;
        e = open_engine(&cfg, url);
        rc = lleval_sched_run(e, next_job, r->njobs, &o, on_result, on_tick, r, &st, &err);
        lleval_engine_close(e);
        if (rc != LLEVAL_EENGINE || r->revive_calls != cases[c].want_revive_calls) {
            print_error("slots %ld revive %d: rc %d (%s), %d revive calls; want LLEVAL_EENGINE, "
                        "%d\n",
                        cases[c].slots, cases[c].revive_true, rc, err.msg, r->revive_calls,
                        cases[c].want_revive_calls);
            fail();
        }
        {
            /* "after N consecutive connection failures": N is the bound */
            const char *at = strstr(err.msg, "after ");
            long n = at ? strtol(at + 6, NULL, 10) : 0;
            if (n != o.max_connect_failures) {
                print_error("failures reported: %ld, in \"%s\"\n", n, err.msg);
                fail();
            }
        }
        tu_assert_contains(err.msg, "unreachable");
        tu_assert_contains(err.msg, "resumable");
        assert_int_equal(st.done, 0);
        assert_int_equal(r->ndelivered, 0);
        run_release(r);
        free(r);
    }
}

/* The reply buffers' cap: a reply one byte over 64 MiB fails its request as reply_too_large
 * (and is not retried), one of exactly 64 MiB is read (and fails as the JSON it is not). */
static void test_reply_cap(void **state)
{
    static const char *const modes[] = {"huge:1", "huge:0"};
    struct srv s;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_opts o;
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_result_view v;
    (void)state;
    srv_start(&s, 0);
    r->modes = modes;
    r->n_modes = 2;
    r->njobs = 2;
    fast_opts(&o, 1);
    o.max_retries = 0;
    assert_int_equal(sched(s.url, r, &o, &st, &err), 0);
    srv_stop(&s);
    assert_int_equal(st.failed, 2);
    assert_int_equal(s.per_key[0], 1);
    lleval_result_decode(r->lines[0], &v, NULL);
    assert_true(v.failed);
    assert_string_equal(v.error_code, "reply_too_large");
    assert_string_equal(v.error_message, "the engine's reply exceeded 64 MiB");
    lleval_result_decode(r->lines[1], &v, NULL);
    assert_true(v.failed);
    assert_string_not_equal(v.error_code, "reply_too_large");
    assert_int_equal(v.http_status, 200);
    run_release(r);
    free(r);
}

/* An error message longer than last_error is cut at a UTF-8 character boundary there (the
 * run's error, and so manifest.json, quote it): with 0, 1 or 2 ASCII bytes before a run of
 * 3-byte characters, a byte cut would split one of them at least once. */
static void test_last_error_cut(void **state)
{
    bool moved_back = false;
    (void)state;
    for (int pad = 0; pad < 3; pad++) {
        char mode[32];
        const char *modes[1] = {mode};
        struct srv s;
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        size_t n;
        snprintf(mode, sizeof(mode), "longerr:%d", pad);
        srv_start(&s, 0);
        r->modes = modes;
        r->n_modes = 1;
        r->njobs = 1;
        fast_opts(&o, 1);
        o.max_retries = 0;
        assert_int_equal(sched(s.url, r, &o, &st, &err), 0);
        srv_stop(&s);
        assert_int_equal(st.failed, 1);
        n = strlen(st.last_error);
        if (!lleval_utf8_valid(st.last_error, n, NULL)) {
            print_error("pad %d: last_error is not valid UTF-8: \"%s\"\n", pad, st.last_error);
            fail();
        }
        assert_true(n + 3 >= sizeof(st.last_error)); /* at most 2 bytes short of full */
        tu_assert_contains(st.last_error, "\xe2\x82\xac\xe2\x82\xac");
        if (n + 1 < sizeof(st.last_error))
            moved_back = true;
        run_release(r);
        free(r);
    }
    assert_true(moved_back);
}

/* The source's error and the result callback's error end the run with that error. */
static void test_source_and_sink_errors(void **state)
{
    struct srv s;
    (void)state;
    srv_start(&s, 0);
    {
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        r->njobs = 50;
        r->fail_source_at = 7;
        fast_opts(&o, 2);
        assert_int_equal(sched(s.url, r, &o, &st, &err), LLEVAL_EIO);
        tu_assert_contains(err.msg, "test source: cannot read job 7");
        assert_int_equal(r->pulled, 7);
        for (size_t i = 0; i < r->njobs; i++)
            assert_true(r->delivered[i] <= 1);
        run_release(r);
        free(r);
    }
    {
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        r->njobs = 50;
        r->fail_result_at = 4;
        fast_opts(&o, 3);
        assert_int_equal(sched(s.url, r, &o, &st, &err), LLEVAL_EIO);
        assert_true(r->ndelivered >= 4);
        assert_true(r->ndelivered < r->njobs);
        run_release(r);
        free(r);
    }
    {
        /* no jobs at all: done at once, nothing sent */
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        fast_opts(&o, 4);
        assert_int_equal(sched(s.url, r, &o, &st, &err), 0);
        assert_int_equal(st.done, 0);
        run_release(r);
        free(r);
    }
    srv_stop(&s);
}

static void test_opts_default(void **state)
{
    struct lleval_sched_opts o;
    (void)state;
    memset(&o, 0xff, sizeof(o));
    lleval_sched_opts_default(&o);
    assert_int_equal(o.max_in_flight, 1);
    assert_true(o.timeout_s > 0);
    assert_true(o.max_retries >= 1);
    assert_true(o.max_connect_failures >= 1);
    assert_true(o.backoff_base_s > 0 && o.backoff_base_s <= o.backoff_max_s);
    assert_true(o.tick_ms > 0);
    assert_null(o.revive);
    /* the reply budget does not grow with the slots */
    assert_true(o.max_reply_bytes > 0 && o.max_reply_bytes <= o.reply_budget_bytes);
    assert_true(o.reply_budget_bytes <= (size_t)256 << 20);
    assert_true(o.retry_after_max_s > 0 && o.retry_after_max_s <= 60);
}

/* Retry-After on a 429 (both forms) delays the retry by at least that long (a
 * lower bound: deterministic), a huge one is capped at retry_after_max_s, and
 * the backoff (here short) never shortens it. */
static void test_retry_after(void **state)
{
    static const struct {
        const char *mode;
        double min_gap, max_gap; /* between the first and the second attempt */
    } cases[] = {
        {"ra:1", 1.0, 30.0},
        {"ra:date+2", 0.95, 30.0}, /* second granularity: at least 1 s */
        {"ra:100000", 1.5, 30.0},  /* capped at 1.5 s below */
        {"ra:0", 0.0, 30.0},
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const char *modes[1] = {cases[c].mode};
        struct srv s;
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        struct lleval_result_view v;
        double gap;
        srv_start(&s, 0);
        r->modes = modes;
        r->n_modes = 1;
        r->njobs = 1;
        fast_opts(&o, 1);
        o.retry_after_max_s = 1.5;
        assert_int_equal(sched(s.url, r, &o, &st, &err), 0);
        srv_stop(&s);
        assert_int_equal(s.per_key[0], 2);
        assert_int_equal(lleval_result_decode(r->lines[0], &v, &err), 0);
        assert_true(v.ok);
        gap = s.second_at[0] - s.first_at[0];
        if (gap < cases[c].min_gap || gap > cases[c].max_gap) {
            print_error("%s: retried after %.3f s, want %.2f .. %.2f\n", cases[c].mode, gap,
                        cases[c].min_gap, cases[c].max_gap);
            fail();
        }
        run_release(r);
        free(r);
    }
}

/* The replies in flight share one memory budget, whatever the slots: four
 * 1 MiB replies received at once (in lock step) against a 2.5 MiB budget.
 * What would pass the budget stops its attempt, which is retried; all four
 * end answered, and the bytes held never passed the budget. The server's lock
 * step orders what it sends, not what the client has read (the kernel may
 * buffer megabytes of a reply the client has not read yet), so a round may
 * end without the budget being reached: rounds repeat, each checked whole,
 * until one has met the budget (a retry), bounded at 30. */
static void test_reply_budget(void **state)
{
    static const char *const modes[] = {"lock:1048576"};
    const size_t budget = (size_t)5 << 19; /* 2.5 MiB */
    size_t retried = 0;
    (void)state;
    for (int round = 0; round < 30 && !retried; round++) {
        struct srv s;
        struct run *r = lleval_xcalloc(1, sizeof(*r));
        struct lleval_sched_opts o;
        struct lleval_sched_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;
        srv_start(&s, 4);
        s.lock_n = 4;
        r->modes = modes;
        r->n_modes = 1;
        r->njobs = 4;
        fast_opts(&o, 4);
        o.max_retries = 20;
        o.reply_budget_bytes = budget;
        assert_int_equal(sched(s.url, r, &o, &st, &err), 0);
        srv_stop(&s);
        if (st.reply_bytes_peak > budget || st.ok != 4) {
            print_error("peak %zu (budget %zu), retries %zu, ok %zu\n", st.reply_bytes_peak, budget,
                        st.retries, st.ok);
            fail();
        }
        assert_int_equal(st.reply_bytes, 0);
        for (size_t i = 0; i < 4; i++) {
            struct lleval_result_view v;
            assert_int_equal(r->delivered[i], 1);
            assert_int_equal(lleval_result_decode(r->lines[i], &v, &err), 0);
            assert_true(v.ok);
            assert_int_equal(strlen(v.content), 1048576);
        }
        retried = st.retries;
        run_release(r);
        free(r);
    }
    if (!retried) {
        print_error("30 rounds of four 1 MiB replies never met the 2.5 MiB budget\n");
        fail();
    }
}

/* With the budget below one reply, a reply is refused by the budget on every
 * attempt and ends as reply_too_large after its retries. */
static void test_reply_budget_exhausted(void **state)
{
    static const char *const modes[] = {"lock:300000"};
    struct srv s;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_opts o;
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_result_view v;
    (void)state;
    srv_start(&s, 0);
    r->modes = modes;
    r->n_modes = 1;
    r->njobs = 1;
    fast_opts(&o, 1);
    o.max_retries = 2;
    o.max_reply_bytes = (size_t)1 << 20;
    o.reply_budget_bytes = (size_t)1 << 17; /* 128 KiB: the per-reply cap drops to it */
    assert_int_equal(sched(s.url, r, &o, &st, &err), 0);
    srv_stop(&s);
    assert_int_equal(lleval_result_decode(r->lines[0], &v, &err), 0);
    assert_true(v.failed);
    assert_string_equal(v.error_code, "reply_too_large");
    assert_true(st.reply_bytes_peak <= ((size_t)1 << 17));
    run_release(r);
    free(r);
}

/* Two endpoints of 2 slots, a's and b's servers; b starts out of rotation (its probe failed),
 * so it is health-checked 0.5 s after the start. */
static int sched_two(struct srv *a, struct srv *b, struct run *r,
                     struct lleval_sched_endpoint eps[2], struct lleval_sched_stats *st,
                     struct lleval_err *err)
{
    struct lleval_config cfg[2];
    struct lleval_sched_opts o;
    int rc;
    fast_opts(&o, 2);
    memset(eps, 0, 2 * sizeof(*eps));
    eps[0].e = open_engine(&cfg[0], a->url);
    eps[0].slots = 2;
    eps[1].e = open_engine(&cfg[1], b->url);
    eps[1].slots = 2;
    eps[1].down = true;
    rc = lleval_sched_run_endpoints(eps, 2, next_job, r->njobs, &o, on_result, on_tick, r, st, err);
    lleval_engine_close(eps[0].e);
    lleval_engine_close(eps[1].e);
    return rc;
}

static void assert_each_once(const struct run *r)
{
    for (size_t i = 0; i < r->njobs; i++)
        if (r->delivered[i] != 1) {
            print_error("job %zu delivered %zu times\n", i, r->delivered[i]);
            fail();
        }
}

/* A health check is a transfer of the loop, not a wait: b's check (GET /v1/models) is held by
 * its server until the test's result callback has seen 2 of a's results delivered while the
 * check was pending (a's server holds its replies until the check arrived). A loop that waited
 * on the check would deliver none meanwhile: the check would time out (3 s) and fail. Here it
 * passes, b comes back into rotation and answers (a holds its last replies until b has read a
 * request). */
static void test_check_keeps_turning(void **state)
{
    struct srv a, b;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_endpoint eps[2];
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc;
    (void)state;
    srv_start(&a, 0);
    srv_start(&b, 0);
    b.check_mode = CHECK_HOLD_FIRST;
    a.peer = &b;
    a.hold_checks = 1;
    a.hold_key = 6;
    a.hold_key_checks = 1;
    a.hold_requests = 1;
    r->njobs = 12;
    r->watch = &b;
    r->release_after = 2;
    rc = sched_two(&a, &b, r, eps, &st, &err);
    srv_stop(&a);
    srv_stop(&b);
    if (rc) {
        print_error("rc %d: %s\n", rc, err.msg);
        fail();
    }
    assert_each_once(r);
    assert_int_equal(st.ok, 12);
    if (r->during_check < 2 || b.checks_closed) {
        print_error("%zu results while the check was pending; %ld checks given up\n",
                    r->during_check, b.checks_closed);
        fail();
    }
    assert_int_equal(b.checks, 1);
    assert_false(eps[1].down);
    assert_int_equal(eps[1].outages, 1);
    assert_int_equal(eps[1].failed_checks, 0);
    assert_true(eps[1].out_of_rotation_s > 0);
    assert_true(eps[1].ok >= 1);
    assert_int_equal(eps[0].ok + eps[1].ok, 12);
    assert_int_equal(eps[0].outages, 0);
    run_release(r);
    free(r);
}

/* A server that accepts the check and never answers: the check times out (its 3 s bound, the
 * client gives up) and counts as failed, the next check follows its backoff, and a's results
 * keep coming meanwhile (its last reply is held until b's second check arrived). The counts
 * hold for a loop that waited on the check too (the check's outcome rules did not change);
 * test_check_keeps_turning is the one such a loop fails. */
static void test_check_hung_times_out(void **state)
{
    struct srv a, b;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_endpoint eps[2];
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc;
    (void)state;
    srv_start(&a, 0);
    srv_start(&b, 0);
    b.check_mode = CHECK_HANG;
    a.peer = &b;
    a.hold_checks = 1;
    a.hold_key = 5;
    a.hold_key_checks = 2;
    r->njobs = 6;
    r->watch = &b;
    rc = sched_two(&a, &b, r, eps, &st, &err);
    srv_stop(&a);
    srv_stop(&b);
    if (rc) {
        print_error("rc %d: %s\n", rc, err.msg);
        fail();
    }
    assert_each_once(r);
    assert_int_equal(eps[0].ok, 6);
    assert_int_equal(eps[1].ok, 0);
    assert_int_equal(b.requests, 0);
    if (r->during_check < 2) {
        print_error("%zu results while the hung check was pending\n", r->during_check);
        fail();
    }
    /* the first check was given up by the client, and counted as failed */
    assert_true(b.checks >= 2);
    assert_true(b.checks_closed >= 1);
    assert_true(eps[1].down);
    assert_int_equal(eps[1].outages, 1);
    assert_true(eps[1].failed_checks >= 1);
    run_release(r);
    free(r);
}

#ifndef _WIN32
/* Ctrl-C while a check hangs: the loop sees it at once, lets a's requests in flight finish
 * (graceful stop) and abandons the check, which does not count as failed. A loop that waited on
 * the check would see the stop only once the check timed out, counted as failed. */
static void test_check_stop_signal(void **state)
{
    struct srv a, b;
    struct run *r = lleval_xcalloc(1, sizeof(*r));
    struct lleval_sched_endpoint eps[2];
    struct lleval_sched_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc;
    (void)state;
    lleval_install_stop_handlers();
    srv_start(&a, 0);
    srv_start(&b, 0);
    b.check_mode = CHECK_HANG;
    b.check_sigint = true;
    a.peer = &b;
    a.hold_checks = 1;
    r->njobs = 50;
    rc = sched_two(&a, &b, r, eps, &st, &err);
    lleval_stop_signal_reset();
    srv_stop(&a);
    srv_stop(&b);
    if (rc != LLEVAL_EINTR) {
        print_error("rc %d (%s), want LLEVAL_EINTR\n", rc, err.msg);
        fail();
    }
    tu_assert_contains(err.msg, "resumable");
    assert_true(st.done >= 2 && st.done < r->njobs);
    for (size_t i = 0; i < r->njobs; i++)
        assert_true(r->delivered[i] <= 1);
    assert_int_equal(b.checks, 1);
    assert_true(eps[1].down);
    assert_int_equal(eps[1].failed_checks, 0);
    run_release(r);
    free(r);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_default),
        cmocka_unit_test(test_in_flight_bound_and_exactly_once),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_no_retries),
        cmocka_unit_test(test_stop_by_tick),
#ifndef _WIN32
        cmocka_unit_test(test_stop_signal),
#endif
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_reply_cap),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_reply_budget),
        cmocka_unit_test(test_reply_budget_exhausted),
        cmocka_unit_test(test_last_error_cut),
        cmocka_unit_test(test_source_and_sink_errors),
        cmocka_unit_test(test_check_keeps_turning),
        cmocka_unit_test(test_check_hung_times_out),
#ifndef _WIN32
        cmocka_unit_test(test_check_stop_signal),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
