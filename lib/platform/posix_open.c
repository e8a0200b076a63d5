/*
 * The platform layer (POSIX), files opened as what they claim to be: inside a
 * run directory lleval refuses symbolic links and files that are not regular
 * (a planted link would make a journal repair cut another file; a FIFO would
 * hang a reader), while datasets and configs elsewhere may be links or pipes
 * (docs/design.md, "Files inside a run directory"). fs.h declares the public
 * part, posix_int.h what posix.c shares.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "lleval/platform/fs.h"
#include "posix_int.h"

/* ---- files opened as what they claim to be ------------------------------------- */

/* True when dir holds an entry called name, of any type (a link is not followed). */
static bool has_entry(const char *dir, const char *name)
{
    char *p = lleval_path_join(dir, name);
    struct stat st;
    bool yes = lstat(p, &st) == 0;
    free(p);
    return yes;
}

bool lleval_path_in_run_dir(const char *path)
{
    char *parent = lleval_path_dirname(path);
    char *dir = realpath(parent, NULL);
    bool found = false;

    free(parent);
    while (dir && !found) {
        char *slash = strrchr(dir, '/');
        found = has_entry(dir, "config.resolved.yaml") &&
                (has_entry(dir, "manifest.json") || has_entry(dir, "lock"));
        if (!slash || slash == dir)
            break;
        *slash = '\0';
    }
    free(dir);
    return found;
}

static const char *kind_name(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    return "a special file";
}

/* The refusal of a link or non-regular file inside a run directory: LLEVAL_EIO. */
static int refuse_kind(const char *path, mode_t mode, struct lleval_err *err)
{
    if (S_ISLNK(mode))
        return lleval_err_set(err, LLEVAL_EIO,
                              "'%s' is a symbolic link: lleval does not follow links inside a "
                              "run directory; replace it with the file",
                              path);
    return lleval_err_set(err, LLEVAL_EIO,
                          "'%s' is %s, not a regular file: lleval opens only regular files "
                          "inside a run directory; replace it with the file",
                          path, kind_name(mode));
}

/* See posix_int.h. */
int lleval_posix_open(const char *path, int flags, mode_t mode, int *fd, struct lleval_err *err)
{
    struct stat st;
    int fl;

    *fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);
    if (*fd < 0) {
        int saved = errno;
        /* ELOOP (EMLINK on the BSDs): a link; ENXIO: a FIFO without a reader */
        if ((saved == ELOOP || saved == EMLINK || saved == ENXIO) && !lstat(path, &st) &&
            !S_ISREG(st.st_mode)) {
            if (lleval_path_in_run_dir(path))
                return refuse_kind(path, st.st_mode, err);
            *fd = open(path, flags | O_CLOEXEC, mode);
            return *fd < 0 ? 1 : 0;
        }
        errno = saved;
        return 1;
    }
    if (!fstat(*fd, &st) && !S_ISREG(st.st_mode)) {
        close(*fd);
        *fd = -1;
        if (lleval_path_in_run_dir(path))
            return refuse_kind(path, st.st_mode, err);
        *fd = open(path, flags | O_CLOEXEC, mode); /* blocking, as before */
        return *fd < 0 ? 1 : 0;
    }
    fl = fcntl(*fd, F_GETFL);
    if (fl >= 0)
        fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK);
    return 0;
}

int lleval_fopen_read(const char *path, FILE **out, struct lleval_err *err)
{
    int fd, rc = lleval_posix_open(path, O_RDONLY, 0, &fd, err);

    *out = NULL;
    if (rc == 1)
        return lleval_err_errno(err, "cannot open", path);
    if (rc)
        return rc;
    *out = fdopen(fd, "rb");
    if (!*out) {
        rc = lleval_err_errno(err, "cannot open", path);
        close(fd);
    }
    return rc;
}

int lleval_fopen_new(const char *path, FILE **out, struct lleval_err *err)
{
    int fd;

    *out = NULL;
    if (unlink(path) && errno != ENOENT)
        return lleval_err_errno(err, "cannot remove", path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return lleval_err_errno(err, "cannot create", path);
    *out = fdopen(fd, "wb");
    if (!*out) {
        int rc = lleval_err_errno(err, "cannot create", path);
        close(fd);
        unlink(path);
        return rc;
    }
    return 0;
}

/* See portable_int.h. */
int lleval_plat_check_target(const char *path, struct lleval_err *err)
{
    struct stat st;
    if (!lstat(path, &st) && !S_ISREG(st.st_mode) && lleval_path_in_run_dir(path))
        return refuse_kind(path, st.st_mode, err);
    return 0;
}

/* See portable_int.h: lstat, so a link is not a regular file. */
int64_t lleval_plat_regular_size(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

bool lleval_is_real_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
