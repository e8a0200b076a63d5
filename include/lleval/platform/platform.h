/*
 * The platform layer, part 2 (part 1, files and directories, is fs.h):
 * processes and their identities, lock files, where llama.cpp's tools live,
 * a free loopback port, clocks, dynamic libraries and host facts for
 * telemetry.
 *
 * Every function here and in fs.h is implemented twice, with the same
 * meaning: lib/platform/posix*.c and lib/platform/win32*.c (the build picks
 * one set). No other file in lib/ or cli/ includes a POSIX or Win32 header,
 * spawns, signals or waits for processes, takes locks, opens sockets
 * (libcurl aside) or syncs files. fs.h includes this header, so one include
 * gives the whole layer. Where a Windows call is named below, it is the one
 * win32*.c maps the function onto. Paths and strings are UTF-8 on every
 * platform; Windows converts them to UTF-16 at its API.
 *
 * Pids are longs everywhere (pid_t and Windows DWORDs both fit).
 */
#ifndef LLEVAL_PLATFORM_H
#define LLEVAL_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* ---- processes ------------------------------------------------------------------ */

long lleval_getpid(void);
/* True in the Windows build: for what lleval tells a user to type (PowerShell
 * or a POSIX shell) and other runtime choices, without an #ifdef outside the
 * platform files. */
bool lleval_platform_is_windows(void);
/* Sets the environment variable name to value (NULL: removes it) for this
 * process and the children it spawns from now on; both borrowed. Returns 0,
 * or -1 when the environment cannot be changed. */
int lleval_env_set(const char *name, const char *value);

/* SIGINT/SIGTERM (Ctrl-C / Ctrl-Break on Windows) increment the stop
 * signal count (lleval_stop_signal()): the first asks for a graceful stop, a
 * second abandons the requests in flight. */
void lleval_install_stop_handlers(void);
/*
 * How many stop signals arrived since the start (or the last reset), capped
 * at 100: 0 = none; 1 = stop sending and settle the requests in flight; 2 or
 * more = abandon them too (they are asked again on resume). The count is the
 * library's only global: a volatile sig_atomic_t that the handler increments.
 */
int lleval_stop_signal(void);
/* Sets the stop signal count back to 0 (tests; a tool that runs again). */
void lleval_stop_signal_reset(void);
/* Writing to a closed pipe returns an error instead of killing the process. */
void lleval_ignore_sigpipe(void);
/* True when fd 1 or 2 is a terminal (Windows: a console, not the null device). */
bool lleval_isatty(int fd);
/* The width in columns of the terminal (console) on stdout, or 0 when stdout
 * is not one or it does not say. */
int lleval_term_columns(void);
/*
 * True when fd 1 or 2 is a terminal that shows ANSI colors: POSIX, a
 * terminal with $TERM set and not "dumb"; Windows, a console where virtual
 * terminal processing is on (lleval_process_init turns it on). NO_COLOR is
 * the caller's to check.
 */
bool lleval_term_colors(int fd);
/*
 * Called once, first thing in main: the program arguments in UTF-8 and a
 * console that shows UTF-8. Windows replaces *argc and *argv with the wide
 * command line (GetCommandLineW, CommandLineToArgvW) converted to UTF-8
 * (owned by the process: never freed), sets the console output code page to
 * UTF-8 and turns on virtual terminal processing where the console has it.
 * POSIX: arguments are bytes already; nothing changes.
 */
void lleval_process_init(int *argc, char ***argv);
/* True when a process with that pid exists (including one we may not signal). */
bool lleval_pid_alive(long pid);
void lleval_sleep_ms(long ms);
/* Gives the heap's free pages back to the system (glibc's malloc_trim, the
 * CRT's _heapmin; nothing where neither exists): between the steps of a run,
 * so a later step's peak does not stand on an earlier step's freed memory. */
void lleval_heap_trim(void);

enum lleval_spawn_flags {
    /* append the child's output to log_path instead of truncating it first */
    LLEVAL_SPAWN_APPEND_LOG = 1 << 0,
    /* the child leads its own process group (a Ctrl-C in the terminal does
     * not reach it; lleval_proc_terminate stops the whole group), starts with
     * an empty signal mask and default SIGINT, SIGTERM, SIGHUP and SIGPIPE */
    LLEVAL_SPAWN_OWN_GROUP = 1 << 1,
    /*
     * the child dies with this process, however this process ends (kill -9
     * included): Linux sets PR_SET_PDEATHSIG to SIGKILL in the child and
     * checks that its parent is still there before exec; Windows puts it in a
     * Job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE whose only handle
     * this process holds. Linux ties the child to the spawning THREAD, so
     * spawn such children from a thread that lives as long as they should
     * (lleval spawns from its main thread, the only one it starts). Where the
     * platform has neither, the flag does nothing.
     */
    LLEVAL_SPAWN_DIE_WITH_PARENT = 1 << 2,
};

/* How a child ended. */
struct lleval_proc_exit {
    bool signaled; /* killed by a signal (code is its number) */
    int code;      /* the exit status, or the signal number */
};

/*
 * Starts binary (borrowed; a path, PATH is not searched) with argv (borrowed,
 * NULL-terminated; argv[0] is what the child sees as its name) without a
 * shell: stdin from the null device, stdout and stderr both into log_path
 * (borrowed; created 0644, truncated unless LLEVAL_SPAWN_APPEND_LOG), the
 * environment inherited. flags: enum lleval_spawn_flags. On success *pid_out
 * is the child's pid: reap it with lleval_proc_poll, lleval_proc_wait or
 * lleval_proc_terminate. Returns 0, or LLEVAL_EIO with "cannot start
 * 'binary': reason" (callers may change err->code, not the message).
 */
int lleval_proc_spawn(const char *binary, char *const argv[], const char *log_path, unsigned flags,
                      long *pid_out, struct lleval_err *err);

/*
 * Checks without blocking whether child pid has exited, reaping it if so.
 * Returns 0 while it runs; 1 when it exited (*ex filled); 2 when it cannot
 * be waited for (not our child, already reaped, pid <= 0: *ex is "exit
 * status 0").
 */
int lleval_proc_poll(long pid, struct lleval_proc_exit *ex);

/* Waits until child pid exits and reaps it. Returns 0 (*ex filled), or
 * LLEVAL_EIO with "cannot wait for process PID: reason". */
int lleval_proc_wait(long pid, struct lleval_proc_exit *ex, struct lleval_err *err);

/*
 * Runs a program to completion: lleval_proc_spawn (flags as there), then
 * waits for it. Returns 0 with *ex filled, or LLEVAL_EIO with "cannot start
 * 'binary': reason" or "cannot wait for 'binary': reason".
 */
int lleval_proc_run(const char *binary, char *const argv[], const char *log_path, unsigned flags,
                    struct lleval_proc_exit *ex, struct lleval_err *err);

/*
 * Stops child pid: SIGTERM to its process group (to the process alone when it
 * leads none), up to grace_ms for it to exit, then SIGKILL to the group; it is
 * always reaped before this returns. pid <= 0 is a no-op. Windows: a child
 * sharing this console gets CTRL_BREAK_EVENT and up to grace_ms, then its
 * Job object (the child and what it started) is terminated.
 */
void lleval_proc_terminate(long pid, long grace_ms);

/*
 * A process's identity: pid plus a start id, a number that no other process
 * with that pid has had since the machine booted (Linux: the start time in
 * clock ticks after boot, field 22 of /proc/<pid>/stat; Windows: the
 * creation FILETIME of GetProcessTimes). A pid alone may name an unrelated
 * process once the one recorded has exited.
 */
struct lleval_proc_id {
    long pid;
    uint64_t start;
};

/* The identity of the running process pid into *id. Returns 0, or LLEVAL_EIO
 * when there is no such process or the platform cannot tell. */
int lleval_proc_identify(long pid, struct lleval_proc_id *id);

/* True when the process id names is running (a zombie counts) and is that
 * same process: same pid and same start id. */
bool lleval_proc_is_alive(const struct lleval_proc_id *id);

/*
 * Stops a process that is not our child (one a killed lleval left behind),
 * only when it is the process id names (pid and start id; see above):
 * SIGTERM, up to grace_ms for it to go, then SIGKILL. It is not reaped (its
 * parent or init does that). Linux holds a pidfd from the identity check to
 * the last signal, so a pid reused in between is never signalled. Returns
 * true when it was that process (and was signalled), false when no such
 * process runs (then nothing was touched).
 */
bool lleval_proc_terminate_other(const struct lleval_proc_id *id, long grace_ms);

/* Writes "exit status 1", "killed by signal 9, SIGKILL: the out-of-memory
 * killer or a kill -9" and the like into buf; returns buf. */
const char *lleval_proc_describe(const struct lleval_proc_exit *ex, char *buf, size_t size);

/* The program name (argv[0]) a running process pid was started with, appended
 * to out. Returns 0, or LLEVAL_EIO when unknown (another OS, a kernel thread,
 * a zombie, a process in the middle of exec, no permission). */
int lleval_proc_argv0(long pid, struct lleval_sb *out);

/* ---- lock files ----------------------------------------------------------------- */

/*
 * A lock file marks a resource (a run) owned by one process. The lock is the
 * kernel's, not the file's: flock(LOCK_EX) on an open descriptor (Windows:
 * LockFileEx on a byte far past the text, so the text stays readable), held
 * for as long as the handle lives and released by the kernel when its holder
 * dies, kill -9 included; there is no stale state to take over. The text in
 * the file, "<pid> <start id>\n" of the holder (lleval_proc_identify), is
 * information only: who holds it, for messages.
 */
struct lleval_lock;

/*
 * Takes the lock at path without waiting: opens path (created 0666 less the
 * umask; a symbolic link or anything but a regular file is refused), locks
 * it, then writes this process's identity into it. Returns 0 with *out owned
 * (lleval_lock_release); 1 when another holder has it (*out NULL, err not
 * touched; *holder gets the holder's pid, read from the file: waited for up
 * to a second while a new holder has not written it yet; 0 when it is still
 * unknown, and our own pid when another handle of this process holds it);
 * LLEVAL_EIO with "cannot create lock 'path': reason" and the like.
 */
int lleval_lock_acquire(const char *path, struct lleval_lock **out, long *holder,
                        struct lleval_err *err);

/*
 * Releases the lock and frees the handle; NULL is fine. POSIX removes the
 * file first, while still holding it: that is race-free because only a
 * holder removes it, and lleval_lock_acquire keeps a lock only after
 * checking that path still names the file it locked (else it starts over on
 * the new file). Windows empties the file instead (an open file cannot be
 * removed there).
 */
void lleval_lock_release(struct lleval_lock *lock);

/*
 * True when some handle, of this process or another, holds the lock at path
 * now: tested by a non-blocking shared try on a descriptor of its own,
 * released at once (a lleval_lock_acquire meeting that instant retries). A
 * missing file is not held.
 */
bool lleval_lock_is_held(const char *path);

/* The pid written in the lock file at path, or 0 when there is none or it is
 * not a pid. Information only: it may name a process that has since exited;
 * lleval_lock_is_held says whether the lock is held. */
long lleval_lock_owner(const char *path);

/* ---- programs and ports ---------------------------------------------------------- */

/* True when path is a file this process may execute (Windows: a file, not a
 * folder, that exists: the loader decides the rest). */
bool lleval_is_executable(const char *path);
/* dir/name (owned) when it is an executable file, else NULL; NULL or ""
 * dir gives NULL. Windows also tries name.exe when name has no extension. */
char *lleval_executable_in(const char *dir, const char *name);
/* The first executable name in the directories of $PATH (owned), or NULL. */
char *lleval_find_in_path(const char *name);

/*
 * The directory of llama.cpp binaries that scripts/provision-llama.sh fills
 * (owned): $LLEVAL_CACHE, else $XDG_CACHE_HOME/lleval, else ~/.cache/lleval;
 * then llama.cpp-nlc-3.21.1/bin. Windows: $LLEVAL_CACHE, else
 * %LOCALAPPDATA%\lleval. NULL when none of those variables is set.
 */
char *lleval_llama_cache_bin_dir(void);
/* That directory as docs and messages name it. */
#ifdef _WIN32
#define LLEVAL_LLAMA_CACHE_HINT "%LOCALAPPDATA%\\lleval\\llama.cpp-nlc-3.21.1\\bin"
#else
#define LLEVAL_LLAMA_CACHE_HINT "~/.cache/lleval/llama.cpp-nlc-3.21.1/bin"
#endif

/* A free TCP port on 127.0.0.1 (bind to port 0, read it, close), or
 * LLEVAL_EIO with err saying "... to find a free port for <purpose>". */
int lleval_free_loopback_port(const char *purpose, struct lleval_err *err);

/* ---- clocks --------------------------------------------------------------------- */

/* Wall-clock time in seconds since the epoch, and a monotonic clock. */
double lleval_now(void);
double lleval_monotonic(void);
/* Formats t as UTC "2024-09-09T12:34:56Z" into buf; returns buf. */
const char *lleval_fmt_utc(char *buf, size_t size, double t);

/* ---- dynamic libraries (dlopen; LoadLibrary on Windows), for NVML ---------------- */

typedef void (*lleval_dl_fn)(void);
/* Loads a shared library by file name or path (Windows: %VARIABLE%s in it are
 * expanded, for "%ProgramFiles%\\..."). Returns an opaque handle, or
 * NULL with the loader's reason written into why (when not NULL). */
void *lleval_dl_open(const char *name, char *why, size_t why_size);
/* The function called name in lib, or NULL; cast it to the function's type. */
lleval_dl_fn lleval_dl_sym(void *lib, const char *name);
/* Unloads lib; NULL is fine. */
void lleval_dl_close(void *lib);
/* The function called name in the program or a library it was started with
 * (POSIX: the global scope), or NULL; never loads anything. Windows: NULL. */
lleval_dl_fn lleval_dl_sym_loaded(const char *name);

/* ---- host facts for telemetry: return 0, or LLEVAL_EIO when unknown here ---------- */

/* CPU time of the whole machine since boot, in clock ticks: busy (all but
 * idle and iowait) and total. */
int lleval_host_cpu_times(uint64_t *busy, uint64_t *total);
/* Resident memory (VmRSS) of process pid, in KiB. */
int lleval_proc_rss_kib(long pid, uint64_t *kib);
/* Physical memory of the machine, in bytes. */
int lleval_host_mem_bytes(uint64_t *bytes);
/* Logical processors online (max_concurrent_jobs auto: a CPU llama-server's threads). */
int lleval_host_cpus(long *n);

#endif
