/*
 * Formatting for people (see format.h): durations, fixed-decimal numbers,
 * values with intervals, and aligned text tables measured in display columns.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/util/format.h"
#include "lleval/util/text.h"

/* ---- durations ---- */

const char *lleval_fmt_duration(char *buf, size_t size, double s, unsigned flags)
{
    if (!(s >= 0))
        snprintf(buf, size, "?");
    else if (s < 10 && (flags & LLEVAL_DUR_TENTHS))
        snprintf(buf, size, "%.1fs", s);
    else if (s < 60)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else if (s < 3600.0 * 1e9) /* hours and minutes; past that (an overflow) only hours */
        snprintf(buf, size, "%lldh%02dm", (long long)(s / 3600), (int)((long long)(s / 60) % 60));
    else
        snprintf(buf, size, "%.0fh", s / 3600);
    return buf;
}

/* ---- numbers ---- */

double lleval_pct(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : NAN;
}

const char *lleval_fmt_fixed(char *buf, size_t size, double v, int decimals, const char *dash)
{
    if (isfinite(v))
        snprintf(buf, size, "%.*f", decimals, v);
    else
        snprintf(buf, size, "%s", dash ? dash : "");
    return buf;
}

int lleval_ms_decimals(double ref)
{
    return fabs(ref) >= 100 ? 0 : 1;
}

void lleval_sb_add_ci(struct lleval_sb *sb, double v, double lo, double hi, int decimals,
                      const char *open, const char *close)
{
    lleval_sb_addf(sb, "%.*f", decimals, v);
    if (!isfinite(lo) || !isfinite(hi))
        return;
    lleval_sb_addf(sb, "%s%.*f, %.*f%s", open, decimals, lo, decimals, hi, close);
}

/* ---- aligned tables ---- */

struct lleval_table {
    size_t ncols;
    enum lleval_align *align;
    char **head;  /* ncols cells, or NULL without a header */
    char **cells; /* body, row-major */
    size_t nrows, cap;
};

struct lleval_table *lleval_table_new(size_t ncols)
{
    struct lleval_table *t = lleval_xcalloc(1, sizeof(*t));
    t->ncols = ncols ? ncols : 1;
    t->align = lleval_xcalloc(t->ncols, sizeof(*t->align));
    return t;
}

static void free_cells(char **cells, size_t n)
{
    for (size_t i = 0; cells && i < n; i++)
        free(cells[i]);
    free(cells);
}

void lleval_table_free(struct lleval_table *t)
{
    if (!t)
        return;
    free_cells(t->head, t->head ? t->ncols : 0);
    free_cells(t->cells, t->nrows * t->ncols);
    free(t->align);
    free(t);
}

void lleval_table_align(struct lleval_table *t, size_t col, enum lleval_align a)
{
    if (col < t->ncols)
        t->align[col] = a;
}

static void copy_cells(char **dst, const char *const *cells, size_t n)
{
    for (size_t c = 0; c < n; c++)
        dst[c] = lleval_xstrdup(cells[c] ? cells[c] : "");
}

void lleval_table_header(struct lleval_table *t, const char *const *cells)
{
    free_cells(t->head, t->head ? t->ncols : 0);
    t->head = lleval_xcalloc(t->ncols, sizeof(char *));
    copy_cells(t->head, cells, t->ncols);
}

void lleval_table_row(struct lleval_table *t, const char *const *cells)
{
    if (t->nrows + 1 > t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = lleval_xrealloc(t->cells, t->cap * t->ncols * sizeof(char *));
    }
    copy_cells(t->cells + t->nrows * t->ncols, cells, t->ncols);
    t->nrows++;
}

size_t lleval_table_rows(const struct lleval_table *t)
{
    return t->nrows;
}

bool lleval_numeric_cell(const char *s)
{
    bool digit = false;
    if (!*s || !strcmp(s, "-"))
        return true;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s))
            digit = true;
        else if ((unsigned char)*s < 0x80 && !strchr("+-.,%:[] x/smh()", *s))
            return false;
    }
    return digit;
}

static void render_line(const struct lleval_table *t, char *const *row, const size_t *w,
                        const bool *right, const struct lleval_table_style *st,
                        struct lleval_sb *line)
{
    for (size_t c = 0; c < t->ncols; c++) {
        const char *cell = row[c];
        size_t cw = lleval_utf8_width(cell), pad = w[c] > cw ? w[c] - cw : 0;
        bool last = c + 1 == t->ncols;
        if (right[c])
            lleval_sb_addf(line, "%*s", (int)pad, "");
        lleval_sb_adds(line, cell);
        if (!right[c] && !last)
            lleval_sb_addf(line, "%*s", (int)pad, "");
        if (!last)
            lleval_sb_adds(line, st->gap);
    }
    if (st->rtrim)
        lleval_sb_rtrim(line);
}

void lleval_table_render(const struct lleval_table *t, const struct lleval_table_style *style,
                         struct lleval_sb *out)
{
    static const struct lleval_table_style dflt = LLEVAL_TABLE_STYLE_INIT;
    const struct lleval_table_style *st = style ? style : &dflt;
    size_t *w = lleval_xcalloc(t->ncols, sizeof(*w));
    bool *right = lleval_xcalloc(t->ncols, sizeof(*right));
    struct lleval_sb line = LLEVAL_SB_INIT;

    for (size_t c = 0; c < t->ncols; c++) {
        bool numeric = t->nrows > 0;
        if (t->head)
            w[c] = lleval_utf8_width(t->head[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            const char *cell = t->cells[r * t->ncols + c];
            size_t cw = lleval_utf8_width(cell);
            if (cw > w[c])
                w[c] = cw;
            if (!lleval_numeric_cell(cell))
                numeric = false;
        }
        right[c] =
            t->align[c] == LLEVAL_ALIGN_RIGHT || (t->align[c] == LLEVAL_ALIGN_AUTO && numeric);
    }
    if (t->head) {
        render_line(t, t->head, w, right, st, &line);
        lleval_sb_adds(out, st->head_on ? st->head_on : "");
        lleval_sb_add(out, line.buf, line.len);
        lleval_sb_adds(out, st->head_off ? st->head_off : "");
        lleval_sb_addch(out, '\n');
    }
    for (size_t r = 0; r < t->nrows; r++) {
        lleval_sb_reset(&line);
        render_line(t, t->cells + r * t->ncols, w, right, st, &line);
        lleval_sb_add(out, line.buf, line.len);
        lleval_sb_addch(out, '\n');
    }
    lleval_sb_release(&line);
    free(w);
    free(right);
}
