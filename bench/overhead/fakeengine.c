/*
 * A zero-latency fake engine for the scheduler overhead benchmark (not a test
 * double: tests/fakes/ holds those). One thread, epoll, HTTP/1.1 keep-alive on
 * loopback. It answers at once, with canned bodies, so that the client is
 * always the bottleneck:
 *
 *   POST /v1/chat/completions, /chat/completions   an OpenAI chat.completion
 *        with usage and llama-server's timings
 *   GET  /health                                   {"status":"ok"} (llamacpp probe)
 *   GET  /props                                    total_slots, n_ctx (llamacpp probe)
 *   GET  /v1/models, /models                       one model, "fake" (openai probe)
 *   GET  /stats                                    counters as JSON
 *   POST /stats/reset                              zeroes the counters
 *
 * It counts requests, chat requests, accepted connections and the most
 * connections open at once. With --record FILE every chat request body is
 * appended to FILE, one per line (the bodies are compact JSON), so that the
 * reference client can send exactly what lleval sent. With --delay-ms N each
 * chat reply is held back N ms (a fixed-latency engine with unlimited slots:
 * N clients in flight get N x 1000/delay replies per second at best).
 *
 *   fakeengine [--port N] [--port-file FILE] [--slots N] [--record FILE]
 *              [--delay-ms N]
 *
 * --port 0 (the default) takes a free port; the port is written to
 * --port-file (or stdout) once the socket listens. SIGINT/SIGTERM print the
 * counters to stderr and exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MAX_HEADER (64 * 1024)
#define MAX_BODY   (16 * 1024 * 1024)
#define READ_CHUNK (64 * 1024)

static const char chat_reply[] =
    "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"fake\",\"system_fingerprint\":\"fakeengine\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Paris\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":2,\"total_tokens\":26},"
    "\"timings\":{\"cache_n\":0,\"prompt_n\":24,\"prompt_ms\":1.0,\"prompt_per_token_ms\":"
    "0.04,\"prompt_per_second\":24000.0,\"predicted_n\":2,\"predicted_ms\":1.0,"
    "\"predicted_per_token_ms\":0.5,\"predicted_per_second\":2000.0}}";

static const char models_reply[] =
    "{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":\"model\",\"created\":"
    "1700000000,\"owned_by\":\"fakeengine\"}]}";

static const char health_reply[] = "{\"status\":\"ok\"}";

struct buf {
    char *p;
    size_t len, cap;
};

struct conn {
    int fd;
    struct buf in;
    struct buf out;
    size_t out_off;
    bool sent_continue;
    bool close_after;
    bool want_out;
    bool waiting; /* a delayed reply is due: read no further request */
    bool dead;    /* closed while a delayed reply was due; freed when it is */
};

/* Delayed replies, in due order (one fixed delay: arrival order). */
struct delayed {
    struct conn *c;
    double due;
};

struct counters {
    unsigned long long requests, chat, accepted;
    long conns, max_conns;
};

static struct counters cnt;
static long slots = 1024;
static long delay_ms;
static FILE *record;
static volatile sig_atomic_t stop;
static struct delayed *queue;
static size_t q_head, q_len, q_cap;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void die(const char *what)
{
    fprintf(stderr, "fakeengine: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void queue_push(struct conn *c, double due)
{
    if (q_head + q_len == q_cap) {
        if (q_head) { /* slide to the front before growing */
            memmove(queue, queue + q_head, q_len * sizeof(*queue));
            q_head = 0;
        }
        if (q_len == q_cap) {
            q_cap = q_cap ? q_cap * 2 : 256;
            queue = realloc(queue, q_cap * sizeof(*queue));
            if (!queue)
                die("out of memory");
        }
    }
    queue[q_head + q_len++] = (struct delayed){c, due};
}

static void buf_add(struct buf *b, const char *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            die("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_consume(struct buf *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    if (b->p)
        b->p[b->len] = '\0';
}

static void respond(struct conn *c, int status, const char *reason, const char *body,
                    size_t body_len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     status, reason, body_len,
                     c->close_after ? "Connection: close\r\n" : "Keep-Alive: timeout=30\r\n");
    buf_add(&c->out, head, (size_t)n);
    buf_add(&c->out, body, body_len);
}

/* Case-insensitive search for a header line "name: value" in head[0..len);
 * returns the value (not NUL-terminated; *vlen its length) or NULL. */
static const char *header(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *p = memchr(head, '\n', len); /* skip the request line */
    const char *end = head + len;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > nlen && line[nlen] == ':' && !strncasecmp(line, name, nlen)) {
            const char *v = line + nlen + 1;
            const char *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

static void handle(struct conn *c, const char *method, const char *path, const char *body,
                   size_t body_len)
{
    cnt.requests++;
    if (!strcmp(method, "POST") &&
        (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/chat/completions"))) {
        cnt.chat++;
        if (record) {
            fwrite(body, 1, body_len, record);
            fputc('\n', record);
        }
        if (delay_ms > 0) {
            c->waiting = true;
            queue_push(c, now_s() + (double)delay_ms / 1000.0);
            return;
        }
        respond(c, 200, "OK", chat_reply, sizeof(chat_reply) - 1);
    } else if (!strcmp(method, "GET") && !strcmp(path, "/health")) {
        respond(c, 200, "OK", health_reply, sizeof(health_reply) - 1);
    } else if (!strcmp(method, "GET") && !strcmp(path, "/props")) {
        char props[256];
        int n = snprintf(props, sizeof(props),
                         "{\"default_generation_settings\":{\"n_ctx\":4096},\"total_slots\":%ld,"
                         "\"model_path\":\"fake.gguf\",\"model_alias\":\"fake\","
                         "\"build_info\":\"fakeengine\"}",
                         slots);
        respond(c, 200, "OK", props, (size_t)n);
    } else if (!strcmp(method, "GET") &&
               (!strcmp(path, "/v1/models") || !strcmp(path, "/models"))) {
        respond(c, 200, "OK", models_reply, sizeof(models_reply) - 1);
    } else if (!strcmp(method, "GET") && !strcmp(path, "/stats")) {
        char stats[256];
        int n = snprintf(stats, sizeof(stats),
                         "{\"requests\":%llu,\"chat\":%llu,\"accepted\":%llu,\"conns\":%ld,"
                         "\"max_conns\":%ld}",
                         cnt.requests, cnt.chat, cnt.accepted, cnt.conns, cnt.max_conns);
        respond(c, 200, "OK", stats, (size_t)n);
    } else if (!strcmp(method, "POST") && !strcmp(path, "/stats/reset")) {
        cnt.requests = cnt.chat = cnt.accepted = 0;
        cnt.max_conns = cnt.conns;
        if (record)
            fflush(record);
        respond(c, 200, "OK", "{}", 2);
    } else {
        static const char nf[] = "{\"error\":{\"code\":404,\"message\":\"File Not Found\","
                                 "\"type\":\"not_found_error\"}}";
        respond(c, 404, "Not Found", nf, sizeof(nf) - 1);
    }
}

/* Serves every complete request in c->in. Returns false when the connection
 * must be closed at once (malformed request). */
static bool serve(struct conn *c)
{
    for (;;) {
        char method[16], path[512];
        const char *end = c->in.len ? strstr(c->in.p, "\r\n\r\n") : NULL;
        const char *v, *sp1, *sp2;
        size_t head_len, vlen, body_len = 0;

        if (c->waiting)
            return true;
        if (!end) {
            if (c->in.len > MAX_HEADER)
                return false;
            return true;
        }
        head_len = (size_t)(end - c->in.p) + 4;
        sp1 = memchr(c->in.p, ' ', head_len);
        sp2 = sp1 ? memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - c->in.p)) : NULL;
        if (!sp1 || !sp2 || (size_t)(sp1 - c->in.p) >= sizeof(method) ||
            (size_t)(sp2 - sp1 - 1) >= sizeof(path))
            return false;
        memcpy(method, c->in.p, (size_t)(sp1 - c->in.p));
        method[sp1 - c->in.p] = '\0';
        memcpy(path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
        path[sp2 - sp1 - 1] = '\0';
        if (header(c->in.p, head_len, "Transfer-Encoding", &vlen))
            return false; /* chunked uploads: not needed by any client here */
        if ((v = header(c->in.p, head_len, "Content-Length", &vlen))) {
            char num[32];
            char *e;
            if (!vlen || vlen >= sizeof(num))
                return false;
            memcpy(num, v, vlen);
            num[vlen] = '\0';
            errno = 0;
            body_len = strtoul(num, &e, 10);
            if (errno || *e || body_len > MAX_BODY)
                return false;
        }
        if (c->in.len < head_len + body_len) {
            if (!c->sent_continue && (v = header(c->in.p, head_len, "Expect", &vlen)) &&
                vlen == 12 && !strncasecmp(v, "100-continue", 12)) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                buf_add(&c->out, cont, sizeof(cont) - 1);
                c->sent_continue = true;
            }
            return true;
        }
        if ((v = header(c->in.p, head_len, "Connection", &vlen)) && vlen == 5 &&
            !strncasecmp(v, "close", 5))
            c->close_after = true;
        else if (!strncmp(sp2 + 1, "HTTP/1.0\r", 9) &&
                 !((v = header(c->in.p, head_len, "Connection", &vlen)) && vlen == 10 &&
                   !strncasecmp(v, "keep-alive", 10)))
            c->close_after = true;
        handle(c, method, path, c->in.p + head_len, body_len);
        buf_consume(&c->in, head_len + body_len);
        c->sent_continue = false;
        if (c->close_after)
            return true;
    }
}

static void conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    cnt.conns--;
    if (c->waiting) {
        c->dead = true; /* the queue still points here */
        return;
    }
    free(c->in.p);
    free(c->out.p);
    free(c);
}

/* Writes what is pending. Returns false on a dead connection. */
static bool flush_out(int ep, struct conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return false;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        c->out.len = 0;
        c->out_off = 0;
    }
    {
        bool want = c->out.len > 0;
        if (want != c->want_out) {
            struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            c->want_out = want;
        }
    }
    return true;
}

static void on_readable(int ep, struct conn *c)
{
    char chunk[READ_CHUNK];
    bool eof = false;
    for (;;) {
        ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
        if (n > 0) {
            buf_add(&c->in, chunk, (size_t)n);
            if ((size_t)n < sizeof(chunk))
                break;
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        conn_close(ep, c);
        return;
    }
    if (!serve(c)) {
        static const char bad[] = "{\"error\":\"bad request\"}";
        c->close_after = true;
        respond(c, 400, "Bad Request", bad, sizeof(bad) - 1);
    }
    if (!flush_out(ep, c) || eof || (c->close_after && !c->out.len && !c->waiting)) {
        conn_close(ep, c);
        return;
    }
}

/* Sends the delayed replies that are due; returns the ms until the next one
 * (-1: none). */
static int deliver_due(int ep)
{
    double now = now_s();
    while (q_len) {
        struct delayed d = queue[q_head];
        struct conn *c = d.c;
        if (d.due > now) {
            double ms = (d.due - now) * 1000.0;
            return (int)ms + 1;
        }
        q_head++;
        q_len--;
        c->waiting = false;
        if (c->dead) {
            free(c->in.p);
            free(c->out.p);
            free(c);
            continue;
        }
        respond(c, 200, "OK", chat_reply, sizeof(chat_reply) - 1);
        if (!serve(c)) {
            static const char bad[] = "{\"error\":\"bad request\"}";
            c->close_after = true;
            respond(c, 400, "Bad Request", bad, sizeof(bad) - 1);
        }
        if (!flush_out(ep, c) || (c->close_after && !c->out.len && !c->waiting))
            conn_close(ep, c);
    }
    q_head = 0;
    return -1;
}

static void on_accept(int ep, int lfd)
{
    for (;;) {
        int one = 1;
        struct epoll_event ev;
        struct conn *c;
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN, or out of descriptors: the client retries */
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c = calloc(1, sizeof(*c));
        if (!c)
            die("out of memory");
        c->fd = fd;
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
            close(fd);
            free(c);
            continue;
        }
        cnt.accepted++;
        cnt.conns++;
        if (cnt.conns > cnt.max_conns)
            cnt.max_conns = cnt.conns;
    }
}

static long parse_num(const char *s, const char *what, long lo, long hi)
{
    char *e;
    long v;
    errno = 0;
    v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < lo || v > hi) {
        fprintf(stderr, "fakeengine: %s must be a number from %ld to %ld, not '%s'\n", what, lo, hi,
                s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    long port = 0;
    int lfd, ep, one = 1;
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    struct sigaction sa;
    struct epoll_event lev;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = parse_num(argv[++i], "--port", 0, 65535);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else if (!strcmp(argv[i], "--slots") && i + 1 < argc)
            slots = parse_num(argv[++i], "--slots", 1, 1L << 20);
        else if (!strcmp(argv[i], "--delay-ms") && i + 1 < argc)
            delay_ms = parse_num(argv[++i], "--delay-ms", 0, 600000);
        else if (!strcmp(argv[i], "--record") && i + 1 < argc) {
            record = fopen(argv[++i], "w");
            if (!record)
                die(argv[i]);
        } else {
            fprintf(stderr, "usage: fakeengine [--port N] [--port-file FILE] [--slots N] "
                            "[--record FILE] [--delay-ms N]\n");
            return 2;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)port);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)))
        die("bind");
    if (listen(lfd, 4096))
        die("listen");
    if (getsockname(lfd, (struct sockaddr *)&addr, &alen))
        die("getsockname");
    port = ntohs(addr.sin_port);
    if (port_file) {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
        f = fopen(tmp, "w");
        if (!f || fprintf(f, "%ld\n", port) < 0 || fclose(f) || rename(tmp, port_file))
            die(port_file);
    } else {
        printf("%ld\n", port);
        fflush(stdout);
    }

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    lev.events = EPOLLIN;
    lev.data.ptr = NULL; /* NULL marks the listening socket */
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev))
        die("epoll_ctl");

    while (!stop) {
        struct epoll_event evs[MAX_EVENTS];
        int n = epoll_wait(ep, evs, MAX_EVENTS, deliver_due(ep));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                on_accept(ep, lfd);
                continue;
            }
            if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
                conn_close(ep, c);
                continue;
            }
            if (evs[i].events & EPOLLIN) {
                on_readable(ep, c);
                continue; /* c may be gone */
            }
            if (evs[i].events & EPOLLOUT) {
                if (!flush_out(ep, c) || (c->close_after && !c->out.len && !c->waiting))
                    conn_close(ep, c);
            }
        }
    }
    if (record)
        fclose(record);
    fprintf(stderr,
            "fakeengine: %llu requests (%llu chat), %llu connections accepted, at most %ld open "
            "at once\n",
            cnt.requests, cnt.chat, cnt.accepted, cnt.max_conns);
    return 0;
}
