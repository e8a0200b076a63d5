/*
 * lleval report RUN_ID: (re)writes a run's report.html and report.md.
 * lleval report RUN_A RUN_B: writes the comparison page of two runs.
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/report/report.h"
#include "lleval/run/run.h"
#include "lleval/util/util.h"

/* lleval report A B: the comparison page; prints its path. */
static int report_compare(const char *runs_dir, const char *a, const char *b, const char *out,
                          struct cli_ctx *ctx)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path = out ? lleval_xstrdup(out) : lleval_report_compare_path(runs_dir, a, b, &err);
    int rc;
    if (!path)
        return cli_error_lib(ctx, &err);
    rc = lleval_report_compare_write(runs_dir, a, b, path, &err);
    if (rc) {
        free(path);
        return cli_error_lib(ctx, &err);
    }
    printf("%s\n", path);
    free(path);
    return 0;
}

int cmd_report(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *runs_dir = "runs";
    const char *out = NULL;
    bool open_path = false;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *dir, *html, *md;
    int npos, rc;
    const struct cli_option opts[] = {
        {"runs-dir", 0, CLI_OPT_STRING, &runs_dir, "DIR", "where the runs are (default runs)", NULL,
         0, 0},
        {"open-path", 0, CLI_OPT_BOOL, &open_path, NULL,
         "print only the report.html path, to open in a browser", NULL, 0, 0},
        {"out", 'o', CLI_OPT_STRING, &out, "FILE",
         "with two runs: where the comparison page goes (default <runs>/RUN_B/compare-RUN_A.html)",
         NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval report RUN_ID [--runs-dir DIR] [--open-path]\n"
                                "   or: lleval report RUN_A RUN_B [--runs-dir DIR] [--out FILE]";
    static const char desc[] =
        "Writes <run>/report.html, one self-contained page (scores with 95% confidence\n"
        "intervals and charts, finish reasons, speed and telemetry, the doctor's findings,\n"
        "sample answers with their gold, and an explorer of every item with filters, search\n"
        "and the full prompt and answer), and <run>/report.md, the same facts as short text\n"
        "tables for an issue or a pull request. `lleval run` writes both as its last step;\n"
        "this command rewrites them for an existing run (it only reads the run's results).\n"
        "Prints the two paths; with --open-path only the page's, as in\n"
        "  xdg-open \"$(lleval report RUN_ID --open-path)\"\n"
        "With two runs (two models, two settings) it writes one comparison page instead: the\n"
        "numbers of `lleval runs compare RUN_A RUN_B` and every item right in one run and\n"
        "wrong in the other, with its question, gold answers and both answers; it prints\n"
        "the page's path.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos == 2)
        return report_compare(runs_dir, argv[1], argv[2], out, ctx);
    if (npos != 1) {
        cli_error(ctx, "give one run id, or two to compare; see 'lleval report --help'");
        return 2;
    }
    if (out) {
        cli_error(ctx, "--out goes with two run ids (a comparison); see 'lleval report --help'");
        return 2;
    }
    dir = lleval_run_dir(runs_dir, argv[1], &err);
    if (!dir)
        return cli_error_lib(ctx, &err);
    if (!lleval_is_dir(dir)) {
        cli_error(ctx, "no run '%s' in '%s': see `lleval runs list`", argv[1], runs_dir);
        free(dir);
        return 2;
    }
    rc = lleval_report_write(dir, &err);
    if (rc) {
        free(dir);
        return cli_error_lib(ctx, &err);
    }
    html = lleval_report_html_path(dir);
    md = lleval_report_md_path(dir);
    if (open_path)
        printf("%s\n", html);
    else
        printf("%s\n%s\n", html, md);
    free(html);
    free(md);
    free(dir);
    return 0;
}
