/* Terminal output: messages, colors (NO_COLOR respected), aligned tables. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/util/util.h"

static void vmsg(struct cli_ctx *ctx, const char *color, const char *kind, const char *fmt,
                 va_list ap)
{
    fflush(stdout);
    if (kind)
        fprintf(stderr, "%s: %s%s%s: ", ctx->prog, ctx->color_err ? color : "", kind,
                ctx->color_err ? "\033[0m" : "");
    else
        fprintf(stderr, "%s: ", ctx->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(ctx, "\033[1;31m", "error", fmt, ap);
    va_end(ap);
}

void cli_warn(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(ctx, "\033[1;33m", "warning", fmt, ap);
    va_end(ap);
}

void cli_info(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(ctx, "", NULL, fmt, ap);
    va_end(ap);
}

int cli_error_lib(struct cli_ctx *ctx, const struct lleval_err *err)
{
    if (err->code == LLEVAL_EINTR)
        cli_warn(ctx, "%s", err->msg[0] ? err->msg : "interrupted");
    else
        cli_error(ctx, "%s", err->msg[0] ? err->msg : "failed");
    return lleval_exit_code(err->code);
}

const char *cli_bold(const struct cli_ctx *ctx)
{
    return ctx->color_out ? "\033[1m" : "";
}
const char *cli_green(const struct cli_ctx *ctx)
{
    return ctx->color_out ? "\033[32m" : "";
}
const char *cli_red(const struct cli_ctx *ctx)
{
    return ctx->color_out ? "\033[31m" : "";
}
const char *cli_yellow(const struct cli_ctx *ctx)
{
    return ctx->color_out ? "\033[33m" : "";
}
const char *cli_dim(const struct cli_ctx *ctx)
{
    return ctx->color_out ? "\033[2m" : "";
}
const char *cli_reset(const struct cli_ctx *ctx)
{
    return ctx->color_out ? "\033[0m" : "";
}

struct cli_table {
    int ncols;
    char **cells; /* row-major, row 0 is the header */
    size_t nrows, cap;
    bool has_header;
};

struct cli_table *cli_table_new(int ncols)
{
    struct cli_table *t = lleval_xcalloc(1, sizeof(*t));
    t->ncols = ncols;
    return t;
}

static void add_row(struct cli_table *t, const char *const *cells)
{
    if (t->nrows + 1 > t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = lleval_xrealloc(t->cells, t->cap * (size_t)t->ncols * sizeof(char *));
    }
    for (int c = 0; c < t->ncols; c++)
        t->cells[t->nrows * (size_t)t->ncols + (size_t)c] =
            lleval_xstrdup(cells[c] ? cells[c] : "");
    t->nrows++;
}

static void add_va(struct cli_table *t, va_list ap)
{
    const char *cells[64];
    for (int c = 0; c < t->ncols && c < 64; c++)
        cells[c] = va_arg(ap, const char *);
    add_row(t, cells);
}

void cli_table_header(struct cli_table *t, ...)
{
    va_list ap;
    va_start(ap, t);
    add_va(t, ap);
    va_end(ap);
    t->has_header = true;
}

void cli_table_row(struct cli_table *t, ...)
{
    va_list ap;
    va_start(ap, t);
    add_va(t, ap);
    va_end(ap);
}

void cli_table_rowv(struct cli_table *t, const char *const *cells)
{
    add_row(t, cells);
}

/* Display width of UTF-8 text: one column per code point (good enough for tables). */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static bool numeric(const char *s)
{
    bool digit = false;
    if (!*s || !strcmp(s, "-"))
        return true;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s))
            digit = true;
        else if (!strchr("+-.,%:[] x/smh()±", *s) && ((unsigned char)*s < 0x80))
            return false;
    }
    return digit;
}

void cli_table_print(struct cli_table *t, FILE *f, const struct cli_ctx *ctx)
{
    size_t *w = lleval_xcalloc((size_t)t->ncols, sizeof(size_t));
    bool *right = lleval_xcalloc((size_t)t->ncols, sizeof(bool));
    size_t first = t->has_header ? 1 : 0;

    for (int c = 0; c < t->ncols; c++) {
        right[c] = t->nrows > first;
        for (size_t r = 0; r < t->nrows; r++) {
            const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
            if (width(cell) > w[c])
                w[c] = width(cell);
            if (r >= first && !numeric(cell))
                right[c] = false;
        }
    }
    for (size_t r = 0; r < t->nrows; r++) {
        struct lleval_sb line = LLEVAL_SB_INIT;
        bool head = t->has_header && r == 0;
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
            size_t pad = w[c] - width(cell);
            if (right[c])
                lleval_sb_addf(&line, "%*s%s", (int)pad, "", cell);
            else
                lleval_sb_addf(&line, "%s%*s", cell, (int)pad, "");
            if (c < t->ncols - 1)
                lleval_sb_adds(&line, "  ");
        }
        lleval_sb_rtrim(&line);
        fprintf(f, "%s%s%s\n", head ? cli_bold(ctx) : "", line.buf, head ? cli_reset(ctx) : "");
        lleval_sb_release(&line);
    }
    free(w);
    free(right);
}

void cli_table_free(struct cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

int cli_finish_stdout(struct cli_ctx *ctx, int status)
{
    if (fflush(stdout) || ferror(stdout)) {
        cli_error(ctx, "cannot write to standard output: %s", strerror(errno));
        return 4;
    }
    return status;
}

void cli_fmt_duration(char *buf, size_t size, double s)
{
    if (s < 0)
        snprintf(buf, size, "?");
    else if (s < 60)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}
