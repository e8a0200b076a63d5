/*
 * Append-only result journals with torn-tail repair (see journal.h). The
 * file itself is a platform append-only file (lleval_afile in fs.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/run/journal.h"
#include "lleval/run/rundir.h"
#include "lleval/util/idset.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

struct lleval_journal {
    char *path;
    struct lleval_afile *file; /* NULL until opened */
    struct lleval_idset seen;  /* the custom_ids answered (as hashes) */
    struct lleval_journal_stats st;
    bool dirty;
    struct lleval_sb line;
    struct lleval_sb pend; /* lines added, not yet written (lleval_journal_add_text) */
    bool sealed;           /* lleval_journal_seal: no more lines in this session */
};

/* Pending lines past this are written at once, and a buffer grown past it is
 * given back after its write. */
#define PEND_MAX (256u * 1024u)

/* Scans the existing file: loads custom_ids, returns the offset after the
 * last complete, valid line in *good_end. */
static int scan(struct lleval_journal *j, uint64_t *good_end, struct lleval_err *err)
{
    struct lleval_lines lr;
    uint64_t offset = 0;
    int rc, more;
    bool dup;

    *good_end = 0;
    if (!lleval_path_exists(j->path))
        return 0;
    rc = lleval_lines_open(&lr, j->path, err);
    if (rc)
        return rc;
    while ((more = lleval_lines_next(&lr, err)) > 0) {
        json_error_t jerr;
        json_t *obj;
        const char *cid;
        long lineno = lr.lineno;
        bool last;
        uint64_t line_end = lr.end;
        int c = fgetc(lr.f);
        last = c == EOF;
        if (!last)
            ungetc(c, lr.f);

        if (lr.torn) /* no newline: a write cut short by a crash */
            break;
        obj = json_loadb(lr.line, lr.len, 0, &jerr);
        cid = lleval_result_custom_id(obj);
        if (!cid) {
            json_decref(obj);
            if (last)
                break; /* a damaged last line is a torn write too */
            lleval_lines_close(&lr);
            return lleval_err_set(
                err, LLEVAL_EIO,
                "%s:%ld: damaged result line (not a JSON object with a custom_id); %s", j->path,
                lineno, LLEVAL_RUN_FIX_JOURNAL);
        }
        if (lleval_idset_has(&j->seen, cid)) {
            lleval_err_set(err, LLEVAL_EIO,
                           "%s:%ld: custom_id '%s' appears twice (the journal was edited "
                           "by hand); remove one of the two lines or restore the file from a "
                           "backup",
                           j->path, lineno, cid);
            json_decref(obj);
            lleval_lines_close(&lr);
            return LLEVAL_EIO;
        }
        lleval_idset_put(&j->seen, lleval_idset_hash(cid), 1, &dup);
        j->st.lines++;
        if (!lleval_result_failed(obj))
            j->st.ok++;
        json_decref(obj);
        offset = line_end;
    }
    lleval_lines_close(&lr);
    if (more < 0)
        return more;
    *good_end = offset;
    return 0;
}

int lleval_journal_open(const char *path, struct lleval_journal **out, struct lleval_err *err)
{
    struct lleval_journal *j = lleval_xcalloc(1, sizeof(*j));
    uint64_t good_end, size;
    int rc;

    *out = NULL;
    j->path = lleval_xstrdup(path);
    lleval_sb_init(&j->line, 0);
    lleval_sb_init(&j->pend, 0);
    rc = scan(j, &good_end, err);
    if (rc)
        goto fail;
    rc = lleval_afile_open(path, "journal", &j->file, err);
    if (!rc)
        rc = lleval_afile_size(j->file, &size, err);
    if (rc)
        goto fail;
    if (size > good_end) {
        /* cut back to the last complete line */
        j->st.repaired = (size_t)(size - good_end);
        rc = lleval_afile_truncate(j->file, good_end, err);
        if (rc)
            goto fail;
    }
    *out = j;
    return 0;
fail:
    lleval_journal_close(j, NULL);
    return rc;
}

bool lleval_journal_has(const struct lleval_journal *j, const char *custom_id)
{
    return lleval_idset_has(&j->seen, custom_id);
}

/* The checks every added line passes: one line, a custom_id not answered. */
static int check_line(const struct lleval_journal *j, const char *custom_id, const char *text,
                      size_t len, struct lleval_err *err)
{
    if (!custom_id)
        return lleval_err_set(err, LLEVAL_EINVAL, "result line without a custom_id");
    if (j->sealed)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: the result for '%s' came after the results were combined "
                              "(internal error; resume the run to ask it again)",
                              j->path, custom_id);
    if (!len || text[len - 1] != '\n' || memchr(text, '\n', len - 1))
        return lleval_err_set(err, LLEVAL_EINVAL, "%s: the result for '%s' is not one line",
                              j->path, custom_id);
    if (lleval_journal_has(j, custom_id))
        return lleval_err_set(err, LLEVAL_EINVAL, "%s: custom_id '%s' already has a result",
                              j->path, custom_id);
    return 0;
}

/* Counts a line that is written or pending. */
static void count_line(struct lleval_journal *j, const char *custom_id, bool failed)
{
    bool dup;
    lleval_idset_put(&j->seen, lleval_idset_hash(custom_id), 1, &dup);
    j->st.lines++;
    if (!failed)
        j->st.ok++;
    j->dirty = true;
}

int lleval_journal_flush(struct lleval_journal *j, struct lleval_err *err)
{
    int rc;
    if (!j->pend.len)
        return 0;
    /* one write for the lines, so a crash can only tear the last one */
    rc = lleval_afile_append(j->file, j->pend.buf, j->pend.len, err);
    if (j->pend.alloc > PEND_MAX)
        lleval_sb_release(&j->pend);
    else
        lleval_sb_reset(&j->pend);
    return rc;
}

bool lleval_journal_pending(const struct lleval_journal *j)
{
    return j && j->pend.len;
}

int lleval_journal_add_text(struct lleval_journal *j, const char *custom_id, bool failed,
                            const char *text, size_t len, struct lleval_err *err)
{
    int rc = check_line(j, custom_id, text, len, err);
    if (rc)
        return rc;
    if (j->pend.len + len > PEND_MAX) {
        rc = lleval_journal_flush(j, err);
        if (!rc && len > PEND_MAX)
            rc = lleval_afile_append(j->file, text, len, err);
        else if (!rc)
            lleval_sb_add(&j->pend, text, len);
    } else {
        lleval_sb_add(&j->pend, text, len);
    }
    if (rc)
        return rc;
    count_line(j, custom_id, failed);
    return 0;
}

int lleval_journal_append_text(struct lleval_journal *j, const char *custom_id, bool failed,
                               const char *text, size_t len, struct lleval_err *err)
{
    int rc = check_line(j, custom_id, text, len, err);
    if (!rc)
        rc = lleval_journal_flush(j, err); /* the lines added before go first */
    /* one write for the whole line, so a crash can only tear the last one */
    if (!rc)
        rc = lleval_afile_append(j->file, text, len, err);
    if (rc)
        return rc;
    count_line(j, custom_id, failed);
    return 0;
}

int lleval_journal_append(struct lleval_journal *j, const json_t *line, struct lleval_err *err)
{
    const char *cid = lleval_result_custom_id(line);

    if (!cid)
        return lleval_err_set(err, LLEVAL_EINVAL, "result line without a custom_id");
    lleval_sb_reset(&j->line);
    if (lleval_json_dump_sb(line, &j->line))
        return lleval_err_set(err, LLEVAL_EIO, "cannot serialize the result for '%s'", cid);
    lleval_sb_addch(&j->line, '\n');
    return lleval_journal_append_text(j, cid, lleval_result_failed(line), j->line.buf, j->line.len,
                                      err);
}

int lleval_journal_sync(struct lleval_journal *j, struct lleval_err *err)
{
    int rc;
    if (!j->dirty || !j->file)
        return 0;
    rc = lleval_journal_flush(j, err);
    if (rc)
        return rc;
    rc = lleval_afile_sync(j->file, err);
    if (rc)
        return rc;
    j->dirty = false;
    return 0;
}

int lleval_journal_seal(struct lleval_journal *j, struct lleval_err *err)
{
    int rc;
    if (!j)
        return 0;
    rc = lleval_journal_sync(j, err);
    if (rc)
        return rc;
    lleval_idset_release(&j->seen);
    lleval_sb_release(&j->pend);
    lleval_sb_release(&j->line);
    j->sealed = true;
    return 0;
}

const struct lleval_journal_stats *lleval_journal_stats(const struct lleval_journal *j)
{
    return &j->st;
}

int lleval_journal_close(struct lleval_journal *j, struct lleval_err *err)
{
    int rc = 0;
    if (!j)
        return 0;
    if (j->file) {
        struct lleval_err cerr = LLEVAL_ERR_INIT;
        rc = lleval_journal_sync(j, err);
        if (lleval_afile_close(j->file, &cerr) && !rc) {
            rc = cerr.code;
            if (err)
                *err = cerr;
        }
    }
    lleval_idset_release(&j->seen);
    lleval_sb_release(&j->line);
    lleval_sb_release(&j->pend);
    free(j->path);
    free(j);
    return rc;
}
