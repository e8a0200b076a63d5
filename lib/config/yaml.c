/*
 * The resolved configuration as YAML (config.resolved.yaml, `lleval config
 * show`): every value, in the order of the reference, written so that
 * lleval_config_load_file() reads back the same configuration. With origins,
 * each value line ends in an aligned comment saying where it came from.
 * API keys never appear: only the name of the variable that holds one.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"
#include "lleval/util/redact.h"

#define COMMENT_COLUMN_MAX 56

struct line {
    char *text;
    char *origin; /* owned, NULL: no comment */
};

struct emitter {
    const struct lleval_config *cfg;
    bool with_origin;
    struct line *lines;
    size_t n, cap;
};

/* "ORIGIN", or "ORIGIN; wins over OTHER (WHY)" when the value replaced one that was
 * not a default. Owned. */
static char *origin_comment(const struct lleval_config *cfg, const char *key)
{
    char *origin = lleval_config_origin(cfg, key), *over = lleval_config_origin_over(cfg, key);
    char *text;
    if (!over)
        return origin;
    text = lleval_xasprintf("%s; wins over %s", origin, over);
    free(origin);
    free(over);
    return text;
}

/* Adds one line; origin_key names the key whose origin the comment shows (NULL: none). */
static void emit(struct emitter *e, const char *origin_key, const char *fmt, ...)
    LLEVAL_PRINTF(3, 4);

static void emit(struct emitter *e, const char *origin_key, const char *fmt, ...)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    lleval_sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    LLEVAL_GROW(e->lines, e->n, e->cap);
    e->lines[e->n].text = lleval_sb_detach(&sb, NULL);
    e->lines[e->n].origin =
        e->with_origin && origin_key ? origin_comment(e->cfg, origin_key) : NULL;
    e->n++;
}

static bool reserved_word(const char *s)
{
    static const char *const words[] = {"y",     "n",  "yes", "no",   "true",
                                        "false", "on", "off", "null", "~"};
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(words); i++) {
        size_t j = 0;
        while (s[j] && words[i][j] && tolower((unsigned char)s[j]) == words[i][j])
            j++;
        if (!s[j] && !words[i][j])
            return true;
    }
    return false;
}

/* True when s can be written without quotes and still reads back as this string. */
static bool plain_ok(const char *s)
{
    bool rel = lleval_str_starts_with(s, "./") || lleval_str_starts_with(s, "../");
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_' || *s == '/' || rel) || reserved_word(s))
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_./-", *p))
            return false;
    return true;
}

/* A YAML scalar for a string: plain when safe, else double-quoted; NULL is null. Owned. */
static char *str_scalar(const char *s)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    if (!s)
        return lleval_xstrdup("null");
    if (plain_ok(s))
        return lleval_xstrdup(s);
    lleval_sb_addch(&sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            lleval_sb_adds(&sb, "\\\"");
            break;
        case '\\':
            lleval_sb_adds(&sb, "\\\\");
            break;
        case '\n':
            lleval_sb_adds(&sb, "\\n");
            break;
        case '\t':
            lleval_sb_adds(&sb, "\\t");
            break;
        case '\r':
            lleval_sb_adds(&sb, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                lleval_sb_addf(&sb, "\\x%02X", *p);
            else
                lleval_sb_addch(&sb, (char)*p);
        }
    }
    lleval_sb_addch(&sb, '"');
    return lleval_sb_detach(&sb, NULL);
}

/* The shortest text that reads back as v, always with a decimal point ("0.0", "0.7"). */
static void fmt_double(char *buf, size_t size, double v)
{
    if (v == 0) {
        snprintf(buf, size, "0.0");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (strchr(buf, 'e')) { /* YAML readers disagree on exponents: write it out */
        size_t n;
        snprintf(buf, size, "%.20f", v);
        n = strlen(buf);
        while (n > 1 && buf[n - 1] == '0' && buf[n - 2] != '.')
            buf[--n] = 0;
    }
    if (!strchr(buf, '.'))
        snprintf(buf + strlen(buf), size - strlen(buf), ".0");
}

static void emit_str(struct emitter *e, const char *indent, const char *name, const char *key,
                     const char *value)
{
    char *v = str_scalar(value);
    emit(e, key, "%s%s: %s", indent, name, v);
    free(v);
}

static void emit_long(struct emitter *e, const char *indent, const char *name, const char *key,
                      long value)
{
    emit(e, key, "%s%s: %ld", indent, name, value);
}

static void emit_bool(struct emitter *e, const char *indent, const char *name, const char *key,
                      bool value)
{
    emit(e, key, "%s%s: %s", indent, name, value ? "true" : "false");
}

static void emit_strv(struct emitter *e, const char *indent, const char *name, const char *key,
                      char *const *v, size_t n)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_sb_addch(&sb, '[');
    for (size_t i = 0; i < n; i++) {
        char *s = str_scalar(v[i]);
        lleval_sb_addf(&sb, "%s%s", i ? ", " : "", s);
        free(s);
    }
    lleval_sb_addch(&sb, ']');
    emit(e, key, "%s%s: %s", indent, name, sb.buf);
    lleval_sb_release(&sb);
}

static bool user_defined_set(const struct lleval_config *cfg, const char *name)
{
    char *key = lleval_xasprintf("prompt_sets.%s", name);
    char *origin = lleval_config_origin(cfg, key);
    bool user = strcmp(origin, "default") != 0;
    free(key);
    free(origin);
    return user;
}

static void emit_prompt_sets(struct emitter *e)
{
    const struct lleval_config *cfg = e->cfg;
    bool any = false;
    for (size_t i = 0; i < cfg->n_prompt_sets; i++) {
        const struct lleval_prompt_set *ps = &cfg->prompt_sets[i];
        char *skey;
        /* the set in use (so a run records its templates) and the config's own sets */
        if (!user_defined_set(cfg, ps->name) &&
            !(cfg->prompt_set && !strcmp(cfg->prompt_set, ps->name)))
            continue;
        if (!any)
            emit(e, NULL, "prompt_sets:");
        any = true;
        skey = lleval_xasprintf("prompt_sets.%s", ps->name);
        emit(e, skey, "  %s:", ps->name);
        free(skey);
        for (size_t j = 0; j < ps->n_types; j++) {
            const struct lleval_prompt_type *t = &ps->types[j];
            emit(e, NULL, "    %s:", t->name);
            for (int it = 0; it < LLEVAL_N_ITEM_TYPES; it++) {
                const char *itn = lleval_item_type_name((enum lleval_item_type)it);
                char *key;
                emit(e, NULL, "      %s:", itn);
                key = lleval_xasprintf("prompt_sets.%s.%s.%s.system", ps->name, t->name, itn);
                emit_str(e, "        ", "system", key, t->system[it] ? t->system[it] : "");
                free(key);
                key = lleval_xasprintf("prompt_sets.%s.%s.%s.user", ps->name, t->name, itn);
                emit_str(e, "        ", "user", key, t->user[it] ? t->user[it] : "");
                free(key);
            }
        }
    }
}

static void emit_datasets(struct emitter *e)
{
    const struct lleval_config *cfg = e->cfg;
    if (!cfg->n_datasets) {
        emit(e, "datasets", "datasets: []");
        return;
    }
    emit(e, "datasets", "datasets:");
    for (size_t i = 0; i < cfg->n_datasets; i++) {
        const struct lleval_dataset_cfg *d = &cfg->datasets[i];
        const char *fields[] = {d->field_id, d->field_question, d->field_context, d->field_answers,
                                d->field_choices};
        bool any_field = false;
        char key[96];
#define DKEY(k) (snprintf(key, sizeof(key), "datasets[%zu].%s", i, k), key)
        emit_str(e, "  - ", "name", DKEY("name"), d->name);
        emit_str(e, "    ", "format", DKEY("format"), d->format);
        emit_str(e, "    ", "path", DKEY("path"), d->path);
        if (d->split)
            emit_str(e, "    ", "split", DKEY("split"), d->split);
        if (d->has_type)
            emit_str(e, "    ", "type", DKEY("type"), lleval_item_type_name(d->type));
        if (d->scoring)
            emit_str(e, "    ", "scoring", DKEY("scoring"), d->scoring);
        for (size_t f = 0; f < LLEVAL_ARRAY_SIZE(fields); f++) {
            if (!fields[f])
                continue;
            if (!any_field)
                emit(e, NULL, "    fields:");
            any_field = true;
            emit_str(e, "      ", lleval_cfg_field_keys[f], DKEY("fields"), fields[f]);
        }
        if (d->format && !strcmp(d->format, "csv"))
            emit_bool(e, "    ", "header", DKEY("header"), d->csv_header);
#undef DKEY
    }
}

/* endpoints: one flow mapping per entry ("endpoints: []" when none). */
static void emit_endpoints(struct emitter *e)
{
    const struct lleval_config *cfg = e->cfg;
    if (!cfg->n_endpoints) {
        emit(e, "endpoints", "endpoints: []");
        return;
    }
    emit(e, "endpoints", "endpoints:");
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct lleval_endpoint_cfg *ep = &cfg->endpoints[i];
        char *url = str_scalar(ep->base_url);
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_sb_addf(&sb, "  - {base_url: %s", url);
        if (ep->engine_set)
            lleval_sb_addf(&sb, ", engine: %s", lleval_engine_kind_name(ep->engine));
        if (ep->concurrency)
            lleval_sb_addf(&sb, ", concurrency: %ld", ep->concurrency);
        lleval_sb_addch(&sb, '}');
        emit(e, NULL, "%s", sb.buf);
        lleval_sb_release(&sb);
        free(url);
    }
}

/* The `models:` list: each entry's id and the settings it gives (the others inherit). */
static void emit_models(struct emitter *e)
{
    const struct lleval_config *cfg = e->cfg;
    emit(e, "models", "models:");
    for (size_t i = 0; i < cfg->n_model_cfgs; i++) {
        const struct lleval_model_cfg *m = &cfg->model_cfgs[i];
        const long *longs[] = {&m->ctx_size, &m->parallel, &m->gpu_layers};
        const char *names[] = {"ctx_size", "parallel", "gpu_layers"};
        bool launch = m->launch_model || m->has_extra_args;
        char key[96];
#define MKEY(k) (snprintf(key, sizeof(key), "models[%zu].%s", i, k), key)
        emit_str(e, "  - ", "id", MKEY("id"), m->id);
        if (m->max_concurrent_jobs != LLEVAL_MODEL_INHERIT)
            emit_long(e, "    ", "max_concurrent_jobs", MKEY("max_concurrent_jobs"),
                      m->max_concurrent_jobs);
        for (size_t j = 0; j < LLEVAL_ARRAY_SIZE(longs); j++)
            launch = launch || *longs[j] != LLEVAL_MODEL_INHERIT;
        if (!launch)
            continue;
        emit(e, NULL, "    launch:");
        if (m->launch_model)
            emit_str(e, "      ", "model", MKEY("launch.model"), m->launch_model);
        for (size_t j = 0; j < LLEVAL_ARRAY_SIZE(longs); j++) {
            char sub[32];
            snprintf(sub, sizeof(sub), "launch.%s", names[j]);
            if (*longs[j] != LLEVAL_MODEL_INHERIT)
                emit_long(e, "      ", names[j], MKEY(sub), *longs[j]);
        }
        if (m->has_extra_args)
            emit_strv(e, "      ", "extra_args", MKEY("launch.extra_args"), m->extra_args,
                      m->n_extra_args);
#undef MKEY
    }
}

static char *render(struct emitter *e)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t width = 0;
    for (size_t i = 0; i < e->n; i++) {
        size_t len = strlen(e->lines[i].text);
        if (e->lines[i].origin && len > width && len <= COMMENT_COLUMN_MAX)
            width = len;
    }
    for (size_t i = 0; i < e->n; i++) {
        struct line *l = &e->lines[i];
        lleval_sb_adds(&sb, l->text);
        if (l->origin) {
            size_t len = strlen(l->text);
            lleval_sb_addf(&sb, "%*s  # %s", (int)(len < width ? width - len : 0), "", l->origin);
        }
        lleval_sb_addch(&sb, '\n');
        free(l->text);
        free(l->origin);
    }
    free(e->lines);
    lleval_redact_sb(&sb); /* no password of a base_url, no key, on disk or screen */
    return lleval_sb_detach(&sb, NULL);
}

char *lleval_config_to_yaml(const struct lleval_config *cfg, bool with_origin)
{
    struct emitter e = {cfg, with_origin, NULL, 0, 0};
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char num[64];

    emit(&e, NULL,
         "# lleval configuration, resolved (defaults < the file's preset < file < --preset < "
         "flags).");
    emit(&e, NULL, "# API keys are never written here: api_key_env names the variable.");
    emit_str(&e, "", "preset", "preset", cfg->preset);
    if (cfg->n_model_cfgs)
        emit_models(&e); /* the ids are model_id's value */
    else if (cfg->n_models > 1)
        emit_strv(&e, "", "model_id", "model_id", cfg->models, cfg->n_models);
    else
        emit_str(&e, "", "model_id", "model_id", cfg->model_id);
    emit_str(&e, "", "engine", "engine", lleval_engine_kind_name(cfg->engine));
    if (cfg->n_base_urls > 1)
        emit_strv(&e, "", "base_url", "base_url", cfg->base_urls, cfg->n_base_urls);
    else
        emit_str(&e, "", "base_url", "base_url", cfg->base_url);
    emit_endpoints(&e);
    emit_str(&e, "", "api_key_env", "api_key_env", cfg->api_key_env);
    emit_long(&e, "", "context_length", "context_length", cfg->context_length);
    lleval_sb_addch(&sb, '[');
    for (size_t i = 0; i < cfg->n_temps; i++) {
        fmt_double(num, sizeof(num), cfg->temps[i]);
        lleval_sb_addf(&sb, "%s%s", i ? ", " : "", num);
    }
    lleval_sb_addch(&sb, ']');
    emit(&e, "temps", "temps: %s", sb.buf);
    lleval_sb_release(&sb);
    emit(&e, NULL, "max_new_tokens:");
    for (int t = 0; t < LLEVAL_N_ITEM_TYPES; t++) {
        char key[64];
        snprintf(key, sizeof(key), "max_new_tokens.%s", lleval_cfg_item_type_names[t]);
        emit_long(&e, "  ", lleval_cfg_item_type_names[t], key, cfg->max_new_tokens[t]);
    }
    emit_long(&e, "", "top_k", "top_k", cfg->top_k);
    fmt_double(num, sizeof(num), cfg->top_p);
    emit(&e, "top_p", "top_p: %s", num);
    emit_strv(&e, "", "stop", "stop", cfg->stop, cfg->n_stop);
    emit_long(&e, "", "seed", "seed", cfg->seed);
    emit_long(&e, "", "samples", "samples", cfg->samples);
    emit_bool(&e, "", "enable_local_telemetry", "enable_local_telemetry",
              cfg->enable_local_telemetry);
    emit_long(&e, "", "telemetry_interval_ms", "telemetry_interval_ms", cfg->telemetry_interval_ms);
    if (cfg->max_concurrent_jobs == LLEVAL_JOBS_AUTO)
        emit(&e, "max_concurrent_jobs", "max_concurrent_jobs: auto");
    else
        emit_long(&e, "", "max_concurrent_jobs", "max_concurrent_jobs", cfg->max_concurrent_jobs);
    emit_long(&e, "", "parts_per_dataset", "parts_per_dataset", cfg->parts_per_dataset);
    emit_long(&e, "", "limit_items", "limit_items", cfg->limit_items);
    emit_long(&e, "", "request_timeout_s", "request_timeout_s", cfg->request_timeout_s);
    emit_long(&e, "", "max_retries", "max_retries", cfg->max_retries);
    emit_long(&e, "", "max_connect_failures", "max_connect_failures", cfg->max_connect_failures);
    emit_str(&e, "", "keep_alive", "keep_alive", cfg->keep_alive);
    emit_str(&e, "", "prompt_set", "prompt_set", cfg->prompt_set);
    emit_prompt_sets(&e);
    emit_datasets(&e);
    emit(&e, NULL, "paths:");
    emit_str(&e, "  ", "prepared_dir", "paths.prepared_dir", cfg->prepared_dir);
    emit_str(&e, "  ", "runs_dir", "paths.runs_dir", cfg->runs_dir);
    emit_str(&e, "  ", "batches_dir", "paths.batches_dir", cfg->batches_dir);
    emit(&e, NULL, "scoring:");
    emit_str(&e, "  ", "answer_extraction", "scoring.answer_extraction", cfg->answer_extraction);
    emit_bool(&e, "  ", "strip_think", "scoring.strip_think", cfg->strip_think);
    emit_strv(&e, "  ", "abstain_phrases", "scoring.abstain_phrases", cfg->abstain_phrases,
              cfg->n_abstain_phrases);
    emit_long(&e, "  ", "bootstrap_samples", "scoring.bootstrap_samples", cfg->bootstrap_samples);
    emit_long(&e, "  ", "bootstrap_seed", "scoring.bootstrap_seed", cfg->bootstrap_seed);
    emit(&e, NULL, "launch:");
    emit_bool(&e, "  ", "enabled", "launch.enabled", cfg->launch.enabled);
    emit_str(&e, "  ", "binary", "launch.binary", cfg->launch.binary);
    emit_str(&e, "  ", "model", "launch.model", cfg->launch.model);
    emit_long(&e, "  ", "ctx_size", "launch.ctx_size", cfg->launch.ctx_size);
    emit_long(&e, "  ", "parallel", "launch.parallel", cfg->launch.parallel);
    emit_long(&e, "  ", "gpu_layers", "launch.gpu_layers", cfg->launch.gpu_layers);
    emit_strv(&e, "  ", "extra_args", "launch.extra_args", cfg->launch.extra_args,
              cfg->launch.n_extra_args);
    emit_long(&e, "  ", "max_restarts", "launch.max_restarts", cfg->launch.max_restarts);
    emit_long(&e, "  ", "instances", "launch.instances", cfg->launch.instances);
    emit_strv(&e, "  ", "devices", "launch.devices", cfg->launch.devices, cfg->launch.n_devices);
    emit(&e, NULL, "batch:");
    emit_long(&e, "  ", "max_requests", "batch.max_requests", cfg->batch.max_requests);
    emit_long(&e, "  ", "max_bytes", "batch.max_bytes", cfg->batch.max_bytes);
    emit_str(&e, "  ", "completion_window", "batch.completion_window",
             cfg->batch.completion_window);
    emit_long(&e, "  ", "poll_interval_ms", "batch.poll_interval_ms", cfg->batch.poll_interval_ms);
    emit_long(&e, "  ", "max_attempts", "batch.max_attempts", cfg->batch.max_attempts);
    emit_str(&e, "  ", "account_id", "batch.account_id", cfg->batch.account_id);
    return render(&e);
}
