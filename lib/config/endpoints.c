/*
 * Several endpoints in one run: `base_url` as a list of addresses, and the
 * `endpoints` list (each entry a base_url with its own concurrency and, where
 * it differs from the run's, its engine); their checks, and those of
 * launch.instances and launch.devices (one managed llama-server per GPU).
 * The origin of every endpoint value is recorded as endpoints[i].key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

void lleval_cfg_free_endpoints(struct lleval_endpoint_cfg *eps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(eps[i].base_url);
    free(eps);
}

int lleval_cfg_apply_urls(const struct lleval_cfg_src *s, yaml_node_t *n)
{
    struct lleval_config *cfg = s->cfg;
    char **v = NULL, *str = NULL;
    size_t nv = 0;
    int rc;

    if (n->type != YAML_SEQUENCE_NODE) {
        rc = lleval_cfg_get_string(s, n, "base_url", true, &str);
    } else {
        rc = lleval_cfg_get_string_list(s, n, "base_url", &v, &nv);
        if (!rc && !nv)
            rc = lleval_cfg_fail(s, n,
                                 "'base_url' is an empty list; give an address, or a list like "
                                 "[http://127.0.0.1:8080/v1, http://127.0.0.1:8081/v1]");
        if (!rc)
            str = lleval_xstrdup(v[0]);
    }
    if (rc) {
        lleval_cfg_free_strv(v, nv);
        return rc;
    }
    free(cfg->base_url);
    cfg->base_url = str;
    lleval_cfg_free_strv(cfg->base_urls, cfg->n_base_urls);
    cfg->base_urls = NULL;
    cfg->n_base_urls = 0;
    if (nv > 1) {
        cfg->base_urls = v;
        cfg->n_base_urls = nv;
    } else {
        lleval_cfg_free_strv(v, nv);
    }
    return 0;
}

enum { EP_BASE_URL, EP_ENGINE, EP_CONCURRENCY, EP_N };
static const char *const endpoint_keys[EP_N] = {"base_url", "engine", "concurrency"};

/* One entry: an address, or a mapping of endpoint_keys. */
static int load_endpoint(const struct lleval_cfg_src *s, yaml_node_t *item, size_t i,
                         struct lleval_endpoint_cfg *ep)
{
    yaml_node_t *nodes[EP_N] = {0};
    char path[64], kp[96], hint[128];
    int rc;

    snprintf(path, sizeof(path), "endpoints[%zu]", i);
    if (item->type == YAML_SCALAR_NODE) {
        nodes[EP_BASE_URL] = item;
    } else if (item->type != YAML_MAPPING_NODE) {
        return lleval_cfg_fail(s, item,
                               "'%s' must be an address or a mapping like '{base_url: "
                               "http://127.0.0.1:8080/v1, concurrency: 4}', not %s",
                               path, lleval_cfg_kind_of(item));
    } else {
        for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
             p++) {
            const char *name, *known;
            char *okey, *where;
            size_t j;
            if ((rc = lleval_cfg_pair_key(s, item, p, path, &name)))
                return rc;
            known = lleval_cfg_one_of(name, endpoint_keys, EP_N);
            if (!known)
                return lleval_cfg_fail(
                    s, lleval_cfg_node(s, p->key), "unknown key '%s.%s'%s; endpoint keys: %s", path,
                    name, lleval_cfg_dym_mid(hint, sizeof(hint), name, endpoint_keys, EP_N),
                    "base_url, engine, concurrency");
            for (j = 0; j < EP_N && endpoint_keys[j] != known; j++)
                ;
            nodes[j] = lleval_cfg_node(s, p->value);
            okey = lleval_xasprintf("%s.%s", path, name);
            where = lleval_cfg_where(s, nodes[j]);
            lleval_cfg_set_extra_origin(s->cfg, okey, s->from, where);
            free(okey);
            free(where);
        }
    }
    if (!nodes[EP_BASE_URL])
        return lleval_cfg_fail(s, item,
                               "'%s' has no 'base_url'; add e.g. 'base_url: "
                               "http://127.0.0.1:8080/v1'",
                               path);
    snprintf(kp, sizeof(kp), "%s.base_url", path);
    if ((rc = lleval_cfg_get_string(s, nodes[EP_BASE_URL], kp, false, &ep->base_url)))
        return rc;
    if (nodes[EP_ENGINE]) {
        char *str = NULL;
        snprintf(kp, sizeof(kp), "%s.engine", path);
        if ((rc = lleval_cfg_get_string(s, nodes[EP_ENGINE], kp, false, &str)))
            return rc;
        if (lleval_engine_kind_parse(str, &ep->engine) || ep->engine == LLEVAL_ENGINE_DRY)
            rc = lleval_cfg_fail(s, nodes[EP_ENGINE],
                                 "'%s' must be one of ollama, llamacpp, openai, not '%.60s'%s", kp,
                                 str,
                                 lleval_cfg_dym(hint, sizeof(hint), str, lleval_cfg_engine_names,
                                                LLEVAL_CFG_N_ENGINES));
        else
            ep->engine_set = true;
        free(str);
        if (rc)
            return rc;
    }
    if (nodes[EP_CONCURRENCY]) {
        snprintf(kp, sizeof(kp), "%s.concurrency", path);
        if ((rc = lleval_cfg_get_long(s, nodes[EP_CONCURRENCY], kp, 1, 256, &ep->concurrency)))
            return rc;
    }
    return 0;
}

int lleval_cfg_load_endpoints(const struct lleval_cfg_src *s, yaml_node_t *n)
{
    struct lleval_config *cfg = s->cfg;
    struct lleval_endpoint_cfg *eps = NULL;
    size_t count = 0;
    int rc = 0;

    if (!lleval_cfg_is_null(n) && n->type != YAML_SEQUENCE_NODE)
        return lleval_cfg_fail(s, n,
                               "'endpoints' must be a list like '- {base_url: "
                               "http://127.0.0.1:8080/v1, concurrency: 4}', not %s",
                               lleval_cfg_kind_of(n));
    lleval_cfg_clear_extra_origins(cfg, "endpoints");
    if (n->type == YAML_SEQUENCE_NODE) {
        count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        eps = lleval_xcalloc(count ? count : 1, sizeof(*eps));
        for (size_t i = 0; i < count && !rc; i++) {
            yaml_node_t *item = lleval_cfg_node(s, n->data.sequence.items.start[i]);
            rc = item ? load_endpoint(s, item, i, &eps[i])
                      : lleval_cfg_fail(s, n, "'endpoints[%zu]' is empty", i);
        }
    }
    if (rc) {
        lleval_cfg_free_endpoints(eps, count);
        return rc;
    }
    lleval_cfg_free_endpoints(cfg->endpoints, cfg->n_endpoints);
    cfg->endpoints = count ? eps : NULL;
    cfg->n_endpoints = count;
    if (!count)
        free(eps);
    return 0;
}

static bool http_url(const char *u)
{
    return u && (lleval_str_starts_with(u, "http://") || lleval_str_starts_with(u, "https://"));
}

/* True when the run would go to several servers (a list, endpoints or managed instances). */
static bool several_servers(const struct lleval_config *cfg)
{
    return cfg->n_endpoints || cfg->n_base_urls > 1 || cfg->launch.instances > 1;
}

void lleval_cfg_check_endpoints(const struct lleval_config *cfg, struct lleval_cfg_problems *p)
{
    char at[256], key[64];

    lleval_cfg_place(cfg, "base_url", at, sizeof(at));
    for (size_t i = 1; i < cfg->n_base_urls; i++)
        if (!http_url(cfg->base_urls[i]))
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%s'base_url[%zu]' must start with http:// or https://, not "
                               "'%.60s'",
                               at, i, cfg->base_urls[i]);
    if (cfg->n_base_urls > 1 && cfg->n_endpoints) {
        lleval_cfg_place(cfg, "endpoints", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'endpoints' and a list of 'base_url' both name the servers; keep "
                           "one of them",
                           at);
    }
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        snprintf(key, sizeof(key), "endpoints[%zu].base_url", i);
        lleval_cfg_place(cfg, key, at, sizeof(at));
        if (!http_url(cfg->endpoints[i].base_url))
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%s'%s' must start with http:// or https://, not '%.60s'", at, key,
                               cfg->endpoints[i].base_url ? cfg->endpoints[i].base_url : "");
    }
    if ((cfg->n_endpoints || cfg->n_base_urls > 1) && cfg->engine == LLEVAL_ENGINE_DRY) {
        lleval_cfg_place(cfg, "engine", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%sengine 'dry' answers without a server, so it takes no endpoints; "
                           "set the engine or remove the endpoints",
                           at);
    }
    lleval_cfg_place(cfg, "launch.instances", at, sizeof(at));
    if (cfg->launch.instances > 1 && !cfg->launch.enabled)
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'launch.instances' starts several managed llama-servers, so it "
                           "needs 'launch' with a model",
                           at);
    if (cfg->launch.enabled && (cfg->n_endpoints || cfg->n_base_urls > 1))
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'launch' starts the servers itself (launch.instances of them), so "
                           "it takes no 'endpoints' and no list of 'base_url'; remove one",
                           at);
    if (several_servers(cfg) && cfg->max_concurrent_jobs == LLEVAL_JOBS_AUTO) {
        lleval_cfg_place(cfg, "max_concurrent_jobs", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'max_concurrent_jobs: auto' measures one server; a run of several "
                           "takes each one's slots from its probe (or its 'concurrency'): set a "
                           "number, or leave the endpoints to their probes",
                           at);
    }
    if (several_servers(cfg) && (cfg->engine == LLEVAL_ENGINE_OPENAI_BATCH ||
                                 cfg->engine == LLEVAL_ENGINE_FIREWORKS_BATCH)) {
        lleval_cfg_place(cfg, "engine", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%sa cloud batch engine sends its jobs to one 'base_url'; remove the "
                           "other endpoints",
                           at);
    }
    if (cfg->launch.instances > 1 && cfg->n_models > 1) {
        lleval_cfg_place(cfg, "launch.instances", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%sseveral models start one llama-server each, in turn, so "
                           "'launch.instances' must be 1 (or run each model on its own)",
                           at);
    }
    if (cfg->launch.n_devices && (long)cfg->launch.n_devices != cfg->launch.instances) {
        lleval_cfg_place(cfg, "launch.devices", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'launch.devices' lists %zu device selections for %ld instance%s; "
                           "give one per instance (set launch.instances: %zu)",
                           at, cfg->launch.n_devices, cfg->launch.instances,
                           cfg->launch.instances == 1 ? "" : "s", cfg->launch.n_devices);
    }
}
