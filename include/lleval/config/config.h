/*
 * Configuration: the guide's YAML keys plus lleval's own, resolved from
 * built-in defaults (the guide's "Conservative Defaults") < the file's
 * `preset:` < the config file < --preset < the other command-line flags.
 * Every value remembers where it came from and what it won over, for
 * `lleval config show`.
 *
 * Ownership: struct lleval_config owns all of its strings and arrays;
 * lleval_config_release() frees them. Accessors return borrowed pointers.
 */
#ifndef LLEVAL_CONFIG_H
#define LLEVAL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/error.h"

enum lleval_item_type {
    LLEVAL_CLOSED_BOOK = 0,
    LLEVAL_OPEN_BOOK = 1,
    LLEVAL_MULTIPLE_CHOICE = 2,
    LLEVAL_N_ITEM_TYPES = 3,
};

/* "closed_book", "open_book", "multiple_choice". */
const char *lleval_item_type_name(enum lleval_item_type t);
/* Returns 0 and sets *out, or LLEVAL_EINVAL. */
int lleval_item_type_parse(const char *s, enum lleval_item_type *out);

enum lleval_engine_kind {
    LLEVAL_ENGINE_DRY = 0,
    LLEVAL_ENGINE_OLLAMA,
    LLEVAL_ENGINE_LLAMACPP,
    LLEVAL_ENGINE_OPENAI,
    LLEVAL_ENGINE_OPENAI_BATCH,    /* OpenAI's Batch API (batchapi.h) */
    LLEVAL_ENGINE_FIREWORKS_BATCH, /* Fireworks' batch inference jobs (fireworks_batch.h) */
};
const char *lleval_engine_kind_name(enum lleval_engine_kind k);
int lleval_engine_kind_parse(const char *s, enum lleval_engine_kind *out);

/* Where a resolved value came from. */
enum lleval_origin {
    LLEVAL_FROM_DEFAULT = 0,
    LLEVAL_FROM_PRESET,
    LLEVAL_FROM_FILE,
    LLEVAL_FROM_CLI,
};

/* One dataset to prepare. format: squad | nq_open | mmlu | jsonl | csv. */
struct lleval_dataset_cfg {
    char *name; /* used in file names and custom_ids: [A-Za-z0-9_.-]+ */
    char *format;
    char *path;  /* file, or directory (mmlu: a folder of *_test.csv, or one CSV) */
    char *split; /* mmlu: "test" | "val" | "dev" (default test) */
    bool has_type;
    enum lleval_item_type type; /* override of the format's natural type */
    char *scoring;              /* "squad" | "nq" | "mc" | NULL = by type */
    /* generic jsonl/csv field mapping (NULL = default name) */
    char *field_id, *field_question, *field_context, *field_answers, *field_choices;
    bool csv_header; /* csv: first row is a header (default true) */
};

/* One prompt type of a prompt set: a system and a user template per item type.
 * Placeholders: {question} {context} {choices} {choice_letters}. Templates are
 * never NULL: ones a config leaves out are filled, when it is loaded, from the
 * built-in prompt type of the same name (else "direct"). An empty system
 * template means "send no system message". */
struct lleval_prompt_type {
    char *name;
    char *system[LLEVAL_N_ITEM_TYPES];
    char *user[LLEVAL_N_ITEM_TYPES];
};

struct lleval_prompt_set {
    char *name;
    struct lleval_prompt_type *types;
    size_t n_types;
};

/* max_concurrent_jobs: auto (the run measures the engine and picks the fastest) */
#define LLEVAL_JOBS_AUTO 0

/* A managed llama-server (engine llamacpp with a launch section). */
struct lleval_launch_cfg {
    bool enabled;
    char *binary;    /* NULL: llama-server from PATH or the provisioned cache */
    char *model;     /* GGUF path */
    long ctx_size;   /* 0: context_length */
    long parallel;   /* slots; 0: max_concurrent_jobs */
    long gpu_layers; /* -1: engine default */
    char **extra_args;
    size_t n_extra_args;
    long max_restarts;
    /* managed servers started side by side (one per GPU), each an endpoint of
     * the run on its own port; 1: one server */
    long instances;
    /* launch.devices: each instance's CUDA_VISIBLE_DEVICES value, in order
     * (NULL: the environment's for all) */
    char **devices;
    size_t n_devices;
};

/* One endpoint of a run of several (`endpoints:` entries, or `base_url` given
 * as a list). Strings owned. */
struct lleval_endpoint_cfg {
    char *base_url;
    enum lleval_engine_kind engine; /* meant only when engine_set: else the run's */
    bool engine_set;
    long concurrency; /* requests in flight at once; 0: the probe's slots, else
                         max_concurrent_jobs */
};

/* A cloud batch engine (openai_batch): how part files are split and jobs followed. */
struct lleval_batch_cfg {
    long max_requests;       /* requests per part file; 0: the provider's limit */
    long max_bytes;          /* bytes per part file; 0: the provider's limit */
    char *completion_window; /* OpenAI's completion_window, "24h" */
    long poll_interval_ms;   /* between two status checks of a job */
    char *account_id;        /* fireworks_batch: the account the paths name */
    long max_attempts;       /* jobs per part: the first and the resubmissions of missing rows */
};

/* A setting of a `models:` entry that the entry leaves out: the top-level value applies. */
#define LLEVAL_MODEL_INHERIT (-2)

/* One entry of `models:` (several models, each with its own engine settings).
 * A long left out is LLEVAL_MODEL_INHERIT, a string or list left out NULL / has_
 * false: the top-level value (launch.*, max_concurrent_jobs) applies. */
struct lleval_model_cfg {
    char *id;           /* the model_id requests name; a folder name in the run */
    char *launch_model; /* launch.model: this model's GGUF */
    long ctx_size, parallel, gpu_layers;
    bool has_extra_args;
    char **extra_args;
    size_t n_extra_args;
    long max_concurrent_jobs;
};

struct lleval_config {
    char *source_path; /* config file, or NULL */
    char *preset;      /* applied preset name, or NULL */

    char *model_id; /* the model; of a list, the first */
    /* model_id given as a list of two or more: every model, in order (models[0]
     * equals model_id), evaluated in turn; NULL and 0 for one model */
    char **models;
    size_t n_models;
    /* the `models:` key: every model with its own settings (models[] and
     * model_id hold their ids as for a list); NULL and 0 when not given */
    struct lleval_model_cfg *model_cfgs;
    size_t n_model_cfgs;
    enum lleval_engine_kind engine;
    char *base_url; /* NULL: the engine's default; of a list, the first */
    /* base_url given as a list of two or more: every address, in order
     * (base_urls[0] equals base_url); NULL and 0 for one */
    char **base_urls;
    size_t n_base_urls;
    /* `endpoints:`: several servers with their own concurrency (and engine);
     * NULL and 0 when not given */
    struct lleval_endpoint_cfg *endpoints;
    size_t n_endpoints;
    char *api_key_env; /* name of the environment variable holding the key */
    long context_length;

    double *temps;
    size_t n_temps;
    long max_new_tokens[LLEVAL_N_ITEM_TYPES];
    long top_k;
    double top_p;
    char **stop;
    size_t n_stop;
    long seed;
    long samples; /* answers per item and temperature (sample index in custom_id) */

    bool enable_local_telemetry;
    long telemetry_interval_ms;

    long max_concurrent_jobs; /* LLEVAL_JOBS_AUTO: measured at the run's start (run/tune.h) */
    long parts_per_dataset;
    long limit_items; /* 0: all */
    long request_timeout_s;
    long max_retries;
    long max_connect_failures;
    char *keep_alive; /* ollama keep_alive, e.g. "5m" */

    char *prompt_set; /* name of the prompt set to build with */
    struct lleval_prompt_set *prompt_sets;
    size_t n_prompt_sets;

    struct lleval_dataset_cfg *datasets;
    size_t n_datasets;

    char *prepared_dir; /* paths.prepared_dir, default data/prepared */
    char *runs_dir;     /* paths.runs_dir, default runs */
    char *batches_dir;  /* paths.batches_dir, default data/batches (standalone `build`) */

    /* answer extraction before scoring: "none" | "first_line" | "after_answer" */
    char *answer_extraction;
    bool strip_think;
    /* SQuAD 2.0: answers that abstain ("no answer"), besides the empty one;
     * default ["unanswerable"]; the first one is the open-book prompt's */
    char **abstain_phrases;
    size_t n_abstain_phrases;
    long bootstrap_samples;
    long bootstrap_seed;

    struct lleval_launch_cfg launch;
    struct lleval_batch_cfg batch; /* cloud batch engines */

    /* provenance, indexed by lleval_config_keys() order */
    enum lleval_origin *origin;
    char **origin_where; /* "file:line:col" for file values, flag name for CLI, preset name */
    /* what the value replaced and why ("eval.yaml:3:12 (--preset applies over the config
     * file)"), or NULL when it replaced only a default */
    char **origin_over;
    /* provenance of values inside datasets and prompt sets, keyed by path
     * ("datasets[0].path", "prompt_sets.myset.direct.closed_book.user") */
    struct lleval_origin_entry *extra_origins;
    size_t n_extra_origins;
};

struct lleval_origin_entry {
    char *key;
    enum lleval_origin from;
    char *where;
};

/* The `models:` entry of model (NULL: the first model), or NULL when the config
 * has no `models:` key or no entry with that id. Borrowed. */
const struct lleval_model_cfg *lleval_config_model(const struct lleval_config *cfg,
                                                   const char *model);
/* cfg's settings for one model of the run: a shallow copy of *cfg (every pointer
 * borrowed from cfg: never release it) with model_id set to model (NULL: kept)
 * and the `models:` entry's launch settings and max_concurrent_jobs applied.
 * Valid while cfg is. */
void lleval_config_for_model(const struct lleval_config *cfg, const char *model,
                             struct lleval_config *out);

/* Fills cfg with the built-in defaults (including the default prompt sets). */
void lleval_config_init(struct lleval_config *cfg);
/* Frees everything cfg owns and zeroes it: releasing twice is harmless. */
void lleval_config_release(struct lleval_config *cfg);

/* The leaf key paths ("model_id", "max_new_tokens.open_book", "paths.runs_dir"...)
 * in the order of cfg->origin[], NULL-terminated; "preset", "prompt_sets" and
 * "datasets" are included as whole values. Borrowed, static. */
const char *const *lleval_config_keys(void);
/* Index of a key in lleval_config_keys(), or -1. */
int lleval_config_key_index(const char *key);
/* Where the value of key came from: "default", "preset throughput",
 * "eval.yaml:3:12" or "--max-concurrent-jobs". key is a name from
 * lleval_config_keys() or an extra path ("datasets[0].path"); unknown keys
 * answer "default". Returns an owned string. */
char *lleval_config_origin(const struct lleval_config *cfg, const char *key);
/* What the value of table key `key` won over, and why: "eval.yaml:15:11
 * (--preset applies over the config file)", or NULL when it replaced nothing
 * but a default (or the key is unknown). Returns an owned string. */
char *lleval_config_origin_over(const struct lleval_config *cfg, const char *key);

/* The engine's usual local address ("http://127.0.0.1:11434" for ollama), NULL for dry. */
const char *lleval_engine_default_base_url(enum lleval_engine_kind k);
/* cfg->base_url, or the engine's default when it is NULL. Borrowed. */
const char *lleval_config_base_url(const struct lleval_config *cfg);

/* Applies a named preset (throughput | quality | stretch | conservative) as
 * `--preset NAME` does: its values get origin "preset NAME", a later file's
 * `preset:` key no longer applies (it is still checked), and a file loaded
 * later gets the preset applied again over its values: a preset named on the
 * command line wins over the config file. Call it before
 * lleval_config_load_file and before the other flags, which win over it. */
int lleval_config_apply_preset(struct lleval_config *cfg, const char *name, struct lleval_err *err);
/* Names of the presets, NULL-terminated. */
const char *const *lleval_config_preset_names(void);

/* Loads a YAML file over cfg. The file's `preset:` key is applied first
 * (unless a preset came from the command line), then its other values; a
 * preset from the command line is then applied again, over them.
 * Errors (LLEVAL_EINVAL, also for a missing file) name file:line:column and
 * the key; unknown keys are errors with a did-you-mean suggestion. On error
 * cfg may be partly updated: release it. An empty file changes nothing.
 * Relative paths in the file are kept as written: they are relative to the
 * current directory, as in the guide's harness. */
int lleval_config_load_file(struct lleval_config *cfg, const char *path, struct lleval_err *err);

/* Sets one value from the command line ("max_new_tokens.open_book", "2"),
 * recording flag ("--set", "--max-concurrent-jobs") as its origin. Every key
 * of lleval_config_keys() is accepted; lists are comma-separated ("0,0.7") or
 * YAML flow sequences ("[\"Q:\", \"A:\"]"); a value starting with '[' or '{' is
 * read as YAML flow, so whole datasets can be given too. "null" clears a
 * nullable key. Key "preset" applies that preset as
 * lleval_config_apply_preset() does (call it before lleval_config_load_file). */
int lleval_config_set(struct lleval_config *cfg, const char *key, const char *value,
                      const char *flag, struct lleval_err *err);

/* Checks cross-field rules (at least one temp and none twice, ranges, known
 * prompt set, template placeholders, max_new_tokens < context_length,
 * launch needs llamacpp...). Every problem is reported, one per line of
 * err->msg (as many as fit, then "... and N more problems in the
 * configuration"); each names the origin of the offending value
 * (file:line:column or the flag). */
int lleval_config_validate(const struct lleval_config *cfg, struct lleval_err *err);

/* Checks that the path of every dataset exists, for the commands that read
 * them (prepare, run without --skip_prepare). Each missing one is reported
 * (LLEVAL_EINVAL, one per line as lleval_config_validate does) with the
 * dataset's name, the place of its path (file:line:column), and the
 * directory a relative path was resolved against. */
int lleval_config_check_datasets(const struct lleval_config *cfg, struct lleval_err *err);

/* The prompt set named cfg->prompt_set (or NULL). */
const struct lleval_prompt_set *lleval_config_prompt_set(const struct lleval_config *cfg);
/* The prompt set / prompt type with that name, or NULL. Borrowed. */
const struct lleval_prompt_set *lleval_config_find_prompt_set(const struct lleval_config *cfg,
                                                              const char *name);
const struct lleval_prompt_type *lleval_prompt_set_find_type(const struct lleval_prompt_set *set,
                                                             const char *name);
/* The sentence added to the system prompt of an open-book SQuAD 2.0 item (one
 * with an "unanswerable" field, whatever its value) that says how to abstain:
 * with the first of scoring.abstain_phrases. cfg borrowed; returns owned. */
char *lleval_prompt_abstain(const struct lleval_config *cfg);

/* Writes the resolved config as YAML (secrets never appear: only the env var
 * name is written). With with_origin, a trailing comment per line says where
 * each value came from. Returns an owned string. */
char *lleval_config_to_yaml(const struct lleval_config *cfg, bool with_origin);

/* The resolved config as a JSON object with the same structure as the YAML,
 * and the origin of every value as {"key.path": "where"}. Return new
 * references (json_decref them). */
struct json_t;
struct json_t *lleval_config_to_json(const struct lleval_config *cfg);
struct json_t *lleval_config_origins_json(const struct lleval_config *cfg);
/* {"key.path": "what it won over (why)"} for the keys whose value replaced
 * one that was not a default (see lleval_config_origin_over). A new reference. */
struct json_t *lleval_config_overs_json(const struct lleval_config *cfg);

#endif
