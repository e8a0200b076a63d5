/*
 * The result journal: one append-only JSONL file per part. Results are
 * written as complete lines, each write(2) holding one line or the lines of
 * the results that finished together (lleval_journal_add_text + flush), to a
 * file opened with O_APPEND, so a crash (even kill -9) can only tear the very
 * last line; the journal is fsynced on the scheduler's ticks and when closed.
 *
 * Opening a journal repairs a torn tail (cuts the file back to its last
 * complete line) and loads the custom_ids already answered, so a resumed run
 * never asks them again and never writes a result twice.
 */
#ifndef LLEVAL_JOURNAL_H
#define LLEVAL_JOURNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/error.h"

struct lleval_journal;

struct lleval_journal_stats {
    size_t lines;    /* complete results in the file */
    size_t ok;       /* of which successful (no error) */
    size_t repaired; /* bytes cut from a torn tail on open */
};

/* Opens (creating) the journal at path. Fails with the file:line on a
 * damaged line that is not the last one. *out is owned: lleval_journal_close(). */
int lleval_journal_open(const char *path, struct lleval_journal **out, struct lleval_err *err);
/* True when custom_id already has a result. */
bool lleval_journal_has(const struct lleval_journal *j, const char *custom_id);
/* Appends a result line (borrowed); its custom_id must be new. */
int lleval_journal_append(struct lleval_journal *j, const json_t *line, struct lleval_err *err);
/* Appends a result line as text (borrowed): text[0..len) is one line of JSON
 * ending in its '\n' (lleval_result_text_build() writes it), for custom_id,
 * which must be new; failed: the line has an error (counted apart). */
int lleval_journal_append_text(struct lleval_journal *j, const char *custom_id, bool failed,
                               const char *text, size_t len, struct lleval_err *err);
/*
 * lleval_journal_append_text() whose write waits for lleval_journal_flush():
 * the line is checked, counted and its custom_id taken now, and the lines
 * added between two flushes go to the file in one write (several results that
 * finished together cost one system call). A line that is not yet written is
 * lost in a crash like a request still in flight, and asked again on resume;
 * the caller flushes before anything it writes counts it (state.json).
 * Pending lines past 256 KiB are written at once.
 */
int lleval_journal_add_text(struct lleval_journal *j, const char *custom_id, bool failed,
                            const char *text, size_t len, struct lleval_err *err);
/* Writes the lines added and not yet written (one write); 0 when none. */
int lleval_journal_flush(struct lleval_journal *j, struct lleval_err *err);
/* True when lines added are waiting for lleval_journal_flush(). */
bool lleval_journal_pending(const struct lleval_journal *j);
/* Writes the pending lines and forces written lines to stable storage. */
int lleval_journal_sync(struct lleval_journal *j, struct lleval_err *err);
const struct lleval_journal_stats *lleval_journal_stats(const struct lleval_journal *j);
/*
 * Ends this session's appends to j (NULL is fine): the pending lines are
 * written and synced, and the set of answered custom_ids, most of a
 * journal's memory (about 24 bytes a result), is given back. Afterwards
 * has() is false and adding a line is refused; the stats stay. The run
 * seals its journals once poll has combined them, so that parse, score and
 * report do not carry poll's memory.
 */
int lleval_journal_seal(struct lleval_journal *j, struct lleval_err *err);
/* Writes the pending lines, syncs and frees; NULL is fine. */
int lleval_journal_close(struct lleval_journal *j, struct lleval_err *err);

#endif
