/*
 * The platform layer (POSIX; platform.h declares it), part 2: processes
 * (spawn, poll, wait, terminate), process identities (pid plus start time,
 * so a reused pid is never mistaken for the process recorded) and lock files
 * (flock, released by the kernel when the holder dies). Part 1, files,
 * clocks, ports and the rest, is posix.c. A Windows port replaces both.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "portable_int.h"
#include "posix_int.h"

extern char **environ;

/* ---- processes ------------------------------------------------------------------ */

long lleval_getpid(void)
{
    return (long)getpid();
}

bool lleval_platform_is_windows(void)
{
    return false;
}

int lleval_env_set(const char *name, const char *value)
{
    return value ? setenv(name, value, 1) : unsetenv(name);
}

bool lleval_pid_alive(long pid)
{
    if (pid <= 0)
        return false;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

void lleval_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* What the child does between fork and exec; only async-signal-safe calls.
 * Any failure is reported to the parent as an errno through errfd. */
_Noreturn static void child_exec(const char *binary, char *const argv[], const char *log_path,
                                 int log_flags, unsigned flags, pid_t parent, int errfd)
{
    int fd, e;
    if (flags & LLEVAL_SPAWN_OWN_GROUP) {
        static const int defaults[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
        struct sigaction dfl;
        sigset_t none;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
            sigaction(defaults[i], &dfl, NULL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (setpgid(0, 0))
            goto fail;
    }
    fd = open("/dev/null", O_RDONLY);
    if (fd < 0)
        goto fail;
    if (fd != 0) {
        if (dup2(fd, 0) < 0)
            goto fail;
        close(fd);
    }
    fd = open(log_path, log_flags, 0644);
    if (fd < 0)
        goto fail;
    if ((fd != 1 && dup2(fd, 1) < 0) || (fd != 2 && dup2(fd, 2) < 0))
        goto fail;
    if (fd > 2)
        close(fd);
#ifdef __linux__
    if (flags & LLEVAL_SPAWN_DIE_WITH_PARENT) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
            goto fail;
        /* the parent may have died before the prctl: then nothing would fire */
        if (getppid() != parent)
            _exit(127);
    }
#else
    (void)parent;
#endif
    execve(binary, argv, environ);
fail:
    e = errno;
    while (write(errfd, &e, sizeof(e)) < 0 && errno == EINTR)
        ;
    _exit(127);
}

int lleval_proc_spawn(const char *binary, char *const argv[], const char *log_path, unsigned flags,
                      long *pid_out, struct lleval_err *err)
{
    /* opened in the child only, for fds 1 and 2: no O_CLOEXEC */
    int log_flags = O_WRONLY | O_CREAT | (flags & LLEVAL_SPAWN_APPEND_LOG ? O_APPEND : O_TRUNC);
    pid_t parent = getpid(), pid;
    int pipefd[2], rd = -1, wr = -1, e = 0;
    ssize_t n;

    *pid_out = 0;
    /* the child's exec errors come back through a close-on-exec pipe (EOF:
     * the exec worked); kept above fd 2 so the child's dup2s cannot hit it */
    if (pipe(pipefd))
        return lleval_err_set(err, LLEVAL_EIO, "cannot start '%s': %s", binary, strerror(errno));
    rd = fcntl(pipefd[0], F_DUPFD_CLOEXEC, 3);
    wr = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 3);
    close(pipefd[0]);
    close(pipefd[1]);
    if (rd < 0 || wr < 0) {
        e = errno;
        goto fail;
    }
    pid = fork();
    if (pid < 0) {
        e = errno;
        goto fail;
    }
    if (pid == 0)
        child_exec(binary, argv, log_path, log_flags, flags, parent, wr);
    close(wr);
    wr = -1;
    while ((n = read(rd, &e, sizeof(e))) < 0 && errno == EINTR)
        ;
    close(rd);
    if (n == (ssize_t)sizeof(e)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return lleval_err_set(err, LLEVAL_EIO, "cannot start '%s': %s", binary, strerror(e));
    }
    *pid_out = (long)pid;
    return 0;
fail:
    if (rd >= 0)
        close(rd);
    if (wr >= 0)
        close(wr);
    return lleval_err_set(err, LLEVAL_EIO, "cannot start '%s': %s", binary, strerror(e));
}

static void exit_from_status(int status, struct lleval_proc_exit *ex)
{
    ex->signaled = WIFSIGNALED(status);
    ex->code = ex->signaled ? WTERMSIG(status) : WIFEXITED(status) ? WEXITSTATUS(status) : status;
}

int lleval_proc_poll(long pid, struct lleval_proc_exit *ex)
{
    int status = 0;
    pid_t r = -1;
    /* pid <= 0 would wait for any child */
    while (pid > 0 && (r = waitpid((pid_t)pid, &status, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return 0;
    if (r < 0) {
        ex->signaled = false;
        ex->code = 0;
        return 2;
    }
    exit_from_status(status, ex);
    return 1;
}

/* Blocking waitpid that survives signals; 0, or -1 with errno set. */
static int wait_child(long pid, struct lleval_proc_exit *ex)
{
    int status = 0;
    if (pid <= 0) {
        errno = ECHILD; /* not one child: waitpid would take any */
        return -1;
    }
    while (waitpid((pid_t)pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    exit_from_status(status, ex);
    return 0;
}

int lleval_proc_wait(long pid, struct lleval_proc_exit *ex, struct lleval_err *err)
{
    if (wait_child(pid, ex))
        return lleval_err_set(err, LLEVAL_EIO, "cannot wait for process %ld: %s", pid,
                              strerror(errno));
    return 0;
}

int lleval_proc_run(const char *binary, char *const argv[], const char *log_path, unsigned flags,
                    struct lleval_proc_exit *ex, struct lleval_err *err)
{
    long pid;
    int rc = lleval_proc_spawn(binary, argv, log_path, flags, &pid, err);
    if (rc)
        return rc;
    if (wait_child(pid, ex))
        return lleval_err_errno(err, "cannot wait for", binary);
    return 0;
}

/* Sends sig to pid's process group, or to pid alone when it leads none. */
static void signal_group(pid_t pid, int sig)
{
    if (kill(-pid, sig) && errno == ESRCH)
        kill(pid, sig);
}

/* Waits up to ms for child pid to exit; returns true when it was reaped. */
static bool reap_within(pid_t pid, long ms)
{
    double deadline = lleval_monotonic() + (double)ms / 1000.0;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return true;
        if (lleval_monotonic() >= deadline)
            return false;
        lleval_sleep_ms(20);
    }
}

void lleval_proc_terminate(long pid, long grace_ms)
{
    int status;
    if (pid <= 0)
        return;
    signal_group((pid_t)pid, SIGTERM);
    if (!reap_within((pid_t)pid, grace_ms)) {
        signal_group((pid_t)pid, SIGKILL);
        while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
}

const char *lleval_proc_describe(const struct lleval_proc_exit *ex, char *buf, size_t size)
{
    if (!ex->signaled)
        snprintf(buf, size, "exit status %d", ex->code);
    else
        snprintf(buf, size, "killed by signal %d%s", ex->code,
                 ex->code == SIGKILL   ? ", SIGKILL: the out-of-memory killer or a kill -9"
                 : ex->code == SIGSEGV ? ", SIGSEGV: a crash"
                 : ex->code == SIGABRT ? ", SIGABRT: an assertion failed"
                                       : "");
    return buf;
}

int lleval_proc_argv0(long pid, struct lleval_sb *out)
{
    struct lleval_sb cmd = LLEVAL_SB_INIT;
    char path[64];
    int rc = LLEVAL_EIO;
    if (pid <= 0)
        return LLEVAL_EIO;
    /* NUL-separated arguments: the buffer reads as argv[0]. It is empty for
     * a zombie, and for a moment while a process execs. */
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    if (!lleval_read_file(path, &cmd, 1 << 16, NULL) && cmd.len && cmd.buf[0]) {
        lleval_sb_adds(out, cmd.buf);
        rc = 0;
    }
    lleval_sb_release(&cmd);
    return rc;
}

/* ---- process identities --------------------------------------------------------- */

int lleval_proc_identify(long pid, struct lleval_proc_id *id)
{
    char path[64], buf[4096], *end;
    const char *p;
    unsigned long long start;

    if (pid <= 0)
        return LLEVAL_EIO;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (lleval_posix_read_small(path, buf, sizeof(buf)) <= 0)
        return LLEVAL_EIO;
    /* "pid (comm) state ppid ...": comm may hold spaces and ')', so count the
     * fields from the last ')'; starttime is field 22 */
    p = strrchr(buf, ')');
    if (!p)
        return LLEVAL_EIO;
    p++;
    for (int field = 3; field < 22; field++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
        if (!*p)
            return LLEVAL_EIO;
    }
    errno = 0;
    start = strtoull(p, &end, 10);
    if (end == p || errno || (*end && *end != ' ' && *end != '\n'))
        return LLEVAL_EIO;
    id->pid = pid;
    id->start = (uint64_t)start;
    return 0;
}

bool lleval_proc_is_alive(const struct lleval_proc_id *id)
{
    struct lleval_proc_id now;
    return id && id->pid > 0 && !lleval_proc_identify(id->pid, &now) && now.start == id->start;
}

/* A pidfd for pid (-1 where the kernel has none): signals sent through it
 * reach that process or none, never a later holder of its pid. */
static int pidfd_open_(long pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
    return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

static void signal_identified(int pidfd, const struct lleval_proc_id *id, int sig)
{
#if defined(__linux__) && defined(SYS_pidfd_send_signal)
    if (pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
        return;
    }
#endif
    (void)pidfd;
    if (lleval_proc_is_alive(id)) /* a narrow window remains without pidfds */
        kill((pid_t)id->pid, sig);
}

/* Waits up to ms for the process to exit; true when it did. */
static bool gone_within(int pidfd, const struct lleval_proc_id *id, long ms)
{
    double deadline = lleval_monotonic() + (double)ms / 1000.0;
    for (;;) {
        double left = deadline - lleval_monotonic();
        if (pidfd >= 0) {
            struct pollfd pfd = {pidfd, POLLIN, 0};
            int r = poll(&pfd, 1, left > 0 ? (int)(left * 1000.0) + 1 : 0);
            if (r > 0)
                return true;
            if (r == 0 || errno != EINTR)
                return r > 0;
            continue;
        }
        if (!lleval_proc_is_alive(id))
            return true;
        if (left <= 0)
            return false;
        lleval_sleep_ms(50);
    }
}

bool lleval_proc_terminate_other(const struct lleval_proc_id *id, long grace_ms)
{
    int pidfd;
    if (!id || id->pid <= 0)
        return false;
    /* open first, check second: a pidfd that passes the check is that process */
    pidfd = pidfd_open_(id->pid);
    if (!lleval_proc_is_alive(id)) {
        if (pidfd >= 0)
            close(pidfd);
        return false;
    }
    signal_identified(pidfd, id, SIGTERM);
    if (!gone_within(pidfd, id, grace_ms))
        signal_identified(pidfd, id, SIGKILL);
    if (pidfd >= 0)
        close(pidfd);
    return true;
}

/* ---- lock files ----------------------------------------------------------------- */

struct lleval_lock {
    int fd;
    char *path;
};

long lleval_lock_owner(const char *path)
{
    char buf[128];
    struct lleval_proc_id id;
    if (lleval_posix_read_small(path, buf, sizeof(buf)) <= 0 ||
        !lleval_plat_parse_identity(buf, &id))
        return 0;
    return id.pid;
}

/* The live process the open lock file names, or 0: its identity (or, for a
 * file that holds a bare pid, a live pid). */
static long named_holder(int fd)
{
    char buf[128];
    struct lleval_proc_id id;
    ssize_t n;
    while ((n = pread(fd, buf, sizeof(buf) - 1, 0)) < 0 && errno == EINTR)
        ;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    if (!lleval_plat_parse_identity(buf, &id))
        return 0;
    if (id.start ? lleval_proc_is_alive(&id) : lleval_pid_alive(id.pid))
        return id.pid;
    return 0;
}

/* True when fd is the file path names now (not one removed meanwhile). */
static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return !fstat(fd, &a) && !lstat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Opens the lock file for locking: a regular file, never through a link. */
static int open_lock(const char *path, int *out, struct lleval_err *err)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
    if (fd < 0 && errno == ELOOP)
        return lleval_err_set(err, LLEVAL_EIO,
                              "lock '%s' is a symbolic link: lleval never follows one there; "
                              "remove it",
                              path);
    if (fd < 0 && errno != EISDIR)
        return lleval_err_errno(err, "cannot create lock", path);
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return lleval_err_set(err, LLEVAL_EIO, "lock '%s' is not a regular file; remove it", path);
    }
    *out = fd;
    return 0;
}

/* Writes this process's identity into the held lock file (information). */
static int write_identity(int fd, const char *path, struct lleval_err *err)
{
    struct lleval_proc_id me = {lleval_getpid(), 0};
    char buf[64];
    int n;
    lleval_proc_identify(me.pid, &me); /* start 0 where unknown */
    n = snprintf(buf, sizeof(buf), "%ld %llu\n", me.pid, (unsigned long long)me.start);
    if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n))
        return lleval_err_errno(err, "cannot write lock", path);
    return 0;
}

int lleval_lock_acquire(const char *path, struct lleval_lock **out, long *holder,
                        struct lleval_err *err)
{
    /* how long a busy lock may name no live holder: a new holder writes its
     * identity just after locking, and lleval_lock_is_held's probes let go
     * at once */
    double deadline = lleval_monotonic() + 1.0;
    *out = NULL;
    *holder = 0;
    for (;;) {
        int fd = -1, rc = open_lock(path, &fd, err);
        long pid;
        if (rc)
            return rc;
        if (!flock(fd, LOCK_EX | LOCK_NB)) {
            if (!same_file(fd, path)) {
                /* its last holder removed it before we locked it: a new file
                 * may be locked by someone else already, so start over */
                close(fd);
                if (lleval_monotonic() >= deadline)
                    return lleval_err_set(err, LLEVAL_EIO,
                                          "cannot take the lock '%s': it keeps being replaced",
                                          path);
                continue;
            }
            rc = write_identity(fd, path, err);
            if (rc) {
                close(fd);
                return rc;
            }
            *out = lleval_xcalloc(1, sizeof(**out));
            (*out)->fd = fd;
            (*out)->path = lleval_xstrdup(path);
            return 0;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            rc = lleval_err_errno(err, "cannot lock", path);
            close(fd);
            return rc;
        }
        pid = named_holder(fd);
        close(fd);
        if (pid || lleval_monotonic() >= deadline) {
            *holder = pid;
            return 1;
        }
        lleval_sleep_ms(10);
    }
}

void lleval_lock_release(struct lleval_lock *lock)
{
    if (!lock)
        return;
    /* removed while still held (see platform.h): only a holder removes it */
    if (same_file(lock->fd, lock->path))
        unlink(lock->path);
    close(lock->fd);
    free(lock->path);
    free(lock);
}

bool lleval_lock_is_held(const char *path)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        bool same;
        if (fd < 0)
            return false;
        if (flock(fd, LOCK_SH | LOCK_NB)) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return true;
            if (e != EINTR)
                return false;
            continue;
        }
        same = same_file(fd, path);
        close(fd); /* and with it the shared lock */
        if (same)
            return false;
        /* replaced while we looked: look at the new file */
    }
    return false;
}
