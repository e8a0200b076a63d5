/*
 * predictions.csv: the column table, the writer and the reader (see
 * predictions.h). The table is the format: its order is the writer's column
 * order and its names are the header the reader looks for.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/score/predictions.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"

static const struct {
    const char *name;
    size_t row_off; /* offset of the column's string in struct lleval_pred_row */
    bool text;      /* free text: written with csv.h's spreadsheet guard, read without it */
} columns[LLEVAL_PRED_NCOLS] = {
#define COL(e, field, text) [e] = {#field, offsetof(struct lleval_pred_row, field), text}
    COL(LLEVAL_PRED_CUSTOM_ID, custom_id, true),
    COL(LLEVAL_PRED_DATASET, dataset, true),
    COL(LLEVAL_PRED_ITEM_ID, item_id, true),
    COL(LLEVAL_PRED_TYPE, type, true),
    COL(LLEVAL_PRED_PROMPT_TYPE, prompt_type, true),
    COL(LLEVAL_PRED_TEMPERATURE, temperature, false),
    COL(LLEVAL_PRED_SAMPLE, sample, false),
    COL(LLEVAL_PRED_STATUS, status, true),
    COL(LLEVAL_PRED_FINISH_REASON, finish_reason, true),
    COL(LLEVAL_PRED_PREDICTION, prediction, true),
    COL(LLEVAL_PRED_LATENCY_MS, latency_ms, false),
    COL(LLEVAL_PRED_PROMPT_TOKENS, prompt_tokens, false),
    COL(LLEVAL_PRED_COMPLETION_TOKENS, completion_tokens, false),
    COL(LLEVAL_PRED_GEN_TPS, gen_tps, false),
    COL(LLEVAL_PRED_ATTEMPTS, attempts, false),
    COL(LLEVAL_PRED_ERROR, error, true),
#undef COL
};

const char *lleval_pred_col_name(enum lleval_pred_col c)
{
    return (unsigned)c < LLEVAL_PRED_NCOLS ? columns[c].name : NULL;
}

/* ---- writer -------------------------------------------------------------- */

void lleval_pred_write_header(struct lleval_sb *sb)
{
    for (size_t i = 0; i < LLEVAL_PRED_NCOLS; i++)
        lleval_csv_add_field(sb, columns[i].name, i == 0);
    lleval_csv_end_record(sb);
}

/* A free-text cell (columns[].text), with the spreadsheet guard. */
static void text_cell(struct lleval_sb *sb, const char *s)
{
    lleval_csv_add_text_field(sb, s, false);
}

/* A cell of a numeric column: never guarded. */
static void num_cell(struct lleval_sb *sb, const char *s)
{
    lleval_csv_add_field(sb, s ? s : "", false);
}

/*
 * "%.1f" of v without printf, for 0 < v < 1e14 (else 0: the caller uses
 * printf). printf rounds the exact binary value to tenths, ties to even;
 * here p = v * 10 rounded, err = the exact rest (fma), so v * 10 = p + err
 * exactly. p's fraction d is exact and a multiple of p's ulp, as 0.5 is, so
 * d != 0.5 is at least an ulp from 0.5 while |err| is at most half of one:
 * d alone decides, and at d == 0.5 err's sign (0: a tie, to even).
 */
size_t lleval_pred_fmt_tenths(char *buf, double v)
{
    double p, err, f, d;
    uint64_t n;
    char tmp[24];
    size_t i = sizeof(tmp), len;
    if (!(v > 0 && v < 1e14))
        return 0;
    p = v * 10.0;
    err = fma(v, 10.0, -p);
    f = floor(p);
    d = p - f;
    n = (uint64_t)f;
    if (d > 0.5 || (d == 0.5 && (err > 0 || (err == 0 && (n & 1)))))
        n++;
    tmp[--i] = (char)('0' + n % 10);
    tmp[--i] = '.';
    n /= 10;
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    len = sizeof(tmp) - i;
    memcpy(buf, tmp + i, len);
    buf[len] = '\0';
    return len;
}

/* A cell the writer formatted itself (a number, "ok", "error", or empty):
 * nothing in it to quote and no guard character first, so only a registered
 * secret could change it; without one it is appended as it stands. */
static void own_cell(struct lleval_sb *sb, const char *s)
{
    if (!lleval_redact_none()) {
        lleval_csv_add_field(sb, s, false);
        return;
    }
    lleval_sb_addch(sb, ',');
    lleval_sb_adds(sb, s);
}

static void real_cell(struct lleval_sb *sb, double v)
{
    char buf[64] = "";
    if (!isnan(v) && !lleval_pred_fmt_tenths(buf, v))
        snprintf(buf, sizeof(buf), "%.1f", v);
    own_cell(sb, buf);
}

/* "%lld" of v, as snprintf writes it, without printf (a row has four). */
static const char *fmt_int(char buf[24], long long v)
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char *p = buf + 23;
    *p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

static void count_cell(struct lleval_sb *sb, long long v)
{
    char buf[24];
    own_cell(sb, v >= 0 ? fmt_int(buf, v) : "");
}

/* Cells in the table's order; a new column goes into the table, the record,
 * the row and here. */
void lleval_pred_write_row(struct lleval_sb *sb, const struct lleval_pred_record *r)
{
    char sample[24];
    lleval_csv_add_text_field(sb, r->custom_id, true);
    text_cell(sb, r->dataset);
    text_cell(sb, r->item_id);
    text_cell(sb, r->type);
    text_cell(sb, r->prompt_type);
    num_cell(sb, r->temperature);
    own_cell(sb, fmt_int(sample, r->sample));
    own_cell(sb, r->ok ? "ok" : "error");
    text_cell(sb, r->finish_reason);
    text_cell(sb, r->prediction);
    real_cell(sb, r->latency_ms);
    count_cell(sb, r->prompt_tokens);
    count_cell(sb, r->completion_tokens);
    real_cell(sb, r->gen_tps);
    count_cell(sb, r->attempts);
    text_cell(sb, r->error);
    lleval_csv_end_record(sb);
}

/* ---- reader -------------------------------------------------------------- */

int lleval_pred_open(struct lleval_pred_reader *r, const char *path, unsigned required,
                     unsigned flags, struct lleval_err *err)
{
    int rc;
    memset(r, 0, sizeof(*r));
    r->flags = flags;
    r->code = lleval_path_in_run_dir(path) ? LLEVAL_EIO : LLEVAL_EINVAL;
    rc = lleval_csv_open(&r->csv, path, err);
    if (rc)
        return rc;
    rc = lleval_csv_next(&r->csv, err);
    if (rc == 0)
        rc = lleval_err_set(err, r->code,
                            "%s: empty file: a predictions.csv starts with a header row "
                            "(docs/formats.md)",
                            path);
    if (rc < 0)
        goto fail;
    r->n_header = r->csv.n_fields;
    for (int c = 0; c < LLEVAL_PRED_NCOLS; c++) {
        r->cols[c] = -1;
        for (size_t i = 0; i < r->csv.n_fields; i++)
            if (!strcmp(r->csv.fields[i], columns[c].name))
                r->cols[c] = (int)i;
        if (r->cols[c] < 0 && (required & LLEVAL_PRED_BIT(c))) {
            rc = lleval_err_set(err, r->code,
                                "%s:%ld: not a predictions.csv header: no column '%s' "
                                "(docs/formats.md lists the columns)",
                                path, r->csv.line, columns[c].name);
            goto fail;
        }
    }
    return 0;
fail:
    lleval_pred_close(r);
    return rc;
}

/* What to do about a bad cell: the writer never writes one. */
#define CELL_FIX "write the file again with `lleval parse` (docs/formats.md, predictions.csv)"

/* Clinger's fast path: see predictions.h. */
bool lleval_pred_plain_number(const char *s, double *out)
{
    const char *p = s, *dot = NULL;
    uint64_t m = 0; /* wraps for more than 19 digits, which are refused below */
    while ((unsigned)(*p - '0') < 10)
        m = m * 10 + (uint64_t)(*p++ - '0');
    if (p == s)
        return false;
    if (*p == '.') {
        dot = ++p;
        while ((unsigned)(*p - '0') < 10)
            m = m * 10 + (uint64_t)(*p++ - '0');
        if (p == dot)
            return false;
    }
    if (*p || p - s - (dot != NULL) > 15)
        return false;
    *out = (double)m / lleval_pow10_exact[dot ? p - dot : 0];
    return true;
}

/* True when s[0..len) is ASCII, so valid UTF-8 (8 bytes at a time). */
static bool all_ascii(const char *s, size_t len)
{
    uint64_t any = 0, x;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&x, s + i, sizeof(x));
        any |= x;
    }
    for (; i < len; i++)
        any |= (unsigned char)s[i];
    return !(any & 0x8080808080808080ULL);
}

/* Checks the row's cells (LLEVAL_PRED_CHECK_CELLS): valid UTF-8 everywhere;
 * in a numeric column nothing (unknown) or a finite number. */
static int check_cells(const struct lleval_pred_reader *r, struct lleval_err *err)
{
    for (int c = 0; c < LLEVAL_PRED_NCOLS; c++) {
        const char *cell = r->cols[c] < 0 ? "" : r->csv.fields[r->cols[c]];
        size_t bad, len = strlen(cell);
        double v;
        if (!all_ascii(cell, len) && !lleval_utf8_valid(cell, len, &bad))
            return lleval_err_set(err, r->code,
                                  "%s:%ld: column '%s': invalid UTF-8 at byte %zu of the cell; "
                                  "%s",
                                  r->csv.path, r->csv.line, columns[c].name, bad + 1, CELL_FIX);
        if (columns[c].text || !*cell || lleval_pred_plain_number(cell, &v))
            continue;
        if (lleval_parse_double(cell, &v) || !isfinite(v))
            return lleval_err_set(err, r->code,
                                  "%s:%ld: column '%s': '%.40s' is not a finite number (write "
                                  "a number, or nothing when unknown); %s",
                                  r->csv.path, r->csv.line, columns[c].name, cell, CELL_FIX);
    }
    return 0;
}

int lleval_pred_next(struct lleval_pred_reader *r, struct lleval_pred_row *row,
                     struct lleval_err *err)
{
    int rc;
    while ((rc = lleval_csv_next(&r->csv, err)) == 1) {
        if (lleval_csv_blank(&r->csv))
            continue;
        if (r->csv.n_fields == r->n_header)
            break;
        if (r->flags & LLEVAL_PRED_SKIP_RAGGED)
            continue;
        return lleval_err_set(err, r->code,
                              "%s:%ld: the row has %zu fields but the header has %zu; the "
                              "file is damaged: run `lleval parse` again",
                              r->csv.path, r->csv.line, r->csv.n_fields, r->n_header);
    }
    if (rc != 1)
        return rc;
    if ((r->flags & LLEVAL_PRED_CHECK_CELLS) && (rc = check_cells(r, err)) != 0)
        return rc;
    for (int c = 0; c < LLEVAL_PRED_NCOLS; c++) {
        const char **cell = (const char **)(void *)((char *)row + columns[c].row_off);
        *cell = r->cols[c] < 0    ? ""
                : columns[c].text ? lleval_csv_text_value(r->csv.fields[r->cols[c]])
                                  : r->csv.fields[r->cols[c]];
    }
    row->line = r->csv.line;
    return 1;
}

void lleval_pred_close(struct lleval_pred_reader *r)
{
    lleval_csv_close(&r->csv);
}
