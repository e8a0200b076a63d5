/* Test-support portability layer, POSIX side (see testutil.h): environment, temp dirs, links,
 * threads, loopback sockets, ending processes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "lleval/util/util.h"

void tu_setenv(const char *name, const char *value)
{
    setenv(name, value, 1);
}

void tu_unsetenv(const char *name)
{
    unsetenv(name);
}

const char *tu_tmp_base(void)
{
    const char *base = getenv("TMPDIR");
    return base && *base ? base : "/tmp";
}

char *tu_mkdtemp(const char *prefix)
{
    char *tmpl = lleval_xasprintf("%sXXXXXX", prefix);
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

int tu_symlink(const char *target, const char *path)
{
    return symlink(target, path);
}

bool tu_is_symlink(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

int tu_thread_start(tu_thread *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}

void tu_thread_join(tu_thread t)
{
    pthread_join(t, NULL);
}

void tu_mutex_init(tu_mutex *m)
{
    pthread_mutex_init(m, NULL);
}

void tu_mutex_destroy(tu_mutex *m)
{
    pthread_mutex_destroy(m);
}

void tu_mutex_lock(tu_mutex *m)
{
    pthread_mutex_lock(m);
}

void tu_mutex_unlock(tu_mutex *m)
{
    pthread_mutex_unlock(m);
}

void tu_cond_init(tu_cond *c)
{
    pthread_cond_init(c, NULL);
}

void tu_cond_destroy(tu_cond *c)
{
    pthread_cond_destroy(c);
}

void tu_cond_broadcast(tu_cond *c)
{
    pthread_cond_broadcast(c);
}

bool tu_cond_wait_ms(tu_cond *c, tu_mutex *m, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(c, m, &ts) != ETIMEDOUT;
}

tu_socket tu_listen_loopback(int *port, int backlog)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return TU_BAD_SOCKET;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        close(fd);
        return TU_BAD_SOCKET;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

tu_socket tu_accept(tu_socket listener)
{
    return accept(listener, NULL, NULL);
}

long tu_recv(tu_socket s, void *buf, size_t len, bool peek)
{
    return (long)recv(s, buf, len, peek ? MSG_PEEK : 0);
}

long tu_send(tu_socket s, const void *buf, size_t len)
{
    return (long)send(s, buf, len, MSG_NOSIGNAL);
}

int tu_poll_readable(tu_socket s, int ms)
{
    struct pollfd p = {s, POLLIN, 0};
    int r = poll(&p, 1, ms);
    return r < 0 ? -1 : r > 0;
}

void tu_shutdown(tu_socket s)
{
    shutdown(s, SHUT_RDWR);
}

void tu_close_socket(tu_socket s)
{
    close(s);
}

tu_socket tu_listen_loopback_at(int port, int backlog)
{
    struct sockaddr_in a;
    int yes = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return TU_BAD_SOCKET;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)) ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog)) {
        close(fd);
        return TU_BAD_SOCKET;
    }
    return fd;
}

int tu_kill(long pid, int sig)
{
    return kill((pid_t)pid, sig);
}

bool tu_pid_gone(long pid)
{
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}
