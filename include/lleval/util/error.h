/*
 * Error codes and the error object that every library call fills.
 *
 * Library functions never print and never exit: an action returns 0 or a
 * negative LLEVAL_E* code and, on failure, writes a one-line message into a
 * caller-provided struct lleval_err. The message says what failed, where
 * (file:line:column, endpoint, custom_id) and what to do next. The CLI maps
 * codes to exit statuses with lleval_exit_code().
 */
#ifndef LLEVAL_ERROR_H
#define LLEVAL_ERROR_H

#include <stdarg.h>

enum lleval_code {
    LLEVAL_OK = 0,
    LLEVAL_EFAIL = -1,   /* finished, but requests failed / a threshold was missed: exit 1 */
    LLEVAL_EINVAL = -2,  /* usage, config or bad input data: exit 2 */
    LLEVAL_EENGINE = -3, /* engine unreachable or model missing: exit 3 */
    LLEVAL_EIO = -4,     /* file system or other I/O error: exit 4 */
    LLEVAL_EINTR = -130, /* interrupted by a signal or a stop request: exit 130 */
};

#define LLEVAL_ERR_MAX 1024

struct lleval_err {
    int code;
    char msg[LLEVAL_ERR_MAX];
};

#define LLEVAL_ERR_INIT                                                                            \
    {                                                                                              \
        0,                                                                                         \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

#if defined(__MINGW32__)
/* mingw's "printf" archetype is msvcrt's, without %zu: the Windows build
 * defines __USE_MINGW_ANSI_STDIO=1 so the C99 formats work at run time */
#define LLEVAL_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#elif defined(__GNUC__)
#define LLEVAL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LLEVAL_PRINTF(a, b)
#endif

/* Sets err (when not NULL) and returns code, so callers can write
 * `return lleval_err_set(err, LLEVAL_EINVAL, "...")`. */
int lleval_err_set(struct lleval_err *err, int code, const char *fmt, ...) LLEVAL_PRINTF(3, 4);
int lleval_err_vset(struct lleval_err *err, int code, const char *fmt, va_list ap);

/* Prepends "prefix: " to an existing message (e.g. the file name). Returns err->code. */
int lleval_err_prefix(struct lleval_err *err, const char *fmt, ...) LLEVAL_PRINTF(2, 3);

/* Sets err from errno with "what 'path': strerror" and returns LLEVAL_EIO. */
int lleval_err_errno(struct lleval_err *err, const char *what, const char *path);

/* Exit status for a return code (0, 1, 2, 3, 4, 130). */
int lleval_exit_code(int code);

#endif
