/*
 * The platform layer (Windows; platform.h declares it), part 2: processes
 * (CreateProcessW with a command line quoted by lib/util/winargv.c, each
 * child in a Job object of its own: JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE ties
 * it to lleval's life, and terminating the job stops what the child started,
 * as a process group does on POSIX), process identities (pid plus the
 * creation time of GetProcessTimes, checked on a handle held to the end, so
 * a reused pid is never terminated) and lock files (LockFileEx on a byte far
 * past the text, released by the kernel when the holder dies), the console
 * (UTF-8 arguments and output, colors) and the stop events
 * (SetConsoleCtrlHandler: Ctrl-C, Ctrl-Break and a closing console count as
 * SIGINT does). Part 1 is win32.c; the POSIX counterparts are posix.c and
 * posix_proc.c.
 *
 * Windows has no zombies to reap: this file keeps the handles of the
 * children it started (the process and its job) until they are waited for,
 * which is what keeps a child's pid from being reused in the meantime.
 *
 * The build compiles this file on Windows only; the guard below keeps a plain
 * glob of lib/ building on other systems.
 */
#ifndef _WIN32
typedef int lleval_win32_proc_unused; /* ISO C wants a declaration in every file */
#else
#include "win32_int.h"
#include <errno.h>
#include <shellapi.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "portable_int.h"
#include "lleval/util/winargv.h"

/* ---- processes ------------------------------------------------------------------ */

long lleval_getpid(void)
{
    return (long)GetCurrentProcessId();
}

bool lleval_platform_is_windows(void)
{
    return true;
}

int lleval_env_set(const char *name, const char *value)
{
    /* an empty value removes the variable, as Windows has no empty ones */
    return _putenv_s(name, value ? value : "") ? -1 : 0;
}

bool lleval_pid_alive(long pid)
{
    HANDLE h;
    bool alive;
    if (pid <= 0)
        return false;
    h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h)
        return GetLastError() == ERROR_ACCESS_DENIED; /* there, not ours to look at */
    alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
    CloseHandle(h);
    return alive;
}

void lleval_sleep_ms(long ms)
{
    Sleep(ms > 0 ? (DWORD)ms : 0);
}

/* A child this process started and has not waited for yet. */
struct child {
    DWORD pid;
    HANDLE proc;
    HANDLE job;     /* its Job object: closing it kills the job's processes
                       when LLEVAL_SPAWN_DIE_WITH_PARENT set the limit */
    bool own_group; /* CREATE_NEW_PROCESS_GROUP: CTRL_BREAK_EVENT reaches it alone */
};

static SRWLOCK children_lock = SRWLOCK_INIT;
static struct child *children;
static size_t n_children, cap_children;

/* Copies the child entry for pid into *out; false when it is none of ours. */
static bool find_child(long pid, struct child *out)
{
    bool found = false;
    AcquireSRWLockShared(&children_lock);
    for (size_t i = 0; i < n_children && !found; i++)
        if ((long)children[i].pid == pid) {
            *out = children[i];
            found = true;
        }
    ReleaseSRWLockShared(&children_lock);
    return found;
}

/* Forgets child pid and closes its handles (reaps it). */
static void drop_child(long pid)
{
    AcquireSRWLockExclusive(&children_lock);
    for (size_t i = 0; i < n_children; i++)
        if ((long)children[i].pid == pid) {
            CloseHandle(children[i].proc);
            if (children[i].job)
                CloseHandle(children[i].job);
            children[i] = children[--n_children];
            break;
        }
    ReleaseSRWLockExclusive(&children_lock);
}

static void add_child(const struct child *c)
{
    AcquireSRWLockExclusive(&children_lock);
    LLEVAL_GROW(children, n_children, cap_children);
    children[n_children++] = *c;
    ReleaseSRWLockExclusive(&children_lock);
}

/* An inheritable handle: the null device for reading, or the log. */
static HANDLE open_inheritable(const char *path, bool log, bool append)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    wchar_t *w;
    HANDLE h;
    if (!log)
        return CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                           OPEN_EXISTING, 0, NULL);
    w = lleval_w32_wide(path);
    /* FILE_APPEND_DATA alone: every write of the child lands at the end */
    h = CreateFileW(w, append ? FILE_APPEND_DATA | SYNCHRONIZE : GENERIC_WRITE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
                    append ? OPEN_ALWAYS : CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    free(w);
    return h;
}

/* A Job object for one child; KILL_ON_JOB_CLOSE when it must die with us. */
static HANDLE make_job(bool die_with_parent)
{
    HANDLE job = CreateJobObjectW(NULL, NULL); /* not inheritable: only we hold it */
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
    if (!job || !die_with_parent)
        return job;
    memset(&li, 0, sizeof(li));
    li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li, sizeof(li))) {
        CloseHandle(job);
        return NULL;
    }
    return job;
}

/* Starts the child suspended, with exactly the handles in[] inherited. */
static bool create_process(const wchar_t *wbinary, wchar_t *wcmd, DWORD flags, HANDLE hin,
                           HANDLE hlog, PROCESS_INFORMATION *pi)
{
    STARTUPINFOEXW si;
    HANDLE inherit[2] = {hin, hlog};
    SIZE_T size = 0;
    bool ok;

    memset(&si, 0, sizeof(si));
    si.StartupInfo.cb = sizeof(si);
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = hin;
    si.StartupInfo.hStdOutput = hlog;
    si.StartupInfo.hStdError = hlog;
    /* only these two handles reach the child, not every inheritable one */
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    si.lpAttributeList = size ? lleval_xmalloc(size) : NULL;
    if (si.lpAttributeList &&
        (!InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &size) ||
         !UpdateProcThreadAttribute(si.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                    inherit, sizeof(inherit), NULL, NULL))) {
        free(si.lpAttributeList);
        si.lpAttributeList = NULL;
    }
    if (si.lpAttributeList)
        flags |= EXTENDED_STARTUPINFO_PRESENT;
    else
        si.StartupInfo.cb = sizeof(si.StartupInfo);
    ok = CreateProcessW(wbinary, wcmd, NULL, NULL, TRUE, flags, NULL, NULL, &si.StartupInfo, pi);
    if (si.lpAttributeList) {
        DWORD e = GetLastError();
        DeleteProcThreadAttributeList(si.lpAttributeList);
        free(si.lpAttributeList);
        SetLastError(e);
    }
    return ok;
}

int lleval_proc_spawn(const char *binary, char *const argv[], const char *log_path, unsigned flags,
                      long *pid_out, struct lleval_err *err)
{
    bool group = flags & LLEVAL_SPAWN_OWN_GROUP, tie = flags & LLEVAL_SPAWN_DIE_WITH_PARENT;
    DWORD cflags =
        CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT | (group ? CREATE_NEW_PROCESS_GROUP : 0);
    HANDLE hin = open_inheritable(NULL, false, false), hlog = INVALID_HANDLE_VALUE;
    char *cmd = lleval_winargv_join(argv);
    wchar_t *wbinary = lleval_w32_wide(binary), *wcmd = lleval_w32_wide(cmd);
    PROCESS_INFORMATION pi = {0};
    struct child c = {0};
    DWORD e = 0;
    int rc = 0;

    *pid_out = 0;
    if (hin == INVALID_HANDLE_VALUE) {
        e = GetLastError();
        goto fail;
    }
    hlog = open_inheritable(log_path, true, flags & LLEVAL_SPAWN_APPEND_LOG);
    if (hlog == INVALID_HANDLE_VALUE) {
        e = GetLastError();
        goto fail;
    }
    c.job = make_job(tie);
    if (!c.job && tie) {
        e = GetLastError();
        goto fail;
    }
    if (!create_process(wbinary, wcmd, cflags, hin, hlog, &pi)) {
        e = GetLastError();
        goto fail;
    }
    /* suspended until it is in its job: nothing it starts can escape it */
    if (c.job && !AssignProcessToJobObject(c.job, pi.hProcess)) {
        if (tie) {
            e = GetLastError();
            TerminateProcess(pi.hProcess, 1);
            WaitForSingleObject(pi.hProcess, INFINITE);
            CloseHandle(pi.hThread);
            CloseHandle(pi.hProcess);
            goto fail;
        }
        CloseHandle(c.job); /* not tied: a process of its own then */
        c.job = NULL;
    }
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    c.pid = pi.dwProcessId;
    c.proc = pi.hProcess;
    c.own_group = group;
    add_child(&c);
    *pid_out = (long)pi.dwProcessId;
    goto out;
fail : {
    char msg[400];
    rc = lleval_err_set(err, LLEVAL_EIO, "cannot start '%s': %s", binary,
                        lleval_w32_strerror(e, msg, sizeof(msg)));
    if (c.job)
        CloseHandle(c.job);
}
out:
    if (hin != INVALID_HANDLE_VALUE)
        CloseHandle(hin);
    if (hlog != INVALID_HANDLE_VALUE)
        CloseHandle(hlog);
    free(cmd);
    free(wbinary);
    free(wcmd);
    return rc;
}

/* The exit of a finished child, then reaps it. */
static void reap(const struct child *c, struct lleval_proc_exit *ex)
{
    DWORD code = 0;
    GetExitCodeProcess(c->proc, &code);
    ex->signaled = false;
    ex->code = (int)code;
    drop_child((long)c->pid);
}

int lleval_proc_poll(long pid, struct lleval_proc_exit *ex)
{
    struct child c;
    if (pid <= 0 || !find_child(pid, &c)) {
        ex->signaled = false;
        ex->code = 0;
        return 2;
    }
    if (WaitForSingleObject(c.proc, 0) == WAIT_TIMEOUT)
        return 0;
    reap(&c, ex);
    return 1;
}

int lleval_proc_wait(long pid, struct lleval_proc_exit *ex, struct lleval_err *err)
{
    struct child c;
    if (pid <= 0 || !find_child(pid, &c))
        return lleval_err_set(err, LLEVAL_EIO, "cannot wait for process %ld: %s", pid,
                              "not a child of this process");
    if (WaitForSingleObject(c.proc, INFINITE) != WAIT_OBJECT_0)
        return lleval_w32_err(err, "cannot wait for process", "", GetLastError());
    reap(&c, ex);
    return 0;
}

int lleval_proc_run(const char *binary, char *const argv[], const char *log_path, unsigned flags,
                    struct lleval_proc_exit *ex, struct lleval_err *err)
{
    long pid;
    struct child c;
    int rc = lleval_proc_spawn(binary, argv, log_path, flags, &pid, err);
    if (rc)
        return rc;
    if (!find_child(pid, &c) || WaitForSingleObject(c.proc, INFINITE) != WAIT_OBJECT_0)
        return lleval_w32_err(err, "cannot wait for", binary, GetLastError());
    reap(&c, ex);
    return 0;
}

void lleval_proc_terminate(long pid, long grace_ms)
{
    struct child c;
    if (pid <= 0 || !find_child(pid, &c))
        return;
    /* the graceful step: a child leading its own process group on our
     * console gets CTRL_BREAK_EVENT (a group id is the leader's pid). One
     * sharing our group cannot be reached without reaching lleval too. */
    if (c.own_group && GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, c.pid))
        WaitForSingleObject(c.proc, grace_ms > 0 ? (DWORD)grace_ms : 0);
    if (WaitForSingleObject(c.proc, 0) == WAIT_TIMEOUT) {
        if (!c.own_group || !c.job || !TerminateJobObject(c.job, 1))
            TerminateProcess(c.proc, 1);
        WaitForSingleObject(c.proc, INFINITE);
    }
    drop_child(pid);
}

const char *lleval_proc_describe(const struct lleval_proc_exit *ex, char *buf, size_t size)
{
    unsigned long code = (unsigned long)(unsigned)ex->code;
    const char *what = NULL;
    if (code < 0xC0000000UL) {
        snprintf(buf, size, "exit status %d", ex->code);
        return buf;
    }
    /* NTSTATUS codes: how the process died */
    switch (code) {
    case 0xC0000005UL:
        what = ": an access violation, a crash";
        break;
    case 0xC00000FDUL:
        what = ": a stack overflow";
        break;
    case 0xC0000409UL:
        what = ": the program aborted (an assertion or a fatal error)";
        break;
    case 0xC0000017UL:
        what = ": out of memory";
        break;
    case 0xC000013AUL:
        what = ": stopped by Ctrl-C";
        break;
    case 0xC0000135UL:
        what = ": a DLL it needs was not found (CUDA or the C++ runtime?)";
        break;
    case 0xC000001DUL:
        what = ": an illegal instruction (a build for a newer CPU?)";
        break;
    default:
        what = "";
    }
    snprintf(buf, size, "exit status 0x%08lX%s", code, what);
    return buf;
}

int lleval_proc_argv0(long pid, struct lleval_sb *out)
{
    wchar_t name[MAX_PATH * 4];
    DWORD n = LLEVAL_ARRAY_SIZE(name);
    HANDLE h;
    char *s;
    BOOL ok;
    if (pid <= 0)
        return LLEVAL_EIO;
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h)
        return LLEVAL_EIO;
    /* the image's path: the name the program was started as, resolved */
    ok = QueryFullProcessImageNameW(h, 0, name, &n);
    CloseHandle(h);
    if (!ok)
        return LLEVAL_EIO;
    s = lleval_w32_utf8(name);
    lleval_sb_adds(out, s);
    free(s);
    return 0;
}

/* ---- process identities --------------------------------------------------------- */

/* The creation time of the process behind h; false when unknown. */
static bool start_of(HANDLE h, uint64_t *start)
{
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(h, &created, &exited, &kernel, &user))
        return false;
    *start = lleval_w32_ft(created);
    return true;
}

int lleval_proc_identify(long pid, struct lleval_proc_id *id)
{
    HANDLE h;
    bool ok;
    if (pid <= 0)
        return LLEVAL_EIO;
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h)
        return LLEVAL_EIO;
    ok = start_of(h, &id->start);
    CloseHandle(h);
    if (!ok)
        return LLEVAL_EIO;
    id->pid = pid;
    return 0;
}

bool lleval_proc_is_alive(const struct lleval_proc_id *id)
{
    HANDLE h;
    uint64_t start;
    bool alive;
    if (!id || id->pid <= 0)
        return false;
    h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)id->pid);
    if (!h)
        return false;
    /* an exited process whose object someone still holds keeps its pid:
     * like a zombie it counts while its parent has not let go */
    alive = start_of(h, &start) && start == id->start;
    CloseHandle(h);
    return alive;
}

bool lleval_proc_terminate_other(const struct lleval_proc_id *id, long grace_ms)
{
    HANDLE h;
    uint64_t start;
    if (!id || id->pid <= 0)
        return false;
    /* the handle pins the process: checked once, it is that process to the
     * end (a pidfd on Linux). Not our child and not on our console: there is
     * no gentle signal to send, so TerminateProcess, then up to grace_ms for
     * it to be gone. */
    h = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                    (DWORD)id->pid);
    if (!h)
        return false;
    if (!start_of(h, &start) || start != id->start || WaitForSingleObject(h, 0) != WAIT_TIMEOUT) {
        CloseHandle(h);
        return false;
    }
    TerminateProcess(h, 1);
    WaitForSingleObject(h, grace_ms > 0 ? (DWORD)grace_ms : 0);
    CloseHandle(h);
    return true;
}

/* ---- lock files ----------------------------------------------------------------- */

/* The locked byte: far past any text, so readers of the text never meet it. */
#define LOCK_OFFSET_HIGH 0x40000000UL

struct lleval_lock {
    HANDLE h;
    char *path;
};

/* Reads the text at the start of the open lock file into buf. */
static bool read_text(HANDLE h, char *buf, size_t size)
{
    OVERLAPPED ov = {0};
    DWORD n = 0;
    if (!ReadFile(h, buf, (DWORD)size - 1, &n, &ov) || !n)
        return false;
    buf[n] = '\0';
    return true;
}

long lleval_lock_owner(const char *path)
{
    char buf[128];
    struct lleval_proc_id id;
    wchar_t *w = lleval_w32_wide(path);
    HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    bool ok;
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    ok = read_text(h, buf, sizeof(buf)) && lleval_plat_parse_identity(buf, &id);
    CloseHandle(h);
    return ok ? id.pid : 0;
}

/* The live process the open lock file names, or 0. */
static long named_holder(HANDLE h)
{
    char buf[128];
    struct lleval_proc_id id;
    if (!read_text(h, buf, sizeof(buf)) || !lleval_plat_parse_identity(buf, &id))
        return 0;
    if (id.start ? lleval_proc_is_alive(&id) : lleval_pid_alive(id.pid))
        return id.pid;
    return 0;
}

/* Opens the lock file for locking: a regular file, never through a link. */
static int open_lock(const char *path, HANDLE *out, struct lleval_err *err)
{
    wchar_t *w = lleval_w32_wide(path);
    HANDLE h = CreateFileW(
        w, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
        NULL, OPEN_ALWAYS, FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    BY_HANDLE_FILE_INFORMATION info = {0};
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return lleval_w32_err(err, "cannot create lock", path, GetLastError());
    if (GetFileType(h) != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &info) ||
        (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT))) {
        bool link = info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT;
        CloseHandle(h);
        if (link)
            return lleval_err_set(err, LLEVAL_EIO,
                                  "lock '%s' is a symbolic link: lleval never follows one "
                                  "there; remove it",
                                  path);
        return lleval_err_set(err, LLEVAL_EIO, "lock '%s' is not a regular file; remove it", path);
    }
    *out = h;
    return 0;
}

/* Locks the far byte of h: exclusive or shared, never waiting. */
static bool lock_byte(HANDLE h, bool exclusive)
{
    OVERLAPPED ov = {0};
    ov.OffsetHigh = LOCK_OFFSET_HIGH;
    return LockFileEx(h, LOCKFILE_FAIL_IMMEDIATELY | (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0), 0,
                      1, 0, &ov);
}

/* Writes this process's identity into the held lock file (information). */
static int write_identity(HANDLE h, const char *path, struct lleval_err *err)
{
    struct lleval_proc_id me = {lleval_getpid(), 0};
    char buf[64];
    int n;
    DWORD done = 0;
    OVERLAPPED ov = {0};
    LARGE_INTEGER end;
    lleval_proc_identify(me.pid, &me);
    n = snprintf(buf, sizeof(buf), "%ld %llu\n", me.pid, (unsigned long long)me.start);
    end.QuadPart = n;
    if (!WriteFile(h, buf, (DWORD)n, &done, &ov) || done != (DWORD)n ||
        !SetFilePointerEx(h, end, NULL, FILE_BEGIN) || !SetEndOfFile(h))
        return lleval_w32_err(err, "cannot write lock", path, GetLastError());
    return 0;
}

int lleval_lock_acquire(const char *path, struct lleval_lock **out, long *holder,
                        struct lleval_err *err)
{
    /* how long a busy lock may name no live holder: a new holder writes its
     * identity just after locking, and lleval_lock_is_held's probes let go
     * at once. The file is never removed (see lleval_lock_release), so there
     * is no replaced file to start over on. */
    double deadline = lleval_monotonic() + 1.0;
    *out = NULL;
    *holder = 0;
    for (;;) {
        HANDLE h = INVALID_HANDLE_VALUE;
        int rc = open_lock(path, &h, err);
        long pid;
        DWORD e;
        if (rc)
            return rc;
        if (lock_byte(h, true)) {
            rc = write_identity(h, path, err);
            if (rc) {
                CloseHandle(h);
                return rc;
            }
            *out = lleval_xcalloc(1, sizeof(**out));
            (*out)->h = h;
            (*out)->path = lleval_xstrdup(path);
            return 0;
        }
        e = GetLastError();
        if (e != ERROR_LOCK_VIOLATION && e != ERROR_IO_PENDING) {
            CloseHandle(h);
            return lleval_w32_err(err, "cannot lock", path, e);
        }
        pid = named_holder(h);
        CloseHandle(h);
        if (pid || lleval_monotonic() >= deadline) {
            *holder = pid;
            return 1;
        }
        lleval_sleep_ms(10);
    }
}

void lleval_lock_release(struct lleval_lock *lock)
{
    LARGE_INTEGER zero = {0};
    OVERLAPPED ov = {0};
    if (!lock)
        return;
    /* emptied while still held: a file open elsewhere cannot be removed
     * for good, and removing it after unlocking would race a new holder */
    if (SetFilePointerEx(lock->h, zero, NULL, FILE_BEGIN))
        SetEndOfFile(lock->h);
    ov.OffsetHigh = LOCK_OFFSET_HIGH;
    UnlockFileEx(lock->h, 0, 1, 0, &ov);
    CloseHandle(lock->h);
    free(lock->path);
    free(lock);
}

bool lleval_lock_is_held(const char *path)
{
    wchar_t *w = lleval_w32_wide(path);
    HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    bool held = false;
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return false;
    if (!lock_byte(h, false))
        held = GetLastError() == ERROR_LOCK_VIOLATION;
    CloseHandle(h); /* and with it the shared lock */
    return held;
}

/* ---- the stop events and the console ---------------------------------------------- */

/* Incremented by the console control handler (see lleval_stop_signal()). */
static volatile sig_atomic_t stop_signals = 0;

static BOOL WINAPI on_console_event(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
        if (stop_signals < 100)
            stop_signals++;
        return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        /* the console is going: the process ends when this returns (at most
         * 5 s later). Abandon what is in flight (resumable) and give the main
         * thread a few seconds to write its state. */
        stop_signals = stop_signals < 2 ? 2 : stop_signals;
        Sleep(4000);
        return TRUE;
    default:
        return FALSE;
    }
}

int lleval_stop_signal(void)
{
    return (int)stop_signals;
}

void lleval_stop_signal_reset(void)
{
    stop_signals = 0;
}

void lleval_install_stop_handlers(void)
{
    SetConsoleCtrlHandler(on_console_event, TRUE);
}

void lleval_ignore_sigpipe(void)
{
    /* Windows has no SIGPIPE: a write to a closed pipe fails with EPIPE */
}

/* The console handle behind fd 1 or 2, or NULL when it is not a console. */
static HANDLE console_of(int fd)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    DWORD mode;
    if (h == INVALID_HANDLE_VALUE || GetFileType(h) != FILE_TYPE_CHAR || !GetConsoleMode(h, &mode))
        return NULL; /* NUL is FILE_TYPE_CHAR too, without a console mode */
    return h;
}

bool lleval_isatty(int fd)
{
    return console_of(fd) != NULL;
}

int lleval_term_columns(void)
{
    CONSOLE_SCREEN_BUFFER_INFO info;
    HANDLE h = console_of(1);
    if (!h || !GetConsoleScreenBufferInfo(h, &info))
        return 0;
    return info.srWindow.Right - info.srWindow.Left + 1;
}

char *lleval_cwd(void)
{
    DWORD n = GetCurrentDirectoryW(0, NULL);
    wchar_t *w;
    char *s = NULL;
    if (!n)
        return NULL;
    w = lleval_xmalloc(n * sizeof(wchar_t));
    if (GetCurrentDirectoryW(n, w))
        s = lleval_w32_utf8(w);
    free(w);
    return s;
}

bool lleval_term_colors(int fd)
{
    HANDLE h = console_of(fd);
    DWORD mode;
    return h && GetConsoleMode(h, &mode) && (mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING);
}

void lleval_process_init(int *argc, char ***argv)
{
    int n = 0;
    wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &n);
    if (wargv && n > 0) {
        char **v = lleval_xcalloc((size_t)n + 1, sizeof(*v));
        for (int i = 0; i < n; i++)
            v[i] = lleval_w32_utf8(wargv[i]);
        *argc = n;
        *argv = v; /* the process's, as the C runtime's argv is */
    }
    if (wargv)
        LocalFree(wargv);
    SetConsoleOutputCP(CP_UTF8);
    for (int fd = 1; fd <= 2; fd++) {
        HANDLE h = console_of(fd);
        DWORD mode;
        if (h && GetConsoleMode(h, &mode))
            SetConsoleMode(h, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING); /* fails before Win10 */
    }
}
#endif
