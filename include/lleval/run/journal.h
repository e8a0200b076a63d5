/*
 * The result journal: one append-only JSONL file per part. Each result is
 * written as one complete line with a single write(2) to a file opened with
 * O_APPEND, so a crash (even kill -9) can only tear the very last line; the
 * journal is fsynced on the scheduler's ticks and when closed.
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
/* Forces written lines to stable storage. */
int lleval_journal_sync(struct lleval_journal *j, struct lleval_err *err);
const struct lleval_journal_stats *lleval_journal_stats(const struct lleval_journal *j);
/* Syncs and frees; NULL is fine. */
int lleval_journal_close(struct lleval_journal *j, struct lleval_err *err);

#endif
