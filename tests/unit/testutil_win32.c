/* Test-support portability layer, Windows side (see testutil.h): environment, temp dirs, links,
 * threads, loopback sockets, ending processes. */
#include <winsock2.h>
#include <direct.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include "testutil.h"
#include "lleval/util/util.h"

void tu_setenv(const char *name, const char *value)
{
    _putenv_s(name, value);
}

void tu_unsetenv(const char *name)
{
    _putenv_s(name, "");
}

const char *tu_tmp_base(void)
{
    static const char *const names[] = {"TMPDIR", "TEMP", "TMP"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *base = getenv(names[i]);
        if (base && *base)
            return base;
    }
    return "C:/Windows/Temp";
}

char *tu_mkdtemp(const char *prefix)
{
    /* mingw has no mkdtemp: a name from the pid, the tick count and a counter, created with
     * _mkdir, which fails with EEXIST when another process took it first. */
    static unsigned counter;
    for (int attempt = 0; attempt < 1000; attempt++) {
        char *path = lleval_xasprintf("%s%lu-%llu-%u", prefix, (unsigned long)GetCurrentProcessId(),
                                      (unsigned long long)GetTickCount64(), counter++);
        if (_mkdir(path) == 0)
            return path;
        free(path);
        if (errno != EEXIST)
            return NULL;
    }
    return NULL;
}

#ifndef SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE
#define SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE 0x2
#endif

int tu_symlink(const char *target, const char *path)
{
    /* the test paths are ASCII: the A function is enough */
    HANDLE h;
    if (!CreateSymbolicLinkA(path, target, SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE))
        return -1;
    /* The link must lead to its target. Wine 8 creates a host symlink whose text is the Windows
     * path, which dangles: such a link counts as "cannot create" (real Windows resolves it). */
    h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DeleteFileA(path);
        return -1;
    }
    CloseHandle(h);
    return 0;
}

bool tu_is_symlink(const char *path)
{
    DWORD attr = GetFileAttributesA(path);
    return attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_REPARSE_POINT);
}

struct thread_start {
    void *(*fn)(void *);
    void *arg;
};

static DWORD WINAPI thread_main(LPVOID p)
{
    struct thread_start st = *(struct thread_start *)p;
    free(p);
    st.fn(st.arg);
    return 0;
}

int tu_thread_start(tu_thread *t, void *(*fn)(void *), void *arg)
{
    struct thread_start *st = lleval_xcalloc(1, sizeof(*st));
    st->fn = fn;
    st->arg = arg;
    t->handle = CreateThread(NULL, 0, thread_main, st, 0, NULL);
    if (!t->handle) {
        free(st);
        return -1;
    }
    return 0;
}

void tu_thread_join(tu_thread t)
{
    WaitForSingleObject(t.handle, INFINITE);
    CloseHandle(t.handle);
}

/* tu_mutex and tu_cond are pointer-sized slots, the size of SRWLOCK and CONDITION_VARIABLE. */
void tu_mutex_init(tu_mutex *m)
{
    InitializeSRWLock((PSRWLOCK)&m->slot);
}

void tu_mutex_destroy(tu_mutex *m)
{
    (void)m; /* an SRW lock needs no cleanup */
}

void tu_mutex_lock(tu_mutex *m)
{
    AcquireSRWLockExclusive((PSRWLOCK)&m->slot);
}

void tu_mutex_unlock(tu_mutex *m)
{
    ReleaseSRWLockExclusive((PSRWLOCK)&m->slot);
}

void tu_cond_init(tu_cond *c)
{
    InitializeConditionVariable((PCONDITION_VARIABLE)&c->slot);
}

void tu_cond_destroy(tu_cond *c)
{
    (void)c;
}

void tu_cond_broadcast(tu_cond *c)
{
    WakeAllConditionVariable((PCONDITION_VARIABLE)&c->slot);
}

bool tu_cond_wait_ms(tu_cond *c, tu_mutex *m, long ms)
{
    if (SleepConditionVariableSRW((PCONDITION_VARIABLE)&c->slot, (PSRWLOCK)&m->slot, (DWORD)ms, 0))
        return true;
    return GetLastError() != ERROR_TIMEOUT;
}

static void wsa_start(void)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    BOOL pending;
    if (InitOnceBeginInitialize(&once, 0, &pending, NULL) && pending) {
        WSADATA wsa;
        WSAStartup(MAKEWORD(2, 2), &wsa);
        InitOnceComplete(&once, 0, NULL);
    }
}

tu_socket tu_listen_loopback(int *port, int backlog)
{
    struct sockaddr_in a;
    int len = sizeof(a);
    SOCKET s;
    wsa_start();
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return TU_BAD_SOCKET;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, backlog) ||
        getsockname(s, (struct sockaddr *)&a, &len)) {
        closesocket(s);
        return TU_BAD_SOCKET;
    }
    *port = ntohs(a.sin_port);
    return s;
}

tu_socket tu_accept(tu_socket listener)
{
    SOCKET s = accept((SOCKET)listener, NULL, NULL);
    return s == INVALID_SOCKET ? TU_BAD_SOCKET : s;
}

long tu_recv(tu_socket s, void *buf, size_t len, bool peek)
{
    int n = recv((SOCKET)s, buf, len > INT_MAX ? INT_MAX : (int)len, peek ? MSG_PEEK : 0);
    return n == SOCKET_ERROR ? -1 : n;
}

long tu_send(tu_socket s, const void *buf, size_t len)
{
    int n = send((SOCKET)s, buf, len > INT_MAX ? INT_MAX : (int)len, 0);
    return n == SOCKET_ERROR ? -1 : n;
}

int tu_poll_readable(tu_socket s, int ms)
{
    WSAPOLLFD p = {(SOCKET)s, POLLRDNORM, 0};
    int r = WSAPoll(&p, 1, ms);
    return r == SOCKET_ERROR ? -1 : r > 0;
}

void tu_shutdown(tu_socket s)
{
    shutdown((SOCKET)s, SD_BOTH);
}

void tu_close_socket(tu_socket s)
{
    closesocket((SOCKET)s);
}

tu_socket tu_listen_loopback_at(int port, int backlog)
{
    struct sockaddr_in a;
    SOCKET s;
    wsa_start();
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return TU_BAD_SOCKET;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((u_short)port);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, backlog)) {
        closesocket(s);
        return TU_BAD_SOCKET;
    }
    return s;
}

int tu_kill(long pid, int sig)
{
    HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
    BOOL ok;
    if (!h)
        return -1;
    ok = TerminateProcess(h, 128u + (unsigned)sig);
    CloseHandle(h);
    return ok ? 0 : -1;
}

bool tu_pid_gone(long pid)
{
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    bool gone;
    if (!h)
        return GetLastError() == ERROR_INVALID_PARAMETER; /* no such process */
    gone = WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
    CloseHandle(h);
    return gone;
}
