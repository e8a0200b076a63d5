/*
 * RFC 4180 CSV: a reader that reports the line where each record starts and
 * handles quoted fields with commas, quotes and newlines; a writer that
 * quotes when needed. Used for MMLU and generic CSV datasets and for
 * predictions.csv.
 *
 * Reader rules: records end with CRLF, LF or a lone CR (outside quotes); a
 * field that starts with a double quote is quoted and runs to the matching
 * quote ("" inside is one quote; commas, CR and LF are kept verbatim); a UTF-8
 * byte order mark at the very start of the file is dropped. An empty line is
 * a record with one empty field (callers that want to skip blank lines test
 * lleval_csv_blank()). Errors: an unterminated quoted field, a quote inside
 * an unquoted field, text after a closing quote, a NUL byte, a record larger
 * than LLEVAL_CSV_MAX_RECORD bytes. The reader does not check UTF-8: callers
 * that need it check each field.
 *
 * Ownership: the reader owns r->fields and their strings; they stay valid
 * until the next lleval_csv_next() or lleval_csv_close(). r->path is
 * borrowed and must outlive the reader.
 */
#ifndef LLEVAL_CSV_H
#define LLEVAL_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* Upper bound for one record (all its fields together), against runaway quotes. */
#define LLEVAL_CSV_MAX_RECORD (64u * 1024u * 1024u)

struct lleval_csv_reader {
    FILE *f;
    const char *path;
    long line;        /* line on which the current record started (1-based) */
    long next_line;   /* line the next record starts on */
    long long offset; /* byte offset in the file where the current record started */
    long long pos;    /* bytes consumed so far */
    char **fields;    /* owned by the reader, valid until the next call */
    size_t n_fields;
    size_t cap_fields;
    /* The read buffer, private to csv.c. Records are decoded in place: the
     * current record's fields lie NUL-terminated from buf[rec], field i at
     * buf[rec + starts[i]]; buf[buf_pos..buf_len) is unread; buf[buf_len] is a
     * NUL sentinel; the unread byte buf[i] is at file offset buf_off + i. */
    size_t *starts;
    size_t cap_starts;
    char *buf;
    size_t buf_cap, buf_len, buf_pos;
    long long buf_off;
    bool eof;
    bool blank; /* the current record was an empty line */
};

/* Opens path for reading (path is borrowed). On failure nothing needs closing,
 * though lleval_csv_close() is harmless. */
int lleval_csv_open(struct lleval_csv_reader *r, const char *path, struct lleval_err *err);
/* Reads the next record into r->fields / r->n_fields. Returns 1 with a record,
 * 0 at the end, LLEVAL_EINVAL with "path:line: ..." on malformed input
 * (unterminated quote, stray quote, NUL byte), LLEVAL_EIO on a read error. */
int lleval_csv_next(struct lleval_csv_reader *r, struct lleval_err *err);
/* True when the current record came from an empty line (one empty field). */
bool lleval_csv_blank(const struct lleval_csv_reader *r);
/* Closes the file and frees everything the reader owns. */
void lleval_csv_close(struct lleval_csv_reader *r);

/* Appends one field (quoted when it holds a comma, quote, CR or LF) to sb;
 * `first` suppresses the leading comma. s is borrowed. */
void lleval_csv_add_field(struct lleval_sb *sb, const char *s, bool first);
/*
 * The spreadsheet guard for free-text fields (model answers, engine errors,
 * ids from datasets). A spreadsheet (Excel, LibreOffice, Google Sheets)
 * opening the file runs a cell that starts with = + - @ tab or CR as a
 * formula (OWASP "CSV injection"). Such a text is written with one single
 * quote before it ('=1+1), which spreadsheets show as the text itself; so
 * that the reader can undo it exactly, a text that starts with a single
 * quote gets one more too (''x). Numeric fields are never guarded.
 */
/* True when a text field with this value is written with a leading quote. */
bool lleval_csv_needs_guard(const char *s);
/* Appends text field s (borrowed; NULL is empty) like lleval_csv_add_field(),
 * with the guard quote when lleval_csv_needs_guard(s). */
void lleval_csv_add_text_field(struct lleval_sb *sb, const char *s, bool first);
/* The value of a text field as read: field without its one guard quote
 * (a pointer into field, borrowed from it); field itself when it has none. */
const char *lleval_csv_text_value(const char *field);

/* Ends a record with CRLF, as RFC 4180 says. */
void lleval_csv_end_record(struct lleval_sb *sb);

#endif
