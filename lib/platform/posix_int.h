/* Internal to the POSIX platform layer: what posix.c and posix_proc.c share. */
#ifndef LLEVAL_PLATFORM_POSIX_INT_H
#define LLEVAL_PLATFORM_POSIX_INT_H

#include <stddef.h>
#include <sys/types.h>
#include "lleval/util/error.h"

/* Reads up to size-1 bytes of a small file (a /proc file, a lock or pid file)
 * into buf, NUL-terminated, without allocating and without following a
 * symbolic link: telemetry calls it on every sample. Returns the length, or
 * -1 when the file cannot be opened. */
ssize_t lleval_posix_read_small(const char *path, char *buf, size_t size);

/*
 * open(2) with flags (O_CLOEXEC added) and mode, as what the file claims to
 * be: inside a run directory (lleval_path_in_run_dir) a symbolic link or a
 * file that is not regular is refused, without blocking on a FIFO; elsewhere
 * both are opened as open(2) would. Returns 0 with *fd (owned), LLEVAL_EIO
 * with err set for a refusal, or 1 with errno set when open(2) failed (the
 * caller words that; *fd is -1).
 */
int lleval_posix_open(const char *path, int flags, mode_t mode, int *fd, struct lleval_err *err);

#endif
