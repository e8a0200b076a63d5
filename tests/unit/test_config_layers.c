/* Unit tests for the layers of the configuration and where their values came from
 * (lib/config/presets.c, apply.c, origin.c, validate.c): every key a preset sets, and
 * only those, has origin "preset NAME"; one key through default < preset < file < flag;
 * origins inside datasets; and errors that name the place of the offending value
 * (file:line:column, the flag or the preset) for wrong types, ranges and unknown keys. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "tu_config.h"
#include "lleval/config/config.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* "<fixture path>:line:col" */
static char *file_at(const struct fixture *f, int line, int col)
{
    return lleval_xasprintf("%s:%d:%d", f->path, line, col);
}

/* ---- presets -------------------------------------------------------------------------------- */

/* The keys each preset sets (docs/config.md, "Presets"); every other key keeps its default. */
static const struct {
    const char *name;
    const char *keys[8];
} preset_keys[] = {
    {"throughput",
     {"model_id", "context_length", "max_new_tokens.closed_book", "max_new_tokens.open_book",
      "max_concurrent_jobs"}},
    {"quality",
     {"model_id", "context_length", "max_new_tokens.closed_book", "max_new_tokens.open_book",
      "max_concurrent_jobs"}},
    {"stretch",
     {"model_id", "context_length", "max_new_tokens.closed_book", "max_new_tokens.open_book",
      "max_concurrent_jobs"}},
    {"conservative",
     {"model_id", "temps", "max_new_tokens.closed_book", "max_new_tokens.open_book", "top_k",
      "top_p", "max_concurrent_jobs"}},
};

static bool preset_sets(size_t p, const char *key)
{
    for (size_t i = 0; preset_keys[p].keys[i]; i++)
        if (!strcmp(preset_keys[p].keys[i], key))
            return true;
    return false;
}

/* After preset p chosen by `chooser` (origin text of the preset key), every key
 * has origin "preset NAME" when the preset sets it and "default" otherwise. */
static void assert_preset_origins(const struct lleval_config *c, size_t p, const char *chooser)
{
    const char *const *keys = lleval_config_keys();
    char *from_preset = lleval_xasprintf("preset %s", preset_keys[p].name);
    for (size_t i = 0; keys[i]; i++) {
        if (!strcmp(keys[i], "preset"))
            tu_assert_origin(c, keys[i], chooser);
        else
            tu_assert_origin(c, keys[i], preset_sets(p, keys[i]) ? from_preset : "default");
    }
    free(from_preset);
}

static void test_presets_set_exactly_their_keys(void **state)
{
    const char *const *names = lleval_config_preset_names();
    (void)state;
    for (size_t p = 0; p < LLEVAL_ARRAY_SIZE(preset_keys); p++) {
        struct lleval_config c;
        struct lleval_err err = LLEVAL_ERR_INIT;
        assert_string_equal(names[p], preset_keys[p].name);
        lleval_config_init(&c);
        assert_int_equal(lleval_config_apply_preset(&c, preset_keys[p].name, &err), 0);
        assert_preset_origins(&c, p, "--preset");
        lleval_config_release(&c);

        /* the same through --set preset=NAME: the chooser is that flag */
        lleval_config_init(&c);
        assert_int_equal(lleval_config_set(&c, "preset", preset_keys[p].name, "--set", &err), 0);
        assert_string_equal(c.preset, preset_keys[p].name);
        assert_preset_origins(&c, p, "--set");
        lleval_config_release(&c);
    }
    assert_null(names[LLEVAL_ARRAY_SIZE(preset_keys)]);
}

static void test_file_preset_origins(void **state)
{
    struct fixture *f = *state;
    char *at;
    /* conservative is preset_keys[3]; its key is on line 2, column 9 */
    assert_int_equal(tu_cfg_load(f, "# eval\npreset: conservative\n"), 0);
    at = file_at(f, 2, 9);
    assert_preset_origins(&f->cfg, 3, at);
    free(at);
    /* preset: null in a later file removes the name, and says where */
    assert_int_equal(tu_cfg_load(f, "preset: null\n"), 0);
    assert_null(f->cfg.preset);
    at = file_at(f, 1, 9);
    tu_assert_origin(&f->cfg, "preset", at);
    free(at);
}

static void test_unknown_preset_places(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(lleval_config_apply_preset(&f->cfg, "fast", &f->err), LLEVAL_EINVAL);
    assert_string_equal(
        f->err.msg, "unknown preset 'fast'; presets: throughput, quality, stretch, conservative");
    f->err = (struct lleval_err)LLEVAL_ERR_INIT;
    assert_int_equal(lleval_config_set(&f->cfg, "preset", "qualty", "--preset", &f->err),
                     LLEVAL_EINVAL);
    assert_string_equal(f->err.msg, "--preset: unknown preset 'qualty' (did you mean 'quality'?); "
                                    "presets: throughput, quality, stretch, conservative");
    assert_int_equal(tu_cfg_load(f, "model_id: m\npreset: stretchh\n"), LLEVAL_EINVAL);
    {
        char *want = lleval_xasprintf("%s:2:9: unknown preset 'stretchh' (did you mean "
                                      "'stretch'?); presets: throughput, quality, stretch, "
                                      "conservative",
                                      f->path);
        assert_string_equal(f->err.msg, want);
        free(want);
    }
    assert_null(f->cfg.preset); /* the file's other keys are still read, for their errors */
}

/* ---- precedence ----------------------------------------------------------------------------- */

static void test_one_key_through_every_layer(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;
    json_t *origins;
    char *at, *yaml;

    assert_int_equal(c->top_k, 50);
    tu_assert_origin(c, "top_k", "default");
    /* the file's preset sits below the file's own keys */
    assert_int_equal(tu_cfg_load(f, "model_id: m\ntop_k: 20\npreset: conservative\n"), 0);
    assert_int_equal(c->top_k, 20);
    at = file_at(f, 2, 8);
    tu_assert_origin(c, "top_k", at);
    tu_assert_origin(c, "top_p", "preset conservative"); /* untouched by the file */
    assert_int_equal(lleval_config_set(c, "top_k", "10", "--set", &f->err), 0);
    assert_int_equal(c->top_k, 10);
    tu_assert_origin(c, "top_k", "--set");
    assert_int_equal(lleval_config_set(c, "top_k", "5", "--top-k", &f->err), 0);
    assert_int_equal(c->top_k, 5);
    tu_assert_origin(c, "top_k", "--top-k");
    assert_int_equal(lleval_config_validate(c, &f->err), 0);

    /* config show and its JSON say the same */
    yaml = lleval_config_to_yaml(c, true);
    tu_assert_contains(yaml, "\ntop_k: 5  ");
    tu_assert_contains(yaml, "  # --top-k; wins over --set (the later flag wins; named flags apply "
                             "after --set)\n");
    free(yaml);
    origins = lleval_config_origins_json(c);
    assert_string_equal(json_string_value(json_object_get(origins, "top_k")), "--top-k");
    assert_string_equal(json_string_value(json_object_get(origins, "top_p")),
                        "preset conservative");
    assert_string_equal(json_string_value(json_object_get(origins, "seed")), "default");
    free(at);
    at = file_at(f, 1, 11);
    assert_string_equal(json_string_value(json_object_get(origins, "model_id")), at);
    json_decref(origins);
    free(at);
}

static void test_group_values_share_one_origin(void **state)
{
    struct fixture *f = *state;
    char *at;
    assert_int_equal(tu_cfg_load(f, "max_new_tokens: 256\n"), 0);
    at = file_at(f, 1, 17);
    tu_assert_origin(&f->cfg, "max_new_tokens.closed_book", at);
    tu_assert_origin(&f->cfg, "max_new_tokens.open_book", at);
    tu_assert_origin(&f->cfg, "max_new_tokens.multiple_choice", at);
    free(at);
    /* a flag's mapping sets only its keys */
    assert_int_equal(
        lleval_config_set(&f->cfg, "max_new_tokens", "{open_book: 300}", "--set", &f->err), 0);
    tu_assert_origin(&f->cfg, "max_new_tokens.open_book", "--set");
    at = file_at(f, 1, 17);
    tu_assert_origin(&f->cfg, "max_new_tokens.closed_book", at);
    free(at);
    /* a launch model implies launch.enabled from the same place */
    assert_int_equal(lleval_config_set(&f->cfg, "launch.model", "m.gguf", "--set", &f->err), 0);
    assert_true(f->cfg.launch.enabled);
    tu_assert_origin(&f->cfg, "launch.enabled", "--set");
}

static void test_dataset_origins_are_replaced_with_the_list(void **state)
{
    struct fixture *f = *state;
    json_t *origins;
    char *at;
    assert_int_equal(tu_cfg_load(f, "datasets:\n"
                                    "  - {name: a, format: squad, path: a.json}\n"
                                    "  - {name: b, format: csv, path: b.csv}\n"),
                     0);
    at = file_at(f, 3, 34);
    tu_assert_origin(&f->cfg, "datasets[1].path", at);
    free(at);
    assert_int_equal(lleval_config_set(&f->cfg, "datasets", "[{name: c, format: mmlu, path: m}]",
                                       "--set", &f->err),
                     0);
    assert_int_equal(f->cfg.n_datasets, 1);
    assert_string_equal(f->cfg.datasets[0].split, "test");
    tu_assert_origin(&f->cfg, "datasets", "--set");
    tu_assert_origin(&f->cfg, "datasets[0].path", "--set");
    tu_assert_origin(&f->cfg, "datasets[1].path", "default"); /* gone with its dataset */
    origins = lleval_config_origins_json(&f->cfg);
    assert_null(json_object_get(origins, "datasets[1].path"));
    assert_null(json_object_get(origins, "datasets[1].name"));
    assert_non_null(json_object_get(origins, "datasets[0].format"));
    json_decref(origins);
}

/* ---- errors name the place of the value ----------------------------------------------------- */

static const struct {
    const char *yaml;
    const char *msg; /* the whole message after "<file>" */
} file_errors[] = {
    /* wrong types */
    {"top_p: \"0.5\"\n", ":1:8: 'top_p' must be a number, not the string \"0.5\"; remove the "
                         "quotes (write a number from 0 to 1)"},
    {"top_p: [1]\n", ":1:8: 'top_p' must be a number from 0 to 1, not a list"},
    {"scoring:\n  strip_think: \"yes\"\n",
     ":2:16: 'scoring.strip_think' must be true or false (without quotes), not 'yes'"},
    {"enable_local_telemetry: {a: 1}\n",
     ":1:25: 'enable_local_telemetry' must be true or false, not a mapping"},
    {"stop: {a: 1}\n", ":1:7: 'stop' must be a string or a list of strings like [\"Q:\", \"A:\"], "
                       "not a mapping"},
    {"temps: {a: 1}\n",
     ":1:8: 'temps' must be a number or a list of numbers like [0.0, 0.7], not a mapping"},
    {"max_new_tokens: [1]\n", ":1:17: 'max_new_tokens' must be a number or a mapping like "
                              "'{closed_book: 512, open_book: 1024}', not a list"},
    {"datasets:\n  - {name: a, format: csv, path: x, header: maybe}\n",
     ":2:45: 'datasets[0].header' must be true or false (without quotes), not 'maybe'"},
    {"? [a]\n: 1\n", ":1:3: keys must be names, not a list"},
    /* out of range */
    {"seed: 1.5\n", ":1:7: 'seed' must be a whole number, not '1.5'; write a number from -1 to "
                    "2147483647 without a fraction"},
    {"seed: x1\n", ":1:7: 'seed' must be a whole number from -1 to 2147483647, not 'x1'"},
    {"samples: 0\n", ":1:10: 'samples' must be from 1 to 1000, not 0"},
    {"launch:\n  gpu_layers: -2\n", ":2:15: 'launch.gpu_layers' must be from -1 to 100000, not -2"},
    {"temps: [0.5, -1]\n", ":1:14: 'temps[1]' must be from 0 to 2, not -1"},
    /* unknown keys */
    {"launch:\n  modle: x\n", ":2:3: unknown key 'launch.modle'; did you mean 'launch.model'?"},
    {"paths:\n  bootstrap_seed: 1\n", ":2:3: unknown key 'paths.bootstrap_seed'; did you mean "
                                      "'scoring.bootstrap_seed' (under 'scoring:')?"},
    {"datasets:\n  - {name: a, format: jsonl, path: x, fields: {qestion: q}}\n",
     ":2:48: unknown key 'datasets[0].fields.qestion' (did you mean 'question'?); fields: id, "
     "question, context, answers, choices"},
    {"prompt_sets:\n  s:\n    direct:\n      closed_book: {usr: \"{question}\"}\n",
     ":4:21: unknown key 'prompt_sets.s.direct.closed_book.usr' (did you mean 'user'?); "
     "templates have system and user"},
    /* names from a fixed list */
    {"datasets:\n  - {name: a, format: mmlu, path: x, split: tset}\n",
     ":2:45: 'datasets[0].split' must be one of test, val, dev, not 'tset'; did you mean "
     "'test'?"},
    {"scoring:\n  answer_extraction: frist_line\n",
     ":2:22: 'scoring.answer_extraction' must be one of none, first_line, after_answer, not "
     "'frist_line'; did you mean 'first_line'?"},
};

static void test_file_errors_name_line_and_column(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(file_errors); i++) {
        struct lleval_config c;
        char *want;
        int rc;
        free(f->path);
        f->path = tu_write(f->dir, "eval.yaml", file_errors[i].yaml);
        f->err = (struct lleval_err)LLEVAL_ERR_INIT;
        lleval_config_init(&c);
        rc = lleval_config_load_file(&c, f->path, &f->err);
        want = lleval_xasprintf("%s%s", f->path, file_errors[i].msg);
        if (rc != LLEVAL_EINVAL || strcmp(f->err.msg, want))
            fail_msg("case %zu (%s): rc %d\n want \"%s\"\n got  \"%s\"", i, file_errors[i].yaml, rc,
                     want, f->err.msg);
        free(want);
        lleval_config_release(&c);
    }
}

static void test_invalid_text_names_line_and_column(void **state)
{
    struct fixture *f = *state;
    static const char bytes[] = "model_id: m\nkeep_alive: 5\xff\n";
    char *want;
    free(f->path);
    f->path = tu_write_bytes(f->dir, "eval.yaml", bytes, sizeof(bytes) - 1);
    assert_int_equal(lleval_config_load_file(&f->cfg, f->path, &f->err), LLEVAL_EINVAL);
    want = lleval_xasprintf("%s:2:14: not valid text: ", f->path);
    if (strncmp(f->err.msg, want, strlen(want)))
        fail_msg("want \"%s...\", got \"%s\"", want, f->err.msg);
    tu_assert_contains(f->err.msg, "; save the file as UTF-8");
    free(want);
}

/* Validation runs after all layers: its messages start with the origin of the value. */
static void test_validation_names_the_origin(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;
    char *want;

    /* a file value changed by code afterwards keeps its file origin */
    assert_int_equal(tu_cfg_load(f, "model_id: m\ntop_k: 5\n"), 0);
    c->top_k = -5;
    assert_int_equal(lleval_config_validate(c, &f->err), LLEVAL_EINVAL);
    want = lleval_xasprintf("%s:2:8: 'top_k' must be from 0 to 1000000, not -5", f->path);
    assert_string_equal(f->err.msg, want);
    free(want);
    c->top_k = 5;

    /* a default max_new_tokens: the message points at the context_length that was set */
    assert_int_equal(lleval_config_set(c, "context_length", "600", "--set", &f->err), 0);
    assert_int_equal(lleval_config_validate(c, &f->err), LLEVAL_EINVAL);
    assert_string_equal(f->err.msg,
                        "--set: 'max_new_tokens.open_book' (1024) leaves no room for the prompt "
                        "in context_length (600); lower it or raise context_length");
    lleval_config_release(c);
    lleval_config_init(c);

    /* ... or at the preset that set it */
    assert_int_equal(lleval_config_apply_preset(c, "quality", &f->err), 0);
    c->max_new_tokens[LLEVAL_MULTIPLE_CHOICE] = 5000;
    assert_int_equal(lleval_config_validate(c, &f->err), LLEVAL_EINVAL);
    assert_string_equal(f->err.msg,
                        "preset quality: 'max_new_tokens.multiple_choice' (5000) leaves no room "
                        "for the prompt in context_length (4096); lower it or raise "
                        "context_length");
    c->max_new_tokens[LLEVAL_MULTIPLE_CHOICE] = 16;

    /* a flag */
    assert_int_equal(lleval_config_set(c, "temps", "0.5,0.50", "--temps", &f->err), 0);
    assert_int_equal(lleval_config_validate(c, &f->err), LLEVAL_EINVAL);
    assert_string_equal(f->err.msg, "--temps: 'temps' lists 0.5 twice; give each temperature once");
    assert_int_equal(lleval_config_set(c, "temps", "0", "--temps", &f->err), 0);
    assert_int_equal(lleval_config_set(c, "prompt_set", "nope", "--prompt-set", &f->err), 0);
    assert_int_equal(lleval_config_validate(c, &f->err), LLEVAL_EINVAL);
    assert_string_equal(f->err.msg, "--prompt-set: prompt set 'nope' does not exist; prompt sets: "
                                    "default, operational_only, all");
    assert_int_equal(lleval_config_set(c, "prompt_set", "all", "--prompt-set", &f->err), 0);

    /* a secret-looking variable name is refused without being echoed */
    assert_int_equal(lleval_config_set(c, "api_key_env", "sk-abc123", "--set", &f->err), 0);
    assert_int_equal(lleval_config_validate(c, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "--set: 'api_key_env' must be the NAME of an environment");
    assert_null(strstr(f->err.msg, "sk-abc123"));
    assert_int_equal(lleval_config_set(c, "api_key_env", "null", "--set", &f->err), 0);

    /* an explicit launch.enabled is applied after the model, so the error points at it */
    assert_int_equal(tu_cfg_load(f, "launch:\n  enabled: true\n  model: m.gguf\n"), 0);
    assert_int_equal(lleval_config_validate(c, &f->err), LLEVAL_EINVAL);
    want = lleval_xasprintf("%s:2:12: 'launch' starts a llama-server, so it needs 'engine: "
                            "llamacpp' (the engine is ollama); set the engine or remove 'launch'",
                            f->path);
    assert_string_equal(f->err.msg, want);
    free(want);
    assert_int_equal(lleval_config_set(c, "engine", "llamacpp", "--engine", &f->err), 0);
    assert_int_equal(lleval_config_validate(c, &f->err), 0);

    /* a value set by code only (default origin) has no place */
    free(c->answer_extraction);
    c->answer_extraction = lleval_xstrdup("last_word");
    assert_int_equal(lleval_config_validate(c, &f->err), LLEVAL_EINVAL);
    assert_string_equal(f->err.msg, "'scoring.answer_extraction' must be none, first_line or "
                                    "after_answer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_set_exactly_their_keys),
        cmocka_unit_test_setup_teardown(test_file_preset_origins, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_preset_places, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_one_key_through_every_layer, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_group_values_share_one_origin, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_dataset_origins_are_replaced_with_the_list,
                                        tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_file_errors_name_line_and_column, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_text_names_line_and_column, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_validation_names_the_origin, tu_cfg_setup,
                                        tu_cfg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
