/*
 * Internal to the Windows platform layer: what win32.c, win32_open.c and
 * win32_proc.c share. UTF-8 inside lleval, UTF-16 at the Win32 boundary: every
 * path crosses through lleval_w32_wide, every name coming back through
 * lleval_w32_utf8.
 */
#ifndef LLEVAL_PLATFORM_WIN32_INT_H
#define LLEVAL_PLATFORM_WIN32_INT_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
/* mingw's io.h has inline functions that call strncpy, which banned.h (forced
 * in before everything) bans: let them have it, for this header only */
#pragma push_macro("strncpy")
#undef strncpy
#include <fcntl.h>
#include <io.h>
#pragma pop_macro("strncpy")
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "lleval/util/error.h"

/* The UTF-16 form of the UTF-8 string s (owned; free it). Invalid UTF-8 is
 * replaced by U+FFFD (such a path then names no file). Never NULL. */
wchar_t *lleval_w32_wide(const char *s);

/* The UTF-8 form of the UTF-16 string w (owned; free it). Never NULL. */
char *lleval_w32_utf8(const wchar_t *w);

/* The value of environment variable name in UTF-8 (owned), or NULL when it
 * is not set. _wgetenv, so a %LOCALAPPDATA% under C:\Users\Zoë comes back
 * right whatever the ANSI code page is. */
char *lleval_w32_getenv(const char *name);

/* Sets errno from a Win32 error code (GetLastError), for callers that word
 * errors with strerror(errno) as the POSIX layer does. Returns -1. */
int lleval_w32_set_errno(DWORD code);

/* Sets err to "<what> 'path': <the system's message for code>" and returns
 * LLEVAL_EIO. */
int lleval_w32_err(struct lleval_err *err, const char *what, const char *path, DWORD code);

/* The system's message for a Win32 error code, in UTF-8, into buf (trailing
 * newline and period removed); returns buf. */
const char *lleval_w32_strerror(DWORD code, char *buf, size_t size);

/* A C stream over an open handle (taken: fclose closes it). mode "rb" or
 * "wb". NULL (handle closed) on failure with errno set. */
FILE *lleval_w32_fdopen(HANDLE h, const char *mode);

/* The handle under a C stream (borrowed). */
HANDLE lleval_w32_handle(FILE *f);

/*
 * CreateFileW (path UTF-8, share read, write and delete) opening the file as
 * what it claims to be: inside a run directory (lleval_path_in_run_dir) a
 * reparse point (a symbolic link or junction) or anything but a regular disk
 * file (a folder, a pipe, a device) is refused; elsewhere it is opened as
 * CreateFileW would, links followed. Returns 0 with *h (owned), LLEVAL_EIO
 * with err set for a refusal, or 1 with the Win32 error in *code when the
 * open failed (the caller words that).
 */
int lleval_w32_open(const char *path, DWORD access, DWORD disposition, HANDLE *h, DWORD *code,
                    struct lleval_err *err);

/* MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH),
 * retried for up to two seconds while another program has `to` open without
 * sharing delete (a virus scanner, an indexer, an editor). Returns 0, or the
 * Win32 error. */
DWORD lleval_w32_replace(const char *from, const char *to);

/* A FILETIME as one 64-bit count of 100 ns. */
static inline unsigned long long lleval_w32_ft(FILETIME ft)
{
    return ((unsigned long long)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

#endif
