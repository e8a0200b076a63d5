/*
 * Terminal output: messages, colors (NO_COLOR respected), aligned tables.
 * Messages and table cells often quote engine and model text (error bodies,
 * answers, ids from datasets): they pass through lleval_term_sanitize(), so
 * no escape sequence or control character in them reaches the terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/util/format.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

static void vmsg(struct cli_ctx *ctx, const char *color, const char *kind, const char *fmt,
                 va_list ap)
{
    struct lleval_sb raw = LLEVAL_SB_INIT, safe = LLEVAL_SB_INIT;
    lleval_sb_vaddf(&raw, fmt, ap);
    /* a message is one line: a newline from quoted text shows as \n */
    lleval_term_sanitize_n(&safe, raw.buf, raw.len, false);
    fflush(stdout);
    if (kind)
        fprintf(stderr, "%s: %s%s%s: ", ctx->prog, ctx->color_err ? color : "", kind,
                ctx->color_err ? "\033[0m" : "");
    else
        fprintf(stderr, "%s: ", ctx->prog);
    fputs(safe.buf, stderr);
    fputc('\n', stderr);
    lleval_sb_release(&raw);
    lleval_sb_release(&safe);
}

void cli_print_text(FILE *f, const char *s)
{
    struct lleval_sb safe = LLEVAL_SB_INIT;
    lleval_term_sanitize(&safe, s, true);
    fwrite(safe.buf, 1, safe.len, f);
    lleval_sb_release(&safe);
}

const char *cli_safe(struct lleval_sb *sb, const char *s)
{
    lleval_sb_reset(sb);
    lleval_term_sanitize(sb, s, false);
    return sb->buf;
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

/* The tool's tables are util/format.h's tables, printed with a bold header. */
struct cli_table {
    struct lleval_table *t;
    size_t ncols;
};

struct cli_table *cli_table_new(int ncols)
{
    struct cli_table *t = lleval_xcalloc(1, sizeof(*t));
    t->ncols = ncols > 0 ? (size_t)ncols : 1;
    t->t = lleval_table_new(t->ncols);
    return t;
}

/* Reads ncols (at most 64) cells from ap; returns them in cells. */
static void cells_va(const struct cli_table *t, va_list ap, const char **cells)
{
    for (size_t c = 0; c < t->ncols && c < 64; c++)
        cells[c] = va_arg(ap, const char *);
}

/* Adds a header (head) or a row of cells, each sanitized for the terminal. */
static void add_cells(struct cli_table *t, const char *const *cells, bool head)
{
    struct lleval_sb safe[64];
    const char *out[64] = {0};
    size_t n = t->ncols < 64 ? t->ncols : 64;
    for (size_t c = 0; c < n; c++) {
        lleval_sb_init(&safe[c], 0);
        out[c] = cells[c] ? cli_safe(&safe[c], cells[c]) : NULL;
    }
    if (head)
        lleval_table_header(t->t, out);
    else
        lleval_table_row(t->t, out);
    for (size_t c = 0; c < n; c++)
        lleval_sb_release(&safe[c]);
}

void cli_table_header(struct cli_table *t, ...)
{
    const char *cells[64] = {0};
    va_list ap;
    va_start(ap, t);
    cells_va(t, ap, cells);
    va_end(ap);
    add_cells(t, cells, true);
}

void cli_table_row(struct cli_table *t, ...)
{
    const char *cells[64] = {0};
    va_list ap;
    va_start(ap, t);
    cells_va(t, ap, cells);
    va_end(ap);
    add_cells(t, cells, false);
}

void cli_table_rowv(struct cli_table *t, const char *const *cells)
{
    add_cells(t, cells, false);
}

void cli_table_print(struct cli_table *t, FILE *f, const struct cli_ctx *ctx)
{
    struct lleval_table_style st = LLEVAL_TABLE_STYLE_INIT;
    struct lleval_sb out = LLEVAL_SB_INIT;
    st.head_on = cli_bold(ctx);
    st.head_off = cli_reset(ctx);
    lleval_table_render(t->t, &st, &out);
    fwrite(out.buf, 1, out.len, f);
    lleval_sb_release(&out);
}

void cli_table_free(struct cli_table *t)
{
    if (!t)
        return;
    lleval_table_free(t->t);
    free(t);
}

int cli_finish_stdout(struct cli_ctx *ctx, int status)
{
    /* errno of the write that failed before, when the buffer is empty now */
    int e = errno;
    if (fflush(stdout))
        e = errno;
    else if (!ferror(stdout))
        return status;
    /* the reader went away (`lleval runs list | head -1`): it wanted no
     * more, which is not an error (SIGPIPE is ignored, so writes see EPIPE) */
    if (e == EPIPE)
        return status;
    cli_error(ctx, "cannot write to standard output: %s", strerror(e));
    return 4;
}
