/*
 * Shared command-line flags for every command that takes a config (run,
 * prepare, build, smoke, config show), and the one function that resolves
 * built-in defaults < the file's `preset:` < the config file < --preset <
 * the other command-line flags.
 *
 * Use:
 *     struct cli_cfg_flags cf = CLI_CFG_FLAGS_INIT;
 *     struct lleval_config cfg;
 *     const struct cli_option opts[] = {
 *         CLI_CFG_OPTIONS(&cf),
 *         {"dry-run", 0, CLI_OPT_BOOL, &dry, NULL, "use the dry engine", NULL, 0, 0},
 *         CLI_OPT_END_MARK,
 *     };
 *     if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
 *         return rc;
 *     if ((rc = cli_cfg_resolve(ctx, &cf, &cfg)) != CLI_CONTINUE)
 *         return rc;
 *     ... use cfg ...
 *     lleval_config_release(&cfg);
 */
#ifndef LLEVAL_CLI_CFGOPTS_H
#define LLEVAL_CLI_CFGOPTS_H

#include <stdbool.h>
#include "cli.h"
#include "lleval/config/config.h"

struct cli_cfg_flags {
    const char *config, *preset, *model, *engine, *base_url, *prompt_set;
    struct cli_strlist set; /* --set KEY=VALUE, repeatable */
    const char *temps;      /* --temps 0,0.7 */
    long limit_items, parts_per_dataset;
    bool limit_items_seen, parts_per_dataset_seen;
    const char *max_concurrent_jobs; /* N or auto */
    bool dry_run; /* the guide's --dry_run: engine dry, no launch, applied before validation */
    bool check_datasets; /* set by commands that read the datasets: every path must exist */
};

#define CLI_CFG_FLAGS_INIT                                                                         \
    {                                                                                              \
        0                                                                                          \
    }

/*
 * Expands to the struct cli_option entries for these flags, for use inside an
 * option table (f is a struct cli_cfg_flags *). Numeric flags accept any
 * non-negative number here; their ranges are checked by cli_cfg_resolve()
 * with the same rules as the config file.
 */
/* clang-format off */
#define CLI_CFG_OPTIONS(f)                                                                         \
    {"config", 'c', CLI_OPT_STRING, &(f)->config, "FILE",                                          \
     "config file (YAML; default $LLEVAL_CONFIG, config/eval_config.yaml or lleval.yaml)", NULL,  \
     0, 0},                                        \
    {"preset", 0, CLI_OPT_STRING, &(f)->preset, "NAME",                                            \
     "hardware preset: throughput, quality, stretch, conservative", NULL, 0, 0},                   \
    {"set", 0, CLI_OPT_LIST, &(f)->set, "KEY=VALUE",                                               \
     "set any config key, e.g. --set max_new_tokens.open_book=2048 (repeatable)", NULL, 0, 0},     \
    {"model", 0, CLI_OPT_STRING, &(f)->model, "ID",                                                \
     "model_id, e.g. llama3.1:8b-instruct-q6_K", NULL, 0, 0},                                      \
    {"engine", 0, CLI_OPT_STRING, &(f)->engine, "NAME",                                            \
     "engine: ollama, llamacpp, openai, openai_batch, fireworks_batch, dry", NULL, 0, 0},          \
    {"base-url", 0, CLI_OPT_STRING, &(f)->base_url, "URL",                                         \
     "engine base URL (default: the engine's usual local address)", NULL, 0, 0},                   \
    {"prompt-set", 0, CLI_OPT_STRING, &(f)->prompt_set, "NAME",                                    \
     "prompt set: default, operational_only, all, or one from the config", NULL, 0, 0},            \
    {"temps", 0, CLI_OPT_STRING, &(f)->temps, "LIST",                                              \
     "temperatures, e.g. 0,0.7", NULL, 0, 0},                                                      \
    {"limit-items", 0, CLI_OPT_LONG, &(f)->limit_items, "N",                                       \
     "use only the first N items of each dataset (0: all)", &(f)->limit_items_seen, 0, 0},         \
    {"parts-per-dataset", 0, CLI_OPT_LONG, &(f)->parts_per_dataset, "N",                           \
     "split each dataset's requests into N parts", &(f)->parts_per_dataset_seen, 0, 0},            \
    {"max-concurrent-jobs", 0, CLI_OPT_STRING, &(f)->max_concurrent_jobs, "N",                \
     "requests in flight at once, or auto (measure the engine, pick the fastest)", NULL, 0, 0}
/* clang-format on */

/*
 * Resolves the configuration into cfg, which must NOT be initialized yet
 * (this calls lleval_config_init): built-in defaults, then the file's
 * `preset:` key (unless --preset is given: it replaces it), then the config
 * file (a guide-style "config\eval_config.yaml" that does not exist is read
 * as "config/eval_config.yaml" outside Windows), then --preset, then
 * --set KEY=VALUE in order, then the named flags (--model, --engine,
 * --base-url, --prompt-set, --temps, --limit-items, --parts-per-dataset,
 * --max-concurrent-jobs), then lleval_config_validate() (every problem
 * printed, one per line) and, with f->check_datasets, that every dataset path
 * exists (lleval_config_check_datasets).
 *
 * Returns CLI_CONTINUE with cfg filled (the caller releases it with
 * lleval_config_release), or the exit status (2 for config errors) after
 * printing the error itself; cfg is then already released (releasing it
 * again is harmless).
 */
int cli_cfg_resolve(struct cli_ctx *ctx, struct cli_cfg_flags *f, struct lleval_config *cfg);

#endif
