/* Internal to the POSIX platform layer: what posix.c and posix_proc.c share. */
#ifndef LLEVAL_PLATFORM_POSIX_INT_H
#define LLEVAL_PLATFORM_POSIX_INT_H

#include <stddef.h>
#include <sys/types.h>

/* Reads up to size-1 bytes of a small file (a /proc file, a lock or pid file)
 * into buf, NUL-terminated, without allocating and without following a
 * symbolic link: telemetry calls it on every sample. Returns the length, or
 * -1 when the file cannot be opened. */
ssize_t lleval_posix_read_small(const char *path, char *buf, size_t size);

#endif
