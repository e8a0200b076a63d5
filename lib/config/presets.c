/*
 * The guide's hardware presets ("Quick Start: Hardware Presets" and
 * "Conservative Defaults"): each is a list of key = value texts applied like
 * command-line values, with origin "preset NAME". The file's `preset:` key
 * sits below the file's own keys (it is applied before them, wherever it
 * stands); --preset replaces the file's `preset:` key and applies over the
 * file's values (read.c applies it again after the file), below the other
 * flags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

struct preset_def {
    const char *name;
    const char *kv[16]; /* key, value, ..., NULL */
};

/* The guide's "Quick Start: Hardware Presets" and "Conservative Defaults", exactly. */
static const struct preset_def presets[] = {
    {"throughput",
     {"model_id", "llama3.1:8b-instruct-q4_K_M", "context_length", "8192",
      "max_new_tokens.closed_book", "512", "max_new_tokens.open_book", "1024",
      "max_concurrent_jobs", "2", NULL}},
    {"quality",
     {"model_id", "llama3.1:8b-instruct-q6_K", "context_length", "4096",
      "max_new_tokens.closed_book", "512", "max_new_tokens.open_book", "1024",
      "max_concurrent_jobs", "1", NULL}},
    {"stretch",
     {"model_id", "llama3.1:13b-instruct-q4_K_M", "context_length", "4096",
      "max_new_tokens.closed_book", "512", "max_new_tokens.open_book", "512", "max_concurrent_jobs",
      "1", NULL}},
    {"conservative",
     {"model_id", "llama3.1:8b-instruct-q4_K_M", "temps", "0.0", "max_new_tokens.closed_book",
      "512", "max_new_tokens.open_book", "1024", "top_k", "50", "top_p", "1.0",
      "max_concurrent_jobs", "1", NULL}},
};

static const char *const preset_names[] = {"throughput", "quality", "stretch", "conservative",
                                           NULL};

const char *const *lleval_config_preset_names(void)
{
    return preset_names;
}

/* Message (without place) for an unknown preset name. */
static int unknown_preset(const char *name, struct lleval_err *err)
{
    char hint[128];
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "unknown preset '%.60s'%s; presets: throughput, quality, stretch, "
                          "conservative",
                          name, lleval_cfg_dym_mid(hint, sizeof(hint), name, preset_names, 4));
}

static const struct preset_def *find_preset(const char *name)
{
    for (size_t i = 0; name && i < LLEVAL_ARRAY_SIZE(presets); i++)
        if (!strcmp(presets[i].name, name))
            return &presets[i];
    return NULL;
}

int lleval_cfg_apply_preset(struct lleval_config *cfg, const char *name, enum lleval_origin from,
                            const char *where, struct lleval_err *err)
{
    const struct preset_def *p = find_preset(name);
    int rc;
    if (!p)
        return unknown_preset(name, err);
    for (size_t i = 0; p->kv[i]; i += 2) {
        rc = lleval_cfg_set_text(cfg, p->kv[i], p->kv[i + 1], LLEVAL_FROM_PRESET, p->name, err);
        if (rc)
            return rc;
    }
    free(cfg->preset);
    cfg->preset = lleval_xstrdup(p->name);
    lleval_cfg_set_origin(cfg, lleval_cfg_key_index_checked("preset"), from, where);
    return 0;
}

int lleval_config_apply_preset(struct lleval_config *cfg, const char *name, struct lleval_err *err)
{
    return lleval_cfg_apply_preset(cfg, name, LLEVAL_FROM_CLI, "--preset", err);
}

int lleval_cfg_apply_preset_node(const struct lleval_cfg_src *s, const yaml_node_t *n)
{
    char *name = NULL, *where;
    int idx = lleval_cfg_key_index_checked("preset");
    int rc = lleval_cfg_get_string(s, n, "preset", true, &name);
    if (rc)
        return rc;
    if (!name) { /* preset: null = none */
        if (s->from == LLEVAL_FROM_FILE && s->cfg->origin[idx] == LLEVAL_FROM_CLI)
            return 0;
        free(s->cfg->preset);
        s->cfg->preset = NULL;
        where = lleval_cfg_where(s, n);
        lleval_cfg_set_origin(s->cfg, idx, s->from, where);
        free(where);
        return 0;
    }
    if (!find_preset(name)) {
        char msg[LLEVAL_ERR_MAX];
        unknown_preset(name, s->err);
        snprintf(msg, sizeof(msg), "%s", s->err->msg);
        free(name);
        return lleval_cfg_fail(s, n, "%s", msg);
    }
    /* --preset replaces the file's preset key: say so in `config show` */
    if (s->from == LLEVAL_FROM_FILE && s->cfg->origin[idx] == LLEVAL_FROM_CLI) {
        char *over;
        where = lleval_cfg_where(s, n);
        over = lleval_xasprintf("%s: 'preset: %s', not applied (--preset replaces the file's "
                                "preset)",
                                where, name);
        lleval_cfg_set_origin_over(s->cfg, idx, over);
        free(over);
        free(where);
        free(name);
        return 0;
    }
    where = lleval_cfg_where(s, n);
    rc = lleval_cfg_apply_preset(s->cfg, name, s->from, where, s->err);
    free(where);
    free(name);
    return rc;
}
