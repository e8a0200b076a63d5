/*
 * The `models:` list: several models in one run, each a mapping with its id
 * and the engine settings users expect to differ per model (the GGUF a
 * managed llama-server loads, its context, slots, GPU layers and extra
 * arguments, and the concurrency). The ids also fill model_id and the models
 * list, so the rest of the program sees a run of several models as with a
 * model_id list. The origin of every value is recorded as models[i].key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

enum {
    MK_ID,
    MK_LAUNCH,
    MK_JOBS,
    MK_N,
};
static const char *const model_keys[MK_N] = {"id", "launch", "max_concurrent_jobs"};

enum { ML_MODEL, ML_CTX, ML_PARALLEL, ML_GPU, ML_EXTRA, ML_N };
static const char *const launch_keys[ML_N] = {"model", "ctx_size", "parallel", "gpu_layers",
                                              "extra_args"};

static void free_model(struct lleval_model_cfg *m)
{
    free(m->id);
    free(m->launch_model);
    lleval_cfg_free_strv(m->extra_args, m->n_extra_args);
}

void lleval_cfg_free_model_cfgs(struct lleval_model_cfg *ms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_model(&ms[i]);
    free(ms);
}

/* The range of a launch setting: the table's (one rule for both places). */
static const struct lleval_cfg_key *table_key(const char *path)
{
    return &lleval_cfg_key_defs[lleval_cfg_key_index_checked(path)];
}

/* Records the origin of models[i].<key> at node n. */
static void note_origin(const struct lleval_cfg_src *s, const char *key, const yaml_node_t *n)
{
    char *where = lleval_cfg_where(s, n);
    lleval_cfg_set_extra_origin(s->cfg, key, s->from, where);
    free(where);
}

/* The `launch:` mapping of models[i]. */
static int load_launch(const struct lleval_cfg_src *s, yaml_node_t *map, const char *path,
                       struct lleval_model_cfg *m)
{
    char hint[128];
    int rc = 0;

    if (lleval_cfg_is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return lleval_cfg_fail(s, map,
                               "'%s' must be a mapping like '{model: models/a.gguf, ctx_size: "
                               "8192}', not %s",
                               path, lleval_cfg_kind_of(map));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         !rc && p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *v = lleval_cfg_node(s, p->value);
        const char *name, *known;
        char key[128], tkey[64];
        if ((rc = lleval_cfg_pair_key(s, map, p, path, &name)))
            return rc;
        known = lleval_cfg_one_of(name, launch_keys, ML_N);
        if (!known)
            return lleval_cfg_fail(s, lleval_cfg_node(s, p->key),
                                   "unknown key '%s.%s'%s; a model's launch keys: model, "
                                   "ctx_size, parallel, gpu_layers, extra_args (the others are "
                                   "set once, under the top-level 'launch:')",
                                   path, name,
                                   lleval_cfg_dym_mid(hint, sizeof(hint), name, launch_keys, ML_N));
        snprintf(key, sizeof(key), "%s.%s", path, name);
        snprintf(tkey, sizeof(tkey), "launch.%s", name);
        if (known == launch_keys[ML_MODEL]) {
            free(m->launch_model);
            m->launch_model = NULL;
            rc = lleval_cfg_get_string(s, v, key, false, &m->launch_model);
            if (!rc) { /* as under the top-level launch: a model file means "start llama-server" */
                char *where = lleval_cfg_where(s, v);
                s->cfg->launch.enabled = true;
                lleval_cfg_set_origin(s->cfg, lleval_cfg_key_index_checked("launch.enabled"),
                                      s->from, where);
                free(where);
            }
        } else if (known == launch_keys[ML_EXTRA]) {
            lleval_cfg_free_strv(m->extra_args, m->n_extra_args);
            m->extra_args = NULL;
            m->n_extra_args = 0;
            rc = lleval_cfg_get_string_list(s, v, key, &m->extra_args, &m->n_extra_args);
            m->has_extra_args = !rc;
        } else {
            const struct lleval_cfg_key *k = table_key(tkey);
            long *out = known == launch_keys[ML_CTX]        ? &m->ctx_size
                        : known == launch_keys[ML_PARALLEL] ? &m->parallel
                                                            : &m->gpu_layers;
            rc = lleval_cfg_get_long(s, v, key, (long)k->min, (long)k->max, out);
        }
        if (!rc)
            note_origin(s, key, v);
    }
    return rc;
}

static int load_model(const struct lleval_cfg_src *s, yaml_node_t *item, size_t i,
                      struct lleval_model_cfg *ms)
{
    struct lleval_model_cfg *m = &ms[i];
    yaml_node_t *nodes[MK_N] = {0};
    char path[48], key[96], hint[128];
    int rc;

    snprintf(path, sizeof(path), "models[%zu]", i);
    if (item->type != YAML_MAPPING_NODE)
        return lleval_cfg_fail(s, item,
                               "'%s' must be a mapping with an id (e.g. '- id: qwen2.5-7b' with "
                               "'launch: {model: models/qwen2.5-7b.gguf}'), not %s",
                               path, lleval_cfg_kind_of(item));
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
         p++) {
        const char *name, *known;
        size_t j;
        if ((rc = lleval_cfg_pair_key(s, item, p, path, &name)))
            return rc;
        known = lleval_cfg_one_of(name, model_keys, MK_N);
        if (!known)
            return lleval_cfg_fail(s, lleval_cfg_node(s, p->key),
                                   "unknown key '%s.%s'%s; a model's keys: id, launch, "
                                   "max_concurrent_jobs",
                                   path, name,
                                   lleval_cfg_dym_mid(hint, sizeof(hint), name, model_keys, MK_N));
        for (j = 0; j < MK_N && model_keys[j] != known; j++)
            ;
        nodes[j] = lleval_cfg_node(s, p->value);
    }
    if (!nodes[MK_ID])
        return lleval_cfg_fail(s, item,
                               "'%s' has no 'id'; add the model name requests use, e.g. 'id: "
                               "qwen2.5-7b'",
                               path);
    snprintf(key, sizeof(key), "%s.id", path);
    if ((rc = lleval_cfg_get_string(s, nodes[MK_ID], key, false, &m->id)))
        return rc;
    note_origin(s, key, nodes[MK_ID]);
    for (size_t j = 0; j < i; j++)
        if (!strcmp(ms[j].id, m->id))
            return lleval_cfg_fail(s, nodes[MK_ID],
                                   "'models' lists '%.100s' twice; give each model once", m->id);
    if (nodes[MK_JOBS]) {
        const struct lleval_cfg_key *k = table_key("max_concurrent_jobs");
        snprintf(key, sizeof(key), "%s.max_concurrent_jobs", path);
        if ((rc = lleval_cfg_get_long(s, nodes[MK_JOBS], key, (long)k->min, (long)k->max,
                                      &m->max_concurrent_jobs)))
            return rc;
        note_origin(s, key, nodes[MK_JOBS]);
    }
    if (nodes[MK_LAUNCH]) {
        snprintf(key, sizeof(key), "%s.launch", path);
        rc = load_launch(s, nodes[MK_LAUNCH], key, m);
    }
    return rc;
}

/* Sets model_id and the models list from the entries' ids. */
static void set_ids(struct lleval_config *cfg)
{
    if (!cfg->n_model_cfgs)
        return; /* models: null leaves model_id as it is */
    lleval_cfg_free_strv(cfg->models, cfg->n_models);
    cfg->models = NULL;
    cfg->n_models = 0;
    free(cfg->model_id);
    cfg->model_id = lleval_xstrdup(cfg->model_cfgs[0].id);
    if (cfg->n_model_cfgs < 2)
        return;
    cfg->models = lleval_xcalloc(cfg->n_model_cfgs, sizeof(char *));
    for (size_t i = 0; i < cfg->n_model_cfgs; i++)
        cfg->models[i] = lleval_xstrdup(cfg->model_cfgs[i].id);
    cfg->n_models = cfg->n_model_cfgs;
}

int lleval_cfg_load_models(const struct lleval_cfg_src *s, yaml_node_t *n)
{
    struct lleval_model_cfg *ms = NULL;
    size_t nm = 0;
    int rc = 0;

    if (!lleval_cfg_is_null(n) && n->type != YAML_SEQUENCE_NODE)
        return lleval_cfg_fail(s, n,
                               "'models' must be a list of models ('- id: qwen2.5-7b'), not %s",
                               lleval_cfg_kind_of(n));
    lleval_cfg_clear_extra_origins(s->cfg, "models");
    if (!lleval_cfg_is_null(n)) {
        size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (!total)
            return lleval_cfg_fail(s, n,
                                   "'models' is an empty list; give at least one model ('- id: "
                                   "qwen2.5-7b'), or remove the key");
        ms = lleval_xcalloc(total, sizeof(*ms));
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             !rc && it < n->data.sequence.items.top; it++) {
            struct lleval_model_cfg *m = &ms[nm];
            m->ctx_size = m->parallel = m->gpu_layers = LLEVAL_MODEL_INHERIT;
            m->max_concurrent_jobs = LLEVAL_MODEL_INHERIT;
            rc = load_model(s, lleval_cfg_node(s, *it), nm, ms);
            nm++;
        }
    }
    if (rc) {
        lleval_cfg_free_model_cfgs(ms, nm);
        return rc;
    }
    lleval_cfg_free_model_cfgs(s->cfg->model_cfgs, s->cfg->n_model_cfgs);
    s->cfg->model_cfgs = ms;
    s->cfg->n_model_cfgs = nm;
    set_ids(s->cfg);
    return 0;
}

const struct lleval_model_cfg *lleval_config_model(const struct lleval_config *cfg,
                                                   const char *model)
{
    if (!cfg->n_model_cfgs)
        return NULL;
    if (!model)
        return &cfg->model_cfgs[0];
    for (size_t i = 0; i < cfg->n_model_cfgs; i++)
        if (!strcmp(cfg->model_cfgs[i].id, model))
            return &cfg->model_cfgs[i];
    return NULL;
}

void lleval_config_for_model(const struct lleval_config *cfg, const char *model,
                             struct lleval_config *out)
{
    const struct lleval_model_cfg *m = lleval_config_model(cfg, model);
    *out = *cfg;
    if (model)
        out->model_id = (char *)model;
    if (!m)
        return;
    if (m->launch_model)
        out->launch.model = m->launch_model;
    if (m->ctx_size != LLEVAL_MODEL_INHERIT)
        out->launch.ctx_size = m->ctx_size;
    if (m->parallel != LLEVAL_MODEL_INHERIT)
        out->launch.parallel = m->parallel;
    if (m->gpu_layers != LLEVAL_MODEL_INHERIT)
        out->launch.gpu_layers = m->gpu_layers;
    if (m->has_extra_args) {
        out->launch.extra_args = m->extra_args;
        out->launch.n_extra_args = m->n_extra_args;
    }
    if (m->max_concurrent_jobs != LLEVAL_MODEL_INHERIT)
        out->max_concurrent_jobs = m->max_concurrent_jobs;
}
