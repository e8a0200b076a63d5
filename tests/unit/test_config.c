/* Unit tests for the configuration: defaults, presets, precedence and origins,
 * errors with file:line:column, lists, round trips and secrets. Over 800
 * lines: mostly the data tables of error cases (one row per message). */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "tu_config.h"
#include "lleval/config/config.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* ---- helpers -------------------------------------------------------------------------------- */

/* Asserts the origin is "<fixture path>:line:col". */
static void assert_file_origin(struct fixture *f, const char *key, int line, int col)
{
    char *want = lleval_xasprintf("%s:%d:%d", f->path, line, col);
    tu_assert_origin(&f->cfg, key, want);
    free(want);
}

/* ---- defaults and presets ------------------------------------------------------------------- */

static void test_defaults_are_the_guides_conservative_defaults(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;
    const char *const *keys = lleval_config_keys();

    assert_string_equal(c->model_id, "llama3.1:8b-instruct-q4_K_M");
    assert_int_equal(c->n_temps, 1);
    assert_true(c->temps[0] == 0.0);
    assert_int_equal(c->max_new_tokens[LLEVAL_CLOSED_BOOK], 512);
    assert_int_equal(c->max_new_tokens[LLEVAL_OPEN_BOOK], 1024);
    assert_int_equal(c->max_new_tokens[LLEVAL_MULTIPLE_CHOICE], 16);
    assert_int_equal(c->top_k, 50);
    assert_true(c->top_p == 1.0);
    assert_int_equal(c->max_concurrent_jobs, 1);
    assert_int_equal(c->engine, LLEVAL_ENGINE_OLLAMA);
    assert_null(c->base_url);
    assert_string_equal(lleval_config_base_url(c), "http://127.0.0.1:11434");
    assert_int_equal(c->n_datasets, 0);
    assert_null(c->preset);
    assert_string_equal(c->prompt_set, "default");
    assert_string_equal(c->prepared_dir, "data/prepared");
    assert_string_equal(c->runs_dir, "runs");
    assert_false(c->launch.enabled);
    assert_int_equal(lleval_config_validate(c, &f->err), 0);
    for (size_t i = 0; keys[i]; i++)
        tu_assert_origin(c, keys[i], "default");
}

static void test_engine_base_urls(void **state)
{
    static const struct {
        const char *engine, *url;
    } cases[] = {
        {"ollama", "http://127.0.0.1:11434"},
        {"llamacpp", "http://127.0.0.1:8080"},
        {"openai", "http://127.0.0.1:8000/v1"},
        {"dry", NULL},
    };
    struct fixture *f = *state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        assert_int_equal(lleval_config_set(&f->cfg, "engine", cases[i].engine, "--engine", &f->err),
                         0);
        assert_string_equal(lleval_engine_kind_name(f->cfg.engine), cases[i].engine);
        if (cases[i].url)
            assert_string_equal(lleval_config_base_url(&f->cfg), cases[i].url);
        else
            assert_null(lleval_config_base_url(&f->cfg));
    }
    assert_int_equal(lleval_config_set(&f->cfg, "base_url", "http://h:1", "--base-url", &f->err),
                     0);
    assert_string_equal(lleval_config_base_url(&f->cfg), "http://h:1");
}

static void test_builtin_prompt_sets(void **state)
{
    static const struct {
        const char *set;
        const char *types[3];
    } cases[] = {
        {"default", {"direct", NULL, NULL}},
        {"operational_only", {"operational", NULL, NULL}},
        {"all", {"direct", "operational", NULL}},
    };
    struct fixture *f = *state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        const struct lleval_prompt_set *ps = lleval_config_find_prompt_set(&f->cfg, cases[i].set);
        size_t n = 0;
        assert_non_null(ps);
        while (n < 3 && cases[i].types[n])
            n++;
        assert_int_equal(ps->n_types, n);
        for (size_t j = 0; j < n; j++) {
            const struct lleval_prompt_type *t = lleval_prompt_set_find_type(ps, cases[i].types[j]);
            assert_non_null(t);
            for (int it = 0; it < LLEVAL_N_ITEM_TYPES; it++) {
                assert_non_null(t->system[it]);
                assert_non_null(t->user[it]);
                tu_assert_contains(t->user[it], "{question}");
            }
            tu_assert_contains(t->user[LLEVAL_OPEN_BOOK], "{context}");
            tu_assert_contains(t->user[LLEVAL_MULTIPLE_CHOICE], "{choices}");
        }
    }
    tu_assert_contains(
        lleval_prompt_set_find_type(lleval_config_find_prompt_set(&f->cfg, "operational_only"),
                                    "operational")
            ->system[LLEVAL_CLOSED_BOOK],
        "answer only, no explanation");
}

static void test_presets(void **state)
{
    static const struct {
        const char *name, *model;
        long ctx, cb, ob, jobs;
    } cases[] = {
        {"throughput", "llama3.1:8b-instruct-q4_K_M", 8192, 512, 1024, 2},
        {"quality", "llama3.1:8b-instruct-q6_K", 4096, 512, 1024, 1},
        {"stretch", "llama3.1:13b-instruct-q4_K_M", 4096, 512, 512, 1},
        {"conservative", "llama3.1:8b-instruct-q4_K_M", 4096, 512, 1024, 1},
    };
    const char *const *names = lleval_config_preset_names();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_config c;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *want = lleval_xasprintf("preset %s", cases[i].name);
        assert_string_equal(names[i], cases[i].name);
        lleval_config_init(&c);
        assert_int_equal(lleval_config_apply_preset(&c, cases[i].name, &err), 0);
        assert_string_equal(c.preset, cases[i].name);
        assert_string_equal(c.model_id, cases[i].model);
        assert_int_equal(c.context_length, cases[i].ctx);
        assert_int_equal(c.max_new_tokens[LLEVAL_CLOSED_BOOK], cases[i].cb);
        assert_int_equal(c.max_new_tokens[LLEVAL_OPEN_BOOK], cases[i].ob);
        assert_int_equal(c.max_concurrent_jobs, cases[i].jobs);
        assert_int_equal(c.n_temps, 1);
        assert_true(c.temps[0] == 0.0);
        assert_int_equal(c.top_k, 50);
        assert_true(c.top_p == 1.0);
        tu_assert_origin(&c, "model_id", want);
        tu_assert_origin(&c, "max_new_tokens.open_book", want);
        tu_assert_origin(&c, "max_concurrent_jobs", want);
        tu_assert_origin(&c, "max_new_tokens.multiple_choice", "default");
        tu_assert_origin(&c, "preset", "--preset");
        assert_int_equal(lleval_config_validate(&c, &err), 0);
        free(want);
        lleval_config_release(&c);
    }
    assert_null(names[LLEVAL_ARRAY_SIZE(cases)]);
}

static void test_unknown_preset(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(lleval_config_set(&f->cfg, "preset", "throughpt", "--preset", &f->err),
                     LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "--preset: unknown preset 'throughpt'");
    tu_assert_contains(f->err.msg, "did you mean 'throughput'?");
    tu_assert_contains(f->err.msg, "throughput, quality, stretch, conservative");
}

/* ---- precedence and origins ----------------------------------------------------------------- */

static void test_precedence_default_preset_file_flag(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;
    char *yaml;

    assert_int_equal(tu_cfg_load(f, "preset: throughput\n"
                                    "model_id: my-model\n"
                                    "top_k: 20\n"
                                    "max_concurrent_jobs: 1\n"),
                     0);
    assert_int_equal(lleval_config_set(c, "top_k", "10", "--set", &f->err), 0);
    assert_int_equal(
        lleval_config_set(c, "max_concurrent_jobs", "3", "--max-concurrent-jobs", &f->err), 0);
    assert_int_equal(lleval_config_validate(c, &f->err), 0);

    assert_string_equal(c->preset, "throughput");
    assert_int_equal(c->context_length, 8192);    /* preset */
    assert_string_equal(c->model_id, "my-model"); /* file over preset */
    assert_int_equal(c->top_k, 10);               /* flag over file */
    assert_int_equal(c->max_concurrent_jobs, 3);  /* flag over file over preset */
    assert_true(c->top_p == 1.0);                 /* default */

    assert_file_origin(f, "preset", 1, 9);
    tu_assert_origin(c, "context_length", "preset throughput");
    assert_file_origin(f, "model_id", 2, 11);
    tu_assert_origin(c, "top_k", "--set");
    tu_assert_origin(c, "max_concurrent_jobs", "--max-concurrent-jobs");
    tu_assert_origin(c, "top_p", "default");

    yaml = lleval_config_to_yaml(c, true);
    {
        char *want = lleval_xasprintf("# --max-concurrent-jobs; wins over %s:4:22 (command-line "
                                      "flags apply over the config file and presets)\n",
                                      f->path);
        tu_assert_contains(yaml, want);
        free(want);
    }
    tu_assert_contains(yaml, "# preset throughput\n");
    tu_assert_contains(yaml, "# default\n");
    {
        char *want = lleval_xasprintf("# %s:2:11; wins over preset throughput (the config file "
                                      "applies over its preset)\n",
                                      f->path);
        tu_assert_contains(yaml, want);
        free(want);
    }
    free(yaml);
}

static void test_file_preset_is_applied_before_the_file(void **state)
{
    struct fixture *f = *state;
    /* the preset key comes last in the file, yet file values still win */
    assert_int_equal(tu_cfg_load(f, "context_length: 2048\n"
                                    "max_new_tokens: {open_book: 700}\n"
                                    "preset: quality\n"),
                     0);
    assert_string_equal(f->cfg.model_id, "llama3.1:8b-instruct-q6_K");
    assert_int_equal(f->cfg.context_length, 2048);
    assert_int_equal(f->cfg.max_new_tokens[LLEVAL_OPEN_BOOK], 700);
    assert_int_equal(f->cfg.max_new_tokens[LLEVAL_CLOSED_BOOK], 512);
    tu_assert_origin(&f->cfg, "model_id", "preset quality");
    assert_file_origin(f, "context_length", 1, 17);
    assert_file_origin(f, "max_new_tokens.open_book", 2, 29);
    assert_file_origin(f, "preset", 3, 9);
}

static void test_cli_preset_wins_over_file_preset(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(lleval_config_set(&f->cfg, "preset", "stretch", "--preset", &f->err), 0);
    assert_int_equal(tu_cfg_load(f, "preset: throughput\ntop_k: 40\n"), 0);
    assert_string_equal(f->cfg.preset, "stretch");
    assert_string_equal(f->cfg.model_id, "llama3.1:13b-instruct-q4_K_M");
    assert_int_equal(f->cfg.context_length, 4096);
    assert_int_equal(f->cfg.max_new_tokens[LLEVAL_OPEN_BOOK], 512);
    assert_int_equal(f->cfg.top_k, 40);
    tu_assert_origin(&f->cfg, "preset", "--preset");
    tu_assert_origin(&f->cfg, "model_id", "preset stretch");
    /* a misspelt file preset is still an error, even when --preset overrides it */
    assert_int_equal(tu_cfg_load(f, "preset: qualty\n"), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, ":1:9: unknown preset 'qualty'");
}

static void test_empty_and_comment_only_files(void **state)
{
    static const char *const contents[] = {"", "# only a comment\n", "\n\n", "---\n", "~\n"};
    struct fixture *f = *state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(contents); i++) {
        assert_int_equal(tu_cfg_load(f, contents[i]), 0);
        assert_string_equal(f->cfg.model_id, "llama3.1:8b-instruct-q4_K_M");
        tu_assert_origin(&f->cfg, "model_id", "default");
        assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    }
}

/* ---- errors --------------------------------------------------------------------------------- */

struct error_case {
    const char *yaml;
    const char *where; /* ":line:col:" after the file name */
    const char *what;  /* further text the message must hold */
};

static const struct error_case error_cases[] = {
    /* unknown keys, with suggestions */
    {"model_id: x\ntop_k: 1\n\nmax_new_token: 5\n",
     ":4:1:", "unknown key 'max_new_token'; did you mean 'max_new_tokens'?"},
    {"max_new_tokens:\n  open_bok: 5\n",
     ":2:3:", "unknown key 'max_new_tokens.open_bok'; did you mean 'max_new_tokens.open_book'?"},
    {"runs_dir: out\n", ":1:1:", "did you mean 'paths.runs_dir'"},
    {"temperature: 0.7\n", ":1:1:", "did you mean 'temps'?"},
    {"zzzzzzzzzzzz: 1\n", ":1:1:", "unknown key 'zzzzzzzzzzzz'; the keys are listed in"},
    {"datasets:\n  - name: a\n    fromat: squad\n    path: x\n",
     ":3:5:", "unknown key 'datasets[0].fromat' (did you mean 'format'?)"},
    /* wrong types and ranges */
    {"top_k: fifty\n", ":1:8:", "'top_k' must be a whole number"},
    {"top_k: \"50\"\n", ":1:8:", "remove the quotes"},
    {"top_k: 2.5\n", ":1:8:", "'top_k' must be a whole number, not '2.5'"},
    {"top_k: [1]\n", ":1:8:", "'top_k' must be a whole number from 0 to 1000000, not a list"},
    {"model_id: {a: 1}\n", ":1:11:", "'model_id' must be a string, not a mapping"},
    {"model_id:\n", ":1:10:", "'model_id' needs a value"},
    {"max_concurrent_jobs: -2\n", ":1:22:", "'max_concurrent_jobs' must be from 1 to 256, not -2"},
    {"max_concurrent_jobs: 0\n", ":1:22:", "from 1 to 256"},
    {"top_p: 1.5\n", ":1:8:", "'top_p' must be from 0 to 1, not 1.5"},
    {"top_p: -0.1\n", ":1:8:", "'top_p' must be from 0 to 1"},
    {"temps: [0.0, 2.5]\n", ":1:14:", "'temps[1]' must be from 0 to 2, not 2.5"},
    {"temps: 3\n", ":1:8:", "'temps' must be from 0 to 2"},
    {"enable_local_telemetry: maybe\n", ":1:25:", "must be true or false"},
    {"engine: olama\n", ":1:9:",
     "'engine' must be one of ollama, llamacpp, openai, openai_batch, fireworks_batch, dry, not "
     "'olama'; did you mean 'ollama'?"},
    {"engine: llama.cpp\n", ":1:9:", "did you mean 'llamacpp'?"},
    {"scoring: {answer_extraction: last}\n",
     ":1:30:", "must be one of none, first_line, after_answer"},
    {"paths: data\n", ":1:8:", "'paths' must be a mapping"},
    /* item types */
    {"datasets:\n  - name: a\n    format: squad\n    path: x\n    type: closed\n",
     ":5:11:", "unknown item type 'closed' for dataset 'a' (did you mean 'closed_book'?)"},
    {"prompt_sets:\n  s:\n    direct:\n      openbook: {user: \"{question} {context}\"}\n",
     ":4:7:", "unknown item type 'openbook' in 'prompt_sets.s.direct'"},
    /* datasets */
    {"datasets:\n  - {name: a, format: squad, path: x}\n  - {name: a, format: csv, path: y}\n",
     ":3:12:", "duplicate dataset name 'a' (first at "},
    {"datasets:\n  - name: nq open\n    format: nq_open\n    path: x\n", ":2:11:",
     "dataset name 'nq open' may only contain letters, digits, '_', '.' and '-'; rename it, e.g. "
     "'nq_open'"},
    {"datasets:\n  - name: a\n    format: parquet\n    path: x\n",
     ":3:13:", "'datasets[0].format' must be one of squad, nq_open, mmlu, jsonl, csv"},
    {"datasets:\n  - name: a\n    format: squad\n", ":2:5:", "dataset 'a' has no 'path'"},
    {"datasets:\n  - name: a\n    format: squad\n    path: x\n    split: test\n",
     ":5:12:", "'split' only applies to mmlu datasets"},
    {"datasets: {a: 1}\n", ":1:11:", "'datasets' must be a list"},
    /* YAML itself */
    {"model_id: [a\n", ":2:1:", "invalid YAML: did not find expected ',' or ']'"},
    {"key: value\n  bad: indent\n", ":2:6:", "invalid YAML: mapping values are not allowed"},
    {"- a\n- b\n", ":1:1:", "a config file must be a mapping of keys to values"},
    {"just a string\n", ":1:1:", "a config file must be a mapping"},
    {"top_k: 1\ntop_k: 2\n", ":2:1:", "duplicate key 'top_k' (first at line 1)"},
    {"top_k: 1\n---\ntop_k: 2\n", ":2:1:", "one YAML document"},
    /* presets and secrets */
    {"preset: throughpt\n", ":1:9:", "unknown preset 'throughpt' (did you mean 'throughput'?)"},
    {"api_key: sk-abc\n", ":1:1:", "'api_key' is not allowed"},
    {"launch: {model: m.gguf, api_key: x}\n", ":1:25:", "'launch.api_key' is not allowed"},
    /* cross-field rules (lleval_config_validate) */
    {"prompt_set: mysett\nprompt_sets:\n  myset: {direct: {closed_book: {user: \"{question}\"}}}\n",
     ":1:13:", "prompt set 'mysett' does not exist (did you mean 'myset'?)"},
    {"temps: []\n", ":1:8:", "'temps' is empty; give at least one temperature"},
    {"temps: [0.7, 0.70]\n", ":1:8:", "lists 0.7 twice"},
    {"max_new_tokens: 8192\n", ":1:17:", "leaves no room for the prompt"},
    {"context_length: 500\n", ":1:17:", "'max_new_tokens.closed_book' (512) leaves no room"},
    {"base_url: localhost:11434\n", ":1:11:", "must start with http:// or https://"},
    {"launch: {model: m.gguf}\n", ":1:17:", "needs 'engine: llamacpp'"},
    {"stop: [\"\"]\n", ":1:7:", "'stop[0]' is empty"},
    {"prompt_sets:\n  s:\n    direct:\n      closed_book: {user: \"Q: {questoin}\"}\n",
     ":4:27:", "uses the unknown placeholder {questoin} (did you mean 'question'?)"},
    {"prompt_sets:\n  s:\n    direct:\n      open_book: {system: \"\", user: \"{question}\"}\n",
     ":4:37:", "never shows the passage; add {context}"},
};

static void test_errors_name_file_line_column(void **state)
{
    struct fixture *f = *state;
    (void)f;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(error_cases); i++) {
        struct lleval_config c;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *path = tu_write(f->dir, "eval.yaml", error_cases[i].yaml);
        char *where = lleval_xasprintf("%s%s ", path, error_cases[i].where);
        int rc;
        lleval_config_init(&c);
        rc = lleval_config_load_file(&c, path, &err);
        if (!rc)
            rc = lleval_config_validate(&c, &err);
        if (rc != LLEVAL_EINVAL)
            print_error("case %zu (%s): want an error, got %d\n", i, error_cases[i].yaml, rc);
        assert_int_equal(rc, LLEVAL_EINVAL);
        assert_int_equal(err.code, LLEVAL_EINVAL);
        if (strncmp(err.msg, where, strlen(where))) {
            print_error("case %zu: message should start with \"%s\": \"%s\"\n", i, where, err.msg);
            fail();
        }
        tu_assert_contains(err.msg, error_cases[i].what);
        free(where);
        free(path);
        lleval_config_release(&c);
    }
}

static void test_missing_file(void **state)
{
    struct fixture *f = *state;
    char *path = lleval_xasprintf("%s/nope.yaml", f->dir);
    assert_int_equal(lleval_config_load_file(&f->cfg, path, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, path);
    tu_assert_contains(f->err.msg, "--config");
    free(path);
}

static void test_set_errors(void **state)
{
    static const struct {
        const char *key, *value, *what;
    } cases[] = {
        {"max_new_token", "3",
         "--set: unknown key 'max_new_token'; did you mean 'max_new_tokens'?"},
        {"top_p", "2", "--set: 'top_p' must be from 0 to 1, not 2"},
        {"top_k", "many", "--set: 'top_k' must be a whole number"},
        {"engine", "vllm",
         "must be one of ollama, llamacpp, openai, openai_batch, fireworks_batch, dry"},
        {"temps", "0,3", "--set: 'temps[1]' must be from 0 to 2"},
        {"stop", "[a", "not valid YAML flow syntax"},
        {"api_key", "sk-secret", "'api_key' is not allowed"},
        {"model_id", "null", "'model_id' needs a value"},
    };
    struct fixture *f = *state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        f->err = (struct lleval_err)LLEVAL_ERR_INIT;
        assert_int_equal(lleval_config_set(&f->cfg, cases[i].key, cases[i].value, "--set", &f->err),
                         LLEVAL_EINVAL);
        tu_assert_contains(f->err.msg, cases[i].what);
    }
    assert_null(strstr(f->err.msg, "sk-secret") ? "found" : NULL);
}

/* ---- values --------------------------------------------------------------------------------- */

static void test_lists_as_scalar_or_sequence(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;

    assert_int_equal(tu_cfg_load(f, "temps: 0.7\nstop: \"Q:\"\nmax_new_tokens: 256\n"), 0);
    assert_int_equal(c->n_temps, 1);
    assert_true(c->temps[0] == 0.7);
    assert_int_equal(c->n_stop, 1);
    assert_string_equal(c->stop[0], "Q:");
    for (int t = 0; t < LLEVAL_N_ITEM_TYPES; t++)
        assert_int_equal(c->max_new_tokens[t], 256);
    assert_file_origin(f, "max_new_tokens.multiple_choice", 3, 17);

    assert_int_equal(tu_cfg_load(f, "temps: [0, 0.7, 1.0]\nstop: [\"\\n\\nQuestion:\", \"A:\"]\n"
                                    "launch: {extra_args: [--flash-attn, \"-t\", 8]}\n"),
                     0);
    assert_int_equal(c->n_temps, 3);
    assert_true(c->temps[1] == 0.7 && c->temps[2] == 1.0);
    assert_int_equal(c->n_stop, 2);
    assert_string_equal(c->stop[0], "\n\nQuestion:");
    assert_int_equal(c->launch.n_extra_args, 3);
    assert_string_equal(c->launch.extra_args[2], "8");

    assert_int_equal(tu_cfg_load(f, "stop:\n  - \"</answer>\"\n  - 'Q:'\ntemps:\n  - 0.1\n"), 0);
    assert_int_equal(c->n_stop, 2);
    assert_string_equal(c->stop[1], "Q:");
    assert_int_equal(c->n_temps, 1);

    assert_int_equal(lleval_config_set(c, "temps", "0, 0.7", "--temps", &f->err), 0);
    assert_int_equal(c->n_temps, 2);
    assert_true(c->temps[1] == 0.7);
    assert_int_equal(lleval_config_set(c, "temps", "[0.2]", "--temps", &f->err), 0);
    assert_int_equal(c->n_temps, 1);
    assert_true(c->temps[0] == 0.2);
    assert_int_equal(lleval_config_set(c, "stop", "[\"a,b\", \"c\"]", "--set", &f->err), 0);
    assert_int_equal(c->n_stop, 2);
    assert_string_equal(c->stop[0], "a,b");
    assert_int_equal(lleval_config_set(c, "stop", "x,y", "--set", &f->err), 0);
    assert_int_equal(c->n_stop, 2);
    assert_string_equal(c->stop[1], "y");
    assert_int_equal(lleval_config_set(c, "stop", "", "--set", &f->err), 0);
    assert_int_equal(c->n_stop, 0);
    assert_int_equal(lleval_config_set(c, "max_new_tokens", "300", "--set", &f->err), 0);
    assert_int_equal(c->max_new_tokens[LLEVAL_MULTIPLE_CHOICE], 300);
    assert_int_equal(lleval_config_set(c, "max_new_tokens", "{open_book: 900}", "--set", &f->err),
                     0);
    assert_int_equal(c->max_new_tokens[LLEVAL_OPEN_BOOK], 900);
    assert_int_equal(c->max_new_tokens[LLEVAL_CLOSED_BOOK], 300);
}

/* One value per key: lleval_config_set must take every key of lleval_config_keys(). */
static const struct {
    const char *key, *value;
} set_values[] = {
    {"preset", "quality"},
    {"model_id", "llama3.1:8b-instruct-q6_K"},
    {"engine", "llamacpp"},
    {"base_url", "http://127.0.0.1:9999"},
    {"api_key_env", "MY_KEY"},
    {"context_length", "8192"},
    {"temps", "0,0.7"},
    {"max_new_tokens.closed_book", "100"},
    {"max_new_tokens.open_book", "2048"},
    {"max_new_tokens.multiple_choice", "4"},
    {"top_k", "20"},
    {"top_p", "0.95"},
    {"stop", "[\"\\n\\nQuestion:\", \"Q:\"]"},
    {"scoring.abstain_phrases", "[\"no answer\", \"unanswerable\"]"},
    {"seed", "7"},
    {"samples", "3"},
    {"enable_local_telemetry", "true"},
    {"telemetry_interval_ms", "500"},
    {"max_concurrent_jobs", "2"},
    {"parts_per_dataset", "4"},
    {"limit_items", "10"},
    {"request_timeout_s", "30"},
    {"max_retries", "1"},
    {"max_connect_failures", "2"},
    {"keep_alive", "10m"},
    {"prompt_set", "mine"},
    {"prompt_sets", "{mine: {terse: {closed_book: {user: \"Q: {question}\"}}}}"},
    {"datasets", "[{name: nq, format: nq_open, path: nq.jsonl}]"},
    {"models", "null"}, /* with model_id an error: test_config_models.c sets lists */
    {"paths.prepared_dir", "prep"},
    {"paths.runs_dir", "out/runs"},
    {"paths.batches_dir", "b"},
    {"scoring.answer_extraction", "after_answer"},
    {"scoring.strip_think", "false"},
    {"scoring.bootstrap_samples", "0"},
    {"scoring.bootstrap_seed", "9"},
    {"launch.enabled", "true"},
    {"launch.binary", "/opt/llama-server"},
    {"launch.model", "m.gguf"},
    {"launch.ctx_size", "2048"},
    {"launch.parallel", "2"},
    {"launch.gpu_layers", "99"},
    {"launch.extra_args", "--flash-attn,-t,8"},
    {"launch.max_restarts", "0"},
    {"batch.max_requests", "10"},
    {"batch.max_bytes", "100000"},
    {"batch.completion_window", "24h"},
    {"batch.poll_interval_ms", "50"},
    {"batch.max_attempts", "2"},
    {"launch.instances", "2"},
    {"launch.devices", "0,1"},
    {"endpoints", "[]"},
    {"batch.account_id", "my-account"},
};

static void test_set_accepts_every_key(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;
    const char *const *keys = lleval_config_keys();

    for (size_t i = 0; keys[i]; i++) {
        bool found = false;
        for (size_t j = 0; j < LLEVAL_ARRAY_SIZE(set_values); j++)
            found = found || !strcmp(set_values[j].key, keys[i]);
        if (!found)
            print_error("key '%s' has no case in set_values[]\n", keys[i]);
        assert_true(found);
    }
    for (size_t j = 0; j < LLEVAL_ARRAY_SIZE(set_values); j++) {
        f->err = (struct lleval_err)LLEVAL_ERR_INIT;
        if (lleval_config_set(c, set_values[j].key, set_values[j].value, "--set", &f->err))
            print_error("--set %s=%s: %s\n", set_values[j].key, set_values[j].value, f->err.msg);
        assert_int_equal(f->err.code, 0);
        tu_assert_origin(c, set_values[j].key, "--set");
    }
    assert_int_equal(lleval_config_validate(c, &f->err), 0);
    assert_string_equal(c->preset, "quality");
    assert_int_equal(c->engine, LLEVAL_ENGINE_LLAMACPP);
    assert_int_equal(c->max_new_tokens[LLEVAL_OPEN_BOOK], 2048);
    assert_true(c->top_p == 0.95);
    assert_string_equal(c->stop[0], "\n\nQuestion:");
    assert_true(c->enable_local_telemetry);
    assert_string_equal(c->keep_alive, "10m");
    assert_int_equal(c->n_datasets, 1);
    assert_string_equal(c->datasets[0].format, "nq_open");
    assert_non_null(lleval_prompt_set_find_type(lleval_config_prompt_set(c), "terse"));
    assert_string_equal(c->runs_dir, "out/runs");
    assert_string_equal(c->answer_extraction, "after_answer");
    assert_false(c->strip_think);
    assert_true(c->launch.enabled);
    assert_int_equal(c->launch.n_extra_args, 3);
    assert_int_equal(c->launch.gpu_layers, 99);
    assert_int_equal(c->launch.instances, 2);
    assert_int_equal(c->launch.n_devices, 2);
    assert_string_equal(c->launch.devices[1], "1");
    assert_int_equal(lleval_config_set(c, "base_url", "null", "--set", &f->err), 0);
    assert_null(c->base_url);
}

static void test_datasets(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;
    assert_int_equal(tu_cfg_load(f, "datasets:\n"
                                    "  - name: xquad_en\n"
                                    "    format: squad\n"
                                    "    path: ../shared/datasets/xquad/xquad.en.json\n"
                                    "  - name: mmlu\n"
                                    "    format: mmlu\n"
                                    "    path: ../shared/datasets/mmlu\n"
                                    "  - name: my.csv-1\n"
                                    "    format: csv\n"
                                    "    path: q.csv\n"
                                    "    type: closed_book\n"
                                    "    scoring: nq\n"
                                    "    header: false\n"
                                    "    fields: {question: q, answers: a}\n"),
                     0);
    assert_int_equal(c->n_datasets, 3);
    assert_string_equal(c->datasets[0].path, "../shared/datasets/xquad/xquad.en.json");
    assert_null(c->datasets[0].split);
    assert_false(c->datasets[0].has_type);
    assert_string_equal(c->datasets[1].split, "test");
    assert_true(c->datasets[2].has_type);
    assert_int_equal(c->datasets[2].type, LLEVAL_CLOSED_BOOK);
    assert_string_equal(c->datasets[2].scoring, "nq");
    assert_false(c->datasets[2].csv_header);
    assert_string_equal(c->datasets[2].field_question, "q");
    assert_string_equal(c->datasets[2].field_answers, "a");
    assert_null(c->datasets[2].field_id);
    assert_true(c->datasets[0].csv_header);
    assert_file_origin(f, "datasets[1].path", 7, 11);
    assert_file_origin(f, "datasets", 2, 3);
    /* a second file replaces the list, and forgets the old origins */
    assert_int_equal(tu_cfg_load(f, "datasets: []\n"), 0);
    assert_int_equal(c->n_datasets, 0);
    tu_assert_origin(c, "datasets[1].path", "default");
}

static void test_prompt_sets_add_and_replace(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;
    const struct lleval_prompt_set *ps;
    const struct lleval_prompt_type *t;

    assert_int_equal(
        tu_cfg_load(f, "prompt_set: myset\n"
                       "prompt_sets:\n"
                       "  myset:\n"
                       "    direct:\n"
                       "      closed_book: {system: \"Be brief.\", user: \"Q: {question}\"}\n"
                       "    operational:\n"
                       "      open_book: {system: \"\"}\n"
                       "  default:\n"
                       "    mine:\n"
                       "      multiple_choice:\n"
                       "        user: |\n"
                       "          {question}\n"
                       "          {choices}\n"),
        0);
    assert_int_equal(lleval_config_validate(c, &f->err), 0);
    assert_int_equal(c->n_prompt_sets, 4); /* default (replaced), operational_only, all, myset */
    ps = lleval_config_prompt_set(c);
    assert_non_null(ps);
    assert_string_equal(ps->name, "myset");
    assert_int_equal(ps->n_types, 2);
    t = lleval_prompt_set_find_type(ps, "direct");
    assert_string_equal(t->system[LLEVAL_CLOSED_BOOK], "Be brief.");
    assert_string_equal(t->user[LLEVAL_CLOSED_BOOK], "Q: {question}");
    /* missing templates come from the built-in type of the same name */
    tu_assert_contains(t->user[LLEVAL_OPEN_BOOK], "{context}");
    t = lleval_prompt_set_find_type(ps, "operational");
    assert_string_equal(t->system[LLEVAL_OPEN_BOOK], "");
    tu_assert_contains(t->system[LLEVAL_CLOSED_BOOK], "answer only");
    ps = lleval_config_find_prompt_set(c, "default");
    assert_int_equal(ps->n_types, 1);
    assert_string_equal(ps->types[0].name, "mine");
    assert_string_equal(ps->types[0].user[LLEVAL_MULTIPLE_CHOICE], "{question}\n{choices}\n");
    assert_file_origin(f, "prompt_sets.myset.direct.closed_book.user", 5, 48);
    tu_assert_origin(c, "prompt_sets.myset.direct.open_book.user", "default");
}

static void test_launch_section(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\nlaunch:\n  model: m.gguf\n"), 0);
    assert_true(f->cfg.launch.enabled);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    assert_int_equal(tu_cfg_load(f, "launch:\n  enabled: false\n  model: m.gguf\n"), 0);
    assert_false(f->cfg.launch.enabled);
    assert_int_equal(tu_cfg_load(f, "launch:\n  ctx_size: 100\n"), 0);
    assert_false(f->cfg.launch.enabled);
}

/* ---- output --------------------------------------------------------------------------------- */

/* A config with something unusual in every corner. */
static const char rich_config[] =
    "preset: throughput\n"
    "model_id: \"llama3.1:8b-instruct-q4_K_M\"\n"
    "engine: openai\n"
    "base_url: https://example.invalid/v1\n"
    "api_key_env: OPENAI_API_KEY\n"
    "temps: [0.0, 0.7, 1.25, 0.1]\n"
    "max_new_tokens: {closed_book: 100, open_book: 200, multiple_choice: 3}\n"
    "top_p: 0.95\n"
    "stop: [\"\\n\\nQuestion:\", \"say \\\"hi\\\"\", \"back\\\\slash\", \"caf\xc3\xa9\", \"true\", "
    "\"12\", \"a: b\", \"# x\", \"\\t\"]\n"
    "seed: -1\n"
    "keep_alive: \"-1\"\n"
    "prompt_set: mine\n"
    "prompt_sets:\n"
    "  mine:\n"
    "    direct:\n"
    "      closed_book: {system: \"\", user: \"Q: {question}\\nA:\"}\n"
    "datasets:\n"
    "  - {name: xq, format: squad, path: ../shared/datasets/xquad/xquad.en.json, type: open_book}\n"
    "  - {name: m, format: mmlu, path: \"dir with space\", split: dev, scoring: mc}\n"
    "  - {name: c, format: csv, path: c.csv, header: false, fields: {id: key, choices: opts}}\n"
    "paths: {prepared_dir: \"yes\", runs_dir: /abs/runs}\n"
    "scoring: {answer_extraction: first_line, strip_think: false, bootstrap_samples: 10}\n"
    "launch: {binary: null, model: null, extra_args: [\"--n-gpu-layers\", \"99\"]}\n";

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    char *y1, *y2, *y3, *path;
    struct lleval_config back;
    struct lleval_err err = LLEVAL_ERR_INIT;

    assert_int_equal(tu_cfg_load(f, rich_config), 0);
    assert_int_equal(lleval_config_set(&f->cfg, "limit_items", "5", "--limit-items", &f->err), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    y1 = lleval_config_to_yaml(&f->cfg, false);

    path = tu_write(f->dir, "resolved.yaml", y1);
    lleval_config_init(&back);
    if (lleval_config_load_file(&back, path, &err))
        print_error("%s\n---\n%s\n", err.msg, y1);
    assert_int_equal(err.code, 0);
    assert_int_equal(lleval_config_validate(&back, &err), 0);
    y2 = lleval_config_to_yaml(&back, false);
    assert_string_equal(y1, y2);

    /* field by field, for what the text could hide */
    assert_int_equal(back.n_temps, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(back.temps[i] == f->cfg.temps[i]);
    assert_true(back.top_p == 0.95);
    assert_int_equal(back.n_stop, f->cfg.n_stop);
    for (size_t i = 0; i < back.n_stop; i++)
        assert_string_equal(back.stop[i], f->cfg.stop[i]);
    assert_int_equal(back.seed, -1);
    assert_string_equal(back.keep_alive, "-1");
    assert_string_equal(back.prepared_dir, "yes");
    assert_int_equal(back.limit_items, 5);
    assert_int_equal(back.n_datasets, 3);
    assert_string_equal(back.datasets[1].path, "dir with space");
    assert_string_equal(back.datasets[1].split, "dev");
    assert_false(back.datasets[2].csv_header);
    assert_string_equal(back.datasets[2].field_choices, "opts");
    assert_true(back.datasets[0].has_type && back.datasets[0].type == LLEVAL_OPEN_BOOK);
    assert_string_equal(lleval_config_prompt_set(&back)->types[0].system[0], "");
    assert_false(back.launch.enabled);
    assert_int_equal(back.launch.n_extra_args, 2);
    lleval_config_release(&back);
    free(path);

    /* the commented form loads back the same, too */
    y3 = lleval_config_to_yaml(&f->cfg, true);
    path = tu_write(f->dir, "commented.yaml", y3);
    lleval_config_init(&back);
    assert_int_equal(lleval_config_load_file(&back, path, &err), 0);
    free(y2);
    y2 = lleval_config_to_yaml(&back, false);
    assert_string_equal(y1, y2);
    lleval_config_release(&back);
    free(path);
    free(y1);
    free(y2);
    free(y3);
}

static void test_round_trip_of_defaults(void **state)
{
    struct fixture *f = *state;
    char *y1 = lleval_config_to_yaml(&f->cfg, false), *y2;
    struct lleval_config back;
    char *path = tu_write(f->dir, "d.yaml", y1);
    lleval_config_init(&back);
    assert_int_equal(lleval_config_load_file(&back, path, &f->err), 0);
    y2 = lleval_config_to_yaml(&back, false);
    assert_string_equal(y1, y2);
    tu_assert_contains(y1, "model_id: \"llama3.1:8b-instruct-q4_K_M\"\n");
    tu_assert_contains(y1, "temps: [0.0]\n");
    tu_assert_contains(y1, "top_p: 1.0\n");
    free(y1);
    free(y2);
    free(path);
    lleval_config_release(&back);
}

static void test_api_key_never_written(void **state)
{
    static const char secret[] = "sk-test-0123456789abcdef";
    struct fixture *f = *state;
    char *yaml, *json_text;
    json_t *j;

    tu_setenv("LLEVAL_TEST_KEY", secret);
    assert_int_equal(tu_cfg_load(f, "engine: openai\napi_key_env: LLEVAL_TEST_KEY\n"), 0);
    yaml = lleval_config_to_yaml(&f->cfg, true);
    tu_assert_contains(yaml, "api_key_env: LLEVAL_TEST_KEY");
    assert_null(strstr(yaml, secret));
    j = json_object();
    json_object_set_new(j, "config", lleval_config_to_json(&f->cfg));
    json_object_set_new(j, "origin", lleval_config_origins_json(&f->cfg));
    json_text = json_dumps(j, 0);
    assert_null(strstr(json_text, secret));
    free(json_text);
    json_decref(j);
    free(yaml);

    /* a key pasted into the file is refused without being repeated */
    assert_int_equal(tu_cfg_load(f, "api_key: sk-test-0123456789abcdef\n"), LLEVAL_EINVAL);
    assert_null(strstr(f->err.msg, secret));
    assert_int_equal(tu_cfg_load(f, "api_key_env: sk-test-0123456789abcdef\n"), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "not the key itself");
    assert_null(strstr(f->err.msg, secret));
    tu_unsetenv("LLEVAL_TEST_KEY");
}

static void test_json(void **state)
{
    struct fixture *f = *state;
    json_t *cfg, *origin;
    assert_int_equal(tu_cfg_load(f, "preset: throughput\ntemps: [0, 0.7]\nbase_url: null\n"), 0);
    assert_int_equal(lleval_config_set(&f->cfg, "top_k", "5", "--set", &f->err), 0);
    cfg = lleval_config_to_json(&f->cfg);
    origin = lleval_config_origins_json(&f->cfg);
    assert_string_equal(lleval_json_str(cfg, "model_id"), "llama3.1:8b-instruct-q4_K_M");
    assert_int_equal(lleval_json_int(cfg, "context_length", 0), 8192);
    assert_int_equal(lleval_json_int(cfg, "top_k", 0), 5);
    assert_true(json_is_null(json_object_get(cfg, "base_url")));
    assert_true(json_is_real(json_array_get(json_object_get(cfg, "temps"), 1)));
    assert_true(json_is_false(json_object_get(cfg, "enable_local_telemetry")));
    assert_int_equal(lleval_json_int(lleval_json_path(cfg, "max_new_tokens"), "open_book", 0),
                     1024);
    assert_string_equal(lleval_json_str(cfg, "keep_alive"), "5m");
    assert_string_equal(lleval_json_str(origin, "context_length"), "preset throughput");
    assert_string_equal(lleval_json_str(origin, "top_k"), "--set");
    assert_string_equal(lleval_json_str(origin, "seed"), "default");
    tu_assert_contains(lleval_json_str(origin, "temps"), ":2:8");
    assert_non_null(lleval_json_str(origin, "max_new_tokens.multiple_choice"));
    json_decref(cfg);
    json_decref(origin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_are_the_guides_conservative_defaults,
                                        tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_engine_base_urls, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_builtin_prompt_sets, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test(test_presets),
        cmocka_unit_test_setup_teardown(test_unknown_preset, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_precedence_default_preset_file_flag, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_file_preset_is_applied_before_the_file, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_cli_preset_wins_over_file_preset, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_comment_only_files, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_file_line_column, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_set_errors, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_lists_as_scalar_or_sequence, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_set_accepts_every_key, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_datasets, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_prompt_sets_add_and_replace, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_launch_section, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_of_defaults, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_api_key_never_written, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_json, tu_cfg_setup, tu_cfg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
