/*
 * The bare reference client of the scheduler overhead benchmark: the least a
 * libcurl multi program can do to send R POST requests with N in flight. It
 * keeps one easy handle per slot (so connections are reused), sends each
 * request body as-is, keeps the reply in memory and checks only the transfer
 * result and the HTTP status: no JSON, no files, no retries. lleval's
 * scheduler does the same transport work plus building requests, parsing
 * replies and journaling results; the difference is lleval's overhead.
 *
 *   refclient --url URL (--bodies FILE | --body JSON) [-n REQUESTS] [-c N]
 *
 * --bodies FILE holds one request body per line (fakeengine --record writes
 * such a file); the requests cycle through them in order. Prints one JSON line:
 *   {"requests":R,"ok":R,"failed":0,"elapsed_s":...,"rps":...,"max_in_flight":N}
 * and exits 1 when any request failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPLY (64u << 20)

struct reply {
    char *p;
    size_t len, cap;
};

struct slot {
    CURL *easy;
    struct reply reply;
};

struct bodies {
    char **line;
    size_t *len;
    size_t n;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fprintf(stderr, "refclient: out of memory\n");
        exit(2);
    }
    return p;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct reply *r = ud;
    size_t n = size * nmemb;
    if (r->len + n > MAX_REPLY)
        return 0;
    if (r->len + n > r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4096;
        while (r->cap < r->len + n)
            r->cap *= 2;
        r->p = xrealloc(r->p, r->cap);
    }
    memcpy(r->p + r->len, data, n);
    r->len += n;
    return n;
}

static void add_body(struct bodies *b, const char *s, size_t n)
{
    b->line = xrealloc(b->line, (b->n + 1) * sizeof(*b->line));
    b->len = xrealloc(b->len, (b->n + 1) * sizeof(*b->len));
    b->line[b->n] = xrealloc(NULL, n + 1);
    memcpy(b->line[b->n], s, n);
    b->line[b->n][n] = '\0';
    b->len[b->n] = n;
    b->n++;
}

static int load_bodies(const char *path, struct bodies *b)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    if (!f) {
        fprintf(stderr, "refclient: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n > 0)
            add_body(b, line, (size_t)n);
    }
    free(line);
    fclose(f);
    if (!b->n) {
        fprintf(stderr, "refclient: '%s' holds no request bodies\n", path);
        return -1;
    }
    return 0;
}

static long parse_num(const char *s, const char *what)
{
    char *e;
    long v;
    errno = 0;
    v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < 1) {
        fprintf(stderr, "refclient: %s must be a positive number, not '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void start(struct slot *sl, CURLM *multi, const struct bodies *b, long i)
{
    size_t k = (size_t)i % b->n;
    sl->reply.len = 0;
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, b->line[k]);
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE, (long)b->len[k]);
    curl_multi_add_handle(multi, sl->easy);
}

int main(int argc, char **argv)
{
    const char *url = NULL, *bodies_path = NULL, *body = NULL;
    long total = 1000, conc = 1, started = 0, ok = 0, failed = 0, in_flight = 0, max_seen = 0;
    struct bodies b = {0};
    struct curl_slist *headers = NULL;
    struct slot *slots;
    CURLM *multi;
    double t0, elapsed;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--bodies") && i + 1 < argc)
            bodies_path = argv[++i];
        else if (!strcmp(argv[i], "--body") && i + 1 < argc)
            body = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            total = parse_num(argv[++i], "-n");
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            conc = parse_num(argv[++i], "-c");
        else {
            fprintf(stderr, "usage: refclient --url URL (--bodies FILE | --body JSON) "
                            "[-n REQUESTS] [-c CONCURRENCY]\n");
            return 2;
        }
    }
    if (!url || (!bodies_path && !body)) {
        fprintf(stderr, "refclient: --url and --bodies (or --body) are required\n");
        return 2;
    }
    if (bodies_path ? load_bodies(bodies_path, &b) : (add_body(&b, body, strlen(body)), 0))
        return 2;
    if (conc > total)
        conc = total;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, conc);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, conc + 1);
    slots = calloc((size_t)conc, sizeof(*slots));
    if (!slots)
        return 2;
    for (long i = 0; i < conc; i++) {
        CURL *e = curl_easy_init();
        slots[i].easy = e;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &slots[i].reply);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &slots[i]);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 600000L);
    }

    t0 = now_s();
    for (long i = 0; i < conc; i++) {
        start(&slots[i], multi, &b, started++);
        in_flight++;
    }
    max_seen = in_flight;
    while (in_flight) {
        int running, msgs;
        CURLMsg *m;
        curl_multi_perform(multi, &running);
        while ((m = curl_multi_info_read(multi, &msgs))) {
            struct slot *sl = NULL;
            long status = 0;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (m->data.result == CURLE_OK && status == 200 && sl->reply.len)
                ok++;
            else
                failed++;
            curl_multi_remove_handle(multi, sl->easy);
            in_flight--;
            if (started < total) {
                start(sl, multi, &b, started++);
                in_flight++;
            }
        }
        if (in_flight > max_seen)
            max_seen = in_flight;
        if (in_flight)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    elapsed = now_s() - t0;

    printf("{\"requests\":%ld,\"ok\":%ld,\"failed\":%ld,\"elapsed_s\":%.6f,\"rps\":%.3f,"
           "\"max_in_flight\":%ld}\n",
           total, ok, failed, elapsed, elapsed > 0 ? (double)total / elapsed : 0.0, max_seen);

    for (long i = 0; i < conc; i++) {
        curl_easy_cleanup(slots[i].easy);
        free(slots[i].reply.p);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    free(slots);
    for (size_t i = 0; i < b.n; i++)
        free(b.line[i]);
    free(b.line);
    free(b.len);
    return failed ? 1 : 0;
}
