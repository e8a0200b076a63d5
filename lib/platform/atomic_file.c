/*
 * Atomic writes in several pieces (see fs.h, lleval_atomic_open): a temp file
 * beside the target, written as data comes, fsynced and renamed over the
 * target only when the writer commits. The same hooks as
 * lleval_write_file_atomic() (portable.c), so the same files are refused.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "portable_int.h"

int lleval_atomic_open(struct lleval_atomic_file *af, const char *path, struct lleval_err *err)
{
    int rc;
    memset(af, 0, sizeof(*af));
    rc = lleval_plat_check_target(path, err);
    if (rc)
        return rc;
    af->path = lleval_xstrdup(path);
    af->tmp = lleval_xasprintf("%s.tmp.%ld", path, lleval_getpid());
    rc = lleval_fopen_new(af->tmp, &af->f, err);
    if (rc) {
        free(af->path);
        free(af->tmp);
        memset(af, 0, sizeof(*af));
    }
    return rc;
}

int lleval_atomic_write(struct lleval_atomic_file *af, const void *data, size_t len,
                        struct lleval_err *err)
{
    if (!af->f)
        return lleval_err_set(err, LLEVAL_EIO, "cannot write '%s': not open",
                              af->tmp ? af->tmp : "");
    if (len && fwrite(data, 1, len, af->f) != len)
        return lleval_err_errno(err, "cannot write", af->tmp);
    return 0;
}

int lleval_atomic_finish(struct lleval_atomic_file *af, struct lleval_err *err)
{
    int rc;
    if (!af->f)
        return 0;
    rc = lleval_fsync_file(af->f, af->tmp, err);
    if (fclose(af->f) && !rc)
        rc = lleval_err_errno(err, "cannot close", af->tmp);
    af->f = NULL;
    return rc;
}

static void release(struct lleval_atomic_file *af)
{
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof(*af));
}

int lleval_atomic_commit(struct lleval_atomic_file *af, struct lleval_err *err)
{
    int rc;
    if (!af->tmp)
        return 0;
    rc = lleval_atomic_finish(af, err);
    if (!rc)
        rc = lleval_plat_replace(af->tmp, af->path, err);
    if (rc)
        lleval_plat_remove(af->tmp);
    release(af);
    return rc;
}

void lleval_atomic_abort(struct lleval_atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    af->f = NULL;
    if (af->tmp)
        lleval_plat_remove(af->tmp);
    release(af);
}
