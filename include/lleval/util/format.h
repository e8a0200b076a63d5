/*
 * Formatting for people, one of each for the whole tree: durations ("4m05s"),
 * fixed-decimal numbers and percentages, a value with its interval
 * ("31.2 [12.5, 56.2]"), and an aligned text table whose columns are measured
 * in terminal columns (text.h's display width), so CJK text and combining
 * marks line up.
 *
 * The library's report and scorer and the tool's tables share these; nothing
 * here prints: tables render into a string buffer.
 */
#ifndef LLEVAL_FORMAT_H
#define LLEVAL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/util.h"

/* ---- durations ---- */

enum lleval_dur_flags {
    /* under 10 s with one decimal ("9.5s") instead of whole seconds ("10s") */
    LLEVAL_DUR_TENTHS = 1 << 0,
};

/*
 * Formats s seconds into buf (size bytes) and returns buf:
 *   negative or NaN   "?"
 *   under 60 s        "42s" (rounded: 59.6 s is "60s"), or "9.5s" under 10 s
 *                     with LLEVAL_DUR_TENTHS
 *   under an hour     "4m05s" (whole seconds, truncated)
 *   an hour and more  "3h07m" (whole minutes, truncated; days stay hours: "50h00m")
 * The report passes LLEVAL_DUR_TENTHS; the tool's progress and run lists pass 0.
 */
const char *lleval_fmt_duration(char *buf, size_t size, double s, unsigned flags);

/* ---- numbers ---- */

/* 100 * part / whole, or NaN when whole <= 0. */
double lleval_pct(double part, double whole);

/* v with `decimals` decimals ("%.*f") into buf, or `dash` (borrowed) when v is
 * NaN or infinite; returns buf. */
const char *lleval_fmt_fixed(char *buf, size_t size, double v, int decimals, const char *dash);

/* Decimals of a time in milliseconds: one under 100 ms, none from 100 ms on
 * (by the magnitude of ref, so a value and its interval agree). */
int lleval_ms_decimals(double ref);

/*
 * Appends v with `decimals` decimals and, when lo and hi are both finite, its
 * interval: open, lo, ", ", hi, close (borrowed strings; " [" and "]" for
 * text, markup in HTML). Nothing is escaped: open and close are trusted.
 */
void lleval_sb_add_ci(struct lleval_sb *sb, double v, double lo, double hi, int decimals,
                      const char *open, const char *close);

/* ---- aligned tables ---- */

enum lleval_align {
    LLEVAL_ALIGN_AUTO,  /* right when every body cell is numeric (lleval_numeric_cell()) */
    LLEVAL_ALIGN_LEFT,  /* the default of a column added as AUTO that holds text */
    LLEVAL_ALIGN_RIGHT, /* padded on the left */
};

/* How a table is drawn; LLEVAL_TABLE_STYLE_INIT is the tool's style. */
struct lleval_table_style {
    const char *gap;      /* between columns (borrowed; "  ") */
    const char *head_on;  /* before the header line (borrowed; "" or an ANSI bold) */
    const char *head_off; /* after the header line, before its newline */
    bool rtrim;           /* remove trailing whitespace from each line */
};
#define LLEVAL_TABLE_STYLE_INIT                                                                    \
    {                                                                                              \
        "  ", "", "", true                                                                         \
    }

/*
 * A table of text cells: an optional header row and body rows, each column
 * left- or right-aligned and as wide as its widest cell in display columns.
 * The last column is never padded on its right. Opaque; cells are copied.
 */
struct lleval_table;

/* Returns a new empty table of ncols (>= 1) columns, every column AUTO. Owned:
 * lleval_table_free(). */
struct lleval_table *lleval_table_new(size_t ncols);
/* Frees t and its cells; NULL is fine. */
void lleval_table_free(struct lleval_table *t);
/* Sets the alignment of column col (< ncols). */
void lleval_table_align(struct lleval_table *t, size_t col, enum lleval_align a);
/* Sets the header row (ncols cells, copied; a NULL cell is empty). Call once,
 * before or after the rows: the header is always drawn first. */
void lleval_table_header(struct lleval_table *t, const char *const *cells);
/* Appends a body row of ncols cells (copied; a NULL cell is empty). */
void lleval_table_row(struct lleval_table *t, const char *const *cells);
/* The number of body rows. */
size_t lleval_table_rows(const struct lleval_table *t);
/* Appends the table to out, one line per row, each ending in "\n". style may
 * be NULL (LLEVAL_TABLE_STYLE_INIT). */
void lleval_table_render(const struct lleval_table *t, const struct lleval_table_style *style,
                         struct lleval_sb *out);

/*
 * True when s reads as a number cell for LLEVAL_ALIGN_AUTO: empty, "-", or
 * digits with + - . , % : [ ] space x / s m h ( ) and non-ASCII bytes (such
 * as "±") around them ("12.5 [10.1, 14.9]", "4m05s", "3/10").
 */
bool lleval_numeric_cell(const char *s);

#endif
