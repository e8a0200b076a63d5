/*
 * predictions.csv (docs/formats.md): the one column table, the row writer
 * `lleval parse` uses and the row reader the scorer and the report use.
 *
 * The writer always writes every column in the table's order. The reader
 * finds the columns by name in the header (so files with the columns in
 * another order, or with fewer columns, still read) and hands each row over
 * as borrowed strings.
 *
 * The free-text columns (custom_id, dataset, item_id, type, prompt_type,
 * status, finish_reason, prediction, error) are written with csv.h's
 * spreadsheet guard (a leading ' before a text that starts with = + - @ tab
 * CR or ') and read without it, so every value reads back exactly as it was
 * written; the numeric columns (temperature, sample, latency_ms, the token
 * counts, gen_tps, attempts) are written and read as they are.
 */
#ifndef LLEVAL_PREDICTIONS_H
#define LLEVAL_PREDICTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/csv.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* The columns, in the order the writer writes them. */
enum lleval_pred_col {
    LLEVAL_PRED_CUSTOM_ID = 0,
    LLEVAL_PRED_DATASET,
    LLEVAL_PRED_ITEM_ID,
    LLEVAL_PRED_TYPE,
    LLEVAL_PRED_PROMPT_TYPE,
    LLEVAL_PRED_TEMPERATURE,
    LLEVAL_PRED_SAMPLE,
    LLEVAL_PRED_STATUS,
    LLEVAL_PRED_FINISH_REASON,
    LLEVAL_PRED_PREDICTION,
    LLEVAL_PRED_LATENCY_MS,
    LLEVAL_PRED_PROMPT_TOKENS,
    LLEVAL_PRED_COMPLETION_TOKENS,
    LLEVAL_PRED_GEN_TPS,
    LLEVAL_PRED_ATTEMPTS,
    LLEVAL_PRED_ERROR,
    LLEVAL_PRED_NCOLS
};
/* The header name of a column ("custom_id", ...); NULL out of range. */
const char *lleval_pred_col_name(enum lleval_pred_col c);
/* A set of columns for lleval_pred_open()'s `required`. */
#define LLEVAL_PRED_BIT(c) (1u << (c))

/* One row to write. Strings are borrowed; NULL writes an empty cell. */
struct lleval_pred_record {
    const char *custom_id;
    const char *dataset;
    const char *item_id;
    const char *type;
    const char *prompt_type;
    const char *temperature; /* as in the custom_id: "0", "0.7" */
    long sample;
    bool ok; /* the status column: "ok" or "error" */
    const char *finish_reason;
    const char *prediction;
    double latency_ms;       /* NAN: empty; else written with one decimal */
    long long prompt_tokens; /* negative: empty */
    long long completion_tokens;
    double gen_tps;     /* NAN: empty; else one decimal */
    long long attempts; /* negative: empty */
    const char *error;
};

/* Appends the header record to sb. */
void lleval_pred_write_header(struct lleval_sb *sb);
/* Appends one record (RFC 4180, CRLF, text columns guarded) to sb; r is
 * borrowed. */
void lleval_pred_write_row(struct lleval_sb *sb, const struct lleval_pred_record *r);

/* One row read. Every string is borrowed from the reader, valid until the
 * next lleval_pred_next() or lleval_pred_close(); "" for a column the file
 * does not have; text columns without their guard quote. */
struct lleval_pred_row {
    const char *custom_id;
    const char *dataset;
    const char *item_id;
    const char *type;
    const char *prompt_type;
    const char *temperature;
    const char *sample;
    const char *status;
    const char *finish_reason;
    const char *prediction;
    const char *latency_ms;
    const char *prompt_tokens;
    const char *completion_tokens;
    const char *gen_tps;
    const char *attempts;
    const char *error;
    long line; /* the line the row starts on (1-based) */
};

enum lleval_pred_flags {
    /* skip rows whose field count differs from the header's (else an error) */
    LLEVAL_PRED_SKIP_RAGGED = 1u << 0,
    /* check every cell (the scorer): valid UTF-8, and a numeric column empty
     * (unknown, as the writer writes it) or a finite number; else
     * "path:line: column 'name': ..." */
    LLEVAL_PRED_CHECK_CELLS = 1u << 1,
};

struct lleval_pred_reader {
    struct lleval_csv_reader csv;
    int cols[LLEVAL_PRED_NCOLS]; /* field index of each column, -1 when absent */
    size_t n_header;
    unsigned flags;
    int code; /* of its errors: LLEVAL_EIO inside a run directory, else LLEVAL_EINVAL */
};

/*
 * Opens path (borrowed; it must outlive the reader) and reads the header.
 * `required` is a set of LLEVAL_PRED_BIT()s the header must name; flags are
 * lleval_pred_flags. LLEVAL_EINVAL for an empty file or a missing column
 * (LLEVAL_EIO, for this and every error of the reader, when the file is
 * inside a run directory: lleval wrote it, so it is damaged)
 * ("path:line: not a predictions.csv header: no column 'X' ..."). On failure
 * nothing needs closing, though lleval_pred_close() is harmless.
 */
int lleval_pred_open(struct lleval_pred_reader *r, const char *path, unsigned required,
                     unsigned flags, struct lleval_err *err);
/* Reads the next row into *row, skipping blank lines. Returns 1 with a row,
 * 0 at the end, or a negative code: malformed CSV, a row with another
 * field count than the header (unless LLEVAL_PRED_SKIP_RAGGED), a bad cell
 * (with LLEVAL_PRED_CHECK_CELLS). */
int lleval_pred_next(struct lleval_pred_reader *r, struct lleval_pred_row *row,
                     struct lleval_err *err);
/* Closes the file and frees what the reader holds. */
void lleval_pred_close(struct lleval_pred_reader *r);

/*
 * The fast path for the numbers `lleval parse` writes: a plain decimal
 * ("1234" or "1234.5") of at most 15 digits. The digits read as an integer
 * and the power of ten are both exact doubles, so one correctly rounded
 * division gives exactly what strtod gives (Clinger's fast path). False for
 * anything else (a sign, an exponent, more digits), which the caller hands
 * to strtod (lleval_parse_double).
 */
bool lleval_pred_plain_number(const char *s, double *out);

/* Writes "%.1f" of v into buf (24 bytes at least) as printf does, without
 * printf, and returns its length; 0 (nothing written) unless 0 < v < 1e14. */
size_t lleval_pred_fmt_tenths(char *buf, double v);

#endif
