/* PLACEHOLDER: replaced by the real command before any commit. */
#include "cli.h"
int cmd_run(int argc, char **argv, struct cli_ctx *ctx)
{
    (void)argc;
    (void)argv;
    cli_error(ctx, "'run' is not built yet");
    return 2;
}
