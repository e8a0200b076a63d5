/* Error object helpers and the code -> exit status mapping. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "lleval/util/error.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"

/* Stores sb, redacted (no secret is ever in a message), as the message, cut to
 * LLEVAL_ERR_MAX - 1 bytes at a UTF-8 character boundary when longer (a message
 * is never cut mid-character). */
static void set_msg(struct lleval_err *err, struct lleval_sb *sb)
{
    const char *s;
    size_t len;
    lleval_redact_sb(sb);
    s = sb->buf;
    len = sb->len;
    if (len >= sizeof(err->msg)) {
        len = sizeof(err->msg) - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memmove(err->msg, s, len);
    err->msg[len] = '\0';
}

int lleval_err_vset(struct lleval_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_sb_vaddf(&sb, fmt, ap);
        err->code = code;
        set_msg(err, &sb);
        lleval_sb_release(&sb);
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
    struct lleval_sb sb = LLEVAL_SB_INIT;
    va_list ap;

    if (!err)
        return LLEVAL_EFAIL;
    va_start(ap, fmt);
    lleval_sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    lleval_sb_adds(&sb, ": ");
    lleval_sb_adds(&sb, err->msg);
    set_msg(err, &sb);
    lleval_sb_release(&sb);
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
