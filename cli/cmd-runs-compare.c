/* PLACEHOLDER: runs compare, written once the scorer's per-item API exists. */
#include "cli.h"
int cli_runs_compare(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir);
int cli_runs_compare(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir)
{
    (void)argc;
    (void)argv;
    (void)runs_dir;
    cli_error(ctx, "compare is not built yet");
    return 2;
}
