/*
 * The platform layer, part 1: files and directories. Whole-file reads with a
 * size bound, atomic writes (temp file + fsync + rename),
 * mkdir -p, sorted directory listings, append-only files (the result
 * journal), and a line reader that counts lines.
 *
 * Everything here and in platform.h (processes, lock files, clocks,
 * dynamic libraries; included below) is implemented in lib/platform/posix*.c
 * and lib/platform/win32*.c. Windows accepts both slashes and backslashes in
 * paths and joins with a backslash.
 */
#ifndef LLEVAL_FS_H
#define LLEVAL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lleval/util/error.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

/*
 * Files inside a run directory are opened as what they claim to be: a
 * symbolic link or a file that is not regular (a FIFO, a device, a folder)
 * there is refused with LLEVAL_EIO and "'path' is a symbolic link: lleval
 * does not follow links inside a run directory; replace it with the file"
 * (or "... is a FIFO, not a regular file ..."), never followed, truncated or
 * waited on. Outside a run directory links and pipes are opened as before (a
 * dataset or a --config file may be a link). The readers (lleval_read_file,
 * lleval_fopen_read, lleval_lines_open), the append-only files and the atomic
 * writers (their target and their temp file) all check; docs/design.md,
 * "Files inside a run directory".
 */

/* True when path lies inside a run directory: one of the folders above it
 * (links in the folders resolved) holds config.resolved.yaml beside
 * manifest.json or lock (any of them may be damaged: only names count). */
bool lleval_path_in_run_dir(const char *path);

/* Opens path for reading (binary), as what it claims to be (above). Returns 0
 * with *out owned (fclose it), or LLEVAL_EIO: "cannot open 'path': reason" or
 * a refusal. */
int lleval_fopen_read(const char *path, FILE **out, struct lleval_err *err);

/* Creates path for writing (binary) as a new regular file: whatever has that
 * name (a stale temp file, a planted link) is removed first, and the open
 * never follows a link. For temp files named after this process. Returns 0
 * with *out owned (fclose it), or LLEVAL_EIO. */
int lleval_fopen_new(const char *path, FILE **out, struct lleval_err *err);

/* Reads the whole file into out (appends), as what it claims to be (above).
 * Fails with LLEVAL_EINVAL when it is larger than max bytes (0 = no bound). */
int lleval_read_file(const char *path, struct lleval_sb *out, size_t max, struct lleval_err *err);

/*
 * Durability. What lleval fsyncs, and why (each is what a crash guarantee
 * needs, and nothing more):
 * - the result journal: lleval_afile_sync (fdatasync) on the run's flushes
 *   (about once a second) and at the end of the poll: a power loss loses at
 *   most the answers since the last one, which a resume asks again. A process
 *   crash (kill -9) loses nothing written: the page cache is the kernel's.
 * - every atomic write below: its temp file's bytes before the rename, so
 *   that after a power loss the name never points at unwritten (empty or
 *   torn) data; a damaged state.json or manifest.json would stop a resume.
 * Not fsynced: the folder after each rename. The rename is atomic against a
 *   process crash as it stands, and after a power loss a name whose rename
 *   was not yet committed shows its previous content (or is absent when
 *   new): a state of the same run a moment earlier, which resume rebuilds
 *   (its counts come from the journals; the steps after the last one
 *   recorded are done again). Journaling file systems (ext4, xfs) commit
 *   metadata in order, at the latest with the journal's next fdatasync; on
 *   Windows the replace is write-through anyway. A folder fsync per file
 *   cost 19 disk flushes in a 200-item run, plus 2 a second while polling,
 *   each 3 to 40 ms on a busy disk, on the thread that sends the requests.
 * lleval_fsync_dir stays for callers that hand a file to another program
 * (a synthesized model) and must know its name is on disk.
 */

/* Writes data to path atomically: readers see the old or the new file, never
 * a torn one, after a crash too (the temp file is fsynced before the rename;
 * "Durability" above). The temp file is "<path>.tmp.<pid>" (lleval_fopen_new);
 * a path inside a run directory that is a link or not a regular file is
 * refused. When path is a regular file that holds exactly data already, it is
 * left as it is (no write, no fsync). */
int lleval_write_file_atomic(const char *path, const void *data, size_t len,
                             struct lleval_err *err);

/* Copies a file to `to` atomically, streaming (memory does not grow with its
 * size); both are checked as lleval_fopen_read and lleval_write_file_atomic do. */
int lleval_copy_file_atomic(const char *from, const char *to, struct lleval_err *err);

/* The size in bytes of the open file f (64 bits everywhere: fstat, or
 * _fstat64 on Windows). Returns 0, or -1 with errno set. */
int lleval_fsize(FILE *f, uint64_t *size);

/* rename() with one meaning everywhere: to is replaced atomically when it
 * exists (Windows: MoveFileExW with MOVEFILE_REPLACE_EXISTING |
 * MOVEFILE_WRITE_THROUGH, retried for a moment while another program has to
 * open). Returns 0, or -1 with errno set. */
int lleval_rename(const char *from, const char *to);

/* Creates path and its parents (like mkdir -p). */
int lleval_mkdirs(const char *path, struct lleval_err *err);

/* Removes a directory tree (for temporary runs). */
int lleval_remove_tree(const char *path, struct lleval_err *err);

bool lleval_path_exists(const char *path);
bool lleval_is_dir(const char *path);
/* True when path itself is a directory (a link to one is not). */
bool lleval_is_real_dir(const char *path);
/* True when this process may read path (a file or a directory). */
bool lleval_is_readable(const char *path);
/* The size of the file at path in bytes, or -1 when it cannot be read. */
int64_t lleval_file_size(const char *path);
/* When the file at path was last modified, in nanoseconds since the epoch
 * (as fine as the file system keeps it), into *ns. Returns 0, or -1 when it
 * cannot be read (nothing is set). */
int lleval_file_mtime(const char *path, int64_t *ns);

/*
 * The entries of a directory, without "." and ".." (hidden names are
 * included: callers skip what they do not want), sorted byte-wise so every
 * platform sees the same order.
 */
struct lleval_dir_list {
    char **names; /* owned, n of them */
    size_t n;
};
/* Fills *out (owned: lleval_dir_list_release). Returns 0, or LLEVAL_EIO with
 * "cannot open directory 'dir': reason" (nothing to release then). */
int lleval_list_dir(const char *dir, struct lleval_dir_list *out, struct lleval_err *err);
void lleval_dir_list_release(struct lleval_dir_list *list);

/* Returns an owned "a/b" (on Windows with a's separator, '\' when a has
 * one, else '/', and b's separators made the same: a path never mixes them). */
char *lleval_path_join(const char *a, const char *b);
/* The current directory (owned, UTF-8), or NULL when it cannot be told. */
char *lleval_cwd(void);
/* Returns an owned copy of the directory part ("." when none). */
char *lleval_path_dirname(const char *path);
/* The last component of path (borrowed, inside path): after the last
 * separator ('/'; on Windows also '\' and a drive's ':'). */
const char *lleval_path_basename(const char *path);
/* What follows dir and a separator in path (borrowed, inside path), or NULL
 * when path does not start with dir (by string: nothing is resolved). */
const char *lleval_path_under(const char *dir, const char *path);
/* Returns an owned copy with '/' separators, as artifacts record relative
 * paths on every platform (on Windows '\' becomes '/'; elsewhere a copy). */
char *lleval_path_portable(const char *path);

/* fsyncs an open stdio stream (after fflush). */
int lleval_fsync_file(FILE *f, const char *path, struct lleval_err *err);
int lleval_fsync_dir(const char *dir, struct lleval_err *err);

/*
 * Append-only files (the result journal): every append is one write of the
 * whole buffer at the end of the file (O_APPEND), so a crash can only tear
 * the last record. label names the file in messages ("journal" gives
 * "cannot append to journal 'path': reason"). All return 0 or LLEVAL_EIO.
 */
struct lleval_afile;
/* Opens path for appending, creating it (0666 less the umask), as what it
 * claims to be (above). *out is owned: lleval_afile_close. label and path are
 * copied. */
int lleval_afile_open(const char *path, const char *label, struct lleval_afile **out,
                      struct lleval_err *err);
/* The file's current size in bytes. */
int lleval_afile_size(struct lleval_afile *f, uint64_t *size, struct lleval_err *err);
/* Appends len bytes (retrying short writes). */
int lleval_afile_append(struct lleval_afile *f, const void *data, size_t len,
                        struct lleval_err *err);
/* Forces appended data to stable storage (fdatasync). */
int lleval_afile_sync(struct lleval_afile *f, struct lleval_err *err);
/* Cuts the file to size bytes and syncs it (a torn tail repaired). */
int lleval_afile_truncate(struct lleval_afile *f, uint64_t size, struct lleval_err *err);
/* Closes (without syncing) and frees; NULL is fine. */
int lleval_afile_close(struct lleval_afile *f, struct lleval_err *err);

/*
 * Line reader: yields one line at a time without its newline (and without a
 * trailing \r), counting lines from 1. `torn` is set when the last line of
 * the file has no newline (a crash mid-write).
 */
struct lleval_lines {
    FILE *f;
    char *line;
    size_t cap;
    size_t len;
    long lineno;
    uint64_t start; /* byte offset where this line begins */
    uint64_t end;   /* byte offset just past this line and its newline */
    bool torn;
    const char *path;
    char *buf; /* the stream's buffer (owned; freed after the stream is closed) */
};
/* Opens path (borrowed: it must outlive lr) as lleval_fopen_read does. */
int lleval_lines_open(struct lleval_lines *lr, const char *path, struct lleval_err *err);
/* Returns 1 with a line, 0 at the end, negative on error. */
int lleval_lines_next(struct lleval_lines *lr, struct lleval_err *err);
void lleval_lines_close(struct lleval_lines *lr);
/* Makes the next lleval_lines_next() read from byte offset off (a line's
 * start, as lr->start gave it); lineno is left as it was. */
int lleval_lines_seek(struct lleval_lines *lr, uint64_t off, struct lleval_err *err);

/*
 * An atomic write in several pieces (issue 13: prepare and build stream their
 * files instead of holding them whole): the same temp file, checks, fsync and
 * replace as lleval_write_file_atomic(), with the data written as it comes.
 *     struct lleval_atomic_file af;
 *     if (lleval_atomic_open(&af, path, err)) ...
 *     rc = lleval_atomic_write(&af, data, len, err); ...
 *     rc = rc ? (lleval_atomic_abort(&af), rc) : lleval_atomic_commit(&af, err);
 * lleval_atomic_finish() flushes and closes the temp file without putting it
 * in place, so that several files can be put in place only once all of them
 * were written. Every call but open is fine on a released struct.
 */
struct lleval_atomic_file {
    FILE *f;    /* the temp file while open */
    char *path; /* owned: the target */
    char *tmp;  /* owned: "<path>.tmp.<pid>" */
};
/* Checks path as lleval_write_file_atomic() does and creates its temp file. */
int lleval_atomic_open(struct lleval_atomic_file *af, const char *path, struct lleval_err *err);
/* Appends len bytes to the temp file. */
int lleval_atomic_write(struct lleval_atomic_file *af, const void *data, size_t len,
                        struct lleval_err *err);
/* Flushes, fsyncs and closes the temp file (it stays, not yet in place). */
int lleval_atomic_finish(struct lleval_atomic_file *af, struct lleval_err *err);
/* Finishes (when open) and moves the temp file over path; af is released,
 * the temp file removed on failure. */
int lleval_atomic_commit(struct lleval_atomic_file *af, struct lleval_err *err);
/* Closes and removes the temp file; af is released. */
void lleval_atomic_abort(struct lleval_atomic_file *af);

#endif
