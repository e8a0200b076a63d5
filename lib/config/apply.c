/*
 * Applying values: one key of the table from a YAML node (a file's value, a
 * preset's or a flag's), recording its origin; the mappings of a file, with
 * unknown keys answered by a suggestion and API keys refused; and values
 * from the command line (--set KEY=VALUE and the named flags), turned into a
 * one-node YAML document so that they go through the same readers.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

static void *field_of(struct lleval_config *cfg, const struct lleval_cfg_key *k)
{
    return (char *)cfg + k->off;
}

/* The (array, count) pair of a list key. */
static void list_fields(struct lleval_config *cfg, const struct lleval_cfg_key *k, void ***items,
                        size_t **count)
{
    if (!strcmp(k->path, "temps")) {
        *items = (void **)&cfg->temps;
        *count = &cfg->n_temps;
    } else if (!strcmp(k->path, "stop")) {
        *items = (void **)&cfg->stop;
        *count = &cfg->n_stop;
    } else if (!strcmp(k->path, "scoring.abstain_phrases")) {
        *items = (void **)&cfg->abstain_phrases;
        *count = &cfg->n_abstain_phrases;
    } else if (!strcmp(k->path, "launch.devices")) {
        *items = (void **)&cfg->launch.devices;
        *count = &cfg->launch.n_devices;
    } else {
        *items = (void **)&cfg->launch.extra_args;
        *count = &cfg->launch.n_extra_args;
    }
}

/* model_id: one string, or a list of them (several models in one run; a list of
 * one is that model). cfg->model_id is always the first. */
static int apply_models(const struct lleval_cfg_src *s, yaml_node_t *n)
{
    struct lleval_config *cfg = s->cfg;
    char **v = NULL, *str = NULL;
    size_t nv = 0;
    int rc;

    if (n->type != YAML_SEQUENCE_NODE) {
        rc = lleval_cfg_get_string(s, n, "model_id", false, &str);
    } else {
        rc = lleval_cfg_get_string_list(s, n, "model_id", &v, &nv);
        if (!rc && !nv)
            rc = lleval_cfg_fail(s, n,
                                 "'model_id' is an empty list; give a model, or a list of "
                                 "models like [llama3.1:8b, qwen2.5:7b]");
        if (!rc)
            str = lleval_xstrdup(v[0]);
    }
    if (rc) {
        lleval_cfg_free_strv(v, nv);
        return rc;
    }
    free(cfg->model_id);
    cfg->model_id = str;
    lleval_cfg_free_strv(cfg->models, cfg->n_models);
    cfg->models = NULL;
    cfg->n_models = 0;
    if (nv > 1) {
        cfg->models = v;
        cfg->n_models = nv;
    } else {
        lleval_cfg_free_strv(v, nv);
    }
    return 0;
}

/* max_concurrent_jobs: a whole number in the key's range, or auto
 * (LLEVAL_JOBS_AUTO: the run measures the engine and picks, run/tune.h). */
static int get_jobs(const struct lleval_cfg_src *s, yaml_node_t *n, const struct lleval_cfg_key *k,
                    long *out)
{
    static const char *const words[] = {"auto"};
    const char *t = n->type == YAML_SCALAR_NODE ? lleval_cfg_text(n) : "";
    char hint[64];
    long v;

    if (!strcmp(t, "auto")) {
        *out = LLEVAL_JOBS_AUTO;
        return 0;
    }
    if (n->type == YAML_SCALAR_NODE && !lleval_parse_long(t, -2147483647L - 1, 2147483647L, &v) &&
        (v < 1 || v > (long)k->max))
        return lleval_cfg_fail(s, n, "'%s' must be from 1 to %ld, not %ld (or auto)", k->path,
                               (long)k->max, v);
    if (n->type == YAML_SCALAR_NODE && !lleval_cfg_is_null(n) &&
        lleval_parse_long(t, -2147483647L - 1, 2147483647L, &v)) {
        lleval_cfg_dym(hint, sizeof(hint), t, words, 1);
        return lleval_cfg_fail(s, n,
                               "'%s' must be a whole number from 1 to %ld, or auto, not "
                               "'%.60s'%s",
                               k->path, (long)k->max, t, hint);
    }
    return lleval_cfg_get_long(s, n, k->path, 1L, (long)k->max, out);
}

/* Sets key idx of the table from node n and records where it came from. */
static int apply_value(const struct lleval_cfg_src *s, int idx, yaml_node_t *n)
{
    const struct lleval_cfg_key *k = &lleval_cfg_key_defs[idx];
    struct lleval_config *cfg = s->cfg;
    void *field = field_of(cfg, k);
    char *where, *str = NULL, hint[128];
    int rc = 0;

    switch (k->kind) {
    case LLEVAL_CFG_PRESET:
        return lleval_cfg_apply_preset_node(s, n);
    case LLEVAL_CFG_STR:
    case LLEVAL_CFG_NSTR:
        rc = lleval_cfg_get_string(s, n, k->path, k->kind == LLEVAL_CFG_NSTR, &str);
        if (!rc) {
            free(*(char **)field);
            *(char **)field = str;
        }
        break;
    case LLEVAL_CFG_MODELS:
        rc = apply_models(s, n);
        break;
    case LLEVAL_CFG_LONG: {
        long v = 0;
        if (!strcmp(k->path, "max_concurrent_jobs"))
            rc = get_jobs(s, n, k, &v);
        else
            rc = lleval_cfg_get_long(s, n, k->path, (long)k->min, (long)k->max, &v);
        if (!rc)
            *(long *)field = v;
        break;
    }
    case LLEVAL_CFG_DOUBLE: {
        double v = 0;
        rc = lleval_cfg_get_double(s, n, k->path, k->min, k->max, &v);
        if (!rc)
            *(double *)field = v;
        break;
    }
    case LLEVAL_CFG_BOOL: {
        bool v = false;
        rc = lleval_cfg_get_bool(s, n, k->path, &v);
        if (!rc)
            *(bool *)field = v;
        break;
    }
    case LLEVAL_CFG_ENGINE: {
        enum lleval_engine_kind e;
        rc = lleval_cfg_get_string(s, n, k->path, false, &str);
        if (rc)
            break;
        if (lleval_engine_kind_parse(str, &e)) {
            static const char *const aliases[] = {"llama.cpp", "llama-cpp", "llama_cpp",
                                                  "llama-server", "llama_server"};
            if (lleval_cfg_one_of(str, aliases, LLEVAL_ARRAY_SIZE(aliases)))
                snprintf(hint, sizeof(hint), "; did you mean 'llamacpp'?");
            else
                lleval_cfg_dym(hint, sizeof(hint), str, lleval_cfg_engine_names,
                               LLEVAL_CFG_N_ENGINES);
            rc = lleval_cfg_fail(
                s, n, "'engine' must be one of " LLEVAL_CFG_ENGINE_LIST ", not '%.60s'%s", str,
                hint);
        } else {
            cfg->engine = e;
        }
        free(str);
        break;
    }
    case LLEVAL_CFG_EXTRACTION:
        rc = lleval_cfg_get_choice(s, n, k->path, lleval_cfg_extraction_names,
                                   LLEVAL_CFG_N_EXTRACTIONS, &str);
        if (!rc) {
            free(cfg->answer_extraction);
            cfg->answer_extraction = str;
        }
        break;
    case LLEVAL_CFG_DLIST: {
        double *v;
        size_t nv;
        rc = lleval_cfg_get_double_list(s, n, k->path, k->min, k->max, &v, &nv);
        if (!rc) {
            free(cfg->temps);
            cfg->temps = v;
            cfg->n_temps = nv;
        }
        break;
    }
    case LLEVAL_CFG_SLIST: {
        char **v;
        size_t nv;
        void **items;
        size_t *count;
        rc = lleval_cfg_get_string_list(s, n, k->path, &v, &nv);
        if (!rc) {
            list_fields(cfg, k, &items, &count);
            lleval_cfg_free_strv((char **)*items, *count);
            *items = v;
            *count = nv;
        }
        break;
    }
    case LLEVAL_CFG_PROMPT_SETS:
        rc = lleval_cfg_load_prompt_sets(s, n);
        break;
    case LLEVAL_CFG_DATASETS:
        rc = lleval_cfg_load_datasets(s, n);
        break;
    case LLEVAL_CFG_URLS:
        rc = lleval_cfg_apply_urls(s, n);
        break;
    case LLEVAL_CFG_ENDPOINTS:
        rc = lleval_cfg_load_endpoints(s, n);
        break;
    case LLEVAL_CFG_MODEL_CFGS:
        rc = lleval_cfg_load_models(s, n);
        break;
    }
    if (rc)
        return rc;
    where = lleval_cfg_where(s, n);
    lleval_cfg_set_origin(cfg, idx, s->from, where);
    /* a launch section with a model means "start llama-server" */
    if (!strcmp(k->path, "launch.model") && cfg->launch.model) {
        cfg->launch.enabled = true;
        lleval_cfg_set_origin(cfg, lleval_cfg_key_index_checked("launch.enabled"), s->from, where);
    }
    free(where);
    return 0;
}

static int load_mapping(const struct lleval_cfg_src *s, yaml_node_t *map, const char *group);

/* A group value: a mapping of its keys; max_new_tokens also takes one number for all. */
static int apply_group(const struct lleval_cfg_src *s, const char *group, yaml_node_t *n)
{
    if (lleval_cfg_is_null(n))
        return 0;
    if (n->type == YAML_MAPPING_NODE)
        return load_mapping(s, n, group);
    if (!strcmp(group, "max_new_tokens") && n->type == YAML_SCALAR_NODE) {
        for (int t = 0; t < LLEVAL_N_ITEM_TYPES; t++) {
            char *path = lleval_xasprintf("max_new_tokens.%s", lleval_cfg_item_type_names[t]);
            int rc = apply_value(s, lleval_cfg_key_index_checked(path), n);
            free(path);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!strcmp(group, "max_new_tokens"))
        return lleval_cfg_fail(s, n,
                               "'max_new_tokens' must be a number or a mapping like '{closed_book: "
                               "512, open_book: 1024}', not %s",
                               lleval_cfg_kind_of(n));
    return lleval_cfg_fail(s, n, "'%s' must be a mapping of its keys (see docs/config.md), not %s",
                           group, lleval_cfg_kind_of(n));
}

static int api_key_error(const struct lleval_cfg_src *s, const yaml_node_t *k, const char *path)
{
    return lleval_cfg_fail(
        s, k,
        "'%s' is not allowed: API keys never go in config files; put the key in an "
        "environment variable and name it with 'api_key_env: OPENAI_API_KEY'",
        path);
}

/* One key of a mapping of a file (group: the mapping's name, NULL at the top level). */
static int load_pair(const struct lleval_cfg_src *s, yaml_node_t *map, yaml_node_pair_t *p,
                     const char *group)
{
    const char *name;
    char *path, hint[256];
    int idx, rc;
    yaml_node_t *k = lleval_cfg_node(s, p->key), *v = lleval_cfg_node(s, p->value);

    if ((rc = lleval_cfg_pair_key(s, map, p, group, &name)))
        return rc;
    if (!group && s->file && !strcmp(name, "preset"))
        return 0; /* applied first, by lleval_cfg_load_top */
    path = group ? lleval_xasprintf("%s.%s", group, name) : lleval_xstrdup(name);
    idx = lleval_config_key_index(path);
    if (lleval_cfg_is_api_key(path))
        rc = api_key_error(s, k, path);
    else if (idx >= 0)
        rc = apply_value(s, idx, v);
    else if (lleval_cfg_is_group(path))
        rc = apply_group(s, path, v);
    else
        rc = lleval_cfg_fail(s, k, "unknown key '%s'; %s", path,
                             lleval_cfg_unknown_key_hint(hint, sizeof(hint), path, group));
    free(path);
    return rc;
}

/* rc of one key: with a collector, the problem is kept and the next key is read. */
static int key_done(const struct lleval_cfg_src *s, int rc)
{
    if (!rc || !s->problems || rc != LLEVAL_EINVAL)
        return rc;
    lleval_cfg_problem_err(s->problems, s->err);
    *s->err = (struct lleval_err)LLEVAL_ERR_INIT;
    return 0;
}

static int load_mapping(const struct lleval_cfg_src *s, yaml_node_t *map, const char *group)
{
    /* in 'launch', an explicit 'enabled' wins over the model's implied one: apply it last */
    bool launch = group && !strcmp(group, "launch");
    yaml_node_pair_t *enabled = NULL;
    int rc;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = lleval_cfg_node(s, p->key);
        if (launch && k && k->type == YAML_SCALAR_NODE && !strcmp(lleval_cfg_text(k), "enabled") &&
            !enabled) {
            enabled = p;
            continue;
        }
        if ((rc = key_done(s, load_pair(s, map, p, group))))
            return rc;
    }
    return enabled ? key_done(s, load_pair(s, map, enabled, group)) : 0;
}

int lleval_cfg_load_top(const struct lleval_cfg_src *s, yaml_node_t *root)
{
    int rc;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = lleval_cfg_node(s, p->key);
        const char *name;
        /* a bad key is reported again (and collected) by load_mapping */
        if (lleval_cfg_pair_key(s, root, p, NULL, &name)) {
            *s->err = (struct lleval_err)LLEVAL_ERR_INIT;
            continue;
        }
        if (k && !strcmp(name, "preset") &&
            (rc = key_done(s, apply_value(s, lleval_cfg_key_index_checked("preset"),
                                          lleval_cfg_node(s, p->value)))))
            return rc;
    }
    return load_mapping(s, root, NULL);
}

/* ---- values from the command line ----------------------------------------------------------- */

static int unknown_set_key(const char *key, const char *flag, struct lleval_err *err)
{
    const char *best = lleval_cfg_guess_key(key);
    if (best)
        return lleval_err_set(err, LLEVAL_EINVAL, "%s: unknown key '%.60s'; did you mean '%s'?",
                              flag, key, best);
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "%s: unknown key '%.60s'; the keys are listed in docs/config.md and by "
                          "'lleval config show'",
                          flag, key);
}

/* Builds a one-node (or one-list) document from command-line text. */
static int text_document(const char *key, const char *value, bool list, const char *flag,
                         yaml_document_t *doc, struct lleval_err *err)
{
    size_t bad;
    /* libyaml refuses such a scalar (node 0), which it would then assert on */
    if (!lleval_utf8_valid(value, strlen(value), &bad))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: the value of '%s' is not valid UTF-8 text (byte %zu)", flag, key,
                              bad + 1);
    if (value[0] == '[' || value[0] == '{') {
        yaml_parser_t parser;
        int ok;
        if (!yaml_parser_initialize(&parser))
            return lleval_err_set(err, LLEVAL_EIO, "%s: cannot start the YAML parser", flag);
        yaml_parser_set_input_string(&parser, (const unsigned char *)value, strlen(value));
        ok = yaml_parser_load(&parser, doc);
        if (!ok) {
            lleval_err_set(err, LLEVAL_EINVAL,
                           "%s: the value of '%s' is not valid YAML flow syntax (%s); write lists "
                           "like [0.0, 0.7] or [\"Q:\", \"A:\"]",
                           flag, key, parser.problem ? parser.problem : "cannot parse");
        }
        yaml_parser_delete(&parser);
        if (ok && !yaml_document_get_root_node(doc)) {
            yaml_document_delete(doc);
            return lleval_err_set(err, LLEVAL_EINVAL, "%s: no value given for '%s'", flag, key);
        }
        return ok ? 0 : LLEVAL_EINVAL;
    }
    if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1))
        return lleval_err_set(err, LLEVAL_EIO, "%s: out of memory", flag);
    if (list) {
        int seq = yaml_document_add_sequence(doc, NULL, YAML_FLOW_SEQUENCE_STYLE);
        const char *p = value;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            const char *a = p, *b = p + len;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            int item = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)a, (int)(b - a),
                                                YAML_PLAIN_SCALAR_STYLE);
            yaml_document_append_sequence_item(doc, seq, item);
            p = comma ? comma + 1 : p + len;
        }
    } else {
        yaml_document_add_scalar(doc, NULL, (yaml_char_t *)value, (int)strlen(value),
                                 YAML_PLAIN_SCALAR_STYLE);
    }
    return 0;
}

int lleval_cfg_set_text(struct lleval_config *cfg, const char *key, const char *value,
                        enum lleval_origin from, const char *flag, struct lleval_err *err)
{
    yaml_document_t doc;
    struct lleval_cfg_src s = {cfg, NULL, flag, from, &doc, err, NULL};
    int idx = lleval_config_key_index(key);
    bool list = idx >= 0 && (lleval_cfg_key_defs[idx].kind == LLEVAL_CFG_DLIST ||
                             lleval_cfg_key_defs[idx].kind == LLEVAL_CFG_SLIST ||
                             ((lleval_cfg_key_defs[idx].kind == LLEVAL_CFG_MODELS ||
                               lleval_cfg_key_defs[idx].kind == LLEVAL_CFG_URLS) &&
                              value && strchr(value, ',')));
    yaml_node_t *root;
    int rc;

    if (!value)
        value = "";
    if (lleval_cfg_is_api_key(key))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: '%s' is not allowed: API keys never go in configs; put the "
                              "key in an environment variable and name it with --set "
                              "api_key_env=OPENAI_API_KEY",
                              flag, key);
    if (idx < 0 && !lleval_cfg_is_group(key))
        return unknown_set_key(key, flag, err);
    if (idx >= 0 && lleval_cfg_key_defs[idx].kind == LLEVAL_CFG_PRESET) {
        rc = lleval_cfg_apply_preset(cfg, value, from, flag, err);
        return rc ? lleval_err_prefix(err, "%s", flag) : 0;
    }
    rc = text_document(key, value, list, flag, &doc, err);
    if (rc)
        return rc;
    root = yaml_document_get_root_node(&doc);
    rc = idx >= 0 ? apply_value(&s, idx, root) : apply_group(&s, key, root);
    yaml_document_delete(&doc);
    return rc;
}

int lleval_config_set(struct lleval_config *cfg, const char *key, const char *value,
                      const char *flag, struct lleval_err *err)
{
    return lleval_cfg_set_text(cfg, key, value, LLEVAL_FROM_CLI, flag ? flag : "--set", err);
}
