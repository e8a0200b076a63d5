/*
 * Provenance: where every value came from (default, a preset, file:line:column
 * or a flag), for the keys of the table (cfg->origin[]) and for paths inside
 * datasets and prompt sets (cfg->extra_origins). `lleval config show` prints
 * it beside each value; messages start with it ("eval.yaml:3:12: ...").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

static void origin_text(struct lleval_sb *sb, enum lleval_origin from, const char *where);

/* Why a value from `from` replaces one from `old` (the precedence rule at work). */
static const char *why_over(const struct lleval_config *cfg, enum lleval_origin old,
                            enum lleval_origin from, int idx)
{
    int preset_idx = lleval_cfg_key_index_checked("preset");
    if (idx == preset_idx)
        return "--preset replaces the file's preset";
    if (from == LLEVAL_FROM_FILE && old == LLEVAL_FROM_PRESET)
        return "the config file applies over its preset";
    if (from == LLEVAL_FROM_PRESET && old == LLEVAL_FROM_FILE &&
        cfg->origin[preset_idx] == LLEVAL_FROM_CLI)
        return "--preset applies over the config file";
    if (from == LLEVAL_FROM_CLI && old != LLEVAL_FROM_CLI)
        return "command-line flags apply over the config file and presets";
    if (from == LLEVAL_FROM_CLI)
        return "the later flag wins; named flags apply after --set";
    return "applied later";
}

void lleval_cfg_set_origin(struct lleval_config *cfg, int idx, enum lleval_origin from,
                           const char *where)
{
    enum lleval_origin old = cfg->origin[idx];
    const char *old_where = cfg->origin_where[idx];
    bool same = old == from && !strcmp(old_where ? old_where : "", where ? where : "");

    /* remember what a value replaced, for `config show`; setting the same origin
     * again (a preset applied twice) keeps what the first one replaced */
    if (old != LLEVAL_FROM_DEFAULT && !same) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        origin_text(&sb, old, old_where);
        lleval_sb_addf(&sb, " (%s)", why_over(cfg, old, from, idx));
        free(cfg->origin_over[idx]);
        cfg->origin_over[idx] = lleval_sb_detach(&sb, NULL);
    }
    free(cfg->origin_where[idx]);
    cfg->origin[idx] = from;
    cfg->origin_where[idx] = lleval_xstrdup(where);
}

void lleval_cfg_set_origin_over(struct lleval_config *cfg, int idx, const char *over)
{
    free(cfg->origin_over[idx]);
    cfg->origin_over[idx] = lleval_xstrdup(over);
}

void lleval_cfg_set_extra_origin(struct lleval_config *cfg, const char *key,
                                 enum lleval_origin from, const char *where)
{
    struct lleval_origin_entry *e = NULL;
    for (size_t i = 0; i < cfg->n_extra_origins && !e; i++)
        if (!strcmp(cfg->extra_origins[i].key, key))
            e = &cfg->extra_origins[i];
    if (!e) {
        cfg->extra_origins = lleval_xrealloc(cfg->extra_origins, (cfg->n_extra_origins + 1) *
                                                                     sizeof(*cfg->extra_origins));
        e = &cfg->extra_origins[cfg->n_extra_origins++];
        e->key = lleval_xstrdup(key);
    } else {
        free(e->where);
    }
    e->from = from;
    e->where = lleval_xstrdup(where);
}

void lleval_cfg_clear_extra_origins(struct lleval_config *cfg, const char *key)
{
    size_t out = 0, n = strlen(key);
    for (size_t i = 0; i < cfg->n_extra_origins; i++) {
        struct lleval_origin_entry *e = &cfg->extra_origins[i];
        bool below = !strncmp(e->key, key, n) && strchr(".[", e->key[n]) && e->key[n];
        if (!strcmp(e->key, key) || below) {
            free(e->key);
            free(e->where);
        } else {
            cfg->extra_origins[out++] = *e;
        }
    }
    cfg->n_extra_origins = out;
}

static void origin_text(struct lleval_sb *sb, enum lleval_origin from, const char *where)
{
    switch (from) {
    case LLEVAL_FROM_PRESET:
        lleval_sb_addf(sb, "preset %s", where ? where : "");
        break;
    case LLEVAL_FROM_FILE:
    case LLEVAL_FROM_CLI:
        lleval_sb_adds(sb, where ? where : "");
        break;
    default:
        lleval_sb_adds(sb, "default");
        break;
    }
}

bool lleval_cfg_lookup_origin(const struct lleval_config *cfg, const char *key,
                              enum lleval_origin *from, const char **where)
{
    int idx = lleval_config_key_index(key);
    if (idx >= 0 && cfg->origin) {
        *from = cfg->origin[idx];
        *where = cfg->origin_where[idx];
        return true;
    }
    for (size_t i = 0; i < cfg->n_extra_origins; i++) {
        if (!strcmp(cfg->extra_origins[i].key, key)) {
            *from = cfg->extra_origins[i].from;
            *where = cfg->extra_origins[i].where;
            return true;
        }
    }
    *from = LLEVAL_FROM_DEFAULT;
    *where = NULL;
    return false;
}

char *lleval_config_origin(const struct lleval_config *cfg, const char *key)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    enum lleval_origin from;
    const char *where;
    lleval_cfg_lookup_origin(cfg, key, &from, &where);
    origin_text(&sb, from, where);
    return lleval_sb_detach(&sb, NULL);
}

char *lleval_config_origin_over(const struct lleval_config *cfg, const char *key)
{
    int idx = lleval_config_key_index(key);
    if (idx < 0 || !cfg->origin_over || !cfg->origin_over[idx])
        return NULL;
    return lleval_xstrdup(cfg->origin_over[idx]);
}

void lleval_cfg_place(const struct lleval_config *cfg, const char *key, char *buf, size_t size)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    enum lleval_origin from;
    const char *where;
    lleval_cfg_lookup_origin(cfg, key, &from, &where);
    if (from == LLEVAL_FROM_DEFAULT) {
        buf[0] = 0;
        return;
    }
    origin_text(&sb, from, where);
    snprintf(buf, size, "%s: ", sb.buf);
    lleval_sb_release(&sb);
}
