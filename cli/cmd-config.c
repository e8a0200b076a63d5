/* `lleval config show`: the resolved configuration and where each value came from. */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static const char config_usage[] = "lleval config show [--config FILE] [--preset NAME] "
                                   "[--set KEY=VALUE ...] [--json]";

static const char config_description[] =
    "Subcommands:\n"
    "  show    print the resolved configuration (built-in defaults < the file's preset: <\n"
    "          the config file < --preset < the other flags) with a comment per value saying\n"
    "          where it came from, and what it won over and why\n"
    "\n"
    "Presets (the guide's hardware presets for a 16 GB GPU):\n"
    "  throughput    llama3.1:8b-instruct-q4_K_M, context 8192, max_new_tokens 512/1024, 2 jobs\n"
    "  quality       llama3.1:8b-instruct-q6_K, context 4096, max_new_tokens 512/1024, 1 job\n"
    "  stretch       llama3.1:13b-instruct-q4_K_M, context 4096, max_new_tokens 512/512, 1 job\n"
    "  conservative  the built-in defaults: 8B q4_K_M, temps [0.0], 512/1024, top_k 50, top_p 1.0"
    "\n\n"
    "'lleval config show --help' lists the options; docs/config.md describes every key.";

static int config_show(int argc, char **argv, struct cli_ctx *ctx)
{
    struct cli_cfg_flags cf = CLI_CFG_FLAGS_INIT;
    struct lleval_config cfg;
    bool json = false, no_origin = false;
    int npos = 0, rc;
    const struct cli_option opts[] = {
        CLI_CFG_OPTIONS(&cf),
        {"json", 0, CLI_OPT_BOOL, &json, NULL,
         "print JSON: {\"config\": {...}, \"origin\": {\"key.path\": \"where\"}, \"over\": {...}}",
         NULL, 0, 0},
        {"no-origin", 0, CLI_OPT_BOOL, &no_origin, NULL,
         "leave out the origin comments (the YAML a run saves as config.resolved.yaml)", NULL, 0,
         0},
        CLI_OPT_END_MARK,
    };

    rc = cli_parse_options(argc, argv, opts, config_usage,
                           "Prints the resolved configuration as YAML; each line's comment says "
                           "where its value\ncame from: 'default', 'preset NAME', 'FILE:LINE:COL' "
                           "or the flag that set it,\nand, when it replaced another value, "
                           "'wins over' that one's origin and why.",
                           &npos, ctx);
    if (rc != CLI_CONTINUE)
        return rc;
    if (npos) {
        cli_error(ctx, "'config show' takes no arguments, got '%s'; give the file with --config",
                  argv[1]);
        return 2;
    }
    if ((rc = cli_cfg_resolve(ctx, &cf, &cfg)) != CLI_CONTINUE)
        return rc;
    if (json) {
        json_t *root = json_object();
        char *text;
        json_object_set_new(root, "config", lleval_config_to_json(&cfg));
        json_object_set_new(root, "origin", lleval_config_origins_json(&cfg));
        json_object_set_new(root, "over", lleval_config_overs_json(&cfg));
        text = json_dumps(root, JSON_INDENT(2));
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(root);
    } else {
        char *text = lleval_config_to_yaml(&cfg, !no_origin);
        fputs(text, stdout);
        free(text);
    }
    lleval_config_release(&cfg);
    return cli_finish_stdout(ctx, 0);
}

int cmd_config(int argc, char **argv, struct cli_ctx *ctx)
{
    static const char *const subcommands[] = {"show"};
    const char *best;

    if (argc < 2) {
        fprintf(stderr, "usage: %s\n\n%s\n", config_usage, config_description);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        printf("usage: %s\n\n%s\n", config_usage, config_description);
        return cli_finish_stdout(ctx, 0);
    }
    if (!strcmp(argv[1], "show"))
        return config_show(argc - 1, argv + 1, ctx);
    best = lleval_did_you_mean(argv[1], subcommands, LLEVAL_ARRAY_SIZE(subcommands));
    if (argv[1][0] == '-')
        cli_error(ctx, "'config' needs a subcommand before options: lleval config show %s ...",
                  argv[1]);
    else if (best)
        cli_error(ctx, "unknown subcommand 'config %s'; did you mean 'config %s'?", argv[1], best);
    else
        cli_error(ctx, "unknown subcommand 'config %s'; see 'lleval config --help'", argv[1]);
    return 2;
}
