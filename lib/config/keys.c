/*
 * The key table: every leaf key of the configuration with its type, range and
 * field in struct lleval_config, in the order of `lleval config show` and of
 * the provenance array; the groups (mappings of table keys); and the hints for
 * a key that is not in the table.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "config_int.h"

/* max_concurrent_jobs 0 is auto (LLEVAL_JOBS_AUTO): text reads 1..256 or auto (apply.c).
 * Order = cfg->origin[] index = the order of `lleval config show`. The defaults are
 * set by lleval_config_init (config.c), the docs are docs/config.md. */
#define KEY_TABLE(X)                                                                               \
    X("preset", LLEVAL_CFG_PRESET, preset, 0, 0)                                                   \
    X("model_id", LLEVAL_CFG_MODELS, model_id, 0, 0)                                               \
    X("models", LLEVAL_CFG_MODEL_CFGS, model_cfgs, 0, 0)                                           \
    X("engine", LLEVAL_CFG_ENGINE, engine, 0, 0)                                                   \
    X("base_url", LLEVAL_CFG_URLS, base_url, 0, 0)                                                 \
    X("endpoints", LLEVAL_CFG_ENDPOINTS, endpoints, 0, 0)                                          \
    X("api_key_env", LLEVAL_CFG_NSTR, api_key_env, 0, 0)                                           \
    X("context_length", LLEVAL_CFG_LONG, context_length, 1, 16777216)                              \
    X("temps", LLEVAL_CFG_DLIST, temps, 0, 2)                                                      \
    X("max_new_tokens.closed_book", LLEVAL_CFG_LONG, max_new_tokens[0], 1, 1048576)                \
    X("max_new_tokens.open_book", LLEVAL_CFG_LONG, max_new_tokens[1], 1, 1048576)                  \
    X("max_new_tokens.multiple_choice", LLEVAL_CFG_LONG, max_new_tokens[2], 1, 1048576)            \
    X("top_k", LLEVAL_CFG_LONG, top_k, 0, 1000000)                                                 \
    X("top_p", LLEVAL_CFG_DOUBLE, top_p, 0, 1)                                                     \
    X("stop", LLEVAL_CFG_SLIST, stop, 0, 0)                                                        \
    X("seed", LLEVAL_CFG_LONG, seed, -1, 2147483647)                                               \
    X("samples", LLEVAL_CFG_LONG, samples, 1, 1000)                                                \
    X("enable_local_telemetry", LLEVAL_CFG_BOOL, enable_local_telemetry, 0, 0)                     \
    X("telemetry_interval_ms", LLEVAL_CFG_LONG, telemetry_interval_ms, 50, 3600000)                \
    X("max_concurrent_jobs", LLEVAL_CFG_LONG, max_concurrent_jobs, 0, 256)                         \
    X("parts_per_dataset", LLEVAL_CFG_LONG, parts_per_dataset, 1, 100000)                          \
    X("limit_items", LLEVAL_CFG_LONG, limit_items, 0, 2147483647)                                  \
    X("request_timeout_s", LLEVAL_CFG_LONG, request_timeout_s, 1, 86400)                           \
    X("max_retries", LLEVAL_CFG_LONG, max_retries, 0, 100)                                         \
    X("max_connect_failures", LLEVAL_CFG_LONG, max_connect_failures, 1, 100000)                    \
    X("keep_alive", LLEVAL_CFG_STR, keep_alive, 0, 0)                                              \
    X("prompt_set", LLEVAL_CFG_STR, prompt_set, 0, 0)                                              \
    X("prompt_sets", LLEVAL_CFG_PROMPT_SETS, prompt_sets, 0, 0)                                    \
    X("datasets", LLEVAL_CFG_DATASETS, datasets, 0, 0)                                             \
    X("paths.prepared_dir", LLEVAL_CFG_STR, prepared_dir, 0, 0)                                    \
    X("paths.runs_dir", LLEVAL_CFG_STR, runs_dir, 0, 0)                                            \
    X("paths.batches_dir", LLEVAL_CFG_STR, batches_dir, 0, 0)                                      \
    X("scoring.answer_extraction", LLEVAL_CFG_EXTRACTION, answer_extraction, 0, 0)                 \
    X("scoring.strip_think", LLEVAL_CFG_BOOL, strip_think, 0, 0)                                   \
    X("scoring.abstain_phrases", LLEVAL_CFG_SLIST, abstain_phrases, 0, 0)                          \
    X("scoring.bootstrap_samples", LLEVAL_CFG_LONG, bootstrap_samples, 0, 1000000)                 \
    X("scoring.bootstrap_seed", LLEVAL_CFG_LONG, bootstrap_seed, 0, 2147483647)                    \
    X("launch.enabled", LLEVAL_CFG_BOOL, launch.enabled, 0, 0)                                     \
    X("launch.binary", LLEVAL_CFG_NSTR, launch.binary, 0, 0)                                       \
    X("launch.model", LLEVAL_CFG_NSTR, launch.model, 0, 0)                                         \
    X("launch.ctx_size", LLEVAL_CFG_LONG, launch.ctx_size, 0, 16777216)                            \
    X("launch.parallel", LLEVAL_CFG_LONG, launch.parallel, 0, 256)                                 \
    X("launch.gpu_layers", LLEVAL_CFG_LONG, launch.gpu_layers, -1, 100000)                         \
    X("launch.extra_args", LLEVAL_CFG_SLIST, launch.extra_args, 0, 0)                              \
    X("launch.max_restarts", LLEVAL_CFG_LONG, launch.max_restarts, 0, 100)                         \
    X("launch.instances", LLEVAL_CFG_LONG, launch.instances, 1, 64)                                \
    X("launch.devices", LLEVAL_CFG_SLIST, launch.devices, 0, 0)                                    \
    X("batch.max_requests", LLEVAL_CFG_LONG, batch.max_requests, 0, 50000)                         \
    X("batch.max_bytes", LLEVAL_CFG_LONG, batch.max_bytes, 0, 209715200)                           \
    X("batch.completion_window", LLEVAL_CFG_STR, batch.completion_window, 0, 0)                    \
    X("batch.poll_interval_ms", LLEVAL_CFG_LONG, batch.poll_interval_ms, 10, 3600000)              \
    X("batch.max_attempts", LLEVAL_CFG_LONG, batch.max_attempts, 1, 100)                           \
    X("batch.account_id", LLEVAL_CFG_NSTR, batch.account_id, 0, 0)

#define KEY_DEF(p, k, m, lo, hi)  {p, k, offsetof(struct lleval_config, m), lo, hi},
#define KEY_NAME(p, k, m, lo, hi) p,

#define KEY_ONE(p, k, m, lo, hi) +1

_Static_assert(0 KEY_TABLE(KEY_ONE) == LLEVAL_CFG_N_KEYS,
               "LLEVAL_CFG_N_KEYS in config_int.h must count the keys of KEY_TABLE");

const struct lleval_cfg_key lleval_cfg_key_defs[LLEVAL_CFG_N_KEYS] = {KEY_TABLE(KEY_DEF)};
static const char *const key_names[] = {KEY_TABLE(KEY_NAME) NULL};

/* Mappings whose children are keys of the table. */
static const char *const group_names[] = {"max_new_tokens", "paths", "scoring", "launch", "batch"};

const char *const *lleval_config_keys(void)
{
    return key_names;
}

int lleval_config_key_index(const char *key)
{
    for (size_t i = 0; key && i < LLEVAL_CFG_N_KEYS; i++)
        if (!strcmp(lleval_cfg_key_defs[i].path, key))
            return (int)i;
    return -1;
}

int lleval_cfg_key_index_checked(const char *key)
{
    int i = lleval_config_key_index(key);
    return i < 0 ? 0 : i; /* callers pass table names only */
}

bool lleval_cfg_is_group(const char *path)
{
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(group_names); i++)
        if (!strcmp(group_names[i], path))
            return true;
    return false;
}

bool lleval_cfg_is_api_key(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *last = dot ? dot + 1 : path;
    return !strcmp(last, "api_key") || !strcmp(last, "apikey") || !strcmp(last, "api-key");
}

/* The names one level below group (NULL: the top level), for suggestions. */
static size_t child_names(const char *group, const char **out, size_t max)
{
    size_t n = 0, glen = group ? strlen(group) : 0;
    for (size_t i = 0; i < LLEVAL_CFG_N_KEYS && n < max; i++) {
        const char *p = lleval_cfg_key_defs[i].path, *dot;
        char buf[64];
        bool seen = false;
        if (group) {
            if (strncmp(p, group, glen) || p[glen] != '.')
                continue;
            out[n++] = p + glen + 1;
            continue;
        }
        dot = strchr(p, '.');
        snprintf(buf, sizeof(buf), "%.*s", dot ? (int)(dot - p) : (int)strlen(p), p);
        for (size_t j = 0; j < n && !seen; j++)
            seen = !strcmp(out[j], buf);
        if (seen)
            continue;
        if (dot) { /* group names are in group_names[] */
            for (size_t g = 0; g < LLEVAL_ARRAY_SIZE(group_names); g++)
                if (!strcmp(group_names[g], buf))
                    out[n++] = group_names[g];
        } else {
            out[n++] = p;
        }
    }
    return n;
}

const char *lleval_cfg_unknown_key_hint(char *buf, size_t size, const char *path, const char *group)
{
    static const char *const aliases[][2] = {
        {"temperature", "temps"},
        {"temperatures", "temps"},
        {"temp", "temps"},
        {"model", "model_id"},
        {"model_name", "model_id"},
        {"max_tokens", "max_new_tokens"},
        {"concurrency", "max_concurrent_jobs"},
        {"workers", "max_concurrent_jobs"},
        {"num_ctx", "context_length"},
        {"ctx_size", "context_length"},
        {"dry_run", "engine: dry"},
    };
    const char *names[LLEVAL_CFG_N_KEYS];
    const char *last = strrchr(path, '.');
    const char *best;
    size_t n = child_names(group, names, LLEVAL_CFG_N_KEYS);

    last = last ? last + 1 : path;
    /* the known other names first: 'model' means model_id, not the close 'models' */
    for (size_t i = 0; !group && i < LLEVAL_ARRAY_SIZE(aliases); i++) {
        if (!strcmp(last, aliases[i][0])) {
            snprintf(buf, size, "did you mean '%s'?", aliases[i][1]);
            return buf;
        }
    }
    best = lleval_cfg_guess(last, names, n);
    if (best) {
        snprintf(buf, size, "did you mean '%s%s%s'?", group ? group : "", group ? "." : "", best);
        return buf;
    }
    for (size_t i = 0; i < LLEVAL_CFG_N_KEYS; i++) {
        const char *key = lleval_cfg_key_defs[i].path, *dot = strrchr(key, '.');
        if (dot && !strcmp(dot + 1, last) && strcmp(key, path)) {
            snprintf(buf, size, "did you mean '%s' (under '%.*s:')?", key, (int)(dot - key), key);
            return buf;
        }
    }
    snprintf(buf, size, "the keys are listed in docs/config.md and by 'lleval config show'");
    return buf;
}

const char *lleval_cfg_guess_key(const char *key)
{
    const char *names[LLEVAL_CFG_N_KEYS + LLEVAL_ARRAY_SIZE(group_names)];
    size_t n = 0;
    for (size_t i = 0; i < LLEVAL_CFG_N_KEYS; i++)
        names[n++] = lleval_cfg_key_defs[i].path;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(group_names); i++)
        names[n++] = group_names[i];
    return lleval_cfg_guess(key, names, n);
}
