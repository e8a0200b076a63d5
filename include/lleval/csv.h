/*
 * RFC 4180 CSV: a reader that reports the line where each record starts and
 * handles quoted fields with commas, quotes and newlines; a writer that
 * quotes when needed. Used for MMLU and generic CSV datasets and for
 * predictions.csv.
 */
#ifndef LLEVAL_CSV_H
#define LLEVAL_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "lleval/error.h"
#include "lleval/util.h"

struct lleval_csv_reader {
    FILE *f;
    const char *path;
    long line;        /* line on which the current record started (1-based) */
    long next_line;   /* line the next record starts on */
    char **fields;    /* owned by the reader, valid until the next call */
    size_t n_fields;
    size_t cap_fields;
    struct lleval_sb field;
    bool spreadsheet_formula_guard; /* writer-side only; unused by the reader */
};

/* Opens path for reading. */
int lleval_csv_open(struct lleval_csv_reader *r, const char *path, struct lleval_err *err);
/* Reads the next record into r->fields / r->n_fields. Returns 1 with a record,
 * 0 at the end, LLEVAL_EINVAL with "path:line: ..." on malformed input
 * (unterminated quote, stray quote, NUL byte). */
int lleval_csv_next(struct lleval_csv_reader *r, struct lleval_err *err);
void lleval_csv_close(struct lleval_csv_reader *r);

/* Appends one field (quoted when it holds a comma, quote, CR or LF) to sb;
 * `first` suppresses the leading comma. */
void lleval_csv_add_field(struct lleval_sb *sb, const char *s, bool first);
/* Ends a record with CRLF, as RFC 4180 says. */
void lleval_csv_end_record(struct lleval_sb *sb);

#endif
