/* Shared config flags of run, prepare, build, smoke and config show: resolving
 * defaults < the file's preset < config file < --preset < other flags (see cfgopts.h). */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

/* Applies one --set KEY=VALUE. */
static int apply_set(struct lleval_config *cfg, const char *arg, struct lleval_err *err)
{
    const char *eq = strchr(arg, '=');
    char *key;
    int rc;

    if (!eq || eq == arg)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "--set: '%s' is not KEY=VALUE; write e.g. --set top_k=20 or --set "
                              "max_new_tokens.open_book=2048",
                              arg);
    key = lleval_xstrndup(arg, (size_t)(eq - arg));
    if (!strcmp(key, "preset"))
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "--set: the preset is not a --set key; use --preset %s instead of "
                            "--set preset=%s",
                            eq + 1, eq + 1);
    else
        rc = lleval_config_set(cfg, key, eq + 1, "--set", err);
    free(key);
    return rc;
}

static int set_long(struct lleval_config *cfg, const char *key, long v, const char *flag,
                    struct lleval_err *err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%ld", v);
    return lleval_config_set(cfg, key, buf, flag, err);
}

/* Without --config: $LLEVAL_CONFIG, else the guide's config/eval_config.yaml,
 * else lleval.yaml, when present; NULL means the built-in defaults only. */
static const char *default_config(void)
{
    static const char *const candidates[] = {"config/eval_config.yaml", "lleval.yaml"};
    const char *env = getenv("LLEVAL_CONFIG");
    if (env && *env)
        return env;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(candidates); i++)
        if (lleval_path_exists(candidates[i]))
            return candidates[i];
    return NULL;
}

/* The guide writes Windows paths (`--config config\\eval_config.yaml`). Where '\\' is
 * not a separator, such a path that does not exist is read with '/' when that one
 * exists. Returns an owned path, or NULL to use path as it is. */
static char *guide_path(const char *path)
{
    char *alt;
    if (lleval_platform_is_windows() || !strchr(path, '\\') || lleval_path_exists(path))
        return NULL;
    alt = lleval_xstrdup(path);
    for (char *p = alt; *p; p++)
        if (*p == '\\')
            *p = '/';
    if (lleval_path_exists(alt))
        return alt;
    free(alt);
    return NULL;
}

static int resolve(struct cli_cfg_flags *f, struct lleval_config *cfg, struct lleval_err *err)
{
    int rc;

    if (!f->config)
        f->config = default_config();

    if (f->preset && (rc = lleval_config_set(cfg, "preset", f->preset, "--preset", err)))
        return rc;
    if (f->config) {
        char *alt = guide_path(f->config);
        rc = lleval_config_load_file(cfg, alt ? alt : f->config, err);
        free(alt);
        if (rc)
            return rc;
    }
    for (int i = 0; i < f->set.n; i++)
        if ((rc = apply_set(cfg, f->set.items[i], err)))
            return rc;
    if (f->model && (rc = lleval_config_set(cfg, "model_id", f->model, "--model", err)))
        return rc;
    if (f->engine && (rc = lleval_config_set(cfg, "engine", f->engine, "--engine", err)))
        return rc;
    if (f->base_url && (rc = lleval_config_set(cfg, "base_url", f->base_url, "--base-url", err)))
        return rc;
    if (f->prompt_set &&
        (rc = lleval_config_set(cfg, "prompt_set", f->prompt_set, "--prompt-set", err)))
        return rc;
    if (f->temps && (rc = lleval_config_set(cfg, "temps", f->temps, "--temps", err)))
        return rc;
    if (f->limit_items_seen &&
        (rc = set_long(cfg, "limit_items", f->limit_items, "--limit-items", err)))
        return rc;
    if (f->parts_per_dataset_seen &&
        (rc = set_long(cfg, "parts_per_dataset", f->parts_per_dataset, "--parts-per-dataset", err)))
        return rc;
    if (f->max_concurrent_jobs &&
        (rc = lleval_config_set(cfg, "max_concurrent_jobs", f->max_concurrent_jobs,
                                "--max-concurrent-jobs", err)))
        return rc;
    if (f->dry_run) {
        cfg->engine = LLEVAL_ENGINE_DRY; /* no model is loaded, whatever the config says */
        cfg->launch.enabled = false;
    }
    rc = lleval_config_validate(cfg, err);
    if (!rc && f->check_datasets)
        rc = lleval_config_check_datasets(cfg, err);
    return rc;
}

int cli_cfg_resolve(struct cli_ctx *ctx, struct cli_cfg_flags *f, struct lleval_config *cfg)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc;

    lleval_config_init(cfg);
    rc = resolve(f, cfg, &err);
    if (!rc)
        return CLI_CONTINUE;
    lleval_config_release(cfg);
    if (rc == LLEVAL_EINVAL)
        err.code = LLEVAL_EINVAL;
    /* every problem of the config on its own line */
    if (strchr(err.msg, '\n')) {
        const char *line = err.msg;
        size_t n = 0;
        while (line && *line) {
            const char *nl = strchr(line, '\n');
            int len = nl ? (int)(nl - line) : (int)strlen(line);
            cli_error(ctx, "%.*s", len, line);
            n += strncmp(line, "... and ", 8) != 0;
            line = nl ? nl + 1 : NULL;
        }
        cli_error(ctx, "%zu problems in the configuration: fix them all, then run again", n);
        return lleval_exit_code(err.code);
    }
    return cli_error_lib(ctx, &err);
}
