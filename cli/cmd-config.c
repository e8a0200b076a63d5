/* PLACEHOLDER: replaced by the real command before any commit. */
#include "cli.h"
int cmd_config(int argc, char **argv, struct cli_ctx *ctx)
{
    (void)argc;
    (void)argv;
    cli_error(ctx, "'config' is not built yet");
    return 2;
}
