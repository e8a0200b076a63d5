/* Error object helpers and the code -> exit status mapping. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "lleval/util/error.h"

int lleval_err_vset(struct lleval_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return code;
}

int lleval_err_set(struct lleval_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lleval_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int lleval_err_prefix(struct lleval_err *err, const char *fmt, ...)
{
    char prefix[LLEVAL_ERR_MAX];
    char old[LLEVAL_ERR_MAX];
    va_list ap;

    if (!err)
        return LLEVAL_EFAIL;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    return err->code;
}

int lleval_err_errno(struct lleval_err *err, const char *what, const char *path)
{
    return lleval_err_set(err, LLEVAL_EIO, "%s '%s': %s", what, path, strerror(errno));
}

int lleval_exit_code(int code)
{
    switch (code) {
    case LLEVAL_OK:
        return 0;
    case LLEVAL_EINVAL:
        return 2;
    case LLEVAL_EENGINE:
        return 3;
    case LLEVAL_EIO:
        return 4;
    case LLEVAL_EINTR:
        return 130;
    default:
        return 1;
    }
}
