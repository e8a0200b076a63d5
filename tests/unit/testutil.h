/* Helpers for the cmocka unit tests: temporary directories, file contents, shared data. */
#ifndef LLEVAL_TESTUTIL_H
#define LLEVAL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); returns an owned path. */
char *tu_tmpdir(void);
/* Removes a directory tree (ignores errors). */
void tu_rmtree(const char *path);
/* Writes content to dir/name (or to name when dir is NULL); returns the owned full path. */
char *tu_write(const char *dir, const char *name, const char *content);
/* Writes len raw bytes. */
char *tu_write_bytes(const char *dir, const char *name, const void *data, size_t len);
/* Returns the owned contents of a file, or NULL when it cannot be read. */
char *tu_read(const char *path);
/* Path of a file under ../shared (owned); NULL when the file is absent. */
char *tu_shared(const char *rel);
/* Portability (testutil_posix.c / testutil_win32.c, picked by tests/CMakeLists.txt). */

/* Sets the environment variable name to value (borrows both; the process keeps a copy). On
 * Windows an empty value removes the variable (the C runtime's _putenv_s has no empty values). */
void tu_setenv(const char *name, const char *value);
/* Removes the environment variable name. */
void tu_unsetenv(const char *name);
/* Creates a fresh, empty directory with the given prefix path (borrowed) plus a unique suffix;
 * returns the owned path, NULL on failure. */
char *tu_mkdtemp(const char *prefix);
/* The directory for temporary files: $TMPDIR, else (Windows) %TEMP%/%TMP%, else /tmp. Borrowed. */
const char *tu_tmp_base(void);

/* Creates a symbolic link at path pointing to target (both borrowed); 0 on success. On Windows a
 * file symlink (CreateSymbolicLink, unprivileged where developer mode allows it). */
int tu_symlink(const char *target, const char *path);
/* Whether path itself (not what it points to) is a symbolic link. */
bool tu_is_symlink(const char *path);
/* tu_symlink, or (Windows only, where creating links may need a privilege) skip the test. */
#define tu_symlink_or_skip(target, path)                                                           \
    do {                                                                                           \
        if (tu_symlink((target), (path)) != 0) {                                                   \
            assert_false(TU_LINKS_ALWAYS);                                                         \
            print_message("cannot create a symbolic link here; skipped\n");                        \
            skip();                                                                                \
        }                                                                                          \
    } while (0)
#ifdef _WIN32
#define TU_LINKS_ALWAYS false
#else
#define TU_LINKS_ALWAYS true
#endif

/* Threads, a mutex and a condition variable (pthreads on POSIX, Win32 threads, SRW locks and
 * condition variables on Windows). The Windows types are opaque pointer-sized slots. */
#ifdef _WIN32
typedef struct {
    void *slot;
} tu_mutex;
typedef struct {
    void *slot;
} tu_cond;
typedef struct {
    void *handle;
} tu_thread;
typedef uintptr_t tu_socket; /* SOCKET */
#define TU_BAD_SOCKET (~(uintptr_t)0)
#else
#include <pthread.h>
typedef pthread_mutex_t tu_mutex;
typedef pthread_cond_t tu_cond;
typedef pthread_t tu_thread;
typedef int tu_socket;
#define TU_BAD_SOCKET (-1)
#endif
/* Starts fn(arg) in a new thread; 0 on success. The thread's result is ignored. */
int tu_thread_start(tu_thread *t, void *(*fn)(void *), void *arg);
/* Waits for the thread to end. */
void tu_thread_join(tu_thread t);
void tu_mutex_init(tu_mutex *m);
void tu_mutex_destroy(tu_mutex *m);
void tu_mutex_lock(tu_mutex *m);
void tu_mutex_unlock(tu_mutex *m);
void tu_cond_init(tu_cond *c);
void tu_cond_destroy(tu_cond *c);
void tu_cond_broadcast(tu_cond *c);
/* Waits on c (m locked) for at most ms milliseconds; false on a timeout. */
bool tu_cond_wait_ms(tu_cond *c, tu_mutex *m, long ms);

/* Loopback TCP for in-process fake servers (Winsock is started on first use). */

/* A listening socket on 127.0.0.1 with a free port (stored in *port); TU_BAD_SOCKET on failure. */
tu_socket tu_listen_loopback(int *port, int backlog);
/* A listening socket on 127.0.0.1:port, a given port (a fake server's --port); TU_BAD_SOCKET when
 * it cannot be bound. POSIX sets SO_REUSEADDR first, as servers do (llama-server too), so a
 * restarted server binds its port past connections in TIME_WAIT; Windows needs no option for that
 * (its SO_REUSEADDR would let two listeners share a port). */
tu_socket tu_listen_loopback_at(int port, int backlog);
/* Accepts one connection; TU_BAD_SOCKET on failure (the listening socket closed). */
tu_socket tu_accept(tu_socket listener);
/* recv(); with peek, leaves the bytes queued. Returns the count, 0 at the end, -1 on error. */
long tu_recv(tu_socket s, void *buf, size_t len, bool peek);
/* send() without SIGPIPE; returns the count or -1. */
long tu_send(tu_socket s, const void *buf, size_t len);
/* Waits up to ms for s to be readable: 1 readable (or closed), 0 timeout, -1 error. */
int tu_poll_readable(tu_socket s, int ms);
/* Stops both directions (wakes a thread blocked in accept or recv) without closing. */
void tu_shutdown(tu_socket s);
void tu_close_socket(tu_socket s);

/* Processes: TU_CHILD is the path of tests/unit/tu_child.c's program (exit N, sleep MS, print). */

/* A pid that surely names no process: tu_child spawned, exited and reaped (asserts it worked). */
long tu_dead_pid(void);
/* Ends process pid as the POSIX signal number sig (9, 15) would: kill() on POSIX. Windows has no
 * signals: TerminateProcess with exit status 128 + sig, what a POSIX shell reports for such a
 * death, so a test can tell which "signal" it sent. 0 on success. */
int tu_kill(long pid, int sig);
/* Whether no process pid runs any more: POSIX, not even as a zombie (reaped); Windows, none, or
 * one that has exited. */
bool tu_pid_gone(long pid);

/* Asserts that haystack contains needle, printing both when it does not. */
#define tu_assert_contains(haystack, needle)                                                       \
    tu_assert_contains_impl((haystack), (needle), __FILE__, __LINE__)
void tu_assert_contains_impl(const char *haystack, const char *needle, const char *file, int line);
/* The same for a path lleval built, or a message naming one: its separators
 * compare as '/' (Windows joins a backslash directory with backslashes). */
#define tu_assert_path_contains(path, needle)                                                      \
    tu_assert_path_contains_impl((path), (needle), __FILE__, __LINE__)
void tu_assert_path_contains_impl(const char *path, const char *needle, const char *file, int line);

#endif
