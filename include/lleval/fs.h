/*
 * Files and processes: whole-file reads with a size bound, atomic writes
 * (temp file + fsync + rename + directory fsync), mkdir -p, a line reader
 * that counts lines, and other platform concerns. Platform-specific code
 * lives in lib/platform.c only, so a Windows port is one file.
 */
#ifndef LLEVAL_FS_H
#define LLEVAL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lleval/error.h"
#include "lleval/util.h"

/* Reads the whole file into out (appends). Fails with LLEVAL_EINVAL when it is
 * larger than max bytes (0 = no bound). */
int lleval_read_file(const char *path, struct lleval_sb *out, size_t max, struct lleval_err *err);

/* Writes data to path atomically: readers see the old or the new file, never a torn one. */
int lleval_write_file_atomic(const char *path, const void *data, size_t len,
                             struct lleval_err *err);

/* Creates path and its parents (like mkdir -p). */
int lleval_mkdirs(const char *path, struct lleval_err *err);

/* Removes a directory tree (for temporary runs). */
int lleval_remove_tree(const char *path, struct lleval_err *err);

bool lleval_path_exists(const char *path);
bool lleval_is_dir(const char *path);

/* Returns an owned "a/b". */
char *lleval_path_join(const char *a, const char *b);
/* Returns an owned copy of the directory part ("." when none). */
char *lleval_path_dirname(const char *path);

/* fsyncs an open stdio stream (after fflush). */
int lleval_fsync_file(FILE *f, const char *path, struct lleval_err *err);
int lleval_fsync_dir(const char *dir, struct lleval_err *err);

/*
 * Line reader: yields one line at a time without its newline (and without a
 * trailing \r), counting lines from 1. `torn` is set when the last line of
 * the file has no newline (a crash mid-write).
 */
struct lleval_lines {
    FILE *f;
    char *line;
    size_t cap;
    size_t len;
    long lineno;
    bool torn;
    const char *path;
};
int lleval_lines_open(struct lleval_lines *lr, const char *path, struct lleval_err *err);
/* Returns 1 with a line, 0 at the end, negative on error. */
int lleval_lines_next(struct lleval_lines *lr, struct lleval_err *err);
void lleval_lines_close(struct lleval_lines *lr);

/* Wall-clock time in seconds since the epoch, and a monotonic clock. */
double lleval_now(void);
double lleval_monotonic(void);
/* Formats local time as "2024-09-09T12:34:56Z"-style UTC into buf. */
const char *lleval_fmt_utc(char *buf, size_t size, double t);

/* Process helpers. */
long lleval_getpid(void);
bool lleval_pid_alive(long pid);
void lleval_sleep_ms(long ms);

/* Dynamic libraries (dlopen; LoadLibrary on Windows), for NVML. */
typedef void (*lleval_dl_fn)(void);
/* Loads a shared library by file name or path. Returns an opaque handle, or
 * NULL with the loader's reason written into why (when not NULL). */
void *lleval_dl_open(const char *name, char *why, size_t why_size);
/* The function called name in lib, or NULL; cast it to the function's type. */
lleval_dl_fn lleval_dl_sym(void *lib, const char *name);
/* Unloads lib; NULL is fine. */
void lleval_dl_close(void *lib);

/* Host facts for telemetry: return 0, or LLEVAL_EIO when unknown here. */
/* CPU time of the whole machine since boot, in clock ticks: busy (all but
 * idle and iowait) and total. */
int lleval_host_cpu_times(uint64_t *busy, uint64_t *total);
/* Resident memory (VmRSS) of process pid, in KiB. */
int lleval_proc_rss_kib(long pid, uint64_t *kib);

#endif
