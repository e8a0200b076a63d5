/*
 * The part of the platform layer that is the same on every platform: it uses
 * only standard C and the platform's own calls (lleval_fopen_read), so
 * posix*.c and win32*.c keep only what differs. Built on every platform.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "portable_int.h"

/* ---- files and directories ------------------------------------------------------ */

/* True when path is a regular file (not a link) that holds exactly data. Read
 * in chunks: memory does not grow with the file. */
static bool holds(const char *path, const void *data, size_t len)
{
    const unsigned char *want = data;
    unsigned char chunk[65536];
    size_t off = 0, n;
    FILE *f;
    bool same = true;
    struct lleval_err ignored = LLEVAL_ERR_INIT;

    if (len == 0 || lleval_plat_regular_size(path) != (int64_t)len ||
        lleval_fopen_read(path, &f, &ignored))
        return false;
    while (same && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        same = off + n <= len && !memcmp(chunk, want + off, n);
        off += n;
    }
    same = same && off == len && !ferror(f);
    fclose(f);
    return same;
}

int lleval_write_file_atomic(const char *path, const void *data, size_t len, struct lleval_err *err)
{
    struct lleval_atomic_file af;
    int rc;

    /* the file holds these bytes already (a prepare or a report made again
     * from the same input): a rewrite would only cost a disk flush. Only a
     * regular file can, and the target check lets every regular file pass. */
    if (holds(path, data, len))
        return 0;
    rc = lleval_atomic_open(&af, path, err);
    if (rc)
        return rc;
    rc = lleval_atomic_write(&af, data, len, err);
    if (rc)
        lleval_atomic_abort(&af);
    else
        rc = lleval_atomic_commit(&af, err);
    return rc;
}

int lleval_copy_file_atomic(const char *from, const char *to, struct lleval_err *err)
{
    struct lleval_atomic_file af;
    FILE *in = NULL;
    char *buf;
    size_t n;
    int rc = lleval_fopen_read(from, &in, err);

    if (!rc)
        rc = lleval_atomic_open(&af, to, err);
    if (rc) {
        if (in)
            fclose(in);
        return rc;
    }
    buf = lleval_xmalloc(1 << 16);
    while (!rc && (n = fread(buf, 1, 1 << 16, in)) > 0)
        rc = lleval_atomic_write(&af, buf, n, err);
    if (!rc && ferror(in))
        rc = lleval_err_errno(err, "cannot read", from);
    if (rc)
        lleval_atomic_abort(&af);
    else
        rc = lleval_atomic_commit(&af, err);
    fclose(in);
    free(buf);
    return rc;
}

int lleval_read_file(const char *path, struct lleval_sb *out, size_t max, struct lleval_err *err)
{
    FILE *f;
    char chunk[65536];
    size_t n, total = 0;
    int rc = lleval_fopen_read(path, &f, err);

    if (rc)
        return rc;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        total += n;
        if (max && total > max) {
            rc = lleval_err_set(err, LLEVAL_EINVAL, "'%s' is larger than %zu bytes", path, max);
            goto out;
        }
        lleval_sb_add(out, chunk, n);
    }
    if (ferror(f))
        rc = lleval_err_errno(err, "cannot read", path);
out:
    fclose(f);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void lleval_plat_sort_names(struct lleval_dir_list *list)
{
    if (list->n)
        qsort(list->names, list->n, sizeof(*list->names), cmp_names);
}

void lleval_dir_list_release(struct lleval_dir_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->names[i]);
    free(list->names);
    memset(list, 0, sizeof(*list));
}

/* ---- line reader (lleval_lines_next() is per platform) --------------------------- */

/* The line reader's stdio buffer: 64 KiB, as the CSV reader reads, where
 * stdio's default (4 KiB on glibc) made reading a 63 MB results file 15,000
 * read() calls. Given to setvbuf (glibc sizes a buffer it allocates itself
 * by the file system's block, whatever the size asked). */
#define LINES_BUF (64u * 1024u)

int lleval_lines_open(struct lleval_lines *lr, const char *path, struct lleval_err *err)
{
    int rc;
    memset(lr, 0, sizeof(*lr));
    lr->path = path;
    rc = lleval_fopen_read(path, &lr->f, err);
    if (!rc) {
        lr->buf = lleval_xmalloc(LINES_BUF);
        if (setvbuf(lr->f, lr->buf, _IOFBF, LINES_BUF)) { /* stdio keeps its own */
            free(lr->buf);
            lr->buf = NULL;
        }
    }
    return rc;
}

void lleval_lines_close(struct lleval_lines *lr)
{
    if (lr->f)
        fclose(lr->f);
    free(lr->buf); /* after the stream that used it */
    free(lr->line);
    memset(lr, 0, sizeof(*lr));
}

/* ---- process identity files ----------------------------------------------------- */

bool lleval_plat_parse_identity(const char *text, struct lleval_proc_id *id)
{
    char *end;
    long pid;
    unsigned long long start = 0;
    errno = 0;
    pid = strtol(text, &end, 10);
    if (end == text || errno || pid <= 0 || pid > (1L << 30))
        return false;
    if (*end == ' ') {
        const char *s = end + 1;
        errno = 0;
        start = strtoull(s, &end, 10);
        if (end == s || errno)
            return false;
    }
    while (*end == '\n' || *end == '\r' || *end == ' ')
        end++;
    if (*end)
        return false;
    id->pid = pid;
    id->start = (uint64_t)start;
    return true;
}
