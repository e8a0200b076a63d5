/*
 * The lleval command-line tool: command table, option parsing, terminal output.
 *
 * How to add a command:
 *  1. write cli/cmd-<name>.c with `int cmd_<name>(int argc, char **argv, struct cli_ctx *ctx)`;
 *     argv[0] is the command name; the return value is the exit status;
 *  2. declare its options in a `struct cli_option[]` table ending with CLI_OPT_END and parse
 *     them with cli_parse_options(), which also prints --help from the same table;
 *  3. declare cmd_<name> below and add a line to the commands[] table in cli/main.c;
 *  4. add an end-to-end test in tests/cli/ and a section in docs/cli.md.
 * Library errors are printed with cli_error_lib(); exit statuses follow lleval_exit_code().
 */
#ifndef LLEVAL_CLI_H
#define LLEVAL_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "lleval/util/error.h"
#include "lleval/util/format.h" /* durations and tables for every command */

struct cli_ctx {
    const char *prog;
    bool color_out; /* stdout is a terminal and NO_COLOR is unset */
    bool color_err;
    bool tty_out;
    bool tty_err;
};

enum cli_opt_type {
    CLI_OPT_END = 0,
    CLI_OPT_BOOL,   /* bool *: set to true */
    CLI_OPT_STRING, /* const char **: borrowed from argv */
    CLI_OPT_LONG,   /* long *, with a range check */
    CLI_OPT_DOUBLE, /* double * */
    CLI_OPT_LIST,   /* struct cli_strlist *: repeatable */
};

struct cli_strlist {
    const char *items[64];
    int n;
};

struct cli_option {
    const char *name; /* long name with dashes; "--a_b" is accepted for "--a-b" */
    char short_name;  /* 0 for none */
    enum cli_opt_type type;
    void *value;
    const char *argh; /* argument placeholder for --help, e.g. "N" */
    const char *help;
    bool *seen;    /* optional: set when the option was given */
    long min, max; /* CLI_OPT_LONG range (both 0: any non-negative) */
};

#define CLI_OPT_END_MARK                                                                           \
    {                                                                                              \
        NULL, 0, CLI_OPT_END, NULL, NULL, NULL, NULL, 0, 0                                         \
    }

/*
 * Parses argv (argv[0] is the command name) against opts. Positional
 * arguments are moved to the front of argv[1..] and counted in *npos.
 * Returns CLI_CONTINUE, or the exit status to return at once: 0 after
 * --help (already printed), 2 on a usage error (already printed):
 *     if ((rc = cli_parse_options(...)) != CLI_CONTINUE) return rc;
 */
#define CLI_CONTINUE (-1)
int cli_parse_options(int argc, char **argv, const struct cli_option *opts, const char *usage,
                      const char *description, int *npos, struct cli_ctx *ctx);
/* Prints the help of a command to f. */
void cli_print_help(FILE *f, const struct cli_option *opts, const char *usage,
                    const char *description);

/* Messages on stderr: "lleval: error: ...", "lleval: warning: ...", "lleval: ..." */
void cli_error(struct cli_ctx *ctx, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
void cli_warn(struct cli_ctx *ctx, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
void cli_info(struct cli_ctx *ctx, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
/* Prints err->msg as an error and returns its exit status. Messages are
 * sanitized for the terminal (util/text.h's lleval_term_sanitize()). */
int cli_error_lib(struct cli_ctx *ctx, const struct lleval_err *err);
/* Engine, model or dataset text made safe to print (no control characters or
 * escape sequences, one line): empties sb (an initialized buffer), fills it
 * and returns sb->buf, borrowed from sb. */
struct lleval_sb;
const char *cli_safe(struct lleval_sb *sb, const char *s);
/* Writes s (borrowed) to f, sanitized for the terminal, newlines kept. */
void cli_print_text(FILE *f, const char *s);

/* ANSI styling that respects NO_COLOR and non-terminals. */
const char *cli_bold(const struct cli_ctx *ctx);
const char *cli_green(const struct cli_ctx *ctx);
const char *cli_red(const struct cli_ctx *ctx);
const char *cli_yellow(const struct cli_ctx *ctx);
const char *cli_dim(const struct cli_ctx *ctx);
const char *cli_reset(const struct cli_ctx *ctx);

/*
 * Aligned tables: add a header and rows of cells, then print. Columns whose
 * cells all look numeric are right-aligned. Cells are copied. A thin wrapper
 * of util/format.h's lleval_table (widths in display columns), adding
 * varargs rows and the bold header.
 */
struct cli_table;
struct cli_table *cli_table_new(int ncols);
void cli_table_header(struct cli_table *t, ...); /* ncols const char * */
void cli_table_row(struct cli_table *t, ...);    /* ncols const char * */
void cli_table_rowv(struct cli_table *t, const char *const *cells);
void cli_table_print(struct cli_table *t, FILE *f, const struct cli_ctx *ctx);
void cli_table_free(struct cli_table *t);

/* Flushes and checks stdout: a full disk is an error (returns 4). */
int cli_finish_stdout(struct cli_ctx *ctx, int status);

/*
 * cli/run-ui.c, shared by the commands that run the pipeline (run, smoke,
 * runs resume) and parse: commands call these, never each other's functions.
 */
/* Installs SIGINT/SIGTERM handlers that ask the scheduler to stop (a second
 * signal abandons requests in flight). */
void cli_install_stop_handlers(void);
struct lleval_config;
struct lleval_run_opts;
struct lleval_parse_report;
/* Runs with progress output and prints the outcome; returns the exit status.
 * cfg and ro are borrowed. */
int cli_run_and_report(struct cli_ctx *ctx, struct lleval_config *cfg,
                       const struct lleval_run_opts *ro, bool json, bool quiet);
/* Prints parse's reconciliation report (counts and the first ids of each problem). */
void cli_print_parse_report(struct cli_ctx *ctx, const struct lleval_parse_report *rep, FILE *f);

/* Commands. */
int cmd_config(int argc, char **argv, struct cli_ctx *ctx);
int cmd_prepare(int argc, char **argv, struct cli_ctx *ctx);
int cmd_build(int argc, char **argv, struct cli_ctx *ctx);
int cmd_run(int argc, char **argv, struct cli_ctx *ctx);
int cmd_parse(int argc, char **argv, struct cli_ctx *ctx);
int cmd_score(int argc, char **argv, struct cli_ctx *ctx);
int cmd_smoke(int argc, char **argv, struct cli_ctx *ctx);
int cmd_runs(int argc, char **argv, struct cli_ctx *ctx);
int cmd_import(int argc, char **argv, struct cli_ctx *ctx);
/* `runs compare` (cli/cmd-runs-compare.c), dispatched by cmd_runs; runs_dir borrowed. */
int cli_runs_compare(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir);
/* `runs items` (cli/cmd-runs-items.c), dispatched by cmd_runs; runs_dir borrowed. */
int cli_runs_items(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir);
int cmd_doctor(int argc, char **argv, struct cli_ctx *ctx);
int cmd_report(int argc, char **argv, struct cli_ctx *ctx);
int cmd_gguf(int argc, char **argv, struct cli_ctx *ctx);
int cmd_synth_model(int argc, char **argv, struct cli_ctx *ctx);
int cmd_plan(int argc, char **argv, struct cli_ctx *ctx);
int cmd_tune(int argc, char **argv, struct cli_ctx *ctx);

#endif
