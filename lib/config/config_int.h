/*
 * Internal to the configuration module (the files of lib/config/): the key
 * table, the fixed name lists and did-you-mean helpers, provenance records,
 * the typed readers of YAML nodes, and the entry points one file of the module
 * calls in another. Not part of the public API (include/lleval/config/config.h).
 *
 * Files of the module, by concern:
 *   names.c     item type and engine names, the fixed name lists, did-you-mean
 *   keys.c      the key table (path, type, range, struct field) and unknown-key hints
 *   config.c    built-in defaults (init) and release
 *   origin.c    provenance of every value (`config show`, error places)
 *   node.c      typed values from YAML nodes, errors at file:line:column
 *   apply.c     setting a key from a node or from command-line text
 *   presets.c   the guide's hardware presets
 *   datasets.c  the `datasets` list
 *   models.c    the `models` list (several models, each with its own engine settings)
 *   prompts.c   the built-in prompt sets and the `prompt_sets` mapping
 *   read.c      a YAML config file
 *   validate.c  cross-field rules after all layers are applied; dataset paths
 *   problems.c  every problem of a config collected into one message
 *   yaml.c      the resolved config as YAML (config.resolved.yaml, `config show`)
 *   json.c      the resolved config and its origins as JSON
 */
#ifndef LLEVAL_CONFIG_INT_H
#define LLEVAL_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>
#include "lleval/config/config.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* ---- names (names.c) ----------------------------------------------------------------------- */

#define LLEVAL_CFG_N_ENGINES     6
#define LLEVAL_CFG_N_EXTRACTIONS 3
#define LLEVAL_CFG_N_FORMATS     5
#define LLEVAL_CFG_N_SCORINGS    3
#define LLEVAL_CFG_N_FIELDS      5
/* The engines as messages list them (the order of the guide, dry last). */
#define LLEVAL_CFG_ENGINE_LIST "ollama, llamacpp, openai, openai_batch, fireworks_batch, dry"

/* Indexed by enum lleval_item_type / enum lleval_engine_kind. */
extern const char *const lleval_cfg_item_type_names[LLEVAL_N_ITEM_TYPES];
extern const char *const lleval_cfg_engine_names[LLEVAL_CFG_N_ENGINES];
/* scoring.answer_extraction values; dataset formats; dataset scorings. */
extern const char *const lleval_cfg_extraction_names[LLEVAL_CFG_N_EXTRACTIONS];
extern const char *const lleval_cfg_dataset_formats[LLEVAL_CFG_N_FORMATS];
extern const char *const lleval_cfg_dataset_scorings[LLEVAL_CFG_N_SCORINGS];
/* The keys of a dataset's `fields` mapping, in struct lleval_dataset_cfg order. */
extern const char *const lleval_cfg_field_keys[LLEVAL_CFG_N_FIELDS];

/* The entry of names equal to s (borrowed from names), or NULL. */
const char *lleval_cfg_one_of(const char *s, const char *const *names, size_t n);
/* "a, b, c" into buf (truncated to size). */
void lleval_cfg_join_names(char *buf, size_t size, const char *const *names, size_t n);
/* The candidate word most likely meant, or NULL: close in spelling, or the
 * only one it starts ("closed" -> "closed_book"). Borrowed from names. */
const char *lleval_cfg_guess(const char *word, const char *const *names, size_t n);
/* "; did you mean 'x'?" or "" in buf, to end a message. Returns buf. */
const char *lleval_cfg_dym(char *buf, size_t size, const char *word, const char *const *names,
                           size_t n);
/* " (did you mean 'x'?)" or "" in buf, for the middle of a message. Returns buf. */
const char *lleval_cfg_dym_mid(char *buf, size_t size, const char *word, const char *const *names,
                               size_t n);
/* A name for files and custom_ids: [A-Za-z0-9_.-]+, not empty. */
bool lleval_cfg_valid_name(const char *s);

/* ---- the key table (keys.c) ---------------------------------------------------------------- */

enum lleval_cfg_kind {
    LLEVAL_CFG_PRESET,      /* string naming a preset, applied when set */
    LLEVAL_CFG_STR,         /* string */
    LLEVAL_CFG_MODELS,      /* model_id: a string or a list of strings */
    LLEVAL_CFG_NSTR,        /* string or null */
    LLEVAL_CFG_LONG,        /* whole number in [min, max] */
    LLEVAL_CFG_DOUBLE,      /* number in [min, max] */
    LLEVAL_CFG_BOOL,        /* true | false */
    LLEVAL_CFG_ENGINE,      /* enum lleval_engine_kind */
    LLEVAL_CFG_EXTRACTION,  /* scoring.answer_extraction */
    LLEVAL_CFG_DLIST,       /* list of numbers in [min, max] (temps) */
    LLEVAL_CFG_SLIST,       /* list of strings */
    LLEVAL_CFG_PROMPT_SETS, /* mapping of prompt sets */
    LLEVAL_CFG_DATASETS,    /* list of datasets */
    LLEVAL_CFG_URLS,        /* base_url: a string, null or a list of strings */
    LLEVAL_CFG_ENDPOINTS,   /* list of endpoints (endpoints.c) */
    LLEVAL_CFG_MODEL_CFGS,  /* models: list of models with their own settings */
};

struct lleval_cfg_key {
    const char *path;
    enum lleval_cfg_kind kind;
    size_t off; /* of the value in struct lleval_config */
    double min, max;
};

/* Keys in the table (checked against the table at compile time). */
#define LLEVAL_CFG_N_KEYS 53
/* Order = cfg->origin[] index = lleval_config_keys() = the order of `lleval config show`. */
extern const struct lleval_cfg_key lleval_cfg_key_defs[LLEVAL_CFG_N_KEYS];

/* lleval_config_key_index() for a name of the table (never -1). */
int lleval_cfg_key_index_checked(const char *key);
/* True for a mapping whose children are keys of the table ("paths", "launch"...). */
bool lleval_cfg_is_group(const char *path);
/* True for a key path ending in api_key (or apikey, api-key): never accepted. */
bool lleval_cfg_is_api_key(const char *path);
/* The end of "unknown key 'PATH'; ..." for a key read in group (NULL: the top
 * level): "did you mean 'x'?", "did you mean 'g.x' (under 'g:')?" or where the
 * keys are listed. Written to buf; returns buf. */
const char *lleval_cfg_unknown_key_hint(char *buf, size_t size, const char *path,
                                        const char *group);
/* The full key path or group name closest to key (for --set), or NULL. Borrowed, static. */
const char *lleval_cfg_guess_key(const char *key);

/* ---- lifecycle (config.c) ------------------------------------------------------------------ */

/* Frees n strings and the array (NULL is fine). */
void lleval_cfg_free_strv(char **v, size_t n);

/* ---- provenance (origin.c) ----------------------------------------------------------------- */

/* Records where the value of table key idx came from (where is copied), and
 * what it replaced when that was not a default (see lleval_config_origin_over). */
void lleval_cfg_set_origin(struct lleval_config *cfg, int idx, enum lleval_origin from,
                           const char *where);
/* Sets what the value of table key idx won over and why (over is copied). */
void lleval_cfg_set_origin_over(struct lleval_config *cfg, int idx, const char *over);
/* Records the origin of a path inside datasets or prompt sets ("datasets[0].path"). */
void lleval_cfg_set_extra_origin(struct lleval_config *cfg, const char *key,
                                 enum lleval_origin from, const char *where);
/* Forgets the extra origins of key and of everything below it ("key." / "key["). */
void lleval_cfg_clear_extra_origins(struct lleval_config *cfg, const char *key);
/* The origin of key (a table key or an extra path); *where is borrowed (may be
 * NULL). Returns false, with LLEVAL_FROM_DEFAULT, when none is recorded. */
bool lleval_cfg_lookup_origin(const struct lleval_config *cfg, const char *key,
                              enum lleval_origin *from, const char **where);
/* "where: " for a key's origin ("eval.yaml:3:12: ", "--temps: ", "preset x: "), or ""
 * for a default, to start a message. Written to buf. */
void lleval_cfg_place(const struct lleval_config *cfg, const char *key, char *buf, size_t size);

/* ---- problems (problems.c) ---------------------------------------------------------------- */

/* Problems collected instead of stopping at the first one. */
struct lleval_cfg_problems {
    struct lleval_sb text; /* the messages shown, one per line */
    size_t n, shown;
    int code; /* the first code other than LLEVAL_EINVAL wins (an I/O error is not a typo) */
};
#define LLEVAL_CFG_PROBLEMS_INIT                                                                   \
    {                                                                                              \
        LLEVAL_SB_INIT, 0, 0, 0                                                                    \
    }

/* Adds the problem held by e (its message and code). */
void lleval_cfg_problem_err(struct lleval_cfg_problems *p, const struct lleval_err *e);
/* Adds a problem; returns code. */
int lleval_cfg_problem(struct lleval_cfg_problems *p, int code, const char *fmt, ...)
    LLEVAL_PRINTF(3, 4);
/* Ends the collection (p's memory is freed): 0 when there was no problem, else
 * err gets every message shown, one per line (with "... and N more" when they
 * did not all fit), and the code is returned. */
int lleval_cfg_problems_end(struct lleval_cfg_problems *p, struct lleval_err *err);

/* ---- values from YAML nodes (node.c) ------------------------------------------------------- */

/* Where the values being read come from. */
struct lleval_cfg_src {
    struct lleval_config *cfg;
    const char *file; /* config file: errors and origins say file:line:column */
    const char *flag; /* otherwise the flag ("--set") or the preset name */
    enum lleval_origin from;
    yaml_document_t *doc;
    struct lleval_err *err;
    /* a file's keys: each key's problem is collected here and the next key is read
     * (NULL: stop at the first) */
    struct lleval_cfg_problems *problems;
};

/* Sets s->err to LLEVAL_EINVAL with the place of n (file:line:col, else the
 * file, the preset or the flag) before the message; returns LLEVAL_EINVAL. */
int lleval_cfg_fail(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *fmt, ...)
    LLEVAL_PRINTF(3, 4);
/* Owned origin text of a node: "file:line:col", or the flag / preset name. */
char *lleval_cfg_where(const struct lleval_cfg_src *s, const yaml_node_t *n);
/* The node with that id in s->doc, or NULL. Borrowed. */
yaml_node_t *lleval_cfg_node(const struct lleval_cfg_src *s, int id);
/* The text of a scalar node. Borrowed. */
const char *lleval_cfg_text(const yaml_node_t *n);
/* NULL, an empty plain scalar, ~ or null. */
bool lleval_cfg_is_null(const yaml_node_t *n);
/* What n is, for messages: "null", "a mapping", "a list", "a quoted string", "a plain value". */
const char *lleval_cfg_kind_of(const yaml_node_t *n);

/* Typed values; path names the key in messages. Each returns 0 or LLEVAL_EINVAL. */
/* A string (*out owned); null gives NULL when nullable. */
int lleval_cfg_get_string(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                          bool nullable, char **out);
int lleval_cfg_get_long(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                        long min, long max, long *out);
int lleval_cfg_get_double(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                          double min, double max, double *out);
int lleval_cfg_get_bool(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                        bool *out);
/* A string that must be one of names; *out is owned. */
int lleval_cfg_get_choice(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                          const char *const *names, size_t count, char **out);
/* A number or a list of numbers; *out is owned. */
int lleval_cfg_get_double_list(const struct lleval_cfg_src *s, yaml_node_t *n, const char *path,
                               double min, double max, double **out, size_t *count);
/* A string or a list of strings (null: none); *out is owned. */
int lleval_cfg_get_string_list(const struct lleval_cfg_src *s, yaml_node_t *n, const char *path,
                               char ***out, size_t *count);
/* The key of a pair of map as a name, rejecting non-scalar and duplicate keys;
 * *name is borrowed from the document. where_path names map in messages (NULL: top level). */
int lleval_cfg_pair_key(const struct lleval_cfg_src *s, const yaml_node_t *map,
                        const yaml_node_pair_t *p, const char *where_path, const char **name);

/* ---- applying values (apply.c) ------------------------------------------------------------- */

/* Sets key from command-line text, with origin from / flag (see lleval_config_set). */
int lleval_cfg_set_text(struct lleval_config *cfg, const char *key, const char *value,
                        enum lleval_origin from, const char *flag, struct lleval_err *err);
/* The top-level mapping of a file: its preset first, then everything else. */
int lleval_cfg_load_top(const struct lleval_cfg_src *s, yaml_node_t *root);

/* ---- presets (presets.c) ------------------------------------------------------------------- */

/* Applies preset values (origin "preset NAME") and records from / where as the
 * origin of the `preset` key. Unknown names: LLEVAL_EINVAL, without a place. */
int lleval_cfg_apply_preset(struct lleval_config *cfg, const char *name, enum lleval_origin from,
                            const char *where, struct lleval_err *err);
/* The `preset:` key of a file, or a preset given as a value node. */
int lleval_cfg_apply_preset_node(const struct lleval_cfg_src *s, const yaml_node_t *n);

/* ---- datasets (datasets.c) and prompt sets (prompts.c) ------------------------------------- */

/* Replaces cfg->datasets with the list n (null: none). */
int lleval_cfg_load_datasets(const struct lleval_cfg_src *s, yaml_node_t *n);
/* Frees n datasets and the array. */
void lleval_cfg_free_datasets(struct lleval_dataset_cfg *ds, size_t n);
/* Replaces cfg->model_cfgs with the list n (null: none), and model_id and
 * cfg->models with their ids (models.c). */
int lleval_cfg_load_models(const struct lleval_cfg_src *s, yaml_node_t *n);
/* Frees n `models:` entries and the array. */
void lleval_cfg_free_model_cfgs(struct lleval_model_cfg *ms, size_t n);
/* Adds or replaces the prompt sets of mapping n. */
int lleval_cfg_load_prompt_sets(const struct lleval_cfg_src *s, yaml_node_t *n);
/* Sets cfg->prompt_sets to the built-in sets (cfg has none yet). */
void lleval_cfg_add_builtin_prompt_sets(struct lleval_config *cfg);
/* Frees what a prompt set owns (not the struct). */
void lleval_cfg_free_prompt_set(struct lleval_prompt_set *s);

/* ---- endpoints (endpoints.c) -------------------------------------------------------------- */

/* base_url: one address (or null), or a list (cfg->base_urls when two or more). */
int lleval_cfg_apply_urls(const struct lleval_cfg_src *s, yaml_node_t *n);
/* The `endpoints` list into cfg->endpoints (replacing it); origins endpoints[i].key. */
int lleval_cfg_load_endpoints(const struct lleval_cfg_src *s, yaml_node_t *n);
/* Frees n endpoints and the array (NULL is fine). */
void lleval_cfg_free_endpoints(struct lleval_endpoint_cfg *eps, size_t n);
/* The problems of base_url lists, endpoints, launch.instances and launch.devices, into p. */
void lleval_cfg_check_endpoints(const struct lleval_config *cfg, struct lleval_cfg_problems *p);

#endif
