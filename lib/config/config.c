/*
 * The lifecycle of a configuration: lleval_config_init fills in the built-in
 * defaults (the guide's "Conservative Defaults", docs/config.md lists them
 * beside each key) with origin "default"; lleval_config_release frees it all.
 */
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

void lleval_config_init(struct lleval_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->model_id = lleval_xstrdup("llama3.1:8b-instruct-q4_K_M");
    cfg->engine = LLEVAL_ENGINE_OLLAMA;
    cfg->context_length = 4096;
    cfg->temps = lleval_xcalloc(1, sizeof(double));
    cfg->temps[0] = 0.0;
    cfg->n_temps = 1;
    cfg->max_new_tokens[LLEVAL_CLOSED_BOOK] = 512;
    cfg->max_new_tokens[LLEVAL_OPEN_BOOK] = 1024;
    cfg->max_new_tokens[LLEVAL_MULTIPLE_CHOICE] = 16;
    cfg->top_k = 50;
    cfg->top_p = 1.0;
    cfg->seed = 1234;
    cfg->samples = 1;
    cfg->enable_local_telemetry = false;
    cfg->telemetry_interval_ms = 1000;
    cfg->max_concurrent_jobs = 1;
    cfg->parts_per_dataset = 1;
    cfg->limit_items = 0;
    cfg->request_timeout_s = 600;
    cfg->max_retries = 3;
    cfg->max_connect_failures = 5;
    cfg->keep_alive = lleval_xstrdup("5m");
    cfg->prompt_set = lleval_xstrdup("default");
    lleval_cfg_add_builtin_prompt_sets(cfg);
    cfg->prepared_dir = lleval_xstrdup("data/prepared");
    cfg->runs_dir = lleval_xstrdup("runs");
    cfg->batches_dir = lleval_xstrdup("data/batches");
    cfg->answer_extraction = lleval_xstrdup("none");
    cfg->strip_think = true;
    cfg->abstain_phrases = lleval_xcalloc(1, sizeof(char *));
    cfg->abstain_phrases[0] = lleval_xstrdup("unanswerable");
    cfg->n_abstain_phrases = 1;
    cfg->bootstrap_samples = 1000;
    cfg->bootstrap_seed = 12345;
    cfg->launch.enabled = false;
    cfg->launch.ctx_size = 0;
    cfg->launch.parallel = 0;
    cfg->launch.gpu_layers = -1;
    cfg->launch.max_restarts = 3;
    cfg->batch.completion_window = lleval_xstrdup("24h");
    cfg->batch.poll_interval_ms = 30000;
    cfg->batch.max_attempts = 3;
    cfg->launch.instances = 1;
    cfg->origin = lleval_xcalloc(LLEVAL_CFG_N_KEYS, sizeof(*cfg->origin));
    cfg->origin_where = lleval_xcalloc(LLEVAL_CFG_N_KEYS, sizeof(*cfg->origin_where));
    cfg->origin_over = lleval_xcalloc(LLEVAL_CFG_N_KEYS, sizeof(*cfg->origin_over));
}

void lleval_cfg_free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void lleval_config_release(struct lleval_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->source_path);
    free(cfg->preset);
    free(cfg->model_id);
    lleval_cfg_free_strv(cfg->models, cfg->n_models);
    lleval_cfg_free_model_cfgs(cfg->model_cfgs, cfg->n_model_cfgs);
    free(cfg->base_url);
    lleval_cfg_free_strv(cfg->base_urls, cfg->n_base_urls);
    lleval_cfg_free_endpoints(cfg->endpoints, cfg->n_endpoints);
    free(cfg->api_key_env);
    free(cfg->temps);
    lleval_cfg_free_strv(cfg->stop, cfg->n_stop);
    lleval_cfg_free_strv(cfg->abstain_phrases, cfg->n_abstain_phrases);
    free(cfg->keep_alive);
    free(cfg->prompt_set);
    for (size_t i = 0; i < cfg->n_prompt_sets; i++)
        lleval_cfg_free_prompt_set(&cfg->prompt_sets[i]);
    free(cfg->prompt_sets);
    lleval_cfg_free_datasets(cfg->datasets, cfg->n_datasets);
    free(cfg->prepared_dir);
    free(cfg->runs_dir);
    free(cfg->batches_dir);
    free(cfg->answer_extraction);
    free(cfg->launch.binary);
    free(cfg->launch.model);
    free(cfg->batch.completion_window);
    free(cfg->batch.account_id);
    lleval_cfg_free_strv(cfg->launch.extra_args, cfg->launch.n_extra_args);
    lleval_cfg_free_strv(cfg->launch.devices, cfg->launch.n_devices);
    if (cfg->origin_where)
        for (size_t i = 0; i < LLEVAL_CFG_N_KEYS; i++)
            free(cfg->origin_where[i]);
    free(cfg->origin_where);
    if (cfg->origin_over)
        for (size_t i = 0; i < LLEVAL_CFG_N_KEYS; i++)
            free(cfg->origin_over[i]);
    free(cfg->origin_over);
    free(cfg->origin);
    for (size_t i = 0; i < cfg->n_extra_origins; i++) {
        free(cfg->extra_origins[i].key);
        free(cfg->extra_origins[i].where);
    }
    free(cfg->extra_origins);
    memset(cfg, 0, sizeof(*cfg));
}
