/*
 * lleval runs items RUN: every item of a run, scored ("which items did the
 * model get wrong, and why"), from its results/items.jsonl. Filters, orders
 * and the cells are lib/score/items_query.c; this file parses the options,
 * finds the terminal's width and prints: an aligned table cut to the width,
 * one block per item with --full, JSON lines with --json.
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/run/rundir.h"
#include "lleval/score/items.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

/* Below this many columns a cut text shows too little to be worth it. */
#define MIN_FLEX 8
/* The columns each of question, gold and answer keeps before the id is cut. */
#define ID_ROOM 12
#define ALL_PARTS                                                                                  \
    (LLEVAL_ITEMS_ID_DATASET | LLEVAL_ITEMS_ID_PROMPT | LLEVAL_ITEMS_ID_TEMP |                     \
     LLEVAL_ITEMS_ID_SAMPLE)

/* The width to fit: --width, else $COLUMNS, else the terminal's; 0: no limit
 * (stdout is not a terminal). */
static size_t term_width(const struct cli_ctx *ctx, long opt)
{
    const char *env = getenv("COLUMNS");
    long v;
    if (opt >= 0)
        return (size_t)opt;
    if (env && !lleval_parse_long(env, 1, 100000, &v))
        return (size_t)v;
    if (!ctx->tty_out)
        return 0;
    v = lleval_term_columns();
    return v > 0 ? (size_t)v : 80;
}

/* The rows to show, their cells sanitized for the terminal (one line each). */
struct shown {
    const struct cli_ctx *ctx;
    bool json, full;
    char **cells; /* row-major, LLEVAL_ITEMS_NCOLS per row, owned; the id's set at the end */
    size_t n, cap;
    struct idcopy {
        char *dataset, *item_id, *prompt_type, *temperature; /* owned */
        long sample;
    } * ids;
    size_t cap_ids;
    unsigned varying; /* lleval_items_id_part bits that differ among the rows */
    struct lleval_sb cell, safe;
};

static const char *verdict_color(const struct cli_ctx *ctx, const char *v)
{
    if (!strcmp(v, "right"))
        return cli_green(ctx);
    return !strcmp(v, "wrong") ? cli_red(ctx) : cli_yellow(ctx);
}

/* A --full field: "  label  text", continuation lines indented under the text. */
static void full_field(const char *label, const char *text)
{
    struct lleval_sb safe = LLEVAL_SB_INIT;
    lleval_term_sanitize(&safe, text, true);
    printf("  %-10s ", label);
    for (const char *p = safe.buf; *p; p++) {
        putchar(*p);
        if (*p == '\n')
            printf("  %-10s ", "");
    }
    putchar('\n');
    lleval_sb_release(&safe);
}

static void print_full(struct shown *s, const struct lleval_item_row *r)
{
    struct lleval_sb line = LLEVAL_SB_INIT;
    lleval_items_cell(&s->cell, r, LLEVAL_ITEMS_COL_VERDICT);
    printf("%s%s%s%s  %s%s\n", cli_bold(s->ctx), verdict_color(s->ctx, s->cell.buf), s->cell.buf,
           cli_reset(s->ctx), cli_safe(&s->safe, r->custom_id), cli_reset(s->ctx));
    full_field("question", r->question);
    for (size_t i = 0; i < r->n_choices; i++) {
        lleval_sb_reset(&line);
        lleval_sb_addf(&line, "%c. %s", (char)('A' + (i < 26 ? i : 25)), r->choices[i]);
        full_field(i ? "" : "choices", line.buf);
    }
    lleval_items_cell(&s->cell, r, LLEVAL_ITEMS_COL_GOLD);
    full_field("gold", s->cell.buf);
    full_field("answer", r->prediction);
    full_field("extracted", r->answer);
    lleval_sb_reset(&line);
    if (r->mc) {
        lleval_items_cell(&s->cell, r, LLEVAL_ITEMS_COL_MC);
        lleval_sb_addf(&line, "MC %s  correct %s  (EM, F1, contains: n/a)", s->cell.buf,
                       r->correct ? "yes" : "no");
    } else {
        lleval_sb_adds(&line, "EM ");
        lleval_items_cell(&s->cell, r, LLEVAL_ITEMS_COL_EM);
        lleval_sb_adds(&line, s->cell.buf);
        lleval_sb_adds(&line, "  F1 ");
        lleval_items_cell(&s->cell, r, LLEVAL_ITEMS_COL_F1);
        lleval_sb_adds(&line, s->cell.buf);
        lleval_sb_addf(&line, "  contains %.0f  (MC: n/a)", r->contains);
    }
    full_field("scores", line.buf);
    lleval_sb_reset(&line);
    lleval_items_cell(&s->cell, r, LLEVAL_ITEMS_COL_MS);
    lleval_sb_addf(&line, "%s  latency %s ms  tokens ", r->finish_reason, s->cell.buf);
    if (r->prompt_tokens >= 0)
        lleval_sb_addf(&line, "%lld", r->prompt_tokens);
    else
        lleval_sb_adds(&line, "-");
    lleval_sb_adds(&line, " prompt + ");
    lleval_items_cell(&s->cell, r, LLEVAL_ITEMS_COL_TOKENS);
    lleval_sb_addf(&line, "%s completion", s->cell.buf);
    full_field("finish", line.buf);
    if (*r->error)
        full_field("error", r->error);
    putchar('\n');
    lleval_sb_release(&line);
}

/* A table cell: one line, nothing that moves the cursor (cli_safe), and a tab
 * shown as "\\t" so it cannot break the columns. Returns an owned copy. */
static char *table_cell(struct lleval_sb *safe, const char *text)
{
    struct lleval_sb out = LLEVAL_SB_INIT;
    for (const char *p = cli_safe(safe, text); *p; p++) {
        if (*p == '\t')
            lleval_sb_adds(&out, "\\t");
        else
            lleval_sb_addch(&out, *p);
    }
    return lleval_sb_detach(&out, NULL);
}

static struct lleval_items_id id_of(const struct idcopy *c)
{
    struct lleval_items_id id = {c->dataset, c->item_id, c->prompt_type, c->temperature, c->sample};
    return id;
}

static int on_item(const struct lleval_item_row *r, void *ud)
{
    struct shown *s = ud;
    if (s->json) {
        lleval_sb_reset(&s->cell);
        lleval_items_json_row(&s->cell, r);
        fwrite(s->cell.buf, 1, s->cell.len, stdout);
        return 0;
    }
    if (s->full) {
        print_full(s, r);
        return 0;
    }
    if ((s->n + 1) * LLEVAL_ITEMS_NCOLS > s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16 * LLEVAL_ITEMS_NCOLS;
        s->cells = lleval_xrealloc(s->cells, s->cap * sizeof(*s->cells));
    }
    for (int c = 0; c < LLEVAL_ITEMS_NCOLS; c++) {
        lleval_items_cell(&s->cell, r, (enum lleval_items_col)c);
        s->cells[s->n * LLEVAL_ITEMS_NCOLS + c] =
            c == LLEVAL_ITEMS_COL_ID ? NULL : table_cell(&s->safe, s->cell.buf);
    }
    LLEVAL_GROW(s->ids, s->n, s->cap_ids);
    s->ids[s->n].dataset = lleval_xstrdup(r->dataset);
    s->ids[s->n].item_id = lleval_xstrdup(r->item_id);
    s->ids[s->n].prompt_type = lleval_xstrdup(r->prompt_type);
    s->ids[s->n].temperature = lleval_xstrdup(r->temperature);
    s->ids[s->n].sample = r->sample;
    if (s->n) {
        struct lleval_items_id a = id_of(&s->ids[0]), b = id_of(&s->ids[s->n]);
        s->varying |= lleval_items_id_diff(&a, &b);
    }
    s->n++;
    return 0;
}

/* Sets the id cells: each item id with the parts that vary among the rows. */
static void set_ids(struct shown *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct lleval_items_id id = id_of(&s->ids[i]);
        lleval_sb_reset(&s->cell);
        lleval_items_id_short(&s->cell, &id, s->varying);
        s->cells[i * LLEVAL_ITEMS_NCOLS + LLEVAL_ITEMS_COL_ID] = table_cell(&s->safe, s->cell.buf);
    }
}

/* Columns of numbers are right-aligned. */
static bool right_aligned(int c)
{
    return c == LLEVAL_ITEMS_COL_EM || c == LLEVAL_ITEMS_COL_F1 || c == LLEVAL_ITEMS_COL_MS ||
           c == LLEVAL_ITEMS_COL_TOKENS;
}

static void print_table(struct shown *s, size_t width)
{
    size_t natural[LLEVAL_ITEMS_NCOLS], w[LLEVAL_ITEMS_NCOLS];
    bool flex[LLEVAL_ITEMS_NCOLS];
    struct lleval_sb line = LLEVAL_SB_INIT;
    set_ids(s);
    for (int c = 0; c < LLEVAL_ITEMS_NCOLS; c++) {
        natural[c] = lleval_utf8_width(lleval_items_col_name((enum lleval_items_col)c));
        flex[c] = lleval_items_col_flexible((enum lleval_items_col)c);
        for (size_t i = 0; i < s->n; i++) {
            size_t cw = lleval_utf8_width(s->cells[i * LLEVAL_ITEMS_NCOLS + c]);
            if (cw > natural[c])
                natural[c] = cw;
        }
    }
    /* the id keeps its width while the three texts get ID_ROOM columns each */
    if (width) {
        size_t fixed = 2 * (LLEVAL_ITEMS_NCOLS - 1);
        for (int c = 0; c < LLEVAL_ITEMS_NCOLS; c++)
            fixed += flex[c] && c != LLEVAL_ITEMS_COL_ID ? 0 : natural[c];
        if (width >= fixed + 3 * ID_ROOM)
            flex[LLEVAL_ITEMS_COL_ID] = false;
    }
    lleval_fit_columns(natural, flex, LLEVAL_ITEMS_NCOLS, 2, width, MIN_FLEX, w);
    for (size_t i = 0; i <= s->n; i++) { /* row 0: the header */
        lleval_sb_reset(&line);
        for (int c = 0; c < LLEVAL_ITEMS_NCOLS; c++) {
            const char *cell = i ? s->cells[(i - 1) * LLEVAL_ITEMS_NCOLS + c]
                                 : lleval_items_col_name((enum lleval_items_col)c);
            bool last = c == LLEVAL_ITEMS_NCOLS - 1;
            const char *on = "", *off = "";
            if (c)
                lleval_sb_adds(&line, "  ");
            if (i && c == LLEVAL_ITEMS_COL_VERDICT) {
                on = verdict_color(s->ctx, cell);
                off = cli_reset(s->ctx);
            }
            if (right_aligned(c)) {
                size_t cw = lleval_utf8_width(cell);
                for (; cw < w[c]; cw++)
                    lleval_sb_addch(&line, ' ');
            }
            lleval_sb_adds(&line, on);
            if (c == LLEVAL_ITEMS_COL_ID) /* ids differ at their end */
                lleval_fit_cell_tail(&line, cell, w[c], !last);
            else
                lleval_fit_cell(&line, cell, w[c], !last && !right_aligned(c));
            lleval_sb_adds(&line, off);
        }
        lleval_sb_rtrim(&line);
        if (!i)
            printf("%s%s%s\n", cli_bold(s->ctx), line.buf, cli_reset(s->ctx));
        else
            printf("%s\n", line.buf);
    }
    lleval_sb_release(&line);
}

int cli_runs_items(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir)
{
    struct lleval_items_query q;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct shown s;
    bool wrong = false, right = false, json = false, full = false;
    const char *sort = NULL;
    char *dir = NULL, *path = NULL;
    long limit = 0, width = -1;
    size_t matched = 0;
    int npos, rc;
    const struct cli_option opts[] = {
        {"wrong", 0, CLI_OPT_BOOL, &wrong, NULL,
         "only the items scored wrong (failed requests too)", NULL, 0, 0},
        {"right", 0, CLI_OPT_BOOL, &right, NULL, "only the items scored right", NULL, 0, 0},
        {"model", 0, CLI_OPT_STRING, &q.model, "NAME",
         "only this model's items (a run of several models)", NULL, 0, 0},
        {"dataset", 0, CLI_OPT_STRING, &q.dataset, "NAME", "only this dataset", NULL, 0, 0},
        {"prompt", 0, CLI_OPT_STRING, &q.prompt_type, "TYPE", "only this prompt type", NULL, 0, 0},
        {"finish", 0, CLI_OPT_STRING, &q.finish, "REASON",
         "only this finish reason: stop, length or error", NULL, 0, 0},
        {"grep", 0, CLI_OPT_STRING, &q.grep, "TEXT",
         "only items whose question, gold, answer, error or id holds TEXT (any case)", NULL, 0, 0},
        {"sort", 0, CLI_OPT_STRING, &sort, "KEY",
         "latency (slowest first), tokens (most first), f1 (lowest first); default: file order",
         NULL, 0, 0},
        {"limit", 'n', CLI_OPT_LONG, &limit, "N", "show at most N items (0: all, the default)",
         NULL, 0, 1000000000},
        {"full", 0, CLI_OPT_BOOL, &full, NULL,
         "one block per item with the full texts (raw and extracted answer, all scores)", NULL, 0,
         0},
        {"json", 0, CLI_OPT_BOOL, &json, NULL,
         "one JSON object per line, as in results/items.jsonl (docs/formats.md)", NULL, 0, 0},
        {"width", 0, CLI_OPT_LONG, &width, "COLS",
         "fit the table to COLS columns, 0: no limit (default: $COLUMNS, else the terminal's)",
         NULL, 0, 100000},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval runs items RUN_ID [--wrong|--right] [--model NAME] "
                                "[--dataset NAME] "
                                "[--finish REASON] [--grep TEXT] [--sort KEY] [--limit N] "
                                "[--full|--json]";
    static const char desc[] =
        "Shows every item of a run, scored (results/items.jsonl, written by the score step):\n"
        "verdict, item, EM, F1, MC letter, finish reason, latency (ms), completion tokens,\n"
        "question, gold answers and the extracted answer. n/a marks a metric that does not\n"
        "apply (MC letter on an open question, EM and F1 on multiple choice). The table is cut\n"
        "to the terminal's width (an ellipsis marks a cut); --full shows the whole texts.\n"
        "Control characters in model text are shown as text (\\n, \\x1b). Items are in file\n"
        "order (dataset, temperature, part) unless --sort; ties keep that order.";

    memset(&q, 0, sizeof(q));
    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 1) {
        cli_error(ctx, "give one run id; see 'lleval runs items --help'");
        return 2;
    }
    if (wrong && right) {
        cli_error(ctx, "--wrong and --right contradict each other: give one or neither");
        return 2;
    }
    if (json && full) {
        cli_error(ctx, "--json and --full contradict each other: give one or neither");
        return 2;
    }
    if (sort && lleval_items_sort_parse(sort, &q.sort)) {
        cli_error(ctx, "--sort wants latency, tokens, f1 or file, not '%s'", sort);
        return 2;
    }
    q.verdict = wrong ? LLEVAL_ITEMS_WRONG : right ? LLEVAL_ITEMS_RIGHT : LLEVAL_ITEMS_ANY;
    q.limit = (size_t)limit;

    dir = lleval_run_dir(runs_dir, argv[1], &err);
    if (!dir)
        return cli_error_lib(ctx, &err);
    if (!lleval_is_dir(dir)) {
        cli_error(ctx, "no run '%s' in '%s'; see 'lleval runs list'", argv[1], runs_dir);
        free(dir);
        return 2;
    }
    path = lleval_run_file_path(dir, LLEVAL_RUN_FILE_ITEMS_JSONL);
    if (!lleval_path_exists(path)) {
        cli_error(ctx,
                  "run '%s' has no %s: it was scored by an older lleval or not scored yet; "
                  "`lleval runs resume %s` scores it again and writes the file",
                  argv[1], lleval_run_file_rel(LLEVAL_RUN_FILE_ITEMS_JSONL), argv[1]);
        free(dir);
        free(path);
        return 4;
    }

    memset(&s, 0, sizeof(s));
    s.ctx = ctx;
    s.json = json;
    s.full = full;
    lleval_sb_init(&s.cell, 0);
    lleval_sb_init(&s.safe, 0);
    rc = lleval_items_query_run(path, &q, on_item, &s, &matched, &err);
    if (rc) {
        char *fix = lleval_xasprintf("lleval wrote this file: `lleval runs resume %s` scores the "
                                     "run again and writes it anew",
                                     argv[1]);
        lleval_run_err_damaged(&err, fix);
        free(fix);
        rc = cli_error_lib(ctx, &err);
    } else if (!json) {
        if (!full && s.n)
            print_table(&s, term_width(ctx, width));
        if (!matched)
            printf("no items match\n");
        else if (limit && (size_t)limit < matched)
            printf("%ld of %zu matching items shown (--limit)\n", limit, matched);
        else
            printf("%zu item%s\n", matched, matched == 1 ? "" : "s");
        if (!full && s.n && s.varying != ALL_PARTS) {
            struct lleval_items_id id = id_of(&s.ids[0]);
            lleval_sb_reset(&s.cell);
            lleval_items_id_common(&s.cell, &id, s.varying);
            printf("every item shown: %s\n", cli_safe(&s.safe, s.cell.buf));
        }
    }
    for (size_t i = 0; i < s.n; i++) {
        free(s.ids[i].dataset);
        free(s.ids[i].item_id);
        free(s.ids[i].prompt_type);
        free(s.ids[i].temperature);
    }
    free(s.ids);
    for (size_t i = 0; i < s.n * LLEVAL_ITEMS_NCOLS; i++)
        free(s.cells[i]);
    free(s.cells);
    lleval_sb_release(&s.cell);
    lleval_sb_release(&s.safe);
    free(dir);
    free(path);
    return rc;
}
