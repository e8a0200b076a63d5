/*
 * Validation after every layer is applied: ranges of values set by code,
 * temperatures, stop sequences, max_new_tokens against context_length, the
 * engine address and key variable, the launch section, prompt templates and
 * their placeholders, the chosen prompt set and the datasets; and, for the
 * commands that read them, that every dataset path exists. Every problem is
 * reported, not only the first. Each message starts with the origin of the
 * offending value (file:line:column, the flag or the preset) and says what to
 * do.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"
#include "lleval/platform/fs.h"

static const char *const placeholders[] = {"question", "context", "choices", "choice_letters"};

static bool known_placeholder(const char *name, size_t len)
{
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(placeholders); i++)
        if (strlen(placeholders[i]) == len && !strncmp(placeholders[i], name, len))
            return true;
    return false;
}

/* Checks the {placeholders} of one template; unknown ones are errors. */
static int check_template(const struct lleval_config *cfg, const char *key, const char *tmpl,
                          struct lleval_cfg_problems *probs)
{
    char at[256], word[64], hint[128];
    for (const char *p = tmpl; p && (p = strchr(p, '{')); p++) {
        size_t len = 0;
        while (p[1 + len] && (islower((unsigned char)p[1 + len]) || p[1 + len] == '_'))
            len++;
        if (!len || p[1 + len] != '}' || known_placeholder(p + 1, len))
            continue;
        snprintf(word, sizeof(word), "%.*s", (int)(len < 60 ? len : 60), p + 1);
        lleval_cfg_place(cfg, key, at, sizeof(at));
        lleval_cfg_problem(probs, LLEVAL_EINVAL,
                           "%s'%s' uses the unknown placeholder {%s}%s; placeholders are "
                           "{question}, {context}, {choices}, {choice_letters}",
                           at, key, word,
                           lleval_cfg_dym_mid(hint, sizeof(hint), word, placeholders, 4));
        return LLEVAL_EINVAL;
    }
    return 0;
}

static void check_prompt_set(const struct lleval_config *cfg, const struct lleval_prompt_set *ps,
                             struct lleval_cfg_problems *p)
{
    static const char *const needed[] = {"{question}", "{context}", "{choices}"};
    char at[256];
    for (size_t i = 0; i < ps->n_types; i++) {
        const struct lleval_prompt_type *t = &ps->types[i];
        for (int it = 0; it < LLEVAL_N_ITEM_TYPES; it++) {
            const char *sys = t->system[it] ? t->system[it] : "";
            const char *usr = t->user[it] ? t->user[it] : "";
            char *ukey = lleval_xasprintf("prompt_sets.%s.%s.%s.user", ps->name, t->name,
                                          lleval_cfg_item_type_names[it]);
            char *skey = lleval_xasprintf("prompt_sets.%s.%s.%s.system", ps->name, t->name,
                                          lleval_cfg_item_type_names[it]);
            /* one problem per template at most: the first is the one to fix */
            int rc = check_template(cfg, skey, sys, p);
            if (!rc)
                rc = check_template(cfg, ukey, usr, p);
            if (!rc && !*usr) {
                lleval_cfg_place(cfg, ukey, at, sizeof(at));
                rc = lleval_cfg_problem(p, LLEVAL_EINVAL,
                                        "%s'%s' is empty; give a user template, e.g. \"Question: "
                                        "{question}\\nAnswer:\"",
                                        at, ukey);
            }
            if (!rc && !strstr(sys, "{question}") && !strstr(usr, "{question}")) {
                lleval_cfg_place(cfg, ukey, at, sizeof(at));
                rc = lleval_cfg_problem(p, LLEVAL_EINVAL,
                                        "%s'%s' never shows the question; add {question} to it", at,
                                        ukey);
            }
            if (!rc && it != LLEVAL_CLOSED_BOOK && !strstr(sys, needed[it]) &&
                !strstr(usr, needed[it])) {
                lleval_cfg_place(cfg, ukey, at, sizeof(at));
                lleval_cfg_problem(p, LLEVAL_EINVAL, "%s'%s' never shows the %s; add %s to it", at,
                                   ukey, it == LLEVAL_OPEN_BOOK ? "passage" : "options",
                                   needed[it]);
            }
            free(ukey);
            free(skey);
        }
    }
}

static bool env_name_ok(const char *s)
{
    if (!s || !*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* A list of models: each named, once, usable as a folder name (the run's files of
 * a model live under its escaped id); a managed llama-server serves one model. */
static void check_models(const struct lleval_config *cfg, struct lleval_cfg_problems *p)
{
    char at[256];
    lleval_cfg_place(cfg, "model_id", at, sizeof(at));
    for (size_t i = 0; i < cfg->n_models; i++) {
        const char *m = cfg->models[i];
        if (!*m || !strcmp(m, ".") || !strcmp(m, ".."))
            lleval_cfg_problem(p, LLEVAL_EINVAL, "%s'model_id[%zu]' ('%s') is not a model name", at,
                               i, m);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(m, cfg->models[j]))
                lleval_cfg_problem(p, LLEVAL_EINVAL,
                                   "%s'model_id' lists '%.100s' twice; give each model once", at,
                                   m);
    }
    if (cfg->n_models > 1 && cfg->launch.enabled && !cfg->n_model_cfgs)
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'model_id' lists %zu models, but 'launch' starts llama-server "
                           "with one model file; list the models under 'models:', each with "
                           "its own file ('- id: a' with 'launch: {model: a.gguf}'), so a "
                           "server is started for each in turn",
                           at, cfg->n_models);
}

/* The `models:` entries: not with an explicit model_id; with a managed server
 * every model needs a model file (launch settings are unused without one, as
 * the top-level launch keys are with `launch.enabled: false` or --dry-run). */
static void check_model_cfgs(const struct lleval_config *cfg, struct lleval_cfg_problems *p)
{
    enum lleval_origin from;
    const char *where;
    char at[256], key[64];

    if (!cfg->n_model_cfgs)
        return;
    if (lleval_cfg_lookup_origin(cfg, "model_id", &from, &where) && from != LLEVAL_FROM_DEFAULT) {
        lleval_cfg_place(cfg, "model_id", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'model_id' and 'models' both name the models; keep one: 'models' "
                           "(a list of '- id: NAME' with per-model settings) or 'model_id'",
                           at);
    }
    for (size_t i = 0; i < cfg->n_model_cfgs; i++) {
        const struct lleval_model_cfg *m = &cfg->model_cfgs[i];
        const char *gguf = m->launch_model ? m->launch_model : cfg->launch.model;
        snprintf(key, sizeof(key), "models[%zu].id", i);
        lleval_cfg_place(cfg, key, at, sizeof(at));
        if (!strcmp(m->id, ".") || !strcmp(m->id, "..") || !*m->id)
            lleval_cfg_problem(p, LLEVAL_EINVAL, "%s'models[%zu].id' ('%s') is not a model name",
                               at, i, m->id);
        if (cfg->launch.enabled && (!gguf || !*gguf))
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%smodel '%.100s' has no model file for the llama-server started "
                               "for it; add 'launch: {model: path/to/model.gguf}' to it",
                               at, m->id);
    }
}

/* Every problem of cfg, into p. */
static void validate(const struct lleval_config *cfg, struct lleval_cfg_problems *p)
{
    char at[256], hint[128];

    /* ranges, for values set by code rather than read */
    for (size_t i = 0; i < LLEVAL_CFG_N_KEYS; i++) {
        const struct lleval_cfg_key *k = &lleval_cfg_key_defs[i];
        const char *v = (const char *)cfg + k->off;
        lleval_cfg_place(cfg, k->path, at, sizeof(at));
        if (k->kind == LLEVAL_CFG_LONG) {
            long x = *(const long *)(const void *)v;
            if (x < (long)k->min || x > (long)k->max)
                lleval_cfg_problem(p, LLEVAL_EINVAL, "%s'%s' must be from %ld to %ld, not %ld", at,
                                   k->path, (long)k->min, (long)k->max, x);
        } else if (k->kind == LLEVAL_CFG_DOUBLE) {
            double x = *(const double *)(const void *)v;
            if (!(x >= k->min && x <= k->max))
                lleval_cfg_problem(p, LLEVAL_EINVAL, "%s'%s' must be from %g to %g, not %g", at,
                                   k->path, k->min, k->max, x);
        } else if (k->kind == LLEVAL_CFG_STR || k->kind == LLEVAL_CFG_MODELS) {
            const char *x = *(char *const *)(const void *)v;
            if (!x || !*x)
                lleval_cfg_problem(p, LLEVAL_EINVAL,
                                   "%s'%s' is empty; give a value or remove the key", at, k->path);
        }
    }

    lleval_cfg_place(cfg, "temps", at, sizeof(at));
    if (!cfg->n_temps)
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'temps' is empty; give at least one temperature, e.g. 'temps: "
                           "[0.0]'",
                           at);
    for (size_t i = 0; i < cfg->n_temps; i++) {
        char a[32];
        if (!(cfg->temps[i] >= 0.0 && cfg->temps[i] <= 2.0))
            lleval_cfg_problem(p, LLEVAL_EINVAL, "%s'temps[%zu]' must be from 0 to 2, not %s", at,
                               i, lleval_fmt_num(a, sizeof(a), cfg->temps[i]));
        for (size_t j = 0; j < i; j++) {
            char b[32];
            /* custom_ids carry the short form, so equal short forms would collide */
            if (!strcmp(lleval_fmt_num(a, sizeof(a), cfg->temps[i]),
                        lleval_fmt_num(b, sizeof(b), cfg->temps[j]))) {
                lleval_cfg_problem(p, LLEVAL_EINVAL,
                                   "%s'temps' lists %s twice; give each temperature once", at, a);
                break;
            }
        }
    }

    if (cfg->n_abstain_phrases > 8) {
        lleval_cfg_place(cfg, "scoring.abstain_phrases", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'scoring.abstain_phrases' lists %zu phrases; give at most 8", at,
                           cfg->n_abstain_phrases);
    }
    for (size_t i = 0; i < cfg->n_abstain_phrases; i++) {
        const char *ph = cfg->abstain_phrases[i];
        if (!ph || !*ph || strlen(ph) >= 64) {
            lleval_cfg_place(cfg, "scoring.abstain_phrases", at, sizeof(at));
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%s'scoring.abstain_phrases[%zu]' must be from 1 to 63 bytes long",
                               at, i);
        }
    }
    for (size_t i = 0; i < cfg->n_stop; i++) {
        if (!cfg->stop[i] || !*cfg->stop[i]) {
            lleval_cfg_place(cfg, "stop", at, sizeof(at));
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%s'stop[%zu]' is empty; remove it (an empty stop sequence "
                               "would end every answer at once)",
                               at, i);
        }
    }

    for (int t = 0; t < LLEVAL_N_ITEM_TYPES; t++) {
        if (cfg->max_new_tokens[t] >= cfg->context_length) {
            char key[64];
            snprintf(key, sizeof(key), "max_new_tokens.%s", lleval_cfg_item_type_names[t]);
            lleval_cfg_place(cfg, key, at, sizeof(at));
            if (!at[0]) /* a default limit: point at the context_length that was set */
                lleval_cfg_place(cfg, "context_length", at, sizeof(at));
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%s'%s' (%ld) leaves no room for the prompt in context_length "
                               "(%ld); lower it or raise context_length",
                               at, key, cfg->max_new_tokens[t], cfg->context_length);
        }
    }

    if (cfg->base_url && !lleval_str_starts_with(cfg->base_url, "http://") &&
        !lleval_str_starts_with(cfg->base_url, "https://")) {
        lleval_cfg_place(cfg, "base_url", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'base_url' must start with http:// or https://, not '%.60s'; "
                           "e.g. http://127.0.0.1:11434",
                           at, cfg->base_url);
    }
    if (cfg->api_key_env && !env_name_ok(cfg->api_key_env)) {
        lleval_cfg_place(cfg, "api_key_env", at, sizeof(at));
        /* never echo the value: it may be the key itself */
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'api_key_env' must be the NAME of an environment variable "
                           "(letters, digits, '_'), like OPENAI_API_KEY, not the key itself",
                           at);
    }
    if (!lleval_cfg_one_of(cfg->answer_extraction, lleval_cfg_extraction_names,
                           LLEVAL_CFG_N_EXTRACTIONS)) {
        lleval_cfg_place(cfg, "scoring.answer_extraction", at, sizeof(at));
        lleval_cfg_problem(p, LLEVAL_EINVAL,
                           "%s'scoring.answer_extraction' must be none, first_line or "
                           "after_answer",
                           at);
    }

    check_models(cfg, p);
    lleval_cfg_check_endpoints(cfg, p);
    check_model_cfgs(cfg, p);
    if (cfg->launch.enabled) {
        lleval_cfg_place(cfg, "launch.enabled", at, sizeof(at));
        if (cfg->engine != LLEVAL_ENGINE_LLAMACPP)
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%s'launch' starts a llama-server, so it needs 'engine: "
                               "llamacpp' (the engine is %s); set the engine or remove "
                               "'launch'",
                               at, lleval_engine_kind_name(cfg->engine));
        if ((!cfg->launch.model || !*cfg->launch.model) && !cfg->n_model_cfgs)
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%s'launch' has no model; add 'launch: {model: path/to/model."
                               "gguf}'",
                               at);
    }

    for (size_t i = 0; i < cfg->n_prompt_sets; i++)
        check_prompt_set(cfg, &cfg->prompt_sets[i], p);
    if (!lleval_config_prompt_set(cfg)) {
        const char *names[64];
        size_t n = 0;
        struct lleval_sb list = LLEVAL_SB_INIT;
        for (size_t i = 0; i < cfg->n_prompt_sets; i++) {
            if (n < LLEVAL_ARRAY_SIZE(names))
                names[n++] = cfg->prompt_sets[i].name;
            lleval_sb_addf(&list, "%s%s", i ? ", " : "", cfg->prompt_sets[i].name);
        }
        lleval_cfg_place(cfg, "prompt_set", at, sizeof(at));
        lleval_cfg_problem(
            p, LLEVAL_EINVAL, "%sprompt set '%.60s' does not exist%s; prompt sets: %s", at,
            cfg->prompt_set, lleval_cfg_dym_mid(hint, sizeof(hint), cfg->prompt_set, names, n),
            list.buf);
        lleval_sb_release(&list);
    }

    for (size_t i = 0; i < cfg->n_datasets; i++) {
        const struct lleval_dataset_cfg *d = &cfg->datasets[i];
        const char *name = d->name ? d->name : "";
        char key[64];
        snprintf(key, sizeof(key), "datasets[%zu].name", i);
        lleval_cfg_place(cfg, key, at, sizeof(at));
        if (!lleval_cfg_valid_name(d->name))
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%sdataset name '%.60s' may only contain letters, digits, '_', "
                               "'.' and '-'; rename it",
                               at, name);
        for (size_t j = 0; j < i; j++)
            if (cfg->datasets[j].name && !strcmp(cfg->datasets[j].name, name)) {
                lleval_cfg_problem(p, LLEVAL_EINVAL,
                                   "%sduplicate dataset name '%s'; give each dataset its own "
                                   "name",
                                   at, name);
                break;
            }
        if (!lleval_cfg_one_of(d->format, lleval_cfg_dataset_formats, LLEVAL_CFG_N_FORMATS))
            lleval_cfg_problem(p, LLEVAL_EINVAL,
                               "%sdataset '%s' needs a format: squad, nq_open, mmlu, jsonl or "
                               "csv",
                               at, name);
        if (!d->path || !*d->path)
            lleval_cfg_problem(p, LLEVAL_EINVAL, "%sdataset '%s' needs a path", at, name);
        if (d->scoring &&
            !lleval_cfg_one_of(d->scoring, lleval_cfg_dataset_scorings, LLEVAL_CFG_N_SCORINGS))
            lleval_cfg_problem(p, LLEVAL_EINVAL, "%sdataset '%s': scoring must be squad, nq or mc",
                               at, name);
    }
}

int lleval_config_validate(const struct lleval_config *cfg, struct lleval_err *err)
{
    struct lleval_cfg_problems p = LLEVAL_CFG_PROBLEMS_INIT;
    validate(cfg, &p);
    return lleval_cfg_problems_end(&p, err);
}

static bool is_absolute(const char *path)
{
    return path[0] == '/' || path[0] == '\\' || (isalpha((unsigned char)path[0]) && path[1] == ':');
}

/* The current directory, for messages (owned; "the current directory" when unknown). */
static char *current_dir(void)
{
    char *cwd = lleval_cwd();
    return cwd ? cwd : lleval_xstrdup("the current directory");
}

int lleval_config_check_datasets(const struct lleval_config *cfg, struct lleval_err *err)
{
    struct lleval_cfg_problems p = LLEVAL_CFG_PROBLEMS_INIT;
    char *cwd = NULL;
    for (size_t i = 0; i < cfg->n_datasets; i++) {
        const struct lleval_dataset_cfg *d = &cfg->datasets[i];
        char key[64], at[256], hint[512] = "";
        if (!d->path || !*d->path || lleval_path_exists(d->path))
            continue;
        if (!cwd)
            cwd = current_dir();
        snprintf(key, sizeof(key), "datasets[%zu].path", i);
        lleval_cfg_place(cfg, key, at, sizeof(at));
        /* the guide's harness reads paths from the current directory; a path written
         * relative to the config file is a common slip: say so when that is the case */
        if (cfg->source_path && !is_absolute(d->path)) {
            char *dir = lleval_path_dirname(cfg->source_path);
            char *there = lleval_path_join(dir, d->path);
            if (strcmp(dir, ".") && lleval_path_exists(there))
                snprintf(hint, sizeof(hint),
                         "; '%.200s' exists, relative to the config file: write that path or run "
                         "lleval from '%.100s'",
                         there, dir);
            free(dir);
            free(there);
        }
        lleval_cfg_problem(&p, LLEVAL_EINVAL,
                           "%sdataset '%s': path '%.300s' does not exist (resolved against "
                           "'%.300s'; relative paths are read from the current directory)%s",
                           at, d->name ? d->name : "", d->path, cwd,
                           hint[0] ? hint
                                   : "; fix the path or run lleval from the directory it "
                                     "is relative to");
    }
    free(cwd);
    return lleval_cfg_problems_end(&p, err);
}
