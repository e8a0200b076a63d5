/*
 * A fake llama-server for test_launch, the same on every platform (built as
 * llama-server, llama-server.exe on Windows, in a folder of its own, so that
 * lleval_launch_find_binary finds it as it finds the real one). It prints its
 * arguments, then serves GET /health (200, "{}"; anything else 404) on
 * 127.0.0.1 at the --port it was given, one connection at a time, until it is
 * stopped (or for at most 10 minutes, so a stray one ends by itself). The
 * environment makes it misbehave:
 *   FAKE_LLAMA_MODE=exit       prints "fake: cannot load the model" and exits 3
 *   FAKE_LLAMA_MODE=bind-once  the first time (FAKE_LLAMA_MARKER names no file
 *                              yet: it creates it) prints llama-server's
 *                              "couldn't bind" line and exits 1
 *   FAKE_LLAMA_MODE=hang       sleeps 60 s before it serves (never healthy in time)
 * A port that really is taken ends it with the same "couldn't bind" line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

#define LIFETIME_S    600
#define REQUEST_BYTES 4096

static int port_arg(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--port")) {
            long port;
            if (lleval_parse_long(argv[i + 1], 1, 65535, &port))
                return -1;
            return (int)port;
        }
    return -1;
}

/* Reads one request head (up to a blank line) and answers it. */
static void serve_one(tu_socket s)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\n", missing[] = "HTTP/1.1 404 Not Found\r\n",
                      rest[] = "Content-Type: application/json\r\nContent-Length: 2\r\n"
                               "Connection: close\r\n\r\n{}";
    char req[REQUEST_BYTES + 1];
    size_t len = 0;
    const char *status;

    while (len < REQUEST_BYTES && tu_poll_readable(s, 5000) == 1) {
        long n = tu_recv(s, req + len, REQUEST_BYTES - len, false);
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[len] = '\0';
    status = !strncmp(req, "GET /health ", 12) ? ok : missing;
    if (tu_send(s, status, strlen(status)) < 0 || tu_send(s, rest, strlen(rest)) < 0)
        return;
    /* the client closes first (Connection: close): the TIME_WAIT stays on
     * its side, and a restarted server binds this port again at once */
    while (tu_poll_readable(s, 2000) == 1 && tu_recv(s, req, REQUEST_BYTES, false) > 0)
        ;
}

int main(int argc, char **argv)
{
    const char *mode = getenv("FAKE_LLAMA_MODE"), *marker = getenv("FAKE_LLAMA_MARKER");
    int port = port_arg(argc, argv);
    double deadline;
    tu_socket listener;

    if (!mode)
        mode = "";
    printf("fake llama-server argv:");
    for (int i = 1; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    fflush(stdout);
    if (port < 0) {
        printf("fake: no valid --port\n");
        return 2;
    }
    if (!strcmp(mode, "exit")) {
        printf("fake: cannot load the model\n");
        return 3;
    }
    if (!strcmp(mode, "bind-once") && marker && !lleval_path_exists(marker)) {
        FILE *f = fopen(marker, "w");
        if (f)
            fclose(f);
        printf("start: couldn't bind HTTP server socket, port: %d\n", port);
        return 1;
    }
    if (!strcmp(mode, "hang"))
        lleval_sleep_ms(60000);

    listener = tu_listen_loopback_at(port, 16);
    if (listener == TU_BAD_SOCKET) {
        printf("start: couldn't bind HTTP server socket, port: %d\n", port);
        return 1;
    }
    printf("fake: listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    deadline = lleval_monotonic() + LIFETIME_S;
    while (lleval_monotonic() < deadline) {
        tu_socket s;
        if (tu_poll_readable(listener, 1000) != 1)
            continue;
        s = tu_accept(listener);
        if (s == TU_BAD_SOCKET)
            continue;
        serve_one(s);
        tu_close_socket(s);
    }
    tu_close_socket(listener);
    return 0;
}
