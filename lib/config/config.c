/*
 * Configuration: built-in defaults (the guide's "Conservative Defaults"), the
 * guide's hardware presets, YAML config files read with libyaml's document
 * API, command-line overrides, the provenance of every value, and validation.
 * Every error names file:line:column (1-based), the key path and the fix.
 * Output (YAML, JSON) lives in config_yaml.c and config_json.c.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/util/util.h"

#define CONFIG_MAX_BYTES (4u << 20)

/* ---- names ---------------------------------------------------------------------------------- */

static const char *const item_type_names[] = {"closed_book", "open_book", "multiple_choice"};
static const char *const engine_names[] = {"dry", "ollama", "llamacpp", "openai"};
#define ENGINE_LIST "ollama, llamacpp, openai, dry"

const char *lleval_item_type_name(enum lleval_item_type t)
{
    return (unsigned)t < LLEVAL_N_ITEM_TYPES ? item_type_names[t] : "unknown";
}

int lleval_item_type_parse(const char *s, enum lleval_item_type *out)
{
    for (int i = 0; s && i < LLEVAL_N_ITEM_TYPES; i++) {
        if (!strcmp(s, item_type_names[i])) {
            *out = (enum lleval_item_type)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

const char *lleval_engine_kind_name(enum lleval_engine_kind k)
{
    return (unsigned)k < LLEVAL_ARRAY_SIZE(engine_names) ? engine_names[k] : "unknown";
}

int lleval_engine_kind_parse(const char *s, enum lleval_engine_kind *out)
{
    for (size_t i = 0; s && i < LLEVAL_ARRAY_SIZE(engine_names); i++) {
        if (!strcmp(s, engine_names[i])) {
            *out = (enum lleval_engine_kind)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

const char *lleval_engine_default_base_url(enum lleval_engine_kind k)
{
    switch (k) {
    case LLEVAL_ENGINE_OLLAMA:
        return "http://127.0.0.1:11434";
    case LLEVAL_ENGINE_LLAMACPP:
        return "http://127.0.0.1:8080";
    case LLEVAL_ENGINE_OPENAI:
        return "http://127.0.0.1:8000/v1";
    default:
        return NULL;
    }
}

const char *lleval_config_base_url(const struct lleval_config *cfg)
{
    return cfg->base_url ? cfg->base_url : lleval_engine_default_base_url(cfg->engine);
}

/* ---- the key table -------------------------------------------------------------------------- */

enum kind {
    K_PRESET,      /* string naming a preset, applied when set */
    K_STR,         /* string */
    K_NSTR,        /* string or null */
    K_LONG,        /* whole number in [min, max] */
    K_DOUBLE,      /* number in [min, max] */
    K_BOOL,        /* true | false */
    K_ENGINE,      /* enum lleval_engine_kind */
    K_EXTRACTION,  /* scoring.answer_extraction */
    K_DLIST,       /* list of numbers in [min, max] (temps) */
    K_SLIST,       /* list of strings */
    K_PROMPT_SETS, /* mapping of prompt sets */
    K_DATASETS,    /* list of datasets */
};

struct key_def {
    const char *path;
    enum kind kind;
    size_t off;
    double min, max;
};

/* Order = cfg->origin[] index = the order of `lleval config show`. */
#define KEY_TABLE(X)                                                                               \
    X("preset", K_PRESET, preset, 0, 0)                                                            \
    X("model_id", K_STR, model_id, 0, 0)                                                           \
    X("engine", K_ENGINE, engine, 0, 0)                                                            \
    X("base_url", K_NSTR, base_url, 0, 0)                                                          \
    X("api_key_env", K_NSTR, api_key_env, 0, 0)                                                    \
    X("context_length", K_LONG, context_length, 1, 16777216)                                       \
    X("temps", K_DLIST, temps, 0, 2)                                                               \
    X("max_new_tokens.closed_book", K_LONG, max_new_tokens[0], 1, 1048576)                         \
    X("max_new_tokens.open_book", K_LONG, max_new_tokens[1], 1, 1048576)                           \
    X("max_new_tokens.multiple_choice", K_LONG, max_new_tokens[2], 1, 1048576)                     \
    X("top_k", K_LONG, top_k, 0, 1000000)                                                          \
    X("top_p", K_DOUBLE, top_p, 0, 1)                                                              \
    X("stop", K_SLIST, stop, 0, 0)                                                                 \
    X("seed", K_LONG, seed, -1, 2147483647)                                                        \
    X("samples", K_LONG, samples, 1, 1000)                                                         \
    X("enable_local_telemetry", K_BOOL, enable_local_telemetry, 0, 0)                              \
    X("telemetry_interval_ms", K_LONG, telemetry_interval_ms, 50, 3600000)                         \
    X("max_concurrent_jobs", K_LONG, max_concurrent_jobs, 1, 256)                                  \
    X("parts_per_dataset", K_LONG, parts_per_dataset, 1, 100000)                                   \
    X("limit_items", K_LONG, limit_items, 0, 2147483647)                                           \
    X("request_timeout_s", K_LONG, request_timeout_s, 1, 86400)                                    \
    X("max_retries", K_LONG, max_retries, 0, 100)                                                  \
    X("max_connect_failures", K_LONG, max_connect_failures, 1, 100000)                             \
    X("keep_alive", K_STR, keep_alive, 0, 0)                                                       \
    X("prompt_set", K_STR, prompt_set, 0, 0)                                                       \
    X("prompt_sets", K_PROMPT_SETS, prompt_sets, 0, 0)                                             \
    X("datasets", K_DATASETS, datasets, 0, 0)                                                      \
    X("paths.prepared_dir", K_STR, prepared_dir, 0, 0)                                             \
    X("paths.runs_dir", K_STR, runs_dir, 0, 0)                                                     \
    X("paths.batches_dir", K_STR, batches_dir, 0, 0)                                               \
    X("scoring.answer_extraction", K_EXTRACTION, answer_extraction, 0, 0)                          \
    X("scoring.strip_think", K_BOOL, strip_think, 0, 0)                                            \
    X("scoring.bootstrap_samples", K_LONG, bootstrap_samples, 0, 1000000)                          \
    X("scoring.bootstrap_seed", K_LONG, bootstrap_seed, 0, 2147483647)                             \
    X("launch.enabled", K_BOOL, launch.enabled, 0, 0)                                              \
    X("launch.binary", K_NSTR, launch.binary, 0, 0)                                                \
    X("launch.model", K_NSTR, launch.model, 0, 0)                                                  \
    X("launch.ctx_size", K_LONG, launch.ctx_size, 0, 16777216)                                     \
    X("launch.parallel", K_LONG, launch.parallel, 0, 256)                                          \
    X("launch.gpu_layers", K_LONG, launch.gpu_layers, -1, 100000)                                  \
    X("launch.extra_args", K_SLIST, launch.extra_args, 0, 0)                                       \
    X("launch.max_restarts", K_LONG, launch.max_restarts, 0, 100)

#define KEY_DEF(p, k, m, lo, hi)  {p, k, offsetof(struct lleval_config, m), lo, hi},
#define KEY_NAME(p, k, m, lo, hi) p,

static const struct key_def key_defs[] = {KEY_TABLE(KEY_DEF)};
static const char *const key_names[] = {KEY_TABLE(KEY_NAME) NULL};
#define N_KEYS LLEVAL_ARRAY_SIZE(key_defs)

/* Mappings whose children are keys of the table. */
static const char *const group_names[] = {"max_new_tokens", "paths", "scoring", "launch"};

static const char *const extraction_names[] = {"none", "first_line", "after_answer"};
static const char *const dataset_formats[] = {"squad", "nq_open", "mmlu", "jsonl", "csv"};
static const char *const dataset_scorings[] = {"squad", "nq", "mc"};
static const char *const mmlu_splits[] = {"test", "val", "dev"};

const char *const *lleval_config_keys(void)
{
    return key_names;
}

int lleval_config_key_index(const char *key)
{
    for (size_t i = 0; key && i < N_KEYS; i++)
        if (!strcmp(key_defs[i].path, key))
            return (int)i;
    return -1;
}

static int key_index_checked(const char *key)
{
    int i = lleval_config_key_index(key);
    return i < 0 ? 0 : i; /* callers pass table names only */
}

static bool is_group(const char *path)
{
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(group_names); i++)
        if (!strcmp(group_names[i], path))
            return true;
    return false;
}

static bool is_api_key(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *last = dot ? dot + 1 : path;
    return !strcmp(last, "api_key") || !strcmp(last, "apikey") || !strcmp(last, "api-key");
}

static void *field_of(struct lleval_config *cfg, const struct key_def *k)
{
    return (char *)cfg + k->off;
}

/* The (array, count) pair of a list key. */
static void list_fields(struct lleval_config *cfg, const struct key_def *k, void ***items,
                        size_t **count)
{
    if (!strcmp(k->path, "temps")) {
        *items = (void **)&cfg->temps;
        *count = &cfg->n_temps;
    } else if (!strcmp(k->path, "stop")) {
        *items = (void **)&cfg->stop;
        *count = &cfg->n_stop;
    } else {
        *items = (void **)&cfg->launch.extra_args;
        *count = &cfg->launch.n_extra_args;
    }
}

static const char *one_of(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, names[i]))
            return names[i];
    return NULL;
}

static void join_names(char *buf, size_t size, const char *const *names, size_t n)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (size_t i = 0; i < n; i++)
        lleval_sb_addf(&sb, "%s%s", i ? ", " : "", names[i]);
    snprintf(buf, size, "%s", sb.buf);
    lleval_sb_release(&sb);
}

/* The candidate word most likely meant, or NULL: close in spelling, or the
 * only one it starts ("closed" -> "closed_book"). */
static const char *guess(const char *word, const char *const *names, size_t n)
{
    const char *best = lleval_did_you_mean(word, names, n), *prefixed = NULL;
    size_t len = strlen(word), hits = 0;
    if (best || len < 3)
        return best;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(names[i], word, len)) {
            prefixed = names[i];
            hits++;
        }
    }
    return hits == 1 ? prefixed : NULL;
}

/* "; did you mean 'x'?" or "", to end a message. */
static const char *dym(char *buf, size_t size, const char *word, const char *const *names, size_t n)
{
    const char *best = guess(word, names, n);
    if (best)
        snprintf(buf, size, "; did you mean '%s'?", best);
    else
        buf[0] = 0;
    return buf;
}

/* " (did you mean 'x'?)" or "", for the middle of a message. */
static const char *dym_mid(char *buf, size_t size, const char *word, const char *const *names,
                           size_t n)
{
    const char *best = guess(word, names, n);
    if (best)
        snprintf(buf, size, " (did you mean '%s'?)", best);
    else
        buf[0] = 0;
    return buf;
}

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
            return false;
    return true;
}

/* A valid name made from s, for suggestions ("nq open" -> "nq_open"). Owned. */
static char *sanitize_name(const char *s)
{
    char *out = lleval_xstrdup(*s ? s : "dataset");
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            *p = '_';
    return out;
}

/* ---- built-in prompt sets ------------------------------------------------------------------- */

struct builtin_type {
    const char *name;
    const char *system[LLEVAL_N_ITEM_TYPES];
    const char *user[LLEVAL_N_ITEM_TYPES];
};

static const struct builtin_type builtin_types[] = {
    {"direct",
     {"You are a knowledgeable assistant. Answer the question accurately and concisely.",
      "You are a careful reader. Answer the question using only the passage, with the shortest "
      "span of the passage that answers it.",
      "You are a knowledgeable assistant. Choose the single best answer to the multiple-choice "
      "question."},
     {"Question: {question}\nAnswer:", "Passage:\n{context}\n\nQuestion: {question}\nAnswer:",
      "Question: {question}\n\n{choices}\n\nAnswer with one letter ({choice_letters}).\n"
      "Answer:"}},
    {"operational",
     {"Reply with the answer only, no explanation. Use as few words as possible and do not "
      "repeat the question.",
      "Reply with the answer only, no explanation: copy the shortest span of the passage that "
      "answers the question.",
      "Reply with the letter of the correct option only ({choice_letters}), no explanation."},
     {"Question: {question}\nAnswer:", "Passage:\n{context}\n\nQuestion: {question}\nAnswer:",
      "Question: {question}\n\n{choices}\n\nAnswer:"}},
};

struct builtin_set {
    const char *name;
    const char *types[3];
};

static const struct builtin_set builtin_sets[] = {
    {"default", {"direct", NULL, NULL}},
    {"operational_only", {"operational", NULL, NULL}},
    {"all", {"direct", "operational", NULL}},
};

/* The built-in prompt type a user type borrows missing templates from. */
static const struct builtin_type *builtin_fallback(const char *type_name)
{
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(builtin_types); i++)
        if (!strcmp(builtin_types[i].name, type_name))
            return &builtin_types[i];
    return &builtin_types[0];
}

static void fill_prompt_type(struct lleval_prompt_type *t, const struct builtin_type *b)
{
    for (int i = 0; i < LLEVAL_N_ITEM_TYPES; i++) {
        if (!t->system[i])
            t->system[i] = lleval_xstrdup(b->system[i]);
        if (!t->user[i])
            t->user[i] = lleval_xstrdup(b->user[i]);
    }
}

static void free_prompt_type(struct lleval_prompt_type *t)
{
    free(t->name);
    for (int i = 0; i < LLEVAL_N_ITEM_TYPES; i++) {
        free(t->system[i]);
        free(t->user[i]);
    }
}

static void free_prompt_set(struct lleval_prompt_set *s)
{
    for (size_t i = 0; i < s->n_types; i++)
        free_prompt_type(&s->types[i]);
    free(s->types);
    free(s->name);
}

static void add_builtin_prompt_sets(struct lleval_config *cfg)
{
    size_t n = LLEVAL_ARRAY_SIZE(builtin_sets);
    cfg->prompt_sets = lleval_xcalloc(n, sizeof(*cfg->prompt_sets));
    cfg->n_prompt_sets = n;
    for (size_t i = 0; i < n; i++) {
        struct lleval_prompt_set *ps = &cfg->prompt_sets[i];
        ps->name = lleval_xstrdup(builtin_sets[i].name);
        for (size_t j = 0; j < 3 && builtin_sets[i].types[j]; j++)
            ps->n_types++;
        ps->types = lleval_xcalloc(ps->n_types, sizeof(*ps->types));
        for (size_t j = 0; j < ps->n_types; j++) {
            ps->types[j].name = lleval_xstrdup(builtin_sets[i].types[j]);
            fill_prompt_type(&ps->types[j], builtin_fallback(builtin_sets[i].types[j]));
        }
    }
}

const struct lleval_prompt_set *lleval_config_find_prompt_set(const struct lleval_config *cfg,
                                                              const char *name)
{
    for (size_t i = 0; name && i < cfg->n_prompt_sets; i++)
        if (!strcmp(cfg->prompt_sets[i].name, name))
            return &cfg->prompt_sets[i];
    return NULL;
}

const struct lleval_prompt_set *lleval_config_prompt_set(const struct lleval_config *cfg)
{
    return lleval_config_find_prompt_set(cfg, cfg->prompt_set);
}

const struct lleval_prompt_type *lleval_prompt_set_find_type(const struct lleval_prompt_set *set,
                                                             const char *name)
{
    for (size_t i = 0; set && name && i < set->n_types; i++)
        if (!strcmp(set->types[i].name, name))
            return &set->types[i];
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

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
    add_builtin_prompt_sets(cfg);
    cfg->prepared_dir = lleval_xstrdup("data/prepared");
    cfg->runs_dir = lleval_xstrdup("runs");
    cfg->batches_dir = lleval_xstrdup("data/batches");
    cfg->answer_extraction = lleval_xstrdup("none");
    cfg->strip_think = true;
    cfg->bootstrap_samples = 1000;
    cfg->bootstrap_seed = 12345;
    cfg->launch.enabled = false;
    cfg->launch.ctx_size = 0;
    cfg->launch.parallel = 0;
    cfg->launch.gpu_layers = -1;
    cfg->launch.max_restarts = 3;
    cfg->origin = lleval_xcalloc(N_KEYS, sizeof(*cfg->origin));
    cfg->origin_where = lleval_xcalloc(N_KEYS, sizeof(*cfg->origin_where));
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_dataset(struct lleval_dataset_cfg *d)
{
    free(d->name);
    free(d->format);
    free(d->path);
    free(d->split);
    free(d->scoring);
    free(d->field_id);
    free(d->field_question);
    free(d->field_context);
    free(d->field_answers);
    free(d->field_choices);
}

static void free_datasets(struct lleval_dataset_cfg *ds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_dataset(&ds[i]);
    free(ds);
}

void lleval_config_release(struct lleval_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->source_path);
    free(cfg->preset);
    free(cfg->model_id);
    free(cfg->base_url);
    free(cfg->api_key_env);
    free(cfg->temps);
    free_strv(cfg->stop, cfg->n_stop);
    free(cfg->keep_alive);
    free(cfg->prompt_set);
    for (size_t i = 0; i < cfg->n_prompt_sets; i++)
        free_prompt_set(&cfg->prompt_sets[i]);
    free(cfg->prompt_sets);
    free_datasets(cfg->datasets, cfg->n_datasets);
    free(cfg->prepared_dir);
    free(cfg->runs_dir);
    free(cfg->batches_dir);
    free(cfg->answer_extraction);
    free(cfg->launch.binary);
    free(cfg->launch.model);
    free_strv(cfg->launch.extra_args, cfg->launch.n_extra_args);
    if (cfg->origin_where)
        for (size_t i = 0; i < N_KEYS; i++)
            free(cfg->origin_where[i]);
    free(cfg->origin_where);
    free(cfg->origin);
    for (size_t i = 0; i < cfg->n_extra_origins; i++) {
        free(cfg->extra_origins[i].key);
        free(cfg->extra_origins[i].where);
    }
    free(cfg->extra_origins);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- provenance ----------------------------------------------------------------------------- */

static void set_origin(struct lleval_config *cfg, int idx, enum lleval_origin from,
                       const char *where)
{
    free(cfg->origin_where[idx]);
    cfg->origin[idx] = from;
    cfg->origin_where[idx] = lleval_xstrdup(where);
}

static void set_extra_origin(struct lleval_config *cfg, const char *key, enum lleval_origin from,
                             const char *where)
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

/* Forgets the extra origins of key and of everything below it ("key." / "key["). */
static void clear_extra_origins(struct lleval_config *cfg, const char *key)
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

static bool lookup_origin(const struct lleval_config *cfg, const char *key,
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
    lookup_origin(cfg, key, &from, &where);
    origin_text(&sb, from, where);
    return lleval_sb_detach(&sb, NULL);
}

/* ---- reading values from YAML nodes --------------------------------------------------------- */

/* Where the values being read come from. */
struct src {
    struct lleval_config *cfg;
    const char *file; /* config file: errors and origins say file:line:column */
    const char *flag; /* otherwise the flag ("--set") or the preset name */
    enum lleval_origin from;
    yaml_document_t *doc;
    struct lleval_err *err;
};

static unsigned long mark_line(const yaml_node_t *n)
{
    return (unsigned long)n->start_mark.line + 1;
}

static unsigned long mark_col(const yaml_node_t *n)
{
    return (unsigned long)n->start_mark.column + 1;
}

/* Owned origin text of a node: "file:line:col", or the flag / preset name. */
static char *where_of(const struct src *s, const yaml_node_t *n)
{
    if (s->file && n)
        return lleval_xasprintf("%s:%lu:%lu", s->file, mark_line(n), mark_col(n));
    return lleval_xstrdup(s->file ? s->file : s->flag);
}

static int fail(const struct src *s, const yaml_node_t *n, const char *fmt, ...)
    LLEVAL_PRINTF(3, 4);

static int fail(const struct src *s, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[LLEVAL_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (s->file && n)
        return lleval_err_set(s->err, LLEVAL_EINVAL, "%s:%lu:%lu: %s", s->file, mark_line(n),
                              mark_col(n), msg);
    if (s->file)
        return lleval_err_set(s->err, LLEVAL_EINVAL, "%s: %s", s->file, msg);
    if (s->from == LLEVAL_FROM_PRESET)
        return lleval_err_set(s->err, LLEVAL_EINVAL, "preset %s: %s", s->flag, msg);
    return lleval_err_set(s->err, LLEVAL_EINVAL, "%s: %s", s->flag, msg);
}

static yaml_node_t *node_at(const struct src *s, int id)
{
    return yaml_document_get_node(s->doc, id);
}

static const char *text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
    const char *t;
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    t = text(n);
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

static bool is_quoted(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
}

static const char *kind_of(const yaml_node_t *n)
{
    if (is_null(n))
        return "null";
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return is_quoted(n) ? "a quoted string" : "a plain value";
    }
}

static int need_value(const struct src *s, const yaml_node_t *n, const char *path)
{
    return fail(s, n, "'%s' needs a value; give one or remove the key to keep the default", path);
}

/* A string value; null gives NULL when nullable. *out is owned. */
static int get_string(const struct src *s, const yaml_node_t *n, const char *path, bool nullable,
                      char **out)
{
    *out = NULL;
    if (is_null(n)) {
        if (nullable)
            return 0;
        return need_value(s, n, path);
    }
    if (n->type != YAML_SCALAR_NODE)
        return fail(s, n, "'%s' must be a string, not %s; write e.g. '%s: text'", path, kind_of(n),
                    path);
    if (strlen(text(n)) != n->data.scalar.length)
        return fail(s, n, "'%s' contains a NUL byte; remove it", path);
    *out = lleval_xstrdup(text(n));
    return 0;
}

static int get_long(const struct src *s, const yaml_node_t *n, const char *path, long min, long max,
                    long *out)
{
    long v;
    double d;
    if (is_null(n))
        return need_value(s, n, path);
    if (n->type != YAML_SCALAR_NODE)
        return fail(s, n, "'%s' must be a whole number from %ld to %ld, not %s", path, min, max,
                    kind_of(n));
    if (is_quoted(n))
        return fail(s, n,
                    "'%s' must be a whole number, not the string \"%.60s\"; remove the quotes "
                    "(write a number from %ld to %ld)",
                    path, text(n), min, max);
    if (lleval_parse_long(text(n), -2147483647L - 1, 2147483647L, &v)) {
        if (!lleval_parse_double(text(n), &d))
            return fail(s, n,
                        "'%s' must be a whole number, not '%.60s'; write a number from %ld "
                        "to %ld without a fraction",
                        path, text(n), min, max);
        return fail(s, n, "'%s' must be a whole number from %ld to %ld, not '%.60s'", path, min,
                    max, text(n));
    }
    if (v < min || v > max)
        return fail(s, n, "'%s' must be from %ld to %ld, not %ld", path, min, max, v);
    *out = v;
    return 0;
}

static int get_double(const struct src *s, const yaml_node_t *n, const char *path, double min,
                      double max, double *out)
{
    double v;
    char a[32], b[32];
    lleval_fmt_num(a, sizeof(a), min);
    lleval_fmt_num(b, sizeof(b), max);
    if (is_null(n))
        return need_value(s, n, path);
    if (n->type != YAML_SCALAR_NODE)
        return fail(s, n, "'%s' must be a number from %s to %s, not %s", path, a, b, kind_of(n));
    if (is_quoted(n))
        return fail(s, n,
                    "'%s' must be a number, not the string \"%.60s\"; remove the quotes (write a "
                    "number from %s to %s)",
                    path, text(n), a, b);
    if (lleval_parse_double(text(n), &v))
        return fail(s, n, "'%s' must be a number from %s to %s, not '%.60s'", path, a, b, text(n));
    if (v < min || v > max)
        return fail(s, n, "'%s' must be from %s to %s, not %.60s", path, a, b, text(n));
    *out = v;
    return 0;
}

static int get_bool(const struct src *s, const yaml_node_t *n, const char *path, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    if (is_null(n))
        return need_value(s, n, path);
    if (n->type == YAML_SCALAR_NODE && !is_quoted(n)) {
        if (one_of(text(n), yes, LLEVAL_ARRAY_SIZE(yes))) {
            *out = true;
            return 0;
        }
        if (one_of(text(n), no, LLEVAL_ARRAY_SIZE(no))) {
            *out = false;
            return 0;
        }
    }
    if (n->type != YAML_SCALAR_NODE)
        return fail(s, n, "'%s' must be true or false, not %s", path, kind_of(n));
    return fail(s, n, "'%s' must be true or false (without quotes), not '%.60s'", path, text(n));
}

/* A string that must be one of names; *out is owned. */
static int get_choice(const struct src *s, const yaml_node_t *n, const char *path,
                      const char *const *names, size_t count, char **out)
{
    char list[256], hint[128];
    int rc = get_string(s, n, path, false, out);
    if (rc)
        return rc;
    if (one_of(*out, names, count))
        return 0;
    join_names(list, sizeof(list), names, count);
    rc = fail(s, n, "'%s' must be one of %s, not '%.60s'%s", path, list, *out,
              dym(hint, sizeof(hint), *out, names, count));
    free(*out);
    *out = NULL;
    return rc;
}

static int get_double_list(const struct src *s, yaml_node_t *n, const char *path, double min,
                           double max, double **out, size_t *count)
{
    double *v = NULL;
    size_t nv = 0;
    int rc = 0;
    *out = NULL;
    *count = 0;
    if (is_null(n))
        return need_value(s, n, path);
    if (n->type == YAML_MAPPING_NODE)
        return fail(s, n, "'%s' must be a number or a list of numbers like [0.0, 0.7], not %s",
                    path, kind_of(n));
    if (n->type == YAML_SCALAR_NODE) {
        v = lleval_xcalloc(1, sizeof(*v));
        rc = get_double(s, n, path, min, max, &v[0]);
        nv = 1;
    } else {
        size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        v = lleval_xcalloc(total ? total : 1, sizeof(*v));
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             !rc && it < n->data.sequence.items.top; it++) {
            char *ipath = lleval_xasprintf("%s[%zu]", path, nv);
            rc = get_double(s, node_at(s, *it), ipath, min, max, &v[nv++]);
            free(ipath);
        }
    }
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *count = nv;
    return 0;
}

static int get_string_list(const struct src *s, yaml_node_t *n, const char *path, char ***out,
                           size_t *count)
{
    char **v = NULL;
    size_t nv = 0;
    int rc = 0;
    *out = NULL;
    *count = 0;
    if (is_null(n))
        return 0; /* "stop:" with nothing: no strings */
    if (n->type == YAML_MAPPING_NODE)
        return fail(s, n,
                    "'%s' must be a string or a list of strings like [\"Q:\", \"A:\"], not %s",
                    path, kind_of(n));
    if (n->type == YAML_SCALAR_NODE) {
        v = lleval_xcalloc(1, sizeof(*v));
        rc = get_string(s, n, path, false, &v[0]);
        nv = rc ? 0 : 1;
    } else {
        size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        v = lleval_xcalloc(total ? total : 1, sizeof(*v));
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             !rc && it < n->data.sequence.items.top; it++) {
            char *ipath = lleval_xasprintf("%s[%zu]", path, nv);
            rc = get_string(s, node_at(s, *it), ipath, false, &v[nv]);
            if (!rc)
                nv++;
            free(ipath);
        }
    }
    if (rc) {
        free_strv(v, nv);
        return rc;
    }
    *out = v;
    *count = nv;
    return 0;
}

/* ---- presets -------------------------------------------------------------------------------- */

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

static int set_text(struct lleval_config *cfg, const char *key, const char *value,
                    enum lleval_origin from, const char *flag, struct lleval_err *err);

/* Message (without place) for an unknown preset name. */
static int unknown_preset(const char *name, struct lleval_err *err)
{
    char hint[128];
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "unknown preset '%.60s'%s; presets: throughput, quality, stretch, "
                          "conservative",
                          name, dym_mid(hint, sizeof(hint), name, preset_names, 4));
}

static const struct preset_def *find_preset(const char *name)
{
    for (size_t i = 0; name && i < LLEVAL_ARRAY_SIZE(presets); i++)
        if (!strcmp(presets[i].name, name))
            return &presets[i];
    return NULL;
}

/* Applies preset values (origin "preset NAME") and records where the choice came from. */
static int apply_preset(struct lleval_config *cfg, const char *name, enum lleval_origin from,
                        const char *where, struct lleval_err *err)
{
    const struct preset_def *p = find_preset(name);
    int rc;
    if (!p)
        return unknown_preset(name, err);
    for (size_t i = 0; p->kv[i]; i += 2) {
        rc = set_text(cfg, p->kv[i], p->kv[i + 1], LLEVAL_FROM_PRESET, p->name, err);
        if (rc)
            return rc;
    }
    free(cfg->preset);
    cfg->preset = lleval_xstrdup(p->name);
    set_origin(cfg, key_index_checked("preset"), from, where);
    return 0;
}

int lleval_config_apply_preset(struct lleval_config *cfg, const char *name, struct lleval_err *err)
{
    return apply_preset(cfg, name, LLEVAL_FROM_CLI, "--preset", err);
}

/* The `preset:` key of a file, or a preset given as a value node. */
static int apply_preset_node(const struct src *s, const yaml_node_t *n)
{
    char *name = NULL, *where;
    int idx = key_index_checked("preset");
    int rc = get_string(s, n, "preset", true, &name);
    if (rc)
        return rc;
    if (!name) { /* preset: null = none */
        if (s->from == LLEVAL_FROM_FILE && s->cfg->origin[idx] == LLEVAL_FROM_CLI)
            return 0;
        free(s->cfg->preset);
        s->cfg->preset = NULL;
        where = where_of(s, n);
        set_origin(s->cfg, idx, s->from, where);
        free(where);
        return 0;
    }
    if (!find_preset(name)) {
        char msg[LLEVAL_ERR_MAX];
        unknown_preset(name, s->err);
        snprintf(msg, sizeof(msg), "%s", s->err->msg);
        free(name);
        return fail(s, n, "%s", msg);
    }
    /* --preset wins over the file's preset key */
    if (s->from == LLEVAL_FROM_FILE && s->cfg->origin[idx] == LLEVAL_FROM_CLI) {
        free(name);
        return 0;
    }
    where = where_of(s, n);
    rc = apply_preset(s->cfg, name, s->from, where, s->err);
    free(where);
    free(name);
    return rc;
}

/* ---- datasets ------------------------------------------------------------------------------- */

enum { DS_NAME, DS_FORMAT, DS_PATH, DS_SPLIT, DS_TYPE, DS_SCORING, DS_FIELDS, DS_HEADER, DS_N };
static const char *const dataset_keys[DS_N] = {"name", "format",  "path",   "split",
                                               "type", "scoring", "fields", "header"};
static const char *const field_keys[] = {"id", "question", "context", "answers", "choices"};

static char **field_slot(struct lleval_dataset_cfg *d, size_t i)
{
    char **slots[] = {&d->field_id, &d->field_question, &d->field_context, &d->field_answers,
                      &d->field_choices};
    return slots[i];
}

/* Finds key in the pairs of a mapping that come before `upto`; returns its node. */
static yaml_node_t *earlier_key(const struct src *s, const yaml_node_t *map,
                                const yaml_node_pair_t *upto, const char *key)
{
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < upto; q++) {
        yaml_node_t *k = node_at(s, q->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp(text(k), key))
            return k;
    }
    return NULL;
}

/* The key of a pair as a name, rejecting duplicates; sets *name (borrowed). */
static int pair_key(const struct src *s, const yaml_node_t *map, const yaml_node_pair_t *p,
                    const char *where_path, const char **name)
{
    yaml_node_t *k = node_at(s, p->key), *first;
    if (!k || k->type != YAML_SCALAR_NODE || is_null(k))
        return fail(s, k, "keys must be names, not %s%s%s", k ? kind_of(k) : "empty",
                    where_path ? " in " : "", where_path ? where_path : "");
    first = earlier_key(s, map, p, text(k));
    if (first) {
        if (s->file)
            return fail(s, k, "duplicate key '%s%s%s' (first at line %lu); keep one of them",
                        where_path ? where_path : "", where_path ? "." : "", text(k),
                        mark_line(first));
        return fail(s, k, "duplicate key '%s%s%s'; keep one of them", where_path ? where_path : "",
                    where_path ? "." : "", text(k));
    }
    *name = text(k);
    return 0;
}

/* "datasets[i].key" in buf. */
static const char *dkey(char *buf, size_t size, size_t i, const char *key)
{
    snprintf(buf, size, "datasets[%zu].%s", i, key);
    return buf;
}

static int load_dataset(const struct src *s, yaml_node_t *item, size_t i,
                        struct lleval_dataset_cfg *ds)
{
    struct lleval_dataset_cfg *d = &ds[i];
    yaml_node_t *nodes[DS_N] = {0};
    char path[64], kp[96], hint[128], list[256];
    int rc = 0;

    snprintf(path, sizeof(path), "datasets[%zu]", i);
    if (item->type != YAML_MAPPING_NODE)
        return fail(s, item,
                    "'%s' must be a mapping with name, format and path (e.g. '- name: nq_open'), "
                    "not %s",
                    path, kind_of(item));
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
         p++) {
        const char *name;
        const char *known;
        char *okey, *where;
        size_t j;
        rc = pair_key(s, item, p, path, &name);
        if (rc)
            return rc;
        known = one_of(name, dataset_keys, DS_N);
        if (!known)
            return fail(s, node_at(s, p->key), "unknown key '%s.%s'%s; dataset keys: %s", path,
                        name, dym_mid(hint, sizeof(hint), name, dataset_keys, DS_N),
                        "name, format, path, split, type, scoring, fields, header");
        for (j = 0; j < DS_N && dataset_keys[j] != known; j++)
            ;
        nodes[j] = node_at(s, p->value);
        okey = lleval_xasprintf("%s.%s", path, name);
        where = where_of(s, nodes[j]);
        set_extra_origin(s->cfg, okey, s->from, where);
        free(okey);
        free(where);
    }

    if (!nodes[DS_NAME])
        return fail(s, item,
                    "'%s' has no 'name'; add e.g. 'name: nq_open' (letters, digits, '_', '.', "
                    "'-')",
                    path);
    if ((rc = get_string(s, nodes[DS_NAME], dkey(kp, sizeof(kp), i, "name"), false, &d->name)))
        return rc;
    if (!valid_name(d->name)) {
        char *better = sanitize_name(d->name);
        rc = fail(s, nodes[DS_NAME],
                  "dataset name '%.60s' may only contain letters, digits, '_', '.' and '-'; "
                  "rename it, e.g. '%.60s'",
                  d->name, better);
        free(better);
        return rc;
    }
    for (size_t j = 0; j < i; j++) {
        if (!strcmp(ds[j].name, d->name)) {
            char *okey = lleval_xasprintf("datasets[%zu].name", j);
            char *first = lleval_config_origin(s->cfg, okey);
            rc = fail(s, nodes[DS_NAME],
                      "duplicate dataset name '%s' (first at %s); give each dataset its own name",
                      d->name, first);
            free(okey);
            free(first);
            return rc;
        }
    }
    if (!nodes[DS_FORMAT])
        return fail(s, item,
                    "dataset '%s' has no 'format'; add one of squad, nq_open, mmlu, "
                    "jsonl, csv",
                    d->name);
    if ((rc = get_choice(s, nodes[DS_FORMAT], dkey(kp, sizeof(kp), i, "format"), dataset_formats,
                         LLEVAL_ARRAY_SIZE(dataset_formats), &d->format)))
        return rc;
    if (!nodes[DS_PATH])
        return fail(s, item,
                    "dataset '%s' has no 'path'; add the file or folder to read, e.g. "
                    "'path: ../shared/datasets/nq_open/NQ-open.dev.jsonl'",
                    d->name);
    if ((rc = get_string(s, nodes[DS_PATH], dkey(kp, sizeof(kp), i, "path"), false, &d->path)))
        return rc;
    if (!*d->path)
        return fail(s, nodes[DS_PATH], "dataset '%s' has an empty 'path'; give the file to read",
                    d->name);

    if (nodes[DS_SPLIT]) {
        if (strcmp(d->format, "mmlu"))
            return fail(s, nodes[DS_SPLIT],
                        "'split' only applies to mmlu datasets, and '%s' is %s; remove it", d->name,
                        d->format);
        if ((rc = get_choice(s, nodes[DS_SPLIT], dkey(kp, sizeof(kp), i, "split"), mmlu_splits,
                             LLEVAL_ARRAY_SIZE(mmlu_splits), &d->split)))
            return rc;
    } else if (!strcmp(d->format, "mmlu")) {
        d->split = lleval_xstrdup("test");
    }
    if (nodes[DS_TYPE]) {
        char *t = NULL;
        if ((rc = get_string(s, nodes[DS_TYPE], dkey(kp, sizeof(kp), i, "type"), false, &t)))
            return rc;
        if (lleval_item_type_parse(t, &d->type)) {
            join_names(list, sizeof(list), item_type_names, LLEVAL_N_ITEM_TYPES);
            rc = fail(s, nodes[DS_TYPE], "unknown item type '%.60s' for dataset '%s'%s; use %s", t,
                      d->name, dym_mid(hint, sizeof(hint), t, item_type_names, LLEVAL_N_ITEM_TYPES),
                      list);
            free(t);
            return rc;
        }
        free(t);
        d->has_type = true;
    }
    if (nodes[DS_SCORING] && !is_null(nodes[DS_SCORING]) &&
        (rc = get_choice(s, nodes[DS_SCORING], dkey(kp, sizeof(kp), i, "scoring"), dataset_scorings,
                         LLEVAL_ARRAY_SIZE(dataset_scorings), &d->scoring)))
        return rc;
    if (nodes[DS_FIELDS] && !is_null(nodes[DS_FIELDS])) {
        yaml_node_t *f = nodes[DS_FIELDS];
        if (strcmp(d->format, "jsonl") && strcmp(d->format, "csv"))
            return fail(s, f,
                        "'fields' only applies to jsonl and csv datasets, and '%s' is %s; "
                        "remove it",
                        d->name, d->format);
        if (f->type != YAML_MAPPING_NODE)
            return fail(s, f,
                        "'fields' of dataset '%s' must be a mapping like '{question: q, "
                        "answers: a}', not %s",
                        d->name, kind_of(f));
        for (yaml_node_pair_t *p = f->data.mapping.pairs.start; p < f->data.mapping.pairs.top;
             p++) {
            const char *name;
            size_t j;
            char fpath[96];
            snprintf(fpath, sizeof(fpath), "%s.fields", path);
            if ((rc = pair_key(s, f, p, fpath, &name)))
                return rc;
            for (j = 0; j < LLEVAL_ARRAY_SIZE(field_keys) && strcmp(field_keys[j], name); j++)
                ;
            if (j == LLEVAL_ARRAY_SIZE(field_keys))
                return fail(
                    s, node_at(s, p->key),
                    "unknown key '%s.%s'%s; fields: id, question, "
                    "context, answers, choices",
                    fpath, name,
                    dym_mid(hint, sizeof(hint), name, field_keys, LLEVAL_ARRAY_SIZE(field_keys)));
            if ((rc = get_string(s, node_at(s, p->value), dkey(kp, sizeof(kp), i, "fields"), false,
                                 field_slot(d, j))))
                return rc;
        }
    }
    if (nodes[DS_HEADER]) {
        if (strcmp(d->format, "csv"))
            return fail(s, nodes[DS_HEADER],
                        "'header' only applies to csv datasets, and '%s' is %s; remove it", d->name,
                        d->format);
        if ((rc = get_bool(s, nodes[DS_HEADER], dkey(kp, sizeof(kp), i, "header"), &d->csv_header)))
            return rc;
    }
    return 0;
}

static int load_datasets(const struct src *s, yaml_node_t *n)
{
    struct lleval_dataset_cfg *ds = NULL;
    size_t nd = 0;
    int rc = 0;

    if (!is_null(n) && n->type != YAML_SEQUENCE_NODE)
        return fail(s, n, "'datasets' must be a list of datasets ('- name: ...'), not %s",
                    kind_of(n));
    clear_extra_origins(s->cfg, "datasets");
    if (!is_null(n)) {
        size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        ds = lleval_xcalloc(total ? total : 1, sizeof(*ds));
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             !rc && it < n->data.sequence.items.top; it++) {
            ds[nd].csv_header = true;
            rc = load_dataset(s, node_at(s, *it), nd, ds);
            nd++;
        }
    }
    if (rc) {
        free_datasets(ds, nd);
        return rc;
    }
    free_datasets(s->cfg->datasets, s->cfg->n_datasets);
    s->cfg->datasets = ds;
    s->cfg->n_datasets = nd;
    return 0;
}

/* ---- prompt sets ---------------------------------------------------------------------------- */

static int load_templates(const struct src *s, yaml_node_t *n, const char *path,
                          struct lleval_prompt_type *t, enum lleval_item_type it)
{
    static const char *const tkeys[] = {"system", "user"};
    char hint[128];
    int rc;
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(s, n,
                    "'%s' must be a mapping like '{system: \"...\", user: \"Question: "
                    "{question}\"}', not %s",
                    path, kind_of(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *name;
        char **slot;
        char *okey, *where;
        if ((rc = pair_key(s, n, p, path, &name)))
            return rc;
        if (!strcmp(name, "system"))
            slot = &t->system[it];
        else if (!strcmp(name, "user"))
            slot = &t->user[it];
        else
            return fail(s, node_at(s, p->key),
                        "unknown key '%s.%s'%s; templates have system and user", path, name,
                        dym_mid(hint, sizeof(hint), name, tkeys, 2));
        okey = lleval_xasprintf("%s.%s", path, name);
        free(*slot);
        rc = get_string(s, node_at(s, p->value), okey, true, slot);
        if (!rc) {
            where = where_of(s, node_at(s, p->value));
            set_extra_origin(s->cfg, okey, s->from, where);
            free(where);
        }
        free(okey);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_prompt_type(const struct src *s, yaml_node_t *n, const char *path,
                            struct lleval_prompt_type *t)
{
    char hint[128], list[256];
    int rc;
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(s, n,
                    "'%s' must map item types (closed_book, open_book, multiple_choice) to "
                    "templates, not %s",
                    path, kind_of(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *name;
        enum lleval_item_type it;
        char *ipath;
        if ((rc = pair_key(s, n, p, path, &name)))
            return rc;
        if (lleval_item_type_parse(name, &it)) {
            join_names(list, sizeof(list), item_type_names, LLEVAL_N_ITEM_TYPES);
            return fail(
                s, node_at(s, p->key), "unknown item type '%s' in '%s'%s; use %s", name, path,
                dym_mid(hint, sizeof(hint), name, item_type_names, LLEVAL_N_ITEM_TYPES), list);
        }
        ipath = lleval_xasprintf("%s.%s", path, name);
        rc = load_templates(s, node_at(s, p->value), ipath, t, it);
        free(ipath);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_prompt_set(const struct src *s, yaml_node_t *key, yaml_node_t *n,
                           struct lleval_prompt_set *ps)
{
    char *path = lleval_xasprintf("prompt_sets.%s", ps->name);
    int rc = 0;
    if (is_null(n) || n->type != YAML_MAPPING_NODE || !n->data.mapping.pairs.top ||
        n->data.mapping.pairs.top == n->data.mapping.pairs.start) {
        rc = fail(s, is_null(n) ? key : n,
                  "prompt set '%s' must map prompt type names to templates, e.g. '%s: {direct: "
                  "{closed_book: {user: \"Question: {question}\\nAnswer:\"}}}'",
                  ps->name, ps->name);
        goto out;
    }
    ps->types = lleval_xcalloc((size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start),
                               sizeof(*ps->types));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *name;
        struct lleval_prompt_type *t;
        char *tpath;
        if ((rc = pair_key(s, n, p, path, &name)))
            goto out;
        if (!valid_name(name)) {
            rc = fail(s, node_at(s, p->key),
                      "prompt type name '%.60s' in '%s' may only contain letters, digits, '_', "
                      "'.' and '-'; rename it",
                      name, path);
            goto out;
        }
        t = &ps->types[ps->n_types++];
        t->name = lleval_xstrdup(name);
        tpath = lleval_xasprintf("%s.%s", path, name);
        rc = load_prompt_type(s, node_at(s, p->value), tpath, t);
        free(tpath);
        if (rc)
            goto out;
        fill_prompt_type(t, builtin_fallback(t->name));
    }
out:
    free(path);
    return rc;
}

static int load_prompt_sets(const struct src *s, yaml_node_t *n)
{
    struct lleval_config *cfg = s->cfg;
    int rc;
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(s, n,
                    "'prompt_sets' must map set names to prompt types, e.g. 'prompt_sets: "
                    "{myset: {direct: {closed_book: {user: \"...\"}}}}', not %s",
                    kind_of(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *name;
        struct lleval_prompt_set ps = {0};
        struct lleval_prompt_set *old;
        char *okey, *where;
        if ((rc = pair_key(s, n, p, "prompt_sets", &name)))
            return rc;
        if (!valid_name(name))
            return fail(s, node_at(s, p->key),
                        "prompt set name '%.60s' may only contain letters, digits, '_', '.' and "
                        "'-'; rename it",
                        name);
        okey = lleval_xasprintf("prompt_sets.%s", name);
        clear_extra_origins(cfg, okey);
        ps.name = lleval_xstrdup(name);
        rc = load_prompt_set(s, node_at(s, p->key), node_at(s, p->value), &ps);
        if (rc) {
            free_prompt_set(&ps);
            free(okey);
            return rc;
        }
        where = where_of(s, node_at(s, p->key));
        set_extra_origin(cfg, okey, s->from, where);
        free(where);
        free(okey);
        old = (struct lleval_prompt_set *)lleval_config_find_prompt_set(cfg, name);
        if (old) {
            free_prompt_set(old);
            *old = ps;
        } else {
            cfg->prompt_sets = lleval_xrealloc(cfg->prompt_sets, (cfg->n_prompt_sets + 1) *
                                                                     sizeof(*cfg->prompt_sets));
            cfg->prompt_sets[cfg->n_prompt_sets++] = ps;
        }
    }
    return 0;
}

/* ---- applying values ------------------------------------------------------------------------ */

static int apply_value(const struct src *s, int idx, yaml_node_t *n)
{
    const struct key_def *k = &key_defs[idx];
    struct lleval_config *cfg = s->cfg;
    void *field = field_of(cfg, k);
    char *where, *str = NULL, hint[128];
    int rc = 0;

    switch (k->kind) {
    case K_PRESET:
        return apply_preset_node(s, n);
    case K_STR:
    case K_NSTR:
        rc = get_string(s, n, k->path, k->kind == K_NSTR, &str);
        if (!rc) {
            free(*(char **)field);
            *(char **)field = str;
        }
        break;
    case K_LONG: {
        long v = 0;
        rc = get_long(s, n, k->path, (long)k->min, (long)k->max, &v);
        if (!rc)
            *(long *)field = v;
        break;
    }
    case K_DOUBLE: {
        double v = 0;
        rc = get_double(s, n, k->path, k->min, k->max, &v);
        if (!rc)
            *(double *)field = v;
        break;
    }
    case K_BOOL: {
        bool v = false;
        rc = get_bool(s, n, k->path, &v);
        if (!rc)
            *(bool *)field = v;
        break;
    }
    case K_ENGINE: {
        enum lleval_engine_kind e;
        rc = get_string(s, n, k->path, false, &str);
        if (rc)
            break;
        if (lleval_engine_kind_parse(str, &e)) {
            static const char *const aliases[] = {"llama.cpp", "llama-cpp", "llama_cpp",
                                                  "llama-server", "llama_server"};
            if (one_of(str, aliases, LLEVAL_ARRAY_SIZE(aliases)))
                snprintf(hint, sizeof(hint), "; did you mean 'llamacpp'?");
            else
                dym(hint, sizeof(hint), str, engine_names, LLEVAL_ARRAY_SIZE(engine_names));
            rc = fail(s, n, "'engine' must be one of " ENGINE_LIST ", not '%.60s'%s", str, hint);
        } else {
            cfg->engine = e;
        }
        free(str);
        break;
    }
    case K_EXTRACTION:
        rc = get_choice(s, n, k->path, extraction_names, LLEVAL_ARRAY_SIZE(extraction_names), &str);
        if (!rc) {
            free(cfg->answer_extraction);
            cfg->answer_extraction = str;
        }
        break;
    case K_DLIST: {
        double *v;
        size_t nv;
        rc = get_double_list(s, n, k->path, k->min, k->max, &v, &nv);
        if (!rc) {
            free(cfg->temps);
            cfg->temps = v;
            cfg->n_temps = nv;
        }
        break;
    }
    case K_SLIST: {
        char **v;
        size_t nv;
        void **items;
        size_t *count;
        rc = get_string_list(s, n, k->path, &v, &nv);
        if (!rc) {
            list_fields(cfg, k, &items, &count);
            free_strv((char **)*items, *count);
            *items = v;
            *count = nv;
        }
        break;
    }
    case K_PROMPT_SETS:
        rc = load_prompt_sets(s, n);
        break;
    case K_DATASETS:
        rc = load_datasets(s, n);
        break;
    }
    if (rc)
        return rc;
    where = where_of(s, n);
    set_origin(cfg, idx, s->from, where);
    /* a launch section with a model means "start llama-server" */
    if (!strcmp(k->path, "launch.model") && cfg->launch.model) {
        cfg->launch.enabled = true;
        set_origin(cfg, key_index_checked("launch.enabled"), s->from, where);
    }
    free(where);
    return 0;
}

static int load_mapping(const struct src *s, yaml_node_t *map, const char *group);

/* The names one level below group (NULL: the top level), for suggestions. */
static size_t child_names(const char *group, const char **out, size_t max)
{
    size_t n = 0, glen = group ? strlen(group) : 0;
    for (size_t i = 0; i < N_KEYS && n < max; i++) {
        const char *p = key_defs[i].path, *dot;
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

static int unknown_key(const struct src *s, const yaml_node_t *k, const char *path,
                       const char *group)
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
    const char *names[N_KEYS];
    const char *last = strrchr(path, '.');
    const char *best;
    size_t n = child_names(group, names, N_KEYS);

    last = last ? last + 1 : path;
    best = guess(last, names, n);
    if (best)
        return fail(s, k, "unknown key '%s'; did you mean '%s%s%s'?", path, group ? group : "",
                    group ? "." : "", best);
    for (size_t i = 0; !group && i < LLEVAL_ARRAY_SIZE(aliases); i++)
        if (!strcmp(last, aliases[i][0]))
            return fail(s, k, "unknown key '%s'; did you mean '%s'?", path, aliases[i][1]);
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *dot = strrchr(key_defs[i].path, '.');
        if (dot && !strcmp(dot + 1, last) && strcmp(key_defs[i].path, path)) {
            char grp[64];
            snprintf(grp, sizeof(grp), "%.*s", (int)(dot - key_defs[i].path), key_defs[i].path);
            return fail(s, k, "unknown key '%s'; did you mean '%s' (under '%s:')?", path,
                        key_defs[i].path, grp);
        }
    }
    return fail(s, k,
                "unknown key '%s'; the keys are listed in docs/config.md and by 'lleval "
                "config show'",
                path);
}

/* A group value: a mapping of its keys; max_new_tokens also takes one number for all. */
static int apply_group(const struct src *s, const char *group, yaml_node_t *n)
{
    if (is_null(n))
        return 0;
    if (n->type == YAML_MAPPING_NODE)
        return load_mapping(s, n, group);
    if (!strcmp(group, "max_new_tokens") && n->type == YAML_SCALAR_NODE) {
        for (int t = 0; t < LLEVAL_N_ITEM_TYPES; t++) {
            char *path = lleval_xasprintf("max_new_tokens.%s", item_type_names[t]);
            int rc = apply_value(s, key_index_checked(path), n);
            free(path);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!strcmp(group, "max_new_tokens"))
        return fail(s, n,
                    "'max_new_tokens' must be a number or a mapping like '{closed_book: "
                    "512, open_book: 1024}', not %s",
                    kind_of(n));
    return fail(s, n, "'%s' must be a mapping of its keys (see docs/config.md), not %s", group,
                kind_of(n));
}

static int api_key_error(const struct src *s, const yaml_node_t *k, const char *path)
{
    return fail(s, k,
                "'%s' is not allowed: API keys never go in config files; put the key in an "
                "environment variable and name it with 'api_key_env: OPENAI_API_KEY'",
                path);
}

static int load_pair(const struct src *s, yaml_node_t *map, yaml_node_pair_t *p, const char *group)
{
    const char *name;
    char *path;
    int idx, rc;
    yaml_node_t *k = node_at(s, p->key), *v = node_at(s, p->value);

    if ((rc = pair_key(s, map, p, group, &name)))
        return rc;
    if (!group && s->file && !strcmp(name, "preset"))
        return 0; /* applied first, by load_top */
    path = group ? lleval_xasprintf("%s.%s", group, name) : lleval_xstrdup(name);
    idx = lleval_config_key_index(path);
    if (is_api_key(path))
        rc = api_key_error(s, k, path);
    else if (idx >= 0)
        rc = apply_value(s, idx, v);
    else if (is_group(path))
        rc = apply_group(s, path, v);
    else
        rc = unknown_key(s, k, path, group);
    free(path);
    return rc;
}

static int load_mapping(const struct src *s, yaml_node_t *map, const char *group)
{
    /* in 'launch', an explicit 'enabled' wins over the model's implied one: apply it last */
    bool launch = group && !strcmp(group, "launch");
    yaml_node_pair_t *enabled = NULL;
    int rc;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(s, p->key);
        if (launch && k && k->type == YAML_SCALAR_NODE && !strcmp(text(k), "enabled") && !enabled) {
            enabled = p;
            continue;
        }
        if ((rc = load_pair(s, map, p, group)))
            return rc;
    }
    return enabled ? load_pair(s, map, enabled, group) : 0;
}

/* The top-level mapping of a file: its preset first, then everything else. */
static int load_top(const struct src *s, yaml_node_t *root)
{
    int rc;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(s, p->key);
        const char *name;
        if ((rc = pair_key(s, root, p, NULL, &name)))
            return rc;
        if (k && !strcmp(name, "preset") &&
            (rc = apply_value(s, key_index_checked("preset"), node_at(s, p->value))))
            return rc;
    }
    return load_mapping(s, root, NULL);
}

/* ---- files ---------------------------------------------------------------------------------- */

static int parser_error(const struct src *s, const yaml_parser_t *p, const struct lleval_sb *buf)
{
    unsigned long line = (unsigned long)p->problem_mark.line + 1;
    unsigned long col = (unsigned long)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "cannot parse";

    if (p->error == YAML_READER_ERROR) {
        line = 1;
        col = 1;
        for (size_t i = 0; i < p->problem_offset && i < buf->len; i++) {
            if (buf->buf[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)buf->buf[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        return lleval_err_set(s->err, LLEVAL_EINVAL,
                              "%s:%lu:%lu: not valid text: %s; save the file as UTF-8", s->file,
                              line, col, problem);
    }
    if (p->context)
        return lleval_err_set(s->err, LLEVAL_EINVAL,
                              "%s:%lu:%lu: invalid YAML: %s (%s at line %lu, column %lu); check "
                              "the indentation, and quote values that contain ': ' or ' #'",
                              s->file, line, col, problem, p->context,
                              (unsigned long)p->context_mark.line + 1,
                              (unsigned long)p->context_mark.column + 1);
    return lleval_err_set(s->err, LLEVAL_EINVAL,
                          "%s:%lu:%lu: invalid YAML: %s; check the indentation, and quote values "
                          "that contain ': ' or ' #'",
                          s->file, line, col, problem);
}

int lleval_config_load_file(struct lleval_config *cfg, const char *path, struct lleval_err *err)
{
    struct lleval_sb buf = LLEVAL_SB_INIT;
    yaml_parser_t parser;
    yaml_document_t doc, doc2;
    bool have_doc = false;
    struct src s = {cfg, path, path, LLEVAL_FROM_FILE, &doc, err};
    yaml_node_t *root;
    int rc;

    rc = lleval_read_file(path, &buf, CONFIG_MAX_BYTES, err);
    if (rc) {
        char msg[LLEVAL_ERR_MAX];
        snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
        lleval_sb_release(&buf);
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "config file: %s; check the path given to "
                              "--config",
                              msg);
    }
    if (!yaml_parser_initialize(&parser)) {
        lleval_sb_release(&buf);
        return lleval_err_set(err, LLEVAL_EIO, "%s: cannot start the YAML parser", path);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf.buf, buf.len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = parser_error(&s, &parser, &buf);
        goto out;
    }
    have_doc = true;
    root = yaml_document_get_root_node(&doc);
    if (root) {
        if (!yaml_parser_load(&parser, &doc2)) {
            rc = parser_error(&s, &parser, &buf);
            goto out;
        }
        if (yaml_document_get_root_node(&doc2)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%lu:%lu: a config file holds one YAML document; remove the "
                                "second one (after '---')",
                                path, (unsigned long)doc2.start_mark.line + 1,
                                (unsigned long)doc2.start_mark.column + 1);
            yaml_document_delete(&doc2);
            goto out;
        }
        yaml_document_delete(&doc2);
    }
    if (root && !is_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            rc = fail(&s, root,
                      "a config file must be a mapping of keys to values (like 'model_id: "
                      "llama3.1:8b-instruct-q4_K_M'), not %s",
                      kind_of(root));
            goto out;
        }
        rc = load_top(&s, root);
        if (rc)
            goto out;
    }
    free(cfg->source_path);
    cfg->source_path = lleval_xstrdup(path);
out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    lleval_sb_release(&buf);
    return rc;
}

/* ---- values from the command line ----------------------------------------------------------- */

static int unknown_set_key(const char *key, const char *flag, struct lleval_err *err)
{
    const char *names[N_KEYS + LLEVAL_ARRAY_SIZE(group_names)];
    size_t n = 0;
    const char *best;
    for (size_t i = 0; i < N_KEYS; i++)
        names[n++] = key_defs[i].path;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(group_names); i++)
        names[n++] = group_names[i];
    best = guess(key, names, n);
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

static int set_text(struct lleval_config *cfg, const char *key, const char *value,
                    enum lleval_origin from, const char *flag, struct lleval_err *err)
{
    yaml_document_t doc;
    struct src s = {cfg, NULL, flag, from, &doc, err};
    int idx = lleval_config_key_index(key);
    bool list = idx >= 0 && (key_defs[idx].kind == K_DLIST || key_defs[idx].kind == K_SLIST);
    yaml_node_t *root;
    int rc;

    if (!value)
        value = "";
    if (is_api_key(key))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: '%s' is not allowed: API keys never go in configs; put the "
                              "key in an environment variable and name it with --set "
                              "api_key_env=OPENAI_API_KEY",
                              flag, key);
    if (idx < 0 && !is_group(key))
        return unknown_set_key(key, flag, err);
    if (idx >= 0 && key_defs[idx].kind == K_PRESET) {
        rc = apply_preset(cfg, value, from, flag, err);
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
    return set_text(cfg, key, value, LLEVAL_FROM_CLI, flag ? flag : "--set", err);
}

/* ---- validation ----------------------------------------------------------------------------- */

/* "where: " for a key's origin ("eval.yaml:3:12: ", "--temps: ", "preset x: "), or "". */
static void place(const struct lleval_config *cfg, const char *key, char *buf, size_t size)
{
    enum lleval_origin from;
    const char *where;
    lookup_origin(cfg, key, &from, &where);
    switch (from) {
    case LLEVAL_FROM_FILE:
    case LLEVAL_FROM_CLI:
        snprintf(buf, size, "%s: ", where ? where : "");
        break;
    case LLEVAL_FROM_PRESET:
        snprintf(buf, size, "preset %s: ", where ? where : "");
        break;
    default:
        buf[0] = 0;
        break;
    }
}

static bool known_placeholder(const char *name, size_t len)
{
    static const char *const names[] = {"question", "context", "choices", "choice_letters"};
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(names); i++)
        if (strlen(names[i]) == len && !strncmp(names[i], name, len))
            return true;
    return false;
}

/* Checks the {placeholders} of one template; unknown ones are errors. */
static int check_template(const struct lleval_config *cfg, const char *key, const char *tmpl,
                          struct lleval_err *err)
{
    static const char *const names[] = {"question", "context", "choices", "choice_letters"};
    char at[256], word[64], hint[128];
    for (const char *p = tmpl; p && (p = strchr(p, '{')); p++) {
        size_t len = 0;
        while (p[1 + len] && (islower((unsigned char)p[1 + len]) || p[1 + len] == '_'))
            len++;
        if (!len || p[1 + len] != '}' || known_placeholder(p + 1, len))
            continue;
        snprintf(word, sizeof(word), "%.*s", (int)(len < 60 ? len : 60), p + 1);
        place(cfg, key, at, sizeof(at));
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s'%s' uses the unknown placeholder {%s}%s; placeholders are "
                              "{question}, {context}, {choices}, {choice_letters}",
                              at, key, word, dym_mid(hint, sizeof(hint), word, names, 4));
    }
    return 0;
}

static int check_prompt_set(const struct lleval_config *cfg, const struct lleval_prompt_set *ps,
                            struct lleval_err *err)
{
    static const char *const needed[] = {"{question}", "{context}", "{choices}"};
    char at[256];
    for (size_t i = 0; i < ps->n_types; i++) {
        const struct lleval_prompt_type *t = &ps->types[i];
        for (int it = 0; it < LLEVAL_N_ITEM_TYPES; it++) {
            const char *sys = t->system[it] ? t->system[it] : "";
            const char *usr = t->user[it] ? t->user[it] : "";
            char *ukey = lleval_xasprintf("prompt_sets.%s.%s.%s.user", ps->name, t->name,
                                          item_type_names[it]);
            char *skey = lleval_xasprintf("prompt_sets.%s.%s.%s.system", ps->name, t->name,
                                          item_type_names[it]);
            int rc = check_template(cfg, skey, sys, err);
            if (!rc)
                rc = check_template(cfg, ukey, usr, err);
            if (!rc && !*usr) {
                place(cfg, ukey, at, sizeof(at));
                rc = lleval_err_set(err, LLEVAL_EINVAL,
                                    "%s'%s' is empty; give a user template, e.g. \"Question: "
                                    "{question}\\nAnswer:\"",
                                    at, ukey);
            }
            if (!rc && !strstr(sys, "{question}") && !strstr(usr, "{question}")) {
                place(cfg, ukey, at, sizeof(at));
                rc = lleval_err_set(err, LLEVAL_EINVAL,
                                    "%s'%s' never shows the question; add {question} to it", at,
                                    ukey);
            }
            if (!rc && it != LLEVAL_CLOSED_BOOK && !strstr(sys, needed[it]) &&
                !strstr(usr, needed[it])) {
                place(cfg, ukey, at, sizeof(at));
                rc = lleval_err_set(err, LLEVAL_EINVAL, "%s'%s' never shows the %s; add %s to it",
                                    at, ukey, it == LLEVAL_OPEN_BOOK ? "passage" : "options",
                                    needed[it]);
            }
            free(ukey);
            free(skey);
            if (rc)
                return rc;
        }
    }
    return 0;
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

int lleval_config_validate(const struct lleval_config *cfg, struct lleval_err *err)
{
    char at[256], hint[128];
    int rc;

    /* ranges, for values set by code rather than read */
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key_def *k = &key_defs[i];
        const char *v = (const char *)cfg + k->off;
        place(cfg, k->path, at, sizeof(at));
        if (k->kind == K_LONG) {
            long x = *(const long *)(const void *)v;
            if (x < (long)k->min || x > (long)k->max)
                return lleval_err_set(err, LLEVAL_EINVAL, "%s'%s' must be from %ld to %ld, not %ld",
                                      at, k->path, (long)k->min, (long)k->max, x);
        } else if (k->kind == K_DOUBLE) {
            double x = *(const double *)(const void *)v;
            if (!(x >= k->min && x <= k->max))
                return lleval_err_set(err, LLEVAL_EINVAL, "%s'%s' must be from %g to %g, not %g",
                                      at, k->path, k->min, k->max, x);
        } else if (k->kind == K_STR) {
            const char *x = *(char *const *)(const void *)v;
            if (!x || !*x)
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "%s'%s' is empty; give a value or remove the key", at,
                                      k->path);
        }
    }

    place(cfg, "temps", at, sizeof(at));
    if (!cfg->n_temps)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s'temps' is empty; give at least one temperature, e.g. 'temps: "
                              "[0.0]'",
                              at);
    for (size_t i = 0; i < cfg->n_temps; i++) {
        char a[32];
        if (!(cfg->temps[i] >= 0.0 && cfg->temps[i] <= 2.0))
            return lleval_err_set(err, LLEVAL_EINVAL, "%s'temps[%zu]' must be from 0 to 2, not %s",
                                  at, i, lleval_fmt_num(a, sizeof(a), cfg->temps[i]));
        for (size_t j = 0; j < i; j++) {
            char b[32];
            /* custom_ids carry the short form, so equal short forms would collide */
            if (!strcmp(lleval_fmt_num(a, sizeof(a), cfg->temps[i]),
                        lleval_fmt_num(b, sizeof(b), cfg->temps[j])))
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "%s'temps' lists %s twice; give each temperature once", at,
                                      a);
        }
    }

    for (size_t i = 0; i < cfg->n_stop; i++) {
        if (!cfg->stop[i] || !*cfg->stop[i]) {
            place(cfg, "stop", at, sizeof(at));
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s'stop[%zu]' is empty; remove it (an empty stop sequence "
                                  "would end every answer at once)",
                                  at, i);
        }
    }

    for (int t = 0; t < LLEVAL_N_ITEM_TYPES; t++) {
        if (cfg->max_new_tokens[t] >= cfg->context_length) {
            char key[64];
            snprintf(key, sizeof(key), "max_new_tokens.%s", item_type_names[t]);
            place(cfg, key, at, sizeof(at));
            if (!at[0]) /* a default limit: point at the context_length that was set */
                place(cfg, "context_length", at, sizeof(at));
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s'%s' (%ld) leaves no room for the prompt in context_length "
                                  "(%ld); lower it or raise context_length",
                                  at, key, cfg->max_new_tokens[t], cfg->context_length);
        }
    }

    if (cfg->base_url && !lleval_str_starts_with(cfg->base_url, "http://") &&
        !lleval_str_starts_with(cfg->base_url, "https://")) {
        place(cfg, "base_url", at, sizeof(at));
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s'base_url' must start with http:// or https://, not '%.60s'; "
                              "e.g. http://127.0.0.1:11434",
                              at, cfg->base_url);
    }
    if (cfg->api_key_env && !env_name_ok(cfg->api_key_env)) {
        place(cfg, "api_key_env", at, sizeof(at));
        /* never echo the value: it may be the key itself */
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s'api_key_env' must be the NAME of an environment variable "
                              "(letters, digits, '_'), like OPENAI_API_KEY, not the key itself",
                              at);
    }
    if (!one_of(cfg->answer_extraction, extraction_names, LLEVAL_ARRAY_SIZE(extraction_names))) {
        place(cfg, "scoring.answer_extraction", at, sizeof(at));
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s'scoring.answer_extraction' must be none, first_line or "
                              "after_answer",
                              at);
    }

    if (cfg->launch.enabled) {
        place(cfg, "launch.enabled", at, sizeof(at));
        if (cfg->engine != LLEVAL_ENGINE_LLAMACPP)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s'launch' starts a llama-server, so it needs 'engine: "
                                  "llamacpp' (the engine is %s); set the engine or remove "
                                  "'launch'",
                                  at, lleval_engine_kind_name(cfg->engine));
        if (!cfg->launch.model || !*cfg->launch.model)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s'launch' has no model; add 'launch: {model: path/to/model."
                                  "gguf}'",
                                  at);
    }

    for (size_t i = 0; i < cfg->n_prompt_sets; i++)
        if ((rc = check_prompt_set(cfg, &cfg->prompt_sets[i], err)))
            return rc;
    if (!lleval_config_prompt_set(cfg)) {
        const char *names[64];
        size_t n = 0;
        struct lleval_sb list = LLEVAL_SB_INIT;
        for (size_t i = 0; i < cfg->n_prompt_sets; i++) {
            if (n < LLEVAL_ARRAY_SIZE(names))
                names[n++] = cfg->prompt_sets[i].name;
            lleval_sb_addf(&list, "%s%s", i ? ", " : "", cfg->prompt_sets[i].name);
        }
        place(cfg, "prompt_set", at, sizeof(at));
        rc = lleval_err_set(
            err, LLEVAL_EINVAL, "%sprompt set '%.60s' does not exist%s; prompt sets: %s", at,
            cfg->prompt_set, dym_mid(hint, sizeof(hint), cfg->prompt_set, names, n), list.buf);
        lleval_sb_release(&list);
        return rc;
    }

    for (size_t i = 0; i < cfg->n_datasets; i++) {
        const struct lleval_dataset_cfg *d = &cfg->datasets[i];
        char key[64];
        snprintf(key, sizeof(key), "datasets[%zu].name", i);
        place(cfg, key, at, sizeof(at));
        if (!valid_name(d->name))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%sdataset name '%.60s' may only contain letters, digits, '_', "
                                  "'.' and '-'; rename it",
                                  at, d->name ? d->name : "");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->datasets[j].name, d->name))
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "%sduplicate dataset name '%s'; give each dataset its own "
                                      "name",
                                      at, d->name);
        if (!one_of(d->format, dataset_formats, LLEVAL_ARRAY_SIZE(dataset_formats)))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%sdataset '%s' needs a format: squad, nq_open, mmlu, jsonl or "
                                  "csv",
                                  at, d->name);
        if (!d->path || !*d->path)
            return lleval_err_set(err, LLEVAL_EINVAL, "%sdataset '%s' needs a path", at, d->name);
        if (d->scoring &&
            !one_of(d->scoring, dataset_scorings, LLEVAL_ARRAY_SIZE(dataset_scorings)))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%sdataset '%s': scoring must be squad, nq or mc", at, d->name);
    }
    return 0;
}
