/* lleval report RUN_ID: (re)writes a run's report.html and report.md. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/report/report.h"
#include "lleval/run/run.h"
#include "lleval/util/util.h"

int cmd_report(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *runs_dir = "runs";
    bool open_path = false;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *dir, *html, *md;
    int npos, rc;
    const struct cli_option opts[] = {
        {"runs-dir", 0, CLI_OPT_STRING, &runs_dir, "DIR", "where the runs are (default runs)", NULL,
         0, 0},
        {"open-path", 0, CLI_OPT_BOOL, &open_path, NULL,
         "print only the report.html path, to open in a browser", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval report RUN_ID [--runs-dir DIR] [--open-path]";
    static const char desc[] =
        "Writes <run>/report.html, one self-contained page (scores with 95% confidence\n"
        "intervals and charts, finish reasons, speed and telemetry, the doctor's findings,\n"
        "sample answers with their gold), and <run>/report.md, the same facts as short text\n"
        "tables for an issue or a pull request. `lleval run` writes both as its last step;\n"
        "this command rewrites them for an existing run (it only reads the run's results).\n"
        "Prints the two paths; with --open-path only the page's, as in\n"
        "  xdg-open \"$(lleval report RUN_ID --open-path)\"";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 1) {
        cli_error(ctx, "give one run id; see 'lleval report --help'");
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
